/* Wiping and constant-time comparison of secret bytes. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "secret.h"

void gauth__secret_free(void *p, size_t len) {
  if (p == NULL) return;
  /* OPENSSL_cleanse, unlike memset, cannot be optimised away as a dead
   * store before free(). */
  OPENSSL_cleanse(p, len);
  free(p);
}

void gauth__secret_strfree(char *s) {
  if (s == NULL) return;
  gauth__secret_free(s, strlen(s) + 1);
}

int gauth__secret_equal(const void *a, size_t alen, const void *b,
                        size_t blen) {
  if (alen != blen) return 0;
  if (alen == 0) return 1;
  if (a == NULL || b == NULL) return 0;
  return CRYPTO_memcmp(a, b, alen) == 0;
}

int gauth__secret_streq(const char *a, const char *b) {
  if (a == NULL || b == NULL) return 0;
  /* The lengths are not secret (see secret.h); only the content is. */
  return gauth__secret_equal(a, strlen(a), b, strlen(b));
}
