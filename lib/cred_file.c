/* Not written yet: stubs so that the library links. */
#include "credentials_internal.h"
#include "error_internal.h"

gauth_status gauth__credentials_from_json_text(gauth_credentials **out, const char *json, size_t len, const char *origin, const gauth_credentials_options *copts, gauth_error *err) { (void)out; (void)json; (void)len; (void)origin; (void)copts; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_credentials_from_file(gauth_credentials **out, const char *path, const gauth_credentials_options *copts, gauth_error *err) { (void)out; (void)path; (void)copts; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_credentials_from_json(gauth_credentials **out, const char *json, size_t len, const gauth_credentials_options *copts, gauth_error *err) { (void)out; (void)json; (void)len; (void)copts; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
