/* Internal: base64url (RFC 4648 section 5, as JOSE uses it) and standard
 * base64, over OpenSSL's EVP encoder / decoder.
 *
 * Decoding is strict:
 *   base64url: alphabet A-Z a-z 0-9 - _ only; no padding, whitespace or other
 *     bytes; length mod 4 != 1; unused trailing bits must be zero (one
 *     encoding per value).
 *   base64: alphabet A-Z a-z 0-9 + /, padded to a multiple of 4 with at most
 *     two '=' at the end; no whitespace; unused trailing bits zero.
 * Error messages give the offending offset, never the input.
 * Outputs are allocated with malloc (free with free(), or gauth__secret_free
 * when they hold secrets) and are NUL-terminated (decoded buffers too, one
 * byte past *outlen, for convenience). Pure; thread-safe. */
#ifndef GAUTH_LIB_BASE64_H
#define GAUTH_LIB_BASE64_H

#include "common.h"

gauth_status gauth__b64url_encode(const void *data, size_t len, char **out,
                                  gauth_error *err);
gauth_status gauth__b64url_decode(const char *in, size_t inlen,
                                  unsigned char **out, size_t *outlen,
                                  gauth_error *err);

gauth_status gauth__b64_encode(const void *data, size_t len, char **out,
                               gauth_error *err);
gauth_status gauth__b64_decode(const char *in, size_t inlen,
                               unsigned char **out, size_t *outlen,
                               gauth_error *err);

#endif /* GAUTH_LIB_BASE64_H */
