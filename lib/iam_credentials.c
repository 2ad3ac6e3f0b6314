/* IAM Credentials (generateAccessToken, generateIdToken, signBlob, signJwt
 * on .../v1/projects/-/serviceAccounts/EMAIL:ACTION): service-account
 * emails from arguments and URLs, request bodies, reply parsers, the calls
 * themselves, and the explanation of a permission 403 (which principal
 * lacks which permission on which account; for a delegation chain, which
 * hop). See iam_credentials.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "error_internal.h"
#include "iam_credentials.h"
#include "json.h"
#include "secret.h"

#define SA_PREFIX "projects/-/serviceAccounts/"
#define SA_SEGMENT "/serviceAccounts/"
#define MAX_EMAIL 254

/* ---- service-account emails --------------------------------------------- */

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
             (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' ||
             ch == '@' || (ch == '+' && s + i < at);
    if (!ok) return 0;
  }
  return 1;
}

gauth_status gauth__iamcredentials_parse_sa_email(const char *account,
                                                  const char *what,
                                                  gauth_status code,
                                                  char **email,
                                                  gauth_error *err) {
  const char *s = account, *project, *p, *rest;
  *email = NULL;
  if (account == NULL)
    return gauth__error_set(err, code, "%s is missing", what);
  /* projects/P/serviceAccounts/EMAIL, P one path segment */
  if ((project = gauth__skip_prefix(s, "projects/")) != NULL &&
      (p = strchr(project, '/')) != NULL && p > project &&
      (rest = gauth__skip_prefix(p, SA_SEGMENT)) != NULL)
    s = rest;
  if (!email_ok(s, strlen(s)))
    return gauth__error_set(err, code,
                            "%s is not a service account email or "
                            "projects/-/serviceAccounts/EMAIL",
                            what);
  return gauth__strdup_out(s, email, err);
}

gauth_status gauth__iamcredentials_sa_email_from_url(const char *url,
                                                     const char *what,
                                                     char **email,
                                                     gauth_error *err) {
  static const char action[] = ":generateAccessToken";
  const char *p, *end;
  size_t n;
  *email = NULL;
  if (url == NULL)
    return gauth__error_set(err, GAUTH_E_MALFORMED, "%s is missing", what);
  n = strlen(url);
  p = gauth__skip_prefix(strstr(url, SA_SEGMENT), SA_SEGMENT);
  end = n >= sizeof action - 1 ? url + n - (sizeof action - 1) : NULL;
  if ((gauth__skip_prefix(url, "https://") == NULL &&
       gauth__skip_prefix(url, "http://") == NULL) ||
      p == NULL || end == NULL || strcmp(end, action) != 0 || p > end ||
      !email_ok(p, (size_t)(end - p)))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s is not an IAM Credentials URL "
                            "https://HOST/v1/projects/-/serviceAccounts/"
                            "EMAIL:generateAccessToken",
                            what);
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

cJSON *gauth__iamcredentials_access_token_body(const char *const *scopes,
                                               size_t n,
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

cJSON *gauth__iamcredentials_id_token_body(const char *audience,
                                           int include_email,
                                           const char *const *delegates) {
  cJSON *body = cJSON_CreateObject();
  if (body == NULL ||
      cJSON_AddStringToObject(body, "audience", audience) == NULL ||
      cJSON_AddBoolToObject(body, "includeEmail", include_email != 0) == NULL ||
      !add_delegates(body, delegates)) {
    cJSON_Delete(body);
    return NULL;
  }
  return body;
}

gauth_status gauth__iamcredentials_sign_blob_body(const void *data, size_t len,
                                                  const char *const *delegates,
                                                  cJSON **out,
                                                  gauth_error *err) {
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

cJSON *gauth__iamcredentials_sign_jwt_body(const char *claims_json,
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
    st =
        gauth__error_set(err, GAUTH_E_MALFORMED, "field \"%s\" is empty", name);
  /* Tokens and signed JWTs go into headers and forms: header-safe text
   * (a signature is base64 and may be long: checked by its decoder). */
  if (st == GAUTH_OK && strcmp(name, "signedBlob") != 0)
    st = gauth__token_text_check(*out, name, err);
  return st == GAUTH_OK ? st : bad_reply(err, st, action);
}

gauth_status gauth__iamcredentials_access_token_parse(const char *body,
                                                      size_t len,
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
  if (st == GAUTH_OK) st = gauth__strdup_out(tok, &out->value, err);
  out->expires_at = st == GAUTH_OK ? exp : 0;
  gauth__secret_json_delete(root);
  return st;
}

gauth_status gauth__iamcredentials_id_token_parse(const char *body, size_t len,
                                                  gauth__token *out,
                                                  gauth_error *err) {
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
  if (st == GAUTH_OK) st = gauth__strdup_out(tok, &out->value, err);
  out->expires_at = st == GAUTH_OK ? exp : 0;
  gauth__secret_json_delete(root);
  return st;
}

/* The optional *key_id out of a reply's "keyId". */
static gauth_status reply_key_id(const cJSON *root, const char *action,
                                 char **key_id, gauth_error *err) {
  const char *kid;
  gauth_status st = gauth__json_get_string(root, "keyId", &kid, err);
  if (st != GAUTH_OK) return bad_reply(err, st, action);
  if (key_id == NULL) return GAUTH_OK;
  return gauth__strdup_out(kid, key_id, err);
}

gauth_status gauth__iamcredentials_sign_blob_parse(const char *body, size_t len,
                                                   unsigned char **sig,
                                                   size_t *sig_len,
                                                   char **key_id,
                                                   gauth_error *err) {
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
  gauth__secret_json_delete(root);
  return st;
}

gauth_status gauth__iamcredentials_sign_jwt_parse(const char *body, size_t len,
                                                  char **jwt, char **key_id,
                                                  gauth_error *err) {
  cJSON *root = NULL;
  const char *s;
  gauth_status st;
  *jwt = NULL;
  if (key_id != NULL) *key_id = NULL;
  st = reply_string(body, len, "signJwt", "signedJwt", &root, &s, err);
  if (st == GAUTH_OK) st = reply_key_id(root, "signJwt", key_id, err);
  if (st == GAUTH_OK) st = gauth__strdup_out(s, jwt, err);
  if (st != GAUTH_OK && key_id != NULL) {
    free(*key_id);
    *key_id = NULL;
  }
  gauth__secret_json_delete(root);
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

const char *gauth__iamcredentials_permission(const char *action) {
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(actions); i++)
    if (strcmp(actions[i].action, action) == 0) return actions[i].permission;
  return NULL;
}

/* Google's part of an HTTP error message ("HTTP 403 ..."), without the
 * request line the transport puts first. */
static const char *google_text(const char *msg) {
  const char *p = strstr(msg, ": HTTP ");
  return p != NULL ? gauth__skip_prefix(p, ": ") : msg;
}

void gauth__iamcredentials_denied_message(gauth_error *err, const char *action,
                                          const char *sa_email,
                                          const char *from, const char *to,
                                          const char *permission, size_t hop,
                                          size_t hop_count) {
  char msg[2 * GAUTH_ERROR_MESSAGE_SIZE + 1024], where[64] = "";
  const char *google;
  if (err == NULL) return;
  google = google_text(err->message);
  if (hop_count > 0 && from == NULL) {
    snprintf(msg, sizeof msg,
             "%s on %s: permission %s denied somewhere in the delegation "
             "chain (every account in it needs "
             "roles/iam.serviceAccountTokenCreator on the next). Google: %s",
             action, sa_email, permission, google);
  } else {
    if (hop_count > 0)
      snprintf(where, sizeof where, " (delegation hop %zu of %zu)", hop,
               hop_count);
    snprintf(msg, sizeof msg,
             "%s on %s: %s lacks permission %s on %s%s; grant it "
             "roles/iam.serviceAccountTokenCreator on that account. "
             "Google: %s",
             action, sa_email, from, permission, to, where, google);
  }
  gauth__strlcpy_utf8(err->message, msg, sizeof err->message);
}

/* ---- calls --------------------------------------------------------------- */

static const char *const *secrets_of(const gauth__iamcredentials_caller *c,
                                     const char *buf[2]) {
  buf[0] = c->bearer;
  buf[1] = NULL;
  return buf;
}

/* The caller, for messages: its email, else "TYPE credentials (ORIGIN)". */
static void principal_of(const gauth__iamcredentials_caller *c, char *buf,
                         size_t n) {
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

static gauth_status iam_url(const gauth__iamcredentials_caller *c,
                            const char *sa_email, const char *action,
                            char **url, gauth_error *err) {
  char suffix[sizeof "/v1/" SA_PREFIX ":generateAccessToken" + MAX_EMAIL];
  if (c->access_token_url != NULL &&
      strcmp(action, "generateAccessToken") == 0 &&
      c->cfg->service_override[GAUTH_SERVICE_IAMCREDENTIALS] == NULL) {
    return gauth__strdup_out(c->access_token_url, url, err);
  }
  snprintf(suffix, sizeof suffix, "/v1/" SA_PREFIX "%s:%s", sa_email, action);
  return gauth__config_service_url(c->cfg, GAUTH_SERVICE_IAMCREDENTIALS, suffix,
                                   url, err);
}

/* One POST; the reply is left in resp. Errors are prefixed with the
 * action and sa_email, but 403s are left as the transport made them. */
static gauth_status iam_post(const gauth__iamcredentials_caller *c,
                             const char *sa_email, const char *action,
                             const cJSON *body, gauth__http_response *resp,
                             gauth_error *err) {
  const char *sec[2];
  char *url = NULL;
  gauth_status st = iam_url(c, sa_email, action, &url, err);
  memset(resp, 0, sizeof *resp);
  if (st != GAUTH_OK) return st;
  st = gauth__http_post_json(c->http, url, c->headers, body, secrets_of(c, sec),
                             resp, err);
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
static int probe_hop(const gauth__iamcredentials_caller *c,
                     const char *const *delegates, size_t k) {
  const char *scope[] = {GAUTH_SCOPE_CLOUD_PLATFORM};
  const char **chain = calloc(k + 1, sizeof *chain);
  gauth__iamcredentials_caller probe = *c;
  gauth__http_response resp;
  gauth_error e = GAUTH_ERROR_INIT;
  cJSON *body;
  int r = -1;
  if (chain == NULL) return -1;
  for (size_t i = 0; i < k; i++) chain[i] = delegates[i];
  body = gauth__iamcredentials_access_token_body(scope, 1, chain, 60);
  probe.access_token_url = NULL;
  if (body != NULL) {
    gauth_status st =
        iam_post(&probe, delegates[k], "generateAccessToken", body, &resp, &e);
    r = st == GAUTH_OK ? 1 : is_iam_denial(&e) ? 0 : -1;
    gauth__http_response_cleanup(&resp);
  }
  cJSON_Delete(body);
  free(chain);
  return r;
}

/* Rewrites a permission 403 to name the principal and, for a chain, the
 * hop that lacks the permission. */
static void explain_denied(const gauth__iamcredentials_caller *c,
                           const char *action, const char *sa_email,
                           const char *const *delegates, gauth_error *err) {
  char who[320];
  const char *perm = gauth__iamcredentials_permission(action);
  size_t n = 0, k;
  while (delegates != NULL && delegates[n] != NULL) n++;
  if (n == 0) {
    principal_of(c, who, sizeof who);
    gauth__iamcredentials_denied_message(err, action, sa_email, who, sa_email,
                                         perm, 0, 0);
    return;
  }
  for (k = 0; k < n; k++) {
    int r = probe_hop(c, delegates, k);
    if (r < 0) {
      gauth__iamcredentials_denied_message(err, action, sa_email, NULL, NULL,
                                           perm, 0, n + 1);
      return;
    }
    if (r == 0) break;
  }
  if (k == 0)
    principal_of(c, who, sizeof who);
  else
    snprintf(who, sizeof who, "%s", delegates[k - 1]);
  gauth__iamcredentials_denied_message(
      err, action, sa_email, who, k < n ? delegates[k] : sa_email,
      k < n ? "iam.serviceAccounts.getAccessToken" : perm, k + 1, n + 1);
}

/* POSTs body to ACTION on sa_email and hands the 2xx reply to parse. */
static gauth_status iam_call(const gauth__iamcredentials_caller *c,
                             const char *sa_email, const char *const *delegates,
                             const char *action, const cJSON *body,
                             gauth__http_response *resp, gauth_error *err) {
  gauth_status st;
  if (body == NULL) return gauth__error_nomem(err);
  st = iam_post(c, sa_email, action, body, resp, err);
  if (st == GAUTH_OK) return st;
  if (err != NULL && is_iam_denial(err))
    explain_denied(c, action, sa_email, delegates, err);
  else
    gauth__error_prefix(err, "%s on %s", action, sa_email);
  return st;
}

gauth_status gauth__iamcredentials_generate_access_token(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const char *const *scopes, size_t n,
    unsigned int lifetime_seconds, gauth__token *out, gauth_error *err) {
  gauth__http_response resp;
  cJSON *body = gauth__iamcredentials_access_token_body(scopes, n, delegates,
                                                        lifetime_seconds);
  gauth_status st =
      iam_call(c, sa_email, delegates, "generateAccessToken", body, &resp, err);
  cJSON_Delete(body);
  memset(out, 0, sizeof *out);
  if (st == GAUTH_OK)
    st = gauth__iamcredentials_access_token_parse(resp.body, resp.body_len, out,
                                                  err);
  gauth__http_response_cleanup(&resp);
  return st;
}

gauth_status gauth__iamcredentials_generate_id_token(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const char *audience, int include_email,
    gauth__token *out, gauth_error *err) {
  gauth__http_response resp;
  cJSON *body =
      gauth__iamcredentials_id_token_body(audience, include_email, delegates);
  gauth_status st =
      iam_call(c, sa_email, delegates, "generateIdToken", body, &resp, err);
  cJSON_Delete(body);
  memset(out, 0, sizeof *out);
  if (st == GAUTH_OK)
    st = gauth__iamcredentials_id_token_parse(resp.body, resp.body_len, out,
                                              err);
  gauth__http_response_cleanup(&resp);
  return st;
}

gauth_status gauth__iamcredentials_generate_token(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const gauth__token_request *req,
    unsigned int lifetime_seconds, gauth__token *out, gauth_error *err) {
  if (req->kind == GAUTH__TOKEN_ACCESS)
    return gauth__iamcredentials_generate_access_token(
        c, sa_email, delegates, req->scopes, req->scope_count, lifetime_seconds,
        out, err);
  return gauth__iamcredentials_generate_id_token(
      c, sa_email, delegates, req->audience,
      (req->flags & GAUTH_ID_TOKEN_INCLUDE_EMAIL) != 0, out, err);
}

gauth_status gauth__iamcredentials_caller_sign_blob(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const void *data, size_t len,
    unsigned char **sig, size_t *sig_len, char **key_id, gauth_error *err) {
  gauth__http_response resp;
  cJSON *body = NULL;
  gauth_status st =
      gauth__iamcredentials_sign_blob_body(data, len, delegates, &body, err);
  *sig = NULL;
  *sig_len = 0;
  if (key_id != NULL) *key_id = NULL;
  if (st != GAUTH_OK) return st;
  st = iam_call(c, sa_email, delegates, "signBlob", body, &resp, err);
  cJSON_Delete(body);
  if (st == GAUTH_OK)
    st = gauth__iamcredentials_sign_blob_parse(resp.body, resp.body_len, sig,
                                               sig_len, key_id, err);
  gauth__http_response_cleanup(&resp);
  return st;
}

gauth_status gauth__iamcredentials_caller_sign_jwt(
    const gauth__iamcredentials_caller *c, const char *sa_email,
    const char *const *delegates, const char *claims_json, char **jwt,
    gauth_error *err) {
  gauth__http_response resp;
  cJSON *body = gauth__iamcredentials_sign_jwt_body(claims_json, delegates);
  gauth_status st;
  *jwt = NULL;
  st = iam_call(c, sa_email, delegates, "signJwt", body, &resp, err);
  cJSON_Delete(body);
  if (st == GAUTH_OK)
    st = gauth__iamcredentials_sign_jwt_parse(resp.body, resp.body_len, jwt,
                                              NULL, err);
  gauth__http_response_cleanup(&resp);
  return st;
}

/* ---- calls as a credential ---------------------------------------------- */

gauth_status gauth__iamcredentials_caller_of(gauth_credentials *creds,
                                             gauth__iamcredentials_caller *c,
                                             char ***headers, char **token,
                                             gauth_error *err) {
  gauth_status st = gauth__credentials_auth_headers(creds, headers, token, err);
  if (st != GAUTH_OK) return st;
  memset(c, 0, sizeof *c);
  c->http = gauth__credentials_http(creds);
  c->cfg = gauth__credentials_config(creds);
  c->headers = (const char *const *)*headers;
  c->bearer = *token;
  c->source = creds;
  return GAUTH_OK;
}

gauth_status gauth__iamcredentials_sign_blob(
    gauth_credentials *caller, const char *sa_email,
    const char *const *delegates, const void *data, size_t len,
    unsigned char **sig, size_t *sig_len, char **key_id, gauth_error *err) {
  gauth__iamcredentials_caller c;
  char **headers = NULL, *token = NULL;
  gauth_status st =
      gauth__iamcredentials_caller_of(caller, &c, &headers, &token, err);
  *sig = NULL;
  *sig_len = 0;
  if (key_id != NULL) *key_id = NULL;
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "signBlob on %s: the caller's token", sa_email);
    return st;
  }
  st = gauth__iamcredentials_caller_sign_blob(&c, sa_email, delegates, data,
                                              len, sig, sig_len, key_id, err);
  gauth__auth_headers_free(headers, token);
  return st;
}

gauth_status gauth__iamcredentials_sign_jwt(gauth_credentials *caller,
                                            const char *sa_email,
                                            const char *const *delegates,
                                            const char *claims_json, char **jwt,
                                            gauth_error *err) {
  gauth__iamcredentials_caller c;
  char **headers = NULL, *token = NULL;
  gauth_status st =
      gauth__iamcredentials_caller_of(caller, &c, &headers, &token, err);
  *jwt = NULL;
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "signJwt on %s: the caller's token", sa_email);
    return st;
  }
  st = gauth__iamcredentials_caller_sign_jwt(&c, sa_email, delegates,
                                             claims_json, jwt, err);
  gauth__auth_headers_free(headers, token);
  return st;
}
