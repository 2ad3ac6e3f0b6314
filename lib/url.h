/* Internal: URL policy, pure functions over libcurl's URL API (curl_url),
 * which does the parsing: nothing here makes a connection. */
#ifndef GAUTH_LIB_URL_H
#define GAUTH_LIB_URL_H

#include "common.h"

/* 1 when host (as found in a URL: no brackets, or with them for IPv6) is
 * loopback: any 127.0.0.0/8 address in four-part dotted-quad form ("127.1"
 * is not), ::1 or ::ffff:127.x.y.z (any spelling inet_pton accepts),
 * "localhost" or "localhost." (case-insensitive). Subdomains of localhost
 * are not. (In a URL, libcurl itself rewrites "127.1" or "0x7f.1" to
 * 127.0.0.1 before gauth__url_check_transport sees the host.) */
int gauth__host_is_loopback(const char *host);

/* 1 when host (as found in a URL, IPv6 with or without brackets) is an
 * address of AWS's instance metadata service: 169.254.169.254 or
 * fd00:ec2::254 (any spelling inet_pton accepts). */
int gauth__host_is_aws_imds(const char *host);

/* 1 when host is one of Google's: *.googleapis.com, *.UNIVERSE (when
 * universe_domain is not NULL), accounts.google.com, www.gstatic.com
 * (case-insensitive, a trailing dot ignored). */
int gauth__host_is_google(const char *host, const char *universe_domain);

/* 1 when host (and port, when `hostport` carries one) equals the host[:port]
 * in hostport. Host names compare case-insensitively with a trailing dot
 * ignored; IPv6 literals (bracketed in hostport, with or without brackets
 * in host) compare as addresses. Ports compare as numbers; port NULL (not
 * known) matches only a hostport without one. A malformed hostport
 * (a bare IPv6 address, an empty or non-numeric port) matches nothing. */
int gauth__host_matches(const char *host, const char *port,
                        const char *hostport);

/* Checks an endpoint override: scheme http or https, a host, an optional
 * port, no user info, query or fragment, and no path beyond "/". `what`
 * names the setting in the error ("GAUTH_ENDPOINT"). GAUTH_E_INVALID_ARG
 * (NULL or empty included), GAUTH_E_NOMEM. The message shows the value as
 * scheme://host[:port] only, or, when it does not parse, verbatim only if
 * it is short, printable and has no '@', '?' or '#'. */
gauth_status gauth__endpoint_validate(const char *endpoint, const char *what,
                                      gauth_error *err);

/* When url's host is a Google host and endpoint is not NULL, writes to *out
 * the url with scheme, host and port taken from endpoint (the port removed
 * when endpoint has none); path, query and fragment are kept byte for byte
 * (no dot folding, no re-encoding, an empty path stays empty). Otherwise
 * writes a byte-exact copy of url. Free with free(). Errors:
 * GAUTH_E_INVALID_ARG for an unparsable url (even with endpoint NULL) or,
 * when a rewrite is due, an invalid endpoint; GAUTH_E_NOMEM. *out is NULL
 * on failure. */
gauth_status gauth__url_apply_endpoint(const char *url, const char *endpoint,
                                       const char *universe_domain, char **out,
                                       gauth_error *err);

/* GAUTH_OK when the transport may connect to url: https to any host, or http
 * to a loopback host, to metadata_host or to metadata_ip (each host[:port],
 * either may be NULL; with a port, the URL's port, explicit or the scheme's
 * default, must equal it; without one, any port matches).
 * GAUTH_E_INSECURE_URL otherwise (other schemes, user info in the URL),
 * GAUTH_E_INVALID_ARG for an unparsable URL or one without a host. Messages
 * show the URL as scheme://host[:port] only, never its user info, path or
 * query (they may hold a token), and say why it was refused. */
gauth_status gauth__url_check_transport(const char *url,
                                        const char *metadata_host,
                                        const char *metadata_ip,
                                        gauth_error *err);

/* As gauth__url_check_transport, and with aws_imds set, plain http to an
 * address of AWS's instance metadata service (gauth__host_is_aws_imds) is
 * allowed too: for the AWS source's metadata requests only. */
gauth_status gauth__url_check_transport_imds(const char *url,
                                             const char *metadata_host,
                                             const char *metadata_ip,
                                             int aws_imds, gauth_error *err);

/* s itself when a setting may be echoed in a message (short, printable, no
 * user info, query or fragment that could hide a secret), otherwise
 * "(not shown)". */
const char *gauth__echo_setting(const char *s);

#endif /* GAUTH_LIB_URL_H */
