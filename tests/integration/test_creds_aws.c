/* External accounts from AWS (credential_source.environment_id aws1) over
 * real sockets: a scripted server on 127.0.0.1 plays EC2's instance
 * metadata service (IMDSv1 and IMDSv2) and Google's STS, which records the
 * subject token it is given. Checked: the environment's credentials and
 * region, the metadata service's (role name, then the role's credentials,
 * the availability zone's region), the IMDSv2 session token on every
 * metadata call, the signed GetCallerIdentity request as STS receives it,
 * metadata URLs outside the allowed hosts, and that no AWS secret appears
 * in an error message. */
#define _GNU_SOURCE /* strcasestr */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "test_server.h"

#define AUD                                                      \
  "//iam.googleapis.com/projects/123456789012/locations/global/" \
  "workloadIdentityPools/aws-pool/providers/aws"
#define AWS_TYPE "urn:ietf:params:aws:token-type:aws4_request"
#define VERIFY \
  "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
#define SECRET "CANARY-aws-secret-7731"
#define SESSION "CANARY-aws-session-4412"
#define IMDS_TOKEN "CANARY-imds-token-1207"
#define NOW 1704164645 /* 2024-01-02T03:04:05Z */
#define STS_REPLY                                                     \
  "{\"access_token\":\"ya29.federated\",\"issued_token_type\":"       \
  "\"urn:ietf:params:oauth:token-type:access_token\",\"token_type\":" \
  "\"Bearer\",\"expires_in\":3600}"

static int64_t fixed_clock(void *u) {
  (void)u;
  return NOW;
}

static void clear_env(void) {
  unsetenv("AWS_REGION");
  unsetenv("AWS_DEFAULT_REGION");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
}

/* The scripted metadata service and STS. */
static ts_server *start_fakes(int imdsv2) {
  static const ts_response token = {.body = IMDS_TOKEN};
  static const ts_response zone = {.body = "eu-west-3c"};
  static const ts_response role = {.body = "gauth-role\n"};
  static const ts_response creds = {
      .body =
          "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":"
          "\"ASIAIMDS\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"" SESSION
          "\",\"Expiration\":\"2024-01-02T09:04:05Z\"}",
      .headers = {"Content-Type: application/json"}};
  static const ts_response sts = {.body = STS_REPLY,
                                  .headers = {"Content-Type: "
                                              "application/json"}};
  ts_server *s = ts_start();
  if (imdsv2) ts_route(s, "/latest/api/token", &token, 1);
  ts_route(s, "/latest/meta-data/placement/availability-zone", &zone, 1);
  ts_route(s, "/latest/meta-data/iam/security-credentials", &role, 1);
  ts_route(s, "/latest/meta-data/iam/security-credentials/gauth-role", &creds,
           1);
  ts_route(s, "/v1/token", &sts, 1);
  return s;
}

static gauth_status aws_creds(ts_server *s, int imdsv2, const char *region_url,
                              gauth_credentials **c, gauth_error *err) {
  char buf[256], *text;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_options o = GAUTH_OPTIONS_INIT;
  cJSON *j = cJSON_CreateObject(), *src;
  gauth_status st;
  cJSON_AddStringToObject(j, "type", "external_account");
  cJSON_AddStringToObject(j, "audience", AUD);
  cJSON_AddStringToObject(j, "subject_token_type", AWS_TYPE);
  cJSON_AddStringToObject(j, "token_url", ts_url(s, "/v1/token", buf, 256));
  src = cJSON_AddObjectToObject(j, "credential_source");
  cJSON_AddStringToObject(src, "environment_id", "aws1");
  cJSON_AddStringToObject(
      src, "region_url",
      region_url ? region_url
                 : ts_url(s, "/latest/meta-data/placement/availability-zone",
                          buf, 256));
  cJSON_AddStringToObject(
      src, "url",
      ts_url(s, "/latest/meta-data/iam/security-credentials", buf, 256));
  cJSON_AddStringToObject(src, "regional_cred_verification_url", VERIFY);
  if (imdsv2)
    cJSON_AddStringToObject(src, "imdsv2_session_token_url",
                            ts_url(s, "/latest/api/token", buf, 256));
  text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  o.retry.max_attempts = 1;
  o.timeout_ms = 5000;
  co.options = &o;
  co.clock = fixed_clock;
  st = gauth_credentials_from_json(c, text, strlen(text), &co, err);
  free(text);
  return st;
}

static char *percent_decode(const char *s, size_t n) {
  char *out = malloc(n + 1), *o = out;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1) {
      *o++ = (char)v;
      i += 2;
    } else {
      *o++ = s[i] == '+' ? ' ' : s[i];
    }
  }
  *o = '\0';
  return out;
}

/* The subject token STS received, decoded twice (the form, then the
 * token's own percent-encoding), as JSON. */
static cJSON *received_subject(ts_server *s) {
  ts_request r;
  const char *p, *e;
  char *form_value, *json;
  cJSON *j;
  cr_assert(ts_last_request(s, "/v1/token", &r), "STS saw no request");
  cr_assert_not_null(strstr(r.body,
                            "subject_token_type=urn%3Aietf%3Aparams"
                            "%3Aaws%3Atoken-type%3Aaws4_request"),
                     "%s", r.body);
  p = strstr(r.body, "subject_token=");
  cr_assert_not_null(p);
  p += strlen("subject_token=");
  e = strchr(p, '&');
  form_value = percent_decode(p, e ? (size_t)(e - p) : strlen(p));
  cr_assert_null(strchr(form_value, '{'), "the token is not percent-encoded");
  json = percent_decode(form_value, strlen(form_value));
  j = cJSON_Parse(json);
  cr_assert_not_null(j, "%s", json);
  cr_assert_null(strstr(json, SECRET), "the secret key is in the token");
  free(form_value);
  free(json);
  ts_request_cleanup(&r);
  return j;
}

static const char *header_of(const cJSON *tok, size_t i, const char *key) {
  const cJSON *h =
      cJSON_GetArrayItem(cJSON_GetObjectItem(tok, "headers"), (int)i);
  cr_assert_not_null(h, "no header %zu", i);
  cr_assert_str_eq(cJSON_GetObjectItem(h, "key")->valuestring, key);
  return cJSON_GetObjectItem(h, "value")->valuestring;
}

static void has_header(ts_server *s, const char *path, const char *line) {
  ts_request r;
  cr_assert(ts_last_request(s, path, &r), "no request on %s", path);
  cr_assert_not_null(strcasestr(r.headers, line), "%s: %s", path, r.headers);
  ts_request_cleanup(&r);
}

Test(aws, environment_credentials) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  ts_server *s = start_fakes(1);
  cJSON *j;
  clear_env();
  setenv("AWS_REGION", "ap-south-1", 1);
  setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
  cr_assert_eq(aws_creds(s, 1, NULL, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, "ya29.federated");
  /* Everything from the environment: no metadata call, not even IMDSv2's. */
  cr_assert_eq(ts_count(s, NULL), 1);
  j = received_subject(s);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "url")->valuestring,
                   "https://sts.ap-south-1.amazonaws.com"
                   "?Action=GetCallerIdentity&Version=2011-06-15");
  cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, "POST");
  cr_assert_not_null(
      strstr(header_of(j, 0, "Authorization"),
             "AWS4-HMAC-SHA256 Credential=AKIDENV/20240102/ap-south-1/sts/"
             "aws4_request, SignedHeaders=host;x-amz-date;"
             "x-goog-cloud-target-resource, Signature="));
  cr_assert_str_eq(header_of(j, 1, "host"), "sts.ap-south-1.amazonaws.com");
  cr_assert_str_eq(header_of(j, 2, "x-amz-date"), "20240102T030405Z");
  cr_assert_str_eq(header_of(j, 3, "x-goog-cloud-target-resource"), AUD);
  cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "headers")), 4);
  cJSON_Delete(j);
  gauth_free(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(aws, environment_session_token_and_default_region) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  ts_server *s = start_fakes(0);
  cJSON *j;
  clear_env();
  setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
  setenv("AWS_ACCESS_KEY_ID", "ASIAENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
  setenv("AWS_SESSION_TOKEN", SESSION, 1);
  cr_assert_eq(aws_creds(s, 0, NULL, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  j = received_subject(s);
  cr_assert_not_null(strstr(header_of(j, 0, "Authorization"),
                            "/us-west-1/sts/aws4_request, SignedHeaders=host;"
                            "x-amz-date;x-amz-security-token;"
                            "x-goog-cloud-target-resource,"));
  cr_assert_str_eq(header_of(j, 3, "x-amz-security-token"), SESSION);
  cr_assert_str_eq(header_of(j, 4, "x-goog-cloud-target-resource"), AUD);
  cJSON_Delete(j);
  gauth_free(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(aws, imdsv2_region_and_role) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  ts_server *s = start_fakes(1);
  ts_request r;
  cJSON *j;
  clear_env();
  cr_assert_eq(aws_creds(s, 1, NULL, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert(ts_last_request(s, "/latest/api/token", &r));
  cr_assert_str_eq(r.method, "PUT");
  cr_assert_not_null(
      strcasestr(r.headers, "x-aws-ec2-metadata-token-ttl-seconds: 300"));
  ts_request_cleanup(&r);
  has_header(s, "/latest/meta-data/placement/availability-zone",
             "x-aws-ec2-metadata-token: " IMDS_TOKEN);
  has_header(s, "/latest/meta-data/iam/security-credentials",
             "x-aws-ec2-metadata-token: " IMDS_TOKEN);
  has_header(s, "/latest/meta-data/iam/security-credentials/gauth-role",
             "x-aws-ec2-metadata-token: " IMDS_TOKEN);
  j = received_subject(s);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "url")->valuestring,
                   "https://sts.eu-west-3.amazonaws.com"
                   "?Action=GetCallerIdentity&Version=2011-06-15");
  cr_assert_not_null(strstr(header_of(j, 0, "Authorization"),
                            "Credential=ASIAIMDS/20240102/eu-west-3/sts/"));
  cr_assert_str_eq(header_of(j, 3, "x-amz-security-token"), SESSION);
  cJSON_Delete(j);
  gauth_free(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(aws, imdsv1_without_session_url) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  ts_server *s = start_fakes(0);
  ts_request r;
  clear_env();
  setenv("AWS_REGION", "us-east-2", 1);
  cr_assert_eq(aws_creds(s, 0, NULL, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(ts_count(s, "/latest/meta-data/placement/availability-zone"), 0);
  cr_assert(
      ts_last_request(s, "/latest/meta-data/iam/security-credentials", &r));
  cr_assert_null(strcasestr(r.headers, "x-aws-ec2-metadata-token"));
  ts_request_cleanup(&r);
  gauth_free(tok);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(aws, metadata_errors_name_the_step_without_secrets) {
  static const ts_response bad_creds = {
      .body = "{\"AccessKeyId\":\"ASIA\",\"Token\":\"" SESSION "\"}"};
  static const ts_response denied = {.status = 401, .body = "no"};
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  ts_server *s = start_fakes(1);
  clear_env();
  ts_route(s, "/latest/meta-data/iam/security-credentials/gauth-role",
           &bad_creds, 1);
  cr_assert_eq(aws_creds(s, 1, NULL, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_neq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
                GAUTH_OK);
  cr_assert_not_null(strstr(err.message, "SecretAccessKey"), "%s", err.message);
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  ts_route(s, "/latest/api/token", &denied, 1);
  cr_assert_neq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
                GAUTH_OK);
  cr_assert_not_null(strstr(err.message, "IMDSv2"), "%s", err.message);
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  cr_assert_eq(ts_count(s, "/v1/token"), 0);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(aws, metadata_url_outside_allowed_hosts) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  ts_server *s = start_fakes(0);
  clear_env();
  cr_assert_eq(aws_creds(s, 0, "http://169.254.170.2/latest/region", &c, &err),
               GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "region_url"), "%s", err.message);
  cr_assert_null(c);
  cr_assert_eq(aws_creds(s, 0, "https://example.com/region", &c, &err),
               GAUTH_E_MALFORMED);
  cr_assert_eq(ts_count(s, NULL), 0);
  ts_stop(s);
}

Test(aws, no_region_anywhere) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  ts_server *s = start_fakes(0);
  static const ts_response zone = {.body = "x"};
  clear_env();
  ts_route(s, "/latest/meta-data/placement/availability-zone", &zone, 1);
  cr_assert_eq(aws_creds(s, 0, NULL, &c, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "availability zone"), "%s",
                     err.message);
  gauth_credentials_free(c);
  ts_stop(s);
}
