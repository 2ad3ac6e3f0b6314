/* Soak: SOAK_HOURS simulated hours (default 24) against an emulator of its
 * own, its clock moved forward in 2-minute steps (POST /emulator/v1/clock),
 * each hour taking SOAK_SECONDS_PER_HOUR real seconds (default 10), with
 * 10% random faults on every route the loop uses (the emulator's
 * `fraction`): 503 on /token, resets on the metadata server, 500 on the key
 * set. 8 threads ask one service-account credential and one metadata
 * credential for access and ID tokens, and verify the ID tokens with one
 * verifier on the emulator's key set; the credentials and the verifier run
 * on an injected clock that follows the emulator's.
 *
 * Checked and reported:
 *   - no expired token is ever returned (each token's expiry against the
 *     clock when the call returns);
 *   - token requests per simulated hour, per route (the emulator's
 *     counters), within what refreshes need: 2 cached tokens per route,
 *     each refreshed about once an hour (lifetime 3600 s, refresh 225 s
 *     early), each refresh up to 3 attempts under the faults;
 *   - memory flat: the RSS at the end within 4 MiB of the RSS after the
 *     first two hours (warm-up);
 *   - nothing lost: every call returned a token or an error, counted.
 * Exit 0 when all hold. Run by `make soak`; not part of `make test`. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "emu_spawn.h"

/* Under AddressSanitizer the RSS grows with its quarantine of freed
 * memory (256 MiB by default), not with the program's: it is reported,
 * not judged. LeakSanitizer judges leaks there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_JUDGED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_JUDGED 0
#endif
#endif
#ifndef RSS_JUDGED
#define RSS_JUDGED 1
#endif

#define THREADS 8
#define STEP_SECONDS 120 /* the clock moves 2 minutes at a time */
#define MD_SA "/computeMetadata/v1/instance/service-accounts/default/"
#define MAX_HOURS 1000

static emu_proc g_emu;
static _Atomic int64_t g_offset;
static atomic_int g_stop;
static char g_audience[300];

static int64_t soak_clock(void *ud) {
  (void)ud;
  return (int64_t)time(NULL) + atomic_load(&g_offset);
}

enum { OP_SA_ACCESS, OP_SA_ID, OP_MD_ACCESS, OP_MD_ID, OP_VERIFY, OP_N };
static const char *const k_op_names[OP_N] = {
    "sa access token", "sa ID token", "metadata access token",
    "metadata ID token", "verify ID token"};

typedef struct counts {
  atomic_long calls[OP_N], ok[OP_N], err[OP_N];
  atomic_long expired; /* tokens returned past their expiry */
} counts;
static counts g_n;

static gauth_credentials *g_sa, *g_md;
static gauth_verifier *g_verifier;

static void record(int op, gauth_status st) {
  atomic_fetch_add(&g_n.calls[op], 1);
  if (st == GAUTH_OK)
    atomic_fetch_add(&g_n.ok[op], 1);
  else
    atomic_fetch_add(&g_n.err[op], 1);
}

/* One token call; its token is checked against the clock at return and
 * handed back (gauth_free) for ID tokens to verify. */
static char *token_call(int op) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  int64_t exp = 0;
  gauth_status st;
  switch (op) {
    case OP_SA_ACCESS:
      st = gauth_credentials_access_token(g_sa, NULL, &tok, &exp, &err);
      break;
    case OP_SA_ID:
      st = gauth_credentials_id_token(g_sa, g_audience, 0, &tok, &exp, &err);
      break;
    case OP_MD_ACCESS:
      st = gauth_credentials_access_token(g_md, NULL, &tok, &exp, &err);
      break;
    default:
      st = gauth_credentials_id_token(g_md, g_audience, 0, &tok, &exp, &err);
      break;
  }
  if (st == GAUTH_OK && (tok == NULL || exp <= soak_clock(NULL))) {
    atomic_fetch_add(&g_n.expired, 1);
    fprintf(stderr, "soak: FAIL: %s: a token that expired at %lld, now %lld\n",
            k_op_names[op], (long long)exp, (long long)soak_clock(NULL));
  }
  record(op, st);
  return tok;
}

static void *worker(void *arg) {
  unsigned int i = (unsigned int)(uintptr_t)arg;
  struct timespec pause = {0, 2000000L};
  while (!atomic_load(&g_stop)) {
    int op = (int)(i++ % 4);
    char *tok = token_call(op);
    if (tok != NULL && (op == OP_SA_ID || op == OP_MD_ID)) {
      gauth_error err = GAUTH_ERROR_INIT;
      gauth_claims *cl = NULL;
      record(OP_VERIFY, gauth_verifier_verify(g_verifier, tok, 0, &cl, &err));
      gauth_claims_free(cl);
    }
    gauth_free(tok);
    nanosleep(&pause, NULL);
  }
  return NULL;
}

static long rss_kib(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(g_emu.base, path, body, &out);
  if (st != 200) {
    fprintf(stderr, "soak: %s: HTTP %ld %s\n", path, st, out ? out : "");
    exit(1);
  }
  free(out);
}

static void move_clock(int64_t offset) {
  char body[64];
  snprintf(body, sizeof body, "{\"offset_seconds\":%lld}", (long long)offset);
  /* The emulator first: an assertion is then never dated after its clock. */
  control("/emulator/v1/clock", body);
  atomic_store(&g_offset, offset);
}

static long env_long(const char *name, long def, long lo, long hi) {
  const char *v = getenv(name);
  long n = v != NULL ? strtol(v, NULL, 10) : def;
  return n < lo ? lo : n > hi ? hi : n;
}

static void setup(char *md_host, size_t md_len) {
  static gauth_options o = GAUTH_OPTIONS_INIT;
  static const char *aud[2];
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char msg[512];
  if (emu_spawn(&g_emu, getenv("GAUTH_EMULATOR_BIN"), "soak", msg,
                sizeof msg) != 0) {
    fprintf(stderr, "soak: %s\n", msg);
    exit(1);
  }
  snprintf(md_host, md_len, "%.100s", g_emu.base + 7);
  snprintf(g_audience, sizeof g_audience, "%s/services/collector",
           g_emu.run_base);
  o.endpoint = g_emu.base;
  o.metadata_host = md_host;
  o.metadata_ip = md_host;
  o.metadata_detection = GAUTH_METADATA_DETECT_ASSUME_PRESENT;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 50;
  o.retry.deadline_ms = 10000;
  o.timeout_ms = 5000;
  o.log_level = GAUTH_LOG_OFF;
  co.options = &o;
  co.clock = soak_clock;
  co.self_signed_jwt = GAUTH_SELF_SIGNED_JWT_NEVER;
  if (gauth_credentials_from_file(&g_sa, g_emu.key_file, &co, &err) !=
          GAUTH_OK ||
      gauth_credentials_from_metadata(&g_md, &co, &err) != GAUTH_OK) {
    fprintf(stderr, "soak: credentials: %s\n", err.message);
    exit(1);
  }
  aud[0] = g_audience;
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = aud;
  vo.http = &o;
  vo.clock = soak_clock;
  if (gauth_verifier_new(&g_verifier, &vo, &err) != GAUTH_OK) {
    fprintf(stderr, "soak: verifier: %s\n", err.message);
    exit(1);
  }
  control("/emulator/v1/faults",
          "{\"route\":\"/token\",\"kind\":\"status\",\"status\":503,"
          "\"fraction\":0.1}");
  control("/emulator/v1/faults",
          "{\"route\":\"/computeMetadata/\",\"kind\":\"reset\","
          "\"fraction\":0.1}");
  control("/emulator/v1/faults",
          "{\"route\":\"/oauth2/v3/certs\",\"kind\":\"status\",\"status\":500,"
          "\"fraction\":0.1}");
}

int main(void) {
  long hours = env_long("SOAK_HOURS", 24, 1, MAX_HOURS);
  long sec_per_hour = env_long("SOAK_SECONDS_PER_HOUR", 10, 1, 3600);
  long steps = 3600 / STEP_SECONDS;
  long rss[MAX_HOURS + 1], tok_req[MAX_HOURS], md_req[MAX_HOURS],
      key_req[MAX_HOURS];
  long max_tok = 0, max_md = 0, total = 0, lost = 0, failures = 0;
  char md_host[128], how[128];
  pthread_t th[THREADS];
  int failed = 0;
  struct timespec step_wait;
  int64_t offset = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (gauth_global_init(NULL) != GAUTH_OK) return 1;
  setup(md_host, sizeof md_host);
  step_wait.tv_sec = sec_per_hour / steps;
  step_wait.tv_nsec = (sec_per_hour * 1000 / steps % 1000) * 1000000L;
  rss[0] = rss_kib();
  control("/emulator/v1/counters:reset", "{}");
  for (int i = 0; i < THREADS; i++)
    pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);

  printf("soak: %ld simulated hours, %ld s each, %d threads, 10%% faults\n",
         hours, sec_per_hour, THREADS);
  printf("hour  /token  metadata  keys  rss_kib\n");
  for (long h = 0; h < hours; h++) {
    for (long s = 0; s < steps; s++) {
      nanosleep(&step_wait, NULL);
      offset += STEP_SECONDS;
      move_clock(offset);
    }
    tok_req[h] = emu_counter(g_emu.base, "/token");
    md_req[h] = emu_counter(g_emu.base, MD_SA "token") +
                emu_counter(g_emu.base, MD_SA "identity");
    key_req[h] = emu_counter(g_emu.base, "/oauth2/v3/certs");
    control("/emulator/v1/counters:reset", "{}");
    rss[h + 1] = rss_kib();
    printf("%4ld  %6ld  %8ld  %4ld  %7ld\n", h + 1, tok_req[h], md_req[h],
           key_req[h], rss[h + 1]);
    if (tok_req[h] > max_tok) max_tok = tok_req[h];
    if (md_req[h] > max_md) max_md = md_req[h];
  }
  atomic_store(&g_stop, 1);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);

  for (int op = 0; op < OP_N; op++) {
    long c = atomic_load(&g_n.calls[op]), ok = atomic_load(&g_n.ok[op]),
         er = atomic_load(&g_n.err[op]);
    printf("%-22s calls %8ld  ok %8ld  errors %4ld\n", k_op_names[op], c, ok,
           er);
    total += c;
    failures += er;
    lost += c - ok - er;
  }
  printf("calls %ld, errors %ld, lost %ld, expired tokens returned %ld\n",
         total, failures, lost, (long)atomic_load(&g_n.expired));
  printf(
      "token requests per simulated hour: /token max %ld, metadata max "
      "%ld (bound 12 each: 2 tokens x 2 refreshes x 3 attempts)\n",
      max_tok, max_md);

  if (atomic_load(&g_n.expired) != 0) failed = 1;
  if (lost != 0) failed = 1;
  if (max_tok > 12 || max_md > 12) {
    fprintf(stderr, "soak: FAIL: more token requests than refreshes need\n");
    failed = 1;
  }
  /* Every hour refreshes (each token is refreshed every ~3400 s). */
  for (long h = 1; h < hours; h++)
    if (tok_req[h] < 1 || md_req[h] < 1) {
      fprintf(stderr,
              "soak: FAIL: hour %ld: no refresh (/token %ld, "
              "metadata %ld)\n",
              h + 1, tok_req[h], md_req[h]);
      failed = 1;
    }
  if (hours >= 4) {
    long warm = rss[2], last = rss[hours];
    printf("rss after warm-up %ld KiB, at the end %ld KiB (%+ld)\n", warm, last,
           last - warm);
    if (!RSS_JUDGED)
      printf("rss not judged under AddressSanitizer (its quarantine)\n");
    else if (last - warm > 4096) {
      fprintf(stderr, "soak: FAIL: memory grew by %ld KiB\n", last - warm);
      failed = 1;
    }
  }

  gauth_verifier_free(g_verifier);
  gauth_credentials_free(g_sa);
  gauth_credentials_free(g_md);
  if (emu_spawn_stop(&g_emu, how, sizeof how) != 0) {
    fprintf(stderr, "soak: FAIL: the emulator ended with %s\n", how);
    emu_spawn_print_stderr_tail(&g_emu);
    failed = 1;
  }
  emu_spawn_cleanup(&g_emu);
  gauth_global_cleanup();
  printf("soak: %s\n", failed ? "FAIL" : "PASS");
  return failed;
}
