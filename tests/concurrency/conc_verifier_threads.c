/* One verifier with a remote key set shared by 16 threads while the server
 * rotates keys. A plain program (Criterion cannot start under
 * ThreadSanitizer): exits non-zero on any failure; TSan exits 66 on a race.
 *
 * The server serves generation g of the key set: {k_g, k_(g-1)}. Every
 * ROTATE_EVERY verifications the key set rotates to g+1 and the test clock
 * moves past the refetch cooldown, so the first token signed with the new
 * key finds an unknown kid and refetches (once: the other threads join
 * that fetch or find the new set). Workers verify tokens signed with the
 * current key or the previous one, all valid: every verification must
 * pass, and the server must see one fetch per rotation (plus the first).
 *
 * A rotation never overlaps a verification (a writer-preferring gate):
 * otherwise a thread that picked a token in generation g could be
 * verifying it after two more rotations, when its key is gone, and the
 * test would fail for a reason of its own making.
 *
 * A second round runs the same load through a verifier with a token
 * cache, so the cache's locking runs under TSan too. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gauth/gauth.h>

#include "test_server.h"

#define THREADS 16
#define PER_THREAD 40
#define TOTAL (THREADS * PER_THREAD)
#define ROTATE_EVERY 40
#define GENERATIONS (TOTAL / ROTATE_EVERY + 2)
#define COOLDOWN 5
#define T0 1764201600LL
#define PATH "/jwks"

static int64_t test_now = T0;

static int64_t test_clock(void *userdata) {
  (void)userdata;
  return __atomic_load_n(&test_now, __ATOMIC_SEQ_CST);
}

static void die(const char *what) {
  fprintf(stderr, "conc_verifier_threads: %s\n", what);
  exit(1);
}

static gauth_key *gen_key(void) {
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  BIO *b = BIO_new(BIO_s_mem());
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *k = NULL;
  char *data;
  long n;
  if (pk == NULL || b == NULL ||
      !PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL))
    die("key generation");
  n = BIO_get_mem_data(b, &data);
  if (gauth_key_from_pem(&k, data, (size_t)n, &err) != GAUTH_OK)
    die(err.message);
  BIO_free(b);
  EVP_PKEY_free(pk);
  return k;
}

static cJSON *public_jwk(const gauth_key *key, const char *kid) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *jwk = NULL;
  cJSON *o;
  if (gauth_key_public_jwk(key, &jwk, &err) != GAUTH_OK) die(err.message);
  o = cJSON_Parse(jwk);
  gauth_free(jwk);
  if (o == NULL) die("cJSON_Parse");
  cJSON_DeleteItemFromObjectCaseSensitive(o, "kid");
  cJSON_AddStringToObject(o, "kid", kid);
  return o;
}

/* ---- the shared state ---------------------------------------------------- */

typedef struct world {
  ts_server *s;
  gauth_verifier *v;
  gauth_key *keys[GENERATIONS];
  char kids[GENERATIONS][16];
  char *jwks[GENERATIONS];     /* generation g: {k_g, k_(g-1)} */
  char *tok_cur[GENERATIONS];  /* signed with k_g */
  char *tok_prev[GENERATIONS]; /* signed with k_(g-1) (k_0 for g = 0) */
  int gen;                     /* atomic */
  int done;                    /* atomic: verifications finished */
  int rotations;               /* under gate_mu */
  /* The gate: verifications in, rotations exclusive and preferred. */
  pthread_mutex_t gate_mu;
  pthread_cond_t gate_cv;
  int active;
  int rotating;
  int failures; /* atomic */
} world;

static void gate_enter(world *w) {
  pthread_mutex_lock(&w->gate_mu);
  while (w->rotating) pthread_cond_wait(&w->gate_cv, &w->gate_mu);
  w->active++;
  pthread_mutex_unlock(&w->gate_mu);
}

static void gate_leave(world *w) {
  pthread_mutex_lock(&w->gate_mu);
  if (--w->active == 0) pthread_cond_broadcast(&w->gate_cv);
  pthread_mutex_unlock(&w->gate_mu);
}

static void serve(world *w, int g) {
  ts_response r;
  memset(&r, 0, sizeof(r));
  r.body = w->jwks[g];
  r.headers[0] = "Content-Type: application/json";
  r.headers[1] = "Cache-Control: public, max-age=3600";
  ts_route(w->s, PATH, &r, 1);
}

static void rotate(world *w) {
  int g;
  pthread_mutex_lock(&w->gate_mu);
  while (w->rotating) pthread_cond_wait(&w->gate_cv, &w->gate_mu);
  w->rotating = 1;
  while (w->active > 0) pthread_cond_wait(&w->gate_cv, &w->gate_mu);
  pthread_mutex_unlock(&w->gate_mu);

  g = __atomic_load_n(&w->gen, __ATOMIC_SEQ_CST) + 1;
  if (g < GENERATIONS) {
    serve(w, g);
    __atomic_fetch_add(&test_now, COOLDOWN, __ATOMIC_SEQ_CST);
    __atomic_store_n(&w->gen, g, __ATOMIC_SEQ_CST);
  }

  pthread_mutex_lock(&w->gate_mu);
  if (g < GENERATIONS) w->rotations++;
  w->rotating = 0;
  pthread_cond_broadcast(&w->gate_cv);
  pthread_mutex_unlock(&w->gate_mu);
}

static void *worker(void *arg) {
  world *w = arg;
  int i;
  for (i = 0; i < PER_THREAD; i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_claims *c = NULL;
    const char *tok;
    int g, n;
    gauth_status st;

    gate_enter(w);
    g = __atomic_load_n(&w->gen, __ATOMIC_SEQ_CST);
    tok = (i % 2 == 0) ? w->tok_cur[g] : w->tok_prev[g];
    st = gauth_verifier_verify(w->v, tok, 0, &c, &err);
    gate_leave(w);

    if (st != GAUTH_OK || c == NULL || gauth_claims_subject(c) == NULL ||
        strcmp(gauth_claims_subject(c), "worker") != 0) {
      fprintf(stderr, "generation %d, %s token: %s: %s\n", g,
              i % 2 == 0 ? "current" : "previous", err.reason, err.message);
      __atomic_fetch_add(&w->failures, 1, __ATOMIC_SEQ_CST);
    }
    gauth_claims_free(c);
    n = __atomic_add_fetch(&w->done, 1, __ATOMIC_SEQ_CST);
    if (n % ROTATE_EVERY == 0 && n < TOTAL) rotate(w);
  }
  return NULL;
}

static gauth_verifier *make_verifier(world *w, size_t cache_entries) {
  static const char *const auds[] = {"https://svc.example/", NULL};
  static const char *const isss[] = {"https://issuer.example", NULL};
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_verifier *v = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  http.retry.max_attempts = 2;
  http.retry.initial_backoff_ms = 5;
  http.timeout_ms = 20000;
  o.audiences = auds;
  o.issuers = isss;
  o.jwks_url = ts_url(w->s, PATH, url, sizeof(url));
  o.clock = test_clock;
  o.keys_refetch_cooldown = COOLDOWN;
  o.token_cache_entries = cache_entries;
  o.http = &http;
  if (gauth_verifier_new(&v, &o, &err) != GAUTH_OK) die(err.message);
  return v;
}

/* One round: THREADS workers, rotations on the way. Returns failures. */
static int run_round(world *w, size_t cache_entries, const char *name) {
  pthread_t tid[THREADS];
  unsigned int fetches;
  int i, failures;

  __atomic_store_n(&w->gen, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&w->done, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&w->failures, 0, __ATOMIC_SEQ_CST);
  w->rotations = 0;
  serve(w, 0);
  w->v = make_verifier(w, cache_entries);
  {
    /* Fetches are counted from here. */
    unsigned int before = ts_count(w->s, PATH);
    for (i = 0; i < THREADS; i++)
      if (pthread_create(&tid[i], NULL, worker, w) != 0) die("pthread_create");
    for (i = 0; i < THREADS; i++) pthread_join(tid[i], NULL);
    fetches = ts_count(w->s, PATH) - before;
  }
  gauth_verifier_free(w->v);
  w->v = NULL;
  failures = __atomic_load_n(&w->failures, __ATOMIC_SEQ_CST);
  printf(
      "conc_verifier_threads (%s): %d verifications, %d failures, "
      "%d rotations, %u key set fetches\n",
      name, __atomic_load_n(&w->done, __ATOMIC_SEQ_CST), failures, w->rotations,
      fetches);
  if (__atomic_load_n(&w->done, __ATOMIC_SEQ_CST) != TOTAL) {
    fprintf(stderr, "%s: verifications do not add up\n", name);
    failures++;
  }
  if (w->rotations != TOTAL / ROTATE_EVERY - 1) {
    fprintf(stderr, "%s: %d rotations\n", name, w->rotations);
    failures++;
  }
  /* One fetch to start, then at most one per rotation: single flight and
   * the cooldown. Without a cache every rotation is seen (each generation
   * verifies tokens of its new key); with one, cached tokens may hide a
   * rotation, never add a fetch. */
  if (fetches > (unsigned int)w->rotations + 1 ||
      (cache_entries == 0 && fetches != (unsigned int)w->rotations + 1)) {
    fprintf(stderr, "%s: %u fetches for %d rotations\n", name, fetches,
            w->rotations);
    failures++;
  }
  return failures;
}

int main(void) {
  static world w;
  int g, failures = 0;

  w.s = ts_start();
  pthread_mutex_init(&w.gate_mu, NULL);
  pthread_cond_init(&w.gate_cv, NULL);
  for (g = 0; g < GENERATIONS; g++) {
    snprintf(w.kids[g], sizeof(w.kids[g]), "gen-%d", g);
    w.keys[g] = gen_key();
  }
  for (g = 0; g < GENERATIONS; g++) {
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    gauth_error err = GAUTH_ERROR_INIT;
    int prev = g > 0 ? g - 1 : 0;
    char claims[256];
    cJSON_AddItemToArray(arr, public_jwk(w.keys[g], w.kids[g]));
    if (g > 0)
      cJSON_AddItemToArray(arr, public_jwk(w.keys[prev], w.kids[prev]));
    cJSON_AddItemToObject(root, "keys", arr);
    w.jwks[g] = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"https://issuer.example\",\"sub\":\"worker\","
             "\"aud\":\"https://svc.example/\",\"iat\":%lld,\"exp\":%lld,"
             "\"g\":%d}",
             T0 - 10, T0 + 86400, g);
    if (gauth_jwt_sign(w.keys[g], GAUTH_ALG_UNKNOWN, w.kids[g], claims,
                       &w.tok_cur[g], &err) != GAUTH_OK ||
        gauth_jwt_sign(w.keys[prev], GAUTH_ALG_UNKNOWN, w.kids[prev], claims,
                       &w.tok_prev[g], &err) != GAUTH_OK)
      die(err.message);
  }

  failures += run_round(&w, 0, "no token cache");
  failures += run_round(&w, 64, "token cache");

  for (g = 0; g < GENERATIONS; g++) {
    gauth_key_free(w.keys[g]);
    free(w.jwks[g]);
    gauth_free(w.tok_cur[g]);
    gauth_free(w.tok_prev[g]);
  }
  pthread_mutex_destroy(&w.gate_mu);
  pthread_cond_destroy(&w.gate_cv);
  ts_stop(w.s);
  return failures == 0 ? 0 : 1;
}
