/* Canary secrets pushed through every logging and error path: a bearer
 * token, an assertion, a refresh token and a private key are sent to a real
 * server on 127.0.0.1 that echoes them back in every way a server might (in
 * error messages, OAuth descriptions, non-JSON bodies, successful replies),
 * and through transport failures (refused, timeout, oversized) with the
 * secrets in the URL. With debug logging on, both through a callback and
 * through the default stderr logger, no canary may appear in any log line or
 * in any gauth_error field. Credentials too: an authorized user's refresh
 * token and client secret, echoed back by a token endpoint in every way,
 * never show in a log line or an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "base64.h"
#include "config.h"
#include "error_body.h"
#include "http.h"
#include "json.h"
#include "test_server.h"
#include "test_util.h"

/* Shapeless values: only the transport's knowledge of the request's secrets
 * can catch them, not the pattern-based redactor. */
#define TOKEN "CANARYtok-7f3a9c2e"
#define ASSERTION "CANARYassert-51be0d"
#define REFRESH "CANARYrefresh-c04411"
/* Shaped like the real thing: the pattern-based redactor must catch them. */
#define GTOKEN "ya29.CANARYgoogle-a1b2c3"
#define JWT "eyJhbGciOiJSUzI1NiJ9.eyJDQU5BUlkiOjF9.CANARYsig-9d8e"
#define CLIENT_SECRET "CANARYclient-secret-0b7d"

static const char *const canaries[] = {"CANARY", NULL};
static char *key_pem;     /* a real private key, PEM */
static char key_line[65]; /* one line of its base64 body: the canary */

static void load_key(void) {
  char *cert = NULL;
  const char *p;
  tu_make_cert(&cert, &key_pem);
  free(cert);
  p = strchr(key_pem, '\n');
  cr_assert_not_null(p);
  memcpy(key_line, p + 1, 40);
  key_line[40] = '\0';
}

static void assert_clean(const char *where, const char *text) {
  for (int i = 0; canaries[i] != NULL; i++)
    cr_assert_null(strstr(text, canaries[i]), "%s leaks a canary: %s", where,
                   text);
  cr_assert_null(strstr(text, key_line), "%s leaks the private key: %s", where,
                 text);
}

static void assert_err_clean(const gauth_error *err) {
  assert_clean("err.message", err->message);
  assert_clean("err.error_code", err->error_code);
  assert_clean("err.reason", err->reason);
}

static gauth__http *make_http(gauth_options *opts, gauth__config *cfg) {
  gauth__http *h = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  opts->retry.max_attempts = 2;
  opts->retry.initial_backoff_ms = 10;
  opts->retry.max_backoff_ms = 20;
  opts->retry.deadline_ms = 5000;
  opts->timeout_ms = 700;
  opts->connect_timeout_ms = 700;
  opts->max_response_bytes = 4096;
  cr_assert_eq(gauth__config_init(cfg, opts, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(gauth__http_new(&h, cfg, &err), GAUTH_OK, "%s", err.message);
  return h;
}

/* Every request path, each echoing the secrets back. */
static void run_all_paths(gauth__http *h, ts_server *s) {
  char url[512], body[2048];
  gauth_error err;
  gauth__http_response resp;
  char auth[128];
  const char *headers[] = {auth, NULL};
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TOKEN);

  /* 1. A bearer token echoed in a Google error. */
  snprintf(body, sizeof(body),
           "{\"error\":{\"code\":401,\"message\":\"Request had invalid "
           "credentials %s (also %s)\",\"status\":\"UNAUTHENTICATED\"}}",
           TOKEN, GTOKEN);
  ts_response r401 = {.status = 401,
                      .body = body,
                      .headers = {"Content-Type: application/json"}};
  ts_route(s, "/api", &r401, 1);
  ts_url(s, "/api", url, sizeof(url));
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_neq(gauth__http_get(h, url, headers, NULL, &resp, &err), GAUTH_OK);
  cr_assert_eq(err.http_status, 401);
  assert_err_clean(&err);
  gauth__http_response_cleanup(&resp);

  /* 2. An assertion and a refresh token echoed in an OAuth error. */
  snprintf(body, sizeof(body),
           "{\"error\":\"invalid_grant\",\"error_description\":\"bad "
           "assertion %s, refresh %s, jwt %s\"}",
           ASSERTION, REFRESH, JWT);
  ts_response r400 = {.status = 400, .body = body};
  ts_route(s, "/token", &r400, 1);
  gauth__form_field form[] = {
      {"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", 0},
      {"assertion", ASSERTION, 1},
      {"refresh_token", REFRESH, 1}};
  ts_url(s, "/token", url, sizeof(url));
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_eq(gauth__http_post_form(h, url, NULL, form, 3, &resp, &err),
               GAUTH_E_UNAUTHENTICATED, "%s", err.message);
  cr_assert_str_eq(err.error_code, "invalid_grant");
  assert_err_clean(&err);
  gauth__http_response_cleanup(&resp);

  /* 3. A private key sent in JSON and echoed back, escaped and raw. */
  {
    cJSON *j = cJSON_CreateObject();
    char *esc;
    const char *secrets[] = {key_pem, NULL};
    cJSON_AddStringToObject(j, "private_key", key_pem);
    esc = cJSON_PrintUnformatted(j);
    snprintf(body, sizeof(body),
             "{\"error\":{\"code\":403,\"message\":\"rejected %s\","
             "\"status\":\"PERMISSION_DENIED\"}}",
             esc);
    ts_response r403 = {.status = 403, .body = body};
    ts_route(s, "/sign", &r403, 1);
    ts_url(s, "/sign", url, sizeof(url));
    memset(&resp, 0, sizeof(resp));
    gauth_error_clear(&err);
    cr_assert_eq(gauth__http_post_json(h, url, NULL, j, secrets, &resp, &err),
                 GAUTH_E_PERMISSION_DENIED, "%s", err.message);
    assert_err_clean(&err);
    gauth__http_response_cleanup(&resp);
    cJSON_free(esc);
    cJSON_Delete(j);
  }

  /* 4. Secrets in a successful reply (never logged). */
  snprintf(body, sizeof(body),
           "{\"access_token\":\"%s\",\"id_token\":\"%s\",\"refresh_token\":"
           "\"%s\",\"expires_in\":3599}",
           GTOKEN, JWT, REFRESH);
  ts_response r200 = {.status = 200, .body = body};
  ts_route(s, "/ok", &r200, 1);
  ts_url(s, "/ok", url, sizeof(url));
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_eq(gauth__http_get(h, url, headers, NULL, &resp, &err), GAUTH_OK,
               "%s", err.message);
  gauth__http_response_cleanup(&resp);

  /* 5. A non-JSON error body full of secrets, retried, then given up. */
  snprintf(body, sizeof(body), "<html>%s %s %s %s</html>", TOKEN, ASSERTION,
           GTOKEN, key_pem);
  ts_response r503 = {
      .status = 503, .body = body, .headers = {"Content-Type: text/html"}};
  ts_route(s, "/down", &r503, 1);
  ts_url(s, "/down", url, sizeof(url));
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_eq(gauth__http_get(h, url, headers, NULL, &resp, &err),
               GAUTH_E_UNAVAILABLE, "%s", err.message);
  assert_err_clean(&err);
  gauth__http_response_cleanup(&resp);

  /* 6. Secrets in the query string of a 404. */
  snprintf(url, sizeof(url),
           "http://127.0.0.1:%u/missing?access_token=%s&"
           "assertion=%s",
           ts_port(s), TOKEN, ASSERTION);
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_eq(gauth__http_get(h, url, NULL, NULL, &resp, &err),
               GAUTH_E_NOT_FOUND, "%s", err.message);
  assert_err_clean(&err);
  gauth__http_response_cleanup(&resp);

  /* 7. Refused connection, secrets in the query. */
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/x?access_token=%s",
           ts_closed_port(), TOKEN);
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_eq(gauth__http_get(h, url, headers, NULL, &resp, &err),
               GAUTH_E_NETWORK, "%s", err.message);
  assert_err_clean(&err);
  gauth__http_response_cleanup(&resp);

  /* 8. Timeout, secrets in the query. */
  ts_response hang = {.kind = TS_HANG};
  ts_route(s, "/hang", &hang, 1);
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/hang?token=%s", ts_port(s),
           TOKEN);
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_eq(gauth__http_get(h, url, headers, NULL, &resp, &err),
               GAUTH_E_TIMEOUT, "%s", err.message);
  assert_err_clean(&err);
  gauth__http_response_cleanup(&resp);

  /* 9. An oversized reply that carries secrets. */
  ts_response big = {.status = 200, .fill_bytes = 100000};
  ts_route(s, "/big", &big, 1);
  ts_url(s, "/big", url, sizeof(url));
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_eq(gauth__http_get(h, url, headers, NULL, &resp, &err),
               GAUTH_E_TOO_LARGE, "%s", err.message);
  assert_err_clean(&err);
  gauth__http_response_cleanup(&resp);

  /* 10. An insecure URL with secrets in it. */
  snprintf(url, sizeof(url), "http://gauth-test.invalid/x?assertion=%s",
           ASSERTION);
  memset(&resp, 0, sizeof(resp));
  gauth_error_clear(&err);
  cr_assert_eq(gauth__http_get(h, url, headers, NULL, &resp, &err),
               GAUTH_E_INSECURE_URL, "%s", err.message);
  assert_err_clean(&err);
  gauth__http_response_cleanup(&resp);
}

Test(secrets, callback_logs_and_errors_never_hold_a_canary, .timeout = 60) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth__config cfg;
  tu_log log;
  ts_server *s = ts_start();
  gauth__http *h;
  load_key();
  tu_log_init(&log);
  opts.log_fn = tu_log_capture;
  opts.log_userdata = &log;
  opts.log_level = GAUTH_LOG_DEBUG;
  h = make_http(&opts, &cfg);
  run_all_paths(h, s);
  /* The paths were really logged (so the check below means something). */
  cr_assert_gt(log.lines, 10, "only %zu log lines", log.lines);
  cr_assert_not_null(strstr(log.text, "/token"), "%s", log.text);
  assert_clean("log", log.text);
  gauth__http_free(h);
  gauth__config_cleanup(&cfg);
  ts_stop(s);
  tu_log_cleanup(&log);
  free(key_pem);
}

Test(secrets, default_stderr_logger_never_prints_a_canary, .timeout = 60,
     .init = cr_redirect_stderr) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth__config cfg;
  ts_server *s = ts_start();
  gauth__http *h;
  char text[65536];
  size_t n;
  FILE *f;
  load_key();
  setenv("GAUTH_LOG", "debug", 1);
  h = make_http(&opts, &cfg);
  run_all_paths(h, s);
  fflush(stderr);
  f = cr_get_redirected_stderr();
  n = fread(text, 1, sizeof(text) - 1, f);
  text[n] = '\0';
  cr_assert_gt(n, 100, "the default logger printed nothing");
  cr_assert_not_null(strstr(text, "gauth: debug: "), "%s", text);
  assert_clean("stderr", text);
  gauth__http_free(h);
  gauth__config_cleanup(&cfg);
  ts_stop(s);
  free(key_pem);
}

Test(secrets, parsers_never_echo_their_input) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *j = NULL;
  unsigned char *out = NULL;
  size_t outlen = 0;
  const char *known[] = {TOKEN, NULL};
  char body[256];
  load_key();
  snprintf(body, sizeof(body), "{\"access_token\":\"%s\",}", TOKEN);
  cr_assert_eq(gauth__json_parse(body, strlen(body), NULL, &j, &err),
               GAUTH_E_MALFORMED);
  assert_err_clean(&err);
  snprintf(body, sizeof(body), "%s!%s", ASSERTION, key_line);
  cr_assert_eq(gauth__b64url_decode(body, strlen(body), &out, &outlen, &err),
               GAUTH_E_MALFORMED);
  assert_err_clean(&err);
  snprintf(body, sizeof(body),
           "{\"error\":\"%s\",\"error_description\":\"%s %s\"}", TOKEN, TOKEN,
           key_pem);
  gauth__error_from_reply(&err, 400, "application/json", body, strlen(body),
                          "POST http://127.0.0.1:1/token", known);
  assert_err_clean(&err);
  free(key_pem);
}

/* An authorized user whose token endpoint echoes the refresh token and the
 * client secret back: in an OAuth error, a Google error, an HTML 503, a
 * non-JSON 200, a 200 without access_token, and a refused connection. */
Test(secrets, credentials_never_leak_refresh_token_or_client_secret,
     .timeout = 60) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  ts_server *s = ts_start();
  tu_log log;
  char oauth[512], google[512], html[512], text[512], partial[512];
  char uri[256], json[1024];
  size_t i;
  load_key();
  snprintf(oauth, sizeof(oauth),
           "{\"error\":\"invalid_grant\",\"error_description\":\"token %s "
           "of client secret %s\"}",
           REFRESH, CLIENT_SECRET);
  snprintf(google, sizeof(google),
           "{\"error\":{\"code\":403,\"message\":\"%s / %s\",\"status\":"
           "\"PERMISSION_DENIED\"}}",
           REFRESH, CLIENT_SECRET);
  snprintf(html, sizeof(html), "<p>%s %s</p>", REFRESH, CLIENT_SECRET);
  snprintf(text, sizeof(text), "refresh_token=%s&client_secret=%s", REFRESH,
           CLIENT_SECRET);
  snprintf(partial, sizeof(partial),
           "{\"refresh_token\":\"%s\",\"client_secret\":\"%s\","
           "\"expires_in\":3599}",
           REFRESH, CLIENT_SECRET);
  ts_response seq[] = {
      {.status = 400, .body = oauth},
      {.status = 403, .body = google},
      {.status = 503, .body = html, .headers = {"Content-Type: text/html"}},
      {.status = 200, .body = text, .headers = {"Content-Type: text/plain"}},
      {.status = 200, .body = partial},
  };
  ts_route(s, "/token", seq, GAUTH__ARRAY_LEN(seq));
  tu_log_init(&log);
  opts.log_fn = tu_log_capture;
  opts.log_userdata = &log;
  opts.log_level = GAUTH_LOG_DEBUG;
  opts.retry.max_attempts = 1;
  co.options = &opts;
  for (i = 0; i <= GAUTH__ARRAY_LEN(seq); i++) {
    gauth_credentials *c = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    char *tok = NULL;
    if (i < GAUTH__ARRAY_LEN(seq))
      ts_url(s, "/token", uri, sizeof(uri));
    else /* nothing listening */
      snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/token", ts_closed_port());
    snprintf(json, sizeof(json),
             "{\"type\":\"authorized_user\",\"client_id\":\"c.apps\","
             "\"client_secret\":\"%s\",\"refresh_token\":\"%s\","
             "\"token_uri\":\"%s\"}",
             CLIENT_SECRET, REFRESH, uri);
    cr_assert_eq(gauth_credentials_from_json(&c, json, strlen(json), &co, &err),
                 GAUTH_OK, "%s", err.message);
    cr_assert_neq(
        i % 2 ? gauth_credentials_id_token(c, "https://a.example/", 0, &tok,
                                           NULL, &err)
              : gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
        GAUTH_OK, "request %zu succeeded", i);
    cr_assert_null(tok);
    cr_assert_neq(err.message[0], '\0');
    assert_err_clean(&err);
    gauth_credentials_free(c);
  }
  cr_assert_eq(ts_count(s, "/token"), GAUTH__ARRAY_LEN(seq));
  cr_assert_gt(log.lines, 5, "only %zu log lines", log.lines);
  cr_assert_not_null(strstr(log.text, "/token"), "%s", log.text);
  assert_clean("log", log.text);
  ts_stop(s);
  tu_log_cleanup(&log);
  free(key_pem);
}

/* AWS external accounts: the secret access key, the session token and the
 * IMDSv2 token travel through the metadata service; STS receives the
 * subject token, which carries the session token and the signature. Each
 * server echoes back what it received (STS in an OAuth error, a Google
 * error, a 200 without a token, a non-JSON body; the metadata service in a
 * 403); none may show in a log line or an error. */
#define AWS_SECRET "CANARYaws-secret-5e1d"
#define AWS_SESSION "CANARYaws-session-77c2"
#define AWS_IMDS "CANARYimds-token-3b90"

static void aws_routes(ts_server *s, const char *sts_body, int sts_status) {
  static const ts_response token = {.body = AWS_IMDS};
  static const ts_response zone = {.body = "us-east-2b"};
  static const ts_response role = {.body = "role-1"};
  static const ts_response bad_role = {
      .status = 403, .body = "token " AWS_IMDS " is not valid here"};
  ts_response sts = {.status = sts_status, .body = sts_body};
  ts_response creds = {
      .body = "{\"AccessKeyId\":\"ASIAKEYID\",\"SecretAccessKey\":\"" AWS_SECRET
              "\",\"Token\":\"" AWS_SESSION "\"}"};
  ts_route(s, "/api/token", &token, 1);
  ts_route(s, "/zone", &zone, 1);
  ts_route(s, "/creds", &role, 1);
  ts_route(s, "/creds/role-1", &creds, 1);
  ts_route(s, "/bad/creds", &bad_role, 1);
  ts_route(s, "/sts", &sts, 1);
}

Test(secrets, aws_credentials_never_leak, .timeout = 60) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  tu_log log;
  char echo_json[512], json[2048], base[64];
  const char *bodies[4];
  int statuses[4] = {400, 403, 200, 400};
  load_key();
  snprintf(echo_json, sizeof echo_json,
           "{\"error\":\"invalid_grant\",\"error_description\":\"session "
           "%s\"}",
           AWS_SESSION);
  bodies[0] = echo_json;
  bodies[1] = "{\"error\":{\"code\":403,\"message\":\"session " AWS_SESSION
              "\",\"status\":\"PERMISSION_DENIED\"}}";
  bodies[2] = "{\"token\":\"" AWS_SESSION "\"}"; /* no access_token */
  bodies[3] = "x-amz-security-token=" AWS_SESSION "&key=ASIAKEYID";
  tu_log_init(&log);
  opts.log_fn = tu_log_capture;
  opts.log_userdata = &log;
  opts.log_level = GAUTH_LOG_DEBUG;
  opts.retry.max_attempts = 1;
  co.options = &opts;
  unsetenv("AWS_REGION");
  unsetenv("AWS_DEFAULT_REGION");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
  for (size_t i = 0; i <= 4; i++) {
    ts_server *s = ts_start();
    gauth_credentials *c = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    char *tok = NULL;
    aws_routes(s, i < 4 ? bodies[i] : "", i < 4 ? statuses[i] : 200);
    ts_url(s, "", base, sizeof base);
    snprintf(json, sizeof json,
             "{\"type\":\"external_account\",\"audience\":\"//iam.googleapis."
             "com/projects/1/locations/global/workloadIdentityPools/p/"
             "providers/a\",\"subject_token_type\":\"urn:ietf:params:aws:"
             "token-type:aws4_request\",\"token_url\":\"%s/sts\","
             "\"credential_source\":{\"environment_id\":\"aws1\","
             "\"region_url\":\"%s/zone\",\"url\":\"%s/%s\","
             "\"imdsv2_session_token_url\":\"%s/api/token\","
             "\"regional_cred_verification_url\":\"https://sts.{region}."
             "amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15\"}}",
             base, base, base, i < 4 ? "creds" : "bad/creds", base);
    cr_assert_eq(gauth_credentials_from_json(&c, json, strlen(json), &co, &err),
                 GAUTH_OK, "%s", err.message);
    cr_assert_neq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
                  GAUTH_OK, "request %zu succeeded", i);
    cr_assert_neq(err.message[0], '\0');
    assert_err_clean(&err);
    cr_assert_eq(ts_count(s, "/sts"), i < 4 ? 1u : 0u, "case %zu", i);
    gauth_credentials_free(c);
    ts_stop(s);
  }
  cr_assert_gt(log.lines, 5, "only %zu log lines", log.lines);
  cr_assert_not_null(strstr(log.text, "/sts"), "%s", log.text);
  assert_clean("log", log.text);
  tu_log_cleanup(&log);
  free(key_pem);
}
