/* lib/cred_token_response.c: OAuth token replies, RFC 3339 times, a JWT's
 * expiry, scope joining. Pure, no I/O. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "credentials_internal.h"
#include "error_internal.h"

static gauth_status parse(const char *body, gauth__token_kind kind,
                          gauth__token *t, char **idt, gauth_error *err) {
  return gauth__token_response_parse(body, strlen(body), kind, 1000, t, idt,
                                     err);
}

Test(token_response, access_token_with_expiry) {
  gauth__token t;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(parse("{\"access_token\":\"ya29.abc\",\"expires_in\":3599,"
                     "\"token_type\":\"Bearer\"}",
                     GAUTH__TOKEN_ACCESS, &t, NULL, &err),
               GAUTH_OK);
  cr_assert_str_eq(t.value, "ya29.abc");
  cr_assert_eq(t.expires_at, 4599);
  gauth__token_cleanup(&t);
  cr_assert_null(t.value);
  /* token_type is case-insensitive and optional; expires_in optional. */
  cr_assert_eq(parse("{\"access_token\":\"x\",\"token_type\":\"bearer\"}",
                     GAUTH__TOKEN_ACCESS, &t, NULL, &err),
               GAUTH_OK);
  cr_assert_eq(t.expires_at, 0);
  gauth__token_cleanup(&t);
}

Test(token_response, id_token_next_to_access_token) {
  gauth__token t;
  char *idt = NULL;
  cr_assert_eq(parse("{\"access_token\":\"a\",\"expires_in\":60,"
                     "\"id_token\":\"h.p.s\"}",
                     GAUTH__TOKEN_ACCESS, &t, &idt, NULL),
               GAUTH_OK);
  cr_assert_str_eq(idt, "h.p.s");
  free(idt);
  gauth__token_cleanup(&t);
  cr_assert_eq(parse("{\"access_token\":\"a\",\"expires_in\":60}",
                     GAUTH__TOKEN_ACCESS, &t, &idt, NULL),
               GAUTH_OK);
  cr_assert_null(idt);
  gauth__token_cleanup(&t);
}

Test(token_response, bad_replies_name_the_member_not_the_value) {
  static const struct {
    const char *body, *needle;
  } cases[] = {
      {"{}", "access_token"},
      {"{\"access_token\":5}", "access_token"},
      {"{\"access_token\":\"\"}", "empty"},
      {"{\"access_token\":\"SECRETVALUE x\"}", "HTTP header"},
      {"{\"access_token\":\"SECRETVALUE\",\"token_type\":\"MAC\"}", "Bearer"},
      {"{\"access_token\":\"SECRETVALUE\",\"expires_in\":\"3600\"}",
       "expires_in"},
      {"{\"access_token\":\"SECRETVALUE\",\"expires_in\":0}", "out of range"},
      {"{\"access_token\":\"SECRETVALUE\",\"expires_in\":-5}", "out of range"},
      {"{\"access_token\":\"SECRETVALUE\",\"expires_in\":1.5}", "expires_in"},
      {"[\"access_token\"]", "not a JSON object"},
      {"{\"access_token\":\"SECRETVALUE\"", "not a JSON object"},
      {"", "not a JSON object"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gauth__token t = {(char *)"junk", 5};
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(parse(cases[i].body, GAUTH__TOKEN_ACCESS, &t, NULL, &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_eq(err.code, GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(t.value, "case %zu", i);
    cr_assert(strstr(err.message, cases[i].needle) != NULL, "case %zu: %s", i,
              err.message);
    cr_assert(strstr(err.message, "SECRETVALUE") == NULL, "case %zu: %s", i,
              err.message);
  }
}

Test(token_response, oversized_token_refused) {
  size_t n = 17 * 1024;
  char *body = malloc(n + 64);
  gauth__token t;
  gauth_error err = GAUTH_ERROR_INIT;
  strcpy(body, "{\"access_token\":\"");
  memset(body + strlen(body), 'a', n);
  strcpy(body + 17 + n, "\"}");
  cr_assert_eq(parse(body, GAUTH__TOKEN_ACCESS, &t, NULL, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_assert(strstr(err.message, "over") != NULL, "%s", err.message);
  free(body);
}

Test(token_response, id_token_reply_takes_exp_from_the_jwt) {
  /* {"alg":"none"} . {"exp":1700000000,"aud":"x"} . sig */
  const char *body =
      "{\"id_token\":\"eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDAsImF1ZCI6"
      "IngifQ.c2ln\"}";
  gauth__token t;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(parse(body, GAUTH__TOKEN_ID, &t, NULL, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(t.expires_at, 1700000000);
  gauth__token_cleanup(&t);
  cr_assert_eq(
      parse("{\"id_token\":\"not-a-jwt\"}", GAUTH__TOKEN_ID, &t, NULL, &err),
      GAUTH_E_BAD_RESPONSE);
  cr_assert_eq(
      parse("{\"access_token\":\"a\"}", GAUTH__TOKEN_ID, &t, NULL, &err),
      GAUTH_E_BAD_RESPONSE);
  cr_assert(strstr(err.message, "id_token") != NULL, "%s", err.message);
}

Test(token_response, jwt_expiry) {
  int64_t exp = 1;
  /* {"alg":"none"} . {"iat":5} (no exp) */
  cr_assert_eq(
      gauth__jwt_expiry("eyJhbGciOiJub25lIn0.eyJpYXQiOjV9.c2ln", &exp, NULL),
      GAUTH_E_MALFORMED);
  cr_assert_eq(exp, 0);
  /* {"exp":-3} */
  cr_assert_eq(
      gauth__jwt_expiry("eyJhbGciOiJub25lIn0.eyJleHAiOi0zfQ.c2ln", &exp, NULL),
      GAUTH_E_MALFORMED);
  cr_assert_eq(gauth__jwt_expiry("a.b", &exp, NULL), GAUTH_E_MALFORMED);
}

Test(token_response, rfc3339) {
  static const struct {
    const char *s;
    int64_t t;
  } good[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2026-11-27T06:00:00Z", 1795759200},
      {"2026-11-27T06:00:00.123456789Z", 1795759200},
      {"2026-11-27t06:00:00z", 1795759200},
      {"2026-11-27T07:30:00+01:30", 1795759200},
      {"2026-11-27T04:00:00-02:00", 1795759200},
      {"2024-02-29T00:00:00Z", 1709164800},
      {"2000-03-01T00:00:00Z", 951868800},
  };
  static const char *const bad[] = {
      "",
      "2026-11-27",
      "2026-11-27T06:00:00",
      "2026-13-01T00:00:00Z",
      "2026-02-29T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-11-27T24:00:00Z",
      "2026-11-27T06:00:00.Z",
      "2026-11-27T06:00:00+0100",
      "2026-11-27 06:00:00Z",
      "2026-11-27T06:00:00Zjunk",
      "99999-01-01T00:00:00Z",
      "2026-1-27T06:00:00Z",
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    int64_t t = -1;
    cr_assert_eq(gauth__rfc3339_parse(good[i].s, &t, NULL), GAUTH_OK, "%s",
                 good[i].s);
    cr_assert_eq(t, good[i].t, "%s: %lld", good[i].s, (long long)t);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int64_t t = -1;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__rfc3339_parse(bad[i], &t, &err), GAUTH_E_MALFORMED,
                 "%s", bad[i]);
    cr_assert_eq(t, 0);
    cr_assert(strstr(err.message, "RFC 3339") != NULL);
  }
}

Test(token_response, scopes_join) {
  static const char *const s[] = {"a", "bb", "ccc"};
  char *j = gauth__scopes_join(s, 3, ' ');
  cr_assert_str_eq(j, "a bb ccc");
  free(j);
  j = gauth__scopes_join(s, 1, ',');
  cr_assert_str_eq(j, "a");
  free(j);
  j = gauth__scopes_join(s, 0, ',');
  cr_assert_str_eq(j, "");
  free(j);
}
