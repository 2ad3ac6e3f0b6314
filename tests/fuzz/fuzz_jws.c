/* libFuzzer target for compact JWS parsing and verification (lib/jws.c,
 * lib/claims.c, lib/verifier.c) against a fixed key set: the three RSA and
 * three P-256 keys of tests/bench/bench_keys.h, with their kids, so that
 * the committed seeds (valid tokens among them) verify, and a fixed clock.
 *
 * Beyond "no crash, no leak" it checks properties, aborting when one fails:
 *   - parse success implies exactly three segments of base64url characters
 *     (no '=', no whitespace, no NUL) and a known alg; failure gives
 *     GAUTH_E_VERIFY with a reason and an all-empty gauth__jws;
 *   - a message never contains the input when it is long enough to be a
 *     token (16 bytes or more, no NUL);
 *   - a signature that verifies was checked with a key of the token's kid
 *     (when it has one) that fits its alg;
 *   - the public verifier agrees with the pieces: it accepts exactly when
 *     parse, the header's "typ" (docs/verifying.md: absent, "JWT" or
 *     "application/jwt" in any case), signature and claim checks all pass,
 *     and when it rejects, its reason is the first failing piece's;
 *   - accepted claims carry the token's alg and kid;
 *   - gauth_jwt_decode_unverified decodes whatever the strict parser
 *     accepted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jose_internal.h"

#include "../bench/bench_keys.h"
#include "fuzz_check.h"

/* The seeds are signed for this clock (tests/fuzz/corpus/make-seeds.sh). */
#define FUZZ_NOW INT64_C(1700000600)
#define FUZZ_LEEWAY 30

static const char *const issuers[] = {"https://accounts.google.com",
                                      "https://issuer.fuzz.test", NULL};
static const char *const audiences[] = {"https://service.fuzz.test", NULL};
static const unsigned int allowed =
    GAUTH_ALG_BIT(GAUTH_ALG_RS256) | GAUTH_ALG_BIT(GAUTH_ALG_ES256);

static gauth_keyset *keys;
static gauth_verifier *verifier;

static int64_t fixed_clock(void *userdata) {
  (void)userdata;
  return FUZZ_NOW;
}

static void die(const char *what, const gauth_error *err) {
  fprintf(stderr, "fuzz_jws: set-up: %s: %s\n", what, err->message);
  abort();
}

/* The public JWK of a PEM key with a kid put first. */
static size_t add_jwk(char *buf, size_t cap, size_t used, const char *pem,
                      const char *kid) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key;
  char *jwk;
  if (gauth_key_from_pem(&key, pem, strlen(pem), &err) != GAUTH_OK)
    die("key", &err);
  if (gauth_key_public_jwk(key, &jwk, &err) != GAUTH_OK) die("jwk", &err);
  used += (size_t)snprintf(buf + used, cap - used, "%s{\"kid\":\"%s\",%s",
                           used > 9 ? "," : "", kid, jwk + 1);
  gauth_free(jwk);
  gauth_key_free(key);
  CHECK(used < cap);
  return used;
}

static void setup(void) {
  static char jwks[16384];
  const char *const pems[6] = {bench_rsa1_pem, bench_rsa2_pem, bench_rsa3_pem,
                               bench_ec1_pem,  bench_ec2_pem,  bench_ec3_pem};
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t used = (size_t)snprintf(jwks, sizeof jwks, "{\"keys\":[");
  for (int i = 0; i < 6; i++)
    used = add_jwk(jwks, sizeof jwks, used, pems[i],
                   i < 3 ? bench_rsa_kids[i] : bench_ec_kids[i - 3]);
  used += (size_t)snprintf(jwks + used, sizeof jwks - used, "]}");
  CHECK(used < sizeof jwks);
  if (gauth_keyset_parse(&keys, jwks, used, &err) != GAUTH_OK)
    die("keyset", &err);
  vo.issuers = issuers;
  vo.audiences = audiences;
  vo.keys = keys;
  vo.algorithms = allowed;
  vo.leeway_seconds = FUZZ_LEEWAY;
  vo.max_lifetime_seconds = -1;
  vo.clock = fixed_clock;
  if (gauth_verifier_new(&verifier, &vo, &err) != GAUTH_OK)
    die("verifier", &err);
}

static int b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The reason the header's "typ" gives for refusing the token (RFC 8725
 * 3.11 as docs/verifying.md states it), or NULL when it passes. Written
 * here from the documented rule, not taken from lib/verifier.c. */
static const char *typ_reason(const cJSON *header) {
  const cJSON *typ = cJSON_GetObjectItemCaseSensitive(header, "typ");
  if (typ == NULL) return NULL;
  if (!cJSON_IsString(typ) || typ->valuestring == NULL)
    return GAUTH_REASON_MALFORMED;
  if (strcasecmp(typ->valuestring, "JWT") == 0 ||
      strcasecmp(typ->valuestring, "application/jwt") == 0)
    return NULL;
  return GAUTH_REASON_WRONG_TYPE;
}

static void check_message(const gauth_error *err, const char *token,
                          size_t size) {
  /* strstr stops at a NUL: only whole, NUL-free inputs are looked for.
   * An input that is a piece of the messages' own text ("token has 2
   * segments, expected 3 (header.payload.signature)") proves nothing. */
  if (size >= 16 && strlen(token) == size &&
      strstr("(header.payload.signature)", token) == NULL)
    CHECK(strstr(err->message, token) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gauth__jws jws, empty;
  gauth_error perr = GAUTH_ERROR_INIT, verr = GAUTH_ERROR_INIT,
              cerr = GAUTH_ERROR_INIT, aerr = GAUTH_ERROR_INIT;
  gauth_status pst, vst = GAUTH_E_INTERNAL, cst = GAUTH_E_INTERNAL, ast;
  const gauth_key *used = NULL;
  gauth_claims *claims = NULL;
  const char *want_reason, *treason = NULL;
  char *token;

  if (verifier == NULL) setup();
  token = malloc(size + 1);
  if (token == NULL) return 0;
  memcpy(token, data, size);
  token[size] = '\0';

  pst = gauth__jws_parse(token, size, 0, 1, &jws, &perr);
  if (pst != GAUTH_OK) {
    memset(&empty, 0, sizeof empty);
    CHECK(pst == GAUTH_E_VERIFY || pst == GAUTH_E_NOMEM);
    CHECK(perr.code == pst);
    CHECK(pst != GAUTH_E_VERIFY || perr.reason[0] != '\0');
    CHECK(memcmp(&jws, &empty, sizeof jws) == 0);
    check_message(&perr, token, size);
  } else {
    size_t dots = 0;
    for (size_t i = 0; i < size; i++) {
      CHECK(token[i] == '.' || b64url_char(token[i]));
      dots += token[i] == '.';
    }
    CHECK(dots == 2);
    CHECK(jws.alg != GAUTH_ALG_UNKNOWN);
    CHECK(jws.header != NULL && jws.payload != NULL);
    CHECK(jws.token == token && token[jws.signing_input_len] == '.');
    {
      char *h = NULL, *p = NULL;
      gauth_error derr = GAUTH_ERROR_INIT;
      CHECK(gauth_jwt_decode_unverified(token, &h, &p, &derr) == GAUTH_OK);
      CHECK(strcmp(h, jws.header_json) == 0);
      gauth_free(h);
      gauth_free(p);
    }
    treason = typ_reason(jws.header);
    vst = gauth__jws_verify(&jws, keys, allowed, &used, &verr);
    if (vst == GAUTH_OK) {
      CHECK(used != NULL);
      CHECK((gauth__key_algs(used) & GAUTH_ALG_BIT(jws.alg)) != 0);
      if (jws.kid != NULL) {
        CHECK(gauth_key_kid(used) != NULL);
        CHECK(strcmp(gauth_key_kid(used), jws.kid) == 0);
      }
      gauth__claim_rules rules;
      memset(&rules, 0, sizeof rules);
      rules.issuers = issuers;
      rules.audiences = audiences;
      rules.now = FUZZ_NOW;
      rules.leeway = FUZZ_LEEWAY;
      cst = gauth__claims_check(jws.payload, &rules, &cerr);
      if (cst != GAUTH_OK) {
        CHECK(cst == GAUTH_E_VERIFY && cerr.reason[0] != '\0');
        check_message(&cerr, token, size);
      }
    } else {
      CHECK(vst == GAUTH_E_VERIFY && verr.reason[0] != '\0');
      check_message(&verr, token, size);
    }
  }

  /* The public path, end to end, must agree with the pieces. */
  ast = gauth_verifier_verify(verifier, token, size, &claims, &aerr);
  if (pst == GAUTH_OK && treason == NULL && vst == GAUTH_OK &&
      cst == GAUTH_OK) {
    CHECK(ast == GAUTH_OK);
    CHECK(claims != NULL);
    CHECK(gauth_claims_alg(claims) == jws.alg);
    if (jws.kid != NULL) CHECK(strcmp(gauth_claims_kid(claims), jws.kid) == 0);
    CHECK(gauth_claims_json(claims) != NULL &&
          gauth_claims_json(claims)[0] == '{');
  } else if (pst != GAUTH_E_NOMEM) {
    CHECK(ast == GAUTH_E_VERIFY);
    CHECK(claims == NULL);
    check_message(&aerr, token, size);
    want_reason = pst != GAUTH_OK   ? perr.reason
                  : treason != NULL ? treason
                  : vst != GAUTH_OK ? verr.reason
                                    : cerr.reason;
    /* An empty input is "malformed" to the parser; the verifier may say
     * so too. Otherwise the first failing piece names the reason. */
    CHECK(strcmp(aerr.reason, want_reason) == 0);
  }
  gauth_claims_free(claims);
  if (pst == GAUTH_OK) gauth__jws_cleanup(&jws);
  free(token);
  return 0;
}
