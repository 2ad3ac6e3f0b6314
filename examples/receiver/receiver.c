/* receiver: an HTTP service that authenticates the calls Google's services
 * make (Cloud Scheduler, Cloud Tasks, Pub/Sub push, IAP) with libgauth's
 * receiver (include/gauth/receiver.h, docs/receiving.md), on libmicrohttpd.
 *
 *   receiver --listen=127.0.0.1:0 --audience=AUD[,AUD] [--allow=EMAIL,...]
 *            [--allow-domain=D,...] [--iap-audience=A,...] [--token-cache=N]
 *            [--trust-cloud-run] [--max-body=BYTES] [--threads=N]
 *            [--realm=R] [--quiet] [--no-auth]
 *
 * Routes: any method on / (an ID token: Cloud Scheduler, Cloud Tasks, any
 * Google-signed caller), POST /pubsub (a Pub/Sub push: token and envelope),
 * /iap (an IAP assertion), GET /healthz (no authentication); / and /pubsub
 * are 404 without --audience, /iap without --iap-audience. A push body
 * over --max-body is answered 413 without being kept. The first line on stdout
 * is "listening http://HOST:PORT"; then one access-log line per request on
 * stderr (method, path, status, caller kind, email, reason, latency: never a
 * token). One receiver serves every thread of libmicrohttpd's pool; the
 * headers are read in place through a gauth_header_fn, never copied.
 * Exit status: 0 after SIGINT / SIGTERM, 1 a failure at start-up, 2 bad
 * usage. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>
#include <gauth/receiver.h>
#include <microhttpd.h>

#include "listen_addr.h"

static const char usage[] =
    "usage: receiver --audience=AUD[,AUD] [--listen=HOST:PORT]\n"
    "                [--allow=EMAIL[,EMAIL]] [--allow-domain=D[,D]]\n"
    "                [--iap-audience=A[,A]] [--token-cache=N]\n"
    "                [--trust-cloud-run] [--max-body=BYTES] [--threads=N]\n"
    "                [--realm=R] [--quiet] [--no-auth]\n"
    "\n"
    "Serves HTTP and accepts only the requests a Google-signed token\n"
    "authenticates (docs/receiving.md). Keys come from Google, or from the\n"
    "endpoint GAUTH_ENDPOINT names (gauth-emulator).\n"
    "\n"
    "  --listen=HOST:PORT    IPv4 address, or [IPv6], and port (default\n"
    "                        127.0.0.1:0; port 0 picks a free port). The\n"
    "                        first line on stdout is 'listening URL'\n"
    "  --audience=AUD,...    accepted token audiences (the URL callers use,\n"
    "                        or the job's / subscription's audience)\n"
    "  --allow=EMAIL,...     callers allowed (default: any Google-signed\n"
    "                        token for an audience)\n"
    "  --allow-domain=D,...  email domains allowed\n"
    "  --iap-audience=A,...  IAP audiences (/projects/N/apps/P or\n"
    "                        /projects/N/global/backendServices/ID); enables\n"
    "                        /iap\n"
    "  --token-cache=N       verified-token cache entries (0: off; default\n"
    "                        4096)\n"
    "  --trust-cloud-run     accept Cloud Run's SIGNATURE_REMOVED_BY_GOOGLE\n"
    "                        tokens on $PORT when $K_SERVICE is set\n"
    "  --max-body=BYTES      largest Pub/Sub push body (default 16 MiB)\n"
    "  --threads=N           worker threads (default: the number of CPUs)\n"
    "  --realm=R             the realm in WWW-Authenticate\n"
    "  --quiet               no access log\n"
    "  --no-auth             serve / WITHOUT authentication (a benchmark\n"
    "                        baseline only)\n"
    "\n"
    "Routes: / (any method: an ID token), POST /pubsub (a push\n"
    "subscription), /iap (an IAP assertion), GET /healthz (no auth).\n";

#define DEFAULT_MAX_BODY ((size_t)16 << 20)
#define CONNECTION_TIMEOUT_S 30u /* slowloris: an idle connection closes */
#define MAX_CONNECTIONS 10000u
#define RETRY_AFTER_S "10" /* 503: Google's keys could not be fetched */

typedef enum route {
  ROUTE_NOT_FOUND,
  ROUTE_HEALTHZ,
  ROUTE_BEARER,
  ROUTE_PUBSUB,
  ROUTE_IAP,
  ROUTE_NO_AUTH,
  ROUTE_BAD_METHOD
} route;

typedef struct config {
  const char *listen;
  char **audiences, **allow, **allow_domains, **iap_audiences;
  long token_cache;
  int trust_cloud_run, quiet, no_auth;
  size_t max_body;
  unsigned int threads;
  const char *realm;
} config;

typedef struct server {
  gauth_receiver *receiver; /* NULL with --no-auth */
  size_t max_body;
  unsigned int port;
  int quiet, iap, bearer; /* iap: --iap-audience; bearer: --audience */
} server;

/* One request's state, from its first call to its completion. */
typedef struct request_state {
  route route;
  struct timespec start;
  char *body;
  size_t len, cap;
  int answered;  /* a reply was queued before the body was read (413) */
  int too_large; /* the push body went over the limit: 413 at its end */
} request_state;

/* ---- command line ------------------------------------------------------- */

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "receiver: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'receiver --help')\n");
  return 2;
}

static void list_free(char **list) {
  if (list == NULL) return;
  for (char **p = list; *p; p++) free(*p);
  free(list);
}

/* Splits "a,b,c" into a NULL-terminated array (empty items are an error:
 * NULL). Appends to *list, which may hold items already (a repeated
 * option). 0 on success. */
static int list_append(char ***list, const char *csv) {
  size_t n = 0, add = 1;
  char **out;
  for (const char *p = csv; *p; p++) add += *p == ',';
  if (*list)
    while ((*list)[n]) n++;
  out = realloc(*list, (n + add + 1) * sizeof(*out));
  if (out == NULL) return -1;
  *list = out;
  out[n] = NULL;
  for (const char *p = csv;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0) return -1;
    out[n] = strndup(p, len);
    if (out[n] == NULL) return -1;
    out[++n] = NULL;
    if (comma == NULL) return 0;
    p = comma + 1;
  }
}

static int parse_size(const char *s, long long min, long long max,
                      long long *out) {
  char *end;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static unsigned int cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1u : n > 256 ? 256u : (unsigned int)n;
}

/* Parses argv into *c: 0, or the exit status (help: -1). */
static int parse_args(int argc, char **argv, config *c) {
  long long v;
  memset(c, 0, sizeof(*c));
  c->listen = "127.0.0.1:0";
  c->token_cache = -1;
  c->max_body = DEFAULT_MAX_BODY;
  c->threads = cpu_count();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    const char *val = eq ? eq + 1 : NULL;
    char ***list = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return -1;
    } else if (strcmp(a, "--trust-cloud-run") == 0) {
      c->trust_cloud_run = 1;
    } else if (strcmp(a, "--quiet") == 0) {
      c->quiet = 1;
    } else if (strcmp(a, "--no-auth") == 0) {
      c->no_auth = 1;
    } else if (val == NULL) {
      return usage_error("unknown argument %s", a);
    } else if (strncmp(a, "--listen=", 9) == 0) {
      c->listen = val;
    } else if (strncmp(a, "--audience=", 11) == 0) {
      list = &c->audiences;
    } else if (strncmp(a, "--allow=", 8) == 0) {
      list = &c->allow;
    } else if (strncmp(a, "--allow-domain=", 15) == 0) {
      list = &c->allow_domains;
    } else if (strncmp(a, "--iap-audience=", 15) == 0) {
      list = &c->iap_audiences;
    } else if (strncmp(a, "--realm=", 8) == 0) {
      c->realm = val;
    } else if (strncmp(a, "--token-cache=", 14) == 0) {
      if (parse_size(val, 0, 1 << 24, &v) != 0)
        return usage_error("%s: expected a number of entries", a);
      c->token_cache = (long)v;
    } else if (strncmp(a, "--max-body=", 11) == 0) {
      if (parse_size(val, 1, (long long)1 << 30, &v) != 0)
        return usage_error("%s: expected 1 to 1073741824 bytes", a);
      c->max_body = (size_t)v;
    } else if (strncmp(a, "--threads=", 10) == 0) {
      if (parse_size(val, 1, 256, &v) != 0)
        return usage_error("%s: expected 1 to 256 threads", a);
      c->threads = (unsigned int)v;
    } else {
      return usage_error("unknown argument %s", a);
    }
    if (list && list_append(list, val) != 0)
      return usage_error("%s: expected a comma-separated list of values", a);
  }
  if (!c->no_auth && c->audiences == NULL && c->iap_audiences == NULL)
    return usage_error("--audience (or --iap-audience) is required");
  return 0;
}

/* ---- listening ---------------------------------------------------------- */

/* A listening socket (port 0: a free one); its URL in url, its port in
 * *port. -1 when it cannot listen, -2 for a bad --listen value, with a
 * message on stderr. */
static int open_listener(const char *arg, char *url, size_t urlsize,
                         unsigned int *port) {
  struct sockaddr_storage ss;
  socklen_t sslen;
  char hostport[INET6_ADDRSTRLEN + 10];
  int fd;
  if (ex_parse_listen(arg, &ss, &sslen) != 0) {
    fprintf(stderr,
            "receiver: --listen=%s: expected IPV4:PORT or [IPV6]:PORT, e.g. "
            "127.0.0.1:8080 (PORT 0 picks a free port)\n",
            arg);
    return -2;
  }
  fd = ex_listen(&ss, sslen, hostport, sizeof(hostport), port);
  if (fd < 0) {
    fprintf(stderr, "receiver: cannot listen on %s: %s\n", arg,
            strerror(errno));
    return -1;
  }
  snprintf(url, urlsize, "http://%s", hostport);
  return fd;
}

/* ---- answers ------------------------------------------------------------ */

static double elapsed_ms(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) * 1e3 +
         (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* Copies src into dst (size bytes) up to `stop` or its end, with every
 * byte that is not a printable non-space ASCII character replaced by '?',
 * so that nothing a caller sends can forge or split a log line; "-" for
 * NULL or empty. */
static const char *log_field(char *dst, size_t size, const char *src,
                             char stop) {
  size_t i;
  for (i = 0; src && src[i] && src[i] != stop && i < size - 1; i++)
    dst[i] = isgraph((unsigned char)src[i]) ? src[i] : '?';
  dst[i] = '\0';
  return i ? dst : "-";
}

/* The access-log line: method, path (without the query, where a token
 * could be), status, caller kind, email, reason, latency. Never a token:
 * the email is the verified token's, the reason a fixed word. */
static void access_log(const server *s, const char *method, const char *url,
                       int status, const char *kind, const char *email,
                       const char *reason, const request_state *st) {
  char m[16], p[200], e[200];
  if (s->quiet) return;
  fprintf(stderr, "receiver: %s %s %d %s %s %s %.3fms\n",
          log_field(m, sizeof(m), method, '\0'),
          log_field(p, sizeof(p), url, '?'), status, kind && *kind ? kind : "-",
          log_field(e, sizeof(e), email, '\0'),
          reason && *reason ? reason : "-", elapsed_ms(&st->start));
}

/* Queues status and the JSON body (consumed), with up to two more headers
 * (a NULL name: none). */
static enum MHD_Result send_json(struct MHD_Connection *conn, int status,
                                 cJSON *body, const char *hname,
                                 const char *hvalue, const char *hname2,
                                 const char *hvalue2) {
  char *text = body ? cJSON_PrintUnformatted(body) : NULL;
  struct MHD_Response *r;
  enum MHD_Result rc;
  size_t len;
  cJSON_Delete(body);
  if (text == NULL) text = strdup("{}");
  if (text == NULL) return MHD_NO;
  len = strlen(text);
  r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
  if (r == NULL) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "application/json; charset=UTF-8");
  if (hname) MHD_add_response_header(r, hname, hvalue);
  if (hname2) MHD_add_response_header(r, hname2, hvalue2);
  rc = MHD_queue_response(conn, (unsigned int)status, r);
  MHD_destroy_response(r);
  return rc;
}

/* {"error":{"code":N,"reason":R,"message":M}}. */
static cJSON *error_body(int status, const char *reason, const char *message) {
  cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
  cJSON_AddNumberToObject(e, "code", status);
  cJSON_AddStringToObject(e, "reason", reason);
  cJSON_AddStringToObject(e, "message", message);
  return o;
}

static enum MHD_Result answer_error(const server *s, struct MHD_Connection *c,
                                    const char *method, const char *url,
                                    const request_state *st, int status,
                                    const char *reason, const char *message) {
  access_log(s, method, url, status, NULL, NULL, reason, st);
  return send_json(c, status, error_body(status, reason, message), NULL, NULL,
                   NULL, NULL);
}

/* A rejection by the library: its status, its challenge, its reason. */
static enum MHD_Result answer_rejection(const server *s,
                                        struct MHD_Connection *c,
                                        const char *method, const char *url,
                                        const request_state *st,
                                        gauth_receive_mode mode,
                                        const gauth_error *err) {
  char www[512];
  const char *challenge =
      gauth_receiver_challenge(s->receiver, err, www, sizeof(www));
  int status = err->http_status >= 400 && err->http_status <= 599
                   ? err->http_status
                   : 500;
  const char *reason = err->reason[0]  ? err->reason
                       : status >= 500 ? "internal"
                                       : "rejected";
  const char *kind = mode == GAUTH_RECEIVE_PUBSUB_PUSH ? "pubsub_push"
                     : mode == GAUTH_RECEIVE_IAP       ? "iap"
                                                       : NULL;
  access_log(s, method, url, status, kind, NULL, reason, st);
  return send_json(
      c, status, error_body(status, reason, err->message),
      challenge ? MHD_HTTP_HEADER_WWW_AUTHENTICATE : NULL, challenge,
      status == 503 ? MHD_HTTP_HEADER_RETRY_AFTER : NULL, RETRY_AFTER_S);
}

/* 1 when the n bytes are UTF-8 without control characters other than tab,
 * CR and LF: text worth showing as such. */
static int printable_utf8(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned char b = s[i];
    size_t k;
    uint32_t cp;
    if (b < 0x80) {
      if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f)
        return 0;
      i++;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      k = 1;
      cp = b & 0x1fu;
    } else if (b >= 0xe0 && b <= 0xef) {
      k = 2;
      cp = b & 0x0fu;
    } else if (b >= 0xf0 && b <= 0xf4) {
      k = 3;
      cp = b & 0x07u;
    } else {
      return 0;
    }
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3fu);
    }
    if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return 0;
    i += k + 1;
  }
  return 1;
}

static cJSON *message_json(const gauth_caller *c) {
  cJSON *m = cJSON_CreateObject(), *attrs;
  size_t len = 0, n = gauth_caller_pubsub_attribute_count(c);
  const unsigned char *data = gauth_caller_pubsub_data(c, &len);
  const char *v;
  cJSON_AddStringToObject(m, "id", gauth_caller_pubsub_message_id(c));
  cJSON_AddStringToObject(m, "publish_time",
                          gauth_caller_pubsub_publish_time(c));
  cJSON_AddStringToObject(m, "subscription",
                          gauth_caller_pubsub_subscription(c));
  if ((v = gauth_caller_pubsub_ordering_key(c)) != NULL && *v)
    cJSON_AddStringToObject(m, "ordering_key", v);
  if (gauth_caller_pubsub_delivery_attempt(c) > 0)
    cJSON_AddNumberToObject(m, "delivery_attempt",
                            gauth_caller_pubsub_delivery_attempt(c));
  attrs = cJSON_AddObjectToObject(m, "attributes");
  for (size_t i = 0; i < n; i++) {
    const char *key = gauth_caller_pubsub_attribute_at(c, i, &v);
    if (key) cJSON_AddStringToObject(attrs, key, v ? v : "");
  }
  cJSON_AddNumberToObject(m, "data_bytes", (double)len);
  if (data && printable_utf8(data, len))
    cJSON_AddStringToObject(m, "data", (const char *)data);
  return m;
}

static enum MHD_Result answer_caller(const server *s, struct MHD_Connection *c,
                                     const char *method, const char *url,
                                     const request_state *st,
                                     const gauth_caller *caller) {
  cJSON *o = cJSON_CreateObject();
  const char *kind = gauth_caller_kind_name(gauth_caller_get_kind(caller));
  const char *email = gauth_caller_email(caller);
  cJSON_AddStringToObject(o, "kind", kind);
  if (email)
    cJSON_AddStringToObject(o, "email", email);
  else
    cJSON_AddNullToObject(o, "email");
  cJSON_AddStringToObject(o, "subject", gauth_caller_subject(caller));
  cJSON_AddStringToObject(o, "audience", gauth_caller_audience(caller));
  cJSON_AddBoolToObject(o, "signature_verified",
                        gauth_caller_signature_verified(caller));
  if (gauth_caller_get_kind(caller) == GAUTH_CALLER_PUBSUB_PUSH)
    cJSON_AddItemToObject(o, "message", message_json(caller));
  access_log(s, method, url, 200, kind, email, NULL, st);
  return send_json(c, 200, o, NULL, NULL, NULL, NULL);
}

/* ---- requests ----------------------------------------------------------- */

/* The library asks for headers by lower-case name; libmicrohttpd's lookup
 * is case-insensitive and returns a pointer into its own buffer: nothing
 * is copied. */
static const char *header_lookup(void *userdata, const char *name,
                                 size_t *len) {
  const char *value = NULL;
  size_t n = 0;
  if (MHD_lookup_connection_value_n(userdata, MHD_HEADER_KIND, name,
                                    strlen(name), &value, &n) != MHD_YES)
    return NULL;
  *len = n;
  return value;
}

static route route_of(const server *s, const char *url, const char *method) {
  int post = strcmp(method, "POST") == 0;
  if (strcmp(url, "/healthz") == 0)
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0
               ? ROUTE_HEALTHZ
               : ROUTE_BAD_METHOD;
  if (s->receiver == NULL)
    return strcmp(url, "/") == 0 ? ROUTE_NO_AUTH : ROUTE_NOT_FOUND;
  /* A route whose mode the receiver was not configured for is not served
   * (an IAP-only receiver has no ID-token audience). */
  if (strcmp(url, "/") == 0) return s->bearer ? ROUTE_BEARER : ROUTE_NOT_FOUND;
  if (strcmp(url, "/pubsub") == 0)
    return !s->bearer ? ROUTE_NOT_FOUND
           : post     ? ROUTE_PUBSUB
                      : ROUTE_BAD_METHOD;
  if (strcmp(url, "/iap") == 0) return s->iap ? ROUTE_IAP : ROUTE_NOT_FOUND;
  return ROUTE_NOT_FOUND;
}

static enum MHD_Result verify_and_answer(const server *s,
                                         struct MHD_Connection *c,
                                         const char *method, const char *url,
                                         const request_state *st,
                                         gauth_receive_mode mode) {
  gauth_request req = GAUTH_REQUEST_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_caller *caller = NULL;
  enum MHD_Result rc;
  req.header = header_lookup;
  req.header_userdata = c;
  req.body = st->body ? st->body : "";
  req.body_len = st->len;
  /* Every connection came through the one listening socket: its port is
   * the local port (what trust_cloud_run compares with $PORT). */
  req.local_port = s->port;
  if (gauth_receiver_verify(s->receiver, &req, mode, &caller, &err) != GAUTH_OK)
    return answer_rejection(s, c, method, url, st, mode, &err);
  rc = answer_caller(s, c, method, url, st, caller);
  gauth_caller_free(caller);
  return rc;
}

static enum MHD_Result handle(const server *s, struct MHD_Connection *c,
                              const char *method, const char *url,
                              request_state *st) {
  switch (st->route) {
    case ROUTE_HEALTHZ: {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "status", "ok");
      access_log(s, method, url, 200, NULL, NULL, NULL, st);
      return send_json(c, 200, o, NULL, NULL, NULL, NULL);
    }
    case ROUTE_NO_AUTH: {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "kind", "none");
      cJSON_AddBoolToObject(o, "signature_verified", 0);
      access_log(s, method, url, 200, "none", NULL, "no_auth", st);
      return send_json(c, 200, o, NULL, NULL, NULL, NULL);
    }
    case ROUTE_BEARER:
      return verify_and_answer(s, c, method, url, st, GAUTH_RECEIVE_BEARER);
    case ROUTE_PUBSUB:
      return verify_and_answer(s, c, method, url, st,
                               GAUTH_RECEIVE_PUBSUB_PUSH);
    case ROUTE_IAP:
      return verify_and_answer(s, c, method, url, st, GAUTH_RECEIVE_IAP);
    case ROUTE_BAD_METHOD:
      return answer_error(s, c, method, url, st, 405, "method_not_allowed",
                          "method not allowed on this path");
    case ROUTE_NOT_FOUND: break;
  }
  return answer_error(s, c, method, url, st, 404, "not_found",
                      "no such path (routes: /, /pubsub, /iap, /healthz)");
}

static enum MHD_Result too_large(const server *s, struct MHD_Connection *c,
                                 const char *method, const char *url,
                                 request_state *st) {
  char msg[128];
  snprintf(msg, sizeof(msg), "the request body is over %zu bytes", s->max_body);
  st->answered = 1;
  return answer_error(s, c, method, url, st, 413, GAUTH_REASON_BODY_TOO_LARGE,
                      msg);
}

/* Keeps a chunk of a push body. 0; -1 when the body goes over the limit;
 * -2 when memory ran out. */
static int keep_body(const server *s, request_state *st, const char *data,
                     size_t n) {
  if (n > s->max_body - st->len) return -1;
  if (st->len + n + 1 > st->cap) {
    size_t cap = st->cap ? st->cap : 4096;
    char *nb;
    while (cap < st->len + n + 1) cap *= 2;
    nb = realloc(st->body, cap);
    if (nb == NULL) return -2;
    st->body = nb;
    st->cap = cap;
  }
  memcpy(st->body + st->len, data, n);
  st->len += n;
  st->body[st->len] = '\0';
  return 0;
}

/* The first call for a request: its state, and a 413 at once when the
 * declared length of a push body is over the limit (libmicrohttpd then
 * neither reads the body nor sends 100 Continue, and closes the
 * connection). */
static enum MHD_Result on_first_call(const server *s, struct MHD_Connection *c,
                                     const char *url, const char *method,
                                     void **con_cls) {
  request_state *st = calloc(1, sizeof(*st));
  const char *cl;
  if (st == NULL) return MHD_NO;
  clock_gettime(CLOCK_MONOTONIC, &st->start);
  st->route = route_of(s, url, method);
  *con_cls = st;
  cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                   MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (st->route == ROUTE_PUBSUB && cl != NULL) {
    char *end;
    unsigned long long n;
    errno = 0;
    n = strtoull(cl, &end, 10);
    if (errno == 0 && end != cl && n > s->max_body)
      return too_large(s, c, method, url, st);
  }
  return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  const server *s = cls;
  request_state *st = *con_cls;
  (void)version;
  if (st == NULL) return on_first_call(s, c, url, method, con_cls);
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    /* Bodies other than a push's are read and dropped; so is the rest of
     * a push body over the limit (libmicrohttpd 0.9 takes no reply in the
     * middle of a body): its 413 comes at the end, nothing more kept. */
    if (st->answered || st->too_large || st->route != ROUTE_PUBSUB)
      return MHD_YES;
    switch (keep_body(s, st, upload_data, n)) {
      case 0: return MHD_YES;
      case -1: /* over the limit: drop what was kept, keep nothing more */
        st->too_large = 1;
        free(st->body);
        st->body = NULL;
        st->len = st->cap = 0;
        return MHD_YES;
      default: return MHD_NO; /* out of memory: close the connection */
    }
  }
  if (st->answered) return MHD_YES;
  if (st->too_large) return too_large(s, c, method, url, st);
  return handle(s, c, method, url, st);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  request_state *st = *con_cls;
  (void)cls;
  (void)c;
  (void)toe;
  if (st == NULL) return;
  free(st->body);
  free(st);
  *con_cls = NULL;
}

/* ---- start-up and shutdown ---------------------------------------------- */

static unsigned int connection_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
      rl.rlim_cur > MAX_CONNECTIONS + 64)
    return MAX_CONNECTIONS;
  return rl.rlim_cur > 128 ? (unsigned int)rl.rlim_cur - 64 : 64;
}

/* libmicrohttpd's memory per connection bounds a request's headers (431
 * beyond) and is zeroed after every request: 32 KiB, its default, rather
 * than more, since the zeroing is paid per request. */
static struct MHD_Daemon *start_daemon(server *s, int fd,
                                       unsigned int threads) {
  return MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
      NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED,
      on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned int)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
      connection_limit(), MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
      MHD_OPTION_END);
}

static int make_receiver(const config *cfg, gauth_receiver **out) {
  gauth_receiver_options ro = GAUTH_RECEIVER_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  ro.audiences = (const char *const *)cfg->audiences;
  ro.allowed_emails = (const char *const *)cfg->allow;
  ro.allowed_domains = (const char *const *)cfg->allow_domains;
  ro.iap_audiences = (const char *const *)cfg->iap_audiences;
  ro.trust_cloud_run = cfg->trust_cloud_run;
  ro.max_body_bytes = cfg->max_body;
  ro.token_cache_entries = cfg->token_cache;
  ro.realm = cfg->realm;
  if (gauth_receiver_new(out, &ro, &err) != GAUTH_OK) {
    fprintf(stderr, "receiver: %s\n", err.message);
    return err.code == GAUTH_E_INVALID_ARG ? 2 : 1;
  }
  /* The keys now, so that the first request does not wait for them and a
   * wrong endpoint shows at start-up. Without them the receiver still
   * starts and answers 503 until they come, as a service must when
   * Google's key endpoints are briefly out of reach at its start. */
  if (gauth_receiver_refresh_keys(*out, &err) != GAUTH_OK)
    fprintf(stderr, "receiver: warning: cannot fetch the keys yet: %s\n",
            err.message);
  return 0;
}

static void config_free(config *c) {
  list_free(c->audiences);
  list_free(c->allow);
  list_free(c->allow_domains);
  list_free(c->iap_audiences);
}

/* Serves until SIGINT / SIGTERM. */
static int serve(server *s, int fd, unsigned int threads, const char *url) {
  sigset_t set;
  int sig = 0;
  struct MHD_Daemon *d = start_daemon(s, fd, threads);
  if (d == NULL) {
    fprintf(stderr, "receiver: cannot start the HTTP server\n");
    close(fd);
    return 1;
  }
  printf("listening %s\n", url);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "receiver: cannot write to stdout\n");
    MHD_stop_daemon(d); /* closes fd too */
    return 1;
  }
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  while (sigwait(&set, &sig) != 0 || (sig != SIGINT && sig != SIGTERM)) {
  }
  fprintf(stderr, "receiver: %s, stopping\n",
          sig == SIGINT ? "SIGINT" : "SIGTERM");
  MHD_stop_daemon(d); /* closes the listening socket too */
  return 0;
}

int main(int argc, char **argv) {
  config cfg;
  server s;
  sigset_t set;
  char url[128];
  int rc, fd;
  gauth_error err = GAUTH_ERROR_INIT;

  rc = parse_args(argc, argv, &cfg);
  if (rc != 0) {
    config_free(&cfg);
    return rc < 0 ? 0 : rc;
  }
  /* Block the stop signals before any thread exists: libmicrohttpd's
   * threads inherit the mask, and this thread takes them with sigwait. */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  memset(&s, 0, sizeof(s));
  s.max_body = cfg.max_body;
  s.quiet = cfg.quiet;
  s.iap = cfg.iap_audiences != NULL;
  s.bearer = cfg.audiences != NULL;
  if (gauth_global_init(&err) != GAUTH_OK) {
    fprintf(stderr, "receiver: %s\n", err.message);
    config_free(&cfg);
    return 1;
  }
  fd = open_listener(cfg.listen, url, sizeof(url), &s.port);
  rc = fd == -2 ? 2 : fd < 0 ? 1 : 0;
  if (rc == 0 && cfg.no_auth)
    fprintf(stderr,
            "receiver: WARNING: --no-auth: / answers every request WITHOUT "
            "authentication (a benchmark baseline, never a service)\n");
  else if (rc == 0)
    rc = make_receiver(&cfg, &s.receiver);
  if (rc == 0)
    rc = serve(&s, fd, cfg.threads, url);
  else if (fd >= 0)
    close(fd);
  gauth_receiver_free(s.receiver);
  config_free(&cfg);
  gauth_global_cleanup();
  return rc;
}
