/* lib/retry.c: policy defaults and validation, the backoff schedule, full
 * jitter, retryable statuses and Retry-After. Pure arithmetic, no clock. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "constants.h"
#include "error_internal.h"
#include "retry.h"

static gauth_retry_policy policy(unsigned initial, double mult, unsigned max) {
  gauth_retry_policy p;
  memset(&p, 0, sizeof(p));
  p.max_attempts = 4;
  p.initial_backoff_ms = initial;
  p.multiplier = mult;
  p.max_backoff_ms = max;
  p.deadline_ms = 60000;
  return p;
}

/* ---- resolve / validate ------------------------------------------------ */

Test(retry, resolve_null_gives_defaults) {
  gauth_retry_policy out;
  memset(&out, 0xA5, sizeof(out));
  gauth__retry_policy_resolve(NULL, &out);
  cr_expect_eq(out.max_attempts, GAUTH__DEFAULT_MAX_ATTEMPTS);
  cr_expect_eq(out.max_attempts, 4u);
  cr_expect_eq(out.initial_backoff_ms, 500u);
  cr_expect(out.multiplier == 2.0);
  cr_expect_eq(out.max_backoff_ms, 16000u);
  cr_expect_eq(out.deadline_ms, 60000u);
  cr_expect_eq(gauth__retry_policy_validate(&out, NULL), GAUTH_OK);
}

Test(retry, resolve_zero_fields_only) {
  gauth_retry_policy in, out;
  memset(&in, 0, sizeof(in));
  gauth__retry_policy_resolve(&in, &out);
  cr_expect_eq(out.max_attempts, 4u);
  cr_expect(out.multiplier == 2.0);

  in.max_attempts = 1;
  in.initial_backoff_ms = 7;
  in.multiplier = 1.5;
  in.max_backoff_ms = 70;
  in.deadline_ms = 700;
  gauth__retry_policy_resolve(&in, &out);
  cr_expect_eq(out.max_attempts, 1u);
  cr_expect_eq(out.initial_backoff_ms, 7u);
  cr_expect(out.multiplier == 1.5);
  cr_expect_eq(out.max_backoff_ms, 70u);
  cr_expect_eq(out.deadline_ms, 700u);

  /* Only some set: the rest default. */
  memset(&in, 0, sizeof(in));
  in.deadline_ms = 5;
  gauth__retry_policy_resolve(&in, &out);
  cr_expect_eq(out.deadline_ms, 5u);
  cr_expect_eq(out.initial_backoff_ms, 500u);
  cr_expect_eq(out.max_backoff_ms, 16000u);

  /* In place is fine. */
  memset(&in, 0, sizeof(in));
  gauth__retry_policy_resolve(&in, &in);
  cr_expect_eq(in.max_backoff_ms, 16000u);
}

Test(retry, validate) {
  gauth_retry_policy p = policy(100, 2.0, 1000);
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_OK);
  p.multiplier = 1.0;
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_OK);
  p.multiplier = 1e300;
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_OK);

  p.multiplier = 0.5;
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "multiplier") != NULL, "%s", err.message);
  p.multiplier = -2.0;
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_E_INVALID_ARG);
  p.multiplier = NAN;
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_E_INVALID_ARG);
  p.multiplier = INFINITY;
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_E_INVALID_ARG);

  p = policy(1001, 2.0, 1000);
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "initial_backoff_ms") != NULL, "%s",
            err.message);
  p = policy(1000, 2.0, 1000);
  cr_expect_eq(gauth__retry_policy_validate(&p, &err), GAUTH_OK);
  cr_expect_eq(gauth__retry_policy_validate(NULL, &err), GAUTH_E_INVALID_ARG);
}

/* ---- backoff cap ------------------------------------------------------- */

Test(retry, cap_schedule) {
  gauth_retry_policy p = policy(100, 2.0, 1000);
  static const uint32_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
  unsigned i;
  for (i = 0; i < GAUTH__ARRAY_LEN(want); i++)
    cr_expect_eq(gauth__backoff_cap_ms(&p, i + 1), want[i],
                 "retry %u: %u, want %u", i + 1,
                 gauth__backoff_cap_ms(&p, i + 1), want[i]);
  /* Retry 0 is read as the first. */
  cr_expect_eq(gauth__backoff_cap_ms(&p, 0), 100u);
}

Test(retry, cap_schedule_defaults) {
  gauth_retry_policy p;
  static const uint32_t want[] = {500, 1000, 2000, 4000, 8000, 16000, 16000};
  unsigned i;
  gauth__retry_policy_resolve(NULL, &p);
  for (i = 0; i < GAUTH__ARRAY_LEN(want); i++)
    cr_expect_eq(gauth__backoff_cap_ms(&p, i + 1), want[i], "retry %u", i + 1);
}

Test(retry, cap_non_integer_multiplier) {
  gauth_retry_policy p = policy(100, 1.5, 100000);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 1), 100u);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 2), 150u);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 3), 225u);
  /* 337.5 rounds to nearest. */
  cr_expect_eq(gauth__backoff_cap_ms(&p, 4), 338u);
  p = policy(1000, 1.1, 100000);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 3), 1210u);
  p = policy(100, 1.0, 1000);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 1), 100u);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 100000), 100u);
}

Test(retry, cap_never_overflows) {
  gauth_retry_policy p = policy(100, 2.0, 1000);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 64), 1000u);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 65), 1000u);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 1000), 1000u);
  cr_expect_eq(gauth__backoff_cap_ms(&p, UINT_MAX), 1000u);

  p = policy(1, 1e300, UINT32_MAX);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 1), 1u);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 2), UINT32_MAX);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 3), UINT32_MAX);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 1000), UINT32_MAX);

  p = policy(UINT32_MAX - 1, DBL_MAX, UINT32_MAX);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 1), UINT32_MAX - 1);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 2), UINT32_MAX);
  cr_expect_eq(gauth__backoff_cap_ms(&p, UINT_MAX), UINT32_MAX);

  /* A barely-above-one multiplier over a huge retry count: fast, capped. */
  p = policy(1, 1.0000001, 5000);
  cr_expect_eq(gauth__backoff_cap_ms(&p, UINT_MAX), 5000u);

  /* Unvalidated policies still give a bounded answer. */
  p = policy(100, NAN, 1000);
  cr_expect_leq(gauth__backoff_cap_ms(&p, 5), 1000u);
  p = policy(100, 0.5, 1000);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 5), 100u);
  p = policy(0, 2.0, 1000);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 50), 0u);
  p = policy(5000, 2.0, 1000);
  cr_expect_eq(gauth__backoff_cap_ms(&p, 1), 1000u);
  cr_expect_eq(gauth__backoff_cap_ms(NULL, 1), 0u);
}

/* ---- rng and jitter ---------------------------------------------------- */

/* splitmix64 as published (Steele, Lea, Flood 2014; Vigna's splitmix64.c). */
static uint64_t reference_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Test(retry, rng_known_values) {
  uint64_t s = 0;
  cr_expect_eq(gauth__rng_next(&s), UINT64_C(0xe220a8397b1dcdaf));
  s = 42;
  cr_expect_eq(gauth__rng_next(&s), UINT64_C(0xbdd732262feb6e95));
  cr_expect_eq(gauth__rng_next(&s), UINT64_C(0x28efe333b266f103));
  cr_expect_eq(gauth__rng_next(&s), UINT64_C(0x47526757130f9f52));
}

Test(retry, rng_matches_reference) {
  uint64_t a = 12345, b = 12345;
  int i;
  for (i = 0; i < 1000; i++)
    cr_assert_eq(gauth__rng_next(&a), reference_splitmix64(&b), "step %d", i);
  cr_expect_eq(a, b);
}

Test(retry, jitter_deterministic_for_a_seed) {
  gauth_retry_policy p = policy(100, 2.0, 1000);
  uint64_t s1 = 42, s2 = 42, ref = 42;
  unsigned r;
  /* Hand-checked against the formula for seed 42: 0xbdd7...6e95 % 101. */
  uint64_t first = 42;
  cr_expect_eq(gauth__backoff_delay_ms(&p, 1, &first), 23u);
  for (r = 1; r <= 20; r++) {
    uint32_t cap = gauth__backoff_cap_ms(&p, r);
    uint32_t d1 = gauth__backoff_delay_ms(&p, r, &s1);
    uint32_t d2 = gauth__backoff_delay_ms(&p, r, &s2);
    uint32_t want =
        (uint32_t)(reference_splitmix64(&ref) % ((uint64_t)cap + 1));
    cr_expect_eq(d1, d2, "retry %u", r);
    cr_expect_eq(d1, want, "retry %u: %u, want %u", r, d1, want);
    cr_expect_leq(d1, cap);
  }
  /* A different seed gives a different schedule. */
  s1 = 42;
  s2 = 43;
  {
    int differ = 0;
    for (r = 0; r < 10; r++)
      differ |= gauth__backoff_delay_ms(&p, 4, &s1) !=
                gauth__backoff_delay_ms(&p, 4, &s2);
    cr_expect(differ);
  }
}

Test(retry, jitter_within_bounds_and_uniform) {
  gauth_retry_policy p = policy(100, 2.0, 1000);
  uint64_t s = 7;
  const int n = 10000;
  double sum = 0;
  int i, saw_zero = 0, saw_cap = 0;
  for (i = 0; i < n; i++) {
    uint32_t d = gauth__backoff_delay_ms(&p, 5, &s); /* cap 1000 */
    cr_assert_leq(d, 1000u);
    sum += d;
    if (d == 0) saw_zero = 1;
    if (d == 1000) saw_cap = 1;
  }
  /* Uniform on [0, 1000]: mean 500, standard error ~2.9 over 10000 draws;
   * 500 +- 25 is more than 8 standard errors. */
  cr_expect(sum / n > 475.0 && sum / n < 525.0, "mean %f", sum / n);
  /* Both ends are reachable (each has probability ~1/1001 per draw). */
  cr_expect(saw_zero);
  cr_expect(saw_cap);
}

Test(retry, jitter_edges) {
  gauth_retry_policy p = policy(0, 2.0, 0);
  uint64_t s = 1;
  cr_expect_eq(gauth__backoff_delay_ms(&p, 3, &s), 0u);
  p = policy(100, 2.0, UINT32_MAX);
  cr_expect_leq(gauth__backoff_delay_ms(&p, 10000, &s), UINT32_MAX);
  /* No generator: the cap itself. */
  p = policy(100, 2.0, 1000);
  cr_expect_eq(gauth__backoff_delay_ms(&p, 2, NULL), 200u);
}

/* ---- retryable statuses ------------------------------------------------ */

Test(retry, retryable_statuses_exactly) {
  long s;
  for (s = -1; s < 1000; s++) {
    int want =
        s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
    cr_expect_eq(gauth__http_status_retryable(s), want, "status %ld", s);
  }
}

/* ---- Retry-After -------------------------------------------------------- */

/* A fixed `now`: 2024-03-01 12:00:00 UTC. */
#define NOW ((time_t)1709294400)

static void http_date(time_t t, char *buf, size_t size) {
  struct tm tm;
  gmtime_r(&t, &tm);
  cr_assert_gt(strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm), 0);
}

Test(retry, retry_after_delta_seconds) {
  static const struct {
    const char *v;
    int ok;
    int64_t ms;
  } cases[] = {
      {"120", 1, 120000},
      {"0", 1, 0},
      {"1", 1, 1000},
      {"007", 1, 7000},
      /* Surrounding whitespace is not part of a field value. */
      {" 5", 1, 5000},
      {"5 ", 1, 5000},
      {"\t5\t", 1, 5000},
      {"-1", 0, 0},
      {"+5", 0, 0},
      {"abc", 0, 0},
      {"1e3", 0, 0},
      {"1.5", 0, 0},
      {"5s", 0, 0},
      {"5 6", 0, 0},
      {"0x10", 0, 0},
      {"", 0, 0},
      {"   ", 0, 0},
  };
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(cases); i++) {
    int64_t ms = -42;
    int ok = gauth__retry_after_parse(cases[i].v, NOW, &ms);
    cr_expect_eq(ok, cases[i].ok, "\"%s\": %d", cases[i].v, ok);
    if (cases[i].ok) {
      cr_expect_eq(ms, cases[i].ms, "\"%s\": %lld", cases[i].v, (long long)ms);
    } else {
      cr_expect_eq(ms, -42, "\"%s\" wrote %lld", cases[i].v, (long long)ms);
    }
  }
}

Test(retry, retry_after_huge_values_clamp) {
  int64_t ms = -1, prev;
  cr_assert_eq(
      gauth__retry_after_parse("99999999999999999999999999999999", NOW, &ms),
      1);
  cr_expect_gt(ms, 0);
  cr_expect_eq(ms % 1000, 0);
  prev = ms;
  cr_assert_eq(gauth__retry_after_parse("9223372036854775808", NOW, &ms), 1);
  cr_expect_eq(ms, prev);
  cr_assert_eq(gauth__retry_after_parse("2147483647", NOW, &ms), 1);
  cr_expect_eq(ms, INT64_C(2147483647) * 1000);
  cr_assert_eq(gauth__retry_after_parse("86400", NOW, &ms), 1);
  cr_expect_eq(ms, INT64_C(86400000));
}

Test(retry, retry_after_http_date) {
  char buf[64];
  int64_t ms = -1;
  http_date(NOW + 30, buf, sizeof(buf));
  cr_assert_eq(gauth__retry_after_parse(buf, NOW, &ms), 1, "%s", buf);
  cr_expect_eq(ms, 30000, "%s -> %lld", buf, (long long)ms);

  http_date(NOW - 30, buf, sizeof(buf));
  ms = -1;
  cr_assert_eq(gauth__retry_after_parse(buf, NOW, &ms), 1, "%s", buf);
  cr_expect_eq(ms, 0);

  http_date(NOW, buf, sizeof(buf));
  cr_assert_eq(gauth__retry_after_parse(buf, NOW, &ms), 1, "%s", buf);
  cr_expect_eq(ms, 0);

  /* The fixed string, for a reader: 2024-03-01 12:00:30 UTC. */
  cr_assert_eq(
      gauth__retry_after_parse("Fri, 01 Mar 2024 12:00:30 GMT", NOW, &ms), 1);
  cr_expect_eq(ms, 30000);
  /* The obsolete forms RFC 9110 still asks recipients to accept. */
  cr_assert_eq(
      gauth__retry_after_parse("Friday, 01-Mar-24 12:01:00 GMT", NOW, &ms), 1);
  cr_expect_eq(ms, 60000);
  cr_assert_eq(gauth__retry_after_parse("Fri Mar  1 12:00:10 2024", NOW, &ms),
               1);
  cr_expect_eq(ms, 10000);
}

Test(retry, retry_after_garbage) {
  int64_t ms = -42;
  cr_expect_eq(gauth__retry_after_parse("Someday, maybe", NOW, &ms), 0);
  cr_expect_eq(gauth__retry_after_parse("Fri, 99 Foo 2024", NOW, &ms), 0);
  cr_expect_eq(
      gauth__retry_after_parse("-Fri, 01 Mar 2024 12:00:30 GMT", NOW, &ms), 0);
  cr_expect_eq(gauth__retry_after_parse(NULL, NOW, &ms), 0);
  cr_expect_eq(ms, -42);
  cr_expect_eq(gauth__retry_after_parse("5", NOW, NULL), 0);
  /* Too long to be a date. */
  cr_expect_eq(gauth__retry_after_parse(
                   "Fri, 01 Mar 2024 12:00:30 GMT                      "
                   "                                     x",
                   NOW, &ms),
               0);
}
