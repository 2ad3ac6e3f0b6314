/* Authorized-user credentials over real HTTP: the emulator's default end
 * user (developer@example.com) through its refresh-token grant, and a
 * capturing test server for the exact request and for replies the emulator
 * does not give (no id_token). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "test_server.h"

#define CLIENT_ID "emulator-client.apps.googleusercontent.com"
#define CLIENT_SECRET "emulator-client-secret"
#define REFRESH "1//emulator-refresh-token"
#define USER "developer@example.com"
#define TEST_PERMS "/v1/projects/demo-project:testIamPermissions"
#define JOB_RUN \
  "/v2/projects/demo-project/locations/us-central1/jobs/collect:run"

static void reset_emulator(void) {
  emu_reply r;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/counters:reset", "{}", NULL),
      200);
  cr_assert_eq(emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults",
                        NULL, NULL, &r),
               0);
  emu_reply_free(&r);
}

static int counter(const char *path) {
  long v = emu_counter(emu_fixture_url(), path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

static void setup(void) { reset_emulator(); }
static void teardown(void) { reset_emulator(); }

TestSuite(creds_user, .init = setup, .fini = teardown, .timeout = 60);

static gauth_options fast_options(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 40;
  o.retry.deadline_ms = 10000;
  o.timeout_ms = 5000;
  return o;
}

/* A gcloud-style file for the given token endpoint and secrets. */
static gauth_credentials *user_creds(const char *token_uri, const char *secret,
                                     const char *refresh,
                                     const gauth_options *o) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char json[1024];
  snprintf(json, sizeof json,
           "{\"account\":\"\",\"client_id\":\"" CLIENT_ID
           "\","
           "\"client_secret\":\"%s\",\"quota_project_id\":\"demo-project\","
           "\"refresh_token\":\"%s\",\"token_uri\":\"%s\","
           "\"type\":\"authorized_user\",\"universe_domain\":"
           "\"googleapis.com\"}",
           secret, refresh, token_uri);
  co.options = o;
  cr_assert_eq(gauth_credentials_from_json(&c, json, strlen(json), &co, &err),
               GAUTH_OK, "%s", err.message);
  return c;
}

static gauth_credentials *emu_user(const char *secret, const char *refresh,
                                   const gauth_options *o) {
  char uri[512];
  snprintf(uri, sizeof uri, "%s/token", emu_fixture_url());
  return user_creds(uri, secret, refresh, o);
}

static long post_with(const char *path, const char *token, char **body) {
  char auth[8192];
  const char *h[] = {auth, "Content-Type: application/json", NULL};
  emu_reply r;
  long st;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  cr_assert_eq(
      emu_http(emu_fixture_url(), "POST", path, h,
               "{\"permissions\":[\"resourcemanager.projects.get\"]}", &r),
      0);
  st = r.status;
  if (body != NULL) *body = strdup(r.body);
  emu_reply_free(&r);
  return st;
}

static void assert_no_secret(const gauth_error *err) {
  cr_assert_null(strstr(err->message, CLIENT_SECRET), "%s", err->message);
  cr_assert_null(strstr(err->message, "emulator-refresh-token"), "%s",
                 err->message);
  cr_assert_null(strstr(err->message, "wrong-refresh"), "%s", err->message);
}

Test(creds_user, access_token_is_accepted) {
  gauth_options o = fast_options();
  gauth_credentials *c = emu_user(CLIENT_SECRET, REFRESH, &o);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, *body = NULL;
  int64_t exp = 0, now = (int64_t)time(NULL);

  cr_assert_eq(gauth_credentials_get_type(c),
               GAUTH_CREDENTIALS_AUTHORIZED_USER);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(strncmp(tok, "ya29.", 5), 0);
  cr_assert(exp >= now + 3590 && exp <= now + 3600);
  cr_assert_eq(counter("/token"), 1);
  /* Authenticated as the user: testIamPermissions answers (with nothing
   * granted), the job refuses with 403, not 401. */
  cr_assert_eq(post_with(TEST_PERMS, tok, &body), 200, "%s", body);
  free(body);
  cr_assert_eq(post_with(JOB_RUN, tok, NULL), 403);
  gauth_free(tok);
  gauth_credentials_free(c);
}

Test(creds_user, id_token_from_the_refresh_reply) {
  gauth_options o = fast_options(), vopts = GAUTH_OPTIONS_INIT;
  gauth_credentials *c = emu_user(CLIENT_SECRET, REFRESH, &o);
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  const char *auds[] = {CLIENT_ID, NULL};
  gauth_verifier *v = NULL;
  gauth_claims *cl = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *email = NULL;
  char *tok = NULL;
  int64_t exp = 0;

  /* The audience asked for is not the one given: the OAuth client's. */
  cr_assert_eq(gauth_credentials_id_token(c, "https://svc.example/", 0, &tok,
                                          &exp, &err),
               GAUTH_OK, "%s", err.message);
  vopts.endpoint = emu_fixture_url();
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = auds;
  vo.http = &vopts;
  cr_assert_eq(gauth_verifier_new(&v, &vo, &err), GAUTH_OK);
  cr_assert_eq(gauth_verifier_verify(v, tok, 0, &cl, &err), GAUTH_OK, "%s: %s",
               err.reason, err.message);
  cr_assert_eq(gauth_claims_get_string(cl, "email", &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, USER);
  cr_assert_eq(gauth_claims_expires_at(cl), exp);
  cr_assert_eq(counter("/token"), 1);
  gauth_claims_free(cl);
  gauth_verifier_free(v);
  gauth_free(tok);
  gauth_credentials_free(c);
}

Test(creds_user, wrong_refresh_token_is_unauthenticated) {
  gauth_options o = fast_options();
  gauth_credentials *c = emu_user(CLIENT_SECRET, "1//wrong-refresh-token", &o);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert_null(tok);
  cr_assert_str_eq(err.error_code, "invalid_grant");
  cr_assert_eq(err.http_status, 400);
  cr_assert_not_null(strstr(err.message, "authorized user (client " CLIENT_ID
                                         "): access token: "),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message,
                            "gcloud auth application-default "
                            "login"),
                     "%s", err.message);
  assert_no_secret(&err);
  cr_assert_eq(counter("/token"), 1);
  gauth_credentials_free(c);
}

Test(creds_user, wrong_client_secret_is_unauthenticated) {
  gauth_options o = fast_options();
  gauth_credentials *c = emu_user("wrong-secret-xyz", REFRESH, &o);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  cr_assert_eq(
      gauth_credentials_id_token(c, "https://a.example/", 0, &tok, NULL, &err),
      GAUTH_E_UNAUTHENTICATED);
  cr_assert_str_eq(err.error_code, "invalid_client");
  cr_assert_eq(err.http_status, 401);
  cr_assert_null(strstr(err.message, "wrong-secret-xyz"), "%s", err.message);
  assert_no_secret(&err);
  gauth_credentials_free(c);
}

Test(creds_user, unavailable_once_then_success) {
  gauth_options o = fast_options();
  gauth_credentials *c = emu_user(CLIENT_SECRET, REFRESH, &o);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, *out = NULL;
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/faults",
                           "{\"route\":\"/token\",\"kind\":\"status\","
                           "\"status\":503,\"count\":1}",
                           &out),
               200);
  free(out);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(counter("/token"), 2);
  gauth_free(tok);
  gauth_credentials_free(c);
}

Test(creds_user, refresh_request_exact) {
  ts_server *s = ts_start();
  ts_response ok = {.status = 200,
                    .body =
                        "{\"access_token\":\"ya29.user\",\"expires_in\":"
                        "3599,\"scope\":\"openid\",\"token_type\":"
                        "\"Bearer\"}"};
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c;
  ts_request r;
  char uri[256], *tok = NULL;

  ts_route(s, "/token", &ok, 1);
  ts_url(s, "/token", uri, sizeof uri);
  c = user_creds(uri, "s3cr/et", "1//r+t", &o);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, "ya29.user");
  cr_assert(ts_last_request(s, "/token", &r));
  cr_assert_str_eq(r.method, "POST");
  cr_assert_not_null(strstr(r.headers, "application/x-www-form-urlencoded"));
  cr_assert_str_eq(r.body, "grant_type=refresh_token&client_id=" CLIENT_ID
                           "&client_secret=s3cr%2Fet&refresh_token="
                           "1%2F%2Fr%2Bt");
  ts_request_cleanup(&r);
  gauth_free(tok);

  /* No id_token in the reply: the error names the alternative. */
  cr_assert_eq(gauth_credentials_id_token(c, "https://svc.example/", 0, &tok,
                                          NULL, &err),
               GAUTH_E_UNSUPPORTED);
  cr_assert_null(tok);
  cr_assert_not_null(strstr(err.message, "no id_token"), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "gauth_credentials_impersonate"), "%s",
                     err.message);
  cr_assert_not_null(strstr(err.message, "--impersonate-service-account"), "%s",
                     err.message);
  cr_assert_eq(ts_count(s, "/token"), 2);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(creds_user, bad_replies_are_bad_responses) {
  ts_server *s = ts_start();
  ts_response seq[] = {
      {.status = 200, .body = "{\"expires_in\":3599}"},
      {.status = 200,
       .body = "{\"access_token\":\"ya29.x\",\"token_type\":"
               "\"mac\"}"},
      {.status = 200,
       .body = "{\"access_token\":\"ya29.x\",\"id_token\":"
               "\"not-a-jwt\"}"},
  };
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c;
  char uri[256], *tok = NULL;

  ts_route(s, "/token", seq, 3);
  ts_url(s, "/token", uri, sizeof uri);
  c = user_creds(uri, CLIENT_SECRET, REFRESH, &o);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "access_token"), "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "token_type"), "%s", err.message);
  cr_assert_eq(
      gauth_credentials_id_token(c, "https://a.example/", 0, &tok, NULL, &err),
      GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "id_token"), "%s", err.message);
  assert_no_secret(&err);
  cr_assert_null(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}
