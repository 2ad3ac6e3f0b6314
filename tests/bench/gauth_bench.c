/* gauth-bench: libgauth's JWT verification and signing against the floor,
 * raw OpenSSL on the same bytes, measured in the same run.
 *
 *   gauth-bench [--duration=SECONDS] [--rounds=N] [CASE...]
 *   gauth-bench --callgrind CASE impl|floor|floor-prepared --iterations N
 *
 * One line per case: `CASE impl=OPS floor=OPS ratio=R`, OPS in operations
 * per second, R = impl / floor (above 1: faster than the floor); the
 * verification cases verify-rs256, verify-es256 and verify-rs256-2threads
 * add ` prepared=OPS ratio_prepared=R` for the prepared-context floor
 * (below).
 * The sides run in alternating slices (ROUNDS of each, the order rotated
 * every round) so that they share the machine's noise; each side's rate is
 * its operations over its time in all slices.
 *
 * The floor is what a careful naive program does per token with the key
 * already loaded: EVP_MD_CTX_new, EVP_DigestVerifyInit (or SignInit),
 * EVP_DigestVerify (EVP_DigestSign), EVP_MD_CTX_free, over the token's
 * signing input. libgauth does more (split, base64url, JSON, key lookup,
 * every claim check) and must still keep up.
 *
 * The prepared floor (verify-rs256, verify-es256, verify-rs256-2threads) is
 * what a careful program does that keeps a verification context per key:
 * EVP_DigestVerifyInit once at set-up; per token, base64url-decode the
 * signature segment of the token (into a stack buffer, with OpenSSL's
 * EVP_DecodeBlock; for ES256 then r||s to DER), EVP_MD_CTX_new,
 * EVP_MD_CTX_copy_ex from the prepared context (with
 * EVP_MD_CTX_FLAG_FINALISE, so that the one-shot verify does not copy it
 * once more), EVP_DigestVerify over the signing input, EVP_MD_CTX_free.
 * libgauth keeps such a context in each key too; the gap to this floor is
 * what parsing, decoding, the JSON, the checks and the claims cost.
 *
 * verify-rs256-2threads runs its prepared floor as it runs libgauth: two
 * threads in this process, one shared prepared context. Its naive floor is
 * twice the one-thread rate (what two cores could do with nothing shared);
 * ratio_prepared compares like with like: both sides pay what two threads
 * sharing one key cost (OpenSSL's reference counts on the key, digest and
 * provider objects, cache lines moving between the cores).
 *
 * Cases:
 *   verify-rs256          a Google-like ID token (~800 bytes), a 3-key JWKS,
 *                         every claim check on, a fixed clock
 *   verify-es256          the same claims, ES256, a 3-key P-256 set
 *   sign-rs256            gauth_jwt_sign (header, claims re-serialised,
 *                         base64url, RSA) against EVP_DigestSign
 *   verify-rs256-cached   verify-rs256 with the verified-token cache on
 *   verify-rs256-2threads two threads on one verifier against twice the
 *                         single-thread floor, and against two threads on
 *                         one prepared context
 *
 * --callgrind runs one side of one case ITERATIONS times after its set-up
 * (one warm-up operation included), for valgrind --tool=callgrind: the
 * difference between N and 0 iterations, over N, is instructions per
 * operation (tests/bench/run-bench.sh does this).
 *
 * libgauth is reached through its public API only. The keys are fixed
 * (bench_keys.h) so that instruction counts repeat. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gauth/gauth.h>

#include "bench_keys.h"

/* The fixed time of every verification: 10 minutes into the token's hour. */
#define BENCH_IAT INT64_C(1700000000)
#define BENCH_NOW (BENCH_IAT + 600)

#define AUDIENCE "https://invoker-3kfq7x2a-uc.a.run.app"

/* A Google ID token as Cloud Scheduler's service account gets it
 * (generateIdToken with includeEmail); its hd names the domain we check. */
static const char claims_fmt[] =
    "{\"aud\":\"" AUDIENCE
    "\","
    "\"azp\":\"113984273918237498127\","
    "\"email\":\"scheduler-invoker@example-project.iam.gserviceaccount.com\","
    "\"email_verified\":true,\"exp\":%lld,\"hd\":\"example.com\","
    "\"iat\":%lld,\"iss\":\"https://accounts.google.com\","
    "\"sub\":\"113984273918237498127\"}";

static const char *const issuers[] = {"accounts.google.com",
                                      "https://accounts.google.com", NULL};
static const char *const audiences[] = {AUDIENCE, NULL};

typedef enum side { SIDE_IMPL, SIDE_FLOOR, SIDE_PREPARED } side;

typedef struct bench {
  const char *name;
  int is_sign;
  int threads; /* impl side: 1 or 2 */
  gauth_verifier *verifier;
  gauth_key *sign_key; /* sign-rs256: libgauth's key */
  char *claims_json;
  char *token; /* the token verified (or the one signed) */
  size_t token_len;
  EVP_PKEY *floor_key; /* the same key for OpenSSL */
  const EVP_MD *md;
  unsigned char *tbs; /* signing input: HEADER.PAYLOAD */
  size_t tbs_len;
  unsigned char sig[512]; /* the signature, DER for ECDSA */
  size_t sig_len;
  EVP_MD_CTX *prepared; /* verify cases: EVP_DigestVerifyInit done */
  int ecdsa;
  const char *sig_b64; /* the token's signature segment */
  size_t sig_b64_len;
} bench;

static void die(const char *what, const gauth_error *err) {
  if (err != NULL)
    fprintf(stderr, "gauth-bench: %s: %s (%s)\n", what, err->message,
            gauth_status_name(err->code));
  else
    fprintf(stderr, "gauth-bench: %s\n", what);
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t fixed_clock(void *userdata) {
  (void)userdata;
  return BENCH_NOW;
}

static EVP_PKEY *load_pkey(const char *pem) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  if (pkey == NULL) die("cannot load a bench key", NULL);
  return pkey;
}

static gauth_key *load_key(const char *pem) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key;
  if (gauth_key_from_pem(&key, pem, strlen(pem), &err) != GAUTH_OK)
    die("gauth_key_from_pem", &err);
  return key;
}

/* A JWKS of the public parts of three keys, with kids: what Google's
 * /oauth2/v3/certs looks like. Parsed by gauth_keyset_parse, as a
 * verifier parses a fetched set. */
static gauth_keyset *make_keyset(const char *const pems[3],
                                 const char *const kids[3]) {
  gauth_error err = GAUTH_ERROR_INIT;
  char jwks[8192];
  size_t used = 0;
  gauth_keyset *set;
  used += (size_t)snprintf(jwks, sizeof jwks, "{\"keys\":[");
  for (int i = 0; i < 3; i++) {
    gauth_key *key = load_key(pems[i]);
    char *jwk;
    if (gauth_key_public_jwk(key, &jwk, &err) != GAUTH_OK)
      die("gauth_key_public_jwk", &err);
    /* The key came from PEM, without a kid: put one first. */
    used += (size_t)snprintf(jwks + used, sizeof jwks - used,
                             "%s{\"kid\":\"%s\",%s", i ? "," : "", kids[i],
                             jwk + 1);
    gauth_free(jwk);
    gauth_key_free(key);
    if (used >= sizeof jwks) die("JWKS buffer too small", NULL);
  }
  used += (size_t)snprintf(jwks + used, sizeof jwks - used, "]}");
  if (used >= sizeof jwks) die("JWKS buffer too small", NULL);
  if (gauth_keyset_parse(&set, jwks, used, &err) != GAUTH_OK)
    die("gauth_keyset_parse", &err);
  return set;
}

/* base64url (no padding) to bytes. */
static size_t b64url_decode(const char *in, size_t len, unsigned char *out,
                            size_t cap) {
  char buf[1024];
  int n;
  size_t i, pad = (4 - len % 4) % 4;
  if (len + pad >= sizeof buf) die("signature too long", NULL);
  for (i = 0; i < len; i++)
    buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
  for (; i < len + pad; i++) buf[i] = '=';
  buf[i] = '\0';
  n = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)(len + pad));
  if (n < 0 || (size_t)n - pad > cap) die("bad base64url", NULL);
  return (size_t)n - pad;
}

/* The floor's inputs from the token: the signing input and the raw
 * signature, converted to DER for ECDSA (what EVP wants). */
static void split_token(bench *b, int ecdsa) {
  const char *dot = strrchr(b->token, '.');
  unsigned char raw[512];
  size_t raw_len;
  b->tbs_len = (size_t)(dot - b->token);
  b->tbs = malloc(b->tbs_len);
  if (b->tbs == NULL) die("out of memory", NULL);
  memcpy(b->tbs, b->token, b->tbs_len);
  raw_len = b64url_decode(dot + 1, strlen(dot + 1), raw, sizeof raw);
  if (!ecdsa) {
    memcpy(b->sig, raw, raw_len);
    b->sig_len = raw_len;
  } else {
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)raw_len / 2, NULL);
    BIGNUM *sv = BN_bin2bn(raw + raw_len / 2, (int)raw_len / 2, NULL);
    unsigned char *p = b->sig;
    int n;
    if (s == NULL || r == NULL || sv == NULL || !ECDSA_SIG_set0(s, r, sv))
      die("ECDSA_SIG", NULL);
    n = i2d_ECDSA_SIG(s, NULL);
    if (n <= 0 || (size_t)n > sizeof b->sig) die("i2d_ECDSA_SIG", NULL);
    i2d_ECDSA_SIG(s, &p);
    b->sig_len = (size_t)n;
    ECDSA_SIG_free(s);
  }
}

/* JOSE r||s (two 32-byte halves) to DER, without BIGNUMs: what a careful
 * program does per ES256 token. 0 when r or s is zero. */
static size_t p256_to_der(const unsigned char *rs, unsigned char *out) {
  unsigned char *p = out + 2;
  for (int k = 0; k < 2; k++) {
    const unsigned char *v = rs + 32 * k;
    size_t i = 0;
    while (i < 32 && v[i] == 0) i++;
    if (i == 32) return 0;
    *p++ = 0x02;
    *p++ = (unsigned char)(32 - i + (v[i] >> 7));
    if (v[i] & 0x80) *p++ = 0;
    memcpy(p, v + i, 32 - i);
    p += 32 - i;
  }
  out[0] = 0x30;
  out[1] = (unsigned char)(p - out - 2);
  return (size_t)(p - out);
}

/* The prepared floor's per-key set-up: one initialised verify context. */
static void prepare_floor(bench *b) {
  b->prepared = EVP_MD_CTX_new();
  if (b->prepared == NULL ||
      EVP_DigestVerifyInit(b->prepared, NULL, b->md, NULL, b->floor_key) != 1)
    die("EVP_DigestVerifyInit (prepared floor)", NULL);
  b->sig_b64 = b->token + b->tbs_len + 1;
  b->sig_b64_len = b->token_len - b->tbs_len - 1;
}

static char *make_claims(void) {
  char *c = malloc(sizeof claims_fmt + 64);
  if (c == NULL) die("out of memory", NULL);
  snprintf(c, sizeof claims_fmt + 64, claims_fmt, (long long)(BENCH_IAT + 3600),
           (long long)BENCH_IAT);
  return c;
}

static void setup(bench *b) {
  gauth_error err = GAUTH_ERROR_INIT;
  int es = strcmp(b->name, "verify-es256") == 0;
  const char *const rsa[3] = {bench_rsa1_pem, bench_rsa2_pem, bench_rsa3_pem};
  const char *const ec[3] = {bench_ec1_pem, bench_ec2_pem, bench_ec3_pem};
  const char *const *pems = es ? ec : rsa;
  const char *const *kids = es ? bench_ec_kids : bench_rsa_kids;
  gauth_alg alg = es ? GAUTH_ALG_ES256 : GAUTH_ALG_RS256;

  b->claims_json = make_claims();
  /* The middle key signs: lookup by kid is not just "the first key". */
  b->sign_key = load_key(pems[1]);
  if (gauth_jwt_sign(b->sign_key, alg, kids[1], b->claims_json, &b->token,
                     &err) != GAUTH_OK)
    die("gauth_jwt_sign", &err);
  b->token_len = strlen(b->token);
  b->floor_key = load_pkey(pems[1]);
  b->md = EVP_sha256();
  b->ecdsa = es;
  split_token(b, es);
  if (strcmp(b->name, "verify-rs256") == 0 ||
      strcmp(b->name, "verify-rs256-2threads") == 0 || es)
    prepare_floor(b);

  if (!b->is_sign) {
    gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
    gauth_keyset *set = make_keyset(pems, kids);
    vo.preset = GAUTH_VERIFIER_CUSTOM;
    vo.issuers = issuers;
    vo.audiences = audiences;
    vo.keys = set;
    vo.algorithms = GAUTH_ALG_BIT(alg);
    vo.leeway_seconds = 30;
    vo.max_lifetime_seconds = 3600;
    vo.require_email_verified = 1;
    vo.require_email = 1;
    vo.hosted_domain = "example.com";
    vo.authorized_party = "113984273918237498127";
    vo.clock = fixed_clock;
    if (strcmp(b->name, "verify-rs256-cached") == 0)
      vo.token_cache_entries = 64;
    if (gauth_verifier_new(&b->verifier, &vo, &err) != GAUTH_OK)
      die("gauth_verifier_new", &err);
    gauth_keyset_free(set);
  }
}

static void teardown(bench *b) {
  gauth_verifier_free(b->verifier);
  gauth_key_free(b->sign_key);
  free(b->claims_json);
  gauth_free(b->token);
  EVP_PKEY_free(b->floor_key);
  EVP_MD_CTX_free(b->prepared);
  free(b->tbs);
}

/* ---- one operation of each side ---------------------------------------- */

static void impl_op(bench *b) {
  gauth_error err = GAUTH_ERROR_INIT;
  if (b->is_sign) {
    char *tok;
    if (gauth_jwt_sign(b->sign_key, GAUTH_ALG_RS256, bench_rsa_kids[1],
                       b->claims_json, &tok, &err) != GAUTH_OK)
      die("gauth_jwt_sign", &err);
    gauth_free(tok);
  } else {
    gauth_claims *c;
    if (gauth_verifier_verify(b->verifier, b->token, b->token_len, &c, &err) !=
        GAUTH_OK)
      die("gauth_verifier_verify", &err);
    gauth_claims_free(c);
  }
}

static void floor_op(bench *b) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok;
  if (ctx == NULL) die("EVP_MD_CTX_new", NULL);
  if (b->is_sign) {
    unsigned char sig[512];
    size_t len = sizeof sig;
    ok = EVP_DigestSignInit(ctx, NULL, b->md, NULL, b->floor_key) == 1 &&
         EVP_DigestSign(ctx, sig, &len, b->tbs, b->tbs_len) == 1;
  } else {
    ok = EVP_DigestVerifyInit(ctx, NULL, b->md, NULL, b->floor_key) == 1 &&
         EVP_DigestVerify(ctx, b->sig, b->sig_len, b->tbs, b->tbs_len) == 1;
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) die("the OpenSSL floor failed", NULL);
}

static void prepared_op(bench *b) {
  unsigned char raw[512], der[80];
  const unsigned char *sig = raw;
  size_t sig_len = b64url_decode(b->sig_b64, b->sig_b64_len, raw, sizeof raw);
  EVP_MD_CTX *ctx;
  int ok;
  if (b->ecdsa) {
    if (sig_len != 64 || (sig_len = p256_to_der(raw, der)) == 0)
      die("the prepared floor: bad ES256 signature", NULL);
    sig = der;
  }
  ctx = EVP_MD_CTX_new();
  ok = ctx != NULL && EVP_MD_CTX_copy_ex(ctx, b->prepared) == 1;
  if (ok) {
    EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
    ok = EVP_DigestVerify(ctx, sig, sig_len, b->tbs, b->tbs_len) == 1;
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) die("the prepared OpenSSL floor failed", NULL);
}

static void side_op(bench *b, side s) {
  if (s == SIDE_IMPL)
    impl_op(b);
  else if (s == SIDE_FLOOR)
    floor_op(b);
  else
    prepared_op(b);
}

/* ---- timing -------------------------------------------------------------- */

typedef struct worker {
  bench *b;
  side s;
  double until;
  long ops;
  long limit; /* > 0: run exactly this many (callgrind) */
} worker;

static void *side_worker(void *arg) {
  worker *w = arg;
  if (w->limit > 0) {
    for (long i = 0; i < w->limit; i++) side_op(w->b, w->s);
    w->ops = w->limit;
    return NULL;
  }
  /* The clock is read every 4 operations: cheap next to them. */
  do {
    for (int i = 0; i < 4; i++) side_op(w->b, w->s);
    w->ops += 4;
  } while (now_s() < w->until);
  return NULL;
}

/* 1 when side s runs in b->threads threads: libgauth, and the prepared
 * floor (one shared prepared context, like libgauth's key). The naive
 * floor always runs in one. */
static int threaded(const bench *b, side s) {
  return b->threads == 2 && s != SIDE_FLOOR;
}

/* Runs side s for `secs` (limit == 0) or exactly `limit` operations split
 * over its threads; returns its operations. */
static long run_side(bench *b, side s, double secs, long limit) {
  worker w[2] = {{b, s, 0, 0, limit}, {b, s, 0, 0, 0}};
  pthread_t t;
  if (limit == 0) w[0].until = w[1].until = now_s() + secs;
  if (!threaded(b, s)) {
    side_worker(&w[0]);
    return w[0].ops;
  }
  if (limit > 0) {
    w[0].limit = (limit + 1) / 2;
    w[1].limit = limit / 2;
    if (w[1].limit == 0) {
      side_worker(&w[0]);
      return w[0].ops;
    }
  }
  if (pthread_create(&t, NULL, side_worker, &w[1]) != 0)
    die("pthread_create", NULL);
  side_worker(&w[0]);
  pthread_join(t, NULL);
  return w[0].ops + w[1].ops;
}

static void measure(bench *b, double duration, int rounds) {
  int nsides = b->prepared != NULL ? 3 : 2;
  double slice = duration / ((double)nsides * rounds);
  double t[3] = {0, 0, 0}, rate[3];
  long n[3] = {0, 0, 0};
  /* warm-up: first-use set-up belongs to no side */
  for (int s = 0; s < nsides; s++) side_op(b, (side)s);
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < nsides; k++) {
      /* Each side starts a round in turn: impl, floor, prepared first. */
      side s = (side)((r + k) % nsides);
      double t0 = now_s();
      n[s] += run_side(b, s, slice, 0);
      t[s] += now_s() - t0;
    }
  }
  for (int s = 0; s < nsides; s++) rate[s] = (double)n[s] / t[s];
  /* Two threads against two cores' worth of the naive floor; the prepared
   * floor ran in as many threads as libgauth. */
  rate[SIDE_FLOOR] *= b->threads;
  printf("%s impl=%.0f floor=%.0f ratio=%.3f", b->name, rate[SIDE_IMPL],
         rate[SIDE_FLOOR], rate[SIDE_IMPL] / rate[SIDE_FLOOR]);
  if (nsides == 3)
    printf(" prepared=%.0f ratio_prepared=%.3f", rate[SIDE_PREPARED],
           rate[SIDE_IMPL] / rate[SIDE_PREPARED]);
  printf("\n");
  fflush(stdout);
}

/* ---- main ---------------------------------------------------------------- */

static const char *const case_names[] = {"verify-rs256", "verify-es256",
                                         "sign-rs256", "verify-rs256-cached",
                                         "verify-rs256-2threads"};
#define N_CASES (sizeof case_names / sizeof case_names[0])

static bench make_bench(const char *name) {
  bench b;
  memset(&b, 0, sizeof b);
  b.name = name;
  b.is_sign = strcmp(name, "sign-rs256") == 0;
  b.threads = strcmp(name, "verify-rs256-2threads") == 0 ? 2 : 1;
  return b;
}

static int known_case(const char *name) {
  for (size_t i = 0; i < N_CASES; i++)
    if (strcmp(name, case_names[i]) == 0) return 1;
  return 0;
}

static const char usage[] =
    "usage: gauth-bench [--duration=SECONDS] [--rounds=N] [CASE...]\n"
    "       gauth-bench --callgrind CASE impl|floor|floor-prepared "
    "--iterations N\n"
    "cases: verify-rs256 verify-es256 sign-rs256 verify-rs256-cached\n"
    "       verify-rs256-2threads (default: all)\n"
    "--duration: seconds per case, both sides together (default 4)\n"
    "--rounds: slices of each side per case (default 8)\n"
    "floor-prepared: verify-rs256, verify-es256 and verify-rs256-2threads\n"
    "(two threads, one prepared context) only\n";

static int callgrind_mode(int argc, char **argv) {
  /* gauth-bench --callgrind CASE impl|floor|floor-prepared --iterations N */
  char *end;
  long n;
  bench b;
  side s;
  if (argc != 6 || !known_case(argv[2]) ||
      (strcmp(argv[3], "impl") != 0 && strcmp(argv[3], "floor") != 0 &&
       strcmp(argv[3], "floor-prepared") != 0) ||
      strcmp(argv[4], "--iterations") != 0) {
    fputs(usage, stderr);
    return 2;
  }
  errno = 0;
  n = strtol(argv[5], &end, 10);
  if (errno != 0 || *end != '\0' || n < 0) {
    fputs(usage, stderr);
    return 2;
  }
  s = strcmp(argv[3], "impl") == 0    ? SIDE_IMPL
      : strcmp(argv[3], "floor") == 0 ? SIDE_FLOOR
                                      : SIDE_PREPARED;
  b = make_bench(argv[2]);
  setup(&b);
  if (s == SIDE_PREPARED && b.prepared == NULL) {
    fprintf(stderr, "gauth-bench: %s has no prepared floor\n", b.name);
    teardown(&b);
    return 2;
  }
  /* One warm-up operation in every run, 0 iterations included, so that
   * first-use costs (method fetches, caches) cancel out. The two-thread
   * case splits the N operations of libgauth and of the prepared floor
   * over two threads. */
  side_op(&b, s);
  if (n > 0) run_side(&b, s, 0, n);
  printf("%s %s iterations=%ld token_bytes=%zu\n", b.name, argv[3], n,
         b.token_len);
  teardown(&b);
  return 0;
}

int main(int argc, char **argv) {
  double duration = 4.0;
  int rounds = 8, n_selected = 0;
  const char *selected[N_CASES];
  gauth_error err = GAUTH_ERROR_INIT;
  int rc;

  if (gauth_global_init(&err) != GAUTH_OK) die("gauth_global_init", &err);
  if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
    rc = callgrind_mode(argc, argv);
    gauth_global_cleanup();
    return rc;
  }
  for (int i = 1; i < argc; i++) {
    char *end;
    if (strncmp(argv[i], "--duration=", 11) == 0) {
      duration = strtod(argv[i] + 11, &end);
      if (*end != '\0' || !(duration > 0)) {
        fputs(usage, stderr);
        return 2;
      }
    } else if (strncmp(argv[i], "--rounds=", 9) == 0) {
      rounds = (int)strtol(argv[i] + 9, &end, 10);
      if (*end != '\0' || rounds < 1 || rounds > 1000) {
        fputs(usage, stderr);
        return 2;
      }
    } else if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (known_case(argv[i]) && n_selected < (int)N_CASES) {
      selected[n_selected++] = argv[i];
    } else {
      fputs(usage, stderr);
      return 2;
    }
  }
  if (n_selected == 0)
    for (size_t i = 0; i < N_CASES; i++) selected[n_selected++] = case_names[i];

  for (int i = 0; i < n_selected; i++) {
    bench b = make_bench(selected[i]);
    setup(&b);
    measure(&b, duration, rounds);
    teardown(&b);
  }
  gauth_global_cleanup();
  return 0;
}
