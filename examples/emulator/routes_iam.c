/* gauth-emulator: IAM Credentials (generateAccessToken, generateIdToken,
 * signBlob, signJwt on /v1/projects/-/serviceAccounts/EMAIL:ACTION), the
 * accounts' public keys (/service_accounts/v1/metadata/jwk/EMAIL) and
 * testIamPermissions (Resource Manager v1 / v3 projects, Cloud Run v2 jobs
 * and services, IAM v1 service accounts).
 *
 * Both take an OAuth access token, as Google's APIs do: an ID token gets
 * the 401 Google gives it, and that 401 is what people meet when they send
 * a Cloud Run ID token to a Google API. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* gmtime_r, strdup */
#endif

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "emulator.h"

#define SCOPE_CLOUD_RO \
  "https://www.googleapis.com/auth/cloud-platform.read-only"
#define SCOPE_IAM "https://www.googleapis.com/auth/iam"

/* The scopes IAM asks of an access token; a 403 for a token without them
 * carries an ErrorInfo. */
static const char *const credentials_scopes[] = {GAUTH_SCOPE_CLOUD_PLATFORM,
                                                 SCOPE_IAM, NULL};
static const emu_token_need credentials_need = {credentials_scopes, 1, NULL};
static const char *const test_scopes[] = {GAUTH_SCOPE_CLOUD_PLATFORM,
                                          SCOPE_CLOUD_RO, NULL};
static const emu_token_need test_need = {test_scopes, 1, NULL};

static void reply_internal(emu_response *resp) {
  emu_reply_google_error(resp, 500, "INTERNAL", "Internal error.");
}

/* ---- IAM Credentials ---------------------------------------------------- */

/* projects/P/serviceAccounts/EMAIL, with P the account's own project (from
 * NAME@P.iam.gserviceaccount.com) when the request says "-". */
static void sa_resource(emu *e, const char *project, const char *email,
                        char *out, size_t n) {
  char p[128];
  const char *at = strchr(email, '@');
  const char *dot = at ? strstr(at, ".iam.gserviceaccount.com") : NULL;
  if (strcmp(project, "-") != 0)
    snprintf(p, sizeof p, "%s", project);
  else if (dot != NULL && (size_t)(dot - at - 1) < sizeof p)
    snprintf(p, sizeof p, "%.*s", (int)(dot - at - 1), at + 1);
  else
    snprintf(p, sizeof p, "%s", emu_project_id(e));
  snprintf(out, n, "projects/%s/serviceAccounts/%s", p, email);
}

static void reply_sa_not_found(emu_response *resp, const char *email) {
  emu_reply_google_error(resp, 404, "NOT_FOUND",
                         "Not found; Gaia id not found for email %s", email);
}

/* A delegate "projects/-/serviceAccounts/EMAIL" (or a bare email) -> the
 * email, or NULL. */
static const char *delegate_email(const cJSON *d) {
  if (!cJSON_IsString(d)) return NULL;
  const char *s = d->valuestring;
  const char *p = strstr(s, "/serviceAccounts/");
  if (strncmp(s, "projects/", 9) == 0 && p != NULL)
    s = p + strlen("/serviceAccounts/");
  return strchr(s, '@') != NULL && strchr(s, '/') == NULL ? s : NULL;
}

/* Walks caller -> delegates[0] -> ... -> target: every hop but the last
 * needs iam.serviceAccounts.getAccessToken on the next account, the last
 * one the action's permission (IAM Credentials' delegation rules). Replies
 * and returns 0 on the first refusal. */
static int check_chain(emu *e, emu_response *resp, const char *caller,
                       const char *project, const cJSON *delegates,
                       const char *target, const char *permission) {
  char member[300], resource[400];
  emu_member_of(e, caller, member, sizeof member);
  int n = cJSON_IsArray(delegates) ? cJSON_GetArraySize(delegates) : 0;
  if (delegates != NULL && !cJSON_IsArray(delegates)) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value at 'delegates'");
    return 0;
  }
  for (int i = 0; i <= n; i++) {
    const char *next = target;
    const char *perm = permission;
    if (i < n) {
      next = delegate_email(cJSON_GetArrayItem(delegates, i));
      perm = "iam.serviceAccounts.getAccessToken";
      if (next == NULL) {
        emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                               "Invalid form of delegates[%d]: expected "
                               "projects/-/serviceAccounts/EMAIL",
                               i);
        return 0;
      }
      if (emu_account_find(e, next) == NULL) {
        reply_sa_not_found(resp, next);
        return 0;
      }
    }
    sa_resource(e, i < n ? "-" : project, next, resource, sizeof resource);
    if (!emu_has_permission(e, resource, member, perm)) {
      emu_reply_iam_permission_denied(resp, perm);
      return 0;
    }
    snprintf(member, sizeof member, "serviceAccount:%s", next);
  }
  return 1;
}

/* "3600s" / "3600.5s" -> seconds; -1 when malformed. */
static int64_t parse_duration(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || strcmp(end, "s") != 0 || !isfinite(v) || v < 0 || v > 1e9)
    return -1;
  return (int64_t)v;
}

static void rfc3339(int64_t t, char *out, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void generate_access_token(emu *e, const cJSON *body,
                                  const emu_account *acct, emu_response *resp) {
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive(body, "scope");
  const cJSON *life = cJSON_GetObjectItemCaseSensitive(body, "lifetime");
  char scopes[1024] = "";
  size_t used = 0;
  const cJSON *s;
  const cJSON *list = cJSON_IsArray(scope) ? scope : NULL;
  cJSON_ArrayForEach(s, list) {
    if (!cJSON_IsString(s) || s->valuestring[0] == '\0') {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Invalid value at 'scope'");
      return;
    }
    int w = snprintf(scopes + used, sizeof scopes - used, "%s%s",
                     used ? " " : "", s->valuestring);
    if (w < 0 || (size_t)w >= sizeof scopes - used) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT", "Too many scopes.");
      return;
    }
    used += (size_t)w;
  }
  if (used == 0) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT", "Scope required.");
    return;
  }
  int64_t lifetime = 3600;
  if (life != NULL) {
    lifetime = cJSON_IsString(life) ? parse_duration(life->valuestring) : -1;
    if (lifetime < 0) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Invalid value at 'lifetime' "
                             "(type.googleapis.com/google.protobuf."
                             "Duration), Field 'lifetime', Illegal duration "
                             "format; duration must end with 's'");
      return;
    }
    /* Longer needs the organisation policy constraint
     * iam.allowServiceAccountCredentialLifetimeExtension, which the
     * emulator's worlds do not have. */
    if (lifetime < 1 || lifetime > 3600) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "The lifetime must be between 1s and 3600s.");
      return;
    }
  }
  char *token = emu_mint_access_token(e, acct->email, scopes, lifetime);
  if (token == NULL) {
    reply_internal(resp);
    return;
  }
  char when[40];
  rfc3339(emu_now(e) + lifetime, when, sizeof when);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "accessToken", token);
  cJSON_AddStringToObject(o, "expireTime", when);
  OPENSSL_cleanse(token, strlen(token));
  free(token);
  emu_reply_json(resp, 200, o);
}

static void generate_id_token(emu *e, const cJSON *body,
                              const emu_account *acct, emu_response *resp) {
  const cJSON *aud = cJSON_GetObjectItemCaseSensitive(body, "audience");
  const cJSON *inc = cJSON_GetObjectItemCaseSensitive(body, "includeEmail");
  if (!cJSON_IsString(aud) || aud->valuestring[0] == '\0') {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value for audience: must not be empty.");
    return;
  }
  if (inc != NULL && !cJSON_IsBool(inc)) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value at 'include_email' (TYPE_BOOL)");
    return;
  }
  char *token =
      emu_mint_id_token(e, acct->email, aud->valuestring, cJSON_IsTrue(inc));
  if (token == NULL) {
    reply_internal(resp);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "token", token);
  gauth_free(token);
  emu_reply_json(resp, 200, o);
}

static char *b64_encode(const unsigned char *in, size_t len) {
  char *out = malloc((len + 2) / 3 * 4 + 1);
  if (out != NULL) EVP_EncodeBlock((unsigned char *)out, in, (int)len);
  return out;
}

/* The keyId IAM reports: the account key's private_key_id. */
static const char *key_id(const emu_account *acct) {
  if (acct->private_key_id != NULL) return acct->private_key_id;
  const char *kid = gauth_key_kid(acct->private_key);
  return kid ? kid : "";
}

/* signBlob's and signJwt's reply: the keyId, and what was signed. */
static void reply_signed(emu_response *resp, const emu_account *acct,
                         const char *member, const char *signed_value) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "keyId", key_id(acct));
  cJSON_AddStringToObject(o, member, signed_value);
  emu_reply_json(resp, 200, o);
}

static void reply_no_signing_key(emu_response *resp) {
  emu_reply_google_error(resp, 501, "UNIMPLEMENTED",
                         "The emulator holds no private key for this "
                         "service account.");
}

static void sign_blob(const cJSON *body, const emu_account *acct,
                      emu_response *resp) {
  const cJSON *payload = cJSON_GetObjectItemCaseSensitive(body, "payload");
  size_t len = 0;
  unsigned char *data =
      cJSON_IsString(payload)
          ? emu_b64_decode_lenient(payload->valuestring,
                                   strlen(payload->valuestring), &len)
          : NULL;
  if (data == NULL) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value at 'payload' (TYPE_BYTES), Base64 "
                           "decoding failed");
    return;
  }
  const gauth_key *key = acct->private_key;
  size_t sig_len = key ? gauth_key_signature_size(key, GAUTH_ALG_RS256) : 0;
  unsigned char *sig = sig_len ? malloc(sig_len) : NULL;
  char *b64 = NULL;
  if (key == NULL) {
    reply_no_signing_key(resp);
  } else if (sig == NULL ||
             gauth_key_sign(key, GAUTH_ALG_RS256, data, len, sig, &sig_len,
                            NULL) != GAUTH_OK ||
             (b64 = b64_encode(sig, sig_len)) == NULL) {
    reply_internal(resp);
  } else {
    reply_signed(resp, acct, "signedBlob", b64);
  }
  free(b64);
  free(sig);
  free(data);
}

static void sign_jwt(const cJSON *body, const emu_account *acct,
                     emu_response *resp) {
  const cJSON *payload = cJSON_GetObjectItemCaseSensitive(body, "payload");
  cJSON *claims =
      cJSON_IsString(payload) ? cJSON_Parse(payload->valuestring) : NULL;
  if (!cJSON_IsObject(claims)) {
    cJSON_Delete(claims);
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Payload is not a valid JSON object.");
    return;
  }
  cJSON_Delete(claims);
  const gauth_key *key = acct->private_key;
  char *jwt = NULL;
  if (key == NULL) {
    reply_no_signing_key(resp);
  } else if (gauth_jwt_sign(key, GAUTH_ALG_RS256, key_id(acct),
                            payload->valuestring, &jwt, NULL) != GAUTH_OK) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Payload is not a valid JSON object.");
  } else {
    reply_signed(resp, acct, "signedJwt", jwt);
  }
  gauth_free(jwt);
}

static const struct {
  const char *action;
  const char *permission;
} credential_actions[] = {
    {"generateAccessToken", "iam.serviceAccounts.getAccessToken"},
    {"generateIdToken", "iam.serviceAccounts.getOpenIdToken"},
    {"signBlob", "iam.serviceAccounts.signBlob"},
    {"signJwt", "iam.serviceAccounts.signJwt"},
};

/* /v1/projects/P/serviceAccounts/EMAIL:ACTION */
static int route_credentials(emu *e, const emu_request *req,
                             emu_response *resp) {
  const char *p = req->path + strlen("/v1/projects/");
  const char *slash = strchr(p, '/');
  if (slash == NULL || strncmp(slash, "/serviceAccounts/", 17) != 0) return 0;
  const char *email = slash + 17;
  const char *colon = strrchr(email, ':');
  if (colon == NULL || strchr(email, '/') != NULL) return 0;
  size_t a = 0, n = sizeof credential_actions / sizeof *credential_actions;
  while (a < n && strcmp(colon + 1, credential_actions[a].action) != 0) a++;
  if (a == n || slash - p >= 128 || colon - email >= 256) return 0;
  char project[128], target[256];
  snprintf(project, sizeof project, "%.*s", (int)(slash - p), p);
  snprintf(target, sizeof target, "%.*s", (int)(colon - email), email);

  if (strcmp(req->method, "POST") != 0) {
    emu_reply_method_not_allowed(resp);
    return 1;
  }
  emu_bearer b;
  if (!emu_require_access_token(e, req, resp, &credentials_need, &b)) return 1;
  cJSON *body = req->body_len ? emu_req_json(req) : cJSON_CreateObject();
  if (body == NULL) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid JSON payload received.");
    return 1;
  }
  const emu_account *acct = emu_account_find(e, target);
  if (acct == NULL) {
    reply_sa_not_found(resp, target);
  } else if (check_chain(e, resp, b.email, project,
                         cJSON_GetObjectItemCaseSensitive(body, "delegates"),
                         acct->email, credential_actions[a].permission)) {
    if (emu_account_disabled(e, acct->email)) {
      /* A disabled account gets no token and signs nothing. */
      emu_reply_google_error(resp, 400, "FAILED_PRECONDITION",
                             "Precondition check failed.");
      cJSON_Delete(body);
      return 1;
    }
    switch (a) {
      case 0: generate_access_token(e, body, acct, resp); break;
      case 1: generate_id_token(e, body, acct, resp); break;
      case 2: sign_blob(body, acct, resp); break;
      default: sign_jwt(body, acct, resp); break;
    }
  }
  cJSON_Delete(body);
  return 1;
}

/* ---- testIamPermissions ------------------------------------------------- */

/* service.resource.verb, as IAM spells permissions. */
static int permission_name_ok(const char *s) {
  int dots = 0;
  if (!islower((unsigned char)s[0])) return 0;
  for (const char *c = s; *c; c++) {
    if (*c == '.') {
      if (c[1] == '\0' || c[1] == '.') return 0;
      dots++;
    } else if (!isalnum((unsigned char)*c)) {
      return 0;
    }
  }
  return dots == 2;
}

/* The project id of an id or a number; NULL when it is not the world's. */
static const char *project_of(emu *e, const char *p, size_t len) {
  const char *id = emu_project_id(e), *num = emu_project_number(e);
  if ((strlen(id) == len && strncmp(p, id, len) == 0) ||
      (strlen(num) == len && strncmp(p, num, len) == 0))
    return id;
  return NULL;
}

static void test_permissions(emu *e, const emu_request *req, emu_response *resp,
                             const char *resource) {
  emu_bearer b;
  if (!emu_require_access_token(e, req, resp, &test_need, &b)) return;
  cJSON *body = emu_req_json(req);
  const cJSON *perms = cJSON_GetObjectItemCaseSensitive(body, "permissions");
  const cJSON *p;
  const cJSON *list = cJSON_IsArray(perms) ? perms : NULL;
  cJSON_ArrayForEach(p, list) {
    const char *s = cJSON_IsString(p) ? p->valuestring : "";
    if (strchr(s, '*') != NULL) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Permissions with wildcards (such as '*' or "
                             "'storage.*') are not allowed in "
                             "testIamPermissions requests.");
      goto out;
    }
    if (!permission_name_ok(s)) {
      emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                             "Permission %.200s is not valid.", s);
      goto out;
    }
  }
  if (!cJSON_IsArray(perms) && perms != NULL) {
    emu_reply_google_error(resp, 400, "INVALID_ARGUMENT",
                           "Invalid value at 'permissions'");
    goto out;
  }
  char member[300];
  emu_member_of(e, b.email, member, sizeof member);
  cJSON *out = cJSON_CreateObject();
  cJSON *granted = NULL;
  cJSON_ArrayForEach(p, perms) {
    if (!emu_has_permission(e, resource, member, p->valuestring)) continue;
    /* Google leaves out an empty list, so {} means "none". */
    if (granted == NULL) granted = cJSON_AddArrayToObject(out, "permissions");
    cJSON_AddItemToArray(granted, cJSON_CreateString(p->valuestring));
  }
  emu_reply_json(resp, 200, out);
out:
  cJSON_Delete(body);
}

#define TIP ":testIamPermissions"

/* /v1/projects/P/serviceAccounts/EMAIL:testIamPermissions (IAM v1); `p` is
 * P, `sa` points at "/serviceAccounts/", `end` at ":testIamPermissions". */
static int sa_test_permissions(emu *e, const emu_request *req,
                               emu_response *resp, const char *p,
                               const char *sa, const char *end) {
  const char *email = sa + strlen("/serviceAccounts/");
  char project[128], target[256], resource[512];
  if (sa - p >= (long)sizeof project || end - email >= (long)sizeof target ||
      email >= end || memchr(email, '/', (size_t)(end - email)) != NULL ||
      memchr(p, '/', (size_t)(sa - p)) != NULL)
    return 0;
  snprintf(project, sizeof project, "%.*s", (int)(sa - p), p);
  snprintf(target, sizeof target, "%.*s", (int)(end - email), email);
  if (strcmp(req->method, "POST") != 0) {
    emu_reply_method_not_allowed(resp);
  } else if (emu_account_find(e, target) == NULL) {
    reply_sa_not_found(resp, target);
  } else {
    sa_resource(e, project, target, resource, sizeof resource);
    test_permissions(e, req, resp, resource);
  }
  return 1;
}

/* /v1/projects/ID:testIamPermissions, /v3/projects/ID:testIamPermissions,
 * /v2/projects/P/locations/L/{jobs,services}/N:testIamPermissions,
 * /v1/projects/P/serviceAccounts/EMAIL:testIamPermissions. */
static int route_test_permissions(emu *e, const emu_request *req,
                                  emu_response *resp) {
  const char *path = req->path;
  size_t len = strlen(path);
  if (len < sizeof TIP || strcmp(path + len - strlen(TIP), TIP) != 0) return 0;
  len -= strlen(TIP);
  char resource[512];
  if (strncmp(path, "/v1/projects/", 13) == 0) {
    const char *sa = strstr(path + 13, "/serviceAccounts/");
    if (sa != NULL && sa < path + len)
      return sa_test_permissions(e, req, resp, path + 13, sa, path + len);
  }
  if (strncmp(path, "/v1/projects/", 13) == 0 ||
      strncmp(path, "/v3/projects/", 13) == 0) {
    const char *id = path + 13;
    if (memchr(id, '/', len - 13) != NULL || len - 13 > 100) return 0;
    const char *proj = project_of(e, id, len - 13);
    if (strcmp(req->method, "POST") != 0) {
      emu_reply_method_not_allowed(resp);
    } else if (proj == NULL) {
      emu_reply_google_error(resp, 404, "NOT_FOUND",
                             "Project '%.*s' not found.", (int)(len - 13), id);
    } else {
      snprintf(resource, sizeof resource, "projects/%s", proj);
      test_permissions(e, req, resp, resource);
    }
    return 1;
  }
  /* /v2/projects/P/locations/L/KIND/N */
  char p[101], l[101], kind[16], n[101];
  if (strncmp(path, "/v2/projects/", 13) != 0 || len > 400) return 0;
  char rest[512];
  snprintf(rest, sizeof rest, "%.*s", (int)(len - 13), path + 13);
  int consumed = 0;
  if (sscanf(rest, "%100[^/]/locations/%100[^/]/%15[^/]/%100[^/]%n", p, l, kind,
             n, &consumed) != 4 ||
      rest[consumed] != '\0' ||
      (strcmp(kind, "jobs") != 0 && strcmp(kind, "services") != 0))
    return 0;
  if (strcmp(req->method, "POST") != 0) {
    emu_reply_method_not_allowed(resp);
    return 1;
  }
  const char *proj = project_of(e, p, strlen(p));
  snprintf(resource, sizeof resource, "projects/%s/locations/%s/%s/%s",
           proj ? proj : p, l, kind, n);
  int exists =
      proj != NULL && (kind[0] == 'j' ? emu_run_job_exists(e, resource)
                                      : emu_run_service_exists(e, resource));
  if (!exists) {
    emu_reply_run_not_found(resp, kind[0] == 'j' ? "JOB" : "SERVICE", n, l, p);
    return 1;
  }
  test_permissions(e, req, resp, resource);
  return 1;
}

/* ---- service account public keys ----------------------------------------- */

/* GET /service_accounts/v1/metadata/jwk/EMAIL: the account's public keys
 * as a JWKS (www.googleapis.com serves them there), which verify what
 * signBlob and signJwt signed. */
static int route_sa_jwk(emu *e, const emu_request *req, emu_response *resp) {
  static const char prefix[] = "/service_accounts/v1/metadata/jwk/";
  if (strncmp(req->path, prefix, sizeof prefix - 1) != 0) return 0;
  const char *email = req->path + sizeof prefix - 1;
  const emu_account *acct = emu_account_find(e, email);
  char *jwks = NULL;
  if (strcmp(req->method, "GET") != 0) {
    emu_reply_method_not_allowed(resp);
  } else if (acct == NULL) {
    reply_sa_not_found(resp, email);
  } else if (gauth_keyset_to_jwks(acct->public_keys, &jwks, NULL) != GAUTH_OK) {
    reply_internal(resp);
  } else {
    emu_reply_text(resp, 200, "application/json; charset=UTF-8", jwks);
  }
  gauth_free(jwks);
  return 1;
}

int emu_route_iam(emu *e, const emu_request *req, emu_response *resp) {
  if (route_test_permissions(e, req, resp)) return 1;
  if (route_sa_jwk(e, req, resp)) return 1;
  if (strncmp(req->path, "/v1/projects/", 13) == 0)
    return route_credentials(e, req, resp);
  return 0;
}
