/* gauth-emulator: Identity-Aware Proxy's side. IAP signs, for each request
 * it lets through, an ES256 JWT in `x-goog-iap-jwt-assertion`, with keys
 * published at https://www.gstatic.com/iap/verify/public_key-jwk: this file
 * holds the emulator's IAP key, serves that key set (the same path on the
 * emulator's base, where GAUTH_ENDPOINT sends www.gstatic.com), and mints
 * the assertions IAP would send (control API POST
 * /emulator/v1/iap/assertion, for tests of receivers).
 *
 * The assertion, as IAP's documentation shows it: header {"alg":"ES256",
 * "typ":"JWT","kid":KID}; claims iss https://cloud.google.com/iap, aud
 * /projects/NUMBER/apps/PROJECT_ID (App Engine) or
 * /projects/NUMBER/global/backendServices/ID, sub
 * "accounts.google.com:NUMERIC_ID", email (plain: the
 * "accounts.google.com:" prefix is only in IAP's headers, not in the JWT),
 * hd for a Workspace domain when given, iat now and exp now + 600 (IAP's
 * assertions live 10 minutes), and the `google` claim with access levels
 * when given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "emulator.h"

#define JSON_UTF8 "application/json; charset=UTF-8"
#define IAP_KEYS_PATH "/iap/verify/public_key-jwk"
#define IAP_ISSUER "https://cloud.google.com/iap"
#define IAP_DEFAULT_LIFETIME 600
#define IAP_MAX_LIFETIME 86400

struct emu_iap {
  gauth_key *priv;    /* ES256, P-256 */
  gauth_keyset *keys; /* its public JWK, with kid and alg */
  char kid[24];
};

/* IAP's kids are short base64url strings ("0oeLcQ"): 8 characters of the
 * SHA-256 of the key's SubjectPublicKeyInfo. */
static int make_kid(EVP_PKEY *pk, char kid[24]) {
  static const char b64url[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char *der = NULL, md[32];
  unsigned int mdlen = 0;
  int derlen = i2d_PUBKEY(pk, &der), ok;
  ok = derlen > 0 &&
       EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(), NULL) == 1;
  OPENSSL_free(der);
  if (!ok) return -1;
  for (int i = 0; i < 8; i++) kid[i] = b64url[md[i] & 63];
  kid[8] = '\0';
  return 0;
}

/* The private key as a gauth_key (through its PEM), and the public key set
 * (through its JWK, with kid and alg added). */
static int import_keys(EVP_PKEY *pk, emu_iap *iap) {
  BIO *bio = BIO_new(BIO_s_mem());
  const char *mem = NULL;
  long memlen = 0;
  char *jwk = NULL, *pubjson = NULL;
  cJSON *j = NULL;
  gauth_key *pub = NULL;
  int rc = -1;

  if (bio == NULL ||
      !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL))
    goto out;
  memlen = BIO_get_mem_data(bio, &mem);
  if (memlen <= 0 ||
      gauth_key_from_pem(&iap->priv, mem, (size_t)memlen, NULL) != GAUTH_OK)
    goto out;
  if (gauth_key_public_jwk(iap->priv, &jwk, NULL) != GAUTH_OK) goto out;
  j = cJSON_Parse(jwk);
  if (j == NULL) goto out;
  cJSON_DeleteItemFromObjectCaseSensitive(j, "kid");
  cJSON_DeleteItemFromObjectCaseSensitive(j, "alg");
  cJSON_AddStringToObject(j, "kid", iap->kid);
  cJSON_AddStringToObject(j, "alg", "ES256");
  pubjson = cJSON_PrintUnformatted(j);
  if (pubjson == NULL ||
      gauth_key_from_jwk(&pub, pubjson, strlen(pubjson), NULL) != GAUTH_OK ||
      gauth_keyset_from_keys(&iap->keys, &pub, 1, NULL) != GAUTH_OK)
    goto out;
  rc = 0;
out:
  if (mem != NULL && memlen > 0) OPENSSL_cleanse((void *)mem, (size_t)memlen);
  BIO_free(bio);
  gauth_free(jwk);
  cJSON_free(pubjson);
  cJSON_Delete(j);
  gauth_key_free(pub);
  return rc;
}

emu_iap *emu_iap_new(void) {
  emu_iap *iap = calloc(1, sizeof(*iap));
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  if (iap == NULL || pk == NULL || make_kid(pk, iap->kid) != 0 ||
      import_keys(pk, iap) != 0) {
    EVP_PKEY_free(pk);
    emu_iap_free(iap);
    return NULL;
  }
  EVP_PKEY_free(pk);
  return iap;
}

void emu_iap_free(emu_iap *iap) {
  if (iap == NULL) return;
  gauth_key_free(iap->priv);
  gauth_keyset_free(iap->keys);
  free(iap);
}

/* ---- the key set ----------------------------------------------------------
 */

static void route_keys(emu *e, emu_response *resp) {
  emu_iap *iap = emu_iap_of(e);
  char *jwks = NULL, cc[96];
  if (iap == NULL || gauth_keyset_to_jwks(iap->keys, &jwks, NULL) != GAUTH_OK) {
    emu_reply_google_error(resp, 500, "INTERNAL", "No IAP keys.");
    return;
  }
  emu_reply_text(resp, 200, JSON_UTF8, jwks);
  snprintf(cc, sizeof cc, "public, max-age=%ld", emu_signing_keys_max_age(e));
  emu_reply_header(resp, "Cache-Control", cc);
  gauth_free(jwks);
}

int emu_route_iap(emu *e, const emu_request *req, emu_response *resp) {
  if (strcmp(req->path, IAP_KEYS_PATH) != 0) return 0;
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
    emu_reply_method_not_allowed(resp);
  else
    route_keys(e, resp);
  return 1;
}

/* ---- minting (control API) -------------------------------------------- */

/* IAP's numeric user id for an email: 21 digits, stable. */
static void user_id(const char *email, char out[24]) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_Digest(email, strlen(email), md, &mdlen, EVP_sha256(), NULL);
  out[0] = '1';
  for (int i = 1; i < 21; i++) out[i] = (char)('0' + md[i] % 10);
  out[21] = '\0';
}

static void bad(emu_response *resp, const char *msg) {
  emu_reply_google_error(resp, 400, "INVALID_ARGUMENT", "%s", msg);
}

void emu_iap_assertion(emu *e, const cJSON *body, emu_response *resp) {
  emu_iap *iap = emu_iap_of(e);
  const cJSON *email = cJSON_GetObjectItemCaseSensitive(body, "email");
  const cJSON *aud = cJSON_GetObjectItemCaseSensitive(body, "audience");
  const cJSON *life =
      cJSON_GetObjectItemCaseSensitive(body, "lifetime_seconds");
  const cJSON *hd = cJSON_GetObjectItemCaseSensitive(body, "hd");
  const cJSON *levels = cJSON_GetObjectItemCaseSensitive(body, "access_levels");
  double lifetime = IAP_DEFAULT_LIFETIME;
  int64_t now = emu_now(e);
  char sub[64], uid[24], *claims, *jwt = NULL;
  cJSON *c, *o;

  if (!cJSON_IsString(email) || email->valuestring[0] == '\0' ||
      strchr(email->valuestring, '@') == NULL) {
    bad(resp, "give \"email\" (the user IAP authenticated)");
    return;
  }
  if (!cJSON_IsString(aud) || aud->valuestring[0] == '\0') {
    bad(resp,
        "give \"audience\" (/projects/NUMBER/apps/PROJECT_ID or "
        "/projects/NUMBER/global/backendServices/ID)");
    return;
  }
  if (life != NULL) {
    if (!cJSON_IsNumber(life) || life->valuedouble < 1 ||
        life->valuedouble > IAP_MAX_LIFETIME) {
      bad(resp, "\"lifetime_seconds\" must be a number from 1 to 86400");
      return;
    }
    lifetime = life->valuedouble;
  }
  if ((hd != NULL && !cJSON_IsString(hd)) ||
      (levels != NULL && !cJSON_IsArray(levels))) {
    bad(resp, "\"hd\" must be a string, \"access_levels\" an array");
    return;
  }
  if (iap == NULL) {
    emu_reply_google_error(resp, 500, "INTERNAL", "No IAP key.");
    return;
  }
  user_id(email->valuestring, uid);
  snprintf(sub, sizeof sub, "accounts.google.com:%s", uid);
  c = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "aud", aud->valuestring);
  cJSON_AddStringToObject(c, "email", email->valuestring);
  cJSON_AddNumberToObject(c, "exp", (double)(now + (int64_t)lifetime));
  if (hd != NULL) cJSON_AddStringToObject(c, "hd", hd->valuestring);
  cJSON_AddNumberToObject(c, "iat", (double)now);
  cJSON_AddStringToObject(c, "iss", IAP_ISSUER);
  cJSON_AddStringToObject(c, "sub", sub);
  if (levels != NULL) {
    cJSON *g = cJSON_AddObjectToObject(c, "google");
    cJSON_AddItemToObject(g, "access_levels", cJSON_Duplicate(levels, 1));
  }
  claims = cJSON_PrintUnformatted(c);
  cJSON_Delete(c);
  if (claims == NULL || gauth_jwt_sign(iap->priv, GAUTH_ALG_ES256, iap->kid,
                                       claims, &jwt, NULL) != GAUTH_OK) {
    cJSON_free(claims);
    emu_reply_google_error(resp, 500, "INTERNAL", "signing failed");
    return;
  }
  cJSON_free(claims);
  o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "assertion", jwt);
  cJSON_AddStringToObject(o, "kid", iap->kid);
  gauth_free(jwt);
  emu_reply_json(resp, 200, o);
}
