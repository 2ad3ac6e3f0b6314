/* The doctor's checks of the job, the target and the token (the IAM checks
 * are in lib/doctor_iam.c), and gauth_doctor_diagnose, which runs them in
 * order. Each check reads Google's public APIs as the caller, records what
 * it read and what it showed, and names a cause only on evidence. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

#include "abi.h"
#include "config.h"
#include "credentials_internal.h"
#include "doctor_internal.h"
#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

/* ---- requests ------------------------------------------------------------ */

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") in seconds since the
 * epoch; -1 when it is not one. */
static int64_t http_date(const char *s) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char mon[4];
  int day, year, hh, mm, ss, m;
  int64_t days;
  const char *p;
  if (s == NULL) return -1;
  p = strchr(s, ',');
  if (p == NULL || sscanf(p + 1, " %2d %3s %4d %2d:%2d:%2d GMT", &day, mon,
                          &year, &hh, &mm, &ss) != 6)
    return -1;
  mon[3] = '\0';
  p = strstr(months, mon);
  if (p == NULL || (p - months) % 3 != 0 || year < 1970 || day < 1 ||
      day > 31 || hh > 23 || mm > 59 || ss > 60)
    return -1;
  m = (int)(p - months) / 3 + 1;
  /* Days from the civil date (Howard Hinnant's algorithm). */
  {
    int y = m <= 2 ? year - 1 : year;
    int era = y / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = (int64_t)era * 146097 + doe - 719468;
  }
  return days * 86400 + hh * 3600 + mm * 60 + ss;
}

void gauth__dx_date(gauth__dx *x, const char *date) {
  int64_t t = http_date(date), skew;
  if (t < 0) return;
  skew = t - x->now;
  if (!x->date_seen || llabs(skew) > llabs(x->skew)) x->skew = skew;
  x->date_seen = 1;
}

gauth_status gauth__dx_request(gauth__dx *x, const char *method, int service,
                               const char *url_or_suffix, const char *json,
                               gauth__http_response *resp, char *why,
                               size_t why_size) {
  gauth__http_request req;
  gauth_error err = GAUTH_ERROR_INIT;
  char **headers = NULL, *token = NULL, *url = NULL;
  const char *secrets[2] = {NULL, NULL};
  gauth_status st;

  memset(resp, 0, sizeof *resp);
  if (service >= 0)
    st = gauth__config_service_url(gauth__http_config(x->h),
                                   (gauth_service)service, url_or_suffix, &url,
                                   &err);
  else
    st = gauth__config_resolve_url(gauth__http_config(x->h), url_or_suffix,
                                   &url, &err);
  if (st == GAUTH_OK)
    st = gauth__credentials_auth_headers(x->caller, &headers, &token, &err);
  if (st != GAUTH_OK) {
    snprintf(why, why_size, "%s", err.message);
    free(url);
    return st;
  }
  secrets[0] = token;
  memset(&req, 0, sizeof req);
  req.method = method;
  req.url = url;
  req.headers = (const char *const *)headers;
  req.secrets = secrets;
  req.accept_any_status = 1;
  if (json != NULL) {
    req.body = json;
    req.body_len = strlen(json);
    req.content_type = "application/json";
  }
  st = gauth__http_do(x->h, &req, resp, &err);
  if (st == GAUTH_OK)
    gauth__dx_date(x, gauth__http_response_header(resp, "Date"));
  else
    snprintf(why, why_size, "%s", err.message);
  gauth__auth_headers_free(headers, token);
  free(url);
  return st;
}

void gauth__dx_reply_message(const gauth__http_response *resp, char *buf,
                             size_t size) {
  cJSON *root = NULL;
  const cJSON *e, *m;
  snprintf(buf, size, "HTTP %ld", resp->status);
  if (resp->body == NULL ||
      gauth__json_parse_object(resp->body, resp->body_len, NULL, &root, NULL) !=
          GAUTH_OK)
    return;
  e = cJSON_GetObjectItemCaseSensitive(root, "error");
  m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
  if (m != NULL && cJSON_IsString(m))
    snprintf(buf, size, "HTTP %ld: %.200s", resp->status, m->valuestring);
  cJSON_Delete(root);
}

/* ---- small helpers --------------------------------------------------------
 */

/* The next path part after `prefix` at *p (copied), moving *p past it. */
char *gauth__dx_take_part(const char **p, const char *prefix) {
  const char *s = gauth__skip_prefix(*p, prefix), *e;
  char *out;
  if (s == NULL) return NULL;
  e = s;
  while (*e != '\0' && *e != '/' && *e != ':' && *e != '?' && *e != '#') e++;
  if (e == s) return NULL;
  out = malloc((size_t)(e - s) + 1);
  if (out == NULL) return NULL;
  memcpy(out, s, (size_t)(e - s));
  out[e - s] = '\0';
  *p = e;
  return out;
}

int gauth__dx_all_digits(const char *s) {
  if (s == NULL || *s == '\0') return 0;
  for (; *s != '\0'; s++)
    if (!isdigit((unsigned char)*s)) return 0;
  return 1;
}

/* The job's short id, location and project from its name. */
static void job_name_parts(gauth__dx *x) {
  const char *p = gauth_scheduler_job_name(x->job);
  if (p == NULL || *p == '\0') return;
  x->job_project = gauth__dx_take_part(&p, "projects/");
  if (x->job_project != NULL)
    x->job_location = gauth__dx_take_part(&p, "/locations/");
  if (x->job_location != NULL) x->job_id = gauth__dx_take_part(&p, "/jobs/");
}

/* "J --location=L" or the job's name when it is not in that form. */
const char *gauth__dx_job_ref(const gauth__dx *x, char *buf, size_t size) {
  if (x->job_id != NULL && x->job_location != NULL)
    snprintf(buf, size, "%s --location=%s --project=%s", x->job_id,
             x->job_location, x->job_project);
  else
    snprintf(buf, size, "JOB --location=LOCATION");
  return buf;
}

/* ---- job ------------------------------------------------------------------
 */

static void check_job(gauth__dx *x) {
  int code, stale;
  if (x->job == NULL) {
    gauth__dx_check(x->d, "job", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "no job: the URL %s and the token given", x->shown);
    return;
  }
  code = gauth_scheduler_job_status_code(x->job);
  stale = code != 0 && gauth_scheduler_job_user_update_time(x->job) >
                           gauth_scheduler_job_last_attempt_time(x->job);
  if (code != 0 && !stale) {
    x->failed_evidence = 1;
    x->evidence_http = code == 16 ? 401 : code == 7 ? 403 : code == 5 ? 404 : 0;
  }
  {
    char tok[700];
    const char *kind =
        x->sends == GAUTH_SCHEDULER_TOKEN_OIDC    ? "an OIDC ID token"
        : x->sends == GAUTH_SCHEDULER_TOKEN_OAUTH ? "an OAuth access token"
                                                  : "no token";
    if (x->sends == GAUTH_SCHEDULER_TOKEN_OIDC)
      snprintf(tok, sizeof tok, "%s of %s, audience %s", kind, x->account,
               x->audience);
    else if (x->sends == GAUTH_SCHEDULER_TOKEN_OAUTH)
      snprintf(tok, sizeof tok, "%s of %s, scope %s", kind, x->account,
               x->scope);
    else
      snprintf(tok, sizeof tok, "%s", kind);
    gauth__dx_check(
        x->d, "job",
        code != 0 && !stale ? GAUTH_DOCTOR_CHECK_FAIL : GAUTH_DOCTOR_CHECK_OK,
        "%s%s calls %s %s with %s; last attempt: %s%s%s%s",
        x->scheduler_mints ? "job " : "the call (ad hoc)",
        x->scheduler_mints ? gauth_scheduler_job_name(x->job) : "",
        gauth_scheduler_job_http_method(x->job), x->shown, tok,
        code == 0 && gauth_scheduler_job_last_attempt_time(x->job) == 0
            ? "none recorded"
            : gauth_rpc_code_name(code),
        code != 0 && *gauth_scheduler_job_status_message(x->job) ? ": " : "",
        code != 0 ? gauth_scheduler_job_status_message(x->job) : "",
        stale ? " (before the job's last update: not evidence of its "
                "present settings)"
              : "");
  }
}

/* ---- the reply: one attempt (send), or one seen
 * ------------------------------ */

static void read_reply(gauth__dx *x, const char *how, int status,
                       const char *www, const char *date, const char *body,
                       size_t body_len) {
  char m[300] = "";
  gauth__http_response r;
  gauth__dx_date(x, date);
  memset(&r, 0, sizeof r);
  r.status = status;
  r.body = (char *)body;
  r.body_len = body_len;
  gauth__dx_reply_message(&r, m, sizeof m); /* "HTTP <status>" at least */
  if (status >= 200 && status < 300) {
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_OK, "%s: HTTP %d", how,
                    status);
    return;
  }
  x->failed_evidence = 1;
  x->evidence_http = status;
  gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_FAIL, "%s: %s%s%s", how,
                  m, www != NULL ? "; WWW-Authenticate: " : "",
                  www != NULL ? www : "");
  if (status == 404 && x->target_exists != 1)
    gauth__dx_target_not_found(x, "The URL answers 404");
}

static void check_attempt(gauth__dx *x) {
  gauth_scheduler_attempt *a = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  if (x->in->http_status != 0)
    read_reply(x, "the reply given", x->in->http_status,
               x->in->www_authenticate, x->in->date, x->in->body,
               x->in->body != NULL ? x->in->body_len : 0);
  if (!x->in->send) {
    if (x->in->http_status == 0)
      gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_SKIPPED,
                      "no request to the target (send not asked)");
    return;
  }
  if (x->job == NULL) {
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "send needs a job (a URL and a token kind)");
    return;
  }
  if (gauth_scheduler_attempt_send(x->caller, x->opts, x->job, 0, &a, &err) !=
      GAUTH_OK) {
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "the attempt could not be made: %s", err.message);
    return;
  }
  if (!gauth_scheduler_attempt_sent(a)) {
    const gauth_error *e = gauth_scheduler_attempt_error(a);
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_FAIL, "not sent: %s",
                    e->message);
    if (!x->scheduler_mints && e->http_status == 403 &&
        gauth__dx_cause(x->d, GAUTH_DOCTOR_CANNOT_MINT_TOKEN,
                        "The caller cannot mint a token for %s (IAM "
                        "Credentials answers 403).",
                        x->account != NULL ? x->account : "the account"))
      gauth__dx_fix(
          x->d,
          "gcloud iam service-accounts add-iam-policy-binding %s "
          "--member=user:YOU --role=roles/iam.serviceAccountTokenCreator",
          x->account != NULL ? x->account : "EMAIL");
  } else if (gauth_scheduler_attempt_http_status(a) == 0) {
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "sent, no reply: %s",
                    gauth_scheduler_attempt_error(a)->message);
  } else {
    size_t len = 0;
    const char *body = gauth_scheduler_attempt_body(a, &len);
    read_reply(x, "one attempt sent", gauth_scheduler_attempt_http_status(a),
               gauth_scheduler_attempt_header(a, "WWW-Authenticate"),
               gauth_scheduler_attempt_header(a, "Date"), body, len);
  }
  gauth_scheduler_attempt_free(a);
}

/* ---- clock
 * ------------------------------------------------------------------- */

/* Google's Date without credentials: a GET of the token endpoint (any
 * status does), for when no authenticated read got a reply (a token that
 * could not be had, as a skewed clock causes). */
static void probe_date(gauth__dx *x) {
  gauth__http_request req;
  gauth__http_response resp;
  char *url = NULL;
  memset(&resp, 0, sizeof resp);
  if (gauth__config_service_url(gauth__http_config(x->h), GAUTH_SERVICE_TOKEN,
                                NULL, &url, NULL) != GAUTH_OK)
    return;
  memset(&req, 0, sizeof req);
  req.method = "GET";
  req.url = url;
  req.accept_any_status = 1;
  req.no_retry = 1;
  if (gauth__http_do(x->h, &req, &resp, NULL) == GAUTH_OK)
    gauth__dx_date(x, gauth__http_response_header(&resp, "Date"));
  gauth__http_response_cleanup(&resp);
  free(url);
}

static void check_clock(gauth__dx *x) {
  if (!x->date_seen) probe_date(x);
  if (!x->date_seen) {
    gauth__dx_check(x->d, "clock", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "no reply with a Date header was read");
    return;
  }
  if (llabs(x->skew) <= GAUTH__DOCTOR_SKEW_MAX) {
    gauth__dx_check(x->d, "clock", GAUTH_DOCTOR_CHECK_OK,
                    "this machine's clock is within %lld s of Google's (Date "
                    "headers; at most %d s allowed)",
                    (long long)llabs(x->skew), GAUTH__DOCTOR_SKEW_MAX);
    return;
  }
  gauth__dx_check(x->d, "clock", GAUTH_DOCTOR_CHECK_FAIL,
                  "this machine's clock is %lld s %s Google's (Date headers; "
                  "at most %d s allowed)",
                  (long long)llabs(x->skew),
                  x->skew > 0 ? "behind" : "ahead of", GAUTH__DOCTOR_SKEW_MAX);
  if (gauth__dx_cause(x->d, GAUTH_DOCTOR_CLOCK_SKEW,
                      "This machine's clock is %lld s %s Google's: tokens "
                      "signed or checked here fall outside Google's ~5 min "
                      "leeway (a JWT assertion is refused, a fresh token "
                      "looks expired or not yet valid).",
                      (long long)llabs(x->skew),
                      x->skew > 0 ? "behind" : "ahead of")) {
    gauth__dx_fix(x->d,
                  "sudo timedatectl set-ntp true  # or: sudo chronyc "
                  "makestep");
  }
}

/* ---- the failure no check explains ------------------------------------------
 */

static void check_evidence(gauth__dx *x) {
  if (!x->failed_evidence || gauth_diagnosis_cause_count(x->d) > 0) return;
  if (x->job != NULL && gauth_scheduler_job_status_code(x->job) == 5 &&
      x->target_exists != 1) {
    gauth__dx_target_not_found(x,
                               "The job's last attempt ended NOT_FOUND (404)");
    return;
  }
  gauth__dx_check(x->d, "evidence", GAUTH_DOCTOR_CHECK_UNKNOWN,
                  "a failed attempt was seen (%s%d) and no check shows why",
                  x->evidence_http ? "HTTP " : "status ",
                  x->evidence_http ? x->evidence_http
                                   : gauth_scheduler_job_status_code(x->job));
}

/* ---- the diagnosis
 * ---------------------------------------------------------------- */

/* The kind of a supplied token: a JWT without a scope claim is an ID
 * token; anything else an access token. */
static gauth_scheduler_token supplied_kind(const char *token) {
  gauth__jws jws;
  gauth_scheduler_token t = GAUTH_SCHEDULER_TOKEN_OAUTH;
  if (gauth__jws_parse(token, strlen(token), 0, 1, &jws, NULL) == GAUTH_OK) {
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(jws.payload, "scope")))
      t = GAUTH_SCHEDULER_TOKEN_OIDC;
    gauth__jws_cleanup(&jws);
  }
  return t;
}

static void dx_cleanup(gauth__dx *x) {
  size_t i;
  free(x->shown);
  free(x->host);
  free(x->token_email);
  free(x->job_project);
  free(x->job_location);
  free(x->job_id);
  free(x->project);
  free(x->location);
  free(x->run_job);
  free(x->run_service);
  for (i = 0; i < x->audience_count; i++) free(x->audiences[i]);
  free(x->audiences);
  gauth_free(x->caller_email);
  cJSON_Delete(x->roles);
  gauth__http_free(x->own);
}

static gauth_status dx_transport(gauth__dx *x, gauth_error *err) {
  gauth__config cfg;
  gauth_status st;
  x->h = gauth__credentials_http(x->caller);
  if (x->opts == NULL) return GAUTH_OK;
  st = gauth__config_init(&cfg, x->opts, err);
  if (st != GAUTH_OK) return st;
  st = gauth__http_new(&x->own, &cfg, err);
  gauth__config_cleanup(&cfg);
  if (st == GAUTH_OK) x->h = x->own;
  return st;
}

gauth_status gauth_doctor_diagnose(gauth_credentials *caller,
                                   const gauth_options *opts,
                                   const gauth_doctor_input *in,
                                   gauth_diagnosis **out, gauth_error *err) {
  gauth_doctor_input inp = GAUTH_DOCTOR_INPUT_INIT;
  gauth__dx x;
  gauth__dx_url_parts u;
  gauth_status st;

  gauth_error_clear(err);
  if (out != NULL) *out = NULL;
  if (caller == NULL || in == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_doctor_diagnose: %s is NULL",
                            caller == NULL ? "caller"
                            : in == NULL   ? "in"
                                           : "out");
  st = gauth__abi_read(&inp, sizeof inp, in, &gauth__abi_doctor_input, err);
  if (st != GAUTH_OK) return st;
  memset(&x, 0, sizeof x);
  x.caller = caller;
  x.opts = opts;
  x.in = &inp;
  x.job = inp.job;
  x.target_exists = -1;
  x.sa_state = -1;
  if (x.job != NULL) {
    if (gauth_scheduler_job_target(x.job) != GAUTH_SCHEDULER_TARGET_HTTP)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "gauth_doctor_diagnose: the job is not an HTTP "
                              "target (Pub/Sub and App Engine targets are not "
                              "diagnosed)");
    x.url = gauth_scheduler_job_uri(x.job);
    x.sends = gauth_scheduler_job_token(x.job);
    x.account = gauth_scheduler_job_service_account(x.job);
    x.audience = gauth_scheduler_job_audience(x.job);
    x.scope = gauth_scheduler_job_scope(x.job);
    x.scheduler_mints = *gauth_scheduler_job_name(x.job) != '\0';
  } else {
    if (inp.url == NULL)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "gauth_doctor_diagnose: give a job or a url");
    x.url = inp.url;
  }
  if (inp.token != NULL) {
    if (*inp.token == '\0')
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "gauth_doctor_diagnose: the token is empty");
    x.sends = supplied_kind(inp.token);
    x.account = NULL; /* the token's own email, when it says */
    x.audience = NULL;
    x.scope = NULL;
  }
  if (!gauth__dx_url_split(x.url, &u) ||
      (gauth__skip_prefix(u.origin, "http://") == NULL &&
       gauth__skip_prefix(u.origin, "https://") == NULL)) {
    gauth__dx_url_parts_free(&u);
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_doctor_diagnose: the url is not an http(s) "
                            "URL with a host");
  }
  x.shown = gauth__strf("%s%s", u.origin, u.path);
  gauth__dx_url_parts_free(&u);
  x.d = gauth__dx_new();
  if (x.shown == NULL || x.d == NULL) {
    gauth_diagnosis_free(x.d);
    free(x.shown);
    return gauth__error_nomem(err);
  }
  st = dx_transport(&x, err);
  if (st != GAUTH_OK) {
    gauth_diagnosis_free(x.d);
    dx_cleanup(&x);
    return st;
  }
  x.now = gauth__credentials_now(caller);
  if (x.job != NULL) job_name_parts(&x);
  if (inp.http_status != 0 &&
      (inp.http_status < 200 || inp.http_status > 299)) {
    x.failed_evidence = 1;
    x.evidence_http = inp.http_status;
  }

  check_job(&x);
  gauth__dx_check_target_kind(&x);
  gauth__dx_check_token_type(&x);
  if (inp.token != NULL) {
    gauth__dx_check_supplied_token(&x);
  } else if (x.sends == GAUTH_SCHEDULER_TOKEN_OIDC) {
    if (x.kind != GAUTH_SCHEDULER_URL_GOOGLE_API)
      gauth__dx_check_audience(&x, "audience", &x.audience, 1);
  } else if (x.sends == GAUTH_SCHEDULER_TOKEN_OAUTH) {
    gauth__dx_check_scopes(&x, "scope", x.scope);
  }
  gauth__dx_check_service_account(&x);
  gauth__dx_check_mint(&x);
  gauth__dx_check_target_exists(&x);
  gauth__dx_check_permission(&x);
  check_attempt(&x);
  check_clock(&x);
  check_evidence(&x);

  st = gauth__dx_finish(x.d, err);
  if (st == GAUTH_OK) {
    *out = x.d;
    x.d = NULL;
  }
  gauth_diagnosis_free(x.d);
  dx_cleanup(&x);
  return st;
}
