/* Which token a Cloud Scheduler job's URL takes: a Google API (an OAuth 2
 * access token), a Cloud Run service or function (an OIDC ID token for its
 * URL), or an endpoint of the user's own. libcurl's URL parser reads every
 * URL here, as lib/url.c does, so that the host judged is the host a
 * request would go to (https://run.googleapis.com@evil.example/ goes to
 * evil.example). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "config.h"
#include "error_internal.h"
#include "scheduler_internal.h"
#include "url.h"

/* What a URL is made of, from curl_url_get (curl_free each). */
typedef struct parsed_url {
  CURLU *h;
  char *scheme;
  char *host; /* IPv6 literals in brackets */
  char *port; /* the effective port: explicit, else the scheme's */
  char *path; /* "/" at least */
} parsed_url;

static void parsed_url_free(parsed_url *u) {
  curl_free(u->scheme);
  curl_free(u->host);
  curl_free(u->port);
  curl_free(u->path);
  curl_url_cleanup(u->h);
  memset(u, 0, sizeof(*u));
}

/* Parses an http(s) URL with a host. GAUTH_E_NOMEM, or GAUTH_E_INVALID_ARG
 * with *why saying what is wrong (static text); *u then holds nothing. */
static gauth_status parse_url(const char *url, parsed_url *u,
                              const char **why) {
  CURLUcode rc;
  memset(u, 0, sizeof(*u));
  *why = NULL;
  if ((u->h = curl_url()) == NULL) return GAUTH_E_NOMEM;
  /* As lib/url.c: any scheme parses (to be refused by name), the path is
   * kept byte for byte, nothing is repaired. */
  rc = curl_url_set(u->h, CURLUPART_URL, url,
                    CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS);
  if (rc == CURLUE_OK) rc = curl_url_get(u->h, CURLUPART_SCHEME, &u->scheme, 0);
  if (rc == CURLUE_OK) {
    rc = curl_url_get(u->h, CURLUPART_HOST, &u->host, 0);
    if (rc == CURLUE_NO_HOST) *why = "it has no host";
  }
  if (rc == CURLUE_OK)
    rc = curl_url_get(u->h, CURLUPART_PORT, &u->port, CURLU_DEFAULT_PORT);
  if (rc == CURLUE_OK) rc = curl_url_get(u->h, CURLUPART_PATH, &u->path, 0);
  if (rc == CURLUE_OK && strcasecmp(u->scheme, "http") != 0 &&
      strcasecmp(u->scheme, "https") != 0)
    *why = "the scheme is not http or https";
  if (rc == CURLUE_OK && *why == NULL) return GAUTH_OK;
  if (*why == NULL) *why = curl_url_strerror(rc);
  parsed_url_free(u);
  return rc == CURLUE_OUT_OF_MEMORY ? GAUTH_E_NOMEM : GAUTH_E_INVALID_ARG;
}

gauth_status gauth__scheduler_uri_check(const char *uri, const char *what,
                                        gauth_error *err) {
  parsed_url u;
  const char *why;
  gauth_status st = parse_url(uri, &u, &why);
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s is not an http or https URL with a host (%s)",
                            what, why);
  parsed_url_free(&u);
  return GAUTH_OK;
}

/* ---- hosts --------------------------------------------------------------- */

/* host without a trailing dot, in lower case (ASCII): the name as people
 * write it. NULL when out of memory. */
static char *host_display(const char *host) {
  size_t n = strlen(host), i;
  char *s;
  if (n > 0 && host[n - 1] == '.') n--;
  if ((s = malloc(n + 1)) == NULL) return NULL;
  for (i = 0; i < n; i++)
    s[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a')
                                              : host[i];
  s[n] = '\0';
  return s;
}

/* 1 when host is a proper subdomain of domain (at least one label in
 * front), without regard to case or a trailing dot on host. */
static int host_under(const char *host, const char *domain) {
  size_t n = strlen(host), dn = strlen(domain);
  if (n > 0 && host[n - 1] == '.') n--;
  if (n < dn + 2 || host[0] == '.' || host[n - dn - 1] != '.') return 0;
  return strncasecmp(host + n - dn, domain, dn) == 0;
}

/* Hosts gauth__host_is_google counts as Google's that serve no API taking
 * a bearer token: the sign-in pages and static keys. */
static int host_is_google_api(const char *host, const char *universe) {
  static const char *const not_apis[] = {"accounts.google.com",
                                         "www.gstatic.com"};
  size_t i, n = strlen(host);
  if (!gauth__host_is_google(host, universe)) return 0;
  if (n > 0 && host[n - 1] == '.') n--;
  for (i = 0; i < GAUTH__ARRAY_LEN(not_apis); i++)
    if (strlen(not_apis[i]) == n && strncasecmp(host, not_apis[i], n) == 0)
      return 0;
  return 1;
}

/* 1 when path is base_path or below it ("/" or "" is everything). */
static int path_under(const char *path, const char *base_path) {
  size_t m = strlen(base_path);
  while (m > 0 && base_path[m - 1] == '/') m--;
  if (m == 0) return 1;
  return strncmp(path, base_path, m) == 0 &&
         (path[m] == '\0' || path[m] == '/');
}

/* 1 when u is on the base URL: same scheme, host and effective port, and
 * a path at or below the base's; 0 when not; -1 when out of memory. */
static int on_base(const parsed_url *u, const char *base) {
  parsed_url b;
  const char *why;
  char hostport[300];
  int on;
  gauth_status st = parse_url(base, &b, &why);
  if (st == GAUTH_E_NOMEM) return -1;
  if (st != GAUTH_OK) return 0;
  snprintf(hostport, sizeof(hostport), "%s:%s", b.host, b.port);
  on = strcasecmp(u->scheme, b.scheme) == 0 &&
       gauth__host_matches(u->host, u->port, hostport) &&
       path_under(u->path, b.path);
  parsed_url_free(&b);
  return on;
}

/* ---- the verdict --------------------------------------------------------- */

/* What the URL was found to be; `where` names the host or endpoint that
 * decided it, `audience` the URL an ID token's aud should hold. */
typedef struct verdict {
  gauth_scheduler_url_kind kind;
  char *where;
  char *audience;
} verdict;

/* A URL on a base URL the options or GAUTH_ENDPOINT put in place of a
 * Google service's: the Google API behind it. A per-service URL names its
 * service; the endpoint override names itself. Returns 1 (v filled), 0, or
 * a failing status through *st. */
static int on_configured_endpoint(const gauth__config *cfg, const parsed_url *u,
                                  verdict *v, gauth_status *st,
                                  gauth_error *err) {
  int s, on = 0;
  *st = GAUTH_OK;
  for (s = 0; s < GAUTH__SERVICE_COUNT && !on; s++) {
    char *base = NULL;
    if (s == GAUTH_SERVICE_METADATA ||
        (cfg->service_override[s] == NULL && cfg->endpoint == NULL))
      continue;
    *st = gauth__config_service_url(cfg, (gauth_service)s, NULL, &base, err);
    if (*st != GAUTH_OK) return 0;
    on = on_base(u, base);
    if (on == 1) {
      v->where = cfg->service_override[s] != NULL
                     ? gauth__strf("the %s endpoint set in the options, %s",
                                   gauth_service_name((gauth_service)s),
                                   gauth__echo_setting(base))
                     : gauth__strf("the endpoint set for Google's APIs, %s",
                                   gauth__echo_setting(cfg->endpoint));
      if (v->where == NULL) on = -1;
    }
    free(base);
  }
  if (on == -1) *st = gauth__error_nomem(err);
  return on == 1;
}

/* The function URL of a cloudfunctions.net URL: https://HOST/NAME, NAME
 * the first segment of the path (absent when the path has none). */
static char *function_url(const char *host, const char *path) {
  size_t n;
  while (*path == '/') path++;
  n = strcspn(path, "/");
  return n > 0 ? gauth__strf("https://%s/%.*s", host, (int)n, path)
               : gauth__strf("https://%s", host);
}

static gauth_status decide(const gauth__config *cfg, const parsed_url *u,
                           verdict *v, gauth_error *err) {
  gauth_status st;
  char *host = host_display(u->host);
  if (host == NULL) return gauth__error_nomem(err);
  if (host_is_google_api(u->host, cfg->universe_domain)) {
    v->kind = GAUTH_SCHEDULER_URL_GOOGLE_API;
    v->where = host;
    return GAUTH_OK;
  }
  if (on_configured_endpoint(cfg, u, v, &st, err)) {
    v->kind = GAUTH_SCHEDULER_URL_GOOGLE_API;
  } else if (st != GAUTH_OK) {
    free(host);
    return st;
  } else if (host_under(u->host, "run.app")) {
    v->kind = GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE;
    v->audience = gauth__strf("https://%s", host);
  } else if (host_under(u->host, "cloudfunctions.net")) {
    v->kind = GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION;
    v->audience = function_url(host, u->path);
  }
  if (v->where == NULL) {
    v->where = host;
    host = NULL;
  }
  free(host);
  if (v->kind != GAUTH_SCHEDULER_URL_GOOGLE_API &&
      v->kind != GAUTH_SCHEDULER_URL_OTHER && v->audience == NULL)
    return gauth__error_nomem(err);
  return GAUTH_OK;
}

/* The URL for people: scheme://host[:port]/path, without user info, query
 * or fragment (they may hold a password or a key). */
static char *url_display(const parsed_url *u) {
  CURLU *h = curl_url_dup(u->h);
  char *s = NULL, *copy;
  if (h == NULL) return NULL;
  if (curl_url_set(h, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
      curl_url_set(h, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
      curl_url_set(h, CURLUPART_OPTIONS, NULL, 0) != CURLUE_OK ||
      curl_url_set(h, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
      curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
      curl_url_get(h, CURLUPART_URL, &s, 0) != CURLUE_OK) {
    curl_url_cleanup(h);
    return NULL;
  }
  copy = gauth__strdup(s);
  curl_free(s);
  curl_url_cleanup(h);
  return copy;
}

/* The sentence for people: what the URL is, which token it takes, why. */
static char *sentence(const parsed_url *u, const verdict *v) {
  char *url = url_display(u), *s = NULL;
  if (url == NULL) return NULL;
  switch (v->kind) {
    case GAUTH_SCHEDULER_URL_GOOGLE_API:
      s = gauth__strf(
          "%s is a Google API (%s): it takes an OAuth 2 access token "
          "(Cloud Scheduler's oauthToken, scope cloud-platform); an "
          "OIDC ID token is refused with 401 whatever IAM grants",
          url, v->where);
      break;
    case GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE:
      s = gauth__strf(
          "%s is a Cloud Run service (%s): it takes a Google-signed "
          "OIDC ID token (Cloud Scheduler's oidcToken) whose audience "
          "is the service URL %s or a custom audience of the service, "
          "from a caller granted roles/run.invoker on it",
          url, v->where, v->audience);
      break;
    case GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION:
      s = gauth__strf(
          "%s is a Cloud Run function (%s): it takes a Google-signed "
          "OIDC ID token (Cloud Scheduler's oidcToken) whose audience "
          "is the function URL %s, from a caller granted the "
          "function's invoker role",
          url, v->where, v->audience);
      break;
    case GAUTH_SCHEDULER_URL_OTHER:
      s = gauth__strf(
          "%s is neither a Google API nor a Cloud Run URL (%s): if it "
          "checks Google-signed tokens it takes an OIDC ID token "
          "(Cloud Scheduler's oidcToken) with the audience it expects, "
          "which Cloud Scheduler sets to the job's uri unless "
          "oidcToken.audience says otherwise",
          url, v->where);
      break;
  }
  free(url);
  return s;
}

const char *gauth_scheduler_url_kind_name(gauth_scheduler_url_kind kind) {
  switch (kind) {
    case GAUTH_SCHEDULER_URL_OTHER: return "other";
    case GAUTH_SCHEDULER_URL_GOOGLE_API: return "google_api";
    case GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE: return "cloud_run_service";
    case GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION: return "cloud_run_function";
  }
  return "unknown";
}

gauth_status gauth_scheduler_url_classify(const gauth_options *opts,
                                          const char *url,
                                          gauth_scheduler_url_kind *kind,
                                          gauth_scheduler_token *token,
                                          char **why, gauth_error *err) {
  gauth__config cfg;
  parsed_url u;
  verdict v = {GAUTH_SCHEDULER_URL_OTHER, NULL, NULL};
  const char *reason;
  gauth_status st;
  if (kind != NULL) *kind = GAUTH_SCHEDULER_URL_OTHER;
  if (token != NULL) *token = GAUTH_SCHEDULER_TOKEN_NONE;
  if (why != NULL) *why = NULL;
  if (url == NULL || kind == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_url_classify: %s is NULL",
                            url == NULL ? "url" : "kind");
  st = parse_url(url, &u, &reason);
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_url_classify: the URL is not an "
                            "http or https URL with a host (%s)",
                            reason);
  if ((st = gauth__config_init(&cfg, opts, err)) != GAUTH_OK) {
    parsed_url_free(&u);
    return st;
  }
  st = decide(&cfg, &u, &v, err);
  if (st == GAUTH_OK && why != NULL && (*why = sentence(&u, &v)) == NULL)
    st = gauth__error_nomem(err);
  if (st == GAUTH_OK) {
    *kind = v.kind;
    if (token != NULL)
      *token = v.kind == GAUTH_SCHEDULER_URL_GOOGLE_API
                   ? GAUTH_SCHEDULER_TOKEN_OAUTH
                   : GAUTH_SCHEDULER_TOKEN_OIDC;
    gauth_error_clear(err);
  }
  free(v.where);
  free(v.audience);
  gauth__config_cleanup(&cfg);
  parsed_url_free(&u);
  return st;
}
