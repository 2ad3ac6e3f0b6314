/* Internal: URL policy, pure functions over libcurl's URL API (curl_url),
 * which does the parsing: nothing here makes a connection. */
#ifndef GAUTH_LIB_URL_H
#define GAUTH_LIB_URL_H

#include "common.h"

/* 1 when host (as found in a URL: no brackets, or with them for IPv6) is
 * loopback: any 127.0.0.0/8 address in dotted-quad form, ::1 (any spelling
 * inet_pton accepts), "localhost" or "localhost." (case-insensitive). */
int gauth__host_is_loopback(const char *host);

/* 1 when host is one of Google's: *.googleapis.com, *.UNIVERSE (when
 * universe_domain is not NULL), accounts.google.com, www.gstatic.com
 * (case-insensitive, a trailing dot ignored). */
int gauth__host_is_google(const char *host, const char *universe_domain);

/* 1 when host (and port, when `hostport` carries one) equals the host[:port]
 * in hostport. Case-insensitive host. */
int gauth__host_matches(const char *host, const char *port,
                        const char *hostport);

/* Checks an endpoint override: scheme http or https, a host, an optional
 * port, no user info, query or fragment, and no path beyond "/". `what`
 * names the setting in the error ("GAUTH_ENDPOINT"). */
gauth_status gauth__endpoint_validate(const char *endpoint, const char *what,
                                      gauth_error *err);

/* When url's host is a Google host and endpoint is not NULL, writes to *out
 * the url with scheme, host and port taken from endpoint (path, query kept);
 * otherwise a copy of url. Free with free(). */
gauth_status gauth__url_apply_endpoint(const char *url, const char *endpoint,
                                       const char *universe_domain, char **out,
                                       gauth_error *err);

/* GAUTH_OK when the transport may connect to url: https to any host, or http
 * to a loopback host, to metadata_host or to metadata_ip (each host[:port],
 * either may be NULL). GAUTH_E_INSECURE_URL otherwise (other schemes, user
 * info in the URL), GAUTH_E_INVALID_ARG for an unparsable URL. */
gauth_status gauth__url_check_transport(const char *url,
                                        const char *metadata_host,
                                        const char *metadata_ip,
                                        gauth_error *err);

#endif /* GAUTH_LIB_URL_H */
