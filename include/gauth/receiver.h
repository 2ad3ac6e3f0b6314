/* libgauth: authenticating incoming requests from Google: Cloud Scheduler,
 * Cloud Tasks, Pub/Sub push, IAP and any other caller with a Google-signed
 * ID token, in a C server.
 *
 *     static const char *aud[] = {"https://collector.example.com/", NULL};
 *     static const char *allow[] = {
 *         "scheduler@my-project.iam.gserviceaccount.com", NULL};
 *     gauth_receiver_options ro = GAUTH_RECEIVER_OPTIONS_INIT;
 *     ro.audiences = aud;
 *     ro.allowed_emails = allow;
 *     gauth_receiver *r;
 *     if (gauth_receiver_new(&r, &ro, &err) != GAUTH_OK) ...
 *
 *     // then, per request, from any worker thread:
 *     gauth_request req = GAUTH_REQUEST_INIT;
 *     req.header = my_header_lookup;     // or req.headers / header_count
 *     req.header_userdata = my_conn;
 *     gauth_caller *c;
 *     if (gauth_receiver_verify(r, &req, GAUTH_RECEIVE_BEARER, &c, &err)
 *         == GAUTH_OK) {
 *       serve(gauth_caller_email(c));
 *       gauth_caller_free(c);
 *     } else {
 *       char www[256];
 *       answer(err.http_status,
 *              gauth_receiver_challenge(r, &err, www, sizeof www));
 *     }
 *
 * What is checked, per mode:
 *   GAUTH_RECEIVE_BEARER: the ID token in `X-Serverless-Authorization`
 *     when present, else in `Authorization` (scheme "Bearer", any case, one
 *     space), verified as a Google ID token (keys from Google, or the
 *     endpoint overrides) for one of `audiences`, then the caller against
 *     `allowed_emails` / `allowed_domains`.
 *   GAUTH_RECEIVE_PUBSUB_PUSH: the same token, which must carry a verified
 *     `email` (the push subscription's service account), and the push
 *     envelope in the body, parsed and bounded by `max_body_bytes`.
 *   GAUTH_RECEIVE_IAP: the ES256 assertion in `x-goog-iap-jwt-assertion`,
 *     verified with IAP's keys for one of `iap_audiences`
 *     (`/projects/NUMBER/apps/PROJECT` or
 *     `/projects/NUMBER/global/backendServices/ID`).
 *
 * On rejection the call returns GAUTH_E_VERIFY (GAUTH_E_TOO_LARGE for an
 * oversized body) with err->reason one of GAUTH_REASON_* below or of
 * verifier.h, err->message saying what was wrong (never the token), and
 * err->http_status the status to answer with: 401 (no or bad credentials),
 * 403 (a valid token from a caller the policy does not allow), 400 (a
 * malformed push envelope), 413 (a body over the limit) or 503 (Google's
 * keys could not be fetched: retry later). gauth_receiver_challenge() gives
 * the RFC 6750 `WWW-Authenticate` value for 401 and 403.
 *
 * The caller's kind (Cloud Scheduler, Cloud Tasks, Pub/Sub push, IAP) is
 * taken from the mode and from the headers Google's services add
 * (`X-CloudScheduler`, `X-CloudTasks-QueueName`); headers are not signed,
 * so the kind is a label for logs and routing, never an authorization: the
 * token's email is.
 *
 * Cloud Run's IAM check ("Require authentication") replaces the verified
 * token's signature with SIGNATURE_REMOVED_BY_GOOGLE before the request
 * reaches the container. Such a token cannot be verified: it is rejected
 * (reason "signature_removed") unless `trust_cloud_run` is set, and even
 * then only for requests that arrived on Cloud Run's port (`$PORT` when
 * `K_SERVICE` is set, or `cloud_run_port`): then its claims are decoded and
 * checked (issuer, audience, expiry, caller) but not its signature, and
 * gauth_caller_signature_verified() says 0.
 *
 * OWNERSHIP: the options and their strings are copied by gauth_receiver_new.
 * The request view is only read during the call; nothing in it is kept.
 * A gauth_caller is the caller's (gauth_caller_free); the strings its
 * getters return live as long as it does.
 *
 * THREAD SAFETY: one receiver serves every thread: gauth_receiver_verify
 * may run concurrently on one receiver. The header callback is called only
 * from the calling thread, during the call. */
#ifndef GAUTH_RECEIVER_H
#define GAUTH_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/error.h>
#include <gauth/export.h>
#include <gauth/jose.h>
#include <gauth/options.h>

GAUTH_BEGIN_DECLS

/* Rejection reasons added by the receiver (gauth_error.reason). Stable.
 * The verifier's reasons (verifier.h) also appear. */
#define GAUTH_REASON_NO_CREDENTIALS "no_credentials"         /* 401 */
#define GAUTH_REASON_BAD_AUTH_HEADER "bad_auth_header"       /* 401 */
#define GAUTH_REASON_SIGNATURE_REMOVED "signature_removed"   /* 401 */
#define GAUTH_REASON_CALLER_NOT_ALLOWED "caller_not_allowed" /* 403 */
#define GAUTH_REASON_EMAIL_NOT_VERIFIED "email_not_verified" /* 403 */
#define GAUTH_REASON_BAD_ENVELOPE "bad_envelope"             /* 400 */
#define GAUTH_REASON_BODY_TOO_LARGE "body_too_large"         /* 413 */

/* Which endpoint the request came to, and so what it must carry. */
typedef enum gauth_receive_mode {
  GAUTH_RECEIVE_BEARER = 0,      /* an ID token (Scheduler, Tasks, ...) */
  GAUTH_RECEIVE_PUBSUB_PUSH = 1, /* an ID token and a push envelope */
  GAUTH_RECEIVE_IAP = 2          /* an IAP assertion */
} gauth_receive_mode;

/* Who called, as far as Google's headers and the mode say. */
typedef enum gauth_caller_kind {
  GAUTH_CALLER_GOOGLE = 0,          /* another Google-signed ID token */
  GAUTH_CALLER_CLOUD_SCHEDULER = 1, /* X-CloudScheduler: true */
  GAUTH_CALLER_CLOUD_TASKS = 2,     /* X-CloudTasks-QueueName present */
  GAUTH_CALLER_PUBSUB_PUSH = 3,     /* GAUTH_RECEIVE_PUBSUB_PUSH */
  GAUTH_CALLER_IAP = 4              /* GAUTH_RECEIVE_IAP */
} gauth_caller_kind;

/* "google", "cloud_scheduler", "cloud_tasks", "pubsub_push", "iap";
 * "unknown" for any other value. Static. */
GAUTH_API const char *gauth_caller_kind_name(gauth_caller_kind kind);

#define GAUTH_RECEIVER_OPTIONS_VERSION 1

typedef struct gauth_receiver_options {
  unsigned int version; /* GAUTH_RECEIVER_OPTIONS_VERSION */
  /* Accepted `aud` of ID tokens (BEARER and PUBSUB_PUSH), NULL-terminated:
   * the URL the callers address (Cloud Run's default audience is the
   * service URL) or the custom audience configured in the job or the push
   * subscription. Required unless only IAP is used. */
  const char *const *audiences;
  /* Callers allowed (their token's `email`, which must then be verified),
   * NULL-terminated: the local part compared exactly, the domain ignoring
   * case. With neither list, any Google-signed token for one of the
   * audiences is accepted. With either, a token without `email` is
   * caller_not_allowed and one whose `email_verified` is not true is
   * email_not_verified (IAP assertions carry no email_verified: IAP's
   * email is taken as verified). */
  const char *const *allowed_emails;
  /* Email domains allowed ("my-project.iam.gserviceaccount.com" allows
   * every service account of that project), NULL-terminated: the part
   * after the '@', whole (no subdomains), ignoring case. */
  const char *const *allowed_domains;
  /* Accepted IAP audiences, NULL-terminated; NULL: GAUTH_RECEIVE_IAP is
   * refused (the receiver was not configured for IAP). */
  const char *const *iap_audiences;
  /* 1: accept SIGNATURE_REMOVED_BY_GOOGLE tokens (see above). */
  int trust_cloud_run;
  /* The port Cloud Run's front end delivers to. 0: $PORT, read by
   * gauth_receiver_new, when $K_SERVICE is set; otherwise none, and no
   * signature-removed token is accepted. */
  unsigned int cloud_run_port;
  /* Largest push body accepted. 0: 16 MiB (Pub/Sub's 10 MB message limit,
   * base64-encoded, with its attributes). */
  size_t max_body_bytes;
  /* Verified-token cache entries (per key set). < 0: 4096 (on by default);
   * 0: off, every request verifies a signature. */
  long token_cache_entries;
  long leeway_seconds; /* clock skew; < 0: 30 */
  /* The realm in WWW-Authenticate; NULL: none. */
  const char *realm;
  gauth_clock_fn clock; /* NULL: the system clock */
  void *clock_userdata;
  /* Transport, endpoints (GAUTH_ENDPOINT), logging. NULL: defaults and the
   * environment. */
  const gauth_options *http;
} gauth_receiver_options;

#define GAUTH_RECEIVER_OPTIONS_INIT                                          \
  {                                                                          \
    GAUTH_RECEIVER_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0, -1, -1, \
        NULL, NULL, NULL, NULL                                               \
  }

/* One header of a request, as a parser holds it (not NUL-terminated). */
typedef struct gauth_http_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} gauth_http_header;

/* Looks up a header by name (case-insensitive; `name` is lower case and
 * NUL-terminated). Returns the value (need not be NUL-terminated, *len
 * set) or NULL when absent. With repeated headers, return the first. */
typedef const char *(*gauth_header_fn)(void *userdata, const char *name,
                                       size_t *len);

#define GAUTH_REQUEST_VERSION 1

/* A view of a request. Give the headers either as an array or through a
 * callback (the callback wins when both are set). */
typedef struct gauth_request {
  unsigned int version; /* GAUTH_REQUEST_VERSION */
  const gauth_http_header *headers;
  size_t header_count;
  gauth_header_fn header;
  void *header_userdata;
  /* The body (GAUTH_RECEIVE_PUBSUB_PUSH). */
  const char *body;
  size_t body_len;
  /* The local port the request arrived on (0: unknown). */
  unsigned int local_port;
} gauth_request;

#define GAUTH_REQUEST_INIT \
  { GAUTH_REQUEST_VERSION, NULL, 0, NULL, NULL, NULL, 0, 0 }

typedef struct gauth_receiver gauth_receiver;
typedef struct gauth_caller gauth_caller;

/* Builds a receiver (no network access: keys are fetched on first use or
 * by gauth_receiver_refresh_keys). Errors: GAUTH_E_INVALID_ARG (no
 * audience and no IAP audience, an IAP audience not of either form, an
 * unknown version), GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_receiver_new(
    gauth_receiver **out, const gauth_receiver_options *opts, gauth_error *err);
GAUTH_API void gauth_receiver_up_ref(gauth_receiver *r);
GAUTH_API void gauth_receiver_free(gauth_receiver *r);

/* Fetches the key sets the receiver uses now (at start-up, to fail fast). */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_receiver_refresh_keys(gauth_receiver *r, gauth_error *err);

/* Authenticates one request. GAUTH_OK: *out is the caller. Otherwise *out
 * is NULL and *err says why, with err->http_status the status to answer
 * (see above). GAUTH_E_INVALID_ARG for NULL arguments, an unknown mode or
 * request version, or a mode the receiver was not configured for (IAP
 * without iap_audiences, BEARER / PUBSUB_PUSH without audiences);
 * GAUTH_E_NOMEM: err->http_status 500 for these. Order of the checks: the
 * body's size (PUBSUB_PUSH), the credential, the token, the caller, then
 * the envelope: a caller that is not authenticated learns nothing about
 * its body. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_receiver_verify(
    gauth_receiver *r, const gauth_request *req, gauth_receive_mode mode,
    gauth_caller **out, gauth_error *err);

/* The WWW-Authenticate value (RFC 6750 section 3) to answer a rejection
 * with: `Bearer` alone when the request carried no credentials, else
 * `Bearer error="invalid_token", error_description="..."` (401) or
 * `Bearer error="insufficient_scope", ...` (403), with the realm when one
 * is set. Written to buf (truncated to size, always NUL-terminated);
 * returns buf, or NULL when the status calls for no challenge (400, 413,
 * 503, success). Never contains the token. */
GAUTH_API const char *gauth_receiver_challenge(const gauth_receiver *r,
                                               const gauth_error *err,
                                               char *buf, size_t size);

GAUTH_API void gauth_caller_free(gauth_caller *c);
GAUTH_API gauth_caller_kind gauth_caller_get_kind(const gauth_caller *c);
/* The token's `email` (NULL when it has none), `sub`, the audience that
 * matched, `iss`. */
GAUTH_API const char *gauth_caller_email(const gauth_caller *c);
GAUTH_API const char *gauth_caller_subject(const gauth_caller *c);
GAUTH_API const char *gauth_caller_audience(const gauth_caller *c);
GAUTH_API const char *gauth_caller_issuer(const gauth_caller *c);
/* 1 when the signature was verified; 0 for a signature-removed token
 * accepted under trust_cloud_run. */
GAUTH_API int gauth_caller_signature_verified(const gauth_caller *c);
/* All the claims (borrowed: valid while c is). */
GAUTH_API const gauth_claims *gauth_caller_claims(const gauth_caller *c);

/* Pub/Sub push (GAUTH_RECEIVE_PUBSUB_PUSH; NULL / 0 otherwise). The data
 * is message.data base64-decoded (may hold NUL bytes; *len set, NUL
 * appended). */
GAUTH_API const unsigned char *gauth_caller_pubsub_data(const gauth_caller *c,
                                                        size_t *len);
GAUTH_API const char *gauth_caller_pubsub_message_id(const gauth_caller *c);
GAUTH_API const char *gauth_caller_pubsub_publish_time(const gauth_caller *c);
GAUTH_API const char *gauth_caller_pubsub_subscription(const gauth_caller *c);
GAUTH_API const char *gauth_caller_pubsub_ordering_key(const gauth_caller *c);
/* deliveryAttempt (0 when the subscription has no dead-letter policy). */
GAUTH_API int gauth_caller_pubsub_delivery_attempt(const gauth_caller *c);
/* message.attributes: the value for key, or NULL; and by index. */
GAUTH_API const char *gauth_caller_pubsub_attribute(const gauth_caller *c,
                                                    const char *key);
GAUTH_API size_t gauth_caller_pubsub_attribute_count(const gauth_caller *c);
GAUTH_API const char *gauth_caller_pubsub_attribute_at(const gauth_caller *c,
                                                       size_t i,
                                                       const char **value);

GAUTH_END_DECLS

#endif /* GAUTH_RECEIVER_H */
