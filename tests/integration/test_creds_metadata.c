/* Metadata-server credentials (gauth_credentials_from_metadata) against the
 * emulator fixture: access tokens with scopes, ID tokens for an audience
 * with special characters (verified against the emulator's keys), email,
 * project, signing through IAM Credentials, and bad replies from a test
 * server that answers as a broken metadata server would. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "test_server.h"

#define MD "/computeMetadata/v1/"
#define SA MD "instance/service-accounts/default/"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define SCOPE_EMAIL "https://www.googleapis.com/auth/userinfo.email"
#define SCOPE_IAM "https://www.googleapis.com/auth/iam"
#define CANARY "CANARY-7f3a9c-secret"

/* ---- helpers ------------------------------------------------------------ */

static const char *emu_hostport(void) {
  return emu_fixture_url() + strlen("http://");
}

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(emu_fixture_url(), path, body, &out);
  cr_assert_eq(st, 200, "%s: %ld %s", path, st, out ? out : "");
  free(out);
}

static int counter(const char *path) {
  long v = emu_counter(emu_fixture_url(), path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

/* The metadata server and Google's endpoints at the emulator, faults and
 * counters cleared. */
static void at_emulator(void) {
  emu_reply r;
  setenv("GCE_METADATA_HOST", emu_hostport(), 1);
  setenv("GCE_METADATA_IP", emu_hostport(), 1);
  setenv("GAUTH_ENDPOINT", emu_fixture_url(), 1);
  emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults", NULL, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  emu_reply_free(&r);
  control("/emulator/v1/counters:reset", "{}");
}

/* The metadata host at a test server instead. */
static void at_server(ts_server *s) {
  char hp[64];
  at_emulator();
  snprintf(hp, sizeof(hp), "127.0.0.1:%u", ts_port(s));
  setenv("GCE_METADATA_HOST", hp, 1);
}

static gauth_credentials *creds_with(const gauth_options *o) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  co.options = o;
  cr_assert_eq(gauth_credentials_from_metadata(&c, &co, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_not_null(c);
  return c;
}

static gauth_credentials *creds(void) { return creds_with(NULL); }

static gauth_credentials *fast_retry_creds(unsigned int attempts) {
  static gauth_options o = GAUTH_OPTIONS_INIT;
  o.retry.max_attempts = attempts;
  o.retry.initial_backoff_ms = 20;
  o.retry.max_backoff_ms = 50;
  return creds_with(&o);
}

static char *access_token(gauth_credentials *c, const char *const *scopes,
                          int64_t *exp) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_not_null(tok);
  return tok;
}

/* An access token that fails with code; returns the error. */
static gauth_error access_fails(gauth_credentials *c, gauth_status code) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  gauth_status st = gauth_credentials_access_token(c, NULL, &tok, NULL, &err);
  cr_assert_eq(st, code, "got %s (%s), want %s", gauth_status_name(st),
               err.message, gauth_status_name(code));
  cr_assert_null(tok);
  cr_expect_null(strstr(err.message, CANARY), "canary in %s", err.message);
  return err;
}

static gauth_error id_fails(gauth_credentials *c, gauth_status code) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  gauth_status st = gauth_credentials_id_token(c, "https://aud.example/", 0,
                                               &tok, NULL, &err);
  cr_assert_eq(st, code, "got %s (%s), want %s", gauth_status_name(st),
               err.message, gauth_status_name(code));
  cr_assert_null(tok);
  cr_expect_null(strstr(err.message, CANARY), "canary in %s", err.message);
  return err;
}

/* POST generateAccessToken for the scheduler account with `token` as the
 * caller's bearer; returns the HTTP status, the body in *body. */
static long iam_call(const char *token, char **body) {
  char auth[2048];
  const char *headers[] = {auth, "Content-Type: application/json", NULL};
  emu_reply r;
  long st;
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
  emu_http(emu_fixture_url(), "POST",
           "/v1/projects/-/serviceAccounts/" SCHEDULER ":generateAccessToken",
           headers,
           "{\"scope\":[\"https://www.googleapis.com/auth/cloud-platform\"]}",
           &r);
  st = r.status;
  *body = r.body;
  return st;
}

/* ---- identity ------------------------------------------------------------ */

Test(creds, type_and_origin) {
  gauth_credentials *c;
  char want[128];
  at_emulator();
  c = creds();
  cr_expect_eq(gauth_credentials_get_type(c), GAUTH_CREDENTIALS_METADATA);
  cr_expect_str_eq(gauth_credentials_type_name(gauth_credentials_get_type(c)),
                   "metadata");
  snprintf(want, sizeof(want), "metadata server (%s)", emu_hostport());
  cr_expect_str_eq(gauth_credentials_origin(c), want);
  gauth_credentials_free(c);
  /* No request was made. */
  cr_expect_eq(counter(SA "token"), 0);
  cr_expect_eq(counter(SA "email"), 0);
}

Test(creds, email_remembered) {
  gauth_credentials *c;
  gauth_error err = GAUTH_ERROR_INIT;
  char *email = NULL;
  at_emulator();
  c = creds();
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(gauth_credentials_email(c, &email, &err), GAUTH_OK, "%s",
                 err.message);
    cr_expect_str_eq(email, RUNNER);
    gauth_free(email);
  }
  cr_expect_eq(counter(SA "email"), 1);
  gauth_credentials_free(c);
}

Test(creds, project_id) {
  gauth_credentials *c;
  gauth_error err = GAUTH_ERROR_INIT;
  char *p = NULL;
  at_emulator();
  unsetenv("GOOGLE_CLOUD_PROJECT");
  unsetenv("GCLOUD_PROJECT");
  c = creds();
  cr_assert_eq(gauth_credentials_project_id(c, &p, &err), GAUTH_OK, "%s",
               err.message);
  cr_expect_str_eq(p, "demo-project");
  cr_expect_eq(counter(MD "project/project-id"), 1);
  gauth_free(p);
  gauth_credentials_free(c);
}

/* ---- access tokens ------------------------------------------------------- */

Test(access, default_scope_and_cache) {
  gauth_credentials *c;
  int64_t exp = 0, now = (int64_t)time(NULL);
  char *tok, *tok2, *body = NULL;
  at_emulator();
  c = creds();
  tok = access_token(c, NULL, &exp);
  cr_expect_eq(strncmp(tok, "ya29.emu.", 9), 0);
  cr_expect_geq(exp, now + 3599 - 5);
  cr_expect_leq(exp, now + 3599 + 5);
  /* cloud-platform: IAM accepts it. */
  cr_expect_eq(iam_call(tok, &body), 200, "%s", body);
  free(body);
  tok2 = access_token(c, NULL, NULL);
  cr_expect_str_eq(tok2, tok, "not served from the cache");
  cr_expect_eq(counter(SA "token"), 1);
  gauth_free(tok);
  gauth_free(tok2);
  gauth_credentials_free(c);
}

/* The scopes reach the emulator: a token for userinfo.email alone is
 * refused by IAM for its scopes; one that adds the iam scope is not. */
Test(access, scopes_reach_the_server) {
  static const char *const narrow[] = {SCOPE_EMAIL, NULL};
  static const char *const wide[] = {SCOPE_EMAIL, SCOPE_IAM, NULL};
  gauth_credentials *c;
  char *tok, *body = NULL;
  at_emulator();
  c = creds();
  tok = access_token(c, narrow, NULL);
  cr_expect_eq(iam_call(tok, &body), 403, "%s", body);
  cr_expect_not_null(strstr(body, "insufficient authentication scopes"), "%s",
                     body);
  free(body);
  gauth_free(tok);
  tok = access_token(c, wide, NULL);
  cr_expect_eq(iam_call(tok, &body), 200, "%s", body);
  free(body);
  gauth_free(tok);
  cr_expect_eq(counter(SA "token"), 2);
  gauth_credentials_free(c);
}

/* The exact query sent: scopes comma-joined, each encoded as a query
 * value (':' and '/' kept). */
Test(access, wire_format) {
  static const char *const scopes[] = {
      SCOPE_EMAIL, "https://x.example/a?b=c&d+\xc3\xbc", NULL};
  ts_server *s = ts_start();
  ts_response r = {0};
  ts_request seen;
  gauth_credentials *c;
  int64_t exp = 0, now = (int64_t)time(NULL);
  char *tok;
  r.body =
      "{\"access_token\":\"ya29.from-test-server\",\"expires_in\":120,"
      "\"token_type\":\"Bearer\"}";
  r.headers[0] = "Metadata-Flavor: Google";
  r.headers[1] = "Content-Type: application/json";
  ts_route(s, SA "token", &r, 1);
  at_server(s);
  c = creds();
  tok = access_token(c, scopes, &exp);
  cr_expect_str_eq(tok, "ya29.from-test-server");
  cr_expect_geq(exp, now + 120 - 5);
  cr_expect_leq(exp, now + 120 + 5);
  cr_assert(ts_last_request(s, SA "token", &seen));
  cr_expect_str_eq(seen.url, SA "token?scopes=" SCOPE_EMAIL
                                ",https://x.example/a%3Fb%3Dc%26d%2B%C3%BC");
  cr_expect_str_eq(seen.method, "GET");
  cr_expect_not_null(strstr(seen.headers, "Metadata-Flavor: Google"), "%s",
                     seen.headers);
  ts_request_cleanup(&seen);
  gauth_free(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}

/* ---- ID tokens ----------------------------------------------------------- */

Test(id, special_audience_verifies) {
  char aud[256];
  const char *auds[] = {aud, NULL};
  gauth_credentials *c;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_verifier *v = NULL;
  gauth_claims *claims = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *email = NULL;
  int64_t exp = 0;
  char *tok = NULL;

  at_emulator();
  snprintf(aud, sizeof(aud), "%s/services/collector?x=a b&y=\xc3\xbc",
           emu_fixture_run_url());
  c = creds();
  cr_assert_eq(gauth_credentials_id_token(c, aud, 0, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  http.endpoint = emu_fixture_url();
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = auds;
  vo.http = &http;
  cr_assert_eq(gauth_verifier_new(&v, &vo, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_verifier_verify(v, tok, 0, &claims, &err), GAUTH_OK,
               "%s (%s)", err.message, err.reason);
  cr_assert_eq(gauth_claims_audience_count(claims), 1);
  cr_expect_str_eq(gauth_claims_audience(claims, 0), aud);
  cr_expect_eq(exp, gauth_claims_expires_at(claims));
  /* format=full: the email is in. */
  cr_assert_eq(gauth_claims_get_string(claims, "email", &email, &err), GAUTH_OK,
               "%s", err.message);
  cr_expect_str_eq(email, RUNNER);
  cr_expect_eq(counter(SA "identity"), 1);
  gauth_claims_free(claims);
  gauth_verifier_free(v);
  gauth_free(tok);
  gauth_credentials_free(c);
}

Test(id, wire_format) {
  static const char jwt[] =
      "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJhdWQiOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2ln"; /* exp 4102444800 */
  ts_server *s = ts_start();
  ts_response r = {0};
  ts_request seen;
  gauth_credentials *c;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t exp = 0;
  char *tok = NULL;
  r.body = jwt;
  r.headers[0] = "Metadata-Flavor: Google";
  ts_route(s, SA "identity", &r, 1);
  at_server(s);
  c = creds();
  cr_assert_eq(
      gauth_credentials_id_token(
          c, "http://127.0.0.1:8080/services/collector?x=a b&y=\xc3\xbc",
          GAUTH_ID_TOKEN_INCLUDE_EMAIL, &tok, &exp, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(tok, jwt);
  cr_expect_eq(exp, 4102444800);
  cr_assert(ts_last_request(s, SA "identity", &seen));
  cr_expect_str_eq(seen.url, SA
                   "identity?audience=http://127.0.0.1:8080/services/"
                   "collector%3Fx%3Da%20b%26y%3D%C3%BC&format=full");
  ts_request_cleanup(&seen);
  gauth_free(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}

/* ---- signing through IAM Credentials ------------------------------------- */

Test(sign, blob_and_jwt_as_the_default_account) {
  static const char claims_json[] = "{\"iss\":\"" RUNNER "\",\"sub\":\"x\"}";
  gauth_credentials *c;
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned char *sig = NULL, *sig2 = NULL;
  size_t sig_len = 0, sig2_len = 0;
  char *kid = NULL, *jwt = NULL;
  at_emulator();
  c = creds();
  /* By default the runner may not sign as itself. */
  cr_assert_eq(
      gauth_credentials_sign_blob(c, "hello", 5, &sig, &sig_len, &kid, &err),
      GAUTH_E_PERMISSION_DENIED, "%s", err.message);
  cr_expect_not_null(strstr(err.message, "iam.serviceAccounts.signBlob"), "%s",
                     err.message);
  control("/emulator/v1/policy:add",
          "{\"resource\":\"projects/demo-project/serviceAccounts/" RUNNER
          "\",\"role\":\"roles/iam.serviceAccountTokenCreator\","
          "\"member\":\"serviceAccount:" RUNNER "\"}");
  cr_assert_eq(
      gauth_credentials_sign_blob(c, "hello", 5, &sig, &sig_len, &kid, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect_eq(sig_len, 256, "an RSA-2048 signature");
  cr_assert_not_null(kid);
  cr_expect_gt(strlen(kid), 0);
  cr_assert_eq(
      gauth_credentials_sign_blob(c, "hello", 5, &sig2, &sig2_len, NULL, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect(sig2_len == sig_len && memcmp(sig, sig2, sig_len) == 0,
            "RS256 is deterministic: same key, same signature");
  cr_expect_eq(counter("/v1/projects/-/serviceAccounts/" RUNNER ":signBlob"),
               3);
  cr_assert_eq(gauth_credentials_sign_jwt(c, claims_json, &jwt, &err), GAUTH_OK,
               "%s", err.message);
  cr_expect_eq(counter("/v1/projects/-/serviceAccounts/" RUNNER ":signJwt"), 1);
  {
    char *hdr = NULL, *payload = NULL;
    /* The JWT's header names the same key; its payload is our claims. */
    cr_assert_eq(gauth_jwt_decode_unverified(jwt, &hdr, &payload, &err),
                 GAUTH_OK, "%s", err.message);
    cr_expect_str_eq(payload, claims_json);
    cr_expect_not_null(strstr(hdr, kid), "%s", hdr);
    gauth_free(hdr);
    gauth_free(payload);
  }
  control("/emulator/v1/policy:remove",
          "{\"resource\":\"projects/demo-project/serviceAccounts/" RUNNER
          "\",\"role\":\"roles/iam.serviceAccountTokenCreator\","
          "\"member\":\"serviceAccount:" RUNNER "\"}");
  gauth_free(sig);
  gauth_free(sig2);
  gauth_free(kid);
  gauth_free(jwt);
  gauth_credentials_free(c);
}

/* ---- failures ------------------------------------------------------------ */

Test(fail, no_server) {
  gauth_credentials *c;
  gauth_error err;
  at_emulator();
  setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
  c = fast_retry_creds(2);
  err = access_fails(c, GAUTH_E_NETWORK);
  cr_expect_not_null(strstr(err.message, "connection refused"), "%s",
                     err.message);
  gauth_credentials_free(c);
}

Test(fail, status_503_once_is_retried) {
  gauth_credentials *c;
  char *tok;
  at_emulator();
  control("/emulator/v1/faults", "{\"route\":\"" SA
                                 "token\",\"kind\":"
                                 "\"status\",\"status\":503,\"count\":1}");
  c = fast_retry_creds(3);
  tok = access_token(c, NULL, NULL);
  cr_expect_eq(strncmp(tok, "ya29.emu.", 9), 0);
  cr_expect_eq(counter(SA "token"), 2);
  gauth_free(tok);
  gauth_credentials_free(c);
}

Test(fail, emulator_faults_on_token_route) {
  gauth_credentials *c;
  gauth_error err;
  at_emulator();
  c = fast_retry_creds(2);
  control("/emulator/v1/faults", "{\"route\":\"" SA
                                 "token\",\"kind\":"
                                 "\"invalid_json\",\"count\":1}");
  err = access_fails(c, GAUTH_E_BAD_RESPONSE);
  cr_expect_not_null(strstr(err.message, "not a JSON object"), "%s",
                     err.message);
  control("/emulator/v1/faults", "{\"route\":\"" SA
                                 "token\",\"kind\":"
                                 "\"oversized\",\"count\":1}");
  access_fails(c, GAUTH_E_TOO_LARGE);
  control("/emulator/v1/faults",
          "{\"route\":\"" SA "token\",\"kind\":\"truncate\"}");
  err = access_fails(c, GAUTH_E_NETWORK);
  cr_expect_not_null(strstr(err.message, "cut short"), "%s", err.message);
  control("/emulator/v1/faults",
          "{\"route\":\"" SA "token\",\"kind\":\"reset\"}");
  access_fails(c, GAUTH_E_NETWORK);
  control("/emulator/v1/faults",
          "{\"route\":\"" SA "identity\",\"kind\":\"truncate\"}");
  id_fails(c, GAUTH_E_NETWORK);
  gauth_credentials_free(c);
}

/* Bad token replies from a server that does say Metadata-Flavor: Google:
 * each is a clear GAUTH_E_BAD_RESPONSE naming what is wrong, never the
 * token. */
Test(fail, bad_token_replies) {
  static const struct {
    const char *body;
    const char *says;
  } cases[] = {
      {"{\"access_token\": \"ya29." CANARY, "JSON"},
      {"{\"expires_in\":3600,\"token_type\":\"Bearer\"}", "access_token"},
      {"{\"access_token\":42,\"expires_in\":3600}", "access_token"},
      {"{\"access_token\":\"" CANARY "\",\"expires_in\":\"soon\"}",
       "expires_in"},
      {"{\"access_token\":\"" CANARY "\",\"token_type\":\"MAC\"}",
       "token_type"},
      {"{\"access_token\":\"" CANARY " x\",\"expires_in\":3600}",
       "access_token"},
      {"[1,2,3]", ""},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ts_server *s = ts_start();
    ts_response r = {0};
    gauth_credentials *c;
    gauth_error err;
    r.body = cases[i].body;
    r.headers[0] = "Metadata-Flavor: Google";
    r.headers[1] = "Content-Type: application/json";
    ts_route(s, SA "token", &r, 1);
    at_server(s);
    c = creds();
    err = access_fails(c, GAUTH_E_BAD_RESPONSE);
    cr_expect_not_null(strstr(err.message, cases[i].says), "case %zu: %s", i,
                       err.message);
    cr_expect_not_null(strstr(err.message, "token"), "case %zu: %s", i,
                       err.message);
    gauth_credentials_free(c);
    ts_stop(s);
  }
}

Test(fail, bad_identity_replies) {
  static const char *const bodies[] = {
      "", CANARY, "not a jwt " CANARY,
      "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" /* no exp */, "<html>" CANARY "</html>"};
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    ts_server *s = ts_start();
    ts_response r = {0};
    gauth_credentials *c;
    gauth_error err;
    r.body = bodies[i];
    r.headers[0] = "Metadata-Flavor: Google";
    ts_route(s, SA "identity", &r, 1);
    at_server(s);
    c = creds();
    err = id_fails(c, GAUTH_E_BAD_RESPONSE);
    cr_expect_not_null(strstr(err.message, "identity"), "case %zu: %s", i,
                       err.message);
    gauth_credentials_free(c);
    ts_stop(s);
  }
}

Test(fail, reply_without_flavor) {
  ts_server *s = ts_start();
  ts_response r = {0};
  gauth_credentials *c;
  gauth_error err;
  r.body = "{\"access_token\":\"ya29." CANARY "\",\"expires_in\":3600}";
  ts_route(s, SA "token", &r, 1);
  at_server(s);
  c = creds();
  err = access_fails(c, GAUTH_E_BAD_RESPONSE);
  cr_expect_not_null(strstr(err.message,
                            "something other than the metadata "
                            "server answered"),
                     "%s", err.message);
  gauth_credentials_free(c);
  ts_stop(s);
}
