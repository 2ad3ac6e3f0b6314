/* Watches cancelled from another thread, and freed at once by the thread
 * whose next() returned GAUTH_E_CANCELLED while the cancelling thread may
 * still be inside gauth_metadata_watch_cancel: the rule that
 * include/gauth/metadata.h states. PAIRS pairs of threads share one
 * gauth_metadata; in each round a watcher blocks in next() (on the first
 * read, on a long-poll the server holds, or on the wait after a 503) and a
 * canceller cancels after a few milliseconds that vary from round to round,
 * so that cancels land before, during and after each stage.
 *
 * A plain program (Criterion cannot start under ThreadSanitizer): exits
 * non-zero on any failure; TSan exits 66 on a race. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gauth/gauth.h>

#include "test_server.h"

#define PAIRS 4
#define ROUNDS 15
#define FLAVOR "Metadata-Flavor: Google"

typedef struct round_state {
  gauth_metadata_watch *w;
  long delay_us;
} round_state;

typedef struct pair {
  gauth_metadata *md;
  const char *path;
  int index;
  int failures;
  long slowest_ms;
} pair;

static long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static void *canceller(void *arg) {
  round_state *r = arg;
  sleep_us(r->delay_us);
  gauth_metadata_watch_cancel(r->w);
  /* Nothing of the watch is touched after the cancel returns: the watcher
   * may have freed it already. */
  return NULL;
}

static void *run_pair(void *arg) {
  pair *p = arg;
  int i;
  for (i = 0; i < ROUNDS; i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_metadata_watch *w = NULL;
    round_state r;
    pthread_t th;
    long t_cancel, took;
    int changed = 0, cancelled = 0, calls;
    if (gauth_metadata_watch_new(p->md, p->path, &w, &err) != GAUTH_OK) {
      fprintf(stderr, "pair %d: watch_new: %s\n", p->index, err.message);
      p->failures++;
      return NULL;
    }
    r.w = w;
    r.delay_us = (long)((i * 7 + p->index * 3) % 40) * 1000;
    if (pthread_create(&th, NULL, canceller, &r) != 0) {
      p->failures++;
      gauth_metadata_watch_free(w);
      return NULL;
    }
    t_cancel = mono_ms() + r.delay_us / 1000;
    for (calls = 0; calls < 5 && !cancelled; calls++) {
      char *v = NULL;
      gauth_status st = gauth_metadata_watch_next(w, 30, &v, &changed, &err);
      gauth_free(v);
      if (st == GAUTH_E_CANCELLED) {
        cancelled = 1;
      } else if (st != GAUTH_OK) {
        fprintf(stderr, "pair %d round %d: %s: %s\n", p->index, i,
                gauth_status_name(st), err.message);
        p->failures++;
        break;
      }
    }
    if (!cancelled && p->failures == 0) {
      fprintf(stderr, "pair %d round %d: never cancelled\n", p->index, i);
      p->failures++;
    }
    /* Freed at once: the canceller may still be returning. */
    gauth_metadata_watch_free(w);
    took = mono_ms() - t_cancel;
    if (took > p->slowest_ms) p->slowest_ms = took;
    if (took > 5000) {
      fprintf(stderr, "pair %d round %d: %ld ms after the cancel\n", p->index,
              i, took);
      p->failures++;
    }
    pthread_join(th, NULL);
  }
  return NULL;
}

int main(void) {
  ts_server *s = ts_start();
  ts_response held[2], busy[2], first;
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md = NULL;
  pthread_t th[PAIRS];
  pair pairs[PAIRS];
  static const char *const paths[] = {"instance/attributes/held",
                                      "instance/attributes/busy",
                                      "instance/attributes/first"};
  char host[64];
  int failures = 0, i;
  long slowest = 0;

  memset(held, 0, sizeof(held));
  held[0].body = "v1";
  held[0].headers[0] = FLAVOR;
  held[0].headers[1] = "ETag: e1";
  held[1].kind = TS_HANG; /* every long-poll is held */
  ts_route(s, "/computeMetadata/v1/instance/attributes/held", held, 2);
  memset(busy, 0, sizeof(busy));
  busy[0] = held[0];
  busy[1].status = 503; /* every long-poll fails, then a backoff */
  busy[1].headers[0] = FLAVOR;
  ts_route(s, "/computeMetadata/v1/instance/attributes/busy", busy, 2);
  memset(&first, 0, sizeof(first));
  first.kind = TS_HANG; /* even the first read */
  ts_route(s, "/computeMetadata/v1/instance/attributes/first", &first, 1);

  snprintf(host, sizeof(host), "127.0.0.1:%u", ts_port(s));
  o.metadata_host = host;
  o.retry.max_attempts = 100;
  o.retry.initial_backoff_ms = 200;
  o.retry.max_backoff_ms = 200;
  if (gauth_metadata_new(&md, &o, &err) != GAUTH_OK) {
    fprintf(stderr, "metadata_new: %s\n", err.message);
    return 1;
  }
  for (i = 0; i < PAIRS; i++) {
    memset(&pairs[i], 0, sizeof(pairs[i]));
    pairs[i].md = md;
    pairs[i].index = i;
    pairs[i].path = paths[i % 3];
    if (pthread_create(&th[i], NULL, run_pair, &pairs[i]) != 0) return 1;
  }
  for (i = 0; i < PAIRS; i++) {
    pthread_join(th[i], NULL);
    failures += pairs[i].failures;
    if (pairs[i].slowest_ms > slowest) slowest = pairs[i].slowest_ms;
  }
  gauth_metadata_free(md);
  ts_stop(s);
  printf(
      "conc_metadata_watch: %d pairs x %d rounds, slowest return after "
      "a cancel %ld ms, %d failures\n",
      PAIRS, ROUNDS, slowest, failures);
  return failures == 0 ? 0 : 1;
}
