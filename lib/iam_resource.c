/* Where testIamPermissions for a resource goes: one table from full
 * resource names to service, API version, method and path. To support a new
 * resource, add a row (and, for a new kind of name part, a row of `kinds`).
 *
 * A pattern is a '/'-separated list of literal parts and {placeholders}; a
 * path template expands "{}" to the whole resource name and "{N}" to its
 * part N (from 0). Each placeholder accepts the characters Google allows in
 * that part; anything outside is refused before any request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "error_internal.h"
#include "http.h"
#include "iam_resource.h"
#include "secret.h"
#include "url.h"

#define TIP ":testIamPermissions"
#define MAX_PARTS 8
#define MAX_RESOURCE_BYTES 1024u
#define ECHO_MAX 100u

/* ---- name parts ---------------------------------------------------------- */

static int is_lower(char c) { return c >= 'a' && c <= 'z'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }

/* 1 when every byte of s[0..n) is a lowercase letter, a digit or in extra. */
static int all_of(const char *s, size_t n, int upper, const char *extra) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!is_lower(c) && !is_digit(c) && !(upper && is_alpha(c)) &&
        strchr(extra, c) == NULL)
      return 0;
  }
  return 1;
}

/* A project id (lowercase letters, digits, '-'; a domain-scoped id as
 * example.com:id) or a project number. */
static int ok_project(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  if (n == 0 || n > 100) return 0;
  if (colon != NULL) {
    size_t d = (size_t)(colon - s);
    if (d == 0 || !all_of(s, d, 0, ".-")) return 0;
    s = colon + 1;
    n -= d + 1;
  }
  return n > 0 && (is_lower(s[0]) || is_digit(s[0])) && s[n - 1] != '-' &&
         all_of(s, n, 0, "-");
}

static int ok_project_or_dash(const char *s, size_t n) {
  return (n == 1 && s[0] == '-') || ok_project(s, n);
}

/* Parts end at '/' or the end of the resource: strspn stays inside. */
static int ok_number(const char *s, size_t n) {
  return n > 0 && n <= 32 && strspn(s, "0123456789") >= n;
}

static int ok_location(const char *s, size_t n) {
  return n > 0 && n <= 63 && is_lower(s[0]) && all_of(s, n, 0, "-");
}

/* Cloud Run: a lowercase letter, then letters, digits, '-', not ending in
 * '-', at most 63. */
static int ok_run_name(const char *s, size_t n) {
  return n > 0 && n <= 63 && is_lower(s[0]) && s[n - 1] != '-' &&
         all_of(s, n, 0, "-");
}

/* A service account: its email, or its unique id (digits). */
static int ok_account(const char *s, size_t n) {
  const char *at = memchr(s, '@', n);
  size_t local;
  if (n == 0 || n > 254) return 0;
  if (at == NULL) return strspn(s, "0123456789") >= n;
  local = (size_t)(at - s);
  return local > 0 && local < n - 1 && all_of(s, local, 1, "._+-") &&
         all_of(at + 1, n - local - 1, 1, ".-") && at[1] != '.' &&
         s[n - 1] != '.';
}

/* Pub/Sub: a letter, then letters, digits, - _ . ~ + %; 3 to 255; not
 * starting with "goog". */
static int ok_pubsub(const char *s, size_t n) {
  return n >= 3 && n <= 255 && is_alpha(s[0]) && all_of(s, n, 1, "-_.~+%") &&
         gauth__skip_prefix(s, "goog") == NULL;
}

/* Cloud Storage: 3 to 222 of lowercase letters, digits, - _ ., starting
 * and ending with a letter or digit. */
static int ok_bucket(const char *s, size_t n) {
  return n >= 3 && n <= 222 && all_of(s, n, 0, "-_.") &&
         (is_lower(s[0]) || is_digit(s[0])) &&
         (is_lower(s[n - 1]) || is_digit(s[n - 1]));
}

typedef struct kind {
  const char *placeholder; /* as in the patterns */
  const char *what;        /* "job name", for messages */
  const char *rule;        /* what Google allows */
  int (*ok)(const char *s, size_t n);
} kind;

static const kind kinds[] = {
    {"{project}", "project",
     "a project id (lowercase letters, digits, '-') "
     "or number",
     ok_project},
    {"{project-or-dash}", "project", "a project id or number, or '-'",
     ok_project_or_dash},
    {"{folder}", "folder", "a folder number (digits)", ok_number},
    {"{organization}", "organization", "an organization number (digits)",
     ok_number},
    {"{location}", "location",
     "a region such as us-central1 (lowercase "
     "letters, digits, '-')",
     ok_location},
    {"{job}", "job name",
     "a lowercase letter, then lowercase letters, "
     "digits and '-', at most 63",
     ok_run_name},
    {"{service}", "service name",
     "a lowercase letter, then lowercase "
     "letters, digits and '-', at most 63",
     ok_run_name},
    {"{account}", "service account",
     "an email such as "
     "name@project.iam.gserviceaccount.com, or a unique id",
     ok_account},
    {"{topic}", "topic name",
     "a letter, then letters, digits, - _ . ~ + %, "
     "3 to 255, not starting with goog",
     ok_pubsub},
    {"{subscription}", "subscription name",
     "a letter, then letters, digits, "
     "- _ . ~ + %, 3 to 255, not starting with goog",
     ok_pubsub},
    {"{bucket}", "bucket name",
     "3 to 222 lowercase letters, digits, - _ ., "
     "starting and ending with a letter or digit",
     ok_bucket},
};

static const kind *kind_of(const char *part, size_t n) {
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(kinds); i++)
    if (strlen(kinds[i].placeholder) == n &&
        memcmp(kinds[i].placeholder, part, n) == 0)
      return &kinds[i];
  return NULL;
}

/* ---- the table ----------------------------------------------------------- */

typedef struct rule {
  const char *pattern;
  const char *form; /* for messages */
  gauth_service service;
  const char *api;
  gauth__iam_method method;
  const char *path; /* template under the service's base URL */
} rule;

static const rule rules[] = {
    {"projects/{project}", "projects/P", GAUTH_SERVICE_RESOURCEMANAGER,
     "Resource Manager v1", GAUTH__IAM_POST, "/v1/{}" TIP},
    {"folders/{folder}", "folders/F", GAUTH_SERVICE_RESOURCEMANAGER,
     "Resource Manager v3", GAUTH__IAM_POST, "/v3/{}" TIP},
    {"organizations/{organization}", "organizations/O",
     GAUTH_SERVICE_RESOURCEMANAGER, "Resource Manager v3", GAUTH__IAM_POST,
     "/v3/{}" TIP},
    {"projects/{project}/locations/{location}/jobs/{job}",
     "projects/P/locations/L/jobs/J", GAUTH_SERVICE_RUN, "Cloud Run v2",
     GAUTH__IAM_POST, "/v2/{}" TIP},
    {"projects/{project}/locations/{location}/services/{service}",
     "projects/P/locations/L/services/S", GAUTH_SERVICE_RUN, "Cloud Run v2",
     GAUTH__IAM_POST, "/v2/{}" TIP},
    {"projects/{project-or-dash}/serviceAccounts/{account}",
     "projects/P/serviceAccounts/EMAIL", GAUTH_SERVICE_IAM, "IAM v1",
     GAUTH__IAM_POST, "/v1/{}" TIP},
    {"projects/{project}/topics/{topic}", "projects/P/topics/T",
     GAUTH_SERVICE_PUBSUB, "Pub/Sub v1", GAUTH__IAM_POST, "/v1/{}" TIP},
    {"projects/{project}/subscriptions/{subscription}",
     "projects/P/subscriptions/S", GAUTH_SERVICE_PUBSUB, "Pub/Sub v1",
     GAUTH__IAM_POST, "/v1/{}" TIP},
    {"projects/_/buckets/{bucket}", "projects/_/buckets/B",
     GAUTH_SERVICE_STORAGE, "Cloud Storage JSON v1", GAUTH__IAM_GET,
     "/storage/v1/b/{3}/iam/testPermissions"},
};

void gauth__iam_resource_forms(char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(rules) && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s, ", rules[i].form);
  if (used < size)
    snprintf(buf + used, size - used, "or an https://...%s URL", TIP);
}

/* ---- splitting and matching ---------------------------------------------- */

typedef struct parts {
  const char *p[MAX_PARTS];
  size_t n[MAX_PARTS];
  size_t count;
} parts;

/* Splits s at '/'. 0, or -1 when there are more than MAX_PARTS. */
static int split(const char *s, parts *out) {
  out->count = 0;
  for (;;) {
    size_t n = strcspn(s, "/");
    if (out->count == MAX_PARTS) return -1;
    out->p[out->count] = s;
    out->n[out->count++] = n;
    if (s[n] == '\0') return 0;
    s += n + 1;
  }
}

static int part_is(const parts *p, size_t i, const char *s) {
  return p->n[i] == strlen(s) && memcmp(p->p[i], s, p->n[i]) == 0;
}

/* Whether the literal parts of r match the first `upto` parts of res. */
static int literals_match(const parts *pat, const parts *res, size_t upto) {
  for (size_t i = 0; i < upto; i++)
    if (pat->p[i][0] != '{' &&
        (pat->n[i] != res->n[i] || memcmp(pat->p[i], res->p[i], res->n[i])))
      return 0;
  return 1;
}

/* The resource for a message: itself when short printable ASCII. */
static const char *echo(const char *s) {
  size_t n = strlen(s);
  if (n > ECHO_MAX) return "(not shown: too long)";
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
      return "(not shown: not printable)";
  return s;
}

static gauth_status bad(gauth_error *err, const char *resource,
                        const char *why) {
  char forms[GAUTH_ERROR_MESSAGE_SIZE];
  gauth__iam_resource_forms(forms, sizeof forms);
  return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                          "resource \"%s\" %s; understood: %s", echo(resource),
                          why, forms);
}

/* ---- building the URL ---------------------------------------------------- */

/* Appends s[0..n) to buf (capacity cap), percent-encoding what is not safe
 * in a URL path. -1 when it does not fit. */
static int append_path(char *buf, size_t cap, size_t *used, const char *s,
                       size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int safe =
        is_alpha((char)c) || is_digit((char)c) || strchr("-._~@+:/", c) != NULL;
    size_t need = safe ? 1 : 3;
    if (*used + need >= cap) return -1;
    if (safe)
      buf[(*used)++] = (char)c;
    else
      *used += (size_t)snprintf(buf + *used, cap - *used, "%%%02X", c);
  }
  buf[*used] = '\0';
  return 0;
}

/* Expands r's path template for the resource. */
static gauth_status expand(const rule *r, const char *resource,
                           const parts *res, char *buf, size_t cap,
                           gauth_error *err) {
  size_t used = 0;
  const char *t = r->path;
  buf[0] = '\0';
  while (*t) {
    const char *open = strchr(t, '{');
    size_t lit = open ? (size_t)(open - t) : strlen(t);
    int rc = append_path(buf, cap, &used, t, lit);
    if (rc == 0 && open != NULL) {
      if (open[1] == '}') {
        rc = append_path(buf, cap, &used, resource, strlen(resource));
      } else {
        size_t i = (size_t)(open[1] - '0');
        rc = append_path(buf, cap, &used, res->p[i], res->n[i]);
      }
      t = strchr(open, '}') + 1;
    } else {
      t += lit;
    }
    if (rc != 0)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "resource is too long for a URL");
  }
  return GAUTH_OK;
}

static gauth_status resolve_rule(const gauth__config *cfg, const rule *r,
                                 const char *resource, const parts *res,
                                 gauth__iam_target *out, gauth_error *err) {
  char path[3 * MAX_RESOURCE_BYTES + 64];
  gauth_status st = expand(r, resource, res, path, sizeof path, err);
  if (st != GAUTH_OK) return st;
  st = gauth__config_service_url(cfg, r->service, path, &out->url, err);
  if (st != GAUTH_OK) return st;
  out->method = r->method;
  out->api = r->api;
  return GAUTH_OK;
}

/* Checks each placeholder of a rule whose literal parts match. */
static gauth_status check_parts(const parts *pat, const parts *res,
                                const char *resource, gauth_error *err) {
  for (size_t i = 0; i < pat->count; i++) {
    const kind *k;
    char why[400];
    if (pat->p[i][0] != '{') continue;
    k = kind_of(pat->p[i], pat->n[i]);
    if (k == NULL)
      return gauth__error_set(err, GAUTH_E_INTERNAL,
                              "IAM resource table: unknown placeholder");
    if (k->ok(res->p[i], res->n[i])) continue;
    snprintf(why, sizeof why, "has an invalid %s (part %zu): expected %s",
             k->what, i + 1, k->rule);
    return bad(err, resource, why);
  }
  return GAUTH_OK;
}

/* Nothing matched: the most useful reason. */
static gauth_status diagnose(const parts *res, const char *resource,
                             gauth_error *err) {
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(rules); i++) {
    parts pat;
    split(rules[i].pattern, &pat);
    if (res->count < pat.count && literals_match(&pat, res, res->count)) {
      char why[200];
      snprintf(why, sizeof why, "is incomplete (expected %s)", rules[i].form);
      return bad(err, resource, why);
    }
  }
  return bad(err, resource, "is not a resource name libgauth knows");
}

static gauth_status resolve_name(const gauth__config *cfg, const char *resource,
                                 gauth__iam_target *out, gauth_error *err) {
  parts res;
  if (resource[0] == '/')
    return bad(err, resource,
               "starts with '/' (give the name alone, as in "
               "projects/P)");
  if (split(resource, &res) != 0)
    return bad(err, resource, "has too many parts");
  for (size_t i = 0; i < res.count; i++) {
    if (res.n[i] == 0)
      return bad(err, resource,
                 "has an empty part (a doubled or trailing "
                 "'/')");
    if (part_is(&res, i, ".") || part_is(&res, i, ".."))
      return bad(err, resource, "has a '.' or '..' part");
  }
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(rules); i++) {
    parts pat;
    gauth_status st;
    split(rules[i].pattern, &pat);
    if (pat.count != res.count || !literals_match(&pat, &res, res.count))
      continue;
    st = check_parts(&pat, &res, resource, err);
    if (st != GAUTH_OK) return st;
    return resolve_rule(cfg, &rules[i], resource, &res, out, err);
  }
  return diagnose(&res, resource, err);
}

/* ---- a URL given as the resource ----------------------------------------- */

/* What is wrong with a parsed URL, or NULL. */
static const char *url_problem(CURLU *h, const char *resource) {
  char *scheme = NULL, *host = NULL, *path = NULL, *v = NULL;
  const char *problem = NULL;
  size_t n = strlen(resource);
  if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
    problem = "is not a URL with a host and a path";
  } else if (strcmp(scheme, "https") != 0 &&
             !(strcmp(scheme, "http") == 0 && gauth__host_is_loopback(host))) {
    problem = "must be https:// (plain http only to a loopback host)";
  } else if (curl_url_get(h, CURLUPART_USER, &v, 0) == CURLUE_OK) {
    problem = "must not carry user info";
  } else if (curl_url_get(h, CURLUPART_QUERY, &v, 0) == CURLUE_OK ||
             curl_url_get(h, CURLUPART_FRAGMENT, &v, 0) == CURLUE_OK) {
    problem = "must not carry a query or a fragment";
  } else if (n < sizeof TIP || strcmp(resource + n - strlen(TIP), TIP) != 0 ||
             strlen(path) <= strlen("/" TIP)) {
    problem = "must be a resource's URL ending in " TIP;
  } else if (strstr(path, "/../") != NULL || strstr(path, "/./") != NULL) {
    problem = "has a '.' or '..' part in its path";
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(path);
  curl_free(v);
  return problem;
}

static gauth_status resolve_url(const gauth__config *cfg, const char *resource,
                                gauth__iam_target *out, gauth_error *err) {
  CURLU *h = curl_url();
  CURLUcode rc;
  const char *problem = NULL;
  gauth_status st;
  if (h == NULL) return gauth__error_nomem(err);
  rc = curl_url_set(h, CURLUPART_URL, resource, CURLU_PATH_AS_IS);
  if (rc == CURLUE_OUT_OF_MEMORY) {
    curl_url_cleanup(h);
    return gauth__error_nomem(err);
  }
  if (rc != CURLUE_OK || strstr(resource, ":///") != NULL)
    problem = "is not a valid URL"; /* libcurl takes https:///x as host x */
  else
    problem = url_problem(h, resource);
  curl_url_cleanup(h);
  if (problem != NULL) {
    /* A URL may carry a password: show nothing of it. */
    char forms[GAUTH_ERROR_MESSAGE_SIZE];
    gauth__iam_resource_forms(forms, sizeof forms);
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "resource URL (not shown) %s; understood: %s",
                            problem, forms);
  }
  st = gauth__config_resolve_url(cfg, resource, &out->url, err);
  if (st != GAUTH_OK) return st;
  out->method = GAUTH__IAM_POST;
  out->api = "the URL given";
  return GAUTH_OK;
}

/* ---- public within the library ------------------------------------------- */

gauth_status gauth__iam_target_resolve(const gauth__config *cfg,
                                       const char *resource,
                                       gauth__iam_target *out,
                                       gauth_error *err) {
  gauth_status st;
  if (out == NULL || cfg == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "out or cfg is NULL");
  memset(out, 0, sizeof *out);
  if (resource == NULL || resource[0] == '\0') {
    char forms[GAUTH_ERROR_MESSAGE_SIZE];
    gauth__iam_resource_forms(forms, sizeof forms);
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "the resource is missing: expected one of %s",
                            forms);
  }
  if (strlen(resource) > MAX_RESOURCE_BYTES)
    return bad(err, resource, "is longer than 1024 bytes");
  for (const char *c = resource; *c; c++)
    if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
      return bad(err, resource,
                 "has a space, a control character or a "
                 "non-ASCII byte");
  if (strstr(resource, "://") != NULL)
    st = resolve_url(cfg, resource, out, err);
  else
    st = resolve_name(cfg, resource, out, err);
  if (st != GAUTH_OK) gauth__iam_target_cleanup(out);
  return st;
}

void gauth__iam_target_cleanup(gauth__iam_target *t) {
  if (t == NULL) return;
  free(t->url);
  memset(t, 0, sizeof *t);
}

gauth_status gauth__iam_query_url(const char *url, const char *const *perms,
                                  size_t n, char **out, gauth_error *err) {
  gauth__form_field *f;
  char *query = NULL, *s;
  gauth_status st;
  size_t len;
  *out = NULL;
  f = calloc(n ? n : 1, sizeof *f);
  if (f == NULL) return gauth__error_nomem(err);
  for (size_t i = 0; i < n; i++) {
    f[i].name = "permissions";
    f[i].value = perms[i];
  }
  st = gauth__form_encode(f, n, &query, err);
  free(f);
  if (st != GAUTH_OK) return st;
  len = strlen(url) + strlen(query) + 2;
  s = malloc(len);
  if (s != NULL) snprintf(s, len, "%s?%s", url, query);
  gauth__secret_strfree(query);
  if (s == NULL) return gauth__error_nomem(err);
  *out = s;
  return GAUTH_OK;
}
