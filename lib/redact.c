/* Secret redaction: the last line of defence between a secret and a log line
 * or an error message. See redact.h for what is recognised. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "redact.h"

/* Names whose values are secrets, in query strings, form bodies and JSON. */
static const char *const secret_names[] = {
    "access_token",  "accessToken",   "id_token",
    "idToken",       "refresh_token", "refreshToken",
    "assertion",     "client_secret", "clientSecret",
    "subject_token", "subjectToken",  "token",
    "private_key",   "privateKey",    "signedJwt",
    "signedBlob",    "password",      "secret",
    "key",           "code",          "jwt",
    "rapt_token",    "rapt",          "x-goog-iap-jwt-assertion"};

typedef struct buf {
  char *p;
  size_t len, cap;
  int oom;
} buf;

static void buf_add(buf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    char *np;
    while (cap < b->len + n + 1) cap *= 2;
    np = realloc(b->p, cap);
    if (np == NULL) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_redacted(buf *b) {
  buf_add(b, GAUTH__REDACTED, sizeof(GAUTH__REDACTED) - 1);
}

/* Copies the bytes from *plain up to s, which no pattern matched. */
static void flush_plain(buf *b, const char **plain, const char *s) {
  buf_add(b, *plain, (size_t)(s - *plain));
  *plain = s;
}

/* Characters of base64url tokens, JWTs and Google's opaque tokens. */
static int is_token_char(char c) {
  return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' ||
         c == '=' || c == '+' || c == '/' || c == '~';
}

static int is_word_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static size_t token_run(const char *s) {
  size_t n = 0;
  while (s[n] != '\0' && is_token_char(s[n])) n++;
  return n;
}

/* A PEM block from "-----BEGIN" through the end of its "-----END ...-----"
 * line; to the end of the text when the END is missing (a cut message). */
static size_t pem_block(const char *s) {
  const char *end = strstr(gauth__skip_prefix(s, "-----BEGIN"), "-----END");
  const char *close;
  if (end == NULL) return strlen(s);
  close = strstr(gauth__skip_prefix(end, "-----END"), "-----");
  if (close == NULL) return strlen(s);
  return (size_t)(gauth__skip_prefix(close, "-----") - s);
}

/* Length of a secret-named parameter's name at s ("token"), with the
 * separator that follows it, or 0. Sets *json when it is a JSON member. */
static size_t secret_name_at(const char *s, const char *start, int *json) {
  size_t i;
  int quoted = 0;
  if (s > start && (is_word_char(s[-1]))) return 0;
  if (s > start && s[-1] == '"') quoted = 1;
  for (i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++) {
    const char *p;
    /* The first byte rules out most names without a comparison. */
    if (tolower((unsigned char)*s) !=
        tolower((unsigned char)secret_names[i][0]))
      continue;
    p = gauth__skip_prefix_ci(s, secret_names[i]);
    if (p == NULL) continue;
    if (quoted && p[0] == '"') {
      /* "name" : "value" */
      p++;
      while (*p == ' ' || *p == '\t') p++;
      if (*p != ':') continue;
      p++;
      while (*p == ' ' || *p == '\t') p++;
      if (*p != '"') continue;
      *json = 1;
      return (size_t)(p + 1 - s);
    }
    /* "name=value" (query, form). Not "name: value": it reads as prose
     * ("POST .../token: HTTP 400") far more often than as a secret. */
    if (!quoted && p[0] == '=') {
      *json = 0;
      return (size_t)(p - s) + 1;
    }
  }
  return 0;
}

/* Length of a JSON string body up to (not including) the closing quote. */
static size_t json_string_body(const char *s) {
  size_t n = 0;
  while (s[n] != '\0' && s[n] != '"') {
    if (s[n] == '\\' && s[n + 1] != '\0') n++;
    n++;
  }
  return n;
}

/* Replaces every occurrence of the known secrets. */
static char *replace_known(const char *text, const char *const *known) {
  buf b = {0};
  const char *s = text, *plain = text; /* plain: what is not yet copied */
  buf_add(&b, "", 0);
  while (*s != '\0') {
    size_t best = 0, i;
    if (known != NULL) {
      for (i = 0; known[i] != NULL; i++) {
        size_t n;
        if (known[i][0] != *s) continue;
        n = strlen(known[i]);
        if (n >= 4 && n > best && strncmp(s, known[i], n) == 0) best = n;
      }
    }
    if (best > 0) {
      buf_add(&b, plain, (size_t)(s - plain));
      buf_redacted(&b);
      s += best;
      plain = s;
    } else {
      s++;
    }
  }
  buf_add(&b, plain, (size_t)(s - plain));
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

char *gauth__redact(const char *text, const char *const *known) {
  buf b = {0};
  char *work;
  const char *s, *plain;
  if (text == NULL) text = "";
  work = replace_known(text, known);
  if (work == NULL) return NULL;
  buf_add(&b, "", 0);
  s = work;
  /* plain: the bytes since the last pattern, copied in one go before the
   * next pattern's output (or at the end). */
  plain = work;
  while (*s != '\0') {
    size_t n;
    const char *scheme_end;
    int json = 0;
    const char c = *s;
    int boundary = (s == work) || !is_token_char(s[-1]);
    /* Each test below first looks at the byte it starts with. */
    if (c == '-' && gauth__skip_prefix(s, "-----BEGIN") != NULL) {
      flush_plain(&b, &plain, s);
      buf_redacted(&b);
      s += pem_block(s);
      plain = s;
      continue;
    }
    if (c == 'e' && boundary && gauth__skip_prefix(s, "eyJ") != NULL &&
        (n = token_run(s)) >= 10) {
      flush_plain(&b, &plain, s);
      buf_redacted(&b);
      s += n;
      plain = s;
      continue;
    }
    if (c == 'y' && boundary && gauth__skip_prefix(s, "ya29.") != NULL) {
      flush_plain(&b, &plain, s);
      buf_redacted(&b);
      s += token_run(s);
      plain = s;
      continue;
    }
    if (c == '1' && boundary && gauth__skip_prefix(s, "1//") != NULL &&
        token_run(s) > 3) {
      flush_plain(&b, &plain, s);
      buf_redacted(&b);
      s += token_run(s);
      plain = s;
      continue;
    }
    if ((c == 'B' || c == 'b') && (s == work || !is_word_char(s[-1])) &&
        ((scheme_end = gauth__skip_prefix_ci(s, "Bearer ")) != NULL ||
         (scheme_end = gauth__skip_prefix_ci(s, "Basic ")) != NULL)) {
      flush_plain(&b, &plain, s);
      buf_add(&b, s, (size_t)(scheme_end - s));
      s = scheme_end;
      while (*s == ' ') s++;
      if ((n = token_run(s)) > 0) {
        buf_redacted(&b);
        s += n;
      }
      plain = s;
      continue;
    }
    if ((n = secret_name_at(s, work, &json)) > 0) {
      flush_plain(&b, &plain, s);
      buf_add(&b, s, n);
      s += n;
      if (json) {
        size_t v = json_string_body(s);
        if (v > 0) buf_redacted(&b);
        s += v;
      } else {
        size_t v = strcspn(s, "&; \t\r\n\"'<>,");
        if (v > 0) buf_redacted(&b);
        s += v;
      }
      plain = s;
      continue;
    }
    s++;
  }
  flush_plain(&b, &plain, s);
  free(work);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

void gauth__redact_buf(char *buf_, size_t size, const char *const *known) {
  char *r;
  if (buf_ == NULL || size == 0) return;
  buf_[size - 1] = '\0';
  r = gauth__redact(buf_, known);
  if (r == NULL) {
    gauth__strlcpy_utf8(buf_, GAUTH__REDACTED, size);
    return;
  }
  gauth__strlcpy_utf8(buf_, r, size);
  free(r);
}
