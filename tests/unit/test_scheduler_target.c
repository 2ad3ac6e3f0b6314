/* lib/scheduler_target.c: which token a URL takes — Google APIs (default
 * hosts, regional hosts, the universe domain, endpoint overrides), Cloud
 * Run services in both URL forms, Cloud Run functions, everything else —
 * and lookalikes that must not pass for them. Pure: nothing connects. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

/* The test environment points GAUTH_ENDPOINT at a closed port; most tests
 * here want Google's own URLs. */
static void no_endpoint(void) { unsetenv("GAUTH_ENDPOINT"); }

/* Classifies url under opts; fails the test on an error. *why is returned
 * (free with gauth_free()). */
static char *classify(const gauth_options *opts, const char *url,
                      gauth_scheduler_url_kind *kind,
                      gauth_scheduler_token *token) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *why = NULL;
  gauth_status st;
  err.code = GAUTH_E_INTERNAL; /* left from an earlier call */
  st = gauth_scheduler_url_classify(opts, url, kind, token, &why, &err);
  cr_assert_eq(st, GAUTH_OK, "%s: %s", url, err.message);
  cr_assert_eq(err.code, GAUTH_OK, "err not cleared on success");
  cr_assert_not_null(why, "%s: no sentence", url);
  return why;
}

/* url is of kind `want`, takes the token that kind takes, and its sentence
 * contains every non-NULL needle. */
static void expect_kind(const gauth_options *opts, const char *url,
                        gauth_scheduler_url_kind want, const char *needle1,
                        const char *needle2) {
  gauth_scheduler_url_kind kind = (gauth_scheduler_url_kind)-1;
  gauth_scheduler_token token = (gauth_scheduler_token)-1;
  char *why = classify(opts, url, &kind, &token);
  cr_expect_eq(kind, want, "%s: %s, want %s", url,
               gauth_scheduler_url_kind_name(kind),
               gauth_scheduler_url_kind_name(want));
  cr_expect_eq(token,
               want == GAUTH_SCHEDULER_URL_GOOGLE_API
                   ? GAUTH_SCHEDULER_TOKEN_OAUTH
                   : GAUTH_SCHEDULER_TOKEN_OIDC,
               "%s: token %s", url, gauth_scheduler_token_name(token));
  if (needle1 != NULL)
    cr_expect(strstr(why, needle1) != NULL, "%s: want \"%s\" in: %s", url,
              needle1, why);
  if (needle2 != NULL)
    cr_expect(strstr(why, needle2) != NULL, "%s: want \"%s\" in: %s", url,
              needle2, why);
  gauth_free(why);
}

/* ---- Google APIs --------------------------------------------------------- */

Test(scheduler_target, cloud_run_admin_api_sentence) {
  gauth_scheduler_url_kind kind;
  gauth_scheduler_token token;
  char *why;
  no_endpoint();
  why = classify(NULL,
                 "https://run.googleapis.com/v2/projects/p/locations/l/jobs/"
                 "j:run",
                 &kind, &token);
  cr_expect_eq(kind, GAUTH_SCHEDULER_URL_GOOGLE_API);
  cr_expect_eq(token, GAUTH_SCHEDULER_TOKEN_OAUTH);
  cr_expect_str_eq(why,
                   "https://run.googleapis.com/v2/projects/p/locations/l/jobs/"
                   "j:run is a Google API (run.googleapis.com): it takes an "
                   "OAuth 2 access token (Cloud Scheduler's oauthToken, scope "
                   "cloud-platform); an OIDC ID token is refused with 401 "
                   "whatever IAM grants");
  gauth_free(why);
}

Test(scheduler_target, google_api_hosts) {
  no_endpoint();
  /* The v1 API on a regional endpoint. */
  expect_kind(NULL,
              "https://us-central1-run.googleapis.com/apis/run.googleapis.com/"
              "v1/namespaces/demo-project/jobs/nightly:run",
              GAUTH_SCHEDULER_URL_GOOGLE_API,
              "(us-central1-run.googleapis.com)", "refused with 401");
  expect_kind(NULL,
              "https://cloudscheduler.googleapis.com/v1/projects/p/locations/"
              "l/jobs/j:run",
              GAUTH_SCHEDULER_URL_GOOGLE_API, "(cloudscheduler.googleapis.com)",
              NULL);
  expect_kind(NULL,
              "https://workflowexecutions.googleapis.com/v1/projects/p/"
              "locations/l/workflows/w/executions",
              GAUTH_SCHEDULER_URL_GOOGLE_API, "OAuth 2 access token", NULL);
  /* Case, a trailing dot, an explicit port, plain http: still Google's. */
  expect_kind(NULL,
              "https://RUN.GoogleAPIs.COM/v2/projects/p/locations/l/jobs/"
              "j:run",
              GAUTH_SCHEDULER_URL_GOOGLE_API, "(run.googleapis.com)", NULL);
  expect_kind(NULL, "https://run.googleapis.com./v2/x",
              GAUTH_SCHEDULER_URL_GOOGLE_API, "(run.googleapis.com)", NULL);
  expect_kind(NULL,
              "https://pubsub.googleapis.com:443/v1/projects/p/topics/"
              "t:publish",
              GAUTH_SCHEDULER_URL_GOOGLE_API, "(pubsub.googleapis.com)",
              "https://pubsub.googleapis.com:443/v1/projects/p/topics/"
              "t:publish is a Google API");
  expect_kind(NULL, "http://storage.googleapis.com/storage/v1/b",
              GAUTH_SCHEDULER_URL_GOOGLE_API, NULL, NULL);
}

Test(scheduler_target, universe_domain) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  no_endpoint();
  opts.universe_domain = "cloud.example-sovereign.eu";
  expect_kind(&opts, "https://run.cloud.example-sovereign.eu/v2/x",
              GAUTH_SCHEDULER_URL_GOOGLE_API,
              "(run.cloud.example-sovereign.eu)", NULL);
  /* googleapis.com stays Google's. */
  expect_kind(&opts, "https://run.googleapis.com/v2/x",
              GAUTH_SCHEDULER_URL_GOOGLE_API, NULL, NULL);
  expect_kind(NULL, "https://run.cloud.example-sovereign.eu/v2/x",
              GAUTH_SCHEDULER_URL_OTHER, NULL, NULL);
}

/* ---- Google's APIs elsewhere --------------------------------------------- */

Test(scheduler_target, gauth_endpoint_environment) {
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:8080", 1);
  expect_kind(NULL,
              "http://127.0.0.1:8080/v2/projects/p/locations/l/jobs/j:run",
              GAUTH_SCHEDULER_URL_GOOGLE_API,
              "(the endpoint set for Google's APIs, http://127.0.0.1:8080)",
              "an OIDC ID token is refused with 401");
  expect_kind(NULL, "http://127.0.0.1:8080", GAUTH_SCHEDULER_URL_GOOGLE_API,
              NULL, NULL);
  /* Another port, scheme or host is not the endpoint. */
  expect_kind(NULL, "http://127.0.0.1:8081/v2/x", GAUTH_SCHEDULER_URL_OTHER,
              NULL, NULL);
  expect_kind(NULL, "https://127.0.0.1:8080/v2/x", GAUTH_SCHEDULER_URL_OTHER,
              NULL, NULL);
  expect_kind(NULL, "http://127.0.0.2:8080/v2/x", GAUTH_SCHEDULER_URL_OTHER,
              NULL, NULL);
  /* Google's hosts are Google's whatever the endpoint. */
  expect_kind(NULL, "https://run.googleapis.com/v2/x",
              GAUTH_SCHEDULER_URL_GOOGLE_API, "(run.googleapis.com)", NULL);
}

Test(scheduler_target, endpoint_option_wins_over_environment) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:8080", 1);
  opts.endpoint = "http://[::1]:9000";
  expect_kind(&opts, "http://[::1]:9000/v1/projects/p:testIamPermissions",
              GAUTH_SCHEDULER_URL_GOOGLE_API, "http://[::1]:9000)", NULL);
  expect_kind(&opts, "http://[0:0:0:0:0:0:0:1]:9000/v1/x",
              GAUTH_SCHEDULER_URL_GOOGLE_API, NULL, NULL);
  expect_kind(&opts, "http://127.0.0.1:8080/v2/x", GAUTH_SCHEDULER_URL_OTHER,
              NULL, NULL);
}

Test(scheduler_target, per_service_urls) {
  static const gauth_endpoint_override eps[] = {
      {"pubsub", "http://127.0.0.1:8085"}, {NULL, NULL}};
  gauth_options opts = GAUTH_OPTIONS_INIT;
  no_endpoint();
  opts.run_endpoint = "http://localhost:9090/run-api";
  opts.endpoints = eps;
  expect_kind(&opts,
              "http://localhost:9090/run-api/v2/projects/p/locations/l/jobs/"
              "j:run",
              GAUTH_SCHEDULER_URL_GOOGLE_API,
              "(the run endpoint set in the options, "
              "http://localhost:9090/run-api)",
              NULL);
  expect_kind(&opts, "http://LOCALHOST.:9090/run-api",
              GAUTH_SCHEDULER_URL_GOOGLE_API, "the run endpoint", NULL);
  /* Beside the base path, or a longer segment: not the API. */
  expect_kind(&opts, "http://localhost:9090/other", GAUTH_SCHEDULER_URL_OTHER,
              NULL, NULL);
  expect_kind(&opts, "http://localhost:9090/run-apis/v2",
              GAUTH_SCHEDULER_URL_OTHER, NULL, NULL);
  expect_kind(&opts, "http://127.0.0.1:8085/v1/projects/p/topics/t:publish",
              GAUTH_SCHEDULER_URL_GOOGLE_API,
              "(the pubsub endpoint set in the options, "
              "http://127.0.0.1:8085)",
              NULL);
}

/* ---- Cloud Run ----------------------------------------------------------- */

Test(scheduler_target, cloud_run_services_in_both_forms) {
  no_endpoint();
  /* The deterministic URL: SERVICE-PROJECT_NUMBER.REGION.run.app. */
  expect_kind(NULL, "https://collector-123456789012.us-central1.run.app/tasks",
              GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE,
              "is a Cloud Run service "
              "(collector-123456789012.us-central1.run.app)",
              "whose audience is the service URL "
              "https://collector-123456789012.us-central1.run.app or a "
              "custom audience");
  /* The hash URL: SERVICE-HASH-REGIONCODE.a.run.app. */
  expect_kind(NULL, "https://collector-abc123xyz-uc.a.run.app/",
              GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE,
              "the service URL https://collector-abc123xyz-uc.a.run.app ",
              "roles/run.invoker");
  /* A revision tag. */
  expect_kind(
      NULL, "https://blue---collector-123456789012.europe-west1.run.app",
      GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE,
      "https://blue---collector-123456789012.europe-west1.run.app", NULL);
  /* Case and a trailing dot: the audience is the name as Google writes
   * it. */
  expect_kind(NULL, "https://Collector-ABC123XYZ-uc.A.RUN.APP./x?y=1",
              GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE,
              "the service URL https://collector-abc123xyz-uc.a.run.app ",
              NULL);
  expect_kind(NULL, "http://collector-abc123xyz-uc.a.run.app:8443/x",
              GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE,
              "https://collector-abc123xyz-uc.a.run.app ", NULL);
}

Test(scheduler_target, cloud_run_functions) {
  no_endpoint();
  expect_kind(NULL, "https://us-central1-demo-project.cloudfunctions.net/hello",
              GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION,
              "is a Cloud Run function "
              "(us-central1-demo-project.cloudfunctions.net)",
              "whose audience is the function URL "
              "https://us-central1-demo-project.cloudfunctions.net/hello,");
  expect_kind(NULL,
              "https://europe-west1-demo-project.cloudfunctions.net/"
              "hello/sub/path?x=1",
              GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION,
              "function URL "
              "https://europe-west1-demo-project.cloudfunctions.net/hello,",
              NULL);
  expect_kind(NULL, "https://US-CENTRAL1-P.CLOUDFUNCTIONS.NET./fn",
              GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION,
              "https://us-central1-p.cloudfunctions.net/fn,", NULL);
}

/* ---- everything else, lookalikes included -------------------------------- */

Test(scheduler_target, others_and_lookalikes) {
  static const char *const others[] = {
      "https://hooks.example.com/scheduler",
      "https://run.googleapis.com@evil.example/v2/x",
      "https://run.googleapis.com:x@evil.example/",
      "https://googleapis.com.evil.example/v2/x",
      "https://run.googleapis.com.evil.example/",
      "https://googleapis.com/",
      "https://evil.example/run.googleapis.com/v2",
      "https://evil.example/?u=https://run.googleapis.com",
      "https://evilgoogleapis.com/",
      "https://notrun.app/",
      "https://run.app/",
      "https://a.run.app.evil.example/",
      "https://x.cloudfunctions.net.evil.example/f",
      "https://cloudfunctions.net/f",
      "https://evilcloudfunctions.net/f",
      "https://accounts.google.com/o/oauth2/auth",
      "https://www.gstatic.com/iap/verify/public_key-jwk",
      "https://[2001:db8::1]:8443/hook",
      "http://192.0.2.10/hook",
  };
  no_endpoint();
  for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
    expect_kind(NULL, others[i], GAUTH_SCHEDULER_URL_OTHER,
                "is neither a Google API nor a Cloud Run URL",
                "oidcToken.audience");
}

Test(scheduler_target, sentences_hide_user_info_query_and_fragment) {
  gauth_scheduler_url_kind kind;
  char *why;
  no_endpoint();
  why = classify(NULL,
                 "https://user:SECRETVALUE@run.googleapis.com/v2/x?key="
                 "SECRETKEY#frag",
                 &kind, NULL);
  cr_expect_eq(kind, GAUTH_SCHEDULER_URL_GOOGLE_API);
  cr_expect(strstr(why, "SECRET") == NULL, "%s", why);
  cr_expect(strstr(why, "user") == NULL, "%s", why);
  cr_expect(strstr(why, "frag") == NULL, "%s", why);
  cr_expect(strncmp(why, "https://run.googleapis.com/v2/x is", 34) == 0, "%s",
            why);
  gauth_free(why);
  why = classify(NULL, "https://run.googleapis.com@evil.example/x?t=SECRETV",
                 &kind, NULL);
  cr_expect_eq(kind, GAUTH_SCHEDULER_URL_OTHER);
  cr_expect(strncmp(why, "https://evil.example/x is neither", 32) == 0, "%s",
            why);
  cr_expect(strstr(why, "SECRET") == NULL, "%s", why);
  gauth_free(why);
}

/* ---- arguments and names ------------------------------------------------- */

Test(scheduler_target, optional_outputs) {
  gauth_scheduler_url_kind kind = GAUTH_SCHEDULER_URL_OTHER;
  no_endpoint();
  cr_expect_eq(
      gauth_scheduler_url_classify(NULL, "https://x-1.us-east1.run.app", &kind,
                                   NULL, NULL, NULL),
      GAUTH_OK);
  cr_expect_eq(kind, GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE);
}

Test(scheduler_target, refused) {
  static const struct {
    const char *url, *needle;
  } cases[] = {
      {"ftp://files.example/x", "not http or https"},
      {"mailto:ops@example.com", "not an http or https URL"},
      {"run.googleapis.com/v2/x", "not an http or https URL"},
      {"https://", "not an http or https URL"},
      {"https://:443/v2/x", "not an http or https URL"},
      {"https://@/v2/x", "not an http or https URL"},
      {"", "not an http or https URL"},
      {"https://exa mple.com/", "not an http or https URL"},
  };
  no_endpoint();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gauth_scheduler_url_kind kind = GAUTH_SCHEDULER_URL_GOOGLE_API;
    gauth_scheduler_token token = GAUTH_SCHEDULER_TOKEN_OAUTH;
    char *why = (char *)"unset";
    gauth_error err = GAUTH_ERROR_INIT;
    cr_expect_eq(gauth_scheduler_url_classify(NULL, cases[i].url, &kind, &token,
                                              &why, &err),
                 GAUTH_E_INVALID_ARG, "\"%s\" accepted", cases[i].url);
    cr_expect_eq(kind, GAUTH_SCHEDULER_URL_OTHER);
    cr_expect_eq(token, GAUTH_SCHEDULER_TOKEN_NONE);
    cr_expect_null(why);
    cr_expect(strstr(err.message, cases[i].needle) != NULL,
              "\"%s\": want \"%s\" in: %s", cases[i].url, cases[i].needle,
              err.message);
  }
}

Test(scheduler_target, bad_arguments_and_settings) {
  gauth_scheduler_url_kind kind;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char *why = NULL;
  no_endpoint();
  cr_expect_eq(
      gauth_scheduler_url_classify(NULL, NULL, &kind, NULL, NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_scheduler_url_classify(NULL, "https://a.example", NULL,
                                            NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  setenv("GAUTH_ENDPOINT", "not a url", 1);
  cr_expect_eq(gauth_scheduler_url_classify(NULL, "https://a.example", &kind,
                                            NULL, &why, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "GAUTH_ENDPOINT") != NULL, "%s", err.message);
  cr_expect_null(why);
  unsetenv("GAUTH_ENDPOINT");
  opts.version = 99;
  cr_expect_eq(gauth_scheduler_url_classify(&opts, "https://a.example", &kind,
                                            NULL, &why, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(why);
}

Test(scheduler_target, kind_names) {
  cr_expect_str_eq(gauth_scheduler_url_kind_name(GAUTH_SCHEDULER_URL_OTHER),
                   "other");
  cr_expect_str_eq(
      gauth_scheduler_url_kind_name(GAUTH_SCHEDULER_URL_GOOGLE_API),
      "google_api");
  cr_expect_str_eq(
      gauth_scheduler_url_kind_name(GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE),
      "cloud_run_service");
  cr_expect_str_eq(
      gauth_scheduler_url_kind_name(GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION),
      "cloud_run_function");
  cr_expect_str_eq(gauth_scheduler_url_kind_name((gauth_scheduler_url_kind)42),
                   "unknown");
}
