/* Unit tests for lib/claims.c: every rule of gauth__claims_check at its
 * boundaries, the exact messages, and the gauth_claims getters. Pure: no
 * clock, no I/O. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "jose_internal.h"
#include "json.h"

#define NOW 1764201912LL
#define EXP 1764201600LL /* 312 s before NOW */
#define LEEWAY 30

static const char *const ISSUERS[] = {"https://issuer.example",
                                      "accounts.google.com", NULL};
static const char *const AUDIENCES[] = {"aud-a", "aud-b", NULL};

static gauth__claim_rules base_rules(void) {
  gauth__claim_rules r;
  memset(&r, 0, sizeof(r));
  r.issuers = ISSUERS;
  r.audiences = AUDIENCES;
  r.now = NOW;
  r.leeway = LEEWAY;
  return r;
}

static cJSON *parse(const char *json) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  cr_assert_eq(gauth__json_parse(json, strlen(json), NULL, &root, &err),
               GAUTH_OK, "%s: %s", json, err.message);
  return root;
}

/* Runs the check on json; returns the status and fills *err. */
static gauth_status check(const char *json, const gauth__claim_rules *r,
                          gauth_error *err) {
  cJSON *p = parse(json);
  gauth_status st;
  gauth_error_clear(err);
  st = gauth__claims_check(p, r, err);
  cJSON_Delete(p);
  return st;
}

static void pass(const char *json, const gauth__claim_rules *r) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(check(json, r, &err), GAUTH_OK, "%s: %s: %s", json, err.reason,
               err.message);
  cr_assert_eq(err.code, GAUTH_OK);
}

/* Must fail with GAUTH_E_VERIFY and reason; the message must contain want
 * (when not NULL). */
static void reject(const char *json, const gauth__claim_rules *r,
                   const char *reason, const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(check(json, r, &err), GAUTH_E_VERIFY, "%s passed", json);
  cr_assert_eq(err.code, GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, reason, "%s: %s (%s)", json, err.reason,
                   err.message);
  if (want != NULL)
    cr_assert(strstr(err.message, want) != NULL, "message \"%s\" lacks \"%s\"",
              err.message, want);
}

/* A payload with the usual claims and exp / iat / nbf as given (text, so
 * that tests can pass odd JSON); extra members appended. */
static char *payload(const char *exp, const char *extra) {
  static char buf[4096];
  snprintf(buf, sizeof(buf),
           "{\"iss\":\"https://issuer.example\",\"aud\":\"aud-a\","
           "\"sub\":\"1234\"%s%s%s%s}",
           exp != NULL ? ",\"exp\":" : "", exp != NULL ? exp : "",
           extra != NULL && extra[0] != '\0' ? "," : "",
           extra != NULL ? extra : "");
  return buf;
}

static char *num(long long v) {
  static char bufs[4][32];
  static int i;
  char *b = bufs[i++ % 4];
  snprintf(b, 32, "%lld", v);
  return b;
}

/* ---- exp -----------------------------------------------------------------*/

Test(claims_check, valid_token_passes) {
  gauth__claim_rules r = base_rules();
  pass(payload(num(NOW + 3600), "\"iat\":1764201900"), &r);
}

Test(claims_check, exp_boundary) {
  gauth__claim_rules r = base_rules();
  /* One second before exp + leeway: still valid. Exactly at exp + leeway:
   * expired (RFC 7519 4.1.4: the current time must be before exp). */
  r.now = EXP + LEEWAY - 1;
  pass(payload(num(EXP), NULL), &r);
  r.now = EXP + LEEWAY;
  reject(payload(num(EXP), NULL), &r, "expired",
         "token expired 30 s ago (exp 1764201600, now 1764201630, leeway "
         "30 s)");
  /* Without leeway: valid at exp - 1, expired at exp. */
  r.leeway = 0;
  r.now = EXP - 1;
  pass(payload(num(EXP), NULL), &r);
  r.now = EXP;
  reject(payload(num(EXP), NULL), &r, "expired",
         "token expired 0 s ago (exp 1764201600, now 1764201600, leeway "
         "0 s)");
}

Test(claims_check, expired_message_exact) {
  gauth__claim_rules r = base_rules();
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(check(payload(num(EXP), NULL), &r, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.message,
                   "token expired 312 s ago (exp 1764201600, "
                   "now 1764201912, leeway 30 s)");
}

Test(claims_check, zero_leeway) {
  gauth__claim_rules r = base_rules();
  r.leeway = 0;
  r.now = EXP - 1;
  pass(payload(num(EXP), NULL), &r);
  r.now = EXP;
  reject(payload(num(EXP), NULL), &r, "expired", "leeway 0 s");
}

Test(claims_check, exp_missing_or_null) {
  gauth__claim_rules r = base_rules();
  reject(payload(NULL, NULL), &r, "missing_claim", "\"exp\"");
  reject(payload("null", NULL), &r, "missing_claim", "\"exp\"");
}

Test(claims_check, exp_wrong_type) {
  gauth__claim_rules r = base_rules();
  reject(payload("\"1764205512\"", NULL), &r, "malformed",
         "claim \"exp\" is a string, expected a number");
  reject(payload("true", NULL), &r, "malformed", "a boolean");
  reject(payload("[1]", NULL), &r, "malformed", "an array");
  reject(payload("{}", NULL), &r, "malformed", "an object");
}

Test(claims_check, huge_numbers_are_malformed) {
  gauth__claim_rules r = base_rules();
  reject(payload("1e300", NULL), &r, "malformed", "out of range");
  reject(payload("-1e300", NULL), &r, "malformed", "out of range");
  /* Just over 2^53. */
  reject(payload("9007199254740994", NULL), &r, "malformed", NULL);
  reject(payload(num(NOW + 100), "\"nbf\":1e300"), &r, "malformed", "nbf");
  reject(payload(num(NOW + 100), "\"iat\":-1e300"), &r, "malformed", "iat");
  /* 2^53 itself is a time (far in the future): fine. */
  pass(payload("9007199254740992", NULL), &r);
}

Test(claims_check, extreme_now_and_leeway_do_not_overflow) {
  gauth__claim_rules r = base_rules();
  r.now = INT64_MAX;
  reject(payload(num(EXP), NULL), &r, "expired", "exp 1764201600");
  reject(payload("-9007199254740992", NULL), &r, "expired", NULL);
  r.now = INT64_MIN;
  pass(payload(num(EXP), NULL), &r);
  r = base_rules();
  r.leeway = INT64_MAX;
  pass(payload(num(EXP), NULL), &r);
  r.leeway = -5; /* treated as 0 */
  r.now = EXP + 1;
  reject(payload(num(EXP), NULL), &r, "expired", "leeway 0 s");
}

Test(claims_check, fractional_times_are_floored) {
  gauth__claim_rules r = base_rules();
  r.leeway = 0;
  r.now = EXP - 1;
  pass(payload("1764201600.9", NULL), &r);
  r.now = EXP;
  reject(payload("1764201600.9", NULL), &r, "expired", NULL);
}

/* ---- nbf, iat ------------------------------------------------------------*/

Test(claims_check, nbf_boundary) {
  gauth__claim_rules r = base_rules();
  char extra[64];
  snprintf(extra, sizeof(extra), "\"nbf\":%lld", NOW + LEEWAY);
  pass(payload(num(NOW + 3600), extra), &r);
  snprintf(extra, sizeof(extra), "\"nbf\":%lld", NOW + LEEWAY + 1);
  reject(payload(num(NOW + 3600), extra), &r, "not_yet_valid",
         "token not valid for another 31 s (nbf 1764201943, now "
         "1764201912, leeway 30 s)");
}

Test(claims_check, nbf_wrong_type) {
  gauth__claim_rules r = base_rules();
  reject(payload(num(NOW + 3600), "\"nbf\":\"soon\""), &r, "malformed",
         "claim \"nbf\" is a string");
  /* null counts as absent */
  pass(payload(num(NOW + 3600), "\"nbf\":null"), &r);
}

Test(claims_check, iat_in_future) {
  gauth__claim_rules r = base_rules();
  char extra[64];
  snprintf(extra, sizeof(extra), "\"iat\":%lld", NOW + LEEWAY);
  pass(payload(num(NOW + 3600), extra), &r);
  snprintf(extra, sizeof(extra), "\"iat\":%lld", NOW + LEEWAY + 1);
  reject(payload(num(NOW + 3600), extra), &r, "issued_in_future",
         "token issued 31 s in the future (iat 1764201943, now 1764201912, "
         "leeway 30 s)");
}

Test(claims_check, iat_wrong_type) {
  gauth__claim_rules r = base_rules();
  reject(payload(num(NOW + 3600), "\"iat\":false"), &r, "malformed",
         "claim \"iat\" is a boolean");
}

Test(claims_check, expiry_checked_before_nbf) {
  gauth__claim_rules r = base_rules();
  char extra[64];
  snprintf(extra, sizeof(extra), "\"nbf\":%lld", NOW + 1000);
  reject(payload(num(EXP), extra), &r, "expired", NULL);
}

/* ---- lifetime ------------------------------------------------------------*/

Test(claims_check, lifetime_boundary) {
  gauth__claim_rules r = base_rules();
  char extra[64];
  r.max_lifetime = 600;
  snprintf(extra, sizeof(extra), "\"iat\":%lld", NOW - 10);
  pass(payload(num(NOW - 10 + 600), extra), &r);
  reject(payload(num(NOW - 10 + 601), extra), &r, "lifetime_too_long",
         "token lifetime 601 s exceeds the maximum 600 s (iat 1764201902, "
         "exp 1764202503)");
}

Test(claims_check, lifetime_needs_iat) {
  gauth__claim_rules r = base_rules();
  r.max_lifetime = 600;
  reject(payload(num(NOW + 100), NULL), &r, "missing_claim", "\"iat\"");
  /* Without a limit, iat is optional. */
  r.max_lifetime = 0;
  pass(payload(num(NOW + 100), NULL), &r);
}

Test(claims_check, no_lifetime_limit) {
  gauth__claim_rules r = base_rules();
  char extra[64];
  snprintf(extra, sizeof(extra), "\"iat\":%lld", NOW - 10);
  pass(payload(num(NOW + 86400 * 365), extra), &r);
}

/* ---- iss -----------------------------------------------------------------*/

Test(claims_check, issuer_list) {
  gauth__claim_rules r = base_rules();
  pass(
      "{\"iss\":\"accounts.google.com\",\"aud\":\"aud-a\","
      "\"exp\":1764205512}",
      &r);
}

Test(claims_check, issuer_mismatch_message) {
  gauth__claim_rules r = base_rules();
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(check("{\"iss\":\"https://evil.example\",\"aud\":\"aud-a\","
                     "\"exp\":1764205512}",
                     &r, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "issuer_mismatch");
  cr_assert_str_eq(err.message,
                   "issuer mismatch: token is from \"https://evil.example\", "
                   "expected one of \"https://issuer.example\", "
                   "\"accounts.google.com\"");
}

Test(claims_check, issuer_is_exact) {
  gauth__claim_rules r = base_rules();
  reject(
      "{\"iss\":\"https://issuer.example/\",\"aud\":\"aud-a\","
      "\"exp\":1764205512}",
      &r, "issuer_mismatch", NULL);
  reject(
      "{\"iss\":\"HTTPS://issuer.example\",\"aud\":\"aud-a\","
      "\"exp\":1764205512}",
      &r, "issuer_mismatch", NULL);
}

Test(claims_check, issuer_missing_or_wrong_type) {
  gauth__claim_rules r = base_rules();
  reject("{\"aud\":\"aud-a\",\"exp\":1764205512}", &r, "missing_claim",
         "\"iss\"");
  reject("{\"iss\":7,\"aud\":\"aud-a\",\"exp\":1764205512}", &r, "malformed",
         "claim \"iss\" is a number, expected a string");
}

Test(claims_check, issuer_not_checked_without_list) {
  gauth__claim_rules r = base_rules();
  r.issuers = NULL;
  pass("{\"aud\":\"aud-a\",\"exp\":1764205512}", &r);
}

/* ---- aud -----------------------------------------------------------------*/

Test(claims_check, audience_string_and_array) {
  gauth__claim_rules r = base_rules();
  pass(
      "{\"iss\":\"accounts.google.com\",\"aud\":\"aud-b\","
      "\"exp\":1764205512}",
      &r);
  pass(
      "{\"iss\":\"accounts.google.com\",\"aud\":[\"aud-b\"],"
      "\"exp\":1764205512}",
      &r);
  /* Several audiences: azp names the one it was issued to, ours. */
  pass(
      "{\"iss\":\"accounts.google.com\",\"aud\":[\"x\",\"aud-b\"],"
      "\"azp\":\"aud-b\",\"exp\":1764205512}",
      &r);
}

/* OpenID Connect Core 3.1.3.7: a token for several audiences needs an azp,
 * and it must be one of the verifier's audiences. */
Test(claims_check, multi_audience_needs_our_azp) {
  gauth__claim_rules r = base_rules();
  reject(
      "{\"iss\":\"accounts.google.com\",\"aud\":[\"x\",\"aud-b\"],"
      "\"exp\":1764205512}",
      &r, "missing_claim", "2 audiences and no \"azp\"");
  reject(
      "{\"iss\":\"accounts.google.com\",\"aud\":[\"x\",\"aud-b\"],"
      "\"azp\":\"x\",\"exp\":1764205512}",
      &r, "claim_mismatch", "not one of this verifier's audiences");
  reject(
      "{\"iss\":\"accounts.google.com\",\"aud\":[\"x\",\"aud-b\"],"
      "\"azp\":7,\"exp\":1764205512}",
      &r, "malformed", "\"azp\"");
  /* One audience: azp is not required. */
  pass(
      "{\"iss\":\"accounts.google.com\",\"aud\":\"aud-b\","
      "\"exp\":1764205512}",
      &r);
}

Test(claims_check, audience_mismatch_message) {
  gauth__claim_rules r = base_rules();
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(check("{\"iss\":\"accounts.google.com\",\"aud\":\"X\","
                     "\"exp\":1764205512}",
                     &r, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "audience_mismatch");
  cr_assert_str_eq(err.message,
                   "audience mismatch: token is for \"X\", "
                   "expected one of \"aud-a\", \"aud-b\"");
  cr_assert_eq(check("{\"iss\":\"accounts.google.com\",\"aud\":[\"X\",\"Y\"],"
                     "\"exp\":1764205512}",
                     &r, &err),
               GAUTH_E_VERIFY);
  cr_assert_str_eq(err.message,
                   "audience mismatch: token is for \"X\", "
                   "\"Y\", expected one of \"aud-a\", \"aud-b\"");
}

Test(claims_check, audience_malformed) {
  gauth__claim_rules r = base_rules();
  reject("{\"iss\":\"accounts.google.com\",\"exp\":1764205512}", &r,
         "missing_claim", "\"aud\"");
  reject("{\"iss\":\"accounts.google.com\",\"aud\":[],\"exp\":1764205512}", &r,
         "missing_claim", "empty");
  /* A non-string member is malformed even when another member matches. */
  reject(
      "{\"iss\":\"accounts.google.com\",\"aud\":[\"aud-a\",1],"
      "\"exp\":1764205512}",
      &r, "malformed", "\"aud\" holds a number");
  reject("{\"iss\":\"accounts.google.com\",\"aud\":{},\"exp\":1764205512}", &r,
         "malformed", "an object");
  reject("{\"iss\":\"accounts.google.com\",\"aud\":5,\"exp\":1764205512}", &r,
         "malformed", "a number");
}

Test(claims_check, audience_not_checked_without_list) {
  gauth__claim_rules r = base_rules();
  r.audiences = NULL;
  pass("{\"iss\":\"accounts.google.com\",\"exp\":1764205512}", &r);
}

Test(claims_check, echoed_values_are_capped_and_cleaned) {
  gauth__claim_rules r = base_rules();
  gauth_error err = GAUTH_ERROR_INIT;
  char json[1024], a100[101], a101[102];
  memset(a100, 'a', 100);
  a100[100] = '\0';
  memset(a101, 'a', 101);
  a101[101] = '\0';
  snprintf(json, sizeof(json),
           "{\"iss\":\"accounts.google.com\",\"aud\":\"%s%s\","
           "\"exp\":1764205512}",
           a100, a100);
  cr_assert_eq(check(json, &r, &err), GAUTH_E_VERIFY);
  cr_assert(strstr(err.message, a100) != NULL);
  cr_assert(strstr(err.message, a101) == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "...\"") != NULL, "%s", err.message);
  /* Control bytes and quotes cannot forge log lines or message syntax. */
  cr_assert_eq(check("{\"iss\":\"a\\nb\\\"c\",\"aud\":\"aud-a\","
                     "\"exp\":1764205512}",
                     &r, &err),
               GAUTH_E_VERIFY);
  cr_assert(strstr(err.message, "\"a?b?c\"") != NULL, "%s", err.message);
  cr_assert(strchr(err.message, '\n') == NULL);
}

/* ---- hd, azp, email ------------------------------------------------------*/

Test(claims_check, hosted_domain) {
  gauth__claim_rules r = base_rules();
  r.hosted_domain = "example.com";
  pass(payload(num(NOW + 100), "\"hd\":\"example.com\""), &r);
  reject(payload(num(NOW + 100), "\"hd\":\"evil.com\""), &r, "claim_mismatch",
         "hosted domain mismatch: token has \"hd\": \"evil.com\", expected "
         "\"example.com\"");
  reject(payload(num(NOW + 100), NULL), &r, "missing_claim", "\"hd\"");
  reject(payload(num(NOW + 100), "\"hd\":1"), &r, "malformed", "\"hd\"");
}

Test(claims_check, authorized_party) {
  gauth__claim_rules r = base_rules();
  r.authorized_party = "client-1";
  pass(payload(num(NOW + 100), "\"azp\":\"client-1\""), &r);
  reject(payload(num(NOW + 100), "\"azp\":\"client-2\""), &r, "claim_mismatch",
         "authorized party mismatch");
  reject(payload(num(NOW + 100), NULL), &r, "missing_claim", "\"azp\"");
}

Test(claims_check, email_verified) {
  gauth__claim_rules r = base_rules();
  r.require_email_verified = 1;
  pass(payload(num(NOW + 100), "\"email_verified\":true"), &r);
  reject(payload(num(NOW + 100), "\"email_verified\":false"), &r,
         "claim_mismatch", "not verified");
  reject(payload(num(NOW + 100), NULL), &r, "missing_claim",
         "\"email_verified\"");
  reject(payload(num(NOW + 100), "\"email_verified\":\"true\""), &r,
         "malformed",
         "claim \"email_verified\" is a string, expected a "
         "boolean");
  reject(payload(num(NOW + 100), "\"email_verified\":1"), &r, "malformed",
         NULL);
  /* Not required: whatever it holds. */
  r.require_email_verified = 0;
  pass(payload(num(NOW + 100), "\"email_verified\":false"), &r);
  pass(payload(num(NOW + 100), "\"email_verified\":\"no\""), &r);
}

Test(claims_check, email_required) {
  gauth__claim_rules r = base_rules();
  r.require_email = 1;
  pass(payload(num(NOW + 100), "\"email\":\"a@example.com\""), &r);
  reject(payload(num(NOW + 100), NULL), &r, "missing_claim", "\"email\"");
  reject(payload(num(NOW + 100), "\"email\":\"\""), &r, "missing_claim", NULL);
  reject(payload(num(NOW + 100), "\"email\":[]"), &r, "malformed", "\"email\"");
}

Test(claims_check, bad_arguments) {
  gauth__claim_rules r = base_rules();
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *arr = parse("[1]");
  cr_assert_eq(gauth__claims_check(arr, NULL, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__claims_check(arr, &r, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "malformed");
  cr_assert_eq(gauth__claims_check(NULL, &r, NULL), GAUTH_E_VERIFY);
  cJSON_Delete(arr);
}

/* ---- the claims object ---------------------------------------------------*/

static gauth_claims *make_claims(const char *header, const char *body) {
  gauth__jws jws;
  gauth_claims *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  memset(&jws, 0, sizeof(jws));
  jws.header_json = strdup(header);
  jws.payload_json = strdup(body);
  jws.header = parse(header);
  jws.payload = parse(body);
  jws.sig = malloc(4);
  jws.sig_len = 4;
  jws.alg = GAUTH_ALG_ES256;
  jws.kid =
      cJSON_GetObjectItemCaseSensitive(jws.header, "kid") != NULL
          ? cJSON_GetObjectItemCaseSensitive(jws.header, "kid")->valuestring
          : NULL;
  cr_assert_eq(gauth__claims_from_jws(&jws, &c, &err), GAUTH_OK, "%s",
               err.message);
  /* Moved: the jws holds nothing any more. */
  cr_assert_null(jws.header_json);
  cr_assert_null(jws.payload_json);
  cr_assert_null(jws.header);
  cr_assert_null(jws.payload);
  cr_assert_null(jws.sig);
  gauth__jws_cleanup(&jws);
  return c;
}

#define HEADER "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"
#define BODY                                                             \
  "{\"iss\":\"https://issuer.example\",\"sub\":\"1234\",\"aud\":[\"a\"," \
  "\"b\"],\"exp\":1764205512,\"iat\":1764201912,\"n\":42,\"f\":1.5,"     \
  "\"big\":9007199254740992,\"huge\":1e300,\"t\":true,\"s\":\"str\","    \
  "\"nul\":null,\"o\":{\"x\":[1,2]},\"neg\":-7}"

Test(claims, registered_getters) {
  gauth_claims *c = make_claims(HEADER, BODY);
  cr_assert_str_eq(gauth_claims_json(c), BODY);
  cr_assert_str_eq(gauth_claims_header_json(c), HEADER);
  cr_assert_eq(gauth_claims_alg(c), GAUTH_ALG_ES256);
  cr_assert_str_eq(gauth_claims_kid(c), "k1");
  cr_assert_str_eq(gauth_claims_issuer(c), "https://issuer.example");
  cr_assert_str_eq(gauth_claims_subject(c), "1234");
  cr_assert_eq(gauth_claims_audience_count(c), 2);
  cr_assert_str_eq(gauth_claims_audience(c, 0), "a");
  cr_assert_str_eq(gauth_claims_audience(c, 1), "b");
  cr_assert_null(gauth_claims_audience(c, 2));
  cr_assert_eq(gauth_claims_expires_at(c), 1764205512);
  cr_assert_eq(gauth_claims_issued_at(c), 1764201912);
  gauth_claims_free(c);
}

Test(claims, single_audience_and_absent_claims) {
  gauth_claims *c =
      make_claims("{\"alg\":\"ES256\"}", "{\"aud\":\"only\",\"exp\":5}");
  cr_assert_null(gauth_claims_kid(c));
  cr_assert_null(gauth_claims_issuer(c));
  cr_assert_null(gauth_claims_subject(c));
  cr_assert_eq(gauth_claims_audience_count(c), 1);
  cr_assert_str_eq(gauth_claims_audience(c, 0), "only");
  cr_assert_null(gauth_claims_audience(c, 1));
  cr_assert_eq(gauth_claims_issued_at(c), 0);
  cr_assert_eq(gauth_claims_expires_at(c), 5);
  gauth_claims_free(c);
}

Test(claims, null_safe_getters) {
  cr_assert_null(gauth_claims_json(NULL));
  cr_assert_null(gauth_claims_header_json(NULL));
  cr_assert_eq(gauth_claims_alg(NULL), GAUTH_ALG_UNKNOWN);
  cr_assert_null(gauth_claims_issuer(NULL));
  cr_assert_eq(gauth_claims_audience_count(NULL), 0);
  cr_assert_null(gauth_claims_audience(NULL, 0));
  cr_assert_eq(gauth_claims_expires_at(NULL), 0);
  gauth_claims_free(NULL);
  gauth_claims_up_ref(NULL);
}

Test(claims, get_string) {
  gauth_claims *c = make_claims(HEADER, BODY);
  gauth_error err = GAUTH_ERROR_INIT;
  const char *s = "x";
  cr_assert_eq(gauth_claims_get_string(c, "s", &s, &err), GAUTH_OK);
  cr_assert_str_eq(s, "str");
  cr_assert_eq(gauth_claims_get_string(c, "missing", &s, &err),
               GAUTH_E_NOT_FOUND);
  cr_assert_null(s);
  cr_assert(strstr(err.message, "\"missing\"") != NULL);
  cr_assert_eq(gauth_claims_get_string(c, "nul", &s, &err), GAUTH_E_NOT_FOUND);
  cr_assert_eq(gauth_claims_get_string(c, "n", &s, &err), GAUTH_E_MALFORMED);
  cr_assert_str_eq(err.message, "claim \"n\" is a number, expected a string");
  cr_assert_eq(gauth_claims_get_string(c, NULL, &s, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_claims_get_string(c, "s", NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_claims_get_string(NULL, "s", &s, NULL),
               GAUTH_E_INVALID_ARG);
  gauth_claims_free(c);
}

Test(claims, get_int64) {
  gauth_claims *c = make_claims(HEADER, BODY);
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t v = 99;
  cr_assert_eq(gauth_claims_get_int64(c, "n", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 42);
  cr_assert_eq(gauth_claims_get_int64(c, "neg", &v, &err), GAUTH_OK);
  cr_assert_eq(v, -7);
  cr_assert_eq(gauth_claims_get_int64(c, "big", &v, &err), GAUTH_OK);
  cr_assert_eq(v, INT64_C(9007199254740992));
  cr_assert_eq(gauth_claims_get_int64(c, "f", &v, &err), GAUTH_E_MALFORMED);
  cr_assert_eq(v, 0);
  cr_assert(strstr(err.message, "\"f\"") != NULL);
  cr_assert_eq(gauth_claims_get_int64(c, "huge", &v, &err), GAUTH_E_MALFORMED);
  cr_assert_eq(gauth_claims_get_int64(c, "s", &v, &err), GAUTH_E_MALFORMED);
  cr_assert_str_eq(err.message, "claim \"s\" is a string, expected a number");
  cr_assert_eq(gauth_claims_get_int64(c, "zz", &v, &err), GAUTH_E_NOT_FOUND);
  gauth_claims_free(c);
}

Test(claims, get_bool) {
  gauth_claims *c = make_claims(HEADER, BODY);
  gauth_error err = GAUTH_ERROR_INIT;
  int b = 7;
  cr_assert_eq(gauth_claims_get_bool(c, "t", &b, &err), GAUTH_OK);
  cr_assert_eq(b, 1);
  cr_assert_eq(gauth_claims_get_bool(c, "s", &b, &err), GAUTH_E_MALFORMED);
  cr_assert_str_eq(err.message, "claim \"s\" is a string, expected a boolean");
  cr_assert_eq(gauth_claims_get_bool(c, "zz", &b, &err), GAUTH_E_NOT_FOUND);
  gauth_claims_free(c);
}

Test(claims, get_json) {
  gauth_claims *c = make_claims(HEADER, BODY);
  gauth_error err = GAUTH_ERROR_INIT;
  char *j = NULL;
  cr_assert_eq(gauth_claims_get_json(c, "o", &j, &err), GAUTH_OK);
  cr_assert_str_eq(j, "{\"x\":[1,2]}");
  gauth_free(j);
  cr_assert_eq(gauth_claims_get_json(c, "aud", &j, &err), GAUTH_OK);
  cr_assert_str_eq(j, "[\"a\",\"b\"]");
  gauth_free(j);
  cr_assert_eq(gauth_claims_get_json(c, "nul", &j, &err), GAUTH_E_NOT_FOUND);
  cr_assert_null(j);
  gauth_claims_free(c);
}

Test(claims, reference_counting) {
  gauth_claims *c = make_claims(HEADER, BODY);
  gauth_claims_up_ref(c);
  gauth_claims_free(c);
  /* Still alive after one free. */
  cr_assert_str_eq(gauth_claims_subject(c), "1234");
  gauth_claims_free(c);
}

Test(claims, from_jws_without_payload) {
  gauth__jws jws;
  gauth_claims *c = (gauth_claims *)&jws;
  gauth_error err = GAUTH_ERROR_INIT;
  memset(&jws, 0, sizeof(jws));
  cr_assert_eq(gauth__claims_from_jws(&jws, &c, &err), GAUTH_E_VERIFY);
  cr_assert_null(c);
  cr_assert_str_eq(err.reason, "malformed");
  cr_assert_eq(gauth__claims_from_jws(NULL, &c, &err), GAUTH_E_INVALID_ARG);
}
