/* lib/config.c and lib/options.c: options resolved against defaults and the
 * environment, service URLs, and the public URL functions.
 *
 * ctest runs every test with GAUTH_ENDPOINT and GCE_METADATA_HOST / _IP
 * pointed at a dead loopback port; each test here sets or clears exactly the
 * variables it depends on (Criterion forks each test, so that stays local). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"
#include "constants.h"
#include "error_internal.h"

static void clear_env(void) {
  unsetenv("GAUTH_ENDPOINT");
  unsetenv("GCE_METADATA_HOST");
  unsetenv("GCE_METADATA_IP");
  unsetenv("GAUTH_LOG");
}

/* The URL of a service under cfg, or fails the test. Caller frees. */
static char *svc(const gauth__config *cfg, gauth_service s,
                 const char *suffix) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  gauth_status st = gauth__config_service_url(cfg, s, suffix, &out, &err);
  cr_assert_eq(st, GAUTH_OK, "service %s: %s", gauth_service_name(s),
               err.message);
  cr_assert_not_null(out);
  return out;
}

static void expect_svc(const gauth__config *cfg, gauth_service s,
                       const char *want) {
  char *got = svc(cfg, s, NULL);
  cr_expect_str_eq(got, want, "service %s", gauth_service_name(s));
  free(got);
}

/* ---- defaults ----------------------------------------------------------- */

static void expect_defaults(const gauth__config *cfg) {
  unsigned i;
  cr_expect_null(cfg->endpoint);
  cr_expect_str_eq(cfg->universe_domain, "googleapis.com");
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++)
    cr_expect_null(cfg->service_override[i], "override %u", i);
  cr_expect_str_eq(cfg->metadata_host, "metadata.google.internal");
  cr_expect_str_eq(cfg->metadata_ip, "169.254.169.254");
  cr_expect_null(cfg->ca_bundle);
  cr_expect_eq(cfg->connect_timeout_ms, 10000u);
  cr_expect_eq(cfg->timeout_ms, 30000u);
  cr_expect_eq(cfg->max_response_bytes, (size_t)1024 * 1024);
  cr_expect_eq(cfg->retry.max_attempts, 4u);
  cr_expect_eq(cfg->retry.initial_backoff_ms, 500u);
  cr_expect(cfg->retry.multiplier == 2.0);
  cr_expect_eq(cfg->retry.max_backoff_ms, 16000u);
  cr_expect_eq(cfg->retry.deadline_ms, 60000u);
  cr_expect_null(cfg->logger.fn);
  cr_expect_eq(cfg->rng_seed, 0u);
}

Test(config, defaults_null_options) {
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  clear_env();
  cr_assert_eq(gauth__config_init(&cfg, NULL, &err), GAUTH_OK, "%s",
               err.message);
  expect_defaults(&cfg);
  gauth__config_cleanup(&cfg);
}

Test(config, defaults_init_macro) {
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  clear_env();
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  expect_defaults(&cfg);
  gauth__config_cleanup(&cfg);
}

Test(config, explicit_limits_and_logger) {
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  int marker;
  clear_env();
  opts.connect_timeout_ms = 1;
  opts.timeout_ms = 2;
  opts.max_response_bytes = 3;
  opts.retry.max_attempts = 1;
  opts.retry.initial_backoff_ms = 10;
  opts.retry.max_backoff_ms = 20;
  opts.ca_bundle = "/etc/ssl/certs/ca-certificates.crt";
  opts.log_userdata = &marker;
  opts.log_level = GAUTH_LOG_ERROR;
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  cr_expect_eq(cfg.connect_timeout_ms, 1u);
  cr_expect_eq(cfg.timeout_ms, 2u);
  cr_expect_eq(cfg.max_response_bytes, (size_t)3);
  cr_expect_eq(cfg.retry.max_attempts, 1u);
  cr_expect_eq(cfg.retry.initial_backoff_ms, 10u);
  cr_expect(cfg.retry.multiplier == 2.0);
  cr_expect_eq(cfg.retry.max_backoff_ms, 20u);
  cr_expect_eq(cfg.retry.deadline_ms, 60000u);
  cr_expect_str_eq(cfg.ca_bundle, "/etc/ssl/certs/ca-certificates.crt");
  cr_expect_neq(cfg.ca_bundle, opts.ca_bundle); /* a copy */
  cr_expect_eq(cfg.logger.min, GAUTH_LOG_ERROR);
  gauth__config_cleanup(&cfg);
}

Test(config, bad_retry_policy) {
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  clear_env();
  opts.retry.multiplier = 0.5;
  cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "multiplier") != NULL, "%s", err.message);
  opts.retry.multiplier = 0;
  opts.retry.initial_backoff_ms = 20000; /* above the default maximum */
  cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG);
}

Test(config, empty_ca_bundle_refused) {
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  clear_env();
  opts.ca_bundle = "";
  cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "ca_bundle") != NULL, "%s", err.message);
}

/* ---- version ------------------------------------------------------------ */

Test(config, version_mismatch) {
  static const unsigned versions[] = {0, GAUTH_OPTIONS_VERSION + 1, 12345};
  size_t i;
  clear_env();
  for (i = 0; i < GAUTH__ARRAY_LEN(versions); i++) {
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    gauth_error err = GAUTH_ERROR_INIT;
    char *out = (char *)"unset";
    opts.version = versions[i];
    cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG);
    cr_expect(strstr(err.message, "GAUTH_OPTIONS_INIT") != NULL, "%s",
              err.message);
    cr_expect_eq(gauth_service_url(&opts, GAUTH_SERVICE_TOKEN, &out, &err),
                 GAUTH_E_INVALID_ARG);
    cr_expect_null(out);
  }
}

/* A version-1 struct is read up to log_level: `endpoints` is not its field
 * and must not be looked at (the ABI test in tests/abi/ proves the same
 * from a program built against the version-1 header). */
Test(config, version_1_reads_no_newer_field) {
  static const gauth_endpoint_override bogus[] = {{"no-such-service", "x"},
                                                  {NULL, NULL}};
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  clear_env();
  opts.version = 1;
  opts.run_endpoint = "http://127.0.0.1:3";
  opts.endpoints = bogus; /* refused if read (see endpoints_table_refusals) */
  cr_assert_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_OK, "%s",
               err.message);
  expect_svc(&cfg, GAUTH_SERVICE_RUN, "http://127.0.0.1:3");
  gauth__config_cleanup(&cfg);
  opts.version = 2;
  cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG);
}

/* ---- GAUTH_ENDPOINT and the endpoint option ----------------------------- */

Test(config, env_endpoint_honoured) {
  gauth__config cfg;
  clear_env();
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:8080", 1);
  cr_assert_eq(gauth__config_init(&cfg, NULL, NULL), GAUTH_OK);
  cr_expect_str_eq(cfg.endpoint, "http://127.0.0.1:8080");
  expect_svc(&cfg, GAUTH_SERVICE_TOKEN, "http://127.0.0.1:8080/token");
  gauth__config_cleanup(&cfg);
}

Test(config, option_endpoint_beats_env) {
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  clear_env();
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:1111", 1);
  opts.endpoint = "http://127.0.0.1:2222";
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  cr_expect_str_eq(cfg.endpoint, "http://127.0.0.1:2222");
  expect_svc(&cfg, GAUTH_SERVICE_TOKEN, "http://127.0.0.1:2222/token");
  gauth__config_cleanup(&cfg);

  /* Even an invalid environment value does not matter when the option is
   * set: the option is the one in use. */
  setenv("GAUTH_ENDPOINT", "garbage", 1);
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  cr_expect_str_eq(cfg.endpoint, "http://127.0.0.1:2222");
  gauth__config_cleanup(&cfg);
}

Test(config, empty_env_endpoint_ignored) {
  gauth__config cfg;
  clear_env();
  setenv("GAUTH_ENDPOINT", "", 1);
  cr_assert_eq(gauth__config_init(&cfg, NULL, NULL), GAUTH_OK);
  cr_expect_null(cfg.endpoint);
  expect_svc(&cfg, GAUTH_SERVICE_TOKEN, "https://oauth2.googleapis.com/token");
  gauth__config_cleanup(&cfg);
}

static const char *const bad_endpoints[] = {
    "http://127.0.0.1:8080/v1",   /* path */
    "http://127.0.0.1:8080/?a=b", /* query */
    "http://127.0.0.1:8080#x",    /* fragment */
    "ftp://127.0.0.1:8080",       /* scheme */
    "file:///tmp",
    "http://user:pw@127.0.0.1", /* user info */
    "127.0.0.1:8080",           /* no scheme */
    "garbage",
    "http://",
    " http://127.0.0.1:8080",
};

Test(config, invalid_env_endpoint_is_an_error) {
  size_t i;
  clear_env();
  for (i = 0; i < GAUTH__ARRAY_LEN(bad_endpoints); i++) {
    gauth__config cfg;
    gauth_error err = GAUTH_ERROR_INIT;
    setenv("GAUTH_ENDPOINT", bad_endpoints[i], 1);
    cr_expect_eq(gauth__config_init(&cfg, NULL, &err), GAUTH_E_INVALID_ARG,
                 "GAUTH_ENDPOINT=\"%s\" accepted", bad_endpoints[i]);
    cr_expect(strstr(err.message, "GAUTH_ENDPOINT") != NULL, "%s -> %s",
              bad_endpoints[i], err.message);
    cr_expect(strstr(err.message, "pw") == NULL, "%s", err.message);
    /* Nothing left behind: cfg was zeroed. */
    cr_expect_null(cfg.endpoint);
    cr_expect_null(cfg.universe_domain);
  }
}

Test(config, invalid_option_endpoint_is_an_error) {
  size_t i;
  clear_env();
  for (i = 0; i < GAUTH__ARRAY_LEN(bad_endpoints); i++) {
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    gauth_error err = GAUTH_ERROR_INIT;
    opts.endpoint = bad_endpoints[i];
    cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG,
                 "endpoint \"%s\" accepted", bad_endpoints[i]);
    cr_expect(strstr(err.message, "option endpoint") != NULL, "%s -> %s",
              bad_endpoints[i], err.message);
  }
  {
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    opts.endpoint = "";
    cr_expect_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_E_INVALID_ARG);
  }
}

/* ---- metadata host / ip ------------------------------------------------- */

static const struct {
  const char *host, *ip; /* environment values; NULL: unset */
  const char *want_host, *want_ip, *want_url;
} metadata_env_cases[] = {
    {NULL, NULL, "metadata.google.internal", "169.254.169.254",
     "http://metadata.google.internal"},
    {"", "", "metadata.google.internal", "169.254.169.254",
     "http://metadata.google.internal"},
    {"127.0.0.1:8080", NULL, "127.0.0.1:8080", "169.254.169.254",
     "http://127.0.0.1:8080"},
    {"metadata.test", "10.0.0.1", "metadata.test", "10.0.0.1",
     "http://metadata.test"},
    {"localhost:1", "127.0.0.1:2", "localhost:1", "127.0.0.1:2",
     "http://localhost:1"},
    {"[::1]:8080", "[::1]", "[::1]:8080", "[::1]", "http://[::1]:8080"},
};

Test(config, metadata_from_env) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(metadata_env_cases); i++) {
    gauth__config cfg;
    gauth_error err = GAUTH_ERROR_INIT;
    clear_env();
    if (metadata_env_cases[i].host)
      setenv("GCE_METADATA_HOST", metadata_env_cases[i].host, 1);
    if (metadata_env_cases[i].ip)
      setenv("GCE_METADATA_IP", metadata_env_cases[i].ip, 1);
    cr_assert_eq(gauth__config_init(&cfg, NULL, &err), GAUTH_OK, "case %zu: %s",
                 i, err.message);
    cr_expect_str_eq(cfg.metadata_host, metadata_env_cases[i].want_host);
    cr_expect_str_eq(cfg.metadata_ip, metadata_env_cases[i].want_ip);
    expect_svc(&cfg, GAUTH_SERVICE_METADATA, metadata_env_cases[i].want_url);
    gauth__config_cleanup(&cfg);
  }
}

Test(config, metadata_option_beats_env) {
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  clear_env();
  setenv("GCE_METADATA_HOST", "127.0.0.1:1", 1);
  setenv("GCE_METADATA_IP", "127.0.0.1:2", 1);
  opts.metadata_host = "127.0.0.1:3";
  opts.metadata_ip = "127.0.0.1:4";
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  cr_expect_str_eq(cfg.metadata_host, "127.0.0.1:3");
  cr_expect_str_eq(cfg.metadata_ip, "127.0.0.1:4");
  gauth__config_cleanup(&cfg);
}

static const char *const bad_hostports[] = {
    "http://127.0.0.1:8080",
    "127.0.0.1:8080/",
    "127.0.0.1/computeMetadata",
    "user@127.0.0.1",
    "127.0.0.1?x",
    "::1",
    "::1:8080",
    "[::1",
    "[::1]x",
    "[zz]:1",
    "[]:1",
    "127.0.0.1:",
    "127.0.0.1:0",
    "127.0.0.1:65536",
    "127.0.0.1:80x",
    ":8080",
    "a b",
    "bad_host!",
};

Test(config, bad_metadata_env_values) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(bad_hostports); i++) {
    gauth__config cfg;
    gauth_error err = GAUTH_ERROR_INIT;
    clear_env();
    setenv("GCE_METADATA_HOST", bad_hostports[i], 1);
    cr_expect_eq(gauth__config_init(&cfg, NULL, &err), GAUTH_E_INVALID_ARG,
                 "GCE_METADATA_HOST=\"%s\" accepted", bad_hostports[i]);
    cr_expect(strstr(err.message, "GCE_METADATA_HOST") != NULL, "%s -> %s",
              bad_hostports[i], err.message);
    clear_env();
    setenv("GCE_METADATA_IP", bad_hostports[i], 1);
    cr_expect_eq(gauth__config_init(&cfg, NULL, &err), GAUTH_E_INVALID_ARG,
                 "GCE_METADATA_IP=\"%s\" accepted", bad_hostports[i]);
    cr_expect(strstr(err.message, "GCE_METADATA_IP") != NULL, "%s -> %s",
              bad_hostports[i], err.message);
  }
}

Test(config, bad_metadata_options) {
  size_t i;
  clear_env();
  for (i = 0; i < GAUTH__ARRAY_LEN(bad_hostports); i++) {
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    gauth_error err = GAUTH_ERROR_INIT;
    opts.metadata_host = bad_hostports[i];
    cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG,
                 "metadata_host \"%s\" accepted", bad_hostports[i]);
    cr_expect(strstr(err.message, "option metadata_host") != NULL, "%s",
              err.message);
  }
  {
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    gauth_error err = GAUTH_ERROR_INIT;
    opts.metadata_ip = "";
    cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG);
    cr_expect(strstr(err.message, "option metadata_ip") != NULL, "%s",
              err.message);
  }
}

/* ---- service URLs -------------------------------------------------------- */

Test(config, service_urls_defaults) {
  gauth__config cfg;
  clear_env();
  cr_assert_eq(gauth__config_init(&cfg, NULL, NULL), GAUTH_OK);
  expect_svc(&cfg, GAUTH_SERVICE_TOKEN, "https://oauth2.googleapis.com/token");
  expect_svc(&cfg, GAUTH_SERVICE_IAMCREDENTIALS,
             "https://iamcredentials.googleapis.com");
  expect_svc(&cfg, GAUTH_SERVICE_STS, "https://sts.googleapis.com");
  expect_svc(&cfg, GAUTH_SERVICE_RESOURCEMANAGER,
             "https://cloudresourcemanager.googleapis.com");
  expect_svc(&cfg, GAUTH_SERVICE_RUN, "https://run.googleapis.com");
  expect_svc(&cfg, GAUTH_SERVICE_IAM, "https://iam.googleapis.com");
  expect_svc(&cfg, GAUTH_SERVICE_GOOGLE_CERTS,
             "https://www.googleapis.com/oauth2/v3/certs");
  expect_svc(&cfg, GAUTH_SERVICE_IAP_KEYS,
             "https://www.gstatic.com/iap/verify/public_key-jwk");
  expect_svc(&cfg, GAUTH_SERVICE_METADATA, "http://metadata.google.internal");
  expect_svc(&cfg, GAUTH_SERVICE_PUBSUB, "https://pubsub.googleapis.com");
  expect_svc(&cfg, GAUTH_SERVICE_STORAGE, "https://storage.googleapis.com");
  expect_svc(&cfg, GAUTH_SERVICE_CLOUDSCHEDULER,
             "https://cloudscheduler.googleapis.com");
  gauth__config_cleanup(&cfg);
}

Test(config, service_urls_with_endpoint) {
  gauth__config cfg;
  clear_env();
  setenv("GCE_METADATA_HOST", "metadata.test:8081", 1);
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:8080/", 1);
  cr_assert_eq(gauth__config_init(&cfg, NULL, NULL), GAUTH_OK);
  expect_svc(&cfg, GAUTH_SERVICE_TOKEN, "http://127.0.0.1:8080/token");
  expect_svc(&cfg, GAUTH_SERVICE_IAMCREDENTIALS, "http://127.0.0.1:8080");
  expect_svc(&cfg, GAUTH_SERVICE_STS, "http://127.0.0.1:8080");
  expect_svc(&cfg, GAUTH_SERVICE_RESOURCEMANAGER, "http://127.0.0.1:8080");
  expect_svc(&cfg, GAUTH_SERVICE_RUN, "http://127.0.0.1:8080");
  expect_svc(&cfg, GAUTH_SERVICE_IAM, "http://127.0.0.1:8080");
  expect_svc(&cfg, GAUTH_SERVICE_GOOGLE_CERTS,
             "http://127.0.0.1:8080/oauth2/v3/certs");
  expect_svc(&cfg, GAUTH_SERVICE_IAP_KEYS,
             "http://127.0.0.1:8080/iap/verify/public_key-jwk");
  expect_svc(&cfg, GAUTH_SERVICE_PUBSUB, "http://127.0.0.1:8080");
  expect_svc(&cfg, GAUTH_SERVICE_STORAGE, "http://127.0.0.1:8080");
  expect_svc(&cfg, GAUTH_SERVICE_CLOUDSCHEDULER, "http://127.0.0.1:8080");
  /* The metadata server has its own settings: never rewritten. */
  expect_svc(&cfg, GAUTH_SERVICE_METADATA, "http://metadata.test:8081");
  gauth__config_cleanup(&cfg);
}

Test(config, service_urls_with_suffix) {
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  char *got;
  clear_env();
  cr_assert_eq(gauth__config_init(&cfg, NULL, NULL), GAUTH_OK);
  got = svc(&cfg, GAUTH_SERVICE_IAMCREDENTIALS,
            "/v1/projects/-/serviceAccounts/a@b.iam.gserviceaccount.com"
            ":signBlob");
  cr_expect_str_eq(got,
                   "https://iamcredentials.googleapis.com/v1/projects/-/"
                   "serviceAccounts/a@b.iam.gserviceaccount.com:signBlob");
  free(got);
  got = svc(&cfg, GAUTH_SERVICE_METADATA,
            "/computeMetadata/v1/instance/service-accounts/default/token"
            "?scopes=a,b");
  cr_expect_str_eq(got,
                   "http://metadata.google.internal/computeMetadata/v1/"
                   "instance/service-accounts/default/token?scopes=a,b");
  free(got);
  gauth__config_cleanup(&cfg);

  /* Endpoint override, then the suffix byte for byte. */
  opts.endpoint = "http://127.0.0.1:8080";
  opts.run_endpoint = "http://127.0.0.1:9000/run/";
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  got = svc(&cfg, GAUTH_SERVICE_STS, "/v1/token?x=%2F");
  cr_expect_str_eq(got, "http://127.0.0.1:8080/v1/token?x=%2F");
  free(got);
  /* A base URL override with a trailing slash does not double it. */
  got = svc(&cfg, GAUTH_SERVICE_RUN, "/v2/projects/p:testIamPermissions");
  cr_expect_str_eq(got,
                   "http://127.0.0.1:9000/run/v2/projects/"
                   "p:testIamPermissions");
  free(got);
  got = svc(&cfg, GAUTH_SERVICE_RUN, "");
  cr_expect_str_eq(got, "http://127.0.0.1:9000/run/");
  free(got);
  gauth__config_cleanup(&cfg);
}

Test(config, service_urls_explicit_overrides) {
  static const gauth_endpoint_override table[] = {
      {"pubsub", "http://127.0.0.1:9/ps"},
      {"storage", "https://storage.example.test"},
      {"iap_keys", "http://127.0.0.1:7/keys"},
      {NULL, NULL}};
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  clear_env();
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:1", 1);
  opts.token_uri = "https://oauth2.googleapis.com/token?x=1";
  opts.iamcredentials_endpoint = "http://127.0.0.1:2";
  opts.sts_endpoint = "https://sts.example.test/prefix";
  opts.resourcemanager_endpoint = "http://localhost:4";
  opts.run_endpoint = "https://europe-west1-run.googleapis.com";
  opts.iam_endpoint = "http://[::1]:6";
  opts.endpoints = table;
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  /* Used exactly as given: no endpoint rewrite, even on Google hosts. */
  expect_svc(&cfg, GAUTH_SERVICE_TOKEN,
             "https://oauth2.googleapis.com/token?x=1");
  expect_svc(&cfg, GAUTH_SERVICE_IAMCREDENTIALS, "http://127.0.0.1:2");
  expect_svc(&cfg, GAUTH_SERVICE_STS, "https://sts.example.test/prefix");
  expect_svc(&cfg, GAUTH_SERVICE_RESOURCEMANAGER, "http://localhost:4");
  expect_svc(&cfg, GAUTH_SERVICE_RUN,
             "https://europe-west1-run.googleapis.com");
  expect_svc(&cfg, GAUTH_SERVICE_IAM, "http://[::1]:6");
  expect_svc(&cfg, GAUTH_SERVICE_PUBSUB, "http://127.0.0.1:9/ps");
  expect_svc(&cfg, GAUTH_SERVICE_STORAGE, "https://storage.example.test");
  expect_svc(&cfg, GAUTH_SERVICE_IAP_KEYS, "http://127.0.0.1:7/keys");
  /* The rest still follow the endpoint. */
  expect_svc(&cfg, GAUTH_SERVICE_GOOGLE_CERTS,
             "http://127.0.0.1:1/oauth2/v3/certs");
  cr_expect_str_eq(cfg.service_override[GAUTH_SERVICE_TOKEN],
                   "https://oauth2.googleapis.com/token?x=1");
  cr_expect_null(cfg.service_override[GAUTH_SERVICE_METADATA]);
  gauth__config_cleanup(&cfg);
}

Test(config, bad_service_overrides) {
  static const char *const bad[] = {"",
                                    "not a url",
                                    "ftp://127.0.0.1/x",
                                    "http://u:pw@127.0.0.1/",
                                    "http://127.0.0.1/#frag",
                                    "127.0.0.1:1"};
  size_t i;
  clear_env();
  for (i = 0; i < GAUTH__ARRAY_LEN(bad); i++) {
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    gauth_error err = GAUTH_ERROR_INIT;
    opts.sts_endpoint = bad[i];
    cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG,
                 "sts_endpoint \"%s\" accepted", bad[i]);
    cr_expect(strstr(err.message, "sts_endpoint") != NULL, "%s", err.message);
    cr_expect(strstr(err.message, "pw") == NULL, "%s", err.message);
  }
  /* A bad URL in the endpoints table is named by its entry. */
  {
    static const gauth_endpoint_override table[] = {
        {"run", "http://127.0.0.1:3"},
        {"pubsub", "ftp://127.0.0.1/x"},
        {NULL, NULL}};
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    gauth_error err = GAUTH_ERROR_INIT;
    opts.endpoints = table;
    cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG);
    cr_expect(strstr(err.message, "endpoints[1] (pubsub)") != NULL, "%s",
              err.message);
  }
}

/* Every service can be set through the table, the six with a field of
 * their own included; each refusal names the entry. */
Test(config, endpoints_table) {
  gauth_endpoint_override table[GAUTH__SERVICE_COUNT + 1];
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  char urls[GAUTH__SERVICE_COUNT][64];
  unsigned i, n = 0;
  clear_env();
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++) {
    if (i == GAUTH_SERVICE_METADATA) continue;
    snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%u/%s", 1000 + i,
             gauth_service_name((gauth_service)i));
    table[n].service = gauth_service_name((gauth_service)i);
    table[n].url = urls[i];
    n++;
  }
  table[n].service = NULL;
  table[n].url = NULL;
  opts.endpoints = table;
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++)
    if (i != GAUTH_SERVICE_METADATA)
      expect_svc(&cfg, (gauth_service)i, urls[i]);
  gauth__config_cleanup(&cfg);
  /* An empty table is no override. */
  table[0].service = NULL;
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  expect_svc(&cfg, GAUTH_SERVICE_PUBSUB, "https://pubsub.googleapis.com");
  gauth__config_cleanup(&cfg);
}

Test(config, endpoints_table_refusals) {
  static const struct {
    gauth_endpoint_override table[3];
    const char *token_uri;
    const char *want;
  } cases[] = {
      {{{"pubsubb", "http://127.0.0.1:1"}, {NULL, NULL}},
       NULL,
       "\"pubsubb\" is not a service name"},
      {{{"metadata", "http://127.0.0.1:1"}, {NULL, NULL}},
       NULL,
       "metadata_host"},
      {{{"storage", NULL}, {NULL, NULL}},
       NULL,
       "endpoints[0] (storage) has no url"},
      {{{"run", "http://127.0.0.1:1"},
        {"run", "http://127.0.0.1:2"},
        {NULL, NULL}},
       NULL,
       "endpoints[1]: run is also set by an earlier entry"},
      {{{"token", "http://127.0.0.1:1"}, {NULL, NULL}},
       "http://127.0.0.1:2",
       "endpoints[0]: token is also set by token_uri"},
      {{{"sts", "http://u:secretpw@127.0.0.1/"}, {NULL, NULL}},
       NULL,
       "endpoints[0] (sts)"},
  };
  size_t i;
  clear_env();
  for (i = 0; i < GAUTH__ARRAY_LEN(cases); i++) {
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    gauth_error err = GAUTH_ERROR_INIT;
    opts.endpoints = cases[i].table;
    opts.token_uri = cases[i].token_uri;
    cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG,
                 "case %zu accepted", i);
    cr_expect(strstr(err.message, cases[i].want) != NULL, "case %zu: %s", i,
              err.message);
    cr_expect(strstr(err.message, "secretpw") == NULL, "%s", err.message);
  }
}

Test(config, service_urls_universe_domain) {
  gauth__config cfg;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  clear_env();
  opts.universe_domain = "example-universe.test";
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  cr_expect_str_eq(cfg.universe_domain, "example-universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_TOKEN,
             "https://oauth2.example-universe.test/token");
  expect_svc(&cfg, GAUTH_SERVICE_IAMCREDENTIALS,
             "https://iamcredentials.example-universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_STS, "https://sts.example-universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_RESOURCEMANAGER,
             "https://cloudresourcemanager.example-universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_RUN, "https://run.example-universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_IAM, "https://iam.example-universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_PUBSUB,
             "https://pubsub.example-universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_STORAGE,
             "https://storage.example-universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_GOOGLE_CERTS,
             "https://www.googleapis.com/oauth2/v3/certs");
  gauth__config_cleanup(&cfg);

  /* With an endpoint, the universe's hosts are rewritten too. */
  opts.endpoint = "http://127.0.0.1:7";
  opts.universe_domain = "Example-Universe.test.";
  cr_assert_eq(gauth__config_init(&cfg, &opts, NULL), GAUTH_OK);
  cr_expect_str_eq(cfg.universe_domain, "Example-Universe.test");
  expect_svc(&cfg, GAUTH_SERVICE_TOKEN, "http://127.0.0.1:7/token");
  expect_svc(&cfg, GAUTH_SERVICE_IAM, "http://127.0.0.1:7");
  gauth__config_cleanup(&cfg);
}

Test(config, bad_universe_domain) {
  static const char *const bad[] = {"",     ".",          ".googleapis.com",
                                    "a..b", "evil.com/x", "x:1",
                                    "a b",  "-x.com",     "u@x"};
  size_t i;
  clear_env();
  for (i = 0; i < GAUTH__ARRAY_LEN(bad); i++) {
    gauth__config cfg;
    gauth_options opts = GAUTH_OPTIONS_INIT;
    gauth_error err = GAUTH_ERROR_INIT;
    opts.universe_domain = bad[i];
    cr_expect_eq(gauth__config_init(&cfg, &opts, &err), GAUTH_E_INVALID_ARG,
                 "universe_domain \"%s\" accepted", bad[i]);
    cr_expect(strstr(err.message, "universe_domain") != NULL, "%s",
              err.message);
  }
}

Test(config, service_url_bad_args) {
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = (char *)"unset";
  clear_env();
  cr_assert_eq(gauth__config_init(&cfg, NULL, NULL), GAUTH_OK);
  cr_expect_eq(gauth__config_service_url(
                   &cfg, (gauth_service)GAUTH__SERVICE_COUNT, NULL, &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(out);
  cr_expect_eq(
      gauth__config_service_url(&cfg, (gauth_service)-1, NULL, &out, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_eq(
      gauth__config_service_url(NULL, GAUTH_SERVICE_TOKEN, NULL, &out, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_eq(
      gauth__config_service_url(&cfg, GAUTH_SERVICE_TOKEN, NULL, NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth__config_resolve_url(&cfg, NULL, &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth__config_init(NULL, NULL, &err), GAUTH_E_INVALID_ARG);
  gauth__config_cleanup(&cfg);
  gauth__config_cleanup(NULL);
}

Test(config, resolve_url) {
  gauth__config cfg;
  char *out = NULL;
  clear_env();
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:8080", 1);
  cr_assert_eq(gauth__config_init(&cfg, NULL, NULL), GAUTH_OK);
  cr_assert_eq(gauth__config_resolve_url(
                   &cfg,
                   "https://run.googleapis.com/v2/projects/p/locations/l/jobs/"
                   "j:run",
                   &out, NULL),
               GAUTH_OK);
  cr_expect_str_eq(out,
                   "http://127.0.0.1:8080/v2/projects/p/locations/l/"
                   "jobs/j:run");
  free(out);
  cr_assert_eq(
      gauth__config_resolve_url(&cfg, "https://my-svc.a.run.app/x", &out, NULL),
      GAUTH_OK);
  cr_expect_str_eq(out, "https://my-svc.a.run.app/x");
  free(out);
  gauth__config_cleanup(&cfg);
}

/* ---- copy / cleanup ------------------------------------------------------ */

Test(config, copy_is_deep) {
  gauth__config a, b;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  unsigned i;
  clear_env();
  opts.endpoint = "http://127.0.0.1:8080";
  opts.token_uri = "http://127.0.0.1:1/token";
  opts.iam_endpoint = "http://127.0.0.1:2";
  opts.ca_bundle = "/tmp/ca.pem";
  opts.timeout_ms = 77;
  cr_assert_eq(gauth__config_init(&a, &opts, NULL), GAUTH_OK);
  a.rng_seed = 99;
  cr_assert_eq(gauth__config_copy(&b, &a, NULL), GAUTH_OK);
  cr_expect_str_eq(b.endpoint, a.endpoint);
  cr_expect_neq(b.endpoint, a.endpoint);
  cr_expect_str_eq(b.universe_domain, a.universe_domain);
  cr_expect_neq(b.universe_domain, a.universe_domain);
  cr_expect_str_eq(b.metadata_host, a.metadata_host);
  cr_expect_neq(b.metadata_host, a.metadata_host);
  cr_expect_str_eq(b.metadata_ip, a.metadata_ip);
  cr_expect_neq(b.metadata_ip, a.metadata_ip);
  cr_expect_str_eq(b.ca_bundle, "/tmp/ca.pem");
  cr_expect_neq(b.ca_bundle, a.ca_bundle);
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++) {
    if (a.service_override[i] == NULL) {
      cr_expect_null(b.service_override[i]);
    } else {
      cr_expect_str_eq(b.service_override[i], a.service_override[i]);
      cr_expect_neq(b.service_override[i], a.service_override[i]);
    }
  }
  cr_expect_eq(b.timeout_ms, 77u);
  cr_expect_eq(b.rng_seed, 99u);
  cr_expect_eq(b.retry.max_attempts, a.retry.max_attempts);
  /* The copy outlives the original. */
  gauth__config_cleanup(&a);
  cr_expect_null(a.endpoint);
  cr_expect_null(a.universe_domain);
  expect_svc(&b, GAUTH_SERVICE_TOKEN, "http://127.0.0.1:1/token");
  expect_svc(&b, GAUTH_SERVICE_STS, "http://127.0.0.1:8080");
  gauth__config_cleanup(&b);
  /* Cleanup twice is harmless: the first one zeroed it. */
  gauth__config_cleanup(&b);
  cr_expect_eq(gauth__config_copy(NULL, &b, NULL), GAUTH_E_INVALID_ARG);
}

/* ---- public functions (lib/options.c) ---------------------------------- */

Test(options, service_name) {
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_TOKEN), "token");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_IAMCREDENTIALS),
                   "iamcredentials");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_STS), "sts");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_RESOURCEMANAGER),
                   "resourcemanager");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_RUN), "run");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_IAM), "iam");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_GOOGLE_CERTS),
                   "google_certs");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_IAP_KEYS), "iap_keys");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_METADATA), "metadata");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_PUBSUB), "pubsub");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_STORAGE), "storage");
  cr_expect_str_eq(gauth_service_name(GAUTH_SERVICE_CLOUDSCHEDULER),
                   "cloudscheduler");
  cr_expect_str_eq(gauth_service_name((gauth_service)42), "unknown");
}

Test(options, service_url_public) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  clear_env();
  cr_assert_eq(gauth_service_url(NULL, GAUTH_SERVICE_TOKEN, &out, &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(out, "https://oauth2.googleapis.com/token");
  cr_expect_eq(err.code, GAUTH_OK);
  gauth_free(out);

  opts.endpoint = "http://127.0.0.1:8080";
  cr_assert_eq(gauth_service_url(&opts, GAUTH_SERVICE_IAP_KEYS, &out, &err),
               GAUTH_OK);
  cr_expect_str_eq(out, "http://127.0.0.1:8080/iap/verify/public_key-jwk");
  gauth_free(out);

  setenv("GAUTH_ENDPOINT", "ftp://x", 1);
  out = (char *)"unset";
  cr_expect_eq(gauth_service_url(NULL, GAUTH_SERVICE_TOKEN, &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(out);
  cr_expect(strstr(err.message, "GAUTH_ENDPOINT") != NULL, "%s", err.message);

  clear_env();
  cr_expect_eq(gauth_service_url(NULL, (gauth_service)100, &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(out);
  cr_expect_eq(gauth_service_url(NULL, GAUTH_SERVICE_TOKEN, NULL, &err),
               GAUTH_E_INVALID_ARG);
}

Test(options, resolve_url_public) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  clear_env();

  /* Defaults: Google stays Google. */
  cr_assert_eq(gauth_resolve_url(NULL, "https://oauth2.googleapis.com/token",
                                 &out, &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(out, "https://oauth2.googleapis.com/token");
  gauth_free(out);

  /* The endpoint applies; the path and query are kept. */
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:8080", 1);
  cr_assert_eq(gauth_resolve_url(NULL,
                                 "https://iamcredentials.googleapis.com/v1/"
                                 "projects/-/serviceAccounts/"
                                 "a@b.iam.gserviceaccount.com:generateIdToken"
                                 "?x=%2F",
                                 &out, &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(out,
                   "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/"
                   "a@b.iam.gserviceaccount.com:generateIdToken?x=%2F");
  gauth_free(out);

  /* The metadata server over plain http is fine. */
  setenv("GCE_METADATA_HOST", "metadata.test:8081", 1);
  cr_assert_eq(
      gauth_resolve_url(NULL, "http://metadata.test:8081/x", &out, &err),
      GAUTH_OK, "%s", err.message);
  gauth_free(out);

  /* What the transport would refuse is reported, and nothing returned. */
  out = (char *)"unset";
  cr_expect_eq(gauth_resolve_url(NULL,
                                 "http://example.com/x?access_token="
                                 "SECRETCANARY",
                                 &out, &err),
               GAUTH_E_INSECURE_URL);
  cr_expect_null(out);
  cr_expect(strstr(err.message, "SECRETCANARY") == NULL, "%s", err.message);
  cr_expect(strstr(err.message, "http://example.com") != NULL, "%s",
            err.message);
  cr_expect_eq(gauth_resolve_url(NULL, "ftp://127.0.0.1/", &out, &err),
               GAUTH_E_INSECURE_URL);
  cr_expect_eq(gauth_resolve_url(NULL, "garbage", &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_resolve_url(NULL, NULL, &out, &err), GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_resolve_url(NULL, "https://x.test/", NULL, &err),
               GAUTH_E_INVALID_ARG);

  /* An https endpoint to a remote host is fine; plain http to one is not,
   * and resolve_url says so before any request is made. */
  opts.endpoint = "https://private.example:8443";
  cr_assert_eq(gauth_resolve_url(&opts, "https://sts.googleapis.com/v1/token",
                                 &out, &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(out, "https://private.example:8443/v1/token");
  gauth_free(out);
  opts.endpoint = "http://private.example:8080";
  cr_expect_eq(gauth_resolve_url(&opts, "https://sts.googleapis.com/v1/token",
                                 &out, &err),
               GAUTH_E_INSECURE_URL);
  cr_expect(strstr(err.message, "private.example") != NULL, "%s", err.message);
}
