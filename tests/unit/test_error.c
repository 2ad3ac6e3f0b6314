/* Unit tests for lib/error.c: status names and messages, gauth_error setters.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "error_internal.h"

#define LAST_STATUS GAUTH_E_CANCELLED

Test(error, every_status_has_a_distinct_name_and_message) {
  for (int a = GAUTH_OK; a <= LAST_STATUS; a++) {
    const char *name = gauth_status_name((gauth_status)a);
    const char *msg = gauth_strerror((gauth_status)a);
    cr_assert(strncmp(name, "GAUTH_", 6) == 0, "status %d: %s", a, name);
    cr_assert_str_neq(name, "GAUTH_E_UNKNOWN", "status %d has no name", a);
    cr_assert_str_neq(msg, "unknown status", "status %d has no message", a);
    for (int b = GAUTH_OK; b < a; b++) {
      cr_assert_str_neq(name, gauth_status_name((gauth_status)b));
      cr_assert_str_neq(msg, gauth_strerror((gauth_status)b));
    }
  }
}

Test(error, values_are_stable) {
  /* Part of the ABI: these numbers never change. */
  cr_assert_eq(GAUTH_OK, 0);
  cr_assert_eq(GAUTH_E_INVALID_ARG, 1);
  cr_assert_eq(GAUTH_E_NOMEM, 2);
  cr_assert_eq(GAUTH_E_MALFORMED, 4);
  cr_assert_eq(GAUTH_E_TIMEOUT, 7);
  cr_assert_eq(GAUTH_E_INSECURE_URL, 9);
  cr_assert_eq(GAUTH_E_UNAUTHENTICATED, 11);
  cr_assert_eq(GAUTH_E_VERIFY, 17);
  cr_assert_eq(GAUTH_E_INTERNAL, 21);
  cr_assert_eq(GAUTH_E_CANCELLED, 22);
  cr_assert_str_eq(gauth_status_name(GAUTH_E_CANCELLED), "GAUTH_E_CANCELLED");
  cr_assert_str_eq(gauth_status_name(GAUTH_E_TIMEOUT), "GAUTH_E_TIMEOUT");
  cr_assert_str_eq(gauth_strerror(GAUTH_OK), "success");
}

Test(error, unknown_status) {
  cr_assert_str_eq(gauth_status_name((gauth_status)999), "GAUTH_E_UNKNOWN");
  cr_assert_str_eq(gauth_strerror((gauth_status)-1), "unknown status");
}

Test(error, set_fills_and_clears) {
  gauth_error err;
  memset(&err, 0x5a, sizeof(err));
  cr_assert_eq(gauth__error_set(&err, GAUTH_E_IO, "cannot read %s: %d",
                                "/x/key.json", 2),
               GAUTH_E_IO);
  cr_assert_eq(err.code, GAUTH_E_IO);
  cr_assert_eq(err.http_status, 0);
  cr_assert_str_eq(err.message, "cannot read /x/key.json: 2");
  cr_assert_str_eq(err.error_code, "");
  cr_assert_str_eq(err.reason, "");
  gauth_error_clear(&err);
  cr_assert_eq(err.code, GAUTH_OK);
  cr_assert_str_eq(err.message, "");
}

Test(error, null_err_is_allowed) {
  cr_assert_eq(gauth__error_set(NULL, GAUTH_E_NOMEM, "x"), GAUTH_E_NOMEM);
  cr_assert_eq(gauth__error_set_http(NULL, GAUTH_E_HTTP, 400, "e", "x"),
               GAUTH_E_HTTP);
  cr_assert_eq(gauth__error_set_verify(NULL, "expired", "x"), GAUTH_E_VERIFY);
  gauth__error_prefix(NULL, "p");
  gauth_error_clear(NULL);
  gauth__error_copy(NULL, NULL);
}

Test(error, http_and_verify_fields) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__error_set_http(&err, GAUTH_E_PERMISSION_DENIED, 403,
                        "PERMISSION_DENIED", "denied on %s", "projects/p");
  cr_assert_eq(err.http_status, 403);
  cr_assert_str_eq(err.error_code, "PERMISSION_DENIED");
  cr_assert_str_eq(err.message, "denied on projects/p");
  gauth__error_set_verify(&err, "expired", "token expired %d s ago", 312);
  cr_assert_eq(err.code, GAUTH_E_VERIFY);
  cr_assert_eq(err.http_status, 0, "verify clears the previous HTTP status");
  cr_assert_str_eq(err.error_code, "");
  cr_assert_str_eq(err.reason, "expired");
  cr_assert_str_eq(err.message, "token expired 312 s ago");
}

Test(error, prefix_keeps_fields) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__error_set_http(&err, GAUTH_E_HTTP, 400, "invalid_request", "bad");
  gauth__error_prefix(&err, "token endpoint %s", "http://127.0.0.1:1/token");
  cr_assert_str_eq(err.message, "token endpoint http://127.0.0.1:1/token: bad");
  cr_assert_eq(err.http_status, 400);
  cr_assert_str_eq(err.error_code, "invalid_request");
}

Test(error, long_message_is_cut_on_a_utf8_boundary) {
  gauth_error err = GAUTH_ERROR_INIT;
  char text[2000];
  size_t i, n;
  /* 'a' then 2-byte characters, so the cut falls inside a character. */
  text[0] = 'a';
  for (i = 1; i + 2 < sizeof(text); i += 2) {
    text[i] = (char)0xC3;
    text[i + 1] = (char)0xA9; /* é */
  }
  text[i] = '\0';
  gauth__error_set(&err, GAUTH_E_MALFORMED, "%s", text);
  n = strlen(err.message);
  cr_assert_lt(n, sizeof(err.message));
  cr_assert_geq(n, sizeof(err.message) - 2);
  cr_assert_eq(n % 2, 1, "cut inside a 2-byte character (len %zu)", n);
}

Test(error, strlcpy_utf8_edges) {
  char dst[4];
  gauth__strlcpy_utf8(dst, "abc", sizeof(dst));
  cr_assert_str_eq(dst, "abc");
  gauth__strlcpy_utf8(dst, "abcdef", sizeof(dst));
  cr_assert_str_eq(dst, "abc");
  gauth__strlcpy_utf8(dst, "ab\xe2\x82\xac", sizeof(dst)); /* "ab€" */
  cr_assert_str_eq(dst, "ab");
  gauth__strlcpy_utf8(dst, NULL, sizeof(dst));
  cr_assert_str_eq(dst, "");
}

Test(error, messages_are_redacted) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__error_set(&err, GAUTH_E_HTTP,
                   "server said: bad token ya29.CANARYtok3n");
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  gauth__error_set_http(&err, GAUTH_E_HTTP, 400, "access_token=ya29.CANARYx",
                        "x");
  cr_assert_null(strstr(err.error_code, "CANARY"), "%s", err.error_code);
  gauth__error_set(&err, GAUTH_E_HTTP, "ok");
  gauth__error_prefix(&err, "POST https://x/?assertion=CANARYASSERTION");
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
}

Test(error, copy) {
  gauth_error a = GAUTH_ERROR_INIT, b = GAUTH_ERROR_INIT;
  gauth__error_set_verify(&a, "unknown_kid", "no key");
  gauth__error_copy(&b, &a);
  cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
  gauth__error_copy(&b, NULL);
  cr_assert_eq(b.code, GAUTH_OK);
}

Test(error, nomem) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__error_nomem(&err), GAUTH_E_NOMEM);
  cr_assert_str_eq(err.message, "out of memory");
}
