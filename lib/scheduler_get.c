/* Reading a job from the Cloud Scheduler API (GET v1/NAME), the name
 * checked so that it can only ever name a job, and Google's refusals turned
 * into a gauth_error that says which job and why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "credentials_internal.h"
#include "error_internal.h"
#include "http.h"
#include "scheduler_internal.h"
#include "url.h" /* gauth__echo_setting */

/* Google's limit on a job id. */
#define JOB_ID_MAX 500u

/* The bytes of one part of a name that are allowed: letters, digits and
 * `extra`. Returns the part's length, or 0 when a byte is not allowed or
 * the part is empty. */
static size_t part_len(const char *p, const char *extra) {
  size_t n = 0;
  while (p[n] != '\0' && p[n] != '/') {
    char ch = p[n];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
             (ch >= '0' && ch <= '9') || strchr(extra, ch) != NULL;
    if (!ok) return 0;
    n++;
  }
  return n;
}

static int is_dots(const char *p, size_t n) {
  return (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
}

static gauth_status bad_name(const char *name, const char *why,
                             gauth_error *err) {
  return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                          "job name \"%s\" %s (expected "
                          "projects/PROJECT/locations/LOCATION/jobs/JOB)",
                          gauth__echo_setting(name), why);
}

gauth_status gauth__scheduler_job_name_check(const char *name,
                                             gauth_error *err) {
  static const struct {
    const char *prefix, *extra, *what;
  } parts[] = {{"projects/", "-._:", "has a bad project id"},
               {"/locations/", "-", "has a bad location"},
               {"/jobs/", "-_", "has a bad job id"}};
  const char *p = name;
  size_t i, n = 0;
  if (name == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "job name is NULL");
  for (i = 0; i < GAUTH__ARRAY_LEN(parts); i++) {
    p = gauth__skip_prefix(p, parts[i].prefix);
    if (p == NULL) return bad_name(name, "is not a job's name", err);
    n = part_len(p, parts[i].extra);
    if (n == 0 || is_dots(p, n)) return bad_name(name, parts[i].what, err);
    p += n;
  }
  if (*p != '\0') return bad_name(name, "has more after the job id", err);
  if (n > JOB_ID_MAX)
    return bad_name(name, "has a job id longer than 500 characters", err);
  return GAUTH_OK;
}

const char *gauth__scheduler_job_id(const char *name) {
  const char *slash;
  if (name == NULL || *name == '\0') return NULL;
  slash = strrchr(name, '/');
  return slash != NULL ? slash + 1 : name;
}

/* The transport: the options' own when given, else the credentials'. */
static gauth_status transport(gauth_credentials *creds,
                              const gauth_options *opts, gauth__http **own,
                              gauth__http **use, gauth_error *err) {
  gauth__config cfg;
  gauth_status st;
  *own = NULL;
  *use = gauth__credentials_http(creds);
  if (opts == NULL) return GAUTH_OK;
  st = gauth__config_init(&cfg, opts, err);
  if (st != GAUTH_OK) return st;
  st = gauth__http_new(own, &cfg, err);
  gauth__config_cleanup(&cfg);
  if (st == GAUTH_OK) *use = *own;
  return st;
}

/* GET url with the credentials' token; the reply parsed as a Job. */
static gauth_status get_job(gauth__http *h, gauth_credentials *creds,
                            const char *name, const char *url,
                            gauth_scheduler_job **out, gauth_error *err) {
  gauth__http_request req;
  gauth__http_response resp;
  char **headers = NULL, *token = NULL;
  const char *secrets[2] = {NULL, NULL};
  gauth_status st;

  st = gauth__credentials_auth_headers(creds, &headers, &token, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "reading job %s: the credentials' token", name);
    return st;
  }
  secrets[0] = token;
  memset(&req, 0, sizeof req);
  req.method = "GET";
  req.url = url;
  req.headers = (const char *const *)headers;
  req.secrets = secrets;
  st = gauth__http_do(h, &req, &resp, err);
  if (st == GAUTH_OK) {
    st = gauth_scheduler_job_from_json(out, resp.body, resp.body_len, err);
    if (st != GAUTH_OK)
      gauth__error_prefix(err, "reading job %s: the reply of GET %s", name,
                          url);
  } else {
    /* The transport's message names the URL and carries Google's
     * {"error":{"message","status"}}; http_status and error_code are set. */
    gauth__error_prefix(err, "reading job %s", name);
  }
  gauth__http_response_cleanup(&resp);
  gauth__auth_headers_free(headers, token);
  return st;
}

gauth_status gauth_scheduler_job_get(gauth_credentials *creds,
                                     const gauth_options *opts,
                                     const char *name,
                                     gauth_scheduler_job **out,
                                     gauth_error *err) {
  gauth__http *own = NULL, *h = NULL;
  char *url = NULL, *suffix = NULL;
  size_t n;
  gauth_status st;

  gauth_error_clear(err);
  if (out != NULL) *out = NULL;
  if (creds == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_scheduler_job_get: %s is NULL",
                            creds == NULL ? "creds" : "out");
  st = gauth__scheduler_job_name_check(name, err);
  if (st != GAUTH_OK) return st;
  n = strlen(name) + sizeof("/v1/");
  suffix = malloc(n);
  if (suffix == NULL) return gauth__error_nomem(err);
  snprintf(suffix, n, "/v1/%s", name);
  st = transport(creds, opts, &own, &h, err);
  if (st == GAUTH_OK)
    st = gauth__config_service_url(
        gauth__http_config(h), GAUTH_SERVICE_CLOUDSCHEDULER, suffix, &url, err);
  if (st == GAUTH_OK) st = get_job(h, creds, name, url, out, err);
  free(suffix);
  free(url);
  gauth__http_free(own);
  return st;
}
