/* Internal: endpoints, lifetimes, limits and thresholds, in one place. */
#ifndef GAUTH_LIB_CONSTANTS_H
#define GAUTH_LIB_CONSTANTS_H

/* Google endpoints (before overrides). */
#define GAUTH__DEFAULT_UNIVERSE_DOMAIN "googleapis.com"
#define GAUTH__DEFAULT_METADATA_HOST "metadata.google.internal"
#define GAUTH__DEFAULT_METADATA_IP "169.254.169.254"
#define GAUTH__GOOGLE_CERTS_URL "https://www.googleapis.com/oauth2/v3/certs"
#define GAUTH__IAP_KEYS_URL "https://www.gstatic.com/iap/verify/public_key-jwk"

/* Environment variables. */
#define GAUTH__ENV_ENDPOINT "GAUTH_ENDPOINT"
#define GAUTH__ENV_LOG "GAUTH_LOG"
#define GAUTH__ENV_METADATA_HOST "GCE_METADATA_HOST"
#define GAUTH__ENV_METADATA_IP "GCE_METADATA_IP"

/* HTTP transport defaults. */
#define GAUTH__DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define GAUTH__DEFAULT_TIMEOUT_MS 30000u
#define GAUTH__DEFAULT_MAX_RESPONSE_BYTES ((size_t)1024 * 1024)
#define GAUTH__MAX_REDIRECTS 5

/* Retry policy defaults. */
#define GAUTH__DEFAULT_MAX_ATTEMPTS 4u
#define GAUTH__DEFAULT_INITIAL_BACKOFF_MS 500u
#define GAUTH__DEFAULT_BACKOFF_MULTIPLIER 2.0
#define GAUTH__DEFAULT_MAX_BACKOFF_MS 16000u
#define GAUTH__DEFAULT_DEADLINE_MS 60000u

/* JSON parsing limits. */
#define GAUTH__JSON_DEFAULT_MAX_BYTES ((size_t)1024 * 1024)
#define GAUTH__JSON_DEFAULT_MAX_DEPTH 32u

/* Remote key sets (seconds; see gauth_verifier_options). */
#define GAUTH__KEYS_DEFAULT_TTL 3600u
#define GAUTH__KEYS_MIN_TTL 60u
#define GAUTH__KEYS_MAX_TTL 86400u
#define GAUTH__KEYS_REFETCH_COOLDOWN 60u
#define GAUTH__KEYS_MAX_STALE 3600u

/* Verification. */
#define GAUTH__DEFAULT_LEEWAY_SECONDS 30
#define GAUTH__IAP_MAX_LIFETIME_SECONDS 600

/* Text taken from a server's error reply is cut to this many bytes. */
#define GAUTH__ERROR_TEXT_MAX 200u

#endif /* GAUTH_LIB_CONSTANTS_H */
