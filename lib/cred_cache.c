/* The token cache around every credential source: early refresh,
 * single-flight fetches, serve-stale on a failed refresh, and a lock-free
 * read of a fresh token. See cred_cache.h for the rules.
 *
 * The lock-free read is a sequence lock (Boehm, "Can seqlocks get along
 * with programming language memory models?", 2012): the writer makes the
 * sequence odd, stores the snapshot with relaxed atomics, then makes it even
 * again with a release store; a reader copies the snapshot with relaxed
 * atomic loads between an acquire load of the sequence and a second load
 * after an acquire fence, and keeps the copy only when both loads agree and
 * are even. Readers write no shared memory, so they scale across cores. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cred_cache.h"
#include "error_internal.h"
#include "secret.h"

/* One more word than the bytes need: readers copy whole words up to and
 * including the one that holds the terminating NUL. */
#define INLINE_WORDS (GAUTH__CRED_CACHE_INLINE_BYTES / 8 + 1)

typedef struct entry {
  _Atomic(struct entry *) next; /* the list, published by release stores */

  /* The key: immutable once the entry is published. */
  gauth__token_kind kind;
  unsigned int flags;
  char *audience;
  char **scopes;
  size_t scope_count;

  /* The snapshot readers copy without a lock. len 0: nothing to serve. */
  _Atomic uint64_t seq;
  _Atomic int64_t expires_at;
  _Atomic int64_t refresh_at;
  _Atomic size_t len;
  _Atomic uint64_t words[INLINE_WORDS];

  /* Under mu: the token itself and the flight in progress. */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  gauth__token current;
  int64_t current_refresh_at;
  int in_flight;
  uint64_t flights_done; /* completed flights; waiters watch it change */
  gauth_status flight_status;
  gauth_error flight_err;
} entry;

struct gauth__cred_cache {
  unsigned int refresh_early;
  gauth_clock_fn clock;
  void *clock_userdata;
  const gauth__logger *lg;
  _Atomic(entry *) head;
  pthread_mutex_t list_mu; /* serialises inserts */
  size_t count;            /* under list_mu */
  int warned_full;         /* under list_mu */
};

static int64_t cache_now(const gauth__cred_cache *c) {
  return gauth__clock_now(c->clock, c->clock_userdata);
}

/* The lock-free path only serves tokens before their refresh time, at
 * least half their lifetime (or refresh_early) before expiry: a clock that
 * lags by one tick (a few ms) is as good there, and several times cheaper. */
static int64_t cache_now_coarse(const gauth__cred_cache *c) {
  return gauth__clock_now_coarse(c->clock, c->clock_userdata);
}

gauth_status gauth__cred_cache_new(gauth__cred_cache **out,
                                   unsigned int refresh_early,
                                   gauth_clock_fn clock, void *clock_userdata,
                                   const gauth__logger *lg, gauth_error *err) {
  gauth__cred_cache *c = calloc(1, sizeof(*c));
  *out = NULL;
  if (c == NULL) return gauth__error_nomem(err);
  if (pthread_mutex_init(&c->list_mu, NULL) != 0) {
    free(c);
    return gauth__error_nomem(err);
  }
  c->refresh_early = refresh_early;
  c->clock = clock;
  c->clock_userdata = clock_userdata;
  c->lg = lg;
  atomic_init(&c->head, NULL);
  *out = c;
  return GAUTH_OK;
}

static void entry_free(entry *e) {
  size_t i;
  if (e == NULL) return;
  for (i = 0; i < INLINE_WORDS; i++)
    atomic_store_explicit(&e->words[i], 0, memory_order_relaxed);
  gauth__token_cleanup(&e->current);
  for (i = 0; i < e->scope_count; i++) free(e->scopes[i]);
  free(e->scopes);
  free(e->audience);
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->cv);
  free(e);
}

void gauth__cred_cache_free(gauth__cred_cache *cache) {
  entry *e, *next;
  if (cache == NULL) return;
  for (e = atomic_load(&cache->head); e != NULL; e = next) {
    next = atomic_load(&e->next);
    entry_free(e);
  }
  pthread_mutex_destroy(&cache->list_mu);
  free(cache);
}

static int entry_matches(const entry *e, const gauth__token_request *req) {
  size_t i;
  if (e->kind != req->kind) return 0;
  if (req->kind == GAUTH__TOKEN_ID)
    return e->flags == req->flags && strcmp(e->audience, req->audience) == 0;
  if (e->scope_count != req->scope_count) return 0;
  for (i = 0; i < e->scope_count; i++)
    if (strcmp(e->scopes[i], req->scopes[i]) != 0) return 0;
  return 1;
}

static entry *find(gauth__cred_cache *c, const gauth__token_request *req) {
  entry *e = atomic_load_explicit(&c->head, memory_order_acquire);
  for (; e != NULL; e = atomic_load_explicit(&e->next, memory_order_acquire))
    if (entry_matches(e, req)) return e;
  return NULL;
}

static entry *entry_new(const gauth__token_request *req) {
  size_t i;
  entry *e = calloc(1, sizeof(*e));
  if (e == NULL) return NULL;
  if (pthread_mutex_init(&e->mu, NULL) != 0) {
    free(e);
    return NULL;
  }
  if (pthread_cond_init(&e->cv, NULL) != 0) {
    pthread_mutex_destroy(&e->mu);
    free(e);
    return NULL;
  }
  e->kind = req->kind;
  e->flags = req->flags;
  if (req->kind == GAUTH__TOKEN_ID) {
    if ((e->audience = gauth__strdup(req->audience)) == NULL) goto fail;
  } else {
    e->scopes = calloc(req->scope_count, sizeof(char *));
    if (e->scopes == NULL) goto fail;
    for (i = 0; i < req->scope_count; i++) {
      if ((e->scopes[i] = gauth__strdup(req->scopes[i])) == NULL) goto fail;
      e->scope_count = i + 1;
    }
  }
  return e;
fail:
  entry_free(e);
  return NULL;
}

/* The entry for req, created when missing. NULL with *full set when the
 * cache holds its maximum; NULL otherwise means out of memory. */
static entry *find_or_add(gauth__cred_cache *c, const gauth__token_request *req,
                          int *full) {
  entry *e;
  *full = 0;
  pthread_mutex_lock(&c->list_mu);
  e = find(c, req);
  if (e == NULL && c->count >= GAUTH__CRED_CACHE_MAX_ENTRIES) {
    *full = 1;
    if (!c->warned_full)
      gauth__log(c->lg, GAUTH_LOG_WARN,
                 "token cache: %d different scope sets / audiences in use; "
                 "new ones are fetched on every call",
                 GAUTH__CRED_CACHE_MAX_ENTRIES);
    c->warned_full = 1;
  } else if (e == NULL && (e = entry_new(req)) != NULL) {
    atomic_store_explicit(&e->next,
                          atomic_load_explicit(&c->head, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&c->head, e, memory_order_release);
    c->count++;
  }
  pthread_mutex_unlock(&c->list_mu);
  return e;
}

/* Lock-free read: GAUTH_OK with a copy when the entry holds a token that
 * needs no refresh at `now`; GAUTH_E_NOT_FOUND when the slow path must
 * decide. */
static gauth_status read_fresh(entry *e, int64_t now, char **token,
                               int64_t *expires_at) {
  uint64_t s1, s2;
  size_t len, i, n;
  int64_t exp, refresh;
  char *buf;
  s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
  if (s1 & 1u) return GAUTH_E_NOT_FOUND;
  len = atomic_load_explicit(&e->len, memory_order_relaxed);
  exp = atomic_load_explicit(&e->expires_at, memory_order_relaxed);
  refresh = atomic_load_explicit(&e->refresh_at, memory_order_relaxed);
  if (len == 0 || len > GAUTH__CRED_CACHE_INLINE_BYTES || now >= refresh ||
      now >= exp)
    return GAUTH_E_NOT_FOUND;
  /* Whole words (fixed-size copies), into a buffer rounded up to them;
   * the bytes past len in the last word are zeros (publish). */
  n = (len + 8) & ~(size_t)7;
  buf = malloc(n);
  if (buf == NULL) return GAUTH_E_NOT_FOUND;
  for (i = 0; i < n / 8; i++) {
    uint64_t w = atomic_load_explicit(&e->words[i], memory_order_relaxed);
    memcpy(buf + i * 8, &w, 8);
  }
  buf[len] = '\0';
  atomic_thread_fence(memory_order_acquire);
  s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
  if (s1 != s2) {
    gauth__secret_free(buf, n);
    return GAUTH_E_NOT_FOUND;
  }
  *token = buf;
  if (expires_at != NULL) *expires_at = exp;
  return GAUTH_OK;
}

/* Publishes e->current to lock-free readers. Under e->mu. */
static void publish(entry *e) {
  uint64_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
  size_t len = e->current.value ? strlen(e->current.value) : 0;
  size_t i;
  if (len > GAUTH__CRED_CACHE_INLINE_BYTES) len = 0; /* mutex path only */
  atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  atomic_store_explicit(&e->len, len, memory_order_relaxed);
  atomic_store_explicit(&e->expires_at, e->current.expires_at,
                        memory_order_relaxed);
  atomic_store_explicit(&e->refresh_at, e->current_refresh_at,
                        memory_order_relaxed);
  /* Every word a reader copies, the one with the NUL included, zero-padded:
   * no byte of an earlier token survives past the new one's end. */
  for (i = 0; i < len + 1; i += 8) {
    uint64_t w = 0;
    memcpy(&w, e->current.value + i, len - i < 8 ? len - i : 8);
    atomic_store_explicit(&e->words[i / 8], w, memory_order_relaxed);
  }
  atomic_store_explicit(&e->seq, s + 2, memory_order_release);
}

static int64_t refresh_time(unsigned int early, int64_t fetched,
                            int64_t expires_at) {
  int64_t lifetime = expires_at - fetched;
  int64_t margin = (int64_t)early;
  if (lifetime < 2 * margin) margin = lifetime / 2;
  return expires_at - margin;
}

/* A copy of the entry's current token. Under e->mu. */
static gauth_status copy_current(entry *e, char **token, int64_t *expires_at,
                                 gauth_error *err) {
  *token = gauth__strdup(e->current.value);
  if (*token == NULL) return gauth__error_nomem(err);
  if (expires_at != NULL) *expires_at = e->current.expires_at;
  return GAUTH_OK;
}

/* Runs one fetch for the entry with e->mu released; returns with e->mu held
 * and the outcome installed (token published, or the error recorded for
 * waiters). */
static gauth_status run_flight(gauth__cred_cache *c, entry *e,
                               const gauth__token_request *req,
                               gauth__cred_fetch_fn fetch, void *ctx,
                               gauth__token *fresh, gauth_error *ferr) {
  gauth_status st;
  int64_t fetched;
  e->in_flight = 1;
  pthread_mutex_unlock(&e->mu);
  fetched = cache_now(c);
  st = fetch(ctx, req, fresh, ferr);
  pthread_mutex_lock(&e->mu);
  if (st == GAUTH_OK && fresh->expires_at != 0 &&
      fresh->expires_at <= cache_now(c)) {
    gauth__token_cleanup(fresh);
    st = gauth__error_set(ferr, GAUTH_E_BAD_RESPONSE,
                          "the token server returned a token that has "
                          "already expired (check the clock)");
  }
  if (st == GAUTH_OK && fresh->expires_at != 0) {
    gauth__token_cleanup(&e->current);
    e->current = *fresh;
    fresh->value = NULL;
    e->current_refresh_at =
        refresh_time(c->refresh_early, fetched, e->current.expires_at);
    publish(e);
  }
  e->in_flight = 0;
  e->flights_done++;
  e->flight_status = st;
  if (st != GAUTH_OK) gauth__error_copy(&e->flight_err, ferr);
  pthread_cond_broadcast(&e->cv);
  return st;
}

static gauth_status slow_path(gauth__cred_cache *c, entry *e,
                              const gauth__token_request *req,
                              gauth__cred_fetch_fn fetch, void *ctx,
                              char **token, int64_t *expires_at,
                              gauth_error *err) {
  gauth_status st;
  gauth__token fresh = {NULL, 0};
  gauth_error ferr = GAUTH_ERROR_INIT;
  pthread_mutex_lock(&e->mu);
  for (;;) {
    int64_t now = cache_now(c);
    int valid = e->current.value != NULL && now < e->current.expires_at;
    if (valid && (now < e->current_refresh_at || e->in_flight)) {
      /* Fresh, or stale with a refresh already running. */
      st = copy_current(e, token, expires_at, err);
      break;
    }
    if (!valid && e->in_flight) {
      /* Wait for the flight in progress and take its outcome. */
      uint64_t seen = e->flights_done;
      while (e->flights_done == seen) pthread_cond_wait(&e->cv, &e->mu);
      if (e->flight_status != GAUTH_OK &&
          !(e->current.value && cache_now(c) < e->current.expires_at)) {
        gauth__error_copy(err, &e->flight_err);
        st = e->flight_status;
        break;
      }
      continue;
    }
    /* This caller fetches: nothing valid and nobody fetching, or stale
     * and nobody refreshing. */
    st = run_flight(c, e, req, fetch, ctx, &fresh, &ferr);
    if (st == GAUTH_OK && fresh.value != NULL) {
      /* No expiry: served once, not cached. */
      *token = fresh.value;
      fresh.value = NULL;
      if (expires_at != NULL) *expires_at = 0;
      break;
    }
    if (st == GAUTH_OK) {
      st = copy_current(e, token, expires_at, err);
      break;
    }
    if (e->current.value != NULL && cache_now(c) < e->current.expires_at) {
      gauth__log(c->lg, GAUTH_LOG_WARN,
                 "token refresh failed; the current token stays in use until "
                 "it expires in %lld s: %s",
                 (long long)(e->current.expires_at - cache_now(c)),
                 ferr.message);
      st = copy_current(e, token, expires_at, err);
    } else {
      gauth__error_copy(err, &ferr);
    }
    break;
  }
  pthread_mutex_unlock(&e->mu);
  gauth__token_cleanup(&fresh);
  return st;
}

gauth_status gauth__cred_cache_try_fresh(gauth__cred_cache *cache,
                                         const gauth__token_request *req,
                                         char **token, int64_t *expires_at) {
  entry *e = find(cache, req);
  if (e == NULL) return GAUTH_E_NOT_FOUND;
  return read_fresh(e, cache_now_coarse(cache), token, expires_at);
}

gauth_status gauth__cred_cache_get(gauth__cred_cache *cache,
                                   const gauth__token_request *req,
                                   gauth__cred_fetch_fn fetch, void *ctx,
                                   char **token, int64_t *expires_at,
                                   gauth_error *err) {
  entry *e;
  int full;
  *token = NULL;
  if (expires_at != NULL) *expires_at = 0;
  e = find(cache, req);
  if (e != NULL &&
      read_fresh(e, cache_now(cache), token, expires_at) == GAUTH_OK)
    return GAUTH_OK;
  if (e == NULL) e = find_or_add(cache, req, &full);
  if (e == NULL && !full) return gauth__error_nomem(err);
  if (e == NULL) {
    gauth__token t = {NULL, 0};
    gauth_status st = fetch(ctx, req, &t, err);
    if (st != GAUTH_OK) return st;
    *token = t.value;
    if (expires_at != NULL) *expires_at = t.expires_at;
    return GAUTH_OK;
  }
  return slow_path(cache, e, req, fetch, ctx, token, expires_at, err);
}
