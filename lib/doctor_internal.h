/* Internal: the diagnosis object the doctor's checks fill (lib/doctor.c),
 * and the checks themselves (lib/doctor_check*.c). */
#ifndef GAUTH_LIB_DOCTOR_INTERNAL_H
#define GAUTH_LIB_DOCTOR_INTERNAL_H

#include <gauth/doctor.h>

#include <cjson/cJSON.h>

#include "common.h"
#include "http.h"

/* A new, empty diagnosis (root OK until gauth__dx_finish). NULL when out
 * of memory. */
gauth_diagnosis *gauth__dx_new(void);

/* Records a check (name static or copied; detail printf-style, copied).
 * Out of memory is remembered and reported by gauth__dx_finish. */
void gauth__dx_check(gauth_diagnosis *d, const char *name,
                     gauth_doctor_check_result result, const char *fmt, ...)
    GAUTH_PRINTF(4, 5);

/* Replaces the result and detail of the check `name` recorded before (the
 * last of that name); a no-op when there is none. */
void gauth__dx_check_update(gauth_diagnosis *d, const char *name,
                            gauth_doctor_check_result result, const char *fmt,
                            ...) GAUTH_PRINTF(4, 5);

/* The result of the check `name` (the last of that name); SKIPPED when
 * there is none. */
gauth_doctor_check_result gauth__dx_check_get(const gauth_diagnosis *d,
                                              const char *name);

/* Records a cause with its sentence; a cause already recorded keeps its
 * first sentence and fixes (the call is then a no-op, and later
 * gauth__dx_fix calls for it add nothing). Returns 1 when recorded now. */
int gauth__dx_cause(gauth_diagnosis *d, gauth_doctor_cause cause,
                    const char *fmt, ...) GAUTH_PRINTF(3, 4);

/* Adds a fix line to the cause most recently recorded by gauth__dx_cause
 * (when that call recorded it). */
void gauth__dx_fix(gauth_diagnosis *d, const char *fmt, ...) GAUTH_PRINTF(2, 3);

/* 1 when the cause has been recorded. */
int gauth__dx_has(const gauth_diagnosis *d, gauth_doctor_cause cause);

/* Orders the causes (enum order), sets the root cause: the first cause;
 * else UNKNOWN when a check is UNKNOWN; else OK. With no cause the summary
 * is made from the checks. GAUTH_E_NOMEM when anything could not be
 * stored. */
gauth_status gauth__dx_finish(gauth_diagnosis *d, gauth_error *err);

/* ---- the checks (lib/doctor_check.c, lib/doctor_iam.c) ------------------ */

/* Google allows this much clock difference when minting and verifying
 * tokens (iat / exp leeway): seconds. */
#define GAUTH__DOCTOR_SKEW_MAX GAUTH_DOCTOR_CLOCK_SKEW_MAX

/* What the checks share: the input, what was learnt, the diagnosis. */
typedef struct gauth__dx {
  gauth_credentials *caller;
  const gauth_options *opts;
  const gauth_doctor_input *in;
  gauth_diagnosis *d;
  gauth__http *h;                 /* the transport (borrowed or own) */
  gauth__http *own;               /* made from opts */
  const gauth_scheduler_job *job; /* NULL: url + token */
  const char *url;
  char *shown; /* the url as shown: scheme://host[:port]/path */
  char *host;  /* lower case */
  gauth_scheduler_url_kind kind;
  int kind_known;              /* classify worked */
  gauth_scheduler_token takes; /* what the target takes; NONE: unknown */
  gauth_scheduler_token sends; /* the job's token or the supplied one */
  const char *account;         /* the token's account; NULL: none / unknown */
  char *token_email;           /* a supplied token's email */
  const char *audience;        /* job OIDC */
  const char *scope;           /* job OAuth */
  char *job_project, *job_location, *job_id; /* from the job's name */
  int scheduler_mints; /* a Cloud Scheduler job (has a name) */
  /* The Cloud Run resource the URL names or reaches. */
  char *project, *location;
  char *run_job;      /* projects/P/locations/L/jobs/J (Admin API :run) */
  char *run_service;  /* projects/P/locations/L/services/S */
  int run_v1;         /* the :run URL is the v1 (namespaces) form */
  int service_listed; /* the URL's project was listed */
  char **audiences;   /* the service's accepted audiences */
  size_t audience_count;
  int target_exists;      /* 1 yes, 0 no (404), -1 not known */
  const char *permission; /* the permission the target checks, or NULL */
  int failed_evidence;    /* a failed attempt was seen (status / reply) */
  int evidence_http;      /* its HTTP status when known */
  int64_t now;
  int64_t skew; /* Google's clock minus ours, largest seen */
  int date_seen;
  char *caller_email;
  int sa_state; /* the account: 1 exists and enabled, 0 not, -1 unknown */
  cJSON *roles; /* role name -> includedPermissions, as read */
} gauth__dx;

/* A request as the caller, any status accepted; records the reply's Date.
 * GAUTH_OK when a reply came (resp->status says which); otherwise why
 * holds the reason (no secret). Clean resp up in any case. url_or_suffix is
 * a suffix of the service's URL when service >= 0, else a full URL. */
gauth_status gauth__dx_request(gauth__dx *x, const char *method, int service,
                               const char *url_or_suffix, const char *json,
                               gauth__http_response *resp, char *why,
                               size_t why_size);
/* Notes a reply's Date header. */
void gauth__dx_date(gauth__dx *x, const char *date);

/* "reason" of Google's error body ("message" cut), for details. */
void gauth__dx_reply_message(const gauth__http_response *resp, char *buf,
                             size_t size);

/* ---- shared by the check files ---------------------------------------- */

/* scheme://host[:port] and the path of a URL (lower-case scheme and host). */
typedef struct gauth__dx_url_parts {
  char *origin;
  char *host;
  char *path;
} gauth__dx_url_parts;

int gauth__dx_url_split(const char *url, gauth__dx_url_parts *out);
void gauth__dx_url_parts_free(gauth__dx_url_parts *u);
/* The next path part after `prefix` at *p (copied), moving *p past it. */
char *gauth__dx_take_part(const char **p, const char *prefix);
int gauth__dx_all_digits(const char *s);
/* "J --location=L --project=P" for gcloud, or placeholders. */
const char *gauth__dx_job_ref(const gauth__dx *x, char *buf, size_t size);
/* Audiences compare as Cloud Run compares them: exactly, but for one
 * trailing '/'. */
int gauth__dx_audience_eq(const char *a, const char *b);
void gauth__dx_add_audience(gauth__dx *x, const char *a);
/* The project's Cloud Run job with run_job's id in any location, or NULL;
 * the location part of a resource name (copied). */
char *gauth__dx_job_anywhere(gauth__dx *x);
char *gauth__dx_location_of(const char *name);

/* The checks, in the order gauth_doctor_diagnose makes them. */
void gauth__dx_check_target_kind(gauth__dx *x);
void gauth__dx_check_token_type(gauth__dx *x);
void gauth__dx_check_supplied_token(gauth__dx *x);
void gauth__dx_check_scopes(gauth__dx *x, const char *name, const char *scopes);
void gauth__dx_check_audience(gauth__dx *x, const char *name,
                              const char *const *auds, size_t n);
void gauth__dx_check_target_exists(gauth__dx *x);

/* Record the causes (with their fixes): the target does not exist (what:
 * the sentence's start); the account does not exist (evidence: NULL, or why
 * the service_account check now fails). */
void gauth__dx_target_not_found(gauth__dx *x, const char *what);
void gauth__dx_service_account_missing(gauth__dx *x, const char *evidence);

/* "serviceAccount" for an email under gserviceaccount.com, else "user":
 * the member type of IAM bindings. */
const char *gauth__dx_member_kind(const char *email);

void gauth__dx_check_service_account(gauth__dx *x);
void gauth__dx_check_mint(gauth__dx *x);
void gauth__dx_check_permission(gauth__dx *x);

#endif /* GAUTH_LIB_DOCTOR_INTERNAL_H */
