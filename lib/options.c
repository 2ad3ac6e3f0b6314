/* The public face of option resolution: service names, and the URLs a
 * configuration resolves to, so that a caller (or `gauth doctor`) can see
 * where requests will go before making any. */
#include <stdlib.h>

#include "config.h"
#include "error_internal.h"
#include "url.h"

/* No default case: the compiler flags a service without a name. */
const char *gauth_service_name(gauth_service service) {
  switch (service) {
    case GAUTH_SERVICE_TOKEN: return "token";
    case GAUTH_SERVICE_IAMCREDENTIALS: return "iamcredentials";
    case GAUTH_SERVICE_STS: return "sts";
    case GAUTH_SERVICE_RESOURCEMANAGER: return "resourcemanager";
    case GAUTH_SERVICE_RUN: return "run";
    case GAUTH_SERVICE_IAM: return "iam";
    case GAUTH_SERVICE_GOOGLE_CERTS: return "google_certs";
    case GAUTH_SERVICE_IAP_KEYS: return "iap_keys";
    case GAUTH_SERVICE_METADATA: return "metadata";
    case GAUTH_SERVICE_PUBSUB: return "pubsub";
    case GAUTH_SERVICE_STORAGE: return "storage";
    case GAUTH_SERVICE_CLOUDSCHEDULER: return "cloudscheduler";
  }
  return "unknown";
}

gauth_status gauth_service_url(const gauth_options *opts, gauth_service service,
                               char **out, gauth_error *err) {
  gauth__config cfg;
  gauth_status st;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_service_url: out is NULL");
  *out = NULL;
  st = gauth__config_init(&cfg, opts, err);
  if (st != GAUTH_OK) return st;
  st = gauth__config_service_url(&cfg, service, NULL, out, err);
  gauth__config_cleanup(&cfg);
  if (st == GAUTH_OK) gauth_error_clear(err);
  return st;
}

gauth_status gauth_resolve_url(const gauth_options *opts, const char *url,
                               char **out, gauth_error *err) {
  gauth__config cfg;
  gauth_status st;
  char *resolved = NULL;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_resolve_url: out is NULL");
  *out = NULL;
  if (url == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_resolve_url: url is NULL");
  st = gauth__config_init(&cfg, opts, err);
  if (st != GAUTH_OK) return st;
  st = gauth__config_resolve_url(&cfg, url, &resolved, err);
  /* Report what the transport would refuse, with the same rules. */
  if (st == GAUTH_OK)
    st = gauth__url_check_transport(resolved, cfg.metadata_host,
                                    cfg.metadata_ip, err);
  gauth__config_cleanup(&cfg);
  if (st != GAUTH_OK) {
    free(resolved);
    return st;
  }
  *out = resolved;
  gauth_error_clear(err);
  return GAUTH_OK;
}
