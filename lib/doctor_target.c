/* The doctor's target checks: what the URL is (a Google API, the Cloud
 * Run Admin API's :run of a job, a Cloud Run service found in Cloud Run
 * Admin v2's lists) and whether it exists. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "config.h"
#include "doctor_internal.h"
#include "json.h"

/* ---- target_kind ----------------------------------------------------------
 */

void gauth__dx_url_parts_free(gauth__dx_url_parts *u) {
  free(u->origin);
  free(u->host);
  free(u->path);
  memset(u, 0, sizeof *u);
}

int gauth__dx_url_split(const char *url, gauth__dx_url_parts *out) {
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
        gauth__strf("%s://%s%s%s", scheme, host, port != NULL ? ":" : "",
                    port != NULL ? port : "");
    out->host = gauth__strdup(host);
    out->path = gauth__strdup(path);
    ok = out->origin != NULL && out->host != NULL && out->path != NULL;
    if (!ok) gauth__dx_url_parts_free(out);
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
  gauth__dx_url_parts a, b;
  int r = 0;
  if (url == NULL || svc == NULL || !gauth__dx_url_split(url, &a)) return 0;
  if (gauth__dx_url_split(svc, &b)) {
    size_t n = strlen(b.path);
    while (n > 0 && b.path[n - 1] == '/') n--;
    r = strcmp(a.origin, b.origin) == 0 && strncmp(a.path, b.path, n) == 0 &&
        (a.path[n] == '\0' || a.path[n] == '/');
    gauth__dx_url_parts_free(&b);
  }
  gauth__dx_url_parts_free(&a);
  return r;
}

/* Audiences compare as Cloud Run compares them: exactly, but for one
 * trailing '/'. */
int gauth__dx_audience_eq(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 0 && a[n - 1] == '/') n--;
  if (m > 0 && b[m - 1] == '/') m--;
  return n == m && strncmp(a, b, n) == 0;
}

void gauth__dx_add_audience(gauth__dx *x, const char *a) {
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
  if (cJSON_IsString(uri)) gauth__dx_add_audience(x, uri->valuestring);
  cJSON_ArrayForEach(u, urls) {
    if (cJSON_IsString(u)) gauth__dx_add_audience(x, u->valuestring);
  }
  cJSON_ArrayForEach(u, ca) {
    if (cJSON_IsString(u)) gauth__dx_add_audience(x, u->valuestring);
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
    char *suffix =
        gauth__strf("/v2/projects/%s/locations/%s/services?pageSize=1000%s%s",
                    project, location, token != NULL ? "&pageToken=" : "",
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
static void parse_run_url(gauth__dx *x, const gauth__dx_url_parts *u) {
  const char *p = u->path;
  char *proj = NULL, *loc = NULL, *job = NULL;
  if (gauth__skip_prefix(p, "/v2/projects/") != NULL) {
    proj = gauth__dx_take_part(&p, "/v2/projects/");
    if (proj != NULL) loc = gauth__dx_take_part(&p, "/locations/");
    if (loc != NULL) job = gauth__dx_take_part(&p, "/jobs/");
  } else if (gauth__skip_prefix(p, "/apis/run.googleapis.com/v1/namespaces/") !=
             NULL) {
    const char *dash = strstr(u->host, "-run.");
    proj = gauth__dx_take_part(&p, "/apis/run.googleapis.com/v1/namespaces/");
    if (proj != NULL) job = gauth__dx_take_part(&p, "/jobs/");
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
  x->run_job =
      gauth__strf("projects/%s/locations/%s/jobs/%s", proj, x->location, job);
  free(job);
}

/* A v1 :run URL on a host without the region: the job's location from the
 * list of the project's jobs in every location. */
/* The full name of the project's Cloud Run job with the id of run_job, in
 * any location (the list of projects/P/locations/-/jobs), or NULL. */
char *gauth__dx_job_anywhere(gauth__dx *x) {
  gauth__http_response resp;
  char why[300], *suffix, *found = NULL;
  const char *id = strrchr(x->run_job, '/') + 1;
  cJSON *root = NULL;
  const cJSON *j;
  suffix =
      gauth__strf("/v2/projects/%s/locations/-/jobs?pageSize=1000", x->project);
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
char *gauth__dx_location_of(const char *name) {
  const char *p = name;
  char *proj = gauth__dx_take_part(&p, "projects/");
  char *loc = proj != NULL ? gauth__dx_take_part(&p, "/locations/") : NULL;
  free(proj);
  return loc;
}

/* A v1 :run URL on a host without the region: the job's location from the
 * list of the project's jobs in every location. */
static void locate_v1_job(gauth__dx *x) {
  char *name = gauth__dx_job_anywhere(x),
       *loc = name != NULL ? gauth__dx_location_of(name) : NULL;
  if (loc != NULL) {
    free(x->location);
    x->location = loc;
    free(x->run_job);
    x->run_job = name;
    name = NULL;
  }
  free(name);
}

void gauth__dx_check_target_kind(gauth__dx *x) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *why = NULL, lookup[700] = "";
  gauth_scheduler_token takes = GAUTH_SCHEDULER_TOKEN_NONE;
  gauth__dx_url_parts u;
  if (gauth_scheduler_url_classify(x->opts, x->url, &x->kind, &takes, &why,
                                   &err) != GAUTH_OK) {
    gauth__dx_check(x->d, "target_kind", GAUTH_DOCTOR_CHECK_UNKNOWN, "%s",
                    err.message);
    return;
  }
  x->kind_known = 1;
  x->takes = takes;
  if (!gauth__dx_url_split(x->url, &u)) {
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
        proj = gauth__strf("%.*s", (int)(dot - dash), dash);
        loc = gauth__strf("%.*s", (int)(run - dot - 1), dot + 1);
        if (!gauth__dx_all_digits(proj)) {
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
  gauth__dx_url_parts_free(&u);
  /* A URL whose host says nothing (not googleapis.com, not run.app) may
   * still be a Cloud Run service (a custom domain, a load balancer): only
   * the Admin API's lists tell. When they could not be read, which token it
   * takes is not known, and saying "other" would be a guess. */
  gauth__dx_check(x->d, "target_kind",
                  x->kind == GAUTH_SCHEDULER_URL_OTHER && !x->service_listed
                      ? GAUTH_DOCTOR_CHECK_UNKNOWN
                      : GAUTH_DOCTOR_CHECK_OK,
                  "%s%s", why, lookup);
  gauth_free(why);
}

/* ---- target_exists
 * ------------------------------------------------------------ */

void gauth__dx_target_not_found(gauth__dx *x, const char *what) {
  char *elsewhere = NULL;
  if (x->run_job != NULL && !x->run_v1 &&
      !gauth__dx_has(x->d, GAUTH_DOCTOR_TARGET_NOT_FOUND)) {
    elsewhere = gauth__dx_job_anywhere(x);
    if (elsewhere != NULL && strcmp(elsewhere, x->run_job) == 0) {
      free(elsewhere);
      elsewhere = NULL;
    }
  }
  if (elsewhere != NULL) {
    char *loc = gauth__dx_location_of(elsewhere);
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
                      gauth__dx_job_ref(x, ref, sizeof ref), elsewhere);
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

void gauth__dx_check_target_exists(gauth__dx *x) {
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
  suffix = gauth__strf("/v2/%s", x->run_job);
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
