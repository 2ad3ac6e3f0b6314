/* Internal: JSON over cJSON, with limits and strictness cJSON lacks.
 *
 * gauth__json_parse() refuses (with a message naming what, and the byte
 * offset, never the input text):
 *   - input over limits->max_bytes          -> GAUTH_E_TOO_LARGE
 *     (checked before the text is read)
 *   - nesting deeper than limits->max_depth -> GAUTH_E_TOO_LARGE
 *   - empty input, syntax errors, anything but whitespace after the value,
 *     a NUL or other raw control byte anywhere (inside strings they must be
 *     escaped; outside only space, tab, CR, LF are whitespace), invalid
 *     UTF-8, a leading byte order mark, the escape \u0000 (cJSON would cut
 *     the string there)                     -> GAUTH_E_MALFORMED
 *   - an object with a duplicate member name, at any depth, compared after
 *     unescaping ("a" and "\u0061" are the same name) -> GAUTH_E_MALFORMED
 *     (checked in O(n log n) per object; the name is not shown)
 * cJSON does not report running out of memory apart from syntax errors: it
 * comes back as GAUTH_E_MALFORMED "syntax error".
 * Not refused (cJSON's number syntax): leading zeros ("01"), "1." and "-.5".
 *
 * Lookups are case-sensitive. The typed getters fail with GAUTH_E_MALFORMED
 * and a message naming the field: `missing field "exp"`, `field "exp" is a
 * string, expected a number`. Getter outputs are borrowed from the cJSON
 * tree. NULL arguments give GAUTH_E_INVALID_ARG. Success leaves *err as it
 * was.
 *
 * THREAD SAFETY: pure; safe on distinct trees from any number of threads.
 * (cJSON's parser writes its global error pointer, which libgauth never
 * reads; nobody may call cJSON_InitHooks while libgauth is in use.) */
#ifndef GAUTH_LIB_JSON_H
#define GAUTH_LIB_JSON_H

#include <cjson/cJSON.h>

#include "common.h"

typedef struct gauth__json_limits {
  size_t max_bytes; /* 0: GAUTH__JSON_DEFAULT_MAX_BYTES */
  /* 0: GAUTH__JSON_DEFAULT_MAX_DEPTH. Depth counts nested arrays and
   * objects: the top-level value is depth 1 and each array or object inside
   * another adds one, so 1, [] and {"a":1} have depth 1, [[1]] depth 2.
   * cJSON itself stops at 1000 levels (reported as a syntax error). */
  unsigned int max_depth;
} gauth__json_limits;

/* Parses len bytes of text (need not be NUL-terminated). limits may be NULL.
 * On success *out owns a tree (cJSON_Delete). */
gauth_status gauth__json_parse(const char *text, size_t len,
                               const gauth__json_limits *limits, cJSON **out,
                               gauth_error *err);

/* As gauth__json_parse, and the top-level value must be an object. */
gauth_status gauth__json_parse_object(const char *text, size_t len,
                                      const gauth__json_limits *limits,
                                      cJSON **out, gauth_error *err);

/* As gauth__json_parse_object, for text whose byte text[len] is readable
 * and NUL (a decoded token segment): cJSON reads it in place, without the
 * (wiped) copy. text[len] not NUL: GAUTH_E_INVALID_ARG. */
gauth_status gauth__json_parse_object_nul(const char *text, size_t len,
                                          const gauth__json_limits *limits,
                                          cJSON **out, gauth_error *err);

/* "a string", "a number", "an object", ... for messages. */
const char *gauth__json_type_name(const cJSON *item);

/* Required members: missing or of another type is an error. */
gauth_status gauth__json_get_string(const cJSON *obj, const char *name,
                                    const char **out, gauth_error *err);
gauth_status gauth__json_get_int64(const cJSON *obj, const char *name,
                                   int64_t *out, gauth_error *err);
gauth_status gauth__json_get_bool(const cJSON *obj, const char *name, int *out,
                                  gauth_error *err);
gauth_status gauth__json_get_object(const cJSON *obj, const char *name,
                                    const cJSON **out, gauth_error *err);
gauth_status gauth__json_get_array(const cJSON *obj, const char *name,
                                   const cJSON **out, gauth_error *err);

/* Optional members: absent (or JSON null) gives GAUTH_OK with *out = NULL /
 * *present = 0; present with another type is an error. */
gauth_status gauth__json_opt_string(const cJSON *obj, const char *name,
                                    const char **out, gauth_error *err);
gauth_status gauth__json_opt_int64(const cJSON *obj, const char *name,
                                   int64_t *out, int *present,
                                   gauth_error *err);
gauth_status gauth__json_opt_bool(const cJSON *obj, const char *name, int *out,
                                  int *present, gauth_error *err);

/* How gauth__json_copy_string treats a member. */
#define GAUTH__JSON_OPTIONAL 0 /* absent, null or "": *out NULL */
#define GAUTH__JSON_REQUIRED 1 /* missing or "": an error */
#define GAUTH__JSON_NONEMPTY 2 /* absent or null: NULL; "": an error */

/* A copy of a string member (free with free()), per `mode` (above). A
 * mistyped member is always an error; errors are GAUTH_E_MALFORMED naming
 * the member ("field \"x\" is empty"). */
gauth_status gauth__json_copy_string(const cJSON *obj, const char *name,
                                     int mode, char **out, gauth_error *err);

/* int64 getters accept only integral numbers with |value| <= 2^53 (exactly
 * representable); 1.5 or 1e300 are errors naming the field. -0 reads as 0.
 * cJSON rounds the text to a double first, so 9007199254740993 (2^53 + 1)
 * arrives as 2^53 and is accepted as such. On error *out is 0 and
 * *present 0. */

#endif /* GAUTH_LIB_JSON_H */
