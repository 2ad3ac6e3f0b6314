/* Internal: the retry policy's arithmetic. Pure: no clock, no sleeping, the
 * randomness comes from a caller-held state. */
#ifndef GAUTH_LIB_RETRY_H
#define GAUTH_LIB_RETRY_H

#include <time.h>

#include "common.h"

/* Copies in (may be NULL) into out with every zero field replaced by its
 * default. */
void gauth__retry_policy_resolve(const gauth_retry_policy *in,
                                 gauth_retry_policy *out);

/* GAUTH_E_INVALID_ARG for a multiplier below 1, NaN or infinite, or an
 * initial backoff above the maximum. Expects a resolved policy. */
gauth_status gauth__retry_policy_validate(const gauth_retry_policy *p,
                                          gauth_error *err);

/* splitmix64: the next pseudo-random value; advances *state. */
uint64_t gauth__rng_next(uint64_t *state);

/* The upper bound of the wait before retry number `retry` (1 for the wait
 * after the first attempt; 0 counts as 1): min(max_backoff, initial *
 * multiplier^(retry-1)) rounded to the nearest millisecond, without
 * overflow for any retry or multiplier. */
uint32_t gauth__backoff_cap_ms(const gauth_retry_policy *p, unsigned retry);

/* A full-jitter wait: uniform in [0, gauth__backoff_cap_ms()], both ends
 * included (next splitmix64 value modulo cap + 1). rng NULL: the cap. */
uint32_t gauth__backoff_delay_ms(const gauth_retry_policy *p, unsigned retry,
                                 uint64_t *rng);

/* 1 for the HTTP statuses that are retried: 408, 429, 500, 502, 503, 504. */
int gauth__http_status_retryable(long status);

/* Parses a Retry-After value: delta-seconds (digits only) or an HTTP date
 * (read by libcurl's curl_getdate, relative to `now`). Whitespace around the
 * value is ignored. Returns 1 and sets *delay_ms (>= 0; a date in the past
 * gives 0; anything over 2^31-1 seconds is clamped to that) on success, 0
 * (leaving *delay_ms alone) for a value that is neither ("-1", "1e3"). */
int gauth__retry_after_parse(const char *value, time_t now, int64_t *delay_ms);

/* Milliseconds on CLOCK_MONOTONIC, the clock of every deadline. */
int64_t gauth__mono_ms(void);

/* Sleeps ms milliseconds (none when ms <= 0) to an absolute monotonic
 * time: a signal that interrupts the sleep does not stretch it. */
void gauth__sleep_ms(int64_t ms);

#endif /* GAUTH_LIB_RETRY_H */
