/* PEM: a gauth_key from PEM text (PKCS#8, SPKI, PKCS#1, SEC1, X.509
 * certificates, Google's v1 certificate map entries through
 * gauth__key_from_pem_kid). Encrypted keys are refused.
 *
 * Secrets. Decoded PEM bodies live in OpenSSL's secure heap and are cleared
 * when freed. Messages name labels and sizes, never values. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "error_internal.h"
#include "jose_internal.h"

/* EC PARAMETERS blocks skipped before the key in one PEM text (OpenSSL's
 * `ecparam -genkey` writes one). */
#define PEM_MAX_BLOCKS 4

/* The DER body of one PEM block, decoded by its label. OpenSSL's d2i
 * functions are given exactly the block's bytes, and must use them all. */
static gauth_status der_to_pkey(const char *label, const unsigned char *der,
                                long der_len, EVP_PKEY **pkey,
                                gauth_error *err) {
  const unsigned char *p = der;
  *pkey = NULL;

  if (strcmp(label, "CERTIFICATE") == 0 ||
      strcmp(label, "X509 CERTIFICATE") == 0) {
    /* Only the key is used: dates, issuer and signature are not looked
     * at (Google's v1 certificates are self-signed containers). */
    X509 *cert = d2i_X509(NULL, &p, der_len);
    if (cert != NULL) *pkey = X509_get_pubkey(cert);
    X509_free(cert);
  } else if (strcmp(label, "PUBLIC KEY") == 0) {
    *pkey = d2i_PUBKEY(NULL, &p, der_len);
  } else if (strcmp(label, "RSA PUBLIC KEY") == 0) {
    *pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, der_len);
  } else if (strcmp(label, "PRIVATE KEY") == 0) {
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, der_len);
    if (p8 != NULL) *pkey = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key octets */
  } else if (strcmp(label, "RSA PRIVATE KEY") == 0) {
    *pkey = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, der_len);
  } else if (strcmp(label, "EC PRIVATE KEY") == 0) {
    *pkey = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, der_len);
  } else if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0) {
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "PEM: encrypted private keys are not supported "
                            "(decrypt it first: openssl pkey -in KEY -out "
                            "PLAIN)");
  } else {
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "PEM: a \"%.40s\" block is not a key or "
                            "certificate libgauth reads",
                            label);
  }
  if (*pkey == NULL)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "PEM: the \"%.40s\" block could not be decoded",
                            label);
  if (p != der + der_len) {
    EVP_PKEY_free(*pkey);
    *pkey = NULL;
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "PEM: the \"%.40s\" block has %ld bytes after "
                            "its content",
                            label, (long)(der + der_len - p));
  }
  return GAUTH_OK;
}

static gauth_status pem_import(const char *pem, size_t len, const char *kid,
                               gauth_key **out, gauth_error *err) {
  char *label = NULL, *header = NULL;
  unsigned char *der = NULL;
  long der_len = 0;
  EVP_PKEY *pkey = NULL;
  BIO *bio;
  gauth_status st = GAUTH_OK;
  int blocks;

  *out = NULL;
  if (len > GAUTH__KEY_MAX_INPUT)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "PEM: %zu bytes is over the limit of %zu bytes",
                            len, GAUTH__KEY_MAX_INPUT);
  if (len == 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED, "PEM: empty input");
  bio = BIO_new_mem_buf(pem, (int)len);
  if (bio == NULL) return gauth__error_nomem(err);
  for (blocks = 0;; blocks++) {
    /* PEM_FLAG_SECURE: the decoded body and OpenSSL's line buffers live in
     * the secure heap and are cleared when freed. No passphrase callback
     * is involved at all: encrypted blocks are refused below. */
    if (!PEM_read_bio_ex(bio, &label, &header, &der, &der_len,
                         PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE)) {
      unsigned long e = ERR_peek_last_error();
      if (blocks > 0 && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        st = gauth__error_set(err, GAUTH_E_MALFORMED,
                              "PEM: no key after the EC PARAMETERS block");
      else if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        st = gauth__error_set(err, GAUTH_E_MALFORMED,
                              "PEM: no BEGIN line found (not PEM text)");
      else
        st = gauth__error_set(
            err, GAUTH_E_MALFORMED, "PEM: incomplete or corrupt block (%s)",
            ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e)
                                               : "unknown reason");
      label = NULL;
      header = NULL;
      der = NULL;
      goto done;
    }
    if (strcmp(label, "EC PARAMETERS") != 0) break;
    OPENSSL_free(label);
    OPENSSL_free(header);
    OPENSSL_secure_clear_free(der, (size_t)der_len);
    label = header = NULL;
    der = NULL;
    if (blocks + 1 >= PEM_MAX_BLOCKS) {
      st = gauth__error_set(err, GAUTH_E_MALFORMED,
                            "PEM: too many EC PARAMETERS blocks");
      goto done;
    }
  }
  /* RFC 1421 headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ...") mark
   * OpenSSL's legacy encrypted keys. */
  if (header != NULL && strstr(header, "ENCRYPTED") != NULL) {
    st = gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                          "PEM: encrypted private keys are not supported "
                          "(decrypt it first: openssl pkey -in KEY -out "
                          "PLAIN)");
    goto done;
  }
  st = der_to_pkey(label, der, der_len, &pkey, err);

done:
  OPENSSL_free(label);
  OPENSSL_free(header);
  if (der != NULL) OPENSSL_secure_clear_free(der, (size_t)der_len);
  BIO_free(bio);
  ERR_clear_error();
  if (st != GAUTH_OK) return st;
  return gauth__key_new(out, pkey, kid, GAUTH_ALG_UNKNOWN, 1, 1, err);
}

gauth_status gauth__key_from_pem_kid(gauth_key **out, const char *pem,
                                     size_t len, const char *kid,
                                     gauth_error *err) {
  if (out == NULL || pem == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "PEM key: out and pem must not be NULL");
  return pem_import(pem, len, kid, out, err);
}

gauth_status gauth_key_from_pem(gauth_key **out, const char *pem, size_t len,
                                gauth_error *err) {
  if (out == NULL || pem == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_key_from_pem: out and pem must not be "
                            "NULL");
  return pem_import(pem, len, NULL, out, err);
}
