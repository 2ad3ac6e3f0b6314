/* Internal: the logger an object carries, resolved from gauth_options and
 * GAUTH_LOG when the object is built. */
#ifndef GAUTH_LIB_LOG_INTERNAL_H
#define GAUTH_LIB_LOG_INTERNAL_H

#include "common.h"

typedef struct gauth__logger {
  gauth_log_fn fn; /* NULL: the default stderr logger */
  void *userdata;
  gauth_log_level min; /* messages below are dropped */
} gauth__logger;

/* Resolves the logger from opts (may be NULL) and the environment. */
void gauth__logger_init(gauth__logger *lg, const gauth_options *opts);

/* Parses "debug", "info", "warn"/"warning", "error", "off"/"none"
 * (case-insensitive). Returns 1 and sets *out on success, 0 otherwise. */
int gauth__log_level_parse(const char *s, gauth_log_level *out);

int gauth__log_enabled(const gauth__logger *lg, gauth_log_level level);

/* Formats, redacts (with `known` secrets, may be NULL) and delivers one line.
 * Cheap when the level is disabled. lg may be NULL (nothing is logged). */
void gauth__log_secrets(const gauth__logger *lg, gauth_log_level level,
                        const char *const *known, const char *fmt, ...)
    GAUTH_PRINTF(4, 5);

#define gauth__log(lg, level, ...) \
  gauth__log_secrets((lg), (level), NULL, __VA_ARGS__)

#endif /* GAUTH_LIB_LOG_INTERNAL_H */
