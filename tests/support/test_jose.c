/* Test support: JOSE fixtures; see test_jose.h. */
#include "test_jose.h"

#include <stdlib.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

gauth_key *tj_gen_key(int rsa) {
  EVP_PKEY *pk = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  BIO *b = BIO_new(BIO_s_mem());
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *k = NULL;
  char *data;
  long n;
  cr_assert_not_null(pk);
  cr_assert_not_null(b);
  cr_assert(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL));
  n = BIO_get_mem_data(b, &data);
  cr_assert_eq(gauth_key_from_pem(&k, data, (size_t)n, &err), GAUTH_OK, "%s",
               err.message);
  BIO_free(b);
  EVP_PKEY_free(pk);
  return k;
}

char *tj_jwks_of(gauth_key *const *keys, const char *const *kids, size_t n) {
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
  char *text;
  size_t i;
  for (i = 0; i < n; i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    char *jwk = NULL;
    cJSON *o;
    cr_assert_eq(gauth_key_public_jwk(keys[i], &jwk, &err), GAUTH_OK, "%s",
                 err.message);
    o = cJSON_Parse(jwk);
    cr_assert_not_null(o);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "kid");
    cJSON_AddStringToObject(o, "kid", kids[i]);
    cJSON_AddItemToArray(arr, o);
    gauth_free(jwk);
  }
  cJSON_AddItemToObject(root, "keys", arr);
  text = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return text;
}
