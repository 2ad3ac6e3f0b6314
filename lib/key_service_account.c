/* Service-account key JSON (the file the Cloud console downloads): its
 * "private_key" (PEM) as a gauth_key, "private_key_id" as its kid. */
#include <string.h>

#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

gauth_status gauth__key_from_service_account_object(const cJSON *root,
                                                    gauth_key **out,
                                                    gauth_error *err) {
  const char *type = NULL, *pk = NULL, *kid = NULL;
  gauth_key *key = NULL;
  gauth_status st;

  st = gauth__json_opt_string(root, "type", &type, err);
  if (st != GAUTH_OK) return st;
  if (type != NULL && strcmp(type, "service_account") != 0)
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "type " GAUTH__IN_FMT " is not \"service_account\"",
                            type);
  st = gauth__json_get_string(root, "private_key", &pk, err);
  if (st == GAUTH_OK)
    st = gauth__json_opt_string(root, "private_key_id", &kid, err);
  if (st != GAUTH_OK) return st;
  st = gauth__key_from_pem_kid(&key, pk, strlen(pk), kid, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "field \"private_key\"");
    return st;
  }
  if (!key->is_private) {
    gauth_key_free(key);
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field \"private_key\" holds a public key or "
                            "certificate, not a private key");
  }
  *out = key;
  return GAUTH_OK;
}

gauth_status gauth_key_from_service_account(gauth_key **out, const char *json,
                                            size_t len, gauth_error *err) {
  cJSON *root = NULL;
  gauth_status st;

  if (out == NULL || json == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_key_from_service_account: out and json "
                            "must not be NULL");
  *out = NULL;
  st = gauth__json_parse_object(json, len, NULL, &root, err);
  if (st == GAUTH_OK)
    st = gauth__key_from_service_account_object(root, out, err);
  if (st != GAUTH_OK) gauth__error_prefix(err, "service-account key JSON");
  gauth__secret_json_delete(root);
  return st;
}
