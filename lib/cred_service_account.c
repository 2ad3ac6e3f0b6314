/* Service-account keys: access tokens by the jwt-bearer grant (or as
 * self-signed JWTs, with no request), ID tokens by the same grant with
 * target_audience, local signing with the key.
 *
 * The source's state (sa_impl) is immutable after the constructor: any
 * number of threads may fetch at once. The assertion is a secret: it goes
 * into the request's secrets list and is wiped after use. */
#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "cred_service_account.h"
#include "credentials_internal.h"
#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

/* ---- the key file -------------------------------------------------------- */

/* A member that must be a non-empty string. */
static gauth_status get_nonempty(const cJSON *json, const char *name,
                                 const char **out, gauth_error *err) {
  gauth_status st = gauth__json_get_string(json, name, out, err);
  if (st == GAUTH_OK && (*out)[0] == '\0')
    st =
        gauth__error_set(err, GAUTH_E_MALFORMED, "field \"%s\" is empty", name);
  return st;
}

/* An optional member: absent, null or a string; "" counts as absent. */
static gauth_status parse_key(const char *pem, const char *kid, gauth_key **out,
                              gauth_error *err) {
  gauth_status st = gauth__key_from_pem_kid(out, pem, strlen(pem), kid, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "field \"private_key\"");
    return st;
  }
  if (!gauth_key_is_private(*out) ||
      gauth_key_get_type(*out) != GAUTH_KEY_RSA) {
    int is_private = gauth_key_is_private(*out);
    gauth_key_free(*out);
    *out = NULL;
    return gauth__error_set(
        err, GAUTH_E_MALFORMED,
        "field \"private_key\" holds %s, not an RSA "
        "private key",
        is_private ? "a non-RSA private key" : "a public key or certificate");
  }
  return GAUTH_OK;
}

gauth_status gauth__sa_info_parse(const cJSON *json, gauth__sa_info *out,
                                  gauth_error *err) {
  const char *email = NULL, *kid = NULL, *pem = NULL;
  gauth_status st;

  memset(out, 0, sizeof(*out));
  if (json == NULL || !cJSON_IsObject(json))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "the key file is not a JSON object");
  if ((st = get_nonempty(json, "client_email", &email, err)) ||
      (st = get_nonempty(json, "private_key_id", &kid, err)) ||
      (st = get_nonempty(json, "private_key", &pem, err)) ||
      (st = gauth__json_copy_string(json, "token_uri", GAUTH__JSON_OPTIONAL,
                                    &out->token_uri, err)) ||
      (st = gauth__json_copy_string(json, "project_id", GAUTH__JSON_OPTIONAL,
                                    &out->project_id, err)) ||
      (st = gauth__json_copy_string(json, "universe_domain",
                                    GAUTH__JSON_OPTIONAL, &out->universe_domain,
                                    err)) ||
      (st = gauth__json_copy_string(json, "quota_project_id",
                                    GAUTH__JSON_OPTIONAL,
                                    &out->quota_project_id, err)) ||
      (st = parse_key(pem, kid, &out->key, err)))
    goto fail;
  out->client_email = gauth__strdup(email);
  out->private_key_id = gauth__strdup(kid);
  if (out->client_email == NULL || out->private_key_id == NULL) {
    st = gauth__error_nomem(err);
    goto fail;
  }
  return GAUTH_OK;
fail:
  gauth__sa_info_cleanup(out);
  return st;
}

void gauth__sa_info_cleanup(gauth__sa_info *info) {
  if (info == NULL) return;
  free(info->client_email);
  free(info->private_key_id);
  gauth_key_free(info->key);
  free(info->token_uri);
  free(info->project_id);
  free(info->universe_domain);
  free(info->quota_project_id);
  memset(info, 0, sizeof(*info));
}

/* ---- builders ------------------------------------------------------------ */

/* Adds iat and exp, serialises compactly, deletes o. */
static gauth_status finish_claims(cJSON *o, int64_t now, char **out,
                                  gauth_error *err) {
  int64_t iat = now - GAUTH__ASSERTION_BACKDATE;
  *out = NULL;
  if (o == NULL || cJSON_AddNumberToObject(o, "iat", (double)iat) == NULL ||
      cJSON_AddNumberToObject(
          o, "exp", (double)(iat + GAUTH__ASSERTION_LIFETIME)) == NULL ||
      (*out = cJSON_PrintUnformatted(o)) == NULL) {
    cJSON_Delete(o);
    return gauth__error_nomem(err);
  }
  cJSON_Delete(o);
  return GAUTH_OK;
}

/* Adds name: value when value is not NULL; 0 when out of memory. */
static int add_str(cJSON *o, const char *name, const char *value) {
  return value == NULL || cJSON_AddStringToObject(o, name, value) != NULL;
}

static int args_ok(const char *a, const char *b, const char *c) {
  return a != NULL && b != NULL && c != NULL;
}

gauth_status gauth__sa_access_claims(const char *email, const char *audience,
                                     const char *scope, const char *subject,
                                     int64_t now, char **out,
                                     gauth_error *err) {
  cJSON *o;
  if (out == NULL || !args_ok(email, audience, scope))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "access-token assertion: NULL argument");
  o = cJSON_CreateObject();
  if (o == NULL || !add_str(o, "iss", email) || !add_str(o, "sub", subject) ||
      !add_str(o, "aud", audience) || !add_str(o, "scope", scope)) {
    cJSON_Delete(o);
    *out = NULL;
    return gauth__error_nomem(err);
  }
  return finish_claims(o, now, out, err);
}

gauth_status gauth__sa_id_claims(const char *email, const char *audience,
                                 const char *target_audience, int64_t now,
                                 char **out, gauth_error *err) {
  cJSON *o;
  if (out == NULL || !args_ok(email, audience, target_audience))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "ID-token assertion: NULL argument");
  o = cJSON_CreateObject();
  if (o == NULL || !add_str(o, "iss", email) || !add_str(o, "aud", audience) ||
      !add_str(o, "target_audience", target_audience)) {
    cJSON_Delete(o);
    *out = NULL;
    return gauth__error_nomem(err);
  }
  return finish_claims(o, now, out, err);
}

gauth_status gauth__sa_self_signed_claims(const char *email, const char *scope,
                                          const char *jwt_audience, int64_t now,
                                          char **out, gauth_error *err) {
  cJSON *o;
  if (out == NULL || email == NULL || (scope == NULL && jwt_audience == NULL))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "self-signed JWT: NULL argument");
  o = cJSON_CreateObject();
  if (o == NULL || !add_str(o, "iss", email) || !add_str(o, "sub", email) ||
      (jwt_audience != NULL ? !add_str(o, "aud", jwt_audience)
                            : !add_str(o, "scope", scope))) {
    cJSON_Delete(o);
    *out = NULL;
    return gauth__error_nomem(err);
  }
  return finish_claims(o, now, out, err);
}

gauth_status gauth__sa_token_body(const char *assertion, char **out,
                                  gauth_error *err) {
  gauth__form_field f[2] = {{"grant_type", GAUTH__JWT_BEARER_GRANT, 0},
                            {"assertion", NULL, 1}};
  if (assertion == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "token request body: NULL argument");
  f[1].value = assertion;
  return gauth__form_encode(f, 2, out, err);
}

int gauth__sa_use_self_signed(int mode, const char *universe_domain) {
  if (mode == GAUTH_SELF_SIGNED_JWT_ALWAYS) return 1;
  if (mode != GAUTH_SELF_SIGNED_JWT_AUTO) return 0;
  return universe_domain != NULL &&
         strcmp(universe_domain, GAUTH__DEFAULT_UNIVERSE_DOMAIN) != 0;
}

/* ---- the source ---------------------------------------------------------- */

typedef struct sa_impl {
  gauth__sa_info info;
  char *token_url;      /* where requests go (before the endpoint override) */
  const char *aud;      /* the assertions' aud: the file's token_uri or the
                           default; borrowed from info or static */
  const char *universe; /* the file's, else the options' */
} sa_impl;

static void sa_free_impl(void *p) {
  sa_impl *sa = p;
  if (sa == NULL) return;
  gauth__sa_info_cleanup(&sa->info);
  free(sa->token_url);
  free(sa);
}

/* Signs claims with the key (header alg RS256, typ JWT, kid). */
static gauth_status sign_claims(const sa_impl *sa, const char *claims,
                                char **jws, gauth_error *err) {
  return gauth_jwt_sign(sa->info.key, GAUTH_ALG_RS256, sa->info.private_key_id,
                        claims, jws, err);
}

static gauth_status self_signed(gauth_credentials *c, const sa_impl *sa,
                                const char *scope, gauth__token *out,
                                gauth_error *err) {
  const gauth__cred_settings *s = gauth__credentials_settings(c);
  int64_t now = gauth__credentials_now(c);
  char *claims = NULL;
  gauth_status st;

  st = gauth__sa_self_signed_claims(sa->info.client_email, scope,
                                    s->jwt_audience, now, &claims, err);
  if (st == GAUTH_OK) st = sign_claims(sa, claims, &out->value, err);
  free(claims);
  if (st != GAUTH_OK) return st;
  out->expires_at = now - GAUTH__ASSERTION_BACKDATE + GAUTH__ASSERTION_LIFETIME;
  return GAUTH_OK;
}

/* POSTs the assertion to the token endpoint and parses the reply. */
static gauth_status grant(gauth_credentials *c, const sa_impl *sa,
                          const char *assertion, gauth__token_kind kind,
                          gauth__token *out, gauth_error *err) {
  const char *secrets[2] = {assertion, NULL};
  char *body = NULL;
  gauth_status st = gauth__sa_token_body(assertion, &body, err);
  if (st != GAUTH_OK) return st;
  st = gauth__credentials_token_post(c, sa->token_url, body, secrets, kind, out,
                                     NULL, err);
  if (st == GAUTH_OK && out->expires_at == 0 && kind == GAUTH__TOKEN_ACCESS)
    gauth__log(gauth__credentials_logger(c), GAUTH_LOG_DEBUG,
               "service account %s: the token reply has no expires_in",
               sa->info.client_email);
  gauth__secret_strfree(body);
  return st;
}

static gauth_status sa_fetch(gauth_credentials *c,
                             const gauth__token_request *req, gauth__token *out,
                             gauth_error *err) {
  const sa_impl *sa = gauth__credentials_impl(c);
  const gauth__cred_settings *s = gauth__credentials_settings(c);
  int64_t now = gauth__credentials_now(c);
  char *scope = NULL, *claims = NULL, *assertion = NULL;
  int access = req->kind == GAUTH__TOKEN_ACCESS;
  gauth_status st;

  out->value = NULL;
  out->expires_at = 0;
  if (access) {
    scope = gauth__scopes_join(req->scopes, req->scope_count, ' ');
    if (scope == NULL) return gauth__error_nomem(err);
    if (s->subject == NULL &&
        gauth__sa_use_self_signed(s->self_signed_jwt, sa->universe)) {
      st = self_signed(c, sa, scope, out, err);
      free(scope);
      if (st != GAUTH_OK)
        gauth__error_prefix(err, "service account %s: self-signed JWT",
                            sa->info.client_email);
      return st;
    }
    st = gauth__sa_access_claims(sa->info.client_email, sa->aud, scope,
                                 s->subject, now, &claims, err);
  } else {
    st = gauth__sa_id_claims(sa->info.client_email, sa->aud, req->audience, now,
                             &claims, err);
  }
  if (st == GAUTH_OK) st = sign_claims(sa, claims, &assertion, err);
  if (st == GAUTH_OK) st = grant(c, sa, assertion, req->kind, out, err);
  if (st != GAUTH_OK)
    gauth__error_prefix(err, "service account %s: %s", sa->info.client_email,
                        access ? "access token" : "ID token");
  free(scope);
  free(claims);
  gauth__secret_strfree(assertion);
  return st;
}

static gauth_status sa_email(gauth_credentials *c, char **out,
                             gauth_error *err) {
  const sa_impl *sa = gauth__credentials_impl(c);
  return gauth__strdup_out(sa->info.client_email, out, err);
}

static gauth_status sa_project_id(gauth_credentials *c, char **out,
                                  gauth_error *err) {
  const sa_impl *sa = gauth__credentials_impl(c);
  *out = NULL;
  if (sa->info.project_id == NULL)
    return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                            "the service account key has no project_id");
  return gauth__strdup_out(sa->info.project_id, out, err);
}

static gauth_status sa_sign_blob(gauth_credentials *c, const void *data,
                                 size_t len, unsigned char **sig,
                                 size_t *sig_len, char **key_id,
                                 gauth_error *err) {
  const sa_impl *sa = gauth__credentials_impl(c);
  size_t cap = gauth_key_signature_size(sa->info.key, GAUTH_ALG_RS256);
  unsigned char *buf;
  gauth_status st;

  *sig = NULL;
  *sig_len = 0;
  if (key_id != NULL) *key_id = NULL;
  buf = malloc(cap + 1);
  if (buf == NULL) return gauth__error_nomem(err);
  st = gauth_key_sign(sa->info.key, GAUTH_ALG_RS256, data, len, buf, &cap, err);
  if (st == GAUTH_OK && key_id != NULL) {
    *key_id = gauth__strdup(sa->info.private_key_id);
    if (*key_id == NULL) st = gauth__error_nomem(err);
  }
  if (st != GAUTH_OK) {
    free(buf);
    return st;
  }
  buf[cap] = '\0';
  *sig = buf;
  *sig_len = cap;
  return GAUTH_OK;
}

static gauth_status sa_sign_jwt(gauth_credentials *c, const char *claims_json,
                                char **jwt, gauth_error *err) {
  return sign_claims(gauth__credentials_impl(c), claims_json, jwt, err);
}

static const gauth__source_vtable sa_vtable = {
    GAUTH_CREDENTIALS_SERVICE_ACCOUNT,
    sa_fetch,
    sa_email,
    sa_project_id,
    sa_sign_blob,
    sa_sign_jwt,
    sa_free_impl};

/* The token URL: the token_uri option, else the file's, else Google's. */
static gauth_status resolve_urls(sa_impl *sa,
                                 const gauth_credentials_options *copts,
                                 gauth_error *err) {
  const char *opt = copts != NULL && copts->options != NULL
                        ? copts->options->token_uri
                        : NULL;
  sa->aud = sa->info.token_uri != NULL ? sa->info.token_uri
                                       : GAUTH__DEFAULT_TOKEN_URI;
  sa->token_url = gauth__strdup(opt != NULL ? opt : sa->aud);
  return sa->token_url != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

static gauth_status check_options(const gauth_credentials_options *copts,
                                  gauth_error *err) {
  if (copts != NULL && copts->self_signed_jwt == GAUTH_SELF_SIGNED_JWT_ALWAYS &&
      copts->subject != NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "self_signed_jwt ALWAYS and a subject do not go "
                            "together: acting as a user (domain-wide "
                            "delegation) needs the token endpoint");
  return GAUTH_OK;
}

gauth_status gauth__sa_credentials_new(gauth_credentials **out,
                                       const cJSON *json, const char *origin,
                                       const gauth_credentials_options *copts,
                                       gauth_error *err) {
  sa_impl *sa;
  gauth_status st;
  const char *quota;

  *out = NULL;
  if ((st = check_options(copts, err)) != GAUTH_OK) return st;
  sa = calloc(1, sizeof(*sa));
  if (sa == NULL) return gauth__error_nomem(err);
  st = gauth__sa_info_parse(json, &sa->info, err);
  if (st != GAUTH_OK) {
    free(sa);
    gauth__error_prefix(err, "service account key");
    return st;
  }
  st = resolve_urls(sa, copts, err);
  if (st != GAUTH_OK) {
    sa_free_impl(sa);
    return st;
  }
  quota = sa->info.quota_project_id;
  st =
      gauth__credentials_create(out, copts, &sa_vtable, sa, origin, quota, err);
  if (st != GAUTH_OK) return st;
  /* The universe: the file's, else the options'. */
  sa->universe = sa->info.universe_domain != NULL
                     ? sa->info.universe_domain
                     : gauth__credentials_config(*out)->universe_domain;
  return GAUTH_OK;
}
