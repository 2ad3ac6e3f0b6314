/* Internal: external_account credentials (workload identity federation):
 * the file's members, the subject token's extraction, the STS request and
 * reply. Pure functions, unit-tested; cred_external.c makes the calls. */
#ifndef GAUTH_LIB_CRED_EXTERNAL_H
#define GAUTH_LIB_CRED_EXTERNAL_H

#include "aws_sigv4.h"
#include "credentials_internal.h"

#define GAUTH__STS_GRANT "urn:ietf:params:oauth:grant-type:token-exchange"
#define GAUTH__STS_ACCESS_TOKEN "urn:ietf:params:oauth:token-type:access_token"
#define GAUTH__SUBJECT_TOKEN_MAX ((size_t)64 * 1024)

typedef enum gauth__subject_source {
  GAUTH__SUBJECT_FILE = 1,
  GAUTH__SUBJECT_URL = 2,
  GAUTH__SUBJECT_AWS = 3,       /* credential_source.environment_id aws1 */
  GAUTH__SUBJECT_EXECUTABLE = 4 /* credential_source.executable */
} gauth__subject_source;

/* The AWS source (lib/cred_external_aws.c) and the executable source
 * (lib/cred_external_exec.c), opaque here. */
typedef struct gauth__external_aws gauth__external_aws;
typedef struct gauth__external_exec gauth__external_exec;

/* An external_account file, validated. Every string owned (NULL: absent). */
typedef struct gauth__external_config {
  char *audience;
  char *subject_token_type;
  char *token_url;               /* NULL: the STS service URL */
  char *impersonation_url;       /* NULL: no impersonation */
  char *impersonation_email;     /* the email in impersonation_url */
  unsigned int lifetime_seconds; /* service_account_impersonation; 0: unset */
  gauth__subject_source source;
  char *path;                 /* FILE */
  char *url;                  /* URL */
  char **headers;             /* URL: "Name: value", NULL-terminated */
  int json_format;            /* format.type "json" */
  char *field_name;           /* format.subject_token_field_name */
  char *quota_project;        /* quota_project_id */
  char *user_project;         /* workforce_pool_user_project */
  char *client_id;            /* STS client authentication (Basic) */
  char *client_secret;        /* a secret: wiped */
  gauth__external_aws *aws;   /* AWS */
  gauth__external_exec *exec; /* EXECUTABLE */
} gauth__external_config;

/* Validates json (the file's object) into *out. GAUTH_E_MALFORMED naming
 * the member at fault (an AWS source needs the aws4_request
 * subject_token_type); GAUTH_E_UNSUPPORTED for certificate sources and
 * environment ids other than aws1, saying which are supported. On failure
 * *out holds nothing to free. */
gauth_status gauth__external_config_parse(const cJSON *json,
                                          gauth__external_config *out,
                                          gauth_error *err);
void gauth__external_config_cleanup(gauth__external_config *x);

/* The subject token in data (len bytes, a file's contents or a URL's
 * reply): text trimmed of surrounding whitespace, or the string member
 * field of a JSON object. `where` names the source in messages; code is
 * the status for bad content (GAUTH_E_MALFORMED for a file,
 * GAUTH_E_BAD_RESPONSE for a URL). Messages never show the content. Free
 * *token with gauth__secret_strfree. */
gauth_status gauth__subject_token_extract(const char *data, size_t len,
                                          int json_format, const char *field,
                                          const char *where, gauth_status code,
                                          char **token, gauth_error *err);

/* The STS token-exchange form for x, the requested scope (space-joined)
 * and the subject token. */
typedef struct gauth__sts_form {
  gauth__form_field fields[8];
  size_t n;
  char *options; /* {"userProject":...} when sent; owned */
} gauth__sts_form;

gauth_status gauth__sts_form_build(const gauth__external_config *x,
                                   const char *scope, const char *subject_token,
                                   gauth__sts_form *out, gauth_error *err);
void gauth__sts_form_cleanup(gauth__sts_form *f);

/* {"access_token","issued_token_type","token_type","expires_in"}:
 * issued_token_type, when present, must be the access-token type,
 * token_type Bearer (any case); expires_at = now + expires_in (0 when
 * absent). GAUTH_E_BAD_RESPONSE naming the member. */
gauth_status gauth__sts_reply_parse(const char *body, size_t len, int64_t now,
                                    gauth__token *out, gauth_error *err);

/* The project number of a workload identity pool audience
 * (//iam.googleapis.com/projects/NUMBER/locations/...). GAUTH_E_NOT_FOUND
 * for other audiences (workforce pools have none). Free with free(). */
gauth_status gauth__external_project_number(const char *audience, char **out,
                                            gauth_error *err);

/* GAUTH_E_UNSUPPORTED for credential_source.WHAT (VALUE, when not NULL),
 * naming the sources libgauth supports (file, url, environment_id aws1). */
gauth_status gauth__external_unsupported(const char *what, const char *value,
                                         gauth_error *err);

/* ---- AWS (lib/cred_external_aws.c) ---------------------------------------
 * credential_source {"environment_id":"aws1", "region_url", "url",
 * "regional_cred_verification_url", "imdsv2_session_token_url"} validated
 * into *out: the metadata URLs (region_url, url, imdsv2_session_token_url)
 * must be http:// to 169.254.169.254, [fd00:ec2::254] or loopback, the
 * verification URL (required) https:// (http:// to loopback).
 * GAUTH_E_UNSUPPORTED for another environment id or AWS version,
 * GAUTH_E_MALFORMED naming the member at fault. */
gauth_status gauth__external_aws_parse(const cJSON *src,
                                       gauth__external_aws **out,
                                       gauth_error *err);
void gauth__external_aws_free(gauth__external_aws *a);
/* The subject token: a signed GetCallerIdentity request for
 * x->audience, serialized as Google's STS expects it (URL-encoded JSON).
 * Region and credentials from the environment (AWS_REGION,
 * AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN) or the metadata service; signed at c's clock. Free
 * with gauth__secret_strfree. */
gauth_status gauth__external_aws_subject_token(gauth_credentials *c,
                                               const gauth__external_config *x,
                                               char **token, gauth_error *err);

/* The serialization alone (pure): percent-encoded
 * {"url":URL,"method":"POST","headers":[{"key":"Authorization",...},
 * {"key":"host",...},{"key":"x-amz-date",...},{"key":"x-amz-security-token",
 * ...} (when session_token),{"key":"x-goog-cloud-target-resource",...}]}.
 * Free *token with gauth__secret_strfree. */
gauth_status gauth__external_aws_serialize(const char *url,
                                           const gauth__sigv4_result *sig,
                                           const char *session_token,
                                           const char *audience, char **token,
                                           gauth_error *err);

/* The secrets inside an AWS subject token (the Authorization value, the
 * session token, the token's JSON text), for the STS request to redact if
 * STS echoes them: a NULL-terminated list into *out (free with
 * gauth__secret_strv_free), empty when token is not an AWS token. */
gauth_status gauth__external_aws_token_secrets(const char *token, char ***out,
                                               gauth_error *err);

/* The metadata service's replies (pure): each body (len bytes) is trimmed
 * of surrounding whitespace first. GAUTH_E_BAD_RESPONSE (never showing the
 * reply), GAUTH_E_NOMEM; on failure the outputs are NULL.
 *   - an availability zone ("us-east-2b") gives its region ("us-east-2":
 *     the last character dropped; lower-case letters, digits and '-', at
 *     most 64 bytes). Free *region with free().
 *   - a role name: 1 to 256 bytes, no blank, control, '/', '?', '#', '%' or
 *     '\\'. Free *role with free().
 *   - an IMDSv2 session token: one non-empty line. Free *token with
 *     gauth__secret_strfree.
 *   - security credentials {"AccessKeyId","SecretAccessKey","Token"}: the
 *     first two non-empty strings, Token optional (absent or empty: *session
 *     NULL). Free *key_id with free(), *secret and *session with
 *     gauth__secret_strfree. */
gauth_status gauth__aws_region_from_zone(const char *body, size_t len,
                                         char **region, gauth_error *err);
gauth_status gauth__aws_role_parse(const char *body, size_t len, char **role,
                                   gauth_error *err);
gauth_status gauth__aws_imdsv2_token_parse(const char *body, size_t len,
                                           char **token, gauth_error *err);
gauth_status gauth__aws_security_credentials_parse(const char *body, size_t len,
                                                   char **key_id, char **secret,
                                                   char **session,
                                                   gauth_error *err);

/* ---- executables (lib/cred_external_exec.c) -------------------------------
 * credential_source {"executable": {"command", "timeout_millis",
 * "output_file"}} validated into *out: command required (split on
 * whitespace, no quoting), timeout_millis 5000 to 120000 (absent or 0:
 * 30000), output_file optional; not next to "file" or "url".
 * GAUTH_E_MALFORMED naming the member. */
gauth_status gauth__external_exec_parse(const cJSON *src,
                                        gauth__external_exec **out,
                                        gauth_error *err);
void gauth__external_exec_free(gauth__external_exec *e);
/* What parse made of the file (for tests): the command's words
 * (NULL-terminated), the timeout and the output file (NULL: none). */
const char *const *gauth__external_exec_settings(const gauth__external_exec *e,
                                                 unsigned int *timeout_ms,
                                                 const char **output_file);
/* The subject token from the executable's response (or output_file's,
 * while valid). Refused (GAUTH_E_UNSUPPORTED) unless the environment has
 * GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1. GAUTH_E_TIMEOUT and
 * GAUTH_E_TOO_LARGE (output over GAUTH__EXEC_OUTPUT_MAX) after the
 * command's process group was killed; otherwise as
 * gauth__exec_response_parse. Messages never show the command's output,
 * except a failure response's code and message. Free *token with
 * gauth__secret_strfree. THREAD SAFETY: one run at a time per credential;
 * a thread that waited reuses the token the run gave while it is fresh.
 * Reads environ (the child's environment): a thread that calls setenv at
 * the same time races with it, as with any getenv. */
gauth_status gauth__external_exec_subject_token(gauth_credentials *c,
                                                const gauth__external_config *x,
                                                char **token, gauth_error *err);

/* The most an executable may print (more: killed, GAUTH_E_TOO_LARGE). */
#define GAUTH__EXEC_OUTPUT_MAX ((size_t)64 * 1024)

/* Validates an executable's response (json, len bytes):
 * {"version":1,"success":true,"token_type","id_token"|"saml_response",
 * "expiration_time"} or {"version":1,"success":false,"code","message"}.
 * token_type must be jwt or id_token (the token in "id_token") or saml2
 * ("saml_response"), and equal expected_type (the file's
 * subject_token_type) when that is not NULL. expiration_time (seconds
 * since the epoch) is required when need_expiry (the file names an
 * output_file). On success *token (free with gauth__secret_strfree) and
 * *expires_at (0: no expiration_time). Errors: GAUTH_E_BAD_RESPONSE naming
 * the member at fault; GAUTH_E_UNAUTHENTICATED for a failure response
 * (error_code = its code, the message quoting code and message) and for
 * an expired token (expiration_time < now). Never shows the token. */
gauth_status gauth__exec_response_parse(const char *json, size_t len,
                                        int64_t now, const char *expected_type,
                                        int need_expiry, char **token,
                                        int64_t *expires_at, gauth_error *err);

#endif /* GAUTH_LIB_CRED_EXTERNAL_H */
