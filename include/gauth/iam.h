/* libgauth: IAM — which permissions a caller holds on a resource, now
 * (testIamPermissions), and waiting for a fresh grant to take effect.
 *
 *     static const char *const perms[] = {"run.jobs.run", NULL};
 *     gauth_iam_result *r;
 *     if (gauth_iam_test_permissions(creds,
 *             "projects/p/locations/us-central1/jobs/nightly", perms, &r,
 *             &err) == GAUTH_OK) {
 *       if (gauth_iam_result_all_granted(r)) ...
 *       gauth_iam_result_free(r);
 *     }
 *
 * RESOURCES are full resource names; libgauth picks the service:
 *   projects/P                                 Resource Manager v1
 *   folders/F, organizations/O                 Resource Manager v3
 *   projects/P/locations/L/jobs/J, .../services/S   Cloud Run v2
 *   projects/P/serviceAccounts/EMAIL           IAM v1
 *   projects/P/topics/T, projects/P/subscriptions/S  Pub/Sub v1
 *   projects/_/buckets/B                       Cloud Storage (GET
 *                                              .../b/B/iam/testPermissions)
 *   https://...:testIamPermissions             used as given (POST)
 * Endpoint overrides (gauth_options of the credentials, GAUTH_ENDPOINT)
 * apply as everywhere. The call is authenticated by the credentials'
 * cloud-platform access token; testIamPermissions itself needs no
 * permission.
 *
 * PERMISSIONS are exact names, service.resource.verb ("run.jobs.run",
 * "iam.serviceAccounts.actAs"): at least three dot-separated parts of
 * letters and digits, each starting with a letter, the first (the service)
 * in lower case ("Run.jobs.run" is refused), up to 128 bytes; no
 * wildcards. At most 100 per call (Google's limit). They are checked before
 * any request: GAUTH_E_INVALID_ARG names the first bad one.
 *
 * THREAD SAFETY: the functions may be called from any thread; a result is
 * immutable and may be read from several threads. The progress callback of
 * gauth_iam_wait_permissions runs on the calling thread. */
#ifndef GAUTH_IAM_H
#define GAUTH_IAM_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/credentials.h>
#include <gauth/error.h>
#include <gauth/export.h>

GAUTH_BEGIN_DECLS

/* At most this many permissions per call. */
#define GAUTH_IAM_MAX_PERMISSIONS 100

/* Checks one permission name (see PERMISSIONS). GAUTH_OK, or
 * GAUTH_E_INVALID_ARG with a message saying what is wrong with it. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_iam_permission_check(const char *permission, gauth_error *err);

/* The URL and method testIamPermissions for `resource` goes to under opts
 * (NULL: defaults) and the environment, without a request: "POST URL" or
 * "GET URL" in *out (free with gauth_free()). GAUTH_E_INVALID_ARG for a
 * name no rule matches (the message lists the forms understood). */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_iam_endpoint(const gauth_options *opts, const char *resource, char **out,
                   gauth_error *err);

typedef struct gauth_iam_result gauth_iam_result;

/* What the call itself found out about the resource. */
typedef enum gauth_iam_access {
  GAUTH_IAM_ACCESS_OK = 0,        /* the answer below is the server's */
  GAUTH_IAM_ACCESS_NOT_FOUND = 1, /* 404: no such resource (or hidden) */
  GAUTH_IAM_ACCESS_DENIED = 2     /* 403 on the call: the resource does
                                     not exist or the caller cannot see
                                     it; not "permission missing" */
} gauth_iam_access;

typedef enum gauth_iam_permission_state {
  GAUTH_IAM_GRANTED = 1,
  GAUTH_IAM_MISSING = 2,
  GAUTH_IAM_UNKNOWN = 3 /* the call was refused (see access) */
} gauth_iam_permission_state;

/* Asks which of `permissions` (NULL-terminated, 1 to
 * GAUTH_IAM_MAX_PERMISSIONS names, duplicates allowed and answered once
 * each) the credentials' principal holds on `resource`. A 403 or 404 on
 * the call itself is not an error: GAUTH_OK with a result whose access is
 * DENIED or NOT_FOUND and every permission UNKNOWN. Errors:
 * GAUTH_E_INVALID_ARG (a bad resource or permission; no request made), the
 * credentials' errors, GAUTH_E_UNAUTHENTICATED (401),
 * GAUTH_E_RATE_LIMITED / GAUTH_E_UNAVAILABLE after the retries,
 * GAUTH_E_BAD_RESPONSE (a reply that is not {"permissions":[...]} or
 * names a permission that was not asked). Free *out with
 * gauth_iam_result_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_iam_test_permissions(
    gauth_credentials *creds, const char *resource,
    const char *const *permissions, gauth_iam_result **out, gauth_error *err);

GAUTH_API void gauth_iam_result_free(gauth_iam_result *r);

GAUTH_API gauth_iam_access gauth_iam_result_access(const gauth_iam_result *r);
/* HTTP status of the call (200, or the 403 / 404). */
GAUTH_API int gauth_iam_result_http_status(const gauth_iam_result *r);
/* The server's message for a refused call ("" otherwise), redacted.
 * Borrowed. */
GAUTH_API const char *gauth_iam_result_detail(const gauth_iam_result *r);
/* The resource and the URL asked. Borrowed. */
GAUTH_API const char *gauth_iam_result_resource(const gauth_iam_result *r);
GAUTH_API const char *gauth_iam_result_url(const gauth_iam_result *r);

/* The permissions in the order asked, and the state of each. */
GAUTH_API size_t gauth_iam_result_count(const gauth_iam_result *r);
GAUTH_API const char *gauth_iam_result_permission(const gauth_iam_result *r,
                                                  size_t i);
GAUTH_API gauth_iam_permission_state
gauth_iam_result_state(const gauth_iam_result *r, size_t i);
/* 1 when every permission asked is GRANTED. */
GAUTH_API int gauth_iam_result_all_granted(const gauth_iam_result *r);
/* How many are MISSING (0 for a refused call: they are UNKNOWN). */
GAUTH_API size_t gauth_iam_result_missing_count(const gauth_iam_result *r);

/* ---- waiting for propagation --------------------------------------------- */

/* One report per check, after it. */
typedef struct gauth_iam_progress {
  unsigned int attempt; /* 1, 2, ... */
  int64_t elapsed_ms;   /* since the wait began */
  const gauth_iam_result
      *result;              /* this check's answer (NULL after an error) */
  gauth_status status;      /* this check's status */
  const gauth_error *error; /* its error when status != GAUTH_OK */
  int64_t next_wait_ms;     /* before the next check; 0: no more */
} gauth_iam_progress;

/* Returns 0 to go on, anything else to stop waiting now (the wait then
 * returns as at its deadline, with a message saying it was stopped). */
typedef int (*gauth_iam_progress_fn)(const gauth_iam_progress *p,
                                     void *userdata);

#define GAUTH_IAM_WAIT_OPTIONS_VERSION 1

typedef struct gauth_iam_wait_options {
  unsigned int version;           /* GAUTH_IAM_WAIT_OPTIONS_VERSION */
  unsigned int timeout_ms;        /* 0: 600000 (10 minutes) */
  unsigned int initial_wait_ms;   /* 0: 2000 */
  unsigned int max_wait_ms;       /* 0: 30000 */
  double multiplier;              /* 0: 2.0; otherwise >= 1.0 */
  gauth_iam_progress_fn progress; /* NULL: none */
  void *userdata;
} gauth_iam_wait_options;

/* Every field spelled out: no -Wmissing-field-initializers in C or C++. */
#define GAUTH_IAM_WAIT_OPTIONS_INIT \
  { GAUTH_IAM_WAIT_OPTIONS_VERSION, 0, 0, 0, 0.0, NULL, NULL }

/* Checks, then waits with exponential backoff and full jitter (each wait
 * drawn from [wait/2, wait], wait = min(max_wait, initial * multiplier^n)),
 * until every permission is granted or the timeout passes (no wait runs
 * past it; the last check is made at the deadline at the latest).
 * Transient failures of a check (429, 5xx, network) are reported through
 * the progress callback and waited out like a missing permission; a 403 /
 * 404 on the call, bad arguments and credential errors end the wait.
 *   GAUTH_OK: all granted; *elapsed_ms is how long propagation took (from
 *   the call to the first check that saw every permission).
 *   GAUTH_E_TIMEOUT: the deadline passed, or the progress callback asked
 *   to stop; *out holds the last answer (its MISSING permissions are the
 *   ones still missing) and the message lists them.
 *   GAUTH_E_PERMISSION_DENIED / GAUTH_E_NOT_FOUND: a 403 / 404 on the
 *   call; *out holds that refused result (access DENIED / NOT_FOUND).
 *   Other errors: those of gauth_iam_test_permissions that end the wait.
 * *out (may be NULL: not wanted) receives the last result when there is
 * one, else NULL; elapsed_ms (may be NULL) the time spent in all. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_iam_wait_permissions(
    gauth_credentials *creds, const char *resource,
    const char *const *permissions, const gauth_iam_wait_options *opts,
    gauth_iam_result **out, int64_t *elapsed_ms, gauth_error *err);

GAUTH_END_DECLS

#endif /* GAUTH_IAM_H */
