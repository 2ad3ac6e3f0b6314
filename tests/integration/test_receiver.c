/* The receiver (lib/receiver.c) end to end against the fixture's emulator:
 * real ID tokens minted by its token endpoint for the fixture's scheduler@
 * key (with email and email_verified, as Google's), verified with the keys
 * it serves at /oauth2/v3/certs; IAP assertions from its control API,
 * verified with its /iap/verify/public_key-jwk. Time moves through the
 * receiver's clock callback, never the shared emulator's clock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "test_keys.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define AUD "https://collector.example.com/"
#define AUD2 "https://collector.example.com/other"
/* more accepted audiences: distinct tokens for the concurrency test */
#define AUDN(n) "https://collector.example.com/" #n
#define IAP_AUD "/projects/123456789012/apps/demo-project"
#define SUB "\"subscription\":\"projects/demo-project/subscriptions/s1\""
#define RUN_PORT 8080

/* ---- helpers ------------------------------------------------------------- */

static gauth_options emu_options(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.endpoint = emu_fixture_url();
  o.timeout_ms = 10000;
  return o;
}

/* An ID token for aud from the fixture's scheduler@ key (gauth_free). */
static char *id_token(const char *aud) {
  gauth_options o = emu_options();
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  co.options = &o;
  cr_assert_eq(
      gauth_credentials_from_file(&c, emu_fixture_key_file(), &co, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_id_token(c, aud, 0, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_credentials_free(c);
  return tok;
}

/* An IAP assertion from the emulator (free). */
static char *iap_assertion(const char *email, const char *aud) {
  char body[512], *out = NULL, *a;
  cJSON *j;
  long st;
  snprintf(body, sizeof body, "{\"email\":\"%s\",\"audience\":\"%s\"}", email,
           aud);
  st = emu_control(emu_fixture_url(), "/emulator/v1/iap/assertion", body, &out);
  cr_assert_eq(st, 200, "%ld %s", st, out ? out : "");
  j = cJSON_Parse(out);
  cr_assert(cJSON_IsString(cJSON_GetObjectItem(j, "assertion")));
  a = strdup(cJSON_GetObjectItem(j, "assertion")->valuestring);
  cJSON_Delete(j);
  free(out);
  return a;
}

/* The token with its signature replaced (malloc'd). */
static char *with_signature(const char *tok, const char *sig) {
  const char *dot = strrchr(tok, '.');
  size_t n = (size_t)(dot - tok) + 1;
  char *out = malloc(n + strlen(sig) + 1);
  memcpy(out, tok, n);
  strcpy(out + n, sig);
  return out;
}

/* The token's header and payload re-signed with a key of ours (same kid):
 * what a forger can do. */
static char *forged(const char *tok) {
  EVP_PKEY *pk = tk_rsa(2048, 0);
  BIO *bio = BIO_new(BIO_s_mem());
  const char *pem;
  long n;
  gauth_key *key = NULL;
  char *hdr = NULL, *payload = NULL, *out = NULL;
  cJSON *h;
  cr_assert_not_null(pk);
  cr_assert(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL));
  n = BIO_get_mem_data(bio, &pem);
  cr_assert_eq(gauth_key_from_pem(&key, pem, (size_t)n, NULL), GAUTH_OK);
  cr_assert_eq(gauth_jwt_decode_unverified(tok, &hdr, &payload, NULL),
               GAUTH_OK);
  h = cJSON_Parse(hdr);
  cr_assert_eq(gauth_jwt_sign(key, GAUTH_ALG_RS256,
                              cJSON_IsString(cJSON_GetObjectItem(h, "kid"))
                                  ? cJSON_GetObjectItem(h, "kid")->valuestring
                                  : NULL,
                              payload, &out, NULL),
               GAUTH_OK);
  cJSON_Delete(h);
  gauth_free(hdr);
  gauth_free(payload);
  gauth_key_free(key);
  BIO_free(bio);
  EVP_PKEY_free(pk);
  return out;
}

typedef struct clock_state {
  int64_t skew;
} clock_state;

static int64_t skewed_clock(void *ud) {
  const clock_state *c = ud;
  return (int64_t)time(NULL) + c->skew;
}

typedef struct rx_opts {
  const char *const *emails;
  const char *const *domains;
  int trust;
  clock_state *clock;
  const char *endpoint; /* NULL: the emulator */
  long cache;
  int iap;
  size_t max_body;
} rx_opts;

static gauth_receiver *receiver(const rx_opts *x) {
  static const char *const aud[] = {AUD,     AUD2,    AUDN(1), AUDN(2),
                                    AUDN(3), AUDN(4), NULL};
  static const char *const iap[] = {IAP_AUD, NULL};
  gauth_options o = emu_options();
  gauth_receiver_options ro = GAUTH_RECEIVER_OPTIONS_INIT;
  gauth_receiver *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  if (x->endpoint != NULL) o.endpoint = x->endpoint;
  o.timeout_ms = 3000;
  ro.audiences = aud;
  ro.allowed_emails = x->emails;
  ro.allowed_domains = x->domains;
  ro.trust_cloud_run = x->trust;
  ro.cloud_run_port = RUN_PORT;
  ro.token_cache_entries = x->cache;
  ro.max_body_bytes = x->max_body;
  if (x->iap) ro.iap_audiences = iap;
  if (x->clock != NULL) {
    ro.clock = skewed_clock;
    ro.clock_userdata = x->clock;
  }
  ro.http = &o; /* read by gauth_receiver_new only */
  ro.realm = "collector";
  cr_assert_eq(gauth_receiver_new(&r, &ro, &err), GAUTH_OK, "%s", err.message);
  return r;
}

static gauth_receiver *plain_receiver(void) {
  rx_opts x = {NULL, NULL, 0, NULL, NULL, -1, 0, 0};
  return receiver(&x);
}

/* One request: header name/value (value NULL: none), body, port. */
static gauth_status call(gauth_receiver *r, const char *name, const char *value,
                         const char *body, unsigned int port,
                         gauth_receive_mode mode, gauth_caller **c,
                         gauth_error *err) {
  gauth_http_header h[2];
  gauth_request req = GAUTH_REQUEST_INIT;
  size_t n = 0;
  h[n].name = "Host";
  h[n].name_len = 4;
  h[n].value = "collector.example.com";
  h[n].value_len = strlen(h[n].value);
  n++;
  if (value != NULL) {
    h[n].name = name;
    h[n].name_len = strlen(name);
    h[n].value = value;
    h[n].value_len = strlen(value);
    n++;
  }
  req.headers = h;
  req.header_count = n;
  req.body = body;
  req.body_len = body != NULL ? strlen(body) : 0;
  req.local_port = port;
  return gauth_receiver_verify(r, &req, mode, c, err);
}

static gauth_status bearer(gauth_receiver *r, const char *tok, gauth_caller **c,
                           gauth_error *err) {
  char value[4096];
  snprintf(value, sizeof value, "Bearer %s", tok);
  return call(r, "Authorization", value, NULL, 0, GAUTH_RECEIVE_BEARER, c, err);
}

static void expect_reject(gauth_status st, const gauth_error *err, int status,
                          const char *reason, const char *tok) {
  cr_assert_neq(st, GAUTH_OK);
  cr_assert_eq(err->http_status, status, "%d %s: %s", err->http_status,
               err->reason, err->message);
  cr_assert_str_eq(err->reason, reason, "%s", err->message);
  if (tok != NULL) {
    /* no part of the token in the message */
    const char *dot = strchr(tok, '.');
    char head[17];
    snprintf(head, sizeof head, "%s", tok);
    cr_assert_null(strstr(err->message, head), "%s", err->message);
    if (dot != NULL) {
      snprintf(head, sizeof head, "%s", dot + 1);
      cr_assert_null(strstr(err->message, head), "%s", err->message);
    }
  }
}

/* ---- Bearer ID tokens ---------------------------------------------------- */

TestSuite(receiver, .timeout = 60);

Test(receiver, valid_token_gives_the_caller) {
  gauth_receiver *r = plain_receiver();
  char *tok = id_token(AUD2);
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth_receiver_refresh_keys(r, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(bearer(r, tok, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_caller_email(c), SCHEDULER);
  cr_assert_not_null(gauth_caller_subject(c));
  cr_assert_str_eq(gauth_caller_audience(c), AUD2);
  cr_assert_str_eq(gauth_caller_issuer(c), "https://accounts.google.com");
  cr_assert_eq(gauth_caller_signature_verified(c), 1);
  cr_assert_eq(gauth_caller_get_kind(c), GAUTH_CALLER_GOOGLE);
  cr_assert_eq(gauth_claims_alg(gauth_caller_claims(c)), GAUTH_ALG_RS256);
  gauth_caller_free(c);
  /* again: from the cache, same answer */
  cr_assert_eq(bearer(r, tok, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_caller_email(c), SCHEDULER);
  gauth_caller_free(c);
  gauth_free(tok);
  gauth_receiver_free(r);
}

Test(receiver, scheduler_and_tasks_headers_label_the_kind) {
  gauth_receiver *r = plain_receiver();
  char *tok = id_token(AUD), value[4096];
  gauth_http_header h[3];
  gauth_request req = GAUTH_REQUEST_INIT;
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(value, sizeof value, "bearer %s", tok);
  h[0] = (gauth_http_header){"authorization", 13, value, strlen(value)};
  h[1] = (gauth_http_header){"X-CloudScheduler", 16, "true", 4};
  h[2] = (gauth_http_header){"X-CloudTasks-QueueName", 22, "q", 1};
  req.headers = h;
  req.header_count = 2;
  cr_assert_eq(gauth_receiver_verify(r, &req, GAUTH_RECEIVE_BEARER, &c, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_caller_get_kind(c), GAUTH_CALLER_CLOUD_SCHEDULER);
  gauth_caller_free(c);
  h[1] = h[2];
  cr_assert_eq(gauth_receiver_verify(r, &req, GAUTH_RECEIVE_BEARER, &c, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_caller_get_kind(c), GAUTH_CALLER_CLOUD_TASKS);
  gauth_caller_free(c);
  gauth_free(tok);
  gauth_receiver_free(r);
}

Test(receiver, serverless_authorization_is_preferred) {
  gauth_receiver *r = plain_receiver();
  char *tok = id_token(AUD), value[4096];
  gauth_http_header h[2];
  gauth_request req = GAUTH_REQUEST_INIT;
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(value, sizeof value, "Bearer %s", tok);
  /* Authorization carries something else (the app's own credential) */
  h[0] = (gauth_http_header){"Authorization", 13, "Basic dXNlcjpwYXNz", 18};
  h[1] = (gauth_http_header){"X-Serverless-Authorization", 26, value,
                             strlen(value)};
  req.headers = h;
  req.header_count = 2;
  cr_assert_eq(gauth_receiver_verify(r, &req, GAUTH_RECEIVE_BEARER, &c, &err),
               GAUTH_OK, "%s", err.message);
  gauth_caller_free(c);
  gauth_free(tok);
  gauth_receiver_free(r);
}

Test(receiver, wrong_audience_expired_forged) {
  clock_state clk = {0};
  rx_opts x = {NULL, NULL, 0, &clk, NULL, -1, 0, 0};
  gauth_receiver *r = receiver(&x);
  char *other = id_token("https://elsewhere.example.com/");
  char *tok = id_token(AUD);
  char *bad = forged(tok);
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char www[256];

  expect_reject(bearer(r, other, &c, &err), &err, 401,
                GAUTH_REASON_AUDIENCE_MISMATCH, other);
  cr_assert_null(c);
  cr_assert_str_eq(gauth_receiver_challenge(r, &err, www, sizeof www),
                   "Bearer realm=\"collector\", error=\"invalid_token\", "
                   "error_description=\"The token is for another audience\"");
  expect_reject(bearer(r, bad, &c, &err), &err, 401,
                GAUTH_REASON_SIGNATURE_INVALID, bad);
  /* valid now (and cached), expired two hours later: the cache never
   * serves a token past its exp */
  cr_assert_eq(bearer(r, tok, &c, &err), GAUTH_OK, "%s", err.message);
  gauth_caller_free(c);
  c = NULL;
  clk.skew = 7200;
  expect_reject(bearer(r, tok, &c, &err), &err, 401, GAUTH_REASON_EXPIRED, tok);
  gauth_free(other);
  gauth_free(tok);
  gauth_free(bad);
  gauth_receiver_free(r);
}

Test(receiver, missing_and_bad_headers) {
  gauth_receiver *r = plain_receiver();
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char www[256];
  expect_reject(
      call(r, "Authorization", NULL, NULL, 0, GAUTH_RECEIVE_BEARER, &c, &err),
      &err, 401, GAUTH_REASON_NO_CREDENTIALS, NULL);
  cr_assert_str_eq(gauth_receiver_challenge(r, &err, www, sizeof www),
                   "Bearer realm=\"collector\"");
  expect_reject(call(r, "Authorization", "Basic dXNlcjpwYXNz", NULL, 0,
                     GAUTH_RECEIVE_BEARER, &c, &err),
                &err, 401, GAUTH_REASON_BAD_AUTH_HEADER, "dXNlcjpwYXNz");
  expect_reject(call(r, "Authorization", "Bearer not-a-jwt", NULL, 0,
                     GAUTH_RECEIVE_BEARER, &c, &err),
                &err, 401, GAUTH_REASON_MALFORMED, NULL);
  cr_assert_null(c);
  gauth_receiver_free(r);
}

/* ---- the caller policy --------------------------------------------------- */

Test(receiver, allow_lists) {
  static const char *const others[] = {"someone@demo-project.example", NULL};
  static const char *const mine[] = {SCHEDULER, NULL};
  static const char *const dom[] = {"DEMO-PROJECT.iam.gserviceaccount.com",
                                    NULL};
  static const char *const other_dom[] = {"iam.gserviceaccount.com", NULL};
  rx_opts x = {others, NULL, 0, NULL, NULL, -1, 0, 0};
  gauth_receiver *r;
  char *tok = id_token(AUD), www[256];
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;

  r = receiver(&x);
  expect_reject(bearer(r, tok, &c, &err), &err, 403,
                GAUTH_REASON_CALLER_NOT_ALLOWED, tok);
  cr_assert(strstr(err.message, SCHEDULER) != NULL, "%s", err.message);
  cr_assert_str_eq(gauth_receiver_challenge(r, &err, www, sizeof www),
                   "Bearer realm=\"collector\", error=\"insufficient_scope\", "
                   "error_description=\"The caller is not allowed\"");
  gauth_receiver_free(r);

  x.emails = mine;
  r = receiver(&x);
  cr_assert_eq(bearer(r, tok, &c, &err), GAUTH_OK, "%s", err.message);
  gauth_caller_free(c);
  gauth_receiver_free(r);

  x.emails = NULL;
  x.domains = dom;
  r = receiver(&x);
  cr_assert_eq(bearer(r, tok, &c, &err), GAUTH_OK, "%s", err.message);
  gauth_caller_free(c);
  gauth_receiver_free(r);

  x.domains = other_dom; /* a parent domain is not the domain */
  r = receiver(&x);
  expect_reject(bearer(r, tok, &c, &err), &err, 403,
                GAUTH_REASON_CALLER_NOT_ALLOWED, tok);
  gauth_receiver_free(r);
  gauth_free(tok);
}

/* The token's claims changed (a JSON edit of the payload) and its signature
 * replaced by Cloud Run's marker: what Cloud Run's front end would pass
 * for a token with those claims. */
static char *removed_with(const char *tok, const char *member,
                          const char *json_value) {
  char *hdr = NULL, *payload = NULL, *p64 = NULL, *h64 = NULL, *out, *edited;
  cJSON *j;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *dot1 = strchr(tok, '.');
  cr_assert_eq(gauth_jwt_decode_unverified(tok, &hdr, &payload, &err),
               GAUTH_OK);
  j = cJSON_Parse(payload);
  if (member != NULL) {
    cJSON_DeleteItemFromObject(j, member);
    if (json_value != NULL)
      cJSON_AddItemToObject(j, member, cJSON_Parse(json_value));
  }
  edited = cJSON_PrintUnformatted(j);
  /* base64url of the edited payload, via EVP (standard) then URL-safe */
  {
    size_t n = strlen(edited), i, k = 0;
    unsigned char *b = malloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock(b, (const unsigned char *)edited, (int)n);
    p64 = malloc((size_t)len + 1);
    for (i = 0; i < (size_t)len; i++) {
      char ch = (char)b[i];
      if (ch == '=') break;
      p64[k++] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
    }
    p64[k] = '\0';
    free(b);
  }
  h64 = strndup(tok, (size_t)(dot1 - tok));
  out = malloc(strlen(h64) + strlen(p64) + 40);
  sprintf(out, "%s.%s.SIGNATURE_REMOVED_BY_GOOGLE", h64, p64);
  free(h64);
  free(p64);
  cJSON_free(edited);
  cJSON_Delete(j);
  gauth_free(hdr);
  gauth_free(payload);
  return out;
}

Test(receiver, email_verified_false_or_missing_is_403) {
  static const char *const mine[] = {SCHEDULER, NULL};
  rx_opts x = {mine, NULL, 1, NULL, NULL, -1, 0, 0};
  gauth_receiver *r = receiver(&x);
  char *tok = id_token(AUD);
  char *unverified = removed_with(tok, "email_verified", "false");
  char *noflag = removed_with(tok, "email_verified", NULL);
  char *noemail = removed_with(tok, "email", NULL);
  char value[4096];
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(value, sizeof value, "Bearer %s", unverified);
  expect_reject(call(r, "Authorization", value, NULL, RUN_PORT,
                     GAUTH_RECEIVE_BEARER, &c, &err),
                &err, 403, GAUTH_REASON_EMAIL_NOT_VERIFIED, unverified);
  snprintf(value, sizeof value, "Bearer %s", noflag);
  expect_reject(call(r, "Authorization", value, NULL, RUN_PORT,
                     GAUTH_RECEIVE_BEARER, &c, &err),
                &err, 403, GAUTH_REASON_EMAIL_NOT_VERIFIED, noflag);
  snprintf(value, sizeof value, "Bearer %s", noemail);
  expect_reject(call(r, "Authorization", value, NULL, RUN_PORT,
                     GAUTH_RECEIVE_BEARER, &c, &err),
                &err, 403, GAUTH_REASON_CALLER_NOT_ALLOWED, noemail);
  free(unverified);
  free(noflag);
  free(noemail);
  gauth_free(tok);
  gauth_receiver_free(r);
}

/* ---- Cloud Run's signature-removed tokens ------------------------------- */

Test(receiver, signature_removed) {
  clock_state clk = {0};
  rx_opts x = {NULL, NULL, 0, &clk, NULL, -1, 0, 0};
  gauth_receiver *r = receiver(&x);
  char *tok = id_token(AUD);
  char *removed = with_signature(tok, "SIGNATURE_REMOVED_BY_GOOGLE");
  char value[4096];
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(value, sizeof value, "Bearer %s", removed);

  /* default: refused, even on the port */
  expect_reject(call(r, "Authorization", value, NULL, RUN_PORT,
                     GAUTH_RECEIVE_BEARER, &c, &err),
                &err, 401, GAUTH_REASON_SIGNATURE_REMOVED, removed);
  cr_assert(strstr(err.message, "trust_cloud_run") != NULL);
  gauth_receiver_free(r);

  x.trust = 1;
  r = receiver(&x);
  cr_assert_eq(call(r, "Authorization", value, NULL, RUN_PORT,
                    GAUTH_RECEIVE_BEARER, &c, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_caller_signature_verified(c), 0);
  cr_assert_str_eq(gauth_caller_email(c), SCHEDULER);
  cr_assert_str_eq(gauth_caller_audience(c), AUD);
  gauth_caller_free(c);
  c = NULL;
  /* another port: refused */
  expect_reject(call(r, "Authorization", value, NULL, RUN_PORT + 1,
                     GAUTH_RECEIVE_BEARER, &c, &err),
                &err, 401, GAUTH_REASON_SIGNATURE_REMOVED, removed);
  /* in X-Serverless-Authorization, as Cloud Run leaves it there too */
  cr_assert_eq(call(r, "X-Serverless-Authorization", value, NULL, RUN_PORT,
                    GAUTH_RECEIVE_BEARER, &c, &err),
               GAUTH_OK, "%s", err.message);
  gauth_caller_free(c);
  c = NULL;
  /* the claims are still checked: expired */
  clk.skew = 7200;
  expect_reject(call(r, "Authorization", value, NULL, RUN_PORT,
                     GAUTH_RECEIVE_BEARER, &c, &err),
                &err, 401, GAUTH_REASON_EXPIRED, removed);
  free(removed);
  gauth_free(tok);
  gauth_receiver_free(r);
}

/* ---- keys unavailable ------------------------------------------------------
 */

Test(receiver, dead_key_server_is_503) {
  rx_opts x = {NULL, NULL, 0, NULL, "http://127.0.0.1:1", -1, 0, 0};
  gauth_receiver *r = receiver(&x);
  char *tok = id_token(AUD), www[64];
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  expect_reject(bearer(r, tok, &c, &err), &err, 503,
                GAUTH_REASON_KEYS_UNAVAILABLE, tok);
  cr_assert_null(gauth_receiver_challenge(r, &err, www, sizeof www));
  cr_assert_neq(gauth_receiver_refresh_keys(r, &err), GAUTH_OK);
  gauth_free(tok);
  gauth_receiver_free(r);
}

/* ---- Pub/Sub push ------------------------------------------------------- */

Test(receiver, pubsub_push) {
  rx_opts x = {NULL, NULL, 0, NULL, NULL, -1, 0, 512};
  gauth_receiver *r = receiver(&x);
  char *tok = id_token(AUD), value[4096], big[600];
  const char *ok =
      "{\"message\":{\"data\":\"SGVsbG8AV29ybGQ=\","
      "\"attributes\":{\"kind\":\"nightly\"},"
      "\"messageId\":\"2070443601311540\","
      "\"publishTime\":\"2026-12-07T05:00:00.000Z\"}," SUB
      ",\"deliveryAttempt\":1}";
  const unsigned char *data;
  size_t len;
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(value, sizeof value, "Bearer %s", tok);

  cr_assert_eq(call(r, "Authorization", value, ok, 0, GAUTH_RECEIVE_PUBSUB_PUSH,
                    &c, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_caller_get_kind(c), GAUTH_CALLER_PUBSUB_PUSH);
  data = gauth_caller_pubsub_data(c, &len);
  cr_assert_eq(len, 11);
  cr_assert(memcmp(data, "Hello\0World", 11) == 0);
  cr_assert_str_eq(gauth_caller_pubsub_message_id(c), "2070443601311540");
  cr_assert_str_eq(gauth_caller_pubsub_attribute(c, "kind"), "nightly");
  cr_assert_str_eq(gauth_caller_pubsub_subscription(c),
                   "projects/demo-project/subscriptions/s1");
  cr_assert_eq(gauth_caller_pubsub_delivery_attempt(c), 1);
  gauth_caller_free(c);
  c = NULL;

  /* malformed envelope: 400 */
  expect_reject(
      call(r, "Authorization", value,
           "{\"message\":{\"data\":\"!!\",\"messageId\":\"1\"}," SUB "}", 0,
           GAUTH_RECEIVE_PUBSUB_PUSH, &c, &err),
      &err, 400, GAUTH_REASON_BAD_ENVELOPE, tok);
  cr_assert(strstr(err.message, "message.data") != NULL, "%s", err.message);
  /* malformed and unauthenticated: 401, the body is not judged */
  expect_reject(call(r, "Authorization", NULL, "garbage", 0,
                     GAUTH_RECEIVE_PUBSUB_PUSH, &c, &err),
                &err, 401, GAUTH_REASON_NO_CREDENTIALS, NULL);
  /* oversized: 413 first, even without credentials */
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  cr_assert_eq(call(r, "Authorization", NULL, big, 0, GAUTH_RECEIVE_PUBSUB_PUSH,
                    &c, &err),
               GAUTH_E_TOO_LARGE);
  cr_assert_eq(err.http_status, 413);
  cr_assert_str_eq(err.reason, GAUTH_REASON_BODY_TOO_LARGE);
  cr_assert_null(c);
  gauth_free(tok);
  gauth_receiver_free(r);
}

/* ---- IAP ------------------------------------------------------------------
 */

Test(receiver, iap) {
  rx_opts x = {NULL, NULL, 0, NULL, NULL, -1, 1, 0};
  static const char *const dom[] = {"example.com", NULL};
  gauth_receiver *r = receiver(&x);
  char *a = iap_assertion("user@example.com", IAP_AUD);
  char *wrong = iap_assertion("user@example.com", "/projects/1/apps/other");
  char *idt = id_token(AUD);
  gauth_caller *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;

  cr_assert_eq(call(r, "X-Goog-IAP-JWT-Assertion", a, NULL, 0,
                    GAUTH_RECEIVE_IAP, &c, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_caller_get_kind(c), GAUTH_CALLER_IAP);
  cr_assert_str_eq(gauth_caller_email(c), "user@example.com");
  cr_assert_str_eq(gauth_caller_audience(c), IAP_AUD);
  cr_assert_str_eq(gauth_caller_issuer(c), "https://cloud.google.com/iap");
  cr_assert(strncmp(gauth_caller_subject(c), "accounts.google.com:", 20) == 0);
  cr_assert_eq(gauth_claims_alg(gauth_caller_claims(c)), GAUTH_ALG_ES256);
  gauth_caller_free(c);
  c = NULL;
  expect_reject(call(r, "x-goog-iap-jwt-assertion", wrong, NULL, 0,
                     GAUTH_RECEIVE_IAP, &c, &err),
                &err, 401, GAUTH_REASON_AUDIENCE_MISMATCH, wrong);
  /* an RS256 Google ID token is not an IAP assertion */
  expect_reject(call(r, "x-goog-iap-jwt-assertion", idt, NULL, 0,
                     GAUTH_RECEIVE_IAP, &c, &err),
                &err, 401, GAUTH_REASON_ALG_NOT_ALLOWED, idt);
  /* nor is an IAP assertion a Bearer ID token */
  expect_reject(bearer(r, a, &c, &err), &err, 401, GAUTH_REASON_ALG_NOT_ALLOWED,
                a);
  gauth_receiver_free(r);

  /* the allow lists apply to IAP's email too */
  x.domains = dom;
  r = receiver(&x);
  cr_assert_eq(call(r, "x-goog-iap-jwt-assertion", a, NULL, 0,
                    GAUTH_RECEIVE_IAP, &c, &err),
               GAUTH_OK, "%s", err.message);
  gauth_caller_free(c);
  c = NULL;
  free(a);
  a = iap_assertion("user@elsewhere.org", IAP_AUD);
  expect_reject(call(r, "x-goog-iap-jwt-assertion", a, NULL, 0,
                     GAUTH_RECEIVE_IAP, &c, &err),
                &err, 403, GAUTH_REASON_CALLER_NOT_ALLOWED, a);
  free(a);
  free(wrong);
  gauth_free(idt);
  gauth_receiver_free(r);
}

Test(receiver, emulator_iap_routes) {
  char *out = NULL;
  emu_reply rep;
  cJSON *j;
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/iap/assertion",
                           "{\"audience\":\"" IAP_AUD "\"}", &out),
               400);
  free(out);
  out = NULL;
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/iap/assertion",
                           "{\"email\":\"u@example.com\"}", &out),
               400);
  free(out);
  out = NULL;
  cr_assert_eq(emu_control(emu_fixture_url(), "/emulator/v1/iap/assertion",
                           "{\"email\":\"u@example.com\",\"audience\":\"a\","
                           "\"lifetime_seconds\":0}",
                           &out),
               400);
  free(out);
  cr_assert_eq(emu_http(emu_fixture_url(), "GET", "/iap/verify/public_key-jwk",
                        NULL, NULL, &rep),
               0);
  cr_assert_eq(rep.status, 200);
  j = cJSON_Parse(rep.body);
  cr_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "keys")));
  cr_assert_str_eq(
      cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "keys"), 0),
                          "crv")
          ->valuestring,
      "P-256");
  cJSON_Delete(j);
  emu_reply_free(&rep);
}

/* ---- concurrency --------------------------------------------------------- */

#define THREADS 8
#define PER_THREAD 200
#define TOKENS 6

typedef struct worker {
  gauth_receiver *r;
  char **tokens;
  int ok, bad;
  unsigned int seed;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    gauth_caller *c = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    int k = (int)(rand_r(&w->seed) % (TOKENS + 1));
    char value[4096];
    const char *t = k < TOKENS ? w->tokens[k] : "a.b.c";
    snprintf(value, sizeof value, "Bearer %s", t);
    gauth_status st = call(w->r, "Authorization", value, NULL, 0,
                           GAUTH_RECEIVE_BEARER, &c, &err);
    if (k < TOKENS && st == GAUTH_OK && gauth_caller_email(c) != NULL &&
        strcmp(gauth_caller_email(c), SCHEDULER) == 0)
      w->ok++;
    else if (k == TOKENS && st == GAUTH_E_VERIFY && err.http_status == 401)
      w->ok++;
    else
      w->bad++;
    gauth_caller_free(c);
  }
  return NULL;
}

Test(receiver, threads_share_one_receiver) {
  /* a cache smaller than the token set: hits and misses (evictions) */
  rx_opts x = {NULL, NULL, 0, NULL, NULL, 2, 0, 0};
  static const char *const auds[TOKENS] = {AUD,     AUD2,    AUDN(1),
                                           AUDN(2), AUDN(3), AUDN(4)};
  gauth_receiver *r = receiver(&x);
  char *tokens[TOKENS];
  pthread_t th[THREADS];
  worker w[THREADS];
  int ok = 0, bad = 0;
  for (int i = 0; i < TOKENS; i++) tokens[i] = id_token(auds[i]);
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){r, tokens, 0, 0, (unsigned int)i * 7919u + 1u};
    cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    ok += w[i].ok;
    bad += w[i].bad;
  }
  cr_assert_eq(bad, 0, "%d of %d answers wrong", bad, THREADS * PER_THREAD);
  cr_assert_eq(ok, THREADS * PER_THREAD);
  for (int i = 0; i < TOKENS; i++) gauth_free(tokens[i]);
  gauth_receiver_free(r);
}
