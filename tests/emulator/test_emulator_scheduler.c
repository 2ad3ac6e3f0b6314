/* gauth-emulator: Cloud Scheduler v1, end to end over real HTTP. Each test
 * starts an emulator of its own (they move its clock and change its
 * policy) and, where an attempt needs a target, a small HTTP server of its
 * own on 127.0.0.1 that records what it receives.
 *
 * The caller is the metadata server's account (runner@), given
 * roles/cloudscheduler.admin on the project and roles/iam.serviceAccountUser
 * on scheduler@, the job's account, unless a test says otherwise. */
#define _GNU_SOURCE /* strcasestr, strptime, timegm, usleep */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "emu_spawn.h"

#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define AGENT \
  "service-123456789012@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
#define PARENT "/v1/projects/demo-project/locations/us-central1/jobs"
#define NAME "projects/demo-project/locations/us-central1/jobs/"

/* ---- the emulator ---------------------------------------------------------
 */

static emu_proc em;
static char base[256];

static void start(void) {
  char msg[512];
  const char *bin = getenv("GAUTH_EMULATOR_BIN");
  cr_assert_not_null(bin, "GAUTH_EMULATOR_BIN is not set");
  cr_assert_eq(emu_spawn(&em, bin, "sched", msg, sizeof msg), 0, "%s", msg);
  snprintf(base, sizeof base, "%s", em.base);
}

static void stop(void) {
  char how[128];
  if (em.pid > 0) {
    int rc = emu_spawn_stop(&em, how, sizeof how);
    if (rc != 0) emu_spawn_print_stderr_tail(&em);
    /* A clean stop: the scheduler's thread ends, an attempt under way is
     * aborted (and under a valgrind wrapper, no error). */
    cr_expect_eq(rc, 0, "the emulator %s", how);
    emu_spawn_cleanup(&em);
    em.pid = 0;
  }
}

TestSuite(scheduler, .init = start, .fini = stop, .timeout = 120);

static void role_grant(const char *resource, const char *role,
                       const char *email) {
  char body[600];
  snprintf(body, sizeof body,
           "{\"resource\":\"%s\",\"role\":\"%s\",\"member\":"
           "\"serviceAccount:%s\"}",
           resource, role, email);
  cr_assert_eq(emu_control(base, "/emulator/v1/policy:add", body, NULL), 200);
}

static void role_drop(const char *resource, const char *role,
                      const char *email) {
  char body[600];
  snprintf(body, sizeof body,
           "{\"resource\":\"%s\",\"role\":\"%s\",\"member\":"
           "\"serviceAccount:%s\"}",
           resource, role, email);
  cr_assert_eq(emu_control(base, "/emulator/v1/policy:remove", body, NULL),
               200);
}

static void grant_caller(void) {
  role_grant("projects/demo-project", "roles/cloudscheduler.admin", RUNNER);
  role_grant("projects/demo-project/serviceAccounts/" SCHEDULER,
             "roles/iam.serviceAccountUser", RUNNER);
}

/* The runner's access token, from the metadata server. */
static char token[2048];
static const char *caller_token(void) {
  static const char *const h[] = {"Metadata-Flavor: Google", NULL};
  emu_reply r;
  emu_http(base, "GET",
           "/computeMetadata/v1/instance/service-accounts/default/token", h,
           NULL, &r);
  cr_assert_eq(r.status, 200);
  cJSON *o = cJSON_Parse(r.body);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "access_token");
  cr_assert(cJSON_IsString(t));
  snprintf(token, sizeof token, "%s", t->valuestring);
  cJSON_Delete(o);
  emu_reply_free(&r);
  return token;
}

/* A call to the API with a bearer token: the status, and the body parsed
 * into *out (may be NULL). */
static long api(const char *method, const char *path, const char *bearer,
                const char *body, cJSON **out) {
  char auth[2200];
  const char *h[3] = {auth, "Content-Type: application/json", NULL};
  emu_reply r;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
  emu_http(base, method, path, h, body, &r);
  long st = r.status;
  if (out != NULL) {
    *out = cJSON_Parse(r.body);
    cr_assert_not_null(*out, "not JSON: %s", r.body);
  }
  emu_reply_free(&r);
  return st;
}

static const char *str(const cJSON *o, const char *path) {
  char buf[200];
  snprintf(buf, sizeof buf, "%s", path);
  const cJSON *v = o;
  for (char *save = NULL, *p = strtok_r(buf, ".", &save); p;
       p = strtok_r(NULL, ".", &save))
    v = cJSON_GetObjectItemCaseSensitive(v, p);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *path) {
  char buf[200];
  snprintf(buf, sizeof buf, "%s", path);
  const cJSON *v = o;
  for (char *save = NULL, *p = strtok_r(buf, ".", &save); p;
       p = strtok_r(NULL, ".", &save))
    v = cJSON_GetObjectItemCaseSensitive(v, p);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int64_t when(const cJSON *o, const char *member) {
  const char *s = str(o, member);
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) return 0;
  return (int64_t)timegm(&tm);
}

/* Creates a job (the body's name is NAME + id); asserts 200. */
static void create(const char *id, const char *rest) {
  char body[4096];
  cJSON *o;
  snprintf(body, sizeof body, "{\"name\":\"" NAME "%s\",%s}", id, rest);
  long st = api("POST", PARENT, token, body, &o);
  cr_assert_eq(st, 200, "create %s: %ld %s", id, st, cJSON_Print(o));
  cJSON_Delete(o);
}

static cJSON *get_job(const char *id) {
  char path[300];
  cJSON *o;
  snprintf(path, sizeof path, PARENT "/%s", id);
  cr_assert_eq(api("GET", path, token, NULL, &o), 200);
  return o;
}

/* The AttemptFinished entries of a job. */
static int finished_count(const char *id, cJSON **entries) {
  char path[300], *body = NULL;
  snprintf(path, sizeof path, "/emulator/v1/scheduler/logs?job=%s", id);
  cr_assert_eq(emu_control(base, path, NULL, &body), 200);
  cJSON *o = cJSON_Parse(body), *e;
  free(body);
  int n = 0;
  cJSON *fin = cJSON_CreateArray();
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "entries")) {
    const char *t = str(e, "jsonPayload.@type");
    if (t && strstr(t, "AttemptFinished")) {
      n++;
      cJSON_AddItemToArray(fin, cJSON_Duplicate(e, 1));
    }
  }
  cJSON_Delete(o);
  if (entries)
    *entries = fin;
  else
    cJSON_Delete(fin);
  return n;
}

/* Waits (up to secs) for a job's n-th finished attempt. */
static void wait_finished(const char *id, int n, int secs) {
  for (int i = 0; i < secs * 20; i++) {
    if (finished_count(id, NULL) >= n) return;
    usleep(50000);
  }
  cr_assert_fail("job %s: %d attempts did not finish in %d s", id, n, secs);
}

static void run_now(const char *id) {
  char path[300];
  snprintf(path, sizeof path, PARENT "/%s:run", id);
  cr_assert_eq(api("POST", path, token, "", NULL), 200);
}

/* Moves the emulator's clock so that its now is at least t. */
static void clock_to(int64_t t) {
  char body[100];
  snprintf(body, sizeof body, "{\"offset_seconds\":%lld}",
           (long long)(t - (int64_t)time(NULL)));
  cr_assert_eq(emu_control(base, "/emulator/v1/clock", body, NULL), 200);
}

/* ---- a target: an HTTP server of the test's own ----------------------------
 */

typedef struct target {
  int fd, port;
  pthread_t th;
  pthread_mutex_t mu;
  int fail_first; /* answer 500 this many times, then 200 */
  int hang;       /* accept, read, never answer */
  int redirect;   /* answer the first request with a 302 to /final */
  int hits;
  char last[16384]; /* the last request: head and body */
} target;

static target tg = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *serve(void *arg) {
  target *t = arg;
  for (;;) {
    int c = accept(t->fd, NULL, NULL);
    if (c < 0) return NULL;
    char buf[16384];
    size_t n = 0;
    ssize_t k;
    /* Head, then Content-Length bytes of body. */
    while (n < sizeof buf - 1 &&
           (k = read(c, buf + n, sizeof buf - 1 - n)) > 0) {
      n += (size_t)k;
      buf[n] = '\0';
      char *end = strstr(buf, "\r\n\r\n");
      if (end == NULL) continue;
      const char *cl = strcasestr(buf, "\r\nContent-Length:");
      size_t want = cl ? (size_t)atol(cl + 17) : 0;
      if (n >= (size_t)(end + 4 - buf) + want) break;
    }
    pthread_mutex_lock(&t->mu);
    t->hits++;
    memcpy(t->last, buf, n + 1);
    int fail = t->hits <= t->fail_first, hang = t->hang;
    int redirect = t->redirect && t->hits == 1;
    pthread_mutex_unlock(&t->mu);
    if (redirect) {
      const char *r =
          "HTTP/1.1 302 Found\r\nLocation: /final\r\n"
          "Content-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!write(c, r, strlen(r));
    } else if (hang) {
      char sink[256];
      while (read(c, sink, sizeof sink) > 0) {
      }
    } else {
      const char *r = fail ? "HTTP/1.1 500 Internal Server Error\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n"
                           : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                             "Connection: close\r\n\r\nok";
      (void)!write(c, r, strlen(r));
    }
    close(c);
  }
}

static void target_start(void) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  tg.fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(tg.fd >= 0);
  cr_assert_eq(bind(tg.fd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(tg.fd, 16), 0);
  cr_assert_eq(getsockname(tg.fd, (struct sockaddr *)&sa, &len), 0);
  tg.port = ntohs(sa.sin_port);
  cr_assert_eq(pthread_create(&tg.th, NULL, serve, &tg), 0);
  pthread_detach(tg.th);
}

static int target_hits(void) {
  pthread_mutex_lock(&tg.mu);
  int n = tg.hits;
  pthread_mutex_unlock(&tg.mu);
  return n;
}

/* A header of the target's last request, copied into out ("" if none). */
static const char *last_header(const char *name, char *out, size_t n) {
  char pat[100];
  out[0] = '\0';
  snprintf(pat, sizeof pat, "\r\n%s:", name);
  pthread_mutex_lock(&tg.mu);
  const char *p = strcasestr(tg.last, pat);
  if (p != NULL) {
    p += strlen(pat);
    while (*p == ' ') p++;
    size_t k = strcspn(p, "\r\n");
    snprintf(out, n, "%.*s", (int)k, p);
  }
  pthread_mutex_unlock(&tg.mu);
  return out;
}

/* ---- the REST API ----------------------------------------------------------
 */

Test(scheduler, crud_list_patch_pause_resume_delete) {
  cJSON *o;
  grant_caller();
  caller_token();
  create("a",
         "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":"
         "\"http://127.0.0.1:9/x\",\"oidcToken\":{\"serviceAccountEmail\":"
         "\"" SCHEDULER "\"}}");
  /* What Google fills in. */
  o = get_job("a");
  cr_expect_str_eq(str(o, "name"), NAME "a");
  cr_expect_str_eq(str(o, "state"), "ENABLED");
  cr_expect_str_eq(str(o, "httpTarget.httpMethod"), "POST");
  cr_expect_str_eq(str(o, "httpTarget.oidcToken.audience"),
                   "http://127.0.0.1:9/x");
  cr_expect_str_eq(str(o, "attemptDeadline"), "180s");
  cr_expect_str_eq(str(o, "timeZone"), "Etc/UTC");
  cr_expect_str_eq(str(o, "retryConfig.minBackoffDuration"), "5s");
  cr_expect_not_null(str(o, "userUpdateTime"));
  int64_t next = when(o, "scheduleTime");
  cr_expect(next > 0 && next % 86400 == 0, "scheduleTime %lld",
            (long long)next);
  cr_expect_null(cJSON_GetObjectItemCaseSensitive(o, "status"));
  cr_expect_null(cJSON_GetObjectItemCaseSensitive(o, "lastAttemptTime"));
  cJSON_Delete(o);

  /* The project by number names the same job. */
  cr_expect_eq(
      api("GET", "/v1/projects/123456789012/locations/us-central1/jobs/a",
          token, NULL, &o),
      200);
  cr_expect_str_eq(str(o, "name"), NAME "a");
  cJSON_Delete(o);

  /* Duplicate, missing. */
  cr_expect_eq(api("POST", PARENT, token,
                   "{\"name\":\"" NAME "a\",\"schedule\":\"* * * * *\","
                   "\"httpTarget\":{\"uri\":\"http://127.0.0.1:9/\"}}",
                   &o),
               409);
  cr_expect_str_eq(str(o, "error.status"), "ALREADY_EXISTS");
  cJSON_Delete(o);
  cr_expect_eq(api("GET", PARENT "/nope", token, NULL, &o), 404);
  cr_expect_str_eq(str(o, "error.status"), "NOT_FOUND");
  cJSON_Delete(o);

  /* List, a page at a time. */
  create("b",
         "\"schedule\":\"0 * * * *\",\"httpTarget\":{\"uri\":"
         "\"http://127.0.0.1:9/b\"}");
  cr_expect_eq(api("GET", PARENT "?pageSize=1", token, NULL, &o), 200);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "jobs")), 1);
  const char *tok = str(o, "nextPageToken");
  cr_assert_not_null(tok);
  char path[300];
  snprintf(path, sizeof path, PARENT "?pageSize=1&pageToken=%s", tok);
  cJSON_Delete(o);
  cr_expect_eq(api("GET", path, token, NULL, &o), 200);
  cr_expect_str_eq(
      str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "jobs"), 0), "name"),
      NAME "b");
  cr_expect_null(str(o, "nextPageToken"));
  cJSON_Delete(o);

  /* PATCH with a mask: only the masked fields change. */
  cr_expect_eq(api("PATCH", PARENT "/a?updateMask=description,schedule", token,
                   "{\"description\":\"d\",\"schedule\":\"0 3 * * *\","
                   "\"timeZone\":\"Europe/Paris\"}",
                   &o),
               200);
  cr_expect_str_eq(str(o, "description"), "d");
  cr_expect_str_eq(str(o, "schedule"), "0 3 * * *");
  cr_expect_str_eq(str(o, "timeZone"), "Etc/UTC");
  cJSON_Delete(o);
  /* A nested path. */
  cr_expect_eq(api("PATCH", PARENT "/a?updateMask=httpTarget.uri", token,
                   "{\"httpTarget\":{\"uri\":\"http://127.0.0.1:9/y\"}}", &o),
               200);
  cr_expect_str_eq(str(o, "httpTarget.uri"), "http://127.0.0.1:9/y");
  cr_expect_str_eq(str(o, "httpTarget.oidcToken.serviceAccountEmail"),
                   SCHEDULER);
  cJSON_Delete(o);
  /* No mask: every field given. */
  cr_expect_eq(
      api("PATCH", PARENT "/a", token, "{\"timeZone\":\"Europe/Paris\"}", &o),
      200);
  cr_expect_str_eq(str(o, "timeZone"), "Europe/Paris");
  cr_expect_str_eq(str(o, "description"), "d");
  cJSON_Delete(o);
  /* Bad input: libgauth's checks and the schedule's. */
  cr_expect_eq(api("PATCH", PARENT "/a?updateMask=retryConfig", token,
                   "{\"retryConfig\":{\"retryCount\":7}}", &o),
               400);
  cr_expect_str_eq(str(o, "error.status"), "INVALID_ARGUMENT");
  cr_expect(strstr(str(o, "error.message"), "retryCount") != NULL);
  cJSON_Delete(o);
  cr_expect_eq(
      api("PATCH", PARENT "/a", token, "{\"schedule\":\"61 * * * *\"}", &o),
      400);
  cr_expect(strstr(str(o, "error.message"), "schedule") != NULL, "%s",
            str(o, "error.message"));
  cJSON_Delete(o);
  cr_expect_eq(
      api("PATCH", PARENT "/a", token, "{\"timeZone\":\"Mars/Olympus\"}", &o),
      400);
  cr_expect(strstr(str(o, "error.message"), "timeZone") != NULL);
  cJSON_Delete(o);
  cr_expect_eq(api("PATCH", PARENT "/a", token, "{\"bogus\":1}", &o), 400);
  cJSON_Delete(o);
  cr_expect_eq(api("POST", PARENT, token,
                   "{\"name\":\"jobs/x\",\"schedule\":\"* * * * *\","
                   "\"httpTarget\":{\"uri\":\"http://127.0.0.1:9/\"}}",
                   &o),
               400);
  cJSON_Delete(o);

  /* Pause, resume. */
  cr_expect_eq(api("POST", PARENT "/a:pause", token, "", &o), 200);
  cr_expect_str_eq(str(o, "state"), "PAUSED");
  cJSON_Delete(o);
  cr_expect_eq(api("POST", PARENT "/a:resume", token, "", &o), 200);
  cr_expect_str_eq(str(o, "state"), "ENABLED");
  cJSON_Delete(o);

  /* Delete: {} then 404. */
  cr_expect_eq(api("DELETE", PARENT "/a", token, NULL, &o), 200);
  cr_expect_eq(cJSON_GetArraySize(o), 0);
  cJSON_Delete(o);
  cr_expect_eq(api("GET", PARENT "/a", token, NULL, NULL), 404);

  /* Another location; an ID token. */
  cr_expect_eq(
      api("GET", "/v1/projects/demo-project/locations/europe-west1/jobs", token,
          NULL, &o),
      400);
  cr_expect(strstr(str(o, "error.message"), "Location must equal us-central1"));
  cJSON_Delete(o);
  cr_expect_eq(api("GET", PARENT, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", NULL, &o),
               401);
  cr_expect_str_eq(str(o, "error.status"), "UNAUTHENTICATED");
  cJSON_Delete(o);
}

Test(scheduler, permissions) {
  cJSON *o;
  caller_token(); /* runner@, holding nothing yet */
  static const char *const job =
      "{\"name\":\"" NAME
      "p\",\"schedule\":\"* * * * *\",\"httpTarget\":{"
      "\"uri\":\"http://127.0.0.1:9/\",\"oauthToken\":{"
      "\"serviceAccountEmail\":\"" SCHEDULER "\"}}}";
  static const struct {
    const char *method, *path, *perm;
  } calls[] = {
      {"POST", PARENT, "cloudscheduler.jobs.create"},
      {"GET", PARENT, "cloudscheduler.jobs.list"},
      {"GET", PARENT "/p", "cloudscheduler.jobs.get"},
      {"PATCH", PARENT "/p", "cloudscheduler.jobs.update"},
      {"DELETE", PARENT "/p", "cloudscheduler.jobs.delete"},
      {"POST", PARENT "/p:pause", "cloudscheduler.jobs.pause"},
      {"POST", PARENT "/p:resume", "cloudscheduler.jobs.enable"},
      {"POST", PARENT "/p:run", "cloudscheduler.jobs.run"},
  };
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    long st =
        api(calls[i].method, calls[i].path, token,
            strcmp(calls[i].method, "GET") && strcmp(calls[i].method, "DELETE")
                ? job
                : NULL,
            &o);
    cr_expect_eq(st, 403, "%s %s: %ld", calls[i].method, calls[i].path, st);
    cr_expect_str_eq(str(o, "error.status"), "PERMISSION_DENIED");
    cr_expect(strstr(str(o, "error.message"), calls[i].perm) != NULL, "%s: %s",
              calls[i].perm, str(o, "error.message"));
    cJSON_Delete(o);
  }
  /* The admin role without actAs on the job's account: create refused. */
  role_grant("projects/demo-project", "roles/cloudscheduler.admin", RUNNER);
  cr_expect_eq(api("POST", PARENT, token, job, &o), 403);
  cr_expect(strstr(str(o, "error.message"), "iam.serviceAccounts.actAs"));
  cr_expect(strstr(str(o, "error.message"), SCHEDULER));
  cJSON_Delete(o);
  /* With it: created. A patch to another account needs actAs there too. */
  role_grant("projects/demo-project/serviceAccounts/" SCHEDULER,
             "roles/iam.serviceAccountUser", RUNNER);
  cr_expect_eq(api("POST", PARENT, token, job, NULL), 200);
  cr_expect_eq(api("PATCH",
                   PARENT "/p?updateMask=httpTarget.oauthToken."
                          "serviceAccountEmail",
                   token,
                   "{\"httpTarget\":{\"oauthToken\":{\"serviceAccountEmail\":"
                   "\"" RUNNER "\"}}}",
                   &o),
               403);
  cr_expect(strstr(str(o, "error.message"), "iam.serviceAccounts.actAs"));
  cr_expect(strstr(str(o, "error.message"), RUNNER));
  cJSON_Delete(o);
  /* A patch that leaves the account alone needs no actAs. */
  role_drop("projects/demo-project/serviceAccounts/" SCHEDULER,
            "roles/iam.serviceAccountUser", RUNNER);
  cr_expect_eq(
      api("PATCH", PARENT "/p", token, "{\"description\":\"x\"}", NULL), 200);
  /* The viewer role reads; the job runner runs and reads nothing. */
  role_drop("projects/demo-project", "roles/cloudscheduler.admin", RUNNER);
  role_grant("projects/demo-project", "roles/cloudscheduler.viewer", RUNNER);
  cr_expect_eq(api("GET", PARENT "/p", token, NULL, NULL), 200);
  cr_expect_eq(api("POST", PARENT "/p:run", token, "", NULL), 403);
  role_drop("projects/demo-project", "roles/cloudscheduler.viewer", RUNNER);
  role_grant(NAME "p", "roles/cloudscheduler.jobRunner", RUNNER);
  cr_expect_eq(api("POST", PARENT "/p:run", token, "", NULL), 200);
  cr_expect_eq(api("GET", PARENT "/p", token, NULL, NULL), 403);
}

/* ---- attempts
 * ---------------------------------------------------------------- */

static const char *run_job_uri(void) {
  return "https://run.googleapis.com/v2/projects/demo-project/locations/"
         "us-central1/jobs/collect:run";
}

Test(scheduler, run_job_oidc_unauthenticated_oauth_ok) {
  char rest[1024];
  grant_caller();
  caller_token();
  snprintf(rest, sizeof rest,
           "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":\"%s\","
           "\"oidcToken\":{\"serviceAccountEmail\":\"" SCHEDULER "\"}}",
           run_job_uri());
  create("oidc", rest);
  snprintf(rest, sizeof rest,
           "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":\"%s\","
           "\"oauthToken\":{\"serviceAccountEmail\":\"" SCHEDULER "\"}}",
           run_job_uri());
  create("oauth", rest);

  char *before = NULL;
  emu_control(base, "/emulator/v1/counters", NULL, &before);
  cJSON *b = cJSON_Parse(before);
  free(before);
  double n0 = num(b,
                  "executions.projects/demo-project/locations/us-central1/"
                  "jobs/collect");
  cJSON_Delete(b);

  /* An ID token at a Google API: 401, UNAUTHENTICATED (16). */
  run_now("oidc");
  wait_finished("oidc", 1, 20);
  cJSON *o = get_job("oidc"), *entries;
  cr_expect_eq(num(o, "status.code"), 16);
  cr_expect_neq(when(o, "lastAttemptTime"), 0);
  cJSON_Delete(o);
  finished_count("oidc", &entries);
  cJSON *e = cJSON_GetArrayItem(entries, 0);
  cr_expect_str_eq(str(e, "jsonPayload.status"), "UNAUTHENTICATED");
  cr_expect_str_eq(str(e, "jsonPayload.debugInfo"),
                   "URL_ERROR-ERROR_AUTHENTICATION. Original HTTP response "
                   "code number = 401");
  cr_expect_eq(num(e, "httpRequest.status"), 401);
  cr_expect_str_eq(str(e, "severity"), "ERROR");
  cr_expect_str_eq(str(e, "resource.type"), "cloud_scheduler_job");
  cr_expect_str_eq(str(e, "resource.labels.job_id"), "oidc");
  cr_expect_str_eq(str(e, "logName"),
                   "projects/demo-project/logs/"
                   "cloudscheduler.googleapis.com%2Fexecutions");
  /* No token in the log. */
  char *text = cJSON_PrintUnformatted(entries);
  cr_expect_null(strstr(text, "eyJ"));
  cr_expect_null(strstr(text, "ya29"));
  free(text);
  cJSON_Delete(entries);

  /* An access token: OK, and the job ran. */
  run_now("oauth");
  wait_finished("oauth", 1, 20);
  o = get_job("oauth");
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
  cr_expect(cJSON_IsObject(st) && cJSON_GetArraySize(st) == 0,
            "status on success is {}");
  cJSON_Delete(o);
  char *after = NULL;
  emu_control(base, "/emulator/v1/counters", NULL, &after);
  cJSON *a = cJSON_Parse(after);
  free(after);
  cr_expect_eq(num(a,
                   "executions.projects/demo-project/locations/us-central1/"
                   "jobs/collect"),
               (n0 < 0 ? 0 : n0) + 1);
  cJSON_Delete(a);
}

Test(scheduler, agent_without_its_role) {
  char rest[1024];
  grant_caller();
  caller_token();
  role_drop("projects/demo-project", "roles/cloudscheduler.serviceAgent",
            AGENT);
  snprintf(rest, sizeof rest,
           "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":\"%s\","
           "\"oauthToken\":{\"serviceAccountEmail\":\"" SCHEDULER "\"}}",
           run_job_uri());
  create("noagent", rest);
  run_now("noagent");
  wait_finished("noagent", 1, 20);
  cJSON *o = get_job("noagent");
  cr_expect_eq(num(o, "status.code"), 7);
  cr_expect(strstr(str(o, "status.message"), "getAccessToken") != NULL);
  cJSON_Delete(o);
  /* Nothing was sent. */
  cr_expect_eq(emu_counter(base,
                           "/v2/projects/demo-project/locations/"
                           "us-central1/jobs/collect:run"),
               0);
}

Test(scheduler, request_as_google_sends_it) {
  char rest[1024], h[4096];
  grant_caller();
  caller_token();
  target_start();
  snprintf(rest, sizeof rest,
           "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":"
           "\"http://127.0.0.1:%d/hook?x=1\",\"httpMethod\":\"PUT\","
           "\"headers\":{\"X-Custom\":\"v\",\"User-Agent\":\"mine\"},"
           "\"body\":\"aGVsbG8=\",\"oidcToken\":{\"serviceAccountEmail\":"
           "\"" SCHEDULER "\",\"audience\":\"https://aud.example\"}}",
           tg.port);
  create("hdr", rest);
  run_now("hdr");
  wait_finished("hdr", 1, 20);
  cr_assert_eq(target_hits(), 1);
  pthread_mutex_lock(&tg.mu);
  cr_expect(strncmp(tg.last, "PUT /hook?x=1 HTTP/1.1\r\n", 24) == 0, "%.40s",
            tg.last);
  const char *body = strstr(tg.last, "\r\n\r\n");
  cr_expect(body != NULL && strcmp(body + 4, "hello") == 0);
  pthread_mutex_unlock(&tg.mu);
  cr_expect_str_eq(last_header("User-Agent", h, sizeof h),
                   "Google-Cloud-Scheduler");
  cr_expect_str_eq(last_header("X-CloudScheduler", h, sizeof h), "true");
  cr_expect_str_eq(last_header("X-CloudScheduler-JobName", h, sizeof h), "hdr");
  cr_expect_str_eq(last_header("X-Custom", h, sizeof h), "v");
  cr_expect_str_eq(last_header("Content-Type", h, sizeof h),
                   "application/octet-stream");
  last_header("X-CloudScheduler-ScheduleTime", h, sizeof h);
  cr_expect(strlen(h) == 20 && h[10] == 'T' && h[19] == 'Z', "%s", h);
  /* The token: an ID token of the job's account for its audience. */
  last_header("Authorization", h, sizeof h);
  cr_assert(strncmp(h, "Bearer ", 7) == 0);
  char *payload = NULL;
  cr_assert_eq(gauth_jwt_decode_unverified(h + 7, NULL, &payload, NULL),
               GAUTH_OK);
  cJSON *claims = cJSON_Parse(payload);
  gauth_free(payload);
  cr_expect_str_eq(str(claims, "aud"), "https://aud.example");
  cr_expect_str_eq(str(claims, "email"), SCHEDULER);
  cJSON_Delete(claims);
}

Test(scheduler, retries_follow_retry_config) {
  char rest[1024];
  grant_caller();
  caller_token();
  target_start();
  tg.fail_first = 3;
  snprintf(rest, sizeof rest,
           "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":"
           "\"http://127.0.0.1:%d/\"},\"retryConfig\":{\"retryCount\":3,"
           "\"minBackoffDuration\":\"10s\",\"maxBackoffDuration\":\"60s\","
           "\"maxDoublings\":1}",
           tg.port);
  create("retry", rest);
  gauth_scheduler_retry_config cfg = {3, 0, 10000, 60000, 1};
  run_now("retry");
  for (int n = 1; n <= 4; n++) {
    wait_finished("retry", n, 20);
    cJSON *o = get_job("retry");
    if (n < 4) {
      /* Failed: the next attempt is a retry, delay(n) after this one. */
      int64_t delay = 0;
      cr_assert_eq(gauth_scheduler_retry_delay(&cfg, (unsigned)n, &delay, NULL),
                   GAUTH_OK);
      cr_expect_eq(num(o, "status.code"), 13, "attempt %d", n);
      cr_expect_eq(when(o, "scheduleTime") - when(o, "lastAttemptTime"),
                   delay / 1000, "attempt %d", n);
      /* Not before its time. */
      usleep(400000);
      cr_expect_eq(finished_count("retry", NULL), n);
      clock_to(when(o, "scheduleTime"));
    } else {
      cr_expect(cJSON_IsObject(cJSON_GetObjectItem(o, "status")) &&
                cJSON_GetArraySize(cJSON_GetObjectItem(o, "status")) == 0);
      /* Then the schedule's next run (1 January). */
      cr_expect(when(o, "scheduleTime") - when(o, "lastAttemptTime") > 3600);
    }
    cJSON_Delete(o);
  }
  cr_expect_eq(target_hits(), 4);
  cJSON *entries;
  finished_count("retry", &entries);
  cr_expect_str_eq(str(cJSON_GetArrayItem(entries, 0), "jsonPayload.debugInfo"),
                   "URL_UNREACHABLE-UNREACHABLE_5xx. Original HTTP response "
                   "code number = 500");
  cJSON_Delete(entries);
}

/* A redirect on loopback is followed; a POST turns into a GET after a 302,
 * and the reply at the end is the outcome. */
Test(scheduler, redirect_followed) {
  char rest[512];
  grant_caller();
  caller_token();
  target_start();
  tg.redirect = 1;
  snprintf(rest, sizeof rest,
           "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":"
           "\"http://localhost:%d/start\"}",
           tg.port);
  create("moved", rest);
  run_now("moved");
  wait_finished("moved", 1, 20);
  cr_expect_eq(target_hits(), 2);
  pthread_mutex_lock(&tg.mu);
  cr_expect(strncmp(tg.last, "GET /final HTTP/1.1\r\n", 21) == 0, "%.40s",
            tg.last);
  pthread_mutex_unlock(&tg.mu);
  cJSON *o = get_job("moved");
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "status")), 0);
  cJSON_Delete(o);
}

/* A regional Google API host is the emulator too (Cloud Run's v1 :run). */
Test(scheduler, regional_google_api_host) {
  grant_caller();
  caller_token();
  create("regional",
         "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":"
         "\"https://us-central1-run.googleapis.com/apis/run.googleapis.com/v1/"
         "namespaces/123456789012/jobs/collect:run\",\"oauthToken\":{"
         "\"serviceAccountEmail\":\"" SCHEDULER "\"}}");
  run_now("regional");
  wait_finished("regional", 1, 20);
  cJSON *o = get_job("regional");
  const cJSON *st = cJSON_GetObjectItem(o, "status");
  cr_expect(cJSON_IsObject(st) && cJSON_GetArraySize(st) == 0,
            "status on success is {}");
  cJSON_Delete(o);
  cr_expect_eq(emu_counter(base,
                           "/apis/run.googleapis.com/v1/namespaces/"
                           "123456789012/jobs/collect:run"),
               1);
}

Test(scheduler, only_loopback_is_reached) {
  grant_caller();
  caller_token();
  create("far",
         "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":"
         "\"https://example.com/hook\"}");
  run_now("far");
  wait_finished("far", 1, 20);
  cJSON *o = get_job("far"), *entries;
  cr_expect_eq(num(o, "status.code"), 14);
  cJSON_Delete(o);
  finished_count("far", &entries);
  cr_expect(strstr(str(cJSON_GetArrayItem(entries, 0), "jsonPayload.debugInfo"),
                   "loopback") != NULL);
  cJSON_Delete(entries);
}

/* A target that accepts and never answers: DEADLINE_EXCEEDED after the
 * shortest deadline Google allows (15 s), while other jobs go on. */
Test(scheduler, deadline_exceeded) {
  char rest[1024];
  grant_caller();
  caller_token();
  target_start();
  tg.hang = 1;
  snprintf(rest, sizeof rest,
           "\"schedule\":\"0 0 1 1 *\",\"attemptDeadline\":\"15s\","
           "\"httpTarget\":{\"uri\":\"http://127.0.0.1:%d/\"}",
           tg.port);
  create("slow", rest);
  time_t t0 = time(NULL);
  run_now("slow");
  /* Meanwhile another job's attempt is made and ends. */
  char quick[1024];
  snprintf(quick, sizeof quick,
           "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":\"%s\","
           "\"oauthToken\":{\"serviceAccountEmail\":\"" SCHEDULER "\"}}",
           run_job_uri());
  create("quick", quick);
  run_now("quick");
  wait_finished("quick", 1, 10);
  cr_expect_eq(finished_count("slow", NULL), 0);
  wait_finished("slow", 1, 40);
  time_t took = time(NULL) - t0;
  cr_expect(took >= 14 && took <= 25, "took %lld s", (long long)took);
  cJSON *o = get_job("slow");
  cr_expect_eq(num(o, "status.code"), 4);
  cJSON_Delete(o);
}

/* A schedule in New York's time across the spring change: 09:00 EST is
 * 14:00 UTC, 09:00 EDT 13:00 UTC. Moving the clock past many runs fires
 * once. */
Test(scheduler, time_zone_across_dst) {
  grant_caller();
  caller_token();
  /* Start in winter. */
  struct tm w = {
      .tm_year = 2027 - 1900, .tm_mon = 0, .tm_mday = 10, .tm_hour = 12};
  clock_to((int64_t)timegm(&w));
  caller_token(); /* tokens follow the clock */
  create("ny",
         "\"schedule\":\"0 9 * * *\",\"timeZone\":\"America/New_York\","
         "\"httpTarget\":{\"uri\":\"http://127.0.0.1:9/\"}");
  cJSON *o = get_job("ny");
  int64_t t = when(o, "scheduleTime");
  cJSON_Delete(o);
  cr_expect_eq(t % 86400, 14 * 3600, "EST: %lld", (long long)(t % 86400));
  /* Two months on, in summer time: one attempt for the missed runs, and
   * the next at 13:00 UTC. */
  struct tm s = {
      .tm_year = 2027 - 1900, .tm_mon = 2, .tm_mday = 20, .tm_hour = 12};
  clock_to((int64_t)timegm(&s));
  caller_token();
  wait_finished("ny", 1, 20);
  usleep(500000);
  cr_expect_eq(finished_count("ny", NULL), 1);
  o = get_job("ny");
  t = when(o, "scheduleTime");
  cr_expect_eq(t % 86400, 13 * 3600, "EDT: %lld", (long long)(t % 86400));
  cr_expect_eq(t / 86400, (int64_t)timegm(&s) / 86400);
  /* A paused job does not fire. */
  cJSON_Delete(o);
  cr_expect_eq(api("POST", PARENT "/ny:pause", token, "", NULL), 200);
  clock_to(t + 60);
  usleep(600000);
  cr_expect_eq(finished_count("ny", NULL), 1);
}

/* A job of a disabled account: the attempt fails at minting, nothing is
 * sent; the account's own key gets no token either. */
Test(scheduler, disabled_account) {
  char rest[1024];
  cJSON *o = NULL;
  grant_caller();
  role_grant("projects/demo-project", "roles/owner", RUNNER);
  caller_token();
  snprintf(rest, sizeof rest,
           "\"schedule\":\"0 0 1 1 *\",\"httpTarget\":{\"uri\":\"%s\","
           "\"oauthToken\":{\"serviceAccountEmail\":\"" SCHEDULER "\"}}",
           run_job_uri());
  create("disabled", rest);
  cr_assert_eq(
      api("POST",
          "/v1/projects/demo-project/serviceAccounts/" SCHEDULER ":disable",
          token, "{}", &o),
      200);
  cJSON_Delete(o);
  run_now("disabled");
  wait_finished("disabled", 1, 20);
  o = get_job("disabled");
  cr_expect_eq(num(o, "status.code"), 9);
  cr_expect(strstr(str(o, "status.message"), "disabled") != NULL, "%s",
            str(o, "status.message"));
  cJSON_Delete(o);
  cr_expect_eq(emu_counter(base,
                           "/v2/projects/demo-project/locations/"
                           "us-central1/jobs/collect:run"),
               0);
  /* The token endpoint refuses the account's own key (jwt-bearer). */
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *t = NULL;
  cr_assert_eq(setenv("GAUTH_ENDPOINT", base, 1), 0);
  cr_assert_eq(gauth_credentials_from_file(&c, em.key_file, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_expect_neq(gauth_credentials_access_token(c, NULL, &t, NULL, &err),
                GAUTH_OK);
  cr_expect(strstr(err.message, "invalid_grant") != NULL, "%s", err.message);
  gauth_free(t);
  gauth_credentials_free(c);
}
