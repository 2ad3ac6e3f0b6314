/* External accounts whose subject token is a signed AWS GetCallerIdentity
 * request (credential_source.environment_id "aws1"), as Google's libraries
 * build it (google-auth-library-python google/auth/aws.py, Node
 * src/auth/awsclient.ts, Go credentials/externalaccount/aws_provider.go):
 *
 *   region       $AWS_REGION, else $AWS_DEFAULT_REGION, else GET region_url
 *                (an availability zone: "us-east-2b" gives "us-east-2")
 *   credentials  $AWS_ACCESS_KEY_ID + $AWS_SECRET_ACCESS_KEY (+
 *                $AWS_SESSION_TOKEN), else GET url (the role name), then
 *                GET url/ROLE ({"AccessKeyId","SecretAccessKey","Token"})
 *   IMDSv2       when imdsv2_session_token_url is set and a metadata call is
 *                due: PUT it with X-aws-ec2-metadata-token-ttl-seconds: 300,
 *                then X-aws-ec2-metadata-token on every metadata GET
 *   token        POST regional_cred_verification_url ({region} filled)
 *                signed with SigV4 (service sts; headers host, x-amz-date,
 *                x-amz-security-token, x-goog-cloud-target-resource = the
 *                audience), serialized as {"url","method","headers":[{"key",
 *                "value"}...]} (headers sorted by key, "Authorization"
 *                first) and percent-encoded
 *
 * The metadata URLs must be plain http to the instance metadata service
 * (169.254.169.254, [fd00:ec2::254]) or to loopback; no redirect is
 * followed and every call has bounded timeouts. The secret access key, the
 * session tokens, the signature and the subject token are secrets: wiped,
 * never in a message. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "aws_sigv4.h"
#include "constants.h"
#include "cred_external.h"
#include "error_internal.h"
#include "json.h"
#include "secret.h"
#include "url.h"

#define TTL_HEADER \
  "X-aws-ec2-metadata-token-ttl-seconds: " GAUTH__AWS_IMDSV2_TTL
#define TOKEN_HEADER "X-aws-ec2-metadata-token: "
#define REGION_MAX 64
#define ROLE_MAX 256

struct gauth__external_aws {
  char *region_url; /* NULL: region from the environment only */
  char *cred_url;   /* "url"; NULL: credentials from the environment only */
  char *verify_url; /* regional_cred_verification_url, with "{region}" */
  char *imdsv2_url; /* NULL: IMDSv1 */
};

/* ---- the file ------------------------------------------------------------ */

/* 1 when host (as curl gives it, IPv6 in brackets) is an address of the
 * instance metadata service or loopback. */
static int imds_host(const char *host) {
  return gauth__host_is_loopback(host) || gauth__host_is_aws_imds(host);
}

/* Checks a URL member: for the metadata ones (imds 1) http to the IMDS or
 * loopback; for the verification URL https, or http to loopback. */
static gauth_status check_url(const char *member, const char *url, int imds,
                              gauth_error *err) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *user = NULL;
  int ok;
  if (u == NULL) return gauth__error_nomem(err);
  ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
       curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
       curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
       curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER;
  if (ok && imds)
    ok = strcmp(scheme, "http") == 0 && imds_host(host);
  else if (ok)
    ok = strcmp(scheme, "https") == 0 ||
         (strcmp(scheme, "http") == 0 && gauth__host_is_loopback(host));
  curl_free(scheme);
  curl_free(host);
  curl_free(user);
  curl_url_cleanup(u);
  if (ok) return GAUTH_OK;
  return gauth__error_set(
      err, GAUTH_E_MALFORMED,
      imds ? "field \"%s\" (%s): AWS metadata URLs must be http:// to "
             "169.254.169.254, [fd00:ec2::254] or a loopback address"
           : "field \"%s\" (%s): must be an https:// URL (http:// only to a "
             "loopback address)",
      member, gauth__echo_setting(url));
}

/* The verification URL is checked with its "{region}" filled in. */
static char *fill_region(const char *url, const char *region) {
  static const char mark[] = "{region}";
  size_t n = strlen(url) + 1, rl = strlen(region), ml = sizeof mark - 1;
  const char *p;
  char *out, *o;
  for (p = strstr(url, mark); p; p = strstr(p + ml, mark)) n += rl;
  if ((out = malloc(n)) == NULL) return NULL;
  for (o = out, p = url; *p;) {
    if (strncmp(p, mark, ml) == 0) {
      memcpy(o, region, rl);
      o += rl;
      p += ml;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
  return out;
}

/* "aws" followed by digits: the version (-1: not such an id). */
static long aws_version(const char *id) {
  const char *d = gauth__skip_prefix(id, "aws");
  char *end;
  long v;
  if (d == NULL || *d < '0' || *d > '9' || strspn(d, "0123456789") > 6)
    return -1;
  v = strtol(d, &end, 10);
  return *end == '\0' ? v : -1;
}

static gauth_status parse_urls(const cJSON *src, gauth__external_aws *a,
                               gauth_error *err) {
  static const struct {
    const char *member;
    size_t offset;
  } imds[] = {
      {"region_url", offsetof(gauth__external_aws, region_url)},
      {"url", offsetof(gauth__external_aws, cred_url)},
      {"imdsv2_session_token_url", offsetof(gauth__external_aws, imdsv2_url)},
  };
  char *probe;
  gauth_status st =
      gauth__json_copy_string(src, "regional_cred_verification_url",
                              GAUTH__JSON_REQUIRED, &a->verify_url, err);
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(imds) && st == GAUTH_OK; i++) {
    char **slot = (char **)(void *)((char *)a + imds[i].offset);
    st = gauth__json_copy_string(src, imds[i].member, GAUTH__JSON_NONEMPTY,
                                 slot, err);
    if (st == GAUTH_OK && *slot != NULL)
      st = check_url(imds[i].member, *slot, 1, err);
  }
  if (st != GAUTH_OK) return st;
  if ((probe = fill_region(a->verify_url, "us-east-1")) == NULL)
    return gauth__error_nomem(err);
  st = check_url("regional_cred_verification_url", probe, 0, err);
  free(probe);
  return st;
}

gauth_status gauth__external_aws_parse(const cJSON *src,
                                       gauth__external_aws **out,
                                       gauth_error *err) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(src, "environment_id");
  gauth__external_aws *a;
  gauth_status st;
  long v;
  *out = NULL;
  if (!cJSON_IsString(id))
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field \"environment_id\" is %s, expected a "
                            "string",
                            gauth__json_type_name(id));
  if ((v = aws_version(id->valuestring)) < 0)
    return gauth__external_unsupported("environment_id", id->valuestring, err);
  if (v != 1)
    return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                            "credential_source.environment_id %s: AWS "
                            "version %ld is not supported; libgauth supports "
                            "aws1",
                            id->valuestring, v);
  if ((a = calloc(1, sizeof *a)) == NULL) return gauth__error_nomem(err);
  st = parse_urls(src, a, err);
  if (st != GAUTH_OK) {
    gauth__external_aws_free(a);
    return st;
  }
  *out = a;
  return GAUTH_OK;
}

void gauth__external_aws_free(gauth__external_aws *a) {
  if (a == NULL) return;
  free(a->region_url);
  free(a->cred_url);
  free(a->verify_url);
  free(a->imdsv2_url);
  free(a);
}

/* ---- the metadata service ------------------------------------------------ */

/* What a subject token needs; every string owned, the secrets wiped. */
typedef struct aws_state {
  char *region;
  char *key_id;
  char *secret;
  char *session;    /* NULL: none */
  char *imds_token; /* IMDSv2 session token; NULL: IMDSv1 */
} aws_state;

static void state_cleanup(aws_state *s) {
  free(s->region);
  free(s->key_id);
  gauth__secret_strfree(s->secret);
  gauth__secret_strfree(s->session);
  gauth__secret_strfree(s->imds_token);
  memset(s, 0, sizeof *s);
}

static const char *env_value(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* One call to the metadata service; the reply's body in *body (free with
 * gauth__secret_free(*body, *len + 1)). */
static gauth_status imds_call(gauth_credentials *c, const aws_state *s,
                              const char *method, const char *url,
                              const char *what, char **body, size_t *len,
                              gauth_error *err) {
  gauth__http_request req;
  gauth__http_response resp;
  const char *headers[2] = {NULL, NULL}, *secrets[2] = {NULL, NULL};
  char *tok_header = NULL;
  gauth_status st;
  *body = NULL;
  *len = 0;
  memset(&req, 0, sizeof req);
  memset(&resp, 0, sizeof resp);
  if (strcmp(method, "PUT") == 0) {
    headers[0] = TTL_HEADER;
  } else if (s->imds_token != NULL) {
    size_t n = sizeof TOKEN_HEADER + strlen(s->imds_token);
    if ((tok_header = malloc(n)) == NULL) return gauth__error_nomem(err);
    snprintf(tok_header, n, TOKEN_HEADER "%s", s->imds_token);
    headers[0] = tok_header;
    secrets[0] = s->imds_token;
  }
  req.method = method;
  req.url = url;
  req.headers = headers;
  req.secrets = secrets;
  req.body = "";
  req.no_proxy = 1; /* max_redirects 0: none followed */
  req.aws_imds = 1; /* plain http to [fd00:ec2::254] too (checked above) */
  req.timeout_ms = GAUTH__AWS_IMDS_TIMEOUT_MS;
  req.connect_timeout_ms = GAUTH__AWS_IMDS_CONNECT_TIMEOUT_MS;
  req.deadline_ms = GAUTH__AWS_IMDS_DEADLINE_MS;
  st = gauth__http_do(gauth__credentials_http(c), &req, &resp, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "AWS metadata service: %s", what);
  } else {
    *body = resp.body;
    *len = resp.body_len;
    resp.body = NULL;
  }
  gauth__http_response_cleanup(&resp);
  gauth__secret_strfree(tok_header);
  return st;
}

/* The body (a text reply) trimmed of surrounding whitespace, as a new
 * string into *out. A NUL byte inside is GAUTH_E_BAD_RESPONSE naming
 * `what`: the reply would be read as the text before it. */
static gauth_status trimmed(const char *b, size_t n, const char *what,
                            char **out, gauth_error *err) {
  *out = NULL;
  while (n > 0 && strchr(" \t\r\n", b[n - 1]) != NULL && b[n - 1] != '\0') n--;
  while (n > 0 && strchr(" \t\r\n", b[0]) != NULL && b[0] != '\0') b++, n--;
  if (memchr(b, '\0', n) != NULL)
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "AWS metadata service: the %s holds a NUL byte",
                            what);
  *out = strndup(b, n);
  return *out != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

gauth_status gauth__aws_imdsv2_token_parse(const char *body, size_t len,
                                           char **token, gauth_error *err) {
  gauth_status st = trimmed(body, len,
                            "IMDSv2 session token "
                            "(credential_source.imdsv2_session_token_url)",
                            token, err);
  if (st != GAUTH_OK) return st;
  if ((*token)[0] == '\0' || strpbrk(*token, "\r\n") != NULL) {
    gauth__secret_strfree(*token);
    *token = NULL;
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "AWS metadata service: the IMDSv2 session token "
                            "(credential_source.imdsv2_session_token_url) is "
                            "empty or not one line");
  }
  return GAUTH_OK;
}

static gauth_status imdsv2_token(gauth_credentials *c, const char *url,
                                 aws_state *s, gauth_error *err) {
  char *body;
  size_t len;
  gauth_status st = imds_call(c, s, "PUT", url,
                              "IMDSv2 session token "
                              "(credential_source.imdsv2_session_token_url)",
                              &body, &len, err);
  if (st != GAUTH_OK) return st;
  st = gauth__aws_imdsv2_token_parse(body, len, &s->imds_token, err);
  gauth__secret_free(body, len + 1);
  return st;
}

static int region_ok(const char *r) {
  size_t n = strlen(r);
  return n > 0 && n <= REGION_MAX &&
         strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

gauth_status gauth__aws_region_from_zone(const char *body, size_t len,
                                         char **region, gauth_error *err) {
  char *zone;
  size_t n;
  gauth_status st =
      trimmed(body, len, "availability zone (credential_source.region_url)",
              &zone, err);
  *region = NULL;
  if (st != GAUTH_OK) return st;
  /* "us-east-2b": the zone's last letter goes. */
  n = strlen(zone);
  if (n > 1) zone[n - 1] = '\0';
  if (n < 2 || !region_ok(zone)) {
    free(zone);
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "AWS metadata service: the availability zone "
                            "(credential_source.region_url) is not a zone "
                            "name like us-east-2b");
  }
  *region = zone;
  return GAUTH_OK;
}

static gauth_status region_from_imds(gauth_credentials *c,
                                     const gauth__external_aws *a, aws_state *s,
                                     gauth_error *err) {
  char *body;
  size_t len;
  gauth_status st;
  if (a->region_url == NULL)
    return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                            "AWS region: set AWS_REGION or AWS_DEFAULT_REGION, "
                            "or credential_source.region_url");
  st = imds_call(c, s, "GET", a->region_url,
                 "availability zone (credential_source.region_url)", &body,
                 &len, err);
  if (st != GAUTH_OK) return st;
  st = gauth__aws_region_from_zone(body, len, &s->region, err);
  gauth__secret_free(body, len + 1);
  return st;
}

static int role_ok(const char *r) {
  size_t n = strlen(r);
  if (n == 0 || n > ROLE_MAX) return 0;
  for (const char *p = r; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("/?#%\\", *p))
      return 0;
  return 1;
}

gauth_status gauth__aws_role_parse(const char *body, size_t len, char **role,
                                   gauth_error *err) {
  gauth_status st =
      trimmed(body, len, "role name (credential_source.url)", role, err);
  if (st != GAUTH_OK) return st;
  if (!role_ok(*role)) {
    free(*role);
    *role = NULL;
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "AWS metadata service: the role name "
                            "(credential_source.url) is empty or not a "
                            "name");
  }
  return GAUTH_OK;
}

gauth_status gauth__aws_security_credentials_parse(const char *body, size_t len,
                                                   char **key_id, char **secret,
                                                   char **session,
                                                   gauth_error *err) {
  cJSON *root = NULL;
  const char *id = NULL, *sec = NULL, *token = NULL;
  gauth_status st;
  *key_id = *secret = *session = NULL;
  st = gauth__json_parse_object(body, len, NULL, &root, err);
  if (st == GAUTH_OK)
    st = gauth__json_get_string(root, "AccessKeyId", &id, err);
  if (st == GAUTH_OK)
    st = gauth__json_get_string(root, "SecretAccessKey", &sec, err);
  if (st == GAUTH_OK) st = gauth__json_opt_string(root, "Token", &token, err);
  if (st == GAUTH_OK && (id[0] == '\0' || sec[0] == '\0'))
    st = gauth__error_set(err, GAUTH_E_MALFORMED,
                          "field \"AccessKeyId\" or \"SecretAccessKey\" is "
                          "empty");
  if (st == GAUTH_OK &&
      ((*key_id = strdup(id)) == NULL || (*secret = strdup(sec)) == NULL ||
       (token != NULL && token[0] != '\0' &&
        (*session = strdup(token)) == NULL)))
    st = gauth__error_nomem(err);
  gauth__secret_json_delete(root);
  if (st != GAUTH_OK) {
    free(*key_id);
    gauth__secret_strfree(*secret);
    gauth__secret_strfree(*session);
    *key_id = *secret = *session = NULL;
  }
  if (st != GAUTH_OK && st != GAUTH_E_NOMEM) {
    if (err != NULL) err->code = GAUTH_E_BAD_RESPONSE;
    gauth__error_prefix(err,
                        "AWS metadata service: security credentials "
                        "(credential_source.url)");
    st = GAUTH_E_BAD_RESPONSE;
  }
  return st;
}

static gauth_status credentials_from_imds(gauth_credentials *c,
                                          const gauth__external_aws *a,
                                          aws_state *s, gauth_error *err) {
  char *body, *role, *url;
  size_t len, n;
  gauth_status st;
  if (a->cred_url == NULL)
    return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                            "AWS credentials: set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY, or credential_source.url");
  st = imds_call(c, s, "GET", a->cred_url, "role name (credential_source.url)",
                 &body, &len, err);
  if (st != GAUTH_OK) return st;
  st = gauth__aws_role_parse(body, len, &role, err);
  gauth__secret_free(body, len + 1);
  if (st != GAUTH_OK) return st;
  n = strlen(a->cred_url) + strlen(role) + 2;
  url = malloc(n);
  if (url != NULL) snprintf(url, n, "%s/%s", a->cred_url, role);
  free(role);
  if (url == NULL) return gauth__error_nomem(err);
  st = imds_call(c, s, "GET", url,
                 "security credentials (credential_source.url)", &body, &len,
                 err);
  free(url);
  if (st != GAUTH_OK) return st;
  st = gauth__aws_security_credentials_parse(body, len, &s->key_id, &s->secret,
                                             &s->session, err);
  gauth__secret_free(body, len + 1);
  return st;
}

/* Region and credentials: the environment's, else the metadata
 * service's (through an IMDSv2 session when configured). */
static gauth_status gather(gauth_credentials *c, const gauth__external_aws *a,
                           aws_state *s, gauth_error *err) {
  const char *region = env_value(GAUTH__ENV_AWS_REGION);
  const char *id = env_value(GAUTH__ENV_AWS_ACCESS_KEY_ID);
  const char *secret = env_value(GAUTH__ENV_AWS_SECRET_ACCESS_KEY);
  const char *session = env_value(GAUTH__ENV_AWS_SESSION_TOKEN);
  gauth_status st = GAUTH_OK;
  if (region == NULL) region = env_value(GAUTH__ENV_AWS_DEFAULT_REGION);
  if (region != NULL && !region_ok(region))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "AWS region %s (AWS_REGION or AWS_DEFAULT_REGION) "
                            "is not a region name like us-east-1",
                            gauth__echo_setting(region));
  if (a->imdsv2_url != NULL && (region == NULL || id == NULL || secret == NULL))
    st = imdsv2_token(c, a->imdsv2_url, s, err);
  if (st == GAUTH_OK && region != NULL && (s->region = strdup(region)) == NULL)
    st = gauth__error_nomem(err);
  else if (st == GAUTH_OK && region == NULL)
    st = region_from_imds(c, a, s, err);
  if (st != GAUTH_OK) return st;
  if (id == NULL || secret == NULL) return credentials_from_imds(c, a, s, err);
  if ((s->key_id = strdup(id)) == NULL ||
      (s->secret = strdup(secret)) == NULL ||
      (session != NULL && (s->session = strdup(session)) == NULL))
    return gauth__error_nomem(err);
  return GAUTH_OK;
}

/* ---- the subject token --------------------------------------------------- */

static int add_header(cJSON *list, const char *key, const char *value) {
  cJSON *h = cJSON_CreateObject();
  if (h == NULL || !cJSON_AddItemToArray(list, h)) {
    cJSON_Delete(h);
    return 0;
  }
  return cJSON_AddStringToObject(h, "key", key) != NULL &&
         cJSON_AddStringToObject(h, "value", value) != NULL;
}

gauth_status gauth__external_aws_serialize(const char *url,
                                           const gauth__sigv4_result *sig,
                                           const char *session_token,
                                           const char *audience, char **token,
                                           gauth_error *err) {
  cJSON *root = cJSON_CreateObject(), *list;
  char *json = NULL;
  int ok = root != NULL && cJSON_AddStringToObject(root, "url", url) != NULL &&
           cJSON_AddStringToObject(root, "method", "POST") != NULL &&
           (list = cJSON_AddArrayToObject(root, "headers")) != NULL &&
           add_header(list, "Authorization", sig->authorization) &&
           add_header(list, "host", sig->host) &&
           add_header(list, "x-amz-date", sig->amz_date) &&
           (session_token == NULL ||
            add_header(list, "x-amz-security-token", session_token)) &&
           add_header(list, "x-goog-cloud-target-resource", audience) &&
           (json = cJSON_PrintUnformatted(root)) != NULL;
  *token = ok ? gauth__sigv4_uri_encode(json, strlen(json), 0) : NULL;
  gauth__secret_json_delete(root);
  gauth__secret_strfree(json);
  return *token != NULL ? GAUTH_OK : gauth__error_nomem(err);
}

gauth_status gauth__external_aws_subject_token(gauth_credentials *c,
                                               const gauth__external_config *x,
                                               char **token, gauth_error *err) {
  aws_state s;
  gauth__sigv4_header target = {"x-goog-cloud-target-resource", NULL};
  gauth__sigv4_request req;
  gauth__sigv4_result sig;
  char *url = NULL;
  gauth_status st;
  *token = NULL;
  memset(&s, 0, sizeof s);
  memset(&sig, 0, sizeof sig);
  if (x->aws == NULL)
    return gauth__error_set(err, GAUTH_E_INTERNAL,
                            "AWS subject token: no AWS source");
  st = gather(c, x->aws, &s, err);
  if (st == GAUTH_OK &&
      (url = fill_region(x->aws->verify_url, s.region)) == NULL)
    st = gauth__error_nomem(err);
  if (st == GAUTH_OK) {
    memset(&req, 0, sizeof req);
    target.value = x->audience;
    req.method = "POST";
    req.url = url;
    req.region = s.region;
    req.service = "sts";
    req.headers = &target;
    req.header_count = 1;
    req.time = gauth__credentials_now(c);
    req.access_key_id = s.key_id;
    req.secret_access_key = s.secret;
    req.session_token = s.session;
    st = gauth__sigv4_sign(&req, &sig, err);
    if (st != GAUTH_OK)
      gauth__error_prefix(err, "AWS GetCallerIdentity request");
  }
  if (st == GAUTH_OK)
    st = gauth__external_aws_serialize(url, &sig, s.session, x->audience, token,
                                       err);
  gauth__sigv4_result_cleanup(&sig);
  free(url);
  state_cleanup(&s);
  return st;
}

static char *percent_decode(const char *s) {
  size_t n = strlen(s), o = 0;
  char *out = malloc(n + 1);
  if (out == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    unsigned int v;
    if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1) {
      out[o++] = (char)v;
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  return out;
}

gauth_status gauth__external_aws_token_secrets(const char *token, char ***out,
                                               gauth_error *err) {
  char *json = percent_decode(token);
  cJSON *root = json ? cJSON_Parse(json) : NULL;
  const cJSON *h;
  size_t n = 0;
  *out = calloc(8, sizeof **out);
  if (*out == NULL || json == NULL) {
    gauth__secret_strfree(json);
    gauth__secret_strv_free(*out);
    *out = NULL;
    return gauth__error_nomem(err);
  }
  cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(root, "headers")) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(h, "key");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, "value");
    if (n < 5 && cJSON_IsString(k) && cJSON_IsString(v) &&
        (strcmp(k->valuestring, "Authorization") == 0 ||
         strcmp(k->valuestring, "x-amz-security-token") == 0)) {
      const char *sig = strstr(v->valuestring, "Signature=");
      if (((*out)[n] = strdup(v->valuestring)) != NULL) n++;
      if (sig != NULL && ((*out)[n] = strdup(sig + 10)) != NULL) n++;
    }
  }
  if (n > 0)
    (*out)[n++] = json;
  else
    gauth__secret_strfree(json);
  gauth__secret_json_delete(root);
  return GAUTH_OK;
}
