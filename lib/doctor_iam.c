/* The doctor's IAM checks: the service account exists and is enabled; the
 * token can be minted for it (by Cloud Scheduler's service agent, or by
 * the caller); the account holds the permission the target checks. Read
 * with testIamPermissions as the account where the caller may impersonate
 * it, and from the policies and role definitions otherwise. */
#include <stdio.h>
#include <stdlib.h>

#include <gauth/iam.h>

#include "doctor_internal.h"
#include "json.h"
#include "secret.h"

#define GET_OPENID "iam.serviceAccounts.getOpenIdToken"
#define GET_ACCESS "iam.serviceAccounts.getAccessToken"
#define POLICY_V3 "{\"options\":{\"requestedPolicyVersion\":3}}"

/* ---- policies and roles
 * ------------------------------------------------------ */

/* Reads a policy (getIamPolicy). The object, or NULL with why. */
static cJSON *read_policy(gauth__dx *x, const char *method, int service,
                          const char *suffix, const char *what, char *why,
                          size_t why_size) {
  gauth__http_response resp;
  cJSON *root = NULL;
  char m[300];
  if (gauth__dx_request(x, method, service, suffix,
                        strcmp(method, "POST") == 0 ? POLICY_V3 : NULL, &resp,
                        m, sizeof m) != GAUTH_OK) {
    snprintf(why, why_size, "the policy of %s could not be read: %s", what, m);
  } else if (resp.status != 200) {
    gauth__dx_reply_message(&resp, m, sizeof m);
    snprintf(why, why_size, "the caller may not read the policy of %s (%s)",
             what, m);
  } else if (gauth__json_parse_object(resp.body, resp.body_len, NULL, &root,
                                      NULL) != GAUTH_OK) {
    snprintf(why, why_size, "the policy of %s is not JSON", what);
  }
  gauth__http_response_cleanup(&resp);
  return root;
}

/* 1 the role includes perm, 0 it does not, -1 its definition could not be
 * read (why). Definitions are read once per diagnosis (IAM roles.get). */
static int role_has(gauth__dx *x, const char *role, const char *perm, char *why,
                    size_t why_size) {
  const cJSON *perms, *p;
  if (x->roles == NULL) x->roles = cJSON_CreateObject();
  if (x->roles == NULL) return -1;
  perms = cJSON_GetObjectItemCaseSensitive(x->roles, role);
  if (perms == NULL) {
    gauth__http_response resp;
    cJSON *root = NULL, *inc;
    char *suffix = gauth__strf("/v1/%s", role), m[300];
    if (suffix == NULL) return -1;
    if (gauth__dx_request(x, "GET", GAUTH_SERVICE_IAM, suffix, NULL, &resp, m,
                          sizeof m) != GAUTH_OK) {
      snprintf(why, why_size, "role %s could not be read: %s", role, m);
    } else if (resp.status != 200) {
      gauth__dx_reply_message(&resp, m, sizeof m);
      snprintf(why, why_size, "role %s could not be read (%s)", role, m);
    } else if (gauth__json_parse_object(resp.body, resp.body_len, NULL, &root,
                                        NULL) != GAUTH_OK) {
      snprintf(why, why_size, "role %s: the reply is not JSON", role);
    }
    gauth__http_response_cleanup(&resp);
    free(suffix);
    if (root == NULL) return -1;
    inc = cJSON_DetachItemFromObjectCaseSensitive(root, "includedPermissions");
    cJSON_Delete(root);
    if (inc == NULL) inc = cJSON_CreateArray();
    if (inc == NULL || !cJSON_AddItemToObject(x->roles, role, inc)) {
      cJSON_Delete(inc);
      return -1;
    }
    perms = inc;
  }
  cJSON_ArrayForEach(p, perms) {
    if (cJSON_IsString(p) && strcmp(p->valuestring, perm) == 0) return 1;
  }
  return 0;
}

const char *gauth__dx_member_kind(const char *email) {
  size_t n = strlen(email), m = strlen(".gserviceaccount.com");
  return n > m && strcasecmp(email + n - m, ".gserviceaccount.com") == 0
             ? "serviceAccount"
             : "user";
}

/* 1 when `members` lists one of the principal's forms. */
static int member_of(const cJSON *members, const char *email) {
  const cJSON *m;
  cJSON_ArrayForEach(m, members) {
    const char *s = cJSON_IsString(m) ? m->valuestring : "";
    const char *e = gauth__skip_prefix(s, "serviceAccount:");
    if (e == NULL) e = gauth__skip_prefix(s, "user:");
    if ((e != NULL && strcasecmp(e, email) == 0) ||
        strcmp(s, "allUsers") == 0 || strcmp(s, "allAuthenticatedUsers") == 0)
      return 1;
  }
  return 0;
}

/* Does the policy grant perm to the account? 1 yes (*role set), 0 no, -1 a
 * role held could not be read (why). */
static int policy_grants(gauth__dx *x, const cJSON *policy, const char *email,
                         const char *perm, const char **role, char *why,
                         size_t why_size) {
  const cJSON *b;
  int unknown = 0;
  cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(policy, "bindings")) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "role");
    int has;
    if (!cJSON_IsString(r) ||
        !member_of(cJSON_GetObjectItemCaseSensitive(b, "members"), email))
      continue;
    has = role_has(x, r->valuestring, perm, why, why_size);
    if (has == 1) {
      *role = r->valuestring;
      return 1;
    }
    if (has < 0) unknown = 1;
  }
  return unknown ? -1 : 0;
}

/* ---- service_account
 * ------------------------------------------------------------ */

void gauth__dx_service_account_missing(gauth__dx *x, const char *evidence) {
  const char *at = strchr(x->account, '@');
  const char *dom = at != NULL ? at + 1 : "";
  size_t plen = strcspn(dom, ".");
  x->sa_state = 0;
  if (evidence != NULL)
    gauth__dx_check_update(x->d, "service_account", GAUTH_DOCTOR_CHECK_FAIL,
                           "the service account %s does not exist: %s",
                           x->account, evidence);
  if (gauth__dx_cause(x->d, GAUTH_DOCTOR_SERVICE_ACCOUNT_NOT_FOUND,
                      "The service account %s does not exist: no token can "
                      "be minted for it.",
                      x->account)) {
    gauth__dx_fix(
        x->d,
        "create it: gcloud iam service-accounts create %.*s "
        "--project=%.*s",
        (int)(at != NULL ? (size_t)(at - x->account) : strlen(x->account)),
        x->account, (int)plen, dom);
    gauth__dx_fix(x->d,
                  "or name an existing account in the job "
                  "(httpTarget.oidcToken / oauthToken.serviceAccountEmail)");
  }
}

void gauth__dx_check_service_account(gauth__dx *x) {
  gauth__http_response resp;
  char *suffix, why[600], m[300];
  cJSON *root = NULL;
  if (x->account == NULL) {
    gauth__dx_check(x->d, "service_account", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "no service account named");
    return;
  }
  if (strcmp(gauth__dx_member_kind(x->account), "user") == 0) {
    gauth__dx_check(x->d, "service_account", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "%s is a person's account, not a service account",
                    x->account);
    return;
  }
  suffix = gauth__strf("/v1/projects/-/serviceAccounts/%s", x->account);
  if (suffix == NULL) return;
  if (gauth__dx_request(x, "GET", GAUTH_SERVICE_IAM, suffix, NULL, &resp, why,
                        sizeof why) != GAUTH_OK) {
    gauth__dx_check(x->d, "service_account", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "IAM serviceAccounts.get %s: %s", x->account, why);
  } else if (resp.status == 404) {
    x->sa_state = 0;
    gauth__dx_check(x->d, "service_account", GAUTH_DOCTOR_CHECK_FAIL,
                    "IAM has no service account %s (404)", x->account);
    gauth__dx_service_account_missing(x, NULL);
  } else if (resp.status != 200 ||
             gauth__json_parse_object(resp.body, resp.body_len, NULL, &root,
                                      NULL) != GAUTH_OK) {
    gauth__dx_reply_message(&resp, m, sizeof m);
    gauth__dx_check(x->d, "service_account", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "IAM serviceAccounts.get %s as the caller: %s (the caller "
                    "needs iam.serviceAccounts.get, e.g. roles/iam."
                    "serviceAccountViewer)",
                    x->account, m);
  } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "disabled"))) {
    x->sa_state = 0;
    gauth__dx_check(x->d, "service_account", GAUTH_DOCTOR_CHECK_FAIL,
                    "the service account %s is disabled", x->account);
    if (gauth__dx_cause(x->d, GAUTH_DOCTOR_SERVICE_ACCOUNT_NOT_FOUND,
                        "The service account %s is disabled: no token can be "
                        "minted for it.",
                        x->account))
      gauth__dx_fix(x->d, "gcloud iam service-accounts enable %s", x->account);
  } else {
    x->sa_state = 1;
    gauth__dx_check(x->d, "service_account", GAUTH_DOCTOR_CHECK_OK,
                    "the service account %s exists and is enabled", x->account);
  }
  cJSON_Delete(root);
  gauth__http_response_cleanup(&resp);
  free(suffix);
}

/* The caller's email, read once (NULL when its credentials do not say). */
static void caller_email(gauth__dx *x) {
  if (x->caller_email == NULL &&
      gauth_credentials_email(x->caller, &x->caller_email, NULL) != GAUTH_OK)
    x->caller_email = NULL;
}

/* ---- mint
 * ---------------------------------------------------------------------- */

/* The project's number: the job's name when numeric, else Resource
 * Manager's projects.get. NULL with why. */
static char *project_number(gauth__dx *x, const char *project, char *why,
                            size_t why_size) {
  gauth__http_response resp;
  cJSON *root = NULL;
  const cJSON *n;
  char *suffix, *num = NULL, m[300];
  const char *c;
  for (c = project; *c >= '0' && *c <= '9'; c++) {
  }
  if (*c == '\0' && c != project) return gauth__strdup(project);
  suffix = gauth__strf("/v1/projects/%s", project);
  if (suffix == NULL) return NULL;
  if (gauth__dx_request(x, "GET", GAUTH_SERVICE_RESOURCEMANAGER, suffix, NULL,
                        &resp, m, sizeof m) != GAUTH_OK) {
    snprintf(why, why_size, "project %s's number: %s", project, m);
  } else if (resp.status != 200 ||
             gauth__json_parse_object(resp.body, resp.body_len, NULL, &root,
                                      NULL) != GAUTH_OK) {
    gauth__dx_reply_message(&resp, m, sizeof m);
    snprintf(why, why_size,
             "project %s's number could not be read (Resource Manager "
             "projects.get: %s)",
             project, m);
  } else {
    n = cJSON_GetObjectItemCaseSensitive(root, "projectNumber");
    if (cJSON_IsString(n))
      num = gauth__strdup(n->valuestring);
    else if (cJSON_IsNumber(n))
      num = gauth__strf("%.0f", n->valuedouble);
    else
      snprintf(why, why_size, "project %s: no projectNumber in the reply",
               project);
  }
  cJSON_Delete(root);
  gauth__http_response_cleanup(&resp);
  free(suffix);
  return num;
}

static void mint_by_scheduler(gauth__dx *x, const char *perm) {
  char why[600] = "", why2[600] = "", *num, *agent = NULL, *suffix;
  cJSON *proj = NULL, *sa = NULL;
  const char *role = NULL;
  int g1 = -1, g2 = -1;
  num = project_number(x, x->job_project, why, sizeof why);
  if (num == NULL) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "Cloud Scheduler's service agent is not known: %s", why);
    return;
  }
  agent = gauth__strf(
      "service-%s@gcp-sa-cloudscheduler.iam.gserviceaccount."
      "com",
      num);
  suffix = gauth__strf("/v1/projects/%s:getIamPolicy", x->job_project);
  if (agent == NULL || suffix == NULL) goto done;
  proj = read_policy(x, "POST", GAUTH_SERVICE_RESOURCEMANAGER, suffix,
                     x->job_project, why, sizeof why);
  if (proj != NULL)
    g1 = policy_grants(x, proj, agent, perm, &role, why, sizeof why);
  if (g1 != 1) {
    free(suffix);
    suffix = gauth__strf("/v1/projects/-/serviceAccounts/%s:getIamPolicy",
                         x->account);
    if (suffix == NULL) goto done;
    sa = read_policy(x, "POST", GAUTH_SERVICE_IAM, suffix, x->account, why2,
                     sizeof why2);
    if (sa != NULL)
      g2 = policy_grants(x, sa, agent, perm, &role, why2, sizeof why2);
  }
  if (g1 == 1 || g2 == 1) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_OK,
                    "Cloud Scheduler's service agent %s holds %s (in %s, from "
                    "the policy of %s and the role's definition)",
                    agent, perm, role, g1 == 1 ? x->job_project : x->account);
  } else if (g1 == 0 && g2 == 0) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_FAIL,
                    "Cloud Scheduler's service agent %s holds %s neither on "
                    "project %s nor on %s (policies read)",
                    agent, perm, x->job_project, x->account);
    if (gauth__dx_cause(x->d, GAUTH_DOCTOR_CANNOT_MINT_TOKEN,
                        "Cloud Scheduler's service agent %s cannot mint a "
                        "token for %s: it lacks roles/cloudscheduler."
                        "serviceAgent on project %s (and %s on the account).",
                        agent, x->account, x->job_project, perm)) {
      gauth__dx_fix(x->d,
                    "gcloud projects add-iam-policy-binding %s "
                    "--member=serviceAccount:%s "
                    "--role=roles/cloudscheduler.serviceAgent",
                    x->job_project, agent);
    }
  } else {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "whether Cloud Scheduler's service agent %s may mint "
                    "for %s is not known: %s%s%s",
                    agent, x->account, why, *why && *why2 ? "; " : "", why2);
  }
done:
  cJSON_Delete(proj);
  cJSON_Delete(sa);
  free(suffix);
  free(agent);
  free(num);
}

static void mint_by_caller(gauth__dx *x, const char *perm) {
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *perms[2] = {perm, NULL};
  char *res;
  caller_email(x);
  if (x->caller_email != NULL && strcasecmp(x->caller_email, x->account) == 0) {
    /* The caller is the account: minting its own token proves both that it
     * may and that the account exists and is enabled (Google mints nothing
     * for a deleted or disabled account). */
    char *tok = NULL;
    if (gauth_credentials_access_token(x->caller, NULL, &tok, NULL, &err) !=
        GAUTH_OK) {
      gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_UNKNOWN,
                      "the caller is %s, but its own token could not be "
                      "minted: %s",
                      x->account, err.message);
      return;
    }
    gauth__secret_strfree(tok);
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_OK,
                    "the caller is %s: it mints its own tokens (one was "
                    "minted)",
                    x->account);
    if (x->sa_state != 1 && gauth__dx_check_get(x->d, "service_account") ==
                                GAUTH_DOCTOR_CHECK_UNKNOWN)
      gauth__dx_check_update(x->d, "service_account", GAUTH_DOCTOR_CHECK_OK,
                             "the service account %s exists and is enabled: "
                             "the caller is it, and a token of it was minted",
                             x->account);
    x->sa_state = 1;
    return;
  }
  res = gauth__strf("projects/-/serviceAccounts/%s", x->account);
  if (res == NULL) return;
  if (gauth_iam_test_permissions(x->caller, res, perms, &r, &err) != GAUTH_OK) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "testIamPermissions on %s as the caller: %s", res,
                    err.message);
  } else if (gauth_iam_result_access(r) == GAUTH_IAM_ACCESS_NOT_FOUND) {
    x->sa_state = 0;
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "testIamPermissions on %s: 404, no such account", res);
    gauth__dx_service_account_missing(x,
                                      "IAM answers 404 to "
                                      "testIamPermissions on it");
  } else if (gauth_iam_result_access(r) != GAUTH_IAM_ACCESS_OK) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "testIamPermissions on %s as the caller was refused "
                    "(HTTP %d)",
                    res, gauth_iam_result_http_status(r));
  } else if (gauth_iam_result_all_granted(r)) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_OK,
                    "the caller%s%s holds %s on %s (testIamPermissions as the "
                    "caller)",
                    x->caller_email ? " " : "",
                    x->caller_email ? x->caller_email : "", perm, x->account);
  } else {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_FAIL,
                    "the caller%s%s lacks %s on %s (testIamPermissions as the "
                    "caller)",
                    x->caller_email ? " " : "",
                    x->caller_email ? x->caller_email : "", perm, x->account);
    if (gauth__dx_cause(x->d, GAUTH_DOCTOR_CANNOT_MINT_TOKEN,
                        "The caller%s%s cannot mint a token for %s: it lacks "
                        "%s on the account.",
                        x->caller_email ? " " : "",
                        x->caller_email ? x->caller_email : "", x->account,
                        perm))
      gauth__dx_fix(
          x->d,
          "gcloud iam service-accounts add-iam-policy-binding %s "
          "--member=%s%s --role=roles/iam.serviceAccountTokenCreator",
          x->account,
          x->caller_email && strstr(x->caller_email, "gserviceaccount.com")
              ? "serviceAccount:"
              : "user:",
          x->caller_email ? x->caller_email : "YOU");
  }
  gauth_iam_result_free(r);
  free(res);
}

void gauth__dx_check_mint(gauth__dx *x) {
  const char *perm =
      x->sends == GAUTH_SCHEDULER_TOKEN_OIDC ? GET_OPENID : GET_ACCESS;
  if (x->in->token != NULL) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "a token was given: nothing to mint");
    return;
  }
  if (x->account == NULL || x->sends == GAUTH_SCHEDULER_TOKEN_NONE) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "no token to mint");
    return;
  }
  if (x->sa_state == 0) {
    gauth__dx_check(x->d, "mint", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "the service account is missing or disabled");
    return;
  }
  if (x->scheduler_mints && x->job_project != NULL)
    mint_by_scheduler(x, perm);
  else
    mint_by_caller(x, perm);
}

/* ---- permission
 * ---------------------------------------------------------------- */

/* testIamPermissions on the resource as the account (impersonated unless
 * the caller is the account): 1 granted, 0 missing, -1 not made (why). */
static int test_as_account(gauth__dx *x, const char *resource, const char *perm,
                           char *how, size_t how_size, char *why,
                           size_t why_size) {
  gauth_credentials *c = NULL;
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *perms[2] = {perm, NULL};
  gauth_status st;
  int out = -1;
  caller_email(x);
  if (x->caller_email != NULL && strcasecmp(x->caller_email, x->account) == 0) {
    gauth_credentials_up_ref(x->caller);
    c = x->caller;
    st = GAUTH_OK;
    snprintf(how, how_size, "testIamPermissions as %s (the caller)",
             x->account);
  } else if (strcmp(gauth__dx_member_kind(x->account), "user") == 0) {
    snprintf(why, why_size,
             "testIamPermissions as %s could not be made: a person's account "
             "cannot be impersonated",
             x->account);
    return -1;
  } else if (x->job != NULL && x->in->token == NULL) {
    st = gauth_scheduler_job_credentials(x->caller, x->opts, x->job, &c, &err);
    snprintf(how, how_size, "testIamPermissions as %s (by impersonation)",
             x->account);
  } else {
    gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
    co.options = x->opts;
    st = gauth_credentials_impersonate(&c, x->caller, x->account, NULL, &co,
                                       &err);
    snprintf(how, how_size, "testIamPermissions as %s (by impersonation)",
             x->account);
  }
  if (st == GAUTH_OK)
    st = gauth_iam_test_permissions(c, resource, perms, &r, &err);
  if (st != GAUTH_OK) {
    snprintf(why, why_size, "%s could not be made: %s", how, err.message);
  } else if (gauth_iam_result_access(r) == GAUTH_IAM_ACCESS_NOT_FOUND) {
    snprintf(why, why_size, "%s: %s does not exist (HTTP 404)", how, resource);
    out = -2;
  } else if (gauth_iam_result_access(r) != GAUTH_IAM_ACCESS_OK) {
    snprintf(why, why_size, "%s was refused (HTTP %d)", how,
             gauth_iam_result_http_status(r));
  } else {
    out = gauth_iam_result_all_granted(r) ? 1 : 0;
  }
  gauth_iam_result_free(r);
  gauth_credentials_free(c);
  return out;
}

/* From the policies of the resource and its project: 1 granted (*role),
 * 0 not, -1 not known (why). */
static int policy_says(gauth__dx *x, const char *resource, const char *perm,
                       const char **role, cJSON **keep, char *why,
                       size_t why_size) {
  char *suffix = gauth__strf("/v2/%s:getIamPolicy", resource);
  char w2[600] = "";
  cJSON *pol;
  int g = -1, g2 = -1;
  if (suffix == NULL) return -1;
  pol =
      read_policy(x, "GET", GAUTH_SERVICE_RUN, suffix, resource, why, why_size);
  free(suffix);
  if (pol != NULL)
    g = policy_grants(x, pol, x->account, perm, role, why, why_size);
  if (g == 1) {
    keep[0] = pol;
    return 1;
  }
  cJSON_Delete(pol);
  suffix = gauth__strf("/v1/projects/%s:getIamPolicy", x->project);
  if (suffix == NULL) return -1;
  pol = read_policy(x, "POST", GAUTH_SERVICE_RESOURCEMANAGER, suffix,
                    x->project, w2, sizeof w2);
  free(suffix);
  if (pol != NULL)
    g2 = policy_grants(x, pol, x->account, perm, role, w2, sizeof w2);
  if (g2 == 1) {
    keep[0] = pol;
    return 1;
  }
  cJSON_Delete(pol);
  if (g == 0 && g2 == 0) return 0;
  if (*w2 != '\0') {
    size_t n = strlen(why);
    snprintf(why + n, why_size - n, "%s%s", n ? "; " : "", w2);
  }
  return -1;
}

static void permission_result(gauth__dx *x, const char *resource,
                              const char *perm, const char *role,
                              const char *kind, const char *ref,
                              const char *how, const char *why,
                              const char *pwhy, int test, int pol);

void gauth__dx_check_permission(gauth__dx *x) {
  const char *resource = x->run_job != NULL ? x->run_job : x->run_service;
  const char *perm = x->run_job != NULL ? "run.jobs.run" : "run.routes.invoke";
  const char *role = NULL, *kind = x->run_job != NULL ? "jobs" : "services";
  char how[600] = "", why[600] = "", pwhy[600] = "", loc[200] = "", ref[300];
  cJSON *keep = NULL;
  int test, pol;
  if (resource == NULL && x->sends != GAUTH_SCHEDULER_TOKEN_NONE &&
      (x->kind == GAUTH_SCHEDULER_URL_CLOUD_RUN_SERVICE ||
       x->kind == GAUTH_SCHEDULER_URL_CLOUD_RUN_FUNCTION)) {
    gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "the Cloud Run service behind %s was not found in Cloud "
                    "Run Admin's list of services, so whether the account "
                    "holds run.routes.invoke on it could not be checked",
                    x->shown);
    return;
  }
  if (resource == NULL) {
    gauth__dx_check(x->d, "permission",
                    x->kind == GAUTH_SCHEDULER_URL_GOOGLE_API &&
                            x->failed_evidence && x->evidence_http == 403
                        ? GAUTH_DOCTOR_CHECK_UNKNOWN
                        : GAUTH_DOCTOR_CHECK_SKIPPED,
                    "which permission %s checks is not known to the doctor "
                    "(it knows Cloud Run jobs' :run and services)",
                    x->shown);
    return;
  }
  if (x->account == NULL && x->sends != GAUTH_SCHEDULER_TOKEN_NONE &&
      x->target_exists != 0) {
    gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_UNKNOWN,
                    "whose token it is is not known (no email in it), so "
                    "whether it holds %s on %s could not be checked",
                    perm, resource);
    return;
  }
  if (x->target_exists == 0 || x->sa_state == 0 || x->account == NULL) {
    gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_SKIPPED, "%s",
                    x->account == NULL ? "no account to check"
                    : x->sa_state == 0 ? "the account is missing or "
                                         "disabled"
                                       : "the target does not exist");
    return;
  }
  {
    const char *p = strstr(resource, "/locations/");
    if (p != NULL)
      snprintf(loc, sizeof loc, "%.*s", (int)strcspn(p + 11, "/"), p + 11);
    if (x->project == NULL) {
      const char *q = resource + strlen("projects/");
      x->project = gauth__strf("%.*s", (int)strcspn(q, "/"), q);
    }
  }
  snprintf(ref, sizeof ref, "%s --region=%s --project=%s",
           strrchr(resource, '/') + 1, loc, x->project);
  test = test_as_account(x, resource, perm, how, sizeof how, why, sizeof why);
  if (test == -2) {
    /* A token of the account was minted; the resource is not there. */
    x->target_exists = 0;
    gauth__dx_check_update(x->d, "target_exists", GAUTH_DOCTOR_CHECK_FAIL,
                           "%s does not exist: its testIamPermissions "
                           "answered 404 (%s)",
                           resource, how);
    gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_SKIPPED,
                    "the target does not exist");
    gauth__dx_target_not_found(x, x->run_job != NULL
                                      ? "The URL names a Cloud Run job that "
                                        "does not exist"
                                      : "The Cloud Run service does not exist");
    return;
  }
  if (test >= 0) {
    /* A token of the account was minted and the resource answered: the
     * account exists and is enabled, the resource exists. */
    if (x->sa_state != 1 && gauth__dx_check_get(x->d, "service_account") ==
                                GAUTH_DOCTOR_CHECK_UNKNOWN)
      gauth__dx_check_update(x->d, "service_account", GAUTH_DOCTOR_CHECK_OK,
                             "the service account %s exists and is enabled: "
                             "a token of it was minted (%s)",
                             x->account, how);
    x->sa_state = 1;
    if (x->target_exists != 1 && gauth__dx_check_get(x->d, "target_exists") ==
                                     GAUTH_DOCTOR_CHECK_UNKNOWN)
      gauth__dx_check_update(x->d, "target_exists", GAUTH_DOCTOR_CHECK_OK,
                             "%s exists: its testIamPermissions answered (%s)",
                             resource, how);
    x->target_exists = 1;
  }
  if (test == 1) {
    gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_OK,
                    "%s holds %s on %s (%s)", x->account, perm, resource, how);
    return;
  }
  pol = policy_says(x, resource, perm, &role, &keep, pwhy, sizeof pwhy);
  permission_result(x, resource, perm, role, kind, ref, how, why, pwhy, test,
                    pol);
  cJSON_Delete(keep); /* role points into it */
}

static void permission_result(gauth__dx *x, const char *resource,
                              const char *perm, const char *role,
                              const char *kind, const char *ref,
                              const char *how, const char *why,
                              const char *pwhy, int test, int pol) {
  if (test == 0 && pol == 1) {
    gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_FAIL,
                    "the policy grants %s %s (%s) on %s, but %s says it does "
                    "not hold it yet",
                    x->account, perm, role, resource, how);
    if (gauth__dx_cause(
            x->d, GAUTH_DOCTOR_PERMISSION_NOT_PROPAGATED,
            "%s is granted %s on %s in the policy (%s), but IAM "
            "does not apply it yet (%s says no): the grant has "
            "not propagated (a change usually takes effect within 2 "
            "minutes, sometimes 7 or more).",
            x->account, perm, resource, role, how)) {
      gauth__dx_fix(x->d, "gauth wait-permissions %s %s", resource, perm);
      if (x->job != NULL && gauth_scheduler_job_last_attempt_time(x->job) > 0 &&
          gauth_scheduler_job_status_code(x->job) == 7)
        gauth__dx_fix(
            x->d,
            "the job's last attempt (%lld s ago) was refused before "
            "the grant took effect: run it again once it has",
            (long long)(x->now -
                        gauth_scheduler_job_last_attempt_time(x->job)));
    }
    return;
  }
  if (test == 0 || pol == 0) {
    gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_FAIL,
                    "%s lacks %s on %s (%s)", x->account, perm, resource,
                    test == 0 ? how
                              : "from the policies of the resource and its "
                                "project, and the roles' definitions");
    if (gauth__dx_cause(x->d, GAUTH_DOCTOR_MISSING_PERMISSION,
                        "The %saccount %s lacks %s on %s (granted by "
                        "roles/run.invoker): Cloud Run answers 403.",
                        strcmp(gauth__dx_member_kind(x->account), "user") == 0
                            ? ""
                            : "service ",
                        x->account, perm, resource))
      gauth__dx_fix(x->d,
                    "gcloud run %s add-iam-policy-binding %s "
                    "--member=%s:%s --role=roles/run.invoker",
                    kind, ref, gauth__dx_member_kind(x->account), x->account);
    return;
  }
  if (pol == 1) {
    if (x->failed_evidence && x->evidence_http == 403)
      gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_UNKNOWN,
                      "the policy grants %s %s (%s) on %s, yet an attempt was "
                      "refused 403; whether the grant is in effect could not "
                      "be checked (%s)",
                      x->account, perm, role, resource, why);
    else
      gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_OK,
                      "the policy grants %s %s (%s) on %s (read from the "
                      "policies; %s)",
                      x->account, perm, role, resource, why);
    return;
  }
  gauth__dx_check(x->d, "permission", GAUTH_DOCTOR_CHECK_UNKNOWN,
                  "whether %s holds %s on %s is not known: %s; %s", x->account,
                  perm, resource, why, pwhy);
}
