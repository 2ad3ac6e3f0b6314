/* Unit tests for lib/keyset.c: format detection (JWKS, PEM certificate
 * map, one JWK, PEM), skipping of unusable members, duplicate kids,
 * to_jwks round trips, reference counts; and the published key sets in
 * $GAUTH_TEST_VECTORS when that folder exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base64.h"
#include "jose_internal.h"
#include "vectors_util.h"
#include "test_keys.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------- */

/* RSA keys come from the run's cache (test_keys.h); no test here needs two
 * RSA keys of one size. */
static EVP_PKEY *gen(const char *type, const char *curve, size_t bits) {
  EVP_PKEY *k = curve != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, type, curve)
                : strcmp(type, "RSA") == 0 ? tk_rsa((unsigned int)bits, 0)
                : bits > 0 ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits)
                           : EVP_PKEY_Q_keygen(NULL, NULL, type);
  cr_assert_not_null(k, "%s key generation", type);
  return k;
}

static char *to_pem(EVP_PKEY *pkey, int selection, const char *structure) {
  OSSL_ENCODER_CTX *ctx =
      OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, "PEM", structure, NULL);
  unsigned char *data = NULL;
  size_t len = 0;
  char *text;
  cr_assert(ctx != NULL && OSSL_ENCODER_to_data(ctx, &data, &len));
  OSSL_ENCODER_CTX_free(ctx);
  text = malloc(len + 1);
  memcpy(text, data, len);
  text[len] = '\0';
  OPENSSL_free(data);
  return text;
}

static char *cert_pem(EVP_PKEY *pkey) {
  X509 *x = X509_new();
  BIO *bio = BIO_new(BIO_s_mem());
  char *data, *text;
  long len;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             (const unsigned char *)"k", -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  cr_assert(X509_set_pubkey(x, pkey));
  cr_assert(X509_sign(x, pkey, EVP_sha256()));
  cr_assert(PEM_write_bio_X509(bio, x));
  len = BIO_get_mem_data(bio, &data);
  text = malloc((size_t)len + 1);
  memcpy(text, data, (size_t)len);
  text[len] = '\0';
  BIO_free(bio);
  X509_free(x);
  return text;
}

static void add_bn(cJSON *o, const char *name, EVP_PKEY *k, const char *param,
                   int pad) {
  BIGNUM *bn = NULL;
  unsigned char buf[600];
  char *s = NULL;
  int n;
  cr_assert(EVP_PKEY_get_bn_param(k, param, &bn));
  n = pad > 0 ? pad : BN_num_bytes(bn);
  cr_assert_eq(BN_bn2binpad(bn, buf, n), n);
  BN_clear_free(bn);
  cr_assert_eq(gauth__b64url_encode(buf, (size_t)n, &s, NULL), GAUTH_OK);
  cJSON_AddStringToObject(o, name, s);
  free(s);
}

/* A JWK of an RSA or EC (P-256) key, public or with its private part. */
static cJSON *jwk_of(EVP_PKEY *k, const char *kid, int with_private) {
  cJSON *o = cJSON_CreateObject();
  if (EVP_PKEY_is_a(k, "RSA")) {
    cJSON_AddStringToObject(o, "kty", "RSA");
    add_bn(o, "n", k, OSSL_PKEY_PARAM_RSA_N, 0);
    add_bn(o, "e", k, OSSL_PKEY_PARAM_RSA_E, 0);
    if (with_private) add_bn(o, "d", k, OSSL_PKEY_PARAM_RSA_D, 0);
  } else {
    cJSON_AddStringToObject(o, "kty", "EC");
    cJSON_AddStringToObject(o, "crv", "P-256");
    add_bn(o, "x", k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    add_bn(o, "y", k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    if (with_private) add_bn(o, "d", k, OSSL_PKEY_PARAM_PRIV_KEY, 32);
  }
  if (kid != NULL) cJSON_AddStringToObject(o, "kid", kid);
  return o;
}

static gauth_status parse_json(const cJSON *o, gauth_keyset **set,
                               gauth_error *err) {
  char *text = cJSON_PrintUnformatted(o);
  gauth_status st = gauth_keyset_parse(set, text, strlen(text), err);
  cJSON_free(text);
  return st;
}

static gauth_keyset *expect_parse_ok(const char *text, size_t n) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_keyset *set = NULL;
  gauth_status st = gauth_keyset_parse(&set, text, strlen(text), &err);
  cr_assert_eq(st, GAUTH_OK, "%s: %s", gauth_status_name(st), err.message);
  cr_assert_eq(gauth_keyset_count(set), n, "%zu keys, want %zu",
               gauth_keyset_count(set), n);
  return set;
}

static void expect_parse_fail(const char *text, size_t len, gauth_status code,
                              const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_keyset *set = (gauth_keyset *)0x1;
  gauth_status st = gauth_keyset_parse(&set, text, len, &err);
  cr_assert_eq(st, code, "want %s, got %s: %s", gauth_status_name(code),
               gauth_status_name(st), err.message);
  cr_assert_null(set);
  cr_assert_not_null(strstr(err.message, want), "message \"%s\" lacks \"%s\"",
                     err.message, want);
}

static void assert_no_leak(const char *message, const char *secret) {
  size_t n = strlen(secret), i;
  char run[21];
  for (i = 0; i + 20 <= n; i++) {
    memcpy(run, secret + i, 20);
    run[20] = '\0';
    cr_assert_null(strstr(message, run), "message leaks key material: %s",
                   message);
  }
}

static const gauth_key *find_kid(const gauth_keyset *set, const char *kid) {
  size_t i;
  for (i = 0; i < gauth_keyset_count(set); i++) {
    const char *k = gauth_key_kid(gauth_keyset_get(set, i));
    if (k != NULL && strcmp(k, kid) == 0) return gauth_keyset_get(set, i);
  }
  return NULL;
}

/* to_jwks, parsed again: the same public keys in the same order, with no
 * private member in the text. */
static void jwks_round_trip(const gauth_keyset *set) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_keyset *back = NULL;
  char *jwks = NULL;
  size_t i;
  cr_assert_eq(gauth_keyset_to_jwks(set, &jwks, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_null(strstr(jwks, "\"d\""), "%s", jwks);
  cr_assert_eq(strncmp(jwks, "{\"keys\":[", 9), 0, "%s", jwks);
  cr_assert_eq(gauth_keyset_parse(&back, jwks, strlen(jwks), &err), GAUTH_OK,
               "%s", err.message);
  cr_assert_eq(gauth_keyset_count(back), gauth_keyset_count(set));
  for (i = 0; i < gauth_keyset_count(set); i++) {
    const gauth_key *a = gauth_keyset_get(set, i);
    const gauth_key *b = gauth_keyset_get(back, i);
    cr_assert_eq(EVP_PKEY_eq(a->pkey, b->pkey), 1, "key %zu", i);
    cr_assert_eq(gauth_key_is_private(b), 0);
    cr_assert_eq(gauth_key_alg(a), gauth_key_alg(b));
    if (gauth_key_kid(a) != NULL)
      cr_assert_str_eq(gauth_key_kid(a), gauth_key_kid(b));
  }
  gauth_keyset_free(back);
  gauth_free(jwks);
}

/* ---- JWKS ---------------------------------------------------------------- */

Test(jwks, usable_members_kept_others_skipped) {
  EVP_PKEY *rsa = gen("RSA", NULL, 2048), *ec = gen("EC", "P-256", 0);
  cJSON *root = cJSON_CreateObject();
  cJSON *keys = cJSON_AddArrayToObject(root, "keys");
  cJSON *enc = jwk_of(ec, "ec-enc", 0);
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_keyset *set = NULL;

  cJSON_AddItemToArray(keys, jwk_of(rsa, "rsa-1", 0));
  cJSON_AddItemToArray(keys, cJSON_Parse("{\"kty\":\"oct\",\"k\":\"AAAA\","
                                         "\"kid\":\"hmac\"}"));
  cJSON_AddStringToObject(enc, "use", "enc");
  cJSON_AddItemToArray(keys, enc);
  cJSON_AddItemToArray(keys, jwk_of(ec, "ec-1", 0));
  cJSON_AddItemToArray(keys, cJSON_Parse("{\"kty\":\"OKP\",\"crv\":\"X25519\","
                                         "\"x\":\"AAAA\"}"));
  cJSON_AddItemToArray(keys, cJSON_CreateString("not an object"));
  cJSON_AddItemToArray(keys, cJSON_Parse("{\"kty\":\"RSA\",\"n\":\"AQAB\","
                                         "\"e\":\"AQAB\",\"kid\":\"tiny\"}"));
  cJSON_AddItemToObject(root, "extra", cJSON_CreateString("ignored"));

  cr_assert_eq(parse_json(root, &set, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_keyset_count(set), 2);
  cr_assert_str_eq(gauth_key_kid(gauth_keyset_get(set, 0)), "rsa-1");
  cr_assert_str_eq(gauth_key_kid(gauth_keyset_get(set, 1)), "ec-1");
  cr_assert_null(gauth_keyset_get(set, 2));
  cr_assert_null(find_kid(set, "ec-enc"));
  cr_assert_eq(EVP_PKEY_eq(gauth_keyset_get(set, 0)->pkey, rsa), 1);
  jwks_round_trip(set);
  gauth_keyset_free(set);
  cJSON_Delete(root);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
}

Test(jwks, nothing_usable_says_why) {
  expect_parse_fail(
      "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\",\"kid\":"
      "\"a\"},{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\","
      "\"y\":\"AA\"}]}",
      strlen("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\",\"kid\":"
             "\"a\"},{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":"
             "\"AA\",\"y\":\"AA\"}]}"),
      GAUTH_E_MALFORMED,
      "none of its 2 keys can verify signatures (key 0 (kid "
      "\"a\"): JWK: symmetric keys");
  {
    const char *t =
        "{\"keys\":[{\"kty\":\"oct\"},{\"kty\":\"oct\"},"
        "{\"kty\":\"oct\"},{\"kty\":\"X\"},{\"kty\":\"Y\"}]}";
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_keyset *set = NULL;
    cr_assert_eq(gauth_keyset_parse(&set, t, strlen(t), &err),
                 GAUTH_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, "none of its 5 keys"), "%s",
                       err.message);
    cr_assert_not_null(strstr(err.message, "key 2: "), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "; ...)"), "%s", err.message);
    cr_assert_null(strstr(err.message, "key 3"), "%s", err.message);
  }
  expect_parse_fail("{\"keys\":[]}", 11, GAUTH_E_MALFORMED, "JWKS: no keys");
  expect_parse_fail("{\"keys\":{}}", 11, GAUTH_E_MALFORMED,
                    "\"keys\" is an object, expected an array");
  expect_parse_fail(
      "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":"
      "\"enc\",\"x\":\"AA\",\"y\":\"AA\"}]}",
      strlen("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
             "\"use\":\"enc\",\"x\":\"AA\",\"y\":\"AA\"}]}"),
      GAUTH_E_MALFORMED, "key 0: JWK: EC member \"x\"");
}

Test(jwks, enc_key_sharing_a_kid_is_not_ambiguous) {
  EVP_PKEY *ec = gen("EC", "P-256", 0), *ec2 = gen("EC", "P-256", 0);
  cJSON *root = cJSON_CreateObject();
  cJSON *keys = cJSON_AddArrayToObject(root, "keys");
  cJSON *enc = jwk_of(ec2, "same", 0);
  gauth_keyset *set = NULL;
  cJSON_AddStringToObject(enc, "use", "enc");
  cJSON_AddItemToArray(keys, enc);
  cJSON_AddItemToArray(keys, jwk_of(ec, "same", 0));
  cr_assert_eq(parse_json(root, &set, NULL), GAUTH_OK);
  cr_assert_eq(gauth_keyset_count(set), 1);
  cr_assert_eq(EVP_PKEY_eq(gauth_keyset_get(set, 0)->pkey, ec), 1);
  gauth_keyset_free(set);
  cJSON_Delete(root);
  EVP_PKEY_free(ec);
  EVP_PKEY_free(ec2);
}

Test(jwks, duplicate_kids_kept) {
  EVP_PKEY *a = gen("EC", "P-256", 0), *b = gen("EC", "P-256", 0);
  cJSON *root = cJSON_CreateObject();
  cJSON *keys = cJSON_AddArrayToObject(root, "keys");
  gauth_keyset *set = NULL;
  cJSON_AddItemToArray(keys, jwk_of(a, "dup", 0));
  cJSON_AddItemToArray(keys, jwk_of(b, "dup", 0));
  cr_assert_eq(parse_json(root, &set, NULL), GAUTH_OK);
  cr_assert_eq(gauth_keyset_count(set), 2);
  cr_assert_str_eq(gauth_key_kid(gauth_keyset_get(set, 0)), "dup");
  cr_assert_str_eq(gauth_key_kid(gauth_keyset_get(set, 1)), "dup");
  jwks_round_trip(set);
  gauth_keyset_free(set);
  cJSON_Delete(root);
  EVP_PKEY_free(a);
  EVP_PKEY_free(b);
}

Test(jwks, private_members_exported_public_only) {
  EVP_PKEY *rsa = gen("RSA", NULL, 2048), *ec = gen("EC", "P-256", 0);
  cJSON *root = cJSON_CreateObject();
  cJSON *keys = cJSON_AddArrayToObject(root, "keys");
  gauth_keyset *set = NULL;
  cJSON_AddItemToArray(keys, jwk_of(rsa, "r", 1));
  cJSON_AddItemToArray(keys, jwk_of(ec, "e", 1));
  cr_assert_eq(parse_json(root, &set, NULL), GAUTH_OK);
  cr_assert_eq(gauth_key_is_private(gauth_keyset_get(set, 0)), 1);
  cr_assert_eq(gauth_key_is_private(gauth_keyset_get(set, 1)), 1);
  jwks_round_trip(set);
  gauth_keyset_free(set);
  cJSON_Delete(root);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
}

/* Every member refused, each carrying private material: the reasons are
 * shown, the material is not. */
Test(jwks, skip_reasons_hold_no_key_material) {
  EVP_PKEY *small = gen("RSA", NULL, 1024), *ec = gen("EC", "P-256", 0);
  cJSON *root = cJSON_CreateObject();
  cJSON *keys = cJSON_AddArrayToObject(root, "keys");
  cJSON *bad_ec = jwk_of(ec, "ec", 1);
  const char *secrets[2];
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_keyset *set = NULL;
  cJSON *r = jwk_of(small, "small", 1);
  cJSON_AddItemToArray(keys, r);
  /* y from another key: the point is off the curve. */
  cJSON_DeleteItemFromObject(bad_ec, "y");
  cJSON_AddStringToObject(bad_ec, "y",
                          cJSON_GetObjectItem(bad_ec, "d")->valuestring);
  cJSON_AddItemToArray(keys, bad_ec);
  secrets[0] = cJSON_GetObjectItem(r, "d")->valuestring;
  secrets[1] = cJSON_GetObjectItem(bad_ec, "d")->valuestring;
  cr_assert_eq(parse_json(root, &set, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "too small"), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "curve"), "%s", err.message);
  assert_no_leak(err.message, secrets[0]);
  assert_no_leak(err.message, secrets[1]);
  cJSON_Delete(root);
  EVP_PKEY_free(small);
  EVP_PKEY_free(ec);
}

/* ---- PEM map, single JWK, PEM -------------------------------------------- */

Test(detect, pem_certificate_map) {
  EVP_PKEY *rsa = gen("RSA", NULL, 2048), *ec = gen("EC", "P-256", 0);
  char *c1 = cert_pem(rsa), *c2 = cert_pem(ec);
  cJSON *root = cJSON_CreateObject();
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_keyset *set = NULL;
  cJSON_AddStringToObject(root, "kid-rsa", c1);
  cJSON_AddStringToObject(root, "kid-ec", c2);
  cr_assert_eq(parse_json(root, &set, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_keyset_count(set), 2);
  cr_assert_eq(EVP_PKEY_eq(find_kid(set, "kid-rsa")->pkey, rsa), 1);
  cr_assert_eq(EVP_PKEY_eq(find_kid(set, "kid-ec")->pkey, ec), 1);
  jwks_round_trip(set);
  gauth_keyset_free(set);

  /* One broken entry is skipped; the map still loads. */
  cJSON_AddStringToObject(root, "kid-bad",
                          "-----BEGIN CERTIFICATE-----\n"
                          "AAAA\n-----END CERTIFICATE-----\n");
  cr_assert_eq(parse_json(root, &set, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_keyset_count(set), 2);
  gauth_keyset_free(set);

  /* A member that is not PEM: not a PEM map at all. */
  cJSON_AddNumberToObject(root, "n", 1);
  cr_assert_eq(parse_json(root, &set, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "not a JWKS"), "%s", err.message);
  cJSON_Delete(root);
  free(c1);
  free(c2);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
}

Test(detect, pem_public_key_map) {
  EVP_PKEY *a = gen("EC", "P-256", 0), *b = gen("EC", "P-256", 0);
  char *p1 = to_pem(a, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");
  char *p2 = to_pem(b, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");
  cJSON *root = cJSON_CreateObject();
  gauth_keyset *set = NULL;
  cJSON_AddStringToObject(root, "0oeLcQ", p1);
  cJSON_AddStringToObject(root, "BOIWdQ", p2);
  cr_assert_eq(parse_json(root, &set, NULL), GAUTH_OK);
  cr_assert_eq(gauth_keyset_count(set), 2);
  cr_assert_eq(EVP_PKEY_eq(find_kid(set, "BOIWdQ")->pkey, b), 1);
  gauth_keyset_free(set);
  cJSON_Delete(root);
  free(p1);
  free(p2);
  EVP_PKEY_free(a);
  EVP_PKEY_free(b);
}

Test(detect, single_jwk_and_pem) {
  EVP_PKEY *ec = gen("EC", "P-256", 0);
  cJSON *o = jwk_of(ec, "solo", 0);
  char *pem = to_pem(ec, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");
  char *spaced = malloc(strlen(pem) + 4);
  gauth_keyset *set = NULL;
  cr_assert_eq(parse_json(o, &set, NULL), GAUTH_OK);
  cr_assert_eq(gauth_keyset_count(set), 1);
  cr_assert_str_eq(gauth_key_kid(gauth_keyset_get(set, 0)), "solo");
  gauth_keyset_free(set);

  set = expect_parse_ok(pem, 1);
  cr_assert_null(gauth_key_kid(gauth_keyset_get(set, 0)));
  cr_assert_eq(EVP_PKEY_eq(gauth_keyset_get(set, 0)->pkey, ec), 1);
  jwks_round_trip(set);
  gauth_keyset_free(set);
  strcpy(spaced, "\n \t");
  strcat(spaced, pem);
  set = expect_parse_ok(spaced, 1);
  gauth_keyset_free(set);

  /* One JWK that is refused is an error (nothing to skip to). */
  cJSON_AddStringToObject(o, "alg", "ES384");
  {
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(parse_json(o, &set, &err), GAUTH_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, "does not fit"), "%s", err.message);
  }
  /* Truncated PEM. */
  expect_parse_fail(pem, strlen(pem) - 10, GAUTH_E_MALFORMED, "key set (PEM)");
  cJSON_Delete(o);
  free(pem);
  free(spaced);
  EVP_PKEY_free(ec);
}

Test(detect, not_a_key_set) {
  size_t big = GAUTH__KEY_MAX_INPUT + 1;
  char *text = malloc(big);
  expect_parse_fail("", 0, GAUTH_E_MALFORMED, "empty input");
  expect_parse_fail(" \n\t", 3, GAUTH_E_MALFORMED, "empty input");
  expect_parse_fail("{}", 2, GAUTH_E_MALFORMED, "not a JWKS");
  expect_parse_fail("{\"a\":\"b\"}", 9, GAUTH_E_MALFORMED, "not a JWKS");
  expect_parse_fail("[]", 2, GAUTH_E_MALFORMED, "neither JSON");
  expect_parse_fail("hello", 5, GAUTH_E_MALFORMED, "nor PEM");
  expect_parse_fail("{\"keys\":[", 9, GAUTH_E_MALFORMED, "key set: JSON");
  expect_parse_fail("{\"keys\":[],\"keys\":[]}", 21, GAUTH_E_MALFORMED,
                    "duplicate");
  memset(text, ' ', big);
  text[0] = '{';
  expect_parse_fail(text, big, GAUTH_E_TOO_LARGE, "over the limit");
  free(text);
}

/* ---- objects ------------------------------------------------------------- */

Test(object, from_keys_and_refcounts) {
  EVP_PKEY *ec = gen("EC", "P-256", 0);
  char *pem = to_pem(ec, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
  gauth_key *k1 = NULL, *k2 = NULL;
  gauth_key *keys[2];
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;

  cr_assert_eq(gauth_key_from_pem(&k1, pem, strlen(pem), &err), GAUTH_OK);
  cr_assert_eq(gauth_key_from_pem(&k2, pem, strlen(pem), &err), GAUTH_OK);
  keys[0] = k1;
  keys[1] = k2;
  cr_assert_eq(gauth_keyset_from_keys(&set, keys, 2, &err), GAUTH_OK);
  /* The set holds its own references. */
  gauth_key_free(k1);
  gauth_key_free(k2);
  cr_assert_eq(gauth_keyset_count(set), 2);
  cr_assert_eq(gauth_keyset_get(set, 0), k1);
  cr_assert_eq(gauth_key_get_type(gauth_keyset_get(set, 1)), GAUTH_KEY_EC_P256);
  jwks_round_trip(set);
  gauth_keyset_up_ref(set);
  gauth_keyset_free(set);
  cr_assert_eq(gauth_keyset_count(set), 2); /* still alive */
  gauth_keyset_free(set);

  cr_assert_eq(gauth_keyset_from_keys(&set, NULL, 0, &err), GAUTH_OK);
  cr_assert_eq(gauth_keyset_count(set), 0);
  cr_assert_null(gauth_keyset_get(set, 0));
  {
    char *jwks = NULL;
    cr_assert_eq(gauth_keyset_to_jwks(set, &jwks, &err), GAUTH_OK);
    cr_assert_str_eq(jwks, "{\"keys\":[]}");
    gauth_free(jwks);
  }
  gauth_keyset_free(set);

  keys[1] = NULL;
  cr_assert_eq(gauth_keyset_from_keys(&set, keys, 2, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "keys[1]"));
  cr_assert_eq(gauth_keyset_from_keys(&set, NULL, 1, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_keyset_from_keys(NULL, keys, 0, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_keyset_parse(NULL, "{}", 2, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_keyset_parse(&set, NULL, 2, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_keyset_load_file(&set, NULL, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_keyset_to_jwks(NULL, &pem, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_keyset_count(NULL), 0);
  cr_assert_null(gauth_keyset_get(NULL, 0));
  gauth_keyset_free(NULL);
  gauth_keyset_up_ref(NULL);
  free(pem);
  EVP_PKEY_free(ec);
}

Test(object, load_file) {
  EVP_PKEY *ec = gen("EC", "P-256", 0);
  cJSON *root = cJSON_CreateObject();
  cJSON *keys = cJSON_AddArrayToObject(root, "keys");
  char *text, *path;
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_AddItemToArray(keys, jwk_of(ec, "f", 0));
  text = cJSON_Print(root);
  path = tu_write_temp(text);
  cr_assert_eq(gauth_keyset_load_file(&set, path, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(gauth_keyset_count(set), 1);
  gauth_keyset_free(set);
  unlink(path);
  cr_assert_eq(gauth_keyset_load_file(&set, path, &err), GAUTH_E_IO);
  cr_assert_not_null(strstr(err.message, path), "%s", err.message);
  free(path);
  path = tu_write_temp("{\"x\":1}");
  cr_assert_eq(gauth_keyset_load_file(&set, path, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, path), "%s", err.message);
  unlink(path);
  free(path);
  cJSON_free(text);
  cJSON_Delete(root);
  EVP_PKEY_free(ec);
}

/* ---- published vectors --------------------------------------------------- */

Test(vectors, rfc7517_jwks) {
  char *text = vec_read("rfc/jose_rfc_examples.json", NULL);
  cJSON *root = cJSON_Parse(text), *e;
  int seen = 0;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "jwk")) {
    const char *id = cJSON_GetObjectItem(e, "id")->valuestring;
    gauth_keyset *set = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_status st = parse_json(cJSON_GetObjectItem(e, "value"), &set, &err);
    if (strcmp(id, "rfc7517-A.1") == 0 || strcmp(id, "rfc7517-A.2") == 0) {
      /* The EC key is for encryption: only the RSA key remains. */
      cr_assert_eq(st, GAUTH_OK, "%s: %s", id, err.message);
      cr_assert_eq(gauth_keyset_count(set), 1);
      cr_assert_str_eq(gauth_key_kid(gauth_keyset_get(set, 0)), "2011-04-29");
      jwks_round_trip(set);
      seen++;
    } else if (strcmp(id, "rfc7520-3.1") == 0 ||
               strcmp(id, "rfc7520-3.2") == 0) {
      cr_assert_eq(st, GAUTH_E_UNSUPPORTED, "%s: %s", id, err.message);
      seen++;
    } else {
      cr_assert_eq(st, GAUTH_OK, "%s: %s", id, err.message);
      cr_assert_eq(gauth_keyset_count(set), 1);
      seen++;
    }
    gauth_keyset_free(set);
  }
  cr_assert_eq(seen, 7);
  cJSON_Delete(root);
  free(text);
}

Test(vectors, google_pem_maps) {
  char *certs = vec_read("google-auth-library-nodejs/oauthcertspem.json", NULL);
  char *iap = vec_read("google-auth-library-nodejs/ecdsapublickeys.json", NULL);
  cJSON *iap_json = cJSON_Parse(iap), *m;
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;

  /* Google's 2014 v1 certificate map: detected as such, both certificates
   * hold 1024-bit keys, which are refused. */
  cr_assert_eq(gauth_keyset_parse(&set, certs, strlen(certs), &err),
               GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message,
                            "PEM certificate map: none of its 2 "
                            "keys"),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, "1024 bits is too small"), "%s",
                     err.message);
  cr_assert_not_null(strstr(err.message,
                            "a15eea964ab9cce480e5ef4f47cb17b9fa7d"
                            "0b21"),
                     "%s", err.message);

  /* IAP's map of P-256 public keys. */
  cr_assert_eq(gauth_keyset_parse(&set, iap, strlen(iap), &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(gauth_keyset_count(set), (size_t)cJSON_GetArraySize(iap_json));
  cJSON_ArrayForEach(m, iap_json) {
    const gauth_key *k = find_kid(set, m->string);
    cr_assert_not_null(k, "kid %s", m->string);
    cr_assert_eq(gauth_key_get_type(k), GAUTH_KEY_EC_P256);
  }
  jwks_round_trip(set);
  gauth_keyset_free(set);
  cJSON_Delete(iap_json);
  free(certs);
  free(iap);
}

Test(vectors, google_python_certs) {
  char *pub = vec_read("google-auth-library-python/public_cert.pem", NULL);
  char *other = vec_read("google-auth-library-python/other_cert.pem", NULL);
  cJSON *map = cJSON_CreateObject();
  gauth_keyset *set;
  /* As upstream's test_jwt.py: certs={"1": OTHER, "2": PUBLIC}. */
  cJSON_AddStringToObject(map, "1", other);
  cJSON_AddStringToObject(map, "2", pub);
  cr_assert_eq(parse_json(map, &set, NULL), GAUTH_OK);
  cr_assert_eq(gauth_keyset_count(set), 2);
  cr_assert_eq(gauth_key_bits(find_kid(set, "1")), 4096);
  cr_assert_eq(gauth_key_bits(find_kid(set, "2")), 2048);
  gauth_keyset_free(set);
  set = expect_parse_ok(pub, 1);
  gauth_keyset_free(set);
  cJSON_Delete(map);
  free(pub);
  free(other);
}

/* Wycheproof json_web_key_test.json, key set by key set. Expectations by
 * the group's first tcId: keys kept, or the error's substring. */
static const struct {
  int tc;
  size_t count;        /* 0: GAUTH_E_MALFORMED */
  const char *message; /* for count 0 */
} wp_sets[] = {
    {1, 1, NULL}, /* oct skipped, EC kept */
    {2, 0, "symmetric keys"},
    {4, 0, "symmetric keys"},
    {5, 1, NULL},
    {6, 0, "\"RSA1_5\""},
    {7, 0, "ROCA"},
    {8, 0, "too small"},
    {9, 0, "exponent 1"},
    {10, 0, "symmetric"},
    {11, 0, "symmetric"},
    {12, 0, "symmetric"},
    {13, 0, "symmetric"},
    {14, 0, "symmetric"},
    {15, 0, "symmetric"},
    {16, 0, "symmetric"},
    {17, 0, "symmetric"},
    {18, 0, "symmetric"},
    {19, 0, "\"ES521\""},
    {20, 0, "\"ES224\""},
    {21, 0, "not for signatures"},
    {22, 0, "not on the curve"},
    {23, 0, "P-384"},
    {24, 0, "missing field \"n\""},
    {25, 0, "symmetric"},
    {26, 0, "symmetric"},
};

Test(vectors, wycheproof_key_sets) {
  char *text = vec_read("wycheproof/json_web_key_test.json", NULL);
  cJSON *root = cJSON_Parse(text), *g;
  int sets = 0;
  cJSON_ArrayForEach(g, cJSON_GetObjectItem(root, "testGroups")) {
    int tc = cJSON_GetObjectItem(
                 cJSON_GetArrayItem(cJSON_GetObjectItem(g, "tests"), 0), "tcId")
                 ->valueint;
    static const char *const names[] = {"private", "public"};
    size_t i, s;
    for (i = 0; i < sizeof(wp_sets) / sizeof(*wp_sets); i++)
      if (wp_sets[i].tc == tc) break;
    cr_assert_lt(i, sizeof(wp_sets) / sizeof(*wp_sets), "tcId %d", tc);
    for (s = 0; s < 2; s++) {
      const cJSON *ks = cJSON_GetObjectItem(g, names[s]);
      gauth_keyset *set = NULL;
      gauth_error err = GAUTH_ERROR_INIT;
      gauth_status st;
      if (ks == NULL) continue;
      st = parse_json(ks, &set, &err);
      sets++;
      if (wp_sets[i].count > 0) {
        cr_assert_eq(st, GAUTH_OK, "tc %d %s: %s", tc, names[s], err.message);
        cr_assert_eq(gauth_keyset_count(set), wp_sets[i].count, "tc %d", tc);
        gauth_keyset_free(set);
      } else {
        const cJSON *k;
        cr_assert_eq(st, GAUTH_E_MALFORMED, "tc %d %s: %s", tc, names[s],
                     gauth_status_name(st));
        cr_assert_not_null(strstr(err.message, wp_sets[i].message), "tc %d: %s",
                           tc, err.message);
        cJSON_ArrayForEach(k, cJSON_GetObjectItem(ks, "keys")) {
          static const char *const secret[] = {"d",  "p",  "q", "dp",
                                               "dq", "qi", "k"};
          size_t j;
          for (j = 0; j < 7; j++) {
            const cJSON *v = cJSON_GetObjectItem(k, secret[j]);
            if (cJSON_IsString(v)) assert_no_leak(err.message, v->valuestring);
          }
        }
      }
    }
  }
  cr_assert_eq(sets, 36);
  cJSON_Delete(root);
  free(text);
}
