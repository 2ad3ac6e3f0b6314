/* Application Default Credentials, pure parts: where gcloud's ADC file is. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cred_adc.h"

static void path_is(const char *cfg, const char *home, const char *want) {
  char *p = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__adc_gcloud_path(cfg, home, &p, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_str_eq(p, want);
  free(p);
}

Test(adc_path, cloudsdk_config_wins) {
  path_is("/etc/gcloud", "/home/u",
          "/etc/gcloud/application_default_credentials.json");
  path_is("/etc/gcloud/", NULL,
          "/etc/gcloud/application_default_credentials.json");
  path_is("/etc/gcloud//", "",
          "/etc/gcloud/application_default_credentials.json");
  path_is("rel", "/home/u", "rel/application_default_credentials.json");
}

Test(adc_path, home_fallback) {
  path_is(NULL, "/home/u",
          "/home/u/.config/gcloud/application_default_credentials.json");
  path_is("", "/home/u/",
          "/home/u/.config/gcloud/application_default_credentials.json");
  path_is(NULL, "/", "/.config/gcloud/application_default_credentials.json");
  path_is("/", NULL, "/application_default_credentials.json");
}

Test(adc_path, neither) {
  char *p = (char *)"x";
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__adc_gcloud_path(NULL, NULL, &p, &err), GAUTH_E_NOT_FOUND);
  cr_assert_null(p);
  cr_assert_str_eq(err.message, "neither CLOUDSDK_CONFIG nor HOME is set");
  cr_assert_eq(gauth__adc_gcloud_path("", "", &p, &err), GAUTH_E_NOT_FOUND);
  cr_assert_eq(gauth__adc_gcloud_path("/x", "/y", NULL, &err),
               GAUTH_E_INVALID_ARG);
}
