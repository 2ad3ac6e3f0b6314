/* Internal: the one HTTP transport, over libcurl. Every request of libgauth
 * goes through gauth__http_do().
 *
 * Per request it: applies the endpoint override (config) to the URL; refuses
 * plain http:// to anything but loopback and the metadata host before any
 * connection; sets connect and per-attempt timeouts; caps the reply size
 * (config max_response_bytes: a larger reply stops with GAUTH_E_TOO_LARGE);
 * follows no redirect unless asked (and then checks each hop's URL like the
 * first); sends "User-Agent: gauth/VERSION"; keeps TLS peer and host
 * verification on; retries per the config's policy (408, 429, 5xx, refused /
 * reset / timed-out connections; Retry-After honoured; never past the
 * deadline); maps a final non-2xx reply into err. Logs at debug level one
 * line per attempt, with known secrets redacted; never logs bodies. A
 * request may carry a cancel object (gauth__http_cancel, below) that
 * another thread fires to end it with GAUTH_E_CANCELLED.
 *
 * THREAD SAFETY: one gauth__http may be used by any number of threads at
 * once. Connections, DNS and TLS sessions are shared through a locked
 * curl share object. */
#ifndef GAUTH_LIB_HTTP_H
#define GAUTH_LIB_HTTP_H

#include <cjson/cJSON.h>

#include "common.h"
#include "config.h"

typedef struct gauth__http gauth__http;

/* A way to abort requests from another thread. A request that carries one
 * (gauth__http_request.cancel) is made on an easy handle and connection of
 * its own, whose sockets the cancel object records as libcurl opens and
 * closes them; gauth__http_cancel_fire then shuts those sockets down, so
 * that a transfer blocked on a long-poll wakes at once, and the request
 * fails with GAUTH_E_CANCELLED: at once when fired before an attempt or
 * during a wait between attempts, within milliseconds during a transfer
 * (the shutdown; libcurl's progress callback, which also checks, is the
 * fallback at least once a second). Once fired it stays fired: every later
 * request that carries it fails at once.
 *
 * THREAD SAFETY: fire and fired may be called from any thread at any time
 * while the object lives; the object may be used by one request at a time.
 * gauth__http_cancel_free waits for a fire still inside its critical section
 * to leave it, so a thread whose request returned GAUTH_E_CANCELLED may free
 * the object while the firing thread is still returning from fire. */
typedef struct gauth__http_cancel gauth__http_cancel;

gauth_status gauth__http_cancel_new(gauth__http_cancel **out, gauth_error *err);
void gauth__http_cancel_free(gauth__http_cancel *c);
void gauth__http_cancel_fire(gauth__http_cancel *c);
/* 1 once fired. */
int gauth__http_cancel_fired(gauth__http_cancel *c);
/* Sleeps ms milliseconds on CLOCK_MONOTONIC, or less when fired meanwhile;
 * returns 1 when fired (c NULL: a plain sleep, returns 0). */
int gauth__http_cancel_sleep(gauth__http_cancel *c, int64_t ms);

/* Copies cfg; takes a reference on the library's global state. */
gauth_status gauth__http_new(gauth__http **out, const gauth__config *cfg,
                             gauth_error *err);
void gauth__http_free(gauth__http *h);

/* Borrowed. */
const gauth__config *gauth__http_config(const gauth__http *h);

typedef struct gauth__http_request {
  /* "GET" (NULL means GET), "POST", "PUT", "PATCH" (these three send body,
   * possibly empty), "DELETE", "HEAD" or "OPTIONS" */
  const char *method;
  const char *url;
  const char *const *headers; /* NULL or NULL-terminated "Name: value" */
  const char *body;           /* POST / PUT / PATCH body (may hold secrets) */
  size_t body_len;
  const char *content_type;        /* POST content type */
  const char *const *secrets;      /* NULL or NULL-terminated: redacted in logs
                                      and messages (bearer tokens, assertions) */
  unsigned int max_redirects;      /* 0: redirects are not followed; at most
                                      GAUTH__MAX_REDIRECTS are ever followed */
  int no_retry;                    /* 1: one attempt only */
  unsigned int timeout_ms;         /* 0: config's per-attempt timeout */
  unsigned int connect_timeout_ms; /* 0: config's */
  int accept_any_status;           /* 1: a non-2xx reply is GAUTH_OK too */
  int no_proxy;                    /* 1: straight to the host, whatever the
                                      proxy settings (the metadata server) */
  unsigned int deadline_ms;        /* all attempts and waits; 0: config's
                                      retry deadline */
  int aws_imds;                    /* 1: plain http to AWS's instance
                                      metadata addresses is allowed too
                                      (the AWS source checked the URL) */
  size_t keep_body;                /* > 0: keep the first keep_body bytes of
                                      the reply and drop the rest (read, not
                                      an error; resp.body_cut says so); 0: a
                                      reply over max_response_bytes fails */
  gauth__http_cancel *cancel;      /* NULL, or aborts the request when fired
                                      (GAUTH_E_CANCELLED) */
} gauth__http_request;

typedef struct gauth__http_header {
  char *name;
  char *value;
} gauth__http_header;

typedef struct gauth__http_response {
  long status; /* HTTP status of the final reply */
  char *body;  /* NUL-terminated, may be empty; wiped on cleanup */
  size_t body_len;
  int body_cut;                /* keep_body: the body was longer */
  gauth__http_header *headers; /* of the final reply, in order */
  size_t header_count;
  unsigned int attempts; /* attempts made */
  char *url;             /* the URL of the final reply */
} gauth__http_response;

/* Performs the request. On GAUTH_OK, resp holds a 2xx reply (or any reply
 * with accept_any_status). On an HTTP error status, resp still holds the
 * reply and err is filled from its body (lib/error_body.h). On a transport
 * failure, resp->status is 0. Always call gauth__http_response_cleanup. */
gauth_status gauth__http_do(gauth__http *h, const gauth__http_request *req,
                            gauth__http_response *resp, gauth_error *err);

void gauth__http_response_cleanup(gauth__http_response *resp);

/* The value of the last header called name (case-insensitive), or NULL. */
const char *gauth__http_response_header(const gauth__http_response *resp,
                                        const char *name);

/* One field of an application/x-www-form-urlencoded body. */
typedef struct gauth__form_field {
  const char *name;
  const char *value;
  int secret; /* 1: the value is redacted in logs and messages */
} gauth__form_field;

/* Encodes fields as name=value&... with percent-encoding (pure). Free *out
 * with gauth__secret_strfree (it may hold secrets). */
gauth_status gauth__form_encode(const gauth__form_field *fields, size_t n,
                                char **out, gauth_error *err);

/* GET url. */
gauth_status gauth__http_get(gauth__http *h, const char *url,
                             const char *const *headers,
                             const char *const *secrets,
                             gauth__http_response *resp, gauth_error *err);

/* POST a form; secret fields are added to the request's secrets. */
gauth_status gauth__http_post_form(gauth__http *h, const char *url,
                                   const char *const *headers,
                                   const gauth__form_field *fields, size_t n,
                                   gauth__http_response *resp,
                                   gauth_error *err);

/* The same with more secrets to redact (NULL-terminated, may be NULL):
 * values the body carries in another form (inside an encoded field). */
gauth_status gauth__http_post_form_secrets(gauth__http *h, const char *url,
                                           const char *const *headers,
                                           const gauth__form_field *fields,
                                           size_t n, const char *const *more,
                                           gauth__http_response *resp,
                                           gauth_error *err);

/* POST a JSON body (serialised unformatted). */
gauth_status gauth__http_post_json(gauth__http *h, const char *url,
                                   const char *const *headers,
                                   const cJSON *body,
                                   const char *const *secrets,
                                   gauth__http_response *resp,
                                   gauth_error *err);

#endif /* GAUTH_LIB_HTTP_H */
