/* Internal: the token cache every credential wraps around its source.
 *
 * One entry per key: (ACCESS, scope list) or (ID, audience, flags). An entry
 * holds the current token, its expiry and the time to refresh it:
 *   refresh_at = expires_at - min(refresh_early, lifetime / 2)
 * where lifetime is expires_at minus the time it was fetched.
 *
 *   now <  refresh_at              the token is returned; no lock is taken
 *                                  (a sequence lock over an inline copy)
 *   refresh_at <= now < expires_at one caller refreshes; the others get the
 *                                  current token; a failed refresh is logged
 *                                  and the current token served
 *   now >= expires_at, or none     the first caller fetches; the others wait
 *                                  for that one result (token or error)
 *
 * A token without an expiry is returned but not cached. Entries live until
 * the cache is freed; at most GAUTH__CRED_CACHE_MAX_ENTRIES, after which new
 * keys are fetched on every call (a warning is logged once).
 *
 * THREAD SAFETY: all functions but _free may run in any number of threads
 * at once; the fetch callback runs without any cache lock held. */
#ifndef GAUTH_LIB_CRED_CACHE_H
#define GAUTH_LIB_CRED_CACHE_H

#include "credentials_internal.h"

#define GAUTH__CRED_CACHE_MAX_ENTRIES 64
/* Tokens up to this size are served without a lock; longer ones through
 * the entry's mutex. */
#define GAUTH__CRED_CACHE_INLINE_BYTES 4096

typedef struct gauth__cred_cache gauth__cred_cache;

typedef gauth_status (*gauth__cred_fetch_fn)(void *ctx,
                                             const gauth__token_request *req,
                                             gauth__token *out,
                                             gauth_error *err);

/* refresh_early in seconds; clock NULL: the system clock; lg may be NULL. */
gauth_status gauth__cred_cache_new(gauth__cred_cache **out,
                                   unsigned int refresh_early,
                                   gauth_clock_fn clock, void *clock_userdata,
                                   const gauth__logger *lg, gauth_error *err);
void gauth__cred_cache_free(gauth__cred_cache *cache);

/* The token for req: from the cache, or from fetch(ctx, ...). Writes a copy
 * to *token (free with gauth_free) and its expiry to *expires_at (may be
 * NULL). */
gauth_status gauth__cred_cache_get(gauth__cred_cache *cache,
                                   const gauth__token_request *req,
                                   gauth__cred_fetch_fn fetch, void *ctx,
                                   char **token, int64_t *expires_at,
                                   gauth_error *err);

/* The lock-free path alone: GAUTH_OK with a copy when a token for req is
 * cached and needs no refresh; GAUTH_E_NOT_FOUND (err untouched) for
 * anything else. Requests that may not be valid can be asked here: only a
 * key equal to a stored one (validated when stored) can match. */
gauth_status gauth__cred_cache_try_fresh(gauth__cred_cache *cache,
                                         const gauth__token_request *req,
                                         char **token, int64_t *expires_at);

#endif /* GAUTH_LIB_CRED_CACHE_H */
