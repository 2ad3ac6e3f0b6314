/* AWS Signature Version 4, as AWS documents it ("Create a canonical
 * request", "Create a string to sign", "Calculate the signature"):
 *
 *   canonical request = METHOD \n URI \n QUERY \n HEADERS \n SIGNED \n
 *                       hex(sha256(body))
 *   string to sign    = AWS4-HMAC-SHA256 \n AMZDATE \n SCOPE \n
 *                       hex(sha256(canonical request))
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, DATE), REGION),
 *                       SERVICE), "aws4_request")
 *
 * The URI is the request's path encoded once more (AWS: every service but
 * S3 encodes the path twice; the first encoding is the one on the wire),
 * "/" when empty. The query's pairs are decoded ('+' is a space, as the
 * libraries' query parsers take it), re-encoded with only unreserved bytes
 * left as they are, and sorted by name then value. Header names are
 * lower-cased, values trimmed with inner runs of spaces collapsed. URL
 * parsing is libcurl's (curl_url), hashing and HMAC OpenSSL's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "aws_sigv4.h"
#include "error_internal.h"
#include "secret.h"

#define SHA256_LEN 32

/* ---- small builders ------------------------------------------------------ */

/* A growing string; on allocation failure `failed` is set and appends do
 * nothing. Wiped when freed: canonical requests may hold a session token. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *q = malloc(cap);
    if (q == NULL) {
      b->failed = 1;
      return;
    }
    if (b->p != NULL) {
      memcpy(q, b->p, b->len);
      gauth__secret_free(b->p, b->cap);
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_free(sbuf *b) {
  if (b->p != NULL) gauth__secret_free(b->p, b->cap);
  memset(b, 0, sizeof *b);
}

/* The string built (owned by the caller), or NULL when an append failed. */
static char *sb_take(sbuf *b) {
  char *s;
  if (!b->failed && b->p == NULL) sb_add(b, "", 0);
  if (b->failed) {
    sb_free(b);
    return NULL;
  }
  s = b->p;
  b->p = NULL;
  sb_free(b);
  return s;
}

static void hex_encode(const unsigned char *in, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[in[i] >> 4];
    out[2 * i + 1] = hex[in[i] & 0xf];
  }
  out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[65]) {
  unsigned char md[SHA256_LEN];
  unsigned int mdlen = 0;
  if (!EVP_Digest(data != NULL ? data : "", len, md, &mdlen, EVP_sha256(),
                  NULL) ||
      mdlen != SHA256_LEN)
    return 0;
  hex_encode(md, SHA256_LEN, out);
  return 1;
}

static int hmac256(const void *key, size_t klen, const char *msg,
                   unsigned char out[SHA256_LEN]) {
  unsigned int n = 0;
  return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
              strlen(msg), out, &n) != NULL &&
         n == SHA256_LEN;
}

/* ---- encoding ------------------------------------------------------------ */

static int unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

char *gauth__sigv4_uri_encode(const char *s, size_t len, int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  char *out, *o;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    n += unreserved(c) || (keep_slash && c == '/') ? 1 : 3;
  }
  if ((out = malloc(n + 1)) == NULL) return NULL;
  o = out;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (unreserved(c) || (keep_slash && c == '/')) {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 0xf];
    }
  }
  *o = '\0';
  return out;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Query decoding: %XX (a malformed escape stays as it is) and '+' as a
 * space. Writes at most n bytes to out; returns the length. */
static size_t query_decode(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
        hexval(s[i + 2]) >= 0) {
      out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out[o++] = s[i] == '+' ? ' ' : s[i];
    }
  }
  return o;
}

/* ---- the canonical query ------------------------------------------------- */

typedef struct qpair {
  char *name, *value; /* encoded */
} qpair;

static int qpair_cmp(const void *a, const void *b) {
  const qpair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c != 0 ? c : strcmp(x->value, y->value);
}

/* One "name=value" piece (n bytes at s), decoded then encoded. */
static int qpair_make(const char *s, size_t n, qpair *out) {
  const char *eq = memchr(s, '=', n);
  size_t kn = eq ? (size_t)(eq - s) : n, vn = eq ? n - kn - 1 : 0;
  char *buf = malloc(n + 1);
  size_t d;
  if (buf == NULL) return 0;
  d = query_decode(s, kn, buf);
  out->name = gauth__sigv4_uri_encode(buf, d, 0);
  d = query_decode(eq ? eq + 1 : "", vn, buf);
  out->value = gauth__sigv4_uri_encode(buf, d, 0);
  gauth__secret_free(buf, n + 1);
  return out->name != NULL && out->value != NULL;
}

static char *canonical_query(const char *query) {
  size_t n = 0, cap = 1;
  qpair *pairs;
  sbuf b = {0};
  const char *p;
  if (query == NULL) query = "";
  for (p = query; *p; p++) cap += *p == '&';
  if ((pairs = calloc(cap, sizeof *pairs)) == NULL) return NULL;
  for (p = query; *p;) {
    size_t len = strcspn(p, "&");
    if (len > 0 && !qpair_make(p, len, &pairs[n++])) b.failed = 1;
    p += len;
    if (*p == '&') p++;
  }
  if (!b.failed) qsort(pairs, n, sizeof *pairs, qpair_cmp);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) sb_str(&b, "&");
    if (pairs[i].name && pairs[i].value) {
      sb_str(&b, pairs[i].name);
      sb_str(&b, "=");
      sb_str(&b, pairs[i].value);
    }
    free(pairs[i].name);
    free(pairs[i].value);
  }
  free(pairs);
  return sb_take(&b);
}

/* ---- headers ------------------------------------------------------------- */

typedef struct cheader {
  char *name;  /* lower-cased */
  char *value; /* trimmed, spaces collapsed (may be a session token) */
} cheader;

static int cheader_cmp(const void *a, const void *b) {
  return strcmp(((const cheader *)a)->name, ((const cheader *)b)->name);
}

static int token_char(unsigned char c) {
  return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

static char *lower_dup(const char *s) {
  char *d = strdup(s);
  for (char *p = d; p && *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  return d;
}

static char *value_dup(const char *s) {
  size_t n = strlen(s), o = 0;
  char *d = malloc(n + 1);
  if (d == NULL) return NULL;
  while (*s == ' ' || *s == '\t') s++;
  for (; *s; s++) {
    int sp = *s == ' ' || *s == '\t';
    if (sp && (o == 0 || d[o - 1] == ' ')) continue;
    d[o++] = sp ? ' ' : *s;
  }
  while (o > 0 && d[o - 1] == ' ') o--;
  d[o] = '\0';
  return d;
}

static void cheaders_free(cheader *h, size_t n) {
  for (size_t i = 0; i < n && h != NULL; i++) {
    free(h[i].name);
    gauth__secret_strfree(h[i].value);
  }
  free(h);
}

static int reserved_name(const char *lower) {
  return strcmp(lower, "host") == 0 || strcmp(lower, "x-amz-date") == 0 ||
         strcmp(lower, "x-amz-security-token") == 0 ||
         strcmp(lower, "authorization") == 0;
}

/* The sorted header list: the request's own plus host, x-amz-date and the
 * session token's. */
static gauth_status build_headers(const gauth__sigv4_request *req,
                                  const char *host, const char *amz_date,
                                  cheader **out, size_t *count,
                                  gauth_error *err) {
  size_t n = 0, max = req->header_count + 3;
  cheader *h = calloc(max, sizeof *h);
  gauth_status st = GAUTH_OK;
  if (h == NULL) return gauth__error_nomem(err);
  for (size_t i = 0; i < req->header_count && st == GAUTH_OK; i++) {
    const char *name = req->headers[i].name, *value = req->headers[i].value;
    int ok = name != NULL && name[0] != '\0' && value != NULL;
    for (const char *p = name; ok && *p; p++)
      ok = token_char((unsigned char)*p);
    for (const char *p = value; ok && *p; p++)
      ok = (unsigned char)*p >= 0x20 || *p == '\t';
    if (!ok) {
      st = gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "AWS signature: header %zu is not a header name "
                            "with a one-line value",
                            i);
      break;
    }
    h[n].name = lower_dup(name);
    h[n].value = value_dup(value);
    if (h[n].name == NULL || h[n++].value == NULL) {
      st = gauth__error_nomem(err);
    } else if (reserved_name(h[n - 1].name)) {
      st = gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "AWS signature: header %s is set by the signer",
                            h[n - 1].name);
    } else {
      for (size_t j = 0; j + 1 < n && st == GAUTH_OK; j++)
        if (strcmp(h[j].name, h[n - 1].name) == 0)
          st = gauth__error_set(err, GAUTH_E_INVALID_ARG,
                                "AWS signature: header %s given twice",
                                h[j].name);
    }
  }
#define ADD(name_, value_)                         \
  do {                                             \
    if (st != GAUTH_OK) break;                     \
    h[n].name = strdup(name_);                     \
    h[n].value = value_dup(value_);                \
    if (h[n].name == NULL || h[n++].value == NULL) \
      st = gauth__error_nomem(err);                \
  } while (0)
  ADD("host", host);
  ADD("x-amz-date", amz_date);
  if (req->session_token != NULL)
    ADD("x-amz-security-token", req->session_token);
#undef ADD
  if (st != GAUTH_OK) {
    cheaders_free(h, max);
    return st;
  }
  qsort(h, n, sizeof *h, cheader_cmp);
  *out = h;
  *count = n;
  return GAUTH_OK;
}

/* ---- the URL ------------------------------------------------------------- */

typedef struct url_parts {
  char *host; /* host[:port] */
  char *path; /* canonical */
  char *query;
} url_parts;

static void url_parts_free(url_parts *u) {
  free(u->host);
  free(u->path);
  free(u->query);
  memset(u, 0, sizeof *u);
}

static gauth_status split_url(const char *url, url_parts *out,
                              gauth_error *err) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
  gauth_status st = GAUTH_OK;
  memset(out, 0, sizeof *out);
  if (u == NULL) return gauth__error_nomem(err);
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      host[0] == '\0') {
    st = gauth__error_set(err, GAUTH_E_INVALID_ARG,
                          "AWS signature: the URL does not parse or has no "
                          "host");
  } else {
    size_t n;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK) port = NULL;
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) path = NULL;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK) query = NULL;
    n = strlen(host) + (port ? strlen(port) + 1 : 0) + 1;
    if ((out->host = malloc(n)) != NULL)
      snprintf(out->host, n, "%s%s%s", host, port ? ":" : "", port ? port : "");
    out->path = path != NULL && path[0] != '\0'
                    ? gauth__sigv4_uri_encode(path, strlen(path), 1)
                    : strdup("/");
    out->query = canonical_query(query);
    if (out->host == NULL || out->path == NULL || out->query == NULL) {
      url_parts_free(out);
      st = gauth__error_nomem(err);
    }
  }
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_url_cleanup(u);
  return st;
}

/* ---- signing ------------------------------------------------------------- */

static gauth_status format_time(int64_t t, char amz[17], char date[9],
                                gauth_error *err) {
  struct tm tm;
  time_t tt = (time_t)t;
  if (t < 0 || t > 253402300799 || (int64_t)tt != t ||
      gmtime_r(&tt, &tm) == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "AWS signature: time %lld is out of range",
                            (long long)t);
  strftime(amz, 17, "%Y%m%dT%H%M%SZ", &tm);
  memcpy(date, amz, 8);
  date[8] = '\0';
  return GAUTH_OK;
}

static char *canonical_request(const gauth__sigv4_request *req,
                               const url_parts *u, const cheader *h, size_t n,
                               char **signed_headers) {
  sbuf b = {0}, s = {0};
  char body_hash[65];
  if (!sha256_hex(req->body, req->body ? req->body_len : 0, body_hash))
    return NULL;
  sb_str(&b, req->method);
  sb_str(&b, "\n");
  sb_str(&b, u->path);
  sb_str(&b, "\n");
  sb_str(&b, u->query);
  sb_str(&b, "\n");
  for (size_t i = 0; i < n; i++) {
    sb_str(&b, h[i].name);
    sb_str(&b, ":");
    sb_str(&b, h[i].value);
    sb_str(&b, "\n");
    if (i > 0) sb_str(&s, ";");
    sb_str(&s, h[i].name);
  }
  sb_str(&b, "\n");
  sb_str(&b, s.p ? s.p : "");
  sb_str(&b, "\n");
  sb_str(&b, body_hash);
  if ((*signed_headers = sb_take(&s)) == NULL) {
    sb_free(&b);
    return NULL;
  }
  return sb_take(&b);
}

/* hex(HMAC(signing key, string to sign)) into sig (65 bytes). */
static int signature(const gauth__sigv4_request *req, const char *date,
                     const char *sts, char sig[65]) {
  unsigned char k[SHA256_LEN], k2[SHA256_LEN];
  size_t slen = strlen(req->secret_access_key) + 5;
  char *seed = malloc(slen);
  int ok;
  if (seed == NULL) return 0;
  snprintf(seed, slen, "AWS4%s", req->secret_access_key);
  ok = hmac256(seed, slen - 1, date, k) &&
       hmac256(k, SHA256_LEN, req->region, k2) &&
       hmac256(k2, SHA256_LEN, req->service, k) &&
       hmac256(k, SHA256_LEN, "aws4_request", k2) &&
       hmac256(k2, SHA256_LEN, sts, k);
  if (ok) hex_encode(k, SHA256_LEN, sig);
  gauth__secret_free(seed, slen);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(k2, sizeof k2);
  return ok;
}

static gauth_status check_request(const gauth__sigv4_request *req,
                                  gauth_error *err) {
  const char *missing = req == NULL                      ? "request"
                        : req->method == NULL            ? "method"
                        : req->url == NULL               ? "url"
                        : req->region == NULL            ? "region"
                        : req->service == NULL           ? "service"
                        : req->access_key_id == NULL     ? "access key id"
                        : req->secret_access_key == NULL ? "secret access key"
                        : req->header_count > 0 && req->headers == NULL
                            ? "headers"
                            : NULL;
  if (missing != NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "AWS signature: no %s",
                            missing);
  if (req->method[0] == '\0' || req->region[0] == '\0' ||
      req->service[0] == '\0' || req->access_key_id[0] == '\0' ||
      strpbrk(req->region, "/ \n") || strpbrk(req->service, "/ \n") ||
      strpbrk(req->access_key_id, "/ \n,") || strpbrk(req->method, " \n"))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "AWS signature: empty method, region, service or "
                            "access key id, or one with '/', ',' or a space");
  return GAUTH_OK;
}

gauth_status gauth__sigv4_sign(const gauth__sigv4_request *req,
                               gauth__sigv4_result *out, gauth_error *err) {
  char date[9], scope[256], creq_hash[65], sig[65];
  url_parts u;
  cheader *h = NULL;
  size_t n = 0;
  sbuf b = {0};
  gauth_status st;
  memset(out, 0, sizeof *out);
  st = check_request(req, err);
  if (st == GAUTH_OK) st = format_time(req->time, out->amz_date, date, err);
  if (st != GAUTH_OK) return st;
  if (snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, req->region,
               req->service) >= (int)sizeof scope)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "AWS signature: region or service too long");
  st = split_url(req->url, &u, err);
  if (st != GAUTH_OK) return st;
  st = build_headers(req, u.host, out->amz_date, &h, &n, err);
  if (st == GAUTH_OK &&
      ((out->canonical_request =
            canonical_request(req, &u, h, n, &out->signed_headers)) == NULL ||
       !sha256_hex(out->canonical_request, strlen(out->canonical_request),
                   creq_hash)))
    st = gauth__error_nomem(err);
  if (st == GAUTH_OK) {
    sb_str(&b, GAUTH__SIGV4_ALGORITHM "\n");
    sb_str(&b, out->amz_date);
    sb_str(&b, "\n");
    sb_str(&b, scope);
    sb_str(&b, "\n");
    sb_str(&b, creq_hash);
    if ((out->string_to_sign = sb_take(&b)) == NULL ||
        !signature(req, date, out->string_to_sign, sig))
      st = gauth__error_nomem(err);
  }
  if (st == GAUTH_OK) {
    sb_str(&b, GAUTH__SIGV4_ALGORITHM " Credential=");
    sb_str(&b, req->access_key_id);
    sb_str(&b, "/");
    sb_str(&b, scope);
    sb_str(&b, ", SignedHeaders=");
    sb_str(&b, out->signed_headers);
    sb_str(&b, ", Signature=");
    sb_str(&b, sig);
    if ((out->authorization = sb_take(&b)) == NULL)
      st = gauth__error_nomem(err);
    OPENSSL_cleanse(sig, sizeof sig);
  }
  if (st == GAUTH_OK) {
    out->host = u.host;
    u.host = NULL;
  }
  cheaders_free(h, n);
  url_parts_free(&u);
  if (st != GAUTH_OK) gauth__sigv4_result_cleanup(out);
  return st;
}

void gauth__sigv4_result_cleanup(gauth__sigv4_result *r) {
  if (r == NULL) return;
  free(r->host);
  gauth__secret_strfree(r->canonical_request);
  free(r->string_to_sign);
  free(r->signed_headers);
  gauth__secret_strfree(r->authorization);
  memset(r, 0, sizeof *r);
}
