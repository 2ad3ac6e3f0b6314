/* The metadata client (gauth/metadata.h) against the emulator fixture over
 * real HTTP: every read, detection by probe, hint and mode, the memo of
 * answers, replies without Metadata-Flavor (from the test server), and the
 * emulator's faults on metadata routes.
 *
 * Each test points GCE_METADATA_HOST / GCE_METADATA_IP where it needs them
 * (ctest points both at a dead port and sets detection to none) and starts
 * from cleared faults and counters. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

#include "config.h"
#include "emu_fixture.h"
#include "metadata_internal.h"
#include "test_server.h"

#define MD "/computeMetadata/v1/"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"

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

/* "127.0.0.1:PORT" of the emulator. */
static const char *emu_hostport(void) {
  return emu_fixture_url() + strlen("http://");
}

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(emu_fixture_url(), path, body, &out);
  cr_assert_eq(st, 200, "%s: %ld %s", path, st, out ? out : "");
  free(out);
}

static void clear_faults(void) {
  emu_reply r;
  emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults", NULL, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  emu_reply_free(&r);
}

static void fault(const char *json) { control("/emulator/v1/faults", json); }

/* Requests the emulator counted on path since the last reset. */
static int counter(const char *path) {
  long v = emu_counter(emu_fixture_url(), path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

/* Metadata host and probe address at the emulator; no hints; fresh
 * faults and counters. */
static void at_emulator(void) {
  setenv("GCE_METADATA_HOST", emu_hostport(), 1);
  setenv("GCE_METADATA_IP", emu_hostport(), 1);
  unsetenv("GAUTH_METADATA_DETECTION");
  unsetenv("K_SERVICE");
  unsetenv("CLOUD_RUN_JOB");
  unsetenv("FUNCTION_TARGET");
  clear_faults();
  control("/emulator/v1/counters:reset", "{}");
}

/* A client under the environment and opts, whose DMI hints come from a
 * directory that does not exist (the machine running the tests might be a
 * Google Compute Engine VM). */
static gauth_metadata *client_opts(const gauth_options *opts) {
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md = NULL;
  cr_assert_eq(gauth__config_init(&cfg, opts, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(gauth__config_set_dmi_dir(&cfg, "/nonexistent/gauth-dmi", &err),
               GAUTH_OK);
  cr_assert_eq(gauth__metadata_new_from_config(&md, &cfg, &err), GAUTH_OK, "%s",
               err.message);
  gauth__config_cleanup(&cfg);
  return md;
}

static gauth_metadata *client(void) { return client_opts(NULL); }

/* Retries fast, so that fault tests stay short. */
static gauth_metadata *fast_retry_client(unsigned int attempts) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.retry.max_attempts = attempts;
  o.retry.initial_backoff_ms = 20;
  o.retry.max_backoff_ms = 50;
  return client_opts(&o);
}

static void detect(gauth_metadata *md, gauth_metadata_detection *d) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_metadata_detect(md, d, &err), GAUTH_OK, "%s", err.message);
}

static void get_is(gauth_metadata *md, const char *path, const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL;
  cr_assert_eq(gauth_metadata_get(md, path, &v, &err), GAUTH_OK, "%s: %s", path,
               err.message);
  cr_expect_str_eq(v, want, "%s", path);
  gauth_free(v);
}

typedef gauth_status (*read_fn)(gauth_metadata *, char **, gauth_error *);

static void read_is(gauth_metadata *md, read_fn fn, const char *what,
                    const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL;
  cr_assert_eq(fn(md, &v, &err), GAUTH_OK, "%s: %s", what, err.message);
  cr_expect_str_eq(v, want, "%s", what);
  gauth_free(v);
}

/* gauth_metadata_get(path) fails with code; returns err for more checks. */
static gauth_error get_fails(gauth_metadata *md, const char *path,
                             gauth_status code) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = (char *)"sentinel";
  gauth_status st = gauth_metadata_get(md, path, &v, &err);
  cr_assert_eq(st, code, "%s: got %s (%s), want %s", path,
               gauth_status_name(st), err.message, gauth_status_name(code));
  cr_assert_eq(err.code, code);
  cr_assert_null(v, "%s: value set on failure", path);
  return err;
}

/* ---- reads --------------------------------------------------------------- */

Test(reads, default_world_values) {
  gauth_metadata *md;
  at_emulator();
  md = client();
  get_is(md, "project/project-id", "demo-project");
  get_is(md, "/project/numeric-project-id", "123456789012");
  get_is(md, "computeMetadata/v1/instance/zone",
         "projects/123456789012/zones/us-central1-a");
  get_is(md, "/computeMetadata/v1/instance/service-accounts/default/email",
         RUNNER);
  get_is(md, "universe/universe-domain", "googleapis.com");
  get_is(md, "instance/service-accounts/", "default/\n" RUNNER "/\n");
  read_is(md, gauth_metadata_project_id, "project id", "demo-project");
  read_is(md, gauth_metadata_project_number, "number", "123456789012");
  read_is(md, gauth_metadata_zone, "zone", "us-central1-a");
  read_is(md, gauth_metadata_universe_domain, "universe", "googleapis.com");
  read_is(md, gauth_metadata_email, "email", RUNNER);
  cr_expect_eq(counter(MD "project/project-id"), 2);
  cr_expect_eq(counter(MD "instance/zone"), 2);
  gauth_metadata_free(md);
}

/* A proxy never carries metadata requests: the server is link-local and
 * its replies hold tokens. Every proxy variable points at a closed port and
 * nothing is exempt; reads and the probe still reach the emulator. */
Test(reads, proxies_are_bypassed) {
  static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "all_proxy",
                                     "ALL_PROXY"};
  gauth_metadata *md;
  gauth_metadata_detection d;
  at_emulator();
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    setenv(vars[i], "http://127.0.0.1:9", 1);
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  md = client();
  get_is(md, "project/project-id", "demo-project");
  detect(md, &d);
  cr_assert_eq(d.present, 1, "%s", d.detail);
  cr_assert_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  gauth_metadata_free(md);
}

Test(reads, query_passed_through) {
  gauth_metadata *md;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL;
  cJSON *o;
  at_emulator();
  md = client();
  cr_assert_eq(gauth_metadata_get(md,
                                  "instance/service-accounts/default/"
                                  "?recursive=true",
                                  &v, &err),
               GAUTH_OK, "%s", err.message);
  o = cJSON_Parse(v);
  cr_assert_not_null(o, "%s", v);
  cr_expect_str_eq(
      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "email")),
      RUNNER);
  cJSON_Delete(o);
  gauth_free(v);
  gauth_metadata_free(md);
}

Test(reads, not_found) {
  gauth_metadata *md;
  gauth_error err;
  at_emulator();
  md = client();
  err = get_fails(md, "instance/no-such-entry", GAUTH_E_NOT_FOUND);
  cr_expect_eq(err.http_status, 404);
  cr_expect_not_null(strstr(err.message, "instance/no-such-entry"), "%s",
                     err.message);
  cr_expect_not_null(strstr(err.message, "404"), "%s", err.message);
  cr_expect_eq(counter(MD "instance/no-such-entry"), 1, "404 retried");
  gauth_metadata_free(md);
}

Test(reads, bad_paths_never_sent) {
  gauth_metadata *md;
  at_emulator();
  md = client();
  get_fails(md, "instance/../project/project-id", GAUTH_E_INVALID_ARG);
  get_fails(md, "project/project-id#x", GAUTH_E_INVALID_ARG);
  get_fails(md, "project/project-id\n", GAUTH_E_INVALID_ARG);
  get_fails(md, NULL, GAUTH_E_INVALID_ARG);
  cr_expect_eq(counter(MD "project/project-id"), 0);
  gauth_metadata_free(md);
}

Test(reads, redirect_not_followed) {
  gauth_metadata *md;
  gauth_error err;
  at_emulator();
  md = client();
  /* ".../default" without a slash: the server answers 301. */
  err = get_fails(md, "instance/service-accounts/default", GAUTH_E_HTTP);
  cr_expect_eq(err.http_status, 301);
  cr_expect_not_null(strstr(err.message, "redirect not followed"), "%s",
                     err.message);
  cr_expect_eq(counter(MD "instance/service-accounts/default/"), 0);
  gauth_metadata_free(md);
}

Test(reads, dead_host_is_a_network_error) {
  gauth_metadata *md;
  gauth_error err;
  at_emulator();
  setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
  md = fast_retry_client(2);
  err = get_fails(md, "project/project-id", GAUTH_E_NETWORK);
  cr_expect_not_null(strstr(err.message, "connection refused"), "%s",
                     err.message);
  gauth_metadata_free(md);
}

/* ---- detection ----------------------------------------------------------- */

Test(detect, probe_finds_the_emulator) {
  gauth_metadata *md;
  gauth_metadata_detection d;
  char want[256];
  at_emulator();
  md = client();
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  snprintf(want, sizeof(want),
           "probe of %s: reply with Metadata-Flavor: Google", emu_hostport());
  cr_expect_str_eq(d.detail, want);
  cr_expect_gt(d.elapsed_us, 0);
  cr_expect_eq(counter("/"), 1);
  /* A present answer is remembered: no second probe. */
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_MEMORY);
  cr_expect_not_null(strstr(d.detail, want), "%s", d.detail);
  cr_expect_eq(counter("/"), 1);
  gauth_metadata_free(md);
}

Test(detect, refused_port_answers_at_once) {
  gauth_metadata *md;
  gauth_metadata_detection d;
  char ip[64], want[128];
  at_emulator();
  snprintf(ip, sizeof(ip), "127.0.0.1:%u", ts_closed_port());
  setenv("GCE_METADATA_IP", ip, 1);
  md = client();
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  snprintf(want, sizeof(want), "probe of %s: connection refused", ip);
  cr_expect_eq(strncmp(d.detail, want, strlen(want)), 0, "%s", d.detail);
  cr_expect_lt(d.elapsed_us, 50000, "%lld us", (long long)d.elapsed_us);
  gauth_metadata_free(md);
}

Test(detect, silent_listener_costs_the_limit) {
  gauth_metadata *md;
  gauth_metadata_detection d;
  ts_raw *raw = ts_raw_start(TS_RAW_SILENT);
  char ip[64], want[128];
  int64_t t0;
  at_emulator();
  snprintf(ip, sizeof(ip), "127.0.0.1:%u", ts_raw_port(raw));
  setenv("GCE_METADATA_IP", ip, 1);
  md = client();
  t0 = mono_ms();
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  snprintf(want, sizeof(want), "probe of %s: no reply within 500 ms", ip);
  cr_expect_str_eq(d.detail, want);
  cr_expect_geq(d.elapsed_us, 450000, "%lld us", (long long)d.elapsed_us);
  cr_expect_leq(d.elapsed_us, 650000, "%lld us", (long long)d.elapsed_us);
  cr_expect_leq(mono_ms() - t0, 650);
  gauth_metadata_free(md);
  ts_raw_stop(raw);
}

Test(detect, hint_needs_no_probe) {
  gauth_metadata *md;
  gauth_metadata_detection d;
  ts_raw *raw = ts_raw_start(TS_RAW_RESET);
  char ip[64];
  at_emulator();
  snprintf(ip, sizeof(ip), "127.0.0.1:%u", ts_raw_port(raw));
  setenv("GCE_METADATA_IP", ip, 1);
  setenv("K_SERVICE", "collector", 1);
  md = client();
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_HINT);
  cr_expect_str_eq(d.detail, "K_SERVICE is set");
  cr_expect_lt(d.elapsed_us, 50000);
  /* Without the hint the same client probes the (resetting) listener. */
  unsetenv("K_SERVICE");
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  cr_expect_eq(ts_raw_accepted(raw), 1, "one probe, not retried");
  gauth_metadata_free(md);
  ts_raw_stop(raw);
}

Test(detect, modes) {
  gauth_metadata *md;
  gauth_metadata_detection d;
  at_emulator();
  /* none: absent, though the emulator would answer a probe. */
  setenv("GAUTH_METADATA_DETECTION", "none", 1);
  md = client();
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_MODE);
  cr_expect_str_eq(d.detail, "GAUTH_METADATA_DETECTION=none");
  gauth_metadata_free(md);
  cr_expect_eq(counter("/"), 0);
  /* assume-present: present, though nothing listens. */
  setenv("GAUTH_METADATA_DETECTION", "assume-present", 1);
  setenv("GCE_METADATA_IP", "127.0.0.1:9", 1);
  md = client();
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_MODE);
  cr_expect_str_eq(d.detail, "GAUTH_METADATA_DETECTION=assume-present");
  gauth_metadata_free(md);
  /* auto, spelled out. */
  setenv("GAUTH_METADATA_DETECTION", "auto", 1);
  setenv("GCE_METADATA_IP", emu_hostport(), 1);
  md = client();
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  gauth_metadata_free(md);
  cr_expect_eq(counter("/"), 1);
}

typedef struct detect_job {
  gauth_metadata *md;
  gauth_metadata_detection d;
  gauth_status st;
} detect_job;

static void *detect_thread(void *arg) {
  detect_job *j = arg;
  j->st = gauth_metadata_detect(j->md, &j->d, NULL);
  return NULL;
}

/* Threads detecting at once share one probe. */
Test(detect, concurrent_callers_share_one_probe) {
  enum { N = 8 };
  pthread_t th[N];
  detect_job jobs[N];
  gauth_metadata *md;
  int probes = 0;
  at_emulator();
  fault("{\"route\":\"/\",\"kind\":\"delay\",\"delay_ms\":100}");
  md = client();
  for (int i = 0; i < N; i++) {
    jobs[i].md = md;
    cr_assert_eq(pthread_create(&th[i], NULL, detect_thread, &jobs[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    cr_expect_eq(jobs[i].st, GAUTH_OK);
    cr_expect_eq(jobs[i].d.present, 1, "thread %d: %s", i, jobs[i].d.detail);
    probes += jobs[i].d.basis == GAUTH_METADATA_BY_PROBE;
  }
  cr_expect_eq(probes, 1);
  cr_expect_eq(counter("/"), 1);
  clear_faults();
  gauth_metadata_free(md);
}

/* An absent answer is remembered for the TTL only; a present one for
 * good. The server first answers without the flavor, then with it. */
Test(detect, negative_answer_expires) {
  ts_server *s = ts_start();
  ts_response seq[2];
  gauth_metadata *md;
  gauth_metadata_detection d;
  char ip[64];
  memset(seq, 0, sizeof(seq));
  seq[0].body = "hello from a proxy";
  seq[1].body = "computeMetadata/\n";
  seq[1].headers[0] = "Metadata-Flavor: Google";
  ts_route(s, "/", seq, 2);
  at_emulator();
  snprintf(ip, sizeof(ip), "127.0.0.1:%u", ts_port(s));
  setenv("GCE_METADATA_IP", ip, 1);
  md = client();
  gauth__metadata_set_negative_ttl_ms(md, 300);
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_MEMORY);
  cr_expect_eq(ts_count(s, "/"), 1);
  sleep_ms(350);
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  cr_expect_eq(ts_count(s, "/"), 2);
  sleep_ms(350);
  detect(md, &d);
  cr_expect_eq(d.present, 1);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_MEMORY);
  cr_expect_eq(ts_count(s, "/"), 2);
  gauth_metadata_free(md);
  ts_stop(s);
}

Test(detect, default_negative_ttl_holds) {
  gauth_metadata *md;
  gauth_metadata_detection d;
  ts_raw *raw = ts_raw_start(TS_RAW_RESET);
  char ip[64];
  at_emulator();
  snprintf(ip, sizeof(ip), "127.0.0.1:%u", ts_raw_port(raw));
  setenv("GCE_METADATA_IP", ip, 1);
  md = client();
  detect(md, &d);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  sleep_ms(300);
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_MEMORY);
  cr_expect_not_null(strstr(d.detail, "remembered from "), "%s", d.detail);
  cr_expect_eq(ts_raw_accepted(raw), 1);
  gauth_metadata_free(md);
  ts_raw_stop(raw);
}

/* ---- replies without Metadata-Flavor ------------------------------------- */

Test(flavor, reply_without_it_is_refused) {
  ts_server *s = ts_start();
  ts_response ok = {0}, err404 = {0};
  ts_request seen;
  gauth_metadata *md;
  gauth_metadata_detection d;
  gauth_error err;
  char hp[64], want[128];
  ok.body = "demo-project";
  ts_route(s, "/", &ok, 1);
  ts_route(s, MD "project/project-id", &ok, 1);
  err404.status = 404;
  err404.body = "not here";
  ts_route(s, MD "instance/zone", &err404, 1);
  at_emulator();
  snprintf(hp, sizeof(hp), "127.0.0.1:%u", ts_port(s));
  setenv("GCE_METADATA_HOST", hp, 1);
  setenv("GCE_METADATA_IP", hp, 1);
  md = client();

  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_eq(d.basis, GAUTH_METADATA_BY_PROBE);
  snprintf(want, sizeof(want),
           "probe of %s: reply without Metadata-Flavor: Google (HTTP 200)", hp);
  cr_expect_str_eq(d.detail, want);

  err = get_fails(md, "project/project-id", GAUTH_E_BAD_RESPONSE);
  cr_expect_eq(err.http_status, 200);
  cr_expect_not_null(strstr(err.message,
                            "without Metadata-Flavor: Google: "
                            "something other than the "
                            "metadata server answered"),
                     "%s", err.message);
  cr_expect_not_null(strstr(err.message, hp), "%s", err.message);
  /* The request carried the flavor. */
  cr_assert(ts_last_request(s, MD "project/project-id", &seen));
  cr_expect_not_null(strstr(seen.headers, "Metadata-Flavor: Google"), "%s",
                     seen.headers);
  ts_request_cleanup(&seen);

  /* An error reply without it is refused the same way. */
  err = get_fails(md, "instance/zone", GAUTH_E_BAD_RESPONSE);
  cr_expect_eq(err.http_status, 404);
  cr_expect_not_null(strstr(err.message,
                            "(HTTP 404) without "
                            "Metadata-Flavor"),
                     "%s", err.message);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* The flavor must be exactly "Google". */
Test(flavor, wrong_value_is_refused) {
  ts_server *s = ts_start();
  ts_response r = {0};
  gauth_metadata *md;
  char hp[64];
  r.body = "demo-project";
  r.headers[0] = "Metadata-Flavor: google-ish";
  ts_route(s, MD "project/project-id", &r, 1);
  at_emulator();
  snprintf(hp, sizeof(hp), "127.0.0.1:%u", ts_port(s));
  setenv("GCE_METADATA_HOST", hp, 1);
  md = client();
  get_fails(md, "project/project-id", GAUTH_E_BAD_RESPONSE);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* A 503 that does carry the flavor is the server's own failure. */
Test(flavor, server_error_with_flavor) {
  ts_server *s = ts_start();
  ts_response r = {0};
  gauth_metadata *md;
  gauth_error err;
  char hp[64];
  r.status = 503;
  r.body = "busy";
  r.headers[0] = "Metadata-Flavor: Google";
  ts_route(s, MD "project/project-id", &r, 1);
  at_emulator();
  snprintf(hp, sizeof(hp), "127.0.0.1:%u", ts_port(s));
  setenv("GCE_METADATA_HOST", hp, 1);
  md = fast_retry_client(3);
  err = get_fails(md, "project/project-id", GAUTH_E_UNAVAILABLE);
  cr_expect_eq(err.http_status, 503);
  cr_expect_eq(ts_count(s, MD "project/project-id"), 3);
  gauth_metadata_free(md);
  ts_stop(s);
}

/* ---- faults on the emulator's metadata routes ---------------------------- */

#define PID_ROUTE MD "project/project-id"

Test(faults, status_503_once_is_retried) {
  gauth_metadata *md;
  at_emulator();
  fault("{\"route\":\"" PID_ROUTE
        "\",\"kind\":\"status\",\"status\":503,"
        "\"count\":1}");
  md = fast_retry_client(4);
  get_is(md, "project/project-id", "demo-project");
  cr_expect_eq(counter(PID_ROUTE), 2);
  gauth_metadata_free(md);
}

Test(faults, status_429_retry_after_is_honoured) {
  gauth_metadata *md;
  int64_t t0;
  at_emulator();
  fault("{\"route\":\"" PID_ROUTE
        "\",\"kind\":\"status\",\"status\":429,"
        "\"retry_after\":1,\"count\":1}");
  md = fast_retry_client(4);
  t0 = mono_ms();
  get_is(md, "project/project-id", "demo-project");
  cr_expect_geq(mono_ms() - t0, 950, "Retry-After ignored");
  cr_expect_eq(counter(PID_ROUTE), 2);
  gauth_metadata_free(md);
}

/* The emulator's fault replies do not carry Metadata-Flavor: once the
 * retries are spent, the last reply is refused as not the server's, its
 * status kept. */
Test(faults, persistent_503_is_refused_with_its_status) {
  gauth_metadata *md;
  gauth_error err;
  at_emulator();
  fault("{\"route\":\"" PID_ROUTE "\",\"kind\":\"status\",\"status\":503}");
  md = fast_retry_client(3);
  err = get_fails(md, "project/project-id", GAUTH_E_UNAVAILABLE);
  cr_expect_eq(err.http_status, 503);
  cr_expect_not_null(strstr(err.message, "3 attempts"), "%s", err.message);
  cr_expect_eq(counter(PID_ROUTE), 3);
  gauth_metadata_free(md);
}

Test(faults, reset) {
  gauth_metadata *md;
  gauth_error err;
  at_emulator();
  fault("{\"route\":\"" PID_ROUTE "\",\"kind\":\"reset\",\"count\":1}");
  md = fast_retry_client(3);
  get_is(md, "project/project-id", "demo-project");
  cr_expect_eq(counter(PID_ROUTE), 2);
  gauth_metadata_free(md);
  /* A fresh client: libcurl itself retries a request once when a reused
   * connection dies, which would blur the count. */
  control("/emulator/v1/counters:reset", "{}");
  md = fast_retry_client(3);
  fault("{\"route\":\"" PID_ROUTE "\",\"kind\":\"reset\"}");
  err = get_fails(md, "project/project-id", GAUTH_E_NETWORK);
  cr_expect_not_null(strstr(err.message, "without a reply"), "%s", err.message);
  cr_expect_not_null(strstr(err.message, "3 attempts"), "%s", err.message);
  cr_expect_eq(counter(PID_ROUTE), 3, "%d requests", counter(PID_ROUTE));
  gauth_metadata_free(md);
}

Test(faults, truncated_body) {
  gauth_metadata *md;
  gauth_error err;
  at_emulator();
  fault("{\"route\":\"" MD
        "instance/service-accounts/default/email\","
        "\"kind\":\"truncate\"}");
  md = fast_retry_client(2);
  err =
      get_fails(md, "instance/service-accounts/default/email", GAUTH_E_NETWORK);
  cr_expect_not_null(strstr(err.message, "cut short"), "%s", err.message);
  gauth_metadata_free(md);
}

Test(faults, oversized_reply) {
  gauth_metadata *md;
  gauth_error err;
  at_emulator();
  fault("{\"route\":\"" PID_ROUTE "\",\"kind\":\"oversized\"}");
  md = fast_retry_client(3);
  err = get_fails(md, "project/project-id", GAUTH_E_TOO_LARGE);
  cr_expect_not_null(strstr(err.message, "larger than the limit"), "%s",
                     err.message);
  cr_expect_eq(counter(PID_ROUTE), 1, "a too-large reply is not retried");
  gauth_metadata_free(md);
}

Test(faults, delayed_probe_is_absent) {
  gauth_metadata *md;
  gauth_metadata_detection d;
  at_emulator();
  fault("{\"route\":\"/\",\"kind\":\"delay\",\"delay_ms\":1500,\"count\":1}");
  md = client();
  detect(md, &d);
  cr_expect_eq(d.present, 0);
  cr_expect_not_null(strstr(d.detail, "no reply within 500 ms"), "%s",
                     d.detail);
  cr_expect_leq(d.elapsed_us, 650000);
  gauth_metadata_free(md);
}
