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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
