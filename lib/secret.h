/* Internal: handling of secret bytes (tokens, assertions, keys). */
#ifndef GAUTH_LIB_SECRET_H
#define GAUTH_LIB_SECRET_H

#include "common.h"

/* Wipes len bytes with OPENSSL_cleanse, then frees. NULL is a no-op. */
void gauth__secret_free(void *p, size_t len);

/* Wipes a NUL-terminated string (through its NUL), then frees. NULL: no-op. */
void gauth__secret_strfree(char *s);

/* Constant-time comparison (CRYPTO_memcmp) of two byte strings; returns 1
 * when equal. The lengths are not secret: unequal lengths return 0 at once.
 * Two empty strings are equal (their pointers may then be NULL); a NULL
 * pointer with a non-zero length compares unequal to anything. */
int gauth__secret_equal(const void *a, size_t alen, const void *b, size_t blen);

/* As gauth__secret_equal for NUL-terminated strings; NULLs compare unequal. */
int gauth__secret_streq(const char *a, const char *b);

#endif /* GAUTH_LIB_SECRET_H */
