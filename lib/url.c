/* URL policy: which hosts are loopback or Google's, the endpoint override,
 * and what the transport may connect to. libcurl's URL API does all the
 * parsing, so that the URL judged here is the URL libcurl will fetch. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "error_internal.h"
#include "url.h"

/* Flags for every parse. NON_SUPPORT_SCHEME: an ftp:// or gopher:// URL
 * parses, so that it is refused for its scheme rather than reported as
 * garbage. PATH_AS_IS: no dot-segment folding, the path is kept byte for
 * byte. No URLENCODE / GUESS_SCHEME / DEFAULT_SCHEME / ALLOW_SPACE: a URL
 * that is not already well-formed is an error, never silently repaired. */
#define URL_PARSE_FLAGS (CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS)

/* A safe rendering of a URL for messages: scheme://host[:port] only. The
 * user info, path and query are never shown: they may carry a password or
 * a token. */
typedef struct url_desc {
  char text[300];
} url_desc;

/* Parts of a parsed URL, each NULL when absent. Strings from curl_url_get,
 * released with curl_free() by url_parts_free(). */
typedef struct url_parts {
  CURLU *h;
  char *scheme;
  char *host;
  char *port; /* explicit port only */
  char *user;
  char *password;
  char *query;
  char *fragment;
  char *path;
} url_parts;

static void url_parts_free(url_parts *p) {
  curl_free(p->scheme);
  curl_free(p->host);
  curl_free(p->port);
  curl_free(p->user);
  curl_free(p->password);
  curl_free(p->query);
  curl_free(p->fragment);
  curl_free(p->path);
  curl_url_cleanup(p->h);
  memset(p, 0, sizeof(*p));
}

/* Reads one part; "absent" results leave *out NULL and count as success.
 * Returns CURLUE_OK or the error. */
static CURLUcode get_part(CURLU *h, CURLUPart part, char **out) {
  CURLUcode rc = curl_url_get(h, part, out, 0);
  switch (rc) {
    case CURLUE_OK: return CURLUE_OK;
    case CURLUE_NO_SCHEME:
    case CURLUE_NO_USER:
    case CURLUE_NO_PASSWORD:
    case CURLUE_NO_HOST:
    case CURLUE_NO_PORT:
    case CURLUE_NO_QUERY:
    case CURLUE_NO_FRAGMENT: *out = NULL; return CURLUE_OK;
    default: *out = NULL; return rc;
  }
}

/* Parses url into *p. On failure *p holds nothing to free and the return
 * is GAUTH_E_NOMEM or GAUTH_E_INVALID_ARG (the caller words the message:
 * only it knows what the URL was for). */
static gauth_status url_parse(const char *url, url_parts *p, CURLUcode *why) {
  CURLUcode rc;
  memset(p, 0, sizeof(*p));
  *why = CURLUE_OK;
  p->h = curl_url();
  if (p->h == NULL) return GAUTH_E_NOMEM;
  rc = curl_url_set(p->h, CURLUPART_URL, url, URL_PARSE_FLAGS);
  if (rc != CURLUE_OK) {
    url_parts_free(p);
    *why = rc;
    return rc == CURLUE_OUT_OF_MEMORY ? GAUTH_E_NOMEM : GAUTH_E_INVALID_ARG;
  }
  if ((rc = get_part(p->h, CURLUPART_SCHEME, &p->scheme)) != CURLUE_OK ||
      (rc = get_part(p->h, CURLUPART_HOST, &p->host)) != CURLUE_OK ||
      (rc = get_part(p->h, CURLUPART_PORT, &p->port)) != CURLUE_OK ||
      (rc = get_part(p->h, CURLUPART_USER, &p->user)) != CURLUE_OK ||
      (rc = get_part(p->h, CURLUPART_PASSWORD, &p->password)) != CURLUE_OK ||
      (rc = get_part(p->h, CURLUPART_QUERY, &p->query)) != CURLUE_OK ||
      (rc = get_part(p->h, CURLUPART_FRAGMENT, &p->fragment)) != CURLUE_OK ||
      (rc = get_part(p->h, CURLUPART_PATH, &p->path)) != CURLUE_OK) {
    url_parts_free(p);
    *why = rc;
    return rc == CURLUE_OUT_OF_MEMORY ? GAUTH_E_NOMEM : GAUTH_E_INVALID_ARG;
  }
  return GAUTH_OK;
}

static void url_describe(const url_parts *p, url_desc *d) {
  snprintf(d->text, sizeof(d->text), "%s://%s%s%s", p->scheme ? p->scheme : "?",
           p->host ? p->host : "", p->port ? ":" : "", p->port ? p->port : "");
}

/* URLs that do not parse are never echoed: one may be a token passed by
 * mistake. A setting (an endpoint override) is echoed, but only when it
 * cannot be hiding a secret (no user info, query or fragment) and is short
 * and printable. */
const char *gauth__echo_setting(const char *s) {
  size_t i, n = strlen(s);
  if (n == 0 || n > 100) return "(not shown)";
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x21 || c > 0x7e || c == '@' || c == '?' || c == '#')
      return "(not shown)";
  }
  return s;
}

static int scheme_is_http(const char *scheme) {
  return scheme != NULL && strcasecmp(scheme, "http") == 0;
}

static int scheme_is_https(const char *scheme) {
  return scheme != NULL && strcasecmp(scheme, "https") == 0;
}

/* Copies host into buf without IPv6 brackets. Returns 0, or -1 when it
 * does not fit or the brackets do not pair. */
static int strip_brackets(const char *host, char *buf, size_t size) {
  size_t n = strlen(host);
  if (n > 0 && host[0] == '[') {
    if (n < 2 || host[n - 1] != ']') return -1;
    host++;
    n -= 2;
  }
  if (n >= size) return -1;
  memcpy(buf, host, n);
  buf[n] = '\0';
  return 0;
}

int gauth__host_is_loopback(const char *host) {
  char buf[INET6_ADDRSTRLEN + 8];
  unsigned char addr[sizeof(struct in6_addr)];
  if (host == NULL || host[0] == '\0') return 0;
  if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
    return 1;
  if (strip_brackets(host, buf, sizeof(buf)) != 0) return 0;
  /* inet_pton(AF_INET) takes only the four-part dotted quad: "127.1" or
   * "0x7f.0.0.1" are not addresses here. */
  if (inet_pton(AF_INET, buf, addr) == 1) return addr[0] == 127;
  if (inet_pton(AF_INET6, buf, addr) == 1) {
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 1};
    if (memcmp(addr, one, 16) == 0) return 1;
    return memcmp(addr, v4mapped, 12) == 0 && addr[12] == 127;
  }
  return 0;
}

int gauth__host_is_aws_imds(const char *host) {
  static const unsigned char v4[4] = {169, 254, 169, 254};
  static const unsigned char v6[16] = {
      0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  char buf[INET6_ADDRSTRLEN + 8];
  unsigned char addr[sizeof(struct in6_addr)];
  if (host == NULL || strip_brackets(host, buf, sizeof(buf)) != 0) return 0;
  if (inet_pton(AF_INET, buf, addr) == 1) return memcmp(addr, v4, 4) == 0;
  return inet_pton(AF_INET6, buf, addr) == 1 && memcmp(addr, v6, 16) == 0;
}

/* 1 when host (length n, no trailing dot) is a proper subdomain of domain
 * (length dn, no trailing dot): at least one label in front of it. */
static int is_subdomain(const char *host, size_t n, const char *domain,
                        size_t dn) {
  if (dn == 0 || n < dn + 2) return 0;
  if (host[n - dn - 1] != '.') return 0;
  if (host[0] == '.') return 0;
  return strncasecmp(host + n - dn, domain, dn) == 0;
}

static int equals_ci(const char *host, size_t n, const char *name) {
  return strlen(name) == n && strncasecmp(host, name, n) == 0;
}

int gauth__host_is_google(const char *host, const char *universe_domain) {
  size_t n;
  if (host == NULL) return 0;
  n = strlen(host);
  if (n > 0 && host[n - 1] == '.') n--;
  if (n == 0) return 0;
  if (equals_ci(host, n, "accounts.google.com") ||
      equals_ci(host, n, "www.gstatic.com"))
    return 1;
  if (is_subdomain(host, n, "googleapis.com", strlen("googleapis.com")))
    return 1;
  if (universe_domain != NULL) {
    size_t un = strlen(universe_domain);
    if (un > 0 && universe_domain[un - 1] == '.') un--;
    if (un > 0 && universe_domain[0] != '.' &&
        is_subdomain(host, n, universe_domain, un))
      return 1;
  }
  return 0;
}

/* Splits a host[:port] setting. host receives the host without brackets;
 * *port the port text (or NULL). Returns 0, or -1 when malformed. */
static int split_hostport(const char *hostport, char *host, size_t hsize,
                          const char **port) {
  const char *end;
  size_t n;
  *port = NULL;
  if (hostport[0] == '[') {
    end = strchr(hostport, ']');
    if (end == NULL) return -1;
    n = (size_t)(end - hostport - 1);
    if (end[1] == ':') {
      *port = end + 2;
    } else if (end[1] != '\0') {
      return -1;
    }
    hostport++;
  } else {
    end = strchr(hostport, ':');
    if (end != NULL && strchr(end + 1, ':') != NULL) return -1; /* bare v6 */
    n = end ? (size_t)(end - hostport) : strlen(hostport);
    if (end != NULL) *port = end + 1;
  }
  if (n == 0 || n >= hsize) return -1;
  memcpy(host, hostport, n);
  host[n] = '\0';
  return 0;
}

/* Parses a port: 1..65535, digits only. Returns it, or -1. */
static long parse_port(const char *s) {
  long v = 0;
  if (s == NULL || *s == '\0') return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (*s - '0');
    if (v > 65535) return -1;
  }
  return v >= 1 ? v : -1;
}

/* Host names equal, case-insensitive, a trailing dot ignored; IPv6
 * literals compared as addresses (so "::1" equals "0:0:0:0:0:0:0:1"). */
static int host_equal(const char *a, const char *b) {
  unsigned char aa[sizeof(struct in6_addr)], ba[sizeof(struct in6_addr)];
  size_t an = strlen(a), bn = strlen(b);
  if (inet_pton(AF_INET6, a, aa) == 1 && inet_pton(AF_INET6, b, ba) == 1)
    return memcmp(aa, ba, sizeof(aa)) == 0;
  if (an > 0 && a[an - 1] == '.') an--;
  if (bn > 0 && b[bn - 1] == '.') bn--;
  return an == bn && strncasecmp(a, b, an) == 0;
}

int gauth__host_matches(const char *host, const char *port,
                        const char *hostport) {
  char want[256], got[256];
  const char *want_port;
  if (host == NULL || hostport == NULL) return 0;
  if (split_hostport(hostport, want, sizeof(want), &want_port) != 0) return 0;
  if (strip_brackets(host, got, sizeof(got)) != 0) return 0;
  if (!host_equal(got, want)) return 0;
  if (want_port == NULL) return 1;
  if (port == NULL) return 0;
  return parse_port(want_port) != -1 &&
         parse_port(want_port) == parse_port(port);
}

gauth_status gauth__endpoint_validate(const char *endpoint, const char *what,
                                      gauth_error *err) {
  url_parts p;
  url_desc d;
  gauth_status st;
  CURLUcode why;
  const char *problem = NULL;
  if (what == NULL) what = "endpoint";
  if (endpoint == NULL || endpoint[0] == '\0')
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s is empty: expected scheme://host[:port]", what);
  st = url_parse(endpoint, &p, &why);
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s \"%s\" is not a URL (%s): expected "
                            "http(s)://host[:port]",
                            what, gauth__echo_setting(endpoint),
                            curl_url_strerror(why));
  url_describe(&p, &d);
  if (!scheme_is_http(p.scheme) && !scheme_is_https(p.scheme))
    problem = "the scheme must be http or https";
  else if (p.host == NULL || p.host[0] == '\0')
    problem = "it has no host";
  else if (p.user != NULL || p.password != NULL)
    problem = "user info (user:password@) is not allowed";
  else if (p.query != NULL)
    problem = "a query string is not allowed";
  else if (p.fragment != NULL)
    problem = "a fragment is not allowed";
  else if (p.path != NULL && strcmp(p.path, "/") != 0 && p.path[0] != '\0')
    problem = "a path is not allowed (Google's paths are kept)";
  url_parts_free(&p);
  if (problem != NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s \"%s\" is not a valid endpoint: %s; expected "
                            "http(s)://host[:port]",
                            what, d.text, problem);
  return GAUTH_OK;
}

static gauth_status dup_out(const char *s, char **out, gauth_error *err) {
  size_t n = strlen(s) + 1;
  char *copy = malloc(n);
  if (copy == NULL) return gauth__error_nomem(err);
  memcpy(copy, s, n);
  *out = copy;
  return GAUTH_OK;
}

/* 1 when the URL as written has no path: nothing, or only a query or a
 * fragment, after the authority. This only decides whether to keep the
 * slash libcurl adds; libcurl has already judged the URL valid. */
static int raw_path_is_empty(const char *url) {
  const char *p = strchr(url, ':');
  if (p == NULL) return 0;
  p++;
  while (*p == '/') p++;
  p += strcspn(p, "/?#");
  return *p != '/';
}

/* Turns a CURLUcode from a setter into a status. */
static gauth_status set_failed(CURLUcode rc, const char *what,
                               gauth_error *err) {
  if (rc == CURLUE_OUT_OF_MEMORY) return gauth__error_nomem(err);
  return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                          "endpoint override: cannot set the %s (%s)", what,
                          curl_url_strerror(rc));
}

gauth_status gauth__url_apply_endpoint(const char *url, const char *endpoint,
                                       const char *universe_domain, char **out,
                                       gauth_error *err) {
  url_parts u, e;
  gauth_status st;
  CURLUcode rc, why;
  char *result = NULL;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "out is NULL");
  *out = NULL;
  if (url == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "url is NULL");
  st = url_parse(url, &u, &why);
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "the URL could not be parsed (%s)",
                            curl_url_strerror(why));
  if (endpoint == NULL || !gauth__host_is_google(u.host, universe_domain)) {
    /* Not ours to rewrite: the caller's bytes, untouched. */
    url_parts_free(&u);
    return dup_out(url, out, err);
  }
  st = gauth__endpoint_validate(endpoint, "endpoint override", err);
  if (st != GAUTH_OK) {
    url_parts_free(&u);
    return st;
  }
  st = url_parse(endpoint, &e, &why);
  if (st != GAUTH_OK) {
    url_parts_free(&u);
    return st == GAUTH_E_NOMEM ? gauth__error_nomem(err)
                               : gauth__error_set(err, GAUTH_E_INTERNAL,
                                                  "endpoint reparse failed");
  }
  /* Only scheme, host and port change; libcurl keeps the stored path and
   * query as they were set (no re-encoding without CURLU_URLENCODE). */
  rc = curl_url_set(u.h, CURLUPART_SCHEME, e.scheme, CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    st = set_failed(rc, "scheme", err);
    goto done;
  }
  rc = curl_url_set(u.h, CURLUPART_HOST, e.host, 0);
  if (rc != CURLUE_OK) {
    st = set_failed(rc, "host", err);
    goto done;
  }
  rc = curl_url_set(u.h, CURLUPART_PORT, e.port, 0);
  if (rc != CURLUE_OK) {
    st = set_failed(rc, "port", err);
    goto done;
  }
  rc = curl_url_get(u.h, CURLUPART_URL, &result, 0);
  if (rc != CURLUE_OK) {
    st = rc == CURLUE_OUT_OF_MEMORY
             ? gauth__error_nomem(err)
             : gauth__error_set(err, GAUTH_E_INTERNAL,
                                "endpoint override: cannot rebuild the URL "
                                "(%s)",
                                curl_url_strerror(rc));
    goto done;
  }
  if (raw_path_is_empty(url)) {
    /* libcurl writes an empty path as "/"; give back what came in, so that
     * a base URL ("https://sts.googleapis.com") stays a base URL. Only the
     * slash right after the authority just set is dropped. */
    char origin[600];
    size_t n;
    snprintf(origin, sizeof(origin), "%s://%s%s%s", e.scheme, e.host,
             e.port ? ":" : "", e.port ? e.port : "");
    n = strlen(origin);
    if (strncmp(result, origin, n) == 0 && result[n] == '/')
      memmove(result + n, result + n + 1, strlen(result + n + 1) + 1);
  }
  st = dup_out(result, out, err);
done:
  curl_free(result);
  url_parts_free(&u);
  url_parts_free(&e);
  return st;
}

gauth_status gauth__url_check_transport(const char *url,
                                        const char *metadata_host,
                                        const char *metadata_ip,
                                        gauth_error *err) {
  return gauth__url_check_transport_imds(url, metadata_host, metadata_ip, 0,
                                         err);
}

gauth_status gauth__url_check_transport_imds(const char *url,
                                             const char *metadata_host,
                                             const char *metadata_ip,
                                             int aws_imds, gauth_error *err) {
  url_parts p;
  url_desc d;
  gauth_status st;
  CURLUcode why;
  char *port = NULL;
  int ok;
  if (url == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "url is NULL");
  st = url_parse(url, &p, &why);
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "the URL could not be parsed (%s)",
                            curl_url_strerror(why));
  url_describe(&p, &d);
  if (!scheme_is_http(p.scheme) && !scheme_is_https(p.scheme)) {
    url_parts_free(&p);
    return gauth__error_set(err, GAUTH_E_INSECURE_URL,
                            "refusing %s: only http and https URLs are "
                            "allowed",
                            d.text);
  }
  if (p.host == NULL || p.host[0] == '\0') {
    url_parts_free(&p);
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "URL %s has no host",
                            d.text);
  }
  if (p.user != NULL || p.password != NULL) {
    url_parts_free(&p);
    return gauth__error_set(err, GAUTH_E_INSECURE_URL,
                            "refusing %s: user info (user:password@) in a "
                            "URL is not allowed",
                            d.text);
  }
  if (scheme_is_https(p.scheme)) {
    url_parts_free(&p);
    return GAUTH_OK;
  }
  /* Plain http: the port the connection would use, explicit or default,
   * is what a metadata setting with a port has to match. */
  if (curl_url_get(p.h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
    port = NULL;
  ok = gauth__host_is_loopback(p.host) ||
       (aws_imds && gauth__host_is_aws_imds(p.host)) ||
       (metadata_host != NULL &&
        gauth__host_matches(p.host, port, metadata_host)) ||
       (metadata_ip != NULL && gauth__host_matches(p.host, port, metadata_ip));
  curl_free(port);
  url_parts_free(&p);
  if (!ok)
    return gauth__error_set(err, GAUTH_E_INSECURE_URL,
                            "refusing plain http to %s: a remote host needs "
                            "https (http is allowed only to loopback and "
                            "the metadata server%s%s%s%s)",
                            d.text, metadata_host || metadata_ip ? ", " : "",
                            metadata_host ? metadata_host : "",
                            metadata_host && metadata_ip ? " or " : "",
                            metadata_ip ? metadata_ip : "");
  return GAUTH_OK;
}
