/* lib/verifier_keysource.c against a real HTTP server on 127.0.0.1 serving
 * key sets built at run time: Cache-Control / Age freshness, rotation with
 * one refetch, the unknown-kid cooldown, serving stale after a failed
 * refresh and failing after max_stale, the PEM certificate map, single
 * flight.
 *
 * Time is a test clock (seconds) that tests move by hand; fetches are
 * counted by the server (ts_count) and by the source. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config.h"
#include "http.h"
#include "jose_internal.h"
#include "verifier_keysource.h"
#include "test_jose.h"
#include "test_server.h"
#include "test_util.h"

#define T0 1764201600LL
#define PATH "/jwks"

/* ---- helpers ------------------------------------------------------------- */

static int64_t test_now = T0;

static int64_t test_clock(void *userdata) {
  (void)userdata;
  return __atomic_load_n(&test_now, __ATOMIC_SEQ_CST);
}

static void set_now(int64_t t) {
  __atomic_store_n(&test_now, t, __ATOMIC_SEQ_CST);
}

static gauth_options http_options(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.connect_timeout_ms = 2000;
  o.timeout_ms = 3000;
  o.retry.max_attempts = 1; /* a failure is one request */
  return o;
}

static gauth__http *http_new(void) {
  gauth_options o = http_options();
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__http *h = NULL;
  cr_assert_eq(gauth__config_init(&cfg, &o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth__http_new(&h, &cfg, &err), GAUTH_OK, "%s", err.message);
  gauth__config_cleanup(&cfg);
  return h;
}

/* Serves body at PATH with the given headers (NULL-terminated, <= 7). */
static void serve(ts_server *s, const char *body, const char *h1,
                  const char *h2) {
  ts_response r;
  memset(&r, 0, sizeof(r));
  r.kind = TS_REPLY;
  r.status = 200;
  r.body = body;
  r.headers[0] = "Content-Type: application/json";
  r.headers[1] = h1;
  r.headers[2] = h1 != NULL ? h2 : NULL;
  ts_route(s, PATH, &r, 1);
}

static void serve_status(ts_server *s, ts_kind kind, int status) {
  ts_response r;
  memset(&r, 0, sizeof(r));
  r.kind = kind;
  r.status = status;
  ts_route(s, PATH, &r, 1);
}

typedef struct fixture {
  ts_server *s;
  gauth__http *h;
  gauth__keysource *ks;
  gauth_key *k1, *k2;
  char url[256];
} fixture;

static void fixture_start(fixture *f, const gauth__keysource_params *p) {
  gauth__keysource_params def;
  gauth_error err = GAUTH_ERROR_INIT;
  memset(f, 0, sizeof(*f));
  memset(&def, 0, sizeof(def));
  def.clock = test_clock;
  if (p == NULL) p = &def;
  set_now(T0);
  f->s = ts_start();
  f->h = http_new();
  f->k1 = tj_gen_key(0);
  f->k2 = tj_gen_key(0);
  ts_url(f->s, PATH, f->url, sizeof(f->url));
  cr_assert_eq(gauth__keysource_new(&f->ks, f->h, f->url, p, &err), GAUTH_OK,
               "%s", err.message);
}

static void fixture_stop(fixture *f) {
  gauth__keysource_free(f->ks);
  gauth__http_free(f->h);
  gauth_key_free(f->k1);
  gauth_key_free(f->k2);
  ts_stop(f->s);
}

static void serve_keys(fixture *f, int both, const char *h1, const char *h2) {
  gauth_key *keys[2] = {f->k1, f->k2};
  const char *kids[2] = {"k1", "k2"};
  char *body = tj_jwks_of(keys, kids, both ? 2 : 1);
  serve(f->s, body, h1, h2);
  free(body);
}

/* Gets the set; asserts success; returns its size. */
static size_t get_ok(fixture *f, int64_t *fresh_until) {
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t n;
  cr_assert_eq(gauth__keysource_get(f->ks, &set, fresh_until, &err), GAUTH_OK,
               "%s", err.message);
  cr_assert_not_null(set);
  n = gauth_keyset_count(set);
  gauth_keyset_free(set);
  return n;
}

static gauth__keysource_params params(void) {
  gauth__keysource_params p;
  memset(&p, 0, sizeof(p));
  p.clock = test_clock;
  return p;
}

/* ---- freshness -----------------------------------------------------------*/

Test(keysource, max_age_honoured) {
  fixture f;
  int64_t fresh = 0;
  fixture_start(&f, NULL);
  serve_keys(&f, 0, "Cache-Control: public, max-age=300", NULL);
  cr_assert_eq(get_ok(&f, &fresh), 1);
  cr_assert_eq(fresh, T0 + 300);
  cr_assert_eq(ts_count(f.s, PATH), 1);
  set_now(T0 + 299);
  get_ok(&f, NULL);
  cr_assert_eq(ts_count(f.s, PATH), 1);
  set_now(T0 + 300);
  get_ok(&f, &fresh);
  cr_assert_eq(ts_count(f.s, PATH), 2);
  cr_assert_eq(fresh, T0 + 600);
  cr_assert_eq(gauth__keysource_fetch_count(f.ks), 2);
  fixture_stop(&f);
}

Test(keysource, age_subtracted) {
  fixture f;
  int64_t fresh = 0;
  fixture_start(&f, NULL);
  serve_keys(&f, 0, "Cache-Control: max-age=300, must-revalidate", "Age: 100");
  get_ok(&f, &fresh);
  cr_assert_eq(fresh, T0 + 200);
  set_now(T0 + 199);
  get_ok(&f, NULL);
  cr_assert_eq(ts_count(f.s, PATH), 1);
  set_now(T0 + 200);
  get_ok(&f, NULL);
  cr_assert_eq(ts_count(f.s, PATH), 2);
  fixture_stop(&f);
}

Test(keysource, no_cache_control_default_ttl) {
  fixture f;
  gauth__keysource_params p = params();
  int64_t fresh = 0;
  p.default_ttl = 500;
  fixture_start(&f, &p);
  serve_keys(&f, 0, NULL, NULL);
  get_ok(&f, &fresh);
  cr_assert_eq(fresh, T0 + 500);
  set_now(T0 + 499);
  get_ok(&f, NULL);
  cr_assert_eq(ts_count(f.s, PATH), 1);
  set_now(T0 + 500);
  get_ok(&f, NULL);
  cr_assert_eq(ts_count(f.s, PATH), 2);
  fixture_stop(&f);
}

Test(keysource, clamped_to_min_and_max) {
  fixture f;
  gauth__keysource_params p = params();
  int64_t fresh = 0;
  p.min_ttl = 60;
  p.max_ttl = 1000;
  fixture_start(&f, &p);
  serve_keys(&f, 0, "Cache-Control: max-age=5", NULL);
  get_ok(&f, &fresh);
  cr_assert_eq(fresh, T0 + 60);
  set_now(T0 + 60);
  serve_keys(&f, 0, "Cache-Control: max-age=999999", NULL);
  get_ok(&f, &fresh);
  cr_assert_eq(fresh, T0 + 60 + 1000);
  set_now(T0 + 60 + 1000);
  serve_keys(&f, 0, "Cache-Control: no-store", NULL);
  get_ok(&f, &fresh);
  cr_assert_eq(fresh, T0 + 60 + 1000 + 60);
  cr_assert_eq(ts_count(f.s, PATH), 3);
  fixture_stop(&f);
}

Test(keysource, ttl_parsing) {
  gauth__keysource_params p = params();
  p.default_ttl = 3600;
  p.min_ttl = 60;
  p.max_ttl = 86400;
  cr_assert_eq(gauth__keysource_ttl(NULL, NULL, &p), 3600);
  cr_assert_eq(gauth__keysource_ttl("public, max-age=19800", NULL, &p), 19800);
  cr_assert_eq(gauth__keysource_ttl("max-age=19800", "800", &p), 19000);
  cr_assert_eq(gauth__keysource_ttl("MAX-AGE = \"300\"", NULL, &p), 300);
  cr_assert_eq(gauth__keysource_ttl("max-age=300", "1000", &p), 60);
  cr_assert_eq(gauth__keysource_ttl("max-age=300", "junk", &p), 300);
  cr_assert_eq(gauth__keysource_ttl("no-cache", NULL, &p), 60);
  cr_assert_eq(gauth__keysource_ttl("max-age=300, No-Store", NULL, &p), 60);
  cr_assert_eq(gauth__keysource_ttl("max-age=abc", NULL, &p), 3600);
  cr_assert_eq(gauth__keysource_ttl("s-maxage=10", NULL, &p), 3600);
  cr_assert_eq(gauth__keysource_ttl("max-age=99999999999999999999", NULL, &p),
               86400);
  cr_assert_eq(gauth__keysource_ttl("", NULL, &p), 3600);
  cr_assert_eq(gauth__keysource_ttl(",,, ,", NULL, &p), 3600);
}

/* ---- rotation and the cooldown -------------------------------------------*/

Test(keysource, refetch_on_unknown_kid_and_cooldown) {
  fixture f;
  gauth__keysource_params p = params();
  gauth_keyset *seen = NULL, *newer = NULL, *again = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  p.cooldown = 60;
  fixture_start(&f, &p);
  serve_keys(&f, 0, "Cache-Control: max-age=3600", NULL);
  cr_assert_eq(gauth__keysource_get(f.ks, &seen, NULL, &err), GAUTH_OK);
  cr_assert_eq(gauth_keyset_count(seen), 1);

  /* Within the cooldown of the first fetch: no refetch. */
  serve_keys(&f, 1, "Cache-Control: max-age=3600", NULL);
  set_now(T0 + 59);
  cr_assert_eq(gauth__keysource_refetch(f.ks, seen, &newer, NULL, &err),
               GAUTH_OK);
  cr_assert_null(newer);
  cr_assert_eq(ts_count(f.s, PATH), 1);

  /* After it: exactly one refetch, and the new set. */
  set_now(T0 + 60);
  cr_assert_eq(gauth__keysource_refetch(f.ks, seen, &newer, NULL, &err),
               GAUTH_OK);
  cr_assert_not_null(newer);
  cr_assert_eq(gauth_keyset_count(newer), 2);
  cr_assert_eq(ts_count(f.s, PATH), 2);

  /* A caller still holding the old set gets the new one without a fetch. */
  cr_assert_eq(gauth__keysource_refetch(f.ks, seen, &again, NULL, &err),
               GAUTH_OK);
  cr_assert_eq(again, newer);
  cr_assert_eq(ts_count(f.s, PATH), 2);
  gauth_keyset_free(again);
  again = NULL;

  /* Still unknown with the new set, within the cooldown: nothing. */
  set_now(T0 + 119);
  cr_assert_eq(gauth__keysource_refetch(f.ks, newer, &again, NULL, &err),
               GAUTH_OK);
  cr_assert_null(again);
  cr_assert_eq(ts_count(f.s, PATH), 2);
  gauth_keyset_free(seen);
  gauth_keyset_free(newer);
  fixture_stop(&f);
}

/* ---- failures ------------------------------------------------------------*/

/* Fetches the source started. (curl retries once, by itself, a request
 * whose reused connection was closed without a reply, so for TS_DROP the
 * server may count more requests than there were fetches.) */
static unsigned int fetches(fixture *f) {
  unsigned int n = gauth__keysource_fetch_count(f->ks);
  cr_assert_geq(ts_count(f->s, PATH), n);
  return n;
}

static void stale_then_unavailable(ts_kind kind, int status) {
  fixture f;
  gauth__keysource_params p = params();
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t fresh = 0;
  p.cooldown = 60;
  p.max_stale = 300;
  fixture_start(&f, &p);
  serve_keys(&f, 0, "Cache-Control: max-age=100", NULL);
  get_ok(&f, NULL);
  serve_status(f.s, kind, status);

  /* Expired: the refresh fails, the last good set keeps serving. */
  set_now(T0 + 100);
  cr_assert_eq(get_ok(&f, &fresh), 1);
  cr_assert_eq(fresh, T0 + 100);
  cr_assert_eq(fetches(&f), 2);
  /* No new attempt within the cooldown after a failure. */
  set_now(T0 + 159);
  get_ok(&f, NULL);
  cr_assert_eq(fetches(&f), 2);
  set_now(T0 + 160);
  get_ok(&f, NULL);
  cr_assert_eq(fetches(&f), 3);
  /* Last second of max_stale. */
  set_now(T0 + 100 + 299);
  get_ok(&f, NULL);
  /* Past it: the transport's error. */
  set_now(T0 + 100 + 300);
  cr_assert_neq(gauth__keysource_get(f.ks, &set, NULL, &err), GAUTH_OK);
  cr_assert_null(set);
  cr_assert(strstr(err.message, "stale") != NULL, "%s", err.message);
  if (status == 503)
    cr_assert(strstr(err.message, "503") != NULL, "%s", err.message);
  cr_assert_eq(fetches(&f), 4);

  /* The server comes back: the next attempt (after the cooldown) works. */
  serve_keys(&f, 1, "Cache-Control: max-age=100", NULL);
  set_now(T0 + 100 + 300 + 60);
  cr_assert_eq(get_ok(&f, NULL), 2);
  fixture_stop(&f);
}

Test(keysource, refresh_503_serves_stale_then_fails) {
  stale_then_unavailable(TS_REPLY, 503);
}

Test(keysource, refresh_dropped_serves_stale_then_fails) {
  stale_then_unavailable(TS_DROP, 0);
}

Test(keysource, first_fetch_failure_is_remembered) {
  fixture f;
  gauth__keysource_params p = params();
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  p.cooldown = 60;
  fixture_start(&f, &p);
  serve_status(f.s, TS_REPLY, 500);
  cr_assert_eq(gauth__keysource_get(f.ks, &set, NULL, &err),
               GAUTH_E_UNAVAILABLE, "%s", err.message);
  cr_assert(strstr(err.message, "500") != NULL, "%s", err.message);
  gauth_error_clear(&err);
  cr_assert_eq(gauth__keysource_get(f.ks, &set, NULL, &err),
               GAUTH_E_UNAVAILABLE);
  cr_assert(strstr(err.message, "500") != NULL, "%s", err.message);
  cr_assert_eq(ts_count(f.s, PATH), 1);
  /* An explicit refresh does not wait for the cooldown. */
  serve_keys(&f, 0, NULL, NULL);
  cr_assert_eq(gauth__keysource_refresh(f.ks, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(get_ok(&f, NULL), 1);
  cr_assert_eq(ts_count(f.s, PATH), 2);
  fixture_stop(&f);
}

Test(keysource, unparsable_set) {
  fixture f;
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  fixture_start(&f, NULL);
  serve(f.s, "{\"keys\":[]}", NULL, NULL);
  cr_assert_neq(gauth__keysource_get(f.ks, &set, NULL, &err), GAUTH_OK);
  cr_assert(strstr(err.message, "key set from") != NULL, "%s", err.message);
  cr_assert(strstr(err.message, f.url) != NULL, "%s", err.message);
  fixture_stop(&f);
}

Test(keysource, bad_params) {
  gauth__http *h = http_new();
  gauth__keysource *ks = NULL;
  gauth__keysource_params p = params();
  gauth_error err = GAUTH_ERROR_INIT;
  p.min_ttl = 100;
  p.max_ttl = 50;
  cr_assert_eq(gauth__keysource_new(&ks, h, "http://127.0.0.1:9/x", &p, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(ks);
  cr_assert_eq(gauth__keysource_new(&ks, h, NULL, &p, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(
      gauth__keysource_new(&ks, NULL, "http://127.0.0.1:9/x", &p, &err),
      GAUTH_E_INVALID_ARG);
  gauth__http_free(h);
}

/* ---- formats -------------------------------------------------------------*/

Test(keysource, pem_certificate_map) {
  fixture f;
  gauth_keyset *set = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *cert = NULL, *key = NULL, *body;
  cJSON *map = cJSON_CreateObject();
  fixture_start(&f, NULL);
  tu_make_cert(&cert, &key);
  cJSON_AddStringToObject(map, "pemkid1", cert);
  body = cJSON_PrintUnformatted(map);
  serve(f.s, body, "Cache-Control: max-age=600", NULL);
  cr_assert_eq(gauth__keysource_get(f.ks, &set, NULL, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(gauth_keyset_count(set), 1);
  cr_assert_str_eq(gauth_key_kid(gauth_keyset_get(set, 0)), "pemkid1");
  cr_assert_eq(gauth_key_get_type(gauth_keyset_get(set, 0)), GAUTH_KEY_EC_P256);
  gauth_keyset_free(set);
  cJSON_Delete(map);
  free(body);
  free(cert);
  free(key);
  fixture_stop(&f);
}

/* ---- single flight -------------------------------------------------------*/

typedef struct racer {
  gauth__keysource *ks;
  pthread_barrier_t *start;
  gauth_keyset *got;
  gauth_status st;
} racer;

static void *race(void *arg) {
  racer *r = arg;
  pthread_barrier_wait(r->start);
  r->st = gauth__keysource_get(r->ks, &r->got, NULL, NULL);
  return NULL;
}

Test(keysource, single_flight) {
  fixture f;
  ts_response slow;
  gauth_key *keys[1];
  const char *kids[1] = {"k1"};
  pthread_barrier_t start;
  pthread_t tid[8];
  racer r[8];
  char *body;
  int i;
  fixture_start(&f, NULL);
  keys[0] = f.k1;
  body = tj_jwks_of(keys, kids, 1);
  memset(&slow, 0, sizeof(slow));
  slow.body = body;
  slow.headers[0] = "Cache-Control: max-age=600";
  slow.delay_ms = 200;
  ts_route(f.s, PATH, &slow, 1);
  pthread_barrier_init(&start, NULL, 8);
  for (i = 0; i < 8; i++) {
    r[i].ks = f.ks;
    r[i].start = &start;
    r[i].got = NULL;
    cr_assert_eq(pthread_create(&tid[i], NULL, race, &r[i]), 0);
  }
  for (i = 0; i < 8; i++) pthread_join(tid[i], NULL);
  pthread_barrier_destroy(&start);
  cr_assert_eq(ts_count(f.s, PATH), 1);
  cr_assert_eq(gauth__keysource_fetch_count(f.ks), 1);
  for (i = 0; i < 8; i++) {
    cr_assert_eq(r[i].st, GAUTH_OK);
    cr_assert_eq(r[i].got, r[0].got, "every caller shares the one set");
  }
  for (i = 0; i < 8; i++) gauth_keyset_free(r[i].got);
  free(body);
  fixture_stop(&f);
}

Test(keysource, single_flight_refresh_and_get) {
  fixture f;
  ts_response slow;
  gauth_key *keys[1];
  const char *kids[1] = {"k1"};
  pthread_barrier_t start;
  pthread_t tid[4];
  racer r[4];
  gauth_error err = GAUTH_ERROR_INIT;
  char *body;
  int i;
  fixture_start(&f, NULL);
  keys[0] = f.k1;
  body = tj_jwks_of(keys, kids, 1);
  memset(&slow, 0, sizeof(slow));
  slow.body = body;
  slow.delay_ms = 200;
  ts_route(f.s, PATH, &slow, 1);
  pthread_barrier_init(&start, NULL, 5);
  for (i = 0; i < 4; i++) {
    r[i].ks = f.ks;
    r[i].start = &start;
    r[i].got = NULL;
    cr_assert_eq(pthread_create(&tid[i], NULL, race, &r[i]), 0);
  }
  pthread_barrier_wait(&start);
  /* A refresh joins the fetch in flight or runs the only one. */
  cr_assert_eq(gauth__keysource_refresh(f.ks, &err), GAUTH_OK, "%s",
               err.message);
  for (i = 0; i < 4; i++) pthread_join(tid[i], NULL);
  pthread_barrier_destroy(&start);
  cr_assert_leq(ts_count(f.s, PATH), 2);
  for (i = 0; i < 4; i++) {
    cr_assert_eq(r[i].st, GAUTH_OK);
    gauth_keyset_free(r[i].got);
  }
  free(body);
  fixture_stop(&f);
}

/* ---- through the verifier ------------------------------------------------*/

static const char *const V_AUDS[] = {"aud", NULL};
static const char *const V_ISSS[] = {"https://issuer.example", NULL};

static gauth_verifier *verifier_on(fixture *f) {
  gauth_verifier_options o = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = http_options();
  gauth_verifier *v = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  o.audiences = V_AUDS;
  o.issuers = V_ISSS;
  o.jwks_url = f->url;
  o.clock = test_clock;
  o.keys_refetch_cooldown = 60;
  o.http = &http;
  cr_assert_eq(gauth_verifier_new(&v, &o, &err), GAUTH_OK, "%s", err.message);
  return v;
}

static char *token(const gauth_key *key, const char *kid) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  cr_assert_eq(gauth_jwt_sign(key, GAUTH_ALG_UNKNOWN, kid,
                              "{\"iss\":\"https://issuer.example\","
                              "\"aud\":\"aud\",\"exp\":1764300000}",
                              &tok, &err),
               GAUTH_OK, "%s", err.message);
  return tok;
}

static gauth_status verify(gauth_verifier *v, const char *tok,
                           gauth_error *err) {
  gauth_error_clear(err);
  return gauth_verifier_verify(v, tok, 0, NULL, err);
}

Test(keysource, verifier_rotation_and_cooldown) {
  fixture f;
  gauth_verifier *v;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *k3;
  char *t1, *t2, *t3;
  fixture_start(&f, NULL);
  k3 = tj_gen_key(0);
  v = verifier_on(&f);
  t1 = token(f.k1, "k1");
  t2 = token(f.k2, "k2");
  t3 = token(k3, "k3");
  serve_keys(&f, 0, "Cache-Control: max-age=3600", NULL);
  cr_assert_eq(verify(v, t1, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(ts_count(f.s, PATH), 1);

  /* The server rotates in k2. Within the cooldown of the first fetch a k2
   * token is an unknown kid, with no request. */
  serve_keys(&f, 1, "Cache-Control: max-age=3600", NULL);
  set_now(T0 + 59);
  cr_assert_eq(verify(v, t2, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "unknown_kid", "%s", err.message);
  cr_assert_eq(ts_count(f.s, PATH), 1);

  /* After it: exactly one refetch, and the token verifies. */
  set_now(T0 + 60);
  cr_assert_eq(verify(v, t2, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(ts_count(f.s, PATH), 2);
  cr_assert_eq(verify(v, t2, &err), GAUTH_OK);
  cr_assert_eq(verify(v, t1, &err), GAUTH_OK);
  cr_assert_eq(ts_count(f.s, PATH), 2);

  /* A kid the server does not have, within the cooldown: no refetch. */
  set_now(T0 + 61);
  cr_assert_eq(verify(v, t3, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "unknown_kid");
  cr_assert_eq(verify(v, t3, &err), GAUTH_E_VERIFY);
  cr_assert_eq(ts_count(f.s, PATH), 2);
  /* After the cooldown: one refetch, still unknown. */
  set_now(T0 + 120);
  cr_assert_eq(verify(v, t3, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "unknown_kid");
  cr_assert_eq(ts_count(f.s, PATH), 3);
  cr_assert_eq(verify(v, t3, &err), GAUTH_E_VERIFY);
  cr_assert_eq(ts_count(f.s, PATH), 3);

  gauth_free(t1);
  gauth_free(t2);
  gauth_free(t3);
  gauth_key_free(k3);
  gauth_verifier_free(v);
  fixture_stop(&f);
}

Test(keysource, verifier_keys_unavailable_after_max_stale) {
  fixture f;
  gauth_verifier *v;
  gauth_error err = GAUTH_ERROR_INIT;
  char *t1;
  fixture_start(&f, NULL);
  v = verifier_on(&f); /* max_stale default 3600 */
  t1 = token(f.k1, "k1");
  serve_keys(&f, 0, "Cache-Control: max-age=100", NULL);
  cr_assert_eq(verify(v, t1, &err), GAUTH_OK, "%s", err.message);
  serve_status(f.s, TS_REPLY, 503);
  set_now(T0 + 100 + 3599);
  cr_assert_eq(verify(v, t1, &err), GAUTH_OK, "%s", err.message);
  set_now(T0 + 100 + 3600);
  cr_assert_eq(verify(v, t1, &err), GAUTH_E_VERIFY);
  cr_assert_str_eq(err.reason, "keys_unavailable");
  cr_assert(strstr(err.message, "503") != NULL, "%s", err.message);
  cr_assert(strstr(err.message, f.url) != NULL, "%s", err.message);
  gauth_free(t1);
  gauth_verifier_free(v);
  fixture_stop(&f);
}
