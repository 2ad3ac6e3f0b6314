/* Shared by the fuzz targets: the entry point's prototype, a property
 * check that makes libFuzzer record a failed property as a crash, and the
 * "no secret of the input in a message" check.
 *
 * A secret shows when a run of FUZZ_LEAK_RUN bytes (longer than 12) of it
 * appears in the message, and the message follows the input when that run
 * changes (see fuzz_shows). Runs holding a space are not counted: they are
 * prose. */
#ifndef GAUTH_FUZZ_CHECK_H
#define GAUTH_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                     \
      abort();                                                            \
    }                                                                     \
  } while (0)

#define FUZZ_LEAK_RUN 13
/* A string value of the input this long or longer looks like a secret. */
#define FUZZ_SECRET_MIN 16

/* Compares without memcmp, memchr or strstr and without coverage
 * instrumentation, so that the check teaches libFuzzer nothing. */
#if defined(__clang__)
#define FUZZ_UNTRACED __attribute__((no_sanitize("coverage"), noinline))
#else
#define FUZZ_UNTRACED
#endif

/* Runs the parser under test on data again and writes its message to err
 * (left GAUTH_ERROR_INIT when it accepts). */
typedef void (*fuzz_again_fn)(const uint8_t *data, size_t size,
                              gauth_error *err);

/* The offset of the n bytes at w in s (len bytes), or -1. */
FUZZ_UNTRACED static long fuzz_find(const unsigned char *s, size_t len,
                                    const unsigned char *w, size_t n) {
  for (size_t j = 0; j + n <= len; j++) {
    size_t k;
    for (k = 0; k < n && s[j + k] == w[k]; k++) {
    }
    if (k == n) return (long)j;
  }
  return -1;
}

/* Where the value s (n bytes) is in data: its first occurrence as a whole
 * JSON string ("s"), else its first occurrence, else -1. An echoed
 * non-secret value may hold the same bytes earlier in the input. */
FUZZ_UNTRACED static long fuzz_value_at(const uint8_t *data, size_t size,
                                        const unsigned char *s, size_t n) {
  long first = -1;
  for (size_t from = 0; from < size;) {
    long at = fuzz_find(data + from, size - from, s, n);
    size_t end;
    if (at < 0) break;
    at += (long)from;
    end = (size_t)at + n;
    if (first < 0) first = at;
    if (at > 0 && data[at - 1] == '"' && end < size && data[end] == '"')
      return at;
    from = (size_t)at + 1;
  }
  return first;
}

/* How many times the n bytes at w occur in msg. */
FUZZ_UNTRACED static size_t fuzz_count(const char *msg, const unsigned char *w,
                                       size_t n) {
  const unsigned char *m = (const unsigned char *)msg;
  size_t len = 0, count = 0;
  long at;
  while (m[len] != 0) len++;
  while ((at = fuzz_find(m, len, w, n)) >= 0) {
    count++;
    m += at + 1;
    len -= (size_t)at + 1;
  }
  return count;
}

/* c moved to the next letter or digit of its class; others unchanged. */
static inline unsigned char fuzz_shift(unsigned char c) {
  if (c >= 'a' && c <= 'z') return (unsigned char)('a' + (c - 'a' + 1) % 26);
  if (c >= 'A' && c <= 'Z') return (unsigned char)('A' + (c - 'A' + 1) % 26);
  if (c >= '0' && c <= '9') return (unsigned char)('0' + (c - '0' + 1) % 10);
  return c;
}

/* 1 when msg, the message `again` gives for data, shows the n bytes at
 * data + at because the input holds them there: those bytes shifted
 * (fuzz_shift) in a copy of the input, parsed again, give a message that
 * shows the shifted bytes more often than msg showed them. */
FUZZ_UNTRACED static int fuzz_follows_input(const uint8_t *data, size_t size,
                                            size_t at, size_t n,
                                            const char *msg,
                                            fuzz_again_fn again) {
  gauth_error e = GAUTH_ERROR_INIT;
  unsigned char *shifted = (unsigned char *)malloc(n + 1);
  uint8_t *copy = (uint8_t *)malloc(size);
  size_t k;
  int shown;
  if (copy == NULL || shifted == NULL) abort();
  for (k = 0; k < size; k++) copy[k] = data[k];
  for (k = 0; k < n; k++) copy[at + k] = shifted[k] = fuzz_shift(data[at + k]);
  shifted[n] = '\0';
  again(copy, size, &e);
  shown = fuzz_count(e.message, shifted, n) > fuzz_count(msg, shifted, n);
  free(copy);
  free(shifted);
  return shown;
}

/* 1 when msg (the message `again` gives for data) shows a run of
 * FUZZ_LEAK_RUN bytes (without a space) of the candidate secret s (n
 * bytes; the bytes at data + base, or base -1: a value read from data). A
 * fuzzer learns the library's own strings (its messages among them) and copies
 * them into inputs, so a run found is confirmed: its letters and digits are
 * shifted in the input, which is parsed again; the run is the input's only when
 * the new message shows the shifted run more often than the first message
 * did (the input may hold the shifted run elsewhere). */
FUZZ_UNTRACED static int fuzz_shows_at(const uint8_t *data, size_t size,
                                       const char *msg, const void *s, size_t n,
                                       long base, fuzz_again_fn again) {
  const unsigned char *w = (const unsigned char *)msg;
  size_t m = 0;
  if (msg != NULL)
    while (w[m] != 0) m++;
  if (n < FUZZ_LEAK_RUN || m < FUZZ_LEAK_RUN) return 0;
  for (size_t i = 0; i + FUZZ_LEAK_RUN <= m; i++) {
    size_t k, changed = 0;
    long at;
    for (k = 0; k < FUZZ_LEAK_RUN && w[i + k] != ' '; k++) {
    }
    if (k < FUZZ_LEAK_RUN ||
        fuzz_find((const unsigned char *)s, n, w + i, FUZZ_LEAK_RUN) < 0)
      continue;
    /* Where the run is in the input: inside s, which is data + base or,
     * base -1, where s first occurs in data (a value written with escapes
     * cannot be found: unconfirmed). */
    if (base < 0) base = fuzz_value_at(data, size, (const unsigned char *)s, n);
    if (base < 0) continue;
    at = base + fuzz_find((const unsigned char *)s, n, w + i, FUZZ_LEAK_RUN);
    if (at < 0) continue; /* escaped in the input: cannot confirm */
    for (k = 0; k < FUZZ_LEAK_RUN; k++)
      changed += fuzz_shift(w[i + k]) != w[i + k];
    if (changed == 0) continue; /* punctuation only: no secret */
    if (fuzz_follows_input(data, size, (size_t)at, FUZZ_LEAK_RUN, msg, again)) {
      fprintf(stderr, "fuzz: the message shows a secret's bytes: %s\n", msg);
      return 1;
    }
    m = 0;
    while (w[m] != 0) m++;
  }
  return 0;
}

/* As fuzz_shows_at, s found where it first occurs in the input. */
static inline int fuzz_shows(const uint8_t *data, size_t size, const char *msg,
                             const void *s, size_t n, fuzz_again_fn again) {
  return fuzz_shows_at(data, size, msg, s, n, -1, again);
}

static inline int fuzz_name_in(const char *name, const char *const *list) {
  for (; list != NULL && *list != NULL; list++)
    if (name != NULL && strcmp(name, *list) == 0) return 1;
  return 0;
}

/* 1 when a string member named in `names` anywhere in item holds s: a
 * message may echo that member, and then shows s because it is there. */
static inline int fuzz_held_by(const cJSON *item, const char *const *names,
                               const char *s) {
  const cJSON *c;
  if (names == NULL) return 0;
  for (c = item != NULL ? item->child : NULL; c != NULL; c = c->next) {
    if (cJSON_IsString(c) && c->valuestring != NULL &&
        fuzz_name_in(c->string, names) && strstr(c->valuestring, s) != NULL)
      return 1;
    if (fuzz_held_by(c, names, s)) return 1;
  }
  return 0;
}

/* fuzz_json_shows within root: a value an `except` member of root also
 * holds is not a candidate. */
static inline int fuzz_json_shows_in(const cJSON *root, const uint8_t *data,
                                     size_t size, const cJSON *item,
                                     const char *const *only,
                                     const char *const *except, const char *msg,
                                     fuzz_again_fn again) {
  const cJSON *c;
  for (c = item != NULL ? item->child : NULL; c != NULL; c = c->next) {
    if (cJSON_IsString(c) && c->valuestring != NULL &&
        strlen(c->valuestring) >= FUZZ_SECRET_MIN &&
        (only == NULL || fuzz_name_in(c->string, only)) &&
        !fuzz_name_in(c->string, except) &&
        !fuzz_held_by(root, except, c->valuestring) &&
        fuzz_shows(data, size, msg, c->valuestring, strlen(c->valuestring),
                   again))
      return 1;
    if (fuzz_json_shows_in(root, data, size, c, only, except, msg, again))
      return 1;
  }
  return 0;
}

/* 1 when msg shows a string value (FUZZ_SECRET_MIN bytes or more) found
 * anywhere in item: of a member named in `only` (NULL: any string, array
 * elements included), and not named in `except` (may be NULL), nor held by
 * a member named in `except` (the same text, echoed with it). */
static inline int fuzz_json_shows(const uint8_t *data, size_t size,
                                  const cJSON *item, const char *const *only,
                                  const char *const *except, const char *msg,
                                  fuzz_again_fn again) {
  return fuzz_json_shows_in(item, data, size, item, only, except, msg, again);
}

/* 1 when msg shows a secret of data read as JSON (see fuzz_json_shows);
 * 0 when data is not JSON. */
static inline int fuzz_input_shows(const uint8_t *data, size_t size,
                                   const char *const *only,
                                   const char *const *except, const char *msg,
                                   fuzz_again_fn again) {
  cJSON *j;
  int r;
  if (msg == NULL || strlen(msg) < FUZZ_LEAK_RUN) return 0;
  j = cJSON_ParseWithLength((const char *)data, size);
  r = fuzz_json_shows(data, size, j, only, except, msg, again);
  cJSON_Delete(j);
  return r;
}

/* The input as a NUL-terminated string (free with free()). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL) abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

#endif /* GAUTH_FUZZ_CHECK_H */
