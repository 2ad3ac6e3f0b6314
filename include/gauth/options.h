/* libgauth: endpoint overrides, timeouts, retry policy and logging, in one
 * versioned options struct.
 *
 * Initialise with GAUTH_OPTIONS_INIT, then set what you need:
 *
 *     gauth_options opts = GAUTH_OPTIONS_INIT;
 *     opts.endpoint = "http://127.0.0.1:8080";    // the emulator
 *     opts.timeout_ms = 5000;
 *
 * Every field left zero / NULL takes its default. Objects built from options
 * copy what they need: the struct and its strings may be freed as soon as the
 * constructor returns. A NULL `const gauth_options *` means all defaults.
 *
 * ENDPOINTS. Google's services are reached at their public URLs
 * (https://oauth2.googleapis.com/token, https://iamcredentials.googleapis.com,
 * ...). `endpoint`, or else the environment variable GAUTH_ENDPOINT
 * (http://127.0.0.1:PORT), replaces the scheme, host and port of every URL on
 * a Google host (*.googleapis.com, *.UNIVERSE_DOMAIN, accounts.google.com,
 * www.gstatic.com) and keeps Google's path and query. URLs on other hosts are
 * used as given. A per-service URL is used exactly as given and wins over
 * `endpoint`: set it in `endpoints`, a table keyed by service name that
 * serves every service, those added in later releases included, or (for
 * the six services that have one) in its own field (token_uri,
 * iamcredentials_endpoint, ...). Explicit options always
 * win over the environment. An invalid GAUTH_ENDPOINT is an error, never
 * silently ignored: requests must not fall through to Google by accident.
 *
 * PLAIN HTTP. http:// URLs are refused before any connection is made unless
 * the host is loopback (127.0.0.0/8, ::1, localhost) or the metadata server
 * (metadata_host / GCE_METADATA_HOST, metadata_ip / GCE_METADATA_IP). TLS
 * peer verification is always on; `ca_bundle` names the CA file to trust.
 *
 * THREAD SAFETY: the functions here are thread-safe; they read the
 * environment, so do not setenv() concurrently. */
#ifndef GAUTH_OPTIONS_H
#define GAUTH_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/error.h>
#include <gauth/export.h>
#include <gauth/log.h>

GAUTH_BEGIN_DECLS

/* The current time in seconds since the Unix epoch. Objects that take one
 * (verifiers, credentials) call it from any thread; NULL means the system
 * clock. Tests inject a clock to step through expiry boundaries. */
typedef int64_t (*gauth_clock_fn)(void *userdata);

/* Retries apply to HTTP 408, 429, 500, 502, 503, 504 and to connections that
 * were refused, reset or timed out; never to other 4xx. The wait before retry
 * n (n = 1, 2, ...) is drawn uniformly from [0, min(max_backoff_ms,
 * initial_backoff_ms * multiplier^(n-1))] ("full jitter"), or is the
 * server's Retry-After when it sent one. No wait runs past the deadline. */
typedef struct gauth_retry_policy {
  unsigned int max_attempts; /* in all, first included; 0: 4; 1: no retry */
  unsigned int initial_backoff_ms; /* 0: 500 */
  double multiplier;               /* 0: 2.0; otherwise >= 1.0 */
  unsigned int max_backoff_ms;     /* 0: 16000 */
  unsigned int deadline_ms;        /* all attempts and waits; 0: 60000 */
} gauth_retry_policy;

/* One entry of gauth_options.endpoints: a service by its gauth_service_name()
 * ("pubsub", "storage", "run", ...) and the base URL to use for it (an
 * http(s) URL, used exactly as given; see ENDPOINTS). */
typedef struct gauth_endpoint_override {
  const char *service;
  const char *url;
} gauth_endpoint_override;

/* The version of gauth_options this header describes. The library reads
 * only the fields of the version a caller was compiled with (docs/abi.md):
 *   1  up to and including log_level;
 *   2  adds `endpoints`. */
#define GAUTH_OPTIONS_VERSION 2

typedef struct gauth_options {
  /* Must be GAUTH_OPTIONS_VERSION (GAUTH_OPTIONS_INIT sets it). */
  unsigned int version;

  /* Endpoints (see above). NULL: default. */
  const char *endpoint;        /* scheme://host[:port], replaces Google hosts */
  const char *universe_domain; /* default "googleapis.com" */
  const char *token_uri;       /* OAuth token endpoint, full URL */
  const char *iamcredentials_endpoint;  /* base URL, no trailing path */
  const char *sts_endpoint;             /* base URL */
  const char *resourcemanager_endpoint; /* base URL */
  const char *run_endpoint;             /* base URL */
  const char *iam_endpoint;             /* base URL */
  /* Metadata server: host[:port]. NULL: GCE_METADATA_HOST, else
   * metadata.google.internal. */
  const char *metadata_host;
  /* Metadata probe address: ip[:port]. NULL: GCE_METADATA_IP, else
   * 169.254.169.254. */
  const char *metadata_ip;
  /* How to decide whether a metadata server is there (gauth/metadata.h).
   * 0: GAUTH_METADATA_DETECTION ("auto", "none", "assume-present"), else
   * GAUTH_METADATA_DETECT_AUTO. */
  int metadata_detection;
  /* CA bundle file for TLS. NULL: the system's. */
  const char *ca_bundle;

  /* HTTP limits. 0: default. */
  unsigned int connect_timeout_ms; /* 0: 10000 */
  unsigned int timeout_ms;         /* one attempt, in all; 0: 30000 */
  size_t max_response_bytes;       /* 0: 1 MiB; larger replies fail */
  gauth_retry_policy retry;

  /* Logging (see gauth/log.h). log_fn NULL: the default stderr logger,
   * driven by GAUTH_LOG. log_level 0: GAUTH_LOG if set, else warn. */
  gauth_log_fn log_fn;
  void *log_userdata;
  gauth_log_level log_level;

  /* Version 2. Per-service base URLs by service name, for any service
   * (see ENDPOINTS): an array ended by an entry whose `service` is NULL,
   * e.g.
   *     static const gauth_endpoint_override eps[] = {
   *         {"pubsub", "http://127.0.0.1:8085"}, {NULL, NULL}};
   *     opts.endpoints = eps;
   * A name that is not a service's, "metadata" (set metadata_host), a
   * service named twice, or named here and in its own field is
   * GAUTH_E_INVALID_ARG. NULL: none. The array is read, not kept. */
  const gauth_endpoint_override *endpoints;
} gauth_options;

/* Every field spelled out, so that the macro compiles without
 * -Wmissing-field-initializers warnings in C and C++. */
#define GAUTH_OPTIONS_INIT                                                 \
  {                                                                        \
    GAUTH_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
        NULL, NULL, 0, NULL, 0, 0, 0, {0, 0, 0.0, 0, 0}, NULL, NULL,       \
        (gauth_log_level)0, NULL                                           \
  }

/* Values of gauth_options.metadata_detection. */
#define GAUTH_METADATA_DETECT_AUTO 1           /* hints, then one quick probe */
#define GAUTH_METADATA_DETECT_NONE 2           /* never there: no probe */
#define GAUTH_METADATA_DETECT_ASSUME_PRESENT 3 /* always there: no probe */

/* Google services whose URLs the options decide. */
typedef enum gauth_service {
  GAUTH_SERVICE_TOKEN = 0,          /* https://oauth2.googleapis.com/token */
  GAUTH_SERVICE_IAMCREDENTIALS = 1, /* https://iamcredentials.googleapis.com */
  GAUTH_SERVICE_STS = 2,            /* https://sts.googleapis.com */
  GAUTH_SERVICE_RESOURCEMANAGER =
      3,                 /* https://cloudresourcemanager.googleapis.com */
  GAUTH_SERVICE_RUN = 4, /* https://run.googleapis.com */
  GAUTH_SERVICE_IAM = 5, /* https://iam.googleapis.com */
  GAUTH_SERVICE_GOOGLE_CERTS =
      6, /* https://www.googleapis.com/oauth2/v3/certs */
  GAUTH_SERVICE_IAP_KEYS =
      7, /* https://www.gstatic.com/iap/verify/public_key-jwk */
  GAUTH_SERVICE_METADATA = 8,       /* http://metadata.google.internal */
  GAUTH_SERVICE_PUBSUB = 9,         /* https://pubsub.googleapis.com */
  GAUTH_SERVICE_STORAGE = 10,       /* https://storage.googleapis.com */
  GAUTH_SERVICE_CLOUDSCHEDULER = 11 /* https://cloudscheduler.googleapis.com */
} gauth_service;

/* A short stable name for a service ("token", "iamcredentials", ...).
 * Never NULL; static. */
GAUTH_API const char *gauth_service_name(gauth_service service);

/* Writes to *out the URL that libgauth will use for `service` under `opts`
 * (NULL: defaults) and the environment, overrides applied. Free *out with
 * gauth_free(). Errors: GAUTH_E_INVALID_ARG for a bad option or a bad
 * GAUTH_ENDPOINT / GCE_METADATA_HOST value, GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_service_url(const gauth_options *opts, gauth_service service, char **out,
                  gauth_error *err);

/* Writes to *out the URL that a request to `url` will actually go to under
 * `opts` and the environment (endpoint override applied to Google hosts,
 * other hosts unchanged). Free *out with gauth_free(). Errors:
 * GAUTH_E_INVALID_ARG for an unparsable URL or option, GAUTH_E_INSECURE_URL
 * for a URL the transport would refuse (plain http to a remote host, a scheme
 * other than http/https), GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_resolve_url(
    const gauth_options *opts, const char *url, char **out, gauth_error *err);

GAUTH_END_DECLS

#endif /* GAUTH_OPTIONS_H */
