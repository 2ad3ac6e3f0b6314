/* IAM Credentials, pure parts: request bodies (parsed back and compared
 * whole), reply parsing (missing, mistyped, empty members, bad expireTime,
 * never a token in a message), service-account emails from arguments and
 * from the impersonation URL, and the 403 explanation. No request is
 * made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "credentials_internal.h"
#include "iam_credentials.h"

#define SA_EMAIL "runner@demo-project.iam.gserviceaccount.com"
#define D1 "hop1@demo-project.iam.gserviceaccount.com"
#define D2 "hop2@demo-project.iam.gserviceaccount.com"
#define URL_OF(email)                                                          \
  "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" email \
  ":generateAccessToken"
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
  cJSON *b =
      gauth__iamcredentials_access_token_body(scopes, 2, delegates, 3600);
  assert_json_eq(b,
                 "{\"scope\":[\"https://www.googleapis.com/auth/"
                 "cloud-platform\",\"openid\"],\"delegates\":[\"projects/-/"
                 "serviceAccounts/" D1 "\",\"projects/-/serviceAccounts/" D2
                 "\"],\"lifetime\":\"3600s\"}");
  cJSON_Delete(b);
  /* No delegates: the member is left out; the lifetime is as given. */
  b = gauth__iamcredentials_access_token_body(scopes, 1, NULL, 600);
  assert_json_eq(b,
                 "{\"scope\":[\"https://www.googleapis.com/auth/"
                 "cloud-platform\"],\"lifetime\":\"600s\"}");
  cJSON_Delete(b);
  const char *none[] = {NULL};
  b = gauth__iamcredentials_access_token_body(scopes + 1, 1, none, 43200);
  assert_json_eq(b, "{\"scope\":[\"openid\"],\"lifetime\":\"43200s\"}");
  cJSON_Delete(b);
}

Test(body, id_token) {
  const char *delegates[] = {D1, NULL};
  cJSON *b =
      gauth__iamcredentials_id_token_body("https://svc.example/", 1, delegates);
  assert_json_eq(b,
                 "{\"audience\":\"https://svc.example/\","
                 "\"includeEmail\":true,\"delegates\":[\"projects/-/"
                 "serviceAccounts/" D1 "\"]}");
  cr_assert(cJSON_IsBool(cJSON_GetObjectItem(b, "includeEmail")));
  cJSON_Delete(b);
  b = gauth__iamcredentials_id_token_body("aud", 0, NULL);
  assert_json_eq(b, "{\"audience\":\"aud\",\"includeEmail\":false}");
  cJSON_Delete(b);
}

Test(body, sign_blob_and_jwt) {
  /* 0xfb 0xff encodes to "+/8=": the standard alphabet, padded. */
  const unsigned char data[] = {0xfb, 0xff};
  const char *delegates[] = {D2, NULL};
  cJSON *b = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__iamcredentials_sign_blob_body(data, 2, NULL, &b, &err),
               GAUTH_OK);
  assert_json_eq(b, "{\"payload\":\"+/8=\"}");
  cJSON_Delete(b);
  cr_assert_eq(gauth__iamcredentials_sign_blob_body("", 0, delegates, &b, &err),
               GAUTH_OK);
  assert_json_eq(b,
                 "{\"payload\":\"\",\"delegates\":[\"projects/-/"
                 "serviceAccounts/" D2 "\"]}");
  cJSON_Delete(b);
  b = gauth__iamcredentials_sign_jwt_body("{\"sub\":\"x\",\"exp\":1}", NULL);
  assert_json_eq(b, "{\"payload\":\"{\\\"sub\\\":\\\"x\\\",\\\"exp\\\":1}\"}");
  cJSON_Delete(b);
}

/* ---- replies ------------------------------------------------------------- */

typedef struct bad_case {
  const char *body;
  const char *names; /* the message must name this */
} bad_case;

Test(reply, access_token_ok) {
  const char *body = "{\"accessToken\":\"ya29." CANARY
                     "\","
                     "\"expireTime\":\"2026-01-01T00:00:00Z\"}";
  gauth__token t;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      gauth__iamcredentials_access_token_parse(body, strlen(body), &t, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(t.value, "ya29." CANARY);
  cr_assert_eq(t.expires_at, 1767225600);
  gauth__token_cleanup(&t);
  /* Fractional seconds and an offset, as Google may send. */
  body =
      "{\"accessToken\":\"t\",\"expireTime\":\"2026-01-01T01:00:00.5+01:00\"}";
  cr_assert_eq(
      gauth__iamcredentials_access_token_parse(body, strlen(body), &t, &err),
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
      /* A token goes into an Authorization header: no CR, LF, space or
       * byte outside printable ASCII (a header injection otherwise). */
      {"{\"accessToken\":\"ya29.a\\r\\nX-Injected: 1\",\"expireTime\":"
       "\"2026-01-01T00:00:00Z\"}",
       "\"accessToken\""},
      {"{\"accessToken\":\"ya29.a b\",\"expireTime\":"
       "\"2026-01-01T00:00:00Z\"}",
       "\"accessToken\""},
      {"{\"accessToken\":\"ya29.\\u00e9\",\"expireTime\":"
       "\"2026-01-01T00:00:00Z\"}",
       "\"accessToken\""},
      {"{\"accessToken\":\"ya29." CANARY, "generateAccessToken reply"},
      {"[\"ya29." CANARY "\"]", "generateAccessToken reply"},
      {"", "generateAccessToken reply"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    gauth__token t;
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_status st = gauth__iamcredentials_access_token_parse(
        cases[i].body, strlen(cases[i].body), &t, &err);
    cr_assert_eq(st, GAUTH_E_BAD_RESPONSE, "case %zu: %s", i, err.message);
    cr_assert_eq(err.code, GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(t.value, "case %zu", i);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s", i,
                       err.message);
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
  cr_assert_eq(
      gauth__iamcredentials_id_token_parse(body, strlen(body), &t, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(t.value, jwt);
  cr_assert_eq(t.expires_at, 1767225600);
  gauth__token_cleanup(&t);
  free(jwt);

  /* {"aud":"a"}: no exp. */
  jwt = fake_jwt("eyJhdWQiOiJhIn0");
  snprintf(body, sizeof body, "{\"token\":\"%s\"}", jwt);
  cr_assert_eq(
      gauth__iamcredentials_id_token_parse(body, strlen(body), &t, &err),
      GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "\"token\""), "%s", err.message);
  cr_assert_null(strstr(err.message, jwt), "%s", err.message);
  free(jwt);
  static const char *const bad[] = {"{}",
                                    "{\"token\":null}",
                                    "{\"token\":[]}",
                                    "{\"token\":\"\"}",
                                    "{\"token\":\"" CANARY "\"}",
                                    "{\"token\":\"a.b\\r\\nX: 1.c\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_eq(
        gauth__iamcredentials_id_token_parse(bad[i], strlen(bad[i]), &t, &err),
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
  cr_assert_eq(gauth__iamcredentials_sign_blob_parse(body, strlen(body), &sig,
                                                     &n, &kid, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(n, 2);
  cr_assert(sig[0] == 0xfb && sig[1] == 0xff);
  cr_assert_str_eq(kid, "k1");
  gauth_free(sig);
  gauth_free(kid);
  /* url-safe base64 without padding is accepted too; key_id optional. */
  body = "{\"keyId\":\"k1\",\"signedBlob\":\"-_8\"}";
  cr_assert_eq(gauth__iamcredentials_sign_blob_parse(body, strlen(body), &sig,
                                                     &n, NULL, &err),
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
    cr_assert_eq(
        gauth__iamcredentials_sign_blob_parse(
            cases[i].body, strlen(cases[i].body), &sig, &n, &kid, &err),
        GAUTH_E_BAD_RESPONSE, "case %zu: %s", i, err.message);
    cr_assert(sig == NULL && n == 0 && kid == NULL, "case %zu", i);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s", i,
                       err.message);
  }
}

Test(reply, sign_jwt) {
  const char *body = "{\"keyId\":\"k2\",\"signedJwt\":\"a.b.c\"}";
  char *jwt = NULL, *kid = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__iamcredentials_sign_jwt_parse(body, strlen(body), &jwt,
                                                    &kid, &err),
               GAUTH_OK);
  cr_assert_str_eq(jwt, "a.b.c");
  cr_assert_str_eq(kid, "k2");
  gauth_free(jwt);
  gauth_free(kid);
  static const bad_case cases[] = {
      {"{\"keyId\":\"k2\"}", "\"signedJwt\""},
      {"{\"keyId\":\"k2\",\"signedJwt\":{}}", "\"signedJwt\""},
      {"{\"signedJwt\":\"" CANARY "\"}", "\"keyId\""},
      {"{\"keyId\":\"k2\",\"signedJwt\":\"a.b.c\\r\\nX: 1\"}", "\"signedJwt\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cr_assert_eq(gauth__iamcredentials_sign_jwt_parse(
                     cases[i].body, strlen(cases[i].body), &jwt, &kid, &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert(jwt == NULL && kid == NULL);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s", i,
                       err.message);
    assert_clean(err.message);
  }
}

/* ---- service-account emails ---------------------------------------------- */

Test(sa_email, arguments) {
  static const char *const good[] = {
      SA_EMAIL, "projects/-/serviceAccounts/" SA_EMAIL,
      "projects/other-project/serviceAccounts/" SA_EMAIL};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    char *email = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(
        gauth__iamcredentials_parse_sa_email(good[i], "target_email",
                                             GAUTH_E_INVALID_ARG, &email, &err),
        GAUTH_OK, "%s: %s", good[i], err.message);
    cr_assert_str_eq(email, SA_EMAIL);
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
      "projects//serviceAccounts/" SA_EMAIL,
      "projects/-/serviceAccounts/a/" SA_EMAIL,
      "serviceAccounts/" SA_EMAIL,
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *email = (char *)"x";
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__iamcredentials_parse_sa_email(
                     bad[i], "delegates[2]", GAUTH_E_MALFORMED, &email, &err),
                 GAUTH_E_MALFORMED, "accepted %s", bad[i]);
    cr_assert_null(email);
    cr_assert_not_null(strstr(err.message, "delegates[2]"), "%s", err.message);
  }
  char *email = NULL;
  cr_assert_eq(gauth__iamcredentials_parse_sa_email(
                   NULL, "target_email", GAUTH_E_INVALID_ARG, &email, NULL),
               GAUTH_E_INVALID_ARG);
}

Test(sa_email, impersonation_url) {
  static const char *const good[] = {
      URL_OF(SA_EMAIL),
      "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/" SA_EMAIL
      ":generateAccessToken",
      "https://iamcredentials.example.com/v1/projects/p/serviceAccounts/" SA_EMAIL
      ":generateAccessToken"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    char *email = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__iamcredentials_sa_email_from_url(good[i], "field \"u\"",
                                                         &email, &err),
                 GAUTH_OK, "%s: %s", good[i], err.message);
    cr_assert_str_eq(email, SA_EMAIL);
    free(email);
  }
  static const char *const bad[] = {
      "",
      SA_EMAIL,
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" SA_EMAIL,
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" SA_EMAIL
      ":generateIdToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      ":generateAccessToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      "not-an-email:generateAccessToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      "a/" SA_EMAIL ":generateAccessToken",
      URL_OF(SA_EMAIL) "?x=1",
      "ftp://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" SA_EMAIL
      ":generateAccessToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/" SA_EMAIL
      ":generateAccessToken",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *email = (char *)"x";
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__iamcredentials_sa_email_from_url(
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
      "POST http://127.0.0.1:1/v1/projects/-/serviceAccounts/" SA_EMAIL
      ":generateIdToken: HTTP 403 PERMISSION_DENIED: Permission "
      "'iam.serviceAccounts.getOpenIdToken' denied on resource (or it may "
      "not exist).";
  cr_assert_str_eq(gauth__iamcredentials_permission("generateIdToken"),
                   "iam.serviceAccounts.getOpenIdToken");
  cr_assert_str_eq(gauth__iamcredentials_permission("generateAccessToken"),
                   "iam.serviceAccounts.getAccessToken");
  cr_assert_str_eq(gauth__iamcredentials_permission("signBlob"),
                   "iam.serviceAccounts.signBlob");
  cr_assert_str_eq(gauth__iamcredentials_permission("signJwt"),
                   "iam.serviceAccounts.signJwt");
  cr_assert_null(gauth__iamcredentials_permission("nope"));

  snprintf(err.message, sizeof err.message, "%s", google);
  gauth__iamcredentials_denied_message(
      &err, "generateIdToken", SA_EMAIL, "me@p.iam.x.com", SA_EMAIL,
      "iam.serviceAccounts.getOpenIdToken", 0, 0);
  cr_assert_str_eq(
      err.message,
      "generateIdToken on " SA_EMAIL
      ": me@p.iam.x.com lacks permission "
      "iam.serviceAccounts.getOpenIdToken on " SA_EMAIL
      "; grant it "
      "roles/iam.serviceAccountTokenCreator on that account. Google: HTTP "
      "403 PERMISSION_DENIED: Permission 'iam.serviceAccounts.getOpenIdToken' "
      "denied on resource (or it may not exist).");

  snprintf(err.message, sizeof err.message, "%s", google);
  gauth__iamcredentials_denied_message(
      &err, "generateAccessToken", SA_EMAIL, D1, D2,
      "iam.serviceAccounts.getAccessToken", 2, 3);
  cr_assert_not_null(
      strstr(err.message, ": " D1 " lacks permission "
                          "iam.serviceAccounts.getAccessToken on " D2
                          " (delegation hop 2 of 3);"),
      "%s", err.message);

  snprintf(err.message, sizeof err.message, "%s", google);
  gauth__iamcredentials_denied_message(&err, "signBlob", SA_EMAIL, NULL, NULL,
                                       "iam.serviceAccounts.signBlob", 0, 3);
  cr_assert_not_null(strstr(err.message, "somewhere in the delegation chain"),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, "Google: HTTP 403"), "%s",
                     err.message);
  gauth__iamcredentials_denied_message(NULL, "signBlob", SA_EMAIL, NULL, NULL,
                                       "p", 0, 3);
}
