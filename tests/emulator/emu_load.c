/* gauth-emulator under load: starts its own emulator (optionally under a
 * wrapper such as valgrind), then 8 threads send a deterministic (seeded)
 * mix of requests over every route, each thread on its own keep-alive
 * libcurl handle, and every reply's status is checked against the one that
 * request must get. At the end: the emulator's counters must add up to the
 * requests sent, the job's executions to the successful :run calls, and
 * the emulator must exit 0 on SIGTERM.
 *
 *   emu_load [--requests=N] [--threads=N] [--seed=N] [EMULATOR]
 *
 * EMULATOR defaults to $GAUTH_EMULATOR_BIN; N to $EMU_LOAD_REQUESTS, else
 * 10000. $GAUTH_EMULATOR_WRAPPER (split on spaces, as emu-fixture.sh does)
 * prefixes the emulator's command line. Exit 0 when every reply was as
 * expected, 1 otherwise, 2 on bad usage. Plain C (no Criterion), so that
 * it runs under ASan, valgrind and TSan alike. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <gauth/gauth.h>

#include "emu_spawn.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define CLOUD "https://www.googleapis.com/auth/cloud-platform"
#define JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define MD "/computeMetadata/v1/"
#define MD_SA MD "instance/service-accounts/default/"
#define JOB_V2 "/v2/projects/demo-project/locations/us-central1/jobs/collect"
#define JOB_FULL "projects/demo-project/locations/us-central1/jobs/collect"
#define IAM_SA "/v1/projects/-/serviceAccounts/"
/* Dedicated fault routes: metadata leaves no other case asks for. */
#define F_STATUS MD "instance/id"
#define F_RESET MD "instance/name"
#define F_TRUNC MD "instance/hostname"

#define MAX_THREADS 64
#define MAX_STATUS 600

/* ---- the world as the load sees it --------------------------------------- */

static char g_base[256];
static char g_run_base[256]; /* the Cloud Run front end: the services */
static char g_key_file[1024];
static char g_svc_url[320];
/* Tokens fetched once, before the threads start. */
static char *g_runner_at;      /* runner's access token (metadata) */
static char *g_sched_at;       /* scheduler's access token (/token) */
static char *g_sched_id;       /* scheduler's ID token, aud = service URL */
static char *g_sched_id_wrong; /* scheduler's ID token, another aud */
static char *g_runner_id;      /* runner's ID token, aud = service URL */
static unsigned long g_setup_requests;
static pid_t g_emu_pid; /* killed by die() */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "emu_load: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (g_emu_pid > 0) kill(g_emu_pid, SIGKILL);
  exit(1);
}

static char *xstrdup(const char *s) {
  char *p = strdup(s);
  if (p == NULL) die("out of memory");
  return p;
}

/* ---- HTTP: one keep-alive handle per thread ------------------------------ */

typedef struct reply {
  long status;
  CURLcode code;
  char *body;
  size_t len;
} reply;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  reply *r = ud;
  size_t n = size * nmemb;
  char *nb = realloc(r->body, r->len + n + 1);
  if (nb == NULL) return 0;
  memcpy(nb + r->len, p, n);
  r->body = nb;
  r->len += n;
  nb[r->len] = '\0';
  return n;
}

/* A path on the Cloud Run front end (RUNBASE + the rest), not on the Google
 * API base. */
#define ON_RUN "@run"

/* One request on handle c (its connection kept alive across calls).
 * headers: NULL-ended, may be NULL. fresh: a new connection, not reused
 * afterwards (for the reset fault: libcurl retries a request once when a
 * reused connection dies, which would send it twice). */
static void http(CURL *c, const char *method, const char *path,
                 const char *const *headers, const char *body, int fresh,
                 reply *r) {
  char url[4096];
  struct curl_slist *hl = NULL;
  memset(r, 0, sizeof(*r));
  if (strncmp(path, ON_RUN, sizeof(ON_RUN) - 1) == 0)
    snprintf(url, sizeof(url), "%s%s", g_run_base, path + sizeof(ON_RUN) - 1);
  else
    snprintf(url, sizeof(url), "%s%s", g_base, path);
  curl_easy_reset(c); /* keeps the live connection */
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  if (strcmp(method, "GET") != 0)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body != NULL) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  if (fresh) {
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  }
  /* No "Expect: 100-continue" round trip on POST. */
  hl = curl_slist_append(hl, "Expect:");
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
    hl = curl_slist_append(hl, headers[i]);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  r->code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(hl);
  if (r->body == NULL) {
    r->body = calloc(1, 1);
    if (r->body == NULL) die("out of memory");
  }
}

/* A string member of a JSON reply body (copied), or NULL. */
static char *json_str(const char *body, const char *name) {
  cJSON *j = cJSON_Parse(body);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
  char *out = cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
  cJSON_Delete(j);
  return out;
}

/* ---- assertions ---------------------------------------------------------- */

typedef enum assertion_kind {
  A_SCOPE,      /* valid, scope cloud-platform: access token */
  A_TARGET,     /* valid, target_audience = the service URL: ID token */
  A_BAD_SIG,    /* valid claims, signature altered */
  A_BAD_AUD,    /* aud another URL */
  A_EXPIRED,    /* iat and exp an hour in the past */
  A_UNKNOWN_ISS /* iss an account the emulator does not know */
} assertion_kind;

/* A jwt-bearer form body, signed with the invoker's key (from the key file
 * the emulator wrote) through libgauth's public gauth_jwt_sign. */
static char *assertion_body(const gauth_key *k, assertion_kind kind) {
  char claims[2048], extra[400];
  long now = (long)time(NULL), iat = now - 5;
  const char *iss = kind == A_UNKNOWN_ISS
                        ? "nobody@demo-project.iam.gserviceaccount.com"
                        : SCHEDULER;
  char aud[320];
  char *jwt = NULL, *body;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t n;
  snprintf(aud, sizeof(aud), "%s%s", g_base,
           kind == A_BAD_AUD ? "/not-the-token-uri" : "/token");
  if (kind == A_EXPIRED) iat = now - 7200;
  if (kind == A_TARGET)
    snprintf(extra, sizeof(extra), "\"target_audience\":\"%s\"", g_svc_url);
  else
    snprintf(extra, sizeof(extra), "\"scope\":\"%s\"", CLOUD);
  snprintf(claims, sizeof(claims),
           "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%ld,\"exp\":%ld,%s}", iss,
           aud, iat, iat + 3600, extra);
  if (gauth_jwt_sign(k, GAUTH_ALG_RS256, NULL, claims, &jwt, &err) != GAUTH_OK)
    die("gauth_jwt_sign: %s", err.message);
  if (kind == A_BAD_SIG) {
    /* Alter a character in the middle of the signature (not the last one,
     * whose low bits may be padding). */
    char *sig = strrchr(jwt, '.') + 1;
    size_t m = strlen(sig) / 2;
    sig[m] = sig[m] == 'A' ? 'B' : 'A';
  }
  n = strlen(jwt) + 128;
  body = malloc(n);
  if (body == NULL) die("out of memory");
  snprintf(body, n, "grant_type=%s&assertion=%s", JWT_BEARER, jwt);
  gauth_free(jwt);
  return body;
}

/* ---- the cases ----------------------------------------------------------- */

typedef enum auth_kind {
  AUTH_NONE,
  AUTH_RUNNER_AT,
  AUTH_SCHED_AT,
  AUTH_SCHED_ID,
  AUTH_SCHED_ID_WRONG,
  AUTH_RUNNER_ID,
  AUTH_BOGUS_AT /* a ya29. token the emulator never minted */
} auth_kind;

typedef enum outcome {
  O_REPLY,    /* a complete reply with the status */
  O_RESET,    /* no reply: the connection closed */
  O_TRUNCATED /* the status, then the body cut short */
} outcome;

typedef struct load_case {
  const char *name;
  const char *method;
  const char *path; /* NULL: built by the case (service URL, ...) */
  auth_kind auth;
  int flavor;       /* Metadata-Flavor: Google */
  int xff;          /* X-Forwarded-For */
  const char *json; /* JSON body, or NULL */
  int assertion;    /* -1: none; else an assertion_kind (form body) */
  long want;        /* expected status */
  outcome how;
  const char *contains; /* the body must hold this (complete replies) */
  int execution;        /* 1: a 200 counts a job execution */
} load_case;

static const load_case cases[] = {
    /* metadata server */
    {"md-token", "GET", MD_SA "token", AUTH_NONE, 1, 0, NULL, -1, 200, O_REPLY,
     "\"access_token\":\"ya29.", 0},
    {"md-token-scopes", "GET", MD_SA "token?scopes=" CLOUD ",openid", AUTH_NONE,
     1, 0, NULL, -1, 200, O_REPLY, "\"token_type\":\"Bearer\"", 0},
    {"md-identity", "GET",
     MD_SA "identity?audience=https://load.example&format=full", AUTH_NONE, 1,
     0, NULL, -1, 200, O_REPLY, "eyJ", 0},
    {"md-identity-no-aud", "GET", MD_SA "identity", AUTH_NONE, 1, 0, NULL, -1,
     400, O_REPLY, "audience", 0},
    {"md-email", "GET", MD_SA "email", AUTH_NONE, 1, 0, NULL, -1, 200, O_REPLY,
     RUNNER, 0},
    {"md-project-id", "GET", MD "project/project-id", AUTH_NONE, 1, 0, NULL, -1,
     200, O_REPLY, "demo-project", 0},
    {"md-recursive", "GET", MD "instance/?recursive=true", AUTH_NONE, 1, 0,
     NULL, -1, 200, O_REPLY, "\"serviceAccounts\"", 0},
    {"md-no-flavor-token", "GET", MD_SA "token", AUTH_NONE, 0, 0, NULL, -1, 403,
     O_REPLY, "Metadata-Flavor", 0},
    {"md-no-flavor-project", "GET", MD "project/project-id", AUTH_NONE, 0, 0,
     NULL, -1, 403, O_REPLY, "Metadata-Flavor", 0},
    {"md-xff-token", "GET", MD_SA "token", AUTH_NONE, 1, 1, NULL, -1, 403,
     O_REPLY, "X-Forwarded-For", 0},
    {"md-xff-email", "GET", MD_SA "email", AUTH_NONE, 1, 1, NULL, -1, 403,
     O_REPLY, "X-Forwarded-For", 0},
    {"md-post", "POST", MD_SA "email", AUTH_NONE, 1, 0, "{}", -1, 405, O_REPLY,
     NULL, 0},
    {"md-not-found", "GET", MD "instance/nothing-here", AUTH_NONE, 1, 0, NULL,
     -1, 404, O_REPLY, NULL, 0},
    /* token endpoint */
    {"token-access", "POST", "/token", AUTH_NONE, 0, 0, NULL, A_SCOPE, 200,
     O_REPLY, "\"access_token\":\"ya29.", 0},
    {"token-id", "POST", "/token", AUTH_NONE, 0, 0, NULL, A_TARGET, 200,
     O_REPLY, "\"id_token\":\"eyJ", 0},
    {"token-bad-signature", "POST", "/token", AUTH_NONE, 0, 0, NULL, A_BAD_SIG,
     400, O_REPLY, "Invalid JWT Signature.", 0},
    {"token-bad-aud", "POST", "/token", AUTH_NONE, 0, 0, NULL, A_BAD_AUD, 400,
     O_REPLY, "Failed audience check", 0},
    {"token-expired", "POST", "/token", AUTH_NONE, 0, 0, NULL, A_EXPIRED, 400,
     O_REPLY, "reasonable timeframe", 0},
    {"token-unknown-iss", "POST", "/token", AUTH_NONE, 0, 0, NULL,
     A_UNKNOWN_ISS, 400, O_REPLY, "account not found", 0},
    {"token-get", "GET", "/token", AUTH_NONE, 0, 0, NULL, -1, 405, O_REPLY,
     NULL, 0},
    /* key sets */
    {"certs-v3", "GET", "/oauth2/v3/certs", AUTH_NONE, 0, 0, NULL, -1, 200,
     O_REPLY, "\"keys\"", 0},
    {"certs-v1", "GET", "/oauth2/v1/certs", AUTH_NONE, 0, 0, NULL, -1, 200,
     O_REPLY, "BEGIN CERTIFICATE", 0},
    /* IAM Credentials: the runner holds tokenCreator on the scheduler */
    {"iam-gat", "POST", IAM_SA SCHEDULER ":generateAccessToken", AUTH_RUNNER_AT,
     0, 0, "{\"scope\":[\"" CLOUD "\"]}", -1, 200, O_REPLY, "\"accessToken\"",
     0},
    {"iam-gat-bogus-token", "POST", IAM_SA SCHEDULER ":generateAccessToken",
     AUTH_BOGUS_AT, 0, 0, "{\"scope\":[\"" CLOUD "\"]}", -1, 401, O_REPLY,
     "UNAUTHENTICATED", 0},
    {"iam-gat-id-token", "POST", IAM_SA SCHEDULER ":generateAccessToken",
     AUTH_SCHED_ID, 0, 0, "{\"scope\":[\"" CLOUD "\"]}", -1, 401, O_REPLY,
     "UNAUTHENTICATED", 0},
    {"iam-gat-denied", "POST", IAM_SA RUNNER ":generateAccessToken",
     AUTH_SCHED_AT, 0, 0, "{\"scope\":[\"" CLOUD "\"]}", -1, 403, O_REPLY,
     "iam.serviceAccounts.getAccessToken", 0},
    {"iam-signblob", "POST", IAM_SA SCHEDULER ":signBlob", AUTH_RUNNER_AT, 0, 0,
     "{\"payload\":\"aGVsbG8gbG9hZA==\"}", -1, 200, O_REPLY, "\"signedBlob\"",
     0},
    {"iam-signblob-bogus-token", "POST", IAM_SA SCHEDULER ":signBlob",
     AUTH_BOGUS_AT, 0, 0, "{\"payload\":\"aGVsbG8gbG9hZA==\"}", -1, 401,
     O_REPLY, "UNAUTHENTICATED", 0},
    {"iam-signblob-no-token", "POST", IAM_SA SCHEDULER ":signBlob", AUTH_NONE,
     0, 0, "{\"payload\":\"aGVsbG8gbG9hZA==\"}", -1, 401, O_REPLY,
     "UNAUTHENTICATED", 0},
    /* testIamPermissions */
    {"tip-project", "POST", "/v1/projects/demo-project:testIamPermissions",
     AUTH_RUNNER_AT, 0, 0,
     "{\"permissions\":[\"resourcemanager.projects.get\"]}", -1, 200, O_REPLY,
     "{", 0},
    {"tip-job", "POST", JOB_V2 ":testIamPermissions", AUTH_SCHED_AT, 0, 0,
     "{\"permissions\":[\"run.jobs.run\",\"run.jobs.get\"]}", -1, 200, O_REPLY,
     "\"run.jobs.run\"", 0},
    {"tip-bogus-token", "POST", "/v3/projects/demo-project:testIamPermissions",
     AUTH_BOGUS_AT, 0, 0, "{\"permissions\":[\"run.jobs.run\"]}", -1, 401,
     O_REPLY, "UNAUTHENTICATED", 0},
    /* Cloud Run Admin API */
    {"run-v2-access", "POST", JOB_V2 ":run", AUTH_SCHED_AT, 0, 0, NULL, -1, 200,
     O_REPLY, "\"executionNumber\"", 1},
    {"run-v1-access", "POST",
     "/apis/run.googleapis.com/v1/namespaces/demo-project/jobs/collect:run",
     AUTH_SCHED_AT, 0, 0, NULL, -1, 200, O_REPLY, "\"Execution\"", 1},
    {"run-id-token", "POST", JOB_V2 ":run", AUTH_SCHED_ID, 0, 0, NULL, -1, 401,
     O_REPLY, "Expected OAuth 2 access token", 0},
    {"run-no-permission", "POST", JOB_V2 ":run", AUTH_RUNNER_AT, 0, 0, NULL, -1,
     403, O_REPLY, "PERMISSION_DENIED", 0},
    /* Cloud Run service, on the Cloud Run front end */
    {"svc-id-token", "GET", ON_RUN "/services/collector/load", AUTH_SCHED_ID, 0,
     0, NULL, -1, 200, O_REPLY, "\"principal\":\"" SCHEDULER "\"", 0},
    {"svc-id-token-post", "POST", ON_RUN "/services/collector/", AUTH_SCHED_ID,
     0, 0, "{\"x\":1}", -1, 200, O_REPLY, "\"method\":\"POST\"", 0},
    {"svc-runner-id-token", "GET", ON_RUN "/services/collector/",
     AUTH_RUNNER_ID, 0, 0, NULL, -1, 403, O_REPLY, "403 Forbidden", 0},
    {"svc-wrong-aud", "GET", ON_RUN "/services/collector/", AUTH_SCHED_ID_WRONG,
     0, 0, NULL, -1, 401, O_REPLY, "401 Unauthorized", 0},
    {"svc-access-token", "GET", ON_RUN "/services/collector/", AUTH_SCHED_AT, 0,
     0, NULL, -1, 401, O_REPLY, "401 Unauthorized", 0},
    {"svc-unknown-path", "GET", ON_RUN "/emulator/v1/status", AUTH_NONE, 0, 0,
     NULL, -1, 404, O_REPLY, "404 Page not found", 0},
    /* ... and not on the Google API base */
    {"svc-on-api-base", "GET", "/services/collector/", AUTH_SCHED_ID, 0, 0,
     NULL, -1, 404, O_REPLY, "NOT_FOUND", 0},
    /* control API reads */
    {"ctl-counters", "GET", "/emulator/v1/counters", AUTH_NONE, 0, 0, NULL, -1,
     200, O_REPLY, "\"requests\"", 0},
    {"ctl-status", "GET", "/emulator/v1/status", AUTH_NONE, 0, 0, NULL, -1, 200,
     O_REPLY, "\"demo-project\"", 0},
    {"ctl-faults", "GET", "/emulator/v1/faults", AUTH_NONE, 0, 0, NULL, -1, 200,
     O_REPLY, "\"faults\"", 0},
    /* anything else */
    {"not-found", "GET", "/nowhere/at/all", AUTH_NONE, 0, 0, NULL, -1, 404,
     O_REPLY, "NOT_FOUND", 0},
    /* faults, set before the load on their own routes */
    {"fault-status", "GET", F_STATUS, AUTH_NONE, 1, 0, NULL, -1, 503, O_REPLY,
     "UNAVAILABLE", 0},
    {"fault-reset", "GET", F_RESET, AUTH_NONE, 1, 0, NULL, -1, 0, O_RESET, NULL,
     0},
    {"fault-truncate", "GET", F_TRUNC, AUTH_NONE, 1, 0, NULL, -1, 200,
     O_TRUNCATED, NULL, 0},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ---- the workers --------------------------------------------------------- */

typedef struct worker {
  pthread_t thread;
  int index;
  unsigned long requests; /* to send */
  uint64_t rng;
  /* results */
  unsigned long sent;
  unsigned long mismatches;
  unsigned long executions;                /* 200 replies to :run */
  unsigned long by_status[MAX_STATUS + 1]; /* [0]: no reply */
  unsigned long by_case[NCASES];
  char first_error[1024];
} worker;

static uint64_t next_rand(uint64_t *s) { /* xorshift64* */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static const char *auth_token(auth_kind a) {
  switch (a) {
    case AUTH_RUNNER_AT: return g_runner_at;
    case AUTH_SCHED_AT: return g_sched_at;
    case AUTH_SCHED_ID: return g_sched_id;
    case AUTH_SCHED_ID_WRONG: return g_sched_id_wrong;
    case AUTH_RUNNER_ID: return g_runner_id;
    case AUTH_BOGUS_AT: return "ya29.emu.never-minted-by-the-emulator";
    case AUTH_NONE: break;
  }
  return NULL;
}

static void mismatch(worker *w, const load_case *lc, const reply *r,
                     const char *why) {
  w->mismatches++;
  if (w->first_error[0] == '\0' || w->mismatches <= 3) {
    fprintf(stderr,
            "emu_load: thread %d case %s (%s %s): %s: status %ld (want %ld), "
            "curl %d (%s), body: %.300s\n",
            w->index, lc->name, lc->method, lc->path, why, r->status, lc->want,
            (int)r->code, curl_easy_strerror(r->code), r->body);
    if (w->first_error[0] == '\0')
      snprintf(w->first_error, sizeof(w->first_error), "%s: %s", lc->name, why);
  }
}

static void run_case(worker *w, CURL *c, const gauth_key *key,
                     const load_case *lc) {
  const char *hdrs[6];
  char auth[4096];
  size_t nh = 0;
  char *form = NULL;
  const char *body = lc->json;
  reply r;
  const char *tok = auth_token(lc->auth);

  if (tok != NULL) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    hdrs[nh++] = auth;
  }
  if (lc->flavor) hdrs[nh++] = "Metadata-Flavor: Google";
  if (lc->xff) hdrs[nh++] = "X-Forwarded-For: 203.0.113.7";
  if (lc->assertion >= 0) {
    form = assertion_body(key, (assertion_kind)lc->assertion);
    body = form;
    hdrs[nh++] = "Content-Type: application/x-www-form-urlencoded";
  } else if (lc->json != NULL) {
    hdrs[nh++] = "Content-Type: application/json";
  }
  hdrs[nh] = NULL;
  http(c, lc->method, lc->path, hdrs, body, lc->how == O_RESET, &r);
  w->sent++;
  w->by_status[r.status >= 0 && r.status <= MAX_STATUS ? r.status : 0]++;

  switch (lc->how) {
    case O_REPLY:
      if (r.code != CURLE_OK)
        mismatch(w, lc, &r, "transfer failed");
      else if (r.status != lc->want)
        mismatch(w, lc, &r, "wrong status");
      else if (lc->contains != NULL && strstr(r.body, lc->contains) == NULL)
        mismatch(w, lc, &r, "body lacks the expected text");
      else if (lc->execution)
        w->executions++;
      break;
    case O_RESET:
      if (r.code != CURLE_GOT_NOTHING || r.status != 0)
        mismatch(w, lc, &r, "want the connection closed without a reply");
      break;
    case O_TRUNCATED:
      if (r.code != CURLE_PARTIAL_FILE || r.status != lc->want)
        mismatch(w, lc, &r, "want a reply cut short");
      break;
  }
  free(r.body);
  free(form);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  CURL *c = curl_easy_init();
  gauth_key *key = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  if (c == NULL) die("curl_easy_init failed");
  if (gauth_key_load_file(&key, g_key_file, &err) != GAUTH_OK)
    die("thread %d: %s: %s", w->index, g_key_file, err.message);
  for (unsigned long i = 0; i < w->requests; i++) {
    size_t k = (size_t)(next_rand(&w->rng) % NCASES);
    w->by_case[k]++;
    run_case(w, c, key, &cases[k]);
  }
  gauth_key_free(key);
  curl_easy_cleanup(c);
  return NULL;
}

/* ---- the emulator -------------------------------------------------------- */

static void emulator_start(emu_proc *em, const char *bin) {
  char msg[1200];
  if (emu_spawn(em, bin, "emu-load", msg, sizeof(msg)) != 0) die("%s", msg);
  g_emu_pid = em->pid;
  snprintf(g_key_file, sizeof(g_key_file), "%s", em->key_file);
  snprintf(g_base, sizeof(g_base), "%s", em->base);
  snprintf(g_run_base, sizeof(g_run_base), "%s", em->run_base);
  snprintf(g_svc_url, sizeof(g_svc_url), "%s/services/collector", g_run_base);
}

static int emulator_stop(emu_proc *em, char *how, size_t howlen) {
  int rc = emu_spawn_stop(em, how, howlen);
  g_emu_pid = 0;
  return rc;
}

/* ---- set-up: faults and tokens ------------------------------------------- */

static void setup_fault(CURL *c, const char *json) {
  static const char *const h[] = {"Content-Type: application/json", NULL};
  reply r;
  http(c, "POST", "/emulator/v1/faults", h, json, 0, &r);
  g_setup_requests++;
  if (r.code != CURLE_OK || r.status != 200)
    die("setting fault %s: status %ld curl %d: %s", json, r.status, (int)r.code,
        r.body);
  free(r.body);
}

static char *setup_get_token(CURL *c, const char *method, const char *path,
                             const char *const *h, const char *body,
                             const char *member) {
  reply r;
  char *t;
  http(c, method, path, h, body, 0, &r);
  g_setup_requests++;
  if (r.code != CURLE_OK || r.status != 200)
    die("%s %s: status %ld curl %d: %s", method, path, r.status, (int)r.code,
        r.body);
  t = member ? json_str(r.body, member) : xstrdup(r.body);
  if (t == NULL || t[0] == '\0')
    die("%s %s: no %s in %s", method, path, member ? member : "body", r.body);
  free(r.body);
  return t;
}

static void setup(void) {
  CURL *c = curl_easy_init();
  static const char *const flavor[] = {"Metadata-Flavor: Google", NULL};
  static const char *const form[] = {
      "Content-Type: application/x-www-form-urlencoded", NULL};
  char path[1024], *body;
  gauth_key *key = NULL;
  gauth_error err = GAUTH_ERROR_INIT;

  if (c == NULL) die("curl_easy_init failed");
  if (gauth_key_load_file(&key, g_key_file, &err) != GAUTH_OK)
    die("%s: %s", g_key_file, err.message);
  setup_fault(c, "{\"route\":\"" F_STATUS
                 "\",\"kind\":\"status\","
                 "\"status\":503,\"retry_after\":\"1\"}");
  setup_fault(c, "{\"route\":\"" F_RESET "\",\"kind\":\"reset\"}");
  setup_fault(c, "{\"route\":\"" F_TRUNC "\",\"kind\":\"truncate\"}");

  g_runner_at =
      setup_get_token(c, "GET", MD_SA "token", flavor, NULL, "access_token");
  snprintf(path, sizeof(path), MD_SA "identity?audience=%s", g_svc_url);
  g_runner_id = setup_get_token(c, "GET", path, flavor, NULL, NULL);
  body = assertion_body(key, A_SCOPE);
  g_sched_at = setup_get_token(c, "POST", "/token", form, body, "access_token");
  free(body);
  body = assertion_body(key, A_TARGET);
  g_sched_id = setup_get_token(c, "POST", "/token", form, body, "id_token");
  free(body);
  /* An ID token for another audience: target_audience is the claim. */
  {
    char claims[1024], *jwt = NULL, form_body[4096];
    long now = (long)time(NULL) - 5;
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" SCHEDULER
             "\",\"aud\":\"%s/token\",\"iat\":%ld,"
             "\"exp\":%ld,\"target_audience\":\"https://elsewhere.example\"}",
             g_base, now, now + 3600);
    if (gauth_jwt_sign(key, GAUTH_ALG_RS256, NULL, claims, &jwt, &err) !=
        GAUTH_OK)
      die("gauth_jwt_sign: %s", err.message);
    snprintf(form_body, sizeof(form_body), "grant_type=%s&assertion=%s",
             JWT_BEARER, jwt);
    gauth_free(jwt);
    g_sched_id_wrong =
        setup_get_token(c, "POST", "/token", form, form_body, "id_token");
  }
  gauth_key_free(key);
  curl_easy_cleanup(c);
}

/* The emulator's counters: total requests and the job's executions. */
static int read_counters(unsigned long *requests, unsigned long *executions) {
  CURL *c = curl_easy_init();
  reply r;
  cJSON *j, *reqs, *ex, *it;
  int ok = 0;
  if (c == NULL) return 0;
  http(c, "GET", "/emulator/v1/counters", NULL, NULL, 0, &r);
  curl_easy_cleanup(c);
  *requests = *executions = 0;
  j = cJSON_Parse(r.body);
  reqs = cJSON_GetObjectItemCaseSensitive(j, "requests");
  ex = cJSON_GetObjectItemCaseSensitive(j, "executions");
  if (r.code == CURLE_OK && r.status == 200 && cJSON_IsObject(reqs) &&
      cJSON_IsObject(ex)) {
    ok = 1;
    cJSON_ArrayForEach(it, reqs) *requests += (unsigned long)it->valuedouble;
    it = cJSON_GetObjectItemCaseSensitive(ex, JOB_FULL);
    *executions = cJSON_IsNumber(it) ? (unsigned long)it->valuedouble : 0;
  } else {
    fprintf(stderr, "emu_load: counters: status %ld curl %d: %.300s\n",
            r.status, (int)r.code, r.body);
  }
  cJSON_Delete(j);
  free(r.body);
  return ok;
}

/* ---- main ---------------------------------------------------------------- */

static unsigned long parse_count(const char *s, const char *what) {
  char *end;
  unsigned long v;
  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    fprintf(stderr, "emu_load: %s: not a number: %s\n", what, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  const char *bin = getenv("GAUTH_EMULATOR_BIN");
  const char *env_n = getenv("EMU_LOAD_REQUESTS");
  unsigned long total =
      env_n && env_n[0] ? parse_count(env_n, "EMU_LOAD_REQUESTS") : 10000;
  unsigned long nthreads = 8, seed = 20261127;
  static worker workers[MAX_THREADS];
  static unsigned long by_status[MAX_STATUS + 1];
  unsigned long sent = 0, mismatches = 0, executions = 0;
  unsigned long emu_requests = 0, emu_executions = 0;
  unsigned long by_case[NCASES];
  struct timespec t0, t1, ts0, ts1;
  double elapsed, start_s, stop_s;
  emu_proc em;
  gauth_error err = GAUTH_ERROR_INIT;
  char how[128];
  int code, failed = 0;

  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--requests=", 11) == 0)
      total = parse_count(argv[i] + 11, "--requests");
    else if (strncmp(argv[i], "--threads=", 10) == 0)
      nthreads = parse_count(argv[i] + 10, "--threads");
    else if (strncmp(argv[i], "--seed=", 7) == 0)
      seed = parse_count(argv[i] + 7, "--seed");
    else if (argv[i][0] != '-')
      bin = argv[i];
    else {
      fprintf(stderr,
              "usage: emu_load [--requests=N] [--threads=N] "
              "[--seed=N] [EMULATOR]\n");
      return 2;
    }
  }
  if (bin == NULL || bin[0] == '\0') {
    fprintf(stderr,
            "emu_load: no emulator (argument or "
            "GAUTH_EMULATOR_BIN)\n");
    return 2;
  }
  if (nthreads < 1 || nthreads > MAX_THREADS || total < nthreads) {
    fprintf(stderr,
            "emu_load: need 1..%d threads and at least one request "
            "per thread\n",
            MAX_THREADS);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
    die("curl_global_init failed");
  if (gauth_global_init(&err) != GAUTH_OK)
    die("gauth_global_init: %s", err.message);

  memset(&em, 0, sizeof(em));
  clock_gettime(CLOCK_MONOTONIC, &ts0);
  emulator_start(&em, bin);
  setup();
  clock_gettime(CLOCK_MONOTONIC, &ts1);
  start_s = (double)(ts1.tv_sec - ts0.tv_sec) +
            (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e9;

  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned long i = 0; i < nthreads; i++) {
    worker *w = &workers[i];
    w->index = (int)i;
    w->requests = total / nthreads + (i < total % nthreads ? 1 : 0);
    w->rng = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(i + 1) << 32;
    if (w->rng == 0) w->rng = 1;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
      die("pthread_create failed");
  }
  for (unsigned long i = 0; i < nthreads; i++)
    pthread_join(workers[i].thread, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  elapsed =
      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

  memset(by_case, 0, sizeof(by_case));
  for (unsigned long i = 0; i < nthreads; i++) {
    sent += workers[i].sent;
    mismatches += workers[i].mismatches;
    executions += workers[i].executions;
    for (size_t s = 0; s <= MAX_STATUS; s++)
      by_status[s] += workers[i].by_status[s];
    for (size_t k = 0; k < NCASES; k++) by_case[k] += workers[i].by_case[k];
  }

  /* The emulator counted every request we sent, and one execution per
   * successful :run. */
  if (!read_counters(&emu_requests, &emu_executions)) {
    fprintf(stderr, "emu_load: could not read the emulator's counters\n");
    failed = 1;
  } else {
    if (emu_requests != sent + g_setup_requests) {
      fprintf(stderr,
              "emu_load: the emulator counted %lu requests, we sent "
              "%lu (+%lu set-up)\n",
              emu_requests, sent, g_setup_requests);
      failed = 1;
    }
    if (emu_executions != executions) {
      fprintf(stderr,
              "emu_load: the emulator counted %lu executions of %s, "
              "we got %lu successful :run replies\n",
              emu_executions, JOB_FULL, executions);
      failed = 1;
    }
  }
  for (size_t k = 0; k < NCASES; k++)
    if (by_case[k] == 0 && total >= 10 * NCASES) {
      fprintf(stderr, "emu_load: case %s never ran\n", cases[k].name);
      failed = 1;
    }

  clock_gettime(CLOCK_MONOTONIC, &ts0);
  code = emulator_stop(&em, how, sizeof(how));
  clock_gettime(CLOCK_MONOTONIC, &ts1);
  stop_s = (double)(ts1.tv_sec - ts0.tv_sec) +
           (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e9;
  if (code != 0) {
    fprintf(stderr,
            "emu_load: emulator after SIGTERM: %s (want exit "
            "status 0)\n",
            how);
    failed = 1;
  }

  printf(
      "emu_load: %lu requests, %lu threads, seed %lu, %.2f s (%.0f/s); "
      "status:",
      sent, nthreads, seed, elapsed,
      elapsed > 0 ? (double)sent / elapsed : 0.0);
  for (size_t s = 0; s <= MAX_STATUS; s++)
    if (by_status[s]) {
      if (s == 0)
        printf(" none=%lu", by_status[s]);
      else
        printf(" %zu=%lu", s, by_status[s]);
    }
  printf(
      "; executions %lu; mismatches %lu; emulator start %.1f s, stop "
      "%.1f s, %s\n",
      executions, mismatches, start_s, stop_s, how);
  fflush(stdout);

  if (mismatches || failed) {
    emu_spawn_print_stderr_tail(&em);
    fprintf(stderr, "emu_load: FAILED (files kept in %s)\n", em.dir);
  } else {
    emu_spawn_cleanup(&em);
  }
  free(g_runner_at);
  free(g_runner_id);
  free(g_sched_at);
  free(g_sched_id);
  free(g_sched_id_wrong);
  gauth_global_cleanup();
  curl_global_cleanup();
  return mismatches || failed ? 1 : 0;
}
