/* The verifier's remote key set, fetched and cached (see
 * verifier_keysource.h for the rules).
 *
 * State machine, all under `mu`:
 *   set / fresh_until   the last good set and its freshness expiry;
 *   fetching            1 while one caller runs the HTTP request (unlocked);
 *   gen                 completed fetches: a waiter sleeps on `cv` until it
 *                       changes, then reads last_st / last_err / set;
 *   last_fetch          start of the last fetch (the unknown-kid cooldown);
 *   retry_after         after a failure, no fetch before this time.
 * The set is replaced, never modified: readers hold their own reference. */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "error_internal.h"
#include "jose_internal.h"
#include "log_internal.h"
#include "verifier_keysource.h"

#define NEVER INT64_MIN

struct gauth__keysource {
  gauth__http *http;        /* borrowed */
  const gauth__logger *log; /* the transport's */
  char *url;
  gauth__keysource_params p; /* every field resolved */

  pthread_mutex_t mu;
  pthread_cond_t cv;
  gauth_keyset *set;
  int64_t fresh_until;
  int64_t last_fetch;
  int64_t retry_after;
  int fetching;
  uint64_t gen;
  gauth_status last_st;
  gauth_error last_err;
  unsigned int fetches;
  uint64_t serial; /* of set (atomic: read without mu); 0: none yet */
};

static int64_t now_s(const gauth__keysource *ks) {
  return gauth__clock_now_coarse(ks->p.clock, ks->p.clock_userdata);
}

/* ---- freshness from the reply's headers ----------------------------------*/

/* Decimal seconds; saturates instead of overflowing. 0 when not a number. */
static int64_t parse_seconds(const char *s, size_t n, int *ok) {
  int64_t v = 0;
  size_t i;
  *ok = n > 0;
  for (i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i])) {
      *ok = 0;
      return 0;
    }
    if (v < INT32_MAX) v = v * 10 + (s[i] - '0');
  }
  return v > INT32_MAX ? INT32_MAX : v;
}

static int64_t clamp_ttl(int64_t ttl, const gauth__keysource_params *p) {
  if (ttl < (int64_t)p->min_ttl) return p->min_ttl;
  if (ttl > (int64_t)p->max_ttl) return p->max_ttl;
  return ttl;
}

int64_t gauth__keysource_ttl(const char *cache_control, const char *age,
                             const gauth__keysource_params *p) {
  int64_t max_age = -1, age_v = 0;
  int no_cache = 0, ok;
  const char *s = cache_control;

  while (s != NULL && *s != '\0') {
    size_t len = strcspn(s, ","), name_len;
    const char *eq, *v;
    size_t vlen;
    /* One directive: trim, split at '=', drop quotes around the value. */
    while (len > 0 && (*s == ' ' || *s == '\t')) s++, len--;
    eq = memchr(s, '=', len);
    name_len = eq != NULL ? (size_t)(eq - s) : len;
    while (name_len > 0 && (s[name_len - 1] == ' ' || s[name_len - 1] == '\t'))
      name_len--;
    v = eq != NULL ? eq + 1 : s + len;
    vlen = (size_t)(s + len - v);
    while (vlen > 0 && (*v == ' ' || *v == '\t')) v++, vlen--;
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') v++, vlen -= 2;
    if (name_len == 7 && strncasecmp(s, "max-age", 7) == 0) {
      int64_t m = parse_seconds(v, vlen, &ok);
      if (ok && max_age < 0) max_age = m;
    } else if ((name_len == 8 && strncasecmp(s, "no-store", 8) == 0) ||
               (name_len == 8 && strncasecmp(s, "no-cache", 8) == 0)) {
      no_cache = 1;
    }
    s += strcspn(s, ",");
    if (*s == ',') s++;
  }
  if (no_cache) return p->min_ttl;
  if (max_age < 0) return clamp_ttl(p->default_ttl, p);
  if (age != NULL) {
    age_v = parse_seconds(age, strlen(age), &ok);
    if (!ok) age_v = 0;
  }
  return clamp_ttl(max_age - age_v, p);
}

/* ---- the object ----------------------------------------------------------*/

static unsigned int or_default(unsigned int v, unsigned int def) {
  return v != 0 ? v : def;
}

gauth_status gauth__keysource_new(gauth__keysource **out, gauth__http *http,
                                  const char *url,
                                  const gauth__keysource_params *params,
                                  gauth_error *err) {
  gauth__keysource *ks;
  gauth__keysource_params p;

  if (out == NULL || http == NULL || url == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth__keysource_new: NULL argument");
  *out = NULL;
  memset(&p, 0, sizeof(p));
  if (params != NULL) p = *params;
  p.default_ttl = or_default(p.default_ttl, GAUTH__KEYS_DEFAULT_TTL);
  p.min_ttl = or_default(p.min_ttl, GAUTH__KEYS_MIN_TTL);
  p.max_ttl = or_default(p.max_ttl, GAUTH__KEYS_MAX_TTL);
  p.cooldown = or_default(p.cooldown, GAUTH__KEYS_REFETCH_COOLDOWN);
  p.max_stale = or_default(p.max_stale, GAUTH__KEYS_MAX_STALE);
  if (p.min_ttl > p.max_ttl)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "keys_min_ttl (%u s) is above keys_max_ttl (%u s)",
                            p.min_ttl, p.max_ttl);

  ks = calloc(1, sizeof(*ks));
  if (ks == NULL) return gauth__error_nomem(err);
  ks->url = strdup(url);
  if (ks->url == NULL) {
    free(ks);
    return gauth__error_nomem(err);
  }
  ks->http = http;
  ks->log = &gauth__http_config(http)->logger;
  ks->p = p;
  ks->last_fetch = NEVER;
  ks->retry_after = NEVER;
  ks->last_st = GAUTH_OK;
  pthread_mutex_init(&ks->mu, NULL);
  pthread_cond_init(&ks->cv, NULL);
  *out = ks;
  return GAUTH_OK;
}

void gauth__keysource_free(gauth__keysource *ks) {
  if (ks == NULL) return;
  gauth_keyset_free(ks->set);
  pthread_mutex_destroy(&ks->mu);
  pthread_cond_destroy(&ks->cv);
  free(ks->url);
  free(ks);
}

uint64_t gauth__keysource_serial(gauth__keysource *ks) {
  return ks == NULL ? 0 : __atomic_load_n(&ks->serial, __ATOMIC_ACQUIRE);
}

const char *gauth__keysource_url(const gauth__keysource *ks) {
  return ks == NULL ? NULL : ks->url;
}

unsigned int gauth__keysource_fetch_count(gauth__keysource *ks) {
  unsigned int n;
  if (ks == NULL) return 0;
  pthread_mutex_lock(&ks->mu);
  n = ks->fetches;
  pthread_mutex_unlock(&ks->mu);
  return n;
}

/* ---- fetching ------------------------------------------------------------*/

/* One request and parse, no lock held. */
static gauth_status fetch_once(gauth__keysource *ks, gauth_keyset **set,
                               int64_t *ttl, gauth_error *err) {
  gauth__http_response resp;
  gauth_status st;

  *set = NULL;
  gauth__log(ks->log, GAUTH_LOG_DEBUG, "fetching key set from %s", ks->url);
  st = gauth__http_get(ks->http, ks->url, NULL, NULL, &resp, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "fetching the key set");
    gauth__http_response_cleanup(&resp);
    return st;
  }
  st = gauth_keyset_parse(set, resp.body, resp.body_len, err);
  if (st != GAUTH_OK) {
    /* A server's reply that is not a key set is a bad response, as every
     * other reply libgauth cannot understand (OIDC discovery's, a token
     * endpoint's), not malformed input of the caller's. */
    if (st == GAUTH_E_MALFORMED) {
      st = GAUTH_E_BAD_RESPONSE;
      if (err != NULL) err->code = st;
    }
    gauth__error_prefix(err, "key set from %s", ks->url);
  } else {
    *ttl = gauth__keysource_ttl(
        gauth__http_response_header(&resp, "Cache-Control"),
        gauth__http_response_header(&resp, "Age"), &ks->p);
  }
  gauth__http_response_cleanup(&resp);
  return st;
}

/* Runs one fetch. Called with mu held and no fetch in flight; returns with
 * mu held. The lock is released around the request so that readers of a
 * fresh set and waiters are never blocked behind the network. The set
 * replaced is returned in *drop, to be freed once mu is released. */
static gauth_status fetch_locked(gauth__keysource *ks, int64_t now,
                                 gauth_keyset **drop) {
  gauth_keyset *set = NULL;
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st;
  int64_t ttl = 0;
  unsigned int n;

  ks->fetching = 1;
  ks->last_fetch = now;
  n = ++ks->fetches;
  pthread_mutex_unlock(&ks->mu);

  st = fetch_once(ks, &set, &ttl, &e);
  if (st == GAUTH_OK)
    gauth__log(ks->log, GAUTH_LOG_INFO,
               "fetched key set from %s: %zu keys, fresh for %lld s "
               "(fetch %u)",
               ks->url, gauth_keyset_count(set), (long long)ttl, n);
  else
    gauth__log(ks->log, GAUTH_LOG_WARN, "%s (fetch %u)", e.message, n);

  pthread_mutex_lock(&ks->mu);
  *drop = NULL;
  if (st == GAUTH_OK) {
    *drop = ks->set;
    ks->set = set;
    __atomic_store_n(&ks->serial, set->serial, __ATOMIC_RELEASE);
    /* From the start of the fetch: the reply's age counts from there. */
    ks->fresh_until = now + ttl;
    ks->retry_after = NEVER;
  } else {
    ks->retry_after = now + ks->p.cooldown;
  }
  ks->last_st = st;
  gauth__error_copy(&ks->last_err, &e);
  ks->fetching = 0;
  ks->gen++;
  pthread_cond_broadcast(&ks->cv);
  return st;
}

/* Waits, with mu held, for the fetch in flight to complete; returns its
 * status (its error copied to err). */
static gauth_status wait_locked(gauth__keysource *ks, gauth_error *err) {
  uint64_t gen = ks->gen;
  while (ks->fetching && ks->gen == gen) pthread_cond_wait(&ks->cv, &ks->mu);
  if (ks->last_st != GAUTH_OK) gauth__error_copy(err, &ks->last_err);
  return ks->last_st;
}

/* Hands out the current set (a reference) and its freshness, mu held. */
static void hand_out_locked(gauth__keysource *ks, gauth_keyset **out,
                            int64_t *fresh_until) {
  gauth_keyset_up_ref(ks->set);
  *out = ks->set;
  if (fresh_until != NULL) *fresh_until = ks->fresh_until;
}

gauth_status gauth__keysource_get(gauth__keysource *ks, gauth_keyset **out,
                                  int64_t *fresh_until, gauth_error *err) {
  gauth_keyset *drop = NULL;
  gauth_status st = GAUTH_OK;
  int64_t now;

  if (ks == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth__keysource_get: NULL argument");
  *out = NULL;
  pthread_mutex_lock(&ks->mu);
  now = now_s(ks);
  if (ks->set == NULL || now >= ks->fresh_until) {
    if (ks->fetching)
      (void)wait_locked(ks, NULL);
    else if (now >= ks->retry_after)
      (void)fetch_locked(ks, now, &drop);
    now = now_s(ks);
    /* Serve the set unless it is past its freshness plus the stale
     * allowance; a set fetched just now is served whatever the clock
     * did meanwhile. */
    if (ks->set != NULL && ks->last_st != GAUTH_OK && now >= ks->fresh_until &&
        now - ks->fresh_until >= (int64_t)ks->p.max_stale) {
      st = ks->last_st;
      gauth__error_copy(err, &ks->last_err);
      gauth__error_prefix(err, "key set stale for %lld s (allowed %u s)",
                          (long long)(now - ks->fresh_until), ks->p.max_stale);
    } else if (ks->set == NULL) {
      st = ks->last_st != GAUTH_OK ? ks->last_st : GAUTH_E_INTERNAL;
      if (ks->last_st != GAUTH_OK)
        gauth__error_copy(err, &ks->last_err);
      else
        gauth__error_set(err, st, "no key set from %s", ks->url);
    } else if (now >= ks->fresh_until) {
      gauth__log(ks->log, GAUTH_LOG_DEBUG,
                 "serving the key set from %s %lld s past its freshness "
                 "(last refresh failed)",
                 ks->url, (long long)(now - ks->fresh_until));
    }
  }
  if (st == GAUTH_OK) hand_out_locked(ks, out, fresh_until);
  pthread_mutex_unlock(&ks->mu);
  gauth_keyset_free(drop);
  return st;
}

gauth_status gauth__keysource_refetch(gauth__keysource *ks,
                                      const gauth_keyset *seen,
                                      gauth_keyset **out, int64_t *fresh_until,
                                      gauth_error *err) {
  gauth_keyset *drop = NULL;
  int64_t now;

  if (ks == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth__keysource_refetch: NULL argument");
  *out = NULL;
  pthread_mutex_lock(&ks->mu);
  if (ks->fetching) (void)wait_locked(ks, NULL);
  if (ks->set != NULL && ks->set != seen) {
    /* Another caller refreshed since `seen` was handed out. */
  } else {
    now = now_s(ks);
    if (ks->last_fetch != NEVER &&
        now - ks->last_fetch < (int64_t)ks->p.cooldown) {
      gauth__log(ks->log, GAUTH_LOG_DEBUG,
                 "unknown kid: key set from %s fetched %lld s ago, not "
                 "again within the %u s cooldown",
                 ks->url, (long long)(now - ks->last_fetch), ks->p.cooldown);
    } else {
      gauth__log(ks->log, GAUTH_LOG_DEBUG,
                 "unknown kid: fetching the key set from %s again", ks->url);
      (void)fetch_locked(ks, now, &drop);
    }
  }
  if (ks->set != NULL && ks->set != seen) hand_out_locked(ks, out, fresh_until);
  pthread_mutex_unlock(&ks->mu);
  gauth_keyset_free(drop);
  return GAUTH_OK;
}

gauth_status gauth__keysource_refresh(gauth__keysource *ks, gauth_error *err) {
  gauth_keyset *drop = NULL;
  gauth_status st;
  if (ks == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth__keysource_refresh: NULL argument");
  pthread_mutex_lock(&ks->mu);
  if (ks->fetching) {
    st = wait_locked(ks, err);
  } else {
    st = fetch_locked(ks, now_s(ks), &drop);
    if (st != GAUTH_OK) gauth__error_copy(err, &ks->last_err);
  }
  pthread_mutex_unlock(&ks->mu);
  gauth_keyset_free(drop);
  return st;
}
