/* Service-account credentials over real HTTP: against the fixture's
 * emulator (its token endpoint, key sets and Cloud Run routes judge what
 * libgauth sends), and against a capturing test server (which shows the
 * request exactly as sent: the form body and the assertion, verified with
 * the key's public part and compared claim by claim).
 *
 * The key is the one the fixture's emulator wrote (--key-file): the
 * scheduler account, with token_uri http://127.0.0.1:PORT/token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gauth/gauth.h>

#include "constants.h"
#include "emu_fixture.h"
#include "test_server.h"
#include "test_util.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define CLOUD "https://www.googleapis.com/auth/cloud-platform"
#define JOB_RUN \
  "/v2/projects/demo-project/locations/us-central1/jobs/collect:run"
#define JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define FIXED_NOW 1767225600

/* ---- fixture helpers ---------------------------------------------------- */

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = malloc(65536);
  size_t n;
  cr_assert_not_null(f, "cannot open %s", path);
  n = fread(buf, 1, 65535, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* The key file as JSON (cJSON_Delete). */
static cJSON *key_json(void) {
  char *text = read_text(emu_fixture_key_file());
  cJSON *j = cJSON_Parse(text);
  cr_assert_not_null(j);
  free(text);
  return j;
}

static void reset_emulator(void) {
  emu_reply r;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/counters:reset", "{}", NULL),
      200);
  cr_assert_eq(emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults",
                        NULL, NULL, &r),
               0);
  cr_assert_eq(r.status, 200);
  emu_reply_free(&r);
}

static void fault(const char *json) {
  char *out = NULL;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/faults", json, &out), 200,
      "%s", out);
  free(out);
}

/* Requests the emulator counted on path (0 when none). */
static int counter(const char *path) {
  long v = emu_counter(emu_fixture_url(), path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

/* Requests counted on any path outside the control API. */
static int counter_total_outside_control(void) {
  char *out = NULL;
  cJSON *j, *reqs, *it;
  int v = 0;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/counters", NULL, &out), 200);
  j = cJSON_Parse(out);
  reqs = cJSON_GetObjectItemCaseSensitive(j, "requests");
  cJSON_ArrayForEach(it, reqs) if (strncmp(it->string, "/emulator/", 10) != 0)
      v += it->valueint;
  cJSON_Delete(j);
  free(out);
  return v;
}

/* The principal of the last logged request on path ("" if none). */
static void last_principal(const char *path, char *buf, size_t n) {
  cr_assert_eq(emu_last_principal(emu_fixture_url(), path, buf, n), 0,
               "the emulator's request log cannot be read");
}

static gauth_options fast_options(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 40;
  o.retry.deadline_ms = 10000;
  o.timeout_ms = 5000;
  return o;
}

static gauth_credentials *sa_creds(const gauth_options *o,
                                   gauth_credentials_options *co) {
  gauth_credentials_options def = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  if (co == NULL) co = &def;
  co->options = o;
  cr_assert_eq(
      gauth_credentials_from_file(&c, emu_fixture_key_file(), co, &err),
      GAUTH_OK, "%s", err.message);
  return c;
}

static gauth_credentials *sa_creds_json(cJSON *j, const gauth_options *o,
                                        gauth_credentials_options *co) {
  gauth_credentials_options def = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *text = cJSON_PrintUnformatted(j);
  if (co == NULL) co = &def;
  co->options = o;
  cr_assert_eq(gauth_credentials_from_json(&c, text, strlen(text), co, &err),
               GAUTH_OK, "%s", err.message);
  free(text);
  return c;
}

/* POST path on the emulator with a bearer token; returns the status. */
/* A request to base + path with the token; base: emu_fixture_url() (the
 * Google APIs) or emu_fixture_run_url() (the Cloud Run services). */
static long call_with(const char *base, const char *method, const char *path,
                      const char *token, char **body) {
  char auth[8192];
  const char *h[] = {auth, "Content-Type: application/json", NULL};
  emu_reply r;
  long st;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  cr_assert_eq(emu_http(base, method, path, h,
                        strcmp(method, "POST") == 0 ? "{}" : NULL, &r),
               0);
  st = r.status;
  if (body != NULL) *body = strdup(r.body);
  emu_reply_free(&r);
  return st;
}

static void setup(void) { reset_emulator(); }

static void teardown(void) {
  emu_reply r;
  if (emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults", NULL, NULL,
               &r) == 0)
    emu_reply_free(&r);
}

TestSuite(creds_sa, .init = setup, .fini = teardown, .timeout = 60);

/* ---- against the emulator ------------------------------------------------ */

Test(creds_sa, access_token_runs_the_job) {
  gauth_options o = fast_options();
  gauth_credentials *c = sa_creds(&o, NULL);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, *tok2 = NULL, *body = NULL;
  int64_t exp = 0, now = (int64_t)time(NULL);

  cr_assert_eq(gauth_credentials_get_type(c),
               GAUTH_CREDENTIALS_SERVICE_ACCOUNT);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(strncmp(tok, "ya29.", 5), 0);
  cr_assert(exp >= now + 3590 && exp <= now + 3600, "exp %lld, now %lld",
            (long long)exp, (long long)now);
  cr_assert_eq(counter("/token"), 1);
  cr_assert_eq(call_with(emu_fixture_url(), "POST", JOB_RUN, tok, &body), 200,
               "%s", body);
  free(body);
  /* The second call is served from the cache. */
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok2, NULL, &err),
               GAUTH_OK);
  cr_assert_str_eq(tok2, tok);
  cr_assert_eq(counter("/token"), 1);
  gauth_free(tok);
  gauth_free(tok2);
  gauth_credentials_free(c);
}

static gauth_claims *verify_google(const char *token, const char *aud) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  const char *auds[] = {aud, NULL};
  gauth_verifier *v = NULL;
  gauth_claims *cl = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  o.endpoint = emu_fixture_url();
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = auds;
  vo.http = &o;
  cr_assert_eq(gauth_verifier_new(&v, &vo, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_verifier_verify(v, token, 0, &cl, &err), GAUTH_OK,
               "%s: %s", err.reason, err.message);
  gauth_verifier_free(v);
  return cl;
}

Test(creds_sa, id_token_verifies_and_opens_the_service) {
  gauth_options o = fast_options();
  gauth_credentials *c = sa_creds(&o, NULL);
  gauth_error err = GAUTH_ERROR_INIT;
  char aud[512], *tok = NULL, *body = NULL;
  const char *email = NULL;
  int64_t exp = 0;
  gauth_claims *cl;

  snprintf(aud, sizeof aud, "%s/services/collector", emu_fixture_run_url());
  cr_assert_eq(gauth_credentials_id_token(c, aud, 0, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cl = verify_google(tok, aud);
  cr_assert_str_eq(gauth_claims_audience(cl, 0), aud);
  cr_assert_eq(gauth_claims_audience_count(cl), 1);
  cr_assert_eq(gauth_claims_get_string(cl, "email", &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, SCHEDULER);
  cr_assert_eq(gauth_claims_expires_at(cl), exp);
  gauth_claims_free(cl);
  cr_assert_eq(counter("/token"), 1);
  cr_assert_eq(call_with(emu_fixture_run_url(), "GET", "/services/collector",
                         tok, &body),
               200, "%s", body);
  cr_assert_not_null(strstr(body, "\"principal\":\"" SCHEDULER "\""), "%s",
                     body);
  free(body);
  /* The ID token is no access token: the Admin API refuses it. */
  cr_assert_eq(call_with(emu_fixture_url(), "POST", JOB_RUN, tok, NULL), 401);
  gauth_free(tok);
  gauth_credentials_free(c);
}

Test(creds_sa, domain_wide_delegation_acts_as_the_user) {
  gauth_options o = fast_options();
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, who[256];

  co.subject = "developer@example.com";
  c = sa_creds(&o, &co);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  /* The token is the user's, who may not run the job. */
  cr_assert_eq(call_with(emu_fixture_url(), "POST", JOB_RUN, tok, NULL), 403);
  last_principal(JOB_RUN, who, sizeof who);
  cr_assert_str_eq(who, "developer@example.com");
  gauth_free(tok);
  gauth_credentials_free(c);

  co.subject = "not-an-email";
  c = sa_creds(&o, &co);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert_str_eq(err.error_code, "invalid_grant");
  cr_assert_not_null(strstr(err.message, "Invalid email or User ID"), "%s",
                     err.message);
  gauth_credentials_free(c);
}

Test(creds_sa, self_signed_jwt_makes_no_request) {
  gauth_options o = fast_options();
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *k = NULL;
  gauth_keyset *ks = NULL;
  char *tok = NULL, *text, *payload = NULL;
  cJSON *claims;
  int64_t exp = 0, now = (int64_t)time(NULL);

  co.self_signed_jwt = GAUTH_SELF_SIGNED_JWT_ALWAYS;
  c = sa_creds(&o, &co);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(counter_total_outside_control(), 0);
  text = read_text(emu_fixture_key_file());
  cr_assert_eq(gauth_key_from_service_account(&k, text, strlen(text), &err),
               GAUTH_OK);
  cr_assert_eq(gauth_keyset_from_keys(&ks, &k, 1, &err), GAUTH_OK);
  cr_assert_eq(gauth_jws_verify(tok, 0, ks, GAUTH_ALG_BIT(GAUTH_ALG_RS256),
                                &payload, NULL, &err),
               GAUTH_OK, "%s", err.message);
  claims = cJSON_Parse(payload);
  cr_assert_str_eq(cJSON_GetObjectItem(claims, "iss")->valuestring, SCHEDULER);
  cr_assert_str_eq(cJSON_GetObjectItem(claims, "sub")->valuestring, SCHEDULER);
  cr_assert_str_eq(cJSON_GetObjectItem(claims, "scope")->valuestring, CLOUD);
  cr_assert_eq((int64_t)cJSON_GetObjectItem(claims, "exp")->valuedouble, exp);
  cr_assert(exp > now + 3500 && exp <= now + 3600);
  cJSON_Delete(claims);
  gauth_free(payload);
  gauth_keyset_free(ks);
  gauth_key_free(k);
  free(text);
  gauth_free(tok);
  gauth_credentials_free(c);
}

Test(creds_sa, wrong_key_is_invalid_grant_without_the_assertion) {
  gauth_options o = fast_options();
  cJSON *j = key_json();
  gauth_credentials *c;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, *pem;
  EVP_PKEY *pk = EVP_RSA_gen(2048);
  BIO *b = BIO_new(BIO_s_mem());
  long n;

  /* Another key under the same account and kid. */
  cr_assert(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL));
  n = BIO_get_mem_data(b, &pem);
  pem = strndup(pem, (size_t)n);
  cJSON_ReplaceItemInObject(j, "private_key", cJSON_CreateString(pem));
  c = sa_creds_json(j, &o, NULL);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert_null(tok);
  cr_assert_eq(err.http_status, 400);
  cr_assert_str_eq(err.error_code, "invalid_grant");
  cr_assert_not_null(
      strstr(err.message, "service account " SCHEDULER ": access token: POST "),
      "%s", err.message);
  cr_assert_not_null(strstr(err.message, "/token"), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "Invalid JWT Signature."), "%s",
                     err.message);
  cr_assert_null(strstr(err.message, "eyJ"), "%s", err.message);
  cr_assert_eq(counter("/token"), 1); /* a 400 is not retried */
  /* An account the token endpoint does not know. */
  gauth_credentials_free(c);
  cJSON_ReplaceItemInObject(j, "client_email",
                            cJSON_CreateString("ghost@demo-project.iam."
                                               "gserviceaccount.com"));
  c = sa_creds_json(j, &o, NULL);
  cr_assert_eq(
      gauth_credentials_id_token(c, "https://x.example/", 0, &tok, NULL, &err),
      GAUTH_E_UNAUTHENTICATED);
  cr_assert_not_null(strstr(err.message,
                            "service account ghost@demo-project"
                            ".iam.gserviceaccount.com: ID token"),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, "account not found"), "%s",
                     err.message);
  gauth_credentials_free(c);
  BIO_free(b);
  EVP_PKEY_free(pk);
  free(pem);
  cJSON_Delete(j);
}

/* ---- faults on the token endpoint ---------------------------------------- */

static gauth_status fetch(gauth_options *o, gauth_error *err) {
  gauth_credentials *c = sa_creds(o, NULL);
  char *tok = NULL;
  gauth_status st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  cr_assert_eq(st == GAUTH_OK, tok != NULL);
  if (tok != NULL) cr_assert_eq(strncmp(tok, "ya29.", 5), 0);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

Test(creds_sa_faults, unavailable_once_then_success, .init = setup,
     .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault(
      "{\"route\":\"/token\",\"kind\":\"status\",\"status\":503,"
      "\"count\":1}");
  cr_assert_eq(fetch(&o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(counter("/token"), 2);
}

Test(creds_sa_faults, rate_limited_honours_retry_after, .init = setup,
     .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t t0;
  int n;
  fault(
      "{\"route\":\"/token\",\"kind\":\"status\",\"status\":429,"
      "\"retry_after\":1,\"count\":1}");
  t0 = tu_now_ms();
  cr_assert_eq(fetch(&o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_geq(tu_now_ms() - t0, 900);
  n = counter("/token");
  cr_assert_eq(n, 2, "/token requests: %d", n);
}

Test(creds_sa_faults, unavailable_always_gives_up, .init = setup,
     .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"/token\",\"kind\":\"status\",\"status\":503}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_UNAVAILABLE);
  cr_assert_eq(err.http_status, 503);
  cr_assert_not_null(strstr(err.message, "service account " SCHEDULER), "%s",
                     err.message);
  cr_assert_not_null(strstr(err.message, "3 attempts"), "%s", err.message);
  cr_assert_eq(counter("/token"), 3);
}

Test(creds_sa_faults, reset_once_then_success, .init = setup,
     .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"/token\",\"kind\":\"reset\",\"count\":1}");
  cr_assert_eq(fetch(&o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(counter("/token"), 2);
}

Test(creds_sa_faults, truncated_always, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"/token\",\"kind\":\"truncate\"}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_NETWORK, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "cut short"), "%s", err.message);
  cr_assert_eq(counter("/token"), 3);
}

Test(creds_sa_faults, truncated_once_then_success, .init = setup,
     .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"/token\",\"kind\":\"truncate\",\"count\":1}");
  cr_assert_eq(fetch(&o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(counter("/token"), 2);
}

Test(creds_sa_faults, invalid_json, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"/token\",\"kind\":\"invalid_json\"}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "token reply is not a JSON object"),
                     "%s", err.message);
  cr_assert_null(strstr(err.message, "ya29"), "%s", err.message);
  cr_assert_eq(counter("/token"), 1);
}

Test(creds_sa_faults, oversized, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"/token\",\"kind\":\"oversized\"}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_TOO_LARGE, "%s", err.message);
  cr_assert_eq(counter("/token"), 1);
}

Test(creds_sa_faults, delay_beyond_timeout, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t t0;
  o.timeout_ms = 300;
  o.retry.max_attempts = 1;
  fault("{\"route\":\"/token\",\"kind\":\"delay\",\"delay_ms\":2000}");
  t0 = tu_now_ms();
  cr_assert_eq(fetch(&o, &err), GAUTH_E_TIMEOUT, "%s", err.message);
  cr_assert_lt(tu_now_ms() - t0, 1500);
  cr_assert_not_null(strstr(err.message, "timed out after 300 ms"), "%s",
                     err.message);
  /* The emulator counts the request when its 2 s delay ends: wait for it,
   * or the count lands in whichever test runs next. */
  for (int i = 0; i < 100 && counter("/token") < 1; i++) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  cr_assert_eq(counter("/token"), 1);
}

/* ---- exactly what is sent (capturing server) ----------------------------- */

static int64_t fixed_clock(void *ud) {
  (void)ud;
  return FIXED_NOW;
}

/* The form fields of a body, decoded: "name" -> value. */
static cJSON *form_fields(const char *body) {
  cJSON *o = cJSON_CreateObject();
  char *copy = strdup(body), *save = NULL, *f;
  for (f = strtok_r(copy, "&", &save); f != NULL;
       f = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(f, '=');
    char *v;
    cr_assert_not_null(eq, "field without '=': %s", f);
    *eq = '\0';
    v = curl_easy_unescape(NULL, eq + 1, 0, NULL);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(o, f), "twice: %s", f);
    cJSON_AddStringToObject(o, f, v);
    curl_free(v);
  }
  free(copy);
  return o;
}

/* Checks the captured token request and returns the assertion's claims
 * (verified with the scheduler key). */
static cJSON *captured_claims(ts_server *s, const char *path) {
  ts_request r;
  cJSON *form, *hdr, *claims;
  const char *assertion;
  char *text = read_text(emu_fixture_key_file()), *h = NULL, *payload = NULL;
  gauth_key *k = NULL;
  gauth_keyset *ks = NULL;
  gauth_error err = GAUTH_ERROR_INIT;

  cr_assert(ts_last_request(s, path, &r), "no request on %s", path);
  cr_assert_str_eq(r.method, "POST");
  cr_assert_not_null(strstr(r.headers, "application/x-www-form-urlencoded"),
                     "%s", r.headers);
  form = form_fields(r.body);
  cr_assert_eq(cJSON_GetArraySize(form), 2, "%s", r.body);
  cr_assert_str_eq(cJSON_GetObjectItem(form, "grant_type")->valuestring,
                   JWT_BEARER);
  assertion = cJSON_GetObjectItem(form, "assertion")->valuestring;
  cr_assert_eq(gauth_key_from_service_account(&k, text, strlen(text), &err),
               GAUTH_OK);
  cr_assert_eq(gauth_keyset_from_keys(&ks, &k, 1, &err), GAUTH_OK);
  cr_assert_eq(
      gauth_jws_verify(assertion, 0, ks, GAUTH_ALG_BIT(GAUTH_ALG_RS256),
                       &payload, NULL, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_jwt_decode_unverified(assertion, &h, NULL, &err),
               GAUTH_OK);
  hdr = cJSON_Parse(h);
  cr_assert_eq(cJSON_GetArraySize(hdr), 3, "%s", h);
  cr_assert_str_eq(cJSON_GetObjectItem(hdr, "alg")->valuestring, "RS256");
  cr_assert_str_eq(cJSON_GetObjectItem(hdr, "typ")->valuestring, "JWT");
  cr_assert_str_eq(cJSON_GetObjectItem(hdr, "kid")->valuestring,
                   gauth_key_kid(k));
  claims = cJSON_Parse(payload);
  cr_assert_not_null(claims);
  cJSON_Delete(hdr);
  cJSON_Delete(form);
  gauth_free(h);
  gauth_free(payload);
  gauth_keyset_free(ks);
  gauth_key_free(k);
  free(text);
  ts_request_cleanup(&r);
  return claims;
}

static void claim_is(const cJSON *c, const char *name, const char *want) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);
  cr_assert(cJSON_IsString(v), "claim %s missing", name);
  cr_assert_str_eq(v->valuestring, want, "claim %s", name);
}

static void times_are_exact(const cJSON *c) {
  int64_t iat = FIXED_NOW - GAUTH__ASSERTION_BACKDATE;
  cr_assert_eq((int64_t)cJSON_GetObjectItem(c, "iat")->valuedouble, iat);
  cr_assert_eq((int64_t)cJSON_GetObjectItem(c, "exp")->valuedouble, iat + 3600);
}

static const char ACCESS_REPLY[] =
    "{\"access_token\":\"ya29.captured\",\"expires_in\":3599,"
    "\"token_type\":\"Bearer\"}";

/* The key file with token_uri replaced. */
static gauth_credentials *captured_creds(const char *token_uri,
                                         const gauth_options *o,
                                         const char *subject) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  cJSON *j = key_json();
  gauth_credentials *c;
  co.clock = fixed_clock;
  co.subject = subject;
  cJSON_ReplaceItemInObject(j, "token_uri", cJSON_CreateString(token_uri));
  c = sa_creds_json(j, o, &co);
  cJSON_Delete(j);
  return c;
}

Test(creds_sa_wire, access_assertion_exact) {
  ts_server *s = ts_start();
  ts_response ok = {.status = 200,
                    .body = ACCESS_REPLY,
                    .headers = {"Content-Type: application/json"}};
  gauth_options o = fast_options();
  const char *scopes[] = {CLOUD, "openid", NULL};
  char uri[256], *tok = NULL;
  int64_t exp = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c;
  cJSON *cl;

  ts_route(s, "/token", &ok, 1);
  ts_url(s, "/token", uri, sizeof uri);
  c = captured_creds(uri, &o, NULL);
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, "ya29.captured");
  cr_assert_eq(exp, FIXED_NOW + 3599);
  cl = captured_claims(s, "/token");
  cr_assert_eq(cJSON_GetArraySize(cl), 5);
  claim_is(cl, "iss", SCHEDULER);
  claim_is(cl, "aud", uri);
  claim_is(cl, "scope", CLOUD " openid");
  times_are_exact(cl);
  cJSON_Delete(cl);
  gauth_free(tok);
  gauth_credentials_free(c);

  /* Domain-wide delegation adds sub, and only that. */
  c = captured_creds(uri, &o, "developer@example.com");
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cl = captured_claims(s, "/token");
  cr_assert_eq(cJSON_GetArraySize(cl), 6);
  claim_is(cl, "sub", "developer@example.com");
  claim_is(cl, "scope", CLOUD);
  cJSON_Delete(cl);
  gauth_free(tok);
  gauth_credentials_free(c);
  cr_assert_eq(ts_count(s, "/token"), 2);
  ts_stop(s);
}

Test(creds_sa_wire, id_assertion_exact) {
  ts_server *s = ts_start();
  gauth_options o = fast_options();
  char uri[256], reply[4096], *idt = NULL, *tok = NULL, *text;
  gauth_key *k = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c;
  int64_t exp = 0;
  cJSON *cl;

  /* A reply whose id_token expires at a time of its own. */
  text = read_text(emu_fixture_key_file());
  cr_assert_eq(gauth_key_from_service_account(&k, text, strlen(text), &err),
               GAUTH_OK);
  cr_assert_eq(gauth_jwt_sign(k, GAUTH_ALG_RS256, NULL,
                              "{\"aud\":\"https://svc.example/\","
                              "\"exp\":1767229000}",
                              &idt, &err),
               GAUTH_OK);
  snprintf(reply, sizeof reply, "{\"id_token\":\"%s\"}", idt);
  ts_response ok = {.status = 200, .body = reply};
  ts_route(s, "/token", &ok, 1);
  ts_url(s, "/token", uri, sizeof uri);
  c = captured_creds(uri, &o, "developer@example.com");
  cr_assert_eq(gauth_credentials_id_token(c, "https://svc.example/", 0, &tok,
                                          &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, idt);
  cr_assert_eq(exp, 1767229000);
  cl = captured_claims(s, "/token");
  cr_assert_eq(cJSON_GetArraySize(cl), 5);
  claim_is(cl, "iss", SCHEDULER);
  claim_is(cl, "aud", uri);
  claim_is(cl, "target_audience", "https://svc.example/");
  cr_assert_null(cJSON_GetObjectItem(cl, "scope"));
  cr_assert_null(cJSON_GetObjectItem(cl, "sub"));
  times_are_exact(cl);
  cJSON_Delete(cl);
  gauth_free(tok);
  gauth_free(idt);
  gauth_key_free(k);
  free(text);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(creds_sa_wire, google_token_uri_goes_through_the_endpoint_override) {
  ts_server *s = ts_start();
  ts_response ok = {.status = 200, .body = ACCESS_REPLY};
  gauth_options o = fast_options();
  char base[256], *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c;
  cJSON *cl;

  ts_route(s, "/token", &ok, 1);
  ts_url(s, "", base, sizeof base);
  setenv("GAUTH_ENDPOINT", base, 1);
  c = captured_creds("https://oauth2.googleapis.com/token", &o, NULL);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  /* Sent to the override, but aud stays the URI of the file. */
  cl = captured_claims(s, "/token");
  claim_is(cl, "aud", "https://oauth2.googleapis.com/token");
  cJSON_Delete(cl);
  gauth_free(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(creds_sa_wire, token_uri_option_wins_over_the_file) {
  ts_server *s = ts_start();
  ts_response ok = {.status = 200, .body = ACCESS_REPLY};
  gauth_options o = fast_options();
  char uri[256], *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c;
  cJSON *cl;

  ts_route(s, "/other-token", &ok, 1);
  ts_url(s, "/other-token", uri, sizeof uri);
  o.token_uri = uri;
  c = captured_creds("http://127.0.0.1:9/token", &o, NULL);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cl = captured_claims(s, "/other-token");
  claim_is(cl, "aud", "http://127.0.0.1:9/token");
  cJSON_Delete(cl);
  gauth_free(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}
