/* The public verifier (lib/verifier.c) end to end: fixed keys and every
 * rejection reason through gauth_verifier_verify; the GOOGLE and IAP
 * presets against a loopback server standing in for Google (through
 * opts.http->endpoint and through GAUTH_ENDPOINT); OIDC discovery; the
 * token cache. Keys are generated at run time; time is a test clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gauth/gauth.h>

#include "base64.h"
#include "test_jose.h"
#include "test_server.h"
#include "test_util.h"
#include "verifier_cache.h"

#define T0 1764201600LL
#define AUD "https://service.example/"
#define ISS "https://issuer.example"

/* ---- helpers ------------------------------------------------------------- */

/* RSA-2048 keys generated once with
 *   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048
 * rather than per test: Criterion runs every test in a fresh process, and
 * two RSA key generations per test made this file take ~20 s. TEST KEYS:
 * they protect nothing. (P-256 keys are generated per test: that is
 * cheap.) */
static const char TEST_RSA_1[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDGgL1AgfLCmbOJ\n"
    "nY4BD9OBMCvN4Orwbk6adYBRhPiNNJdsCugM4R1qLXNrlugpO6YqziEvBRBflFKR\n"
    "U2aBinBb/Fh87JejWZHL5dkMiTFhIjrpJ+XPJmNaSxVqCJhdU+jAPdP25kKe3weN\n"
    "VUc70K8ZBEODP4OU543LZREM5hDIdmbVxYk7ingv5rlXNWC2X0obAvyoy86Hz9W1\n"
    "zOUbLi+0n7YRKGZ/O9nVTHT/gNQo6TV7u+i1GxfpwRHzeiz3NsQBp6icmlSw3gFh\n"
    "Fn7ge6bIJxyhwTthSMjtWyrxy8GLNL9lTmdgRMvurqkdDG9ZziL4lzcql20lLN2r\n"
    "cgBTMFPnAgMBAAECggEAF+Qlzbj2OW1wukb1cPOb2WgtVYL/yT6q2j9QhD8/VRYi\n"
    "hXVN7ELp8ei/hBBZJ/akb3F4yqUkN9oXvU2u6uIj14Zoi2dEcaYq/JdQ8jJ5otRm\n"
    "XRVEEmnEj85f/kTuOwle3Eh0wGTYBDFuwhgkpzKHkzi7/B+DBu3UV0nLmA8BWnG4\n"
    "eVJd1IBpKfmRZgMqYY/pCVedbr0lGwTE9IWyc+DD+Svbg1NsgCwO2zTkXNJIxasr\n"
    "G6MobwlpZTOhKwCXAlmHNf7CPzVBAW0xEc59TyUuwa5yDVadywaxWuv1fpyqsa9P\n"
    "QMb8YlI0QI3S2XdEKsSSxLkcrlKOZa4WXTu4CYtOMQKBgQD7jOYltKDzK1xLd+OF\n"
    "vYt0guDef5tsp+j+QnlumqkI07rIncmTcmEVjfE335WS8r5FkbXKyLVLGXMRUJoz\n"
    "vkStOkAvOwJDBwzHdgDQUPUAOnEI1hdZNhfu/co+6w8yXa8cZb5/sak8RE/MNBXH\n"
    "0EL0fcGqlMrGvse+0LUB2bNrtwKBgQDKA5/HAYknurr90DLzZzrnKRVao+TC/xb1\n"
    "AfB7Mdu1einNTw4llI13/AwW6EflBkmi1ZW2QXTfSaoES0EOmJbnkR/F6UtAdSnU\n"
    "IkiNKPfiUCi6X2jktNarAeuIpYtwgHX1IN0zyNsDixTYz7Alnl3Z+/tqn4GwHNNI\n"
    "Rz+/JAy5UQKBgQDsk8MPyyVkDW+r+oEdEvrJBR3/o/vE4NYb6uDRyNsY1ihg7STb\n"
    "a0MrRmeKqNi/b1TLkRJsOP9oNfMmYavk5hko4hPjV5f0+fhmzvBM+xawtEYCjXdA\n"
    "C8POnRlMuz17nOhHyNi0t532dDioUIP7fD68Olmd2HotGNg6+YaCywAXWQKBgQCz\n"
    "y7/0JhjFZHuzFQ+T9UfGn5ki4AXly5XKIJzBeOGcRotX8MmdhvbWWF0GMlxyqUL2\n"
    "i3RBD0cOyIhqY/QWIpcEqPSHeBkC2ISPCqhaAqGFKmTlY69/Bric4QuZxgUx7xON\n"
    "RV+7DERpherbARY8lRPgxFXDUw3hCfa+OLOy0koE0QKBgDCydhCD3U5j3g5f7GDF\n"
    "n+k0u0sVM4gKQ5DxyhF7blpTl1kctV65KxiUQudAfUtHs7VyLGOegUoXxM5HVFig\n"
    "apj9B32gXs0c3jSr/tNleXHaJhCmn87s5woQOpZA22lDRY9mdibPl/Eclh1KqsLp\n"
    "foKZcSql8rOIZFlU9yIk7+mp\n"
    "-----END PRIVATE KEY-----\n";

static const char TEST_RSA_2[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCc1G0R2c7KbwIk\n"
    "wqO4oFL74TXpJ3JUq2HC7HGkLc3LMPWnqf6t/bnf7I0eYBD3HMfACxfNsoEN/x++\n"
    "awu8UVzmsgMtQp4DBRcXjdc7XFWWOU94uID71Qgcjq3RGFy9ScNts/ZmVZOETCLV\n"
    "gIg9f7I3Mkoep2xIg/Azi+FZdQclVtSJiK5wvukAiR1oAA+mwnZeVMwALsXkGUTq\n"
    "bv1cFfbxSBEtEesqIpBsAu/geA4z+itJQeaJNxPQb+6muYH1oWQk420Ek5sgGqrT\n"
    "Hq7c15XxwQ03JXUxtrZE3j57DIimd2Z23Z1NbJVzyBT/Ke0Ub8DDyKoTGQEs0Ez8\n"
    "rteKkn6tAgMBAAECggEASN7NdStq0hXlfZYxA6L/HAlHhvfswFnHuY4quZoM0tqD\n"
    "cm3jKA5KdTkRUylZCLFHQT0GSO4l2A6QveY4VD7L92eEYV3gVM/jLG8cMHlVTVGA\n"
    "0zuLtzgDpl1Hd24l/VAObeVeWqttuV21G9Y2t7ijYtFLrlWl00X28MSQp4Pgl6C3\n"
    "43n47zJHloG+PL+dmxpO4VAso2Upe1bq99RWfmIHt4WY4jUu02jAj42HrGlfJU7n\n"
    "CyuZdY8ySSVSpFxQn9skimQiUzdvyFEqroG2bfJE4DbjS6Rnmt2dBX0N9ebWQB9o\n"
    "uO5FPBzMrdOkwmysAcZL8kGTg9oct+fMp2Ck3PgxswKBgQDUwD7gun7RD939r9oZ\n"
    "0kobEnq01c3Vk0tnLQp9hRxTlfz3tGCPsVvybxCUwz++mXfUiUUCBqFidP+Ofx52\n"
    "xkp0dSsu5tH6dbHq+7GawRUSBXA/Ibl//zBxzEnNJ33lg17cWkgNsZGUbxQhLR5P\n"
    "URGjMn7cE05olygIONgpH4D66wKBgQC8tf3bcFZoMX2XLzPbov8tQnPgbrLDZNJW\n"
    "BKeP3qNEBMwYKnRKOof6blZF7fGiaLx4EMavNacXjTxdTI7iJDTsVgR+q0/vE/t6\n"
    "SDeKUcjWt7y7SBZ/DMr6LvGnU/ISXR5KguMC84RoPHMyv8UA+xTLLAP1aB5siGMS\n"
    "V/oJ0O3WxwKBgQCdnO74PjHFYCPt1WGWz5vnAoG1hs++8ihif5PN+ddKdUu7lv4S\n"
    "dirQKEf4bc3Dvp5v7mIZZiAZeOP7BWHkTHLMZCFh1c6p5pewplald3XMrArEOo/a\n"
    "q4uQQvBJ9H/okLKuPJQ00OAxPzmCepKB4GVYqgghsovcIF+f97zselJrkQKBgAt0\n"
    "WIZbWUNVzbPBj7pDOI38vJ/g2ET397R0797RusNEL0dAPHLM/rf6vo3cFZCwHtCC\n"
    "5Cx6azwIvKNFJF8hp3y48+jkaSOv6NHRVF22/SPbXz9W7tajZiatdsmbVNQ8hrwr\n"
    "GbByK5VQJgXskf6vPuHeOBdLTJ114d2ZLXovDmC9AoGAUF21PfG6qWtY6dRCRvJ9\n"
    "K93v7OgyqgTJPPHgg5q29EgWarikdQBf3FDzI2Qh1oQAG5/RQl+V0H/sSHC9yXDi\n"
    "I6FSg+62GLokhWi/kHAUXohOo/W14B5llNtZk52XmCveuObC2X65yBW+XTwlIUbD\n"
    "RKYhqrNdrEuIbEMvuxuQJQY=\n"
    "-----END PRIVATE KEY-----\n";

static gauth_key *pem_key(const char *pem) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *k = NULL;
  cr_assert_eq(gauth_key_from_pem(&k, pem, strlen(pem), &err), GAUTH_OK, "%s",
               err.message);
  return k;
}

static int64_t test_now = T0;

static int64_t test_clock(void *userdata) {
  (void)userdata;
  return test_now;
}

static gauth_keyset *keyset_of(gauth_key *const *keys, const char *const *kids,
                               size_t n) {
  char *jwks = tj_jwks_of(keys, kids, n);
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_keyset_parse(&set, jwks, strlen(jwks), &err), GAUTH_OK,
               "%s", err.message);
  free(jwks);
  return set;
}

/* Claims: iss, aud, iat = T0 - 10, exp = T0 + 3600, plus extra members.
 * Any of iss/aud NULL leaves it out. Returns a static buffer. */
static const char *claims(const char *iss, const char *aud, const char *extra) {
  static char buf[8192];
  snprintf(buf, sizeof(buf),
           "{\"sub\":\"1234567890\",\"email\":\"a@example.com\"%s%s%s%s%s%s"
           "%s%s}",
           iss ? ",\"iss\":\"" : "", iss ? iss : "", iss ? "\"" : "",
           aud ? ",\"aud\":\"" : "", aud ? aud : "", aud ? "\"" : "",
           extra && *extra ? "," : "", extra ? extra : "");
  return buf;
}

#define TIMES "\"iat\":1764201590,\"exp\":1764205200"

static char *sign(const gauth_key *key, const char *kid, const char *json) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  cr_assert_eq(gauth_jwt_sign(key, GAUTH_ALG_UNKNOWN, kid, json, &tok, &err),
               GAUTH_OK, "%s", err.message);
  return tok;
}

static size_t count_lines(const char *text, const char *needle);

/* A token with the header given verbatim (RS256 by key). */
static char *sign_header(const gauth_key *key, const char *header,
                         const char *json) {
  char *h = NULL, *p = NULL, *s = NULL, *tok;
  unsigned char sig[512];
  size_t sig_len = sizeof(sig), n;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__b64url_encode(header, strlen(header), &h, &err),
               GAUTH_OK);
  cr_assert_eq(gauth__b64url_encode(json, strlen(json), &p, &err), GAUTH_OK);
  n = strlen(h) + strlen(p) + 2;
  tok = malloc(n + 700);
  cr_assert_not_null(tok);
  snprintf(tok, n, "%s.%s", h, p);
  cr_assert_eq(gauth_key_sign(key, GAUTH_ALG_RS256, tok, strlen(tok), sig,
                              &sig_len, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth__b64url_encode(sig, sig_len, &s, &err), GAUTH_OK);
  cr_assert_lt(strlen(s), 690);
  strcat(tok, ".");
  strcat(tok, s);
  free(h);
  free(p);
  free(s);
  return tok;
}

typedef struct fixed {
  gauth_key *rsa, *ec, *other;
  gauth_keyset *set;
} fixed;

static fixed *fx;

static void fixed_setup(void) {
  gauth_key *keys[2];
  const char *kids[2] = {"rsa1", "ec1"};
  fx = calloc(1, sizeof(*fx));
  fx->rsa = pem_key(TEST_RSA_1);
  fx->ec = tj_gen_key(0);
  fx->other = pem_key(TEST_RSA_2);
  keys[0] = fx->rsa;
  keys[1] = fx->ec;
  fx->set = keyset_of(keys, kids, 2);
  test_now = T0;
}

static void fixed_teardown(void) {
  gauth_key_free(fx->rsa);
  gauth_key_free(fx->ec);
  gauth_key_free(fx->other);
  gauth_keyset_free(fx->set);
  free(fx);
}

static const char *const AUDS[] = {AUD, NULL};
static const char *const ISSS[] = {ISS, NULL};

static gauth_verifier_options custom_options(void) {
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  o.audiences = AUDS;
  o.issuers = ISSS;
  o.keys = fx->set;
  o.clock = test_clock;
  return o;
}

static gauth_verifier *verifier(const gauth_verifier_options *o) {
  gauth_verifier *v = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_verifier_new(&v, o, &err), GAUTH_OK, "%s", err.message);
  return v;
}

/* Verifying tok must fail with reason; the message must contain want (when
 * not NULL) and never the token. */
static void expect_reason(gauth_verifier *v, const char *tok,
                          const char *reason, const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_claims *c = (gauth_claims *)&err;
  cr_assert_eq(gauth_verifier_verify(v, tok, 0, &c, &err), GAUTH_E_VERIFY,
               "accepted; wanted %s", reason);
  cr_assert_null(c);
  cr_assert_eq(err.code, GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, reason, "%s: %s", err.reason, err.message);
  if (want != NULL)
    cr_assert(strstr(err.message, want) != NULL, "\"%s\" lacks \"%s\"",
              err.message, want);
  if (strlen(tok) > 20)
    cr_assert(strstr(err.message, tok) == NULL, "token in the message");
}

static gauth_claims *expect_ok(gauth_verifier *v, const char *tok) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_claims *c = NULL;
  cr_assert_eq(gauth_verifier_verify(v, tok, 0, &c, &err), GAUTH_OK, "%s: %s",
               err.reason, err.message);
  cr_assert_not_null(c);
  cr_assert_eq(err.code, GAUTH_OK);
  return c;
}

/* ---- fixed keys: success ------------------------------------------------ */

TestSuite(verifier, .init = fixed_setup, .fini = fixed_teardown);

Test(verifier, valid_rs256) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  gauth_claims *c = expect_ok(v, tok);
  const char *email = NULL;
  cr_assert_eq(gauth_claims_alg(c), GAUTH_ALG_RS256);
  cr_assert_str_eq(gauth_claims_kid(c), "rsa1");
  cr_assert_str_eq(gauth_claims_issuer(c), ISS);
  cr_assert_str_eq(gauth_claims_subject(c), "1234567890");
  cr_assert_eq(gauth_claims_audience_count(c), 1);
  cr_assert_str_eq(gauth_claims_audience(c, 0), AUD);
  cr_assert_eq(gauth_claims_expires_at(c), 1764205200);
  cr_assert_eq(gauth_claims_issued_at(c), 1764201590);
  cr_assert_eq(gauth_claims_get_string(c, "email", &email, NULL), GAUTH_OK);
  cr_assert_str_eq(email, "a@example.com");
  cr_assert(strstr(gauth_claims_header_json(c), "\"rsa1\"") != NULL);
  gauth_claims_free(c);
  /* claims NULL: verify only. len given explicitly. */
  cr_assert_eq(gauth_verifier_verify(v, tok, strlen(tok), NULL, NULL),
               GAUTH_OK);
  gauth_free(tok);
  gauth_verifier_free(v);
}

Test(verifier, valid_es256) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  char *tok = sign(fx->ec, "ec1", claims(ISS, AUD, TIMES));
  gauth_claims *c = expect_ok(v, tok);
  cr_assert_eq(gauth_claims_alg(c), GAUTH_ALG_ES256);
  cr_assert_str_eq(gauth_claims_kid(c), "ec1");
  gauth_claims_free(c);
  gauth_free(tok);
  gauth_verifier_free(v);
}

Test(verifier, refcount_and_refresh_with_fixed_keys) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  cr_assert_eq(gauth_verifier_refresh_keys(v, &err), GAUTH_OK);
  gauth_verifier_up_ref(v);
  gauth_verifier_free(v);
  gauth_claims_free(expect_ok(v, tok));
  gauth_verifier_free(v);
  gauth_verifier_free(NULL);
  gauth_free(tok);
}

/* ---- fixed keys: every rejection ---------------------------------------- */

Test(verifier, malformed) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  expect_reason(v, "not-a-token", "malformed", NULL);
  expect_reason(v, "a.b", "malformed", NULL);
  expect_reason(v, "e30.e30.!!!", "malformed", NULL);
  gauth_verifier_free(v);
}

Test(verifier, too_large) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v;
  char extra[3000], *tok;
  gauth_error err = GAUTH_ERROR_INIT;
  o.max_token_bytes = 1024;
  v = verifier(&o);
  memset(extra, 0, sizeof(extra));
  strcpy(extra, "\"pad\":\"");
  memset(extra + 7, 'x', 2000);
  strcat(extra, "\"," TIMES);
  tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, extra));
  expect_reason(v, tok, "too_large", "1024");
  /* The explicit length counts too. */
  cr_assert_eq(gauth_verifier_verify(v, tok, 1025, NULL, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "too_large");
  gauth_free(tok);
  gauth_verifier_free(v);
}

Test(verifier, alg_not_allowed) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v;
  char *tok;
  o.algorithms = GAUTH_ALG_BIT(GAUTH_ALG_RS256);
  v = verifier(&o);
  tok = sign(fx->ec, "ec1", claims(ISS, AUD, TIMES));
  expect_reason(v, tok, "alg_not_allowed", "ES256");
  /* alg "none": never. */
  expect_reason(v,
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                "eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIn0.",
                "alg_not_allowed", NULL);
  gauth_free(tok);
  gauth_verifier_free(v);
}

Test(verifier, unknown_kid) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  char *tok = sign(fx->rsa, "nope", claims(ISS, AUD, TIMES));
  expect_reason(v, tok, "unknown_kid", NULL);
  gauth_free(tok);
  gauth_verifier_free(v);
}

Test(verifier, signature_invalid) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  /* Signed by another key under a known kid. */
  char *tok = sign(fx->other, "rsa1", claims(ISS, AUD, TIMES));
  char *dot;
  expect_reason(v, tok, "signature_invalid", NULL);
  gauth_free(tok);
  /* A changed signature byte (mid-segment: no padding bits involved). */
  tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  dot = strrchr(tok, '.');
  dot[40] = dot[40] == 'A' ? 'B' : 'A';
  expect_reason(v, tok, "signature_invalid", NULL);
  gauth_free(tok);
  gauth_verifier_free(v);
}

static void reject_claims(gauth_verifier_options *o, const char *json,
                          const char *reason, const char *want) {
  gauth_verifier *v = verifier(o);
  char *tok = sign(fx->rsa, "rsa1", json);
  expect_reason(v, tok, reason, want);
  gauth_free(tok);
  gauth_verifier_free(v);
}

Test(verifier, expired) {
  gauth_verifier_options o = custom_options();
  /* Default leeway 30 s: exp + 29 passes, exp + 30 does not. */
  gauth_verifier *v = verifier(&o);
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, "\"exp\":1764201571"));
  gauth_claims_free(expect_ok(v, tok));
  test_now = T0 + 1;
  expect_reason(v, tok, "expired",
                "token expired 30 s ago (exp 1764201571, now 1764201601, "
                "leeway 30 s)");
  gauth_free(tok);
  gauth_verifier_free(v);
}

Test(verifier, leeway_option) {
  gauth_verifier_options o = custom_options();
  o.leeway_seconds = 0;
  reject_claims(&o, claims(ISS, AUD, "\"exp\":1764201599"), "expired",
                "leeway 0 s");
  o.leeway_seconds = -1; /* default 30 */
  reject_claims(&o, claims(ISS, AUD, "\"exp\":1764201569"), "expired",
                "leeway 30 s");
}

Test(verifier, not_yet_valid) {
  gauth_verifier_options o = custom_options();
  reject_claims(&o, claims(ISS, AUD, TIMES ",\"nbf\":1764201700"),
                "not_yet_valid", "nbf 1764201700");
}

Test(verifier, issued_in_future) {
  gauth_verifier_options o = custom_options();
  reject_claims(&o, claims(ISS, AUD, "\"iat\":1764201700,\"exp\":1764205200"),
                "issued_in_future", "iat 1764201700");
}

Test(verifier, issuer_mismatch) {
  gauth_verifier_options o = custom_options();
  reject_claims(&o, claims("https://evil.example", AUD, TIMES),
                "issuer_mismatch",
                "issuer mismatch: token is from \"https://evil.example\", "
                "expected one of \"https://issuer.example\"");
}

Test(verifier, audience_mismatch) {
  gauth_verifier_options o = custom_options();
  reject_claims(&o, claims(ISS, "https://other.example/", TIMES),
                "audience_mismatch",
                "audience mismatch: token is for \"https://other.example/\", "
                "expected one of \"https://service.example/\"");
}

Test(verifier, missing_claim) {
  gauth_verifier_options o = custom_options();
  reject_claims(&o, claims(ISS, AUD, "\"iat\":1764201590"), "missing_claim",
                "\"exp\"");
  o.require_email_verified = 1;
  reject_claims(&o, claims(ISS, AUD, TIMES), "missing_claim", "email_verified");
}

Test(verifier, claim_mismatch) {
  gauth_verifier_options o = custom_options();
  o.hosted_domain = "example.com";
  reject_claims(&o, claims(ISS, AUD, TIMES ",\"hd\":\"evil.com\""),
                "claim_mismatch", "\"evil.com\"");
  o.hosted_domain = NULL;
  o.authorized_party = "client-1";
  reject_claims(&o, claims(ISS, AUD, TIMES ",\"azp\":\"client-2\""),
                "claim_mismatch", "authorized party");
}

Test(verifier, lifetime_too_long) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v;
  char *ok, *bad;
  o.max_lifetime_seconds = 600;
  v = verifier(&o);
  ok = sign(fx->rsa, "rsa1",
            claims(ISS, AUD, "\"iat\":1764201590,\"exp\":1764202190"));
  bad = sign(fx->rsa, "rsa1",
             claims(ISS, AUD, "\"iat\":1764201590,\"exp\":1764202191"));
  gauth_claims_free(expect_ok(v, ok));
  expect_reason(v, bad, "lifetime_too_long", "601 s");
  gauth_free(ok);
  gauth_free(bad);
  gauth_verifier_free(v);
}

Test(verifier, keys_unavailable) {
  gauth_verifier_options o = custom_options();
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_verifier *v;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[128], *tok;
  http.retry.max_attempts = 1;
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/jwks",
           (unsigned)ts_closed_port());
  o.keys = NULL;
  o.jwks_url = url;
  o.http = &http;
  v = verifier(&o);
  tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  expect_reason(v, tok, "keys_unavailable", url);
  /* refresh_keys reports the transport's own code. */
  cr_assert_eq(gauth_verifier_refresh_keys(v, &err), GAUTH_E_NETWORK, "%s",
               err.message);
  gauth_free(tok);
  gauth_verifier_free(v);
}

Test(verifier, rejection_logged_once_without_token) {
  gauth_verifier_options o = custom_options();
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_verifier *v;
  tu_log log;
  char *tok;
  tu_log_init(&log);
  http.log_fn = tu_log_capture;
  http.log_userdata = &log;
  http.log_level = GAUTH_LOG_DEBUG;
  o.http = &http;
  v = verifier(&o);
  tok = sign(fx->rsa, "rsa1", claims(ISS, "https://other.example/", TIMES));
  expect_reason(v, tok, "audience_mismatch", NULL);
  cr_assert(strstr(log.text, "token rejected: audience_mismatch") != NULL, "%s",
            log.text);
  cr_assert(strstr(log.text, tok) == NULL);
  /* The signature segment alone is not in the log either. */
  cr_assert(strstr(log.text, strrchr(tok, '.') + 1) == NULL);
  gauth_free(tok);
  gauth_verifier_free(v);
  tu_log_cleanup(&log);
}

/* ---- options ------------------------------------------------------------ */

static void bad_options(const gauth_verifier_options *o, gauth_status code,
                        const char *want) {
  gauth_verifier *v = (gauth_verifier *)&v;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_verifier_new(&v, o, &err), code, "%s", err.message);
  cr_assert_null(v);
  if (want != NULL)
    cr_assert(strstr(err.message, want) != NULL, "\"%s\" lacks \"%s\"",
              err.message, want);
}

Test(verifier, options_validated) {
  static const char *const none[] = {NULL};
  static const char *const empty[] = {"", NULL};
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = NULL;

  cr_assert_eq(gauth_verifier_new(&v, NULL, NULL), GAUTH_E_INVALID_ARG);
  o.version = 99;
  bad_options(&o, GAUTH_E_INVALID_ARG, "version");
  o = custom_options();
  o.audiences = NULL;
  bad_options(&o, GAUTH_E_INVALID_ARG, "audience");
  o.audiences = none;
  bad_options(&o, GAUTH_E_INVALID_ARG, "audience");
  o.audiences = empty;
  bad_options(&o, GAUTH_E_INVALID_ARG, "empty");
  o = custom_options();
  o.issuers = NULL;
  bad_options(&o, GAUTH_E_INVALID_ARG, "issuers");
  o.issuers = none;
  bad_options(&o, GAUTH_E_INVALID_ARG, "issuer");
  o = custom_options();
  o.keys = NULL;
  bad_options(&o, GAUTH_E_INVALID_ARG, "keys or jwks_url");
  o = custom_options();
  o.jwks_url = "https://keys.example/jwks";
  bad_options(&o, GAUTH_E_INVALID_ARG, "not both");
  o = custom_options();
  o.algorithms = 1u << 20;
  bad_options(&o, GAUTH_E_INVALID_ARG, "algorithms");
  o = custom_options();
  o.algorithms = GAUTH_ALG_BIT(GAUTH_ALG_UNKNOWN);
  bad_options(&o, GAUTH_E_INVALID_ARG, "algorithms");
  o = custom_options();
  o.keys_min_ttl = 500;
  o.keys_max_ttl = 100;
  bad_options(&o, GAUTH_E_INVALID_ARG, "keys_min_ttl");
  o = custom_options();
  o.leeway_seconds = 10L * 86400;
  bad_options(&o, GAUTH_E_INVALID_ARG, "leeway");
  o = custom_options();
  o.oidc_issuer = ISS;
  bad_options(&o, GAUTH_E_INVALID_ARG, "oidc_issuer");
  o = custom_options();
  o.preset = GAUTH_VERIFIER_OIDC;
  o.keys = NULL;
  bad_options(&o, GAUTH_E_INVALID_ARG, "oidc_issuer");
  o.oidc_issuer = "ftp://x";
  bad_options(&o, GAUTH_E_INVALID_ARG, "oidc_issuer");
  o = custom_options();
  o.preset = (gauth_verifier_preset)42;
  bad_options(&o, GAUTH_E_INVALID_ARG, "preset");
  o = custom_options();
  o.keys = NULL;
  o.jwks_url = "http://keys.example/jwks"; /* plain http off loopback */
  bad_options(&o, GAUTH_E_INSECURE_URL, "jwks_url");
  o = custom_options();
  o.hosted_domain = "";
  bad_options(&o, GAUTH_E_INVALID_ARG, "hosted_domain");
  {
    gauth_options http = GAUTH_OPTIONS_INIT;
    http.version = 99;
    o = custom_options();
    o.http = &http;
    bad_options(&o, GAUTH_E_INVALID_ARG, "http");
  }
}

Test(verifier, options_copied) {
  char aud[64], iss[64];
  const char *auds[] = {aud, NULL};
  const char *isss[] = {iss, NULL};
  gauth_verifier_options o = custom_options();
  gauth_verifier *v;
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  strcpy(aud, AUD);
  strcpy(iss, ISS);
  o.audiences = auds;
  o.issuers = isss;
  v = verifier(&o);
  memset(aud, 'z', sizeof(aud) - 1);
  memset(iss, 'z', sizeof(iss) - 1);
  auds[0] = NULL;
  gauth_claims_free(expect_ok(v, tok));
  gauth_free(tok);
  gauth_verifier_free(v);
}

/* ---- presets against a loopback "Google" --------------------------------- */

static void route_jwks(ts_server *s, const char *path, const char *body,
                       const char *cache_control) {
  ts_response r;
  memset(&r, 0, sizeof(r));
  r.body = body;
  r.headers[0] = "Content-Type: application/json";
  r.headers[1] = cache_control;
  ts_route(s, path, &r, 1);
}

static void google_preset(int through_env) {
  static const char *const auds[] = {"https://run.example/", NULL};
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  ts_server *s = ts_start();
  gauth_key *keys[1] = {fx->rsa};
  const char *kids[1] = {"g1"};
  char *jwks = tj_jwks_of(keys, kids, 1), *tok, *tok2, *es;
  char base[128];
  gauth_verifier *v;

  route_jwks(s, "/oauth2/v3/certs", jwks, "Cache-Control: max-age=19000");
  tu_log log;
  ts_url(s, "", base, sizeof(base));
  if (through_env)
    setenv("GAUTH_ENDPOINT", base, 1);
  else
    http.endpoint = base; /* wins over the GAUTH_ENDPOINT of the test env */
  tu_log_init(&log);
  http.log_fn = tu_log_capture;
  http.log_userdata = &log;
  http.log_level = GAUTH_LOG_WARN;
  o.preset = GAUTH_VERIFIER_GOOGLE;
  o.audiences = auds;
  o.clock = test_clock;
  o.http = &http;
  v = verifier(&o);
  cr_assert_eq(ts_count(s, NULL), 0, "no request before the first use");
  /* The override moves the trust anchor too, and says so once. */
  cr_assert_eq(count_lines(log.text,
                           "the endpoint override applies to key "
                           "sets too"),
               1, "%s", log.text);
  cr_assert(strstr(log.text, base) != NULL, "%s", log.text);
  tu_log_cleanup(&log);

  tok = sign(
      fx->rsa, "g1",
      claims("https://accounts.google.com", "https://run.example/", TIMES));
  tok2 = sign(fx->rsa, "g1",
              claims("accounts.google.com", "https://run.example/", TIMES));
  gauth_claims_free(expect_ok(v, tok));
  gauth_claims_free(expect_ok(v, tok2));
  cr_assert_eq(ts_count(s, "/oauth2/v3/certs"), 1);
  gauth_free(tok);
  /* Other issuers, and ES256, are not Google's. */
  tok = sign(fx->rsa, "g1",
             claims("https://evil.example", "https://run.example/", TIMES));
  expect_reason(v, tok, "issuer_mismatch", "accounts.google.com");
  es = sign(
      fx->ec, "g1",
      claims("https://accounts.google.com", "https://run.example/", TIMES));
  expect_reason(v, es, "alg_not_allowed", "allowed: RS256");
  gauth_free(tok);
  gauth_free(tok2);
  gauth_free(es);
  gauth_verifier_free(v);
  free(jwks);
  ts_stop(s);
}

/* RFC 8725 3.11: a JWT whose header types it as another kind of token is
 * refused, signature and claims notwithstanding; "JWT" in any case,
 * "application/jwt" and no typ pass. */
Test(verifier, typ_must_be_jwt) {
  static const char *const ok_typs[] = {"\"JWT\"", "\"jwt\"",
                                        "\"application/jwt\"", NULL};
  static const char *const bad_typs[] = {"\"at+jwt\"", "\"dpop+jwt\"",
                                         "\"logout+jwt\"", "\"JOSE\""};
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  char header[128], *tok;
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(ok_typs); i++) {
    if (ok_typs[i] != NULL)
      snprintf(header, sizeof(header),
               "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":%s}", ok_typs[i]);
    else
      snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}");
    tok = sign_header(fx->rsa, header, claims(ISS, AUD, TIMES));
    gauth_claims_free(expect_ok(v, tok));
    free(tok);
  }
  for (i = 0; i < GAUTH__ARRAY_LEN(bad_typs); i++) {
    snprintf(header, sizeof(header),
             "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":%s}", bad_typs[i]);
    tok = sign_header(fx->rsa, header, claims(ISS, AUD, TIMES));
    expect_reason(v, tok, "wrong_type", "\"typ\"");
    free(tok);
  }
  tok = sign_header(fx->rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":1}",
                    claims(ISS, AUD, TIMES));
  expect_reason(v, tok, "malformed", "\"typ\" is a number");
  free(tok);
  gauth_verifier_free(v);
}

/* A remote key set that holds a key without a kid: a token with a kid the
 * set lacks (a rotation) is unknown_kid, not signature_invalid, so the set
 * is fetched again and the new key verifies it. */
Test(verifier, kidless_key_does_not_block_rotation) {
  gauth_verifier_options o = custom_options();
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_key *before_keys[2] = {fx->rsa, fx->rsa};
  const char *before_kids[2] = {"rsa1", "anon"};
  gauth_key *after_keys[2] = {fx->rsa, fx->other};
  const char *after_kids[2] = {"rsa1", "rsa2"};
  char *before = tj_jwks_of(before_keys, before_kids, 2);
  char *after = tj_jwks_of(after_keys, after_kids, 2);
  char *tok = sign(fx->other, "rsa2", claims(ISS, AUD, TIMES)), url[128];
  ts_server *s = ts_start();
  gauth_verifier *v;
  cJSON *set;
  char *kidless;
  /* The first set's second RSA key loses its kid: a key without a kid,
   * which an RS256 token with an unknown kid is tried against. */
  set = cJSON_Parse(before);
  cJSON_DeleteItemFromObjectCaseSensitive(
      cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(set, "keys"), 1),
      "kid");
  kidless = cJSON_PrintUnformatted(set);
  cJSON_Delete(set);
  route_jwks(s, "/jwks", kidless, "Cache-Control: max-age=86400");
  o.keys = NULL;
  o.jwks_url = ts_url(s, "/jwks", url, sizeof(url));
  o.algorithms =
      GAUTH_ALG_BIT(GAUTH_ALG_RS256) | GAUTH_ALG_BIT(GAUTH_ALG_ES256);
  o.http = &http;
  v = verifier(&o);
  cr_assert_eq(gauth_verifier_refresh_keys(v, NULL), GAUTH_OK);
  route_jwks(s, "/jwks", after, "Cache-Control: max-age=86400");
  test_now += 61; /* past the refetch cooldown */
  gauth_claims_free(expect_ok(v, tok));
  cr_assert_eq(ts_count(s, "/jwks"), 2);
  gauth_verifier_free(v);
  free(tok);
  free(before);
  free(after);
  free(kidless);
  ts_stop(s);
}

Test(verifier, google_preset_endpoint_option) { google_preset(0); }

Test(verifier, google_preset_endpoint_env) { google_preset(1); }

Test(verifier, google_preset_default_path_through_endpoint) {
  /* GAUTH_ENDPOINT at a closed loopback port (set here, not left to the
   * test environment, so that nothing can reach Google): the request keeps
   * Google's path, goes to the override, and fails there. */
  static const char *const auds[] = {"x", NULL};
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_verifier *v;
  gauth_error err = GAUTH_ERROR_INIT;
  char endpoint[64];
  snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u",
           (unsigned)ts_closed_port());
  setenv("GAUTH_ENDPOINT", endpoint, 1);
  http.retry.max_attempts = 1;
  o.preset = GAUTH_VERIFIER_GOOGLE;
  o.audiences = auds;
  o.http = &http;
  v = verifier(&o);
  cr_assert_eq(gauth_verifier_refresh_keys(v, &err), GAUTH_E_NETWORK, "%s",
               err.message);
  cr_assert(strstr(err.message, endpoint) != NULL, "%s", err.message);
  cr_assert(strstr(err.message, "/oauth2/v3/certs") != NULL, "%s", err.message);
  cr_assert(strstr(err.message, "googleapis.com") == NULL, "%s", err.message);
  gauth_verifier_free(v);
}

Test(verifier, iap_preset) {
  static const char *const auds[] = {"/projects/1/global/backendServices/2",
                                     NULL};
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  ts_server *s = ts_start();
  gauth_key *keys[2] = {fx->ec, fx->rsa};
  const char *kids[2] = {"iap1", "rsa-not-iap"};
  char *jwks = tj_jwks_of(keys, kids, 2), *tok, *rs, *longer;
  char base[128];
  gauth_verifier *v;

  route_jwks(s, "/iap/verify/public_key-jwk", jwks, NULL);
  ts_url(s, "", base, sizeof(base));
  http.endpoint = base;
  o.preset = GAUTH_VERIFIER_IAP;
  o.audiences = auds;
  o.clock = test_clock;
  o.http = &http;
  v = verifier(&o);
  tok = sign(fx->ec, "iap1",
             claims("https://cloud.google.com/iap", auds[0],
                    "\"iat\":1764201590,\"exp\":1764202190"));
  gauth_claims_free(expect_ok(v, tok));
  cr_assert_eq(ts_count(s, "/iap/verify/public_key-jwk"), 1);
  /* RS256 is not IAP's, even with its key in the set. */
  rs = sign(fx->rsa, "rsa-not-iap",
            claims("https://cloud.google.com/iap", auds[0],
                   "\"iat\":1764201590,\"exp\":1764202190"));
  expect_reason(v, rs, "alg_not_allowed", "ES256");
  /* 601 s of lifetime: over IAP's 600. */
  longer = sign(fx->ec, "iap1",
                claims("https://cloud.google.com/iap", auds[0],
                       "\"iat\":1764201590,\"exp\":1764202191"));
  expect_reason(v, longer, "lifetime_too_long", "maximum 600 s");
  gauth_free(tok);
  gauth_free(rs);
  gauth_free(longer);
  gauth_verifier_free(v);
  free(jwks);
  ts_stop(s);
}

/* ---- OIDC discovery ------------------------------------------------------ */

static void route_discovery(ts_server *s, const char *issuer,
                            const char *jwks_uri) {
  char doc[1024];
  ts_response r;
  snprintf(doc, sizeof(doc),
           "{\"issuer\":\"%s\",\"jwks_uri\":\"%s\","
           "\"id_token_signing_alg_values_supported\":[\"RS256\"]}",
           issuer, jwks_uri);
  memset(&r, 0, sizeof(r));
  r.body = doc;
  r.headers[0] = "Content-Type: application/json";
  ts_route(s, "/.well-known/openid-configuration", &r, 1);
}

/* With the transport's retries on (the default policy), a discovery
 * document and a key set that fail first (503, a dropped connection, 429
 * with Retry-After) are fetched again within the call: the first token
 * verifies, and each failure cost one more request, no more. */
Test(verifier, discovery_and_keys_fetches_retry) {
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  ts_server *s = ts_start();
  gauth_key *keys[1] = {fx->rsa};
  const char *kids[1] = {"o1"};
  char *jwks = tj_jwks_of(keys, kids, 1), *tok;
  char issuer[128], jwks_uri[160], doc[1024];
  ts_response disc[3], ks[3];
  gauth_verifier *v;

  ts_url(s, "", issuer, sizeof(issuer));
  ts_url(s, "/keys", jwks_uri, sizeof(jwks_uri));
  snprintf(doc, sizeof(doc), "{\"issuer\":\"%s\",\"jwks_uri\":\"%s\"}", issuer,
           jwks_uri);
  memset(disc, 0, sizeof(disc));
  disc[0].status = 503;
  disc[0].body = "{\"error\":{\"code\":503,\"status\":\"UNAVAILABLE\"}}";
  disc[1].kind = TS_DROP;
  disc[2].body = doc;
  disc[2].headers[0] = "Content-Type: application/json";
  ts_route(s, "/.well-known/openid-configuration", disc, 3);
  memset(ks, 0, sizeof(ks));
  ks[0].status = 429;
  ks[0].headers[0] = "Retry-After: 0";
  ks[1].status = 502;
  ks[2].body = jwks;
  ks[2].headers[0] = "Content-Type: application/json";
  ks[2].headers[1] = "Cache-Control: max-age=600";
  ts_route(s, "/keys", ks, 3);
  http.retry.max_attempts = 4;
  http.retry.initial_backoff_ms = 10;
  http.retry.max_backoff_ms = 20;
  o.preset = GAUTH_VERIFIER_OIDC;
  o.oidc_issuer = issuer;
  o.audiences = AUDS;
  o.clock = test_clock;
  o.http = &http;
  v = verifier(&o);
  tok = sign(fx->rsa, "o1", claims(issuer, AUD, TIMES));
  gauth_claims_free(expect_ok(v, tok));
  cr_assert_eq(ts_count(s, "/.well-known/openid-configuration"), 3);
  cr_assert_eq(ts_count(s, "/keys"), 3);
  gauth_claims_free(expect_ok(v, tok));
  cr_assert_eq(ts_count(s, "/keys"), 3);
  gauth_free(tok);
  gauth_verifier_free(v);
  free(jwks);
  ts_stop(s);
}

Test(verifier, oidc_discovery) {
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  ts_server *s = ts_start();
  gauth_key *keys[1] = {fx->rsa};
  const char *kids[1] = {"o1"};
  char *jwks = tj_jwks_of(keys, kids, 1), *tok;
  char issuer[128], jwks_uri[160];
  gauth_verifier *v;

  ts_url(s, "", issuer, sizeof(issuer));
  ts_url(s, "/keys", jwks_uri, sizeof(jwks_uri));
  route_discovery(s, issuer, jwks_uri);
  route_jwks(s, "/keys", jwks, "Cache-Control: max-age=600");
  http.retry.max_attempts = 1;
  o.preset = GAUTH_VERIFIER_OIDC;
  o.oidc_issuer = issuer;
  o.audiences = AUDS;
  o.clock = test_clock;
  o.http = &http;
  v = verifier(&o);
  cr_assert_eq(ts_count(s, NULL), 0);
  tok = sign(fx->rsa, "o1", claims(issuer, AUD, TIMES));
  gauth_claims_free(expect_ok(v, tok));
  gauth_claims_free(expect_ok(v, tok));
  cr_assert_eq(ts_count(s, "/.well-known/openid-configuration"), 1);
  cr_assert_eq(ts_count(s, "/keys"), 1);
  gauth_free(tok);
  /* Issuers default to oidc_issuer alone. */
  tok = sign(fx->rsa, "o1", claims(ISS, AUD, TIMES));
  expect_reason(v, tok, "issuer_mismatch", issuer);
  gauth_free(tok);
  gauth_verifier_free(v);
  free(jwks);
  ts_stop(s);
}

Test(verifier, oidc_discovery_issuer_mismatch) {
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  ts_server *s = ts_start();
  gauth_key *keys[1] = {fx->rsa};
  const char *kids[1] = {"o1"};
  char *jwks = tj_jwks_of(keys, kids, 1), *tok;
  char issuer[128], jwks_uri[160];
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_verifier *v;

  ts_url(s, "", issuer, sizeof(issuer));
  ts_url(s, "/keys", jwks_uri, sizeof(jwks_uri));
  route_discovery(s, "https://someone-else.example", jwks_uri);
  route_jwks(s, "/keys", jwks, NULL);
  http.retry.max_attempts = 1;
  o.preset = GAUTH_VERIFIER_OIDC;
  o.oidc_issuer = issuer;
  o.audiences = AUDS;
  o.clock = test_clock;
  o.http = &http;
  v = verifier(&o);
  tok = sign(fx->rsa, "o1", claims(issuer, AUD, TIMES));
  expect_reason(v, tok, "keys_unavailable", "someone-else.example");
  cr_assert_eq(ts_count(s, "/keys"), 0, "keys of a mismatched document");
  /* Not asked again within the cooldown... */
  expect_reason(v, tok, "keys_unavailable", "someone-else.example");
  cr_assert_eq(ts_count(s, "/.well-known/openid-configuration"), 1);
  /* ...and refresh_keys says what went wrong with its own code. */
  cr_assert_eq(gauth_verifier_refresh_keys(v, &err), GAUTH_E_BAD_RESPONSE, "%s",
               err.message);
  /* The document is fixed; after the cooldown, discovery runs again. */
  route_discovery(s, issuer, jwks_uri);
  test_now = T0 + 60;
  gauth_claims_free(expect_ok(v, tok));
  cr_assert_eq(ts_count(s, "/.well-known/openid-configuration"), 2);
  gauth_free(tok);
  gauth_verifier_free(v);
  free(jwks);
  ts_stop(s);
}

Test(verifier, oidc_discovery_bad_document) {
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  ts_server *s = ts_start();
  ts_response r;
  char issuer[128];
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_verifier *v;

  ts_url(s, "/tenant/", issuer, sizeof(issuer));
  memset(&r, 0, sizeof(r));
  r.body = "{\"issuer\":\"x\"}";
  ts_route(s, "/tenant/.well-known/openid-configuration", &r, 1);
  http.retry.max_attempts = 1;
  o.preset = GAUTH_VERIFIER_OIDC;
  o.oidc_issuer = issuer; /* the trailing '/' is not doubled */
  o.audiences = AUDS;
  o.http = &http;
  v = verifier(&o);
  cr_assert_eq(gauth_verifier_refresh_keys(v, &err), GAUTH_E_BAD_RESPONSE, "%s",
               err.message);
  cr_assert(strstr(err.message, "jwks_uri") != NULL, "%s", err.message);
  cr_assert_eq(ts_count(s, "/tenant/.well-known/openid-configuration"), 1);
  gauth_verifier_free(v);
  ts_stop(s);
}

Test(verifier, oidc_discovery_insecure_jwks_uri) {
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  ts_server *s = ts_start();
  char issuer[128];
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_verifier *v;

  ts_url(s, "", issuer, sizeof(issuer));
  route_discovery(s, issuer, "http://keys.example/jwks");
  o.preset = GAUTH_VERIFIER_OIDC;
  o.oidc_issuer = issuer;
  o.audiences = AUDS;
  o.http = &http;
  v = verifier(&o);
  cr_assert_eq(gauth_verifier_refresh_keys(v, &err), GAUTH_E_INSECURE_URL, "%s",
               err.message);
  cr_assert(strstr(err.message, "jwks_uri") != NULL, "%s", err.message);
  gauth_verifier_free(v);
  ts_stop(s);
}

/* ---- token cache ---------------------------------------------------------*/

/* lib/verifier_cache.c directly: bounds, LRU replacement, expiry. */
Test(verifier, token_cache_internals) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  gauth__verifier_cache *tc = NULL;
  gauth_claims *c = NULL, *got = NULL;
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  gauth_error err = GAUTH_ERROR_INIT;

  c = expect_ok(v, tok);
  cr_assert_eq(gauth__verifier_cache_new(&tc, 0, &err), GAUTH_E_INVALID_ARG);
  /* One bucket of two ways. */
  cr_assert_eq(gauth__verifier_cache_new(&tc, 2, &err), GAUTH_OK);
  gauth__verifier_cache_put(tc, "a", 1, c, 0, 100, 1, 10);
  gauth__verifier_cache_put(tc, "b", 1, c, 0, 100, 1, 10);
  cr_assert(
      gauth__verifier_cache_get(tc, "a", 1, 10, 1, &got)); /* a is newer */
  gauth_claims_free(got);
  gauth__verifier_cache_put(tc, "c", 1, c, 0, 100, 1, 10); /* evicts b */
  cr_assert_not(gauth__verifier_cache_get(tc, "b", 1, 10, 1, &got));
  cr_assert_null(got);
  cr_assert(gauth__verifier_cache_get(tc, "a", 1, 10, 1, &got));
  gauth_claims_free(got);
  cr_assert(gauth__verifier_cache_get(tc, "c", 1, 10, 1, &got));
  gauth_claims_free(got);
  /* Expired entries are never returned, and are replaced first. */
  cr_assert_not(gauth__verifier_cache_get(tc, "a", 1, 100, 1, &got));
  gauth__verifier_cache_put(tc, "d", 1, c, 0, 200, 1, 150);
  gauth__verifier_cache_put(tc, "e", 1, c, 0, 200, 1, 150);
  cr_assert(gauth__verifier_cache_get(tc, "d", 1, 150, 1, &got));
  gauth_claims_free(got);
  cr_assert(gauth__verifier_cache_get(tc, "e", 1, 150, 1, &got));
  gauth_claims_free(got);
  /* Nothing stored that is already over. */
  gauth__verifier_cache_put(tc, "f", 1, c, 0, 150, 1, 150);
  cr_assert_not(gauth__verifier_cache_get(tc, "f", 1, 149, 1, &got));
  /* The same token again replaces its entry. */
  gauth__verifier_cache_put(tc, "e", 1, c, 0, 300, 1, 150);
  cr_assert(gauth__verifier_cache_get(tc, "e", 1, 250, 1, &got));
  gauth_claims_free(got);
  cr_assert(gauth__verifier_cache_get(tc, "d", 1, 150, 1, &got));
  gauth_claims_free(got);
  cr_assert_eq(gauth__verifier_cache_hits(tc), 7);
  /* Nothing is returned before the entry's window opens (a clock that
   * went back past nbf / iat - leeway). */
  gauth__verifier_cache_put(tc, "g", 1, c, 400, 500, 1, 450);
  cr_assert_not(gauth__verifier_cache_get(tc, "g", 1, 399, 1, &got));
  cr_assert_null(got);
  cr_assert(gauth__verifier_cache_get(tc, "g", 1, 400, 1, &got));
  gauth_claims_free(got);
  /* An entry verified with another key set is a miss. */
  cr_assert_not(gauth__verifier_cache_get(tc, "g", 1, 450, 2, &got));
  cr_assert_null(got);
  gauth__verifier_cache_free(tc);
  gauth__verifier_cache_free(NULL);
  gauth_claims_free(c);
  gauth_free(tok);
  gauth_verifier_free(v);
}

/* A lookup compares the whole token, eight bytes at a time and then the
 * tail: a key that differs from a cached one in any single byte (same
 * length, same last characters, so the same bucket) is a miss, for every
 * length of tail (the keys here: the token cut to 8 lengths in a row). */
Test(verifier, token_cache_compares_every_byte) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v = verifier(&o);
  gauth__verifier_cache *tc = NULL;
  gauth_claims *c = NULL, *got = NULL;
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  gauth_error err = GAUTH_ERROR_INIT;
  size_t len = strlen(tok);

  c = expect_ok(v, tok);
  cr_assert_eq(gauth__verifier_cache_new(&tc, 64, &err), GAUTH_OK);
  for (size_t n = len - 8; n < len; n++) {
    gauth__verifier_cache_put(tc, tok, n, c, 0, 100, 1, 10);
    for (size_t i = 0; i < n; i++) {
      char *other = strdup(tok);
      cr_assert_not_null(other);
      other[i] ^= 0x01;
      cr_assert_not(gauth__verifier_cache_get(tc, other, n, 10, 1, &got),
                    "a key differing at byte %zu of %zu hit", i, n);
      cr_assert_null(got);
      free(other);
    }
    cr_assert(gauth__verifier_cache_get(tc, tok, n, 10, 1, &got), "%zu", n);
    cr_assert_eq(got, c);
    gauth_claims_free(got);
  }
  gauth__verifier_cache_free(tc);
  gauth_claims_free(c);
  gauth_free(tok);
  gauth_verifier_free(v);
}

static size_t count_lines(const char *text, const char *needle) {
  size_t n = 0;
  const char *p = text;
  while ((p = strstr(p, needle)) != NULL) {
    n++;
    p += strlen(needle);
  }
  return n;
}

typedef struct cache_fixture {
  ts_server *s;
  gauth_verifier *v;
  tu_log log;
  char *jwks;
} cache_fixture;

static void cache_start(cache_fixture *c, const char *cache_control) {
  gauth_verifier_options o = custom_options();
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_key *keys[1] = {fx->rsa};
  const char *kids[1] = {"rsa1"};
  char url[128];
  c->s = ts_start();
  c->jwks = tj_jwks_of(keys, kids, 1);
  route_jwks(c->s, "/jwks", c->jwks, cache_control);
  tu_log_init(&c->log);
  http.log_fn = tu_log_capture;
  http.log_userdata = &c->log;
  http.log_level = GAUTH_LOG_DEBUG;
  o.keys = NULL;
  o.jwks_url = ts_url(c->s, "/jwks", url, sizeof(url));
  o.token_cache_entries = 16;
  o.http = &http;
  c->v = verifier(&o);
}

static void cache_stop(cache_fixture *c) {
  gauth_verifier_free(c->v);
  tu_log_cleanup(&c->log);
  free(c->jwks);
  ts_stop(c->s);
}

Test(verifier, token_cache_hit_skips_signature) {
  cache_fixture c;
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  gauth_claims *a, *b;
  cache_start(&c, "Cache-Control: max-age=86400");
  a = expect_ok(c.v, tok);
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 0);
  b = expect_ok(c.v, tok);
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1, "%s", c.log.text);
  /* A key set URL of its own is not moved: no warning. */
  cr_assert_eq(count_lines(c.log.text, "endpoint override"), 0);
  /* The same verified claims, shared. */
  cr_assert_eq(a, b);
  cr_assert_eq(ts_count(c.s, "/jwks"), 1);
  gauth_claims_free(a);
  gauth_claims_free(b);
  gauth_free(tok);
  cache_stop(&c);
}

/* A cached token stops verifying as soon as the key set that verified it is
 * replaced: its key removed and the keys refreshed, or replaced by the
 * unknown-kid refetch a token with a new kid triggers. */
Test(verifier, token_cache_dropped_with_its_key_set) {
  cache_fixture c;
  gauth_key *next_keys[1] = {fx->other};
  const char *next_kids[1] = {"rsa2"};
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  char *tok2 = sign(fx->other, "rsa2", claims(ISS, AUD, TIMES));
  char *next = tj_jwks_of(next_keys, next_kids, 1);
  gauth_error err = GAUTH_ERROR_INIT;

  /* 1. An explicit refresh to a set without rsa1. */
  cache_start(&c, "Cache-Control: max-age=86400");
  gauth_claims_free(expect_ok(c.v, tok));
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  route_jwks(c.s, "/jwks", next, "Cache-Control: max-age=86400");
  cr_assert_eq(gauth_verifier_refresh_keys(c.v, &err), GAUTH_OK, "%s",
               err.message);
  expect_reason(c.v, tok, "unknown_kid", NULL);
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  gauth_claims_free(expect_ok(c.v, tok2));
  cache_stop(&c);

  /* 2. The refetch of an unknown kid replaces the set. */
  cache_start(&c, "Cache-Control: max-age=86400");
  gauth_claims_free(expect_ok(c.v, tok));
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  route_jwks(c.s, "/jwks", next, "Cache-Control: max-age=86400");
  test_now += 61;                          /* past the refetch cooldown */
  gauth_claims_free(expect_ok(c.v, tok2)); /* rsa2: refetched */
  cr_assert_eq(ts_count(c.s, "/jwks"), 2);
  expect_reason(c.v, tok, "unknown_kid", NULL);
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  cache_stop(&c);

  /* 3. A set that keeps the key: one miss, then cached again. */
  cache_start(&c, "Cache-Control: max-age=86400");
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(gauth_verifier_refresh_keys(c.v, &err), GAUTH_OK, "%s",
               err.message);
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 0);
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  cache_stop(&c);

  free(next);
  gauth_free(tok);
  gauth_free(tok2);
}

Test(verifier, token_cache_rechecks_time) {
  cache_fixture c;
  /* exp T0 + 100; leeway 30. */
  char *tok = sign(fx->rsa, "rsa1",
                   claims(ISS, AUD, "\"iat\":1764201590,\"exp\":1764201700"));
  cache_start(&c, "Cache-Control: max-age=86400");
  gauth_claims_free(expect_ok(c.v, tok));
  test_now = T0 + 99;
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  /* Past exp, within the leeway: not from the cache (its entries end at
   * exp), verified again in full, and valid. */
  test_now = T0 + 120;
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  /* At exp + leeway: expired, cached or not (the full check and the cache
   * agree that a token is valid only before its end). */
  test_now = T0 + 129;
  gauth_claims_free(expect_ok(c.v, tok));
  test_now = T0 + 130;
  expect_reason(c.v, tok, "expired", "exp 1764201700");
  gauth_free(tok);
  cache_stop(&c);
}

Test(verifier, token_cache_not_served_before_nbf) {
  cache_fixture c;
  /* nbf T0 - 10, leeway 30: valid from T0 - 40. */
  char *tok = sign(fx->rsa, "rsa1",
                   claims(ISS, AUD, "\"nbf\":1764201590,\"exp\":1764205200"));
  cache_start(&c, "Cache-Control: max-age=86400");
  gauth_claims_free(expect_ok(c.v, tok));
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  /* The clock steps back before nbf - leeway: the cache must not answer
   * for a check it skipped. */
  test_now = T0 - 41;
  expect_reason(c.v, tok, "not_yet_valid", "nbf");
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  gauth_free(tok);
  cache_stop(&c);
}

Test(verifier, token_cache_bounded_by_key_freshness) {
  cache_fixture c;
  char *tok = sign(fx->rsa, "rsa1", claims(ISS, AUD, TIMES));
  cache_start(&c, "Cache-Control: max-age=120");
  gauth_claims_free(expect_ok(c.v, tok));
  test_now = T0 + 119;
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  cr_assert_eq(ts_count(c.s, "/jwks"), 1);
  /* The key set is stale: the cached verification is too. */
  test_now = T0 + 120;
  gauth_claims_free(expect_ok(c.v, tok));
  cr_assert_eq(count_lines(c.log.text, "token cache hit"), 1);
  cr_assert_eq(ts_count(c.s, "/jwks"), 2);
  gauth_free(tok);
  cache_stop(&c);
}

Test(verifier, token_cache_eviction) {
  gauth_verifier_options o = custom_options();
  gauth_verifier *v;
  char *toks[8];
  char extra[128];
  int i;
  o.token_cache_entries = 2;
  v = verifier(&o);
  for (i = 0; i < 8; i++) {
    snprintf(extra, sizeof(extra), TIMES ",\"n\":%d", i);
    toks[i] = sign(fx->rsa, "rsa1", claims(ISS, AUD, extra));
    gauth_claims_free(expect_ok(v, toks[i]));
  }
  /* Whatever was evicted, every token still verifies. */
  for (i = 0; i < 8; i++) {
    gauth_claims *c = expect_ok(v, toks[i]);
    int64_t n = -1;
    cr_assert_eq(gauth_claims_get_int64(c, "n", &n, NULL), GAUTH_OK);
    cr_assert_eq(n, i);
    gauth_claims_free(c);
    gauth_free(toks[i]);
  }
  gauth_verifier_free(v);
}
