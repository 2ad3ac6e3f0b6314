/* lib/http.c against real sockets on 127.0.0.1: a scripted libmicrohttpd
 * server and raw listeners that reset or never answer.
 *
 * Timeouts and backoffs are small so that the file runs in a few seconds;
 * the retry jitter is seeded so that schedules repeat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"
#include "http.h"
#include "test_server.h"
#include "test_util.h"

#define MAX_BYTES 4096
#define ATTEMPTS 3

static gauth_options test_options(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.connect_timeout_ms = 1000;
  o.timeout_ms = 2000;
  o.max_response_bytes = MAX_BYTES;
  o.retry.max_attempts = ATTEMPTS;
  o.retry.initial_backoff_ms = 10;
  o.retry.multiplier = 2.0;
  o.retry.max_backoff_ms = 40;
  o.retry.deadline_ms = 5000;
  return o;
}

static gauth__http *http_new(const gauth_options *o) {
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__http *h = NULL;
  cr_assert_eq(gauth__config_init(&cfg, o, &err), GAUTH_OK, "%s", err.message);
  cfg.rng_seed = 42;
  cr_assert_eq(gauth__http_new(&h, &cfg, &err), GAUTH_OK, "%s", err.message);
  gauth__config_cleanup(&cfg);
  return h;
}

static gauth__http *http_default(void) {
  gauth_options o = test_options();
  return http_new(&o);
}

static gauth_status get(gauth__http *h, const char *url,
                        gauth__http_response *resp, gauth_error *err) {
  return gauth__http_get(h, url, NULL, NULL, resp, err);
}

static const ts_response OK_REPLY = {
    TS_REPLY, 200, "{\"ok\":true}", 0, {"Content-Type: application/json"}, 0,
    0,        0};

/* ---- plain replies ------------------------------------------------------- */

Test(http, get_200_body_and_headers) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY,
                   200,
                   "hello",
                   0,
                   {"Content-Type: text/plain", "X-Test: one", "X-Test: two"},
                   0,
                   0,
                   0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];

  ts_route(s, "/ok", &r, 1);
  cr_assert_eq(get(h, ts_url(s, "/ok", url, sizeof(url)), &resp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(resp.status, 200);
  cr_assert_eq(resp.body_len, 5);
  cr_assert_str_eq(resp.body, "hello");
  cr_assert_eq(resp.attempts, 1);
  cr_assert_str_eq(resp.url, url);
  cr_assert_str_eq(gauth__http_response_header(&resp, "content-type"),
                   "text/plain");
  cr_assert_str_eq(gauth__http_response_header(&resp, "CONTENT-TYPE"),
                   "text/plain");
  /* The last of repeated headers. */
  cr_assert_str_eq(gauth__http_response_header(&resp, "x-test"), "two");
  cr_assert_null(gauth__http_response_header(&resp, "X-Missing"));
  cr_assert_eq(err.code, GAUTH_OK);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, empty_body_is_empty_string) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 204, NULL, 0, {NULL}, 0, 0, 0};
  gauth__http_response resp;
  char url[256];
  ts_route(s, "/empty", &r, 1);
  cr_assert_eq(get(h, ts_url(s, "/empty", url, sizeof(url)), &resp, NULL),
               GAUTH_OK);
  cr_assert_eq(resp.status, 204);
  cr_assert_not_null(resp.body);
  cr_assert_eq(resp.body_len, 0);
  cr_assert_str_eq(resp.body, "");
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, user_agent) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  gauth__http_response resp;
  ts_request req;
  char url[256], ua[64];
  ts_route(s, "/ua", &OK_REPLY, 1);
  cr_assert_eq(get(h, ts_url(s, "/ua", url, sizeof(url)), &resp, NULL),
               GAUTH_OK);
  cr_assert(ts_last_request(s, "/ua", &req));
  snprintf(ua, sizeof(ua), "User-Agent: gauth/%s\n", gauth_version());
  cr_assert(strstr(req.headers, ua) != NULL, "%s", req.headers);
  cr_assert_str_eq(req.method, "GET");
  ts_request_cleanup(&req);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, request_headers_sent) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  const char *headers[] = {"Metadata-Flavor: Google", NULL};
  gauth__http_response resp;
  ts_request req;
  char url[256];
  ts_route(s, "/h", &OK_REPLY, 1);
  cr_assert_eq(gauth__http_get(h, ts_url(s, "/h?x=1&y=2", url, sizeof(url)),
                               headers, NULL, &resp, NULL),
               GAUTH_OK);
  cr_assert(ts_last_request(s, "/h", &req));
  cr_assert(strstr(req.headers, "Metadata-Flavor: Google\n") != NULL);
  cr_assert_str_eq(req.url, "/h?x=1&y=2");
  ts_request_cleanup(&req);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, accept_any_status) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  memset(&req, 0, sizeof(req));
  req.url = ts_url(s, "/nothing-here", url, sizeof(url));
  req.accept_any_status = 1;
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_OK);
  cr_assert_eq(resp.status, 404);
  cr_assert(strstr(resp.body, "NOT_FOUND") != NULL);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, unsupported_method) {
  gauth__http *h = http_default();
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  memset(&req, 0, sizeof(req));
  req.method = "TRACE";
  req.url = "http://127.0.0.1:9/x";
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_E_INVALID_ARG);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
}

/* The methods of Cloud Scheduler's HttpMethod: PUT and PATCH carry the
 * body, the others none; HEAD reads no body. */
Test(http, scheduler_methods) {
  static const char *const methods[] = {"PUT", "PATCH", "DELETE", "HEAD",
                                        "OPTIONS"};
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 200, "ok", 0, {NULL}, 0, 0, 0};
  char url[256];
  size_t i;
  ts_route(s, "/m", &r, 1);
  for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
    gauth__http_request req;
    gauth__http_response resp;
    gauth_error err = GAUTH_ERROR_INIT;
    ts_request got;
    int with_body = i < 2;
    memset(&req, 0, sizeof(req));
    req.method = methods[i];
    req.url = ts_url(s, "/m", url, sizeof(url));
    req.body = with_body ? "abc" : NULL;
    req.body_len = with_body ? 3 : 0;
    cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_OK, "%s: %s",
                 methods[i], err.message);
    cr_expect_eq(resp.body_len, strcmp(methods[i], "HEAD") == 0 ? 0u : 2u, "%s",
                 methods[i]);
    cr_assert_eq(ts_last_request(s, "/m", &got), 1);
    cr_expect_str_eq(got.method, methods[i]);
    cr_expect_eq(got.body_len, with_body ? 3u : 0u, "%s", methods[i]);
    ts_request_cleanup(&got);
    gauth__http_response_cleanup(&resp);
  }
  gauth__http_free(h);
  ts_stop(s);
}

/* keep_body: a reply over the limit is kept in part, not an error (also
 * past max_response_bytes); without it, it fails. */
Test(http, keep_body_cuts) {
  ts_server *s = ts_start();
  gauth_options o = test_options();
  gauth__http *h;
  ts_response r = {TS_REPLY, 200, NULL, 0, {NULL}, 300000, 0, 0};
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  o.max_response_bytes = 100000;
  h = http_new(&o);
  ts_route(s, "/big", &r, 1);
  memset(&req, 0, sizeof(req));
  req.url = ts_url(s, "/big", url, sizeof(url));
  req.keep_body = 1000;
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_OK, "%s",
               err.message);
  cr_expect_eq(resp.body_len, 1000u);
  cr_expect_eq(resp.body_cut, 1);
  cr_expect_eq(resp.body[0], 'x');
  gauth__http_response_cleanup(&resp);
  req.keep_body = 0;
  cr_expect_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_E_TOO_LARGE);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

/* ---- retries ------------------------------------------------------------- */

Test(http, retry_503_then_200) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response seq[] = {{TS_REPLY, 503, NULL, 0, {NULL}, 0, 0, 0},
                       {TS_REPLY, 503, NULL, 0, {NULL}, 0, 0, 0},
                       OK_REPLY};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  ts_route(s, "/flaky", seq, 3);
  cr_assert_eq(get(h, ts_url(s, "/flaky", url, sizeof(url)), &resp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(resp.status, 200);
  cr_assert_eq(resp.attempts, 3);
  cr_assert_eq(ts_count(s, "/flaky"), 3);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, retry_after_honoured) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response seq[] = {{TS_REPLY, 429, NULL, 0, {"Retry-After: 1"}, 0, 0, 0},
                       OK_REPLY};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  int64_t t0, elapsed;
  ts_route(s, "/limited", seq, 2);
  t0 = tu_now_ms();
  cr_assert_eq(get(h, ts_url(s, "/limited", url, sizeof(url)), &resp, &err),
               GAUTH_OK, "%s", err.message);
  elapsed = tu_now_ms() - t0;
  cr_assert_eq(ts_count(s, "/limited"), 2);
  /* The backoff alone would be at most 40 ms. */
  cr_assert_geq(elapsed, 950, "elapsed %lld ms", (long long)elapsed);
  cr_assert_lt(elapsed, 3000, "elapsed %lld ms", (long long)elapsed);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, retry_after_past_deadline_stops_at_once) {
  ts_server *s = ts_start();
  gauth__http *h = http_default(); /* deadline 5 s */
  ts_response seq[] = {{TS_REPLY,
                        503,
                        "{\"error\":{\"code\":503,\"message\":\"busy\","
                        "\"status\":\"UNAVAILABLE\"}}",
                        0,
                        {"Retry-After: 30", "Content-Type: application/json"},
                        0,
                        0,
                        0},
                       OK_REPLY};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  int64_t t0, elapsed;
  ts_route(s, "/later", seq, 2);
  t0 = tu_now_ms();
  cr_assert_eq(get(h, ts_url(s, "/later", url, sizeof(url)), &resp, &err),
               GAUTH_E_UNAVAILABLE, "%s", err.message);
  elapsed = tu_now_ms() - t0;
  cr_assert_lt(elapsed, 1000, "elapsed %lld ms", (long long)elapsed);
  cr_assert_eq(ts_count(s, "/later"), 1);
  cr_assert_eq(err.http_status, 503);
  cr_assert_str_eq(err.error_code, "UNAVAILABLE");
  cr_assert(strstr(err.message, "Retry-After of 30 s") != NULL, "%s",
            err.message);
  cr_assert(strstr(err.message, "deadline") != NULL, "%s", err.message);
  /* The failed reply stays readable. */
  cr_assert_eq(resp.status, 503);
  cr_assert(strstr(resp.body, "busy") != NULL);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, backoff_past_deadline_stops) {
  ts_server *s = ts_start();
  gauth_options o = test_options();
  gauth__http *h;
  ts_response r = {TS_REPLY, 500, NULL, 0, {NULL}, 0, 0, 0};
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__http_response resp;
  char url[256];
  int64_t t0, elapsed;
  gauth_status st;
  o.retry.max_attempts = 100;
  o.retry.initial_backoff_ms = 200;
  o.retry.max_backoff_ms = 200;
  o.retry.multiplier = 1.0;
  o.retry.deadline_ms = 700;
  h = http_new(&o);
  ts_route(s, "/down", &r, 1);
  t0 = tu_now_ms();
  st = get(h, ts_url(s, "/down", url, sizeof(url)), &resp, &err);
  elapsed = tu_now_ms() - t0;
  /* The waits are jittered, so the call ends one of two ways, both bounded
   * by the deadline: the next wait would pass it (the 500 is the error), or
   * the deadline cuts the last attempt short (a timeout that says so). On a
   * loaded machine the second happens. */
  if (st == GAUTH_E_UNAVAILABLE) {
    cr_assert(strstr(err.message, "would pass the deadline") != NULL, "%s",
              err.message);
  } else {
    cr_assert_eq(st, GAUTH_E_TIMEOUT, "%s: %s", gauth_status_name(st),
                 err.message);
    cr_assert(strstr(err.message, "(the request's deadline)") != NULL, "%s",
              err.message);
  }
  /* Never waits past the deadline. */
  cr_assert_lt(elapsed, 700 + 100, "elapsed %lld ms", (long long)elapsed);
  cr_assert_gt(ts_count(s, "/down"), 1);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, retries_exhausted_on_503) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 503, NULL, 0, {NULL}, 0, 0, 0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256], want[400];
  ts_route(s, "/down", &r, 1);
  cr_assert_eq(get(h, ts_url(s, "/down", url, sizeof(url)), &resp, &err),
               GAUTH_E_UNAVAILABLE);
  cr_assert_eq(err.code, GAUTH_E_UNAVAILABLE);
  cr_assert_eq(err.http_status, 503);
  cr_assert_eq(ts_count(s, "/down"), ATTEMPTS);
  cr_assert_eq(resp.attempts, ATTEMPTS);
  snprintf(want, sizeof(want), "GET %s: HTTP 503", url);
  cr_assert(strstr(err.message, want) == err.message, "%s", err.message);
  cr_assert(strstr(err.message, "(3 attempts in ") != NULL, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, no_retry_flag) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 503, NULL, 0, {NULL}, 0, 0, 0};
  gauth__http_request req;
  gauth__http_response resp;
  char url[256];
  ts_route(s, "/down", &r, 1);
  memset(&req, 0, sizeof(req));
  req.url = ts_url(s, "/down", url, sizeof(url));
  req.no_retry = 1;
  cr_assert_eq(gauth__http_do(h, &req, &resp, NULL), GAUTH_E_UNAVAILABLE);
  cr_assert_eq(ts_count(s, "/down"), 1);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, oauth_invalid_grant_not_retried) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY,
                   400,
                   "{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"Invalid JWT Signature.\"}",
                   0,
                   {"Content-Type: application/json"},
                   0,
                   0,
                   0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256], want[400];
  ts_route(s, "/token", &r, 1);
  cr_assert_eq(get(h, ts_url(s, "/token", url, sizeof(url)), &resp, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert_eq(ts_count(s, "/token"), 1);
  cr_assert_eq(err.http_status, 400);
  cr_assert_str_eq(err.error_code, "invalid_grant");
  snprintf(want, sizeof(want),
           "GET %s: HTTP 400 invalid_grant: Invalid JWT Signature.", url);
  cr_assert_str_eq(err.message, want);
  cr_assert_eq(resp.status, 400);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, oauth_invalid_request_is_http_error) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY,
                   400,
                   "{\"error\":\"invalid_request\"}",
                   0,
                   {"Content-Type: application/json"},
                   0,
                   0,
                   0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  ts_route(s, "/token", &r, 1);
  cr_assert_eq(get(h, ts_url(s, "/token", url, sizeof(url)), &resp, &err),
               GAUTH_E_HTTP);
  cr_assert_eq(ts_count(s, "/token"), 1);
  cr_assert_eq(err.http_status, 400);
  cr_assert_str_eq(err.error_code, "invalid_request");
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, google_404) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  /* Unscripted: the server's Google-shaped 404. */
  cr_assert_eq(get(h, ts_url(s, "/v1/missing", url, sizeof(url)), &resp, &err),
               GAUTH_E_NOT_FOUND);
  cr_assert_eq(ts_count(s, "/v1/missing"), 1);
  cr_assert_eq(err.http_status, 404);
  cr_assert_str_eq(err.error_code, "NOT_FOUND");
  cr_assert(strstr(err.message, "no route") != NULL, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

/* ---- transport failures -------------------------------------------------- */

Test(http, silent_server_times_out) {
  ts_raw *raw = ts_raw_start(TS_RAW_SILENT);
  gauth_options o = test_options();
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  int64_t t0, elapsed, bound;
  o.timeout_ms = 300;
  o.retry.max_attempts = 2;
  h = http_new(&o);
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/x",
           (unsigned)ts_raw_port(raw));
  t0 = tu_now_ms();
  cr_assert_eq(get(h, url, &resp, &err), GAUTH_E_TIMEOUT, "%s", err.message);
  elapsed = tu_now_ms() - t0;
  /* Two attempts of 300 ms and one wait of at most 10 ms. */
  bound = 2 * 300 + 10;
  cr_assert_geq(elapsed, 2 * 300 - 20, "elapsed %lld", (long long)elapsed);
  cr_assert_lt(elapsed, bound + 400, "elapsed %lld", (long long)elapsed);
  cr_assert(strstr(err.message, "timed out after 300 ms") != NULL, "%s",
            err.message);
  cr_assert(strstr(err.message, "(2 attempts in ") != NULL, "%s", err.message);
  cr_assert_eq(resp.status, 0);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_raw_stop(raw);
}

Test(http, deadline_bounds_a_slow_attempt) {
  ts_server *s = ts_start();
  gauth_options o = test_options();
  gauth__http *h;
  ts_response r = {TS_HANG, 0, NULL, 0, {NULL}, 0, 0, 0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  int64_t t0, elapsed;
  o.timeout_ms = 5000;
  o.retry.deadline_ms = 400;
  h = http_new(&o);
  ts_route(s, "/hang", &r, 1);
  t0 = tu_now_ms();
  cr_assert_eq(get(h, ts_url(s, "/hang", url, sizeof(url)), &resp, &err),
               GAUTH_E_TIMEOUT, "%s", err.message);
  elapsed = tu_now_ms() - t0;
  cr_assert_lt(elapsed, 400 + 300, "elapsed %lld", (long long)elapsed);
  cr_assert(strstr(err.message, "deadline") != NULL, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, connection_reset_retried) {
  ts_raw *raw = ts_raw_start(TS_RAW_RESET);
  gauth__http *h = http_default();
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/x",
           (unsigned)ts_raw_port(raw));
  cr_assert_eq(get(h, url, &resp, &err), GAUTH_E_NETWORK, "%s", err.message);
  cr_assert_eq(ts_raw_accepted(raw), ATTEMPTS);
  cr_assert_eq(resp.attempts, ATTEMPTS);
  cr_assert(strstr(err.message, "(3 attempts in ") != NULL, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_raw_stop(raw);
}

Test(http, dropped_connection_retried) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response seq[] = {{TS_DROP, 0, NULL, 0, {NULL}, 0, 0, 0}, OK_REPLY};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  ts_route(s, "/drop", seq, 2);
  cr_assert_eq(get(h, ts_url(s, "/drop", url, sizeof(url)), &resp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(ts_count(s, "/drop"), 2);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, connection_refused) {
  gauth__http *h = http_default();
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256], want[400];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/x",
           (unsigned)ts_closed_port());
  cr_assert_eq(get(h, url, &resp, &err), GAUTH_E_NETWORK, "%s", err.message);
  snprintf(want, sizeof(want), "GET %s: connection refused", url);
  cr_assert(strstr(err.message, want) == err.message, "%s", err.message);
  cr_assert(strstr(err.message, "(3 attempts in ") != NULL, "%s", err.message);
  cr_assert_eq(resp.attempts, ATTEMPTS);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
}

Test(http, transport_failures_logged) {
  tu_log log;
  gauth_options o = test_options();
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  tu_log_init(&log);
  o.log_fn = tu_log_capture;
  o.log_userdata = &log;
  o.log_level = GAUTH_LOG_DEBUG;
  h = http_new(&o);
  cr_assert_not_null(gauth__http_config(h));
  cr_assert_eq(gauth__http_config(h)->max_response_bytes, MAX_BYTES);
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/x",
           (unsigned)ts_closed_port());
  cr_assert_eq(get(h, url, &resp, &err), GAUTH_E_NETWORK);
  /* Three attempts (debug) and two retries (info). */
  cr_assert_eq(log.lines, 5, "%s", log.text);
  cr_assert(strstr(log.text, "(attempt 3)") != NULL, "%s", log.text);
  cr_assert(strstr(log.text, "(attempt 3 of 3)") != NULL, "%s", log.text);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  tu_log_cleanup(&log);
}

/* ---- size limits --------------------------------------------------------- */

static void expect_too_large(size_t fill, int chunked) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 200, NULL, 0, {NULL}, fill, chunked, 0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  ts_route(s, "/big", &r, 1);
  cr_assert_eq(get(h, ts_url(s, "/big", url, sizeof(url)), &resp, &err),
               GAUTH_E_TOO_LARGE, "%s", err.message);
  cr_assert_eq(ts_count(s, "/big"), 1, "not retried");
  cr_assert(strstr(err.message, "larger than the limit of 4096 bytes") != NULL,
            "%s", err.message);
  cr_assert_eq(resp.status, 0);
  cr_assert_null(resp.body);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, too_large_with_content_length) { expect_too_large(5000, 0); }
Test(http, too_large_chunked) { expect_too_large(200000, 1); }
Test(http, one_byte_too_large_chunked) { expect_too_large(MAX_BYTES + 1, 1); }

static void expect_at_limit(int chunked) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 200, NULL, 0, {NULL}, MAX_BYTES, chunked, 0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  ts_route(s, "/limit", &r, 1);
  cr_assert_eq(get(h, ts_url(s, "/limit", url, sizeof(url)), &resp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(resp.body_len, MAX_BYTES);
  cr_assert_eq(strlen(resp.body), MAX_BYTES);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, body_exactly_at_limit) { expect_at_limit(0); }
Test(http, chunked_body_exactly_at_limit) { expect_at_limit(1); }

/* ---- URL policy ---------------------------------------------------------- */

static void expect_refused(const char *url) {
  tu_log log;
  gauth_options o = test_options();
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t t0, elapsed;
  tu_log_init(&log);
  o.log_fn = tu_log_capture;
  o.log_userdata = &log;
  o.log_level = GAUTH_LOG_DEBUG;
  h = http_new(&o);
  t0 = tu_now_ms();
  cr_assert_eq(get(h, url, &resp, &err), GAUTH_E_INSECURE_URL, "%s: %s", url,
               err.message);
  elapsed = tu_now_ms() - t0;
  cr_assert_lt(elapsed, 100, "elapsed %lld ms", (long long)elapsed);
  cr_assert_eq(resp.attempts, 0);
  cr_assert_eq(resp.status, 0);
  /* No attempt was logged: nothing was sent anywhere. */
  cr_assert(strstr(log.text, "attempt") == NULL, "%s", log.text);
  cr_assert(strstr(err.message, "GET ") == err.message, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  tu_log_cleanup(&log);
}

Test(http, plain_http_to_remote_name_refused) {
  expect_refused("http://gauth-test.invalid/x");
}
Test(http, plain_http_to_remote_ip_refused) {
  expect_refused("http://192.0.2.1/x");
}
Test(http, ftp_refused) { expect_refused("ftp://127.0.0.1/x"); }
Test(http, file_refused) { expect_refused("file:///etc/passwd"); }
Test(http, user_info_refused) {
  expect_refused("https://user:pw@127.0.0.1:9/x");
}

Test(http, endpoint_override_option) {
  ts_server *s = ts_start();
  gauth_options o = test_options();
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char base[128];
  ts_route(s, "/token", &OK_REPLY, 1);
  o.endpoint = ts_url(s, "", base, sizeof(base));
  h = http_new(&o);
  cr_assert_eq(get(h, "https://oauth2.googleapis.com/token", &resp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(ts_count(s, "/token"), 1);
  cr_assert(strstr(resp.url, base) == resp.url, "%s", resp.url);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, endpoint_override_env) {
  ts_server *s = ts_start();
  gauth_options o = test_options();
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char base[128];
  ts_route(s, "/v1/token", &OK_REPLY, 1);
  setenv("GAUTH_ENDPOINT", ts_url(s, "", base, sizeof(base)), 1);
  h = http_new(&o);
  cr_assert_eq(get(h, "https://sts.googleapis.com/v1/token?x=1", &resp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(ts_count(s, "/v1/token"), 1);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

/* ---- bodies -------------------------------------------------------------- */

Test(http, post_form_exact_bytes) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  gauth__form_field f[] = {
      {"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", 0},
      {"assertion", "eyJh.eyJi.c2ln", 1},
      {"odd name", "a b&c=d/\xc3\xa9+~", 0}};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_request req;
  char url[256];
  ts_route(s, "/token", &OK_REPLY, 1);
  cr_assert_eq(gauth__http_post_form(h, ts_url(s, "/token", url, sizeof(url)),
                                     NULL, f, 3, &resp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert(ts_last_request(s, "/token", &req));
  cr_assert_str_eq(req.method, "POST");
  cr_assert_str_eq(req.body,
                   "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3A"
                   "jwt-bearer&assertion=eyJh.eyJi.c2ln&odd%20name=a%20b%26c"
                   "%3Dd%2F%C3%A9%2B~");
  cr_assert(strstr(req.headers,
                   "Content-Type: application/x-www-form-urlencoded\n") != NULL,
            "%s", req.headers);
  cr_assert(strstr(req.headers, "Expect") == NULL, "%s", req.headers);
  ts_request_cleanup(&req);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, form_encode_pure) {
  gauth__form_field f[] = {{"a", "", 0}, {"b", "1 2", 0}};
  char *out = NULL;
  cr_assert_eq(gauth__form_encode(f, 2, &out, NULL), GAUTH_OK);
  cr_assert_str_eq(out, "a=&b=1%202");
  free(out);
  cr_assert_eq(gauth__form_encode(NULL, 0, &out, NULL), GAUTH_OK);
  cr_assert_str_eq(out, "");
  free(out);
}

Test(http, post_json_exact_bytes) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  cJSON *body = cJSON_CreateObject();
  cJSON *perms = cJSON_AddArrayToObject(body, "permissions");
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_request req;
  char url[256];
  cJSON_AddItemToArray(perms, cJSON_CreateString("run.jobs.run"));
  cJSON_AddItemToArray(perms, cJSON_CreateString("run.routes.invoke"));
  ts_route(s, "/v1/x:testIamPermissions", &OK_REPLY, 1);
  cr_assert_eq(gauth__http_post_json(
                   h, ts_url(s, "/v1/x:testIamPermissions", url, sizeof(url)),
                   NULL, body, NULL, &resp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert(ts_last_request(s, "/v1/x:testIamPermissions", &req));
  cr_assert_str_eq(req.method, "POST");
  cr_assert_str_eq(req.body,
                   "{\"permissions\":[\"run.jobs.run\","
                   "\"run.routes.invoke\"]}");
  cr_assert(strstr(req.headers, "Content-Type: application/json\n") != NULL,
            "%s", req.headers);
  ts_request_cleanup(&req);
  cJSON_Delete(body);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

/* A POST body over curl's 100-continue threshold goes out at once. */
Test(http, large_post_body_no_expect) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_request seen;
  char url[256];
  size_t n = 2 * 1024 * 1024;
  char *big = malloc(n);
  int64_t t0;
  cr_assert_not_null(big);
  memset(big, 'b', n);
  ts_route(s, "/upload", &OK_REPLY, 1);
  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.url = ts_url(s, "/upload", url, sizeof(url));
  req.body = big;
  req.body_len = n;
  req.content_type = "application/octet-stream";
  t0 = tu_now_ms();
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_lt(tu_now_ms() - t0, 900);
  cr_assert(ts_last_request(s, "/upload", &seen));
  cr_assert_eq(seen.body_len, n);
  ts_request_cleanup(&seen);
  free(big);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

/* ---- redirects ----------------------------------------------------------- */

Test(http, redirect_not_followed_by_default) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 302, NULL, 0, {"Location: /ok?token=abc"},
                   0,        0,   0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  ts_route(s, "/r", &r, 1);
  ts_route(s, "/ok", &OK_REPLY, 1);
  cr_assert_eq(get(h, ts_url(s, "/r", url, sizeof(url)), &resp, &err),
               GAUTH_E_HTTP);
  cr_assert_eq(err.http_status, 302);
  cr_assert(strstr(err.message, "redirect not followed") != NULL, "%s",
            err.message);
  cr_assert(strstr(err.message, "token=abc") == NULL, "%s", err.message);
  cr_assert_eq(ts_count(s, "/r"), 1);
  cr_assert_eq(ts_count(s, "/ok"), 0);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, redirect_followed_when_asked) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 302, NULL, 0, {"Location: /ok"}, 0, 0, 0};
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256], final_url[256];
  ts_route(s, "/r", &r, 1);
  ts_route(s, "/ok", &OK_REPLY, 1);
  memset(&req, 0, sizeof(req));
  req.url = ts_url(s, "/r", url, sizeof(url));
  req.max_redirects = 2;
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(resp.status, 200);
  cr_assert_str_eq(resp.body, "{\"ok\":true}");
  cr_assert_str_eq(resp.url, ts_url(s, "/ok", final_url, sizeof(final_url)));
  cr_assert_eq(ts_count(s, "/ok"), 1);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

/* Every plain-http hop (only loopback and metadata addresses can be
 * reached that way) bypasses proxies, whatever the environment says: a
 * proxy could read a token or swap a key set. The proxy here is a real
 * server that counts connections; nothing is exempt through no_proxy. */
Test(http, plain_http_hops_bypass_proxies) {
  static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "all_proxy",
                                     "ALL_PROXY"};
  ts_server *s = ts_start(), *proxy = ts_start();
  gauth__http *h;
  ts_response r = {TS_REPLY, 302, NULL, 0, {"Location: /ok"}, 0, 0, 0};
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256], purl[256];
  size_t i;
  ts_url(proxy, "", purl, sizeof(purl));
  for (i = 0; i < GAUTH__ARRAY_LEN(vars); i++) setenv(vars[i], purl, 1);
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  h = http_default();
  ts_route(s, "/r", &r, 1);
  ts_route(s, "/ok", &OK_REPLY, 1);
  cr_assert_eq(get(h, ts_url(s, "/ok", url, sizeof(url)), &resp, &err),
               GAUTH_OK, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  /* A redirect's hop too. */
  memset(&req, 0, sizeof(req));
  req.url = ts_url(s, "/r", url, sizeof(url));
  req.max_redirects = 2;
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_OK, "%s",
               err.message);
  gauth__http_response_cleanup(&resp);
  cr_assert_eq(ts_count(s, "/ok"), 2);
  cr_assert_eq(ts_connections(proxy), 0, "the proxy was used");
  gauth__http_free(h);
  ts_stop(s);
  ts_stop(proxy);
}

Test(http, redirect_to_plain_http_remote_refused) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {
      TS_REPLY, 302, NULL, 0, {"Location: http://gauth-test.invalid/"},
      0,        0,   0};
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  int64_t t0;
  ts_route(s, "/r", &r, 1);
  memset(&req, 0, sizeof(req));
  req.url = ts_url(s, "/r", url, sizeof(url));
  req.max_redirects = 3;
  t0 = tu_now_ms();
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_E_INSECURE_URL, "%s",
               err.message);
  cr_assert_lt(tu_now_ms() - t0, 500);
  cr_assert(strstr(err.message, "redirect refused") != NULL, "%s", err.message);
  cr_assert_eq(err.http_status, 302);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, too_many_redirects) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, 307, NULL, 0, {"Location: /loop"}, 0, 0, 0};
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  ts_route(s, "/loop", &r, 1);
  memset(&req, 0, sizeof(req));
  req.url = ts_url(s, "/loop", url, sizeof(url));
  req.max_redirects = 2;
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_E_HTTP);
  cr_assert(strstr(err.message, "more than 2 redirects") != NULL, "%s",
            err.message);
  cr_assert_eq(ts_count(s, "/loop"), 3);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

static void redirect_post(int status, const char *want_method,
                          const char *want_body) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  ts_response r = {TS_REPLY, status, NULL, 0, {"Location: /target"}, 0, 0, 0};
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_request seen;
  char url[256];
  ts_route(s, "/r", &r, 1);
  ts_route(s, "/target", &OK_REPLY, 1);
  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.url = ts_url(s, "/r", url, sizeof(url));
  req.body = "a=1";
  req.body_len = 3;
  req.content_type = "application/x-www-form-urlencoded";
  req.max_redirects = 1;
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert(ts_last_request(s, "/target", &seen));
  cr_assert_str_eq(seen.method, want_method);
  cr_assert_str_eq(seen.body, want_body);
  if (want_body[0] == '\0')
    cr_assert(strstr(seen.headers, "Content-Type") == NULL, "%s", seen.headers);
  ts_request_cleanup(&seen);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, redirect_303_post_becomes_get) { redirect_post(303, "GET", ""); }
Test(http, redirect_302_post_becomes_get) { redirect_post(302, "GET", ""); }
Test(http, redirect_307_keeps_post) { redirect_post(307, "POST", "a=1"); }
Test(http, redirect_308_keeps_post) { redirect_post(308, "POST", "a=1"); }

/* Credentials never follow a redirect to another origin. */
Test(http, redirect_to_other_origin_drops_authorization) {
  ts_server *a = ts_start();
  ts_server *b = ts_start();
  gauth__http *h = http_default();
  const char *headers[] = {"Authorization: Bearer ya29.canary-token-1234",
                           NULL};
  char loc[300], url[256];
  ts_response r = {TS_REPLY, 302, NULL, 0, {loc}, 0, 0, 0};
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_request seen;
  snprintf(loc, sizeof(loc), "Location: %s", ts_url(b, "/b", url, sizeof(url)));
  ts_route(a, "/a", &r, 1);
  ts_route(b, "/b", &OK_REPLY, 1);
  memset(&req, 0, sizeof(req));
  req.url = ts_url(a, "/a", url, sizeof(url));
  req.headers = headers;
  req.max_redirects = 1;
  cr_assert_eq(gauth__http_do(h, &req, &resp, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert(ts_last_request(a, "/a", &seen));
  cr_assert(strstr(seen.headers, "Authorization: Bearer") != NULL);
  ts_request_cleanup(&seen);
  cr_assert(ts_last_request(b, "/b", &seen));
  cr_assert(strstr(seen.headers, "Authorization") == NULL, "%s", seen.headers);
  ts_request_cleanup(&seen);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(a);
  ts_stop(b);
}

/* ---- connections, logs, secrets ------------------------------------------ */

Test(http, connection_reused) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  gauth__http_response resp;
  char url[256];
  int i;
  ts_route(s, "/ok", &OK_REPLY, 1);
  for (i = 0; i < 3; i++) {
    cr_assert_eq(get(h, ts_url(s, "/ok", url, sizeof(url)), &resp, NULL),
                 GAUTH_OK);
    gauth__http_response_cleanup(&resp);
  }
  cr_assert_eq(ts_count(s, "/ok"), 3);
  cr_assert_eq(ts_connections(s), 1);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, logs_one_line_per_attempt_without_secrets) {
  ts_server *s = ts_start();
  tu_log log;
  gauth_options o = test_options();
  gauth__http *h;
  const char *headers[] = {"Authorization: Bearer CANARYtokenVALUE0001", NULL};
  const char *secrets[] = {"CANARYsecretVALUE0002", NULL};
  ts_response seq[] = {
      {TS_REPLY,
       503,
       "{\"error\":{\"message\":\"bad CANARYtokenVALUE0001 and "
       "CANARYsecretVALUE0002\",\"status\":\"UNAVAILABLE\"}}",
       0,
       {NULL},
       0,
       0,
       0},
      {TS_REPLY,
       401,
       "{\"error\":{\"message\":\"bad CANARYtokenVALUE0001 and "
       "CANARYsecretVALUE0002\",\"status\":\"UNAUTHENTICATED\"}}",
       0,
       {NULL},
       0,
       0,
       0}};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256], path[128];
  tu_log_init(&log);
  o.log_fn = tu_log_capture;
  o.log_userdata = &log;
  o.log_level = GAUTH_LOG_DEBUG;
  h = http_new(&o);
  ts_route(s, "/secret", seq, 2);
  snprintf(path, sizeof(path), "/secret?access_token=%s", secrets[0]);
  cr_assert_eq(gauth__http_get(h, ts_url(s, path, url, sizeof(url)), headers,
                               secrets, &resp, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert(strstr(log.text, "CANARY") == NULL, "%s", log.text);
  cr_assert(strstr(err.message, "CANARY") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "[redacted]") != NULL, "%s", err.message);
  cr_assert(strstr(log.text, "debug ") != NULL, "%s", log.text);
  cr_assert(strstr(log.text, "HTTP 503") != NULL, "%s", log.text);
  cr_assert(strstr(log.text, "info ") != NULL, "%s", log.text);
  cr_assert(strstr(log.text, "retrying in") != NULL, "%s", log.text);
  /* Two attempts, one debug line each, and one retry line. */
  cr_assert_eq(log.lines, 3, "%s", log.text);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  tu_log_cleanup(&log);
  ts_stop(s);
}

Test(http, post_form_secret_fields_redacted) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  gauth__form_field f[] = {{"grant_type", "refresh_token", 0},
                           {"refresh_token", "CANARYrefreshTOKEN77", 1}};
  ts_response r = {TS_REPLY,
                   400,
                   "{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"token CANARYrefreshTOKEN77 expired\"}",
                   0,
                   {NULL},
                   0,
                   0,
                   0};
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  ts_route(s, "/token", &r, 1);
  cr_assert_eq(gauth__http_post_form(h, ts_url(s, "/token", url, sizeof(url)),
                                     NULL, f, 2, &resp, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert(strstr(err.message, "CANARY") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "expired") != NULL, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, query_not_in_messages) {
  ts_server *s = ts_start();
  gauth__http *h = http_default();
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  cr_assert_eq(
      get(h, ts_url(s, "/nope?audience=xyz-audience-value", url, sizeof(url)),
          &resp, &err),
      GAUTH_E_NOT_FOUND);
  cr_assert(strstr(err.message, "xyz-audience") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "/nope?...") != NULL, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  ts_stop(s);
}

Test(http, free_null_and_cleanup_zeroed) {
  gauth__http_response resp;
  memset(&resp, 0, sizeof(resp));
  gauth__http_free(NULL);
  gauth__http_response_cleanup(&resp);
  gauth__http_response_cleanup(NULL);
  cr_assert_null(gauth__http_response_header(&resp, "x"));
}
