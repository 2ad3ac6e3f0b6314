/* Internal: gauth_options resolved against the defaults and the environment,
 * owned by the object that was built with them. */
#ifndef GAUTH_LIB_CONFIG_H
#define GAUTH_LIB_CONFIG_H

#include "common.h"
#include "log_internal.h"

#define GAUTH__SERVICE_COUNT 12

typedef struct gauth__config {
  char *endpoint;        /* options.endpoint, else GAUTH_ENDPOINT, else NULL */
  char *universe_domain; /* never NULL */
  /* Explicit per-service URLs from the options (NULL when not set). */
  char *service_override[GAUTH__SERVICE_COUNT];
  char *metadata_host; /* host[:port], never NULL */
  char *metadata_ip;   /* ip[:port], never NULL */
  /* GAUTH_METADATA_DETECT_*: option metadata_detection, else
   * GAUTH_METADATA_DETECTION, else AUTO; metadata_detection_from names
   * which ("option metadata_detection", "GAUTH_METADATA_DETECTION",
   * "default"; static). */
  int metadata_detection;
  const char *metadata_detection_from;
  /* Where DMI residency hints are read; NULL: /sys/class/dmi/id. Only
   * tests set it (gauth__config_set_dmi_dir). */
  char *dmi_dir;
  char *ca_bundle; /* NULL: system default */
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
 * GCE_METADATA_HOST, GCE_METADATA_IP, GAUTH_METADATA_DETECTION, GAUTH_LOG)
 * into cfg. An option wins
 * over its environment variable; an empty variable counts as unset. All of
 * these are GAUTH_E_INVALID_ARG, the message naming the option or variable:
 *   - an options version this library does not know (gauth__abi_read);
 *   - an `endpoints` entry that names no service, names "metadata", or
 *     names a service already given a URL;
 *   - a malformed endpoint (gauth__endpoint_validate; "" as an option);
 *   - a metadata host / ip that is not host[:port] (IPv6 as [::1]:port,
 *     port 1..65535, no scheme, path, query or user info);
 *   - a universe domain that is not a domain name (one trailing dot is
 *     dropped);
 *   - a per-service URL that is not an http(s) URL with a host, or that
 *     carries user info or a fragment;
 *   - a metadata_detection option or GAUTH_METADATA_DETECTION value that
 *     is not one of the modes;
 *   - an empty ca_bundle;
 *   - a retry policy gauth__retry_policy_validate refuses.
 * On failure cfg is zeroed and holds nothing to free. */
gauth_status gauth__config_init(gauth__config *cfg, const gauth_options *opts,
                                gauth_error *err);

/* GAUTH_METADATA_DETECT_* for "auto", "none", "assume-present" (exact,
 * lower case), 0 for anything else. */
int gauth__metadata_detection_parse(const char *s);

/* Sets cfg->dmi_dir (copied; NULL: the default). For tests. */
gauth_status gauth__config_set_dmi_dir(gauth__config *cfg, const char *dir,
                                       gauth_error *err);

/* Deep copy. */
gauth_status gauth__config_copy(gauth__config *dst, const gauth__config *src,
                                gauth_error *err);

void gauth__config_cleanup(gauth__config *cfg);

/* The URL of a service: the explicit override, used as given, else the
 * Google default for the universe domain with the endpoint override applied
 * (never to GAUTH_SERVICE_METADATA, which is "http://" + metadata_host).
 * `suffix` (may be NULL) is appended as is
 * ("/v1/projects/-/serviceAccounts/E:signBlob"), except that a base ending
 * in '/' and a suffix starting with one share it. Free *out with free().
 * GAUTH_E_INVALID_ARG for a service outside the enum. */
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
