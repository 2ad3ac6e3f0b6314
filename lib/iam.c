/* Not written yet: stubs so that the library links. */
#include "common.h"
#include "error_internal.h"

gauth_status gauth_iam_permission_check(const char *permission, gauth_error *err) { (void)permission; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_iam_endpoint(const gauth_options *opts, const char *resource, char **out, gauth_error *err) { (void)opts; (void)resource; (void)out; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
gauth_status gauth_iam_test_permissions(gauth_credentials *creds, const char *resource, const char *const *permissions, gauth_iam_result **out, gauth_error *err) { (void)creds; (void)resource; (void)permissions; (void)out; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
void gauth_iam_result_free(gauth_iam_result *r) { (void)r; }
gauth_iam_access gauth_iam_result_access(const gauth_iam_result *r) { (void)r; return GAUTH_IAM_ACCESS_OK; }
int gauth_iam_result_http_status(const gauth_iam_result *r) { (void)r; return 0; }
const char *gauth_iam_result_detail(const gauth_iam_result *r) { (void)r; return ""; }
const char *gauth_iam_result_resource(const gauth_iam_result *r) { (void)r; return ""; }
const char *gauth_iam_result_url(const gauth_iam_result *r) { (void)r; return ""; }
size_t gauth_iam_result_count(const gauth_iam_result *r) { (void)r; return 0; }
const char *gauth_iam_result_permission(const gauth_iam_result *r, size_t i) { (void)r; (void)i; return ""; }
gauth_iam_permission_state gauth_iam_result_state(const gauth_iam_result *r, size_t i) { (void)r; (void)i; return GAUTH_IAM_UNKNOWN; }
int gauth_iam_result_all_granted(const gauth_iam_result *r) { (void)r; return 0; }
size_t gauth_iam_result_missing_count(const gauth_iam_result *r) { (void)r; return 0; }
gauth_status gauth_iam_wait_permissions(gauth_credentials *creds, const char *resource, const char *const *permissions, const gauth_iam_wait_options *opts, gauth_iam_result **out, int64_t *elapsed_ms, gauth_error *err) { (void)creds; (void)resource; (void)permissions; (void)opts; (void)out; (void)elapsed_ms; return gauth__error_set(err, GAUTH_E_UNSUPPORTED, "not implemented yet"); }
