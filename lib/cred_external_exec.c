/* External accounts whose subject token comes from an executable
 * (credential_source.executable). Not implemented yet: refused with
 * GAUTH_E_UNSUPPORTED when the file is read. */
#include "cred_external.h"
#include "error_internal.h"

gauth_status gauth__external_exec_parse(const cJSON *src,
                                        gauth__external_exec **out,
                                        gauth_error *err) {
  (void)src;
  *out = NULL;
  return gauth__external_unsupported("executable", NULL, err);
}

void gauth__external_exec_free(gauth__external_exec *e) { (void)e; }

gauth_status gauth__external_exec_subject_token(gauth_credentials *c,
                                                const gauth__external_config *x,
                                                char **token,
                                                gauth_error *err) {
  (void)c, (void)x;
  *token = NULL;
  return gauth__error_set(err, GAUTH_E_INTERNAL,
                          "executable subject token: no executable source");
}
