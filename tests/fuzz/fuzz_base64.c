/* libFuzzer target for lib/base64.c.
 *
 * Beyond "no crash, no leak" it checks properties, aborting when one fails:
 *   - each decoder accepts an input exactly when an independent, obviously
 *     correct statement of the strict rules does (alphabet, padding, length,
 *     zero trailing bits), and gives the exact decoded length;
 *   - an accepted input re-encodes to exactly itself (one encoding per
 *     value), so decode -> encode is the identity;
 *   - a rejected input gives GAUTH_E_MALFORMED, *out NULL and a message;
 *   - any bytes encode, in both alphabets, to strings that decode back to
 *     the same bytes, and base64url is standard base64 translated and
 *     unpadded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "fuzz_check.h"

static int value_of(unsigned char c, int url) {
  const char *alpha =
      url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p;
  if (c == '\0') return -1;
  p = strchr(alpha, c);
  return p != NULL ? (int)(p - alpha) : -1;
}

/* The rules of base64.h, stated as plainly as possible. Returns the number
 * of data characters (padding excluded) when valid, or -1. */
static long reference_valid(const unsigned char *in, size_t n, int url) {
  size_t ndata = n, i;
  if (!url) {
    if (n % 4 != 0) return -1;
    if (n >= 1 && in[n - 1] == '=') ndata--;
    if (n >= 2 && in[n - 1] == '=' && in[n - 2] == '=') ndata--;
  }
  for (i = 0; i < ndata; i++)
    if (value_of(in[i], url) < 0) return -1;
  if (ndata % 4 == 1) return -1;
  if (ndata % 4 == 2 && (value_of(in[ndata - 1], url) & 0x0f) != 0) return -1;
  if (ndata % 4 == 3 && (value_of(in[ndata - 1], url) & 0x03) != 0) return -1;
  return (long)ndata;
}

static void check_decoder(const uint8_t *data, size_t size, int url) {
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned char *out = NULL;
  size_t outlen = 0;
  char *back = NULL;
  long ndata = reference_valid(data, size, url);
  gauth_status st =
      url ? gauth__b64url_decode((const char *)data, size, &out, &outlen, &err)
          : gauth__b64_decode((const char *)data, size, &out, &outlen, &err);

  if (ndata < 0) {
    CHECK(st == GAUTH_E_MALFORMED);
    CHECK(err.code == GAUTH_E_MALFORMED);
    CHECK(out == NULL);
    CHECK(outlen == 0);
    CHECK(err.message[0] != '\0');
    /* Messages give offsets or lengths, never the input. */
    CHECK(strstr(err.message, "offset") != NULL ||
          strstr(err.message, "length") != NULL);
    return;
  }
  CHECK(st == GAUTH_OK);
  CHECK(out != NULL);
  CHECK(outlen == (size_t)ndata * 3 / 4);
  CHECK(out[outlen] == '\0');

  /* decode -> encode is the identity on accepted input. */
  st = url ? gauth__b64url_encode(out, outlen, &back, &err)
           : gauth__b64_encode(out, outlen, &back, &err);
  CHECK(st == GAUTH_OK);
  CHECK(strlen(back) == size);
  CHECK(memcmp(back, data, size) == 0);
  free(back);
  free(out);
}

static void check_encoders(const uint8_t *data, size_t size) {
  char *std = NULL, *url = NULL;
  unsigned char *back = NULL;
  size_t backlen = 0, i, stdlen, urllen;

  CHECK(gauth__b64_encode(data, size, &std, NULL) == GAUTH_OK);
  CHECK(gauth__b64url_encode(data, size, &url, NULL) == GAUTH_OK);
  stdlen = strlen(std);
  urllen = strlen(url);
  CHECK(stdlen == (size + 2) / 3 * 4);
  CHECK(urllen == size / 3 * 4 + (size % 3 ? size % 3 + 1 : 0));
  for (i = 0; i < urllen; i++)
    CHECK(url[i] == (std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i]));
  for (; i < stdlen; i++) CHECK(std[i] == '=');

  CHECK(gauth__b64_decode(std, stdlen, &back, &backlen, NULL) == GAUTH_OK);
  CHECK(backlen == size && memcmp(back, data, size) == 0);
  free(back);
  CHECK(gauth__b64url_decode(url, urllen, &back, &backlen, NULL) == GAUTH_OK);
  CHECK(backlen == size && memcmp(back, data, size) == 0);
  free(back);
  free(std);
  free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_decoder(data, size, 1);
  check_decoder(data, size, 0);
  check_encoders(data, size);
  return 0;
}
