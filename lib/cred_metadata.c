/* Not written yet: stubs so that the library links. */
#include "credentials_internal.h"
#include "error_internal.h"

gauth_status gauth_credentials_from_metadata(gauth_credentials **out, const gauth_credentials_options *copts, gauth_error *err) { (void)out; (void)copts; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
