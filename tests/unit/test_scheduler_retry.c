/* lib/scheduler_retry.c: Cloud Scheduler's retry schedule (the wait before
 * each retry) and whether a failed attempt is retried. Pure, no clock. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

static gauth_scheduler_retry_config config(int count, int64_t max_duration,
                                           int64_t min, int64_t max,
                                           int doublings) {
  gauth_scheduler_retry_config c;
  memset(&c, 0, sizeof(c));
  c.retry_count = count;
  c.max_retry_duration_ms = max_duration;
  c.min_backoff_ms = min;
  c.max_backoff_ms = max;
  c.max_doublings = doublings;
  return c;
}

static int64_t delay(const gauth_scheduler_retry_config *c, unsigned int n) {
  int64_t d = -1;
  gauth_error err = GAUTH_ERROR_INIT;
  err.code = GAUTH_E_INTERNAL; /* left from an earlier call */
  cr_assert_eq(gauth_scheduler_retry_delay(c, n, &d, &err), GAUTH_OK,
               "retry %u: %s", n, err.message);
  cr_assert_eq(err.code, GAUTH_OK, "err not cleared on success");
  return d;
}

/* The delays of retries 1..n against want[]. */
static void expect_delays(const gauth_scheduler_retry_config *c,
                          const int64_t *want, unsigned int n) {
  for (unsigned int i = 1; i <= n; i++)
    cr_expect_eq(delay(c, i), want[i - 1], "retry %u: %lld, want %lld", i,
                 (long long)delay(c, i), (long long)want[i - 1]);
}

/* ---- the delay ----------------------------------------------------------- */

/* The example in Google's RetryConfig reference: min 10 s, max 300 s,
 * max_doublings 3 retry at 10, 20, 40, 80, 160, 240, 300, 300 s. */
Test(scheduler_retry, googles_example) {
  static const int64_t want[] = {10000,  20000,  40000,  80000,
                                 160000, 240000, 300000, 300000};
  gauth_scheduler_retry_config c = config(5, 0, 10000, 300000, 3);
  expect_delays(&c, want, 8);
  cr_expect_eq(delay(&c, 100), 300000);
  cr_expect_eq(delay(&c, UINT_MAX), 300000);
}

/* Google's defaults: 5 s doubling five times to 160 s, then 160 s more per
 * retry, capped at one hour. */
Test(scheduler_retry, googles_defaults) {
  static const int64_t want[] = {5000,   10000,  20000,  40000,  80000,
                                 160000, 320000, 480000, 640000, 800000};
  gauth_scheduler_retry_config c =
      config(GAUTH_SCHEDULER_DEFAULT_RETRY_COUNT,
             GAUTH_SCHEDULER_DEFAULT_MAX_RETRY_DURATION_MS,
             GAUTH_SCHEDULER_DEFAULT_MIN_BACKOFF_MS,
             GAUTH_SCHEDULER_DEFAULT_MAX_BACKOFF_MS,
             GAUTH_SCHEDULER_DEFAULT_MAX_DOUBLINGS);
  expect_delays(&c, want, 10);
  cr_expect_eq(delay(&c, 22), 2720000); /* 160 s * 17 */
  cr_expect_eq(delay(&c, 27), 3520000); /* 160 s * 22 */
  cr_expect_eq(delay(&c, 28), 3600000); /* 160 s * 23 > 1 h */
  cr_expect_eq(delay(&c, 1000), 3600000);
}

Test(scheduler_retry, no_doublings_is_linear_from_the_start) {
  static const int64_t want[] = {7000, 14000, 21000, 28000, 30000, 30000};
  gauth_scheduler_retry_config c = config(5, 0, 7000, 30000, 0);
  expect_delays(&c, want, 6);
}

Test(scheduler_retry, min_equal_to_max_is_flat) {
  gauth_scheduler_retry_config c = config(5, 0, 60000, 60000, 5);
  for (unsigned int n = 1; n <= 12; n++) cr_expect_eq(delay(&c, n), 60000);
  c.max_doublings = 0;
  for (unsigned int n = 1; n <= 12; n++) cr_expect_eq(delay(&c, n), 60000);
}

Test(scheduler_retry, zero_min_never_waits) {
  gauth_scheduler_retry_config c = config(5, 0, 0, 3600000, 5);
  for (unsigned int n = 1; n <= 12; n++) cr_expect_eq(delay(&c, n), 0);
  cr_expect_eq(delay(&c, UINT_MAX), 0);
  c.max_backoff_ms = 0;
  cr_expect_eq(delay(&c, 3), 0);
  /* 0 doubled any number of times is still 0. */
  c = config(5, 0, 0, 3600000, INT_MAX);
  cr_expect_eq(delay(&c, 64), 0);
  cr_expect_eq(delay(&c, UINT_MAX), 0);
}

/* Doublings and retry numbers far past what int64 holds reach the cap
 * without overflowing (UBSan would report a signed overflow). */
Test(scheduler_retry, huge_values_do_not_overflow) {
  gauth_scheduler_retry_config c = config(5, 0, 1, INT64_MAX, INT_MAX);
  cr_expect_eq(delay(&c, 1), 1);
  cr_expect_eq(delay(&c, 63), INT64_C(1) << 62);
  cr_expect_eq(delay(&c, 64), INT64_MAX);
  cr_expect_eq(delay(&c, 65), INT64_MAX);
  cr_expect_eq(delay(&c, UINT_MAX), INT64_MAX);
  c = config(5, 0, INT64_MAX / 3, INT64_MAX, 1);
  cr_expect_eq(delay(&c, 1), INT64_MAX / 3);
  cr_expect_eq(delay(&c, 2), (INT64_MAX / 3) * 2);
  cr_expect_eq(delay(&c, 3), INT64_MAX);
  cr_expect_eq(delay(&c, UINT_MAX), INT64_MAX);
  c = config(5, 0, 1000, 3600000, INT_MAX);
  cr_expect_eq(delay(&c, 12), 2048000);
  cr_expect_eq(delay(&c, 13), 3600000);
  cr_expect_eq(delay(&c, UINT_MAX), 3600000);
  c = config(5, 0, 3, INT64_MAX, 0);
  cr_expect_eq(delay(&c, UINT_MAX), INT64_C(3) * UINT_MAX);
}

/* ---- whether ------------------------------------------------------------ */

/* gauth_scheduler_retry_next's answer: -1 for no retry, else the delay. */
static int64_t next(const gauth_scheduler_retry_config *c, unsigned int k,
                    int64_t elapsed) {
  int retry = -7;
  int64_t d = -7;
  gauth_error err = GAUTH_ERROR_INIT;
  err.code = GAUTH_E_INTERNAL;
  cr_assert_eq(gauth_scheduler_retry_next(c, k, elapsed, &retry, &d, &err),
               GAUTH_OK, "attempt %u: %s", k, err.message);
  cr_assert_eq(err.code, GAUTH_OK, "err not cleared on success");
  cr_assert(retry == 0 || retry == 1);
  if (!retry) {
    cr_assert_eq(d, 0);
    return -1;
  }
  cr_assert_eq(d, delay(c, k), "attempt %u: %lld", k, (long long)d);
  return d;
}

Test(scheduler_retry, no_limits_no_retry) {
  gauth_scheduler_retry_config c = config(0, 0, 5000, 3600000, 5);
  cr_expect_eq(next(&c, 1, 0), -1);
  cr_expect_eq(next(&c, 1, 1000), -1);
  cr_expect_eq(next(&c, 2, 0), -1);
}

Test(scheduler_retry, retry_count_counts_retries) {
  gauth_scheduler_retry_config c = config(3, 0, 10000, 300000, 3);
  cr_expect_eq(next(&c, 1, 500), 10000);
  cr_expect_eq(next(&c, 2, 11000), 20000);
  cr_expect_eq(next(&c, 3, 40000), 40000);
  cr_expect_eq(next(&c, 4, 90000), -1); /* 3 retries ran: 4 attempts */
  cr_expect_eq(next(&c, 5, 90000), -1);
  /* No time limit: elapsed time does not matter. */
  cr_expect_eq(next(&c, 2, INT64_MAX), 20000);
  c.retry_count = 5;
  cr_expect_eq(next(&c, 5, 0), 160000);
  cr_expect_eq(next(&c, 6, 0), -1);
  c.retry_count = 1;
  cr_expect_eq(next(&c, 1, 0), 10000);
  cr_expect_eq(next(&c, 2, 0), -1);
}

Test(scheduler_retry, max_retry_duration_alone) {
  gauth_scheduler_retry_config c = config(0, 60000, 10000, 300000, 3);
  cr_expect_eq(next(&c, 1, 0), 10000);
  cr_expect_eq(next(&c, 7, 59999), 300000);
  cr_expect_eq(next(&c, 7, 60000), -1); /* the limit is reached */
  cr_expect_eq(next(&c, 2, 60001), -1);
  cr_expect_eq(next(&c, 1000, 1), 300000); /* no count limit */
}

/* "If specified with retry_count, the job will be retried until both limits
 * are reached." */
Test(scheduler_retry, both_limits_retry_until_both_are_reached) {
  gauth_scheduler_retry_config c = config(2, 120000, 10000, 300000, 3);
  cr_expect_eq(next(&c, 1, 0), 10000);
  cr_expect_eq(next(&c, 2, 15000), 20000);
  /* The count is reached, the time is not: retried. */
  cr_expect_eq(next(&c, 3, 40000), 40000);
  cr_expect_eq(next(&c, 4, 90000), 80000);
  /* Both are reached. */
  cr_expect_eq(next(&c, 5, 120000), -1);
  /* The time is reached, the count is not: retried. */
  cr_expect_eq(next(&c, 1, 500000), 10000);
  cr_expect_eq(next(&c, 2, 500000), 20000);
  cr_expect_eq(next(&c, 3, 500000), -1);
}

Test(scheduler_retry, a_parsed_jobs_schedule) {
  static const char json[] =
      "{\"httpTarget\":{\"uri\":\"https://run.googleapis.com/v2/projects/p/"
      "locations/l/jobs/j:run\"},\"retryConfig\":{\"retryCount\":\"2\","
      "\"minBackoffDuration\":\"10s\",\"maxBackoffDuration\":\"300s\","
      "\"maxDoublings\":3}}";
  gauth_scheduler_job *job = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_scheduler_job_from_json(&job, json, strlen(json), &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_eq(next(gauth_scheduler_job_retry_config(job), 1, 0), 10000);
  cr_expect_eq(next(gauth_scheduler_job_retry_config(job), 2, 10000), 20000);
  cr_expect_eq(next(gauth_scheduler_job_retry_config(job), 3, 30000), -1);
  gauth_scheduler_job_free(job);
}

/* ---- refusals ----------------------------------------------------------- */

static void expect_bad_config(gauth_scheduler_retry_config c,
                              const char *needle) {
  int64_t d = 5;
  int retry = 5;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(gauth_scheduler_retry_delay(&c, 1, &d, &err),
               GAUTH_E_INVALID_ARG, "accepted: want %s", needle);
  cr_expect_eq(d, 0);
  cr_expect(strstr(err.message, needle) != NULL, "want \"%s\" in: %s", needle,
            err.message);
  gauth_error_clear(&err);
  d = 5;
  cr_expect_eq(gauth_scheduler_retry_next(&c, 1, 0, &retry, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(retry, 0);
  cr_expect_eq(d, 0);
  cr_expect(strstr(err.message, needle) != NULL, "want \"%s\" in: %s", needle,
            err.message);
}

Test(scheduler_retry, bad_configs) {
  expect_bad_config(config(6, 0, 1, 2, 0), "retry_count is 6: from 0 to 5");
  expect_bad_config(config(-1, 0, 1, 2, 0), "retry_count is -1");
  expect_bad_config(config(1, -1, 1, 2, 0), "max_retry_duration_ms is -1");
  expect_bad_config(config(1, 0, -1, 2, 0), "min_backoff_ms is -1");
  expect_bad_config(config(1, 0, 3, 2, 0),
                    "max_backoff_ms 2 is below min_backoff_ms 3");
  expect_bad_config(config(1, 0, 1, 2, -1), "max_doublings is -1");
}

Test(scheduler_retry, bad_arguments) {
  gauth_scheduler_retry_config c = config(1, 0, 1, 2, 0);
  int64_t d = 5;
  int retry = 5;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(gauth_scheduler_retry_delay(&c, 0, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "numbered from 1") != NULL, "%s", err.message);
  cr_expect_eq(gauth_scheduler_retry_delay(NULL, 1, &d, NULL),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_scheduler_retry_delay(&c, 1, NULL, NULL),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_scheduler_retry_next(&c, 0, 0, &retry, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "numbered from 1") != NULL, "%s", err.message);
  cr_expect_eq(gauth_scheduler_retry_next(&c, 1, -1, &retry, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "elapsed_ms is -1") != NULL, "%s", err.message);
  cr_expect_eq(gauth_scheduler_retry_next(NULL, 1, 0, &retry, &d, NULL),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_scheduler_retry_next(&c, 1, 0, NULL, &d, NULL),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_scheduler_retry_next(&c, 1, 0, &retry, NULL, NULL),
               GAUTH_E_INVALID_ARG);
}

/* ---- an attempt's outcome ------------------------------------------------ */

Test(scheduler_status, http_replies_map_to_rpc_codes) {
  static const struct {
    int http, code;
    const char *name;
  } cases[] = {
      {200, 0, "OK"},
      {204, 0, "OK"},
      {299, 0, "OK"},
      {400, 3, "INVALID_ARGUMENT"},
      {401, 16, "UNAUTHENTICATED"},
      {403, 7, "PERMISSION_DENIED"},
      {404, 5, "NOT_FOUND"},
      {409, 10, "ABORTED"},
      {429, 8, "RESOURCE_EXHAUSTED"},
      {499, 1, "CANCELLED"},
      {500, 13, "INTERNAL"},
      {501, 12, "UNIMPLEMENTED"},
      {502, 14, "UNAVAILABLE"},
      {503, 14, "UNAVAILABLE"},
      {504, 4, "DEADLINE_EXCEEDED"},
      {302, 2, "UNKNOWN"},
      {418, 2, "UNKNOWN"},
      {0, 2, "UNKNOWN"},
      {-1, 2, "UNKNOWN"},
  };
  size_t i;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int code = gauth_scheduler_rpc_code_for_http(cases[i].http);
    cr_expect_eq(code, cases[i].code, "HTTP %d: %d, expected %d", cases[i].http,
                 code, cases[i].code);
    cr_expect_str_eq(gauth_rpc_code_name(code), cases[i].name, "HTTP %d",
                     cases[i].http);
  }
}

Test(scheduler_status, every_code_has_its_name) {
  cr_expect_str_eq(gauth_rpc_code_name(6), "ALREADY_EXISTS");
  cr_expect_str_eq(gauth_rpc_code_name(9), "FAILED_PRECONDITION");
  cr_expect_str_eq(gauth_rpc_code_name(11), "OUT_OF_RANGE");
  cr_expect_str_eq(gauth_rpc_code_name(15), "DATA_LOSS");
  cr_expect_str_eq(gauth_rpc_code_name(17), "unknown");
  cr_expect_str_eq(gauth_rpc_code_name(-1), "unknown");
}
