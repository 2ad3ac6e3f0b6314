/* libFuzzer target for token replies: the OAuth token endpoint's and the
 * metadata server's JSON reply (gauth__token_response_parse, access and
 * ID), the metadata server's identity reply (a bare JWT:
 * gauth__metadata_id_token_parse) and the unverified exp reader
 * (gauth__jwt_expiry).
 *
 * Beyond "no crash, no leak" it checks:
 *   - an accepted reply holds a non-empty token of printable ASCII without
 *     spaces (it goes into an HTTP header), and an access reply with
 *     expires_in gives a time after now;
 *   - a refused reply gives GAUTH_E_BAD_RESPONSE (or NOMEM / TOO_LARGE),
 *     no token and a message;
 *   - no message shows 13 bytes of a string member of the input of 16
 *     bytes or more (token replies carry nothing else worth showing) but
 *     token_type, which a refusal names; nor of the identity reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credentials_internal.h"
#include "fuzz_check.h"
#include "metadata_internal.h"

static int printable_token(const char *s) {
  if (s == NULL || *s == '\0') return 0;
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
  return 1;
}

static void again_access(const uint8_t *data, size_t size, gauth_error *err) {
  gauth__token t = {NULL, 0};
  char *idt = NULL;
  if (gauth__token_response_parse((const char *)data, size, GAUTH__TOKEN_ACCESS,
                                  1000, &t, &idt, err) == GAUTH_OK) {
    gauth__token_cleanup(&t);
    free(idt);
  }
}

static void again_id(const uint8_t *data, size_t size, gauth_error *err) {
  gauth__token t = {NULL, 0};
  if (gauth__token_response_parse((const char *)data, size, GAUTH__TOKEN_ID,
                                  1000, &t, NULL, err) == GAUTH_OK)
    gauth__token_cleanup(&t);
}

static void again_identity(const uint8_t *data, size_t size, gauth_error *err) {
  char *body = fuzz_strndup(data, size);
  gauth__token t = {NULL, 0};
  if (gauth__metadata_id_token_parse(body, size, &t, err) == GAUTH_OK)
    gauth__token_cleanup(&t);
  free(body);
}

static void again_expiry(const uint8_t *data, size_t size, gauth_error *err) {
  char *jwt = fuzz_strndup(data, size);
  int64_t exp;
  (void)gauth__jwt_expiry(jwt, &exp, err);
  free(jwt);
}

static void check_reply(const uint8_t *data, size_t size,
                        gauth__token_kind kind) {
  /* A wrong token_type is named in the message: it is no secret. */
  static const char *const echoed[] = {"token_type", NULL};
  gauth__token t = {(char *)"junk", 7};
  char *idt = (char *)"junk";
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__token_response_parse(
      (const char *)data, size, kind, 1000, &t,
      kind == GAUTH__TOKEN_ACCESS ? &idt : NULL, &err);
  if (st == GAUTH_OK) {
    CHECK(printable_token(t.value));
    CHECK(t.expires_at == 0 ||
          t.expires_at > (kind == GAUTH__TOKEN_ID ? 0 : 1000));
    if (kind == GAUTH__TOKEN_ACCESS) {
      CHECK(idt == NULL || printable_token(idt));
      free(idt);
    }
    gauth__token_cleanup(&t);
    return;
  }
  CHECK(t.value == NULL);
  CHECK(err.code == st && err.message[0] != '\0');
  CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_NOMEM ||
        st == GAUTH_E_TOO_LARGE);
  CHECK(
      !fuzz_input_shows(data, size, NULL, echoed, err.message,
                        kind == GAUTH__TOKEN_ACCESS ? again_access : again_id));
}

static void check_identity(const uint8_t *data, size_t size) {
  char *body = fuzz_strndup(data, size);
  gauth__token t = {NULL, 0};
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__metadata_id_token_parse(body, size, &t, &err);
  int64_t exp = 0;
  if (st == GAUTH_OK) {
    CHECK(printable_token(t.value));
    CHECK(strncmp(t.value, (const char *)data, strlen(t.value)) == 0);
    CHECK(gauth__jwt_expiry(t.value, &exp, NULL) == GAUTH_OK);
    CHECK(exp == t.expires_at);
    gauth__token_cleanup(&t);
  } else {
    CHECK(t.value == NULL);
    CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_NOMEM);
    CHECK(err.code == st && err.message[0] != '\0');
    CHECK(!fuzz_shows(data, size, err.message, data, size, again_identity));
  }
  free(body);
}

static void check_expiry(const uint8_t *data, size_t size) {
  char *jwt = fuzz_strndup(data, size);
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t exp = -1;
  if (gauth__jwt_expiry(jwt, &exp, &err) != GAUTH_OK) {
    CHECK(err.message[0] != '\0');
    CHECK(!fuzz_shows(data, size, err.message, data, size, again_expiry));
  }
  free(jwt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_reply(data, size, GAUTH__TOKEN_ACCESS);
  check_reply(data, size, GAUTH__TOKEN_ID);
  check_identity(data, size);
  check_expiry(data, size);
  return 0;
}
