/* libFuzzer target for key-set parsing (lib/keyset.c, lib/key*.c):
 * gauth_keyset_parse over any input, detecting JWKS, Google's PEM
 * certificate map, one JWK or PEM text.
 *
 * Beyond "no crash, no leak" it checks properties, aborting when one fails:
 *   - failure leaves *out NULL and gives a status with a message (never
 *     GAUTH_OK, never GAUTH_E_INTERNAL);
 *   - success gives at least one key, every index below the count yields a
 *     key and the count itself NULL; every key is RSA of 2048 bits or more,
 *     or an EC / Ed25519 key of its curve's size;
 *   - the set written back as a JWKS (gauth_keyset_to_jwks) parses again to
 *     the same keys: count, types, sizes and kids;
 *   - each key's public JWK parses as a key of the same type and size. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gauth/gauth.h>
#include "fuzz_check.h"

static int same_kid(const char *a, const char *b) {
  if (a == NULL || b == NULL) return a == b;
  return strcmp(a, b) == 0;
}

static void check_key(const gauth_key *k) {
  unsigned int bits = gauth_key_bits(k);
  switch (gauth_key_get_type(k)) {
    case GAUTH_KEY_RSA: CHECK(bits >= 2048); break;
    case GAUTH_KEY_EC_P256: CHECK(bits == 256); break;
    case GAUTH_KEY_EC_P384: CHECK(bits == 384); break;
    case GAUTH_KEY_ED25519: CHECK(bits == 253 || bits == 256); break;
    default: CHECK(!"unknown key type");
  }
}

static void check_same(const gauth_key *a, const gauth_key *b) {
  CHECK(gauth_key_get_type(a) == gauth_key_get_type(b));
  CHECK(gauth_key_bits(a) == gauth_key_bits(b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_keyset *set = (gauth_keyset *)&err, *again = NULL;
  gauth_status st;
  char *jwks = NULL;
  size_t n;

  st = gauth_keyset_parse(&set, (const char *)data, size, &err);
  if (st != GAUTH_OK) {
    CHECK(set == NULL);
    CHECK(err.code == st);
    CHECK(st != GAUTH_E_INTERNAL);
    CHECK(err.message[0] != '\0');
    return 0;
  }
  CHECK(set != NULL);
  n = gauth_keyset_count(set);
  CHECK(n >= 1);
  CHECK(gauth_keyset_get(set, n) == NULL);
  for (size_t i = 0; i < n; i++) {
    const gauth_key *k = gauth_keyset_get(set, i);
    char *jwk = NULL;
    gauth_key *back = NULL;
    CHECK(k != NULL);
    check_key(k);
    CHECK(gauth_key_public_jwk(k, &jwk, &err) == GAUTH_OK);
    CHECK(gauth_key_from_jwk(&back, jwk, strlen(jwk), &err) == GAUTH_OK);
    check_same(k, back);
    CHECK(same_kid(gauth_key_kid(k), gauth_key_kid(back)));
    CHECK(!gauth_key_is_private(back));
    gauth_key_free(back);
    gauth_free(jwk);
  }

  CHECK(gauth_keyset_to_jwks(set, &jwks, &err) == GAUTH_OK);
  CHECK(gauth_keyset_parse(&again, jwks, strlen(jwks), &err) == GAUTH_OK);
  CHECK(gauth_keyset_count(again) == n);
  for (size_t i = 0; i < n; i++) {
    check_same(gauth_keyset_get(set, i), gauth_keyset_get(again, i));
    CHECK(same_kid(gauth_key_kid(gauth_keyset_get(set, i)),
                   gauth_key_kid(gauth_keyset_get(again, i))));
  }
  gauth_free(jwks);
  gauth_keyset_free(again);
  gauth_keyset_free(set);
  return 0;
}
