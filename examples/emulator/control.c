/* gauth-emulator: the control API, /emulator/v1/... (docs/emulator.md).
 * Tests and users drive the world through it: policy changes with
 * propagation delays, key rotation, the clock, faults, counters and the
 * request log. Loopback clients only. */
#include "emulator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/emulator/v1/"

static int is(const emu_request *req, const char *method, const char *path) {
  return strcmp(req->method, method) == 0 &&
         strcmp(req->path + sizeof(PREFIX) - 1, path) == 0;
}

static const char *jstr(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* A number member: 1 and *out when present and a number, 0 when absent,
 * -1 when of another type. */
static int jnum(const cJSON *o, const char *name, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (v == NULL) return 0;
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return -1;
  *out = v->valuedouble;
  return 1;
}

/* 200 {"NAME":item}. */
static void reply_wrapped(emu_response *resp, const char *name, cJSON *item) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, name, item);
  emu_reply_json(resp, 200, o);
}

static void bad(emu_response *resp, const char *what) {
  emu_reply_google_error(resp, 400, "INVALID_ARGUMENT", "%s", what);
}

static void policy_change(emu *e, const cJSON *body, int add,
                          emu_response *resp) {
  const char *res = jstr(body, "resource"), *role = jstr(body, "role");
  const char *member = jstr(body, "member");
  double delay = 0;
  cJSON *o;
  if (res == NULL || role == NULL || member == NULL) {
    bad(resp, "give \"resource\", \"role\" and \"member\"");
    return;
  }
  if (jnum(body, "delay_seconds", &delay) < 0 || delay < 0 ||
      delay > 86400 * 30.0) {
    bad(resp, "\"delay_seconds\" must be a number of seconds (0 .. 2592000)");
    return;
  }
  if (add ? emu_policy_add(e, res, role, member, (int64_t)delay)
          : emu_policy_remove(e, res, role, member, (int64_t)delay)) {
    if (add)
      bad(resp, "unknown role");
    else
      emu_reply_google_error(resp, 404, "NOT_FOUND",
                             "no such binding: %.200s %.100s %.200s", res, role,
                             member);
    return;
  }
  o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "resource", res);
  cJSON_AddStringToObject(o, "role", role);
  cJSON_AddStringToObject(o, "member", member);
  cJSON_AddStringToObject(o, add ? "added" : "removed",
                          delay > 0 ? "pending" : "now");
  cJSON_AddNumberToObject(o, "delay_seconds", (int64_t)delay);
  emu_reply_json(resp, 200, o);
}

static void permission_check(emu *e, const cJSON *body, emu_response *resp) {
  const char *res = jstr(body, "resource"), *member = jstr(body, "member");
  const cJSON *perms = cJSON_GetObjectItemCaseSensitive(body, "permissions");
  const char *perm = jstr(body, "permission");
  cJSON *o, *granted;
  const cJSON *it;
  if (res == NULL || member == NULL ||
      (perm == NULL && !cJSON_IsArray(perms))) {
    bad(resp,
        "give \"resource\", \"member\" and \"permission\" (or a "
        "\"permissions\" array)");
    return;
  }
  o = cJSON_CreateObject();
  if (perm != NULL)
    cJSON_AddBoolToObject(o, "granted",
                          emu_has_permission(e, res, member, perm));
  if (cJSON_IsArray(perms)) {
    granted = cJSON_AddArrayToObject(o, "permissions");
    cJSON_ArrayForEach(it, perms) {
      if (cJSON_IsString(it) &&
          emu_has_permission(e, res, member, it->valuestring))
        cJSON_AddItemToArray(granted, cJSON_CreateString(it->valuestring));
    }
  }
  emu_reply_json(resp, 200, o);
}

static const struct {
  const char *name;
  emu_fault_kind kind;
} fault_kinds[] = {{"status", EMU_FAULT_STATUS},
                   {"delay", EMU_FAULT_DELAY},
                   {"reset", EMU_FAULT_RESET},
                   {"truncate", EMU_FAULT_TRUNCATE},
                   {"invalid_json", EMU_FAULT_INVALID_JSON},
                   {"oversized", EMU_FAULT_OVERSIZED}};

static void fault_set(emu *e, const cJSON *body, emu_response *resp) {
  emu_fault f;
  const char *route = jstr(body, "route"), *kind = jstr(body, "kind");
  const char *text = jstr(body, "body");
  const cJSON *ra = cJSON_GetObjectItemCaseSensitive(body, "retry_after");
  double num = 0;
  int found = 0;
  memset(&f, 0, sizeof(f));
  f.remaining = -1;
  if (route == NULL || route[0] != '/' || kind == NULL) {
    bad(resp, "give \"route\" (a path prefix starting with /) and \"kind\"");
    return;
  }
  if (strlen(route) >= sizeof(f.route) ||
      (text && strlen(text) >= sizeof(f.body))) {
    bad(resp, "\"route\" or \"body\" too long");
    return;
  }
  snprintf(f.route, sizeof(f.route), "%s", route);
  for (size_t i = 0; i < sizeof(fault_kinds) / sizeof(fault_kinds[0]); i++)
    if (strcmp(kind, fault_kinds[i].name) == 0) {
      f.kind = fault_kinds[i].kind;
      found = 1;
    }
  if (!found) {
    bad(resp,
        "\"kind\" must be status, delay, reset, truncate, "
        "invalid_json or oversized");
    return;
  }
  if (text) snprintf(f.body, sizeof(f.body), "%s", text);
  if (jnum(body, "status", &num) != 0) {
    if (jnum(body, "status", &num) < 0 || num < 100 || num > 599) {
      bad(resp, "\"status\" must be an HTTP status (100 .. 599)");
      return;
    }
    f.status = (int)num;
  }
  if (cJSON_IsString(ra))
    snprintf(f.retry_after, sizeof(f.retry_after), "%s", ra->valuestring);
  else if (cJSON_IsNumber(ra))
    snprintf(f.retry_after, sizeof(f.retry_after), "%ld",
             (long)ra->valuedouble);
  else if (ra != NULL) {
    bad(resp, "\"retry_after\" must be seconds or an HTTP date");
    return;
  }
  if (jnum(body, "delay_ms", &num) != 0) {
    if (jnum(body, "delay_ms", &num) < 0 || num < 0 || num > 600000) {
      bad(resp, "\"delay_ms\" must be 0 .. 600000");
      return;
    }
    f.delay_ms = (unsigned int)num;
  }
  if (jnum(body, "bytes", &num) != 0) {
    if (jnum(body, "bytes", &num) < 0 || num < 16 || num > 64.0 * 1048576) {
      bad(resp, "\"bytes\" must be 16 .. 67108864");
      return;
    }
    f.bytes = (size_t)num;
  }
  if (jnum(body, "count", &num) != 0) {
    if (jnum(body, "count", &num) < 0 || num < 1 || num > 1e9) {
      bad(resp, "\"count\" must be a positive number of requests");
      return;
    }
    f.remaining = (long)num;
  }
  if (jnum(body, "fraction", &num) != 0) {
    if (jnum(body, "fraction", &num) < 0 || num <= 0 || num > 1) {
      bad(resp, "\"fraction\" must be in (0, 1]");
      return;
    }
    f.fraction = num;
  }
  if (f.kind == EMU_FAULT_DELAY && f.delay_ms == 0) {
    bad(resp, "a delay fault needs \"delay_ms\"");
    return;
  }
  emu_fault_set(e, &f);
  {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "faults", emu_faults_json(e));
    emu_reply_json(resp, 200, o);
  }
}

static void clock_reply(emu *e, emu_response *resp) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "now", (double)emu_now(e));
  cJSON_AddNumberToObject(o, "offset_seconds", (double)emu_clock_offset(e));
  emu_reply_json(resp, 200, o);
}

static void propagation_reply(emu *e, emu_response *resp) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "delay_seconds", (double)emu_iam_propagation(e));
  emu_reply_json(resp, 200, o);
}

static void keys_reply(emu *e, emu_response *resp) {
  char kid[64];
  char *jwks = NULL;
  gauth_keyset *ks = emu_signing_keys(e);
  cJSON *o = cJSON_CreateObject();
  emu_current_kid(e, kid, sizeof(kid));
  cJSON_AddStringToObject(o, "current_kid", kid);
  if (gauth_keyset_to_jwks(ks, &jwks, NULL) == GAUTH_OK) {
    cJSON *j = cJSON_Parse(jwks);
    if (j != NULL) cJSON_AddItemToObject(o, "jwks", j);
  }
  gauth_free(jwks);
  gauth_keyset_free(ks);
  emu_reply_json(resp, 200, o);
}

static void status_reply(emu *e, emu_response *resp) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "base_url", emu_base_url(e));
  cJSON_AddStringToObject(o, "run_url", emu_run_base_url(e));
  cJSON_AddItemToObject(o, "services", emu_services_json(e));
  cJSON_AddStringToObject(o, "project_id", emu_project_id(e));
  cJSON_AddStringToObject(o, "project_number", emu_project_number(e));
  cJSON_AddStringToObject(o, "region", emu_region(e));
  cJSON_AddStringToObject(o, "zone", emu_zone(e));
  cJSON_AddStringToObject(o, "invoker", emu_invoker_account(e));
  cJSON_AddStringToObject(o, "metadata_account", emu_metadata_account(e));
  cJSON_AddNumberToObject(o, "now", (double)emu_now(e));
  cJSON_AddStringToObject(o, "libgauth", gauth_version());
  emu_reply_json(resp, 200, o);
}

int emu_route_control(emu *e, const emu_request *req, emu_response *resp) {
  cJSON *body = NULL, *o;
  if (strncmp(req->path, PREFIX, sizeof(PREFIX) - 1) != 0) return 0;
  snprintf(resp->principal, sizeof(resp->principal), "control");
  if (!emu_req_is_loopback(req)) {
    emu_reply_google_error(resp, 403, "PERMISSION_DENIED",
                           "the control API answers loopback clients only");
    return 1;
  }
  if (strcmp(req->method, "POST") == 0) {
    body = req->body_len ? emu_req_json(req) : cJSON_CreateObject();
    if (body == NULL) {
      bad(resp, "the body must be a JSON object");
      return 1;
    }
  }
  if (is(req, "GET", "status")) {
    status_reply(e, resp);
  } else if (is(req, "GET", "policy")) {
    reply_wrapped(resp, "bindings", emu_policy_json(e));
  } else if (is(req, "POST", "policy:add")) {
    policy_change(e, body, 1, resp);
  } else if (is(req, "POST", "policy:remove")) {
    policy_change(e, body, 0, resp);
  } else if (is(req, "POST", "permissions:check")) {
    permission_check(e, body, resp);
  } else if (is(req, "GET", "keys")) {
    keys_reply(e, resp);
  } else if (is(req, "POST", "keys:rotate")) {
    if (emu_rotate_signing_keys(e) != 0)
      emu_reply_google_error(resp, 500, "INTERNAL", "key generation failed");
    else
      keys_reply(e, resp);
  } else if (is(req, "GET", "clock")) {
    clock_reply(e, resp);
  } else if (is(req, "POST", "clock")) {
    double off;
    if (jnum(body, "offset_seconds", &off) != 1 || fabs(off) > 1e10) {
      bad(resp, "give \"offset_seconds\" (a number, may be negative)");
    } else {
      emu_set_clock_offset(e, (int64_t)off);
      emu_scheduler_wake(e); /* due jobs fire at once */
      clock_reply(e, resp);
    }
  } else if (is(req, "GET", "iam-propagation")) {
    propagation_reply(e, resp);
  } else if (is(req, "POST", "iam-propagation")) {
    double d;
    if (jnum(body, "delay_seconds", &d) != 1 || d < 0 || d > 86400 * 30.0) {
      bad(resp, "give \"delay_seconds\" (0 .. 2592000)");
    } else {
      emu_set_iam_propagation(e, (int64_t)d);
      propagation_reply(e, resp);
    }
  } else if (is(req, "GET", "faults")) {
    reply_wrapped(resp, "faults", emu_faults_json(e));
  } else if (is(req, "POST", "faults")) {
    fault_set(e, body, resp);
  } else if (is(req, "POST", "faults:clear") || is(req, "DELETE", "faults")) {
    const char *route = body ? jstr(body, "route") : NULL;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "cleared", emu_fault_clear(e, route));
    emu_reply_json(resp, 200, o);
  } else if (is(req, "GET", "counters")) {
    emu_reply_json(resp, 200, emu_counters_json(e));
  } else if (is(req, "POST", "counters:reset")) {
    emu_counters_reset(e);
    emu_reply_json(resp, 200, NULL);
  } else if (is(req, "GET", "scheduler/logs")) {
    reply_wrapped(resp, "entries",
                  emu_scheduler_logs_json(e, emu_req_query(req, "job")));
  } else if (is(req, "POST", "iap/assertion")) {
    emu_iap_assertion(e, body, resp);
  } else if (is(req, "GET", "metadata")) {
    emu_metadata_control(e, NULL, resp);
  } else if (is(req, "POST", "metadata")) {
    emu_metadata_control(e, body, resp);
  } else if (is(req, "GET", "requests")) {
    reply_wrapped(resp, "requests", emu_request_log_json(e));
  } else {
    emu_reply_google_error(resp, 404, "NOT_FOUND",
                           "no control route %.10s %.200s (see "
                           "docs/emulator.md)",
                           req->method, req->path);
  }
  cJSON_Delete(body);
  return 1;
}
