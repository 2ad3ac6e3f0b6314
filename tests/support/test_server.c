/* Test support: a scripted HTTP(S) server on 127.0.0.1 over libmicrohttpd,
 * and raw TCP listeners that misbehave at the socket level. */
#include "test_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

/* A handler that waits (TS_HANG, delay_ms) never waits longer than this,
 * so that a test that forgets ts_stop cannot hang its process forever. */
#define TS_MAX_WAIT_MS 120000

static void die(const char *what) {
  fprintf(stderr, "test server: %s (errno %d)\n", what, errno);
  abort();
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) die("out of memory");
  return p;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

/* ---- the scripted server ------------------------------------------------- */

typedef struct route {
  char *path;
  ts_response *seq; /* deep copies */
  size_t n;
  size_t next; /* index of the reply to the next request */
  struct route *older;
} route;

typedef struct seen {
  char *path;
  unsigned int count;
  ts_request last;
  struct seen *next;
} seen;

struct ts_server {
  struct MHD_Daemon *daemon;
  unsigned short port;
  int tls;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* signalled when stopping */
  int stopping;
  route *routes; /* newest first; never freed before ts_stop, so a
                    handler may keep a pointer into one */
  seen *seen;
  unsigned int total;
  unsigned int connections;
};

/* Per-request state, created by the URI log callback (which sees the raw
 * request target, query included) and freed when the request completes. */
typedef struct req_state {
  char *uri;
  char *body;
  size_t len, cap;
  int started;
  char headers[sizeof(((ts_request *)0)->headers)];
  size_t headers_len;
} req_state;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  req_state *rs = calloc(1, sizeof(*rs));
  (void)cls;
  (void)c;
  if (rs == NULL) return NULL;
  rs->uri = strdup(uri);
  return rs;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  req_state *rs = *con_cls;
  (void)cls;
  (void)c;
  (void)toe;
  if (rs == NULL) return;
  free(rs->uri);
  free(rs->body);
  free(rs);
  *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  ts_server *s = cls;
  (void)c;
  (void)socket_context;
  if (toe != MHD_CONNECTION_NOTIFY_STARTED) return;
  pthread_mutex_lock(&s->mu);
  s->connections++;
  pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result add_header_line(void *cls, enum MHD_ValueKind kind,
                                       const char *key, const char *value) {
  req_state *rs = cls;
  size_t room = sizeof(rs->headers) - rs->headers_len;
  int n;
  (void)kind;
  n = snprintf(rs->headers + rs->headers_len, room, "%s: %s\n", key,
               value ? value : "");
  if (n < 0 || (size_t)n >= room) {
    rs->headers[rs->headers_len] = '\0'; /* drop a line that does not fit */
    return MHD_YES;
  }
  rs->headers_len += (size_t)n;
  return MHD_YES;
}

static void request_copy(ts_request *dst, const char *method, const char *uri,
                         const req_state *rs) {
  memset(dst, 0, sizeof(*dst));
  snprintf(dst->method, sizeof(dst->method), "%s", method);
  snprintf(dst->url, sizeof(dst->url), "%s", uri);
  dst->body = xmalloc(rs->len + 1);
  if (rs->len > 0) memcpy(dst->body, rs->body, rs->len);
  dst->body[rs->len] = '\0';
  dst->body_len = rs->len;
  memcpy(dst->headers, rs->headers, rs->headers_len);
  dst->headers[rs->headers_len] = '\0';
}

void ts_request_cleanup(ts_request *r) {
  if (r == NULL) return;
  free(r->body);
  r->body = NULL;
  r->body_len = 0;
}

/* Records the request and picks its reply, under the lock. NULL: the path
 * is not scripted. */
static const ts_response *record(ts_server *s, const char *path,
                                 const char *method, const req_state *rs) {
  seen *sn;
  route *r;
  const ts_response *resp = NULL;
  pthread_mutex_lock(&s->mu);
  s->total++;
  for (sn = s->seen; sn != NULL; sn = sn->next)
    if (strcmp(sn->path, path) == 0) break;
  if (sn == NULL) {
    sn = calloc(1, sizeof(*sn));
    if (sn == NULL) die("out of memory");
    sn->path = xstrdup(path);
    sn->next = s->seen;
    s->seen = sn;
  }
  sn->count++;
  ts_request_cleanup(&sn->last);
  request_copy(&sn->last, method, rs->uri ? rs->uri : path, rs);
  for (r = s->routes; r != NULL; r = r->older)
    if (strcmp(r->path, path) == 0) break;
  if (r != NULL && r->n > 0) {
    resp = &r->seq[r->next];
    if (r->next + 1 < r->n) r->next++;
  }
  pthread_mutex_unlock(&s->mu);
  return resp;
}

/* Waits up to ms (or until the server stops). Returns 1 when stopping. */
static int wait_or_stop(ts_server *s, unsigned int ms) {
  struct timespec until;
  int stopping;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&s->mu);
  while (!s->stopping) {
    if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) break;
  }
  stopping = s->stopping;
  pthread_mutex_unlock(&s->mu);
  return stopping;
}

typedef struct chunk_src {
  char *data;
  size_t len;
} chunk_src;

static ssize_t chunk_read(void *cls, uint64_t pos, char *buf, size_t max) {
  chunk_src *src = cls;
  size_t n;
  if (pos >= src->len) return MHD_CONTENT_READER_END_OF_STREAM;
  n = src->len - (size_t)pos;
  if (n > max) n = max;
  /* Small chunks: the client sees many chunks, as from a streaming server. */
  if (n > 1000) n = 1000;
  memcpy(buf, src->data + pos, n);
  return (ssize_t)n;
}

static void chunk_free(void *cls) {
  chunk_src *src = cls;
  free(src->data);
  free(src);
}

static enum MHD_Result send_reply(struct MHD_Connection *c,
                                  const ts_response *r) {
  struct MHD_Response *resp;
  enum MHD_Result ret;
  size_t len;
  char *data;
  size_t i;

  if (r->fill_bytes > 0) {
    len = r->fill_bytes;
    data = xmalloc(len);
    memset(data, 'x', len);
  } else {
    len = r->body_len;
    data = xmalloc(len);
    if (len > 0) memcpy(data, r->body, len);
  }
  if (r->chunked) {
    chunk_src *src = xmalloc(sizeof(*src));
    src->data = data;
    src->len = len;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, chunk_read,
                                             src, chunk_free);
    if (resp == NULL) chunk_free(src);
  } else {
    resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) free(data);
  }
  if (resp == NULL) return MHD_NO;
  for (i = 0; i < 8 && r->headers[i] != NULL; i++) {
    char line[1024];
    char *colon, *value;
    snprintf(line, sizeof(line), "%s", r->headers[i]);
    colon = strchr(line, ':');
    if (colon == NULL) continue;
    *colon = '\0';
    value = colon + 1;
    while (*value == ' ') value++;
    MHD_add_response_header(resp, line, value);
  }
  ret = MHD_queue_response(c, r->status ? (unsigned int)r->status : 200u, resp);
  MHD_destroy_response(resp);
  return ret;
}

static const ts_response not_found = {
    TS_REPLY,
    404,
    "{\"error\":{\"code\":404,\"message\":\"no route\","
    "\"status\":\"NOT_FOUND\"}}",
    0,
    {"Content-Type: application/json"},
    0,
    0,
    0};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  ts_server *s = cls;
  req_state *rs = *con_cls;
  const ts_response *r;
  ts_response fallback;
  (void)version;

  if (rs == NULL) return MHD_NO; /* out of memory in on_uri */
  if (!rs->started) {
    rs->started = 1;
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header_line, rs);
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (rs->len + *upload_size + 1 > rs->cap) {
      size_t cap = (rs->len + *upload_size + 1) * 2;
      char *grown = realloc(rs->body, cap);
      if (grown == NULL) return MHD_NO;
      rs->body = grown;
      rs->cap = cap;
    }
    memcpy(rs->body + rs->len, upload, *upload_size);
    rs->len += *upload_size;
    *upload_size = 0;
    return MHD_YES;
  }

  r = record(s, url, method, rs);
  if (r == NULL) {
    fallback = not_found;
    fallback.body_len = strlen(fallback.body);
    r = &fallback;
  }
  switch (r->kind) {
    case TS_DROP: return MHD_NO; /* MHD closes the connection without a reply */
    case TS_HANG: wait_or_stop(s, TS_MAX_WAIT_MS); return MHD_NO;
    case TS_REPLY: break;
  }
  if (r->delay_ms > 0 && wait_or_stop(s, r->delay_ms)) return MHD_NO;
  return send_reply(c, r);
}

static ts_server *start(const char *cert, const char *key) {
  ts_server *s = calloc(1, sizeof(*s));
  struct sockaddr_in addr;
  const union MHD_DaemonInfo *info;
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
                       MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;

  if (s == NULL) die("out of memory");
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (cert != NULL) {
    s->tls = 1;
    flags |= MHD_USE_TLS;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                 MHD_OPTION_HTTPS_MEM_CERT, cert,
                                 MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
  } else {
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
  }
  if (s->daemon == NULL) die("MHD_start_daemon failed");
  info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  if (info == NULL || info->port == 0) die("no bound port");
  s->port = info->port;
  return s;
}

ts_server *ts_start(void) { return start(NULL, NULL); }

int ts_tls_supported(void) {
  return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

ts_server *ts_start_tls(const char *tls_cert_pem, const char *tls_key_pem) {
  if (tls_cert_pem == NULL || tls_key_pem == NULL) return ts_start();
  if (!ts_tls_supported()) die("libmicrohttpd was built without TLS");
  return start(tls_cert_pem, tls_key_pem);
}

static void free_response(ts_response *r) {
  size_t i;
  free((char *)r->body);
  for (i = 0; i < 8 && r->headers[i] != NULL; i++) free((char *)r->headers[i]);
}

void ts_stop(ts_server *s) {
  route *r;
  seen *sn;
  if (s == NULL) return;
  /* Wake waiting handlers first: MHD_stop_daemon joins the connection
   * threads, and a handler blocked in TS_HANG would otherwise hold it up. */
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  MHD_stop_daemon(s->daemon);
  while ((r = s->routes) != NULL) {
    size_t i;
    s->routes = r->older;
    for (i = 0; i < r->n; i++) free_response(&r->seq[i]);
    free(r->seq);
    free(r->path);
    free(r);
  }
  while ((sn = s->seen) != NULL) {
    s->seen = sn->next;
    ts_request_cleanup(&sn->last);
    free(sn->path);
    free(sn);
  }
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

unsigned short ts_port(const ts_server *s) { return s->port; }

char *ts_url(const ts_server *s, const char *path, char *buf, size_t n) {
  snprintf(buf, n, "%s://127.0.0.1:%u%s", s->tls ? "https" : "http",
           (unsigned int)s->port, path ? path : "");
  return buf;
}

void ts_route(ts_server *s, const char *path, const ts_response *seq,
              size_t n) {
  route *r = xmalloc(sizeof(*r));
  size_t i, j;
  r->path = xstrdup(path);
  r->n = n;
  r->next = 0;
  r->seq = xmalloc(n * sizeof(*r->seq));
  for (i = 0; i < n; i++) {
    ts_response *d = &r->seq[i];
    *d = seq[i];
    d->body_len = seq[i].body == NULL ? 0
                  : seq[i].body_len   ? seq[i].body_len
                                      : strlen(seq[i].body);
    d->body = NULL;
    if (seq[i].body != NULL) {
      char *b = xmalloc(d->body_len + 1);
      memcpy(b, seq[i].body, d->body_len);
      b[d->body_len] = '\0';
      d->body = b;
    }
    for (j = 0; j < 8; j++) d->headers[j] = NULL;
    for (j = 0; j < 7 && seq[i].headers[j] != NULL; j++)
      d->headers[j] = xstrdup(seq[i].headers[j]);
  }
  pthread_mutex_lock(&s->mu);
  r->older = s->routes;
  s->routes = r;
  pthread_mutex_unlock(&s->mu);
}

unsigned int ts_count(ts_server *s, const char *path) {
  unsigned int n = 0;
  seen *sn;
  pthread_mutex_lock(&s->mu);
  if (path == NULL) {
    n = s->total;
  } else {
    for (sn = s->seen; sn != NULL; sn = sn->next)
      if (strcmp(sn->path, path) == 0) n = sn->count;
  }
  pthread_mutex_unlock(&s->mu);
  return n;
}

unsigned int ts_connections(ts_server *s) {
  unsigned int n;
  pthread_mutex_lock(&s->mu);
  n = s->connections;
  pthread_mutex_unlock(&s->mu);
  return n;
}

int ts_last_request(ts_server *s, const char *path, ts_request *out) {
  seen *sn;
  int found = 0;
  memset(out, 0, sizeof(*out));
  pthread_mutex_lock(&s->mu);
  for (sn = s->seen; sn != NULL; sn = sn->next) {
    if (strcmp(sn->path, path) != 0) continue;
    *out = sn->last;
    out->body = xmalloc(sn->last.body_len + 1);
    memcpy(out->body, sn->last.body, sn->last.body_len + 1);
    found = 1;
    break;
  }
  pthread_mutex_unlock(&s->mu);
  return found;
}

/* ---- raw listeners ------------------------------------------------------- */

struct ts_raw {
  int fd;
  unsigned short port;
  ts_raw_mode mode;
  pthread_t thread;
  int have_thread;
  int wake[2]; /* a byte on wake[1] stops the thread */
  atomic_uint accepted;
};

static int listen_loopback(unsigned short *port, int backlog) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) die("bind");
  if (backlog > 0 && listen(fd, backlog) != 0) die("listen");
  if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) die("getsockname");
  *port = ntohs(addr.sin_port);
  return fd;
}

/* Reads until the end of the request headers, EOF, or 2 s of silence. */
static void read_request(int fd) {
  char buf[4096];
  char tail[4] = {0};
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t n, i;
    if (poll(&p, 1, 2000) <= 0) return;
    n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;
    for (i = 0; i < n; i++) {
      memmove(tail, tail + 1, 3);
      tail[3] = buf[i];
      if (memcmp(tail, "\r\n\r\n", 4) == 0) return;
    }
  }
}

static void *raw_reset_main(void *arg) {
  ts_raw *r = arg;
  for (;;) {
    struct pollfd p[2] = {{r->fd, POLLIN, 0}, {r->wake[0], POLLIN, 0}};
    struct linger lg = {1, 0};
    int c;
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents != 0) break;
    c = accept(r->fd, NULL, NULL);
    if (c < 0) continue;
    atomic_fetch_add(&r->accepted, 1u);
    read_request(c);
    /* Linger on with a zero timeout: close() sends RST, not FIN. */
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(c);
  }
  return NULL;
}

ts_raw *ts_raw_start(ts_raw_mode mode) {
  ts_raw *r = calloc(1, sizeof(*r));
  if (r == NULL) die("out of memory");
  r->mode = mode;
  r->wake[0] = r->wake[1] = -1;
  atomic_init(&r->accepted, 0u);
  /* A silent listener's backlog completes the handshakes the kernel can;
   * the client then waits for an answer that never comes. */
  r->fd = listen_loopback(&r->port, 16);
  if (mode == TS_RAW_RESET) {
    if (pipe(r->wake) != 0) die("pipe");
    if (pthread_create(&r->thread, NULL, raw_reset_main, r) != 0)
      die("pthread_create");
    r->have_thread = 1;
  }
  return r;
}

unsigned short ts_raw_port(const ts_raw *r) { return r->port; }

unsigned int ts_raw_accepted(const ts_raw *r) {
  return atomic_load(&((ts_raw *)r)->accepted);
}

void ts_raw_stop(ts_raw *r) {
  if (r == NULL) return;
  if (r->have_thread) {
    char b = 1;
    if (write(r->wake[1], &b, 1) != 1) die("write");
    pthread_join(r->thread, NULL);
  }
  if (r->wake[0] >= 0) close(r->wake[0]);
  if (r->wake[1] >= 0) close(r->wake[1]);
  close(r->fd);
  free(r);
}

unsigned short ts_closed_port(void) {
  unsigned short port;
  /* Bound but never listening, then closed: nothing accepts on it. */
  int fd = listen_loopback(&port, 0);
  close(fd);
  return port;
}
