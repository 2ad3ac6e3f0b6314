/* testIamPermissions for any resource (the endpoint comes from
 * lib/iam_resource.c), its result, and waiting for a grant to propagate.
 *
 * Google answers {"permissions":[granted...]} and leaves the member out when
 * nothing is granted. A 403 or 404 on the call itself means the resource
 * does not exist or cannot be seen: that is a result (access DENIED /
 * NOT_FOUND), not "permission missing". */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "abi.h"
#include "credentials_internal.h"
#include "error_internal.h"
#include "http.h"
#include "iam_internal.h"
#include "iam_resource.h"
#include "json.h"
#include "retry.h"
#include "secret.h"

#define PERMISSION_MAX_BYTES 128u
#define DEFAULT_TIMEOUT_MS 600000
#define DEFAULT_INITIAL_WAIT_MS 2000
#define DEFAULT_MAX_WAIT_MS 30000
#define DEFAULT_MULTIPLIER 2.0
/* A check made at (or near) the deadline still gets this long. */
#define MIN_CHECK_TIMEOUT_MS 1000

struct gauth_iam_result {
  gauth_iam_access access;
  int http_status;
  char *detail;
  char *resource;
  char *url;
  size_t n;
  char **perms;
  gauth_iam_permission_state *states;
};

/* ---- permission names ---------------------------------------------------- */

/* The name for a message: itself when printable ASCII (it is at most
 * PERMISSION_MAX_BYTES by then). */
static const char *echo_permission(const char *p) {
  for (const char *c = p; *c; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
      return "(not shown: not printable)";
  return p;
}

static gauth_status bad_permission(gauth_error *err, const char *p,
                                   const char *why) {
  return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                          "permission \"%s\" %s: expected service.resource."
                          "verb, as in run.jobs.run",
                          echo_permission(p), why);
}

/* Checks the dot-separated parts: each a letter, then letters and digits;
 * the first (the service) lowercase letters and digits; at least three. */
static gauth_status check_parts(const char *p, gauth_error *err) {
  size_t parts = 0;
  for (const char *s = p;; s++) {
    size_t n = strcspn(s, ".");
    char first = s[0];
    if (n == 0) return bad_permission(err, p, "has an empty part");
    if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z')))
      return bad_permission(err, p,
                            "has a part that does not start with a "
                            "letter");
    for (size_t i = 0; parts == 0 && i < n; i++)
      if (s[i] >= 'A' && s[i] <= 'Z')
        return bad_permission(err, p,
                              "has upper case in its service part "
                              "(services are lower case)");
    parts++;
    s += n;
    if (*s == '\0') break;
  }
  if (parts < 3) return bad_permission(err, p, "has fewer than three parts");
  return GAUTH_OK;
}

gauth_status gauth_iam_permission_check(const char *permission,
                                        gauth_error *err) {
  size_t n;
  if (permission == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "permission is NULL");
  n = strlen(permission);
  if (n == 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "permission is empty: expected service.resource."
                            "verb, as in run.jobs.run");
  if (n > PERMISSION_MAX_BYTES)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "permission of %zu bytes is longer than %u", n,
                            PERMISSION_MAX_BYTES);
  if (strchr(permission, '*') != NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "permission \"%s\" has a wildcard: wildcards are "
                            "not permissions; testIamPermissions takes exact "
                            "names such as run.jobs.run",
                            echo_permission(permission));
  for (size_t i = 0; i < n; i++) {
    char c = permission[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.'))
      return bad_permission(err, permission,
                            "has a character other than "
                            "letters, digits and '.'");
  }
  return check_parts(permission, err);
}

gauth_status gauth__iam_permissions_prepare(const char *const *permissions,
                                            const char ***out, size_t *n,
                                            gauth_error *err) {
  size_t count = 0, k = 0;
  const char **list;
  *out = NULL;
  *n = 0;
  if (permissions == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "permissions is NULL");
  while (count <= GAUTH_IAM_MAX_PERMISSIONS && permissions[count] != NULL)
    count++;
  if (count == 0 || count > GAUTH_IAM_MAX_PERMISSIONS)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "%s: ask for 1 to %d permissions per call",
                            count ? "too many permissions" : "no permission",
                            GAUTH_IAM_MAX_PERMISSIONS);
  for (size_t i = 0; i < count; i++) {
    gauth_status st = gauth_iam_permission_check(permissions[i], err);
    if (st != GAUTH_OK) return st;
  }
  list = calloc(count, sizeof *list);
  if (list == NULL) return gauth__error_nomem(err);
  for (size_t i = 0; i < count; i++) {
    size_t j = 0;
    while (j < k && strcmp(list[j], permissions[i]) != 0) j++;
    if (j == k) list[k++] = permissions[i];
  }
  *out = list;
  *n = k;
  return GAUTH_OK;
}

/* ---- the result ---------------------------------------------------------- */

void gauth_iam_result_free(gauth_iam_result *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->n; i++) free(r->perms[i]);
  free(r->perms);
  free(r->states);
  free(r->detail);
  free(r->resource);
  free(r->url);
  free(r);
}

gauth_status gauth__iam_result_new(const char *resource, const char *url,
                                   const char *const *perms, size_t n,
                                   gauth_iam_result **out, gauth_error *err) {
  gauth_iam_result *r = calloc(1, sizeof *r);
  *out = NULL;
  if (r == NULL) return gauth__error_nomem(err);
  r->access = GAUTH_IAM_ACCESS_OK;
  r->http_status = 200;
  r->detail = gauth__strdup("");
  r->resource = gauth__strdup(resource ? resource : "");
  r->url = gauth__strdup(url ? url : "");
  r->perms = calloc(n ? n : 1, sizeof *r->perms);
  r->states = calloc(n ? n : 1, sizeof *r->states);
  if (!r->detail || !r->resource || !r->url || !r->perms || !r->states)
    goto nomem;
  for (; r->n < n; r->n++) {
    r->states[r->n] = GAUTH_IAM_MISSING;
    if ((r->perms[r->n] = gauth__strdup(perms[r->n])) == NULL) goto nomem;
  }
  *out = r;
  return GAUTH_OK;
nomem:
  gauth_iam_result_free(r);
  return gauth__error_nomem(err);
}

static size_t find_permission(const gauth_iam_result *r, const char *p) {
  size_t i = 0;
  while (i < r->n && strcmp(r->perms[i], p) != 0) i++;
  return i;
}

gauth_status gauth__iam_reply_apply(gauth_iam_result *r, const char *body,
                                    size_t len, gauth_error *err) {
  cJSON *root = NULL;
  const cJSON *list, *arr, *it;
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st = gauth__json_parse_object(body, len, NULL, &root, &e);
  if (st != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "the reply is not a JSON object: %s", e.message);
  list = cJSON_GetObjectItemCaseSensitive(root, "permissions");
  if (list != NULL && !cJSON_IsNull(list) && !cJSON_IsArray(list)) {
    st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                          "the reply's \"permissions\" is %s, expected an "
                          "array",
                          gauth__json_type_name(list));
    goto out;
  }
  /* Check everything first: a bad reply leaves r as it was. */
  arr = cJSON_IsArray(list) ? list : NULL;
  cJSON_ArrayForEach(it, arr) {
    if (!cJSON_IsString(it)) {
      st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "the reply's \"permissions\" holds %s, expected "
                            "strings",
                            gauth__json_type_name(it));
      goto out;
    }
    if (find_permission(r, it->valuestring) == r->n) {
      int named = gauth_iam_permission_check(it->valuestring, NULL) == 0;
      st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "the reply grants %s%s%s, which was not asked",
                            named ? "\"" : "a malformed permission",
                            named ? it->valuestring : "", named ? "\"" : "");
      goto out;
    }
  }
  cJSON_ArrayForEach(it, arr) r->states[find_permission(r, it->valuestring)] =
      GAUTH_IAM_GRANTED;
out:
  cJSON_Delete(root);
  return st;
}

gauth_status gauth__iam_result_refuse(gauth_iam_result *r,
                                      gauth_iam_access access, int http_status,
                                      const char *detail, gauth_error *err) {
  char *d = gauth__strdup(detail ? detail : "");
  if (d == NULL) return gauth__error_nomem(err);
  free(r->detail);
  r->detail = d;
  r->access = access;
  r->http_status = http_status;
  for (size_t i = 0; i < r->n; i++) r->states[i] = GAUTH_IAM_UNKNOWN;
  return GAUTH_OK;
}

gauth_iam_access gauth_iam_result_access(const gauth_iam_result *r) {
  return r ? r->access : GAUTH_IAM_ACCESS_OK;
}

int gauth_iam_result_http_status(const gauth_iam_result *r) {
  return r ? r->http_status : 0;
}

const char *gauth_iam_result_detail(const gauth_iam_result *r) {
  return r ? r->detail : "";
}

const char *gauth_iam_result_resource(const gauth_iam_result *r) {
  return r ? r->resource : "";
}

const char *gauth_iam_result_url(const gauth_iam_result *r) {
  return r ? r->url : "";
}

size_t gauth_iam_result_count(const gauth_iam_result *r) {
  return r ? r->n : 0;
}

const char *gauth_iam_result_permission(const gauth_iam_result *r, size_t i) {
  return (r && i < r->n) ? r->perms[i] : NULL;
}

gauth_iam_permission_state gauth_iam_result_state(const gauth_iam_result *r,
                                                  size_t i) {
  return (r && i < r->n) ? r->states[i] : GAUTH_IAM_UNKNOWN;
}

int gauth_iam_result_all_granted(const gauth_iam_result *r) {
  if (r == NULL || r->n == 0 || r->access != GAUTH_IAM_ACCESS_OK) return 0;
  for (size_t i = 0; i < r->n; i++)
    if (r->states[i] != GAUTH_IAM_GRANTED) return 0;
  return 1;
}

size_t gauth_iam_result_missing_count(const gauth_iam_result *r) {
  size_t k = 0;
  for (size_t i = 0; r != NULL && i < r->n; i++)
    if (r->states[i] == GAUTH_IAM_MISSING) k++;
  return k;
}

/* ---- the endpoint -------------------------------------------------------- */

gauth_status gauth_iam_endpoint(const gauth_options *opts, const char *resource,
                                char **out, gauth_error *err) {
  gauth__config cfg;
  gauth__iam_target t;
  gauth_status st;
  size_t len;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_iam_endpoint: out is NULL");
  *out = NULL;
  st = gauth__config_init(&cfg, opts, err);
  if (st != GAUTH_OK) return st;
  st = gauth__iam_target_resolve(&cfg, resource, &t, err);
  gauth__config_cleanup(&cfg);
  if (st != GAUTH_OK) return st;
  len = strlen(t.url) + sizeof "POST ";
  *out = malloc(len);
  if (*out == NULL) {
    gauth__iam_target_cleanup(&t);
    return gauth__error_nomem(err);
  }
  snprintf(*out, len, "%s %s", t.method == GAUTH__IAM_GET ? "GET" : "POST",
           t.url);
  gauth__iam_target_cleanup(&t);
  gauth_error_clear(err);
  return GAUTH_OK;
}

/* ---- one call ------------------------------------------------------------ */

/* What one call needs, validated once. */
typedef struct call {
  gauth_credentials *creds;
  const char *resource;
  gauth__iam_target target;
  const char **perms; /* distinct, borrowed from the caller */
  size_t n;
} call;

static void call_cleanup(call *c) {
  gauth__iam_target_cleanup(&c->target);
  free(c->perms);
  memset(c, 0, sizeof *c);
}

static gauth_status call_init(call *c, gauth_credentials *creds,
                              const char *resource,
                              const char *const *permissions,
                              gauth_error *err) {
  gauth_status st;
  memset(c, 0, sizeof *c);
  if (creds == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "testIamPermissions: credentials is NULL");
  st = gauth__iam_permissions_prepare(permissions, &c->perms, &c->n, err);
  if (st == GAUTH_OK)
    st = gauth__iam_target_resolve(gauth__credentials_config(creds), resource,
                                   &c->target, err);
  if (st != GAUTH_OK) {
    call_cleanup(c);
    return st;
  }
  c->creds = creds;
  c->resource = resource;
  return GAUTH_OK;
}

/* The request's URL and body (one of them carries the permissions). */
static gauth_status build_request(const call *c, char **url, char **body,
                                  gauth_error *err) {
  cJSON *o, *arr;
  *url = NULL;
  *body = NULL;
  if (c->target.method == GAUTH__IAM_GET)
    return gauth__iam_query_url(c->target.url, c->perms, c->n, url, err);
  o = cJSON_CreateObject();
  arr = o ? cJSON_AddArrayToObject(o, "permissions") : NULL;
  for (size_t i = 0; arr != NULL && i < c->n; i++)
    if (!cJSON_AddItemToArray(arr, cJSON_CreateString(c->perms[i]))) arr = NULL;
  if (arr != NULL) *body = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (*body == NULL) return gauth__error_nomem(err);
  return GAUTH_OK;
}

/* The server's part of a transport message ("... HTTP 403 X: y" -> "X: y"). */
static const char *server_part(const char *msg, long status) {
  char needle[24];
  const char *p;
  snprintf(needle, sizeof needle, "HTTP %ld", status);
  p = strstr(msg, needle);
  if (p == NULL) return msg;
  p += strlen(needle);
  while (*p == ' ' || *p == ':') p++;
  return *p ? p : msg;
}

/* Sends the request and fills r from the reply. */
static gauth_status exchange(const call *c, gauth__http_request *req,
                             gauth_iam_result *r, gauth_error *err) {
  gauth__http_response resp;
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st =
      gauth__http_do(gauth__credentials_http(c->creds), req, &resp, &e);
  if (st == GAUTH_OK) {
    st = gauth__iam_reply_apply(r, resp.body, resp.body_len, &e);
    if (st != GAUTH_OK)
      gauth__error_prefix(&e, "%s %s", req->method, c->target.url);
  } else if (resp.status == 403 || resp.status == 404) {
    st = gauth__iam_result_refuse(
        r,
        resp.status == 403 ? GAUTH_IAM_ACCESS_DENIED
                           : GAUTH_IAM_ACCESS_NOT_FOUND,
        (int)resp.status, server_part(e.message, resp.status), &e);
  }
  gauth__http_response_cleanup(&resp);
  if (st != GAUTH_OK) gauth__error_copy(err, &e);
  return st;
}

/* One testIamPermissions call. timeout_ms / no_retry: for the request. */
static gauth_status check_once(const call *c, unsigned timeout_ms, int no_retry,
                               gauth_iam_result **out, gauth_error *err) {
  gauth__http_request req;
  gauth_iam_result *r = NULL;
  char **headers = NULL, *token = NULL, *url = NULL, *body = NULL;
  const char *secrets[2] = {NULL, NULL};
  gauth_status st;
  *out = NULL;
  st = gauth__iam_result_new(c->resource, c->target.url, c->perms, c->n, &r,
                             err);
  if (st != GAUTH_OK) return st;
  st = gauth__credentials_auth_headers(c->creds, &headers, &token, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err,
                        "testIamPermissions on %s: the credentials' "
                        "token",
                        c->resource);
    goto out;
  }
  st = build_request(c, &url, &body, err);
  if (st != GAUTH_OK) goto out;
  secrets[0] = token;
  memset(&req, 0, sizeof req);
  req.method = c->target.method == GAUTH__IAM_GET ? "GET" : "POST";
  req.url = url ? url : c->target.url;
  req.headers = (const char *const *)headers;
  req.body = body;
  req.body_len = body ? strlen(body) : 0;
  req.content_type = body ? "application/json" : NULL;
  req.secrets = secrets;
  req.timeout_ms = timeout_ms;
  req.no_retry = no_retry;
  st = exchange(c, &req, r, err);
  if (st != GAUTH_OK)
    gauth__error_prefix(err, "testIamPermissions on %s", c->resource);
out:
  gauth__auth_headers_free(headers, token);
  free(url);
  cJSON_free(body);
  if (st != GAUTH_OK) {
    gauth_iam_result_free(r);
    return st;
  }
  *out = r;
  return GAUTH_OK;
}

gauth_status gauth_iam_test_permissions(gauth_credentials *creds,
                                        const char *resource,
                                        const char *const *permissions,
                                        gauth_iam_result **out,
                                        gauth_error *err) {
  call c;
  gauth_status st;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_iam_test_permissions: out is NULL");
  *out = NULL;
  st = call_init(&c, creds, resource, permissions, err);
  if (st != GAUTH_OK) return st;
  st = check_once(&c, 0, 0, out, err);
  call_cleanup(&c);
  if (st == GAUTH_OK) gauth_error_clear(err);
  return st;
}

/* ---- waiting ------------------------------------------------------------- */

gauth_status gauth__iam_wait_resolve(const gauth_iam_wait_options *in,
                                     gauth__iam_wait_cfg *out,
                                     gauth_error *err) {
  gauth_iam_wait_options full = GAUTH_IAM_WAIT_OPTIONS_INIT;
  gauth_status st;
  memset(out, 0, sizeof *out);
  /* Read by the caller's version (abi.h). */
  if (in != NULL) {
    st = gauth__abi_read(&full, sizeof(full), in, &gauth__abi_iam_wait_options,
                         err);
    if (st != GAUTH_OK) return st;
  }
  in = &full;
  if (in->multiplier != 0.0 &&
      (!isfinite(in->multiplier) || in->multiplier < 1.0))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_iam_wait_options.multiplier must be 0 "
                            "(the default, 2) or a finite number >= 1");
  out->timeout_ms = in->timeout_ms ? in->timeout_ms : DEFAULT_TIMEOUT_MS;
  out->initial_ms =
      in->initial_wait_ms ? in->initial_wait_ms : DEFAULT_INITIAL_WAIT_MS;
  out->max_ms = in->max_wait_ms ? in->max_wait_ms : DEFAULT_MAX_WAIT_MS;
  out->multiplier = in->multiplier != 0.0 ? in->multiplier : DEFAULT_MULTIPLIER;
  out->progress = in->progress;
  out->userdata = in->userdata;
  return GAUTH_OK;
}

int64_t gauth__iam_backoff_ms(const gauth__iam_wait_cfg *c, unsigned n,
                              uint64_t *rng) {
  gauth_retry_policy p;
  uint32_t w, lo;
  memset(&p, 0, sizeof p);
  p.initial_backoff_ms = (unsigned)c->initial_ms;
  p.max_backoff_ms = (unsigned)c->max_ms;
  p.multiplier = c->multiplier;
  w = gauth__backoff_cap_ms(&p, n + 1);
  if (rng == NULL) return w;
  lo = w / 2;
  return (int64_t)lo +
         (int64_t)(gauth__rng_next(rng) % ((uint64_t)(w - lo) + 1));
}

int gauth__iam_transient(gauth_status st) {
  return st == GAUTH_E_RATE_LIMITED || st == GAUTH_E_UNAVAILABLE ||
         st == GAUTH_E_NETWORK || st == GAUTH_E_TIMEOUT;
}

/* The state of one wait. */
typedef struct waiter {
  const gauth__iam_wait_ops *ops;
  const gauth__iam_wait_cfg *cfg;
  int64_t start, deadline, now;
  unsigned attempt;
  uint64_t rng;
  gauth_iam_result *last; /* the last answer */
  gauth_error e;          /* the last check's error */
} waiter;

/* Reports check `attempt`; the callback's verdict (0: go on). */
static int report(const waiter *w, gauth_status st, const gauth_iam_result *r,
                  int64_t next_wait) {
  gauth_iam_progress p;
  if (w->cfg->progress == NULL) return 0;
  p.attempt = w->attempt;
  p.elapsed_ms = w->now - w->start;
  p.result = st == GAUTH_OK ? r : NULL;
  p.status = st;
  p.error = st == GAUTH_OK ? NULL : &w->e;
  p.next_wait_ms = next_wait;
  return w->cfg->progress(&p, w->cfg->userdata);
}

/* "a, b, c" of the permissions still missing in r, cut to fit. */
static void missing_list(const gauth_iam_result *r, char *buf, size_t size) {
  size_t used = 0, shown = 0, total = gauth_iam_result_missing_count(r);
  buf[0] = '\0';
  for (size_t i = 0; i < r->n; i++) {
    size_t need;
    if (r->states[i] != GAUTH_IAM_MISSING) continue;
    need = strlen(r->perms[i]) + 2;
    if (used + need + 24 >= size) {
      snprintf(buf + used, size - used, "%sand %zu more", used ? ", " : "",
               total - shown);
      return;
    }
    used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                             r->perms[i]);
    shown++;
  }
}

/* The resource for a wait's message: itself unless it would crowd out the
 * list of missing permissions. */
static const char *short_resource(const waiter *w) {
  return strlen(w->ops->resource) <= 120 ? w->ops->resource : "the resource";
}

/* The deadline passed (or the callback stopped the wait). */
static gauth_status timed_out(const waiter *w, int stopped, gauth_error *err) {
  char list[300];
  char why[80];
  double secs = (double)(w->now - w->start) / 1000.0;
  if (stopped)
    snprintf(why, sizeof why, "stopped by the progress callback");
  else
    snprintf(why, sizeof why, "deadline of %.1f s passed",
             (double)w->cfg->timeout_ms / 1000.0);
  if (w->last == NULL)
    return gauth__error_set(err, GAUTH_E_TIMEOUT,
                            "waiting for permissions on %s: %s after %u "
                            "checks in %.1f s, none answered; the last: %s",
                            short_resource(w), why, w->attempt, secs,
                            w->e.message);
  missing_list(w->last, list, sizeof list);
  return gauth__error_set(err, GAUTH_E_TIMEOUT,
                          "waiting for permissions on %s: %s after %u checks "
                          "in %.1f s; still missing: %s",
                          short_resource(w), why, w->attempt, secs, list);
}

/* A refused call ends the wait: an error, the result kept. */
static gauth_status refused(const waiter *w, gauth_error *err) {
  const gauth_iam_result *r = w->last;
  return gauth__error_set_http(
      err,
      r->access == GAUTH_IAM_ACCESS_DENIED ? GAUTH_E_PERMISSION_DENIED
                                           : GAUTH_E_NOT_FOUND,
      r->http_status, NULL,
      "testIamPermissions on %s was refused (HTTP %d: %s): the resource does "
      "not exist or the caller cannot see it",
      short_resource(w), r->http_status, r->detail);
}

/* One check and what follows. 1: the wait is over, *st says how. */
static int step(waiter *w, gauth_status *st, gauth_error *err) {
  gauth_iam_result *r = NULL;
  int64_t wait;
  w->attempt++;
  gauth_error_clear(&w->e);
  *st = w->ops->check(w->ops->ctx, w->deadline - w->now, &r, &w->e);
  w->now = w->ops->now_ms(w->ops->ctx);
  if (*st == GAUTH_OK) {
    gauth_iam_result_free(w->last);
    w->last = r;
  }
  if ((*st == GAUTH_OK &&
       (gauth_iam_result_all_granted(r) || r->access != GAUTH_IAM_ACCESS_OK)) ||
      (*st != GAUTH_OK && !gauth__iam_transient(*st))) {
    report(w, *st, r, 0);
    if (*st != GAUTH_OK)
      gauth__error_copy(err, &w->e);
    else if (r->access != GAUTH_IAM_ACCESS_OK)
      *st = refused(w, err);
    return 1;
  }
  if (w->now >= w->deadline) {
    report(w, *st, r, 0);
    *st = timed_out(w, 0, err);
    return 1;
  }
  wait = gauth__iam_backoff_ms(w->cfg, w->attempt - 1, &w->rng);
  if (wait > w->deadline - w->now) wait = w->deadline - w->now;
  if (report(w, *st, r, wait) != 0) {
    *st = timed_out(w, 1, err);
    return 1;
  }
  if (wait > 0) w->ops->sleep_ms(w->ops->ctx, wait);
  w->now = w->ops->now_ms(w->ops->ctx);
  return 0;
}

gauth_status gauth__iam_wait_run(const gauth__iam_wait_ops *ops,
                                 const gauth__iam_wait_cfg *cfg,
                                 gauth_iam_result **out, int64_t *elapsed_ms,
                                 gauth_error *err) {
  waiter w;
  gauth_status st = GAUTH_OK;
  memset(&w, 0, sizeof w);
  w.ops = ops;
  w.cfg = cfg;
  w.start = w.now = ops->now_ms(ops->ctx);
  w.deadline = w.start + cfg->timeout_ms;
  w.rng = ops->rng_seed;
  if (w.rng == 0 && RAND_bytes((unsigned char *)&w.rng, sizeof w.rng) != 1)
    w.rng = (uint64_t)w.start ^ (uint64_t)(uintptr_t)&w;
  while (!step(&w, &st, err)) {
  }
  if (elapsed_ms != NULL) *elapsed_ms = w.now - w.start;
  if (out != NULL)
    *out = w.last;
  else
    gauth_iam_result_free(w.last);
  if (st == GAUTH_OK) gauth_error_clear(err);
  return st;
}

/* ---- the real world: the network, CLOCK_MONOTONIC, sleeping -------------- */

static int64_t mono_ms(void *ctx) {
  (void)ctx;
  return gauth__mono_ms();
}

static void mono_sleep(void *ctx, int64_t ms) {
  (void)ctx;
  gauth__sleep_ms(ms);
}

/* A check within a wait: one attempt (the wait is the retry loop), which
 * may not run long past the deadline. */
static gauth_status wait_check(void *ctx, int64_t left_ms,
                               gauth_iam_result **out, gauth_error *err) {
  const call *c = ctx;
  unsigned cap = gauth__credentials_config(c->creds)->timeout_ms;
  if (left_ms < MIN_CHECK_TIMEOUT_MS) left_ms = MIN_CHECK_TIMEOUT_MS;
  if ((int64_t)cap > left_ms) cap = (unsigned)left_ms;
  return check_once(c, cap, 1, out, err);
}

gauth_status gauth_iam_wait_permissions(gauth_credentials *creds,
                                        const char *resource,
                                        const char *const *permissions,
                                        const gauth_iam_wait_options *opts,
                                        gauth_iam_result **out,
                                        int64_t *elapsed_ms, gauth_error *err) {
  gauth__iam_wait_cfg cfg;
  gauth__iam_wait_ops ops;
  call c;
  gauth_status st;
  if (out != NULL) *out = NULL;
  if (elapsed_ms != NULL) *elapsed_ms = 0;
  st = gauth__iam_wait_resolve(opts, &cfg, err);
  if (st != GAUTH_OK) return st;
  st = call_init(&c, creds, resource, permissions, err);
  if (st != GAUTH_OK) return st;
  memset(&ops, 0, sizeof ops);
  ops.check = wait_check;
  ops.now_ms = mono_ms;
  ops.sleep_ms = mono_sleep;
  ops.ctx = &c;
  ops.resource = resource;
  st = gauth__iam_wait_run(&ops, &cfg, out, elapsed_ms, err);
  call_cleanup(&c);
  return st;
}
