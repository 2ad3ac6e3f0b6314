/* gauth-emulator: Google's error replies, in one place for every route. The
 * two error shapes (Google's APIs', OAuth's), and the refusals more than
 * one route gives, word for word: clients and people search for these
 * texts, and a test that meets one should meet Google's. */
#include "emulator.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REALM "Bearer realm=\"https://accounts.google.com/\""

#define E_UNAUTH_MISSING                                                    \
  "Request is missing required authentication credential. Expected OAuth "  \
  "2 access token, login cookie or other valid authentication credential. " \
  "See https://developers.google.com/identity/sign-in/web/devconsole-"      \
  "project."
#define E_UNAUTH_INVALID                                                  \
  "Request had invalid authentication credentials. Expected OAuth 2 "     \
  "access token, login cookie or other valid authentication credential. " \
  "See https://developers.google.com/identity/sign-in/web/devconsole-"    \
  "project."
#define E_SCOPE "Request had insufficient authentication scopes."

/* ---- the shapes ---------------------------------------------------------- */

const char *emu_google_status(int code) {
  switch (code) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return code >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

/* {"error":{"code":C,"message":M,"status":S}}; *error is the inner object,
 * for details. */
static cJSON *google_error(int code, const char *status, const char *message,
                           cJSON **error) {
  cJSON *o = cJSON_CreateObject();
  *error = cJSON_AddObjectToObject(o, "error");
  cJSON_AddNumberToObject(*error, "code", code);
  cJSON_AddStringToObject(*error, "message", message);
  cJSON_AddStringToObject(*error, "status", status);
  return o;
}

/* Adds "details":[{google.rpc.ErrorInfo}] to an error, with the permission
 * in its metadata when there is one. */
static void add_error_info(cJSON *error, const char *reason, const char *domain,
                           const char *permission) {
  cJSON *d = cJSON_AddArrayToObject(error, "details");
  cJSON *info = cJSON_CreateObject();
  cJSON_AddStringToObject(info, "@type",
                          "type.googleapis.com/google.rpc.ErrorInfo");
  cJSON_AddStringToObject(info, "reason", reason);
  cJSON_AddStringToObject(info, "domain", domain);
  if (permission != NULL) {
    cJSON *meta = cJSON_AddObjectToObject(info, "metadata");
    cJSON_AddStringToObject(meta, "permission", permission);
  }
  cJSON_AddItemToArray(d, info);
}

void emu_reply_google_error(emu_response *r, int code, const char *status,
                            const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  cJSON *err;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  emu_reply_json(r, code, google_error(code, status, msg, &err));
}

void emu_reply_oauth_error(emu_response *r, int code, const char *error,
                           const char *description) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "error", error);
  if (description != NULL)
    cJSON_AddStringToObject(o, "error_description", description);
  emu_reply_json(r, code, o);
}

/* ---- refusals ------------------------------------------------------------ */

void emu_reply_method_not_allowed(emu_response *r) {
  emu_reply_google_error(r, 405, "METHOD_NOT_ALLOWED", "Method Not Allowed");
}

void emu_reply_oauth_missing(emu_response *r, const char *parameter) {
  char desc[300];
  snprintf(desc, sizeof desc, "Missing required parameter: %s", parameter);
  emu_reply_oauth_error(r, 400, "invalid_request", desc);
}

/* The 401 an ID token gets from a Google API is the one the issue quotes:
 * Google's APIs take OAuth access tokens only. */
static void reply_unauthenticated(emu_response *r, emu_bearer_kind kind) {
  if (kind == EMU_BEARER_NONE) {
    emu_reply_google_error(r, 401, "UNAUTHENTICATED", "%s", E_UNAUTH_MISSING);
    emu_reply_header(r, "WWW-Authenticate", REALM);
  } else {
    emu_reply_google_error(r, 401, "UNAUTHENTICATED", "%s", E_UNAUTH_INVALID);
    emu_reply_header(r, "WWW-Authenticate", REALM ", error=\"invalid_token\"");
  }
}

static void reply_insufficient_scope(emu_response *r,
                                     const emu_token_need *need) {
  char www[512];
  cJSON *err;
  cJSON *o = google_error(403, "PERMISSION_DENIED", E_SCOPE, &err);
  if (need->scope_error_info)
    add_error_info(err, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "googleapis.com",
                   NULL);
  emu_reply_json(r, 403, o);
  if (need->scope_hint != NULL)
    snprintf(www, sizeof www, "%s, error=\"insufficient_scope\", scope=\"%s\"",
             REALM, need->scope_hint);
  else
    snprintf(www, sizeof www, "%s, error=\"insufficient_scope\"", REALM);
  emu_reply_header(r, "WWW-Authenticate", www);
}

int emu_require_access_token(emu *e, const emu_request *req, emu_response *resp,
                             const emu_token_need *need, emu_bearer *b) {
  emu_bearer_of(e, req, b);
  if (b->kind != EMU_BEARER_ACCESS) {
    reply_unauthenticated(resp, b->kind);
    return 0;
  }
  snprintf(resp->principal, sizeof resp->principal, "%s", b->email);
  if (emu_scopes_have(b->scopes, need->scopes)) return 1;
  reply_insufficient_scope(resp, need);
  return 0;
}

void emu_reply_iam_permission_denied(emu_response *r, const char *permission) {
  char msg[700];
  cJSON *err, *o;
  snprintf(msg, sizeof msg,
           "Permission '%s' denied on resource (or it may not exist).",
           permission);
  o = google_error(403, "PERMISSION_DENIED", msg, &err);
  add_error_info(err, "IAM_PERMISSION_DENIED", "iam.googleapis.com",
                 permission);
  emu_reply_json(r, 403, o);
}

void emu_reply_run_permission_denied(emu_response *r, const char *permission,
                                     const char *resource) {
  emu_reply_google_error(r, 403, "PERMISSION_DENIED",
                         "Permission '%s' denied on resource '%s' (or "
                         "resource may not exist).",
                         permission, resource);
}

void emu_reply_run_not_found(emu_response *r, const char *kind,
                             const char *name, const char *region,
                             const char *project) {
  emu_reply_google_error(r, 404, "NOT_FOUND",
                         "Resource '%s' of kind '%s' in region '%s' in "
                         "project '%s' does not exist.",
                         name, kind, region, project);
}
