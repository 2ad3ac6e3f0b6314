/* Internal: base64url (RFC 4648 section 5, as JOSE uses it) and standard
 * base64, over OpenSSL's EVP encoder / decoder.
 *
 * Decoding is strict:
 *   base64url: alphabet A-Z a-z 0-9 - _ only; no padding, whitespace or other
 *     bytes; length mod 4 != 1; unused trailing bits must be zero (one
 *     encoding per value).
 *   base64: alphabet A-Z a-z 0-9 + /, padded to a multiple of 4 with at most
 *     two '=' at the end; no whitespace; unused trailing bits zero.
 *   Empty input decodes to an empty buffer (*outlen 0).
 * Errors: GAUTH_E_MALFORMED for input that breaks a rule above, with the
 * offset of the offending byte and never the input itself (it may be a
 * secret); GAUTH_E_INVALID_ARG for a NULL out / outlen, or a NULL input with
 * a non-zero length (NULL with length 0 is the empty string);
 * GAUTH_E_TOO_LARGE when the encoding's length would not fit in a size_t;
 * GAUTH_E_NOMEM. On error *out is NULL (and *outlen 0).
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
