/* Wiping and constant-time comparison of secret bytes; reading files and
 * dropping JSON trees that may hold secrets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "error_internal.h"
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

void gauth__secret_strv_free(char **v) {
  if (v == NULL) return;
  for (size_t i = 0; v[i] != NULL; i++) gauth__secret_strfree(v[i]);
  free(v);
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

static void wipe_tree(cJSON *item) {
  for (; item != NULL; item = item->next) {
    if (item->valuestring != NULL)
      OPENSSL_cleanse(item->valuestring, strlen(item->valuestring));
    if (item->child != NULL) wipe_tree(item->child);
  }
}

void gauth__secret_json_delete(cJSON *tree) {
  if (tree == NULL) return;
  wipe_tree(tree);
  cJSON_Delete(tree);
}

gauth_status gauth__secret_read_file(const char *path, size_t max, char **out,
                                     size_t *len, gauth_error *err) {
  char *buf = NULL;
  size_t cap = 4096, n = 0;
  FILE *f;
  gauth_status st = GAUTH_OK;

  if (path == NULL || out == NULL || len == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "read file: NULL argument");
  *out = NULL;
  *len = 0;
  f = fopen(path, "rb");
  if (f == NULL) {
    int e = errno;
    char why[128];
    /* The XSI strerror_r (we build with _POSIX_C_SOURCE): thread-safe. */
    if (strerror_r(e, why, sizeof(why)) != 0)
      snprintf(why, sizeof(why), "error %d", e);
    return gauth__error_set(err, GAUTH_E_IO, "cannot open \"%.200s\": %s", path,
                            why);
  }
  /* Grown by copying, never realloc: the old buffer may hold a private
   * key and is wiped. At most max + 1 bytes are read, to tell "exactly
   * max" from "more". */
  for (;;) {
    size_t want, got;
    if (buf == NULL || n == cap) {
      size_t ncap = buf == NULL ? cap : cap * 2;
      char *nbuf;
      if (ncap > max + 1) ncap = max + 1;
      if (buf != NULL && ncap <= cap) {
        st = gauth__error_set(err, GAUTH_E_TOO_LARGE,
                              "\"%.200s\" is over the limit of %zu bytes", path,
                              max);
        break;
      }
      nbuf = malloc(ncap + 1);
      if (nbuf == NULL) {
        st = gauth__error_nomem(err);
        break;
      }
      if (buf != NULL) {
        memcpy(nbuf, buf, n);
        gauth__secret_free(buf, cap + 1);
      }
      buf = nbuf;
      cap = ncap;
    }
    want = cap - n;
    got = fread(buf + n, 1, want, f);
    n += got;
    if (got < want) {
      if (ferror(f)) {
        int e = errno;
        char why[128];
        if (strerror_r(e, why, sizeof(why)) != 0)
          snprintf(why, sizeof(why), "error %d", e);
        st = gauth__error_set(err, GAUTH_E_IO, "cannot read \"%.200s\": %s",
                              path, why);
      }
      break;
    }
    if (n > max) {
      st = gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "\"%.200s\" is over the limit of %zu bytes", path,
                            max);
      break;
    }
  }
  fclose(f);
  if (st != GAUTH_OK) {
    if (buf != NULL) gauth__secret_free(buf, cap + 1);
    return st;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return GAUTH_OK;
}
