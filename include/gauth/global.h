/* libgauth: library version, process-wide initialisation, memory release.
 *
 * gauth_global_init() / gauth_global_cleanup() are reference-counted and
 * thread-safe: each successful init must be matched by one cleanup, and the
 * last cleanup releases what the first init acquired (libcurl's global state
 * among it). Objects that need the library initialised take a reference of
 * their own for as long as they live, so calling gauth_global_init() yourself
 * is optional, but it lets a program pay the set-up cost and see a failure at
 * start-up rather than on the first request. */
#ifndef GAUTH_GLOBAL_H
#define GAUTH_GLOBAL_H

#include <gauth/error.h>
#include <gauth/export.h>

GAUTH_BEGIN_DECLS

/* The version of the linked library, "MAJOR.MINOR.PATCH". Static string. */
GAUTH_API const char *gauth_version(void);

/* Takes one reference on the library's global state, initialising it on the
 * first. Thread-safe. Errors: GAUTH_E_INTERNAL when libcurl cannot be
 * initialised. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_global_init(gauth_error *err);

/* Drops one reference; the last releases the global state, and the OpenSSL
 * contexts the calling thread kept for verifying (each thread's go when it
 * exits; a main thread that returns from main() never does). A cleanup
 * without a matching init is ignored. Thread-safe, but no libgauth object
 * may be in use by another thread when the count reaches zero. */
GAUTH_API void gauth_global_cleanup(void);

/* Releases a buffer that libgauth returned through an out pointer (`char
 * **`, `unsigned char **`), wiping it first: such buffers may hold tokens.
 * Every such buffer, binary ones included, ends with a NUL one byte past its
 * length (strings can be used as C strings; a signature's length comes
 * through its size_t out argument). The wipe covers the whole buffer where
 * the C library reports allocation sizes (glibc, musl), NULs inside
 * included; elsewhere it stops at the first NUL. NULL is a no-op.
 * Thread-safe. Buffers must be released with gauth_free(), not free(). */
GAUTH_API void gauth_free(void *ptr);

GAUTH_END_DECLS

#endif /* GAUTH_GLOBAL_H */
