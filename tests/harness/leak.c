/* A deliberately leaking Criterion test. It is never part of the suite: the
 * leak checks in tests/scripts/ run it to prove that they catch a leak in a
 * Criterion child process (which Criterion itself would report as passing). */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

static void *volatile sink;

Test(harness, leaks_on_purpose) {
  char *p = malloc(4096);
  cr_assert(p != NULL);
  memset(p, 1, 4096);
  sink = p;
  sink = NULL; /* the only pointer is dropped: definitely lost */
}
