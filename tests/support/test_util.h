/* Test support: small helpers shared by test programs. */
#ifndef GAUTH_TEST_UTIL_H
#define GAUTH_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/log.h>

/* Monotonic milliseconds. */
int64_t tu_now_ms(void);

/* Captures log lines: pass tu_log_capture as gauth_options.log_fn and a
 * tu_log as its userdata. Thread-safe. */
typedef struct tu_log {
  char *text; /* all lines, "LEVEL message\n" each; NUL-terminated */
  size_t len;
  size_t lines;
  void *mutex; /* internal */
} tu_log;
void tu_log_init(tu_log *log);
void tu_log_cleanup(tu_log *log);
void tu_log_capture(gauth_log_level level, const char *message, void *userdata);

/* Generates a self-signed certificate and key for CN=localhost with
 * subjectAltName IP:127.0.0.1, DNS:localhost, as PEM (malloc'd). */
void tu_make_cert(char **cert_pem, char **key_pem);

/* Writes text to a new temporary file; returns its malloc'd path (unlink
 * and free it when done). */
char *tu_write_temp(const char *text);

#endif /* GAUTH_TEST_UTIL_H */
