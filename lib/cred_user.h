/* Internal: authorized-user credentials (gcloud's
 * application_default_credentials.json): the file's members and the
 * refresh grant's body, pure (unit-tested without I/O). */
#ifndef GAUTH_LIB_CRED_USER_H
#define GAUTH_LIB_CRED_USER_H

#include <cjson/cJSON.h>

#include "common.h"

typedef struct gauth__user_info {
  char *client_id;        /* required, non-empty */
  char *client_secret;    /* required, non-empty; secret (wiped) */
  char *refresh_token;    /* required, non-empty; secret (wiped) */
  char *token_uri;        /* NULL when the file has none */
  char *quota_project_id; /* NULL: none */
} gauth__user_info;

/* Reads and checks the members above. GAUTH_E_MALFORMED naming the member
 * (missing, mistyped, empty), never its value. On failure *out holds
 * nothing. */
gauth_status gauth__user_info_parse(const cJSON *json, gauth__user_info *out,
                                    gauth_error *err);

/* Wipes the secrets, frees, zeroes. */
void gauth__user_info_cleanup(gauth__user_info *info);

/* grant_type=refresh_token&client_id=..&client_secret=..&refresh_token=..
 * (form-encoded). Free with gauth__secret_strfree. */
gauth_status gauth__user_refresh_body(const gauth__user_info *info, char **out,
                                      gauth_error *err);

#endif /* GAUTH_LIB_CRED_USER_H */
