/* libFuzzer target for an executable source's response
 * (gauth__exec_response_parse in lib/cred_external_exec.c), with and
 * without an expected token type and a required expiration time.
 *
 * Beyond "no crash, no leak" it checks:
 *   - an accepted response gives a non-empty token equal to its id_token
 *     or saml_response member, and an expiry that is 0 (none, only when
 *     not required) or not before now;
 *   - a refusal gives GAUTH_E_BAD_RESPONSE, GAUTH_E_UNAUTHENTICATED (a
 *     failure response, an expired token) or NOMEM, no token, and a
 *     message that shows no 13 bytes of id_token or saml_response (16
 *     bytes or more; a failure response's code and message are quoted by
 *     design, and so is an unknown token_type: a token whose text one of
 *     these members also holds is shown because that member is, as
 *     fuzz_credentials treats a value two members share). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cred_external.h"
#include "fuzz_check.h"
#include "secret.h"

static const char *const types[] = {NULL,
                                    "urn:ietf:params:oauth:token-type:jwt",
                                    "urn:ietf:params:oauth:token-type:id_token",
                                    "urn:ietf:params:oauth:token-type:saml2"};

static int mode; /* for again: types[mode], need_expiry mode & 1 */

static void again(const uint8_t *data, size_t size, gauth_error *err) {
  char *tok = NULL;
  int64_t exp;
  if (gauth__exec_response_parse((const char *)data, size, 1000, types[mode],
                                 mode & 1, &tok, &exp, err) == GAUTH_OK)
    gauth__secret_strfree(tok);
}

static void check(const uint8_t *data, size_t size, const char *type,
                  int need_expiry) {
  static const char *const secrets[] = {"id_token", "saml_response", NULL};
  static const char *const quoted[] = {"token_type", "code", "message", NULL};
  char *tok = (char *)"junk";
  int64_t exp = -1;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__exec_response_parse(
      (const char *)data, size, 1000, type, need_expiry, &tok, &exp, &err);
  if (st == GAUTH_OK) {
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "id_token");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "saml_response");
    CHECK(tok != NULL && tok[0] != '\0');
    CHECK((cJSON_IsString(a) && strcmp(a->valuestring, tok) == 0) ||
          (cJSON_IsString(b) && strcmp(b->valuestring, tok) == 0));
    CHECK(exp >= 1000 || (exp == 0 && !need_expiry));
    cJSON_Delete(j);
    gauth__secret_strfree(tok);
    return;
  }
  CHECK(tok == NULL && exp == 0);
  CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_UNAUTHENTICATED ||
        st == GAUTH_E_NOMEM);
  CHECK(err.code == st && err.message[0] != '\0');
  CHECK(!fuzz_input_shows(data, size, secrets, quoted, err.message, again));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (mode = 0; mode < 4; mode++) check(data, size, types[mode], mode & 1);
  return 0;
}
