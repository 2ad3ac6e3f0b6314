/* libgauth: verifying JWTs: Google ID tokens, IAP assertions, any OIDC
 * issuer, or tokens signed by keys you hold.
 *
 *     const char *aud[] = {"https://my-service.example/", NULL};
 *     gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
 *     vo.preset = GAUTH_VERIFIER_GOOGLE;
 *     vo.audiences = aud;
 *     gauth_verifier *v;
 *     if (gauth_verifier_new(&v, &vo, &err) != GAUTH_OK) ...
 *     // then, from any thread:
 *     gauth_claims *c;
 *     if (gauth_verifier_verify(v, token, 0, &c, &err) == GAUTH_OK) ...
 *     else printf("rejected: %s: %s\n", err.reason, err.message);
 *
 * A verifier is configured once and then used from any number of threads.
 * Remote key sets are fetched through libgauth's HTTP transport and cached
 * (Cache-Control max-age minus Age, bounded; an unknown kid refetches at
 * most once per cooldown; a failed refresh keeps the last good set for a
 * bounded time; concurrent callers share one fetch).
 *
 * OWNERSHIP: the options struct and its strings are copied by
 * gauth_verifier_new. Claims returned by verify are the caller's
 * (gauth_claims_free).
 *
 * THREAD SAFETY: gauth_verifier_verify and gauth_verifier_refresh_keys are
 * thread-safe on one verifier. The clock callback and the log callback may
 * be called from any thread. */
#ifndef GAUTH_VERIFIER_H
#define GAUTH_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/error.h>
#include <gauth/export.h>
#include <gauth/jose.h>
#include <gauth/options.h>

GAUTH_BEGIN_DECLS

/* Rejection reasons (gauth_error.reason with GAUTH_E_VERIFY). Stable. */
#define GAUTH_REASON_MALFORMED "malformed"
#define GAUTH_REASON_TOO_LARGE "too_large"
#define GAUTH_REASON_ALG_NOT_ALLOWED "alg_not_allowed"
#define GAUTH_REASON_UNKNOWN_KID "unknown_kid"
#define GAUTH_REASON_AMBIGUOUS_KID "ambiguous_kid"
#define GAUTH_REASON_KEY_NOT_USABLE "key_not_usable"
#define GAUTH_REASON_SIGNATURE_INVALID "signature_invalid"
#define GAUTH_REASON_EXPIRED "expired"
#define GAUTH_REASON_NOT_YET_VALID "not_yet_valid"
#define GAUTH_REASON_ISSUED_IN_FUTURE "issued_in_future"
#define GAUTH_REASON_ISSUER_MISMATCH "issuer_mismatch"
#define GAUTH_REASON_AUDIENCE_MISMATCH "audience_mismatch"
#define GAUTH_REASON_MISSING_CLAIM "missing_claim"
#define GAUTH_REASON_CLAIM_MISMATCH "claim_mismatch"
#define GAUTH_REASON_LIFETIME_TOO_LONG "lifetime_too_long"
#define GAUTH_REASON_UNSUPPORTED_CRIT "unsupported_crit"
#define GAUTH_REASON_KEYS_UNAVAILABLE "keys_unavailable"
#define GAUTH_REASON_WRONG_TYPE "wrong_type" /* header "typ" not a JWT's */

typedef enum gauth_verifier_preset {
  /* issuers, and keys or jwks_url, must be given. Algorithms default to
   * RS256 and ES256. */
  GAUTH_VERIFIER_CUSTOM = 0,
  /* Google ID tokens: keys from https://www.googleapis.com/oauth2/v3/certs,
   * issuers accounts.google.com and https://accounts.google.com, RS256. */
  GAUTH_VERIFIER_GOOGLE = 1,
  /* IAP: keys from https://www.gstatic.com/iap/verify/public_key-jwk,
   * issuer https://cloud.google.com/iap, ES256, lifetime at most 600 s. */
  GAUTH_VERIFIER_IAP = 2,
  /* Any OIDC issuer: oidc_issuer's /.well-known/openid-configuration gives
   * jwks_uri (and must name the same issuer). RS256 and ES256. */
  GAUTH_VERIFIER_OIDC = 3
} gauth_verifier_preset;

#define GAUTH_VERIFIER_OPTIONS_VERSION 1

typedef struct gauth_verifier_options {
  unsigned int version; /* GAUTH_VERIFIER_OPTIONS_VERSION */
  gauth_verifier_preset preset;
  /* Accepted `aud` values, NULL-terminated; at least one is required. A
   * token passes when any of its audiences is in the list. */
  const char *const *audiences;
  /* Accepted `iss` values (exact match), NULL-terminated. NULL: the
   * preset's. */
  const char *const *issuers;
  const char *oidc_issuer; /* GAUTH_VERIFIER_OIDC: the issuer URL */
  /* Key set URL (a JWKS or Google's PEM certificate map). NULL: the
   * preset's. Endpoint overrides (gauth_options, GAUTH_ENDPOINT) apply. */
  const char *jwks_url;
  /* Fixed keys instead of a URL (the verifier takes a reference). */
  gauth_keyset *keys;
  /* Allowed algorithms, a mask of GAUTH_ALG_BIT(). 0: the preset's. */
  unsigned int algorithms;
  long leeway_seconds;          /* clock skew allowed; < 0: 30 */
  long max_lifetime_seconds;    /* exp - iat at most; 0: preset's (IAP
                                   600) or no limit; < 0: no limit */
  size_t max_token_bytes;       /* 0: 16 KiB */
  int require_email_verified;   /* 1: "email_verified" must be true */
  int require_email;            /* 1: "email" must be present */
  const char *hosted_domain;    /* "hd" must equal this */
  const char *authorized_party; /* "azp" must equal this */
  gauth_clock_fn clock;         /* NULL: the system clock */
  void *clock_userdata;
  /* Verified-token cache: at most this many tokens, each kept no longer
   * than its exp and the key set's freshness, and only while the key set
   * that verified it is the current one (a refreshed set verifies again).
   * 0: no cache. */
  size_t token_cache_entries;
  /* Remote key set caching, in seconds. 0: the default shown. */
  unsigned int keys_default_ttl;      /* without Cache-Control: 3600 */
  unsigned int keys_min_ttl;          /* 60 */
  unsigned int keys_max_ttl;          /* 86400 */
  unsigned int keys_refetch_cooldown; /* unknown kid refetch: 60 */
  unsigned int keys_max_stale;        /* serve the last good set after a
                                         failed refresh: 3600 */
  /* Transport, endpoints, logging. NULL: defaults and the environment. */
  const gauth_options *http;
} gauth_verifier_options;

/* Every field spelled out: no -Wmissing-field-initializers in C or C++. */
#define GAUTH_VERIFIER_OPTIONS_INIT                                           \
  {                                                                           \
    GAUTH_VERIFIER_OPTIONS_VERSION, GAUTH_VERIFIER_CUSTOM, NULL, NULL, NULL,  \
        NULL, NULL, 0, -1, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, \
        0, NULL                                                               \
  }

typedef struct gauth_verifier gauth_verifier;

/* Builds a verifier. No network access happens here (keys are fetched on
 * first use or by gauth_verifier_refresh_keys). Errors:
 * GAUTH_E_INVALID_ARG (no audience, no issuer for a custom verifier, no key
 * source, a bad option), GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_verifier_new(
    gauth_verifier **out, const gauth_verifier_options *opts, gauth_error *err);

GAUTH_API void gauth_verifier_up_ref(gauth_verifier *v);
GAUTH_API void gauth_verifier_free(gauth_verifier *v);

/* Verifies a compact JWS / JWT: structure, algorithm, key, signature, then
 * the claims (exp required; nbf, iat, iss, aud, lifetime and the optional
 * requirements). len 0 means strlen(token). On success *claims (when not
 * NULL) receives the verified claims. On rejection: GAUTH_E_VERIFY with
 * err->reason one of GAUTH_REASON_* and a message a person can act on. When
 * the keys cannot be fetched: GAUTH_E_VERIFY, reason "keys_unavailable",
 * with the transport's failure in the message. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_verifier_verify(gauth_verifier *v, const char *token, size_t len,
                      gauth_claims **claims, gauth_error *err);

/* Fetches the remote key set now (e.g. at start-up, to fail fast). A
 * verifier with fixed keys returns GAUTH_OK. Errors: the transport's
 * (GAUTH_E_UNAVAILABLE, GAUTH_E_RATE_LIMITED, GAUTH_E_NETWORK,
 * GAUTH_E_TIMEOUT, GAUTH_E_TOO_LARGE, ... after the retries),
 * GAUTH_E_BAD_RESPONSE for a reply (a key set, an OIDC discovery
 * document) that cannot be understood. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_verifier_refresh_keys(gauth_verifier *v, gauth_error *err);

GAUTH_END_DECLS

#endif /* GAUTH_VERIFIER_H */
