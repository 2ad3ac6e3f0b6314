/* gauth-emulator: the reads a diagnosis needs, at Google's paths and in
 * Google's shapes. Cloud Run Admin API v2 services and jobs (get, list,
 * getIamPolicy, setIamPolicy), IAM v1 service accounts (get, list,
 * getIamPolicy, setIamPolicy), Resource Manager v1 / v3 project policies
 * (getIamPolicy, setIamPolicy) and IAM v1 role definitions (roles.get for
 * predefined roles and the config's project roles).
 *
 * Every route takes an OAuth access token (an ID token is the 401 Google
 * gives it) and checks the permission Google's API checks, before it says
 * whether the resource exists, as Google does. A policy read shows the
 * bindings set on exactly that resource at once; what setIamPolicy changes
 * takes effect for permission checks only after the world's IAM
 * propagation delay: the gap a diagnosis must be able to see. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#endif

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "emulator.h"

#define SCOPE_CLOUD_RO \
  "https://www.googleapis.com/auth/cloud-platform.read-only"
#define SCOPE_IAM "https://www.googleapis.com/auth/iam"

/* Cloud Run Admin v2 takes cloud-platform; a 403 for a token without it
 * names the scope. */
static const char *const run_scopes[] = {GAUTH_SCOPE_CLOUD_PLATFORM, NULL};
static const emu_token_need run_need = {run_scopes, 0,
                                        GAUTH_SCOPE_CLOUD_PLATFORM};
/* IAM v1: cloud-platform or iam. */
static const char *const iam_scopes[] = {GAUTH_SCOPE_CLOUD_PLATFORM, SCOPE_IAM,
                                         NULL};
static const emu_token_need iam_need = {iam_scopes, 1, NULL};
/* Resource Manager: reads with the read-only scope too; writes not. */
static const char *const crm_read_scopes[] = {GAUTH_SCOPE_CLOUD_PLATFORM,
                                              SCOPE_CLOUD_RO, NULL};
static const emu_token_need crm_read_need = {crm_read_scopes, 1, NULL};
static const emu_token_need crm_write_need = {run_scopes, 1, NULL};

/* Page sizes: Cloud Run's lists, IAM's service-account list. */
#define RUN_PAGE_DEFAULT 100
#define RUN_PAGE_MAX 1000
#define SA_PAGE_DEFAULT 20
#define SA_PAGE_MAX 100

/* ---- small helpers --------------------------------------------------------
 */

static void rfc3339(int64_t t, char *out, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

static void sha256(const char *s, unsigned char md[32]) {
  unsigned int len = 0;
  EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
}

/* A stable UUID (version 4 layout) for a resource name: its uid. */
static void stable_uuid(const char *name, char out[37]) {
  unsigned char r[32];
  sha256(name, r);
  emu_uuid_format(r, out);
}

/* A stable opaque etag for a resource that does not change: base64 of a
 * hash of its name (and a salt). */
static void stable_etag(const char *name, const char *salt, char out[24]) {
  unsigned char md[32];
  char buf[600];
  snprintf(buf, sizeof buf, "%s|%s", salt, name);
  sha256(buf, md);
  EVP_EncodeBlock((unsigned char *)out, md, 15);
}

static const char *short_of(const char *full) {
  const char *slash = strrchr(full, '/');
  return slash ? slash + 1 : full;
}

/* The project id when p is the world's id or number, else NULL. */
static const char *world_project(emu *e, const char *p) {
  if (strcmp(p, emu_project_id(e)) == 0 ||
      strcmp(p, emu_project_number(e)) == 0)
    return emu_project_id(e);
  return NULL;
}

/* The caller's IAM member. */
static void caller_member(emu *e, const emu_bearer *b, char *out, size_t n) {
  emu_member_of(e, b->email, out, n);
}

static int is_method(const emu_request *req, const char *m) {
  return strcmp(req->method, m) == 0;
}

/* pageSize and pageToken: 1 with the first index and the page's size, or 0
 * after a 400. The token is the next index, opaque to clients. */
static int page_params(const emu_request *req, emu_response *resp, size_t def,
                       size_t max, size_t *start, size_t *size) {
  const char *ps = emu_req_query(req, "pageSize");
  const char *pt = emu_req_query(req, "pageToken");
  *start = 0;
  *size = def;
  if (ps != NULL && ps[0] != '\0') {
    char *end;
    long v = strtol(ps, &end, 10);
    if (*end != '\0' || v < 0) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Invalid value at 'page_size' (TYPE_INT32), "
                             "\"%.40s\"",
                             ps);
      return 0;
    }
    if (v > 0) *size = (size_t)v > max ? max : (size_t)v;
  }
  if (pt != NULL && pt[0] != '\0') {
    char *end;
    unsigned long v;
    if (strncmp(pt, "emu-", 4) != 0 || !isdigit((unsigned char)pt[4]) ||
        (v = strtoul(pt + 4, &end, 10), *end != '\0') || v > 1000000) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Invalid page token.");
      return 0;
    }
    *start = (size_t)v;
  }
  return 1;
}

static void add_next_page(cJSON *o, size_t next, size_t total) {
  char tok[32];
  if (next >= total) return;
  snprintf(tok, sizeof tok, "emu-%zu", next);
  cJSON_AddStringToObject(o, "nextPageToken", tok);
}

/* ---- policies: setIamPolicy's body ------------------------------------ */

static int member_ok(const char *m) {
  static const char *const prefixes[] = {
      "serviceAccount:", "user:",           "group:", "domain:",
      "principal://",    "principalSet://", NULL};
  if (strcmp(m, "allUsers") == 0 || strcmp(m, "allAuthenticatedUsers") == 0)
    return 1;
  for (size_t i = 0; prefixes[i] != NULL; i++) {
    size_t n = strlen(prefixes[i]);
    if (strncmp(m, prefixes[i], n) == 0 && m[n] != '\0') return 1;
  }
  return 0;
}

/* A serviceAccount: member of the world's project that the world does not
 * have: Google refuses to bind it. */
static int member_unknown_account(emu *e, const char *m) {
  char domain[200];
  const char *email, *at;
  if (strncmp(m, "serviceAccount:", 15) != 0) return 0;
  email = m + 15;
  at = strchr(email, '@');
  snprintf(domain, sizeof domain, "@%s.iam.gserviceaccount.com",
           emu_project_id(e));
  return at != NULL && strcmp(at, domain) == 0 &&
         emu_account_find(e, email) == NULL;
}

/* One binding of the new policy: 1, or 0 after a 400. */
static int binding_ok(emu *e, const cJSON *b, size_t i, emu_response *resp) {
  const cJSON *role = cJSON_GetObjectItemCaseSensitive(b, "role");
  const cJSON *members = cJSON_GetObjectItemCaseSensitive(b, "members");
  const cJSON *cond = cJSON_GetObjectItemCaseSensitive(b, "condition");
  const cJSON *m;
  if (!cJSON_IsObject(b) || !cJSON_IsString(role) ||
      (members != NULL && !cJSON_IsArray(members))) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value at 'policy.bindings[%zu]': give "
                           "\"role\" and \"members\"",
                           i);
    return 0;
  }
  if (cond != NULL && !cJSON_IsNull(cond)) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "IAM Conditions are not modelled by "
                           "gauth-emulator: policy.bindings[%zu] (%.200s) "
                           "has a condition.",
                           i, role->valuestring);
    return 0;
  }
  if (!emu_role_exists(e, role->valuestring)) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Role %.200s is not supported for this resource.",
                           role->valuestring);
    return 0;
  }
  cJSON_ArrayForEach(m, members) {
    if (!cJSON_IsString(m) || !member_ok(m->valuestring)) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Invalid member: %.200s",
                             cJSON_IsString(m) ? m->valuestring
                                               : "(not a "
                                                 "string)");
      return 0;
    }
    if (member_unknown_account(e, m->valuestring)) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Service account %.200s does not exist.",
                             m->valuestring + 15);
      return 0;
    }
  }
  return 1;
}

/* The new policy of a setIamPolicy body: its bindings (an empty array when
 * it has none: every binding goes) and etag. NULL after a 400. *keep: the
 * updateMask leaves the bindings as they are. The result is a new array:
 * cJSON_Delete it. */
static cJSON *policy_of_body(emu *e, const emu_request *req, emu_response *resp,
                             char *etag, size_t etag_n, int *keep) {
  cJSON *body = emu_req_json(req);
  const cJSON *policy = cJSON_GetObjectItemCaseSensitive(body, "policy");
  const cJSON *bindings, *audit, *et, *mask, *b;
  cJSON *out = NULL;
  size_t i = 0;
  *keep = 0;
  etag[0] = '\0';
  if (body == NULL) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid JSON payload received.");
    return NULL;
  }
  if (!cJSON_IsObject(policy)) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value at 'policy': a Policy object is "
                           "required.");
    goto out;
  }
  audit = cJSON_GetObjectItemCaseSensitive(policy, "auditConfigs");
  if (cJSON_GetArraySize(audit) > 0) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Audit configs are not modelled by "
                           "gauth-emulator: remove policy.auditConfigs.");
    goto out;
  }
  et = cJSON_GetObjectItemCaseSensitive(policy, "etag");
  if (et != NULL && !cJSON_IsString(et)) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value at 'policy.etag' (TYPE_BYTES)");
    goto out;
  }
  if (et != NULL) snprintf(etag, etag_n, "%s", et->valuestring);
  bindings = cJSON_GetObjectItemCaseSensitive(policy, "bindings");
  if (bindings != NULL && !cJSON_IsArray(bindings)) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value at 'policy.bindings'");
    goto out;
  }
  cJSON_ArrayForEach(b, bindings) {
    if (!binding_ok(e, b, i++, resp)) goto out;
  }
  mask = cJSON_GetObjectItemCaseSensitive(body, "updateMask");
  if (mask != NULL &&
      (!cJSON_IsString(mask) || strstr(mask->valuestring, "bindings") == NULL))
    *keep = 1;
  out = bindings != NULL ? cJSON_Duplicate(bindings, 1) : cJSON_CreateArray();
out:
  cJSON_Delete(body);
  return out;
}

/* setIamPolicy on resource (the caller checked the permission and that it
 * exists). */
static void set_policy(emu *e, const emu_request *req, emu_response *resp,
                       const char *resource) {
  char etag[128];
  int keep = 0;
  cJSON *bindings = policy_of_body(e, req, resp, etag, sizeof etag, &keep);
  cJSON *out = NULL;
  if (bindings == NULL) return;
  if (keep) {
    emu_reply_json(resp, 200, emu_policy_of(e, resource));
  } else if (emu_policy_set(e, resource, bindings, etag, &out) != 0) {
    emu_reply_google_error(resp, 409, "ABORTED",
                           "There were concurrent policy changes. Please "
                           "retry the whole read-modify-write with "
                           "exponential backoff.");
  } else {
    emu_reply_json(resp, 200, out);
  }
  cJSON_Delete(bindings);
}

/* ---- Cloud Run Admin API v2 -------------------------------------------- */

static cJSON *condition_ready(int64_t t) {
  char when[40];
  cJSON *c = cJSON_CreateObject();
  rfc3339(t, when, sizeof when);
  cJSON_AddStringToObject(c, "type", "Ready");
  cJSON_AddStringToObject(c, "state", "CONDITION_SUCCEEDED");
  cJSON_AddStringToObject(c, "lastTransitionTime", when);
  return c;
}

/* The fields every Cloud Run resource has. */
static void add_common(emu *e, cJSON *o, const char *full) {
  char uid[37], when[40], etag[24];
  stable_uuid(full, uid);
  stable_etag(full, "run", etag);
  rfc3339(emu_world_created(e), when, sizeof when);
  cJSON_AddStringToObject(o, "name", full);
  cJSON_AddStringToObject(o, "uid", uid);
  cJSON_AddStringToObject(o, "generation", "1");
  cJSON_AddStringToObject(o, "createTime", when);
  cJSON_AddStringToObject(o, "updateTime", when);
  cJSON_AddStringToObject(o, "launchStage", "GA");
  cJSON_AddStringToObject(o, "observedGeneration", "1");
  cJSON_AddItemToObject(o, "terminalCondition",
                        condition_ready(emu_world_created(e)));
  cJSON_AddStringToObject(o, "etag", etag);
}

static cJSON *container(void) {
  cJSON *arr = cJSON_CreateArray(), *c = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "image",
                          "us-docker.pkg.dev/cloudrun/container/hello");
  cJSON_AddItemToArray(arr, c);
  return arr;
}

static cJSON *service_json(emu *e, const char *full) {
  const char *svc = short_of(full);
  cJSON *o = cJSON_CreateObject(), *t, *urls, *traffic, *tt;
  char *uri = emu_service_url(e, svc), *alt = emu_service_url_alt(e, svc);
  const char *const *custom = emu_service_custom_audiences(e, full);
  char rev[600];
  unsigned char md[32];
  add_common(e, o, full);
  cJSON_AddStringToObject(o, "ingress", "INGRESS_TRAFFIC_ALL");
  t = cJSON_AddObjectToObject(o, "template");
  cJSON_AddStringToObject(t, "serviceAccount", emu_service_account_of(e, full));
  cJSON_AddItemToObject(t, "containers", container());
  cJSON_AddStringToObject(t, "timeout", "300s");
  cJSON_AddNumberToObject(t, "maxInstanceRequestConcurrency", 80);
  traffic = cJSON_AddArrayToObject(o, "traffic");
  tt = cJSON_CreateObject();
  cJSON_AddStringToObject(tt, "type", "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST");
  cJSON_AddNumberToObject(tt, "percent", 100);
  cJSON_AddItemToArray(traffic, tt);
  sha256(full, md);
  snprintf(rev, sizeof rev, "%s-00001-%c%c%c", svc, 'a' + md[0] % 26,
           'a' + md[1] % 26, 'a' + md[2] % 26);
  cJSON_AddStringToObject(o, "latestReadyRevision", rev);
  cJSON_AddStringToObject(o, "latestCreatedRevision", rev);
  cJSON_AddStringToObject(o, "uri", uri);
  urls = cJSON_AddArrayToObject(o, "urls");
  cJSON_AddItemToArray(urls, cJSON_CreateString(uri));
  cJSON_AddItemToArray(urls, cJSON_CreateString(alt));
  if (custom != NULL && custom[0] != NULL) {
    cJSON *ca = cJSON_AddArrayToObject(o, "customAudiences");
    for (size_t i = 0; custom[i] != NULL; i++)
      cJSON_AddItemToArray(ca, cJSON_CreateString(custom[i]));
  }
  free(uri);
  free(alt);
  return o;
}

static cJSON *job_json(emu *e, const char *full) {
  cJSON *o = cJSON_CreateObject(), *t, *tt;
  char exec[900];
  int64_t created = 0;
  unsigned long count = emu_execution_count(e, full);
  add_common(e, o, full);
  t = cJSON_AddObjectToObject(o, "template");
  cJSON_AddNumberToObject(t, "taskCount", 1);
  tt = cJSON_AddObjectToObject(t, "template");
  cJSON_AddItemToObject(tt, "containers", container());
  cJSON_AddNumberToObject(tt, "maxRetries", 3);
  cJSON_AddStringToObject(tt, "timeout", "600s");
  cJSON_AddStringToObject(tt, "serviceAccount", emu_metadata_account(e));
  /* proto3 JSON leaves out zero: no executionCount before the first run. */
  if (count > 0) cJSON_AddNumberToObject(o, "executionCount", (double)count);
  if (emu_job_latest_execution(e, full, exec, sizeof exec, &created)) {
    char when[40];
    cJSON *x = cJSON_AddObjectToObject(o, "latestCreatedExecution");
    rfc3339(created, when, sizeof when);
    cJSON_AddStringToObject(x, "name", exec);
    cJSON_AddStringToObject(x, "createTime", when);
    /* The emulator runs nothing: an execution has succeeded as soon as it
     * was created. */
    cJSON_AddStringToObject(x, "completionTime", when);
    cJSON_AddStringToObject(x, "completionStatus", "EXECUTION_SUCCEEDED");
  }
  return o;
}

typedef struct run_kind {
  const char *plural;     /* "services" */
  const char *perm_noun;  /* "run.services" */
  const char *not_found;  /* "SERVICE" */
  const char *list_field; /* "services" */
} run_kind;

static const run_kind run_services = {"services", "run.services", "SERVICE",
                                      "services"};
static const run_kind run_jobs = {"jobs", "run.jobs", "JOB", "jobs"};

/* 1 when the caller holds run.KIND.VERB on resource; else the 403. */
static int run_allowed(emu *e, emu_response *resp, const emu_bearer *b,
                       const run_kind *k, const char *verb,
                       const char *resource) {
  char perm[80], member[300];
  snprintf(perm, sizeof perm, "%s.%s", k->perm_noun, verb);
  caller_member(e, b, member, sizeof member);
  if (emu_has_permission(e, resource, member, perm)) return 1;
  emu_reply_run_permission_denied(resp, perm, resource);
  return 0;
}

/* GET /v2/projects/P/locations/L/KIND */
static void run_list(emu *e, const emu_request *req, emu_response *resp,
                     const run_kind *k, const char *p, const char *l) {
  emu_bearer b;
  char parent[300];
  size_t start, size, total, shown = 0, i;
  cJSON *o, *arr = NULL;
  const char *proj = world_project(e, p);
  int here;
  if (!is_method(req, "GET")) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  if (!emu_require_access_token(e, req, resp, &run_need, &b)) return;
  snprintf(parent, sizeof parent, "projects/%s/locations/%s", proj ? proj : p,
           l);
  if (!run_allowed(e, resp, &b, k, "list", parent)) return;
  if (!page_params(req, resp, RUN_PAGE_DEFAULT, RUN_PAGE_MAX, &start, &size))
    return;
  /* "-" lists every location; another location than the region has
   * nothing. */
  here = proj != NULL && (strcmp(l, emu_region(e)) == 0 || strcmp(l, "-") == 0);
  total = !here                ? 0
          : k == &run_services ? emu_run_service_count(e)
                               : emu_run_job_count(e);
  o = cJSON_CreateObject();
  for (i = start; i < total && shown < size; i++, shown++) {
    const char *full =
        k == &run_services ? emu_run_service_at(e, i) : emu_run_job_at(e, i);
    if (arr == NULL) arr = cJSON_AddArrayToObject(o, k->list_field);
    cJSON_AddItemToArray(
        arr, k == &run_services ? service_json(e, full) : job_json(e, full));
  }
  add_next_page(o, i, total);
  emu_reply_json(resp, 200, o);
}

/* /v2/projects/P/locations/L/KIND/N[:getIamPolicy|:setIamPolicy] */
static void run_one(emu *e, const emu_request *req, emu_response *resp,
                    const run_kind *k, const char *p, const char *l,
                    const char *n, const char *verb) {
  emu_bearer b;
  char full[400];
  const char *proj = world_project(e, p);
  const char *method = verb == NULL                        ? "GET"
                       : strcmp(verb, "getIamPolicy") == 0 ? "GET"
                                                           : "POST";
  const char *perm = verb == NULL ? "get" : verb;
  int exists;
  if (!is_method(req, method)) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  if (!emu_require_access_token(e, req, resp, &run_need, &b)) return;
  snprintf(full, sizeof full, "projects/%s/locations/%s/%s/%s", proj ? proj : p,
           l, k->plural, n);
  /* The permission first: without it a missing resource is a 403 too. */
  if (!run_allowed(e, resp, &b, k, perm, full)) return;
  exists = proj != NULL && (k == &run_services ? emu_run_service_exists(e, full)
                                               : emu_run_job_exists(e, full));
  if (!exists) {
    emu_reply_run_not_found(resp, k->not_found, n, l, p);
  } else if (verb == NULL) {
    emu_reply_json(
        resp, 200,
        k == &run_services ? service_json(e, full) : job_json(e, full));
  } else if (strcmp(verb, "getIamPolicy") == 0) {
    emu_reply_json(resp, 200, emu_policy_of(e, full));
  } else {
    set_policy(e, req, resp, full);
  }
}

static int route_run_v2(emu *e, const emu_request *req, emu_response *resp) {
  char p[101], l[101], kind[16], n[101], verb[32];
  int used = 0;
  const char *path = req->path, *rest;
  const run_kind *k;
  if (strlen(path) > 400) return 0;
  if (sscanf(path, "/v2/projects/%100[^/]/locations/%100[^/]/%15[^/]%n", p, l,
             kind, &used) != 3)
    return 0;
  if (strcmp(kind, "services") == 0)
    k = &run_services;
  else if (strcmp(kind, "jobs") == 0)
    k = &run_jobs;
  else
    return 0;
  rest = path + used;
  if (rest[0] == '\0') {
    run_list(e, req, resp, k, p, l);
    return 1;
  }
  used = 0;
  if (rest[0] != '/' || sscanf(rest, "/%100[^/:]%n", n, &used) != 1) return 0;
  rest += used;
  if (rest[0] == '\0') {
    run_one(e, req, resp, k, p, l, n, NULL);
    return 1;
  }
  if (rest[0] != ':' || strlen(rest + 1) >= sizeof verb) return 0;
  snprintf(verb, sizeof verb, "%s", rest + 1);
  if (strcmp(verb, "getIamPolicy") != 0 && strcmp(verb, "setIamPolicy") != 0)
    return 0; /* :run, :testIamPermissions: other routes' */
  run_one(e, req, resp, k, p, l, n, verb);
  return 1;
}

/* ---- IAM v1 service accounts ------------------------------------------ */

/* The project an account belongs to: P of NAME@P.iam.gserviceaccount.com,
 * else the world's. */
static void account_project(emu *e, const char *email, char *out, size_t n) {
  const char *at = strchr(email, '@');
  const char *dot = at ? strstr(at, ".iam.gserviceaccount.com") : NULL;
  if (dot != NULL && dot[strlen(".iam.gserviceaccount.com")] == '\0' &&
      (size_t)(dot - at - 1) < n)
    snprintf(out, n, "%.*s", (int)(dot - at - 1), at + 1);
  else
    snprintf(out, n, "%s", emu_project_id(e));
}

/* The account an id names: its email, or its uniqueId. */
static const emu_account *account_by_id(emu *e, const char *id) {
  if (strchr(id, '@') != NULL) return emu_account_find(e, id);
  for (size_t i = 0; i < emu_account_count(e); i++) {
    const emu_account *a = emu_account_at(e, i);
    if (strcmp(a->unique_id, id) == 0) return a;
  }
  return NULL;
}

static cJSON *account_json(emu *e, const emu_account *a) {
  char proj[128], name[400];
  cJSON *o = cJSON_CreateObject();
  account_project(e, a->email, proj, sizeof proj);
  snprintf(name, sizeof name, "projects/%s/serviceAccounts/%s", proj, a->email);
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "projectId", proj);
  cJSON_AddStringToObject(o, "uniqueId", a->unique_id);
  cJSON_AddStringToObject(o, "email", a->email);
  /* Every service account's etag reads the same at Google. */
  cJSON_AddStringToObject(o, "etag", "MDEwMjE5MjA=");
  cJSON_AddStringToObject(o, "oauth2ClientId", a->unique_id);
  /* proto3 JSON leaves a false "disabled" out. */
  if (emu_account_disabled(e, a->email)) cJSON_AddTrueToObject(o, "disabled");
  return o;
}

static void reply_unknown_account(emu_response *resp) {
  emu_reply_google_error(resp, 404, "NOT_FOUND", "Unknown service account");
}

/* GET /v1/projects/P/serviceAccounts */
static void sa_list(emu *e, const emu_request *req, emu_response *resp,
                    const char *p) {
  emu_bearer b;
  char member[300], parent[200];
  const char *proj = world_project(e, p);
  size_t start, size, i, shown = 0, total = 0;
  cJSON *o, *arr = NULL;
  const emu_account **mine;
  if (!is_method(req, "GET")) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  if (!emu_require_access_token(e, req, resp, &iam_need, &b)) return;
  caller_member(e, &b, member, sizeof member);
  snprintf(parent, sizeof parent, "projects/%s", proj ? proj : p);
  if (proj == NULL ||
      !emu_has_permission(e, parent, member, "iam.serviceAccounts.list")) {
    emu_reply_iam_permission_denied(resp, "iam.serviceAccounts.list");
    return;
  }
  if (!page_params(req, resp, SA_PAGE_DEFAULT, SA_PAGE_MAX, &start, &size))
    return;
  mine = calloc(emu_account_count(e) + 1, sizeof *mine);
  if (mine == NULL) abort();
  for (i = 0; i < emu_account_count(e); i++) {
    char ap[128];
    account_project(e, emu_account_at(e, i)->email, ap, sizeof ap);
    if (strcmp(ap, proj) == 0) mine[total++] = emu_account_at(e, i);
  }
  o = cJSON_CreateObject();
  for (i = start; i < total && shown < size; i++, shown++) {
    if (arr == NULL) arr = cJSON_AddArrayToObject(o, "accounts");
    cJSON_AddItemToArray(arr, account_json(e, mine[i]));
  }
  add_next_page(o, i, total);
  free(mine);
  emu_reply_json(resp, 200, o);
}

/* /v1/projects/P/serviceAccounts/ID[:getIamPolicy|:setIamPolicy|:disable|
 * :enable] */
static void sa_one(emu *e, const emu_request *req, emu_response *resp,
                   const char *p, const char *id, const char *verb) {
  emu_bearer b;
  char member[300], resource[400], proj[128], perm[64];
  const emu_account *a = account_by_id(e, id);
  snprintf(perm, sizeof perm, "iam.serviceAccounts.%s",
           verb == NULL ? "get" : verb);
  if (!is_method(req, verb == NULL ? "GET" : "POST")) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  if (!emu_require_access_token(e, req, resp, &iam_need, &b)) return;
  /* "-": the account's own project. */
  if (strcmp(p, "-") != 0)
    snprintf(proj, sizeof proj, "%s", p);
  else
    account_project(e, a != NULL ? a->email : id, proj, sizeof proj);
  snprintf(resource, sizeof resource, "projects/%s/serviceAccounts/%s", proj,
           a != NULL ? a->email : id);
  caller_member(e, &b, member, sizeof member);
  if (!emu_has_permission(e, resource, member, perm)) {
    emu_reply_iam_permission_denied(resp, perm);
    return;
  }
  if (a == NULL) {
    reply_unknown_account(resp);
  } else if (verb == NULL) {
    emu_reply_json(resp, 200, account_json(e, a));
  } else if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) {
    /* IAM v1 serviceAccounts.disable / enable: an empty reply. */
    emu_account_set_disabled(e, a->email, verb[0] == 'd');
    emu_reply_json(resp, 200, cJSON_CreateObject());
  } else {
    /* The policy lives on the account in its own project. */
    char own[128];
    account_project(e, a->email, own, sizeof own);
    snprintf(resource, sizeof resource, "projects/%s/serviceAccounts/%s", own,
             a->email);
    if (strcmp(verb, "getIamPolicy") == 0)
      emu_reply_json(resp, 200, emu_policy_of(e, resource));
    else
      set_policy(e, req, resp, resource);
  }
}

/* ---- Resource Manager: the project's policy ---------------------------- */

/* POST /v1/projects/P:VERB and /v3/projects/P:VERB */
static void project_policy(emu *e, const emu_request *req, emu_response *resp,
                           const char *p, int set) {
  emu_bearer b;
  char member[300], resource[200];
  const char *proj = world_project(e, p);
  if (!is_method(req, "POST")) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  if (!emu_require_access_token(e, req, resp,
                                set ? &crm_write_need : &crm_read_need, &b))
    return;
  caller_member(e, &b, member, sizeof member);
  snprintf(resource, sizeof resource, "projects/%s", proj ? proj : p);
  /* Resource Manager says the same for a project the caller may not read
   * and one that does not exist. */
  if (proj == NULL ||
      !emu_has_permission(e, resource, member,
                          set ? "resourcemanager.projects.setIamPolicy"
                              : "resourcemanager.projects.getIamPolicy")) {
    emu_reply_google_error(resp, 403, "PERMISSION_DENIED",
                           "The caller does not have permission");
    return;
  }
  if (set)
    set_policy(e, req, resp, resource);
  else
    emu_reply_json(resp, 200, emu_policy_of(e, resource));
}

/* ---- IAM v1 roles ------------------------------------------------------ */

static const struct {
  const char *name, *title, *description;
} role_texts[] = {
    {"roles/run.invoker", "Cloud Run Invoker",
     "Can invoke Cloud Run services and execute Cloud Run jobs."},
    {"roles/iam.serviceAccountTokenCreator", "Service Account Token Creator",
     "Impersonate service accounts (create OAuth2 access tokens, sign blobs "
     "or JWTs, etc)."},
    {"roles/run.admin", "Cloud Run Admin",
     "Full control over all Cloud Run resources."},
    {"roles/viewer", "Viewer",
     "View most Google Cloud resources. See the list of included "
     "permissions."},
    {"roles/owner", "Owner",
     "Full access to most Google Cloud resources. See the list of included "
     "permissions."},
};

static void reply_role(emu *e, emu_response *resp, const char *name,
                       int predefined) {
  cJSON *perms = emu_role_included_permissions(e, name);
  cJSON *o = cJSON_CreateObject();
  const char *title = short_of(name), *desc = NULL;
  char etag[24];
  for (size_t i = 0; i < sizeof role_texts / sizeof role_texts[0]; i++)
    if (strcmp(role_texts[i].name, name) == 0) {
      title = role_texts[i].title;
      desc = role_texts[i].description;
    }
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "title", title);
  if (desc != NULL) cJSON_AddStringToObject(o, "description", desc);
  cJSON_AddItemToObject(o, "includedPermissions", perms);
  cJSON_AddStringToObject(o, "stage", "GA");
  /* Predefined roles carry etag "AA==" at Google. */
  if (predefined)
    snprintf(etag, sizeof etag, "AA==");
  else
    stable_etag(name, "role", etag);
  cJSON_AddStringToObject(o, "etag", etag);
  emu_reply_json(resp, 200, o);
}

static void reply_role_not_found(emu_response *resp, const char *name) {
  emu_reply_google_error(resp, 404, "NOT_FOUND",
                         "The role named %.200s was not found.", name);
}

/* GET /v1/roles/R: any authenticated caller may read a predefined role. */
static int route_role(emu *e, const emu_request *req, emu_response *resp) {
  const char *id = req->path + strlen("/v1/roles/");
  char name[200];
  emu_bearer b;
  if (id[0] == '\0' || strchr(id, '/') != NULL || strchr(id, ':') != NULL ||
      strlen(id) > 150)
    return 0;
  if (!is_method(req, "GET")) {
    emu_reply_method_not_allowed(resp);
    return 1;
  }
  if (!emu_require_access_token(e, req, resp, &iam_need, &b)) return 1;
  snprintf(name, sizeof name, "roles/%s", id);
  if (!emu_role_exists(e, name))
    reply_role_not_found(resp, name);
  else
    reply_role(e, resp, name, 1);
  return 1;
}

/* GET /v1/projects/P/roles/R: a custom role of the config. */
static void project_role(emu *e, const emu_request *req, emu_response *resp,
                         const char *p, const char *r) {
  emu_bearer b;
  char member[300], parent[200], name[400];
  const char *proj = world_project(e, p);
  if (!is_method(req, "GET")) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  if (!emu_require_access_token(e, req, resp, &iam_need, &b)) return;
  caller_member(e, &b, member, sizeof member);
  snprintf(parent, sizeof parent, "projects/%s", proj ? proj : p);
  if (proj == NULL || !emu_has_permission(e, parent, member, "iam.roles.get")) {
    emu_reply_iam_permission_denied(resp, "iam.roles.get");
    return;
  }
  snprintf(name, sizeof name, "projects/%s/roles/%s", proj, r);
  if (!emu_role_exists(e, name))
    reply_role_not_found(resp, name);
  else
    reply_role(e, resp, name, 0);
}

/* GET /v1/projects/P and /v3/projects/P (P: the id or the number):
 * Resource Manager's projects.get, in each version's shape. */
static void project_get(emu *e, const emu_request *req, emu_response *resp,
                        const char *p, int v1) {
  emu_bearer b;
  char member[300], resource[200], name[64];
  const char *proj = world_project(e, p);
  cJSON *o;
  if (!is_method(req, "GET")) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  if (!emu_require_access_token(e, req, resp, &crm_read_need, &b)) return;
  caller_member(e, &b, member, sizeof member);
  snprintf(resource, sizeof resource, "projects/%s", proj ? proj : p);
  /* As for its policy: the same 403 for a project that does not exist. */
  if (proj == NULL || !emu_has_permission(e, resource, member,
                                          "resourcemanager.projects.get")) {
    emu_reply_google_error(resp, 403, "PERMISSION_DENIED",
                           "The caller does not have permission");
    return;
  }
  o = cJSON_CreateObject();
  if (v1) {
    cJSON_AddStringToObject(o, "projectNumber", emu_project_number(e));
    cJSON_AddStringToObject(o, "projectId", proj);
    cJSON_AddStringToObject(o, "lifecycleState", "ACTIVE");
    cJSON_AddStringToObject(o, "name", proj);
    cJSON_AddStringToObject(o, "createTime", "2024-01-01T00:00:00.000Z");
  } else {
    snprintf(name, sizeof name, "projects/%s", emu_project_number(e));
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "projectId", proj);
    cJSON_AddStringToObject(o, "state", "ACTIVE");
    cJSON_AddStringToObject(o, "displayName", proj);
    cJSON_AddStringToObject(o, "createTime", "2024-01-01T00:00:00.000Z");
    cJSON_AddStringToObject(o, "updateTime", "2024-01-01T00:00:00.000Z");
    cJSON_AddStringToObject(o, "etag", "W/\"emulator\"");
  }
  emu_reply_json(resp, 200, o);
}

/* ---- /v1/projects/..., /v3/projects/... ------------------------------- */

static int route_projects(emu *e, const emu_request *req, emu_response *resp) {
  const char *path = req->path;
  int v1 = path[2] == '1';
  const char *rest = path + strlen("/v1/projects/");
  size_t plen = strcspn(rest, "/:");
  char p[101], id[257], verb[32];
  int used = 0;
  if (plen == 0 || plen > 100 || strlen(path) > 600) return 0;
  snprintf(p, sizeof p, "%.*s", (int)plen, rest);
  rest += plen;
  if (rest[0] == ':') {
    if (strcmp(rest + 1, "getIamPolicy") == 0 ||
        strcmp(rest + 1, "setIamPolicy") == 0) {
      project_policy(e, req, resp, p, rest[1] == 's');
      return 1;
    }
    return 0;
  }
  if (rest[0] == '\0') {
    project_get(e, req, resp, p, v1);
    return 1;
  }
  if (!v1) return 0;
  if (strcmp(rest, "/serviceAccounts") == 0) {
    sa_list(e, req, resp, p);
    return 1;
  }
  if (sscanf(rest, "/serviceAccounts/%256[^/:]%n", id, &used) == 1) {
    rest += used;
    if (rest[0] == '\0') {
      sa_one(e, req, resp, p, id, NULL);
      return 1;
    }
    if (rest[0] != ':' || strlen(rest + 1) >= sizeof verb) return 0;
    snprintf(verb, sizeof verb, "%s", rest + 1);
    if (strcmp(verb, "getIamPolicy") != 0 &&
        strcmp(verb, "setIamPolicy") != 0 && strcmp(verb, "disable") != 0 &&
        strcmp(verb, "enable") != 0)
      return 0; /* IAM Credentials, testIamPermissions: routes_iam.c */
    sa_one(e, req, resp, p, id, verb);
    return 1;
  }
  used = 0;
  if (sscanf(rest, "/roles/%100[^/:]%n", id, &used) == 1 &&
      rest[used] == '\0') {
    project_role(e, req, resp, p, id);
    return 1;
  }
  return 0;
}

int emu_route_resources(emu *e, const emu_request *req, emu_response *resp) {
  const char *path = req->path;
  if (strncmp(path, "/v2/projects/", 13) == 0)
    return route_run_v2(e, req, resp);
  if (strncmp(path, "/v1/roles/", 10) == 0) return route_role(e, req, resp);
  if (strncmp(path, "/v1/projects/", 13) == 0 ||
      strncmp(path, "/v3/projects/", 13) == 0)
    return route_projects(e, req, resp);
  return 0;
}
