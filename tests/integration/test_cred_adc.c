/* Application Default Credentials, end to end: the search order over real
 * files in temporary directories (GOOGLE_APPLICATION_CREDENTIALS, then
 * $CLOUDSDK_CONFIG or $HOME/.config/gcloud, then the metadata server),
 * what is final and what falls through, the message when nothing is found,
 * and tokens from what was found, against the fixture's emulator. Each
 * Criterion test runs in its own process: setenv here changes only it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"

#define USER_FILE "application_default_credentials.json"

static char tmp[256];

static const char *key_file(void) {
  static char path[1024];
  const char *url_file = getenv("GAUTH_EMULATOR_URL_FILE");
  const char *slash;
  cr_assert_not_null(url_file);
  slash = strrchr(url_file, '/');
  snprintf(path, sizeof path, "%.*s/key.json",
           slash ? (int)(slash - url_file) : 1, slash ? url_file : ".");
  return path;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
}

/* DIR/sub made (mkdir -p) under the test's temporary directory. */
static char *mkdirs(const char *sub) {
  static char path[512];
  char *p;
  snprintf(path, sizeof path, "%s/%s", tmp, sub);
  for (p = path + strlen(tmp) + 1; *p != '\0'; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(path, 0700);
    *p = '/';
  }
  mkdir(path, 0700);
  return path;
}

/* gcloud's file for the emulator's default user in dir. */
static void write_user_file(const char *dir) {
  char path[600], json[1024];
  snprintf(json, sizeof json,
           "{\"client_id\":\"emulator-client.apps.googleusercontent.com\","
           "\"client_secret\":\"emulator-client-secret\","
           "\"refresh_token\":\"1//emulator-refresh-token\","
           "\"quota_project_id\":\"user-quota\",\"token_uri\":\"%s/token\","
           "\"type\":\"authorized_user\"}",
           emu_fixture_url());
  snprintf(path, sizeof path, "%s/" USER_FILE, dir);
  write_file(path, json);
}

static void setup(void) {
  char *out = NULL;
  snprintf(tmp, sizeof tmp, "/tmp/gauth-adc-XXXXXX");
  cr_assert_not_null(mkdtemp(tmp));
  /* Nothing from the machine: each test sets what it needs. */
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  setenv("CLOUDSDK_CONFIG", mkdirs("empty-gcloud"), 1);
  setenv("HOME", mkdirs("empty-home"), 1);
  setenv("GAUTH_METADATA_DETECTION", "none", 1);
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/counters:reset", "{}", &out),
      200);
  free(out);
}

static void teardown(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(adc, .init = setup, .fini = teardown, .timeout = 60);

static gauth_credentials *adc_ok(gauth_credentials_type want_type) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_credentials_default(&c, NULL, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(gauth_credentials_get_type(c), want_type);
  return c;
}

static void token_works(gauth_credentials *c) {
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(strncmp(tok, "ya29.", 5), 0);
  gauth_free(tok);
}

Test(adc, application_credentials_win_over_gcloud) {
  gauth_credentials *c;
  char origin[1100];
  write_user_file(getenv("CLOUDSDK_CONFIG"));
  setenv("GOOGLE_APPLICATION_CREDENTIALS", key_file(), 1);
  c = adc_ok(GAUTH_CREDENTIALS_SERVICE_ACCOUNT);
  snprintf(origin, sizeof origin, "GOOGLE_APPLICATION_CREDENTIALS=%s",
           key_file());
  cr_assert_str_eq(gauth_credentials_origin(c), origin);
  token_works(c);
  gauth_credentials_free(c);
}

Test(adc, bad_application_credentials_is_final) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char bad[600];
  write_user_file(getenv("CLOUDSDK_CONFIG"));
  snprintf(bad, sizeof bad, "%s/missing.json", tmp);
  setenv("GOOGLE_APPLICATION_CREDENTIALS", bad, 1);
  cr_assert_eq(gauth_credentials_default(&c, NULL, &err), GAUTH_E_IO);
  cr_assert_null(c);
  cr_assert_not_null(strstr(err.message, "GOOGLE_APPLICATION_CREDENTIALS"),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, bad), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "No such file or directory"), "%s",
                     err.message);
  /* A file that is there but not credentials: also final. */
  write_file(bad, "{\"type\":\"service_account\"}");
  cr_assert_eq(gauth_credentials_default(&c, NULL, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "missing field \"client_email\""),
                     "%s", err.message);
}

Test(adc, empty_application_credentials_counts_as_unset) {
  gauth_credentials *c;
  setenv("GOOGLE_APPLICATION_CREDENTIALS", "", 1);
  write_user_file(getenv("CLOUDSDK_CONFIG"));
  c = adc_ok(GAUTH_CREDENTIALS_AUTHORIZED_USER);
  gauth_credentials_free(c);
}

Test(adc, cloudsdk_config_file) {
  gauth_credentials *c;
  char origin[700];
  char *p = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  write_user_file(getenv("CLOUDSDK_CONFIG"));
  c = adc_ok(GAUTH_CREDENTIALS_AUTHORIZED_USER);
  snprintf(origin, sizeof origin, "gcloud ADC file %s/" USER_FILE,
           getenv("CLOUDSDK_CONFIG"));
  cr_assert_str_eq(gauth_credentials_origin(c), origin);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "user-quota");
  cr_assert_eq(gauth_credentials_project_id(c, &p, &err), GAUTH_OK);
  cr_assert_str_eq(p, "user-quota");
  gauth_free(p);
  token_works(c);
  gauth_credentials_free(c);
}

Test(adc, home_fallback) {
  gauth_credentials *c;
  char origin[700];
  const char *dir = mkdirs("home/.config/gcloud");
  write_user_file(dir);
  setenv("HOME", mkdirs("home"), 1);
  unsetenv("CLOUDSDK_CONFIG");
  c = adc_ok(GAUTH_CREDENTIALS_AUTHORIZED_USER);
  snprintf(origin, sizeof origin,
           "gcloud ADC file %s/home/.config/gcloud/" USER_FILE, tmp);
  cr_assert_str_eq(gauth_credentials_origin(c), origin);
  gauth_credentials_free(c);
  /* An empty CLOUDSDK_CONFIG is unset too. */
  setenv("CLOUDSDK_CONFIG", "", 1);
  c = adc_ok(GAUTH_CREDENTIALS_AUTHORIZED_USER);
  gauth_credentials_free(c);
}

Test(adc, bad_gcloud_file_is_final) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char path[600];
  snprintf(path, sizeof path, "%s/" USER_FILE, getenv("CLOUDSDK_CONFIG"));
  write_file(path, "{\"type\":\"authorized_user\",\"client_id\":5}");
  setenv("GAUTH_METADATA_DETECTION", "assume-present", 1);
  cr_assert_eq(gauth_credentials_default(&c, NULL, &err), GAUTH_E_MALFORMED);
  cr_assert_null(c);
  cr_assert_not_null(strstr(err.message, "gcloud ADC file"), "%s", err.message);
  cr_assert_not_null(strstr(err.message, path), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "\"client_id\""), "%s", err.message);
  /* Unreadable: a directory in its place. */
  unlink(path);
  mkdir(path, 0700);
  cr_assert_eq(gauth_credentials_default(&c, NULL, &err), GAUTH_E_IO, "%s",
               err.message);
  cr_assert_not_null(strstr(err.message, path), "%s", err.message);
  rmdir(path);
}

Test(adc, nothing_found_lists_what_was_tried) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char want[1024];
  cr_assert_eq(gauth_credentials_default(&c, NULL, &err),
               GAUTH_E_NO_CREDENTIALS);
  cr_assert_null(c);
  snprintf(want, sizeof want,
           "no credentials found: GOOGLE_APPLICATION_CREDENTIALS not set; "
           "%s/" USER_FILE
           ": no such file; metadata server: "
           "GAUTH_METADATA_DETECTION=none. Run `gcloud auth "
           "application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS"
           " to a credentials file",
           getenv("CLOUDSDK_CONFIG"));
  cr_assert_str_eq(err.message, want);
}

Test(adc, nothing_found_after_a_refused_probe) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  setenv("GAUTH_METADATA_DETECTION", "auto", 1);
  setenv("GCE_METADATA_IP", "127.0.0.1:9", 1);
  unsetenv("K_SERVICE");
  unsetenv("CLOUD_RUN_JOB");
  unsetenv("FUNCTION_TARGET");
  unsetenv("CLOUDSDK_CONFIG");
  cr_assert_eq(gauth_credentials_default(&c, NULL, &err),
               GAUTH_E_NO_CREDENTIALS, "%s", err.message);
  cr_assert_not_null(strstr(err.message,
                            "GOOGLE_APPLICATION_CREDENTIALS not "
                            "set; "),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, "/empty-home/.config/gcloud/" USER_FILE
                                         ": no such file; metadata server: "
                                         "probe of 127.0.0.1:9: connection "
                                         "refused"),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message,
                            "(GAUTH_METADATA_DETECTION=none to "
                            "skip)"),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message,
                            "gcloud auth application-default "
                            "login"),
                     "%s", err.message);
}

Test(adc, metadata_server_when_present) {
  gauth_credentials *c;
  const char *url = emu_fixture_url();
  setenv("GAUTH_METADATA_DETECTION", "assume-present", 1);
  setenv("GCE_METADATA_HOST", url + strlen("http://"), 1);
  c = adc_ok(GAUTH_CREDENTIALS_METADATA);
  cr_assert_not_null(strstr(gauth_credentials_origin(c), "metadata"), "%s",
                     gauth_credentials_origin(c));
  token_works(c);
  gauth_credentials_free(c);
}
