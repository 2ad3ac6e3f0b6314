/* The resource -> testIamPermissions endpoint table (lib/iam_resource.c):
 * every row, the effect of GAUTH_ENDPOINT, the universe domain and the
 * per-service options, URLs given as resources, and malformed names. Pure:
 * no request is made. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

#include "config.h"
#include "iam_resource.h"

static void clear_env(void) { unsetenv("GAUTH_ENDPOINT"); }

/* gauth_iam_endpoint's answer under opts (NULL: defaults); fails the test
 * on an error. Free with gauth_free(). */
static char *endpoint(const gauth_options *opts, const char *resource) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  gauth_status st = gauth_iam_endpoint(opts, resource, &out, &err);
  cr_assert_eq(st, GAUTH_OK, "%s: %s", resource, err.message);
  cr_assert_not_null(out);
  cr_assert_eq(err.code, GAUTH_OK, "err not cleared on success");
  return out;
}

static void expect_endpoint(const gauth_options *opts, const char *resource,
                            const char *want) {
  char *got = endpoint(opts, resource);
  cr_expect_str_eq(got, want, "%s", resource);
  gauth_free(got);
}

/* The refusal of a resource: INVALID_ARG, the message listing the forms
 * and containing `part` (NULL: not checked). */
static void expect_refused(const char *resource, const char *part) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = (char *)"unset";
  gauth_status st = gauth_iam_endpoint(NULL, resource, &out, &err);
  cr_expect_eq(st, GAUTH_E_INVALID_ARG, "\"%s\" accepted (%s)",
               resource ? resource : "(null)", st == GAUTH_OK ? out : "");
  if (st == GAUTH_OK) {
    gauth_free(out);
    return;
  }
  cr_expect_null(out);
  cr_expect_eq(err.code, GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "projects/P/locations/L/jobs/J") != NULL,
            "no forms listed for \"%s\": %s", resource, err.message);
  cr_expect(strstr(err.message, "projects/_/buckets/B") != NULL, "%s",
            err.message);
  if (part != NULL)
    cr_expect(strstr(err.message, part) != NULL, "\"%s\": want \"%s\" in: %s",
              resource, part, err.message);
}

/* ---- every row ----------------------------------------------------------- */

Test(iam_resource, projects_resource_manager_v1) {
  clear_env();
  expect_endpoint(NULL, "projects/demo-project",
                  "POST https://cloudresourcemanager.googleapis.com/v1/"
                  "projects/demo-project:testIamPermissions");
  expect_endpoint(NULL, "projects/123456789012",
                  "POST https://cloudresourcemanager.googleapis.com/v1/"
                  "projects/123456789012:testIamPermissions");
  /* A domain-scoped project id. */
  expect_endpoint(NULL, "projects/example.com:my-proj",
                  "POST https://cloudresourcemanager.googleapis.com/v1/"
                  "projects/example.com:my-proj:testIamPermissions");
}

Test(iam_resource, folders_and_organizations_v3) {
  clear_env();
  expect_endpoint(NULL, "folders/1234567",
                  "POST https://cloudresourcemanager.googleapis.com/v3/"
                  "folders/1234567:testIamPermissions");
  expect_endpoint(NULL, "organizations/98765",
                  "POST https://cloudresourcemanager.googleapis.com/v3/"
                  "organizations/98765:testIamPermissions");
}

Test(iam_resource, cloud_run_jobs_and_services_v2) {
  clear_env();
  expect_endpoint(NULL, "projects/p/locations/us-central1/jobs/nightly",
                  "POST https://run.googleapis.com/v2/projects/p/locations/"
                  "us-central1/jobs/nightly:testIamPermissions");
  expect_endpoint(NULL, "projects/p/locations/europe-west1/services/api-2",
                  "POST https://run.googleapis.com/v2/projects/p/locations/"
                  "europe-west1/services/api-2:testIamPermissions");
}

Test(iam_resource, service_accounts_iam_v1) {
  clear_env();
  expect_endpoint(NULL,
                  "projects/demo-project/serviceAccounts/"
                  "runner@demo-project.iam.gserviceaccount.com",
                  "POST https://iam.googleapis.com/v1/projects/demo-project/"
                  "serviceAccounts/runner@demo-project.iam.gserviceaccount."
                  "com:testIamPermissions");
  expect_endpoint(NULL, "projects/-/serviceAccounts/123456789",
                  "POST https://iam.googleapis.com/v1/projects/-/"
                  "serviceAccounts/123456789:testIamPermissions");
}

Test(iam_resource, pubsub_topics_and_subscriptions_v1) {
  clear_env();
  expect_endpoint(NULL, "projects/p/topics/Orders.v2_x~y+z",
                  "POST https://pubsub.googleapis.com/v1/projects/p/topics/"
                  "Orders.v2_x~y+z:testIamPermissions");
  expect_endpoint(NULL, "projects/p/subscriptions/orders-sub",
                  "POST https://pubsub.googleapis.com/v1/projects/p/"
                  "subscriptions/orders-sub:testIamPermissions");
  /* '%' is allowed in Pub/Sub names: it is percent-encoded in the path. */
  expect_endpoint(NULL, "projects/p/topics/a%b",
                  "POST https://pubsub.googleapis.com/v1/projects/p/topics/"
                  "a%25b:testIamPermissions");
}

Test(iam_resource, storage_buckets_get) {
  clear_env();
  expect_endpoint(NULL, "projects/_/buckets/my-bucket.example",
                  "GET https://storage.googleapis.com/storage/v1/b/"
                  "my-bucket.example/iam/testPermissions");
}

Test(iam_resource, storage_query_is_percent_encoded) {
  static const char *const perms[] = {"storage.objects.get",
                                      "storage.buckets.getIamPolicy"};
  static const char *const odd[] = {"a b&c=d/e"};
  gauth_error err = GAUTH_ERROR_INIT;
  char *url = NULL;
  cr_assert_eq(gauth__iam_query_url("https://h/storage/v1/b/b/iam/"
                                    "testPermissions",
                                    perms, 2, &url, &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(url,
                   "https://h/storage/v1/b/b/iam/testPermissions?"
                   "permissions=storage.objects.get&permissions="
                   "storage.buckets.getIamPolicy");
  free(url);
  cr_assert_eq(gauth__iam_query_url("http://h/x", odd, 1, &url, &err),
               GAUTH_OK);
  cr_expect_str_eq(url, "http://h/x?permissions=a%20b%26c%3Dd%2Fe");
  free(url);
}

Test(iam_resource, target_fields) {
  gauth__config cfg;
  gauth__iam_target t;
  clear_env();
  cr_assert_eq(gauth__config_init(&cfg, NULL, NULL), GAUTH_OK);
  cr_assert_eq(
      gauth__iam_target_resolve(&cfg, "projects/_/buckets/bkt", &t, NULL),
      GAUTH_OK);
  cr_expect_eq(t.method, GAUTH__IAM_GET);
  cr_expect_str_eq(t.api, "Cloud Storage JSON v1");
  cr_expect_str_eq(t.url,
                   "https://storage.googleapis.com/storage/v1/b/bkt/"
                   "iam/testPermissions");
  gauth__iam_target_cleanup(&t);
  cr_assert_eq(gauth__iam_target_resolve(&cfg, "folders/1", &t, NULL),
               GAUTH_OK);
  cr_expect_eq(t.method, GAUTH__IAM_POST);
  cr_expect_str_eq(t.api, "Resource Manager v3");
  gauth__iam_target_cleanup(&t);
  cr_assert_eq(
      gauth__iam_target_resolve(&cfg, "projects/p/topics/t12", &t, NULL),
      GAUTH_OK);
  cr_expect_str_eq(t.api, "Pub/Sub v1");
  gauth__iam_target_cleanup(&t);
  gauth__config_cleanup(&cfg);
}

/* ---- overrides ----------------------------------------------------------- */

Test(iam_resource, gauth_endpoint_rewrites_every_service) {
  clear_env();
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:8080", 1);
  expect_endpoint(NULL, "projects/demo-project",
                  "POST http://127.0.0.1:8080/v1/projects/demo-project:"
                  "testIamPermissions");
  expect_endpoint(NULL, "organizations/5",
                  "POST http://127.0.0.1:8080/v3/organizations/5:"
                  "testIamPermissions");
  expect_endpoint(NULL, "projects/p/locations/l1/jobs/j",
                  "POST http://127.0.0.1:8080/v2/projects/p/locations/l1/"
                  "jobs/j:testIamPermissions");
  expect_endpoint(NULL,
                  "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com",
                  "POST http://127.0.0.1:8080/v1/projects/p/serviceAccounts/"
                  "a@p.iam.gserviceaccount.com:testIamPermissions");
  expect_endpoint(NULL, "projects/p/topics/abc",
                  "POST http://127.0.0.1:8080/v1/projects/p/topics/abc:"
                  "testIamPermissions");
  expect_endpoint(NULL, "projects/_/buckets/bkt",
                  "GET http://127.0.0.1:8080/storage/v1/b/bkt/iam/"
                  "testPermissions");
  /* A Google URL given as the resource is rewritten too; another host
   * is not. */
  expect_endpoint(NULL,
                  "https://run.googleapis.com/v2/projects/p/locations/"
                  "l/jobs/j:testIamPermissions",
                  "POST http://127.0.0.1:8080/v2/projects/p/locations/l/jobs/"
                  "j:testIamPermissions");
  expect_endpoint(NULL, "https://iam.example.test/v1/x:testIamPermissions",
                  "POST https://iam.example.test/v1/x:testIamPermissions");
}

Test(iam_resource, option_endpoint_and_per_service_options) {
  static const gauth_endpoint_override table[] = {
      {"pubsub", "https://pubsub.example.test"},
      {"storage", "http://localhost:4"},
      {NULL, NULL}};
  gauth_options o = GAUTH_OPTIONS_INIT;
  clear_env();
  setenv("GAUTH_ENDPOINT", "http://127.0.0.1:1", 1);
  o.endpoint = "http://127.0.0.1:2";
  o.run_endpoint = "http://127.0.0.1:3/run/";
  o.endpoints = table;
  o.resourcemanager_endpoint = "https://crm.example.test/base";
  o.iam_endpoint = "http://[::1]:5";
  /* Per-service options are used as given (a trailing '/' not doubled). */
  expect_endpoint(&o, "projects/p/locations/l/services/s",
                  "POST http://127.0.0.1:3/run/v2/projects/p/locations/l/"
                  "services/s:testIamPermissions");
  expect_endpoint(&o, "projects/p/subscriptions/sub",
                  "POST https://pubsub.example.test/v1/projects/p/"
                  "subscriptions/sub:testIamPermissions");
  expect_endpoint(&o, "projects/_/buckets/bkt",
                  "GET http://localhost:4/storage/v1/b/bkt/iam/"
                  "testPermissions");
  expect_endpoint(&o, "projects/p",
                  "POST https://crm.example.test/base/v1/projects/p:"
                  "testIamPermissions");
  expect_endpoint(&o, "projects/p/serviceAccounts/1",
                  "POST http://[::1]:5/v1/projects/p/serviceAccounts/1:"
                  "testIamPermissions");
  /* The option endpoint beats GAUTH_ENDPOINT. */
  o.run_endpoint = NULL;
  expect_endpoint(&o, "projects/p/locations/l/services/s",
                  "POST http://127.0.0.1:2/v2/projects/p/locations/l/"
                  "services/s:testIamPermissions");
}

Test(iam_resource, universe_domain) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  clear_env();
  o.universe_domain = "example-universe.test";
  expect_endpoint(&o, "projects/p",
                  "POST https://cloudresourcemanager.example-universe.test/"
                  "v1/projects/p:testIamPermissions");
  expect_endpoint(&o, "projects/p/locations/l/jobs/j",
                  "POST https://run.example-universe.test/v2/projects/p/"
                  "locations/l/jobs/j:testIamPermissions");
  expect_endpoint(&o, "projects/p/serviceAccounts/1",
                  "POST https://iam.example-universe.test/v1/projects/p/"
                  "serviceAccounts/1:testIamPermissions");
  expect_endpoint(&o, "projects/p/topics/top",
                  "POST https://pubsub.example-universe.test/v1/projects/p/"
                  "topics/top:testIamPermissions");
  expect_endpoint(&o, "projects/_/buckets/bkt",
                  "GET https://storage.example-universe.test/storage/v1/b/"
                  "bkt/iam/testPermissions");
  /* With an endpoint, the universe's hosts are rewritten too. */
  o.endpoint = "http://127.0.0.1:7";
  expect_endpoint(&o, "projects/p/topics/top",
                  "POST http://127.0.0.1:7/v1/projects/p/topics/top:"
                  "testIamPermissions");
}

Test(iam_resource, bad_options_are_reported) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  clear_env();
  o.version = 99;
  cr_expect_eq(gauth_iam_endpoint(&o, "projects/p", &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "version") != NULL, "%s", err.message);
  cr_expect_null(out);
  setenv("GAUTH_ENDPOINT", "ftp://x", 1);
  cr_expect_eq(gauth_iam_endpoint(NULL, "projects/p", &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "GAUTH_ENDPOINT") != NULL, "%s", err.message);
  cr_expect_eq(gauth_iam_endpoint(NULL, "projects/p", NULL, &err),
               GAUTH_E_INVALID_ARG);
}

/* ---- URLs as resources --------------------------------------------------- */

Test(iam_resource, urls_used_as_given) {
  clear_env();
  expect_endpoint(NULL,
                  "https://cloudresourcemanager.googleapis.com/v1/"
                  "projects/p:testIamPermissions",
                  "POST https://cloudresourcemanager.googleapis.com/v1/"
                  "projects/p:testIamPermissions");
  expect_endpoint(NULL,
                  "https://secretmanager.googleapis.com/v1/projects/p/"
                  "secrets/s:testIamPermissions",
                  "POST https://secretmanager.googleapis.com/v1/projects/p/"
                  "secrets/s:testIamPermissions");
  expect_endpoint(NULL, "http://127.0.0.1:9999/v1/x:testIamPermissions",
                  "POST http://127.0.0.1:9999/v1/x:testIamPermissions");
  expect_endpoint(NULL, "http://localhost/v9/a/b:testIamPermissions",
                  "POST http://localhost/v9/a/b:testIamPermissions");
}

Test(iam_resource, bad_urls) {
  static const char *const bad[] = {
      "http://example.com/v1/projects/p:testIamPermissions", /* plain http */
      "ftp://127.0.0.1/v1/p:testIamPermissions",
      "https://h/v1/projects/p", /* no verb */
      "https://h/v1/projects/p:getIamPolicy",
      "https://h/:testIamPermissions",                /* no resource */
      "https://u:secretpw@h/v1/p:testIamPermissions", /* user info */
      "https://h/v1/p:testIamPermissions?x=1",        /* query */
      "https://h/v1/p:testIamPermissions#f",          /* fragment */
      "https://h/v1/../p:testIamPermissions",         /* dot segments */
      "https://h/v1/./p:testIamPermissions",
      "https:///v1/p:testIamPermissions", /* no host */
      "://h/v1/p:testIamPermissions",
  };
  clear_env();
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(bad); i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    char *out = NULL;
    cr_expect_eq(gauth_iam_endpoint(NULL, bad[i], &out, &err),
                 GAUTH_E_INVALID_ARG, "\"%s\" accepted: %s", bad[i],
                 out ? out : "");
    gauth_free(out);
    cr_expect(strstr(err.message, "secretpw") == NULL, "%s", err.message);
    cr_expect(strstr(err.message, "understood:") != NULL, "%s", err.message);
  }
}

/* ---- malformed names ----------------------------------------------------- */

Test(iam_resource, missing_and_empty) {
  clear_env();
  expect_refused(NULL, "missing");
  expect_refused("", "missing");
  expect_refused("projects", "incomplete");
  expect_refused("projects/", "empty part");
  expect_refused("folders", "incomplete");
}

Test(iam_resource, empty_parts_and_slashes) {
  clear_env();
  expect_refused("projects/p/", "empty part");
  expect_refused("projects//locations/l/jobs/j", "empty part");
  expect_refused("/projects/p", "starts with '/'");
  expect_refused("projects/p/locations/l/jobs/j/", "empty part");
  expect_refused("projects/p/locations/l/jobs/j/x/y/z/w", "too many parts");
}

Test(iam_resource, dot_segments) {
  clear_env();
  expect_refused("projects/..", "'..'");
  expect_refused("projects/p/locations/../jobs/j", "'..'");
  expect_refused("projects/p/locations/l/jobs/.", "'..'");
}

Test(iam_resource, incomplete_names) {
  clear_env();
  expect_refused("projects/p/locations/l/jobs", "incomplete");
  expect_refused("projects/p/locations/l/services", "incomplete");
  expect_refused("projects/p/locations/l", "incomplete");
  expect_refused("projects/p/serviceAccounts", "incomplete");
  expect_refused("projects/_/buckets", "incomplete");
}

Test(iam_resource, unknown_collections) {
  clear_env();
  expect_refused("project/p", "not a resource name");
  expect_refused("Projects/p", "not a resource name");
  expect_refused("projects/p/locations/l/functions/f", "not a resource name");
  expect_refused("projects/p/instances/i", "not a resource name");
  expect_refused("buckets/b", "not a resource name");
  expect_refused("projects/p/buckets/b", "not a resource name");
  expect_refused("//run.googleapis.com/projects/p", NULL);
}

Test(iam_resource, characters_google_does_not_allow) {
  clear_env();
  expect_refused("projects/My-Project", "invalid project");
  expect_refused("projects/p_x", "invalid project");
  expect_refused("projects/-", "invalid project");
  expect_refused("projects/p-", "invalid project");
  expect_refused("projects/p/locations/US/jobs/j", "invalid location");
  expect_refused("projects/p/locations/l/jobs/Nightly", "invalid job name");
  expect_refused("projects/p/locations/l/jobs/1job", "invalid job name");
  expect_refused("projects/p/locations/l/jobs/job-", "invalid job name");
  expect_refused("projects/p/locations/l/services/a_b", "invalid service name");
  expect_refused(
      "projects/p/locations/l/services/"
      "a234567890123456789012345678901234567890123456789012345678901234",
      "invalid service name");
  expect_refused("projects/p/serviceAccounts/not-an-email",
                 "invalid service account");
  expect_refused("projects/p/serviceAccounts/a@", "invalid service account");
  expect_refused("projects/p/serviceAccounts/@x.com",
                 "invalid service account");
  expect_refused("projects/p/topics/ab", "invalid topic name");
  expect_refused("projects/p/topics/1abc", "invalid topic name");
  expect_refused("projects/p/topics/googthing", "invalid topic name");
  expect_refused("projects/p/subscriptions/a$bc", "invalid subscription name");
  expect_refused("projects/_/buckets/B", "invalid bucket name");
  expect_refused("projects/_/buckets/ab", "invalid bucket name");
  expect_refused("projects/_/buckets/-ab", "invalid bucket name");
  expect_refused("projects/p/buckets/b", NULL);
  expect_refused("folders/abc", "invalid folder");
  expect_refused("organizations/-1", "invalid organization");
  expect_refused("projects/p q", "space");
  expect_refused("projects/p\n", "control");
  expect_refused("projects/p\xc3\xa9", "non-ASCII");
}

Test(iam_resource, long_names) {
  char big[1100];
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  clear_env();
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  memcpy(big, "projects/", 9);
  expect_refused(big, "longer than 1024");
  /* A long invalid name is not echoed whole. */
  cr_expect_eq(gauth_iam_endpoint(NULL, big, &out, &err), GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "not shown") != NULL, "%s", err.message);
}

Test(iam_resource, message_names_the_resource) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  clear_env();
  cr_expect_eq(
      gauth_iam_endpoint(NULL, "projects/p/locations/l/jobs", &out, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "\"projects/p/locations/l/jobs\"") != NULL,
            "%s", err.message);
  cr_expect(
      strstr(err.message, "expected projects/P/locations/L/jobs/J") != NULL,
      "%s", err.message);
}

Test(iam_resource, forms_list) {
  char buf[512], small[20];
  gauth__iam_resource_forms(buf, sizeof buf);
  cr_expect_str_eq(buf,
                   "projects/P, folders/F, organizations/O, "
                   "projects/P/locations/L/jobs/J, "
                   "projects/P/locations/L/services/S, "
                   "projects/P/serviceAccounts/EMAIL, projects/P/topics/T, "
                   "projects/P/subscriptions/S, projects/_/buckets/B, or "
                   "an https://...:testIamPermissions URL");
  gauth__iam_resource_forms(small, sizeof small);
  cr_expect_eq(strlen(small), sizeof small - 1);
}
