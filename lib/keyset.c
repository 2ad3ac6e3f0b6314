/* Key sets: a JWKS, Google's v1 PEM certificate map (and IAP's map of PEM
 * public keys), one JWK or one PEM key, detected from the text.
 *
 * A set is the keys a verifier may choose from, so members that cannot
 * verify are left out rather than failing the set: key sets in the wild
 * carry encryption keys, symmetric keys and algorithms we do not take next
 * to the signing keys. Only when nothing usable is left is the set an
 * error, and then the message says why the first members were skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

/* Members of a key set, at most (a JWKS of this size is already absurd). */
#define KEYSET_MAX_KEYS 1024u

/* Why members were skipped: the first few reasons go into the error. */
#define SKIP_REASONS 3
#define SKIP_REASON_SIZE 160

#define PEM_BEGIN "-----BEGIN"

typedef struct builder {
  gauth_key **keys;
  size_t n, cap;
  size_t skipped;
  char reasons[SKIP_REASONS][SKIP_REASON_SIZE];
} builder;

static void builder_cleanup(builder *b) {
  size_t i;
  for (i = 0; i < b->n; i++) gauth_key_free(b->keys[i]);
  free(b->keys);
  b->keys = NULL;
  b->n = b->cap = 0;
}

/* Takes the reference of key. */
static gauth_status builder_add(builder *b, gauth_key *key, gauth_error *err) {
  if (b->n == b->cap) {
    size_t ncap = b->cap == 0 ? 4 : b->cap * 2;
    gauth_key **nkeys = realloc(b->keys, ncap * sizeof(*nkeys));
    if (nkeys == NULL) {
      gauth_key_free(key);
      return gauth__error_nomem(err);
    }
    b->keys = nkeys;
    b->cap = ncap;
  }
  b->keys[b->n++] = key;
  return GAUTH_OK;
}

/* Records why member `what` was left out. */
static void builder_skip(builder *b, const char *what, const char *why) {
  if (b->skipped < SKIP_REASONS) {
    char *dst = b->reasons[b->skipped];
    size_t wl = strlen(what);
    if (wl >= SKIP_REASON_SIZE) wl = SKIP_REASON_SIZE - 1;
    memcpy(dst, what, wl);
    dst[wl] = '\0';
    if (wl + 2 < SKIP_REASON_SIZE) {
      dst[wl] = ':';
      dst[wl + 1] = ' ';
      gauth__strlcpy_utf8(dst + wl + 2, why, SKIP_REASON_SIZE - wl - 2);
    }
  }
  b->skipped++;
}

/* One entry of a set: the key its import gave (st, kerr) goes into b, or
 * the entry is skipped with the reason. Fails only when out of memory. */
static gauth_status builder_take(builder *b, const char *what, gauth_status st,
                                 gauth_key *key, const gauth_error *kerr,
                                 gauth_error *err) {
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK) {
    builder_skip(b, what, kerr->message);
    return GAUTH_OK;
  }
  if (!key->can_verify) {
    /* Kept out so that an encryption key sharing a kid with a signing
     * key does not make that kid ambiguous. */
    builder_skip(b, what, "not for signatures (\"use\" or \"key_ops\")");
    gauth_key_free(key);
    return GAUTH_OK;
  }
  return builder_add(b, key, err);
}

static gauth_status builder_finish(builder *b, const char *format,
                                   gauth_keyset **out, gauth_error *err) {
  gauth_keyset *set;

  if (b->n == 0) {
    if (b->skipped == 0)
      return gauth__error_set(err, GAUTH_E_MALFORMED, "%s: no keys", format);
    return gauth__error_set(
        err, GAUTH_E_MALFORMED,
        "%s: none of its %zu keys can verify signatures (%s%s%s%s%s%s)", format,
        b->skipped, b->reasons[0], b->skipped > 1 ? "; " : "",
        b->skipped > 1 ? b->reasons[1] : "", b->skipped > 2 ? "; " : "",
        b->skipped > 2 ? b->reasons[2] : "", b->skipped > 3 ? "; ..." : "");
  }
  set = calloc(1, sizeof(*set));
  if (set == NULL) return gauth__error_nomem(err);
  gauth__ref_init(&set->refs);
  set->serial = gauth__serial_next();
  set->n = b->n;
  set->keys = b->keys;
  b->keys = NULL;
  b->n = b->cap = 0;
  *out = set;
  return GAUTH_OK;
}

/* Kids are shown cut and only when plainly printable: they come from the
 * input. */
static void describe(char *buf, size_t size, const char *kind, size_t index,
                     const char *kid) {
  int printable = kid != NULL && kid[0] != '\0';
  const char *p;
  for (p = kid; printable && *p != '\0'; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) printable = 0;
  if (printable)
    snprintf(buf, size, "%s %zu (kid \"%.48s\")", kind, index, kid);
  else
    snprintf(buf, size, "%s %zu", kind, index);
}

/* ---- formats ------------------------------------------------------------- */

static gauth_status parse_jwks(const cJSON *keys, builder *b,
                               gauth_error *err) {
  const cJSON *jwk;
  size_t i = 0;

  if (!cJSON_IsArray(keys))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "JWKS: field \"keys\" is %s, expected an array",
                            gauth__json_type_name(keys));
  if ((size_t)cJSON_GetArraySize(keys) > KEYSET_MAX_KEYS)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE, "JWKS: more than %u keys",
                            KEYSET_MAX_KEYS);
  cJSON_ArrayForEach(jwk, keys) {
    gauth_error kerr = GAUTH_ERROR_INIT;
    gauth_key *key = NULL;
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    char what[96];
    gauth_status st;

    describe(what, sizeof(what), "key", i++,
             cJSON_IsString(kid) ? kid->valuestring : NULL);
    st = gauth__key_from_jwk_object(&key, jwk, &kerr);
    st = builder_take(b, what, st, key, &kerr, err);
    if (st != GAUTH_OK) return st;
  }
  return GAUTH_OK;
}

/* {"KID": "-----BEGIN CERTIFICATE-----...", ...}: Google's v1 certs, and
 * IAP's map of PEM public keys. */
static int is_pem_map(const cJSON *root) {
  const cJSON *m;
  if (root->child == NULL) return 0;
  cJSON_ArrayForEach(m, root) {
    if (!cJSON_IsString(m) || m->valuestring == NULL ||
        gauth__skip_prefix(m->valuestring, PEM_BEGIN) == NULL)
      return 0;
  }
  return 1;
}

static gauth_status parse_pem_map(const cJSON *root, builder *b,
                                  gauth_error *err) {
  const cJSON *m;
  size_t i = 0;

  if ((size_t)cJSON_GetArraySize(root) > KEYSET_MAX_KEYS)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "PEM map: more than %u keys", KEYSET_MAX_KEYS);
  cJSON_ArrayForEach(m, root) {
    gauth_error kerr = GAUTH_ERROR_INIT;
    gauth_key *key = NULL;
    char what[96];
    gauth_status st;

    describe(what, sizeof(what), "entry", i++, m->string);
    st = gauth__key_from_pem_kid(&key, m->valuestring, strlen(m->valuestring),
                                 m->string, &kerr);
    st = builder_take(b, what, st, key, &kerr, err);
    if (st != GAUTH_OK) return st;
  }
  return GAUTH_OK;
}

static gauth_status single(gauth_key *key, gauth_keyset **out,
                           gauth_error *err) {
  builder b;
  gauth_status st;
  /* The same rule as for a JWKS: a set must hold a key that can verify. */
  if (!key->can_verify) {
    gauth_key_free(key);
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "key set: its one key may not verify (its "
                            "\"use\" or \"key_ops\")");
  }
  memset(&b, 0, sizeof(b));
  st = builder_add(&b, key, err);
  if (st == GAUTH_OK) st = builder_finish(&b, "key set", out, err);
  builder_cleanup(&b);
  return st;
}

gauth_status gauth_keyset_parse(gauth_keyset **out, const char *data,
                                size_t len, gauth_error *err) {
  const char *p, *end;
  cJSON *root = NULL;
  const cJSON *keys;
  gauth_key *key = NULL;
  builder b;
  gauth_status st;

  if (out == NULL || (data == NULL && len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_keyset_parse: out and data must not be "
                            "NULL");
  *out = NULL;
  if (len > GAUTH__KEY_MAX_INPUT)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "key set: %zu bytes is over the limit of %zu "
                            "bytes",
                            len, GAUTH__KEY_MAX_INPUT);
  p = data;
  end = data + len;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
  if (p == end)
    return gauth__error_set(err, GAUTH_E_MALFORMED, "key set: empty input");

  if ((size_t)(end - p) >= strlen(PEM_BEGIN) &&
      memcmp(p, PEM_BEGIN, strlen(PEM_BEGIN)) == 0) {
    /* From the BEGIN line: OpenSSL skips text lines before it, but not
     * blanks in front of it on its own line. */
    st = gauth__key_from_pem_kid(&key, p, (size_t)(end - p), NULL, err);
    if (st != GAUTH_OK) {
      gauth__error_prefix(err, "key set (PEM)");
      return st;
    }
    return single(key, out, err);
  }
  if (*p != '{')
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "key set: neither JSON (a JWKS, a JWK or a PEM "
                            "map) nor PEM text");

  st = gauth__json_parse_object(data, len, NULL, &root, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "key set");
    return st;
  }
  memset(&b, 0, sizeof(b));
  keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
  if (keys != NULL) {
    st = parse_jwks(keys, &b, err);
    if (st == GAUTH_OK) st = builder_finish(&b, "JWKS", out, err);
  } else if (cJSON_GetObjectItemCaseSensitive(root, "kty") != NULL) {
    st = gauth__key_from_jwk_object(&key, root, err);
    if (st == GAUTH_OK) st = single(key, out, err);
  } else if (is_pem_map(root)) {
    st = parse_pem_map(root, &b, err);
    if (st == GAUTH_OK)
      st = builder_finish(&b, "PEM certificate map", out, err);
  } else {
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "key set: a JSON object that is not a JWKS (no "
                          "\"keys\"), a JWK (no \"kty\") or a map of PEM "
                          "certificates");
  }
  builder_cleanup(&b);
  gauth__secret_json_delete(root);
  return st;
}

gauth_status gauth_keyset_load_file(gauth_keyset **out, const char *path,
                                    gauth_error *err) {
  char *text = NULL;
  size_t len = 0;
  gauth_status st;

  if (out == NULL || path == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_keyset_load_file: out and path must not "
                            "be NULL");
  *out = NULL;
  st = gauth__secret_read_file(path, GAUTH__KEY_MAX_INPUT, &text, &len, err);
  if (st != GAUTH_OK) return st;
  st = gauth_keyset_parse(out, text, len, err);
  if (st != GAUTH_OK) gauth__error_prefix(err, "\"%.200s\"", path);
  gauth__secret_free(text, len + 1);
  return st;
}

gauth_status gauth_keyset_from_keys(gauth_keyset **out, gauth_key *const *keys,
                                    size_t n, gauth_error *err) {
  gauth_keyset *set;
  size_t i;

  if (out == NULL || (keys == NULL && n > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_keyset_from_keys: out and keys must not "
                            "be NULL");
  *out = NULL;
  for (i = 0; i < n; i++)
    if (keys[i] == NULL)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "gauth_keyset_from_keys: keys[%zu] is NULL", i);
  set = calloc(1, sizeof(*set));
  if (set == NULL) return gauth__error_nomem(err);
  if (n > 0) {
    set->keys = calloc(n, sizeof(*set->keys));
    if (set->keys == NULL) {
      free(set);
      return gauth__error_nomem(err);
    }
  }
  for (i = 0; i < n; i++) {
    gauth_key_up_ref(keys[i]);
    set->keys[i] = keys[i];
  }
  gauth__ref_init(&set->refs);
  set->serial = gauth__serial_next();
  set->n = n;
  *out = set;
  return GAUTH_OK;
}

void gauth_keyset_up_ref(gauth_keyset *set) {
  if (set != NULL) gauth__ref_up(&set->refs);
}

void gauth_keyset_free(gauth_keyset *set) {
  size_t i;
  if (set == NULL) return;
  if (!gauth__ref_down(&set->refs)) return;
  for (i = 0; i < set->n; i++) gauth_key_free(set->keys[i]);
  free(set->keys);
  free(set);
}

size_t gauth_keyset_count(const gauth_keyset *set) {
  return set != NULL ? set->n : 0;
}

const gauth_key *gauth_keyset_get(const gauth_keyset *set, size_t i) {
  if (set == NULL || i >= set->n) return NULL;
  return set->keys[i];
}

gauth_status gauth_keyset_to_jwks(const gauth_keyset *set, char **out,
                                  gauth_error *err) {
  cJSON *root, *keys;
  char *text;
  size_t i;

  if (set == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_keyset_to_jwks: set and out must not be "
                            "NULL");
  *out = NULL;
  root = cJSON_CreateObject();
  keys = root != NULL ? cJSON_AddArrayToObject(root, "keys") : NULL;
  if (keys == NULL) goto nomem;
  for (i = 0; i < set->n; i++) {
    cJSON *jwk = gauth__key_public_jwk_json(set->keys[i]);
    if (jwk == NULL || !cJSON_AddItemToArray(keys, jwk)) {
      cJSON_Delete(jwk);
      goto nomem;
    }
  }
  text = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (text == NULL) return gauth__error_nomem(err);
  *out = text;
  return GAUTH_OK;

nomem:
  cJSON_Delete(root);
  return gauth__error_nomem(err);
}
