/* Not written yet: stubs so that the library links. */
#include "credentials_internal.h"
#include "error_internal.h"

gauth_status gauth__impersonated_file_credentials_new(gauth_credentials **out, const cJSON *json, const char *origin, const gauth_credentials_options *copts, gauth_error *err) { (void)out; (void)json; (void)origin; (void)copts; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_credentials_impersonate(gauth_credentials **out, gauth_credentials *source, const char *target_email, const char *const *delegates, const gauth_credentials_options *copts, gauth_error *err) { (void)out; (void)source; (void)target_email; (void)delegates; (void)copts; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth__iam_sign_blob(gauth_credentials *caller, const char *target_email, const char *const *delegates, const void *data, size_t len, unsigned char **sig, size_t *sig_len, char **key_id, gauth_error *err) { (void)caller; (void)target_email; (void)delegates; (void)data; (void)len; (void)sig; (void)sig_len; (void)key_id; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth__iam_sign_jwt(gauth_credentials *caller, const char *target_email, const char *const *delegates, const char *claims_json, char **jwt, gauth_error *err) { (void)caller; (void)target_email; (void)delegates; (void)claims_json; (void)jwt; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
