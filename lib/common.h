/* Internal: what every lib/ file includes first. Not installed. */
#ifndef GAUTH_LIB_COMMON_H
#define GAUTH_LIB_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/gauth.h>

/* Internal cross-file functions are named gauth__*: hidden (not GAUTH_API),
 * so they never leave the shared library. */

#define GAUTH__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* strdup that takes NULL (and gives NULL). NULL also when out of memory:
 * callers tell the two apart by their argument. (lib/error.c) */
char *gauth__strdup(const char *s);

#endif /* GAUTH_LIB_COMMON_H */
