/* gauth CLI: the Job behind `gauth invoke` and `gauth doctor`. A job comes
 * from the Cloud Scheduler API (--job=projects/...), a Job JSON file
 * (--job=FILE) or flags (URL --oidc ...); every source becomes Job JSON,
 * the timing flags applied, and is read by gauth_scheduler_job_from_json,
 * so that one parser validates them all. Public libgauth API only. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include <gauth/gauth.h>

#include "cli.h"

/* ---- the command line ---------------------------------------------------- */

/* --oidc and --oauth, whose value is optional ("--oidc" or "--oidc=AUD").
 * Returns 1 when consumed. */
static int token_flag(const char *s, cli_job_args *a) {
  if (strcmp(s, "--oidc") == 0 || strncmp(s, "--oidc=", 7) == 0) {
    a->oidc = 1;
    if (s[6] == '=') a->audience = s + 7;
    return 1;
  }
  if (strcmp(s, "--oauth") == 0 || strncmp(s, "--oauth=", 8) == 0) {
    a->oauth = 1;
    if (s[7] == '=') a->scopes = s + 8;
    return 1;
  }
  return 0;
}

/* The options that take a value. Returns 1 consumed, 0 not one of them,
 * -1 after a usage message. */
static int value_flag(int argc, char **argv, int *i, cli_job_args *a,
                      const char *cmd) {
  static const struct {
    const char *name;
    size_t off;
  } flags[] = {
      {"--job", offsetof(cli_job_args, job)},
      {"--service-account", offsetof(cli_job_args, service_account)},
      {"--method", offsetof(cli_job_args, method)},
      {"--data", offsetof(cli_job_args, data)},
      {"--data-file", offsetof(cli_job_args, data_file)},
      {"--attempt-deadline", offsetof(cli_job_args, attempt_deadline)},
      {"--retry-count", offsetof(cli_job_args, retry_count)},
      {"--min-backoff", offsetof(cli_job_args, min_backoff)},
      {"--max-backoff", offsetof(cli_job_args, max_backoff)},
      {"--max-doublings", offsetof(cli_job_args, max_doublings)},
      {"--max-retry-duration", offsetof(cli_job_args, max_retry_duration)}};
  const char *v = NULL;
  size_t k;
  int r;
  for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
    r = cli_option(argc, argv, i, cmd, flags[k].name, &v);
    if (r == 0) continue;
    if (r < 0) return -1;
    *(const char **)((char *)a + flags[k].off) = v;
    return 1;
  }
  r = cli_option(argc, argv, i, cmd, "--header", &v);
  if (r <= 0) return r;
  if (a->nheaders == CLI_JOB_MAX_HEADERS) {
    cli_usage_error(cmd, "more than %d --header options", CLI_JOB_MAX_HEADERS);
    return -1;
  }
  a->headers[a->nheaders++] = v;
  return 1;
}

int cli_job_option(int argc, char **argv, int *i, const char *cmd,
                   cli_job_args *a) {
  int r;
  if (token_flag(argv[*i], a)) return 1;
  r = value_flag(argc, argv, i, a, cmd);
  if (r == 0) r = cli_creds_option(argc, argv, i, cmd, &a->creds);
  return r;
}

int cli_job_check(const cli_job_args *a, const char *cmd) {
  if ((a->job == NULL) == (a->url == NULL))
    return cli_usage_error(cmd, "give either --job=NAME|FILE or a URL");
  if (a->oidc && a->oauth)
    return cli_usage_error(cmd, "--oidc and --oauth exclude each other");
  if (a->data != NULL && a->data_file != NULL)
    return cli_usage_error(cmd, "--data and --data-file exclude each other");
  if (a->job != NULL && (a->oidc || a->oauth || a->service_account ||
                         a->method || a->nheaders || a->data || a->data_file))
    return cli_usage_error(cmd,
                           "--oidc, --oauth, --service-account, --method, "
                           "--header and --data describe an ad hoc job: "
                           "not with --job");
  return CLI_OK;
}

/* ---- the job, as Job JSON ------------------------------------------------ */

/* Standard base64 (proto3 JSON's bytes) of len bytes, or NULL. */
static char *base64(const unsigned char *p, size_t len) {
  size_t cap = 4 * ((len + 2) / 3) + 1;
  char *out;
  if (len > (size_t)0x3fffffff) return NULL;
  out = malloc(cap);
  if (out != NULL) EVP_EncodeBlock((unsigned char *)out, p, (int)len);
  return out;
}

static int add_body(cJSON *target, const unsigned char *body, size_t len) {
  char *b64 = base64(body, len);
  int ok = b64 != NULL && cJSON_AddStringToObject(target, "body", b64) != NULL;
  free(b64);
  return ok;
}

/* The members of an ad hoc job's httpTarget. Returns CLI_OK, or the exit
 * status after a message. */
static int adhoc_target(const cli_job_args *a, const char *cmd,
                        const char *caller_email, cJSON *t) {
  cJSON *h = NULL;
  size_t i;
  cJSON_AddStringToObject(t, "uri", a->url);
  if (a->method != NULL) cJSON_AddStringToObject(t, "httpMethod", a->method);
  for (i = 0; i < a->nheaders; i++) {
    const char *colon = strchr(a->headers[i], ':');
    char name[256];
    const char *value;
    if (colon == NULL || colon == a->headers[i] ||
        (size_t)(colon - a->headers[i]) >= sizeof name)
      return cli_usage_error(cmd, "--header needs NAME:VALUE");
    snprintf(name, sizeof name, "%.*s", (int)(colon - a->headers[i]),
             a->headers[i]);
    value = colon + 1;
    while (*value == ' ') value++;
    if (h == NULL) h = cJSON_AddObjectToObject(t, "headers");
    cJSON_DeleteItemFromObjectCaseSensitive(h, name);
    cJSON_AddStringToObject(h, name, value);
  }
  if (a->data != NULL &&
      !add_body(t, (const unsigned char *)a->data, strlen(a->data)))
    return CLI_FAIL;
  if (a->data_file != NULL) {
    char *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(a->data_file, "--data-file", &text, &len);
    if (rc != CLI_OK) return CLI_USAGE;
    rc = add_body(t, (const unsigned char *)text, len) ? CLI_OK : CLI_FAIL;
    cli_free_secret(text);
    if (rc != CLI_OK) return rc;
  }
  if (a->oidc || a->oauth) {
    const char *email = a->service_account ? a->service_account : caller_email;
    cJSON *tok =
        cJSON_AddObjectToObject(t, a->oidc ? "oidcToken" : "oauthToken");
    cJSON_AddStringToObject(tok, "serviceAccountEmail", email ? email : "");
    if (a->audience != NULL)
      cJSON_AddStringToObject(tok, "audience", a->audience);
    if (a->scopes != NULL) {
      /* Google's scope member is one string; several scopes are separated
       * by spaces. */
      char *s = strdup(a->scopes);
      for (char *p = s; p != NULL && *p; p++)
        if (*p == ',') *p = ' ';
      if (s != NULL) cJSON_AddStringToObject(tok, "scope", s);
      free(s);
    }
  }
  return CLI_OK;
}

/* RFC 3339 of seconds since the epoch into member of o (0: absent). */
static void add_time(cJSON *o, const char *member, int64_t secs) {
  time_t t = (time_t)secs;
  struct tm tm;
  char buf[32];
  if (secs == 0 || gmtime_r(&t, &tm) == NULL) return;
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON_AddStringToObject(o, member, buf);
}

/* The job's state, the outcome of its last attempt and when: evidence for
 * gauth doctor, which a round trip through Job JSON must keep. */
static void add_outcome(cJSON *o, const gauth_scheduler_job *job) {
  gauth_scheduler_state st = gauth_scheduler_job_state(job);
  if (st != GAUTH_SCHEDULER_STATE_UNSPECIFIED)
    cJSON_AddStringToObject(o, "state", gauth_scheduler_state_name(st));
  if (gauth_scheduler_job_status_code(job) != 0 ||
      *gauth_scheduler_job_status_message(job) != '\0') {
    cJSON *status = cJSON_AddObjectToObject(o, "status");
    cJSON_AddNumberToObject(status, "code",
                            gauth_scheduler_job_status_code(job));
    cJSON_AddStringToObject(status, "message",
                            gauth_scheduler_job_status_message(job));
  }
  add_time(o, "lastAttemptTime", gauth_scheduler_job_last_attempt_time(job));
  add_time(o, "scheduleTime", gauth_scheduler_job_schedule_time(job));
  add_time(o, "userUpdateTime", gauth_scheduler_job_user_update_time(job));
}

/* A parsed job back to Job JSON (to apply flags to a job read from the
 * API: the library parses every job the same way). */
static cJSON *job_to_json(const gauth_scheduler_job *job) {
  cJSON *o = cJSON_CreateObject(), *t, *rc;
  const gauth_scheduler_retry_config *r = gauth_scheduler_job_retry_config(job);
  size_t i, n, len = 0;
  const unsigned char *body;
  char d[64];
  if (o == NULL) return NULL;
  cJSON_AddStringToObject(o, "name", gauth_scheduler_job_name(job));
  snprintf(d, sizeof d, "%.3fs",
           (double)gauth_scheduler_job_attempt_deadline_ms(job) / 1000.0);
  cJSON_AddStringToObject(o, "attemptDeadline", d);
  rc = cJSON_AddObjectToObject(o, "retryConfig");
  cJSON_AddNumberToObject(rc, "retryCount", r->retry_count);
  cJSON_AddNumberToObject(rc, "maxDoublings", r->max_doublings);
#define DUR(member, ms)                                  \
  snprintf(d, sizeof d, "%.3fs", (double)(ms) / 1000.0); \
  cJSON_AddStringToObject(rc, member, d)
  DUR("maxRetryDuration", r->max_retry_duration_ms);
  DUR("minBackoffDuration", r->min_backoff_ms);
  DUR("maxBackoffDuration", r->max_backoff_ms);
#undef DUR
  add_outcome(o, job);
  if (gauth_scheduler_job_target(job) != GAUTH_SCHEDULER_TARGET_HTTP) {
    cJSON_AddObjectToObject(o, "pubsubTarget");
    return o;
  }
  t = cJSON_AddObjectToObject(o, "httpTarget");
  cJSON_AddStringToObject(t, "uri", gauth_scheduler_job_uri(job));
  cJSON_AddStringToObject(t, "httpMethod",
                          gauth_scheduler_job_http_method(job));
  n = gauth_scheduler_job_header_count(job);
  if (n > 0) {
    cJSON *h = cJSON_AddObjectToObject(t, "headers");
    for (i = 0; i < n; i++)
      cJSON_AddStringToObject(h, gauth_scheduler_job_header_name(job, i),
                              gauth_scheduler_job_header_value(job, i));
  }
  body = gauth_scheduler_job_body(job, &len);
  if (body != NULL && !add_body(t, body, len)) {
    cJSON_Delete(o);
    return NULL;
  }
  if (gauth_scheduler_job_token(job) != GAUTH_SCHEDULER_TOKEN_NONE) {
    int oidc = gauth_scheduler_job_token(job) == GAUTH_SCHEDULER_TOKEN_OIDC;
    cJSON *tok = cJSON_AddObjectToObject(t, oidc ? "oidcToken" : "oauthToken");
    cJSON_AddStringToObject(tok, "serviceAccountEmail",
                            gauth_scheduler_job_service_account(job));
    cJSON_AddStringToObject(tok, oidc ? "audience" : "scope",
                            oidc ? gauth_scheduler_job_audience(job)
                                 : gauth_scheduler_job_scope(job));
  }
  return o;
}

/* Sets member of obj to a string (a duration) or, for counts, the text as
 * given (the library checks both). */
static void set_member(cJSON *obj, const char *member, const char *v) {
  if (v == NULL) return;
  cJSON_DeleteItemFromObjectCaseSensitive(obj, member);
  cJSON_AddStringToObject(obj, member, v);
}

static void apply_flags(const cli_job_args *a, cJSON *job) {
  cJSON *rc = cJSON_GetObjectItemCaseSensitive(job, "retryConfig");
  set_member(job, "attemptDeadline", a->attempt_deadline);
  if (!cJSON_IsObject(rc) &&
      (a->retry_count || a->min_backoff || a->max_backoff || a->max_doublings ||
       a->max_retry_duration)) {
    cJSON_DeleteItemFromObjectCaseSensitive(job, "retryConfig");
    rc = cJSON_AddObjectToObject(job, "retryConfig");
  }
  if (rc == NULL) return;
  set_member(rc, "retryCount", a->retry_count);
  set_member(rc, "minBackoffDuration", a->min_backoff);
  set_member(rc, "maxBackoffDuration", a->max_backoff);
  set_member(rc, "maxDoublings", a->max_doublings);
  set_member(rc, "maxRetryDuration", a->max_retry_duration);
}

/* ---- the caller ---------------------------------------------------------- */

typedef struct cli_job_ctx {
  const char *cmd;
  const cli_job_args *a;
  gauth_credentials *caller;
  char *caller_email;
  gauth_error *failure; /* NULL, or where an API's failure is kept */
} cli_job_ctx;

static int need_caller(cli_job_ctx *c) {
  return cli_job_caller(c->a, &c->caller, c->failure);
}

/* The caller's own email, for an ad hoc token without --service-account. */
static int need_caller_email(cli_job_ctx *c) {
  gauth_error err = GAUTH_ERROR_INIT;
  int rc = need_caller(c);
  if (rc != CLI_OK) return rc;
  if (gauth_credentials_email(c->caller, &c->caller_email, &err) != GAUTH_OK) {
    if (c->failure != NULL) *c->failure = err;
    return cli_fail_about(&err,
                          "the credentials' account (give "
                          "--service-account=EMAIL)");
  }
  return CLI_OK;
}

/* The job's JSON from its source, before flags. */
static int job_source(cli_job_ctx *c, cJSON **out) {
  const cli_job_args *a = c->a;
  gauth_error err = GAUTH_ERROR_INIT;
  int rc;
  *out = NULL;
  if (a->job != NULL && strncmp(a->job, "projects/", 9) == 0) {
    gauth_scheduler_job *got = NULL;
    rc = need_caller(c);
    if (rc != CLI_OK) return rc;
    if (gauth_scheduler_job_get(c->caller, NULL, a->job, &got, &err) !=
        GAUTH_OK) {
      if (err.code == GAUTH_E_INVALID_ARG) return cli_fail(&err), CLI_USAGE;
      if (c->failure != NULL) *c->failure = err;
      return cli_fail(&err);
    }
    *out = job_to_json(got);
    gauth_scheduler_job_free(got);
    return *out != NULL ? CLI_OK : CLI_FAIL;
  }
  if (a->job != NULL) {
    char *text = NULL;
    size_t len = 0;
    rc = cli_read_file(a->job, "--job", &text, &len);
    if (rc != CLI_OK) return CLI_USAGE;
    *out = cJSON_ParseWithLength(text, len);
    cli_free_secret(text);
    if (!cJSON_IsObject(*out)) {
      cJSON_Delete(*out);
      *out = NULL;
      return cli_usage_error(c->cmd, "--job %s is not a JSON object", a->job);
    }
    return CLI_OK;
  }
  if ((a->oidc || a->oauth) && a->service_account == NULL) {
    rc = need_caller_email(c);
    if (rc != CLI_OK) return rc;
  }
  *out = cJSON_CreateObject();
  if (*out == NULL) return CLI_FAIL;
  return adhoc_target(a, c->cmd, c->caller_email,
                      cJSON_AddObjectToObject(*out, "httpTarget"));
}

/* The job: its source, the flags, then the library's parser. */
static int build_job(cli_job_ctx *c, gauth_scheduler_job **job) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *j = NULL;
  char *text;
  gauth_status st;
  int rc = job_source(c, &j);
  if (rc != CLI_OK) {
    cJSON_Delete(j);
    return rc;
  }
  apply_flags(c->a, j);
  text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (text == NULL) return CLI_FAIL;
  st = gauth_scheduler_job_from_json(job, text, strlen(text), &err);
  cli_free_secret(text);
  if (st != GAUTH_OK) {
    fprintf(stderr, "gauth: %s: %s (%s)\n", c->cmd, err.message,
            gauth_status_name(err.code));
    return CLI_USAGE;
  }
  if (gauth_scheduler_job_target(*job) != GAUTH_SCHEDULER_TARGET_HTTP)
    return cli_usage_error(c->cmd,
                           "the job's target is not httpTarget: only "
                           "HTTP jobs are supported");
  return CLI_OK;
}

int cli_job_caller(const cli_job_args *a, gauth_credentials **caller,
                   gauth_error *failure) {
  gauth_error err = GAUTH_ERROR_INIT;
  if (*caller != NULL) return CLI_OK;
  if (cli_make_credentials(&a->creds, caller, &err) != GAUTH_OK) {
    if (failure != NULL) *failure = err;
    return cli_fail(&err);
  }
  return CLI_OK;
}

int cli_job_build(const char *cmd, const cli_job_args *a,
                  gauth_credentials **caller, gauth_scheduler_job **out,
                  gauth_error *failure) {
  cli_job_ctx c;
  int rc;
  memset(&c, 0, sizeof c);
  c.cmd = cmd;
  c.a = a;
  c.caller = *caller;
  c.failure = failure;
  *out = NULL;
  rc = build_job(&c, out);
  *caller = c.caller;
  gauth_free(c.caller_email);
  if (rc != CLI_OK) {
    gauth_scheduler_job_free(*out);
    *out = NULL;
  }
  return rc;
}
