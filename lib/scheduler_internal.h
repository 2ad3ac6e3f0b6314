/* Internal: what lib/scheduler_job.c, scheduler_retry.c and
 * scheduler_target.c share, and Cloud Scheduler's limits that are not in
 * the public header. */
#ifndef GAUTH_LIB_SCHEDULER_INTERNAL_H
#define GAUTH_LIB_SCHEDULER_INTERNAL_H

#include "common.h"

/* A Job's JSON: Google allows 1 MB per job; its JSON (base64 body, gcloud's
 * indentation) is larger. */
#define GAUTH__SCHEDULER_JOB_MAX_BYTES ((size_t)2 * 1024 * 1024)
#define GAUTH__SCHEDULER_JOB_MAX_DEPTH 32u
/* httpTarget.uri: "The maximum allowed URL length is 2083 characters after
 * encoding." */
#define GAUTH__SCHEDULER_URI_MAX_BYTES 2083u
/* attemptDeadline of App Engine targets: 0 (App Engine's default) or
 * [15 seconds, 24 hours 15 seconds]. */
#define GAUTH__SCHEDULER_APP_ENGINE_MAX_DEADLINE_MS INT64_C(86415000)
/* google.protobuf.Duration's range: 10000 years of seconds. */
#define GAUTH__SCHEDULER_DURATION_MAX_SECONDS INT64_C(315576000000)

/* A duration exactly as written: whole seconds and nanoseconds. */
typedef struct gauth__scheduler_duration {
  int64_t seconds; /* 0..GAUTH__SCHEDULER_DURATION_MAX_SECONDS */
  int32_t nanos;   /* 0..999999999 */
} gauth__scheduler_duration;

/* Parses Google's duration form ("3.5s"; see gauth/scheduler.h) into *out.
 * `what` names the value in messages ("job.attemptDeadline"; NULL:
 * "duration"). GAUTH_E_MALFORMED ("... is negative", "... is not a
 * duration ...", "... is out of range"), GAUTH_E_INVALID_ARG for NULL s or
 * out. The text is shown only when gauth__echo_setting allows it. */
gauth_status gauth__scheduler_duration_parse(const char *s, const char *what,
                                             gauth__scheduler_duration *out,
                                             gauth_error *err);

/* d in milliseconds, sub-millisecond digits dropped. */
int64_t gauth__scheduler_duration_ms(gauth__scheduler_duration d);

/* <0, 0, >0 as d is below, equal to or above ms milliseconds, exactly. */
int gauth__scheduler_duration_cmp_ms(gauth__scheduler_duration d, int64_t ms);

/* GAUTH_OK when uri is an http or https URL with a host, as libcurl's URL
 * parser reads it; GAUTH_E_MALFORMED naming `what` otherwise (the URL is
 * not shown: its query may hold a key), GAUTH_E_NOMEM. */
gauth_status gauth__scheduler_uri_check(const char *uri, const char *what,
                                        gauth_error *err);

/* GAUTH_OK when every field of cfg is in the range gauth/scheduler.h gives;
 * GAUTH_E_INVALID_ARG naming the field otherwise (NULL cfg included). */
gauth_status gauth__scheduler_retry_config_check(
    const gauth_scheduler_retry_config *cfg, gauth_error *err);

/* ---- reading and invoking jobs (scheduler_get.c, scheduler_invoke.c) ---- */

/* GAUTH_OK when name is projects/P/locations/L/jobs/J with parts that
 * cannot change a URL's path: P of letters, digits and "-._:" (domain-scoped
 * projects hold ':' and '.'), L of letters, digits and '-', J of letters,
 * digits, '-' and '_' (at most 500, Google's limit); no part "." or "..".
 * GAUTH_E_INVALID_ARG naming what is wrong otherwise (the name is shown when
 * gauth__echo_setting allows it). */
gauth_status gauth__scheduler_job_name_check(const char *name,
                                             gauth_error *err);

/* The job id of a job name (the text after its last '/'), or NULL when
 * name is NULL or empty. Borrowed from name. */
const char *gauth__scheduler_job_id(const char *name);

/* t (seconds since the epoch) as RFC 3339 UTC "Zulu" with whole seconds
 * ("2026-05-01T10:00:00Z") into buf; "" when t is out of gmtime's range. */
void gauth__scheduler_rfc3339(int64_t t, char buf[32]);

/* The request headers of an attempt of job: the job's own (minus those
 * Cloud Scheduler replaces or ignores), then Cloud Scheduler's (User-Agent,
 * X-CloudScheduler, -JobName when the job has a name, -ScheduleTime),
 * "Authorization: Bearer TOKEN" when token is not NULL, and Content-Type
 * application/octet-stream for a method that carries a body when the job
 * sets none. A NULL-terminated array of "Name: value" into *out (free with
 * gauth__secret_strv_free: it holds the token). */
gauth_status gauth__scheduler_request_headers(const gauth_scheduler_job *job,
                                              const char *token,
                                              int64_t schedule_time,
                                              char ***out, gauth_error *err);

/* The google.rpc.Code an attempt records when its token could not be
 * minted, from the minting's error: the HTTP status's code when IAM
 * answered (403 PERMISSION_DENIED, 401 UNAUTHENTICATED, 404 NOT_FOUND,
 * ...), DEADLINE_EXCEEDED for a timeout, UNAVAILABLE for a network
 * failure, PERMISSION_DENIED for GAUTH_E_PERMISSION_DENIED, NOT_FOUND for
 * GAUTH_E_NOT_FOUND, UNAUTHENTICATED otherwise (no token: the request
 * could not be authenticated). */
int gauth__scheduler_mint_rpc_code(const gauth_error *mint_err);

#endif /* GAUTH_LIB_SCHEDULER_INTERNAL_H */
