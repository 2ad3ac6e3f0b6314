/* Internal: endpoints, lifetimes, limits and thresholds, in one place. */
#ifndef GAUTH_LIB_CONSTANTS_H
#define GAUTH_LIB_CONSTANTS_H

/* Google endpoints (before overrides). */
#define GAUTH__DEFAULT_UNIVERSE_DOMAIN "googleapis.com"
#define GAUTH__DEFAULT_METADATA_HOST "metadata.google.internal"
#define GAUTH__DEFAULT_METADATA_IP "169.254.169.254"
#define GAUTH__GOOGLE_CERTS_URL "https://www.googleapis.com/oauth2/v3/certs"
#define GAUTH__IAP_KEYS_URL "https://www.gstatic.com/iap/verify/public_key-jwk"

/* Scopes. The cloud-platform scope (the default of access tokens, and what
 * IAM Credentials and STS calls are made with) is public:
 * GAUTH_SCOPE_CLOUD_PLATFORM in gauth/credentials.h. */

/* Environment variables. */
#define GAUTH__ENV_ENDPOINT "GAUTH_ENDPOINT"
#define GAUTH__ENV_LOG "GAUTH_LOG"
#define GAUTH__ENV_METADATA_HOST "GCE_METADATA_HOST"
#define GAUTH__ENV_METADATA_IP "GCE_METADATA_IP"
#define GAUTH__ENV_METADATA_DETECTION "GAUTH_METADATA_DETECTION"

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

/* Credentials files, service-account keys, authorized users, ADC
 * (lib/cred_file.c, cred_service_account.c, cred_user.c, cred_adc.c). */
#define GAUTH__DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GAUTH__JWT_BEARER_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define GAUTH__CREDENTIALS_FILE_MAX_BYTES ((size_t)64 * 1024)
#define GAUTH__ASSERTION_BACKDATE 5    /* iat this far back: clock skew */
#define GAUTH__ASSERTION_LIFETIME 3600 /* exp - iat of assertions / JWTs */
#define GAUTH__ENV_APPLICATION_CREDENTIALS "GOOGLE_APPLICATION_CREDENTIALS"
#define GAUTH__ENV_CLOUDSDK_CONFIG "CLOUDSDK_CONFIG"
#define GAUTH__ADC_FILE_NAME "application_default_credentials.json"
#define GAUTH__GCLOUD_CONFIG_DIR ".config/gcloud" /* under $HOME */

/* Metadata server (lib/metadata.c). */
#define GAUTH__METADATA_PATH_PREFIX "computeMetadata/v1/"
#define GAUTH__METADATA_DMI_DIR "/sys/class/dmi/id"
#define GAUTH__METADATA_PROBE_TIMEOUT_MS 500u /* connect included */
/* The probe's timeout is what is left of the limit less this: libcurl wakes
 * up a few ms after a timeout (measured 2.5 ms here), and the detection as
 * a whole must end within the limit. */
#define GAUTH__METADATA_PROBE_SLACK_MS 10
#define GAUTH__METADATA_NEGATIVE_TTL_MS 10000u /* an absent answer is kept */
#define GAUTH__METADATA_DMI_MAX_BYTES 256u     /* read of one DMI file */
/* Custom metadata keys: [a-zA-Z0-9-_]+ "less than 128 bytes" (Compute
 * API, Metadata.items[].key). */
#define GAUTH__METADATA_KEY_MAX 127u
/* gauth_metadata_watch_next: the longest timeout_sec (an hour: a hold
 * longer than that is better made as several; and a connection that died
 * without a word is noticed within it), the time a long-poll attempt is
 * given beyond the hold, and the least time between two long-polls that
 * came back unchanged before their timeout (a server that ignores
 * wait_for_change is polled at most once a second, not spun against). */
#define GAUTH__METADATA_WATCH_MAX_TIMEOUT_S GAUTH_METADATA_WATCH_MAX_TIMEOUT_SEC
#define GAUTH__METADATA_WATCH_MARGIN_MS 10000u
#define GAUTH__METADATA_WATCH_MIN_INTERVAL_MS 1000u

/* AWS external accounts (lib/cred_external_aws.c). */
#define GAUTH__ENV_AWS_REGION "AWS_REGION"
#define GAUTH__ENV_AWS_DEFAULT_REGION "AWS_DEFAULT_REGION"
#define GAUTH__ENV_AWS_ACCESS_KEY_ID "AWS_ACCESS_KEY_ID"
#define GAUTH__ENV_AWS_SECRET_ACCESS_KEY "AWS_SECRET_ACCESS_KEY"
#define GAUTH__ENV_AWS_SESSION_TOKEN "AWS_SESSION_TOKEN"
#define GAUTH__AWS_IMDS_TIMEOUT_MS 5000u         /* per attempt */
#define GAUTH__AWS_IMDS_CONNECT_TIMEOUT_MS 2000u /* a link-local address */
#define GAUTH__AWS_IMDS_DEADLINE_MS 15000u       /* attempts and waits */
#define GAUTH__AWS_IMDSV2_TTL "300"              /* seconds, as Google's */
#define GAUTH__AWS_TOKEN_TYPE "urn:ietf:params:aws:token-type:aws4_request"

/* Credentials and their token cache (seconds). */
#define GAUTH__ENV_QUOTA_PROJECT "GOOGLE_CLOUD_QUOTA_PROJECT"
#define GAUTH__TOKEN_REFRESH_EARLY_SECONDS 225u
#define GAUTH__TOKEN_DEFAULT_LIFETIME_SECONDS 3600u

/* Text taken from a server's error reply is cut to this many bytes. */
#define GAUTH__ERROR_TEXT_MAX 200u

#endif /* GAUTH_LIB_CONSTANTS_H */
