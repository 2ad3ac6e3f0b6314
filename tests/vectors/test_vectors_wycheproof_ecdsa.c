/* Wycheproof ECDSA P-256 / SHA-256 vectors, the ES256 primitive:
 *   - ecdsa_secp256r1_sha256_p1363_test.json: raw r||s (64 bytes), the JOSE
 *     wire format, straight into the ES256 verification;
 *   - ecdsa_secp256r1_sha256_test.json: ASN.1 DER signatures, first through
 *     gauth__ecdsa_der_to_jose (which must refuse every non-canonical
 *     encoding: long-form lengths, extra zero bytes, trailing data,
 *     negative or oversized integers) and then the same verification.
 * Verification goes through the public gauth_key_verify (ES256).
 * Keys come in through the public gauth_key_from_pem. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "jose_internal.h"
#include "vectors_util.h"

typedef enum sig_form { FORM_P1363, FORM_DER } sig_form;

static void run(const char *file, const char *name, sig_form form,
                int want_cases) {
  cJSON *root = vec_json(file);
  const cJSON *group, *tc;
  vec_tally t = {name, 0, 0, 0, 0, 0, 0, {0}};
  int der_refused = 0;

  cJSON_ArrayForEach(group, cJSON_GetObjectItem(root, "testGroups")) {
    const char *pem = vec_str(group, "publicKeyPem");
    gauth_key *key = NULL;
    gauth_error kerr = GAUTH_ERROR_INIT;
    if (gauth_key_from_pem(&key, pem, strlen(pem), &kerr) != GAUTH_OK)
      key = NULL;
    cr_assert_str_eq(vec_str(group, "sha"), "SHA-256");
    cJSON_ArrayForEach(tc, cJSON_GetObjectItem(group, "tests")) {
      const char *result = vec_str(tc, "result");
      int id = cJSON_GetObjectItem(tc, "tcId")->valueint;
      size_t mlen, slen;
      unsigned char *msg = vec_unhex(vec_str(tc, "msg"), &mlen);
      unsigned char *sig = vec_unhex(vec_str(tc, "sig"), &slen);
      unsigned char *jose = NULL;
      gauth_error err = GAUTH_ERROR_INIT;
      int ok = 0;
      if (form == FORM_DER) {
        if (gauth__ecdsa_der_to_jose(sig, slen, 32, &jose, &err) == GAUTH_OK) {
          free(sig);
          sig = jose;
          slen = 64;
        } else {
          der_refused++;
          slen = (size_t)-1; /* refused: not verified */
        }
      }
      if (key != NULL && slen != (size_t)-1)
        ok = gauth_key_verify(key, GAUTH_ALG_ES256, msg, mlen, sig, slen,
                              &err) == GAUTH_OK;
      t.cases++;
      if (strcmp(result, "valid") == 0) {
        if (ok) {
          t.valid_ok++;
        } else {
          t.unexpected++;
          cr_log_error("tcId %d valid but rejected: %s", id,
                       key == NULL ? kerr.message : err.message);
        }
      } else if (strcmp(result, "invalid") == 0) {
        if (!ok) {
          t.invalid_ok++;
        } else {
          t.unexpected++;
          cr_log_error("tcId %d invalid but accepted", id);
        }
      } else {
        /* Neither file has acceptable cases at this snapshot; a new one
         * must be looked at and decided, not passed silently. */
        t.acceptable++;
        t.unexpected++;
        cr_log_error("tcId %d: new acceptable case, decide it", id);
      }
      free(msg);
      free(sig);
    }
    gauth_key_free(key);
  }
  cJSON_Delete(root);
  if (form == FORM_DER) {
    char note[96];
    snprintf(note, sizeof(note),
             "%d DER signatures refused by the "
             "canonical DER reader",
             der_refused);
    vec_note(&t, note);
  }
  cr_assert_eq(t.cases, want_cases);
  vec_report(&t);
}

Test(wycheproof, ecdsa_secp256r1_sha256_p1363) {
  run("wycheproof/ecdsa_secp256r1_sha256_p1363_test.json",
      "wycheproof ecdsa_secp256r1_sha256_p1363 (ES256 r||s)", FORM_P1363, 262);
}

Test(wycheproof, ecdsa_secp256r1_sha256_der) {
  run("wycheproof/ecdsa_secp256r1_sha256_test.json",
      "wycheproof ecdsa_secp256r1_sha256 (DER -> r||s -> ES256)", FORM_DER,
      484);
}
