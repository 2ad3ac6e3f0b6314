/* gauth invoke: what Cloud Scheduler does for an HTTP job, from the command
 * line. The job comes from the Cloud Scheduler API (--job=projects/...), a
 * Job JSON file (--job=FILE) or flags (gauth invoke URL ...); every source
 * becomes Job JSON, flags applied, and is read by
 * gauth_scheduler_job_from_json, so that one parser validates them all.
 * Each attempt is gauth_scheduler_attempt_send; retries follow the job's
 * retryConfig (gauth_scheduler_retry_next) in real time. Never prints a
 * token. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include <gauth/gauth.h>

#include "cli.h"
#include "cmd.h"

#define CMD "invoke"
#define MAX_HEADERS 64
/* Lines of a dry run's retry schedule before "...". */
#define MAX_SCHEDULE_LINES 20

static const char usage[] =
    "usage: gauth invoke --job=projects/P/locations/L/jobs/J|FILE [FLAGS]\n"
    "       gauth invoke URL [--oidc[=AUDIENCE] | --oauth[=SCOPES]]\n"
    "                        [--service-account=EMAIL] [--method=M]\n"
    "                        [--header=NAME:VALUE]... [--data=TEXT | "
    "--data-file=F]\n"
    "                        [FLAGS]\n"
    "\n"
    "Does what Cloud Scheduler does for an HTTP job: mints the token for the\n"
    "job's service account (impersonating it unless the credentials are that\n"
    "account), sends the job's request with Scheduler's headers within the\n"
    "attempt deadline, and retries as the job's retryConfig says, in real\n"
    "time. Prints one line per attempt and a summary.\n"
    "\n"
    "  --job=NAME|FILE          a job read from the Cloud Scheduler API\n"
    "                           (projects/...), or a Job JSON file (gcloud\n"
    "                           scheduler jobs describe --format=json)\n"
    "  URL                      an ad hoc job calling URL (POST by default)\n"
    "  --oidc[=AUDIENCE]        an OIDC ID token (default audience: URL)\n"
    "  --oauth[=SCOPES]         an OAuth access token (comma-separated scopes,\n"
    "                           default cloud-platform)\n"
    "  --service-account=EMAIL  whose token (default: the credentials' own)\n"
    "  --method=M               GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS\n"
    "  --header=NAME:VALUE      a request header (repeatable)\n"
    "  --data=TEXT, --data-file=F  the request body\n"
    "\n"
    "FLAGS (also override a --job's settings; durations as Google writes\n"
    "them: 15s, 0.5s):\n"
    "  --attempt-deadline=D     15s..1800s (default 180s)\n"
    "  --retry-count=N          0..5 (default 0)\n"
    "  --min-backoff=D          (default 5s)   --max-backoff=D (default 3600s)\n"
    "  --max-doublings=N        (default 5)    --max-retry-duration=D "
    "(default 0s)\n"
    "  --credentials=FILE       the caller (default: Application Default\n"
    "                           Credentials)\n"
    "  --impersonate-service-account=[DELEGATE,...]EMAIL  act as EMAIL first\n"
    "  --dry-run                print the request (token redacted) and the\n"
    "                           retry schedule; mint and send nothing\n"
    "  --format=text|json       json: one object with the attempts array\n"
    "\n"
    "Exit status: 0 a 2xx reply, 1 the attempts failed (or no token could be\n"
    "minted), 2 bad usage (bad flags, a bad job).\n";

typedef struct invoke_args {
  const char *job;
  const char *url;
  int oidc, oauth;
  const char *audience, *scopes;
  const char *service_account, *method;
  const char *headers[MAX_HEADERS];
  size_t nheaders;
  const char *data, *data_file;
  const char *attempt_deadline, *min_backoff, *max_backoff;
  const char *max_retry_duration, *retry_count, *max_doublings;
  int dry_run, json;
  cli_creds_args creds;
} invoke_args;

/* ---- the command line ---------------------------------------------------- */

/* --oidc and --oauth, whose value is optional ("--oidc" or "--oidc=AUD").
 * Returns 1 when consumed. */
static int token_flag(const char *s, invoke_args *a) {
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
static int value_flag(int argc, char **argv, int *i, invoke_args *a) {
  static const struct {
    const char *name;
    size_t off;
  } flags[] = {
      {"--job", offsetof(invoke_args, job)},
      {"--service-account", offsetof(invoke_args, service_account)},
      {"--method", offsetof(invoke_args, method)},
      {"--data", offsetof(invoke_args, data)},
      {"--data-file", offsetof(invoke_args, data_file)},
      {"--attempt-deadline", offsetof(invoke_args, attempt_deadline)},
      {"--retry-count", offsetof(invoke_args, retry_count)},
      {"--min-backoff", offsetof(invoke_args, min_backoff)},
      {"--max-backoff", offsetof(invoke_args, max_backoff)},
      {"--max-doublings", offsetof(invoke_args, max_doublings)},
      {"--max-retry-duration", offsetof(invoke_args, max_retry_duration)}};
  const char *v = NULL;
  size_t k;
  int r;
  for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
    r = cli_option(argc, argv, i, CMD, flags[k].name, &v);
    if (r == 0) continue;
    if (r < 0) return -1;
    *(const char **)((char *)a + flags[k].off) = v;
    return 1;
  }
  r = cli_option(argc, argv, i, CMD, "--header", &v);
  if (r <= 0) return r;
  if (a->nheaders == MAX_HEADERS) {
    cli_usage_error(CMD, "more than %d --header options", MAX_HEADERS);
    return -1;
  }
  a->headers[a->nheaders++] = v;
  return 1;
}

static int check_args(const invoke_args *a) {
  if ((a->job == NULL) == (a->url == NULL))
    return cli_usage_error(CMD, "give either --job=NAME|FILE or a URL");
  if (a->oidc && a->oauth)
    return cli_usage_error(CMD, "--oidc and --oauth exclude each other");
  if (a->data != NULL && a->data_file != NULL)
    return cli_usage_error(CMD, "--data and --data-file exclude each other");
  if (a->job != NULL && (a->oidc || a->oauth || a->service_account ||
                         a->method || a->nheaders || a->data || a->data_file))
    return cli_usage_error(CMD,
                           "--oidc, --oauth, --service-account, --method, "
                           "--header and --data describe an ad hoc job: "
                           "not with --job");
  return CLI_OK;
}

static int parse_args(int argc, char **argv, invoke_args *a) {
  memset(a, 0, sizeof(*a));
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    int r;
    char name[64];
    if (token_flag(s, a)) continue;
    if (strcmp(s, "--dry-run") == 0) {
      a->dry_run = 1;
      continue;
    }
    if (strcmp(s, "--format=json") == 0 || strcmp(s, "--format=text") == 0) {
      a->json = s[9] == 'j';
      continue;
    }
    r = value_flag(argc, argv, &i, a);
    if (r == 0) r = cli_creds_option(argc, argv, &i, CMD, &a->creds);
    if (r < 0) return CLI_USAGE;
    if (r > 0) continue;
    if (strncmp(s, "-", 1) == 0 || a->url != NULL)
      return cli_usage_error(CMD, "unexpected argument %s",
                             s[0] == '-' ? cli_option_name(s, name, sizeof name)
                                         : "(a second URL)");
    a->url = s;
  }
  return check_args(a);
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
static int adhoc_target(const invoke_args *a, const char *caller_email,
                        cJSON *t) {
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
      return cli_usage_error(CMD, "--header needs NAME:VALUE");
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

static void apply_flags(const invoke_args *a, cJSON *job) {
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

typedef struct invoke_ctx {
  invoke_args a;
  gauth_credentials *caller;
  char *caller_email;
  gauth_scheduler_job *job;
} invoke_ctx;

static int need_caller(invoke_ctx *c) {
  gauth_error err = GAUTH_ERROR_INIT;
  if (c->caller != NULL) return CLI_OK;
  if (cli_make_credentials(&c->a.creds, &c->caller, &err) != GAUTH_OK)
    return cli_fail(&err);
  return CLI_OK;
}

/* The caller's own email, for an ad hoc token without --service-account. */
static int need_caller_email(invoke_ctx *c) {
  gauth_error err = GAUTH_ERROR_INIT;
  int rc = need_caller(c);
  if (rc != CLI_OK) return rc;
  if (gauth_credentials_email(c->caller, &c->caller_email, &err) != GAUTH_OK)
    return cli_fail_about(&err,
                          "the credentials' account (give "
                          "--service-account=EMAIL)");
  return CLI_OK;
}

/* The job's JSON from its source, before flags. */
static int job_source(invoke_ctx *c, cJSON **out) {
  const invoke_args *a = &c->a;
  gauth_error err = GAUTH_ERROR_INIT;
  int rc;
  *out = NULL;
  if (a->job != NULL && strncmp(a->job, "projects/", 9) == 0) {
    gauth_scheduler_job *got = NULL;
    rc = need_caller(c);
    if (rc != CLI_OK) return rc;
    if (gauth_scheduler_job_get(c->caller, NULL, a->job, &got, &err) !=
        GAUTH_OK)
      return err.code == GAUTH_E_INVALID_ARG ? (cli_fail(&err), CLI_USAGE)
                                             : cli_fail(&err);
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
      return cli_usage_error(CMD, "--job %s is not a JSON object", a->job);
    }
    return CLI_OK;
  }
  if ((a->oidc || a->oauth) && a->service_account == NULL) {
    rc = need_caller_email(c);
    if (rc != CLI_OK) return rc;
  }
  *out = cJSON_CreateObject();
  if (*out == NULL) return CLI_FAIL;
  return adhoc_target(a, c->caller_email,
                      cJSON_AddObjectToObject(*out, "httpTarget"));
}

/* The job: its source, the flags, then the library's parser. */
static int build_job(invoke_ctx *c) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *j = NULL;
  char *text;
  int rc = job_source(c, &j);
  if (rc != CLI_OK) {
    cJSON_Delete(j);
    return rc;
  }
  apply_flags(&c->a, j);
  text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (text == NULL) return CLI_FAIL;
  rc = gauth_scheduler_job_from_json(&c->job, text, strlen(text), &err);
  cli_free_secret(text);
  if (rc != GAUTH_OK) {
    fprintf(stderr, "gauth: invoke: %s (%s)\n", err.message,
            gauth_status_name(err.code));
    return CLI_USAGE;
  }
  if (gauth_scheduler_job_target(c->job) != GAUTH_SCHEDULER_TARGET_HTTP)
    return cli_usage_error(CMD,
                           "the job's target is not httpTarget: only "
                           "HTTP jobs can be invoked");
  return CLI_OK;
}

/* ---- output -------------------------------------------------------------- */

static void fmt_time_ms(int64_t ms, char *buf, size_t n) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char base[32];
  gmtime_r(&t, &tm);
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, n, "%s.%03dZ", base, (int)(ms % 1000));
}

/* 1 for a header whose value a dry run does not show. */
static int header_is_secret(const char *name) {
  static const char *const words[] = {"authorization", "cookie", "key",
                                      "token",         "secret", "password"};
  char low[256];
  size_t i;
  for (i = 0; name[i] != '\0' && i + 1 < sizeof low; i++)
    low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  low[i] = '\0';
  for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strstr(low, words[i]) != NULL) return 1;
  return 0;
}

static const char *token_words(gauth_scheduler_token t) {
  return t == GAUTH_SCHEDULER_TOKEN_OIDC ? "OIDC ID token"
                                         : "OAuth access token";
}

/* The retry delays a run would wait if every attempt failed at once:
 * delays[0..*n). */
static void retry_schedule(const gauth_scheduler_retry_config *cfg,
                           int64_t *delays, int *n, int cap) {
  int64_t elapsed = 0, d;
  int retry = 0;
  *n = 0;
  while (*n < cap &&
         gauth_scheduler_retry_next(cfg, (unsigned)*n + 1, elapsed, &retry, &d,
                                    NULL) == GAUTH_OK &&
         retry) {
    delays[(*n)++] = d;
    elapsed += d;
  }
}

/* The uri as libgauth's messages show URLs: without user info, query or
 * fragment (they may hold a password or a key). */
static void shown_uri(const char *uri, char *buf, size_t n) {
  const char *host = strstr(uri, "://"), *at, *end;
  size_t head;
  host = host != NULL ? host + 3 : uri;
  end = host + strcspn(host, "/?#");
  at = memchr(host, '@', (size_t)(end - host));
  head = (size_t)(host - uri);
  if (at != NULL) host = at + 1;
  snprintf(buf, n, "%.*s%.*s%s", (int)head, uri, (int)strcspn(host, "?#"), host,
           host[strcspn(host, "?#")] != '\0' ? "?..." : "");
}

/* The job's name (null when it has none), method, uri and token. */
static void add_job_json(cJSON *o, const gauth_scheduler_job *job,
                         int full_uri) {
  gauth_scheduler_token t = gauth_scheduler_job_token(job);
  const char *name = gauth_scheduler_job_name(job);
  char shown[2200];
  if (*name != '\0')
    cJSON_AddStringToObject(o, "job", name);
  else
    cJSON_AddNullToObject(o, "job");
  cJSON_AddStringToObject(o, "method", gauth_scheduler_job_http_method(job));
  if (full_uri)
    snprintf(shown, sizeof shown, "%s", gauth_scheduler_job_uri(job));
  else
    shown_uri(gauth_scheduler_job_uri(job), shown, sizeof shown);
  cJSON_AddStringToObject(o, "uri", shown);
  cJSON_AddStringToObject(o, "token", gauth_scheduler_token_name(t));
  if (t == GAUTH_SCHEDULER_TOKEN_NONE) return;
  cJSON_AddStringToObject(o, "service_account",
                          gauth_scheduler_job_service_account(job));
  if (t == GAUTH_SCHEDULER_TOKEN_OIDC)
    cJSON_AddStringToObject(o, "audience", gauth_scheduler_job_audience(job));
  else
    cJSON_AddStringToObject(o, "scope", gauth_scheduler_job_scope(job));
}

static cJSON *dry_run_json(const gauth_scheduler_job *job) {
  cJSON *o = cJSON_CreateObject(), *req, *hs, *sched;
  gauth_scheduler_token t = gauth_scheduler_job_token(job);
  size_t i, len = 0;
  int64_t delays[MAX_SCHEDULE_LINES + 1];
  int n;
  char line[512];
  cJSON_AddBoolToObject(o, "dry_run", 1);
  add_job_json(o, job, 1);
  req = cJSON_AddObjectToObject(o, "request");
  cJSON_AddStringToObject(req, "method", gauth_scheduler_job_http_method(job));
  cJSON_AddStringToObject(req, "url", gauth_scheduler_job_uri(job));
  hs = cJSON_AddArrayToObject(req, "headers");
  for (i = 0; i < gauth_scheduler_job_header_count(job); i++) {
    const char *name = gauth_scheduler_job_header_name(job, i);
    snprintf(line, sizeof line, "%s: %s", name,
             header_is_secret(name) ? "[redacted]"
                                    : gauth_scheduler_job_header_value(job, i));
    cJSON_AddItemToArray(hs, cJSON_CreateString(line));
  }
  cJSON_AddItemToArray(
      hs, cJSON_CreateString("User-Agent: Google-Cloud-Scheduler"));
  cJSON_AddItemToArray(hs, cJSON_CreateString("X-CloudScheduler: true"));
  if (t != GAUTH_SCHEDULER_TOKEN_NONE) {
    snprintf(line, sizeof line, "Authorization: Bearer [%s of %s, not minted]",
             token_words(t), gauth_scheduler_job_service_account(job));
    cJSON_AddItemToArray(hs, cJSON_CreateString(line));
  }
  (void)gauth_scheduler_job_body(job, &len);
  cJSON_AddNumberToObject(req, "body_bytes", (double)len);
  cJSON_AddNumberToObject(o, "attempt_deadline_ms",
                          (double)gauth_scheduler_job_attempt_deadline_ms(job));
  retry_schedule(gauth_scheduler_job_retry_config(job), delays, &n,
                 MAX_SCHEDULE_LINES);
  sched = cJSON_AddArrayToObject(o, "retry_delays_ms");
  for (int k = 0; k < n; k++)
    cJSON_AddItemToArray(sched, cJSON_CreateNumber((double)delays[k]));
  return o;
}

static void print_json(cJSON *o) {
  char *s = cJSON_Print(o);
  if (s != NULL) printf("%s\n", s);
  cJSON_free(s);
}

static void dry_run_text(const gauth_scheduler_job *job) {
  cJSON *o = dry_run_json(job), *it;
  cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "request");
  const char *job_name = gauth_scheduler_job_name(job);
  int n = 0;
  printf("%s %s\n", gauth_scheduler_job_http_method(job),
         gauth_scheduler_job_uri(job));
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(req, "headers"))
      printf("  %s\n", it->valuestring);
  if (*job_name != '\0') {
    const char *slash = strrchr(job_name, '/');
    printf("  X-CloudScheduler-JobName: %s\n", slash ? slash + 1 : job_name);
  }
  printf("  X-CloudScheduler-ScheduleTime: (the time of the attempt)\n");
  printf("  body: %.0f bytes\n",
         cJSON_GetObjectItemCaseSensitive(req, "body_bytes")->valuedouble);
  printf("attempt deadline: %.1f s\n",
         (double)gauth_scheduler_job_attempt_deadline_ms(job) / 1000.0);
  cJSON_ArrayForEach(it,
                     cJSON_GetObjectItemCaseSensitive(o, "retry_delays_ms")) {
    printf("retry %d after %.1f s\n", ++n, it->valuedouble / 1000.0);
  }
  if (n == 0) printf("no retries (retryCount and maxRetryDuration are 0)\n");
  if (n == MAX_SCHEDULE_LINES) printf("...\n");
  cJSON_Delete(o);
}

/* ---- the run ------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms in short steps; returns 0 when SIGINT came. */
static int wait_ms(int64_t ms) {
  int64_t end = mono_ms() + ms;
  while (!interrupted) {
    int64_t left = end - mono_ms();
    struct timespec ts;
    if (left <= 0) return 1;
    if (left > 100) left = 100;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)left * 1000000L;
    nanosleep(&ts, NULL);
  }
  return 0;
}

static void describe_outcome(const gauth_scheduler_attempt *at, char *buf,
                             size_t n) {
  const char *code = gauth_rpc_code_name(gauth_scheduler_attempt_rpc_code(at));
  if (!gauth_scheduler_attempt_sent(at))
    snprintf(buf, n, "no token (%s)", code);
  else if (gauth_scheduler_attempt_http_status(at) == 0)
    snprintf(buf, n, "no reply (%s)", code);
  else
    snprintf(buf, n, "HTTP %d %s", gauth_scheduler_attempt_http_status(at),
             code);
}

static void attempt_text(int k, const gauth_scheduler_attempt *at, int retry,
                         int64_t delay) {
  char when[40], what[96];
  fmt_time_ms(gauth_scheduler_attempt_start_ms(at), when, sizeof when);
  describe_outcome(at, what, sizeof what);
  printf("%s attempt %d: %s in %lld ms", when, k, what,
         (long long)gauth_scheduler_attempt_latency_ms(at));
  if (retry) printf(", next retry in %.1f s", (double)delay / 1000.0);
  printf("\n");
  if (!gauth_scheduler_attempt_succeeded(at))
    printf("  %s\n", gauth_scheduler_attempt_error(at)->message);
}

static cJSON *attempt_json(int k, const gauth_scheduler_attempt *at, int retry,
                           int64_t delay) {
  cJSON *o = cJSON_CreateObject();
  char when[40];
  const char *www = gauth_scheduler_attempt_header(at, "WWW-Authenticate");
  fmt_time_ms(gauth_scheduler_attempt_start_ms(at), when, sizeof when);
  cJSON_AddNumberToObject(o, "attempt", k);
  cJSON_AddStringToObject(o, "start", when);
  cJSON_AddBoolToObject(o, "sent", gauth_scheduler_attempt_sent(at));
  cJSON_AddNumberToObject(o, "http_status",
                          gauth_scheduler_attempt_http_status(at));
  cJSON_AddNumberToObject(o, "rpc_code", gauth_scheduler_attempt_rpc_code(at));
  cJSON_AddStringToObject(
      o, "rpc_code_name",
      gauth_rpc_code_name(gauth_scheduler_attempt_rpc_code(at)));
  cJSON_AddNumberToObject(o, "latency_ms",
                          (double)gauth_scheduler_attempt_latency_ms(at));
  cJSON_AddBoolToObject(o, "impersonated",
                        gauth_scheduler_attempt_impersonated(at));
  if (www != NULL) cJSON_AddStringToObject(o, "www_authenticate", www);
  if (gauth_scheduler_attempt_succeeded(at))
    cJSON_AddNullToObject(o, "error");
  else
    cJSON_AddStringToObject(o, "error",
                            gauth_scheduler_attempt_error(at)->message);
  if (retry)
    cJSON_AddNumberToObject(o, "next_retry_ms", (double)delay);
  else
    cJSON_AddNullToObject(o, "next_retry_ms");
  return o;
}

static void header_text(const gauth_scheduler_job *job) {
  gauth_scheduler_token t = gauth_scheduler_job_token(job);
  const char *name = gauth_scheduler_job_name(job);
  if (*name != '\0') printf("job %s: ", name);
  char uri[2200];
  shown_uri(gauth_scheduler_job_uri(job), uri, sizeof uri);
  printf("%s %s", gauth_scheduler_job_http_method(job), uri);
  if (t == GAUTH_SCHEDULER_TOKEN_NONE)
    printf(", no token\n");
  else
    printf(", %s of %s (%s %s)\n", token_words(t),
           gauth_scheduler_job_service_account(job),
           t == GAUTH_SCHEDULER_TOKEN_OIDC ? "audience" : "scope",
           t == GAUTH_SCHEDULER_TOKEN_OIDC ? gauth_scheduler_job_audience(job)
                                           : gauth_scheduler_job_scope(job));
}

/* Runs the attempts; returns the exit status. */
static int run(invoke_ctx *c) {
  const gauth_scheduler_retry_config *cfg =
      gauth_scheduler_job_retry_config(c->job);
  gauth_credentials *sa = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *out = NULL, *arr = NULL;
  int64_t first = mono_ms(), delay = 0;
  int k, retry = 0, ok = 0, rc;
  struct sigaction act;

  if (gauth_scheduler_job_token(c->job) != GAUTH_SCHEDULER_TOKEN_NONE) {
    rc = need_caller(c);
    if (rc != CLI_OK) return rc;
    /* Once: a run and its retries share the account's token. */
    if (gauth_scheduler_job_credentials(c->caller, NULL, c->job, &sa, &err) !=
        GAUTH_OK)
      return cli_fail(&err);
  }
  if (c->a.json) out = cJSON_CreateObject();
  memset(&act, 0, sizeof act);
  act.sa_handler = on_sigint;
  sigaction(SIGINT, &act, NULL);
  if (out != NULL) {
    add_job_json(out, c->job, 0);
    arr = cJSON_AddArrayToObject(out, "attempts");
  } else {
    header_text(c->job);
  }
  for (k = 1;; k++) {
    gauth_scheduler_attempt *at = NULL;
    if (gauth_scheduler_attempt_send(sa, NULL, c->job, 0, &at, &err) !=
        GAUTH_OK) {
      /* Nothing was sent (a URL the transport refuses, ...). */
      rc = cli_fail(&err);
      k--;
      break;
    }
    ok = gauth_scheduler_attempt_succeeded(at);
    retry = 0;
    if (!ok && gauth_scheduler_retry_next(cfg, (unsigned)k, mono_ms() - first,
                                          &retry, &delay, &err) != GAUTH_OK)
      retry = 0;
    if (arr != NULL)
      cJSON_AddItemToArray(arr, attempt_json(k, at, retry, delay));
    else
      attempt_text(k, at, retry, delay);
    gauth_scheduler_attempt_free(at);
    rc = ok ? CLI_OK : CLI_FAIL;
    if (ok || !retry || interrupted || !wait_ms(delay)) break;
  }
  if (out != NULL) {
    cJSON_AddNumberToObject(out, "attempt_count", k);
    cJSON_AddBoolToObject(out, "succeeded", ok);
    cJSON_AddBoolToObject(out, "interrupted", interrupted != 0);
    print_json(out);
    cJSON_Delete(out);
  } else {
    printf("%s after %d attempt%s in %.1f s%s\n", ok ? "succeeded" : "failed",
           k, k == 1 ? "" : "s", (double)(mono_ms() - first) / 1000.0,
           interrupted ? " (interrupted)" : "");
  }
  gauth_credentials_free(sa);
  return interrupted ? CLI_FAIL : rc;
}

int cmd_invoke(int argc, char **argv) {
  invoke_ctx c;
  gauth_error err = GAUTH_ERROR_INIT;
  int rc;
  for (int i = 2; i < argc; i++)
    if (cli_is_help(argv[i])) {
      fputs(usage, stdout);
      return CLI_OK;
    }
  memset(&c, 0, sizeof c);
  rc = parse_args(argc, argv, &c.a);
  if (rc != CLI_OK) return rc;
  if (gauth_global_init(&err) != GAUTH_OK) return cli_fail(&err);
  rc = build_job(&c);
  if (rc == CLI_OK && c.a.dry_run) {
    if (c.a.json) {
      cJSON *o = dry_run_json(c.job);
      print_json(o);
      cJSON_Delete(o);
    } else {
      dry_run_text(c.job);
    }
  } else if (rc == CLI_OK) {
    rc = run(&c);
  }
  gauth_scheduler_job_free(c.job);
  gauth_free(c.caller_email);
  gauth_credentials_free(c.caller);
  gauth_global_cleanup();
  return rc;
}
