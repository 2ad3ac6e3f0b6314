/* Test support: the run's RSA key cache; see test_keys.h. */
#include "test_keys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#ifndef GAUTH_TEST_KEY_CACHE_DIR
#error "GAUTH_TEST_KEY_CACHE_DIR: set by tests/CMakeLists.txt"
#endif

static const char *cache_dir(void) {
  const char *dir = getenv("GAUTH_TEST_KEY_CACHE");
  return dir != NULL && dir[0] != '\0' ? dir : GAUTH_TEST_KEY_CACHE_DIR;
}

/* The cached key at path when it is an RSA key of that size, else NULL. */
static EVP_PKEY *read_key(const char *path, unsigned int bits) {
  FILE *f = fopen(path, "r");
  EVP_PKEY *k;
  if (f == NULL) return NULL;
  k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (k != NULL &&
      (!EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_get_bits(k) != (int)bits)) {
    EVP_PKEY_free(k);
    k = NULL;
  }
  return k;
}

/* Stores k at path (mode 0600) through a temporary file renamed into place,
 * so that no reader sees half a key. A failure costs only the cache. */
static void write_key(const char *path, EVP_PKEY *k) {
  char tmp[4096];
  int fd, ok;
  FILE *f;
  if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
      (int)sizeof(tmp))
    return;
  (void)mkdir(cache_dir(), 0700);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return;
  f = fdopen(fd, "w");
  if (f == NULL) {
    close(fd);
    unlink(tmp);
    return;
  }
  ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
  if (fclose(f) != 0) ok = 0;
  if (!ok || rename(tmp, path) != 0) unlink(tmp);
}

EVP_PKEY *tk_rsa(unsigned int bits, unsigned int n) {
  char path[4096];
  EVP_PKEY *k;
  int len =
      snprintf(path, sizeof(path), "%s/rsa%u-%u.pem", cache_dir(), bits, n);
  if (len < 0 || (size_t)len >= sizeof(path))
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
  k = read_key(path, bits);
  if (k != NULL) return k;
  k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
  if (k != NULL) write_key(path, k);
  return k;
}
