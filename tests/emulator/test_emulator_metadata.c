/* The emulator's metadata server, over HTTP, against the fixture. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

#include "emu_fixture.h"

#define MD "/computeMetadata/v1/"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"

static const char *const flavor[] = {"Metadata-Flavor: Google", NULL};

/* GET path with the flavor header; checks status and the reply's flavor. */
static void get_ok(const char *path, long status, emu_reply *r) {
  char h[64];
  emu_http(emu_fixture_url(), "GET", path, flavor, NULL, r);
  cr_assert_eq(r->status, status, "%s: %ld %s", path, r->status, r->body);
  cr_assert_not_null(emu_reply_header_get(r, "Metadata-Flavor", h, sizeof(h)),
                     "%s: no Metadata-Flavor in the reply", path);
  cr_assert_str_eq(h, "Google");
}

static void text_is(const char *path, const char *want) {
  emu_reply r;
  char ct[64];
  get_ok(path, 200, &r);
  cr_assert_str_eq(r.body, want, "%s", path);
  cr_assert_str_eq(emu_reply_header_get(&r, "Content-Type", ct, sizeof(ct)),
                   "application/text");
  emu_reply_free(&r);
}

Test(metadata, plain_values) {
  text_is(MD "project/project-id", "demo-project");
  text_is(MD "project/numeric-project-id", "123456789012");
  text_is(MD "instance/zone", "projects/123456789012/zones/us-central1-a");
  text_is(MD "universe/universe-domain", "googleapis.com");
  text_is(MD "instance/service-accounts/default/email", RUNNER);
  text_is(MD "instance/service-accounts/" RUNNER "/email", RUNNER);
}

Test(metadata, directories) {
  emu_reply r;
  cJSON *j;
  get_ok("/", 200, &r);
  cr_assert_not_null(strstr(r.body, "computeMetadata/"));
  emu_reply_free(&r);
  get_ok(MD "instance", 200, &r); /* gcp-metadata's isAvailable() */
  cr_assert_not_null(strstr(r.body, "service-accounts/"));
  emu_reply_free(&r);
  get_ok(MD "instance/", 200, &r);
  cr_assert_not_null(strstr(r.body, "zone"));
  emu_reply_free(&r);
  get_ok(MD "instance/service-accounts/default/?recursive=true", 200, &r);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "email")->valuestring, RUNNER);
  cr_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "scopes")));
  cJSON_Delete(j);
  emu_reply_free(&r);
  get_ok(MD "instance/?recursive=true", 200, &r);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "zone")->valuestring,
                   "projects/123456789012/zones/us-central1-a");
  cr_assert_not_null(cJSON_GetObjectItem(
      cJSON_GetObjectItem(j, "serviceAccounts"), "default"));
  cJSON_Delete(j);
  emu_reply_free(&r);
  get_ok(MD "instance/nothing-here", 404, &r);
  emu_reply_free(&r);
  get_ok(MD "instance/service-accounts/someone@else.com/email", 404, &r);
  emu_reply_free(&r);
}

Test(metadata, flavor_required_both_ways) {
  static const char *const wrong[] = {"Metadata-Flavor: google", NULL};
  static const char *const xff[] = {"Metadata-Flavor: Google",
                                    "X-Forwarded-For: 10.0.0.1", NULL};
  const char *const *cases[] = {NULL, wrong, xff};
  const char *paths[] = {"/", MD "project/project-id",
                         MD "instance/service-accounts/default/token"};
  for (size_t c = 0; c < 3; c++) {
    for (size_t p = 0; p < 3; p++) {
      emu_reply r;
      char h[64];
      emu_http(emu_fixture_url(), "GET", paths[p], cases[c], NULL, &r);
      cr_assert_eq(r.status, 403, "case %zu %s: %ld", c, paths[p], r.status);
      cr_assert_null(strstr(r.body, "ya29."));
      cr_assert_not_null(
          emu_reply_header_get(&r, "Metadata-Flavor", h, sizeof(h)));
      cr_assert_not_null(strstr(r.body, c == 2 ? "X-Forwarded-For"
                                               : "Missing Metadata-Flavor"),
                         "%s", r.body);
      emu_reply_free(&r);
    }
  }
  {
    emu_reply r;
    emu_http(emu_fixture_url(), "POST", MD "project/project-id", flavor, "x",
             &r);
    cr_assert_eq(r.status, 405);
    emu_reply_free(&r);
  }
}

Test(metadata, access_token_shape) {
  emu_reply r;
  cJSON *j;
  const cJSON *t;
  get_ok(MD
         "instance/service-accounts/default/token?scopes=https://www."
         "googleapis.com/auth/cloud-platform,https://www.googleapis.com/"
         "auth/userinfo.email",
         200, &r);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  t = cJSON_GetObjectItem(j, "access_token");
  cr_assert(cJSON_IsString(t));
  cr_assert(strncmp(t->valuestring, "ya29.", 5) == 0);
  cr_assert_gt(strlen(t->valuestring), 40);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "token_type")->valuestring, "Bearer");
  cr_assert_gt(cJSON_GetObjectItem(j, "expires_in")->valuedouble, 3000);
  cr_assert_leq(cJSON_GetObjectItem(j, "expires_in")->valuedouble, 3600);
  cJSON_Delete(j);
  emu_reply_free(&r);
}

static char *identity(const char *aud, const char *format) {
  char path[512];
  emu_reply r;
  char *tok;
  snprintf(path, sizeof(path),
           MD "instance/service-accounts/default/identity?audience=%s%s%s", aud,
           format ? "&format=" : "", format ? format : "");
  get_ok(path, 200, &r);
  tok = r.body;
  return tok;
}

Test(metadata, identity_token_shape) {
  char *tok = identity("https%3A%2F%2Fexample.test%2Fx", "full");
  char *payload = NULL;
  cJSON *j;
  int64_t now = (int64_t)time(NULL);
  cr_assert_eq(gauth_jwt_decode_unverified(tok, NULL, &payload, NULL),
               GAUTH_OK);
  j = cJSON_Parse(payload);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "aud")->valuestring,
                   "https://example.test/x");
  cr_assert_str_eq(cJSON_GetObjectItem(j, "iss")->valuestring,
                   "https://accounts.google.com");
  cr_assert_str_eq(cJSON_GetObjectItem(j, "email")->valuestring, RUNNER);
  cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "email_verified")));
  cr_assert_str_eq(cJSON_GetObjectItem(j, "sub")->valuestring,
                   cJSON_GetObjectItem(j, "azp")->valuestring);
  cr_assert_eq((int64_t)cJSON_GetObjectItem(j, "exp")->valuedouble -
                   (int64_t)cJSON_GetObjectItem(j, "iat")->valuedouble,
               3600);
  cr_assert_leq(llabs((long long)(cJSON_GetObjectItem(j, "iat")->valuedouble -
                                  (double)now)),
                30);
  cJSON_Delete(j);
  gauth_free(payload);
  free(tok);

  /* format=standard (and no format): no email. */
  tok = identity("aud-2", NULL);
  cr_assert_eq(gauth_jwt_decode_unverified(tok, NULL, &payload, NULL),
               GAUTH_OK);
  cr_assert_null(strstr(payload, "\"email\""), "%s", payload);
  gauth_free(payload);
  free(tok);
  {
    emu_reply r;
    get_ok(MD "instance/service-accounts/default/identity", 400, &r);
    cr_assert_str_eq(r.body, "non-empty audience parameter required");
    emu_reply_free(&r);
  }
}

/* The identity token verifies with libgauth's Google verifier, keys fetched
 * from the emulator's /oauth2/v3/certs. */
Test(metadata, identity_token_verifies) {
  const char *aud[] = {"https://verify.example/", NULL};
  char *tok;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_verifier *v = NULL;
  gauth_claims *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *email = NULL;
  emu_reply certs;

  emu_http(emu_fixture_url(), "GET", "/oauth2/v3/certs", NULL, NULL, &certs);
  if (certs.status == 404) {
    emu_reply_free(&certs);
    cr_skip_test("/oauth2/v3/certs is not served yet");
  }
  emu_reply_free(&certs);
  tok = identity("https%3A%2F%2Fverify.example%2F", "full");
  http.endpoint = emu_fixture_url();
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = aud;
  vo.require_email_verified = 1;
  vo.http = &http;
  cr_assert_eq(gauth_verifier_new(&v, &vo, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_verifier_verify(v, tok, 0, &c, &err), GAUTH_OK, "%s (%s)",
               err.message, err.reason);
  cr_assert_eq(gauth_claims_get_string(c, "email", &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, RUNNER);
  gauth_claims_free(c);
  gauth_verifier_free(v);
  free(tok);
}
