/* A listening address given on a command line, for the example servers
 * (gauth metadata-server, receiver): HOST:PORT or [IPV6]:PORT. */
#ifndef GAUTH_EXAMPLES_LISTEN_ADDR_H
#define GAUTH_EXAMPLES_LISTEN_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Parses s into *ss and *sslen: an IPv4 address or a bracketed IPv6
 * address, a colon and a port of 0..65535 in decimal ("localhost" is
 * 127.0.0.1; no other name is resolved). 0 on success, -1 otherwise. */
int ex_parse_listen(const char *s, struct sockaddr_storage *ss,
                    socklen_t *sslen);

/* A TCP socket bound to *ss (port 0: a free one) and listening, with
 * SO_REUSEADDR and close-on-exec; the bound address as "HOST:PORT" or
 * "[IPV6]:PORT" in hostport and its port in *port. -1 with errno set
 * when it cannot listen. */
int ex_listen(const struct sockaddr_storage *ss, socklen_t sslen,
              char *hostport, size_t size, unsigned int *port);

#endif /* GAUTH_EXAMPLES_LISTEN_ADDR_H */
