/* The RFC examples (rfc/jose_rfc_examples.json: RFC 7515 A.2-A.5, RFC 7520
 * 4.1 and 4.3) and google-auth-library-python's key fixtures, through the
 * public API: gauth_key_from_jwk / gauth_key_from_pem / gauth_keyset_parse
 * for keys, gauth_jwt_sign for tokens, and gauth_jws_verify (the verifier's
 * JWS stage) for checking them. Exact signing of a given signing input goes
 * through gauth_key_sign, the primitive of gauth_jwt_sign (the RFC headers
 * are not libgauth's header). */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base64.h"
#include "jose_internal.h"
#include "vectors_util.h"

#define SUPPORTED 0xFEu /* every gauth_alg but UNKNOWN */

static const cJSON *rfc_jws(const cJSON *root, const char *id) {
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "jws")) {
    if (strcmp(vec_str(e, "id"), id) == 0) return e;
  }
  cr_assert_fail("no RFC example %s", id);
  return NULL;
}

static gauth_key *jwk_key(const cJSON *jwk) {
  char *text = vec_print(jwk);
  gauth_key *key = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_key_from_jwk(&key, text, strlen(text), &err), GAUTH_OK,
               "%s", err.message);
  free(text);
  return key;
}

static gauth_keyset *set_of_key(gauth_key *key) {
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_keyset_from_keys(&set, &key, 1, &err), GAUTH_OK, "%s",
               err.message);
  return set;
}

/* GAUTH_OK or the verify status; reason in err. */
static gauth_status verify_token(const char *token, const gauth_keyset *set,
                                 int require_json, gauth_error *err) {
  char *payload = NULL;
  gauth_status st =
      gauth_jws_verify(token, 0, set, SUPPORTED, &payload, NULL, err);
  if (st == GAUTH_OK && require_json) {
    /* A JWT's payload is a JSON object. */
    cJSON *j = cJSON_Parse(payload);
    cr_assert(cJSON_IsObject(j), "payload is not a JSON object");
    cJSON_Delete(j);
  }
  gauth_free(payload);
  return st;
}

/* Signs the example's signing input and compares with its signature. */
static void exact_signature(const cJSON *ex) {
  gauth_key *key = jwk_key(cJSON_GetObjectItem(ex, "jwk_private"));
  const char *input = vec_str(ex, "signing_input");
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  char *b64 = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  sig_len = gauth_key_signature_size(key, GAUTH_ALG_RS256);
  cr_assert_eq(sig_len, 256);
  sig = malloc(sig_len);
  cr_assert_eq(gauth_key_sign(key, GAUTH_ALG_RS256, input, strlen(input), sig,
                              &sig_len, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth__b64url_encode(sig, sig_len, &b64, &err), GAUTH_OK);
  cr_assert_str_eq(b64, vec_str(ex, "signature_b64u"),
                   "%s: RS256 signature differs", vec_str(ex, "id"));
  free(b64);
  free(sig);
  gauth_key_free(key);
}

static void expect_verifies(const cJSON *ex) {
  gauth_key *key = jwk_key(cJSON_GetObjectItem(ex, "jwk_public"));
  gauth_keyset *set = set_of_key(key);
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(verify_token(vec_str(ex, "compact"), set, 0, &err), GAUTH_OK,
               "%s: %s: %s", vec_str(ex, "id"), err.reason, err.message);
  gauth_keyset_free(set);
  gauth_key_free(key);
}

Test(rfc, rfc7515_a2_rs256) {
  cJSON *root = vec_json("rfc/jose_rfc_examples.json");
  const cJSON *ex = rfc_jws(root, "rfc7515-A.2");
  exact_signature(ex);
  expect_verifies(ex);
  cJSON_Delete(root);
  printf("rfc7515-A.2 RS256: exact signature and verification ok\n");
}

Test(rfc, rfc7520_4_1_rs256_kid) {
  cJSON *root = vec_json("rfc/jose_rfc_examples.json");
  const cJSON *ex = rfc_jws(root, "rfc7520-4.1");
  exact_signature(ex);
  expect_verifies(ex);
  cJSON_Delete(root);
  printf(
      "rfc7520-4.1 RS256 with kid: exact signature and verification "
      "ok\n");
}

Test(rfc, rfc7515_a3_es256) {
  cJSON *root = vec_json("rfc/jose_rfc_examples.json");
  const cJSON *ex = rfc_jws(root, "rfc7515-A.3");
  gauth_key *priv = jwk_key(cJSON_GetObjectItem(ex, "jwk_private"));
  gauth_key *pub = jwk_key(cJSON_GetObjectItem(ex, "jwk_public"));
  gauth_keyset *set = set_of_key(pub);
  gauth_error err = GAUTH_ERROR_INIT;
  char *token = NULL;
  expect_verifies(ex);
  /* Our own ES256 signature (random k) over the same payload. */
  cr_assert_eq(gauth_jwt_sign(priv, GAUTH_ALG_ES256, NULL,
                              vec_str(ex, "payload_utf8"), &token, &err),
               GAUTH_OK, "%s", err.message);
  /* 64 bytes of r||s are 86 base64url characters. */
  cr_assert_eq(strlen(strrchr(token, '.') + 1), 86,
               "ES256 signature must be r||s");
  cr_assert_eq(verify_token(token, set, 1, &err), GAUTH_OK, "%s", err.message);
  gauth_free(token);
  gauth_keyset_free(set);
  gauth_key_free(priv);
  gauth_key_free(pub);
  cJSON_Delete(root);
  printf(
      "rfc7515-A.3 ES256: given signature verifies; sign-and-verify "
      "ok\n");
}

Test(rfc, es512_examples_unsupported) {
  static const char *const ids[] = {"rfc7515-A.4", "rfc7520-4.3"};
  cJSON *root = vec_json("rfc/jose_rfc_examples.json");
  size_t i;
  for (i = 0; i < 2; i++) {
    const cJSON *ex = rfc_jws(root, ids[i]);
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_key *key = NULL;
    gauth_keyset *none = NULL;
    char *jwk = vec_print(cJSON_GetObjectItem(ex, "jwk_public"));
    cr_assert_eq(gauth_keyset_from_keys(&none, NULL, 0, &err), GAUTH_OK);
    cr_assert_eq(gauth_jws_verify(vec_str(ex, "compact"), 0, none, SUPPORTED,
                                  NULL, NULL, &err),
                 GAUTH_E_VERIFY);
    gauth_keyset_free(none);
    cr_assert_str_eq(err.reason, "alg_not_allowed", "%s", ids[i]);
    /* Nor is its P-521 key usable. */
    cr_assert_neq(gauth_key_from_jwk(&key, jwk, strlen(jwk), &err), GAUTH_OK);
    free(jwk);
  }
  cJSON_Delete(root);
  printf(
      "rfc7515-A.4, rfc7520-4.3 ES512: rejected (alg_not_allowed; "
      "P-521 key refused)\n");
}

Test(rfc, rfc7515_a5_alg_none) {
  cJSON *root = vec_json("rfc/jose_rfc_examples.json");
  const cJSON *ex = rfc_jws(root, "rfc7515-A.5");
  const cJSON *a2 = rfc_jws(root, "rfc7515-A.2");
  gauth_key *key = jwk_key(cJSON_GetObjectItem(a2, "jwk_public"));
  gauth_keyset *set = set_of_key(key);
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(verify_token(vec_str(ex, "compact"), set, 1, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "alg_not_allowed");
  gauth_keyset_free(set);
  gauth_key_free(key);
  cJSON_Delete(root);
  printf("rfc7515-A.5 alg none: rejected (alg_not_allowed)\n");
}

/* ---- google-auth-library-python fixtures ------------------------------- */

static gauth_key *pem_key(const char *rel) {
  size_t len;
  char *pem = vec_read(rel, &len);
  gauth_key *key = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_key_from_pem(&key, pem, len, &err), GAUTH_OK, "%s: %s",
               rel, err.message);
  free(pem);
  return key;
}

static gauth_status verify_with(const char *token, const char *rel,
                                gauth_error *err) {
  gauth_key *key = pem_key(rel);
  gauth_keyset *set = set_of_key(key);
  gauth_status st = verify_token(token, set, 1, err);
  gauth_keyset_free(set);
  gauth_key_free(key);
  return st;
}

#define CLAIMS                                              \
  "{\"iss\":\"service-account@example.com\",\"aud\":\"x\"," \
  "\"iat\":1700000000,\"exp\":1700003600}"

Test(google_auth, rsa_privatekey_signs_cert_verifies) {
  gauth_key *priv = pem_key("google-auth-library-python/privatekey.pem");
  gauth_error err = GAUTH_ERROR_INIT;
  char *token = NULL;
  cr_assert_eq(
      gauth_jwt_sign(priv, GAUTH_ALG_RS256, NULL, CLAIMS, &token, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(
      verify_with(token, "google-auth-library-python/public_cert.pem", &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(
      verify_with(token, "google-auth-library-python/privatekey.pub", &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(
      verify_with(token, "google-auth-library-python/other_cert.pem", &err),
      GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "signature_invalid");
  gauth_free(token);
  gauth_key_free(priv);
  printf(
      "google-auth privatekey.pem: RS256 token verifies with "
      "public_cert.pem and privatekey.pub, not with other_cert.pem\n");
}

/* As upstream test_jwt.py does: certs {"1": OTHER, "2": PUBLIC}, in
 * Google's v1 certificate-map format. */
Test(google_auth, certificate_map_selection) {
  gauth_key *priv = pem_key("google-auth-library-python/privatekey.pem");
  char *other = vec_read("google-auth-library-python/other_cert.pem", NULL);
  char *pub = vec_read("google-auth-library-python/public_cert.pem", NULL);
  cJSON *map = cJSON_CreateObject();
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *text, *t1 = NULL, *t2 = NULL, *t0 = NULL;
  cJSON_AddStringToObject(map, "1", other);
  cJSON_AddStringToObject(map, "2", pub);
  text = vec_print(map);
  cr_assert_eq(gauth_keyset_parse(&set, text, strlen(text), &err), GAUTH_OK,
               "%s", err.message);
  cr_assert_eq(gauth_keyset_count(set), 2);
  cr_assert_eq(gauth_jwt_sign(priv, GAUTH_ALG_RS256, "2", CLAIMS, &t2, &err),
               GAUTH_OK);
  cr_assert_eq(gauth_jwt_sign(priv, GAUTH_ALG_RS256, "1", CLAIMS, &t1, &err),
               GAUTH_OK);
  cr_assert_eq(gauth_jwt_sign(priv, GAUTH_ALG_RS256, NULL, CLAIMS, &t0, &err),
               GAUTH_OK);
  cr_assert_eq(verify_token(t2, set, 1, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(verify_token(t1, set, 1, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "signature_invalid");
  /* No kid: every key is tried, "2" verifies. */
  cr_assert_eq(verify_token(t0, set, 1, &err), GAUTH_OK, "%s", err.message);
  gauth_free(t0);
  gauth_free(t1);
  gauth_free(t2);
  free(text);
  cJSON_Delete(map);
  free(other);
  free(pub);
  gauth_keyset_free(set);
  gauth_key_free(priv);
  printf(
      "google-auth certificate map {1: other, 2: public}: kid 2 ok, kid "
      "1 signature_invalid, no kid ok\n");
}

Test(google_auth, es256_keys) {
  gauth_key *priv = pem_key("google-auth-library-python/es256_privatekey.pem");
  gauth_error err = GAUTH_ERROR_INIT;
  char *token = NULL;
  cr_assert_eq(
      gauth_jwt_sign(priv, GAUTH_ALG_ES256, NULL, CLAIMS, &token, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(
      verify_with(token, "google-auth-library-python/es256_publickey.pem",
                  &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(
      verify_with(token, "google-auth-library-python/es256_public_cert.pem",
                  &err),
      GAUTH_OK, "%s", err.message);
  /* The RSA certificate cannot verify an ES256 token. */
  cr_assert_eq(
      verify_with(token, "google-auth-library-python/public_cert.pem", &err),
      GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "key_not_usable");
  gauth_free(token);
  gauth_key_free(priv);
  printf(
      "google-auth es256_privatekey.pem: ES256 token verifies with "
      "es256_publickey.pem and es256_public_cert.pem\n");
}
