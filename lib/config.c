/* gauth_options resolved against the defaults and the environment, and the
 * URL of each Google service under that resolution. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "abi.h"
#include "config.h"
#include "constants.h"
#include "error_internal.h"
#include "retry.h"
#include "url.h"

/* a + b + c (each may be NULL) in a new string, or NULL when out of memory. */
static char *concat3(const char *a, const char *b, const char *c) {
  size_t an = a ? strlen(a) : 0, bn = b ? strlen(b) : 0;
  size_t cn = c ? strlen(c) : 0;
  char *s = malloc(an + bn + cn + 1);
  if (s == NULL) return NULL;
  if (an) memcpy(s, a, an);
  if (bn) memcpy(s + an, b, bn);
  if (cn) memcpy(s + an + bn, c, cn);
  s[an + bn + cn] = '\0';
  return s;
}

/* The environment variable, or NULL when unset or empty: an empty variable
 * is how shells spell "unset" (VAR= program). */
static const char *env_nonempty(const char *name) {
  const char *v = getenv(name);
  return (v != NULL && v[0] != '\0') ? v : NULL;
}

/* Checks a host[:port] setting (metadata_host, metadata_ip): a DNS name,
 * an IPv4 address or a bracketed IPv6 address, then an optional port
 * 1..65535. No scheme, path, user info or query. */
static gauth_status validate_hostport(const char *v, const char *what,
                                      gauth_error *err) {
  const char *port = NULL;
  CURLU *h;
  CURLUcode rc;
  char *url;
  if (v[0] == '\0')
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s is empty: expected host[:port]", what);
  if (strstr(v, "://") != NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s \"%s\" must be host[:port], without a scheme",
                            what, gauth__echo_setting(v));
  if (strpbrk(v, "/?#@\\ \t\r\n") != NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s \"%s\" must be host[:port], without a path, "
                            "query or user info",
                            what, gauth__echo_setting(v));
  if (v[0] == '[') {
    char addr[INET6_ADDRSTRLEN + 1];
    unsigned char bin[sizeof(struct in6_addr)];
    const char *close = strchr(v, ']');
    size_t n = close ? (size_t)(close - v - 1) : 0;
    if (close == NULL || n == 0 || n >= sizeof(addr))
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "%s \"%s\": unterminated or empty [IPv6] address",
                              what, gauth__echo_setting(v));
    memcpy(addr, v + 1, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET6, addr, bin) != 1)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "%s \"%s\": not an IPv6 address between brackets",
                              what, gauth__echo_setting(v));
    if (close[1] == ':') {
      port = close + 2;
    } else if (close[1] != '\0') {
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "%s \"%s\": expected host[:port]", what,
                              gauth__echo_setting(v));
    }
  } else {
    const char *colon = strchr(v, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "%s \"%s\": an IPv6 address must be bracketed, "
                              "as in [::1]:8080",
                              what, gauth__echo_setting(v));
    if (colon == v)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG, "%s \"%s\" has no host",
                              what, gauth__echo_setting(v));
    if (colon != NULL) port = colon + 1;
  }
  if (port != NULL) {
    long p = 0;
    const char *q = port;
    if (*q == '\0') p = -1;
    for (; *q && p >= 0; q++) {
      if (*q < '0' || *q > '9' || p > 65535) {
        p = -1;
      } else {
        p = p * 10 + (*q - '0');
      }
    }
    if (p < 1 || p > 65535)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "%s \"%s\": the port must be a number from 1 to "
                              "65535",
                              what, gauth__echo_setting(v));
  }
  /* Last, the host name itself, judged by the parser the transport uses. */
  url = concat3("http://", v, "/");
  if (url == NULL) return gauth__error_nomem(err);
  h = curl_url();
  if (h == NULL) {
    free(url);
    return gauth__error_nomem(err);
  }
  rc = curl_url_set(h, CURLUPART_URL, url, 0);
  curl_url_cleanup(h);
  free(url);
  if (rc == CURLUE_OUT_OF_MEMORY) return gauth__error_nomem(err);
  if (rc != CURLUE_OK)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s \"%s\" is not a valid host[:port] (%s)", what,
                            gauth__echo_setting(v), curl_url_strerror(rc));
  return GAUTH_OK;
}

/* Checks a per-service URL override: an http(s) URL with a host and no
 * user info or fragment. Path and query are the caller's business. Whether
 * plain http is allowed is the transport's decision, made per request. */
static gauth_status validate_service_url(const char *v, const char *what,
                                         gauth_error *err) {
  CURLU *h;
  CURLUcode rc;
  char *scheme = NULL, *host = NULL, *user = NULL, *frag = NULL;
  const char *problem = NULL;
  gauth_status st = GAUTH_OK;
  if (v[0] == '\0')
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "option %s is empty: expected a URL", what);
  h = curl_url();
  if (h == NULL) return gauth__error_nomem(err);
  rc = curl_url_set(h, CURLUPART_URL, v,
                    CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS);
  if (rc == CURLUE_OUT_OF_MEMORY) {
    st = gauth__error_nomem(err);
  } else if (rc != CURLUE_OK) {
    st = gauth__error_set(err, GAUTH_E_INVALID_ARG,
                          "option %s \"%s\" is not a URL (%s)", what,
                          gauth__echo_setting(v), curl_url_strerror(rc));
  } else {
    rc = curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
    if (rc == CURLUE_OK) rc = curl_url_get(h, CURLUPART_HOST, &host, 0);
    if (rc == CURLUE_OUT_OF_MEMORY) {
      st = gauth__error_nomem(err);
    } else if (rc != CURLUE_OK || host == NULL || host[0] == '\0') {
      problem = "it has no host";
    } else if (strcasecmp(scheme, "http") != 0 &&
               strcasecmp(scheme, "https") != 0) {
      problem = "the scheme must be http or https";
    } else if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK) {
      problem = "user info (user:password@) is not allowed";
    } else if (curl_url_get(h, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
      problem = "a fragment is not allowed";
    }
    if (problem != NULL)
      st = gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "option %s (%s://%s) is not a valid service URL: "
                            "%s",
                            what, scheme ? scheme : "?", host ? host : "",
                            problem);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(user);
  curl_free(frag);
  curl_url_cleanup(h);
  return st;
}

/* A universe domain goes into host names: letters, digits, '-' and '.'
 * only, no empty label. One trailing dot is dropped (*len excludes it). */
static gauth_status validate_universe(const char *v, size_t *len,
                                      gauth_error *err) {
  size_t i, n = strlen(v);
  if (n > 0 && v[n - 1] == '.') n--;
  if (n == 0 || n > 253 || v[0] == '.' || v[0] == '-') goto bad;
  for (i = 0; i < n; i++) {
    char c = v[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '.'))
      goto bad;
    if (c == '.' && i + 1 < n && v[i + 1] == '.') goto bad;
  }
  if (v[n - 1] == '.') goto bad;
  *len = n;
  return GAUTH_OK;
bad:
  return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                          "option universe_domain \"%s\" is not a domain name "
                          "(expected something like googleapis.com)",
                          gauth__echo_setting(v));
}

/* The per-service fields of gauth_options (version 1), by service. Services
 * added since have no field: they are set through gauth_options.endpoints. */
static const char *option_override(const gauth_options *o, gauth_service s,
                                   const char **field) {
  switch (s) {
    case GAUTH_SERVICE_TOKEN: *field = "token_uri"; return o->token_uri;
    case GAUTH_SERVICE_IAMCREDENTIALS:
      *field = "iamcredentials_endpoint";
      return o->iamcredentials_endpoint;
    case GAUTH_SERVICE_STS: *field = "sts_endpoint"; return o->sts_endpoint;
    case GAUTH_SERVICE_RESOURCEMANAGER:
      *field = "resourcemanager_endpoint";
      return o->resourcemanager_endpoint;
    case GAUTH_SERVICE_RUN: *field = "run_endpoint"; return o->run_endpoint;
    case GAUTH_SERVICE_IAM: *field = "iam_endpoint"; return o->iam_endpoint;
    case GAUTH_SERVICE_GOOGLE_CERTS:
    case GAUTH_SERVICE_IAP_KEYS:
    case GAUTH_SERVICE_METADATA:
    case GAUTH_SERVICE_PUBSUB:
    case GAUTH_SERVICE_STORAGE:
    case GAUTH_SERVICE_CLOUDSCHEDULER: break;
  }
  *field = NULL;
  return NULL;
}

/* The service a gauth_service_name() names; -1 for none. */
static int service_by_name(const char *name) {
  unsigned i;
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++)
    if (strcmp(name, gauth_service_name((gauth_service)i)) == 0) return (int)i;
  return -1;
}

/* Takes the per-service URLs of the options into cfg: the version-1 fields,
 * then the `endpoints` table. Each is checked; a service given twice is an
 * error rather than a silent choice between two URLs. */
static gauth_status resolve_service_overrides(gauth__config *cfg,
                                              const gauth_options *opts,
                                              gauth_error *err) {
  const gauth_endpoint_override *e;
  char what[96];
  unsigned i;
  gauth_status st;
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++) {
    const char *field;
    const char *v = option_override(opts, (gauth_service)i, &field);
    if (v == NULL) continue;
    st = validate_service_url(v, field, err);
    if (st != GAUTH_OK) return st;
    cfg->service_override[i] = gauth__strdup(v);
    if (cfg->service_override[i] == NULL) return gauth__error_nomem(err);
  }
  for (e = opts->endpoints, i = 0; e != NULL && e->service != NULL; e++, i++) {
    const char *field;
    int s = service_by_name(e->service);
    if (s < 0)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "option endpoints[%u]: \"%s\" is not a service "
                              "name (see gauth_service_name(): token, run, "
                              "pubsub, storage, ...)",
                              i, gauth__echo_setting(e->service));
    if (s == GAUTH_SERVICE_METADATA)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "option endpoints[%u]: the metadata server is "
                              "set by metadata_host (host[:port]), not by "
                              "a URL",
                              i);
    if (e->url == NULL)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "option endpoints[%u] (%s) has no url", i,
                              e->service);
    if (cfg->service_override[s] != NULL) {
      int by_field = option_override(opts, (gauth_service)s, &field) != NULL;
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "option endpoints[%u]: %s is also set by %s: "
                              "give each service one URL",
                              i, e->service,
                              by_field ? field : "an earlier entry");
    }
    snprintf(what, sizeof(what), "endpoints[%u] (%s)", i, e->service);
    st = validate_service_url(e->url, what, err);
    if (st != GAUTH_OK) return st;
    cfg->service_override[s] = gauth__strdup(e->url);
    if (cfg->service_override[s] == NULL) return gauth__error_nomem(err);
  }
  return GAUTH_OK;
}

/* Resolves a host[:port] setting: option, else environment, else default. */
static gauth_status resolve_hostport(const char *opt, const char *opt_name,
                                     const char *env_name, const char *dflt,
                                     char **out, gauth_error *err) {
  const char *v = opt, *what = opt_name;
  gauth_status st;
  if (v == NULL) {
    v = env_nonempty(env_name);
    what = env_name;
  }
  if (v == NULL) {
    v = dflt;
    what = "default";
  }
  st = validate_hostport(v, what, err);
  if (st != GAUTH_OK) return st;
  *out = gauth__strdup(v);
  return *out != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

int gauth__metadata_detection_parse(const char *s) {
  if (s == NULL) return 0;
  if (strcmp(s, "auto") == 0) return GAUTH_METADATA_DETECT_AUTO;
  if (strcmp(s, "none") == 0) return GAUTH_METADATA_DETECT_NONE;
  if (strcmp(s, "assume-present") == 0)
    return GAUTH_METADATA_DETECT_ASSUME_PRESENT;
  return 0;
}

/* The detection mode: option, else GAUTH_METADATA_DETECTION, else auto. */
static gauth_status resolve_detection(gauth__config *cfg, int opt,
                                      gauth_error *err) {
  const char *v;
  if (opt != 0) {
    if (opt != GAUTH_METADATA_DETECT_AUTO &&
        opt != GAUTH_METADATA_DETECT_NONE &&
        opt != GAUTH_METADATA_DETECT_ASSUME_PRESENT)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "option metadata_detection is %d: expected 0 "
                              "or a GAUTH_METADATA_DETECT_* value",
                              opt);
    cfg->metadata_detection = opt;
    cfg->metadata_detection_from = "option metadata_detection";
    return GAUTH_OK;
  }
  v = env_nonempty(GAUTH__ENV_METADATA_DETECTION);
  if (v == NULL) {
    cfg->metadata_detection = GAUTH_METADATA_DETECT_AUTO;
    cfg->metadata_detection_from = "default";
    return GAUTH_OK;
  }
  cfg->metadata_detection = gauth__metadata_detection_parse(v);
  if (cfg->metadata_detection == 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            GAUTH__ENV_METADATA_DETECTION
                            " \"%s\" is not a "
                            "detection mode: expected auto, none or "
                            "assume-present",
                            gauth__echo_setting(v));
  cfg->metadata_detection_from = GAUTH__ENV_METADATA_DETECTION;
  return GAUTH_OK;
}

gauth_status gauth__config_set_dmi_dir(gauth__config *cfg, const char *dir,
                                       gauth_error *err) {
  char *copy = NULL;
  if (cfg == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "config is NULL");
  if (dir != NULL && (copy = gauth__strdup(dir)) == NULL)
    return gauth__error_nomem(err);
  free(cfg->dmi_dir);
  cfg->dmi_dir = copy;
  return GAUTH_OK;
}

gauth_status gauth__config_init(gauth__config *cfg, const gauth_options *given,
                                gauth_error *err) {
  /* The caller's options, read by their version (abi.h): `opts` is a full
   * current struct whatever header the caller was built with. */
  gauth_options full = GAUTH_OPTIONS_INIT;
  const gauth_options *opts = &full;
  const char *endpoint, *what;
  size_t ulen = 0;
  gauth_status st;

  if (cfg == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "config is NULL");
  memset(cfg, 0, sizeof(*cfg));
  if (given != NULL) {
    st = gauth__abi_read(&full, sizeof(full), given, &gauth__abi_options, err);
    if (st != GAUTH_OK) return st;
  }

  /* The endpoint override. A bad value is an error, never ignored: falling
   * back to Google would send requests (and credentials) somewhere the
   * user did not mean. */
  endpoint = opts->endpoint;
  what = "option endpoint";
  if (endpoint == NULL) {
    endpoint = env_nonempty(GAUTH__ENV_ENDPOINT);
    what = GAUTH__ENV_ENDPOINT;
  }
  if (endpoint != NULL) {
    st = gauth__endpoint_validate(endpoint, what, err);
    if (st != GAUTH_OK) goto fail;
    cfg->endpoint = gauth__strdup(endpoint);
    if (cfg->endpoint == NULL) goto nomem;
  }

  if (opts->universe_domain != NULL) {
    st = validate_universe(opts->universe_domain, &ulen, err);
    if (st != GAUTH_OK) goto fail;
    cfg->universe_domain = malloc(ulen + 1);
    if (cfg->universe_domain == NULL) goto nomem;
    memcpy(cfg->universe_domain, opts->universe_domain, ulen);
    cfg->universe_domain[ulen] = '\0';
  } else {
    cfg->universe_domain = gauth__strdup(GAUTH__DEFAULT_UNIVERSE_DOMAIN);
    if (cfg->universe_domain == NULL) goto nomem;
  }

  st = resolve_service_overrides(cfg, opts, err);
  if (st != GAUTH_OK) goto fail;

  st = resolve_hostport(opts->metadata_host, "option metadata_host",
                        GAUTH__ENV_METADATA_HOST, GAUTH__DEFAULT_METADATA_HOST,
                        &cfg->metadata_host, err);
  if (st != GAUTH_OK) goto fail;
  st = resolve_hostport(opts->metadata_ip, "option metadata_ip",
                        GAUTH__ENV_METADATA_IP, GAUTH__DEFAULT_METADATA_IP,
                        &cfg->metadata_ip, err);
  if (st != GAUTH_OK) goto fail;
  st = resolve_detection(cfg, opts->metadata_detection, err);
  if (st != GAUTH_OK) goto fail;

  if (opts->ca_bundle != NULL) {
    if (opts->ca_bundle[0] == '\0') {
      st = gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "option ca_bundle is empty: leave it NULL for "
                            "the system's CA store");
      goto fail;
    }
    cfg->ca_bundle = gauth__strdup(opts->ca_bundle);
    if (cfg->ca_bundle == NULL) goto nomem;
  }

  cfg->connect_timeout_ms = opts->connect_timeout_ms
                                ? opts->connect_timeout_ms
                                : GAUTH__DEFAULT_CONNECT_TIMEOUT_MS;
  cfg->timeout_ms =
      opts->timeout_ms ? opts->timeout_ms : GAUTH__DEFAULT_TIMEOUT_MS;
  cfg->max_response_bytes = opts->max_response_bytes
                                ? opts->max_response_bytes
                                : GAUTH__DEFAULT_MAX_RESPONSE_BYTES;

  gauth__retry_policy_resolve(&opts->retry, &cfg->retry);
  st = gauth__retry_policy_validate(&cfg->retry, err);
  if (st != GAUTH_OK) goto fail;

  gauth__logger_init(&cfg->logger, opts);
  cfg->rng_seed = 0;
  return GAUTH_OK;

nomem:
  st = gauth__error_nomem(err);
fail:
  gauth__config_cleanup(cfg);
  return st;
}

gauth_status gauth__config_copy(gauth__config *dst, const gauth__config *src,
                                gauth_error *err) {
  unsigned i;
  if (dst == NULL || src == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "config is NULL");
  *dst = *src;
  /* Detach every pointer first, so that a failure below frees only what
   * this copy allocated. */
  dst->endpoint = NULL;
  dst->universe_domain = NULL;
  dst->metadata_host = NULL;
  dst->metadata_ip = NULL;
  dst->ca_bundle = NULL;
  dst->dmi_dir = NULL;
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++) dst->service_override[i] = NULL;

  if ((src->endpoint && !(dst->endpoint = gauth__strdup(src->endpoint))) ||
      (src->universe_domain &&
       !(dst->universe_domain = gauth__strdup(src->universe_domain))) ||
      (src->metadata_host &&
       !(dst->metadata_host = gauth__strdup(src->metadata_host))) ||
      (src->metadata_ip &&
       !(dst->metadata_ip = gauth__strdup(src->metadata_ip))) ||
      (src->ca_bundle && !(dst->ca_bundle = gauth__strdup(src->ca_bundle))) ||
      (src->dmi_dir && !(dst->dmi_dir = gauth__strdup(src->dmi_dir))))
    goto nomem;
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++) {
    if (src->service_override[i] == NULL) continue;
    dst->service_override[i] = gauth__strdup(src->service_override[i]);
    if (dst->service_override[i] == NULL) goto nomem;
  }
  return GAUTH_OK;
nomem:
  gauth__config_cleanup(dst);
  return gauth__error_nomem(err);
}

void gauth__config_cleanup(gauth__config *cfg) {
  unsigned i;
  if (cfg == NULL) return;
  free(cfg->endpoint);
  free(cfg->universe_domain);
  for (i = 0; i < GAUTH__SERVICE_COUNT; i++) free(cfg->service_override[i]);
  free(cfg->metadata_host);
  free(cfg->metadata_ip);
  free(cfg->ca_bundle);
  free(cfg->dmi_dir);
  memset(cfg, 0, sizeof(*cfg));
}

/* The default base URL of a service in a universe, before any override.
 * NULL when out of memory. *rewrite says whether the endpoint override
 * applies (not to the metadata server: it has its own settings). */
static char *default_url(const gauth__config *cfg, gauth_service s,
                         int *rewrite) {
  const char *u = cfg->universe_domain;
  *rewrite = 1;
  switch (s) {
    case GAUTH_SERVICE_TOKEN: return concat3("https://oauth2.", u, "/token");
    case GAUTH_SERVICE_IAMCREDENTIALS:
      return concat3("https://iamcredentials.", u, NULL);
    case GAUTH_SERVICE_STS: return concat3("https://sts.", u, NULL);
    case GAUTH_SERVICE_RESOURCEMANAGER:
      return concat3("https://cloudresourcemanager.", u, NULL);
    case GAUTH_SERVICE_RUN: return concat3("https://run.", u, NULL);
    case GAUTH_SERVICE_IAM: return concat3("https://iam.", u, NULL);
    case GAUTH_SERVICE_PUBSUB: return concat3("https://pubsub.", u, NULL);
    case GAUTH_SERVICE_STORAGE: return concat3("https://storage.", u, NULL);
    case GAUTH_SERVICE_CLOUDSCHEDULER:
      return concat3("https://cloudscheduler.", u, NULL);
    case GAUTH_SERVICE_GOOGLE_CERTS:
      return gauth__strdup(GAUTH__GOOGLE_CERTS_URL);
    case GAUTH_SERVICE_IAP_KEYS: return gauth__strdup(GAUTH__IAP_KEYS_URL);
    case GAUTH_SERVICE_METADATA:
      *rewrite = 0;
      return concat3("http://", cfg->metadata_host, NULL);
  }
  return NULL; /* not reached: the caller checked the range */
}

/* base + suffix, without doubling the slash between a base URL given as
 * "http://host/" and a suffix "/v1/...". */
static gauth_status join(const char *base, const char *suffix, char **out,
                         gauth_error *err) {
  size_t bn = strlen(base);
  char *s;
  if (suffix != NULL && suffix[0] == '/' && bn > 0 && base[bn - 1] == '/')
    suffix++;
  s = concat3(base, suffix, NULL);
  if (s == NULL) return gauth__error_nomem(err);
  *out = s;
  return GAUTH_OK;
}

gauth_status gauth__config_service_url(const gauth__config *cfg,
                                       gauth_service service,
                                       const char *suffix, char **out,
                                       gauth_error *err) {
  char *base, *rewritten = NULL;
  int rewrite;
  gauth_status st;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "out is NULL");
  *out = NULL;
  if (cfg == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "config is NULL");
  if ((unsigned)service >= GAUTH__SERVICE_COUNT)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "unknown gauth_service %d", (int)service);
  /* An explicit per-service URL is used exactly as given. */
  if (cfg->service_override[service] != NULL)
    return join(cfg->service_override[service], suffix, out, err);
  base = default_url(cfg, service, &rewrite);
  if (base == NULL) return gauth__error_nomem(err);
  if (rewrite && cfg->endpoint != NULL) {
    st = gauth__url_apply_endpoint(base, cfg->endpoint, cfg->universe_domain,
                                   &rewritten, err);
    free(base);
    if (st != GAUTH_OK) return st;
    base = rewritten;
  }
  st = join(base, suffix, out, err);
  free(base);
  return st;
}

gauth_status gauth__config_resolve_url(const gauth__config *cfg,
                                       const char *url, char **out,
                                       gauth_error *err) {
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "out is NULL");
  *out = NULL;
  if (cfg == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "config is NULL");
  return gauth__url_apply_endpoint(url, cfg->endpoint, cfg->universe_domain,
                                   out, err);
}
