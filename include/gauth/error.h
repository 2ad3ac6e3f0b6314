/* libgauth: status codes and the caller-owned error detail.
 *
 * Every fallible libgauth call returns a gauth_status and takes, as its last
 * argument, a `gauth_error *err` that may be NULL. On failure the call fills
 * *err (when not NULL) with the code, a message naming what failed and where,
 * and where they apply the HTTP status, the OAuth `error` / Google `status`
 * string and a verification reason. On success *err is left cleared.
 *
 * OWNERSHIP: gauth_error is a plain struct owned by the caller (on the stack,
 * typically); it holds no pointers and needs no cleanup.
 *
 * SECRETS: messages never contain a token, assertion, refresh token or
 * private key; text taken from a server reply is redacted and truncated.
 *
 * THREAD SAFETY: all functions here are thread-safe; a gauth_error must not
 * be written by two threads at once. */
#ifndef GAUTH_ERROR_H
#define GAUTH_ERROR_H

#include <gauth/export.h>

GAUTH_BEGIN_DECLS

/* Status codes. The values are part of the ABI: they are never renumbered,
 * and new codes are only ever appended. */
typedef enum gauth_status {
  GAUTH_OK = 0,
  GAUTH_E_INVALID_ARG = 1, /* a caller passed an invalid argument */
  GAUTH_E_NOMEM = 2,       /* out of memory */
  GAUTH_E_IO = 3,          /* a file could not be read or written */
  GAUTH_E_MALFORMED = 4,   /* malformed input: JSON, base64, key, token */
  GAUTH_E_TOO_LARGE = 5,   /* input or reply over a size or depth limit */
  GAUTH_E_NETWORK = 6,     /* connection refused / reset, DNS failure */
  GAUTH_E_TIMEOUT = 7,     /* a timeout or deadline expired */
  GAUTH_E_TLS = 8,         /* TLS handshake or certificate failure */
  GAUTH_E_INSECURE_URL =
      9,             /* URL refused: plain http to a remote host, bad scheme */
  GAUTH_E_HTTP = 10, /* the server answered with an HTTP error status */
  GAUTH_E_UNAUTHENTICATED =
      11, /* 401, or OAuth invalid_grant / invalid_client */
  GAUTH_E_PERMISSION_DENIED = 12, /* 403 */
  GAUTH_E_NOT_FOUND = 13,    /* 404, or a named thing that does not exist */
  GAUTH_E_RATE_LIMITED = 14, /* 429 after every allowed retry */
  GAUTH_E_UNAVAILABLE = 15,  /* 5xx after every allowed retry */
  GAUTH_E_BAD_RESPONSE = 16, /* a reply that could not be understood */
  GAUTH_E_VERIFY = 17,       /* a token was rejected; see gauth_error.reason */
  GAUTH_E_CRYPTO = 18,       /* a cryptographic operation failed */
  GAUTH_E_UNSUPPORTED =
      19, /* a feature or algorithm libgauth does not support */
  GAUTH_E_NO_CREDENTIALS =
      20,                /* no credentials found where they were looked for */
  GAUTH_E_INTERNAL = 21, /* a bug in libgauth: please report it */
  GAUTH_E_CANCELLED = 22 /* the caller cancelled the operation */
} gauth_status;

/* Sizes of the text fields of gauth_error, including the terminating NUL.
 * Longer text is truncated (on a UTF-8 character boundary). */
#define GAUTH_ERROR_MESSAGE_SIZE 512
#define GAUTH_ERROR_CODE_SIZE 64
#define GAUTH_ERROR_REASON_SIZE 32

/* Detail of the last failure of one call. All strings are NUL-terminated
 * and empty when they do not apply. */
typedef struct gauth_error {
  gauth_status code; /* same value the call returned */
  int http_status;   /* HTTP status of the reply that failed, 0 if none */
  /* Human-readable: what failed, where, and what to do. Never a secret. */
  char message[GAUTH_ERROR_MESSAGE_SIZE];
  /* The OAuth "error" ("invalid_grant") or Google "status"
   * ("PERMISSION_DENIED") string from the server's reply. */
  char error_code[GAUTH_ERROR_CODE_SIZE];
  /* For GAUTH_E_VERIFY: a stable machine-readable reason such as "expired",
   * "audience_mismatch", "signature_invalid", "unknown_kid", "malformed". */
  char reason[GAUTH_ERROR_REASON_SIZE];
} gauth_error;

/* Static initializer: gauth_error err = GAUTH_ERROR_INIT; */
#define GAUTH_ERROR_INIT         \
  {                              \
    GAUTH_OK, 0, {0}, {0}, { 0 } \
  }

/* Resets *err to GAUTH_ERROR_INIT. NULL is a no-op. */
GAUTH_API void gauth_error_clear(gauth_error *err);

/* A short English description of a status ("out of memory"). Never NULL;
 * an unknown value gives "unknown status". The string is static. */
GAUTH_API const char *gauth_strerror(gauth_status status);

/* The enumerator's name ("GAUTH_E_NOMEM"). Never NULL; an unknown value
 * gives "GAUTH_E_UNKNOWN". The string is static. */
GAUTH_API const char *gauth_status_name(gauth_status status);

GAUTH_END_DECLS

#endif /* GAUTH_ERROR_H */
