/* The doctor's diagnosis: the causes found (kept in the order their fixes
 * are needed), their fix lines, the checks made, and the whole as JSON. The
 * checks that fill it are in lib/doctor_check*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "doctor_internal.h"
#include "error_internal.h"
#include "redact.h"

typedef struct dx_cause {
  gauth_doctor_cause cause;
  char *summary;
  char **fix;
  size_t fix_count;
} dx_cause;

typedef struct dx_check {
  char *name;
  gauth_doctor_check_result result;
  char *detail;
} dx_check;

struct gauth_diagnosis {
  gauth_doctor_cause root;
  char *summary;
  dx_cause *causes;
  size_t cause_count;
  dx_check *checks;
  size_t check_count;
  int last_added; /* the last gauth__dx_cause call recorded its cause */
  int oom;
};

static const char *const cause_codes[] = {
    "ok",
    "unknown",
    "clock_skew",
    "service_account_not_found",
    "cannot_mint_token",
    "oidc_token_to_google_api",
    "access_token_to_run_service",
    "no_token",
    "token_expired",
    "audience_mismatch",
    "wrong_scope",
    "target_not_found",
    "missing_permission",
    "permission_not_propagated",
};

const char *gauth_doctor_cause_code(gauth_doctor_cause cause) {
  if ((int)cause < 0 || (size_t)cause >= GAUTH__ARRAY_LEN(cause_codes))
    return "invalid";
  return cause_codes[cause];
}

const char *gauth_doctor_check_result_name(gauth_doctor_check_result r) {
  switch (r) {
    case GAUTH_DOCTOR_CHECK_OK: return "ok";
    case GAUTH_DOCTOR_CHECK_FAIL: return "fail";
    case GAUTH_DOCTOR_CHECK_SKIPPED: return "skipped";
    case GAUTH_DOCTOR_CHECK_UNKNOWN: return "unknown";
  }
  return "invalid";
}

/* printf into a new string, with any bearer token or JWT-looking text
 * redacted as a last line of defence. NULL when out of memory. */
static char *vformat(const char *fmt, va_list ap) GAUTH_PRINTF(1, 0);
static char *vformat(const char *fmt, va_list ap) {
  char *s = gauth__vstrf(fmt, ap), *r;
  if (s == NULL) return NULL;
  r = gauth__redact(s, NULL);
  free(s);
  return r;
}

gauth_diagnosis *gauth__dx_new(void) {
  gauth_diagnosis *d = calloc(1, sizeof *d);
  if (d != NULL) d->root = GAUTH_DOCTOR_OK;
  return d;
}

void gauth__dx_check(gauth_diagnosis *d, const char *name,
                     gauth_doctor_check_result result, const char *fmt, ...) {
  va_list ap;
  dx_check *grown;
  char *detail, *nm;
  if (d == NULL) return;
  va_start(ap, fmt);
  detail = vformat(fmt, ap);
  va_end(ap);
  nm = gauth__strdup(name);
  grown = realloc(d->checks, (d->check_count + 1) * sizeof *grown);
  if (detail == NULL || nm == NULL || grown == NULL) {
    if (grown != NULL) d->checks = grown;
    free(detail);
    free(nm);
    d->oom = 1;
    return;
  }
  d->checks = grown;
  d->checks[d->check_count].name = nm;
  d->checks[d->check_count].result = result;
  d->checks[d->check_count].detail = detail;
  d->check_count++;
}

static dx_check *find_check(const gauth_diagnosis *d, const char *name) {
  size_t i = d != NULL ? d->check_count : 0;
  while (i-- > 0)
    if (strcmp(d->checks[i].name, name) == 0) return &d->checks[i];
  return NULL;
}

void gauth__dx_check_update(gauth_diagnosis *d, const char *name,
                            gauth_doctor_check_result result, const char *fmt,
                            ...) {
  va_list ap;
  dx_check *c = find_check(d, name);
  char *detail;
  if (c == NULL) return;
  va_start(ap, fmt);
  detail = vformat(fmt, ap);
  va_end(ap);
  if (detail == NULL) {
    d->oom = 1;
    return;
  }
  free(c->detail);
  c->detail = detail;
  c->result = result;
}

gauth_doctor_check_result gauth__dx_check_get(const gauth_diagnosis *d,
                                              const char *name) {
  const dx_check *c = find_check(d, name);
  return c != NULL ? c->result : GAUTH_DOCTOR_CHECK_SKIPPED;
}

int gauth__dx_has(const gauth_diagnosis *d, gauth_doctor_cause cause) {
  size_t i;
  for (i = 0; d != NULL && i < d->cause_count; i++)
    if (d->causes[i].cause == cause) return 1;
  return 0;
}

int gauth__dx_cause(gauth_diagnosis *d, gauth_doctor_cause cause,
                    const char *fmt, ...) {
  va_list ap;
  dx_cause *grown;
  char *s;
  if (d == NULL) return 0;
  d->last_added = 0;
  if (gauth__dx_has(d, cause)) return 0;
  va_start(ap, fmt);
  s = vformat(fmt, ap);
  va_end(ap);
  grown = realloc(d->causes, (d->cause_count + 1) * sizeof *grown);
  if (s == NULL || grown == NULL) {
    if (grown != NULL) d->causes = grown;
    free(s);
    d->oom = 1;
    return 0;
  }
  d->causes = grown;
  memset(&d->causes[d->cause_count], 0, sizeof(dx_cause));
  d->causes[d->cause_count].cause = cause;
  d->causes[d->cause_count].summary = s;
  d->cause_count++;
  d->last_added = 1;
  return 1;
}

void gauth__dx_fix(gauth_diagnosis *d, const char *fmt, ...) {
  va_list ap;
  dx_cause *c;
  char **grown, *s;
  if (d == NULL || !d->last_added || d->cause_count == 0) return;
  c = &d->causes[d->cause_count - 1];
  va_start(ap, fmt);
  s = vformat(fmt, ap);
  va_end(ap);
  grown = realloc(c->fix, (c->fix_count + 1) * sizeof *grown);
  if (s == NULL || grown == NULL) {
    if (grown != NULL) c->fix = grown;
    free(s);
    d->oom = 1;
    return;
  }
  c->fix = grown;
  c->fix[c->fix_count++] = s;
}

/* Appends text to a growing buffer; 0 when out of memory. */
static int append(char **buf, size_t *len, const char *text) {
  size_t n = strlen(text);
  char *grown = realloc(*buf, *len + n + 1);
  if (grown == NULL) return 0;
  memcpy(grown + *len, text, n + 1);
  *buf = grown;
  *len += n;
  return 1;
}

/* "Checked: a, b and c." or "Could not check: a (why); b (why)." */
static char *summary_of_checks(const gauth_diagnosis *d,
                               gauth_doctor_check_result want,
                               const char *lead) {
  char *s = NULL;
  size_t len = 0, i, k = 0;
  if (!append(&s, &len, lead)) return NULL;
  for (i = 0; i < d->check_count; i++) {
    const dx_check *c = &d->checks[i];
    /* Asked for UNKNOWN: the failed checks (no cause) too. */
    if (c->result != want && !(want == GAUTH_DOCTOR_CHECK_UNKNOWN &&
                               c->result == GAUTH_DOCTOR_CHECK_FAIL))
      continue;
    if ((k > 0 && !append(&s, &len, "; ")) || !append(&s, &len, c->name)) {
      free(s);
      return NULL;
    }
    if (want != GAUTH_DOCTOR_CHECK_OK &&
        (!append(&s, &len, " (") || !append(&s, &len, c->detail) ||
         !append(&s, &len, ")"))) {
      free(s);
      return NULL;
    }
    k++;
  }
  if (k == 0 && !append(&s, &len, "nothing")) {
    free(s);
    return NULL;
  }
  if (!append(&s, &len, ".")) {
    free(s);
    return NULL;
  }
  return s;
}

static int cause_cmp(const void *a, const void *b) {
  const dx_cause *x = a, *y = b;
  return (x->cause > y->cause) - (x->cause < y->cause);
}

gauth_status gauth__dx_finish(gauth_diagnosis *d, gauth_error *err) {
  size_t i;
  int unknown = 0;
  if (d->oom) return gauth__error_nomem(err);
  /* Causes are recorded once each, so the order by code is total. */
  if (d->cause_count > 1)
    qsort(d->causes, d->cause_count, sizeof *d->causes, cause_cmp);
  /* A check that failed without naming a cause leaves the diagnosis
   * unknown: something is wrong that no code describes. */
  for (i = 0; i < d->check_count; i++)
    if (d->checks[i].result == GAUTH_DOCTOR_CHECK_UNKNOWN ||
        d->checks[i].result == GAUTH_DOCTOR_CHECK_FAIL)
      unknown = 1;
  free(d->summary);
  d->summary = NULL;
  if (d->cause_count > 0) {
    d->root = d->causes[0].cause;
    d->summary = gauth__strdup(d->causes[0].summary);
  } else if (unknown) {
    d->root = GAUTH_DOCTOR_UNKNOWN;
    d->summary = summary_of_checks(
        d, GAUTH_DOCTOR_CHECK_UNKNOWN,
        "No cause found, but a check that could have found one could not be "
        "made, or one failed in a way no cause describes: ");
  } else {
    d->root = GAUTH_DOCTOR_OK;
    d->summary = summary_of_checks(d, GAUTH_DOCTOR_CHECK_OK,
                                   "Nothing wrong found. Checked: ");
  }
  if (d->summary == NULL) return gauth__error_nomem(err);
  return GAUTH_OK;
}

void gauth_diagnosis_free(gauth_diagnosis *d) {
  size_t i, j;
  if (d == NULL) return;
  for (i = 0; i < d->cause_count; i++) {
    free(d->causes[i].summary);
    for (j = 0; j < d->causes[i].fix_count; j++) free(d->causes[i].fix[j]);
    free(d->causes[i].fix);
  }
  for (i = 0; i < d->check_count; i++) {
    free(d->checks[i].name);
    free(d->checks[i].detail);
  }
  free(d->causes);
  free(d->checks);
  free(d->summary);
  free(d);
}

gauth_doctor_cause gauth_diagnosis_root_cause(const gauth_diagnosis *d) {
  return d != NULL ? d->root : GAUTH_DOCTOR_UNKNOWN;
}

const char *gauth_diagnosis_summary(const gauth_diagnosis *d) {
  return d != NULL && d->summary != NULL ? d->summary : "";
}

size_t gauth_diagnosis_cause_count(const gauth_diagnosis *d) {
  return d != NULL ? d->cause_count : 0;
}

gauth_doctor_cause gauth_diagnosis_cause(const gauth_diagnosis *d, size_t i) {
  if (d == NULL || i >= d->cause_count) return GAUTH_DOCTOR_OK;
  return d->causes[i].cause;
}

const char *gauth_diagnosis_cause_summary(const gauth_diagnosis *d, size_t i) {
  if (d == NULL || i >= d->cause_count) return NULL;
  return d->causes[i].summary;
}

size_t gauth_diagnosis_fix_count(const gauth_diagnosis *d, size_t i) {
  if (d == NULL || i >= d->cause_count) return 0;
  return d->causes[i].fix_count;
}

const char *gauth_diagnosis_fix(const gauth_diagnosis *d, size_t i, size_t j) {
  if (d == NULL || i >= d->cause_count || j >= d->causes[i].fix_count)
    return NULL;
  return d->causes[i].fix[j];
}

size_t gauth_diagnosis_check_count(const gauth_diagnosis *d) {
  return d != NULL ? d->check_count : 0;
}

const char *gauth_diagnosis_check_name(const gauth_diagnosis *d, size_t i) {
  if (d == NULL || i >= d->check_count) return NULL;
  return d->checks[i].name;
}

gauth_doctor_check_result gauth_diagnosis_check_result(const gauth_diagnosis *d,
                                                       size_t i) {
  if (d == NULL || i >= d->check_count) return GAUTH_DOCTOR_CHECK_SKIPPED;
  return d->checks[i].result;
}

const char *gauth_diagnosis_check_detail(const gauth_diagnosis *d, size_t i) {
  if (d == NULL || i >= d->check_count) return NULL;
  return d->checks[i].detail;
}

static cJSON *fix_array(const dx_cause *c) {
  cJSON *a = cJSON_CreateArray();
  size_t j;
  for (j = 0; a != NULL && c != NULL && j < c->fix_count; j++) {
    cJSON *s = cJSON_CreateString(c->fix[j]);
    if (s == NULL || !cJSON_AddItemToArray(a, s)) {
      cJSON_Delete(s);
      cJSON_Delete(a);
      return NULL;
    }
  }
  return a;
}

static cJSON *to_cjson(const gauth_diagnosis *d) {
  cJSON *o = cJSON_CreateObject(), *causes, *checks, *fix;
  size_t i;
  if (o == NULL) return NULL;
  if (cJSON_AddStringToObject(o, "root_cause",
                              gauth_doctor_cause_code(d->root)) == NULL ||
      cJSON_AddStringToObject(o, "summary", gauth_diagnosis_summary(d)) == NULL)
    goto fail;
  fix = fix_array(d->cause_count > 0 ? &d->causes[0] : NULL);
  if (fix == NULL || !cJSON_AddItemToObject(o, "fix", fix)) {
    cJSON_Delete(fix);
    goto fail;
  }
  causes = cJSON_AddArrayToObject(o, "causes");
  checks = cJSON_AddArrayToObject(o, "checks");
  if (causes == NULL || checks == NULL) goto fail;
  for (i = 0; i < d->cause_count; i++) {
    cJSON *c = cJSON_CreateObject();
    if (c == NULL || !cJSON_AddItemToArray(causes, c)) {
      cJSON_Delete(c);
      goto fail;
    }
    fix = fix_array(&d->causes[i]);
    if (cJSON_AddStringToObject(
            c, "code", gauth_doctor_cause_code(d->causes[i].cause)) == NULL ||
        cJSON_AddStringToObject(c, "summary", d->causes[i].summary) == NULL ||
        fix == NULL || !cJSON_AddItemToObject(c, "fix", fix)) {
      cJSON_Delete(fix);
      goto fail;
    }
  }
  for (i = 0; i < d->check_count; i++) {
    cJSON *c = cJSON_CreateObject();
    if (c == NULL || !cJSON_AddItemToArray(checks, c)) {
      cJSON_Delete(c);
      goto fail;
    }
    if (cJSON_AddStringToObject(c, "name", d->checks[i].name) == NULL ||
        cJSON_AddStringToObject(
            c, "result", gauth_doctor_check_result_name(d->checks[i].result)) ==
            NULL ||
        cJSON_AddStringToObject(c, "detail", d->checks[i].detail) == NULL)
      goto fail;
  }
  return o;
fail:
  cJSON_Delete(o);
  return NULL;
}

char *gauth_diagnosis_to_json(const gauth_diagnosis *d) {
  cJSON *o;
  char *s;
  if (d == NULL) return NULL;
  o = to_cjson(d);
  if (o == NULL) return NULL;
  s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}
