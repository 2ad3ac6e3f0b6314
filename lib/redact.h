/* Internal: keeping secrets out of logs and error messages.
 *
 * gauth__redact() copies a text, replacing with "[redacted]":
 *   - every occurrence of each string in `known` (the secrets of the request
 *     at hand: bearer token, assertion, refresh token, client secret, ...);
 *   - PEM blocks ("-----BEGIN ...-----" through the matching END line, or to
 *     the end of the text when it is cut);
 *   - JWT / JWS-looking runs ("eyJ" followed by base64url and dots);
 *   - Google OAuth access tokens ("ya29." ...) and refresh tokens ("1//" ...);
 *   - the credential after "Bearer " / "Basic ";
 *   - the values of query / form parameters and JSON members whose name says
 *     they are secret (access_token, id_token, refresh_token, assertion,
 *     client_secret, subject_token, token, private_key, signedJwt, signedBlob,
 *     accessToken, password, ...).
 * Pure; thread-safe. */
#ifndef GAUTH_LIB_REDACT_H
#define GAUTH_LIB_REDACT_H

#include "common.h"

#define GAUTH__REDACTED "[redacted]"

/* Returns a new string (free with free()), or NULL when out of memory.
 * `known` is NULL or a NULL-terminated array; empty strings in it and strings
 * shorter than 4 bytes are ignored (they would redact ordinary text). */
char *gauth__redact(const char *text, const char *const *known);

/* Redacts buf in place: the result is truncated to size-1 bytes on a UTF-8
 * boundary. If memory runs out, the whole buffer becomes "[redacted]". */
void gauth__redact_buf(char *buf, size_t size, const char *const *known);

#endif /* GAUTH_LIB_REDACT_H */
