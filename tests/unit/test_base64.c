/* Unit tests for lib/base64.c: strict base64url and standard base64. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base64.h"

#define CANARY "SECRETCANARY"

typedef gauth_status (*decode_fn)(const char *, size_t, unsigned char **,
                                  size_t *, gauth_error *);
typedef gauth_status (*encode_fn)(const void *, size_t, char **, gauth_error *);

/* RFC 4648 section 10. */
static const struct {
  const char *plain, *std, *url;
} rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

/* Bytes whose encodings use the two alphabet-specific characters, including
 * at the very end (OpenSSL would trim a trailing '-' if it saw one). */
static const struct {
  unsigned char bytes[3];
  size_t len;
  const char *std, *url;
} specials[] = {
    {{0xfb, 0xef, 0xbe}, 3, "++++", "----"},
    {{0xff, 0xff, 0xff}, 3, "////", "____"},
    {{0xff, 0xff, 0xfe}, 3, "///+", "___-"},
    {{0xfb, 0xff}, 2, "+/8=", "-_8"},
    {{0xfa}, 1, "+g==", "-g"},
    {{0xfc}, 1, "/A==", "_A"},
};

static void expect_decode(decode_fn fn, const char *in, size_t inlen,
                          const void *want, size_t wantlen) {
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned char *out = NULL;
  size_t outlen = 12345;
  gauth_status st = fn(in, inlen, &out, &outlen, &err);
  cr_assert_eq(st, GAUTH_OK, "decode of %zu chars failed: %s", inlen,
               err.message);
  cr_assert_not_null(out);
  cr_assert_eq(outlen, wantlen, "length %zu, want %zu", outlen, wantlen);
  cr_assert(memcmp(out, want, wantlen) == 0);
  cr_assert_eq(out[outlen], '\0', "decoded buffer not NUL-terminated");
  free(out);
}

static void expect_encode(encode_fn fn, const void *data, size_t len,
                          const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = NULL;
  gauth_status st = fn(data, len, &out, &err);
  cr_assert_eq(st, GAUTH_OK, "encode failed: %s", err.message);
  cr_assert_not_null(out);
  cr_assert_str_eq(out, want);
  free(out);
}

/* Decoding must fail with GAUTH_E_MALFORMED, leave *out NULL, and give a
 * message that contains `want` (when not NULL) and no CANARY. */
static void expect_reject(decode_fn fn, const char *in, size_t inlen,
                          const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned char *out = (unsigned char *)"sentinel";
  size_t outlen = 99;
  gauth_status st = fn(in, inlen, &out, &outlen, &err);
  cr_assert_eq(st, GAUTH_E_MALFORMED,
               "accepted or wrong status %d for "
               "\"%.*s\"",
               (int)st, (int)inlen, in);
  cr_assert_eq(err.code, GAUTH_E_MALFORMED);
  cr_assert_null(out);
  cr_assert_eq(outlen, 0);
  cr_assert(err.message[0] != '\0');
  if (want != NULL)
    cr_assert(strstr(err.message, want) != NULL, "message \"%s\" lacks \"%s\"",
              err.message, want);
  cr_assert(strstr(err.message, CANARY) == NULL, "message echoes input: %s",
            err.message);
}

static void reject_url(const char *in, const char *want) {
  expect_reject(gauth__b64url_decode, in, strlen(in), want);
}

static void reject_std(const char *in, const char *want) {
  expect_reject(gauth__b64_decode, in, strlen(in), want);
}

/* ---- RFC 4648 vectors ---------------------------------------------------- */

Test(base64, rfc4648_standard_encode) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(rfc4648); i++)
    expect_encode(gauth__b64_encode, rfc4648[i].plain, strlen(rfc4648[i].plain),
                  rfc4648[i].std);
}

Test(base64, rfc4648_standard_decode) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(rfc4648); i++)
    expect_decode(gauth__b64_decode, rfc4648[i].std, strlen(rfc4648[i].std),
                  rfc4648[i].plain, strlen(rfc4648[i].plain));
}

Test(base64, rfc4648_url_encode) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(rfc4648); i++)
    expect_encode(gauth__b64url_encode, rfc4648[i].plain,
                  strlen(rfc4648[i].plain), rfc4648[i].url);
}

Test(base64, rfc4648_url_decode) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(rfc4648); i++)
    expect_decode(gauth__b64url_decode, rfc4648[i].url, strlen(rfc4648[i].url),
                  rfc4648[i].plain, strlen(rfc4648[i].plain));
}

Test(base64, alphabet_specific_characters) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(specials); i++) {
    expect_encode(gauth__b64_encode, specials[i].bytes, specials[i].len,
                  specials[i].std);
    expect_encode(gauth__b64url_encode, specials[i].bytes, specials[i].len,
                  specials[i].url);
    expect_decode(gauth__b64_decode, specials[i].std, strlen(specials[i].std),
                  specials[i].bytes, specials[i].len);
    expect_decode(gauth__b64url_decode, specials[i].url,
                  strlen(specials[i].url), specials[i].bytes, specials[i].len);
  }
}

Test(base64, binary_with_nul_bytes) {
  static const unsigned char zeros[5] = {0, 0, 0, 0, 0};
  expect_encode(gauth__b64url_encode, zeros, 5, "AAAAAAA");
  expect_encode(gauth__b64_encode, zeros, 5, "AAAAAAA=");
  expect_decode(gauth__b64url_decode, "AAAAAAA", 7, zeros, 5);
  expect_decode(gauth__b64_decode, "AAAAAAA=", 8, zeros, 5);
}

/* ---- empty input and arguments ------------------------------------------- */

Test(base64, empty_input) {
  expect_decode(gauth__b64url_decode, "", 0, "", 0);
  expect_decode(gauth__b64_decode, "", 0, "", 0);
  /* NULL with length 0 is the empty string. */
  expect_decode(gauth__b64url_decode, NULL, 0, "", 0);
  expect_decode(gauth__b64_decode, NULL, 0, "", 0);
  expect_encode(gauth__b64url_encode, NULL, 0, "");
  expect_encode(gauth__b64_encode, NULL, 0, "");
}

Test(base64, null_arguments) {
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned char *out = NULL;
  size_t outlen = 0;
  char *s = NULL;

  cr_assert_eq(gauth__b64url_decode(NULL, 4, &out, &outlen, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(err.code, GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__b64url_decode("Zg", 2, NULL, &outlen, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__b64url_decode("Zg", 2, &out, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__b64_decode(NULL, 4, &out, &outlen, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__b64_decode("Zg==", 4, NULL, &outlen, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__b64url_encode(NULL, 1, &s, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__b64url_encode("f", 1, NULL, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__b64_encode(NULL, 1, &s, &err), GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__b64_encode("f", 1, NULL, &err), GAUTH_E_INVALID_ARG);
  cr_assert_null(s);
  cr_assert_null(out);
}

Test(base64, null_err_is_allowed) {
  unsigned char *out = NULL;
  size_t outlen = 0;
  char *s = NULL;
  cr_assert_eq(gauth__b64url_decode("Zh", 2, &out, &outlen, NULL),
               GAUTH_E_MALFORMED);
  cr_assert_eq(gauth__b64_decode("Zg=", 3, &out, &outlen, NULL),
               GAUTH_E_MALFORMED);
  cr_assert_eq(gauth__b64url_decode("Zg", 2, &out, &outlen, NULL), GAUTH_OK);
  free(out);
  cr_assert_eq(gauth__b64url_encode("f", 1, &s, NULL), GAUTH_OK);
  free(s);
}

Test(base64, encode_size_overflow) {
  static const unsigned char byte[1] = {0};
  gauth_error err = GAUTH_ERROR_INIT;
  char *s = (char *)"sentinel";
  /* Rejected from the length alone: the data are never read. */
  cr_assert_eq(gauth__b64url_encode(byte, SIZE_MAX, &s, &err),
               GAUTH_E_TOO_LARGE);
  cr_assert_null(s);
  cr_assert_eq(err.code, GAUTH_E_TOO_LARGE);
  cr_assert_eq(gauth__b64_encode(byte, SIZE_MAX, &s, &err), GAUTH_E_TOO_LARGE);
  /* The smallest length whose encoding (plus NUL) no longer fits. */
  cr_assert_eq(gauth__b64_encode(byte, (SIZE_MAX - 1) / 4 * 3 + 1, &s, &err),
               GAUTH_E_TOO_LARGE);
  cr_assert_eq(gauth__b64url_encode(byte, (SIZE_MAX - 1) / 4 * 3 + 1, &s, &err),
               GAUTH_E_TOO_LARGE);
}

/* ---- strictness ---------------------------------------------------------- */

Test(base64, url_rejects_padding) {
  reject_url("Zg==", "offset 2");
  reject_url("Zm8=", "offset 3");
  reject_url("Zg=", "offset 2");
  reject_url("=", "offset 0");
  reject_url("Zm9vYg==", "padding");
}

Test(base64, url_rejects_standard_alphabet) {
  reject_url("+g", "offset 0");
  reject_url("_/8", "offset 1");
  reject_url("Zm9v+A", "standard base64");
  reject_url("Zm9v/A", "offset 4");
}

Test(base64, standard_rejects_url_alphabet) {
  reject_std("-g==", "offset 0");
  reject_std("Zm9_", "offset 3");
  reject_std("Zm9vYg-_", "base64url");
}

Test(base64, rejects_whitespace) {
  reject_url(" Zm9v", "offset 0");
  reject_url("Zm9v ", "offset 4");
  reject_url("Zm 9v", "offset 2");
  reject_url("Zm9v\n", "offset 4");
  reject_url("Zm9v\r\nYmFy", "offset 4");
  reject_url("Zm\t9v", "whitespace");
  reject_std(" Zm9", "offset 0");
  reject_std("Zm9v\n", "offset 4");
  reject_std("Zm9v\r\nYmFy", "offset 4");
  reject_std("Zm9vYmFy\r\n", "offset 8");
  reject_std("Zm\t9", "whitespace");
}

Test(base64, url_rejects_impossible_length) {
  reject_url("Z", "length");
  reject_url("Zm9vY", "length 5");
  reject_url("Zm9vYmFyZ", "length 9");
}

Test(base64, standard_requires_padding) {
  reject_std("Zg", "multiple of 4");
  reject_std("Zg=", "length 3");
  reject_std("Zm8", "multiple of 4");
  reject_std("Zm9vYg=", "multiple of 4");
  reject_std("Z", "multiple of 4");
}

Test(base64, standard_rejects_misplaced_padding) {
  reject_std("Zg=a", "offset 2");
  reject_std("Z===", "offset 1");
  reject_std("====", "offset 0");
  reject_std("=Zg=", "offset 0");
  reject_std("Zg==Zg==", "offset 2");
  reject_std("Zm9v====", "offset 4");
  reject_std("Zm9vY===", "offset 5");
}

Test(base64, rejects_non_canonical_trailing_bits) {
  /* "f" is Zg; Zh..Zv differ only in the four unused bits. */
  reject_url("Zh", "offset 1");
  reject_url("Zv", "non-zero unused bits");
  reject_std("Zh==", "offset 1");
  /* "fo" is Zm8; Zm9 sets one of the two unused bits. */
  reject_url("Zm9", "offset 2");
  reject_std("Zm9=", "offset 2");
  reject_url("Zm9vYh", "offset 5");
  reject_std("Zm9vYmF=", "offset 6");
  expect_decode(gauth__b64url_decode, "Zg", 2, "f", 1);
  expect_decode(gauth__b64url_decode, "Zm8", 3, "fo", 2);
}

/* Every two- and three-character base64url string: accepted exactly when
 * canonical, and then it re-encodes to itself. */
Test(base64, exhaustive_short_inputs_round_trip) {
  static const char alpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t a, b, c, accepted2 = 0, accepted3 = 0;
  for (a = 0; a < 64; a++) {
    for (b = 0; b < 64; b++) {
      for (c = 0; c <= 64; c++) {
        char in[4] = {alpha[a], alpha[b], c < 64 ? alpha[c] : '\0', '\0'};
        size_t inlen = c < 64 ? 3 : 2;
        unsigned char *out = NULL;
        size_t outlen = 0;
        char *back = NULL;
        int canonical = inlen == 2 ? (b & 0x0f) == 0 : (c & 0x03) == 0;
        gauth_status st = gauth__b64url_decode(in, inlen, &out, &outlen, NULL);
        cr_assert_eq(st == GAUTH_OK, canonical, "\"%s\"", in);
        if (st != GAUTH_OK) continue;
        if (inlen == 2)
          accepted2++;
        else
          accepted3++;
        cr_assert_eq(outlen, inlen - 1);
        cr_assert_eq(gauth__b64url_encode(out, outlen, &back, NULL), GAUTH_OK);
        cr_assert_str_eq(back, in);
        free(back);
        free(out);
      }
    }
  }
  cr_assert_eq(accepted2, 256);   /* one per byte value */
  cr_assert_eq(accepted3, 65536); /* one per two-byte value */
}

Test(base64, rejects_embedded_nul) {
  expect_reject(gauth__b64url_decode, "Zm\0v", 4, "offset 2");
  expect_reject(gauth__b64_decode, "Zm9v\0\0\0\0", 8, "offset 4");
  expect_reject(gauth__b64url_decode, "\0", 1, "offset 0");
}

Test(base64, rejects_high_bytes) {
  reject_url("Zm\x80v", "offset 2");
  reject_url("\xffZm9", "offset 0");
  reject_std("Zm9v\xc3\xa9==", "offset 4");
  reject_url("Zm9v\xe2\x82\xac", "invalid character");
}

Test(base64, rejects_other_punctuation) {
  reject_url("Zm9v.A", "offset 4");
  reject_url("Zm9v~A", "offset 4");
  reject_std("Zm9v*A==", "offset 4");
  reject_std("Zm9v!A==", "offset 4");
}

/* Messages give offsets, never the input (which may be a secret). */
Test(base64, messages_never_echo_input) {
  reject_url(CANARY "!", "offset 12");
  reject_url(CANARY "=", "offset 12");
  reject_url(CANARY "+", "offset 12");
  reject_url(CANARY "A", "length 13");
  reject_url(CANARY "Ah", "offset 13");
  reject_url(CANARY " ", "offset 12");
  reject_std(CANARY "A", "multiple of 4");
  reject_std(CANARY "-AAA", "offset 12");
  reject_std(CANARY "A=A=", "offset 13");
  reject_std(CANARY "Zh==", "offset 13");
  reject_std(CANARY "\n\n\n\n", "offset 12");
}

/* ---- round trips of random data ------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng_next(void) {
  /* xorshift64*: deterministic, so a failure reproduces. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

static void round_trip(size_t len) {
  unsigned char *data = malloc(len + 1);
  char *std = NULL, *url = NULL;
  unsigned char *back = NULL;
  size_t backlen = 0, i, stdlen, urllen;

  cr_assert_not_null(data);
  for (i = 0; i < len; i++) data[i] = (unsigned char)rng_next();

  cr_assert_eq(gauth__b64_encode(data, len, &std, NULL), GAUTH_OK);
  cr_assert_eq(gauth__b64url_encode(data, len, &url, NULL), GAUTH_OK);
  stdlen = strlen(std);
  urllen = strlen(url);
  cr_assert_eq(stdlen, (len + 2) / 3 * 4, "len %zu", len);
  cr_assert_eq(urllen, len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0));
  /* base64url is the standard encoding, translated and unpadded. */
  for (i = 0; i < urllen; i++) {
    char c = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i];
    cr_assert_eq(url[i], c, "len %zu, offset %zu", len, i);
  }
  for (i = urllen; i < stdlen; i++) cr_assert_eq(std[i], '=');

  cr_assert_eq(gauth__b64_decode(std, stdlen, &back, &backlen, NULL), GAUTH_OK,
               "len %zu", len);
  cr_assert_eq(backlen, len);
  cr_assert(len == 0 || memcmp(back, data, len) == 0, "len %zu", len);
  free(back);
  back = NULL;
  cr_assert_eq(gauth__b64url_decode(url, urllen, &back, &backlen, NULL),
               GAUTH_OK, "len %zu", len);
  cr_assert_eq(backlen, len);
  cr_assert(len == 0 || memcmp(back, data, len) == 0, "len %zu", len);
  free(back);
  free(std);
  free(url);
  free(data);
}

Test(base64, random_round_trips_small) {
  size_t len;
  int rep;
  rng_state = 0x9E3779B97F4A7C15ULL;
  for (len = 0; len <= 300; len++)
    for (rep = 0; rep < 4; rep++) round_trip(len);
}

/* Lengths around the internal chunk sizes (1024 input characters for
 * decoding, 3 MiB for encoding). */
Test(base64, random_round_trips_large) {
  static const size_t lens[] = {767,
                                768,
                                769,
                                770,
                                1535,
                                1536,
                                1537,
                                4096,
                                65537,
                                (size_t)3 * 1024 * 1024 - 1,
                                (size_t)3 * 1024 * 1024,
                                (size_t)3 * 1024 * 1024 + 2};
  size_t i;
  rng_state = 0xD1B54A32D192ED03ULL;
  for (i = 0; i < GAUTH__ARRAY_LEN(lens); i++) round_trip(lens[i]);
}

/* Every byte value at each of the four places of a full quantum (the
 * decoder's tables are per place), followed by a partial quantum: accepted
 * exactly when it is in the base64url alphabet, and then decoded to its
 * sextet's bits; refused with its offset otherwise. */
Test(base64, url_every_byte_at_every_place) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int place = 0; place < 4; place++) {
    for (int c = 0; c < 256; c++) {
      char in[7] = {'A', 'A', 'A', 'A',
                    'Q', 'A', '\0'}; /* "AAAAQA": 0,0,0,64 */
      const char *hit = c != 0 ? memchr(alphabet, c, 64) : NULL;
      unsigned char *out = NULL;
      size_t outlen = 0;
      gauth_error err = GAUTH_ERROR_INIT;
      gauth_status st;
      in[place] = (char)c;
      st = gauth__b64url_decode(in, 6, &out, &outlen, &err);
      if (hit == NULL) {
        cr_assert_eq(st, GAUTH_E_MALFORMED, "byte 0x%02x at %d accepted", c,
                     place);
        cr_assert_null(out);
        continue;
      }
      cr_assert_eq(st, GAUTH_OK, "byte 0x%02x at %d: %s", c, place,
                   err.message);
      cr_assert_eq(outlen, 4);
      {
        unsigned long v = (unsigned long)(hit - alphabet) << (18 - 6 * place);
        cr_assert_eq(out[0], (unsigned char)(v >> 16), "0x%02x at %d", c,
                     place);
        cr_assert_eq(out[1], (unsigned char)(v >> 8), "0x%02x at %d", c, place);
        cr_assert_eq(out[2], (unsigned char)v, "0x%02x at %d", c, place);
      }
      cr_assert_eq(out[3], 64);
      cr_assert_eq(out[4], 0, "decoded buffers are NUL-terminated");
      free(out);
    }
  }
}
