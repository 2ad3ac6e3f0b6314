/* libgauth: the doctor — why a call to a Cloud Run job, service or Google
 * API fails (or would fail), found the way Google decides it, with the fix.
 *
 *     gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
 *     gauth_diagnosis *d;
 *     in.job = job;                       // gauth/scheduler.h
 *     if (gauth_doctor_diagnose(adc, NULL, &in, &d, &err) == GAUTH_OK) {
 *       printf("ROOT CAUSE: %s: %s\n",
 *              gauth_doctor_cause_code(gauth_diagnosis_root_cause(d)),
 *              gauth_diagnosis_summary(d));
 *       gauth_diagnosis_free(d);
 *     }
 *
 * WHAT IT READS. Only Google's public APIs, through the same endpoint
 * configuration as the rest of libgauth (gauth/options.h), as the caller
 * (usually a person's Application Default Credentials, not the job's
 * service account): the target's kind (gauth_scheduler_url_classify()),
 * Cloud Run Admin v2 (the service's uri, urls and customAudiences; the job
 * or service exists), IAM (the service account exists and is enabled; role
 * definitions), IAM policies (getIamPolicy on the target, the service
 * account and the project), testIamPermissions as the job's service account
 * (by impersonation, where the caller may), IAM Credentials (whether the
 * token can be minted), Resource Manager (the project's number, for Cloud
 * Scheduler's service agent), OAuth's tokeninfo (an access token's scopes),
 * and the Date header of Google's replies (this machine's clock). Nothing
 * that changes anything: it never runs a job or calls the target unless the
 * input asks for one attempt (`send`), which it then makes exactly as
 * gauth_scheduler_attempt_send() does.
 *
 * WHAT IT SAYS. Every cause it finds (gauth_doctor_cause), each with one
 * sentence, the lines of its fix (gcloud commands or job fields to change,
 * to paste), and the checks that showed it. The root cause is the cause
 * whose fix is needed first (order of gauth_doctor_cause below: a wrong
 * token type before a missing permission); the others follow it. It names
 * no cause the evidence does not show: when a check cannot be made (the
 * caller may not read a policy, say) the check is UNKNOWN and says why, and
 * when no cause is found but a check that could have found one was not
 * made, the root cause is UNKNOWN, not OK.
 *
 * THE CHECKS, in the order they are made and listed (name: what it reads;
 * the causes it can name):
 *   job              the job's token kind, account, audience / scope, and
 *                    its last attempt's status (16 UNAUTHENTICATED is a
 *                    401, 7 PERMISSION_DENIED a 403, 5 NOT_FOUND a 404),
 *                    unless the job was updated after that attempt. A job
 *                    with a name is a Cloud Scheduler job (its service
 *                    agent mints the token); one without (built from
 *                    flags) is a call made from here (the caller mints).
 *   target_kind      gauth_scheduler_url_classify(); a Cloud Run Admin
 *                    :run URL (v2 /v2/projects/P/locations/L/jobs/J:run, v1
 *                    /apis/run.googleapis.com/v1/namespaces/P/jobs/J:run,
 *                    its region from the L-run.googleapis.com host or from
 *                    the project's jobs in every location) names the job
 *                    resource; any other URL is looked up in Cloud Run
 *                    Admin v2's list of services (projects/P/locations/L,
 *                    from a SERVICE-NUMBER.REGION.run.app URL, else the
 *                    job's project, else the caller's, in every location
 *                    "-"): a URL under a service's uri or urls is that
 *                    service, whatever its host.
 *   token_type       the token's kind against what the target takes:
 *                    oidc_token_to_google_api, access_token_to_run_service,
 *                    no_token (a Google API or Cloud Run target, or any
 *                    target that answered 401).
 *   token            (a token given) a JWT (three base64url parts, a JSON
 *                    header with alg) without a "scope" claim is an ID
 *                    token, with one a self-signed access token; its exp,
 *                    aud and email are read without verifying the
 *                    signature. Anything else is an access token, read with
 *                    OAuth's tokeninfo (POST {token endpoint}info, form
 *                    access_token: the token endpoint's service URL, so
 *                    https://oauth2.googleapis.com/tokeninfo by default):
 *                    its scope, expires_in and email; a refusal
 *                    (invalid_token) is an expired or revoked token.
 *                    token_expired.
 *   audience         an ID token's audience (the job's, or the given
 *                    token's aud) against the service's uri, urls and
 *                    customAudiences (a Cloud Run function's: its URL);
 *                    equal but for one trailing '/', a path included (the
 *                    default audience of a job whose uri has a path is
 *                    that whole uri): audience_mismatch.
 *   scope            an access token's scopes (the job's scope, or
 *                    tokeninfo's) against the SCOPE TABLE: wrong_scope.
 *   service_account  IAM v1 serviceAccounts.get: 404 or `disabled`:
 *                    service_account_not_found (also a 404 from
 *                    testIamPermissions on the account).
 *   mint             a Cloud Scheduler job: its service agent
 *                    service-PROJECT_NUMBER@gcp-sa-cloudscheduler.iam.
 *                    gserviceaccount.com (the number from the job's name
 *                    when numeric, else Resource Manager projects.get) must
 *                    hold iam.serviceAccounts.getOpenIdToken (OIDC) or
 *                    getAccessToken (OAuth), read from the project's policy
 *                    (roles/cloudscheduler.serviceAgent or any role
 *                    including it, by roles.get) and the account's policy.
 *                    A call from here: the caller is the account, or holds
 *                    the permission on it (testIamPermissions as the
 *                    caller on projects/-/serviceAccounts/EMAIL).
 *                    cannot_mint_token.
 *   target_exists    Cloud Run Admin v2 get of the job (or the service
 *                    found in the list); a 404 from testIamPermissions on
 *                    it; a deterministic run.app URL no service of its
 *                    project has; a reply or attempt that answered 404:
 *                    target_not_found (naming the region where the
 *                    project does have a job of that name, if any).
 *   permission       run.jobs.run on a job (:run), run.routes.invoke on a
 *                    service, as the account: testIamPermissions by
 *                    impersonation (the caller's own credentials when it is
 *                    the account), and the policies of the resource and its
 *                    project with the roles' definitions (roles.get). The
 *                    detail says which was done. Granted by the policies
 *                    but not by testIamPermissions:
 *                    permission_not_propagated; by neither:
 *                    missing_permission (the fix grants roles/run.invoker).
 *                    Other Google APIs: which permission they check is not
 *                    known (skipped, or unknown when a 403 was seen).
 *   attempt          with `send`, one attempt (gauth_scheduler_attempt_send
 *                    as the caller); a reply given in the input is read the
 *                    same way: status, WWW-Authenticate, Google's error
 *                    message, Date.
 *   clock            the Date header of every reply read against this
 *                    machine's clock (the credentials' clock):
 *                    clock_skew beyond GAUTH_DOCTOR_CLOCK_SKEW_MAX seconds.
 *   evidence         only when a failed attempt was seen (the job's status,
 *                    a reply) and no check names a cause: unknown.
 *
 * THE CAUSE ORDER is the enum's (below): clock_skew, service_account_not_
 * found, cannot_mint_token, oidc_token_to_google_api, access_token_to_run_
 * service, no_token, token_expired, audience_mismatch, wrong_scope,
 * target_not_found, missing_permission, permission_not_propagated. The
 * root is the first found; `ok` only when no cause is found and no check
 * is unknown; `unknown` when no cause is found and a check could not be
 * made.
 *
 * THE SCOPE TABLE: every Google API accepts
 * https://www.googleapis.com/auth/cloud-platform; besides it (prefix
 * https://www.googleapis.com/auth/): run, cloudscheduler: none; iam,
 * iamcredentials: iam; pubsub: pubsub; storage: devstorage.read_only,
 * devstorage.read_write, devstorage.full_control; cloudresourcemanager:
 * cloud-platform.read-only. The API is the host's first label without a
 * region prefix (us-central1-run.googleapis.com is run). An API not in the
 * table and no cloud-platform scope: the scope check is unknown, not a
 * cause.
 *
 * THE CALLER'S PERMISSIONS for a complete diagnosis (else checks are
 * unknown and say what is missing): run.jobs.get / run.services.list,
 * run.*.getIamPolicy, iam.serviceAccounts.get and getIamPolicy,
 * resourcemanager.projects.get and getIamPolicy, iam.roles.get for custom
 * roles (roles/viewer has them), and roles/iam.serviceAccountTokenCreator
 * on the account for testIamPermissions as the account.
 *
 * SECRETS. A diagnosis never holds a token: not the one supplied, not one
 * minted. Messages show URLs without user info or query.
 *
 * OWNERSHIP: a diagnosis is created by gauth_doctor_diagnose() and freed by
 * gauth_diagnosis_free(); strings it returns are borrowed from it, except
 * gauth_diagnosis_to_json()'s (gauth_free()). THREADS: any thread; a
 * diagnosis is immutable. */
#ifndef GAUTH_DOCTOR_H
#define GAUTH_DOCTOR_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/credentials.h>
#include <gauth/error.h>
#include <gauth/export.h>
#include <gauth/options.h>
#include <gauth/scheduler.h>

GAUTH_BEGIN_DECLS

/* The causes, in the order their fixes are needed (the root cause is the
 * first found in this order). Codes are stable: scripts match them. */
typedef enum gauth_doctor_cause {
  /* "ok": nothing wrong found; the summary says what was checked. */
  GAUTH_DOCTOR_OK = 0,
  /* "unknown": the evidence names no cause; the summary says what could not
   * be checked and why. */
  GAUTH_DOCTOR_UNKNOWN = 1,
  /* "clock_skew": this machine's clock and Google's (the Date header of its
   * replies) differ enough to break minting or verifying tokens. */
  GAUTH_DOCTOR_CLOCK_SKEW = 2,
  /* "service_account_not_found": the job's service account does not exist
   * or is disabled. */
  GAUTH_DOCTOR_SERVICE_ACCOUNT_NOT_FOUND = 3,
  /* "cannot_mint_token": the token cannot be minted for the service
   * account: Cloud Scheduler's service agent lacks
   * roles/cloudscheduler.serviceAgent (or getOpenIdToken / getAccessToken
   * on the account), or, for a call made from here, the caller lacks them. */
  GAUTH_DOCTOR_CANNOT_MINT_TOKEN = 4,
  /* "oidc_token_to_google_api": an OIDC ID token sent to a Google API
   * (Cloud Run Admin :run, any *.googleapis.com), which takes only OAuth
   * access tokens; no IAM change can fix it. */
  GAUTH_DOCTOR_OIDC_TOKEN_TO_GOOGLE_API = 5,
  /* "access_token_to_run_service": an OAuth access token sent to a Cloud
   * Run service (or function), which takes OIDC ID tokens. */
  GAUTH_DOCTOR_ACCESS_TOKEN_TO_RUN_SERVICE = 6,
  /* "no_token": no token for a target that needs one. */
  GAUTH_DOCTOR_NO_TOKEN = 7,
  /* "token_expired": a supplied token has expired. */
  GAUTH_DOCTOR_TOKEN_EXPIRED = 8,
  /* "audience_mismatch": the ID token's audience is not one the service
   * accepts (its uri, urls or custom audiences). */
  GAUTH_DOCTOR_AUDIENCE_MISMATCH = 9,
  /* "wrong_scope": an access token without a scope the API accepts. */
  GAUTH_DOCTOR_WRONG_SCOPE = 10,
  /* "target_not_found": the URL names no resource (wrong project, region,
   * job or service; a v1 path for a v2 name), or answers 404. */
  GAUTH_DOCTOR_TARGET_NOT_FOUND = 11,
  /* "missing_permission": the service account lacks the permission the
   * target checks (run.jobs.run, run.routes.invoke, ...). */
  GAUTH_DOCTOR_MISSING_PERMISSION = 12,
  /* "permission_not_propagated": the policy grants the permission, the
   * check does not yet (IAM propagation). */
  GAUTH_DOCTOR_PERMISSION_NOT_PROPAGATED = 13
} gauth_doctor_cause;

/* Google accepts tokens whose iat / exp are off by up to about five
 * minutes (its token endpoint and verifiers allow that much skew); a clock
 * further off than this, in seconds, breaks minting or verifying. */
#define GAUTH_DOCTOR_CLOCK_SKEW_MAX 300

/* The stable code of a cause ("oidc_token_to_google_api", ...). Never NULL;
 * static; "invalid" outside the enum. */
GAUTH_API const char *gauth_doctor_cause_code(gauth_doctor_cause cause);

/* What to diagnose. Initialise with GAUTH_DOCTOR_INPUT_INIT. Give a job
 * (read from the Cloud Scheduler API, a file, or built from flags; its
 * status, when it has one, is evidence of its last attempt), or a url and
 * a token that was sent there; and, optionally, a reply that was seen. */
#define GAUTH_DOCTOR_INPUT_VERSION 1u
typedef struct gauth_doctor_input {
  /* Must be GAUTH_DOCTOR_INPUT_VERSION (GAUTH_DOCTOR_INPUT_INIT sets it). */
  unsigned int version;
  /* The job: what it sends, where, and as which account. */
  const gauth_scheduler_job *job;
  /* Without a job: the URL that was called (http or https). */
  const char *url;
  /* A token that was sent (an ID token or an access token), checked instead
   * of the one the job would mint: its kind, expiry, audience or scopes.
   * Never copied into the diagnosis. */
  const char *token;
  /* 1: make one attempt of the job (gauth_scheduler_attempt_send()) and
   * read its reply. 0 (default): no request to the target at all. */
  int send;
  /* A reply already seen from the target (0: none): its status, its
   * WWW-Authenticate and Date headers, its body (len bytes). */
  int http_status;
  const char *www_authenticate;
  const char *date;
  const char *body;
  size_t body_len;
} gauth_doctor_input;

#define GAUTH_DOCTOR_INPUT_INIT \
  { GAUTH_DOCTOR_INPUT_VERSION, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, 0 }

typedef struct gauth_diagnosis gauth_diagnosis;

/* Diagnoses `in` as `caller`, the credentials that read Google's APIs
 * (the person's Application Default Credentials, usually; required).
 * opts NULL: the caller's options. GAUTH_OK with *out whatever the
 * diagnosis (ok, a cause, or unknown). Errors (then *out is NULL):
 * GAUTH_E_INVALID_ARG for NULL in / out / caller, a version the library
 * does not know, neither a job nor a url, a job that is not an HTTP
 * target; GAUTH_E_NOMEM. Failures to read an API are not errors: they make
 * checks UNKNOWN. Takes as long as its reads (a few seconds at most with
 * the options' timeouts) plus the attempt when `send` is set. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_doctor_diagnose(
    gauth_credentials *caller, const gauth_options *opts,
    const gauth_doctor_input *in, gauth_diagnosis **out, gauth_error *err);

GAUTH_API void gauth_diagnosis_free(gauth_diagnosis *d);

/* The root cause, and its one-sentence summary. */
GAUTH_API gauth_doctor_cause
gauth_diagnosis_root_cause(const gauth_diagnosis *d);
GAUTH_API const char *gauth_diagnosis_summary(const gauth_diagnosis *d);

/* Every cause found, root first: cause i (0 .. count-1), its sentence, and
 * its fix lines (j: 0 .. fix_count-1). Out of range: 0 / NULL. */
GAUTH_API size_t gauth_diagnosis_cause_count(const gauth_diagnosis *d);
GAUTH_API gauth_doctor_cause gauth_diagnosis_cause(const gauth_diagnosis *d,
                                                   size_t i);
GAUTH_API const char *gauth_diagnosis_cause_summary(const gauth_diagnosis *d,
                                                    size_t i);
GAUTH_API size_t gauth_diagnosis_fix_count(const gauth_diagnosis *d, size_t i);
GAUTH_API const char *gauth_diagnosis_fix(const gauth_diagnosis *d, size_t i,
                                          size_t j);

/* The checks made, in order: name ("target_kind", "token_type",
 * "service_account", "mint", "permission", "clock", ...), result, and
 * detail (what was read and what it showed, or why it could not be). */
typedef enum gauth_doctor_check_result {
  GAUTH_DOCTOR_CHECK_OK = 0,
  GAUTH_DOCTOR_CHECK_FAIL = 1,
  GAUTH_DOCTOR_CHECK_SKIPPED = 2, /* not needed for this input */
  GAUTH_DOCTOR_CHECK_UNKNOWN = 3  /* needed, but could not be made */
} gauth_doctor_check_result;

/* "ok", "fail", "skipped", "unknown"; "invalid" outside the enum. */
GAUTH_API const char *gauth_doctor_check_result_name(
    gauth_doctor_check_result r);

GAUTH_API size_t gauth_diagnosis_check_count(const gauth_diagnosis *d);
GAUTH_API const char *gauth_diagnosis_check_name(const gauth_diagnosis *d,
                                                 size_t i);
GAUTH_API gauth_doctor_check_result
gauth_diagnosis_check_result(const gauth_diagnosis *d, size_t i);
GAUTH_API const char *gauth_diagnosis_check_detail(const gauth_diagnosis *d,
                                                   size_t i);

/* The diagnosis as one JSON object: root_cause (code), summary, fix (the
 * root cause's lines), causes ([{code, summary, fix}], root first), checks
 * ([{name, result, detail}]). Free with gauth_free(). NULL when out of
 * memory. */
GAUTH_API char *gauth_diagnosis_to_json(const gauth_diagnosis *d);

GAUTH_END_DECLS

#endif /* GAUTH_DOCTOR_H */
