/* gauth-emulator: Google's OAuth 2.0 token endpoint (POST /token: the
 * jwt-bearer and refresh-token grants) and its key sets (/oauth2/v3/certs,
 * a JWKS, and /oauth2/v1/certs, a map of kid to X.509 certificate).
 *
 * The token endpoint checks an assertion as strictly as Google does and no
 * more: clients nobody here wrote (python-google-auth pads its base64url,
 * google-auth-library sends no kid and its own aud) must work against it,
 * and every refusal carries Google's exact error and description. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* gmtime_r, strdup */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "emulator.h"

#define JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define GOOGLE_TOKEN_URI "https://oauth2.googleapis.com/token"
#define JSON_UTF8 "application/json; charset=UTF-8"

/* Google's error descriptions, word for word: clients and people search
 * for them. */
#define E_SIGNATURE "Invalid JWT Signature."
#define E_TIMEFRAME                                                       \
  "Invalid JWT: Token must be a short-lived token (60 minutes) and in a " \
  "reasonable timeframe. Check your iat and exp values in the JWT claim."
#define E_AUDIENCE \
  "Invalid JWT: Failed audience check. The right audience is " GOOGLE_TOKEN_URI
#define E_NO_ACCOUNT "Invalid grant: account not found"
#define E_SCOPE "Invalid OAuth scope or ID token audience provided."
#define E_SUBJECT "Invalid email or User ID"

/* Scopes granted to a configured user's refresh token (what gcloud's
 * application-default login asks for); "openid" is why an id_token comes
 * back with the access token. */
#define USER_SCOPES          \
  GAUTH_SCOPE_CLOUD_PLATFORM \
  " openid "                 \
  "https://www.googleapis.com/auth/userinfo.email"

/* ---- the assertion ------------------------------------------------------ */

typedef struct assertion {
  cJSON *header;
  cJSON *claims;
  /* Where the segments are in the token, for the signature check. */
  size_t signing_input_len; /* header.payload */
  const char *sig_b64;
  size_t sig_b64_len;
} assertion;

static void assertion_free(assertion *a) {
  cJSON_Delete(a->header);
  cJSON_Delete(a->claims);
}

/* Splits and decodes a compact JWS, padded or not. 0 when it is not one. */
static int assertion_parse(const char *token, assertion *a) {
  memset(a, 0, sizeof *a);
  const char *d1 = strchr(token, '.');
  const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  if (d2 == NULL || strchr(d2 + 1, '.') != NULL) return 0;
  size_t hl, pl;
  unsigned char *h = emu_b64_decode_lenient(token, (size_t)(d1 - token), &hl);
  unsigned char *p = emu_b64_decode_lenient(d1 + 1, (size_t)(d2 - d1 - 1), &pl);
  if (h != NULL && p != NULL) {
    a->header = cJSON_ParseWithLength((const char *)h, hl);
    a->claims = cJSON_ParseWithLength((const char *)p, pl);
  }
  free(h);
  free(p);
  a->signing_input_len = (size_t)(d2 - token);
  a->sig_b64 = d2 + 1;
  a->sig_b64_len = strlen(d2 + 1);
  if (!cJSON_IsObject(a->header) || !cJSON_IsObject(a->claims)) {
    assertion_free(a);
    return 0;
  }
  return 1;
}

/* The signature over the segments exactly as sent (padding included: that
 * is what a padding client signed), with the account's key named by kid,
 * or any of its keys when there is no kid. Only for tokens that libgauth's
 * strict parser refused. */
static int assertion_verify_lenient(const char *token, const assertion *a,
                                    const gauth_keyset *keys) {
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(a->header, "alg");
  if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0) return 0;
  const cJSON *kid = cJSON_GetObjectItemCaseSensitive(a->header, "kid");
  if (kid != NULL && !cJSON_IsString(kid)) return 0;
  size_t sig_len;
  unsigned char *sig =
      emu_b64_decode_lenient(a->sig_b64, a->sig_b64_len, &sig_len);
  if (sig == NULL) return 0;
  int ok = 0;
  for (size_t i = 0; !ok && i < gauth_keyset_count(keys); i++) {
    const gauth_key *k = gauth_keyset_get(keys, i);
    const char *k_kid = gauth_key_kid(k);
    if (kid != NULL && k_kid != NULL && strcmp(k_kid, kid->valuestring) != 0)
      continue;
    ok = gauth_key_verify(k, GAUTH_ALG_RS256, token, a->signing_input_len, sig,
                          sig_len, NULL) == GAUTH_OK;
  }
  free(sig);
  return ok;
}

static int claim_int(const cJSON *claims, const char *name, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
  if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
    return 0;
  *out = (int64_t)v->valuedouble;
  return 1;
}

static const char *claim_str(const cJSON *claims, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
  return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

/* Google accepts its current token URI, the legacy ones, and (for us) the
 * emulator's own. */
static int audience_ok(emu *e, const char *aud) {
  static const char *const google[] = {
      GOOGLE_TOKEN_URI, "https://www.googleapis.com/oauth2/v4/token",
      "https://accounts.google.com/o/oauth2/token", NULL};
  if (aud == NULL) return 0;
  for (size_t i = 0; google[i] != NULL; i++)
    if (strcmp(aud, google[i]) == 0) return 1;
  const char *base = emu_base_url(e);
  size_t n = strlen(base);
  return strncmp(aud, base, n) == 0 && strcmp(aud + n, "/token") == 0;
}

/* {"access_token","expires_in"[,"scope"],"token_type"}, Google's order.
 * Takes and wipes token. */
static cJSON *access_token_reply(char *token, const char *scope) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "access_token", token);
  cJSON_AddNumberToObject(o, "expires_in", 3599);
  if (scope != NULL) cJSON_AddStringToObject(o, "scope", scope);
  cJSON_AddStringToObject(o, "token_type", "Bearer");
  OPENSSL_cleanse(token, strlen(token));
  free(token);
  return o;
}

static void grant_jwt_bearer(emu *e, const emu_request *req,
                             emu_response *resp) {
  char *token = emu_req_form(req, "assertion");
  if (token == NULL || token[0] == '\0') {
    emu_reply_oauth_missing(resp, "assertion");
    free(token);
    return;
  }
  assertion a;
  if (!assertion_parse(token, &a)) {
    emu_reply_oauth_error(resp, 400, "invalid_grant",
                          "Invalid JWT: not a well-formed JWS.");
    OPENSSL_cleanse(token, strlen(token));
    free(token);
    return;
  }
  const char *iss = claim_str(a.claims, "iss");
  const emu_account *acct = iss ? emu_account_find(e, iss) : NULL;
  if (acct == NULL) {
    emu_reply_oauth_error(resp, 400, "invalid_grant", E_NO_ACCOUNT);
    goto done;
  }
  snprintf(resp->principal, sizeof resp->principal, "%s", acct->email);
  if (emu_account_disabled(e, acct->email)) {
    emu_reply_oauth_error(resp, 400, "invalid_grant", "Robot is disabled.");
    goto done;
  }

  gauth_error err = GAUTH_ERROR_INIT;
  int sig_ok = gauth_jws_verify(token, 0, acct->public_keys,
                                GAUTH_ALG_BIT(GAUTH_ALG_RS256), NULL, NULL,
                                &err) == GAUTH_OK;
  /* libgauth refuses padded base64url as malformed; Google does not. */
  if (!sig_ok && strcmp(err.reason, GAUTH_REASON_MALFORMED) == 0 &&
      strchr(token, '=') != NULL)
    sig_ok = assertion_verify_lenient(token, &a, acct->public_keys);
  if (!sig_ok) {
    emu_reply_oauth_error(resp, 400, "invalid_grant", E_SIGNATURE);
    goto done;
  }

  const cJSON *aud = cJSON_GetObjectItemCaseSensitive(a.claims, "aud");
  if (!audience_ok(e, cJSON_IsString(aud) ? aud->valuestring : NULL)) {
    emu_reply_oauth_error(resp, 400, "invalid_grant", E_AUDIENCE);
    goto done;
  }

  int64_t iat, exp, now = emu_now(e);
  if (!claim_int(a.claims, "iat", &iat) || !claim_int(a.claims, "exp", &exp) ||
      exp <= iat || exp - iat > 3600 || exp <= now || iat > now + 300 ||
      iat < now - 300) {
    emu_reply_oauth_error(resp, 400, "invalid_grant", E_TIMEFRAME);
    goto done;
  }

  const char *scope = claim_str(a.claims, "scope");
  const char *target = claim_str(a.claims, "target_audience");
  if (target != NULL) {
    /* Both present: Google answers with an ID token, and so do we. */
    char *id = emu_mint_id_token(e, acct->email, target, 1);
    if (id == NULL) {
      emu_reply_oauth_error(resp, 500, "internal_failure",
                            "Could not mint an ID token.");
      goto done;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id_token", id);
    gauth_free(id);
    emu_reply_json(resp, 200, o);
  } else if (scope != NULL) {
    /* Domain-wide delegation: "sub" names the user the account acts as;
     * the token is that user's (every account here is allowed to). */
    const char *sub = claim_str(a.claims, "sub");
    if (sub != NULL && strchr(sub, '@') == NULL) {
      emu_reply_oauth_error(resp, 400, "invalid_grant", E_SUBJECT);
      goto done;
    }
    char *at =
        emu_mint_access_token(e, sub != NULL ? sub : acct->email, scope, 3600);
    if (at == NULL) {
      emu_reply_oauth_error(resp, 500, "internal_failure",
                            "Could not mint an access token.");
      goto done;
    }
    emu_reply_json(resp, 200, access_token_reply(at, NULL));
  } else {
    emu_reply_oauth_error(resp, 400, "invalid_scope", E_SCOPE);
  }
done:
  assertion_free(&a);
  OPENSSL_cleanse(token, strlen(token));
  free(token);
}

static int secret_eq(const char *a, const char *b) {
  size_t n = strlen(a);
  return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

static void grant_refresh_token(emu *e, const emu_request *req,
                                emu_response *resp) {
  char *rt = emu_req_form(req, "refresh_token");
  char *id = emu_req_form(req, "client_id");
  char *secret = emu_req_form(req, "client_secret");
  const emu_user *u = NULL;
  if (rt == NULL || rt[0] == '\0') {
    emu_reply_oauth_missing(resp, "refresh_token");
  } else if ((u = emu_user_find_by_refresh_token(e, rt)) == NULL) {
    emu_reply_oauth_error(resp, 400, "invalid_grant", "Bad Request");
  } else if (id == NULL || strcmp(id, u->client_id) != 0) {
    emu_reply_oauth_error(resp, 401, "invalid_client",
                          "The OAuth client was not found.");
  } else if (secret == NULL || !secret_eq(secret, u->client_secret)) {
    emu_reply_oauth_error(resp, 401, "invalid_client", "Unauthorized");
  } else {
    snprintf(resp->principal, sizeof resp->principal, "%s", u->email);
    char *at = emu_mint_access_token(e, u->email, USER_SCOPES, 3600);
    char *idt = emu_mint_id_token(e, u->email, u->client_id, 1);
    if (at == NULL || idt == NULL) {
      emu_reply_oauth_error(resp, 500, "internal_failure",
                            "Could not mint a token.");
      free(at);
    } else {
      cJSON *o = access_token_reply(at, USER_SCOPES);
      cJSON_AddStringToObject(o, "id_token", idt);
      emu_reply_json(resp, 200, o);
    }
    gauth_free(idt);
  }
  if (rt != NULL) OPENSSL_cleanse(rt, strlen(rt));
  if (secret != NULL) OPENSSL_cleanse(secret, strlen(secret));
  free(rt);
  free(id);
  free(secret);
}

static void route_token(emu *e, const emu_request *req, emu_response *resp) {
  if (strcmp(req->method, "POST") != 0) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  char *grant = emu_req_form(req, "grant_type");
  if (grant != NULL && strcmp(grant, JWT_BEARER) == 0) {
    grant_jwt_bearer(e, req, resp);
  } else if (grant != NULL && strcmp(grant, "refresh_token") == 0) {
    grant_refresh_token(e, req, resp);
  } else {
    char desc[300];
    snprintf(desc, sizeof desc, "Invalid grant_type: %.200s",
             grant ? grant : "");
    emu_reply_oauth_error(resp, 400, "unsupported_grant_type", desc);
  }
  free(grant);
}

/* ---- key sets ----------------------------------------------------------- */

/* Google's key sets carry a public max-age (about 5.5 hours for the real
 * ones): verifiers cache by it. */
static void certs_headers(emu *e, emu_response *resp) {
  char cc[96];
  snprintf(cc, sizeof cc,
           "public, max-age=%ld, must-revalidate, "
           "no-transform",
           emu_signing_keys_max_age(e));
  emu_reply_header(resp, "Cache-Control", cc);
}

static void route_certs_v3(emu *e, emu_response *resp) {
  gauth_keyset *keys = emu_signing_keys(e);
  char *jwks = NULL;
  if (keys == NULL || gauth_keyset_to_jwks(keys, &jwks, NULL) != GAUTH_OK) {
    emu_reply_google_error(resp, 500, "INTERNAL", "No signing keys.");
  } else {
    emu_reply_text(resp, 200, JSON_UTF8, jwks);
    certs_headers(e, resp);
  }
  gauth_free(jwks);
  gauth_keyset_free(keys);
}

/* The same keys as self-signed X.509 certificates, which is what Google
 * serves there (python-google-auth's verify_token reads only this one). */
static void route_certs_v1(emu *e, emu_response *resp) {
  char *map = emu_signing_certs_json(e);
  if (map == NULL) {
    emu_reply_google_error(resp, 500, "INTERNAL",
                           "Could not build the certificates.");
  } else {
    emu_reply_text(resp, 200, JSON_UTF8, map);
    certs_headers(e, resp);
  }
  free(map);
}

/* ---- tokeninfo ------------------------------------------------------------
 */

/* Google's answer to a token it does not take (unknown, expired, forged). */
static void reply_invalid_token(emu_response *resp) {
  emu_reply_oauth_error(resp, 400, "invalid_token", "Invalid Value");
}

/* An access token's info, Google's members, numbers as strings. */
static void tokeninfo_access(emu *e, const char *token, emu_response *resp) {
  char email[256], scopes[1024], num[32];
  int64_t exp = 0, now = emu_now(e);
  const emu_account *acct;
  cJSON *o;
  if (!emu_access_token_info(e, token, email, sizeof email, scopes,
                             sizeof scopes, &exp) ||
      exp <= now) {
    reply_invalid_token(resp);
    return;
  }
  o = cJSON_CreateObject();
  acct = emu_account_find(e, email);
  if (acct != NULL) {
    /* A service account's tokens name its OAuth client: its unique id. */
    cJSON_AddStringToObject(o, "azp", acct->unique_id);
    cJSON_AddStringToObject(o, "aud", acct->unique_id);
    cJSON_AddStringToObject(o, "sub", acct->unique_id);
  }
  cJSON_AddStringToObject(o, "scope", scopes);
  snprintf(num, sizeof num, "%lld", (long long)exp);
  cJSON_AddStringToObject(o, "exp", num);
  snprintf(num, sizeof num, "%lld", (long long)(exp - now));
  cJSON_AddStringToObject(o, "expires_in", num);
  cJSON_AddStringToObject(o, "email", email);
  cJSON_AddStringToObject(o, "email_verified", "true");
  cJSON_AddStringToObject(o, "access_type", "online");
  emu_reply_json(resp, 200, o);
  snprintf(resp->principal, sizeof resp->principal, "%s", email);
}

/* An ID token's claims, once its signature (the emulator's keys), issuer
 * and expiry check out; every value as a string, as Google gives them. */
static void tokeninfo_id(emu *e, const char *token, emu_response *resp) {
  gauth_keyset *keys = emu_signing_keys(e);
  char *payload = NULL;
  cJSON *claims = NULL, *o, *it;
  const cJSON *iss, *exp;
  if (keys == NULL ||
      gauth_jws_verify(token, 0, keys, GAUTH_ALG_BIT(GAUTH_ALG_RS256), &payload,
                       NULL, NULL) != GAUTH_OK ||
      (claims = cJSON_Parse(payload)) == NULL) {
    gauth_keyset_free(keys);
    gauth_free(payload);
    reply_invalid_token(resp);
    return;
  }
  gauth_keyset_free(keys);
  gauth_free(payload);
  iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
  exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
  if (!cJSON_IsString(iss) ||
      (strcmp(iss->valuestring, "https://accounts.google.com") != 0 &&
       strcmp(iss->valuestring, "accounts.google.com") != 0) ||
      !cJSON_IsNumber(exp) || (int64_t)exp->valuedouble <= emu_now(e)) {
    cJSON_Delete(claims);
    reply_invalid_token(resp);
    return;
  }
  o = cJSON_CreateObject();
  cJSON_ArrayForEach(it, claims) {
    char num[32];
    if (cJSON_IsString(it)) {
      cJSON_AddStringToObject(o, it->string, it->valuestring);
    } else if (cJSON_IsNumber(it)) {
      snprintf(num, sizeof num, "%.0f", it->valuedouble);
      cJSON_AddStringToObject(o, it->string, num);
    } else if (cJSON_IsBool(it)) {
      cJSON_AddStringToObject(o, it->string,
                              cJSON_IsTrue(it) ? "true" : "false");
    }
  }
  cJSON_Delete(claims);
  /* Google adds the header's alg, kid and typ. */
  {
    size_t hl = strcspn(token, "."), n = 0;
    unsigned char *h = emu_b64_decode_lenient(token, hl, &n);
    cJSON *hj = h != NULL ? cJSON_Parse((const char *)h) : NULL;
    static const char *const names[] = {"alg", "kid", "typ"};
    for (int i = 0; i < 3; i++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(hj, names[i]);
      if (cJSON_IsString(v))
        cJSON_AddStringToObject(o, names[i], v->valuestring);
    }
    cJSON_Delete(hj);
    free(h);
  }
  emu_reply_json(resp, 200, o);
}

/* GET or POST /tokeninfo (oauth2.googleapis.com) and /oauth2/v3/tokeninfo
 * (www.googleapis.com): ?access_token= or ?id_token=, in the query or a
 * form body. */
static void route_tokeninfo(emu *e, const emu_request *req,
                            emu_response *resp) {
  char *at = NULL, *id = NULL;
  const char *q;
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  if ((q = emu_req_query(req, "access_token")) != NULL) at = strdup(q);
  if ((q = emu_req_query(req, "id_token")) != NULL) id = strdup(q);
  if (at == NULL && id == NULL && strcmp(req->method, "POST") == 0) {
    at = emu_req_form(req, "access_token");
    id = emu_req_form(req, "id_token");
  }
  if (at != NULL && at[0] != '\0')
    tokeninfo_access(e, at, resp);
  else if (id != NULL && id[0] != '\0')
    tokeninfo_id(e, id, resp);
  else
    emu_reply_oauth_error(resp, 400, "invalid_request",
                          "either access_token, id_token, or token_handle "
                          "required");
  if (at != NULL) {
    OPENSSL_cleanse(at, strlen(at));
    free(at);
  }
  if (id != NULL) {
    OPENSSL_cleanse(id, strlen(id));
    free(id);
  }
}

/* GET /.well-known/openid-configuration: Google's OIDC discovery document
 * (https://accounts.google.com/.well-known/openid-configuration, Google's
 * OpenID Connect reference), with Google's URLs as Google serves them: a
 * client's endpoint override (GAUTH_ENDPOINT) brings the key set here. */
static void route_discovery(emu *e, emu_response *resp) {
  static const char *const doc =
      "{\"issuer\":\"https://accounts.google.com\","
      "\"authorization_endpoint\":"
      "\"https://accounts.google.com/o/oauth2/v2/auth\","
      "\"device_authorization_endpoint\":"
      "\"https://oauth2.googleapis.com/device/code\","
      "\"token_endpoint\":\"https://oauth2.googleapis.com/token\","
      "\"userinfo_endpoint\":"
      "\"https://openidconnect.googleapis.com/v1/userinfo\","
      "\"revocation_endpoint\":\"https://oauth2.googleapis.com/revoke\","
      "\"jwks_uri\":\"https://www.googleapis.com/oauth2/v3/certs\","
      "\"response_types_supported\":[\"code\",\"token\",\"id_token\","
      "\"code token\",\"code id_token\",\"token id_token\","
      "\"code token id_token\",\"none\"],"
      "\"subject_types_supported\":[\"public\"],"
      "\"id_token_signing_alg_values_supported\":[\"RS256\"],"
      "\"scopes_supported\":[\"openid\",\"email\",\"profile\"],"
      "\"token_endpoint_auth_methods_supported\":[\"client_secret_post\","
      "\"client_secret_basic\"],"
      "\"claims_supported\":[\"aud\",\"email\",\"email_verified\",\"exp\","
      "\"family_name\",\"given_name\",\"iat\",\"iss\",\"name\","
      "\"picture\",\"sub\"],"
      "\"code_challenge_methods_supported\":[\"plain\",\"S256\"],"
      "\"grant_types_supported\":[\"authorization_code\",\"refresh_token\","
      "\"urn:ietf:params:oauth:grant-type:device_code\","
      "\"urn:ietf:params:oauth:grant-type:jwt-bearer\"]}";
  (void)e;
  emu_reply_text(resp, 200, JSON_UTF8, doc);
  emu_reply_header(resp, "Cache-Control", "public, max-age=3600");
}

int emu_route_oauth(emu *e, const emu_request *req, emu_response *resp) {
  if (strcmp(req->path, "/.well-known/openid-configuration") == 0) {
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
      emu_reply_method_not_allowed(resp);
    else
      route_discovery(e, resp);
    return 1;
  }
  if (strcmp(req->path, "/token") == 0) {
    route_token(e, req, resp);
    return 1;
  }
  if (strcmp(req->path, "/tokeninfo") == 0 ||
      strcmp(req->path, "/oauth2/v3/tokeninfo") == 0) {
    route_tokeninfo(e, req, resp);
    return 1;
  }
  int v3 = strcmp(req->path, "/oauth2/v3/certs") == 0;
  int v1 = strcmp(req->path, "/oauth2/v1/certs") == 0;
  if (!v3 && !v1) return 0;
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
    emu_reply_method_not_allowed(resp);
  else if (v3)
    route_certs_v3(e, resp);
  else
    route_certs_v1(e, resp);
  return 1;
}
