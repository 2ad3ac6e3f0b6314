/* The emulator's control API, over HTTP, against the fixture. Tests here
 * run in parallel with other users of the same emulator: each works on
 * paths and members of its own, and leaves global state (clock, keys) as
 * it found it, or changed in a way others tolerate. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <gauth/gauth.h>

#include "emu_fixture.h"

#define JOB "projects/demo-project/locations/us-central1/jobs/collect"
#define ATTR "/computeMetadata/v1/instance/attributes/"

static const char *const flavor[] = {"Metadata-Flavor: Google", NULL};

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static int granted(const char *resource, const char *member, const char *perm) {
  char body[512], *out = NULL;
  int g;
  snprintf(body, sizeof(body),
           "{\"resource\":\"%s\",\"member\":\"%s\",\"permission\":\"%s\"}",
           resource, member, perm);
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/permissions:check",
                           body, &out),
               200, "%s", out);
  g = strstr(out, "\"granted\":true") != NULL;
  cr_assert(g || strstr(out, "\"granted\":false") != NULL, "%s", out);
  free(out);
  return g;
}

static void policy(const char *verb, const char *member, int delay) {
  char body[512], path[64], *out = NULL;
  snprintf(body, sizeof(body),
           "{\"resource\":\"" JOB
           "\",\"role\":\"roles/run.invoker\","
           "\"member\":\"%s\",\"delay_seconds\":%d}",
           member, delay);
  snprintf(path, sizeof(path), "/emulator/v1/policy:%s", verb);
  cr_assert_eq(emu_control(emu_fixture_url(), path, body, &out), 200, "%s",
               out);
  free(out);
}

Test(control, default_policy) {
  const char *sched =
      "serviceAccount:scheduler@demo-project.iam."
      "gserviceaccount.com";
  const char *runner =
      "serviceAccount:runner@demo-project.iam."
      "gserviceaccount.com";
  cr_assert(granted(JOB, sched, "run.jobs.run"));
  cr_assert(
      granted("projects/123456789012/locations/us-central1/jobs/"
              "collect",
              sched, "run.jobs.runWithOverrides"));
  cr_assert(
      granted("projects/demo-project/locations/us-central1/services/"
              "collector",
              sched, "run.routes.invoke"));
  cr_assert(!granted(JOB, sched, "run.jobs.delete"));
  cr_assert(!granted(JOB, runner, "run.jobs.run"));
  cr_assert(
      granted("projects/-/serviceAccounts/scheduler@demo-project.iam."
              "gserviceaccount.com",
              runner, "iam.serviceAccounts.getOpenIdToken"));
  cr_assert(
      !granted("projects/-/serviceAccounts/runner@demo-project.iam."
               "gserviceaccount.com",
               runner, "iam.serviceAccounts.getOpenIdToken"));
}

Test(control, binding_immediate) {
  const char *m = "user:now@example.com";
  cr_assert(!granted(JOB, m, "run.jobs.run"));
  policy("add", m, 0);
  cr_assert(granted(JOB, m, "run.jobs.run"));
  policy("remove", m, 0);
  cr_assert(!granted(JOB, m, "run.jobs.run"));
  {
    char *out = NULL;
    cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/policy:remove",
                             "{\"resource\":\"" JOB "\",\"role\":\"roles/"
                             "run.invoker\",\"member\":\"user:never@x\"}",
                             &out),
                 404, "%s", out);
    free(out);
    cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/policy:add",
                             "{\"resource\":\"" JOB "\",\"role\":\"roles/"
                             "nope\",\"member\":\"user:a@x\"}",
                             &out),
                 400, "%s", out);
    free(out);
  }
}

Test(control, binding_propagation_delay, .timeout = 30) {
  const char *m = "serviceAccount:late@demo-project.iam.gserviceaccount.com";
  char *out = NULL;
  policy("add", m, 2);
  cr_assert(!granted(JOB, m, "run.jobs.run"), "granted before the delay");
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/policy", NULL, &out), 200);
  cr_assert_not_null(strstr(out, "late@demo-project"), "%s", out);
  free(out);
  sleep_ms(3100);
  cr_assert(granted(JOB, m, "run.jobs.run"), "not granted after the delay");
  policy("remove", m, 2);
  cr_assert(granted(JOB, m, "run.jobs.run"), "removed before the delay");
  sleep_ms(3100);
  cr_assert(!granted(JOB, m, "run.jobs.run"), "still granted");
}

/* One request with the metadata flavor to path. */
static void md_get(const char *path, emu_reply *r) {
  emu_http(emu_fixture_url(), "GET", path, flavor, NULL, r);
}

static void fault(const char *json) {
  char *out = NULL;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/faults", json, &out), 200,
      "%s", out);
  free(out);
}

Test(control, fault_status_retry_after_count) {
  emu_reply r;
  char h[32];
  fault("{\"route\":\"" ATTR
        "f-status\",\"kind\":\"status\",\"status\":503,"
        "\"body\":\"{\\\"error\\\":\\\"busy\\\"}\",\"retry_after\":7,"
        "\"count\":2}");
  for (int i = 0; i < 2; i++) {
    md_get(ATTR "f-status", &r);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(r.body, "{\"error\":\"busy\"}");
    cr_assert_str_eq(emu_reply_header_get(&r, "Retry-After", h, sizeof(h)),
                     "7");
    emu_reply_free(&r);
  }
  md_get(ATTR "f-status", &r);
  cr_assert_eq(r.status, 404, "the fault outlived its count");
  emu_reply_free(&r);

  /* Without a body: Google's error shape for the status. */
  fault("{\"route\":\"" ATTR
        "f-429\",\"kind\":\"status\",\"status\":429,"
        "\"count\":1}");
  md_get(ATTR "f-429", &r);
  cr_assert_eq(r.status, 429);
  cr_assert_str_eq(r.body,
                   "{\"error\":{\"code\":429,\"message\":\"injected "
                   "fault\",\"status\":\"RESOURCE_EXHAUSTED\"}}");
  emu_reply_free(&r);
}

Test(control, fault_reset) {
  emu_reply r;
  fault("{\"route\":\"" ATTR "f-reset\",\"kind\":\"reset\",\"count\":1}");
  md_get(ATTR "f-reset", &r);
  cr_assert_eq(r.curl_code, CURLE_GOT_NOTHING, "curl %d status %ld",
               r.curl_code, r.status);
  emu_reply_free(&r);
  md_get(ATTR "f-reset", &r);
  cr_assert_eq(r.status, 404);
  emu_reply_free(&r);
}

Test(control, fault_truncate) {
  emu_reply r;
  fault("{\"route\":\"" ATTR "f-trunc\",\"kind\":\"truncate\",\"count\":1}");
  md_get(ATTR "f-trunc", &r);
  cr_assert_eq(r.curl_code, CURLE_PARTIAL_FILE, "curl %d", r.curl_code);
  cr_assert_eq(r.status, 404); /* the real reply's status, cut short */
  cr_assert_gt(r.len, 0);
  emu_reply_free(&r);
}

Test(control, fault_invalid_json) {
  emu_reply r;
  cJSON *j;
  fault("{\"route\":\"" ATTR
        "f-json\",\"kind\":\"invalid_json\","
        "\"count\":1}");
  md_get(ATTR "f-json", &r);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.body, "{\"access_token\": \"ya29.");
  j = cJSON_Parse(r.body);
  cr_assert_null(j);
  emu_reply_free(&r);
}

Test(control, fault_oversized) {
  emu_reply r;
  cJSON *j;
  fault("{\"route\":\"" ATTR
        "f-big\",\"kind\":\"oversized\","
        "\"bytes\":2097153,\"count\":1}");
  md_get(ATTR "f-big", &r);
  cr_assert_eq(r.status, 200);
  cr_assert_eq(r.len, 2097153);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "oversized is valid JSON, only too big");
  cJSON_Delete(j);
  emu_reply_free(&r);
}

Test(control, fault_delay) {
  emu_reply r;
  struct timespec a, b;
  double secs;
  fault("{\"route\":\"" ATTR
        "f-delay\",\"kind\":\"delay\","
        "\"delay_ms\":1200,\"count\":1}");
  clock_gettime(CLOCK_MONOTONIC, &a);
  md_get(ATTR "f-delay", &r);
  clock_gettime(CLOCK_MONOTONIC, &b);
  secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  cr_assert_eq(r.status, 404, "a delay answers normally afterwards");
  cr_assert_geq(secs, 1.15, "%.3f s", secs);
  emu_reply_free(&r);
}

Test(control, fault_fraction_and_clear) {
  int hits = 0;
  char *out = NULL;
  fault("{\"route\":\"" ATTR
        "f-frac\",\"kind\":\"status\",\"status\":500,"
        "\"fraction\":0.5}");
  for (int i = 0; i < 200; i++) {
    emu_reply r;
    md_get(ATTR "f-frac", &r);
    cr_assert(r.status == 500 || r.status == 404, "%ld", r.status);
    hits += r.status == 500;
    emu_reply_free(&r);
  }
  cr_assert(hits > 50 && hits < 150, "%d of 200", hits);
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/faults:clear",
                           "{\"route\":\"" ATTR "f-frac\"}", &out),
               200);
  cr_assert_str_eq(out, "{\"cleared\":1}");
  free(out);
  {
    emu_reply r;
    md_get(ATTR "f-frac", &r);
    cr_assert_eq(r.status, 404);
    emu_reply_free(&r);
  }
}

Test(control, fault_bad_requests) {
  char *out = NULL;
  const char *bad[] = {"{\"route\":\"/x\",\"kind\":\"explode\"}",
                       "{\"route\":\"x\",\"kind\":\"reset\"}",
                       "{\"route\":\"/x\",\"kind\":\"status\",\"status\":42}",
                       "{\"route\":\"/x\",\"kind\":\"delay\"}",
                       "{\"route\":\"/x\",\"kind\":\"reset\",\"fraction\":2}",
                       "not json"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cr_assert_eq(
        emu_control(emu_fixture_url(), "/emulator/v1/faults", bad[i], &out),
        400, "%s -> %s", bad[i], out);
    cr_assert_not_null(strstr(out, "INVALID_ARGUMENT"));
    free(out);
  }
}

static double counter_of(const char *path) {
  char *out = NULL;
  cJSON *j, *v;
  double n;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/counters", NULL, &out), 200);
  j = cJSON_Parse(out);
  free(out);
  cr_assert_not_null(j);
  v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "requests"), path);
  n = cJSON_IsNumber(v) ? v->valuedouble : 0;
  cJSON_Delete(j);
  return n;
}

Test(control, counters_and_request_log) {
  char *out = NULL;
  char *token;
  emu_reply r;
  cJSON *j;
  cr_assert_eq(counter_of(ATTR "counted"), 0);
  for (int i = 0; i < 3; i++) {
    md_get(ATTR "counted", &r);
    emu_reply_free(&r);
  }
  cr_assert_eq(counter_of(ATTR "counted"), 3);

  md_get("/computeMetadata/v1/instance/service-accounts/default/token", &r);
  j = cJSON_Parse(r.body);
  token = strdup(cJSON_GetObjectItem(j, "access_token")->valuestring);
  cJSON_Delete(j);
  emu_reply_free(&r);
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/requests", NULL, &out), 200);
  cr_assert_not_null(strstr(out, "{\"method\":\"GET\",\"path\":\"" ATTR
                                 "counted\",\"status\":404,\"principal\":"
                                 "\"-\"}") == NULL
                         ? strstr(out, ATTR "counted")
                         : out);
  cr_assert_not_null(strstr(out,
                            "\"principal\":\"runner@demo-project.iam."
                            "gserviceaccount.com\""));
  cr_assert_null(strstr(out, token), "the request log holds a token");
  cr_assert_null(strstr(out, "ya29."), "the request log holds a token");
  free(out);
  free(token);
}

Test(control, clock_offset) {
  char *out = NULL;
  cJSON *j;
  double now, off;
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/clock",
                           "{\"offset_seconds\":5}", &out),
               200, "%s", out);
  free(out);
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/clock", NULL, &out),
               200);
  j = cJSON_Parse(out);
  free(out);
  now = cJSON_GetObjectItem(j, "now")->valuedouble;
  off = cJSON_GetObjectItem(j, "offset_seconds")->valuedouble;
  cJSON_Delete(j);
  cr_assert_eq(off, 5);
  cr_assert(now - (double)time(NULL) >= 4 && now - (double)time(NULL) <= 6,
            "now %f", now);
  /* Tokens are minted on the emulator's clock. */
  {
    emu_reply r;
    char *payload = NULL;
    md_get(
        "/computeMetadata/v1/instance/service-accounts/default/identity"
        "?audience=clock-test",
        &r);
    cr_assert_eq(gauth_jwt_decode_unverified(r.body, NULL, &payload, NULL),
                 GAUTH_OK);
    j = cJSON_Parse(payload);
    cr_assert_geq(cJSON_GetObjectItem(j, "iat")->valuedouble,
                  (double)time(NULL) + 3);
    cJSON_Delete(j);
    gauth_free(payload);
    emu_reply_free(&r);
  }
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/clock",
                           "{\"offset_seconds\":0}", &out),
               200);
  free(out);
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/clock",
                           "{\"offset\":5}", &out),
               400);
  free(out);
}

Test(control, rotate_keeps_previous_key) {
  char *out = NULL, kid1[64], kid2[64];
  cJSON *j;
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/keys", NULL, &out),
               200);
  j = cJSON_Parse(out);
  free(out);
  snprintf(kid1, sizeof(kid1), "%s",
           cJSON_GetObjectItem(j, "current_kid")->valuestring);
  cJSON_Delete(j);
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/keys:rotate", "{}", &out),
      200);
  j = cJSON_Parse(out);
  snprintf(kid2, sizeof(kid2), "%s",
           cJSON_GetObjectItem(j, "current_kid")->valuestring);
  cJSON_Delete(j);
  cr_assert_str_neq(kid1, kid2);
  cr_assert_not_null(strstr(out, kid1), "the previous key is not published");
  free(out);
  {
    emu_reply r;
    emu_http(emu_fixture_url(), "GET", "/oauth2/v3/certs", NULL, NULL, &r);
    if (r.status == 200) {
      cr_assert_not_null(strstr(r.body, kid1));
      cr_assert_not_null(strstr(r.body, kid2));
    }
    emu_reply_free(&r);
  }
}

Test(control, unknown_route) {
  char *out = NULL;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/nothing", NULL, &out), 404);
  cr_assert_not_null(strstr(out, "\"status\":\"NOT_FOUND\""));
  free(out);
  {
    emu_reply r;
    emu_http(emu_fixture_url(), "GET", "/no/such/path", NULL, NULL, &r);
    cr_assert_eq(r.status, 404);
    cr_assert_not_null(strstr(r.body, "{\"error\":{\"code\":404,"));
    emu_reply_free(&r);
  }
}
