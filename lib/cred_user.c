/* Authorized-user credentials (gcloud auth application-default login):
 * the refresh-token grant for access tokens, and the ID token of that same
 * reply when the server sends one. The refresh token and the client secret
 * are secrets: they go into the request's secrets list, and are wiped when
 * the credential is freed. The state is immutable after the constructor. */
#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "cred_user.h"
#include "credentials_internal.h"
#include "error_internal.h"
#include "json.h"
#include "secret.h"

/* A required non-empty string member, copied. */
/* An optional string member, copied; "" counts as absent. */
gauth_status gauth__user_info_parse(const cJSON *json, gauth__user_info *out,
                                    gauth_error *err) {
  gauth_status st;
  memset(out, 0, sizeof(*out));
  if (json == NULL || !cJSON_IsObject(json))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "the credentials are not a JSON object");
  if ((st = gauth__json_copy_string(json, "client_id", GAUTH__JSON_REQUIRED,
                                    &out->client_id, err)) ||
      (st = gauth__json_copy_string(json, "client_secret", GAUTH__JSON_REQUIRED,
                                    &out->client_secret, err)) ||
      (st = gauth__json_copy_string(json, "refresh_token", GAUTH__JSON_REQUIRED,
                                    &out->refresh_token, err)) ||
      (st = gauth__json_copy_string(json, "token_uri", GAUTH__JSON_OPTIONAL,
                                    &out->token_uri, err)) ||
      (st = gauth__json_copy_string(json, "quota_project_id",
                                    GAUTH__JSON_OPTIONAL,
                                    &out->quota_project_id, err))) {
    gauth__user_info_cleanup(out);
    return st;
  }
  return GAUTH_OK;
}

void gauth__user_info_cleanup(gauth__user_info *info) {
  if (info == NULL) return;
  free(info->client_id);
  gauth__secret_strfree(info->client_secret);
  gauth__secret_strfree(info->refresh_token);
  free(info->token_uri);
  free(info->quota_project_id);
  memset(info, 0, sizeof(*info));
}

gauth_status gauth__user_refresh_body(const gauth__user_info *info, char **out,
                                      gauth_error *err) {
  gauth__form_field f[4] = {{"grant_type", "refresh_token", 0},
                            {"client_id", NULL, 0},
                            {"client_secret", NULL, 1},
                            {"refresh_token", NULL, 1}};
  if (info == NULL || out == NULL || info->client_id == NULL ||
      info->client_secret == NULL || info->refresh_token == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "refresh grant body: NULL argument");
  f[1].value = info->client_id;
  f[2].value = info->client_secret;
  f[3].value = info->refresh_token;
  return gauth__form_encode(f, 4, out, err);
}

/* ---- the source ---------------------------------------------------------- */

typedef struct user_impl {
  gauth__user_info info;
  char *token_url; /* the token_uri option, else the file's, else Google's */
} user_impl;

static void user_free_impl(void *p) {
  user_impl *u = p;
  if (u == NULL) return;
  gauth__user_info_cleanup(&u->info);
  free(u->token_url);
  free(u);
}

/* POSTs the refresh grant; the access token to *out, the reply's id_token
 * (or NULL) to *id_token. */
static gauth_status refresh(gauth_credentials *c, const user_impl *u,
                            gauth__token *out, char **id_token,
                            gauth_error *err) {
  const char *secrets[3] = {u->info.client_secret, u->info.refresh_token, NULL};
  char *body = NULL;
  gauth_status st = gauth__user_refresh_body(&u->info, &body, err);
  if (st != GAUTH_OK) return st;
  st = gauth__credentials_token_post(c, u->token_url, body, secrets,
                                     GAUTH__TOKEN_ACCESS, out, id_token, err);
  gauth__secret_strfree(body);
  return st;
}

/* The ID token of a refresh reply, with its expiry. */
static gauth_status take_id_token(const user_impl *u, char *idt,
                                  gauth__token *out, gauth_error *err) {
  int64_t exp = 0;
  if (idt == NULL)
    return gauth__error_set(
        err, GAUTH_E_UNSUPPORTED,
        "the token endpoint sent no id_token with the access token (the "
        "refresh token of client %.100s lacks the openid scope); for an ID "
        "token with your own audience, impersonate a service account "
        "(gauth_credentials_impersonate, or "
        "--impersonate-service-account=EMAIL)",
        u->info.client_id);
  if (gauth__jwt_expiry(idt, &exp, err) != GAUTH_OK) {
    gauth__secret_strfree(idt);
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "token reply: id_token is not a JWT with an exp "
                            "claim");
  }
  out->value = idt;
  out->expires_at = exp;
  return GAUTH_OK;
}

static gauth_status user_fetch(gauth_credentials *c,
                               const gauth__token_request *req,
                               gauth__token *out, gauth_error *err) {
  const user_impl *u = gauth__credentials_impl(c);
  gauth__token at = {NULL, 0};
  char *idt = NULL;
  int id = req->kind == GAUTH__TOKEN_ID;
  gauth_status st;

  out->value = NULL;
  out->expires_at = 0;
  st = refresh(c, u, &at, id ? &idt : NULL, err);
  if (st == GAUTH_OK && !id) {
    *out = at;
    return GAUTH_OK;
  }
  gauth__token_cleanup(&at);
  if (st == GAUTH_OK) {
    st = take_id_token(u, idt, out, err);
    if (st == GAUTH_OK) return GAUTH_OK;
  }
  if (st == GAUTH_E_UNAUTHENTICATED && err != NULL &&
      strcmp(err->error_code, "invalid_grant") == 0)
    gauth__error_prefix(err,
                        "the refresh token was refused (expired or "
                        "revoked: run `gcloud auth application-default "
                        "login` again)");
  gauth__error_prefix(err, "authorized user (client %.100s): %s",
                      u->info.client_id, id ? "ID token" : "access token");
  return st;
}

static gauth_status user_project_id(gauth_credentials *c, char **out,
                                    gauth_error *err) {
  const user_impl *u = gauth__credentials_impl(c);
  *out = NULL;
  if (u->info.quota_project_id == NULL)
    return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                            "the authorized-user credentials have no "
                            "quota_project_id");
  return gauth__strdup_out(u->info.quota_project_id, out, err);
}

static const gauth__source_vtable user_vtable = {
    GAUTH_CREDENTIALS_AUTHORIZED_USER,
    user_fetch,
    NULL,
    user_project_id,
    NULL,
    NULL,
    user_free_impl};

gauth_status gauth__user_credentials_new(gauth_credentials **out,
                                         const cJSON *json, const char *origin,
                                         const gauth_credentials_options *copts,
                                         gauth_error *err) {
  const char *opt = copts != NULL && copts->options != NULL
                        ? copts->options->token_uri
                        : NULL;
  user_impl *u;
  gauth_status st;

  *out = NULL;
  u = calloc(1, sizeof(*u));
  if (u == NULL) return gauth__error_nomem(err);
  st = gauth__user_info_parse(json, &u->info, err);
  if (st != GAUTH_OK) {
    free(u);
    gauth__error_prefix(err, "authorized user credentials");
    return st;
  }
  u->token_url =
      gauth__strdup(opt != NULL                 ? opt
                    : u->info.token_uri != NULL ? u->info.token_uri
                                                : GAUTH__DEFAULT_TOKEN_URI);
  if (u->token_url == NULL) {
    user_free_impl(u);
    return gauth__error_nomem(err);
  }
  return gauth__credentials_create(out, copts, &user_vtable, u, origin,
                                   u->info.quota_project_id, err);
}
