/* Internal: AWS Signature Version 4 (the canonical request, the string to
 * sign, the HMAC-SHA256 signing key chain and the Authorization value), as
 * a pure function: no clock, no environment, no I/O. The AWS source of
 * external accounts (lib/cred_external_aws.c) signs its GetCallerIdentity
 * request with it.
 *
 * SECRETS: the secret access key, the session token and the resulting
 * Authorization value (its signature) are secrets: the result's
 * authorization is wiped by gauth__sigv4_result_cleanup; nothing here logs
 * or puts them in an error message.
 *
 * THREAD SAFETY: no shared state. */
#ifndef GAUTH_LIB_AWS_SIGV4_H
#define GAUTH_LIB_AWS_SIGV4_H

#include <stdint.h>

#include "common.h"

#define GAUTH__SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

typedef struct gauth__sigv4_header {
  const char *name; /* any case: signed lower-cased */
  const char *value;
} gauth__sigv4_header;

typedef struct gauth__sigv4_request {
  const char *method; /* "POST", "GET" */
  const char *url;    /* scheme://host[:port][/path][?query] */
  const char *region;
  const char *service;
  /* Headers signed besides the ones the signer adds itself (host,
   * x-amz-date, and x-amz-security-token when session_token is set). */
  const gauth__sigv4_header *headers;
  size_t header_count;
  const char *body; /* may be NULL (empty) */
  size_t body_len;
  int64_t time; /* seconds since the epoch, UTC */
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token; /* NULL: none */
} gauth__sigv4_request;

typedef struct gauth__sigv4_result {
  char amz_date[17];       /* YYYYMMDDTHHMMSSZ */
  char *host;              /* the host header's value: host[:port] */
  char *canonical_request; /* for tests and debugging (holds the session
                              token when there is one: wiped) */
  char *string_to_sign;
  char *signed_headers; /* "host;x-amz-date;..." */
  char *authorization;  /* AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
                           Signature=... (a secret) */
} gauth__sigv4_result;

/* Signs req into *out. GAUTH_E_INVALID_ARG naming what is wrong (a URL
 * that does not parse, a header name that is not a token or is one the
 * signer sets, a missing member, a time out of range); GAUTH_E_NOMEM.
 * Messages never show the key, the token or the signature. On failure *out
 * holds nothing to free (cleanup is still safe). */
gauth_status gauth__sigv4_sign(const gauth__sigv4_request *req,
                               gauth__sigv4_result *out, gauth_error *err);
void gauth__sigv4_result_cleanup(gauth__sigv4_result *r);

/* Percent-encodes s as AWS does for the canonical query string: every byte
 * but A-Z a-z 0-9 - _ . ~ as %XX (upper-case hex). keep_slash: '/' is kept
 * too (paths). Free with free(); NULL on allocation failure. */
char *gauth__sigv4_uri_encode(const char *s, size_t len, int keep_slash);

#endif /* GAUTH_LIB_AWS_SIGV4_H */
