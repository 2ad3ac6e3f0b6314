/* libgauth: JOSE: keys, key sets, compact JWS signing and verification,
 * JWT claims.
 *
 * OBJECTS. gauth_key (one public or private key), gauth_keyset (keys found
 * by `kid`) and gauth_claims (a verified token's header and claims) are
 * opaque, immutable once built, and reference-counted: _up_ref adds a
 * reference, _free drops one (NULL is a no-op). Getters return borrowed
 * pointers valid while the object lives.
 *
 * THREAD SAFETY. Every function here is thread-safe, and an object may be
 * used by any number of threads at once (they are immutable).
 *
 * SECRETS. Private keys never appear in messages or logs; memory that held
 * them is wiped when freed. */
#ifndef GAUTH_JOSE_H
#define GAUTH_JOSE_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/error.h>
#include <gauth/export.h>

GAUTH_BEGIN_DECLS

/* JWS algorithms. `none` and HS* are not here: libgauth never accepts
 * them. Values are stable. */
typedef enum gauth_alg {
  GAUTH_ALG_UNKNOWN = 0,
  GAUTH_ALG_RS256 = 1,
  GAUTH_ALG_RS384 = 2,
  GAUTH_ALG_RS512 = 3,
  GAUTH_ALG_PS256 = 4,
  GAUTH_ALG_ES256 = 5,
  GAUTH_ALG_ES384 = 6,
  GAUTH_ALG_EDDSA = 7
} gauth_alg;

/* A set of algorithms, as a bit mask. */
#define GAUTH_ALG_BIT(alg) (1u << (unsigned)(alg))

/* "RS256", ... ; "unknown" for anything else. Static. */
GAUTH_API const char *gauth_alg_name(gauth_alg alg);
/* The algorithm named exactly `name` (case-sensitive, as in JOSE), or
 * GAUTH_ALG_UNKNOWN. */
GAUTH_API gauth_alg gauth_alg_from_name(const char *name);

/* ---- keys ---------------------------------------------------------------- */

typedef struct gauth_key gauth_key;

typedef enum gauth_key_type {
  GAUTH_KEY_RSA = 1,
  GAUTH_KEY_EC_P256 = 2,
  GAUTH_KEY_EC_P384 = 3,
  GAUTH_KEY_ED25519 = 4
} gauth_key_type;

/* A key from a JWK (RFC 7517), public or private. Its `kid`, `alg`, `use`
 * and `key_ops` are kept and honoured: a key whose `use` is not "sig", whose
 * `key_ops` lacks "verify", or whose `alg` differs from a token's, is never
 * used to verify it. Refused: RSA under 2048 bits, RSA exponent 1 or even,
 * ROCA-vulnerable RSA moduli, EC points not on the curve, `alg` that does
 * not fit the key type or curve, symmetric keys ("oct"). Errors:
 * GAUTH_E_MALFORMED, GAUTH_E_UNSUPPORTED, GAUTH_E_TOO_LARGE. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_key_from_jwk(gauth_key **out,
                                                          const char *json,
                                                          size_t len,
                                                          gauth_error *err);

/* A key from PEM text: a public key (SPKI "PUBLIC KEY", PKCS#1 "RSA PUBLIC
 * KEY"), an X.509 certificate (only its public key is used; its dates and
 * issuer are ignored, as Google's libraries do), or a private key (PKCS#8
 * "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY"). Encrypted
 * keys are GAUTH_E_UNSUPPORTED. The key gets no kid. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_key_from_pem(gauth_key **out,
                                                          const char *pem,
                                                          size_t len,
                                                          gauth_error *err);

/* The private key of a service-account key file's JSON (its "private_key"),
 * with kid = its "private_key_id". */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_key_from_service_account(
    gauth_key **out, const char *json, size_t len, gauth_error *err);

/* Reads a file holding a JWK, a PEM key or certificate, or a service-account
 * JSON file (detected from the content). Errors as above, plus GAUTH_E_IO. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_key_load_file(gauth_key **out,
                                                           const char *path,
                                                           gauth_error *err);

GAUTH_API void gauth_key_up_ref(gauth_key *key);
GAUTH_API void gauth_key_free(gauth_key *key);

GAUTH_API gauth_key_type gauth_key_get_type(const gauth_key *key);
/* Key size in bits (RSA modulus, curve size). */
GAUTH_API unsigned int gauth_key_bits(const gauth_key *key);
/* 1 when the key holds private material. */
GAUTH_API int gauth_key_is_private(const gauth_key *key);
/* The key's kid, or NULL. Borrowed. */
GAUTH_API const char *gauth_key_kid(const gauth_key *key);
/* The algorithm the key is for: its JWK `alg` when it had one, else RS256
 * for RSA, ES256 / ES384 for P-256 / P-384, EdDSA for Ed25519. */
GAUTH_API gauth_alg gauth_key_alg(const gauth_key *key);

/* The public part as a JWK JSON object (with kid, alg and "use":"sig").
 * Free *out with gauth_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_key_public_jwk(const gauth_key *key, char **out, gauth_error *err);

/* ---- key sets ---------------------------------------------------------- */

typedef struct gauth_keyset gauth_keyset;

/* Parses a key set, detecting the format: a JWKS ({"keys":[...]}), Google's
 * v1 certificate map ({"KID":"-----BEGIN CERTIFICATE-----..."}), one JWK, or
 * PEM text (one key or certificate). A JWKS member that cannot be used
 * (unsupported kty, symmetric, an `enc` key, too small) is skipped and
 * logged, not fatal; a set with no usable key is GAUTH_E_MALFORMED.
 * Duplicate kids are kept, but a token whose kid matches more than one key
 * is rejected (reason "ambiguous_kid"): which key was meant is unknowable. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_keyset_parse(gauth_keyset **out,
                                                          const char *data,
                                                          size_t len,
                                                          gauth_error *err);

/* Reads a file and parses it as gauth_keyset_parse does. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_keyset_load_file(gauth_keyset **out, const char *path, gauth_error *err);

/* A set of the given keys (each gets a reference). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_keyset_from_keys(
    gauth_keyset **out, gauth_key *const *keys, size_t n, gauth_error *err);

GAUTH_API void gauth_keyset_up_ref(gauth_keyset *set);
GAUTH_API void gauth_keyset_free(gauth_keyset *set);
GAUTH_API size_t gauth_keyset_count(const gauth_keyset *set);
/* The i-th key (borrowed), or NULL past the end. */
GAUTH_API const gauth_key *gauth_keyset_get(const gauth_keyset *set, size_t i);

/* The public keys as a JWKS. Free *out with gauth_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_keyset_to_jwks(const gauth_keyset *set, char **out, gauth_error *err);

/* ---- signing ------------------------------------------------------------- */

/* Signs a JWT: header {"alg":ALG,"typ":"JWT","kid":KID}, the claims JSON
 * object as given (re-serialised compactly; it must be an object without
 * duplicate members), and the signature. alg GAUTH_ALG_UNKNOWN means the
 * key's algorithm; kid NULL means the key's kid (none if it has none).
 * RS256 is deterministic; ES256 signatures are in JOSE r||s form. Free *out
 * with gauth_free(). Errors: GAUTH_E_INVALID_ARG (a public key, an alg that
 * does not fit the key), GAUTH_E_MALFORMED (claims), GAUTH_E_CRYPTO. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_jwt_sign(const gauth_key *key, gauth_alg alg, const char *kid,
               const char *claims_json, char **out, gauth_error *err);

/* ---- raw signatures and bare JWS ----------------------------------------- */

/* The largest signature gauth_key_sign writes for key and alg (the RSA
 * modulus size; 64 for ES256, 96 for ES384, 64 for EdDSA), or 0 when alg does
 * not fit the key. */
GAUTH_API size_t gauth_key_signature_size(const gauth_key *key, gauth_alg alg);

/* Signs `len` bytes of data (no JOSE framing: the bytes as given, e.g. to
 * compare with what IAM signBlob returns). ES* signatures are in JOSE r||s
 * form. *sig_len is the capacity of sig on entry (at least
 * gauth_key_signature_size) and the signature's length on return. alg
 * GAUTH_ALG_UNKNOWN means the key's algorithm. Errors: GAUTH_E_INVALID_ARG (a
 * public key, an alg that does not fit, sig too small), GAUTH_E_CRYPTO. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_key_sign(
    const gauth_key *key, gauth_alg alg, const void *data, size_t len,
    unsigned char *sig, size_t *sig_len, gauth_error *err);

/* Checks a raw signature over data. A wrong signature is GAUTH_E_VERIFY with
 * reason "signature_invalid"; a key that may not verify or does not fit alg,
 * GAUTH_E_VERIFY with "key_not_usable". */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_key_verify(
    const gauth_key *key, gauth_alg alg, const void *data, size_t len,
    const unsigned char *sig, size_t sig_len, gauth_error *err);

/* Verifies a compact JWS's structure and signature with keys, and nothing
 * else: no claims (the payload need not be JSON). For JWTs use
 * gauth_verifier, which also checks the claims. The rules on structure,
 * algorithms (a mask of GAUTH_ALG_BIT; 0 allows none) and key selection are
 * the verifier's (see docs/verifying.md); rejections are GAUTH_E_VERIFY with
 * a reason. On success *payload (may be NULL) receives the decoded payload,
 * NUL-terminated, and *payload_len (may be NULL) its length; free it with
 * gauth_free(). len 0 means strlen(token). */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_jws_verify(const char *token, size_t len, const gauth_keyset *keys,
                 unsigned int algorithms, char **payload, size_t *payload_len,
                 gauth_error *err);

/* ---- decoding without verifying ---------------------------------------- */

/* Splits and decodes a compact JWS WITHOUT verifying anything: for display
 * and diagnosis only. *header_json and *payload_json receive the decoded
 * JSON texts (free with gauth_free()); either pointer may be NULL. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_jwt_decode_unverified(const char *token, char **header_json,
                            char **payload_json, gauth_error *err);

/* ---- claims of a verified token ----------------------------------------- */

typedef struct gauth_claims gauth_claims;

GAUTH_API void gauth_claims_up_ref(gauth_claims *claims);
GAUTH_API void gauth_claims_free(gauth_claims *claims);

/* The decoded payload / protected header as JSON text (borrowed). */
GAUTH_API const char *gauth_claims_json(const gauth_claims *claims);
GAUTH_API const char *gauth_claims_header_json(const gauth_claims *claims);

/* The token header's algorithm and kid (kid may be NULL): what the token
 * says, which named the verifying key except when a key without a kid (a
 * PEM key or certificate) verified it; then the kid named no key of the
 * set. */
GAUTH_API gauth_alg gauth_claims_alg(const gauth_claims *claims);
GAUTH_API const char *gauth_claims_kid(const gauth_claims *claims);

/* Registered claims (NULL / 0 when absent). `aud` may be a string or an
 * array: gauth_claims_audience(c, i) gives each. */
GAUTH_API const char *gauth_claims_issuer(const gauth_claims *claims);
GAUTH_API const char *gauth_claims_subject(const gauth_claims *claims);
GAUTH_API size_t gauth_claims_audience_count(const gauth_claims *claims);
GAUTH_API const char *gauth_claims_audience(const gauth_claims *claims,
                                            size_t i);
GAUTH_API int64_t gauth_claims_expires_at(const gauth_claims *claims);
GAUTH_API int64_t gauth_claims_issued_at(const gauth_claims *claims);

/* Typed access to any top-level claim. Errors: GAUTH_E_NOT_FOUND when absent
 * (or null), GAUTH_E_MALFORMED when of another type (the message names the
 * claim and both types). get_int64 takes integral numbers within 2^53. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_claims_get_string(const gauth_claims *claims, const char *name,
                        const char **out, gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_claims_get_int64(const gauth_claims *claims, const char *name,
                       int64_t *out, gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_claims_get_bool(
    const gauth_claims *claims, const char *name, int *out, gauth_error *err);
/* Any claim (object, array, ...) as compact JSON text. Free with
 * gauth_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_claims_get_json(
    const gauth_claims *claims, const char *name, char **out, gauth_error *err);

GAUTH_END_DECLS

#endif /* GAUTH_JOSE_H */
