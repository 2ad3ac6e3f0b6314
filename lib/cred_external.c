/* External accounts (workload identity federation): a subject token read
 * from a file or a URL on every fetch, exchanged at STS for a federated
 * access token, then optionally used to impersonate a service account
 * through IAM Credentials. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "base64.h"
#include "constants.h"
#include "cred_external.h"
#include "error_internal.h"
#include "iam_credentials.h"
#include "json.h"
#include "secret.h"
#include "url.h"

#define WIP_PREFIX "//iam.googleapis.com/projects/"
#define WORKFORCE_PREFIX "//iam.googleapis.com/locations/"
#define LIFETIME_MIN 600
#define LIFETIME_MAX 43200

/* ---- the file ------------------------------------------------------------ */

/* A string member copied into *out: required, or optional (absent: NULL).
 * Present strings must not be empty. */
gauth_status gauth__external_unsupported(const char *what, const char *value,
                                         gauth_error *err) {
  return gauth__error_set(
      err, GAUTH_E_UNSUPPORTED,
      "credential_source.%s%s%s: %s credentials are not supported by "
      "libgauth; credential_source.file, credential_source.url, "
      "credential_source.executable and credential_source.environment_id "
      "aws1 are",
      what, value ? " " : "", value ? gauth__echo_setting(value) : "",
      strcmp(what, "executable") == 0               ? "executable-sourced"
      : strcmp(what, "certificate") == 0            ? "X.509 certificate"
      : gauth__skip_prefix_ci(value, "aws") != NULL ? "AWS"
                                                    : "this environment's");
}

/* 1 when a header name is an HTTP token and its value has no CR, LF or
 * other control character. */
static int header_ok(const char *name, const char *value) {
  if (name[0] == '\0') return 0;
  for (const char *p = name; *p; p++)
    if (*p <= ' ' || *p >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *p)) return 0;
  for (const char *p = value; *p; p++)
    if ((unsigned char)*p < 0x20 && *p != '\t') return 0;
  return 1;
}

/* credential_source.headers: an object of strings, as "Name: value". */
static gauth_status parse_headers(const cJSON *src, gauth__external_config *x,
                                  gauth_error *err) {
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(src, "headers"), *it;
  size_t n = 0;
  if (h == NULL || cJSON_IsNull(h)) return GAUTH_OK;
  if (!cJSON_IsObject(h))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field \"headers\" is %s, expected an object",
                            gauth__json_type_name(h));
  x->headers = calloc((size_t)cJSON_GetArraySize(h) + 1, sizeof *x->headers);
  if (x->headers == NULL) return gauth__error_nomem(err);
  cJSON_ArrayForEach(it, h) {
    size_t len;
    if (!cJSON_IsString(it) || !header_ok(it->string, it->valuestring))
      return gauth__error_set(err, GAUTH_E_MALFORMED,
                              "field \"headers\": member \"%s\" is not a "
                              "header name with a string value",
                              gauth__echo_setting(it->string));
    len = strlen(it->string) + strlen(it->valuestring) + 3;
    if ((x->headers[n] = malloc(len)) == NULL) return gauth__error_nomem(err);
    snprintf(x->headers[n++], len, "%s: %s", it->string, it->valuestring);
  }
  return GAUTH_OK;
}

/* credential_source.format: {"type":"text"|"json",
 * "subject_token_field_name"}. */
static gauth_status parse_format(const cJSON *src, gauth__external_config *x,
                                 gauth_error *err) {
  const cJSON *f = NULL;
  const char *type = NULL;
  gauth_status st;
  if (cJSON_GetObjectItemCaseSensitive(src, "format") == NULL) return GAUTH_OK;
  st = gauth__json_get_object(src, "format", &f, err);
  if (st == GAUTH_OK) st = gauth__json_opt_string(f, "type", &type, err);
  if (st != GAUTH_OK) return st;
  if (type != NULL && strcmp(type, "text") != 0 && strcmp(type, "json") != 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "format: field \"type\" must be \"text\" or "
                            "\"json\"");
  x->json_format = type != NULL && strcmp(type, "json") == 0;
  if (!x->json_format) return GAUTH_OK;
  st = gauth__json_copy_string(f, "subject_token_field_name",
                               GAUTH__JSON_REQUIRED, &x->field_name, err);
  if (st != GAUTH_OK) gauth__error_prefix(err, "format");
  return st;
}

static gauth_status parse_source(const cJSON *json, gauth__external_config *x,
                                 gauth_error *err) {
  static const char *const refused[] = {"certificate"};
  const cJSON *src = NULL;
  gauth_status st =
      gauth__json_get_object(json, "credential_source", &src, err);
  if (st != GAUTH_OK) return st;
  if (cJSON_GetObjectItemCaseSensitive(src, "environment_id") != NULL) {
    x->source = GAUTH__SUBJECT_AWS;
    st = gauth__external_aws_parse(src, &x->aws, err);
    if (st != GAUTH_OK && st != GAUTH_E_UNSUPPORTED)
      gauth__error_prefix(err, "credential_source");
    if (st == GAUTH_OK &&
        strcmp(x->subject_token_type, GAUTH__AWS_TOKEN_TYPE) != 0)
      st = gauth__error_set(
          err, GAUTH_E_MALFORMED,
          "field \"subject_token_type\" must be " GAUTH__AWS_TOKEN_TYPE
          " for an AWS "
          "credential_source");
    return st;
  }
  if (cJSON_GetObjectItemCaseSensitive(src, "executable") != NULL) {
    x->source = GAUTH__SUBJECT_EXECUTABLE;
    st = gauth__external_exec_parse(src, &x->exec, err);
    if (st != GAUTH_OK && st != GAUTH_E_UNSUPPORTED)
      gauth__error_prefix(err, "credential_source");
    return st;
  }
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(refused); i++) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(src, refused[i]);
    if (r != NULL)
      return gauth__external_unsupported(
          refused[i], cJSON_IsString(r) ? r->valuestring : NULL, err);
  }
  st =
      gauth__json_copy_string(src, "file", GAUTH__JSON_NONEMPTY, &x->path, err);
  if (st == GAUTH_OK)
    st =
        gauth__json_copy_string(src, "url", GAUTH__JSON_NONEMPTY, &x->url, err);
  if (st == GAUTH_OK && (x->path != NULL) == (x->url != NULL))
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          x->path ? "give one of \"file\" and \"url\", not both"
                                  : "missing field \"file\" or \"url\" (the "
                                    "subject token's source)");
  if (st == GAUTH_OK && x->path != NULL &&
      cJSON_GetObjectItemCaseSensitive(src, "headers") != NULL)
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "field \"headers\" applies to \"url\" only");
  if (st == GAUTH_OK) st = parse_headers(src, x, err);
  if (st == GAUTH_OK) st = parse_format(src, x, err);
  x->source = x->path ? GAUTH__SUBJECT_FILE : GAUTH__SUBJECT_URL;
  if (st != GAUTH_OK && st != GAUTH_E_UNSUPPORTED)
    gauth__error_prefix(err, "credential_source");
  return st;
}

/* service_account_impersonation_url and service_account_impersonation. */
static gauth_status parse_impersonation(const cJSON *json,
                                        gauth__external_config *x,
                                        gauth_error *err) {
  const cJSON *o = NULL;
  int64_t life = 0;
  int present = 0;
  gauth_status st =
      gauth__json_copy_string(json, "service_account_impersonation_url",
                              GAUTH__JSON_NONEMPTY, &x->impersonation_url, err);
  if (st == GAUTH_OK && x->impersonation_url != NULL)
    st = gauth__iamcredentials_sa_email_from_url(
        x->impersonation_url, "field \"service_account_impersonation_url\"",
        &x->impersonation_email, err);
  if (st != GAUTH_OK || cJSON_GetObjectItemCaseSensitive(
                            json, "service_account_impersonation") == NULL)
    return st;
  st = gauth__json_get_object(json, "service_account_impersonation", &o, err);
  if (st == GAUTH_OK)
    st = gauth__json_opt_int64(o, "token_lifetime_seconds", &life, &present,
                               err);
  if (st == GAUTH_OK && present && (life < LIFETIME_MIN || life > LIFETIME_MAX))
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "field \"token_lifetime_seconds\" must be %d to %d",
                          LIFETIME_MIN, LIFETIME_MAX);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "service_account_impersonation");
    return st;
  }
  x->lifetime_seconds = present ? (unsigned int)life : 0;
  return GAUTH_OK;
}

static int is_workforce_audience(const char *aud) {
  return gauth__skip_prefix(aud, WORKFORCE_PREFIX) != NULL &&
         strstr(aud, "/workforcePools/") != NULL;
}

/* quota_project_id, workforce_pool_user_project, client_id/secret. */
static gauth_status parse_extras(const cJSON *json, gauth__external_config *x,
                                 gauth_error *err) {
  gauth_status st = gauth__json_copy_string(
      json, "quota_project_id", GAUTH__JSON_NONEMPTY, &x->quota_project, err);
  if (st == GAUTH_OK)
    st = gauth__json_copy_string(json, "workforce_pool_user_project",
                                 GAUTH__JSON_NONEMPTY, &x->user_project, err);
  if (st == GAUTH_OK && x->user_project != NULL &&
      !is_workforce_audience(x->audience))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field \"workforce_pool_user_project\" applies "
                            "to workforce pool audiences (" WORKFORCE_PREFIX
                            "L/workforcePools/...) only");
  if (st == GAUTH_OK)
    st = gauth__json_copy_string(json, "client_id", GAUTH__JSON_NONEMPTY,
                                 &x->client_id, err);
  if (st == GAUTH_OK)
    st = gauth__json_copy_string(json, "client_secret", GAUTH__JSON_NONEMPTY,
                                 &x->client_secret, err);
  if (st == GAUTH_OK && x->client_secret != NULL && x->client_id == NULL)
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "field \"client_secret\" needs \"client_id\"");
  return st;
}

gauth_status gauth__external_config_parse(const cJSON *json,
                                          gauth__external_config *out,
                                          gauth_error *err) {
  gauth_status st;
  memset(out, 0, sizeof *out);
  st = gauth__json_copy_string(json, "audience", GAUTH__JSON_REQUIRED,
                               &out->audience, err);
  if (st == GAUTH_OK)
    st = gauth__json_copy_string(json, "subject_token_type",
                                 GAUTH__JSON_REQUIRED, &out->subject_token_type,
                                 err);
  if (st == GAUTH_OK)
    st = gauth__json_copy_string(json, "token_url", GAUTH__JSON_NONEMPTY,
                                 &out->token_url, err);
  if (st == GAUTH_OK) st = parse_impersonation(json, out, err);
  if (st == GAUTH_OK) st = parse_source(json, out, err);
  if (st == GAUTH_OK) st = parse_extras(json, out, err);
  if (st != GAUTH_OK) gauth__external_config_cleanup(out);
  return st;
}

void gauth__external_config_cleanup(gauth__external_config *x) {
  if (x == NULL) return;
  free(x->audience);
  free(x->subject_token_type);
  free(x->token_url);
  free(x->impersonation_url);
  free(x->impersonation_email);
  free(x->path);
  free(x->url);
  gauth__secret_strv_free(x->headers);
  free(x->field_name);
  free(x->quota_project);
  free(x->user_project);
  free(x->client_id);
  gauth__secret_strfree(x->client_secret);
  gauth__external_aws_free(x->aws);
  gauth__external_exec_free(x->exec);
  memset(x, 0, sizeof *x);
}

/* ---- the subject token -------------------------------------------------- */

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static gauth_status extract_json(const char *data, size_t len,
                                 const char *field, const char *where,
                                 gauth_status code, char **token,
                                 gauth_error *err) {
  cJSON *root = NULL;
  const char *s = NULL;
  gauth_status st = gauth__json_parse_object(data, len, NULL, &root, err);
  if (st == GAUTH_OK) st = gauth__json_get_string(root, field, &s, err);
  if (st == GAUTH_OK && s[0] == '\0')
    st = gauth__error_set(err, code, "field \"%s\" is empty", field);
  if (st == GAUTH_OK && (*token = strdup(s)) == NULL)
    st = gauth__error_nomem(err);
  gauth__secret_json_delete(root);
  if (st == GAUTH_OK || st == GAUTH_E_NOMEM) return st;
  if (err != NULL) err->code = code;
  gauth__error_prefix(err, "subject token from %s", where);
  return code;
}

gauth_status gauth__subject_token_extract(const char *data, size_t len,
                                          int json_format, const char *field,
                                          const char *where, gauth_status code,
                                          char **token, gauth_error *err) {
  size_t b = 0, e = len;
  *token = NULL;
  if (len > GAUTH__SUBJECT_TOKEN_MAX)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "subject token from %s: over %zu bytes", where,
                            GAUTH__SUBJECT_TOKEN_MAX);
  if (json_format)
    return extract_json(data, len, field, where, code, token, err);
  while (b < e && is_space(data[b])) b++;
  while (e > b && is_space(data[e - 1])) e--;
  if (b == e)
    return gauth__error_set(err, code, "subject token from %s is empty", where);
  if (memchr(data + b, '\0', e - b) != NULL)
    return gauth__error_set(err, code, "subject token from %s holds a NUL byte",
                            where);
  *token = strndup(data + b, e - b);
  return *token != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

/* ---- STS ----------------------------------------------------------------- */

gauth_status gauth__sts_form_build(const gauth__external_config *x,
                                   const char *scope, const char *subject_token,
                                   gauth__sts_form *out, gauth_error *err) {
  memset(out, 0, sizeof *out);
#define FIELD(name_, value_, secret_) \
  out->fields[out->n++] = (gauth__form_field){(name_), (value_), (secret_)}
  FIELD("grant_type", GAUTH__STS_GRANT, 0);
  FIELD("audience", x->audience, 0);
  if (scope != NULL && scope[0] != '\0') FIELD("scope", scope, 0);
  FIELD("requested_token_type", GAUTH__STS_ACCESS_TOKEN, 0);
  FIELD("subject_token", subject_token, 1);
  FIELD("subject_token_type", x->subject_token_type, 0);
  /* Google's STS takes the workforce user project as options, unless the
   * client authenticates (then the client's project is billed). */
  if (x->user_project != NULL && x->client_id == NULL) {
    cJSON *o = cJSON_CreateObject();
    if (o != NULL &&
        cJSON_AddStringToObject(o, "userProject", x->user_project) != NULL)
      out->options = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (out->options == NULL) return gauth__error_nomem(err);
    FIELD("options", out->options, 0);
  }
#undef FIELD
  return GAUTH_OK;
}

void gauth__sts_form_cleanup(gauth__sts_form *f) {
  if (f == NULL) return;
  free(f->options);
  memset(f, 0, sizeof *f);
}

static gauth_status sts_bad(gauth_error *err, gauth_status st) {
  if (st == GAUTH_E_NOMEM) return st;
  if (err != NULL) err->code = GAUTH_E_BAD_RESPONSE;
  gauth__error_prefix(err, "STS reply");
  return GAUTH_E_BAD_RESPONSE;
}

gauth_status gauth__sts_reply_parse(const char *body, size_t len, int64_t now,
                                    gauth__token *out, gauth_error *err) {
  cJSON *root = NULL;
  const char *tok = NULL, *issued = NULL, *type = NULL;
  int64_t expires_in = 0;
  int present = 0;
  gauth_status st = gauth__json_parse_object(body, len, NULL, &root, err);
  memset(out, 0, sizeof *out);
  if (st == GAUTH_OK)
    st = gauth__json_get_string(root, "access_token", &tok, err);
  if (st == GAUTH_OK && tok[0] == '\0')
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "field \"access_token\" is empty");
  if (st == GAUTH_OK) st = gauth__token_text_check(tok, "access_token", err);
  if (st == GAUTH_OK)
    st = gauth__json_opt_string(root, "issued_token_type", &issued, err);
  if (st == GAUTH_OK && issued != NULL &&
      strcmp(issued, GAUTH__STS_ACCESS_TOKEN) != 0)
    st = gauth__error_set(
        err, GAUTH_E_MALFORMED,
        "field \"issued_token_type\" is not " GAUTH__STS_ACCESS_TOKEN);
  if (st == GAUTH_OK)
    st = gauth__json_opt_string(root, "token_type", &type, err);
  if (st == GAUTH_OK && type != NULL && strcasecmp(type, "Bearer") != 0)
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "field \"token_type\" is not Bearer");
  if (st == GAUTH_OK)
    st = gauth__json_opt_int64(root, "expires_in", &expires_in, &present, err);
  if (st == GAUTH_OK && present && expires_in <= 0)
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "field \"expires_in\" is not positive");
  if (st == GAUTH_OK && (out->value = strdup(tok)) == NULL)
    st = gauth__error_nomem(err);
  if (st == GAUTH_OK) out->expires_at = present ? now + expires_in : 0;
  gauth__secret_json_delete(root);
  return st == GAUTH_OK ? st : sts_bad(err, st);
}

gauth_status gauth__external_project_number(const char *audience, char **out,
                                            gauth_error *err) {
  const char *p = gauth__skip_prefix(audience, WIP_PREFIX);
  size_t n;
  *out = NULL;
  if (p == NULL || (n = strspn(p, "0123456789")) == 0 ||
      gauth__skip_prefix(p + n, "/locations/") == NULL)
    return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                            "the external account's audience names no "
                            "project (workforce pools have none)");
  *out = strndup(p, n);
  return *out != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

/* ---- the credential ------------------------------------------------------ */

static gauth__external_config *ext_of(gauth_credentials *c) {
  return gauth__credentials_impl(c);
}

/* Reads the subject token file (at most GAUTH__SUBJECT_TOKEN_MAX bytes). */
static gauth_status read_subject_file(const gauth__external_config *x,
                                      char **token, gauth_error *err) {
  char *buf = malloc(GAUTH__SUBJECT_TOKEN_MAX + 1);
  FILE *f;
  size_t n;
  gauth_status st;
  if (buf == NULL) return gauth__error_nomem(err);
  f = fopen(x->path, "rb");
  if (f == NULL) {
    int e = errno;
    free(buf);
    return gauth__error_set(err, GAUTH_E_IO,
                            "subject token file %s (credential_source.file): "
                            "%s",
                            x->path, strerror(e));
  }
  n = fread(buf, 1, GAUTH__SUBJECT_TOKEN_MAX + 1, f);
  if (ferror(f)) {
    st = gauth__error_set(err, GAUTH_E_IO,
                          "subject token file %s (credential_source.file): "
                          "read error",
                          x->path);
  } else {
    char where[64 + 4096];
    snprintf(where, sizeof where, "file %s", x->path);
    st = gauth__subject_token_extract(buf, n, x->json_format, x->field_name,
                                      where, GAUTH_E_MALFORMED, token, err);
  }
  fclose(f);
  gauth__secret_free(buf, GAUTH__SUBJECT_TOKEN_MAX + 1);
  return st;
}

static gauth_status fetch_subject_url(gauth_credentials *c,
                                      const gauth__external_config *x,
                                      char **token, gauth_error *err) {
  gauth__http_response resp;
  gauth_status st =
      gauth__http_get(gauth__credentials_http(c), x->url,
                      (const char *const *)x->headers, NULL, &resp, err);
  if (st != GAUTH_OK)
    gauth__error_prefix(err, "subject token (credential_source.url)");
  else
    st = gauth__subject_token_extract(resp.body, resp.body_len, x->json_format,
                                      x->field_name, "credential_source.url",
                                      GAUTH_E_BAD_RESPONSE, token, err);
  gauth__http_response_cleanup(&resp);
  return st;
}

static gauth_status subject_token(gauth_credentials *c,
                                  const gauth__external_config *x, char **token,
                                  gauth_error *err) {
  *token = NULL;
  switch (x->source) {
    case GAUTH__SUBJECT_FILE: return read_subject_file(x, token, err);
    case GAUTH__SUBJECT_URL: return fetch_subject_url(c, x, token, err);
    case GAUTH__SUBJECT_AWS:
      return gauth__external_aws_subject_token(c, x, token, err);
    case GAUTH__SUBJECT_EXECUTABLE:
      return gauth__external_exec_subject_token(c, x, token, err);
  }
  return gauth__error_set(err, GAUTH_E_INTERNAL, "subject token: no source");
}

/* "Authorization: Basic base64(client_id:client_secret)" (RFC 6749 2.3.1),
 * or NULL when the file has no client. */
static gauth_status client_auth(const gauth__external_config *x, char **hdr,
                                gauth_error *err) {
  char *pair, *b64 = NULL;
  size_t n;
  gauth_status st;
  *hdr = NULL;
  if (x->client_id == NULL) return GAUTH_OK;
  n = strlen(x->client_id) + 2 +
      (x->client_secret ? strlen(x->client_secret) : 0);
  if ((pair = malloc(n)) == NULL) return gauth__error_nomem(err);
  snprintf(pair, n, "%s:%s", x->client_id,
           x->client_secret ? x->client_secret : "");
  st = gauth__b64_encode(pair, strlen(pair), &b64, err);
  gauth__secret_strfree(pair);
  if (st != GAUTH_OK) return st;
  n = strlen(b64) + sizeof "Authorization: Basic ";
  if ((*hdr = malloc(n)) == NULL)
    st = gauth__error_nomem(err);
  else
    snprintf(*hdr, n, "Authorization: Basic %s", b64);
  gauth__secret_strfree(b64);
  return st;
}

/* The STS URL: an explicit sts_endpoint option, else the file's token_url,
 * else the STS service URL. */
static gauth_status sts_url(gauth_credentials *c,
                            const gauth__external_config *x, char **url,
                            gauth_error *err) {
  const gauth__config *cfg = gauth__credentials_config(c);
  if (x->token_url != NULL && cfg->service_override[GAUTH_SERVICE_STS] == NULL)
    return gauth__strdup_out(x->token_url, url, err);
  return gauth__config_service_url(cfg, GAUTH_SERVICE_STS, "/v1/token", url,
                                   err);
}

static gauth_status sts_post(gauth_credentials *c,
                             const gauth__external_config *x, const char *scope,
                             const char *subject, gauth__http_response *resp,
                             gauth_error *err) {
  gauth__sts_form form;
  char *url = NULL, *auth = NULL, **more = NULL;
  const char *headers[2] = {NULL, NULL};
  gauth_status st = gauth__sts_form_build(x, scope, subject, &form, err);
  if (st == GAUTH_OK) st = client_auth(x, &auth, err);
  if (st == GAUTH_OK) st = sts_url(c, x, &url, err);
  headers[0] = auth;
  if (st == GAUTH_OK && x->source == GAUTH__SUBJECT_AWS)
    st = gauth__external_aws_token_secrets(subject, &more, err);
  if (st == GAUTH_OK) {
    st = gauth__http_post_form_secrets(gauth__credentials_http(c), url, headers,
                                       form.fields, form.n,
                                       (const char *const *)more, resp, err);
    if (st != GAUTH_OK)
      gauth__error_prefix(err, "STS token exchange for audience %s",
                          gauth__echo_setting(x->audience));
  }
  gauth__sts_form_cleanup(&form);
  gauth__secret_strfree(auth);
  gauth__secret_strv_free(more);
  free(url);
  return st;
}

/* Reads the subject token and exchanges it for a federated access token
 * for scopes. */
static gauth_status sts_exchange(gauth_credentials *c,
                                 const gauth__external_config *x,
                                 const char *const *scopes, size_t n,
                                 gauth__token *out, gauth_error *err) {
  gauth__http_response resp;
  char *subject = NULL, *scope = gauth__scopes_join(scopes, n, ' ');
  gauth_status st;
  memset(&resp, 0, sizeof resp);
  memset(out, 0, sizeof *out);
  if (scope == NULL) return gauth__error_nomem(err);
  st = subject_token(c, x, &subject, err);
  if (st == GAUTH_OK) st = sts_post(c, x, scope, subject, &resp, err);
  if (st == GAUTH_OK)
    st = gauth__sts_reply_parse(resp.body, resp.body_len,
                                gauth__credentials_now(c), out, err);
  gauth__http_response_cleanup(&resp);
  gauth__secret_strfree(subject);
  free(scope);
  if (st != GAUTH_OK) gauth__error_prefix(err, "external account");
  return st;
}

/* A federated token for impersonation: the STS token (cloud-platform) and
 * the IAM Credentials caller that carries it. Free with caller_done. */
typedef struct sts_caller {
  gauth__token sts;
  char *auth;
  const char *headers[2];
  char principal[512];
  gauth__iamcredentials_caller caller;
} sts_caller;

static gauth_status caller_new(gauth_credentials *c, sts_caller *s,
                               gauth_error *err) {
  static const char *const cloud[] = {GAUTH_SCOPE_CLOUD_PLATFORM};
  const gauth__external_config *x = ext_of(c);
  size_t n;
  gauth_status st;
  memset(s, 0, sizeof *s);
  st = sts_exchange(c, x, cloud, 1, &s->sts, err);
  if (st != GAUTH_OK) return st;
  n = strlen(s->sts.value) + sizeof "Authorization: Bearer ";
  if ((s->auth = malloc(n)) == NULL) return gauth__error_nomem(err);
  snprintf(s->auth, n, "Authorization: Bearer %s", s->sts.value);
  s->headers[0] = s->auth;
  snprintf(s->principal, sizeof s->principal, "the federated identity of %s",
           gauth__echo_setting(x->audience));
  s->caller.http = gauth__credentials_http(c);
  s->caller.cfg = gauth__credentials_config(c);
  s->caller.headers = s->headers;
  s->caller.bearer = s->sts.value;
  s->caller.principal = s->principal;
  s->caller.access_token_url = x->impersonation_url;
  return GAUTH_OK;
}

static void caller_done(sts_caller *s) {
  gauth__secret_strfree(s->auth);
  gauth__token_cleanup(&s->sts);
}

static gauth_status no_impersonation(const char *what, gauth_error *err) {
  return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                          "external account credentials give %s only through "
                          "service account impersonation: set "
                          "service_account_impersonation_url in the "
                          "credentials file",
                          what);
}

static gauth_status ext_fetch(gauth_credentials *c,
                              const gauth__token_request *req,
                              gauth__token *out, gauth_error *err) {
  const gauth__external_config *x = ext_of(c);
  unsigned int life;
  sts_caller s;
  gauth_status st;
  memset(out, 0, sizeof *out);
  if (x->impersonation_email == NULL) {
    if (req->kind == GAUTH__TOKEN_ID) return no_impersonation("ID tokens", err);
    return sts_exchange(c, x, req->scopes, req->scope_count, out, err);
  }
  st = caller_new(c, &s, err);
  life = x->lifetime_seconds
             ? x->lifetime_seconds
             : gauth__credentials_settings(c)->token_lifetime_seconds;
  if (st == GAUTH_OK)
    st = gauth__iamcredentials_generate_token(&s.caller, x->impersonation_email,
                                              NULL, req, life, out, err);
  if (st != GAUTH_OK && s.sts.value != NULL)
    gauth__error_prefix(err, "external account (after the STS exchange)");
  caller_done(&s);
  return st;
}

static gauth_status ext_email(gauth_credentials *c, char **out,
                              gauth_error *err) {
  const gauth__external_config *x = ext_of(c);
  *out = NULL;
  if (x->impersonation_email == NULL)
    return no_impersonation("a service account email", err);
  return gauth__strdup_out(x->impersonation_email, out, err);
}

static gauth_status ext_project_id(gauth_credentials *c, char **out,
                                   gauth_error *err) {
  return gauth__external_project_number(ext_of(c)->audience, out, err);
}

/* The caller for signBlob / signJwt as the impersonated account; s is
 * ready for caller_done whatever the outcome. */
static gauth_status signing_caller(gauth_credentials *c, sts_caller *s,
                                   gauth_error *err) {
  memset(s, 0, sizeof *s);
  if (ext_of(c)->impersonation_email == NULL)
    return no_impersonation("signatures", err);
  return caller_new(c, s, err);
}

static gauth_status ext_sign_blob(gauth_credentials *c, const void *data,
                                  size_t len, unsigned char **sig,
                                  size_t *sig_len, char **key_id,
                                  gauth_error *err) {
  sts_caller s;
  gauth_status st = signing_caller(c, &s, err);
  if (st == GAUTH_OK)
    st = gauth__iamcredentials_caller_sign_blob(
        &s.caller, ext_of(c)->impersonation_email, NULL, data, len, sig,
        sig_len, key_id, err);
  caller_done(&s);
  return st;
}

static gauth_status ext_sign_jwt(gauth_credentials *c, const char *claims,
                                 char **jwt, gauth_error *err) {
  sts_caller s;
  gauth_status st = signing_caller(c, &s, err);
  if (st == GAUTH_OK)
    st = gauth__iamcredentials_caller_sign_jwt(
        &s.caller, ext_of(c)->impersonation_email, NULL, claims, jwt, err);
  caller_done(&s);
  return st;
}

static void ext_free(void *p) {
  gauth__external_config_cleanup(p);
  free(p);
}

static const gauth__source_vtable ext_vtable = {
    GAUTH_CREDENTIALS_EXTERNAL_ACCOUNT,
    ext_fetch,
    ext_email,
    ext_project_id,
    ext_sign_blob,
    ext_sign_jwt,
    ext_free};

gauth_status gauth__external_credentials_new(
    gauth_credentials **out, const cJSON *json, const char *origin,
    const gauth_credentials_options *copts, gauth_error *err) {
  gauth__external_config *x = calloc(1, sizeof *x);
  gauth_status st;
  *out = NULL;
  if (x == NULL) return gauth__error_nomem(err);
  st = gauth__external_config_parse(json, x, err);
  if (st != GAUTH_OK) {
    free(x);
    return st;
  }
  return gauth__credentials_create(out, copts, &ext_vtable, x, origin,
                                   x->quota_project, err);
}
