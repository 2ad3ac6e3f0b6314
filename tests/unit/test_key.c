/* Unit tests for the gauth_key object and its imports: the checks every
 * key passes and the object itself (lib/key.c: suites alg, rules, object),
 * JWK import and public JWK export (lib/key_jwk.c: generated, rules),
 * PEM (lib/key_pem.c: pem), service-account JSON
 * (lib/key_service_account.c: service_account) and files (lib/key_file.c:
 * files). One program: the suites share their key generators and checks.
 *
 * Keys are generated at run time with OpenSSL. Where $GAUTH_TEST_VECTORS
 * names a folder, the published vectors there (google-auth fixtures, RFC
 * 7517/7520 keys, Wycheproof's JWK tests) are read from it; otherwise
 * those tests are skipped, saying so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
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
#include "json.h"
#include "test_keys.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------- */

/* RSA key number n of that size (test_keys.h: cached for the run). */
static EVP_PKEY *gen_rsa(unsigned int bits, unsigned int n) {
  EVP_PKEY *k = tk_rsa(bits, n);
  cr_assert_not_null(k, "RSA key generation");
  return k;
}

static EVP_PKEY *gen_ec(const char *curve) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
  cr_assert_not_null(k, "EC key generation");
  return k;
}

static EVP_PKEY *gen_ed25519(void) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  cr_assert_not_null(k, "Ed25519 key generation");
  return k;
}

/* PEM text of pkey: structure "PrivateKeyInfo" (PKCS#8),
 * "SubjectPublicKeyInfo", or "type-specific" (PKCS#1 / SEC1); cipher NULL
 * or a cipher name to encrypt with passphrase "pw". */
static char *encode_pem(EVP_PKEY *pkey, int selection, const char *structure,
                        const char *cipher) {
  OSSL_ENCODER_CTX *ctx =
      OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, "PEM", structure, NULL);
  unsigned char *data = NULL;
  size_t len = 0;
  char *text;
  cr_assert_not_null(ctx);
  cr_assert_gt(OSSL_ENCODER_CTX_get_num_encoders(ctx), 0, "no encoder for %s",
               structure);
  if (cipher != NULL) {
    cr_assert(OSSL_ENCODER_CTX_set_cipher(ctx, cipher, NULL));
    cr_assert(
        OSSL_ENCODER_CTX_set_passphrase(ctx, (const unsigned char *)"pw", 2));
  }
  cr_assert(OSSL_ENCODER_to_data(ctx, &data, &len), "encoding %s", structure);
  OSSL_ENCODER_CTX_free(ctx);
  text = malloc(len + 1);
  cr_assert_not_null(text);
  memcpy(text, data, len);
  text[len] = '\0';
  OPENSSL_free(data);
  return text;
}

static char *pkcs8_pem(EVP_PKEY *k) {
  return encode_pem(k, EVP_PKEY_KEYPAIR, "PrivateKeyInfo", NULL);
}

static char *spki_pem(EVP_PKEY *k) {
  return encode_pem(k, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo", NULL);
}

/* A self-signed certificate for pkey (already expired: dates must not
 * matter). */
static char *cert_pem(EVP_PKEY *pkey) {
  X509 *x = X509_new();
  BIO *bio = BIO_new(BIO_s_mem());
  char *data, *text;
  long len;
  cr_assert_not_null(x);
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -86400L * 20);
  X509_gmtime_adj(X509_getm_notAfter(x), -86400L * 10);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             (const unsigned char *)"test", -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  cr_assert(X509_set_pubkey(x, pkey));
  cr_assert(
      X509_sign(x, pkey, EVP_PKEY_is_a(pkey, "ED25519") ? NULL : EVP_sha256()));
  cr_assert(PEM_write_bio_X509(bio, x));
  len = BIO_get_mem_data(bio, &data);
  text = malloc((size_t)len + 1);
  memcpy(text, data, (size_t)len);
  text[len] = '\0';
  BIO_free(bio);
  X509_free(x);
  return text;
}

static char *b64u(const unsigned char *data, size_t len) {
  char *s = NULL;
  cr_assert_eq(gauth__b64url_encode(data, len, &s, NULL), GAUTH_OK);
  return s;
}

static char *bn_b64u(const EVP_PKEY *k, const char *param, int pad) {
  BIGNUM *bn = NULL;
  unsigned char buf[1024];
  int n;
  cr_assert(EVP_PKEY_get_bn_param(k, param, &bn), "param %s", param);
  n = pad > 0 ? pad : BN_num_bytes(bn);
  cr_assert(n > 0 && (size_t)n <= sizeof(buf));
  cr_assert_eq(BN_bn2binpad(bn, buf, n), n);
  BN_clear_free(bn);
  return b64u(buf, (size_t)n);
}

/* A JWK for pkey as a cJSON object: public, or with every private member.
 * Members are added to or removed from it by the tests. */
static cJSON *jwk_of(EVP_PKEY *k, int with_private) {
  cJSON *o = cJSON_CreateObject();
  char *s;
  size_t i;
  if (EVP_PKEY_is_a(k, "RSA")) {
    static const char *const pub[][2] = {{"n", OSSL_PKEY_PARAM_RSA_N},
                                         {"e", OSSL_PKEY_PARAM_RSA_E}};
    static const char *const priv[][2] = {
        {"d", OSSL_PKEY_PARAM_RSA_D},
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    cJSON_AddStringToObject(o, "kty", "RSA");
    for (i = 0; i < 2; i++) {
      s = bn_b64u(k, pub[i][1], 0);
      cJSON_AddStringToObject(o, pub[i][0], s);
      free(s);
    }
    for (i = 0; with_private && i < 6; i++) {
      s = bn_b64u(k, priv[i][1], 0);
      cJSON_AddStringToObject(o, priv[i][0], s);
      free(s);
    }
  } else if (EVP_PKEY_is_a(k, "EC")) {
    char group[64];
    int clen;
    cr_assert(EVP_PKEY_get_group_name(k, group, sizeof(group), NULL));
    clen = strcmp(group, "prime256v1") == 0  ? 32
           : strcmp(group, "secp384r1") == 0 ? 48
                                             : 66;
    cJSON_AddStringToObject(o, "kty", "EC");
    cJSON_AddStringToObject(o, "crv",
                            clen == 32   ? "P-256"
                            : clen == 48 ? "P-384"
                                         : "P-521");
    s = bn_b64u(k, OSSL_PKEY_PARAM_EC_PUB_X, clen);
    cJSON_AddStringToObject(o, "x", s);
    free(s);
    s = bn_b64u(k, OSSL_PKEY_PARAM_EC_PUB_Y, clen);
    cJSON_AddStringToObject(o, "y", s);
    free(s);
    if (with_private) {
      s = bn_b64u(k, OSSL_PKEY_PARAM_PRIV_KEY, clen);
      cJSON_AddStringToObject(o, "d", s);
      free(s);
    }
  } else {
    unsigned char raw[32];
    size_t len = sizeof(raw);
    cJSON_AddStringToObject(o, "kty", "OKP");
    cJSON_AddStringToObject(o, "crv", "Ed25519");
    cr_assert(EVP_PKEY_get_raw_public_key(k, raw, &len));
    s = b64u(raw, len);
    cJSON_AddStringToObject(o, "x", s);
    free(s);
    if (with_private) {
      len = sizeof(raw);
      cr_assert(EVP_PKEY_get_raw_private_key(k, raw, &len));
      s = b64u(raw, len);
      cJSON_AddStringToObject(o, "d", s);
      free(s);
    }
  }
  return o;
}

static void set_str(cJSON *o, const char *name, const char *value) {
  cJSON_DeleteItemFromObjectCaseSensitive(o, name);
  if (value != NULL) cJSON_AddStringToObject(o, name, value);
}

static gauth_status jwk_import(cJSON *o, gauth_key **key, gauth_error *err) {
  char *text = cJSON_PrintUnformatted(o);
  gauth_status st;
  cr_assert_not_null(text);
  st = gauth_key_from_jwk(key, text, strlen(text), err);
  cJSON_free(text);
  return st;
}

/* Asserts that importing o fails with code and a message containing
 * `want`, and that no 20-character run of any private member of o appears
 * in the message. */
static void assert_no_leak(const char *message, const char *secret);

static void expect_jwk_fail(cJSON *o, gauth_status code, const char *want) {
  static const char *const secret_members[] = {"d", "p", "q", "dp", "dq", "qi"};
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = (gauth_key *)0x1;
  gauth_status st = jwk_import(o, &key, &err);
  size_t i;
  cr_assert_eq(st, code, "want %s, got %s: %s", gauth_status_name(code),
               gauth_status_name(st), err.message);
  cr_assert_eq(err.code, code);
  cr_assert_null(key);
  cr_assert_not_null(strstr(err.message, want), "message \"%s\" lacks \"%s\"",
                     err.message, want);
  for (i = 0; i < sizeof(secret_members) / sizeof(*secret_members); i++) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, secret_members[i]);
    if (cJSON_IsString(m)) assert_no_leak(err.message, m->valuestring);
  }
}

static gauth_key *expect_jwk_ok(cJSON *o) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = NULL;
  gauth_status st = jwk_import(o, &key, &err);
  cr_assert_eq(st, GAUTH_OK, "%s: %s", gauth_status_name(st), err.message);
  cr_assert_not_null(key);
  return key;
}

/* No 20-character run of `secret` (a private key body) may appear in a
 * message. Applied to base64 or base64url text. */
static void assert_no_leak(const char *message, const char *secret) {
  size_t n = strlen(secret), i;
  char run[21];
  if (n < 20) return;
  for (i = 0; i + 20 <= n; i++) {
    memcpy(run, secret + i, 20);
    run[20] = '\0';
    cr_assert_null(strstr(message, run),
                   "message leaks private key material: %s", message);
  }
}

/* The base64 body lines of a PEM text, concatenated. */
static char *pem_body(const char *pem) {
  char *out = malloc(strlen(pem) + 1);
  const char *p = pem;
  size_t n = 0;
  cr_assert_not_null(out);
  while (*p != '\0') {
    const char *eol = strchr(p, '\n');
    size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
    if (len > 0 && p[0] != '-' && memchr(p, ':', len) == NULL) {
      memcpy(out + n, p, len);
      n += len;
    }
    p += len + (eol != NULL);
  }
  out[n] = '\0';
  return out;
}

static gauth_key *expect_pem_ok(const char *pem) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = NULL;
  gauth_status st = gauth_key_from_pem(&key, pem, strlen(pem), &err);
  cr_assert_eq(st, GAUTH_OK, "%s: %s", gauth_status_name(st), err.message);
  cr_assert_not_null(key);
  cr_assert_null(gauth_key_kid(key));
  return key;
}

static void expect_pem_fail(const char *pem, size_t len, gauth_status code,
                            const char *want, const char *secret_pem) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = (gauth_key *)0x1;
  gauth_status st = gauth_key_from_pem(&key, pem, len, &err);
  cr_assert_eq(st, code, "want %s, got %s: %s", gauth_status_name(code),
               gauth_status_name(st), err.message);
  cr_assert_null(key);
  cr_assert_not_null(strstr(err.message, want), "message \"%s\" lacks \"%s\"",
                     err.message, want);
  if (secret_pem != NULL) {
    char *body = pem_body(secret_pem);
    assert_no_leak(err.message, body);
    free(body);
  }
}

static void assert_same_public(const gauth_key *key, EVP_PKEY *want) {
  cr_assert_eq(EVP_PKEY_eq(key->pkey, want), 1, "public keys differ");
}

/* key -> public JWK -> key: the same public key, no private part, same
 * kid and alg. */
static void round_trip(const gauth_key *key) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *back = NULL;
  char *jwk = NULL;
  cJSON *o;
  gauth_status st = gauth_key_public_jwk(key, &jwk, &err);
  cr_assert_eq(st, GAUTH_OK, "%s", err.message);
  cr_assert_null(strstr(jwk, "\"d\""), "private member in %s", jwk);
  o = cJSON_Parse(jwk);
  cr_assert_not_null(o);
  cr_assert_str_eq(cJSON_GetObjectItem(o, "use")->valuestring, "sig");
  cr_assert_str_eq(cJSON_GetObjectItem(o, "alg")->valuestring,
                   gauth_alg_name(gauth_key_alg(key)));
  cJSON_Delete(o);
  st = gauth_key_from_jwk(&back, jwk, strlen(jwk), &err);
  cr_assert_eq(st, GAUTH_OK, "%s: %s", err.message, jwk);
  cr_assert_eq(EVP_PKEY_eq(back->pkey, key->pkey), 1);
  cr_assert_eq(gauth_key_is_private(back), 0);
  cr_assert_eq(gauth_key_get_type(back), gauth_key_get_type(key));
  cr_assert_eq(gauth_key_bits(back), gauth_key_bits(key));
  cr_assert_eq(gauth_key_alg(back), gauth_key_alg(key));
  if (gauth_key_kid(key) == NULL)
    cr_assert_null(gauth_key_kid(back));
  else
    cr_assert_str_eq(gauth_key_kid(back), gauth_key_kid(key));
  cr_assert(back->can_verify);
  gauth_key_free(back);
  gauth_free(jwk);
}

/* ---- algorithms ---------------------------------------------------------- */

Test(alg, names_round_trip) {
  int a;
  for (a = 1; a < GAUTH__ALG_COUNT; a++) {
    const char *name = gauth_alg_name((gauth_alg)a);
    cr_assert_str_neq(name, "unknown");
    cr_assert_eq(gauth_alg_from_name(name), (gauth_alg)a);
  }
  cr_assert_str_eq(gauth_alg_name(GAUTH_ALG_EDDSA), "EdDSA");
  cr_assert_str_eq(gauth_alg_name(GAUTH_ALG_UNKNOWN), "unknown");
  cr_assert_str_eq(gauth_alg_name((gauth_alg)99), "unknown");
  cr_assert_eq(gauth_alg_from_name("rs256"), GAUTH_ALG_UNKNOWN);
  cr_assert_eq(gauth_alg_from_name("none"), GAUTH_ALG_UNKNOWN);
  cr_assert_eq(gauth_alg_from_name("HS256"), GAUTH_ALG_UNKNOWN);
  cr_assert_eq(gauth_alg_from_name("unknown"), GAUTH_ALG_UNKNOWN);
  cr_assert_eq(gauth_alg_from_name(""), GAUTH_ALG_UNKNOWN);
  cr_assert_eq(gauth_alg_from_name(NULL), GAUTH_ALG_UNKNOWN);
}

/* ---- generated keys: PEM, JWK, round trips ------------------------------- */

static void check_generated(EVP_PKEY *k, gauth_key_type type, unsigned int bits,
                            gauth_alg alg) {
  char *pem = pkcs8_pem(k), *pub = spki_pem(k), *cert = cert_pem(k);
  gauth_key *key;
  cJSON *o;

  key = expect_pem_ok(pem);
  cr_assert_eq(gauth_key_get_type(key), type);
  cr_assert_eq(gauth_key_bits(key), bits);
  cr_assert_eq(gauth_key_is_private(key), 1);
  cr_assert_eq(gauth_key_alg(key), alg);
  cr_assert(key->can_sign && key->can_verify);
  cr_assert_eq(gauth__key_algs(key) & GAUTH_ALG_BIT(alg), GAUTH_ALG_BIT(alg));
  assert_same_public(key, k);
  round_trip(key);
  gauth_key_free(key);

  key = expect_pem_ok(pub);
  cr_assert_eq(gauth_key_is_private(key), 0);
  cr_assert_eq(key->can_sign, 0);
  assert_same_public(key, k);
  round_trip(key);
  gauth_key_free(key);

  key = expect_pem_ok(cert);
  cr_assert_eq(gauth_key_is_private(key), 0);
  assert_same_public(key, k);
  gauth_key_free(key);

  o = jwk_of(k, 1);
  set_str(o, "kid", "k-1");
  key = expect_jwk_ok(o);
  cr_assert_eq(gauth_key_is_private(key), 1);
  cr_assert_str_eq(gauth_key_kid(key), "k-1");
  assert_same_public(key, k);
  round_trip(key);
  gauth_key_free(key);
  cJSON_Delete(o);

  o = jwk_of(k, 0);
  set_str(o, "alg", gauth_alg_name(alg));
  key = expect_jwk_ok(o);
  cr_assert_eq(gauth_key_is_private(key), 0);
  cr_assert_eq(key->alg, alg);
  cr_assert_eq(gauth__key_algs(key), GAUTH_ALG_BIT(alg));
  round_trip(key);
  gauth_key_free(key);
  cJSON_Delete(o);

  free(pem);
  free(pub);
  free(cert);
}

Test(generated, rsa_2048) {
  EVP_PKEY *k = gen_rsa(2048, 0);
  check_generated(k, GAUTH_KEY_RSA, 2048, GAUTH_ALG_RS256);
  EVP_PKEY_free(k);
}

Test(generated, rsa_3072) {
  EVP_PKEY *k = gen_rsa(3072, 0);
  check_generated(k, GAUTH_KEY_RSA, 3072, GAUTH_ALG_RS256);
  EVP_PKEY_free(k);
}

Test(generated, ec_p256) {
  EVP_PKEY *k = gen_ec("P-256");
  check_generated(k, GAUTH_KEY_EC_P256, 256, GAUTH_ALG_ES256);
  EVP_PKEY_free(k);
}

Test(generated, ec_p384) {
  EVP_PKEY *k = gen_ec("P-384");
  check_generated(k, GAUTH_KEY_EC_P384, 384, GAUTH_ALG_ES384);
  EVP_PKEY_free(k);
}

Test(generated, ed25519) {
  EVP_PKEY *k = gen_ed25519();
  check_generated(k, GAUTH_KEY_ED25519, (unsigned)EVP_PKEY_get_bits(k),
                  GAUTH_ALG_EDDSA);
  EVP_PKEY_free(k);
}

Test(generated, rsa_other_algs_kept) {
  EVP_PKEY *k = gen_rsa(2048, 0);
  static const char *const algs[] = {"RS384", "RS512", "PS256"};
  size_t i;
  for (i = 0; i < 3; i++) {
    cJSON *o = jwk_of(k, 0);
    gauth_key *key;
    set_str(o, "alg", algs[i]);
    key = expect_jwk_ok(o);
    cr_assert_eq(gauth_key_alg(key), gauth_alg_from_name(algs[i]));
    cr_assert_eq(gauth__key_algs(key),
                 GAUTH_ALG_BIT(gauth_alg_from_name(algs[i])));
    round_trip(key);
    gauth_key_free(key);
    cJSON_Delete(o);
  }
  EVP_PKEY_free(k);
}

/* ---- size, curve and type rules ----------------------------------------- */

Test(rules, rsa_1024_refused) {
  EVP_PKEY *k = gen_rsa(1024, 0);
  char *pem = pkcs8_pem(k), *pub = spki_pem(k);
  cJSON *o = jwk_of(k, 1);
  expect_pem_fail(pem, strlen(pem), GAUTH_E_UNSUPPORTED,
                  "1024 bits is too "
                  "small",
                  pem);
  expect_pem_fail(pub, strlen(pub), GAUTH_E_UNSUPPORTED, "too small", NULL);
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "at least 2048");
  cJSON_Delete(o);
  free(pem);
  free(pub);
  EVP_PKEY_free(k);
}

Test(rules, p521_unsupported) {
  EVP_PKEY *k = gen_ec("P-521");
  char *pem = pkcs8_pem(k);
  cJSON *o = jwk_of(k, 1);
  expect_pem_fail(pem, strlen(pem), GAUTH_E_UNSUPPORTED, "secp521r1", pem);
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"P-521\" is not supported");
  cJSON_Delete(o);
  free(pem);
  EVP_PKEY_free(k);
}

Test(rules, other_key_types_unsupported) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
  char *pem;
  cr_assert_not_null(k);
  pem = pkcs8_pem(k);
  expect_pem_fail(pem, strlen(pem), GAUTH_E_UNSUPPORTED, "ED448", pem);
  free(pem);
  EVP_PKEY_free(k);
}

Test(rules, rsa_exponent) {
  EVP_PKEY *k = gen_rsa(2048, 0);
  cJSON *o = jwk_of(k, 0);
  set_str(o, "e", "AQ"); /* 1 */
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "exponent 1");
  set_str(o, "e", "AQAA"); /* 65536 */
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "exponent is even");
  set_str(o, "e", "Ag"); /* 2 */
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "exponent is even");
  set_str(o, "e", "Aw"); /* 3: odd, > 1: accepted */
  gauth_key_free(expect_jwk_ok(o));
  cJSON_Delete(o);
  EVP_PKEY_free(k);
}

/* A modulus with the ROCA structure, built the way Infineon's primes were:
 * p = k * M + (65537^a mod M) with M the primorial of the primes up to
 * 167. p and q need not be prime for the fingerprint, and no private key
 * is needed for a public JWK. */
static char *roca_like_modulus(void) {
  static const unsigned primes[] = {
      3,   5,   7,   11,  13,  17,  19,  23,  29,  31,  37,  41,  43,
      47,  53,  59,  61,  67,  71,  73,  79,  83,  89,  97,  101, 103,
      107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *m = BN_new(), *g = BN_new(), *e = BN_new(), *r = BN_new(),
         *p = BN_new(), *q = BN_new(), *n = BN_new(), *k = BN_new();
  unsigned char buf[512];
  size_t i;
  int len;
  char *s;
  cr_assert(BN_one(m));
  for (i = 0; i < sizeof(primes) / sizeof(*primes); i++)
    cr_assert(BN_mul_word(m, primes[i]));
  cr_assert(BN_set_word(g, 65537));
  /* p = k1 * M + 65537^1234 mod M, q = k2 * M + 65537^4321 mod M */
  cr_assert(BN_set_word(e, 1234));
  cr_assert(BN_mod_exp(r, g, e, m, ctx));
  cr_assert(BN_rand(k, 1024 - 200, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY));
  cr_assert(BN_mul(p, k, m, ctx) && BN_add(p, p, r));
  cr_assert(BN_set_word(e, 4321));
  cr_assert(BN_mod_exp(r, g, e, m, ctx));
  cr_assert(BN_rand(k, 1024 - 200, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY));
  cr_assert(BN_mul(q, k, m, ctx) && BN_add(q, q, r));
  cr_assert(BN_mul(n, p, q, ctx));
  /* The other checks want an odd n: adding M^2 (odd, 0 mod every listed
   * prime) flips the parity and keeps every residue. */
  if (!BN_is_odd(n)) cr_assert(BN_sqr(r, m, ctx) && BN_add(n, n, r));
  cr_assert_geq(BN_num_bits(n), 2048);
  len = BN_num_bytes(n);
  cr_assert(len > 0 && (size_t)len <= sizeof(buf));
  BN_bn2bin(n, buf);
  s = b64u(buf, (size_t)len);
  BN_free(m);
  BN_free(g);
  BN_free(e);
  BN_free(r);
  BN_free(p);
  BN_free(q);
  BN_free(n);
  BN_free(k);
  BN_CTX_free(ctx);
  return s;
}

/* Generated keys (every other test) pass; the ROCA structure does not. */
Test(rules, roca_fingerprint) {
  cJSON *o = cJSON_CreateObject();
  char *n = roca_like_modulus();
  cJSON_AddStringToObject(o, "kty", "RSA");
  cJSON_AddStringToObject(o, "e", "AQAB");
  cJSON_AddStringToObject(o, "n", n);
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "ROCA");
  free(n);
  cJSON_Delete(o);
}

Test(rules, alg_must_fit_key) {
  EVP_PKEY *ec = gen_ec("P-384"), *ec256 = gen_ec("P-256"), *ed = gen_ed25519();
  cJSON *o = jwk_of(ec, 0);
  set_str(o, "alg", "ES256");
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "alg ES256 does not fit an EC P-384");
  set_str(o, "alg", "RS256");
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "does not fit");
  set_str(o, "alg", "ES512");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"ES512\" is not a supported");
  set_str(o, "alg", "ES224");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"ES224\"");
  set_str(o, "alg", "HS256");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"HS256\"");
  set_str(o, "alg", "none");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"none\"");
  set_str(o, "alg", "es384"); /* case-sensitive */
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"es384\"");
  cJSON_Delete(o);
  o = jwk_of(ec256, 0);
  set_str(o, "alg", "ES384");
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "does not fit an EC P-256");
  set_str(o, "alg", "RSA1_5");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"RSA1_5\"");
  cJSON_Delete(o);
  o = jwk_of(ed, 0);
  set_str(o, "alg", "ES256");
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "does not fit an Ed25519");
  set_str(o, "alg", "EdDSA");
  gauth_key_free(expect_jwk_ok(o));
  cJSON_Delete(o);
  EVP_PKEY_free(ec);
  EVP_PKEY_free(ec256);
  EVP_PKEY_free(ed);
}

Test(rules, alg_not_a_string) {
  EVP_PKEY *k = gen_ec("P-256");
  cJSON *o = jwk_of(k, 0);
  cJSON_AddNumberToObject(o, "alg", 5);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "\"alg\" is a number");
  cJSON_Delete(o);
  EVP_PKEY_free(k);
}

Test(rules, use_and_key_ops) {
  EVP_PKEY *k = gen_ec("P-256");
  cJSON *o = jwk_of(k, 1), *ops;
  gauth_key *key;
  char *jwk;

  set_str(o, "use", "sig");
  key = expect_jwk_ok(o);
  cr_assert(key->can_verify && key->can_sign);
  gauth_key_free(key);

  /* Kept, but good for nothing here. */
  set_str(o, "use", "enc");
  key = expect_jwk_ok(o);
  cr_assert_eq(key->can_verify, 0);
  cr_assert_eq(key->can_sign, 0);
  /* The restriction survives export: no "use":"sig", an empty key_ops. */
  cr_assert_eq(gauth_key_public_jwk(key, &jwk, NULL), GAUTH_OK);
  cr_assert_null(strstr(jwk, "\"use\""), "%s", jwk);
  cr_assert_not_null(strstr(jwk, "\"key_ops\":[]"), "%s", jwk);
  gauth_key_free(key);
  key = NULL;
  cr_assert_eq(gauth_key_from_jwk(&key, jwk, strlen(jwk), NULL), GAUTH_OK);
  cr_assert_eq(key->can_verify, 0);
  gauth_key_free(key);
  gauth_free(jwk);
  set_str(o, "use", NULL);

  ops = cJSON_AddArrayToObject(o, "key_ops");
  cJSON_AddItemToArray(ops, cJSON_CreateString("sign"));
  key = expect_jwk_ok(o);
  cr_assert_eq(key->can_verify, 0);
  cr_assert_eq(key->can_sign, 1);
  gauth_key_free(key);

  cJSON_ReplaceItemInArray(ops, 0, cJSON_CreateString("verify"));
  key = expect_jwk_ok(o);
  cr_assert_eq(key->can_verify, 1);
  cr_assert_eq(key->can_sign, 0);
  gauth_key_free(key);

  cJSON_AddItemToArray(ops, cJSON_CreateString("verify"));
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "lists a value twice");
  cJSON_DeleteItemFromArray(ops, 1);
  cJSON_AddItemToArray(ops, cJSON_CreateNumber(1));
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "expected strings");
  cJSON_DeleteItemFromObject(o, "key_ops");
  cJSON_AddStringToObject(o, "key_ops", "verify");
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "\"key_ops\" is a string");
  cJSON_DeleteItemFromObject(o, "key_ops");

  /* A public key never signs, whatever key_ops says. */
  cJSON_Delete(o);
  o = jwk_of(k, 0);
  key = expect_jwk_ok(o);
  cr_assert_eq(key->can_sign, 0);
  cr_assert_eq(key->can_verify, 1);
  gauth_key_free(key);
  cJSON_Delete(o);
  EVP_PKEY_free(k);
}

Test(rules, kty) {
  cJSON *o = cJSON_Parse("{\"kty\":\"oct\",\"k\":\"AAECAwQFBgcICQoLDA0ODw\"}");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "symmetric keys (kty \"oct\")");
  cr_assert_null(strstr("AAECAwQFBgcICQoLDA0ODw", "kty"));
  set_str(o, "kty", "XYZ");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "kty) \"XYZ\" is not supported");
  set_str(o, "kty", "rsa");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"rsa\"");
  set_str(o, "kty", NULL);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "missing field \"kty\"");
  cJSON_AddNumberToObject(o, "kty", 1);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "\"kty\" is a number");
  cJSON_Delete(o);
  o = cJSON_Parse("{\"keys\":[]}");
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "use gauth_keyset_parse");
  cJSON_Delete(o);
  o = cJSON_Parse("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"}");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"X25519\"");
  set_str(o, "crv", "Ed448");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "Ed25519 only");
  cJSON_Delete(o);
  o = cJSON_Parse(
      "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\","
      "\"y\":\"AA\"}");
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "\"secp256k1\"");
  set_str(o, "crv", NULL);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "missing field \"crv\"");
  cJSON_Delete(o);
}

Test(rules, not_json) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = NULL;
  cr_assert_eq(gauth_key_from_jwk(&key, "", 0, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "empty"), "%s", err.message);
  cr_assert_eq(gauth_key_from_jwk(&key, "[1]", 3, &err), GAUTH_E_MALFORMED);
  cr_assert_eq(
      gauth_key_from_jwk(&key, "{\"kty\":\"EC\",\"kty\":\"RSA\"}", 24, &err),
      GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "duplicate"), "%s", err.message);
  cr_assert_eq(gauth_key_from_jwk(&key, "{\"kty\":", 7, &err),
               GAUTH_E_MALFORMED);
  cr_assert_null(key);
}

Test(rules, base64url_strict) {
  EVP_PKEY *k = gen_ec("P-256");
  cJSON *o = jwk_of(k, 0);
  const char *x = cJSON_GetObjectItem(o, "x")->valuestring;
  char *bad = malloc(strlen(x) + 3);
  strcpy(bad, x);
  strcat(bad, "=");
  set_str(o, "x", bad); /* padding */
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "member \"x\"");
  bad[strlen(bad) - 1] = '\0';
  bad[3] = '+'; /* standard alphabet */
  set_str(o, "x", bad);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "member \"x\"");
  bad[3] = ' ';
  set_str(o, "x", bad);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "member \"x\"");
  set_str(o, "x", "");
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "member \"x\" is empty");
  free(bad);
  cJSON_Delete(o);

  /* And in private members, without showing them. */
  o = jwk_of(k, 1);
  {
    const char *d = cJSON_GetObjectItem(o, "d")->valuestring;
    char *bd = strdup(d);
    bd[10] = '/';
    set_str(o, "d", bd);
    expect_jwk_fail(o, GAUTH_E_MALFORMED, "member \"d\"");
    free(bd);
  }
  cJSON_Delete(o);
  EVP_PKEY_free(k);
}

Test(rules, ec_coordinate_lengths) {
  EVP_PKEY *k = gen_ec("P-256");
  cJSON *o = jwk_of(k, 1);
  unsigned char buf[33] = {0};
  char *s;
  s = b64u(buf, 31);
  set_str(o, "x", s);
  expect_jwk_fail(o, GAUTH_E_MALFORMED,
                  "\"x\" is 31 bytes; P-256 needs "
                  "exactly 32");
  free(s);
  cJSON_Delete(o);
  o = jwk_of(k, 1);
  s = b64u(buf, 33);
  set_str(o, "y", s);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "\"y\" is 33 bytes");
  free(s);
  cJSON_Delete(o);
  o = jwk_of(k, 1);
  s = b64u(buf, 31);
  set_str(o, "d", s);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "\"d\" is 31 bytes");
  free(s);
  set_str(o, "y", NULL);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "missing field \"y\"");
  cJSON_Delete(o);
  EVP_PKEY_free(k);
}

Test(rules, ec_point_not_on_curve) {
  EVP_PKEY *k = gen_ec("P-256");
  cJSON *o = jwk_of(k, 0);
  unsigned char *y = NULL;
  size_t ylen = 0;
  char *s;
  const char *ys = cJSON_GetObjectItem(o, "y")->valuestring;
  cr_assert_eq(gauth__b64url_decode(ys, strlen(ys), &y, &ylen, NULL), GAUTH_OK);
  y[ylen - 1] ^= 1;
  s = b64u(y, ylen);
  set_str(o, "y", s);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "not on the curve");
  /* All zero: the point at infinity has no affine form either. */
  memset(y, 0, ylen);
  free(s);
  s = b64u(y, ylen);
  set_str(o, "y", s);
  set_str(o, "x", s);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "curve");
  free(s);
  free(y);
  cJSON_Delete(o);
  EVP_PKEY_free(k);
}

Test(rules, private_must_match_public) {
  EVP_PKEY *a = gen_ec("P-256"), *b = gen_ec("P-256");
  EVP_PKEY *ea = gen_ed25519(), *eb = gen_ed25519();
  cJSON *o = jwk_of(a, 0), *ob = jwk_of(b, 1);
  set_str(o, "d", cJSON_GetObjectItem(ob, "d")->valuestring);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "does not match");
  cJSON_Delete(o);
  cJSON_Delete(ob);
  o = jwk_of(ea, 0);
  ob = jwk_of(eb, 1);
  set_str(o, "d", cJSON_GetObjectItem(ob, "d")->valuestring);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "\"d\" does not match \"x\"");
  cJSON_Delete(o);
  cJSON_Delete(ob);
  EVP_PKEY_free(a);
  EVP_PKEY_free(b);
  EVP_PKEY_free(ea);
  EVP_PKEY_free(eb);
}

Test(rules, rsa_private_members) {
  EVP_PKEY *k = gen_rsa(2048, 0), *other = gen_rsa(2048, 1);
  cJSON *o = jwk_of(k, 1), *oo = jwk_of(other, 1);
  gauth_key *key;
  static const char *const crt[] = {"p", "q", "dp", "dq", "qi"};
  size_t i;

  /* Without the CRT members: OpenSSL signs with d alone. */
  for (i = 0; i < 5; i++) set_str(o, crt[i], NULL);
  key = expect_jwk_ok(o);
  cr_assert_eq(gauth_key_is_private(key), 1);
  cr_assert_eq(key->can_sign, 1);
  assert_same_public(key, k);
  gauth_key_free(key);
  cJSON_Delete(o);

  o = jwk_of(k, 1);
  set_str(o, "qi", NULL);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "4 of the 5 CRT members");
  cJSON_Delete(o);

  o = jwk_of(k, 0);
  set_str(o, "p", cJSON_GetObjectItem(oo, "p")->valuestring);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "no private exponent");
  cJSON_Delete(o);

  o = jwk_of(k, 1);
  set_str(o, "p", cJSON_GetObjectItem(oo, "p")->valuestring);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "p * q is not the modulus");
  cJSON_AddItemToObject(o, "oth", cJSON_CreateArray());
  expect_jwk_fail(o, GAUTH_E_UNSUPPORTED, "multi-prime");
  cJSON_Delete(o);

  o = jwk_of(k, 0);
  set_str(o, "n", NULL);
  expect_jwk_fail(o, GAUTH_E_MALFORMED, "missing field \"n\"");
  cJSON_Delete(o);

  cJSON_Delete(oo);
  EVP_PKEY_free(k);
  EVP_PKEY_free(other);
}

Test(rules, rsa_too_large) {
  cJSON *o = cJSON_CreateObject();
  unsigned char *n = calloc(1, 2100);
  char *s;
  n[0] = 0xC0;
  n[2099] = 0x01;
  s = b64u(n, 2100);
  cJSON_AddStringToObject(o, "kty", "RSA");
  cJSON_AddStringToObject(o, "n", s);
  cJSON_AddStringToObject(o, "e", "AQAB");
  expect_jwk_fail(o, GAUTH_E_TOO_LARGE, "over the limit");
  free(s);
  free(n);
  cJSON_Delete(o);
}

/* ---- PEM ----------------------------------------------------------------- */

Test(pem, formats) {
  EVP_PKEY *rsa = gen_rsa(2048, 0), *ec = gen_ec("P-384");
  char *pkcs1 = encode_pem(rsa, EVP_PKEY_KEYPAIR, "type-specific", NULL);
  char *pkcs1_pub = encode_pem(rsa, EVP_PKEY_PUBLIC_KEY, "type-specific", NULL);
  char *sec1 = encode_pem(ec, EVP_PKEY_KEYPAIR, "type-specific", NULL);
  char *ec_pkcs8 = pkcs8_pem(ec);
  gauth_key *key;

  cr_assert_not_null(strstr(pkcs1, "BEGIN RSA PRIVATE KEY"));
  cr_assert_not_null(strstr(pkcs1_pub, "BEGIN RSA PUBLIC KEY"));
  cr_assert_not_null(strstr(sec1, "BEGIN EC PRIVATE KEY"));
  key = expect_pem_ok(pkcs1);
  cr_assert(gauth_key_is_private(key));
  assert_same_public(key, rsa);
  gauth_key_free(key);
  key = expect_pem_ok(pkcs1_pub);
  cr_assert_eq(gauth_key_is_private(key), 0);
  assert_same_public(key, rsa);
  gauth_key_free(key);
  key = expect_pem_ok(sec1);
  cr_assert(gauth_key_is_private(key));
  cr_assert_eq(gauth_key_get_type(key), GAUTH_KEY_EC_P384);
  assert_same_public(key, ec);
  gauth_key_free(key);
  key = expect_pem_ok(ec_pkcs8);
  cr_assert(gauth_key_is_private(key));
  gauth_key_free(key);

  /* Leading text (as `openssl pkcs12` writes) is skipped. */
  {
    char *with_text = malloc(strlen(sec1) + 64);
    strcpy(with_text, "Bag Attributes\n    localKeyID: 01\n");
    strcat(with_text, sec1);
    key = expect_pem_ok(with_text);
    gauth_key_free(key);
    free(with_text);
  }
  /* A label that does not match the content. */
  {
    char *swapped = strdup(pkcs1_pub);
    char *p;
    while ((p = strstr(swapped, "RSA PUBLIC KEY")) != NULL)
      memcpy(p, "EC PRIVATE KE", 13), p[13] = 'Y';
    expect_pem_fail(swapped, strlen(swapped), GAUTH_E_MALFORMED,
                    "could not be decoded", NULL);
    free(swapped);
  }
  free(pkcs1);
  free(pkcs1_pub);
  free(sec1);
  free(ec_pkcs8);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(ec);
}

Test(pem, encrypted_refused) {
  EVP_PKEY *k = gen_ec("P-256");
  char *p8 =
      encode_pem(k, EVP_PKEY_KEYPAIR, "EncryptedPrivateKeyInfo", "AES-256-CBC");
  char *legacy =
      encode_pem(k, EVP_PKEY_KEYPAIR, "type-specific", "AES-256-CBC");
  cr_assert_not_null(strstr(p8, "BEGIN ENCRYPTED PRIVATE KEY"), "%s", p8);
  cr_assert_not_null(strstr(legacy, "Proc-Type: 4,ENCRYPTED"), "%s", legacy);
  expect_pem_fail(p8, strlen(p8), GAUTH_E_UNSUPPORTED, "encrypted", p8);
  expect_pem_fail(legacy, strlen(legacy), GAUTH_E_UNSUPPORTED, "encrypted",
                  legacy);
  free(p8);
  free(legacy);
  EVP_PKEY_free(k);
}

Test(pem, garbage_truncated_empty) {
  EVP_PKEY *k = gen_rsa(2048, 0);
  char *pem = pkcs8_pem(k);
  size_t len = strlen(pem);
  char *broken = strdup(pem);

  expect_pem_fail("", 0, GAUTH_E_MALFORMED, "empty", NULL);
  expect_pem_fail("hello world\n", 12, GAUTH_E_MALFORMED, "no BEGIN line",
                  NULL);
  expect_pem_fail("\x01\x02\xff", 3, GAUTH_E_MALFORMED, "BEGIN", NULL);
  /* No END line. */
  expect_pem_fail(pem, len / 2, GAUTH_E_MALFORMED, "PEM", pem);
  /* The END line cut short. */
  expect_pem_fail(pem, len - 8, GAUTH_E_MALFORMED, "PEM", pem);
  /* The base64 body cut short (a line removed): DER is truncated. */
  {
    char *first = strchr(broken, '\n') + 1;
    char *second = strchr(first, '\n') + 1;
    memmove(first, second, strlen(second) + 1);
    expect_pem_fail(broken, strlen(broken), GAUTH_E_MALFORMED, "PEM", pem);
  }
  /* A corrupt character inside the body. */
  free(broken);
  broken = strdup(pem);
  broken[100] = '*';
  expect_pem_fail(broken, strlen(broken), GAUTH_E_MALFORMED, "PEM", pem);
  /* Unknown label. */
  expect_pem_fail("-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", 42,
                  GAUTH_E_UNSUPPORTED, "\"FOO\" block", NULL);
  /* Only EC parameters. */
  expect_pem_fail(
      "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
      "-----END EC PARAMETERS-----\n",
      75, GAUTH_E_MALFORMED, "no key after the EC PARAMETERS", NULL);
  free(broken);
  free(pem);
  EVP_PKEY_free(k);
}

Test(pem, too_large) {
  size_t n = GAUTH__KEY_MAX_INPUT + 1;
  char *big = malloc(n);
  memset(big, 'A', n);
  expect_pem_fail(big, n, GAUTH_E_TOO_LARGE, "over the limit", NULL);
  free(big);
}

/* ---- service-account JSON ------------------------------------------------ */

static char *sa_json(const char *pem, const char *kid, const char *type) {
  cJSON *o = cJSON_CreateObject();
  char *s;
  if (type != NULL) cJSON_AddStringToObject(o, "type", type);
  cJSON_AddStringToObject(o, "client_email",
                          "sa@example.iam.gserviceaccount.com");
  if (pem != NULL) cJSON_AddStringToObject(o, "private_key", pem);
  if (kid != NULL) cJSON_AddStringToObject(o, "private_key_id", kid);
  s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

Test(service_account, import) {
  EVP_PKEY *k = gen_rsa(2048, 0);
  char *pem = pkcs8_pem(k), *pub = spki_pem(k);
  char *j = sa_json(pem, "abc123", "service_account");
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = NULL;
  gauth_status st;

  st = gauth_key_from_service_account(&key, j, strlen(j), &err);
  cr_assert_eq(st, GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_key_kid(key), "abc123");
  cr_assert(gauth_key_is_private(key));
  assert_same_public(key, k);
  gauth_key_free(key);
  cJSON_free(j);

  j = sa_json(NULL, "abc123", "service_account");
  st = gauth_key_from_service_account(&key, j, strlen(j), &err);
  cr_assert_eq(st, GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "missing field \"private_key\""), "%s",
                     err.message);
  cJSON_free(j);

  j = sa_json(pub, "abc123", NULL);
  st = gauth_key_from_service_account(&key, j, strlen(j), &err);
  cr_assert_eq(st, GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "not a private key"), "%s",
                     err.message);
  cJSON_free(j);

  j = sa_json(pem, "abc123", "authorized_user");
  st = gauth_key_from_service_account(&key, j, strlen(j), &err);
  cr_assert_eq(st, GAUTH_E_UNSUPPORTED);
  cr_assert_not_null(strstr(err.message, "\"authorized_user\""), "%s",
                     err.message);
  cJSON_free(j);

  /* A broken private key: the message names the field, not the key. */
  {
    char *broken = strdup(pem);
    broken[120] = broken[120] == 'A' ? 'B' : 'A';
    broken[121] = '!';
    j = sa_json(broken, "abc123", "service_account");
    st = gauth_key_from_service_account(&key, j, strlen(j), &err);
    cr_assert_eq(st, GAUTH_E_MALFORMED, "%s", err.message);
    cr_assert_not_null(strstr(err.message, "\"private_key\""), "%s",
                       err.message);
    {
      char *body = pem_body(pem);
      assert_no_leak(err.message, body);
      free(body);
    }
    cJSON_free(j);
    free(broken);
  }
  cr_assert_null(key);
  free(pem);
  free(pub);
  EVP_PKEY_free(k);
}

/* ---- files ------------------------------------------------------------- */

static gauth_status load_text(const char *text, gauth_key **key,
                              gauth_error *err) {
  char *path = tu_write_temp(text);
  gauth_status st = gauth_key_load_file(key, path, err);
  unlink(path);
  free(path);
  return st;
}

Test(files, detects_each_format) {
  EVP_PKEY *k = gen_ec("P-256");
  char *pem = pkcs8_pem(k), *cert = cert_pem(k), *sa, *jwk;
  cJSON *o = jwk_of(k, 1);
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = NULL;

  cr_assert_eq(load_text(pem, &key, &err), GAUTH_OK, "%s", err.message);
  cr_assert(gauth_key_is_private(key));
  gauth_key_free(key);
  cr_assert_eq(load_text(cert, &key, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_key_is_private(key), 0);
  gauth_key_free(key);
  sa = sa_json(pem, "kid-sa", "service_account");
  cr_assert_eq(load_text(sa, &key, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_key_kid(key), "kid-sa");
  gauth_key_free(key);
  set_str(o, "kid", "kid-jwk");
  jwk = cJSON_Print(o); /* formatted, with leading whitespace lines */
  cr_assert_eq(load_text(jwk, &key, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_key_kid(key), "kid-jwk");
  cr_assert(gauth_key_is_private(key));
  assert_same_public(key, k);
  gauth_key_free(key);

  cr_assert_eq(load_text("{\"foo\":1}", &key, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "neither a JWK"), "%s", err.message);
  cr_assert_eq(load_text("  \n", &key, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "empty"), "%s", err.message);
  cr_assert_eq(load_text("", &key, &err), GAUTH_E_MALFORMED);
  cr_assert_eq(load_text("garbage", &key, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "key file \""), "%s", err.message);
  cr_assert_null(key);

  cJSON_free(sa);
  cJSON_free(jwk);
  cJSON_Delete(o);
  free(pem);
  free(cert);
  EVP_PKEY_free(k);
}

Test(files, io_errors_and_size) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = NULL;
  char *big, *path;
  size_t n = GAUTH__KEY_MAX_INPUT + 1;

  cr_assert_eq(gauth_key_load_file(&key, "/nonexistent/dir/key.pem", &err),
               GAUTH_E_IO);
  cr_assert_not_null(strstr(err.message, "/nonexistent/dir/key.pem"));
  cr_assert_not_null(strstr(err.message, "No such file"), "%s", err.message);
  cr_assert_eq(gauth_key_load_file(&key, "/", &err), GAUTH_E_IO, "%s",
               err.message);

  big = malloc(n + 1);
  memset(big, ' ', n);
  big[n] = '\0';
  path = tu_write_temp(big);
  cr_assert_eq(gauth_key_load_file(&key, path, &err), GAUTH_E_TOO_LARGE);
  cr_assert_not_null(strstr(err.message, "over the limit"), "%s", err.message);
  /* Exactly the limit is read (and then found to be blank). */
  cr_assert_eq(truncate(path, (off_t)GAUTH__KEY_MAX_INPUT), 0);
  cr_assert_eq(gauth_key_load_file(&key, path, &err), GAUTH_E_MALFORMED, "%s",
               err.message);
  unlink(path);
  free(path);
  free(big);
  cr_assert_null(key);
}

/* ---- objects ------------------------------------------------------------- */

Test(object, refcount_and_null_args) {
  EVP_PKEY *k = gen_ec("P-256");
  char *pem = pkcs8_pem(k);
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = expect_pem_ok(pem);
  char *out = NULL;

  gauth_key_up_ref(key);
  gauth_key_free(key);
  cr_assert_eq(gauth_key_get_type(key), GAUTH_KEY_EC_P256); /* still alive */
  gauth_key_free(key);
  gauth_key_free(NULL);
  gauth_key_up_ref(NULL);

  cr_assert_eq(gauth_key_from_pem(NULL, pem, strlen(pem), &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_from_pem(&key, NULL, 0, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_from_jwk(NULL, "{}", 2, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_from_jwk(&key, NULL, 0, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_from_service_account(&key, NULL, 0, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_load_file(&key, NULL, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_load_file(NULL, "/x", &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_public_jwk(NULL, &out, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(err.code, GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__key_new(&key, NULL, NULL, GAUTH_ALG_UNKNOWN, 1, 1, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_get_type(NULL), 0);
  cr_assert_eq(gauth_key_bits(NULL), 0);
  cr_assert_eq(gauth_key_is_private(NULL), 0);
  cr_assert_null(gauth_key_kid(NULL));
  cr_assert_eq(gauth_key_alg(NULL), GAUTH_ALG_UNKNOWN);
  cr_assert_eq(gauth__key_algs(NULL), 0);
  /* A NULL err is fine everywhere. */
  cr_assert_eq(gauth_key_from_jwk(&key, "{", 1, NULL), GAUTH_E_MALFORMED);
  free(pem);
  EVP_PKEY_free(k);
}

Test(object, key_new_checks_alg_against_type) {
  EVP_PKEY *k = gen_ed25519();
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = NULL;
  /* gauth__key_new takes the pkey even when it fails. */
  cr_assert_eq(gauth__key_new(&key, k, "x", GAUTH_ALG_RS256, 1, 1, &err),
               GAUTH_E_MALFORMED);
  cr_assert_null(key);
  k = gen_ed25519();
  cr_assert_eq(gauth__key_new(&key, k, "x", (gauth_alg)42, 1, 1, &err),
               GAUTH_E_INVALID_ARG);
  k = gen_ed25519();
  cr_assert_eq(gauth__key_new(&key, k, "x", GAUTH_ALG_EDDSA, 1, 0, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert(gauth_key_is_private(key));
  cr_assert_eq(key->can_sign, 0);
  cr_assert_str_eq(gauth_key_kid(key), "x");
  gauth_key_free(key);
}

/* ---- published vectors --------------------------------------------------- */

Test(vectors, google_auth_python) {
  static const char *const same_key[] = {
      "google-auth-library-python/privatekey.pem",
      "google-auth-library-python/privatekey.pub",
      "google-auth-library-python/public_cert.pem"};
  char *text = vec_read(same_key[0], NULL);
  gauth_key *first = NULL, *key = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t i;

  cr_assert_not_null(strstr(text, "BEGIN RSA PRIVATE KEY"));
  free(text);
  for (i = 0; i < 3; i++) {
    char *path = vec_path(same_key[i]);
    cr_assert_eq(gauth_key_load_file(&key, path, &err), GAUTH_OK, "%s: %s",
                 path, err.message);
    cr_assert_eq(gauth_key_get_type(key), GAUTH_KEY_RSA);
    cr_assert_eq(gauth_key_bits(key), 2048);
    cr_assert_eq(gauth_key_is_private(key), i == 0);
    if (first == NULL)
      first = key;
    else {
      cr_assert_eq(EVP_PKEY_eq(first->pkey, key->pkey), 1, "%s", path);
      gauth_key_free(key);
    }
    free(path);
  }
  /* service_account.json: the same key, PKCS#1, kid "1". */
  text = vec_read("google-auth-library-python/service_account.json", NULL);
  cr_assert_eq(gauth_key_from_service_account(&key, text, strlen(text), &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_key_kid(key), "1");
  cr_assert(gauth_key_is_private(key));
  cr_assert_eq(EVP_PKEY_eq(first->pkey, key->pkey), 1);
  round_trip(key);
  gauth_key_free(key);
  free(text);
  /* other_cert.pem: an unrelated key. */
  {
    char *path = vec_path("google-auth-library-python/other_cert.pem");
    cr_assert_eq(gauth_key_load_file(&key, path, &err), GAUTH_OK, "%s",
                 err.message);
    cr_assert_neq(EVP_PKEY_eq(first->pkey, key->pkey), 1);
    gauth_key_free(key);
    free(path);
  }
  gauth_key_free(first);
}

Test(vectors, google_auth_python_es256) {
  static const char *const same_key[] = {
      "google-auth-library-python/es256_privatekey.pem",
      "google-auth-library-python/es256_publickey.pem",
      "google-auth-library-python/es256_public_cert.pem",
      "google-auth-library-python/es256_service_account.json"};
  gauth_key *first = NULL, *key = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t i;
  free(vec_read(same_key[0], NULL));
  for (i = 0; i < 4; i++) {
    char *path = vec_path(same_key[i]);
    cr_assert_eq(gauth_key_load_file(&key, path, &err), GAUTH_OK, "%s: %s",
                 path, err.message);
    cr_assert_eq(gauth_key_get_type(key), GAUTH_KEY_EC_P256);
    cr_assert_eq(gauth_key_alg(key), GAUTH_ALG_ES256);
    cr_assert_eq(gauth_key_is_private(key), i == 0 || i == 3, "%s", path);
    if (i == 3) cr_assert_str_eq(gauth_key_kid(key), "1");
    if (first == NULL)
      first = key;
    else {
      cr_assert_eq(EVP_PKEY_eq(first->pkey, key->pkey), 1, "%s", path);
      gauth_key_free(key);
    }
    free(path);
  }
  gauth_key_free(first);
  /* gdch: a different credential type, refused as such. */
  {
    char *text =
        vec_read("google-auth-library-python/gdch_service_account.json", NULL);
    cr_assert_eq(gauth_key_from_service_account(&key, text, strlen(text), &err),
                 GAUTH_E_UNSUPPORTED);
    free(text);
  }
}

Test(vectors, google_auth_nodejs) {
  gauth_key *key = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *text = vec_read("google-auth-library-nodejs/private.pem", NULL);
  char *path;
  /* A 1024-bit pair: refused, and the refusal shows none of the key. */
  cr_assert_eq(gauth_key_from_pem(&key, text, strlen(text), &err),
               GAUTH_E_UNSUPPORTED);
  cr_assert_not_null(strstr(err.message, "1024"), "%s", err.message);
  {
    char *body = pem_body(text);
    assert_no_leak(err.message, body);
    free(body);
  }
  free(text);
  path = vec_path("google-auth-library-nodejs/public.pem");
  cr_assert_eq(gauth_key_load_file(&key, path, &err), GAUTH_E_UNSUPPORTED);
  free(path);
  /* Explicit curve parameters that are P-256's: OpenSSL names the curve,
   * so the key is accepted as P-256; the EC PARAMETERS block before the
   * private key is skipped. */
  path = vec_path("google-auth-library-nodejs/fake-ecdsa-private.pem");
  cr_assert_eq(gauth_key_load_file(&key, path, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(gauth_key_get_type(key), GAUTH_KEY_EC_P256);
  cr_assert(gauth_key_is_private(key));
  {
    gauth_key *pub = NULL;
    char *pp = vec_path("google-auth-library-nodejs/fake-ecdsa-public.pem");
    cr_assert_eq(gauth_key_load_file(&pub, pp, &err), GAUTH_OK, "%s",
                 err.message);
    cr_assert_eq(EVP_PKEY_eq(pub->pkey, key->pkey), 1);
    gauth_key_free(pub);
    free(pp);
  }
  gauth_key_free(key);
  free(path);
}

/* RFC 7517 A.1/A.2/B and RFC 7520 3.1-3.4 single keys. */
Test(vectors, rfc_jwk) {
  char *text = vec_read("rfc/jose_rfc_examples.json", NULL);
  cJSON *root = cJSON_Parse(text), *e;
  int seen = 0;
  cr_assert_not_null(root);
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "jwk")) {
    const char *id = cJSON_GetObjectItem(e, "id")->valuestring;
    cJSON *value = cJSON_GetObjectItem(e, "value");
    if (cJSON_GetObjectItem(value, "keys") != NULL) {
      /* A.1 / A.2: EC use=enc kept but not for signatures; RSA RS256. */
      cJSON *k0 = cJSON_GetArrayItem(cJSON_GetObjectItem(value, "keys"), 0);
      cJSON *k1 = cJSON_GetArrayItem(cJSON_GetObjectItem(value, "keys"), 1);
      int priv = cJSON_GetObjectItem(k0, "d") != NULL;
      gauth_key *key = expect_jwk_ok(k0);
      cr_assert_eq(key->can_verify, 0, "%s", id);
      cr_assert_eq(gauth_key_get_type(key), GAUTH_KEY_EC_P256);
      cr_assert_str_eq(gauth_key_kid(key), "1");
      cr_assert_eq(gauth_key_is_private(key), priv);
      gauth_key_free(key);
      key = expect_jwk_ok(k1);
      cr_assert_eq(key->can_verify, 1, "%s", id);
      cr_assert_eq(gauth_key_alg(key), GAUTH_ALG_RS256);
      cr_assert_str_eq(gauth_key_kid(key), "2011-04-29");
      cr_assert_eq(gauth_key_bits(key), 2048);
      cr_assert_eq(gauth_key_is_private(key), priv);
      round_trip(key);
      gauth_key_free(key);
    } else if (strcmp(cJSON_GetObjectItem(value, "kty")->valuestring, "EC") ==
               0) {
      /* RFC 7520 3.1 / 3.2: P-521. */
      expect_jwk_fail(value, GAUTH_E_UNSUPPORTED, "\"P-521\"");
    } else {
      /* RFC 7517 B (x5c is ignored), RFC 7520 3.3 / 3.4. */
      gauth_key *key = expect_jwk_ok(value);
      cr_assert_eq(gauth_key_get_type(key), GAUTH_KEY_RSA);
      cr_assert_eq(key->can_verify, 1, "%s", id);
      cr_assert_eq(gauth_key_is_private(key),
                   cJSON_GetObjectItem(value, "d") != NULL);
      round_trip(key);
      gauth_key_free(key);
    }
    seen++;
  }
  cr_assert_eq(seen, 7);
  cJSON_Delete(root);
  free(text);
}

/* Wycheproof json_web_key_test.json: each key of each group on its own
 * (the key set behaviour is in test_keyset.c). Expectations by the first
 * tcId of the group. */
static const struct {
  int tc;
  gauth_status status; /* of the non-"oct" keys */
  const char *message; /* substring; NULL: success */
  int can_verify;
} wp_expect[] = {
    {1, GAUTH_OK, NULL, 1},
    {2, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {4, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {5, GAUTH_OK, NULL, 1},
    {6, GAUTH_E_UNSUPPORTED, "\"RSA1_5\"", 0},
    {7, GAUTH_E_UNSUPPORTED, "ROCA", 0},
    {8, GAUTH_E_UNSUPPORTED, "too small", 0},
    {9, GAUTH_E_MALFORMED, "exponent 1", 0},
    {10, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {11, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {12, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {13, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {14, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {15, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {16, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {17, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {18, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {19, GAUTH_E_UNSUPPORTED, "\"ES521\"", 0},
    {20, GAUTH_E_UNSUPPORTED, "\"ES224\"", 0},
    {21, GAUTH_OK, NULL, 0},
    {22, GAUTH_E_MALFORMED, "not on the curve", 0},
    {23, GAUTH_E_MALFORMED, "P-384 needs exactly 48", 0},
    {24, GAUTH_E_MALFORMED, "missing field \"n\"", 0},
    {25, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
    {26, GAUTH_E_UNSUPPORTED, "\"oct\"", 0},
};

Test(vectors, wycheproof_json_web_key) {
  char *text = vec_read("wycheproof/json_web_key_test.json", NULL);
  cJSON *root = cJSON_Parse(text), *g;
  int groups = 0, keys = 0;
  cr_assert_not_null(root);
  cJSON_ArrayForEach(g, cJSON_GetObjectItem(root, "testGroups")) {
    int tc;
    static const char *const sets[] = {"private", "public"};
    size_t i, s;
    cJSON *tcid = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(g, "tests"), 0), "tcId");
    tc = tcid->valueint;
    for (i = 0; i < sizeof(wp_expect) / sizeof(*wp_expect); i++)
      if (wp_expect[i].tc == tc) break;
    cr_assert_lt(i, sizeof(wp_expect) / sizeof(*wp_expect),
                 "no expectation for tcId %d", tc);
    for (s = 0; s < 2; s++) {
      cJSON *k;
      cJSON_ArrayForEach(
          k, cJSON_GetObjectItem(cJSON_GetObjectItem(g, sets[s]), "keys")) {
        const char *kty = cJSON_GetObjectItem(k, "kty")->valuestring;
        gauth_error err = GAUTH_ERROR_INIT;
        gauth_key *key = NULL;
        char *jt = cJSON_PrintUnformatted(k);
        gauth_status st = gauth_key_from_jwk(&key, jt, strlen(jt), &err);
        cJSON_free(jt);
        keys++;
        if (strcmp(kty, "oct") == 0) {
          cr_assert_eq(st, GAUTH_E_UNSUPPORTED, "tc %d", tc);
          continue;
        }
        cr_assert_eq(st, wp_expect[i].status, "tc %d %s: %s: %s", tc, sets[s],
                     gauth_status_name(st), err.message);
        if (wp_expect[i].message != NULL) {
          cr_assert_not_null(strstr(err.message, wp_expect[i].message),
                             "tc %d: %s", tc, err.message);
          if (cJSON_IsString(cJSON_GetObjectItem(k, "d")))
            assert_no_leak(err.message,
                           cJSON_GetObjectItem(k, "d")->valuestring);
        } else {
          cr_assert_eq(key->can_verify, wp_expect[i].can_verify, "tc %d", tc);
          cr_assert_eq(gauth_key_is_private(key),
                       cJSON_GetObjectItem(k, "d") != NULL);
          gauth_key_free(key);
        }
      }
    }
    groups++;
  }
  cr_assert_eq(groups, 25);
  cr_assert_geq(keys, 35);
  cJSON_Delete(root);
  free(text);
}
