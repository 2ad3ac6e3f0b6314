/* gauth-emulator: the Google API routes (token endpoint, key sets, IAM
 * Credentials, testIamPermissions, Cloud Run Admin API and service), over
 * real HTTP against the CTest fixture's running emulator.
 *
 * The scheduler account is the one whose key the fixture's --key-file
 * holds: the test signs assertions with it. The runner account's tokens
 * come from the emulator's metadata server. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* gmtime_r, strdup */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "test_jose.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define CLOUD "https://www.googleapis.com/auth/cloud-platform"
#define JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define FORM "application/x-www-form-urlencoded"
#define UNAUTH_INVALID                                                    \
  "Request had invalid authentication credentials. Expected OAuth 2 "     \
  "access token, login cookie or other valid authentication credential. " \
  "See https://developers.google.com/identity/sign-in/web/devconsole-"    \
  "project."

/* ---- HTTP --------------------------------------------------------------- */

typedef struct reply {
  long status;
  char *body;
  size_t len;
  char www_auth[512];
  char cache_control[256];
  char content_type[128];
} reply;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  reply *r = ud;
  char *b = realloc(r->body, r->len + sz * n + 1);
  cr_assert_not_null(b);
  memcpy(b + r->len, p, sz * n);
  r->len += sz * n;
  b[r->len] = '\0';
  r->body = b;
  return sz * n;
}

static void header_value(const char *line, size_t len, const char *name,
                         char *out, size_t cap) {
  size_t nl = strlen(name);
  if (len <= nl || strncasecmp(line, name, nl) != 0) return;
  const char *v = line + nl;
  size_t vl = len - nl;
  while (vl > 0 && (*v == ' ')) v++, vl--;
  while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
  snprintf(out, cap, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  reply *r = ud;
  header_value(p, sz * n, "WWW-Authenticate:", r->www_auth, sizeof r->www_auth);
  header_value(p, sz * n, "Cache-Control:", r->cache_control,
               sizeof r->cache_control);
  header_value(p, sz * n, "Content-Type:", r->content_type,
               sizeof r->content_type);
  return sz * n;
}

/* The emulator the requests go to: the fixture's, unless a test started
 * its own (each Criterion test runs in its own process). */
static const char *g_base;

/* method path [content type, body] [bearer] [extra header] */
static reply http(const char *method, const char *path, const char *ctype,
                  const char *body, const char *bearer, const char *extra) {
  reply r;
  memset(&r, 0, sizeof r);
  char url[1024], auth[8192], ct[256];
  /* A path goes to the Google API base; a whole URL (the Cloud Run front
   * end's) as it is. */
  if (strncmp(path, "http://", 7) == 0)
    snprintf(url, sizeof url, "%s", path);
  else
    snprintf(url, sizeof url, "%s%s", g_base ? g_base : emu_fixture_url(),
             path);
  CURL *c = curl_easy_init();
  cr_assert_not_null(c);
  struct curl_slist *h = NULL;
  if (ctype != NULL) {
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    h = curl_slist_append(h, ct);
  }
  if (bearer != NULL) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
    h = curl_slist_append(h, auth);
  }
  if (extra != NULL) h = curl_slist_append(h, extra);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body != NULL) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  CURLcode rc = curl_easy_perform(c);
  cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (r.body == NULL) r.body = calloc(1, 1);
  return r;
}

static void reply_free(reply *r) { free(r->body); }

static cJSON *json_of(const reply *r) {
  cJSON *j = cJSON_Parse(r->body);
  cr_assert_not_null(j, "not JSON: %s", r->body);
  return j;
}

static const char *jstr(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The reply is exactly {"error":E,"error_description":D}. */
static void expect_oauth_error(const reply *r, long status, const char *error,
                               const char *desc) {
  cr_expect_eq(r->status, status, "status %ld: %s", r->status, r->body);
  cJSON *j = json_of(r);
  cr_expect_eq(cJSON_GetArraySize(j), 2, "%s", r->body);
  cr_expect_str_eq(jstr(j, "error"), error);
  cr_expect_str_eq(jstr(j, "error_description"), desc);
  cJSON_Delete(j);
}

/* The reply is Google's {"error":{"code":C,"message":M,"status":S,...}}. */
static void expect_google_error(const reply *r, long code, const char *status,
                                const char *message) {
  cr_expect_eq(r->status, code, "status %ld: %s", r->status, r->body);
  cJSON *j = json_of(r);
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  cr_assert(cJSON_IsObject(e), "%s", r->body);
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
  cr_expect(cJSON_IsNumber(c) && c->valueint == code, "%s", r->body);
  cr_expect_str_eq(jstr(e, "status"), status);
  if (message != NULL) cr_expect_str_eq(jstr(e, "message"), message);
  cJSON_Delete(j);
}

/* ---- assertions --------------------------------------------------------- */

static gauth_key *scheduler_key(void) {
  gauth_key *k = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_key_load_file(&k, emu_fixture_key_file(), &err), GAUTH_OK,
               "%s", err.message);
  return k;
}

static char *token_uri(void) {
  static char uri[512];
  snprintf(uri, sizeof uri, "%s/token", emu_fixture_url());
  return uri;
}

/* Claims for an assertion; extra is JSON members to add (may be ""). */
static char *claims(const char *iss, const char *aud, long iat_off, long life,
                    const char *extra) {
  static char buf[2048];
  long now = (long)time(NULL);
  snprintf(buf, sizeof buf,
           "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%ld,\"exp\":%ld%s%s}", iss,
           aud, now + iat_off, now + iat_off + life, extra[0] ? "," : "",
           extra);
  return buf;
}

static char *sign(const gauth_key *k, const char *claims_json, int with_kid) {
  char *jwt = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      gauth_jwt_sign(k, GAUTH_ALG_RS256, NULL, claims_json, &jwt, &err),
      GAUTH_OK, "%s", err.message);
  if (with_kid) return jwt;
  /* Re-sign with a header of {"alg":"RS256","typ":"JWT"} (as
   * google-auth-library sends): header and signature by hand. */
  static const char hdr[] = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";
  const char *payload = strchr(jwt, '.') + 1;
  size_t plen = (size_t)(strchr(payload, '.') - payload);
  size_t in_len = strlen(hdr) + 1 + plen;
  char *input = malloc(in_len + 1);
  snprintf(input, in_len + 1, "%s.%.*s", hdr, (int)plen, payload);
  unsigned char sig[1024];
  size_t sig_len = sizeof sig;
  cr_assert_eq(
      gauth_key_sign(k, GAUTH_ALG_RS256, input, in_len, sig, &sig_len, NULL),
      GAUTH_OK);
  char b64[2048];
  int n = EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
  while (n > 0 && b64[n - 1] == '=') n--;
  b64[n] = '\0';
  for (int i = 0; i < n; i++)
    b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
  char *out = malloc(in_len + (size_t)n + 2);
  sprintf(out, "%s.%s", input, b64);
  free(input);
  gauth_free(jwt);
  return out;
}

static void b64url_padded(const unsigned char *in, size_t len, char *out) {
  int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
  for (int i = 0; i < n; i++)
    out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
}

/* An assertion as python-google-auth 1.5 makes it: padded base64url
 * segments, the signature over the padded text. */
static char *sign_padded(const gauth_key *k, const char *claims_json) {
  char hdr_json[256], h[512], p[4096];
  snprintf(hdr_json, sizeof hdr_json,
           "{\"typ\": \"JWT\", \"alg\": \"RS256\", \"kid\": \"%s\"}",
           gauth_key_kid(k));
  b64url_padded((const unsigned char *)hdr_json, strlen(hdr_json), h);
  b64url_padded((const unsigned char *)claims_json, strlen(claims_json), p);
  char *input = malloc(strlen(h) + strlen(p) + 2);
  sprintf(input, "%s.%s", h, p);
  unsigned char sig[1024];
  size_t sig_len = sizeof sig;
  cr_assert_eq(gauth_key_sign(k, GAUTH_ALG_RS256, input, strlen(input), sig,
                              &sig_len, NULL),
               GAUTH_OK);
  char s[2048];
  b64url_padded(sig, sig_len, s);
  char *out = malloc(strlen(input) + strlen(s) + 2);
  sprintf(out, "%s.%s", input, s);
  free(input);
  return out;
}

static reply post_assertion(const char *jwt) {
  char *body = malloc(strlen(jwt) + 200);
  sprintf(body, "grant_type=%s&assertion=%s", JWT_BEARER, jwt);
  reply r = http("POST", "/token", FORM, body, NULL, NULL);
  free(body);
  return r;
}

/* An access token for the scheduler, through the jwt-bearer grant. */
static char *scheduler_access_token(const char *scope) {
  gauth_key *k = scheduler_key();
  char extra[256];
  snprintf(extra, sizeof extra, "\"scope\":\"%s\"", scope);
  char *jwt = sign(k, claims(SCHEDULER, token_uri(), -5, 3600, extra), 1);
  reply r = post_assertion(jwt);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  char *at = strdup(jstr(j, "access_token"));
  cJSON_Delete(j);
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
  return at;
}

static char *scheduler_id_token(const char *aud) {
  gauth_key *k = scheduler_key();
  char extra[512];
  snprintf(extra, sizeof extra, "\"target_audience\":\"%s\"", aud);
  char *jwt = sign(k, claims(SCHEDULER, token_uri(), -5, 3600, extra), 1);
  reply r = post_assertion(jwt);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  char *id = strdup(jstr(j, "id_token"));
  cJSON_Delete(j);
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
  return id;
}

/* The runner's access token, from the metadata server. */
static char *runner_access_token(void) {
  reply r = http("GET",
                 "/computeMetadata/v1/instance/service-accounts/default/"
                 "token",
                 NULL, NULL, NULL, "Metadata-Flavor: Google");
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  char *at = strdup(jstr(j, "access_token"));
  cJSON_Delete(j);
  reply_free(&r);
  return at;
}

static char *runner_id_token(const char *aud) {
  char path[1024];
  snprintf(path, sizeof path,
           "/computeMetadata/v1/instance/service-accounts/default/"
           "identity?audience=%s&format=full",
           aud);
  reply r = http("GET", path, NULL, NULL, NULL, "Metadata-Flavor: Google");
  cr_assert_eq(r.status, 200, "%s", r.body);
  return r.body;
}

/* The service's URL, on the Cloud Run front end's origin. */
static char *service_url(void) {
  static char url[512];
  snprintf(url, sizeof url, "%s/services/collector", emu_fixture_run_url());
  return url;
}

/* ---- token endpoint ----------------------------------------------------- */

TestSuite(token);

Test(token, jwt_bearer_access_token) {
  char *at = scheduler_access_token(CLOUD);
  cr_expect_eq(strncmp(at, "ya29.", 5), 0);
  free(at);
  gauth_key *k = scheduler_key();
  char *jwt = sign(
      k, claims(SCHEDULER, token_uri(), -5, 3600, "\"scope\":\"" CLOUD "\""),
      1);
  reply r = post_assertion(jwt);
  cJSON *j = json_of(&r);
  cr_expect_eq(cJSON_GetArraySize(j), 3, "%s", r.body);
  cr_expect_eq(cJSON_GetObjectItem(j, "expires_in")->valueint, 3599);
  cr_expect_str_eq(jstr(j, "token_type"), "Bearer");
  cJSON_Delete(j);
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
}

Test(token, no_kid_and_google_aud_accepted) {
  gauth_key *k = scheduler_key();
  char *jwt = sign(k,
                   claims(SCHEDULER, "https://oauth2.googleapis.com/token", -5,
                          3600, "\"scope\":\"" CLOUD "\""),
                   0);
  cr_assert_null(strstr(jwt, "kid"));
  reply r = post_assertion(jwt);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
}

Test(token, padded_base64url_accepted) {
  gauth_key *k = scheduler_key();
  /* A payload length that needs padding in every case below. */
  char *jwt = sign_padded(k, claims(SCHEDULER, token_uri(), -5, 3600,
                                    "\"scope\":\"" CLOUD "\",\"x\":\"1\""));
  cr_assert_not_null(strchr(jwt, '='));
  reply r = post_assertion(jwt);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  /* ... but a padded token is still checked: alter its signature. */
  jwt[strlen(jwt) - 5] ^= 1;
  r = post_assertion(jwt);
  expect_oauth_error(&r, 400, "invalid_grant", "Invalid JWT Signature.");
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
}

Test(token, charset_and_any_order) {
  gauth_key *k = scheduler_key();
  char *jwt = sign(
      k, claims(SCHEDULER, token_uri(), -5, 3600, "\"scope\":\"" CLOUD "\""),
      1);
  char *body = malloc(strlen(jwt) + 200);
  sprintf(body, "assertion=%s&grant_type=%s", jwt,
          "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
  reply r = http("POST", "/token", FORM ";charset=UTF-8", body, NULL, NULL);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  free(body);
  free(jwt);
  gauth_key_free(k);
}

Test(token, id_token_when_both_present) {
  gauth_key *k = scheduler_key();
  char extra[1024];
  snprintf(extra, sizeof extra,
           "\"scope\":\"" CLOUD "\",\"target_audience\":\"%s\"", service_url());
  char *jwt = sign(k, claims(SCHEDULER, token_uri(), -5, 3600, extra), 0);
  reply r = post_assertion(jwt);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  cr_expect_eq(cJSON_GetArraySize(j), 1, "%s", r.body);
  const char *id = jstr(j, "id_token");
  cr_assert_not_null(id);

  /* It verifies as a Google ID token against the emulator's keys. */
  const char *auds[] = {service_url(), NULL};
  gauth_options http_opts = GAUTH_OPTIONS_INIT;
  http_opts.endpoint = emu_fixture_url();
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = auds;
  vo.http = &http_opts;
  vo.require_email = 1;
  gauth_verifier *v;
  gauth_claims *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_verifier_new(&v, &vo, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_verifier_verify(v, id, 0, &c, &err), GAUTH_OK, "%s",
               err.message);
  const char *email = NULL;
  cr_assert_eq(gauth_claims_get_string(c, "email", &email, NULL), GAUTH_OK);
  cr_expect_str_eq(email, SCHEDULER);
  cr_expect_str_eq(gauth_claims_issuer(c), "https://accounts.google.com");
  gauth_claims_free(c);
  gauth_verifier_free(v);
  cJSON_Delete(j);
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
}

Test(token, unknown_key) {
  gauth_key *k = tj_gen_key(1);
  char *jwt = sign(
      k, claims(SCHEDULER, token_uri(), -5, 3600, "\"scope\":\"" CLOUD "\""),
      0);
  reply r = post_assertion(jwt);
  expect_oauth_error(&r, 400, "invalid_grant", "Invalid JWT Signature.");
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
}

#define TIMEFRAME                                                         \
  "Invalid JWT: Token must be a short-lived token (60 minutes) and in a " \
  "reasonable timeframe. Check your iat and exp values in the JWT claim."

Test(token, bad_times) {
  gauth_key *k = scheduler_key();
  /* expired; far future; too long-lived */
  const long cases[][2] = {{-7200, 3600}, {3600, 3600}, {-5, 7200}};
  for (size_t i = 0; i < 3; i++) {
    char *jwt = sign(k,
                     claims(SCHEDULER, token_uri(), cases[i][0], cases[i][1],
                            "\"scope\":\"" CLOUD "\""),
                     1);
    reply r = post_assertion(jwt);
    expect_oauth_error(&r, 400, "invalid_grant", TIMEFRAME);
    reply_free(&r);
    free(jwt);
  }
  gauth_key_free(k);
}

Test(token, wrong_audience) {
  gauth_key *k = scheduler_key();
  char *jwt = sign(k,
                   claims(SCHEDULER, "https://example.com/token", -5, 3600,
                          "\"scope\":\"" CLOUD "\""),
                   1);
  reply r = post_assertion(jwt);
  expect_oauth_error(&r, 400, "invalid_grant",
                     "Invalid JWT: Failed audience check. The right "
                     "audience is https://oauth2.googleapis.com/token");
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
}

Test(token, unknown_account) {
  gauth_key *k = scheduler_key();
  char *jwt = sign(k,
                   claims("nobody@demo-project.iam.gserviceaccount.com",
                          token_uri(), -5, 3600, "\"scope\":\"" CLOUD "\""),
                   1);
  reply r = post_assertion(jwt);
  expect_oauth_error(&r, 400, "invalid_grant",
                     "Invalid grant: account not found");
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
}

Test(token, no_scope_nor_audience) {
  gauth_key *k = scheduler_key();
  char *jwt = sign(k, claims(SCHEDULER, token_uri(), -5, 3600, ""), 1);
  reply r = post_assertion(jwt);
  expect_oauth_error(&r, 400, "invalid_scope",
                     "Invalid OAuth scope or ID token audience provided.");
  reply_free(&r);
  free(jwt);
  gauth_key_free(k);
}

Test(token, unsupported_grant_type) {
  reply r = http("POST", "/token", FORM, "grant_type=password", NULL, NULL);
  expect_oauth_error(&r, 400, "unsupported_grant_type",
                     "Invalid grant_type: password");
  reply_free(&r);
}

Test(token, refresh_token_unknown) {
  reply r = http("POST", "/token", FORM,
                 "grant_type=refresh_token&client_id=x&client_secret=y&"
                 "refresh_token=nope",
                 NULL, NULL);
  expect_oauth_error(&r, 400, "invalid_grant", "Bad Request");
  reply_free(&r);
}

Test(token, refresh_token_grant) {
  const char *ok =
      "grant_type=refresh_token&refresh_token=1%2F%2Femulator-"
      "refresh-token&client_id=emulator-client.apps."
      "googleusercontent.com&client_secret=";
  char body[512];
  snprintf(body, sizeof body, "%semulator-client-secret", ok);
  reply r = http("POST", "/token", FORM, body, NULL, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  cr_expect_eq(strncmp(jstr(j, "access_token"), "ya29.", 5), 0);
  cr_expect_not_null(jstr(j, "scope"));
  cr_expect_str_eq(jstr(j, "token_type"), "Bearer");
  char *payload = NULL;
  cr_assert_eq(
      gauth_jwt_decode_unverified(jstr(j, "id_token"), NULL, &payload, NULL),
      GAUTH_OK);
  cr_expect_not_null(strstr(payload, "developer@example.com"));
  gauth_free(payload);
  cJSON_Delete(j);
  reply_free(&r);
  snprintf(body, sizeof body, "%swrong", ok);
  r = http("POST", "/token", FORM, body, NULL, NULL);
  expect_oauth_error(&r, 401, "invalid_client", "Unauthorized");
  reply_free(&r);
}

/* ---- key sets ----------------------------------------------------------- */

TestSuite(certs);

static void expect_keyset(const char *path) {
  reply r = http("GET", path, NULL, NULL, NULL, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_expect_eq(strncmp(r.cache_control, "public, max-age=", 16), 0, "%s",
               r.cache_control);
  cr_expect_str_eq(r.content_type, "application/json; charset=UTF-8");
  gauth_keyset *ks = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_keyset_parse(&ks, r.body, r.len, &err), GAUTH_OK, "%s",
               err.message);
  cr_expect_geq(gauth_keyset_count(ks), 1);
  /* An emulator ID token verifies against this set. */
  char *id = scheduler_id_token("https://aud.example/");
  char *payload = NULL;
  cr_expect_eq(gauth_jws_verify(id, 0, ks, GAUTH_ALG_BIT(GAUTH_ALG_RS256),
                                &payload, NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_free(payload);
  free(id);
  gauth_keyset_free(ks);
  reply_free(&r);
}

Test(certs, v3_jwks) { expect_keyset("/oauth2/v3/certs"); }

Test(certs, v1_pem_map) {
  expect_keyset("/oauth2/v1/certs");
  reply r = http("GET", "/oauth2/v1/certs", NULL, NULL, NULL, NULL);
  cr_expect_not_null(strstr(r.body, "-----BEGIN CERTIFICATE-----"));
  reply_free(&r);
}

/* Google's OIDC discovery document, and an OIDC verifier of
 * https://accounts.google.com that finds the emulator's keys through it
 * (GAUTH_ENDPOINT's override of Google's hosts) and verifies its tokens. */
Test(certs, oidc_discovery) {
  reply r =
      http("GET", "/.well-known/openid-configuration", NULL, NULL, NULL, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  cr_expect_str_eq(jstr(j, "issuer"), "https://accounts.google.com");
  cr_expect_str_eq(jstr(j, "jwks_uri"),
                   "https://www.googleapis.com/oauth2/v3/certs");
  cJSON_Delete(j);
  reply_free(&r);
  r = http("POST", "/.well-known/openid-configuration", NULL, "", NULL, NULL);
  cr_expect_eq(r.status, 405, "%s", r.body);
  reply_free(&r);

  const char *aud[] = {"https://aud.example/", NULL};
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_verifier *v = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  o.endpoint = emu_fixture_url();
  vo.preset = GAUTH_VERIFIER_OIDC;
  vo.oidc_issuer = "https://accounts.google.com";
  vo.audiences = aud;
  vo.http = &o;
  cr_assert_eq(gauth_verifier_new(&v, &vo, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_verifier_refresh_keys(v, &err), GAUTH_OK, "%s",
               err.message);
  char *id = scheduler_id_token("https://aud.example/");
  cr_expect_eq(gauth_verifier_verify(v, id, 0, NULL, &err), GAUTH_OK, "%s",
               err.message);
  free(id);
  gauth_verifier_free(v);
}

/* ---- IAM Credentials ---------------------------------------------------- */

TestSuite(iam);

#define SA_PATH(email, action) \
  "/v1/projects/-/serviceAccounts/" email ":" action

Test(iam, generate_access_token_ok) {
  char *at = runner_access_token();
  reply r = http("POST", SA_PATH(SCHEDULER, "generateAccessToken"),
                 "application/json",
                 "{\"scope\":[\"" CLOUD "\"],\"lifetime\":\"600s\"}", at, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  cr_expect_eq(strncmp(jstr(j, "accessToken"), "ya29.", 5), 0);
  const char *exp = jstr(j, "expireTime");
  cr_assert_not_null(exp);
  cr_expect_eq(strlen(exp), 20, "%s", exp);
  cr_expect_eq(exp[19], 'Z');
  /* The new token acts as the scheduler: it may run the job. */
  char *sched = strdup(jstr(j, "accessToken"));
  reply run = http("POST",
                   "/v2/projects/demo-project/locations/us-central1/jobs/"
                   "collect:run",
                   "application/json", "{}", sched, NULL);
  cr_expect_eq(run.status, 200, "%s", run.body);
  reply_free(&run);
  free(sched);
  cJSON_Delete(j);
  reply_free(&r);
  free(at);
}

Test(iam, generate_id_token_ok) {
  char *at = runner_access_token();
  reply r = http(
      "POST", SA_PATH(SCHEDULER, "generateIdToken"), "application/json",
      "{\"audience\":\"https://x.example\",\"includeEmail\":true}", at, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  char *payload = NULL;
  cr_assert_eq(
      gauth_jwt_decode_unverified(jstr(j, "token"), NULL, &payload, NULL),
      GAUTH_OK);
  cr_expect_not_null(strstr(payload, "\"email\":\"" SCHEDULER "\""), "%s",
                     payload);
  cr_expect_not_null(strstr(payload, "\"aud\":\"https://x.example\""));
  gauth_free(payload);
  cJSON_Delete(j);
  reply_free(&r);
  free(at);
}

Test(iam, sign_blob_and_jwt) {
  char *at = runner_access_token();
  gauth_key *k = scheduler_key();
  /* "hello world" */
  reply r = http("POST", SA_PATH(SCHEDULER, "signBlob"), "application/json",
                 "{\"payload\":\"aGVsbG8gd29ybGQ=\"}", at, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  cr_expect_str_eq(jstr(j, "keyId"), gauth_key_kid(k));
  const char *b64 = jstr(j, "signedBlob");
  unsigned char sig[1024];
  int n = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)strlen(b64));
  /* EVP_DecodeBlock counts the two bytes "==" stands for. */
  cr_assert_eq(n, 258);
  cr_expect_eq(
      gauth_key_verify(k, GAUTH_ALG_RS256, "hello world", 11, sig, 256, NULL),
      GAUTH_OK);
  cJSON_Delete(j);
  reply_free(&r);

  r = http("POST", SA_PATH(SCHEDULER, "signJwt"), "application/json",
           "{\"payload\":\"{\\\"sub\\\":\\\"x\\\",\\\"exp\\\":1}\"}", at, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  j = json_of(&r);
  cr_expect_str_eq(jstr(j, "keyId"), gauth_key_kid(k));
  gauth_keyset *ks = NULL;
  cr_assert_eq(gauth_keyset_from_keys(&ks, &k, 1, NULL), GAUTH_OK);
  char *payload = NULL;
  cr_expect_eq(
      gauth_jws_verify(jstr(j, "signedJwt"), 0, ks,
                       GAUTH_ALG_BIT(GAUTH_ALG_RS256), &payload, NULL, NULL),
      GAUTH_OK);
  cr_expect_str_eq(payload, "{\"sub\":\"x\",\"exp\":1}");
  gauth_free(payload);
  gauth_keyset_free(ks);
  cJSON_Delete(j);
  reply_free(&r);
  gauth_key_free(k);
  free(at);
}

Test(iam, unauthenticated) {
  reply r = http("POST", SA_PATH(SCHEDULER, "generateAccessToken"),
                 "application/json", "{\"scope\":[\"" CLOUD "\"]}", NULL, NULL);
  expect_google_error(&r, 401, "UNAUTHENTICATED", NULL);
  cr_expect_eq(strncmp(r.www_auth, "Bearer", 6), 0);
  reply_free(&r);
  char *id = scheduler_id_token("https://x.example");
  r = http("POST", SA_PATH(SCHEDULER, "generateAccessToken"),
           "application/json", "{\"scope\":[\"" CLOUD "\"]}", id, NULL);
  expect_google_error(&r, 401, "UNAUTHENTICATED", UNAUTH_INVALID);
  cr_expect_eq(strncmp(r.www_auth, "Bearer", 6), 0);
  reply_free(&r);
  free(id);
}

Test(iam, permission_denied_names_permission) {
  /* The scheduler holds nothing on the runner. */
  char *at = scheduler_access_token(CLOUD);
  reply r = http("POST", SA_PATH(RUNNER, "generateIdToken"), "application/json",
                 "{\"audience\":\"https://x\"}", at, NULL);
  expect_google_error(&r, 403, "PERMISSION_DENIED",
                      "Permission 'iam.serviceAccounts.getOpenIdToken' "
                      "denied on resource (or it may not exist).");
  cr_expect_not_null(strstr(r.body, "IAM_PERMISSION_DENIED"));
  reply_free(&r);
  free(at);
}

Test(iam, unknown_account) {
  char *at = runner_access_token();
  reply r = http("POST",
                 SA_PATH("ghost@demo-project.iam.gserviceaccount.com",
                         "generateAccessToken"),
                 "application/json", "{\"scope\":[\"" CLOUD "\"]}", at, NULL);
  expect_google_error(&r, 404, "NOT_FOUND", NULL);
  reply_free(&r);
  free(at);
}

Test(iam, delegation_chain) {
  /* runner -> scheduler -> runner: the scheduler lacks getAccessToken on
   * the runner, so the last hop fails and names the permission. */
  char *at = runner_access_token();
  reply r =
      http("POST", SA_PATH(RUNNER, "generateAccessToken"), "application/json",
           "{\"scope\":[\"" CLOUD
           "\"],\"delegates\":["
           "\"projects/-/serviceAccounts/" SCHEDULER "\"]}",
           at, NULL);
  expect_google_error(&r, 403, "PERMISSION_DENIED",
                      "Permission 'iam.serviceAccounts.getAccessToken' "
                      "denied on resource (or it may not exist).");
  reply_free(&r);
  /* A delegate that does not exist. */
  r = http("POST", SA_PATH(SCHEDULER, "generateAccessToken"),
           "application/json",
           "{\"scope\":[\"" CLOUD
           "\"],\"delegates\":["
           "\"projects/-/serviceAccounts/ghost@x.iam.gserviceaccount.com\"]}",
           at, NULL);
  expect_google_error(&r, 404, "NOT_FOUND", NULL);
  reply_free(&r);
  free(at);
}

/* A binding added through the control API for one test (resource, role,
 * member); add 1 adds it, 0 removes it. */
static void binding(int add, const char *resource, const char *role,
                    const char *member) {
  char body[1024], *out = NULL;
  snprintf(body, sizeof body,
           "{\"resource\":\"%s\",\"role\":\"%s\",\"member\":\"%s\"}", resource,
           role, member);
  cr_assert_eq(emu_control(emu_fixture_url(),
                           add ? "/emulator/v1/policy:add"
                               : "/emulator/v1/policy:remove",
                           body, &out),
               200, "%s", out);
  free(out);
}

Test(iam, delegation_chain_granted) {
  /* runner -> scheduler -> scheduler once the scheduler may mint tokens
   * for itself (a binding no other test looks at). */
  const char *res = "projects/demo-project/serviceAccounts/" SCHEDULER;
  const char *role = "roles/iam.serviceAccountTokenCreator";
  binding(1, res, role, "serviceAccount:" SCHEDULER);
  char *at = runner_access_token();
  reply r =
      http("POST", SA_PATH(SCHEDULER, "generateIdToken"), "application/json",
           "{\"audience\":\"https://x\",\"delegates\":["
           "\"projects/-/serviceAccounts/" SCHEDULER "\"]}",
           at, NULL);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  binding(0, res, role, "serviceAccount:" SCHEDULER);
  free(at);
}

Test(iam, insufficient_scope) {
  char *at = scheduler_access_token(
      "https://www.googleapis.com/auth/"
      "userinfo.email");
  reply r = http("POST", SA_PATH(SCHEDULER, "signBlob"), "application/json",
                 "{\"payload\":\"eA==\"}", at, NULL);
  expect_google_error(&r, 403, "PERMISSION_DENIED",
                      "Request had insufficient authentication scopes.");
  cr_expect_not_null(strstr(r.body, "ACCESS_TOKEN_SCOPE_INSUFFICIENT"));
  reply_free(&r);
  free(at);
}

/* ---- testIamPermissions ------------------------------------------------- */

TestSuite(test_permissions);

Test(test_permissions, subsets) {
  char *at = scheduler_access_token(CLOUD);
  reply r = http("POST",
                 "/v2/projects/demo-project/locations/us-central1/jobs/"
                 "collect:testIamPermissions",
                 "application/json",
                 "{\"permissions\":[\"run.jobs.run\",\"run.jobs.delete\"]}", at,
                 NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_expect_str_eq(r.body, "{\"permissions\":[\"run.jobs.run\"]}");
  reply_free(&r);
  r = http("POST",
           "/v2/projects/123456789012/locations/us-central1/services/"
           "collector:testIamPermissions",
           "application/json", "{\"permissions\":[\"run.routes.invoke\"]}", at,
           NULL);
  cr_expect_str_eq(r.body, "{\"permissions\":[\"run.routes.invoke\"]}");
  reply_free(&r);
  const char *paths[] = {"/v1/projects/demo-project:testIamPermissions",
                         "/v3/projects/demo-project:testIamPermissions"};
  for (size_t i = 0; i < 2; i++) {
    r = http("POST", paths[i], "application/json",
             "{\"permissions\":[\"resourcemanager.projects.delete\"]}", at,
             NULL);
    cr_expect_eq(r.status, 200, "%s", r.body);
    cr_expect_str_eq(r.body, "{}");
    reply_free(&r);
  }
  free(at);
}

Test(test_permissions, errors) {
  char *at = scheduler_access_token(CLOUD);
  reply r = http("POST",
                 "/v2/projects/demo-project/locations/us-central1/jobs/"
                 "nope:testIamPermissions",
                 "application/json", "{\"permissions\":[\"run.jobs.run\"]}", at,
                 NULL);
  expect_google_error(&r, 404, "NOT_FOUND", NULL);
  reply_free(&r);
  r = http("POST", "/v1/projects/demo-project:testIamPermissions",
           "application/json", "{\"permissions\":[\"not a permission\"]}", at,
           NULL);
  expect_google_error(&r, 400, "INVALID_ARGUMENT", NULL);
  reply_free(&r);
  r = http("POST", "/v1/projects/demo-project:testIamPermissions",
           "application/json", "{\"permissions\":[\"run.jobs.run\"]}", NULL,
           NULL);
  expect_google_error(&r, 401, "UNAUTHENTICATED", NULL);
  reply_free(&r);
  free(at);
}

Test(test_permissions, service_accounts) {
  /* IAM v1: projects/P/serviceAccounts/EMAIL; "-" and the project number
   * name the same account. The runner holds TokenCreator on the scheduler
   * (the default policy), the scheduler nothing on itself. */
  char *at = runner_access_token();
  const char *body =
      "{\"permissions\":[\"iam.serviceAccounts.signBlob\","
      "\"iam.serviceAccounts.actAs\"]}";
  const char *paths[] = {"/v1/projects/demo-project/serviceAccounts/" SCHEDULER
                         ":testIamPermissions",
                         "/v1/projects/-/serviceAccounts/" SCHEDULER
                         ":testIamPermissions",
                         "/v1/projects/123456789012/serviceAccounts/" SCHEDULER
                         ":testIamPermissions"};
  for (size_t i = 0; i < 3; i++) {
    reply r = http("POST", paths[i], "application/json", body, at, NULL);
    cr_expect_eq(r.status, 200, "%s: %s", paths[i], r.body);
    cr_expect_str_eq(r.body,
                     "{\"permissions\":[\"iam.serviceAccounts.signBlob\"]}");
    reply_free(&r);
  }
  free(at);
  at = scheduler_access_token(CLOUD);
  reply r = http("POST", paths[0], "application/json", body, at, NULL);
  cr_expect_eq(r.status, 200, "%s", r.body);
  cr_expect_str_eq(r.body, "{}");
  reply_free(&r);
  r = http("POST",
           "/v1/projects/demo-project/serviceAccounts/nobody@demo-project."
           "iam.gserviceaccount.com:testIamPermissions",
           "application/json", body, at, NULL);
  expect_google_error(&r, 404, "NOT_FOUND", NULL);
  reply_free(&r);
  free(at);
}

/* ---- Cloud Run ---------------------------------------------------------- */

TestSuite(run);

#define RUN_V2 \
  "/v2/projects/demo-project/locations/us-central1/jobs/collect:run"
#define RUN_V1                                                \
  "/apis/run.googleapis.com/v1/namespaces/demo-project/jobs/" \
  "collect:run"

Test(run, id_token_is_401) {
  char *id = scheduler_id_token(service_url());
  reply r = http("POST", RUN_V2, "application/json", "{}", id, NULL);
  cr_expect_eq(r.status, 401);
  cr_expect_str_eq(r.body,
                   "{\"error\":{\"code\":401,\"message\":\"" UNAUTH_INVALID
                   "\",\"status\":\"UNAUTHENTICATED\"}}");
  cr_expect_eq(strncmp(r.www_auth, "Bearer", 6), 0, "%s", r.www_auth);
  reply_free(&r);
  free(id);
}

Test(run, no_permission_is_403) {
  char *at = runner_access_token();
  reply r = http("POST", RUN_V2, "application/json", "{}", at, NULL);
  expect_google_error(&r, 403, "PERMISSION_DENIED", NULL);
  cr_expect_not_null(strstr(r.body, "run.jobs.run"));
  reply_free(&r);
  free(at);
}

Test(run, runs) {
  char *at = scheduler_access_token(CLOUD);
  reply r = http("POST", RUN_V2, "application/json", "{}", at, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
#define OPS "projects/demo-project/locations/us-central1/operations/"
  cr_expect_eq(strncmp(jstr(j, "name"), OPS, strlen(OPS)), 0, "%s",
               jstr(j, "name"));
  cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(j, "done")));
  cr_expect_str_eq(jstr(cJSON_GetObjectItem(j, "metadata"), "@type"),
                   "type.googleapis.com/google.cloud.run.v2.Execution");
  cJSON_Delete(j);
  reply_free(&r);
  r = http("POST", RUN_V1, "application/json", "", at, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  j = json_of(&r);
  cr_expect_str_eq(jstr(j, "kind"), "Execution");
  cJSON_Delete(j);
  reply_free(&r);
  free(at);
}

Test(run, unknown_job) {
  /* Without permission a missing job is a 403, as Google's ("or resource
   * may not exist"); with run.jobs.run on the whole project, a 404. The
   * project-wide grant goes to the configured end user, whom no other
   * test gives Cloud Run roles. */
  const char *nope =
      "/v2/projects/demo-project/locations/us-central1/jobs/"
      "nope:run";
  char *at = scheduler_access_token(CLOUD);
  reply r = http("POST", nope, "application/json", "{}", at, NULL);
  expect_google_error(&r, 403, "PERMISSION_DENIED", NULL);
  reply_free(&r);
  free(at);
  binding(1, "projects/demo-project", "roles/run.invoker",
          "user:developer@example.com");
  r = http("POST", "/token", FORM,
           "grant_type=refresh_token&refresh_token=1%2F%2Femulator-"
           "refresh-token&client_id=emulator-client.apps."
           "googleusercontent.com&client_secret=emulator-client-secret",
           NULL, NULL);
  cJSON *j = json_of(&r);
  at = strdup(jstr(j, "access_token"));
  cJSON_Delete(j);
  reply_free(&r);
  r = http("POST", nope, "application/json", "{}", at, NULL);
  expect_google_error(&r, 404, "NOT_FOUND", NULL);
  reply_free(&r);
  binding(0, "projects/demo-project", "roles/run.invoker",
          "user:developer@example.com");
  free(at);
}

Test(run, service) {
  char *id = scheduler_id_token(service_url()), url[600];
  snprintf(url, sizeof url, "%s/hello", service_url());
  reply r = http("GET", url, NULL, NULL, id, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  cr_expect_str_eq(jstr(j, "service"), "collector");
  cr_expect_str_eq(jstr(j, "principal"), SCHEDULER);
  cr_expect_str_eq(jstr(j, "path"), "/hello");
  cJSON_Delete(j);
  reply_free(&r);
  free(id);

  /* Wrong audience, no token, an access token: 401. */
  id = scheduler_id_token("https://elsewhere.example/");
  char *at = scheduler_access_token(CLOUD);
  const char *bad[] = {id, NULL, at};
  for (size_t i = 0; i < 3; i++) {
    r = http("POST", service_url(), "application/json", "{}", bad[i], NULL);
    cr_expect_eq(r.status, 401, "case %zu: %ld", i, r.status);
    cr_expect_not_null(strstr(r.body, "401 Unauthorized"));
    reply_free(&r);
  }
  free(at);
  free(id);

  /* The runner holds no run.routes.invoke: 403. */
  id = runner_id_token(service_url());
  r = http("GET", service_url(), NULL, NULL, id, NULL);
  cr_expect_eq(r.status, 403, "%s", r.body);
  reply_free(&r);
  free(id);
}

/* The services live on the Cloud Run front end's own origin, as *.run.app
 * hosts are apart from Google's API hosts: the API base serves none. */
Test(run, services_have_their_own_origin) {
  char old[600], url[700];
  cr_assert_str_neq(emu_fixture_run_url(), emu_fixture_url());
  cr_assert_eq(strncmp(service_url(), emu_fixture_run_url(),
                       strlen(emu_fixture_run_url())),
               0, "%s", service_url());
  /* BASE/services/collector: the API base's 404, whatever the token
   * (an ID token for that very URL included). */
  snprintf(old, sizeof old, "%s/services/collector", emu_fixture_url());
  char *id = scheduler_id_token(old);
  reply r = http("GET", "/services/collector", NULL, NULL, id, NULL);
  expect_google_error(&r, 404, "NOT_FOUND", NULL);
  reply_free(&r);
  free(id);
  id = scheduler_id_token(service_url());
  r = http("POST", "/services/collector/hello", "application/json", "{}", id,
           NULL);
  expect_google_error(&r, 404, "NOT_FOUND", NULL);
  reply_free(&r);
  /* ... and an ID token for the API base's URL does not open the service:
   * its audience is the service's URL on its own origin. */
  char *old_id = scheduler_id_token(old);
  r = http("GET", service_url(), NULL, NULL, old_id, NULL);
  cr_expect_eq(r.status, 401, "%s", r.body);
  reply_free(&r);
  free(old_id);
  r = http("GET", service_url(), NULL, NULL, id, NULL);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  free(id);
  /* The Cloud Run front end serves services only: no Google API, no
   * control API; Cloud Run's HTML 404 page. */
  const char *not_there[] = {RUN_V2, "/emulator/v1/status", "/token",
                             "/services/nope", "/"};
  char *at = scheduler_access_token(CLOUD);
  for (size_t i = 0; i < sizeof not_there / sizeof not_there[0]; i++) {
    snprintf(url, sizeof url, "%s%s", emu_fixture_run_url(), not_there[i]);
    r = http(i == 0 ? "POST" : "GET", url, NULL, NULL, at, NULL);
    cr_expect_eq(r.status, 404, "%s: %ld", url, r.status);
    cr_expect_not_null(strstr(r.body, "404 Page not found"), "%s", r.body);
    reply_free(&r);
  }
  free(at);
  /* The control API's status names both. */
  r = http("GET", "/emulator/v1/status", NULL, NULL, NULL, NULL);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  cr_expect_str_eq(jstr(j, "base_url"), emu_fixture_url());
  cr_expect_str_eq(jstr(j, "run_url"), emu_fixture_run_url());
  const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(j, "services");
  cr_assert(cJSON_IsArray(svcs) && cJSON_GetArraySize(svcs) == 1, "%s", r.body);
  cr_expect_str_eq(jstr(cJSON_GetArrayItem(svcs, 0), "name"),
                   "projects/demo-project/locations/us-central1/services/"
                   "collector");
  cr_expect_str_eq(jstr(cJSON_GetArrayItem(svcs, 0), "url"), service_url());
  cJSON_Delete(j);
  reply_free(&r);
}

/* The Cloud Run front end shares the world's faults (keyed by path),
 * counters and request log with the API front end. */
Test(run, service_faults_and_counters) {
  char who[256];
  cr_assert_eq(
      emu_control(emu_fixture_url(), "/emulator/v1/counters:reset", "{}", NULL),
      200);
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/faults",
                           "{\"route\":\"/services/collector\",\"kind\":"
                           "\"status\",\"status\":503,\"count\":1}",
                           NULL),
               200);
  char *id = scheduler_id_token(service_url());
  reply r = http("GET", service_url(), NULL, NULL, id, NULL);
  expect_google_error(&r, 503, "UNAVAILABLE", NULL);
  reply_free(&r);
  r = http("GET", service_url(), NULL, NULL, id, NULL);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  free(id);
  cr_expect_eq(emu_counter(emu_fixture_url(), "/services/collector"), 2);
  cr_assert_eq(emu_last_principal(emu_fixture_url(), "/services/collector", who,
                                  sizeof who),
               0);
  cr_expect_str_eq(who, SCHEDULER);
}

/* What this project exists for, end to end: with GAUTH_ENDPOINT at the
 * emulator's API base, libgauth calls the job's :run URL a Google API (an
 * access token) and the service's URL not one (an ID token), and each
 * answers 200 to the token it was told to send. (Criterion runs each test
 * in a process of its own: the setenv stays here.) */
Test(run, url_classify_under_the_emulator) {
  char job[600];
  gauth_scheduler_url_kind kind = GAUTH_SCHEDULER_URL_OTHER;
  gauth_scheduler_token token = GAUTH_SCHEDULER_TOKEN_NONE;
  gauth_error err = GAUTH_ERROR_INIT;
  char *why = NULL;
  cr_assert_eq(setenv("GAUTH_ENDPOINT", emu_fixture_url(), 1), 0);

  cr_assert_eq(gauth_scheduler_url_classify(NULL, service_url(), &kind, &token,
                                            &why, &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_neq(kind, GAUTH_SCHEDULER_URL_GOOGLE_API, "%s", why);
  cr_expect_eq(token, GAUTH_SCHEDULER_TOKEN_OIDC, "%s", why);
  gauth_free(why);
  why = NULL;
  char *id = scheduler_id_token(service_url());
  reply r = http("POST", service_url(), "application/json", "{}", id, NULL);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  /* Where the services were before, on the API base, libgauth rightly
   * sees a Google API: the reason they moved. */
  snprintf(job, sizeof job, "%s/services/collector", emu_fixture_url());
  cr_assert_eq(
      gauth_scheduler_url_classify(NULL, job, &kind, &token, &why, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect_eq(kind, GAUTH_SCHEDULER_URL_GOOGLE_API, "%s", why);
  gauth_free(why);
  why = NULL;

  snprintf(job, sizeof job, "%s" RUN_V2, emu_fixture_url());
  cr_assert_eq(
      gauth_scheduler_url_classify(NULL, job, &kind, &token, &why, &err),
      GAUTH_OK, "%s", err.message);
  cr_expect_eq(kind, GAUTH_SCHEDULER_URL_GOOGLE_API, "%s", why);
  cr_expect_eq(token, GAUTH_SCHEDULER_TOKEN_OAUTH, "%s", why);
  gauth_free(why);
  char *at = scheduler_access_token(CLOUD);
  r = http("POST", job, "application/json", "{}", at, NULL);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  /* The other way round, each is refused. */
  r = http("POST", job, "application/json", "{}", id, NULL);
  cr_expect_eq(r.status, 401, "%s", r.body);
  reply_free(&r);
  r = http("POST", service_url(), "application/json", "{}", at, NULL);
  cr_expect_eq(r.status, 401, "%s", r.body);
  reply_free(&r);
  free(at);
  free(id);
}

/* ---- STS (an emulator of its own, with a trusted external issuer) ------- */

#define WIP_AUD                                                  \
  "//iam.googleapis.com/projects/123456789012/locations/global/" \
  "workloadIdentityPools/pool/providers/ci"
#define WIP_PRINCIPAL                                               \
  "principal://iam.googleapis.com/projects/123456789012/locations/" \
  "global/workloadIdentityPools/pool/subject/repo:main"
#define EXT_ISS "https://issuer.example"

/* Starts gauth-emulator with config text; returns its pid and sets g_base
 * from its first line. */
static pid_t start_emulator(const char *config, char *base, size_t n) {
  char path[] = "/tmp/emu-google-cfgXXXXXX", arg[64], l[256];
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, config, strlen(config)), (ssize_t)strlen(config));
  close(fd);
  snprintf(arg, sizeof arg, "--config=%s", path);
  const char *bin = getenv("GAUTH_EMULATOR_BIN");
  cr_assert_not_null(bin);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    FILE *err = freopen("/dev/null", "w", stderr);
    (void)err;
    execl(bin, bin, "--listen=127.0.0.1:0", arg, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *out = fdopen(fds[0], "r");
  cr_assert_not_null(fgets(l, sizeof l, out), "the emulator did not start");
  fclose(out);
  unlink(path);
  l[strcspn(l, "\n")] = '\0';
  cr_assert_eq(strncmp(l, "listening ", 10), 0, "%s", l);
  snprintf(base, n, "%.100s", l + 10);
  g_base = base;
  return pid;
}

static void stop_emulator(pid_t pid) {
  int st = 0;
  kill(pid, SIGTERM);
  cr_expect_eq(waitpid(pid, &st, 0), pid);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static reply sts_exchange(const char *subject, const char *audience) {
  char *body = malloc(strlen(subject) + 1024);
  sprintf(body,
          "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Atoken-"
          "exchange&audience=%s&scope=" CLOUD
          "&requested_token_type=urn%%3A"
          "ietf%%3Aparams%%3Aoauth%%3Atoken-type%%3Aaccess_token&"
          "subject_token_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Atoken-type%%3A"
          "jwt&subject_token=%s",
          audience, subject);
  reply r = http("POST", "/v1/token", FORM, body, NULL, NULL);
  free(body);
  return r;
}

Test(sts, token_exchange_then_impersonation, .timeout = 60) {
  gauth_key *k = tj_gen_key(1);
  const char *kids[] = {"ext-1"};
  char *jwks = tj_jwks_of(&k, kids, 1);
  char *cfg = malloc(strlen(jwks) + 2048);
  sprintf(cfg,
          "{\"service_accounts\":[{\"email\":\"" SCHEDULER
          "\"},"
          "{\"email\":\"" RUNNER
          "\"}],"
          "\"invoker\":\"" SCHEDULER "\",\"metadata_account\":\"" RUNNER
          "\","
          "\"external_issuers\":[{\"issuer\":\"" EXT_ISS
          "\",\"audience\":"
          "\"" WIP_AUD "\",\"jwks\":%s,\"service_account\":\"" SCHEDULER
          "\"}],"
          "\"bindings\":[{\"resource\":\"projects/demo-project/"
          "serviceAccounts/" SCHEDULER
          "\",\"role\":\"roles/iam."
          "serviceAccountTokenCreator\",\"members\":[\"" WIP_PRINCIPAL "\"]}]}",
          jwks);
  char base[128];
  pid_t pid = start_emulator(cfg, base, sizeof base);

  long now = (long)time(NULL);
  char claims_json[512];
  snprintf(claims_json, sizeof claims_json,
           "{\"iss\":\"" EXT_ISS
           "\",\"sub\":\"repo:main\",\"aud\":"
           "\"https:" WIP_AUD "\",\"iat\":%ld,\"exp\":%ld}",
           now, now + 600);
  char *subject = NULL;
  cr_assert_eq(
      gauth_jwt_sign(k, GAUTH_ALG_RS256, "ext-1", claims_json, &subject, NULL),
      GAUTH_OK);

  reply r = sts_exchange(subject, WIP_AUD);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  cr_expect_str_eq(jstr(j, "issued_token_type"),
                   "urn:ietf:params:oauth:token-type:access_token");
  cr_expect_str_eq(jstr(j, "token_type"), "Bearer");
  char *fed = strdup(jstr(j, "access_token"));
  cJSON_Delete(j);
  reply_free(&r);

  /* The federated principal may impersonate the account it is bound to. */
  r = http("POST", SA_PATH(SCHEDULER, "generateAccessToken"),
           "application/json", "{\"scope\":[\"" CLOUD "\"]}", fed, NULL);
  cr_expect_eq(r.status, 200, "%s", r.body);
  reply_free(&r);
  r = http("POST", SA_PATH(RUNNER, "generateAccessToken"), "application/json",
           "{\"scope\":[\"" CLOUD "\"]}", fed, NULL);
  expect_google_error(&r, 403, "PERMISSION_DENIED", NULL);
  reply_free(&r);

  /* Another provider's audience: invalid_target. */
  r = sts_exchange(subject,
                   "%2F%2Fiam.googleapis.com%2Fprojects%2F1%2F"
                   "locations%2Fglobal%2FworkloadIdentityPools%2Fx%2F"
                   "providers%2Fy");
  cr_expect_eq(r.status, 400, "%s", r.body);
  cr_expect_not_null(strstr(r.body, "invalid_target"));
  reply_free(&r);
  /* A token signed by another key: invalid_grant. */
  gauth_key *other = tj_gen_key(1);
  char *forged = NULL;
  cr_assert_eq(gauth_jwt_sign(other, GAUTH_ALG_RS256, "ext-1", claims_json,
                              &forged, NULL),
               GAUTH_OK);
  r = sts_exchange(forged, WIP_AUD);
  cr_expect_eq(r.status, 400, "%s", r.body);
  cr_expect_not_null(strstr(r.body, "invalid_grant"));
  reply_free(&r);

  stop_emulator(pid);
  gauth_free(forged);
  gauth_key_free(other);
  free(fed);
  gauth_free(subject);
  free(cfg);
  free(jwks);
  gauth_key_free(k);
}
