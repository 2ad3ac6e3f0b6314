/* lib/cred_cache.c: the token cache with an injected clock and a scripted
 * fetcher (no I/O): early refresh boundaries, the stale window,
 * serve-stale on a failed refresh, never an expired token, single-flight,
 * keys, the entry cap, long tokens. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "cred_cache.h"
#include "error_internal.h"

/* ---- a scripted source ------------------------------------------------- */

typedef struct fake {
  _Atomic int64_t now;  /* the clock */
  atomic_int fetches;   /* fetches made */
  int64_t lifetime;     /* of each token; 0: no expiry */
  int64_t absolute_exp; /* when set, every token expires then */
  gauth_status fail;    /* != OK: fetches fail with this */
  size_t token_len;     /* 0: short tokens */
  /* Blocking: a fetch waits until `release` is set. */
  atomic_int block;
  atomic_int release;
  atomic_int in_fetch;
  atomic_int arrived;  /* askers that called the cache */
  atomic_int finished; /* askers that got their answer */
} fake;

static int64_t fake_clock(void *ud) { return atomic_load(&((fake *)ud)->now); }

static gauth_status fake_fetch(void *ctx, const gauth__token_request *req,
                               gauth__token *out, gauth_error *err) {
  fake *f = ctx;
  int n = atomic_fetch_add(&f->fetches, 1) + 1;
  char buf[64];
  (void)req;
  atomic_fetch_add(&f->in_fetch, 1);
  while (atomic_load(&f->block) && !atomic_load(&f->release)) {
    struct timespec ts = {0, 1000000L};
    nanosleep(&ts, NULL);
  }
  atomic_fetch_sub(&f->in_fetch, 1);
  if (f->fail != GAUTH_OK)
    return gauth__error_set(err, f->fail, "scripted failure %d", n);
  snprintf(buf, sizeof(buf), "token-%d", n);
  if (f->token_len > 0) {
    out->value = malloc(f->token_len + 1);
    cr_assert_not_null(out->value);
    memset(out->value, 'x', f->token_len);
    memcpy(out->value, buf, strlen(buf));
    out->value[f->token_len] = '\0';
  } else {
    out->value = strdup(buf);
  }
  if (f->absolute_exp)
    out->expires_at = f->absolute_exp;
  else
    out->expires_at = f->lifetime ? atomic_load(&f->now) + f->lifetime : 0;
  return GAUTH_OK;
}

/* ---- a log sink ---------------------------------------------------------- */

static char g_log[4096];
static atomic_int g_warnings;
static void capture(gauth_log_level level, const char *msg, void *ud) {
  (void)ud;
  if (level >= GAUTH_LOG_WARN) atomic_fetch_add(&g_warnings, 1);
  snprintf(g_log, sizeof(g_log), "%s", msg);
}
static gauth__logger g_logger = {capture, NULL, GAUTH_LOG_DEBUG};

static const char *const cloud[] = {
    "https://www.googleapis.com/auth/cloud-platform", NULL};

static gauth__token_request access_req(const char *const *scopes) {
  gauth__token_request r;
  memset(&r, 0, sizeof(r));
  r.kind = GAUTH__TOKEN_ACCESS;
  r.scopes = scopes;
  while (scopes[r.scope_count] != NULL) r.scope_count++;
  return r;
}

static gauth__cred_cache *new_cache(fake *f, unsigned early) {
  gauth__cred_cache *c = NULL;
  cr_assert_eq(gauth__cred_cache_new(&c, early, fake_clock, f, &g_logger, NULL),
               GAUTH_OK);
  return c;
}

/* Asks once; returns the token (caller frees) and checks the status. */
static char *get(gauth__cred_cache *c, fake *f, const gauth__token_request *r,
                 gauth_status want, int64_t *exp) {
  char *t = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__cred_cache_get(c, r, fake_fetch, f, &t, exp, &err);
  cr_assert_eq(st, want, "status %d (%s), want %d", st, err.message, want);
  if (want != GAUTH_OK) cr_assert_null(t);
  return t;
}

static void expect(gauth__cred_cache *c, fake *f, const gauth__token_request *r,
                   const char *token, int fetches) {
  char *t = get(c, f, r, GAUTH_OK, NULL);
  cr_assert_str_eq(t, token, "at t=%lld", (long long)atomic_load(&f->now));
  cr_assert_eq(atomic_load(&f->fetches), fetches, "fetches %d, want %d",
               atomic_load(&f->fetches), fetches);
  free(t);
}

/* ---- refresh boundaries ------------------------------------------------- */

Test(cred_cache, cached_until_refresh_time_then_refreshed) {
  fake f = {0};
  gauth__token_request r = access_req(cloud);
  gauth__cred_cache *c;
  int64_t exp = 0;
  char *t;
  atomic_store(&f.now, 1000);
  f.lifetime = 3600; /* expires 4600, refresh at 4600 - 225 = 4375 */
  c = new_cache(&f, 225);
  t = get(c, &f, &r, GAUTH_OK, &exp);
  cr_assert_str_eq(t, "token-1");
  cr_assert_eq(exp, 4600);
  free(t);
  for (int i = 0; i < 10; i++) expect(c, &f, &r, "token-1", 1);
  atomic_store(&f.now, 4374);
  expect(c, &f, &r, "token-1", 1);
  atomic_store(&f.now, 4375);
  expect(c, &f, &r, "token-2", 2);
  expect(c, &f, &r, "token-2", 2);
  gauth__cred_cache_free(c);
}

Test(cred_cache, configurable_early_refresh) {
  fake f = {0};
  gauth__token_request r = access_req(cloud);
  gauth__cred_cache *c;
  atomic_store(&f.now, 0);
  f.lifetime = 3600;
  c = new_cache(&f, 600);
  expect(c, &f, &r, "token-1", 1);
  atomic_store(&f.now, 2999);
  expect(c, &f, &r, "token-1", 1);
  atomic_store(&f.now, 3000);
  expect(c, &f, &r, "token-2", 2);
  gauth__cred_cache_free(c);
}

Test(cred_cache, short_lifetime_refreshes_at_half) {
  fake f = {0};
  gauth__token_request r = access_req(cloud);
  gauth__cred_cache *c;
  atomic_store(&f.now, 100);
  f.lifetime = 300; /* 300 < 2 * 225: refresh after 150 s */
  c = new_cache(&f, 225);
  expect(c, &f, &r, "token-1", 1);
  atomic_store(&f.now, 249);
  expect(c, &f, &r, "token-1", 1);
  atomic_store(&f.now, 250);
  expect(c, &f, &r, "token-2", 2);
  gauth__cred_cache_free(c);
}

/* ---- stale window and failures ------------------------------------------- */

Test(cred_cache, failed_refresh_serves_current_token_and_logs) {
  fake f = {0};
  gauth__token_request r = access_req(cloud);
  gauth__cred_cache *c;
  atomic_store(&f.now, 0);
  f.lifetime = 3600;
  c = new_cache(&f, 225);
  expect(c, &f, &r, "token-1", 1);
  f.fail = GAUTH_E_UNAVAILABLE;
  atomic_store(&g_warnings, 0);
  atomic_store(&f.now, 3375);
  expect(c, &f, &r, "token-1", 2); /* refresh tried, failed, old served */
  cr_assert_eq(atomic_load(&g_warnings), 1);
  cr_assert(strstr(g_log, "scripted failure 2") != NULL, "log: %s", g_log);
  cr_assert(strstr(g_log, "225 s") != NULL, "log: %s", g_log);
  atomic_store(&f.now, 3599);
  expect(c, &f, &r, "token-1", 3); /* the last valid second */
  atomic_store(&f.now, 3600);      /* expired: the error, never the token */
  free(get(c, &f, &r, GAUTH_E_UNAVAILABLE, NULL));
  cr_assert_eq(atomic_load(&f.fetches), 4);
  f.fail = GAUTH_OK;
  expect(c, &f, &r, "token-5", 5);
  gauth__cred_cache_free(c);
}

Test(cred_cache, error_when_nothing_cached) {
  fake f = {0};
  gauth__token_request r = access_req(cloud);
  gauth__cred_cache *c;
  gauth_error err = GAUTH_ERROR_INIT;
  char *t = NULL;
  f.fail = GAUTH_E_PERMISSION_DENIED;
  c = new_cache(&f, 225);
  cr_assert_eq(gauth__cred_cache_get(c, &r, fake_fetch, &f, &t, NULL, &err),
               GAUTH_E_PERMISSION_DENIED);
  cr_assert_null(t);
  cr_assert_str_eq(err.message, "scripted failure 1");
  gauth__cred_cache_free(c);
}

Test(cred_cache, already_expired_token_is_refused) {
  fake f = {0};
  gauth__token_request r = access_req(cloud);
  gauth__cred_cache *c;
  gauth_error err = GAUTH_ERROR_INIT;
  char *t = NULL;
  atomic_store(&f.now, 5000);
  f.absolute_exp = 4000;
  c = new_cache(&f, 225);
  cr_assert_eq(gauth__cred_cache_get(c, &r, fake_fetch, &f, &t, NULL, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_assert_null(t);
  cr_assert(strstr(err.message, "already expired") != NULL, "%s", err.message);
  f.absolute_exp = 5000; /* expiring this very second: refused as well */
  free(get(c, &f, &r, GAUTH_E_BAD_RESPONSE, NULL));
  gauth__cred_cache_free(c);
}

Test(cred_cache, token_without_expiry_is_not_cached) {
  fake f = {0};
  gauth__token_request r = access_req(cloud);
  gauth__cred_cache *c;
  int64_t exp = 7;
  char *t;
  f.lifetime = 0;
  c = new_cache(&f, 225);
  t = get(c, &f, &r, GAUTH_OK, &exp);
  cr_assert_str_eq(t, "token-1");
  cr_assert_eq(exp, 0);
  free(t);
  expect(c, &f, &r, "token-2", 2);
  gauth__cred_cache_free(c);
}

/* ---- keys ---------------------------------------------------------------- */

Test(cred_cache, keys_are_scope_lists_and_audience_with_flags) {
  static const char *const ab[] = {"a", "b", NULL};
  static const char *const ba[] = {"b", "a", NULL};
  static const char *const a[] = {"a", NULL};
  fake f = {0};
  gauth__token_request r1 = access_req(ab), r2 = access_req(ba),
                       r3 = access_req(a), id1, id2, id3;
  gauth__cred_cache *c;
  f.lifetime = 3600;
  c = new_cache(&f, 225);
  memset(&id1, 0, sizeof(id1));
  id1.kind = GAUTH__TOKEN_ID;
  id1.audience = "https://a.example";
  id2 = id1;
  id2.flags = 1;
  id3 = id1;
  id3.audience = "https://b.example";
  expect(c, &f, &r1, "token-1", 1);
  expect(c, &f, &r2, "token-2", 2);
  expect(c, &f, &r3, "token-3", 3);
  expect(c, &f, &id1, "token-4", 4);
  expect(c, &f, &id2, "token-5", 5);
  expect(c, &f, &id3, "token-6", 6);
  expect(c, &f, &r1, "token-1", 6);
  expect(c, &f, &id2, "token-5", 6);
  gauth__cred_cache_free(c);
}

Test(cred_cache, beyond_the_entry_cap_fetches_every_time) {
  fake f = {0};
  gauth__token_request r;
  gauth__cred_cache *c;
  char aud[64];
  int i;
  f.lifetime = 3600;
  c = new_cache(&f, 225);
  memset(&r, 0, sizeof(r));
  r.kind = GAUTH__TOKEN_ID;
  r.audience = aud;
  atomic_store(&g_warnings, 0);
  for (i = 0; i < GAUTH__CRED_CACHE_MAX_ENTRIES; i++) {
    snprintf(aud, sizeof(aud), "aud-%d", i);
    free(get(c, &f, &r, GAUTH_OK, NULL));
  }
  cr_assert_eq(atomic_load(&g_warnings), 0);
  snprintf(aud, sizeof(aud), "one-too-many");
  free(get(c, &f, &r, GAUTH_OK, NULL));
  free(get(c, &f, &r, GAUTH_OK, NULL));
  cr_assert_eq(atomic_load(&f.fetches), GAUTH__CRED_CACHE_MAX_ENTRIES + 2);
  cr_assert_eq(atomic_load(&g_warnings), 1); /* once */
  snprintf(aud, sizeof(aud), "aud-0");       /* the cached keys still are */
  expect(c, &f, &r, "token-1", GAUTH__CRED_CACHE_MAX_ENTRIES + 2);
  gauth__cred_cache_free(c);
}

Test(cred_cache, tokens_longer_than_the_inline_copy) {
  fake f = {0};
  gauth__token_request r = access_req(cloud);
  gauth__cred_cache *c;
  char *t1, *t2;
  f.lifetime = 3600;
  f.token_len = GAUTH__CRED_CACHE_INLINE_BYTES + 100;
  c = new_cache(&f, 225);
  t1 = get(c, &f, &r, GAUTH_OK, NULL);
  t2 = get(c, &f, &r, GAUTH_OK, NULL);
  cr_assert_eq(strlen(t1), GAUTH__CRED_CACHE_INLINE_BYTES + 100);
  cr_assert_str_eq(t1, t2);
  cr_assert_eq(atomic_load(&f.fetches), 1);
  free(t1);
  free(t2);
  /* Exactly the inline size goes through the lock-free path. */
  gauth__cred_cache_free(c);
  memset(&f, 0, sizeof(f));
  f.lifetime = 3600;
  f.token_len = GAUTH__CRED_CACHE_INLINE_BYTES;
  c = new_cache(&f, 225);
  t1 = get(c, &f, &r, GAUTH_OK, NULL);
  t2 = get(c, &f, &r, GAUTH_OK, NULL);
  cr_assert_str_eq(t1, t2);
  cr_assert_eq(atomic_load(&f.fetches), 1);
  free(t1);
  free(t2);
  gauth__cred_cache_free(c);
}

/* ---- single flight ------------------------------------------------------- */

#define N 16

typedef struct asker {
  gauth__cred_cache *c;
  fake *f;
  gauth__token_request r;
  char *token;
  gauth_status st;
  gauth_error err;
} asker;

static void *ask_main(void *arg) {
  asker *a = arg;
  atomic_fetch_add(&a->f->arrived, 1);
  a->st = gauth__cred_cache_get(a->c, &a->r, fake_fetch, a->f, &a->token, NULL,
                                &a->err);
  atomic_fetch_add(&a->f->finished, 1);
  return NULL;
}

/* Starts N askers while the fetch is blocked; releases it once one is in
 * the fetch, all have called the cache and had 50 ms more to queue (or,
 * with `others_done`, once the N - 1 others have their answer). */
static void run_askers(asker *a, pthread_t *th, gauth__cred_cache *c, fake *f,
                       int others_done) {
  gauth__token_request r = access_req(cloud);
  struct timespec ts = {0, 50000000L};
  int i;
  atomic_store(&f->arrived, 0);
  atomic_store(&f->finished, 0);
  atomic_store(&f->block, 1);
  atomic_store(&f->release, 0);
  for (i = 0; i < N; i++) {
    memset(&a[i], 0, sizeof(a[i]));
    a[i].c = c;
    a[i].f = f;
    a[i].r = r;
    cr_assert_eq(pthread_create(&th[i], NULL, ask_main, &a[i]), 0);
  }
  while (atomic_load(&f->in_fetch) == 0 || atomic_load(&f->arrived) < N)
    nanosleep(&ts, NULL);
  if (others_done) {
    while (atomic_load(&f->finished) < N - 1) nanosleep(&ts, NULL);
  } else {
    nanosleep(&ts, NULL);
  }
  atomic_store(&f->release, 1);
  for (i = 0; i < N; i++) pthread_join(th[i], NULL);
  atomic_store(&f->block, 0);
}

Test(cred_cache, concurrent_askers_share_one_fetch) {
  fake f = {0};
  asker a[N];
  pthread_t th[N];
  gauth__cred_cache *c;
  f.lifetime = 3600;
  c = new_cache(&f, 225);
  run_askers(a, th, c, &f, 0);
  cr_assert_eq(atomic_load(&f.fetches), 1);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(a[i].st, GAUTH_OK);
    cr_assert_str_eq(a[i].token, "token-1");
    free(a[i].token);
  }
  gauth__cred_cache_free(c);
}

Test(cred_cache, concurrent_askers_share_one_failure) {
  fake f = {0};
  asker a[N];
  pthread_t th[N];
  gauth__cred_cache *c;
  f.lifetime = 3600;
  f.fail = GAUTH_E_UNAVAILABLE;
  c = new_cache(&f, 225);
  run_askers(a, th, c, &f, 0);
  cr_assert_eq(atomic_load(&f.fetches), 1);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(a[i].st, GAUTH_E_UNAVAILABLE);
    cr_assert_null(a[i].token);
    cr_assert_str_eq(a[i].err.message, "scripted failure 1");
  }
  gauth__cred_cache_free(c);
}

Test(cred_cache, stale_window_one_refresh_while_others_get_current) {
  fake f = {0};
  asker a[N];
  pthread_t th[N];
  gauth__cred_cache *c;
  gauth__token_request r = access_req(cloud);
  int old = 0, fresh = 0;
  f.lifetime = 3600;
  c = new_cache(&f, 225);
  expect(c, &f, &r, "token-1", 1);
  atomic_store(&f.now, 3500); /* stale, valid */
  run_askers(a, th, c, &f, 1);
  cr_assert_eq(atomic_load(&f.fetches), 2); /* one refresh */
  for (int i = 0; i < N; i++) {
    cr_assert_eq(a[i].st, GAUTH_OK);
    if (strcmp(a[i].token, "token-1") == 0) old++;
    if (strcmp(a[i].token, "token-2") == 0) fresh++;
    free(a[i].token);
  }
  /* The refresher got the new token; the others did not wait for it. */
  cr_assert_eq(fresh, 1);
  cr_assert_eq(old, N - 1);
  expect(c, &f, &r, "token-2", 2);
  gauth__cred_cache_free(c);
}
