/* Cloud Scheduler's retry schedule as pure arithmetic: the wait before
 * each retry, and whether a failed attempt is retried at all. The rules and
 * their sources are in include/gauth/scheduler.h. */
#include <stdlib.h>

#include "error_internal.h"
#include "scheduler_internal.h"

gauth_status gauth__scheduler_retry_config_check(
    const gauth_scheduler_retry_config *cfg, gauth_error *err) {
  if (cfg == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "retry config is NULL");
  if (cfg->retry_count < 0 ||
      cfg->retry_count > GAUTH_SCHEDULER_MAX_RETRY_COUNT)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "retry_count is %d: from 0 to %d", cfg->retry_count,
                            GAUTH_SCHEDULER_MAX_RETRY_COUNT);
  if (cfg->max_retry_duration_ms < 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "max_retry_duration_ms is %lld: negative",
                            (long long)cfg->max_retry_duration_ms);
  if (cfg->min_backoff_ms < 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "min_backoff_ms is %lld: negative",
                            (long long)cfg->min_backoff_ms);
  if (cfg->max_backoff_ms < cfg->min_backoff_ms)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "max_backoff_ms %lld is below min_backoff_ms %lld",
                            (long long)cfg->max_backoff_ms,
                            (long long)cfg->min_backoff_ms);
  if (cfg->max_doublings < 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "max_doublings is %d: negative",
                            cfg->max_doublings);
  return GAUTH_OK;
}

/* The wait before retry n >= 1 of a checked cfg. Each product is compared
 * with max_backoff before it is made, so nothing overflows: a * b > max
 * exactly when a > max / b (integer division) for positive integers. */
static int64_t delay_ms(const gauth_scheduler_retry_config *cfg,
                        unsigned int n) {
  const int64_t min = cfg->min_backoff_ms, max = cfg->max_backoff_ms;
  const unsigned int doublings = (unsigned int)cfg->max_doublings;
  unsigned int e = n - 1 <= doublings ? n - 1 : doublings;
  int64_t base, steps;
  if (min == 0) return 0;
  if (e >= 63 || min > (max >> e)) return max;
  base = min << e; /* min * 2^e <= max */
  if (n - 1 <= doublings) return base;
  /* Past the doublings: 2^doublings * min more per retry, so retry n
   * waits base * (n - doublings). */
  steps = (int64_t)(n - doublings);
  return base > max / steps ? max : base * steps;
}

gauth_status gauth_scheduler_retry_delay(
    const gauth_scheduler_retry_config *cfg, unsigned int n,
    int64_t *delay_ms_out, gauth_error *err) {
  gauth_status st;
  if (delay_ms_out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_retry_delay: delay_ms is NULL");
  *delay_ms_out = 0;
  if ((st = gauth__scheduler_retry_config_check(cfg, err)) != GAUTH_OK)
    return st;
  if (n == 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_retry_delay: retries are "
                            "numbered from 1");
  *delay_ms_out = delay_ms(cfg, n);
  gauth_error_clear(err);
  return GAUTH_OK;
}

gauth_status gauth_scheduler_retry_next(const gauth_scheduler_retry_config *cfg,
                                        unsigned int failed_attempt,
                                        int64_t elapsed_ms, int *retry,
                                        int64_t *delay_ms_out,
                                        gauth_error *err) {
  gauth_status st;
  int count_unmet, time_unmet;
  if (retry == NULL || delay_ms_out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_retry_next: %s is NULL",
                            retry == NULL ? "retry" : "delay_ms");
  *retry = 0;
  *delay_ms_out = 0;
  if ((st = gauth__scheduler_retry_config_check(cfg, err)) != GAUTH_OK)
    return st;
  if (failed_attempt == 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_retry_next: attempts are "
                            "numbered from 1");
  if (elapsed_ms < 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_retry_next: elapsed_ms is %lld: "
                            "negative",
                            (long long)elapsed_ms);
  /* A limit of 0 is not set; the job is retried until every limit that is
   * set has been reached. */
  count_unmet = cfg->retry_count > 0 &&
                failed_attempt - 1 < (unsigned int)cfg->retry_count;
  time_unmet =
      cfg->max_retry_duration_ms > 0 && elapsed_ms < cfg->max_retry_duration_ms;
  if (count_unmet || time_unmet) {
    *retry = 1;
    *delay_ms_out = delay_ms(cfg, failed_attempt);
  }
  gauth_error_clear(err);
  return GAUTH_OK;
}
