/* The doctor's pure parts: the cause codes and check names, the order of
 * the causes (the root is the one whose fix comes first), the summaries of
 * ok and unknown, the JSON, the redaction of details, the input's checks,
 * and the kind of a supplied token, diagnosed with every API unreachable
 * (a closed loopback port): what needs no read is still found, and what
 * needs one is unknown, never a guess. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include <gauth/gauth.h>

#include "base64.h"
#include "doctor_internal.h"

#define RUN_URL \
  "https://run.googleapis.com/v2/projects/p/locations/l/jobs/j:run"

TestSuite(doctor, .timeout = 30);

Test(doctor, cause_codes_are_stable) {
  static const char *const want[] = {"ok",
                                     "unknown",
                                     "clock_skew",
                                     "service_account_not_found",
                                     "cannot_mint_token",
                                     "oidc_token_to_google_api",
                                     "access_token_to_run_service",
                                     "no_token",
                                     "token_expired",
                                     "audience_mismatch",
                                     "wrong_scope",
                                     "target_not_found",
                                     "missing_permission",
                                     "permission_not_propagated"};
  int i;
  for (i = 0; i < (int)(sizeof want / sizeof want[0]); i++)
    cr_assert_str_eq(gauth_doctor_cause_code((gauth_doctor_cause)i), want[i]);
  cr_assert_str_eq(gauth_doctor_cause_code((gauth_doctor_cause)14), "invalid");
  cr_assert_str_eq(gauth_doctor_cause_code((gauth_doctor_cause)-1), "invalid");
  cr_assert_eq(GAUTH_DOCTOR_MISSING_PERMISSION, 12);
  cr_assert_str_eq(gauth_doctor_check_result_name(GAUTH_DOCTOR_CHECK_OK), "ok");
  cr_assert_str_eq(gauth_doctor_check_result_name(GAUTH_DOCTOR_CHECK_FAIL),
                   "fail");
  cr_assert_str_eq(gauth_doctor_check_result_name(GAUTH_DOCTOR_CHECK_SKIPPED),
                   "skipped");
  cr_assert_str_eq(gauth_doctor_check_result_name(GAUTH_DOCTOR_CHECK_UNKNOWN),
                   "unknown");
  cr_assert_str_eq(gauth_doctor_check_result_name((gauth_doctor_check_result)9),
                   "invalid");
}

Test(doctor, root_is_the_cause_whose_fix_comes_first) {
  gauth_diagnosis *d = gauth__dx_new();
  cr_assert_not_null(d);
  gauth__dx_check(d, "permission", GAUTH_DOCTOR_CHECK_FAIL, "lacks %s",
                  "run.jobs.run");
  cr_assert(gauth__dx_cause(d, GAUTH_DOCTOR_MISSING_PERMISSION, "missing"));
  gauth__dx_fix(d, "grant it");
  cr_assert(
      gauth__dx_cause(d, GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API, "id token"));
  gauth__dx_fix(d, "fix one");
  gauth__dx_fix(d, "fix two");
  /* Recorded once: the second sentence and its fix are dropped. */
  cr_assert_not(gauth__dx_cause(d, GAUTH_DOCTOR_MISSING_PERMISSION, "again"));
  gauth__dx_fix(d, "not kept");
  cr_assert(gauth__dx_cause(d, GAUTH_DOCTOR_CLOCK_SKEW, "clock"));
  cr_assert_eq(gauth__dx_finish(d, NULL), GAUTH_OK);

  cr_assert_eq(gauth_diagnosis_root_cause(d), GAUTH_DOCTOR_CLOCK_SKEW);
  cr_assert_str_eq(gauth_diagnosis_summary(d), "clock");
  cr_assert_eq(gauth_diagnosis_cause_count(d), 3);
  cr_assert_eq(gauth_diagnosis_cause(d, 1),
               GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API);
  cr_assert_eq(gauth_diagnosis_cause(d, 2), GAUTH_DOCTOR_MISSING_PERMISSION);
  cr_assert_str_eq(gauth_diagnosis_cause_summary(d, 2), "missing");
  cr_assert_eq(gauth_diagnosis_fix_count(d, 0), 0);
  cr_assert_eq(gauth_diagnosis_fix_count(d, 1), 2);
  cr_assert_str_eq(gauth_diagnosis_fix(d, 1, 1), "fix two");
  cr_assert_eq(gauth_diagnosis_fix_count(d, 2), 1);
  cr_assert_str_eq(gauth_diagnosis_fix(d, 2, 0), "grant it");
  /* Out of range. */
  cr_assert_null(gauth_diagnosis_fix(d, 2, 1));
  cr_assert_null(gauth_diagnosis_fix(d, 3, 0));
  cr_assert_null(gauth_diagnosis_cause_summary(d, 3));
  cr_assert_eq(gauth_diagnosis_fix_count(d, 3), 0);
  cr_assert_null(gauth_diagnosis_check_name(d, 1));
  cr_assert_null(gauth_diagnosis_check_detail(d, 1));
  cr_assert_str_eq(gauth_diagnosis_check_detail(d, 0), "lacks run.jobs.run");
  gauth_diagnosis_free(d);
  gauth_diagnosis_free(NULL);
  cr_assert_eq(gauth_diagnosis_cause_count(NULL), 0);
  cr_assert_str_eq(gauth_diagnosis_summary(NULL), "");
  cr_assert_null(gauth_diagnosis_to_json(NULL));
}

Test(doctor, ok_says_what_was_checked_unknown_says_what_was_not) {
  gauth_diagnosis *d = gauth__dx_new();
  gauth__dx_check(d, "token_type", GAUTH_DOCTOR_CHECK_OK, "fine");
  gauth__dx_check(d, "attempt", GAUTH_DOCTOR_CHECK_SKIPPED, "not asked");
  gauth__dx_check(d, "clock", GAUTH_DOCTOR_CHECK_OK, "fine");
  cr_assert_eq(gauth__dx_finish(d, NULL), GAUTH_OK);
  cr_assert_eq(gauth_diagnosis_root_cause(d), GAUTH_DOCTOR_OK);
  cr_assert_str_eq(gauth_diagnosis_summary(d),
                   "Nothing wrong found. Checked: token_type; clock.");
  gauth__dx_check(d, "permission", GAUTH_DOCTOR_CHECK_UNKNOWN,
                  "the caller may not read the policy");
  cr_assert_eq(gauth__dx_finish(d, NULL), GAUTH_OK);
  cr_assert_eq(gauth_diagnosis_root_cause(d), GAUTH_DOCTOR_UNKNOWN);
  cr_assert_not_null(strstr(gauth_diagnosis_summary(d),
                            "permission (the caller may not read the policy)"));
  cr_assert_eq(gauth_diagnosis_cause_count(d), 0);
  gauth__dx_check_update(d, "permission", GAUTH_DOCTOR_CHECK_OK, "now %d", 1);
  cr_assert_eq(gauth__dx_check_get(d, "permission"), GAUTH_DOCTOR_CHECK_OK);
  cr_assert_eq(gauth__dx_check_get(d, "nope"), GAUTH_DOCTOR_CHECK_SKIPPED);
  cr_assert_eq(gauth__dx_finish(d, NULL), GAUTH_OK);
  cr_assert_eq(gauth_diagnosis_root_cause(d), GAUTH_DOCTOR_OK);
  gauth_diagnosis_free(d);
}

Test(doctor, json_has_the_members_the_cli_prints) {
  gauth_diagnosis *d = gauth__dx_new();
  cJSON *o, *c;
  char *s;
  gauth__dx_check(d, "token_type", GAUTH_DOCTOR_CHECK_FAIL, "an \"ID\" token");
  gauth__dx_check(d, "clock", GAUTH_DOCTOR_CHECK_SKIPPED, "no Date");
  gauth__dx_cause(d, GAUTH_DOCTOR_WRONG_SCOPE, "scope");
  gauth__dx_cause(d, GAUTH_DOCTOR_NO_TOKEN, "none");
  gauth__dx_fix(d, "add one");
  cr_assert_eq(gauth__dx_finish(d, NULL), GAUTH_OK);
  s = gauth_diagnosis_to_json(d);
  cr_assert_not_null(s);
  o = cJSON_Parse(s);
  cr_assert_not_null(o, "%s", s);
  cr_assert_str_eq(cJSON_GetObjectItem(o, "root_cause")->valuestring,
                   "no_token");
  cr_assert_str_eq(cJSON_GetObjectItem(o, "summary")->valuestring, "none");
  c = cJSON_GetObjectItem(o, "fix");
  cr_assert_eq(cJSON_GetArraySize(c), 1);
  cr_assert_str_eq(cJSON_GetArrayItem(c, 0)->valuestring, "add one");
  c = cJSON_GetObjectItem(o, "causes");
  cr_assert_eq(cJSON_GetArraySize(c), 2);
  cr_assert_str_eq(
      cJSON_GetObjectItem(cJSON_GetArrayItem(c, 1), "code")->valuestring,
      "wrong_scope");
  cr_assert_eq(
      cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(c, 1), "fix")),
      0);
  c = cJSON_GetObjectItem(o, "checks");
  cr_assert_eq(cJSON_GetArraySize(c), 2);
  cr_assert_str_eq(
      cJSON_GetObjectItem(cJSON_GetArrayItem(c, 0), "result")->valuestring,
      "fail");
  cr_assert_str_eq(
      cJSON_GetObjectItem(cJSON_GetArrayItem(c, 0), "detail")->valuestring,
      "an \"ID\" token");
  cr_assert_str_eq(
      cJSON_GetObjectItem(cJSON_GetArrayItem(c, 1), "name")->valuestring,
      "clock");
  cJSON_Delete(o);
  gauth_free(s);
  gauth_diagnosis_free(d);
}

Test(doctor, details_never_carry_a_token) {
  gauth_diagnosis *d = gauth__dx_new();
  gauth__dx_check(d, "attempt", GAUTH_DOCTOR_CHECK_FAIL,
                  "Authorization: Bearer ya29.CANARYCANARYCANARY");
  gauth__dx_cause(d, GAUTH_DOCTOR_TOKEN_EXPIRED, "token %s",
                  "eyJhbGciOiJSUzI1NiJ9.eyJDQU5BUlkiOjF9.c2ln");
  gauth__dx_fix(d, "send ya29.CANARY2CANARY2 again");
  cr_assert_eq(gauth__dx_finish(d, NULL), GAUTH_OK);
  {
    char *s = gauth_diagnosis_to_json(d);
    cr_assert_null(strstr(s, "CANARY"), "%s", s);
    cr_assert_null(strstr(s, "eyJ"), "%s", s);
    gauth_free(s);
  }
  gauth_diagnosis_free(d);
}

/* ---- gauth_doctor_diagnose with every API unreachable ------------------- */

static gauth_options opts;
static gauth_credentials_options copts;
static gauth_credentials *caller;

static void closed_setup(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  static const char user[] =
      "{\"type\":\"authorized_user\",\"client_id\":\"id.apps.example\","
      "\"client_secret\":\"s\",\"refresh_token\":\"1//r\"}";
  gauth_error err = GAUTH_ERROR_INIT;
  opts = o;
  /* Port 1 on loopback: nothing listens there; connections are refused at
   * once. */
  opts.endpoint = "http://127.0.0.1:1";
  opts.retry.max_attempts = 1;
  opts.timeout_ms = 2000;
  copts = co;
  copts.options = &opts;
  cr_assert_eq(
      gauth_credentials_from_json(&caller, user, sizeof user - 1, &copts, &err),
      GAUTH_OK, "%s", err.message);
}

static void closed_teardown(void) { gauth_credentials_free(caller); }

/* A compact JWS with this payload (the signature is not checked). */
static char *jwt(const char *payload) {
  char *h = NULL, *p = NULL, *out;
  const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
  cr_assert_eq(gauth__b64url_encode(header, strlen(header), &h, NULL),
               GAUTH_OK);
  cr_assert_eq(gauth__b64url_encode(payload, strlen(payload), &p, NULL),
               GAUTH_OK);
  out = malloc(strlen(h) + strlen(p) + 16);
  sprintf(out, "%s.%s.c2lnbmF0dXJl", h, p);
  free(h);
  free(p);
  return out;
}

static const char *check_result(const gauth_diagnosis *d, const char *name) {
  size_t i;
  for (i = 0; i < gauth_diagnosis_check_count(d); i++)
    if (strcmp(gauth_diagnosis_check_name(d, i), name) == 0)
      return gauth_doctor_check_result_name(gauth_diagnosis_check_result(d, i));
  return "absent";
}

TestSuite(doctor_offline, .init = closed_setup, .fini = closed_teardown,
          .timeout = 60);

Test(doctor_offline, input_errors) {
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = (gauth_diagnosis *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_doctor_diagnose(NULL, NULL, &in, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(d);
  cr_assert_eq(gauth_doctor_diagnose(caller, NULL, NULL, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_doctor_diagnose(caller, NULL, &in, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "job or a url"), "%s", err.message);
  in.url = "ftp://example.com/x";
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, &err),
               GAUTH_E_INVALID_ARG);
  in.url = RUN_URL;
  in.token = "";
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, &err),
               GAUTH_E_INVALID_ARG);
  in.token = NULL;
  in.version = 99;
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "GAUTH_DOCTOR_INPUT_INIT"), "%s",
                     err.message);
}

Test(doctor_offline, pubsub_job_is_refused) {
  static const char job_json[] =
      "{\"name\":\"projects/p/locations/l/jobs/j\",\"pubsubTarget\":{}}";
  gauth_scheduler_job *job = NULL;
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      gauth_scheduler_job_from_json(&job, job_json, sizeof job_json - 1, &err),
      GAUTH_OK, "%s", err.message);
  in.job = job;
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(d);
  gauth_scheduler_job_free(job);
}

Test(doctor_offline, id_token_to_run_admin_is_found_without_any_read) {
  char *tok =
      jwt("{\"aud\":\"https://x.example\",\"exp\":4102444800,"
          "\"email\":\"a@p.iam.gserviceaccount.com\",\"CANARY\":1}");
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *s;
  in.url = RUN_URL;
  in.token = tok;
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, &err), GAUTH_OK,
               "%s", err.message);
  cr_assert_eq(gauth_diagnosis_root_cause(d),
               GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API, "%s",
               gauth_diagnosis_summary(d));
  cr_assert_str_eq(check_result(d, "token_type"), "fail");
  cr_assert_str_eq(check_result(d, "token"), "ok");
  /* The reads failed: unknown, and no cause named from them. */
  cr_assert_str_eq(check_result(d, "service_account"), "unknown");
  cr_assert_eq(gauth_diagnosis_cause_count(d), 1);
  s = gauth_diagnosis_to_json(d);
  cr_assert_null(strstr(s, tok), "the token in %s", s);
  cr_assert_null(strstr(s, "CANARY"));
  gauth_free(s);
  gauth_diagnosis_free(d);
  free(tok);
}

Test(doctor_offline, expired_id_token_is_named_after_the_wrong_kind) {
  char *tok = jwt("{\"aud\":\"x\",\"exp\":1000000000}");
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = NULL;
  in.url = RUN_URL;
  in.token = tok;
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, NULL), GAUTH_OK);
  cr_assert_eq(gauth_diagnosis_root_cause(d),
               GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API);
  cr_assert_eq(gauth_diagnosis_cause_count(d), 2);
  cr_assert_eq(gauth_diagnosis_cause(d, 1), GAUTH_DOCTOR_TOKEN_EXPIRED);
  cr_assert_str_eq(check_result(d, "token"), "fail");
  gauth_diagnosis_free(d);
  free(tok);
}

Test(doctor_offline, jwt_with_a_scope_is_an_access_token) {
  char *tok =
      jwt("{\"aud\":\"https://run.googleapis.com/\",\"exp\":4102444800,"
          "\"scope\":\"https://www.googleapis.com/auth/pubsub\"}");
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = NULL;
  in.url = RUN_URL;
  in.token = tok;
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, NULL), GAUTH_OK);
  cr_assert_eq(gauth_diagnosis_root_cause(d), GAUTH_DOCTOR_WRONG_SCOPE, "%s",
               gauth_diagnosis_summary(d));
  cr_assert_str_eq(check_result(d, "token_type"), "ok");
  gauth_diagnosis_free(d);
  free(tok);
}

Test(doctor_offline, opaque_token_unread_is_unknown_not_a_guess) {
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = NULL;
  in.url = RUN_URL;
  in.token = "ya29.CANARY-opaque";
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, NULL), GAUTH_OK);
  cr_assert_eq(gauth_diagnosis_root_cause(d), GAUTH_DOCTOR_UNKNOWN, "%s",
               gauth_diagnosis_summary(d));
  cr_assert_str_eq(check_result(d, "token_type"), "ok");
  cr_assert_str_eq(check_result(d, "token"), "unknown");
  {
    char *s = gauth_diagnosis_to_json(d);
    cr_assert_null(strstr(s, "CANARY"), "%s", s);
    gauth_free(s);
  }
  gauth_diagnosis_free(d);
}

Test(doctor_offline, reply_given_with_skew_names_the_clock) {
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = NULL;
  in.url = RUN_URL;
  in.token = "ya29.x";
  in.http_status = 401;
  in.date = "Sun, 06 Nov 1994 08:49:37 GMT";
  in.www_authenticate = "Bearer error=\"invalid_token\"";
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, NULL), GAUTH_OK);
  cr_assert_eq(gauth_diagnosis_root_cause(d), GAUTH_DOCTOR_CLOCK_SKEW, "%s",
               gauth_diagnosis_summary(d));
  cr_assert_str_eq(check_result(d, "attempt"), "fail");
  gauth_diagnosis_free(d);
}

Test(doctor_offline, no_token_to_a_google_api) {
  gauth_scheduler_job *job = NULL;
  static const char job_json[] = "{\"httpTarget\":{\"uri\":\"" RUN_URL "\"}}";
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_diagnosis *d = NULL;
  cr_assert_eq(
      gauth_scheduler_job_from_json(&job, job_json, sizeof job_json - 1, NULL),
      GAUTH_OK);
  in.job = job;
  cr_assert_eq(gauth_doctor_diagnose(caller, &opts, &in, &d, NULL), GAUTH_OK);
  cr_assert_eq(gauth_diagnosis_root_cause(d), GAUTH_DOCTOR_NO_TOKEN, "%s",
               gauth_diagnosis_summary(d));
  cr_assert_gt(gauth_diagnosis_fix_count(d, 0), 0);
  cr_assert_not_null(strstr(gauth_diagnosis_fix(d, 0, 0), "--oauth-"));
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
}
