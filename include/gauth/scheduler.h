/* libgauth: Cloud Scheduler jobs — the job as Google describes it, its retry
 * schedule, and which token the URL it calls needs, as pure functions;
 * and the calls that do what Cloud Scheduler does: read a job from its API
 * (gauth_scheduler_job_get) and make one attempt of it
 * (gauth_scheduler_attempt_send).
 *
 *     gauth_scheduler_job *job;
 *     if (gauth_scheduler_job_from_json(&job, text, len, &err) == GAUTH_OK) {
 *       printf("%s %s\n", gauth_scheduler_job_http_method(job),
 *              gauth_scheduler_job_uri(job));
 *       gauth_scheduler_job_free(job);
 *     }
 *
 * THE JOB is a Cloud Scheduler v1 `Job` as the REST API returns it
 * (GET https://cloudscheduler.googleapis.com/v1/projects/P/locations/L/jobs/J)
 * and as `gcloud scheduler jobs describe --format=json` prints it: proto3
 * JSON, whose int32 / int64 members may arrive as numbers or as decimal
 * strings ("retryCount": "3") and whose enums arrive as names. Members
 * libgauth does not know are ignored; JSON null counts as absent. Google's
 * defaults are applied where a member is absent (see DEFAULTS) and Google's
 * limits are checked (see gauth_scheduler_job_from_json).
 * Reference:
 * https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs
 * and the protos it is generated from (google/cloud/scheduler/v1/job.proto,
 * target.proto in github.com/googleapis/googleapis).
 *
 * DURATIONS are Google's string form: seconds with up to nine fractional
 * digits and the suffix "s" ("180s", "3.5s", "0.000000001s"). libgauth
 * reports them in milliseconds, sub-millisecond digits dropped (limits are
 * checked on the exact value).
 *
 * TIMES are RFC 3339 ("2026-05-01T10:00:00.123456Z", or with an offset),
 * reported as whole seconds since the Unix epoch (fractions dropped).
 *
 * OWNERSHIP: a job is created by gauth_scheduler_job_from_json() and
 * released by gauth_scheduler_job_free(). Every getter returns a value or a
 * pointer borrowed from the job, valid until it is freed. The sentence of
 * gauth_scheduler_url_classify() is the caller's (gauth_free()).
 *
 * SECRETS: a job's headers and body may carry secrets (an API key set as a
 * header); libgauth never logs them or puts them in an error message, and
 * gauth_scheduler_job_free() wipes them. Error messages name the member
 * that is wrong and show only short non-secret values (numbers, durations,
 * enum names, header names). Sentences about a URL show
 * scheme://host[:port]/path, never its user info, query or fragment.
 *
 * THREAD SAFETY: every function here may be called from any thread. A job
 * is immutable once parsed: any number of threads may read it at once; it
 * must not be freed while another thread reads it; attempts likewise.
 * gauth_scheduler_url_classify(), gauth_scheduler_job_get() and
 * gauth_scheduler_attempt_send() read the environment (GAUTH_ENDPOINT, ...)
 * as gauth_options does: do not setenv() concurrently. */
#ifndef GAUTH_SCHEDULER_H
#define GAUTH_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/credentials.h>
#include <gauth/error.h>
#include <gauth/export.h>
#include <gauth/options.h>

GAUTH_BEGIN_DECLS

/* ---- DEFAULTS and limits, as Cloud Scheduler documents them ---------------
 * Applied by gauth_scheduler_job_from_json() to absent members. Durations
 * in milliseconds. */

/* httpTarget.httpMethod: HTTP_METHOD_UNSPECIFIED "defaults to POST". */
#define GAUTH_SCHEDULER_DEFAULT_HTTP_METHOD "POST"
/* oauthToken.scope: "If not specified, .../auth/cloud-platform will be
 * used." (oidcToken.audience: "If not specified, the URI specified in
 * target will be used.") */
#define GAUTH_SCHEDULER_DEFAULT_SCOPE GAUTH_SCOPE_CLOUD_PLATFORM
/* attemptDeadline of HTTP targets: "the default is 3 minutes. The deadline
 * must be in the interval [15 seconds, 30 minutes]." */
#define GAUTH_SCHEDULER_DEFAULT_ATTEMPT_DEADLINE_MS 180000
#define GAUTH_SCHEDULER_MIN_ATTEMPT_DEADLINE_MS 15000
#define GAUTH_SCHEDULER_MAX_ATTEMPT_DEADLINE_MS 1800000
/* retryConfig: retryCount 0 (at most 5), maxRetryDuration 0 (no time
 * limit), minBackoffDuration 5 s, maxBackoffDuration 1 h, maxDoublings 5. */
#define GAUTH_SCHEDULER_DEFAULT_RETRY_COUNT 0
#define GAUTH_SCHEDULER_MAX_RETRY_COUNT 5
#define GAUTH_SCHEDULER_DEFAULT_MAX_RETRY_DURATION_MS 0
#define GAUTH_SCHEDULER_DEFAULT_MIN_BACKOFF_MS 5000
#define GAUTH_SCHEDULER_DEFAULT_MAX_BACKOFF_MS 3600000
#define GAUTH_SCHEDULER_DEFAULT_MAX_DOUBLINGS 5

/* Parses a duration in Google's string form (see DURATIONS) into
 * milliseconds, sub-millisecond digits dropped: "3.5s" gives 3500,
 * "0.0009s" gives 0. No sign, space or exponent; at most nine fractional
 * digits; at most 315576000000 s (Google's Duration range). Errors:
 * GAUTH_E_INVALID_ARG for NULL arguments, GAUTH_E_MALFORMED for anything
 * else (the message shows the text when it is short). On error *ms_out is
 * 0. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_scheduler_duration_parse(
    const char *s, int64_t *ms_out, gauth_error *err);

/* ---- the job ------------------------------------------------------------- */

typedef struct gauth_scheduler_job gauth_scheduler_job;

/* Job.State; values as in Google's proto. */
typedef enum gauth_scheduler_state {
  GAUTH_SCHEDULER_STATE_UNSPECIFIED = 0, /* absent, or STATE_UNSPECIFIED */
  GAUTH_SCHEDULER_STATE_ENABLED = 1,
  GAUTH_SCHEDULER_STATE_PAUSED = 2,       /* paused by a user */
  GAUTH_SCHEDULER_STATE_DISABLED = 3,     /* disabled by the system (error) */
  GAUTH_SCHEDULER_STATE_UPDATE_FAILED = 4 /* an UpdateJob failed */
} gauth_scheduler_state;

/* Google's name of a state ("ENABLED", ...; "STATE_UNSPECIFIED"). Never
 * NULL; static; "unknown" for a value outside the enum. */
GAUTH_API const char *gauth_scheduler_state_name(gauth_scheduler_state state);

/* What a job delivers to: one of the three members of Job's `target`. */
typedef enum gauth_scheduler_target {
  GAUTH_SCHEDULER_TARGET_HTTP = 1,      /* httpTarget */
  GAUTH_SCHEDULER_TARGET_PUBSUB = 2,    /* pubsubTarget (read, not invoked) */
  GAUTH_SCHEDULER_TARGET_APP_ENGINE = 3 /* appEngineHttpTarget (likewise) */
} gauth_scheduler_target;

/* The token a call carries: none, an OIDC ID token (oidcToken; what Cloud
 * Run services and functions take) or an OAuth 2 access token (oauthToken;
 * what Google APIs on *.googleapis.com take). */
typedef enum gauth_scheduler_token {
  GAUTH_SCHEDULER_TOKEN_NONE = 0,
  GAUTH_SCHEDULER_TOKEN_OIDC = 1,
  GAUTH_SCHEDULER_TOKEN_OAUTH = 2
} gauth_scheduler_token;

/* "none", "oidc" or "oauth". Never NULL; static; "unknown" for a value
 * outside the enum. */
GAUTH_API const char *gauth_scheduler_token_name(gauth_scheduler_token token);

/* A job's retryConfig with every default applied, or the settings to ask
 * gauth_scheduler_retry_delay() / _next() about. Durations in ms. */
typedef struct gauth_scheduler_retry_config {
  int retry_count;               /* 0..GAUTH_SCHEDULER_MAX_RETRY_COUNT */
  int64_t max_retry_duration_ms; /* >= 0; 0: no time limit */
  int64_t min_backoff_ms;        /* >= 0 */
  int64_t max_backoff_ms;        /* >= min_backoff_ms */
  int max_doublings;             /* >= 0 */
} gauth_scheduler_retry_config;

/* Parses a Job (len bytes of JSON, need not be NUL-terminated, at most
 * 2 MiB) into *out (NULL on failure; free with gauth_scheduler_job_free()).
 *
 * Read: name, description, schedule, timeZone, state, attemptDeadline,
 * retryConfig, status {code, message}, lastAttemptTime, scheduleTime,
 * userUpdateTime and exactly one target: httpTarget {uri, httpMethod,
 * headers, body (base64), oidcToken {serviceAccountEmail, audience} or
 * oauthToken {serviceAccountEmail, scope}}, pubsubTarget or
 * appEngineHttpTarget (objects, whose content is not read).
 *
 * GAUTH_E_MALFORMED, the message naming the member (e.g.
 * "job.retryConfig.retryCount is 7: at most 5"), for: text that is not a
 * JSON object; a known member of the wrong type; no target or two; an
 * httpTarget without a uri, or whose uri is not an http(s) URL with a host
 * or is over 2083 bytes; an httpMethod or state that is not one of Google's
 * names; a header value that is not a string, or a header name or value
 * that is empty (names) or holds a line break; a body that is not base64,
 * or a body with a method other than POST, PUT or PATCH; both oidcToken
 * and oauthToken; a token without serviceAccountEmail; a duration that does
 * not parse or is negative; an attemptDeadline outside [15 s, 30 min] for
 * an HTTP target or outside [15 s, 24 h 15 s] (0 allowed) for App Engine;
 * a retryCount below 0 or above 5; a negative maxDoublings; a
 * minBackoffDuration above maxBackoffDuration (after defaults); an
 * integer out of int32 range; a time that is not RFC 3339.
 * GAUTH_E_TOO_LARGE over 2 MiB or 32 levels of nesting,
 * GAUTH_E_INVALID_ARG for NULL out or json, GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_scheduler_job_from_json(
    gauth_scheduler_job **out, const char *json, size_t len, gauth_error *err);

/* Frees a job, wiping its headers and body. NULL is a no-op. */
GAUTH_API void gauth_scheduler_job_free(gauth_scheduler_job *job);

/* The job's strings; "" when absent. An absent timeZone means UTC. */
GAUTH_API const char *gauth_scheduler_job_name(const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_description(
    const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_schedule(
    const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_time_zone(
    const gauth_scheduler_job *job);

GAUTH_API gauth_scheduler_state
gauth_scheduler_job_state(const gauth_scheduler_job *job);
GAUTH_API gauth_scheduler_target
gauth_scheduler_job_target(const gauth_scheduler_job *job);

/* HTTP targets only (NULL / 0 for the others): the uri as given; the
 * method ("POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS";
 * POST when absent); the headers in the order of the JSON (name and value
 * of header i, NULL when i is out of range); the body, decoded (NULL and
 * *len 0 when there is none; len may be NULL). */
GAUTH_API const char *gauth_scheduler_job_uri(const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_http_method(
    const gauth_scheduler_job *job);
GAUTH_API size_t
gauth_scheduler_job_header_count(const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_header_name(
    const gauth_scheduler_job *job, size_t i);
GAUTH_API const char *gauth_scheduler_job_header_value(
    const gauth_scheduler_job *job, size_t i);
GAUTH_API const unsigned char *gauth_scheduler_job_body(
    const gauth_scheduler_job *job, size_t *len);

/* The token an HTTP target's call carries, and its settings: the service
 * account (NULL for NONE); the audience (OIDC only: the oidcToken's, else
 * the uri; NULL otherwise); the scope (OAuth only: the oauthToken's, else
 * GAUTH_SCHEDULER_DEFAULT_SCOPE; NULL otherwise). */
GAUTH_API gauth_scheduler_token
gauth_scheduler_job_token(const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_service_account(
    const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_audience(
    const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_scope(const gauth_scheduler_job *job);

/* attemptDeadline in ms: for HTTP targets the value given, else
 * GAUTH_SCHEDULER_DEFAULT_ATTEMPT_DEADLINE_MS; for App Engine the value
 * given, 0 when absent (App Engine's own default); for Pub/Sub, where
 * Google ignores it, the value given or 0. */
GAUTH_API int64_t
gauth_scheduler_job_attempt_deadline_ms(const gauth_scheduler_job *job);

/* The retry settings with every default applied. Never NULL for a job. */
GAUTH_API const gauth_scheduler_retry_config *gauth_scheduler_job_retry_config(
    const gauth_scheduler_job *job);

/* The outcome of the last attempt (google.rpc.Status): its code
 * (google.rpc.Code: 0 OK, 5 NOT_FOUND, 7 PERMISSION_DENIED,
 * 16 UNAUTHENTICATED, ...; 0 when absent) and message ("" when absent). */
GAUTH_API int gauth_scheduler_job_status_code(const gauth_scheduler_job *job);
GAUTH_API const char *gauth_scheduler_job_status_message(
    const gauth_scheduler_job *job);

/* lastAttemptTime (the last attempt's start), scheduleTime (the next
 * attempt: a retry or the next run) and userUpdateTime, in seconds since
 * the epoch; 0 when absent. */
GAUTH_API int64_t
gauth_scheduler_job_last_attempt_time(const gauth_scheduler_job *job);
GAUTH_API int64_t
gauth_scheduler_job_schedule_time(const gauth_scheduler_job *job);
GAUTH_API int64_t
gauth_scheduler_job_user_update_time(const gauth_scheduler_job *job);

/* ---- the retry schedule -----------------------------------------------------
 * The rules, from Google's RetryConfig reference (URL above) and the
 * "Retry jobs" page
 * (https://cloud.google.com/scheduler/docs/configuring/retry-jobs):
 *
 * DELAY. The wait before retry n (n = 1 follows the first attempt) starts
 * at min_backoff, doubles max_doublings times, then grows linearly by
 * 2^max_doublings * min_backoff per retry, and never exceeds max_backoff:
 *     n <= max_doublings + 1:  min_backoff * 2^(n-1)
 *     n >  max_doublings + 1:  min_backoff * 2^max_doublings
 *                                          * (n - max_doublings)
 *     then min(that, max_backoff)
 * Google's example, min 10 s, max 300 s, max_doublings 3: 10, 20, 40, 80,
 * 160, 240, 300, 300, ... seconds. No overflow for any n or max_doublings
 * (a product past max_backoff is max_backoff).
 *
 * WHETHER. After attempt k fails (k = 1 is the first attempt; k - 1
 * retries have run), at elapsed time t since the first attempt started:
 *   - retry_count = 0 and max_retry_duration = 0: no retry ("If retryCount
 *     is 0 (and if maxRetryDuration is also 0), a job attempt won't be
 *     retried").
 *   - retry_count = N > 0 is met once N retries have run ("retry the failed
 *     job ... for retryCount times"): N + 1 attempts in all.
 *   - max_retry_duration = D > 0 is met once t >= D ("The time limit for
 *     retrying a failed job, measured from the time when an execution was
 *     first attempted"); the check is made when the attempt fails, as
 *     Cloud Tasks words the same setting.
 *   - a limit that is 0 is not set; when both are set the job is retried
 *     "until both limits are reached": a retry happens while either is
 *     unmet.
 * Not modelled: the next scheduled run (the proto says retries stop there,
 * the "Retry jobs" page that the run may be skipped instead), and App
 * Engine's 503s, which Google retries outside the count. */

/* The delay before retry n (n >= 1) under cfg, in *delay_ms. Errors:
 * GAUTH_E_INVALID_ARG for NULL arguments, n = 0, or a cfg outside the
 * ranges of gauth_scheduler_retry_config (the message names the field). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_scheduler_retry_delay(
    const gauth_scheduler_retry_config *cfg, unsigned int n, int64_t *delay_ms,
    gauth_error *err);

/* After attempt `failed_attempt` (>= 1) failed, `elapsed_ms` (>= 0) after
 * the first attempt started: *retry is 1 when Cloud Scheduler retries, and
 * then *delay_ms is the wait before it (retry number failed_attempt);
 * otherwise *retry and *delay_ms are 0. Errors as for
 * gauth_scheduler_retry_delay(), and for a negative elapsed_ms. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_scheduler_retry_next(
    const gauth_scheduler_retry_config *cfg, unsigned int failed_attempt,
    int64_t elapsed_ms, int *retry, int64_t *delay_ms, gauth_error *err);

/* ---- an attempt's outcome, as Cloud Scheduler records it ------------------
 * A job's `status` is a google.rpc.Status whose code says how its last
 * attempt ended. */

/* google.rpc.Code's name of a code (0 "OK", 5 "NOT_FOUND", 7
 * "PERMISSION_DENIED", 16 "UNAUTHENTICATED", ...; google/rpc/code.proto).
 * Never NULL; static; "unknown" outside 0..16. */
GAUTH_API const char *gauth_rpc_code_name(int code);

/* The google.rpc.Code an HTTP target's reply is recorded as: 0 (OK) for any
 * 2xx; otherwise the code whose HTTP mapping in google/rpc/code.proto is
 * that status: 400 INVALID_ARGUMENT (3), 401 UNAUTHENTICATED (16), 403
 * PERMISSION_DENIED (7), 404 NOT_FOUND (5), 409 ABORTED (10), 429
 * RESOURCE_EXHAUSTED (8), 499 CANCELLED (1), 500 INTERNAL (13), 501
 * UNIMPLEMENTED (12), 502 and 503 UNAVAILABLE (14), 504 DEADLINE_EXCEEDED
 * (4); any other status UNKNOWN (2). An attempt with no reply before its
 * deadline is DEADLINE_EXCEEDED (4); one that could not connect,
 * UNAVAILABLE (14): those have no HTTP status to pass here. */
GAUTH_API int gauth_scheduler_rpc_code_for_http(int http_status);

/* ---- which token a URL needs -------------------------------------------- */

typedef enum gauth_scheduler_url_kind {
  /* None of the below: an endpoint of your own. If it checks Google-signed
   * tokens it takes an OIDC ID token with the audience it expects. */
  GAUTH_SCHEDULER_URL_OTHER = 0,
  /* A Google API: a host under googleapis.com (regional ones such as
   * us-central1-run.googleapis.com included) or under the configured
   * universe domain, or a URL on an endpoint the options or GAUTH_ENDPOINT
   * put in place of Google's (gauth/options.h). Takes an OAuth 2 access
   * token (cloud-platform scope); an ID token is refused with 401 whatever
   * IAM grants. */
  GAUTH_SCHEDULER_URL_GOOGLE_API = 1,
  /* A Cloud Run service: a host under run.app, in either form
   * (https://SERVICE-PROJECT_NUMBER.REGION.run.app, the deterministic URL,
   * or https://SERVICE-HASH-REGIONCODE.a.run.app). Takes an OIDC ID token
   * whose audience is the service URL (or a custom audience). */
  GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE = 2,
  /* A Cloud Run function by its cloudfunctions.net URL
   * (https://REGION-PROJECT.cloudfunctions.net/NAME). Takes an OIDC ID
   * token whose audience is the function URL. */
  GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION = 3
} gauth_scheduler_url_kind;

/* "other", "google_api", "cloud_run_service", "cloud_run_function". Never
 * NULL; static; "unknown" for a value outside the enum. */
GAUTH_API const char *gauth_scheduler_url_kind_name(
    gauth_scheduler_url_kind kind);

/* Says what `url` (an http or https URL) is and which token a call to it
 * needs, under opts (NULL: defaults) and the environment. Hosts are read by
 * libcurl's URL parser and compared without regard to case or a trailing
 * dot: https://run.googleapis.com@evil.example/ is evil.example, and
 * googleapis.com.evil.example or notrun.app are OTHER.
 *
 * *kind receives the kind; *token (may be NULL) the token it takes:
 * OAUTH for a Google API, OIDC for the others. *why (may be NULL) receives
 * one sentence for people, e.g. "https://run.googleapis.com/v2/projects/p/
 * locations/l/jobs/j:run is a Google API (run.googleapis.com): it takes an
 * OAuth 2 access token ...; an OIDC ID token is refused with 401 whatever
 * IAM grants", free with gauth_free(). Errors: GAUTH_E_INVALID_ARG for
 * NULL url or kind, a URL that does not parse or is not http(s) with a
 * host, or an invalid option / GAUTH_ENDPOINT; GAUTH_E_NOMEM. On error
 * *kind is OTHER, *token NONE and *why NULL. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_scheduler_url_classify(
    const gauth_options *opts, const char *url, gauth_scheduler_url_kind *kind,
    gauth_scheduler_token *token, char **why, gauth_error *err);

/* ---- reading a job from Cloud Scheduler --------------------------------- */

/* Reads the job `name` (projects/P/locations/L/jobs/J) from the Cloud
 * Scheduler API: GET {cloudscheduler}/v1/NAME
 * (gauth_service_url(GAUTH_SERVICE_CLOUDSCHEDULER)) with an access token of
 * `creds` (cloud-platform scope), and parses the reply with
 * gauth_scheduler_job_from_json() into *out (NULL on failure). opts NULL:
 * the credentials' own options (endpoints, timeouts, retries); otherwise
 * the request goes where opts say.
 *
 * Errors: GAUTH_E_INVALID_ARG for NULL arguments or a name that is not
 * projects/P/locations/L/jobs/J (each part non-empty, job ids of letters,
 * digits, '-' and '_', no '/', '?', '#', '%' or "." / ".." segments: the
 * name never changes the request's path); Google's replies as
 * gauth_error reports them, http_status and error_code (Google's
 * "status") set: GAUTH_E_UNAUTHENTICATED (401), GAUTH_E_PERMISSION_DENIED
 * (403: the caller lacks cloudscheduler.jobs.get), GAUTH_E_NOT_FOUND
 * (404: no such job), GAUTH_E_UNAVAILABLE, ...; the message names the job
 * and carries Google's message. The token's errors, prefixed with "the
 * credentials' token". A reply that is not a Job: its
 * gauth_scheduler_job_from_json() error, prefixed with the URL. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_scheduler_job_get(
    gauth_credentials *creds, const gauth_options *opts, const char *name,
    gauth_scheduler_job **out, gauth_error *err);

/* ---- one attempt, as Cloud Scheduler makes it -------------------------------
 * An attempt of an HTTP target's job is what Cloud Scheduler sends when the
 * job runs (or is retried), as its service agent sends it:
 *
 * THE TOKEN. For oidcToken an OIDC ID token whose audience is the job's
 * (gauth_scheduler_job_audience(): the oidcToken's, else the uri), with the
 * "email" claim; for oauthToken an OAuth 2 access token for the job's scope
 * (space-separated scopes allowed). Both are tokens of the job's service
 * account: when the caller's credentials are that account
 * (gauth_credentials_email(), compared without regard to case) they are
 * used as they are; otherwise they impersonate it through IAM Credentials
 * (generateIdToken / generateAccessToken), as Cloud Scheduler's service
 * agent does, which needs roles/iam.serviceAccountTokenCreator (or
 * iam.serviceAccounts.getOpenIdToken / getAccessToken) for the caller on the
 * account. A token that cannot be minted is the attempt's outcome, not an
 * error of the call: gauth_scheduler_attempt_sent() is 0 and the attempt's
 * error says why.
 *
 * TOKEN REUSE. Tokens come from the credentials' cache. When the caller is
 * not the job's account, each call impersonates afresh; to make a run and
 * its retries share one token, as Cloud Scheduler does, get the account's
 * credentials once with gauth_scheduler_job_credentials() and pass those.
 *
 * THE REQUEST. The job's method, uri, headers and body; then Cloud
 * Scheduler's own headers, which the job's cannot replace (a job header of
 * the same name is dropped, as are Host, Content-Length, X-Google-* and
 * X-AppEngine-*, which Google ignores or sets itself):
 *     User-Agent: Google-Cloud-Scheduler
 *       (Google documents that it sets this for HTTP targets, replacing a
 *       job's; it appends its name to a job's only for App Engine targets)
 *     X-CloudScheduler: true
 *     X-CloudScheduler-JobName: J   (the name's last part; absent when the
 *                                    job has no name)
 *     X-CloudScheduler-ScheduleTime: 2026-05-01T10:00:00Z
 *       (RFC 3339, UTC "Zulu", whole seconds; schedule_time, or the
 *       attempt's start when schedule_time <= 0, as Google sends the time
 *       of a forced run)
 *     Authorization: Bearer TOKEN   (with a token; a job's Authorization
 *                                    header is kept only when the job has
 *                                    no token)
 *     Content-Type: application/octet-stream  (with a body, when the job
 *                                    sets none, as Google does)
 * The uri goes through the options' endpoint rewrite like every libgauth
 * request (a Google API URL reaches the emulator when GAUTH_ENDPOINT says
 * so); plain http:// is refused except to loopback (GAUTH_E_INSECURE_URL:
 * the token must not cross a network in the clear). The attempt is bounded
 * by the job's attemptDeadline (the connection included). It is made once:
 * no transport-level retry.
 *
 * REDIRECTS are not followed: a 3xx is the attempt's reply (its Location
 * header is kept). Google follows redirects ("For a redirected request, the
 * response returned by the redirected request is considered"); libgauth
 * does not send a bearer token to a URL the job does not name.
 *
 * THE OUTCOME. The HTTP status (0 when there was no reply) and the
 * google.rpc.Code Cloud Scheduler records (gauth_scheduler_rpc_code_for_http;
 * DEADLINE_EXCEEDED when no reply came within the deadline, UNAVAILABLE when
 * no connection could be made or it broke; for a token that could not be
 * minted, the code of IAM's refusal: PERMISSION_DENIED for 403,
 * UNAUTHENTICATED for 401 and for credentials that cannot mint this kind of
 * token, ...). A 2xx is a success; anything else a failed attempt (retried
 * per the job's retryConfig: gauth_scheduler_retry_next()). */

typedef struct gauth_scheduler_attempt gauth_scheduler_attempt;

/* The first bytes of a reply body an attempt keeps (the rest is read and
 * dropped). */
#define GAUTH_SCHEDULER_ATTEMPT_BODY_MAX 65536

/* Credentials of the job's service account for its attempts (see TOKEN
 * REUSE): a new reference to `caller` when the caller is that account,
 * otherwise a credential impersonating it with `caller` as the source
 * (gauth_credentials_impersonate(), opts as its options; NULL: defaults).
 * No token is fetched here. Free *out with gauth_credentials_free().
 * Errors: GAUTH_E_INVALID_ARG for NULL arguments, GAUTH_E_UNSUPPORTED for a
 * job that is not an HTTP target or has no token, those of
 * gauth_credentials_email() for metadata credentials, GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_scheduler_job_credentials(
    gauth_credentials *caller, const gauth_options *opts,
    const gauth_scheduler_job *job, gauth_credentials **out, gauth_error *err);

/* Makes one attempt of `job` (see above) and writes its outcome to *out
 * (free with gauth_scheduler_attempt_free()), whatever the outcome: a 2xx,
 * another status, no reply, or no token. `caller` may be NULL only for a
 * job without a token. opts NULL: the caller's options (or defaults). The
 * call takes up to the job's attemptDeadline plus the time to mint the
 * token.
 *
 * Errors (then *out is NULL and nothing was sent): GAUTH_E_INVALID_ARG for
 * NULL job or out, a NULL caller for a job with a token;
 * GAUTH_E_UNSUPPORTED for a Pub/Sub or App Engine target; the options'
 * errors; GAUTH_E_INSECURE_URL for a uri the transport refuses;
 * GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_scheduler_attempt_send(
    gauth_credentials *caller, const gauth_options *opts,
    const gauth_scheduler_job *job, int64_t schedule_time,
    gauth_scheduler_attempt **out, gauth_error *err);

/* Frees an attempt (its body wiped). NULL is a no-op. */
GAUTH_API void gauth_scheduler_attempt_free(gauth_scheduler_attempt *a);

/* 1 when the request was sent (a reply came, or the connection failed or
 * timed out); 0 when no token could be minted. */
GAUTH_API int gauth_scheduler_attempt_sent(const gauth_scheduler_attempt *a);

/* 1 for a 2xx reply. */
GAUTH_API int gauth_scheduler_attempt_succeeded(
    const gauth_scheduler_attempt *a);

/* The reply's HTTP status; 0 when there was none. */
GAUTH_API int gauth_scheduler_attempt_http_status(
    const gauth_scheduler_attempt *a);

/* The google.rpc.Code of the outcome (0 OK, 4 DEADLINE_EXCEEDED, 7
 * PERMISSION_DENIED, 14 UNAVAILABLE, 16 UNAUTHENTICATED, ...;
 * gauth_rpc_code_name()). */
GAUTH_API int gauth_scheduler_attempt_rpc_code(
    const gauth_scheduler_attempt *a);

/* When the attempt started (the token's minting included), in milliseconds
 * since the epoch; how long the request took, from sending to the end of
 * the reply (or the failure), in ms (0 when nothing was sent); and the
 * schedule time it carried in X-CloudScheduler-ScheduleTime, in seconds
 * since the epoch. */
GAUTH_API int64_t
gauth_scheduler_attempt_start_ms(const gauth_scheduler_attempt *a);
GAUTH_API int64_t
gauth_scheduler_attempt_latency_ms(const gauth_scheduler_attempt *a);
GAUTH_API int64_t
gauth_scheduler_attempt_schedule_time(const gauth_scheduler_attempt *a);

/* A header of the reply, for diagnosis: only WWW-Authenticate, Date,
 * Content-Type, Location and Retry-After are kept (name compared without
 * regard to case); NULL for the others and when the reply had none.
 * Borrowed. */
GAUTH_API const char *gauth_scheduler_attempt_header(
    const gauth_scheduler_attempt *a, const char *name);

/* The reply body's first GAUTH_SCHEDULER_ATTEMPT_BODY_MAX bytes
 * (NUL-terminated after *len bytes; "" and 0 without a reply; len may be
 * NULL), and 1 when the body was longer. Borrowed. */
GAUTH_API const char *gauth_scheduler_attempt_body(
    const gauth_scheduler_attempt *a, size_t *len);
GAUTH_API int gauth_scheduler_attempt_body_truncated(
    const gauth_scheduler_attempt *a);

/* The token the attempt carried (or tried to mint) and the account it is
 * (was to be) of: the job's service account (NULL for TOKEN_NONE); 1 when
 * it was minted by impersonation (by this call, or by credentials from
 * gauth_scheduler_job_credentials() that impersonate the account). Never
 * the token itself: an attempt does not keep it. */
GAUTH_API gauth_scheduler_token
gauth_scheduler_attempt_token(const gauth_scheduler_attempt *a);
GAUTH_API const char *gauth_scheduler_attempt_service_account(
    const gauth_scheduler_attempt *a);
GAUTH_API int gauth_scheduler_attempt_impersonated(
    const gauth_scheduler_attempt *a);

/* Why the attempt failed, as a gauth_error: code GAUTH_OK for a 2xx; for a
 * token that could not be minted, the minting's error (its message starts
 * "minting the OIDC token for EMAIL: "); for no reply, GAUTH_E_TIMEOUT or
 * GAUTH_E_NETWORK (or GAUTH_E_TLS) with the transport's message; for a
 * non-2xx reply, its status (GAUTH_E_UNAUTHENTICATED for 401, ...), with
 * Google's error message when the body is Google's error shape. Never a
 * token. Borrowed; never NULL. */
GAUTH_API const gauth_error *gauth_scheduler_attempt_error(
    const gauth_scheduler_attempt *a);

GAUTH_END_DECLS

#endif /* GAUTH_SCHEDULER_H */
