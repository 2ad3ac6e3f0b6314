/* lib/iam.c without a network: permission names, the permission list, the
 * result object, testIamPermissions replies, the wait schedule, and the
 * wait loop driven by a fake check, clock and sleep. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

#include "iam_internal.h"

/* ---- permission names --------------------------------------------------- */

Test(iam_permission, good_names) {
  static const char *const good[] = {
      "run.jobs.run",
      "iam.serviceAccounts.actAs",
      "resourcemanager.projects.get",
      "storage.objects.get",
      "run.jobs.runWithOverrides",
      "compute.instances.osAdminLogin",
      "a.b.c",
      "s3rvice.r2.v1",
      "a.b.c.d",
  };
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(good); i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    cr_expect_eq(gauth_iam_permission_check(good[i], &err), GAUTH_OK, "%s: %s",
                 good[i], err.message);
  }
}

/* The refusal of a name, with `why` in the message. */
static void expect_bad(const char *p, const char *why) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(gauth_iam_permission_check(p, &err), GAUTH_E_INVALID_ARG,
               "\"%s\" accepted", p ? p : "(null)");
  cr_expect_eq(err.code, GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, why) != NULL, "\"%s\": want \"%s\" in: %s",
            p ? p : "(null)", why, err.message);
}

Test(iam_permission, bad_names) {
  char long_name[140];
  expect_bad(NULL, "NULL");
  expect_bad("", "empty");
  expect_bad("run", "fewer than three parts");
  expect_bad("run.jobs", "fewer than three parts");
  expect_bad("run.jobs.*", "wildcards are not permissions");
  expect_bad("*", "wildcards are not permissions");
  expect_bad("run.*.run", "wildcard");
  expect_bad("run..run", "empty part");
  expect_bad(".run.jobs.run", "empty part");
  expect_bad("run.jobs.run.", "empty part");
  expect_bad("run.jobs.1run", "does not start with a letter");
  expect_bad("1run.jobs.run", "does not start with a letter");
  /* Services are lower case: Run.jobs.run is refused (decided in
   * gauth/iam.h and docs/iam.md). */
  expect_bad("Run.jobs.run", "upper case");
  expect_bad("rUn.jobs.run", "upper case");
  expect_bad("run.jobs. run", "letters, digits and '.'");
  expect_bad("run jobs run", "letters, digits and '.'");
  expect_bad("run.jobs.run\n", "letters, digits and '.'");
  expect_bad("run.jobs-x.run", "letters, digits and '.'");
  expect_bad("run.jobs_x.run", "letters, digits and '.'");
  expect_bad("roles/run.invoker", "letters, digits and '.'");
  memset(long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  long_name[3] = '.';
  long_name[7] = '.';
  expect_bad(long_name, "longer than 128");
  /* 128 bytes exactly is fine. */
  long_name[128] = '\0';
  cr_expect_eq(gauth_iam_permission_check(long_name, NULL), GAUTH_OK);
}

Test(iam_permission, message_names_it_but_not_raw_bytes) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(gauth_iam_permission_check("run.jobs.ru n", &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "\"run.jobs.ru n\"") != NULL, "%s",
            err.message);
  cr_expect_eq(gauth_iam_permission_check("run.jobs.\x1b[2Jx", &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strchr(err.message, '\x1b') == NULL, "%s", err.message);
}

/* ---- the permission list ------------------------------------------------- */

Test(iam_list, distinct_in_order) {
  static const char *const in[] = {"b.c.d", "a.b.c", "b.c.d",
                                   "e.f.g", "a.b.c", NULL};
  const char **out = NULL;
  size_t n = 0;
  cr_assert_eq(gauth__iam_permissions_prepare(in, &out, &n, NULL), GAUTH_OK);
  cr_assert_eq(n, 3u);
  cr_expect_str_eq(out[0], "b.c.d");
  cr_expect_str_eq(out[1], "a.b.c");
  cr_expect_str_eq(out[2], "e.f.g");
  free(out);
}

Test(iam_list, counts_and_bad_names) {
  static const char *const none[] = {NULL};
  static const char *const bad[] = {"run.jobs.run", "run.jobs", NULL};
  const char *many[GAUTH_IAM_MAX_PERMISSIONS + 2];
  const char **out = (const char **)1;
  size_t n = 7;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_expect_eq(gauth__iam_permissions_prepare(NULL, &out, &n, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(out);
  cr_expect_eq(n, 0u);
  cr_expect_eq(gauth__iam_permissions_prepare(none, &out, &n, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "1 to 100") != NULL, "%s", err.message);
  cr_expect_eq(gauth__iam_permissions_prepare(bad, &out, &n, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "\"run.jobs\"") != NULL, "%s", err.message);
  for (size_t i = 0; i < GAUTH_IAM_MAX_PERMISSIONS + 1; i++)
    many[i] = "run.jobs.run";
  many[GAUTH_IAM_MAX_PERMISSIONS + 1] = NULL;
  cr_expect_eq(gauth__iam_permissions_prepare(many, &out, &n, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "too many") != NULL, "%s", err.message);
  many[GAUTH_IAM_MAX_PERMISSIONS] = NULL;
  cr_expect_eq(gauth__iam_permissions_prepare(many, &out, &n, &err), GAUTH_OK);
  cr_expect_eq(n, 1u);
  free(out);
}

/* ---- the result and the reply -------------------------------------------- */

static const char *const ASKED[] = {"run.jobs.run", "run.jobs.get",
                                    "resourcemanager.projects.get"};

static gauth_iam_result *new_result(void) {
  gauth_iam_result *r = NULL;
  cr_assert_eq(
      gauth__iam_result_new("projects/p", "https://x/v1/p", ASKED, 3, &r, NULL),
      GAUTH_OK);
  return r;
}

static gauth_status apply(gauth_iam_result *r, const char *body,
                          gauth_error *err) {
  return gauth__iam_reply_apply(r, body, strlen(body), err);
}

Test(iam_result, new_is_all_missing) {
  gauth_iam_result *r = new_result();
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_OK);
  cr_expect_eq(gauth_iam_result_http_status(r), 200);
  cr_expect_str_eq(gauth_iam_result_detail(r), "");
  cr_expect_str_eq(gauth_iam_result_resource(r), "projects/p");
  cr_expect_str_eq(gauth_iam_result_url(r), "https://x/v1/p");
  cr_expect_eq(gauth_iam_result_count(r), 3u);
  for (size_t i = 0; i < 3; i++) {
    cr_expect_str_eq(gauth_iam_result_permission(r, i), ASKED[i]);
    cr_expect_eq(gauth_iam_result_state(r, i), GAUTH_IAM_MISSING);
  }
  cr_expect_null(gauth_iam_result_permission(r, 3));
  cr_expect_eq(gauth_iam_result_state(r, 3), GAUTH_IAM_UNKNOWN);
  cr_expect_eq(gauth_iam_result_all_granted(r), 0);
  cr_expect_eq(gauth_iam_result_missing_count(r), 3u);
  gauth_iam_result_free(r);
  gauth_iam_result_free(NULL);
}

Test(iam_result, null_getters) {
  cr_expect_eq(gauth_iam_result_count(NULL), 0u);
  cr_expect_str_eq(gauth_iam_result_url(NULL), "");
  cr_expect_str_eq(gauth_iam_result_resource(NULL), "");
  cr_expect_str_eq(gauth_iam_result_detail(NULL), "");
  cr_expect_eq(gauth_iam_result_http_status(NULL), 0);
  cr_expect_eq(gauth_iam_result_all_granted(NULL), 0);
  cr_expect_eq(gauth_iam_result_missing_count(NULL), 0u);
  cr_expect_null(gauth_iam_result_permission(NULL, 0));
}

Test(iam_reply, granted_subset) {
  gauth_iam_result *r = new_result();
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(apply(r,
                     "{\"permissions\":[\"resourcemanager.projects.get\","
                     "\"run.jobs.run\"]}",
                     &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_eq(gauth_iam_result_state(r, 0), GAUTH_IAM_GRANTED);
  cr_expect_eq(gauth_iam_result_state(r, 1), GAUTH_IAM_MISSING);
  cr_expect_eq(gauth_iam_result_state(r, 2), GAUTH_IAM_GRANTED);
  cr_expect_eq(gauth_iam_result_missing_count(r), 1u);
  cr_expect_eq(gauth_iam_result_all_granted(r), 0);
  cr_assert_eq(apply(r,
                     "{\"permissions\":[\"run.jobs.get\",\"run.jobs.run\","
                     "\"resourcemanager.projects.get\",\"run.jobs.get\"],"
                     "\"etag\":\"x\"}",
                     &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_eq(gauth_iam_result_all_granted(r), 1);
  cr_expect_eq(gauth_iam_result_missing_count(r), 0u);
  gauth_iam_result_free(r);
}

Test(iam_reply, absent_member_grants_nothing) {
  static const char *const bodies[] = {
      "{}", " {} ", "{\"permissions\":[]}", "{\"permissions\":null}",
      "{\"kind\":\"storage#testIamPermissionsResponse\"}"};
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(bodies); i++) {
    gauth_iam_result *r = new_result();
    cr_expect_eq(apply(r, bodies[i], NULL), GAUTH_OK, "%s", bodies[i]);
    cr_expect_eq(gauth_iam_result_missing_count(r), 3u, "%s", bodies[i]);
    gauth_iam_result_free(r);
  }
}

Test(iam_reply, bad_replies) {
  static const struct {
    const char *body, *why;
  } cases[] = {
      {"", "not a JSON object"},
      {"[]", "not a JSON object"},
      {"{\"permissions\":[\"run.jobs.run\"", "not a JSON object"},
      {"<html>", "not a JSON object"},
      {"{\"permissions\":\"run.jobs.run\"}", "is a string, expected an array"},
      {"{\"permissions\":{}}", "expected an array"},
      {"{\"permissions\":[1]}", "expected strings"},
      {"{\"permissions\":[\"run.jobs.run\",null]}", "expected strings"},
      {"{\"permissions\":[\"run.jobs.delete\"]}",
       "grants \"run.jobs.delete\", which was not asked"},
      {"{\"permissions\":[\"run.jobs.run\",\"x y\"]}",
       "grants a malformed permission, which was not asked"},
      {"{\"permissions\":[\"a\"],\"permissions\":[]}", "not a JSON object"},
  };
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(cases); i++) {
    gauth_iam_result *r = new_result();
    gauth_error err = GAUTH_ERROR_INIT;
    cr_expect_eq(apply(r, cases[i].body, &err), GAUTH_E_BAD_RESPONSE, "%s",
                 cases[i].body);
    cr_expect(strstr(err.message, cases[i].why) != NULL, "%s: %s",
              cases[i].body, err.message);
    /* A bad reply changes nothing. */
    cr_expect_eq(gauth_iam_result_missing_count(r), 3u, "%s", cases[i].body);
    gauth_iam_result_free(r);
  }
}

Test(iam_result, refused_call) {
  gauth_iam_result *r = new_result();
  cr_assert_eq(apply(r, "{\"permissions\":[\"run.jobs.run\"]}", NULL),
               GAUTH_OK);
  cr_assert_eq(gauth__iam_result_refuse(r, GAUTH_IAM_ACCESS_DENIED, 403,
                                        "PERMISSION_DENIED: no", NULL),
               GAUTH_OK);
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_DENIED);
  cr_expect_eq(gauth_iam_result_http_status(r), 403);
  cr_expect_str_eq(gauth_iam_result_detail(r), "PERMISSION_DENIED: no");
  for (size_t i = 0; i < 3; i++)
    cr_expect_eq(gauth_iam_result_state(r, i), GAUTH_IAM_UNKNOWN);
  cr_expect_eq(gauth_iam_result_missing_count(r), 0u);
  cr_expect_eq(gauth_iam_result_all_granted(r), 0);
  gauth_iam_result_free(r);
}

/* ---- the schedule -------------------------------------------------------- */

static gauth__iam_wait_cfg cfg_of(unsigned timeout, unsigned initial,
                                  unsigned max, double mult) {
  gauth_iam_wait_options o = GAUTH_IAM_WAIT_OPTIONS_INIT;
  gauth__iam_wait_cfg c;
  o.timeout_ms = timeout;
  o.initial_wait_ms = initial;
  o.max_wait_ms = max;
  o.multiplier = mult;
  cr_assert_eq(gauth__iam_wait_resolve(&o, &c, NULL), GAUTH_OK);
  return c;
}

Test(iam_wait, defaults) {
  gauth__iam_wait_cfg c;
  cr_assert_eq(gauth__iam_wait_resolve(NULL, &c, NULL), GAUTH_OK);
  cr_expect_eq(c.timeout_ms, 600000);
  cr_expect_eq(c.initial_ms, 2000);
  cr_expect_eq(c.max_ms, 30000);
  cr_expect(c.multiplier == 2.0);
  cr_expect_null(c.progress);
}

Test(iam_wait, bad_options) {
  gauth_iam_wait_options o = GAUTH_IAM_WAIT_OPTIONS_INIT;
  gauth__iam_wait_cfg c;
  gauth_error err = GAUTH_ERROR_INIT;
  o.version = 7;
  cr_expect_eq(gauth__iam_wait_resolve(&o, &c, &err), GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "version") != NULL, "%s", err.message);
  o.version = GAUTH_IAM_WAIT_OPTIONS_VERSION;
  o.multiplier = 0.5;
  cr_expect_eq(gauth__iam_wait_resolve(&o, &c, &err), GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "multiplier") != NULL, "%s", err.message);
  o.multiplier = NAN;
  cr_expect_eq(gauth__iam_wait_resolve(&o, &c, &err), GAUTH_E_INVALID_ARG);
  o.multiplier = INFINITY;
  cr_expect_eq(gauth__iam_wait_resolve(&o, &c, &err), GAUTH_E_INVALID_ARG);
  o.multiplier = 1.0;
  cr_expect_eq(gauth__iam_wait_resolve(&o, &c, &err), GAUTH_OK);
}

Test(iam_wait, schedule_caps) {
  /* Default: 2 s, 4, 8, 16, then 30 s for ever. */
  gauth__iam_wait_cfg c = cfg_of(0, 0, 0, 0);
  static const int64_t want[] = {2000, 4000, 8000, 16000, 30000, 30000};
  for (unsigned n = 0; n < GAUTH__ARRAY_LEN(want); n++)
    cr_expect_eq(gauth__iam_backoff_ms(&c, n, NULL), want[n], "n=%u", n);
  cr_expect_eq(gauth__iam_backoff_ms(&c, 100000, NULL), 30000);
  /* multiplier 1.5 rounds to the millisecond. */
  c = cfg_of(0, 1000, 5000, 1.5);
  cr_expect_eq(gauth__iam_backoff_ms(&c, 0, NULL), 1000);
  cr_expect_eq(gauth__iam_backoff_ms(&c, 1, NULL), 1500);
  cr_expect_eq(gauth__iam_backoff_ms(&c, 2, NULL), 2250);
  cr_expect_eq(gauth__iam_backoff_ms(&c, 3, NULL), 3375);
  cr_expect_eq(gauth__iam_backoff_ms(&c, 4, NULL), 5000);
  /* An initial wait above the cap is the cap. */
  c = cfg_of(0, 9000, 1000, 0);
  cr_expect_eq(gauth__iam_backoff_ms(&c, 0, NULL), 1000);
}

Test(iam_wait, jitter_in_half_to_full) {
  gauth__iam_wait_cfg c = cfg_of(0, 0, 0, 0);
  uint64_t rng = 42;
  for (unsigned n = 0; n < 6; n++) {
    int64_t cap = gauth__iam_backoff_ms(&c, n, NULL);
    int64_t lo = cap, hi = 0;
    for (int k = 0; k < 2000; k++) {
      int64_t w = gauth__iam_backoff_ms(&c, n, &rng);
      cr_assert(w >= cap / 2 && w <= cap, "n=%u: %lld not in [%lld, %lld]", n,
                (long long)w, (long long)(cap / 2), (long long)cap);
      if (w < lo) lo = w;
      if (w > hi) hi = w;
    }
    /* The draws spread over the range (not a constant). */
    cr_expect(lo < cap / 2 + cap / 20 && hi > cap - cap / 20,
              "n=%u: draws in [%lld, %lld]", n, (long long)lo, (long long)hi);
  }
}

Test(iam_wait, jitter_is_repeatable_with_a_seed) {
  gauth__iam_wait_cfg c = cfg_of(0, 0, 0, 0);
  uint64_t a = 7, b = 7, other = 8;
  int differs = 0;
  for (unsigned n = 0; n < 8; n++) {
    int64_t x = gauth__iam_backoff_ms(&c, n, &a);
    cr_expect_eq(x, gauth__iam_backoff_ms(&c, n, &b));
    differs |= x != gauth__iam_backoff_ms(&c, n, &other);
  }
  cr_expect(differs, "another seed gave the same schedule");
}

Test(iam_wait, transient_statuses) {
  cr_expect(gauth__iam_transient(GAUTH_E_RATE_LIMITED));
  cr_expect(gauth__iam_transient(GAUTH_E_UNAVAILABLE));
  cr_expect(gauth__iam_transient(GAUTH_E_NETWORK));
  cr_expect(gauth__iam_transient(GAUTH_E_TIMEOUT));
  cr_expect(!gauth__iam_transient(GAUTH_OK));
  cr_expect(!gauth__iam_transient(GAUTH_E_UNAUTHENTICATED));
  cr_expect(!gauth__iam_transient(GAUTH_E_PERMISSION_DENIED));
  cr_expect(!gauth__iam_transient(GAUTH_E_BAD_RESPONSE));
  cr_expect(!gauth__iam_transient(GAUTH_E_INVALID_ARG));
}

/* ---- the wait loop, with a fake world ------------------------------------ */

/* What each check answers, in turn (the last repeats). */
typedef struct answer {
  gauth_status st;   /* GAUTH_OK: a result */
  const char *reply; /* for GAUTH_OK: the body, or NULL for a 403 */
  int64_t takes_ms;  /* how long the check takes */
} answer;

typedef struct world {
  const answer *answers;
  size_t n, next;
  int64_t now;
  int64_t slept[64];
  size_t sleeps;
  int64_t check_at[64];
  int64_t check_left[64];
  size_t checks;
  /* progress */
  gauth_iam_progress reports[64];
  size_t nreports;
  int stop_at;              /* stop at this report (1-based); 0: never */
  const char *const *perms; /* asked (NULL: ASKED) */
  size_t nperms;
} world;

static gauth_status fake_check(void *ctx, int64_t left, gauth_iam_result **out,
                               gauth_error *err) {
  world *w = ctx;
  const answer *a = &w->answers[w->next < w->n ? w->next : w->n - 1];
  gauth_status st;
  w->next++;
  cr_assert_lt(w->checks, 64u);
  w->check_at[w->checks] = w->now;
  w->check_left[w->checks++] = left;
  w->now += a->takes_ms;
  if (a->st != GAUTH_OK) {
    gauth_error_clear(err);
    err->code = a->st;
    strcpy(err->message, "HTTP 503 UNAVAILABLE: try later");
    return a->st;
  }
  cr_assert_eq(
      gauth__iam_result_new("projects/p", "u", w->perms ? w->perms : ASKED,
                            w->perms ? w->nperms : 3, out, NULL),
      GAUTH_OK);
  if (a->reply == NULL)
    return gauth__iam_result_refuse(*out, GAUTH_IAM_ACCESS_DENIED, 403,
                                    "PERMISSION_DENIED: hidden", err);
  st = gauth__iam_reply_apply(*out, a->reply, strlen(a->reply), err);
  cr_assert_eq(st, GAUTH_OK);
  return st;
}

static int64_t fake_now(void *ctx) { return ((world *)ctx)->now; }

static void fake_sleep(void *ctx, int64_t ms) {
  world *w = ctx;
  cr_assert_gt(ms, 0);
  cr_assert_lt(w->sleeps, 64u);
  w->slept[w->sleeps++] = ms;
  w->now += ms;
}

static int on_progress(const gauth_iam_progress *p, void *userdata) {
  world *w = userdata;
  cr_assert_lt(w->nreports, 64u);
  w->reports[w->nreports++] = *p;
  /* What the pointers point to is only valid during the call. */
  w->reports[w->nreports - 1].result = NULL;
  w->reports[w->nreports - 1].error = NULL;
  if (p->result != NULL)
    cr_expect_eq(p->status, GAUTH_OK);
  else
    cr_expect(p->error != NULL && p->error->code == p->status);
  return w->stop_at != 0 && (size_t)w->stop_at == w->nreports;
}

static gauth_status run(world *w, gauth__iam_wait_cfg *c, gauth_iam_result **r,
                        int64_t *elapsed, gauth_error *err) {
  gauth__iam_wait_ops ops;
  memset(&ops, 0, sizeof ops);
  ops.check = fake_check;
  ops.now_ms = fake_now;
  ops.sleep_ms = fake_sleep;
  ops.ctx = w;
  ops.rng_seed = 1234;
  ops.resource = "projects/p";
  c->progress = on_progress;
  c->userdata = w;
  w->now = 1000000; /* the monotonic clock does not start at 0 */
  return gauth__iam_wait_run(&ops, c, r, elapsed, err);
}

#define NONE "{}"
#define SOME "{\"permissions\":[\"run.jobs.run\"]}"
#define ALL                                              \
  "{\"permissions\":[\"run.jobs.run\",\"run.jobs.get\"," \
  "\"resourcemanager.projects.get\"]}"

Test(iam_wait_loop, granted_at_once) {
  static const answer a[] = {{GAUTH_OK, ALL, 30}};
  world w = {a, 1, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(0, 0, 0, 0);
  gauth_iam_result *r = NULL;
  int64_t elapsed = -1;
  cr_assert_eq(run(&w, &c, &r, &elapsed, NULL), GAUTH_OK);
  cr_expect_eq(elapsed, 30);
  cr_expect_eq(w.sleeps, 0u);
  cr_expect_eq(w.nreports, 1u);
  cr_expect_eq(w.reports[0].attempt, 1u);
  cr_expect_eq(w.reports[0].next_wait_ms, 0);
  cr_expect_eq(w.reports[0].elapsed_ms, 30);
  cr_expect_eq(gauth_iam_result_all_granted(r), 1);
  gauth_iam_result_free(r);
}

Test(iam_wait_loop, granted_after_backoff) {
  static const answer a[] = {{GAUTH_OK, NONE, 10},
                             {GAUTH_OK, SOME, 10},
                             {GAUTH_OK, SOME, 10},
                             {GAUTH_OK, ALL, 10}};
  world w = {a, 4, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(0, 0, 0, 0);
  gauth__iam_wait_cfg plain = c;
  gauth_iam_result *r = NULL;
  int64_t elapsed = -1, total = 0;
  uint64_t rng = 1234;
  cr_assert_eq(run(&w, &c, &r, &elapsed, NULL), GAUTH_OK);
  cr_expect_eq(w.checks, 4u);
  cr_assert_eq(w.sleeps, 3u);
  /* The waits are exactly the seeded schedule: 2 s, 4 s, 8 s jittered. */
  for (unsigned i = 0; i < 3; i++) {
    int64_t want = gauth__iam_backoff_ms(&plain, i, &rng);
    cr_expect_eq(w.slept[i], want, "wait %u", i);
    cr_expect_eq(w.reports[i].next_wait_ms, want);
    total += want;
  }
  cr_expect(w.slept[0] >= 1000 && w.slept[0] <= 2000);
  cr_expect(w.slept[1] >= 2000 && w.slept[1] <= 4000);
  cr_expect(w.slept[2] >= 4000 && w.slept[2] <= 8000);
  cr_expect_eq(elapsed, total + 40);
  cr_expect_eq(w.nreports, 4u);
  for (unsigned i = 0; i < 4; i++) cr_expect_eq(w.reports[i].attempt, i + 1);
  cr_expect_eq(w.reports[3].next_wait_ms, 0);
  cr_expect_eq(w.reports[3].elapsed_ms, elapsed);
  gauth_iam_result_free(r);
}

Test(iam_wait_loop, deadline_is_never_overslept) {
  static const answer a[] = {{GAUTH_OK, SOME, 5}};
  world w = {a, 1, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(5000, 2000, 30000, 2.0);
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t elapsed = -1;
  cr_assert_eq(run(&w, &c, &r, &elapsed, &err), GAUTH_E_TIMEOUT);
  /* The last check starts at the deadline exactly, never after. */
  cr_assert_geq(w.checks, 2u);
  cr_expect_eq(w.check_at[w.checks - 1], 1000000 + 5000);
  for (size_t i = 0; i < w.checks; i++)
    cr_expect_leq(w.check_at[i], 1000000 + 5000);
  cr_expect_eq(w.check_left[0], 5000);
  cr_expect_eq(w.check_left[w.checks - 1], 0);
  cr_expect_eq(elapsed, 5005);
  cr_expect_eq(w.reports[w.nreports - 1].next_wait_ms, 0);
  cr_expect_eq(w.nreports, w.checks);
  /* The message lists what is missing and how many checks were made. */
  cr_expect(strstr(err.message,
                   "still missing: run.jobs.get, "
                   "resourcemanager.projects.get") != NULL,
            "%s", err.message);
  cr_expect(strstr(err.message, "deadline of 5.0 s passed") != NULL, "%s",
            err.message);
  {
    char want[64];
    snprintf(want, sizeof want, "after %zu checks", w.checks);
    cr_expect(strstr(err.message, want) != NULL, "%s", err.message);
  }
  cr_assert_not_null(r);
  cr_expect_eq(gauth_iam_result_missing_count(r), 2u);
  gauth_iam_result_free(r);
}

Test(iam_wait_loop, transient_errors_are_waited_out) {
  static const answer a[] = {{GAUTH_E_UNAVAILABLE, NULL, 10},
                             {GAUTH_E_RATE_LIMITED, NULL, 10},
                             {GAUTH_E_NETWORK, NULL, 10},
                             {GAUTH_OK, ALL, 10}};
  world w = {a, 4, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(0, 100, 1000, 2.0);
  gauth_iam_result *r = NULL;
  cr_assert_eq(run(&w, &c, &r, NULL, NULL), GAUTH_OK);
  cr_expect_eq(w.checks, 4u);
  cr_expect_eq(w.nreports, 4u);
  cr_expect_eq(w.reports[0].status, GAUTH_E_UNAVAILABLE);
  cr_expect_eq(w.reports[1].status, GAUTH_E_RATE_LIMITED);
  cr_expect_eq(w.reports[2].status, GAUTH_E_NETWORK);
  cr_expect_eq(w.reports[3].status, GAUTH_OK);
  cr_expect_gt(w.reports[0].next_wait_ms, 0);
  gauth_iam_result_free(r);
}

Test(iam_wait_loop, only_failures_until_the_deadline) {
  static const answer a[] = {{GAUTH_E_UNAVAILABLE, NULL, 10}};
  world w = {a, 1, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(3000, 1000, 1000, 1.0);
  gauth_iam_result *r = (gauth_iam_result *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(run(&w, &c, &r, NULL, &err), GAUTH_E_TIMEOUT);
  cr_expect_null(r);
  cr_expect(strstr(err.message, "none answered") != NULL, "%s", err.message);
  cr_expect(strstr(err.message, "HTTP 503 UNAVAILABLE") != NULL, "%s",
            err.message);
}

Test(iam_wait_loop, a_failure_keeps_the_last_answer) {
  static const answer a[] = {{GAUTH_OK, SOME, 10},
                             {GAUTH_E_UNAVAILABLE, NULL, 10}};
  world w = {a, 2, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(3000, 1000, 1000, 1.0);
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(run(&w, &c, &r, NULL, &err), GAUTH_E_TIMEOUT);
  cr_assert_not_null(r);
  cr_expect_eq(gauth_iam_result_state(r, 0), GAUTH_IAM_GRANTED);
  cr_expect(strstr(err.message, "still missing: run.jobs.get") != NULL, "%s",
            err.message);
  gauth_iam_result_free(r);
}

Test(iam_wait_loop, terminal_error_ends_the_wait) {
  static const answer a[] = {{GAUTH_OK, NONE, 10},
                             {GAUTH_E_UNAUTHENTICATED, NULL, 10},
                             {GAUTH_OK, ALL, 10}};
  world w = {a, 3, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(0, 100, 100, 1.0);
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(run(&w, &c, &r, NULL, &err), GAUTH_E_UNAUTHENTICATED);
  cr_expect_eq(w.checks, 2u);
  cr_expect_eq(err.code, GAUTH_E_UNAUTHENTICATED);
  cr_expect_eq(w.reports[1].next_wait_ms, 0);
  /* The last answer there was. */
  cr_assert_not_null(r);
  cr_expect_eq(gauth_iam_result_missing_count(r), 3u);
  gauth_iam_result_free(r);
}

Test(iam_wait_loop, refused_call_ends_the_wait) {
  static const answer a[] = {{GAUTH_OK, NONE, 10}, {GAUTH_OK, NULL, 10}};
  world w = {a, 2, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(0, 100, 100, 1.0);
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(run(&w, &c, &r, NULL, &err), GAUTH_E_PERMISSION_DENIED);
  cr_expect_eq(w.checks, 2u);
  cr_expect_eq(err.http_status, 403);
  cr_expect(strstr(err.message, "PERMISSION_DENIED: hidden") != NULL, "%s",
            err.message);
  cr_assert_not_null(r);
  cr_expect_eq(gauth_iam_result_access(r), GAUTH_IAM_ACCESS_DENIED);
  gauth_iam_result_free(r);
}

Test(iam_wait_loop, progress_may_stop) {
  static const answer a[] = {{GAUTH_OK, SOME, 10}};
  world w = {a, 1, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 2};
  gauth__iam_wait_cfg c = cfg_of(0, 100, 100, 1.0);
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t elapsed = 0;
  cr_assert_eq(run(&w, &c, &r, &elapsed, &err), GAUTH_E_TIMEOUT);
  cr_expect_eq(w.checks, 2u);
  cr_expect_eq(w.sleeps, 1u);
  cr_expect(strstr(err.message, "stopped by the progress callback") != NULL,
            "%s", err.message);
  cr_expect(strstr(err.message, "after 2 checks") != NULL, "%s", err.message);
  cr_expect_eq(elapsed, 10 + w.slept[0] + 10);
  cr_assert_not_null(r);
  gauth_iam_result_free(r);
}

Test(iam_wait_loop, result_not_wanted) {
  static const answer a[] = {{GAUTH_OK, SOME, 10}};
  world w = {a, 1, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0};
  gauth__iam_wait_cfg c = cfg_of(300, 100, 100, 1.0);
  /* NULL out: the last answer is freed (valgrind / ASan see a leak). */
  cr_expect_eq(run(&w, &c, NULL, NULL, NULL), GAUTH_E_TIMEOUT);
}

Test(iam_wait_loop, missing_list_is_cut_to_fit) {
  static const answer a[] = {{GAUTH_OK, SOME, 10}};
  world w = {a, 1, 0, 0, {0}, 0, {0}, {0}, 0, {{0}}, 0, 0, NULL, 0};
  const char *perms[GAUTH_IAM_MAX_PERMISSIONS];
  char names[GAUTH_IAM_MAX_PERMISSIONS][40];
  gauth__iam_wait_cfg c = cfg_of(100, 100, 100, 1.0);
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t n;
  for (size_t i = 0; i < GAUTH_IAM_MAX_PERMISSIONS; i++) {
    snprintf(names[i], sizeof names[i], "service.resources.verb%zu", i);
    perms[i] = names[i];
  }
  perms[7] = "run.jobs.run"; /* granted by SOME */
  w.perms = perms;
  w.nperms = GAUTH_IAM_MAX_PERMISSIONS;
  cr_assert_eq(run(&w, &c, &r, NULL, &err), GAUTH_E_TIMEOUT);
  cr_expect_eq(gauth_iam_result_missing_count(r), 99u);
  cr_expect(strstr(err.message,
                   "still missing: service.resources.verb0, "
                   "service.resources.verb1, ") != NULL,
            "%s", err.message);
  cr_expect(strstr(err.message, "run.jobs.run") == NULL, "%s", err.message);
  /* Cut with a count of the rest, never in the middle of a name. */
  n = strlen(err.message);
  cr_expect_lt(n, (size_t)GAUTH_ERROR_MESSAGE_SIZE - 1, "%s", err.message);
  cr_expect(n > 5 && strcmp(err.message + n - 5, " more") == 0, "%s",
            err.message);
  gauth_iam_result_free(r);
}
