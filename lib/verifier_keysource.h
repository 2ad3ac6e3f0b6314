/* Internal: the verifier's remote key set (JWKS or Google's PEM certificate
 * map) at one URL, fetched through the HTTP transport and cached.
 *
 * Freshness. A fetched set is fresh for Cache-Control max-age minus Age,
 * clamped to [min_ttl, max_ttl]; default_ttl without max-age; min_ttl with
 * no-store / no-cache. A caller that finds the set stale (or none) fetches.
 *
 * Failures. When a fetch fails and a previous set exists, that set keeps
 * serving until its freshness expiry + max_stale; past that, the fetch's
 * error is returned. After a failed fetch no other fetch starts for
 * `cooldown` seconds (the remembered error, or the stale set, is served
 * meanwhile), so that a dead server is not hammered once per token.
 *
 * Unknown kid. gauth__keysource_refetch() fetches again at most once per
 * `cooldown` seconds, measured from the last fetch of any kind: a key that
 * was not in a set fetched moments ago will not be in the next one, and a
 * stream of tokens with made-up kids must not turn into a stream of
 * fetches.
 *
 * Single flight. At most one fetch runs at a time; callers that need its
 * result wait for it (mutex + condition variable) instead of starting
 * their own. No lock is held during the HTTP call. The current set is
 * swapped under the mutex and handed out with gauth_keyset_up_ref, so a
 * caller keeps a consistent set for as long as it holds its reference.
 *
 * Time comes from the clock callback (seconds), so tests drive it.
 *
 * THREAD SAFETY: every function is thread-safe on one keysource, except
 * _free, which must not race with any other call. */
#ifndef GAUTH_LIB_VERIFIER_KEYSOURCE_H
#define GAUTH_LIB_VERIFIER_KEYSOURCE_H

#include "common.h"
#include "constants.h"
#include "http.h"

typedef struct gauth__keysource gauth__keysource;

typedef struct gauth__keysource_params {
  gauth_clock_fn clock; /* NULL: the system clock */
  void *clock_userdata;
  /* Seconds; 0 takes the default of gauth_verifier_options. */
  unsigned int default_ttl;
  unsigned int min_ttl;
  unsigned int max_ttl;
  unsigned int cooldown;
  unsigned int max_stale;
} gauth__keysource_params;

/* A source for url (copied; used as given: the transport applies endpoint
 * overrides). http is borrowed and must outlive the source; its config's
 * logger is used. No fetch happens here. GAUTH_E_INVALID_ARG when min_ttl
 * > max_ttl. */
gauth_status gauth__keysource_new(gauth__keysource **out, gauth__http *http,
                                  const char *url,
                                  const gauth__keysource_params *params,
                                  gauth_error *err);
void gauth__keysource_free(gauth__keysource *ks);

/* The current set (*out gets a reference: gauth_keyset_free it), fetching
 * first when there is none or it is stale. *fresh_until (may be NULL)
 * receives the time until which the set is fresh (in the past when a stale
 * set is being served after a failed refresh). Errors: the fetch's own
 * (GAUTH_E_NETWORK, GAUTH_E_UNAVAILABLE, GAUTH_E_MALFORMED, ...), the
 * message naming the URL. */
gauth_status gauth__keysource_get(gauth__keysource *ks, gauth_keyset **out,
                                  int64_t *fresh_until, gauth_error *err);

/* For a token whose kid `seen` (the set the caller got from _get) lacks:
 *   - when the current set is no longer `seen` (another caller refreshed),
 *     *out gets the current set, with no fetch;
 *   - else, outside the cooldown, fetches (or joins the fetch in flight)
 *     and *out gets the new set;
 *   - within the cooldown, or when the fetch fails, *out is NULL (the
 *     caller reports the unknown kid; a failure is logged).
 * Returns GAUTH_OK in all these cases; errors are only bad arguments. */
gauth_status gauth__keysource_refetch(gauth__keysource *ks,
                                      const gauth_keyset *seen,
                                      gauth_keyset **out, int64_t *fresh_until,
                                      gauth_error *err);

/* Fetches now, whatever the freshness or cooldown (or waits for the fetch
 * in flight). On failure the previous set, if any, stays (and is served
 * within max_stale). */
gauth_status gauth__keysource_refresh(gauth__keysource *ks, gauth_error *err);

/* Fetches started so far (for tests and diagnostics). */
unsigned int gauth__keysource_fetch_count(gauth__keysource *ks);

/* The serial of the current set (gauth_keyset's serial), 0 before the
 * first; lock-free: for the verified-token cache, whose entries hold only
 * while the set that verified them is current. */
uint64_t gauth__keysource_serial(gauth__keysource *ks);

/* The URL (borrowed). */
const char *gauth__keysource_url(const gauth__keysource *ks);

/* Freshness in seconds from a reply's Cache-Control and Age values (either
 * may be NULL), clamped as described above. Pure; exposed for tests. */
int64_t gauth__keysource_ttl(const char *cache_control, const char *age,
                             const gauth__keysource_params *params);

#endif /* GAUTH_LIB_VERIFIER_KEYSOURCE_H */
