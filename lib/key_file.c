/* Key files: gauth_key_load_file tells a PEM file, a JWK and a
 * service-account key apart and imports it (key_pem.c, key_jwk.c,
 * key_service_account.c). The file is read through
 * gauth__secret_read_file (wiped when freed). */
#include <string.h>

#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

static const char *skip_space(const char *s, const char *end) {
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) s++;
  return s;
}

gauth_status gauth_key_load_file(gauth_key **out, const char *path,
                                 gauth_error *err) {
  char *text = NULL;
  size_t len = 0;
  const char *start;
  cJSON *root = NULL;
  gauth_status st;

  if (out == NULL || path == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_key_load_file: out and path must not be "
                            "NULL");
  *out = NULL;
  st = gauth__secret_read_file(path, GAUTH__KEY_MAX_INPUT, &text, &len, err);
  if (st != GAUTH_OK) return st;
  start = skip_space(text, text + len);
  if (start == text + len) {
    st = gauth__error_set(err, GAUTH_E_MALFORMED, "the file is empty");
  } else if (*start != '{') {
    /* From the first non-blank byte: OpenSSL skips text lines before
     * the BEGIN line, but not blanks in front of it on its own line. */
    st = gauth__key_from_pem_kid(out, start, len - (size_t)(start - text), NULL,
                                 err);
  } else {
    st = gauth__json_parse_object(text, len, NULL, &root, err);
    if (st == GAUTH_OK) {
      if (cJSON_GetObjectItemCaseSensitive(root, "kty") != NULL) {
        st = gauth__key_from_jwk_object(out, root, err);
      } else if (cJSON_GetObjectItemCaseSensitive(root, "private_key") !=
                 NULL) {
        st = gauth__key_from_service_account_object(root, out, err);
        if (st != GAUTH_OK) gauth__error_prefix(err, "service-account key");
      } else {
        st = gauth__error_set(err, GAUTH_E_MALFORMED,
                              "JSON that is neither a JWK (no \"kty\") nor a "
                              "service-account key (no \"private_key\")");
      }
    }
  }
  if (st != GAUTH_OK) gauth__error_prefix(err, "key file \"%.200s\"", path);
  gauth__secret_json_delete(root);
  gauth__secret_free(text, len + 1);
  return st;
}
