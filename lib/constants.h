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

/* Text taken from a server's error reply is cut to this many bytes. */
#define GAUTH__ERROR_TEXT_MAX 200u

#endif /* GAUTH_LIB_CONSTANTS_H */
