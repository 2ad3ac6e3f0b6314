/* Unit tests for lib/log.c: levels, logger resolution, redaction, stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "log_internal.h"

typedef struct seen {
  int calls;
  gauth_log_level level;
  char last[512];
} seen;

static void capture(gauth_log_level level, const char *message, void *ud) {
  seen *s = ud;
  s->calls++;
  s->level = level;
  snprintf(s->last, sizeof(s->last), "%s", message);
}

Test(log, level_names_and_parsing) {
  gauth_log_level l;
  cr_assert_str_eq(gauth_log_level_name(GAUTH_LOG_DEBUG), "debug");
  cr_assert_str_eq(gauth_log_level_name(GAUTH_LOG_WARN), "warn");
  cr_assert_str_eq(gauth_log_level_name((gauth_log_level)3), "unknown");
  cr_assert(gauth__log_level_parse("DEBUG", &l) && l == GAUTH_LOG_DEBUG);
  cr_assert(gauth__log_level_parse("info", &l) && l == GAUTH_LOG_INFO);
  cr_assert(gauth__log_level_parse("warning", &l) && l == GAUTH_LOG_WARN);
  cr_assert(gauth__log_level_parse("none", &l) && l == GAUTH_LOG_OFF);
  cr_assert_not(gauth__log_level_parse("verbose", &l));
  cr_assert_not(gauth__log_level_parse(NULL, &l));
}

Test(log, default_logger_is_silent_without_gauth_log) {
  gauth__logger lg;
  unsetenv("GAUTH_LOG");
  gauth__logger_init(&lg, NULL);
  cr_assert_null(lg.fn);
  cr_assert_not(gauth__log_enabled(&lg, GAUTH_LOG_ERROR));
}

Test(log, gauth_log_sets_the_default_level) {
  gauth__logger lg;
  setenv("GAUTH_LOG", "info", 1);
  gauth__logger_init(&lg, NULL);
  cr_assert_not(gauth__log_enabled(&lg, GAUTH_LOG_DEBUG));
  cr_assert(gauth__log_enabled(&lg, GAUTH_LOG_INFO));
  cr_assert(gauth__log_enabled(&lg, GAUTH_LOG_ERROR));
}

Test(log, callback_defaults_to_warn_and_option_level_wins) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth__logger lg;
  seen s = {0};
  unsetenv("GAUTH_LOG");
  opts.log_fn = capture;
  opts.log_userdata = &s;
  gauth__logger_init(&lg, &opts);
  cr_assert_not(gauth__log_enabled(&lg, GAUTH_LOG_INFO));
  cr_assert(gauth__log_enabled(&lg, GAUTH_LOG_WARN));
  setenv("GAUTH_LOG", "debug", 1);
  gauth__logger_init(&lg, &opts);
  cr_assert(gauth__log_enabled(&lg, GAUTH_LOG_DEBUG), "GAUTH_LOG applies");
  opts.log_level = GAUTH_LOG_ERROR;
  gauth__logger_init(&lg, &opts);
  cr_assert_not(gauth__log_enabled(&lg, GAUTH_LOG_WARN), "option wins");
  gauth__log(&lg, GAUTH_LOG_WARN, "dropped");
  cr_assert_eq(s.calls, 0);
  gauth__log(&lg, GAUTH_LOG_ERROR, "kept %d", 7);
  cr_assert_eq(s.calls, 1);
  cr_assert_eq(s.level, GAUTH_LOG_ERROR);
  cr_assert_str_eq(s.last, "kept 7");
}

Test(log, lines_are_redacted_and_flattened) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth__logger lg;
  seen s = {0};
  const char *known[] = {"opaque-secret-value", NULL};
  opts.log_fn = capture;
  opts.log_userdata = &s;
  opts.log_level = GAUTH_LOG_DEBUG;
  gauth__logger_init(&lg, &opts);
  gauth__log_secrets(&lg, GAUTH_LOG_DEBUG, known,
                     "sent opaque-secret-value and ya29.tok\nforged: line");
  cr_assert_eq(s.calls, 1);
  cr_assert_str_eq(s.last, "sent [redacted] and [redacted] forged: line");
}

Test(log, null_logger_logs_nothing) {
  gauth__log(NULL, GAUTH_LOG_ERROR, "nothing");
  cr_assert_not(gauth__log_enabled(NULL, GAUTH_LOG_ERROR));
}

Test(log, default_logger_writes_stderr, .init = cr_redirect_stderr) {
  gauth__logger lg;
  setenv("GAUTH_LOG", "warn", 1);
  gauth__logger_init(&lg, NULL);
  gauth__log(&lg, GAUTH_LOG_INFO, "not shown");
  gauth__log(&lg, GAUTH_LOG_WARN, "retrying in %d ms, Bearer abc", 250);
  fflush(stderr);
  cr_assert_stderr_eq_str(
      "gauth: warn: retrying in 250 ms, Bearer [redacted]\n");
}
