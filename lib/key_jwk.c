/* JWK (RFC 7517/7518/8037): a gauth_key from a JWK (RSA, EC P-256/P-384,
 * OKP Ed25519; "use" and "key_ops" honoured), and the public JWK of a key.
 *
 * Secrets. Decoded private members are wiped before they are freed;
 * private BIGNUMs live in OpenSSL's secure heap (or are cleared on free).
 * Messages name members and sizes, never values. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "base64.h"
#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

/* ---- JWK import ---------------------------------------------------------- */

/* A decoded base64url member: *out NULL when absent and not required. */
typedef struct member {
  unsigned char *buf;
  size_t len;
} member;

static void member_wipe(member *m) {
  gauth__secret_free(m->buf, m->len + 1);
  m->buf = NULL;
  m->len = 0;
}

static gauth_status get_member(const cJSON *jwk, const char *name, int required,
                               member *m, gauth_error *err) {
  const char *s = NULL;
  gauth_status st;

  m->buf = NULL;
  m->len = 0;
  st = required ? gauth__json_get_string(jwk, name, &s, err)
                : gauth__json_opt_string(jwk, name, &s, err);
  if (st != GAUTH_OK || s == NULL) return st;
  st = gauth__b64url_decode(s, strlen(s), &m->buf, &m->len, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "member \"%s\"", name);
    return st;
  }
  if (m->len == 0) {
    member_wipe(m);
    return gauth__error_set(err, GAUTH_E_MALFORMED, "member \"%s\" is empty",
                            name);
  }
  return GAUTH_OK;
}

static gauth_status fromdata(const char *type, int selection,
                             OSSL_PARAM_BLD *bld, EVP_PKEY **pkey,
                             const char *what, gauth_error *err) {
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx = NULL;
  gauth_status st = GAUTH_OK;

  *pkey = NULL;
  if (params == NULL) return gauth__error_nomem(err);
  ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
  if (ctx == NULL) {
    st = gauth__error_nomem(err);
  } else if (EVP_PKEY_fromdata_init(ctx) != 1 ||
             EVP_PKEY_fromdata(ctx, pkey, selection, params) != 1) {
    *pkey = NULL;
    st = gauth__error_set(err, GAUTH_E_MALFORMED, "%s", what);
  }
  EVP_PKEY_CTX_free(ctx);
  /* The secure part of params (private BIGNUMs) is cleared on free. */
  OSSL_PARAM_free(params);
  ERR_clear_error();
  return st;
}

/* A BIGNUM from big-endian bytes; private ones in the secure heap so that
 * OSSL_PARAM_BLD keeps their copies there too (and clears them). */
static BIGNUM *to_bn(const member *m, int secret) {
  BIGNUM *bn = secret ? BN_secure_new() : BN_new();
  if (bn == NULL) return NULL;
  if (BN_bin2bn(m->buf, (int)m->len, bn) == NULL) {
    BN_clear_free(bn);
    return NULL;
  }
  return bn;
}

enum { RSA_N, RSA_E, RSA_D, RSA_P, RSA_Q, RSA_DP, RSA_DQ, RSA_QI, RSA_NPARAM };

static const struct {
  const char *jwk, *param;
} rsa_members[RSA_NPARAM] = {
    {"n", OSSL_PKEY_PARAM_RSA_N},
    {"e", OSSL_PKEY_PARAM_RSA_E},
    {"d", OSSL_PKEY_PARAM_RSA_D},
    {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
    {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
    {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
    {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
};

/* n * 8 bits over this many bytes is refused before any arithmetic. */
#define RSA_MAX_BYTES (GAUTH__RSA_MAX_BITS / 8u + 1u)

static gauth_status rsa_from_jwk(const cJSON *jwk, EVP_PKEY **pkey,
                                 gauth_error *err) {
  member m[RSA_NPARAM];
  BIGNUM *bn[RSA_NPARAM] = {NULL};
  OSSL_PARAM_BLD *bld = NULL;
  gauth_status st = GAUTH_OK;
  int i, ncrt = 0, is_private;

  memset(m, 0, sizeof(m));
  *pkey = NULL;
  if (cJSON_GetObjectItemCaseSensitive(jwk, "oth") != NULL)
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "multi-prime RSA keys (member \"oth\") are not "
                            "supported");
  for (i = 0; i < RSA_NPARAM && st == GAUTH_OK; i++)
    st = get_member(jwk, rsa_members[i].jwk, i <= RSA_E, &m[i], err);
  if (st != GAUTH_OK) goto done;
  if (m[RSA_N].len > RSA_MAX_BYTES) {
    st = gauth__error_set(err, GAUTH_E_TOO_LARGE,
                          "RSA modulus of %zu bytes is over the limit of %u "
                          "bits",
                          m[RSA_N].len, GAUTH__RSA_MAX_BITS);
    goto done;
  }
  if (m[RSA_E].len > m[RSA_N].len) {
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "RSA public exponent is longer than the modulus");
    goto done;
  }
  is_private = m[RSA_D].buf != NULL;
  for (i = RSA_P; i < RSA_NPARAM; i++) ncrt += m[i].buf != NULL;
  if (!is_private && ncrt > 0) {
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "RSA JWK has CRT members (p, q, dp, dq, qi) but no "
                          "private exponent \"d\"");
    goto done;
  }
  if (ncrt != 0 && ncrt != RSA_NPARAM - RSA_P) {
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "RSA private JWK has %d of the 5 CRT members (p, "
                          "q, dp, dq, qi): give all or none",
                          ncrt);
    goto done;
  }

  bld = OSSL_PARAM_BLD_new();
  if (bld == NULL) {
    st = gauth__error_nomem(err);
    goto done;
  }
  for (i = 0; i < RSA_NPARAM; i++) {
    if (m[i].buf == NULL) continue;
    bn[i] = to_bn(&m[i], i >= RSA_D);
    if (bn[i] == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, rsa_members[i].param, bn[i])) {
      st = gauth__error_nomem(err);
      goto done;
    }
  }
  /* Checked here, with the values at hand: OpenSSL would take
   * inconsistent factors and sign wrongly with them. */
  if (ncrt != 0) {
    BN_CTX *bnctx = BN_CTX_secure_new();
    BIGNUM *prod = BN_secure_new();
    int ok = bnctx != NULL && prod != NULL &&
             BN_mul(prod, bn[RSA_P], bn[RSA_Q], bnctx);
    int eq = ok && BN_cmp(prod, bn[RSA_N]) == 0;
    BN_clear_free(prod);
    BN_CTX_free(bnctx);
    if (!ok) {
      st = gauth__error_nomem(err);
      goto done;
    }
    if (!eq) {
      st = gauth__error_set(err, GAUTH_E_MALFORMED,
                            "RSA private JWK: p * q is not the modulus n");
      goto done;
    }
  }
  st = fromdata("RSA", is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld,
                pkey, "RSA JWK: OpenSSL refused the key", err);

done:
  OSSL_PARAM_BLD_free(bld);
  for (i = 0; i < RSA_NPARAM; i++) {
    BN_clear_free(bn[i]);
    member_wipe(&m[i]);
  }
  return st;
}

static gauth_status ec_from_jwk(const cJSON *jwk, EVP_PKEY **pkey,
                                gauth_error *err) {
  const char *crv = NULL, *group;
  member x = {NULL, 0}, y = {NULL, 0}, d = {NULL, 0};
  unsigned char point[1 + 2 * 48];
  size_t clen;
  BIGNUM *priv = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  gauth_status st;

  *pkey = NULL;
  st = gauth__json_get_string(jwk, "crv", &crv, err);
  if (st != GAUTH_OK) return st;
  if (strcmp(crv, "P-256") == 0) {
    group = SN_X9_62_prime256v1;
    clen = 32;
  } else if (strcmp(crv, "P-384") == 0) {
    group = SN_secp384r1;
    clen = 48;
  } else {
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "EC curve (crv) " GAUTH__IN_FMT
                            " is not supported "
                            "(P-256 and P-384 only)",
                            crv);
  }
  st = get_member(jwk, "x", 1, &x, err);
  if (st == GAUTH_OK) st = get_member(jwk, "y", 1, &y, err);
  if (st == GAUTH_OK) st = get_member(jwk, "d", 0, &d, err);
  if (st != GAUTH_OK) goto done;
  /* RFC 7518 6.2.1.2-3 and 6.2.2.1: exactly the curve's size, no more and
   * no fewer bytes (one encoding per key). */
  if (x.len != clen || y.len != clen || (d.buf != NULL && d.len != clen)) {
    const char *which = x.len != clen ? "x" : y.len != clen ? "y" : "d";
    size_t got = x.len != clen ? x.len : y.len != clen ? y.len : d.len;
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "EC member \"%s\" is %zu bytes; %s needs exactly "
                          "%zu",
                          which, got, crv, clen);
    goto done;
  }
  point[0] = 0x04; /* uncompressed */
  memcpy(point + 1, x.buf, clen);
  memcpy(point + 1 + clen, y.buf, clen);

  bld = OSSL_PARAM_BLD_new();
  if (bld == NULL ||
      !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                        1 + 2 * clen)) {
    st = gauth__error_nomem(err);
    goto done;
  }
  if (d.buf != NULL) {
    priv = to_bn(&d, 1);
    if (priv == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) {
      st = gauth__error_nomem(err);
      goto done;
    }
  }
  /* OpenSSL refuses a point that is not on the curve here; gauth__key_new
   * then runs the full public check (coordinates below p). */
  st = fromdata("EC", d.buf != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                bld, pkey, "EC JWK: the point (x, y) is not on the curve", err);

done:
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(priv);
  member_wipe(&x);
  member_wipe(&y);
  member_wipe(&d);
  return st;
}

static gauth_status okp_from_jwk(const cJSON *jwk, EVP_PKEY **pkey,
                                 gauth_error *err) {
  const char *crv = NULL;
  member x = {NULL, 0}, d = {NULL, 0};
  unsigned char pub[32];
  size_t pub_len = sizeof(pub);
  gauth_status st;

  *pkey = NULL;
  st = gauth__json_get_string(jwk, "crv", &crv, err);
  if (st != GAUTH_OK) return st;
  if (strcmp(crv, "Ed25519") != 0)
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "OKP curve (crv) " GAUTH__IN_FMT
                            " is not "
                            "supported (Ed25519 only)",
                            crv);
  st = get_member(jwk, "x", 1, &x, err);
  if (st == GAUTH_OK) st = get_member(jwk, "d", 0, &d, err);
  if (st != GAUTH_OK) goto done;
  if (x.len != 32 || (d.buf != NULL && d.len != 32)) {
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "Ed25519 member \"%s\" is %zu bytes; it must be 32",
                          x.len != 32 ? "x" : "d", x.len != 32 ? x.len : d.len);
    goto done;
  }
  if (d.buf == NULL) {
    *pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x.buf, 32);
  } else {
    *pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, d.buf, 32);
    /* The public key is derived from d: it must be the x given. */
    if (*pkey != NULL && (!EVP_PKEY_get_raw_public_key(*pkey, pub, &pub_len) ||
                          pub_len != 32 || memcmp(pub, x.buf, 32) != 0)) {
      EVP_PKEY_free(*pkey);
      *pkey = NULL;
      st = gauth__error_set(err, GAUTH_E_MALFORMED,
                            "Ed25519 private key \"d\" does not match \"x\"");
      goto done;
    }
  }
  if (*pkey == NULL)
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "Ed25519 JWK: OpenSSL refused the key");

done:
  ERR_clear_error();
  member_wipe(&x);
  member_wipe(&d);
  return st;
}

/* "use" and "key_ops" (RFC 7517 4.2, 4.3): what the key may be used for. */
static gauth_status jwk_usage(const cJSON *jwk, int *can_verify, int *can_sign,
                              gauth_error *err) {
  const char *use = NULL;
  const cJSON *ops, *op, *other;
  int verify = 0, sign = 0;
  gauth_status st;

  *can_verify = *can_sign = 1;
  st = gauth__json_opt_string(jwk, "use", &use, err);
  if (st != GAUTH_OK) return st;
  if (use != NULL && strcmp(use, "sig") != 0) *can_verify = *can_sign = 0;
  ops = cJSON_GetObjectItemCaseSensitive(jwk, "key_ops");
  if (ops == NULL || cJSON_IsNull(ops)) return GAUTH_OK;
  if (!cJSON_IsArray(ops))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field \"key_ops\" is %s, expected an array",
                            gauth__json_type_name(ops));
  cJSON_ArrayForEach(op, ops) {
    if (!cJSON_IsString(op) || op->valuestring == NULL)
      return gauth__error_set(err, GAUTH_E_MALFORMED,
                              "\"key_ops\" holds %s, expected strings",
                              gauth__json_type_name(op));
    for (other = ops->child; other != op; other = other->next)
      if (strcmp(other->valuestring, op->valuestring) == 0)
        return gauth__error_set(err, GAUTH_E_MALFORMED,
                                "\"key_ops\" lists a value twice");
    if (strcmp(op->valuestring, "verify") == 0) verify = 1;
    if (strcmp(op->valuestring, "sign") == 0) sign = 1;
  }
  if (!verify) *can_verify = 0;
  if (!sign) *can_sign = 0;
  return GAUTH_OK;
}

static gauth_status jwk_import(const cJSON *jwk, gauth_key **out,
                               gauth_error *err) {
  const char *kty = NULL, *kid = NULL, *alg_name = NULL;
  gauth_alg alg = GAUTH_ALG_UNKNOWN;
  EVP_PKEY *pkey = NULL;
  int can_verify, can_sign;
  gauth_status st;

  if (cJSON_GetObjectItemCaseSensitive(jwk, "keys") != NULL &&
      cJSON_GetObjectItemCaseSensitive(jwk, "kty") == NULL)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "this is a key set (JWKS), not one JWK: use "
                            "gauth_keyset_parse");
  st = gauth__json_get_string(jwk, "kty", &kty, err);
  if (st != GAUTH_OK) return st;
  if (strcmp(kty, "oct") == 0)
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "symmetric keys (kty \"oct\") are not accepted: "
                            "libgauth verifies only asymmetric signatures");
  if (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0 &&
      strcmp(kty, "OKP") != 0)
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "key type (kty) " GAUTH__IN_FMT
                            " is not supported "
                            "(RSA, EC, OKP)",
                            kty);
  st = gauth__json_opt_string(jwk, "kid", &kid, err);
  if (st == GAUTH_OK) st = gauth__json_opt_string(jwk, "alg", &alg_name, err);
  if (st == GAUTH_OK) st = jwk_usage(jwk, &can_verify, &can_sign, err);
  if (st != GAUTH_OK) return st;
  if (alg_name != NULL) {
    alg = gauth_alg_from_name(alg_name);
    if (alg == GAUTH_ALG_UNKNOWN)
      return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                              "alg " GAUTH__IN_FMT
                              " is not a supported "
                              "signature algorithm (RS256, RS384, RS512, "
                              "PS256, ES256, ES384, EdDSA)",
                              alg_name);
  }
  if (strcmp(kty, "RSA") == 0)
    st = rsa_from_jwk(jwk, &pkey, err);
  else if (strcmp(kty, "EC") == 0)
    st = ec_from_jwk(jwk, &pkey, err);
  else
    st = okp_from_jwk(jwk, &pkey, err);
  if (st != GAUTH_OK) return st;
  return gauth__key_new(out, pkey, kid, alg, can_verify, can_sign, err);
}

gauth_status gauth__key_from_jwk_object(gauth_key **out, const cJSON *jwk,
                                        gauth_error *err) {
  gauth_status st;
  if (out == NULL || jwk == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "JWK: NULL argument");
  *out = NULL;
  if (!cJSON_IsObject(jwk))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "JWK: expected an object, got %s",
                            gauth__json_type_name(jwk));
  st = jwk_import(jwk, out, err);
  if (st != GAUTH_OK) gauth__error_prefix(err, "JWK");
  return st;
}

gauth_status gauth_key_from_jwk(gauth_key **out, const char *json, size_t len,
                                gauth_error *err) {
  cJSON *root = NULL;
  gauth_status st;

  if (out == NULL || json == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_key_from_jwk: out and json must not be "
                            "NULL");
  *out = NULL;
  st = gauth__json_parse_object(json, len, NULL, &root, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "JWK");
    return st;
  }
  st = gauth__key_from_jwk_object(out, root, err);
  gauth__secret_json_delete(root);
  return st;
}

/* ---- public JWK ---------------------------------------------------------- */

static int add_b64(cJSON *obj, const char *name, const unsigned char *data,
                   size_t len) {
  char *s = NULL;
  int ok;
  if (gauth__b64url_encode(data, len, &s, NULL) != GAUTH_OK) return 0;
  ok = cJSON_AddStringToObject(obj, name, s) != NULL;
  free(s);
  return ok;
}

static int add_bn(cJSON *obj, const char *name, const EVP_PKEY *pkey,
                  const char *param, int pad) {
  BIGNUM *bn = NULL;
  unsigned char *buf;
  int n, ok = 0;
  if (!EVP_PKEY_get_bn_param(pkey, param, &bn)) return 0;
  n = pad > 0 ? pad : BN_num_bytes(bn);
  buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf != NULL && BN_bn2binpad(bn, buf, n) == n)
    ok = add_b64(obj, name, buf, (size_t)n);
  free(buf);
  BN_free(bn);
  return ok;
}

/* Appends the public members of key to obj. 0 on allocation failure. */
static int public_members(const gauth_key *key, cJSON *obj) {
  unsigned char raw[32];
  size_t raw_len = sizeof(raw);
  int ok = 0;

  switch (key->type) {
    case GAUTH_KEY_RSA:
      ok = cJSON_AddStringToObject(obj, "kty", "RSA") != NULL &&
           add_bn(obj, "n", key->pkey, OSSL_PKEY_PARAM_RSA_N, 0) &&
           add_bn(obj, "e", key->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
      break;
    case GAUTH_KEY_EC_P256:
    case GAUTH_KEY_EC_P384: {
      int clen = key->type == GAUTH_KEY_EC_P256 ? 32 : 48;
      ok = cJSON_AddStringToObject(obj, "kty", "EC") != NULL &&
           cJSON_AddStringToObject(
               obj, "crv",
               key->type == GAUTH_KEY_EC_P256 ? "P-256" : "P-384") != NULL &&
           add_bn(obj, "x", key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, clen) &&
           add_bn(obj, "y", key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, clen);
      break;
    }
    case GAUTH_KEY_ED25519:
      ok = cJSON_AddStringToObject(obj, "kty", "OKP") != NULL &&
           cJSON_AddStringToObject(obj, "crv", "Ed25519") != NULL &&
           EVP_PKEY_get_raw_public_key(key->pkey, raw, &raw_len) &&
           raw_len == 32 && add_b64(obj, "x", raw, raw_len);
      break;
  }
  ERR_clear_error();
  if (!ok) return 0;
  if (key->kid != NULL && cJSON_AddStringToObject(obj, "kid", key->kid) == NULL)
    return 0;
  if (cJSON_AddStringToObject(obj, "alg", gauth_alg_name(gauth_key_alg(key))) ==
      NULL)
    return 0;
  /* A key that may not verify keeps that restriction across a round trip:
   * an empty key_ops allows nothing. */
  if (key->can_verify)
    return cJSON_AddStringToObject(obj, "use", "sig") != NULL;
  return cJSON_AddArrayToObject(obj, "key_ops") != NULL;
}

cJSON *gauth__key_public_jwk_json(const gauth_key *key) {
  cJSON *obj = cJSON_CreateObject();
  if (obj == NULL) return NULL;
  if (!public_members(key, obj)) {
    cJSON_Delete(obj);
    return NULL;
  }
  return obj;
}

gauth_status gauth_key_public_jwk(const gauth_key *key, char **out,
                                  gauth_error *err) {
  cJSON *obj;
  char *text;

  if (key == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_key_public_jwk: key and out must not be "
                            "NULL");
  *out = NULL;
  obj = gauth__key_public_jwk_json(key);
  if (obj == NULL) return gauth__error_nomem(err);
  text = cJSON_PrintUnformatted(obj);
  cJSON_Delete(obj);
  if (text == NULL) return gauth__error_nomem(err);
  *out = text;
  return GAUTH_OK;
}
