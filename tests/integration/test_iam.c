/* testIamPermissions and waiting for propagation, over real HTTP against
 * the fixture's emulator, as the scheduler account (the fixture's key
 * file). The emulator's policy (docs/emulator.md) decides what is granted;
 * its control API adds bindings (with propagation delays), faults and
 * counts requests. Waits run in real time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define MEMBER "serviceAccount:" SCHEDULER
#define PROJECT "projects/demo-project"
#define JOB "projects/demo-project/locations/us-central1/jobs/collect"
#define SERVICE "projects/demo-project/locations/us-central1/services/collector"
#define SA_RUNNER "projects/demo-project/serviceAccounts/" RUNNER
#define TIP ":testIamPermissions"
#define PROJECT_PATH "/v1/" PROJECT TIP
#define JOB_PATH "/v2/" JOB TIP
#define SERVICE_PATH "/v2/" SERVICE TIP

/* ---- emulator helpers ---------------------------------------------------- */

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(emu_fixture_url(), path, body, &out);
  cr_assert_eq(st, 200, "%s: %ld %s", path, st, out ? out : "");
  free(out);
}

static void fault(const char *json) { control("/emulator/v1/faults", json); }

static void clear_faults(void) {
  emu_reply r;
  if (emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults", NULL, NULL,
               &r) == 0)
    emu_reply_free(&r);
}

static int counter(const char *path) {
  long v = emu_counter(emu_fixture_url(), path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

/* Requests counted on any path outside the control API. */
static int requests_outside_control(void) {
  char *out = NULL;
  cJSON *j, *it;
  int v = 0;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/counters", NULL, &out), 200);
  j = cJSON_Parse(out);
  cJSON_ArrayForEach(
      it, cJSON_GetObjectItemCaseSensitive(
              j, "requests")) if (strncmp(it->string, "/emulator/", 10) != 0)
      v += it->valueint;
  cJSON_Delete(j);
  free(out);
  return v;
}

/* Bindings this program adds; teardown removes them all. */
typedef struct binding {
  const char *resource, *role, *member;
} binding;
static binding added[8];
static size_t nadded;

static void policy_body(char *buf, size_t n, const binding *b, int delay) {
  snprintf(buf, n,
           "{\"resource\":\"%s\",\"role\":\"%s\",\"member\":\"%s\","
           "\"delay_seconds\":%d}",
           b->resource, b->role, b->member, delay);
}

static void grant(const char *resource, const char *role, int delay) {
  char body[512];
  binding b = {resource, role, MEMBER};
  cr_assert_lt(nadded, 8u);
  added[nadded++] = b;
  policy_body(body, sizeof body, &b, delay);
  control("/emulator/v1/policy:add", body);
}

static void setup(void) {
  nadded = 0;
  control("/emulator/v1/counters:reset", "{}");
  control("/emulator/v1/clock", "{\"offset_seconds\":0}");
  clear_faults();
}

static void teardown(void) {
  for (size_t i = 0; i < nadded; i++) {
    char body[512], *out = NULL;
    policy_body(body, sizeof body, &added[i], 0);
    emu_control(emu_fixture_url(), "/emulator/v1/policy:remove", body, &out);
    free(out);
  }
  nadded = 0;
  clear_faults();
}

TestSuite(iam, .init = setup, .fini = teardown, .timeout = 60);

/* ---- credentials --------------------------------------------------------- */

static gauth_credentials *creds(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  o.endpoint = emu_fixture_url();
  o.retry.max_attempts = 4;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 40;
  o.timeout_ms = 5000;
  co.options = &o;
  cr_assert_eq(
      gauth_credentials_from_file(&c, emu_fixture_key_file(), &co, &err),
      GAUTH_OK, "%s", err.message);
  return c;
}

/* test_permissions, which must succeed. */
static gauth_iam_result *test(gauth_credentials *c, const char *resource,
                              const char *const *perms) {
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_iam_test_permissions(c, resource, perms, &r, &err),
               GAUTH_OK, "%s: %s", resource, err.message);
  cr_assert_not_null(r);
  cr_assert_eq(err.code, GAUTH_OK);
  return r;
}

/* Checks r's states against a string of 'g' (granted) / 'm' (missing) /
 * 'u' (unknown), one per permission. */
static void expect_states(const gauth_iam_result *r, const char *const *perms,
                          const char *states) {
  size_t n = strlen(states), missing = 0;
  cr_assert_eq(gauth_iam_result_count(r), n);
  for (size_t i = 0; i < n; i++) {
    gauth_iam_permission_state want = states[i] == 'g'   ? GAUTH_IAM_GRANTED
                                      : states[i] == 'm' ? GAUTH_IAM_MISSING
                                                         : GAUTH_IAM_UNKNOWN;
    cr_expect_str_eq(gauth_iam_result_permission(r, i), perms[i]);
    cr_expect_eq(gauth_iam_result_state(r, i), want, "%s: %d, want %c",
                 perms[i], gauth_iam_result_state(r, i), states[i]);
    missing += states[i] == 'm';
  }
  cr_expect_eq(gauth_iam_result_missing_count(r), missing);
  cr_expect_eq(gauth_iam_result_all_granted(r),
               strspn(states, "g") == n ? 1 : 0);
}

/* ---- granted / missing subsets ------------------------------------------- */

Test(iam, project_nothing_then_viewer) {
  static const char *const perms[] = {"resourcemanager.projects.get",
                                      "run.jobs.run", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = test(c, PROJECT, perms);
  char want_url[256];
  /* The default policy grants the scheduler nothing on the project; the
   * emulator then leaves "permissions" out, as Google does. */
  expect_states(r, perms, "mm");
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_OK);
  cr_expect_eq(gauth_iam_result_http_status(r), 200);
  cr_expect_str_eq(gauth_iam_result_detail(r), "");
  cr_expect_str_eq(gauth_iam_result_resource(r), PROJECT);
  snprintf(want_url, sizeof want_url, "%s%s", emu_fixture_url(), PROJECT_PATH);
  cr_expect_str_eq(gauth_iam_result_url(r), want_url);
  gauth_iam_result_free(r);
  cr_expect_eq(counter(PROJECT_PATH), 1);

  grant(PROJECT, "roles/viewer", 0);
  r = test(c, PROJECT, perms);
  expect_states(r, perms, "gm");
  gauth_iam_result_free(r);
  cr_expect_eq(counter(PROJECT_PATH), 2);
  /* One token for both calls. */
  cr_expect_eq(counter("/token"), 1);
  gauth_credentials_free(c);
}

Test(iam, job_invoker_subset) {
  static const char *const perms[] = {"run.jobs.run", "run.jobs.get",
                                      "run.jobs.runWithOverrides",
                                      "run.jobs.delete", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = test(c, JOB, perms);
  expect_states(r, perms, "gmgm");
  gauth_iam_result_free(r);
  cr_expect_eq(counter(JOB_PATH), 1);
  gauth_credentials_free(c);
}

Test(iam, service_invoker_subset) {
  static const char *const perms[] = {"run.services.get", "run.routes.invoke",
                                      NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = test(c, SERVICE, perms);
  expect_states(r, perms, "mg");
  gauth_iam_result_free(r);
  /* Project numbers name the same resource. */
  r = test(c,
           "projects/123456789012/locations/us-central1/services/"
           "collector",
           perms);
  expect_states(r, perms, "mg");
  gauth_iam_result_free(r);
  cr_expect_eq(counter(SERVICE_PATH), 1);
  gauth_credentials_free(c);
}

Test(iam, all_granted_and_duplicates) {
  static const char *const perms[] = {"run.jobs.run", "run.jobs.run",
                                      "run.jobs.runWithOverrides", NULL};
  static const char *const distinct[] = {"run.jobs.run",
                                         "run.jobs.runWithOverrides"};
  gauth_credentials *c = creds();
  gauth_iam_result *r = test(c, JOB, perms);
  /* Duplicates are asked and answered once. */
  expect_states(r, distinct, "gg");
  cr_expect_eq(gauth_iam_result_all_granted(r), 1);
  gauth_iam_result_free(r);
  gauth_credentials_free(c);
}

Test(iam, service_account_iam_v1) {
  static const char *const perms[] = {"iam.serviceAccounts.signBlob",
                                      "iam.serviceAccounts.actAs", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = test(c, SA_RUNNER, perms);
  expect_states(r, perms, "mm");
  gauth_iam_result_free(r);
  grant(SA_RUNNER, "roles/iam.serviceAccountTokenCreator", 0);
  r = test(c, SA_RUNNER, perms);
  expect_states(r, perms, "gm");
  gauth_iam_result_free(r);
  cr_expect_eq(counter("/v1/" SA_RUNNER TIP), 2);
  gauth_credentials_free(c);
}

Test(iam, url_used_as_given) {
  static const char *const perms[] = {"run.jobs.run", "run.jobs.get", NULL};
  char url[256];
  gauth_credentials *c = creds();
  gauth_iam_result *r;
  snprintf(url, sizeof url, "%s%s", emu_fixture_url(), JOB_PATH);
  r = test(c, url, perms);
  expect_states(r, perms, "gm");
  cr_expect_str_eq(gauth_iam_result_url(r), url);
  gauth_iam_result_free(r);
  /* A Google URL goes to the endpoint override. */
  r = test(c, "https://run.googleapis.com" JOB_PATH, perms);
  expect_states(r, perms, "gm");
  cr_expect_str_eq(gauth_iam_result_url(r), url);
  gauth_iam_result_free(r);
  cr_expect_eq(counter(JOB_PATH), 2);
  gauth_credentials_free(c);
}

/* ---- calls refused: 403 / 404 -------------------------------------------- */

Test(iam, missing_resources_are_not_found) {
  static const char *const perms[] = {"run.jobs.run", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r =
      test(c, "projects/demo-project/locations/us-central1/jobs/nope", perms);
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_NOT_FOUND);
  cr_expect_eq(gauth_iam_result_http_status(r), 404);
  cr_expect(strstr(gauth_iam_result_detail(r), "NOT_FOUND") != NULL, "%s",
            gauth_iam_result_detail(r));
  cr_expect(strstr(gauth_iam_result_detail(r), "nope") != NULL, "%s",
            gauth_iam_result_detail(r));
  expect_states(r, perms, "u");
  cr_expect_eq(gauth_iam_result_missing_count(r), 0u);
  gauth_iam_result_free(r);
  r = test(c, "projects/other-project", perms);
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_NOT_FOUND);
  gauth_iam_result_free(r);
  /* Not retried. */
  cr_expect_eq(counter("/v1/projects/other-project" TIP), 1);
  gauth_credentials_free(c);
}

Test(iam, forbidden_call_is_denied_not_missing) {
  static const char *const perms[] = {"run.jobs.run", "run.jobs.get", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r;
  fault("{\"route\":\"" JOB_PATH "\",\"kind\":\"status\",\"status\":403}");
  r = test(c, JOB, perms);
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_DENIED);
  cr_expect_eq(gauth_iam_result_http_status(r), 403);
  cr_expect(strstr(gauth_iam_result_detail(r), "PERMISSION_DENIED") != NULL,
            "%s", gauth_iam_result_detail(r));
  expect_states(r, perms, "uu");
  gauth_iam_result_free(r);
  cr_expect_eq(counter(JOB_PATH), 1);
  gauth_credentials_free(c);
}

Test(iam, not_found_fault) {
  static const char *const perms[] = {"run.routes.invoke", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r;
  fault("{\"route\":\"" SERVICE_PATH
        "\",\"kind\":\"status\",\"status\":404,"
        "\"body\":\"{\\\"error\\\":{\\\"code\\\":404,\\\"message\\\":\\\"no "
        "such service\\\",\\\"status\\\":\\\"NOT_FOUND\\\"}}\"}");
  r = test(c, SERVICE, perms);
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_NOT_FOUND);
  cr_expect_eq(gauth_iam_result_http_status(r), 404);
  cr_expect_str_eq(gauth_iam_result_detail(r), "NOT_FOUND: no such service");
  expect_states(r, perms, "u");
  gauth_iam_result_free(r);
  gauth_credentials_free(c);
}

/* A fault on the job's route whose error message carries `text`. */
static void echo_fault(int status, const char *text) {
  char body[2048];
  snprintf(body, sizeof body,
           "{\"route\":\"" JOB_PATH
           "\",\"kind\":\"status\",\"status\":%d,"
           "\"body\":\"{\\\"error\\\":{\\\"code\\\":%d,\\\"message\\\":"
           "\\\"bad token %s here\\\",\\\"status\\\":\\\"X\\\"}}\"}",
           status, status, text);
  fault(body);
}

Test(iam, the_token_never_reaches_the_detail) {
  static const char *const perms[] = {"run.jobs.run", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r;
  gauth_error err = GAUTH_ERROR_INIT;
  char *token = NULL;
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &token, NULL, &err),
               GAUTH_OK, "%s", err.message);
  /* A server that echoes the caller's token in its error message. */
  echo_fault(403, token);
  r = test(c, JOB, perms);
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_DENIED);
  cr_expect(strstr(gauth_iam_result_detail(r), token) == NULL, "%s",
            gauth_iam_result_detail(r));
  cr_expect(
      strstr(gauth_iam_result_detail(r), "bad token [redacted] here") != NULL,
      "%s", gauth_iam_result_detail(r));
  gauth_iam_result_free(r);
  /* Nor in an error message (a 400 is an error, not a result). */
  echo_fault(400, token);
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, perms, &r, &err),
               GAUTH_E_HTTP);
  cr_expect_null(r);
  cr_expect_eq(err.http_status, 400);
  cr_expect(strstr(err.message, token) == NULL, "%s", err.message);
  cr_expect(strstr(err.message, "bad token [redacted] here") != NULL, "%s",
            err.message);
  cr_expect(strstr(err.message, "testIamPermissions on " JOB) != NULL, "%s",
            err.message);
  gauth_free(token);
  gauth_credentials_free(c);
}

/* ---- errors on the call -------------------------------------------------- */

Test(iam, unauthenticated_is_an_error) {
  static const char *const perms[] = {"run.jobs.run", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = (gauth_iam_result *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"" JOB_PATH "\",\"kind\":\"status\",\"status\":401}");
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, perms, &r, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_expect_null(r);
  cr_expect_eq(err.http_status, 401);
  cr_expect(strstr(err.message, "testIamPermissions on " JOB) != NULL, "%s",
            err.message);
  cr_expect_eq(counter(JOB_PATH), 1);
  gauth_credentials_free(c);
}

Test(iam, rate_limited_then_success) {
  static const char *const perms[] = {"run.jobs.run", "run.jobs.get", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r;
  fault("{\"route\":\"" JOB_PATH
        "\",\"kind\":\"status\",\"status\":429,"
        "\"count\":2}");
  r = test(c, JOB, perms);
  expect_states(r, perms, "gm");
  gauth_iam_result_free(r);
  cr_expect_eq(counter(JOB_PATH), 3);
  gauth_credentials_free(c);
}

Test(iam, unavailable_then_success) {
  static const char *const perms[] = {"run.routes.invoke", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r;
  fault("{\"route\":\"" SERVICE_PATH
        "\",\"kind\":\"status\",\"status\":503,"
        "\"count\":3}");
  r = test(c, SERVICE, perms);
  expect_states(r, perms, "g");
  gauth_iam_result_free(r);
  cr_expect_eq(counter(SERVICE_PATH), 4);
  gauth_credentials_free(c);
}

Test(iam, unavailable_always_gives_up) {
  static const char *const perms[] = {"run.routes.invoke", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = (gauth_iam_result *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"" SERVICE_PATH "\",\"kind\":\"status\",\"status\":503}");
  cr_expect_eq(gauth_iam_test_permissions(c, SERVICE, perms, &r, &err),
               GAUTH_E_UNAVAILABLE);
  cr_expect_null(r);
  cr_expect_eq(err.http_status, 503);
  cr_expect_eq(counter(SERVICE_PATH), 4); /* max_attempts */
  gauth_credentials_free(c);
}

Test(iam, granted_but_not_asked_is_a_bad_response) {
  static const char *const perms[] = {"run.jobs.run", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = (gauth_iam_result *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"" JOB_PATH
        "\",\"kind\":\"status\",\"status\":200,"
        "\"body\":\"{\\\"permissions\\\":[\\\"run.jobs.run\\\","
        "\\\"run.jobs.delete\\\"]}\"}");
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, perms, &r, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_expect_null(r);
  cr_expect(
      strstr(err.message, "\"run.jobs.delete\", which was not asked") != NULL,
      "%s", err.message);
  cr_expect(strstr(err.message, JOB) != NULL, "%s", err.message);
  gauth_credentials_free(c);
}

Test(iam, invalid_reply_is_a_bad_response) {
  static const char *const perms[] = {"run.jobs.run", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"" JOB_PATH
        "\",\"kind\":\"invalid_json\","
        "\"body\":\"{\\\"permissions\\\":[\"}");
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, perms, &r, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_expect_null(r);
  fault("{\"route\":\"" JOB_PATH
        "\",\"kind\":\"status\",\"status\":200,"
        "\"body\":\"{\\\"permissions\\\":\\\"run.jobs.run\\\"}\"}");
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, perms, &r, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_expect(strstr(err.message, "expected an array") != NULL, "%s",
            err.message);
  gauth_credentials_free(c);
}

/* ---- refused before any request ------------------------------------------ */

Test(iam, invalid_input_makes_no_request) {
  static const char *const bad_perm[] = {"run.jobs.run", "run.jobs.*", NULL};
  static const char *const bad_perm2[] = {"run.jobs", NULL};
  static const char *const good[] = {"run.jobs.run", NULL};
  static const char *const none[] = {NULL};
  static const char *const resources[] = {
      "projects/demo-project/locations/us-central1/jobs",
      "projects/demo-project/",
      ("projects/demo-project/locations/us-central1/jobs/../jobs/collect"),
      "projects/Demo",
      "",
      "http://example.com/v1/x:testIamPermissions"};
  gauth_credentials *c = creds();
  gauth_iam_wait_options wo = GAUTH_IAM_WAIT_OPTIONS_INIT;
  gauth_iam_result *r = (gauth_iam_result *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, bad_perm, &r, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(r);
  cr_expect(strstr(err.message, "wildcards are not permissions") != NULL, "%s",
            err.message);
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, bad_perm2, &r, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, none, &r, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, NULL, &r, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_iam_test_permissions(NULL, JOB, good, &r, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_iam_test_permissions(c, JOB, good, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth_iam_test_permissions(c, NULL, good, &r, &err),
               GAUTH_E_INVALID_ARG);
  for (size_t i = 0; i < sizeof resources / sizeof *resources; i++) {
    cr_expect_eq(gauth_iam_test_permissions(c, resources[i], good, &r, &err),
                 GAUTH_E_INVALID_ARG, "%s", resources[i]);
    cr_expect(strstr(err.message, "projects/P/locations/L/jobs/J") != NULL,
              "%s", err.message);
  }
  cr_expect_eq(
      gauth_iam_wait_permissions(c, JOB, bad_perm, &wo, &r, NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_expect_null(r);
  cr_expect_eq(
      gauth_iam_wait_permissions(c, "projects/p/", good, &wo, &r, NULL, &err),
      GAUTH_E_INVALID_ARG);
  wo.multiplier = 0.5;
  cr_expect_eq(gauth_iam_wait_permissions(c, JOB, good, &wo, &r, NULL, &err),
               GAUTH_E_INVALID_ARG);
  /* Not one request: no token, no testIamPermissions. */
  cr_expect_eq(requests_outside_control(), 0);
  gauth_credentials_free(c);
}

/* ---- waiting for propagation --------------------------------------------- */

typedef struct progress_log {
  unsigned reports, with_result, with_error, last_attempt;
  int64_t last_next_wait, last_elapsed;
  size_t last_missing;
  gauth_status statuses[64];
  int stop_after; /* 0: never */
} progress_log;

static int log_progress(const gauth_iam_progress *p, void *userdata) {
  progress_log *l = userdata;
  cr_expect_eq(p->attempt, l->reports + 1);
  cr_expect_geq(p->elapsed_ms, l->last_elapsed);
  if (l->reports < 64) l->statuses[l->reports] = p->status;
  l->reports++;
  l->last_attempt = p->attempt;
  l->last_next_wait = p->next_wait_ms;
  l->last_elapsed = p->elapsed_ms;
  if (p->result != NULL) {
    l->with_result++;
    l->last_missing = gauth_iam_result_missing_count(p->result);
  }
  if (p->error != NULL) l->with_error++;
  return l->stop_after != 0 && l->reports >= (unsigned)l->stop_after;
}

/* Sleeps until just after the start of a second of the real clock: the
 * emulator judges propagation on whole seconds, so a binding added at
 * S + 0.0x with a delay of 5 s takes effect 4.9+ s later. */
static void align_to_second(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_nsec > 50000000L) {
    struct timespec d = {0, 1000000000L - ts.tv_nsec + 10000000L};
    if (d.tv_nsec >= 1000000000L) {
      d.tv_sec = 1;
      d.tv_nsec -= 1000000000L;
    }
    while (nanosleep(&d, &d) != 0) {
    }
  }
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(iam, wait_sees_a_grant_propagate, .timeout = 60) {
  static const char *const perms[] = {"run.jobs.run", "run.jobs.get", NULL};
  gauth_credentials *c = creds();
  gauth_iam_wait_options wo = GAUTH_IAM_WAIT_OPTIONS_INIT;
  progress_log log;
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t elapsed = -1, t0;
  memset(&log, 0, sizeof log);
  wo.initial_wait_ms = 500;
  wo.max_wait_ms = 1000;
  wo.timeout_ms = 30000;
  wo.progress = log_progress;
  wo.userdata = &log;
  align_to_second();
  grant(JOB, "roles/viewer", 5);
  t0 = mono_ms();
  cr_assert_eq(
      gauth_iam_wait_permissions(c, JOB, perms, &wo, &r, &elapsed, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect(elapsed >= 4500 && elapsed <= 12000, "elapsed %lld ms",
            (long long)elapsed);
  cr_expect_leq(elapsed, mono_ms() - t0);
  /* Waits are at most 1 s: at least 6 checks to get past 4.5 s, one
   * report each; all answered, all but the last with run.jobs.get
   * missing. */
  cr_expect_geq(log.reports, 6u);
  cr_expect_eq(log.with_result, log.reports);
  cr_expect_eq(log.with_error, 0u);
  cr_expect_eq(log.last_next_wait, 0);
  cr_expect_eq(log.last_missing, 0u);
  cr_expect_eq(log.last_elapsed, elapsed);
  cr_expect_eq(counter(JOB_PATH), (int)log.reports);
  cr_assert_not_null(r);
  expect_states(r, perms, "gg");
  gauth_iam_result_free(r);
  gauth_credentials_free(c);
}

Test(iam, wait_deadline_before_the_grant, .timeout = 60) {
  static const char *const perms[] = {"run.jobs.run", "run.jobs.get", NULL};
  gauth_credentials *c = creds();
  gauth_iam_wait_options wo = GAUTH_IAM_WAIT_OPTIONS_INIT;
  progress_log log;
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t elapsed = -1;
  char want[64];
  memset(&log, 0, sizeof log);
  wo.initial_wait_ms = 500;
  wo.max_wait_ms = 1000;
  wo.timeout_ms = 2000;
  wo.progress = log_progress;
  wo.userdata = &log;
  grant(JOB, "roles/viewer", 5);
  cr_assert_eq(
      gauth_iam_wait_permissions(c, JOB, perms, &wo, &r, &elapsed, &err),
      GAUTH_E_TIMEOUT);
  /* The last check is made at the deadline, not after. */
  cr_expect(elapsed >= 2000 && elapsed <= 3500, "elapsed %lld ms",
            (long long)elapsed);
  cr_expect(strstr(err.message, "still missing: run.jobs.get") != NULL, "%s",
            err.message);
  snprintf(want, sizeof want, "after %u checks", log.reports);
  cr_expect(strstr(err.message, want) != NULL, "%s", err.message);
  cr_expect_geq(log.reports, 3u);
  cr_expect_eq(log.last_next_wait, 0);
  cr_expect_eq(counter(JOB_PATH), (int)log.reports);
  cr_assert_not_null(r);
  expect_states(r, perms, "gm");
  gauth_iam_result_free(r);
  gauth_credentials_free(c);
}

Test(iam, wait_rides_out_transient_errors) {
  static const char *const perms[] = {"run.routes.invoke", NULL};
  gauth_credentials *c = creds();
  gauth_iam_wait_options wo = GAUTH_IAM_WAIT_OPTIONS_INIT;
  progress_log log;
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  memset(&log, 0, sizeof log);
  wo.initial_wait_ms = 100;
  wo.max_wait_ms = 200;
  wo.timeout_ms = 20000;
  wo.progress = log_progress;
  wo.userdata = &log;
  fault("{\"route\":\"" SERVICE_PATH
        "\",\"kind\":\"status\",\"status\":503,"
        "\"count\":1}");
  cr_assert_eq(
      gauth_iam_wait_permissions(c, SERVICE, perms, &wo, &r, NULL, &err),
      GAUTH_OK, "%s", err.message);
  /* Within a wait each check is one attempt: the 503 is reported, waited
   * out, and the next check succeeds. */
  cr_expect_eq(log.reports, 2u);
  cr_expect_eq(log.statuses[0], GAUTH_E_UNAVAILABLE);
  cr_expect_eq(log.statuses[1], GAUTH_OK);
  cr_expect_eq(log.with_error, 1u);
  cr_expect_eq(counter(SERVICE_PATH), 2);
  gauth_iam_result_free(r);
  gauth_credentials_free(c);
}

Test(iam, wait_ends_on_a_refused_call) {
  static const char *const perms[] = {"run.jobs.run", NULL};
  gauth_credentials *c = creds();
  gauth_iam_wait_options wo = GAUTH_IAM_WAIT_OPTIONS_INIT;
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t elapsed = -1;
  cr_expect_eq(gauth_iam_wait_permissions(
                   c, "projects/demo-project/locations/us-central1/jobs/gone",
                   perms, &wo, &r, &elapsed, &err),
               GAUTH_E_NOT_FOUND);
  cr_expect_eq(err.http_status, 404);
  cr_expect(strstr(err.message, "does not exist") != NULL, "%s", err.message);
  cr_expect_lt(elapsed, 2000);
  cr_assert_not_null(r);
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_NOT_FOUND);
  gauth_iam_result_free(r);
  cr_expect_eq(counter("/v2/projects/demo-project/locations/us-central1/"
                       "jobs/gone" TIP),
               1);
  gauth_credentials_free(c);
}

Test(iam, wait_stopped_by_progress) {
  static const char *const perms[] = {"run.jobs.get", NULL};
  gauth_credentials *c = creds();
  gauth_iam_wait_options wo = GAUTH_IAM_WAIT_OPTIONS_INIT;
  progress_log log;
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  memset(&log, 0, sizeof log);
  log.stop_after = 2;
  wo.initial_wait_ms = 100;
  wo.progress = log_progress;
  wo.userdata = &log;
  cr_assert_eq(gauth_iam_wait_permissions(c, JOB, perms, &wo, &r, NULL, &err),
               GAUTH_E_TIMEOUT);
  cr_expect(strstr(err.message, "stopped by the progress callback") != NULL,
            "%s", err.message);
  cr_expect_eq(log.reports, 2u);
  cr_expect_eq(counter(JOB_PATH), 2);
  gauth_iam_result_free(r);
  gauth_credentials_free(c);
}

Test(iam, wait_granted_at_once) {
  static const char *const perms[] = {"run.jobs.run", NULL};
  gauth_credentials *c = creds();
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t elapsed = -1;
  /* Default options, no progress callback, result not wanted. */
  cr_assert_eq(
      gauth_iam_wait_permissions(c, JOB, perms, NULL, NULL, &elapsed, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect(elapsed >= 0 && elapsed < 1500, "%lld", (long long)elapsed);
  cr_expect_eq(counter(JOB_PATH), 1);
  (void)r;
  gauth_credentials_free(c);
}
