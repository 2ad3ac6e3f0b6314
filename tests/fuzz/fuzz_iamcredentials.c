/* libFuzzer target for the IAM Credentials API's replies
 * (lib/iam_credentials.c): generateAccessToken, generateIdToken, signBlob
 * and signJwt, every input through all four parsers.
 *
 * Beyond "no crash, no leak" it checks:
 *   - an accepted token (access or ID) or signed JWT is non-empty printable
 *     ASCII without spaces (it goes into an HTTP header or a form), an ID
 *     token's expiry is its exp claim; a signature is non-empty and
 *     decodes from the reply's signedBlob;
 *   - a refusal gives GAUTH_E_BAD_RESPONSE (or NOMEM), NULL outputs and a
 *     message showing no 13 bytes of the reply's accessToken, token,
 *     signedBlob or signedJwt (16 bytes or more). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "iam_credentials.h"

static const char *const secrets[] = {"accessToken", "token", "signedBlob",
                                      "signedJwt", NULL};

static int printable_token(const char *s) {
  if (s == NULL || *s == '\0') return 0;
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
  return 1;
}

static void again_access(const uint8_t *data, size_t size, gauth_error *err) {
  gauth__token t = {NULL, 0};
  if (gauth__iamcredentials_access_token_parse((const char *)data, size, &t,
                                               err) == GAUTH_OK)
    gauth__token_cleanup(&t);
}

static void again_id(const uint8_t *data, size_t size, gauth_error *err) {
  gauth__token t = {NULL, 0};
  if (gauth__iamcredentials_id_token_parse((const char *)data, size, &t, err) ==
      GAUTH_OK)
    gauth__token_cleanup(&t);
}

static void again_blob(const uint8_t *data, size_t size, gauth_error *err) {
  unsigned char *sig = NULL;
  size_t n = 0;
  char *kid = NULL;
  if (gauth__iamcredentials_sign_blob_parse((const char *)data, size, &sig, &n,
                                            &kid, err) == GAUTH_OK) {
    gauth_free(sig);
    gauth_free(kid);
  }
}

static void again_jwt(const uint8_t *data, size_t size, gauth_error *err) {
  char *jwt = NULL, *kid = NULL;
  if (gauth__iamcredentials_sign_jwt_parse((const char *)data, size, &jwt, &kid,
                                           err) == GAUTH_OK) {
    gauth_free(jwt);
    gauth_free(kid);
  }
}

static void refused(const uint8_t *data, size_t size, gauth_status st,
                    const gauth_error *err, fuzz_again_fn again) {
  CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_NOMEM);
  CHECK(err->code == st && err->message[0] != '\0');
  CHECK(!fuzz_input_shows(data, size, secrets, NULL, err->message, again));
}

static void check_tokens(const uint8_t *data, size_t size) {
  gauth__token t = {(char *)"junk", 7};
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__iamcredentials_access_token_parse((const char *)data,
                                                             size, &t, &err);
  if (st == GAUTH_OK) {
    CHECK(printable_token(t.value));
    gauth__token_cleanup(&t);
  } else {
    CHECK(t.value == NULL && t.expires_at == 0);
    refused(data, size, st, &err, again_access);
  }

  t.value = (char *)"junk";
  err = (gauth_error)GAUTH_ERROR_INIT;
  st = gauth__iamcredentials_id_token_parse((const char *)data, size, &t, &err);
  if (st == GAUTH_OK) {
    int64_t exp = 0;
    CHECK(printable_token(t.value));
    CHECK(gauth__jwt_expiry(t.value, &exp, NULL) == GAUTH_OK);
    CHECK(exp == t.expires_at);
    gauth__token_cleanup(&t);
  } else {
    CHECK(t.value == NULL && t.expires_at == 0);
    refused(data, size, st, &err, again_id);
  }
}

static void check_signatures(const uint8_t *data, size_t size) {
  unsigned char *sig = (unsigned char *)"junk";
  size_t sig_len = 7;
  char *kid = (char *)"junk", *jwt = (char *)"junk";
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__iamcredentials_sign_blob_parse(
      (const char *)data, size, &sig, &sig_len, &kid, &err);
  if (st == GAUTH_OK) {
    CHECK(sig != NULL && kid != NULL);
    gauth_free(sig);
    gauth_free(kid);
  } else {
    CHECK(sig == NULL && sig_len == 0 && kid == NULL);
    refused(data, size, st, &err, again_blob);
  }
  /* Without key_id too: the reply's keyId is still required. */
  sig = (unsigned char *)"junk";
  st = gauth__iamcredentials_sign_blob_parse((const char *)data, size, &sig,
                                             &sig_len, NULL, NULL);
  if (st == GAUTH_OK) gauth_free(sig);

  kid = (char *)"junk";
  err = (gauth_error)GAUTH_ERROR_INIT;
  st = gauth__iamcredentials_sign_jwt_parse((const char *)data, size, &jwt,
                                            &kid, &err);
  if (st == GAUTH_OK) {
    CHECK(jwt != NULL && jwt[0] != '\0' && kid != NULL);
    CHECK(printable_token(jwt));
    gauth_free(jwt);
    gauth_free(kid);
  } else {
    CHECK(jwt == NULL && kid == NULL);
    refused(data, size, st, &err, again_jwt);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_tokens(data, size);
  check_signatures(data, size);
  return 0;
}
