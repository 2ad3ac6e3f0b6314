/* gauth-emulator: Cloud Run. The Admin API's jobs :run (v2, and v1 on the
 * regional endpoint), which takes an OAuth access token, on the Google API
 * front end; and a Cloud Run service at /services/NAME, which takes an ID
 * token whose aud is its URL, on the Cloud Run front end (its own origin,
 * as a service's *.run.app host is not a Google API host).
 *
 * The two are the heart of the 401 this project exists for: an ID token
 * sent to :run is refused whatever IAM says, and an access token sent to a
 * service likewise. Both refusals are reproduced exactly. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* gmtime_r, strdup */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "emulator.h"

/* Cloud Run's front end answers refusals with HTML pages, not JSON. */
#define HTML_HEAD  \
  "<html><head>\n" \
  "<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
#define HTML_401                                                        \
  HTML_HEAD                                                             \
  "<title>401 Unauthorized</title>\n</head>\n"                          \
  "<body text=#000000 bgcolor=#ffffff>\n<h1>Error: Unauthorized</h1>\n" \
  "<h2>Your client does not have permission to the requested URL "      \
  "<code>%s</code>.</h2>\n<h2></h2>\n</body></html>\n"
#define HTML_403                                                     \
  HTML_HEAD                                                          \
  "<title>403 Forbidden</title>\n</head>\n"                          \
  "<body text=#000000 bgcolor=#ffffff>\n<h1>Error: Forbidden</h1>\n" \
  "<h2>Your client does not have permission to get URL "             \
  "<code>%s</code> from this server.</h2>\n<h2></h2>\n</body></html>\n"
#define HTML_404                                                          \
  HTML_HEAD                                                               \
  "<title>404 Page not found</title>\n</head>\n"                          \
  "<body text=#000000 bgcolor=#ffffff>\n<h1>Error: Page not found</h1>\n" \
  "<h2>The requested URL was not found on this server.</h2>\n"            \
  "<h2></h2>\n</body></html>\n"
#define HTML_TYPE "text/html; charset=UTF-8"

/* ---- the Admin API ------------------------------------------------------ */

static void rfc3339(int64_t t, char *out, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

static void random_uuid(char out[37]) {
  unsigned char r[16] = {0};
  (void)RAND_bytes(r, sizeof r);
  emu_uuid_format(r, out);
}

/* An execution's name: the job's, a dash and five letters or digits. */
static void execution_name(const char *job, char *out, size_t n) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char r[5] = {0};
  (void)RAND_bytes(r, sizeof r);
  char suffix[6];
  for (size_t i = 0; i < 5; i++) suffix[i] = alphabet[r[i] % 36];
  suffix[5] = '\0';
  snprintf(out, n, "%s-%s", job, suffix);
}

/* The Admin API's token check: an access token of ours with the
 * cloud-platform scope; a 403 for one without names the scope. */
static const char *const admin_scopes[] = {GAUTH_SCOPE_CLOUD_PLATFORM, NULL};
static const emu_token_need admin_need = {admin_scopes, 0,
                                          GAUTH_SCOPE_CLOUD_PLATFORM};

/* POST .../jobs/J:run, with v1 1 for the Knative-style v1 API. */
static void run_job(emu *e, const emu_request *req, emu_response *resp,
                    const char *project, const char *location, const char *job,
                    int v1) {
  if (strcmp(req->method, "POST") != 0) {
    emu_reply_method_not_allowed(resp);
    return;
  }
  emu_bearer b;
  if (!emu_require_access_token(e, req, resp, &admin_need, &b)) return;
  /* Names use the project id whether the caller wrote the id or the
   * number. */
  const char *proj = project;
  if (strcmp(project, emu_project_number(e)) == 0) proj = emu_project_id(e);
  char name[512], member[300];
  snprintf(name, sizeof name, "projects/%s/locations/%s/jobs/%s", proj,
           location, job);
  emu_member_of(e, b.email, member, sizeof member);

  cJSON *body = req->body_len ? emu_req_json(req) : NULL;
  const char *perm = "run.jobs.run";
  if (cJSON_GetObjectItemCaseSensitive(body, "overrides") != NULL)
    perm = "run.jobs.runWithOverrides";
  cJSON_Delete(body);
  /* Google checks the permission first: without it a missing job is a
   * 403 too ("or resource may not exist"). */
  if (!emu_has_permission(e, name, member, perm)) {
    char v1_name[300];
    /* v1 names the job Knative's way, with the project as written. */
    snprintf(v1_name, sizeof v1_name, "namespaces/%s/jobs/%s", project, job);
    emu_reply_run_permission_denied(resp, perm, v1 ? v1_name : name);
    return;
  }
  if (!emu_run_job_exists(e, name)) {
    emu_reply_run_not_found(resp, "JOB", job, location, project);
    return;
  }
  unsigned long count = emu_count_execution(e, name);
  char exec[300], uid[37], op[37], now[40];
  execution_name(job, exec, sizeof exec);
  random_uuid(uid);
  random_uuid(op);
  int64_t created = emu_now(e);
  rfc3339(created, now, sizeof now);
  {
    char full_exec[900];
    snprintf(full_exec, sizeof full_exec, "%s/executions/%s", name, exec);
    emu_job_set_latest_execution(e, name, full_exec, created);
  }
  cJSON *o = cJSON_CreateObject();
  if (v1) {
    /* v1 answers with the Execution itself, Knative style. */
    cJSON_AddStringToObject(o, "apiVersion", "run.googleapis.com/v1");
    cJSON_AddStringToObject(o, "kind", "Execution");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", exec);
    cJSON_AddStringToObject(md, "namespace", emu_project_number(e));
    cJSON_AddStringToObject(md, "uid", uid);
    cJSON_AddStringToObject(md, "creationTimestamp", now);
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, "run.googleapis.com/job", job);
    cJSON_AddStringToObject(labels, "cloud.googleapis.com/location", location);
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddNumberToObject(spec, "parallelism", 1);
    cJSON_AddNumberToObject(spec, "taskCount", 1);
    cJSON_AddObjectToObject(o, "status");
  } else {
    char opname[600], execname[900];
    snprintf(opname, sizeof opname, "projects/%s/locations/%s/operations/%s",
             proj, location, op);
    snprintf(execname, sizeof execname, "%s/executions/%s", name, exec);
    cJSON_AddStringToObject(o, "name", opname);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "@type",
                            "type.googleapis.com/google.cloud.run.v2."
                            "Execution");
    cJSON_AddStringToObject(md, "name", execname);
    cJSON_AddStringToObject(md, "uid", uid);
    cJSON_AddStringToObject(md, "creator", b.email);
    cJSON_AddStringToObject(md, "createTime", now);
    cJSON_AddStringToObject(md, "job", job);
    cJSON_AddNumberToObject(md, "parallelism", 1);
    cJSON_AddNumberToObject(md, "taskCount", 1);
    cJSON_AddBoolToObject(md, "reconciling", 1);
    cJSON_AddNumberToObject(md, "executionNumber", (double)count);
    cJSON_AddBoolToObject(o, "done", 0);
  }
  emu_reply_json(resp, 200, o);
}

/* /v2/projects/P/locations/L/jobs/J:run and
 * /apis/run.googleapis.com/v1/namespaces/P/jobs/J:run. */
static int route_admin(emu *e, const emu_request *req, emu_response *resp) {
  char p[101], l[101], j[101];
  int n = 0;
  const char *path = req->path;
  size_t len = strlen(path);
  if (len < 5 || len > 400 || strcmp(path + len - 4, ":run") != 0) return 0;
  if (sscanf(path,
             "/v2/projects/%100[^/]/locations/%100[^/]/jobs/%100[^/:]"
             ":run%n",
             p, l, j, &n) == 3 &&
      path[n] == '\0') {
    run_job(e, req, resp, p, l, j, 0);
    return 1;
  }
  n = 0;
  if (sscanf(path,
             "/apis/run.googleapis.com/v1/namespaces/%100[^/]/jobs/"
             "%100[^/:]:run%n",
             p, j, &n) == 2 &&
      path[n] == '\0') {
    run_job(e, req, resp, p, emu_region(e), j, 1);
    return 1;
  }
  return 0;
}

/* ---- the service -------------------------------------------------------- */

static int64_t emu_clock(void *userdata) { return emu_now(userdata); }

/* Cloud Run's refusal page for a status (401 or 403) naming the path. */
static void reply_html(emu_response *resp, int status, const char *path) {
  char page[2048];
  if (status == 401)
    snprintf(page, sizeof page, HTML_401, path);
  else
    snprintf(page, sizeof page, HTML_403, path);
  emu_reply_text(resp, status, HTML_TYPE, page);
}

/* The email of a valid ID token for the service, or 0 (and a 401 reply).
 * auds: the audiences the service accepts, NULL-ended. */
static int verify_service_token(emu *e, const char *token,
                                const char *const *auds, char *email,
                                size_t n) {
  static const char *const issuers[] = {"https://accounts.google.com",
                                        "accounts.google.com", NULL};
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  vo.preset = GAUTH_VERIFIER_CUSTOM;
  vo.audiences = auds;
  vo.issuers = issuers;
  vo.keys = emu_signing_keys(e);
  vo.algorithms = GAUTH_ALG_BIT(GAUTH_ALG_RS256);
  vo.clock = emu_clock;
  vo.clock_userdata = e;
  gauth_verifier *v = NULL;
  gauth_claims *c = NULL;
  const char *mail = NULL;
  int ok = vo.keys != NULL && gauth_verifier_new(&v, &vo, NULL) == GAUTH_OK &&
           gauth_verifier_verify(v, token, 0, &c, NULL) == GAUTH_OK;
  email[0] = '\0';
  if (ok && gauth_claims_get_string(c, "email", &mail, NULL) == GAUTH_OK)
    snprintf(email, n, "%s", mail);
  gauth_claims_free(c);
  gauth_verifier_free(v);
  gauth_keyset_free(vo.keys);
  return ok;
}

/* ANY /services/NAME[/...] */
static int route_service(emu *e, const emu_request *req, emu_response *resp) {
  const char *path = req->path;
  if (strncmp(path, "/services/", 10) != 0) return 0;
  const char *name = path + 10;
  size_t nlen = strcspn(name, "/");
  const char *rest = name[nlen] ? name + nlen : "/";
  if (nlen == 0 || nlen > 100) {
    emu_reply_text(resp, 404, HTML_TYPE, HTML_404);
    return 1;
  }
  char svc[101], full[512];
  snprintf(svc, sizeof svc, "%.*s", (int)nlen, name);
  snprintf(full, sizeof full, "projects/%s/locations/%s/services/%s",
           emu_project_id(e), emu_region(e), svc);
  if (!emu_run_service_exists(e, full)) {
    emu_reply_text(resp, 404, HTML_TYPE, HTML_404);
    return 1;
  }
  emu_bearer b;
  emu_bearer_of(e, req, &b);
  /* The audiences Cloud Run accepts: the service's URLs (the Admin API's
   * uri and urls) and its custom audiences. */
  char *url = emu_service_url(e, svc), *alt = emu_service_url_alt(e, svc);
  const char *const *custom = emu_service_custom_audiences(e, full);
  const char *auds[34] = {url, alt};
  size_t na = 2;
  for (size_t i = 0; custom != NULL && custom[i] != NULL && na < 33; i++)
    auds[na++] = custom[i];
  auds[na] = NULL;
  char email[256] = "";
  /* Only an ID token for one of them gets through; an access token, even
   * a valid one, is a 401 like any other non-token. */
  int ok = b.kind == EMU_BEARER_ID_TOKEN &&
           verify_service_token(e, b.token, auds, email, sizeof email);
  free(url);
  free(alt);
  if (!ok) {
    if (b.kind == EMU_BEARER_ACCESS)
      snprintf(resp->principal, sizeof resp->principal, "%s", b.email);
    reply_html(resp, 401, path);
    emu_reply_header(resp, "WWW-Authenticate",
                     "Bearer error=\"invalid_token\" error_description=\"The "
                     "access token could not be verified\"");
    return 1;
  }
  char member[300];
  if (email[0] != '\0') {
    snprintf(resp->principal, sizeof resp->principal, "%s", email);
    emu_member_of(e, email, member, sizeof member);
  }
  if (email[0] == '\0' ||
      !emu_has_permission(e, full, member, "run.routes.invoke")) {
    reply_html(resp, 403, path);
    return 1;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "service", svc);
  cJSON_AddStringToObject(o, "principal", email);
  cJSON_AddStringToObject(o, "method", req->method);
  cJSON_AddStringToObject(o, "path", rest);
  emu_reply_json(resp, 200, o);
  return 1;
}

int emu_route_run(emu *e, const emu_request *req, emu_response *resp) {
  return route_admin(e, req, resp);
}

int emu_route_run_service(emu *e, const emu_request *req, emu_response *resp) {
  if (route_service(e, req, resp)) return 1;
  /* Cloud Run's front end answers a path it routes to no service with its
   * HTML page, not a Google API's JSON error. */
  emu_reply_text(resp, 404, HTML_TYPE, HTML_404);
  return 1;
}
