/* gauth-emulator: AWS Signature Version 4, the verifying side: what AWS
 * recomputes from a signed request to check its Authorization header (the
 * canonical request, the string to sign, the derived signing key). Written
 * from AWS's "Create a signed AWS API request" steps, independently of
 * libgauth's signer, so that each checks the other. OpenSSL's HMAC and
 * SHA-256 (EVP_Q_mac, EVP_Digest). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strncasecmp, strdup */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "emulator.h"

#define SIGV4_ALG "AWS4-HMAC-SHA256"

static void why_set(char *why, size_t n, const char *msg) {
  if (why != NULL && n > 0) snprintf(why, n, "%s", msg);
}

/* Copies the value of "Name=" in an Authorization header (up to ',' or the
 * end) into out; 0 when absent or too long. */
static int auth_param(const char *h, const char *name, char *out, size_t n) {
  size_t nl = strlen(name);
  for (const char *p = h; (p = strstr(p, name)) != NULL; p += nl) {
    /* A parameter starts after the algorithm's space, or a ',' and
     * optional spaces. */
    const char *q = p;
    while (q > h && q[-1] == ' ') q--;
    if (q != h && q[-1] != ',' && p[-1] != ' ') continue;
    if (p[nl] != '=') continue;
    const char *v = p + nl + 1;
    size_t len = strcspn(v, ",");
    while (len > 0 && v[len - 1] == ' ') len--;
    if (len == 0 || len >= n) return 0;
    memcpy(out, v, len);
    out[len] = '\0';
    return 1;
  }
  return 0;
}

int emu_sigv4_parse_auth(const char *header, emu_sigv4_auth *out, char *why,
                         size_t whylen) {
  char cred[400];
  memset(out, 0, sizeof *out);
  if (header == NULL || strncmp(header, SIGV4_ALG " ", sizeof SIGV4_ALG) != 0) {
    why_set(why, whylen,
            "Unsupported AWS 'algorithm' in the Authorization header: "
            "only AWS4-HMAC-SHA256 is supported.");
    return -1;
  }
  const char *h = header + sizeof SIGV4_ALG;
  if (!auth_param(h, "Credential", cred, sizeof cred) ||
      !auth_param(h, "SignedHeaders", out->signed_headers,
                  sizeof out->signed_headers) ||
      !auth_param(h, "Signature", out->signature, sizeof out->signature)) {
    why_set(why, whylen,
            "Authorization header requires 'Credential', 'Signature' and "
            "'SignedHeaders' parameters.");
    return -1;
  }
  /* AKID/DATE/REGION/SERVICE/aws4_request */
  char *parts[5] = {0};
  size_t np = 0;
  char *save = NULL;
  for (char *t = strtok_r(cred, "/", &save); t != NULL && np < 5;
       t = strtok_r(NULL, "/", &save))
    parts[np++] = t;
  if (np != 5 || strtok_r(NULL, "/", &save) != NULL ||
      strlen(parts[0]) >= sizeof out->access_key_id ||
      strlen(parts[1]) >= sizeof out->date ||
      strlen(parts[2]) >= sizeof out->region ||
      strlen(parts[3]) >= sizeof out->service ||
      strlen(parts[4]) >= sizeof out->terminator) {
    why_set(why, whylen,
            "Credential should be of the form "
            "ACCESS_KEY_ID/DATE/REGION/SERVICE/aws4_request.");
    return -1;
  }
  snprintf(out->access_key_id, sizeof out->access_key_id, "%s", parts[0]);
  snprintf(out->date, sizeof out->date, "%s", parts[1]);
  snprintf(out->region, sizeof out->region, "%s", parts[2]);
  snprintf(out->service, sizeof out->service, "%s", parts[3]);
  snprintf(out->terminator, sizeof out->terminator, "%s", parts[4]);
  return 0;
}

/* ---- a growing buffer ---------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->p == NULL || b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (np == NULL) abort();
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* ---- the canonical request ---------------------------------------------- */

static int str_ptr_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The query's name=value pairs sorted (they come URI-encoded, as signers
 * send them). */
static void canonical_query(sbuf *b, const char *query) {
  char *q = strdup(query ? query : "");
  char *pairs[64];
  size_t n = 0;
  char *save = NULL;
  if (q == NULL) abort();
  for (char *t = strtok_r(q, "&", &save); t != NULL && n < 64;
       t = strtok_r(NULL, "&", &save))
    pairs[n++] = t;
  qsort(pairs, n, sizeof pairs[0], str_ptr_cmp);
  for (size_t i = 0; i < n; i++) {
    if (i) sb_str(b, "&");
    sb_str(b, pairs[i]);
    if (strchr(pairs[i], '=') == NULL) sb_str(b, "=");
  }
  free(q);
}

/* A header value as SigV4 signs it: leading and trailing spaces gone, runs
 * of spaces one space. */
static void trimmed(sbuf *b, const char *v) {
  int space = 0, any = 0;
  for (; *v; v++) {
    if (*v == ' ' || *v == '\t') {
      space = any;
      continue;
    }
    if (space) sb_str(b, " ");
    space = 0;
    any = 1;
    sb_add(b, v, 1);
  }
}

/* "name:value\n" for each signed header, in the order of signed_headers
 * (a signer lists them sorted); the values of repeated headers joined with
 * ','. 0, or -1 when one is missing. */
static int canonical_headers(sbuf *b, const emu_sigv4_header *h, size_t nh,
                             const char *signed_headers) {
  const char *p = signed_headers;
  while (*p) {
    size_t n = strcspn(p, ";");
    int found = 0;
    sbuf name = {0};
    sb_add(&name, p, n);
    for (char *c = name.p; *c; c++)
      if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    sb_str(b, name.p);
    sb_str(b, ":");
    for (size_t i = 0; i < nh; i++) {
      if (strlen(h[i].name) != n || strncasecmp(h[i].name, p, n) != 0) continue;
      if (found) sb_str(b, ",");
      trimmed(b, h[i].value);
      found = 1;
    }
    sb_str(b, "\n");
    free(name.p);
    if (!found) return -1;
    p += n;
    if (*p == ';') p++;
  }
  return 0;
}

static void sha256_hex(const char *s, size_t n, char out[65]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(s, n, md, &len, EVP_sha256(), NULL);
  for (size_t i = 0; i < 32; i++) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  out[64] = '\0';
}

static int hmac(const void *key, size_t keylen, const char *msg,
                unsigned char out[32]) {
  size_t len = 0;
  return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
                   (const unsigned char *)msg, strlen(msg), out, 32,
                   &len) != NULL &&
                 len == 32
             ? 0
             : -1;
}

int emu_sigv4_signature(const char *method, const char *uri, const char *query,
                        const emu_sigv4_header *headers, size_t nheaders,
                        const char *signed_headers, const char *payload_hash,
                        const char *amz_date, const char *date,
                        const char *region, const char *service,
                        const char *secret, char out[65], char *why,
                        size_t whylen) {
  sbuf cr = {0}, sts = {0}, k = {0};
  char crhash[65];
  unsigned char key[32], tmp[32], sig[32];
  int rc = -1;

  sb_str(&cr, method);
  sb_str(&cr, "\n");
  sb_str(&cr, uri[0] ? uri : "/");
  sb_str(&cr, "\n");
  canonical_query(&cr, query);
  sb_str(&cr, "\n");
  if (canonical_headers(&cr, headers, nheaders, signed_headers) != 0) {
    why_set(why, whylen,
            "A header named in SignedHeaders is not in the request.");
    goto out;
  }
  sb_str(&cr, "\n");
  sb_str(&cr, signed_headers);
  sb_str(&cr, "\n");
  sb_str(&cr, payload_hash);
  sha256_hex(cr.p, cr.len, crhash);

  sb_str(&sts, SIGV4_ALG "\n");
  sb_str(&sts, amz_date);
  sb_str(&sts, "\n");
  sb_str(&sts, date);
  sb_str(&sts, "/");
  sb_str(&sts, region);
  sb_str(&sts, "/");
  sb_str(&sts, service);
  sb_str(&sts, "/aws4_request\n");
  sb_str(&sts, crhash);

  /* kDate = HMAC("AWS4" + secret, date), then region, service,
   * "aws4_request"; the signature is HMAC(kSigning, string to sign). */
  sb_str(&k, "AWS4");
  sb_str(&k, secret);
  if (hmac(k.p, k.len, date, key) != 0 || hmac(key, 32, region, tmp) != 0 ||
      hmac(tmp, 32, service, key) != 0 ||
      hmac(key, 32, "aws4_request", tmp) != 0 ||
      hmac(tmp, 32, sts.p, sig) != 0) {
    why_set(why, whylen, "HMAC-SHA256 failed.");
    goto out;
  }
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < 32; i++) {
    out[2 * i] = digits[sig[i] >> 4];
    out[2 * i + 1] = digits[sig[i] & 15];
  }
  out[64] = '\0';
  rc = 0;
out:
  if (k.p != NULL) OPENSSL_cleanse(k.p, k.len);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(tmp, sizeof tmp);
  free(k.p);
  free(cr.p);
  free(sts.p);
  return rc;
}
