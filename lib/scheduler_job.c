/* Cloud Scheduler jobs: a v1 Job read from its JSON (the REST API's, or
 * gcloud's --format=json), Google's defaults applied and its limits checked;
 * and durations in Google's string form. See include/gauth/scheduler.h for
 * the rules and their sources. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "credentials_internal.h" /* gauth__rfc3339_parse */
#include "error_internal.h"
#include "json.h"
#include "scheduler_internal.h"
#include "secret.h"
#include "url.h" /* gauth__echo_setting */

struct gauth_scheduler_job {
  char *name;
  char *description;
  char *schedule;
  char *time_zone;
  gauth_scheduler_state state;
  gauth_scheduler_target target;
  /* HTTP targets. */
  char *uri;
  const char *method; /* static */
  size_t header_count;
  char **header_names;
  char **header_values;
  unsigned char *body; /* NUL one past body_len; wiped on free */
  size_t body_len;
  gauth_scheduler_token token;
  char *service_account;
  char *audience;
  char *scope;
  /* All targets. */
  int64_t attempt_deadline_ms;
  gauth_scheduler_retry_config retry;
  int status_code;
  char *status_message;
  int64_t last_attempt_time;
  int64_t schedule_time;
  int64_t user_update_time;
};

/* ---- durations ----------------------------------------------------------- */

gauth_status gauth__scheduler_duration_parse(const char *s, const char *what,
                                             gauth__scheduler_duration *out,
                                             gauth_error *err) {
  const char *p = s;
  int64_t sec = 0;
  int32_t ns = 0;
  int ndigits = 0, nfrac = 0, negative = 0, too_big = 0;
  if (out == NULL || s == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "%s is NULL",
                            out == NULL ? "out" : (what ? what : "duration"));
  out->seconds = 0;
  out->nanos = 0;
  if (what == NULL) what = "duration";
  if (*p == '-') {
    negative = 1;
    p++;
  }
  for (; *p >= '0' && *p <= '9'; p++, ndigits++) {
    if (sec > GAUTH__SCHEDULER_DURATION_MAX_SECONDS)
      too_big = 1;
    else
      sec = sec * 10 + (*p - '0');
  }
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9'; p++, nfrac++)
      if (nfrac < 9) ns = ns * 10 + (*p - '0');
    if (nfrac == 0 || nfrac > 9) ndigits = 0; /* "1.s", ten digits */
    for (; nfrac < 9; nfrac++) ns *= 10;
  }
  if (ndigits == 0 || p[0] != 's' || p[1] != '\0')
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s \"%s\" is not a duration: expected seconds "
                            "with up to 9 fractional digits and \"s\", such "
                            "as \"3.5s\"",
                            what, gauth__echo_setting(s));
  if (negative)
    return gauth__error_set(err, GAUTH_E_MALFORMED, "%s \"%s\" is negative",
                            what, gauth__echo_setting(s));
  if (too_big || sec > GAUTH__SCHEDULER_DURATION_MAX_SECONDS ||
      (sec == GAUTH__SCHEDULER_DURATION_MAX_SECONDS && ns > 0))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s is out of range: at most %llds", what,
                            (long long)GAUTH__SCHEDULER_DURATION_MAX_SECONDS);
  out->seconds = sec;
  out->nanos = ns;
  return GAUTH_OK;
}

int64_t gauth__scheduler_duration_ms(gauth__scheduler_duration d) {
  return d.seconds * 1000 + d.nanos / 1000000;
}

int gauth__scheduler_duration_cmp_ms(gauth__scheduler_duration d, int64_t ms) {
  int64_t s = ms / 1000;
  int32_t ns = (int32_t)(ms % 1000) * 1000000;
  if (d.seconds != s) return d.seconds < s ? -1 : 1;
  if (d.nanos != ns) return d.nanos < ns ? -1 : 1;
  return 0;
}

gauth_status gauth_scheduler_duration_parse(const char *s, int64_t *ms_out,
                                            gauth_error *err) {
  gauth__scheduler_duration d;
  gauth_status st;
  if (ms_out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_duration_parse: ms_out is NULL");
  *ms_out = 0;
  st = gauth__scheduler_duration_parse(s, NULL, &d, err);
  if (st != GAUTH_OK) return st;
  *ms_out = gauth__scheduler_duration_ms(d);
  gauth_error_clear(err);
  return GAUTH_OK;
}

/* ---- names --------------------------------------------------------------- */

/* Job.State and HttpMethod by their proto numbers. */
static const char *const state_names[] = {
    "STATE_UNSPECIFIED", "ENABLED", "PAUSED", "DISABLED", "UPDATE_FAILED"};
static const char *const method_names[] = {"HTTP_METHOD_UNSPECIFIED",
                                           "POST",
                                           "GET",
                                           "HEAD",
                                           "PUT",
                                           "DELETE",
                                           "PATCH",
                                           "OPTIONS"};

/* No default case: the compiler flags a state without a name. */
const char *gauth_scheduler_state_name(gauth_scheduler_state state) {
  switch (state) {
    case GAUTH_SCHEDULER_STATE_UNSPECIFIED:
    case GAUTH_SCHEDULER_STATE_ENABLED:
    case GAUTH_SCHEDULER_STATE_PAUSED:
    case GAUTH_SCHEDULER_STATE_DISABLED:
    case GAUTH_SCHEDULER_STATE_UPDATE_FAILED: return state_names[state];
  }
  return "unknown";
}

const char *gauth_scheduler_token_name(gauth_scheduler_token token) {
  switch (token) {
    case GAUTH_SCHEDULER_TOKEN_NONE: return "none";
    case GAUTH_SCHEDULER_TOKEN_OIDC: return "oidc";
    case GAUTH_SCHEDULER_TOKEN_OAUTH: return "oauth";
  }
  return "unknown";
}

/* ---- typed members, named by their path in messages ---------------------- */

/* obj[name] when it is present and not null, else NULL. */
static const cJSON *member(const cJSON *obj, const char *name) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  return (item == NULL || cJSON_IsNull(item)) ? NULL : item;
}

/* An optional string member: *out borrowed from the tree, NULL if absent. */
static gauth_status opt_string(const cJSON *obj, const char *name,
                               const char *path, const char **out,
                               gauth_error *err) {
  gauth_status st = gauth__json_opt_string(obj, name, out, err);
  if (st != GAUTH_OK) gauth__error_prefix(err, "%s", path);
  return st;
}

/* A copy of an optional string member; NULL when absent (or "" and mode
 * GAUTH__JSON_OPTIONAL). */
static gauth_status copy_string(const cJSON *obj, const char *name, int mode,
                                const char *path, char **out,
                                gauth_error *err) {
  gauth_status st = gauth__json_copy_string(obj, name, mode, out, err);
  if (st != GAUTH_OK && st != GAUTH_E_NOMEM)
    gauth__error_prefix(err, "%s", path);
  return st;
}

/* An optional object member; *out NULL when absent. */
static gauth_status opt_object(const cJSON *obj, const char *name,
                               const char *path, const cJSON **out,
                               gauth_error *err) {
  gauth_status st;
  *out = NULL;
  if (member(obj, name) == NULL) return GAUTH_OK;
  st = gauth__json_get_object(obj, name, out, err);
  if (st != GAUTH_OK) gauth__error_prefix(err, "%s", path);
  return st;
}

/* Digits with an optional leading '-', as proto3 JSON writes 64-bit
 * integers. Returns 1 and *out, or 0 (not that form, or beyond 12 digits:
 * out of any int32 range anyway). */
static int decimal_string(const char *s, int64_t *out) {
  int64_t v = 0;
  int neg = 0, n = 0;
  if (*s == '-') {
    neg = 1;
    s++;
  }
  for (; *s >= '0' && *s <= '9'; s++)
    if (++n <= 12) v = v * 10 + (*s - '0');
  if (n == 0 || *s != '\0') return 0;
  *out = n > 12 ? INT64_MAX : (neg ? -v : v);
  return 1;
}

/* A proto3 int32 member: a JSON number or a decimal string. */
static gauth_status opt_int32(const cJSON *obj, const char *name,
                              const char *path, int *out, int *present,
                              gauth_error *err) {
  const cJSON *item = member(obj, name);
  int64_t v = 0;
  *out = 0;
  *present = 0;
  if (item == NULL) return GAUTH_OK;
  if (cJSON_IsString(item)) {
    if (!decimal_string(item->valuestring, &v))
      return gauth__error_set(err, GAUTH_E_MALFORMED,
                              "%s.%s is a string that is not an integer", path,
                              name);
  } else if (cJSON_IsNumber(item)) {
    gauth_status st = gauth__json_opt_int64(obj, name, &v, present, err);
    if (st != GAUTH_OK) {
      gauth__error_prefix(err, "%s", path);
      return st;
    }
  } else {
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s.%s is %s, expected an integer (a number or "
                            "a decimal string)",
                            path, name, gauth__json_type_name(item));
  }
  if (v < INT_MIN || v > INT_MAX)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s.%s is out of range (32-bit integers only)",
                            path, name);
  *out = (int)v;
  *present = 1;
  return GAUTH_OK;
}

/* A proto3 enum member: one of names[] (its index), or its number. */
static gauth_status opt_enum(const cJSON *obj, const char *name,
                             const char *path, const char *const *names,
                             int count, int *out, gauth_error *err) {
  const cJSON *item = member(obj, name);
  int present = 0, i;
  gauth_status st;
  *out = 0;
  if (item == NULL) return GAUTH_OK;
  if (!cJSON_IsString(item) && !cJSON_IsNumber(item))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s.%s is %s, expected a string", path, name,
                            gauth__json_type_name(item));
  if (cJSON_IsString(item)) {
    for (i = 0; i < count; i++) {
      if (strcmp(item->valuestring, names[i]) == 0) {
        *out = i;
        return GAUTH_OK;
      }
    }
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s.%s \"%s\" is not one of Google's values (%s, "
                            "%s, ...)",
                            path, name, gauth__echo_setting(item->valuestring),
                            names[1], names[2]);
  }
  st = opt_int32(obj, name, path, out, &present, err);
  if (st != GAUTH_OK) return st;
  if (*out < 0 || *out >= count)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s.%s is %d: not one of Google's values", path,
                            name, *out);
  return GAUTH_OK;
}

/* An optional duration member; *text (borrowed) is NULL when absent. */
static gauth_status opt_duration(const cJSON *obj, const char *name,
                                 const char *path,
                                 gauth__scheduler_duration *out,
                                 const char **text, gauth_error *err) {
  char what[96];
  gauth_status st = opt_string(obj, name, path, text, err);
  out->seconds = 0;
  out->nanos = 0;
  if (st != GAUTH_OK || *text == NULL) return st;
  snprintf(what, sizeof(what), "%s.%s", path, name);
  st = gauth__scheduler_duration_parse(*text, what, out, err);
  if (st != GAUTH_OK) *text = NULL;
  return st;
}

/* An optional RFC 3339 time member, in seconds; 0 when absent. */
static gauth_status opt_time(const cJSON *obj, const char *name,
                             const char *path, int64_t *out, gauth_error *err) {
  const char *s = NULL;
  gauth_status st = opt_string(obj, name, path, &s, err);
  *out = 0;
  if (st != GAUTH_OK || s == NULL) return st;
  st = gauth__rfc3339_parse(s, out, err);
  if (st != GAUTH_OK) gauth__error_prefix(err, "%s.%s", path, name);
  return st;
}

/* ---- the HTTP target ----------------------------------------------------- */

/* RFC 9110 token characters, which header names are made of. */
static int is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* 1 when a header value holds a byte no header line may hold: CR, LF or
 * another control character (tab excepted). */
static int bad_header_value(const char *v) {
  for (; *v; v++) {
    unsigned char c = (unsigned char)*v;
    if ((c < 0x20 && c != '\t') || c == 0x7f) return 1;
  }
  return 0;
}

static gauth_status check_header(const cJSON *item, gauth_error *err) {
  const char *name = item->string ? item->string : "";
  const char *p;
  if (name[0] == '\0')
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.httpTarget.headers has a header with an "
                            "empty name");
  for (p = name; *p; p++)
    if (!is_tchar((unsigned char)*p))
      return gauth__error_set(err, GAUTH_E_MALFORMED,
                              "job.httpTarget.headers: \"%s\" is not a header "
                              "name (letters, digits and !#$%%&'*+-.^_`|~)",
                              gauth__echo_setting(name));
  if (!cJSON_IsString(item))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.httpTarget.headers.%s is %s, expected a "
                            "string",
                            gauth__echo_setting(name),
                            gauth__json_type_name(item));
  if (bad_header_value(item->valuestring))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.httpTarget.headers.%s holds a line break or "
                            "another control character",
                            gauth__echo_setting(name));
  return GAUTH_OK;
}

static gauth_status read_headers(gauth_scheduler_job *job, const cJSON *target,
                                 gauth_error *err) {
  const cJSON *headers, *item;
  size_t n = 0;
  gauth_status st =
      opt_object(target, "headers", "job.httpTarget", &headers, err);
  if (st != GAUTH_OK || headers == NULL) return st;
  cJSON_ArrayForEach(item, headers) {
    if ((st = check_header(item, err)) != GAUTH_OK) return st;
    n++;
  }
  if (n == 0) return GAUTH_OK;
  job->header_names = calloc(n, sizeof(char *));
  job->header_values = calloc(n, sizeof(char *));
  if (job->header_names == NULL || job->header_values == NULL)
    return gauth__error_nomem(err);
  cJSON_ArrayForEach(item, headers) {
    size_t i = job->header_count;
    job->header_names[i] = gauth__strdup(item->string);
    job->header_values[i] = gauth__strdup(item->valuestring);
    job->header_count++; /* freed with the job, even half-copied */
    if (job->header_names[i] == NULL || job->header_values[i] == NULL)
      return gauth__error_nomem(err);
  }
  return GAUTH_OK;
}

/* proto3 JSON bytes: standard base64 as Google writes it, or the URL-safe
 * alphabet, padded or not, as proto3 parsers accept. */
static gauth_status read_body(gauth_scheduler_job *job, const cJSON *target,
                              gauth_error *err) {
  const char *b64 = NULL;
  size_t n;
  gauth_status st = opt_string(target, "body", "job.httpTarget", &b64, err);
  if (st != GAUTH_OK || b64 == NULL || b64[0] == '\0') return st;
  n = strlen(b64);
  st = gauth__b64_decode(b64, n, &job->body, &job->body_len, NULL);
  if (st == GAUTH_E_MALFORMED) {
    while (n > 0 && b64[n - 1] == '=') n--;
    st = gauth__b64url_decode(b64, n, &job->body, &job->body_len, NULL);
  }
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set(err,
                            st == GAUTH_E_TOO_LARGE ? st : GAUTH_E_MALFORMED,
                            "job.httpTarget.body is not base64");
  if (job->body_len == 0) { /* "==": no bytes, as absent */
    gauth__secret_free(job->body, 1);
    job->body = NULL;
    return GAUTH_OK;
  }
  /* "A request body is allowed only if the HTTP method is POST, PUT, or
   * PATCH." */
  if (strcmp(job->method, "POST") != 0 && strcmp(job->method, "PUT") != 0 &&
      strcmp(job->method, "PATCH") != 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.httpTarget.body is set, but httpMethod is "
                            "%s: a body goes only with POST, PUT or PATCH",
                            job->method);
  return GAUTH_OK;
}

/* oidcToken or oauthToken, with their defaults: audience = the uri, scope =
 * cloud-platform. */
static gauth_status read_token(gauth_scheduler_job *job, const cJSON *target,
                               gauth_error *err) {
  const cJSON *oidc, *oauth;
  gauth_status st;
  if ((st = opt_object(target, "oidcToken", "job.httpTarget", &oidc, err)) !=
          GAUTH_OK ||
      (st = opt_object(target, "oauthToken", "job.httpTarget", &oauth, err)) !=
          GAUTH_OK)
    return st;
  if (oidc != NULL && oauth != NULL)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.httpTarget has both oidcToken and "
                            "oauthToken: at most one");
  if (oidc != NULL) {
    job->token = GAUTH_SCHEDULER_TOKEN_OIDC;
    st = copy_string(oidc, "serviceAccountEmail", GAUTH__JSON_REQUIRED,
                     "job.httpTarget.oidcToken", &job->service_account, err);
    if (st == GAUTH_OK)
      st = copy_string(oidc, "audience", GAUTH__JSON_OPTIONAL,
                       "job.httpTarget.oidcToken", &job->audience, err);
    if (st == GAUTH_OK && job->audience == NULL)
      st = gauth__strdup_out(job->uri, &job->audience, err);
  } else if (oauth != NULL) {
    job->token = GAUTH_SCHEDULER_TOKEN_OAUTH;
    st = copy_string(oauth, "serviceAccountEmail", GAUTH__JSON_REQUIRED,
                     "job.httpTarget.oauthToken", &job->service_account, err);
    if (st == GAUTH_OK)
      st = copy_string(oauth, "scope", GAUTH__JSON_OPTIONAL,
                       "job.httpTarget.oauthToken", &job->scope, err);
    if (st == GAUTH_OK && job->scope == NULL)
      st = gauth__strdup_out(GAUTH_SCHEDULER_DEFAULT_SCOPE, &job->scope, err);
  }
  return st;
}

static gauth_status read_http_target(gauth_scheduler_job *job,
                                     const cJSON *target, gauth_error *err) {
  int method = 0;
  gauth_status st = copy_string(target, "uri", GAUTH__JSON_REQUIRED,
                                "job.httpTarget", &job->uri, err);
  if (st != GAUTH_OK) return st;
  if (strlen(job->uri) > GAUTH__SCHEDULER_URI_MAX_BYTES)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.httpTarget.uri is %zu bytes long: at most "
                            "%u",
                            strlen(job->uri), GAUTH__SCHEDULER_URI_MAX_BYTES);
  /* "This string must begin with either "http://" or "https://"": libcurl
   * alone would take "https:/host". */
  if (strncasecmp(job->uri, "http://", 7) != 0 &&
      strncasecmp(job->uri, "https://", 8) != 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.httpTarget.uri does not begin with http:// "
                            "or https://");
  st = gauth__scheduler_uri_check(job->uri, "job.httpTarget.uri", err);
  if (st != GAUTH_OK) return st;
  st = opt_enum(target, "httpMethod", "job.httpTarget", method_names,
                (int)GAUTH__ARRAY_LEN(method_names), &method, err);
  if (st != GAUTH_OK) return st;
  job->method =
      method == 0 ? GAUTH_SCHEDULER_DEFAULT_HTTP_METHOD : method_names[method];
  if ((st = read_headers(job, target, err)) != GAUTH_OK ||
      (st = read_body(job, target, err)) != GAUTH_OK)
    return st;
  return read_token(job, target, err);
}

/* ---- the rest of the job ------------------------------------------------- */

/* Exactly one of Job's `target` oneof. */
static gauth_status read_target(gauth_scheduler_job *job, const cJSON *root,
                                gauth_error *err) {
  static const char *const names[] = {"httpTarget", "pubsubTarget",
                                      "appEngineHttpTarget"};
  const cJSON *t[3];
  size_t i, found = 0;
  gauth_status st;
  for (i = 0; i < 3; i++) {
    if ((st = opt_object(root, names[i], "job", &t[i], err)) != GAUTH_OK)
      return st;
    if (t[i] != NULL) found++;
  }
  if (found == 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job has no target: expected httpTarget, "
                            "pubsubTarget or appEngineHttpTarget");
  if (found > 1)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job has %zu targets (httpTarget, pubsubTarget, "
                            "appEngineHttpTarget): exactly one is allowed",
                            found);
  if (t[1] != NULL) job->target = GAUTH_SCHEDULER_TARGET_PUBSUB;
  if (t[2] != NULL) job->target = GAUTH_SCHEDULER_TARGET_APP_ENGINE;
  if (t[0] == NULL) return GAUTH_OK;
  job->target = GAUTH_SCHEDULER_TARGET_HTTP;
  return read_http_target(job, t[0], err);
}

/* attemptDeadline: its default and range depend on the target. */
static gauth_status read_deadline(gauth_scheduler_job *job, const cJSON *root,
                                  gauth_error *err) {
  gauth__scheduler_duration d;
  const char *text = NULL;
  int present;
  gauth_status st =
      opt_duration(root, "attemptDeadline", "job", &d, &text, err);
  if (st != GAUTH_OK) return st;
  present = text != NULL;
  job->attempt_deadline_ms = gauth__scheduler_duration_ms(d);
  switch (job->target) {
    case GAUTH_SCHEDULER_TARGET_HTTP:
      if (!present) {
        job->attempt_deadline_ms = GAUTH_SCHEDULER_DEFAULT_ATTEMPT_DEADLINE_MS;
      } else if (gauth__scheduler_duration_cmp_ms(
                     d, GAUTH_SCHEDULER_MIN_ATTEMPT_DEADLINE_MS) < 0 ||
                 gauth__scheduler_duration_cmp_ms(
                     d, GAUTH_SCHEDULER_MAX_ATTEMPT_DEADLINE_MS) > 0) {
        return gauth__error_set(err, GAUTH_E_MALFORMED,
                                "job.attemptDeadline is %s: an HTTP target's "
                                "must be from 15s to 1800s (30 minutes)",
                                text);
      }
      break;
    case GAUTH_SCHEDULER_TARGET_APP_ENGINE:
      if (present && (d.seconds != 0 || d.nanos != 0) &&
          (gauth__scheduler_duration_cmp_ms(
               d, GAUTH_SCHEDULER_MIN_ATTEMPT_DEADLINE_MS) < 0 ||
           gauth__scheduler_duration_cmp_ms(
               d, GAUTH__SCHEDULER_APP_ENGINE_MAX_DEADLINE_MS) > 0))
        return gauth__error_set(err, GAUTH_E_MALFORMED,
                                "job.attemptDeadline is %s: an App Engine "
                                "target's must be 0 or from 15s to 86415s "
                                "(24 hours 15 seconds)",
                                text);
      break;
    case GAUTH_SCHEDULER_TARGET_PUBSUB: break; /* Google ignores it */
  }
  return GAUTH_OK;
}

/* One backoff bound: *d its exact value, *ms in ms, the default when
 * absent; *text the value as written, or "...s (the default)". */
static gauth_status read_backoff(const cJSON *rc, const char *name,
                                 int64_t dflt, const char *dflt_text,
                                 gauth__scheduler_duration *d, int64_t *ms,
                                 const char **text, gauth_error *err) {
  gauth_status st = opt_duration(rc, name, "job.retryConfig", d, text, err);
  if (st != GAUTH_OK) return st;
  if (*text == NULL) {
    d->seconds = dflt / 1000;
    d->nanos = (int32_t)(dflt % 1000) * 1000000;
    *text = dflt_text;
  }
  *ms = gauth__scheduler_duration_ms(*d);
  return GAUTH_OK;
}

static gauth_status read_retry(gauth_scheduler_job *job, const cJSON *root,
                               gauth_error *err) {
  static const char *const path = "job.retryConfig";
  gauth_scheduler_retry_config *r = &job->retry;
  gauth__scheduler_duration dmin, dmax, dmrd;
  const char *tmin, *tmax, *tmrd;
  const cJSON *rc;
  int present;
  gauth_status st = opt_object(root, "retryConfig", "job", &rc, err);
  r->retry_count = GAUTH_SCHEDULER_DEFAULT_RETRY_COUNT;
  r->max_retry_duration_ms = GAUTH_SCHEDULER_DEFAULT_MAX_RETRY_DURATION_MS;
  r->min_backoff_ms = GAUTH_SCHEDULER_DEFAULT_MIN_BACKOFF_MS;
  r->max_backoff_ms = GAUTH_SCHEDULER_DEFAULT_MAX_BACKOFF_MS;
  r->max_doublings = GAUTH_SCHEDULER_DEFAULT_MAX_DOUBLINGS;
  if (st != GAUTH_OK || rc == NULL) return st;
  if ((st = opt_int32(rc, "retryCount", path, &r->retry_count, &present,
                      err)) != GAUTH_OK)
    return st;
  if (r->retry_count < 0 || r->retry_count > GAUTH_SCHEDULER_MAX_RETRY_COUNT)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.retryConfig.retryCount is %d: %s",
                            r->retry_count,
                            r->retry_count < 0 ? "negative values are not "
                                                 "allowed"
                                               : "at most 5");
  if ((st = opt_int32(rc, "maxDoublings", path, &r->max_doublings, &present,
                      err)) != GAUTH_OK)
    return st;
  if (!present) r->max_doublings = GAUTH_SCHEDULER_DEFAULT_MAX_DOUBLINGS;
  if (r->max_doublings < 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.retryConfig.maxDoublings is %d: negative "
                            "values are not allowed",
                            r->max_doublings);
  if ((st = opt_duration(rc, "maxRetryDuration", path, &dmrd, &tmrd, err)) !=
      GAUTH_OK)
    return st;
  r->max_retry_duration_ms = gauth__scheduler_duration_ms(dmrd);
  if ((st = read_backoff(
           rc, "minBackoffDuration", GAUTH_SCHEDULER_DEFAULT_MIN_BACKOFF_MS,
           "5s (the default)", &dmin, &r->min_backoff_ms, &tmin, err)) !=
          GAUTH_OK ||
      (st = read_backoff(
           rc, "maxBackoffDuration", GAUTH_SCHEDULER_DEFAULT_MAX_BACKOFF_MS,
           "3600s (the default)", &dmax, &r->max_backoff_ms, &tmax, err)) !=
          GAUTH_OK)
    return st;
  if (dmin.seconds > dmax.seconds ||
      (dmin.seconds == dmax.seconds && dmin.nanos > dmax.nanos))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.retryConfig.minBackoffDuration is %s, above "
                            "maxBackoffDuration %s",
                            tmin, tmax);
  return GAUTH_OK;
}

static gauth_status read_status(gauth_scheduler_job *job, const cJSON *root,
                                gauth_error *err) {
  const cJSON *status;
  int present;
  gauth_status st = opt_object(root, "status", "job", &status, err);
  if (st != GAUTH_OK || status == NULL) return st;
  st =
      opt_int32(status, "code", "job.status", &job->status_code, &present, err);
  if (st != GAUTH_OK) return st;
  return copy_string(status, "message", GAUTH__JSON_OPTIONAL, "job.status",
                     &job->status_message, err);
}

static gauth_status read_strings(gauth_scheduler_job *job, const cJSON *root,
                                 gauth_error *err) {
  gauth_status st;
  int state = 0;
  if ((st = copy_string(root, "name", GAUTH__JSON_OPTIONAL, "job", &job->name,
                        err)) != GAUTH_OK ||
      (st = copy_string(root, "description", GAUTH__JSON_OPTIONAL, "job",
                        &job->description, err)) != GAUTH_OK ||
      (st = copy_string(root, "schedule", GAUTH__JSON_OPTIONAL, "job",
                        &job->schedule, err)) != GAUTH_OK ||
      (st = copy_string(root, "timeZone", GAUTH__JSON_OPTIONAL, "job",
                        &job->time_zone, err)) != GAUTH_OK)
    return st;
  /* The job id goes into the X-CloudScheduler-JobName request header. */
  if (job->name != NULL && bad_header_value(job->name))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "job.name holds a line break or another control "
                            "character");
  st = opt_enum(root, "state", "job", state_names,
                (int)GAUTH__ARRAY_LEN(state_names), &state, err);
  job->state = (gauth_scheduler_state)state;
  return st;
}

static gauth_status read_job(gauth_scheduler_job *job, const cJSON *root,
                             gauth_error *err) {
  gauth_status st;
  if ((st = read_strings(job, root, err)) != GAUTH_OK ||
      (st = read_target(job, root, err)) != GAUTH_OK ||
      (st = read_deadline(job, root, err)) != GAUTH_OK ||
      (st = read_retry(job, root, err)) != GAUTH_OK ||
      (st = read_status(job, root, err)) != GAUTH_OK)
    return st;
  if ((st = opt_time(root, "lastAttemptTime", "job", &job->last_attempt_time,
                     err)) != GAUTH_OK ||
      (st = opt_time(root, "scheduleTime", "job", &job->schedule_time, err)) !=
          GAUTH_OK ||
      (st = opt_time(root, "userUpdateTime", "job", &job->user_update_time,
                     err)) != GAUTH_OK)
    return st;
  return GAUTH_OK;
}

gauth_status gauth_scheduler_job_from_json(gauth_scheduler_job **out,
                                           const char *json, size_t len,
                                           gauth_error *err) {
  const gauth__json_limits limits = {GAUTH__SCHEDULER_JOB_MAX_BYTES,
                                     GAUTH__SCHEDULER_JOB_MAX_DEPTH};
  gauth_scheduler_job *job;
  cJSON *root = NULL;
  gauth_status st;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_job_from_json: out is NULL");
  *out = NULL;
  if (json == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_job_from_json: json is NULL");
  st = gauth__json_parse_object(json, len, &limits, &root, err);
  if (st != GAUTH_OK) {
    if (st != GAUTH_E_NOMEM) gauth__error_prefix(err, "job");
    return st;
  }
  job = calloc(1, sizeof(*job));
  if (job == NULL) {
    gauth__secret_json_delete(root);
    return gauth__error_nomem(err);
  }
  st = read_job(job, root, err);
  gauth__secret_json_delete(root);
  if (st != GAUTH_OK) {
    gauth_scheduler_job_free(job);
    return st;
  }
  *out = job;
  gauth_error_clear(err);
  return GAUTH_OK;
}

void gauth_scheduler_job_free(gauth_scheduler_job *job) {
  size_t i;
  if (job == NULL) return;
  free(job->name);
  free(job->description);
  free(job->schedule);
  free(job->time_zone);
  gauth__secret_strfree(job->uri); /* its query may hold a key */
  for (i = 0; i < job->header_count; i++) {
    gauth__secret_strfree(job->header_names[i]);
    gauth__secret_strfree(job->header_values[i]);
  }
  free(job->header_names);
  free(job->header_values);
  if (job->body != NULL) gauth__secret_free(job->body, job->body_len + 1);
  free(job->service_account);
  gauth__secret_strfree(job->audience);
  free(job->scope);
  free(job->status_message);
  free(job);
}

/* ---- getters ------------------------------------------------------------- */

static const char *or_empty(const char *s) { return s != NULL ? s : ""; }

const char *gauth_scheduler_job_name(const gauth_scheduler_job *job) {
  return job ? or_empty(job->name) : "";
}

const char *gauth_scheduler_job_description(const gauth_scheduler_job *job) {
  return job ? or_empty(job->description) : "";
}

const char *gauth_scheduler_job_schedule(const gauth_scheduler_job *job) {
  return job ? or_empty(job->schedule) : "";
}

const char *gauth_scheduler_job_time_zone(const gauth_scheduler_job *job) {
  return job ? or_empty(job->time_zone) : "";
}

gauth_scheduler_state gauth_scheduler_job_state(
    const gauth_scheduler_job *job) {
  return job ? job->state : GAUTH_SCHEDULER_STATE_UNSPECIFIED;
}

gauth_scheduler_target gauth_scheduler_job_target(
    const gauth_scheduler_job *job) {
  return job ? job->target : GAUTH_SCHEDULER_TARGET_HTTP;
}

const char *gauth_scheduler_job_uri(const gauth_scheduler_job *job) {
  return job ? job->uri : NULL;
}

const char *gauth_scheduler_job_http_method(const gauth_scheduler_job *job) {
  return job ? job->method : NULL;
}

size_t gauth_scheduler_job_header_count(const gauth_scheduler_job *job) {
  return job ? job->header_count : 0;
}

const char *gauth_scheduler_job_header_name(const gauth_scheduler_job *job,
                                            size_t i) {
  return (job && i < job->header_count) ? job->header_names[i] : NULL;
}

const char *gauth_scheduler_job_header_value(const gauth_scheduler_job *job,
                                             size_t i) {
  return (job && i < job->header_count) ? job->header_values[i] : NULL;
}

const unsigned char *gauth_scheduler_job_body(const gauth_scheduler_job *job,
                                              size_t *len) {
  if (len != NULL) *len = job ? job->body_len : 0;
  return job ? job->body : NULL;
}

gauth_scheduler_token gauth_scheduler_job_token(
    const gauth_scheduler_job *job) {
  return job ? job->token : GAUTH_SCHEDULER_TOKEN_NONE;
}

const char *gauth_scheduler_job_service_account(
    const gauth_scheduler_job *job) {
  return job ? job->service_account : NULL;
}

const char *gauth_scheduler_job_audience(const gauth_scheduler_job *job) {
  return job ? job->audience : NULL;
}

const char *gauth_scheduler_job_scope(const gauth_scheduler_job *job) {
  return job ? job->scope : NULL;
}

int64_t gauth_scheduler_job_attempt_deadline_ms(
    const gauth_scheduler_job *job) {
  return job ? job->attempt_deadline_ms : 0;
}

const gauth_scheduler_retry_config *gauth_scheduler_job_retry_config(
    const gauth_scheduler_job *job) {
  return job ? &job->retry : NULL;
}

int gauth_scheduler_job_status_code(const gauth_scheduler_job *job) {
  return job ? job->status_code : 0;
}

const char *gauth_scheduler_job_status_message(const gauth_scheduler_job *job) {
  return job ? or_empty(job->status_message) : "";
}

int64_t gauth_scheduler_job_last_attempt_time(const gauth_scheduler_job *job) {
  return job ? job->last_attempt_time : 0;
}

int64_t gauth_scheduler_job_schedule_time(const gauth_scheduler_job *job) {
  return job ? job->schedule_time : 0;
}

int64_t gauth_scheduler_job_user_update_time(const gauth_scheduler_job *job) {
  return job ? job->user_update_time : 0;
}
