/* Unit tests for lib/jws.c: strict compact-JWS parsing, ECDSA signature
 * conversion, signing and verification for every algorithm, key selection,
 * and the RFC 8725 attacks.
 *
 * Keys are generated at run time and wrapped in a struct gauth_key by hand
 * (jose_internal.h), so that these tests exercise lib/jws.c alone; the
 * public key constructors are tested in test_key.c and by the vectors. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "base64.h"
#include "jose_internal.h"
#include "test_keys.h"

#define ALL_ALGS 0xFFu

/* ---- helpers ------------------------------------------------------------- */

static char *b64u(const void *data, size_t len) {
  char *out = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__b64url_encode(data, len, &out, &err), GAUTH_OK);
  return out;
}

static char *b64u_str(const char *s) { return b64u(s, strlen(s)); }

/* "A.B.C" from three already encoded segments. */
static char *join3(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
  char *t = malloc(n);
  cr_assert_not_null(t);
  snprintf(t, n, "%s.%s.%s", a, b, c);
  return t;
}

/* A token from JSON texts and raw signature bytes. */
static char *make_token(const char *header, const char *payload,
                        const void *sig, size_t sig_len) {
  char *h = b64u_str(header), *p = b64u_str(payload), *s = b64u(sig, sig_len);
  char *t = join3(h, p, s);
  free(h);
  free(p);
  free(s);
  return t;
}

static gauth_key_type pkey_type(EVP_PKEY *pkey) {
  char group[64];
  if (EVP_PKEY_is_a(pkey, "RSA")) return GAUTH_KEY_RSA;
  if (EVP_PKEY_is_a(pkey, "ED25519")) return GAUTH_KEY_ED25519;
  cr_assert(EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL));
  if (strcmp(group, "prime256v1") == 0) return GAUTH_KEY_EC_P256;
  cr_assert_str_eq(group, "secp384r1");
  return GAUTH_KEY_EC_P384;
}

/* Wraps pkey (owned) as lib/key.c would, without its checks. */
static gauth_key *wrap_key(EVP_PKEY *pkey, int is_private, const char *kid,
                           gauth_alg alg, int can_verify) {
  gauth_key *k = calloc(1, sizeof(*k));
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_not_null(k);
  gauth__ref_init(&k->refs);
  k->pkey = pkey;
  k->type = pkey_type(pkey);
  k->bits = (unsigned int)EVP_PKEY_get_bits(pkey);
  k->is_private = is_private;
  k->kid = kid != NULL ? strdup(kid) : NULL;
  k->alg = alg;
  k->can_verify = can_verify;
  k->can_sign = is_private;
  cr_assert_eq(gauth__jws_prepare_key(k, &err), GAUTH_OK, "%s", err.message);
  return k;
}

static gauth_key *gen_key(const char *kind, const char *kid, gauth_alg alg) {
  EVP_PKEY *pkey;
  if (strcmp(kind, "RSA") == 0)
    pkey = tk_rsa(2048, 0); /* no test here needs two RSA keys */
  else if (strcmp(kind, "ED25519") == 0)
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  else
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
  cr_assert_not_null(pkey, "keygen %s", kind);
  return wrap_key(pkey, 1, kid, alg, 1);
}

/* The public half of key, as a separate key. */
static gauth_key *public_of(const gauth_key *key, const char *kid,
                            gauth_alg alg, int can_verify) {
  unsigned char *der = NULL;
  const unsigned char *p;
  int n = i2d_PUBKEY(key->pkey, &der);
  EVP_PKEY *pub;
  cr_assert_gt(n, 0);
  p = der;
  pub = d2i_PUBKEY(NULL, &p, n);
  OPENSSL_free(der);
  cr_assert_not_null(pub);
  return wrap_key(pub, 0, kid, alg, can_verify);
}

static void free_key(gauth_key *k) {
  if (k == NULL) return;
  gauth__jws_release_key(k);
  EVP_PKEY_free(k->pkey);
  free(k->kid);
  free(k);
}

/* A keyset over borrowed keys (n <= 4). */
typedef struct test_set {
  gauth_keyset set;
  gauth_key *keys[4];
} test_set;

static const gauth_keyset *set_of(test_set *ts, size_t n, gauth_key *a,
                                  gauth_key *b, gauth_key *c) {
  ts->keys[0] = a;
  ts->keys[1] = b;
  ts->keys[2] = c;
  gauth__ref_init(&ts->set.refs);
  ts->set.n = n;
  ts->set.keys = ts->keys;
  return &ts->set;
}

static char *sign_jwt(const gauth_key *key, gauth_alg alg, const char *kid,
                      const char *claims) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  cr_assert_eq(gauth_jwt_sign(key, alg, kid, claims, &out, &err), GAUTH_OK,
               "sign %d: %s", (int)alg, err.message);
  cr_assert_not_null(out);
  return out;
}

/* A token with the given header and payload, signed by key with alg. */
static char *sign_custom(const gauth_key *key, gauth_alg alg,
                         const char *header, const char *payload) {
  char *h = b64u_str(header), *p = b64u_str(payload), *input, *s, *t;
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t n = strlen(h) + strlen(p) + 2;
  input = malloc(n);
  cr_assert_not_null(input);
  snprintf(input, n, "%s.%s", h, p);
  cr_assert_eq(
      gauth__jws_sign_raw(key, alg, input, strlen(input), &sig, &sig_len, &err),
      GAUTH_OK, "%s", err.message);
  s = b64u(sig, sig_len);
  t = join3(h, p, s);
  free(h);
  free(p);
  free(s);
  free(sig);
  free(input);
  return t;
}

/* Parses and verifies; returns the status, reason in err. */
static gauth_status check(const char *token, const gauth_keyset *set,
                          unsigned int allowed, const gauth_key **used,
                          gauth_error *err) {
  gauth__jws jws;
  gauth_status st = gauth__jws_parse(token, strlen(token), 0, 0, &jws, err);
  if (st != GAUTH_OK) return st;
  st = gauth__jws_verify(&jws, set, allowed, used, err);
  gauth__jws_cleanup(&jws);
  return st;
}

static void expect_ok(const char *token, const gauth_keyset *set) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(check(token, set, ALL_ALGS, NULL, &err), GAUTH_OK,
               "rejected: %s: %s", err.reason, err.message);
}

static void expect_reason(const char *token, const gauth_keyset *set,
                          unsigned int allowed, const char *reason) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(check(token, set, allowed, NULL, &err), GAUTH_E_VERIFY,
               "accepted or wrong status; want %s", reason);
  cr_assert_eq(err.code, GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, reason, "reason %s (%s), want %s", err.reason,
                   err.message, reason);
}

/* Parse must fail with reason; the message must not quote the token's
 * segments. */
static void parse_reject_n(const char *token, size_t len, size_t max_len,
                           int require_json, const char *reason) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__jws jws;
  const char *seg = token, *end = token + len;
  gauth_status st =
      gauth__jws_parse(token, len, max_len, require_json, &jws, &err);
  cr_assert_eq(st, GAUTH_E_VERIFY, "accepted or wrong status %d (want %s)",
               (int)st, reason);
  cr_assert_str_eq(err.reason, reason, "reason %s (%s), want %s", err.reason,
                   err.message, reason);
  cr_assert_null(jws.header);
  cr_assert_null(jws.sig);
  cr_assert_null(jws.payload_json);
  while (seg < end) {
    const char *dot = memchr(seg, '.', (size_t)(end - seg));
    size_t n = dot != NULL ? (size_t)(dot - seg) : (size_t)(end - seg);
    if (n >= 6) {
      char *piece = strndup(seg, n);
      cr_assert_null(strstr(err.message, piece), "message quotes the token: %s",
                     err.message);
      free(piece);
    }
    seg += n + 1;
  }
}

static void parse_reject(const char *token, const char *reason) {
  parse_reject_n(token, strlen(token), 0, 1, reason);
}

/* A syntactically fine RS256 token around header and payload (the
 * signature is junk: parsing does not check it). */
static char *fake_token(const char *header, const char *payload) {
  static const unsigned char junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  return make_token(header, payload, junk, sizeof(junk));
}

static void parse_reject_json(const char *header, const char *payload,
                              const char *reason) {
  char *t = fake_token(header, payload);
  parse_reject(t, reason);
  free(t);
}

static void parse_accept(const char *token, int require_json) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__jws jws;
  cr_assert_eq(
      gauth__jws_parse(token, strlen(token), 0, require_json, &jws, &err),
      GAUTH_OK, "%s: %s", err.reason, err.message);
  gauth__jws_cleanup(&jws);
}

/* ---- parsing: structure -------------------------------------------------- */

static const char *const HDR = "{\"alg\":\"RS256\",\"kid\":\"k1\"}";
static const char *const PAY = "{\"sub\":\"x\"}";

Test(jws_parse, good_token_fields) {
  char *t = fake_token(HDR, PAY);
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__jws jws;
  cr_assert_eq(gauth__jws_parse(t, strlen(t), 0, 1, &jws, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(jws.alg, GAUTH_ALG_RS256);
  cr_assert_str_eq(jws.kid, "k1");
  cr_assert_str_eq(jws.header_json, HDR);
  cr_assert_str_eq(jws.payload_json, PAY);
  cr_assert_not_null(jws.payload);
  cr_assert_eq(jws.sig_len, 8);
  cr_assert_eq(jws.token, t);
  cr_assert_eq(jws.signing_input_len, (size_t)(strrchr(t, '.') - t));
  gauth__jws_cleanup(&jws);
  cr_assert_null(jws.header);
  free(t);
}

Test(jws_parse, segments) {
  char *h = b64u_str(HDR), *p = b64u_str(PAY);
  char buf[512];
  parse_reject("", "malformed");
  parse_reject(".", "malformed");
  parse_reject("..", "malformed");
  parse_reject("...", "malformed");
  snprintf(buf, sizeof(buf), "%s", h);
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), "%s.%s", h, p);
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), "%s.%s.", h, p); /* empty signature */
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), "%s.%s.AQID.", h, p);
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), "%s.%s.AQID.AQID", h, p);
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), "%s.%s.AQID.AQID.AQID", h, p); /* JWE shape */
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), ".%s.AQID", p);
  parse_reject(buf, "malformed");
  /* An empty payload is allowed (a detached-looking but compact JWS). */
  snprintf(buf, sizeof(buf), "%s..AQID", h);
  parse_accept(buf, 0);
  parse_reject(buf, "malformed"); /* ... unless JSON is required */
  free(h);
  free(p);
}

Test(jws_parse, base64url_strictness) {
  char *h = b64u_str(HDR), *p = b64u_str(PAY);
  char buf[512];
  static const char *const bad_sigs[] = {
      "AQID=",  "AQ==", "AQ ID",     " AQID", "AQID ", "AQ\tID",
      "AQ\nID", "AQ+D", "AQ/D",      "AQJ", /* non-zero unused bits ("AQI" is 01
                                               02) */
      "A",      "AQ%D", "AQ\xc3\xa9"};
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(bad_sigs); i++) {
    snprintf(buf, sizeof(buf), "%s.%s.%s", h, p, bad_sigs[i]);
    parse_reject(buf, "malformed");
  }
  /* Whitespace or padding in the header and payload segments too. */
  snprintf(buf, sizeof(buf), " %s.%s.AQID", h, p);
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), "%s=.%s.AQID", h, p);
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), "%s.%s .AQID", h, p);
  parse_reject(buf, "malformed");
  snprintf(buf, sizeof(buf), "%s.%s.AQID\n", h, p);
  parse_reject(buf, "malformed");
  /* A NUL inside the given length. */
  snprintf(buf, sizeof(buf), "%s.%s.AQID", h, p);
  buf[3] = '\0';
  parse_reject_n(buf, strlen(h) + strlen(p) + 6, 0, 1, "malformed");
  free(h);
  free(p);
}

Test(jws_parse, header_and_payload_json) {
  parse_reject_json("[]", PAY, "malformed");
  parse_reject_json("\"RS256\"", PAY, "malformed");
  parse_reject_json("{\"alg\":\"RS256\"", PAY, "malformed");
  parse_reject_json("{\"alg\":\"RS256\"} x", PAY, "malformed");
  parse_reject_json("{\"alg\":\"RS256\",\"alg\":\"RS256\"}", PAY, "malformed");
  parse_reject_json("{\"alg\":\"RS256\",\"\\u0061lg\":\"none\"}", PAY,
                    "malformed");
  parse_reject_json(HDR, "[1]", "malformed");
  parse_reject_json(HDR, "{\"a\":1,\"a\":2}", "malformed");
  parse_reject_json(HDR, "not json", "malformed");
  parse_reject_json("\xef\xbb\xbf{\"alg\":\"RS256\"}", PAY, "malformed");
}

Test(jws_parse, non_json_payload_when_allowed) {
  char *t = fake_token(HDR, "foo");
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__jws jws;
  cr_assert_eq(gauth__jws_parse(t, strlen(t), 0, 0, &jws, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_null(jws.payload);
  cr_assert_str_eq(jws.payload_json, "foo");
  gauth__jws_cleanup(&jws);
  parse_reject(t, "malformed");
  free(t);
  /* A duplicate-member payload is not JSON we trust: no tree either. */
  t = fake_token(HDR, "{\"a\":1,\"a\":2}");
  cr_assert_eq(gauth__jws_parse(t, strlen(t), 0, 0, &jws, &err), GAUTH_OK);
  cr_assert_null(jws.payload);
  gauth__jws_cleanup(&jws);
  free(t);
}

Test(jws_parse, alg_rules) {
  parse_reject_json("{\"kid\":\"k1\"}", PAY, "malformed");
  parse_reject_json("{\"alg\":256}", PAY, "malformed");
  parse_reject_json("{\"alg\":null}", PAY, "malformed");
  parse_reject_json("{\"alg\":[\"RS256\"]}", PAY, "malformed");
  parse_reject_json("{\"alg\":\"none\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"None\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"NONE\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"HS256\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"HS384\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"HS512\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"rs256\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"RS256 \"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"ES512\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"PS384\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"ES256K\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"Ed25519\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"\"}", PAY, "alg_not_allowed");
  parse_reject_json("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}", PAY,
                    "alg_not_allowed");
}

Test(jws_parse, alg_none_with_empty_signature) {
  /* RFC 7515 A.5: the alg is refused before the empty signature. */
  char *h = b64u_str("{\"alg\":\"none\"}"), *p = b64u_str(PAY);
  char buf[256];
  snprintf(buf, sizeof(buf), "%s.%s.", h, p);
  parse_reject(buf, "alg_not_allowed");
  free(h);
  free(p);
}

Test(jws_parse, every_supported_alg_name) {
  static const struct {
    const char *name;
    gauth_alg alg;
  } algs[] = {{"RS256", GAUTH_ALG_RS256}, {"RS384", GAUTH_ALG_RS384},
              {"RS512", GAUTH_ALG_RS512}, {"PS256", GAUTH_ALG_PS256},
              {"ES256", GAUTH_ALG_ES256}, {"ES384", GAUTH_ALG_ES384},
              {"EdDSA", GAUTH_ALG_EDDSA}};
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(algs); i++) {
    char hdr[64];
    char *t;
    gauth__jws jws;
    gauth_error err = GAUTH_ERROR_INIT;
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", algs[i].name);
    t = fake_token(hdr, PAY);
    cr_assert_eq(gauth__jws_parse(t, strlen(t), 0, 1, &jws, &err), GAUTH_OK,
                 "%s: %s", algs[i].name, err.message);
    cr_assert_eq(jws.alg, algs[i].alg);
    cr_assert_null(jws.kid);
    gauth__jws_cleanup(&jws);
    free(t);
  }
}

Test(jws_parse, kid_crit_b64) {
  parse_reject_json("{\"alg\":\"RS256\",\"kid\":1}", PAY, "malformed");
  parse_reject_json("{\"alg\":\"RS256\",\"kid\":null}", PAY, "malformed");
  parse_reject_json("{\"alg\":\"RS256\",\"kid\":[\"a\"]}", PAY, "malformed");
  parse_reject_json("{\"alg\":\"RS256\",\"kid\":{}}", PAY, "malformed");
  parse_reject_json("{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", PAY,
                    "unsupported_crit");
  parse_reject_json("{\"alg\":\"RS256\",\"crit\":[]}", PAY, "unsupported_crit");
  parse_reject_json("{\"alg\":\"RS256\",\"crit\":\"b64\"}", PAY,
                    "unsupported_crit");
  parse_reject_json("{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\"]}", PAY,
                    "unsupported_crit");
  parse_reject_json("{\"alg\":\"RS256\",\"b64\":false}", PAY,
                    "unsupported_crit");
  parse_reject_json("{\"alg\":\"RS256\",\"b64\":\"no\"}", PAY, "malformed");
  {
    char *t = fake_token("{\"alg\":\"RS256\",\"b64\":true}", PAY);
    parse_accept(t, 1);
    free(t);
  }
}

Test(jws_parse, key_hint_headers_are_ignored) {
  char *t = fake_token(
      "{\"alg\":\"RS256\",\"jku\":\"https://evil.example/"
      "k\",\"x5u\":\"https://evil.example/c\",\"jwk\":"
      "{\"kty\":\"oct\",\"k\":\"AAAA\"},\"x5c\":[\"MIIB\"],"
      "\"typ\":\"JWT\",\"cty\":\"x\"}",
      PAY);
  parse_accept(t, 1);
  free(t);
}

Test(jws_parse, size_limits) {
  /* Over the default 16 KiB, and over an explicit limit by one byte. */
  size_t big = GAUTH__DEFAULT_MAX_TOKEN_BYTES + 1;
  char *t = malloc(big + 1);
  char *small = fake_token(HDR, PAY);
  size_t n = strlen(small);
  cr_assert_not_null(t);
  memset(t, 'A', big);
  t[big] = '\0';
  parse_reject_n(t, big, 0, 1, "too_large");
  parse_reject_n(small, n, n - 1, 1, "too_large");
  parse_accept(small, 1);
  {
    gauth__jws jws;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(gauth__jws_parse(small, n, n, 1, &jws, &err), GAUTH_OK);
    gauth__jws_cleanup(&jws);
  }
  free(small);
  free(t);
}

Test(jws_parse, one_mebibyte_token) {
  /* A 1 MiB token: refused by the default limit, parsed when the caller
   * raises the limit (the payload is then ~768 KiB of JSON). */
  size_t plen = (size_t)768 * 1024;
  char *payload = malloc(plen + 1);
  char *t;
  size_t n;
  gauth__jws jws;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_not_null(payload);
  memset(payload, 'x', plen);
  memcpy(payload, "{\"a\":\"", 6);
  memcpy(payload + plen - 2, "\"}", 2);
  payload[plen] = '\0';
  t = fake_token(HDR, payload);
  n = strlen(t);
  cr_assert_gt(n, (size_t)1000 * 1000);
  parse_reject_n(t, n, 0, 1, "too_large");
  cr_assert_eq(gauth__jws_parse(t, n, (size_t)2 * 1024 * 1024, 1, &jws, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(strlen(jws.payload_json), plen);
  gauth__jws_cleanup(&jws);
  free(t);
  free(payload);
}

Test(jws_parse, deeply_nested_json) {
  char deep[1024];
  size_t i, d = 200;
  memcpy(deep, "{\"a\":", 5);
  for (i = 0; i < d; i++) deep[5 + i] = '[';
  for (i = 0; i < d; i++) deep[5 + d + i] = ']';
  deep[5 + 2 * d] = '}';
  deep[6 + 2 * d] = '\0';
  /* Over the JSON depth limit: a size limit, reported as such. */
  parse_reject_json(HDR, deep, "too_large");
  {
    char hdr[1100];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"x\":%s}", deep + 5);
    hdr[strlen(hdr) - 1] = '\0'; /* drop the extra brace */
    parse_reject_json(hdr, PAY, "too_large");
  }
}

Test(jws_parse, null_arguments) {
  gauth__jws jws;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__jws_parse(NULL, 5, 0, 1, &jws, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__jws_parse("a.b.c", 5, 0, 1, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__jws_parse(NULL, 0, 0, 1, &jws, NULL), GAUTH_E_VERIFY);
  gauth__jws_cleanup(NULL);
}

/* ---- ECDSA signature conversion ------------------------------------------ */

static void der_reject(const unsigned char *der, size_t len, size_t coord) {
  unsigned char *jose = (unsigned char *)"x";
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__ecdsa_der_to_jose(der, len, coord, &jose, &err),
               GAUTH_E_MALFORMED, "accepted DER of %zu bytes", len);
  cr_assert_null(jose);
}

static void der_accept(const unsigned char *der, size_t len, size_t coord,
                       const unsigned char *want) {
  unsigned char *jose = NULL, *back = NULL;
  size_t back_len = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__ecdsa_der_to_jose(der, len, coord, &jose, &err), GAUTH_OK,
               "%s", err.message);
  cr_assert(memcmp(jose, want, 2 * coord) == 0);
  /* And back to the very same bytes. */
  cr_assert_eq(
      gauth__ecdsa_jose_to_der(jose, 2 * coord, coord, &back, &back_len, &err),
      GAUTH_OK);
  cr_assert_eq(back_len, len);
  cr_assert(memcmp(back, der, len) == 0);
  free(jose);
  free(back);
}

Test(ecdsa, der_canonical_forms) {
  /* coord 2 for readability: r = 0x0102, s = 0x0080 (needs a 00 byte). */
  static const unsigned char ok1[] = {0x30, 0x08, 0x02, 0x02, 0x01,
                                      0x02, 0x02, 0x02, 0x00, 0x80};
  static const unsigned char want1[] = {0x01, 0x02, 0x00, 0x80};
  /* r = 0x0001 (short), s = 0xff01 (00-prefixed, 3 bytes). */
  static const unsigned char ok2[] = {0x30, 0x08, 0x02, 0x01, 0x01,
                                      0x02, 0x03, 0x00, 0xff, 0x01};
  static const unsigned char want2[] = {0x00, 0x01, 0xff, 0x01};
  der_accept(ok1, sizeof(ok1), 2, want1);
  der_accept(ok2, sizeof(ok2), 2, want2);
}

Test(ecdsa, der_rejects) {
  static const unsigned char base[] = {0x30, 0x08, 0x02, 0x02, 0x01,
                                       0x02, 0x02, 0x02, 0x00, 0x80};
  unsigned char b[32];
  /* trailing byte after the sequence */
  memcpy(b, base, sizeof(base));
  b[sizeof(base)] = 0x00;
  der_reject(b, sizeof(base) + 1, 2);
  /* truncated */
  der_reject(base, sizeof(base) - 1, 2);
  der_reject(base, 0, 2);
  der_reject(base, 1, 2);
  /* wrong outer tag */
  memcpy(b, base, sizeof(base));
  b[0] = 0x31;
  der_reject(b, sizeof(base), 2);
  /* long-form sequence length for a short body */
  {
    static const unsigned char lf[] = {0x30, 0x81, 0x08, 0x02, 0x02, 0x01,
                                       0x02, 0x02, 0x02, 0x00, 0x80};
    der_reject(lf, sizeof(lf), 2);
  }
  /* long-form integer length */
  {
    static const unsigned char lfi[] = {0x30, 0x09, 0x02, 0x81, 0x02, 0x01,
                                        0x02, 0x02, 0x02, 0x00, 0x80};
    der_reject(lfi, sizeof(lfi), 2);
  }
  /* extra element inside the sequence */
  {
    static const unsigned char extra[] = {0x30, 0x0a, 0x02, 0x02, 0x01, 0x02,
                                          0x02, 0x02, 0x00, 0x80, 0x05, 0x00};
    der_reject(extra, sizeof(extra), 2);
  }
  /* negative r (high bit without 00) */
  {
    static const unsigned char neg[] = {0x30, 0x07, 0x02, 0x01, 0x81,
                                        0x02, 0x02, 0x00, 0x80};
    der_reject(neg, sizeof(neg), 2);
  }
  /* superfluous leading zero */
  {
    static const unsigned char lz[] = {0x30, 0x09, 0x02, 0x03, 0x00, 0x01,
                                       0x02, 0x02, 0x02, 0x00, 0x80};
    der_reject(lz, sizeof(lz), 2);
  }
  /* r = 0, empty r, r too wide (3 significant bytes for coord 2) */
  {
    static const unsigned char zero[] = {0x30, 0x07, 0x02, 0x01, 0x00,
                                         0x02, 0x02, 0x00, 0x80};
    static const unsigned char empty[] = {0x30, 0x06, 0x02, 0x00,
                                          0x02, 0x02, 0x00, 0x80};
    static const unsigned char wide[] = {0x30, 0x09, 0x02, 0x03, 0x01, 0x02,
                                         0x03, 0x02, 0x02, 0x00, 0x80};
    static const unsigned char wide2[] = {0x30, 0x0a, 0x02, 0x04, 0x00, 0x81,
                                          0x02, 0x03, 0x02, 0x02, 0x00, 0x80};
    der_reject(zero, sizeof(zero), 2);
    der_reject(empty, sizeof(empty), 2);
    der_reject(wide, sizeof(wide), 2);
    der_reject(wide2, sizeof(wide2), 2);
  }
  /* wrong integer tag; sequence length too long / too short */
  memcpy(b, base, sizeof(base));
  b[2] = 0x03;
  der_reject(b, sizeof(base), 2);
  memcpy(b, base, sizeof(base));
  b[1] = 0x09;
  der_reject(b, sizeof(base), 2);
  b[1] = 0x07;
  der_reject(b, sizeof(base), 2);
}

Test(ecdsa, jose_to_der_rejects) {
  unsigned char sig[64], *der = (unsigned char *)"x";
  size_t der_len = 7;
  gauth_error err = GAUTH_ERROR_INIT;
  memset(sig, 0x11, sizeof(sig));
  cr_assert_eq(gauth__ecdsa_jose_to_der(sig, 63, 32, &der, &der_len, &err),
               GAUTH_E_MALFORMED);
  cr_assert_null(der);
  cr_assert_eq(gauth__ecdsa_jose_to_der(sig, 65, 32, &der, &der_len, &err),
               GAUTH_E_MALFORMED);
  memset(sig, 0, 32); /* r = 0 */
  cr_assert_eq(gauth__ecdsa_jose_to_der(sig, 64, 32, &der, &der_len, &err),
               GAUTH_E_MALFORMED);
  memset(sig, 0x11, 32);
  memset(sig + 32, 0, 32); /* s = 0 */
  cr_assert_eq(gauth__ecdsa_jose_to_der(sig, 64, 32, &der, &der_len, &err),
               GAUTH_E_MALFORMED);
  cr_assert_eq(gauth__ecdsa_jose_to_der(sig, 0, 0, &der, &der_len, &err),
               GAUTH_E_INVALID_ARG);
}

Test(ecdsa, round_trip_widths) {
  /* P-256, P-384 and the P-521 width (long-form sequence length). */
  static const size_t coords[] = {32, 48, 66};
  size_t c, i;
  for (c = 0; c < GAUTH__ARRAY_LEN(coords); c++) {
    size_t coord = coords[c];
    for (i = 0; i < 4; i++) {
      unsigned char sig[132], *der = NULL, *back = NULL;
      size_t der_len = 0;
      gauth_error err = GAUTH_ERROR_INIT;
      memset(sig, 0x5a, sizeof(sig));
      if (i & 1) sig[0] = 0xff;                     /* r needs a 00 prefix */
      if (i & 2) memset(sig + coord, 0, coord - 1); /* s = 0x5a, short */
      cr_assert_eq(
          gauth__ecdsa_jose_to_der(sig, 2 * coord, coord, &der, &der_len, &err),
          GAUTH_OK, "%s", err.message);
      cr_assert_eq(gauth__ecdsa_der_to_jose(der, der_len, coord, &back, &err),
                   GAUTH_OK, "%s", err.message);
      cr_assert(memcmp(back, sig, 2 * coord) == 0);
      free(der);
      free(back);
    }
  }
}

/* ---- sign and verify, every algorithm ------------------------------------ */

static void round_trip(const char *kind, gauth_alg alg, size_t sig_bytes) {
  gauth_key *priv = gen_key(kind, "k1", GAUTH_ALG_UNKNOWN);
  gauth_key *pub = public_of(priv, "k1", GAUTH_ALG_UNKNOWN, 1);
  test_set ts, ts2;
  char *t = sign_jwt(priv, alg, NULL, "{\"sub\":\"a\",\"n\":1}");
  gauth__jws jws;
  gauth_error err = GAUTH_ERROR_INIT;
  const gauth_key *used = NULL;

  cr_assert_eq(gauth__jws_parse(t, strlen(t), 0, 1, &jws, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(jws.alg, alg);
  if (sig_bytes != 0) cr_assert_eq(jws.sig_len, sig_bytes);
  cr_assert_eq(gauth__jws_verify(&jws, set_of(&ts, 1, pub, NULL, NULL),
                                 GAUTH_ALG_BIT(alg), &used, &err),
               GAUTH_OK, "%s: %s", err.reason, err.message);
  cr_assert_eq(used, pub);
  /* The private key verifies too. */
  cr_assert_eq(gauth__jws_verify(&jws, set_of(&ts2, 1, priv, NULL, NULL),
                                 ALL_ALGS, NULL, &err),
               GAUTH_OK);
  /* Not allowed by the caller's mask. */
  cr_assert_eq(gauth__jws_verify(&jws, &ts.set, ALL_ALGS & ~GAUTH_ALG_BIT(alg),
                                 NULL, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "alg_not_allowed");
  gauth__jws_cleanup(&jws);
  free(t);
  free_key(priv);
  free_key(pub);
}

Test(jws_sign, rs256) { round_trip("RSA", GAUTH_ALG_RS256, 256); }
Test(jws_sign, rs384) { round_trip("RSA", GAUTH_ALG_RS384, 256); }
Test(jws_sign, rs512) { round_trip("RSA", GAUTH_ALG_RS512, 256); }
Test(jws_sign, ps256) { round_trip("RSA", GAUTH_ALG_PS256, 256); }
Test(jws_sign, es256) { round_trip("P-256", GAUTH_ALG_ES256, 64); }
Test(jws_sign, es384) { round_trip("P-384", GAUTH_ALG_ES384, 96); }
Test(jws_sign, eddsa) { round_trip("ED25519", GAUTH_ALG_EDDSA, 64); }

Test(jws_sign, header_is_exact_and_rs256_deterministic) {
  gauth_key *k = gen_key("RSA", "key-1", GAUTH_ALG_UNKNOWN);
  char *a = sign_jwt(k, GAUTH_ALG_UNKNOWN, NULL,
                     "{ \"iss\" : \"me\",\n \"exp\": 1700000000 }");
  char *b =
      sign_jwt(k, GAUTH_ALG_RS256, NULL, "{\"iss\":\"me\",\"exp\":1700000000}");
  char *c = sign_jwt(k, GAUTH_ALG_RS256, "other\"kid", "{}");
  char *h = NULL, *p = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_str_eq(a, b, "RS256 must be deterministic");
  cr_assert_eq(gauth_jwt_decode_unverified(a, &h, &p, &err), GAUTH_OK);
  cr_assert_str_eq(h, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"key-1\"}");
  cr_assert_str_eq(p, "{\"iss\":\"me\",\"exp\":1700000000}");
  gauth_free(h);
  gauth_free(p);
  cr_assert_eq(gauth_jwt_decode_unverified(c, &h, NULL, &err), GAUTH_OK);
  cr_assert_str_eq(h,
                   "{\"alg\":\"RS256\",\"typ\":\"JWT\","
                   "\"kid\":\"other\\\"kid\"}");
  gauth_free(h);
  free(a);
  free(b);
  free(c);
  /* No kid at all. */
  free(k->kid);
  k->kid = NULL;
  a = sign_jwt(k, GAUTH_ALG_RS256, NULL, "{}");
  cr_assert_eq(gauth_jwt_decode_unverified(a, &h, &p, &err), GAUTH_OK);
  cr_assert_str_eq(h, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
  cr_assert_str_eq(p, "{}");
  gauth_free(h);
  gauth_free(p);
  free(a);
  free_key(k);
}

Test(jws_sign, default_alg_follows_key) {
  gauth_key *ec = gen_key("P-256", NULL, GAUTH_ALG_UNKNOWN);
  gauth_key *rsa = gen_key("RSA", NULL, GAUTH_ALG_PS256);
  char *t = sign_jwt(ec, GAUTH_ALG_UNKNOWN, NULL, "{}");
  char *h = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_jwt_decode_unverified(t, &h, NULL, &err), GAUTH_OK);
  cr_assert_str_eq(h, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}");
  gauth_free(h);
  free(t);
  t = sign_jwt(rsa, GAUTH_ALG_UNKNOWN, NULL, "{}");
  cr_assert_eq(gauth_jwt_decode_unverified(t, &h, NULL, &err), GAUTH_OK);
  cr_assert_str_eq(h, "{\"alg\":\"PS256\",\"typ\":\"JWT\"}");
  gauth_free(h);
  free(t);
  free_key(ec);
  free_key(rsa);
}

Test(jws_sign, errors) {
  gauth_key *k = gen_key("P-256", "k", GAUTH_ALG_UNKNOWN);
  gauth_key *pub = public_of(k, "k", GAUTH_ALG_UNKNOWN, 1);
  gauth_key *rs = gen_key("RSA", "r", GAUTH_ALG_RS256);
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = (char *)"x";
  cr_assert_eq(gauth_jwt_sign(pub, GAUTH_ALG_ES256, NULL, "{}", &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(out);
  cr_assert_eq(gauth_jwt_sign(k, GAUTH_ALG_RS256, NULL, "{}", &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_jwt_sign(k, GAUTH_ALG_ES384, NULL, "{}", &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_jwt_sign(k, (gauth_alg)99, NULL, "{}", &out, &err),
               GAUTH_E_INVALID_ARG);
  /* The key's JWK alg binds it. */
  cr_assert_eq(gauth_jwt_sign(rs, GAUTH_ALG_PS256, NULL, "{}", &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_jwt_sign(k, GAUTH_ALG_ES256, NULL, "[1]", &out, &err),
               GAUTH_E_MALFORMED);
  cr_assert_eq(
      gauth_jwt_sign(k, GAUTH_ALG_ES256, NULL, "{\"a\":1,\"a\":2}", &out, &err),
      GAUTH_E_MALFORMED);
  cr_assert(strstr(err.message, "claims") != NULL, "%s", err.message);
  cr_assert_eq(gauth_jwt_sign(k, GAUTH_ALG_ES256, NULL, "", &out, &err),
               GAUTH_E_MALFORMED);
  cr_assert_eq(gauth_jwt_sign(k, GAUTH_ALG_ES256, NULL, NULL, &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_jwt_sign(NULL, GAUTH_ALG_ES256, NULL, "{}", &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_jwt_sign(k, GAUTH_ALG_ES256, NULL, "{}", NULL, &err),
               GAUTH_E_INVALID_ARG);
  {
    unsigned char *sig = NULL;
    size_t sl = 0;
    cr_assert_eq(
        gauth__jws_sign_raw(pub, GAUTH_ALG_ES256, "x", 1, &sig, &sl, &err),
        GAUTH_E_INVALID_ARG);
  }
  free_key(k);
  free_key(pub);
  free_key(rs);
}

Test(jws_decode, unverified) {
  char *h = NULL, *p = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *t = make_token("{\"alg\":\"none\"}", "{\"sub\":\"x\"}", "", 0);
  /* Anything well-formed decodes, even alg none: it is for display. */
  cr_assert_eq(gauth_jwt_decode_unverified(t, &h, &p, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_str_eq(h, "{\"alg\":\"none\"}");
  cr_assert_str_eq(p, "{\"sub\":\"x\"}");
  gauth_free(h);
  gauth_free(p);
  cr_assert_eq(gauth_jwt_decode_unverified(t, NULL, NULL, &err), GAUTH_OK);
  free(t);
  t = fake_token(HDR, "plain text");
  h = (char *)"x";
  cr_assert_eq(gauth_jwt_decode_unverified(t, &h, &p, &err), GAUTH_E_MALFORMED);
  cr_assert_null(h);
  cr_assert_null(p);
  cr_assert(strstr(err.message, "payload") != NULL, "%s", err.message);
  free(t);
  cr_assert_eq(gauth_jwt_decode_unverified("a.b", &h, &p, &err),
               GAUTH_E_MALFORMED);
  cr_assert_eq(gauth_jwt_decode_unverified("a.b.c.d", &h, &p, &err),
               GAUTH_E_MALFORMED);
  cr_assert_eq(gauth_jwt_decode_unverified("e30=.e30.", &h, &p, &err),
               GAUTH_E_MALFORMED);
  cr_assert_eq(gauth_jwt_decode_unverified(NULL, &h, &p, &err),
               GAUTH_E_INVALID_ARG);
}

/* ---- key selection ------------------------------------------------------- */

Test(jws_select, by_kid) {
  gauth_key *a = gen_key("P-256", "a", GAUTH_ALG_UNKNOWN);
  gauth_key *b = gen_key("P-256", "b", GAUTH_ALG_UNKNOWN);
  gauth_key *b2 = gen_key("P-256", "b", GAUTH_ALG_UNKNOWN);
  test_set ts;
  const gauth_key *used = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *ta = sign_jwt(a, GAUTH_ALG_ES256, NULL, "{}");
  char *tb = sign_jwt(b, GAUTH_ALG_ES256, NULL, "{}");
  char *tz = sign_jwt(a, GAUTH_ALG_ES256, "zzz", "{}");
  char *tpath = sign_jwt(a, GAUTH_ALG_ES256, "../../etc/passwd", "{}");

  set_of(&ts, 2, a, b, NULL);
  cr_assert_eq(check(ta, &ts.set, ALL_ALGS, &used, &err), GAUTH_OK);
  cr_assert_eq(used, a);
  cr_assert_eq(check(tb, &ts.set, ALL_ALGS, &used, &err), GAUTH_OK);
  cr_assert_eq(used, b);
  expect_reason(tz, &ts.set, ALL_ALGS, "unknown_kid");
  /* A kid with path characters is just a kid nobody has. */
  expect_reason(tpath, &ts.set, ALL_ALGS, "unknown_kid");
  /* Two keys share kid "b": ambiguous, even though one would verify. */
  set_of(&ts, 3, a, b, b2);
  expect_reason(tb, &ts.set, ALL_ALGS, "ambiguous_kid");
  /* Signed by a with kid "a", but set's "a" is another key. */
  set_of(&ts, 1, b2, NULL, NULL);
  free(b2->kid);
  b2->kid = strdup("a");
  expect_reason(ta, &ts.set, ALL_ALGS, "signature_invalid");
  free(ta);
  free(tb);
  free(tz);
  free(tpath);
  free_key(a);
  free_key(b);
  free_key(b2);
}

Test(jws_select, keys_without_kid_stand_for_any_kid) {
  gauth_key *a = gen_key("P-256", "a", GAUTH_ALG_UNKNOWN);
  gauth_key *anon = gen_key("P-256", NULL, GAUTH_ALG_UNKNOWN);
  gauth_key *other = gen_key("P-256", NULL, GAUTH_ALG_UNKNOWN);
  test_set ts;
  const gauth_key *used = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *t_anon = sign_jwt(anon, GAUTH_ALG_ES256, "rotated-kid", "{}");
  char *t_a = sign_jwt(anon, GAUTH_ALG_ES256, "a", "{}");

  /* No key has "rotated-kid": the kid-less key is tried and verifies. */
  set_of(&ts, 2, a, anon, NULL);
  cr_assert_eq(check(t_anon, &ts.set, ALL_ALGS, &used, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(used, anon);
  /* A key that has the token's kid is the only candidate: the kid-less key
   * is not tried behind its back. */
  expect_reason(t_a, &ts.set, ALL_ALGS, "signature_invalid");
  /* Only kid-less keys, none of them the signer: still unknown_kid (the
   * reason that makes a verifier fetch the keys again after a rotation),
   * the message saying the kid-less keys were tried. */
  set_of(&ts, 1, other, NULL, NULL);
  cr_assert_eq(check(t_anon, &ts.set, ALL_ALGS, NULL, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "unknown_kid", "%s", err.message);
  cr_assert_str_eq(err.message,
                   "no key with kid \"rotated-kid\" among 1 key(s), and the "
                   "ES256 signature does not verify with the 1 key(s) "
                   "without a kid");
  /* Only keys with other kids: unknown_kid as before. */
  set_of(&ts, 1, a, NULL, NULL);
  expect_reason(t_anon, &ts.set, ALL_ALGS, "unknown_kid");
  free(t_anon);
  free(t_a);
  free_key(a);
  free_key(anon);
  free_key(other);
}

Test(jws_select, no_kid_tries_usable_keys) {
  gauth_key *ec = gen_key("P-256", NULL, GAUTH_ALG_UNKNOWN);
  gauth_key *ec2 = gen_key("P-256", "x", GAUTH_ALG_UNKNOWN);
  gauth_key *rsa = gen_key("RSA", NULL, GAUTH_ALG_UNKNOWN);
  test_set ts;
  const gauth_key *used = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *t = sign_jwt(ec, GAUTH_ALG_ES256, NULL, "{}");
  /* The RSA key is skipped, ec2 fails, ec verifies. */
  set_of(&ts, 3, rsa, ec2, ec);
  cr_assert_eq(check(t, &ts.set, ALL_ALGS, &used, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(used, ec);
  set_of(&ts, 2, rsa, ec2, NULL);
  expect_reason(t, &ts.set, ALL_ALGS, "signature_invalid");
  set_of(&ts, 1, rsa, NULL, NULL);
  expect_reason(t, &ts.set, ALL_ALGS, "key_not_usable");
  set_of(&ts, 0, NULL, NULL, NULL);
  expect_reason(t, &ts.set, ALL_ALGS, "key_not_usable");
  free(t);
  free_key(ec);
  free_key(ec2);
  free_key(rsa);
}

Test(jws_select, key_must_fit) {
  gauth_key *rsa = gen_key("RSA", "k", GAUTH_ALG_UNKNOWN);
  gauth_key *rs384 = public_of(rsa, "k", GAUTH_ALG_RS384, 1);
  gauth_key *noverify = public_of(rsa, "k", GAUTH_ALG_UNKNOWN, 0);
  gauth_key *ec = gen_key("P-256", "k", GAUTH_ALG_UNKNOWN);
  gauth_key *p384 = gen_key("P-384", "k", GAUTH_ALG_UNKNOWN);
  test_set ts;
  char *t = sign_jwt(rsa, GAUTH_ALG_RS256, NULL, "{}");
  char *te = sign_jwt(ec, GAUTH_ALG_ES256, NULL, "{}");
  /* JWK alg RS384 binds the key: RS256 tokens are refused. */
  expect_reason(t, set_of(&ts, 1, rs384, NULL, NULL), ALL_ALGS,
                "key_not_usable");
  /* use / key_ops forbid verification. */
  expect_reason(t, set_of(&ts, 1, noverify, NULL, NULL), ALL_ALGS,
                "key_not_usable");
  /* RS256 header, EC key with the kid. */
  expect_reason(t, set_of(&ts, 1, ec, NULL, NULL), ALL_ALGS, "key_not_usable");
  /* ES256 header, P-384 key. */
  expect_reason(te, set_of(&ts, 1, p384, NULL, NULL), ALL_ALGS,
                "key_not_usable");
  /* ES256 header, RSA key. */
  expect_reason(te, set_of(&ts, 1, rsa, NULL, NULL), ALL_ALGS,
                "key_not_usable");
  expect_ok(t, set_of(&ts, 1, rsa, NULL, NULL));
  free(t);
  free(te);
  free_key(rsa);
  free_key(rs384);
  free_key(noverify);
  free_key(ec);
  free_key(p384);
}

Test(jws_select, unprepared_key_still_verifies) {
  gauth_key *k = gen_key("P-256", "k", GAUTH_ALG_UNKNOWN);
  test_set ts;
  char *t = sign_jwt(k, GAUTH_ALG_ES256, NULL, "{}");
  gauth__jws_release_key(k);
  expect_ok(t, set_of(&ts, 1, k, NULL, NULL));
  free(t);
  free_key(k);
}

/* ---- RFC 8725 and friends ------------------------------------------------ */

Test(jws_attack, alg_none) {
  gauth_key *k = gen_key("RSA", "k", GAUTH_ALG_UNKNOWN);
  test_set ts;
  char *t = make_token("{\"alg\":\"none\",\"kid\":\"k\"}", PAY, "", 0);
  char *t2 = make_token("{\"alg\":\"none\",\"kid\":\"k\"}", PAY, "x", 1);
  set_of(&ts, 1, k, NULL, NULL);
  expect_reason(t, &ts.set, ALL_ALGS, "alg_not_allowed");
  expect_reason(t2, &ts.set, ALL_ALGS, "alg_not_allowed");
  free(t);
  free(t2);
  free_key(k);
}

Test(jws_attack, hs256_with_public_key_as_secret) {
  /* The classic confusion: HMAC keyed with the RSA public key's PEM. */
  gauth_key *k = gen_key("RSA", "k", GAUTH_ALG_UNKNOWN);
  BIO *bio = BIO_new(BIO_s_mem());
  char *pem = NULL, *h, *p, *input, *s, *t;
  long pem_len;
  unsigned char mac[32];
  size_t mac_len = 0, n;
  test_set ts;
  cr_assert(PEM_write_bio_PUBKEY(bio, k->pkey));
  pem_len = BIO_get_mem_data(bio, &pem);
  h = b64u_str("{\"alg\":\"HS256\",\"kid\":\"k\"}");
  p = b64u_str(PAY);
  n = strlen(h) + strlen(p) + 2;
  input = malloc(n);
  snprintf(input, n, "%s.%s", h, p);
  cr_assert_not_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem,
                               (size_t)pem_len, (unsigned char *)input,
                               strlen(input), mac, sizeof(mac), &mac_len));
  s = b64u(mac, mac_len);
  t = join3(h, p, s);
  expect_reason(t, set_of(&ts, 1, k, NULL, NULL), ALL_ALGS, "alg_not_allowed");
  BIO_free(bio);
  free(h);
  free(p);
  free(s);
  free(t);
  free(input);
  free_key(k);
}

static const char *alg_name(gauth_alg alg) {
  switch (alg) {
    case GAUTH_ALG_RS256: return "RS256";
    case GAUTH_ALG_PS256: return "PS256";
    case GAUTH_ALG_ES256: return "ES256";
    case GAUTH_ALG_ES384: return "ES384";
    default: return "EdDSA";
  }
}

/* Flips one bit of the byte at position i of a copy of t. */
static char *flip_char(const char *t, size_t i) {
  char *c = strdup(t);
  /* Stay inside the base64url alphabet: 'A' <-> 'B' etc. */
  c[i] = (char)(c[i] == 'A' ? 'B' : c[i] == 'B' ? 'A' : 'A');
  return c;
}

Test(jws_attack, tampering) {
  static const struct {
    const char *kind;
    gauth_alg alg;
  } cases[] = {{"RSA", GAUTH_ALG_RS256},
               {"RSA", GAUTH_ALG_PS256},
               {"P-256", GAUTH_ALG_ES256},
               {"P-384", GAUTH_ALG_ES384},
               {"ED25519", GAUTH_ALG_EDDSA}};
  size_t c;
  for (c = 0; c < GAUTH__ARRAY_LEN(cases); c++) {
    gauth_key *k = gen_key(cases[c].kind, "k", GAUTH_ALG_UNKNOWN);
    test_set ts;
    char *t = sign_jwt(k, cases[c].alg, NULL, "{\"sub\":\"alice\"}");
    const char *dot1 = strchr(t, '.'), *dot2 = strrchr(t, '.');
    char *bad, buf[2048];
    set_of(&ts, 1, k, NULL, NULL);
    expect_ok(t, &ts.set);
    /* payload byte */
    bad = flip_char(t, (size_t)(dot1 - t) + 3);
    expect_reason(bad, &ts.set, ALL_ALGS, "signature_invalid");
    free(bad);
    /* signature byte, first and last-but-one character */
    bad = flip_char(t, (size_t)(dot2 - t) + 1);
    expect_reason(bad, &ts.set, ALL_ALGS, "signature_invalid");
    free(bad);
    bad = flip_char(t, strlen(t) - 2);
    expect_reason(bad, &ts.set, ALL_ALGS, "signature_invalid");
    free(bad);
    /* header changed (still valid JSON, same alg and kid) */
    {
      char hdr[96];
      char *h2;
      snprintf(hdr, sizeof(hdr),
               "{\"alg\":\"%s\",\"typ\":\"JWS\","
               "\"kid\":\"k\"}",
               alg_name(cases[c].alg));
      h2 = b64u_str(hdr);
      snprintf(buf, sizeof(buf), "%s%s", h2, dot1);
      expect_reason(buf, &ts.set, ALL_ALGS, "signature_invalid");
      free(h2);
    }
    /* stripped signature, missing separator, extra segments */
    snprintf(buf, sizeof(buf), "%.*s.", (int)(dot2 - t), t);
    expect_reason(buf, &ts.set, ALL_ALGS, "malformed");
    snprintf(buf, sizeof(buf), "%.*s", (int)(dot2 - t), t);
    expect_reason(buf, &ts.set, ALL_ALGS, "malformed");
    snprintf(buf, sizeof(buf), "%s.", t);
    expect_reason(buf, &ts.set, ALL_ALGS, "malformed");
    snprintf(buf, sizeof(buf), "%s.%s", t, dot2 + 1);
    expect_reason(buf, &ts.set, ALL_ALGS, "malformed");
    /* signature one byte short, and one byte long */
    {
      gauth__jws jws;
      gauth_error err = GAUTH_ERROR_INIT;
      unsigned char longer[600];
      char *s;
      cr_assert_eq(gauth__jws_parse(t, strlen(t), 0, 1, &jws, &err), GAUTH_OK);
      s = b64u(jws.sig, jws.sig_len - 1);
      snprintf(buf, sizeof(buf), "%.*s.%s", (int)(dot2 - t), t, s);
      expect_reason(buf, &ts.set, ALL_ALGS, "signature_invalid");
      free(s);
      memcpy(longer, jws.sig, jws.sig_len);
      longer[jws.sig_len] = 0;
      s = b64u(longer, jws.sig_len + 1);
      snprintf(buf, sizeof(buf), "%.*s.%s", (int)(dot2 - t), t, s);
      expect_reason(buf, &ts.set, ALL_ALGS, "signature_invalid");
      free(s);
      gauth__jws_cleanup(&jws);
    }
    free(t);
    free_key(k);
  }
}

Test(jws_attack, ecdsa_degenerate_signatures) {
  gauth_key *k = gen_key("P-256", "k", GAUTH_ALG_UNKNOWN);
  test_set ts;
  unsigned char sig[64];
  char *t;
  set_of(&ts, 1, k, NULL, NULL);
  memset(sig, 0, sizeof(sig));
  t = make_token("{\"alg\":\"ES256\",\"kid\":\"k\"}", PAY, sig, 64);
  expect_reason(t, &ts.set, ALL_ALGS, "signature_invalid");
  free(t);
  memset(sig, 0xff, sizeof(sig)); /* r, s >= n */
  t = make_token("{\"alg\":\"ES256\",\"kid\":\"k\"}", PAY, sig, 64);
  expect_reason(t, &ts.set, ALL_ALGS, "signature_invalid");
  free(t);
  /* A DER signature where r||s belongs. */
  {
    unsigned char *der = NULL;
    size_t der_len = 0;
    gauth_error err = GAUTH_ERROR_INIT;
    char *good = sign_jwt(k, GAUTH_ALG_ES256, NULL, "{}");
    gauth__jws jws;
    cr_assert_eq(gauth__jws_parse(good, strlen(good), 0, 1, &jws, &err),
                 GAUTH_OK);
    cr_assert_eq(gauth__ecdsa_jose_to_der(jws.sig, jws.sig_len, 32, &der,
                                          &der_len, &err),
                 GAUTH_OK);
    t = make_token(jws.header_json, jws.payload_json, der, der_len);
    expect_reason(t, &ts.set, ALL_ALGS, "signature_invalid");
    free(t);
    free(der);
    gauth__jws_cleanup(&jws);
    free(good);
  }
  free_key(k);
}

Test(jws_attack, embedded_jwk_is_not_trusted) {
  /* The token carries its own key (and jku); only the set's key counts. */
  gauth_key *mine = gen_key("P-256", "k", GAUTH_ALG_UNKNOWN);
  gauth_key *evil = gen_key("P-256", "k", GAUTH_ALG_UNKNOWN);
  test_set ts;
  char *t = sign_custom(evil, GAUTH_ALG_ES256,
                        "{\"alg\":\"ES256\",\"kid\":\"k\",\"jku\":"
                        "\"https://evil.example/jwks\",\"jwk\":{\"kty\":"
                        "\"EC\",\"crv\":\"P-256\"}}",
                        PAY);
  expect_reason(t, set_of(&ts, 1, mine, NULL, NULL), ALL_ALGS,
                "signature_invalid");
  expect_ok(t, set_of(&ts, 1, evil, NULL, NULL));
  free(t);
  free_key(mine);
  free_key(evil);
}

Test(jws_verify, raw_primitive) {
  gauth_key *k = gen_key("P-256", "k", GAUTH_ALG_UNKNOWN);
  unsigned char *sig = NULL;
  size_t sl = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      gauth__jws_sign_raw(k, GAUTH_ALG_ES256, "msg", 3, &sig, &sl, &err),
      GAUTH_OK);
  cr_assert_eq(sl, 64);
  cr_assert_eq(
      gauth__jws_verify_raw(k, GAUTH_ALG_ES256, "msg", 3, sig, sl, &err),
      GAUTH_OK);
  cr_assert_eq(
      gauth__jws_verify_raw(k, GAUTH_ALG_ES256, "msG", 3, sig, sl, &err),
      GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "signature_invalid");
  cr_assert_eq(
      gauth__jws_verify_raw(k, GAUTH_ALG_ES256, "msg", 3, sig, sl - 1, &err),
      GAUTH_E_VERIFY);
  cr_assert_eq(
      gauth__jws_verify_raw(k, GAUTH_ALG_RS256, "msg", 3, sig, sl, &err),
      GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "key_not_usable");
  free(sig);
  free_key(k);
}

/* ---- threads share one prepared key -------------------------------------- */

typedef struct thread_arg {
  const char *good, *bad;
  const gauth_keyset *set;
  int failures;
} thread_arg;

/* Verifications per thread: 200 natively, where the threads overlap (0.2 s).
 * Under valgrind the threads run one at a time and the test took 21 s; 20
 * rounds still have every thread verify both tokens through the shared key,
 * which is what memcheck can check here (the races are ThreadSanitizer's:
 * tests/concurrency/conc_verifier_threads). */
static int verify_rounds(void) {
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
  if (RUNNING_ON_VALGRIND) return 20;
#endif
#endif
  return 200;
}

static void *verify_loop(void *p) {
  thread_arg *a = p;
  int i, rounds = verify_rounds();
  for (i = 0; i < rounds; i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    if (check(a->good, a->set, ALL_ALGS, NULL, &err) != GAUTH_OK) a->failures++;
    if (check(a->bad, a->set, ALL_ALGS, NULL, &err) != GAUTH_E_VERIFY)
      a->failures++;
  }
  return NULL;
}

Test(jws_verify, concurrent_use_of_one_key) {
  gauth_key *k = gen_key("P-256", "k", GAUTH_ALG_UNKNOWN);
  test_set ts;
  char *good = sign_jwt(k, GAUTH_ALG_ES256, NULL, "{\"n\":1}");
  char *bad = flip_char(good, strlen(good) - 3);
  pthread_t th[4];
  thread_arg args[4];
  int i;
  set_of(&ts, 1, k, NULL, NULL);
  for (i = 0; i < 4; i++) {
    args[i] = (thread_arg){good, bad, &ts.set, 0};
    cr_assert_eq(pthread_create(&th[i], NULL, verify_loop, &args[i]), 0);
  }
  for (i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(args[i].failures, 0);
  }
  free(good);
  free(bad);
  free_key(k);
}

/* ---- public raw signatures and bare JWS --------------------------------- */

Test(jws_public, raw_sign_and_verify) {
  gauth_key *rsa = gen_key("RSA", NULL, GAUTH_ALG_UNKNOWN);
  gauth_key *ec = gen_key("P-256", NULL, GAUTH_ALG_UNKNOWN);
  gauth_key *ec_pub = public_of(ec, NULL, GAUTH_ALG_UNKNOWN, 1);
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned char sig[512], sig2[512];
  size_t n = sizeof(sig), n2 = sizeof(sig2);
  static const char msg[] = "bytes to sign";

  cr_assert_eq(gauth_key_signature_size(rsa, GAUTH_ALG_RS256), 256);
  cr_assert_eq(gauth_key_signature_size(rsa, GAUTH_ALG_PS256), 256);
  cr_assert_eq(gauth_key_signature_size(ec, GAUTH_ALG_ES256), 64);
  cr_assert_eq(gauth_key_signature_size(ec, GAUTH_ALG_RS256), 0);
  cr_assert_eq(gauth_key_signature_size(NULL, GAUTH_ALG_RS256), 0);

  /* RS256 is deterministic: the same bytes twice; UNKNOWN = the key's. */
  cr_assert_eq(
      gauth_key_sign(rsa, GAUTH_ALG_RS256, msg, sizeof(msg), sig, &n, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(n, 256);
  cr_assert_eq(
      gauth_key_sign(rsa, GAUTH_ALG_UNKNOWN, msg, sizeof(msg), sig2, &n2, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(n2, n);
  cr_assert_eq(memcmp(sig, sig2, n), 0);
  cr_assert_eq(
      gauth_key_verify(rsa, GAUTH_ALG_RS256, msg, sizeof(msg), sig, n, &err),
      GAUTH_OK, "%s", err.message);
  sig[10] ^= 1;
  cr_assert_eq(
      gauth_key_verify(rsa, GAUTH_ALG_RS256, msg, sizeof(msg), sig, n, &err),
      GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "signature_invalid");

  /* ES256: r||s, verified by the public half. */
  n = sizeof(sig);
  cr_assert_eq(
      gauth_key_sign(ec, GAUTH_ALG_ES256, msg, sizeof(msg), sig, &n, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(n, 64);
  cr_assert_eq(
      gauth_key_verify(ec_pub, GAUTH_ALG_ES256, msg, sizeof(msg), sig, n, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(
      gauth_key_verify(ec_pub, GAUTH_ALG_RS256, msg, sizeof(msg), sig, n, &err),
      GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "key_not_usable");

  /* A buffer too small, a public key, an alg that does not fit. */
  n = 63;
  cr_assert_eq(
      gauth_key_sign(ec, GAUTH_ALG_ES256, msg, sizeof(msg), sig, &n, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert(strstr(err.message, "needs 64") != NULL, "%s", err.message);
  n = sizeof(sig);
  cr_assert_eq(
      gauth_key_sign(ec_pub, GAUTH_ALG_ES256, msg, sizeof(msg), sig, &n, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert_eq(
      gauth_key_sign(ec, GAUTH_ALG_RS256, msg, sizeof(msg), sig, &n, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_key_sign(NULL, GAUTH_ALG_RS256, msg, 1, sig, &n, &err),
               GAUTH_E_INVALID_ARG);
  free_key(rsa);
  free_key(ec);
  free_key(ec_pub);
}

Test(jws_public, bare_jws_verify_returns_any_payload) {
  gauth_key *ec = gen_key("P-256", "k1", GAUTH_ALG_UNKNOWN);
  test_set ts;
  gauth_error err = GAUTH_ERROR_INIT;
  char *token, *payload = NULL, *signing_input, *b64 = NULL;
  unsigned char sig[64];
  size_t n = sizeof(sig), plen = 0;
  static const char hdr[] = "{\"alg\":\"ES256\",\"kid\":\"k1\"}";
  static const char body[] = "not JSON\0with a NUL";
  char *h64 = NULL, *p64 = NULL;

  /* A JWS whose payload is not JSON and holds a NUL byte. */
  cr_assert_eq(gauth__b64url_encode(hdr, strlen(hdr), &h64, &err), GAUTH_OK);
  cr_assert_eq(gauth__b64url_encode(body, sizeof(body) - 1, &p64, &err),
               GAUTH_OK);
  signing_input = malloc(strlen(h64) + strlen(p64) + 2);
  sprintf(signing_input, "%s.%s", h64, p64);
  cr_assert_eq(gauth_key_sign(ec, GAUTH_ALG_ES256, signing_input,
                              strlen(signing_input), sig, &n, &err),
               GAUTH_OK);
  cr_assert_eq(gauth__b64url_encode(sig, n, &b64, &err), GAUTH_OK);
  token = malloc(strlen(signing_input) + strlen(b64) + 2);
  sprintf(token, "%s.%s", signing_input, b64);

  set_of(&ts, 1, ec, NULL, NULL);
  cr_assert_eq(
      gauth_jws_verify(token, 0, &ts.set, ALL_ALGS, &payload, &plen, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(plen, sizeof(body) - 1);
  cr_assert_eq(memcmp(payload, body, plen), 0);
  cr_assert_eq(payload[plen], '\0');
  gauth_free(payload);
  /* The allowed set applies; 0 allows nothing. */
  cr_assert_eq(gauth_jws_verify(token, 0, &ts.set, 0, &payload, &plen, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "alg_not_allowed");
  cr_assert_null(payload);
  cr_assert_eq(plen, 0);
  /* Another valid base64url character inside the signature. */
  token[strlen(token) - 2] = token[strlen(token) - 2] == 'A' ? 'B' : 'A';
  cr_assert_eq(gauth_jws_verify(token, 0, &ts.set, ALL_ALGS, NULL, NULL, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "signature_invalid");
  cr_assert_eq(gauth_jws_verify(NULL, 0, &ts.set, ALL_ALGS, NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  free(h64);
  free(p64);
  free(b64);
  free(signing_input);
  free(token);
  free_key(ec);
}

/* ---- the header cache ---------------------------------------------------- */

/* Parses token with cache (may be NULL); returns the status and fills jws
 * and err. */
static gauth_status parse_with(gauth__jws_header_cache *cache,
                               const char *token, gauth__jws *jws,
                               gauth_error *err) {
  return gauth__jws_parse_cached(token, strlen(token), 0, 1, cache, jws, err);
}

/* A cached parse, first or repeated, says exactly what an uncached one
 * says: good headers give the same alg, kid and text; refused ones (never
 * cached) the same reason every time. */
Test(jws_header_cache, same_results_as_without) {
  static const char *const headers[] = {
      "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
      "{\"alg\":\"ES256\"}",
      "{\"alg\":\"RS256\",\"kid\":\"k2\"}",
      "{\"alg\":\"RS256\",\"kid\":1}",
      "{\"alg\":\"RS256\",\"crit\":[\"exp\"]}",
      "{\"alg\":\"none\"}",
      "{\"alg\":\"RS256\",\"b64\":false}",
      "{\"alg\":\"RS256\",\"alg\":\"ES256\"}",
      "{\"alg\":\"RS256\",\"kid\":\"k\\u0000\"}",
      "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
  };
  gauth__jws_header_cache *cache = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__jws_header_cache_new(&cache, &err), GAUTH_OK);
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
      char *t = fake_token(headers[i], PAY);
      gauth_error e1 = GAUTH_ERROR_INIT, e2 = GAUTH_ERROR_INIT;
      gauth__jws plain, cached;
      gauth_status s1 = parse_with(NULL, t, &plain, &e1);
      gauth_status s2 = parse_with(cache, t, &cached, &e2);
      cr_assert_eq(s2, s1, "header %zu round %d", i, round);
      cr_assert_str_eq(e2.reason, e1.reason, "header %zu", i);
      cr_assert_str_eq(e2.message, e1.message, "header %zu", i);
      if (s1 == GAUTH_OK) {
        cr_assert_eq(cached.alg, plain.alg);
        cr_assert_eq(cached.kid == NULL, plain.kid == NULL);
        if (plain.kid != NULL) cr_assert_str_eq(cached.kid, plain.kid);
        cr_assert_str_eq(cached.header_json, plain.header_json);
        cr_assert_str_eq(cached.payload_json, plain.payload_json);
        cr_assert_not_null(cached.shared, "header %zu not cached", i);
        cr_assert_null(plain.shared);
      } else {
        cr_assert_null(cached.shared);
        cr_assert_null(cached.header);
      }
      gauth__jws_cleanup(&plain);
      gauth__jws_cleanup(&cached);
      free(t);
    }
  }
  gauth__jws_header_cache_free(cache);
}

/* Tokens with the same header segment share one parsed header; a segment
 * that differs in one byte (here: the same JSON with another key order)
 * does not. */
Test(jws_header_cache, shared_by_exact_segment) {
  gauth__jws_header_cache *cache = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *a = fake_token(HDR, "{\"sub\":\"a\"}");
  char *b = fake_token(HDR, "{\"sub\":\"b\"}");
  char *c = fake_token("{\"kid\":\"k1\",\"alg\":\"RS256\"}", "{\"sub\":\"a\"}");
  gauth__jws ja, jb, jc;
  cr_assert_eq(gauth__jws_header_cache_new(&cache, &err), GAUTH_OK);
  cr_assert_eq(parse_with(cache, a, &ja, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(parse_with(cache, b, &jb, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(parse_with(cache, c, &jc, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(ja.shared, jb.shared);
  cr_assert_eq(ja.header, jb.header);
  cr_assert_neq(jc.shared, ja.shared);
  cr_assert_str_eq(jb.kid, "k1");
  cr_assert_str_eq(jc.kid, "k1");
  cr_assert_str_eq(jb.payload_json, "{\"sub\":\"b\"}");
  gauth__jws_cleanup(&ja);
  gauth__jws_cleanup(&jb);
  gauth__jws_cleanup(&jc);
  gauth__jws_header_cache_free(cache);
  free(a);
  free(b);
  free(c);
}

/* A header held by a jws or by claims outlives its entry's replacement and
 * the cache itself (ASan / valgrind would see a use after free). */
Test(jws_header_cache, outlives_eviction_and_the_cache) {
  gauth__jws_header_cache *cache = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__jws first, second;
  gauth_claims *claims = NULL;
  char *t = fake_token(HDR, PAY);
  cr_assert_eq(gauth__jws_header_cache_new(&cache, &err), GAUTH_OK);
  cr_assert_eq(parse_with(cache, t, &first, &err), GAUTH_OK);
  cr_assert_eq(parse_with(cache, t, &second, &err), GAUTH_OK);
  cr_assert_eq(first.shared, second.shared);
  cr_assert_eq(gauth__claims_from_jws(&second, &claims, &err), GAUTH_OK);
  /* Twenty other headers replace every entry. */
  for (int i = 0; i < 20; i++) {
    char hdr[64];
    char *o;
    gauth__jws j;
    snprintf(hdr, sizeof hdr, "{\"alg\":\"RS256\",\"kid\":\"other%d\"}", i);
    o = fake_token(hdr, PAY);
    cr_assert_eq(parse_with(cache, o, &j, &err), GAUTH_OK);
    gauth__jws_cleanup(&j);
    free(o);
  }
  gauth__jws_header_cache_free(cache);
  cr_assert_str_eq(first.kid, "k1");
  cr_assert_str_eq(first.header_json, HDR);
  gauth__jws_cleanup(&first);
  cr_assert_str_eq(gauth_claims_kid(claims), "k1");
  cr_assert_str_eq(gauth_claims_header_json(claims), HDR);
  cr_assert_eq(gauth_claims_alg(claims), GAUTH_ALG_RS256);
  gauth_claims_free(claims);
  free(t);
}

typedef struct cache_arg {
  gauth__jws_header_cache *cache;
  char **tokens;
  size_t n;
  int failures;
} cache_arg;

static void *cache_loop(void *p) {
  cache_arg *a = p;
  for (int round = 0; round < 200; round++) {
    size_t i = (size_t)round % a->n;
    gauth_error err = GAUTH_ERROR_INIT;
    gauth__jws j;
    char want[32];
    if (parse_with(a->cache, a->tokens[i], &j, &err) != GAUTH_OK) {
      a->failures++;
      continue;
    }
    snprintf(want, sizeof want, "k%zu", i);
    if (j.kid == NULL || strcmp(j.kid, want) != 0) a->failures++;
    gauth__jws_cleanup(&j);
  }
  return NULL;
}

/* More headers than entries, from four threads at once: every parse gets
 * its own header's kid (run under TSan / helgrind for the locking). */
Test(jws_header_cache, threads) {
  enum { N = 12 };
  char *tokens[N];
  gauth__jws_header_cache *cache = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  pthread_t th[4];
  cache_arg args[4];
  cr_assert_eq(gauth__jws_header_cache_new(&cache, &err), GAUTH_OK);
  for (size_t i = 0; i < N; i++) {
    char hdr[64];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"RS256\",\"kid\":\"k%zu\"}", i);
    tokens[i] = fake_token(hdr, PAY);
  }
  for (int i = 0; i < 4; i++) {
    args[i] = (cache_arg){cache, tokens, (size_t)(i % 2 ? N : 6), 0};
    cr_assert_eq(pthread_create(&th[i], NULL, cache_loop, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(args[i].failures, 0, "thread %d", i);
  }
  gauth__jws_header_cache_free(cache);
  for (size_t i = 0; i < N; i++) free(tokens[i]);
}
