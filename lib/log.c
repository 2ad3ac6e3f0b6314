/* Logging: one callback per object, or the default stderr logger driven by
 * GAUTH_LOG. Every line is redacted before anyone sees it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "constants.h"
#include "log_internal.h"
#include "redact.h"

const char *gauth_log_level_name(gauth_log_level level) {
  switch (level) {
    case GAUTH_LOG_DEBUG: return "debug";
    case GAUTH_LOG_INFO: return "info";
    case GAUTH_LOG_WARN: return "warn";
    case GAUTH_LOG_ERROR: return "error";
    case GAUTH_LOG_OFF: return "off";
  }
  return "unknown";
}

int gauth__log_level_parse(const char *s, gauth_log_level *out) {
  static const struct {
    const char *name;
    gauth_log_level level;
  } names[] = {{"debug", GAUTH_LOG_DEBUG}, {"info", GAUTH_LOG_INFO},
               {"warn", GAUTH_LOG_WARN},   {"warning", GAUTH_LOG_WARN},
               {"error", GAUTH_LOG_ERROR}, {"off", GAUTH_LOG_OFF},
               {"none", GAUTH_LOG_OFF}};
  size_t i;
  if (s == NULL) return 0;
  for (i = 0; i < GAUTH__ARRAY_LEN(names); i++) {
    if (strcasecmp(s, names[i].name) == 0) {
      *out = names[i].level;
      return 1;
    }
  }
  return 0;
}

void gauth__logger_init(gauth__logger *lg, const gauth_options *opts) {
  gauth_log_level env_level = GAUTH_LOG_OFF;
  int have_env = gauth__log_level_parse(getenv(GAUTH__ENV_LOG), &env_level);
  memset(lg, 0, sizeof(*lg));
  if (opts != NULL && opts->log_fn != NULL) {
    lg->fn = opts->log_fn;
    lg->userdata = opts->log_userdata;
  }
  if (opts != NULL && opts->log_level != 0)
    lg->min = opts->log_level;
  else if (have_env)
    lg->min = env_level;
  else
    lg->min = lg->fn != NULL ? GAUTH_LOG_WARN : GAUTH_LOG_OFF;
}

int gauth__log_enabled(const gauth__logger *lg, gauth_log_level level) {
  return lg != NULL && lg->min != GAUTH_LOG_OFF && level >= lg->min;
}

/* One line: control characters from server text cannot forge log lines. */
static void flatten(char *s) {
  for (; *s != '\0'; s++) {
    if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
  }
}

void gauth__log_secrets(const gauth__logger *lg, gauth_log_level level,
                        const char *const *known, const char *fmt, ...) {
  char line[2048];
  char *clean;
  va_list ap;
  int n;
  if (!gauth__log_enabled(lg, level)) return;
  va_start(ap, fmt);
  n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  clean = gauth__redact(line, known);
  if (clean == NULL) return; /* out of memory: drop the line, never leak */
  flatten(clean);
  if (lg->fn != NULL) {
    lg->fn(level, clean, lg->userdata);
  } else {
    fprintf(stderr, "gauth: %s: %s\n", gauth_log_level_name(level), clean);
  }
  free(clean);
}
