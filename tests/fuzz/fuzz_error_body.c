/* libFuzzer target for HTTP error replies (lib/error_body.c):
 * gauth__error_from_reply over any body, with the status and content type
 * taken from the input's first byte.
 *
 * Beyond "no crash, no leak" it checks:
 *   - the status is never GAUTH_OK, equals err.code, and is the one
 *     gauth__status_for_http gives for the HTTP status (or, for 400/401,
 *     GAUTH_E_UNAUTHENTICATED for OAuth's credential errors); the message
 *     starts with the request's name and is valid UTF-8;
 *   - the message shows no 13 bytes of a secret named in `known` (the
 *     body's first string value of 16 bytes or more is passed as one),
 *     nor of a string value that is a bare Google token (ya29., 1//, eyJ
 *     followed by base64url and dots), however Google's text wraps it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error_body.h"
#include "fuzz_check.h"

static const long statuses[] = {400, 401, 403, 404, 408, 429, 500, 503,
                                302, 418, 0,   599, 200, 499, 502, 304};

/* The first string value of 16 bytes or more in item, depth first. */
static const char *first_long(const cJSON *item) {
  const cJSON *c;
  for (c = item != NULL ? item->child : NULL; c != NULL; c = c->next) {
    const char *s;
    if (cJSON_IsString(c) && strlen(c->valuestring) >= FUZZ_SECRET_MIN)
      return c->valuestring;
    if ((s = first_long(c)) != NULL) return s;
  }
  return NULL;
}

static int bare_token(const char *s) {
  size_t n = strlen(s);
  if (strncmp(s, "ya29.", 5) != 0 && strncmp(s, "1//", 3) != 0 &&
      strncmp(s, "eyJ", 3) != 0)
    return 0;
  return strspn(s,
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789-_./") == n;
}

static const char what[] = "POST http://127.0.0.1:9/token";

/* The reply of the input: status and content type from its first byte,
 * the body's first long string value passed as a known secret. */
static gauth_status reply(const uint8_t *data, size_t size, gauth_error *err,
                          cJSON **json) {
  const char *known[2] = {NULL, NULL};
  cJSON *j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
  gauth_status st;
  known[0] = first_long(j);
  st = gauth__error_from_reply(err, statuses[data[0] & 15],
                               (data[0] & 16)   ? "application/json"
                               : (data[0] & 32) ? "text/html; charset=utf-8"
                                                : NULL,
                               (const char *)data + 1, size - 1, what, known);
  if (json != NULL)
    *json = j;
  else
    cJSON_Delete(j);
  return st;
}

static void again(const uint8_t *data, size_t size, gauth_error *err) {
  (void)reply(data, size, err, NULL);
}

static int shows_bare_token(const uint8_t *data, size_t size, const cJSON *item,
                            const char *msg) {
  const cJSON *c;
  for (c = item != NULL ? item->child : NULL; c != NULL; c = c->next) {
    if (cJSON_IsString(c) && strlen(c->valuestring) >= FUZZ_SECRET_MIN &&
        bare_token(c->valuestring) &&
        fuzz_shows(data, size, msg, c->valuestring, strlen(c->valuestring),
                   again))
      return 1;
    if (shows_bare_token(data, size, c, msg)) return 1;
  }
  return 0;
}

static int valid_utf8(const unsigned char *s) {
  while (*s) {
    size_t n = *s < 0x80         ? 1
               : (*s >> 5) == 6  ? 2
               : (*s >> 4) == 14 ? 3
               : (*s >> 3) == 30 ? 4
                                 : 0;
    if (n == 0) return 0;
    for (size_t i = 1; i < n; i++)
      if ((s[i] & 0xc0) != 0x80) return 0;
    s += n;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *j = NULL;
  const char *known;
  gauth_status st, plain;
  if (size == 0) return 0;
  st = reply(data, size, &err, &j);
  known = first_long(j);
  plain = gauth__status_for_http(statuses[data[0] & 15], NULL);
  CHECK(st != GAUTH_OK && err.code == st);
  CHECK(st == plain || st == GAUTH_E_UNAUTHENTICATED);
  CHECK(strncmp(err.message, what, sizeof what - 1) == 0);
  CHECK(valid_utf8((const unsigned char *)err.message));
  if (known != NULL)
    CHECK(!fuzz_shows(data, size, err.message, known, strlen(known), again));
  CHECK(!shows_bare_token(data, size, j, err.message));
  cJSON_Delete(j);
  return 0;
}
