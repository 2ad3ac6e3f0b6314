/* Executable-sourced subject tokens under contention: 16 threads ask one
 * credential for its subject token at the same moment. With an
 * expiration_time in the response the command runs once and every thread
 * gets its token; without one nothing is reused, so it runs once per
 * thread, and never twice at the same time (the script takes a lock
 * directory with mkdir and records any overlap).
 *
 * A plain program (no Criterion: it cannot start under ThreadSanitizer
 * here), run natively, under valgrind and under TSan. No network: the
 * subject token is fetched through the internal source function, not
 * exchanged at STS. Exit 0 on success, 1 on a failure. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gauth/gauth.h>

#include "cred_external.h"
#include "credentials_internal.h"
#include "secret.h"

#define THREADS 16
#define TOKEN "subject-token-of-the-script"

static int failures;
static char dir[64];
static pthread_barrier_t start;

#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (!(cond)) {                                        \
      __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST); \
      fprintf(stderr, "FAIL line %d: ", __LINE__);        \
      fprintf(stderr, __VA_ARGS__);                       \
      fputc('\n', stderr);                                \
    }                                                     \
  } while (0)

static void write_script(int with_expiry) {
  char path[128], text[2048], exp[64] = "";
  if (with_expiry)
    snprintf(exp, sizeof exp, ",\"expiration_time\":%ld",
             (long)time(NULL) + 3600);
  snprintf(text, sizeof text,
           "#!/bin/sh\n"
           "mkdir %s/lock 2>/dev/null || echo overlap >> %s/overlap\n"
           "echo run >> %s/count\n"
           "sleep 0.2\n"
           "rmdir %s/lock\n"
           "echo '{\"version\":1,\"success\":true,\"token_type\":"
           "\"urn:ietf:params:oauth:token-type:jwt\",\"id_token\":\"" TOKEN
           "\"%s}'\n",
           dir, dir, dir, dir, exp);
  snprintf(path, sizeof path, "%s/tok.sh", dir);
  FILE *f = fopen(path, "w");
  if (f == NULL) exit(1);
  fputs(text, f);
  fclose(f);
  chmod(path, 0700);
}

static int lines(const char *name) {
  char path[128];
  int n = 0, ch;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  while ((ch = fgetc(f)) != EOF) n += ch == '\n';
  fclose(f);
  unlink(path);
  return n;
}

static gauth_credentials *load(void) {
  char json[1024];
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(json, sizeof json,
           "{\"type\":\"external_account\",\"audience\":\"//"
           "iam.googleapis.com/projects/1/locations/global/"
           "workloadIdentityPools/p/providers/x\",\"subject_token_type\":"
           "\"urn:ietf:params:oauth:token-type:jwt\",\"credential_source\":"
           "{\"executable\":{\"command\":\"%s/tok.sh\"}}}",
           dir);
  if (gauth_credentials_from_json(&c, json, strlen(json), NULL, &err) !=
      GAUTH_OK) {
    fprintf(stderr, "FAIL: %s\n", err.message);
    exit(1);
  }
  return c;
}

static void *worker(void *arg) {
  gauth_credentials *c = arg;
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  pthread_barrier_wait(&start);
  gauth_status st = gauth__external_exec_subject_token(
      c, gauth__credentials_impl(c), &tok, &err);
  CHECK(st == GAUTH_OK, "subject token: %s", err.message);
  CHECK(tok != NULL && strcmp(tok, TOKEN) == 0, "another token");
  gauth__secret_strfree(tok);
  return NULL;
}

static void round_of(int with_expiry, int want_runs) {
  pthread_t th[THREADS];
  write_script(with_expiry);
  gauth_credentials *c = load();
  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++)
    if (pthread_create(&th[i], NULL, worker, c) != 0) exit(1);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  gauth_credentials_free(c);
  int runs = lines("count"), overlaps = lines("overlap");
  CHECK(runs == want_runs, "%d runs, expected %d", runs, want_runs);
  CHECK(overlaps == 0, "%d runs overlapped another", overlaps);
  int st;
  CHECK(waitpid(-1, &st, WNOHANG) == -1, "a child left unreaped");
}

int main(void) {
  char cmd[128];
  snprintf(dir, sizeof dir, "/tmp/gauth-conc-exec-XXXXXX");
  if (mkdtemp(dir) == NULL) return 1;
  setenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1", 1);
  round_of(1, 1);
  round_of(0, THREADS);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) failures++;
  if (failures == 0) printf("ok\n");
  return failures ? 1 : 0;
}
