/* gauth-emulator: Cloud Scheduler v1. The REST API (jobs create, get, list,
 * patch, delete, pause, resume, run) at Google's paths, with Google's
 * permission checks, and the service that runs the jobs: a thread that
 * fires what is due on the emulator's clock, makes each attempt as Google's
 * service agent does (it mints the job's token as the job's service
 * account), sends the request with libcurl to loopback only, retries per
 * retryConfig, and records the outcome where Google does (the job's status,
 * lastAttemptTime, scheduleTime, and AttemptStarted / AttemptFinished log
 * entries, read through the control API). Attempts run on threads of their
 * own (at most SCHED_MAX_INFLIGHT at once; one at a time per job).
 *
 * The job itself is parsed and checked by libgauth
 * (gauth_scheduler_job_from_json); unix-cron schedules by cron.c.
 *
 * LOCKS: the scheduler's own mutex guards its jobs and log. It may be held
 * while calling into the world (emu_now, emu_has_permission), never the
 * other way round, and it is never held during an attempt: the attempt
 * may target the emulator itself. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* gmtime_r, strdup */
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cron.h"
#include "emulator.h"

#define SCHED_LOG_SIZE 1000 /* log entries kept (a ring) */
#define SCHED_MAX_JOBS 1000 /* jobs per emulator */
#define SCHED_TICK_MS 150   /* the thread's wake-up period */
#define SCHED_MAX_REDIRECTS 3
#define SCHED_MAX_INFLIGHT 8 /* attempts under way at once */
#define SCHED_PAGE_MAX 500   /* ListJobs' largest pageSize */
#define SCHED_ID_MAX 500     /* a job id's longest length */

/* ---- state --------------------------------------------------------------- */

typedef struct sjob {
  char *name;     /* projects/ID/locations/L/jobs/J (project by id) */
  cJSON *spec;    /* what the user set: no name, no output-only field */
  emu_cron *cron; /* spec's schedule */
  int paused;
  int64_t user_update, schedule_time, last_attempt; /* 0: none */
  int has_status, code;
  char message[300];
  /* The execution under way: attempts made, when its first started, the
   * time it was scheduled for (X-CloudScheduler-ScheduleTime). */
  unsigned attempts;
  int64_t first_start, exec_time;
  int running, run_now;
  unsigned long gen; /* bumped by a patch: an older attempt's result is
                        not recorded */
} sjob;

struct emu_scheduler {
  emu *e;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stopping, kicked, started;
  int inflight; /* attempts under way (worker threads) */
  pthread_t thread;
  sjob **jobs;
  size_t njobs;
  unsigned long gen;
  cJSON *log[SCHED_LOG_SIZE];
  size_t log_next, log_count;
};

/* One attempt, as the thread takes it out of the lock. */
typedef struct snap {
  emu_scheduler *s;
  char *name, *json;
  unsigned long gen;
  unsigned attempt;
  int64_t start, exec_time;
} snap;

typedef struct outcome {
  int code;        /* google.rpc.Code */
  long http;       /* the reply's status; 0: none */
  char debug[400]; /* debugInfo of the log entry ("" when OK) */
  char message[300];
} outcome;

static void rfc3339(int64_t t, char *out, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_time(cJSON *o, const char *member, int64_t t) {
  char buf[40];
  rfc3339(t, buf, sizeof buf);
  cJSON_AddStringToObject(o, member, buf);
}

static int64_t next_run(const sjob *j, int64_t after) {
  const cJSON *tz = cJSON_GetObjectItemCaseSensitive(j->spec, "timeZone");
  int64_t t = emu_cron_next(j->cron,
                            cJSON_IsString(tz) ? tz->valuestring : NULL, after);
  return t < 0 ? 0 : t;
}

static void sjob_free(sjob *j) {
  if (j == NULL) return;
  free(j->name);
  cJSON_Delete(j->spec);
  emu_cron_free(j->cron);
  free(j);
}

/* The job of a name (locked), or NULL; *index its place. */
static sjob *job_find(emu_scheduler *s, const char *name, size_t *index) {
  for (size_t i = 0; i < s->njobs; i++)
    if (strcmp(s->jobs[i]->name, name) == 0) {
      if (index) *index = i;
      return s->jobs[i];
    }
  return NULL;
}

static void kick(emu_scheduler *s) {
  s->kicked = 1;
  pthread_cond_broadcast(&s->cv);
}

void emu_scheduler_wake(emu *e) {
  emu_scheduler *s = emu_scheduler_of(e);
  if (s == NULL) return;
  pthread_mutex_lock(&s->mu);
  kick(s);
  pthread_mutex_unlock(&s->mu);
}

/* ---- the log --------------------------------------------------------------
 * Entries as Cloud Logging shows Cloud Scheduler's: a jsonPayload of type
 * google.cloud.scheduler.logging.AttemptStarted / AttemptFinished. */

static void log_push(emu_scheduler *s, cJSON *entry) {
  pthread_mutex_lock(&s->mu);
  cJSON_Delete(s->log[s->log_next]);
  s->log[s->log_next] = entry;
  s->log_next = (s->log_next + 1) % SCHED_LOG_SIZE;
  if (s->log_count < SCHED_LOG_SIZE) s->log_count++;
  pthread_mutex_unlock(&s->mu);
}

static cJSON *log_entry(emu_scheduler *s, const snap *sn, const char *url,
                        const outcome *o) {
  emu *e = s->e;
  char proj[128] = "", loc[128] = "", id[SCHED_ID_MAX + 1] = "";
  char insert[17];
  unsigned char r[8] = {0};
  cJSON *ent = cJSON_CreateObject(), *p, *res, *labels;
  (void)sscanf(sn->name, "projects/%127[^/]/locations/%127[^/]/jobs/%500s",
               proj, loc, id);
  (void)RAND_bytes(r, sizeof r);
  for (size_t i = 0; i < sizeof r; i++)
    snprintf(insert + 2 * i, 3, "%02x", r[i]);
  cJSON_AddStringToObject(ent, "insertId", insert);
  p = cJSON_AddObjectToObject(ent, "jsonPayload");
  cJSON_AddStringToObject(
      p, "@type",
      o ? "type.googleapis.com/google.cloud.scheduler.logging.AttemptFinished"
        : "type.googleapis.com/google.cloud.scheduler.logging.AttemptStarted");
  cJSON_AddStringToObject(p, "jobName", sn->name);
  add_time(p, "scheduledTime", sn->exec_time);
  cJSON_AddStringToObject(p, "targetType", "HTTP");
  cJSON_AddStringToObject(p, "url", url);
  if (o != NULL) {
    cJSON_AddStringToObject(p, "status", gauth_rpc_code_name(o->code));
    if (o->debug[0]) cJSON_AddStringToObject(p, "debugInfo", o->debug);
    if (o->http) {
      cJSON *h = cJSON_AddObjectToObject(ent, "httpRequest");
      cJSON_AddNumberToObject(h, "status", (double)o->http);
    }
  }
  res = cJSON_AddObjectToObject(ent, "resource");
  cJSON_AddStringToObject(res, "type", "cloud_scheduler_job");
  labels = cJSON_AddObjectToObject(res, "labels");
  cJSON_AddStringToObject(labels, "job_id", id);
  cJSON_AddStringToObject(labels, "location", loc);
  cJSON_AddStringToObject(labels, "project_id", proj);
  add_time(ent, "timestamp", emu_now(e));
  cJSON_AddStringToObject(ent, "severity",
                          o != NULL && o->code != 0 ? "ERROR" : "INFO");
  {
    char logname[300];
    snprintf(logname, sizeof logname,
             "projects/%s/logs/cloudscheduler.googleapis.com%%2Fexecutions",
             proj);
    cJSON_AddStringToObject(ent, "logName", logname);
  }
  return ent;
}

cJSON *emu_scheduler_logs_json(emu *e, const char *job) {
  emu_scheduler *s = emu_scheduler_of(e);
  cJSON *arr = cJSON_CreateArray();
  if (s == NULL) return arr;
  pthread_mutex_lock(&s->mu);
  size_t first = (s->log_next + SCHED_LOG_SIZE - s->log_count) % SCHED_LOG_SIZE;
  for (size_t k = 0; k < s->log_count; k++) {
    const cJSON *ent = s->log[(first + k) % SCHED_LOG_SIZE];
    if (job != NULL && job[0]) {
      const cJSON *p = cJSON_GetObjectItemCaseSensitive(ent, "jsonPayload");
      const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "jobName");
      const char *short_name =
          cJSON_IsString(n) ? strrchr(n->valuestring, '/') : NULL;
      /* The full name, or the job's id. */
      if (!cJSON_IsString(n) ||
          (strcmp(n->valuestring, job) != 0 &&
           (short_name == NULL || strcmp(short_name + 1, job) != 0)))
        continue;
    }
    cJSON_AddItemToArray(arr, cJSON_Duplicate(ent, 1));
  }
  pthread_mutex_unlock(&s->mu);
  return arr;
}

/* ---- the attempt: where it goes ------------------------------------------ */

static int host_is_loopback(const char *host) {
  unsigned char a[16];
  if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
    return 1;
  if (strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0) return 1;
  return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

static int host_is_googleapis(const char *host) {
  size_t n = strlen(host), k = strlen("googleapis.com");
  if (n > 0 && host[n - 1] == '.') n--;
  if (n == k) return strncasecmp(host, "googleapis.com", k) == 0;
  return n > k && host[n - k - 1] == '.' &&
         strncasecmp(host + n - k, "googleapis.com", k) == 0;
}

/* Where a URL is sent: itself when its host is loopback, the emulator's
 * base URL with the same path and query when its host is a Google API
 * (so that a job copied from Google works), else NULL with o set: the
 * emulator reaches no other host. Free the result with free(). */
static char *route_url(emu *e, const char *uri, outcome *o) {
  CURLU *u = curl_url();
  char *host = NULL, *path = NULL, *query = NULL, *out = NULL;
  if (u == NULL || curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    o->code = 3; /* INVALID_ARGUMENT */
    snprintf(o->debug, sizeof o->debug, "URL_ERROR-ERROR_OTHER. Invalid URL");
    goto done;
  }
  if (host_is_loopback(host)) {
    out = strdup(uri);
  } else if (host_is_googleapis(host)) {
    (void)curl_url_get(u, CURLUPART_PATH, &path, 0);
    (void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
    size_t n = strlen(emu_base_url(e)) + (path ? strlen(path) : 1) +
               (query ? strlen(query) + 1 : 0) + 1;
    out = malloc(n);
    if (out != NULL)
      snprintf(out, n, "%s%s%s%s", emu_base_url(e), path ? path : "/",
               query ? "?" : "", query ? query : "");
  } else {
    o->code = 14; /* UNAVAILABLE */
    snprintf(o->debug, sizeof o->debug,
             "URL_UNREACHABLE-UNREACHABLE_HOST. gauth-emulator sends only to "
             "loopback (127.0.0.0/8, ::1, localhost) and maps *.googleapis.com "
             "to itself; %.200s is neither",
             host);
    snprintf(o->message, sizeof o->message,
             "the emulator does not reach %.200s", host);
  }
done:
  curl_free(host);
  curl_free(path);
  curl_free(query);
  curl_url_cleanup(u);
  return out;
}

/* ---- the attempt: the token ---------------------------------------------- */

/* The job's token, minted as Google's service agent mints it: the agent
 * needs getOpenIdToken (OIDC) / getAccessToken (OAuth) on the job's
 * account, which must exist. NULL (o set: PERMISSION_DENIED) otherwise.
 * *is_jwt: free with gauth_free (else free). */
static char *mint_token(emu *e, const gauth_scheduler_job *job, outcome *o,
                        int *is_jwt) {
  gauth_scheduler_token kind = gauth_scheduler_job_token(job);
  const char *sa = gauth_scheduler_job_service_account(job);
  const char *agent = emu_scheduler_agent(e);
  const char *perm = kind == GAUTH_SCHEDULER_TOKEN_OIDC
                         ? "iam.serviceAccounts.getOpenIdToken"
                         : "iam.serviceAccounts.getAccessToken";
  char resource[400], member[300];
  snprintf(resource, sizeof resource, "projects/-/serviceAccounts/%s", sa);
  snprintf(member, sizeof member, "serviceAccount:%s", agent);
  *is_jwt = kind == GAUTH_SCHEDULER_TOKEN_OIDC;
  if (emu_account_find(e, sa) == NULL ||
      !emu_has_permission(e, resource, member, perm)) {
    o->code = 7; /* PERMISSION_DENIED */
    snprintf(o->message, sizeof o->message,
             "Permission '%s' denied on resource '%.150s' (or it may not "
             "exist) for the Cloud Scheduler service agent",
             perm, sa);
    snprintf(o->debug, sizeof o->debug,
             "TOKEN_ERROR-PERMISSION_DENIED. The service agent %.120s "
             "lacks %s on %.150s (or the account does not exist)",
             agent, perm, sa);
    return NULL;
  }
  if (emu_account_disabled(e, sa)) {
    o->code = 9; /* FAILED_PRECONDITION, as IAM Credentials answers */
    snprintf(o->message, sizeof o->message,
             "The service account %.150s is disabled", sa);
    snprintf(o->debug, sizeof o->debug,
             "TOKEN_ERROR-FAILED_PRECONDITION. The service account %.150s "
             "is disabled: no token can be minted for it",
             sa);
    return NULL;
  }
  char *t =
      kind == GAUTH_SCHEDULER_TOKEN_OIDC
          ? emu_mint_id_token(e, sa, gauth_scheduler_job_audience(job), 1)
          : emu_mint_access_token(e, sa, gauth_scheduler_job_scope(job), 3600);
  if (t == NULL) {
    o->code = 13; /* INTERNAL */
    snprintf(o->message, sizeof o->message, "token minting failed");
  }
  return t;
}

/* ---- the attempt: the request -------------------------------------------- */

static size_t discard(char *p, size_t sz, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return sz * n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
                       curl_off_t d) {
  emu_scheduler *s = ud;
  int stop;
  (void)a, (void)b, (void)c, (void)d;
  pthread_mutex_lock(&s->mu);
  stop = s->stopping;
  pthread_mutex_unlock(&s->mu);
  return stop; /* non-zero aborts the transfer at shutdown */
}

/* Headers Cloud Scheduler sets itself: a job's own value is dropped. */
static int header_reserved(const char *name, int has_token) {
  static const char *const own[] = {"User-Agent",
                                    "Host",
                                    "Content-Length",
                                    "X-CloudScheduler",
                                    "X-CloudScheduler-JobName",
                                    "X-CloudScheduler-ScheduleTime",
                                    NULL};
  for (size_t i = 0; own[i]; i++)
    if (strcasecmp(name, own[i]) == 0) return 1;
  return has_token && strcasecmp(name, "Authorization") == 0;
}

static struct curl_slist *request_headers(const gauth_scheduler_job *job,
                                          const snap *sn, const char *token) {
  struct curl_slist *h = NULL;
  char line[8300], when[40];
  const char *id = strrchr(sn->name, '/');
  int content_type = 0;
  size_t body_len = 0;
  (void)gauth_scheduler_job_body(job, &body_len);
  for (size_t i = 0; i < gauth_scheduler_job_header_count(job); i++) {
    const char *n = gauth_scheduler_job_header_name(job, i);
    const char *v = gauth_scheduler_job_header_value(job, i);
    if (header_reserved(n, token != NULL)) continue;
    if (strcasecmp(n, "Content-Type") == 0) content_type = 1;
    snprintf(line, sizeof line, "%s: %s", n, v);
    h = curl_slist_append(h, line);
  }
  if (body_len > 0 && !content_type)
    h = curl_slist_append(h, "Content-Type: application/octet-stream");
  h = curl_slist_append(h, "User-Agent: Google-Cloud-Scheduler");
  h = curl_slist_append(h, "X-CloudScheduler: true");
  snprintf(line, sizeof line, "X-CloudScheduler-JobName: %s",
           id ? id + 1 : sn->name);
  h = curl_slist_append(h, line);
  rfc3339(sn->exec_time, when, sizeof when);
  snprintf(line, sizeof line, "X-CloudScheduler-ScheduleTime: %s", when);
  h = curl_slist_append(h, line);
  h = curl_slist_append(h, "Expect:");
  if (token != NULL) {
    size_t n = strlen(token) + 32;
    char *auth = malloc(n);
    if (auth != NULL) {
      snprintf(auth, n, "Authorization: Bearer %s", token);
      h = curl_slist_append(h, auth);
      OPENSSL_cleanse(auth, n);
      free(auth);
    }
  }
  return h;
}

/* The debugInfo Cloud Scheduler logs for an HTTP reply. */
static void debug_for_http(long status, char *out, size_t n) {
  const char *kind = status == 401 || status == 403
                         ? "URL_ERROR-ERROR_AUTHENTICATION"
                     : status == 404 ? "URL_ERROR-ERROR_NOT_FOUND"
                     : status >= 500 ? "URL_UNREACHABLE-UNREACHABLE_5xx"
                                     : "URL_ERROR-ERROR_OTHER";
  snprintf(out, n, "%s. Original HTTP response code number = %ld", kind,
           status);
}

/* Sends the job's request to url (already routed), following up to
 * SCHED_MAX_REDIRECTS redirects on loopback. */
static void send_request(emu_scheduler *s, const gauth_scheduler_job *job,
                         const snap *sn, const char *url, const char *token,
                         outcome *o) {
  int64_t deadline = gauth_scheduler_job_attempt_deadline_ms(job);
  const char *method = gauth_scheduler_job_http_method(job);
  size_t body_len = 0;
  const unsigned char *body = gauth_scheduler_job_body(job, &body_len);
  struct curl_slist *h = request_headers(job, sn, token);
  char *where = strdup(url);
  int get = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int hop = 0; where != NULL; hop++) {
    CURL *c = curl_easy_init();
    long status = 0, left;
    CURLcode rc;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    left = (long)(deadline - ((t1.tv_sec - t0.tv_sec) * 1000L +
                              (t1.tv_nsec - t0.tv_nsec) / 1000000L));
    if (c == NULL || left <= 0) {
      if (c) curl_easy_cleanup(c);
      o->code = c ? 4 : 13;
      snprintf(o->debug, sizeof o->debug,
               "URL_TIMEOUT-TIMEOUT_WAITING_FOR_RESPONSE");
      break;
    }
    curl_easy_setopt(c, CURLOPT_URL, where);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* loopback, directly */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    if (get) {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
      if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
      if (body_len > 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
      } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                 strcmp(method, "PATCH") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
      }
    }
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    free(where);
    where = NULL;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      o->code = 4; /* DEADLINE_EXCEEDED */
      snprintf(o->debug, sizeof o->debug,
               "URL_TIMEOUT-TIMEOUT_WAITING_FOR_RESPONSE");
    } else if (rc != CURLE_OK) {
      o->code = 14; /* UNAVAILABLE */
      snprintf(o->debug, sizeof o->debug,
               "URL_UNREACHABLE-UNREACHABLE_GENERIC. %s",
               curl_easy_strerror(rc));
    } else if (status >= 300 && status < 400) {
      char *next = NULL;
      curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
      o->http = status;
      if (next == NULL || hop >= SCHED_MAX_REDIRECTS) {
        o->code = gauth_scheduler_rpc_code_for_http((int)status);
        debug_for_http(status, o->debug, sizeof o->debug);
      } else {
        where = route_url(s->e, next, o);
        if (where == NULL) o->http = 0;
        /* 303, and 301 / 302 after a POST, turn into a GET, as browsers
         * and libcurl do. */
        if (status == 303 ||
            ((status == 301 || status == 302) && strcmp(method, "POST") == 0))
          get = 1;
      }
    } else {
      o->http = status;
      o->code = gauth_scheduler_rpc_code_for_http((int)status);
      if (o->code != 0) debug_for_http(status, o->debug, sizeof o->debug);
    }
    curl_easy_cleanup(c);
  }
  curl_slist_free_all(h); /* holds the token: wiped below */
  free(where);
}

/* Makes one attempt of sn (no lock held). */
static void attempt(emu_scheduler *s, const snap *sn, outcome *o) {
  emu *e = s->e;
  gauth_scheduler_job *job = NULL;
  char *url = NULL, *token = NULL;
  int is_jwt = 0;
  memset(o, 0, sizeof *o);
  if (gauth_scheduler_job_from_json(&job, sn->json, strlen(sn->json), NULL) !=
      GAUTH_OK) {
    o->code = 13;
    snprintf(o->message, sizeof o->message, "the stored job does not parse");
    log_push(s, log_entry(s, sn, "", o));
    return;
  }
  const char *uri = gauth_scheduler_job_uri(job);
  log_push(s, log_entry(s, sn, uri, NULL));
  url = route_url(e, uri, o);
  if (url != NULL &&
      gauth_scheduler_job_token(job) != GAUTH_SCHEDULER_TOKEN_NONE)
    token = mint_token(e, job, o, &is_jwt);
  if (url != NULL && (token != NULL || gauth_scheduler_job_token(job) ==
                                           GAUTH_SCHEDULER_TOKEN_NONE))
    send_request(s, job, sn, url, token, o);
  if (token != NULL) {
    OPENSSL_cleanse(token, strlen(token));
    if (is_jwt)
      gauth_free(token);
    else
      free(token);
  }
  free(url);
  log_push(s, log_entry(s, sn, uri, o));
  gauth_scheduler_job_free(job);
}

/* ---- the thread ---------------------------------------------------------- */

/* The retry settings of a job (locked), defaults applied. */
static int retry_config(const sjob *j, gauth_scheduler_retry_config *cfg) {
  gauth_scheduler_job *job = NULL;
  char *text = cJSON_PrintUnformatted(j->spec);
  int ok = text != NULL && gauth_scheduler_job_from_json(
                               &job, text, strlen(text), NULL) == GAUTH_OK;
  if (ok) *cfg = *gauth_scheduler_job_retry_config(job);
  gauth_scheduler_job_free(job);
  free(text);
  return ok;
}

/* Takes a due job out for an attempt (locked): NULL when none is due. */
static snap *take_due(emu_scheduler *s, int64_t now) {
  for (size_t i = 0; i < s->njobs; i++) {
    sjob *j = s->jobs[i];
    if (j->running) continue;
    if (j->run_now) {
      j->run_now = 0;
      j->attempts = 0; /* RunJob starts an execution of its own */
      j->exec_time = now;
    } else if (j->paused || j->schedule_time == 0 || j->schedule_time > now) {
      continue;
    } else if (j->attempts == 0) {
      j->exec_time = j->schedule_time;
    }
    snap *sn = calloc(1, sizeof *sn);
    if (sn == NULL) return NULL;
    if (j->attempts == 0) j->first_start = now;
    j->attempts++;
    j->running = 1;
    j->last_attempt = now;
    sn->name = strdup(j->name);
    sn->json = cJSON_PrintUnformatted(j->spec);
    sn->gen = j->gen;
    sn->attempt = j->attempts;
    sn->start = now;
    sn->exec_time = j->exec_time;
    return sn;
  }
  return NULL;
}

/* Records an attempt's outcome (locked) and sets the next attempt: a retry
 * per retryConfig, else the next run of the schedule after now (so a clock
 * moved past several runs fires once). */
static void record(emu_scheduler *s, const snap *sn, const outcome *o,
                   int64_t now) {
  sjob *j = job_find(s, sn->name, NULL);
  gauth_scheduler_retry_config cfg;
  int retry = 0;
  int64_t delay = 0;
  if (j == NULL) return; /* deleted meanwhile */
  j->running = 0;
  if (j->gen != sn->gen) return; /* patched meanwhile */
  j->has_status = 1;
  j->code = o->code;
  snprintf(j->message, sizeof j->message, "%s", o->message);
  if (o->code != 0 && retry_config(j, &cfg) &&
      gauth_scheduler_retry_next(&cfg, sn->attempt,
                                 (now - j->first_start) * 1000, &retry, &delay,
                                 NULL) == GAUTH_OK &&
      retry) {
    j->schedule_time = sn->start + (delay + 999) / 1000;
    return;
  }
  j->attempts = 0;
  j->schedule_time = next_run(j, now);
}

/* Records an attempt's outcome and frees it (locked). */
static void finish(emu_scheduler *s, snap *sn, const outcome *o) {
  record(s, sn, o, emu_now(s->e));
  free(sn->name);
  if (sn->json) OPENSSL_cleanse(sn->json, strlen(sn->json));
  free(sn->json);
  free(sn);
}

/* One attempt, on a thread of its own: a target that hangs holds up only
 * its own job. */
static void *worker(void *arg) {
  snap *sn = arg;
  emu_scheduler *s = sn->s;
  outcome o;
  attempt(s, sn, &o);
  pthread_mutex_lock(&s->mu);
  finish(s, sn, &o);
  s->inflight--;
  kick(s); /* the loop may take the next; a stop may be waiting */
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static void *sched_main(void *arg) {
  emu_scheduler *s = arg;
  pthread_attr_t detached;
  pthread_attr_init(&detached);
  pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
  pthread_mutex_lock(&s->mu);
  while (!s->stopping) {
    snap *sn =
        s->inflight < SCHED_MAX_INFLIGHT ? take_due(s, emu_now(s->e)) : NULL;
    if (sn != NULL) {
      pthread_t t;
      sn->s = s;
      s->inflight++;
      if (pthread_create(&t, &detached, worker, sn) != 0) {
        outcome o; /* no thread: the attempt is made here */
        s->inflight--;
        pthread_mutex_unlock(&s->mu);
        attempt(s, sn, &o);
        pthread_mutex_lock(&s->mu);
        finish(s, sn, &o);
      }
      continue;
    }
    if (!s->kicked) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += SCHED_TICK_MS * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      (void)pthread_cond_timedwait(&s->cv, &s->mu, &until);
    }
    s->kicked = 0;
  }
  /* Stopping: the workers' transfers abort (on_progress); wait for them,
   * as they use s. */
  while (s->inflight > 0) pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  pthread_attr_destroy(&detached);
  return NULL;
}

emu_scheduler *emu_scheduler_start(emu *e) {
  emu_scheduler *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->e = e;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  emu_set_scheduler(e, s);
  if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
    emu_set_scheduler(e, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
  }
  s->started = 1;
  return s;
}

void emu_scheduler_stop(emu_scheduler *s) {
  if (s == NULL) return;
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  kick(s);
  pthread_mutex_unlock(&s->mu);
  if (s->started) pthread_join(s->thread, NULL);
  emu_set_scheduler(s->e, NULL);
  for (size_t i = 0; i < s->njobs; i++) sjob_free(s->jobs[i]);
  free(s->jobs);
  for (size_t i = 0; i < SCHED_LOG_SIZE; i++) cJSON_Delete(s->log[i]);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

/* ---- the REST API: names, errors, the job's JSON --------------------------
 */

static const char *const api_scopes[] = {GAUTH_SCOPE_CLOUD_PLATFORM, NULL};
static const emu_token_need api_need = {api_scopes, 1, NULL};

/* Google's 403 for a missing permission, as Cloud Scheduler words it. */
static void reply_denied(emu_response *r, const char *perm,
                         const char *resource) {
  emu_reply_google_error(r, 403, "PERMISSION_DENIED",
                         "The principal (user or service account) lacks IAM "
                         "permission \"%s\" for the resource \"%.400s\" (or "
                         "the resource may not exist).",
                         perm, resource);
}

static int valid_job_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > SCHED_ID_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
      return 0;
  return 1;
}

/* The members of Job a request may set, and those Google sets. */
static const char *const job_fields[] = {"name",
                                         "description",
                                         "pubsubTarget",
                                         "appEngineHttpTarget",
                                         "httpTarget",
                                         "schedule",
                                         "timeZone",
                                         "retryConfig",
                                         "attemptDeadline",
                                         NULL};
static const char *const output_fields[] = {"state",           "status",
                                            "userUpdateTime",  "scheduleTime",
                                            "lastAttemptTime", NULL};

static int in_list(const char *const *l, const char *s) {
  for (size_t i = 0; l[i]; i++)
    if (strcmp(l[i], s) == 0) return 1;
  return 0;
}

/* The job as Google returns it (locked): what the user set, the defaults
 * Google fills in, and the output-only members. */
static cJSON *job_json(const sjob *j) {
  cJSON *o = cJSON_CreateObject(), *it;
  cJSON_AddStringToObject(o, "name", j->name);
  cJSON_ArrayForEach(it, j->spec) {
    cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
  }
  cJSON *ht = cJSON_GetObjectItemCaseSensitive(o, "httpTarget");
  if (cJSON_IsObject(ht)) {
    cJSON *uri = cJSON_GetObjectItemCaseSensitive(ht, "uri");
    cJSON *oidc = cJSON_GetObjectItemCaseSensitive(ht, "oidcToken");
    cJSON *oauth = cJSON_GetObjectItemCaseSensitive(ht, "oauthToken");
    if (!cJSON_GetObjectItemCaseSensitive(ht, "httpMethod"))
      cJSON_AddStringToObject(ht, "httpMethod", "POST");
    if (cJSON_IsObject(oidc) &&
        !cJSON_GetObjectItemCaseSensitive(oidc, "audience") &&
        cJSON_IsString(uri))
      cJSON_AddStringToObject(oidc, "audience", uri->valuestring);
    if (cJSON_IsObject(oauth) &&
        !cJSON_GetObjectItemCaseSensitive(oauth, "scope"))
      cJSON_AddStringToObject(oauth, "scope", GAUTH_SCOPE_CLOUD_PLATFORM);
    if (!cJSON_GetObjectItemCaseSensitive(o, "attemptDeadline"))
      cJSON_AddStringToObject(o, "attemptDeadline", "180s");
  }
  if (!cJSON_GetObjectItemCaseSensitive(o, "timeZone"))
    cJSON_AddStringToObject(o, "timeZone", "Etc/UTC");
  cJSON *rc = cJSON_GetObjectItemCaseSensitive(o, "retryConfig");
  if (!cJSON_IsObject(rc)) {
    cJSON_DeleteItemFromObjectCaseSensitive(o, "retryConfig");
    rc = cJSON_AddObjectToObject(o, "retryConfig");
  }
  if (!cJSON_GetObjectItemCaseSensitive(rc, "maxRetryDuration"))
    cJSON_AddStringToObject(rc, "maxRetryDuration", "0s");
  if (!cJSON_GetObjectItemCaseSensitive(rc, "minBackoffDuration"))
    cJSON_AddStringToObject(rc, "minBackoffDuration", "5s");
  if (!cJSON_GetObjectItemCaseSensitive(rc, "maxBackoffDuration"))
    cJSON_AddStringToObject(rc, "maxBackoffDuration", "3600s");
  if (!cJSON_GetObjectItemCaseSensitive(rc, "maxDoublings"))
    cJSON_AddNumberToObject(rc, "maxDoublings", 5);
  if (j->user_update) add_time(o, "userUpdateTime", j->user_update);
  cJSON_AddStringToObject(o, "state", j->paused ? "PAUSED" : "ENABLED");
  if (j->has_status) {
    cJSON *st = cJSON_AddObjectToObject(o, "status");
    if (j->code != 0) {
      cJSON_AddNumberToObject(st, "code", j->code);
      if (j->message[0]) cJSON_AddStringToObject(st, "message", j->message);
    }
  }
  if (j->schedule_time) add_time(o, "scheduleTime", j->schedule_time);
  if (j->last_attempt) add_time(o, "lastAttemptTime", j->last_attempt);
  return o;
}

/* Checks a job's settings (spec plus name) with libgauth and cron.c: 0, or
 * -1 with Google's 400 sent. *cron receives the parsed schedule. */
static int check_spec(const cJSON *spec, emu_response *resp, emu_cron **cron) {
  char *text = cJSON_PrintUnformatted(spec), err[300] = "";
  gauth_scheduler_job *job = NULL;
  gauth_error ge = GAUTH_ERROR_INIT;
  *cron = NULL;
  if (text == NULL || gauth_scheduler_job_from_json(&job, text, strlen(text),
                                                    &ge) != GAUTH_OK) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT", "%s",
                           ge.message[0] ? ge.message : "invalid job");
    free(text);
    return -1;
  }
  free(text);
  int rc = -1;
  if (gauth_scheduler_job_target(job) != GAUTH_SCHEDULER_TARGET_HTTP) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "job.httpTarget: gauth-emulator runs HTTP targets "
                           "only (pubsubTarget and appEngineHttpTarget are "
                           "not modelled)");
  } else if (gauth_scheduler_job_schedule(job)[0] == '\0') {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "job.schedule is required.");
  } else if ((*cron = emu_cron_parse(gauth_scheduler_job_schedule(job), err,
                                     sizeof err)) == NULL) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Schedule or time zone is invalid: "
                           "%s",
                           err);
  } else if (!emu_tz_valid(gauth_scheduler_job_time_zone(job))) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Schedule or time zone is invalid. job.timeZone: "
                           "%.100s is not a time zone of the tz database",
                           gauth_scheduler_job_time_zone(job));
    emu_cron_free(*cron);
    *cron = NULL;
  } else {
    rc = 0;
  }
  gauth_scheduler_job_free(job);
  return rc;
}

/* The service account a spec's token uses, or NULL. Borrowed. */
static const char *spec_account(const cJSON *spec) {
  const cJSON *ht = cJSON_GetObjectItemCaseSensitive(spec, "httpTarget");
  const char *kinds[] = {"oidcToken", "oauthToken"};
  for (size_t i = 0; i < 2; i++) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(ht, kinds[i]);
    const cJSON *sa =
        cJSON_GetObjectItemCaseSensitive(t, "serviceAccountEmail");
    if (cJSON_IsString(sa)) return sa->valuestring;
  }
  return NULL;
}

/* iam.serviceAccounts.actAs on the account: 1, or 0 with the 403 sent. */
static int check_act_as(emu *e, const char *member, const char *sa,
                        emu_response *resp) {
  char res[400];
  snprintf(res, sizeof res, "projects/-/serviceAccounts/%s", sa);
  if (emu_has_permission(e, res, member, "iam.serviceAccounts.actAs")) return 1;
  reply_denied(resp, "iam.serviceAccounts.actAs", sa);
  return 0;
}

/* A copy of the body with only Job's settable members: NULL with the 400
 * sent for an unknown member (Google's wording). */
static cJSON *settable(const cJSON *body, emu_response *resp) {
  cJSON *spec = cJSON_CreateObject();
  const cJSON *it;
  cJSON_ArrayForEach(it, body) {
    if (in_list(output_fields, it->string) || strcmp(it->string, "name") == 0)
      continue;
    if (!in_list(job_fields, it->string)) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Invalid JSON payload received. Unknown name "
                             "\"%.100s\" at 'job': Cannot find field.",
                             it->string);
      cJSON_Delete(spec);
      return NULL;
    }
    if (!cJSON_IsNull(it))
      cJSON_AddItemToObject(spec, it->string, cJSON_Duplicate(it, 1));
  }
  return spec;
}

/* ---- the REST API: the methods --------------------------------------------
 */

typedef struct call {
  emu *e;
  emu_scheduler *s;
  const emu_request *req;
  emu_response *resp;
  char member[300];
  char parent[300]; /* projects/ID/locations/L */
  char name[900];   /* parent/jobs/J ("" for the collection) */
} call;

static void create_job(call *c) {
  cJSON *body = emu_req_json(c->req), *spec = NULL;
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "name");
  char want[400], pid[128], loc[128], id[SCHED_ID_MAX + 2];
  emu_cron *cron = NULL;
  int ok = 0;
  if (body == NULL) {
    emu_reply_google_error(c->resp, 400, "INVALID_ARGUMENT",
                           "Invalid JSON payload received.");
    return;
  }
  /* The name: projects/P/locations/L/jobs/J under the request's parent
   * (P by id or number). */
  if (!cJSON_IsString(n) ||
      sscanf(n->valuestring, "projects/%127[^/]/locations/%127[^/]/jobs/%501s",
             pid, loc, id) != 3 ||
      !valid_job_id(id) ||
      (strcmp(pid, emu_project_id(c->e)) != 0 &&
       strcmp(pid, emu_project_number(c->e)) != 0)) {
    emu_reply_google_error(c->resp, 400, "INVALID_ARGUMENT",
                           "Job name must be formatted: "
                           "\"projects/<PROJECT_ID>/locations/<LOCATION_ID>/"
                           "jobs/<JOB_ID>\".");
    goto done;
  }
  snprintf(want, sizeof want, "projects/%s/locations/%s", emu_project_id(c->e),
           loc);
  if (strcmp(want, c->parent) != 0) {
    emu_reply_google_error(c->resp, 400, "INVALID_ARGUMENT",
                           "The job name's project and location must be the "
                           "request's parent %.300s.",
                           c->parent);
    goto done;
  }
  snprintf(c->name, sizeof c->name, "%s/jobs/%s", c->parent, id);
  if ((spec = settable(body, c->resp)) == NULL) goto done;
  if (check_spec(spec, c->resp, &cron) != 0) goto done;
  const char *sa = spec_account(spec);
  if (sa != NULL && !check_act_as(c->e, c->member, sa, c->resp)) goto done;
  pthread_mutex_lock(&c->s->mu);
  if (job_find(c->s, c->name, NULL) != NULL) {
    pthread_mutex_unlock(&c->s->mu);
    emu_reply_google_error(c->resp, 409, "ALREADY_EXISTS",
                           "Job %.600s already exists.", c->name);
    goto done;
  }
  if (c->s->njobs >= SCHED_MAX_JOBS) {
    pthread_mutex_unlock(&c->s->mu);
    emu_reply_google_error(c->resp, 429, "RESOURCE_EXHAUSTED",
                           "gauth-emulator holds at most %d jobs",
                           SCHED_MAX_JOBS);
    goto done;
  }
  sjob *j = calloc(1, sizeof *j);
  sjob **nj = realloc(c->s->jobs, (c->s->njobs + 1) * sizeof *nj);
  /* Kept even when j is NULL: realloc may have freed the old block. */
  if (nj != NULL) c->s->jobs = nj;
  if (j == NULL || nj == NULL) {
    pthread_mutex_unlock(&c->s->mu);
    free(j);
    emu_reply_google_error(c->resp, 500, "INTERNAL", "out of memory");
    goto done;
  }
  j->name = strdup(c->name);
  j->spec = spec;
  j->cron = cron;
  spec = NULL;
  cron = NULL;
  j->gen = ++c->s->gen;
  int64_t now = emu_now(c->e);
  j->user_update = now;
  j->schedule_time = next_run(j, now);
  c->s->jobs[c->s->njobs++] = j;
  emu_reply_json(c->resp, 200, job_json(j));
  kick(c->s);
  pthread_mutex_unlock(&c->s->mu);
  ok = 1;
done:
  (void)ok;
  emu_cron_free(cron);
  cJSON_Delete(spec);
  cJSON_Delete(body);
}

static void list_jobs(call *c) {
  const char *ps = emu_req_query(c->req, "pageSize");
  const char *pt = emu_req_query(c->req, "pageToken");
  long size = SCHED_PAGE_MAX, start = 0;
  char *end;
  if (ps != NULL && ps[0]) {
    size = strtol(ps, &end, 10);
    if (*end != '\0' || size < 0) {
      emu_reply_google_error(c->resp, 400, "INVALID_ARGUMENT",
                             "Invalid value for pageSize: %.40s", ps);
      return;
    }
    if (size == 0 || size > SCHED_PAGE_MAX) size = SCHED_PAGE_MAX;
  }
  if (pt != NULL && pt[0]) {
    start = strtol(pt, &end, 10);
    if (*end != '\0' || start < 0) {
      emu_reply_google_error(c->resp, 400, "INVALID_ARGUMENT",
                             "Invalid page token.");
      return;
    }
  }
  cJSON *o = cJSON_CreateObject(), *arr = NULL;
  long seen = 0, added = 0;
  size_t plen = strlen(c->parent);
  pthread_mutex_lock(&c->s->mu);
  for (size_t i = 0; i < c->s->njobs; i++) {
    const sjob *j = c->s->jobs[i];
    if (strncmp(j->name, c->parent, plen) != 0 || j->name[plen] != '/')
      continue;
    if (seen++ < start) continue;
    if (added == size) {
      char tok[32];
      snprintf(tok, sizeof tok, "%ld", seen - 1);
      cJSON_AddStringToObject(o, "nextPageToken", tok);
      break;
    }
    if (arr == NULL) arr = cJSON_AddArrayToObject(o, "jobs");
    cJSON_AddItemToArray(arr, job_json(j));
    added++;
  }
  pthread_mutex_unlock(&c->s->mu);
  /* Google leaves an empty list out: the reply is {}. */
  emu_reply_json(c->resp, 200, o);
}

/* Converts a field-mask path's snake_case to JSON's lowerCamelCase. */
static void camel(const char *in, char *out, size_t n) {
  size_t k = 0;
  for (size_t i = 0; in[i] && k + 1 < n; i++) {
    if (in[i] == '_' && in[i + 1]) {
      out[k++] = (char)toupper((unsigned char)in[++i]);
    } else {
      out[k++] = in[i];
    }
  }
  out[k] = '\0';
}

/* Sets (or, when the body lacks it, removes) one dotted path of spec from
 * body. */
static void apply_path(cJSON *spec, const cJSON *body, char *path) {
  cJSON *dst = spec;
  const cJSON *src = body;
  char *save = NULL, *part = strtok_r(path, ".", &save);
  while (part != NULL) {
    char *next = strtok_r(NULL, ".", &save);
    const cJSON *sv = src ? cJSON_GetObjectItemCaseSensitive(src, part) : NULL;
    if (next == NULL) {
      cJSON_DeleteItemFromObjectCaseSensitive(dst, part);
      if (sv != NULL && !cJSON_IsNull(sv))
        cJSON_AddItemToObject(dst, part, cJSON_Duplicate(sv, 1));
      return;
    }
    cJSON *dv = cJSON_GetObjectItemCaseSensitive(dst, part);
    if (!cJSON_IsObject(dv)) {
      if (sv == NULL) return; /* nothing to remove below an absent member */
      cJSON_DeleteItemFromObjectCaseSensitive(dst, part);
      dv = cJSON_AddObjectToObject(dst, part);
    }
    dst = dv;
    src = sv;
    part = next;
  }
}

static void patch_job(call *c, sjob *j) {
  cJSON *body = emu_req_json(c->req), *given = NULL, *spec = NULL;
  const char *mask = emu_req_query(c->req, "updateMask");
  emu_cron *cron = NULL;
  if (body == NULL) {
    emu_reply_google_error(c->resp, 400, "INVALID_ARGUMENT",
                           "Invalid JSON payload received.");
    return;
  }
  /* Unknown members are refused before anything else, as Google parses the
   * body first. (Locked: j stays valid.) */
  if ((given = settable(body, c->resp)) == NULL) goto done;
  spec = cJSON_Duplicate(j->spec, 1);
  if (mask != NULL && mask[0]) {
    char *m = strdup(mask), *save = NULL;
    for (char *p = strtok_r(m, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
      char path[300];
      while (*p == ' ') p++;
      camel(p, path, sizeof path);
      char top[300];
      snprintf(top, sizeof top, "%s", path);
      top[strcspn(top, ".")] = '\0';
      if (in_list(output_fields, top) || strcmp(top, "name") == 0) continue;
      if (!in_list(job_fields, top)) {
        emu_reply_google_error(c->resp, 400, "INVALID_ARGUMENT",
                               "Invalid update mask path: %.200s", p);
        free(m);
        goto done;
      }
      apply_path(spec, given, path);
    }
    free(m);
  } else {
    const cJSON *it;
    cJSON_ArrayForEach(it, given) {
      cJSON_DeleteItemFromObjectCaseSensitive(spec, it->string);
      cJSON_AddItemToObject(spec, it->string, cJSON_Duplicate(it, 1));
    }
  }
  /* A oneof: setting one target drops the others. */
  static const char *const targets[] = {"httpTarget", "pubsubTarget",
                                        "appEngineHttpTarget"};
  for (size_t t = 0; t < 3; t++)
    if (cJSON_GetObjectItemCaseSensitive(given, targets[t]))
      for (size_t u = 0; u < 3; u++)
        if (u != t) cJSON_DeleteItemFromObjectCaseSensitive(spec, targets[u]);
  if (check_spec(spec, c->resp, &cron) != 0) goto done;
  /* A patch that sets a token's account needs actAs on it. */
  const char *sa = spec_account(spec), *old = spec_account(j->spec);
  if (sa != NULL && (old == NULL || strcmp(sa, old) != 0) &&
      !check_act_as(c->e, c->member, sa, c->resp))
    goto done;
  cJSON_Delete(j->spec);
  emu_cron_free(j->cron);
  j->spec = spec;
  j->cron = cron;
  spec = NULL;
  cron = NULL;
  j->gen = ++c->s->gen;
  j->attempts = 0;
  int64_t now = emu_now(c->e);
  j->user_update = now;
  j->schedule_time = next_run(j, now);
  emu_reply_json(c->resp, 200, job_json(j));
  kick(c->s);
done:
  emu_cron_free(cron);
  cJSON_Delete(spec);
  cJSON_Delete(given);
  cJSON_Delete(body);
}

/* GET, PATCH, DELETE on a job and its :pause, :resume, :run. */
static void job_method(call *c, const char *verb) {
  const char *m = c->req->method;
  const char *perm = NULL;
  int post = strcmp(m, "POST") == 0;
  if (verb == NULL) {
    perm = strcmp(m, "GET") == 0      ? "cloudscheduler.jobs.get"
           : strcmp(m, "PATCH") == 0  ? "cloudscheduler.jobs.update"
           : strcmp(m, "DELETE") == 0 ? "cloudscheduler.jobs.delete"
                                      : NULL;
  } else if (post && strcmp(verb, "pause") == 0) {
    perm = "cloudscheduler.jobs.pause";
  } else if (post && strcmp(verb, "resume") == 0) {
    perm = "cloudscheduler.jobs.enable";
  } else if (post && strcmp(verb, "run") == 0) {
    perm = "cloudscheduler.jobs.run";
  } else if (!post) {
    emu_reply_method_not_allowed(c->resp);
    return;
  } else {
    emu_reply_google_error(c->resp, 404, "NOT_FOUND",
                           "The requested URL %.300s was not found on this "
                           "server.",
                           c->req->path);
    return;
  }
  if (perm == NULL) {
    emu_reply_method_not_allowed(c->resp);
    return;
  }
  if (!emu_has_permission(c->e, c->name, c->member, perm)) {
    reply_denied(c->resp, perm, c->name);
    return;
  }
  pthread_mutex_lock(&c->s->mu);
  size_t idx = 0;
  sjob *j = job_find(c->s, c->name, &idx);
  if (j == NULL) {
    emu_reply_google_error(c->resp, 404, "NOT_FOUND", "Job not found.");
  } else if (verb == NULL && strcmp(m, "GET") == 0) {
    emu_reply_json(c->resp, 200, job_json(j));
  } else if (verb == NULL && strcmp(m, "PATCH") == 0) {
    patch_job(c, j);
  } else if (verb == NULL) { /* DELETE */
    sjob_free(j);
    memmove(&c->s->jobs[idx], &c->s->jobs[idx + 1],
            (c->s->njobs - idx - 1) * sizeof *c->s->jobs);
    c->s->njobs--;
    emu_reply_json(c->resp, 200, cJSON_CreateObject());
  } else if (strcmp(verb, "pause") == 0) {
    j->paused = 1;
    emu_reply_json(c->resp, 200, job_json(j));
  } else if (strcmp(verb, "resume") == 0) {
    if (j->paused) {
      j->paused = 0;
      j->attempts = 0;
      j->schedule_time = next_run(j, emu_now(c->e));
    }
    emu_reply_json(c->resp, 200, job_json(j));
    kick(c->s);
  } else { /* run: the attempt is made by the thread, as Google's is */
    j->run_now = 1;
    emu_reply_json(c->resp, 200, job_json(j));
    kick(c->s);
  }
  pthread_mutex_unlock(&c->s->mu);
}

/* /v1/projects/P/locations/L/jobs[/J[:verb]] */
int emu_route_scheduler(emu *e, const emu_request *req, emu_response *resp) {
  char p[129], l[129], rest[SCHED_ID_MAX + 20] = "";
  int n = 0;
  if (strncmp(req->path, "/v1/projects/", 13) != 0) return 0;
  if (sscanf(req->path, "/v1/projects/%128[^/]/locations/%128[^/]/jobs%n", p, l,
             &n) != 2 ||
      n == 0)
    return 0;
  const char *tail = req->path + n;
  if (tail[0] != '\0' && tail[0] != '/') return 0;
  if (tail[0] == '/') snprintf(rest, sizeof rest, "%s", tail + 1);
  if (strlen(tail) > SCHED_ID_MAX + 10) return 0;

  call c;
  memset(&c, 0, sizeof c);
  c.e = e;
  c.s = emu_scheduler_of(e);
  c.req = req;
  c.resp = resp;
  if (c.s == NULL) {
    emu_reply_google_error(resp, 503, "UNAVAILABLE",
                           "the Cloud Scheduler service is not running");
    return 1;
  }
  emu_bearer b;
  if (!emu_require_access_token(e, req, resp, &api_need, &b)) return 1;
  emu_member_of(e, b.email, c.member, sizeof c.member);

  /* The project by id or number: names use the id. Another project holds
   * nothing the caller may see. */
  int ours = strcmp(p, emu_project_id(e)) == 0 ||
             strcmp(p, emu_project_number(e)) == 0;
  snprintf(c.parent, sizeof c.parent, "projects/%s/locations/%s",
           ours ? emu_project_id(e) : p, l);
  char *verb = strchr(rest, ':');
  if (verb != NULL) *verb++ = '\0';
  int collection = rest[0] == '\0' && verb == NULL;
  if (!collection && !valid_job_id(rest)) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Job name must be formatted: "
                           "\"projects/<PROJECT_ID>/locations/<LOCATION_ID>/"
                           "jobs/<JOB_ID>\".");
    return 1;
  }
  if (!collection)
    snprintf(c.name, sizeof c.name, "%s/jobs/%s", c.parent, rest);
  const char *perm =
      !collection                        ? NULL
      : strcmp(req->method, "POST") == 0 ? "cloudscheduler.jobs.create"
      : strcmp(req->method, "GET") == 0  ? "cloudscheduler.jobs.list"
                                         : "";
  if (perm != NULL && perm[0] == '\0') {
    emu_reply_method_not_allowed(resp);
    return 1;
  }
  if (!ours) {
    reply_denied(resp, perm ? perm : "cloudscheduler.jobs.get",
                 collection ? c.parent : c.name);
    return 1;
  }
  if (strcmp(l, emu_region(e)) != 0) {
    /* Google's words when a project's jobs live in another region (its App
     * Engine app's, when jobs needed one): the world has one region. */
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Location must equal %s because the App Engine "
                           "app that is associated with this project is "
                           "located in %s",
                           emu_region(e), emu_region(e));
    return 1;
  }
  if (!collection) {
    job_method(&c, verb);
    return 1;
  }
  if (!emu_has_permission(e, c.parent, c.member, perm)) {
    reply_denied(resp, perm, c.parent);
    return 1;
  }
  if (strcmp(perm, "cloudscheduler.jobs.create") == 0)
    create_job(&c);
  else
    list_jobs(&c);
  return 1;
}
