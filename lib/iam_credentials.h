/* Internal: the IAM Credentials API (generateAccessToken, generateIdToken,
 * signBlob, signJwt on .../v1/projects/-/serviceAccounts/EMAIL:ACTION),
 * shared by impersonation (cred_impersonated.c), external accounts
 * (cred_external.c) and, through gauth__iamcredentials_sign_blob /
 * gauth__iamcredentials_sign_jwt, metadata credentials. Not to be confused
 * with the IAM policy service (testIamPermissions: iam.c, iam_internal.h).
 *
 * sa_email is always the service account the call acts on (its email).
 * The builders and parsers below are pure and unit-tested; the calls go
 * through the credential's HTTP transport. A 403 that names a missing
 * permission is rewritten to say which principal lacks which permission on
 * which account (for a delegation chain: which hop; finding it costs one
 * generateAccessToken probe per delegate, made only after such a 403), and
 * keeps Google's own message at the end. */
#ifndef GAUTH_LIB_IAM_CREDENTIALS_H
#define GAUTH_LIB_IAM_CREDENTIALS_H

#include "credentials_internal.h"

/* ---- pure --------------------------------------------------------------- */

/* The email in `account`: an email, or projects/P/serviceAccounts/EMAIL.
 * `what` names the argument or member in the message; code is the status
 * of a refusal (GAUTH_E_INVALID_ARG for arguments, GAUTH_E_MALFORMED for
 * files). Free *email with free(). */
gauth_status gauth__iamcredentials_parse_sa_email(const char *account,
                                                  const char *what,
                                                  gauth_status code,
                                                  char **email,
                                                  gauth_error *err);

/* The email in a service_account_impersonation_url
 * (https://HOST/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken).
 * GAUTH_E_MALFORMED naming `what` (the member) otherwise. */
gauth_status gauth__iamcredentials_sa_email_from_url(const char *url,
                                                     const char *what,
                                                     char **email,
                                                     gauth_error *err);

/* Request bodies (cJSON_Delete them). delegates: NULL or NULL-terminated
 * emails, sent as projects/-/serviceAccounts/EMAIL (left out when empty).
 * NULL when out of memory. */
cJSON *gauth__iamcredentials_access_token_body(const char *const *scopes,
                                               size_t n,
                                               const char *const *delegates,
                                               unsigned int lifetime_seconds);
cJSON *gauth__iamcredentials_id_token_body(const char *audience,
                                           int include_email,
                                           const char *const *delegates);
gauth_status gauth__iamcredentials_sign_blob_body(const void *data, size_t len,
                                                  const char *const *delegates,
                                                  cJSON **out,
                                                  gauth_error *err);
cJSON *gauth__iamcredentials_sign_jwt_body(const char *claims_json,
                                           const char *const *delegates);

/* Replies. GAUTH_E_BAD_RESPONSE naming a missing or mistyped member (never
 * a value). */
gauth_status gauth__iamcredentials_access_token_parse(const char *body,
                                                      size_t len,
                                                      gauth__token *out,
                                                      gauth_error *err);
gauth_status gauth__iamcredentials_id_token_parse(const char *body, size_t len,
                                                  gauth__token *out,
                                                  gauth_error *err);
/* *sig: free with gauth_free(); *key_id (when key_id is not NULL) too. */
gauth_status gauth__iamcredentials_sign_blob_parse(const char *body, size_t len,
                                                   unsigned char **sig,
                                                   size_t *sig_len,
                                                   char **key_id,
                                                   gauth_error *err);
gauth_status gauth__iamcredentials_sign_jwt_parse(const char *body, size_t len,
                                                  char **jwt, char **key_id,
                                                  gauth_error *err);

/* The permission an action needs ("generateIdToken" ->
 * "iam.serviceAccounts.getOpenIdToken"); NULL for an unknown action. */
const char *gauth__iamcredentials_permission(const char *action);

/* Rewrites err (a 403 of IAM Credentials, Google's text in its message)
 * into "ACTION on SA_EMAIL: FROM lacks PERMISSION on TO[ (hop K of N)];
 * grant it roles/iam.serviceAccountTokenCreator on TO. Google: ...".
 * hop 0: no chain (FROM is the caller); hop_count 0: the hop is unknown
 * (from/to NULL). */
void gauth__iamcredentials_denied_message(gauth_error *err, const char *action,
                                          const char *sa_email,
                                          const char *from, const char *to,
                                          const char *permission, size_t hop,
                                          size_t hop_count);

/* ---- calls -------------------------------------------------------------- */

/* Who calls IAM Credentials, and how. */
typedef struct gauth__iamcredentials_caller {
  gauth__http *http;
  const gauth__config *cfg;
  const char *const *headers; /* "Authorization: Bearer T" (+ others) */
  const char *bearer;         /* T, redacted from logs and messages */
  /* The principal for messages: source's email when it has one, else its
   * type and origin. source NULL: `principal`. */
  gauth_credentials *source;
  const char *principal;
  /* generateAccessToken at this URL (a file's impersonation URL) instead
   * of the iamcredentials service URL. NULL: the service's. */
  const char *access_token_url;
} gauth__iamcredentials_caller;

/* A caller authenticated by creds' own (cached) cloud-platform token:
 * fills *c (borrowing creds) and the headers and token it points to. Free
 * *headers and *token with gauth__auth_headers_free once the calls are
 * done. */
gauth_status gauth__iamcredentials_caller_of(gauth_credentials *creds,
                                             gauth__iamcredentials_caller *c,
                                             char ***headers, char **token,
                                             gauth_error *err);

gauth_status gauth__iamcredentials_generate_access_token(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const char *const *scopes, size_t n,
    unsigned int lifetime_seconds, gauth__token *out, gauth_error *err);

gauth_status gauth__iamcredentials_generate_id_token(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const char *audience, int include_email,
    gauth__token *out, gauth_error *err);

/* The token a credential's request asks for, as sa_email:
 * generateAccessToken (req's scopes, lifetime_seconds) or generateIdToken
 * (req's audience; the email claim with GAUTH_ID_TOKEN_INCLUDE_EMAIL). */
gauth_status gauth__iamcredentials_generate_token(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const gauth__token_request *req,
    unsigned int lifetime_seconds, gauth__token *out, gauth_error *err);

gauth_status gauth__iamcredentials_caller_sign_blob(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const void *data, size_t len,
    unsigned char **sig, size_t *sig_len, char **key_id, gauth_error *err);

gauth_status gauth__iamcredentials_caller_sign_jwt(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const char *claims_json, char **jwt,
    gauth_error *err);

/* signBlob / signJwt on sa_email through delegates, as `caller` (with its
 * own cloud-platform token); used by impersonation, by external accounts
 * with service_account_impersonation_url, and by metadata credentials. */
gauth_status gauth__iamcredentials_sign_blob(
    gauth_credentials *caller, const char *sa_email,
    const char *const *delegates, const void *data, size_t len,
    unsigned char **sig, size_t *sig_len, char **key_id, gauth_error *err);
gauth_status gauth__iamcredentials_sign_jwt(gauth_credentials *caller,
                                            const char *sa_email,
                                            const char *const *delegates,
                                            const char *claims_json, char **jwt,
                                            gauth_error *err);

#endif /* GAUTH_LIB_IAM_CREDENTIALS_H */
