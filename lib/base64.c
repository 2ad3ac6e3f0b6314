/* base64url and standard base64: strict validation here; encoding by
 * OpenSSL's EVP_EncodeBlock, standard base64 decoding by EVP_DecodeBlock.
 * base64url decoding, which every token verification does three times, uses
 * a lookup table of its own: OpenSSL knows only the standard alphabet, and
 * translating each character first cost ~30 instructions per byte.
 *
 * EVP_DecodeBlock is lenient (it skips leading and trailing whitespace, reads
 * '=' as zero bits anywhere, ignores non-zero trailing bits and counts padding
 * as output bytes), so every byte is checked before OpenSSL sees it, and the
 * output length is computed here. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base64.h"
#include "error_internal.h"
#include "secret.h"

/* EVP_*Block take an int length: data are handed over in chunks of this many
 * input characters (a multiple of 4) or bytes (a multiple of 3). */
#define DECODE_CHUNK 1024u
#define ENCODE_CHUNK ((size_t)3 * 1024 * 1024)

typedef enum alphabet { ALPHABET_STD, ALPHABET_URL } alphabet;

static const char *alphabet_name(alphabet a) {
  return a == ALPHABET_URL ? "base64url" : "base64";
}

/* The 6-bit value of each byte in each alphabet; 0xff: not in it. */
static const unsigned char sextets_url[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 62,   0xff, 0xff,
    52,   53,   54,   55,   56,   57,   58,   59,   60,   61,   0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0,    1,    2,    3,    4,    5,    6,
    7,    8,    9,    10,   11,   12,   13,   14,   15,   16,   17,   18,
    19,   20,   21,   22,   23,   24,   25,   0xff, 0xff, 0xff, 0xff, 63,
    0xff, 26,   27,   28,   29,   30,   31,   32,   33,   34,   35,   36,
    37,   38,   39,   40,   41,   42,   43,   44,   45,   46,   47,   48,
    49,   50,   51,   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff,
};
static const unsigned char sextets_std[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 62,   0xff, 0xff, 0xff, 63,
    52,   53,   54,   55,   56,   57,   58,   59,   60,   61,   0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0,    1,    2,    3,    4,    5,    6,
    7,    8,    9,    10,   11,   12,   13,   14,   15,   16,   17,   18,
    19,   20,   21,   22,   23,   24,   25,   0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 26,   27,   28,   29,   30,   31,   32,   33,   34,   35,   36,
    37,   38,   39,   40,   41,   42,   43,   44,   45,   46,   47,   48,
    49,   50,   51,   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff,
};

/* The 6-bit value of c in the given alphabet, or -1. */
static int sextet(unsigned char c, alphabet a) {
  unsigned char v = (a == ALPHABET_URL ? sextets_url : sextets_std)[c];
  return v == 0xff ? -1 : (int)v;
}

/* Error for an out-of-alphabet byte. The byte itself is not shown (the input
 * may be a secret) except where it is one of the few characters whose
 * presence explains the mistake: padding, or the other alphabet. */
static gauth_status bad_char(const char *in, size_t i, alphabet a,
                             gauth_error *err) {
  unsigned char c = (unsigned char)in[i];
  const char *name = alphabet_name(a);
  if (a == ALPHABET_URL && c == '=')
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: padding '=' at offset %zu (base64url is "
                            "unpadded)",
                            name, i);
  if (a == ALPHABET_URL && (c == '+' || c == '/'))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: '%c' at offset %zu belongs to standard "
                            "base64, not base64url",
                            name, (char)c, i);
  if (a == ALPHABET_STD && (c == '-' || c == '_'))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: '%c' at offset %zu belongs to base64url, "
                            "not standard base64",
                            name, (char)c, i);
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: whitespace at offset %zu", name, i);
  return gauth__error_set(err, GAUTH_E_MALFORMED,
                          "%s: invalid character at offset %zu", name, i);
}

/* Checks that the unused low bits of the last data character are zero, so
 * that each byte string has exactly one encoding ("Zg" for "f", not "Zh").
 * ndata is the number of data characters (padding excluded). */
static gauth_status check_trailing_bits(const char *in, size_t ndata,
                                        alphabet a, gauth_error *err) {
  int mask;
  switch (ndata % 4) {
    case 2: mask = 0x0f; break; /* 12 bits carry 8 */
    case 3: mask = 0x03; break; /* 18 bits carry 16 */
    default: return GAUTH_OK;
  }
  if (sextet((unsigned char)in[ndata - 1], a) & mask)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: non-zero unused bits in the last character "
                            "at offset %zu (non-canonical encoding)",
                            alphabet_name(a), ndata - 1);
  return GAUTH_OK;
}

/* The base64url decoder's tables: for each byte, its sextet already moved to
 * where it lands in the three output bytes of a quantum when the 32-bit sum
 * of the four is stored little-endian (byte 0: a << 2 | b >> 4; byte 1:
 * b << 4 | c >> 2; byte 2: c << 6 | d); bytes outside the alphabet set the
 * top byte (0xff000000), which no valid byte touches. Built at compile time
 * from the alphabet. */
#define URL_SEXTET(c)                                      \
  ((c) >= 'A' && (c) <= 'Z'   ? (uint32_t)((c) - 'A')      \
   : (c) >= 'a' && (c) <= 'z' ? (uint32_t)((c) - 'a' + 26) \
   : (c) >= '0' && (c) <= '9' ? (uint32_t)((c) - '0' + 52) \
   : (c) == '-'               ? 62u                        \
   : (c) == '_'               ? 63u                        \
                              : 0xffu)
#define URL_PLACE(c, expr) \
  (URL_SEXTET(c) == 0xffu ? 0xff000000u : (uint32_t)(expr))
#define URL_Q0(c) URL_PLACE(c, URL_SEXTET(c) << 2)
#define URL_Q1(c) URL_PLACE(c, URL_SEXTET(c) >> 4 | (URL_SEXTET(c) & 15u) << 12)
#define URL_Q2(c) \
  URL_PLACE(c, URL_SEXTET(c) >> 2 << 8 | (URL_SEXTET(c) & 3u) << 22)
#define URL_Q3(c) URL_PLACE(c, URL_SEXTET(c) << 16)
#define URL_ROW(f, r)                                                         \
  f(r), f(r + 1), f(r + 2), f(r + 3), f(r + 4), f(r + 5), f(r + 6), f(r + 7), \
      f(r + 8), f(r + 9), f(r + 10), f(r + 11), f(r + 12), f(r + 13),         \
      f(r + 14), f(r + 15)
#define URL_TABLE(f)                                                        \
  {                                                                         \
    URL_ROW(f, 0), URL_ROW(f, 16), URL_ROW(f, 32), URL_ROW(f, 48),          \
        URL_ROW(f, 64), URL_ROW(f, 80), URL_ROW(f, 96), URL_ROW(f, 112),    \
        URL_ROW(f, 128), URL_ROW(f, 144), URL_ROW(f, 160), URL_ROW(f, 176), \
        URL_ROW(f, 192), URL_ROW(f, 208), URL_ROW(f, 224), URL_ROW(f, 240)  \
  }
static const uint32_t url_q[4][256] = {URL_TABLE(URL_Q0), URL_TABLE(URL_Q1),
                                       URL_TABLE(URL_Q2), URL_TABLE(URL_Q3)};

/* Decodes ndata base64url characters into out (room for the decoded length
 * and one byte more) in one pass, validating as it goes: returns 0 when a
 * character is outside the alphabet (the caller then finds it and says
 * where). The byte after the decoded ones is scratch. */
static int decode_url(const char *in, size_t ndata, unsigned char *out) {
  const unsigned char *u = (const unsigned char *)in;
  size_t full = ndata - ndata % 4;
  size_t rest = ndata % 4;
  unsigned int bad = 0;
  size_t pos;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  {
    uint32_t qbad = 0;
    for (pos = 0; pos < full; pos += 4) {
      uint32_t q = url_q[0][u[pos]] | url_q[1][u[pos + 1]] |
                   url_q[2][u[pos + 2]] | url_q[3][u[pos + 3]];
      qbad |= q;
      /* Four bytes written, three kept: the fourth is the next quantum's
       * first, or the spare byte. */
      memcpy(out, &q, 4);
      out += 3;
    }
    if (qbad & 0xff000000u) return 0;
  }
#else
  for (pos = 0; pos < full; pos += 4) {
    unsigned int a = sextets_url[u[pos]], b = sextets_url[u[pos + 1]];
    unsigned int c = sextets_url[u[pos + 2]], d = sextets_url[u[pos + 3]];
    unsigned long v = (unsigned long)a << 18 | (unsigned long)b << 12 |
                      (unsigned long)c << 6 | d;
    bad |= a | b | c | d;
    out[0] = (unsigned char)(v >> 16);
    out[1] = (unsigned char)(v >> 8);
    out[2] = (unsigned char)v;
    out += 3;
  }
#endif
  if (rest >= 2) {
    unsigned int a = sextets_url[u[full]], b = sextets_url[u[full + 1]];
    unsigned int c = rest == 3 ? sextets_url[u[full + 2]] : 0;
    unsigned long v =
        (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6;
    bad |= a | b | c;
    out[0] = (unsigned char)(v >> 16);
    if (rest == 3) out[1] = (unsigned char)(v >> 8);
  }
  return (bad & 0x80) == 0;
}

/* Decodes ndata validated standard base64 data characters (no padding)
 * into out, which has room for exactly the decoded length. Full 4-character
 * quanta go straight to OpenSSL; the final partial quantum is padded in a
 * local buffer so that OpenSSL's padding bytes are not written to out. */
static gauth_status decode_validated(const char *in, size_t ndata,
                                     unsigned char *out, gauth_error *err) {
  unsigned char chunk[4];
  unsigned char tail[3];
  size_t full = ndata - ndata % 4;
  size_t rest = ndata % 4;
  size_t pos = 0;
  gauth_status st = GAUTH_OK;

  while (st == GAUTH_OK && pos < full) {
    size_t n = full - pos;
    if (n > DECODE_CHUNK) n = DECODE_CHUNK;
    if (EVP_DecodeBlock(out, (const unsigned char *)in + pos, (int)n) !=
        (int)(n / 4 * 3))
      st = GAUTH_E_INTERNAL;
    out += n / 4 * 3;
    pos += n;
  }

  if (st == GAUTH_OK && rest > 0) {
    size_t i;
    for (i = 0; i < 4; i++) {
      chunk[i] = (unsigned char)(i < rest ? in[full + i] : '=');
    }
    if (EVP_DecodeBlock(tail, chunk, 4) != 3)
      st = GAUTH_E_INTERNAL;
    else
      memcpy(out, tail, rest - 1); /* 2 chars: 1 byte; 3 chars: 2 bytes */
  }

  /* The input may be a secret: leave none of it on the stack. */
  OPENSSL_cleanse(chunk, sizeof(chunk));
  OPENSSL_cleanse(tail, sizeof(tail));
  if (st != GAUTH_OK)
    return gauth__error_set(err, st, "base64: OpenSSL refused validated input");
  return GAUTH_OK;
}

static gauth_status decode(const char *in, size_t inlen, alphabet a,
                           unsigned char **out, size_t *outlen,
                           gauth_error *err) {
  const char *name = alphabet_name(a);
  size_t ndata = inlen;
  size_t declen;
  size_t i;
  unsigned char *buf;
  gauth_status st;

  if (out == NULL || outlen == NULL || (in == NULL && inlen > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s decode: NULL argument", name);
  *out = NULL;
  *outlen = 0;

  /* base64url, the common case (three times per token): decode and
   * validate in one pass; on any failure fall through to the checks below,
   * which find the first fault and say what it is. */
  if (a == ALPHABET_URL && inlen % 4 != 1) {
    declen = inlen / 4 * 3 + (inlen % 4 == 0 ? 0 : inlen % 4 - 1);
    buf = malloc(declen + 1);
    if (buf == NULL) return gauth__error_nomem(err);
    if (decode_url(in, inlen, buf) &&
        check_trailing_bits(in, inlen, a, NULL) == GAUTH_OK) {
      buf[declen] = '\0';
      *out = buf;
      *outlen = declen;
      return GAUTH_OK;
    }
    gauth__secret_free(buf, declen + 1);
  }

  /* Characters first (the most precise message), then length, padding
   * placement and the trailing bits. */
  for (i = 0; i < inlen; i++) {
    if (sextet((unsigned char)in[i], a) < 0 &&
        !(a == ALPHABET_STD && in[i] == '='))
      return bad_char(in, i, a, err);
  }
  if (a == ALPHABET_STD) {
    if (inlen % 4 != 0)
      return gauth__error_set(err, GAUTH_E_MALFORMED,
                              "%s: length %zu is not a multiple of 4", name,
                              inlen);
    /* At most two '=', and only at the very end. */
    if (inlen > 0 && in[inlen - 1] == '=') {
      ndata--;
      if (in[inlen - 2] == '=') ndata--;
    }
    for (i = 0; i < ndata; i++) {
      if (in[i] == '=')
        return gauth__error_set(err, GAUTH_E_MALFORMED,
                                "%s: padding '=' at offset %zu before the "
                                "end of the data",
                                name, i);
    }
  } else if (ndata % 4 == 1) {
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: length %zu is impossible (a lone character "
                            "in the last group)",
                            name, ndata);
  }
  st = check_trailing_bits(in, ndata, a, err);
  if (st != GAUTH_OK) return st;

  /* Never overflows: the decoded length is at most inlen. */
  declen = ndata / 4 * 3 + (ndata % 4 == 0 ? 0 : ndata % 4 - 1);
  buf = malloc(declen + 1);
  if (buf == NULL) return gauth__error_nomem(err);
  if (a == ALPHABET_URL)
    st = decode_url(in, ndata, buf)
             ? GAUTH_OK
             : gauth__error_set(err, GAUTH_E_INTERNAL,
                                "base64url: validated input did not decode");
  else
    st = decode_validated(in, ndata, buf, err);
  if (st != GAUTH_OK) {
    free(buf);
    return st;
  }
  buf[declen] = '\0';
  *out = buf;
  *outlen = declen;
  return GAUTH_OK;
}

static gauth_status encode(const void *data, size_t len, alphabet a, char **out,
                           gauth_error *err) {
  const char *name = alphabet_name(a);
  const unsigned char *src = data;
  size_t groups, padded, outlen, pos;
  char *buf;

  if (out == NULL || (data == NULL && len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s encode: NULL argument", name);
  *out = NULL;

  groups = len / 3 + (len % 3 != 0);
  if (groups > (SIZE_MAX - 1) / 4)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "%s encode: %zu bytes is too large to encode", name,
                            len);
  padded = groups * 4;
  outlen = a == ALPHABET_URL ? len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1)
                             : padded;

  /* OpenSSL writes the padded form and a NUL; base64url then cuts it. */
  buf = malloc(padded + 1);
  if (buf == NULL) return gauth__error_nomem(err);
  buf[0] = '\0';
  for (pos = 0; pos < len; pos += ENCODE_CHUNK) {
    size_t n = len - pos < ENCODE_CHUNK ? len - pos : ENCODE_CHUNK;
    EVP_EncodeBlock((unsigned char *)buf + pos / 3 * 4, src + pos, (int)n);
  }
  if (a == ALPHABET_URL) {
    size_t i;
    for (i = 0; i < outlen; i++) {
      if (buf[i] == '+')
        buf[i] = '-';
      else if (buf[i] == '/')
        buf[i] = '_';
    }
  }
  buf[outlen] = '\0';
  *out = buf;
  return GAUTH_OK;
}

gauth_status gauth__b64url_encode(const void *data, size_t len, char **out,
                                  gauth_error *err) {
  return encode(data, len, ALPHABET_URL, out, err);
}

gauth_status gauth__b64url_decode(const char *in, size_t inlen,
                                  unsigned char **out, size_t *outlen,
                                  gauth_error *err) {
  return decode(in, inlen, ALPHABET_URL, out, outlen, err);
}

gauth_status gauth__b64_encode(const void *data, size_t len, char **out,
                               gauth_error *err) {
  return encode(data, len, ALPHABET_STD, out, err);
}

gauth_status gauth__b64_decode(const char *in, size_t inlen,
                               unsigned char **out, size_t *outlen,
                               gauth_error *err) {
  return decode(in, inlen, ALPHABET_STD, out, outlen, err);
}
