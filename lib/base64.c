/* base64url and standard base64: strict validation here, the coding itself
 * by OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock.
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

/* EVP_*Block take an int length: data are handed over in chunks of this many
 * input characters (a multiple of 4) or bytes (a multiple of 3). */
#define DECODE_CHUNK 1024u
#define ENCODE_CHUNK ((size_t)3 * 1024 * 1024)

typedef enum alphabet { ALPHABET_STD, ALPHABET_URL } alphabet;

static const char *alphabet_name(alphabet a) {
  return a == ALPHABET_URL ? "base64url" : "base64";
}

/* The 6-bit value of c in the given alphabet, or -1. Only used for
 * validation and the trailing-bit check; OpenSSL does the decoding. */
static int sextet(unsigned char c, alphabet a) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (a == ALPHABET_URL) {
    if (c == '-') return 62;
    if (c == '_') return 63;
  } else {
    if (c == '+') return 62;
    if (c == '/') return 63;
  }
  return -1;
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
                            "unpadded)", name, i);
  if (a == ALPHABET_URL && (c == '+' || c == '/'))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: '%c' at offset %zu belongs to standard "
                            "base64, not base64url", name, (char)c, i);
  if (a == ALPHABET_STD && (c == '-' || c == '_'))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: '%c' at offset %zu belongs to base64url, "
                            "not standard base64", name, (char)c, i);
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

/* Decodes ndata validated data characters of alphabet a (no padding) into
 * out, which has room for exactly the decoded length. Full 4-character
 * quanta go straight to OpenSSL; the final partial quantum is padded in a
 * local buffer so that OpenSSL's padding bytes are not written to out. */
static gauth_status decode_validated(const char *in, size_t ndata, alphabet a,
                                     unsigned char *out, gauth_error *err) {
  unsigned char chunk[DECODE_CHUNK];
  unsigned char tail[3];
  size_t full = ndata - ndata % 4;
  size_t rest = ndata % 4;
  size_t pos = 0;
  gauth_status st = GAUTH_OK;

  while (st == GAUTH_OK && pos < full) {
    size_t n = full - pos;
    size_t i;
    const unsigned char *src;
    if (n > DECODE_CHUNK) n = DECODE_CHUNK;
    if (a == ALPHABET_URL) {
      /* OpenSSL knows only the standard alphabet (and would even trim a
       * trailing '-' as an end-of-data marker). */
      for (i = 0; i < n; i++) {
        char c = in[pos + i];
        chunk[i] = (unsigned char)(c == '-' ? '+' : c == '_' ? '/' : c);
      }
      src = chunk;
    } else {
      src = (const unsigned char *)in + pos;
    }
    if (EVP_DecodeBlock(out, src, (int)n) != (int)(n / 4 * 3))
      st = GAUTH_E_INTERNAL;
    out += n / 4 * 3;
    pos += n;
  }

  if (st == GAUTH_OK && rest > 0) {
    size_t i;
    for (i = 0; i < 4; i++) {
      char c = i < rest ? in[full + i] : '=';
      if (a == ALPHABET_URL) c = (char)(c == '-' ? '+' : c == '_' ? '/' : c);
      chunk[i] = (unsigned char)c;
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
    return gauth__error_set(err, st, "%s: OpenSSL refused validated input",
                            alphabet_name(a));
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
                                "end of the data", name, i);
    }
  } else if (ndata % 4 == 1) {
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s: length %zu is impossible (a lone character "
                            "in the last group)", name, ndata);
  }
  st = check_trailing_bits(in, ndata, a, err);
  if (st != GAUTH_OK) return st;

  /* Never overflows: the decoded length is at most inlen. */
  declen = ndata / 4 * 3 + (ndata % 4 == 0 ? 0 : ndata % 4 - 1);
  buf = malloc(declen + 1);
  if (buf == NULL) return gauth__error_nomem(err);
  st = decode_validated(in, ndata, a, buf, err);
  if (st != GAUTH_OK) {
    free(buf);
    return st;
  }
  buf[declen] = '\0';
  *out = buf;
  *outlen = declen;
  return GAUTH_OK;
}

static gauth_status encode(const void *data, size_t len, alphabet a,
                           char **out, gauth_error *err) {
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
                            "%s encode: %zu bytes is too large to encode",
                            name, len);
  padded = groups * 4;
  outlen = a == ALPHABET_URL
               ? len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1)
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
