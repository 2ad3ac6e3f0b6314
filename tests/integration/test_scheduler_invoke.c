/* Cloud Scheduler attempts and job reads over real HTTP: against the
 * fixture's emulator (its Cloud Run job :run, which refuses an ID token with
 * 401 and runs the job for an access token; IAM Credentials for the
 * impersonation of runner@ by the fixture's scheduler@ key, as the policy
 * allows) and against a loopback test server that records what arrives
 * (Scheduler's headers, the body, the token, which is verified with
 * gauth_verifier against the emulator's keys), never answers (the attempt
 * deadline), or is not there (connection refused). gauth_scheduler_job_get
 * against the test server (a Job, Google's 403) and the emulator's Cloud
 * Scheduler (403 without the permission, a job it holds, 404). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "test_server.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define RUN_PATH \
  "/v2/projects/demo-project/locations/us-central1/jobs/collect:run"
#define JOB_NAME "projects/demo-project/locations/us-central1/jobs/nightly"
#define TOKEN_CREATOR "roles/iam.serviceAccountTokenCreator"
#define IAM_PATH(email, action) \
  "/v1/projects/-/serviceAccounts/" email ":" action

static int granted;

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(emu_fixture_url(), path, body, &out);
  cr_assert_eq(st, 200, "%s: %ld %s", path, st, out ? out : "");
  free(out);
}

/* TokenCreator on runner@ for scheduler@ (add 1) or not (add 0). */
static void token_creator(int add) {
  const char *body =
      "{\"resource\":\"projects/demo-project/serviceAccounts/" RUNNER
      "\",\"role\":\"" TOKEN_CREATOR "\",\"member\":\"serviceAccount:" SCHEDULER
      "\"}";
  if (add) {
    control("/emulator/v1/policy:add", body);
    granted = 1;
  } else {
    char *out = NULL;
    emu_control(emu_fixture_url(), "/emulator/v1/policy:remove", body, &out);
    free(out);
    granted = 0;
  }
}

static void setup(void) {
  granted = 0;
  control("/emulator/v1/counters:reset", "{}");
  control("/emulator/v1/clock", "{\"offset_seconds\":0}");
}

static void teardown(void) {
  if (granted) token_creator(0);
}

TestSuite(scheduler_invoke, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers ------------------------------------------------------------- */

static void emu_options(gauth_options *o) {
  gauth_options init = GAUTH_OPTIONS_INIT;
  *o = init;
  o->endpoint = emu_fixture_url();
  o->timeout_ms = 10000;
}

/* The fixture's scheduler@ key. */
static gauth_credentials *caller(void) {
  gauth_options o;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  emu_options(&o);
  co.options = &o;
  cr_assert_eq(
      gauth_credentials_from_file(&c, emu_fixture_key_file(), &co, &err),
      GAUTH_OK, "%s", err.message);
  return c;
}

/* A Job with an HTTP target; token "oidc", "oauth" or NULL; extra: more
 * members of httpTarget (",\"headers\":{...}") or "". */
static gauth_scheduler_job *job(const char *uri, const char *token,
                                const char *sa, const char *extra) {
  char json[4096], tok[512] = "";
  gauth_scheduler_job *j = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  if (token != NULL)
    snprintf(tok, sizeof tok, ",\"%sToken\":{\"serviceAccountEmail\":\"%s\"}",
             token, sa);
  snprintf(json, sizeof json,
           "{\"name\":\"" JOB_NAME
           "\",\"attemptDeadline\":\"15s\","
           "\"httpTarget\":{\"uri\":\"%s\"%s%s}}",
           uri, tok, extra);
  cr_assert_eq(gauth_scheduler_job_from_json(&j, json, strlen(json), &err),
               GAUTH_OK, "%s: %s", json, err.message);
  return j;
}

static gauth_scheduler_attempt *attempt(gauth_credentials *c,
                                        const gauth_scheduler_job *j,
                                        int64_t schedule_time) {
  gauth_options o;
  gauth_scheduler_attempt *a = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  emu_options(&o);
  cr_assert_eq(gauth_scheduler_attempt_send(c, &o, j, schedule_time, &a, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_not_null(a);
  return a;
}

static gauth_claims *verify_id(const char *token, const char *aud) {
  gauth_claims *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(emu_verify_id_token(emu_fixture_url(), token, aud, &c, &err),
               GAUTH_OK, "%s", err.message);
  return c;
}

/* The value of header `name` in a ts_request's "name: value\n" lines
 * (case-insensitive name), copied into buf; NULL when absent. */
static const char *req_header(const ts_request *r, const char *name, char *buf,
                              size_t n) {
  const char *p = r->headers;
  size_t len = strlen(name);
  while (*p != '\0') {
    const char *eol = strchr(p, '\n');
    size_t line = eol ? (size_t)(eol - p) : strlen(p);
    if (line > len + 1 && strncasecmp(p, name, len) == 0 && p[len] == ':') {
      const char *v = p + len + 1;
      while (*v == ' ') v++;
      snprintf(buf, n, "%.*s", (int)(line - (size_t)(v - p)), v);
      return buf;
    }
    p += line + (eol ? 1 : 0);
  }
  return NULL;
}

static long counter(const char *path) {
  long v = emu_counter(emu_fixture_url(), path);
  cr_assert_geq(v, 0);
  return v;
}

/* ---- the emulator's Cloud Run job :run ----------------------------------- */

Test(scheduler_invoke, oidc_to_run_is_unauthenticated) {
  char uri[256];
  gauth_credentials *c = caller();
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  const gauth_error *e;
  snprintf(uri, sizeof uri, "%s" RUN_PATH, emu_fixture_url());
  j = job(uri, "oidc", SCHEDULER, "");
  a = attempt(c, j, 0);
  cr_expect_eq(gauth_scheduler_attempt_sent(a), 1);
  cr_expect_eq(gauth_scheduler_attempt_http_status(a), 401);
  cr_expect_eq(gauth_scheduler_attempt_rpc_code(a), 16);
  cr_expect_str_eq(gauth_rpc_code_name(gauth_scheduler_attempt_rpc_code(a)),
                   "UNAUTHENTICATED");
  cr_expect_eq(gauth_scheduler_attempt_succeeded(a), 0);
  cr_expect_eq(gauth_scheduler_attempt_token(a), GAUTH_SCHEDULER_TOKEN_OIDC);
  cr_expect_str_eq(gauth_scheduler_attempt_service_account(a), SCHEDULER);
  cr_expect_eq(gauth_scheduler_attempt_impersonated(a), 0);
  e = gauth_scheduler_attempt_error(a);
  cr_expect_eq(e->code, GAUTH_E_UNAUTHENTICATED);
  cr_expect_eq(e->http_status, 401);
  cr_expect_str_eq(e->error_code, "UNAUTHENTICATED");
  cr_expect_not_null(
      strstr(gauth_scheduler_attempt_body(a, NULL), "\"UNAUTHENTICATED\""));
  cr_expect_not_null(gauth_scheduler_attempt_header(a, "www-authenticate"));
  cr_expect_null(strstr(e->message, "eyJ"), "%s", e->message);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
}

Test(scheduler_invoke, oauth_to_run_is_ok) {
  char uri[256];
  gauth_credentials *c = caller();
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  size_t len = 0;
  snprintf(uri, sizeof uri, "%s" RUN_PATH, emu_fixture_url());
  j = job(uri, "oauth", SCHEDULER, "");
  a = attempt(c, j, 0);
  cr_expect_eq(gauth_scheduler_attempt_http_status(a), 200);
  cr_expect_eq(gauth_scheduler_attempt_rpc_code(a), 0);
  cr_expect_eq(gauth_scheduler_attempt_succeeded(a), 1);
  cr_expect_eq(gauth_scheduler_attempt_error(a)->code, GAUTH_OK);
  cr_expect_not_null(
      strstr(gauth_scheduler_attempt_body(a, &len), "executionNumber"));
  cr_expect_gt(len, 0u);
  cr_expect_not_null(gauth_scheduler_attempt_header(a, "Date"));
  cr_expect_geq(gauth_scheduler_attempt_latency_ms(a), 0);
  cr_expect_gt(gauth_scheduler_attempt_start_ms(a),
               (int64_t)time(NULL) * 1000 - 60000);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
}

/* A Google API URL (run.googleapis.com) goes to the emulator through the
 * endpoint override, as every libgauth request does. */
Test(scheduler_invoke, google_url_rewritten_to_emulator) {
  gauth_credentials *c = caller();
  gauth_scheduler_job *j =
      job("https://run.googleapis.com" RUN_PATH, "oauth", SCHEDULER, "");
  gauth_scheduler_attempt *a = attempt(c, j, 0);
  cr_expect_eq(gauth_scheduler_attempt_http_status(a), 200, "%s",
               gauth_scheduler_attempt_error(a)->message);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
}

/* ---- impersonation, as the policy allows --------------------------------- */

Test(scheduler_invoke, impersonation_refused_without_token_creator) {
  char uri[256];
  gauth_credentials *c = caller();
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  const gauth_error *e;
  snprintf(uri, sizeof uri, "%s" RUN_PATH, emu_fixture_url());
  j = job(uri, "oauth", RUNNER, "");
  a = attempt(c, j, 0);
  e = gauth_scheduler_attempt_error(a);
  cr_expect_eq(gauth_scheduler_attempt_sent(a), 0);
  cr_expect_eq(gauth_scheduler_attempt_http_status(a), 0);
  cr_expect_eq(gauth_scheduler_attempt_rpc_code(a), 7, "%d %s",
               gauth_scheduler_attempt_rpc_code(a), e->message);
  cr_expect_eq(gauth_scheduler_attempt_impersonated(a), 1);
  cr_expect_eq(e->code, GAUTH_E_PERMISSION_DENIED, "%s", e->message);
  cr_expect_not_null(strstr(e->message, "minting the OAuth token for " RUNNER),
                     "%s", e->message);
  /* Nothing reached the target. */
  cr_expect_eq(counter(RUN_PATH), 0);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
}

Test(scheduler_invoke, impersonation_and_headers_at_test_server) {
  ts_server *s = ts_start();
  ts_response ok = {TS_REPLY, 200, "done", 0, {NULL}, 0, 0, 0};
  ts_request r;
  char uri[256], extra[512], buf[4096], sched[64];
  gauth_credentials *c = caller();
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  gauth_claims *claims;
  const char *auth;

  token_creator(1);
  ts_route(s, "/hook", &ok, 1);
  ts_url(s, "/hook", uri, sizeof uri);
  /* "aGVsbG8=" is "hello"; the job's User-Agent and X-CloudScheduler are
   * replaced by Scheduler's own. */
  snprintf(extra, sizeof extra,
           ",\"httpMethod\":\"PUT\",\"body\":\"aGVsbG8=\","
           "\"headers\":{\"X-Custom\":\"yes\",\"User-Agent\":\"mine\","
           "\"X-CloudScheduler\":\"false\",\"Host\":\"evil.example\"}");
  j = job(uri, "oidc", RUNNER, extra);
  a = attempt(c, j, 1777629600); /* 2026-05-01T10:00:00Z */
  cr_assert_eq(gauth_scheduler_attempt_http_status(a), 200, "%s",
               gauth_scheduler_attempt_error(a)->message);
  cr_expect_eq(gauth_scheduler_attempt_impersonated(a), 1);
  cr_expect_str_eq(gauth_scheduler_attempt_body(a, NULL), "done");
  cr_assert_eq(ts_last_request(s, "/hook", &r), 1);
  cr_expect_str_eq(r.method, "PUT");
  cr_expect_eq(r.body_len, 5u);
  cr_expect_eq(memcmp(r.body, "hello", 5), 0);
  cr_expect_str_eq(req_header(&r, "User-Agent", buf, sizeof buf),
                   "Google-Cloud-Scheduler");
  cr_expect_str_eq(req_header(&r, "X-CloudScheduler", buf, sizeof buf), "true");
  cr_expect_str_eq(req_header(&r, "X-CloudScheduler-JobName", buf, sizeof buf),
                   "nightly");
  cr_expect_str_eq(
      req_header(&r, "X-CloudScheduler-ScheduleTime", sched, sizeof sched),
      "2026-05-01T10:00:00Z");
  cr_expect_str_eq(req_header(&r, "X-Custom", buf, sizeof buf), "yes");
  cr_expect_str_eq(req_header(&r, "Content-Type", buf, sizeof buf),
                   "application/octet-stream");
  cr_expect_null(strstr(req_header(&r, "Host", buf, sizeof buf), "evil"));
  auth = req_header(&r, "Authorization", buf, sizeof buf);
  cr_assert_not_null(auth);
  cr_assert_eq(strncmp(auth, "Bearer ", 7), 0);
  /* The token is runner@'s, for the job's audience (the uri). */
  claims = verify_id(auth + 7, uri);
  cr_expect_str_eq(gauth_claims_audience(claims, 0), uri);
  {
    const char *email = NULL;
    gauth_error cerr = GAUTH_ERROR_INIT;
    cr_expect_eq(gauth_claims_get_string(claims, "email", &email, &cerr),
                 GAUTH_OK, "%s", cerr.message);
    cr_expect_str_eq(email, RUNNER);
  }
  gauth_claims_free(claims);
  ts_request_cleanup(&r);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
  ts_stop(s);
}

/* And back: runner@ (reached by impersonation, with the grant above)
 * calling a job of scheduler@'s impersonates scheduler@, which the
 * emulator's policy allows (runner@ is TokenCreator on scheduler@). */
Test(scheduler_invoke, impersonation_back_from_runner) {
  ts_server *s = ts_start();
  ts_response ok = {TS_REPLY, 204, NULL, 0, {NULL}, 0, 0, 0};
  ts_request r;
  char uri[256], buf[4096];
  gauth_credentials *c = caller(), *runner = NULL;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_options o;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  gauth_claims *claims;
  const char *auth, *email = NULL;

  token_creator(1);
  emu_options(&o);
  co.options = &o;
  cr_assert_eq(
      gauth_credentials_impersonate(&runner, c, RUNNER, NULL, &co, &err),
      GAUTH_OK, "%s", err.message);
  ts_route(s, "/hook", &ok, 1);
  ts_url(s, "/hook", uri, sizeof uri);
  j = job(uri, "oidc", SCHEDULER, "");
  a = attempt(runner, j, 0);
  cr_assert_eq(gauth_scheduler_attempt_http_status(a), 204, "%s",
               gauth_scheduler_attempt_error(a)->message);
  cr_expect_eq(gauth_scheduler_attempt_impersonated(a), 1);
  cr_assert_eq(ts_last_request(s, "/hook", &r), 1);
  auth = req_header(&r, "Authorization", buf, sizeof buf);
  cr_assert_not_null(auth);
  claims = verify_id(auth + 7, uri);
  cr_expect_eq(gauth_claims_get_string(claims, "email", &email, &err),
               GAUTH_OK);
  cr_expect_str_eq(email, SCHEDULER);
  gauth_claims_free(claims);
  ts_request_cleanup(&r);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(runner);
  gauth_credentials_free(c);
  ts_stop(s);
}

/* gauth_scheduler_job_credentials: one impersonated credential for a run
 * and its retries mints one token. */
Test(scheduler_invoke, job_credentials_reuse_the_token) {
  ts_server *s = ts_start();
  ts_response fail = {TS_REPLY, 503, NULL, 0, {NULL}, 0, 0, 0};
  char uri[256];
  gauth_credentials *c = caller(), *sa = NULL;
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_options o;
  int i;

  token_creator(1);
  ts_route(s, "/hook", &fail, 1);
  ts_url(s, "/hook", uri, sizeof uri);
  j = job(uri, "oidc", RUNNER, "");
  emu_options(&o);
  cr_assert_eq(gauth_scheduler_job_credentials(c, &o, j, &sa, &err), GAUTH_OK,
               "%s", err.message);
  for (i = 0; i < 3; i++) {
    a = attempt(sa, j, 0);
    cr_expect_eq(gauth_scheduler_attempt_http_status(a), 503);
    cr_expect_eq(gauth_scheduler_attempt_rpc_code(a), 14);
    /* sa impersonates runner@: used as it is (one token for all three),
     * and the attempt says the token came by impersonation. */
    cr_expect_eq(gauth_scheduler_attempt_impersonated(a), 1);
    gauth_scheduler_attempt_free(a);
  }
  cr_expect_eq(ts_count(s, "/hook"), 3u);
  cr_expect_eq(counter(IAM_PATH(RUNNER, "generateIdToken")), 1);
  gauth_credentials_free(sa);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
  ts_stop(s);
}

/* ---- outcomes without a reply, and replies that are not plain ------------ */

Test(scheduler_invoke, connection_refused_is_unavailable) {
  char uri[128];
  gauth_credentials *c = caller();
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  snprintf(uri, sizeof uri, "http://127.0.0.1:%u/hook", ts_closed_port());
  j = job(uri, "oidc", SCHEDULER, "");
  a = attempt(c, j, 0);
  cr_expect_eq(gauth_scheduler_attempt_sent(a), 1);
  cr_expect_eq(gauth_scheduler_attempt_http_status(a), 0);
  cr_expect_eq(gauth_scheduler_attempt_rpc_code(a), 14);
  cr_expect_eq(gauth_scheduler_attempt_error(a)->code, GAUTH_E_NETWORK, "%s",
               gauth_scheduler_attempt_error(a)->message);
  cr_expect_null(strstr(gauth_scheduler_attempt_error(a)->message, "eyJ"));
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
}

/* attemptDeadline's minimum is 15 s: this test waits that long. */
Test(scheduler_invoke, no_reply_is_deadline_exceeded, .timeout = 40) {
  ts_server *s = ts_start();
  ts_response hang = {TS_HANG, 0, NULL, 0, {NULL}, 0, 0, 0};
  char uri[256];
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  int64_t lat;
  ts_route(s, "/slow", &hang, 1);
  ts_url(s, "/slow", uri, sizeof uri);
  j = job(uri, NULL, NULL, "");
  a = attempt(NULL, j, 0);
  lat = gauth_scheduler_attempt_latency_ms(a);
  cr_expect_eq(gauth_scheduler_attempt_http_status(a), 0);
  cr_expect_eq(gauth_scheduler_attempt_rpc_code(a), 4);
  cr_expect_eq(gauth_scheduler_attempt_error(a)->code, GAUTH_E_TIMEOUT);
  cr_expect_geq(lat, 14900);
  cr_expect_lt(lat, 25000);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  ts_stop(s);
}

Test(scheduler_invoke, redirect_is_not_followed) {
  ts_server *s = ts_start();
  ts_response moved = {
      TS_REPLY, 302, NULL, 0, {"Location: http://127.0.0.1:1/elsewhere"},
      0,        0,   0};
  char uri[256];
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  ts_route(s, "/moved", &moved, 1);
  ts_url(s, "/moved", uri, sizeof uri);
  j = job(uri, NULL, NULL, "");
  a = attempt(NULL, j, 0);
  cr_expect_eq(gauth_scheduler_attempt_http_status(a), 302);
  cr_expect_eq(gauth_scheduler_attempt_succeeded(a), 0);
  cr_expect_str_eq(gauth_scheduler_attempt_header(a, "Location"),
                   "http://127.0.0.1:1/elsewhere");
  cr_expect_eq(ts_count(s, "/moved"), 1u);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  ts_stop(s);
}

Test(scheduler_invoke, large_body_is_kept_in_part) {
  ts_server *s = ts_start();
  ts_response big = {TS_REPLY, 200, NULL, 0, {NULL}, 3u * 1024 * 1024, 0, 0};
  char uri[256];
  gauth_scheduler_job *j;
  gauth_scheduler_attempt *a;
  size_t len = 0;
  ts_route(s, "/big", &big, 1);
  ts_url(s, "/big", uri, sizeof uri);
  j = job(uri, NULL, NULL, ",\"httpMethod\":\"GET\"");
  a = attempt(NULL, j, 0);
  cr_expect_eq(gauth_scheduler_attempt_http_status(a), 200, "%s",
               gauth_scheduler_attempt_error(a)->message);
  (void)gauth_scheduler_attempt_body(a, &len);
  cr_expect_eq(len, (size_t)GAUTH_SCHEDULER_ATTEMPT_BODY_MAX);
  cr_expect_eq(gauth_scheduler_attempt_body_truncated(a), 1);
  gauth_scheduler_attempt_free(a);
  gauth_scheduler_job_free(j);
  ts_stop(s);
}

Test(scheduler_invoke, bad_calls) {
  gauth_scheduler_attempt *a = (gauth_scheduler_attempt *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_scheduler_job *j = job("https://example.com/x", "oidc", SCHEDULER, "");
  gauth_scheduler_job *ps = NULL,
                      *plain = job("http://example.com/x", NULL, NULL, "");
  const char *pubsub =
      "{\"pubsubTarget\":{\"topicName\":\"projects/p/topics/t\"}}";
  gauth_credentials *c = caller();
  gauth_options o;
  emu_options(&o);
  cr_expect_eq(gauth_scheduler_attempt_send(NULL, &o, j, 0, &a, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(a);
  cr_expect_eq(gauth_scheduler_attempt_send(c, &o, NULL, 0, &a, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_scheduler_job_from_json(&ps, pubsub, strlen(pubsub), &err),
               GAUTH_OK);
  cr_expect_eq(gauth_scheduler_attempt_send(c, &o, ps, 0, &a, &err),
               GAUTH_E_UNSUPPORTED);
  /* Plain http to a remote host: refused before anything is minted. */
  cr_expect_eq(gauth_scheduler_attempt_send(c, &o, plain, 0, &a, &err),
               GAUTH_E_INSECURE_URL, "%s", err.message);
  cr_expect_null(a);
  cr_expect_eq(counter(IAM_PATH(SCHEDULER, "generateIdToken")), 0);
  gauth_scheduler_attempt_free(NULL);
  cr_expect_eq(gauth_scheduler_attempt_rpc_code(NULL), 0);
  cr_expect_not_null(gauth_scheduler_attempt_error(NULL));
  gauth_scheduler_job_free(ps);
  gauth_scheduler_job_free(plain);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
}

/* ---- gauth_scheduler_job_get --------------------------------------------- */

static gauth_status get(gauth_credentials *c, const char *scheduler_url,
                        const char *name, gauth_scheduler_job **out,
                        gauth_error *err) {
  gauth_options o;
  gauth_endpoint_override eps[] = {{"cloudscheduler", scheduler_url},
                                   {NULL, NULL}};
  emu_options(&o);
  if (scheduler_url != NULL) o.endpoints = eps;
  return gauth_scheduler_job_get(c, &o, name, out, err);
}

Test(scheduler_invoke, job_get_reads_a_job) {
  ts_server *s = ts_start();
  const char *body = "{\"name\":\"" JOB_NAME
                     "\",\"schedule\":\"0 * * * *\","
                     "\"httpTarget\":{\"uri\":\"https://example.com/x\","
                     "\"oidcToken\":{\"serviceAccountEmail\":\"" RUNNER "\"}}}";
  ts_response ok = {TS_REPLY, 200, body, 0, {"Content-Type: application/json"},
                    0,        0,   0};
  ts_request r;
  char base[128], buf[4096];
  gauth_credentials *c = caller();
  gauth_scheduler_job *j = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_route(s, "/v1/" JOB_NAME, &ok, 1);
  ts_url(s, "", base, sizeof base);
  cr_assert_eq(get(c, base, JOB_NAME, &j, &err), GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(gauth_scheduler_job_name(j), JOB_NAME);
  cr_expect_str_eq(gauth_scheduler_job_service_account(j), RUNNER);
  cr_assert_eq(ts_last_request(s, "/v1/" JOB_NAME, &r), 1);
  cr_expect_str_eq(r.method, "GET");
  cr_expect_not_null(req_header(&r, "Authorization", buf, sizeof buf));
  ts_request_cleanup(&r);
  gauth_scheduler_job_free(j);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(scheduler_invoke, job_get_permission_denied) {
  ts_server *s = ts_start();
  const char *body =
      "{\"error\":{\"code\":403,\"message\":\"The principal (user or service "
      "account) lacks IAM permission \\\"cloudscheduler.jobs.get\\\" for the "
      "resource \\\"" JOB_NAME "\\\"\",\"status\":\"PERMISSION_DENIED\"}}";
  ts_response denied = {
      TS_REPLY, 403, body, 0, {"Content-Type: application/json"}, 0, 0, 0};
  char base[128];
  gauth_credentials *c = caller();
  gauth_scheduler_job *j = (gauth_scheduler_job *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_route(s, "/v1/" JOB_NAME, &denied, 1);
  ts_url(s, "", base, sizeof base);
  cr_expect_eq(get(c, base, JOB_NAME, &j, &err), GAUTH_E_PERMISSION_DENIED);
  cr_expect_null(j);
  cr_expect_eq(err.http_status, 403);
  cr_expect_str_eq(err.error_code, "PERMISSION_DENIED");
  cr_expect_not_null(strstr(err.message, "cloudscheduler.jobs.get"), "%s",
                     err.message);
  cr_expect_not_null(strstr(err.message, JOB_NAME), "%s", err.message);
  gauth_credentials_free(c);
  ts_stop(s);
}

/* A binding on the emulator's policy, added (add 1) or removed (add 0). */
static void binding(int add, const char *resource, const char *role,
                    const char *member) {
  char body[512], *out = NULL;
  snprintf(body, sizeof body,
           "{\"resource\":\"%s\",\"role\":\"%s\",\"member\":\"%s\"}", resource,
           role, member);
  if (add) {
    control("/emulator/v1/policy:add", body);
  } else {
    emu_control(emu_fixture_url(), "/emulator/v1/policy:remove", body, &out);
    free(out);
  }
}

#define SA_RESOURCE "projects/demo-project/serviceAccounts/" SCHEDULER
#define EMU_JOB "projects/demo-project/locations/us-central1/jobs/get-me"

static void scheduler_roles(int add) {
  binding(add, "projects/demo-project", "roles/cloudscheduler.admin",
          "serviceAccount:" SCHEDULER);
  binding(add, SA_RESOURCE, "roles/iam.serviceAccountUser",
          "serviceAccount:" SCHEDULER);
}

static void scheduler_roles_fini(void) {
  scheduler_roles(0);
  teardown();
}

/* The emulator's Cloud Scheduler, reached through the cloudscheduler
 * service's URL under GAUTH_ENDPOINT: Google's 403 for a caller without
 * cloudscheduler.jobs.get, the job a caller with it created (read as the
 * API returns it), Google's 404 for a job that is not there. */
Test(scheduler_invoke, job_get_at_emulator, .fini = scheduler_roles_fini) {
  gauth_credentials *c = caller();
  gauth_scheduler_job *j = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *token = NULL;
  long st;

  cr_expect_eq(get(c, NULL, EMU_JOB, &j, &err), GAUTH_E_PERMISSION_DENIED, "%s",
               err.message);
  cr_expect_null(j);
  cr_expect_eq(err.http_status, 403);
  cr_expect_not_null(strstr(err.message, "cloudscheduler.jobs.get"), "%s",
                     err.message);

  scheduler_roles(1);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &token, NULL, &err),
               GAUTH_OK, "%s", err.message);
  st = emu_bearer_post(
      emu_fixture_url(), "/v1/projects/demo-project/locations/us-central1/jobs",
      token,
      "{\"name\":\"" EMU_JOB
      "\",\"schedule\":\"0 3 * * *\","
      "\"timeZone\":\"Europe/Paris\",\"httpTarget\":{"
      "\"uri\":\"https://example.invalid/collect\","
      "\"oidcToken\":{\"serviceAccountEmail\":\"" SCHEDULER "\"}}}");
  gauth_free(token);
  cr_assert_eq(st, 200, "creating " EMU_JOB ": HTTP %ld", st);

  gauth_error_clear(&err);
  cr_assert_eq(get(c, NULL, EMU_JOB, &j, &err), GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(gauth_scheduler_job_name(j), EMU_JOB);
  cr_expect_str_eq(gauth_scheduler_job_schedule(j), "0 3 * * *");
  cr_expect_str_eq(gauth_scheduler_job_time_zone(j), "Europe/Paris");
  cr_expect_eq(gauth_scheduler_job_state(j), GAUTH_SCHEDULER_STATE_ENABLED);
  cr_expect_eq(gauth_scheduler_job_token(j), GAUTH_SCHEDULER_TOKEN_OIDC);
  cr_expect_str_eq(gauth_scheduler_job_service_account(j), SCHEDULER);
  cr_expect_str_eq(gauth_scheduler_job_audience(j),
                   "https://example.invalid/collect");
  cr_expect_gt(gauth_scheduler_job_schedule_time(j), 0);
  gauth_scheduler_job_free(j);
  j = NULL;

  gauth_error_clear(&err);
  cr_expect_eq(get(c, NULL,
                   "projects/demo-project/locations/us-central1/"
                   "jobs/no-such-job",
                   &j, &err),
               GAUTH_E_NOT_FOUND, "%s", err.message);
  cr_expect_null(j);
  cr_expect_eq(err.http_status, 404);
  cr_expect_not_null(strstr(err.message, "no-such-job"), "%s", err.message);
  gauth_credentials_free(c);
}

Test(scheduler_invoke, job_get_refuses_bad_names) {
  static const char *const bad[] = {"",
                                    "projects/p/locations/l/jobs/",
                                    "projects/p/locations/l/jobs/j/extra",
                                    "projects/../locations/l/jobs/j",
                                    "projects/p/locations/l/jobs/j?x=1",
                                    "projects/p/locations/l/jobs/j%2F..",
                                    "projects/p/locations/l/jobs/a b",
                                    "projects/p/locations/l/queues/j",
                                    "/projects/p/locations/l/jobs/j",
                                    "projects/p/locations/l/../jobs/j",
                                    NULL};
  gauth_credentials *c = caller();
  gauth_scheduler_job *j = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t i;
  for (i = 0; bad[i] != NULL; i++)
    cr_expect_eq(get(c, NULL, bad[i], &j, &err), GAUTH_E_INVALID_ARG, "%s",
                 bad[i]);
  cr_expect_eq(get(c, NULL, NULL, &j, &err), GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_scheduler_job_get(NULL, NULL, JOB_NAME, &j, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(counter("/v1/projects/p/locations/l/jobs/j"), 0);
  gauth_credentials_free(c);
}
