/* The credential object: what every source shares (options, transport,
 * cache, quota project, clock) and the public calls that go through the
 * cache to the source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "clock.h"
#include "constants.h"
#include "cred_cache.h"
#include "credentials_internal.h"
#include "error_internal.h"
#include "refcount.h"
#include "secret.h"
#include "url.h"

#define AUDIENCE_MAX_BYTES 2048u
#define SCOPES_MAX 64u

struct gauth_credentials {
  gauth__refcount refs;
  const gauth__source_vtable *vt;
  void *impl;
  gauth__config cfg;
  gauth__http *http;
  gauth__cred_settings settings;
  gauth__cred_cache *cache;
  char *origin;
};

const char *gauth_credentials_type_name(gauth_credentials_type type) {
  switch (type) {
    case GAUTH_CREDENTIALS_SERVICE_ACCOUNT: return "service_account";
    case GAUTH_CREDENTIALS_AUTHORIZED_USER: return "authorized_user";
    case GAUTH_CREDENTIALS_IMPERSONATED: return "impersonated_service_account";
    case GAUTH_CREDENTIALS_EXTERNAL_ACCOUNT: return "external_account";
    case GAUTH_CREDENTIALS_METADATA: return "metadata";
  }
  return "unknown";
}

/* A setting that goes into a header or a claim: no control characters. */
static int printable(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  return 1;
}

static gauth_status settings_init(gauth__cred_settings *st,
                                  const gauth_credentials_options *o,
                                  const char *file_quota_project,
                                  gauth_error *err) {
  const char *qp = file_quota_project;
  const char *env_qp = getenv(GAUTH__ENV_QUOTA_PROJECT);
  memset(st, 0, sizeof(*st));
  if (o != NULL && o->quota_project != NULL) qp = o->quota_project;
  if (qp == NULL && env_qp != NULL && env_qp[0] != '\0') qp = env_qp;
  if (o != NULL) {
    if (o->self_signed_jwt < GAUTH_SELF_SIGNED_JWT_AUTO ||
        o->self_signed_jwt > GAUTH_SELF_SIGNED_JWT_NEVER)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "credentials options: self_signed_jwt %d is not "
                              "one of GAUTH_SELF_SIGNED_JWT_*",
                              o->self_signed_jwt);
    if ((o->subject && (!o->subject[0] || !printable(o->subject))) ||
        (o->jwt_audience &&
         (!o->jwt_audience[0] || !printable(o->jwt_audience))) ||
        (o->quota_project &&
         (!o->quota_project[0] || !printable(o->quota_project))))
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "credentials options: subject, jwt_audience and "
                              "quota_project must be non-empty text without "
                              "control characters");
    if (o->token_lifetime_seconds > 43200u)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "credentials options: token_lifetime_seconds %u "
                              "is over Google's limit of 43200",
                              o->token_lifetime_seconds);
    st->self_signed_jwt = o->self_signed_jwt;
    st->refresh_early_seconds = o->refresh_early_seconds;
    st->token_lifetime_seconds = o->token_lifetime_seconds;
    st->clock = o->clock;
    st->clock_userdata = o->clock_userdata;
  }
  if (qp != NULL && (!qp[0] || !printable(qp)))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "quota project \"%s\" is empty or holds control "
                            "characters",
                            gauth__echo_setting(qp));
  if (st->refresh_early_seconds == 0)
    st->refresh_early_seconds = GAUTH__TOKEN_REFRESH_EARLY_SECONDS;
  if (st->token_lifetime_seconds == 0)
    st->token_lifetime_seconds = GAUTH__TOKEN_DEFAULT_LIFETIME_SECONDS;
  st->quota_project = gauth__strdup(qp);
  st->subject = gauth__strdup(o ? o->subject : NULL);
  st->jwt_audience = gauth__strdup(o ? o->jwt_audience : NULL);
  if ((qp && !st->quota_project) || (o && o->subject && !st->subject) ||
      (o && o->jwt_audience && !st->jwt_audience))
    return gauth__error_nomem(err);
  return GAUTH_OK;
}

static void settings_cleanup(gauth__cred_settings *st) {
  free(st->quota_project);
  free(st->subject);
  free(st->jwt_audience);
  memset(st, 0, sizeof(*st));
}

static void creds_destroy(gauth_credentials *c) {
  if (c->vt != NULL && c->vt->free_impl != NULL && c->impl != NULL)
    c->vt->free_impl(c->impl);
  gauth__cred_cache_free(c->cache);
  gauth__http_free(c->http);
  settings_cleanup(&c->settings);
  gauth__config_cleanup(&c->cfg);
  free(c->origin);
  free(c);
}

gauth_status gauth__credentials_create(gauth_credentials **out,
                                       const gauth_credentials_options *copts,
                                       const gauth__source_vtable *vt,
                                       void *impl, const char *origin,
                                       const char *file_quota_project,
                                       gauth_error *err) {
  gauth_credentials_options full = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c;
  gauth_status st;
  *out = NULL;
  /* Read by the caller's version (abi.h); sources may have read fields of
   * version 1 already, which every version has. */
  if (copts != NULL) {
    st = gauth__abi_read(&full, sizeof(full), copts,
                         &gauth__abi_credentials_options, err);
    if (st != GAUTH_OK) {
      vt->free_impl(impl);
      return st;
    }
    copts = &full;
  }
  c = calloc(1, sizeof(*c));
  if (c == NULL) {
    vt->free_impl(impl);
    return gauth__error_nomem(err);
  }
  gauth__ref_init(&c->refs);
  c->vt = vt;
  c->impl = impl;
  st = gauth__config_init(&c->cfg, copts ? copts->options : NULL, err);
  if (st == GAUTH_OK)
    st = settings_init(&c->settings, copts, file_quota_project, err);
  if (st == GAUTH_OK) st = gauth__http_new(&c->http, &c->cfg, err);
  if (st == GAUTH_OK)
    st = gauth__cred_cache_new(&c->cache, c->settings.refresh_early_seconds,
                               c->settings.clock, c->settings.clock_userdata,
                               &c->cfg.logger, err);
  if (st == GAUTH_OK &&
      (c->origin = gauth__strdup(origin ? origin : "")) == NULL)
    st = gauth__error_nomem(err);
  if (st != GAUTH_OK) {
    creds_destroy(c);
    return st;
  }
  *out = c;
  return GAUTH_OK;
}

gauth_status gauth__credentials_set_origin(gauth_credentials *c,
                                           const char *origin,
                                           gauth_error *err) {
  char *o = gauth__strdup(origin);
  if (o == NULL) return gauth__error_nomem(err);
  free(c->origin);
  c->origin = o;
  return GAUTH_OK;
}

void *gauth__credentials_impl(const gauth_credentials *c) { return c->impl; }
gauth__http *gauth__credentials_http(const gauth_credentials *c) {
  return c->http;
}
const gauth__config *gauth__credentials_config(const gauth_credentials *c) {
  return &c->cfg;
}
const gauth__cred_settings *gauth__credentials_settings(
    const gauth_credentials *c) {
  return &c->settings;
}
const gauth__logger *gauth__credentials_logger(const gauth_credentials *c) {
  return &c->cfg.logger;
}

int64_t gauth__credentials_now(const gauth_credentials *c) {
  return gauth__clock_now(c->settings.clock, c->settings.clock_userdata);
}

void gauth_credentials_up_ref(gauth_credentials *creds) {
  if (creds != NULL) gauth__ref_up(&creds->refs);
}

void gauth_credentials_free(gauth_credentials *creds) {
  if (creds == NULL) return;
  if (gauth__ref_down(&creds->refs)) creds_destroy(creds);
}

gauth_credentials_type gauth_credentials_get_type(
    const gauth_credentials *creds) {
  return creds->vt->type;
}

const char *gauth_credentials_origin(const gauth_credentials *creds) {
  return creds->origin;
}

const char *gauth_credentials_quota_project(const gauth_credentials *creds) {
  return creds->settings.quota_project;
}

/* ---- tokens ------------------------------------------------------------ */

static gauth_status fetch_from_source(void *ctx,
                                      const gauth__token_request *req,
                                      gauth__token *out, gauth_error *err) {
  gauth_credentials *c = ctx;
  out->value = NULL;
  out->expires_at = 0;
  return c->vt->fetch(c, req, out, err);
}

/* gauth_error_clear's effect on what callers read (code, status, empty
 * strings) without writing the whole struct: the cached path is hot. */
static void error_clear_fast(gauth_error *err) {
  if (err == NULL) return;
  err->code = GAUTH_OK;
  err->http_status = 0;
  err->message[0] = '\0';
  err->error_code[0] = '\0';
  err->reason[0] = '\0';
}

static gauth_status check_outputs(const gauth_credentials *c, char **token,
                                  const char *fn, gauth_error *err) {
  if (token != NULL) *token = NULL;
  if (c == NULL || token == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s: creds and token must not be NULL", fn);
  return GAUTH_OK;
}

gauth_status gauth_credentials_access_token(gauth_credentials *creds,
                                            const char *const *scopes,
                                            char **token, int64_t *expires_at,
                                            gauth_error *err) {
  static const char *const default_scopes[] = {GAUTH_SCOPE_CLOUD_PLATFORM,
                                               NULL};
  gauth__token_request req;
  size_t n = 0;
  gauth_status st;
  if (expires_at != NULL) *expires_at = 0;
  st = check_outputs(creds, token, "gauth_credentials_access_token", err);
  if (st != GAUTH_OK) return st;
  if (scopes == NULL || scopes[0] == NULL) scopes = default_scopes;
  while (n <= SCOPES_MAX && scopes[n] != NULL) n++;
  memset(&req, 0, sizeof(req));
  req.kind = GAUTH__TOKEN_ACCESS;
  req.scopes = scopes;
  req.scope_count = n;
  /* A cached fresh token: only scopes equal to stored (checked) ones match. */
  if (gauth__cred_cache_try_fresh(creds->cache, &req, token, expires_at) ==
      GAUTH_OK) {
    error_clear_fast(err);
    return GAUTH_OK;
  }
  gauth_error_clear(err);
  for (n = 0; scopes[n] != NULL; n++) {
    const char *s = scopes[n];
    if (n >= SCOPES_MAX || s[0] == '\0' || strpbrk(s, " \t\r\n,") != NULL ||
        !printable(s))
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              n >= SCOPES_MAX
                                  ? "access token: more than %u scopes"
                                  : "access token: scope %u is empty or holds "
                                    "a space, comma or control character",
                              n >= SCOPES_MAX ? SCOPES_MAX : (unsigned)n + 1);
  }
  return gauth__cred_cache_get(creds->cache, &req, fetch_from_source, creds,
                               token, expires_at, err);
}

gauth_status gauth_credentials_id_token(gauth_credentials *creds,
                                        const char *audience,
                                        unsigned int flags, char **token,
                                        int64_t *expires_at, gauth_error *err) {
  gauth__token_request req;
  gauth_status st;
  if (expires_at != NULL) *expires_at = 0;
  st = check_outputs(creds, token, "gauth_credentials_id_token", err);
  if (st != GAUTH_OK) return st;
  memset(&req, 0, sizeof(req));
  req.kind = GAUTH__TOKEN_ID;
  req.audience = audience;
  req.flags = flags;
  if (audience != NULL && gauth__cred_cache_try_fresh(creds->cache, &req, token,
                                                      expires_at) == GAUTH_OK) {
    error_clear_fast(err);
    return GAUTH_OK;
  }
  gauth_error_clear(err);
  if (audience == NULL || audience[0] == '\0' ||
      strlen(audience) > AUDIENCE_MAX_BYTES || !printable(audience))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "ID token: the audience must be 1 to %u bytes of "
                            "text without control characters",
                            AUDIENCE_MAX_BYTES);
  if ((flags & ~GAUTH_ID_TOKEN_INCLUDE_EMAIL) != 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "ID token: unknown flags 0x%x", flags);
  return gauth__cred_cache_get(creds->cache, &req, fetch_from_source, creds,
                               token, expires_at, err);
}

gauth_status gauth__credentials_auth_headers(gauth_credentials *c,
                                             char ***headers, char **token,
                                             gauth_error *err) {
  char **h;
  size_t n;
  gauth_status st;
  *headers = NULL;
  *token = NULL;
  st = gauth_credentials_access_token(c, NULL, token, NULL, err);
  if (st != GAUTH_OK) return st;
  h = calloc(3, sizeof(char *));
  n = strlen(*token) + sizeof("Authorization: Bearer ");
  if (h == NULL || (h[0] = malloc(n)) == NULL) goto nomem;
  snprintf(h[0], n, "Authorization: Bearer %s", *token);
  if (c->settings.quota_project != NULL) {
    n = strlen(c->settings.quota_project) + sizeof("x-goog-user-project: ");
    if ((h[1] = malloc(n)) == NULL) goto nomem;
    snprintf(h[1], n, "x-goog-user-project: %s", c->settings.quota_project);
  }
  *headers = h;
  return GAUTH_OK;
nomem:
  gauth__auth_headers_free(h, *token);
  *token = NULL;
  return gauth__error_nomem(err);
}

void gauth__auth_headers_free(char **headers, char *token) {
  gauth__secret_strv_free(headers);
  gauth__secret_strfree(token);
}

gauth_status gauth__credentials_token_post(gauth_credentials *c,
                                           const char *url, const char *form,
                                           const char *const *secrets,
                                           gauth__token_kind kind,
                                           gauth__token *out, char **id_token,
                                           gauth_error *err) {
  gauth__http_request req;
  gauth__http_response resp;
  gauth_status st;
  memset(&resp, 0, sizeof(resp));
  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.url = url;
  req.body = form;
  req.body_len = strlen(form);
  req.content_type = "application/x-www-form-urlencoded";
  req.secrets = secrets;
  st = gauth__http_do(c->http, &req, &resp, err);
  if (st == GAUTH_OK)
    st = gauth__token_response_parse(resp.body, resp.body_len, kind,
                                     gauth__credentials_now(c), out, id_token,
                                     err);
  gauth__http_response_cleanup(&resp);
  return st;
}

/* ---- identity and signing ---------------------------------------------- */

static gauth_status unsupported(const gauth_credentials *c, const char *what,
                                gauth_error *err) {
  return gauth__error_set(
      err, GAUTH_E_UNSUPPORTED, "%s credentials (%s) cannot %s",
      gauth_credentials_type_name(c->vt->type), c->origin, what);
}

gauth_status gauth_credentials_email(gauth_credentials *creds, char **email,
                                     gauth_error *err) {
  gauth_error_clear(err);
  if (email != NULL) *email = NULL;
  if (creds == NULL || email == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_email: NULL argument");
  if (creds->vt->email == NULL)
    return unsupported(creds, "name a service account email", err);
  return creds->vt->email(creds, email, err);
}

gauth_status gauth_credentials_project_id(gauth_credentials *creds,
                                          char **project, gauth_error *err) {
  static const char *const vars[] = {"GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"};
  size_t i;
  gauth_status st;
  gauth_error_clear(err);
  if (project != NULL) *project = NULL;
  if (creds == NULL || project == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_project_id: NULL argument");
  for (i = 0; i < GAUTH__ARRAY_LEN(vars); i++) {
    const char *v = getenv(vars[i]);
    if (v != NULL && v[0] != '\0') {
      *project = gauth__strdup(v);
      return *project ? GAUTH_OK : gauth__error_nomem(err);
    }
  }
  if (creds->vt->project_id != NULL) {
    st = creds->vt->project_id(creds, project, err);
    if (st != GAUTH_E_NOT_FOUND) return st;
    gauth_error_clear(err);
  }
  return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                          "no project id: GOOGLE_CLOUD_PROJECT and "
                          "GCLOUD_PROJECT are not set and the %s credentials "
                          "(%s) do not name one",
                          gauth_credentials_type_name(creds->vt->type),
                          creds->origin);
}

gauth_status gauth_credentials_sign_blob(gauth_credentials *creds,
                                         const void *data, size_t len,
                                         unsigned char **sig, size_t *sig_len,
                                         char **key_id, gauth_error *err) {
  gauth_error_clear(err);
  if (sig != NULL) *sig = NULL;
  if (sig_len != NULL) *sig_len = 0;
  if (key_id != NULL) *key_id = NULL;
  if (creds == NULL || sig == NULL || sig_len == NULL ||
      (data == NULL && len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_sign_blob: NULL argument");
  if (creds->vt->sign_blob == NULL) return unsupported(creds, "sign", err);
  return creds->vt->sign_blob(creds, data, len, sig, sig_len, key_id, err);
}

gauth_status gauth_credentials_sign_jwt(gauth_credentials *creds,
                                        const char *claims_json, char **jwt,
                                        gauth_error *err) {
  gauth_error_clear(err);
  if (jwt != NULL) *jwt = NULL;
  if (creds == NULL || claims_json == NULL || jwt == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_sign_jwt: NULL argument");
  if (creds->vt->sign_jwt == NULL) return unsupported(creds, "sign JWTs", err);
  return creds->vt->sign_jwt(creds, claims_json, jwt, err);
}
