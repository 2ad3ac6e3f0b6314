/* The doctor's checks of the job, the target and the token (the IAM checks
 * are in lib/doctor_iam.c), and gauth_doctor_diagnose, which runs them in
 * order. Each check reads Google's public APIs as the caller, records what
 * it read and what it showed, and names a cause only on evidence. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

#include "abi.h"
#include "config.h"
#include "credentials_internal.h"
#include "doctor_internal.h"
#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

/* ---- requests ------------------------------------------------------------ */

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") in seconds since the
 * epoch; -1 when it is not one. */
static int64_t http_date(const char *s) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char mon[4];
  int day, year, hh, mm, ss, m;
  int64_t days;
  const char *p;
  if (s == NULL) return -1;
  p = strchr(s, ',');
  if (p == NULL || sscanf(p + 1, " %2d %3s %4d %2d:%2d:%2d GMT", &day, mon,
                          &year, &hh, &mm, &ss) != 6)
    return -1;
  mon[3] = '\0';
  p = strstr(months, mon);
  if (p == NULL || (p - months) % 3 != 0 || year < 1970 || day < 1 ||
      day > 31 || hh > 23 || mm > 59 || ss > 60)
    return -1;
  m = (int)(p - months) / 3 + 1;
  /* Days from the civil date (Howard Hinnant's algorithm). */
  {
    int y = m <= 2 ? year - 1 : year;
    int era = y / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = (int64_t)era * 146097 + doe - 719468;
  }
  return days * 86400 + hh * 3600 + mm * 60 + ss;
}

void gauth__dx_date(gauth__dx *x, const char *date) {
  int64_t t = http_date(date), skew;
  if (t < 0) return;
  skew = t - x->now;
  if (!x->date_seen || llabs(skew) > llabs(x->skew)) x->skew = skew;
  x->date_seen = 1;
}

gauth_status gauth__dx_request(gauth__dx *x, const char *method, int service,
                               const char *url_or_suffix, const char *json,
                               gauth__http_response *resp, char *why,
                               size_t why_size) {
  gauth__http_request req;
  gauth_error err = GAUTH_ERROR_INIT;
  char **headers = NULL, *token = NULL, *url = NULL;
  const char *secrets[2] = {NULL, NULL};
  gauth_status st;

  memset(resp, 0, sizeof *resp);
  if (service >= 0)
    st = gauth__config_service_url(gauth__http_config(x->h),
                                   (gauth_service)service, url_or_suffix, &url,
                                   &err);
  else
    st = gauth__config_resolve_url(gauth__http_config(x->h), url_or_suffix,
                                   &url, &err);
  if (st == GAUTH_OK)
    st = gauth__credentials_auth_headers(x->caller, &headers, &token, &err);
  if (st != GAUTH_OK) {
    snprintf(why, why_size, "%s", err.message);
    free(url);
    return st;
  }
  secrets[0] = token;
  memset(&req, 0, sizeof req);
  req.method = method;
  req.url = url;
  req.headers = (const char *const *)headers;
  req.secrets = secrets;
  req.accept_any_status = 1;
  if (json != NULL) {
    req.body = json;
    req.body_len = strlen(json);
    req.content_type = "application/json";
  }
  st = gauth__http_do(x->h, &req, resp, &err);
  if (st == GAUTH_OK)
    gauth__dx_date(x, gauth__http_response_header(resp, "Date"));
  else
    snprintf(why, why_size, "%s", err.message);
  gauth__auth_headers_free(headers, token);
  free(url);
  return st;
}

void gauth__dx_reply_message(const gauth__http_response *resp, char *buf,
                             size_t size) {
  cJSON *root = NULL;
  const cJSON *e, *m;
  snprintf(buf, size, "HTTP %ld", resp->status);
  if (resp->body == NULL ||
      gauth__json_parse_object(resp->body, resp->body_len, NULL, &root, NULL) !=
          GAUTH_OK)
    return;
  e = cJSON_GetObjectItemCaseSensitive(root, "error");
  m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
  if (cJSON_IsString(m))
    snprintf(buf, size, "HTTP %ld: %.200s", resp->status, m->valuestring);
  cJSON_Delete(root);
}

/* ---- small helpers --------------------------------------------------------
 */

/* The next path part after `prefix` at *p (copied), moving *p past it. */
static char *take_part(const char **p, const char *prefix) {
  const char *s = gauth__skip_prefix(*p, prefix), *e;
  char *out;
  if (s == NULL) return NULL;
  e = s;
  while (*e != '\0' && *e != '/' && *e != ':' && *e != '?' && *e != '#') e++;
  if (e == s) return NULL;
  out = malloc((size_t)(e - s) + 1);
  if (out == NULL) return NULL;
  memcpy(out, s, (size_t)(e - s));
  out[e - s] = '\0';
  *p = e;
  return out;
}

static int all_digits(const char *s) {
  if (s == NULL || *s == '\0') return 0;
  for (; *s != '\0'; s++)
    if (!isdigit((unsigned char)*s)) return 0;
  return 1;
}

/* The job's short id, location and project from its name. */
static void job_name_parts(gauth__dx *x) {
  const char *p = gauth_scheduler_job_name(x->job);
  if (p == NULL || *p == '\0') return;
  x->job_project = take_part(&p, "projects/");
  if (x->job_project != NULL) x->job_location = take_part(&p, "/locations/");
  if (x->job_location != NULL) x->job_id = take_part(&p, "/jobs/");
}

/* "J --location=L" or the job's name when it is not in that form. */
static const char *job_ref(const gauth__dx *x, char *buf, size_t size) {
  if (x->job_id != NULL && x->job_location != NULL)
    snprintf(buf, size, "%s --location=%s --project=%s", x->job_id,
             x->job_location, x->job_project);
  else
    snprintf(buf, size, "JOB --location=LOCATION");
  return buf;
}

/* ---- job ------------------------------------------------------------------
 */

static void check_job(gauth__dx *x) {
  int code, stale;
  if (x->job == NULL) {
    gauth__dx_check(x->d, "job", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "no job: the URL %s and the token given", x->shown);
    return;
  }
  code = gauth_scheduler_job_status_code(x->job);
  stale = code != 0 && gauth_scheduler_job_user_update_time(x->job) >
                           gauth_scheduler_job_last_attempt_time(x->job);
  if (code != 0 && !stale) {
    x->failed_evidence = 1;
    x->evidence_http = code == 16 ? 401 : code == 7 ? 403 : code == 5 ? 404 : 0;
  }
  {
    char tok[700];
    const char *kind =
        x->sends == GAUTH_SCHEDULER_TOKEN_OIDC    ? "an OIDC ID token"
        : x->sends == GAUTH_SCHEDULER_TOKEN_OAUTH ? "an OAuth access token"
                                                  : "no token";
    if (x->sends == GAUTH_SCHEDULER_TOKEN_OIDC)
      snprintf(tok, sizeof tok, "%s of %s, audience %s", kind, x->account,
               x->audience);
    else if (x->sends == GAUTH_SCHEDULER_TOKEN_OAUTH)
      snprintf(tok, sizeof tok, "%s of %s, scope %s", kind, x->account,
               x->scope);
    else
      snprintf(tok, sizeof tok, "%s", kind);
    gauth__dx_check(
        x->d, "job",
        code != 0 && !stale ? GAUTH_DOCTOR_CHECK_FAIL : GAUTH_DOCTOR_CHECK_OK,
        "%s%s calls %s %s with %s; last attempt: %s%s%s%s",
        x->scheduler_mints ? "job " : "the call (ad hoc)",
        x->scheduler_mints ? gauth_scheduler_job_name(x->job) : "",
        gauth_scheduler_job_http_method(x->job), x->shown, tok,
        code == 0 && gauth_scheduler_job_last_attempt_time(x->job) == 0
            ? "none recorded"
            : gauth_rpc_code_name(code),
        code != 0 && *gauth_scheduler_job_status_message(x->job) ? ": " : "",
        code != 0 ? gauth_scheduler_job_status_message(x->job) : "",
        stale ? " (before the job's last update: not evidence of its "
                "present settings)"
              : "");
  }
}

/* ---- target_kind ----------------------------------------------------------
 */

/* scheme://host[:port] and the path of a URL (lower-case scheme and host). */
typedef struct url_parts {
  char *origin;
  char *host;
  char *path;
} url_parts;

static void url_parts_free(url_parts *u) {
  free(u->origin);
  free(u->host);
  free(u->path);
  memset(u, 0, sizeof *u);
}

static int url_split(const char *url, url_parts *out) {
  CURLU *h = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  int ok = 0;
  memset(out, 0, sizeof *out);
  if (h == NULL) return 0;
  if (curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
    char *c;
    (void)curl_url_get(h, CURLUPART_PORT, &port, 0);
    for (c = host; *c != '\0'; c++) *c = (char)tolower((unsigned char)*c);
    if (strlen(host) > 1 && host[strlen(host) - 1] == '.')
      host[strlen(host) - 1] = '\0';
    out->origin =
        gauth__dx_strf("%s://%s%s%s", scheme, host, port != NULL ? ":" : "",
                       port != NULL ? port : "");
    out->host = gauth__strdup(host);
    out->path = gauth__strdup(path);
    ok = out->origin != NULL && out->host != NULL && out->path != NULL;
    if (!ok) url_parts_free(out);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(h);
  return ok;
}

/* 1 when `url` is the service URL `svc` or under it. */
static int url_under(const char *url, const char *svc) {
  url_parts a, b;
  int r = 0;
  if (url == NULL || svc == NULL || !url_split(url, &a)) return 0;
  if (url_split(svc, &b)) {
    size_t n = strlen(b.path);
    while (n > 0 && b.path[n - 1] == '/') n--;
    r = strcmp(a.origin, b.origin) == 0 && strncmp(a.path, b.path, n) == 0 &&
        (a.path[n] == '\0' || a.path[n] == '/');
    url_parts_free(&b);
  }
  url_parts_free(&a);
  return r;
}

/* Audiences compare as Cloud Run compares them: exactly, but for one
 * trailing '/'. */
static int audience_eq(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 0 && a[n - 1] == '/') n--;
  if (m > 0 && b[m - 1] == '/') m--;
  return n == m && strncmp(a, b, n) == 0;
}

static void add_audience(gauth__dx *x, const char *a) {
  char **grown;
  size_t i;
  if (a == NULL || *a == '\0') return;
  for (i = 0; i < x->audience_count; i++)
    if (strcmp(x->audiences[i], a) == 0) return;
  grown = realloc(x->audiences, (x->audience_count + 1) * sizeof *grown);
  if (grown == NULL) return;
  x->audiences = grown;
  grown[x->audience_count] = gauth__strdup(a);
  if (grown[x->audience_count] != NULL) x->audience_count++;
}

/* Does the service object reach the URL? Then it is the target. */
static int service_matches(gauth__dx *x, const cJSON *svc) {
  const cJSON *uri = cJSON_GetObjectItemCaseSensitive(svc, "uri");
  const cJSON *urls = cJSON_GetObjectItemCaseSensitive(svc, "urls");
  const cJSON *ca = cJSON_GetObjectItemCaseSensitive(svc, "customAudiences");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(svc, "name");
  const cJSON *u;
  int hit = cJSON_IsString(uri) && url_under(x->url, uri->valuestring);
  cJSON_ArrayForEach(u, urls) {
    if (cJSON_IsString(u) && url_under(x->url, u->valuestring)) hit = 1;
  }
  if (!hit || !cJSON_IsString(name)) return 0;
  free(x->run_service);
  x->run_service = gauth__strdup(name->valuestring);
  if (cJSON_IsString(uri)) add_audience(x, uri->valuestring);
  cJSON_ArrayForEach(u, urls) {
    if (cJSON_IsString(u)) add_audience(x, u->valuestring);
  }
  cJSON_ArrayForEach(u, ca) {
    if (cJSON_IsString(u)) add_audience(x, u->valuestring);
  }
  return 1;
}

/* Lists the services of projects/P/locations/L (pages followed, up to 20)
 * and looks for the one the URL reaches. 1 found, 0 not found, -1 could not
 * list (why says so). */
static int find_service(gauth__dx *x, const char *project, const char *location,
                        char *why, size_t why_size) {
  char *token = NULL;
  int pages, found = 0;
  for (pages = 0; pages < 20 && !found; pages++) {
    gauth__http_response resp;
    cJSON *root = NULL;
    const cJSON *list, *svc, *next;
    char *suffix = gauth__dx_strf(
        "/v2/projects/%s/locations/%s/services?pageSize=1000%s%s", project,
        location, token != NULL ? "&pageToken=" : "",
        token != NULL ? token : "");
    gauth_status st;
    if (suffix == NULL) break;
    st = gauth__dx_request(x, "GET", GAUTH_SERVICE_RUN, suffix, NULL, &resp,
                           why, why_size);
    free(suffix);
    if (st != GAUTH_OK || resp.status != 200) {
      if (st == GAUTH_OK) {
        char m[300];
        gauth__dx_reply_message(&resp, m, sizeof m);
        snprintf(why, why_size,
                 "listing the Cloud Run services of projects/%s/locations/%s: "
                 "%s",
                 project, location, m);
      }
      gauth__http_response_cleanup(&resp);
      curl_free(token);
      return -1;
    }
    if (gauth__json_parse_object(resp.body, resp.body_len, NULL, &root, NULL) !=
        GAUTH_OK) {
      snprintf(why, why_size, "the list of services is not JSON");
      gauth__http_response_cleanup(&resp);
      curl_free(token);
      return -1;
    }
    list = cJSON_GetObjectItemCaseSensitive(root, "services");
    cJSON_ArrayForEach(svc, list) {
      if (!found && service_matches(x, svc)) found = 1;
    }
    next = cJSON_GetObjectItemCaseSensitive(root, "nextPageToken");
    curl_free(token);
    token = cJSON_IsString(next) && *next->valuestring
                ? curl_easy_escape(NULL, next->valuestring, 0)
                : NULL;
    cJSON_Delete(root);
    gauth__http_response_cleanup(&resp);
    if (token == NULL) break;
  }
  if (token != NULL) curl_free(token);
  return found;
}

/* The Cloud Run Admin API's :run URL: v2 /v2/projects/P/locations/L/jobs/
 * J:run, v1 /apis/run.googleapis.com/v1/namespaces/P/jobs/J:run (the
 * location from a regional host L-run.googleapis.com). */
static void parse_run_url(gauth__dx *x, const url_parts *u) {
  const char *p = u->path;
  char *proj = NULL, *loc = NULL, *job = NULL;
  if (gauth__skip_prefix(p, "/v2/projects/") != NULL) {
    proj = take_part(&p, "/v2/projects/");
    if (proj != NULL) loc = take_part(&p, "/locations/");
    if (loc != NULL) job = take_part(&p, "/jobs/");
  } else if (gauth__skip_prefix(p, "/apis/run.googleapis.com/v1/namespaces/") !=
             NULL) {
    const char *dash = strstr(u->host, "-run.");
    proj = take_part(&p, "/apis/run.googleapis.com/v1/namespaces/");
    if (proj != NULL) job = take_part(&p, "/jobs/");
    x->run_v1 = 1;
    if (dash != NULL) {
      loc = malloc((size_t)(dash - u->host) + 1);
      if (loc != NULL) {
        memcpy(loc, u->host, (size_t)(dash - u->host));
        loc[dash - u->host] = '\0';
      }
    }
  }
  if (job == NULL || strcmp(p, ":run") != 0) {
    free(proj);
    free(loc);
    free(job);
    x->run_v1 = 0;
    return;
  }
  x->project = proj;
  x->location = loc != NULL ? loc : gauth__strdup("-");
  x->run_job = gauth__dx_strf("projects/%s/locations/%s/jobs/%s", proj,
                              x->location, job);
  free(job);
}

/* A v1 :run URL on a host without the region: the job's location from the
 * list of the project's jobs in every location. */
/* The full name of the project's Cloud Run job with the id of run_job, in
 * any location (the list of projects/P/locations/-/jobs), or NULL. */
static char *job_anywhere(gauth__dx *x) {
  gauth__http_response resp;
  char why[300], *suffix, *found = NULL;
  const char *id = strrchr(x->run_job, '/') + 1;
  cJSON *root = NULL;
  const cJSON *j;
  suffix = gauth__dx_strf("/v2/projects/%s/locations/-/jobs?pageSize=1000",
                          x->project);
  if (suffix == NULL) return NULL;
  if (gauth__dx_request(x, "GET", GAUTH_SERVICE_RUN, suffix, NULL, &resp, why,
                        sizeof why) == GAUTH_OK &&
      resp.status == 200 &&
      gauth__json_parse_object(resp.body, resp.body_len, NULL, &root, NULL) ==
          GAUTH_OK) {
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(root, "jobs")) {
      const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
      const char *slash =
          cJSON_IsString(n) ? strrchr(n->valuestring, '/') : NULL;
      if (found == NULL && slash != NULL && strcmp(slash + 1, id) == 0)
        found = gauth__strdup(n->valuestring);
    }
    cJSON_Delete(root);
  }
  gauth__http_response_cleanup(&resp);
  free(suffix);
  return found;
}

/* The location part of projects/P/locations/L/..., copied. */
static char *location_of(const char *name) {
  const char *p = name;
  char *proj = take_part(&p, "projects/");
  char *loc = proj != NULL ? take_part(&p, "/locations/") : NULL;
  free(proj);
  return loc;
}

/* A v1 :run URL on a host without the region: the job's location from the
 * list of the project's jobs in every location. */
static void locate_v1_job(gauth__dx *x) {
  char *name = job_anywhere(x), *loc = name != NULL ? location_of(name) : NULL;
  if (loc != NULL) {
    free(x->location);
    x->location = loc;
    free(x->run_job);
    x->run_job = name;
    name = NULL;
  }
  free(name);
}

static void check_target_kind(gauth__dx *x) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *why = NULL, lookup[700] = "";
  gauth_scheduler_token takes = GAUTH_SCHEDULER_TOKEN_NONE;
  url_parts u;
  if (gauth_scheduler_url_classify(x->opts, x->url, &x->kind, &takes, &why,
                                   &err) != GAUTH_OK) {
    gauth__dx_check(x->d, "target_kind", GAUTH_DOCTOR_CHECK_UNKNOWN, "%s",
                    err.message);
    return;
  }
  x->kind_known = 1;
  x->takes = takes;
  if (!url_split(x->url, &u)) {
    gauth__dx_check(x->d, "target_kind", GAUTH_DOCTOR_CHECK_OK, "%s", why);
    gauth_free(why);
    return;
  }
  if (x->kind == GAUTH_SCHEDULER_URL_GOOGLE_API) {
    parse_run_url(x, &u);
    if (x->run_job != NULL && x->run_v1 && strcmp(x->location, "-") == 0)
      locate_v1_job(x);
    if (x->run_job != NULL)
      snprintf(lookup, sizeof lookup,
               "; it is the Cloud Run Admin API's %s :run of the job %s",
               x->run_v1 ? "v1" : "v2", x->run_job);
  } else {
    /* Which project and region to list: the deterministic run.app URL
     * SERVICE-NUMBER.REGION.run.app says; else the job's; else the
     * caller's project in every region. */
    char *proj = NULL, *loc = NULL, lwhy[400] = "";
    const char *run = strstr(u.host, ".run.app");
    int found = -1;
    if (run != NULL && strstr(u.host, ".a.run.app") == NULL) {
      const char *dot = strchr(u.host, '.');
      const char *dash = dot != NULL ? dot : u.host;
      while (dash > u.host && dash[-1] != '-') dash--;
      if (dot != NULL && dash > u.host && dot < run) {
        proj = gauth__dx_strf("%.*s", (int)(dot - dash), dash);
        loc = gauth__dx_strf("%.*s", (int)(run - dot - 1), dot + 1);
        if (!all_digits(proj)) {
          free(proj);
          free(loc);
          proj = loc = NULL;
        }
      }
    }
    if (proj == NULL && x->job_project != NULL) {
      proj = gauth__strdup(x->job_project);
      loc = gauth__strdup("-");
    }
    if (proj == NULL) {
      char *p = NULL;
      if (gauth_credentials_project_id(x->caller, &p, NULL) == GAUTH_OK) {
        proj = gauth__strdup(p);
        loc = gauth__strdup("-");
      }
      gauth_free(p);
    }
    if (proj != NULL && loc != NULL) {
      found = find_service(x, proj, loc, lwhy, sizeof lwhy);
      if (found == 0 && strcmp(loc, "-") != 0) {
        free(loc);
        loc = gauth__strdup("-");
        found =
            loc != NULL ? find_service(x, proj, loc, lwhy, sizeof lwhy) : -1;
      }
    }
    if (found == 1) {
      x->kind = GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE;
      x->takes = GAUTH_SCHEDULER_TOKEN_OIDC;
      x->target_exists = 1;
      snprintf(lookup, sizeof lookup,
               "; Cloud Run Admin v2 lists it as the URL of the service %s, "
               "which takes an OIDC ID token",
               x->run_service);
    } else if (found == 0) {
      x->service_listed = 1;
      snprintf(lookup, sizeof lookup,
               "; no Cloud Run service of project %s has this URL", proj);
    } else if (proj == NULL) {
      snprintf(lookup, sizeof lookup,
               "; which Cloud Run service (if any) has this URL is not known: "
               "no project to list (give a job name or set the project)");
    } else {
      snprintf(lookup, sizeof lookup,
               "; which Cloud Run service (if any) has this URL is not known: "
               "%s",
               lwhy);
    }
    if (x->project == NULL) {
      x->project = proj;
      proj = NULL;
    }
    free(proj);
    free(loc);
  }
  x->host = u.host;
  u.host = NULL;
  url_parts_free(&u);
  gauth__dx_check(x->d, "target_kind", GAUTH_DOCTOR_CHECK_OK, "%s%s", why,
                  lookup);
  gauth_free(why);
}

/* ---- token_type -----------------------------------------------------------
 */

static const char *token_kind_text(gauth_scheduler_token t) {
  return t == GAUTH_SCHEDULER_TOKEN_OIDC    ? "an OIDC ID token"
         : t == GAUTH_SCHEDULER_TOKEN_OAUTH ? "an OAuth 2 access token"
                                            : "no token";
}

static void fix_to_oauth(gauth__dx *x) {
  char ref[400];
  const char *email = x->account != NULL ? x->account : "EMAIL";
  if (x->job != NULL) {
    gauth__dx_fix(
        x->d,
        "gcloud scheduler jobs update http %s "
        "--oauth-service-account-email=%s "
        "--oauth-token-scope=https://www.googleapis.com/auth/cloud-platform",
        job_ref(x, ref, sizeof ref), email);
    gauth__dx_fix(x->d,
                  "(the OAuth token replaces the OIDC token: they are one "
                  "field of the job)");
    gauth__dx_fix(x->d,
                  "or in the job's JSON: remove httpTarget.oidcToken and set "
                  "httpTarget.oauthToken = {\"serviceAccountEmail\": \"%s\", "
                  "\"scope\": \"https://www.googleapis.com/auth/"
                  "cloud-platform\"}",
                  email);
  } else {
    gauth__dx_fix(x->d,
                  "send an access token instead: gauth token "
                  "--scope=https://www.googleapis.com/auth/cloud-platform "
                  "(as %s)",
                  email);
  }
}

static void fix_to_oidc(gauth__dx *x) {
  char ref[400];
  const char *email = x->account != NULL ? x->account : "EMAIL";
  const char *aud = x->audience_count > 0 ? x->audiences[0] : x->shown;
  if (x->job != NULL) {
    gauth__dx_fix(x->d,
                  "gcloud scheduler jobs update http %s "
                  "--oidc-service-account-email=%s --oidc-token-audience=%s",
                  job_ref(x, ref, sizeof ref), email, aud);
    gauth__dx_fix(x->d,
                  "or in the job's JSON: set httpTarget.oidcToken = "
                  "{\"serviceAccountEmail\": \"%s\", \"audience\": \"%s\"}%s",
                  email, aud,
                  x->sends == GAUTH_SCHEDULER_TOKEN_OAUTH
                      ? " and remove httpTarget.oauthToken"
                      : "");
  } else {
    gauth__dx_fix(x->d, "send an ID token instead: gauth token --audience=%s",
                  aud);
  }
}

static void check_token_type(gauth__dx *x) {
  const char *what = x->kind == GAUTH_SCHEDULER_URL_GOOGLE_API ? "a Google API"
                     : x->kind == GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION
                         ? "a Cloud Run function"
                     : x->kind == GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE
                         ? "a Cloud Run service"
                         : "an endpoint of your own";
  int needs = x->kind != GAUTH_SCHEDULER_URL_OTHER ||
              (x->failed_evidence && x->evidence_http == 401);
  if (!x->kind_known) {
    gauth__dx_check(x->d, "token_type", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "what the target takes is not known");
    return;
  }
  if (x->sends == GAUTH_SCHEDULER_TOKEN_NONE) {
    if (needs) {
      gauth__dx_check(x->d, "token_type", GAUTH_DOCTOR_CHECK_FAIL,
                      "no token is sent to %s (%s), which needs %s", x->shown,
                      what, token_kind_text(x->takes));
      if (gauth__dx_cause(x->d, GAUTH_DOCTOR_NO_TOKEN,
                          "%s sends no token to %s, which is %s and needs %s.",
                          x->scheduler_mints ? "The job" : "The call", x->shown,
                          what, token_kind_text(x->takes))) {
        if (x->takes == GAUTH_SCHEDULER_TOKEN_OAUTH)
          fix_to_oauth(x);
        else
          fix_to_oidc(x);
      }
    } else {
      gauth__dx_check(x->d, "token_type", GAUTH_DOCTOR_CHECK_OK,
                      "no token is sent to %s (%s); nothing shows it needs one",
                      x->shown, what);
    }
    return;
  }
  if (x->kind == GAUTH_SCHEDULER_URL_OTHER &&
      x->sends == GAUTH_SCHEDULER_TOKEN_OIDC) {
    gauth__dx_check(x->d, "token_type", GAUTH_DOCTOR_CHECK_OK,
                    "an OIDC ID token is sent to %s (%s), which is what an "
                    "endpoint that checks Google-signed tokens takes",
                    x->shown, what);
    return;
  }
  if (x->kind == GAUTH_SCHEDULER_URL_OTHER) {
    gauth__dx_check(x->d, "token_type", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "an OAuth access token is sent to %s (%s): what it takes "
                    "is its own business",
                    x->shown, what);
    return;
  }
  if (x->sends == x->takes) {
    gauth__dx_check(x->d, "token_type", GAUTH_DOCTOR_CHECK_OK,
                    "%s is sent to %s (%s), which takes that kind",
                    token_kind_text(x->sends), x->shown, what);
    return;
  }
  gauth__dx_check(x->d, "token_type", GAUTH_DOCTOR_CHECK_FAIL,
                  "%s is sent to %s (%s), which takes %s",
                  token_kind_text(x->sends), x->shown, what,
                  token_kind_text(x->takes));
  if (x->sends == GAUTH_SCHEDULER_TOKEN_OIDC) {
    if (gauth__dx_cause(
            x->d, GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API,
            "%s sends an OIDC ID token to %s, a Google API%s, which takes "
            "only OAuth 2 access tokens: it answers 401 whatever IAM grants, "
            "so no role can fix it.",
            x->scheduler_mints ? "The job" : "The call", x->shown,
            x->run_job != NULL ? " (Cloud Run Admin :run)" : ""))
      fix_to_oauth(x);
  } else if (gauth__dx_cause(
                 x->d, GAUTH_DOCTOR_ACCESS_TOKEN_TO_RUN_SERVICE,
                 "%s sends an OAuth access token to %s, %s, which takes OIDC "
                 "ID tokens (audience: its URL): it answers 401.",
                 x->scheduler_mints ? "The job" : "The call", x->shown, what)) {
    fix_to_oidc(x);
  }
}

/* ---- scopes ---------------------------------------------------------------
 */

#define SCOPE_PREFIX "https://www.googleapis.com/auth/"

/* The scopes each API accepts besides cloud-platform (the scope table of
 * gauth/doctor.h). */
static const struct {
  const char *api;
  const char *scopes[4];
} scope_table[] = {
    {"run", {NULL}},
    {"cloudscheduler", {NULL}},
    {"iam", {SCOPE_PREFIX "iam", NULL}},
    {"iamcredentials", {SCOPE_PREFIX "iam", NULL}},
    {"pubsub", {SCOPE_PREFIX "pubsub", NULL}},
    {"storage",
     {SCOPE_PREFIX "devstorage.read_only", SCOPE_PREFIX "devstorage.read_write",
      SCOPE_PREFIX "devstorage.full_control", NULL}},
    {"cloudresourcemanager", {SCOPE_PREFIX "cloud-platform.read-only", NULL}},
};

/* The API a Google API URL belongs to ("run" for run.googleapis.com and
 * us-central1-run.googleapis.com); the Cloud Run Admin :run path says "run"
 * on any host. Copied into buf; "" when not known. */
static const char *api_of(const gauth__dx *x, char *buf, size_t size) {
  const char *h = x->host, *dot, *dash;
  buf[0] = '\0';
  if (x->run_job != NULL) {
    snprintf(buf, size, "run");
    return buf;
  }
  if (h == NULL || strstr(h, ".googleapis.com") == NULL) return buf;
  dot = strchr(h, '.');
  dash = memchr(h, '-', (size_t)(dot - h));
  if (dash != NULL) h = dash + 1;
  snprintf(buf, size, "%.*s", (int)(dot - h), h);
  return buf;
}

/* 1 a scope of `scopes` (space-separated) is accepted, 0 none is, -1 the
 * API is not in the table and no scope is cloud-platform. */
static int scope_accepted(const char *api, const char *scopes) {
  size_t i, j;
  const char *p = scopes;
  int known = -1;
  for (i = 0; i < GAUTH__ARRAY_LEN(scope_table); i++)
    if (strcmp(scope_table[i].api, api) == 0) known = (int)i;
  while (p != NULL && *p != '\0') {
    size_t n;
    while (*p == ' ') p++;
    n = strcspn(p, " ");
    if (n == 0) break;
    if (n == strlen(GAUTH_SCOPE_CLOUD_PLATFORM) &&
        strncmp(p, GAUTH_SCOPE_CLOUD_PLATFORM, n) == 0)
      return 1;
    for (j = 0; known >= 0 && scope_table[known].scopes[j] != NULL; j++)
      if (strlen(scope_table[known].scopes[j]) == n &&
          strncmp(p, scope_table[known].scopes[j], n) == 0)
        return 1;
    p += n;
  }
  return known >= 0 ? 0 : -1;
}

static void check_scopes(gauth__dx *x, const char *name, const char *scopes) {
  char api[100], ref[400];
  int r;
  if (x->kind != GAUTH_SCHEDULER_URL_GOOGLE_API) {
    gauth__dx_check(x->d, name, GAUTH_DOCTOR_CHECK_SKIPPED,
                    "the target is not a Google API: scopes do not matter");
    return;
  }
  api_of(x, api, sizeof api);
  r = scope_accepted(api, scopes);
  if (r == 1) {
    gauth__dx_check(x->d, name, GAUTH_DOCTOR_CHECK_OK,
                    "scopes \"%s\": accepted by %s", scopes,
                    *api ? api : "any Google API (cloud-platform)");
    return;
  }
  if (r < 0) {
    gauth__dx_check(x->d, name, GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "scopes \"%s\": not cloud-platform, and which other scopes "
                    "%s accepts is not in the doctor's table",
                    scopes, *api ? api : "this API");
    return;
  }
  gauth__dx_check(x->d, name, GAUTH_DOCTOR_CHECK_FAIL,
                  "scopes \"%s\": none is one the %s API accepts (%s%s)",
                  scopes, api, GAUTH_SCOPE_CLOUD_PLATFORM,
                  strcmp(api, "run") == 0 ? " only" : ", or the API's own");
  if (gauth__dx_cause(
          x->d, GAUTH_DOCTOR_WRONG_SCOPE,
          "The access token's scopes (%s) are not ones the %s API "
          "accepts: it answers 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT.",
          scopes, api)) {
    if (x->job != NULL)
      gauth__dx_fix(x->d,
                    "gcloud scheduler jobs update http %s "
                    "--oauth-service-account-email=%s "
                    "--oauth-token-scope=%s",
                    job_ref(x, ref, sizeof ref),
                    x->account != NULL ? x->account : "EMAIL",
                    GAUTH_SCOPE_CLOUD_PLATFORM);
    else
      gauth__dx_fix(x->d, "mint the token with the scope %s",
                    GAUTH_SCOPE_CLOUD_PLATFORM);
  }
}

/* ---- audience ---------------------------------------------------------------
 */

static void check_audience_of(gauth__dx *x, const char *name,
                              const char *const *auds, size_t n) {
  size_t i, j;
  char list[1000] = "";
  size_t len = 0;
  if (x->run_service == NULL &&
      x->kind == GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION)
    add_audience(x, x->shown); /* a function takes its URL */
  if (x->run_service == NULL && x->audience_count == 0) {
    gauth__dx_check(x->d, name,
                    x->kind == GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE
                        ? GAUTH_DOCTOR_CHECK_UNKNOWN
                        : GAUTH_DOCTOR_CHECK_SKIPPED,
                    "the target is not a Cloud Run service the doctor could "
                    "find: the audiences it accepts are not known");
    return;
  }
  for (j = 0; j < x->audience_count; j++) {
    int w = snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "",
                     x->audiences[j]);
    if (w < 0 || (size_t)w >= sizeof list - len) break;
    len += (size_t)w;
  }
  for (i = 0; i < n; i++)
    for (j = 0; j < x->audience_count; j++)
      if (audience_eq(auds[i], x->audiences[j])) {
        gauth__dx_check(x->d, name, GAUTH_DOCTOR_CHECK_OK,
                        "audience %s is one %s accepts (%s)", auds[i],
                        x->run_service ? x->run_service : x->shown, list);
        return;
      }
  gauth__dx_check(x->d, name, GAUTH_DOCTOR_CHECK_FAIL,
                  "audience %s is not one %s accepts (%s)",
                  n > 0 ? auds[0] : "(none)",
                  x->run_service ? x->run_service : x->shown, list);
  if (gauth__dx_cause(x->d, GAUTH_DOCTOR_AUDIENCE_MISMATCH,
                      "The ID token's audience %s is not one the %s %s "
                      "accepts (%s): it answers 401.",
                      n > 0 ? auds[0] : "(none)",
                      x->run_service ? "service" : "function",
                      x->run_service ? x->run_service : x->shown, list)) {
    char ref[400];
    if (x->job != NULL && x->audience_count > 0) {
      gauth__dx_fix(x->d,
                    "gcloud scheduler jobs update http %s "
                    "--oidc-service-account-email=%s "
                    "--oidc-token-audience=%s",
                    job_ref(x, ref, sizeof ref),
                    x->account != NULL ? x->account : "EMAIL", x->audiences[0]);
      gauth__dx_fix(x->d,
                    "or in the job's JSON: httpTarget.oidcToken.audience = "
                    "\"%s\"",
                    x->audiences[0]);
    } else if (x->audience_count > 0) {
      gauth__dx_fix(x->d, "mint the ID token with the audience %s",
                    x->audiences[0]);
    }
  }
}

/* ---- a supplied token
 * -------------------------------------------------------- */

/* OAuth's tokeninfo for an access token: POST {token}info (the token
 * endpoint's URL with "info" appended: https://oauth2.googleapis.com/
 * tokeninfo), form access_token=TOKEN, no Authorization. 1 read (*root
 * holds the reply's object, *status its status), 0 not reachable (why). */
static int tokeninfo(gauth__dx *x, cJSON **root, long *status, char *why,
                     size_t why_size) {
  gauth__form_field f = {"access_token", x->in->token, 1};
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *secrets[2] = {x->in->token, NULL};
  char *form = NULL, *base = NULL, *url = NULL;
  int ok = 0;
  *root = NULL;
  memset(&resp, 0, sizeof resp);
  if (gauth__config_service_url(gauth__http_config(x->h), GAUTH_SERVICE_TOKEN,
                                NULL, &base, &err) != GAUTH_OK ||
      gauth__form_encode(&f, 1, &form, &err) != GAUTH_OK) {
    snprintf(why, why_size, "%s", err.message);
    free(base);
    return 0;
  }
  url = gauth__dx_strf("%sinfo", base);
  memset(&req, 0, sizeof req);
  req.method = "POST";
  req.url = url;
  req.body = form;
  req.body_len = strlen(form);
  req.content_type = "application/x-www-form-urlencoded";
  req.secrets = secrets;
  req.accept_any_status = 1;
  req.no_retry = 1;
  if (url != NULL && gauth__http_do(x->h, &req, &resp, &err) == GAUTH_OK) {
    gauth__dx_date(x, gauth__http_response_header(&resp, "Date"));
    *status = resp.status;
    if (gauth__json_parse_object(resp.body, resp.body_len, NULL, root, NULL) ==
        GAUTH_OK)
      ok = 1;
    else
      snprintf(why, why_size, "tokeninfo's reply (HTTP %ld) is not JSON",
               resp.status);
  } else {
    snprintf(why, why_size, "tokeninfo: %s",
             url == NULL ? "out of memory" : err.message);
  }
  gauth__http_response_cleanup(&resp);
  gauth__secret_strfree(form);
  free(base);
  free(url);
  return ok;
}

static void token_expired(gauth__dx *x, const char *what) {
  if (gauth__dx_cause(x->d, GAUTH_DOCTOR_TOKEN_EXPIRED,
                      "The token given %s: the target answers 401.", what))
    gauth__dx_fix(x->d, "mint a new token (gauth token ...) and send it");
}

static void check_supplied_access_token(gauth__dx *x) {
  cJSON *root = NULL;
  long status = 0;
  char why[600];
  const cJSON *scope, *exp_in, *email, *error, *desc;
  if (!tokeninfo(x, &root, &status, why, sizeof why)) {
    gauth__dx_check(x->d, "token", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "an access token (not a JWT); its expiry and scopes could "
                    "not be read: %s",
                    why);
    if (x->kind == GAUTH_SCHEDULER_URL_GOOGLE_API)
      gauth__dx_check(x->d, "scope", GAUTH_DOCTOR_CHECK_UNKNOWN,
                      "tokeninfo could not be read");
    return;
  }
  scope = cJSON_GetObjectItemCaseSensitive(root, "scope");
  exp_in = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
  email = cJSON_GetObjectItemCaseSensitive(root, "email");
  error = cJSON_GetObjectItemCaseSensitive(root, "error");
  desc = cJSON_GetObjectItemCaseSensitive(root, "error_description");
  if (status != 200 || error != NULL) {
    gauth__dx_check(x->d, "token", GAUTH_DOCTOR_CHECK_FAIL,
                    "tokeninfo refuses the access token (HTTP %ld %s%s%s): it "
                    "has expired or was revoked",
                    status, cJSON_IsString(error) ? error->valuestring : "",
                    cJSON_IsString(desc) ? ": " : "",
                    cJSON_IsString(desc) ? desc->valuestring : "");
    token_expired(x,
                  "is an access token that Google no longer accepts "
                  "(tokeninfo: invalid_token; expired or revoked)");
    cJSON_Delete(root);
    return;
  }
  if (cJSON_IsString(email) && x->token_email == NULL) {
    x->token_email = gauth__strdup(email->valuestring);
    if (x->account == NULL) x->account = x->token_email;
  }
  {
    double left = cJSON_IsNumber(exp_in)   ? exp_in->valuedouble
                  : cJSON_IsString(exp_in) ? atof(exp_in->valuestring)
                                           : 1;
    if (left <= 0) {
      gauth__dx_check(x->d, "token", GAUTH_DOCTOR_CHECK_FAIL,
                      "an access token%s%s; tokeninfo: expires_in %.0f",
                      x->token_email ? " of " : "",
                      x->token_email ? x->token_email : "", left);
      token_expired(x, "is an access token that has expired");
    } else {
      gauth__dx_check(x->d, "token", GAUTH_DOCTOR_CHECK_OK,
                      "an access token%s%s, valid for %.0f s more (tokeninfo)",
                      x->token_email ? " of " : "",
                      x->token_email ? x->token_email : "", left);
    }
  }
  check_scopes(x, "scope", cJSON_IsString(scope) ? scope->valuestring : "");
  cJSON_Delete(root);
}

static void check_supplied_token(gauth__dx *x) {
  gauth__jws jws;
  gauth_error err = GAUTH_ERROR_INIT;
  const cJSON *exp, *aud, *email, *scope, *a;
  const char *auds[16];
  size_t n = 0;
  if (x->in->token == NULL) return;
  if (gauth__jws_parse(x->in->token, strlen(x->in->token), 0, 1, &jws, &err) !=
      GAUTH_OK) {
    x->sends = GAUTH_SCHEDULER_TOKEN_OAUTH;
    check_supplied_access_token(x);
    return;
  }
  exp = cJSON_GetObjectItemCaseSensitive(jws.payload, "exp");
  aud = cJSON_GetObjectItemCaseSensitive(jws.payload, "aud");
  email = cJSON_GetObjectItemCaseSensitive(jws.payload, "email");
  scope = cJSON_GetObjectItemCaseSensitive(jws.payload, "scope");
  if (cJSON_IsString(email)) {
    x->token_email = gauth__strdup(email->valuestring);
    if (x->account == NULL) x->account = x->token_email;
  }
  if (cJSON_IsString(aud)) auds[n++] = aud->valuestring;
  if (cJSON_IsArray(aud)) {
    cJSON_ArrayForEach(a, aud) {
      if (cJSON_IsString(a) && n < GAUTH__ARRAY_LEN(auds))
        auds[n++] = a->valuestring;
    }
  }
  /* A JWT with a scope claim is a self-signed access token; else an ID
   * token. */
  x->sends = cJSON_IsString(scope) ? GAUTH_SCHEDULER_TOKEN_OAUTH
                                   : GAUTH_SCHEDULER_TOKEN_OIDC;
  if (cJSON_IsNumber(exp) && (int64_t)exp->valuedouble <= x->now) {
    gauth__dx_check(x->d, "token", GAUTH_DOCTOR_CHECK_FAIL,
                    "a JWT (%s, alg %s)%s%s; it expired %lld s ago (exp, read "
                    "without verifying the signature)",
                    x->sends == GAUTH_SCHEDULER_TOKEN_OIDC
                        ? "an ID token"
                        : "a self-signed access token",
                    gauth_alg_name(jws.alg), x->token_email ? " of " : "",
                    x->token_email ? x->token_email : "",
                    (long long)(x->now - (int64_t)exp->valuedouble));
    token_expired(x, "has expired (its exp is in the past)");
  } else {
    gauth__dx_check(
        x->d, "token",
        cJSON_IsNumber(exp) ? GAUTH_DOCTOR_CHECK_OK
                            : GAUTH_DOCTOR_CHECK_UNKNOWN,
        "a JWT (%s, alg %s)%s%s, audience %s; %s (read without "
        "verifying the signature)",
        x->sends == GAUTH_SCHEDULER_TOKEN_OIDC ? "an ID token"
                                               : "a self-signed access token",
        gauth_alg_name(jws.alg), x->token_email ? " of " : "",
        x->token_email ? x->token_email : "", n > 0 ? auds[0] : "(none)",
        cJSON_IsNumber(exp) ? "not expired" : "no exp claim");
  }
  if (x->sends == GAUTH_SCHEDULER_TOKEN_OIDC &&
      x->kind != GAUTH_SCHEDULER_URL_GOOGLE_API)
    check_audience_of(x, "audience", auds, n);
  else if (x->sends == GAUTH_SCHEDULER_TOKEN_OAUTH)
    check_scopes(x, "scope", scope->valuestring);
  gauth__jws_cleanup(&jws);
}

/* ---- target_exists
 * ------------------------------------------------------------ */

void gauth__dx_target_not_found(gauth__dx *x, const char *what) {
  char *elsewhere = NULL;
  if (x->run_job != NULL && !x->run_v1 &&
      !gauth__dx_has(x->d, GAUTH_DOCTOR_TARGET_NOT_FOUND)) {
    elsewhere = job_anywhere(x);
    if (elsewhere != NULL && strcmp(elsewhere, x->run_job) == 0) {
      free(elsewhere);
      elsewhere = NULL;
    }
  }
  if (elsewhere != NULL) {
    char *loc = location_of(elsewhere);
    if (gauth__dx_cause(x->d, GAUTH_DOCTOR_TARGET_NOT_FOUND,
                        "%s: there is no %s, but there is %s: the URL names "
                        "the wrong region.",
                        what, x->run_job, elsewhere)) {
      gauth__dx_fix(x->d,
                    "the job's URL: https://run.googleapis.com/v2/%s:run "
                    "(region %s)",
                    elsewhere, loc != NULL ? loc : "?");
      if (x->scheduler_mints) {
        char ref[400];
        gauth__dx_fix(x->d,
                      "gcloud scheduler jobs update http %s "
                      "--uri=https://run.googleapis.com/v2/%s:run",
                      job_ref(x, ref, sizeof ref), elsewhere);
      }
    }
    free(loc);
    free(elsewhere);
    return;
  }
  if (gauth__dx_cause(x->d, GAUTH_DOCTOR_TARGET_NOT_FOUND,
                      "%s: check the project, the region and the name%s.", what,
                      x->run_v1 ? ", and the path (the v1 form is "
                                  "/apis/run.googleapis.com/v1/namespaces/"
                                  "PROJECT/jobs/JOB:run on "
                                  "https://REGION-run.googleapis.com; the v2 "
                                  "form /v2/projects/PROJECT/locations/REGION/"
                                  "jobs/JOB:run on https://run.googleapis.com)"
                                : "")) {
    if (x->run_job != NULL)
      gauth__dx_fix(x->d,
                    "gcloud run jobs list --project=%s  # the jobs and "
                    "their regions",
                    x->project);
    else
      gauth__dx_fix(x->d,
                    "gcloud run services list%s%s  # the services and "
                    "their URLs",
                    x->project ? " --project=" : "",
                    x->project ? x->project : "");
  }
}

static void check_target_exists(gauth__dx *x) {
  gauth__http_response resp;
  char why[600], *suffix, m[300];
  if (x->run_service != NULL) {
    gauth__dx_check(x->d, "target_exists", GAUTH_DOCTOR_CHECK_OK,
                    "the service %s exists (Cloud Run Admin v2)",
                    x->run_service);
    return;
  }
  if (x->run_job == NULL) {
    if (x->service_listed && x->kind == GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE &&
        x->host != NULL && strstr(x->host, ".a.run.app") == NULL) {
      x->target_exists = 0;
      gauth__dx_check(x->d, "target_exists", GAUTH_DOCTOR_CHECK_FAIL,
                      "no Cloud Run service of project %s has the URL %s",
                      x->project, x->shown);
      gauth__dx_target_not_found(
          x,
          "No Cloud Run service of the URL's project has "
          "this URL");
      return;
    }
    gauth__dx_check(x->d, "target_exists", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "the URL names no Cloud Run resource the doctor can look "
                    "up");
    return;
  }
  if (strcmp(x->location, "-") == 0) {
    x->target_exists = 0;
    gauth__dx_check(x->d, "target_exists", GAUTH_DOCTOR_CHECK_FAIL,
                    "no Cloud Run job named %s in any region of project %s",
                    strrchr(x->run_job, '/') + 1, x->project);
    gauth__dx_target_not_found(
        x,
        "The URL names a Cloud Run job that does not exist "
        "in any region of its project");
    return;
  }
  suffix = gauth__dx_strf("/v2/%s", x->run_job);
  if (suffix == NULL) return;
  if (gauth__dx_request(x, "GET", GAUTH_SERVICE_RUN, suffix, NULL, &resp, why,
                        sizeof why) != GAUTH_OK) {
    gauth__dx_check(x->d, "target_exists", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "GET %s: %s", suffix, why);
  } else if (resp.status == 200) {
    x->target_exists = 1;
    gauth__dx_check(x->d, "target_exists", GAUTH_DOCTOR_CHECK_OK,
                    "the job %s exists (Cloud Run Admin v2)", x->run_job);
  } else if (resp.status == 404) {
    x->target_exists = 0;
    gauth__dx_check(x->d, "target_exists", GAUTH_DOCTOR_CHECK_FAIL,
                    "Cloud Run Admin v2 has no job %s (404)", x->run_job);
    gauth__dx_target_not_found(
        x, "The URL names a Cloud Run job that does not exist");
  } else {
    gauth__dx_reply_message(&resp, m, sizeof m);
    gauth__dx_check(x->d, "target_exists", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "GET Cloud Run Admin v2 %s as the caller: %s (the caller "
                    "needs run.jobs.get, e.g. roles/run.viewer)",
                    x->run_job, m);
  }
  gauth__http_response_cleanup(&resp);
  free(suffix);
}

/* ---- the reply: one attempt (send), or one seen
 * ------------------------------ */

static void read_reply(gauth__dx *x, const char *how, int status,
                       const char *www, const char *date, const char *body,
                       size_t body_len) {
  char m[300] = "";
  gauth__http_response r;
  gauth__dx_date(x, date);
  memset(&r, 0, sizeof r);
  r.status = status;
  r.body = (char *)body;
  r.body_len = body_len;
  if (body != NULL) gauth__dx_reply_message(&r, m, sizeof m);
  if (status >= 200 && status < 300) {
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_OK, "%s: HTTP %d", how,
                    status);
    return;
  }
  x->failed_evidence = 1;
  x->evidence_http = status;
  gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_FAIL, "%s: %s%s%s%s", how,
                  *m ? m : "HTTP ", *m ? "" : "",
                  www != NULL ? "; WWW-Authenticate: " : "",
                  www != NULL ? www : "");
  if (status == 404 && x->target_exists != 1)
    gauth__dx_target_not_found(x, "The URL answers 404");
}

static void check_attempt(gauth__dx *x) {
  gauth_scheduler_attempt *a = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  if (x->in->http_status != 0)
    read_reply(x, "the reply given", x->in->http_status,
               x->in->www_authenticate, x->in->date, x->in->body,
               x->in->body != NULL ? x->in->body_len : 0);
  if (!x->in->send) {
    if (x->in->http_status == 0)
      gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_SKIPPED,
                      "no request to the target (send not asked)");
    return;
  }
  if (x->job == NULL) {
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "send needs a job (a URL and a token kind)");
    return;
  }
  if (gauth_scheduler_attempt_send(x->caller, x->opts, x->job, 0, &a, &err) !=
      GAUTH_OK) {
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "the attempt could not be made: %s", err.message);
    return;
  }
  if (!gauth_scheduler_attempt_sent(a)) {
    const gauth_error *e = gauth_scheduler_attempt_error(a);
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_FAIL, "not sent: %s",
                    e->message);
    if (!x->scheduler_mints && e->http_status == 403 &&
        gauth__dx_cause(x->d, GAUTH_DOCTOR_CANNOT_MINT_TOKEN,
                        "The caller cannot mint a token for %s (IAM "
                        "Credentials answers 403).",
                        x->account != NULL ? x->account : "the account"))
      gauth__dx_fix(
          x->d,
          "gcloud iam service-accounts add-iam-policy-binding %s "
          "--member=user:YOU --role=roles/iam.serviceAccountTokenCreator",
          x->account != NULL ? x->account : "EMAIL");
  } else if (gauth_scheduler_attempt_http_status(a) == 0) {
    gauth__dx_check(x->d, "attempt", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "sent, no reply: %s",
                    gauth_scheduler_attempt_error(a)->message);
  } else {
    size_t len = 0;
    const char *body = gauth_scheduler_attempt_body(a, &len);
    read_reply(x, "one attempt sent", gauth_scheduler_attempt_http_status(a),
               gauth_scheduler_attempt_header(a, "WWW-Authenticate"),
               gauth_scheduler_attempt_header(a, "Date"), body, len);
  }
  gauth_scheduler_attempt_free(a);
}

/* ---- clock
 * ------------------------------------------------------------------- */

/* Google's Date without credentials: a GET of the token endpoint (any
 * status does), for when no authenticated read got a reply (a token that
 * could not be had, as a skewed clock causes). */
static void probe_date(gauth__dx *x) {
  gauth__http_request req;
  gauth__http_response resp;
  char *url = NULL;
  memset(&resp, 0, sizeof resp);
  if (gauth__config_service_url(gauth__http_config(x->h), GAUTH_SERVICE_TOKEN,
                                NULL, &url, NULL) != GAUTH_OK)
    return;
  memset(&req, 0, sizeof req);
  req.method = "GET";
  req.url = url;
  req.accept_any_status = 1;
  req.no_retry = 1;
  if (gauth__http_do(x->h, &req, &resp, NULL) == GAUTH_OK)
    gauth__dx_date(x, gauth__http_response_header(&resp, "Date"));
  gauth__http_response_cleanup(&resp);
  free(url);
}

static void check_clock(gauth__dx *x) {
  if (!x->date_seen) probe_date(x);
  if (!x->date_seen) {
    gauth__dx_check(x->d, "clock", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "no reply with a Date header was read");
    return;
  }
  if (llabs(x->skew) <= GAUTH__DOCTOR_SKEW_MAX) {
    gauth__dx_check(x->d, "clock", GAUTH_DOCTOR_CHECK_OK,
                    "this machine's clock is within %lld s of Google's (Date "
                    "headers; at most %d s allowed)",
                    (long long)llabs(x->skew), GAUTH__DOCTOR_SKEW_MAX);
    return;
  }
  gauth__dx_check(x->d, "clock", GAUTH_DOCTOR_CHECK_FAIL,
                  "this machine's clock is %lld s %s Google's (Date headers; "
                  "at most %d s allowed)",
                  (long long)llabs(x->skew),
                  x->skew > 0 ? "behind" : "ahead of", GAUTH__DOCTOR_SKEW_MAX);
  if (gauth__dx_cause(x->d, GAUTH_DOCTOR_CLOCK_SKEW,
                      "This machine's clock is %lld s %s Google's: tokens "
                      "signed or checked here fall outside Google's ~5 min "
                      "leeway (a JWT assertion is refused, a fresh token "
                      "looks expired or not yet valid).",
                      (long long)llabs(x->skew),
                      x->skew > 0 ? "behind" : "ahead of")) {
    gauth__dx_fix(x->d,
                  "sudo timedatectl set-ntp true  # or: sudo chronyc "
                  "makestep");
  }
}

/* ---- the failure no check explains ------------------------------------------
 */

static void check_evidence(gauth__dx *x) {
  if (!x->failed_evidence || gauth_diagnosis_cause_count(x->d) > 0) return;
  if (x->job != NULL && gauth_scheduler_job_status_code(x->job) == 5 &&
      x->target_exists != 1) {
    gauth__dx_target_not_found(x,
                               "The job's last attempt ended NOT_FOUND (404)");
    return;
  }
  gauth__dx_check(x->d, "evidence", GAUTH_DOCTOR_CHECK_UNKNOWN,
                  "a failed attempt was seen (%s%d) and no check shows why",
                  x->evidence_http ? "HTTP " : "status ",
                  x->evidence_http ? x->evidence_http
                                   : gauth_scheduler_job_status_code(x->job));
}

/* ---- the diagnosis
 * ---------------------------------------------------------------- */

/* The kind of a supplied token: a JWT without a scope claim is an ID
 * token; anything else an access token. */
static gauth_scheduler_token supplied_kind(const char *token) {
  gauth__jws jws;
  gauth_scheduler_token t = GAUTH_SCHEDULER_TOKEN_OAUTH;
  if (gauth__jws_parse(token, strlen(token), 0, 1, &jws, NULL) == GAUTH_OK) {
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(jws.payload, "scope")))
      t = GAUTH_SCHEDULER_TOKEN_OIDC;
    gauth__jws_cleanup(&jws);
  }
  return t;
}

static void dx_cleanup(gauth__dx *x) {
  size_t i;
  free(x->shown);
  free(x->host);
  free(x->token_email);
  free(x->job_project);
  free(x->job_location);
  free(x->job_id);
  free(x->project);
  free(x->location);
  free(x->run_job);
  free(x->run_service);
  for (i = 0; i < x->audience_count; i++) free(x->audiences[i]);
  free(x->audiences);
  gauth_free(x->caller_email);
  cJSON_Delete(x->roles);
  gauth__http_free(x->own);
}

static gauth_status dx_transport(gauth__dx *x, gauth_error *err) {
  gauth__config cfg;
  gauth_status st;
  x->h = gauth__credentials_http(x->caller);
  if (x->opts == NULL) return GAUTH_OK;
  st = gauth__config_init(&cfg, x->opts, err);
  if (st != GAUTH_OK) return st;
  st = gauth__http_new(&x->own, &cfg, err);
  gauth__config_cleanup(&cfg);
  if (st == GAUTH_OK) x->h = x->own;
  return st;
}

gauth_status gauth_doctor_diagnose(gauth_credentials *caller,
                                   const gauth_options *opts,
                                   const gauth_doctor_input *in,
                                   gauth_diagnosis **out, gauth_error *err) {
  gauth_doctor_input inp = GAUTH_DOCTOR_INPUT_INIT;
  gauth__dx x;
  url_parts u;
  gauth_status st;

  gauth_error_clear(err);
  if (out != NULL) *out = NULL;
  if (caller == NULL || in == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_doctor_diagnose: %s is NULL",
                            caller == NULL ? "caller"
                            : in == NULL   ? "in"
                                           : "out");
  st = gauth__abi_read(&inp, sizeof inp, in, &gauth__abi_doctor_input, err);
  if (st != GAUTH_OK) return st;
  memset(&x, 0, sizeof x);
  x.caller = caller;
  x.opts = opts;
  x.in = &inp;
  x.job = inp.job;
  x.target_exists = -1;
  x.sa_state = -1;
  if (x.job != NULL) {
    if (gauth_scheduler_job_target(x.job) != GAUTH_SCHEDULER_TARGET_HTTP)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "gauth_doctor_diagnose: the job is not an HTTP "
                              "target (Pub/Sub and App Engine targets are not "
                              "diagnosed)");
    x.url = gauth_scheduler_job_uri(x.job);
    x.sends = gauth_scheduler_job_token(x.job);
    x.account = gauth_scheduler_job_service_account(x.job);
    x.audience = gauth_scheduler_job_audience(x.job);
    x.scope = gauth_scheduler_job_scope(x.job);
    x.scheduler_mints = *gauth_scheduler_job_name(x.job) != '\0';
  } else {
    if (inp.url == NULL)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "gauth_doctor_diagnose: give a job or a url");
    x.url = inp.url;
  }
  if (inp.token != NULL) {
    if (*inp.token == '\0')
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "gauth_doctor_diagnose: the token is empty");
    x.sends = supplied_kind(inp.token);
    x.account = NULL; /* the token's own email, when it says */
    x.audience = NULL;
    x.scope = NULL;
  }
  if (!url_split(x.url, &u) ||
      (gauth__skip_prefix(u.origin, "http://") == NULL &&
       gauth__skip_prefix(u.origin, "https://") == NULL)) {
    url_parts_free(&u);
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_doctor_diagnose: the url is not an http(s) "
                            "URL with a host");
  }
  x.shown = gauth__dx_strf("%s%s", u.origin, u.path);
  url_parts_free(&u);
  x.d = gauth__dx_new();
  if (x.shown == NULL || x.d == NULL) {
    gauth_diagnosis_free(x.d);
    free(x.shown);
    return gauth__error_nomem(err);
  }
  st = dx_transport(&x, err);
  if (st != GAUTH_OK) {
    gauth_diagnosis_free(x.d);
    dx_cleanup(&x);
    return st;
  }
  x.now = gauth__credentials_now(caller);
  if (x.job != NULL) job_name_parts(&x);
  if (inp.http_status != 0 &&
      (inp.http_status < 200 || inp.http_status > 299)) {
    x.failed_evidence = 1;
    x.evidence_http = inp.http_status;
  }

  check_job(&x);
  check_target_kind(&x);
  check_token_type(&x);
  if (inp.token != NULL) {
    check_supplied_token(&x);
  } else if (x.sends == GAUTH_SCHEDULER_TOKEN_OIDC) {
    if (x.kind != GAUTH_SCHEDULER_URL_GOOGLE_API)
      check_audience_of(&x, "audience", &x.audience, 1);
  } else if (x.sends == GAUTH_SCHEDULER_TOKEN_OAUTH) {
    check_scopes(&x, "scope", x.scope);
  }
  gauth__dx_check_service_account(&x);
  gauth__dx_check_mint(&x);
  check_target_exists(&x);
  gauth__dx_check_permission(&x);
  check_attempt(&x);
  check_clock(&x);
  check_evidence(&x);

  st = gauth__dx_finish(x.d, err);
  if (st == GAUTH_OK) {
    *out = x.d;
    x.d = NULL;
  }
  gauth_diagnosis_free(x.d);
  dx_cleanup(&x);
  return st;
}
