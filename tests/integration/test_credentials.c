/* lib/credentials.c, the object every source shares, through the public
 * API: argument checks that refuse before any request, the project id and
 * quota project rules, x-goog-user-project on API calls (seen by a real
 * server on 127.0.0.1), type names, origins, references. The credentials
 * are a service-account key made here; the "APIs" are a scripted
 * loopback server standing in for IAM Credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gauth/gauth.h>

#include "test_server.h"

#define SA_EMAIL "app@proj-from-file.iam.gserviceaccount.com"
#define TARGET "target@proj.iam.gserviceaccount.com"

static char *g_key_json;

/* A service-account key file's JSON, with a fresh RSA key. token_uri:
 * a dead loopback port (the tests here never need a token from it unless
 * they say so). */
static char *make_key_json(const char *token_uri, const char *extra) {
  EVP_PKEY *pk = EVP_RSA_gen(2048);
  BIO *b = BIO_new(BIO_s_mem());
  char *pem, *json, *esc, *q;
  long n;
  size_t i;
  cr_assert(pk && b &&
            PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL));
  n = BIO_get_mem_data(b, &pem);
  esc = malloc((size_t)n * 2 + 1);
  for (i = 0, q = esc; i < (size_t)n; i++) {
    if (pem[i] == '\n') {
      *q++ = '\\';
      *q++ = 'n';
    } else {
      *q++ = pem[i];
    }
  }
  *q = '\0';
  json = malloc(strlen(esc) + 1024);
  sprintf(json,
          "{\"type\":\"service_account\",\"project_id\":\"proj-from-file\","
          "\"private_key_id\":\"k1\",\"private_key\":\"%s\","
          "\"client_email\":\"" SA_EMAIL "\",\"token_uri\":\"%s\"%s}",
          esc, token_uri, extra ? extra : "");
  free(esc);
  BIO_free(b);
  EVP_PKEY_free(pk);
  return json;
}

static void setup(void) {
  unsetenv("GOOGLE_CLOUD_PROJECT");
  unsetenv("GCLOUD_PROJECT");
  unsetenv("GOOGLE_CLOUD_QUOTA_PROJECT");
  g_key_json = make_key_json("http://127.0.0.1:9/token", NULL);
}
static void teardown(void) { free(g_key_json); }

static gauth_credentials *creds(const gauth_credentials_options *co) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      gauth_credentials_from_json(&c, g_key_json, strlen(g_key_json), co, &err),
      GAUTH_OK, "%s", err.message);
  return c;
}

TestSuite(credentials, .init = setup, .fini = teardown);

Test(credentials, type_names_and_origin) {
  gauth_credentials *c = creds(NULL);
  cr_assert_eq(gauth_credentials_get_type(c),
               GAUTH_CREDENTIALS_SERVICE_ACCOUNT);
  cr_assert_str_eq(
      gauth_credentials_type_name(GAUTH_CREDENTIALS_SERVICE_ACCOUNT),
      "service_account");
  cr_assert_str_eq(
      gauth_credentials_type_name(GAUTH_CREDENTIALS_AUTHORIZED_USER),
      "authorized_user");
  cr_assert_str_eq(gauth_credentials_type_name(GAUTH_CREDENTIALS_IMPERSONATED),
                   "impersonated_service_account");
  cr_assert_str_eq(
      gauth_credentials_type_name(GAUTH_CREDENTIALS_EXTERNAL_ACCOUNT),
      "external_account");
  cr_assert_str_eq(gauth_credentials_type_name(GAUTH_CREDENTIALS_METADATA),
                   "metadata");
  cr_assert_str_eq(gauth_credentials_type_name((gauth_credentials_type)99),
                   "unknown");
  cr_assert_not_null(gauth_credentials_origin(c));
  cr_assert_null(gauth_credentials_quota_project(c));
  /* A second reference outlives the first. */
  gauth_credentials_up_ref(c);
  gauth_credentials_free(c);
  cr_assert_eq(gauth_credentials_get_type(c),
               GAUTH_CREDENTIALS_SERVICE_ACCOUNT);
  gauth_credentials_free(c);
  gauth_credentials_free(NULL);
}

Test(credentials, options_are_checked) {
  gauth_credentials *c = (gauth_credentials *)1;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  co.version = 99;
  cr_assert_eq(gauth_credentials_from_json(&c, g_key_json, strlen(g_key_json),
                                           &co, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(c);
  cr_assert(strstr(err.message, "version 99") != NULL, "%s", err.message);
  co.version = GAUTH_CREDENTIALS_OPTIONS_VERSION;
  co.self_signed_jwt = 7;
  cr_assert_eq(gauth_credentials_from_json(&c, g_key_json, strlen(g_key_json),
                                           &co, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert(strstr(err.message, "self_signed_jwt") != NULL, "%s", err.message);
  co.self_signed_jwt = 0;
  co.token_lifetime_seconds = 43201;
  cr_assert_eq(gauth_credentials_from_json(&c, g_key_json, strlen(g_key_json),
                                           &co, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert(strstr(err.message, "43200") != NULL, "%s", err.message);
  co.token_lifetime_seconds = 0;
  co.quota_project = "bad\nproject";
  cr_assert_eq(gauth_credentials_from_json(&c, g_key_json, strlen(g_key_json),
                                           &co, &err),
               GAUTH_E_INVALID_ARG);
}

/* Refused arguments never reach the network: the token endpoint here is a
 * server that counts. */
Test(credentials, bad_arguments_make_no_request) {
  ts_server *s = ts_start();
  char uri[128], *json, *tok = (char *)"junk";
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  static const char *const spaced[] = {"a b", NULL};
  static const char *const comma[] = {"a,b", NULL};
  static const char *const empty[] = {"", NULL};
  const char *many[70];
  ts_url(s, "/token", uri, sizeof uri);
  json = make_key_json(uri, NULL);
  cr_assert_eq(gauth_credentials_from_json(&c, json, strlen(json), NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(c, spaced, &tok, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(tok);
  cr_assert(strstr(err.message, "scope 1") != NULL, "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(c, comma, &tok, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_credentials_access_token(c, empty, &tok, NULL, &err),
               GAUTH_E_INVALID_ARG);
  for (int i = 0; i < 69; i++) many[i] = "s";
  many[69] = NULL;
  cr_assert_eq(gauth_credentials_access_token(c, many, &tok, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert(strstr(err.message, "more than 64") != NULL, "%s", err.message);
  cr_assert_eq(gauth_credentials_id_token(c, "", 0, &tok, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_credentials_id_token(c, NULL, 0, &tok, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(
      gauth_credentials_id_token(c, "https://a\r\nb", 0, &tok, NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert_eq(
      gauth_credentials_id_token(c, "https://a", 0x80, &tok, NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert(strstr(err.message, "0x80") != NULL, "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(NULL, NULL, &tok, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(ts_count(s, NULL), 0, "a refused call made a request");
  gauth_credentials_free(c);
  free(json);
  ts_stop(s);
}

Test(credentials, project_id_precedence) {
  gauth_credentials *c = creds(NULL);
  gauth_error err = GAUTH_ERROR_INIT;
  char *p = NULL;
  cr_assert_eq(gauth_credentials_project_id(c, &p, &err), GAUTH_OK);
  cr_assert_str_eq(p, "proj-from-file");
  gauth_free(p);
  setenv("GCLOUD_PROJECT", "from-gcloud-project", 1);
  cr_assert_eq(gauth_credentials_project_id(c, &p, &err), GAUTH_OK);
  cr_assert_str_eq(p, "from-gcloud-project");
  gauth_free(p);
  setenv("GOOGLE_CLOUD_PROJECT", "from-google-cloud-project", 1);
  cr_assert_eq(gauth_credentials_project_id(c, &p, &err), GAUTH_OK);
  cr_assert_str_eq(p, "from-google-cloud-project");
  gauth_free(p);
  setenv("GOOGLE_CLOUD_PROJECT", "", 1); /* empty counts as unset */
  cr_assert_eq(gauth_credentials_project_id(c, &p, &err), GAUTH_OK);
  cr_assert_str_eq(p, "from-gcloud-project");
  gauth_free(p);
  gauth_credentials_free(c);
}

Test(credentials, quota_project_rules) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c;
  char *json = make_key_json("http://127.0.0.1:9/token",
                             ",\"quota_project_id\":\"from-file\"");
  gauth_error err = GAUTH_ERROR_INIT;
  setenv("GOOGLE_CLOUD_QUOTA_PROJECT", "from-env", 1);
  cr_assert_eq(gauth_credentials_from_json(&c, json, strlen(json), NULL, &err),
               GAUTH_OK);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "from-file");
  gauth_credentials_free(c);
  co.quota_project = "from-options";
  cr_assert_eq(gauth_credentials_from_json(&c, json, strlen(json), &co, &err),
               GAUTH_OK);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "from-options");
  gauth_credentials_free(c);
  c = creds(NULL); /* no quota in the file: the environment's */
  cr_assert_str_eq(gauth_credentials_quota_project(c), "from-env");
  gauth_credentials_free(c);
  free(json);
}

/* An impersonation call authenticates with the source's token and bills
 * the source's quota project: x-goog-user-project reaches the server. */
Test(credentials, quota_project_header_on_api_calls) {
  ts_server *s = ts_start();
  char base[128], *tok = NULL;
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *src, *imp = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_request req;
  ts_response ok = {0};
  ok.body =
      "{\"accessToken\":\"ya29.impersonated\","
      "\"expireTime\":\"2099-01-01T00:00:00Z\"}";
  ts_route(s, "/v1/projects/-/serviceAccounts/" TARGET ":generateAccessToken",
           &ok, 1);
  o.iamcredentials_endpoint = ts_url(s, "", base, sizeof base);
  co.options = &o;
  co.quota_project = "billing-proj";
  co.self_signed_jwt = GAUTH_SELF_SIGNED_JWT_ALWAYS; /* source: no network */
  src = creds(&co);
  co.quota_project = NULL;
  co.self_signed_jwt = 0;
  cr_assert_eq(
      gauth_credentials_impersonate(&imp, src, TARGET, NULL, &co, &err),
      GAUTH_OK, "%s", err.message);
  gauth_credentials_free(src); /* the impersonation keeps its own ref */
  cr_assert_eq(gauth_credentials_access_token(imp, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, "ya29.impersonated");
  gauth_free(tok);
  cr_assert_eq(ts_last_request(s,
                               "/v1/projects/-/serviceAccounts/" TARGET
                               ":generateAccessToken",
                               &req),
               1);
  cr_assert(strstr(req.headers, "x-goog-user-project: billing-proj") != NULL,
            "%s", req.headers);
  cr_assert(strstr(req.headers, "authorization: Bearer ey") != NULL ||
                strstr(req.headers, "Authorization: Bearer ey") != NULL,
            "the source's self-signed JWT: %s", req.headers);
  ts_request_cleanup(&req);
  gauth_credentials_free(imp);
  ts_stop(s);
}

Test(credentials, unsupported_operations_name_the_type) {
  static const char user[] =
      "{\"type\":\"authorized_user\",\"client_id\":\"c\",\"client_secret\":"
      "\"s\",\"refresh_token\":\"r\"}";
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned char *sig = NULL;
  size_t n = 0;
  char *v = NULL;
  cr_assert_eq(
      gauth_credentials_from_json(&c, user, sizeof user - 1, NULL, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_sign_blob(c, "x", 1, &sig, &n, NULL, &err),
               GAUTH_E_UNSUPPORTED);
  cr_assert(strstr(err.message, "authorized_user") != NULL, "%s", err.message);
  cr_assert_eq(gauth_credentials_sign_jwt(c, "{}", &v, &err),
               GAUTH_E_UNSUPPORTED);
  cr_assert_eq(gauth_credentials_email(c, &v, &err), GAUTH_E_UNSUPPORTED);
  cr_assert_null(v);
  gauth_credentials_free(c);
}
