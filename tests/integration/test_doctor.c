/* gauth_doctor_diagnose against the fixture's emulator, as its invoker
 * (scheduler@, granted roles/viewer on the project for the reads): the
 * seed's job (an OIDC token to the Cloud Run Admin API's :run, v2 and v1
 * paths) is oidc_token_to_google_api with the fix; once fixed (an OAuth
 * token) it is ok; one attempt (send) of the seed's job reads the 401;
 * an access token to the Cloud Run service, a job of a missing account,
 * a :run of a job that does not exist and a missing grant are named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define RUN_V2                                                                 \
  "https://run.googleapis.com/v2/projects/demo-project/locations/us-central1/" \
  "jobs/collect:run"
#define RUN_V1                                                        \
  "https://run.googleapis.com/apis/run.googleapis.com/v1/namespaces/" \
  "demo-project/jobs/collect:run"
#define VIEWER                                                         \
  "{\"resource\":\"projects/demo-project\",\"role\":\"roles/viewer\"," \
  "\"member\":\"serviceAccount:" SCHEDULER "\"}"
#define INVOKER                                                       \
  "{\"resource\":\"projects/demo-project/locations/us-central1/jobs/" \
  "collect\",\"role\":\"roles/run.invoker\",\"member\":"              \
  "\"serviceAccount:" SCHEDULER "\"}"

static gauth_options opts;
static gauth_credentials *caller;

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(emu_fixture_url(), path, body, &out);
  cr_assert_eq(st, 200, "%s: %ld %s", path, st, out ? out : "");
  free(out);
}

static void setup(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  opts = o;
  opts.endpoint = emu_fixture_url();
  opts.timeout_ms = 10000;
  co.options = &opts;
  cr_assert_eq(
      gauth_credentials_from_file(&caller, emu_fixture_key_file(), &co, &err),
      GAUTH_OK, "%s", err.message);
  control("/emulator/v1/clock", "{\"offset_seconds\":0}");
  control("/emulator/v1/policy:add", VIEWER);
}

static void teardown(void) {
  char *out = NULL;
  emu_control(emu_fixture_url(), "/emulator/v1/policy:remove", VIEWER, &out);
  free(out);
  gauth_credentials_free(caller);
}

TestSuite(doctor, .init = setup, .fini = teardown, .timeout = 60);

static gauth_scheduler_job *job_of(const char *name, const char *uri,
                                   const char *token, const char *email,
                                   const char *status) {
  char text[2048];
  gauth_scheduler_job *job = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(text, sizeof text,
           "{%s%s%s\"httpTarget\":{\"uri\":\"%s\"%s%s%s%s%s}%s}",
           name ? "\"name\":\"" : "", name ? name : "", name ? "\"," : "", uri,
           token ? ",\"" : "", token ? token : "",
           token ? "\":{\"serviceAccountEmail\":\"" : "", token ? email : "",
           token ? "\"}" : "", status ? status : "");
  cr_assert_eq(gauth_scheduler_job_from_json(&job, text, strlen(text), &err),
               GAUTH_OK, "%s: %s", text, err.message);
  return job;
}

static gauth_diagnosis *diagnose(const gauth_scheduler_job *job, int send) {
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  in.job = job;
  in.send = send;
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, &err), GAUTH_OK,
               "%s", err.message);
  return d;
}

static const char *check(const gauth_diagnosis *d, const char *name) {
  size_t i;
  for (i = 0; i < gauth_diagnosis_check_count(d); i++)
    if (strcmp(gauth_diagnosis_check_name(d, i), name) == 0)
      return gauth_doctor_check_result_name(gauth_diagnosis_check_result(d, i));
  return "absent";
}

static int fix_has(const gauth_diagnosis *d, const char *text) {
  size_t j;
  for (j = 0; j < gauth_diagnosis_fix_count(d, 0); j++)
    if (strstr(gauth_diagnosis_fix(d, 0, j), text) != NULL) return 1;
  return 0;
}

static void expect_root(gauth_diagnosis *d, gauth_doctor_cause want) {
  char *json = gauth_diagnosis_to_json(d);
  cr_assert_eq(gauth_diagnosis_root_cause(d), want, "%s", json);
  /* Never a token. */
  cr_assert_null(strstr(json, "eyJ"), "%s", json);
  cr_assert_null(strstr(json, "ya29."), "%s", json);
  gauth_free(json);
}

Test(doctor, seed_job_oidc_to_run_v2) {
  gauth_scheduler_job *job = job_of(
      "projects/demo-project/locations/us-central1/jobs/nightly", RUN_V2,
      "oidcToken", SCHEDULER,
      ",\"status\":{\"code\":16},\"lastAttemptTime\":\"2026-01-01T00:00:00Z\"");
  gauth_diagnosis *d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API);
  cr_assert_str_eq(check(d, "token_type"), "fail");
  cr_assert_str_eq(check(d, "job"), "fail");
  cr_assert_str_eq(check(d, "attempt"), "skipped");
  cr_assert(fix_has(d,
                    "gcloud scheduler jobs update http nightly "
                    "--location=us-central1 --project=demo-project "
                    "--oauth-service-account-email=" SCHEDULER
                    " --oauth-token-scope=https://www.googleapis.com/auth/"
                    "cloud-platform"));
  cr_assert(fix_has(d, "httpTarget.oauthToken"));
  /* The permission is there: no IAM change is suggested. */
  cr_assert_eq(gauth_diagnosis_cause_count(d), 1);
  cr_assert_str_eq(check(d, "permission"), "ok");
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

Test(doctor, seed_job_oidc_to_run_v1_path) {
  gauth_scheduler_job *job =
      job_of("projects/demo-project/locations/us-central1/jobs/nightly", RUN_V1,
             "oidcToken", SCHEDULER, NULL);
  gauth_diagnosis *d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API);
  cr_assert_not_null(strstr(gauth_diagnosis_check_detail(d, 1),
                            "projects/demo-project/locations/us-central1/"
                            "jobs/collect"),
                     "%s", gauth_diagnosis_check_detail(d, 1));
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

Test(doctor, seed_job_sent_once_reads_the_401) {
  gauth_scheduler_job *job =
      job_of("projects/demo-project/locations/us-central1/jobs/nightly", RUN_V2,
             "oidcToken", SCHEDULER, NULL);
  gauth_diagnosis *d = diagnose(job, 1);
  expect_root(d, GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API);
  cr_assert_str_eq(check(d, "attempt"), "fail");
  cr_assert_str_eq(check(d, "clock"), "ok");
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

/* After the fix: an OAuth token. The project by its number in the name
 * (Cloud Scheduler's service agent is service-NUMBER@...). */
Test(doctor, fixed_job_is_ok) {
  gauth_scheduler_job *job =
      job_of("projects/123456789012/locations/us-central1/jobs/nightly", RUN_V2,
             "oauthToken", SCHEDULER, NULL);
  gauth_diagnosis *d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_OK);
  cr_assert_str_eq(check(d, "mint"), "ok");
  cr_assert_str_eq(check(d, "permission"), "ok");
  cr_assert_not_null(strstr(gauth_diagnosis_summary(d), "permission"));
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

Test(doctor, access_token_to_the_run_service) {
  char uri[512];
  gauth_scheduler_job *job;
  gauth_diagnosis *d;
  snprintf(uri, sizeof uri, "%s/services/collector", emu_fixture_run_url());
  job = job_of(NULL, uri, "oauthToken", SCHEDULER, NULL);
  d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_ACCESS_TOKEN_TO_RUN_SERVICE);
  cr_assert(fix_has(d, "--oidc-token-audience="));
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

Test(doctor, missing_account) {
  gauth_scheduler_job *job =
      job_of(NULL, RUN_V2, "oauthToken",
             "ghost@demo-project.iam.gserviceaccount.com", NULL);
  gauth_diagnosis *d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_SERVICE_ACCOUNT_NOT_FOUND);
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

Test(doctor, run_of_a_job_that_does_not_exist) {
  gauth_scheduler_job *job =
      job_of(NULL,
             "https://run.googleapis.com/v2/projects/demo-project/locations/"
             "us-central1/jobs/nope:run",
             "oauthToken", SCHEDULER, NULL);
  gauth_diagnosis *d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_TARGET_NOT_FOUND);
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

Test(doctor, missing_grant_names_the_role_and_the_command) {
  gauth_scheduler_job *job =
      job_of(NULL, RUN_V2, "oauthToken", SCHEDULER, NULL);
  gauth_diagnosis *d;
  control("/emulator/v1/policy:remove", INVOKER);
  d = diagnose(job, 0);
  control("/emulator/v1/policy:add", INVOKER);
  expect_root(d, GAUTH_DOCTOR_MISSING_PERMISSION);
  cr_assert_not_null(strstr(gauth_diagnosis_summary(d), "run.jobs.run"));
  cr_assert(fix_has(d,
                    "gcloud run jobs add-iam-policy-binding collect "
                    "--region=us-central1 --project=demo-project "
                    "--member=serviceAccount:" SCHEDULER
                    " --role=roles/run.invoker"));
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

Test(doctor, run_of_a_job_in_another_region_names_the_right_one) {
  gauth_scheduler_job *job =
      job_of("projects/demo-project/locations/us-central1/jobs/nightly",
             "https://run.googleapis.com/v2/projects/demo-project/locations/"
             "europe-west1/jobs/collect:run",
             "oauthToken", SCHEDULER, NULL);
  gauth_diagnosis *d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_TARGET_NOT_FOUND);
  cr_assert_not_null(strstr(gauth_diagnosis_summary(d), "wrong region"), "%s",
                     gauth_diagnosis_summary(d));
  cr_assert(fix_has(d,
                    "--uri=https://run.googleapis.com/v2/projects/"
                    "demo-project/locations/us-central1/jobs/collect:run"));
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}

Test(doctor, id_token_audience_the_service_does_not_accept) {
  char uri[512], text[1024];
  gauth_scheduler_job *job = NULL;
  gauth_diagnosis *d;
  snprintf(uri, sizeof uri, "%s/services/collector", emu_fixture_run_url());
  snprintf(text, sizeof text,
           "{\"httpTarget\":{\"uri\":\"%s\",\"oidcToken\":{"
           "\"serviceAccountEmail\":\"" SCHEDULER
           "\",\"audience\":\"https://wrong.example\"}}}",
           uri);
  cr_assert_eq(gauth_scheduler_job_from_json(&job, text, strlen(text), NULL),
               GAUTH_OK);
  d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_AUDIENCE_MISMATCH);
  cr_assert(fix_has(d, uri));
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
  /* The service's own URL (the default audience: the uri) is accepted. */
  snprintf(text, sizeof text,
           "{\"httpTarget\":{\"uri\":\"%s\",\"oidcToken\":{"
           "\"serviceAccountEmail\":\"" SCHEDULER "\"}}}",
           uri);
  cr_assert_eq(gauth_scheduler_job_from_json(&job, text, strlen(text), NULL),
               GAUTH_OK);
  d = diagnose(job, 0);
  expect_root(d, GAUTH_DOCTOR_OK);
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}
