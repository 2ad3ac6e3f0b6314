/* Unit tests for lib/redact.c. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "redact.h"

static char *r(const char *text, const char *const *known) {
  char *out = gauth__redact(text, known);
  cr_assert_not_null(out);
  return out;
}

static void expect(const char *in, const char *want) {
  char *out = r(in, NULL);
  cr_assert_str_eq(out, want, "redact(%s)", in);
  free(out);
}

Test(redact, plain_text_is_unchanged) {
  expect("", "");
  expect(
      "token expired 312 s ago (exp 1764201600, now 1764201912, leeway 30 s)",
      "token expired 312 s ago (exp 1764201600, now 1764201912, leeway 30 s)");
  expect(
      "GET http://127.0.0.1:8080/computeMetadata/v1/instance/zone: HTTP 404",
      "GET http://127.0.0.1:8080/computeMetadata/v1/instance/zone: HTTP 404");
  expect("{\"error\":{\"code\":403,\"status\":\"PERMISSION_DENIED\"}}",
         "{\"error\":{\"code\":403,\"status\":\"PERMISSION_DENIED\"}}");
  expect("token_type=Bearer", "token_type=Bearer");
  expect(
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      "a@b.iam.gserviceaccount.com:generateAccessToken",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
      "a@b.iam.gserviceaccount.com:generateAccessToken");
}

Test(redact, known_secrets_anywhere) {
  const char *known[] = {"s3cr3t-opaque-value", "abc", "", NULL};
  char *out = r("x s3cr3t-opaque-value! s3cr3t-opaque-valueZ abc", known);
  cr_assert_str_eq(out, "x [redacted]! [redacted]Z abc",
                   "short known strings are ignored: %s", out);
  free(out);
}

Test(redact, longest_known_secret_wins) {
  const char *known[] = {"secretAAAA", "secretAAAABBBB", NULL};
  char *out = r("<secretAAAABBBB>", known);
  cr_assert_str_eq(out, "<[redacted]>");
  free(out);
}

Test(redact, jwt_like) {
  expect("assertion eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl end",
         "assertion [redacted] end");
  expect("eyJhbGciOiJFUzI1NiJ9", "[redacted]");
  /* A word that merely contains eyJ is not a token start. */
  expect("keyJar", "keyJar");
}

Test(redact, google_tokens) {
  expect("got ya29.a0AfH6SMBx-y_z.Q and more", "got [redacted] and more");
  expect("refresh 1//0gLongRefreshTokenValue.", "refresh [redacted]");
  expect("HTTP/1.1 200", "HTTP/1.1 200");
}

Test(redact, authorization_schemes) {
  expect("Authorization: Bearer abc.def-ghi",
         "Authorization: Bearer [redacted]");
  expect("authorization: bearer  opaque", "authorization: bearer [redacted]");
  expect("Basic dXNlcjpwYXNz", "Basic [redacted]");
}

Test(redact, pem_blocks) {
  expect(
      "key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE "
      "KEY-----\nafter",
      "key: [redacted]\nafter");
  expect("cut -----BEGIN RSA PRIVATE KEY-----\nMIIEow", "cut [redacted]");
}

Test(redact, query_and_form_parameters) {
  expect("https://x/cb?code=4/abc&state=ok",
         "https://x/cb?code=[redacted]&state=ok");
  expect("grant_type=refresh_token&refresh_token=opaque42&client_id=id",
         "grant_type=refresh_token&refresh_token=[redacted]&client_id=id");
  expect("assertion=anything&x=1", "assertion=[redacted]&x=1");
  expect("client_secret=shh", "client_secret=[redacted]");
  expect("?access_token=tok&key=AIzaSy",
         "?access_token=[redacted]&key=[redacted]");
  expect("subject_token=opaque", "subject_token=[redacted]");
  /* "name: text" is prose, not a parameter. */
  expect("POST http://127.0.0.1:1/token: HTTP 400",
         "POST http://127.0.0.1:1/token: HTTP 400");
  /* Longer names that merely start with a secret name are left alone. */
  expect("tokenizer=1&keys=2&codec=3", "tokenizer=1&keys=2&codec=3");
}

Test(redact, names_and_schemes_in_any_case) {
  expect("ACCESS_TOKEN=abc&Client_Secret=x&kEy=y",
         "ACCESS_TOKEN=[redacted]&Client_Secret=[redacted]&kEy=[redacted]");
  expect("X-Goog-IAP-JWT-Assertion=abc", "X-Goog-IAP-JWT-Assertion=[redacted]");
  expect("{\"PrivateKey\": \"pem\", \"JWT\":\"a.b\"}",
         "{\"PrivateKey\": \"[redacted]\", \"JWT\":\"[redacted]\"}");
  expect("BASIC dXNlcjpwYXNz, BEARER t0k",
         "BASIC [redacted], BEARER [redacted]");
  /* Tokens of fixed spelling are not matched in another case. */
  expect("EYJabcdefghijk YA29.x", "EYJabcdefghijk YA29.x");
}

Test(redact, json_members) {
  expect("{\"access_token\":\"opaque\",\"expires_in\":3599}",
         "{\"access_token\":\"[redacted]\",\"expires_in\":3599}");
  expect("{\"token\": \"abc\\\"def\", \"x\": 1}",
         "{\"token\": \"[redacted]\", \"x\": 1}");
  expect("{\"signedJwt\":\"a.b.c\",\"keyId\":\"k1\"}",
         "{\"signedJwt\":\"[redacted]\",\"keyId\":\"k1\"}");
  expect(
      "{\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nMII\\n-----END PRIVATE KEY-----\\n\"}",
      "{\"private_key\":\"[redacted]\"}");
  expect(
      "{\"accessToken\":\"x\",\"expireTime\":\"2026-01-01T00:00:00Z\"}",
      "{\"accessToken\":\"[redacted]\",\"expireTime\":\"2026-01-01T00:00:00Z\"}");
}

Test(redact, in_place_buffer_truncates) {
  char buf[16];
  strcpy(buf, "Bearer abcdefgh");
  gauth__redact_buf(buf, sizeof(buf), NULL);
  cr_assert_str_eq(buf, "Bearer [redacte");
  strcpy(buf, "plain");
  gauth__redact_buf(buf, sizeof(buf), NULL);
  cr_assert_str_eq(buf, "plain");
}

Test(redact, null_text) {
  char *out = r(NULL, NULL);
  cr_assert_str_eq(out, "");
  free(out);
}
