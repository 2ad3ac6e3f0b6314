/* The verified-token cache (see verifier_cache.h).
 *
 * An entry holds a copy of the token it was verified for, and a lookup
 * compares the whole token in constant time (a forged token must not learn,
 * through timing, how much of a cached one it matches): eight bytes at a
 * time, which is a tenth of CRYPTO_memcmp's byte loop on an 800-byte
 * token. The bucket comes from the last bytes of the token, which end its
 * signature segment: only verified tokens are stored, and their signatures
 * cannot be chosen by anyone without the signing key, so they spread
 * evenly; a forged token that lands in a bucket costs at most WAYS
 * comparisons. (Finding the signature's first bytes meant a scan back to
 * the last '.'; hashing the whole token, SHA-256 or BLAKE2b, cost 0.5-0.7 us
 * per lookup here, most of a hit.) */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "secret.h"
#include "verifier_cache.h"

#define WAYS 4
/* Read-write locks shared by the buckets: a hit takes its stripe's lock
 * for reading, so that threads answering the same hot token (a Pub/Sub
 * push subscription's, reused for an hour) never wait for each other; an
 * insert takes it for writing. */
#define STRIPES 16
/* Signature characters that choose the bucket. */
#define BUCKET_CHARS 16

typedef struct slot {
  char *token; /* the verified token (wiped when dropped) */
  size_t len;
  gauth_claims *claims; /* NULL: empty */
  int64_t not_before;
  int64_t not_after;
  uint64_t set_serial; /* the key set that verified it */
  uint64_t used;       /* bucket tick of the last hit or insert (atomic: hits
                          update it under the read lock) */
} slot;

struct gauth__verifier_cache {
  size_t buckets;
  size_t ways;
  slot *slots;     /* buckets * ways */
  uint64_t *ticks; /* per bucket (atomic) */
  pthread_rwlock_t stripes[STRIPES];
  uint64_t hits; /* atomic */
};

gauth_status gauth__verifier_cache_new(gauth__verifier_cache **out,
                                       size_t entries, gauth_error *err) {
  gauth__verifier_cache *c;
  size_t i;
  if (out == NULL || entries == 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "token cache: no entries");
  *out = NULL;
  c = calloc(1, sizeof(*c));
  if (c == NULL) return gauth__error_nomem(err);
  c->ways = entries < WAYS ? entries : WAYS;
  c->buckets = entries / c->ways; /* never more slots than entries */
  c->slots = calloc(c->buckets * c->ways, sizeof(*c->slots));
  c->ticks = calloc(c->buckets, sizeof(*c->ticks));
  if (c->slots == NULL || c->ticks == NULL) {
    free(c->slots);
    free(c->ticks);
    free(c);
    return gauth__error_nomem(err);
  }
  for (i = 0; i < STRIPES; i++) pthread_rwlock_init(&c->stripes[i], NULL);
  *out = c;
  return GAUTH_OK;
}

static void slot_clear(slot *s) {
  if (s->token != NULL) gauth__secret_free(s->token, s->len);
  gauth_claims_free(s->claims);
  memset(s, 0, sizeof(*s));
}

void gauth__verifier_cache_free(gauth__verifier_cache *c) {
  size_t i;
  if (c == NULL) return;
  for (i = 0; i < c->buckets * c->ways; i++) slot_clear(&c->slots[i]);
  for (i = 0; i < STRIPES; i++) pthread_rwlock_destroy(&c->stripes[i]);
  free(c->slots);
  free(c->ticks);
  free(c);
}

uint64_t gauth__verifier_cache_hits(gauth__verifier_cache *c) {
  return c == NULL ? 0 : __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
}

/* The bucket of a token: FNV-1a over its last BUCKET_CHARS characters (all
 * of a shorter one), the end of its signature segment. */
static size_t bucket_of(const gauth__verifier_cache *c, const char *token,
                        size_t len) {
  const char *p = token + (len > BUCKET_CHARS ? len - BUCKET_CHARS : 0);
  const char *end = token + len;
  uint64_t h = 1469598103934665603ull;
  for (; p < end; p++) {
    h ^= (unsigned char)*p;
    h *= 1099511628211ull;
  }
  return (size_t)(h % c->buckets);
}

/* 1 when the n bytes at a and b are equal, in a time that depends on n
 * alone: every byte is read, differences are ORed together, and the only
 * branch is on the loop count. The empty asm keeps the compiler from
 * reasoning about the running OR (and so from stopping early). */
static int ct_equal(const char *a, const char *b, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; n - i >= 8; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    acc |= x ^ y;
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+r"(acc));
#endif
  }
  for (; i < n; i++)
    acc |= (uint64_t)((unsigned char)a[i] ^ (unsigned char)b[i]);
  return acc == 0;
}

static int same_token(const slot *s, const char *token, size_t len) {
  return s->claims != NULL && s->len == len && ct_equal(s->token, token, len);
}

static pthread_rwlock_t *lock_of(gauth__verifier_cache *c, size_t bucket) {
  return &c->stripes[bucket % STRIPES];
}

int gauth__verifier_cache_get(gauth__verifier_cache *c, const char *token,
                              size_t len, int64_t now, uint64_t set_serial,
                              gauth_claims **out) {
  size_t bucket, i;
  slot *b;
  int hit = 0;

  if (out == NULL) return 0;
  *out = NULL;
  if (c == NULL || token == NULL || len == 0) return 0;
  bucket = bucket_of(c, token, len);
  b = &c->slots[bucket * c->ways];
  pthread_rwlock_rdlock(lock_of(c, bucket));
  for (i = 0; i < c->ways; i++) {
    if (!same_token(&b[i], token, len)) continue;
    if (b[i].not_before <= now && now < b[i].not_after &&
        b[i].set_serial == set_serial) {
      gauth_claims_up_ref(b[i].claims);
      *out = b[i].claims;
      __atomic_store_n(
          &b[i].used,
          __atomic_add_fetch(&c->ticks[bucket], 1, __ATOMIC_RELAXED),
          __ATOMIC_RELAXED);
      hit = 1;
    }
    break;
  }
  pthread_rwlock_unlock(lock_of(c, bucket));
  if (hit) __atomic_fetch_add(&c->hits, 1, __ATOMIC_RELAXED);
  return hit;
}

/* The way a new entry takes: the same token's (two threads verified it at
 * once), else an empty one, else an expired one or one of a replaced key
 * set (set_serial is the current set's), else the least recently used. */
static size_t pick_way(const slot *b, size_t ways, const char *token,
                       size_t len, int64_t now, uint64_t set_serial) {
  size_t i, victim = 0;
  for (i = 0; i < ways; i++)
    if (same_token(&b[i], token, len)) return i;
  for (i = 0; i < ways; i++)
    if (b[i].claims == NULL) return i;
  for (i = 0; i < ways; i++)
    if (b[i].not_after <= now || b[i].set_serial != set_serial) return i;
  for (i = 1; i < ways; i++)
    if (b[i].used < b[victim].used) victim = i;
  return victim;
}

void gauth__verifier_cache_put(gauth__verifier_cache *c, const char *token,
                               size_t len, gauth_claims *claims,
                               int64_t not_before, int64_t not_after,
                               uint64_t set_serial, int64_t now) {
  slot old, *b;
  size_t bucket, victim;
  char *copy;

  if (c == NULL || token == NULL || len == 0 || claims == NULL ||
      not_after <= now)
    return;
  copy = malloc(len);
  if (copy == NULL) return; /* a cache may always forget */
  memcpy(copy, token, len);
  bucket = bucket_of(c, token, len);
  b = &c->slots[bucket * c->ways];
  gauth_claims_up_ref(claims);
  pthread_rwlock_wrlock(lock_of(c, bucket));
  victim = pick_way(b, c->ways, token, len, now, set_serial);
  old = b[victim];
  b[victim].token = copy;
  b[victim].len = len;
  b[victim].claims = claims;
  b[victim].not_before = not_before;
  b[victim].not_after = not_after;
  b[victim].set_serial = set_serial;
  b[victim].used = __atomic_add_fetch(&c->ticks[bucket], 1, __ATOMIC_RELAXED);
  pthread_rwlock_unlock(lock_of(c, bucket));
  /* Outside the lock: wiping and freeing need no one else's wait. */
  slot_clear(&old);
}
