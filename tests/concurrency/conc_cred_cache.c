/* Single-flight under contention, against a real emulator: 64 threads ask
 * one credential for a token at the same moment on an empty cache, and the
 * emulator's counters must show exactly one token request; all threads must
 * get the same token. Done for a service-account key (POST /token, access
 * and ID tokens) and for the metadata server. Then the same 64 threads read
 * the cached tokens in a loop while nothing is fetched.
 *
 * A plain program (no Criterion: it cannot start under ThreadSanitizer
 * here), run natively, under valgrind and under TSan. The emulator comes
 * from $GAUTH_EMULATOR_BIN. Exit 0 on success, 1 on a failure. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <gauth/gauth.h>

#include "emu_spawn.h"

#define THREADS 64
#define READS_PER_THREAD 200
#define AUDIENCE_PATH "/services/collector" /* on the Cloud Run front end */

static emu_proc g_emu;
static int g_failed;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "conc_cred_cache: FAIL: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  g_failed = 1;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  cJSON **out = ud;
  static char buf[65536];
  static size_t len;
  size_t n = size * nmemb;
  if (*out == NULL && len + n < sizeof(buf)) {
    memcpy(buf + len, p, n);
    len += n;
    buf[len] = '\0';
    if (len > 0 && buf[len - 1] == '}') {
      *out = cJSON_Parse(buf);
      len = 0;
    }
  }
  return n;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ud) {
  (void)p;
  (void)ud;
  return size * nmemb;
}

/* The emulator's request count for one path (-1 on failure). */
static long counter(const char *path) {
  CURL *c = curl_easy_init();
  char url[512];
  cJSON *j = NULL, *reqs, *n;
  long v = -1;
  snprintf(url, sizeof(url), "%s/emulator/v1/counters", g_emu.base);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &j);
  if (curl_easy_perform(c) == CURLE_OK && j != NULL) {
    reqs = cJSON_GetObjectItemCaseSensitive(j, "requests");
    n = cJSON_GetObjectItemCaseSensitive(reqs, path);
    v = cJSON_IsNumber(n) ? (long)n->valuedouble : 0;
  }
  cJSON_Delete(j);
  curl_easy_cleanup(c);
  return v;
}

/* Moves the emulator's clock to offset_seconds from real time; 0 or -1. */
static int emu_clock(long offset_seconds) {
  CURL *c = curl_easy_init();
  char url[512], body[64];
  long status = 0;
  CURLcode rc;
  snprintf(url, sizeof(url), "%s/emulator/v1/clock", g_emu.base);
  snprintf(body, sizeof(body), "{\"offset_seconds\":%ld}", offset_seconds);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return rc == CURLE_OK && status == 200 ? 0 : -1;
}

typedef enum { ASK_ACCESS, ASK_ID } ask_kind;

typedef struct worker {
  gauth_credentials *creds;
  ask_kind kind;
  const char *audience;
  pthread_barrier_t *barrier;
  int reads;      /* extra cached reads after the first */
  char *token;    /* the first token */
  int mismatches; /* later reads that differed */
  gauth_error err;
  gauth_status st;
} worker;

static gauth_status ask(worker *w, char **tok) {
  if (w->kind == ASK_ACCESS)
    return gauth_credentials_access_token(w->creds, NULL, tok, NULL, &w->err);
  return gauth_credentials_id_token(w->creds, w->audience, 0, tok, NULL,
                                    &w->err);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(w->barrier);
  w->st = ask(w, &w->token);
  for (int i = 0; i < w->reads && w->st == GAUTH_OK; i++) {
    char *t = NULL;
    if (ask(w, &t) != GAUTH_OK || strcmp(t, w->token) != 0) w->mismatches++;
    gauth_free(t);
  }
  return NULL;
}

/* 64 threads at once; then checks one request on `path` and one token. */
static void storm(const char *what, gauth_credentials *creds, ask_kind kind,
                  const char *audience, const char *path, int reads) {
  pthread_t th[THREADS];
  worker w[THREADS];
  pthread_barrier_t barrier;
  long before = counter(path), after;
  int i;
  pthread_barrier_init(&barrier, NULL, THREADS);
  for (i = 0; i < THREADS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].creds = creds;
    w[i].kind = kind;
    w[i].audience = audience;
    w[i].barrier = &barrier;
    w[i].reads = reads;
    if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0) {
      failf("%s: pthread_create", what);
      exit(1);
    }
  }
  for (i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  after = counter(path);
  if (before < 0 || after < 0) failf("%s: could not read the counters", what);
  if (after - before != 1)
    failf("%s: %ld requests to %s for %d threads, expected exactly 1", what,
          after - before, path, THREADS);
  for (i = 0; i < THREADS; i++) {
    if (w[i].st != GAUTH_OK) {
      failf("%s: thread %d: %s: %s", what, i, gauth_status_name(w[i].st),
            w[i].err.message);
    } else if (strcmp(w[i].token, w[0].token) != 0) {
      failf("%s: thread %d got another token than thread 0", what, i);
    }
    if (w[i].mismatches)
      failf("%s: thread %d: %d cached reads differed", what, i,
            w[i].mismatches);
  }
  for (i = 0; i < THREADS; i++) gauth_free(w[i].token);
  printf(
      "conc_cred_cache: %s: %d threads, %ld request(s) to %s, %d cached "
      "reads each\n",
      what, THREADS, after - before, path, reads);
}

/* ---- a refresh of a still-valid token while others read ----------------- */

/* The credential's clock (seconds), moved by the main thread. */
static int64_t g_now;
static int g_seen_new; /* atomic: a reader has seen the refreshed token */

static int64_t moving_clock(void *ud) {
  (void)ud;
  return __atomic_load_n(&g_now, __ATOMIC_ACQUIRE);
}

typedef struct reader {
  gauth_credentials *creds;
  const char *first; /* the token before the refresh */
  int stop;          /* atomic */
  long reads, old_reads, new_reads, errors;
  char *seen_new; /* the first other token seen */
  int distinct_new;
} reader;

static void *reader_main(void *arg) {
  reader *r = arg;
  while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
    char *t = NULL;
    gauth_error e = GAUTH_ERROR_INIT;
    if (gauth_credentials_access_token(r->creds, NULL, &t, NULL, &e) !=
        GAUTH_OK) {
      r->errors++;
      continue;
    }
    r->reads++;
    if (strcmp(t, r->first) == 0) {
      r->old_reads++;
    } else {
      r->new_reads++;
      if (r->seen_new == NULL) {
        r->seen_new = strdup(t);
        __atomic_store_n(&g_seen_new, 1, __ATOMIC_RELEASE);
      } else if (strcmp(t, r->seen_new) != 0)
        r->distinct_new++;
    }
    gauth_free(t);
  }
  return NULL;
}

/* 8 threads read the cached access token in a loop; the clock moves into
 * the refresh window (the token still valid): exactly one request refreshes
 * it, nobody ever gets an error, the readers see the old token and then the
 * one new token, never a third. */
static void refresh_while_reading(const gauth_options *opts) {
  enum { READERS = 8 };
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  pthread_t th[READERS];
  reader r[READERS];
  char *first = NULL;
  long before, after, old_total = 0, new_total = 0;
  int i;
  struct timespec pause = {0, 50 * 1000 * 1000};

  __atomic_store_n(&g_now, (int64_t)time(NULL), __ATOMIC_RELEASE);
  co.options = opts;
  co.clock = moving_clock;
  if (gauth_credentials_from_file(&c, g_emu.key_file, &co, &err) != GAUTH_OK ||
      gauth_credentials_access_token(c, NULL, &first, NULL, &err) != GAUTH_OK) {
    failf("refresh while reading: %s", err.message);
    gauth_credentials_free(c);
    return;
  }
  before = counter("/token");
  for (i = 0; i < READERS; i++) {
    memset(&r[i], 0, sizeof(r[i]));
    r[i].creds = c;
    r[i].first = first;
    if (pthread_create(&th[i], NULL, reader_main, &r[i]) != 0) {
      failf("refresh while reading: pthread_create");
      exit(1);
    }
  }
  nanosleep(&pause, NULL);
  /* 3599 s tokens, refreshed 225 s early: 3500 s on is inside the window,
   * and the token is still valid for 99 s. The emulator's clock moves
   * first, so that it takes the refresh's assertion (iat 3500 s on). */
  if (emu_clock(3500) != 0) failf("refresh while reading: emulator clock");
  __atomic_add_fetch(&g_now, 3500, __ATOMIC_ACQ_REL);
  /* Until a reader has the new token (a refresh under valgrind is slow),
   * then a little longer; 30 s at most. */
  for (i = 0; i < 600 && !__atomic_load_n(&g_seen_new, __ATOMIC_ACQUIRE); i++)
    nanosleep(&pause, NULL);
  nanosleep(&pause, NULL);
  for (i = 0; i < READERS; i++)
    __atomic_store_n(&r[i].stop, 1, __ATOMIC_RELEASE);
  for (i = 0; i < READERS; i++) pthread_join(th[i], NULL);
  after = counter("/token");
  if (emu_clock(0) != 0) failf("refresh while reading: emulator clock back");
  if (after - before != 1)
    failf("refresh while reading: %ld token requests, expected exactly 1",
          after - before);
  for (i = 0; i < READERS; i++) {
    if (r[i].errors)
      failf("refresh while reading: reader %d got %ld errors", i, r[i].errors);
    if (r[i].distinct_new)
      failf("refresh while reading: reader %d saw more than one new token", i);
    if (r[i].seen_new != NULL && r[0].seen_new != NULL &&
        strcmp(r[i].seen_new, r[0].seen_new) != 0)
      failf("refresh while reading: readers saw different new tokens");
    old_total += r[i].old_reads;
    new_total += r[i].new_reads;
  }
  if (old_total == 0 || new_total == 0)
    failf(
        "refresh while reading: %ld reads of the old token, %ld of the new: "
        "expected both",
        old_total, new_total);
  printf(
      "conc_cred_cache: refresh while reading: %d threads, %ld request(s) to "
      "/token, %ld reads of the old token and %ld of the new\n",
      READERS, after - before, old_total, new_total);
  for (i = 0; i < READERS; i++) free(r[i].seen_new);
  gauth_free(first);
  gauth_credentials_free(c);
}

int main(void) {
  char msg[1400], how[128], audience[512], host[512];
  gauth_credentials *sa = NULL, *md = NULL;
  gauth_credentials_options copts = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  int rc;

  if (emu_spawn(&g_emu, getenv("GAUTH_EMULATOR_BIN"), "conc-cred-cache", msg,
                sizeof(msg)) != 0) {
    fprintf(stderr, "conc_cred_cache: FAIL: %s\n", msg);
    return 1;
  }
  opts.endpoint = g_emu.base;
  snprintf(host, sizeof(host), "%s", g_emu.base + strlen("http://"));
  opts.metadata_host = host;
  opts.metadata_ip = host;
  copts.options = &opts;
  snprintf(audience, sizeof(audience), "%s%s", g_emu.run_base, AUDIENCE_PATH);

  if (gauth_credentials_from_file(&sa, g_emu.key_file, &copts, &err) !=
      GAUTH_OK) {
    failf("service-account key %s: %s", g_emu.key_file, err.message);
  } else {
    storm("service account, access token", sa, ASK_ACCESS, NULL, "/token",
          READS_PER_THREAD);
    storm("service account, ID token", sa, ASK_ID, audience, "/token",
          READS_PER_THREAD);
    refresh_while_reading(&opts);
  }
  if (gauth_credentials_from_metadata(&md, &copts, &err) != GAUTH_OK) {
    failf("metadata credentials: %s", err.message);
  } else {
    storm("metadata, access token", md, ASK_ACCESS, NULL,
          "/computeMetadata/v1/instance/service-accounts/default/token",
          READS_PER_THREAD);
    storm("metadata, ID token", md, ASK_ID, audience,
          "/computeMetadata/v1/instance/service-accounts/default/identity",
          READS_PER_THREAD);
  }
  gauth_credentials_free(sa);
  gauth_credentials_free(md);

  rc = emu_spawn_stop(&g_emu, how, sizeof(how));
  if (rc != 0) failf("emulator: %s", how);
  if (g_failed) {
    emu_spawn_print_stderr_tail(&g_emu);
    fprintf(stderr, "conc_cred_cache: FAILED\n");
  } else {
    printf("conc_cred_cache: OK\n");
  }
  emu_spawn_cleanup(&g_emu);
  gauth_global_cleanup();
  return g_failed ? 1 : 0;
}
