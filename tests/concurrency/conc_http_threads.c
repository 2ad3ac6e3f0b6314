/* One gauth__http shared by 8 threads, 50 GETs each, against one test
 * server. A plain program (not Criterion, which cannot start under
 * ThreadSanitizer): exits non-zero on any failure; TSan exits 66 on a race.
 * Some requests fail once (503) and are retried, so the retry path runs
 * concurrently too. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "test_server.h"

#define THREADS 8
#define PER_THREAD 50

typedef struct worker {
  gauth__http *h;
  char url[256];
  char flaky_url[256];
  int failures;
} worker;

static void *run(void *arg) {
  worker *w = arg;
  int i;
  for (i = 0; i < PER_THREAD; i++) {
    gauth__http_response resp;
    gauth_error err = GAUTH_ERROR_INIT;
    const char *url = (i % 10 == 9) ? w->flaky_url : w->url;
    gauth_status st = gauth__http_get(w->h, url, NULL, NULL, &resp, &err);
    if (st != GAUTH_OK || resp.status != 200 ||
        strcmp(resp.body, "pong") != 0) {
      fprintf(stderr, "request %d: %s: %s\n", i, gauth_status_name(st),
              err.message);
      w->failures++;
    }
    gauth__http_response_cleanup(&resp);
  }
  return NULL;
}

int main(void) {
  static const ts_response pong = {
      TS_REPLY, 200, "pong", 0, {"Content-Type: text/plain"}, 0, 0, 0};
  /* Every other request to /flaky gets a 503 first. */
  static const ts_response flaky[] = {
      {TS_REPLY, 503, NULL, 0, {NULL}, 0, 0, 0},
      {TS_REPLY, 200, "pong", 0, {NULL}, 0, 0, 0}};
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__http *h = NULL;
  ts_server *s;
  pthread_t tid[THREADS];
  worker w[THREADS];
  unsigned int count, flaky_count, conns;
  int i, failures = 0;

  o.timeout_ms = 10000;
  o.retry.max_attempts = 5;
  o.retry.initial_backoff_ms = 1;
  o.retry.max_backoff_ms = 5;
  if (gauth__config_init(&cfg, &o, &err) != GAUTH_OK ||
      gauth__http_new(&h, &cfg, &err) != GAUTH_OK) {
    fprintf(stderr, "setup: %s\n", err.message);
    return 1;
  }
  gauth__config_cleanup(&cfg);
  s = ts_start();
  ts_route(s, "/ping", &pong, 1);
  /* A sequence that ends on 200: only the first /flaky request sees 503
   * (later ones get the last entry), enough to run a retry under load. */
  ts_route(s, "/flaky", flaky, 2);

  for (i = 0; i < THREADS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].h = h;
    ts_url(s, "/ping", w[i].url, sizeof(w[i].url));
    ts_url(s, "/flaky", w[i].flaky_url, sizeof(w[i].flaky_url));
    if (pthread_create(&tid[i], NULL, run, &w[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  for (i = 0; i < THREADS; i++) {
    pthread_join(tid[i], NULL);
    failures += w[i].failures;
  }
  count = ts_count(s, "/ping");
  flaky_count = ts_count(s, "/flaky");
  conns = ts_connections(s);
  gauth__http_free(h);
  ts_stop(s);

  printf("conc_http_threads: %d failures, %u + %u requests, %u connections\n",
         failures, count, flaky_count, conns);
  if (failures != 0) return 1;
  /* 9 of every 10 requests go to /ping; /flaky saw one extra (the 503). */
  if (count != THREADS * PER_THREAD * 9 / 10) {
    fprintf(stderr, "server counted %u /ping requests\n", count);
    return 1;
  }
  if (flaky_count != THREADS * PER_THREAD / 10 + 1) {
    fprintf(stderr, "server counted %u /flaky requests\n", flaky_count);
    return 1;
  }
  if (count + flaky_count - 1 != THREADS * PER_THREAD) return 1;
  /* Pooled handles keep their connections: far fewer than one per request. */
  if (conns > THREADS * 4) {
    fprintf(stderr, "%u connections for %d requests: no reuse\n", conns,
            THREADS * PER_THREAD);
    return 1;
  }
  return 0;
}
