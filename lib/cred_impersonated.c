/* The impersonated credential source: tokens and signatures of a service
 * account obtained through IAM Credentials (iam_credentials.h) with a
 * source credential's token, optionally through a delegation chain;
 * built by gauth_credentials_impersonate() or from an
 * impersonated_service_account file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "iam_credentials.h"
#include "json.h"
#include "secret.h"

/* ---- the impersonated credential ----------------------------------------- */

typedef struct imp {
  gauth_credentials *source; /* a reference */
  char *sa_email;            /* the impersonated service account */
  char **delegates;          /* NULL-terminated emails; NULL: none */
  char *access_token_url;    /* the file's; NULL: the service's */
  char *project_id;          /* the file's; NULL: none */
} imp;

static void imp_free(void *p) {
  imp *im = p;
  if (im == NULL) return;
  gauth_credentials_free(im->source);
  free(im->sa_email);
  gauth__strv_free(im->delegates);
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
  gauth__iamcredentials_caller caller;
  char **headers = NULL, *token = NULL;
  gauth_status st = gauth__iamcredentials_caller_of(im->source, &caller,
                                                    &headers, &token, err);
  memset(out, 0, sizeof *out);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "impersonation of %s: the source credentials",
                        im->sa_email);
    return st;
  }
  caller.access_token_url = im->access_token_url;
  st = gauth__iamcredentials_generate_token(
      &caller, im->sa_email, imp_delegates(im), req,
      gauth__credentials_settings(c)->token_lifetime_seconds, out, err);
  gauth__auth_headers_free(headers, token);
  return st;
}

static gauth_status imp_email(gauth_credentials *c, char **out,
                              gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  return gauth__strdup_out(im->sa_email, out, err);
}

static gauth_status imp_project_id(gauth_credentials *c, char **out,
                                   gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  *out = NULL;
  if (im->project_id == NULL)
    return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                            "impersonated credentials carry no project id");
  return gauth__strdup_out(im->project_id, out, err);
}

static gauth_status imp_sign_blob(gauth_credentials *c, const void *data,
                                  size_t len, unsigned char **sig,
                                  size_t *sig_len, char **key_id,
                                  gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  return gauth__iamcredentials_sign_blob(im->source, im->sa_email,
                                         imp_delegates(im), data, len, sig,
                                         sig_len, key_id, err);
}

static gauth_status imp_sign_jwt(gauth_credentials *c, const char *claims,
                                 char **jwt, gauth_error *err) {
  imp *im = gauth__credentials_impl(c);
  return gauth__iamcredentials_sign_jwt(im->source, im->sa_email,
                                        imp_delegates(im), claims, jwt, err);
}

static const gauth__source_vtable imp_vtable = {GAUTH_CREDENTIALS_IMPERSONATED,
                                                imp_fetch,
                                                imp_email,
                                                imp_project_id,
                                                imp_sign_blob,
                                                imp_sign_jwt,
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
    st = gauth__iamcredentials_parse_sa_email(list[i], name, code,
                                              &im->delegates[i], err);
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
  size_t n = sizeof "impersonation of  (from )" + strlen(im->sa_email) +
             (from ? strlen(from) : 0);
  char *origin = malloc(n);
  gauth_status st;
  if (origin == NULL) {
    imp_free(im);
    return gauth__error_nomem(err);
  }
  snprintf(origin, n, "impersonation of %s%s%s%s", im->sa_email,
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
  st = gauth__iamcredentials_parse_sa_email(
      target_email, "target_email", GAUTH_E_INVALID_ARG, &im->sa_email, err);
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

/* ---- the impersonated_service_account file ------------------------------ */

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
  gauth_status st =
      gauth__json_get_object(json, "source_credentials", &src, err);
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
    st = gauth__iamcredentials_sa_email_from_url(
        url, "field \"service_account_impersonation_url\"", &im->sa_email, err);
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
