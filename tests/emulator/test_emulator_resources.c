/* gauth-emulator: the reads a diagnosis needs (routes_resources.c), end to
 * end over real HTTP: Cloud Run Admin v2 services and jobs, their IAM
 * policies, IAM service accounts and their policies, Resource Manager
 * project policies, role definitions, the IAM propagation gap, and custom
 * audiences on the service route.
 *
 * Each test starts an emulator of its own with the world below (policy
 * changes and clock moves stay in it): an owner (admin@), a viewer
 * (developer@), the metadata server's runner@ with no role but invoker on
 * the "api" service, and scheduler@, invoker of "collector" and "collect". */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <curl/curl.h>

#include "emu_fixture.h"

#define P "demo-project"
#define SCHEDULER "scheduler@" P ".iam.gserviceaccount.com"
#define RUNNER "runner@" P ".iam.gserviceaccount.com"
#define LOC "/v2/projects/" P "/locations/us-central1"
#define JOB LOC "/jobs/collect"
#define JOB_NAME "projects/" P "/locations/us-central1/jobs/collect"
#define SVC_API LOC "/services/api"
#define SA_PATH "/v1/projects/" P "/serviceAccounts/"
#define CLOUD "https://www.googleapis.com/auth/cloud-platform"
#define CUSTOM_AUD "https://api.example.com"
/* Generous: under valgrind the emulator takes most of a minute to start. */
#define TEST_TIMEOUT 300

static const char world[] =
    "{\"services\":[\"collector\",{\"name\":\"api\",\"custom_audiences\":"
    "[\"" CUSTOM_AUD
    "\"]},\"web\"],"
    "\"jobs\":[\"collect\",\"nightly\"],"
    "\"users\":[{\"email\":\"developer@example.com\",\"client_id\":\"c\","
    "\"client_secret\":\"s\",\"refresh_token\":\"1//dev\"},"
    "{\"email\":\"admin@example.com\",\"client_id\":\"c\",\"client_secret\":"
    "\"s\",\"refresh_token\":\"1//admin\"}],"
    "\"roles\":{\"projects/" P
    "/roles/doctor\":[\"run.services.get\","
    "\"run.jobs.get\"]},"
    "\"iam_propagation_seconds\":60,"
    "\"bindings\":["
    "{\"resource\":\"projects/" P
    "\",\"role\":\"roles/viewer\",\"members\":"
    "[\"user:developer@example.com\"]},"
    "{\"resource\":\"projects/" P
    "\",\"role\":\"roles/owner\",\"members\":"
    "[\"user:admin@example.com\"]},"
    "{\"resource\":\"projects/" P
    "/locations/us-central1/services/collector\","
    "\"role\":\"roles/run.invoker\",\"members\":[\"serviceAccount:" SCHEDULER
    "\"]},"
    "{\"resource\":\"projects/" P
    "/locations/us-central1/services/api\","
    "\"role\":\"roles/run.invoker\",\"members\":[\"serviceAccount:" RUNNER
    "\"]},"
    "{\"resource\":\"" JOB_NAME
    "\",\"role\":\"roles/run.invoker\","
    "\"members\":[\"serviceAccount:" SCHEDULER
    "\"]},"
    "{\"resource\":\"projects/" P "/serviceAccounts/" SCHEDULER
    "\",\"role\":\"roles/iam.serviceAccountTokenCreator\",\"members\":"
    "[\"serviceAccount:" RUNNER "\"]}]}";

/* ---- an emulator of the test's own ------------------------------------- */

static char g_base[128];
static pid_t g_pid;

/* Starts gauth-emulator with config text; its exit status when it does not
 * start (-1 when it did; g_base set). */
static int start_with(const char *config) {
  char path[] = "/tmp/emu-resources-cfgXXXXXX", arg[64], l[256];
  int fd = mkstemp(path), fds[2], st = 0;
  const char *bin = getenv("GAUTH_EMULATOR_BIN");
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, config, strlen(config)), (ssize_t)strlen(config));
  close(fd);
  cr_assert_not_null(bin, "GAUTH_EMULATOR_BIN is unset");
  snprintf(arg, sizeof arg, "--config=%s", path);
  cr_assert_eq(pipe(fds), 0);
  g_pid = fork();
  cr_assert_geq(g_pid, 0);
  if (g_pid == 0) {
    /* A test that times out is killed: its emulator must go with it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    FILE *err = freopen("/dev/null", "w", stderr);
    (void)err;
    execl(bin, bin, "--listen=127.0.0.1:0", arg, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *out = fdopen(fds[0], "r");
  char *line = fgets(l, sizeof l, out);
  fclose(out);
  unlink(path);
  if (line == NULL) {
    cr_assert_eq(waitpid(g_pid, &st, 0), g_pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  }
  l[strcspn(l, "\n")] = '\0';
  cr_assert_eq(strncmp(l, "listening ", 10), 0, "%s", l);
  snprintf(g_base, sizeof g_base, "%.100s", l + 10);
  return -1;
}

static void start(void) {
  cr_assert_eq(start_with(world), -1, "the emulator did not start");
}

static void stop(void) {
  int st = 0;
  if (g_pid <= 0) return;
  kill(g_pid, SIGTERM);
  waitpid(g_pid, &st, 0);
  g_pid = 0;
}

/* ---- HTTP and JSON ------------------------------------------------------ */

/* method path, with a bearer token (NULL: none) and a JSON body (NULL:
 * none). */
static emu_reply call(const char *method, const char *path, const char *bearer,
                      const char *body) {
  char auth[4096];
  const char *h[3] = {"Content-Type: application/json", NULL, NULL};
  emu_reply r;
  if (bearer != NULL) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
    h[1] = auth;
  }
  emu_http(g_base, method, path, h, body, &r);
  cr_assert_eq(r.curl_code, 0, "%s %s: no reply", method, path);
  return r;
}

static cJSON *json_of(const emu_reply *r) {
  cJSON *j = cJSON_Parse(r->body);
  cr_assert_not_null(j, "not JSON: %s", r->body);
  return j;
}

static const char *jstr(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *jget(const cJSON *o, const char *name) {
  return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* A call that must answer 200 with JSON. */
static cJSON *ok(const char *method, const char *path, const char *bearer,
                 const char *body) {
  emu_reply r = call(method, path, bearer, body);
  cr_assert_eq(r.status, 200, "%s %s: %ld %s", method, path, r.status, r.body);
  cJSON *j = json_of(&r);
  emu_reply_free(&r);
  return j;
}

/* A call that must answer Google's error shape with code and status (and
 * message, when not NULL). */
static void fails(const char *method, const char *path, const char *bearer,
                  const char *body, long code, const char *status,
                  const char *message) {
  emu_reply r = call(method, path, bearer, body);
  cr_expect_eq(r.status, code, "%s %s: %ld %s", method, path, r.status, r.body);
  cJSON *j = json_of(&r);
  const cJSON *e = jget(j, "error");
  cr_assert(cJSON_IsObject(e), "%s", r.body);
  cr_expect_eq(jget(e, "code")->valueint, code);
  cr_expect_str_eq(jstr(e, "status"), status);
  if (message != NULL) cr_expect_str_eq(jstr(e, "message"), message);
  cJSON_Delete(j);
  emu_reply_free(&r);
}

/* ---- tokens ------------------------------------------------------------- */

static char *user_token(const char *refresh) {
  char body[256];
  emu_reply r;
  const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
  snprintf(body, sizeof body,
           "grant_type=refresh_token&refresh_token=%s&client_id=c&"
           "client_secret=s",
           refresh);
  emu_http(g_base, "POST", "/token", h, body, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  char *t = strdup(jstr(j, "access_token"));
  cJSON_Delete(j);
  emu_reply_free(&r);
  return t;
}

static char *admin_token(void) { return user_token("1%2F%2Fadmin"); }
static char *viewer_token(void) { return user_token("1%2F%2Fdev"); }

static char *runner_token(void) {
  const char *h[] = {"Metadata-Flavor: Google", NULL};
  emu_reply r;
  emu_http(g_base, "GET",
           "/computeMetadata/v1/instance/service-accounts/default/token", h,
           NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = json_of(&r);
  char *t = strdup(jstr(j, "access_token"));
  cJSON_Delete(j);
  emu_reply_free(&r);
  return t;
}

/* The runner's ID token for aud (with its email, as Cloud Run needs). */
static char *runner_id_token(const char *aud) {
  const char *h[] = {"Metadata-Flavor: Google", NULL};
  char path[1024];
  CURL *c = curl_easy_init();
  char *esc = curl_easy_escape(c, aud, 0);
  emu_reply r;
  snprintf(path, sizeof path,
           "/computeMetadata/v1/instance/service-accounts/default/"
           "identity?format=full&audience=%s",
           esc);
  curl_free(esc);
  curl_easy_cleanup(c);
  emu_http(g_base, "GET", path, h, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  return r.body;
}

/* The scheduler's access token: the runner impersonates it. */
static char *scheduler_token(void) {
  char *rt = runner_token();
  cJSON *j =
      ok("POST",
         "/v1/projects/-/serviceAccounts/" SCHEDULER ":generateAccessToken", rt,
         "{\"scope\":[\"" CLOUD "\"]}");
  char *t = strdup(jstr(j, "accessToken"));
  cJSON_Delete(j);
  free(rt);
  return t;
}

static void move_clock(long offset) {
  char body[64];
  snprintf(body, sizeof body, "{\"offset_seconds\":%ld}", offset);
  cr_assert_eq(emu_control(g_base, "/emulator/v1/clock", body, NULL), 200);
}

/* The members bound to role in a Policy reply, as "m1,m2" (or ""). */
static void members_of(const cJSON *policy, const char *role, char *out,
                       size_t n) {
  const cJSON *b, *m;
  out[0] = '\0';
  cJSON_ArrayForEach(b, jget(policy, "bindings")) {
    if (strcmp(jstr(b, "role"), role) != 0) continue;
    cJSON_ArrayForEach(m, jget(b, "members")) {
      size_t used = strlen(out);
      snprintf(out + used, n - used, "%s%s", used ? "," : "", m->valuestring);
    }
  }
}

/* ---- Cloud Run Admin v2: services and jobs ------------------------------ */

TestSuite(run_admin, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

Test(run_admin, service_shape) {
  char *at = admin_token();
  cJSON *s = ok("GET", SVC_API, at, NULL);
  cr_expect_str_eq(jstr(s, "name"),
                   "projects/" P "/locations/us-central1/services/api");
  cr_expect_eq(strlen(jstr(s, "uid")), 36);
  cr_expect_str_eq(jstr(s, "launchStage"), "GA");
  cr_expect_str_eq(jstr(s, "ingress"), "INGRESS_TRAFFIC_ALL");
  cr_expect_str_eq(jstr(s, "generation"), "1");
  cr_expect_not_null(jstr(s, "createTime"));
  cr_expect_not_null(jstr(s, "updateTime"));
  cr_expect_not_null(jstr(s, "etag"));
  cr_expect_str_eq(jstr(jget(s, "terminalCondition"), "state"),
                   "CONDITION_SUCCEEDED");
  cr_expect_str_eq(jstr(jget(s, "template"), "serviceAccount"), RUNNER);
  const char *uri = jstr(s, "uri");
  cr_assert_not_null(uri);
  cr_expect_eq(strncmp(uri, "http://127.0.0.1:", 17), 0, "%s", uri);
  cr_expect_str_eq(uri + strlen(uri) - strlen("/services/api"),
                   "/services/api");
  const cJSON *urls = jget(s, "urls");
  cr_assert_eq(cJSON_GetArraySize(urls), 2);
  cr_expect_str_eq(cJSON_GetArrayItem(urls, 0)->valuestring, uri);
  cr_expect_eq(strncmp(cJSON_GetArrayItem(urls, 1)->valuestring,
                       "http://localhost:", 17),
               0);
  const cJSON *ca = jget(s, "customAudiences");
  cr_assert_eq(cJSON_GetArraySize(ca), 1);
  cr_expect_str_eq(cJSON_GetArrayItem(ca, 0)->valuestring, CUSTOM_AUD);
  cJSON_Delete(s);
  /* The project number names the same service; a service without custom
   * audiences has no such field. */
  s = ok("GET", "/v2/projects/123456789012/locations/us-central1/services/web",
         at, NULL);
  cr_expect_null(jget(s, "customAudiences"));
  cJSON_Delete(s);
  free(at);
}

Test(run_admin, list_pages) {
  char *at = viewer_token();
  cJSON *l = ok("GET", LOC "/services?pageSize=2", at, NULL);
  cr_expect_eq(cJSON_GetArraySize(jget(l, "services")), 2);
  const char *tok = jstr(l, "nextPageToken");
  cr_assert_not_null(tok);
  char path[256];
  snprintf(path, sizeof path, LOC "/services?pageSize=2&pageToken=%s", tok);
  cJSON *l2 = ok("GET", path, at, NULL);
  cr_assert_eq(cJSON_GetArraySize(jget(l2, "services")), 1);
  cr_expect_str_eq(jstr(cJSON_GetArrayItem(jget(l2, "services"), 0), "name"),
                   "projects/" P "/locations/us-central1/services/web");
  cr_expect_null(jget(l2, "nextPageToken"));
  cJSON_Delete(l2);
  cJSON_Delete(l);
  /* All on one page; jobs likewise; another location has none. */
  l = ok("GET", LOC "/services", at, NULL);
  cr_expect_eq(cJSON_GetArraySize(jget(l, "services")), 3);
  cr_expect_null(jget(l, "nextPageToken"));
  cJSON_Delete(l);
  l = ok("GET", LOC "/jobs", at, NULL);
  cr_expect_eq(cJSON_GetArraySize(jget(l, "jobs")), 2);
  cJSON_Delete(l);
  l = ok("GET", "/v2/projects/" P "/locations/europe-west1/services", at, NULL);
  cr_expect_eq(cJSON_GetArraySize(l), 0, "%s", cJSON_PrintUnformatted(l));
  cJSON_Delete(l);
  fails("GET", LOC "/services?pageToken=garbage", at, NULL, 400,
        "INVALID_ARGUMENT", "Invalid page token.");
  fails("GET", LOC "/services?pageSize=-1", at, NULL, 400, "INVALID_ARGUMENT",
        NULL);
  free(at);
}

Test(run_admin, job_execution_count) {
  char *at = viewer_token(), *sched = scheduler_token();
  cJSON *j = ok("GET", JOB, at, NULL);
  cr_expect_str_eq(jstr(j, "name"), JOB_NAME);
  cr_expect_null(jget(j, "executionCount"));
  cr_expect_null(jget(j, "latestCreatedExecution"));
  cr_expect_str_eq(
      jstr(jget(jget(j, "template"), "template"), "serviceAccount"), RUNNER);
  cJSON_Delete(j);
  cJSON_Delete(ok("POST", JOB ":run", sched, "{}"));
  j = ok("GET", JOB, at, NULL);
  cr_expect_eq(jget(j, "executionCount")->valueint, 1);
  const cJSON *x = jget(j, "latestCreatedExecution");
  cr_assert(cJSON_IsObject(x));
  const char *prefix = JOB_NAME "/executions/collect-";
  cr_expect_eq(strncmp(jstr(x, "name"), prefix, strlen(prefix)), 0, "%s",
               jstr(x, "name"));
  cr_expect_not_null(jstr(x, "createTime"));
  cJSON_Delete(j);
  cJSON_Delete(ok("POST", JOB ":run", sched, "{}"));
  j = ok("GET", JOB, at, NULL);
  cr_expect_eq(jget(j, "executionCount")->valueint, 2);
  cJSON_Delete(j);
  free(sched);
  free(at);
}

Test(run_admin, unauthenticated) {
  char *id = runner_id_token(CUSTOM_AUD);
  const char *paths[][2] = {{"GET", SVC_API},
                            {"GET", LOC "/jobs"},
                            {"GET", JOB ":getIamPolicy"},
                            {"GET", SA_PATH SCHEDULER},
                            {"POST", "/v1/projects/" P ":getIamPolicy"},
                            {"POST", "/v3/projects/" P ":getIamPolicy"},
                            {"GET", "/v1/roles/run.invoker"}};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    fails(paths[i][0], paths[i][1], NULL, NULL, 401, "UNAUTHENTICATED", NULL);
    fails(paths[i][0], paths[i][1], id, NULL, 401, "UNAUTHENTICATED", NULL);
  }
  free(id);
}

Test(run_admin, forbidden) {
  char *rt = runner_token(), *vt = viewer_token();
  fails("GET", SVC_API, rt, NULL, 403, "PERMISSION_DENIED",
        "Permission 'run.services.get' denied on resource 'projects/" P
        "/locations/us-central1/services/api' (or resource may not exist).");
  fails("GET", LOC "/services", rt, NULL, 403, "PERMISSION_DENIED",
        "Permission 'run.services.list' denied on resource 'projects/" P
        "/locations/us-central1' (or resource may not exist).");
  fails("GET", JOB, rt, NULL, 403, "PERMISSION_DENIED", NULL);
  fails("GET", JOB ":getIamPolicy", rt, NULL, 403, "PERMISSION_DENIED", NULL);
  fails("GET", SA_PATH SCHEDULER, rt, NULL, 403, "PERMISSION_DENIED",
        "Permission 'iam.serviceAccounts.get' denied on resource (or it may "
        "not exist).");
  fails("GET", SA_PATH, rt, NULL, 404, "NOT_FOUND", NULL);
  fails("GET", "/v1/projects/" P "/serviceAccounts", rt, NULL, 403,
        "PERMISSION_DENIED", NULL);
  fails("POST", "/v1/projects/" P ":getIamPolicy", rt, "{}", 403,
        "PERMISSION_DENIED", "The caller does not have permission");
  fails("GET", "/v1/projects/" P "/roles/doctor", rt, NULL, 403,
        "PERMISSION_DENIED", NULL);
  /* A viewer reads everything and changes nothing. */
  cJSON_Delete(ok("GET", JOB ":getIamPolicy", vt, NULL));
  cJSON_Delete(ok("POST", "/v3/projects/" P ":getIamPolicy", vt, "{}"));
  cJSON_Delete(ok("POST", SA_PATH SCHEDULER ":getIamPolicy", vt, "{}"));
  fails("POST", JOB ":setIamPolicy", vt, "{\"policy\":{}}", 403,
        "PERMISSION_DENIED",
        "Permission 'run.jobs.setIamPolicy' denied on resource '" JOB_NAME
        "' (or resource may not exist).");
  fails("POST", "/v1/projects/" P ":setIamPolicy", vt, "{\"policy\":{}}", 403,
        "PERMISSION_DENIED", NULL);
  fails("POST", SA_PATH SCHEDULER ":setIamPolicy", vt, "{\"policy\":{}}", 403,
        "PERMISSION_DENIED", NULL);
  free(vt);
  free(rt);
}

Test(run_admin, not_found) {
  char *at = admin_token(), *rt = runner_token();
  fails("GET", LOC "/services/nope", at, NULL, 404, "NOT_FOUND",
        "Resource 'nope' of kind 'SERVICE' in region 'us-central1' in "
        "project '" P "' does not exist.");
  fails("GET", LOC "/jobs/nope:getIamPolicy", at, NULL, 404, "NOT_FOUND",
        "Resource 'nope' of kind 'JOB' in region 'us-central1' in project "
        "'" P "' does not exist.");
  /* Without the permission a missing resource is a 403, as at Google. */
  fails("GET", LOC "/services/nope", rt, NULL, 403, "PERMISSION_DENIED", NULL);
  fails("GET", SA_PATH "nope@" P ".iam.gserviceaccount.com", at, NULL, 404,
        "NOT_FOUND", "Unknown service account");
  fails("POST", SA_PATH "nope@" P ".iam.gserviceaccount.com:getIamPolicy", at,
        "{}", 404, "NOT_FOUND", "Unknown service account");
  fails("GET", "/v1/roles/nope", at, NULL, 404, "NOT_FOUND",
        "The role named roles/nope was not found.");
  fails("GET", "/v1/projects/" P "/roles/nope", at, NULL, 404, "NOT_FOUND",
        NULL);
  /* getIamPolicy is a GET in Cloud Run v2, a POST elsewhere. */
  fails("POST", JOB ":getIamPolicy", at, "{}", 405, "METHOD_NOT_ALLOWED", NULL);
  fails("GET", "/v1/projects/" P ":getIamPolicy", at, NULL, 405,
        "METHOD_NOT_ALLOWED", NULL);
  free(rt);
  free(at);
}

/* ---- IAM policies ------------------------------------------------------- */

TestSuite(policy, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

Test(policy, exactly_the_resource) {
  char *at = admin_token();
  char m[1024];
  cJSON *p = ok("POST", "/v1/projects/" P ":getIamPolicy", at, "{}");
  cr_expect_eq(jget(p, "version")->valueint, 1);
  cr_expect_not_null(jstr(p, "etag"));
  members_of(p, "roles/owner", m, sizeof m);
  cr_expect_str_eq(m, "user:admin@example.com");
  members_of(p, "roles/viewer", m, sizeof m);
  cr_expect_str_eq(m, "user:developer@example.com");
  members_of(p, "roles/run.invoker", m, sizeof m);
  cr_expect_str_eq(m, "", "a service's binding is not the project's");
  cJSON_Delete(p);
  p = ok("POST", "/v3/projects/123456789012:getIamPolicy", at, "{}");
  members_of(p, "roles/owner", m, sizeof m);
  cr_expect_str_eq(m, "user:admin@example.com");
  cJSON_Delete(p);
  /* A service's policy: its own bindings, none inherited. */
  p = ok("GET", LOC "/services/collector:getIamPolicy", at, NULL);
  cr_expect_eq(cJSON_GetArraySize(jget(p, "bindings")), 1);
  members_of(p, "roles/run.invoker", m, sizeof m);
  cr_expect_str_eq(m, "serviceAccount:" SCHEDULER);
  cJSON_Delete(p);
  p = ok("POST", "/v1/projects/-/serviceAccounts/" SCHEDULER ":getIamPolicy",
         at, "{\"options\":{\"requestedPolicyVersion\":3}}");
  members_of(p, "roles/iam.serviceAccountTokenCreator", m, sizeof m);
  cr_expect_str_eq(m, "serviceAccount:" RUNNER);
  cJSON_Delete(p);
  /* No binding at all: no "bindings". */
  p = ok("GET", LOC "/jobs/nightly:getIamPolicy", at, NULL);
  cr_expect_null(jget(p, "bindings"));
  cJSON_Delete(p);
  free(at);
}

Test(policy, etag_conflict) {
  char *at = admin_token(), body[1024];
  cJSON *p = ok("GET", LOC "/services/web:getIamPolicy", at, NULL);
  char *e1 = strdup(jstr(p, "etag"));
  cJSON_Delete(p);
  snprintf(body, sizeof body,
           "{\"policy\":{\"etag\":\"%s\",\"bindings\":[{\"role\":\"roles/"
           "run.invoker\",\"members\":[\"allUsers\"]}]}}",
           e1);
  p = ok("POST", LOC "/services/web:setIamPolicy", at, body);
  cr_expect_str_neq(jstr(p, "etag"), e1);
  char *e2 = strdup(jstr(p, "etag"));
  cJSON_Delete(p);
  /* The read shows the new etag; the old one is stale. */
  p = ok("GET", LOC "/services/web:getIamPolicy", at, NULL);
  cr_expect_str_eq(jstr(p, "etag"), e2);
  cJSON_Delete(p);
  fails("POST", LOC "/services/web:setIamPolicy", at, body, 409, "ABORTED",
        "There were concurrent policy changes. Please retry the whole "
        "read-modify-write with exponential backoff.");
  /* A change through the control API changes the etag too. */
  cr_assert_eq(emu_control(g_base, "/emulator/v1/policy:add",
                           "{\"resource\":\"projects/" P
                           "/locations/us-central1/services/web\",\"role\":"
                           "\"roles/run.invoker\",\"member\":\"user:x@"
                           "example.com\"}",
                           NULL),
               200);
  snprintf(body, sizeof body, "{\"policy\":{\"etag\":\"%s\",\"bindings\":[]}}",
           e2);
  fails("POST", LOC "/services/web:setIamPolicy", at, body, 409, "ABORTED",
        NULL);
  /* Another resource's etag is stale here. */
  p = ok("GET", LOC "/jobs/nightly:getIamPolicy", at, NULL);
  snprintf(body, sizeof body, "{\"policy\":{\"etag\":\"%s\"}}",
           jstr(p, "etag"));
  cJSON_Delete(p);
  fails("POST", LOC "/jobs/collect:setIamPolicy", at, body, 409, "ABORTED",
        NULL);
  /* Without an etag: the policy is overwritten. */
  p = ok("POST", LOC "/services/web:setIamPolicy", at,
         "{\"policy\":{\"bindings\":[]}}");
  cr_expect_null(jget(p, "bindings"));
  cJSON_Delete(p);
  free(e2);
  free(e1);
  free(at);
}

/* setIamPolicy grants run.invoker: the policy says yes at once, the checks
 * (testIamPermissions, :run) say no until the propagation delay passed;
 * a removal likewise keeps granting until then. */
Test(policy, propagation_gap) {
  char *at = admin_token(), *rt = runner_token(), *sched = scheduler_token();
  char m[1024];
  cJSON *p = ok("GET", JOB ":getIamPolicy", at, NULL);
  char body[1024];
  snprintf(body, sizeof body,
           "{\"policy\":{\"etag\":\"%s\",\"bindings\":[{\"role\":\"roles/"
           "run.invoker\",\"members\":[\"serviceAccount:" RUNNER "\"]}]}}",
           jstr(p, "etag"));
  cJSON_Delete(p);
  cJSON_Delete(ok("POST", JOB ":setIamPolicy", at, body));
  p = ok("GET", JOB ":getIamPolicy", at, NULL);
  members_of(p, "roles/run.invoker", m, sizeof m);
  cr_expect_str_eq(m, "serviceAccount:" RUNNER, "the read shows it at once");
  cJSON_Delete(p);
  const char *tip = "{\"permissions\":[\"run.jobs.run\"]}";
  p = ok("POST", JOB ":testIamPermissions", rt, tip);
  cr_expect_null(jget(p, "permissions"), "granted before propagation");
  cJSON_Delete(p);
  fails("POST", JOB ":run", rt, "{}", 403, "PERMISSION_DENIED", NULL);
  /* The scheduler, removed from the policy, still runs the job. */
  cJSON_Delete(ok("POST", JOB ":run", sched, "{}"));

  move_clock(61);
  p = ok("POST", JOB ":testIamPermissions", rt, tip);
  cr_assert_eq(cJSON_GetArraySize(jget(p, "permissions")), 1);
  cJSON_Delete(p);
  cJSON_Delete(ok("POST", JOB ":run", rt, "{}"));
  fails("POST", JOB ":run", sched, "{}", 403, "PERMISSION_DENIED", NULL);
  free(sched);
  free(rt);
  free(at);
}

Test(policy, propagation_setting) {
  char *out = NULL, *at = admin_token(), *rt = runner_token();
  cr_assert_eq(emu_control(g_base, "/emulator/v1/iam-propagation", NULL, &out),
               200);
  cr_expect_str_eq(out, "{\"delay_seconds\":60}");
  free(out);
  cr_expect_eq(emu_control(g_base, "/emulator/v1/iam-propagation",
                           "{\"delay_seconds\":-1}", NULL),
               400);
  cr_assert_eq(emu_control(g_base, "/emulator/v1/iam-propagation",
                           "{\"delay_seconds\":0}", &out),
               200);
  cr_expect_str_eq(out, "{\"delay_seconds\":0}");
  free(out);
  /* No delay: the grant works at once. */
  cJSON_Delete(ok("POST", JOB ":setIamPolicy", at,
                  "{\"policy\":{\"bindings\":[{\"role\":\"roles/run.invoker\","
                  "\"members\":[\"serviceAccount:" RUNNER "\"]}]}}"));
  cJSON_Delete(ok("POST", JOB ":run", rt, "{}"));
  free(rt);
  free(at);
}

Test(policy, invalid) {
  char *at = admin_token();
  emu_reply r = call("POST", JOB ":setIamPolicy", at,
                     "{\"policy\":{\"bindings\":[{\"role\":\"roles/run."
                     "invoker\",\"members\":[\"allUsers\"],\"condition\":"
                     "{\"expression\":\"true\"}}]}}");
  cr_expect_eq(r.status, 400);
  cr_expect_not_null(strstr(r.body, "Conditions are not modelled"), "%s",
                     r.body);
  emu_reply_free(&r);
  fails("POST", JOB ":setIamPolicy", at,
        "{\"policy\":{\"bindings\":[{\"role\":\"roles/nope\",\"members\":"
        "[\"allUsers\"]}]}}",
        400, "INVALID_ARGUMENT",
        "Role roles/nope is not supported for this resource.");
  fails("POST", JOB ":setIamPolicy", at,
        "{\"policy\":{\"bindings\":[{\"role\":\"roles/run.invoker\","
        "\"members\":[\"someone\"]}]}}",
        400, "INVALID_ARGUMENT", "Invalid member: someone");
  fails("POST", JOB ":setIamPolicy", at,
        "{\"policy\":{\"bindings\":[{\"role\":\"roles/run.invoker\","
        "\"members\":[\"serviceAccount:ghost@" P
        ".iam.gserviceaccount.com\"]}]}}",
        400, "INVALID_ARGUMENT",
        "Service account ghost@" P ".iam.gserviceaccount.com does not exist.");
  fails("POST", JOB ":setIamPolicy", at,
        "{\"policy\":{\"auditConfigs\":[{\"service\":\"allServices\"}]}}", 400,
        "INVALID_ARGUMENT", NULL);
  fails("POST", JOB ":setIamPolicy", at, "[not json", 400, "INVALID_ARGUMENT",
        NULL);
  fails("POST", JOB ":setIamPolicy", at, "{}", 400, "INVALID_ARGUMENT", NULL);
  /* Nothing changed. */
  cJSON *p = ok("GET", JOB ":getIamPolicy", at, NULL);
  char m[512];
  members_of(p, "roles/run.invoker", m, sizeof m);
  cr_expect_str_eq(m, "serviceAccount:" SCHEDULER);
  cJSON_Delete(p);
  free(at);
}

Test(policy, project_and_account_set) {
  char *at = admin_token(), m[1024];
  cJSON *p =
      ok("POST", "/v1/projects/" P ":setIamPolicy", at,
         "{\"policy\":{\"bindings\":[{\"role\":\"roles/owner\","
         "\"members\":[\"user:admin@example.com\"]},{\"role\":\"roles/"
         "run.invoker\",\"members\":[\"serviceAccount:" RUNNER "\"]}]}}");
  members_of(p, "roles/viewer", m, sizeof m);
  cr_expect_str_eq(m, "");
  cJSON_Delete(p);
  p = ok("POST", "/v3/projects/" P ":getIamPolicy", at, "{}");
  members_of(p, "roles/run.invoker", m, sizeof m);
  cr_expect_str_eq(m, "serviceAccount:" RUNNER);
  cJSON_Delete(p);
  p = ok(
      "POST", SA_PATH RUNNER ":setIamPolicy", at,
      "{\"policy\":{\"bindings\":[{\"role\":\"roles/"
      "iam.serviceAccountTokenCreator\",\"members\":[\"serviceAccount:" SCHEDULER
      "\"]}]}}");
  members_of(p, "roles/iam.serviceAccountTokenCreator", m, sizeof m);
  cr_expect_str_eq(m, "serviceAccount:" SCHEDULER);
  cJSON_Delete(p);
  free(at);
}

/* ---- IAM: service accounts and roles ------------------------------------ */

TestSuite(iam_reads, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

Test(iam_reads, service_accounts) {
  char *at = viewer_token();
  cJSON *a = ok("GET", "/v1/projects/-/serviceAccounts/" SCHEDULER, at, NULL);
  cr_expect_str_eq(jstr(a, "name"),
                   "projects/" P "/serviceAccounts/" SCHEDULER);
  cr_expect_str_eq(jstr(a, "projectId"), P);
  cr_expect_str_eq(jstr(a, "email"), SCHEDULER);
  const char *uid = jstr(a, "uniqueId");
  cr_assert_not_null(uid);
  cr_expect_str_eq(jstr(a, "oauth2ClientId"), uid);
  cr_expect_not_null(jstr(a, "etag"));
  /* By its unique id too. */
  char path[256];
  snprintf(path, sizeof path, SA_PATH "%s", uid);
  cJSON *b = ok("GET", path, at, NULL);
  cr_expect_str_eq(jstr(b, "email"), SCHEDULER);
  cJSON_Delete(b);
  cJSON_Delete(a);
  cJSON *l =
      ok("GET", "/v1/projects/" P "/serviceAccounts?pageSize=1", at, NULL);
  cr_expect_eq(cJSON_GetArraySize(jget(l, "accounts")), 1);
  const char *tok = jstr(l, "nextPageToken");
  cr_assert_not_null(tok);
  snprintf(path, sizeof path,
           "/v1/projects/" P "/serviceAccounts?pageSize=1&pageToken=%s", tok);
  cJSON *l2 = ok("GET", path, at, NULL);
  cr_expect_eq(cJSON_GetArraySize(jget(l2, "accounts")), 1);
  cr_expect_null(jget(l2, "nextPageToken"));
  cr_expect_str_neq(jstr(cJSON_GetArrayItem(jget(l, "accounts"), 0), "email"),
                    jstr(cJSON_GetArrayItem(jget(l2, "accounts"), 0), "email"));
  cJSON_Delete(l2);
  cJSON_Delete(l);
  free(at);
}

Test(iam_reads, roles) {
  char *st = scheduler_token(), *vt = viewer_token();
  /* Any caller reads a predefined role. */
  cJSON *r = ok("GET", "/v1/roles/run.invoker", st, NULL);
  cr_expect_str_eq(jstr(r, "name"), "roles/run.invoker");
  cr_expect_str_eq(jstr(r, "title"), "Cloud Run Invoker");
  cr_expect_str_eq(jstr(r, "stage"), "GA");
  cr_expect_str_eq(jstr(r, "etag"), "AA==");
  int invoke = 0;
  const cJSON *perm;
  cJSON_ArrayForEach(perm, jget(r, "includedPermissions")) {
    invoke |= strcmp(perm->valuestring, "run.routes.invoke") == 0;
  }
  cr_expect(invoke);
  cJSON_Delete(r);
  r = ok("GET", "/v1/roles/owner", st, NULL);
  int run = 0;
  cJSON_ArrayForEach(perm, jget(r, "includedPermissions")) {
    run |= strcmp(perm->valuestring, "run.jobs.run") == 0;
  }
  cr_expect(run);
  cJSON_Delete(r);
  /* A project's custom role needs iam.roles.get there. */
  fails("GET", "/v1/projects/" P "/roles/doctor", st, NULL, 403,
        "PERMISSION_DENIED", NULL);
  r = ok("GET", "/v1/projects/123456789012/roles/doctor", vt, NULL);
  cr_expect_str_eq(jstr(r, "name"), "projects/" P "/roles/doctor");
  cr_expect_eq(cJSON_GetArraySize(jget(r, "includedPermissions")), 2);
  cJSON_Delete(r);
  free(vt);
  free(st);
}

/* ---- the service route: urls and custom audiences ---------------------- */

TestSuite(audiences, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

static long invoke(const char *service_uri, const char *aud) {
  char *id = runner_id_token(aud);
  char origin[256], auth[4096];
  const char *h[2] = {auth, NULL};
  emu_reply r;
  long st;
  /* The service's own origin (the Cloud Run front end) and its path. */
  const char *p = strchr(service_uri + strlen("http://"), '/');
  cr_assert_not_null(p);
  cr_assert_lt((size_t)(p - service_uri), sizeof origin);
  memcpy(origin, service_uri, (size_t)(p - service_uri));
  origin[p - service_uri] = '\0';
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", id);
  {
    char path[512];
    snprintf(path, sizeof path, "%s/hello", p);
    emu_http(origin, "GET", path, h, NULL, &r);
  }
  cr_assert_eq(r.curl_code, 0, "GET %s/hello: no reply", service_uri);
  st = r.status;
  emu_reply_free(&r);
  free(id);
  return st;
}

Test(audiences, urls_and_custom_audiences) {
  char *at = admin_token();
  cJSON *s = ok("GET", SVC_API, at, NULL);
  const char *uri = jstr(s, "uri");
  const char *alt = cJSON_GetArrayItem(jget(s, "urls"), 1)->valuestring;
  const char *custom =
      cJSON_GetArrayItem(jget(s, "customAudiences"), 0)->valuestring;
  cr_expect_eq(invoke(uri, uri), 200);
  cr_expect_eq(invoke(uri, alt), 200);
  cr_expect_eq(invoke(uri, custom), 200);
  cr_expect_eq(invoke(uri, "https://other.example.com"), 401);
  cJSON_Delete(s);
  /* Another service does not take api's custom audience. */
  s = ok("GET", LOC "/services/collector", at, NULL);
  cr_expect_eq(invoke(jstr(s, "uri"), CUSTOM_AUD), 401);
  cJSON_Delete(s);
  free(at);
}

/* ---- the config -------------------------------------------------------- */

Test(config, bad_service_entries, .timeout = TEST_TIMEOUT) {
  cr_expect_eq(start_with("{\"services\":[{\"name\":\"a\",\"typo\":1}]}"), 2);
  cr_expect_eq(start_with("{\"services\":[{\"custom_audiences\":[]}]}"), 2);
  cr_expect_eq(
      start_with("{\"services\":[{\"name\":\"a\",\"custom_audiences\":[1]}]}"),
      2);
  cr_expect_eq(start_with("{\"iam_propagation_seconds\":-5}"), 2);
  cr_expect_eq(start_with("{\"services\":[\"a/b\"]}"), 2);
}

/* ---- the Date header follows the world's clock -------------------------- */

/* 1 when the reply's Date is the IMF-fixdate of (now + offset), give or take
 * a few seconds. */
static int dated(const emu_reply *r, long offset) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  char got[64], want[64];
  int n = 0;
  cr_assert_not_null(emu_reply_header_get(r, "Date", got, sizeof got),
                     "no Date header: %s", r->headers);
  for (long d = -3; d <= 3; d++) {
    time_t t = time(NULL) + offset + d;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(want, sizeof want, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (strcmp(got, want) == 0) n++;
  }
  return n == 1;
}

TestSuite(date_header, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

Test(date_header, follows_the_clock_on_both_front_ends) {
  char *at = admin_token();
  cJSON *s = ok("GET", SVC_API, at, NULL);
  char origin[256];
  const char *uri = jstr(s, "uri"), *p;
  emu_reply r;
  cr_assert_not_null(uri);
  p = strchr(uri + strlen("http://"), '/');
  cr_assert_not_null(p);
  snprintf(origin, sizeof origin, "%.*s", (int)(p - uri), uri);
  for (int i = 0; i < 3; i++) {
    long off = i == 0 ? 0 : i == 1 ? 3600 : -7200;
    if (i > 0) move_clock(off);
    /* The API base: a success, an error, the control API. */
    r = call("GET", SVC_API, at, NULL);
    cr_expect(dated(&r, off), "API base, offset %ld: %s", off, r.headers);
    emu_reply_free(&r);
    r = call("GET", LOC "/services/nope", at, NULL);
    cr_expect_geq(r.status, 400);
    cr_expect(dated(&r, off), "error, offset %ld: %s", off, r.headers);
    emu_reply_free(&r);
    r = call("GET", "/emulator/v1/counters", NULL, NULL);
    cr_expect(dated(&r, off), "control, offset %ld: %s", off, r.headers);
    emu_reply_free(&r);
    /* The Cloud Run front end: a refusal (no token). */
    emu_http(origin, "GET", p, NULL, NULL, &r);
    cr_assert_eq(r.curl_code, 0);
    cr_expect(dated(&r, off), "Cloud Run, offset %ld: %s", off, r.headers);
    /* One Date only: the daemon's own (the system clock) is suppressed. */
    cr_expect_null(strstr(strstr(r.headers, "Date:") + 5, "\nDate:"), "%s",
                   r.headers);
    emu_reply_free(&r);
  }
  cJSON_Delete(s);
  free(at);
}

/* ---- Resource Manager projects.get --------------------------------------- */

TestSuite(projects_get, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

Test(projects_get, v1_and_v3_by_id_and_number) {
  char *at = admin_token();
  cJSON *o = ok("GET", "/v1/projects/" P, at, NULL);
  cr_expect_str_eq(jstr(o, "projectNumber"), "123456789012");
  cr_expect_str_eq(jstr(o, "projectId"), P);
  cr_expect_str_eq(jstr(o, "lifecycleState"), "ACTIVE");
  cr_expect_str_eq(jstr(o, "name"), P);
  cr_expect_not_null(jstr(o, "createTime"));
  cJSON_Delete(o);
  o = ok("GET", "/v1/projects/123456789012", at, NULL);
  cr_expect_str_eq(jstr(o, "projectId"), P);
  cJSON_Delete(o);
  o = ok("GET", "/v3/projects/" P, at, NULL);
  cr_expect_str_eq(jstr(o, "name"), "projects/123456789012");
  cr_expect_str_eq(jstr(o, "projectId"), P);
  cr_expect_str_eq(jstr(o, "state"), "ACTIVE");
  cr_expect_str_eq(jstr(o, "displayName"), P);
  cJSON_Delete(o);
  free(at);
}

Test(projects_get, denied_and_unknown_alike) {
  char *rt = runner_token(), *at = admin_token();
  fails("GET", "/v1/projects/" P, rt, NULL, 403, "PERMISSION_DENIED",
        "The caller does not have permission");
  fails("GET", "/v3/projects/" P, rt, NULL, 403, "PERMISSION_DENIED",
        "The caller does not have permission");
  fails("GET", "/v1/projects/other-project", at, NULL, 403, "PERMISSION_DENIED",
        "The caller does not have permission");
  fails("GET", "/v3/projects/999", at, NULL, 403, "PERMISSION_DENIED",
        "The caller does not have permission");
  emu_reply r = call("GET", "/v1/projects/" P, NULL, NULL);
  cr_expect_eq(r.status, 401);
  emu_reply_free(&r);
  free(rt);
  free(at);
}

Test(projects_get, neighbours_unchanged) {
  char *at = admin_token();
  cJSON *o = ok("GET", "/v1/projects/" P "/serviceAccounts", at, NULL);
  cr_expect(cJSON_IsArray(jget(o, "accounts")));
  cJSON_Delete(o);
  o = ok("POST", "/v1/projects/" P ":getIamPolicy", at, "{}");
  cr_expect(cJSON_IsArray(jget(o, "bindings")));
  cJSON_Delete(o);
  o = ok("GET", "/v1/projects/" P "/locations/us-central1/jobs", at, NULL);
  cJSON_Delete(o);
  o = ok("GET", SA_PATH SCHEDULER, at, NULL);
  cr_expect_str_eq(jstr(o, "email"), SCHEDULER);
  cJSON_Delete(o);
  free(at);
}

/* ---- disabled service accounts ------------------------------------------- */

TestSuite(disabled, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

static int listed_disabled(const char *at, const char *email) {
  cJSON *o = ok("GET", "/v1/projects/" P "/serviceAccounts", at, NULL), *a;
  int d = -1;
  cJSON_ArrayForEach(a, jget(o, "accounts")) {
    if (strcmp(jstr(a, "email"), email) == 0)
      d = cJSON_IsTrue(jget(a, "disabled"));
  }
  cJSON_Delete(o);
  return d;
}

Test(disabled, disable_and_enable) {
  char *at = admin_token(), *vt = viewer_token(), *rt = runner_token();
  cJSON *o = ok("GET", SA_PATH SCHEDULER, at, NULL);
  cr_expect_null(jget(o, "disabled"), "false is left out");
  cJSON_Delete(o);
  cr_expect_eq(listed_disabled(at, SCHEDULER), 0);
  /* A viewer may not. */
  fails("POST", SA_PATH SCHEDULER ":disable", vt, "{}", 403,
        "PERMISSION_DENIED", NULL);
  fails("POST", SA_PATH "nobody@" P ".iam.gserviceaccount.com:disable", at,
        "{}", 404, "NOT_FOUND", NULL);
  o = ok("POST", SA_PATH SCHEDULER ":disable", at, "{}");
  cr_expect_eq(cJSON_GetArraySize(o), 0, "an empty reply");
  cJSON_Delete(o);
  o = ok("GET", SA_PATH SCHEDULER, at, NULL);
  cr_expect(cJSON_IsTrue(jget(o, "disabled")));
  cJSON_Delete(o);
  cr_expect_eq(listed_disabled(at, SCHEDULER), 1);
  cr_expect_eq(listed_disabled(at, RUNNER), 0);
  /* No token, no signature for it (runner is its token creator). */
  fails("POST",
        "/v1/projects/-/serviceAccounts/" SCHEDULER ":generateAccessToken", rt,
        "{\"scope\":[\"" CLOUD "\"]}", 400, "FAILED_PRECONDITION", NULL);
  fails("POST", "/v1/projects/-/serviceAccounts/" SCHEDULER ":generateIdToken",
        rt, "{\"audience\":\"https://x\"}", 400, "FAILED_PRECONDITION", NULL);
  fails("POST", "/v1/projects/-/serviceAccounts/" SCHEDULER ":signBlob", rt,
        "{\"payload\":\"aGk=\"}", 400, "FAILED_PRECONDITION", NULL);
  /* Enabled again: tokens again, "disabled" left out again. */
  o = ok("POST", SA_PATH SCHEDULER ":enable", at, "{}");
  cJSON_Delete(o);
  o = ok("GET", SA_PATH SCHEDULER, at, NULL);
  cr_expect_null(jget(o, "disabled"));
  cJSON_Delete(o);
  o = ok("POST",
         "/v1/projects/-/serviceAccounts/" SCHEDULER ":generateAccessToken", rt,
         "{\"scope\":[\"" CLOUD "\"]}");
  cJSON_Delete(o);
  free(at);
  free(vt);
  free(rt);
}

Test(disabled, in_the_config, .timeout = TEST_TIMEOUT) {
  const char *h[] = {"Metadata-Flavor: Google", NULL};
  emu_reply r;
  cr_expect_eq(
      start_with("{\"service_accounts\":[{\"email\":\"" SCHEDULER
                 "\"},{\"email\":\"" RUNNER "\",\"disabled\":\"yes\"}]}"),
      2);
  cr_assert_eq(start_with("{\"service_accounts\":[{\"email\":\"" SCHEDULER
                          "\"},{\"email\":\"" RUNNER "\",\"disabled\":true}]}"),
               -1);
  /* The metadata server's account is disabled: no token, no identity. */
  emu_http(g_base, "GET",
           "/computeMetadata/v1/instance/service-accounts/default/token", h,
           NULL, &r);
  cr_expect_eq(r.status, 400, "%s", r.body);
  cr_expect_not_null(strstr(r.body, "invalid_grant"), "%s", r.body);
  emu_reply_free(&r);
  emu_http(g_base, "GET",
           "/computeMetadata/v1/instance/service-accounts/default/"
           "identity?audience=https://x",
           h, NULL, &r);
  cr_expect_eq(r.status, 400, "%s", r.body);
  emu_reply_free(&r);
  stop();
}

/* ---- OAuth tokeninfo --------------------------------------------------- */

TestSuite(tokeninfo, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

static void invalid_token(const emu_reply *r) {
  cr_expect_eq(r->status, 400, "%s", r->body);
  cJSON *j = json_of(r);
  cr_expect_str_eq(jstr(j, "error"), "invalid_token");
  cr_expect_str_eq(jstr(j, "error_description"), "Invalid Value");
  cJSON_Delete(j);
}

Test(tokeninfo, access_token) {
  char *at = scheduler_token(), path[1024];
  const char *form[] = {"Content-Type: application/x-www-form-urlencoded",
                        NULL};
  emu_reply r;
  snprintf(path, sizeof path, "/tokeninfo?access_token=%s", at);
  cJSON *o = ok("GET", path, NULL, NULL);
  cr_expect_str_eq(jstr(o, "scope"), CLOUD);
  cr_expect_str_eq(jstr(o, "email"), SCHEDULER);
  cr_expect_str_eq(jstr(o, "email_verified"), "true");
  cr_expect_str_eq(jstr(o, "access_type"), "online");
  cr_expect_not_null(jstr(o, "azp"));
  cr_expect_not_null(jstr(o, "aud"));
  cr_expect_not_null(jstr(o, "sub"));
  cr_assert_not_null(jstr(o, "exp"), "exp is a string");
  cr_assert_not_null(jstr(o, "expires_in"), "expires_in is a string");
  long in = atol(jstr(o, "expires_in"));
  cr_expect(in > 3500 && in <= 3600, "expires_in %ld", in);
  cr_expect(atol(jstr(o, "exp")) - (long)time(NULL) - in <= 2);
  cJSON_Delete(o);
  /* www.googleapis.com's path, a form body. */
  char body[1024];
  snprintf(body, sizeof body, "access_token=%s", at);
  emu_http(g_base, "POST", "/oauth2/v3/tokeninfo", form, body, &r);
  cr_expect_eq(r.status, 200, "%s", r.body);
  emu_reply_free(&r);
  /* Unknown, then expired on the emulator's clock. */
  r = call("GET", "/tokeninfo?access_token=ya29.nope", NULL, NULL);
  invalid_token(&r);
  emu_reply_free(&r);
  move_clock(7200);
  r = call("GET", path, NULL, NULL);
  invalid_token(&r);
  emu_reply_free(&r);
  r = call("GET", "/tokeninfo", NULL, NULL);
  cr_expect_eq(r.status, 400);
  emu_reply_free(&r);
  free(at);
}

Test(tokeninfo, id_token) {
  char *id = runner_id_token("https://x.example.com"), path[4096];
  emu_reply r;
  snprintf(path, sizeof path, "/tokeninfo?id_token=%s", id);
  cJSON *o = ok("GET", path, NULL, NULL);
  cr_expect_str_eq(jstr(o, "aud"), "https://x.example.com");
  cr_expect_str_eq(jstr(o, "email"), RUNNER);
  cr_expect_str_eq(jstr(o, "iss"), "https://accounts.google.com");
  cr_expect_not_null(jstr(o, "exp"), "exp is a string");
  cr_expect_not_null(jstr(o, "iat"), "iat is a string");
  cr_expect_str_eq(jstr(o, "email_verified"), "true");
  cr_expect_str_eq(jstr(o, "alg"), "RS256");
  cr_expect_not_null(jstr(o, "kid"));
  cJSON_Delete(o);
  /* A forged signature; then expired. */
  size_t n = strlen(id);
  id[n - 2] = id[n - 2] == 'A' ? 'B' : 'A';
  snprintf(path, sizeof path, "/tokeninfo?id_token=%s", id);
  r = call("GET", path, NULL, NULL);
  invalid_token(&r);
  emu_reply_free(&r);
  free(id);
  id = runner_id_token("https://x.example.com");
  snprintf(path, sizeof path, "/tokeninfo?id_token=%s", id);
  move_clock(7200);
  r = call("GET", path, NULL, NULL);
  invalid_token(&r);
  emu_reply_free(&r);
  free(id);
}
