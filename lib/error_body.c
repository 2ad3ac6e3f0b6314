/* Turning an HTTP error reply (Google or OAuth JSON) into a gauth_error.
 *
 * Text from the server goes into a caller's message only after three
 * steps, in this order: control characters flattened (a reply must not
 * forge log lines), secrets redacted (before cutting, so that half of a
 * known secret cannot survive the cut), then truncation on a UTF-8
 * boundary. A body that is not JSON is never echoed: HTML error pages and
 * proxies' replies can carry anything, including the request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "error_body.h"
#include "error_internal.h"
#include "json.h"
#include "redact.h"

gauth_status gauth__status_for_http(long http_status, const char *error_code) {
  /* OAuth token endpoints answer a bad grant or client with 400 (RFC 6749
   * section 5.2); for the caller that is a credentials problem. */
  if (error_code != NULL && (strcmp(error_code, "invalid_grant") == 0 ||
                             strcmp(error_code, "invalid_client") == 0 ||
                             strcmp(error_code, "unauthorized_client") == 0))
    return GAUTH_E_UNAUTHENTICATED;
  switch (http_status) {
    case 401: return GAUTH_E_UNAUTHENTICATED;
    case 403: return GAUTH_E_PERMISSION_DENIED;
    case 404: return GAUTH_E_NOT_FOUND;
    case 408: return GAUTH_E_TIMEOUT;
    case 429: return GAUTH_E_RATE_LIMITED;
    default: break;
  }
  if (http_status >= 500 && http_status <= 599) return GAUTH_E_UNAVAILABLE;
  return GAUTH_E_HTTP;
}

/* A copy of server text fit for a message: `known` secrets are redacted
 * as the server wrote them (a secret holding a control character would
 * not match once that became a space), control characters become spaces,
 * secret-looking runs are redacted, and the result is cut to `max` bytes
 * on a character boundary ("..." marks the cut). NULL when out of
 * memory. */
static char *server_text(const char *text, const char *const *known,
                         size_t max) {
  char *flat = gauth__redact(text, known);
  char *red;
  size_t i, n;
  if (flat == NULL) return NULL;
  n = strlen(flat);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)flat[i];
    if (c < 0x20 || c == 0x7f) flat[i] = ' ';
  }
  red = gauth__redact(flat, known);
  free(flat);
  if (red == NULL) return NULL;
  if (strlen(red) > max) {
    /* Cut to leave room for "...", on a UTF-8 boundary. */
    gauth__strlcpy_utf8(red, red, max - 3 + 1);
    memcpy(red + strlen(red), "...", 4);
  }
  return red;
}

/* A string member of obj, or NULL (absent, JSON null, another type). */
static const char *str_member(const cJSON *obj, const char *name) {
  const cJSON *it;
  if (!cJSON_IsObject(obj)) return NULL;
  it = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* The media type of a Content-Type value, for messages: at most 60 bytes of
 * token characters ("text/html"), or "no content type". */
static void media_type(const char *content_type, char *out, size_t size) {
  size_t n = 0;
  if (content_type != NULL) {
    while (*content_type == ' ') content_type++;
    while (content_type[n] != '\0' && n + 1 < size && n < 60) {
      char c = content_type[n];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("/+-.", c) != NULL))
        break;
      out[n] = c;
      n++;
    }
  }
  out[n] = '\0';
  if (n == 0) snprintf(out, size, "no content type");
}

/* What one error reply says, borrowed from its JSON tree. */
typedef struct reply_info {
  const char *code;    /* OAuth "error" or Google "status" (or old "reason") */
  const char *message; /* error_description / error.message */
  const char *detail;  /* google.rpc.ErrorInfo reason, when it adds to code */
  const char *shape;   /* when nothing else is there: what the body was */
} reply_info;

/* Google's {"error":{"code":..,"message":..,"status":..,"details":[..]}},
 * and the older {"error":{"errors":[{"reason":..,"message":..}],..}}. */
static void read_google(const cJSON *e, reply_info *ri) {
  const cJSON *errors = cJSON_GetObjectItemCaseSensitive(e, "errors");
  const cJSON *details = cJSON_GetObjectItemCaseSensitive(e, "details");
  const cJSON *first = NULL;
  const cJSON *d;

  ri->code = str_member(e, "status");
  ri->message = str_member(e, "message");
  if (cJSON_IsArray(errors)) first = cJSON_GetArrayItem(errors, 0);
  if (ri->code == NULL) ri->code = str_member(first, "reason");
  if (ri->message == NULL) ri->message = str_member(first, "message");
  /* ErrorInfo.reason is the most specific machine-readable cause Google
   * gives ("ACCESS_TOKEN_TYPE_UNSUPPORTED", "IAM_PERMISSION_DENIED"). */
  if (cJSON_IsArray(details)) {
    cJSON_ArrayForEach(d, details) {
      const char *type = str_member(d, "@type");
      const char *reason = str_member(d, "reason");
      if (type != NULL && reason != NULL &&
          strstr(type, "google.rpc.ErrorInfo") != NULL) {
        if (ri->code == NULL || strcmp(reason, ri->code) != 0)
          ri->detail = reason;
        break;
      }
    }
  }
  if (ri->code == NULL && ri->message == NULL)
    ri->shape = "a JSON reply whose \"error\" object has no status or message";
}

static void read_reply(const cJSON *root, reply_info *ri) {
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
  if (cJSON_IsString(e)) {
    ri->code = e->valuestring;
    ri->message = str_member(root, "error_description");
  } else if (cJSON_IsObject(e)) {
    read_google(e, ri);
  } else if (e != NULL) {
    ri->message = str_member(root, "message");
    if (ri->message == NULL) {
      if (cJSON_IsNumber(e))
        ri->shape = "a JSON reply whose \"error\" is a number";
      else if (cJSON_IsArray(e))
        ri->shape = "a JSON reply whose \"error\" is an array";
      else
        ri->shape = "a JSON reply with an unusual \"error\"";
    }
  } else {
    /* Some APIs put only a top-level message (or nothing) in the reply. */
    ri->message = str_member(root, "message");
    ri->code = str_member(root, "status");
    if (ri->message == NULL && ri->code == NULL)
      ri->shape = "a JSON reply without an error description";
  }
  if (ri->code != NULL && ri->code[0] == '\0') ri->code = NULL;
  if (ri->message != NULL && ri->message[0] == '\0') ri->message = NULL;
}

gauth_status gauth__error_from_reply(gauth_error *err, long http_status,
                                     const char *content_type, const char *body,
                                     size_t body_len, const char *what,
                                     const char *const *known) {
  cJSON *root = NULL;
  reply_info ri = {NULL, NULL, NULL, NULL};
  char *code = NULL, *msg = NULL, *detail = NULL;
  char mt[64];
  gauth_status st;
  int status = (http_status > 0 && http_status < 1000) ? (int)http_status : 0;

  if (what == NULL) what = "request";
  if (body != NULL && body_len > 0 &&
      gauth__json_parse_object(body, body_len, NULL, &root, NULL) == GAUTH_OK) {
    read_reply(root, &ri);
  }

  if (ri.code != NULL) {
    code = server_text(ri.code, known, GAUTH_ERROR_CODE_SIZE - 1);
    if (code == NULL) goto nomem;
  }
  if (ri.message != NULL) {
    msg = server_text(ri.message, known, GAUTH__ERROR_TEXT_MAX);
    if (msg == NULL) goto nomem;
  }
  if (ri.detail != NULL) {
    detail = server_text(ri.detail, known, GAUTH_ERROR_CODE_SIZE - 1);
    if (detail == NULL) goto nomem;
  }
  /* Decide on the raw code (before redaction it is what the server said;
   * a code that needed redacting is no OAuth error name anyway). */
  st = gauth__status_for_http(http_status, ri.code);

  if (root != NULL && ri.shape == NULL) {
    gauth__error_set_http(err, st, status, code, "%s: HTTP %ld%s%s%s%s%s%s%s",
                          what, http_status, code ? " " : "", code ? code : "",
                          msg ? ": " : "", msg ? msg : "", detail ? " (" : "",
                          detail ? detail : "", detail ? ")" : "");
  } else if (root != NULL) {
    gauth__error_set_http(err, st, status, NULL, "%s: HTTP %ld (%s, %zu bytes)",
                          what, http_status, ri.shape, body_len);
  } else if (body_len == 0) {
    gauth__error_set_http(err, st, status, NULL, "%s: HTTP %ld (empty reply)",
                          what, http_status);
  } else {
    media_type(content_type, mt, sizeof(mt));
    gauth__error_set_http(err, st, status, NULL,
                          "%s: HTTP %ld (a non-JSON reply of %zu bytes, %s; "
                          "not shown)",
                          what, http_status, body_len, mt);
  }
  free(code);
  free(msg);
  free(detail);
  cJSON_Delete(root);
  return st;

nomem:
  free(code);
  free(msg);
  free(detail);
  cJSON_Delete(root);
  st = gauth__status_for_http(http_status, NULL);
  return gauth__error_set_http(err, st, status, NULL, "%s: HTTP %ld", what,
                               http_status);
}
