/* Internal: the insides of gauth_key, gauth_keyset and gauth_claims, and
 * the JWS machinery shared by lib/key*.c, lib/keyset.c, lib/jws.c,
 * lib/claims.c and lib/verifier.c. */
#ifndef GAUTH_LIB_JOSE_INTERNAL_H
#define GAUTH_LIB_JOSE_INTERNAL_H

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "common.h"
#include "refcount.h"

/* One more than the largest gauth_alg value. */
#define GAUTH__ALG_COUNT 8

/* Default size limit of a compact token. */
#define GAUTH__DEFAULT_MAX_TOKEN_BYTES ((size_t)16 * 1024)

/* ---- gauth_key ------------------------------------------------------------
 * The object and its checks: lib/key.c. Imports: lib/key_jwk.c (and the
 * public JWK), lib/key_pem.c, lib/key_service_account.c, lib/key_file.c. */

struct gauth_key {
  gauth__refcount refs;
  EVP_PKEY *pkey; /* public or private; never NULL */
  gauth_key_type type;
  unsigned int bits;
  int is_private;
  char *kid;      /* NULL when none */
  gauth_alg alg;  /* the JWK's "alg", GAUTH_ALG_UNKNOWN if absent */
  int can_verify; /* 0 when "use"/"key_ops" forbid verification */
  int can_sign;   /* private and not forbidden by "key_ops" */
  /* Unique among the keys of this process, never reused (a 64-bit
   * counter), given by gauth__jws_prepare_key (0 before): what a thread's
   * verification contexts are keyed by, where an address could belong to
   * a newer key after this one is freed. */
  uint64_t serial;
  /* Per algorithm the key can serve, made once (owned by lib/jws.c:
   * gauth__jws_prepare_key / gauth__jws_release_key; see its header
   * comment):
   *   prepared: EVP_DigestVerifyInit done (PSS padding set for PS256),
   *     copied per verification (EVP_MD_CTX_copy_ex): EdDSA's path, and
   *     the fallback of the others;
   *   verify_tmpl: EVP_PKEY_verify_init done, padding and digest set
   *     (NULL for EdDSA): what each thread duplicates once into its own
   *     context for this key;
   *   md: the digest, fetched once (NULL for EdDSA). */
  EVP_MD_CTX *prepared[GAUTH__ALG_COUNT];
  EVP_PKEY_CTX *verify_tmpl[GAUTH__ALG_COUNT];
  EVP_MD *md[GAUTH__ALG_COUNT];
};

/* Builds a key around pkey (takes ownership of pkey, even on failure):
 * derives type, bits and is_private, checks the key (RSA >= 2048 bits, odd
 * exponent > 1, not ROCA-vulnerable; EC on a supported curve), copies kid
 * (may be NULL), records alg / can_verify / can_sign, and prepares its
 * verification contexts. */
gauth_status gauth__key_new(gauth_key **out, EVP_PKEY *pkey, const char *kid,
                            gauth_alg alg, int can_verify, int can_sign,
                            gauth_error *err);

/* The algorithms a key of this type can serve, as a GAUTH_ALG_BIT mask
 * (RSA: RS256|RS384|RS512|PS256; P-256: ES256; P-384: ES384; Ed25519:
 * EdDSA), narrowed to its JWK "alg" when it had one. */
unsigned int gauth__key_algs(const gauth_key *key);

/* Inputs that a key or key set is read from (text or file) are limited to
 * this many bytes (GAUTH_E_TOO_LARGE). */
#define GAUTH__KEY_MAX_INPUT ((size_t)1024 * 1024)

/* RSA moduli outside this range are refused: below, factorable in
 * practice; above, a verification is slow enough to be a denial of
 * service (and no issuer uses them). */
#define GAUTH__RSA_MIN_BITS 2048u
#define GAUTH__RSA_MAX_BITS 16384u

/* Names from the input (kid, kty, crv, alg, type) are shown cut to this. */
#define GAUTH__IN_FMT "\"%.64s\""

/* A key from a parsed JWK object (as gauth_key_from_jwk). */
gauth_status gauth__key_from_jwk_object(gauth_key **out, const cJSON *jwk,
                                        gauth_error *err);

/* A key from PEM text (as gauth_key_from_pem) with the given kid (may be
 * NULL): the entries of Google's v1 certificate map, service-account keys,
 * PEM files. */
gauth_status gauth__key_from_pem_kid(gauth_key **out, const char *pem,
                                     size_t len, const char *kid,
                                     gauth_error *err);

/* The private key of a parsed service-account key object ("private_key",
 * kid "private_key_id"; "type", when present, must be service_account).
 * *out is left alone on failure. */
gauth_status gauth__key_from_service_account_object(const cJSON *root,
                                                    gauth_key **out,
                                                    gauth_error *err);

/* The public JWK of key as a new cJSON object (cJSON_Delete), or NULL when
 * out of memory. */
cJSON *gauth__key_public_jwk_json(const gauth_key *key);

/* ---- gauth_keyset (lib/keyset.c) ---------------------------------------- */

struct gauth_keyset {
  gauth__refcount refs;
  size_t n;
  gauth_key **keys; /* each holds a reference */
  uint64_t serial;  /* unique per set made in this process, never 0 */
};

/* A serial for a new key or key set: unique in the process, never 0
 * (lib/jws.c). */
uint64_t gauth__serial_next(void);

/* ---- compact JWS (lib/jws.c) -------------------------------------------- */

/* A parsed and checked protected header, shared (reference-counted,
 * immutable) by the parses and claims of tokens whose header segment is the
 * same text: see gauth__jws_header_cache. */
typedef struct gauth__jws_header gauth__jws_header;

/* Drops a reference to a shared header (NULL: no-op). */
void gauth__jws_header_release(gauth__jws_header *h);

typedef struct gauth__jws {
  const char *token;        /* borrowed: the caller's token */
  size_t signing_input_len; /* length of "HEADER.PAYLOAD" at token */
  char *header_json;        /* decoded protected header (NUL-terminated) */
  char *payload_json;       /* decoded payload (NUL-terminated) */
  size_t payload_len;       /* its length (it may hold NUL bytes) */
  cJSON *header;            /* parsed header object */
  cJSON *payload;           /* parsed payload; NULL when not JSON */
  unsigned char *sig;       /* decoded signature */
  size_t sig_len;
  gauth_alg alg;
  const char *kid; /* borrowed from header; NULL when absent */
  /* Non-NULL: header_json, header and kid belong to this shared header
   * (one reference, the jws's), not to the jws. */
  gauth__jws_header *shared;
} gauth__jws;

/* Parses a compact JWS strictly: at most max_len bytes (0: 16 KiB) ->
 * reason "too_large"; exactly three segments, strict base64url, header a
 * JSON object with a string "alg", no duplicate members, every name in
 * "crit" understood (none is: any crit -> "unsupported_crit"); "jku",
 * "x5u", "jwk", "x5c" are ignored (never used to find a key); payload must
 * be a JSON object when require_json_payload. alg "none", HS*, or unknown
 * -> "alg_not_allowed". Failures are GAUTH_E_VERIFY with a reason; the
 * message never contains the token. On failure *jws holds nothing.
 * Details: "kid" must be a string when present, null included (else
 * "malformed"); "b64": false -> "unsupported_crit" (RFC 7797 is not
 * supported); the payload segment may be empty, the signature segment not;
 * header / payload JSON over the JSON depth limit -> "too_large". Without
 * require_json_payload, jws->payload is NULL for a payload that is not a
 * (duplicate-free) JSON object, and payload_json still holds its bytes.
 * jws->token borrows `token`: keep it alive while jws is used. */
gauth_status gauth__jws_parse(const char *token, size_t len, size_t max_len,
                              int require_json_payload, gauth__jws *jws,
                              gauth_error *err);

void gauth__jws_cleanup(gauth__jws *jws);

/* Every token signed by one key usually carries the same header segment
 * ({"alg":"RS256","kid":"...","typ":"JWT"}): a verifier keeps the last few
 * it parsed and checked, keyed by their exact base64url text, so that a
 * token with a known header skips its decoding, parsing and checks (which
 * depend on those bytes alone). Thread-safe (a mutex around the lookup);
 * bounded (a few entries of at most 512 bytes, replaced in turn); entries
 * are shared, so a header stays alive while a jws or claims holds it, after
 * its entry was replaced or the cache freed. */
typedef struct gauth__jws_header_cache gauth__jws_header_cache;

gauth_status gauth__jws_header_cache_new(gauth__jws_header_cache **out,
                                         gauth_error *err);
void gauth__jws_header_cache_free(gauth__jws_header_cache *cache);

/* gauth__jws_parse with a header cache (NULL: none): identical results. */
gauth_status gauth__jws_parse_cached(const char *token, size_t len,
                                     size_t max_len, int require_json_payload,
                                     gauth__jws_header_cache *cache,
                                     gauth__jws *jws, gauth_error *err);

/* Chooses the key(s) of set for jws and checks the signature:
 *   - alg not in `allowed` (GAUTH_ALG_BIT mask) -> "alg_not_allowed";
 *   - with a kid: the keys with that kid; more than one -> "ambiguous_kid";
 *     none -> the keys that have no kid (they stand for any kid), and when
 *     there are none of those either, "unknown_kid"; without a kid: every
 *     key that can serve alg;
 *   - a key whose type / alg / use / key_ops does not fit -> "key_not_usable"
 *     (when it was the only candidate);
 *   - bad signature -> "signature_invalid".
 * Without a kid and no key able to serve alg -> "key_not_usable". Keys are
 * tried in set order; OpenSSL failing to run a check (out of memory) is
 * GAUTH_E_CRYPTO, not a rejection. Thread-safe: keys are only read.
 * On success *used (may be NULL) is the key that verified (borrowed). */
gauth_status gauth__jws_verify(const gauth__jws *jws, const gauth_keyset *set,
                               unsigned int allowed, const gauth_key **used,
                               gauth_error *err);

/* The signature check behind gauth__jws_verify, on raw bytes: sig over
 * data with key for alg (ES* in JOSE r||s form). The key must allow
 * verification and fit alg, else "key_not_usable"; a wrong signature is
 * "signature_invalid". For tests (Wycheproof primitive vectors) and any
 * caller that already chose the key. */
gauth_status gauth__jws_verify_raw(const gauth_key *key, gauth_alg alg,
                                   const void *data, size_t len,
                                   const unsigned char *sig, size_t sig_len,
                                   gauth_error *err);

/* Verification context setup and release for a key (called by lib/key.c).
 * Setup gives the key its serial. */
gauth_status gauth__jws_prepare_key(gauth_key *key, gauth_error *err);
void gauth__jws_release_key(gauth_key *key);

/* Frees the calling thread's verification contexts now rather than at its
 * exit (gauth_global_cleanup calls it when the last reference goes). The
 * thread may verify again afterwards: it makes them anew. */
void gauth__jws_thread_cleanup(void);

/* Raw signature over data with key for alg (ES* in JOSE r||s form; RSA
 * PKCS#1 v1.5 is deterministic). The key must be private, may sign, and fit
 * alg (else GAUTH_E_INVALID_ARG). Free *sig with free(). */
gauth_status gauth__jws_sign_raw(const gauth_key *key, gauth_alg alg,
                                 const void *data, size_t len,
                                 unsigned char **sig, size_t *sig_len,
                                 gauth_error *err);

/* ECDSA signature conversion, strict: JOSE r||s (2 * coord_len bytes) to
 * DER and back. DER input must be canonical (minimal lengths and integers,
 * no trailing bytes); r and s in [1, 2^(8*coord_len)). */
gauth_status gauth__ecdsa_jose_to_der(const unsigned char *jose, size_t len,
                                      size_t coord_len, unsigned char **der,
                                      size_t *der_len, gauth_error *err);
gauth_status gauth__ecdsa_der_to_jose(const unsigned char *der, size_t len,
                                      size_t coord_len, unsigned char **jose,
                                      gauth_error *err);

/* ---- gauth_claims (lib/claims.c) ---------------------------------------- */

struct gauth_claims {
  gauth__refcount refs;
  char *header_json;
  char *payload_json;
  cJSON *header;
  cJSON *payload;
  gauth_alg alg;
  const char *kid;           /* borrowed from header; NULL when absent */
  gauth__jws_header *shared; /* as in gauth__jws */
};

/* Moves the decoded parts of a verified jws into a new claims object (jws is
 * left empty). */
gauth_status gauth__claims_from_jws(gauth__jws *jws, gauth_claims **out,
                                    gauth_error *err);

/* The checks on a payload, pure (no clock: `now` is given). */
typedef struct gauth__claim_rules {
  const char *const *issuers;   /* NULL-terminated; NULL: not checked */
  const char *const *audiences; /* NULL-terminated; NULL: not checked */
  int64_t now;
  int64_t leeway;
  int64_t max_lifetime; /* 0: no limit */
  int require_email_verified;
  int require_email;
  const char *hosted_domain;
  const char *authorized_party;
} gauth__claim_rules;

/* exp required (a number); now > exp + leeway -> "expired"; nbf > now +
 * leeway -> "not_yet_valid"; iat > now + leeway -> "issued_in_future"; iss
 * not in issuers -> "issuer_mismatch"; no aud in audiences ->
 * "audience_mismatch"; exp - iat > max_lifetime -> "lifetime_too_long" (iat
 * then required); missing or wrong-typed claims -> "missing_claim" /
 * "malformed"; hd / azp / email_verified / email -> "claim_mismatch" /
 * "missing_claim". Messages name the values a person needs: "token expired
 * 312 s ago (exp 1764201600, now 1764201912, leeway 30 s)". */
gauth_status gauth__claims_check(const cJSON *payload,
                                 const gauth__claim_rules *rules,
                                 gauth_error *err);

#endif /* GAUTH_LIB_JOSE_INTERNAL_H */
