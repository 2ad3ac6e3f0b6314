/* Internal: handling of secret bytes (tokens, assertions, keys). */
#ifndef GAUTH_LIB_SECRET_H
#define GAUTH_LIB_SECRET_H

#include "common.h"

/* Wipes len bytes with OPENSSL_cleanse, then frees. NULL is a no-op. */
void gauth__secret_free(void *p, size_t len);

/* Wipes a NUL-terminated string (through its NUL), then frees. NULL: no-op. */
void gauth__secret_strfree(char *s);

/* gauth__strv_free for a list of secrets (headers with tokens): each
 * string is wiped. NULL: no-op. */
void gauth__secret_strv_free(char **v);

/* Constant-time comparison (CRYPTO_memcmp) of two byte strings; returns 1
 * when equal. The lengths are not secret: unequal lengths return 0 at once.
 * Two empty strings are equal (their pointers may then be NULL); a NULL
 * pointer with a non-zero length compares unequal to anything. */
int gauth__secret_equal(const void *a, size_t alen, const void *b, size_t blen);

/* As gauth__secret_equal for NUL-terminated strings; NULLs compare unequal. */
int gauth__secret_streq(const char *a, const char *b);

/* Reads a whole file of at most max bytes into *out (NUL-terminated; free
 * with gauth__secret_free(*out, *len + 1): it may hold a private key or a
 * refresh token). The buffer grows by copying and wiping, never realloc.
 * GAUTH_E_IO with the path and the system's reason, GAUTH_E_TOO_LARGE. */
gauth_status gauth__secret_read_file(const char *path, size_t max, char **out,
                                     size_t *len, gauth_error *err);

/* Wipes every string of a cJSON tree (it may hold private key members),
 * then deletes it. NULL is a no-op. */
struct cJSON;
void gauth__secret_json_delete(struct cJSON *tree);

#endif /* GAUTH_LIB_SECRET_H */
