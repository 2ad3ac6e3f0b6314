/* The retry policy's arithmetic: defaults, validation, capped exponential
 * backoff with full jitter, retryable statuses and Retry-After; and the
 * monotonic clock and sleep that the transport's retries and the IAM wait
 * run on. The arithmetic reads no clock. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "constants.h"
#include "error_internal.h"
#include "retry.h"

/* A Retry-After longer than this (about 68 years) is clamped to it: the
 * caller's deadline cuts any real wait far sooner, and the bound keeps the
 * millisecond arithmetic far from overflow. */
#define RETRY_AFTER_MAX_S INT64_C(2147483647)

void gauth__retry_policy_resolve(const gauth_retry_policy *in,
                                 gauth_retry_policy *out) {
  gauth_retry_policy p;
  if (out == NULL) return;
  if (in != NULL) {
    p = *in;
  } else {
    memset(&p, 0, sizeof(p));
  }
  if (p.max_attempts == 0) p.max_attempts = GAUTH__DEFAULT_MAX_ATTEMPTS;
  if (p.initial_backoff_ms == 0)
    p.initial_backoff_ms = GAUTH__DEFAULT_INITIAL_BACKOFF_MS;
  /* Exactly zero means "unset"; anything else is the caller's and is
   * judged by validate (NaN included). */
  if (p.multiplier == 0.0) p.multiplier = GAUTH__DEFAULT_BACKOFF_MULTIPLIER;
  if (p.max_backoff_ms == 0) p.max_backoff_ms = GAUTH__DEFAULT_MAX_BACKOFF_MS;
  if (p.deadline_ms == 0) p.deadline_ms = GAUTH__DEFAULT_DEADLINE_MS;
  *out = p;
}

gauth_status gauth__retry_policy_validate(const gauth_retry_policy *p,
                                          gauth_error *err) {
  if (p == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "retry policy is NULL");
  /* Written so that NaN fails too; infinity is refused as well, as no
   * finite schedule comes out of it. */
  if (!(p->multiplier >= 1.0) || p->multiplier - p->multiplier != 0.0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "retry.multiplier %g is invalid: it must be a "
                            "finite number >= 1.0 (0 for the default %g)",
                            p->multiplier, GAUTH__DEFAULT_BACKOFF_MULTIPLIER);
  if (p->initial_backoff_ms > p->max_backoff_ms)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "retry.initial_backoff_ms %u is above "
                            "retry.max_backoff_ms %u",
                            p->initial_backoff_ms, p->max_backoff_ms);
  return GAUTH_OK;
}

uint64_t gauth__rng_next(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

uint32_t gauth__backoff_cap_ms(const gauth_retry_policy *p, unsigned retry) {
  double cap, base;
  unsigned n;
  if (p == NULL || p->initial_backoff_ms == 0) return 0;
  if (p->initial_backoff_ms >= p->max_backoff_ms) return p->max_backoff_ms;
  cap = (double)p->initial_backoff_ms;
  /* multiplier^(retry-1) by squaring: O(log retry), no libm. In double the
   * product can only grow to +inf, never wrap; the clamp below takes any
   * value at or over the maximum (or a NaN) to the maximum. A multiplier
   * below 1 (an unvalidated policy) counts as 1. */
  if (p->multiplier > 1.0 && retry > 1) {
    base = p->multiplier;
    n = retry - 1;
    while (n > 0 && cap < (double)p->max_backoff_ms) {
      if (n & 1u) cap *= base;
      n >>= 1;
      if (n > 0) base *= base;
    }
  }
  cap += 0.5; /* round to the nearest millisecond */
  if (!(cap < (double)p->max_backoff_ms)) return p->max_backoff_ms;
  return (uint32_t)cap;
}

uint32_t gauth__backoff_delay_ms(const gauth_retry_policy *p, unsigned retry,
                                 uint64_t *rng) {
  uint32_t cap = gauth__backoff_cap_ms(p, retry);
  if (rng == NULL) return cap;
  /* Uniform over the cap + 1 values of [0, cap]. The modulo bias is below
   * 2^32 / 2^64: far under anything a backoff could notice. */
  return (uint32_t)(gauth__rng_next(rng) % ((uint64_t)cap + 1));
}

int gauth__http_status_retryable(long status) {
  switch (status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504: return 1;
    default: return 0;
  }
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

int gauth__retry_after_parse(const char *value, time_t now, int64_t *delay_ms) {
  const char *s, *end;
  int64_t secs = 0;
  if (value == NULL || delay_ms == NULL) return 0;
  /* Optional whitespace around a field value is not part of it (RFC 9110
   * section 5.5), so " 5" is 5 seconds. */
  s = value;
  while (is_ows(*s)) s++;
  end = s + strlen(s);
  while (end > s && is_ows(end[-1])) end--;
  if (s == end) return 0;

  if (*s >= '0' && *s <= '9') {
    /* delta-seconds = 1*DIGIT; nothing else ("1e3", "5s", "1.5"). */
    const char *q;
    for (q = s; q < end; q++) {
      if (*q < '0' || *q > '9') return 0;
      if (secs < RETRY_AFTER_MAX_S) secs = secs * 10 + (*q - '0');
    }
    if (secs > RETRY_AFTER_MAX_S) secs = RETRY_AFTER_MAX_S;
  } else if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
    /* An HTTP-date starts with the day name; libcurl's date parser is the
     * one that reads Expires and cookie dates. */
    char buf[64];
    time_t when;
    size_t n = (size_t)(end - s);
    if (n >= sizeof(buf)) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    when = curl_getdate(buf, NULL);
    if (when == (time_t)-1) return 0;
    if (when <= now) {
      secs = 0;
    } else if ((int64_t)when - (int64_t)now > RETRY_AFTER_MAX_S) {
      secs = RETRY_AFTER_MAX_S;
    } else {
      secs = (int64_t)when - (int64_t)now;
    }
  } else {
    return 0; /* "-1", "+5", punctuation */
  }
  *delay_ms = secs * 1000;
  return 1;
}

int64_t gauth__mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gauth__sleep_ms(int64_t ms) {
  struct timespec until;
  if (ms <= 0) return;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)(ms / 1000);
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
         EINTR) {
  }
}
