/* Test support for the published vectors in ../shared/vectors: finding the
 * folder, reading files, hex, and the tallies each suite prints. */
#ifndef GAUTH_TEST_VECTORS_UTIL_H
#define GAUTH_TEST_VECTORS_UTIL_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

/* The vectors folder from GAUTH_TEST_VECTORS; skips the calling test (with
 * a message naming the folder) when the variable is unset or the folder
 * cannot be read. */
const char *vec_dir(void);

/* The whole file DIR/rel, NUL-terminated (free()); fails the test when it
 * cannot be read. len may be NULL. */
char *vec_read(const char *rel, size_t *len);

/* The path DIR/rel (free()). */
char *vec_path(const char *rel);

/* DIR/rel parsed with cJSON (cJSON_Delete). */
cJSON *vec_json(const char *rel);

/* Hex to bytes (free()); fails the test on bad hex. */
unsigned char *vec_unhex(const char *hex, size_t *len);

/* The string member name of obj; fails the test when missing. */
const char *vec_str(const cJSON *obj, const char *name);

/* A JSON value as compact text (free()). */
char *vec_print(const cJSON *item);

/* Outcome tallies of one suite. */
typedef struct vec_tally {
  const char *name;
  int cases;
  int valid_ok;     /* valid, accepted */
  int invalid_ok;   /* invalid, rejected */
  int acceptable;   /* acceptable, decided (either way) */
  int policy;       /* valid, rejected by a documented libgauth policy */
  int unexpected;   /* anything else: the suite fails */
  char notes[1024]; /* acceptable / policy decisions, for the summary */
} vec_tally;

/* Adds a note (deduplicated by exact text). */
void vec_note(vec_tally *t, const char *note);

/* Prints the summary line and fails the test when t->unexpected != 0. */
void vec_report(const vec_tally *t);

#endif /* GAUTH_TEST_VECTORS_UTIL_H */
