/* gauth-emulator: Google's auth plane on loopback. Internal contract between
 * the server core (server.c, world.c, control.c, main.c) and the route files
 * (routes_*.c). Not installed; uses libgauth's public API only (plus cJSON
 * and libmicrohttpd).
 *
 * THREADS: libmicrohttpd calls handlers from several threads. Every emu_*
 * function below is thread-safe (the world is guarded by one mutex); route
 * handlers keep no state of their own. */
#ifndef GAUTH_EMULATOR_H
#define GAUTH_EMULATOR_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

#include "mdtree.h"

typedef struct emu emu;

/* ---- requests and responses ---------------------------------------------- */

typedef struct emu_request {
  const char *method; /* "GET", "POST", ... */
  const char *path;   /* URL path, percent-decoded by libmicrohttpd */
  const char *body;   /* NUL-terminated; "" when none */
  size_t body_len;
  void *conn; /* internal (struct MHD_Connection *) */
} emu_request;

/* A request header (case-insensitive name), or NULL. Borrowed. */
const char *emu_req_header(const emu_request *req, const char *name);
/* A query parameter, decoded, or NULL. Borrowed. */
const char *emu_req_query(const emu_request *req, const char *name);
/* A form field of an application/x-www-form-urlencoded body (content type
 * with or without parameters such as ";charset=UTF-8"), decoded, or NULL.
 * The caller frees the result with free(). Any field order. */
char *emu_req_form(const emu_request *req, const char *name);
/* The body parsed as a JSON object, or NULL when it is not one. The caller
 * frees the result with cJSON_Delete(). */
cJSON *emu_req_json(const emu_request *req);

#define EMU_MAX_HEADERS 8

typedef struct emu_response {
  int status; /* 0: not handled (try the next route) */
  char *body; /* malloc'd; freed by the core */
  size_t body_len;
  const char *content_type; /* static string; NULL: application/json */
  const char *header_names[EMU_MAX_HEADERS]; /* static strings */
  char *header_values[EMU_MAX_HEADERS];      /* malloc'd; freed by core */
  size_t header_count;
  /* Who made the request, for the one-line request log ("-" if unknown):
   * an email, never a token. */
  char principal[256];
} emu_response;

/* Sets a JSON reply (takes ownership of body; NULL: {}). */
void emu_reply_json(emu_response *r, int status, cJSON *body);
/* Sets a text reply with the given content type. */
void emu_reply_text(emu_response *r, int status, const char *content_type,
                    const char *text);
/* Error replies: see "Google's error replies" below. */
/* Decodes base64url or standard base64, with or without '=' padding, as
 * Google's endpoints accept (the token endpoint, proto3 JSON bytes). The
 * result is malloc'd and NUL-terminated; NULL when invalid. (server.c) */
unsigned char *emu_b64_decode_lenient(const char *in, size_t len,
                                      size_t *out_len);
/* Formats 16 bytes as a version-4 UUID ("xxxxxxxx-xxxx-4xxx-yxxx-..."),
 * setting its version and variant bits first. (server.c) */
void emu_uuid_format(unsigned char r[16], char out[37]);
/* Adds a header (the value is copied). */
void emu_reply_header(emu_response *r, const char *name, const char *value);

/* A route file's entry point: handles the request and returns 1, or returns
 * 0 (leaving resp untouched) when the path is not its. */
typedef int (*emu_route_fn)(emu *e, const emu_request *req, emu_response *resp);

/* The route files of the Google API front end (tried in this order after
 * the control API). emu_route_run is the Cloud Run Admin API's. */
int emu_route_metadata(emu *e, const emu_request *req, emu_response *resp);
int emu_route_oauth(emu *e, const emu_request *req, emu_response *resp);
int emu_route_iam(emu *e, const emu_request *req, emu_response *resp);
int emu_route_run(emu *e, const emu_request *req, emu_response *resp);
int emu_route_sts(emu *e, const emu_request *req, emu_response *resp);
/* The Cloud Run front end's only route (routes_run.c): the services at
 * /services/NAME[/...], and Cloud Run's HTML 404 for any other path. */
int emu_route_run_service(emu *e, const emu_request *req, emu_response *resp);
int emu_route_scheduler(emu *e, const emu_request *req, emu_response *resp);
/* IAP's key set at /iap/verify/public_key-jwk (routes_iap.c). */
int emu_route_iap(emu *e, const emu_request *req, emu_response *resp);

/* ---- the world ---------------------------------------------------------- */

/* "http://127.0.0.1:PORT" (no trailing slash): the Google APIs. */
const char *emu_base_url(const emu *e);
/* "http://127.0.0.1:RUNPORT" (no trailing slash): the Cloud Run front end,
 * the origin of the services, apart from the Google APIs as *.run.app is
 * from *.googleapis.com. */
const char *emu_run_base_url(const emu *e);
/* The emulator's clock: Unix seconds, plus the control API's offset. */
int64_t emu_now(emu *e);

const char *emu_project_id(const emu *e);     /* "demo-project" */
const char *emu_project_number(const emu *e); /* "123456789012" */
const char *emu_region(const emu *e);         /* "us-central1" */
const char *emu_zone(const emu *e);           /* "us-central1-a" */
/* The metadata server's default account (runner@...). */
const char *emu_metadata_account(const emu *e);

/* A known service account (borrowed; accounts live as long as e), or NULL. */
typedef struct emu_account {
  const char *email;
  const char *unique_id;           /* numeric string, the ID token's sub */
  const gauth_keyset *public_keys; /* its registered public keys */
  /* Google-held key of the account (what IAM signBlob / signJwt sign with),
   * kid = private_key_id. For the invoker it is also the key that
   * --key-file writes, and its public part is in public_keys. */
  const gauth_key *private_key;
  const char *private_key_id;
} emu_account;
const emu_account *emu_account_find(emu *e, const char *email);
/* 1 when the account is disabled (IAM's serviceAccounts.disable, or
 * "disabled": true in the config): it gets no token and signs nothing. */
int emu_account_disabled(emu *e, const char *email);
/* Disables (1) or enables (0) the account; -1 when there is none. */
int emu_account_set_disabled(emu *e, const char *email, int disabled);

/* A configured end user for the refresh-token grant, or NULL. */
typedef struct emu_user {
  const char *email;
  const char *client_id;
  const char *client_secret;
  const char *refresh_token;
} emu_user;
const emu_user *emu_user_find_by_refresh_token(emu *e, const char *token);

/* Cloud Run resources: 1 when projects/P/locations/L/services/N (or jobs/N)
 * exists. */
int emu_run_service_exists(emu *e, const char *name);
int emu_run_job_exists(emu *e, const char *name);
/* The URL of a service by short name: RUNBASE/services/NAME (RUNBASE:
 * emu_run_base_url), its expected ID-token audience. Free with free(). */
char *emu_service_url(emu *e, const char *short_name);

/* ---- tokens ------------------------------------------------------------- */

/* The ID-token signing keys: a JWKS / PEM-map-ready set of the current and
 * the previous key (reference; gauth_keyset_free). */
gauth_keyset *emu_signing_keys(emu *e);

/* Google's v1 certificate map of the same keys, as JSON text:
 * {"KID":"-----BEGIN CERTIFICATE-----\n..."} (self-signed X.509
 * certificates). Free with free(). NULL on failure. */
char *emu_signing_certs_json(emu *e);
/* The Cache-Control max-age, in seconds, that the key-set routes send. */
long emu_signing_keys_max_age(emu *e);

/* A Google-shaped ID token, RS256, signed with the current key:
 * iss https://accounts.google.com, aud, azp = the account's unique_id, sub
 * = unique_id, iat now, exp now + 3600, and email / email_verified when
 * include_email. Free with gauth_free(). NULL on failure. */
char *emu_mint_id_token(emu *e, const char *email, const char *audience,
                        int include_email);

/* An opaque access token ("ya29.emu..."), remembered with its principal
 * (an email), scopes (space-separated) and expiry (now + lifetime). Free
 * with free(). */
char *emu_mint_access_token(emu *e, const char *email, const char *scopes,
                            int64_t lifetime);

/* What the Authorization header of a request carries. */
typedef enum emu_bearer_kind {
  EMU_BEARER_NONE = 0,   /* no / not a Bearer header */
  EMU_BEARER_ACCESS = 1, /* a valid access token of ours */
  EMU_BEARER_ACCESS_EXPIRED = 2,
  EMU_BEARER_ID_TOKEN = 3, /* a JWT (any: the caller verifies it) */
  EMU_BEARER_UNKNOWN = 4   /* anything else */
} emu_bearer_kind;

typedef struct emu_bearer {
  emu_bearer_kind kind;
  char email[256];   /* ACCESS: its principal */
  char scopes[1024]; /* ACCESS: space-separated */
  const char *token; /* borrowed from the request */
} emu_bearer;
void emu_bearer_of(emu *e, const emu_request *req, emu_bearer *out);
/* An access token of ours (expired or not): 1 with its principal, scopes
 * (space-separated) and expiry (emulator clock); 0 when unknown. */
int emu_access_token_info(emu *e, const char *token, char *email,
                          size_t email_len, char *scopes, size_t scopes_len,
                          int64_t *exp);
/* 1 when the space-separated scopes hold one of the given (NULL-ended). */
int emu_scopes_have(const char *scopes, const char *const *any);

/* ---- Google's error replies (google_errors.c) ------------------------- */

/* Google's error shape: {"error":{"code":C,"message":M,"status":S}}. */
void emu_reply_google_error(emu_response *r, int code, const char *status,
                            const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The "status" Google's front ends give a code (503: "UNAVAILABLE"). */
const char *emu_google_status(int code);
/* OAuth's error shape: {"error":E,"error_description":D}. */
void emu_reply_oauth_error(emu_response *r, int code, const char *error,
                           const char *description);
/* OAuth's 400 invalid_request "Missing required parameter: NAME". */
void emu_reply_oauth_missing(emu_response *r, const char *parameter);
/* Google's 405 METHOD_NOT_ALLOWED "Method Not Allowed". */
void emu_reply_method_not_allowed(emu_response *r);

/* What a Google API asks of the caller's OAuth access token, and how it
 * words the 403 for a token without the scope. */
typedef struct emu_token_need {
  const char *const *scopes; /* one of these (NULL-ended) */
  int scope_error_info;      /* the 403 carries an ErrorInfo, reason
                                ACCESS_TOKEN_SCOPE_INSUFFICIENT (IAM) */
  const char *scope_hint;    /* the 403's WWW-Authenticate names this
                                scope (Cloud Run Admin), or NULL */
} emu_token_need;
/* The caller's access token, with the scope the API needs: 1, with *b and
 * the request log's principal set. Otherwise replies as Google's APIs do
 * (401 UNAUTHENTICATED for no token, or one that is not an access token of
 * ours, an ID token among them; 403 PERMISSION_DENIED for a token without
 * the scope) and returns 0. */
int emu_require_access_token(emu *e, const emu_request *req, emu_response *resp,
                             const emu_token_need *need, emu_bearer *b);

/* 403 PERMISSION_DENIED for a missing permission, as IAM Credentials words
 * it ("Permission 'P' denied on resource (or it may not exist).", an
 * ErrorInfo IAM_PERMISSION_DENIED naming P). */
void emu_reply_iam_permission_denied(emu_response *r, const char *permission);
/* ... and as Cloud Run's Admin API words it ("Permission 'P' denied on
 * resource 'R' (or resource may not exist)."). */
void emu_reply_run_permission_denied(emu_response *r, const char *permission,
                                     const char *resource);
/* Cloud Run's 404 NOT_FOUND: "Resource 'NAME' of kind 'KIND' in region
 * 'REGION' in project 'PROJECT' does not exist." (KIND: JOB, SERVICE). */
void emu_reply_run_not_found(emu_response *r, const char *kind,
                             const char *name, const char *region,
                             const char *project);

/* ---- IAM policy ---------------------------------------------------------- */

/* 1 when member ("serviceAccount:EMAIL" or "user:EMAIL") holds permission
 * on resource (a full resource name, e.g. "projects/demo-project",
 * ".../jobs/collect", "projects/demo-project/serviceAccounts/EMAIL"), taking
 * only bindings whose propagation delay has passed. Bindings on
 * "projects/P" apply to every resource under it. */
int emu_has_permission(emu *e, const char *resource, const char *member,
                       const char *permission);

/* A trusted external issuer for STS token exchange (from the config's
 * "external_issuers"), or NULL. The default world has none. */
typedef struct emu_external_issuer {
  const char *issuer;          /* the subject token's iss */
  const char *audience;        /* the STS "audience" parameter it serves:
                                  //iam.googleapis.com/projects/N/... */
  const gauth_keyset *keys;    /* verifies its subject tokens */
  const char *service_account; /* impersonated by default, or NULL */
} emu_external_issuer;
const emu_external_issuer *emu_external_issuer_find(emu *e, const char *issuer);

/* The federated principal of a subject of a workload identity provider
 * (audience //iam.googleapis.com/projects/N/locations/global/
 * workloadIdentityPools/POOL/providers/P): principal://iam.googleapis.com/
 * projects/N/locations/global/workloadIdentityPools/POOL/subject/SUB. 0 when
 * the audience is not a provider's or out is too small. (routes_sts.c) */
int emu_sts_principal(const char *audience, const char *sub, char *out,
                      size_t n);

/* The IAM member for an email: "serviceAccount:EMAIL" for an account of the
 * world, "user:EMAIL" otherwise; a federated principal ("principal://...",
 * from STS) as it is. (world.c) */
void emu_member_of(emu *e, const char *email, char *out, size_t n);

/* ---- AWS: the other side of workload identity federation ------------------
 * (aws.c: the config's "aws" member, access keys, IMDSv2 tokens;
 * routes_aws_imds.c: EC2's instance metadata service; aws_sigv4.c and
 * sts_aws.c: STS's check of an aws4_request subject token.) */

typedef struct emu_aws emu_aws;

typedef struct emu_aws_info {
  const char *account_id;      /* 12 digits */
  const char *role_name;       /* the instance profile's role */
  const char *region;          /* us-east-2 */
  const char *audience;        /* the workload identity provider's */
  const char *service_account; /* impersonated by default, or NULL */
  const char *instance_id;     /* the role session of the instance's keys */
  const char *user_name;       /* the IAM user of the long-term key */
  int64_t lifetime;            /* of the instance's temporary keys, s */
  int imdsv2_required;         /* token-less metadata GETs get 401 */
} emu_aws_info;

/* An access key AWS knows. SECRETS: secret_access_key and session_token;
 * whoever copies one out wipes it (OPENSSL_cleanse) when done. */
typedef struct emu_aws_creds {
  char access_key_id[132];
  char secret_access_key[132];
  char session_token[1504]; /* "" for a long-term key */
  char arn[300];            /* the caller GetCallerIdentity would name */
  int temporary;            /* needs its session token on every request */
  int64_t issued;           /* emulator clock */
  int64_t expires;          /* emulator clock; 0: never */
} emu_aws_creds;

/* Parses the config's "aws" member: NULL with a message when it is wrong.
 * (aws.c) */
emu_aws *emu_aws_from_config(const cJSON *v, char *errbuf, size_t errlen);
void emu_aws_free(emu_aws *a);
/* The world's AWS side, or NULL when the config has no "aws". (world.c) */
emu_aws *emu_aws_of(emu *e);
const emu_aws_info *emu_aws_info_of(const emu_aws *a);
/* A new IMDSv2 session token valid for ttl seconds from now (free()), or
 * NULL on a failure of the random source. */
char *emu_aws_imds_token_new(emu_aws *a, int64_t now, int64_t ttl);
/* 1 when token is one of ours and not expired at now. */
int emu_aws_imds_token_valid(emu_aws *a, const char *token, int64_t now);
/* The instance role's temporary credentials at now (a new set when there is
 * none, or the current one is within 5 minutes of its expiry): 0, or -1 on
 * a failure of the random source. */
int emu_aws_role_credentials(emu_aws *a, int64_t now, emu_aws_creds *out);
/* The key named access_key_id (the config's or one the instance had, expired
 * or not): 1 and *out, or 0 when AWS does not know it. */
int emu_aws_key_find(emu_aws *a, const char *access_key_id, emu_aws_creds *out);

/* EC2's instance metadata service at /latest/... (routes_aws_imds.c). */
int emu_route_aws_imds(emu *e, const emu_request *req, emu_response *resp);

/* STS's check of an AWS subject token (subject_token_type
 * urn:ietf:params:aws:token-type:aws4_request, URL-encoded JSON of a signed
 * GetCallerIdentity request): 1 with the federated principal
 * (principal://iam.googleapis.com/projects/N/locations/global/
 * workloadIdentityPools/POOL/subject/ARN) in principal; otherwise 0 with
 * Google's 400 in resp. (sts_aws.c) */
int emu_sts_aws_subject(emu *e, const char *audience, const char *subject_token,
                        char *principal, size_t n, emu_response *resp);

/* AWS Signature Version 4, the verifying side (aws_sigv4.c). */
typedef struct emu_sigv4_header {
  const char *name; /* any case */
  const char *value;
} emu_sigv4_header;
/* The parts of an Authorization header "AWS4-HMAC-SHA256 Credential=AKID/
 * DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=HEX". */
typedef struct emu_sigv4_auth {
  char access_key_id[132];
  char date[16], region[64], service[64], terminator[32];
  char signed_headers[512]; /* "a;b;c" as given */
  char signature[72];       /* 64 hex digits */
} emu_sigv4_auth;
/* 0, or -1 with what is wrong in why (AWS's wording). */
int emu_sigv4_parse_auth(const char *header, emu_sigv4_auth *out, char *why,
                         size_t whylen);
/* The signature (64 lowercase hex digits + NUL) of a request: method, the
 * canonical URI ("/"), the query string as sent (its pairs are sorted
 * here), the headers (those named in signed_headers are taken, lowercased,
 * trimmed), the body's SHA-256 in hex, x-amz-date, the scope's date, region
 * and service, and the secret. -1 when a signed header is missing (why). */
int emu_sigv4_signature(const char *method, const char *uri, const char *query,
                        const emu_sigv4_header *headers, size_t nheaders,
                        const char *signed_headers, const char *payload_hash,
                        const char *amz_date, const char *date,
                        const char *region, const char *service,
                        const char *secret, char out[65], char *why,
                        size_t whylen);

/* ---- counters ------------------------------------------------------------ */

/* Counts one execution of a job (full name) and returns the execution's
 * number (1, 2, ...). */
unsigned long emu_count_execution(emu *e, const char *job);

/* ---- the resources' reads (routes_resources.c; world.c) ----------------- */

/* What Cloud Run Admin v2, IAM and Resource Manager report of the world.
 * Cloud Run resources, accounts and roles are fixed after start-up; their
 * lists are read without the lock. */

int emu_route_resources(emu *e, const emu_request *req, emu_response *resp);

/* When the world was built (Unix seconds): its resources' createTime. */
int64_t emu_world_created(const emu *e);
/* The Cloud Run services and jobs, by index (full names), in config order;
 * NULL past the end. */
size_t emu_run_service_count(const emu *e);
const char *emu_run_service_at(const emu *e, size_t i);
size_t emu_run_job_count(const emu *e);
const char *emu_run_job_at(const emu *e, size_t i);
/* A service's (full name) custom audiences, NULL-ended and borrowed, or
 * NULL when it has none. */
const char *const *emu_service_custom_audiences(emu *e, const char *name);
/* A service's runtime service account (the config's, or the metadata
 * account). Borrowed. */
const char *emu_service_account_of(emu *e, const char *name);
/* The service's second URL: emu_service_url with host "localhost" instead
 * of 127.0.0.1 (the service accepts both as audience). Free with free(). */
char *emu_service_url_alt(emu *e, const char *short_name);
/* How many times a job (full name) was run (emu_count_execution). */
unsigned long emu_execution_count(emu *e, const char *job);
/* The latest execution of a job: recorded by :run, read by jobs.get (1 and
 * its full name and creation time, or 0 before the first run). */
void emu_job_set_latest_execution(emu *e, const char *job,
                                  const char *execution, int64_t created);
int emu_job_latest_execution(emu *e, const char *job, char *name, size_t n,
                             int64_t *created);
/* The service accounts, by index (borrowed). */
size_t emu_account_count(const emu *e);
const emu_account *emu_account_at(const emu *e, size_t i);
/* 1 when the role (roles/... or projects/P/roles/...) is defined. */
int emu_role_exists(emu *e, const char *role);
/* A role's permissions, sorted (roles/owner: every permission of the
 * world's roles), or NULL for an unknown role. cJSON_Delete it. */
cJSON *emu_role_included_permissions(emu *e, const char *role);

/* The IAM propagation delay setIamPolicy changes wait (seconds; config
 * "iam_propagation_seconds", control API /emulator/v1/iam-propagation). */
int64_t emu_iam_propagation(emu *e);
void emu_set_iam_propagation(emu *e, int64_t seconds);
/* Google's Policy JSON of one resource: {"version":1,"etag":E,"bindings":
 * [{"role","members"}]} with the bindings on exactly that resource (none
 * inherited), changes shown at once even before they take effect. The
 * etag changes with every change to the resource's policy. */
cJSON *emu_policy_of(emu *e, const char *resource);
/* setIamPolicy: makes the resource's bindings those of `bindings` (an
 * array of {"role": a known role, "members": [strings]}, validated by the
 * caller); each addition and removal takes effect after the propagation
 * delay. etag NULL or "": no check. Returns 0 and the new policy in *out,
 * or -1 when etag is not the current one (nothing changed). */
int emu_policy_set(emu *e, const char *resource, const cJSON *bindings,
                   const char *etag, cJSON **out);

/* ---- the core only (main.c, server.c, world.c, control.c) --------------- */

/* Builds the world: the default one, or the one config_path (JSON, see
 * docs/emulator.md) describes. base_url is "http://HOST:PORT" (the Google
 * APIs), run_base_url "http://HOST:RUNPORT" (the Cloud Run front end). On
 * failure returns NULL with a message in errbuf. */
emu *emu_world_new(const char *base_url, const char *run_base_url,
                   const char *config_path, char *errbuf, size_t errlen);
/* The services: [{"name": full name, "url": its URL}] (no "url" for a
 * service outside the world's project and region: none is served). */
cJSON *emu_services_json(emu *e);
void emu_world_free(emu *e);
/* Writes the invoker's service-account key file (mode 0600). 0 on success,
 * -1 with a message in errbuf. */
int emu_write_key_file(emu *e, const char *path, char *errbuf, size_t errlen);
/* The account whose key --key-file writes (scheduler@...). */
const char *emu_invoker_account(const emu *e);

/* Policy changes (control API). delay: seconds before the change takes
 * effect. Return 0, or -1 (unknown role; remove: no such binding). */
int emu_policy_add(emu *e, const char *resource, const char *role,
                   const char *member, int64_t delay);
int emu_policy_remove(emu *e, const char *resource, const char *role,
                      const char *member, int64_t delay);
/* The bindings, with when each takes effect / stops. */
cJSON *emu_policy_json(emu *e);

/* Makes a new ID-token signing key current; the previous stays published,
 * the one before it is dropped. 0, or -1 on a crypto failure. */
int emu_rotate_signing_keys(emu *e);
/* The kid of the current signing key (copied into buf). */
void emu_current_kid(emu *e, char *buf, size_t n);

void emu_set_clock_offset(emu *e, int64_t offset);
int64_t emu_clock_offset(emu *e);

/* Faults (control API), applied by the server before dispatch. */
typedef enum emu_fault_kind {
  EMU_FAULT_STATUS = 0,       /* reply status + body (+ Retry-After) */
  EMU_FAULT_DELAY = 1,        /* wait delay_ms, then answer normally */
  EMU_FAULT_RESET = 2,        /* close the connection without a reply */
  EMU_FAULT_TRUNCATE = 3,     /* the real reply, cut half-way, then close */
  EMU_FAULT_INVALID_JSON = 4, /* status (200) + a body that is not JSON */
  EMU_FAULT_OVERSIZED = 5     /* status (200) + a body of `bytes` bytes */
} emu_fault_kind;

typedef struct emu_fault {
  char route[256]; /* path prefix it applies to */
  emu_fault_kind kind;
  int status;
  char body[1024];
  char retry_after[32];  /* "" : no header */
  unsigned int delay_ms; /* any kind: wait this long first */
  size_t bytes;          /* OVERSIZED */
  long remaining;        /* requests left; < 0: unlimited */
  double fraction;       /* probability per request (0 < f <= 1) */
} emu_fault;

/* Adds or replaces (same route) a fault. */
void emu_fault_set(emu *e, const emu_fault *f);
/* Clears the fault of one route (NULL: all). Returns how many went. */
int emu_fault_clear(emu *e, const char *route);
/* 1 when a fault applies to this request path (copied into *out and
 * counted), else 0. */
int emu_fault_take(emu *e, const char *path, emu_fault *out);
cJSON *emu_faults_json(emu *e);
const char *emu_fault_kind_name(emu_fault_kind k);

/* Counts a request, and logs it (bounded ring). */
void emu_record_request(emu *e, const char *method, const char *path,
                        int status, const char *principal);
cJSON *emu_counters_json(emu *e);
cJSON *emu_request_log_json(emu *e);
void emu_counters_reset(emu *e);

/* The control API (/emulator/v1/...). */
int emu_route_control(emu *e, const emu_request *req, emu_response *resp);
/* 1 when the request came from a loopback address. */
int emu_req_is_loopback(const emu_request *req);
/* The HTTP server (server.c): serves e on listen_fd, an IPv4 socket
 * already bound and listening (so that the port, the URL and the key file
 * are known before any request is accepted). NULL on failure. Both front
 * ends share the world, its faults (keyed by path), counters and request
 * log. */
typedef struct emu_server emu_server;
typedef enum emu_front {
  EMU_FRONT_API = 0, /* the control API and the Google API routes */
  EMU_FRONT_RUN = 1  /* Cloud Run services only (emu_route_run_service) */
} emu_front;
emu_server *emu_server_start(emu *e, int listen_fd, emu_front front);
/* Stops serving: wakes delayed replies, closes connections, waits for
 * handler threads. */
void emu_server_stop(emu_server *s);

/* Waits ms milliseconds, or less when the server stops. */
void emu_sleep_ms(emu *e, unsigned int ms);
/* Wakes every emu_sleep_ms (at shutdown). */
void emu_wake_all(emu *e);

/* ---- the metadata server (routes_metadata.c; world.c) -------------------- */

/* Concurrent wait_for_change requests: the default, and the most the config's
 * "metadata_max_waiters" may ask (each waiter holds a connection thread). */
#define EMU_MD_MAX_WAITERS_DEFAULT 1024
#define EMU_MD_MAX_WAITERS_LIMIT 16384

/* The metadata server's document (mdtree.h), built at start from the world
 * (project, zone, region, the metadata account) and the config's
 * attributes; changed by the control API. Fixed pointer; the tree locks
 * itself. (world.c) */
mdtree *emu_metadata_tree(emu *e);
/* 1 when the config's "metadata_platform" is "cloud_run". (world.c) */
int emu_metadata_cloud_run(const emu *e);
/* The config's "metadata_max_waiters" (EMU_MD_MAX_WAITERS_DEFAULT).
 * (world.c) */
size_t emu_metadata_max_waiters(const emu *e);
/* The document a VM's (or, with cloud_run, a Cloud Run instance's) metadata
 * server holds for the world, without attributes. (routes_metadata.c) */
cJSON *emu_metadata_document(emu *e);
/* Control API GET / POST /emulator/v1/metadata (routes_metadata.c). body
 * NULL: GET. */
void emu_metadata_control(emu *e, const cJSON *body, emu_response *resp);

/* ---- Cloud Scheduler (routes_scheduler.c) ------------------------------- */

/* The Cloud Scheduler service: its jobs, its log and the thread that runs
 * the jobs on the emulator's clock. */
typedef struct emu_scheduler emu_scheduler;
/* Starts the service for e (and hangs it on e: emu_scheduler_of). NULL on
 * failure. */
emu_scheduler *emu_scheduler_start(emu *e);
/* Stops the thread (an attempt under way is aborted) and frees the
 * service. Call after emu_server_stop, before emu_world_free. NULL: no-op. */
void emu_scheduler_stop(emu_scheduler *s);
/* Wakes the thread (a clock change: due jobs fire at once). */
void emu_scheduler_wake(emu *e);
/* The attempt log entries, oldest first, of one job (its full name or its
 * id; NULL: all). */
cJSON *emu_scheduler_logs_json(emu *e, const char *job);
/* The service hung on e, or NULL; set by emu_scheduler_start. (world.c) */
emu_scheduler *emu_scheduler_of(emu *e);
void emu_set_scheduler(emu *e, emu_scheduler *s);
/* The Cloud Scheduler service agent of the project:
 * service-PROJECT_NUMBER@gcp-sa-cloudscheduler.iam.gserviceaccount.com, an
 * account of every world, holding roles/cloudscheduler.serviceAgent on the
 * project. (world.c) */
const char *emu_scheduler_agent(const emu *e);

/* ---- Identity-Aware Proxy (routes_iap.c) ----------------------------------
 */

/* IAP's ES256 signing key and its published key set. */
typedef struct emu_iap emu_iap;
/* A fresh key (NULL on a crypto failure); emu_world_new makes one. */
emu_iap *emu_iap_new(void);
void emu_iap_free(emu_iap *iap);
/* The world's (world.c). */
emu_iap *emu_iap_of(emu *e);
/* Control API POST /emulator/v1/iap/assertion: body {"email", "audience",
 * "lifetime_seconds" (600), "hd", "access_levels"} -> {"assertion", "kid"},
 * the JWT IAP would put in x-goog-iap-jwt-assertion. */
void emu_iap_assertion(emu *e, const cJSON *body, emu_response *resp);

#endif /* GAUTH_EMULATOR_H */
