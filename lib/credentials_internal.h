/* Internal: the credential object shared by every source, the source
 * interface, and what sources share (token replies, bearer headers).
 *
 * A gauth_credentials is built by one source constructor (service account,
 * authorized user, impersonation, external account, metadata) through
 * gauth__credentials_create(), which adds what every source has: resolved
 * options, one HTTP transport, the token cache (lib/cred_cache.h), the quota
 * project and the clock. The public token calls go through the cache; the
 * cache calls the source's fetch() only when it needs a new token. */
#ifndef GAUTH_LIB_CREDENTIALS_INTERNAL_H
#define GAUTH_LIB_CREDENTIALS_INTERNAL_H

#include <cjson/cJSON.h>

#include "common.h"
#include "config.h"
#include "http.h"
#include "log_internal.h"

/* A token the library holds. value is a secret: free with
 * gauth__token_cleanup (wipes). */
typedef struct gauth__token {
  char *value;
  int64_t expires_at; /* seconds since the epoch; 0: unknown */
} gauth__token;

void gauth__token_cleanup(gauth__token *t);

typedef enum gauth__token_kind {
  GAUTH__TOKEN_ACCESS = 0,
  GAUTH__TOKEN_ID = 1
} gauth__token_kind;

/* What the cache asks a source for. */
typedef struct gauth__token_request {
  gauth__token_kind kind;
  /* ACCESS: the scopes, never empty (the default already applied). */
  const char *const *scopes;
  size_t scope_count;
  /* ID: the audience (non-empty) and GAUTH_ID_TOKEN_* flags. */
  const char *audience;
  unsigned int flags;
} gauth__token_request;

/* The settings of gauth_credentials_options, resolved and owned. */
typedef struct gauth__cred_settings {
  char *quota_project;                 /* NULL: none */
  char *subject;                       /* NULL: none */
  int self_signed_jwt;                 /* GAUTH_SELF_SIGNED_JWT_* */
  char *jwt_audience;                  /* NULL: scope claim */
  unsigned int refresh_early_seconds;  /* resolved (225 default) */
  unsigned int token_lifetime_seconds; /* resolved (3600 default) */
  gauth_clock_fn clock;                /* NULL: system clock */
  void *clock_userdata;
} gauth__cred_settings;

/* One source. Every function gets the credential it belongs to; the
 * source's own state is gauth__credentials_impl(c). All may be called from
 * several threads at once: a source's state is immutable after its
 * constructor, or locked by the source. */
typedef struct gauth__source_vtable {
  gauth_credentials_type type;
  /* A fresh token (the cache is above). Must set out->expires_at when the
   * server tells (expires_in, expireTime, the JWT's exp). */
  gauth_status (*fetch)(gauth_credentials *c, const gauth__token_request *req,
                        gauth__token *out, gauth_error *err);
  /* NULL: GAUTH_E_UNSUPPORTED with a message naming the type. */
  gauth_status (*email)(gauth_credentials *c, char **out, gauth_error *err);
  /* The source's own idea of the project (file, metadata), asked after the
   * environment variables. NULL, or GAUTH_E_NOT_FOUND: none. */
  gauth_status (*project_id)(gauth_credentials *c, char **out,
                             gauth_error *err);
  /* NULL: GAUTH_E_UNSUPPORTED. Outputs as the public functions. */
  gauth_status (*sign_blob)(gauth_credentials *c, const void *data, size_t len,
                            unsigned char **sig, size_t *sig_len, char **key_id,
                            gauth_error *err);
  gauth_status (*sign_jwt)(gauth_credentials *c, const char *claims_json,
                           char **jwt, gauth_error *err);
  /* Frees the source's state (wiping secrets). */
  void (*free_impl)(void *impl);
} gauth__source_vtable;

/* Builds a credential around a source. Takes ownership of impl in every
 * case (on failure it is freed with vt->free_impl). copts may be NULL.
 * origin: see gauth_credentials_origin() (copied). file_quota_project: the
 * credentials file's quota_project_id (copied; may be NULL), used unless
 * copts names one. */
gauth_status gauth__credentials_create(gauth_credentials **out,
                                       const gauth_credentials_options *copts,
                                       const gauth__source_vtable *vt,
                                       void *impl, const char *origin,
                                       const char *file_quota_project,
                                       gauth_error *err);

/* Replaces the origin text (ADC says where it found the file). */
gauth_status gauth__credentials_set_origin(gauth_credentials *c,
                                           const char *origin,
                                           gauth_error *err);

void *gauth__credentials_impl(const gauth_credentials *c);
gauth__http *gauth__credentials_http(const gauth_credentials *c);
const gauth__config *gauth__credentials_config(const gauth_credentials *c);
const gauth__cred_settings *gauth__credentials_settings(
    const gauth_credentials *c);
const gauth__logger *gauth__credentials_logger(const gauth_credentials *c);
/* The credential's clock (seconds since the epoch). */
int64_t gauth__credentials_now(const gauth_credentials *c);

/* Headers for an API call authenticated by c: "Authorization: Bearer
 * TOKEN" (a cloud-platform access token through c's cache) and, when c has
 * a quota project, "x-goog-user-project: P". Writes a NULL-terminated array
 * to *headers and the token to *token (for the request's secrets list).
 * Free both with gauth__auth_headers_free. */
gauth_status gauth__credentials_auth_headers(gauth_credentials *c,
                                             char ***headers, char **token,
                                             gauth_error *err);
void gauth__auth_headers_free(char **headers, char *token);

/* POSTs form (an encoded body: gauth__sa_token_body,
 * gauth__user_refresh_body) to an OAuth token endpoint through c's
 * transport, secrets redacted from logs and messages, and parses the reply
 * as gauth__token_response_parse does at c's clock. */
gauth_status gauth__credentials_token_post(gauth_credentials *c,
                                           const char *url, const char *form,
                                           const char *const *secrets,
                                           gauth__token_kind kind,
                                           gauth__token *out, char **id_token,
                                           gauth_error *err);

/* ---- pure helpers shared by sources (lib/cred_token_response.c) ----- */

/* Parses an OAuth token endpoint reply: {"access_token","expires_in",
 * "token_type"} for ACCESS (token_type, when present, must be Bearer,
 * case-insensitive), {"id_token"} for ID (expires_at from the JWT's exp).
 * now: for expires_in. When id_token is not NULL and the reply carries an
 * "id_token" member next to an access token, a copy goes to *id_token
 * (authorized-user refresh replies). GAUTH_E_BAD_RESPONSE names a missing
 * or mistyped member, never a value. */
gauth_status gauth__token_response_parse(const char *body, size_t len,
                                         gauth__token_kind kind, int64_t now,
                                         gauth__token *out, char **id_token,
                                         gauth_error *err);

/* A token must be printable ASCII without spaces, at most 16 KiB: it goes
 * into an HTTP header. GAUTH_E_BAD_RESPONSE naming `member` (never the
 * value) otherwise. Every parser of a reply holding a token checks it. */
gauth_status gauth__token_text_check(const char *v, const char *member,
                                     gauth_error *err);

/* RFC 3339 ("2026-11-27T06:00:00Z", fractional seconds and offsets
 * accepted) to seconds since the epoch. GAUTH_E_MALFORMED otherwise. */
gauth_status gauth__rfc3339_parse(const char *s, int64_t *out,
                                  gauth_error *err);

/* The "exp" of a JWT, unverified. GAUTH_E_MALFORMED when it has none. */
gauth_status gauth__jwt_expiry(const char *jwt, int64_t *exp, gauth_error *err);

/* Joins scopes with sep (" " for assertions and STS, "," for the metadata
 * server). Free with free(). NULL when out of memory. */
char *gauth__scopes_join(const char *const *scopes, size_t n, char sep);

/* ---- constructors of each source (one file each) --------------------
 * json: the parsed credentials file (an object; borrowed). origin: for
 * gauth_credentials_origin(). Each validates every member it reads and
 * names the member in GAUTH_E_MALFORMED messages. */
gauth_status gauth__sa_credentials_new(gauth_credentials **out,
                                       const cJSON *json, const char *origin,
                                       const gauth_credentials_options *copts,
                                       gauth_error *err);
gauth_status gauth__user_credentials_new(gauth_credentials **out,
                                         const cJSON *json, const char *origin,
                                         const gauth_credentials_options *copts,
                                         gauth_error *err);
gauth_status gauth__impersonated_file_credentials_new(
    gauth_credentials **out, const cJSON *json, const char *origin,
    const gauth_credentials_options *copts, gauth_error *err);
gauth_status gauth__external_credentials_new(
    gauth_credentials **out, const cJSON *json, const char *origin,
    const gauth_credentials_options *copts, gauth_error *err);

/* Dispatches on "type". */
gauth_status gauth__credentials_from_json_text(
    gauth_credentials **out, const char *json, size_t len, const char *origin,
    const gauth_credentials_options *copts, gauth_error *err);

#endif /* GAUTH_LIB_CREDENTIALS_INTERNAL_H */
