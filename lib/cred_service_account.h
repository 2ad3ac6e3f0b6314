/* Internal: service-account keys. The key file's members, and the pure
 * builders behind lib/cred_service_account.c: the claims of the
 * jwt-bearer assertion (access and ID tokens), of self-signed JWT access
 * tokens, and the token request's form body. No I/O: unit-tested alone.
 *
 * Wire format (DESIGN.md): assertion header {"alg":"RS256","typ":"JWT",
 * "kid":private_key_id}; claims iss = client_email, scope (space-joined)
 * or target_audience, aud = token_uri, iat = now - GAUTH__ASSERTION_BACKDATE,
 * exp = iat + GAUTH__ASSERTION_LIFETIME, sub when acting as a user. */
#ifndef GAUTH_LIB_CRED_SERVICE_ACCOUNT_H
#define GAUTH_LIB_CRED_SERVICE_ACCOUNT_H

#include <cjson/cJSON.h>

#include "common.h"

/* The members of a service_account key file that libgauth uses. */
typedef struct gauth__sa_info {
  char *client_email;     /* required, non-empty */
  char *private_key_id;   /* required, non-empty: the assertions' kid */
  gauth_key *key;         /* "private_key": RSA, private; kid set */
  char *token_uri;        /* NULL when the file has none */
  char *project_id;       /* NULL: none */
  char *universe_domain;  /* NULL when the file has none */
  char *quota_project_id; /* NULL: none */
} gauth__sa_info;

/* Reads and checks the members above from a parsed key file (an object).
 * GAUTH_E_MALFORMED naming the member (missing, mistyped, empty; a
 * private_key that is not a private RSA key PEM), GAUTH_E_UNSUPPORTED
 * (an encrypted key). Messages never hold the key. On failure *out holds
 * nothing. */
gauth_status gauth__sa_info_parse(const cJSON *json, gauth__sa_info *out,
                                  gauth_error *err);

/* Frees what info holds (the key's memory is wiped) and zeroes it. */
void gauth__sa_info_cleanup(gauth__sa_info *info);

/* Claims of an access-token assertion, compact JSON (free with free()):
 * {"iss":email,["sub":subject,]"aud":audience,"scope":scope,"iat":..,
 * "exp":..}. subject NULL: no sub. */
gauth_status gauth__sa_access_claims(const char *email, const char *audience,
                                     const char *scope, const char *subject,
                                     int64_t now, char **out, gauth_error *err);

/* Claims of an ID-token assertion: {"iss","aud","target_audience","iat",
 * "exp"} (no scope, no sub). */
gauth_status gauth__sa_id_claims(const char *email, const char *audience,
                                 const char *target_audience, int64_t now,
                                 char **out, gauth_error *err);

/* Claims of a self-signed JWT access token: {"iss":email,"sub":email,
 * "aud":jwt_audience,...} when jwt_audience is not NULL, else
 * {"iss","sub","scope":scope,...}; iat and exp as assertions. */
gauth_status gauth__sa_self_signed_claims(const char *email, const char *scope,
                                          const char *jwt_audience, int64_t now,
                                          char **out, gauth_error *err);

/* The token request body: grant_type=urn:ietf:params:oauth:grant-type:
 * jwt-bearer&assertion=JWS (form-encoded). Free with gauth__secret_strfree
 * (it holds the assertion). */
gauth_status gauth__sa_token_body(const char *assertion, char **out,
                                  gauth_error *err);

/* 1 when access tokens are self-signed JWTs: mode ALWAYS, or AUTO and the
 * universe domain is not googleapis.com (GAUTH_SELF_SIGNED_JWT_*). */
int gauth__sa_use_self_signed(int mode, const char *universe_domain);

#endif /* GAUTH_LIB_CRED_SERVICE_ACCOUNT_H */
