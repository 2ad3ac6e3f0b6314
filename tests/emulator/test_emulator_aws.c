/* gauth-emulator: AWS's side of workload identity federation, end to end
 * over real HTTP: EC2's instance metadata service (IMDSv1 and v2, the
 * role's temporary credentials) and STS's token exchange of an aws4_request
 * subject token, signed here by a small AWS Signature V4 signer of the
 * test's own (checked against AWS's published get-vanilla vector), not by
 * the library's nor the emulator's code.
 *
 * Each test starts an emulator of its own (it moves the clock). */
#define _DEFAULT_SOURCE /* timegm, strptime */
#define _XOPEN_SOURCE 700
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "emu_fixture.h"
#include "emu_spawn.h"

#define P "demo-project"
#define SCHEDULER "scheduler@" P ".iam.gserviceaccount.com"
#define ACCOUNT "210987654321"
#define ROLE "scheduler-role"
#define REGION "us-east-2"
#define AKID "AKIAEMULATORTEST0001"
#define SECRET "emulatorSecret/LongTerm+0000000000000000"
#define POOL                                              \
  "//iam.googleapis.com/projects/123456789012/locations/" \
  "global/workloadIdentityPools/aws-pool"
#define AUDIENCE POOL "/providers/aws"
#define PRINCIPAL_POOL                                                     \
  "principal://iam.googleapis.com/projects/123456789012/locations/global/" \
  "workloadIdentityPools/aws-pool/subject/"
#define INSTANCE_ARN \
  "arn:aws:sts::" ACCOUNT ":assumed-role/" ROLE "/i-0123456789abcdef0"
#define USER_ARN "arn:aws:iam::" ACCOUNT ":user/emulator-user"
#define TT_AWS "urn:ietf:params:aws:token-type:aws4_request"
#define EMPTY_SHA256 \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define TEST_TIMEOUT 300

#define AWS_MEMBER(extra)                                                     \
  "\"aws\":{\"account_id\":\"" ACCOUNT "\",\"role_name\":\"" ROLE             \
  "\",\"access_key_id\":\"" AKID "\",\"secret_access_key\":\"" SECRET         \
  "\",\"region\":\"" REGION                                                   \
  "\",\"credentials_lifetime_seconds\":3600,"                                 \
  "\"audience\":\"" AUDIENCE "\",\"service_account\":\"" SCHEDULER "\"" extra \
  "}"

/* The instance's role may impersonate scheduler@; the IAM user may not. */
static const char world[] =
    "{" AWS_MEMBER("") ",\"bindings\":[{\"resource\":\"projects/" P
                       "/serviceAccounts/" SCHEDULER
                       "\",\"role\":\"roles/iam.serviceAccountTokenCreator\","
                       "\"members\":[\"" PRINCIPAL_POOL INSTANCE_ARN "\"]}]}";

/* ---- an emulator of the test's own ------------------------------------- */

static emu_proc g_em;
static long g_offset; /* the emulator's clock: time(NULL) + g_offset */

/* Starts gauth-emulator with config text: -1 when it started, else the exit
 * status it refused the config with. */
static int start_with(const char *config) {
  char msg[1024];
  g_offset = 0;
  if (emu_spawn_config(&g_em, getenv("GAUTH_EMULATOR_BIN"), "emu-aws", config,
                       msg, sizeof msg) == 0)
    return -1;
  emu_spawn_cleanup(&g_em);
  cr_assert_geq(g_em.exit_status, 0, "%s", msg);
  return g_em.exit_status;
}

static void start(void) {
  cr_assert_eq(start_with(world), -1, "the emulator did not start");
}

static void stop(void) {
  char how[128];
  if (g_em.pid <= 0) return;
  emu_spawn_stop(&g_em, how, sizeof how);
  emu_spawn_cleanup(&g_em);
}

static void move_clock(long offset) {
  char body[64];
  snprintf(body, sizeof body, "{\"offset_seconds\":%ld}", offset);
  cr_assert_eq(emu_control(g_em.base, "/emulator/v1/clock", body, NULL), 200);
  g_offset = offset;
}

static const char *jstr(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- the instance metadata service ------------------------------------- */

/* GET path with an IMDSv2 token (NULL: none). */
static emu_reply imds_get(const char *path, const char *token) {
  char h[200];
  const char *hs[] = {NULL, NULL};
  emu_reply r;
  if (token != NULL) {
    snprintf(h, sizeof h, "X-aws-ec2-metadata-token: %s", token);
    hs[0] = h;
  }
  emu_http(g_em.base, "GET", path, hs, NULL, &r);
  cr_assert_eq(r.curl_code, 0, "GET %s: no reply", path);
  return r;
}

/* PUT /latest/api/token with a TTL header (NULL: none); the status. */
static long token_put(const char *ttl, const char *extra, char **token) {
  char h[100];
  const char *hs[] = {NULL, NULL, NULL};
  size_t n = 0;
  emu_reply r;
  if (ttl != NULL) {
    snprintf(h, sizeof h, "X-aws-ec2-metadata-token-ttl-seconds: %s", ttl);
    hs[n++] = h;
  }
  if (extra != NULL) hs[n++] = extra;
  emu_http(g_em.base, "PUT", "/latest/api/token", hs, NULL, &r);
  cr_assert_eq(r.curl_code, 0);
  long st = r.status;
  if (token != NULL) *token = st == 200 ? strdup(r.body) : NULL;
  emu_reply_free(&r);
  return st;
}

static char *imds_token(void) {
  char *t = NULL;
  cr_assert_eq(token_put("21600", NULL, &t), 200);
  cr_assert(t != NULL && strlen(t) > 20);
  return t;
}

typedef struct creds {
  char akid[64], secret[128], token[2048];
} creds;

static void role_creds(creds *c) {
  char *t = imds_token();
  emu_reply r = imds_get("/latest/meta-data/iam/security-credentials/" ROLE, t);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  snprintf(c->akid, sizeof c->akid, "%s", jstr(j, "AccessKeyId"));
  snprintf(c->secret, sizeof c->secret, "%s", jstr(j, "SecretAccessKey"));
  snprintf(c->token, sizeof c->token, "%s", jstr(j, "Token"));
  cJSON_Delete(j);
  emu_reply_free(&r);
  free(t);
}

/* ---- a small AWS Signature V4 signer ----------------------------------- */

static void hexs(const unsigned char *in, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[in[i] >> 4];
    out[2 * i + 1] = d[in[i] & 15];
  }
  out[2 * n] = '\0';
}

static void mac(const void *key, size_t klen, const char *msg,
                unsigned char out[32]) {
  size_t len = 0;
  cr_assert_not_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen,
                               (const unsigned char *)msg, strlen(msg), out, 32,
                               &len));
}

/* The signature of a canonical request, AWS's four steps. */
static void sigv4(const char *secret, const char *amz_date, const char *region,
                  const char *service, const char *canonical, char out[65]) {
  unsigned char h[32], k1[32], k2[32];
  unsigned int hl = 0;
  char chex[65], date[9], sts[512], kstr[200];
  EVP_Digest(canonical, strlen(canonical), h, &hl, EVP_sha256(), NULL);
  hexs(h, 32, chex);
  memcpy(date, amz_date, 8);
  date[8] = '\0';
  snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
           amz_date, date, region, service, chex);
  snprintf(kstr, sizeof kstr, "AWS4%s", secret);
  mac(kstr, strlen(kstr), date, k1);
  mac(k1, 32, region, k2);
  mac(k2, 32, service, k1);
  mac(k1, 32, "aws4_request", k2);
  mac(k2, 32, sts, h);
  hexs(h, 32, out);
}

/* AWS's SigV4 test suite, get-vanilla: the signer is right. */
Test(sigv4, get_vanilla_vector) {
  char sig[65];
  sigv4("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830T123600Z",
        "us-east-1", "service",
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
        "\nhost;x-amz-date\n" EMPTY_SHA256,
        sig);
  cr_assert_str_eq(
      sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

/* How a subject token is made (and spoiled). */
typedef struct sub_opts {
  const char *akid, *secret, *session_token; /* session_token NULL: none */
  const char *region;                        /* of the host and the scope */
  const char *target;  /* x-goog-cloud-target-resource; NULL: none */
  long date_shift;     /* seconds off the emulator's clock */
  int tamper_date;     /* change x-amz-date by 1 s after signing */
  int target_unsigned; /* send the target header, not signed */
} sub_opts;

static void amz_date(long shift, char out[20]) {
  time_t t = time(NULL) + g_offset + shift;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 20, "%Y%m%dT%H%M%SZ", &tm);
}

static void add_header(cJSON *a, const char *k, const char *v) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "key", k);
  cJSON_AddStringToObject(o, "value", v);
  cJSON_AddItemToArray(a, o);
}

/* The URL-encoded JSON of a signed GetCallerIdentity request (free()). */
static char *subject_token(const sub_opts *o) {
  char host[100], date[20], canon[8192], signed_h[200], sig[65], auth[600],
      url[200];
  const char *region = o->region ? o->region : REGION;
  snprintf(host, sizeof host, "sts.%s.amazonaws.com", region);
  snprintf(url, sizeof url,
           "https://%s?Action=GetCallerIdentity&Version=2011-06-15", host);
  amz_date(o->date_shift, date);
  int n = snprintf(canon, sizeof canon,
                   "POST\n/\nAction=GetCallerIdentity&Version=2011-06-15\n"
                   "host:%s\nx-amz-date:%s\n",
                   host, date);
  snprintf(signed_h, sizeof signed_h, "host;x-amz-date");
  if (o->session_token) {
    n += snprintf(canon + n, sizeof canon - (size_t)n,
                  "x-amz-security-token:%s\n", o->session_token);
    strcat(signed_h, ";x-amz-security-token");
  }
  if (o->target && !o->target_unsigned) {
    n += snprintf(canon + n, sizeof canon - (size_t)n,
                  "x-goog-cloud-target-resource:%s\n", o->target);
    strcat(signed_h, ";x-goog-cloud-target-resource");
  }
  snprintf(canon + n, sizeof canon - (size_t)n, "\n%s\n" EMPTY_SHA256,
           signed_h);
  sigv4(o->secret, date, region, "sts", canon, sig);
  char scope_date[9];
  memcpy(scope_date, date, 8);
  scope_date[8] = '\0';
  snprintf(auth, sizeof auth,
           "AWS4-HMAC-SHA256 Credential=%s/%s/%s/sts/aws4_request, "
           "SignedHeaders=%s, Signature=%s",
           o->akid, scope_date, region, signed_h, sig);
  if (o->tamper_date) date[14] = date[14] == '0' ? '1' : '0';

  cJSON *j = cJSON_CreateObject(), *hs;
  cJSON_AddStringToObject(j, "url", url);
  cJSON_AddStringToObject(j, "method", "POST");
  hs = cJSON_AddArrayToObject(j, "headers");
  add_header(hs, "x-amz-date", date);
  add_header(hs, "Authorization", auth);
  add_header(hs, "host", host);
  if (o->session_token)
    add_header(hs, "x-amz-security-token", o->session_token);
  if (o->target) add_header(hs, "x-goog-cloud-target-resource", o->target);
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  char *esc = curl_easy_escape(NULL, text, 0);
  char *out = strdup(esc);
  curl_free(esc);
  free(text);
  return out;
}

/* POST /v1/token with the subject token; the reply. */
static emu_reply exchange(const char *audience, const char *token) {
  const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
  char *aud = curl_easy_escape(NULL, audience, 0);
  char *tok = curl_easy_escape(NULL, token, 0);
  size_t n = strlen(aud) + strlen(tok) + 512;
  char *body = malloc(n);
  snprintf(body, n,
           "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Atoken-"
           "exchange&audience=%s&scope=https%%3A%%2F%%2Fwww.googleapis.com%%"
           "2Fauth%%2Fcloud-platform&requested_token_type=urn%%3Aietf%%3A"
           "params%%3Aoauth%%3Atoken-type%%3Aaccess_token&subject_token_type="
           "urn%%3Aietf%%3Aparams%%3Aaws%%3Atoken-type%%3Aaws4_request&"
           "subject_token=%s",
           aud, tok);
  emu_reply r;
  emu_http(g_em.base, "POST", "/v1/token", h, body, &r);
  cr_assert_eq(r.curl_code, 0);
  free(body);
  curl_free(aud);
  curl_free(tok);
  return r;
}

static sub_opts instance_opts(const creds *c) {
  sub_opts o = {0};
  o.akid = c->akid;
  o.secret = c->secret;
  o.session_token = c->token;
  o.target = AUDIENCE;
  return o;
}

static sub_opts user_opts(void) {
  sub_opts o = {0};
  o.akid = AKID;
  o.secret = SECRET;
  o.target = AUDIENCE;
  return o;
}

/* The exchange is refused: 400, error, and a description holding want. */
static void refused(const sub_opts *o, const char *audience, const char *error,
                    const char *want) {
  char *t = subject_token(o);
  emu_reply r = exchange(audience, t);
  cr_expect_eq(r.status, 400, "%ld %s", r.status, r.body);
  cJSON *j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  cr_expect_str_eq(jstr(j, "error"), error, "%s", r.body);
  const char *d = jstr(j, "error_description");
  cr_expect(d != NULL && strstr(d, want) != NULL, "want \"%s\" in %s", want,
            r.body);
  /* Never a secret in the reply. */
  cr_expect_null(strstr(r.body, o->secret));
  cJSON_Delete(j);
  emu_reply_free(&r);
  free(t);
}

/* The exchange succeeds: the federated access token (free()). */
static char *granted(const sub_opts *o) {
  char *t = subject_token(o);
  emu_reply r = exchange(AUDIENCE, t);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = cJSON_Parse(r.body);
  cr_assert_not_null(j);
  cr_assert_str_eq(jstr(j, "token_type"), "Bearer");
  cr_assert_str_eq(jstr(j, "issued_token_type"),
                   "urn:ietf:params:oauth:token-type:access_token");
  char *at = strdup(jstr(j, "access_token"));
  cJSON_Delete(j);
  emu_reply_free(&r);
  free(t);
  return at;
}

/* The principal of an access token, as tokeninfo names it. */
static void principal_of(const char *at, char *out, size_t n) {
  char path[1024];
  char *esc = curl_easy_escape(NULL, at, 0);
  snprintf(path, sizeof path, "/tokeninfo?access_token=%s", esc);
  curl_free(esc);
  emu_reply r;
  emu_http(g_em.base, "GET", path, NULL, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = cJSON_Parse(r.body);
  const char *e = jstr(j, "email");
  snprintf(out, n, "%s", e ? e : "");
  cJSON_Delete(j);
  emu_reply_free(&r);
}

static long impersonate(const char *at) {
  return emu_bearer_post(
      g_em.base,
      "/v1/projects/-/serviceAccounts/" SCHEDULER ":generateAccessToken", at,
      "{\"scope\":[\"https://www.googleapis.com/auth/cloud-platform\"]}");
}

/* ---- IMDS ----------------------------------------------------------------
 */

TestSuite(imds, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

Test(imds, v2_token_and_placement) {
  char *t = NULL, ttl[32];
  const char *hs[] = {"X-aws-ec2-metadata-token-ttl-seconds: 300", NULL};
  emu_reply r;
  emu_http(g_em.base, "PUT", "/latest/api/token", hs, NULL, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_assert_geq(strlen(r.body), 40);
  cr_assert_not_null(emu_reply_header_get(
      &r, "X-aws-ec2-metadata-token-ttl-seconds", ttl, sizeof ttl));
  cr_assert_str_eq(ttl, "300");
  t = strdup(r.body);
  emu_reply_free(&r);

  r = imds_get("/latest/meta-data/placement/availability-zone", t);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.body, REGION "a");
  emu_reply_free(&r);
  r = imds_get("/latest/meta-data/placement/region", t);
  cr_assert_str_eq(r.body, REGION);
  emu_reply_free(&r);
  r = imds_get("/latest/meta-data/iam/security-credentials/", t);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.body, ROLE);
  emu_reply_free(&r);
  r = imds_get("/latest/meta-data/iam/security-credentials/other-role", t);
  cr_assert_eq(r.status, 404);
  emu_reply_free(&r);
  free(t);
}

static int64_t iso_time(const char *s) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  cr_assert_not_null(s);
  cr_assert_not_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm), "%s", s);
  return (int64_t)timegm(&tm);
}

Test(imds, role_credentials) {
  char *t = imds_token();
  emu_reply r = imds_get("/latest/meta-data/iam/security-credentials/" ROLE, t);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cJSON *j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  cr_assert_str_eq(jstr(j, "Code"), "Success");
  cr_assert_str_eq(jstr(j, "Type"), "AWS-HMAC");
  const char *akid = jstr(j, "AccessKeyId");
  cr_assert(akid != NULL && strncmp(akid, "ASIA", 4) == 0 &&
            strlen(akid) == 20);
  cr_assert_str_neq(akid, AKID);
  cr_assert(jstr(j, "SecretAccessKey") != NULL &&
            strlen(jstr(j, "SecretAccessKey")) == 40);
  cr_assert(jstr(j, "Token") != NULL && strlen(jstr(j, "Token")) > 100);
  int64_t upd = iso_time(jstr(j, "LastUpdated"));
  int64_t exp = iso_time(jstr(j, "Expiration"));
  cr_assert_eq(exp - upd, 3600);
  cr_assert_leq(llabs((long long)(upd - time(NULL))), 5);
  /* Asked again: the same set, until it nears its expiry. */
  char first[64];
  snprintf(first, sizeof first, "%s", akid);
  cJSON_Delete(j);
  emu_reply_free(&r);
  r = imds_get("/latest/meta-data/iam/security-credentials/" ROLE, NULL);
  j = cJSON_Parse(r.body);
  cr_assert_str_eq(jstr(j, "AccessKeyId"), first);
  cJSON_Delete(j);
  emu_reply_free(&r);
  /* 56 minutes on (within 5 minutes of the expiry): a new set, its
   * expiry on the emulator's clock. */
  move_clock(3360);
  r = imds_get("/latest/meta-data/iam/security-credentials/" ROLE, NULL);
  j = cJSON_Parse(r.body);
  cr_assert_str_neq(jstr(j, "AccessKeyId"), first);
  cr_assert_leq(llabs((long long)(iso_time(jstr(j, "Expiration")) - time(NULL) -
                                  3360 - 3600)),
                5);
  cJSON_Delete(j);
  emu_reply_free(&r);
  free(t);
}

Test(imds, token_ttl_rules) {
  cr_assert_eq(token_put(NULL, NULL, NULL), 400);
  cr_assert_eq(token_put("0", NULL, NULL), 400);
  cr_assert_eq(token_put("21601", NULL, NULL), 400);
  cr_assert_eq(token_put("abc", NULL, NULL), 400);
  cr_assert_eq(token_put("-5", NULL, NULL), 400);
  cr_assert_eq(token_put("1", NULL, NULL), 200);
  cr_assert_eq(token_put("21600", NULL, NULL), 200);
  /* A token request through a proxy is refused. */
  cr_assert_eq(token_put("60", "X-Forwarded-For: 10.0.0.1", NULL), 403);
  /* The token path takes PUT only. */
  emu_reply r = imds_get("/latest/api/token", NULL);
  cr_assert_eq(r.status, 405);
  emu_reply_free(&r);
}

Test(imds, wrong_or_expired_token_401) {
  emu_reply r = imds_get("/latest/meta-data/placement/region", "not-a-token");
  cr_assert_eq(r.status, 401);
  cr_assert_not_null(strstr(r.body, "401 - Unauthorized"), "%s", r.body);
  emu_reply_free(&r);
  char *t = NULL;
  cr_assert_eq(token_put("60", NULL, &t), 200);
  r = imds_get("/latest/meta-data/placement/region", t);
  cr_assert_eq(r.status, 200);
  emu_reply_free(&r);
  move_clock(61);
  r = imds_get("/latest/meta-data/placement/region", t);
  cr_assert_eq(r.status, 401);
  emu_reply_free(&r);
  free(t);
}

Test(imds, v1_allowed_by_default) {
  emu_reply r = imds_get("/latest/meta-data/placement/region", NULL);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.body, REGION);
  emu_reply_free(&r);
}

Test(imds_v2, required_refuses_tokenless_gets, .timeout = TEST_TIMEOUT) {
  cr_assert_eq(start_with("{" AWS_MEMBER(",\"imdsv2_required\":true") "}"), -1);
  emu_reply r =
      imds_get("/latest/meta-data/iam/security-credentials/" ROLE, NULL);
  cr_expect_eq(r.status, 401);
  emu_reply_free(&r);
  char *t = imds_token();
  r = imds_get("/latest/meta-data/iam/security-credentials/" ROLE, t);
  cr_expect_eq(r.status, 200);
  emu_reply_free(&r);
  free(t);
  stop();
}

Test(imds_v2, absent_without_aws, .timeout = TEST_TIMEOUT) {
  cr_assert_eq(start_with("{}"), -1);
  emu_reply r = imds_get("/latest/meta-data/placement/region", NULL);
  cr_expect_eq(r.status, 404);
  emu_reply_free(&r);
  cr_expect_eq(token_put("60", NULL, NULL), 404);
  stop();
}

Test(imds_v2, bad_config_exits_2, .timeout = TEST_TIMEOUT) {
  cr_expect_eq(start_with("{\"aws\":{\"account_id\":\"1\"}}"), 2);
  cr_expect_eq(start_with("{\"aws\":{\"account_id\":\"123456789012\","
                          "\"role_name\":\"r\",\"access_key_id\":\"A\","
                          "\"secret_access_key\":\"s\",\"region\":\"r\","
                          "\"audience\":\"not-a-provider\"}}"),
               2);
  cr_expect_eq(start_with("{" AWS_MEMBER(",\"imdsv2_required\":1") "}"), 2);
  cr_expect_eq(start_with("{" AWS_MEMBER(",\"colour\":\"red\"") "}"), 2);
  cr_expect_eq(start_with("[]"), 2);
}

/* ---- STS: aws4_request subject tokens ----------------------------------
 */

TestSuite(sts_aws, .init = start, .fini = stop, .timeout = TEST_TIMEOUT);

Test(sts_aws, instance_credentials_get_a_token_and_impersonate) {
  creds c;
  char who[512];
  role_creds(&c);
  sub_opts o = instance_opts(&c);
  char *at = granted(&o);
  principal_of(at, who, sizeof who);
  cr_assert_str_eq(who, PRINCIPAL_POOL INSTANCE_ARN);
  /* The policy lets the instance's role impersonate scheduler@. */
  cr_assert_eq(impersonate(at), 200);
  free(at);
}

Test(sts_aws, long_term_key_is_an_iam_user) {
  char who[512];
  sub_opts o = user_opts();
  char *at = granted(&o);
  principal_of(at, who, sizeof who);
  cr_assert_str_eq(who, PRINCIPAL_POOL USER_ARN);
  /* ... whom the policy does not let impersonate scheduler@. */
  cr_assert_eq(impersonate(at), 403);
  free(at);
}

Test(sts_aws, wrong_secret) {
  sub_opts o = user_opts();
  o.secret = "not-the-secret-0000000000000000000000000";
  refused(&o, AUDIENCE, "invalid_grant",
          "Received invalid AWS response of type SignatureDoesNotMatch");
}

Test(sts_aws, tampered_header) {
  creds c;
  role_creds(&c);
  sub_opts o = instance_opts(&c);
  o.tamper_date = 1;
  refused(&o, AUDIENCE, "invalid_grant",
          "The request signature we calculated does not match");
}

Test(sts_aws, stale_date) {
  sub_opts o = user_opts();
  /* Signed 16 minutes ago by the emulator's clock. */
  o.date_shift = -16 * 60;
  refused(&o, AUDIENCE, "invalid_grant", "Signature expired");
  /* ... or the emulator's clock moved on since. */
  char *t = subject_token(
      &(sub_opts){.akid = AKID, .secret = SECRET, .target = AUDIENCE});
  move_clock(20 * 60);
  emu_reply r = exchange(AUDIENCE, t);
  cr_expect_eq(r.status, 400);
  cr_expect_not_null(strstr(r.body, "Signature expired"), "%s", r.body);
  emu_reply_free(&r);
  free(t);
  o.date_shift = 16 * 60;
  refused(&o, AUDIENCE, "invalid_grant", "Signature not yet current");
}

Test(sts_aws, wrong_audience) {
  sub_opts o = user_opts();
  /* Another provider: the pool has none such. */
  refused(&o, POOL "/providers/other", "invalid_target",
          "The target service indicated by the \"audience\"");
  /* The header names another provider than the exchange's audience. */
  o.target = POOL "/providers/other";
  refused(&o, AUDIENCE, "invalid_grant", "x-goog-cloud-target-resource");
}

Test(sts_aws, missing_target_resource) {
  sub_opts o = user_opts();
  o.target = NULL;
  refused(&o, AUDIENCE, "invalid_grant",
          "missing the x-goog-cloud-target-resource header");
  o.target = AUDIENCE;
  o.target_unsigned = 1;
  refused(&o, AUDIENCE, "invalid_grant", "must be signed");
}

Test(sts_aws, wrong_host_or_region) {
  sub_opts o = user_opts();
  o.region = "us-west-1";
  refused(&o, AUDIENCE, "invalid_grant",
          "GetCallerIdentity endpoint of the STS in " REGION);
}

Test(sts_aws, temporary_key_needs_its_session_token) {
  creds c;
  role_creds(&c);
  sub_opts o = instance_opts(&c);
  o.session_token = NULL;
  refused(&o, AUDIENCE, "invalid_grant", "InvalidClientTokenId");
  o.session_token = "IQoJb3JpZ2luX2VjForged";
  refused(&o, AUDIENCE, "invalid_grant", "InvalidClientTokenId");
}

Test(sts_aws, unknown_key) {
  sub_opts o = user_opts();
  o.akid = "AKIANOTKNOWN00000000";
  refused(&o, AUDIENCE, "invalid_grant", "InvalidClientTokenId");
}

Test(sts_aws, expired_temporary_key) {
  creds c;
  role_creds(&c);
  /* An hour and a minute on: the instance's key has expired (the test
   * signs with the clock's date, so only the key is stale). */
  move_clock(3660);
  sub_opts o = instance_opts(&c);
  refused(&o, AUDIENCE, "invalid_grant", "ExpiredToken");
}

Test(sts_aws, malformed_tokens) {
  const char *bad[] = {"", "not json", "%7B%7D", "%7B%22url%22%3A1%7D",
                       "%7B%22url%22%3A%22https%3A%2F%2Fsts.us-east-2."
                       "amazonaws.com%3FAction%3DGetCallerIdentity%26Version"
                       "%3D2011-06-15%22%2C%22method%22%3A%22POST%22%2C%22"
                       "headers%22%3A%5B%5D%7D"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    emu_reply r = exchange(AUDIENCE, bad[i]);
    cr_expect_eq(r.status, 400, "[%zu] %ld %s", i, r.status, r.body);
    emu_reply_free(&r);
  }
  /* The emulator is still up. */
  emu_reply r = imds_get("/latest/meta-data/placement/region", NULL);
  cr_expect_eq(r.status, 200);
  emu_reply_free(&r);
}

/* The config's key with a session token: an assumed role's, which needs
 * the token on every request. */
Test(imds_v2, config_key_with_session_token, .timeout = TEST_TIMEOUT) {
  char who[512];
  cr_assert_eq(start_with("{" AWS_MEMBER(
                   ",\"session_token\":\"FwoGZXIvYXdzEmulator\"") "}"),
               -1);
  sub_opts o = user_opts();
  refused(&o, AUDIENCE, "invalid_grant", "InvalidClientTokenId");
  o.session_token = "FwoGZXIvYXdzEmulator";
  char *at = granted(&o);
  principal_of(at, who, sizeof who);
  cr_expect_str_eq(who, PRINCIPAL_POOL "arn:aws:sts::" ACCOUNT
                                       ":assumed-role/" ROLE "/emulator-user");
  free(at);
  stop();
}
