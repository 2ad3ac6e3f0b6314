/* Unit tests for lib/receiver.c and lib/receiver_pubsub.c: header lookup,
 * the Bearer credential, challenges, the Pub/Sub push envelope, IAP
 * audiences, the caller's kind, and the whole verify path for Cloud Run's
 * signature-removed tokens (claims checked, no signature, so no keys and
 * no I/O). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base64.h"
#include "receiver_internal.h"

#define CANARY "eyJhbGciOiJSUzI1NiJ9.CANARYTOKEN.c2ln"

/* Transport options for every receiver here: none of these tests fetches a
 * key; should one, it goes to a dead loopback port, never to Google. */
static const gauth_options *loopback(void) {
  static gauth_options o = GAUTH_OPTIONS_INIT;
  o.endpoint = "http://127.0.0.1:1";
  return &o;
}

/* ---- helpers --------------------------------------------------------------
 */

#define H(n, v) \
  { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static gauth_request req_of(const gauth_http_header *h, size_t n) {
  gauth_request r = GAUTH_REQUEST_INIT;
  r.headers = h;
  r.header_count = n;
  return r;
}

static const char *bearer_of(const gauth_http_header *h, size_t n,
                             gauth_error *err, size_t *len) {
  gauth_request r = req_of(h, n);
  const char *tok = NULL;
  if (gauth__receiver_bearer(&r, 1, &tok, len, err) != GAUTH_OK) return NULL;
  return tok;
}

/* ---- header lookup and the Bearer credential ------------------------------
 */

Test(receiver_header, array_lookup_ignores_case_and_takes_the_first) {
  gauth_http_header h[] = {H("Content-Type", "x"), H("AUTHORIZATION", "one"),
                           H("authorization", "two")};
  gauth_request r = req_of(h, 3);
  size_t n;
  const char *v = gauth__receiver_header(&r, "authorization", &n);
  cr_assert_not_null(v);
  cr_assert_eq(n, 3);
  cr_assert(memcmp(v, "one", 3) == 0);
  cr_assert_null(gauth__receiver_header(&r, "x-cloudscheduler", &n));
  cr_assert_eq(n, 0);
}

static const char *cb_lookup(void *ud, const char *name, size_t *len) {
  int *calls = ud;
  (*calls)++;
  if (strcmp(name, "authorization") == 0) {
    *len = 9;
    return "Bearer cbXXXX"; /* not NUL-terminated at 9 */
  }
  return NULL;
}

Test(receiver_header, callback_wins_over_the_array) {
  gauth_http_header h[] = {H("Authorization", "Bearer fromarray")};
  gauth_request r = req_of(h, 1);
  int calls = 0;
  const char *tok;
  size_t len;
  gauth_error err = GAUTH_ERROR_INIT;
  r.header = cb_lookup;
  r.header_userdata = &calls;
  cr_assert_eq(gauth__receiver_bearer(&r, 1, &tok, &len, &err), GAUTH_OK);
  cr_assert_eq(len, 2);
  cr_assert(memcmp(tok, "cb", 2) == 0);
  /* x-serverless-authorization asked first, then authorization */
  cr_assert_eq(calls, 2);
}

Test(receiver_bearer, accepts_bearer_in_any_case) {
  static const char *const values[] = {
      "Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER abc.def.ghi",
      "  Bearer abc.def.ghi \t"};
  size_t i;
  for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    gauth_http_header h = {"Authorization", 13, values[i], strlen(values[i])};
    gauth_error err = GAUTH_ERROR_INIT;
    size_t len;
    const char *tok = bearer_of(&h, 1, &err, &len);
    cr_assert_not_null(tok, "%s: %s", values[i], err.message);
    cr_assert_eq(len, 11);
    cr_assert(memcmp(tok, "abc.def.ghi", 11) == 0);
  }
}

Test(receiver_bearer, token68_with_padding) {
  gauth_http_header h[] = {H("Authorization", "Bearer a-b_c~d+e/f.g==")};
  gauth_error err = GAUTH_ERROR_INIT;
  size_t len;
  cr_assert_not_null(bearer_of(h, 1, &err, &len), "%s", err.message);
  cr_assert_eq(len, strlen("a-b_c~d+e/f.g=="));
}

Test(receiver_bearer, rejects_bad_values_without_echoing_them) {
  static const char *const values[] = {
      "",
      "Bearer",
      "Bearer ",
      "Bearer  " CANARY,
      "Bearer\t" CANARY,
      "Basic " CANARY,
      "Bearer" CANARY,
      "Bearer " CANARY " x",
      "Bearer " CANARY "=x",
      "Bearer " CANARY ",",
      "Bearer " CANARY "\"",
      "Token " CANARY,
      "Bearer " CANARY "\x01",
  };
  size_t i;
  for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    gauth_http_header h = {"Authorization", 13, values[i], strlen(values[i])};
    gauth_error err = GAUTH_ERROR_INIT;
    size_t len;
    cr_assert_null(bearer_of(&h, 1, &err, &len), "accepted \"%s\"", values[i]);
    cr_assert_eq(err.code, GAUTH_E_VERIFY);
    cr_assert_str_eq(err.reason, GAUTH_REASON_BAD_AUTH_HEADER, "%s", values[i]);
    cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  }
}

Test(receiver_bearer, basic_scheme_is_named) {
  gauth_http_header h[] = {H("Authorization", "Basic dXNlcjpwYXNz")};
  gauth_error err = GAUTH_ERROR_INIT;
  size_t len;
  cr_assert_null(bearer_of(h, 1, &err, &len));
  cr_assert(strstr(err.message, "\"Basic\"") != NULL, "%s", err.message);
  cr_assert_null(strstr(err.message, "dXNlc"), "%s", err.message);
}

Test(receiver_bearer, no_header_is_no_credentials) {
  gauth_http_header h[] = {H("Host", "x")};
  gauth_error err = GAUTH_ERROR_INIT;
  size_t len;
  cr_assert_null(bearer_of(h, 1, &err, &len));
  cr_assert_str_eq(err.reason, GAUTH_REASON_NO_CREDENTIALS);
  cr_assert_null(bearer_of(NULL, 0, &err, &len));
  cr_assert_str_eq(err.reason, GAUTH_REASON_NO_CREDENTIALS);
}

Test(receiver_bearer, serverless_header_wins) {
  gauth_http_header h[] = {H("Authorization", "Bearer outer"),
                           H("X-Serverless-Authorization", "Bearer inner")};
  gauth_error err = GAUTH_ERROR_INIT;
  size_t len;
  const char *tok = bearer_of(h, 2, &err, &len);
  cr_assert_not_null(tok);
  cr_assert_eq(len, 5);
  cr_assert(memcmp(tok, "inner", 5) == 0);
}

Test(receiver_bearer, bad_serverless_header_does_not_fall_back) {
  gauth_http_header h[] = {H("Authorization", "Bearer outer"),
                           H("X-Serverless-Authorization", "Basic inner")};
  gauth_error err = GAUTH_ERROR_INIT;
  size_t len;
  cr_assert_null(bearer_of(h, 2, &err, &len));
  cr_assert_str_eq(err.reason, GAUTH_REASON_BAD_AUTH_HEADER);
  cr_assert(strstr(err.message, "X-Serverless-Authorization") != NULL);
}

/* ---- signature removed, kind, IAP audiences --------------------------------
 */

Test(receiver_misc, signature_removed_detection) {
  cr_assert(gauth__receiver_signature_removed(
      "a.b.SIGNATURE_REMOVED_BY_GOOGLE",
      strlen("a.b.SIGNATURE_REMOVED_BY_GOOGLE")));
  cr_assert_not(gauth__receiver_signature_removed(
      "a.b.xSIGNATURE_REMOVED_BY_GOOGLE",
      strlen("a.b.xSIGNATURE_REMOVED_BY_GOOGLE")));
  cr_assert_not(gauth__receiver_signature_removed(
      "b.SIGNATURE_REMOVED_BY_GOOGLE",
      strlen("b.SIGNATURE_REMOVED_BY_GOOGLE")));
  cr_assert_not(gauth__receiver_signature_removed(
      "a.b.SIGNATURE_REMOVED_BY_GOOGLEx",
      strlen("a.b.SIGNATURE_REMOVED_BY_GOOGLEx")));
  cr_assert_not(gauth__receiver_signature_removed("a.b.c", 5));
  cr_assert_not(gauth__receiver_signature_removed(
      "a.b.c.SIGNATURE_REMOVED_BY_GOOGLE",
      strlen("a.b.c.SIGNATURE_REMOVED_BY_GOOGLE")));
}

Test(receiver_misc, caller_kind) {
  gauth_http_header sched[] = {H("X-CloudScheduler", "true")};
  gauth_http_header sched_upper[] = {H("x-cloudscheduler", "TRUE")};
  gauth_http_header sched_false[] = {H("X-CloudScheduler", "false")};
  gauth_http_header tasks[] = {H("X-CloudTasks-QueueName", "q1")};
  gauth_request r;
  r = req_of(sched, 1);
  cr_assert_eq(gauth__receiver_kind(&r, GAUTH_RECEIVE_BEARER),
               GAUTH_CALLER_CLOUD_SCHEDULER);
  r = req_of(sched_upper, 1);
  cr_assert_eq(gauth__receiver_kind(&r, GAUTH_RECEIVE_BEARER),
               GAUTH_CALLER_CLOUD_SCHEDULER);
  r = req_of(sched_false, 1);
  cr_assert_eq(gauth__receiver_kind(&r, GAUTH_RECEIVE_BEARER),
               GAUTH_CALLER_GOOGLE);
  r = req_of(tasks, 1);
  cr_assert_eq(gauth__receiver_kind(&r, GAUTH_RECEIVE_BEARER),
               GAUTH_CALLER_CLOUD_TASKS);
  cr_assert_eq(gauth__receiver_kind(&r, GAUTH_RECEIVE_PUBSUB_PUSH),
               GAUTH_CALLER_PUBSUB_PUSH);
  cr_assert_eq(gauth__receiver_kind(&r, GAUTH_RECEIVE_IAP), GAUTH_CALLER_IAP);
  r = req_of(NULL, 0);
  cr_assert_eq(gauth__receiver_kind(&r, GAUTH_RECEIVE_BEARER),
               GAUTH_CALLER_GOOGLE);
  cr_assert_str_eq(gauth_caller_kind_name(GAUTH_CALLER_CLOUD_TASKS),
                   "cloud_tasks");
  cr_assert_str_eq(gauth_caller_kind_name((gauth_caller_kind)99), "unknown");
}

Test(receiver_misc, iap_audiences) {
  static const char *const good[] = {
      "/projects/123456789/apps/my-project",
      "/projects/1/apps/example.com:my-project",
      "/projects/123456789/global/backendServices/987654321",
  };
  static const char *const bad[] = {
      "",
      "projects/123/apps/p",
      "/projects/abc/apps/my-project",
      "/projects//apps/my-project",
      "/projects/123/apps/",
      "/projects/123/apps/My-Project",
      "/projects/123/apps/p/x",
      "/projects/123/global/backendServices/",
      "/projects/123/global/backendServices/12a",
      "/projects/123/backendServices/12",
      "https://my-service.example.com/",
  };
  size_t i;
  for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    cr_assert(gauth__receiver_iap_audience_valid(good[i]), "%s", good[i]);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_not(gauth__receiver_iap_audience_valid(bad[i]), "%s", bad[i]);
}

Test(receiver_new, validates_options) {
  static const char *const aud[] = {"https://svc.example.com/", NULL};
  static const char *const iap_bad[] = {"/projects/x/apps/p", NULL};
  static const char *const iap_good[] = {"/projects/12/apps/p-1", NULL};
  static const char *const empty[] = {NULL};
  gauth_receiver_options o = GAUTH_RECEIVER_OPTIONS_INIT;
  o.http = loopback();
  gauth_receiver *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;

  cr_assert_eq(gauth_receiver_new(&r, &o, &err), GAUTH_E_INVALID_ARG);
  o.audiences = empty;
  cr_assert_eq(gauth_receiver_new(&r, &o, &err), GAUTH_E_INVALID_ARG);
  o.audiences = NULL;
  o.iap_audiences = iap_bad;
  cr_assert_eq(gauth_receiver_new(&r, &o, &err), GAUTH_E_INVALID_ARG);
  cr_assert(strstr(err.message, "/projects/x/apps/p") != NULL);
  o.iap_audiences = iap_good;
  cr_assert_eq(gauth_receiver_new(&r, &o, &err), GAUTH_OK, "%s", err.message);
  gauth_receiver_free(r);
  o.audiences = aud;
  o.version = 99;
  cr_assert_eq(gauth_receiver_new(&r, &o, &err), GAUTH_E_INVALID_ARG);
  cr_assert(strstr(err.message, "GAUTH_RECEIVER_OPTIONS_INIT") != NULL);
  cr_assert_null(r);
  gauth_receiver_free(NULL);
}

/* ---- challenges -----------------------------------------------------------
 */

static gauth_receiver *receiver_with_realm(const char *realm) {
  static const char *const aud[] = {"https://svc.example.com/", NULL};
  gauth_receiver_options o = GAUTH_RECEIVER_OPTIONS_INIT;
  o.http = loopback();
  gauth_receiver *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  o.audiences = aud;
  o.realm = realm;
  cr_assert_eq(gauth_receiver_new(&r, &o, &err), GAUTH_OK, "%s", err.message);
  return r;
}

static gauth_error rejection(int status, const char *reason) {
  gauth_error e = GAUTH_ERROR_INIT;
  e.code = GAUTH_E_VERIFY;
  e.http_status = status;
  snprintf(e.reason, sizeof(e.reason), "%s", reason);
  snprintf(e.message, sizeof(e.message), "token %s leaked?", CANARY);
  return e;
}

Test(receiver_challenge, strings) {
  gauth_receiver *r = receiver_with_realm(NULL);
  gauth_receiver *rr = receiver_with_realm("collector");
  char buf[256];
  gauth_error e;

  e = rejection(401, GAUTH_REASON_NO_CREDENTIALS);
  cr_assert_str_eq(gauth_receiver_challenge(r, &e, buf, sizeof(buf)), "Bearer");
  cr_assert_str_eq(gauth_receiver_challenge(rr, &e, buf, sizeof(buf)),
                   "Bearer realm=\"collector\"");
  e = rejection(401, GAUTH_REASON_EXPIRED);
  cr_assert_str_eq(gauth_receiver_challenge(r, &e, buf, sizeof(buf)),
                   "Bearer error=\"invalid_token\", "
                   "error_description=\"The token expired\"");
  cr_assert_str_eq(gauth_receiver_challenge(rr, &e, buf, sizeof(buf)),
                   "Bearer realm=\"collector\", error=\"invalid_token\", "
                   "error_description=\"The token expired\"");
  e = rejection(403, GAUTH_REASON_CALLER_NOT_ALLOWED);
  cr_assert_str_eq(gauth_receiver_challenge(r, &e, buf, sizeof(buf)),
                   "Bearer error=\"insufficient_scope\", "
                   "error_description=\"The caller is not allowed\"");
  e = rejection(401, "something_new");
  cr_assert_str_eq(gauth_receiver_challenge(r, &e, buf, sizeof(buf)),
                   "Bearer error=\"invalid_token\", "
                   "error_description=\"The token is invalid\"");
  cr_assert_null(strstr(buf, "CANARY"));
  gauth_receiver_free(r);
  gauth_receiver_free(rr);
}

Test(receiver_challenge, none_for_other_statuses) {
  gauth_receiver *r = receiver_with_realm(NULL);
  char buf[64];
  static const int statuses[] = {400, 413, 503, 500, 0};
  size_t i;
  gauth_error ok = GAUTH_ERROR_INIT;
  for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
    gauth_error e = rejection(statuses[i], GAUTH_REASON_BAD_ENVELOPE);
    cr_assert_null(gauth_receiver_challenge(r, &e, buf, sizeof(buf)));
  }
  ok.http_status = 401; /* code OK: nothing to challenge */
  cr_assert_null(gauth_receiver_challenge(r, &ok, buf, sizeof(buf)));
  cr_assert_null(gauth_receiver_challenge(r, NULL, buf, sizeof(buf)));
  gauth_receiver_free(r);
}

Test(receiver_challenge, realm_is_escaped) {
  gauth_receiver *r = receiver_with_realm("a\"b\\c\nd\xc3\xa9");
  char buf[128];
  gauth_error e = rejection(401, GAUTH_REASON_NO_CREDENTIALS);
  cr_assert_str_eq(gauth_receiver_challenge(r, &e, buf, sizeof(buf)),
                   "Bearer realm=\"a\\\"b\\\\c?d??\"");
  gauth_receiver_free(r);
}

Test(receiver_challenge, truncation_is_safe) {
  gauth_receiver *r = receiver_with_realm("x\"y");
  gauth_error e = rejection(401, GAUTH_REASON_EXPIRED);
  char full[256], buf[64];
  size_t n, size;
  cr_assert_not_null(gauth_receiver_challenge(r, &e, full, sizeof(full)));
  n = strlen(full);
  for (size = 1; size <= n + 1 && size < sizeof(buf) - 1; size++) {
    memset(buf, 'Z', sizeof(buf));
    cr_assert_eq(gauth_receiver_challenge(r, &e, buf, size), buf);
    /* all that fits, or one byte less where an escape would be cut */
    cr_assert(strlen(buf) == (size - 1 < n ? size - 1 : n) ||
                  (strlen(buf) + 2 == size && full[strlen(buf)] == '\\'),
              "size %zu: \"%s\"", size, buf);
    cr_assert_eq(buf[size], 'Z', "wrote past size %zu", size);
    cr_assert(strncmp(buf, full, strlen(buf)) == 0);
  }
  cr_assert_null(gauth_receiver_challenge(r, &e, buf, 0));
  gauth_receiver_free(r);
}

/* ---- the push envelope ----------------------------------------------------
 */

static gauth_status parse(const char *body, gauth__pubsub_push *p,
                          gauth_error *err) {
  return gauth__pubsub_push_parse(body, strlen(body), 1 << 20, p, err);
}

#define SUB "\"subscription\":\"projects/p1/subscriptions/s1\""

Test(receiver_pubsub, full_envelope) {
  const char *body =
      "{\"message\":{\"attributes\":{\"k1\":\"v1\",\"k2\":\"\"},"
      "\"data\":\"SGVsbG8AV29ybGQ=\",\"messageId\":\"2070443601311540\","
      "\"message_id\":\"2070443601311540\","
      "\"publishTime\":\"2021-02-26T19:13:55.749Z\","
      "\"publish_time\":\"2021-02-26T19:13:55.749Z\","
      "\"orderingKey\":\"ok\"}," SUB ",\"deliveryAttempt\":3}";
  gauth__pubsub_push p;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(parse(body, &p, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(p.data_len, 11);
  cr_assert(memcmp(p.data, "Hello\0World", 11) == 0);
  cr_assert_eq(p.data[11], 0);
  cr_assert_str_eq(p.message_id, "2070443601311540");
  cr_assert_str_eq(p.publish_time, "2021-02-26T19:13:55.749Z");
  cr_assert_str_eq(p.ordering_key, "ok");
  cr_assert_str_eq(p.subscription, "projects/p1/subscriptions/s1");
  cr_assert_eq(p.delivery_attempt, 3);
  cr_assert_eq(p.attr_count, 2);
  cr_assert_str_eq(p.attr[0]->string, "k1");
  cr_assert_str_eq(p.attr[0]->valuestring, "v1");
  cr_assert_str_eq(p.attr[1]->valuestring, "");
  gauth__pubsub_push_cleanup(&p);
  gauth__pubsub_push_cleanup(&p); /* idempotent */
}

Test(receiver_pubsub, snake_case_and_attributes_only) {
  const char *body =
      "{\"message\":{\"attributes\":{\"a\":\"b\"},"
      "\"message_id\":\"9\",\"publish_time\":\"t\"}," SUB "}";
  gauth__pubsub_push p;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(parse(body, &p, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(p.message_id, "9");
  cr_assert_str_eq(p.publish_time, "t");
  cr_assert_null(p.ordering_key);
  cr_assert_not_null(p.data);
  cr_assert_eq(p.data_len, 0);
  cr_assert_eq(p.data[0], 0);
  cr_assert_eq(p.delivery_attempt, 0);
  gauth__pubsub_push_cleanup(&p);
}

Test(receiver_pubsub, malformed_parts_are_named) {
  static const struct {
    const char *body, *names;
  } cases[] = {
      {"", "empty"},
      {"not json", "not a JSON object"},
      {"[1]", "not a JSON object"},
      {"{\"message\":{\"messageId\":\"1\"}," SUB "} x", "not a JSON object"},
      {"{" SUB "}", "message is missing"},
      {"{\"message\":\"x\"," SUB "}", "message is not an object"},
      {"{\"message\":{}," SUB "}", "messageId is missing"},
      {"{\"message\":{\"messageId\":\"\"}," SUB "}", "messageId is missing"},
      {"{\"message\":{\"messageId\":5}," SUB "}", "messageId is a number"},
      {"{\"message\":{\"messageId\":\"1\",\"data\":\"@@@@\"}," SUB "}",
       "message.data is not valid base64"},
      {"{\"message\":{\"messageId\":\"1\",\"data\":\"SGVsbG8\"}," SUB "}",
       "message.data is not valid base64"},
      {"{\"message\":{\"messageId\":\"1\",\"data\":\"SGV-bG8=\"}," SUB "}",
       "message.data is not valid base64"},
      {"{\"message\":{\"messageId\":\"1\",\"data\":1}," SUB "}",
       "message.data is not a string"},
      {"{\"message\":{\"messageId\":\"1\",\"attributes\":[]}," SUB "}",
       "attributes is not an object"},
      {"{\"message\":{\"messageId\":\"1\",\"attributes\":{\"a\":1}}," SUB "}",
       "not a string"},
      {"{\"message\":{\"messageId\":\"1\",\"attributes\":{\"a\":null}}," SUB
       "}",
       "not a string"},
      {"{\"message\":{\"messageId\":\"1\"}}", "subscription is missing"},
      {"{\"message\":{\"messageId\":\"1\"},\"subscription\":7}",
       "subscription is not a string"},
      {"{\"message\":{\"messageId\":\"1\"},\"subscription\":\"s1\"}",
       "projects/PROJECT/subscriptions/NAME"},
      {"{\"message\":{\"messageId\":\"1\"},\"subscription\":"
       "\"projects//subscriptions/s\"}",
       "projects/PROJECT/subscriptions/NAME"},
      {"{\"message\":{\"messageId\":\"1\"},\"subscription\":"
       "\"projects/p/topics/s\"}",
       "projects/PROJECT/subscriptions/NAME"},
      {"{\"message\":{\"messageId\":\"1\"},\"subscription\":"
       "\"projects/p/subscriptions/s/x\"}",
       "projects/PROJECT/subscriptions/NAME"},
      {"{\"message\":{\"messageId\":\"1\"}," SUB ",\"deliveryAttempt\":1.5}",
       "deliveryAttempt"},
      {"{\"message\":{\"messageId\":\"1\"}," SUB ",\"deliveryAttempt\":-1}",
       "deliveryAttempt"},
      {"{\"message\":{\"messageId\":\"1\"}," SUB ",\"deliveryAttempt\":\"2\"}",
       "deliveryAttempt"},
      {"{\"message\":{\"messageId\":\"1\",\"messageId\":\"2\"}," SUB "}",
       "not a JSON object"},
  };
  size_t i;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gauth__pubsub_push p;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(parse(cases[i].body, &p, &err), GAUTH_E_VERIFY, "case %zu", i);
    cr_assert_str_eq(err.reason, GAUTH_REASON_BAD_ENVELOPE, "case %zu", i);
    cr_assert(strstr(err.message, cases[i].names) != NULL,
              "case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].names);
    cr_assert_null(p.root);
    cr_assert_null(p.data);
  }
}

Test(receiver_pubsub, size_limit_comes_first) {
  gauth__pubsub_push p;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *body = "{{{{ not even json";
  cr_assert_eq(gauth__pubsub_push_parse(body, strlen(body), 4, &p, &err),
               GAUTH_E_TOO_LARGE);
  cr_assert_str_eq(err.reason, GAUTH_REASON_BODY_TOO_LARGE);
  cr_assert_eq(err.code, GAUTH_E_TOO_LARGE);
}

Test(receiver_pubsub, binary_data_round_trip) {
  unsigned char bytes[256];
  char *b64 = NULL, *body;
  gauth__pubsub_push p;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t i;
  for (i = 0; i < sizeof(bytes); i++) bytes[i] = (unsigned char)i;
  cr_assert_eq(gauth__b64_encode(bytes, sizeof(bytes), &b64, &err), GAUTH_OK);
  body = malloc(strlen(b64) + 200);
  sprintf(body, "{\"message\":{\"data\":\"%s\",\"messageId\":\"1\"}," SUB "}",
          b64);
  cr_assert_eq(parse(body, &p, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(p.data_len, sizeof(bytes));
  cr_assert(memcmp(p.data, bytes, sizeof(bytes)) == 0);
  gauth__pubsub_push_cleanup(&p);
  free(body);
  free(b64);
}

/* ---- the verify path, with signature-removed tokens (no keys needed) ------
 */

#define AUD "https://svc.example.com/"
#define NOW 1764201600

static int64_t fixed_clock(void *ud) { return *(int64_t *)ud; }

/* header.payload.SIGNATURE_REMOVED_BY_GOOGLE (malloc'd) */
static char *removed_token(const char *header, const char *payload) {
  char *h = NULL, *p = NULL, *out;
  cr_assert_eq(gauth__b64url_encode(header, strlen(header), &h, NULL),
               GAUTH_OK);
  cr_assert_eq(gauth__b64url_encode(payload, strlen(payload), &p, NULL),
               GAUTH_OK);
  out = malloc(strlen(h) + strlen(p) + 40);
  sprintf(out, "%s.%s.SIGNATURE_REMOVED_BY_GOOGLE", h, p);
  free(h);
  free(p);
  return out;
}

static char *claims_token(const char *email, const char *verified,
                          long exp_delta) {
  char payload[512];
  snprintf(payload, sizeof(payload),
           "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" AUD
           "\",\"sub\":\"1234\",\"iat\":%ld,\"exp\":%ld%s%s%s%s%s}",
           (long)NOW - 10, (long)NOW + exp_delta, email ? ",\"email\":\"" : "",
           email ? email : "", email ? "\"" : "",
           verified ? ",\"email_verified\":" : "", verified ? verified : "");
  return removed_token("{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
                       payload);
}

typedef struct fixture {
  gauth_receiver *r;
  int64_t now;
} fixture;

static void make(fixture *f, const char *const *emails,
                 const char *const *domains, int trust) {
  static const char *const aud[] = {AUD, NULL};
  gauth_receiver_options o = GAUTH_RECEIVER_OPTIONS_INIT;
  o.http = loopback();
  gauth_error err = GAUTH_ERROR_INIT;
  f->now = NOW;
  o.audiences = aud;
  o.allowed_emails = emails;
  o.allowed_domains = domains;
  o.trust_cloud_run = trust;
  o.cloud_run_port = 8080;
  o.clock = fixed_clock;
  o.clock_userdata = &f->now;
  o.http = loopback();
  cr_assert_eq(gauth_receiver_new(&f->r, &o, &err), GAUTH_OK, "%s",
               err.message);
}

static gauth_status run(fixture *f, const char *token, unsigned int port,
                        gauth_receive_mode mode, const char *body,
                        gauth_caller **c, gauth_error *err) {
  char value[1024];
  gauth_http_header h[2];
  gauth_request req = GAUTH_REQUEST_INIT;
  snprintf(value, sizeof(value), "Bearer %s", token);
  h[0].name = "Authorization";
  h[0].name_len = 13;
  h[0].value = value;
  h[0].value_len = strlen(value);
  h[1].name = "X-CloudScheduler";
  h[1].name_len = 16;
  h[1].value = "true";
  h[1].value_len = 4;
  req.headers = h;
  req.header_count = 2;
  req.local_port = port;
  req.body = body;
  req.body_len = body != NULL ? strlen(body) : 0;
  return gauth_receiver_verify(f->r, &req, mode, c, err);
}

Test(receiver_removed, refused_by_default) {
  fixture f;
  gauth_caller *c = (gauth_caller *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = claims_token("a@x.iam.gserviceaccount.com", "true", 600);
  char buf[256];
  make(&f, NULL, NULL, 0);
  cr_assert_eq(run(&f, tok, 8080, GAUTH_RECEIVE_BEARER, NULL, &c, &err),
               GAUTH_E_VERIFY);
  cr_assert_null(c);
  cr_assert_str_eq(err.reason, GAUTH_REASON_SIGNATURE_REMOVED);
  cr_assert_eq(err.http_status, 401);
  cr_assert(strstr(err.message, "trust_cloud_run") != NULL, "%s", err.message);
  cr_assert_str_eq(gauth_receiver_challenge(f.r, &err, buf, sizeof(buf)),
                   "Bearer error=\"invalid_token\", error_description=\"The "
                   "token's signature was removed and is not trusted here\"");
  free(tok);
  gauth_receiver_free(f.r);
}

Test(receiver_removed, trusted_on_the_cloud_run_port) {
  fixture f;
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = claims_token("a@x.iam.gserviceaccount.com", "true", 600);
  make(&f, NULL, NULL, 1);
  cr_assert_eq(run(&f, tok, 8080, GAUTH_RECEIVE_BEARER, NULL, &c, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_caller_email(c), "a@x.iam.gserviceaccount.com");
  cr_assert_str_eq(gauth_caller_subject(c), "1234");
  cr_assert_str_eq(gauth_caller_audience(c), AUD);
  cr_assert_str_eq(gauth_caller_issuer(c), "https://accounts.google.com");
  cr_assert_eq(gauth_caller_signature_verified(c), 0);
  cr_assert_eq(gauth_caller_get_kind(c), GAUTH_CALLER_CLOUD_SCHEDULER);
  cr_assert_not_null(gauth_caller_claims(c));
  cr_assert_null(gauth_caller_pubsub_message_id(c));
  gauth_caller_free(c);
  free(tok);
  gauth_receiver_free(f.r);
}

Test(receiver_removed, other_port_or_bad_claims_refused) {
  fixture f;
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = claims_token("a@x.iam.gserviceaccount.com", "true", 600);
  char *expired = claims_token("a@x.iam.gserviceaccount.com", "true", -100);
  char *es = removed_token("{\"alg\":\"ES256\"}",
                           "{\"iss\":\"https://accounts.google.com\",\"aud\":"
                           "\"" AUD "\",\"exp\":1764202000}");
  char *wrong_aud = removed_token(
      "{\"alg\":\"RS256\"}",
      "{\"iss\":\"https://accounts.google.com\",\"aud\":\"https://other/\","
      "\"exp\":1764202000}");
  make(&f, NULL, NULL, 1);
  cr_assert_eq(run(&f, tok, 9090, GAUTH_RECEIVE_BEARER, NULL, &c, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, GAUTH_REASON_SIGNATURE_REMOVED);
  cr_assert_eq(run(&f, tok, 0, GAUTH_RECEIVE_BEARER, NULL, &c, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, GAUTH_REASON_SIGNATURE_REMOVED);
  cr_assert_eq(run(&f, expired, 8080, GAUTH_RECEIVE_BEARER, NULL, &c, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, GAUTH_REASON_EXPIRED);
  cr_assert_eq(err.http_status, 401);
  cr_assert_eq(run(&f, es, 8080, GAUTH_RECEIVE_BEARER, NULL, &c, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, GAUTH_REASON_ALG_NOT_ALLOWED);
  cr_assert_eq(run(&f, wrong_aud, 8080, GAUTH_RECEIVE_BEARER, NULL, &c, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, GAUTH_REASON_AUDIENCE_MISMATCH);
  cr_assert_null(c);
  free(tok);
  free(expired);
  free(es);
  free(wrong_aud);
  gauth_receiver_free(f.r);
}

Test(receiver_policy, allow_lists) {
  static const char *const emails[] = {"Job@Proj.iam.gserviceaccount.com",
                                       NULL};
  static const char *const domains[] = {"Example.COM", NULL};
  static const struct {
    const char *email, *verified, *reason;
  } cases[] = {
      {"Job@proj.IAM.gserviceaccount.com", "true", NULL},
      {"job@proj.iam.gserviceaccount.com", "true",
       GAUTH_REASON_CALLER_NOT_ALLOWED},
      {"someone@example.com", "true", NULL},
      {"someone@sub.example.com", "true", GAUTH_REASON_CALLER_NOT_ALLOWED},
      {"someone@example.com.evil", "true", GAUTH_REASON_CALLER_NOT_ALLOWED},
      {"someone@example.com", "false", GAUTH_REASON_EMAIL_NOT_VERIFIED},
      {"someone@example.com", NULL, GAUTH_REASON_EMAIL_NOT_VERIFIED},
      {"someone@example.com", "\"true\"", GAUTH_REASON_EMAIL_NOT_VERIFIED},
      {NULL, "true", GAUTH_REASON_CALLER_NOT_ALLOWED},
  };
  fixture f;
  size_t i;
  make(&f, emails, domains, 1);
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gauth_caller *c = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    char *tok = claims_token(cases[i].email, cases[i].verified, 600);
    gauth_status st = run(&f, tok, 8080, GAUTH_RECEIVE_BEARER, NULL, &c, &err);
    if (cases[i].reason == NULL) {
      cr_assert_eq(st, GAUTH_OK, "case %zu: %s", i, err.message);
    } else {
      cr_assert_eq(st, GAUTH_E_VERIFY, "case %zu", i);
      cr_assert_str_eq(err.reason, cases[i].reason, "case %zu", i);
      cr_assert_eq(err.http_status, 403, "case %zu", i);
    }
    gauth_caller_free(c);
    free(tok);
  }
  gauth_receiver_free(f.r);
}

Test(receiver_policy, pubsub_push_needs_verified_email_and_envelope) {
  fixture f;
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *noemail = claims_token(NULL, NULL, 600);
  char *ok = claims_token("push@p.iam.gserviceaccount.com", "true", 600);
  const char *body =
      "{\"message\":{\"data\":\"aGk=\",\"messageId\":\"m1\","
      "\"attributes\":{\"x\":\"y\"}}," SUB ",\"deliveryAttempt\":2}";
  const unsigned char *data;
  const char *v;
  size_t len;
  make(&f, NULL, NULL, 1);
  /* no email: 403 before the (bad) body is looked at */
  cr_assert_eq(
      run(&f, noemail, 8080, GAUTH_RECEIVE_PUBSUB_PUSH, "garbage", &c, &err),
      GAUTH_E_VERIFY);
  cr_assert_eq(err.http_status, 403);
  cr_assert_eq(
      run(&f, ok, 8080, GAUTH_RECEIVE_PUBSUB_PUSH, "garbage", &c, &err),
      GAUTH_E_VERIFY);
  cr_assert_eq(err.http_status, 400);
  cr_assert_str_eq(err.reason, GAUTH_REASON_BAD_ENVELOPE);
  cr_assert_eq(run(&f, ok, 8080, GAUTH_RECEIVE_PUBSUB_PUSH, body, &c, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_caller_get_kind(c), GAUTH_CALLER_PUBSUB_PUSH);
  data = gauth_caller_pubsub_data(c, &len);
  cr_assert_eq(len, 2);
  cr_assert(memcmp(data, "hi", 3) == 0);
  cr_assert_str_eq(gauth_caller_pubsub_message_id(c), "m1");
  cr_assert_str_eq(gauth_caller_pubsub_subscription(c),
                   "projects/p1/subscriptions/s1");
  cr_assert_null(gauth_caller_pubsub_publish_time(c));
  cr_assert_null(gauth_caller_pubsub_ordering_key(c));
  cr_assert_eq(gauth_caller_pubsub_delivery_attempt(c), 2);
  cr_assert_eq(gauth_caller_pubsub_attribute_count(c), 1);
  cr_assert_str_eq(gauth_caller_pubsub_attribute(c, "x"), "y");
  cr_assert_null(gauth_caller_pubsub_attribute(c, "z"));
  cr_assert_str_eq(gauth_caller_pubsub_attribute_at(c, 0, &v), "x");
  cr_assert_str_eq(v, "y");
  cr_assert_null(gauth_caller_pubsub_attribute_at(c, 1, &v));
  cr_assert_null(v);
  gauth_caller_free(c);
  free(noemail);
  free(ok);
  gauth_receiver_free(f.r);
}

Test(receiver_policy, oversized_body_is_413_before_the_token) {
  static const char *const aud[] = {AUD, NULL};
  gauth_receiver_options o = GAUTH_RECEIVER_OPTIONS_INIT;
  o.http = loopback();
  gauth_receiver *r = NULL;
  gauth_request req = GAUTH_REQUEST_INIT;
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char buf[64];
  o.audiences = aud;
  o.max_body_bytes = 10;
  cr_assert_eq(gauth_receiver_new(&r, &o, &err), GAUTH_OK);
  req.body = "01234567890";
  req.body_len = 11;
  cr_assert_eq(
      gauth_receiver_verify(r, &req, GAUTH_RECEIVE_PUBSUB_PUSH, &c, &err),
      GAUTH_E_TOO_LARGE);
  cr_assert_eq(err.http_status, 413);
  cr_assert_str_eq(err.reason, GAUTH_REASON_BODY_TOO_LARGE);
  cr_assert_null(gauth_receiver_challenge(r, &err, buf, sizeof(buf)));
  /* no header at all: 401 */
  req.body_len = 10;
  cr_assert_eq(
      gauth_receiver_verify(r, &req, GAUTH_RECEIVE_PUBSUB_PUSH, &c, &err),
      GAUTH_E_VERIFY);
  cr_assert_eq(err.http_status, 401);
  cr_assert_str_eq(err.reason, GAUTH_REASON_NO_CREDENTIALS);
  cr_assert_str_eq(gauth_receiver_challenge(r, &err, buf, sizeof(buf)),
                   "Bearer");
  /* IAP on a receiver without IAP audiences */
  cr_assert_eq(gauth_receiver_verify(r, &req, GAUTH_RECEIVE_IAP, &c, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_receiver_verify(r, &req, (gauth_receive_mode)7, &c, &err),
               GAUTH_E_INVALID_ARG);
  req.version = 9;
  cr_assert_eq(gauth_receiver_verify(r, &req, GAUTH_RECEIVE_BEARER, &c, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(
      gauth_receiver_verify(NULL, &req, GAUTH_RECEIVE_BEARER, &c, &err),
      GAUTH_E_INVALID_ARG);
  gauth_receiver_free(r);
}

Test(receiver_policy, iap_mode_without_header_is_no_credentials) {
  static const char *const iap[] = {"/projects/1/apps/p1", NULL};
  gauth_receiver_options o = GAUTH_RECEIVER_OPTIONS_INIT;
  o.http = loopback();
  gauth_receiver *r = NULL;
  gauth_http_header h[] = {H("Authorization", "Bearer a.b.c")};
  gauth_request req = req_of(h, 1);
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  o.iap_audiences = iap;
  cr_assert_eq(gauth_receiver_new(&r, &o, &err), GAUTH_OK);
  cr_assert_eq(gauth_receiver_verify(r, &req, GAUTH_RECEIVE_IAP, &c, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, GAUTH_REASON_NO_CREDENTIALS);
  cr_assert_eq(err.http_status, 401);
  /* BEARER on an IAP-only receiver is a configuration error */
  cr_assert_eq(gauth_receiver_verify(r, &req, GAUTH_RECEIVE_BEARER, &c, &err),
               GAUTH_E_INVALID_ARG);
  gauth_receiver_free(r);
}

Test(receiver_policy, garbage_in_the_token_is_a_bad_header) {
  /* The characters are checked when the token is refused (lib/receiver.c):
   * through the whole path, the reason is still the header's. */
  static const char *const toks[] = {"abc.def.ghi x", "abc.def.ghi,",
                                     "abc.def\".ghi", "abc. def.ghi"};
  fixture f;
  size_t i;
  make(&f, NULL, NULL, 0);
  for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
    gauth_caller *c = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(run(&f, toks[i], 0, GAUTH_RECEIVE_BEARER, NULL, &c, &err),
                 GAUTH_E_VERIFY);
    cr_assert_str_eq(err.reason, GAUTH_REASON_BAD_AUTH_HEADER, "%s: %s",
                     toks[i], err.message);
    cr_assert_eq(err.http_status, 401);
  }
  gauth_receiver_free(f.r);
}
