/* External accounts, pure parts: the file's members (each error names its
 * member), unsupported sources, the subject token's extraction (text
 * trimming, JSON fields), the STS form, the STS reply, the audience's
 * project number, and what the credential answers without a request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "cred_external.h"
#include "credentials_internal.h"
#include "http.h"
#include "secret.h"

#define AUD                                                      \
  "//iam.googleapis.com/projects/123456789012/locations/global/" \
  "workloadIdentityPools/pool/providers/ci"
#define WF_AUD \
  "//iam.googleapis.com/locations/global/workforcePools/wf/providers/p"
#define JWT_TYPE "urn:ietf:params:oauth:token-type:jwt"
#define TARGET "runner@demo-project.iam.gserviceaccount.com"
#define IMP_URL                                                                 \
  "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" TARGET \
  ":generateAccessToken"
#define CANARY "CANARY-subject-5531"

static void assert_clean(const char *text) {
  cr_assert_null(strstr(text, "CANARY"), "a secret in: %s", text);
}

/* A valid file with a text file source; tests edit it. */
static cJSON *ext_json(void) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", "external_account");
  cJSON_AddStringToObject(o, "audience", AUD);
  cJSON_AddStringToObject(o, "subject_token_type", JWT_TYPE);
  cJSON_AddStringToObject(o, "token_url",
                          "https://sts.googleapis.com/v1/token");
  cJSON *src = cJSON_AddObjectToObject(o, "credential_source");
  cJSON_AddStringToObject(src, "file", "/var/run/token");
  return o;
}

static cJSON *source_of(cJSON *o) {
  return cJSON_GetObjectItem(o, "credential_source");
}

static gauth_status parse(const cJSON *j, gauth__external_config *x,
                          gauth_error *err) {
  return gauth__external_config_parse(j, x, err);
}

/* ---- the file ------------------------------------------------------------ */

Test(file, minimal) {
  cJSON *j = ext_json();
  gauth__external_config x;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(x.audience, AUD);
  cr_assert_str_eq(x.subject_token_type, JWT_TYPE);
  cr_assert_str_eq(x.token_url, "https://sts.googleapis.com/v1/token");
  cr_assert_eq(x.source, GAUTH__SUBJECT_FILE);
  cr_assert_str_eq(x.path, "/var/run/token");
  cr_assert_null(x.url);
  cr_assert_null(x.headers);
  cr_assert_eq(x.json_format, 0);
  cr_assert_null(x.impersonation_url);
  cr_assert_null(x.impersonation_email);
  cr_assert_eq(x.lifetime_seconds, 0);
  cr_assert_null(x.quota_project);
  gauth__external_config_cleanup(&x);
  cr_assert_null(x.audience);
  /* token_url is optional. */
  cJSON_DeleteItemFromObject(j, "token_url");
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s", err.message);
  cr_assert_null(x.token_url);
  gauth__external_config_cleanup(&x);
  cJSON_Delete(j);
}

Test(file, full) {
  cJSON *j = ext_json();
  cJSON_AddStringToObject(j, "service_account_impersonation_url", IMP_URL);
  cJSON *imp = cJSON_AddObjectToObject(j, "service_account_impersonation");
  cJSON_AddNumberToObject(imp, "token_lifetime_seconds", 1800);
  cJSON_AddStringToObject(j, "quota_project_id", "billing");
  cJSON_DeleteItemFromObject(j, "credential_source");
  cJSON *src = cJSON_AddObjectToObject(j, "credential_source");
  cJSON_AddStringToObject(src, "url", "http://169.254.169.254/token?x=1");
  cJSON *h = cJSON_AddObjectToObject(src, "headers");
  cJSON_AddStringToObject(h, "Metadata", "True");
  cJSON_AddStringToObject(h, "X-Other", "a b");
  cJSON *f = cJSON_AddObjectToObject(src, "format");
  cJSON_AddStringToObject(f, "type", "json");
  cJSON_AddStringToObject(f, "subject_token_field_name", "access_token");
  gauth__external_config x;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(x.source, GAUTH__SUBJECT_URL);
  cr_assert_str_eq(x.url, "http://169.254.169.254/token?x=1");
  cr_assert_null(x.path);
  cr_assert_str_eq(x.headers[0], "Metadata: True");
  cr_assert_str_eq(x.headers[1], "X-Other: a b");
  cr_assert_null(x.headers[2]);
  cr_assert_eq(x.json_format, 1);
  cr_assert_str_eq(x.field_name, "access_token");
  cr_assert_str_eq(x.impersonation_url, IMP_URL);
  cr_assert_str_eq(x.impersonation_email, TARGET);
  cr_assert_eq(x.lifetime_seconds, 1800);
  cr_assert_str_eq(x.quota_project, "billing");
  gauth__external_config_cleanup(&x);
  cJSON_Delete(j);
}

/* Each edit of a valid file, and the member its error must name. */
typedef struct edit {
  const char *member; /* top-level member to set (NULL: in source) */
  const char *json;   /* its new JSON value; NULL: delete it */
  const char *names;
} edit;

static void apply(cJSON *j, const edit *e) {
  cJSON *where = j;
  const char *name = e->member;
  if (strncmp(name, "source.", 7) == 0) {
    where = source_of(j);
    name += 7;
  }
  cJSON_DeleteItemFromObject(where, name);
  if (e->json != NULL) {
    cJSON *v = cJSON_Parse(e->json);
    cr_assert_not_null(v, "bad test value %s", e->json);
    cJSON_AddItemToObject(where, name, v);
  }
}

static const edit malformed[] = {
    {"audience", NULL, "\"audience\""},
    {"audience", "5", "\"audience\""},
    {"audience", "\"\"", "\"audience\""},
    {"subject_token_type", NULL, "\"subject_token_type\""},
    {"subject_token_type", "[]", "\"subject_token_type\""},
    {"token_url", "true", "\"token_url\""},
    {"service_account_impersonation_url", "1",
     "\"service_account_impersonation_url\""},
    {"service_account_impersonation_url",
     "\"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
     "x:generateAccessToken\"",
     "\"service_account_impersonation_url\""},
    {"service_account_impersonation", "3", "\"service_account_impersonation\""},
    {"service_account_impersonation", "{\"token_lifetime_seconds\":\"1h\"}",
     "\"token_lifetime_seconds\""},
    {"service_account_impersonation", "{\"token_lifetime_seconds\":599}",
     "\"token_lifetime_seconds\""},
    {"service_account_impersonation", "{\"token_lifetime_seconds\":43201}",
     "\"token_lifetime_seconds\""},
    {"credential_source", NULL, "\"credential_source\""},
    {"credential_source", "\"/var/run/token\"", "\"credential_source\""},
    {"credential_source", "{}", "credential_source: missing field \"file\""},
    {"source.file", "7", "credential_source: field \"file\""},
    {"source.file", "\"\"", "credential_source: field \"file\""},
    {"source.url", "\"http://127.0.0.1/t\"", "\"file\" and \"url\""},
    {"source.headers", "{\"A\":\"b\"}", "credential_source: field \"headers\""},
    {"source.format", "\"json\"", "credential_source: field \"format\""},
    {"source.format", "{\"type\":\"xml\"}",
     "credential_source: format: field \"type\""},
    {"source.format", "{\"type\":1}", "credential_source: field \"type\""},
    {"source.format", "{\"type\":\"json\"}",
     "credential_source: format: missing field \"subject_token_field_name\""},
    {"source.format", "{\"type\":\"json\",\"subject_token_field_name\":false}",
     "\"subject_token_field_name\""},
    {"quota_project_id", "{}", "\"quota_project_id\""},
    {"workforce_pool_user_project", "\"p\"", "\"workforce_pool_user_project\""},
    {"workforce_pool_user_project", "2", "\"workforce_pool_user_project\""},
    {"client_secret", "\"" CANARY "\"", "\"client_secret\" needs"},
    {"client_id", "[]", "\"client_id\""},
};

Test(file, malformed_members) {
  for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
    cJSON *j = ext_json();
    gauth__external_config x;
    gauth_error err = GAUTH_ERROR_INIT;
    apply(j, &malformed[i]);
    cr_assert_eq(parse(j, &x, &err), GAUTH_E_MALFORMED, "case %zu: %s", i,
                 err.message);
    cr_assert_eq(err.code, GAUTH_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, malformed[i].names), "case %zu: %s",
                       i, err.message);
    cr_assert_null(x.audience, "case %zu: not cleaned up", i);
    assert_clean(err.message);
    cJSON_Delete(j);
  }
}

Test(file, url_source_headers) {
  static const char *const bad[] = {"{\"Bad Name\":\"v\"}",
                                    "{\"A\":\"line\\r\\nX-Injected: 1\"}",
                                    "{\"A\":5}", "[\"A: b\"]"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cJSON *j = ext_json();
    gauth__external_config x;
    gauth_error err = GAUTH_ERROR_INIT;
    cJSON *src = source_of(j);
    cJSON_DeleteItemFromObject(src, "file");
    cJSON_AddStringToObject(src, "url", "http://127.0.0.1:1/token");
    cJSON_AddItemToObject(src, "headers", cJSON_Parse(bad[i]));
    cr_assert_eq(parse(j, &x, &err), GAUTH_E_MALFORMED, "case %zu", i);
    cr_assert_not_null(strstr(err.message, "\"headers\""), "case %zu: %s", i,
                       err.message);
    cJSON_Delete(j);
  }
}

Test(file, workforce_user_project) {
  cJSON *j = ext_json();
  gauth__external_config x;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_ReplaceItemInObject(j, "audience", cJSON_CreateString(WF_AUD));
  cJSON_AddStringToObject(j, "workforce_pool_user_project", "user-proj");
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(x.user_project, "user-proj");
  gauth__external_config_cleanup(&x);
  cJSON_Delete(j);
}

Test(file, unsupported_sources) {
  static const struct {
    const char *source;
    const char *names;
  } cases[] = {
      {"{\"environment_id\":\"aws2\",\"regional_cred_verification_url\":"
       "\"https://sts.{region}.amazonaws.com\"}",
       "credential_source.environment_id aws2: AWS version 2"},
      {"{\"environment_id\":\"azure9\"}", "credential_source.environment_id"},
      {"{\"certificate\":{\"use_default_certificate_config\":true}}",
       "credential_source.certificate"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cJSON *j = ext_json();
    gauth__external_config x;
    gauth_error err = GAUTH_ERROR_INIT;
    cJSON_ReplaceItemInObject(j, "credential_source",
                              cJSON_Parse(cases[i].source));
    cr_assert_eq(parse(j, &x, &err), GAUTH_E_UNSUPPORTED, "case %zu: %s", i,
                 err.message);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s", i,
                       err.message);
    cr_assert_not_null(
        strstr(err.message, i == 0 ? "supports aws1"
                                   : "credential_source.file, "
                                     "credential_source.url, "
                                     "credential_source.executable and "
                                     "credential_source.environment_id aws1"),
        "case %zu: %s", i, err.message);
    cJSON_Delete(j);
  }
}

/* ---- AWS ----------------------------------------------------------------- */

#define AWS_TYPE "urn:ietf:params:aws:token-type:aws4_request"
#define AWS_VERIFY \
  "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"

/* A valid AWS file (IMDSv2); tests edit its source. */
static cJSON *aws_json(void) {
  cJSON *o = ext_json();
  cJSON *src = cJSON_CreateObject();
  cJSON_ReplaceItemInObject(o, "subject_token_type",
                            cJSON_CreateString(AWS_TYPE));
  cJSON_AddStringToObject(src, "environment_id", "aws1");
  cJSON_AddStringToObject(
      src, "region_url",
      "http://169.254.169.254/latest/meta-data/placement/availability-zone");
  cJSON_AddStringToObject(
      src, "url",
      "http://169.254.169.254/latest/meta-data/iam/security-credentials");
  cJSON_AddStringToObject(src, "regional_cred_verification_url", AWS_VERIFY);
  cJSON_AddStringToObject(src, "imdsv2_session_token_url",
                          "http://169.254.169.254/latest/api/token");
  cJSON_ReplaceItemInObject(o, "credential_source", src);
  return o;
}

Test(aws, parse_ok) {
  static const char *const hosts[] = {"http://[fd00:ec2::254]/latest",
                                      "http://127.0.0.1:8080/x",
                                      "http://localhost/y", "http://[::1]/z"};
  cJSON *j = aws_json();
  gauth__external_config x;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(x.source, GAUTH__SUBJECT_AWS);
  cr_assert_not_null(x.aws);
  gauth__external_config_cleanup(&x);
  for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
    cJSON_ReplaceItemInObject(source_of(j), "region_url",
                              cJSON_CreateString(hosts[i]));
    cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s: %s", hosts[i], err.message);
    gauth__external_config_cleanup(&x);
  }
  /* Only the verification URL is required. */
  cJSON_DeleteItemFromObject(source_of(j), "region_url");
  cJSON_DeleteItemFromObject(source_of(j), "url");
  cJSON_DeleteItemFromObject(source_of(j), "imdsv2_session_token_url");
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s", err.message);
  gauth__external_config_cleanup(&x);
  cJSON_Delete(j);
}

Test(aws, parse_refused) {
  static const struct {
    const char *member, *value; /* value NULL: member removed */
    gauth_status st;
    const char *names;
  } cases[] = {
      {"environment_id", "aws2", GAUTH_E_UNSUPPORTED, "AWS version 2"},
      {"environment_id", "aws", GAUTH_E_UNSUPPORTED, "environment_id aws"},
      {"environment_id", "azure1", GAUTH_E_UNSUPPORTED, "environment_id"},
      {"regional_cred_verification_url", NULL, GAUTH_E_MALFORMED,
       "regional_cred_verification_url"},
      {"regional_cred_verification_url", "http://sts.{region}.amazonaws.com",
       GAUTH_E_MALFORMED, "regional_cred_verification_url"},
      {"region_url", "http://169.254.169.253/latest", GAUTH_E_MALFORMED,
       "\"region_url\""},
      {"url", "https://169.254.169.254/latest", GAUTH_E_MALFORMED, "\"url\""},
      {"url", "http://metadata.example.com/latest", GAUTH_E_MALFORMED,
       "\"url\""},
      {"imdsv2_session_token_url", "http://[fd00:ec2::253]/latest/api/token",
       GAUTH_E_MALFORMED, "imdsv2_session_token_url"},
      {"imdsv2_session_token_url", "http://u:p@169.254.169.254/",
       GAUTH_E_MALFORMED, "imdsv2_session_token_url"},
      {"region_url", "", GAUTH_E_MALFORMED, "region_url"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cJSON *j = aws_json();
    gauth__external_config x;
    gauth_error err = GAUTH_ERROR_INIT;
    if (cases[i].value == NULL)
      cJSON_DeleteItemFromObject(source_of(j), cases[i].member);
    else
      cJSON_ReplaceItemInObject(source_of(j), cases[i].member,
                                cJSON_CreateString(cases[i].value));
    cr_assert_eq(parse(j, &x, &err), cases[i].st, "case %zu: %s", i,
                 err.message);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s", i,
                       err.message);
    cJSON_Delete(j);
  }
}

Test(aws, wrong_subject_token_type) {
  cJSON *j = aws_json();
  gauth__external_config x;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_ReplaceItemInObject(j, "subject_token_type",
                            cJSON_CreateString(JWT_TYPE));
  cr_assert_eq(parse(j, &x, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "subject_token_type"), "%s",
                     err.message);
  cr_assert_not_null(strstr(err.message, AWS_TYPE), "%s", err.message);
  cJSON_Delete(j);
}

/* The serialized request decodes to Google's JSON: url, method, headers in
 * key order with Authorization first. */
static char *percent_decode(const char *s) {
  char *out = malloc(strlen(s) + 1), *o = out;
  for (; *s; s++) {
    if (*s == '%') {
      unsigned v;
      cr_assert_eq(sscanf(s + 1, "%2x", &v), 1);
      *o++ = (char)v;
      s += 2;
    } else {
      cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789-_.~",
                       *s),
                "unencoded byte %c", *s);
      *o++ = *s;
    }
  }
  *o = '\0';
  return out;
}

/* The metadata service's text replies: trimmed, checked, and refused
 * when a NUL byte is inside (they were read as the text before it:
 * "us-east-2\0junk" gave region "us-east-"). */
Test(aws, metadata_text_replies) {
  char *out = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__aws_region_from_zone(" us-east-2b\n", 12, &out, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(out, "us-east-2");
  free(out);
  cr_assert_eq(gauth__aws_role_parse("role-1\n", 7, &out, &err), GAUTH_OK);
  cr_assert_str_eq(out, "role-1");
  free(out);
  cr_assert_eq(gauth__aws_imdsv2_token_parse(
                   "AQAE" CANARY "\r\n", sizeof("AQAE" CANARY) + 1, &out, &err),
               GAUTH_OK);
  cr_assert_str_eq(out, "AQAE" CANARY);
  gauth__secret_strfree(out);

  static const struct {
    const char *body;
    size_t len;
  } nul[] = {{"us-east-2\0junk", 14}, {"us-east-2b\0", 11}, {"b%\0\xb0", 4}};
  for (size_t i = 0; i < sizeof nul / sizeof *nul; i++) {
    out = (char *)"junk";
    cr_assert_eq(
        gauth__aws_region_from_zone(nul[i].body, nul[i].len, &out, &err),
        GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(out);
    cr_assert_not_null(strstr(err.message, "NUL byte"), "%s", err.message);
    cr_assert_eq(gauth__aws_role_parse(nul[i].body, nul[i].len, &out, &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(out);
    cr_assert_eq(
        gauth__aws_imdsv2_token_parse(nul[i].body, nul[i].len, &out, &err),
        GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(out);
  }
  static const char *const bad_zone[] = {
      "", " \n", "b", "US-EAST-2B", "us east 2b", "us/east-2b"};
  for (size_t i = 0; i < sizeof bad_zone / sizeof *bad_zone; i++) {
    cr_assert_eq(gauth__aws_region_from_zone(bad_zone[i], strlen(bad_zone[i]),
                                             &out, &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(out);
  }
  static const char *const bad_role[] = {"", "a/b", "a b", "a?b", "a%2f"};
  for (size_t i = 0; i < sizeof bad_role / sizeof *bad_role; i++) {
    cr_assert_eq(
        gauth__aws_role_parse(bad_role[i], strlen(bad_role[i]), &out, &err),
        GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(out);
  }
  cr_assert_eq(gauth__aws_imdsv2_token_parse("a\nb", 3, &out, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_assert_null(out);
}

Test(aws, security_credentials_reply) {
  const char *body =
      "{\"Code\":\"Success\",\"AccessKeyId\":\"AKIDEXAMPLE\","
      "\"SecretAccessKey\":\"" CANARY "\",\"Token\":\"tok" CANARY "\"}";
  char *id = NULL, *secret = NULL, *session = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__aws_security_credentials_parse(body, strlen(body), &id,
                                                     &secret, &session, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(id, "AKIDEXAMPLE");
  cr_assert_str_eq(secret, CANARY);
  cr_assert_str_eq(session, "tok" CANARY);
  free(id);
  gauth__secret_strfree(secret);
  gauth__secret_strfree(session);
  static const char *const bad[] = {
      "{\"AccessKeyId\":\"A\"}",
      "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"" CANARY "\"}",
      "{\"AccessKeyId\":1,\"SecretAccessKey\":\"" CANARY "\"}",
      "[\"" CANARY "\"]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    id = secret = session = (char *)"junk";
    cr_assert_eq(gauth__aws_security_credentials_parse(
                     bad[i], strlen(bad[i]), &id, &secret, &session, &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu: %s", i, err.message);
    cr_assert(id == NULL && secret == NULL && session == NULL);
    cr_assert_not_null(strstr(err.message, "security credentials"), "%s",
                       err.message);
    assert_clean(err.message);
  }
}

Test(aws, serialize) {
  gauth__sigv4_header h[] = {{"x-goog-cloud-target-resource", AUD}};
  gauth__sigv4_request r = {0};
  gauth__sigv4_result sig;
  char *tok = NULL, *json;
  r.method = "POST";
  r.url =
      "https://sts.us-east-2.amazonaws.com"
      "?Action=GetCallerIdentity&Version=2011-06-15";
  r.region = "us-east-2";
  r.service = "sts";
  r.headers = h;
  r.header_count = 1;
  r.time = 1704164645;
  r.access_key_id = "AKIDTEST";
  r.secret_access_key = CANARY;
  r.session_token = "SESSION-1";
  cr_assert_eq(gauth__sigv4_sign(&r, &sig, NULL), GAUTH_OK);
  cr_assert_eq(gauth__external_aws_serialize(r.url, &sig, r.session_token, AUD,
                                             &tok, NULL),
               GAUTH_OK);
  json = percent_decode(tok);
  {
    char expect[2048];
    snprintf(expect, sizeof expect,
             "{\"url\":\"%s\",\"method\":\"POST\",\"headers\":["
             "{\"key\":\"Authorization\",\"value\":\"%s\"},"
             "{\"key\":\"host\",\"value\":\"sts.us-east-2.amazonaws.com\"},"
             "{\"key\":\"x-amz-date\",\"value\":\"20240102T030405Z\"},"
             "{\"key\":\"x-amz-security-token\",\"value\":\"SESSION-1\"},"
             "{\"key\":\"x-goog-cloud-target-resource\",\"value\":\"%s\"}]}",
             r.url, sig.authorization, AUD);
    cr_assert_str_eq(json, expect);
  }
  cr_assert_null(strstr(json, CANARY));
  free(json);
  gauth__secret_strfree(tok);
  /* No session token: no x-amz-security-token entry. */
  r.session_token = NULL;
  gauth__sigv4_result_cleanup(&sig);
  cr_assert_eq(gauth__sigv4_sign(&r, &sig, NULL), GAUTH_OK);
  cr_assert_eq(
      gauth__external_aws_serialize(r.url, &sig, NULL, AUD, &tok, NULL),
      GAUTH_OK);
  json = percent_decode(tok);
  cr_assert_null(strstr(json, "x-amz-security-token"), "%s", json);
  free(json);
  gauth__secret_strfree(tok);
  gauth__sigv4_result_cleanup(&sig);
}

/* ---- the subject token --------------------------------------------------- */

static gauth_status extract(const char *data, int json, const char *field,
                            char **tok, gauth_error *err) {
  return gauth__subject_token_extract(data, strlen(data), json, field,
                                      "file /t", GAUTH_E_MALFORMED, tok, err);
}

Test(subject, text) {
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(extract(" \t" CANARY "\r\n\n", 0, NULL, &tok, &err), GAUTH_OK);
  cr_assert_str_eq(tok, CANARY);
  gauth__secret_strfree(tok);
  cr_assert_eq(extract("a b", 0, NULL, &tok, &err), GAUTH_OK);
  cr_assert_str_eq(tok, "a b");
  gauth__secret_strfree(tok);
  cr_assert_eq(extract(" \n\t ", 0, NULL, &tok, &err), GAUTH_E_MALFORMED);
  cr_assert_null(tok);
  cr_assert_not_null(strstr(err.message, "file /t is empty"), "%s",
                     err.message);
  cr_assert_eq(extract("", 0, NULL, &tok, &err), GAUTH_E_MALFORMED);
  const char nul[] = CANARY "\0x";
  cr_assert_eq(gauth__subject_token_extract(nul, sizeof nul - 1, 0, NULL, "u",
                                            GAUTH_E_BAD_RESPONSE, &tok, &err),
               GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "NUL"), "%s", err.message);
  assert_clean(err.message);
  /* 64 KiB is the limit. */
  size_t big = GAUTH__SUBJECT_TOKEN_MAX;
  char *data = malloc(big + 1);
  memset(data, 'a', big + 1);
  cr_assert_eq(gauth__subject_token_extract(data, big, 0, NULL, "u",
                                            GAUTH_E_MALFORMED, &tok, &err),
               GAUTH_OK);
  cr_assert_eq(strlen(tok), big);
  gauth__secret_strfree(tok);
  cr_assert_eq(gauth__subject_token_extract(data, big + 1, 0, NULL, "u",
                                            GAUTH_E_MALFORMED, &tok, &err),
               GAUTH_E_TOO_LARGE);
  free(data);
}

Test(subject, json) {
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(extract("{\"id_token\":\" " CANARY " \",\"n\":1}", 1, "id_token",
                       &tok, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, " " CANARY " "); /* JSON values are not trimmed */
  gauth__secret_strfree(tok);
  static const struct {
    const char *data;
    const char *names;
  } bad[] = {
      {"{\"access_token\":\"" CANARY "\"}", "missing field \"id_token\""},
      {"{\"id_token\":42}", "field \"id_token\" is a number"},
      {"{\"id_token\":null}", "\"id_token\""},
      {"{\"id_token\":{\"v\":\"" CANARY "\"}}",
       "field \"id_token\" is an object"},
      {"{\"id_token\":\"\"}", "field \"id_token\" is empty"},
      {"{\"id_token\":\"" CANARY, "subject token from file /t"},
      {CANARY, "subject token from file /t"},
      {"[\"" CANARY "\"]", "subject token from file /t"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tok = (char *)"x";
    cr_assert_eq(extract(bad[i].data, 1, "id_token", &tok, &err),
                 GAUTH_E_MALFORMED, "case %zu: %s", i, err.message);
    cr_assert_null(tok);
    cr_assert_eq(err.code, GAUTH_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, bad[i].names), "case %zu: %s", i,
                       err.message);
    cr_assert_not_null(strstr(err.message, "file /t"), "case %zu: %s", i,
                       err.message);
    assert_clean(err.message);
  }
}

/* ---- STS ----------------------------------------------------------------- */

static char *encode(const gauth__sts_form *f) {
  char *out = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__form_encode(f->fields, f->n, &out, &err), GAUTH_OK);
  return out;
}

Test(sts, form) {
  cJSON *j = ext_json();
  gauth__external_config x;
  gauth__sts_form f;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK);
  cr_assert_eq(gauth__sts_form_build(&x,
                                     "https://www.googleapis.com/auth/"
                                     "cloud-platform openid",
                                     CANARY, &f, &err),
               GAUTH_OK);
  char *body = encode(&f);
  cr_assert_str_eq(
      body,
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
      "&audience=%2F%2Fiam.googleapis.com%2Fprojects%2F123456789012%2F"
      "locations%2Fglobal%2FworkloadIdentityPools%2Fpool%2Fproviders%2Fci"
      "&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform%20"
      "openid"
      "&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3A"
      "access_token"
      "&subject_token=" CANARY
      "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt");
  /* The subject token is marked secret, nothing else. */
  for (size_t i = 0; i < f.n; i++)
    cr_assert_eq(f.fields[i].secret,
                 strcmp(f.fields[i].name, "subject_token") == 0, "%s",
                 f.fields[i].name);
  gauth__secret_strfree(body);
  gauth__sts_form_cleanup(&f);
  /* No scope: no scope field. */
  cr_assert_eq(gauth__sts_form_build(&x, "", "t", &f, &err), GAUTH_OK);
  body = encode(&f);
  cr_assert_null(strstr(body, "scope="), "%s", body);
  gauth__secret_strfree(body);
  gauth__sts_form_cleanup(&f);
  gauth__external_config_cleanup(&x);
  cJSON_Delete(j);
}

Test(sts, form_workforce_options) {
  cJSON *j = ext_json();
  gauth__external_config x;
  gauth__sts_form f;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_ReplaceItemInObject(j, "audience", cJSON_CreateString(WF_AUD));
  cJSON_AddStringToObject(j, "workforce_pool_user_project", "user-proj");
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth__sts_form_build(&x, "s", "t", &f, &err), GAUTH_OK);
  cr_assert_str_eq(f.fields[f.n - 1].name, "options");
  cr_assert_str_eq(f.fields[f.n - 1].value, "{\"userProject\":\"user-proj\"}");
  char *body = encode(&f);
  cr_assert(
      strstr(body, "&options=%7B%22userProject%22%3A%22user-proj%22%7D") !=
          NULL,
      "%s", body);
  gauth__secret_strfree(body);
  gauth__sts_form_cleanup(&f);
  gauth__external_config_cleanup(&x);
  /* With client authentication, the client's project pays: no options. */
  cJSON_AddStringToObject(j, "client_id", "cid");
  cJSON_AddStringToObject(j, "client_secret", "csecret");
  cr_assert_eq(parse(j, &x, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth__sts_form_build(&x, "s", "t", &f, &err), GAUTH_OK);
  for (size_t i = 0; i < f.n; i++)
    cr_assert_str_neq(f.fields[i].name, "options");
  gauth__sts_form_cleanup(&f);
  gauth__external_config_cleanup(&x);
  cJSON_Delete(j);
}

Test(sts, reply) {
  const char *body =
      "{\"access_token\":\"ya29." CANARY
      "\",\"issued_token_type\":"
      "\"urn:ietf:params:oauth:token-type:access_token\",\"token_type\":"
      "\"Bearer\",\"expires_in\":3599}";
  gauth__token t;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__sts_reply_parse(body, strlen(body), 1000, &t, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(t.value, "ya29." CANARY);
  cr_assert_eq(t.expires_at, 4599);
  gauth__token_cleanup(&t);
  body = "{\"access_token\":\"x\",\"token_type\":\"bearer\"}";
  cr_assert_eq(gauth__sts_reply_parse(body, strlen(body), 1000, &t, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(t.expires_at, 0);
  gauth__token_cleanup(&t);

  static const struct {
    const char *body, *names;
  } bad[] = {
      {"{\"token_type\":\"Bearer\",\"expires_in\":1}", "\"access_token\""},
      {"{\"access_token\":1}", "\"access_token\""},
      {"{\"access_token\":\"\"}", "\"access_token\""},
      {"{\"access_token\":\"" CANARY "\",\"issued_token_type\":"
       "\"urn:ietf:params:oauth:token-type:id_token\"}",
       "\"issued_token_type\""},
      {"{\"access_token\":\"" CANARY "\",\"issued_token_type\":3}",
       "\"issued_token_type\""},
      {"{\"access_token\":\"" CANARY "\",\"token_type\":\"MAC\"}",
       "\"token_type\""},
      {"{\"access_token\":\"" CANARY "\",\"expires_in\":\"3600\"}",
       "\"expires_in\""},
      {"{\"access_token\":\"" CANARY "\",\"expires_in\":-5}", "\"expires_in\""},
      {"{\"access_token\":\"" CANARY "\",\"expires_in\":1.5}",
       "\"expires_in\""},
      /* The token goes into an Authorization header: header-safe text
       * only (CR LF would inject a header). */
      {"{\"access_token\":\"ya29.a\\r\\nX-Injected: 1\"}", "\"access_token\""},
      {"{\"access_token\":\"ya29.a b\"}", "\"access_token\""},
      {"{\"access_token\":\"ya29.\\u00e9\"}", "\"access_token\""},
      {"{\"access_token\":\"" CANARY, "STS reply"},
      {"<html>" CANARY "</html>", "STS reply"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_eq(
        gauth__sts_reply_parse(bad[i].body, strlen(bad[i].body), 0, &t, &err),
        GAUTH_E_BAD_RESPONSE, "case %zu: %s", i, err.message);
    cr_assert_null(t.value);
    cr_assert_not_null(strstr(err.message, bad[i].names), "case %zu: %s", i,
                       err.message);
    cr_assert_not_null(strstr(err.message, "STS reply"), "%s", err.message);
    assert_clean(err.message);
  }
}

Test(sts, project_number) {
  char *p = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__external_project_number(AUD, &p, &err), GAUTH_OK);
  cr_assert_str_eq(p, "123456789012");
  free(p);
  static const char *const none[] = {
      WF_AUD, "//iam.googleapis.com/projects/my-proj/locations/global/x",
      "//iam.googleapis.com/projects//locations/", "https://example.com/", ""};
  for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
    p = (char *)"x";
    cr_assert_eq(gauth__external_project_number(none[i], &p, &err),
                 GAUTH_E_NOT_FOUND, "%s", none[i]);
    cr_assert_null(p);
  }
}

/* ---- the credential, without a request ----------------------------------- */

static gauth_credentials *load(cJSON *j, gauth_status want, gauth_error *err) {
  char *text = cJSON_PrintUnformatted(j);
  gauth_credentials *c = NULL;
  cr_assert_eq(gauth_credentials_from_json(&c, text, strlen(text), NULL, err),
               want, "%s", err->message);
  free(text);
  return c;
}

Test(credential, without_impersonation) {
  cJSON *j = ext_json();
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c = load(j, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_get_type(c),
               GAUTH_CREDENTIALS_EXTERNAL_ACCOUNT);
  char *s = NULL;
  int64_t exp = 7;
  cr_assert_eq(gauth_credentials_email(c, &s, &err), GAUTH_E_UNSUPPORTED);
  cr_assert_not_null(strstr(err.message, "service_account_impersonation_url"),
                     "%s", err.message);
  cr_assert_eq(
      gauth_credentials_id_token(c, "https://aud.example/", 0, &s, &exp, &err),
      GAUTH_E_UNSUPPORTED);
  cr_assert_not_null(strstr(err.message,
                            "ID tokens only through service "
                            "account impersonation"),
                     "%s", err.message);
  cr_assert_null(s);
  cr_assert_eq(exp, 0);
  cr_assert_eq(gauth_credentials_sign_blob(c, "x", 1, (unsigned char **)&s,
                                           (size_t *)&exp, NULL, &err),
               GAUTH_E_UNSUPPORTED);
  cr_assert_eq(gauth_credentials_project_id(c, &s, &err), GAUTH_OK);
  cr_assert_str_eq(s, "123456789012");
  gauth_free(s);
  gauth_credentials_free(c);
  cJSON_Delete(j);
}

Test(credential, with_impersonation) {
  cJSON *j = ext_json();
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_AddStringToObject(j, "service_account_impersonation_url", IMP_URL);
  cJSON_AddStringToObject(j, "quota_project_id", "billing");
  gauth_credentials *c = load(j, GAUTH_OK, &err);
  char *s = NULL;
  cr_assert_eq(gauth_credentials_email(c, &s, &err), GAUTH_OK);
  cr_assert_str_eq(s, TARGET);
  gauth_free(s);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "billing");
  gauth_credentials_free(c);
  cJSON_Delete(j);
}

Test(credential, refused_by_from_json) {
  cJSON *j = ext_json();
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_ReplaceItemInObject(j, "credential_source",
                            cJSON_Parse("{\"certificate\":{\"use_default_"
                                        "certificate_config\":true}}"));
  cr_assert_null(load(j, GAUTH_E_UNSUPPORTED, &err));
  cr_assert_not_null(strstr(err.message, "certificate"), "%s", err.message);
  cJSON_DeleteItemFromObject(j, "audience");
  cr_assert_null(load(j, GAUTH_E_MALFORMED, &err));
  cr_assert_not_null(strstr(err.message, "\"audience\""), "%s", err.message);
  cJSON_Delete(j);
}

/* ---- executable sources -------------------------------------------------- */

static gauth_status parse_exec(const char *exec_json, gauth__external_config *x,
                               gauth_error *err) {
  cJSON *j = ext_json();
  char src[1024];
  snprintf(src, sizeof src, "{\"executable\":%s}", exec_json);
  cJSON_ReplaceItemInObject(j, "credential_source", cJSON_Parse(src));
  gauth_status st = parse(j, x, err);
  cJSON_Delete(j);
  return st;
}

Test(executable, parse_defaults_and_split) {
  gauth__external_config x;
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned int ms = 0;
  const char *out = "x";
  cr_assert_eq(parse_exec("{\"command\":\"  /bin/tok --a=1\\t\\\"b c\\\"\\n\"}",
                          &x, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(x.source, GAUTH__SUBJECT_EXECUTABLE);
  const char *const *argv = gauth__external_exec_settings(x.exec, &ms, &out);
  /* Whitespace splits; quotes are ordinary characters (no shell). */
  cr_assert_str_eq(argv[0], "/bin/tok");
  cr_assert_str_eq(argv[1], "--a=1");
  cr_assert_str_eq(argv[2], "\"b");
  cr_assert_str_eq(argv[3], "c\"");
  cr_assert_null(argv[4]);
  cr_assert_eq(ms, 30000);
  cr_assert_null(out);
  gauth__external_config_cleanup(&x);

  cr_assert_eq(parse_exec("{\"command\":\"tok\",\"timeout_millis\":5000,"
                          "\"output_file\":\"/tmp/cache.json\"}",
                          &x, &err),
               GAUTH_OK, "%s", err.message);
  argv = gauth__external_exec_settings(x.exec, &ms, &out);
  cr_assert_str_eq(argv[0], "tok");
  cr_assert_null(argv[1]);
  cr_assert_eq(ms, 5000);
  cr_assert_str_eq(out, "/tmp/cache.json");
  gauth__external_config_cleanup(&x);
  /* 0 is the default, as in Google's libraries; 120000 the maximum. */
  cr_assert_eq(
      parse_exec("{\"command\":\"tok\",\"timeout_millis\":0}", &x, &err),
      GAUTH_OK, "%s", err.message);
  gauth__external_exec_settings(x.exec, &ms, &out);
  cr_assert_eq(ms, 30000);
  gauth__external_config_cleanup(&x);
  cr_assert_eq(
      parse_exec("{\"command\":\"tok\",\"timeout_millis\":120000}", &x, &err),
      GAUTH_OK, "%s", err.message);
  gauth__external_exec_settings(x.exec, &ms, &out);
  cr_assert_eq(ms, 120000);
  gauth__external_config_cleanup(&x);
}

Test(executable, parse_errors) {
  static const struct {
    const char *exec;
    const char *names;
  } cases[] = {
      {"{}", "missing field \"command\""},
      {"{\"command\":\"\"}", "field \"command\" is empty"},
      {"{\"command\":\" \\t \"}", "field \"command\" holds no program"},
      {"{\"command\":7}", "field \"command\""},
      {"{\"command\":\"tok\",\"timeout_millis\":4999}",
       "field \"timeout_millis\" must be 5000 to 120000"},
      {"{\"command\":\"tok\",\"timeout_millis\":120001}",
       "field \"timeout_millis\" must be 5000 to 120000"},
      {"{\"command\":\"tok\",\"timeout_millis\":-1}",
       "field \"timeout_millis\" must be"},
      {"{\"command\":\"tok\",\"timeout_millis\":\"5000\"}",
       "field \"timeout_millis\""},
      {"{\"command\":\"tok\",\"timeout_millis\":6000.5}",
       "field \"timeout_millis\""},
      {"{\"command\":\"tok\",\"output_file\":\"\"}",
       "field \"output_file\" is empty"},
      {"{\"command\":\"tok\",\"output_file\":3}", "field \"output_file\""},
      {"\"tok\"", "field \"executable\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    gauth__external_config x;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(parse_exec(cases[i].exec, &x, &err), GAUTH_E_MALFORMED,
                 "case %zu: %s", i, err.message);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s", i,
                       err.message);
    cr_assert_not_null(strstr(err.message, "credential_source"), "case %zu: %s",
                       i, err.message);
  }
  /* One source only. */
  cJSON *j = ext_json();
  gauth__external_config x;
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON_AddItemToObject(source_of(j), "executable",
                        cJSON_Parse("{\"command\":\"tok\"}"));
  cr_assert_eq(parse(j, &x, &err), GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "not several"), "%s", err.message);
  cJSON_Delete(j);
}

/* ---- executable responses (pure) ---------------------------------------- */

#define NOW 1800000000
#define SAML_TYPE "urn:ietf:params:oauth:token-type:saml2"
#define ID_TYPE "urn:ietf:params:oauth:token-type:id_token"

static gauth_status response(const char *json, const char *type, int need_exp,
                             char **tok, int64_t *exp, gauth_error *err) {
  gauth_status st = gauth__exec_response_parse(json, strlen(json), NOW, type,
                                               need_exp, tok, exp, err);
  assert_clean(err->message);
  assert_clean(err->error_code);
  return st;
}

Test(exec_response, valid) {
  char *tok = NULL;
  int64_t exp = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(response("{\"version\":1,\"success\":true,\"token_type\":"
                        "\"" JWT_TYPE "\",\"id_token\":\"" CANARY
                        "\",\"expiration_time\":1800000600}",
                        JWT_TYPE, 1, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, CANARY);
  cr_assert_eq(exp, 1800000600);
  gauth__secret_strfree(tok);
  /* id_token type; no expiration_time is allowed without an output file. */
  cr_assert_eq(response("{\"version\":1,\"success\":true,\"token_type\":"
                        "\"" ID_TYPE "\",\"id_token\":\"" CANARY "\"}",
                        ID_TYPE, 0, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, CANARY);
  cr_assert_eq(exp, 0);
  gauth__secret_strfree(tok);
  /* SAML: the token is saml_response. Expiring this very second is valid. */
  cr_assert_eq(response("{\"version\":1,\"success\":true,\"token_type\":"
                        "\"" SAML_TYPE "\",\"saml_response\":\"" CANARY
                        "\",\"expiration_time\":1800000000}",
                        SAML_TYPE, 1, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(tok, CANARY);
  gauth__secret_strfree(tok);
}

Test(exec_response, failure_quotes_code_and_message) {
  char *tok = (char *)"x";
  int64_t exp = 5;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(response("{\"version\":1,\"success\":false,\"code\":"
                        "\"401\",\"message\":\"Caller not authorized.\"}",
                        JWT_TYPE, 1, &tok, &exp, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert_null(tok);
  cr_assert_eq(exp, 0);
  cr_assert_str_eq(err.error_code, "401");
  cr_assert_not_null(strstr(err.message,
                            "reported a failure: code 401: "
                            "Caller not authorized."),
                     "%s", err.message);
}

Test(exec_response, expired) {
  char *tok = NULL;
  int64_t exp = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(response("{\"version\":1,\"success\":true,\"token_type\":"
                        "\"" JWT_TYPE "\",\"id_token\":\"" CANARY
                        "\",\"expiration_time\":1799999999}",
                        JWT_TYPE, 0, &tok, &exp, &err),
               GAUTH_E_UNAUTHENTICATED);
  cr_assert_null(tok);
  cr_assert_not_null(strstr(err.message, "expired"), "%s", err.message);
}

#define OK_HEAD "{\"version\":1,\"success\":true,"
#define JWT_OK "\"token_type\":\"" JWT_TYPE "\",\"id_token\":\"" CANARY "\""
#define EXP ",\"expiration_time\":1800000600"

Test(exec_response, malformed_and_lying) {
  static const struct {
    const char *json;
    const char *names;
  } cases[] = {
      {"", "JSON"},
      {"not json " CANARY, "JSON"},
      {"[1]", "object"},
      {"{\"success\":true," JWT_OK EXP "}", "\"version\""},
      {"{\"version\":\"1\",\"success\":true," JWT_OK EXP "}", "\"version\""},
      {"{\"version\":2,\"success\":true," JWT_OK EXP "}",
       "\"version\" is 2, libgauth reads version 1"},
      {"{\"version\":0,\"success\":true," JWT_OK EXP "}", "\"version\" is 0"},
      {"{\"version\":1.5,\"success\":true," JWT_OK EXP "}", "\"version\""},
      {"{\"version\":1," JWT_OK EXP "}", "\"success\""},
      {"{\"version\":1,\"success\":\"true\"," JWT_OK EXP "}", "\"success\""},
      {"{\"version\":1,\"success\":1," JWT_OK EXP "}", "\"success\""},
      {"{\"version\":1,\"success\":false}", "\"code\""},
      {"{\"version\":1,\"success\":false,\"code\":\"x\"}", "\"message\""},
      {"{\"version\":1,\"success\":false,\"code\":\"\",\"message\":\"m\"}",
       "\"code\" is empty"},
      {"{\"version\":1,\"success\":false,\"code\":1,\"message\":\"m\"}",
       "\"code\""},
      {OK_HEAD JWT_OK "}", "missing field \"expiration_time\""},
      {OK_HEAD JWT_OK ",\"expiration_time\":\"1800000600\"}",
       "\"expiration_time\""},
      {OK_HEAD JWT_OK ",\"expiration_time\":1800000600.5}",
       "\"expiration_time\""},
      {OK_HEAD "\"id_token\":\"" CANARY "\"" EXP "}", "\"token_type\""},
      {OK_HEAD "\"token_type\":\"bearer\",\"id_token\":\"" CANARY "\"" EXP "}",
       "\"token_type\" is bearer"},
      /* A SAML response to a file that expects a JWT. */
      {OK_HEAD "\"token_type\":\"" SAML_TYPE "\",\"saml_response\":\"" CANARY
               "\"" EXP "}",
       "subject_token_type is " JWT_TYPE},
      /* id_token type while the file says jwt: lying about the type. */
      {OK_HEAD "\"token_type\":\"" ID_TYPE "\",\"id_token\":\"" CANARY "\"" EXP
               "}",
       "subject_token_type"},
      /* Says jwt, carries saml_response. */
      {OK_HEAD "\"token_type\":\"" JWT_TYPE "\",\"saml_response\":\"" CANARY
               "\"" EXP "}",
       "missing field \"id_token\""},
      {OK_HEAD "\"token_type\":\"" JWT_TYPE "\",\"id_token\":\"\"" EXP "}",
       "\"id_token\" is empty"},
      {OK_HEAD "\"token_type\":\"" JWT_TYPE "\",\"id_token\":7" EXP "}",
       "\"id_token\""},
      {OK_HEAD "\"token_type\":7,\"id_token\":\"" CANARY "\"" EXP "}",
       "\"token_type\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *tok = (char *)"x";
    int64_t exp = 5;
    gauth_error err = GAUTH_ERROR_INIT;
    cr_assert_eq(response(cases[i].json, JWT_TYPE, 1, &tok, &exp, &err),
                 GAUTH_E_BAD_RESPONSE, "case %zu: %s", i, err.message);
    cr_assert_eq(err.code, GAUTH_E_BAD_RESPONSE, "case %zu", i);
    cr_assert_null(tok, "case %zu", i);
    cr_assert_not_null(strstr(err.message, cases[i].names), "case %zu: %s", i,
                       err.message);
  }
}

/* Without the allow variable the credential loads, and refuses to run the
 * command when a token is asked for (as Google's libraries do). */
Test(executable, refused_without_allow_variable) {
  cJSON *j = ext_json();
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  unsetenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES");
  cJSON_ReplaceItemInObject(
      j, "credential_source",
      cJSON_Parse("{\"executable\":{\"command\":\"/bin/false\"}}"));
  gauth_credentials *c = load(j, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNSUPPORTED);
  cr_assert_not_null(
      strstr(err.message, "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1"), "%s",
      err.message);
  setenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "true", 1);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNSUPPORTED);
  cr_assert_null(tok);
  gauth_credentials_free(c);
  cJSON_Delete(j);
}
