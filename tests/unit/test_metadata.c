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
