/* Impersonation, pure parts: the impersonated_service_account file's
 * members and gauth_credentials_impersonate's arguments. No request is
 * made (IAM Credentials itself: test_iam_credentials.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "credentials_internal.h"

#define TARGET "runner@demo-project.iam.gserviceaccount.com"
#define D1 "hop1@demo-project.iam.gserviceaccount.com"
#define D2 "hop2@demo-project.iam.gserviceaccount.com"
#define URL_OF(email)                                                          \
  "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" email \
  ":generateAccessToken"

static void assert_clean(const char *text) {
  cr_assert_null(strstr(text, "CANARY"), "a secret in: %s", text);
}

/* ---- the impersonated_service_account file ------------------------------ */

#define USER_SOURCE                                                  \
  "{\"type\":\"authorized_user\",\"client_id\":\"id.apps.example\"," \
  "\"client_secret\":\"CANARY-secret-1\",\"refresh_token\":\"1//CANARY-r\"}"

static char *file_text(const char *url, const char *delegates,
                       const char *source, const char *extra) {
  char *s = malloc(4096);
  int n = snprintf(s, 4096, "{\"type\":\"impersonated_service_account\"");
  if (url)
    n += snprintf(s + n, (size_t)(4096 - n),
                  ",\"service_account_impersonation_url\":%s", url);
  if (delegates)
    n += snprintf(s + n, (size_t)(4096 - n), ",\"delegates\":%s", delegates);
  if (source)
    n += snprintf(s + n, (size_t)(4096 - n), ",\"source_credentials\":%s",
                  source);
  if (extra) n += snprintf(s + n, (size_t)(4096 - n), ",%s", extra);
  snprintf(s + n, (size_t)(4096 - n), "}");
  return s;
}

static gauth_status load(const char *text, gauth_credentials **c,
                         gauth_error *err) {
  return gauth_credentials_from_json(c, text, strlen(text), NULL, err);
}

Test(file, good) {
  char *t = file_text("\"" URL_OF(TARGET) "\"",
                      "[\"" D1 "\",\"projects/-/serviceAccounts/" D2 "\"]",
                      USER_SOURCE, "\"quota_project_id\":\"billing\"");
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(load(t, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_get_type(c), GAUTH_CREDENTIALS_IMPERSONATED);
  cr_assert_str_eq(gauth_credentials_origin(c),
                   "impersonation of " TARGET " (from JSON)");
  cr_assert_str_eq(gauth_credentials_quota_project(c), "billing");
  char *email = NULL, *project = NULL;
  cr_assert_eq(gauth_credentials_email(c, &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, TARGET);
  gauth_free(email);
  cr_assert_eq(gauth_credentials_project_id(c, &project, &err),
               GAUTH_E_NOT_FOUND);
  cr_assert_null(project);
  gauth_credentials_free(c);

  /* The options' quota project wins over the file's. */
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  co.quota_project = "mine";
  cr_assert_eq(gauth_credentials_from_json(&c, t, strlen(t), &co, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "mine");
  gauth_credentials_free(c);
  free(t);

  /* project_id, when the file gives one. */
  t = file_text("\"" URL_OF(TARGET) "\"", NULL, USER_SOURCE,
                "\"project_id\":\"proj-1\"");
  cr_assert_eq(load(t, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_project_id(c, &project, &err), GAUTH_OK);
  cr_assert_str_eq(project, "proj-1");
  gauth_free(project);
  gauth_credentials_free(c);
  free(t);
}

Test(file, bad_members) {
  static const struct {
    const char *url, *delegates, *source, *extra;
    gauth_status code;
    const char *names;
  } cases[] = {
      {NULL, NULL, USER_SOURCE, NULL, GAUTH_E_MALFORMED,
       "\"service_account_impersonation_url\""},
      {"42", NULL, USER_SOURCE, NULL, GAUTH_E_MALFORMED,
       "\"service_account_impersonation_url\""},
      {"\"https://iamcredentials.googleapis.com/v1/projects/-/"
       "serviceAccounts/nobody:generateAccessToken\"",
       NULL, USER_SOURCE, NULL, GAUTH_E_MALFORMED,
       "\"service_account_impersonation_url\""},
      {"\"" URL_OF(TARGET) "\"", "\"" D1 "\"", USER_SOURCE, NULL,
       GAUTH_E_MALFORMED, "\"delegates\""},
      {"\"" URL_OF(TARGET) "\"", "[\"" D1 "\",3]", USER_SOURCE, NULL,
       GAUTH_E_MALFORMED, "\"delegates\"[1]"},
      {"\"" URL_OF(TARGET) "\"", "[\"bad delegate\"]", USER_SOURCE, NULL,
       GAUTH_E_MALFORMED, "\"delegates\"[0]"},
      {"\"" URL_OF(TARGET) "\"", NULL, NULL, NULL, GAUTH_E_MALFORMED,
       "\"source_credentials\""},
      {"\"" URL_OF(TARGET) "\"", NULL, "\"x\"", NULL, GAUTH_E_MALFORMED,
       "\"source_credentials\""},
      {"\"" URL_OF(TARGET) "\"", NULL, "{\"client_id\":\"x\"}", NULL,
       GAUTH_E_MALFORMED, "\"source_credentials\""},
      {"\"" URL_OF(TARGET) "\"", NULL,
       "{\"type\":\"authorized_user\",\"client_id\":\"x\","
       "\"client_secret\":\"CANARY-s\"}",
       NULL, GAUTH_E_MALFORMED, "refresh_token"},
      {"\"" URL_OF(TARGET) "\"", NULL,
       "{\"type\":\"impersonated_service_account\"}", NULL, GAUTH_E_UNSUPPORTED,
       "\"source_credentials\""},
      {"\"" URL_OF(TARGET) "\"", NULL, USER_SOURCE,
       "\"quota_project_id\":false", GAUTH_E_MALFORMED, "\"quota_project_id\""},
      {"\"" URL_OF(TARGET) "\"", NULL, USER_SOURCE, "\"project_id\":[]",
       GAUTH_E_MALFORMED, "\"project_id\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *t = file_text(cases[i].url, cases[i].delegates, cases[i].source,
                        cases[i].extra);
    gauth_credentials *c = (gauth_credentials *)1;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(load(t, &c, &err), cases[i].code, "case %zu: %s", i,
                 err.message);
    cr_assert_null(c, "case %zu", i);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s", i,
                       err.message);
    assert_clean(err.message);
    free(t);
  }
}

/* ---- the programmatic constructor ---------------------------------------- */

static gauth_credentials *user_source(void) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(load(USER_SOURCE, &c, &err), GAUTH_OK, "%s", err.message);
  return c;
}

Test(impersonate, arguments) {
  gauth_credentials *src = user_source(), *c = (gauth_credentials *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *bad_delegates[] = {D1, "nobody", NULL};
  cr_assert_eq(
      gauth_credentials_impersonate(NULL, src, TARGET, NULL, NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert_eq(
      gauth_credentials_impersonate(&c, NULL, TARGET, NULL, NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert_null(c);
  cr_assert_eq(gauth_credentials_impersonate(&c, src, NULL, NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "target_email"), "%s", err.message);
  cr_assert_eq(gauth_credentials_impersonate(&c, src, "x@y", NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "target_email"), "%s", err.message);
  cr_assert_eq(
      gauth_credentials_impersonate(&c, src, TARGET, bad_delegates, NULL, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert_not_null(strstr(err.message, "delegates[1]"), "%s", err.message);
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  co.version = 99;
  cr_assert_eq(gauth_credentials_impersonate(&c, src, TARGET, NULL, &co, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(c);

  /* The source is referenced: freeing it first is fine. */
  const char *delegates[] = {D1, NULL};
  cr_assert_eq(
      gauth_credentials_impersonate(
          &c, src, "projects/-/serviceAccounts/" TARGET, delegates, NULL, &err),
      GAUTH_OK, "%s", err.message);
  gauth_credentials_free(src);
  cr_assert_str_eq(gauth_credentials_origin(c), "impersonation of " TARGET);
  cr_assert_null(gauth_credentials_quota_project(c));
  char *email = NULL;
  cr_assert_eq(gauth_credentials_email(c, &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, TARGET);
  gauth_free(email);
  gauth_credentials_free(c);
}
