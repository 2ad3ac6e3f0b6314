/* Internal: filling a caller's gauth_error. Every setter tolerates err ==
 * NULL, returns the code it set (so `return gauth__error_set(...)` reads
 * well), truncates on a UTF-8 boundary, and runs the message through the
 * secret redactor (lib/redact.h) as a last line of defence. */
#ifndef GAUTH_LIB_ERROR_INTERNAL_H
#define GAUTH_LIB_ERROR_INTERNAL_H

#include "common.h"

/* Clears *err, then sets code and message. */
gauth_status gauth__error_set(gauth_error *err, gauth_status code,
                              const char *fmt, ...) GAUTH_PRINTF(3, 4);

/* As gauth__error_set, plus the HTTP status and the server's error string
 * (may be NULL). */
gauth_status gauth__error_set_http(gauth_error *err, gauth_status code,
                                   int http_status, const char *error_code,
                                   const char *fmt, ...) GAUTH_PRINTF(5, 6);

/* GAUTH_E_VERIFY with a stable reason ("expired", ...). */
gauth_status gauth__error_set_verify(gauth_error *err, const char *reason,
                                     const char *fmt, ...) GAUTH_PRINTF(3, 4);

/* Prepends "PREFIX: " to err->message (keeps every other field). */
void gauth__error_prefix(gauth_error *err, const char *fmt, ...)
    GAUTH_PRINTF(2, 3);

/* GAUTH_E_NOMEM, "out of memory". */
gauth_status gauth__error_nomem(gauth_error *err);

/* clang's analyzer (tests/scripts/static-analysis.sh) reads one file at a
 * time, so it cannot see that the setters above return the code they set:
 * it follows paths where a failure returns GAUTH_OK and its caller goes on
 * with unset outputs, and reports them. In its builds alone, each call
 * yields that code in the calling file; lib/error.c, which defines them,
 * sets GAUTH_LIB_ERROR_C to keep the plain declarations. */
#if defined(__clang_analyzer__) && !defined(GAUTH_LIB_ERROR_C)
#define gauth__error_set(err, code, ...)                        \
  __extension__({                                               \
    gauth_status gauth__code_ = (code);                         \
    (void)(gauth__error_set)((err), gauth__code_, __VA_ARGS__); \
    gauth__code_;                                               \
  })
#define gauth__error_set_http(err, code, ...)                        \
  __extension__({                                                    \
    gauth_status gauth__code_ = (code);                              \
    (void)(gauth__error_set_http)((err), gauth__code_, __VA_ARGS__); \
    gauth__code_;                                                    \
  })
#define gauth__error_set_verify(err, ...)                \
  __extension__({                                        \
    (void)(gauth__error_set_verify)((err), __VA_ARGS__); \
    GAUTH_E_VERIFY;                                      \
  })
#define gauth__error_nomem(err)      \
  __extension__({                    \
    (void)(gauth__error_nomem)(err); \
    GAUTH_E_NOMEM;                   \
  })
#endif

/* *out = a copy of s (not NULL); GAUTH_E_NOMEM when out of memory. For the
 * "copy a member into an out-parameter" step every source has. */
gauth_status gauth__strdup_out(const char *s, char **out, gauth_error *err);
/* Copies a NULL-terminated list of strings (gauth__strv_free). NULL or
 * empty: *out NULL and GAUTH_OK. An empty entry is GAUTH_E_INVALID_ARG,
 * "OWNER: WHAT N is empty". */
gauth_status gauth__strv_copy(const char *const *src, const char *owner,
                              const char *what, char ***out, gauth_error *err);

/* Copies src into dst (either may be NULL). */
void gauth__error_copy(gauth_error *dst, const gauth_error *src);

/* Copies at most size-1 bytes of src into dst, cutting on a UTF-8 character
 * boundary, always NUL-terminated (size > 0). */
void gauth__strlcpy_utf8(char *dst, const char *src, size_t size);

#endif /* GAUTH_LIB_ERROR_INTERNAL_H */
