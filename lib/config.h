/* Internal: gauth_options resolved against the defaults and the environment,
 * owned by the object that was built with them. */
#ifndef GAUTH_LIB_CONFIG_H
#define GAUTH_LIB_CONFIG_H

#include "common.h"
#include "log_internal.h"

#define GAUTH__SERVICE_COUNT 9

typedef struct gauth__config {
  char *endpoint;        /* options.endpoint, else GAUTH_ENDPOINT, else NULL */
  char *universe_domain; /* never NULL */
  /* Explicit per-service URLs from the options (NULL when not set). */
  char *service_override[GAUTH__SERVICE_COUNT];
  char *metadata_host;   /* host[:port], never NULL */
  char *metadata_ip;     /* ip[:port], never NULL */
  char *ca_bundle;       /* NULL: system default */
  unsigned int connect_timeout_ms;
  unsigned int timeout_ms;
  size_t max_response_bytes;
  gauth_retry_policy retry; /* every field resolved (no zeros) */
  gauth__logger logger;
  /* Seed for the retry jitter; 0 draws a random seed per request. Tests set
   * it to make schedules repeatable. */
  uint64_t rng_seed;
} gauth__config;

/* Resolves opts (NULL: defaults) and the environment (GAUTH_ENDPOINT,
 * GCE_METADATA_HOST, GCE_METADATA_IP, GAUTH_LOG) into cfg. Validates: an
 * options version other than GAUTH_OPTIONS_VERSION, a malformed endpoint
 * (option or environment, the message names which), a retry multiplier
 * below 1, are GAUTH_E_INVALID_ARG. On failure cfg holds nothing to free. */
gauth_status gauth__config_init(gauth__config *cfg, const gauth_options *opts,
                                gauth_error *err);

/* Deep copy. */
gauth_status gauth__config_copy(gauth__config *dst, const gauth__config *src,
                                gauth_error *err);

void gauth__config_cleanup(gauth__config *cfg);

/* The URL of a service: the explicit override, else the Google default for
 * the universe domain with the endpoint override applied. `suffix` (may be
 * NULL) is appended as is ("/v1/projects/-/serviceAccounts/E:signBlob").
 * Free *out with free(). */
gauth_status gauth__config_service_url(const gauth__config *cfg,
                                       gauth_service service,
                                       const char *suffix, char **out,
                                       gauth_error *err);

/* Applies the endpoint override to any URL (see gauth__url_apply_endpoint).
 * Free *out with free(). */
gauth_status gauth__config_resolve_url(const gauth__config *cfg,
                                       const char *url, char **out,
                                       gauth_error *err);

#endif /* GAUTH_LIB_CONFIG_H */
