/* The ID-token verifier: options, presets, OIDC discovery, and the verify
 * flow (size -> token cache -> parse -> keys -> signature -> claims ->
 * cache).
 *
 * Locking. Everything set by gauth_verifier_new is immutable afterwards.
 * What changes lives behind locks: the key source
 * (lib/verifier_keysource.c) and the token cache (lib/verifier_cache.c)
 * have their own; the verifier's `mu` guards the one field filled late,
 * the key source of an OIDC verifier, with its discovery state. Discovery
 * itself runs under `discover_mu` only, never under `mu`: callers that
 * need its result queue on that lock (they would wait for the document
 * anyway) while verifications that already have their key source go on.
 *
 * Tokens are never logged; each rejection is one debug line with its
 * reason and message (messages never hold the token either). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "abi.h"
#include "clock.h"
#include "config.h"
#include "error_internal.h"
#include "http.h"
#include "jose_internal.h"
#include "json.h"
#include "log_internal.h"
#include "refcount.h"
#include "url.h"
#include "verifier_cache.h"
#include "verifier_internal.h"
#include "verifier_keysource.h"

/* Leeway beyond a day is a misconfiguration, not clock skew. */
#define MAX_LEEWAY_SECONDS 86400L
#define OIDC_DISCOVERY_PATH "/.well-known/openid-configuration"
#define GOOGLE_ISSUER_1 "accounts.google.com"
#define GOOGLE_ISSUER_2 "https://accounts.google.com"
#define IAP_ISSUER "https://cloud.google.com/iap"

/* Every algorithm gauth_alg names. */
#define ALL_ALGS                                                     \
  (GAUTH_ALG_BIT(GAUTH_ALG_RS256) | GAUTH_ALG_BIT(GAUTH_ALG_RS384) | \
   GAUTH_ALG_BIT(GAUTH_ALG_RS512) | GAUTH_ALG_BIT(GAUTH_ALG_PS256) | \
   GAUTH_ALG_BIT(GAUTH_ALG_ES256) | GAUTH_ALG_BIT(GAUTH_ALG_ES384) | \
   GAUTH_ALG_BIT(GAUTH_ALG_EDDSA))

struct gauth_verifier {
  gauth__refcount refs;
  gauth_verifier_preset preset;
  char **audiences;   /* NULL-terminated */
  char **issuers;     /* NULL-terminated */
  char *oidc_issuer;  /* OIDC without a jwks_url, else NULL */
  char *jwks_url;     /* resolved; NULL with fixed keys / OIDC */
  gauth_keyset *keys; /* fixed keys, or NULL */
  unsigned int algorithms;
  int64_t leeway;
  int64_t max_lifetime; /* 0: none */
  size_t max_token_bytes;
  int require_email_verified;
  int require_email;
  char *hosted_domain;
  char *authorized_party;
  gauth_clock_fn clock;
  void *clock_userdata;
  gauth__keysource_params ks_params;
  gauth__config cfg;                /* logger, endpoints */
  gauth__http *http;                /* NULL with fixed keys */
  gauth__verifier_cache *cache;     /* NULL: no cache */
  gauth__jws_header_cache *headers; /* the header segments seen last */

  pthread_mutex_t mu;
  gauth__keysource *ks;          /* set once; then read without writes */
  int64_t discovery_retry_after; /* after a failed discovery */
  gauth_error discovery_err;
  pthread_mutex_t discover_mu;
};

static int64_t now_s(const gauth_verifier *v) {
  return gauth__clock_now_coarse(v->clock, v->clock_userdata);
}

/* ---- building ----------------------------------------------------------- */

/* Copies a NULL-terminated list (gauth__strv_copy); there must be at least
 * one entry. */
static gauth_status strv_copy(const char *const *src, const char *what,
                              char ***out, gauth_error *err) {
  gauth_status st = gauth__strv_copy(src, "verifier options", what, out, err);
  if (st == GAUTH_OK && *out == NULL)
    st =
        gauth__error_set(err, GAUTH_E_INVALID_ARG,
                         "verifier options: at least one %s is required", what);
  return st;
}

static gauth_status dup_opt(const char *s, const char *what, char **out,
                            gauth_error *err) {
  *out = NULL;
  if (s == NULL) return GAUTH_OK;
  if (s[0] == '\0')
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "verifier options: %s is empty", what);
  *out = strdup(s);
  return *out == NULL ? gauth__error_nomem(err) : GAUTH_OK;
}

static void verifier_destroy(gauth_verifier *v) {
  if (v == NULL) return;
  gauth__verifier_cache_free(v->cache);
  gauth__jws_header_cache_free(v->headers);
  gauth__keysource_free(v->ks);
  gauth__http_free(v->http);
  gauth__config_cleanup(&v->cfg);
  gauth_keyset_free(v->keys);
  gauth__strv_free(v->audiences);
  gauth__strv_free(v->issuers);
  free(v->oidc_issuer);
  free(v->jwks_url);
  free(v->hosted_domain);
  free(v->authorized_party);
  pthread_mutex_destroy(&v->mu);
  pthread_mutex_destroy(&v->discover_mu);
  free(v);
}

/* The endpoint override (GAUTH_ENDPOINT, gauth_options.endpoint) moves
 * every Google URL, trust anchors included: that is how the emulator plays
 * Google, and the override is the process's own setting. Said once, at
 * creation, as a warning: in production it means that the keys deciding
 * who gets in come from somewhere else. asked: the URL before the override
 * (NULL: a preset's default, moved when its host is not Google's). */
static void warn_if_moved(gauth_verifier *v, const char *asked) {
  CURLU *u;
  char *host = NULL;
  int moved;
  if (asked != NULL) {
    moved = strcmp(asked, v->jwks_url) != 0;
  } else {
    u = curl_url();
    moved = u != NULL &&
            curl_url_set(u, CURLUPART_URL, v->jwks_url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            !gauth__host_is_google(host, v->cfg.universe_domain);
    curl_free(host);
    curl_url_cleanup(u);
  }
  if (moved)
    gauth__log(&v->cfg.logger, GAUTH_LOG_WARN,
               "verifier: keys from %s%s%s (the endpoint override applies to "
               "key sets too)",
               v->jwks_url, asked != NULL ? " instead of " : "",
               asked != NULL ? asked : "");
}

/* A key set URL, endpoint override applied, checked against the transport's
 * policy now rather than on the first token. */
static gauth_status set_jwks_url(gauth_verifier *v, const char *url,
                                 gauth_error *err) {
  gauth_status st = gauth__config_resolve_url(&v->cfg, url, &v->jwks_url, err);
  if (st == GAUTH_OK)
    st = gauth__url_check_transport(v->jwks_url, v->cfg.metadata_host,
                                    v->cfg.metadata_ip, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "verifier options: jwks_url");
    return st;
  }
  warn_if_moved(v, url);
  return st;
}

static gauth_status apply_preset(gauth_verifier *v,
                                 const gauth_verifier_options *o,
                                 gauth_error *err) {
  static const char *const google_issuers[] = {GOOGLE_ISSUER_1, GOOGLE_ISSUER_2,
                                               NULL};
  static const char *const iap_issuers[] = {IAP_ISSUER, NULL};
  const char *const *issuers = o->issuers;
  const char *oidc_issuers[2] = {NULL, NULL};
  unsigned int algs = 0;
  gauth_service service = GAUTH_SERVICE_GOOGLE_CERTS;
  int remote_default = 0;
  gauth_status st;

  switch (o->preset) {
    case GAUTH_VERIFIER_CUSTOM:
      algs = GAUTH_ALG_BIT(GAUTH_ALG_RS256) | GAUTH_ALG_BIT(GAUTH_ALG_ES256);
      if (issuers == NULL)
        return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                                "verifier options: a custom verifier needs "
                                "issuers");
      if (o->keys == NULL && o->jwks_url == NULL)
        return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                                "verifier options: a custom verifier needs "
                                "keys or jwks_url");
      break;
    case GAUTH_VERIFIER_GOOGLE:
      algs = GAUTH_ALG_BIT(GAUTH_ALG_RS256);
      if (issuers == NULL) issuers = google_issuers;
      remote_default = 1;
      break;
    case GAUTH_VERIFIER_IAP:
      algs = GAUTH_ALG_BIT(GAUTH_ALG_ES256);
      if (issuers == NULL) issuers = iap_issuers;
      service = GAUTH_SERVICE_IAP_KEYS;
      remote_default = 1;
      if (o->max_lifetime_seconds == 0)
        v->max_lifetime = GAUTH__IAP_MAX_LIFETIME_SECONDS;
      break;
    case GAUTH_VERIFIER_OIDC:
      algs = GAUTH_ALG_BIT(GAUTH_ALG_RS256) | GAUTH_ALG_BIT(GAUTH_ALG_ES256);
      if (o->oidc_issuer == NULL || o->oidc_issuer[0] == '\0')
        return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                                "verifier options: the OIDC preset needs "
                                "oidc_issuer");
      if (gauth__skip_prefix(o->oidc_issuer, "https://") == NULL &&
          gauth__skip_prefix(o->oidc_issuer, "http://") == NULL)
        return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                                "verifier options: oidc_issuer must be an "
                                "http(s) URL");
      oidc_issuers[0] = o->oidc_issuer;
      if (issuers == NULL) issuers = oidc_issuers;
      if (o->keys == NULL && o->jwks_url == NULL) {
        v->oidc_issuer = strdup(o->oidc_issuer);
        if (v->oidc_issuer == NULL) return gauth__error_nomem(err);
      }
      break;
    default:
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "verifier options: unknown preset %d",
                              (int)o->preset);
  }
  if (o->oidc_issuer != NULL && o->preset != GAUTH_VERIFIER_OIDC)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "verifier options: oidc_issuer is only for the "
                            "OIDC preset");
  if (o->algorithms != 0) {
    if ((o->algorithms & ~(unsigned int)ALL_ALGS) != 0)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "verifier options: algorithms 0x%x has bits "
                              "for no algorithm",
                              o->algorithms);
    algs = o->algorithms;
  }
  v->algorithms = algs;
  st = strv_copy(issuers, "issuer", &v->issuers, err);
  if (st != GAUTH_OK) return st;

  if (o->keys != NULL) {
    gauth_keyset_up_ref(o->keys);
    v->keys = o->keys;
  } else if (o->jwks_url != NULL) {
    st = set_jwks_url(v, o->jwks_url, err);
  } else if (remote_default) {
    /* Through the config, so that GAUTH_ENDPOINT / opts.http->endpoint and
     * a universe's overrides apply exactly as to every other service. */
    st = gauth__config_service_url(&v->cfg, service, NULL, &v->jwks_url, err);
    if (st == GAUTH_OK) warn_if_moved(v, NULL);
  }
  return st;
}

static gauth_status validate_numbers(gauth_verifier *v,
                                     const gauth_verifier_options *o,
                                     gauth_error *err) {
  gauth__keysource_params *p = &v->ks_params;
  if (o->leeway_seconds > MAX_LEEWAY_SECONDS)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "verifier options: leeway_seconds %ld is over "
                            "the limit of %ld",
                            o->leeway_seconds, MAX_LEEWAY_SECONDS);
  v->leeway = o->leeway_seconds < 0 ? GAUTH__DEFAULT_LEEWAY_SECONDS
                                    : (int64_t)o->leeway_seconds;
  if (o->max_lifetime_seconds > 0) v->max_lifetime = o->max_lifetime_seconds;
  if (o->max_lifetime_seconds < 0) v->max_lifetime = 0;
  v->max_token_bytes = o->max_token_bytes != 0 ? o->max_token_bytes
                                               : GAUTH__DEFAULT_MAX_TOKEN_BYTES;
  p->clock = o->clock;
  p->clock_userdata = o->clock_userdata;
  p->default_ttl =
      o->keys_default_ttl ? o->keys_default_ttl : GAUTH__KEYS_DEFAULT_TTL;
  p->min_ttl = o->keys_min_ttl ? o->keys_min_ttl : GAUTH__KEYS_MIN_TTL;
  p->max_ttl = o->keys_max_ttl ? o->keys_max_ttl : GAUTH__KEYS_MAX_TTL;
  p->cooldown = o->keys_refetch_cooldown ? o->keys_refetch_cooldown
                                         : GAUTH__KEYS_REFETCH_COOLDOWN;
  p->max_stale = o->keys_max_stale ? o->keys_max_stale : GAUTH__KEYS_MAX_STALE;
  if (p->min_ttl > p->max_ttl)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "verifier options: keys_min_ttl (%u s) is above "
                            "keys_max_ttl (%u s)",
                            p->min_ttl, p->max_ttl);
  return GAUTH_OK;
}

gauth_status gauth_verifier_new(gauth_verifier **out,
                                const gauth_verifier_options *opts,
                                gauth_error *err) {
  gauth_verifier_options full = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_verifier *v;
  gauth_status st;

  if (out == NULL || opts == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_verifier_new: out and opts must not be "
                            "NULL");
  *out = NULL;
  /* Read by the caller's version (abi.h). */
  st = gauth__abi_read(&full, sizeof(full), opts, &gauth__abi_verifier_options,
                       err);
  if (st != GAUTH_OK) return st;
  opts = &full;
  if (opts->keys != NULL && opts->jwks_url != NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "verifier options: give keys or jwks_url, not "
                            "both");

  v = calloc(1, sizeof(*v));
  if (v == NULL) return gauth__error_nomem(err);
  gauth__ref_init(&v->refs);
  pthread_mutex_init(&v->mu, NULL);
  pthread_mutex_init(&v->discover_mu, NULL);
  v->preset = opts->preset;
  v->clock = opts->clock;
  v->clock_userdata = opts->clock_userdata;
  v->require_email = opts->require_email != 0;
  v->require_email_verified = opts->require_email_verified != 0;

  st = gauth__config_init(&v->cfg, opts->http, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "verifier options: http");
    verifier_destroy(v);
    return st;
  }
  st = strv_copy(opts->audiences, "audience", &v->audiences, err);
  if (st == GAUTH_OK) st = validate_numbers(v, opts, err);
  if (st == GAUTH_OK) st = apply_preset(v, opts, err);
  if (st == GAUTH_OK)
    st = dup_opt(opts->hosted_domain, "hosted_domain", &v->hosted_domain, err);
  if (st == GAUTH_OK)
    st = dup_opt(opts->authorized_party, "authorized_party",
                 &v->authorized_party, err);
  if (st == GAUTH_OK && v->keys == NULL)
    st = gauth__http_new(&v->http, &v->cfg, err);
  if (st == GAUTH_OK && v->jwks_url != NULL)
    st = gauth__keysource_new(&v->ks, v->http, v->jwks_url, &v->ks_params, err);
  if (st == GAUTH_OK && opts->token_cache_entries > 0)
    st = gauth__verifier_cache_new(&v->cache, opts->token_cache_entries, err);
  if (st == GAUTH_OK) st = gauth__jws_header_cache_new(&v->headers, err);
  if (st != GAUTH_OK) {
    verifier_destroy(v);
    return st;
  }
  gauth__log(&v->cfg.logger, GAUTH_LOG_DEBUG,
             "verifier ready: keys %s, token cache of %zu",
             v->keys != NULL       ? "fixed"
             : v->jwks_url != NULL ? v->jwks_url
                                   : "by OIDC discovery",
             opts->token_cache_entries);
  *out = v;
  return GAUTH_OK;
}

void gauth_verifier_up_ref(gauth_verifier *v) {
  if (v != NULL) gauth__ref_up(&v->refs);
}

void gauth_verifier_free(gauth_verifier *v) {
  if (v == NULL) return;
  if (!gauth__ref_down(&v->refs)) return;
  verifier_destroy(v);
}

/* ---- OIDC discovery ----------------------------------------------------- */

/* GET the discovery document, check its issuer, and return its jwks_uri
 * (malloc'd). */
static gauth_status discover(gauth_verifier *v, char **jwks_uri,
                             gauth_error *err) {
  gauth__http_response resp;
  const char *issuer, *uri;
  cJSON *doc = NULL;
  char *url;
  size_t n = strlen(v->oidc_issuer);
  gauth_status st;

  *jwks_uri = NULL;
  /* OpenID Connect Discovery 1.0, 4: a trailing '/' of the issuer is
   * dropped before the well-known path is appended. */
  if (n > 0 && v->oidc_issuer[n - 1] == '/') n--;
  url = malloc(n + sizeof(OIDC_DISCOVERY_PATH));
  if (url == NULL) return gauth__error_nomem(err);
  memcpy(url, v->oidc_issuer, n);
  memcpy(url + n, OIDC_DISCOVERY_PATH, sizeof(OIDC_DISCOVERY_PATH));

  gauth__log(&v->cfg.logger, GAUTH_LOG_DEBUG, "OIDC discovery: GET %s", url);
  st = gauth__http_get(v->http, url, NULL, NULL, &resp, err);
  if (st == GAUTH_OK) {
    st = gauth__json_parse_object(resp.body, resp.body_len, NULL, &doc, err);
    if (st == GAUTH_OK)
      st = gauth__json_get_string(doc, "issuer", &issuer, err);
    if (st == GAUTH_OK) st = gauth__json_get_string(doc, "jwks_uri", &uri, err);
    if (st != GAUTH_OK) {
      st = GAUTH_E_BAD_RESPONSE;
      if (err != NULL) err->code = st;
    } else if (strcmp(issuer, v->oidc_issuer) != 0) {
      /* A document that speaks for another issuer must not choose our
       * keys (OIDC Discovery 4.3). */
      st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "the document names issuer \"%.100s\", expected "
                            "\"%.100s\"",
                            issuer, v->oidc_issuer);
    } else {
      st = gauth__config_resolve_url(&v->cfg, uri, jwks_uri, err);
      if (st == GAUTH_OK)
        st = gauth__url_check_transport(*jwks_uri, v->cfg.metadata_host,
                                        v->cfg.metadata_ip, err);
      if (st != GAUTH_OK) {
        free(*jwks_uri);
        *jwks_uri = NULL;
        gauth__error_prefix(err, "jwks_uri");
      }
    }
  }
  if (st != GAUTH_OK)
    gauth__error_prefix(err, "OIDC discovery at %s", url);
  else
    gauth__log(&v->cfg.logger, GAUTH_LOG_INFO,
               "OIDC discovery for %s: keys at %s", v->oidc_issuer, *jwks_uri);
  cJSON_Delete(doc);
  gauth__http_response_cleanup(&resp);
  free(url);
  return st;
}

/* The verifier's key source, running discovery first for an OIDC verifier.
 * A failed discovery is not retried within the refetch cooldown (the same
 * error is returned), so that a dead issuer is not asked once per token. */
static gauth_status get_keysource(gauth_verifier *v, gauth__keysource **out,
                                  gauth_error *err) {
  gauth__keysource *ks;
  char *jwks_uri = NULL;
  gauth_status st = GAUTH_OK;
  int64_t now;

  pthread_mutex_lock(&v->mu);
  ks = v->ks;
  pthread_mutex_unlock(&v->mu);
  if (ks != NULL || v->oidc_issuer == NULL) {
    *out = ks;
    if (ks == NULL)
      return gauth__error_set(err, GAUTH_E_INTERNAL, "verifier has no keys");
    return GAUTH_OK;
  }

  pthread_mutex_lock(&v->discover_mu);
  pthread_mutex_lock(&v->mu);
  ks = v->ks;
  now = now_s(v);
  if (ks == NULL && v->discovery_err.code != GAUTH_OK &&
      now < v->discovery_retry_after) {
    gauth__error_copy(err, &v->discovery_err);
    st = v->discovery_err.code;
  }
  pthread_mutex_unlock(&v->mu);
  if (ks == NULL && st == GAUTH_OK) {
    gauth_error e = GAUTH_ERROR_INIT;
    st = discover(v, &jwks_uri, &e);
    if (st == GAUTH_OK)
      st = gauth__keysource_new(&ks, v->http, jwks_uri, &v->ks_params, &e);
    free(jwks_uri);
    pthread_mutex_lock(&v->mu);
    if (st == GAUTH_OK) {
      __atomic_store_n(&v->ks, ks, __ATOMIC_RELEASE);
      gauth_error_clear(&v->discovery_err);
    } else {
      gauth__log(&v->cfg.logger, GAUTH_LOG_WARN, "%s", e.message);
      gauth__error_copy(&v->discovery_err, &e);
      v->discovery_retry_after = now + v->ks_params.cooldown;
      gauth__error_copy(err, &e);
    }
    pthread_mutex_unlock(&v->mu);
  }
  pthread_mutex_unlock(&v->discover_mu);
  *out = ks;
  return st;
}

gauth_status gauth_verifier_refresh_keys(gauth_verifier *v, gauth_error *err) {
  gauth__keysource *ks;
  gauth_status st;
  if (v == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_verifier_refresh_keys: verifier is NULL");
  if (v->keys != NULL) {
    gauth_error_clear(err);
    return GAUTH_OK;
  }
  st = get_keysource(v, &ks, err);
  if (st != GAUTH_OK) return st;
  st = gauth__keysource_refresh(ks, err);
  if (st == GAUTH_OK) gauth_error_clear(err);
  return st;
}

/* ---- verifying ---------------------------------------------------------- */

static void rules_for(const gauth_verifier *v, int64_t now,
                      gauth__claim_rules *r) {
  memset(r, 0, sizeof(*r));
  r->issuers = (const char *const *)v->issuers;
  r->audiences = (const char *const *)v->audiences;
  r->now = now;
  r->leeway = v->leeway;
  r->max_lifetime = v->max_lifetime;
  r->require_email_verified = v->require_email_verified;
  r->require_email = v->require_email;
  r->hosted_domain = v->hosted_domain;
  r->authorized_party = v->authorized_party;
}

/* "RS256, ES256" */
static void alg_list(unsigned int mask, char *buf, size_t size) {
  int a;
  buf[0] = '\0';
  for (a = 1; a < GAUTH__ALG_COUNT; a++) {
    size_t used = strlen(buf);
    if ((mask & GAUTH_ALG_BIT(a)) == 0) continue;
    snprintf(buf + used, size - used, "%s%s", used > 0 ? ", " : "",
             gauth_alg_name((gauth_alg)a));
  }
}

/* RFC 8725 3.11 (explicit typing): a token whose header says it is some
 * other kind of JWT (an access token "at+jwt", a logout token, a DPoP
 * proof, a security event) is not an ID token, whoever signed it. Absent,
 * "JWT" and "application/jwt" (any case, RFC 7515 4.1.9) pass. */
static gauth_status check_typ(const gauth__jws *jws, gauth_error *err) {
  const cJSON *typ = cJSON_GetObjectItemCaseSensitive(jws->header, "typ");
  if (typ == NULL) return GAUTH_OK;
  if (!cJSON_IsString(typ) || typ->valuestring == NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "token header: \"typ\" is %s, expected "
                                   "a string",
                                   gauth__json_type_name(typ));
  if (strcasecmp(typ->valuestring, "JWT") == 0 ||
      strcasecmp(typ->valuestring, "application/jwt") == 0)
    return GAUTH_OK;
  return gauth__error_set_verify(err, GAUTH_REASON_WRONG_TYPE,
                                 "token header: \"typ\" says this is not "
                                 "a JWT of the kind verified here (only "
                                 "\"JWT\" or none is accepted)");
}

/* The keys for jws: the fixed set, or the key source's. */
static gauth_status keys_for(gauth_verifier *v, gauth__keysource **ks,
                             gauth_keyset **set, int64_t *fresh_until,
                             gauth_error *err) {
  gauth_error e;
  gauth_status st;
  *ks = NULL;
  if (v->keys != NULL) {
    gauth_keyset_up_ref(v->keys);
    *set = v->keys;
    *fresh_until = INT64_MAX;
    return GAUTH_OK;
  }
  gauth_error_clear(&e); /* only here: fixed keys never need it */
  st = get_keysource(v, ks, &e);
  if (st == GAUTH_OK) st = gauth__keysource_get(*ks, set, fresh_until, &e);
  if (st != GAUTH_OK)
    return gauth__error_set_verify(err, GAUTH_REASON_KEYS_UNAVAILABLE,
                                   "keys unavailable: %s", e.message);
  return GAUTH_OK;
}

/* Parse, keys, signature, claims; on success *out holds the claims and
 * *fresh_until the freshness of the key set that verified them. */
static gauth_status verify_full(gauth_verifier *v, const char *token,
                                size_t len, const gauth__claim_rules *rules,
                                gauth_claims **out, int64_t *fresh_until,
                                uint64_t *set_serial, gauth_error *err) {
  gauth__jws jws;
  gauth__keysource *ks = NULL;
  gauth_keyset *set = NULL, *newer = NULL;
  gauth_status st;

  memset(&jws, 0, sizeof(jws));
  st = gauth__jws_parse_cached(token, len, v->max_token_bytes, 1, v->headers,
                               &jws, err);
  if (st != GAUTH_OK) return st;
  st = check_typ(&jws, err);
  if (st != GAUTH_OK) goto done;

  /* Before any key is fetched: a token with a refused algorithm costs no
   * request, and says so even when the keys are unreachable. */
  if ((GAUTH_ALG_BIT(jws.alg) & v->algorithms) == 0) {
    char allowed[128];
    alg_list(v->algorithms, allowed, sizeof(allowed));
    st = gauth__error_set_verify(err, GAUTH_REASON_ALG_NOT_ALLOWED,
                                 "algorithm %s is not allowed here (allowed: "
                                 "%s)",
                                 gauth_alg_name(jws.alg), allowed);
    goto done;
  }
  st = keys_for(v, &ks, &set, fresh_until, err);
  if (st != GAUTH_OK) goto done;
  st = gauth__jws_verify(&jws, set, v->algorithms, NULL, err);
  if (st == GAUTH_E_VERIFY && ks != NULL && jws.kid != NULL &&
      strcmp(err->reason, GAUTH_REASON_UNKNOWN_KID) == 0) {
    /* Keys may have rotated since the set was fetched: fetch again (at
     * most once per cooldown) and try once more. */
    (void)gauth__keysource_refetch(ks, set, &newer, fresh_until, NULL);
    if (newer != NULL) {
      gauth_keyset_free(set);
      set = newer;
      st = gauth__jws_verify(&jws, set, v->algorithms, NULL, err);
    }
  }
  if (st == GAUTH_OK) st = gauth__claims_check(jws.payload, rules, err);
  if (st == GAUTH_OK) st = gauth__claims_from_jws(&jws, out, err);
  if (st == GAUTH_OK) *set_serial = set->serial;
done:
  gauth_keyset_free(set);
  gauth__jws_cleanup(&jws);
  return st;
}

/* The window in which a verified token's time checks pass: from
 * max(nbf, iat) - leeway to min(exp, the key set's freshness). exp is taken
 * without the leeway: a cached token stops being served at its exp, a little
 * before the full check would refuse it. A time claim that is present but
 * not a whole number leaves the window empty (nothing is cached). */
static void cache_window(const gauth_verifier *v, const gauth_claims *c,
                         int64_t fresh_until, int64_t *not_before,
                         int64_t *not_after) {
  static const char *const starts[] = {"nbf", "iat"};
  size_t i;
  *not_before = INT64_MIN;
  *not_after = gauth_claims_expires_at(c);
  if (fresh_until < *not_after) *not_after = fresh_until;
  for (i = 0; i < GAUTH__ARRAY_LEN(starts); i++) {
    int64_t t;
    gauth_status st = gauth_claims_get_int64(c, starts[i], &t, NULL);
    if (st == GAUTH_OK) {
      if (t - v->leeway > *not_before) *not_before = t - v->leeway;
    } else if (st != GAUTH_E_NOT_FOUND) {
      *not_after = *not_before;
      return;
    }
  }
}

/* The serial of the key set a cache hit must have been verified with: the
 * fixed set's, or the key source's current one (0 before any). */
static uint64_t current_set_serial(gauth_verifier *v) {
  if (v->keys != NULL) return v->keys->serial;
  return gauth__keysource_serial(__atomic_load_n(&v->ks, __ATOMIC_ACQUIRE));
}

gauth_status gauth_verifier_verify(gauth_verifier *v, const char *token,
                                   size_t len, gauth_claims **claims,
                                   gauth_error *err) {
  gauth_error e = GAUTH_ERROR_INIT;
  gauth__claim_rules rules;
  gauth_claims *c = NULL;
  int64_t now, fresh_until = INT64_MAX, not_before, not_after;
  uint64_t set_serial = 0;
  gauth_status st;

  if (claims != NULL) *claims = NULL;
  if (v == NULL || token == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_verifier_verify: verifier and token must "
                            "not be NULL");
  /* strnlen: a huge string is refused without reading all of it. */
  if (len == 0) len = strnlen(token, v->max_token_bytes + 1);
  if (len > v->max_token_bytes) {
    st = gauth__error_set_verify(&e, GAUTH_REASON_TOO_LARGE,
                                 "token is over the limit of %zu bytes",
                                 v->max_token_bytes);
    goto out;
  }
  now = now_s(v);
  rules_for(v, now, &rules);

  if (v->cache != NULL &&
      gauth__verifier_cache_get(v->cache, token, len, now,
                                current_set_serial(v), &c)) {
    /* The hit lies inside the window in which the token's time checks
     * pass (see cache_window), and the key set that verified it is still
     * the current one (a replaced set's entries are misses, so a removed
     * key stops verifying at once); its other checks depend on the token
     * alone and passed when it was cached. */
    st = GAUTH_OK;
    gauth__log(&v->cfg.logger, GAUTH_LOG_DEBUG, "token cache hit");
    goto out;
  }
  st = verify_full(v, token, len, &rules, &c, &fresh_until, &set_serial, &e);
  if (st == GAUTH_OK && v->cache != NULL) {
    cache_window(v, c, fresh_until, &not_before, &not_after);
    gauth__verifier_cache_put(v->cache, token, len, c, not_before, not_after,
                              set_serial, now);
  }
out:
  if (st == GAUTH_OK) {
    if (claims != NULL)
      *claims = c;
    else
      gauth_claims_free(c);
    gauth_error_clear(err);
    return GAUTH_OK;
  }
  gauth_claims_free(c);
  gauth__log(&v->cfg.logger, GAUTH_LOG_DEBUG, "token rejected: %s: %s",
             e.reason[0] != '\0' ? e.reason : gauth_status_name(st), e.message);
  gauth__error_copy(err, &e);
  return st;
}

/* ---- claims of a token whose signature was checked elsewhere ------------ */

gauth_status gauth__verifier_check_unsigned(gauth_verifier *v,
                                            const char *token, size_t len,
                                            gauth_claims **out,
                                            gauth_error *err) {
  gauth__jws jws;
  gauth__claim_rules rules;
  gauth_status st;

  *out = NULL;
  memset(&jws, 0, sizeof(jws));
  st = gauth__jws_parse(token, len, v->max_token_bytes, 1, &jws, err);
  if (st != GAUTH_OK) return st;
  if ((st = check_typ(&jws, err)) != GAUTH_OK) {
    /* reported as is */
  } else if ((GAUTH_ALG_BIT(jws.alg) & v->algorithms) == 0) {
    char allowed[128];
    alg_list(v->algorithms, allowed, sizeof(allowed));
    st = gauth__error_set_verify(err, GAUTH_REASON_ALG_NOT_ALLOWED,
                                 "algorithm %s is not allowed here (allowed: "
                                 "%s)",
                                 gauth_alg_name(jws.alg), allowed);
  } else {
    rules_for(v, now_s(v), &rules);
    st = gauth__claims_check(jws.payload, &rules, err);
    if (st == GAUTH_OK) st = gauth__claims_from_jws(&jws, out, err);
  }
  gauth__jws_cleanup(&jws);
  return st;
}
