/* Wycheproof JOSE vectors: json_web_signature_test.json (compact JWS
 * verification) and json_web_key_test.json (JWK / JWKS parsing and key
 * selection through a verification).
 *
 * Path: the group's key (its "public" member, else "private") through the
 * public gauth_keyset_parse, the token through the public gauth_jws_verify
 * (structure, algorithm, key selection and signature: the verifier's JWS
 * stage; the payload need not be JSON: these payloads are "foo" and the
 * like, so the claims stage cannot run on them) with every algorithm
 * libgauth supports allowed.
 *
 * Decisions (result "valid" but rejected, counted as "policy"):
 *   - HS256 / HS384 / HS512 (groups hs256, base64, rfc7520 Figure 35,
 *     json_web_key jws_keyset and the HS* long_key groups): libgauth never
 *     accepts HMAC tokens (RFC 8725 3.1: a verifier for public-key tokens
 *     must not be talked into HMAC), reason alg_not_allowed. The base64
 *     group's invalid cases are rejected as well, whatever their defect;
 *     its two "valid" InvalidCharacterInserted cases are rejected by the
 *     strict base64url decoder (see below).
 *   - PS384, PS512 (groups ps384, ps512, rfc7520 Figure 20) and ES512
 *     (rfc7520 Figure 27): outside libgauth's algorithms (RS256/384/512,
 *     PS256, ES256, ES384, EdDSA), reason alg_not_allowed.
 * Everything else must match `result`: rs256, rs384, rs512 (RS384/RS512 are
 * supported), ps256 (PSS with salt = hash length; the SaltLenChanged cases
 * are invalid), es256, SpecialCaseEs256, rfc7520 Figure 13 with and
 * without key_ops, and the encryption keys (use "enc", key_ops
 * ["encrypt"]) which must not verify. No case in these files is
 * "acceptable". */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base64.h"
#include "error_internal.h"
#include "jose_internal.h"
#include "vectors_util.h"

#define SUPPORTED                                                    \
  (GAUTH_ALG_BIT(GAUTH_ALG_RS256) | GAUTH_ALG_BIT(GAUTH_ALG_RS384) | \
   GAUTH_ALG_BIT(GAUTH_ALG_RS512) | GAUTH_ALG_BIT(GAUTH_ALG_PS256) | \
   GAUTH_ALG_BIT(GAUTH_ALG_ES256) | GAUTH_ALG_BIT(GAUTH_ALG_ES384) | \
   GAUTH_ALG_BIT(GAUTH_ALG_EDDSA))

/* Algorithms a valid vector may use and still be rejected. */
static const char *const POLICY_ALGS[] = {"HS256", "HS384", "HS512",
                                          "PS384", "PS512", "ES512"};

/* The token's header alg, or the key's when the header cannot be read;
 * "" if neither. Copied into buf. (The payload need not be JSON, so this
 * decodes the header segment itself rather than through
 * gauth_jwt_decode_unverified.) */
static const char *token_alg(const char *jws, const cJSON *keyjson, char *buf,
                             size_t size) {
  const char *dot = strchr(jws, '.');
  unsigned char *h = NULL;
  size_t hlen = 0;
  const cJSON *alg = NULL;
  buf[0] = '\0';
  if (dot != NULL && gauth__b64url_decode(jws, (size_t)(dot - jws), &h, &hlen,
                                          NULL) == GAUTH_OK) {
    cJSON *hdr = cJSON_ParseWithLength((const char *)h, hlen);
    alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    if (cJSON_IsString(alg)) snprintf(buf, size, "%s", alg->valuestring);
    cJSON_Delete(hdr);
    free(h);
  }
  if (buf[0] == '\0' && keyjson != NULL) {
    const cJSON *k = cJSON_GetObjectItem(keyjson, "keys");
    k = k != NULL ? cJSON_GetArrayItem(k, 0) : keyjson;
    alg = cJSON_GetObjectItemCaseSensitive(k, "alg");
    if (cJSON_IsString(alg)) snprintf(buf, size, "%s", alg->valuestring);
  }
  return buf;
}

static int is_policy_alg(const char *alg) {
  size_t i;
  for (i = 0; i < sizeof(POLICY_ALGS) / sizeof(POLICY_ALGS[0]); i++)
    if (strcmp(alg, POLICY_ALGS[i]) == 0) return 1;
  return 0;
}

/* 1 when the token verifies; the reason of a rejection in err. Through the
 * public gauth_jws_verify. When the group's key could not be loaded, the
 * token still goes through the same call with an empty key set, so that a
 * token that is itself malformed is reported as such; any other rejection
 * is then the key's (kerr). */
static int verify(const cJSON *jws, const gauth_keyset *set,
                  const gauth_error *kerr, gauth_error *err) {
  gauth_keyset *empty = NULL;
  int ok;
  if (!cJSON_IsString(jws)) {
    /* JSON serialisation: libgauth reads compact tokens only. */
    gauth_error_clear(err);
    snprintf(err->reason, sizeof(err->reason), "%s", "malformed");
    return 0;
  }
  if (set != NULL)
    return gauth_jws_verify(jws->valuestring, 0, set, SUPPORTED, NULL, NULL,
                            err) == GAUTH_OK;
  cr_assert_eq(gauth_keyset_from_keys(&empty, NULL, 0, err), GAUTH_OK);
  ok = gauth_jws_verify(jws->valuestring, 0, empty, SUPPORTED, NULL, NULL,
                        err) == GAUTH_OK;
  cr_assert_not(ok, "a token verified with no key");
  if (strcmp(err->reason, "unknown_kid") == 0 ||
      strcmp(err->reason, "key_not_usable") == 0)
    gauth__error_copy(err, kerr);
  gauth_keyset_free(empty);
  return 0;
}

static void run(const char *file, const char *name, int want_cases) {
  cJSON *root = vec_json(file);
  const cJSON *group, *tc;
  vec_tally t = {name, 0, 0, 0, 0, 0, 0, {0}};
  int policy_by_alg[sizeof(POLICY_ALGS) / sizeof(POLICY_ALGS[0])] = {0};
  size_t i;

  cJSON_ArrayForEach(group, cJSON_GetObjectItem(root, "testGroups")) {
    const cJSON *keyjson = cJSON_GetObjectItem(group, "public");
    gauth_keyset *set = NULL;
    gauth_error kerr = GAUTH_ERROR_INIT;
    char *text;
    if (keyjson == NULL || cJSON_IsNull(keyjson))
      keyjson = cJSON_GetObjectItem(group, "private");
    text = vec_print(keyjson);
    if (gauth_keyset_parse(&set, text, strlen(text), &kerr) != GAUTH_OK)
      set = NULL;
    free(text);
    cJSON_ArrayForEach(tc, cJSON_GetObjectItem(group, "tests")) {
      const char *result = vec_str(tc, "result");
      const cJSON *jws = cJSON_GetObjectItem(tc, "jws");
      int id = cJSON_GetObjectItem(tc, "tcId")->valueint;
      gauth_error err = GAUTH_ERROR_INIT;
      int ok = verify(jws, set, &kerr, &err);
      char alg[32];
      t.cases++;
      if (strcmp(result, "valid") == 0) {
        if (ok) {
          t.valid_ok++;
          continue;
        }
        token_alg(cJSON_IsString(jws) ? jws->valuestring : "", keyjson, alg,
                  sizeof(alg));
        if (strncmp(vec_str(tc, "comment"), "InvalidCharacterInserted", 24) ==
                0 &&
            (strcmp(err.reason, "malformed") == 0 ||
             strcmp(err.reason, "alg_not_allowed") == 0)) {
          /* base64 group, tcIds 372 / 373: a '?' inserted into a segment,
           * "valid" for decoders that skip foreign characters. libgauth's
           * base64url is strict (one encoding per value), so the token is
           * malformed (372: header) or, when the header decodes first and
           * names HS256, alg_not_allowed (373). */
          t.policy++;
          vec_note(&t,
                   "tcIds 372/373 InvalidCharacterInserted: rejected "
                   "(strict base64url, HS256)");
        } else if (is_policy_alg(alg) &&
                   strcmp(err.reason, "alg_not_allowed") == 0) {
          t.policy++;
          for (i = 0; i < sizeof(POLICY_ALGS) / sizeof(POLICY_ALGS[0]); i++)
            if (strcmp(alg, POLICY_ALGS[i]) == 0) policy_by_alg[i]++;
        } else {
          t.unexpected++;
          cr_log_error("%s tcId %d (%s) valid but rejected: %s: %s", file, id,
                       vec_str(group, "comment"), err.reason, err.message);
        }
      } else if (strcmp(result, "invalid") == 0) {
        if (!ok) {
          t.invalid_ok++;
        } else {
          t.unexpected++;
          cr_log_error("%s tcId %d (%s) invalid but accepted", file, id,
                       vec_str(group, "comment"));
        }
      } else {
        t.acceptable++;
        t.unexpected++;
        cr_log_error("%s tcId %d: new acceptable case, decide it", file, id);
      }
    }
    gauth_keyset_free(set);
  }
  cJSON_Delete(root);
  for (i = 0; i < sizeof(POLICY_ALGS) / sizeof(POLICY_ALGS[0]); i++) {
    char note[96];
    if (policy_by_alg[i] == 0) continue;
    snprintf(note, sizeof(note), "%d valid %s alg_not_allowed",
             policy_by_alg[i], POLICY_ALGS[i]);
    vec_note(&t, note);
  }
  cr_assert_eq(t.cases, want_cases);
  vec_report(&t);
}

Test(wycheproof, json_web_signature) {
  run("wycheproof/json_web_signature_test.json",
      "wycheproof json_web_signature", 401);
}

Test(wycheproof, json_web_key) {
  run("wycheproof/json_web_key_test.json", "wycheproof json_web_key", 26);
}
