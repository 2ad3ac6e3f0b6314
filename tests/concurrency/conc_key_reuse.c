/* Keys made and freed over and over, in one thread and across threads:
 * a verification must always use the key it was given, never a context a
 * thread kept for an earlier key, even when the new key lies at the freed
 * one's address (malloc hands the same block back at once). A plain
 * program, so that it also runs under ThreadSanitizer: exits non-zero on
 * any failure; TSan exits 66 on a race.
 *
 * Each key verifies its own signature (which must pass) and the signatures
 * of the other keys of its type over their own data (which must fail with
 * "signature_invalid"): a thread that matched its contexts by address
 * would verify the previous key's signature with the new key and pass it.
 * How often a new key did land on a freed one's address is printed (it
 * depends on the allocator: ASan and valgrind keep freed blocks aside). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gauth/gauth.h>

#define N_KEYS 6 /* 0..3: P-256 (ES256); 4..5: RSA (RS256, PS256) */
#define CYCLES 240
#define THREADS 4
#define ROUNDS 60

typedef struct key_data {
  char *pem;
  int is_rsa;
  char data[32];
  unsigned char sig[2][512]; /* [0]: ES256 or RS256; [1]: PS256 */
  size_t sig_len[2];
} key_data;

static key_data keys[N_KEYS];
static int failures;
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what) {
  fprintf(stderr, "conc_key_reuse: %s\n", what);
  exit(1);
}

static void fail(const char *what, int i, int j) {
  pthread_mutex_lock(&fail_mu);
  if (failures++ < 10)
    fprintf(stderr, "conc_key_reuse: FAIL: %s (key %d, signature of key %d)\n",
            what, i, j);
  pthread_mutex_unlock(&fail_mu);
}

static char *gen_pem(int rsa) {
  EVP_PKEY *pk = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  BIO *b = BIO_new(BIO_s_mem());
  char *data, *pem;
  long n;
  if (pk == NULL || b == NULL ||
      !PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL))
    die("key generation");
  n = BIO_get_mem_data(b, &data);
  pem = malloc((size_t)n + 1);
  if (pem == NULL) die("out of memory");
  memcpy(pem, data, (size_t)n);
  pem[n] = '\0';
  BIO_free(b);
  EVP_PKEY_free(pk);
  return pem;
}

static gauth_alg alg_of(int i, int which) {
  if (!keys[i].is_rsa) return GAUTH_ALG_ES256;
  return which == 0 ? GAUTH_ALG_RS256 : GAUTH_ALG_PS256;
}

static gauth_key *load(int i) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *k = NULL;
  if (gauth_key_from_pem(&k, keys[i].pem, strlen(keys[i].pem), &err) !=
      GAUTH_OK)
    die(err.message);
  return k;
}

/* k (a fresh object for keys[i]) verifies keys[i]'s signatures and refuses
 * every other key's of its type. */
static void check_key(const gauth_key *k, int i) {
  int which, j;
  for (which = 0; which < (keys[i].is_rsa ? 2 : 1); which++) {
    gauth_alg alg = alg_of(i, which);
    for (j = 0; j < N_KEYS; j++) {
      gauth_error err = GAUTH_ERROR_INIT;
      gauth_status st;
      if (keys[j].is_rsa != keys[i].is_rsa) continue;
      st = gauth_key_verify(k, alg, keys[j].data, strlen(keys[j].data),
                            keys[j].sig[which], keys[j].sig_len[which], &err);
      if (j == i && st != GAUTH_OK) fail(err.message, i, j);
      if (j != i && (st != GAUTH_E_VERIFY ||
                     strcmp(err.reason, GAUTH_REASON_SIGNATURE_INVALID) != 0))
        fail("another key's signature verified (or failed oddly)", i, j);
    }
  }
}

/* ---- one thread ---------------------------------------------------------- */

static void one_thread(void) {
  uintptr_t prev = 0;
  int c, reused = 0;
  for (c = 0; c < CYCLES; c++) {
    /* Not in key order: the new key differs from the one freed just now,
     * and usually from those before it. */
    int i = (c * 5 + c / N_KEYS) % N_KEYS;
    gauth_key *k = load(i);
    if ((uintptr_t)k == prev) reused++;
    check_key(k, i);
    prev = (uintptr_t)k;
    gauth_key_free(k);
  }
  printf("one thread: %d cycles, %d new keys at the address just freed\n",
         CYCLES, reused);
}

/* ---- threads ------------------------------------------------------------- */

/* Each round the main thread makes a key, every worker checks it (its
 * contexts for the previous rounds' keys still in place), and the main
 * thread frees it after the barrier. */
static pthread_barrier_t start_round, end_round;
static gauth_key *round_key;
static int round_index;

static void *worker(void *arg) {
  int r;
  (void)arg;
  for (r = 0; r < ROUNDS; r++) {
    pthread_barrier_wait(&start_round);
    check_key(round_key, round_index);
    /* A key of this thread's own, made and freed here. */
    {
      int i = (round_index + 1) % N_KEYS;
      gauth_key *k = load(i);
      check_key(k, i);
      gauth_key_free(k);
    }
    pthread_barrier_wait(&end_round);
  }
  return NULL;
}

static void threads(void) {
  pthread_t t[THREADS];
  uintptr_t prev = 0;
  int r, i, reused = 0;
  if (pthread_barrier_init(&start_round, NULL, THREADS + 1) != 0 ||
      pthread_barrier_init(&end_round, NULL, THREADS + 1) != 0)
    die("pthread_barrier_init");
  for (i = 0; i < THREADS; i++)
    if (pthread_create(&t[i], NULL, worker, NULL) != 0) die("pthread_create");
  for (r = 0; r < ROUNDS; r++) {
    round_index = (r * 5) % N_KEYS;
    round_key = load(round_index);
    if ((uintptr_t)round_key == prev) reused++;
    prev = (uintptr_t)round_key;
    pthread_barrier_wait(&start_round);
    pthread_barrier_wait(&end_round);
    gauth_key_free(round_key);
    round_key = NULL;
  }
  for (i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&start_round);
  pthread_barrier_destroy(&end_round);
  printf("%d threads: %d rounds, %d new keys at the address just freed\n",
         THREADS, ROUNDS, reused);
}

int main(void) {
  gauth_error err = GAUTH_ERROR_INIT;
  int i, which;
  if (gauth_global_init(&err) != GAUTH_OK) die(err.message);
  for (i = 0; i < N_KEYS; i++) {
    gauth_key *k;
    keys[i].is_rsa = i >= 4;
    keys[i].pem = gen_pem(keys[i].is_rsa);
    snprintf(keys[i].data, sizeof keys[i].data, "data signed by key %d", i);
    k = load(i);
    for (which = 0; which < (keys[i].is_rsa ? 2 : 1); which++) {
      keys[i].sig_len[which] = sizeof keys[i].sig[which];
      if (gauth_key_sign(k, alg_of(i, which), keys[i].data,
                         strlen(keys[i].data), keys[i].sig[which],
                         &keys[i].sig_len[which], &err) != GAUTH_OK)
        die(err.message);
    }
    gauth_key_free(k);
  }
  one_thread();
  threads();
  for (i = 0; i < N_KEYS; i++) free(keys[i].pem);
  gauth_global_cleanup();
  if (failures > 0) {
    fprintf(stderr, "conc_key_reuse: %d failure(s)\n", failures);
    return 1;
  }
  printf("conc_key_reuse: ok\n");
  return 0;
}
