/* The credential cache's promises (credentials.h, CACHE) through a real
 * service-account credential against the fixture's emulator, over HTTP:
 * serve the last good token while a refresh fails and it is still valid,
 * never an expired one; and refresh_early_seconds.
 *
 * The credential's clock is injected and moved together with the
 * emulator's (POST /emulator/v1/clock), so that the assertions it signs
 * are accepted and the tokens it gets expire on the same time line. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"

/* ---- one time line for the credential and the emulator ------------------- */

static int64_t g_offset; /* seconds ahead of the system clock */

static int64_t test_clock(void *ud) {
  (void)ud;
  return (int64_t)time(NULL) + g_offset;
}

static void move_clocks(int64_t offset) {
  char body[64], *out = NULL;
  g_offset = offset;
  snprintf(body, sizeof body, "{\"offset_seconds\":%lld}", (long long)offset);
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/clock", body, &out),
               200, "%s", out);
  free(out);
}

static void fault(const char *json) {
  char *out = NULL;
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/faults", json, &out), 200,
      "%s", out);
  free(out);
}

static void clear_faults(void) {
  emu_reply r;
  cr_assert_eq(emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults",
                        NULL, NULL, &r),
               0);
  cr_assert_eq(r.status, 200);
  emu_reply_free(&r);
}

static int counter(const char *path) {
  long v = emu_counter(emu_fixture_url(), path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

/* ---- the log, captured -----------------------------------------------------
 */

static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[16384];
static int g_warnings;

static void capture(gauth_log_level level, const char *message, void *ud) {
  (void)ud;
  pthread_mutex_lock(&g_log_mu);
  if (level >= GAUTH_LOG_WARN) g_warnings++;
  if (strlen(g_log) + strlen(message) + 2 < sizeof g_log) {
    strcat(g_log, message);
    strcat(g_log, "\n");
  }
  pthread_mutex_unlock(&g_log_mu);
}

/* ---- the credential --------------------------------------------------------
 */

static gauth_options g_opts;

static gauth_credentials *sa_creds(unsigned int refresh_early) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.retry.max_attempts = 2;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 20;
  o.retry.deadline_ms = 5000;
  o.timeout_ms = 3000;
  o.log_fn = capture;
  o.log_level = GAUTH_LOG_INFO;
  g_opts = o;
  co.options = &g_opts;
  co.clock = test_clock;
  co.refresh_early_seconds = refresh_early;
  co.self_signed_jwt = GAUTH_SELF_SIGNED_JWT_NEVER;
  cr_assert_eq(
      gauth_credentials_from_file(&c, emu_fixture_key_file(), &co, &err),
      GAUTH_OK, "%s", err.message);
  return c;
}

static void setup(void) {
  g_log[0] = '\0';
  g_warnings = 0;
  move_clocks(0);
  clear_faults();
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/counters:reset", "{}", NULL),
      200);
}

static void teardown(void) {
  char *out = NULL;
  emu_reply r;
  if (emu_http(emu_fixture_url(), "DELETE", "/emulator/v1/faults", NULL, NULL,
               &r) == 0)
    emu_reply_free(&r);
  emu_control(emu_fixture_url(), "/emulator/v1/clock", "{\"offset_seconds\":0}",
              &out);
  free(out);
}

TestSuite(creds_cache, .init = setup, .fini = teardown, .timeout = 60);

/* A refresh that fails while the token is still valid serves that token
 * and logs a warning (without the token); past its expiry the failure is
 * the caller's; once the server is back, a new token. */
Test(creds_cache, serves_the_last_good_token_never_an_expired_one) {
  gauth_credentials *c = sa_creds(0); /* 225 s */
  gauth_error err = GAUTH_ERROR_INIT;
  char *t1 = NULL, *t2 = NULL, *t3 = NULL;
  int64_t exp1 = 0, exp3 = 0;
  int requests;

  cr_assert_eq(gauth_credentials_access_token(c, NULL, &t1, &exp1, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_gt(exp1, test_clock(NULL) + 3000);
  cr_assert_eq(counter("/token"), 1);

  /* Into the refresh window (100 s left), the token endpoint failing. */
  move_clocks(exp1 - 100 - (int64_t)time(NULL));
  fault("{\"route\":\"/token\",\"kind\":\"status\",\"status\":503}");
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &t2, NULL, &err),
               GAUTH_OK, "the still-valid token must serve: %s", err.message);
  cr_assert_str_eq(t2, t1);
  requests = counter("/token");
  cr_assert_eq(requests, 1 + 2, "one refresh, two attempts: %d", requests);
  cr_assert_geq(g_warnings, 1, "no warning logged:\n%s", g_log);
  cr_assert_null(strstr(g_log, t1), "the token is in the log:\n%s", g_log);
  cr_assert_null(strstr(g_log, "ya29."), "%s", g_log);
  gauth_free(t2);
  t2 = NULL;

  /* Past expiry: an error, never the expired token. */
  move_clocks(exp1 + 5 - (int64_t)time(NULL));
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &t2, NULL, &err),
               GAUTH_E_UNAVAILABLE, "%s", gauth_status_name(err.code));
  cr_assert_null(t2);
  cr_assert_null(strstr(err.message, t1), "%s", err.message);
  cr_assert_null(strstr(g_log, t1), "%s", g_log);

  /* The server back: a new token, valid on the moved clock. */
  clear_faults();
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &t3, &exp3, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_neq(t3, t1);
  cr_assert_gt(exp3, test_clock(NULL) + 3000);

  gauth_free(t1);
  gauth_free(t3);
  gauth_credentials_free(c);
}

/* refresh_early_seconds = 1200: nothing is asked before the window, one
 * request inside it, and its token is returned from then on. */
Test(creds_cache, refresh_early_seconds_through_a_real_credential) {
  gauth_credentials *c = sa_creds(1200);
  gauth_error err = GAUTH_ERROR_INIT;
  char *t1 = NULL, *t2 = NULL, *t3 = NULL;
  int64_t exp1 = 0, exp2 = 0;

  cr_assert_eq(gauth_credentials_access_token(c, NULL, &t1, &exp1, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(counter("/token"), 1);

  /* 1201 s before expiry: outside the window, served from the cache. */
  move_clocks(exp1 - 1201 - (int64_t)time(NULL));
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &t2, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(t2, t1);
  cr_assert_eq(counter("/token"), 1, "a request before the window");
  gauth_free(t2);
  t2 = NULL;

  /* 1190 s before expiry: inside; exactly one refresh. */
  move_clocks(exp1 - 1190 - (int64_t)time(NULL));
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &t2, &exp2, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_neq(t2, t1, "the old token came back inside the window");
  cr_assert_gt(exp2, exp1);
  cr_assert_eq(counter("/token"), 2);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &t3, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(t3, t2);
  cr_assert_eq(counter("/token"), 2);

  gauth_free(t1);
  gauth_free(t2);
  gauth_free(t3);
  gauth_credentials_free(c);
}
