/* gauth_global_init / cleanup reference counting, version, gauth_free. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include <gauth/gauth.h>

Test(global, version_matches_the_header) {
  cr_assert_str_eq(gauth_version(), GAUTH_VERSION_STRING);
  cr_assert_eq(GAUTH_VERSION_NUM, (GAUTH_VERSION_MAJOR << 16) |
                                      (GAUTH_VERSION_MINOR << 8) |
                                      GAUTH_VERSION_PATCH);
}

Test(global, init_is_reference_counted) {
  gauth_error err = GAUTH_ERROR_INIT;
  CURL *h;
  cr_assert_eq(gauth_global_init(&err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_global_init(NULL), GAUTH_OK);
  gauth_global_cleanup();
  /* Still initialised: one reference left. */
  h = curl_easy_init();
  cr_assert_not_null(h);
  curl_easy_cleanup(h);
  gauth_global_cleanup();
  /* Extra cleanups are ignored. */
  gauth_global_cleanup();
  gauth_global_cleanup();
  cr_assert_eq(gauth_global_init(&err), GAUTH_OK);
  gauth_global_cleanup();
}

Test(global, gauth_free_accepts_null_and_strings) {
  char *s = strdup("ya29.token");
  gauth_free(NULL);
  gauth_free(s);
}
