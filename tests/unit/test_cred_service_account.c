/* Service-account keys, pure parts: the key file's members (each missing or
 * mistyped one named), PKCS#1 and PKCS#8 keys, the assertion and
 * self-signed JWT claims parsed back member by member, the token request
 * body, and the no-network paths of the credential (self-signed JWT,
 * sign_blob, sign_jwt, email, project) with an injected clock. No secret
 * ever reaches an error message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "constants.h"
#include "cred_service_account.h"
#include "credentials_internal.h"
#include "secret.h"
#include "test_keys.h"

#define EMAIL "scheduler@demo-project.iam.gserviceaccount.com"
#define KID "0123456789abcdef0123456789abcdef01234567"
#define CLOUD "https://www.googleapis.com/auth/cloud-platform"
#define NOW 1767225600
#define IAT (NOW - GAUTH__ASSERTION_BACKDATE)
#define EXP (IAT + GAUTH__ASSERTION_LIFETIME)

/* ---- fixtures ------------------------------------------------------------ */

/* An RSA 2048 private key (the run's cached one, test_keys.h), or a fresh
 * EC P-256 key, as PEM: PKCS#1 ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE
 * KEY"). Free with free(). */
static char *gen_pem(int pkcs1, int rsa) {
  EVP_PKEY *pk = rsa ? tk_rsa(2048, 0) : EVP_EC_gen("P-256");
  BIO *b = BIO_new(BIO_s_mem());
  char *data, *out;
  long n;
  cr_assert_not_null(pk);
  if (pkcs1)
    cr_assert(
        PEM_write_bio_PrivateKey_traditional(b, pk, NULL, NULL, 0, NULL, NULL));
  else
    cr_assert(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL));
  n = BIO_get_mem_data(b, &data);
  out = malloc((size_t)n + 1);
  cr_assert_not_null(out);
  memcpy(out, data, (size_t)n);
  out[n] = '\0';
  BIO_free(b);
  EVP_PKEY_free(pk);
  return out;
}

static char *public_pem_of(const char *priv_pem) {
  BIO *in = BIO_new_mem_buf(priv_pem, -1), *b = BIO_new(BIO_s_mem());
  EVP_PKEY *pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
  char *data, *out;
  long n;
  cr_assert_not_null(pk);
  cr_assert(PEM_write_bio_PUBKEY(b, pk));
  n = BIO_get_mem_data(b, &data);
  out = strndup(data, (size_t)n);
  BIO_free(in);
  BIO_free(b);
  EVP_PKEY_free(pk);
  return out;
}

/* A complete key file as the Cloud console writes it. */
static cJSON *sa_json(const char *pem) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", "service_account");
  cJSON_AddStringToObject(o, "project_id", "demo-project");
  cJSON_AddStringToObject(o, "private_key_id", KID);
  cJSON_AddStringToObject(o, "private_key", pem);
  cJSON_AddStringToObject(o, "client_email", EMAIL);
  cJSON_AddStringToObject(o, "client_id", "104000000000000000001");
  cJSON_AddStringToObject(o, "token_uri", "http://127.0.0.1:1/token");
  cJSON_AddStringToObject(o, "universe_domain", "googleapis.com");
  return o;
}

static cJSON *parse_obj(const char *text) {
  cJSON *o = cJSON_Parse(text);
  cr_assert(cJSON_IsObject(o), "not a JSON object: %s", text);
  return o;
}

static void assert_str_member(const cJSON *o, const char *name,
                              const char *want) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  cr_assert(cJSON_IsString(v), "member %s missing or not a string", name);
  cr_assert_str_eq(v->valuestring, want, "member %s", name);
}

static void assert_num_member(const cJSON *o, const char *name, double want) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  cr_assert(cJSON_IsNumber(v), "member %s missing or not a number", name);
  cr_assert_eq(v->valuedouble, want, "member %s: %f, want %f", name,
               v->valuedouble, want);
}

static void assert_absent(const cJSON *o, const char *name) {
  cr_assert_null(cJSON_GetObjectItemCaseSensitive(o, name),
                 "member %s must be absent", name);
}

/* No line of the key's base64 body, and no canary, in text. */
static void assert_no_key(const char *text, const char *pem) {
  const char *line = strchr(pem, '\n');
  cr_assert_null(strstr(text, "CANARY"), "canary in: %s", text);
  cr_assert_null(strstr(text, "PRIVATE KEY"), "key in: %s", text);
  while (line != NULL && line[1] != '\0' && line[1] != '-') {
    char chunk[17];
    memcpy(chunk, line + 1, 16);
    chunk[16] = '\0';
    cr_assert_null(strstr(text, chunk), "key material in: %s", text);
    line = strchr(line + 1, '\n');
  }
}

/* ---- the key file -------------------------------------------------------- */

static void parse_ok(int pkcs1) {
  char *pem = gen_pem(pkcs1, 1);
  cJSON *j = sa_json(pem);
  gauth__sa_info info;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_AddStringToObject(j, "quota_project_id", "billing-project");
  cr_assert_eq(gauth__sa_info_parse(j, &info, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_str_eq(info.client_email, EMAIL);
  cr_assert_str_eq(info.private_key_id, KID);
  cr_assert_str_eq(info.token_uri, "http://127.0.0.1:1/token");
  cr_assert_str_eq(info.project_id, "demo-project");
  cr_assert_str_eq(info.universe_domain, "googleapis.com");
  cr_assert_str_eq(info.quota_project_id, "billing-project");
  cr_assert(gauth_key_is_private(info.key));
  cr_assert_eq(gauth_key_get_type(info.key), GAUTH_KEY_RSA);
  cr_assert_eq(gauth_key_bits(info.key), 2048);
  cr_assert_str_eq(gauth_key_kid(info.key), KID);
  gauth__sa_info_cleanup(&info);
  cr_assert_null(info.client_email);
  cJSON_Delete(j);
  free(pem);
}

Test(sa_file, pkcs8_key) { parse_ok(0); }
Test(sa_file, pkcs1_key) { parse_ok(1); }

Test(sa_file, optional_members_absent) {
  char *pem = gen_pem(0, 1);
  cJSON *j = sa_json(pem);
  gauth__sa_info info;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_DeleteItemFromObject(j, "token_uri");
  cJSON_DeleteItemFromObject(j, "project_id");
  cJSON_DeleteItemFromObject(j, "universe_domain");
  cJSON_AddNullToObject(j, "quota_project_id");
  cr_assert_eq(gauth__sa_info_parse(j, &info, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_null(info.token_uri);
  cr_assert_null(info.project_id);
  cr_assert_null(info.universe_domain);
  cr_assert_null(info.quota_project_id);
  gauth__sa_info_cleanup(&info);
  cJSON_Delete(j);
  free(pem);
}

static const char *const required[] = {"client_email", "private_key_id",
                                       "private_key"};
static const char *const optional[] = {"token_uri", "project_id",
                                       "universe_domain", "quota_project_id"};

Test(sa_file, each_missing_required_member_is_named) {
  char *pem = gen_pem(0, 1);
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(required); i++) {
    cJSON *j = sa_json(pem);
    gauth__sa_info info;
    gauth_error err = GAUTH_ERROR_INIT;
    char want[64];
    cJSON_DeleteItemFromObject(j, required[i]);
    cr_assert_eq(gauth__sa_info_parse(j, &info, &err), GAUTH_E_MALFORMED, "%s",
                 required[i]);
    snprintf(want, sizeof(want), "missing field \"%s\"", required[i]);
    cr_assert_not_null(strstr(err.message, want), "%s", err.message);
    cr_assert_null(info.client_email);
    cr_assert_null(info.key);
    assert_no_key(err.message, pem);
    cJSON_Delete(j);
  }
  free(pem);
}

Test(sa_file, each_mistyped_member_is_named) {
  char *pem = gen_pem(0, 1);
  const char *all[GAUTH__ARRAY_LEN(required) + GAUTH__ARRAY_LEN(optional)];
  size_t n = 0;
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(required); i++)
    all[n++] = required[i];
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(optional); i++)
    all[n++] = optional[i];
  for (size_t i = 0; i < n; i++) {
    cJSON *j = sa_json(pem);
    gauth__sa_info info;
    gauth_error err = GAUTH_ERROR_INIT;
    char want[96];
    cJSON_DeleteItemFromObject(j, all[i]);
    cJSON_AddNumberToObject(j, all[i], 42);
    cr_assert_eq(gauth__sa_info_parse(j, &info, &err), GAUTH_E_MALFORMED, "%s",
                 all[i]);
    snprintf(want, sizeof(want), "field \"%s\" is a number, expected a string",
             all[i]);
    cr_assert_not_null(strstr(err.message, want), "%s", err.message);
    cJSON_Delete(j);
  }
  free(pem);
}

Test(sa_file, each_empty_required_member_is_named) {
  char *pem = gen_pem(0, 1);
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(required); i++) {
    cJSON *j = sa_json(pem);
    gauth__sa_info info;
    gauth_error err = GAUTH_ERROR_INIT;
    char want[64];
    cJSON_ReplaceItemInObject(j, required[i], cJSON_CreateString(""));
    cr_assert_eq(gauth__sa_info_parse(j, &info, &err), GAUTH_E_MALFORMED);
    snprintf(want, sizeof(want), "field \"%s\" is empty", required[i]);
    cr_assert_str_eq(err.message, want);
    cJSON_Delete(j);
  }
  free(pem);
}

static void bad_key(const char *pem, const char *want, const char *secret) {
  cJSON *j = sa_json(pem);
  gauth__sa_info info;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__sa_info_parse(j, &info, &err), GAUTH_E_MALFORMED, "%s",
               err.message);
  cr_assert_not_null(strstr(err.message, want), "%s", err.message);
  cr_assert_null(info.key);
  assert_no_key(err.message, secret);
  cJSON_Delete(j);
}

Test(sa_file, private_key_not_pem) {
  bad_key("CANARY-not-a-key", "field \"private_key\"", "x\n");
}

Test(sa_file, private_key_corrupt_body_never_echoed) {
  char *pem = gen_pem(0, 1);
  char *bad = strdup(pem);
  /* Damage the base64 body in the middle: a canary inside the key. */
  memcpy(strchr(bad, '\n') + 200, "CANARY!!", 8);
  bad_key(bad, "field \"private_key\"", pem);
  free(bad);
  free(pem);
}

Test(sa_file, public_key_refused) {
  char *pem = gen_pem(0, 1);
  char *pub = public_pem_of(pem);
  bad_key(pub, "field \"private_key\" holds a public key or certificate", pem);
  free(pub);
  free(pem);
}

Test(sa_file, ec_key_refused) {
  char *pem = gen_pem(0, 0);
  bad_key(pem, "field \"private_key\" holds a non-RSA private key", pem);
  free(pem);
}

Test(sa_file, not_an_object) {
  gauth__sa_info info;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *a = cJSON_CreateArray();
  cr_assert_eq(gauth__sa_info_parse(a, &info, &err), GAUTH_E_MALFORMED);
  cJSON_Delete(a);
}

/* ---- claims builders ----------------------------------------------------- */

Test(sa_claims, access_assertion_exact) {
  char *text = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *o;
  cr_assert_eq(gauth__sa_access_claims(EMAIL, GAUTH__DEFAULT_TOKEN_URI,
                                       CLOUD " openid", NULL, NOW, &text, &err),
               GAUTH_OK, "%s", err.message);
  o = parse_obj(text);
  cr_assert_eq(cJSON_GetArraySize(o), 5, "%s", text);
  assert_str_member(o, "iss", EMAIL);
  assert_str_member(o, "aud", "https://oauth2.googleapis.com/token");
  assert_str_member(o, "scope", CLOUD " openid");
  assert_num_member(o, "iat", IAT);
  assert_num_member(o, "exp", EXP);
  assert_absent(o, "sub");
  assert_absent(o, "target_audience");
  /* iat is backdated a few seconds, exp is iat + 1 h. */
  cr_assert(GAUTH__ASSERTION_BACKDATE > 0 && GAUTH__ASSERTION_BACKDATE <= 60);
  cr_assert_eq(GAUTH__ASSERTION_LIFETIME, 3600);
  cJSON_Delete(o);
  free(text);
}

Test(sa_claims, access_assertion_with_subject) {
  char *text = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *o;
  cr_assert_eq(
      gauth__sa_access_claims(EMAIL, "http://127.0.0.1:1/token", CLOUD,
                              "developer@example.com", NOW, &text, &err),
      GAUTH_OK);
  o = parse_obj(text);
  cr_assert_eq(cJSON_GetArraySize(o), 6, "%s", text);
  assert_str_member(o, "iss", EMAIL);
  assert_str_member(o, "sub", "developer@example.com");
  assert_str_member(o, "aud", "http://127.0.0.1:1/token");
  assert_str_member(o, "scope", CLOUD);
  assert_num_member(o, "iat", IAT);
  assert_num_member(o, "exp", EXP);
  cJSON_Delete(o);
  free(text);
}

Test(sa_claims, id_assertion_exact) {
  char *text = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *o;
  cr_assert_eq(
      gauth__sa_id_claims(EMAIL, GAUTH__DEFAULT_TOKEN_URI,
                          "https://collector-xyz.a.run.app", NOW, &text, &err),
      GAUTH_OK);
  o = parse_obj(text);
  cr_assert_eq(cJSON_GetArraySize(o), 5, "%s", text);
  assert_str_member(o, "iss", EMAIL);
  assert_str_member(o, "aud", GAUTH__DEFAULT_TOKEN_URI);
  assert_str_member(o, "target_audience", "https://collector-xyz.a.run.app");
  assert_num_member(o, "iat", IAT);
  assert_num_member(o, "exp", EXP);
  assert_absent(o, "scope");
  assert_absent(o, "sub");
  cJSON_Delete(o);
  free(text);
}

Test(sa_claims, self_signed_with_scope) {
  char *text = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *o;
  cr_assert_eq(
      gauth__sa_self_signed_claims(EMAIL, CLOUD, NULL, NOW, &text, &err),
      GAUTH_OK);
  o = parse_obj(text);
  cr_assert_eq(cJSON_GetArraySize(o), 5, "%s", text);
  assert_str_member(o, "iss", EMAIL);
  assert_str_member(o, "sub", EMAIL);
  assert_str_member(o, "scope", CLOUD);
  assert_num_member(o, "iat", IAT);
  assert_num_member(o, "exp", EXP);
  assert_absent(o, "aud");
  cJSON_Delete(o);
  free(text);
}

Test(sa_claims, self_signed_with_audience) {
  char *text = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *o;
  cr_assert_eq(
      gauth__sa_self_signed_claims(
          EMAIL, CLOUD, "https://pubsub.googleapis.com/", NOW, &text, &err),
      GAUTH_OK);
  o = parse_obj(text);
  cr_assert_eq(cJSON_GetArraySize(o), 5, "%s", text);
  assert_str_member(o, "iss", EMAIL);
  assert_str_member(o, "sub", EMAIL);
  assert_str_member(o, "aud", "https://pubsub.googleapis.com/");
  assert_absent(o, "scope");
  assert_num_member(o, "iat", IAT);
  assert_num_member(o, "exp", EXP);
  cJSON_Delete(o);
  free(text);
}

Test(sa_claims, null_arguments) {
  char *text = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      gauth__sa_access_claims(EMAIL, NULL, CLOUD, NULL, NOW, &text, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__sa_id_claims(EMAIL, GAUTH__DEFAULT_TOKEN_URI, NULL, NOW,
                                   &text, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(
      gauth__sa_self_signed_claims(EMAIL, NULL, NULL, NOW, &text, &err),
      GAUTH_E_INVALID_ARG);
  cr_assert_null(text);
}

Test(sa_claims, token_body_exact) {
  char *body = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__sa_token_body("eyJh.eyJp.c2ln-_", &body, &err), GAUTH_OK);
  cr_assert_str_eq(body,
                   "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3A"
                   "jwt-bearer&assertion=eyJh.eyJp.c2ln-_");
  gauth__secret_strfree(body);
}

Test(sa_claims, self_signed_decision) {
  cr_assert_eq(
      gauth__sa_use_self_signed(GAUTH_SELF_SIGNED_JWT_ALWAYS, "googleapis.com"),
      1);
  cr_assert_eq(
      gauth__sa_use_self_signed(GAUTH_SELF_SIGNED_JWT_AUTO, "googleapis.com"),
      0);
  cr_assert_eq(gauth__sa_use_self_signed(GAUTH_SELF_SIGNED_JWT_AUTO,
                                         "example-universe.net"),
               1);
  cr_assert_eq(gauth__sa_use_self_signed(GAUTH_SELF_SIGNED_JWT_NEVER,
                                         "example-universe.net"),
               0);
}

/* ---- the credential, no network ------------------------------------------ */

static int64_t fixed_clock(void *ud) {
  (void)ud;
  return NOW;
}

static gauth_credentials *make_creds(const char *pem, int self_signed,
                                     const char *jwt_audience,
                                     const char *universe) {
  cJSON *j = sa_json(pem);
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *text;
  co.self_signed_jwt = self_signed;
  co.jwt_audience = jwt_audience;
  co.clock = fixed_clock;
  if (universe != NULL)
    cJSON_ReplaceItemInObject(j, "universe_domain",
                              cJSON_CreateString(universe));
  text = cJSON_PrintUnformatted(j);
  cr_assert_eq(gauth_credentials_from_json(&c, text, strlen(text), &co, &err),
               GAUTH_OK, "%s", err.message);
  free(text);
  cJSON_Delete(j);
  return c;
}

/* Verifies token with the public part of pem; returns its claims. */
static cJSON *verify_with(const char *token, const char *pem, cJSON **hdr) {
  gauth_key *k = NULL;
  gauth_keyset *ks = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *payload = NULL, *h = NULL;
  cJSON *o;
  cr_assert_eq(gauth_key_from_pem(&k, pem, strlen(pem), &err), GAUTH_OK);
  cr_assert_eq(gauth_keyset_from_keys(&ks, &k, 1, &err), GAUTH_OK);
  cr_assert_eq(gauth_jws_verify(token, 0, ks, GAUTH_ALG_BIT(GAUTH_ALG_RS256),
                                &payload, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_jwt_decode_unverified(token, &h, NULL, &err), GAUTH_OK);
  *hdr = parse_obj(h);
  o = parse_obj(payload);
  gauth_free(payload);
  gauth_free(h);
  gauth_keyset_free(ks);
  gauth_key_free(k);
  return o;
}

static void assert_header(const cJSON *h) {
  cr_assert_eq(cJSON_GetArraySize(h), 3);
  assert_str_member(h, "alg", "RS256");
  assert_str_member(h, "typ", "JWT");
  assert_str_member(h, "kid", KID);
}

Test(sa_creds, self_signed_always_scope) {
  char *pem = gen_pem(1, 1);
  gauth_credentials *c =
      make_creds(pem, GAUTH_SELF_SIGNED_JWT_ALWAYS, NULL, NULL);
  const char *scopes[] = {CLOUD, "openid", NULL};
  char *tok = NULL;
  int64_t exp = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *h, *o;
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(exp, EXP);
  o = verify_with(tok, pem, &h);
  assert_header(h);
  cr_assert_eq(cJSON_GetArraySize(o), 5);
  assert_str_member(o, "iss", EMAIL);
  assert_str_member(o, "sub", EMAIL);
  assert_str_member(o, "scope", CLOUD " openid");
  assert_num_member(o, "iat", IAT);
  assert_num_member(o, "exp", EXP);
  cJSON_Delete(h);
  cJSON_Delete(o);
  gauth_free(tok);
  gauth_credentials_free(c);
  free(pem);
}

Test(sa_creds, self_signed_auto_other_universe_audience) {
  char *pem = gen_pem(0, 1);
  gauth_credentials *c = make_creds(pem, GAUTH_SELF_SIGNED_JWT_AUTO,
                                    "https://pubsub.example-universe.net/",
                                    "example-universe.net");
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *h, *o;
  /* No request: the token URI points at a closed port. */
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  o = verify_with(tok, pem, &h);
  assert_header(h);
  cr_assert_eq(cJSON_GetArraySize(o), 5);
  assert_str_member(o, "aud", "https://pubsub.example-universe.net/");
  assert_str_member(o, "iss", EMAIL);
  assert_str_member(o, "sub", EMAIL);
  assert_absent(o, "scope");
  cJSON_Delete(h);
  cJSON_Delete(o);
  gauth_free(tok);
  gauth_credentials_free(c);
  free(pem);
}

Test(sa_creds, identity_and_local_signing) {
  char *pem = gen_pem(1, 1);
  gauth_credentials *c =
      make_creds(pem, GAUTH_SELF_SIGNED_JWT_NEVER, NULL, NULL);
  gauth_error err = GAUTH_ERROR_INIT;
  char *s = NULL, *kid = NULL, *jwt = NULL;
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  gauth_key *k = NULL;
  cJSON *h, *o;

  cr_assert_eq(gauth_credentials_get_type(c),
               GAUTH_CREDENTIALS_SERVICE_ACCOUNT);
  cr_assert_str_eq(gauth_credentials_origin(c), "JSON");
  cr_assert_eq(gauth_credentials_email(c, &s, &err), GAUTH_OK);
  cr_assert_str_eq(s, EMAIL);
  gauth_free(s);
  cr_assert_eq(gauth_credentials_project_id(c, &s, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_str_eq(s, "demo-project");
  gauth_free(s);

  cr_assert_eq(
      gauth_credentials_sign_blob(c, "hello", 5, &sig, &sig_len, &kid, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_eq(sig_len, 256);
  cr_assert_str_eq(kid, KID);
  cr_assert_eq(gauth_key_from_pem(&k, pem, strlen(pem), &err), GAUTH_OK);
  cr_assert_eq(
      gauth_key_verify(k, GAUTH_ALG_RS256, "hello", 5, sig, sig_len, &err),
      GAUTH_OK, "%s", err.message);
  cr_assert_neq(
      gauth_key_verify(k, GAUTH_ALG_RS256, "hellO", 5, sig, sig_len, &err),
      GAUTH_OK);
  gauth_key_free(k);
  gauth_free(sig);
  gauth_free(kid);

  cr_assert_eq(
      gauth_credentials_sign_jwt(c, "{\"iss\":\"x\",\"n\":1}", &jwt, &err),
      GAUTH_OK, "%s", err.message);
  o = verify_with(jwt, pem, &h);
  assert_header(h);
  cr_assert_eq(cJSON_GetArraySize(o), 2);
  assert_str_member(o, "iss", "x");
  assert_num_member(o, "n", 1);
  cJSON_Delete(h);
  cJSON_Delete(o);
  gauth_free(jwt);
  gauth_credentials_free(c);
  free(pem);
}

Test(sa_creds, quota_project_from_file_and_options) {
  char *pem = gen_pem(0, 1);
  cJSON *j = sa_json(pem);
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *text;
  cJSON_AddStringToObject(j, "quota_project_id", "file-quota");
  text = cJSON_PrintUnformatted(j);
  cr_assert_eq(gauth_credentials_from_json(&c, text, strlen(text), NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "file-quota");
  gauth_credentials_free(c);
  co.quota_project = "option-quota";
  cr_assert_eq(gauth_credentials_from_json(&c, text, strlen(text), &co, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "option-quota");
  gauth_credentials_free(c);
  free(text);
  cJSON_Delete(j);
  free(pem);
}

Test(sa_creds, always_with_subject_refused) {
  char *pem = gen_pem(0, 1);
  cJSON *j = sa_json(pem);
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *text = cJSON_PrintUnformatted(j);
  co.self_signed_jwt = GAUTH_SELF_SIGNED_JWT_ALWAYS;
  co.subject = "developer@example.com";
  cr_assert_eq(gauth_credentials_from_json(&c, text, strlen(text), &co, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(c);
  cr_assert_not_null(strstr(err.message, "subject"), "%s", err.message);
  free(text);
  cJSON_Delete(j);
  free(pem);
}

/* ---- credentials files --------------------------------------------------- */

static gauth_status from_text(const char *text, gauth_error *err) {
  gauth_credentials *c = NULL;
  gauth_status st =
      gauth_credentials_from_json(&c, text, strlen(text), NULL, err);
  cr_assert_eq(st == GAUTH_OK, c != NULL);
  gauth_credentials_free(c);
  return st;
}

Test(cred_file, type_dispatch_errors) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_text("{\"client_email\":\"a@b\"}", &err),
               GAUTH_E_MALFORMED);
  cr_assert_str_eq(err.message, "missing field \"type\"");
  cr_assert_eq(from_text("{\"type\":7}", &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "\"type\""), "%s", err.message);
  cr_assert_eq(from_text("{\"type\":\"gdch_service_account\"}", &err),
               GAUTH_E_UNSUPPORTED);
  cr_assert_not_null(strstr(err.message, "\"gdch_service_account\""), "%s",
                     err.message);
  cr_assert_eq(from_text("[1]", &err), GAUTH_E_MALFORMED);
  cr_assert_eq(from_text("{\"type\":\"service_account\",", &err),
               GAUTH_E_MALFORMED);
}

Test(cred_file, too_large) {
  size_t n = GAUTH__CREDENTIALS_FILE_MAX_BYTES + 1;
  char *big = malloc(n + 1);
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  memset(big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  big[n] = '\0';
  cr_assert_eq(gauth_credentials_from_json(&c, big, n, NULL, &err),
               GAUTH_E_TOO_LARGE);
  free(big);
}

Test(cred_file, errors_never_hold_the_key) {
  char *pem = gen_pem(0, 1);
  cJSON *j = sa_json(pem);
  gauth_error err = GAUTH_ERROR_INIT;
  char *text;
  /* A bad member next to a good key. */
  cJSON_ReplaceItemInObject(j, "client_email", cJSON_CreateNumber(1));
  text = cJSON_PrintUnformatted(j);
  cr_assert_eq(from_text(text, &err), GAUTH_E_MALFORMED);
  cr_assert_str_eq(err.message,
                   "service account key: field \"client_email\" "
                   "is a number, expected a string");
  assert_no_key(err.message, pem);
  /* Cut half-way through the key: a JSON syntax error. */
  text[strlen(text) / 2] = '\0';
  cr_assert_eq(from_text(text, &err), GAUTH_E_MALFORMED);
  assert_no_key(err.message, pem);
  free(text);
  /* An unknown type carrying a key. */
  cJSON_ReplaceItemInObject(j, "type", cJSON_CreateString("CANARY_type"));
  text = cJSON_PrintUnformatted(j);
  cr_assert_eq(from_text(text, &err), GAUTH_E_UNSUPPORTED);
  cr_assert_not_null(strstr(err.message, "is not supported"));
  cr_assert_null(strstr(err.message, "PRIVATE"));
  free(text);
  cJSON_Delete(j);
  free(pem);
}

Test(cred_file, file_errors_name_the_path) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char path[] = "/tmp/gauth-cred-XXXXXX";
  int fd;
  cr_assert_eq(
      gauth_credentials_from_file(&c, "/nonexistent/dir/key.json", NULL, &err),
      GAUTH_E_IO);
  cr_assert_not_null(strstr(err.message, "/nonexistent/dir/key.json"), "%s",
                     err.message);
  cr_assert_not_null(strstr(err.message, "No such file or directory"), "%s",
                     err.message);
  fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, "{\"type\":\"authorized_user\"}", 26), 26);
  close(fd);
  cr_assert_eq(gauth_credentials_from_file(&c, path, NULL, &err),
               GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, path), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "missing field \"client_id\""), "%s",
                     err.message);
  cr_assert_null(c);
  unlink(path);
  cr_assert_eq(gauth_credentials_from_file(NULL, path, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth_credentials_from_file(&c, "", NULL, &err),
               GAUTH_E_INVALID_ARG);
}

Test(cred_file, file_over_64k_refused) {
  char path[] = "/tmp/gauth-cred-XXXXXX";
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t n = GAUTH__CREDENTIALS_FILE_MAX_BYTES + 1;
  char *big = malloc(n);
  int fd = mkstemp(path);
  memset(big, ' ', n);
  cr_assert_eq(write(fd, big, n), (ssize_t)n);
  close(fd);
  cr_assert_eq(gauth_credentials_from_file(&c, path, NULL, &err),
               GAUTH_E_TOO_LARGE);
  cr_assert_not_null(strstr(err.message, path), "%s", err.message);
  unlink(path);
  free(big);
}
