/* lib/error_body.c: HTTP error replies into gauth_error. Pure: no I/O. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "constants.h"
#include "error_body.h"

#define WHAT "POST http://127.0.0.1:8080/token"

static gauth_status from_reply(gauth_error *err, long status, const char *ctype,
                               const char *body, const char *const *known) {
  return gauth__error_from_reply(err, status, ctype, body,
                                 body ? strlen(body) : 0, WHAT, known);
}

/* 1 when s is well-formed UTF-8 (no character cut in half). */
static int utf8_valid(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80             ? 0
            : (*p & 0xE0) == 0xC0 ? 1
            : (*p & 0xF0) == 0xE0 ? 2
            : (*p & 0xF8) == 0xF0 ? 3
                                  : -1;
    if (n < 0) return 0;
    p++;
    while (n-- > 0) {
      if ((*p & 0xC0) != 0x80) return 0;
      p++;
    }
  }
  return 1;
}

Test(status_for_http, table) {
  static const struct {
    long status;
    const char *code;
    gauth_status want;
  } cases[] = {
      {400, NULL, GAUTH_E_HTTP},
      {400, "invalid_request", GAUTH_E_HTTP},
      {400, "invalid_grant", GAUTH_E_UNAUTHENTICATED},
      {400, "invalid_client", GAUTH_E_UNAUTHENTICATED},
      {400, "unauthorized_client", GAUTH_E_UNAUTHENTICATED},
      {401, NULL, GAUTH_E_UNAUTHENTICATED},
      {401, "UNAUTHENTICATED", GAUTH_E_UNAUTHENTICATED},
      {403, "PERMISSION_DENIED", GAUTH_E_PERMISSION_DENIED},
      {404, NULL, GAUTH_E_NOT_FOUND},
      {408, NULL, GAUTH_E_TIMEOUT},
      {409, NULL, GAUTH_E_HTTP},
      {429, NULL, GAUTH_E_RATE_LIMITED},
      {500, NULL, GAUTH_E_UNAVAILABLE},
      {503, "UNAVAILABLE", GAUTH_E_UNAVAILABLE},
      {599, NULL, GAUTH_E_UNAVAILABLE},
      {302, NULL, GAUTH_E_HTTP},
      {600, NULL, GAUTH_E_HTTP},
      {0, NULL, GAUTH_E_HTTP},
  };
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(cases); i++) {
    gauth_status got = gauth__status_for_http(cases[i].status, cases[i].code);
    cr_expect_eq(got, cases[i].want, "status %ld code %s: got %s",
                 cases[i].status, cases[i].code ? cases[i].code : "(null)",
                 gauth_status_name(got));
  }
}

Test(error_from_reply, oauth_invalid_grant) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st =
      from_reply(&err, 400, "application/json",
                 "{\"error\":\"invalid_grant\","
                 "\"error_description\":\"Invalid JWT Signature.\"}",
                 NULL);
  cr_assert_eq(st, GAUTH_E_UNAUTHENTICATED);
  cr_assert_eq(err.code, GAUTH_E_UNAUTHENTICATED);
  cr_assert_eq(err.http_status, 400);
  cr_assert_str_eq(err.error_code, "invalid_grant");
  cr_assert_str_eq(err.message,
                   WHAT ": HTTP 400 invalid_grant: Invalid JWT Signature.");
}

Test(error_from_reply, oauth_without_description) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      from_reply(&err, 400, NULL, "{\"error\":\"invalid_request\"}", NULL),
      GAUTH_E_HTTP);
  cr_assert_str_eq(err.error_code, "invalid_request");
  cr_assert_str_eq(err.message, WHAT ": HTTP 400 invalid_request");
}

Test(error_from_reply, google_shape) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st =
      from_reply(&err, 403, "application/json; charset=UTF-8",
                 "{\"error\":{\"code\":403,\"message\":\"Permission "
                 "'iam.serviceAccounts.getAccessToken' denied on resource.\","
                 "\"status\":\"PERMISSION_DENIED\"}}",
                 NULL);
  cr_assert_eq(st, GAUTH_E_PERMISSION_DENIED);
  cr_assert_eq(err.http_status, 403);
  cr_assert_str_eq(err.error_code, "PERMISSION_DENIED");
  cr_assert_str_eq(err.message, WHAT
                   ": HTTP 403 PERMISSION_DENIED: Permission "
                   "'iam.serviceAccounts.getAccessToken' denied on "
                   "resource.");
}

Test(error_from_reply, google_not_found) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 404, "application/json",
                          "{\"error\":{\"code\":404,\"message\":\"Requested "
                          "entity was not found.\",\"status\":\"NOT_FOUND\"}}",
                          NULL),
               GAUTH_E_NOT_FOUND);
  cr_assert_str_eq(err.error_code, "NOT_FOUND");
  cr_assert(strstr(err.message, "Requested entity was not found.") != NULL);
}

/* The Cloud Run job case from DESIGN.md: an ID token at a Google API. The
 * ErrorInfo reason is the most telling part and is kept. */
Test(error_from_reply, google_details_error_info) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      from_reply(&err, 401, "application/json",
                 "{\"error\":{\"code\":401,\"message\":\"Request had invalid "
                 "authentication credentials.\",\"status\":"
                 "\"UNAUTHENTICATED\",\"details\":[{\"@type\":"
                 "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
                 "\"ACCESS_TOKEN_TYPE_UNSUPPORTED\",\"metadata\":{}}]}}",
                 NULL),
      GAUTH_E_UNAUTHENTICATED);
  cr_assert_str_eq(err.error_code, "UNAUTHENTICATED");
  cr_assert(strstr(err.message, "invalid authentication credentials") != NULL,
            "%s", err.message);
  cr_assert(strstr(err.message, "(ACCESS_TOKEN_TYPE_UNSUPPORTED)") != NULL,
            "%s", err.message);
}

Test(error_from_reply, old_errors_shape) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 404, "application/json",
                          "{\"error\":{\"errors\":[{\"domain\":\"global\","
                          "\"reason\":\"notFound\",\"message\":\"Not "
                          "Found\"}],\"code\":404,\"message\":\"Not "
                          "Found\"}}",
                          NULL),
               GAUTH_E_NOT_FOUND);
  cr_assert_str_eq(err.error_code, "notFound");
  cr_assert_str_eq(err.message, WHAT ": HTTP 404 notFound: Not Found");
}

Test(error_from_reply, old_errors_shape_message_only_inside) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 400, NULL,
                          "{\"error\":{\"errors\":[{\"reason\":\"badRequest\","
                          "\"message\":\"Invalid value\"}],\"code\":400}}",
                          NULL),
               GAUTH_E_HTTP);
  cr_assert_str_eq(err.error_code, "badRequest");
  cr_assert_str_eq(err.message, WHAT ": HTTP 400 badRequest: Invalid value");
}

Test(error_from_reply, error_object_without_fields) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 500, NULL, "{\"error\":{\"code\":500}}", NULL),
               GAUTH_E_UNAVAILABLE);
  cr_assert_eq(err.http_status, 500);
  cr_assert_str_eq(err.error_code, "");
  cr_assert(strstr(err.message, WHAT ": HTTP 500") == err.message, "%s",
            err.message);
  cr_assert(strstr(err.message, "no status or message") != NULL, "%s",
            err.message);
}

Test(error_from_reply, error_of_another_type) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 502, NULL, "{\"error\":42}", NULL),
               GAUTH_E_UNAVAILABLE);
  cr_assert(strstr(err.message, "\"error\" is a number") != NULL, "%s",
            err.message);
  cr_assert_eq(from_reply(&err, 400, NULL,
                          "{\"error\":true,\"message\":\"bad thing\"}", NULL),
               GAUTH_E_HTTP);
  cr_assert_str_eq(err.message, WHAT ": HTTP 400: bad thing");
}

Test(error_from_reply, error_array_or_null) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 400, NULL, "{\"error\":[\"x\"]}", NULL),
               GAUTH_E_HTTP);
  cr_assert(strstr(err.message, "\"error\" is an array") != NULL, "%s",
            err.message);
  cr_assert_eq(from_reply(&err, 401, NULL, "{\"error\":null}", NULL),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert(strstr(err.message, WHAT ": HTTP 401 (") == err.message, "%s",
            err.message);
}

Test(error_from_reply, json_without_error) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 403, NULL, "{\"hello\":\"world\"}", NULL),
               GAUTH_E_PERMISSION_DENIED);
  cr_assert(strstr(err.message, "without an error description") != NULL, "%s",
            err.message);
  cr_assert(strstr(err.message, "world") == NULL);
}

Test(error_from_reply, html_not_echoed) {
  gauth_error err = GAUTH_ERROR_INIT;
  const char *html =
      "<html><head><title>502 Bad Gateway</title></head><body>upstream "
      "said Authorization: Bearer hunter2hunter2</body></html>";
  cr_assert_eq(from_reply(&err, 502, "text/html; charset=utf-8", html, NULL),
               GAUTH_E_UNAVAILABLE);
  cr_assert_eq(err.http_status, 502);
  cr_assert(strstr(err.message, "<html") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "hunter2") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "Bad Gateway") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "text/html") != NULL, "%s", err.message);
  cr_assert(strstr(err.message, "not shown") != NULL, "%s", err.message);
}

Test(error_from_reply, invalid_json_not_echoed) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 400, "application/json",
                          "{\"error\":\"invalid_grant\",\"error_description\":"
                          "\"cut here",
                          NULL),
               GAUTH_E_HTTP);
  cr_assert_str_eq(err.error_code, "");
  cr_assert(strstr(err.message, "cut here") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "application/json") != NULL, "%s", err.message);
}

Test(error_from_reply, duplicate_members_not_trusted) {
  gauth_error err = GAUTH_ERROR_INIT;
  from_reply(&err, 400, NULL,
             "{\"error\":\"invalid_grant\",\"error\":\"invalid_request\"}",
             NULL);
  cr_assert_str_eq(err.error_code, "");
}

Test(error_from_reply, empty_body) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(from_reply(&err, 503, NULL, "", NULL), GAUTH_E_UNAVAILABLE);
  cr_assert_str_eq(err.message, WHAT ": HTTP 503 (empty reply)");
  cr_assert_eq(gauth__error_from_reply(&err, 404, NULL, NULL, 0, WHAT, NULL),
               GAUTH_E_NOT_FOUND);
  cr_assert_str_eq(err.message, WHAT ": HTTP 404 (empty reply)");
}

Test(error_from_reply, huge_message_truncated_on_utf8_boundary) {
  /* 300 two-byte characters: 600 bytes of server text. */
  char body[1024];
  gauth_error err = GAUTH_ERROR_INIT;
  const char *text;
  size_t i, n = 0;
  n += (size_t)sprintf(body,
                       "{\"error\":\"invalid_request\","
                       "\"error_description\":\"");
  for (i = 0; i < 300; i++) {
    body[n++] = (char)0xC3;
    body[n++] = (char)0xA9; /* é */
  }
  strcpy(body + n, "\"}");
  from_reply(&err, 400, NULL, body, NULL);
  cr_assert(utf8_valid(err.message), "%s", err.message);
  text = strstr(err.message, "invalid_request: ");
  cr_assert(text != NULL);
  text += strlen("invalid_request: ");
  cr_assert_leq(strlen(text), GAUTH__ERROR_TEXT_MAX);
  cr_assert_geq(strlen(text), GAUTH__ERROR_TEXT_MAX - 4);
  cr_assert(strcmp(text + strlen(text) - 3, "...") == 0, "%s", text);
}

Test(error_from_reply, long_code_truncated) {
  char body[512];
  gauth_error err = GAUTH_ERROR_INIT;
  char code[201];
  memset(code, 'a', 200);
  code[200] = '\0';
  snprintf(body, sizeof(body), "{\"error\":\"%s\"}", code);
  from_reply(&err, 400, NULL, body, NULL);
  cr_assert_lt(strlen(err.error_code), GAUTH_ERROR_CODE_SIZE);
  cr_assert_gt(strlen(err.error_code), 10);
  cr_assert_lt(strlen(err.message), GAUTH_ERROR_MESSAGE_SIZE);
}

Test(error_from_reply, known_secret_redacted) {
  const char *known[] = {"s3cr3t-client-secret-value", NULL};
  gauth_error err = GAUTH_ERROR_INIT;
  from_reply(&err, 401, NULL,
             "{\"error\":\"invalid_client\",\"error_description\":\"client "
             "secret s3cr3t-client-secret-value is wrong\"}",
             known);
  cr_assert_eq(err.code, GAUTH_E_UNAUTHENTICATED);
  cr_assert(strstr(err.message, "s3cr3t") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "[redacted]") != NULL, "%s", err.message);
  cr_assert(strstr(err.message, "is wrong") != NULL, "%s", err.message);
}

/* A known secret holding a control character is redacted too (control
 * characters become spaces after the redaction, not before it). */
Test(error_from_reply, known_secret_with_control_character_redacted) {
  const char *known[] = {"line1\nS3CRETPART-0123456789", NULL};
  gauth_error err = GAUTH_ERROR_INIT;
  from_reply(&err, 400, NULL,
             "{\"error\":{\"message\":\"line1\\nS3CRETPART-0123456789\"}}",
             known);
  cr_assert(strstr(err.message, "S3CRETPART") == NULL, "%s", err.message);
  cr_assert(strstr(err.message, "[redacted]") != NULL, "%s", err.message);
}

/* A secret that straddles the truncation point: redaction runs before the
 * cut, so not even its first half survives. */
Test(error_from_reply, known_secret_at_the_cut_redacted) {
  const char *secret = "ZXCVBNMASDFGHJKLQWERTYUIOP0987654321";
  const char *known[] = {secret, NULL};
  char body[1024];
  char prefix[200];
  gauth_error err = GAUTH_ERROR_INIT;
  memset(prefix, 'm', GAUTH__ERROR_TEXT_MAX - 10);
  prefix[GAUTH__ERROR_TEXT_MAX - 10] = '\0';
  snprintf(body, sizeof(body),
           "{\"error\":\"invalid_request\",\"error_description\":\"%s %s "
           "tail\"}",
           prefix, secret);
  from_reply(&err, 400, NULL, body, known);
  cr_assert(strstr(err.message, "ZXCVB") == NULL, "%s", err.message);
}

Test(error_from_reply, secret_in_error_code_redacted) {
  const char *known[] = {"canary-token-0123456789", NULL};
  gauth_error err = GAUTH_ERROR_INIT;
  from_reply(&err, 400, NULL, "{\"error\":\"canary-token-0123456789\"}", known);
  cr_assert(strstr(err.error_code, "canary") == NULL, "%s", err.error_code);
  cr_assert(strstr(err.message, "canary") == NULL, "%s", err.message);
}

Test(error_from_reply, control_characters_flattened) {
  gauth_error err = GAUTH_ERROR_INIT;
  from_reply(&err, 400, NULL,
             "{\"error\":\"invalid_request\",\"error_description\":"
             "\"line one\\ngauth: error: forged line\\r\\u0007\"}",
             NULL);
  cr_assert(strchr(err.message, '\n') == NULL);
  cr_assert(strchr(err.message, '\r') == NULL);
  cr_assert(strchr(err.message, '\a') == NULL);
  cr_assert(strstr(err.message, "line one gauth") != NULL, "%s", err.message);
}

Test(error_from_reply, null_err_still_returns_status) {
  cr_assert_eq(from_reply(NULL, 429, NULL, "{}", NULL), GAUTH_E_RATE_LIMITED);
  cr_assert_eq(
      from_reply(NULL, 400, NULL, "{\"error\":\"invalid_grant\"}", NULL),
      GAUTH_E_UNAUTHENTICATED);
}
