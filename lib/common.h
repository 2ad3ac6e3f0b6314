/* Internal: what every lib/ file includes first. Not installed. */
#ifndef GAUTH_LIB_COMMON_H
#define GAUTH_LIB_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/gauth.h>

/* Internal cross-file functions are named gauth__*: hidden (not GAUTH_API),
 * so they never leave the shared library. */

#define GAUTH__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* GAUTH_LIB_COMMON_H */
