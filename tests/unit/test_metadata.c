/* lib/metadata.c, the parts that need no network: the query-value
 * encoder, path validation, the detection mode, residency hints (DMI files
 * in a temporary directory, environment variables), and detection answers
 * that are decided before any probe.
 *
 * ctest sets GAUTH_METADATA_DETECTION=none and points the metadata host
 * and IP at a dead port; each test sets what it depends on (Criterion
 * forks each test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "constants.h"
#include "metadata_internal.h"

/* ---- the query-value encoder -------------------------------------------- */

static void expect_escape(const char *in, const char *want) {
  char *got = gauth__metadata_query_escape(in);
  cr_assert_not_null(got);
  cr_expect_str_eq(got, want, "escape(\"%s\")", in);
  free(got);
}

Test(query_escape, keeps_unreserved_colon_and_slash) {
  expect_escape("", "");
  expect_escape("AZaz09-._~", "AZaz09-._~");
  expect_escape("https://example.com/path", "https://example.com/path");
}

Test(query_escape, encodes_everything_else) {
  expect_escape("http://127.0.0.1:8080/services/collector?x=a b&y=\xc3\xbc",
                "http://127.0.0.1:8080/services/collector%3Fx%3Da%20b%26y%3D"
                "%C3%BC");
  expect_escape("a+b", "a%2Bb");
  expect_escape("100%", "100%25");
  expect_escape("a,b;c=d#e", "a%2Cb%3Bc%3Dd%23e");
  expect_escape("@!$'()*[]", "%40%21%24%27%28%29%2A%5B%5D");
  expect_escape("\x01\x7f\xff", "%01%7F%FF");
  expect_escape("\"<>\\^`{|}", "%22%3C%3E%5C%5E%60%7B%7C%7D");
}

Test(query_escape, null_in_null_out) {
  cr_assert_null(gauth__metadata_query_escape(NULL));
}

/* ---- paths -------------------------------------------------------------- */

static void expect_rel(const char *path, const char *want) {
  const char *rel = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__metadata_path_normalize(path, &rel, &err), GAUTH_OK,
               "\"%s\": %s", path, err.message);
  cr_expect_str_eq(rel, want, "normalize(\"%s\")", path);
}

static void expect_refused(const char *path, const char *why) {
  const char *rel = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__metadata_path_normalize(path, &rel, &err),
               GAUTH_E_INVALID_ARG, "path accepted: %s", why);
  cr_expect_eq(err.code, GAUTH_E_INVALID_ARG);
  cr_expect_not_null(strstr(err.message, why), "%s: message \"%s\"", why,
                     err.message);
}

Test(path, prefixes_accepted) {
  expect_rel("project/project-id", "project/project-id");
  expect_rel("/project/project-id", "project/project-id");
  expect_rel("computeMetadata/v1/project/project-id", "project/project-id");
  expect_rel("/computeMetadata/v1/project/project-id", "project/project-id");
  expect_rel("//computeMetadata/v1/instance/", "instance/");
  expect_rel("computeMetadata/v1", "");
  expect_rel("computeMetadata/v1/", "");
  expect_rel("/computeMetadata/v1?recursive=true", "?recursive=true");
  expect_rel("computeMetadata/v10/x", "computeMetadata/v10/x");
  expect_rel("", "");
  expect_rel("/", "");
  /* Only one prefix is removed. */
  expect_rel("computeMetadata/v1/computeMetadata/v1/x", "computeMetadata/v1/x");
}

Test(path, query_kept) {
  expect_rel("instance/?recursive=true", "instance/?recursive=true");
  expect_rel(
      "instance/service-accounts/default/identity?audience=https://"
      "a..b/&format=full",
      "instance/service-accounts/default/identity?audience=https://"
      "a..b/&format=full");
}

Test(path, refused) {
  expect_refused("../etc/passwd", "\"..\"");
  expect_refused("instance/../project", "\"..\"");
  expect_refused("instance/..", "\"..\"");
  expect_refused("instance/%2e%2e/project", "encoded dot");
  expect_refused("instance/%2E./project", "encoded dot");
  expect_refused("project/project-id#frag", "fragment");
  expect_refused("project/project-id?a=b#frag", "fragment");
  expect_refused("project/\nproject-id", "control character");
  expect_refused("project/project-id\r", "control character");
  expect_refused("project/\x7fid", "control character");
  expect_refused("project/project id", "space");
  expect_refused(NULL, "NULL");
}

/* ---- the detection mode -------------------------------------------------- */

Test(mode, parse) {
  cr_expect_eq(gauth__metadata_detection_parse("auto"),
               GAUTH_METADATA_DETECT_AUTO);
  cr_expect_eq(gauth__metadata_detection_parse("none"),
               GAUTH_METADATA_DETECT_NONE);
  cr_expect_eq(gauth__metadata_detection_parse("assume-present"),
               GAUTH_METADATA_DETECT_ASSUME_PRESENT);
  cr_expect_eq(gauth__metadata_detection_parse("AUTO"), 0);
  cr_expect_eq(gauth__metadata_detection_parse("assume_present"), 0);
  cr_expect_eq(gauth__metadata_detection_parse("none "), 0);
  cr_expect_eq(gauth__metadata_detection_parse(""), 0);
  cr_expect_eq(gauth__metadata_detection_parse(NULL), 0);
}

static void config_with(const gauth_options *o, gauth__config *cfg) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__config_init(cfg, o, &err), GAUTH_OK, "%s", err.message);
}

Test(mode, resolved_from_option_env_default) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth__config cfg;
  unsetenv("GAUTH_METADATA_DETECTION");
  config_with(NULL, &cfg);
  cr_expect_eq(cfg.metadata_detection, GAUTH_METADATA_DETECT_AUTO);
  cr_expect_str_eq(cfg.metadata_detection_from, "default");
  gauth__config_cleanup(&cfg);

  setenv("GAUTH_METADATA_DETECTION", "", 1); /* empty: unset */
  config_with(NULL, &cfg);
  cr_expect_eq(cfg.metadata_detection, GAUTH_METADATA_DETECT_AUTO);
  gauth__config_cleanup(&cfg);

  setenv("GAUTH_METADATA_DETECTION", "assume-present", 1);
  config_with(NULL, &cfg);
  cr_expect_eq(cfg.metadata_detection, GAUTH_METADATA_DETECT_ASSUME_PRESENT);
  cr_expect_str_eq(cfg.metadata_detection_from, "GAUTH_METADATA_DETECTION");
  gauth__config_cleanup(&cfg);

  o.metadata_detection = GAUTH_METADATA_DETECT_NONE; /* wins over env */
  config_with(&o, &cfg);
  cr_expect_eq(cfg.metadata_detection, GAUTH_METADATA_DETECT_NONE);
  cr_expect_str_eq(cfg.metadata_detection_from, "option metadata_detection");
  gauth__config_cleanup(&cfg);
}

Test(mode, invalid_values_refused) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md = (gauth_metadata *)&cfg;

  setenv("GAUTH_METADATA_DETECTION", "sometimes", 1);
  cr_assert_eq(gauth__config_init(&cfg, NULL, &err), GAUTH_E_INVALID_ARG);
  cr_expect_not_null(strstr(err.message, "GAUTH_METADATA_DETECTION"), "%s",
                     err.message);
  cr_expect_not_null(strstr(err.message, "sometimes"), "%s", err.message);
  /* The public constructor says the same. */
  cr_assert_eq(gauth_metadata_new(&md, NULL, &err), GAUTH_E_INVALID_ARG);
  cr_expect_null(md);
  cr_expect_not_null(strstr(err.message, "GAUTH_METADATA_DETECTION"), "%s",
                     err.message);

  unsetenv("GAUTH_METADATA_DETECTION");
  o.metadata_detection = 7;
  cr_assert_eq(gauth__config_init(&cfg, &o, &err), GAUTH_E_INVALID_ARG);
  cr_expect_not_null(strstr(err.message, "option metadata_detection"), "%s",
                     err.message);
}

/* ---- residency hints ----------------------------------------------------- */

/* A fresh temporary directory (removed by rm_dir). */
static char *tmp_dir(void) {
  char *d = strdup("/tmp/gauth-dmi-XXXXXX");
  cr_assert_not_null(d);
  cr_assert_not_null(mkdtemp(d));
  return d;
}

static void put_file(const char *dir, const char *name, const char *text) {
  char path[512];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

static void rm_dir(char *dir) {
  char path[512];
  snprintf(path, sizeof(path), "%s/product_name", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/bios_vendor", dir);
  unlink(path);
  rmdir(dir);
  free(dir);
}

Test(dmi, product_name_google_compute_engine) {
  char *d = tmp_dir(), detail[256] = "";
  put_file(d, "product_name", "Google Compute Engine\n");
  put_file(d, "bios_vendor", "SeaBIOS\n");
  cr_expect_eq(gauth__metadata_dmi_hint(d, detail, sizeof(detail)), 1);
  cr_expect_str_eq(detail, "DMI product_name is \"Google Compute Engine\"");
  rm_dir(d);
}

Test(dmi, bios_vendor_google) {
  char *d = tmp_dir(), detail[256] = "";
  put_file(d, "product_name", "Standard PC (i440FX + PIIX, 1996)\n");
  put_file(d, "bios_vendor", "Google\n");
  cr_expect_eq(gauth__metadata_dmi_hint(d, detail, sizeof(detail)), 1);
  cr_expect_str_eq(detail, "DMI bios_vendor is \"Google\"");
  rm_dir(d);
}

Test(dmi, bios_vendor_only_file) {
  char *d = tmp_dir(), detail[256] = "";
  put_file(d, "bios_vendor", "Google");
  cr_expect_eq(gauth__metadata_dmi_hint(d, detail, sizeof(detail)), 1);
  cr_expect_str_eq(detail, "DMI bios_vendor is \"Google\"");
  rm_dir(d);
}

Test(dmi, other_vendor_is_no_hint) {
  char *d = tmp_dir(), detail[256] = "unchanged";
  put_file(d, "product_name", "VirtualBox\n");
  put_file(d, "bios_vendor", "innotek GmbH\n");
  cr_expect_eq(gauth__metadata_dmi_hint(d, detail, sizeof(detail)), 0);
  cr_expect_str_eq(detail, "unchanged");
  /* The match is on "Google" as Google spells it. */
  put_file(d, "product_name", "google compute engine\n");
  cr_expect_eq(gauth__metadata_dmi_hint(d, detail, sizeof(detail)), 0);
  rm_dir(d);
}

Test(dmi, missing_files_and_dir) {
  char *d = tmp_dir(), detail[256] = "unchanged";
  cr_expect_eq(gauth__metadata_dmi_hint(d, detail, sizeof(detail)), 0);
  cr_expect_eq(gauth__metadata_dmi_hint("/nonexistent/gauth/dmi", detail,
                                        sizeof(detail)),
               0);
  cr_expect_str_eq(detail, "unchanged");
  rm_dir(d);
}

Test(dmi, unprintable_bytes_not_echoed) {
  char *d = tmp_dir(), detail[256] = "";
  put_file(d, "product_name", "Google\x1b[31m VM\n");
  cr_expect_eq(gauth__metadata_dmi_hint(d, detail, sizeof(detail)), 1);
  cr_expect_str_eq(detail, "DMI product_name is \"Google?[31m VM\"");
  rm_dir(d);
}

static void clear_hint_env(void) {
  unsetenv("K_SERVICE");
  unsetenv("CLOUD_RUN_JOB");
  unsetenv("FUNCTION_TARGET");
}

Test(env_hint, each_variable) {
  static const char *const vars[] = {"K_SERVICE", "CLOUD_RUN_JOB",
                                     "FUNCTION_TARGET"};
  for (size_t i = 0; i < 3; i++) {
    char detail[256] = "", want[64];
    clear_hint_env();
    setenv(vars[i], "my-service", 1);
    cr_expect_eq(gauth__metadata_env_hint(detail, sizeof(detail)), 1);
    snprintf(want, sizeof(want), "%s is set", vars[i]);
    cr_expect_str_eq(detail, want);
  }
}

Test(env_hint, none_or_empty) {
  char detail[256] = "unchanged";
  clear_hint_env();
  cr_expect_eq(gauth__metadata_env_hint(detail, sizeof(detail)), 0);
  setenv("K_SERVICE", "", 1);
  cr_expect_eq(gauth__metadata_env_hint(detail, sizeof(detail)), 0);
  cr_expect_str_eq(detail, "unchanged");
}

/* ---- answers decided before any probe ----------------------------------- */

/* A client whose probe could only fail (the IP is a dead port): every
 * answer below comes from the mode or a hint. */
static gauth_metadata *client(int mode, const char *dmi_dir) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md = NULL;
  o.metadata_detection = mode;
  o.metadata_ip = "127.0.0.1:9";
  config_with(&o, &cfg);
  cr_assert_eq(gauth__config_set_dmi_dir(&cfg, dmi_dir, &err), GAUTH_OK);
  cr_assert_eq(gauth__metadata_new_from_config(&md, &cfg, &err), GAUTH_OK, "%s",
               err.message);
  gauth__config_cleanup(&cfg);
  return md;
}

static void detect(gauth_metadata *md, gauth_metadata_detection *d) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_metadata_detect(md, d, &err), GAUTH_OK, "%s", err.message);
}

Test(detect, mode_none_and_assume_present) {
  gauth_metadata_detection d;
  gauth_metadata *md;
  setenv("K_SERVICE", "svc", 1); /* the mode comes before hints */
  md = client(GAUTH_METADATA_DETECT_NONE, NULL);
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_MODE);
  cr_expect_str_eq(d.detail, "option metadata_detection=none");
  gauth_metadata_free(md);

  md = client(GAUTH_METADATA_DETECT_ASSUME_PRESENT, NULL);
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_MODE);
  cr_expect_str_eq(d.detail, "option metadata_detection=assume-present");
  gauth_metadata_free(md);

  setenv("GAUTH_METADATA_DETECTION", "none", 1);
  md = client(0, NULL);
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_str_eq(d.detail, "GAUTH_METADATA_DETECTION=none");
  gauth_metadata_free(md);
}

Test(detect, env_hint_before_probe) {
  gauth_metadata_detection d;
  gauth_metadata *md;
  clear_hint_env();
  setenv("CLOUD_RUN_JOB", "nightly", 1);
  md = client(GAUTH_METADATA_DETECT_AUTO, "/nonexistent/gauth/dmi");
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_HINT);
  cr_expect_str_eq(d.detail, "CLOUD_RUN_JOB is set");
  cr_expect_geq(d.elapsed_us, 0);
  gauth_metadata_free(md);
}

Test(detect, dmi_hint_before_probe) {
  gauth_metadata_detection d;
  gauth_metadata *md;
  char *dir = tmp_dir();
  clear_hint_env();
  put_file(dir, "product_name", "Google Compute Engine\n");
  md = client(GAUTH_METADATA_DETECT_AUTO, dir);
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_HINT);
  cr_expect_str_eq(d.detail, "DMI product_name is \"Google Compute Engine\"");
  gauth_metadata_free(md);
  rm_dir(dir);
}

Test(detect, null_arguments) {
  gauth_metadata_detection d;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md = client(GAUTH_METADATA_DETECT_NONE, NULL);
  cr_expect_eq(gauth_metadata_detect(NULL, &d, &err), GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_metadata_detect(md, NULL, &err), GAUTH_E_INVALID_ARG);
  gauth_metadata_free(md);
  gauth_metadata_free(NULL);
}

/* ---- custom metadata keys ------------------------------------------------ */

Test(attribute_key, accepted) {
  char longest[GAUTH__METADATA_KEY_MAX + 1];
  gauth_error err = GAUTH_ERROR_INIT;
  memset(longest, 'k', sizeof(longest) - 1);
  longest[sizeof(longest) - 1] = '\0';
  cr_expect_eq(gauth__metadata_key_check("startup-script", &err), GAUTH_OK);
  cr_expect_eq(gauth__metadata_key_check("A_b-9", &err), GAUTH_OK);
  cr_expect_eq(gauth__metadata_key_check("x", &err), GAUTH_OK);
  cr_expect_eq(gauth__metadata_key_check(longest, &err), GAUTH_OK);
  cr_expect_eq(GAUTH__METADATA_KEY_MAX, 127);
}

static void key_refused(const char *key, const char *words) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__metadata_key_check(key, &err), GAUTH_E_INVALID_ARG,
               "key \"%s\"", key ? key : "(null)");
  cr_expect_eq(err.code, GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, words) != NULL, "%s", err.message);
}

Test(attribute_key, refused) {
  char too_long[GAUTH__METADATA_KEY_MAX + 2];
  memset(too_long, 'k', sizeof(too_long) - 1);
  too_long[sizeof(too_long) - 1] = '\0';
  key_refused(NULL, "NULL");
  key_refused("", "empty");
  key_refused(too_long, "128 bytes long: Google allows at most 127");
  key_refused("a/b", "byte 0x2f at offset 1");
  key_refused("../x", "byte 0x2e at offset 0");
  key_refused("a.b", "0x2e");
  key_refused("a b", "0x20");
  key_refused("a?x=1", "0x3f");
  key_refused("a%2f", "0x25");
  key_refused("caf\xc3\xa9", "0xc3 at offset 3");
  key_refused("a\nb", "0x0a");
}

Test(attribute_key, scope_directories) {
  cr_expect_str_eq(gauth__metadata_scope_dir(GAUTH_METADATA_PROJECT),
                   "project/attributes/");
  cr_expect_str_eq(gauth__metadata_scope_dir(GAUTH_METADATA_INSTANCE),
                   "instance/attributes/");
  cr_expect_null(gauth__metadata_scope_dir(0));
  cr_expect_null(gauth__metadata_scope_dir(3));
}

/* The public calls check their arguments before any request (the
 * metadata host is a dead port here: a request would fail otherwise). */
Test(attribute_key, public_calls_refuse_before_any_request) {
  gauth_metadata *md = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = (char *)"sentinel";
  cr_assert_eq(gauth_metadata_new(&md, NULL, &err), GAUTH_OK, "%s",
               err.message);
  cr_expect_eq(
      gauth_metadata_attribute(md, GAUTH_METADATA_PROJECT, "a/b", &v, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_null(v);
  cr_expect_eq(
      gauth_metadata_attribute(md, (gauth_metadata_scope)7, "a", &v, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "scope 7") != NULL, "%s", err.message);
  cr_expect_eq(
      gauth_metadata_attribute(NULL, GAUTH_METADATA_PROJECT, "a", &v, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_eq(
      gauth_metadata_attribute(md, GAUTH_METADATA_PROJECT, "a", NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_eq(
      gauth_metadata_attributes_json(md, (gauth_metadata_scope)0, &v, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_eq(
      gauth_metadata_attributes_json(md, GAUTH_METADATA_INSTANCE, NULL, &err),
      GAUTH_E_INVALID_ARG);
  gauth_metadata_free(md);
}

/* ---- the attributes directory as JSON ------------------------------------ */

static gauth_status attrs(const char *text, gauth_error *err) {
  return gauth__metadata_attributes_check(text, strlen(text), err);
}

Test(attributes_json, objects_of_strings) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(attrs("{}", &err), GAUTH_OK);
  cr_expect_eq(attrs("{\"a\":\"1\",\"b-c\":\"\"}", &err), GAUTH_OK);
  cr_expect_eq(attrs("{\"s\":\"line\\nline\"}", &err), GAUTH_OK);
}

Test(attributes_json, anything_else_is_a_bad_response) {
  static const char *const bad[] = {
      "",           "[]",           "\"x\"",          "{", "a=b", "{\"a\":1}",
      "{\"a\":{}}", "{\"a\":null}", "{\"a\":\"1\"} x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    cr_expect_eq(gauth__metadata_attributes_check(bad[i], strlen(bad[i]), &err),
                 GAUTH_E_BAD_RESPONSE, "\"%s\"", bad[i]);
  }
  {
    gauth_error err = GAUTH_ERROR_INIT;
    cr_expect_eq(attrs("{\"ok\":\"1\",\"n\":2}", &err), GAUTH_E_BAD_RESPONSE);
    cr_expect(strstr(err.message, "member \"n\" is a number") != NULL, "%s",
              err.message);
  }
}

/* ---- the watch's requests ------------------------------------------------ */

static void expect_watch_path(const char *path, int wait, const char *etag,
                              unsigned int secs, const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *got = NULL;
  cr_assert_eq(gauth__metadata_watch_path(path, wait, etag, secs, &got, &err),
               GAUTH_OK, "%s: %s", path, err.message);
  cr_expect_str_eq(got, want, "path \"%s\"", path);
  free(got);
}

Test(watch_path, leaf) {
  expect_watch_path("instance/attributes/mode", 0, NULL, 0,
                    "instance/attributes/mode");
  expect_watch_path("instance/attributes/mode", 1, "abc123", 60,
                    "instance/attributes/mode?wait_for_change=true&last_etag="
                    "abc123&timeout_sec=60");
  /* No ETag yet (a server that sent none): wait from now on. */
  expect_watch_path("instance/attributes/mode", 1, NULL, 5,
                    "instance/attributes/mode?wait_for_change=true&timeout_"
                    "sec=5");
  expect_watch_path("instance/attributes/mode", 1, "", 5,
                    "instance/attributes/mode?wait_for_change=true&timeout_"
                    "sec=5");
}

Test(watch_path, etag_is_encoded) {
  expect_watch_path("project/project-id", 1, "a b&c=d\"", 1,
                    "project/project-id?wait_for_change=true&last_etag="
                    "a%20b%26c%3Dd%22&timeout_sec=1");
}

Test(watch_path, directory_is_recursive_json) {
  expect_watch_path("instance/attributes/", 0, NULL, 0,
                    "instance/attributes/?recursive=true&alt=json");
  expect_watch_path("instance/attributes/", 1, "e1", 30,
                    "instance/attributes/?recursive=true&alt=json&wait_for_"
                    "change=true&last_etag=e1&timeout_sec=30");
  expect_watch_path("instance/attributes/?", 0, NULL, 0,
                    "instance/attributes/?recursive=true&alt=json");
  /* What the caller chose stays. */
  expect_watch_path("instance/?alt=text", 0, NULL, 0,
                    "instance/?alt=text&recursive=true");
  expect_watch_path("instance/?recursive=false", 1, "e", 2,
                    "instance/?recursive=false&alt=json&wait_for_change=true&"
                    "last_etag=e&timeout_sec=2");
  /* A leaf with a query is not a directory. */
  expect_watch_path("instance/attributes/mode?alt=text", 1, "e", 2,
                    "instance/attributes/mode?alt=text&wait_for_change=true&"
                    "last_etag=e&timeout_sec=2");
}

Test(watch_path, watch_parameters_are_the_watchs) {
  static const char *const bad[] = {"a?wait_for_change=true",
                                    "a?x=1&last_etag=e", "a/?timeout_sec=9",
                                    "a?wait_for_change"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    char *got = (char *)"sentinel";
    cr_expect_eq(gauth__metadata_watch_path(bad[i], 1, "e", 1, &got, &err),
                 GAUTH_E_INVALID_ARG, "%s", bad[i]);
    cr_expect_null(got);
    cr_expect(strstr(err.message, "the watch sets it") != NULL, "%s",
              err.message);
  }
  /* A longer name that starts like one is not one. */
  expect_watch_path("a?timeout_secs=1", 0, NULL, 0, "a?timeout_secs=1");
}

Test(watch_limits, cover_the_hold_and_the_retries) {
  unsigned int t = 0, d = 0;
  gauth__metadata_watch_limits(60, 60000, &t, &d);
  cr_expect_eq(t, 60000 + GAUTH__METADATA_WATCH_MARGIN_MS);
  cr_expect_eq(d, t + 60000);
  gauth__metadata_watch_limits(1, 0, &t, &d);
  cr_expect_eq(t, 1000 + GAUTH__METADATA_WATCH_MARGIN_MS);
  cr_expect_eq(d, t);
  /* Capped at the maximum: no overflow whatever is asked. */
  gauth__metadata_watch_limits(4000000000u, 60000, &t, &d);
  cr_expect_eq(t, GAUTH_METADATA_WATCH_MAX_TIMEOUT_SEC * 1000u +
                      GAUTH__METADATA_WATCH_MARGIN_MS);
}

Test(watch, arguments_checked_before_any_request) {
  gauth_metadata *md = NULL;
  gauth_metadata_watch *w = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = (char *)"sentinel";
  int changed = 7;
  cr_assert_eq(gauth_metadata_new(&md, NULL, &err), GAUTH_OK, "%s",
               err.message);
  cr_expect_eq(gauth_metadata_watch_new(NULL, "a", &w, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_metadata_watch_new(md, NULL, &w, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_metadata_watch_new(md, "a", NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_metadata_watch_new(md, "instance/../x", &w, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(w);
  cr_expect_eq(gauth_metadata_watch_new(md, "a?last_etag=1", &w, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(
      gauth_metadata_watch_new(md, "/computeMetadata/v1/project/x", &w, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect_null(gauth_metadata_watch_etag(w));
  cr_expect_eq(gauth_metadata_watch_next(w, 0, &v, &changed, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(v);
  cr_expect_eq(changed, 0);
  cr_expect(strstr(err.message, "1 to 3600") != NULL, "%s", err.message);
  cr_expect_eq(gauth_metadata_watch_next(w, 3601, &v, &changed, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_metadata_watch_next(w, 1, NULL, &changed, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_metadata_watch_next(w, 1, &v, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_metadata_watch_next(NULL, 1, &v, &changed, &err),
               GAUTH_E_INVALID_ARG);
  /* Cancelled before any call: every call says so at once, no request. */
  gauth_metadata_watch_cancel(w);
  gauth_metadata_watch_cancel(w);
  cr_expect_eq(gauth_metadata_watch_next(w, 1, &v, &changed, &err),
               GAUTH_E_CANCELLED);
  cr_expect_eq(err.code, GAUTH_E_CANCELLED);
  cr_expect_eq(gauth_metadata_watch_next(w, 1, &v, &changed, &err),
               GAUTH_E_CANCELLED);
  gauth_metadata_watch_cancel(NULL);
  gauth_metadata_watch_free(NULL);
  cr_expect_null(gauth_metadata_watch_etag(NULL));
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
}
