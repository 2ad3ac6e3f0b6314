/* Every fault on every endpoint: each endpoint libgauth calls, through its
 * public API, against an emulator of its own over HTTP, under each fault
 * kind the emulator injects (docs/emulator.md "Faults"), once (the next
 * request only) and always. For each cell: the status the call returns,
 * the requests the emulator counted on the endpoint's route, the wall time,
 * and that no secret reached the error message or a log line. Printed as
 * a table; exit 1 on any mismatch.
 *
 * The retry policy under test is gauth_options.retry (options.h): HTTP
 * 408, 429, 500, 502, 503, 504 and refused / reset / timed-out / cut-short
 * connections are retried, up to max_attempts in all; nothing else is. So:
 *   a retried kind once:    GAUTH_OK after 2 requests;
 *   a retried kind always:  its status after max_attempts requests
 *                           (5xx UNAVAILABLE, 429 RATE_LIMITED, reset and
 *                           truncation NETWORK, delay TIMEOUT);
 *   invalid JSON, oversized: one request, BAD_RESPONSE / TOO_LARGE, once
 *                           as always: a complete 200 reply is final (the
 *                           rule stated in docs/testing.md: a reply that
 *                           arrived whole is the server's answer; retrying
 *                           it would hide a server bug behind latency).
 * Retry-After (1 s) is honoured: a 429 with it waits at least 1 s per retry.
 *
 * A plain program (no Criterion) so that it runs natively, under ASan and
 * under valgrind. The emulator comes from $GAUTH_EMULATOR_BIN.
 * FAULT_MATRIX_ONLY=substring limits the rows (endpoint names). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "emu_spawn.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define IAMCRED "/v1/projects/-/serviceAccounts/" RUNNER
#define MD_SA "/computeMetadata/v1/instance/service-accounts/default/"
#define JOB_NAME "projects/demo-project/locations/us-central1/jobs/matrix"
#define RUN_JOB "projects/demo-project/locations/us-central1/jobs/collect"
#define USER_REFRESH "1//emulator-refresh-token"
#define USER_SECRET "emulator-client-secret"
#define WIP_AUD                                                  \
  "//iam.googleapis.com/projects/123456789012/locations/global/" \
  "workloadIdentityPools/pool/providers/matrix"
#define EXT_ISS "https://issuer.example"

/* The policy under test. */
#define MAX_ATTEMPTS 3
#define TIMEOUT_MS 400
#define DELAY_MS 700 /* a delay fault: past TIMEOUT_MS */
#define DEADLINE_MS 10000

static emu_proc g_emu;
static int g_failed;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fault_matrix: FAIL: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  g_failed = 1;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- secrets: none may reach a message or a log line ----------------------
 */

/* Fixed secrets of the world, and the subject token (set at start). */
static const char *g_secrets[8] = {"ya29.", "eyJ", "PRIVATE KEY", USER_REFRESH,
                                   USER_SECRET};
static char *g_subject;

static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_leak[256]; /* the first log line that held a secret */

static const char *secret_in(const char *text) {
  for (size_t i = 0; i < sizeof(g_secrets) / sizeof(g_secrets[0]); i++)
    if (g_secrets[i] != NULL && strstr(text, g_secrets[i]) != NULL)
      return g_secrets[i];
  if (g_subject != NULL && strstr(text, g_subject) != NULL) return "subject";
  return NULL;
}

static void on_log(gauth_log_level level, const char *message, void *ud) {
  const char *s = secret_in(message);
  (void)level;
  (void)ud;
  if (s == NULL) return;
  pthread_mutex_lock(&g_log_mu);
  if (g_leak[0] == '\0')
    snprintf(g_leak, sizeof g_leak, "%s in log line: %.180s", s, message);
  pthread_mutex_unlock(&g_log_mu);
}

/* ---- the world ------------------------------------------------------------
 */

static gauth_options g_opts;      /* every call's */
static gauth_credentials *g_warm; /* the scheduler key, token cached */
static char g_md_host[128];       /* 127.0.0.1:PORT */
static char g_audience[300];      /* the collector service's URL */
static char g_subject_path[700];  /* the external account's file */
static char g_ext_json[2048];     /* the external account's JSON */

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(g_emu.base, path, body, &out);
  if (st != 200) {
    fprintf(stderr, "fault_matrix: %s: HTTP %ld %s\n", path, st,
            out ? out : "");
    exit(1);
  }
  free(out);
}

static gauth_options base_options(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.endpoint = g_emu.base;
  o.metadata_host = g_md_host;
  o.metadata_ip = g_md_host;
  o.metadata_detection = GAUTH_METADATA_DETECT_ASSUME_PRESENT;
  o.retry.max_attempts = MAX_ATTEMPTS;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 40;
  o.retry.deadline_ms = DEADLINE_MS;
  o.timeout_ms = TIMEOUT_MS;
  o.log_fn = on_log;
  o.log_level = GAUTH_LOG_DEBUG;
  return o;
}

static gauth_credentials_options cred_options(void) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  co.options = &g_opts;
  co.self_signed_jwt = GAUTH_SELF_SIGNED_JWT_NEVER;
  return co;
}

/* An RSA key for the external issuer: the subject token's signer. The
 * issuer's JWKS goes to *jwks (gauth_free). */
static gauth_key *issuer_key(char **jwks) {
  EVP_PKEY *pk = EVP_RSA_gen(2048);
  BIO *b = BIO_new(BIO_s_mem());
  char *pem = NULL, *jwk = NULL;
  long n;
  gauth_key *k = NULL;
  if (pk == NULL || b == NULL ||
      !PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL))
    exit(1);
  n = BIO_get_mem_data(b, &pem);
  if (gauth_key_from_pem(&k, pem, (size_t)n, NULL) != GAUTH_OK ||
      gauth_key_public_jwk(k, &jwk, NULL) != GAUTH_OK)
    exit(1);
  /* A PEM key has no kid: the JWKS names it as the tokens do. */
  *jwks = malloc(strlen(jwk) + 32);
  sprintf(*jwks, "{\"keys\":[{\"kid\":\"ext-1\",%s]}", jwk + 1);
  gauth_free(jwk);
  BIO_free(b);
  EVP_PKEY_free(pk);
  return k;
}

static char *subject_token(gauth_key *k) {
  char claims[512];
  char *jwt = NULL;
  long now = (long)time(NULL);
  snprintf(claims, sizeof claims,
           "{\"iss\":\"" EXT_ISS
           "\",\"sub\":\"repo:main\",\"aud\":\"https:" WIP_AUD
           "\",\"iat\":%ld,\"exp\":%ld}",
           now, now + 3600);
  if (gauth_jwt_sign(k, GAUTH_ALG_RS256, "ext-1", claims, &jwt, NULL) !=
      GAUTH_OK)
    exit(1);
  return jwt;
}

static void start_world(void) {
  char msg[512], *jwks = NULL, *cfg;
  gauth_key *k = issuer_key(&jwks);
  const char *bin = getenv("GAUTH_EMULATOR_BIN");
  gauth_credentials_options co;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  FILE *f;

  cfg = malloc(strlen(jwks) + 512);
  sprintf(cfg,
          "{\"external_issuers\":[{\"issuer\":\"" EXT_ISS
          "\",\"audience\":\"" WIP_AUD "\",\"jwks\":%s}]}",
          jwks);
  if (emu_spawn_config(&g_emu, bin, "fault-matrix", cfg, msg, sizeof msg) !=
      0) {
    fprintf(stderr, "fault_matrix: %s\n", msg);
    exit(1);
  }
  free(cfg);
  free(jwks);
  snprintf(g_md_host, sizeof g_md_host, "%.100s", g_emu.base + 7);
  snprintf(g_audience, sizeof g_audience, "%s/services/collector",
           g_emu.run_base);
  g_opts = base_options();

  g_subject = subject_token(k);
  gauth_key_free(k);
  snprintf(g_subject_path, sizeof g_subject_path, "%s/subject.jwt", g_emu.dir);
  if ((f = fopen(g_subject_path, "w")) == NULL) exit(1);
  fputs(g_subject, f);
  fclose(f);
  snprintf(g_ext_json, sizeof g_ext_json,
           "{\"type\":\"external_account\",\"audience\":\"" WIP_AUD
           "\",\"subject_token_type\":\"urn:ietf:params:oauth:token-type:jwt\","
           "\"token_url\":\"https://sts.googleapis.com/v1/token\","
           "\"credential_source\":{\"file\":\"%s\"}}",
           g_subject_path);

  /* The scheduler account: the source of impersonation (it may act as the
   * runner), the caller of IAM and Cloud Scheduler (it may create and read
   * a job), its token cached before any fault. */
  control("/emulator/v1/policy:add",
          "{\"resource\":\"projects/demo-project/serviceAccounts/" RUNNER
          "\",\"role\":\"roles/iam.serviceAccountTokenCreator\","
          "\"member\":\"serviceAccount:" SCHEDULER "\"}");
  control("/emulator/v1/policy:add",
          "{\"resource\":\"projects/demo-project\",\"role\":\"roles/"
          "cloudscheduler.admin\",\"member\":\"serviceAccount:" SCHEDULER
          "\"}");
  co = cred_options();
  if (gauth_credentials_from_file(&g_warm, g_emu.key_file, &co, &err) !=
          GAUTH_OK ||
      gauth_credentials_access_token(g_warm, NULL, &tok, NULL, &err) !=
          GAUTH_OK) {
    fprintf(stderr, "fault_matrix: the warm credential: %s\n", err.message);
    exit(1);
  }
  {
    long st = emu_bearer_post(
        g_emu.base, "/v1/projects/demo-project/locations/us-central1/jobs", tok,
        "{\"name\":\"" JOB_NAME
        "\",\"schedule\":\"0 * * * *\","
        "\"httpTarget\":{\"uri\":\"https://example.com/x\"}}");
    if (st != 200) {
      fprintf(stderr, "fault_matrix: creating the scheduler job: HTTP %ld\n",
              st);
      exit(1);
    }
  }
  gauth_free(tok);
}

/* ---- the endpoints: one library call each -----------------------------------
 */

static gauth_status sa_access(gauth_error *err) {
  gauth_credentials_options co = cred_options();
  gauth_credentials *c = NULL;
  char *tok = NULL;
  gauth_status st = gauth_credentials_from_file(&c, g_emu.key_file, &co, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

static gauth_status sa_id(gauth_error *err) {
  gauth_credentials_options co = cred_options();
  gauth_credentials *c = NULL;
  char *tok = NULL;
  gauth_status st = gauth_credentials_from_file(&c, g_emu.key_file, &co, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_id_token(c, g_audience, 0, &tok, NULL, err);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

static gauth_status user_refresh(gauth_error *err) {
  gauth_credentials_options co = cred_options();
  gauth_credentials *c = NULL;
  char json[1024], *tok = NULL;
  gauth_status st;
  snprintf(json, sizeof json,
           "{\"client_id\":\"emulator-client.apps.googleusercontent.com\","
           "\"client_secret\":\"" USER_SECRET
           "\",\"refresh_token\":\"" USER_REFRESH
           "\",\"token_uri\":\"%s/token\",\"type\":\"authorized_user\"}",
           g_emu.base);
  st = gauth_credentials_from_json(&c, json, strlen(json), &co, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

/* An impersonation of the runner by the warm scheduler credential. */
static gauth_status impersonated(gauth_credentials **c, gauth_error *err) {
  gauth_credentials_options co = cred_options();
  return gauth_credentials_impersonate(c, g_warm, RUNNER, NULL, &co, err);
}

static gauth_status imp_access(gauth_error *err) {
  gauth_credentials *c = NULL;
  char *tok = NULL;
  gauth_status st = impersonated(&c, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

static gauth_status imp_id(gauth_error *err) {
  gauth_credentials *c = NULL;
  char *tok = NULL;
  gauth_status st = impersonated(&c, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_id_token(c, g_audience, 0, &tok, NULL, err);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

static gauth_status imp_sign_blob(gauth_error *err) {
  gauth_credentials *c = NULL;
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  char *kid = NULL;
  gauth_status st = impersonated(&c, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_sign_blob(c, "blob", 4, &sig, &sig_len, &kid, err);
  gauth_free(sig);
  gauth_free(kid);
  gauth_credentials_free(c);
  return st;
}

static gauth_status imp_sign_jwt(gauth_error *err) {
  gauth_credentials *c = NULL;
  char *jwt = NULL;
  gauth_status st = impersonated(&c, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_sign_jwt(c, "{\"sub\":\"matrix\"}", &jwt, err);
  gauth_free(jwt);
  gauth_credentials_free(c);
  return st;
}

static gauth_status sts_file(gauth_error *err) {
  gauth_credentials_options co = cred_options();
  gauth_credentials *c = NULL;
  char *tok = NULL;
  gauth_status st =
      gauth_credentials_from_json(&c, g_ext_json, strlen(g_ext_json), &co, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

static gauth_status md_token(gauth_error *err) {
  gauth_credentials_options co = cred_options();
  gauth_credentials *c = NULL;
  char *tok = NULL;
  gauth_status st = gauth_credentials_from_metadata(&c, &co, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

static gauth_status md_identity(gauth_error *err) {
  gauth_credentials_options co = cred_options();
  gauth_credentials *c = NULL;
  char *tok = NULL;
  gauth_status st = gauth_credentials_from_metadata(&c, &co, err);
  if (st == GAUTH_OK)
    st = gauth_credentials_id_token(c, g_audience, 0, &tok, NULL, err);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

static gauth_status md_read(gauth_error *err) {
  gauth_metadata *md = NULL;
  char *v = NULL;
  gauth_status st = gauth_metadata_new(&md, &g_opts, err);
  if (st == GAUTH_OK)
    st = gauth_metadata_get(md, "project/project-id", &v, err);
  gauth_free(v);
  gauth_metadata_free(md);
  return st;
}

static gauth_status jwks(gauth_error *err) {
  const char *aud[] = {"https://matrix.example/", NULL};
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_verifier *v = NULL;
  gauth_status st;
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = aud;
  vo.http = &g_opts;
  st = gauth_verifier_new(&v, &vo, err);
  if (st == GAUTH_OK) st = gauth_verifier_refresh_keys(v, err);
  gauth_verifier_free(v);
  return st;
}

static gauth_status oidc_discovery(gauth_error *err) {
  const char *aud[] = {"https://matrix.example/", NULL};
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_verifier *v = NULL;
  gauth_status st;
  vo.preset = GAUTH_VERIFIER_OIDC;
  vo.oidc_issuer = "https://accounts.google.com";
  vo.audiences = aud;
  vo.http = &g_opts;
  st = gauth_verifier_new(&v, &vo, err);
  if (st == GAUTH_OK) st = gauth_verifier_refresh_keys(v, err);
  gauth_verifier_free(v);
  return st;
}

static gauth_status iam_tip(const char *resource, const char *perm,
                            gauth_error *err) {
  const char *perms[] = {perm, NULL};
  gauth_iam_result *r = NULL;
  gauth_status st =
      gauth_iam_test_permissions(g_warm, resource, perms, &r, err);
  if (st == GAUTH_OK && gauth_iam_result_access(r) != GAUTH_IAM_ACCESS_OK)
    st = GAUTH_E_INTERNAL; /* the call itself must have been answered */
  gauth_iam_result_free(r);
  return st;
}

static gauth_status iam_project(gauth_error *err) {
  return iam_tip("projects/demo-project", "resourcemanager.projects.get", err);
}

static gauth_status run_job_iam(gauth_error *err) {
  return iam_tip(RUN_JOB, "run.jobs.run", err);
}

static gauth_status scheduler_get(gauth_error *err) {
  gauth_scheduler_job *j = NULL;
  gauth_status st = gauth_scheduler_job_get(g_warm, NULL, JOB_NAME, &j, err);
  gauth_scheduler_job_free(j);
  return st;
}

typedef struct endpoint {
  const char *name;
  const char *route; /* the fault's route and the counted path */
  gauth_status (*call)(gauth_error *err);
  /* What a whole 200 reply that is not JSON comes to: GAUTH_E_BAD_RESPONSE
   * (0 here), except where the reply is not JSON by nature (a metadata
   * value is text: GAUTH_OK) or the call is documented to report its
   * parser's status (a Cloud Scheduler job: GAUTH_E_MALFORMED). A key set
   * was GAUTH_E_MALFORMED, unlike OIDC discovery's reply in the same
   * verifier: now GAUTH_E_BAD_RESPONSE (verifier_keysource.c). */
  gauth_status bad_json;
} endpoint;
#define BAD_JSON_IS_TEXT ((gauth_status)-1) /* GAUTH_OK: any text is valid */

static const endpoint k_endpoints[] = {
    {"token: service-account access", "/token", sa_access},
    {"token: service-account ID", "/token", sa_id},
    {"token: authorized_user refresh", "/token", user_refresh},
    {"iamcredentials: generateAccessToken", IAMCRED ":generateAccessToken",
     imp_access},
    {"iamcredentials: generateIdToken", IAMCRED ":generateIdToken", imp_id},
    {"iamcredentials: signBlob", IAMCRED ":signBlob", imp_sign_blob},
    {"iamcredentials: signJwt", IAMCRED ":signJwt", imp_sign_jwt},
    {"sts: external account (file)", "/v1/token", sts_file},
    {"metadata: token", MD_SA "token", md_token},
    {"metadata: identity", MD_SA "identity", md_identity},
    {"metadata: plain read", "/computeMetadata/v1/project/project-id", md_read,
     BAD_JSON_IS_TEXT},
    {"keys: Google JWKS", "/oauth2/v3/certs", jwks},
    {"keys: OIDC discovery", "/.well-known/openid-configuration",
     oidc_discovery},
    {"iam: testIamPermissions (project)",
     "/v1/projects/demo-project:testIamPermissions", iam_project},
    {"run: testIamPermissions (job)", "/v2/" RUN_JOB ":testIamPermissions",
     run_job_iam},
    /* scheduler.h: a reply that is not a Job is the parser's error. */
    {"scheduler: jobs.get", "/v1/" JOB_NAME, scheduler_get, GAUTH_E_MALFORMED},
};

/* ---- the faults -----------------------------------------------------------
 */

typedef struct fault_kind {
  const char *name;
  const char *json; /* members after "route" */
  int retried;      /* the policy retries it */
  gauth_status fails_with;
  int64_t min_ms_per_retry; /* Retry-After */
} fault_kind;

static const fault_kind k_faults[] = {
    {"500", "\"kind\":\"status\",\"status\":500", 1, GAUTH_E_UNAVAILABLE, 0},
    {"503", "\"kind\":\"status\",\"status\":503", 1, GAUTH_E_UNAVAILABLE, 0},
    {"429", "\"kind\":\"status\",\"status\":429", 1, GAUTH_E_RATE_LIMITED, 0},
    {"429+Retry-After", "\"kind\":\"status\",\"status\":429,\"retry_after\":1",
     1, GAUTH_E_RATE_LIMITED, 1000},
    {"reset", "\"kind\":\"reset\"", 1, GAUTH_E_NETWORK, 0},
    {"truncate", "\"kind\":\"truncate\"", 1, GAUTH_E_NETWORK, 0},
    {"invalid_json", "\"kind\":\"invalid_json\"", 0, GAUTH_E_BAD_RESPONSE, 0},
    {"oversized", "\"kind\":\"oversized\"", 0, GAUTH_E_TOO_LARGE, 0},
    {"delay>timeout", "\"kind\":\"delay\",\"delay_ms\":700", 1, GAUTH_E_TIMEOUT,
     0},
};

/* What a cell must come to: the status and the requests counted (from
 * *requests to *requests_max).
 *
 * A reset request may be counted once more than the attempts: when the
 * first attempt goes over a kept-alive connection that the server closes
 * without a byte of reply, libcurl sends the request again on a new
 * connection by itself (an idle connection closed by the server as the
 * request left is the race every HTTP/1.1 client must absorb). libgauth
 * bounds that to one re-send per call: a retry goes over a new connection
 * that is not kept (http.c). */
static void expected(const endpoint *ep, const fault_kind *f, int always,
                     gauth_status *st, int *requests, int *requests_max) {
  *requests_max = 0;
  if (!f->retried) {
    *st = f->fails_with;
    if (f->fails_with == GAUTH_E_BAD_RESPONSE && ep->bad_json != 0)
      *st = ep->bad_json == BAD_JSON_IS_TEXT ? GAUTH_OK : ep->bad_json;
    *requests = 1;
  } else if (always) {
    *st = f->fails_with;
    *requests = MAX_ATTEMPTS;
  } else {
    *st = GAUTH_OK;
    *requests = 2;
  }
  if (*requests_max == 0) *requests_max = *requests;
  if (always && strcmp(f->name, "reset") == 0) *requests_max = *requests + 1;
}

/* The longest a cell may take: each attempt's timeout where the fault
 * delays, the Retry-After waits, the backoffs (at most 40 ms each), plus a
 * margin for the machine (ASan, a shared CPU). */
static int64_t bound_ms(const fault_kind *f, int requests) {
  int64_t ms = 3000 + (int64_t)requests * 100;
  if (strcmp(f->name, "delay>timeout") == 0)
    ms += (int64_t)requests * TIMEOUT_MS;
  ms += (int64_t)(requests - 1) * f->min_ms_per_retry;
  return ms < DEADLINE_MS + 1000 ? ms : DEADLINE_MS + 1000;
}

static void clear_faults(void) {
  emu_reply r;
  if (emu_http(g_emu.base, "DELETE", "/emulator/v1/faults", NULL, NULL, &r) !=
          0 ||
      r.status != 200) {
    fprintf(stderr, "fault_matrix: cannot clear the faults\n");
    exit(1);
  }
  emu_reply_free(&r);
}

static int run_cell(const endpoint *ep, const fault_kind *f, int always) {
  char body[512];
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status want, got;
  int want_req, want_req_max, got_req, ok = 1;
  int64_t t0, ms, limit;
  const char *leak;

  expected(ep, f, always, &want, &want_req, &want_req_max);
  control("/emulator/v1/counters:reset", "{}");
  snprintf(body, sizeof body, "{\"route\":\"%s\",%s%s}", ep->route, f->json,
           always ? "" : ",\"count\":1");
  control("/emulator/v1/faults", body);
  g_leak[0] = '\0';
  t0 = mono_ms();
  got = ep->call(&err);
  ms = mono_ms() - t0;
  clear_faults();
  /* A delayed request is logged when its delay ends, after the client
   * gave up on it: at most DELAY_MS - TIMEOUT_MS after the call. */
  if (strcmp(f->name, "delay>timeout") == 0) {
    struct timespec ts = {0, (DELAY_MS + 200) * 1000000L};
    while (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    nanosleep(&ts, NULL);
  }
  got_req = (int)emu_counter(g_emu.base, ep->route);
  if (getenv("FAULT_MATRIX_LOG") != NULL) {
    char *out = NULL;
    emu_control(g_emu.base, "/emulator/v1/requests", NULL, &out);
    fprintf(stderr, "%s\n", out ? out : "");
    free(out);
  }
  limit = bound_ms(f, want_req_max);

  printf("| %-38s | %-15s | %-6s | %-22s | %3d | %5lld |", ep->name, f->name,
         always ? "always" : "once", gauth_status_name(got), got_req,
         (long long)ms);
  if (got != want) {
    printf(" want %s", gauth_status_name(want));
    ok = 0;
  }
  if (got_req < want_req || got_req > want_req_max) {
    if (want_req == want_req_max)
      printf(" want %d requests", want_req);
    else
      printf(" want %d..%d requests", want_req, want_req_max);
    ok = 0;
  }
  if (ms > limit) {
    printf(" over %lld ms", (long long)limit);
    ok = 0;
  }
  if (f->min_ms_per_retry > 0 && got_req > 1 &&
      ms < (int64_t)(got_req - 1) * f->min_ms_per_retry - 50) {
    printf(" Retry-After not honoured");
    ok = 0;
  }
  if (got != GAUTH_OK && (err.code != got || err.message[0] == '\0')) {
    printf(" err not filled");
    ok = 0;
  }
  if ((leak = secret_in(err.message)) != NULL) {
    printf(" SECRET (%s) in message", leak);
    ok = 0;
  }
  if (g_leak[0] != '\0') {
    printf(" %s", g_leak);
    ok = 0;
  }
  printf("%s\n", ok ? "" : "  <-- MISMATCH");
  if (!ok)
    failf("%s x %s (%s): %s: %s", ep->name, f->name, always ? "always" : "once",
          gauth_status_name(got), err.message);
  fflush(stdout);
  return ok;
}

int main(void) {
  const char *only = getenv("FAULT_MATRIX_ONLY");
  char how[128];
  int cells = 0, bad = 0, rc;
  int64_t t0 = mono_ms();

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (gauth_global_init(NULL) != GAUTH_OK) return 1;
  start_world();

  printf("| %-38s | %-15s | %-6s | %-22s | req | ms    |\n", "endpoint",
         "fault", "when", "status");
  for (size_t i = 0; i < sizeof(k_endpoints) / sizeof(k_endpoints[0]); i++) {
    if (only != NULL && strstr(k_endpoints[i].name, only) == NULL) continue;
    for (size_t j = 0; j < sizeof(k_faults) / sizeof(k_faults[0]); j++)
      for (int always = 0; always <= 1; always++) {
        cells++;
        if (!run_cell(&k_endpoints[i], &k_faults[j], always)) bad++;
      }
  }
  printf("fault_matrix: %d cells, %d mismatches, %lld ms\n", cells, bad,
         (long long)(mono_ms() - t0));

  gauth_credentials_free(g_warm);
  gauth_free(g_subject);
  unlink(g_subject_path);
  rc = emu_spawn_stop(&g_emu, how, sizeof how);
  if (rc != 0) {
    failf("the emulator ended with %s", how);
    emu_spawn_print_stderr_tail(&g_emu);
  }
  emu_spawn_cleanup(&g_emu);
  gauth_global_cleanup();
  return g_failed ? 1 : 0;
}
