/* lib/scheduler_invoke.c and lib/scheduler_get.c, their pure parts: the
 * request headers of an attempt (Scheduler's own, which a job's cannot
 * replace; the headers Google drops; Content-Type), the schedule time's
 * form, the google.rpc.Code of a token that could not be minted, and the
 * job names gauth_scheduler_job_get accepts. Nothing connects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

#include "scheduler_internal.h"
#include "secret.h"

static gauth_scheduler_job *job(const char *http_target_members) {
  char json[4096];
  gauth_scheduler_job *j = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(json, sizeof json,
           "{\"name\":\"projects/p/locations/l/jobs/my-job\","
           "\"httpTarget\":{\"uri\":\"https://example.com/x\"%s}}",
           http_target_members);
  cr_assert_eq(gauth_scheduler_job_from_json(&j, json, strlen(json), &err),
               GAUTH_OK, "%s", err.message);
  return j;
}

static char **headers(const gauth_scheduler_job *j, const char *token,
                      int64_t when) {
  char **h = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__scheduler_request_headers(j, token, when, &h, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_not_null(h);
  return h;
}

/* How many lines start with "name:" or "name;" (case-insensitive); the
 * last one's full text in *line. */
static int count(char **h, const char *name, const char **line) {
  size_t n = strlen(name), i;
  int c = 0;
  for (i = 0; h[i] != NULL; i++)
    if (strncasecmp(h[i], name, n) == 0 && (h[i][n] == ':' || h[i][n] == ';')) {
      c++;
      if (line != NULL) *line = h[i];
    }
  return c;
}

static void expect_line(char **h, const char *name, const char *want) {
  const char *line = NULL;
  cr_expect_eq(count(h, name, &line), 1, "%s: not once", name);
  if (line != NULL) cr_expect_str_eq(line, want);
}

Test(scheduler_invoke, scheduler_headers) {
  gauth_scheduler_job *j = job("");
  char **h = headers(j, "tok.en", 1777629600);
  expect_line(h, "User-Agent", "User-Agent: Google-Cloud-Scheduler");
  expect_line(h, "X-CloudScheduler", "X-CloudScheduler: true");
  expect_line(h, "X-CloudScheduler-JobName",
              "X-CloudScheduler-JobName: my-job");
  expect_line(h, "X-CloudScheduler-ScheduleTime",
              "X-CloudScheduler-ScheduleTime: 2026-05-01T10:00:00Z");
  expect_line(h, "Authorization", "Authorization: Bearer tok.en");
  /* POST without a body: no Content-Type (the line removes libcurl's). */
  expect_line(h, "Content-Type", "Content-Type:");
  gauth__secret_strv_free(h);
  gauth_scheduler_job_free(j);
}

Test(scheduler_invoke, job_headers_cannot_replace_schedulers) {
  gauth_scheduler_job *j = job(
      ",\"headers\":{\"user-agent\":\"mine\",\"X-CLOUDSCHEDULER\":\"false\","
      "\"X-CloudScheduler-JobName\":\"other\","
      "\"X-CloudScheduler-ScheduleTime\":\"never\",\"Host\":\"evil\","
      "\"Content-Length\":\"9\",\"X-Google-Foo\":\"1\","
      "\"x-appengine-bar\":\"2\",\"Authorization\":\"Basic abc\","
      "\"X-Keep\":\"kept\",\"X-Empty\":\"\"}");
  char **h = headers(j, "T", 1);
  expect_line(h, "User-Agent", "User-Agent: Google-Cloud-Scheduler");
  expect_line(h, "X-CloudScheduler", "X-CloudScheduler: true");
  expect_line(h, "X-CloudScheduler-JobName",
              "X-CloudScheduler-JobName: my-job");
  expect_line(h, "Authorization", "Authorization: Bearer T");
  cr_expect_eq(count(h, "Host", NULL), 0);
  cr_expect_eq(count(h, "Content-Length", NULL), 0);
  cr_expect_eq(count(h, "X-Google-Foo", NULL), 0);
  cr_expect_eq(count(h, "X-AppEngine-Bar", NULL), 0);
  expect_line(h, "X-Keep", "X-Keep: kept");
  /* An empty value is sent as one ("Name;" in libcurl's terms). */
  expect_line(h, "X-Empty", "X-Empty;");
  gauth__secret_strv_free(h);
  gauth_scheduler_job_free(j);
}

Test(scheduler_invoke, authorization_of_a_job_without_token_is_kept) {
  gauth_scheduler_job *j =
      job(",\"headers\":{\"Authorization\":\"Basic abc\"}");
  char **h = headers(j, NULL, 1);
  expect_line(h, "Authorization", "Authorization: Basic abc");
  gauth__secret_strv_free(h);
  gauth_scheduler_job_free(j);
}

Test(scheduler_invoke, content_type) {
  gauth_scheduler_job *body = job(",\"body\":\"aGk=\"");
  gauth_scheduler_job *own =
      job(",\"body\":\"aGk=\",\"headers\":{\"content-type\":\"text/plain\"}");
  gauth_scheduler_job *get = job(",\"httpMethod\":\"GET\"");
  char **h = headers(body, NULL, 1);
  expect_line(h, "Content-Type", "Content-Type: application/octet-stream");
  gauth__secret_strv_free(h);
  h = headers(own, NULL, 1);
  expect_line(h, "Content-Type", "content-type: text/plain");
  gauth__secret_strv_free(h);
  h = headers(get, NULL, 1);
  cr_expect_eq(count(h, "Content-Type", NULL), 0);
  cr_expect_eq(count(h, "Authorization", NULL), 0);
  gauth__secret_strv_free(h);
  gauth_scheduler_job_free(body);
  gauth_scheduler_job_free(own);
  gauth_scheduler_job_free(get);
}

Test(scheduler_invoke, no_job_name_no_job_name_header) {
  const char *json = "{\"httpTarget\":{\"uri\":\"https://example.com/\"}}";
  gauth_scheduler_job *j = NULL;
  char **h;
  cr_assert_eq(gauth_scheduler_job_from_json(&j, json, strlen(json), NULL),
               GAUTH_OK);
  h = headers(j, NULL, 1);
  cr_expect_eq(count(h, "X-CloudScheduler-JobName", NULL), 0);
  expect_line(h, "X-CloudScheduler-ScheduleTime",
              "X-CloudScheduler-ScheduleTime: 1970-01-01T00:00:01Z");
  gauth__secret_strv_free(h);
  gauth_scheduler_job_free(j);
}

Test(scheduler_invoke, headers_bad_args) {
  char **h = (char **)1;
  cr_expect_eq(gauth__scheduler_request_headers(NULL, NULL, 0, &h, NULL),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(h);
}

Test(scheduler_invoke, rfc3339) {
  char buf[32];
  gauth__scheduler_rfc3339(0, buf);
  cr_expect_str_eq(buf, "1970-01-01T00:00:00Z");
  gauth__scheduler_rfc3339(1777629601, buf);
  cr_expect_str_eq(buf, "2026-05-01T10:00:01Z");
  gauth__scheduler_rfc3339(INT64_MAX, buf);
  cr_expect_str_eq(buf, "");
}

Test(scheduler_invoke, mint_rpc_code) {
  gauth_error e = GAUTH_ERROR_INIT;
  e.code = GAUTH_E_PERMISSION_DENIED;
  e.http_status = 403;
  cr_expect_eq(gauth__scheduler_mint_rpc_code(&e), 7);
  e.code = GAUTH_E_UNAUTHENTICATED;
  e.http_status = 401;
  cr_expect_eq(gauth__scheduler_mint_rpc_code(&e), 16);
  e.code = GAUTH_E_NOT_FOUND;
  e.http_status = 404;
  cr_expect_eq(gauth__scheduler_mint_rpc_code(&e), 5);
  e.http_status = 0;
  e.code = GAUTH_E_TIMEOUT;
  cr_expect_eq(gauth__scheduler_mint_rpc_code(&e), 4);
  e.code = GAUTH_E_NETWORK;
  cr_expect_eq(gauth__scheduler_mint_rpc_code(&e), 14);
  e.code = GAUTH_E_UNSUPPORTED; /* credentials that cannot mint this kind */
  cr_expect_eq(gauth__scheduler_mint_rpc_code(&e), 16);
  cr_expect_eq(gauth__scheduler_mint_rpc_code(NULL), 16);
}

Test(scheduler_invoke, job_names) {
  static const char *const good[] = {
      "projects/p/locations/l/jobs/j",
      "projects/my-project-1/locations/us-central1/jobs/Nightly_run-2",
      "projects/example.com:proj/locations/europe-west1/jobs/x",
      "projects/123456/locations/l/jobs/j", NULL};
  static const char *const bad[] = {"",
                                    "projects/p",
                                    "projects//locations/l/jobs/j",
                                    "projects/p/locations/l/jobs/",
                                    "projects/p/locations/l/jobs/j/",
                                    "projects/./locations/l/jobs/j",
                                    "projects/../locations/l/jobs/j",
                                    "projects/p/locations/l.x/jobs/j",
                                    "projects/p/locations/l/jobs/j.k",
                                    "projects/p/locations/l/jobs/j?x",
                                    "projects/p/locations/l/jobs/j#x",
                                    "projects/p/locations/l/jobs/j%2f",
                                    "projects/p q/locations/l/jobs/j",
                                    "projects/p/locations/l/jobs/j\n",
                                    "locations/l/jobs/j",
                                    NULL};
  char long_name[700];
  gauth_error err = GAUTH_ERROR_INIT;
  size_t i;
  for (i = 0; good[i] != NULL; i++)
    cr_expect_eq(gauth__scheduler_job_name_check(good[i], &err), GAUTH_OK,
                 "%s: %s", good[i], err.message);
  for (i = 0; bad[i] != NULL; i++) {
    cr_expect_eq(gauth__scheduler_job_name_check(bad[i], &err),
                 GAUTH_E_INVALID_ARG, "%s", bad[i]);
    cr_expect_not_null(strstr(err.message, "projects/PROJECT"), "%s",
                       err.message);
  }
  cr_expect_eq(gauth__scheduler_job_name_check(NULL, &err),
               GAUTH_E_INVALID_ARG);
  snprintf(long_name, sizeof long_name, "projects/p/locations/l/jobs/%0501d",
           0);
  cr_expect_eq(gauth__scheduler_job_name_check(long_name, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_str_eq(gauth__scheduler_job_id("projects/p/locations/l/jobs/j"),
                   "j");
  cr_expect_null(gauth__scheduler_job_id(""));
  cr_expect_null(gauth__scheduler_job_id(NULL));
}
