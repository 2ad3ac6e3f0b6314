/* libgauth: credentials — access tokens and ID tokens from whatever the
 * environment has.
 *
 *     gauth_credentials *creds;
 *     char *token;
 *     if (gauth_credentials_default(&creds, NULL, &err) == GAUTH_OK &&
 *         gauth_credentials_access_token(creds, NULL, &token, NULL, &err)
 *             == GAUTH_OK) {
 *       ... "Authorization: Bearer " token ...
 *       gauth_free(token);
 *     }
 *     gauth_credentials_free(creds);
 *
 * SOURCES. A credential is built from a JSON credentials file (a service
 * account key, gcloud's authorized_user file, an impersonated_service_account
 * file or an external_account file for workload identity federation), from
 * the metadata server (GCE, Cloud Run, GKE, Cloud Functions), from another
 * credential (impersonation), or by Application Default Credentials, which
 * look in that order: GOOGLE_APPLICATION_CREDENTIALS, gcloud's
 * application_default_credentials.json ($CLOUDSDK_CONFIG, else
 * ~/.config/gcloud), the metadata server when detected (gauth/metadata.h).
 *
 * CACHE. Every credential caches its tokens, one per scope set and one per
 * (audience, flags). A cached token is returned until `refresh_early_seconds`
 * (default 225) before it expires; then one caller refreshes it while the
 * others keep getting the current token; if that refresh fails and the token
 * is still valid, the token keeps serving and the failure is logged (warn).
 * An expired token is never returned. When no valid token exists, any number
 * of threads asking at once cause exactly one request, and all of them get
 * its result (the token or the error). A token whose lifetime is shorter
 * than twice refresh_early_seconds is refreshed after half its lifetime.
 * Each credential keeps at most 64 cached keys; beyond that, a new
 * scope set or audience is fetched on every call (and a warning logged once).
 *
 * SECRETS. Tokens, refresh tokens, client secrets, private keys, assertions
 * and subject tokens never appear in a log line or an error message. Token
 * strings returned to the caller are wiped by gauth_free().
 *
 * THREAD SAFETY: a gauth_credentials may be used by any number of threads at
 * once, including its free by the last holder of a reference. The clock and
 * log callbacks may be called from any thread that uses the credential.
 * Constructors read the environment: do not setenv() concurrently. */
#ifndef GAUTH_CREDENTIALS_H
#define GAUTH_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/error.h>
#include <gauth/export.h>
#include <gauth/options.h>

GAUTH_BEGIN_DECLS

typedef struct gauth_credentials gauth_credentials;

typedef enum gauth_credentials_type {
  GAUTH_CREDENTIALS_SERVICE_ACCOUNT = 1,  /* a service account key */
  GAUTH_CREDENTIALS_AUTHORIZED_USER = 2,  /* gcloud's user credentials */
  GAUTH_CREDENTIALS_IMPERSONATED = 3,     /* IAM Credentials over a source */
  GAUTH_CREDENTIALS_EXTERNAL_ACCOUNT = 4, /* workload identity federation */
  GAUTH_CREDENTIALS_METADATA = 5          /* the metadata server */
} gauth_credentials_type;

/* A short stable name ("service_account", "authorized_user",
 * "impersonated_service_account", "external_account", "metadata"), as in
 * the "type" member of credentials files. Never NULL; static. */
GAUTH_API const char *gauth_credentials_type_name(gauth_credentials_type type);

/* The scope of an access token for Google Cloud APIs, and the default of
 * gauth_credentials_access_token(): what Cloud Run's Admin API (a job's
 * :run), IAM and most Google APIs take. */
#define GAUTH_SCOPE_CLOUD_PLATFORM \
  "https://www.googleapis.com/auth/cloud-platform"

/* Values of gauth_credentials_options.self_signed_jwt. */
#define GAUTH_SELF_SIGNED_JWT_AUTO \
  0 /* when the universe is not googleapis.com */
#define GAUTH_SELF_SIGNED_JWT_ALWAYS       \
  1 /* service-account access tokens never \
       touch the network */
#define GAUTH_SELF_SIGNED_JWT_NEVER 2

#define GAUTH_CREDENTIALS_OPTIONS_VERSION 1

typedef struct gauth_credentials_options {
  /* Must be GAUTH_CREDENTIALS_OPTIONS_VERSION (the _INIT macro sets it). */
  unsigned int version;
  /* Endpoints, HTTP limits, retries and logging; copied. NULL: defaults. */
  const gauth_options *options;
  /* Sent as x-goog-user-project on API calls; wins over the file's
   * quota_project_id. NULL: the file's, else GOOGLE_CLOUD_QUOTA_PROJECT. */
  const char *quota_project;
  /* Service-account keys: the user to act as (domain-wide delegation, the
   * assertion's "sub"). NULL: none. */
  const char *subject;
  /* Service-account keys: GAUTH_SELF_SIGNED_JWT_*. A self-signed JWT access
   * token carries "scope" (the requested scopes), or "aud" = jwt_audience
   * when that is set; it is valid for one hour. */
  int self_signed_jwt;
  const char *jwt_audience; /* e.g. "https://pubsub.googleapis.com/" */
  /* Refresh this long before expiry. 0: 225 s. */
  unsigned int refresh_early_seconds;
  /* Impersonation: lifetime asked of generateAccessToken. 0: 3600 s
   * (more than 3600 needs an organisation policy exception). */
  unsigned int token_lifetime_seconds;
  /* Injected clock (seconds). NULL: the system clock. */
  gauth_clock_fn clock;
  void *clock_userdata;
} gauth_credentials_options;

/* Every field spelled out: no -Wmissing-field-initializers in C or C++. */
#define GAUTH_CREDENTIALS_OPTIONS_INIT                     \
  {                                                        \
    GAUTH_CREDENTIALS_OPTIONS_VERSION, NULL, NULL, NULL,   \
        GAUTH_SELF_SIGNED_JWT_AUTO, NULL, 0, 0, NULL, NULL \
  }

/* ---- constructors ----------------------------------------------------
 * Each writes a new credential (one reference) to *out, or NULL on failure.
 * copts NULL: all defaults. Nothing is fetched from the network by a
 * constructor except gauth_credentials_default(), which may probe for the
 * metadata server. */

/* From a credentials file: "type" is service_account, authorized_user,
 * impersonated_service_account or external_account. Errors: GAUTH_E_IO
 * (unreadable; the message names the path), GAUTH_E_MALFORMED (not JSON, a
 * missing or mistyped member, a bad key; the message names the member),
 * GAUTH_E_UNSUPPORTED (an unknown type, an executable or certificate
 * subject-token source, an AWS environment_id other than aws1),
 * GAUTH_E_TOO_LARGE (over 64 KiB), GAUTH_E_INVALID_ARG. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_from_file(
    gauth_credentials **out, const char *path,
    const gauth_credentials_options *copts, gauth_error *err);

/* The same from the file's contents (len bytes, need not be
 * NUL-terminated). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_from_json(
    gauth_credentials **out, const char *json, size_t len,
    const gauth_credentials_options *copts, gauth_error *err);

/* The metadata server's default service account. No request is made here:
 * a missing server shows on the first token request. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_from_metadata(
    gauth_credentials **out, const gauth_credentials_options *copts,
    gauth_error *err);

/* Impersonation of target_email (an email, or
 * projects/-/serviceAccounts/EMAIL) through IAM Credentials, authenticated
 * by `source` (a reference is taken), through the delegation chain
 * `delegates` (NULL or NULL-terminated emails; the source must be able to
 * act as the first delegate, each delegate as the next, and the last as
 * the target). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_impersonate(
    gauth_credentials **out, gauth_credentials *source,
    const char *target_email, const char *const *delegates,
    const gauth_credentials_options *copts, gauth_error *err);

/* Application Default Credentials (see SOURCES). GAUTH_E_NO_CREDENTIALS
 * when nothing is found; the message lists what was tried, in order, and
 * why each was passed over. A GOOGLE_APPLICATION_CREDENTIALS that names a
 * missing or bad file is that file's error, not a fall-through. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_default(
    gauth_credentials **out, const gauth_credentials_options *copts,
    gauth_error *err);

GAUTH_API void gauth_credentials_up_ref(gauth_credentials *creds);
GAUTH_API void gauth_credentials_free(gauth_credentials *creds);

/* ---- tokens ---------------------------------------------------------- */

/* An OAuth access token for `scopes` (NULL or NULL-terminated; NULL or
 * empty: https://www.googleapis.com/auth/cloud-platform). Writes the token
 * to *token (free with gauth_free()) and, when expires_at is not NULL, its
 * expiry in seconds since the epoch (0 when the server gave none).
 * Authorized-user credentials get the scopes their refresh token was granted
 * whatever is asked. Errors: those of the source's server
 * (GAUTH_E_UNAUTHENTICATED for invalid_grant, GAUTH_E_PERMISSION_DENIED with
 * the missing permission named, GAUTH_E_UNAVAILABLE, ...), GAUTH_E_NETWORK
 * and GAUTH_E_TIMEOUT, GAUTH_E_BAD_RESPONSE. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_access_token(
    gauth_credentials *creds, const char *const *scopes, char **token,
    int64_t *expires_at, gauth_error *err);

/* Flags of gauth_credentials_id_token(). */
#define GAUTH_ID_TOKEN_INCLUDE_EMAIL    \
  0x1u /* impersonation: "email" claim  \
          (service-account and metadata \
          ID tokens always carry it) */

/* An OIDC ID token whose "aud" is `audience` (for a Cloud Run service: its
 * URL). Writes the token to *token (free with gauth_free()) and its "exp"
 * to *expires_at when not NULL. Authorized-user credentials return the ID
 * token of the refresh reply, whose audience is the OAuth client, not
 * `audience`; when the server sends none the error says to impersonate a
 * service account instead. External accounts need impersonation for ID
 * tokens (GAUTH_E_UNSUPPORTED otherwise). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_id_token(
    gauth_credentials *creds, const char *audience, unsigned int flags,
    char **token, int64_t *expires_at, gauth_error *err);

/* ---- identity and signing ------------------------------------------- */

GAUTH_API gauth_credentials_type
gauth_credentials_get_type(const gauth_credentials *creds);

/* Where the credential came from, for messages and `gauth doctor`:
 * "GOOGLE_APPLICATION_CREDENTIALS=/path/key.json", "gcloud ADC file
 * /home/u/.config/gcloud/application_default_credentials.json", "metadata
 * server (metadata.google.internal)", "impersonation of EMAIL", "file
 * PATH", "JSON". Borrowed; never NULL. */
GAUTH_API const char *gauth_credentials_origin(const gauth_credentials *creds);

/* The quota project sent as x-goog-user-project, or NULL. Borrowed. */
GAUTH_API const char *gauth_credentials_quota_project(
    const gauth_credentials *creds);

/* The service account's email: the key's client_email, the impersonation
 * target, the metadata server's default account (one request, then
 * remembered). GAUTH_E_UNSUPPORTED for authorized-user credentials and
 * external accounts without impersonation. Free *email with gauth_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_email(
    gauth_credentials *creds, char **email, gauth_error *err);

/* The project: GOOGLE_CLOUD_PROJECT, GCLOUD_PROJECT, the credentials file
 * (project_id; quota_project_id for users; the audience's project number
 * for external accounts), the metadata server. GAUTH_E_NOT_FOUND when none
 * knows. Free *project with gauth_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_project_id(
    gauth_credentials *creds, char **project, gauth_error *err);

/* Signs `data` as the service account (RSASSA-PKCS1-v1_5 with SHA-256):
 * locally with a service-account key, through IAM Credentials signBlob for
 * impersonated and metadata credentials. Writes the signature to *sig
 * (*sig_len bytes, free with gauth_free()) and, when key_id is not NULL,
 * the signing key's id (free with gauth_free()). GAUTH_E_UNSUPPORTED for
 * authorized-user credentials. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_credentials_sign_blob(
    gauth_credentials *creds, const void *data, size_t len, unsigned char **sig,
    size_t *sig_len, char **key_id, gauth_error *err);

/* Signs a JWT whose claims are the JSON object claims_json, as the service
 * account: locally (RS256, kid = the key's id) with a key, through IAM
 * Credentials signJwt for impersonated and metadata credentials. Free
 * *jwt with gauth_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_credentials_sign_jwt(gauth_credentials *creds, const char *claims_json,
                           char **jwt, gauth_error *err);

GAUTH_END_DECLS

#endif /* GAUTH_CREDENTIALS_H */
