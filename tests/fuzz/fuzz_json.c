/* libFuzzer target for lib/json.c.
 *
 * Beyond "no crash, no leak" it checks properties, aborting when one fails:
 *   - success implies: no object anywhere has two members with the same
 *     (decoded) name, the nesting depth is within the limit, the input holds
 *     no NUL byte and no byte order mark, and every decoded string and name
 *     is valid UTF-8 without an embedded NUL;
 *   - the depth limit is exact: the same input parsed with a generous limit
 *     succeeds exactly when the strict parse does or failed only on depth,
 *     and then its depth is over the strict limit;
 *   - failure gives GAUTH_E_MALFORMED or GAUTH_E_TOO_LARGE, *out NULL and a
 *     "JSON: " message;
 *   - an accepted tree printed by cJSON parses again to an equal tree;
 *   - the typed getters agree with the member's cJSON type. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "fuzz_check.h"

#define STRICT_DEPTH 6u
#define LOOSE_DEPTH 900u

/* Nesting depth as json.h defines it: containers count, scalars do not. */
static unsigned int depth_of(const cJSON *item) {
  unsigned int max = 0;
  const cJSON *child;
  if (!cJSON_IsArray(item) && !cJSON_IsObject(item)) return 1;
  for (child = item->child; child != NULL; child = child->next) {
    if (cJSON_IsArray(child) || cJSON_IsObject(child)) {
      unsigned int d = depth_of(child);
      if (d > max) max = d;
    }
  }
  return max + 1;
}

static int valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p != '\0') {
    uint32_t cp;
    int n, i;
    if (*p < 0x80) {
      p++;
      continue;
    }
    if (*p >= 0xC2 && *p <= 0xDF) {
      n = 2;
      cp = *p & 0x1Fu;
    } else if (*p >= 0xE0 && *p <= 0xEF) {
      n = 3;
      cp = *p & 0x0Fu;
    } else if (*p >= 0xF0 && *p <= 0xF4) {
      n = 4;
      cp = *p & 0x07u;
    } else {
      return 0;
    }
    for (i = 1; i < n; i++) {
      if ((p[i] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (p[i] & 0x3Fu);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    p += n;
  }
  return 1;
}

/* Quadratic on purpose: a different algorithm from the library's. */
static void check_tree(const cJSON *item) {
  const cJSON *a, *b;
  if (cJSON_IsString(item)) CHECK(valid_utf8(item->valuestring));
  for (a = item->child; a != NULL; a = a->next) {
    if (cJSON_IsObject(item)) {
      CHECK(a->string != NULL);
      CHECK(valid_utf8(a->string));
      for (b = a->next; b != NULL; b = b->next)
        CHECK(strcmp(a->string, b->string) != 0);
    }
    check_tree(a);
  }
}

/* name_in_message: the name is plain enough that the message must show it
 * (fuzzed names can look like secrets, which messages redact). */
static void check_getters(const cJSON *obj, const char *name,
                          int name_in_message) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  gauth_error err = GAUTH_ERROR_INIT;
  const char *s;
  const cJSON *sub;
  int64_t v;
  int b, present;
  gauth_status st;

  st = gauth__json_get_string(obj, name, &s, &err);
  CHECK((st == GAUTH_OK) == (item != NULL && cJSON_IsString(item)));
  CHECK(st == GAUTH_OK || st == GAUTH_E_MALFORMED);
  if (st != GAUTH_OK && name_in_message)
    CHECK(strstr(err.message, name) != NULL);
  st = gauth__json_get_bool(obj, name, &b, &err);
  CHECK((st == GAUTH_OK) == (item != NULL && cJSON_IsBool(item)));
  st = gauth__json_get_object(obj, name, &sub, &err);
  CHECK((st == GAUTH_OK) == (item != NULL && cJSON_IsObject(item)));
  st = gauth__json_get_array(obj, name, &sub, &err);
  CHECK((st == GAUTH_OK) == (item != NULL && cJSON_IsArray(item)));
  st = gauth__json_get_int64(obj, name, &v, &err);
  if (st == GAUTH_OK) {
    CHECK(cJSON_IsNumber(item));
    CHECK(v >= -INT64_C(9007199254740992) && v <= INT64_C(9007199254740992));
    CHECK((double)v == item->valuedouble);
  } else {
    CHECK(st == GAUTH_E_MALFORMED);
  }
  st = gauth__json_opt_int64(obj, name, &v, &present, &err);
  CHECK(st != GAUTH_OK || present == (item != NULL && !cJSON_IsNull(item)));
  st = gauth__json_opt_string(obj, name, &s, &err);
  CHECK((st == GAUTH_OK) ==
        (item == NULL || cJSON_IsNull(item) || cJSON_IsString(item)));
}

static int has_non_finite(const cJSON *item) {
  const cJSON *child;
  if (cJSON_IsNumber(item) && !(item->valuedouble - item->valuedouble == 0))
    return 1;
  for (child = item->child; child != NULL; child = child->next)
    if (has_non_finite(child)) return 1;
  return 0;
}

static void check_reprint(const cJSON *root) {
  gauth__json_limits lim = {0, LOOSE_DEPTH};
  cJSON *again = NULL;
  char *text;
  /* cJSON prints infinities as null: that tree cannot come back equal. */
  if (has_non_finite(root)) return;
  text = cJSON_PrintUnformatted(root);
  if (text == NULL) return; /* out of memory */
  lim.max_bytes = strlen(text) + 1;
  CHECK(gauth__json_parse(text, strlen(text), &lim, &again, NULL) == GAUTH_OK);
  CHECK(cJSON_Compare(root, again, 1));
  cJSON_Delete(again);
  cJSON_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  gauth__json_limits strict = {1u << 20, STRICT_DEPTH};
  gauth__json_limits loose = {1u << 20, LOOSE_DEPTH};
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = (cJSON *)&err, *loose_root = NULL;
  gauth_status st, loose_st;

  st = gauth__json_parse(text, size, &strict, &root, &err);
  loose_st = gauth__json_parse(text, size, &loose, &loose_root, NULL);

  if (st != GAUTH_OK) {
    CHECK(root == NULL);
    CHECK(st == GAUTH_E_MALFORMED || st == GAUTH_E_TOO_LARGE);
    CHECK(err.code == st);
    CHECK(strncmp(err.message, "JSON: ", 6) == 0);
    /* Only depth can make the strict parse fail where the loose one
     * succeeds, and then the depth is really over the strict limit. */
    if (loose_st == GAUTH_OK) {
      CHECK(st == GAUTH_E_TOO_LARGE);
      CHECK(depth_of(loose_root) > STRICT_DEPTH);
    }
    cJSON_Delete(loose_root);
    return 0;
  }

  CHECK(root != NULL);
  CHECK(loose_st == GAUTH_OK);
  /* cJSON_Compare finds inf != inf (it compares a - b with an epsilon). */
  if (!has_non_finite(root)) CHECK(cJSON_Compare(root, loose_root, 1));
  cJSON_Delete(loose_root);
  CHECK(depth_of(root) <= STRICT_DEPTH);
  CHECK(memchr(data, 0, size) == NULL);
  CHECK(!(size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0));
  check_tree(root);
  check_reprint(root);
  if (cJSON_IsObject(root)) {
    const cJSON *m;
    int i;
    check_getters(root, "a", 1);
    check_getters(root, "exp", 1);
    /* And the input's own first names, so that hits are common. */
    for (m = root->child, i = 0; m != NULL && i < 3; m = m->next, i++)
      check_getters(root, m->string, 0);
  }
  cJSON_Delete(root);
  return 0;
}
