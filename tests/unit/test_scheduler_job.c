/* lib/scheduler_job.c: Cloud Scheduler v1 Jobs as the REST API and gcloud
 * print them, Google's defaults, Google's limits, durations and times.
 * Pure, no I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

#include "scheduler_internal.h"

/* Parses text; fails the test on an error. */
static gauth_scheduler_job *parse_ok(const char *text) {
  gauth_scheduler_job *job = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st;
  err.code = GAUTH_E_INTERNAL; /* left from an earlier call */
  st = gauth_scheduler_job_from_json(&job, text, strlen(text), &err);
  cr_assert_eq(st, GAUTH_OK, "%s\nin: %.300s", err.message, text);
  cr_assert_not_null(job);
  cr_assert_eq(err.code, GAUTH_OK, "err not cleared on success");
  return job;
}

/* The refusal of text: `code`, *out NULL, the message containing `needle`
 * and never "SECRETVALUE". */
static void expect_refused_code(const char *text, gauth_status code,
                                const char *needle) {
  gauth_scheduler_job *job = (gauth_scheduler_job *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st =
      gauth_scheduler_job_from_json(&job, text, strlen(text), &err);
  /* %.300s: a failure report of megabytes would stall Criterion's pipe. */
  cr_expect_eq(st, code, "status %d, want %d for: %.300s (%s)", st, code, text,
               err.message);
  if (st == GAUTH_OK) {
    gauth_scheduler_job_free(job);
    return;
  }
  cr_expect_null(job, "out not NULL on failure: %.300s", text);
  cr_expect_eq(err.code, st);
  cr_expect(strstr(err.message, needle) != NULL,
            "want \"%s\" in: %s\n(for %.300s)", needle, err.message, text);
  cr_expect(strstr(err.message, "SECRETVALUE") == NULL, "secret shown: %s",
            err.message);
}

static void expect_refused(const char *text, const char *needle) {
  expect_refused_code(text, GAUTH_E_MALFORMED, needle);
}

/* A job with an HTTP target: `target_extra` is spliced into httpTarget
 * (after the uri), `job_extra` into the job. */
static char *http_job(const char *target_extra, const char *job_extra) {
  static char buf[8192];
  snprintf(buf, sizeof(buf),
           "{\"name\":\"projects/p/locations/l/jobs/j\",\"httpTarget\":"
           "{\"uri\":\"https://hello-abc123-uc.a.run.app/run\"%s%s}%s%s}",
           target_extra[0] ? "," : "", target_extra, job_extra[0] ? "," : "",
           job_extra);
  return buf;
}

/* ---- real jobs ----------------------------------------------------------- */

/* What `gcloud scheduler jobs describe JOB --format=json` prints for a job
 * calling a Cloud Run service with an OIDC token and no audience. */
static const char gcloud_job[] =
    "{\n"
    "  \"attemptDeadline\": \"180s\",\n"
    "  \"httpTarget\": {\n"
    "    \"body\": \"eyJraW5kIjoibmlnaHRseSJ9\",\n"
    "    \"headers\": {\n"
    "      \"Content-Type\": \"application/json\",\n"
    "      \"User-Agent\": \"Google-Cloud-Scheduler\"\n"
    "    },\n"
    "    \"httpMethod\": \"POST\",\n"
    "    \"oidcToken\": {\n"
    "      \"serviceAccountEmail\": "
    "\"invoker@demo-project.iam.gserviceaccount.com\"\n"
    "    },\n"
    "    \"uri\": \"https://collector-abc123-uc.a.run.app/tasks/nightly\"\n"
    "  },\n"
    "  \"lastAttemptTime\": \"2026-05-01T03:00:00.512934Z\",\n"
    "  \"name\": "
    "\"projects/demo-project/locations/us-central1/jobs/nightly\",\n"
    "  \"retryConfig\": {\n"
    "    \"maxBackoffDuration\": \"3600s\",\n"
    "    \"maxDoublings\": 5,\n"
    "    \"maxRetryDuration\": \"0s\",\n"
    "    \"minBackoffDuration\": \"5s\"\n"
    "  },\n"
    "  \"schedule\": \"0 3 * * *\",\n"
    "  \"scheduleTime\": \"2026-05-02T03:00:00.119Z\",\n"
    "  \"state\": \"ENABLED\",\n"
    "  \"status\": {\n"
    "    \"code\": 16,\n"
    "    \"message\": \"Request had invalid authentication credentials.\"\n"
    "  },\n"
    "  \"timeZone\": \"Etc/UTC\",\n"
    "  \"userUpdateTime\": \"2026-04-30T12:34:56Z\"\n"
    "}\n";

Test(scheduler_job, gcloud_describe_json) {
  gauth_scheduler_job *job = parse_ok(gcloud_job);
  const gauth_scheduler_retry_config *r = gauth_scheduler_job_retry_config(job);
  size_t len = 0;
  const unsigned char *body = gauth_scheduler_job_body(job, &len);
  cr_expect_str_eq(gauth_scheduler_job_name(job),
                   "projects/demo-project/locations/us-central1/jobs/nightly");
  cr_expect_str_eq(gauth_scheduler_job_schedule(job), "0 3 * * *");
  cr_expect_str_eq(gauth_scheduler_job_time_zone(job), "Etc/UTC");
  cr_expect_str_eq(gauth_scheduler_job_description(job), "");
  cr_expect_eq(gauth_scheduler_job_state(job), GAUTH_SCHEDULER_STATE_ENABLED);
  cr_expect_eq(gauth_scheduler_job_target(job), GAUTH_SCHEDULER_TARGET_HTTP);
  cr_expect_str_eq(gauth_scheduler_job_uri(job),
                   "https://collector-abc123-uc.a.run.app/tasks/nightly");
  cr_expect_str_eq(gauth_scheduler_job_http_method(job), "POST");
  cr_assert_eq(gauth_scheduler_job_header_count(job), 2);
  cr_expect_str_eq(gauth_scheduler_job_header_name(job, 0), "Content-Type");
  cr_expect_str_eq(gauth_scheduler_job_header_value(job, 0),
                   "application/json");
  cr_expect_str_eq(gauth_scheduler_job_header_name(job, 1), "User-Agent");
  cr_expect_str_eq(gauth_scheduler_job_header_value(job, 1),
                   "Google-Cloud-Scheduler");
  cr_expect_null(gauth_scheduler_job_header_name(job, 2));
  cr_expect_null(gauth_scheduler_job_header_value(job, 2));
  cr_assert_eq(len, 18);
  cr_expect_eq(memcmp(body, "{\"kind\":\"nightly\"}", 18), 0);
  cr_expect_eq(gauth_scheduler_job_token(job), GAUTH_SCHEDULER_TOKEN_OIDC);
  cr_expect_str_eq(gauth_scheduler_job_service_account(job),
                   "invoker@demo-project.iam.gserviceaccount.com");
  /* No audience: Cloud Scheduler uses the uri. */
  cr_expect_str_eq(gauth_scheduler_job_audience(job),
                   "https://collector-abc123-uc.a.run.app/tasks/nightly");
  cr_expect_null(gauth_scheduler_job_scope(job));
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 180000);
  cr_expect_eq(r->retry_count, 0);
  cr_expect_eq(r->max_retry_duration_ms, 0);
  cr_expect_eq(r->min_backoff_ms, 5000);
  cr_expect_eq(r->max_backoff_ms, 3600000);
  cr_expect_eq(r->max_doublings, 5);
  cr_expect_eq(gauth_scheduler_job_status_code(job), 16);
  cr_expect_str_eq(gauth_scheduler_job_status_message(job),
                   "Request had invalid authentication credentials.");
  /* date -u -d 2026-05-01T03:00:00Z +%s */
  cr_expect_eq(gauth_scheduler_job_last_attempt_time(job), 1777604400);
  cr_expect_eq(gauth_scheduler_job_schedule_time(job), 1777690800);
  cr_expect_eq(gauth_scheduler_job_user_update_time(job), 1777552496);
  gauth_scheduler_job_free(job);
}

/* The REST API's answer for a job running a Cloud Run job through the Admin
 * API with an OAuth token, proto3 int64s as strings. */
Test(scheduler_job, rest_json_oauth_and_int_strings) {
  gauth_scheduler_job *job = parse_ok(
      "{\"name\":\"projects/p/locations/europe-west1/jobs/run-etl\","
      "\"description\":\"Runs the ETL job\","
      "\"httpTarget\":{\"uri\":\"https://run.googleapis.com/v2/projects/p/"
      "locations/europe-west1/jobs/etl:run\",\"httpMethod\":\"POST\","
      "\"oauthToken\":{\"serviceAccountEmail\":\"sched@p.iam."
      "gserviceaccount.com\"}},"
      "\"retryConfig\":{\"retryCount\":\"3\",\"maxDoublings\":\"2\","
      "\"maxRetryDuration\":\"600s\",\"minBackoffDuration\":\"10s\","
      "\"maxBackoffDuration\":\"300.5s\"},"
      "\"attemptDeadline\":\"1800s\",\"state\":\"PAUSED\","
      "\"status\":{\"code\":\"7\",\"message\":\"PERMISSION_DENIED\"},"
      "\"timeZone\":\"Europe/Paris\"}");
  const gauth_scheduler_retry_config *r = gauth_scheduler_job_retry_config(job);
  cr_expect_eq(gauth_scheduler_job_token(job), GAUTH_SCHEDULER_TOKEN_OAUTH);
  cr_expect_str_eq(gauth_scheduler_job_service_account(job),
                   "sched@p.iam.gserviceaccount.com");
  cr_expect_str_eq(gauth_scheduler_job_scope(job),
                   "https://www.googleapis.com/auth/cloud-platform");
  cr_expect_str_eq(gauth_scheduler_job_scope(job),
                   GAUTH_SCHEDULER_DEFAULT_SCOPE);
  cr_expect_null(gauth_scheduler_job_audience(job));
  cr_expect_str_eq(gauth_scheduler_job_description(job), "Runs the ETL job");
  cr_expect_eq(gauth_scheduler_job_state(job), GAUTH_SCHEDULER_STATE_PAUSED);
  cr_expect_eq(r->retry_count, 3);
  cr_expect_eq(r->max_doublings, 2);
  cr_expect_eq(r->max_retry_duration_ms, 600000);
  cr_expect_eq(r->min_backoff_ms, 10000);
  cr_expect_eq(r->max_backoff_ms, 300500);
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 1800000);
  cr_expect_eq(gauth_scheduler_job_status_code(job), 7);
  cr_expect_eq(gauth_scheduler_job_header_count(job), 0);
  cr_expect_null(gauth_scheduler_job_body(job, NULL));
  gauth_scheduler_job_free(job);
}

Test(scheduler_job, explicit_audience_and_scope_are_kept) {
  gauth_scheduler_job *job = parse_ok(http_job(
      "\"oidcToken\":{\"serviceAccountEmail\":\"a@p.iam.gserviceaccount.com\","
      "\"audience\":\"https://hello-abc123-uc.a.run.app\"}",
      ""));
  cr_expect_str_eq(gauth_scheduler_job_audience(job),
                   "https://hello-abc123-uc.a.run.app");
  gauth_scheduler_job_free(job);
  job = parse_ok(http_job(
      "\"oauthToken\":{\"serviceAccountEmail\":\"a@p.iam.gserviceaccount.com\","
      "\"scope\":\"https://www.googleapis.com/auth/pubsub\"}",
      ""));
  cr_expect_str_eq(gauth_scheduler_job_scope(job),
                   "https://www.googleapis.com/auth/pubsub");
  gauth_scheduler_job_free(job);
  /* "" is proto3's absent: the default applies. */
  job = parse_ok(http_job(
      "\"oidcToken\":{\"serviceAccountEmail\":\"a@p.iam.gserviceaccount.com\","
      "\"audience\":\"\"}",
      ""));
  cr_expect_str_eq(gauth_scheduler_job_audience(job),
                   "https://hello-abc123-uc.a.run.app/run");
  gauth_scheduler_job_free(job);
}

/* ---- Google's defaults --------------------------------------------------- */

Test(scheduler_job, defaults_of_a_minimal_job) {
  gauth_scheduler_job *job =
      parse_ok("{\"httpTarget\":{\"uri\":\"http://example.com\"}}");
  const gauth_scheduler_retry_config *r = gauth_scheduler_job_retry_config(job);
  size_t len = 7;
  cr_expect_str_eq(gauth_scheduler_job_http_method(job), "POST");
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 180000);
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job),
               GAUTH_SCHEDULER_DEFAULT_ATTEMPT_DEADLINE_MS);
  cr_expect_eq(r->retry_count, GAUTH_SCHEDULER_DEFAULT_RETRY_COUNT);
  cr_expect_eq(r->retry_count, 0);
  cr_expect_eq(r->max_retry_duration_ms, 0);
  cr_expect_eq(r->min_backoff_ms, 5000);
  cr_expect_eq(r->max_backoff_ms, 3600000);
  cr_expect_eq(r->max_doublings, 5);
  cr_expect_eq(gauth_scheduler_job_token(job), GAUTH_SCHEDULER_TOKEN_NONE);
  cr_expect_null(gauth_scheduler_job_service_account(job));
  cr_expect_null(gauth_scheduler_job_audience(job));
  cr_expect_null(gauth_scheduler_job_scope(job));
  cr_expect_str_eq(gauth_scheduler_job_name(job), "");
  cr_expect_str_eq(gauth_scheduler_job_schedule(job), "");
  cr_expect_str_eq(gauth_scheduler_job_time_zone(job), "");
  cr_expect_eq(gauth_scheduler_job_state(job),
               GAUTH_SCHEDULER_STATE_UNSPECIFIED);
  cr_expect_eq(gauth_scheduler_job_status_code(job), 0);
  cr_expect_str_eq(gauth_scheduler_job_status_message(job), "");
  cr_expect_eq(gauth_scheduler_job_last_attempt_time(job), 0);
  cr_expect_eq(gauth_scheduler_job_schedule_time(job), 0);
  cr_expect_eq(gauth_scheduler_job_user_update_time(job), 0);
  cr_expect_eq(gauth_scheduler_job_header_count(job), 0);
  cr_expect_null(gauth_scheduler_job_body(job, &len));
  cr_expect_eq(len, 0);
  gauth_scheduler_job_free(job);
}

Test(scheduler_job, partial_retry_config_takes_defaults_for_the_rest) {
  gauth_scheduler_job *job =
      parse_ok(http_job("", "\"retryConfig\":{\"retryCount\":2}"));
  const gauth_scheduler_retry_config *r = gauth_scheduler_job_retry_config(job);
  cr_expect_eq(r->retry_count, 2);
  cr_expect_eq(r->max_doublings, 5);
  cr_expect_eq(r->min_backoff_ms, 5000);
  cr_expect_eq(r->max_backoff_ms, 3600000);
  cr_expect_eq(r->max_retry_duration_ms, 0);
  gauth_scheduler_job_free(job);
  /* An explicit 0 is what it says; so is a min equal to the max. */
  job = parse_ok(http_job("",
                          "\"retryConfig\":{\"maxDoublings\":0,"
                          "\"minBackoffDuration\":\"0s\","
                          "\"maxBackoffDuration\":\"0s\"}"));
  r = gauth_scheduler_job_retry_config(job);
  cr_expect_eq(r->max_doublings, 0);
  cr_expect_eq(r->min_backoff_ms, 0);
  cr_expect_eq(r->max_backoff_ms, 0);
  gauth_scheduler_job_free(job);
}

Test(scheduler_job, methods_states_and_nulls) {
  static const char *const methods[] = {"POST",   "GET",   "HEAD",   "PUT",
                                        "DELETE", "PATCH", "OPTIONS"};
  char extra[80];
  gauth_scheduler_job *job;
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
    snprintf(extra, sizeof(extra), "\"httpMethod\":\"%s\"", methods[i]);
    job = parse_ok(http_job(extra, ""));
    cr_expect_str_eq(gauth_scheduler_job_http_method(job), methods[i]);
    gauth_scheduler_job_free(job);
  }
  job = parse_ok(http_job("\"httpMethod\":\"HTTP_METHOD_UNSPECIFIED\"", ""));
  cr_expect_str_eq(gauth_scheduler_job_http_method(job), "POST");
  gauth_scheduler_job_free(job);
  /* proto3 JSON enums may also be numbers. */
  job = parse_ok(http_job("\"httpMethod\":2", "\"state\":3"));
  cr_expect_str_eq(gauth_scheduler_job_http_method(job), "GET");
  cr_expect_eq(gauth_scheduler_job_state(job), GAUTH_SCHEDULER_STATE_DISABLED);
  gauth_scheduler_job_free(job);
  job = parse_ok(http_job("\"httpMethod\":null",
                          "\"state\":\"UPDATE_FAILED\","
                          "\"retryConfig\":null,"
                          "\"status\":null,"
                          "\"description\":null"));
  cr_expect_str_eq(gauth_scheduler_job_http_method(job), "POST");
  cr_expect_eq(gauth_scheduler_job_state(job),
               GAUTH_SCHEDULER_STATE_UPDATE_FAILED);
  cr_expect_eq(gauth_scheduler_job_retry_config(job)->max_doublings, 5);
  cr_expect_str_eq(gauth_scheduler_job_description(job), "");
  gauth_scheduler_job_free(job);
}

Test(scheduler_job, unknown_members_are_ignored) {
  gauth_scheduler_job *job = parse_ok(
      http_job("\"futureAuth\":{\"x\":1},\"http2\":true",
               "\"legacyAppEngineCron\":false,\"labels\":{\"team\":\"data\"},"
               "\"status\":{\"code\":0,\"details\":[{\"@type\":\"x\"}]}"));
  cr_expect_eq(gauth_scheduler_job_token(job), GAUTH_SCHEDULER_TOKEN_NONE);
  cr_expect_eq(gauth_scheduler_job_status_code(job), 0);
  gauth_scheduler_job_free(job);
}

/* ---- other targets ------------------------------------------------------- */

Test(scheduler_job, pubsub_target_is_reported_not_invoked) {
  gauth_scheduler_job *job = parse_ok(
      "{\"name\":\"projects/p/locations/l/jobs/tick\",\"pubsubTarget\":"
      "{\"topicName\":\"projects/p/topics/ticks\",\"data\":\"dGljaw==\"},"
      "\"schedule\":\"*/5 * * * *\",\"attemptDeadline\":\"5s\"}");
  cr_expect_eq(gauth_scheduler_job_target(job), GAUTH_SCHEDULER_TARGET_PUBSUB);
  cr_expect_null(gauth_scheduler_job_uri(job));
  cr_expect_null(gauth_scheduler_job_http_method(job));
  cr_expect_eq(gauth_scheduler_job_token(job), GAUTH_SCHEDULER_TOKEN_NONE);
  /* Ignored by Google for Pub/Sub: reported as given, not range-checked. */
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 5000);
  cr_expect_eq(gauth_scheduler_job_retry_config(job)->min_backoff_ms, 5000);
  gauth_scheduler_job_free(job);
}

Test(scheduler_job, app_engine_target_and_its_deadlines) {
  gauth_scheduler_job *job = parse_ok(
      "{\"appEngineHttpTarget\":{\"httpMethod\":\"GET\","
      "\"relativeUri\":\"/cron/cleanup\",\"appEngineRouting\":"
      "{\"service\":\"worker\"}}}");
  cr_expect_eq(gauth_scheduler_job_target(job),
               GAUTH_SCHEDULER_TARGET_APP_ENGINE);
  cr_expect_null(gauth_scheduler_job_uri(job));
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 0);
  gauth_scheduler_job_free(job);
  job = parse_ok("{\"appEngineHttpTarget\":{},\"attemptDeadline\":\"0s\"}");
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 0);
  gauth_scheduler_job_free(job);
  job = parse_ok("{\"appEngineHttpTarget\":{},\"attemptDeadline\":\"86415s\"}");
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 86415000);
  gauth_scheduler_job_free(job);
  expect_refused("{\"appEngineHttpTarget\":{},\"attemptDeadline\":\"14s\"}",
                 "job.attemptDeadline is 14s");
  expect_refused(
      "{\"appEngineHttpTarget\":{},"
      "\"attemptDeadline\":\"86415.000000001s\"}",
      "App Engine");
  expect_refused("{\"appEngineHttpTarget\":{},\"attemptDeadline\":\"0.001s\"}",
                 "App Engine");
  /* Not 0, though under a millisecond. */
  expect_refused(
      "{\"appEngineHttpTarget\":{},"
      "\"attemptDeadline\":\"0.000001s\"}",
      "job.attemptDeadline is 0.000001s: an App Engine");
}

/* ---- Google's limits ----------------------------------------------------- */

Test(scheduler_job, attempt_deadline_bounds_for_http) {
  gauth_scheduler_job *job = parse_ok(http_job("",
                                               "\"attemptDeadline\":"
                                               "\"15s\""));
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 15000);
  gauth_scheduler_job_free(job);
  job = parse_ok(http_job("", "\"attemptDeadline\":\"1800.000000000s\""));
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 1800000);
  gauth_scheduler_job_free(job);
  job = parse_ok(http_job("", "\"attemptDeadline\":\"320.5s\""));
  cr_expect_eq(gauth_scheduler_job_attempt_deadline_ms(job), 320500);
  gauth_scheduler_job_free(job);
  expect_refused(http_job("", "\"attemptDeadline\":\"14.999999999s\""),
                 "job.attemptDeadline is 14.999999999s: an HTTP target's "
                 "must be from 15s to 1800s");
  expect_refused(http_job("", "\"attemptDeadline\":\"1800.000000001s\""),
                 "job.attemptDeadline is 1800.000000001s");
  expect_refused(http_job("", "\"attemptDeadline\":\"0s\""),
                 "job.attemptDeadline is 0s");
  expect_refused(http_job("", "\"attemptDeadline\":\"3m\""),
                 "job.attemptDeadline \"3m\" is not a duration");
  expect_refused(http_job("", "\"attemptDeadline\":180"),
                 "field \"attemptDeadline\" is a number, expected a string");
}

Test(scheduler_job, retry_config_limits) {
  gauth_scheduler_job *job =
      parse_ok(http_job("", "\"retryConfig\":{\"retryCount\":5}"));
  cr_expect_eq(gauth_scheduler_job_retry_config(job)->retry_count, 5);
  gauth_scheduler_job_free(job);
  expect_refused(http_job("", "\"retryConfig\":{\"retryCount\":7}"),
                 "job.retryConfig.retryCount is 7: at most 5");
  expect_refused(http_job("", "\"retryConfig\":{\"retryCount\":\"6\"}"),
                 "job.retryConfig.retryCount is 6: at most 5");
  expect_refused(http_job("", "\"retryConfig\":{\"retryCount\":-1}"),
                 "job.retryConfig.retryCount is -1: negative");
  expect_refused(http_job("", "\"retryConfig\":{\"retryCount\":1.5}"),
                 "retryCount");
  expect_refused(http_job("", "\"retryConfig\":{\"retryCount\":\"3x\"}"),
                 "job.retryConfig.retryCount is a string that is not an "
                 "integer");
  expect_refused(http_job("", "\"retryConfig\":{\"retryCount\":true}"),
                 "job.retryConfig.retryCount is a boolean, expected an "
                 "integer");
  expect_refused(http_job("",
                          "\"retryConfig\":{\"retryCount\":"
                          "\"99999999999\"}"),
                 "job.retryConfig.retryCount is out of range");
  expect_refused(http_job("",
                          "\"retryConfig\":{\"retryCount\":"
                          "\"99999999999999999999\"}"),
                 "job.retryConfig.retryCount is out of range");
  expect_refused(http_job("", "\"retryConfig\":{\"maxDoublings\":-2}"),
                 "job.retryConfig.maxDoublings is -2: negative");
  expect_refused(http_job("",
                          "\"retryConfig\":{\"minBackoffDuration\":"
                          "\"10s\",\"maxBackoffDuration\":\"5s\"}"),
                 "job.retryConfig.minBackoffDuration is 10s, above "
                 "maxBackoffDuration 5s");
  expect_refused(http_job("",
                          "\"retryConfig\":{\"minBackoffDuration\":"
                          "\"7200s\"}"),
                 "above maxBackoffDuration 3600s (the default)");
  expect_refused(http_job("",
                          "\"retryConfig\":{\"maxBackoffDuration\":"
                          "\"1s\"}"),
                 "minBackoffDuration is 5s (the default), above");
  expect_refused(http_job("",
                          "\"retryConfig\":{\"minBackoffDuration\":"
                          "\"5.000000001s\",\"maxBackoffDuration\":"
                          "\"5s\"}"),
                 "above maxBackoffDuration");
  expect_refused(http_job("",
                          "\"retryConfig\":{\"maxRetryDuration\":"
                          "\"-1s\"}"),
                 "job.retryConfig.maxRetryDuration \"-1s\" is negative");
  expect_refused(http_job("", "\"retryConfig\":{\"minBackoffDuration\":5}"),
                 "job.retryConfig: field \"minBackoffDuration\" is a number");
  expect_refused(http_job("", "\"retryConfig\":[]"),
                 "job: field \"retryConfig\" is an array, expected an object");
}

Test(scheduler_job, targets_and_tokens_refused) {
  expect_refused("{\"name\":\"projects/p/locations/l/jobs/j\"}",
                 "job has no target");
  expect_refused("{\"httpTarget\":null}", "job has no target");
  expect_refused(
      "{\"httpTarget\":{\"uri\":\"https://a.example\"},"
      "\"pubsubTarget\":{}}",
      "job has 2 targets");
  expect_refused("{\"httpTarget\":\"https://a.example\"}",
                 "job: field \"httpTarget\" is a string, expected an object");
  expect_refused("{\"httpTarget\":{}}",
                 "job.httpTarget: missing field \"uri\"");
  expect_refused("{\"httpTarget\":{\"uri\":\"\"}}",
                 "job.httpTarget: field \"uri\" is empty");
  expect_refused("{\"httpTarget\":{\"uri\":7}}",
                 "job.httpTarget: field \"uri\" is a number");
  expect_refused("{\"httpTarget\":{\"uri\":\"ftp://files.example/x\"}}",
                 "job.httpTarget.uri does not begin with http:// or "
                 "https://");
  expect_refused("{\"httpTarget\":{\"uri\":\"hello-abc.a.run.app/x\"}}",
                 "job.httpTarget.uri does not begin with http://");
  expect_refused("{\"httpTarget\":{\"uri\":\"https://exa mple/x\"}}",
                 "job.httpTarget.uri is not an http or https URL with a "
                 "host");
  expect_refused("{\"httpTarget\":{\"uri\":\"https://:443/path\"}}",
                 "job.httpTarget.uri is not an http or https URL");
  expect_refused("{\"httpTarget\":{\"uri\":\"https:/a.example/path\"}}",
                 "job.httpTarget.uri does not begin with http:// or "
                 "https://");
  expect_refused(
      "{\"httpTarget\":{\"uri\":\"https://a.example/?key="
      "SECRETVALUE\",\"httpMethod\":\"FETCH\"}}",
      "job.httpTarget.httpMethod \"FETCH\" is not one of "
      "Google's values");
  expect_refused(http_job("\"httpMethod\":9", ""),
                 "job.httpTarget.httpMethod is 9");
  expect_refused(http_job("\"httpMethod\":[]", ""),
                 "job.httpTarget.httpMethod is an array, expected a string");
  expect_refused(http_job("", "\"state\":\"RUNNING\""),
                 "job.state \"RUNNING\" is not one of Google's values");
  expect_refused(http_job("\"oidcToken\":{\"serviceAccountEmail\":\"a@b\"},"
                          "\"oauthToken\":{\"serviceAccountEmail\":\"a@b\"}",
                          ""),
                 "job.httpTarget has both oidcToken and oauthToken");
  expect_refused(http_job("\"oidcToken\":{}", ""),
                 "job.httpTarget.oidcToken: missing field "
                 "\"serviceAccountEmail\"");
  expect_refused(http_job("\"oauthToken\":{\"serviceAccountEmail\":\"\"}", ""),
                 "job.httpTarget.oauthToken: field \"serviceAccountEmail\" "
                 "is empty");
  expect_refused(http_job("\"oidcToken\":{\"serviceAccountEmail\":\"a@b\","
                          "\"audience\":42}",
                          ""),
                 "job.httpTarget.oidcToken: field \"audience\" is a number");
  expect_refused(http_job("\"oidcToken\":\"a@b\"", ""),
                 "job.httpTarget: field \"oidcToken\" is a string");
}

Test(scheduler_job, uri_length_limit) {
  char *text = malloc(4096), *uri = malloc(2200);
  gauth_scheduler_job *job;
  memset(uri, 'a', 2199);
  memcpy(uri, "https://h.example/", 18);
  uri[2083] = '\0'; /* 2083 bytes: allowed */
  snprintf(text, 4096, "{\"httpTarget\":{\"uri\":\"%s\"}}", uri);
  job = parse_ok(text);
  cr_expect_eq(strlen(gauth_scheduler_job_uri(job)), 2083);
  gauth_scheduler_job_free(job);
  uri[2083] = 'a';
  uri[2084] = '\0';
  snprintf(text, 4096, "{\"httpTarget\":{\"uri\":\"%s\"}}", uri);
  expect_refused(text, "job.httpTarget.uri is 2084 bytes long: at most 2083");
  free(text);
  free(uri);
}

/* ---- headers and body ---------------------------------------------------- */

Test(scheduler_job, headers_refused) {
  expect_refused(http_job("\"headers\":{\"X-Api-Key\":12}", ""),
                 "job.httpTarget.headers.X-Api-Key is a number, expected a "
                 "string");
  expect_refused(http_job("\"headers\":{\"X-Api-Key\":\"SECRETVALUE\\r\\n"
                          "Host: evil\"}",
                          ""),
                 "job.httpTarget.headers.X-Api-Key holds a line break");
  expect_refused(http_job("\"headers\":{\"X-A\":\"SECRETVALUE\\u0001\"}", ""),
                 "holds a line break or another control character");
  expect_refused(http_job("\"headers\":{\"\":\"v\"}", ""),
                 "job.httpTarget.headers has a header with an empty name");
  expect_refused(http_job("\"headers\":{\"Bad Name\":\"v\"}", ""),
                 "job.httpTarget.headers: \"(not shown)\" is not a header "
                 "name");
  expect_refused(http_job("\"headers\":{\"X:Y\":\"v\"}", ""),
                 "is not a header name");
  expect_refused(http_job("\"headers\":[\"X: v\"]", ""),
                 "job.httpTarget: field \"headers\" is an array");
}

/* The job id goes into X-CloudScheduler-JobName: a name with a line break
 * would inject a header into every attempt. */
Test(scheduler_job, name_with_control_characters_refused) {
  expect_refused(
      "{\"name\":\"projects/p/locations/l/jobs/j\\r\\nX-Injected: "
      "1\",\"httpTarget\":{\"uri\":\"https://h.example/\"}}",
      "job.name holds a line break or another control character");
  expect_refused(
      "{\"name\":\"projects/p/locations/l/jobs/j\\u0001x\","
      "\"httpTarget\":{\"uri\":\"https://h.example/\"}}",
      "job.name");
  gauth_scheduler_job_free(
      parse_ok("{\"name\":\"projects/p/locations/l/jobs/j\\tk\",\"httpTarget\":"
               "{\"uri\":\"https://h.example/\"}}"));
}

Test(scheduler_job, header_values_keep_tabs_commas_and_utf8) {
  gauth_scheduler_job *job = parse_ok(http_job(
      "\"headers\":{\"Accept\":\"a/b,\\tc/d\",\"X-Name\":\"Zo\\u00eb\","
      "\"X-Empty\":\"\"}",
      ""));
  cr_assert_eq(gauth_scheduler_job_header_count(job), 3);
  cr_expect_str_eq(gauth_scheduler_job_header_value(job, 0), "a/b,\tc/d");
  cr_expect_str_eq(gauth_scheduler_job_header_value(job, 1), "Zo\xc3\xab");
  cr_expect_str_eq(gauth_scheduler_job_header_value(job, 2), "");
  gauth_scheduler_job_free(job);
}

Test(scheduler_job, body_base64_forms) {
  static const char *const forms[] = {
      "\"body\":\"aGk/Pz4+\"", /* standard: h i ? ? > > */
      "\"body\":\"aGk_Pz4-\"", /* URL-safe */
  };
  size_t len;
  gauth_scheduler_job *job;
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    job = parse_ok(http_job(forms[i], ""));
    const unsigned char *b = gauth_scheduler_job_body(job, &len);
    cr_assert_eq(len, 6, "form %zu", i);
    cr_expect_eq(memcmp(b, "hi?\?>>", 6), 0, "form %zu", i);
    gauth_scheduler_job_free(job);
  }
  /* Padded and unpadded, both alphabets. */
  job = parse_ok(http_job("\"body\":\"aGk=\"", ""));
  cr_expect_eq(memcmp(gauth_scheduler_job_body(job, &len), "hi", 2), 0);
  cr_expect_eq(len, 2);
  gauth_scheduler_job_free(job);
  job = parse_ok(http_job("\"body\":\"aGk\"", ""));
  cr_expect_eq(memcmp(gauth_scheduler_job_body(job, &len), "hi", 2), 0);
  cr_expect_eq(len, 2);
  gauth_scheduler_job_free(job);
  job = parse_ok(http_job("\"body\":\"-_8=\"", "")); /* 0xfb 0xff */
  cr_expect_eq(memcmp(gauth_scheduler_job_body(job, &len), "\xfb\xff", 2), 0);
  cr_expect_eq(len, 2);
  gauth_scheduler_job_free(job);
  /* An empty body is no body, whatever the method. */
  job = parse_ok(http_job("\"body\":\"\",\"httpMethod\":\"GET\"", ""));
  cr_expect_null(gauth_scheduler_job_body(job, &len));
  cr_expect_eq(len, 0);
  gauth_scheduler_job_free(job);
  job = parse_ok(http_job("\"body\":\"==\",\"httpMethod\":\"GET\"", ""));
  cr_expect_null(gauth_scheduler_job_body(job, &len));
  cr_expect_eq(len, 0);
  gauth_scheduler_job_free(job);
  /* PUT and PATCH may carry one. */
  job = parse_ok(http_job("\"body\":\"aGk=\",\"httpMethod\":\"PATCH\"", ""));
  cr_expect_not_null(gauth_scheduler_job_body(job, NULL));
  gauth_scheduler_job_free(job);
}

Test(scheduler_job, body_refused) {
  expect_refused(http_job("\"body\":\"not base64!\"", ""),
                 "job.httpTarget.body is not base64");
  expect_refused(http_job("\"body\":\"aGk=\",\"httpMethod\":\"GET\"", ""),
                 "job.httpTarget.body is set, but httpMethod is GET: a body "
                 "goes only with POST, PUT or PATCH");
  expect_refused(http_job("\"body\":\"aGk=\",\"httpMethod\":\"DELETE\"", ""),
                 "httpMethod is DELETE");
  expect_refused(http_job("\"body\":{\"a\":1}", ""),
                 "job.httpTarget: field \"body\" is an object");
}

/* ---- times, status, JSON ------------------------------------------------- */

Test(scheduler_job, times_with_fractions_and_offsets) {
  gauth_scheduler_job *job = parse_ok(
      http_job("",
               "\"lastAttemptTime\":\"2026-05-01T05:00:00.999999999+02:00\","
               "\"scheduleTime\":\"2026-05-01T03:00:01Z\","
               "\"userUpdateTime\":\"1970-01-01T00:00:00.5Z\""));
  cr_expect_eq(gauth_scheduler_job_last_attempt_time(job), 1777604400);
  cr_expect_eq(gauth_scheduler_job_schedule_time(job), 1777604401);
  cr_expect_eq(gauth_scheduler_job_user_update_time(job), 0);
  gauth_scheduler_job_free(job);
  expect_refused(http_job("", "\"lastAttemptTime\":\"2026-05-01 03:00:00\""),
                 "job.lastAttemptTime: ");
  expect_refused(http_job("", "\"scheduleTime\":1777604400"),
                 "job: field \"scheduleTime\" is a number");
}

Test(scheduler_job, status_refused) {
  expect_refused(http_job("", "\"status\":{\"code\":\"UNAUTHENTICATED\"}"),
                 "job.status.code is a string that is not an integer");
  expect_refused(http_job("", "\"status\":{\"message\":5}"),
                 "job.status: field \"message\" is a number");
  expect_refused(http_job("", "\"status\":\"OK\""),
                 "job: field \"status\" is a string");
}

Test(scheduler_job, not_a_job_object) {
  expect_refused("", "job");
  expect_refused("[]", "job");
  expect_refused("{\"httpTarget\":", "job");
  expect_refused(
      "{\"name\":\"a\",\"name\":\"b\",\"httpTarget\":"
      "{\"uri\":\"https://a.example\"}}",
      "duplicate");
  expect_refused("{\"name\":5,\"httpTarget\":{\"uri\":\"https://a.example\"}}",
                 "job: field \"name\" is a number, expected a string");
}

Test(scheduler_job, size_limit) {
  size_t n = GAUTH__SCHEDULER_JOB_MAX_BYTES + 1;
  char *text = malloc(n + 1);
  memset(text, ' ', n);
  memcpy(text, "{\"httpTarget\":{\"uri\":\"https://a.example\"}}", 42);
  text[n] = '\0';
  expect_refused_code(text, GAUTH_E_TOO_LARGE, "job");
  /* One byte less parses. */
  text[n - 1] = '\0';
  gauth_scheduler_job_free(parse_ok(text));
  free(text);
}

Test(scheduler_job, null_arguments) {
  gauth_scheduler_job *job = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(gauth_scheduler_job_from_json(NULL, "{}", 2, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_scheduler_job_from_json(&job, NULL, 2, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(job);
  cr_expect_eq(gauth_scheduler_job_from_json(&job, "{}", 2, NULL),
               GAUTH_E_MALFORMED);
  gauth_scheduler_job_free(NULL);
  cr_expect_str_eq(gauth_scheduler_job_name(NULL), "");
  cr_expect_null(gauth_scheduler_job_uri(NULL));
  cr_expect_eq(gauth_scheduler_job_header_count(NULL), 0);
  cr_expect_null(gauth_scheduler_job_retry_config(NULL));
}

Test(scheduler_job, names) {
  cr_expect_str_eq(gauth_scheduler_state_name(GAUTH_SCHEDULER_STATE_ENABLED),
                   "ENABLED");
  cr_expect_str_eq(gauth_scheduler_state_name(GAUTH_SCHEDULER_STATE_PAUSED),
                   "PAUSED");
  cr_expect_str_eq(gauth_scheduler_state_name(GAUTH_SCHEDULER_STATE_DISABLED),
                   "DISABLED");
  cr_expect_str_eq(
      gauth_scheduler_state_name(GAUTH_SCHEDULER_STATE_UPDATE_FAILED),
      "UPDATE_FAILED");
  cr_expect_str_eq(
      gauth_scheduler_state_name(GAUTH_SCHEDULER_STATE_UNSPECIFIED),
      "STATE_UNSPECIFIED");
  cr_expect_str_eq(gauth_scheduler_state_name((gauth_scheduler_state)9),
                   "unknown");
  cr_expect_str_eq(gauth_scheduler_token_name(GAUTH_SCHEDULER_TOKEN_NONE),
                   "none");
  cr_expect_str_eq(gauth_scheduler_token_name(GAUTH_SCHEDULER_TOKEN_OIDC),
                   "oidc");
  cr_expect_str_eq(gauth_scheduler_token_name(GAUTH_SCHEDULER_TOKEN_OAUTH),
                   "oauth");
  cr_expect_str_eq(gauth_scheduler_token_name((gauth_scheduler_token)-1),
                   "unknown");
}

/* ---- durations ----------------------------------------------------------- */

Test(scheduler_duration, google_forms) {
  static const struct {
    const char *text;
    int64_t ms;
  } cases[] = {
      {"0s", 0},
      {"5s", 5000},
      {"3.5s", 3500},
      {"180s", 180000},
      {"3600s", 3600000},
      {"0.001s", 1},
      {"0.0009s", 0}, /* sub-millisecond digits are dropped */
      {"1.999999999s", 1999},
      {"0.000000001s", 0},
      {"1.000s", 1000},
      {"007s", 7000},
      {"315576000000s", INT64_C(315576000000000)},
      {"315576000000.000000000s", INT64_C(315576000000000)},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t ms = -1;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_expect_eq(gauth_scheduler_duration_parse(cases[i].text, &ms, &err),
                 GAUTH_OK, "%s: %s", cases[i].text, err.message);
    cr_expect_eq(ms, cases[i].ms, "%s: %lld", cases[i].text, (long long)ms);
  }
}

Test(scheduler_duration, refused) {
  static const struct {
    const char *text, *needle;
  } cases[] = {
      {"", "is not a duration"},
      {"s", "is not a duration"},
      {"5", "is not a duration"},
      {"5S", "is not a duration"},
      {"5ms", "is not a duration"},
      {"5m", "is not a duration"},
      {"1h", "is not a duration"},
      {".5s", "is not a duration"},
      {"1.s", "is not a duration"},
      {"1.0000000001s", "is not a duration"}, /* ten fractional digits */
      {"+5s", "is not a duration"},
      {" 5s", "is not a duration"},
      {"5s ", "is not a duration"},
      {"1e3s", "is not a duration"},
      {"5.5.5s", "is not a duration"},
      {"-5s", "\"-5s\" is negative"},
      {"-0.5s", "is negative"},
      {"--5s", "is not a duration"},
      {"315576000000.000000001s", "out of range"},
      {"315576000001s", "out of range"},
      {"99999999999999999999999999s", "out of range"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t ms = -1;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_expect_eq(gauth_scheduler_duration_parse(cases[i].text, &ms, &err),
                 GAUTH_E_MALFORMED, "\"%s\" accepted", cases[i].text);
    cr_expect_eq(ms, 0, "%s", cases[i].text);
    cr_expect(strstr(err.message, cases[i].needle) != NULL,
              "\"%s\": want \"%s\" in: %s", cases[i].text, cases[i].needle,
              err.message);
  }
}

Test(scheduler_duration, null_arguments_and_exact_comparison) {
  int64_t ms = 0;
  gauth__scheduler_duration d = {14, 999999999};
  cr_expect_eq(gauth_scheduler_duration_parse(NULL, &ms, NULL),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_scheduler_duration_parse("5s", NULL, NULL),
               GAUTH_E_INVALID_ARG);
  cr_expect_lt(gauth__scheduler_duration_cmp_ms(d, 15000), 0);
  cr_expect_gt(gauth__scheduler_duration_cmp_ms(d, 14999), 0);
  d.seconds = 15;
  d.nanos = 0;
  cr_expect_eq(gauth__scheduler_duration_cmp_ms(d, 15000), 0);
  cr_expect_eq(gauth__scheduler_duration_ms(d), 15000);
}
