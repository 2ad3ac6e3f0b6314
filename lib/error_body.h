/* Internal: turning an HTTP error reply into a gauth_error. Pure.
 *
 * Understands Google's shape {"error":{"code":403,"message":"...",
 * "status":"PERMISSION_DENIED"}} and OAuth's {"error":"invalid_grant",
 * "error_description":"..."}. Any other body is not echoed: the message only
 * says how long it was and its content type. Text from the server is
 * truncated to GAUTH__ERROR_TEXT_MAX bytes and redacted. */
#ifndef GAUTH_LIB_ERROR_BODY_H
#define GAUTH_LIB_ERROR_BODY_H

#include "common.h"

/* The status for a failed reply: 401 and the OAuth errors invalid_grant,
 * invalid_client, unauthorized_client -> GAUTH_E_UNAUTHENTICATED; 403 ->
 * GAUTH_E_PERMISSION_DENIED; 404 -> GAUTH_E_NOT_FOUND; 408 -> GAUTH_E_TIMEOUT;
 * 429 -> GAUTH_E_RATE_LIMITED; 5xx -> GAUTH_E_UNAVAILABLE; any other status
 * -> GAUTH_E_HTTP. error_code may be NULL. */
gauth_status gauth__status_for_http(long http_status, const char *error_code);

/* Fills err for a reply with status http_status. `what` names the request
 * ("POST http://127.0.0.1:8080/token"); `known` lists secrets to redact
 * (may be NULL). Message: "WHAT: HTTP 400 invalid_grant: Invalid JWT
 * Signature." Returns the status set. */
gauth_status gauth__error_from_reply(gauth_error *err, long http_status,
                                     const char *content_type, const char *body,
                                     size_t body_len, const char *what,
                                     const char *const *known);

#endif /* GAUTH_LIB_ERROR_BODY_H */
