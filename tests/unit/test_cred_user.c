/* Authorized-user credentials, pure parts: the file's members (each missing,
 * mistyped or empty one named, never a secret's value), the refresh grant's
 * form body, and what the credential answers without a request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "cred_user.h"
#include "credentials_internal.h"
#include "secret.h"

#define CLIENT_ID "emulator-client.apps.googleusercontent.com"
#define SECRET "CANARY-client-secret-77"
#define REFRESH "1//CANARY-refresh-token-31"

static cJSON *user_json(void) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", "authorized_user");
  cJSON_AddStringToObject(o, "client_id", CLIENT_ID);
  cJSON_AddStringToObject(o, "client_secret", SECRET);
  cJSON_AddStringToObject(o, "refresh_token", REFRESH);
  cJSON_AddStringToObject(o, "quota_project_id", "billing-project");
  cJSON_AddStringToObject(o, "account", "");
  cJSON_AddStringToObject(o, "universe_domain", "googleapis.com");
  return o;
}

static void assert_clean(const char *text) {
  cr_assert_null(strstr(text, "CANARY"), "a secret in: %s", text);
}

Test(user_file, parse_ok) {
  cJSON *j = user_json();
  gauth__user_info info;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__user_info_parse(j, &info, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_str_eq(info.client_id, CLIENT_ID);
  cr_assert_str_eq(info.client_secret, SECRET);
  cr_assert_str_eq(info.refresh_token, REFRESH);
  cr_assert_str_eq(info.quota_project_id, "billing-project");
  cr_assert_null(info.token_uri);
  gauth__user_info_cleanup(&info);
  cr_assert_null(info.client_secret);
  cJSON_AddStringToObject(j, "token_uri", "http://127.0.0.1:1/token");
  cJSON_DeleteItemFromObject(j, "quota_project_id");
  cr_assert_eq(gauth__user_info_parse(j, &info, &err), GAUTH_OK);
  cr_assert_str_eq(info.token_uri, "http://127.0.0.1:1/token");
  cr_assert_null(info.quota_project_id);
  gauth__user_info_cleanup(&info);
  cJSON_Delete(j);
}

static const char *const required[] = {"client_id", "client_secret",
                                       "refresh_token"};
static const char *const optional[] = {"token_uri", "quota_project_id"};

Test(user_file, each_missing_member_is_named) {
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(required); i++) {
    cJSON *j = user_json();
    gauth__user_info info;
    gauth_error err = GAUTH_ERROR_INIT;
    char want[64];
    cJSON_DeleteItemFromObject(j, required[i]);
    cr_assert_eq(gauth__user_info_parse(j, &info, &err), GAUTH_E_MALFORMED);
    snprintf(want, sizeof(want), "missing field \"%s\"", required[i]);
    cr_assert_str_eq(err.message, want);
    cr_assert_null(info.client_id);
    cr_assert_null(info.client_secret);
    cJSON_Delete(j);
  }
}

Test(user_file, each_mistyped_or_empty_member_is_named) {
  const char *all[] = {required[0], required[1], required[2], optional[0],
                       optional[1]};
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(all); i++) {
    cJSON *j = user_json();
    gauth__user_info info;
    gauth_error err = GAUTH_ERROR_INIT;
    char want[96];
    cJSON_DeleteItemFromObject(j, all[i]);
    cJSON_AddItemToObject(j, all[i], cJSON_CreateTrue());
    cr_assert_eq(gauth__user_info_parse(j, &info, &err), GAUTH_E_MALFORMED);
    snprintf(want, sizeof(want), "field \"%s\" is a boolean, expected a string",
             all[i]);
    cr_assert_str_eq(err.message, want);
    assert_clean(err.message);
    cJSON_Delete(j);
  }
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(required); i++) {
    cJSON *j = user_json();
    gauth__user_info info;
    gauth_error err = GAUTH_ERROR_INIT;
    char want[64];
    cJSON_ReplaceItemInObject(j, required[i], cJSON_CreateString(""));
    cr_assert_eq(gauth__user_info_parse(j, &info, &err), GAUTH_E_MALFORMED);
    snprintf(want, sizeof(want), "field \"%s\" is empty", required[i]);
    cr_assert_str_eq(err.message, want);
    cJSON_Delete(j);
  }
}

Test(user_file, refresh_body_exact) {
  gauth__user_info info = {"id.apps", "s e/cret", "1//r+t", NULL, NULL};
  char *body = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__user_refresh_body(&info, &body, &err), GAUTH_OK);
  cr_assert_str_eq(body,
                   "grant_type=refresh_token&client_id=id.apps&"
                   "client_secret=s%20e%2Fcret&refresh_token=1%2F%2Fr%2Bt");
  gauth__secret_strfree(body);
  info.refresh_token = NULL;
  cr_assert_eq(gauth__user_refresh_body(&info, &body, &err),
               GAUTH_E_INVALID_ARG);
}

static gauth_credentials *make(const cJSON *j, gauth_error *err) {
  gauth_credentials *c = NULL;
  char *text = cJSON_PrintUnformatted(j);
  gauth_status st =
      gauth_credentials_from_json(&c, text, strlen(text), NULL, err);
  free(text);
  cr_assert_eq(st == GAUTH_OK, c != NULL);
  return c;
}

Test(user_creds, what_needs_no_request) {
  cJSON *j = user_json();
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c = make(j, &err);
  char *s = NULL, *jwt = NULL;
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  cr_assert_not_null(c, "%s", err.message);
  cr_assert_eq(gauth_credentials_get_type(c),
               GAUTH_CREDENTIALS_AUTHORIZED_USER);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "billing-project");
  cr_assert_eq(gauth_credentials_project_id(c, &s, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_str_eq(s, "billing-project");
  gauth_free(s);
  cr_assert_eq(gauth_credentials_email(c, &s, &err), GAUTH_E_UNSUPPORTED);
  cr_assert_null(s);
  assert_clean(err.message);
  cr_assert_eq(
      gauth_credentials_sign_blob(c, "x", 1, &sig, &sig_len, NULL, &err),
      GAUTH_E_UNSUPPORTED);
  cr_assert_eq(gauth_credentials_sign_jwt(c, "{}", &jwt, &err),
               GAUTH_E_UNSUPPORTED);
  assert_clean(err.message);
  gauth_credentials_free(c);
  cJSON_Delete(j);
}

Test(user_creds, no_project_without_quota_project) {
  cJSON *j = user_json();
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c;
  char *s = NULL;
  cJSON_DeleteItemFromObject(j, "quota_project_id");
  c = make(j, &err);
  cr_assert_null(gauth_credentials_quota_project(c));
  cr_assert_eq(gauth_credentials_project_id(c, &s, &err), GAUTH_E_NOT_FOUND);
  gauth_credentials_free(c);
  cJSON_Delete(j);
}

Test(user_creds, file_errors_never_hold_a_secret) {
  cJSON *j = user_json();
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c;
  char *text;
  cJSON_DeleteItemFromObject(j, "client_id");
  c = make(j, &err);
  cr_assert_null(c);
  cr_assert_str_eq(err.message,
                   "authorized user credentials: missing field \"client_id\"");
  cJSON_Delete(j);
  /* A syntax error right after the secrets. */
  j = user_json();
  text = cJSON_PrintUnformatted(j);
  text[strlen(text) - 1] = ',';
  cr_assert_eq(gauth_credentials_from_json(&c, text, strlen(text), NULL, &err),
               GAUTH_E_MALFORMED);
  assert_clean(err.message);
  free(text);
  cJSON_Delete(j);
}
