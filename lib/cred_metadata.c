/* Credentials of the metadata server's default service account: access
 * tokens (token?scopes=), ID tokens (identity?audience=&format=full), the
 * email (remembered after the first success), the project, and signing
 * through IAM Credentials as that account.
 *
 * Every request goes through gauth__metadata_http_get on the credential's
 * transport: Metadata-Flavor both ways, no redirects, the retry policy. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials_internal.h"
#include "error_internal.h"
#include "iam_credentials.h"
#include "metadata_internal.h"
#include "secret.h"

#define SA_PATH "instance/service-accounts/default/"

typedef struct md_source {
  pthread_mutex_t mu; /* guards email */
  char *email;        /* NULL until the first successful read */
} md_source;

static void md_free_impl(void *impl) {
  md_source *s = impl;
  if (s == NULL) return;
  pthread_mutex_destroy(&s->mu);
  free(s->email);
  free(s);
}

/* "token?scopes=a,b" with each scope percent-encoded as a query value. */
static char *token_path(const char *const *scopes, size_t n) {
  char **enc = calloc(n ? n : 1, sizeof(*enc));
  char *joined = NULL, *path = NULL;
  size_t i, len;
  if (enc == NULL) return NULL;
  for (i = 0; i < n; i++)
    if ((enc[i] = gauth__metadata_query_escape(scopes[i])) == NULL) goto done;
  joined = gauth__scopes_join((const char *const *)enc, n, ',');
  if (joined == NULL) goto done;
  len = sizeof(SA_PATH "token?scopes=") + strlen(joined);
  path = malloc(len);
  if (path != NULL) snprintf(path, len, SA_PATH "token?scopes=%s", joined);
done:
  for (i = 0; i < n; i++) free(enc[i]);
  free(enc);
  free(joined);
  return path;
}

static gauth_status fetch_access(gauth_credentials *c,
                                 const gauth__token_request *req,
                                 gauth__token *out, gauth_error *err) {
  char *path = token_path(req->scopes, req->scope_count), *body = NULL;
  size_t len = 0;
  gauth_status st;
  if (path == NULL) return gauth__error_nomem(err);
  st = gauth__metadata_http_get(gauth__credentials_http(c), path, &body, &len,
                                err);
  free(path);
  if (st != GAUTH_OK) return st;
  st = gauth__token_response_parse(body, len, GAUTH__TOKEN_ACCESS,
                                   gauth__credentials_now(c), out, NULL, err);
  if (st != GAUTH_OK)
    gauth__error_prefix(err, "metadata server: " SA_PATH "token");
  gauth__secret_free(body, len + 1);
  return st;
}

gauth_status gauth__metadata_id_token_parse(char *body, size_t len,
                                            gauth__token *out,
                                            gauth_error *err) {
  gauth_error e = GAUTH_ERROR_INIT;
  size_t i;
  while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' ||
                     body[len - 1] == ' ' || body[len - 1] == '\t'))
    body[--len] = '\0';
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)body[i];
    if (ch <= 0x20 || ch >= 0x7f)
      return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                              "metadata server: " SA_PATH
                              "identity: the "
                              "reply is not a JWT (byte %zu is not a token "
                              "character)",
                              i);
  }
  if (len == 0)
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "metadata server: " SA_PATH
                            "identity: empty "
                            "reply");
  if (gauth__jwt_expiry(body, &out->expires_at, &e) != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "metadata server: " SA_PATH
                            "identity: the "
                            "reply is not a JWT with an exp claim (%s)",
                            e.message);
  out->value = malloc(len + 1);
  if (out->value == NULL) return gauth__error_nomem(err);
  memcpy(out->value, body, len + 1);
  return GAUTH_OK;
}

static gauth_status fetch_id(gauth_credentials *c,
                             const gauth__token_request *req, gauth__token *out,
                             gauth_error *err) {
  char *aud, *path, *body = NULL;
  size_t len = 0, plen;
  gauth_status st;
  if (req->audience == NULL || req->audience[0] == '\0')
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "an ID token needs a non-empty audience");
  aud = gauth__metadata_query_escape(req->audience);
  if (aud == NULL) return gauth__error_nomem(err);
  plen = sizeof(SA_PATH "identity?audience=&format=full") + strlen(aud);
  path = malloc(plen);
  if (path == NULL) {
    free(aud);
    return gauth__error_nomem(err);
  }
  snprintf(path, plen, SA_PATH "identity?audience=%s&format=full", aud);
  free(aud);
  st = gauth__metadata_http_get(gauth__credentials_http(c), path, &body, &len,
                                err);
  free(path);
  if (st != GAUTH_OK) return st;
  st = gauth__metadata_id_token_parse(body, len, out, err);
  gauth__secret_free(body, len + 1);
  return st;
}

static gauth_status md_fetch(gauth_credentials *c,
                             const gauth__token_request *req, gauth__token *out,
                             gauth_error *err) {
  memset(out, 0, sizeof(*out));
  if (req->kind == GAUTH__TOKEN_ACCESS) return fetch_access(c, req, out, err);
  return fetch_id(c, req, out, err);
}

/* A one-line text value: trimmed, not empty, no control characters. */
static gauth_status get_text(gauth_credentials *c, const char *path, char **out,
                             gauth_error *err) {
  char *body = NULL;
  size_t len = 0, i;
  gauth_status st;
  *out = NULL;
  st = gauth__metadata_http_get(gauth__credentials_http(c), path, &body, &len,
                                err);
  if (st != GAUTH_OK) return st;
  while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' ||
                     body[len - 1] == ' ' || body[len - 1] == '\t'))
    body[--len] = '\0';
  for (i = 0; i < len; i++)
    if ((unsigned char)body[i] < 0x20 || (unsigned char)body[i] == 0x7f) break;
  if (len == 0 || i < len) {
    free(body);
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "metadata server: %s: the reply is %s", path,
                            len == 0 ? "empty" : "not one line of text");
  }
  *out = body;
  return GAUTH_OK;
}

static gauth_status md_email(gauth_credentials *c, char **out,
                             gauth_error *err) {
  md_source *s = gauth__credentials_impl(c);
  char *email = NULL;
  int known;
  gauth_status st;
  *out = NULL;
  pthread_mutex_lock(&s->mu);
  known = s->email != NULL;
  if (known) *out = strdup(s->email);
  pthread_mutex_unlock(&s->mu);
  if (known) return *out != NULL ? GAUTH_OK : gauth__error_nomem(err);
  /* Not under the lock: a slow server must not block readers of a
   * remembered email. Two first calls may both ask; one answer is kept. */
  st = get_text(c, SA_PATH "email", &email, err);
  if (st != GAUTH_OK) return st;
  pthread_mutex_lock(&s->mu);
  if (s->email == NULL) s->email = strdup(email);
  pthread_mutex_unlock(&s->mu);
  *out = email;
  return GAUTH_OK;
}

static gauth_status md_project_id(gauth_credentials *c, char **out,
                                  gauth_error *err) {
  return get_text(c, "project/project-id", out, err);
}

static gauth_status md_sign_blob(gauth_credentials *c, const void *data,
                                 size_t len, unsigned char **sig,
                                 size_t *sig_len, char **key_id,
                                 gauth_error *err) {
  char *email = NULL;
  gauth_status st = md_email(c, &email, err);
  if (st != GAUTH_OK) return st;
  st = gauth__iamcredentials_sign_blob(c, email, NULL, data, len, sig, sig_len,
                                       key_id, err);
  free(email);
  return st;
}

static gauth_status md_sign_jwt(gauth_credentials *c, const char *claims_json,
                                char **jwt, gauth_error *err) {
  char *email = NULL;
  gauth_status st = md_email(c, &email, err);
  if (st != GAUTH_OK) return st;
  st = gauth__iamcredentials_sign_jwt(c, email, NULL, claims_json, jwt, err);
  free(email);
  return st;
}

static const gauth__source_vtable md_vtable = {GAUTH_CREDENTIALS_METADATA,
                                               md_fetch,
                                               md_email,
                                               md_project_id,
                                               md_sign_blob,
                                               md_sign_jwt,
                                               md_free_impl};

gauth_status gauth_credentials_from_metadata(
    gauth_credentials **out, const gauth_credentials_options *copts,
    gauth_error *err) {
  md_source *s;
  char origin[300];
  gauth_status st;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_from_metadata: out is NULL");
  *out = NULL;
  s = calloc(1, sizeof(*s));
  if (s == NULL) return gauth__error_nomem(err);
  pthread_mutex_init(&s->mu, NULL);
  st = gauth__credentials_create(out, copts, &md_vtable, s, "metadata server",
                                 NULL, err);
  if (st != GAUTH_OK) return st;
  /* The host is known once the options are resolved. */
  snprintf(origin, sizeof(origin), "metadata server (%s)",
           gauth__credentials_config(*out)->metadata_host);
  st = gauth__credentials_set_origin(*out, origin, err);
  if (st != GAUTH_OK) {
    gauth_credentials_free(*out);
    *out = NULL;
  }
  return st;
}
