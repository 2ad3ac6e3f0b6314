/* Test support: RSA private keys generated at run time, once per key cache
 * rather than once per test.
 *
 * Criterion runs every test in a new process (BoxFort re-executes the test
 * program), so a key generated in a test or a fixture is generated again for
 * each test; under valgrind an RSA 2048 key costs seconds. tk_rsa() reads
 * key number n of a size from the cache directory, and generates and stores
 * it there when it is absent or unreadable. The cache is
 * $GAUTH_TEST_KEY_CACHE when set, else test-keys/ in the build tree; it is
 * never in the source tree (no key material is committed), and run-all.sh
 * empties it at the start of each run. Two processes that miss the same
 * entry at once each generate a key; rename() keeps the file whole, and each
 * process keeps the key it generated. */
#ifndef GAUTH_TEST_KEYS_H
#define GAUTH_TEST_KEYS_H

#include <openssl/evp.h>

/* RSA private key number n (0, 1, ...) of the given size: distinct n give
 * distinct keys. Free with EVP_PKEY_free(). NULL when generation fails. */
EVP_PKEY *tk_rsa(unsigned int bits, unsigned int n);

#endif /* GAUTH_TEST_KEYS_H */
