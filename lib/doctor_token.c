/* The doctor's token checks: the kind of token sent against what the
 * target takes, a supplied token's expiry, signature, audience and scopes
 * (tokeninfo), and the scope table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "doctor_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

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
        gauth__dx_job_ref(x, ref, sizeof ref), email);
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
                  "send an access token instead: gauth print-access-token "
                  "--scopes=https://www.googleapis.com/auth/cloud-platform "
                  "--impersonate-service-account=%s",
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
                  gauth__dx_job_ref(x, ref, sizeof ref), email, aud);
    gauth__dx_fix(x->d,
                  "or in the job's JSON: set httpTarget.oidcToken = "
                  "{\"serviceAccountEmail\": \"%s\", \"audience\": \"%s\"}%s",
                  email, aud,
                  x->sends == GAUTH_SCHEDULER_TOKEN_OAUTH
                      ? " and remove httpTarget.oauthToken"
                      : "");
  } else {
    gauth__dx_fix(x->d,
                  "send an ID token instead: gauth print-identity-token "
                  "--audiences=%s --impersonate-service-account=%s",
                  aud, email);
  }
}

void gauth__dx_check_token_type(gauth__dx *x) {
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

void gauth__dx_check_scopes(gauth__dx *x, const char *name,
                            const char *scopes) {
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
                    gauth__dx_job_ref(x, ref, sizeof ref),
                    x->account != NULL ? x->account : "EMAIL",
                    GAUTH_SCOPE_CLOUD_PLATFORM);
    else
      gauth__dx_fix(x->d, "mint the token with the scope %s",
                    GAUTH_SCOPE_CLOUD_PLATFORM);
  }
}

/* ---- audience ---------------------------------------------------------------
 */

void gauth__dx_check_audience(gauth__dx *x, const char *name,
                              const char *const *auds, size_t n) {
  size_t i, j;
  char list[1000] = "";
  size_t len = 0;
  if (x->run_service == NULL &&
      x->kind == GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION)
    gauth__dx_add_audience(x, x->shown); /* a function takes its URL */
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
      if (gauth__dx_audience_eq(auds[i], x->audiences[j])) {
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
                    gauth__dx_job_ref(x, ref, sizeof ref),
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
  url = gauth__strf("%sinfo", base);
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
    gauth__dx_fix(x->d,
                  "mint a new token and send it (gauth print-access-token, "
                  "gauth print-identity-token --audiences=AUDIENCE)");
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
  if (!(status == 400 && cJSON_IsString(error) &&
        strcmp(error->valuestring, "invalid_token") == 0) &&
      (status != 200 || error != NULL)) {
    /* Only tokeninfo's own refusal says the token is bad; any other answer
     * (a 404, a 5xx, an unknown error) says nothing about the token. */
    gauth__dx_check(x->d, "token", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "tokeninfo did not judge the access token (HTTP %ld%s%s): "
                    "its expiry and scopes are unknown",
                    status, cJSON_IsString(error) ? " " : "",
                    cJSON_IsString(error) ? error->valuestring : "");
    if (x->kind == GAUTH_SCHEDULER_URL_GOOGLE_API)
      gauth__dx_check(x->d, "scope", GAUTH_DOCTOR_CHECK_UNKNOWN,
                      "tokeninfo did not answer for the token");
    cJSON_Delete(root);
    return;
  }
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
  gauth__dx_check_scopes(x, "scope",
                         cJSON_IsString(scope) ? scope->valuestring : "");
  cJSON_Delete(root);
}

/* A supplied ID token verified as Google's verifiers do (Google's keys and
 * issuers, RS256), its own audience accepted: the audience and expiry are
 * checked apart. */
static void check_signature(gauth__dx *x, const char *aud) {
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_verifier *v = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *auds[2] = {aud, NULL};
  gauth_status st;
  if (aud == NULL) {
    gauth__dx_check(x->d, "signature", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "the ID token has no audience to verify it for");
    return;
  }
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = auds;
  vo.leeway_seconds = GAUTH_DOCTOR_CLOCK_SKEW_MAX;
  vo.http = x->opts;
  st = gauth_verifier_new(&v, &vo, &err);
  if (st == GAUTH_OK)
    st = gauth_verifier_verify(v, x->in->token, strlen(x->in->token), NULL,
                               &err);
  gauth_verifier_free(v);
  if (st == GAUTH_OK) {
    gauth__dx_check(x->d, "signature", GAUTH_DOCTOR_CHECK_OK,
                    "the ID token is signed by Google (its key set) and "
                    "issued by accounts.google.com");
  } else if (st == GAUTH_E_VERIFY &&
             strcmp(err.reason, GAUTH_REASON_KEYS_UNAVAILABLE) != 0 &&
             strcmp(err.reason, GAUTH_REASON_EXPIRED) != 0) {
    gauth__dx_check(x->d, "signature", GAUTH_DOCTOR_CHECK_FAIL,
                    "the ID token does not verify as Google's (%s): %s; a "
                    "Google API or Cloud Run answers 401",
                    err.reason, err.message);
  } else if (st != GAUTH_E_VERIFY ||
             strcmp(err.reason, GAUTH_REASON_EXPIRED) != 0) {
    gauth__dx_check(x->d, "signature", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "the ID token could not be verified: %s", err.message);
  }
}

void gauth__dx_check_supplied_token(gauth__dx *x) {
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
  if (x->sends == GAUTH_SCHEDULER_TOKEN_OIDC)
    check_signature(x, n > 0 ? auds[0] : NULL);
  if (x->sends == GAUTH_SCHEDULER_TOKEN_OIDC &&
      x->kind != GAUTH_SCHEDULER_URL_GOOGLE_API)
    gauth__dx_check_audience(x, "audience", auds, n);
  else if (x->sends == GAUTH_SCHEDULER_TOKEN_OAUTH)
    gauth__dx_check_scopes(x, "scope", scope->valuestring);
  gauth__jws_cleanup(&jws);
}
