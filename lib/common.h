/* Internal: what every lib/ file includes first. Not installed. */
#ifndef GAUTH_LIB_COMMON_H
#define GAUTH_LIB_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <gauth/gauth.h>

/* Internal cross-file functions are named gauth__*: hidden (not GAUTH_API),
 * so they never leave the shared library. */

#define GAUTH__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* strdup that takes NULL (and gives NULL). NULL also when out of memory:
 * callers tell the two apart by their argument. (lib/error.c) */
char *gauth__strdup(const char *s);

/* printf into a new string (free()); NULL when out of memory or on a
 * format error. (lib/error.c) */
char *gauth__strf(const char *fmt, ...) GAUTH_PRINTF(1, 2);
char *gauth__vstrf(const char *fmt, va_list ap) GAUTH_PRINTF(1, 0);

/* Frees a NULL-terminated list of strings and the list. NULL: no-op.
 * (lib/error.c; lists holding secrets: gauth__secret_strv_free) */
void gauth__strv_free(char **v);

/* The rest of s after `prefix` when s starts with it, else NULL (also for
 * s NULL): gauth__skip_prefix(name, "projects/") instead of
 * strncmp(name, "projects/", 9) and name + 9. _ci: ASCII case ignored. */
static inline const char *gauth__skip_prefix(const char *s,
                                             const char *prefix) {
  size_t n = strlen(prefix);
  return s != NULL && strncmp(s, prefix, n) == 0 ? s + n : NULL;
}
static inline const char *gauth__skip_prefix_ci(const char *s,
                                                const char *prefix) {
  size_t n = strlen(prefix);
  return s != NULL && strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

#endif /* GAUTH_LIB_COMMON_H */
