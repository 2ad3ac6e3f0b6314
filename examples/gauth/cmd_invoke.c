/* gauth invoke: what Cloud Scheduler does for an HTTP job, from the command
 * line. The job comes from the Cloud Scheduler API (--job=projects/...), a
 * Job JSON file (--job=FILE) or flags (gauth invoke URL ...), built by
 * cli_job.c as gauth doctor's is. Each attempt is gauth_scheduler_attempt_send;
 * retries follow the job's retryConfig (gauth_scheduler_retry_next) in real
 * time. Never prints a token. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "cli.h"
#include "cmd.h"

#define CMD "invoke"
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
  cli_job_args job;
  int dry_run, json;
} invoke_args;

/* ---- the command line ---------------------------------------------------- */

static int parse_args(int argc, char **argv, invoke_args *a) {
  memset(a, 0, sizeof(*a));
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    int r;
    char name[64];
    if (strcmp(s, "--dry-run") == 0) {
      a->dry_run = 1;
      continue;
    }
    if (strcmp(s, "--format=json") == 0 || strcmp(s, "--format=text") == 0) {
      a->json = s[9] == 'j';
      continue;
    }
    r = cli_job_option(argc, argv, &i, CMD, &a->job);
    if (r < 0) return CLI_USAGE;
    if (r > 0) continue;
    if (strncmp(s, "-", 1) == 0 || a->job.url != NULL)
      return cli_usage_error(CMD, "unexpected argument %s",
                             s[0] == '-' ? cli_option_name(s, name, sizeof name)
                                         : "(a second URL)");
    a->job.url = s;
  }
  return cli_job_check(&a->job, CMD);
}

typedef struct invoke_ctx {
  invoke_args a;
  gauth_credentials *caller;
  gauth_scheduler_job *job;
} invoke_ctx;

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
  int k, ok = 0, rc;
  struct sigaction act;

  if (gauth_scheduler_job_token(c->job) != GAUTH_SCHEDULER_TOKEN_NONE) {
    rc = cli_job_caller(&c->a.job, &c->caller, NULL);
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
    int retry = 0;
    if (gauth_scheduler_attempt_send(sa, NULL, c->job, 0, &at, &err) !=
        GAUTH_OK) {
      /* Nothing was sent (a URL the transport refuses, ...). */
      rc = cli_fail(&err);
      k--;
      break;
    }
    ok = gauth_scheduler_attempt_succeeded(at);
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
  rc = cli_job_build(CMD, &c.a.job, &c.caller, &c.job, NULL);
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
  gauth_credentials_free(c.caller);
  gauth_global_cleanup();
  return rc;
}
