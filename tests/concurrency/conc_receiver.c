/* One receiver shared by 8 threads: Bearer ID tokens (RS256, keys served by
 * a loopback server standing in for www.googleapis.com through the
 * endpoint override) through a token cache smaller than the set of tokens
 * (hits, misses and evictions), signature-removed tokens under
 * trust_cloud_run, an allow list, Pub/Sub push envelopes, and refusals. A
 * plain program (Criterion cannot start under ThreadSanitizer): exits
 * non-zero on any wrong answer; TSan exits 66 on a race. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gauth/gauth.h>

#include "test_keys.h"
#include "test_server.h"

#define THREADS 8
#define PER_THREAD 300
#define TOKENS 12
#define CACHE 4
#define KID "conc-receiver-1"
#define AUD "https://collector.example.com/"
#define CALLER "job@demo.iam.gserviceaccount.com"
#define RUN_PORT 8080
#define PUSH                                              \
  "{\"message\":{\"data\":\"aGk=\",\"messageId\":\"7\"}," \
  "\"subscription\":\"projects/demo/subscriptions/s\"}"

static void die(const char *what) {
  fprintf(stderr, "conc_receiver: %s\n", what);
  exit(1);
}

static gauth_key *rsa_key(void) {
  EVP_PKEY *pk = tk_rsa(2048, 0);
  BIO *b = BIO_new(BIO_s_mem());
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *k = NULL;
  char *data;
  long n;
  if (pk == NULL || b == NULL ||
      !PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL))
    die("key");
  n = BIO_get_mem_data(b, &data);
  if (gauth_key_from_pem(&k, data, (size_t)n, &err) != GAUTH_OK)
    die(err.message);
  BIO_free(b);
  EVP_PKEY_free(pk);
  return k;
}

static char *jwks_of(const gauth_key *key) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *jwk = NULL, *out;
  cJSON *o, *set, *keys;
  if (gauth_key_public_jwk(key, &jwk, &err) != GAUTH_OK) die(err.message);
  o = cJSON_Parse(jwk);
  gauth_free(jwk);
  cJSON_DeleteItemFromObjectCaseSensitive(o, "kid");
  cJSON_AddStringToObject(o, "kid", KID);
  set = cJSON_CreateObject();
  keys = cJSON_AddArrayToObject(set, "keys");
  cJSON_AddItemToArray(keys, o);
  out = cJSON_PrintUnformatted(set);
  cJSON_Delete(set);
  return out;
}

/* An ID token for sub n (distinct tokens), from CALLER or another. */
static char *token(const gauth_key *key, int n, const char *email) {
  char claims[512], *out = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  long now = (long)time(NULL);
  snprintf(claims, sizeof claims,
           "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" AUD
           "\",\"sub\":\"%d\",\"email\":\"%s\",\"email_verified\":true,"
           "\"iat\":%ld,\"exp\":%ld}",
           n, email, now - 10, now + 3600);
  if (gauth_jwt_sign(key, GAUTH_ALG_RS256, KID, claims, &out, &err) != GAUTH_OK)
    die(err.message);
  return out;
}

static char *removed(const char *tok) {
  const char *dot = strrchr(tok, '.');
  size_t n = (size_t)(dot - tok) + 1;
  char *out = malloc(n + 32);
  if (out == NULL) die("malloc");
  memcpy(out, tok, n);
  strcpy(out + n, "SIGNATURE_REMOVED_BY_GOOGLE");
  return out;
}

typedef struct world {
  gauth_receiver *r;
  char *good[TOKENS];
  char *removed[TOKENS];
  char *stranger; /* valid, not on the allow list */
  int failures;   /* atomic */
} world;

typedef struct job {
  world *w;
  unsigned int seed;
} job;

static gauth_status call(gauth_receiver *r, const char *tok, unsigned int port,
                         gauth_receive_mode mode, const char *body,
                         gauth_caller **c, gauth_error *err) {
  char value[4096];
  gauth_http_header h;
  gauth_request req = GAUTH_REQUEST_INIT;
  snprintf(value, sizeof value, "Bearer %s", tok);
  h.name = "Authorization";
  h.name_len = 13;
  h.value = value;
  h.value_len = strlen(value);
  req.headers = &h;
  req.header_count = 1;
  req.local_port = port;
  req.body = body;
  req.body_len = body != NULL ? strlen(body) : 0;
  return gauth_receiver_verify(r, &req, mode, c, err);
}

static void *work(void *arg) {
  job *j = arg;
  world *w = j->w;
  for (int i = 0; i < PER_THREAD; i++) {
    gauth_caller *c = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    unsigned int pick = (unsigned int)rand_r(&j->seed);
    int k = (int)(pick % TOKENS), ok = 0;
    gauth_status st;
    switch ((pick / TOKENS) % 6) {
      case 0:
      case 1:
        st = call(w->r, w->good[k], 0, GAUTH_RECEIVE_BEARER, NULL, &c, &err);
        ok = st == GAUTH_OK && gauth_caller_signature_verified(c) == 1 &&
             strcmp(gauth_caller_email(c), CALLER) == 0;
        break;
      case 2:
        st = call(w->r, w->removed[k], RUN_PORT, GAUTH_RECEIVE_BEARER, NULL, &c,
                  &err);
        ok = st == GAUTH_OK && gauth_caller_signature_verified(c) == 0;
        break;
      case 3:
        st = call(w->r, w->removed[k], RUN_PORT + 1, GAUTH_RECEIVE_BEARER, NULL,
                  &c, &err);
        ok = st == GAUTH_E_VERIFY && err.http_status == 401 &&
             strcmp(err.reason, GAUTH_REASON_SIGNATURE_REMOVED) == 0;
        break;
      case 4:
        st = call(w->r, w->stranger, 0, GAUTH_RECEIVE_BEARER, NULL, &c, &err);
        ok = st == GAUTH_E_VERIFY && err.http_status == 403;
        break;
      default:
        st = call(w->r, w->good[k], 0, GAUTH_RECEIVE_PUBSUB_PUSH, PUSH, &c,
                  &err);
        ok = st == GAUTH_OK &&
             strcmp(gauth_caller_pubsub_message_id(c), "7") == 0;
        break;
    }
    if (!ok) {
      fprintf(stderr, "conc_receiver: case %u: %s %s\n", (pick / TOKENS) % 6,
              err.reason, err.message);
      __atomic_fetch_add(&w->failures, 1, __ATOMIC_SEQ_CST);
    }
    gauth_caller_free(c);
  }
  return NULL;
}

int main(void) {
  static const char *const aud[] = {AUD, NULL};
  static const char *const allow[] = {CALLER, NULL};
  gauth_key *key;
  char *jwks, base[128];
  ts_server *s;
  ts_response resp;
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_receiver_options ro = GAUTH_RECEIVER_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  world w;
  pthread_t th[THREADS];
  job jobs[THREADS];

  memset(&w, 0, sizeof(w));
  if (gauth_global_init(&err) != GAUTH_OK) die(err.message);
  key = rsa_key();
  jwks = jwks_of(key);
  s = ts_start();
  memset(&resp, 0, sizeof(resp));
  resp.body = jwks;
  resp.headers[0] = "Content-Type: application/json";
  resp.headers[1] = "Cache-Control: public, max-age=3600";
  ts_route(s, "/oauth2/v3/certs", &resp, 1);
  snprintf(base, sizeof base, "http://127.0.0.1:%u", ts_port(s));
  o.endpoint = base;
  ro.audiences = aud;
  ro.allowed_emails = allow;
  ro.trust_cloud_run = 1;
  ro.cloud_run_port = RUN_PORT;
  ro.token_cache_entries = CACHE;
  ro.http = &o;
  if (gauth_receiver_new(&w.r, &ro, &err) != GAUTH_OK) die(err.message);
  for (int i = 0; i < TOKENS; i++) {
    w.good[i] = token(key, i, CALLER);
    w.removed[i] = removed(w.good[i]);
  }
  w.stranger = token(key, 99, "stranger@elsewhere.example");

  for (int i = 0; i < THREADS; i++) {
    jobs[i].w = &w;
    jobs[i].seed = 7919u * (unsigned int)i + 3u;
    if (pthread_create(&th[i], NULL, work, &jobs[i]) != 0) die("thread");
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);

  for (int i = 0; i < TOKENS; i++) {
    gauth_free(w.good[i]);
    free(w.removed[i]);
  }
  gauth_free(w.stranger);
  gauth_receiver_free(w.r);
  ts_stop(s);
  cJSON_free(jwks);
  gauth_key_free(key);
  gauth_global_cleanup();
  if (w.failures != 0) {
    fprintf(stderr, "conc_receiver: %d of %d answers wrong\n", w.failures,
            THREADS * PER_THREAD);
    return 1;
  }
  printf("conc_receiver: %d requests on %d threads, all answered right\n",
         THREADS * PER_THREAD, THREADS);
  return 0;
}
