/* Token reply parsers wipe the cJSON trees that held a bearer token before
 * freeing them: the token endpoint's reply (access and ID tokens), STS,
 * IAM Credentials (generateAccessToken, generateIdToken, signJwt), the ID
 * token's expiry reader, and trees the JSON layer refuses.
 *
 * Observed through cJSON's allocation hooks: every block cJSON frees is
 * searched for the canary before it goes back to malloc. Each Criterion
 * test runs in a process of its own, so the hooks are installed before
 * that process makes its first cJSON allocation. */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "base64.h"
#include "cred_external.h"
#include "credentials_internal.h"
#include "iam_credentials.h"
#include "json.h"
#include "secret.h"

#define CANARY "CANARY-reply-wipe-ya29"

static size_t unwiped; /* freed blocks still holding the canary */
static size_t frees;

typedef union header {
  size_t n;
  max_align_t align;
} header;

static void *hook_malloc(size_t n) {
  /* Zeroed: hook_free reads the whole block, written or not. */
  header *h = calloc(1, sizeof(header) + n);
  if (h == NULL) return NULL;
  h->n = n;
  return h + 1;
}

static void hook_free(void *p) {
  header *h;
  if (p == NULL) return;
  h = (header *)p - 1;
  frees++;
  if (h->n >= sizeof CANARY - 1 && memmem(p, h->n, CANARY, sizeof CANARY - 1))
    unwiped++;
  free(h);
}

static void install(void) {
  cJSON_Hooks hooks = {hook_malloc, hook_free};
  cJSON_InitHooks(&hooks);
  unwiped = frees = 0;
}

static void expect_wiped(const char *what) {
  cr_expect_gt(frees, 0, "%s: cJSON freed nothing (hooks not in use?)", what);
  cr_expect_eq(unwiped, 0, "%s: %zu freed cJSON block(s) still held the token",
               what, unwiped);
}

/* A JWT whose payload carries the canary next to exp. */
static char *jwt_with_canary(void) {
  static const char payload[] =
      "{\"exp\":1764205200,\"sub\":\"" CANARY "-sub\"}";
  char *p64 = NULL, *out;
  size_t n;
  cr_assert_eq(gauth__b64url_encode((const unsigned char *)payload,
                                    sizeof payload - 1, &p64, NULL),
               GAUTH_OK);
  n = strlen(p64) + 64;
  out = malloc(n);
  cr_assert_not_null(out);
  snprintf(out, n, "eyJhbGciOiJSUzI1NiJ9.%s.c2ln", p64);
  free(p64);
  return out;
}

Test(reply_wipe, token_endpoint_access, .init = install) {
  static const char body[] = "{\"access_token\":\"" CANARY
                             "\",\"expires_in\":3599,\"token_type\":\"Bearer\","
                             "\"id_token\":\"" CANARY "-id\"}";
  gauth__token t;
  char *id = NULL;
  cr_assert_eq(
      gauth__token_response_parse(body, sizeof body - 1, GAUTH__TOKEN_ACCESS,
                                  1000, &t, &id, NULL),
      GAUTH_OK);
  cr_assert_str_eq(t.value, CANARY);
  gauth__token_cleanup(&t);
  gauth__secret_strfree(id);
  expect_wiped("token endpoint, access token");
}

Test(reply_wipe, token_endpoint_id, .init = install) {
  char *jwt = jwt_with_canary(), body[1024];
  gauth__token t;
  snprintf(body, sizeof body, "{\"id_token\":\"%s\"}", jwt);
  cr_assert_eq(gauth__token_response_parse(body, strlen(body), GAUTH__TOKEN_ID,
                                           1000, &t, NULL, NULL),
               GAUTH_OK);
  cr_assert_eq(t.expires_at, 1764205200);
  gauth__token_cleanup(&t);
  free(jwt);
  expect_wiped("token endpoint, ID token (and its expiry)");
}

Test(reply_wipe, sts, .init = install) {
  static const char body[] =
      "{\"access_token\":\"" CANARY
      "\",\"issued_token_type\":\"urn:ietf:params:oauth:token-type:access_"
      "token\",\"token_type\":\"Bearer\",\"expires_in\":3600}";
  gauth__token t;
  cr_assert_eq(gauth__sts_reply_parse(body, sizeof body - 1, 1000, &t, NULL),
               GAUTH_OK);
  gauth__token_cleanup(&t);
  expect_wiped("STS reply");
}

Test(reply_wipe, iam_credentials, .init = install) {
  static const char access[] = "{\"accessToken\":\"" CANARY
                               "\",\"expireTime\":\"2026-12-07T12:00:00Z\"}";
  static const char jwt_reply[] =
      "{\"keyId\":\"k1\",\"signedJwt\":\"" CANARY "-signed\"}";
  char *jwt = jwt_with_canary(), body[1024], *signed_jwt = NULL, *kid = NULL;
  gauth__token t;
  cr_assert_eq(gauth__iamcredentials_access_token_parse(
                   access, sizeof access - 1, &t, NULL),
               GAUTH_OK);
  gauth__token_cleanup(&t);
  snprintf(body, sizeof body, "{\"token\":\"%s\"}", jwt);
  cr_assert_eq(
      gauth__iamcredentials_id_token_parse(body, strlen(body), &t, NULL),
      GAUTH_OK);
  gauth__token_cleanup(&t);
  cr_assert_eq(gauth__iamcredentials_sign_jwt_parse(
                   jwt_reply, sizeof jwt_reply - 1, &signed_jwt, &kid, NULL),
               GAUTH_OK);
  gauth__secret_strfree(signed_jwt);
  free(kid);
  free(jwt);
  expect_wiped("IAM Credentials replies");
}

Test(reply_wipe, jwt_expiry, .init = install) {
  char *jwt = jwt_with_canary();
  int64_t exp = 0;
  cr_assert_eq(gauth__jwt_expiry(jwt, &exp, NULL), GAUTH_OK);
  cr_assert_eq(exp, 1764205200);
  free(jwt);
  expect_wiped("ID token expiry reader");
}

/* Replies refused after cJSON parsed them: a tree that is not an object, a
 * duplicate member, a reply missing its expiry. */
Test(reply_wipe, refused_replies, .init = install) {
  static const char *const bodies[] = {"[\"" CANARY "\"]",
                                       "{\"access_token\":\"" CANARY
                                       "\",\"access_token\":\"x\"}",
                                       "{\"accessToken\":\"" CANARY "\"}"};
  gauth__token t;
  cJSON *root = NULL;
  cr_assert_neq(
      gauth__json_parse_object(bodies[0], strlen(bodies[0]), NULL, &root, NULL),
      GAUTH_OK);
  cr_assert_neq(
      gauth__token_response_parse(bodies[1], strlen(bodies[1]),
                                  GAUTH__TOKEN_ACCESS, 1000, &t, NULL, NULL),
      GAUTH_OK);
  cr_assert_neq(gauth__iamcredentials_access_token_parse(
                    bodies[2], strlen(bodies[2]), &t, NULL),
                GAUTH_OK);
  expect_wiped("refused replies");
}
