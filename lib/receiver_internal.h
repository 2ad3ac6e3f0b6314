/* Internal: the receiver's pure parts (lib/receiver.c,
 * lib/receiver_pubsub.c), apart from I/O so that unit tests reach them:
 * header lookup, the Bearer credential, IAP audiences, the caller's kind,
 * and the Pub/Sub push envelope. */
#ifndef GAUTH_LIB_RECEIVER_INTERNAL_H
#define GAUTH_LIB_RECEIVER_INTERNAL_H

#include <cjson/cJSON.h>

#include "common.h"

/* Largest push body by default: Pub/Sub's 10 MB message limit,
 * base64-encoded, with its attributes. */
#define GAUTH__RECEIVER_DEFAULT_MAX_BODY ((size_t)16 * 1024 * 1024)
/* Verified-token cache entries when token_cache_entries < 0. */
#define GAUTH__RECEIVER_DEFAULT_CACHE 4096
/* The signature segment Cloud Run's IAM check leaves in a token. */
#define GAUTH__SIGNATURE_REMOVED "SIGNATURE_REMOVED_BY_GOOGLE"

/* The value of header `lname` (lower case) of req: the callback's answer
 * when req->header is set, else the first of req->headers whose name equals
 * it ignoring ASCII case. NULL when absent (*len 0). */
const char *gauth__receiver_header(const struct gauth_request *req,
                                   const char *lname, size_t *len);

/* The token of the request's Bearer credential: `X-Serverless-Authorization`
 * when present, else `Authorization`; "Bearer" (any case), one space, a
 * token68, surrounding blanks of the field value ignored. *tok points into
 * the header value. scan 0 skips the check of the token's characters
 * (token68): the receiver makes it only for a token that was refused (a
 * token that passed is base64url and dots: the JWS parser is strict).
 * Errors: GAUTH_E_VERIFY with reason no_credentials (no header) or
 * bad_auth_header (anything else); the message never shows the value.
 * err->http_status is not set. */
gauth_status gauth__receiver_bearer(const struct gauth_request *req, int scan,
                                    const char **tok, size_t *len,
                                    gauth_error *err);

/* The same checks on one field value. */
gauth_status gauth__receiver_parse_bearer(const char *value, size_t vlen,
                                          const char *header_name, int scan,
                                          const char **tok, size_t *len,
                                          gauth_error *err);

/* 1 when aud is `/projects/NUMBER/apps/PROJECT_ID` or
 * `/projects/NUMBER/global/backendServices/ID` (NUMBER and ID digits,
 * PROJECT_ID a project id: lower-case letters, digits, hyphens, and for
 * legacy domain-scoped ids "domain:id"). */
int gauth__receiver_iap_audience_valid(const char *aud);

/* The caller's kind from the mode and Google's (unsigned) headers. */
gauth_caller_kind gauth__receiver_kind(const struct gauth_request *req,
                                       gauth_receive_mode mode);

/* 1 when the compact token's third segment is exactly
 * SIGNATURE_REMOVED_BY_GOOGLE. */
int gauth__receiver_signature_removed(const char *tok, size_t len);

/* A parsed push envelope. Strings point into `root`. */
typedef struct gauth__pubsub_push {
  cJSON *root;
  unsigned char *data; /* decoded message.data, NUL appended; never NULL
                          after a successful parse */
  size_t data_len;
  const char *message_id;
  const char *publish_time; /* NULL when absent */
  const char *ordering_key; /* NULL when absent */
  const char *subscription;
  int delivery_attempt; /* 0 when absent */
  const cJSON **attr;   /* attribute items (name: ->string, value:
                           ->valuestring), attr_count of them */
  size_t attr_count;
} gauth__pubsub_push;

/* Parses a push body: len over max_bytes -> GAUTH_E_TOO_LARGE (reason
 * body_too_large) before reading it; anything malformed -> GAUTH_E_VERIFY,
 * reason bad_envelope, the message naming the part. err->http_status is
 * not set. On failure *out holds nothing. */
gauth_status gauth__pubsub_push_parse(const char *body, size_t len,
                                      size_t max_bytes, gauth__pubsub_push *out,
                                      gauth_error *err);
void gauth__pubsub_push_cleanup(gauth__pubsub_push *p);

#endif /* GAUTH_LIB_RECEIVER_INTERNAL_H */
