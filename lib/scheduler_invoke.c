/* One attempt of a Cloud Scheduler HTTP job, as Cloud Scheduler makes it:
 * the token minted for the job's service account (directly, or by
 * impersonation as the service agent does), the job's request with
 * Scheduler's headers, one transfer bounded by the attempt deadline, and
 * the outcome recorded as Google records it (HTTP status, google.rpc.Code).
 * The rules and their sources are in include/gauth/scheduler.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "credentials_internal.h"
#include "error_body.h"
#include "error_internal.h"
#include "http.h"
#include "retry.h" /* gauth__mono_ms */
#include "scheduler_internal.h"
#include "secret.h"
#include "url.h"

/* google.rpc.Code values this file records itself. */
#define RPC_NOT_FOUND 5
#define RPC_DEADLINE_EXCEEDED 4
#define RPC_PERMISSION_DENIED 7
#define RPC_UNAVAILABLE 14
#define RPC_UNAUTHENTICATED 16

/* The reply headers an attempt keeps for diagnosis. */
static const char *const kept_names[] = {
    "WWW-Authenticate", "Date", "Content-Type", "Location", "Retry-After"};
#define KEPT_COUNT (sizeof(kept_names) / sizeof(kept_names[0]))

struct gauth_scheduler_attempt {
  int sent;
  int http_status;
  int rpc_code;
  int64_t start_ms;
  int64_t latency_ms;
  int64_t schedule_time;
  char *kept[KEPT_COUNT];
  char *body; /* NUL-terminated; wiped on free */
  size_t body_len;
  int body_cut;
  gauth_scheduler_token token;
  char *service_account;
  int impersonated;
  gauth_error error;
};

/* ---- pure parts ---------------------------------------------------------- */

void gauth__scheduler_rfc3339(int64_t t, char buf[32]) {
  struct tm tm;
  time_t tt = (time_t)t;
  buf[0] = '\0';
  if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL) return;
  if (strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) buf[0] = '\0';
}

/* Job headers Cloud Scheduler computes, replaces or keeps for Google
 * ("Some HTTP request headers will be ignored or replaced": Host,
 * Content-Length, User-Agent, X-Google-*, X-AppEngine-*, X-CloudScheduler*),
 * plus Transfer-Encoding, which the transport decides. */
static int header_replaced(const char *name, int with_token) {
  static const char *const names[] = {"Host",
                                      "Content-Length",
                                      "Transfer-Encoding",
                                      "User-Agent",
                                      "X-CloudScheduler",
                                      "X-CloudScheduler-JobName",
                                      "X-CloudScheduler-ScheduleTime"};
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(names); i++)
    if (strcasecmp(name, names[i]) == 0) return 1;
  if (gauth__skip_prefix_ci(name, "X-Google-") != NULL ||
      gauth__skip_prefix_ci(name, "X-AppEngine-") != NULL)
    return 1;
  return with_token && strcasecmp(name, "Authorization") == 0;
}

static int method_has_body(const char *method) {
  return method != NULL &&
         (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
          strcmp(method, "PATCH") == 0);
}

/* "Name: value" into v[*n]; an empty value as "Name;" (libcurl's way to
 * send a header with no value; "Name:" would remove it). */
static int push(char **v, size_t *n, const char *name, const char *value) {
  size_t len = strlen(name) + strlen(value) + 3;
  char *line = malloc(len);
  if (line == NULL) return 0;
  if (value[0] == '\0')
    snprintf(line, len, "%s;", name);
  else
    snprintf(line, len, "%s: %s", name, value);
  v[(*n)++] = line;
  return 1;
}

gauth_status gauth__scheduler_request_headers(const gauth_scheduler_job *job,
                                              const char *token,
                                              int64_t schedule_time,
                                              char ***out, gauth_error *err) {
  size_t count, i, n = 0;
  int has_ct = 0, ok = 1;
  char **v, when[32], *bearer = NULL;
  const char *id;
  size_t body_len = 0;

  if (out != NULL) *out = NULL;
  if (job == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "request headers: job and out must not be NULL");
  count = gauth_scheduler_job_header_count(job);
  v = calloc(count + 8, sizeof(*v));
  if (v == NULL) return gauth__error_nomem(err);
  for (i = 0; i < count && ok; i++) {
    const char *name = gauth_scheduler_job_header_name(job, i);
    const char *value = gauth_scheduler_job_header_value(job, i);
    if (header_replaced(name, token != NULL)) continue;
    if (strcasecmp(name, "Content-Type") == 0) has_ct = 1;
    ok = push(v, &n, name, value);
  }
  id = gauth__scheduler_job_id(gauth_scheduler_job_name(job));
  gauth__scheduler_rfc3339(schedule_time, when);
  ok = ok && push(v, &n, "User-Agent", "Google-Cloud-Scheduler");
  ok = ok && push(v, &n, "X-CloudScheduler", "true");
  if (id != NULL) ok = ok && push(v, &n, "X-CloudScheduler-JobName", id);
  if (when[0] != '\0')
    ok = ok && push(v, &n, "X-CloudScheduler-ScheduleTime", when);
  if (ok && token != NULL) {
    size_t len = strlen(token) + sizeof("Bearer ");
    bearer = malloc(len);
    if (bearer != NULL) {
      snprintf(bearer, len, "Bearer %s", token);
      ok = push(v, &n, "Authorization", bearer);
      gauth__secret_strfree(bearer);
    } else {
      ok = 0;
    }
  }
  (void)gauth_scheduler_job_body(job, &body_len);
  if (ok && !has_ct && method_has_body(gauth_scheduler_job_http_method(job))) {
    /* Google sets application/octet-stream for a body; without one, no
     * Content-Type at all (libcurl would add its form type: "Name:" with
     * nothing after the colon removes it). */
    if (body_len > 0) {
      ok = push(v, &n, "Content-Type", "application/octet-stream");
    } else {
      char *rm = gauth__strdup("Content-Type:");
      if (rm == NULL) ok = 0;
      if (rm != NULL) v[n++] = rm;
    }
  }
  if (!ok) {
    gauth__secret_strv_free(v);
    return gauth__error_nomem(err);
  }
  *out = v;
  return GAUTH_OK;
}

int gauth__scheduler_mint_rpc_code(const gauth_error *e) {
  if (e == NULL) return RPC_UNAUTHENTICATED;
  if (e->http_status != 0)
    return gauth_scheduler_rpc_code_for_http(e->http_status);
  switch (e->code) {
    case GAUTH_E_TIMEOUT: return RPC_DEADLINE_EXCEEDED;
    case GAUTH_E_NETWORK:
    case GAUTH_E_TLS:
    case GAUTH_E_UNAVAILABLE: return RPC_UNAVAILABLE;
    case GAUTH_E_PERMISSION_DENIED: return RPC_PERMISSION_DENIED;
    case GAUTH_E_NOT_FOUND: return RPC_NOT_FOUND;
    default: return RPC_UNAUTHENTICATED;
  }
}

/* ---- the account's credentials ---------------------------------------------
 */

/* Credentials for `email`: caller itself (a new reference) when it is that
 * account, else an impersonation of it. An authorized user has no email
 * (GAUTH_E_UNSUPPORTED): it impersonates. */
static gauth_status account_credentials(gauth_credentials *caller,
                                        const gauth_options *opts,
                                        const char *email,
                                        gauth_credentials **out,
                                        int *impersonated, gauth_error *err) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_error e = GAUTH_ERROR_INIT;
  char *mine = NULL;
  gauth_status st = gauth_credentials_email(caller, &mine, &e);
  *out = NULL;
  *impersonated = 0;
  if (st == GAUTH_OK && strcasecmp(mine, email) == 0) {
    gauth_free(mine);
    gauth_credentials_up_ref(caller);
    *out = caller;
    return GAUTH_OK;
  }
  gauth_free(mine);
  if (st != GAUTH_OK && st != GAUTH_E_UNSUPPORTED) {
    gauth__error_copy(err, &e);
    gauth__error_prefix(err, "the caller's account");
    return st;
  }
  co.options = opts;
  *impersonated = 1;
  return gauth_credentials_impersonate(out, caller, email, NULL, &co, err);
}

static int is_http_job(const gauth_scheduler_job *job) {
  return gauth_scheduler_job_target(job) == GAUTH_SCHEDULER_TARGET_HTTP;
}

gauth_status gauth_scheduler_job_credentials(gauth_credentials *caller,
                                             const gauth_options *opts,
                                             const gauth_scheduler_job *job,
                                             gauth_credentials **out,
                                             gauth_error *err) {
  int impersonated;
  gauth_error_clear(err);
  if (out != NULL) *out = NULL;
  if (caller == NULL || job == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_job_credentials: NULL argument");
  if (!is_http_job(job) ||
      gauth_scheduler_job_token(job) == GAUTH_SCHEDULER_TOKEN_NONE)
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "the job has no token to mint (only HTTP "
                            "targets with oidcToken or oauthToken have one)");
  return account_credentials(caller, opts,
                             gauth_scheduler_job_service_account(job), out,
                             &impersonated, err);
}

/* ---- minting ------------------------------------------------------------- */

/* Splits a space-separated scope string into a NULL-terminated list (the
 * strings point into *copy; free both). */
static gauth_status split_scopes(const char *scope, char **copy,
                                 const char ***list, gauth_error *err) {
  size_t n = 0, k = 0;
  char *p, *save = NULL, *tok;
  *copy = gauth__strdup(scope);
  if (*copy == NULL) return gauth__error_nomem(err);
  for (p = *copy; *p != '\0'; p++)
    if (*p == ' ') n++;
  *list = calloc(n + 2, sizeof(**list));
  if (*list == NULL) {
    free(*copy);
    *copy = NULL;
    return gauth__error_nomem(err);
  }
  for (tok = strtok_r(*copy, " ", &save); tok != NULL;
       tok = strtok_r(NULL, " ", &save))
    (*list)[k++] = tok;
  return GAUTH_OK;
}

/* The job's token, minted by creds. */
static gauth_status mint(gauth_credentials *creds,
                         const gauth_scheduler_job *job, char **token,
                         gauth_error *err) {
  char *copy = NULL;
  const char **scopes = NULL;
  gauth_status st;
  if (gauth_scheduler_job_token(job) == GAUTH_SCHEDULER_TOKEN_OIDC)
    return gauth_credentials_id_token(creds, gauth_scheduler_job_audience(job),
                                      GAUTH_ID_TOKEN_INCLUDE_EMAIL, token, NULL,
                                      err);
  st = split_scopes(gauth_scheduler_job_scope(job), &copy, &scopes, err);
  if (st != GAUTH_OK) return st;
  st = gauth_credentials_access_token(creds, scopes, token, NULL, err);
  free(scopes);
  free(copy);
  return st;
}

/* Mints the attempt's token into *token; a failure is written into the
 * attempt (returns GAUTH_OK with *token NULL) unless it is out of memory. */
static gauth_status attempt_token(gauth_scheduler_attempt *a,
                                  gauth_credentials *caller,
                                  const gauth_options *opts,
                                  const gauth_scheduler_job *job,
                                  char **token) {
  gauth_credentials *creds = NULL;
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st;
  *token = NULL;
  st = account_credentials(caller, opts, a->service_account, &creds,
                           &a->impersonated, &e);
  /* The caller may itself impersonate the account
   * (gauth_scheduler_job_credentials): minted through IAM Credentials too. */
  if (st == GAUTH_OK &&
      gauth_credentials_get_type(creds) == GAUTH_CREDENTIALS_IMPERSONATED)
    a->impersonated = 1;
  if (st == GAUTH_OK) st = mint(creds, job, token, &e);
  gauth_credentials_free(creds);
  if (st == GAUTH_E_NOMEM) return st;
  if (st != GAUTH_OK) {
    gauth__error_prefix(
        &e, "minting the %s token for %s%s",
        a->token == GAUTH_SCHEDULER_TOKEN_OIDC ? "OIDC" : "OAuth",
        a->service_account, a->impersonated ? " (by impersonation)" : "");
    gauth__error_copy(&a->error, &e);
    a->rpc_code = gauth__scheduler_mint_rpc_code(&e);
  }
  return GAUTH_OK;
}

/* ---- sending ------------------------------------------------------------- */

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The transport: the options' own when given (or without a caller), else
 * the caller's. */
static gauth_status transport(gauth_credentials *caller,
                              const gauth_options *opts, gauth__http **own,
                              gauth__http **use, gauth_error *err) {
  gauth__config cfg;
  gauth_status st;
  *own = NULL;
  *use = NULL;
  if (opts == NULL && caller != NULL) {
    *use = gauth__credentials_http(caller);
    return GAUTH_OK;
  }
  st = gauth__config_init(&cfg, opts, err);
  if (st != GAUTH_OK) return st;
  st = gauth__http_new(own, &cfg, err);
  gauth__config_cleanup(&cfg);
  *use = *own;
  return st;
}

/* The job's uri as the transport will send it, checked before any token is
 * minted: no token goes where the transport would refuse to go. */
static gauth_status check_uri(gauth__http *h, const char *uri,
                              gauth_error *err) {
  const gauth__config *cfg = gauth__http_config(h);
  char *url = NULL;
  gauth_status st = gauth__config_resolve_url(cfg, uri, &url, err);
  if (st == GAUTH_OK)
    st = gauth__url_check_transport(url, cfg->metadata_host, cfg->metadata_ip,
                                    err);
  free(url);
  return st;
}

/* The reply (or its absence) into the attempt. */
static gauth_status record(gauth_scheduler_attempt *a,
                           const gauth_scheduler_job *job, gauth_status st,
                           const gauth__http_response *resp,
                           const char *const *known, gauth_error *e) {
  size_t i;
  if (st != GAUTH_OK) {
    switch (st) {
      case GAUTH_E_NOMEM:
      case GAUTH_E_INVALID_ARG:
      case GAUTH_E_INSECURE_URL:
      case GAUTH_E_INTERNAL: return st;
      case GAUTH_E_TIMEOUT: a->rpc_code = RPC_DEADLINE_EXCEEDED; break;
      default: a->rpc_code = RPC_UNAVAILABLE; break;
    }
    gauth__error_copy(&a->error, e);
    return GAUTH_OK;
  }
  a->http_status = (int)resp->status;
  a->rpc_code = gauth_scheduler_rpc_code_for_http(a->http_status);
  for (i = 0; i < KEPT_COUNT; i++) {
    const char *v = gauth__http_response_header(resp, kept_names[i]);
    if (v != NULL && (a->kept[i] = gauth__strdup(v)) == NULL)
      return GAUTH_E_NOMEM;
  }
  a->body = malloc(resp->body_len + 1);
  if (a->body == NULL) return GAUTH_E_NOMEM;
  if (resp->body_len > 0) memcpy(a->body, resp->body, resp->body_len);
  a->body[resp->body_len] = '\0';
  a->body_len = resp->body_len;
  a->body_cut = resp->body_cut;
  if (a->http_status < 200 || a->http_status >= 300) {
    /* "METHOD URL" without the query, which may hold a key. */
    const char *uri = gauth_scheduler_job_uri(job);
    size_t path_len = strcspn(uri, "?#");
    char what[GAUTH_ERROR_MESSAGE_SIZE / 2];
    snprintf(what, sizeof what, "%s %.*s%s",
             gauth_scheduler_job_http_method(job), (int)path_len, uri,
             uri[path_len] != '\0' ? "?..." : "");
    gauth__error_from_reply(&a->error, resp->status,
                            gauth__http_response_header(resp, "Content-Type"),
                            resp->body, resp->body_len, what, known);
  }
  return GAUTH_OK;
}

/* One transfer of the job's request with token (NULL: none). */
static gauth_status send_request(gauth_scheduler_attempt *a, gauth__http *h,
                                 const gauth_scheduler_job *job,
                                 const char *token) {
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error e = GAUTH_ERROR_INIT;
  char **headers = NULL;
  const char *known[2] = {token, NULL};
  size_t body_len = 0;
  const unsigned char *body = gauth_scheduler_job_body(job, &body_len);
  int64_t deadline = gauth_scheduler_job_attempt_deadline_ms(job), t0;
  gauth_status st;

  st = gauth__scheduler_request_headers(job, token, a->schedule_time, &headers,
                                        &e);
  if (st != GAUTH_OK) return st;
  memset(&req, 0, sizeof req);
  req.method = gauth_scheduler_job_http_method(job);
  req.url = gauth_scheduler_job_uri(job);
  req.headers = (const char *const *)headers;
  req.body = (const char *)body;
  req.body_len = body_len;
  req.secrets = known;
  req.max_redirects = 0;
  req.no_retry = 1;
  req.timeout_ms = (unsigned int)deadline;
  req.deadline_ms = (unsigned int)deadline;
  req.accept_any_status = 1;
  req.keep_body = GAUTH_SCHEDULER_ATTEMPT_BODY_MAX;
  t0 = gauth__mono_ms();
  st = gauth__http_do(h, &req, &resp, &e);
  a->latency_ms = gauth__mono_ms() - t0;
  a->sent = 1;
  st = record(a, job, st, &resp, known, &e);
  gauth__http_response_cleanup(&resp);
  gauth__secret_strv_free(headers);
  return st;
}

static gauth_status attempt_new(gauth_scheduler_attempt **out,
                                const gauth_scheduler_job *job,
                                int64_t schedule_time) {
  gauth_scheduler_attempt *a = calloc(1, sizeof(*a));
  const char *sa = gauth_scheduler_job_service_account(job);
  *out = NULL;
  if (a == NULL) return GAUTH_E_NOMEM;
  a->token = gauth_scheduler_job_token(job);
  if (sa != NULL && (a->service_account = gauth__strdup(sa)) == NULL) {
    free(a);
    return GAUTH_E_NOMEM;
  }
  a->start_ms = wall_ms();
  a->schedule_time = schedule_time > 0 ? schedule_time : a->start_ms / 1000;
  gauth_error_clear(&a->error);
  *out = a;
  return GAUTH_OK;
}

static gauth_status check_args(const gauth_credentials *caller,
                               const gauth_scheduler_job *job,
                               gauth_scheduler_attempt **out,
                               gauth_error *err) {
  if (job == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_attempt_send: %s is NULL",
                            job == NULL ? "job" : "out");
  if (!is_http_job(job))
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "gauth_scheduler_attempt_send: the job's target "
                            "is not httpTarget (Pub/Sub and App Engine "
                            "targets are read, not invoked)");
  if (caller == NULL &&
      gauth_scheduler_job_token(job) != GAUTH_SCHEDULER_TOKEN_NONE)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_attempt_send: the job carries "
                            "a token but caller is NULL");
  return GAUTH_OK;
}

gauth_status gauth_scheduler_attempt_send(gauth_credentials *caller,
                                          const gauth_options *opts,
                                          const gauth_scheduler_job *job,
                                          int64_t schedule_time,
                                          gauth_scheduler_attempt **out,
                                          gauth_error *err) {
  gauth__http *own = NULL, *h = NULL;
  gauth_scheduler_attempt *a = NULL;
  char *token = NULL;
  gauth_status st;

  gauth_error_clear(err);
  if (out != NULL) *out = NULL;
  st = check_args(caller, job, out, err);
  if (st != GAUTH_OK) return st;
  st = transport(caller, opts, &own, &h, err);
  if (st == GAUTH_OK) st = check_uri(h, gauth_scheduler_job_uri(job), err);
  if (st != GAUTH_OK) {
    gauth__http_free(own);
    return st;
  }
  st = attempt_new(&a, job, schedule_time);
  if (st == GAUTH_OK && a->token != GAUTH_SCHEDULER_TOKEN_NONE)
    st = attempt_token(a, caller, opts, job, &token);
  if (st == GAUTH_OK &&
      (a->token == GAUTH_SCHEDULER_TOKEN_NONE || token != NULL))
    st = send_request(a, h, job, token);
  gauth__secret_strfree(token);
  gauth__http_free(own);
  if (st != GAUTH_OK) {
    gauth_scheduler_attempt_free(a);
    if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
    return gauth__error_set(err, st, "gauth_scheduler_attempt_send: %s",
                            gauth_strerror(st));
  }
  *out = a;
  return GAUTH_OK;
}

/* ---- the attempt --------------------------------------------------------- */

void gauth_scheduler_attempt_free(gauth_scheduler_attempt *a) {
  size_t i;
  if (a == NULL) return;
  for (i = 0; i < KEPT_COUNT; i++) free(a->kept[i]);
  if (a->body != NULL) gauth__secret_free(a->body, a->body_len + 1);
  free(a->service_account);
  free(a);
}

int gauth_scheduler_attempt_sent(const gauth_scheduler_attempt *a) {
  return a != NULL && a->sent;
}

int gauth_scheduler_attempt_succeeded(const gauth_scheduler_attempt *a) {
  return a != NULL && a->http_status >= 200 && a->http_status < 300;
}

int gauth_scheduler_attempt_http_status(const gauth_scheduler_attempt *a) {
  return a != NULL ? a->http_status : 0;
}

int gauth_scheduler_attempt_rpc_code(const gauth_scheduler_attempt *a) {
  return a != NULL ? a->rpc_code : 0;
}

int64_t gauth_scheduler_attempt_start_ms(const gauth_scheduler_attempt *a) {
  return a != NULL ? a->start_ms : 0;
}

int64_t gauth_scheduler_attempt_latency_ms(const gauth_scheduler_attempt *a) {
  return a != NULL ? a->latency_ms : 0;
}

int64_t gauth_scheduler_attempt_schedule_time(
    const gauth_scheduler_attempt *a) {
  return a != NULL ? a->schedule_time : 0;
}

const char *gauth_scheduler_attempt_header(const gauth_scheduler_attempt *a,
                                           const char *name) {
  size_t i;
  if (a == NULL || name == NULL) return NULL;
  for (i = 0; i < KEPT_COUNT; i++)
    if (strcasecmp(name, kept_names[i]) == 0) return a->kept[i];
  return NULL;
}

const char *gauth_scheduler_attempt_body(const gauth_scheduler_attempt *a,
                                         size_t *len) {
  if (len != NULL) *len = a != NULL ? a->body_len : 0;
  return a != NULL && a->body != NULL ? a->body : "";
}

int gauth_scheduler_attempt_body_truncated(const gauth_scheduler_attempt *a) {
  return a != NULL && a->body_cut;
}

gauth_scheduler_token gauth_scheduler_attempt_token(
    const gauth_scheduler_attempt *a) {
  return a != NULL ? a->token : GAUTH_SCHEDULER_TOKEN_NONE;
}

const char *gauth_scheduler_attempt_service_account(
    const gauth_scheduler_attempt *a) {
  return a != NULL ? a->service_account : NULL;
}

int gauth_scheduler_attempt_impersonated(const gauth_scheduler_attempt *a) {
  return a != NULL && a->impersonated;
}

const gauth_error *gauth_scheduler_attempt_error(
    const gauth_scheduler_attempt *a) {
  static const gauth_error none = GAUTH_ERROR_INIT;
  return a != NULL ? &a->error : &none;
}
