/* Status names and messages, and filling a caller's gauth_error. */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define GAUTH_LIB_ERROR_C /* the definitions: see error_internal.h */
#include "error_internal.h"
#include "redact.h"

/* No default case: the compiler flags a status without a message. */
const char *gauth_strerror(gauth_status status) {
  switch (status) {
    case GAUTH_OK: return "success";
    case GAUTH_E_INVALID_ARG: return "invalid argument";
    case GAUTH_E_NOMEM: return "out of memory";
    case GAUTH_E_IO: return "file or I/O error";
    case GAUTH_E_MALFORMED: return "malformed input";
    case GAUTH_E_TOO_LARGE: return "input or reply over a size limit";
    case GAUTH_E_NETWORK: return "network error";
    case GAUTH_E_TIMEOUT: return "timed out";
    case GAUTH_E_TLS: return "TLS error";
    case GAUTH_E_INSECURE_URL: return "URL refused as insecure or invalid";
    case GAUTH_E_HTTP: return "HTTP error status";
    case GAUTH_E_UNAUTHENTICATED: return "credentials rejected";
    case GAUTH_E_PERMISSION_DENIED: return "permission denied";
    case GAUTH_E_NOT_FOUND: return "not found";
    case GAUTH_E_RATE_LIMITED: return "rate limited";
    case GAUTH_E_UNAVAILABLE: return "service unavailable";
    case GAUTH_E_BAD_RESPONSE: return "reply could not be understood";
    case GAUTH_E_VERIFY: return "token rejected";
    case GAUTH_E_CRYPTO: return "cryptographic operation failed";
    case GAUTH_E_UNSUPPORTED: return "not supported";
    case GAUTH_E_NO_CREDENTIALS: return "no credentials found";
    case GAUTH_E_INTERNAL: return "internal error";
    case GAUTH_E_CANCELLED: return "cancelled";
  }
  return "unknown status";
}

const char *gauth_status_name(gauth_status status) {
  switch (status) {
    case GAUTH_OK: return "GAUTH_OK";
    case GAUTH_E_INVALID_ARG: return "GAUTH_E_INVALID_ARG";
    case GAUTH_E_NOMEM: return "GAUTH_E_NOMEM";
    case GAUTH_E_IO: return "GAUTH_E_IO";
    case GAUTH_E_MALFORMED: return "GAUTH_E_MALFORMED";
    case GAUTH_E_TOO_LARGE: return "GAUTH_E_TOO_LARGE";
    case GAUTH_E_NETWORK: return "GAUTH_E_NETWORK";
    case GAUTH_E_TIMEOUT: return "GAUTH_E_TIMEOUT";
    case GAUTH_E_TLS: return "GAUTH_E_TLS";
    case GAUTH_E_INSECURE_URL: return "GAUTH_E_INSECURE_URL";
    case GAUTH_E_HTTP: return "GAUTH_E_HTTP";
    case GAUTH_E_UNAUTHENTICATED: return "GAUTH_E_UNAUTHENTICATED";
    case GAUTH_E_PERMISSION_DENIED: return "GAUTH_E_PERMISSION_DENIED";
    case GAUTH_E_NOT_FOUND: return "GAUTH_E_NOT_FOUND";
    case GAUTH_E_RATE_LIMITED: return "GAUTH_E_RATE_LIMITED";
    case GAUTH_E_UNAVAILABLE: return "GAUTH_E_UNAVAILABLE";
    case GAUTH_E_BAD_RESPONSE: return "GAUTH_E_BAD_RESPONSE";
    case GAUTH_E_VERIFY: return "GAUTH_E_VERIFY";
    case GAUTH_E_CRYPTO: return "GAUTH_E_CRYPTO";
    case GAUTH_E_UNSUPPORTED: return "GAUTH_E_UNSUPPORTED";
    case GAUTH_E_NO_CREDENTIALS: return "GAUTH_E_NO_CREDENTIALS";
    case GAUTH_E_INTERNAL: return "GAUTH_E_INTERNAL";
    case GAUTH_E_CANCELLED: return "GAUTH_E_CANCELLED";
  }
  return "GAUTH_E_UNKNOWN";
}

void gauth_error_clear(gauth_error *err) {
  if (err == NULL) return;
  memset(err, 0, sizeof(*err));
  err->code = GAUTH_OK;
}

void gauth__strlcpy_utf8(char *dst, const char *src, size_t size) {
  size_t n;
  if (size == 0) return;
  if (src == NULL) src = "";
  n = strlen(src);
  if (n >= size) {
    n = size - 1;
    /* Back off over UTF-8 continuation bytes so that no character is cut. */
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
  }
  memmove(dst, src, n);
  dst[n] = '\0';
}

static void set_message(gauth_error *err, const char *fmt, va_list ap)
    GAUTH_PRINTF(2, 0);

static void set_message(gauth_error *err, const char *fmt, va_list ap) {
  char buf[GAUTH_ERROR_MESSAGE_SIZE * 2];
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  if (n < 0) buf[0] = '\0';
  gauth__redact_buf(buf, sizeof(buf), NULL);
  gauth__strlcpy_utf8(err->message, buf, sizeof(err->message));
}

gauth_status gauth__error_set(gauth_error *err, gauth_status code,
                              const char *fmt, ...) {
  va_list ap;
  if (err == NULL) return code;
  gauth_error_clear(err);
  err->code = code;
  va_start(ap, fmt);
  set_message(err, fmt, ap);
  va_end(ap);
  return code;
}

gauth_status gauth__error_set_http(gauth_error *err, gauth_status code,
                                   int http_status, const char *error_code,
                                   const char *fmt, ...) {
  va_list ap;
  if (err == NULL) return code;
  gauth_error_clear(err);
  err->code = code;
  err->http_status = http_status;
  if (error_code != NULL) {
    gauth__strlcpy_utf8(err->error_code, error_code, sizeof(err->error_code));
    gauth__redact_buf(err->error_code, sizeof(err->error_code), NULL);
  }
  va_start(ap, fmt);
  set_message(err, fmt, ap);
  va_end(ap);
  return code;
}

gauth_status gauth__error_set_verify(gauth_error *err, const char *reason,
                                     const char *fmt, ...) {
  va_list ap;
  if (err == NULL) return GAUTH_E_VERIFY;
  gauth_error_clear(err);
  err->code = GAUTH_E_VERIFY;
  gauth__strlcpy_utf8(err->reason, reason, sizeof(err->reason));
  va_start(ap, fmt);
  set_message(err, fmt, ap);
  va_end(ap);
  return GAUTH_E_VERIFY;
}

void gauth__error_prefix(gauth_error *err, const char *fmt, ...) {
  char prefix[GAUTH_ERROR_MESSAGE_SIZE];
  char buf[GAUTH_ERROR_MESSAGE_SIZE * 2 + 4];
  va_list ap;
  int n;
  if (err == NULL) return;
  va_start(ap, fmt);
  n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  snprintf(buf, sizeof(buf), "%s: %s", prefix, err->message);
  gauth__redact_buf(buf, sizeof(buf), NULL);
  gauth__strlcpy_utf8(err->message, buf, sizeof(err->message));
}

gauth_status gauth__error_nomem(gauth_error *err) {
  return gauth__error_set(err, GAUTH_E_NOMEM, "out of memory");
}

void gauth__error_copy(gauth_error *dst, const gauth_error *src) {
  if (dst == NULL) return;
  if (src == NULL) {
    gauth_error_clear(dst);
    return;
  }
  if (dst != src) memcpy(dst, src, sizeof(*dst));
}

char *gauth__strdup(const char *s) {
  size_t n;
  char *c;
  if (s == NULL) return NULL;
  n = strlen(s) + 1;
  c = malloc(n);
  if (c != NULL) memcpy(c, s, n);
  return c;
}

char *gauth__vstrf(const char *fmt, va_list ap) {
  va_list ap2;
  int n;
  char *s;
  va_copy(ap2, ap);
  n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) return NULL;
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

char *gauth__strf(const char *fmt, ...) {
  va_list ap;
  char *s;
  va_start(ap, fmt);
  s = gauth__vstrf(fmt, ap);
  va_end(ap);
  return s;
}

void gauth__strv_free(char **v) {
  if (v == NULL) return;
  for (size_t i = 0; v[i] != NULL; i++) free(v[i]);
  free(v);
}

gauth_status gauth__strv_copy(const char *const *src, const char *owner,
                              const char *what, char ***out, gauth_error *err) {
  size_t n = 0, i;
  char **v;
  *out = NULL;
  if (src == NULL) return GAUTH_OK;
  while (src[n] != NULL) n++;
  if (n == 0) return GAUTH_OK;
  v = calloc(n + 1, sizeof(*v));
  if (v == NULL) return gauth__error_nomem(err);
  for (i = 0; i < n; i++) {
    if (src[i][0] == '\0') {
      gauth__strv_free(v);
      return gauth__error_set(err, GAUTH_E_INVALID_ARG, "%s: %s %zu is empty",
                              owner, what, i);
    }
    v[i] = strdup(src[i]);
    if (v[i] == NULL) {
      gauth__strv_free(v);
      return gauth__error_nomem(err);
    }
  }
  *out = v;
  return GAUTH_OK;
}

gauth_status gauth__strdup_out(const char *s, char **out, gauth_error *err) {
  *out = strdup(s);
  return *out != NULL ? GAUTH_OK : gauth__error_nomem(err);
}
