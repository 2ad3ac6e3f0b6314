/* A deliberately wrong file: tests/scripts/static-analysis.sh --self-test
 * analyses it with the same settings as lib/ and examples/ and fails unless
 * both cppcheck and clang's analyzer report it. It is never built. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int known_bad_null_dereference(int fail);
int known_bad_use_after_free(void);

/* A NULL dereference when fail is 0. */
int known_bad_null_dereference(int fail) {
  int *p = NULL;
  int x = 1;
  if (fail) p = &x;
  return *p;
}

/* A use after free. */
int known_bad_use_after_free(void) {
  char *s = malloc(8);
  if (s == NULL) return -1;
  memset(s, 0, 8);
  free(s);
  return s[0];
}
