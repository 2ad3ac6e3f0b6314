/* gauth-emulator: the HTTP server. libmicrohttpd with one thread per
 * connection (so a delayed reply holds up only its own client), body
 * collection with a size cap, fault injection before dispatch, dispatch to
 * the routes of its front end (the Google APIs: the control API and the
 * route files; Cloud Run: the services), and one log line per request. */
#include "emulator.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#define EMU_MAX_BODY (1u << 20)  /* larger request bodies get 413 */
#define EMU_MAX_DELAY_MS 600000u /* a delay fault never waits longer */
#define EMU_OVERSIZED_DEFAULT ((size_t)(2u << 20) + 1)
#define EMU_OVERSIZED_MAX ((size_t)64 << 20)
/* Connections beyond the metadata waiters (see connection_limit). */
#define EMU_SPARE_CONNECTIONS 512u
/* Each connection thread's stack: glibc's default (8 MiB) times a thousand
 * waiters is 8 GiB of address space; handlers need far less (the deepest
 * is cJSON's parser, bounded by its nesting limit, and RSA signing). */
#define EMU_THREAD_STACK (1024u * 1024u)

struct emu_server {
  emu *e;
  struct MHD_Daemon *daemon;
  const emu_route_fn *routes; /* tried in order; then a 404 */
  size_t nroutes;
  /* Requests begun and not yet completed (their reply sent): at shutdown
   * the woken waits are given the time to send their replies. */
  pthread_mutex_t mu;
  pthread_cond_t idle;
  unsigned long inflight;
};

/* How long a stop waits for the replies of woken requests, ms. */
#define EMU_STOP_GRACE_MS 5000

typedef struct conn_state {
  char *body;
  size_t len, cap;
  int too_large;
} conn_state;

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) {
    fprintf(stderr, "gauth-emulator: out of memory\n");
    abort();
  }
  return p;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

/* ---- requests ------------------------------------------------------------ */

const char *emu_req_header(const emu_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *emu_req_query(const emu_request *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes one form component (+ is a space, %XX a byte). */
static char *form_decode(const char *s, size_t n) {
  char *out = xmalloc(n + 1), *o = out;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '+') {
      *o++ = ' ';
    } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
               hexval(s[i + 2]) >= 0) {
      *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

char *emu_req_form(const emu_request *req, const char *name) {
  const char *ct = emu_req_header(req, "Content-Type");
  static const char form[] = "application/x-www-form-urlencoded";
  const char *p = req->body, *end = req->body + req->body_len;
  if (ct == NULL) return NULL;
  ct += strspn(ct, " \t");
  if (strncasecmp(ct, form, sizeof(form) - 1) != 0) return NULL;
  if (ct[sizeof(form) - 1] != '\0' && ct[sizeof(form) - 1] != ';' &&
      ct[sizeof(form) - 1] != ' ')
    return NULL;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(stop - p));
    const char *nend = eq ? eq : stop;
    char *key = form_decode(p, (size_t)(nend - p));
    int match = strcmp(key, name) == 0;
    free(key);
    if (match)
      return eq ? form_decode(eq + 1, (size_t)(stop - eq - 1)) : xstrdup("");
    p = stop + (amp ? 1 : 0);
  }
  return NULL;
}

cJSON *emu_req_json(const emu_request *req) {
  cJSON *j = cJSON_ParseWithLength(req->body, req->body_len);
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    return NULL;
  }
  return j;
}

int emu_req_is_loopback(const emu_request *req) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const struct sockaddr *sa;
  if (ci == NULL || ci->client_addr == NULL) return 0;
  sa = ci->client_addr;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 =
        (const struct sockaddr_in6 *)(const void *)sa;
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  return 0;
}

/* ---- responses ----------------------------------------------------------- */

static void reply_set(emu_response *r, int status, char *body, size_t len,
                      const char *content_type) {
  free(r->body);
  r->status = status;
  r->body = body;
  r->body_len = len;
  r->content_type = content_type;
}

void emu_reply_json(emu_response *r, int status, cJSON *body) {
  char *text;
  if (body == NULL) body = cJSON_CreateObject();
  text = cJSON_PrintUnformatted(body);
  cJSON_Delete(body);
  if (text == NULL) text = xstrdup("{}");
  reply_set(r, status, text, strlen(text), "application/json; charset=UTF-8");
}

void emu_reply_text(emu_response *r, int status, const char *content_type,
                    const char *text) {
  reply_set(r, status, xstrdup(text), strlen(text), content_type);
}

void emu_reply_header(emu_response *r, const char *name, const char *value) {
  if (r->header_count >= EMU_MAX_HEADERS) return;
  r->header_names[r->header_count] = name;
  r->header_values[r->header_count] = xstrdup(value);
  r->header_count++;
}

static void response_cleanup(emu_response *r) {
  free(r->body);
  for (size_t i = 0; i < r->header_count; i++) free(r->header_values[i]);
  memset(r, 0, sizeof(*r));
}

/* ---- truncated replies --------------------------------------------------- */

typedef struct trunc_body {
  char *data;
  size_t sent, cut;
} trunc_body;

/* Sends the first half of the body, then fails the stream: the client saw
 * a Content-Length it will never get, as when a connection drops. */
static ssize_t trunc_read(void *cls, uint64_t pos, char *buf, size_t max) {
  trunc_body *t = cls;
  size_t n;
  (void)pos;
  if (t->sent >= t->cut) return MHD_CONTENT_READER_END_WITH_ERROR;
  n = t->cut - t->sent;
  if (n > max) n = max;
  memcpy(buf, t->data + t->sent, n);
  t->sent += n;
  return (ssize_t)n;
}

static void trunc_free(void *cls) {
  trunc_body *t = cls;
  free(t->data);
  free(t);
}

/* ---- dispatch ------------------------------------------------------------ */

static const emu_route_fn api_routes[] = {
    emu_route_control,   emu_route_metadata,  emu_route_oauth,
    emu_route_iam,       emu_route_run,       emu_route_sts,
    emu_route_scheduler, emu_route_resources, emu_route_iap,
    emu_route_aws_imds};
/* Cloud Run's front end serves services, not Google's APIs (nor the
 * control API): a service's host is not an API host. */
static const emu_route_fn run_routes[] = {emu_route_run_service};

static void dispatch(const emu_server *s, const emu_request *req,
                     emu_response *resp) {
  for (size_t i = 0; i < s->nroutes; i++) {
    if (s->routes[i](s->e, req, resp)) {
      if (resp->status == 0)
        emu_reply_google_error(resp, 500, "INTERNAL",
                               "route answered without a status");
      return;
    }
  }
  emu_reply_google_error(resp, 404, "NOT_FOUND",
                         "The requested URL %.300s was not found on this "
                         "server.",
                         req->path);
}

/* A fault's canned reply; 0 when the fault kind has none. */
static int fault_reply(const emu_fault *f, emu_response *resp) {
  switch (f->kind) {
    case EMU_FAULT_STATUS: {
      int code = f->status ? f->status : 503;
      /* The header first: setting the body leaves the headers alone. */
      if (f->retry_after[0])
        emu_reply_header(resp, "Retry-After", f->retry_after);
      if (f->body[0])
        emu_reply_text(resp, code, "application/json; charset=UTF-8", f->body);
      else
        emu_reply_google_error(resp, code, emu_google_status(code),
                               "injected fault");
      return 1;
    }
    case EMU_FAULT_INVALID_JSON:
      emu_reply_text(resp, f->status ? f->status : 200,
                     "application/json; charset=UTF-8",
                     f->body[0] ? f->body : "{\"access_token\": \"ya29.");
      return 1;
    case EMU_FAULT_OVERSIZED: {
      size_t n = f->bytes ? f->bytes : EMU_OVERSIZED_DEFAULT;
      char *b;
      if (n > EMU_OVERSIZED_MAX) n = EMU_OVERSIZED_MAX;
      if (n < 16) n = 16;
      /* Valid JSON, only too big: {"padding":"xxx...x"} */
      b = xmalloc(n + 1);
      memcpy(b, "{\"padding\":\"", 12);
      memset(b + 12, 'x', n - 14);
      memcpy(b + n - 2, "\"}", 2);
      b[n] = '\0';
      free(resp->body);
      resp->status = f->status ? f->status : 200;
      resp->body = b;
      resp->body_len = n;
      resp->content_type = "application/json; charset=UTF-8";
      return 1;
    }
    case EMU_FAULT_DELAY:
    case EMU_FAULT_RESET:
    case EMU_FAULT_TRUNCATE: return 0;
  }
  return 0;
}

/* Writes the request's log line; control characters of the path are
 * replaced so that a request cannot forge lines. */
static void log_line(const char *method, const char *path, int status,
                     const char *principal, const char *note) {
  char p[300];
  size_t i;
  for (i = 0; i < sizeof(p) - 1 && path[i]; i++)
    p[i] = isprint((unsigned char)path[i]) ? path[i] : '?';
  p[i] = '\0';
  fprintf(stderr, "gauth-emulator: %s %s %d %s%s\n", method, p, status,
          principal[0] ? principal : "-", note);
}

/* Formats t as an RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"),
 * independent of the locale. */
static void imf_fixdate(int64_t t, char out[64]) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t tt = (time_t)t;
  struct tm tm;
  if (gmtime_r(&tt, &tm) == NULL) memset(&tm, 0, sizeof(tm));
  snprintf(out, 64, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
           tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

static enum MHD_Result send_response(emu *e, struct MHD_Connection *c,
                                     emu_response *resp, int truncate) {
  struct MHD_Response *r;
  enum MHD_Result rc;
  char date[64];
  if (truncate) {
    trunc_body *t = xmalloc(sizeof(*t));
    t->data = resp->body;
    t->sent = 0;
    t->cut = resp->body_len / 2;
    resp->body = NULL;
    r = MHD_create_response_from_callback(resp->body_len, 4096, trunc_read, t,
                                          trunc_free);
  } else {
    r = MHD_create_response_from_buffer(resp->body_len, resp->body,
                                        MHD_RESPMEM_MUST_FREE);
    if (r != NULL) resp->body = NULL;
  }
  if (r == NULL) return MHD_NO;
  MHD_add_response_header(
      r, "Content-Type",
      resp->content_type ? resp->content_type : "application/json");
  for (size_t i = 0; i < resp->header_count; i++)
    MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]);
  /* The daemon's own Date (the system clock) is suppressed: the world's
   * clock dates every reply, so that a moved clock shows as skew. */
  imf_fixdate(emu_now(e), date);
  MHD_add_response_header(r, MHD_HTTP_HEADER_DATE, date);
  rc = MHD_queue_response(c, (unsigned int)resp->status, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result handle(const emu_server *s, struct MHD_Connection *c,
                              const char *url, const char *method,
                              conn_state *st) {
  emu *e = s->e;
  emu_request req;
  emu_response resp;
  emu_fault f;
  int faulted = 0, truncate = 0;
  enum MHD_Result rc;
  const char *note = "";

  req.method = method;
  req.path = url;
  req.body = st->body ? st->body : "";
  req.body_len = st->len;
  req.conn = c;
  memset(&resp, 0, sizeof(resp));

  /* The control API is never faulted: tests must always reach it. */
  if (strncmp(url, "/emulator/", 10) != 0 && emu_fault_take(e, url, &f)) {
    faulted = 1;
    if (f.delay_ms)
      emu_sleep_ms(
          e, f.delay_ms > EMU_MAX_DELAY_MS ? EMU_MAX_DELAY_MS : f.delay_ms);
    if (f.kind == EMU_FAULT_RESET) {
      log_line(method, url, 0, "-", " (fault: reset)");
      emu_record_request(e, method, url, 0, "-");
      return MHD_NO; /* libmicrohttpd closes the connection, no reply */
    }
    truncate = f.kind == EMU_FAULT_TRUNCATE;
    note = truncate ? " (fault: truncate)" : "";
    if (fault_reply(&f, &resp)) {
      /* The metadata server names itself, and tags its body, on every
       * reply, failures too. */
      if (strncmp(url, "/computeMetadata/", 17) == 0) {
        char etag[17];
        mdtree_etag(resp.body ? resp.body : "", resp.body ? resp.body_len : 0,
                    etag);
#ifndef __clang_analyzer__
        /* (Hidden from clang's analyzer, which loses header_count between
         * these two calls and reports the first value as overwritten.) */
        emu_reply_header(&resp, "Metadata-Flavor", "Google");
        emu_reply_header(&resp, "ETag", etag);
#endif
      }
      note = f.kind == EMU_FAULT_STATUS      ? " (fault: status)"
             : f.kind == EMU_FAULT_OVERSIZED ? " (fault: oversized)"
                                             : " (fault: invalid_json)";
    } else {
      faulted = 0; /* delay, truncate: answer normally */
    }
  }
  if (!faulted) {
    if (st->too_large)
      emu_reply_google_error(&resp, 413, "FAILED_PRECONDITION",
                             "request body over %u bytes", EMU_MAX_BODY);
    else
      dispatch(s, &req, &resp);
  }
  if (resp.body == NULL) {
    resp.body = xstrdup("");
    resp.body_len = 0;
  }
  log_line(method, url, resp.status, resp.principal, note);
  emu_record_request(e, method, url, resp.status,
                     resp.principal[0] ? resp.principal : "-");
  rc = send_response(e, c, &resp, truncate);
  response_cleanup(&resp);
  return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  emu_server *s = cls;
  conn_state *st = *con_cls;
  (void)version;
  if (st == NULL) {
    st = calloc(1, sizeof(*st));
    if (st == NULL) return MHD_NO;
    *con_cls = st;
    pthread_mutex_lock(&s->mu);
    s->inflight++;
    pthread_mutex_unlock(&s->mu);
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (st->too_large || st->len + n > EMU_MAX_BODY) {
      st->too_large = 1; /* read and drop the rest, then answer 413 */
      return MHD_YES;
    }
    if (st->len + n + 1 > st->cap) {
      size_t cap = st->cap ? st->cap : 4096;
      char *nb;
      while (cap < st->len + n + 1) cap *= 2;
      nb = realloc(st->body, cap);
      if (nb == NULL) return MHD_NO;
      st->body = nb;
      st->cap = cap;
    }
    memcpy(st->body + st->len, upload_data, n);
    st->len += n;
    st->body[st->len] = '\0';
    return MHD_YES;
  }
  return handle(s, c, url, method, st);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  emu_server *s = cls;
  conn_state *st = *con_cls;
  (void)c;
  (void)toe;
  if (st == NULL) return;
  free(st->body);
  free(st);
  *con_cls = NULL;
  pthread_mutex_lock(&s->mu);
  if (--s->inflight == 0) pthread_cond_broadcast(&s->idle);
  pthread_mutex_unlock(&s->mu);
}

/* One thread per connection: a metadata wait_for_change holds its thread
 * until the change or its timeout. The limit leaves room, beyond every
 * allowed waiter, for the requests that must still be answered meanwhile
 * (tokens, the control API); past it libmicrohttpd refuses connections
 * rather than exhausting the process. */
static unsigned int connection_limit(emu *e) {
  return (unsigned int)emu_metadata_max_waiters(e) + EMU_SPARE_CONNECTIONS;
}

/* Each connection is a descriptor: a thousand waiting clients are past the
 * usual soft limit of 1024 open files, so the soft limit goes up to the
 * hard one (libmicrohttpd polls with poll(), not select(), in this mode:
 * descriptors above 1023 are fine). */
static void raise_open_files_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

emu_server *emu_server_start(emu *e, int listen_fd, emu_front front) {
  emu_server *s = xmalloc(sizeof(*s));
  raise_open_files_limit();
  s->e = e;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->idle, NULL);
  s->inflight = 0;
  if (front == EMU_FRONT_RUN) {
    s->routes = run_routes;
    s->nroutes = sizeof(run_routes) / sizeof(run_routes[0]);
  } else {
    s->routes = api_routes;
    s->nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
  }
  s->daemon = MHD_start_daemon(
      MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
          MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG |
          MHD_USE_SUPPRESS_DATE_NO_CLOCK,
      0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
      MHD_OPTION_CONNECTION_LIMIT, connection_limit(e),
      MHD_OPTION_THREAD_STACK_SIZE, (size_t)EMU_THREAD_STACK, MHD_OPTION_END);
  if (s->daemon == NULL) {
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
  }
  return s;
}

void emu_server_stop(emu_server *s) {
  struct timespec until;
  if (s == NULL) return;
  emu_wake_all(s->e);
  /* The woken requests (delays, metadata waits) answer now: let their
   * replies go out before the daemon closes the connections. */
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += EMU_STOP_GRACE_MS / 1000;
  pthread_mutex_lock(&s->mu);
  while (s->inflight > 0)
    if (pthread_cond_timedwait(&s->idle, &s->mu, &until) != 0) break;
  pthread_mutex_unlock(&s->mu);
  MHD_stop_daemon(s->daemon);
  pthread_cond_destroy(&s->idle);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

/* Decodes base64url (or base64) with or without '=' padding, as Google's
 * token endpoint accepts. NUL-terminates the result. NULL when invalid. */
void emu_uuid_format(unsigned char r[16], char out[37]) {
  r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
  r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
  snprintf(out, 37,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x",
           r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
           r[11], r[12], r[13], r[14], r[15]);
}

unsigned char *emu_b64_decode_lenient(const char *in, size_t len,
                                      size_t *out_len) {
  while (len > 0 && in[len - 1] == '=') len--;
  if (len % 4 == 1) return NULL;
  size_t padded = (len + 3) / 4 * 4;
  char *buf = malloc(padded + 1);
  unsigned char *out = malloc(padded / 4 * 3 + 1);
  if (buf == NULL || out == NULL) goto fail;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9') || c == '+' || c == '/'))
      goto fail;
    buf[i] = c;
  }
  for (size_t i = len; i < padded; i++) buf[i] = '=';
  buf[padded] = '\0';
  int n = padded ? EVP_DecodeBlock(out, (unsigned char *)buf, (int)padded) : 0;
  if (n < 0) goto fail;
  /* EVP_DecodeBlock counts the zero bytes the padding stands for. */
  *out_len = (size_t)n - (padded - len);
  out[*out_len] = '\0';
  free(buf);
  return out;
fail:
  free(buf);
  free(out);
  return NULL;
}
