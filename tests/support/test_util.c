/* Test support: clock, log capture, certificates, temporary files. */
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Test helpers have no error channel: a broken fixture is a broken test
 * program, so stop loudly rather than let a test pass on garbage. */
static void die(const char *what) {
  fprintf(stderr, "test support: %s\n", what);
  abort();
}

int64_t tu_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- log capture --------------------------------------------------------- */

void tu_log_init(tu_log *log) {
  pthread_mutex_t *mu = malloc(sizeof(*mu));
  if (mu == NULL) die("out of memory");
  pthread_mutex_init(mu, NULL);
  log->text = calloc(1, 1);
  if (log->text == NULL) die("out of memory");
  log->len = 0;
  log->lines = 0;
  log->mutex = mu;
}

void tu_log_cleanup(tu_log *log) {
  if (log->mutex != NULL) {
    pthread_mutex_destroy(log->mutex);
    free(log->mutex);
  }
  free(log->text);
  memset(log, 0, sizeof(*log));
}

/* Own names rather than gauth_log_level_name(): the capture must keep
 * working (and stay readable) even when the library's table is broken. */
static const char *level_name(gauth_log_level level) {
  switch (level) {
    case GAUTH_LOG_DEBUG: return "debug";
    case GAUTH_LOG_INFO: return "info";
    case GAUTH_LOG_WARN: return "warn";
    case GAUTH_LOG_ERROR: return "error";
    case GAUTH_LOG_OFF: return "off";
  }
  return "?";
}

void tu_log_capture(gauth_log_level level, const char *message,
                    void *userdata) {
  tu_log *log = userdata;
  const char *name = level_name(level);
  size_t add = strlen(name) + 1 + strlen(message) + 1;
  char *grown;
  pthread_mutex_lock(log->mutex);
  grown = realloc(log->text, log->len + add + 1);
  if (grown == NULL) die("out of memory");
  log->text = grown;
  snprintf(log->text + log->len, add + 1, "%s %s\n", name, message);
  log->len += add;
  log->lines++;
  pthread_mutex_unlock(log->mutex);
}

/* ---- certificates -------------------------------------------------------- */

static char *bio_to_string(BIO *bio) {
  char *data = NULL;
  long n = BIO_get_mem_data(bio, &data);
  char *out;
  if (n < 0) die("BIO_get_mem_data");
  out = malloc((size_t)n + 1);
  if (out == NULL) die("out of memory");
  memcpy(out, data, (size_t)n);
  out[n] = '\0';
  return out;
}

static void add_ext(X509 *cert, int nid, const char *value) {
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL || !X509_add_ext(cert, ext, -1)) die("X509 extension");
  X509_EXTENSION_free(ext);
}

void tu_make_cert(char **cert_pem, char **key_pem) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *cert = X509_new();
  X509_NAME *name;
  unsigned char serial[8];
  BIGNUM *bn;
  BIO *bio;

  if (key == NULL || cert == NULL) die("EVP_EC_gen / X509_new");
  if (!X509_set_version(cert, 2)) die("X509_set_version");
  if (RAND_bytes(serial, sizeof(serial)) != 1) die("RAND_bytes");
  serial[0] &= 0x7f; /* a positive serial number */
  bn = BN_bin2bn(serial, sizeof(serial), NULL);
  if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL)
    die("serial");
  BN_free(bn);
  /* Valid from a minute ago (clock skew between "now"s) for one day. */
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -60) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600) == NULL)
    die("validity");
  name = X509_get_subject_name(cert);
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  (const unsigned char *)"localhost", -1, -1,
                                  0))
    die("subject");
  if (!X509_set_issuer_name(cert, name)) die("issuer");
  if (!X509_set_pubkey(cert, key)) die("X509_set_pubkey");
  add_ext(cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  add_ext(cert, NID_subject_key_identifier, "hash");
  if (X509_sign(cert, key, EVP_sha256()) <= 0) die("X509_sign");

  bio = BIO_new(BIO_s_mem());
  if (bio == NULL || !PEM_write_bio_X509(bio, cert)) die("PEM cert");
  *cert_pem = bio_to_string(bio);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  if (bio == NULL ||
      !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
    die("PEM key");
  *key_pem = bio_to_string(bio);
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
}

/* ---- temporary files ----------------------------------------------------- */

char *tu_write_temp(const char *text) {
  const char *dir = getenv("TMPDIR");
  size_t len = strlen(text);
  size_t off = 0;
  char *path;
  int fd;
  if (dir == NULL || dir[0] == '\0') dir = "/tmp";
  path = malloc(strlen(dir) + sizeof("/gauth-test-XXXXXX"));
  if (path == NULL) die("out of memory");
  sprintf(path, "%s/gauth-test-XXXXXX", dir);
  fd = mkstemp(path);
  if (fd < 0) die("mkstemp");
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n <= 0) die("write");
    off += (size_t)n;
  }
  if (close(fd) != 0) die("close");
  return path;
}
