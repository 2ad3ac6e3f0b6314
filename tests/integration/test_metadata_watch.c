/* Custom metadata and watches (gauth/metadata.h) over real HTTP on
 * 127.0.0.1: against the scripted test server (a server that ignores
 * wait_for_change, a long-poll that never answers, 503s, a listener that
 * never accepts), where the test decides every reply; and against the
 * emulator fixture (attributes from its world, changes through its control
 * API waking a long-poll, its faults).
 *
 * Timing bounds are loose where a loaded machine could stretch them, and
 * tight where the point is promptness (a cancel under 500 ms). */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "test_server.h"

#define FLAVOR "Metadata-Flavor: Google"

/* ---- helpers ------------------------------------------------------------ */

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* A client of the metadata server at hostport, retrying fast. */
static gauth_metadata *client_at(const char *hostport, unsigned int attempts,
                                 unsigned int backoff_ms) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md = NULL;
  o.metadata_host = hostport;
  o.retry.max_attempts = attempts;
  o.retry.initial_backoff_ms = backoff_ms;
  o.retry.max_backoff_ms = backoff_ms;
  cr_assert_eq(gauth_metadata_new(&md, &o, &err), GAUTH_OK, "%s", err.message);
  return md;
}

static gauth_metadata *client_ts(ts_server *s, unsigned int attempts,
                                 unsigned int backoff_ms) {
  char hp[64];
  snprintf(hp, sizeof(hp), "127.0.0.1:%u", ts_port(s));
  return client_at(hp, attempts, backoff_ms);
}

static gauth_metadata_watch *watch(gauth_metadata *md, const char *path) {
  gauth_metadata_watch *w = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_metadata_watch_new(md, path, &w, &err), GAUTH_OK, "%s",
               err.message);
  return w;
}

/* next() succeeds with want (NULL: any value) and changed; returns the
 * time it took in ms. */
static int64_t next_is(gauth_metadata_watch *w, unsigned int secs,
                       const char *want, int want_changed) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL;
  int changed = -1;
  int64_t t0 = mono_ms();
  gauth_status st = gauth_metadata_watch_next(w, secs, &v, &changed, &err);
  int64_t took = mono_ms() - t0;
  cr_assert_eq(st, GAUTH_OK, "next: %s (%s)", gauth_status_name(st),
               err.message);
  cr_assert_not_null(v);
  if (want != NULL) cr_expect_str_eq(v, want);
  cr_expect_eq(changed, want_changed, "changed %d, want %d (value %s)", changed,
               want_changed, v);
  gauth_free(v);
  return took;
}

/* A 200 reply with the flavor and an ETag. */
static ts_response reply(const char *body, const char *etag_header) {
  ts_response r;
  memset(&r, 0, sizeof(r));
  r.body = body;
  r.headers[0] = FLAVOR;
  r.headers[1] = etag_header;
  return r;
}

/* A thread blocked in next(), for cancellation. */
typedef struct next_job {
  gauth_metadata_watch *w;
  unsigned int secs;
  gauth_status st;
  gauth_error err;
  int64_t returned_at;
} next_job;

static void *next_thread(void *arg) {
  next_job *j = arg;
  char *v = NULL;
  int changed = 0;
  j->st = gauth_metadata_watch_next(j->w, j->secs, &v, &changed, &j->err);
  j->returned_at = mono_ms();
  gauth_free(v);
  return NULL;
}

/* Starts next() in a thread, lets it block for block_ms, cancels, and
 * returns how long the cancelled call took to return. */
static int64_t cancel_after(gauth_metadata_watch *w, unsigned int secs,
                            long block_ms) {
  pthread_t th;
  next_job j;
  int64_t cancelled_at;
  memset(&j, 0, sizeof(j));
  j.w = w;
  j.secs = secs;
  cr_assert_eq(pthread_create(&th, NULL, next_thread, &j), 0);
  sleep_ms(block_ms);
  cr_assert_eq(j.returned_at, 0, "next() returned before the cancel: %s",
               j.err.message);
  cancelled_at = mono_ms();
  gauth_metadata_watch_cancel(w);
  pthread_join(th, NULL);
  cr_expect_eq(j.st, GAUTH_E_CANCELLED, "%s (%s)", gauth_status_name(j.st),
               j.err.message);
  cr_expect_eq(j.err.code, GAUTH_E_CANCELLED);
  return j.returned_at - cancelled_at;
}

/* ---- against the scripted server ----------------------------------------- */

/* The first call is a plain read; later ones long-poll with the ETag. */
Test(watch_ts, first_call_then_long_poll_with_the_etag) {
  ts_server *s = ts_start();
  ts_response seq[2];
  ts_request rq;
  gauth_metadata *md;
  gauth_metadata_watch *w;
  seq[0] = reply("blue", "ETag: e-1");
  seq[1] = reply("green", "ETag: e-2");
  ts_route(s, "/computeMetadata/v1/instance/attributes/color", seq, 2);
  md = client_ts(s, 3, 10);
  w = watch(md, "instance/attributes/color");
  next_is(w, 5, "blue", 1);
  cr_expect_str_eq(gauth_metadata_watch_etag(w), "e-1");
  cr_assert(
      ts_last_request(s, "/computeMetadata/v1/instance/attributes/color", &rq));
  cr_expect_str_eq(rq.url, "/computeMetadata/v1/instance/attributes/color");
  cr_expect(strstr(rq.headers, "metadata-flavor: Google") != NULL ||
                strstr(rq.headers, "Metadata-Flavor: Google") != NULL,
            "%s", rq.headers);
  ts_request_cleanup(&rq);
  next_is(w, 5, "green", 1);
  cr_expect_str_eq(gauth_metadata_watch_etag(w), "e-2");
  cr_assert(
      ts_last_request(s, "/computeMetadata/v1/instance/attributes/color", &rq));
  cr_expect_str_eq(rq.url,
                   "/computeMetadata/v1/instance/attributes/color?wait_for_"
                   "change=true&last_etag=e-1&timeout_sec=5");
  ts_request_cleanup(&rq);
  cr_expect_eq(ts_count(s, NULL), 2);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* A server that ignores wait_for_change answers at once with the same
 * ETag: next() still takes its timeout and returns the value unchanged,
 * asking about once a second, not in a loop. */
Test(watch_ts, server_ignoring_wait_for_change_is_not_spun_against) {
  ts_server *s = ts_start();
  ts_response r = reply("steady", "ETag: same");
  gauth_metadata *md;
  gauth_metadata_watch *w;
  int64_t took;
  unsigned int n;
  ts_route(s, "/computeMetadata/v1/project/attributes/k", &r, 1);
  md = client_ts(s, 3, 10);
  w = watch(md, "project/attributes/k");
  next_is(w, 3, "steady", 1);
  took = next_is(w, 3, "steady", 0);
  n = ts_count(s, NULL);
  cr_expect(took >= 1900 && took <= 3500, "took %lld ms", (long long)took);
  cr_expect(n >= 2 && n <= 5, "%u requests for a 3 s call", n);
  /* A caller looping on short calls is paced too. */
  for (int i = 0; i < 3; i++) next_is(w, 1, "steady", 0);
  n = ts_count(s, NULL) - n;
  cr_expect(n <= 4, "%u requests for three 1 s calls", n);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* A server that holds the long-poll and never answers: cancel from
 * another thread returns at once. */
Test(watch_ts, cancel_while_the_server_holds_the_long_poll) {
  ts_server *s = ts_start();
  ts_response seq[2];
  gauth_metadata *md;
  gauth_metadata_watch *w;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = (char *)"sentinel";
  int changed = 9;
  int64_t took;
  seq[0] = reply("v1", "ETag: e1");
  memset(&seq[1], 0, sizeof(seq[1]));
  seq[1].kind = TS_HANG;
  ts_route(s, "/computeMetadata/v1/instance/attributes/k", seq, 2);
  md = client_ts(s, 3, 10);
  w = watch(md, "instance/attributes/k");
  next_is(w, 60, "v1", 1);
  took = cancel_after(w, 60, 300);
  cr_expect(took < 500, "cancel took %lld ms", (long long)took);
  /* And every later call, at once, with no request. */
  cr_expect_eq(gauth_metadata_watch_next(w, 60, &v, &changed, &err),
               GAUTH_E_CANCELLED);
  cr_expect_null(v);
  cr_expect_eq(changed, 0);
  cr_expect_eq(ts_count(s, NULL), 2);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* A cancel during the wait between two attempts (after a 503, with a
 * long backoff) ends the wait. */
Test(watch_ts, cancel_during_the_backoff) {
  ts_server *s = ts_start();
  ts_response seq[2];
  gauth_metadata *md;
  gauth_metadata_watch *w;
  int64_t took;
  seq[0] = reply("v1", "ETag: e1");
  seq[1] = reply("busy", NULL);
  seq[1].status = 503;
  ts_route(s, "/computeMetadata/v1/instance/attributes/k", seq, 2);
  md = client_ts(s, 5, 5000);
  w = watch(md, "instance/attributes/k");
  next_is(w, 30, "v1", 1);
  took = cancel_after(w, 30, 400);
  cr_expect(took < 500, "cancel took %lld ms", (long long)took);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* A listener that never accepts: the first read hangs in the transfer;
 * cancel ends it. */
Test(watch_ts, cancel_a_first_read_that_gets_no_reply) {
  ts_raw *r = ts_raw_start(TS_RAW_SILENT);
  gauth_metadata *md;
  gauth_metadata_watch *w;
  char hp[64];
  int64_t took;
  snprintf(hp, sizeof(hp), "127.0.0.1:%u", ts_raw_port(r));
  md = client_at(hp, 1, 10);
  w = watch(md, "instance/attributes/k");
  took = cancel_after(w, 5, 300);
  cr_expect(took < 500, "cancel took %lld ms", (long long)took);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_raw_stop(r);
}

/* 503s during a long-poll are retried per the policy; the change then
 * comes through. */
Test(watch_ts, status_503_is_retried) {
  ts_server *s = ts_start();
  ts_response seq[4];
  gauth_metadata *md;
  gauth_metadata_watch *w;
  seq[0] = reply("v1", "ETag: e1");
  seq[1] = reply("busy", NULL);
  seq[1].status = 503;
  seq[2] = seq[1];
  seq[3] = reply("v2", "ETag: e2");
  ts_route(s, "/computeMetadata/v1/instance/attributes/k", seq, 4);
  md = client_ts(s, 4, 20);
  w = watch(md, "instance/attributes/k");
  next_is(w, 10, "v1", 1);
  next_is(w, 10, "v2", 1);
  cr_expect_eq(ts_count(s, NULL), 4);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* After the retries run out: the error, and the watch goes on from its
 * ETag on the next call. */
Test(watch_ts, error_keeps_the_etag) {
  ts_server *s = ts_start();
  ts_response seq[4];
  ts_request rq;
  gauth_metadata *md;
  gauth_metadata_watch *w;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL;
  int changed = 0;
  seq[0] = reply("v1", "ETag: e1");
  seq[1] = reply("busy", NULL);
  seq[1].status = 503;
  seq[2] = seq[1];
  seq[3] = reply("v2", "ETag: e2");
  ts_route(s, "/computeMetadata/v1/instance/attributes/k", seq, 4);
  md = client_ts(s, 2, 10);
  w = watch(md, "instance/attributes/k");
  next_is(w, 10, "v1", 1);
  cr_expect_eq(gauth_metadata_watch_next(w, 10, &v, &changed, &err),
               GAUTH_E_UNAVAILABLE, "%s", err.message);
  cr_expect_null(v);
  cr_expect_str_eq(gauth_metadata_watch_etag(w), "e1");
  next_is(w, 10, "v2", 1);
  cr_assert(
      ts_last_request(s, "/computeMetadata/v1/instance/attributes/k", &rq));
  cr_expect(strstr(rq.url, "last_etag=e1") != NULL, "%s", rq.url);
  ts_request_cleanup(&rq);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* A deleted entry: GAUTH_E_NOT_FOUND, and the watch starts over. */
Test(watch_ts, deleted_entry_is_not_found) {
  ts_server *s = ts_start();
  ts_response seq[3];
  gauth_metadata *md;
  gauth_metadata_watch *w;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL;
  int changed = 0;
  seq[0] = reply("v1", "ETag: e1");
  seq[1] = reply("gone", NULL);
  seq[1].status = 404;
  seq[2] = reply("back", "ETag: e3");
  ts_route(s, "/computeMetadata/v1/instance/attributes/k", seq, 3);
  md = client_ts(s, 2, 10);
  w = watch(md, "instance/attributes/k");
  next_is(w, 10, "v1", 1);
  cr_expect_eq(gauth_metadata_watch_next(w, 10, &v, &changed, &err),
               GAUTH_E_NOT_FOUND, "%s", err.message);
  cr_expect_null(gauth_metadata_watch_etag(w));
  next_is(w, 10, "back", 1);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* A reply without the flavor is refused in a watch too. */
Test(watch_ts, reply_without_flavor_is_refused) {
  ts_server *s = ts_start();
  ts_response r;
  gauth_metadata *md;
  gauth_metadata_watch *w;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL;
  int changed = 0;
  memset(&r, 0, sizeof(r));
  r.body = "captive portal";
  ts_route(s, "/computeMetadata/v1/instance/attributes/k", &r, 1);
  md = client_ts(s, 2, 10);
  w = watch(md, "instance/attributes/k");
  cr_expect_eq(gauth_metadata_watch_next(w, 10, &v, &changed, &err),
               GAUTH_E_BAD_RESPONSE, "%s", err.message);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* attributes_json: an object of strings is returned as is; anything else
 * is refused; a missing directory is "{}". */
Test(attributes_ts, json_checked) {
  ts_server *s = ts_start();
  ts_response ok = reply("{\"a\":\"1\",\"b\":\"two\"}", NULL);
  ts_response bad = reply("{\"a\":1}", NULL);
  ts_request rq;
  gauth_metadata *md;
  gauth_error err = GAUTH_ERROR_INIT;
  char *j = NULL;
  ts_route(s, "/computeMetadata/v1/project/attributes/", &ok, 1);
  ts_route(s, "/computeMetadata/v1/instance/attributes/", &bad, 1);
  md = client_ts(s, 1, 10);
  cr_assert_eq(
      gauth_metadata_attributes_json(md, GAUTH_METADATA_PROJECT, &j, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(j, "{\"a\":\"1\",\"b\":\"two\"}");
  gauth_free(j);
  cr_assert(ts_last_request(s, "/computeMetadata/v1/project/attributes/", &rq));
  cr_expect_str_eq(rq.url,
                   "/computeMetadata/v1/project/attributes/"
                   "?recursive=true&alt=json");
  ts_request_cleanup(&rq);
  cr_expect_eq(
      gauth_metadata_attributes_json(md, GAUTH_METADATA_INSTANCE, &j, &err),
      GAUTH_E_BAD_RESPONSE);
  cr_expect_null(j);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* ---- against the emulator ------------------------------------------------ */

#define ATTR_ROUTE "/computeMetadata/v1/instance/attributes/mode"

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(emu_fixture_url(), path, body, &out);
  cr_assert_eq(st, 200, "%s: %ld %s", path, st, out ? out : "");
  free(out);
}

static void set_attributes(const char *json) {
  control("/emulator/v1/metadata", json);
}

/* The attributes these tests set, removed (the fixture is shared). */
static void forget_attributes(void) {
  set_attributes(
      "{\"project_attributes\":{\"team\":null,\"empty\":null},"
      "\"instance_attributes\":{\"mode\":null,\"size\":null}}");
}

static void at_emulator(void) {
  emu_reply r;
  emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults", NULL, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  emu_reply_free(&r);
  control("/emulator/v1/counters:reset", "{}");
  forget_attributes();
}

static gauth_metadata *emu_client(unsigned int attempts) {
  return client_at(emu_fixture_url() + strlen("http://"), attempts, 20);
}

static void fault(const char *json) { control("/emulator/v1/faults", json); }

static int counter(const char *path) {
  long v = emu_counter(emu_fixture_url(), path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

static void attribute_is(gauth_metadata *md, gauth_metadata_scope scope,
                         const char *key, const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL;
  cr_assert_eq(gauth_metadata_attribute(md, scope, key, &v, &err), GAUTH_OK,
               "%s: %s", key, err.message);
  cr_expect_str_eq(v, want, "%s", key);
  gauth_free(v);
}

Test(attributes_emu, present_absent_and_refused) {
  gauth_metadata *md;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = (char *)"sentinel";
  at_emulator();
  set_attributes(
      "{\"project_attributes\":{\"team\":\"storage\",\"empty\":"
      "\"\"},\"instance_attributes\":{\"mode\":\"blue\\nline 2\"}}");
  md = emu_client(2);
  attribute_is(md, GAUTH_METADATA_PROJECT, "team", "storage");
  attribute_is(md, GAUTH_METADATA_PROJECT, "empty", "");
  attribute_is(md, GAUTH_METADATA_INSTANCE, "mode", "blue\nline 2");
  /* Each scope is its own: no project "mode", no instance "team". */
  cr_expect_eq(
      gauth_metadata_attribute(md, GAUTH_METADATA_PROJECT, "mode", &v, &err),
      GAUTH_E_NOT_FOUND, "%s", err.message);
  cr_expect_null(v);
  cr_expect_eq(err.http_status, 404);
  cr_expect_eq(
      gauth_metadata_attribute(md, GAUTH_METADATA_INSTANCE, "team", &v, &err),
      GAUTH_E_NOT_FOUND, "%s", err.message);
  /* A key Google would refuse never leaves. */
  cr_expect_eq(gauth_metadata_attribute(md, GAUTH_METADATA_INSTANCE,
                                        "../project/project-id", &v, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(counter("/computeMetadata/v1/project/project-id"), 0);
  gauth_metadata_free(md);
  forget_attributes();
}

Test(attributes_emu, json_of_each_scope) {
  gauth_metadata *md;
  gauth_error err = GAUTH_ERROR_INIT;
  char *j = NULL;
  cJSON *o;
  at_emulator();
  md = emu_client(2);
  cr_assert_eq(
      gauth_metadata_attributes_json(md, GAUTH_METADATA_INSTANCE, &j, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(j, "{}");
  gauth_free(j);
  set_attributes(
      "{\"project_attributes\":{\"team\":\"storage\",\"empty\":"
      "\"\"},\"instance_attributes\":{\"mode\":\"blue\"}}");
  cr_assert_eq(
      gauth_metadata_attributes_json(md, GAUTH_METADATA_PROJECT, &j, &err),
      GAUTH_OK, "%s", err.message);
  o = cJSON_Parse(j);
  cr_assert_not_null(o, "%s", j);
  cr_expect_str_eq(cJSON_GetObjectItem(o, "team")->valuestring, "storage");
  cr_expect_str_eq(cJSON_GetObjectItem(o, "empty")->valuestring, "");
  cr_expect_null(cJSON_GetObjectItem(o, "mode"));
  cJSON_Delete(o);
  gauth_free(j);
  cr_assert_eq(
      gauth_metadata_attributes_json(md, GAUTH_METADATA_INSTANCE, &j, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect_str_eq(j, "{\"mode\":\"blue\"}");
  gauth_free(j);
  cr_expect_eq(counter("/computeMetadata/v1/instance/attributes/"), 2);
  gauth_metadata_free(md);
  forget_attributes();
}

/* A change through the control API while next() waits. */
typedef struct later_change {
  long after_ms;
  const char *json;
} later_change;

static void *change_later(void *arg) {
  later_change *c = arg;
  char *out = NULL;
  sleep_ms(c->after_ms);
  emu_control(emu_fixture_url(), "/emulator/v1/metadata", c->json, &out);
  free(out);
  return NULL;
}

Test(watch_emu, change_wakes_the_long_poll) {
  gauth_metadata *md;
  gauth_metadata_watch *w;
  later_change c = {400, "{\"instance_attributes\":{\"mode\":\"green\"}}"};
  pthread_t th;
  char first_etag[128];
  int64_t took;
  at_emulator();
  set_attributes("{\"instance_attributes\":{\"mode\":\"blue\"}}");
  md = emu_client(2);
  w = watch(md, "instance/attributes/mode");
  took = next_is(w, 30, "blue", 1);
  cr_expect(took < 1000, "the first call took %lld ms", (long long)took);
  cr_assert_not_null(gauth_metadata_watch_etag(w));
  snprintf(first_etag, sizeof(first_etag), "%s", gauth_metadata_watch_etag(w));
  cr_assert_eq(pthread_create(&th, NULL, change_later, &c), 0);
  took = next_is(w, 30, "green", 1);
  pthread_join(th, NULL);
  cr_expect(took >= 300 && took < 5000, "woken after %lld ms", (long long)took);
  cr_expect_str_neq(gauth_metadata_watch_etag(w), first_etag);
  /* One plain read and one long-poll: the change came by the long-poll. */
  cr_expect_eq(counter(ATTR_ROUTE), 2);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  forget_attributes();
}

/* A change made between two calls is returned at once by the next one
 * (the ETag sent is the old value's). */
Test(watch_emu, change_between_calls_is_not_missed) {
  gauth_metadata *md;
  gauth_metadata_watch *w;
  int64_t took;
  at_emulator();
  set_attributes("{\"instance_attributes\":{\"mode\":\"blue\"}}");
  md = emu_client(2);
  w = watch(md, "instance/attributes/mode");
  next_is(w, 30, "blue", 1);
  set_attributes("{\"instance_attributes\":{\"mode\":\"red\"}}");
  took = next_is(w, 30, "red", 1);
  cr_expect(took < 1500, "took %lld ms", (long long)took);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  forget_attributes();
}

Test(watch_emu, timeout_returns_the_unchanged_value) {
  gauth_metadata *md;
  gauth_metadata_watch *w;
  int64_t took;
  at_emulator();
  set_attributes("{\"instance_attributes\":{\"mode\":\"blue\"}}");
  md = emu_client(2);
  w = watch(md, "instance/attributes/mode");
  next_is(w, 30, "blue", 1);
  took = next_is(w, 2, "blue", 0);
  cr_expect(took >= 1800 && took < 4500, "took %lld ms", (long long)took);
  /* The emulator held it: one long-poll, not a loop. */
  cr_expect_eq(counter(ATTR_ROUTE), 2);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  forget_attributes();
}

Test(watch_emu, cancel_while_the_emulator_holds) {
  gauth_metadata *md;
  gauth_metadata_watch *w;
  int64_t took;
  at_emulator();
  set_attributes("{\"instance_attributes\":{\"mode\":\"blue\"}}");
  md = emu_client(2);
  w = watch(md, "instance/attributes/mode");
  next_is(w, 30, "blue", 1);
  took = cancel_after(w, 60, 300);
  cr_expect(took < 500, "cancel took %lld ms", (long long)took);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  forget_attributes();
}

Test(watch_emu, status_503_is_retried) {
  gauth_metadata *md;
  gauth_metadata_watch *w;
  later_change c = {300, "{\"instance_attributes\":{\"mode\":\"green\"}}"};
  pthread_t th;
  at_emulator();
  set_attributes("{\"instance_attributes\":{\"mode\":\"blue\"}}");
  md = emu_client(4);
  w = watch(md, "instance/attributes/mode");
  next_is(w, 30, "blue", 1);
  fault("{\"route\":\"" ATTR_ROUTE
        "\",\"kind\":\"status\",\"status\":503,\"count\":1}");
  cr_assert_eq(pthread_create(&th, NULL, change_later, &c), 0);
  next_is(w, 30, "green", 1);
  pthread_join(th, NULL);
  cr_expect_eq(counter(ATTR_ROUTE), 3);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  forget_attributes();
}

/* A directory: its recursive JSON, woken by a change to any key. */
Test(watch_emu, directory_is_watched_as_json) {
  gauth_metadata *md;
  gauth_metadata_watch *w;
  later_change c = {300, "{\"instance_attributes\":{\"size\":\"large\"}}"};
  pthread_t th;
  at_emulator();
  set_attributes("{\"instance_attributes\":{\"mode\":\"blue\"}}");
  md = emu_client(2);
  w = watch(md, "instance/attributes/");
  next_is(w, 30, "{\"mode\":\"blue\"}", 1);
  cr_assert_eq(pthread_create(&th, NULL, change_later, &c), 0);
  next_is(w, 30, "{\"mode\":\"blue\",\"size\":\"large\"}", 1);
  pthread_join(th, NULL);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  forget_attributes();
}

/* Deleted while watched: GAUTH_E_NOT_FOUND. */
Test(watch_emu, deletion_is_not_found) {
  gauth_metadata *md;
  gauth_metadata_watch *w;
  gauth_error err = GAUTH_ERROR_INIT;
  later_change c = {300, "{\"instance_attributes\":{\"mode\":null}}"};
  pthread_t th;
  char *v = NULL;
  int changed = 0;
  at_emulator();
  set_attributes("{\"instance_attributes\":{\"mode\":\"blue\"}}");
  md = emu_client(2);
  w = watch(md, "instance/attributes/mode");
  next_is(w, 30, "blue", 1);
  cr_assert_eq(pthread_create(&th, NULL, change_later, &c), 0);
  cr_expect_eq(gauth_metadata_watch_next(w, 30, &v, &changed, &err),
               GAUTH_E_NOT_FOUND, "%s", err.message);
  pthread_join(th, NULL);
  cr_expect_null(v);
  gauth_metadata_watch_free(w);
  gauth_metadata_free(md);
  forget_attributes();
}
