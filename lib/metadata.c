/* Not written yet: stubs so that the library links. */
#include "credentials_internal.h"
#include "error_internal.h"

#include <gauth/metadata.h>
gauth_status gauth_metadata_new(gauth_metadata **out, const gauth_options *opts, gauth_error *err) { (void)out; (void)opts; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
void gauth_metadata_free(gauth_metadata *md) { (void)md; }
gauth_status gauth_metadata_detect(gauth_metadata *md, gauth_metadata_detection *out, gauth_error *err) { (void)md; (void)out; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_metadata_get(gauth_metadata *md, const char *path, char **value, gauth_error *err) { (void)md; (void)path; (void)value; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_metadata_project_id(gauth_metadata *md, char **value, gauth_error *err) { (void)md; (void)value; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_metadata_project_number(gauth_metadata *md, char **value, gauth_error *err) { (void)md; (void)value; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_metadata_zone(gauth_metadata *md, char **value, gauth_error *err) { (void)md; (void)value; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_metadata_universe_domain(gauth_metadata *md, char **value, gauth_error *err) { (void)md; (void)value; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_metadata_email(gauth_metadata *md, char **value, gauth_error *err) { (void)md; (void)value; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
