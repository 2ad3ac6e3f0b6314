/* libFuzzer target for what the AWS source reads from AWS's instance
 * metadata service (lib/cred_external_aws.c): the availability zone
 * (region), the role name, the IMDSv2 session token and the security
 * credentials JSON; and the secrets list read back from a subject token
 * (gauth__external_aws_token_secrets).
 *
 * Beyond "no crash, no leak" it checks:
 *   - an accepted region is the reply, trimmed, less its last character,
 *     of lower-case letters, digits and '-'; an accepted role has no
 *     blank, control, '/', '?', '#', '%' or '\\' and is a part of the
 *     reply; a session token is one non-empty line;
 *   - accepted credentials have a non-empty key id and secret;
 *   - every refusal is GAUTH_E_BAD_RESPONSE (or NOMEM) with NULL outputs
 *     and a message that shows no 13 bytes of the reply (text replies) or
 *     of any of its string values of 16 bytes or more (JSON). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cred_external.h"
#include "fuzz_check.h"
#include "secret.h"

typedef gauth_status (*text_fn)(const char *body, size_t len, char **out,
                                gauth_error *err);
static text_fn current; /* for again */

static void again(const uint8_t *data, size_t size, gauth_error *err) {
  char *out = NULL;
  if (current((const char *)data, size, &out, err) == GAUTH_OK)
    gauth__secret_strfree(out);
}

static void again_credentials(const uint8_t *data, size_t size,
                              gauth_error *err) {
  char *id = NULL, *secret = NULL, *session = NULL;
  if (gauth__aws_security_credentials_parse(
          (const char *)data, size, &id, &secret, &session, err) == GAUTH_OK) {
    free(id);
    gauth__secret_strfree(secret);
    gauth__secret_strfree(session);
  }
}

static void refused(gauth_status st, const gauth_error *err,
                    const uint8_t *data, size_t size) {
  CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_NOMEM);
  CHECK(err->code == st && err->message[0] != '\0');
  CHECK(!fuzz_shows(data, size, err->message, data, size, again));
}

static void check_text(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  char *out = (char *)"junk";
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st;
  current = gauth__aws_region_from_zone;
  st = gauth__aws_region_from_zone(body, size, &out, &err);
  if (st == GAUTH_OK) {
    size_t n = strlen(out);
    const char *at = memmem(data, size, out, n);
    CHECK(n > 0 && n <= 64);
    CHECK(strspn(out, "abcdefghijklmnopqrstuvwxyz0123456789-") == n);
    /* The zone is the region and one more character, then blanks only. */
    CHECK(at != NULL && (size_t)(at - body) + n < size);
    for (const char *p = at + n + 1; p < body + size; p++)
      CHECK(strchr(" \t\r\n", *p) != NULL);
    free(out);
  } else {
    CHECK(out == NULL);
    refused(st, &err, data, size);
  }

  out = (char *)"junk";
  err = (gauth_error)GAUTH_ERROR_INIT;
  current = gauth__aws_role_parse;
  st = gauth__aws_role_parse(body, size, &out, &err);
  if (st == GAUTH_OK) {
    size_t n = strlen(out);
    CHECK(n > 0 && n <= 256 && memmem(data, size, out, n) != NULL);
    for (const char *p = out; *p; p++)
      CHECK((unsigned char)*p > ' ' && *p != 0x7f &&
            strchr("/?#%\\", *p) == NULL);
    free(out);
  } else {
    CHECK(out == NULL);
    refused(st, &err, data, size);
  }

  out = (char *)"junk";
  err = (gauth_error)GAUTH_ERROR_INIT;
  current = gauth__aws_imdsv2_token_parse;
  st = gauth__aws_imdsv2_token_parse(body, size, &out, &err);
  if (st == GAUTH_OK) {
    CHECK(out[0] != '\0' && strpbrk(out, "\r\n") == NULL);
    gauth__secret_strfree(out);
  } else {
    CHECK(out == NULL);
    refused(st, &err, data, size);
  }
}

static void check_credentials(const uint8_t *data, size_t size) {
  char *id = (char *)"junk", *secret = (char *)"junk", *session = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__aws_security_credentials_parse(
      (const char *)data, size, &id, &secret, &session, &err);
  if (st == GAUTH_OK) {
    CHECK(id != NULL && id[0] != '\0' && secret != NULL && secret[0] != '\0');
    CHECK(session == NULL || session[0] != '\0');
    free(id);
    gauth__secret_strfree(secret);
    gauth__secret_strfree(session);
    return;
  }
  CHECK(id == NULL && secret == NULL && session == NULL);
  CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_NOMEM);
  CHECK(err.code == st && err.message[0] != '\0');
  CHECK(!fuzz_input_shows(data, size, NULL, NULL, err.message,
                          again_credentials));
}

static void check_token_secrets(const uint8_t *data, size_t size) {
  char *tok = fuzz_strndup(data, size), **secrets = NULL;
  if (gauth__external_aws_token_secrets(tok, &secrets, NULL) == GAUTH_OK) {
    CHECK(secrets != NULL);
    for (char **s = secrets; *s != NULL; s++) CHECK(s - secrets < 8);
    gauth__secret_strv_free(secrets);
  }
  free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_text(data, size);
  check_credentials(data, size);
  check_token_secrets(data, size);
  return 0;
}
