/* libgauth: the logging hook.
 *
 * libgauth logs through one callback, set per object in gauth_options
 * (log_fn, log_userdata, log_level). With no callback, the default logger
 * writes "gauth: LEVEL: message" lines to stderr when the environment variable
 * GAUTH_LOG is "debug", "info", "warn" or "error" (the minimum level), and
 * stays silent otherwise.
 *
 * SECRETS: log messages never contain a token, assertion, refresh token or
 * private key: they are redacted ("[redacted]") before any callback sees them.
 *
 * THREAD SAFETY: the callback may be called from any thread that uses the
 * object it was configured on, concurrently; it must be thread-safe. The
 * message pointer is valid only during the call. */
#ifndef GAUTH_LOG_H
#define GAUTH_LOG_H

#include <gauth/export.h>

GAUTH_BEGIN_DECLS

typedef enum gauth_log_level {
  GAUTH_LOG_DEBUG = 10,
  GAUTH_LOG_INFO = 20,
  GAUTH_LOG_WARN = 30,
  GAUTH_LOG_ERROR = 40,
  GAUTH_LOG_OFF = 100 /* as a minimum level: log nothing */
} gauth_log_level;

/* A log sink. `message` is one line without a trailing newline. */
typedef void (*gauth_log_fn)(gauth_log_level level, const char *message,
                             void *userdata);

/* "debug", "info", "warn", "error" or "off". Never NULL; static. */
GAUTH_API const char *gauth_log_level_name(gauth_log_level level);

GAUTH_END_DECLS

#endif /* GAUTH_LOG_H */
