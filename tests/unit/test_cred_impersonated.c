/* Impersonation, pure parts: IAM Credentials request bodies (parsed back and
 * compared whole), reply parsing (missing, mistyped, empty members, bad
 * expireTime, never a token in a message), targets from arguments and from
 * the impersonation URL, the 403 explanation, and the
 * impersonated_service_account file's members. No request is made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "cred_impersonated.h"
#include "credentials_internal.h"

#define TARGET "runner@demo-project.iam.gserviceaccount.com"
#define D1 "hop1@demo-project.iam.gserviceaccount.com"
#define D2 "hop2@demo-project.iam.gserviceaccount.com"
#define URL_OF(email)                                                       \
  "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" \
  email ":generateAccessToken"
#define CANARY "CANARY-token-8472"

static void assert_clean(const char *text) {
  cr_assert_null(strstr(text, "CANARY"), "a secret in: %s", text);
}

/* body, printed and parsed back, equals the JSON text want exactly. */
static void assert_json_eq(const cJSON *body, const char *want) {
  char *text = cJSON_PrintUnformatted(body);
  cJSON *back = cJSON_Parse(text), *w = cJSON_Parse(want);
  cr_assert_not_null(back);
  cr_assert_not_null(w, "bad expectation %s", want);
  cr_assert(cJSON_Compare(back, w, 1), "got %s, want %s", text, want);
  cJSON_Delete(back);
  cJSON_Delete(w);
  free(text);
}

/* ---- request bodies ------------------------------------------------------ */

Test(body, access_token) {
  const char *scopes[] = {"https://www.googleapis.com/auth/cloud-platform",
                          "openid"};
  const char *delegates[] = {D1, D2, NULL};
  cJSON *b = gauth__iam_access_token_body(scopes, 2, delegates, 3600);
  assert_json_eq(b,
                 "{\"scope\":[\"https://www.googleapis.com/auth/"
                 "cloud-platform\",\"openid\"],\"delegates\":[\"projects/-/"
                 "serviceAccounts/" D1 "\",\"projects/-/serviceAccounts/" D2
                 "\"],\"lifetime\":\"3600s\"}");
  cJSON_Delete(b);
  /* No delegates: the member is left out; the lifetime is as given. */
  b = gauth__iam_access_token_body(scopes, 1, NULL, 600);
  assert_json_eq(b, "{\"scope\":[\"https://www.googleapis.com/auth/"
                    "cloud-platform\"],\"lifetime\":\"600s\"}");
  cJSON_Delete(b);
  const char *none[] = {NULL};
  b = gauth__iam_access_token_body(scopes + 1, 1, none, 43200);
  assert_json_eq(b, "{\"scope\":[\"openid\"],\"lifetime\":\"43200s\"}");
  cJSON_Delete(b);
}

Test(body, id_token) {
  const char *delegates[] = {D1, NULL};
  cJSON *b = gauth__iam_id_token_body("https://svc.example/", 1, delegates);
  assert_json_eq(b, "{\"audience\":\"https://svc.example/\","
                    "\"includeEmail\":true,\"delegates\":[\"projects/-/"
                    "serviceAccounts/" D1 "\"]}");
  cr_assert(cJSON_IsBool(cJSON_GetObjectItem(b, "includeEmail")));
  cJSON_Delete(b);
  b = gauth__iam_id_token_body("aud", 0, NULL);
  assert_json_eq(b, "{\"audience\":\"aud\",\"includeEmail\":false}");
  cJSON_Delete(b);
}

Test(body, sign_blob_and_jwt) {
  /* 0xfb 0xff encodes to "+/8=": the standard alphabet, padded. */
  const unsigned char data[] = {0xfb, 0xff};
  const char *delegates[] = {D2, NULL};
  cJSON *b = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__iam_sign_blob_body(data, 2, NULL, &b, &err), GAUTH_OK);
  assert_json_eq(b, "{\"payload\":\"+/8=\"}");
  cJSON_Delete(b);
  cr_assert_eq(gauth__iam_sign_blob_body("", 0, delegates, &b, &err),
               GAUTH_OK);
  assert_json_eq(b, "{\"payload\":\"\",\"delegates\":[\"projects/-/"
                    "serviceAccounts/" D2 "\"]}");
  cJSON_Delete(b);
  b = gauth__iam_sign_jwt_body("{\"sub\":\"x\",\"exp\":1}", NULL);
  assert_json_eq(b, "{\"payload\":\"{\\\"sub\\\":\\\"x\\\",\\\"exp\\\":1}\"}");
  cJSON_Delete(b);
}

/* ---- replies ------------------------------------------------------------- */

typedef struct bad_case {
  const char *body;
  const char *names; /* the message must name this */
} bad_case;

Test(reply, access_token_ok) {
  const char *body = "{\"accessToken\":\"ya29." CANARY "\","
                     "\"expireTime\":\"2026-01-01T00:00:00Z\"}";
  gauth__token t;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__iam_access_token_parse(body, strlen(body), &t, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(t.value, "ya29." CANARY);
  cr_assert_eq(t.expires_at, 1767225600);
  gauth__token_cleanup(&t);
  /* Fractional seconds and an offset, as Google may send. */
  body = "{\"accessToken\":\"t\",\"expireTime\":\"2026-01-01T01:00:00.5+01:00\"}";
  cr_assert_eq(gauth__iam_access_token_parse(body, strlen(body), &t, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(t.expires_at, 1767225600);
  gauth__token_cleanup(&t);
}

Test(reply, access_token_bad) {
  static const bad_case cases[] = {
      {"{\"expireTime\":\"2026-01-01T00:00:00Z\"}", "\"accessToken\""},
      {"{\"accessToken\":7,\"expireTime\":\"2026-01-01T00:00:00Z\"}",
       "\"accessToken\""},
      {"{\"accessToken\":\"\",\"expireTime\":\"2026-01-01T00:00:00Z\"}",
       "\"accessToken\""},
      {"{\"accessToken\":\"ya29." CANARY "\"}", "\"expireTime\""},
      {"{\"accessToken\":\"ya29." CANARY "\",\"expireTime\":3600}",
       "\"expireTime\""},
      {"{\"accessToken\":\"ya29." CANARY "\",\"expireTime\":\"tomorrow\"}",
       "\"expireTime\""},
      {"{\"accessToken\":\"ya29." CANARY "\",\"expireTime\":"
       "\"2026-13-01T00:00:00Z\"}",
       "\"expireTime\""},
      {"{\"accessToken\":\"ya29." CANARY, "generateAccessToken reply"},
      {"[\"ya29." CANARY "\"]", "generateAccessToken reply"},
      {"", "generateAccessToken reply"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    gauth__token t;
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_status st = gauth__iam_access_token_parse(
        cases[i].body, strlen(cases[i].body), &t, &err);
    cr_assert_eq(st, GAUTH_E_BAD_RESPONSE, "case %zu: %s", i, err.message);
    cr_assert_eq(err.code, GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(t.value, "case %zu", i);
    cr_assert_not_null(strstr(err.message, cases[i].names),
                       "case %zu: %s", i, err.message);
    cr_assert_not_null(strstr(err.message, "generateAccessToken"),
                       "case %zu: %s", i, err.message);
    assert_clean(err.message);
  }
}

/* A JWT with the given claims (unsigned: parsing reads only exp). */
static char *fake_jwt(const char *claims_b64) {
  char *s = malloc(256);
  snprintf(s, 256, "eyJhbGciOiJSUzI1NiJ9.%s.c2ln", claims_b64);
  return s;
}

Test(reply, id_token) {
  /* {"aud":"a","exp":1767225600} */
  char *jwt = fake_jwt("eyJhdWQiOiJhIiwiZXhwIjoxNzY3MjI1NjAwfQ");
  char body[512];
  gauth__token t;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(body, sizeof body, "{\"token\":\"%s\"}", jwt);
  cr_assert_eq(gauth__iam_id_token_parse(body, strlen(body), &t, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(t.value, jwt);
  cr_assert_eq(t.expires_at, 1767225600);
  gauth__token_cleanup(&t);
  free(jwt);

  /* {"aud":"a"}: no exp. */
  jwt = fake_jwt("eyJhdWQiOiJhIn0");
  snprintf(body, sizeof body, "{\"token\":\"%s\"}", jwt);
  cr_assert_eq(gauth__iam_id_token_parse(body, strlen(body), &t, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "\"token\""), "%s", err.message);
  cr_assert_null(strstr(err.message, jwt), "%s", err.message);
  free(jwt);
  static const char *const bad[] = {"{}", "{\"token\":null}",
                                    "{\"token\":[]}", "{\"token\":\"\"}",
                                    "{\"token\":\"" CANARY "\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_eq(gauth__iam_id_token_parse(bad[i], strlen(bad[i]), &t, &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_not_null(strstr(err.message, "\"token\""), "case %zu: %s", i,
                       err.message);
    cr_assert_not_null(strstr(err.message, "generateIdToken"), "%s",
                       err.message);
    assert_clean(err.message);
  }
}

Test(reply, sign_blob) {
  const char *body = "{\"keyId\":\"k1\",\"signedBlob\":\"+/8=\"}";
  unsigned char *sig = NULL;
  size_t n = 0;
  char *kid = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__iam_sign_blob_parse(body, strlen(body), &sig, &n, &kid,
                                          &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(n, 2);
  cr_assert(sig[0] == 0xfb && sig[1] == 0xff);
  cr_assert_str_eq(kid, "k1");
  gauth_free(sig);
  gauth_free(kid);
  /* url-safe base64 without padding is accepted too; key_id optional. */
  body = "{\"keyId\":\"k1\",\"signedBlob\":\"-_8\"}";
  cr_assert_eq(gauth__iam_sign_blob_parse(body, strlen(body), &sig, &n, NULL,
                                          &err),
               GAUTH_OK, "%s", err.message);
  cr_assert(n == 2 && sig[0] == 0xfb && sig[1] == 0xff);
  gauth_free(sig);

  static const bad_case cases[] = {
      {"{\"signedBlob\":\"+/8=\"}", "\"keyId\""},
      {"{\"keyId\":1,\"signedBlob\":\"+/8=\"}", "\"keyId\""},
      {"{\"keyId\":\"k\"}", "\"signedBlob\""},
      {"{\"keyId\":\"k\",\"signedBlob\":\"not base64!\"}", "\"signedBlob\""},
      {"{\"keyId\":\"k\",\"signedBlob\":true}", "\"signedBlob\""},
      {"nope", "signBlob reply"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    kid = (char *)"untouched";
    cr_assert_eq(gauth__iam_sign_blob_parse(cases[i].body,
                                            strlen(cases[i].body), &sig, &n,
                                            &kid, &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu: %s", i, err.message);
    cr_assert(sig == NULL && n == 0 && kid == NULL, "case %zu", i);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s",
                       i, err.message);
  }
}

Test(reply, sign_jwt) {
  const char *body = "{\"keyId\":\"k2\",\"signedJwt\":\"a.b.c\"}";
  char *jwt = NULL, *kid = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__iam_sign_jwt_parse(body, strlen(body), &jwt, &kid,
                                         &err),
               GAUTH_OK);
  cr_assert_str_eq(jwt, "a.b.c");
  cr_assert_str_eq(kid, "k2");
  gauth_free(jwt);
  gauth_free(kid);
  static const bad_case cases[] = {
      {"{\"keyId\":\"k2\"}", "\"signedJwt\""},
      {"{\"keyId\":\"k2\",\"signedJwt\":{}}", "\"signedJwt\""},
      {"{\"signedJwt\":\"" CANARY "\"}", "\"keyId\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cr_assert_eq(gauth__iam_sign_jwt_parse(cases[i].body,
                                           strlen(cases[i].body), &jwt, &kid,
                                           &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert(jwt == NULL && kid == NULL);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s",
                       i, err.message);
    assert_clean(err.message);
  }
}

/* ---- targets ------------------------------------------------------------- */

Test(target, arguments) {
  static const char *const good[] = {
      TARGET, "projects/-/serviceAccounts/" TARGET,
      "projects/other-project/serviceAccounts/" TARGET};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    char *email = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__iam_parse_target(good[i], "target_email",
                                         GAUTH_E_INVALID_ARG, &email, &err),
                 GAUTH_OK, "%s: %s", good[i], err.message);
    cr_assert_str_eq(email, TARGET);
    free(email);
  }
  static const char *const bad[] = {
      "",
      "runner",
      "@demo-project.iam.gserviceaccount.com",
      "runner@",
      "runner@localhost",
      "a@b@c.com",
      "runner@demo.com/x",
      "runner@demo.com:signBlob",
      "runner @demo.com",
      "runner@demo.com?x=1",
      "runner%40demo.com",
      "projects/-/serviceAccounts/",
      "projects//serviceAccounts/" TARGET,
      "projects/-/serviceAccounts/a/" TARGET,
      "serviceAccounts/" TARGET,
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *email = (char *)"x";
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__iam_parse_target(bad[i], "delegates[2]",
                                         GAUTH_E_MALFORMED, &email, &err),
                 GAUTH_E_MALFORMED, "accepted %s", bad[i]);
    cr_assert_null(email);
    cr_assert_not_null(strstr(err.message, "delegates[2]"), "%s",
                       err.message);
  }
  char *email = NULL;
  cr_assert_eq(gauth__iam_parse_target(NULL, "target_email",
                                       GAUTH_E_INVALID_ARG, &email, NULL),
               GAUTH_E_INVALID_ARG);
}

Test(target, impersonation_url) {
  static const char *const good[] = {
      URL_OF(TARGET),
      "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/" TARGET
      ":generateAccessToken",
      "https://iamcredentials.example.com/v1/projects/p/serviceAccounts/"
      TARGET ":generateAccessToken"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    char *email = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__iam_target_from_url(good[i], "field \"u\"", &email,
                                            &err),
                 GAUTH_OK, "%s: %s", good[i], err.message);
    cr_assert_str_eq(email, TARGET);
    free(email);
  }
  static const char *const bad[] = {
      "",
      TARGET,
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" TARGET,
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" TARGET
      ":generateIdToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      ":generateAccessToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      "not-an-email:generateAccessToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      "a/" TARGET ":generateAccessToken",
      URL_OF(TARGET) "?x=1",
      "ftp://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      TARGET ":generateAccessToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/" TARGET
      ":generateAccessToken",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *email = (char *)"x";
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__iam_target_from_url(
                     bad[i], "field \"service_account_impersonation_url\"",
                     &email, &err),
                 GAUTH_E_MALFORMED, "accepted %s", bad[i]);
    cr_assert_null(email);
    cr_assert_not_null(
        strstr(err.message, "\"service_account_impersonation_url\""), "%s",
        err.message);
  }
}

/* ---- permission denied -------------------------------------------------- */

Test(denied, message) {
  gauth_error err = GAUTH_ERROR_INIT;
  const char *google =
      "POST http://127.0.0.1:1/v1/projects/-/serviceAccounts/" TARGET
      ":generateIdToken: HTTP 403 PERMISSION_DENIED: Permission "
      "'iam.serviceAccounts.getOpenIdToken' denied on resource (or it may "
      "not exist).";
  cr_assert_str_eq(gauth__iam_permission("generateIdToken"),
                   "iam.serviceAccounts.getOpenIdToken");
  cr_assert_str_eq(gauth__iam_permission("generateAccessToken"),
                   "iam.serviceAccounts.getAccessToken");
  cr_assert_str_eq(gauth__iam_permission("signBlob"),
                   "iam.serviceAccounts.signBlob");
  cr_assert_str_eq(gauth__iam_permission("signJwt"),
                   "iam.serviceAccounts.signJwt");
  cr_assert_null(gauth__iam_permission("nope"));

  snprintf(err.message, sizeof err.message, "%s", google);
  gauth__iam_denied_message(&err, "generateIdToken", TARGET, "me@p.iam.x.com",
                            TARGET, "iam.serviceAccounts.getOpenIdToken", 0,
                            0);
  cr_assert_str_eq(
      err.message,
      "generateIdToken on " TARGET ": me@p.iam.x.com lacks permission "
      "iam.serviceAccounts.getOpenIdToken on " TARGET "; grant it "
      "roles/iam.serviceAccountTokenCreator on that account. Google: HTTP "
      "403 PERMISSION_DENIED: Permission 'iam.serviceAccounts.getOpenIdToken' "
      "denied on resource (or it may not exist).");

  snprintf(err.message, sizeof err.message, "%s", google);
  gauth__iam_denied_message(&err, "generateAccessToken", TARGET, D1, D2,
                            "iam.serviceAccounts.getAccessToken", 2, 3);
  cr_assert_not_null(strstr(err.message,
                            ": " D1 " lacks permission "
                            "iam.serviceAccounts.getAccessToken on " D2
                            " (delegation hop 2 of 3);"),
                     "%s", err.message);

  snprintf(err.message, sizeof err.message, "%s", google);
  gauth__iam_denied_message(&err, "signBlob", TARGET, NULL, NULL,
                            "iam.serviceAccounts.signBlob", 0, 3);
  cr_assert_not_null(strstr(err.message, "somewhere in the delegation chain"),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, "Google: HTTP 403"), "%s",
                     err.message);
  gauth__iam_denied_message(NULL, "signBlob", TARGET, NULL, NULL, "p", 0, 3);
}

/* ---- the impersonated_service_account file ------------------------------ */

#define USER_SOURCE                                                         \
  "{\"type\":\"authorized_user\",\"client_id\":\"id.apps.example\","       \
  "\"client_secret\":\"CANARY-secret-1\",\"refresh_token\":\"1//CANARY-r\"}"

static char *file_text(const char *url, const char *delegates,
                       const char *source, const char *extra) {
  char *s = malloc(4096);
  int n = snprintf(s, 4096, "{\"type\":\"impersonated_service_account\"");
  if (url) n += snprintf(s + n, (size_t)(4096 - n),
                         ",\"service_account_impersonation_url\":%s", url);
  if (delegates) n += snprintf(s + n, (size_t)(4096 - n),
                               ",\"delegates\":%s", delegates);
  if (source) n += snprintf(s + n, (size_t)(4096 - n),
                            ",\"source_credentials\":%s", source);
  if (extra) n += snprintf(s + n, (size_t)(4096 - n), ",%s", extra);
  snprintf(s + n, (size_t)(4096 - n), "}");
  return s;
}

static gauth_status load(const char *text, gauth_credentials **c,
                         gauth_error *err) {
  return gauth_credentials_from_json(c, text, strlen(text), NULL, err);
}

Test(file, good) {
  char *t = file_text("\"" URL_OF(TARGET) "\"",
                      "[\"" D1 "\",\"projects/-/serviceAccounts/" D2 "\"]",
                      USER_SOURCE, "\"quota_project_id\":\"billing\"");
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(load(t, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_get_type(c), GAUTH_CREDENTIALS_IMPERSONATED);
  cr_assert_str_eq(gauth_credentials_origin(c),
                   "impersonation of " TARGET " (from JSON)");
  cr_assert_str_eq(gauth_credentials_quota_project(c), "billing");
  char *email = NULL, *project = NULL;
  cr_assert_eq(gauth_credentials_email(c, &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, TARGET);
  gauth_free(email);
  cr_assert_eq(gauth_credentials_project_id(c, &project, &err),
               GAUTH_E_NOT_FOUND);
  cr_assert_null(project);
  gauth_credentials_free(c);

  /* The options' quota project wins over the file's. */
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  co.quota_project = "mine";
  cr_assert_eq(gauth_credentials_from_json(&c, t, strlen(t), &co, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "mine");
  gauth_credentials_free(c);
  free(t);

  /* project_id, when the file gives one. */
  t = file_text("\"" URL_OF(TARGET) "\"", NULL, USER_SOURCE,
                "\"project_id\":\"proj-1\"");
  cr_assert_eq(load(t, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_project_id(c, &project, &err), GAUTH_OK);
  cr_assert_str_eq(project, "proj-1");
  gauth_free(project);
  gauth_credentials_free(c);
  free(t);
}

Test(file, bad_members) {
  static const struct {
    const char *url, *delegates, *source, *extra;
    gauth_status code;
    const char *names;
  } cases[] = {
      {NULL, NULL, USER_SOURCE, NULL, GAUTH_E_MALFORMED,
       "\"service_account_impersonation_url\""},
      {"42", NULL, USER_SOURCE, NULL, GAUTH_E_MALFORMED,
       "\"service_account_impersonation_url\""},
      {"\"https://iamcredentials.googleapis.com/v1/projects/-/"
       "serviceAccounts/nobody:generateAccessToken\"",
       NULL, USER_SOURCE, NULL, GAUTH_E_MALFORMED,
       "\"service_account_impersonation_url\""},
      {"\"" URL_OF(TARGET) "\"", "\"" D1 "\"", USER_SOURCE, NULL,
       GAUTH_E_MALFORMED, "\"delegates\""},
      {"\"" URL_OF(TARGET) "\"", "[\"" D1 "\",3]", USER_SOURCE, NULL,
       GAUTH_E_MALFORMED, "\"delegates\"[1]"},
      {"\"" URL_OF(TARGET) "\"", "[\"bad delegate\"]", USER_SOURCE, NULL,
       GAUTH_E_MALFORMED, "\"delegates\"[0]"},
      {"\"" URL_OF(TARGET) "\"", NULL, NULL, NULL, GAUTH_E_MALFORMED,
       "\"source_credentials\""},
      {"\"" URL_OF(TARGET) "\"", NULL, "\"x\"", NULL, GAUTH_E_MALFORMED,
       "\"source_credentials\""},
      {"\"" URL_OF(TARGET) "\"", NULL, "{\"client_id\":\"x\"}", NULL,
       GAUTH_E_MALFORMED, "\"source_credentials\""},
      {"\"" URL_OF(TARGET) "\"", NULL,
       "{\"type\":\"authorized_user\",\"client_id\":\"x\","
       "\"client_secret\":\"CANARY-s\"}",
       NULL, GAUTH_E_MALFORMED, "refresh_token"},
      {"\"" URL_OF(TARGET) "\"", NULL,
       "{\"type\":\"impersonated_service_account\"}", NULL,
       GAUTH_E_UNSUPPORTED, "\"source_credentials\""},
      {"\"" URL_OF(TARGET) "\"", NULL, USER_SOURCE,
       "\"quota_project_id\":false", GAUTH_E_MALFORMED, "\"quota_project_id\""},
      {"\"" URL_OF(TARGET) "\"", NULL, USER_SOURCE, "\"project_id\":[]",
       GAUTH_E_MALFORMED, "\"project_id\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *t = file_text(cases[i].url, cases[i].delegates, cases[i].source,
                        cases[i].extra);
    gauth_credentials *c = (gauth_credentials *)1;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(load(t, &c, &err), cases[i].code, "case %zu: %s", i,
                 err.message);
    cr_assert_null(c, "case %zu", i);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s",
                       i, err.message);
    assert_clean(err.message);
    free(t);
  }
}

/* ---- the programmatic constructor ---------------------------------------- */

static gauth_credentials *user_source(void) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(load(USER_SOURCE, &c, &err), GAUTH_OK, "%s", err.message);
  return c;
}

Test(impersonate, arguments) {
  gauth_credentials *src = user_source(), *c = (gauth_credentials *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *bad_delegates[] = {D1, "nobody", NULL};
  cr_assert_eq(gauth_credentials_impersonate(NULL, src, TARGET, NULL, NULL,
                                             &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_credentials_impersonate(&c, NULL, TARGET, NULL, NULL,
                                             &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(c);
  cr_assert_eq(gauth_credentials_impersonate(&c, src, NULL, NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "target_email"), "%s", err.message);
  cr_assert_eq(gauth_credentials_impersonate(&c, src, "x@y", NULL, NULL,
                                             &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "target_email"), "%s", err.message);
  cr_assert_eq(gauth_credentials_impersonate(&c, src, TARGET, bad_delegates,
                                             NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "delegates[1]"), "%s", err.message);
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  co.version = 99;
  cr_assert_eq(gauth_credentials_impersonate(&c, src, TARGET, NULL, &co,
                                             &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(c);

  /* The source is referenced: freeing it first is fine. */
  const char *delegates[] = {D1, NULL};
  cr_assert_eq(gauth_credentials_impersonate(
                   &c, src, "projects/-/serviceAccounts/" TARGET, delegates,
                   NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_credentials_free(src);
  cr_assert_str_eq(gauth_credentials_origin(c), "impersonation of " TARGET);
  cr_assert_null(gauth_credentials_quota_project(c));
  char *email = NULL;
  cr_assert_eq(gauth_credentials_email(c, &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, TARGET);
  gauth_free(email);
  gauth_credentials_free(c);
}
