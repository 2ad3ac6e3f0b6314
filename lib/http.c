/* The one HTTP transport, over libcurl's easy interface.
 *
 * Sharing. DNS results and TLS sessions live in one curl share object,
 * locked per kind of data, so that every thread using a gauth__http
 * benefits from them. Connections are NOT put in the share: with libcurl
 * 7.88 a shared connection cache is not thread-safe (curl KNOWN_BUGS
 * "A shared connection cache is not thread-safe", curl issue #4915; the
 * cache's mutex guards the list but not the connections a concurrent
 * transfer is using; measured here, 8 threads x 50 requests through a
 * shared cache also opened ~380 connections). Instead each gauth__http
 * keeps a small LIFO pool of easy handles: a handle keeps its own live
 * connections across curl_easy_reset(), each transfer borrows one handle,
 * and a sequence of requests from one thread gets the same handle back, so
 * it reuses the same connection (the same test: 8 connections). No
 * connection is ever touched by two threads at once.
 *
 * Time. Everything is measured on CLOCK_MONOTONIC: the deadline of a
 * request (config retry.deadline_ms, from the start of the call) bounds the
 * attempts' timeouts and the waits between them; no wait starts that would
 * end past it. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "constants.h"
#include "error_body.h"
#include "error_internal.h"
#include "http.h"
#include "log_internal.h"
#include "redact.h"
#include "retry.h"
#include "secret.h"
#include "url.h"

/* Idle easy handles (each with its connections) kept per gauth__http. More
 * concurrent requests than this still work; their handles are closed when
 * they finish. */
#define HTTP_POOL_MAX 16

/* Reply headers are capped apart from the body (max_response_bytes may be
 * set below what ordinary headers take). */
#define HTTP_MAX_HEADER_BYTES ((size_t)64 * 1024)

struct gauth__http {
  gauth__config cfg;
  CURLSH *share;
  /* One mutex per kind of shared data (curl_lock_data), as libcurl asks. */
  pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
  pthread_mutex_t pool_mu;
  CURL *pool[HTTP_POOL_MAX];
  size_t pool_n;
  char user_agent[64];
};

/* ---- the object ---------------------------------------------------------- */

static void share_lock(CURL *handle, curl_lock_data data,
                       curl_lock_access access, void *userptr) {
  gauth__http *h = userptr;
  (void)handle;
  (void)access;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_lock(&h->locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr) {
  gauth__http *h = userptr;
  (void)handle;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_unlock(&h->locks[data]);
}

gauth_status gauth__http_new(gauth__http **out, const gauth__config *cfg,
                             gauth_error *err) {
  gauth__http *h;
  gauth_status st;
  size_t i;

  if (out == NULL || cfg == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth__http_new: out and cfg must not be NULL");
  *out = NULL;
  h = calloc(1, sizeof(*h));
  if (h == NULL) return gauth__error_nomem(err);
  st = gauth_global_init(err);
  if (st != GAUTH_OK) {
    free(h);
    return st;
  }
  st = gauth__config_copy(&h->cfg, cfg, err);
  if (st != GAUTH_OK) {
    gauth_global_cleanup();
    free(h);
    return st;
  }
  for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&h->locks[i], NULL);
  pthread_mutex_init(&h->pool_mu, NULL);
  snprintf(h->user_agent, sizeof(h->user_agent), "gauth/%s", gauth_version());

  h->share = curl_share_init();
  if (h->share == NULL ||
      curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) !=
          CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) !=
          CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
          CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_SHARE,
                        CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    gauth__http_free(h);
    return gauth__error_set(err, GAUTH_E_INTERNAL,
                            "could not set up a libcurl share object");
  }
  *out = h;
  return GAUTH_OK;
}

void gauth__http_free(gauth__http *h) {
  size_t i;
  if (h == NULL) return;
  /* Easy handles first: each detaches from the share as it is cleaned up,
   * and curl_share_cleanup refuses a share still in use. */
  for (i = 0; i < h->pool_n; i++) curl_easy_cleanup(h->pool[i]);
  if (h->share != NULL) curl_share_cleanup(h->share);
  for (i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&h->locks[i]);
  pthread_mutex_destroy(&h->pool_mu);
  gauth__config_cleanup(&h->cfg);
  free(h);
  gauth_global_cleanup();
}

const gauth__config *gauth__http_config(const gauth__http *h) {
  return h == NULL ? NULL : &h->cfg;
}

static CURL *pool_get(gauth__http *h) {
  CURL *e = NULL;
  pthread_mutex_lock(&h->pool_mu);
  if (h->pool_n > 0) e = h->pool[--h->pool_n];
  pthread_mutex_unlock(&h->pool_mu);
  return e != NULL ? e : curl_easy_init();
}

static void pool_put(gauth__http *h, CURL *e) {
  /* Reset now, not when next borrowed: the handle still points at this
   * request's buffers (error buffer, body, header list) that are about to
   * be freed. Live connections survive the reset. */
  curl_easy_reset(e);
  pthread_mutex_lock(&h->pool_mu);
  if (h->pool_n < HTTP_POOL_MAX) {
    h->pool[h->pool_n++] = e;
    e = NULL;
  }
  pthread_mutex_unlock(&h->pool_mu);
  if (e != NULL) curl_easy_cleanup(e);
}

/* ---- cancellation -------------------------------------------------------- */

/* Sockets a cancellable transfer has open at once: the connection, and
 * happy eyeballs' second attempt while it races. More are not recorded
 * (the transfer still works; the progress callback still cancels it). */
#define CANCEL_MAX_SOCKETS 4

struct gauth__http_cancel {
  /* Guards socks and nsocks, is held while fired is set, and while the
   * condition is signalled: gauth__http_cancel_free takes it once before
   * destroying anything, so that a fire still inside it has left. */
  pthread_mutex_t mu;
  pthread_cond_t cond; /* CLOCK_MONOTONIC: waits between attempts */
  atomic_int fired;    /* read lock-free by the progress callback */
  curl_socket_t socks[CANCEL_MAX_SOCKETS];
  size_t nsocks;
};

gauth_status gauth__http_cancel_new(gauth__http_cancel **out,
                                    gauth_error *err) {
  gauth__http_cancel *c;
  pthread_condattr_t ca;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth__http_cancel_new: out is NULL");
  *out = NULL;
  c = calloc(1, sizeof(*c));
  if (c == NULL) return gauth__error_nomem(err);
  if (pthread_condattr_init(&ca) != 0) {
    free(c);
    return gauth__error_nomem(err);
  }
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_cond_init(&c->cond, &ca) != 0) {
    pthread_condattr_destroy(&ca);
    free(c);
    return gauth__error_nomem(err);
  }
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&c->mu, NULL);
  atomic_init(&c->fired, 0);
  *out = c;
  return GAUTH_OK;
}

void gauth__http_cancel_free(gauth__http_cancel *c) {
  if (c == NULL) return;
  /* A fire that set the flag may still be inside the lock (shutting
   * sockets down, signalling): wait for it to leave. */
  pthread_mutex_lock(&c->mu);
  pthread_mutex_unlock(&c->mu);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

void gauth__http_cancel_fire(gauth__http_cancel *c) {
  size_t i;
  if (c == NULL) return;
  pthread_mutex_lock(&c->mu);
  atomic_store(&c->fired, 1);
  /* Wakes a recv or poll on the socket at once (the read sees an end of
   * stream); the socket itself is closed by libcurl, through
   * close_socket, when the transfer ends. */
  for (i = 0; i < c->nsocks; i++) shutdown(c->socks[i], SHUT_RDWR);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->mu);
}

int gauth__http_cancel_fired(gauth__http_cancel *c) {
  return c != NULL && atomic_load(&c->fired) != 0;
}

int gauth__http_cancel_sleep(gauth__http_cancel *c, int64_t ms) {
  struct timespec until;
  int fired;
  if (c == NULL) {
    gauth__sleep_ms(ms);
    return 0;
  }
  if (ms < 0) ms = 0;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)(ms / 1000);
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&c->mu);
  while (!atomic_load(&c->fired) &&
         pthread_cond_timedwait(&c->cond, &c->mu, &until) != ETIMEDOUT) {
  }
  fired = atomic_load(&c->fired) != 0;
  pthread_mutex_unlock(&c->mu);
  return fired;
}

/* CURLOPT_OPENSOCKETFUNCTION of a cancellable transfer: the socket libcurl
 * asked for, recorded; none once fired. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *addr) {
  gauth__http_cancel *c = clientp;
  curl_socket_t s;
  (void)purpose;
  pthread_mutex_lock(&c->mu);
  if (atomic_load(&c->fired)) {
    pthread_mutex_unlock(&c->mu);
    return CURL_SOCKET_BAD;
  }
  s = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (s != CURL_SOCKET_BAD && c->nsocks < CANCEL_MAX_SOCKETS)
    c->socks[c->nsocks++] = s;
  pthread_mutex_unlock(&c->mu);
  return s;
}

/* CURLOPT_CLOSESOCKETFUNCTION: forgotten, then closed, so that fire never
 * shuts down a descriptor number that has been reused meanwhile. */
static int close_socket(void *clientp, curl_socket_t s) {
  gauth__http_cancel *c = clientp;
  size_t i;
  pthread_mutex_lock(&c->mu);
  for (i = 0; i < c->nsocks; i++) {
    if (c->socks[i] == s) {
      c->socks[i] = c->socks[--c->nsocks];
      break;
    }
  }
  pthread_mutex_unlock(&c->mu);
  return close(s);
}

/* CURLOPT_XFERINFOFUNCTION: a non-zero return aborts the transfer
 * (CURLE_ABORTED_BY_CALLBACK). The fallback to the shutdown, for the
 * stages where there is no socket to shut down yet (name resolution). */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
  (void)dltotal;
  (void)dlnow;
  (void)ultotal;
  (void)ulnow;
  return gauth__http_cancel_fired(clientp);
}

/* ---- one transfer -------------------------------------------------------- */

typedef struct xfer {
  size_t max; /* max_response_bytes */
  int keep;   /* 1: a body over max is cut, not an error (keep_body) */
  int cut;    /* keep: bytes past max were read and dropped */
  char *body; /* NUL-terminated; wiped when freed */
  size_t len, cap;
  gauth__http_header *headers;
  size_t nheaders, hcap;
  size_t header_bytes;
  int too_large;
  int nomem;
  CURLcode rc;
  long status;    /* 0 unless a reply was received (rc == CURLE_OK) */
  char *location; /* the redirect target of a 3xx, malloc'd */
  char errbuf[CURL_ERROR_SIZE];
  int64_t ms;
} xfer;

static void headers_free(gauth__http_header *hs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    free(hs[i].name);
    gauth__secret_strfree(hs[i].value); /* Set-Cookie and the like */
  }
  free(hs);
}

static void xfer_clear(xfer *x) {
  size_t max = x->max;
  int keep = x->keep;
  if (x->body != NULL) gauth__secret_free(x->body, x->cap);
  headers_free(x->headers, x->nheaders);
  free(x->location);
  memset(x, 0, sizeof(*x));
  x->max = max;
  x->keep = keep;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  xfer *x = userdata;
  size_t n = size * nmemb;
  /* Checked here as well as by CURLOPT_MAXFILESIZE_LARGE: a chunked reply
   * has no length to check up front. */
  if (n > x->max - x->len) {
    size_t room = x->max - x->len;
    if (!x->keep) {
      x->too_large = 1;
      return 0;
    }
    /* Kept: the first max bytes; the rest is read and dropped, so that
     * the reply still counts (its status, its headers). */
    x->cut = 1;
    if (room == 0) return n;
    if (on_body(ptr, 1, room, userdata) != room) return 0;
    return n;
  }
  if (x->len + n + 1 > x->cap) {
    size_t cap = x->cap < 4096 ? 4096 : x->cap * 2;
    char *grown;
    if (cap < x->len + n + 1) cap = x->len + n + 1;
    if (cap > x->max + 1) cap = x->max + 1;
    /* Not realloc: the old block may hold a token and must be wiped. */
    grown = malloc(cap);
    if (grown == NULL) {
      x->nomem = 1;
      return 0;
    }
    if (x->body != NULL) {
      memcpy(grown, x->body, x->len);
      gauth__secret_free(x->body, x->cap);
    }
    x->body = grown;
    x->cap = cap;
  }
  memcpy(x->body + x->len, ptr, n);
  x->len += n;
  x->body[x->len] = '\0';
  return n;
}

static char *dup_trimmed(const char *s, size_t n) {
  char *out;
  while (n > 0 && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  out = malloc(n + 1);
  if (out == NULL) return NULL;
  memcpy(out, s, n);
  out[n] = '\0';
  return out;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata) {
  xfer *x = userdata;
  size_t n = size * nitems;
  size_t len = n;
  const char *colon;
  gauth__http_header hd;

  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) len--;
  /* A new status line starts a new reply (1xx interim replies come first):
   * only the final reply's headers are kept. */
  if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
    headers_free(x->headers, x->nheaders);
    x->headers = NULL;
    x->nheaders = x->hcap = 0;
    x->header_bytes = n;
    return n;
  }
  x->header_bytes += n;
  if (x->header_bytes > HTTP_MAX_HEADER_BYTES) {
    x->too_large = 1;
    return 0;
  }
  if (len == 0 || buf[0] == ' ' || buf[0] == '\t') return n;
  colon = memchr(buf, ':', len);
  if (colon == NULL) return n;
  if (x->nheaders == x->hcap) {
    size_t cap = x->hcap ? x->hcap * 2 : 16;
    gauth__http_header *grown = realloc(x->headers, cap * sizeof(*grown));
    if (grown == NULL) {
      x->nomem = 1;
      return 0;
    }
    x->headers = grown;
    x->hcap = cap;
  }
  hd.name = dup_trimmed(buf, (size_t)(colon - buf));
  hd.value = dup_trimmed(colon + 1, len - (size_t)(colon - buf) - 1);
  if (hd.name == NULL || hd.value == NULL) {
    free(hd.name);
    free(hd.value);
    x->nomem = 1;
    return 0;
  }
  x->headers[x->nheaders++] = hd;
  return n;
}

static const char *header_value(const gauth__http_header *hs, size_t n,
                                const char *name) {
  size_t i;
  for (i = n; i > 0; i--)
    if (strcasecmp(hs[i - 1].name, name) == 0) return hs[i - 1].value;
  return NULL;
}

typedef struct hop {
  const char *method;
  const char *url;
  const char *body; /* POST, PUT and PATCH only */
  size_t body_len;
  const struct curl_slist *headers;
  long connect_ms;
  long timeout_ms;
  int no_proxy;
  int fresh_connect;          /* a retry: not over a kept-alive connection */
  gauth__http_cancel *cancel; /* NULL, or the request's */
} hop;

/* POST, PUT and PATCH send a body (possibly empty); the other methods
 * none. */
static int method_has_body(const char *method) {
  return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
         strcmp(method, "PATCH") == 0;
}

/* The methods a request may use: those of Cloud Scheduler's HttpMethod. */
static int method_known(const char *method) {
  static const char *const known[] = {"GET",    "POST", "PUT",    "PATCH",
                                      "DELETE", "HEAD", "OPTIONS"};
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(known); i++)
    if (strcmp(method, known[i]) == 0) return 1;
  return 0;
}

#define SET(opt, val)                                           \
  do {                                                          \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, (opt), (val)); \
  } while (0)

static void transfer(gauth__http *h, const hop *p, xfer *x) {
  /* A cancellable transfer gets a handle of its own, cleaned up (its
   * connection closed, through close_socket) before this returns: no
   * pooled connection keeps a socket callback pointing at the cancel
   * object, and fire can only shut down this transfer's sockets. */
  CURL *e = p->cancel != NULL ? curl_easy_init() : pool_get(h);
  CURLcode rc = CURLE_OK;
  int64_t t0 = gauth__mono_ms();

  xfer_clear(x);
  if (e == NULL) {
    x->rc = CURLE_OUT_OF_MEMORY;
    return;
  }
  SET(CURLOPT_URL, p->url);
  SET(CURLOPT_SHARE, h->share);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  if (h->cfg.ca_bundle != NULL) SET(CURLOPT_CAINFO, h->cfg.ca_bundle);
  SET(CURLOPT_USERAGENT, h->user_agent);
  SET(CURLOPT_CONNECTTIMEOUT_MS, p->connect_ms);
  SET(CURLOPT_TIMEOUT_MS, p->timeout_ms);
  if (!x->keep) SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, x);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_HTTPHEADER, p->headers);
  /* The metadata server is link-local: a proxy cannot reach it, and must
   * never see its tokens. */
  if (p->no_proxy) SET(CURLOPT_NOPROXY, "*");
  /* A retry opens a new connection: the one the failed attempt used may be
   * the problem (a backend that is failing, a connection the server is
   * closing). Over a kept-alive connection that the server closes after
   * reading the request, libcurl re-sends it on a new one by itself, so the
   * server sees the request twice for one attempt (measured against
   * gauth-emulator's 503, 429 and truncated replies: 1 run in 3). */
  SET(CURLOPT_FRESH_CONNECT, p->fresh_connect ? 1L : 0L);
  /* ... and that new connection is closed after the retry, not cached: a
   * handle would otherwise gather one more kept-alive connection to the
   * host per retry, and libcurl re-sends a request on each cached one in
   * turn (up to 5) when the server closes them without a reply: one
   * attempt against a server that resets every request was 5 requests on
   * the wire (tests/integration/fault_matrix.c, reset x always). */
  SET(CURLOPT_FORBID_REUSE, p->fresh_connect ? 1L : 0L);
  if (p->cancel != NULL) {
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
    SET(CURLOPT_OPENSOCKETDATA, p->cancel);
    SET(CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    SET(CURLOPT_CLOSESOCKETDATA, p->cancel);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, p->cancel);
    SET(CURLOPT_NOPROGRESS, 0L);
  }
  if (method_has_body(p->method)) {
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body_len);
    SET(CURLOPT_POSTFIELDS, p->body != NULL ? p->body : "");
    if (strcmp(p->method, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, p->method);
  } else if (strcmp(p->method, "HEAD") == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else {
    SET(CURLOPT_HTTPGET, 1L);
    if (strcmp(p->method, "GET") != 0) SET(CURLOPT_CUSTOMREQUEST, p->method);
  }
  if (rc == CURLE_OK) rc = curl_easy_perform(e);
  x->rc = rc;
  if (rc == CURLE_OK) {
    long status = 0;
    char *location = NULL;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    x->status = status;
    if (status >= 300 && status < 400 &&
        curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
        location != NULL) {
      x->location = strdup(location);
      if (x->location == NULL) x->nomem = 1;
    }
    if (x->body == NULL) {
      /* An empty reply still has a (NUL-terminated, empty) body. */
      x->body = calloc(1, 1);
      x->cap = 1;
      if (x->body == NULL) x->nomem = 1;
    }
  }
  /* A transfer that failed at the connection level leaves no connection
   * worth keeping: the handle goes, with its connections. */
  if (p->cancel != NULL || x->rc != CURLE_OK)
    curl_easy_cleanup(e);
  else
    pool_put(h, e);
  x->ms = gauth__mono_ms() - t0;
}

#undef SET

/* ---- describing requests without leaking --------------------------------- */

/* "METHOD URL" with the query and fragment replaced by "?...", then
 * redacted: the query of a Google URL can carry a token or an audience,
 * and messages end up in logs. */
static char *describe(const char *method, const char *url,
                      const char *const *known) {
  size_t n = strcspn(url, "?#");
  size_t size = strlen(method) + n + 8;
  char *buf = malloc(size);
  char *red;
  if (buf == NULL) return NULL;
  snprintf(buf, size, "%s %.*s%s", method, (int)n, url,
           url[n] != '\0' ? "?..." : "");
  red = gauth__redact(buf, known);
  free(buf);
  return red;
}

/* Appends text to err->message (truncated on a UTF-8 boundary). */
static void error_append(gauth_error *err, const char *fmt, ...)
    GAUTH_PRINTF(2, 3);

static void error_append(gauth_error *err, const char *fmt, ...) {
  char buf[GAUTH_ERROR_MESSAGE_SIZE * 2];
  size_t used;
  va_list ap;
  if (err == NULL) return;
  used = strlen(err->message);
  memcpy(buf, err->message, used + 1);
  va_start(ap, fmt);
  vsnprintf(buf + used, sizeof(buf) - used, fmt, ap);
  va_end(ap);
  gauth__strlcpy_utf8(err->message, buf, sizeof(err->message));
}

/* The credential in an Authorization header line, or NULL: "Authorization:
 * Bearer TOKEN" gives "TOKEN" (a pointer into line). */
static const char *auth_credential(const char *line) {
  const char *v = gauth__skip_prefix_ci(line, "Authorization:"), *sp;
  if (v == NULL) v = gauth__skip_prefix_ci(line, "Proxy-Authorization:");
  if (v == NULL) return NULL;
  while (*v == ' ' || *v == '\t') v++;
  sp = strchr(v, ' ');
  if (sp != NULL) {
    while (*sp == ' ') sp++;
    if (*sp != '\0') return sp;
  }
  return *v != '\0' ? v : NULL;
}

static int is_auth_header(const char *line) {
  return gauth__skip_prefix_ci(line, "Authorization:") != NULL ||
         gauth__skip_prefix_ci(line, "Proxy-Authorization:") != NULL ||
         gauth__skip_prefix_ci(line, "Cookie:") != NULL;
}

/* The request's secrets plus the credentials of its Authorization headers,
 * NULL-terminated. The strings are borrowed from req. */
static const char **collect_known(const gauth__http_request *req) {
  size_t n = 0, i, k = 0;
  const char **known;
  for (i = 0; req->secrets != NULL && req->secrets[i] != NULL; i++) n++;
  for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) n++;
  known = calloc(n + 1, sizeof(*known));
  if (known == NULL) return NULL;
  for (i = 0; req->secrets != NULL && req->secrets[i] != NULL; i++)
    known[k++] = req->secrets[i];
  for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
    const char *cred = auth_credential(req->headers[i]);
    if (cred != NULL) known[k++] = cred;
  }
  known[k] = NULL;
  return known;
}

/* Wipes the strings of a header list (they may hold a bearer token), then
 * frees it. */
static void slist_free_wiped(struct curl_slist *l) {
  struct curl_slist *it;
  for (it = l; it != NULL; it = it->next)
    if (it->data != NULL) OPENSSL_cleanse(it->data, strlen(it->data));
  curl_slist_free_all(l);
}

/* The header list of one hop. `with_auth` 0 drops credentials (after a
 * redirect to another origin, as browsers and curl do). "Expect:" turns
 * off curl's 100-continue round trip for larger bodies. */
static struct curl_slist *build_headers(const gauth__http_request *req,
                                        int with_body, int with_auth) {
  struct curl_slist *l = NULL, *t;
  char ct[256];
  size_t i;
  for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
    if (!with_auth && is_auth_header(req->headers[i])) continue;
    t = curl_slist_append(l, req->headers[i]);
    if (t == NULL) goto nomem;
    l = t;
  }
  t = curl_slist_append(l, "Expect:");
  if (t == NULL) goto nomem;
  l = t;
  if (with_body && req->content_type != NULL) {
    snprintf(ct, sizeof(ct), "Content-Type: %s", req->content_type);
    t = curl_slist_append(l, ct);
    if (t == NULL) goto nomem;
    l = t;
  }
  return l;
nomem:
  slist_free_wiped(l);
  return NULL;
}

/* 1 when both URLs have the same scheme, host and port. */
static int same_origin(const char *a, const char *b) {
  static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST,
                                    CURLUPART_PORT};
  CURLU *ua = curl_url(), *ub = curl_url();
  int same = 0;
  size_t i;
  if (ua == NULL || ub == NULL ||
      curl_url_set(ua, CURLUPART_URL, a, 0) != CURLUE_OK ||
      curl_url_set(ub, CURLUPART_URL, b, 0) != CURLUE_OK)
    goto done;
  same = 1;
  for (i = 0; i < GAUTH__ARRAY_LEN(parts) && same; i++) {
    char *pa = NULL, *pb = NULL;
    if (curl_url_get(ua, parts[i], &pa, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(ub, parts[i], &pb, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        strcasecmp(pa, pb) != 0)
      same = 0;
    curl_free(pa);
    curl_free(pb);
  }
done:
  curl_url_cleanup(ua);
  curl_url_cleanup(ub);
  return same;
}

/* ---- classifying an outcome ---------------------------------------------- */

typedef struct curl_class {
  gauth_status code;
  const char *label;
  int retry;
  int detail; /* 1: curl's error buffer adds to the label */
} curl_class;

static curl_class classify_curl(CURLcode rc) {
  curl_class c = {GAUTH_E_NETWORK, NULL, 0, 1};
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
      /* The detail names the address curl tried: a proxy's, perhaps. */
      c.label = "connection refused";
      c.retry = 1;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      c.code = GAUTH_E_TIMEOUT;
      c.label = "timed out";
      c.retry = 1;
      break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      c.label = "connection failed";
      c.retry = 1;
      break;
    case CURLE_GOT_NOTHING:
      c.label = "the server closed the connection without a reply";
      c.retry = 1;
      c.detail = 0;
      break;
    case CURLE_PARTIAL_FILE:
      c.label = "the reply was cut short";
      c.retry = 1;
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: c.label = "DNS lookup failed"; break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      c.code = GAUTH_E_TLS;
      c.label = "TLS failure";
      break;
    case CURLE_OUT_OF_MEMORY:
      c.code = GAUTH_E_NOMEM;
      c.label = "out of memory";
      c.detail = 0;
      break;
    case CURLE_UNSUPPORTED_PROTOCOL:
      c.code = GAUTH_E_INSECURE_URL;
      c.label = "scheme refused";
      break;
    case CURLE_URL_MALFORMAT:
      c.code = GAUTH_E_INVALID_ARG;
      c.label = "malformed URL";
      break;
    case CURLE_UNKNOWN_OPTION:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_FAILED_INIT:
      /* This libcurl lacks something the transport relies on. */
      c.code = GAUTH_E_INTERNAL;
      c.label = curl_easy_strerror(rc);
      c.detail = 0;
      break;
    default: c.label = curl_easy_strerror(rc); break;
  }
  return c;
}

/* What an attempt came to. */
typedef enum outcome {
  OUT_OK,
  OUT_FAIL, /* final: not retried */
  OUT_RETRY /* failed, may be retried */
} outcome;

/* Fills e from a failed transfer. */
static outcome classify(const gauth__http_request *req, const xfer *x,
                        const char *what, long timeout_ms, int deadline_bound,
                        const char *const *known, gauth_error *e) {
  if (x->rc != CURLE_OK || x->nomem) {
    curl_class c;
    char buf[GAUTH_ERROR_MESSAGE_SIZE];
    if (x->too_large || x->rc == CURLE_FILESIZE_EXCEEDED) {
      if (x->header_bytes > HTTP_MAX_HEADER_BYTES)
        gauth__error_set(e, GAUTH_E_TOO_LARGE,
                         "%s: reply headers are larger than the limit of "
                         "%zu bytes",
                         what, HTTP_MAX_HEADER_BYTES);
      else
        gauth__error_set(e, GAUTH_E_TOO_LARGE,
                         "%s: reply is larger than the limit of %zu bytes "
                         "(max_response_bytes)",
                         what, x->max);
      return OUT_FAIL;
    }
    if (x->nomem) {
      gauth__error_nomem(e);
      gauth__error_prefix(e, "%s", what);
      return OUT_FAIL;
    }
    c = classify_curl(x->rc);
    if (x->rc == CURLE_OPERATION_TIMEDOUT) {
      snprintf(buf, sizeof(buf), "timed out after %ld ms%s", timeout_ms,
               deadline_bound ? " (the request's deadline)" : "");
    } else if (c.detail && x->errbuf[0] != '\0') {
      snprintf(buf, sizeof(buf), "%s: %s", c.label, x->errbuf);
    } else {
      snprintf(buf, sizeof(buf), "%s", c.label);
    }
    gauth__redact_buf(buf, sizeof(buf), known);
    gauth__error_set(e, c.code, "%s: %s", what, buf);
    return c.retry ? OUT_RETRY : OUT_FAIL;
  }
  if ((x->status >= 200 && x->status < 300) || req->accept_any_status)
    return OUT_OK;
  if (x->status >= 300 && x->status < 400 && x->location != NULL) {
    char *to = describe("", x->location, known);
    gauth__error_set_http(e, GAUTH_E_HTTP, (int)x->status, NULL,
                          "%s: HTTP %ld redirect not followed (to%s)", what,
                          x->status, to != NULL ? to : " elsewhere");
    free(to);
    return OUT_FAIL;
  }
  gauth__error_from_reply(e, x->status,
                          header_value(x->headers, x->nheaders, "Content-Type"),
                          x->body, x->len, what, known);
  return gauth__http_status_retryable(x->status) ? OUT_RETRY : OUT_FAIL;
}

/* ---- the request --------------------------------------------------------- */

/* The debug line of one transfer: a redirect hop names its own URL. */
static void log_transfer(const gauth__config *cfg, const char *const *known,
                         const char *what, const hop *p, unsigned int hops,
                         const xfer *x, unsigned int attempt) {
  char *hop_what = NULL;
  if (!gauth__log_enabled(&cfg->logger, GAUTH_LOG_DEBUG)) return;
  if (hops > 0) hop_what = describe(p->method, p->url, known);
  if (hop_what != NULL) what = hop_what;
  if (x->rc == CURLE_OK)
    gauth__log_secrets(&cfg->logger, GAUTH_LOG_DEBUG, known,
                       "%s: HTTP %ld in %lld ms (attempt %u%s)", what,
                       x->status, (long long)x->ms, attempt,
                       hops > 0 ? ", after a redirect" : "");
  else
    gauth__log_secrets(&cfg->logger, GAUTH_LOG_DEBUG, known,
                       "%s: %s in %lld ms (attempt %u%s)", what,
                       curl_easy_strerror(x->rc), (long long)x->ms, attempt,
                       hops > 0 ? ", after a redirect" : "");
  free(hop_what);
}

static void fmt_attempts(char *buf, size_t size, unsigned int attempts,
                         int64_t elapsed_ms) {
  snprintf(buf, size, "%u attempt%s in %.1f s", attempts,
           attempts == 1 ? "" : "s", (double)elapsed_ms / 1000.0);
}

/* Moves the final transfer into resp. */
static void take_reply(gauth__http_response *resp, xfer *x, const char *url,
                       unsigned int attempts) {
  resp->attempts = attempts;
  if (x->rc == CURLE_OK && !x->nomem) {
    resp->status = x->status;
    resp->body_cut = x->cut;
    resp->body = x->body;
    resp->body_len = x->len;
    resp->headers = x->headers;
    resp->header_count = x->nheaders;
    /* The body buffer's capacity may exceed len + 1; gauth__http_response
     * cleanup wipes len + 1 bytes, and bytes past len were never written. */
    x->body = NULL;
    x->headers = NULL;
    x->nheaders = 0;
    resp->url = strdup(url);
  }
}

/* One gauth__http_do call: the request, what was made of it, and where the
 * attempts stand. */
typedef struct call {
  gauth__http *h;
  const gauth__config *cfg;
  const gauth__http_request *req;
  gauth__http_response *resp;
  const char *method;
  const char **known; /* secrets to redact (collect_known) */
  char *url;          /* the request's URL, endpoint override applied */
  char *what;         /* "METHOD URL?..." for messages */
  struct curl_slist *hdr_full;   /* the request's headers */
  struct curl_slist *hdr_noauth; /* a redirect hop's, when they differ */
  char *next_url;                /* a redirect hop's URL */
  const char *last_url;          /* of the last transfer: url or next_url */
  hop p;                         /* the current hop */
  int deadline_bound;            /* the deadline cut p's timeout short */
  xfer x;                        /* the last transfer */
  uint64_t rng;                  /* backoff jitter */
  int64_t start, deadline;
  unsigned int attempt, max_attempts, max_redirects;
  long per_attempt_ms, connect_ms;
  gauth_status st;
  gauth_error e;
} call;

/* How far a call has come: on (another step follows), or how it ended. */
typedef enum ending {
  CALL_GOES_ON,
  CALL_OK,          /* the reply is in resp */
  CALL_FAILED,      /* e says why; nothing to keep in resp */
  CALL_FAILED_REPLY /* e says why; the reply that failed stays in resp */
} ending;

static ending call_fail(call *c, gauth_status st, ending how) {
  c->st = st;
  return how;
}

/* The request's cancel object fired: the call ends with GAUTH_E_CANCELLED,
 * whatever its last attempt came to. */
static ending call_cancelled(call *c) {
  const char *what = c->what != NULL ? c->what : c->method;
  char att[64];
  fmt_attempts(att, sizeof(att), c->attempt, gauth__mono_ms() - c->start);
  if (c->attempt > 0)
    gauth__error_set(&c->e, GAUTH_E_CANCELLED, "%s: cancelled (%s)", what, att);
  else
    gauth__error_set(&c->e, GAUTH_E_CANCELLED, "%s: cancelled", what);
  return call_fail(c, GAUTH_E_CANCELLED, CALL_FAILED);
}

/* Limits from the config and the request; the URL resolved, described and
 * checked; the headers built. No byte has left yet. */
static ending call_prepare(call *c) {
  const gauth__config *cfg = c->cfg;
  const gauth__http_request *req = c->req;
  gauth_status st;

  c->x.max = cfg->max_response_bytes ? cfg->max_response_bytes
                                     : GAUTH__DEFAULT_MAX_RESPONSE_BYTES;
  if (req->keep_body > 0) {
    c->x.max = req->keep_body;
    c->x.keep = 1;
  }
  c->deadline = c->start + (int64_t)(req->deadline_ms ? req->deadline_ms
                                                      : cfg->retry.deadline_ms);
  c->max_attempts = req->no_retry ? 1 : cfg->retry.max_attempts;
  c->max_redirects = req->max_redirects < GAUTH__MAX_REDIRECTS
                         ? req->max_redirects
                         : GAUTH__MAX_REDIRECTS;
  if (c->max_attempts == 0) c->max_attempts = 1;
  c->per_attempt_ms =
      (long)(req->timeout_ms ? req->timeout_ms : cfg->timeout_ms);
  c->connect_ms = (long)(req->connect_timeout_ms ? req->connect_timeout_ms
                                                 : cfg->connect_timeout_ms);

  c->known = collect_known(req);
  if (c->known == NULL)
    return call_fail(c, gauth__error_nomem(&c->e), CALL_FAILED);
  st = gauth__config_resolve_url(cfg, req->url, &c->url, &c->e);
  if (st != GAUTH_OK) return call_fail(c, st, CALL_FAILED);
  c->what = describe(c->method, c->url, c->known);
  if (c->what == NULL)
    return call_fail(c, gauth__error_nomem(&c->e), CALL_FAILED);
  /* Before any connection: no byte may leave for a host the policy
   * refuses (plain http to a remote host, another scheme). */
  st = gauth__url_check_transport_imds(
      c->url, cfg->metadata_host, cfg->metadata_ip, c->req->aws_imds, &c->e);
  if (st != GAUTH_OK) {
    gauth__error_prefix(&c->e, "%s", c->what);
    return call_fail(c, st, CALL_FAILED);
  }
  c->hdr_full = build_headers(req, method_has_body(c->method), 1);
  if (c->hdr_full == NULL)
    return call_fail(c, gauth__error_nomem(&c->e), CALL_FAILED);
  c->rng = cfg->rng_seed;
  if (c->rng == 0 && RAND_bytes((unsigned char *)&c->rng, sizeof(c->rng)) != 1)
    c->rng = (uint64_t)c->start ^ (uint64_t)(uintptr_t)&c->rng;
  return CALL_GOES_ON;
}

/* One transfer of the current hop, its timeout cut to what is left of the
 * deadline; logged. */
static void send_hop(call *c, unsigned int hops) {
  hop *p = &c->p;
  int64_t remaining = c->deadline - gauth__mono_ms();
  if (remaining < 1) remaining = 1;
  p->timeout_ms = c->per_attempt_ms;
  c->deadline_bound = remaining < c->per_attempt_ms;
  if (c->deadline_bound) p->timeout_ms = (long)remaining;
  if (p->connect_ms > p->timeout_ms) p->connect_ms = p->timeout_ms;
  /* Plain http goes only to loopback or a metadata address (checked before
   * every hop): never through a proxy, which could read a token or swap a
   * key set on the way. */
  p->no_proxy = c->req->no_proxy || strncasecmp(p->url, "http://", 7) == 0;
  transfer(c->h, p, &c->x);
  c->last_url = p->url;
  log_transfer(c->cfg, c->known, c->what, p, hops, &c->x, c->attempt);
}

/* 1 when the last transfer is a redirect this request follows. */
static int is_redirect_to_follow(const call *c) {
  return c->x.rc == CURLE_OK && c->x.status >= 300 && c->x.status < 400 &&
         c->x.location != NULL && c->max_redirects > 0;
}

/* Makes the redirect of the last transfer the next hop, through the same
 * checks as the first URL. */
static ending follow_redirect(call *c, unsigned int *hops, int *stripped) {
  hop *p = &c->p;
  xfer *x = &c->x;
  gauth_status st;
  if (*hops >= c->max_redirects)
    return call_fail(c,
                     gauth__error_set_http(&c->e, GAUTH_E_HTTP, (int)x->status,
                                           NULL, "%s: more than %u redirects",
                                           c->what, c->max_redirects),
                     CALL_FAILED_REPLY);
  st = gauth__url_check_transport(x->location, c->cfg->metadata_host,
                                  c->cfg->metadata_ip, &c->e);
  if (st != GAUTH_OK) {
    gauth__error_prefix(&c->e, "%s: HTTP %ld redirect refused", c->what,
                        x->status);
    c->e.http_status = (int)x->status;
    return call_fail(c, st, CALL_FAILED_REPLY);
  }
  (*hops)++;
  if (!*stripped && !same_origin(p->url, x->location)) *stripped = 1;
  free(c->next_url);
  c->next_url = x->location;
  x->location = NULL;
  /* 301/302/303 turn a POST into a GET without a body (what every
   * client does); 307/308 repeat the method and body. */
  if (strcmp(p->method, "POST") == 0 && x->status != 307 && x->status != 308) {
    p->method = "GET";
    p->body = NULL;
    p->body_len = 0;
  }
  slist_free_wiped(c->hdr_noauth);
  c->hdr_noauth = NULL;
  if (*stripped || strcmp(p->method, c->method) != 0) {
    c->hdr_noauth =
        build_headers(c->req, method_has_body(p->method), !*stripped);
    if (c->hdr_noauth == NULL)
      return call_fail(c, gauth__error_nomem(&c->e), CALL_FAILED);
    p->headers = c->hdr_noauth;
  } else {
    p->headers = c->hdr_full;
  }
  p->url = c->next_url;
  return CALL_GOES_ON;
}

/* One attempt: the request, then each redirect it follows by hand. */
static ending send_attempt(call *c) {
  unsigned int hops = 0;
  int stripped = 0;
  ending end;
  c->attempt++;
  c->p.method = c->method;
  c->p.url = c->url;
  c->p.body = c->req->body;
  c->p.body_len = c->req->body_len;
  c->p.headers = c->hdr_full;
  c->p.connect_ms = c->connect_ms;
  c->p.fresh_connect = c->attempt > 1;
  c->p.cancel = c->req->cancel;
  for (;;) {
    send_hop(c, hops);
    if (!is_redirect_to_follow(c)) return CALL_GOES_ON;
    end = follow_redirect(c, &hops, &stripped);
    if (end != CALL_GOES_ON) return end;
  }
}

/* The reply of a successful attempt, moved into resp. */
static ending take_success(call *c) {
  take_reply(c->resp, &c->x, c->p.url, c->attempt);
  if (c->resp->url == NULL)
    return call_fail(c, gauth__error_nomem(&c->e), CALL_FAILED);
  c->st = GAUTH_OK;
  return CALL_OK;
}

/* How long to wait before the next attempt: the reply's Retry-After when
 * it has a valid one (returns 1), else the policy's backoff (returns 0). */
static int retry_wait_ms(call *c, int64_t *wait_ms) {
  const char *ra =
      c->x.rc == CURLE_OK
          ? header_value(c->x.headers, c->x.nheaders, "Retry-After")
          : NULL;
  int64_t ra_ms = 0;
  if (ra != NULL && gauth__retry_after_parse(ra, time(NULL), &ra_ms)) {
    *wait_ms = ra_ms;
    return 1;
  }
  *wait_ms = gauth__backoff_delay_ms(&c->cfg->retry, c->attempt, &c->rng);
  return 0;
}

/* After a failed attempt: gives up (the message counts the attempts when
 * there was more than one, or when the policy's attempts ran out), or
 * waits and lets the call go on, never past the deadline. */
static ending retry_or_give_up(call *c, outcome out) {
  const gauth__config *cfg = c->cfg;
  int64_t wait_ms, now;
  int from_header;
  char att[64];

  c->st = c->e.code;
  now = gauth__mono_ms();
  fmt_attempts(att, sizeof(att), c->attempt, now - c->start);
  if (out == OUT_FAIL || c->req->no_retry) {
    if (c->attempt > 1) error_append(&c->e, " (%s)", att);
    return CALL_FAILED_REPLY;
  }
  if (c->attempt >= c->max_attempts) {
    error_append(&c->e, " (%s)", att);
    return CALL_FAILED_REPLY;
  }
  from_header = retry_wait_ms(c, &wait_ms);
  if (now + wait_ms >= c->deadline) {
    if (from_header)
      error_append(&c->e,
                   "; not retried: Retry-After of %lld s would pass the "
                   "deadline of %.1f s (%s)",
                   (long long)((wait_ms + 999) / 1000),
                   (double)cfg->retry.deadline_ms / 1000.0, att);
    else
      error_append(&c->e,
                   "; not retried: waiting %lld ms would pass the "
                   "deadline of %.1f s (%s)",
                   (long long)wait_ms, (double)cfg->retry.deadline_ms / 1000.0,
                   att);
    return CALL_FAILED_REPLY;
  }
  gauth__log_secrets(&cfg->logger, GAUTH_LOG_INFO, c->known,
                     "%s; retrying in %lld ms%s (attempt %u of %u)",
                     c->e.message, (long long)wait_ms,
                     from_header ? " (Retry-After)" : "", c->attempt + 1,
                     c->max_attempts);
  gauth_error_clear(&c->e);
  if (gauth__http_cancel_sleep(c->req->cancel, wait_ms))
    return call_cancelled(c);
  return CALL_GOES_ON;
}

/* The end of a call: a failure named after the request into err (and the
 * reply that failed into resp, when there is one to keep); everything
 * freed. Returns the call's status. */
static gauth_status call_finish(call *c, ending end, gauth_error *err) {
  if (end == CALL_FAILED_REPLY) {
    /* The reply that failed stays readable in resp (its status, body). */
    take_reply(c->resp, &c->x, c->last_url != NULL ? c->last_url : c->url,
               c->attempt);
    if (c->x.rc == CURLE_OK && c->resp->url == NULL)
      c->st = gauth__error_nomem(&c->e);
  }
  if (end != CALL_OK) {
    if (c->st == GAUTH_OK) c->st = GAUTH_E_INTERNAL;
    if (c->e.code == GAUTH_OK)
      gauth__error_set(&c->e, c->st, "%s failed",
                       c->what ? c->what : c->method);
    c->resp->attempts = c->attempt;
    gauth__error_copy(err, &c->e);
  }
  xfer_clear(&c->x);
  slist_free_wiped(c->hdr_full);
  slist_free_wiped(c->hdr_noauth);
  free(c->next_url);
  free(c->url);
  free(c->what);
  free(c->known);
  return c->st;
}

/* Prepare the request; then attempt it (following redirects), classify
 * what came back, and either keep the reply, give up, or wait and try
 * again; finally map the outcome into resp and err. */
gauth_status gauth__http_do(gauth__http *h, const gauth__http_request *req,
                            gauth__http_response *resp, gauth_error *err) {
  int64_t start = gauth__mono_ms();
  call c;
  ending end;

  if (resp != NULL) memset(resp, 0, sizeof(*resp));
  gauth_error_clear(err);
  if (h == NULL || req == NULL || req->url == NULL || resp == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth__http_do: NULL argument");
  memset(&c, 0, sizeof(c));
  c.h = h;
  c.cfg = &h->cfg;
  c.req = req;
  c.resp = resp;
  c.start = start;
  c.st = GAUTH_OK;
  gauth_error_clear(&c.e);
  c.method = req->method != NULL ? req->method : "GET";
  if (!method_known(c.method))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "HTTP method %.16s is not supported", c.method);

  end = call_prepare(&c);
  while (end == CALL_GOES_ON) {
    outcome out;
    if (gauth__http_cancel_fired(req->cancel)) {
      end = call_cancelled(&c);
      break;
    }
    end = send_attempt(&c);
    if (end != CALL_GOES_ON) break;
    if (gauth__http_cancel_fired(req->cancel)) {
      end = call_cancelled(&c);
      break;
    }
    out = classify(req, &c.x, c.what, c.p.timeout_ms, c.deadline_bound, c.known,
                   &c.e);
    end = out == OUT_OK ? take_success(&c) : retry_or_give_up(&c, out);
  }
  return call_finish(&c, end, err);
}

void gauth__http_response_cleanup(gauth__http_response *resp) {
  if (resp == NULL) return;
  if (resp->body != NULL) gauth__secret_free(resp->body, resp->body_len + 1);
  headers_free(resp->headers, resp->header_count);
  free(resp->url);
  memset(resp, 0, sizeof(*resp));
}

const char *gauth__http_response_header(const gauth__http_response *resp,
                                        const char *name) {
  if (resp == NULL || name == NULL) return NULL;
  return header_value(resp->headers, resp->header_count, name);
}

/* ---- helpers over gauth__http_do ----------------------------------------- */

gauth_status gauth__form_encode(const gauth__form_field *fields, size_t n,
                                char **out, gauth_error *err) {
  char *buf = NULL;
  size_t len = 0, cap = 0, i;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "out is NULL");
  *out = NULL;
  if (fields == NULL && n > 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "fields is NULL");
  for (i = 0; i <= n; i++) {
    char *name = NULL, *value = NULL;
    size_t need, pair = 0;
    if (i < n) {
      const char *v = fields[i].value != NULL ? fields[i].value : "";
      if (fields[i].name == NULL || strlen(fields[i].name) > INT_MAX ||
          strlen(v) > INT_MAX) {
        gauth__secret_free(buf, cap);
        return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                                "form field %zu has no name or is too long", i);
      }
      /* curl_easy_escape percent-encodes all but RFC 3986 unreserved
       * characters, which is valid form encoding. */
      name =
          curl_easy_escape(NULL, fields[i].name, (int)strlen(fields[i].name));
      value = curl_easy_escape(NULL, v, (int)strlen(v));
      if (name == NULL || value == NULL) {
        curl_free(name);
        if (value != NULL) OPENSSL_cleanse(value, strlen(value));
        curl_free(value);
        gauth__secret_free(buf, cap);
        return gauth__error_nomem(err);
      }
      pair = strlen(name) + strlen(value) + 2; /* "&name=value" at most */
    }
    need = len + pair + 1;
    if (buf == NULL || need > cap) {
      size_t ncap = need * 2;
      char *grown = malloc(ncap);
      if (grown == NULL) {
        curl_free(name);
        if (value != NULL) OPENSSL_cleanse(value, strlen(value));
        curl_free(value);
        gauth__secret_free(buf, cap);
        return gauth__error_nomem(err);
      }
      if (buf != NULL) memcpy(grown, buf, len);
      gauth__secret_free(buf, cap);
      buf = grown;
      cap = ncap;
    }
    if (name != NULL) {
      len +=
          (size_t)sprintf(buf + len, "%s%s=%s", i > 0 ? "&" : "", name, value);
      curl_free(name);
      OPENSSL_cleanse(value, strlen(value));
      curl_free(value);
    }
    buf[len] = '\0';
  }
  /* The caller frees with gauth__secret_strfree, which wipes strlen + 1
   * bytes: give it a buffer of exactly that size. */
  *out = malloc(len + 1);
  if (*out == NULL) {
    gauth__secret_free(buf, cap);
    return gauth__error_nomem(err);
  }
  memcpy(*out, buf, len + 1);
  gauth__secret_free(buf, cap);
  return GAUTH_OK;
}

gauth_status gauth__http_get(gauth__http *h, const char *url,
                             const char *const *headers,
                             const char *const *secrets,
                             gauth__http_response *resp, gauth_error *err) {
  gauth__http_request req;
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  req.headers = headers;
  req.secrets = secrets;
  return gauth__http_do(h, &req, resp, err);
}

/* POSTs a NUL-terminated body of the given type (the body is the caller's
 * to wipe). */
static gauth_status post_text(gauth__http *h, const char *url,
                              const char *const *headers, const char *body,
                              const char *content_type,
                              const char *const *secrets,
                              gauth__http_response *resp, gauth_error *err) {
  gauth__http_request req;
  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.url = url;
  req.headers = headers;
  req.body = body;
  req.body_len = strlen(body);
  req.content_type = content_type;
  req.secrets = secrets;
  return gauth__http_do(h, &req, resp, err);
}

gauth_status gauth__http_post_form(gauth__http *h, const char *url,
                                   const char *const *headers,
                                   const gauth__form_field *fields, size_t n,
                                   gauth__http_response *resp,
                                   gauth_error *err) {
  return gauth__http_post_form_secrets(h, url, headers, fields, n, NULL, resp,
                                       err);
}

gauth_status gauth__http_post_form_secrets(gauth__http *h, const char *url,
                                           const char *const *headers,
                                           const gauth__form_field *fields,
                                           size_t n, const char *const *more,
                                           gauth__http_response *resp,
                                           gauth_error *err) {
  const char **secrets;
  char *body = NULL;
  size_t i, k = 0, m = 0;
  gauth_status st;

  if (resp != NULL) memset(resp, 0, sizeof(*resp));
  while (more != NULL && more[m] != NULL) m++;
  secrets = calloc(n + m + 1, sizeof(*secrets));
  if (secrets == NULL) return gauth__error_nomem(err);
  for (i = 0; i < n && fields != NULL; i++)
    if (fields[i].secret && fields[i].value != NULL)
      secrets[k++] = fields[i].value;
  for (i = 0; i < m; i++) secrets[k++] = more[i];
  st = gauth__form_encode(fields, n, &body, err);
  if (st == GAUTH_OK)
    st = post_text(h, url, headers, body, "application/x-www-form-urlencoded",
                   secrets, resp, err);
  gauth__secret_strfree(body);
  free(secrets);
  return st;
}

gauth_status gauth__http_post_json(gauth__http *h, const char *url,
                                   const char *const *headers,
                                   const cJSON *body,
                                   const char *const *secrets,
                                   gauth__http_response *resp,
                                   gauth_error *err) {
  char *text;
  gauth_status st;

  if (resp != NULL) memset(resp, 0, sizeof(*resp));
  if (body == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "JSON body is NULL");
  text = cJSON_PrintUnformatted(body);
  if (text == NULL) return gauth__error_nomem(err);
  st = post_text(h, url, headers, text, "application/json", secrets, resp, err);
  /* The body may carry a token (an STS subject token, a JWT to sign). */
  OPENSSL_cleanse(text, strlen(text));
  cJSON_free(text);
  return st;
}
