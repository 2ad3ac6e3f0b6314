/* See listen_addr.h. */
#include "listen_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ex_parse_listen(const char *s, struct sockaddr_storage *ss,
                    socklen_t *sslen) {
  char host[64];
  const char *colon = strrchr(s, ':'), *h = s;
  size_t n;
  char *end;
  unsigned long port;
  if (colon == NULL || !isdigit((unsigned char)colon[1])) return -1;
  errno = 0;
  port = strtoul(colon + 1, &end, 10);
  if (errno != 0 || *end != '\0' || port > 65535) return -1;
  n = (size_t)(colon - s);
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
    h = s + 1;
    n -= 2;
  }
  if (n == 0 || n >= sizeof(host)) return -1;
  memcpy(host, h, n);
  host[n] = '\0';
  memset(ss, 0, sizeof(*ss));
  if (strcmp(host, "localhost") == 0) snprintf(host, sizeof(host), "127.0.0.1");
  if (h != s) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    *sslen = sizeof(*in6);
    return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -1;
  } else {
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    *sslen = sizeof(*in);
    return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -1;
  }
}

int ex_listen(const struct sockaddr_storage *want, socklen_t len,
              char *hostport, size_t size, unsigned int *port) {
  struct sockaddr_storage ss = *want;
  socklen_t sslen = len;
  char host[INET6_ADDRSTRLEN];
  int one = 1, saved;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 1024) != 0 ||
      getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
    saved = errno;
    if (fd >= 0) close(fd);
    errno = saved;
    return -1;
  }
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    *port = ntohs(in6->sin6_port);
    snprintf(hostport, size, "[%s]:%u", host, *port);
  } else {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    *port = ntohs(in->sin_port);
    snprintf(hostport, size, "%s:%u", host, *port);
  }
  return fd;
}
