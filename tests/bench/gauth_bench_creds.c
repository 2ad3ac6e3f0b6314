/* gauth-bench-creds: credentials and metadata detection, each measured
 * against a floor or a reference client in the same run.
 *
 *   gauth-bench-creds [--duration=SECONDS] [--rounds=N] [--runs=N]
 *                     [--node-modules=DIR] [CASE...]
 *   gauth-bench-creds --callgrind CASE impl|floor --iterations N
 *
 * Cases:
 *   token-cached           gauth_credentials_access_token() answered from
 *                          the cache, the token gauth_free'd, one thread.
 *                          Floor: the least any API handing out an owned
 *                          copy must do: strdup of the same token,
 *                          OPENSSL_cleanse, free.
 *   token-cached-2threads  the same from two threads on one credential and
 *                          one scope, against the floor in two threads;
 *                          both sides also run single-threaded in the same
 *                          slices, for the scaling ratios.
 *   detect-offline         gauth_metadata_detect() in auto mode answering
 *                          "not present" with the probe address (a) a closed
 *                          loopback port ("refused") and (b) a loopback port
 *                          that accepts connections and never answers
 *                          ("silent"); a new gauth_metadata per run (the
 *                          object remembers answers). Then npm gcp-metadata's
 *                          isAvailable() against the same two ports when node
 *                          and the package are there (gcp_metadata_detect.mjs;
 *                          node_modules from --node-modules, else
 *                          NODE_MODULES, else GAUTH_INTEROP_NODE_MODULES).
 *
 * Output, one line per token case:
 *   CASE impl=OPS floor=OPS ratio=R impl_ns=NS floor_ns=NS
 *        [scaling=S floor_scaling=S]               (2threads only)
 * OPS: calls per second, all threads together; R = impl / floor; NS: the
 * time one call takes in its thread (threads / OPS); S: the two-thread
 * OPS over the one-thread OPS of the same side, measured in the same run.
 * The sides run in alternating slices (ROUNDS of each, the order rotated
 * every round) so that they share the machine's noise.
 *
 * detect-offline prints, for each address and client:
 *   detect-offline refused|silent gauth|gcp-metadata median_ms=M max_ms=M
 *       runs=N [target_ms=T met=yes|no] (detail)
 * or `detect-offline gcp-metadata skipped: WHY` when node or the package is
 * missing (not a failure). met=yes: the slowest run is within the target;
 * the targets are printed, not enforced.
 *
 * --callgrind runs one side of a token case ITERATIONS times after its
 * set-up (the first, signing call and one warm-up cached call included),
 * for valgrind --tool=callgrind: the difference between N and 0 iterations,
 * over N, is instructions per call (tests/bench/run-bench.sh does this).
 *
 * The credential is a service-account key file built here around a fixed
 * key (bench_keys.h, so instruction counts repeat), read by
 * gauth_credentials_from_json() with self_signed_jwt ALWAYS: the first call
 * signs a JWT locally, with no network, and later calls are cache hits.
 * libgauth is reached through its public API only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <gauth/gauth.h>

#include "bench_keys.h"

#ifndef GAUTH_BENCH_SOURCE_DIR /* set by CMake: this folder */
#define GAUTH_BENCH_SOURCE_DIR "tests/bench"
#endif

extern char **environ;

#define SCOPE "https://www.googleapis.com/auth/cloud-platform"
/* Calls between two clock reads in a timed slice: the read is then noise
 * next to even a 50 ns call. */
#define BATCH 64
#define MAX_RUNS 1000

static void die(const char *what, const gauth_error *err) {
  if (err != NULL)
    fprintf(stderr, "gauth-bench-creds: %s: %s (%s)\n", what, err->message,
            gauth_status_name(err->code));
  else
    fprintf(stderr, "gauth-bench-creds: %s\n", what);
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the token cases --------------------------------------------------- */

typedef struct token_bench {
  gauth_credentials *creds;
  char *token; /* the cached token, for the floor */
} token_bench;

static const char *const scopes[] = {SCOPE, NULL};

/* A service-account key file around bench_rsa1_pem; free with free(). */
static char *sa_json(void) {
  static const char head[] =
      "{\"type\":\"service_account\",\"project_id\":\"bench-project\","
      "\"private_key_id\":\"bench-key-1\","
      "\"client_email\":\"bench@bench-project.iam.gserviceaccount.com\","
      "\"token_uri\":\"https://oauth2.googleapis.com/token\","
      "\"private_key\":\"";
  size_t cap = sizeof head + 2 * sizeof bench_rsa1_pem + 8, used;
  char *json = malloc(cap);
  if (json == NULL) die("out of memory", NULL);
  memcpy(json, head, sizeof head - 1);
  used = sizeof head - 1;
  for (const char *p = bench_rsa1_pem; *p != '\0'; p++) {
    if (*p == '\n') json[used++] = '\\';
    json[used++] = *p == '\n' ? 'n' : *p;
  }
  memcpy(json + used, "\"}", 3);
  return json;
}

static void token_setup(token_bench *t) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char *json = sa_json();
  int64_t exp;
  co.self_signed_jwt = GAUTH_SELF_SIGNED_JWT_ALWAYS;
  if (gauth_credentials_from_json(&t->creds, json, strlen(json), &co, &err) !=
      GAUTH_OK)
    die("gauth_credentials_from_json", &err);
  free(json);
  /* The first call signs; every later one is a cache hit. */
  if (gauth_credentials_access_token(t->creds, scopes, &t->token, &exp, &err) !=
      GAUTH_OK)
    die("gauth_credentials_access_token", &err);
  if (exp <= (int64_t)time(NULL) + 3000)
    die("the self-signed token should live about an hour", NULL);
}

static void token_teardown(token_bench *t) {
  gauth_credentials_free(t->creds);
  gauth_free(t->token);
}

static void impl_op(void *ctx) {
  token_bench *t = ctx;
  gauth_error err; /* the call clears it (gauth/error.h) */
  char *tok;
  if (gauth_credentials_access_token(t->creds, scopes, &tok, NULL, &err) !=
      GAUTH_OK)
    die("gauth_credentials_access_token", &err);
  gauth_free(tok);
}

/* What gauth_free does, after the copy any owned-copy API must make. */
static void floor_op(void *ctx) {
  token_bench *t = ctx;
  char *p = strdup(t->token);
  if (p == NULL) die("out of memory", NULL);
  OPENSSL_cleanse(p, strlen(p));
  free(p);
}

/* ---- timing -------------------------------------------------------------- */

typedef void (*op_fn)(void *ctx);

typedef struct worker {
  op_fn op;
  void *ctx;
  double until;
  long limit; /* > 0: run exactly this many (callgrind) */
  long ops;
} worker;

static void *worker_run(void *arg) {
  worker *w = arg;
  if (w->limit > 0) {
    for (long i = 0; i < w->limit; i++) w->op(w->ctx);
    w->ops = w->limit;
    return NULL;
  }
  do {
    for (int i = 0; i < BATCH; i++) w->op(w->ctx);
    w->ops += BATCH;
  } while (now_s() < w->until);
  return NULL;
}

/* Runs op in `threads` threads (1 or 2, this one included) until `until`,
 * or `limit` calls in all when limit > 0; returns the calls made. */
static long run_threads(op_fn op, void *ctx, int threads, double until,
                        long limit) {
  worker w[2] = {{op, ctx, until, limit, 0}, {op, ctx, until, 0, 0}};
  pthread_t t;
  if (threads == 1) {
    worker_run(&w[0]);
    return w[0].ops;
  }
  if (limit > 0) {
    w[0].limit = (limit + 1) / 2;
    w[1].limit = limit / 2;
    if (w[1].limit == 0) {
      worker_run(&w[0]);
      return w[0].ops;
    }
  }
  if (pthread_create(&t, NULL, worker_run, &w[1]) != 0)
    die("pthread_create", NULL);
  worker_run(&w[0]);
  pthread_join(t, NULL);
  return w[0].ops + w[1].ops;
}

typedef struct side {
  op_fn op;
  int threads;
  long ops;
  double secs;
} side;

/* Runs the sides in alternating slices, `rounds` of each, the order
 * rotated every round; fills each side's ops and secs. */
static void measure(side *sides, int n, void *ctx, double duration,
                    int rounds) {
  double slice = duration / (double)(n * rounds);
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < n; k++) {
      side *s = &sides[(r + k) % n];
      double t0 = now_s();
      s->ops += run_threads(s->op, ctx, s->threads, t0 + slice, 0);
      s->secs += now_s() - t0;
    }
  }
}

static double rate(const side *s) { return (double)s->ops / s->secs; }

static void token_case(const char *name, double duration, int rounds) {
  token_bench t = {NULL, NULL};
  int two = strcmp(name, "token-cached-2threads") == 0;
  /* impl, floor; then, for the two-thread case, both single-threaded. */
  side sides[4] = {{impl_op, 1 + two, 0, 0},
                   {floor_op, 1 + two, 0, 0},
                   {impl_op, 1, 0, 0},
                   {floor_op, 1, 0, 0}};
  double impl, floor_r;
  token_setup(&t);
  impl_op(&t); /* warm-up: first-use set-up belongs to neither side */
  floor_op(&t);
  measure(sides, two ? 4 : 2, &t, duration, rounds);
  impl = rate(&sides[0]);
  floor_r = rate(&sides[1]);
  printf("%s impl=%.0f floor=%.0f ratio=%.3f impl_ns=%.1f floor_ns=%.1f", name,
         impl, floor_r, impl / floor_r, 1e9 * (1 + two) / impl,
         1e9 * (1 + two) / floor_r);
  if (two)
    printf(" scaling=%.2f floor_scaling=%.2f", impl / rate(&sides[2]),
           floor_r / rate(&sides[3]));
  printf("\n");
  fflush(stdout);
  token_teardown(&t);
}

/* ---- detect-offline ------------------------------------------------------ */

/* Nothing but the probe may decide: no residency hint, no mode from the
 * environment, no proxy in the way of a loopback connection. (DMI is read
 * from /sys/class/dmi/id; a Google DMI shows as a "present" answer, which
 * the case reports instead of measuring.) */
static void clear_detection_env(void) {
  static const char *const vars[] = {"K_SERVICE",
                                     "CLOUD_RUN_JOB",
                                     "FUNCTION_TARGET",
                                     "FUNCTION_NAME",
                                     "GAUTH_METADATA_DETECTION",
                                     "METADATA_SERVER_DETECTION",
                                     "DETECT_GCP_RETRIES",
                                     "GCE_METADATA_IP",
                                     "GCE_METADATA_HOST",
                                     "http_proxy",
                                     "HTTP_PROXY",
                                     "https_proxy",
                                     "HTTPS_PROXY",
                                     "all_proxy",
                                     "ALL_PROXY",
                                     "no_proxy",
                                     "NO_PROXY"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
}

/* A TCP socket bound to 127.0.0.1 on a free port, written to *port. */
static int loopback_socket(int *port) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    die("cannot bind a loopback socket", NULL);
  *port = ntohs(a.sin_port);
  return fd;
}

/* One detection by a new object; its duration in ms. */
static double detect_once(const char *ip, gauth_metadata_detection *d) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md;
  gauth_status st;
  double t0;
  o.metadata_detection = GAUTH_METADATA_DETECT_AUTO;
  o.metadata_ip = ip;
  if (gauth_metadata_new(&md, &o, &err) != GAUTH_OK)
    die("gauth_metadata_new", &err);
  t0 = now_s();
  st = gauth_metadata_detect(md, d, &err);
  t0 = now_s() - t0;
  gauth_metadata_free(md);
  if (st != GAUTH_OK) die("gauth_metadata_detect", &err);
  return t0 * 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Measures and prints one address; 0 when a hint says "present" (this
 * machine looks like Google Cloud: nothing to measure). */
static int detect_address(const char *label, int port, int runs,
                          double target_ms) {
  char ip[32], detail[sizeof(((gauth_metadata_detection *)0)->detail)];
  double ms[MAX_RUNS], median;
  snprintf(ip, sizeof ip, "127.0.0.1:%d", port);
  for (int i = 0; i < runs; i++) {
    gauth_metadata_detection d;
    ms[i] = detect_once(ip, &d);
    if (d.present && d.basis == GAUTH_METADATA_BY_HINT) {
      printf(
          "detect-offline skipped: %s (a residency hint; this machine "
          "looks like Google Cloud)\n",
          d.detail);
      return 0;
    }
    if (d.present || d.basis != GAUTH_METADATA_BY_PROBE) {
      fprintf(stderr,
              "gauth-bench-creds: detect %s: present=%d basis=%d "
              "(%s); expected absent by probe\n",
              ip, d.present, (int)d.basis, d.detail);
      exit(1);
    }
    if (i == 0) memcpy(detail, d.detail, sizeof detail);
  }
  qsort(ms, (size_t)runs, sizeof ms[0], cmp_double);
  median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
  printf(
      "detect-offline %s gauth median_ms=%.2f max_ms=%.2f runs=%d "
      "target_ms=%.0f met=%s (%s)\n",
      label, median, ms[runs - 1], runs, target_ms,
      ms[runs - 1] <= target_ms ? "yes" : "no", detail);
  fflush(stdout);
  return 1;
}

/* The full path of `name` on PATH, or 0. */
static int find_on_path(const char *name, char *out, size_t n) {
  const char *path = getenv("PATH");
  while (path != NULL && *path != '\0') {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    if (len > 0 &&
        (size_t)snprintf(out, n, "%.*s/%s", (int)len, path, name) < n &&
        access(out, X_OK) == 0)
      return 1;
    path = colon ? colon + 1 : NULL;
  }
  return 0;
}

/* gcp-metadata's isAvailable() against the same two ports, through
 * gcp_metadata_detect.mjs, which prints its own lines. */
static void detect_gcp_metadata(const char *node_modules, int refused,
                                int silent, int runs) {
  static const char script[] =
      GAUTH_BENCH_SOURCE_DIR "/gcp_metadata_detect.mjs";
  char node[4096], pkg[4096], a_ref[16], a_sil[16], a_runs[16];
  struct stat st;
  pid_t pid;
  int status;
  if (node_modules == NULL || node_modules[0] == '\0') {
    printf(
        "detect-offline gcp-metadata skipped: no node_modules folder "
        "given (--node-modules=DIR, NODE_MODULES or "
        "GAUTH_INTEROP_NODE_MODULES)\n");
    return;
  }
  snprintf(pkg, sizeof pkg, "%s/gcp-metadata/package.json", node_modules);
  if (!find_on_path("node", node, sizeof node)) {
    printf("detect-offline gcp-metadata skipped: node is not on PATH\n");
    return;
  }
  if (stat(pkg, &st) != 0) {
    printf(
        "detect-offline gcp-metadata skipped: no %s (npm ci --prefix DIR "
        "in a copy of tests/interop/node)\n",
        pkg);
    return;
  }
  snprintf(a_ref, sizeof a_ref, "%d", refused);
  snprintf(a_sil, sizeof a_sil, "%d", silent);
  snprintf(a_runs, sizeof a_runs, "%d", runs);
  {
    char *argv[] = {
        node, (char *)script, (char *)node_modules, a_ref, a_sil, a_runs, NULL};
    fflush(stdout);
    if (posix_spawn(&pid, node, NULL, NULL, argv, environ) != 0)
      die("cannot start node", NULL);
  }
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    die("gcp_metadata_detect.mjs failed (see above)", NULL);
}

static void detect_case(int runs, const char *node_modules) {
  int refused, silent, fd;
  clear_detection_env();
  /* (a) a port nobody listens on: bound to reserve a free one, closed. */
  fd = loopback_socket(&refused);
  close(fd);
  /* (b) a port that completes the handshake and never reads: connections
   * wait in the backlog. */
  fd = loopback_socket(&silent);
  if (listen(fd, SOMAXCONN) != 0) die("listen", NULL);
  if (detect_address("refused", refused, runs, 5) &&
      detect_address("silent", silent, runs, 500))
    detect_gcp_metadata(node_modules, refused, silent, runs);
  close(fd);
}

/* ---- main ---------------------------------------------------------------- */

static const char *const case_names[] = {
    "token-cached", "token-cached-2threads", "detect-offline"};
#define N_CASES (sizeof case_names / sizeof case_names[0])

static int known_case(const char *name) {
  for (size_t i = 0; i < N_CASES; i++)
    if (strcmp(name, case_names[i]) == 0) return 1;
  return 0;
}

static const char usage[] =
    "usage: gauth-bench-creds [--duration=SECONDS] [--rounds=N] [--runs=N]\n"
    "                         [--node-modules=DIR] [CASE...]\n"
    "       gauth-bench-creds --callgrind CASE impl|floor --iterations N\n"
    "cases: token-cached token-cached-2threads detect-offline (default: all)\n"
    "--duration: seconds per token case, all sides together (default 4)\n"
    "--rounds: slices of each side per token case (default 8)\n"
    "--runs: detections per address and client (default 10)\n"
    "--node-modules: a node_modules folder holding gcp-metadata (default:\n"
    "  $NODE_MODULES, else $GAUTH_INTEROP_NODE_MODULES)\n"
    "--callgrind: token cases only\n";

static int bad_usage(void) {
  fputs(usage, stderr);
  return 2;
}

static int callgrind_mode(int argc, char **argv) {
  token_bench t = {NULL, NULL};
  char *end;
  long n;
  int is_impl;
  if (argc != 6 || strncmp(argv[2], "token-cached", 12) != 0 ||
      !known_case(argv[2]) ||
      (strcmp(argv[3], "impl") != 0 && strcmp(argv[3], "floor") != 0) ||
      strcmp(argv[4], "--iterations") != 0)
    return bad_usage();
  errno = 0;
  n = strtol(argv[5], &end, 10);
  if (errno != 0 || *end != '\0' || n < 0) return bad_usage();
  is_impl = strcmp(argv[3], "impl") == 0;
  token_setup(&t);
  /* One warm-up call in every run, 0 iterations included, so that
   * first-use costs cancel out. */
  (is_impl ? impl_op : floor_op)(&t);
  if (n > 0)
    run_threads(is_impl ? impl_op : floor_op, &t,
                strcmp(argv[2], "token-cached-2threads") == 0 ? 2 : 1, 0, n);
  printf("%s %s iterations=%ld token_bytes=%zu\n", argv[2], argv[3], n,
         strlen(t.token));
  token_teardown(&t);
  return 0;
}

int main(int argc, char **argv) {
  double duration = 4.0;
  int rounds = 8, runs = 10, n_selected = 0, rc = 0;
  const char *selected[N_CASES];
  const char *node_modules = getenv("NODE_MODULES");
  gauth_error err = GAUTH_ERROR_INIT;
  char *end;

  if (node_modules == NULL) node_modules = getenv("GAUTH_INTEROP_NODE_MODULES");
  if (gauth_global_init(&err) != GAUTH_OK) die("gauth_global_init", &err);
  if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
    rc = callgrind_mode(argc, argv);
    gauth_global_cleanup();
    return rc;
  }
  for (int i = 1; i < argc && rc == 0; i++) {
    if (strncmp(argv[i], "--duration=", 11) == 0) {
      duration = strtod(argv[i] + 11, &end);
      if (*end != '\0' || !(duration > 0)) rc = bad_usage();
    } else if (strncmp(argv[i], "--rounds=", 9) == 0) {
      rounds = (int)strtol(argv[i] + 9, &end, 10);
      if (*end != '\0' || rounds < 1 || rounds > 1000) rc = bad_usage();
    } else if (strncmp(argv[i], "--runs=", 7) == 0) {
      runs = (int)strtol(argv[i] + 7, &end, 10);
      if (*end != '\0' || runs < 1 || runs > MAX_RUNS) rc = bad_usage();
    } else if (strncmp(argv[i], "--node-modules=", 15) == 0) {
      node_modules = argv[i] + 15;
    } else if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      gauth_global_cleanup();
      return 0;
    } else if (known_case(argv[i]) && n_selected < (int)N_CASES) {
      selected[n_selected++] = argv[i];
    } else {
      rc = bad_usage();
    }
  }
  if (rc == 0 && n_selected == 0)
    for (size_t i = 0; i < N_CASES; i++) selected[n_selected++] = case_names[i];
  for (int i = 0; rc == 0 && i < n_selected; i++) {
    if (strcmp(selected[i], "detect-offline") == 0)
      detect_case(runs, node_modules);
    else
      token_case(selected[i], duration, rounds);
  }
  gauth_global_cleanup();
  return rc;
}
