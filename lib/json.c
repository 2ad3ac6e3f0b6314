/* JSON over cJSON, with the limits and strictness cJSON lacks.
 *
 * cJSON (1.7.15) parses, but it accepts things that a verifier must not:
 * members with the same name (cJSON keeps all, lookups find the first, other
 * parsers the last), "\u0000" escapes (which silently cut the C string, so
 * "a\u0000b" reads as "a"), raw control characters as whitespace or inside
 * strings, invalid UTF-8, a byte order mark, and anything after the value.
 * A linear pre-scan of the bytes and a walk of the finished tree refuse
 * those. Messages give offsets and names of our own fields, never input. */
#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "error_internal.h"
#include "json.h"
#include "secret.h"

/* Objects with at most this many members are checked for duplicate names
 * pair by pair (no allocation, no sort). */
#define DUP_PAIRWISE_NAMES 16u

/* Field names in messages are ours, but keep a caller's long name from
 * filling the whole message. */
#define NAME_FMT "\"%.128s\""

/* Length of the well-formed UTF-8 sequence at s (n bytes available), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  uint32_t cp;
  size_t len, i;

  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3Fu);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

/* 1 for the bytes that need no look in prescan: printable ASCII other than
 * '"' and '\\' (0x20..0x7e, and DEL). Control bytes, '"', '\\' and every
 * byte >= 0x80 are 0. */
#define PLAIN(c) ((c) >= 0x20 && (c) < 0x80 && (c) != '"' && (c) != '\\')
#define PLAIN_ROW(r)                                                        \
  PLAIN(r), PLAIN(r + 1), PLAIN(r + 2), PLAIN(r + 3), PLAIN(r + 4),         \
      PLAIN(r + 5), PLAIN(r + 6), PLAIN(r + 7), PLAIN(r + 8), PLAIN(r + 9), \
      PLAIN(r + 10), PLAIN(r + 11), PLAIN(r + 12), PLAIN(r + 13),           \
      PLAIN(r + 14), PLAIN(r + 15)
static const unsigned char plain[256] = {
    PLAIN_ROW(0x00), PLAIN_ROW(0x10), PLAIN_ROW(0x20), PLAIN_ROW(0x30),
    PLAIN_ROW(0x40), PLAIN_ROW(0x50), PLAIN_ROW(0x60), PLAIN_ROW(0x70),
    PLAIN_ROW(0x80), PLAIN_ROW(0x90), PLAIN_ROW(0xa0), PLAIN_ROW(0xb0),
    PLAIN_ROW(0xc0), PLAIN_ROW(0xd0), PLAIN_ROW(0xe0), PLAIN_ROW(0xf0)};

/* 1 when every byte of text is printable ASCII (0x20..0x7f) and none is a
 * backslash: then prescan has nothing to find (no control byte, no UTF-8,
 * no byte order mark, no escape), whatever the strings are. 0 says only
 * "look closer". Eight bytes at a time with bit tricks that hold in either
 * byte order: a byte below 0x20 borrows and sets its top bit in
 * x - 0x20..., a byte >= 0x80 has it set; (v - 0x01...) & ~v has a top bit
 * set when v has a zero byte, here where x has a backslash. No false
 * "clean": a flagged byte sets its own top bit. */
static int plain_ascii(const unsigned char *s, size_t len) {
  const uint64_t ones = UINT64_C(0x0101010101010101);
  uint64_t acc = 0;
  size_t i = 0;
  for (; len - i >= 8; i += 8) {
    uint64_t x, b;
    memcpy(&x, s + i, 8);
    b = x ^ (ones * '\\');
    acc |= (x - ones * 0x20) | x | ((b - ones) & ~b);
  }
  if (acc & (ones * 0x80)) return 0;
  for (; i < len; i++)
    if (s[i] < 0x20 || s[i] >= 0x80 || s[i] == '\\') return 0;
  return 1;
}

/* Refuses, before cJSON sees the text, what cJSON would let through:
 * a byte order mark, NUL and other control bytes (outside strings JSON
 * allows only space, tab, CR and LF; inside strings no raw control
 * character at all, tab included), invalid UTF-8 and the escape "\u0000".
 *
 * Strings are followed with a one-bit state: outside a string '"' opens
 * one; inside, a backslash starts a two-character escape ("\uXXXX" goes on
 * with four hex digits, which need no special care) and '"' closes it. For
 * any text that cJSON accepts this is exact; where it is not, cJSON refuses
 * the text anyway and only the wording of the error differs. */
static gauth_status prescan(const char *text, size_t len, gauth_error *err) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  int in_string = 0;

  if (plain_ascii(s, len)) return GAUTH_OK;
  if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "JSON: byte order mark at offset 0 (not allowed)");
  while (i < len) {
    unsigned char c = s[i];
    if (plain[c]) {
      /* Most bytes: skipped four at a time, then one by one. */
      i++;
      while (len - i >= 4 &&
             plain[s[i]] & plain[s[i + 1]] & plain[s[i + 2]] & plain[s[i + 3]])
        i += 4;
      while (i < len && plain[s[i]]) i++;
      continue;
    }
    if (c == 0)
      return gauth__error_set(err, GAUTH_E_MALFORMED,
                              "JSON: NUL byte at offset %zu", i);
    if (c < 0x20 && (in_string || (c != '\t' && c != '\n' && c != '\r')))
      return gauth__error_set(err, GAUTH_E_MALFORMED,
                              "JSON: control character %sat offset %zu",
                              in_string ? "in a string " : "", i);
    if (c >= 0x80) {
      size_t n = utf8_seq_len(s + i, len - i);
      if (n == 0)
        return gauth__error_set(err, GAUTH_E_MALFORMED,
                                "JSON: invalid UTF-8 at offset %zu", i);
      i += n;
      continue;
    }
    if (c == '"') {
      in_string = !in_string;
    } else if (c == '\\' && in_string && i + 1 < len) {
      if (s[i + 1] == 'u' && len - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0)
        return gauth__error_set(err, GAUTH_E_MALFORMED,
                                "JSON: escaped NUL (\\u0000) in a string at "
                                "offset %zu (not allowed)",
                                i);
      /* The escaped character is skipped unless it needs the checks above
       * (such an escape is invalid and cJSON refuses it). */
      if (s[i + 1] >= 0x20 && s[i + 1] < 0x80) i++;
    }
    i++;
  }
  return GAUTH_OK;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Few names (a token's claims, a header, a key): pairs are compared, the
 * first bytes inline, which is cheaper than sorting. More: the names
 * are sorted and neighbours compared, O(n log n). The names are cJSON's
 * decoded strings, so "a" and "\u0061" collide as they should. */
static gauth_status check_duplicates(const cJSON *obj, unsigned int depth,
                                     gauth_error *err) {
  const char **names;
  const cJSON *child, *other;
  size_t n = 0, i;
  int dup = 0;

  for (child = obj->child; child != NULL; child = child->next) n++;
  if (n < 2) return GAUTH_OK;
  if (n <= DUP_PAIRWISE_NAMES) {
    /* A name is compared with the earlier ones only when one of them began
     * with the same byte (a bit per first byte says so). */
    uint32_t first[8] = {0};
    for (child = obj->child; child != NULL && !dup; child = child->next) {
      const char *a = child->string != NULL ? child->string : "";
      unsigned char f = (unsigned char)a[0];
      uint32_t bit = (uint32_t)1 << (f & 31u);
      if (!(first[f >> 5] & bit)) {
        first[f >> 5] |= bit;
        continue;
      }
      for (other = obj->child; other != child && !dup; other = other->next) {
        const char *b = other->string != NULL ? other->string : "";
        dup = a[0] == b[0] && strcmp(a, b) == 0;
      }
    }
  } else {
    /* n counts allocated cJSON items, so n * sizeof(char *) cannot wrap. */
    names = malloc(n * sizeof(*names));
    if (names == NULL) return gauth__error_nomem(err);
    i = 0;
    for (child = obj->child; child != NULL; child = child->next)
      names[i++] = child->string != NULL ? child->string : "";
    qsort(names, n, sizeof(*names), compare_names);
    for (i = 1; i < n && !dup; i++) dup = strcmp(names[i - 1], names[i]) == 0;
    free(names);
  }
  if (dup) /* The name itself is input (and could be anything): not shown. */
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "JSON: duplicate member name in an object at "
                            "depth %u",
                            depth);
  return GAUTH_OK;
}

/* cJSON_IsArray / cJSON_IsObject without the calls into the library. */
static int is_container(const cJSON *item) {
  int t = item->type & 0xFF;
  return t == cJSON_Array || t == cJSON_Object;
}

/* Depth counts nested arrays and objects: the top-level value is depth 1,
 * each array or object inside another adds one; scalars add nothing.
 * Recursion is bounded by max_depth + 1 (and by cJSON's own limit of
 * CJSON_NESTING_LIMIT, 1000, when max_depth is larger). */
static gauth_status check_tree(const cJSON *item, unsigned int depth,
                               unsigned int max_depth, gauth_error *err) {
  const cJSON *child;
  gauth_status st;

  if (depth > max_depth)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "JSON: nesting deeper than the limit of %u levels",
                            max_depth);
  if ((item->type & 0xFF) == cJSON_Object) {
    st = check_duplicates(item, depth, err);
    if (st != GAUTH_OK) return st;
  }
  for (child = item->child; child != NULL; child = child->next) {
    if (!is_container(child)) continue;
    st = check_tree(child, depth + 1, max_depth, err);
    if (st != GAUTH_OK) return st;
  }
  return GAUTH_OK;
}

/* gauth__json_parse; nul_terminated: text[len] is readable and NUL, so
 * cJSON may read text in place. */
static gauth_status parse(const char *text, size_t len,
                          const gauth__json_limits *limits, int nul_terminated,
                          cJSON **out, gauth_error *err) {
  size_t max_bytes = GAUTH__JSON_DEFAULT_MAX_BYTES;
  unsigned int max_depth = GAUTH__JSON_DEFAULT_MAX_DEPTH;
  const char *end = NULL, *copy = text;
  char *owned = NULL;
  cJSON *root;
  size_t off;
  gauth_status st;

  if (out == NULL || (text == NULL && len > 0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JSON parse: NULL argument");
  *out = NULL;
  if (limits != NULL && limits->max_bytes != 0) max_bytes = limits->max_bytes;
  if (limits != NULL && limits->max_depth != 0) max_depth = limits->max_depth;

  /* The size limit is checked before anything reads the text. */
  if (len > max_bytes)
    return gauth__error_set(err, GAUTH_E_TOO_LARGE,
                            "JSON: %zu bytes is over the limit of %zu bytes",
                            len, max_bytes);
  if (len == 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED, "JSON: empty input");
  st = prescan(text, len, err);
  if (st != GAUTH_OK) return st;

  /* cJSON gets NUL-terminated text although it is given the length: the
   * length-bounded parser has had over-reads of the byte past the end. Text
   * that is not known to be terminated is copied, so that that byte is ours
   * and a terminator. len + 1 cannot wrap: len is at most max_bytes, a size
   * the caller's buffer already has. */
  if (!nul_terminated) {
    owned = malloc(len + 1);
    if (owned == NULL) return gauth__error_nomem(err);
    memcpy(owned, text, len);
    owned[len] = '\0';
    copy = owned;
  }

  /* The offset comes from return_parse_end: cJSON_GetErrorPtr() reads a
   * global that other threads' parses overwrite. */
  root = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
  off = end != NULL && end >= copy ? (size_t)(end - copy) : 0;
  if (root == NULL) {
    /* cJSON does not tell an allocation failure from a syntax error. */
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "JSON: syntax error at offset %zu", off);
    goto done;
  }
  while (off < len && (copy[off] == ' ' || copy[off] == '\t' ||
                       copy[off] == '\n' || copy[off] == '\r'))
    off++;
  if (off < len) {
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "JSON: unexpected data after the value at offset %zu",
                          off);
    goto done;
  }
  st = check_tree(root, 1, max_depth, err);

done:
  /* The text may be a key file or a token: wipe the copy. */
  if (owned != NULL) gauth__secret_free(owned, len + 1);
  if (st != GAUTH_OK) {
    gauth__secret_json_delete(root); /* a refused tree may hold a token */
    return st;
  }
  *out = root;
  return GAUTH_OK;
}

gauth_status gauth__json_parse(const char *text, size_t len,
                               const gauth__json_limits *limits, cJSON **out,
                               gauth_error *err) {
  return parse(text, len, limits, 0, out, err);
}

static gauth_status parse_object(const char *text, size_t len,
                                 const gauth__json_limits *limits,
                                 int nul_terminated, cJSON **out,
                                 gauth_error *err) {
  cJSON *root = NULL;
  gauth_status st;

  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JSON parse: NULL argument");
  *out = NULL;
  st = parse(text, len, limits, nul_terminated, &root, err);
  if (st != GAUTH_OK) return st;
  if (!cJSON_IsObject(root)) {
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "JSON: expected an object at the top level, got %s",
                          gauth__json_type_name(root));
    gauth__secret_json_delete(root);
    return st;
  }
  *out = root;
  return GAUTH_OK;
}

gauth_status gauth__json_parse_object(const char *text, size_t len,
                                      const gauth__json_limits *limits,
                                      cJSON **out, gauth_error *err) {
  return parse_object(text, len, limits, 0, out, err);
}

gauth_status gauth__json_parse_object_nul(const char *text, size_t len,
                                          const gauth__json_limits *limits,
                                          cJSON **out, gauth_error *err) {
  if (out != NULL) *out = NULL;
  if (text == NULL || text[len] != '\0')
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JSON parse: text not NUL-terminated");
  return parse_object(text, len, limits, 1, out, err);
}

const char *gauth__json_type_name(const cJSON *item) {
  if (item == NULL) return "nothing";
  switch (item->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return "a boolean";
    case cJSON_NULL: return "null";
    case cJSON_Number: return "a number";
    case cJSON_String: return "a string";
    case cJSON_Array: return "an array";
    case cJSON_Object: return "an object";
    case cJSON_Raw: return "raw JSON";
    default: return "an invalid value";
  }
}

/* Finds obj[name]: *item is NULL when the member is absent. */
static gauth_status lookup(const cJSON *obj, const char *name, const void *out,
                           const cJSON **item, gauth_error *err) {
  *item = NULL;
  if (obj == NULL || name == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JSON field lookup: NULL argument");
  if (!cJSON_IsObject(obj))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "cannot read field " NAME_FMT
                            ": the value "
                            "holding it is %s, not an object",
                            name, gauth__json_type_name(obj));
  *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  return GAUTH_OK;
}

static gauth_status missing(const char *name, gauth_error *err) {
  return gauth__error_set(err, GAUTH_E_MALFORMED, "missing field " NAME_FMT,
                          name);
}

static gauth_status wrong_type(const char *name, const cJSON *item,
                               const char *expected, gauth_error *err) {
  return gauth__error_set(err, GAUTH_E_MALFORMED,
                          "field " NAME_FMT " is %s, expected %s", name,
                          gauth__json_type_name(item), expected);
}

/* Only integers that a double holds exactly: |v| <= 2^53. */
static gauth_status to_int64(const cJSON *item, const char *name, int64_t *out,
                             gauth_error *err) {
  const double limit = 9007199254740992.0; /* 2^53 */
  double v = item->valuedouble;
  int64_t i;

  /* Written so that NaN fails too. */
  if (!(v >= -limit && v <= limit))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field " NAME_FMT
                            " is out of range (integers "
                            "from -2^53 to 2^53 only)",
                            name);
  i = (int64_t)v; /* in range, so defined */
  if ((double)i != v)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field " NAME_FMT " is not an integer", name);
  *out = i;
  return GAUTH_OK;
}

gauth_status gauth__json_get_string(const cJSON *obj, const char *name,
                                    const char **out, gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup(obj, name, out, &item, err);
  if (st != GAUTH_OK) return st;
  *out = NULL;
  if (item == NULL) return missing(name, err);
  if (!cJSON_IsString(item) || item->valuestring == NULL)
    return wrong_type(name, item, "a string", err);
  *out = item->valuestring;
  return GAUTH_OK;
}

gauth_status gauth__json_get_int64(const cJSON *obj, const char *name,
                                   int64_t *out, gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup(obj, name, out, &item, err);
  if (st != GAUTH_OK) return st;
  *out = 0;
  if (item == NULL) return missing(name, err);
  if (!cJSON_IsNumber(item)) return wrong_type(name, item, "a number", err);
  return to_int64(item, name, out, err);
}

gauth_status gauth__json_get_bool(const cJSON *obj, const char *name, int *out,
                                  gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup(obj, name, out, &item, err);
  if (st != GAUTH_OK) return st;
  *out = 0;
  if (item == NULL) return missing(name, err);
  if (!cJSON_IsBool(item)) return wrong_type(name, item, "a boolean", err);
  *out = cJSON_IsTrue(item) ? 1 : 0;
  return GAUTH_OK;
}

/* A required member that is_type accepts (an object, an array), named
 * `expected` in the message otherwise. */
static gauth_status get_node(const cJSON *obj, const char *name,
                             cJSON_bool (*is_type)(const cJSON *),
                             const char *expected, const cJSON **out,
                             gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup(obj, name, out, &item, err);
  if (st != GAUTH_OK) return st;
  *out = NULL;
  if (item == NULL) return missing(name, err);
  if (!is_type(item)) return wrong_type(name, item, expected, err);
  *out = item;
  return GAUTH_OK;
}

gauth_status gauth__json_get_object(const cJSON *obj, const char *name,
                                    const cJSON **out, gauth_error *err) {
  return get_node(obj, name, cJSON_IsObject, "an object", out, err);
}

gauth_status gauth__json_get_array(const cJSON *obj, const char *name,
                                   const cJSON **out, gauth_error *err) {
  return get_node(obj, name, cJSON_IsArray, "an array", out, err);
}

gauth_status gauth__json_opt_string(const cJSON *obj, const char *name,
                                    const char **out, gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup(obj, name, out, &item, err);
  if (st != GAUTH_OK) return st;
  *out = NULL;
  if (item == NULL || cJSON_IsNull(item)) return GAUTH_OK;
  if (!cJSON_IsString(item) || item->valuestring == NULL)
    return wrong_type(name, item, "a string", err);
  *out = item->valuestring;
  return GAUTH_OK;
}

gauth_status gauth__json_copy_string(const cJSON *obj, const char *name,
                                     int mode, char **out, gauth_error *err) {
  const char *v = NULL;
  gauth_status st = mode == GAUTH__JSON_REQUIRED
                        ? gauth__json_get_string(obj, name, &v, err)
                        : gauth__json_opt_string(obj, name, &v, err);
  *out = NULL;
  if (st != GAUTH_OK || v == NULL) return st;
  if (v[0] == '\0') {
    if (mode == GAUTH__JSON_OPTIONAL) return GAUTH_OK;
    return gauth__error_set(err, GAUTH_E_MALFORMED, "field \"%s\" is empty",
                            name);
  }
  return gauth__strdup_out(v, out, err);
}

/* lookup for the opt_* readers that report *present (cleared here). */
static gauth_status lookup_opt(const cJSON *obj, const char *name,
                               const void *out, int *present,
                               const cJSON **item, gauth_error *err) {
  *item = NULL;
  if (present == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "JSON field lookup: NULL argument");
  *present = 0;
  return lookup(obj, name, out, item, err);
}

gauth_status gauth__json_opt_int64(const cJSON *obj, const char *name,
                                   int64_t *out, int *present,
                                   gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup_opt(obj, name, out, present, &item, err);
  if (st != GAUTH_OK) return st;
  *out = 0;
  if (item == NULL || cJSON_IsNull(item)) return GAUTH_OK;
  if (!cJSON_IsNumber(item)) return wrong_type(name, item, "a number", err);
  st = to_int64(item, name, out, err);
  if (st == GAUTH_OK) *present = 1;
  return st;
}

gauth_status gauth__json_opt_bool(const cJSON *obj, const char *name, int *out,
                                  int *present, gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup_opt(obj, name, out, present, &item, err);
  if (st != GAUTH_OK) return st;
  *out = 0;
  if (item == NULL || cJSON_IsNull(item)) return GAUTH_OK;
  if (!cJSON_IsBool(item)) return wrong_type(name, item, "a boolean", err);
  *out = cJSON_IsTrue(item) ? 1 : 0;
  *present = 1;
  return GAUTH_OK;
}
