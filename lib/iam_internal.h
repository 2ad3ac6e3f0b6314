/* Internal: the parts of lib/iam.c that need no network, for unit tests:
 * permission lists, the result object, reply parsing, the wait schedule,
 * and the wait loop itself with the check, the clock and the sleep
 * injected. */
#ifndef GAUTH_LIB_IAM_INTERNAL_H
#define GAUTH_LIB_IAM_INTERNAL_H

#include "common.h"

/* Checks 1 to GAUTH_IAM_MAX_PERMISSIONS names (gauth_iam_permission_check
 * on each) and writes the distinct ones, in the order of their first
 * appearance, to *out (pointers into permissions; free the array with
 * free()). */
gauth_status gauth__iam_permissions_prepare(const char *const *permissions,
                                            const char ***out, size_t *n,
                                            gauth_error *err);

/* A result for n distinct permissions: access OK, HTTP 200, every
 * permission MISSING. Copies everything. */
gauth_status gauth__iam_result_new(const char *resource, const char *url,
                                   const char *const *perms, size_t n,
                                   gauth_iam_result **out, gauth_error *err);

/* Applies a 2xx reply {"permissions":[...]} to r: the names listed become
 * GRANTED (an absent or null member grants nothing: Google leaves out an
 * empty list). GAUTH_E_BAD_RESPONSE for a body that is not a JSON object,
 * a "permissions" that is not an array of strings, or a name that was not
 * asked; r is then unchanged. */
gauth_status gauth__iam_reply_apply(gauth_iam_result *r, const char *body,
                                    size_t len, gauth_error *err);

/* Marks a refused call (DENIED or NOT_FOUND): every permission UNKNOWN,
 * the HTTP status and the server's message (copied) kept. */
gauth_status gauth__iam_result_refuse(gauth_iam_result *r,
                                      gauth_iam_access access, int http_status,
                                      const char *detail, gauth_error *err);

/* gauth_iam_wait_options with the defaults applied. */
typedef struct gauth__iam_wait_cfg {
  int64_t timeout_ms;
  int64_t initial_ms;
  int64_t max_ms;
  double multiplier;
  gauth_iam_progress_fn progress;
  void *userdata;
} gauth__iam_wait_cfg;

/* in NULL: all defaults. GAUTH_E_INVALID_ARG for another version, or a
 * multiplier below 1, NaN or infinite. */
gauth_status gauth__iam_wait_resolve(const gauth_iam_wait_options *in,
                                     gauth__iam_wait_cfg *out,
                                     gauth_error *err);

/* The wait after check n + 1 (n = 0 after the first): drawn uniformly from
 * [w/2, w] (both ends included; w/2 rounded down), w = min(max_ms,
 * initial_ms * multiplier^n) rounded to the millisecond. rng NULL: w. */
int64_t gauth__iam_backoff_ms(const gauth__iam_wait_cfg *c, unsigned n,
                              uint64_t *rng);

/* 1 for the failures a wait waits out: rate limited, unavailable, network,
 * timeout. */
int gauth__iam_transient(gauth_status st);

/* What a wait needs from the world. */
typedef struct gauth__iam_wait_ops {
  /* One check. timeout_ms: time left to the deadline (may be <= 0). */
  gauth_status (*check)(void *ctx, int64_t timeout_ms, gauth_iam_result **out,
                        gauth_error *err);
  int64_t (*now_ms)(void *ctx);            /* a monotonic clock */
  void (*sleep_ms)(void *ctx, int64_t ms); /* ms > 0 */
  void *ctx;
  uint64_t rng_seed;    /* 0: a random seed */
  const char *resource; /* for messages */
} gauth__iam_wait_ops;

/* The loop of gauth_iam_wait_permissions (see gauth/iam.h). */
gauth_status gauth__iam_wait_run(const gauth__iam_wait_ops *ops,
                                 const gauth__iam_wait_cfg *cfg,
                                 gauth_iam_result **out, int64_t *elapsed_ms,
                                 gauth_error *err);

#endif /* GAUTH_LIB_IAM_INTERNAL_H */
