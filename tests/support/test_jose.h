/* Test support (Criterion tests): JOSE fixtures built at run time. */
#ifndef GAUTH_TEST_JOSE_H
#define GAUTH_TEST_JOSE_H

#include <stddef.h>

#include <gauth/gauth.h>

/* A fresh private key, through the public PEM import: RSA 2048 when rsa is
 * non-zero, else EC P-256. Fails the test on error. */
gauth_key *tj_gen_key(int rsa);

/* {"keys":[...]}: the public JWKs of keys[i], each under kids[i]. Free with
 * free(). */
char *tj_jwks_of(gauth_key *const *keys, const char *const *kids, size_t n);

#endif /* GAUTH_TEST_JOSE_H */
