/* libFuzzer target for what external accounts read from outside: STS's
 * token-exchange reply (gauth__sts_reply_parse) and the subject token in a
 * file's contents or a credential_source.url reply, as text or as a JSON
 * field (gauth__subject_token_extract).
 *
 * Beyond "no crash, no leak" it checks:
 *   - an accepted STS reply holds a non-empty token of printable ASCII
 *     without spaces (it goes into an Authorization header) and an
 *     expiry after now or none; a refused one GAUTH_E_BAD_RESPONSE (or
 *     NOMEM), no token and a message that shows no 13 bytes of a string
 *     member of 16 bytes or more;
 *   - an accepted subject token is non-empty and, in text format, a part
 *     of the input without surrounding whitespace; a refusal
 *     gives the status asked for and a message that shows no 13 bytes of
 *     the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cred_external.h"
#include "fuzz_check.h"
#include "secret.h"

static int printable_token(const char *s) {
  if (s == NULL || *s == '\0') return 0;
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
  return 1;
}

static void again_sts(const uint8_t *data, size_t size, gauth_error *err) {
  gauth__token t = {NULL, 0};
  if (gauth__sts_reply_parse((const char *)data, size, 1000, &t, err) ==
      GAUTH_OK)
    gauth__token_cleanup(&t);
}

static void again_subject(const uint8_t *data, size_t size, gauth_error *err,
                          int json) {
  char *tok = NULL;
  if (gauth__subject_token_extract(
          (const char *)data, size, json, json ? "token" : NULL,
          "credential_source.url", GAUTH_E_BAD_RESPONSE, &tok, err) == GAUTH_OK)
    gauth__secret_strfree(tok);
}

static void again_text(const uint8_t *data, size_t size, gauth_error *err) {
  again_subject(data, size, err, 0);
}

static void again_json(const uint8_t *data, size_t size, gauth_error *err) {
  again_subject(data, size, err, 1);
}

static void check_sts(const uint8_t *data, size_t size) {
  gauth__token t = {(char *)"junk", 7};
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st =
      gauth__sts_reply_parse((const char *)data, size, 1000, &t, &err);
  if (st == GAUTH_OK) {
    CHECK(printable_token(t.value));
    CHECK(t.expires_at == 0 || t.expires_at > 1000);
    gauth__token_cleanup(&t);
    return;
  }
  CHECK(t.value == NULL);
  CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_NOMEM);
  CHECK(err.code == st && err.message[0] != '\0');
  CHECK(!fuzz_input_shows(data, size, NULL, NULL, err.message, again_sts));
}

static void check_subject(const uint8_t *data, size_t size, int json) {
  static const char *const field[] = {"token", NULL};
  char *tok = (char *)"junk";
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__subject_token_extract(
      (const char *)data, size, json, json ? "token" : NULL,
      "credential_source.url", GAUTH_E_BAD_RESPONSE, &tok, &err);
  if (st == GAUTH_OK) {
    size_t n;
    CHECK(tok != NULL && tok[0] != '\0');
    n = strlen(tok);
    if (!json) {
      CHECK(strchr(" \t\r\n", tok[0]) == NULL);
      CHECK(strchr(" \t\r\n", tok[n - 1]) == NULL);
      CHECK(n <= size && memmem(data, size, tok, n) != NULL);
    }
    gauth__secret_strfree(tok);
    return;
  }
  CHECK(tok == NULL);
  CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_NOMEM ||
        st == GAUTH_E_TOO_LARGE);
  CHECK(err.code == st && err.message[0] != '\0');
  if (!json)
    CHECK(!fuzz_shows(data, size, err.message, data, size, again_text));
  else
    CHECK(!fuzz_input_shows(data, size, field, NULL, err.message, again_json));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_sts(data, size);
  check_subject(data, size, 0);
  check_subject(data, size, 1);
  return 0;
}
