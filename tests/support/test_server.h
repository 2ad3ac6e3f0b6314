/* Test support: a real HTTP server on 127.0.0.1 (libmicrohttpd, one thread
 * per connection), scripted per path, counting what it sees; plus raw TCP
 * listeners that misbehave (reset, never answer). */
#ifndef GAUTH_TEST_SERVER_H
#define GAUTH_TEST_SERVER_H

#include <stddef.h>

typedef enum ts_kind {
  TS_REPLY = 0, /* send the response below */
  TS_DROP = 1,  /* close the connection without any reply */
  TS_HANG = 2   /* never reply (until the server stops) */
} ts_kind;

/* One scripted response. Strings are copied by ts_route. */
typedef struct ts_response {
  ts_kind kind;
  int status;             /* 0: 200 */
  const char *body;       /* NULL: empty */
  size_t body_len;        /* 0: strlen(body) */
  const char *headers[8]; /* "Name: value", NULL-terminated (<= 7) */
  size_t fill_bytes;      /* > 0: the body is this many 'x' bytes */
  int chunked;            /* 1: no Content-Length, chunked encoding */
  unsigned int delay_ms;  /* wait before replying */
} ts_response;

/* A request as the server saw it (copied). */
typedef struct ts_request {
  char method[16];
  char url[1024]; /* path and query as received */
  char *body;     /* NUL-terminated */
  size_t body_len;
  char headers[4096]; /* "name: value\n" lines, as received */
} ts_request;

typedef struct ts_server ts_server;

/* Starts a server on 127.0.0.1 with an ephemeral port. Aborts the test
 * program on failure. With tls_cert_pem / tls_key_pem (PEM text, both or
 * neither) it serves HTTPS. */
ts_server *ts_start(void);
ts_server *ts_start_tls(const char *tls_cert_pem, const char *tls_key_pem);
/* Stops the server: wakes handlers that hang or delay, closes every
 * connection and frees everything. NULL is a no-op. */
void ts_stop(ts_server *s);

/* 1 when libmicrohttpd was built with TLS (ts_start_tls aborts otherwise). */
int ts_tls_supported(void);

unsigned short ts_port(const ts_server *s);

/* Writes "http://127.0.0.1:PORT" + path (https:// for a TLS server) into
 * buf of size n; returns buf. */
char *ts_url(const ts_server *s, const char *path, char *buf, size_t n);

/* Scripts the replies for one path (query ignored): the i-th request gets
 * seq[i]; requests past the end get the last entry. Unscripted paths get 404
 * with the body
 * {"error":{"code":404,"message":"no route","status":"NOT_FOUND"}}. */
void ts_route(ts_server *s, const char *path, const ts_response *seq, size_t n);

/* Requests received on path so far (all paths when path is NULL). */
unsigned int ts_count(ts_server *s, const char *path);

/* TCP connections accepted so far (to check connection reuse). */
unsigned int ts_connections(ts_server *s);

/* Copies the last request received on path into *out; returns 0 if none.
 * Free with ts_request_cleanup. */
int ts_last_request(ts_server *s, const char *path, ts_request *out);
void ts_request_cleanup(ts_request *r);

/* A raw TCP listener on 127.0.0.1 that misbehaves at the socket level. */
typedef enum ts_raw_mode {
  TS_RAW_RESET = 0, /* accept, read the request, close with RST */
  TS_RAW_SILENT = 1 /* listen but never accept or answer */
} ts_raw_mode;

typedef struct ts_raw ts_raw;
ts_raw *ts_raw_start(ts_raw_mode mode);
unsigned short ts_raw_port(const ts_raw *r);
unsigned int ts_raw_accepted(const ts_raw *r);
void ts_raw_stop(ts_raw *r);

/* A loopback port with nothing listening (connections are refused). */
unsigned short ts_closed_port(void);

#endif /* GAUTH_TEST_SERVER_H */
