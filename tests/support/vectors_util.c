/* Helpers for the vector suites; see vectors_util.h. */
#include "vectors_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

const char *vec_dir(void) {
  const char *dir = getenv("GAUTH_TEST_VECTORS");
  struct stat st;
  /* The skip reason is also printed: Criterion shows it only when
   * verbose. */
  if (dir == NULL || dir[0] == '\0') {
    fprintf(stderr,
            "SKIPPED: GAUTH_TEST_VECTORS is not set: the published "
            "vectors (../shared/vectors) were NOT run\n");
    cr_skip_test(
        "GAUTH_TEST_VECTORS is not set: the published vectors "
        "(../shared/vectors) were NOT run");
  }
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr,
            "SKIPPED: vectors folder %s (GAUTH_TEST_VECTORS) is "
            "absent: the published vectors were NOT run\n",
            dir);
    cr_skip_test(
        "vectors folder %s (GAUTH_TEST_VECTORS) is absent: the "
        "published vectors were NOT run",
        dir);
  }
  return dir;
}

char *vec_read(const char *rel, size_t *len) {
  char path[4096];
  FILE *f;
  char *buf;
  long n;
  snprintf(path, sizeof(path), "%s/%s", vec_dir(), rel);
  f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  cr_assert_eq(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  cr_assert_geq(n, 0);
  rewind(f);
  buf = malloc((size_t)n + 1);
  cr_assert_not_null(buf);
  cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n, "short read %s", path);
  fclose(f);
  buf[n] = '\0';
  if (len != NULL) *len = (size_t)n;
  return buf;
}

char *vec_path(const char *rel) {
  const char *dir = vec_dir();
  char *path = malloc(strlen(dir) + strlen(rel) + 2);
  cr_assert_not_null(path);
  sprintf(path, "%s/%s", dir, rel);
  return path;
}

cJSON *vec_json(const char *rel) {
  size_t len;
  char *text = vec_read(rel, &len);
  cJSON *root = cJSON_ParseWithLength(text, len);
  cr_assert_not_null(root, "%s is not JSON", rel);
  free(text);
  return root;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

unsigned char *vec_unhex(const char *hex, size_t *len) {
  size_t n = strlen(hex), i;
  unsigned char *out = malloc(n / 2 + 1);
  cr_assert_not_null(out);
  cr_assert_eq(n % 2, 0, "odd hex length");
  for (i = 0; i < n / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    cr_assert(hi >= 0 && lo >= 0, "bad hex");
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  *len = n / 2;
  return out;
}

const char *vec_str(const cJSON *obj, const char *name) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  cr_assert(cJSON_IsString(item), "vector member \"%s\" missing", name);
  return item->valuestring;
}

char *vec_print(const cJSON *item) {
  char *s = cJSON_PrintUnformatted(item);
  cr_assert_not_null(s);
  return s;
}

void vec_note(vec_tally *t, const char *note) {
  size_t used = strlen(t->notes);
  if (strstr(t->notes, note) != NULL) return;
  snprintf(t->notes + used, sizeof(t->notes) - used, "%s%s",
           used > 0 ? "; " : "", note);
}

void vec_report(const vec_tally *t) {
  char line[1400];
  snprintf(line, sizeof(line),
           "%s: %d cases, %d valid ok, %d invalid rejected, %d acceptable, "
           "%d valid rejected by policy, %d unexpected%s%s%s",
           t->name, t->cases, t->valid_ok, t->invalid_ok, t->acceptable,
           t->policy, t->unexpected, t->notes[0] ? " (" : "", t->notes,
           t->notes[0] ? ")" : "");
  /* Criterion shows info logs only when verbose: the line goes to stdout
   * too, so that a plain ctest -V shows it. */
  cr_log_info("%s", line);
  printf("%s\n", line);
  fflush(stdout);
  cr_assert_eq(t->unexpected, 0, "%s", line);
}
