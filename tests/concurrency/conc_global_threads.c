/* gauth_global_init / cleanup from many threads at once (run under TSan). */
#include <pthread.h>
#include <stdio.h>

#include <gauth/gauth.h>

#define THREADS 8
#define ROUNDS 200

static void *worker(void *arg) {
  long failures = 0;
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    if (gauth_global_init(&err) != GAUTH_OK) failures++;
    if (gauth_strerror(GAUTH_E_TIMEOUT)[0] == '\0') failures++;
    gauth_global_cleanup();
  }
  return (void *)failures;
}

int main(void) {
  pthread_t t[THREADS];
  long failures = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  /* Hold one reference so that threads also exercise the non-first path. */
  if (gauth_global_init(&err) != GAUTH_OK) {
    fprintf(stderr, "init: %s\n", err.message);
    return 1;
  }
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    failures += (long)r;
  }
  gauth_global_cleanup();
  if (failures != 0) {
    fprintf(stderr, "conc_global_threads: %ld failures\n", failures);
    return 1;
  }
  printf("conc_global_threads: %d threads x %d init/cleanup: ok\n", THREADS,
         ROUNDS);
  return 0;
}
