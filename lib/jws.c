/* Compact JWS (RFC 7515): strict parsing, key selection, signature checks
 * and signing, over OpenSSL 3's EVP interface.
 *
 * Verification speed. OpenSSL 3 spends a good part of a verification in
 * EVP_DigestVerifyInit (fetching the digest and signature implementations
 * from the provider, setting up the key), so none is done per token. Each
 * key prepares, once per algorithm it serves (gauth__jws_prepare_key):
 *   - a template EVP_PKEY_CTX, EVP_PKEY_verify_init done, padding (PKCS#1
 *     v1.5 or PSS) and digest set, and the digest fetched (EVP_MD_fetch);
 *   - an EVP_DigestVerifyInit'd EVP_MD_CTX for the copy path below.
 *
 * Threads. A copy of a shared context is not free when threads verify at
 * once: copying and freeing it takes and drops about a dozen references
 * (the EVP_PKEY, the RSA or EC key, the digest, the signature and key
 * management methods), and each of those atomic counts lives in a cache
 * line that the other core wrote last. Measured with two threads on one
 * key (gauth-bench verify-rs256-2threads against verify-rs256, CPU time,
 * min of interleaved runs), CPU per verification grew by 15-23%. So each
 * thread keeps contexts of its own (thread_ctx): a few
 * slots, behind a pthread key whose destructor frees them when the thread
 * exits, each holding a duplicate of a key's template (made on the
 * thread's first verification with that key and alg) and a digest context
 * reused for every token. A verification then digests the signing input
 * and runs the one-shot EVP_PKEY_verify on the digest, and writes nothing
 * another thread reads. (OpenSSL still takes the RSA key's read lock for
 * its Montgomery context: one shared write pair per RSA verification.)
 *
 * Slots are matched by the key's serial, a 64-bit number no other key of
 * the process ever gets, never by the key's address: a freed key's block
 * comes back for the next key, and a context found by address would
 * verify with the old key. A slot holds its own references (the duplicate
 * holds the EVP_PKEY, the slot the digest), so a key may be freed while
 * threads keep slots for it: they are never matched again, and go when
 * replaced (round robin) or when the thread exits. gauth_global_cleanup
 * frees the calling thread's slots (a program's main thread runs no
 * thread-exit destructors). The first verification in a thread, or with a
 * key not in its slots, pays a template duplicate: about what the copy
 * path pays every time.
 *
 * The copy path remains for EdDSA (no digest to split off: Ed25519 is
 * one-shot over the message) and whenever a thread's slot cannot be had
 * (out of memory): a verification copies the prepared EVP_MD_CTX
 * (EVP_MD_CTX_copy_ex: OpenSSL 3.0 has no EVP_MD_CTX_dup) and runs the
 * one-shot EVP_DigestVerify on the copy. The prepared context is only ever
 * read, so any number of threads may copy it at once. The copy gets
 * EVP_MD_CTX_FLAG_FINALISE: without it EVP_DigestVerifyFinal duplicates
 * the context once more so that it could be finalised again, which a
 * throw-away copy never is.
 *
 * ECDSA. JOSE carries r||s (fixed width); OpenSSL wants DER. The conversion
 * is written out here rather than through ECDSA_SIG and d2i/i2d: d2i is a
 * BER reader (it would need a re-encoding pass to prove the input
 * canonical), and the verification path converts into a stack buffer with
 * no BIGNUM allocations.
 *
 * Messages never contain the token or its segments. The alg and kid values
 * are shown only when they are short and plainly printable (they name
 * what was rejected, which is what a person needs). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "base64.h"
#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

/* ES384 needs 2 * (2 + 1 + 48) + 3 = 105 bytes of DER; ES512 (not
 * supported, but the converter is generic) 2 * (2 + 1 + 66) + 3 = 141. */
#define ECDSA_MAX_COORD 66u
#define ECDSA_DER_MAX (3u + 2u * (2u + 1u + ECDSA_MAX_COORD))

/* Longest alg / kid shown in a message. */
#define SHOW_MAX 64u

/* Names come from gauth_alg_name / gauth_alg_from_name (lib/key.c). */
typedef struct alg_info {
  gauth_key_type key_type;
  const EVP_MD *(*md)(void); /* NULL: EdDSA (one-shot, no digest) */
  const char *md_name;       /* the same digest, to fetch */
  int pss;
  size_t coord_len; /* ECDSA: bytes per coordinate in r||s; else 0 */
} alg_info;

/* Indexed by gauth_alg. */
static const alg_info ALGS[GAUTH__ALG_COUNT] = {
    {0, NULL, NULL, 0, 0},                            /* unknown */
    {GAUTH_KEY_RSA, EVP_sha256, "SHA256", 0, 0},      /* RS256 */
    {GAUTH_KEY_RSA, EVP_sha384, "SHA384", 0, 0},      /* RS384 */
    {GAUTH_KEY_RSA, EVP_sha512, "SHA512", 0, 0},      /* RS512 */
    {GAUTH_KEY_RSA, EVP_sha256, "SHA256", 1, 0},      /* PS256 */
    {GAUTH_KEY_EC_P256, EVP_sha256, "SHA256", 0, 32}, /* ES256 */
    {GAUTH_KEY_EC_P384, EVP_sha384, "SHA384", 0, 48}, /* ES384 */
    {GAUTH_KEY_ED25519, NULL, NULL, 0, 0},            /* EdDSA */
};

static const alg_info *alg_get(gauth_alg alg) {
  if ((int)alg <= (int)GAUTH_ALG_UNKNOWN || (int)alg >= GAUTH__ALG_COUNT)
    return NULL;
  return &ALGS[alg];
}

static const char *alg_str(gauth_alg alg) { return gauth_alg_name(alg); }

/* 1 when s is short printable ASCII that may be quoted in a message. */
static int showable(const char *s) {
  size_t i;
  for (i = 0; s[i] != '\0'; i++) {
    if (i >= SHOW_MAX) return 0;
    if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\') return 0;
  }
  return i > 0;
}

/* 1 when the key's type and JWK alg allow alg. */
static int key_fits_alg(const gauth_key *key, gauth_alg alg) {
  const alg_info *a = alg_get(alg);
  if (a == NULL || key->type != a->key_type) return 0;
  return key->alg == GAUTH_ALG_UNKNOWN || key->alg == alg;
}

/* ---- ECDSA signature conversion ------------------------------------------ */

/* Appends the DER INTEGER for the unsigned big-endian n bytes at v to out;
 * returns the bytes written, 0 when the value is zero. */
static size_t der_put_uint(unsigned char *out, const unsigned char *v,
                           size_t n) {
  size_t i = 0, len, pos = 0;
  while (i < n && v[i] == 0) i++;
  if (i == n) return 0;
  len = n - i + ((v[i] & 0x80) ? 1 : 0);
  out[pos++] = 0x02;
  out[pos++] = (unsigned char)len; /* len <= 67: short form */
  if (v[i] & 0x80) out[pos++] = 0x00;
  memcpy(out + pos, v + i, n - i);
  return pos + n - i;
}

/* r||s -> DER into out (ECDSA_DER_MAX bytes). 0 on a bad length or r or s
 * equal to zero. */
static size_t jose_to_der_buf(const unsigned char *jose, size_t len,
                              size_t coord_len, unsigned char *out) {
  unsigned char body[ECDSA_DER_MAX];
  size_t nr, ns, blen, pos = 0;

  if (jose == NULL || coord_len == 0 || coord_len > ECDSA_MAX_COORD ||
      len != 2 * coord_len)
    return 0;
  nr = der_put_uint(body, jose, coord_len);
  if (nr == 0) return 0;
  ns = der_put_uint(body + nr, jose + coord_len, coord_len);
  if (ns == 0) return 0;
  blen = nr + ns;
  out[pos++] = 0x30;
  if (blen >= 0x80) out[pos++] = 0x81; /* blen <= 138 */
  out[pos++] = (unsigned char)blen;
  memcpy(out + pos, body, blen);
  return pos + blen;
}

/* Reads one canonical DER INTEGER at *p (end bounds it) into the
 * coord_len-byte big-endian slot out. Refused: another tag, a long-form or
 * out-of-bounds length (an INTEGER here is never 128 bytes long), an empty
 * or negative value, a superfluous leading zero, zero, a value wider than
 * coord_len bytes. */
static int der_get_uint(const unsigned char **p, const unsigned char *end,
                        size_t coord_len, unsigned char *out) {
  const unsigned char *s = *p;
  size_t len;

  if (end - s < 2 || s[0] != 0x02 || s[1] >= 0x80) return 0;
  len = s[1];
  s += 2;
  if (len == 0 || (size_t)(end - s) < len) return 0;
  if (s[0] & 0x80) return 0;                            /* negative */
  if (s[0] == 0 && len > 1 && !(s[1] & 0x80)) return 0; /* not minimal */
  *p = s + len;
  if (s[0] == 0) {
    s++;
    len--;
  }
  if (len == 0 || len > coord_len) return 0; /* zero (0x02 01 00), too wide */
  memset(out, 0, coord_len - len);
  memcpy(out + coord_len - len, s, len);
  return 1;
}

gauth_status gauth__ecdsa_jose_to_der(const unsigned char *jose, size_t len,
                                      size_t coord_len, unsigned char **der,
                                      size_t *der_len, gauth_error *err) {
  unsigned char buf[ECDSA_DER_MAX];
  size_t n;

  if (der == NULL || der_len == NULL || (jose == NULL && len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "ECDSA signature: NULL argument");
  *der = NULL;
  *der_len = 0;
  if (coord_len == 0 || coord_len > ECDSA_MAX_COORD)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "ECDSA signature: coordinate length %zu is not "
                            "supported",
                            coord_len);
  if (len != 2 * coord_len)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "ECDSA signature: %zu bytes, expected %zu (r||s)",
                            len, 2 * coord_len);
  n = jose_to_der_buf(jose, len, coord_len, buf);
  if (n == 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "ECDSA signature: r or s is zero");
  *der = malloc(n);
  if (*der == NULL) return gauth__error_nomem(err);
  memcpy(*der, buf, n);
  *der_len = n;
  return GAUTH_OK;
}

gauth_status gauth__ecdsa_der_to_jose(const unsigned char *der, size_t len,
                                      size_t coord_len, unsigned char **jose,
                                      gauth_error *err) {
  unsigned char buf[2 * ECDSA_MAX_COORD];
  const unsigned char *p, *end;
  size_t body;

  if (jose == NULL || (der == NULL && len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "ECDSA signature: NULL argument");
  *jose = NULL;
  if (coord_len == 0 || coord_len > ECDSA_MAX_COORD)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "ECDSA signature: coordinate length %zu is not "
                            "supported",
                            coord_len);
  /* SEQUENCE with a minimal definite length that ends exactly at len. */
  if (len < 2 || der[0] != 0x30) goto bad;
  if (der[1] < 0x80) {
    body = der[1];
    p = der + 2;
  } else if (der[1] == 0x81 && len >= 3 && der[2] >= 0x80) {
    body = der[2];
    p = der + 3;
  } else {
    goto bad;
  }
  if ((size_t)(der + len - p) != body) goto bad;
  end = p + body;
  if (!der_get_uint(&p, end, coord_len, buf)) goto bad;
  if (!der_get_uint(&p, end, coord_len, buf + coord_len)) goto bad;
  if (p != end) goto bad;

  *jose = malloc(2 * coord_len);
  if (*jose == NULL) return gauth__error_nomem(err);
  memcpy(*jose, buf, 2 * coord_len);
  return GAUTH_OK;

bad:
  return gauth__error_set(err, GAUTH_E_MALFORMED,
                          "ECDSA signature: not a canonical DER "
                          "SEQUENCE of two positive INTEGERs of at most %zu "
                          "bytes",
                          coord_len);
}

/* ---- key contexts -------------------------------------------------------- */

/* RFC 7518 3.5: PS256 is MGF1 with the same hash, salt as long as the
 * hash. */
static int set_pss(EVP_PKEY_CTX *pctx, const EVP_MD *md) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
}

/* Initialises ctx for verifying (sign == 0) or signing alg with pkey. */
static int ctx_init(EVP_MD_CTX *ctx, const alg_info *a, EVP_PKEY *pkey,
                    int sign) {
  EVP_PKEY_CTX *pctx = NULL;
  const EVP_MD *md = a->md != NULL ? a->md() : NULL;
  int ok = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey)
                : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey);
  if (ok != 1) return 0;
  return !a->pss || set_pss(pctx, md);
}

/* A context that verifies alg's signatures over a digest made with md
 * (EVP_PKEY_verify), or NULL. RSA gets its padding (PKCS#1 v1.5 or PSS)
 * and every alg the digest, so that the DigestInfo is checked (RSA) and a
 * digest of another length refused. */
static EVP_PKEY_CTX *verify_tmpl_new(const alg_info *a, EVP_PKEY *pkey,
                                     const EVP_MD *md) {
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  int ok = pctx != NULL && EVP_PKEY_verify_init(pctx) == 1;
  if (ok && a->key_type == GAUTH_KEY_RSA)
    ok = a->pss ? set_pss(pctx, md)
                : EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
  if (ok) ok = EVP_PKEY_CTX_set_signature_md(pctx, md) > 0;
  if (!ok) {
    EVP_PKEY_CTX_free(pctx);
    return NULL;
  }
  return pctx;
}

/* The algorithms a key can serve: by type, narrowed to its JWK alg. */
static unsigned int key_alg_mask(const gauth_key *key) {
  unsigned int mask = 0;
  int i;
  for (i = 1; i < GAUTH__ALG_COUNT; i++)
    if (key_fits_alg(key, (gauth_alg)i)) mask |= GAUTH_ALG_BIT(i);
  return mask;
}

/* The last serial handed out (gauth_key.serial, gauth_keyset.serial).
 * Process-wide by design: a serial must never repeat while any thread may
 * still hold a context or a cache entry made for it, and 2^64 are never
 * handed out. */
static atomic_uint_least64_t last_serial;

uint64_t gauth__serial_next(void) {
  return atomic_fetch_add_explicit(&last_serial, 1, memory_order_relaxed) + 1;
}

gauth_status gauth__jws_prepare_key(gauth_key *key, gauth_error *err) {
  unsigned int mask;
  int i;

  if (key == NULL || key->pkey == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JWS key setup: NULL key");
  if (key->serial == 0) key->serial = gauth__serial_next();
  /* A key that may not verify never gets as far as a context. */
  if (!key->can_verify) return GAUTH_OK;
  mask = key_alg_mask(key);
  for (i = 1; i < GAUTH__ALG_COUNT; i++) {
    const alg_info *a = &ALGS[i];
    int ok;
    if (!(mask & GAUTH_ALG_BIT(i)) || key->prepared[i] != NULL) continue;
    key->prepared[i] = EVP_MD_CTX_new();
    if (key->prepared[i] == NULL) {
      gauth__jws_release_key(key);
      return gauth__error_nomem(err);
    }
    ok = ctx_init(key->prepared[i], a, key->pkey, 0);
    if (ok && a->md_name != NULL) {
      key->md[i] = EVP_MD_fetch(NULL, a->md_name, NULL);
      key->verify_tmpl[i] =
          key->md[i] != NULL ? verify_tmpl_new(a, key->pkey, key->md[i]) : NULL;
      ok = key->verify_tmpl[i] != NULL;
    }
    if (!ok) {
      gauth__jws_release_key(key);
      return gauth__error_set(err, GAUTH_E_CRYPTO,
                              "JWS key setup: OpenSSL cannot verify %s with "
                              "this key",
                              alg_str((gauth_alg)i));
    }
  }
  return GAUTH_OK;
}

void gauth__jws_release_key(gauth_key *key) {
  int i;
  if (key == NULL) return;
  /* Threads' contexts made from these hold references of their own. */
  for (i = 0; i < GAUTH__ALG_COUNT; i++) {
    EVP_MD_CTX_free(key->prepared[i]);
    key->prepared[i] = NULL;
    EVP_PKEY_CTX_free(key->verify_tmpl[i]);
    key->verify_tmpl[i] = NULL;
    EVP_MD_free(key->md[i]);
    key->md[i] = NULL;
  }
}

/* ---- per-thread verification contexts ------------------------------------ */

/* Contexts per thread: Google's keys (two or three, RS256) and IAP's
 * (ES256, a few) fit, with room for a rotation. */
#define THREAD_SLOTS 8u

typedef struct thread_ctx {
  uint64_t serial; /* the key's; 0: the slot is empty */
  gauth_alg alg;
  /* Duplicated from key->verify_tmpl[alg]: holds its own references to
   * the EVP_PKEY and everything else it uses, so it outlives the key. */
  EVP_PKEY_CTX *pctx;
  EVP_MD_CTX *mdctx; /* reused by every digest of this slot */
  EVP_MD *md;        /* a reference of the slot's own */
} thread_ctx;

typedef struct thread_state {
  thread_ctx slot[THREAD_SLOTS];
  unsigned int next; /* the slot replaced next */
} thread_state;

static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static int thread_key_ok;

static void thread_ctx_clear(thread_ctx *t) {
  EVP_MD_CTX_free(t->mdctx);
  EVP_PKEY_CTX_free(t->pctx);
  EVP_MD_free(t->md);
  memset(t, 0, sizeof(*t));
}

/* thread_key's destructor: runs when a thread that verified exits. */
static void thread_state_free(void *p) {
  thread_state *ts = p;
  unsigned int i;
  if (ts == NULL) return;
  for (i = 0; i < THREAD_SLOTS; i++) thread_ctx_clear(&ts->slot[i]);
  free(ts);
}

static void thread_key_init(void) {
  thread_key_ok = pthread_key_create(&thread_key, thread_state_free) == 0;
}

void gauth__jws_thread_cleanup(void) {
  thread_state *ts;
  if (pthread_once(&thread_once, thread_key_init) != 0 || !thread_key_ok)
    return;
  ts = pthread_getspecific(thread_key);
  if (ts == NULL) return;
  (void)pthread_setspecific(thread_key, NULL);
  thread_state_free(ts);
}

/* The calling thread's context for (key, alg), made on first use from the
 * key's template; NULL when there is none and none can be made (out of
 * memory): the caller then takes the copy path. A slot is matched by the
 * key's serial, never by its address: a freed key's slot is simply never
 * matched again, and goes when it is replaced or the thread exits. */
static thread_ctx *thread_ctx_get(const gauth_key *key, gauth_alg alg) {
  thread_state *ts;
  thread_ctx *t;
  unsigned int i;

  if (key->serial == 0 || pthread_once(&thread_once, thread_key_init) != 0 ||
      !thread_key_ok)
    return NULL;
  ts = pthread_getspecific(thread_key);
  if (ts == NULL) {
    ts = calloc(1, sizeof(*ts));
    if (ts == NULL) return NULL;
    if (pthread_setspecific(thread_key, ts) != 0) {
      free(ts);
      return NULL;
    }
  }
  for (i = 0; i < THREAD_SLOTS; i++) {
    t = &ts->slot[i];
    if (t->serial == key->serial && t->alg == alg) return t;
  }
  t = &ts->slot[ts->next];
  thread_ctx_clear(t);
  t->pctx = EVP_PKEY_CTX_dup(key->verify_tmpl[alg]);
  t->mdctx = EVP_MD_CTX_new();
  if (t->pctx == NULL || t->mdctx == NULL || !EVP_MD_up_ref(key->md[alg])) {
    thread_ctx_clear(t);
    return NULL;
  }
  t->md = key->md[alg];
  t->serial = key->serial;
  t->alg = alg;
  ts->next = (ts->next + 1) % THREAD_SLOTS;
  return t;
}

/* verify_sig on a thread's context: the digest, then the one-shot
 * signature check on it. */
static int thread_verify(thread_ctx *t, const unsigned char *data, size_t len,
                         const unsigned char *sig, size_t sig_len) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestInit_ex(t->mdctx, t->md, NULL) != 1 ||
      EVP_DigestUpdate(t->mdctx, data, len) != 1 ||
      EVP_DigestFinal_ex(t->mdctx, digest, &digest_len) != 1)
    return -1;
  return EVP_PKEY_verify(t->pctx, sig, sig_len, digest, digest_len) == 1;
}

/* ---- verification primitive ---------------------------------------------- */

/* 1: the signature verifies; 0: it does not; -1: OpenSSL could not run the
 * check (out of memory or a broken key). The caller has checked that the
 * key fits alg. */
static int verify_sig(const gauth_key *key, gauth_alg alg,
                      const unsigned char *data, size_t len,
                      const unsigned char *sig, size_t sig_len) {
  const alg_info *a = &ALGS[alg];
  unsigned char der[ECDSA_DER_MAX];
  EVP_MD_CTX *ctx;
  thread_ctx *t;
  int rc;

  if (a->coord_len != 0) {
    /* Fixed width r||s, both non-zero, or it is simply not a signature. */
    sig_len = jose_to_der_buf(sig, sig_len, a->coord_len, der);
    if (sig_len == 0) return 0;
    sig = der;
  }
  if (key->verify_tmpl[alg] != NULL && (t = thread_ctx_get(key, alg)) != NULL)
    return thread_verify(t, data, len, sig, sig_len);
  /* EdDSA, or no thread context: a throw-away copy. */
  ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return -1;
  if (key->prepared[alg] != NULL) {
    if (EVP_MD_CTX_copy_ex(ctx, key->prepared[alg]) != 1) {
      EVP_MD_CTX_free(ctx);
      return -1;
    }
    EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
  } else if (!ctx_init(ctx, a, key->pkey, 0)) {
    /* A key built without gauth__jws_prepare_key still works, slower. */
    EVP_MD_CTX_free(ctx);
    return -1;
  }
  rc = EVP_DigestVerify(ctx, sig, sig_len, data, len);
  EVP_MD_CTX_free(ctx);
  /* Anything but 1 is a rejection: OpenSSL reports a malformed signature
   * (wrong length, r >= n) as an error rather than as 0. */
  return rc == 1 ? 1 : 0;
}

gauth_status gauth__jws_verify_raw(const gauth_key *key, gauth_alg alg,
                                   const void *data, size_t len,
                                   const unsigned char *sig, size_t sig_len,
                                   gauth_error *err) {
  int rc;
  if (key == NULL || (data == NULL && len > 0) || (sig == NULL && sig_len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "signature check: NULL argument");
  if (!key->can_verify || !key_fits_alg(key, alg))
    return gauth__error_set_verify(err, GAUTH_REASON_KEY_NOT_USABLE,
                                   "the key cannot verify %s signatures",
                                   alg_str(alg));
  rc = verify_sig(key, alg, data, len, sig, sig_len);
  if (rc < 0)
    return gauth__error_set(err, GAUTH_E_CRYPTO,
                            "signature check: OpenSSL failed to run a %s "
                            "verification",
                            alg_str(alg));
  if (rc == 0)
    return gauth__error_set_verify(err, GAUTH_REASON_SIGNATURE_INVALID,
                                   "%s signature does not verify",
                                   alg_str(alg));
  return GAUTH_OK;
}

/* ---- parsing ------------------------------------------------------------- */

/* Offsets of the two dots of a compact serialisation, or the number of
 * dots found (other than 2) in *ndots. */
static void split3(const char *token, size_t len, size_t *dot1, size_t *dot2,
                   size_t *ndots) {
  const char *p = token, *end = token + len;
  size_t n = 0;
  while (p < end) {
    const char *d = memchr(p, '.', (size_t)(end - p));
    if (d == NULL) break;
    if (n == 0) *dot1 = (size_t)(d - token);
    if (n == 1) *dot2 = (size_t)(d - token);
    n++;
    p = d + 1;
  }
  *ndots = n;
}

/* Decodes one base64url segment; on failure sets a "malformed" verify
 * error naming the segment (the decoder's message gives only offsets). */
static gauth_status decode_segment(const char *what, const char *s, size_t n,
                                   unsigned char **out, size_t *outlen,
                                   gauth_error *err) {
  gauth_error sub; /* set by any failure, read only then */
  gauth_status st = gauth__b64url_decode(s, n, out, outlen, &sub);
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED, "token %s: %s",
                                   what, sub.message);
  return GAUTH_OK;
}

/* Parses decoded JSON text of a segment as an object (the decoder leaves
 * a NUL after it, so cJSON reads it in place). */
static gauth_status parse_segment_json(const char *what, const char *text,
                                       size_t n, cJSON **out,
                                       gauth_error *err) {
  gauth_error sub; /* set by any failure, read only then */
  gauth_status st = gauth__json_parse_object_nul(text, n, NULL, out, &sub);
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set_verify(err,
                                   st == GAUTH_E_TOO_LARGE
                                       ? GAUTH_REASON_TOO_LARGE
                                       : GAUTH_REASON_MALFORMED,
                                   "token %s: %s", what, sub.message);
  return GAUTH_OK;
}

/* The protected header's rules: alg, kid, crit, b64. */
static gauth_status check_header(gauth__jws *jws, gauth_error *err) {
  const cJSON *h = jws->header;
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
  const cJSON *kid = cJSON_GetObjectItemCaseSensitive(h, "kid");
  const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(h, "b64");

  if (alg == NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "token header: no \"alg\"");
  if (!cJSON_IsString(alg))
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "token header: \"alg\" is %s, expected a "
                                   "string",
                                   gauth__json_type_name(alg));
  jws->alg = gauth_alg_from_name(alg->valuestring);
  if (jws->alg == GAUTH_ALG_UNKNOWN) {
    if (showable(alg->valuestring))
      return gauth__error_set_verify(err, GAUTH_REASON_ALG_NOT_ALLOWED,
                                     "token alg \"%s\" is never accepted "
                                     "(supported: RS256, RS384, RS512, "
                                     "PS256, ES256, ES384, EdDSA)",
                                     alg->valuestring);
    return gauth__error_set_verify(err, GAUTH_REASON_ALG_NOT_ALLOWED,
                                   "token alg is not a supported algorithm");
  }
  if (kid != NULL) {
    if (!cJSON_IsString(kid))
      return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                     "token header: \"kid\" is %s, expected "
                                     "a string",
                                     gauth__json_type_name(kid));
    jws->kid = kid->valuestring;
  }
  /* RFC 7515 4.1.11: a crit name we do not understand makes the token
   * invalid, and libgauth understands no extension; a malformed crit is no
   * better. */
  if (cJSON_GetObjectItemCaseSensitive(h, "crit") != NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_UNSUPPORTED_CRIT,
                                   "token header: \"crit\" names extensions "
                                   "libgauth does not implement");
  /* RFC 7797 unencoded payloads are not supported; "b64": true is the
   * default and harmless. */
  if (b64 != NULL) {
    if (cJSON_IsFalse(b64))
      return gauth__error_set_verify(err, GAUTH_REASON_UNSUPPORTED_CRIT,
                                     "token header: \"b64\": false "
                                     "(RFC 7797 unencoded payload) is not "
                                     "supported");
    if (!cJSON_IsTrue(b64))
      return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                     "token header: \"b64\" is %s, expected "
                                     "a boolean",
                                     gauth__json_type_name(b64));
  }
  return GAUTH_OK;
}

/* ---- the header cache ---------------------------------------------------- */

/* Entries, and the longest header segment kept. */
#define HEADER_CACHE_SLOTS 8u
#define HEADER_CACHE_MAX_SEGMENT 512u

struct gauth__jws_header {
  gauth__refcount refs;
  char *json;  /* decoded header */
  cJSON *tree; /* parsed, checked */
  gauth_alg alg;
  const char *kid; /* in tree; NULL when absent */
  size_t seg_len;
  char seg[]; /* the base64url segment (not NUL-terminated) */
};

struct gauth__jws_header_cache {
  pthread_mutex_t mu;
  gauth__jws_header *slots[HEADER_CACHE_SLOTS];
  unsigned int next; /* the slot replaced next */
};

void gauth__jws_header_release(gauth__jws_header *h) {
  if (h == NULL || !gauth__ref_down(&h->refs)) return;
  cJSON_Delete(h->tree);
  free(h->json);
  free(h);
}

gauth_status gauth__jws_header_cache_new(gauth__jws_header_cache **out,
                                         gauth_error *err) {
  gauth__jws_header_cache *c;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "header cache: NULL argument");
  c = calloc(1, sizeof(*c));
  if (c == NULL) return gauth__error_nomem(err);
  if (pthread_mutex_init(&c->mu, NULL) != 0) {
    free(c);
    return gauth__error_nomem(err);
  }
  *out = c;
  return GAUTH_OK;
}

void gauth__jws_header_cache_free(gauth__jws_header_cache *cache) {
  unsigned int i;
  if (cache == NULL) return;
  for (i = 0; i < HEADER_CACHE_SLOTS; i++)
    gauth__jws_header_release(cache->slots[i]);
  pthread_mutex_destroy(&cache->mu);
  free(cache);
}

/* A hit fills jws's header fields with a reference to the shared header. */
static int header_cache_get(gauth__jws_header_cache *cache, const char *seg,
                            size_t n, gauth__jws *jws) {
  gauth__jws_header *hit = NULL;
  unsigned int i;
  pthread_mutex_lock(&cache->mu);
  for (i = 0; i < HEADER_CACHE_SLOTS; i++) {
    gauth__jws_header *h = cache->slots[i];
    if (h != NULL && h->seg_len == n && memcmp(h->seg, seg, n) == 0) {
      gauth__ref_up(&h->refs);
      hit = h;
      break;
    }
  }
  pthread_mutex_unlock(&cache->mu);
  if (hit == NULL) return 0;
  jws->shared = hit;
  jws->header_json = hit->json;
  jws->header = hit->tree;
  jws->alg = hit->alg;
  jws->kid = hit->kid;
  return 1;
}

/* Moves jws's freshly checked header into a shared header and caches it.
 * Out of memory: jws keeps its own header, nothing is cached. */
static void header_cache_put(gauth__jws_header_cache *cache, const char *seg,
                             size_t n, gauth__jws *jws) {
  gauth__jws_header *h = malloc(sizeof(*h) + n), *old;
  if (h == NULL) return;
  gauth__ref_init(&h->refs); /* jws's */
  h->json = jws->header_json;
  h->tree = jws->header;
  h->alg = jws->alg;
  h->kid = jws->kid;
  h->seg_len = n;
  memcpy(h->seg, seg, n);
  jws->shared = h;
  gauth__ref_up(&h->refs); /* the cache's */
  pthread_mutex_lock(&cache->mu);
  old = cache->slots[cache->next];
  cache->slots[cache->next] = h;
  cache->next = (cache->next + 1) % HEADER_CACHE_SLOTS;
  pthread_mutex_unlock(&cache->mu);
  gauth__jws_header_release(old);
}

gauth_status gauth__jws_parse(const char *token, size_t len, size_t max_len,
                              int require_json_payload, gauth__jws *jws,
                              gauth_error *err) {
  return gauth__jws_parse_cached(token, len, max_len, require_json_payload,
                                 NULL, jws, err);
}

gauth_status gauth__jws_parse_cached(const char *token, size_t len,
                                     size_t max_len, int require_json_payload,
                                     gauth__jws_header_cache *cache,
                                     gauth__jws *jws, gauth_error *err) {
  size_t dot1 = 0, dot2 = 0, ndots, n;
  gauth_status st = GAUTH_OK;
  int cacheable;

  if (jws == NULL || (token == NULL && len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "token parse: NULL argument");
  memset(jws, 0, sizeof(*jws));
  if (max_len == 0) max_len = GAUTH__DEFAULT_MAX_TOKEN_BYTES;
  if (len > max_len)
    return gauth__error_set_verify(err, GAUTH_REASON_TOO_LARGE,
                                   "token is %zu bytes, over the limit of "
                                   "%zu",
                                   len, max_len);
  if (len == 0)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "token is empty");
  split3(token, len, &dot1, &dot2, &ndots);
  if (ndots != 2)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "token has %zu segments, expected 3 "
                                   "(header.payload.signature)%s",
                                   ndots + 1,
                                   ndots == 4 ? "; 5 is an encrypted JWE, "
                                                "which is not supported"
                                              : "");
  if (dot1 == 0)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "token header segment is empty");

  /* Header first: it decides whether the rest is worth decoding. A header
   * segment seen before was decoded, parsed and checked then. */
  cacheable = cache != NULL && dot1 <= HEADER_CACHE_MAX_SEGMENT;
  if (!cacheable || !header_cache_get(cache, token, dot1, jws)) {
    st = decode_segment("header", token, dot1,
                        (unsigned char **)&jws->header_json, &n, err);
    if (st == GAUTH_OK)
      st = parse_segment_json("header", jws->header_json, n, &jws->header, err);
    if (st == GAUTH_OK) st = check_header(jws, err);
    if (st == GAUTH_OK && cacheable) header_cache_put(cache, token, dot1, jws);
  }
  if (st == GAUTH_OK && dot2 + 1 == len)
    st = gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                 "token signature segment is empty");
  if (st == GAUTH_OK)
    st = decode_segment("payload", token + dot1 + 1, dot2 - dot1 - 1,
                        (unsigned char **)&jws->payload_json, &n, err);
  if (st == GAUTH_OK) {
    jws->payload_len = n;
    if (require_json_payload) {
      st = parse_segment_json("payload", jws->payload_json, n, &jws->payload,
                              err);
    } else if (gauth__json_parse_object_nul(jws->payload_json, n, NULL,
                                            &jws->payload, NULL) != GAUTH_OK) {
      jws->payload = NULL; /* not JSON: fine for a bare JWS */
    }
  }
  if (st == GAUTH_OK)
    st = decode_segment("signature", token + dot2 + 1, len - dot2 - 1,
                        &jws->sig, &jws->sig_len, err);
  if (st != GAUTH_OK) {
    gauth__jws_cleanup(jws);
    return st;
  }
  jws->token = token;
  jws->signing_input_len = dot2;
  return GAUTH_OK;
}

void gauth__jws_cleanup(gauth__jws *jws) {
  if (jws == NULL) return;
  if (jws->shared != NULL) {
    gauth__jws_header_release(jws->shared);
  } else {
    cJSON_Delete(jws->header);
    free(jws->header_json);
  }
  cJSON_Delete(jws->payload);
  /* Claims can be personal data (email, name): wiped like the rest of a
   * token's text. */
  if (jws->payload_json != NULL)
    gauth__secret_free(jws->payload_json, jws->payload_len + 1);
  free(jws->sig);
  memset(jws, 0, sizeof(*jws));
}

/* ---- key selection ------------------------------------------------------- */

/* 1 when key may be used to verify alg. */
static int key_usable(const gauth_key *key, gauth_alg alg) {
  return key->can_verify && key_fits_alg(key, alg);
}

static gauth_status verify_one(const gauth__jws *jws, const gauth_key *key,
                               int *ok, gauth_error *err) {
  int rc = verify_sig(key, jws->alg, (const unsigned char *)jws->token,
                      jws->signing_input_len, jws->sig, jws->sig_len);
  if (rc < 0)
    return gauth__error_set(err, GAUTH_E_CRYPTO,
                            "token signature: OpenSSL failed to run a %s "
                            "verification",
                            alg_str(jws->alg));
  *ok = rc;
  return GAUTH_OK;
}

gauth_status gauth__jws_verify(const gauth__jws *jws, const gauth_keyset *set,
                               unsigned int allowed, const gauth_key **used,
                               gauth_error *err) {
  const char *alg = alg_str(jws != NULL ? jws->alg : GAUTH_ALG_UNKNOWN);
  const gauth_key *match = NULL;
  size_t i, nmatch = 0, ntried = 0;
  gauth_status st;
  int ok = 0;

  if (used != NULL) *used = NULL;
  if (jws == NULL || set == NULL || jws->token == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "token verify: NULL argument");
  if (alg_get(jws->alg) == NULL || !(allowed & GAUTH_ALG_BIT(jws->alg)))
    return gauth__error_set_verify(err, GAUTH_REASON_ALG_NOT_ALLOWED,
                                   "token alg %s is not allowed by this "
                                   "verifier",
                                   alg);

  if (jws->kid != NULL) {
    /* The kid names the key; the embedded jku / x5u / jwk / x5c never do. */
    for (i = 0; i < set->n; i++) {
      const char *k = set->keys[i]->kid;
      if (k != NULL && strcmp(k, jws->kid) == 0) {
        match = set->keys[i];
        nmatch++;
      }
    }
    if (nmatch == 0) {
      /* Keys without a kid (a PEM key or certificate, a bare JWK) stand for
       * any kid: a token naming a kid that no key has is tried against
       * them, as if it had no kid. */
      for (i = 0; i < set->n && !ok; i++) {
        if (set->keys[i]->kid != NULL || !key_usable(set->keys[i], jws->alg))
          continue;
        ntried++;
        match = set->keys[i];
        st = verify_one(jws, match, &ok, err);
        if (st != GAUTH_OK) return st;
      }
      if (ok) {
        if (used != NULL) *used = match;
        return GAUTH_OK;
      }
      /* Still unknown_kid, not signature_invalid: a kid the set lacks is
       * what a key rotation looks like, and that reason is what makes the
       * verifier fetch the key set again. */
      if (ntried > 0 && showable(jws->kid))
        return gauth__error_set_verify(err, GAUTH_REASON_UNKNOWN_KID,
                                       "no key with kid \"%s\" among %zu "
                                       "key(s), and the %s signature does "
                                       "not verify with the %zu key(s) "
                                       "without a kid",
                                       jws->kid, set->n, alg, ntried);
      if (ntried > 0)
        return gauth__error_set_verify(err, GAUTH_REASON_UNKNOWN_KID,
                                       "no key with the token's kid among "
                                       "%zu key(s), and the %s signature "
                                       "does not verify with the %zu key(s) "
                                       "without a kid",
                                       set->n, alg, ntried);
      if (showable(jws->kid))
        return gauth__error_set_verify(err, GAUTH_REASON_UNKNOWN_KID,
                                       "no key with kid \"%s\" among %zu "
                                       "key(s)",
                                       jws->kid, set->n);
      return gauth__error_set_verify(err, GAUTH_REASON_UNKNOWN_KID,
                                     "no key with the token's kid among %zu "
                                     "key(s)",
                                     set->n);
    }
    if (nmatch > 1)
      return gauth__error_set_verify(err, GAUTH_REASON_AMBIGUOUS_KID,
                                     "%zu keys share the token's kid: which "
                                     "one was meant is unknowable",
                                     nmatch);
    if (!key_usable(match, jws->alg))
      return gauth__error_set_verify(err, GAUTH_REASON_KEY_NOT_USABLE,
                                     "the key with the token's kid cannot "
                                     "verify %s (%s)",
                                     alg,
                                     !match->can_verify
                                         ? "its use / key_ops forbid "
                                           "verification"
                                         : "wrong key type or JWK alg");
    st = verify_one(jws, match, &ok, err);
    if (st != GAUTH_OK) return st;
    ntried = 1;
  } else {
    /* No kid: any key that can serve alg may have signed it. */
    for (i = 0; i < set->n && !ok; i++) {
      if (!key_usable(set->keys[i], jws->alg)) continue;
      ntried++;
      match = set->keys[i];
      st = verify_one(jws, match, &ok, err);
      if (st != GAUTH_OK) return st;
    }
    if (ntried == 0)
      return gauth__error_set_verify(err, GAUTH_REASON_KEY_NOT_USABLE,
                                     "the token has no kid and none of the "
                                     "%zu key(s) can verify %s",
                                     set->n, alg);
  }
  if (!ok)
    return gauth__error_set_verify(err, GAUTH_REASON_SIGNATURE_INVALID,
                                   "%s signature does not verify with %s", alg,
                                   jws->kid != NULL
                                       ? "the key named by the token's kid"
                                   : ntried == 1 ? "the one usable key"
                                                 : "any usable key");
  if (used != NULL) *used = match;
  return GAUTH_OK;
}

/* ---- signing ------------------------------------------------------------- */

gauth_status gauth__jws_sign_raw(const gauth_key *key, gauth_alg alg,
                                 const void *data, size_t len,
                                 unsigned char **sig, size_t *sig_len,
                                 gauth_error *err) {
  const alg_info *a = alg_get(alg);
  EVP_MD_CTX *ctx;
  unsigned char *buf = NULL;
  size_t n = 0;
  gauth_status st = GAUTH_OK;

  if (key == NULL || sig == NULL || sig_len == NULL ||
      (data == NULL && len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "sign: NULL argument");
  *sig = NULL;
  *sig_len = 0;
  if (!key->is_private || !key->can_sign)
    return gauth__error_set(
        err, GAUTH_E_INVALID_ARG, "sign: the key %s",
        !key->is_private ? "is a public key" : "may not sign (its key_ops)");
  if (a == NULL || !key_fits_alg(key, alg))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "sign: alg %s does not fit the key", alg_str(alg));
  ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return gauth__error_nomem(err);
  if (!ctx_init(ctx, a, key->pkey, 1) ||
      EVP_DigestSign(ctx, NULL, &n, data, len) != 1) {
    st = GAUTH_E_CRYPTO;
  } else if ((buf = malloc(n)) == NULL) {
    st = GAUTH_E_NOMEM;
  } else if (EVP_DigestSign(ctx, buf, &n, data, len) != 1) {
    st = GAUTH_E_CRYPTO;
  }
  EVP_MD_CTX_free(ctx);
  if (st == GAUTH_OK && a->coord_len != 0) {
    /* OpenSSL's DER to JOSE r||s. */
    unsigned char *jose = NULL;
    st = gauth__ecdsa_der_to_jose(buf, n, a->coord_len, &jose, NULL);
    free(buf);
    buf = jose;
    n = 2 * a->coord_len;
    if (st == GAUTH_E_MALFORMED)
      return gauth__error_set(err, GAUTH_E_INTERNAL,
                              "sign: OpenSSL's %s signature is not the "
                              "expected DER",
                              alg_str(alg));
  }
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK) {
    free(buf);
    return gauth__error_set(err, st, "sign: OpenSSL failed to sign with %s",
                            alg_str(alg));
  }
  *sig = buf;
  *sig_len = n;
  return GAUTH_OK;
}

/* The key's own algorithm: its JWK alg, else the type's usual one. */
static gauth_alg default_alg(const gauth_key *key) {
  if (key->alg != GAUTH_ALG_UNKNOWN) return key->alg;
  switch (key->type) {
    case GAUTH_KEY_RSA: return GAUTH_ALG_RS256;
    case GAUTH_KEY_EC_P256: return GAUTH_ALG_ES256;
    case GAUTH_KEY_EC_P384: return GAUTH_ALG_ES384;
    case GAUTH_KEY_ED25519: return GAUTH_ALG_EDDSA;
  }
  return GAUTH_ALG_UNKNOWN;
}

/* cJSON_PrintUnformatted output, wiped before it is freed (claims and
 * assertions are secrets until signed and sent). */
static void free_printed(char *s) {
  if (s == NULL) return;
  OPENSSL_cleanse(s, strlen(s));
  cJSON_free(s);
}

/* {"alg":ALG,"typ":"JWT"[,"kid":KID]}, compact, in that order. */
static gauth_status header_json(gauth_alg alg, const char *kid, char **out,
                                gauth_error *err) {
  cJSON *h = cJSON_CreateObject();
  *out = NULL;
  if (h == NULL || cJSON_AddStringToObject(h, "alg", alg_str(alg)) == NULL ||
      cJSON_AddStringToObject(h, "typ", "JWT") == NULL ||
      (kid != NULL && cJSON_AddStringToObject(h, "kid", kid) == NULL) ||
      (*out = cJSON_PrintUnformatted(h)) == NULL) {
    cJSON_Delete(h);
    return gauth__error_nomem(err);
  }
  cJSON_Delete(h);
  return GAUTH_OK;
}

gauth_status gauth_jwt_sign(const gauth_key *key, gauth_alg alg,
                            const char *kid, const char *claims_json,
                            char **out, gauth_error *err) {
  char *hdr = NULL, *claims = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL;
  char *input = NULL, *jwt = NULL;
  unsigned char *sig = NULL;
  size_t sig_len = 0, hl, cl, sl;
  cJSON *obj = NULL;
  gauth_status st;

  if (out == NULL || key == NULL || claims_json == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JWT sign: NULL argument");
  *out = NULL;
  if (alg == GAUTH_ALG_UNKNOWN) alg = default_alg(key);
  if (kid == NULL) kid = key->kid;
  if (!key->is_private)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JWT sign: the key is a public key");
  if (alg_get(alg) == NULL || !key_fits_alg(key, alg))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JWT sign: alg %s does not fit the key",
                            alg_str(alg));

  st = gauth__json_parse_object(claims_json, strlen(claims_json), NULL, &obj,
                                err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "JWT sign: claims");
    return st;
  }
  claims = cJSON_PrintUnformatted(obj);
  cJSON_Delete(obj);
  if (claims == NULL) return gauth__error_nomem(err);

  st = header_json(alg, kid, &hdr, err);
  if (st == GAUTH_OK) st = gauth__b64url_encode(hdr, strlen(hdr), &h64, err);
  if (st == GAUTH_OK)
    st = gauth__b64url_encode(claims, strlen(claims), &c64, err);
  if (st == GAUTH_OK) {
    hl = strlen(h64);
    cl = strlen(c64);
    input = malloc(hl + 1 + cl + 1);
    if (input == NULL) {
      st = gauth__error_nomem(err);
    } else {
      memcpy(input, h64, hl);
      input[hl] = '.';
      memcpy(input + hl + 1, c64, cl + 1);
      st = gauth__jws_sign_raw(key, alg, input, hl + 1 + cl, &sig, &sig_len,
                               err);
    }
  }
  if (st == GAUTH_OK) st = gauth__b64url_encode(sig, sig_len, &s64, err);
  if (st == GAUTH_OK) {
    sl = strlen(s64);
    jwt = malloc(hl + 1 + cl + 1 + sl + 1);
    if (jwt == NULL) {
      st = gauth__error_nomem(err);
    } else {
      memcpy(jwt, input, hl + 1 + cl);
      jwt[hl + 1 + cl] = '.';
      memcpy(jwt + hl + 1 + cl + 1, s64, sl + 1);
      *out = jwt;
    }
  }
  free_printed(hdr);
  free_printed(claims);
  free(h64);
  gauth__secret_strfree(c64);
  gauth__secret_strfree(input);
  free(sig);
  gauth__secret_strfree(s64);
  return st;
}

/* ---- decoding without verifying ------------------------------------------ */

static gauth_status decode_part(const char *what, const char *s, size_t n,
                                char **out, gauth_error *err) {
  unsigned char *buf = NULL;
  size_t len = 0;
  cJSON *obj = NULL;
  gauth_status st = gauth__b64url_decode(s, n, &buf, &len, err);
  if (st == GAUTH_OK) {
    st = gauth__json_parse_object((const char *)buf, len, NULL, &obj, err);
    gauth__secret_json_delete(obj); /* a token's text, wiped as the buffer */
  }
  if (st != GAUTH_OK) {
    gauth__secret_free(buf, len);
    gauth__error_prefix(err, "token %s", what);
    return st;
  }
  *out = (char *)buf;
  return GAUTH_OK;
}

gauth_status gauth_jwt_decode_unverified(const char *token, char **header_json,
                                         char **payload_json,
                                         gauth_error *err) {
  size_t dot1 = 0, dot2 = 0, ndots, len;
  char *h = NULL, *p = NULL;
  gauth_status st;

  if (header_json != NULL) *header_json = NULL;
  if (payload_json != NULL) *payload_json = NULL;
  if (token == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "JWT decode: NULL token");
  len = strlen(token);
  split3(token, len, &dot1, &dot2, &ndots);
  if (ndots != 2)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "token has %zu segments, expected 3 "
                            "(header.payload.signature)",
                            ndots + 1);
  /* Both parts are decoded and checked even when the caller wants one: a
   * token is either well-formed or not. */
  st = decode_part("header", token, dot1, &h, err);
  if (st == GAUTH_OK)
    st = decode_part("payload", token + dot1 + 1, dot2 - dot1 - 1, &p, err);
  if (st != GAUTH_OK) {
    gauth_free(h);
    return st;
  }
  if (header_json != NULL)
    *header_json = h;
  else
    gauth_free(h);
  if (payload_json != NULL)
    *payload_json = p;
  else
    gauth_free(p);
  return GAUTH_OK;
}

/* ---- the public raw and bare-JWS entry points ---------------------------- */

size_t gauth_key_signature_size(const gauth_key *key, gauth_alg alg) {
  const alg_info *a = alg_get(alg);
  if (key == NULL || a == NULL || !key_fits_alg(key, alg)) return 0;
  if (a->coord_len > 0) return 2 * a->coord_len;
  if (key->type == GAUTH_KEY_ED25519) return 64;
  return (size_t)EVP_PKEY_get_size(key->pkey);
}

gauth_status gauth_key_sign(const gauth_key *key, gauth_alg alg,
                            const void *data, size_t len, unsigned char *sig,
                            size_t *sig_len, gauth_error *err) {
  unsigned char *raw = NULL;
  size_t n = 0;
  gauth_status st;
  if (key == NULL || sig == NULL || sig_len == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_key_sign: NULL argument");
  if (alg == GAUTH_ALG_UNKNOWN) alg = gauth_key_alg(key);
  st = gauth__jws_sign_raw(key, alg, data, len, &raw, &n, err);
  if (st != GAUTH_OK) return st;
  if (n > *sig_len) {
    free(raw);
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_key_sign: the buffer holds %zu bytes, the "
                            "%s signature needs %zu",
                            *sig_len, alg_str(alg), n);
  }
  memcpy(sig, raw, n);
  *sig_len = n;
  free(raw);
  gauth_error_clear(err);
  return GAUTH_OK;
}

gauth_status gauth_key_verify(const gauth_key *key, gauth_alg alg,
                              const void *data, size_t len,
                              const unsigned char *sig, size_t sig_len,
                              gauth_error *err) {
  gauth_status st =
      gauth__jws_verify_raw(key, alg, data, len, sig, sig_len, err);
  if (st == GAUTH_OK) gauth_error_clear(err);
  return st;
}

gauth_status gauth_jws_verify(const char *token, size_t len,
                              const gauth_keyset *keys, unsigned int algorithms,
                              char **payload, size_t *payload_len,
                              gauth_error *err) {
  gauth__jws jws;
  gauth_status st;
  if (payload != NULL) *payload = NULL;
  if (payload_len != NULL) *payload_len = 0;
  if (token == NULL || keys == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_jws_verify: NULL token or keys");
  if (len == 0) len = strlen(token);
  st = gauth__jws_parse(token, len, 0, 0, &jws, err);
  if (st != GAUTH_OK) return st;
  st = gauth__jws_verify(&jws, keys, algorithms, NULL, err);
  if (st == GAUTH_OK) {
    if (payload_len != NULL) *payload_len = jws.payload_len;
    if (payload != NULL) {
      /* Handed over as is: it is already NUL-terminated. */
      *payload = jws.payload_json;
      jws.payload_json = NULL;
    }
    gauth_error_clear(err);
  }
  gauth__jws_cleanup(&jws);
  return st;
}
