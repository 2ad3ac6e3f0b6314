/* External accounts whose subject token is a signed AWS GetCallerIdentity
 * request (credential_source.environment_id "aws1"). Not implemented yet:
 * refused with GAUTH_E_UNSUPPORTED when the file is read. */
#include "cred_external.h"
#include "error_internal.h"

gauth_status gauth__external_aws_parse(const cJSON *src,
                                       gauth__external_aws **out,
                                       gauth_error *err) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(src, "environment_id");
  *out = NULL;
  return gauth__external_unsupported(
      "environment_id", cJSON_IsString(id) ? id->valuestring : NULL, err);
}

void gauth__external_aws_free(gauth__external_aws *a) { (void)a; }

gauth_status gauth__external_aws_subject_token(gauth_credentials *c,
                                               const gauth__external_config *x,
                                               char **token, gauth_error *err) {
  (void)c, (void)x;
  *token = NULL;
  return gauth__error_set(err, GAUTH_E_INTERNAL,
                          "AWS subject token: no AWS source");
}
