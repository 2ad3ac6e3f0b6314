/* Unit tests for lib/secret.c: constant-time comparison and wiping frees.
 *
 * That gauth__secret_free wipes before freeing cannot be observed portably
 * once the memory is gone; what can be observed is that it frees exactly
 * once (valgrind / ASan runs of this binary catch a leak or double free),
 * accepts NULL, and leaves other memory alone. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "secret.h"

Test(secret, equal_bytes) {
  cr_assert_eq(gauth__secret_equal("abc", 3, "abc", 3), 1);
  cr_assert_eq(gauth__secret_equal("a\0b", 3, "a\0b", 3), 1);
  /* Distinct buffers with the same content. */
  {
    char a[64], b[64];
    memset(a, 0x5a, sizeof(a));
    memset(b, 0x5a, sizeof(b));
    cr_assert_eq(gauth__secret_equal(a, sizeof(a), b, sizeof(b)), 1);
  }
}

Test(secret, unequal_bytes) {
  char a[64], b[64];
  size_t i;
  memset(a, 0x5a, sizeof(a));
  /* A difference at every position is seen, first and last included. */
  for (i = 0; i < sizeof(b); i++) {
    memcpy(b, a, sizeof(b));
    b[i] ^= 0x01;
    cr_assert_eq(gauth__secret_equal(a, sizeof(a), b, sizeof(b)), 0,
                 "difference at %zu missed", i);
  }
  /* Bytes after an embedded NUL count. */
  cr_assert_eq(gauth__secret_equal("a\0b", 3, "a\0c", 3), 0);
  /* High bytes (a signed compare would still say unequal, but check). */
  cr_assert_eq(gauth__secret_equal("\x80", 1, "\x7f", 1), 0);
}

Test(secret, different_lengths) {
  cr_assert_eq(gauth__secret_equal("abc", 3, "abcd", 4), 0);
  cr_assert_eq(gauth__secret_equal("abcd", 4, "abc", 3), 0);
  /* Equal prefixes do not make equal strings. */
  cr_assert_eq(gauth__secret_equal("abc", 3, "abc", 2), 0);
  cr_assert_eq(gauth__secret_equal("abc", 3, "", 0), 0);
  cr_assert_eq(gauth__secret_equal("", 0, "abc", 3), 0);
}

Test(secret, empty_and_null) {
  cr_assert_eq(gauth__secret_equal("", 0, "", 0), 1);
  cr_assert_eq(gauth__secret_equal(NULL, 0, NULL, 0), 1);
  cr_assert_eq(gauth__secret_equal(NULL, 0, "x", 0), 1);
  /* A NULL pointer with a length is never equal (nor dereferenced). */
  cr_assert_eq(gauth__secret_equal(NULL, 3, "abc", 3), 0);
  cr_assert_eq(gauth__secret_equal("abc", 3, NULL, 3), 0);
  cr_assert_eq(gauth__secret_equal(NULL, 3, NULL, 3), 0);
}

Test(secret, streq) {
  cr_assert_eq(gauth__secret_streq("token", "token"), 1);
  cr_assert_eq(gauth__secret_streq("", ""), 1);
  cr_assert_eq(gauth__secret_streq("token", "tokeN"), 0);
  cr_assert_eq(gauth__secret_streq("token", "toke"), 0);
  cr_assert_eq(gauth__secret_streq("toke", "token"), 0);
  cr_assert_eq(gauth__secret_streq("token", ""), 0);
  cr_assert_eq(gauth__secret_streq("", "token"), 0);
}

Test(secret, streq_nulls_are_unequal) {
  cr_assert_eq(gauth__secret_streq(NULL, NULL), 0);
  cr_assert_eq(gauth__secret_streq(NULL, ""), 0);
  cr_assert_eq(gauth__secret_streq("", NULL), 0);
  cr_assert_eq(gauth__secret_streq("a", NULL), 0);
  cr_assert_eq(gauth__secret_streq(NULL, "a"), 0);
}

Test(secret, streq_of_long_strings) {
  size_t n = 100000;
  char *a = malloc(n + 1), *b = malloc(n + 1);
  cr_assert_not_null(a);
  cr_assert_not_null(b);
  memset(a, 'x', n);
  memset(b, 'x', n);
  a[n] = b[n] = '\0';
  cr_assert_eq(gauth__secret_streq(a, b), 1);
  b[n - 1] = 'y';
  cr_assert_eq(gauth__secret_streq(a, b), 0);
  free(a);
  free(b);
}

Test(secret, free_null_is_a_no_op) {
  gauth__secret_free(NULL, 0);
  gauth__secret_free(NULL, 100);
  gauth__secret_strfree(NULL);
}

Test(secret, free_releases_memory) {
  /* Each block is freed exactly once: valgrind and ASan runs of this test
   * would report a leak or a double free. */
  unsigned char *p = malloc(256);
  char *s = malloc(32);
  char *empty = malloc(1);
  cr_assert_not_null(p);
  cr_assert_not_null(s);
  cr_assert_not_null(empty);
  memset(p, 0xa5, 256);
  strcpy(s, "ya29.not-a-real-token");
  empty[0] = '\0';
  gauth__secret_free(p, 256);
  gauth__secret_strfree(s);
  gauth__secret_strfree(empty);
  /* Zero length: nothing to wipe, still freed. */
  gauth__secret_free(malloc(8), 0);
}
