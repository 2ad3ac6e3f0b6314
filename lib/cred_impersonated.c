/* Impersonation: IAM Credentials calls made with a source credential's
 * token, and the impersonated_service_account file type. See
 * cred_impersonated.h for the calls shared with other sources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cred_impersonated.h"
#include "error_internal.h"
#include "json.h"
#include "secret.h"

#define SA_PREFIX "projects/-/serviceAccounts/"
#define MAX_EMAIL 254

/* ---- targets ------------------------------------------------------------ */

/* local@domain of service-account email characters, the domain with a dot:
 * nothing that could change the meaning of a URL path. */
static int email_ok(const char *s, size_t n) {
  const char *at = memchr(s, '@', n);
  if (n == 0 || n > MAX_EMAIL || at == NULL || at == s || at == s + n - 1)
    return 0;
  if (memchr(at + 1, '@', (size_t)(s + n - at - 1)) != NULL) return 0;
  if (memchr(at + 1, '.', (size_t)(s + n - at - 1)) == NULL) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
             (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
             ch == '_' || ch == '@' || (ch == '+' && s + i < at);
    if (!ok) return 0;
  }
  return 1;
}

gauth_status gauth__iam_parse_target(const char *target, const char *what,
                                     gauth_status code, char **email,
                                     gauth_error *err) {
  const char *s = target, *p;
  *email = NULL;
  if (target == NULL)
    return gauth__error_set(err, code, "%s is missing", what);
  /* projects/P/serviceAccounts/EMAIL, P one path segment */
  if (strncmp(s, "projects/", 9) == 0 &&
      (p = strchr(s + 9, '/')) != NULL && p > s + 9 &&
      strncmp(p, "/serviceAccounts/", 17) == 0)
    s = p + 17;
  if (!email_ok(s, strlen(s)))
    return gauth__error_set(err, code,
                            "%s is not a service account email or "
                            "projects/-/serviceAccounts/EMAIL",
                            what);
  *email = strdup(s);
  return *email != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

gauth_status gauth__iam_target_from_url(const char *url, const char *what,
                                        char **email, gauth_error *err) {
  static const char action[] = ":generateAccessToken";
  const char *p, *end;
  size_t n;
  *email = NULL;
  if (url == NULL)
    return gauth__error_set(err, GAUTH_E_MALFORMED, "%s is missing", what);
  n = strlen(url);
  p = strstr(url, "/serviceAccounts/");
  end = n >= sizeof action - 1 ? url + n - (sizeof action - 1) : NULL;
  if ((strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) ||
      p == NULL || end == NULL || strcmp(end, action) != 0 ||
      p + 17 > end || !email_ok(p + 17, (size_t)(end - p - 17)))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s is not an IAM Credentials URL "
                            "https://HOST/v1/projects/-/serviceAccounts/"
                            "EMAIL:generateAccessToken",
                            what);
  p += 17;
  *email = strndup(p, (size_t)(end - p));
  return *email != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

/* ---- request bodies ------------------------------------------------------ */

static int add_delegates(cJSON *body, const char *const *delegates) {
  cJSON *arr;
  if (delegates == NULL || delegates[0] == NULL) return 1;
  arr = cJSON_AddArrayToObject(body, "delegates");
  if (arr == NULL) return 0;
  for (size_t i = 0; delegates[i] != NULL; i++) {
    char name[sizeof SA_PREFIX + MAX_EMAIL + 1];
    cJSON *item;
    snprintf(name, sizeof name, SA_PREFIX "%s", delegates[i]);
    item = cJSON_CreateString(name);
    if (item == NULL || !cJSON_AddItemToArray(arr, item)) {
      cJSON_Delete(item);
      return 0;
    }
  }
  return 1;
}

cJSON *gauth__iam_access_token_body(const char *const *scopes, size_t n,
                                    const char *const *delegates,
                                    unsigned int lifetime_seconds) {
  cJSON *body = cJSON_CreateObject();
  cJSON *arr = body ? cJSON_AddArrayToObject(body, "scope") : NULL;
  char life[24];
  int ok = arr != NULL;
  for (size_t i = 0; ok && i < n; i++) {
    cJSON *s = cJSON_CreateString(scopes[i]);
    ok = s != NULL && cJSON_AddItemToArray(arr, s);
    if (!ok) cJSON_Delete(s);
  }
  snprintf(life, sizeof life, "%us", lifetime_seconds);
  ok = ok && add_delegates(body, delegates) &&
       cJSON_AddStringToObject(body, "lifetime", life) != NULL;
  if (!ok) {
    cJSON_Delete(body);
    return NULL;
  }
  return body;
}

cJSON *gauth__iam_id_token_body(const char *audience, int include_email,
                                const char *const *delegates) {
  cJSON *body = cJSON_CreateObject();
  if (body == NULL ||
      cJSON_AddStringToObject(body, "audience", audience) == NULL ||
      cJSON_AddBoolToObject(body, "includeEmail", include_email != 0) ==
          NULL ||
      !add_delegates(body, delegates)) {
    cJSON_Delete(body);
    return NULL;
  }
  return body;
}

gauth_status gauth__iam_sign_blob_body(const void *data, size_t len,
                                       const char *const *delegates,
                                       cJSON **out, gauth_error *err) {
  char *b64 = NULL;
  gauth_status st = gauth__b64_encode(data, len, &b64, err);
  *out = NULL;
  if (st != GAUTH_OK) return st;
  *out = cJSON_CreateObject();
  if (*out == NULL || !add_delegates(*out, delegates) ||
      cJSON_AddStringToObject(*out, "payload", b64) == NULL) {
    cJSON_Delete(*out);
    *out = NULL;
    st = gauth__error_nomem(err);
  }
  free(b64);
  return st;
}

cJSON *gauth__iam_sign_jwt_body(const char *claims_json,
                                const char *const *delegates) {
  cJSON *body = cJSON_CreateObject();
  if (body == NULL || !add_delegates(body, delegates) ||
      cJSON_AddStringToObject(body, "payload", claims_json) == NULL) {
    cJSON_Delete(body);
    return NULL;
  }
  return body;
}

/* ---- replies ------------------------------------------------------------- */

/* A reply's parse or member error becomes GAUTH_E_BAD_RESPONSE. */
static gauth_status bad_reply(gauth_error *err, gauth_status st,
                              const char *action) {
  if (st == GAUTH_E_NOMEM) return st;
  if (err != NULL) err->code = GAUTH_E_BAD_RESPONSE;
  gauth__error_prefix(err, "%s reply", action);
  return GAUTH_E_BAD_RESPONSE;
}

/* The non-empty string member `name` of reply `body`. *root owns it. */
static gauth_status reply_string(const char *body, size_t len,
                                 const char *action, const char *name,
                                 cJSON **root, const char **out,
                                 gauth_error *err) {
  gauth_status st = gauth__json_parse_object(body, len, NULL, root, err);
  if (st == GAUTH_OK) st = gauth__json_get_string(*root, name, out, err);
  if (st == GAUTH_OK && (*out)[0] == '\0')
    st = gauth__error_set(err, GAUTH_E_MALFORMED, "field \"%s\" is empty",
                          name);
  return st == GAUTH_OK ? st : bad_reply(err, st, action);
}

/* Copies a token member into *out (wiped when freed). */
static gauth_status take_string(const char *s, char **out, gauth_error *err) {
  *out = strdup(s);
  return *out != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

gauth_status gauth__iam_access_token_parse(const char *body, size_t len,
                                           gauth__token *out,
                                           gauth_error *err) {
  cJSON *root = NULL;
  const char *tok, *when = NULL;
  int64_t exp = 0;
  gauth_status st;
  memset(out, 0, sizeof *out);
  st = reply_string(body, len, "generateAccessToken", "accessToken", &root,
                    &tok, err);
  if (st == GAUTH_OK) {
    st = gauth__json_get_string(root, "expireTime", &when, err);
    if (st == GAUTH_OK) st = gauth__rfc3339_parse(when, &exp, err);
    if (st != GAUTH_OK) {
      if (when != NULL) gauth__error_prefix(err, "field \"expireTime\"");
      st = bad_reply(err, st, "generateAccessToken");
    }
  }
  if (st == GAUTH_OK) st = take_string(tok, &out->value, err);
  out->expires_at = st == GAUTH_OK ? exp : 0;
  cJSON_Delete(root);
  return st;
}

gauth_status gauth__iam_id_token_parse(const char *body, size_t len,
                                       gauth__token *out, gauth_error *err) {
  cJSON *root = NULL;
  const char *tok;
  int64_t exp = 0;
  gauth_status st;
  memset(out, 0, sizeof *out);
  st = reply_string(body, len, "generateIdToken", "token", &root, &tok, err);
  if (st == GAUTH_OK && (st = gauth__jwt_expiry(tok, &exp, err)) != GAUTH_OK) {
    gauth__error_prefix(err, "field \"token\"");
    st = bad_reply(err, st, "generateIdToken");
  }
  if (st == GAUTH_OK) st = take_string(tok, &out->value, err);
  out->expires_at = st == GAUTH_OK ? exp : 0;
  cJSON_Delete(root);
  return st;
}

/* The optional *key_id out of a reply's "keyId". */
static gauth_status reply_key_id(const cJSON *root, const char *action,
                                 char **key_id, gauth_error *err) {
  const char *kid;
  gauth_status st = gauth__json_get_string(root, "keyId", &kid, err);
  if (st != GAUTH_OK) return bad_reply(err, st, action);
  if (key_id == NULL) return GAUTH_OK;
  return take_string(kid, key_id, err);
}

gauth_status gauth__iam_sign_blob_parse(const char *body, size_t len,
                                        unsigned char **sig, size_t *sig_len,
                                        char **key_id, gauth_error *err) {
  cJSON *root = NULL;
  const char *b64;
  gauth_status st;
  *sig = NULL;
  *sig_len = 0;
  if (key_id != NULL) *key_id = NULL;
  st = reply_string(body, len, "signBlob", "signedBlob", &root, &b64, err);
  if (st == GAUTH_OK) st = reply_key_id(root, "signBlob", key_id, err);
  if (st == GAUTH_OK) {
    /* proto3 JSON bytes: standard base64; its parsers take url-safe too. */
    size_t n = strlen(b64);
    st = gauth__b64_decode(b64, n, sig, sig_len, NULL);
    if (st != GAUTH_OK && st != GAUTH_E_NOMEM)
      st = gauth__b64url_decode(b64, n, sig, sig_len, err);
    if (st != GAUTH_OK) {
      gauth__error_prefix(err, "field \"signedBlob\"");
      st = bad_reply(err, st, "signBlob");
    }
  }
  if (st != GAUTH_OK && key_id != NULL) {
    free(*key_id);
    *key_id = NULL;
  }
  cJSON_Delete(root);
  return st;
}

gauth_status gauth__iam_sign_jwt_parse(const char *body, size_t len,
                                       char **jwt, char **key_id,
                                       gauth_error *err) {
  cJSON *root = NULL;
  const char *s;
  gauth_status st;
  *jwt = NULL;
  if (key_id != NULL) *key_id = NULL;
  st = reply_string(body, len, "signJwt", "signedJwt", &root, &s, err);
  if (st == GAUTH_OK) st = reply_key_id(root, "signJwt", key_id, err);
  if (st == GAUTH_OK) st = take_string(s, jwt, err);
  if (st != GAUTH_OK && key_id != NULL) {
    free(*key_id);
    *key_id = NULL;
  }
  cJSON_Delete(root);
  return st;
}

/* ---- permission denied --------------------------------------------------- */

static const struct {
  const char *action;
  const char *permission;
} actions[] = {
    {"generateAccessToken", "iam.serviceAccounts.getAccessToken"},
    {"generateIdToken", "iam.serviceAccounts.getOpenIdToken"},
    {"signBlob", "iam.serviceAccounts.signBlob"},
    {"signJwt", "iam.serviceAccounts.signJwt"},
};

const char *gauth__iam_permission(const char *action) {
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(actions); i++)
    if (strcmp(actions[i].action, action) == 0) return actions[i].permission;
  return NULL;
}

/* Google's part of an HTTP error message ("HTTP 403 ..."), without the
 * request line the transport puts first. */
static const char *google_text(const char *msg) {
  const char *p = strstr(msg, ": HTTP ");
  return p != NULL ? p + 2 : msg;
}

void gauth__iam_denied_message(gauth_error *err, const char *action,
                               const char *target, const char *from,
                               const char *to, const char *permission,
                               size_t hop, size_t hop_count) {
  char msg[2 * GAUTH_ERROR_MESSAGE_SIZE + 1024], where[64] = "";
  const char *google;
  if (err == NULL) return;
  google = google_text(err->message);
  if (hop_count > 0 && from == NULL) {
    snprintf(msg, sizeof msg,
             "%s on %s: permission %s denied somewhere in the delegation "
             "chain (every account in it needs "
             "roles/iam.serviceAccountTokenCreator on the next). Google: %s",
             action, target, permission, google);
  } else {
    if (hop_count > 0)
      snprintf(where, sizeof where, " (delegation hop %zu of %zu)", hop,
               hop_count);
    snprintf(msg, sizeof msg,
             "%s on %s: %s lacks permission %s on %s%s; grant it "
             "roles/iam.serviceAccountTokenCreator on that account. "
             "Google: %s",
             action, target, from, permission, to, where, google);
  }
  gauth__strlcpy_utf8(err->message, msg, sizeof err->message);
}

/* ---- calls --------------------------------------------------------------- */

static const char *const *secrets_of(const gauth__iam_caller *c,
                                     const char *buf[2]) {
  buf[0] = c->bearer;
  buf[1] = NULL;
  return buf;
}

/* The caller, for messages: its email, else "TYPE credentials (ORIGIN)". */
static void principal_of(const gauth__iam_caller *c, char *buf, size_t n) {
  char *email = NULL;
  if (c->source == NULL) {
    snprintf(buf, n, "%s", c->principal ? c->principal : "the caller");
    return;
  }
  if (gauth_credentials_email(c->source, &email, NULL) == GAUTH_OK) {
    snprintf(buf, n, "%s", email);
  } else {
    snprintf(buf, n, "the %s credentials (%s)",
             gauth_credentials_type_name(gauth_credentials_get_type(c->source)),
             gauth_credentials_origin(c->source));
  }
  gauth_free(email);
}

static gauth_status iam_url(const gauth__iam_caller *c, const char *target,
                            const char *action, char **url,
                            gauth_error *err) {
  char suffix[sizeof "/v1/" SA_PREFIX ":generateAccessToken" + MAX_EMAIL];
  if (c->access_token_url != NULL &&
      strcmp(action, "generateAccessToken") == 0 &&
      c->cfg->service_override[GAUTH_SERVICE_IAMCREDENTIALS] == NULL) {
    *url = strdup(c->access_token_url);
    return *url != NULL ? GAUTH_OK : gauth__error_nomem(err);
  }
  snprintf(suffix, sizeof suffix, "/v1/" SA_PREFIX "%s:%s", target, action);
  return gauth__config_service_url(c->cfg, GAUTH_SERVICE_IAMCREDENTIALS,
                                   suffix, url, err);
}

/* One POST; the reply is left in resp. Errors are prefixed with the
 * action and target, but 403s are left as the transport made them. */
static gauth_status iam_post(const gauth__iam_caller *c, const char *target,
                             const char *action, const cJSON *body,
                             gauth__http_response *resp, gauth_error *err) {
  const char *sec[2];
  char *url = NULL;
  gauth_status st = iam_url(c, target, action, &url, err);
  memset(resp, 0, sizeof *resp);
  if (st != GAUTH_OK) return st;
  st = gauth__http_post_json(c->http, url, c->headers, body,
                             secrets_of(c, sec), resp, err);
  free(url);
  return st;
}

/* 1 when a 403 says a permission is missing (not a scope, a disabled
 * API, ...). */
static int is_iam_denial(const gauth_error *e) {
  return e->http_status == 403 && strstr(e->message, "Permission") != NULL &&
         strstr(e->message, "denied") != NULL;
}

/* Probes caller -> delegates[0..k] with generateAccessToken on delegates[k]
 * (delegates[0..k-1] as its chain). 1: allowed, 0: denied, -1: unknown. */
static int probe_hop(const gauth__iam_caller *c, const char *const *delegates,
                     size_t k) {
  const char *scope[] = {GAUTH__SCOPE_CLOUD_PLATFORM};
  const char **chain = calloc(k + 1, sizeof *chain);
  gauth__iam_caller probe = *c;
  gauth__http_response resp;
  gauth_error e = GAUTH_ERROR_INIT;
  cJSON *body;
  int r = -1;
  if (chain == NULL) return -1;
  for (size_t i = 0; i < k; i++) chain[i] = delegates[i];
  body = gauth__iam_access_token_body(scope, 1, chain, 60);
  probe.access_token_url = NULL;
  if (body != NULL) {
    gauth_status st = iam_post(&probe, delegates[k], "generateAccessToken",
                               body, &resp, &e);
    r = st == GAUTH_OK ? 1 : is_iam_denial(&e) ? 0 : -1;
    gauth__http_response_cleanup(&resp);
  }
  cJSON_Delete(body);
  free(chain);
  return r;
}

/* Rewrites a permission 403 to name the principal and, for a chain, the
 * hop that lacks the permission. */
static void explain_denied(const gauth__iam_caller *c, const char *action,
                           const char *target, const char *const *delegates,
                           gauth_error *err) {
  char who[320];
  const char *perm = gauth__iam_permission(action);
  size_t n = 0, k;
  while (delegates != NULL && delegates[n] != NULL) n++;
  if (n == 0) {
    principal_of(c, who, sizeof who);
    gauth__iam_denied_message(err, action, target, who, target, perm, 0, 0);
    return;
  }
  for (k = 0; k < n; k++) {
    int r = probe_hop(c, delegates, k);
    if (r < 0) {
      gauth__iam_denied_message(err, action, target, NULL, NULL, perm, 0, n + 1);
      return;
    }
    if (r == 0) break;
  }
  if (k == 0) principal_of(c, who, sizeof who);
  else snprintf(who, sizeof who, "%s", delegates[k - 1]);
  gauth__iam_denied_message(
      err, action, target, who, k < n ? delegates[k] : target,
      k < n ? "iam.serviceAccounts.getAccessToken" : perm, k + 1, n + 1);
}

/* POSTs body to ACTION on target and hands the 2xx reply to parse. */
static gauth_status iam_call(const gauth__iam_caller *c, const char *target,
                             const char *const *delegates, const char *action,
                             const cJSON *body, gauth__http_response *resp,
                             gauth_error *err) {
  gauth_status st;
  if (body == NULL) return gauth__error_nomem(err);
  st = iam_post(c, target, action, body, resp, err);
  if (st == GAUTH_OK) return st;
  if (err != NULL && is_iam_denial(err))
    explain_denied(c, action, target, delegates, err);
  else
    gauth__error_prefix(err, "%s on %s", action, target);
  return st;
}

gauth_status gauth__iam_generate_access_token(
    const gauth__iam_caller *c, const char *target,
    const char *const *delegates, const char *const *scopes, size_t n,
    unsigned int lifetime_seconds, gauth__token *out, gauth_error *err) {
  gauth__http_response resp;
  cJSON *body = gauth__iam_access_token_body(scopes, n, delegates,
                                             lifetime_seconds);
  gauth_status st = iam_call(c, target, delegates, "generateAccessToken",
                             body, &resp, err);
  cJSON_Delete(body);
  memset(out, 0, sizeof *out);
  if (st == GAUTH_OK)
    st = gauth__iam_access_token_parse(resp.body, resp.body_len, out, err);
  gauth__http_response_cleanup(&resp);
  return st;
}

gauth_status gauth__iam_generate_id_token(const gauth__iam_caller *c,
                                          const char *target,
                                          const char *const *delegates,
                                          const char *audience,
                                          int include_email,
                                          gauth__token *out,
                                          gauth_error *err) {
  gauth__http_response resp;
  cJSON *body = gauth__iam_id_token_body(audience, include_email, delegates);
  gauth_status st = iam_call(c, target, delegates, "generateIdToken", body,
                             &resp, err);
  cJSON_Delete(body);
  memset(out, 0, sizeof *out);
  if (st == GAUTH_OK)
    st = gauth__iam_id_token_parse(resp.body, resp.body_len, out, err);
  gauth__http_response_cleanup(&resp);
  return st;
}

gauth_status gauth__iam_caller_sign_blob(const gauth__iam_caller *c,
                                         const char *target,
                                         const char *const *delegates,
                                         const void *data, size_t len,
                                         unsigned char **sig, size_t *sig_len,
                                         char **key_id, gauth_error *err) {
  gauth__http_response resp;
  cJSON *body = NULL;
  gauth_status st = gauth__iam_sign_blob_body(data, len, delegates, &body,
                                              err);
  *sig = NULL;
  *sig_len = 0;
  if (key_id != NULL) *key_id = NULL;
  if (st != GAUTH_OK) return st;
  st = iam_call(c, target, delegates, "signBlob", body, &resp, err);
  cJSON_Delete(body);
  if (st == GAUTH_OK)
    st = gauth__iam_sign_blob_parse(resp.body, resp.body_len, sig, sig_len,
                                    key_id, err);
  gauth__http_response_cleanup(&resp);
  return st;
}

gauth_status gauth__iam_caller_sign_jwt(const gauth__iam_caller *c,
                                        const char *target,
                                        const char *const *delegates,
                                        const char *claims_json, char **jwt,
                                        gauth_error *err) {
  gauth__http_response resp;
  cJSON *body = gauth__iam_sign_jwt_body(claims_json, delegates);
  gauth_status st;
  *jwt = NULL;
  st = iam_call(c, target, delegates, "signJwt", body, &resp, err);
  cJSON_Delete(body);
  if (st == GAUTH_OK)
    st = gauth__iam_sign_jwt_parse(resp.body, resp.body_len, jwt, NULL, err);
  gauth__http_response_cleanup(&resp);
  return st;
}

/* ---- IAM calls as a credential ------------------------------------------- */

/* A caller authenticated by creds' own (cached) cloud-platform token. */
static gauth_status caller_of(gauth_credentials *creds, gauth__iam_caller *c,
                              char ***headers, char **token,
                              gauth_error *err) {
  gauth_status st = gauth__credentials_auth_headers(creds, headers, token,
                                                    err);
  if (st != GAUTH_OK) return st;
  memset(c, 0, sizeof *c);
  c->http = gauth__credentials_http(creds);
  c->cfg = gauth__credentials_config(creds);
  c->headers = (const char *const *)*headers;
  c->bearer = *token;
  c->source = creds;
  return GAUTH_OK;
}

gauth_status gauth__iam_sign_blob(gauth_credentials *caller,
                                  const char *target_email,
                                  const char *const *delegates,
                                  const void *data, size_t len,
                                  unsigned char **sig, size_t *sig_len,
                                  char **key_id, gauth_error *err) {
  gauth__iam_caller c;
  char **headers = NULL, *token = NULL;
  gauth_status st = caller_of(caller, &c, &headers, &token, err);
  *sig = NULL;
  *sig_len = 0;
  if (key_id != NULL) *key_id = NULL;
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "signBlob on %s: the caller's token",
                        target_email);
    return st;
  }
  st = gauth__iam_caller_sign_blob(&c, target_email, delegates, data, len,
                                   sig, sig_len, key_id, err);
  gauth__auth_headers_free(headers, token);
  return st;
}

gauth_status gauth__iam_sign_jwt(gauth_credentials *caller,
                                 const char *target_email,
                                 const char *const *delegates,
                                 const char *claims_json, char **jwt,
                                 gauth_error *err) {
  gauth__iam_caller c;
  char **headers = NULL, *token = NULL;
  gauth_status st = caller_of(caller, &c, &headers, &token, err);
  *jwt = NULL;
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "signJwt on %s: the caller's token",
                        target_email);
    return st;
  }
  st = gauth__iam_caller_sign_jwt(&c, target_email, delegates, claims_json,
                                  jwt, err);
  gauth__auth_headers_free(headers, token);
  return st;
}

/* ---- the impersonated credential ----------------------------------------- */

typedef struct imp {
  gauth_credentials *source; /* a reference */
  char *target;
  char **delegates;          /* NULL-terminated emails; NULL: none */
  char *access_token_url;    /* the file's; NULL: the service's */
  char *project_id;          /* the file's; NULL: none */
} imp;

static void imp_free(void *p) {
  imp *im = p;
  if (im == NULL) return;
  gauth_credentials_free(im->source);
  free(im->target);
  for (size_t i = 0; im->delegates != NULL && im->delegates[i] != NULL; i++)
    free(im->delegates[i]);
  free(im->delegates);
  free(im->access_token_url);
  free(im->project_id);
  free(im);
}

static const char *const *imp_delegates(const imp *im) {
  return (const char *const *)im->delegates;
}

static gauth_status imp_fetch(gauth_credentials *c,
                              const gauth__token_request *req,
                              gauth__token *out, gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  gauth__iam_caller caller;
  char **headers = NULL, *token = NULL;
  gauth_status st = caller_of(im->source, &caller, &headers, &token, err);
  memset(out, 0, sizeof *out);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "impersonation of %s: the source credentials",
                        im->target);
    return st;
  }
  caller.access_token_url = im->access_token_url;
  if (req->kind == GAUTH__TOKEN_ACCESS)
    st = gauth__iam_generate_access_token(
        &caller, im->target, imp_delegates(im), req->scopes, req->scope_count,
        gauth__credentials_settings(c)->token_lifetime_seconds, out, err);
  else
    st = gauth__iam_generate_id_token(
        &caller, im->target, imp_delegates(im), req->audience,
        (req->flags & GAUTH_ID_TOKEN_INCLUDE_EMAIL) != 0, out, err);
  gauth__auth_headers_free(headers, token);
  return st;
}

static gauth_status imp_email(gauth_credentials *c, char **out,
                              gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  return take_string(im->target, out, err);
}

static gauth_status imp_project_id(gauth_credentials *c, char **out,
                                   gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  *out = NULL;
  if (im->project_id == NULL)
    return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                            "impersonated credentials carry no project id");
  return take_string(im->project_id, out, err);
}

static gauth_status imp_sign_blob(gauth_credentials *c, const void *data,
                                  size_t len, unsigned char **sig,
                                  size_t *sig_len, char **key_id,
                                  gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  return gauth__iam_sign_blob(im->source, im->target, imp_delegates(im), data,
                              len, sig, sig_len, key_id, err);
}

static gauth_status imp_sign_jwt(gauth_credentials *c, const char *claims,
                                 char **jwt, gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  return gauth__iam_sign_jwt(im->source, im->target, imp_delegates(im),
                             claims, jwt, err);
}

static const gauth__source_vtable imp_vtable = {
    GAUTH_CREDENTIALS_IMPERSONATED, imp_fetch,     imp_email,
    imp_project_id,                 imp_sign_blob, imp_sign_jwt,
    imp_free};

/* Copies the delegates (emails or projects/-/serviceAccounts/EMAIL) into
 * im->delegates. */
static gauth_status imp_set_delegates(imp *im, const char *const *list,
                                      size_t n, const char *what,
                                      gauth_status code, gauth_error *err) {
  if (n == 0) return GAUTH_OK;
  im->delegates = calloc(n + 1, sizeof *im->delegates);
  if (im->delegates == NULL) return gauth__error_nomem(err);
  for (size_t i = 0; i < n; i++) {
    char name[64];
    gauth_status st;
    snprintf(name, sizeof name, "%s[%zu]", what, i);
    st = gauth__iam_parse_target(list[i], name, code, &im->delegates[i], err);
    if (st != GAUTH_OK) return st;
  }
  return GAUTH_OK;
}

/* Builds the credential around a filled im (taken in every case). from:
 * the file's origin, or NULL. */
static gauth_status imp_create(gauth_credentials **out, imp *im,
                               const char *from, const char *file_quota,
                               const gauth_credentials_options *copts,
                               gauth_error *err) {
  size_t n = sizeof "impersonation of  (from )" + strlen(im->target) +
             (from ? strlen(from) : 0);
  char *origin = malloc(n);
  gauth_status st;
  if (origin == NULL) {
    imp_free(im);
    return gauth__error_nomem(err);
  }
  snprintf(origin, n, "impersonation of %s%s%s%s", im->target,
           from ? " (from " : "", from ? from : "", from ? ")" : "");
  st = gauth__credentials_create(out, copts, &imp_vtable, im, origin,
                                 file_quota, err);
  free(origin);
  return st;
}

gauth_status gauth_credentials_impersonate(
    gauth_credentials **out, gauth_credentials *source,
    const char *target_email, const char *const *delegates,
    const gauth_credentials_options *copts, gauth_error *err) {
  imp *im;
  size_t n = 0;
  gauth_status st;
  gauth_error_clear(err);
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_impersonate: out is NULL");
  *out = NULL;
  if (source == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_impersonate: source is NULL");
  im = calloc(1, sizeof *im);
  if (im == NULL) return gauth__error_nomem(err);
  while (delegates != NULL && delegates[n] != NULL) n++;
  st = gauth__iam_parse_target(target_email, "target_email",
                               GAUTH_E_INVALID_ARG, &im->target, err);
  if (st == GAUTH_OK)
    st = imp_set_delegates(im, delegates, n, "delegates", GAUTH_E_INVALID_ARG,
                           err);
  if (st != GAUTH_OK) {
    imp_free(im);
    return st;
  }
  gauth_credentials_up_ref(source);
  im->source = source;
  return imp_create(out, im, NULL, NULL, copts, err);
}

/* ---- the impersonated_service_account file -------------------------------- */

/* The file's "delegates": an optional array of strings. */
static gauth_status file_delegates(imp *im, const cJSON *json,
                                   gauth_error *err) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(json, "delegates"), *it;
  const char **list;
  size_t n = 0, i = 0;
  gauth_status st;
  if (arr == NULL || cJSON_IsNull(arr)) return GAUTH_OK;
  if (!cJSON_IsArray(arr))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field \"delegates\" is %s, expected an array",
                            gauth__json_type_name(arr));
  n = (size_t)cJSON_GetArraySize(arr);
  list = calloc(n + 1, sizeof *list);
  if (list == NULL) return gauth__error_nomem(err);
  cJSON_ArrayForEach(it, arr) {
    list[i] = cJSON_IsString(it) ? it->valuestring : NULL;
    i++;
  }
  st = imp_set_delegates(im, list, n, "field \"delegates\"", GAUTH_E_MALFORMED,
                         err);
  free(list);
  return st;
}

/* Builds the source credential from "source_credentials". */
static gauth_status file_source(imp *im, const cJSON *json, const char *origin,
                                const gauth_credentials_options *copts,
                                gauth_error *err) {
  const cJSON *src;
  const char *type = NULL;
  gauth_credentials_options sopts = GAUTH_CREDENTIALS_OPTIONS_INIT;
  char *text, *src_origin;
  gauth_status st = gauth__json_get_object(json, "source_credentials", &src,
                                           err);
  if (st != GAUTH_OK) return st;
  st = gauth__json_get_string(src, "type", &type, err);
  if (st == GAUTH_OK && strcmp(type, "impersonated_service_account") == 0)
    st = gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                          "type impersonated_service_account cannot be a "
                          "source: list the accounts in \"delegates\"");
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "field \"source_credentials\"");
    return st;
  }
  /* The source keeps the endpoints and clock; the quota project is the
   * impersonated credential's. */
  if (copts != NULL) sopts = *copts;
  sopts.quota_project = NULL;
  text = cJSON_PrintUnformatted(src);
  src_origin = malloc(strlen(origin) + sizeof " source_credentials");
  if (text == NULL || src_origin == NULL) {
    st = gauth__error_nomem(err);
  } else {
    sprintf(src_origin, "%s source_credentials", origin);
    st = gauth__credentials_from_json_text(&im->source, text, strlen(text),
                                           src_origin, &sopts, err);
    if (st != GAUTH_OK)
      gauth__error_prefix(err, "field \"source_credentials\"");
  }
  gauth__secret_strfree(text); /* holds a private key or refresh token */
  free(src_origin);
  return st;
}

gauth_status gauth__impersonated_file_credentials_new(
    gauth_credentials **out, const cJSON *json, const char *origin,
    const gauth_credentials_options *copts, gauth_error *err) {
  imp *im = calloc(1, sizeof *im);
  const char *url = NULL, *quota = NULL, *project = NULL;
  gauth_status st;
  *out = NULL;
  if (im == NULL) return gauth__error_nomem(err);
  st = gauth__json_get_string(json, "service_account_impersonation_url", &url,
                              err);
  if (st == GAUTH_OK)
    st = gauth__iam_target_from_url(
        url, "field \"service_account_impersonation_url\"", &im->target, err);
  if (st == GAUTH_OK) st = file_delegates(im, json, err);
  if (st == GAUTH_OK)
    st = gauth__json_opt_string(json, "quota_project_id", &quota, err);
  if (st == GAUTH_OK)
    st = gauth__json_opt_string(json, "project_id", &project, err);
  if (st == GAUTH_OK && ((im->access_token_url = strdup(url)) == NULL ||
                         (project && !(im->project_id = strdup(project)))))
    st = gauth__error_nomem(err);
  if (st == GAUTH_OK) st = file_source(im, json, origin, copts, err);
  if (st != GAUTH_OK) {
    imp_free(im);
    return st;
  }
  return imp_create(out, im, origin, quota, copts, err);
}
