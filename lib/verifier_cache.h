/* Internal: the verified-token cache of a verifier.
 *
 * Keyed by the whole compact token: an entry keeps a copy (wiped when it is
 * dropped) and a lookup compares all of it in constant time; the bucket is
 * chosen by the token's last (signature) characters. The value is the token's
 * gauth_claims (a reference) and `not_after`, the time from which the entry
 * is never returned: the caller passes min(token exp, key set freshness),
 * so that no cached verification outlives the keys that made it.
 *
 * A hit is returned only inside the entry's validity window (see _put), so
 * it skips parsing, the signature and the claim checks, never the clock.
 *
 * Bounded: a set-associative table of at most `entries` slots (4 ways per
 * bucket); a new entry takes an empty or expired way of its bucket, else
 * the least recently used one. Buckets are guarded by striped read-write locks
 * (a hit reads).
 *
 * THREAD SAFETY: every function is thread-safe, except _free. */
#ifndef GAUTH_LIB_VERIFIER_CACHE_H
#define GAUTH_LIB_VERIFIER_CACHE_H

#include "common.h"

typedef struct gauth__verifier_cache gauth__verifier_cache;

/* A cache of at most `entries` tokens (entries > 0). */
gauth_status gauth__verifier_cache_new(gauth__verifier_cache **out,
                                       size_t entries, gauth_error *err);
void gauth__verifier_cache_free(gauth__verifier_cache *c);

/* The claims cached for token (*out gets a reference), when present,
 * not_before <= now < not_after, and verified with the key set whose serial
 * is set_serial (the current one: an entry of a replaced set is a miss);
 * else *out is NULL. Returns 1 on a hit. */
int gauth__verifier_cache_get(gauth__verifier_cache *c, const char *token,
                              size_t len, int64_t now, uint64_t set_serial,
                              gauth_claims **out);

/* Caches claims (takes its own reference) for token, valid from not_before
 * (inclusive) until not_after (exclusive): the window in which every
 * time-dependent check of the token passes, so that a hit needs no claim
 * check at all (the other checks depend on the token alone). Nothing is
 * stored when not_after <= now or memory runs out: a cache may always
 * forget. */
void gauth__verifier_cache_put(gauth__verifier_cache *c, const char *token,
                               size_t len, gauth_claims *claims,
                               int64_t not_before, int64_t not_after,
                               uint64_t set_serial, int64_t now);

/* Hits so far (for tests and diagnostics). */
uint64_t gauth__verifier_cache_hits(gauth__verifier_cache *c);

#endif /* GAUTH_LIB_VERIFIER_CACHE_H */
