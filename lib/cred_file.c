/* Credentials files: read (at most 64 KiB; the buffer is wiped, it holds
 * private keys and refresh tokens), parse, and hand to the source that
 * the "type" member names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "credentials_internal.h"
#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

/* Paths in messages are cut to this many bytes. */
#define PATH_FMT "\"%.200s\""

typedef gauth_status (*source_new_fn)(gauth_credentials **out,
                                      const cJSON *json, const char *origin,
                                      const gauth_credentials_options *copts,
                                      gauth_error *err);

static const struct {
  const char *type;
  source_new_fn fn;
} sources[] = {
    {"service_account", gauth__sa_credentials_new},
    {"authorized_user", gauth__user_credentials_new},
    {"impersonated_service_account", gauth__impersonated_file_credentials_new},
    {"external_account", gauth__external_credentials_new},
};

static gauth_status dispatch(gauth_credentials **out, const cJSON *json,
                             const char *origin,
                             const gauth_credentials_options *copts,
                             gauth_error *err) {
  const char *type = NULL;
  size_t i;
  gauth_status st = gauth__json_get_string(json, "type", &type, err);
  if (st != GAUTH_OK) return st;
  for (i = 0; i < GAUTH__ARRAY_LEN(sources); i++)
    if (strcmp(type, sources[i].type) == 0)
      return sources[i].fn(out, json, origin, copts, err);
  return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                          "credentials type \"%.64s\" is not supported "
                          "(service_account, authorized_user, "
                          "impersonated_service_account, external_account)",
                          type);
}

gauth_status gauth__credentials_from_json_text(
    gauth_credentials **out, const char *json, size_t len, const char *origin,
    const gauth_credentials_options *copts, gauth_error *err) {
  gauth__json_limits limits = {GAUTH__CREDENTIALS_FILE_MAX_BYTES, 0};
  cJSON *root = NULL;
  gauth_status st;

  if (out == NULL || json == NULL || origin == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "credentials: NULL argument");
  *out = NULL;
  if (len > GAUTH__CREDENTIALS_FILE_MAX_BYTES)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "credentials JSON is %zu bytes, over the limit "
                            "of %zu",
                            len, GAUTH__CREDENTIALS_FILE_MAX_BYTES);
  st = gauth__json_parse_object(json, len, &limits, &root, err);
  if (st == GAUTH_OK) st = dispatch(out, root, origin, copts, err);
  /* The tree holds the private key or refresh token as parsed strings. */
  gauth__secret_json_delete(root);
  return st;
}

gauth_status gauth_credentials_from_json(gauth_credentials **out,
                                         const char *json, size_t len,
                                         const gauth_credentials_options *copts,
                                         gauth_error *err) {
  gauth_error_clear(err);
  if (out != NULL) *out = NULL;
  if (out == NULL || json == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_from_json: out and json must "
                            "not be NULL");
  return gauth__credentials_from_json_text(out, json, len, "JSON", copts, err);
}

gauth_status gauth_credentials_from_file(gauth_credentials **out,
                                         const char *path,
                                         const gauth_credentials_options *copts,
                                         gauth_error *err) {
  char *text = NULL, *origin = NULL;
  size_t len = 0, olen;
  gauth_status st;

  gauth_error_clear(err);
  if (out != NULL) *out = NULL;
  if (out == NULL || path == NULL || path[0] == '\0')
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_from_file: out and path must "
                            "not be NULL or empty");
  /* The read's own errors (GAUTH_E_IO, GAUTH_E_TOO_LARGE) name the path. */
  st = gauth__secret_read_file(path, GAUTH__CREDENTIALS_FILE_MAX_BYTES, &text,
                               &len, err);
  if (st != GAUTH_OK) return st;
  olen = strlen(path) + sizeof("file ");
  origin = malloc(olen);
  if (origin == NULL) {
    st = gauth__error_nomem(err);
  } else {
    snprintf(origin, olen, "file %s", path);
    st = gauth__credentials_from_json_text(out, text, len, origin, copts, err);
    if (st != GAUTH_OK && st != GAUTH_E_NOMEM)
      gauth__error_prefix(err, "credentials file " PATH_FMT, path);
  }
  free(origin);
  gauth__secret_free(text, len + 1);
  return st;
}
