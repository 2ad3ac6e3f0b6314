/* External accounts (workload identity federation) over real HTTP. Each
 * test starts an emulator of its own that trusts a test issuer (its key is
 * generated here): subject tokens signed with that key go through the
 * emulator's STS, which judges them as Google's does (issuer, audience,
 * signature, expiry) and mints a federated token; the federated principal
 * may impersonate the runner account. Sources: a file (text and JSON) and a
 * URL served by a loopback test server, which shows the headers sent.
 * Faults on STS; the subject token never in a message or a log line.
 * Executable sources: shell scripts written here print Google's executable
 * response (or time out, print too much, fail, lie); they record their
 * runs, arguments, environment and descriptors in files the tests read. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "test_jose.h"
#include "test_server.h"
#include "test_util.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define CLOUD "https://www.googleapis.com/auth/cloud-platform"
#define EMAIL_SCOPE "https://www.googleapis.com/auth/userinfo.email"
#define WIP_AUD                                                  \
  "//iam.googleapis.com/projects/123456789012/locations/global/" \
  "workloadIdentityPools/pool/providers/ci"
#define WIP_PRINCIPAL                                               \
  "principal://iam.googleapis.com/projects/123456789012/locations/" \
  "global/workloadIdentityPools/pool/subject/repo:main"
#define EXT_ISS "https://issuer.example"
#define JWT_TYPE "urn:ietf:params:oauth:token-type:jwt"
#define IMP_URL(email)                                                         \
  "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" email \
  ":generateAccessToken"
#define IAM_PATH(email, action) \
  "/v1/projects/-/serviceAccounts/" email ":" action
#define TIP_PATH "/v1/projects/demo-project:testIamPermissions"
#define CANARY "CANARY-subject-token-90210"

/* ---- an emulator of our own, trusting our issuer ------------------------- */

static struct {
  pid_t pid;
  char base[128];
  gauth_key *issuer_key;
  char *subject; /* a valid subject token */
  char dir[64];
} g;

static char *sign_subject(gauth_key *k, const char *sub) {
  char claims[512];
  char *jwt = NULL;
  long now = (long)time(NULL);
  snprintf(claims, sizeof claims,
           "{\"iss\":\"" EXT_ISS "\",\"sub\":\"%s\",\"aud\":\"https:" WIP_AUD
           "\",\"iat\":%ld,\"exp\":%ld}",
           sub, now, now + 600);
  cr_assert_eq(gauth_jwt_sign(k, GAUTH_ALG_RS256, "ext-1", claims, &jwt, NULL),
               GAUTH_OK);
  return jwt;
}

static void start_emulator(void) {
  const char *kids[] = {"ext-1"};
  char *jwks, *cfg, path[128], arg[160], line[256];
  int fds[2], fd;
  g.issuer_key = tj_gen_key(1);
  jwks = tj_jwks_of(&g.issuer_key, kids, 1);
  cfg = malloc(strlen(jwks) + 2048);
  sprintf(cfg,
          "{\"service_accounts\":[{\"email\":\"" SCHEDULER
          "\"},"
          "{\"email\":\"" RUNNER
          "\"}],"
          "\"invoker\":\"" SCHEDULER "\",\"metadata_account\":\"" RUNNER
          "\","
          "\"external_issuers\":[{\"issuer\":\"" EXT_ISS
          "\",\"audience\":"
          "\"" WIP_AUD
          "\",\"jwks\":%s}],"
          "\"bindings\":[{\"resource\":\"projects/demo-project/"
          "serviceAccounts/" RUNNER
          "\",\"role\":\"roles/iam."
          "serviceAccountTokenCreator\",\"members\":[\"" WIP_PRINCIPAL "\"]}]}",
          jwks);
  snprintf(g.dir, sizeof g.dir, "/tmp/gauth-ext-XXXXXX");
  cr_assert_not_null(mkdtemp(g.dir));
  snprintf(path, sizeof path, "%s/config.json", g.dir);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, cfg, strlen(cfg)), (ssize_t)strlen(cfg));
  close(fd);
  free(cfg);
  free(jwks);
  snprintf(arg, sizeof arg, "--config=%s", path);
  const char *bin = getenv("GAUTH_EMULATOR_BIN");
  cr_assert_not_null(bin);
  cr_assert_eq(pipe(fds), 0);
  g.pid = fork();
  cr_assert_geq(g.pid, 0);
  if (g.pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    if (freopen("/dev/null", "w", stderr) == NULL) _exit(126);
    execl(bin, bin, "--listen=127.0.0.1:0", arg, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *out = fdopen(fds[0], "r");
  cr_assert_not_null(fgets(line, sizeof line, out),
                     "the emulator did not start");
  fclose(out);
  unlink(path);
  line[strcspn(line, "\n")] = '\0';
  cr_assert_eq(strncmp(line, "listening ", 10), 0, "%s", line);
  snprintf(g.base, sizeof g.base, "%.100s", line + 10);
  g.subject = sign_subject(g.issuer_key, "repo:main");
}

static void stop_emulator(void) {
  int st = 0;
  kill(g.pid, SIGTERM);
  cr_expect_eq(waitpid(g.pid, &st, 0), g.pid);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  rmdir(g.dir);
  gauth_free(g.subject);
  gauth_key_free(g.issuer_key);
}

TestSuite(ext, .init = start_emulator, .fini = stop_emulator, .timeout = 60);

/* ---- emulator helpers ---------------------------------------------------- */

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(g.base, path, body, &out);
  cr_assert_eq(st, 200, "%s: %ld %s", path, st, out ? out : "");
  free(out);
}

static void fault(const char *json) { control("/emulator/v1/faults", json); }

static int counter(const char *path) {
  long v = emu_counter(g.base, path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

static void last_principal(const char *path, char *buf, size_t n) {
  cr_assert_eq(emu_last_principal(g.base, path, buf, n), 0,
               "the emulator's request log cannot be read");
}

static long use_token(const char *token) {
  return emu_bearer_post(g.base, TIP_PATH, token,
                         "{\"permissions\":[\"run.jobs.run\"]}");
}

/* ---- credentials --------------------------------------------------------- */

static gauth_options fast_options(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.endpoint = g.base;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 40;
  o.retry.deadline_ms = 10000;
  o.timeout_ms = 5000;
  return o;
}

/* The file's JSON: file or url source; extra members merged in. */
static cJSON *ext_json(const char *source_json, const char *extra_json) {
  cJSON *o = cJSON_CreateObject(), *extra, *it;
  cJSON_AddStringToObject(o, "type", "external_account");
  cJSON_AddStringToObject(o, "audience", WIP_AUD);
  cJSON_AddStringToObject(o, "subject_token_type", JWT_TYPE);
  cJSON_AddStringToObject(o, "token_url",
                          "https://sts.googleapis.com/v1/token");
  cJSON_AddItemToObject(o, "credential_source", cJSON_Parse(source_json));
  extra = extra_json ? cJSON_Parse(extra_json) : NULL;
  cJSON_ArrayForEach(it, extra)
      cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
  cJSON_Delete(extra);
  return o;
}

static gauth_credentials *creds_of(cJSON *j, const gauth_options *o,
                                   gauth_status want, gauth_error *err) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  char *text = cJSON_PrintUnformatted(j);
  char *path = tu_write_temp(text);
  co.options = o;
  cr_assert_eq(gauth_credentials_from_file(&c, path, &co, err), want, "%s",
               err->message);
  unlink(path);
  free(path);
  free(text);
  cJSON_Delete(j);
  return c;
}

/* A file source holding text. Returns its path (free; unlink). */
static char *subject_file(const char *text) { return tu_write_temp(text); }

static cJSON *file_source_json(const char *path, const char *format,
                               const char *extra) {
  char src[1024];
  snprintf(src, sizeof src, "{\"file\":\"%s\"%s%s}", path,
           format ? ",\"format\":" : "", format ? format : "");
  return ext_json(src, extra);
}

/* The library's clock: CLOCK_REALTIME. (time() reads the coarse clock,
 * which can still show the previous second.) */
static int64_t now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec;
}

/* 1 when the "name: value\n" lines hold name (any case) with value. */
static int has_header(const char *lines, const char *name, const char *value) {
  size_t n = strlen(name);
  for (const char *l = lines; *l;
       l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
    size_t len = strcspn(l, "\n");
    if (len > n + 2 && strncasecmp(l, name, n) == 0 && l[n] == ':' &&
        strlen(value) == len - n - 2 &&
        strncmp(l + n + 2, value, len - n - 2) == 0)
      return 1;
  }
  return 0;
}

/* ---- file sources, no impersonation -------------------------------------- */

Test(ext, file_text_source) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  char text[4096], *path, *tok = NULL, who[512], *s = NULL;
  int64_t exp = 0, t0 = now_s();
  snprintf(text, sizeof text, "  %s\n", g.subject);
  path = subject_file(text);
  gauth_credentials *c =
      creds_of(file_source_json(path, NULL, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_get_type(c),
               GAUTH_CREDENTIALS_EXTERNAL_ACCOUNT);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert(exp >= t0 + 3599 && exp <= now_s() + 3599, "exp %lld",
            (long long)exp);
  cr_assert_eq(counter("/v1/token"), 1);
  last_principal("/v1/token", who, sizeof who);
  cr_assert_str_eq(who, WIP_PRINCIPAL);
  cr_assert_eq(use_token(tok), 200);
  last_principal(TIP_PATH, who, sizeof who);
  cr_assert_str_eq(who, WIP_PRINCIPAL);
  gauth_free(tok);
  /* Cached per scopes; other scopes: another exchange, and STS got them. */
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK);
  gauth_free(tok);
  cr_assert_eq(counter("/v1/token"), 1);
  const char *scopes[] = {EMAIL_SCOPE, NULL};
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 403); /* no cloud-platform scope */
  gauth_free(tok);
  cr_assert_eq(counter("/v1/token"), 2);

  cr_assert_eq(gauth_credentials_email(c, &s, &err), GAUTH_E_UNSUPPORTED);
  cr_assert_eq(gauth_credentials_project_id(c, &s, &err), GAUTH_OK);
  cr_assert_str_eq(s, "123456789012");
  gauth_free(s);
  cr_assert_eq(
      gauth_credentials_id_token(c, "https://a.example/", 0, &s, NULL, &err),
      GAUTH_E_UNSUPPORTED);
  cr_assert_eq(counter("/v1/token"), 2);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
}

Test(ext, file_json_source) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  char text[4096], *path, *tok = NULL;
  snprintf(text, sizeof text, "{\"token_type\":\"x\",\"id_token\":\"%s\"}",
           g.subject);
  path = subject_file(text);
  gauth_credentials *c = creds_of(
      file_source_json(path,
                       "{\"type\":\"json\",\"subject_token_field_name\":"
                       "\"id_token\"}",
                       NULL),
      &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 200);
  gauth_free(tok);
  gauth_credentials_free(c);

  /* The field missing: the error names it and the file. */
  c = creds_of(
      file_source_json(path,
                       "{\"type\":\"json\",\"subject_token_field_name\":"
                       "\"access_token\"}",
                       NULL),
      &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_MALFORMED);
  cr_assert_not_null(strstr(err.message, "missing field \"access_token\""),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, path), "%s", err.message);
  cr_assert_null(strstr(err.message, g.subject), "%s", err.message);
  cr_assert_eq(counter("/v1/token"), 1);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
}

/* The subject token is read again on every fetch. */
Test(ext, subject_read_on_every_fetch) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  char *path = subject_file(g.subject), *tok = NULL;
  gauth_credentials *c =
      creds_of(file_source_json(path, NULL, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_free(tok);
  /* Replaced by a token from another key: STS refuses it. */
  gauth_key *other = tj_gen_key(1);
  char *forged = sign_subject(other, "repo:main");
  FILE *f = fopen(path, "w");
  fputs(forged, f);
  fclose(f);
  const char *scopes[] = {EMAIL_SCOPE, NULL};
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, NULL, &err),
               GAUTH_E_UNAUTHENTICATED, "%s", err.message);
  cr_assert_eq(err.http_status, 400);
  cr_assert_str_eq(err.error_code, "invalid_grant");
  cr_assert_not_null(strstr(err.message,
                            "external account: STS token "
                            "exchange for audience " WIP_AUD),
                     "%s", err.message);
  cr_assert_null(strstr(err.message, forged), "%s", err.message);
  cr_assert_eq(counter("/v1/token"), 2);
  gauth_free(forged);
  gauth_key_free(other);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
}

Test(ext, file_errors) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  /* Missing file. */
  gauth_credentials *c =
      creds_of(file_source_json("/nonexistent/gauth-subject", NULL, NULL), &o,
               GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_IO);
  cr_assert_not_null(strstr(err.message, "/nonexistent/gauth-subject"), "%s",
                     err.message);
  cr_assert_not_null(strstr(err.message, "credential_source.file"), "%s",
                     err.message);
  gauth_credentials_free(c);
  /* Over 64 KiB. */
  char *big = malloc(65537 + 1);
  memset(big, 'a', 65537);
  big[65537] = '\0';
  char *path = subject_file(big);
  c = creds_of(file_source_json(path, NULL, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_TOO_LARGE, "%s", err.message);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
  free(big);
  /* Only whitespace. */
  path = subject_file(" \n");
  c = creds_of(file_source_json(path, NULL, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_MALFORMED, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "is empty"), "%s", err.message);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
  cr_assert_eq(counter("/v1/token"), 0);
}

Test(ext, aws_source_unsupported) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *j = ext_json(
      "{\"environment_id\":\"aws2\",\"region_url\":"
      "\"http://169.254.169.254/latest/meta-data/placement/"
      "availability-zone\",\"regional_cred_verification_url\":"
      "\"https://sts.{region}.amazonaws.com\"}",
      NULL);
  cr_assert_null(creds_of(j, &o, GAUTH_E_UNSUPPORTED, &err));
  cr_assert_not_null(strstr(err.message, "AWS version 2"), "%s", err.message);
}

/* ---- URL sources --------------------------------------------------------- */

Test(ext, url_source_sends_headers) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  ts_server *s = ts_start();
  char body[4096], url[256], src[1024], *tok = NULL;
  snprintf(body, sizeof body, "{\"value\":\"%s\"}", g.subject);
  ts_response r = {.body = body, .headers = {"Content-Type: application/json"}};
  ts_route(s, "/subject", &r, 1);
  snprintf(src, sizeof src,
           "{\"url\":\"%s\",\"headers\":{\"Metadata\":\"True\","
           "\"X-Test-Header\":\"value 1\"},\"format\":{\"type\":\"json\","
           "\"subject_token_field_name\":\"value\"}}",
           ts_url(s, "/subject?api-version=1", url, sizeof url));
  gauth_credentials *c = creds_of(ext_json(src, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 200);
  gauth_free(tok);
  cr_assert_eq(ts_count(s, "/subject"), 1);
  ts_request req;
  cr_assert(ts_last_request(s, "/subject", &req));
  cr_assert_str_eq(req.method, "GET");
  cr_assert_str_eq(req.url, "/subject?api-version=1");
  cr_assert(has_header(req.headers, "Metadata", "True"), "%s", req.headers);
  cr_assert(has_header(req.headers, "X-Test-Header", "value 1"), "%s",
            req.headers);
  ts_request_cleanup(&req);
  /* Read again for another exchange. */
  const char *scopes[] = {EMAIL_SCOPE, NULL};
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_free(tok);
  cr_assert_eq(ts_count(s, "/subject"), 2);
  gauth_credentials_free(c);
  ts_stop(s);
}

Test(ext, url_source_text_and_errors) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  ts_server *s = ts_start();
  char text[4096], url[256], src[1024], *tok = NULL;
  snprintf(text, sizeof text, "%s\r\n", g.subject);
  ts_response ok = {.body = text};
  ts_route(s, "/text", &ok, 1);
  snprintf(src, sizeof src, "{\"url\":\"%s\"}",
           ts_url(s, "/text", url, sizeof url));
  gauth_credentials *c = creds_of(ext_json(src, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_free(tok);
  gauth_credentials_free(c);

  /* 404: the error says where the subject token was to come from. */
  snprintf(src, sizeof src, "{\"url\":\"%s\"}",
           ts_url(s, "/none", url, sizeof url));
  c = creds_of(ext_json(src, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_NOT_FOUND, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "credential_source.url"), "%s",
                     err.message);
  gauth_credentials_free(c);

  /* JSON without the field. */
  ts_response js = {.body = "{\"other\":\"" CANARY "\"}"};
  ts_route(s, "/json", &js, 1);
  snprintf(src, sizeof src,
           "{\"url\":\"%s\",\"format\":{\"type\":\"json\","
           "\"subject_token_field_name\":\"value\"}}",
           ts_url(s, "/json", url, sizeof url));
  c = creds_of(ext_json(src, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_BAD_RESPONSE, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "missing field \"value\""), "%s",
                     err.message);
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  gauth_credentials_free(c);
  cr_assert_eq(counter("/v1/token"), 1);
  ts_stop(s);
}

/* ---- impersonation after the exchange ------------------------------------ */

static gauth_credentials *imp_creds(const char *target, const char *extra,
                                    char **path) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  char ex[1024];
  *path = subject_file(g.subject);
  snprintf(ex, sizeof ex,
           "{\"service_account_impersonation_url\":\"" IMP_URL("%s") "\"%s%s}",
           target, extra ? "," : "", extra ? extra : "");
  return creds_of(file_source_json(*path, NULL, ex), &o, GAUTH_OK, &err);
}

Test(ext, impersonation_access_token) {
  char *path, *tok = NULL, who[512], *email = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c =
      imp_creds(RUNNER,
                "\"service_account_impersonation\":{\"token_lifetime_seconds\":"
                "1200}",
                &path);
  int64_t exp = 0, t0 = now_s();
  /* Asked for the email scope only: STS must have been asked for
   * cloud-platform (IAM Credentials requires it), the final token has the
   * email scope only. */
  const char *scopes[] = {EMAIL_SCOPE, NULL};
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert(exp >= t0 + 1200 && exp <= now_s() + 1200, "exp %lld",
            (long long)exp);
  last_principal(IAM_PATH(RUNNER, "generateAccessToken"), who, sizeof who);
  cr_assert_str_eq(who, WIP_PRINCIPAL);
  cr_assert_eq(use_token(tok), 403);
  last_principal(TIP_PATH, who, sizeof who);
  cr_assert_str_eq(who, RUNNER);
  gauth_free(tok);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 200);
  last_principal(TIP_PATH, who, sizeof who);
  cr_assert_str_eq(who, RUNNER);
  gauth_free(tok);
  cr_assert_eq(counter("/v1/token"), 2);
  cr_assert_eq(counter(IAM_PATH(RUNNER, "generateAccessToken")), 2);
  cr_assert_eq(gauth_credentials_email(c, &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, RUNNER);
  gauth_free(email);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
}

Test(ext, impersonation_default_lifetime) {
  char *path, *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c = imp_creds(RUNNER, NULL, &path);
  int64_t exp = 0, t0 = now_s();
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert(exp >= t0 + 3600 && exp <= now_s() + 3600, "exp %lld",
            (long long)exp);
  gauth_free(tok);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
}

Test(ext, impersonation_id_token_and_signing) {
  char *path, *tok = NULL, *kid = NULL;
  const char *email = NULL;
  unsigned char *sig = NULL;
  size_t n = 0;
  int64_t exp = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c = imp_creds(RUNNER, NULL, &path);
  const char *aud = "https://collector.example/";
  cr_assert_eq(gauth_credentials_id_token(c, aud, GAUTH_ID_TOKEN_INCLUDE_EMAIL,
                                          &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  gauth_options ho = GAUTH_OPTIONS_INIT;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  const char *auds[] = {aud, NULL};
  gauth_verifier *v = NULL;
  gauth_claims *cl = NULL;
  ho.endpoint = g.base;
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = auds;
  vo.http = &ho;
  cr_assert_eq(gauth_verifier_new(&v, &vo, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_verifier_verify(v, tok, 0, &cl, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_str_eq(gauth_claims_audience(cl, 0), aud);
  cr_assert_eq(gauth_claims_expires_at(cl), exp);
  cr_assert_eq(gauth_claims_get_string(cl, "email", &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, RUNNER);
  gauth_claims_free(cl);
  gauth_verifier_free(v);
  gauth_free(tok);

  cr_assert_eq(gauth_credentials_sign_blob(c, "blob", 4, &sig, &n, &kid, &err),
               GAUTH_OK, "%s", err.message);
  emu_reply r;
  gauth_keyset *ks = NULL;
  cr_assert_eq(
      emu_http(g.base, "GET", "/service_accounts/v1/metadata/jwk/" RUNNER, NULL,
               NULL, &r),
      0);
  cr_assert_eq(gauth_keyset_parse(&ks, r.body, r.len, &err), GAUTH_OK);
  emu_reply_free(&r);
  const gauth_key *k = NULL;
  for (size_t i = 0; i < gauth_keyset_count(ks); i++)
    if (strcmp(gauth_key_kid(gauth_keyset_get(ks, i)), kid) == 0)
      k = gauth_keyset_get(ks, i);
  cr_assert_not_null(k);
  cr_assert_eq(gauth_key_verify(k, GAUTH_ALG_RS256, "blob", 4, sig, n, &err),
               GAUTH_OK, "%s", err.message);
  gauth_keyset_free(ks);
  gauth_free(sig);
  gauth_free(kid);
  cr_assert_eq(counter(IAM_PATH(RUNNER, "generateIdToken")), 1);
  cr_assert_eq(counter(IAM_PATH(RUNNER, "signBlob")), 1);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
}

Test(ext, impersonation_denied_names_the_federated_principal) {
  char *path, *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c = imp_creds(SCHEDULER, NULL, &path);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_PERMISSION_DENIED, "%s", err.message);
  cr_assert_not_null(
      strstr(err.message,
             "the federated identity of " WIP_AUD " lacks permission "
             "iam.serviceAccounts.getAccessToken on " SCHEDULER),
      "%s", err.message);
  cr_assert_not_null(strstr(err.message,
                            "external account (after the STS "
                            "exchange)"),
                     "%s", err.message);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
}

/* ---- STS faults ---------------------------------------------------------- */

static gauth_status fetch_once(gauth_error *err) {
  gauth_options o = fast_options();
  char *path = subject_file(g.subject), *tok = NULL;
  gauth_credentials *c =
      creds_of(file_source_json(path, NULL, NULL), &o, GAUTH_OK, err);
  gauth_status st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  cr_assert_eq(st == GAUTH_OK, tok != NULL);
  if (tok != NULL) cr_assert_eq(use_token(tok), 200);
  gauth_free(tok);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
  return st;
}

Test(ext, sts_unavailable_once_then_success) {
  gauth_error err = GAUTH_ERROR_INIT;
  fault(
      "{\"route\":\"/v1/token\",\"kind\":\"status\",\"status\":503,"
      "\"count\":1}");
  cr_assert_eq(fetch_once(&err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(counter("/v1/token"), 2);
}

Test(ext, sts_rate_limited_honours_retry_after) {
  gauth_error err = GAUTH_ERROR_INIT;
  fault(
      "{\"route\":\"/v1/token\",\"kind\":\"status\",\"status\":429,"
      "\"retry_after\":1,\"count\":1}");
  int64_t t0 = tu_now_ms();
  cr_assert_eq(fetch_once(&err), GAUTH_OK, "%s", err.message);
  cr_assert_geq(tu_now_ms() - t0, 900);
  cr_assert_eq(counter("/v1/token"), 2);
}

Test(ext, sts_unavailable_always) {
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"/v1/token\",\"kind\":\"status\",\"status\":503}");
  cr_assert_eq(fetch_once(&err), GAUTH_E_UNAVAILABLE);
  cr_assert_not_null(strstr(err.message, "3 attempts"), "%s", err.message);
  cr_assert_eq(counter("/v1/token"), 3);
}

Test(ext, sts_bad_replies) {
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{\"route\":\"/v1/token\",\"kind\":\"invalid_json\"}");
  cr_assert_eq(fetch_once(&err), GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "external account: STS reply"), "%s",
                     err.message);
  cr_assert_eq(counter("/v1/token"), 1);
  fault(
      "{\"route\":\"/v1/token\",\"kind\":\"invalid_json\",\"body\":"
      "\"{\\\"access_token\\\":\\\"ya29.x\\\",\\\"issued_token_type\\\":"
      "\\\"urn:ietf:params:oauth:token-type:id_token\\\"}\"}");
  cr_assert_eq(fetch_once(&err), GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "\"issued_token_type\""), "%s",
                     err.message);
  fault("{\"route\":\"/v1/token\",\"kind\":\"oversized\"}");
  cr_assert_eq(fetch_once(&err), GAUTH_E_TOO_LARGE, "%s", err.message);
  fault("{\"route\":\"/v1/token\",\"kind\":\"truncate\",\"count\":1}");
  cr_assert_eq(fetch_once(&err), GAUTH_OK, "%s", err.message);
}

/* The subject token (a canary) never reaches a message or a log line, even
 * when STS echoes it back. */
Test(ext, subject_token_never_shown) {
  gauth_options o = fast_options();
  tu_log log;
  tu_log_init(&log);
  o.log_fn = tu_log_capture;
  o.log_userdata = &log;
  o.log_level = GAUTH_LOG_DEBUG;
  gauth_error err = GAUTH_ERROR_INIT;
  char *path = subject_file(CANARY), *tok = NULL;
  gauth_credentials *c =
      creds_of(file_source_json(path, NULL, NULL), &o, GAUTH_OK, &err);
  /* The emulator's own refusal (not a JWT of a trusted issuer). */
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_HTTP, "%s", err.message);
  cr_assert_str_eq(err.error_code, "invalid_target");
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  /* A server that echoes the subject token in its error, and fails. */
  fault(
      "{\"route\":\"/v1/token\",\"kind\":\"status\",\"status\":400,"
      "\"body\":\"{\\\"error\\\":\\\"invalid_request\\\","
      "\\\"error_description\\\":\\\"bad subject_token " CANARY "\\\"}\"}");
  const char *scopes[] = {EMAIL_SCOPE, NULL};
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, NULL, &err),
               GAUTH_E_HTTP, "%s", err.message);
  cr_assert_str_eq(err.error_code, "invalid_request");
  cr_assert_not_null(strstr(err.message, "bad subject_token"), "%s",
                     err.message);
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  fault("{\"route\":\"/v1/token\",\"kind\":\"status\",\"status\":503}");
  const char *scopes2[] = {"openid", NULL};
  cr_assert_eq(gauth_credentials_access_token(c, scopes2, &tok, NULL, &err),
               GAUTH_E_UNAVAILABLE, "%s", err.message);
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  cr_assert_gt(log.lines, 3);
  cr_assert_null(strstr(log.text, "CANARY"), "%s", log.text);
  gauth_credentials_free(c);
  tu_log_cleanup(&log);
  unlink(path);
  free(path);
}

/* ---- executable sources -------------------------------------------------- */

#define ALLOW "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"

/* A directory of its own for a test's scripts and the files they write. */
typedef struct exec_dir {
  char path[64];
} exec_dir;

static void dir_new(exec_dir *d) {
  snprintf(d->path, sizeof d->path, "/tmp/gauth-exec-XXXXXX");
  cr_assert_not_null(mkdtemp(d->path));
}

static void dir_free(exec_dir *d) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
  cr_expect_eq(system(cmd), 0);
}

/* d/name, written with text (mode 0700 for a script). */
static void dir_write(const exec_dir *d, const char *name, const char *text,
                      mode_t mode, char *path, size_t n) {
  snprintf(path, n, "%s/%s", d->path, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* The contents of d/name (free), NULL when absent. */
static char *dir_read(const exec_dir *d, const char *name) {
  char path[128], *buf = calloc(1, 65536);
  snprintf(path, sizeof path, "%s/%s", d->path, name);
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    free(buf);
    return NULL;
  }
  size_t n = fread(buf, 1, 65535, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* How many times a script ran (lines of d/count). */
static int runs(const exec_dir *d) {
  char *s = dir_read(d, "count");
  int n = 0;
  for (const char *p = s; p && *p; p++) n += *p == '\n';
  free(s);
  return n;
}

/* An executable response carrying the valid subject token, expiring at
 * now + ttl. */
static void good_response(char *buf, size_t n, long ttl) {
  snprintf(buf, n,
           "{\"version\":1,\"success\":true,\"token_type\":\"" JWT_TYPE
           "\",\"id_token\":\"%s\",\"expiration_time\":%ld}",
           g.subject, (long)time(NULL) + ttl);
}

/* A script that counts its runs, records its arguments, environment and
 * open descriptors, writes its response to the output file when it has
 * one, waits `delay` and prints `response`. Returns its path in path. */
static void token_script(const exec_dir *d, const char *response,
                         const char *delay, char *path, size_t n) {
  char *text = malloc(strlen(response) + 2048);
  sprintf(text,
          "#!/bin/sh\n"
          "echo run >> %s/count\n"
          "printf '%%s\\n' \"$@\" > %s/args\n"
          "env | grep -E '^(GOOGLE_EXTERNAL_ACCOUNT_|GAUTH_EXEC_MARK=)' | sort "
          "> %s/env\n"
          "ls /proc/$$/fd > %s/fds\n"
          "R='%s'\n"
          "if [ -n \"$GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE\" ]; then\n"
          "  printf '%%s' \"$R\" > \"$GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE\"\n"
          "fi\n"
          "sleep %s\n"
          "printf '%%s\\n' \"$R\"\n",
          d->path, d->path, d->path, d->path, response, delay);
  dir_write(d, "tok.sh", text, 0700, path, n);
  free(text);
}

static cJSON *exec_json(const char *command, int timeout_ms,
                        const char *output_file, const char *extra) {
  cJSON *src = cJSON_CreateObject(),
        *ex = cJSON_AddObjectToObject(src, "executable");
  cJSON_AddStringToObject(ex, "command", command);
  if (timeout_ms) cJSON_AddNumberToObject(ex, "timeout_millis", timeout_ms);
  if (output_file) cJSON_AddStringToObject(ex, "output_file", output_file);
  char *text = cJSON_PrintUnformatted(src);
  cJSON *j = ext_json(text, extra);
  free(text);
  cJSON_Delete(src);
  return j;
}

/* No child of ours is left unreaped (the emulator is still running). */
static void assert_no_zombie(void) {
  int st;
  pid_t r = waitpid(-1, &st, WNOHANG);
  cr_assert_eq(r, 0, "an unreaped child: %d", (int)r);
}

/* pid is gone, or a zombie of someone else's (killed). */
static int dead(pid_t pid) {
  for (int i = 0; i < 200; i++) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (p != NULL && (p[2] == 'Z' || p[2] == 'X')) return 1;
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  }
  return 0;
}

Test(ext, executable_source) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char resp[4096], script[256], cmd[512], *tok = NULL, who[512];
  dir_new(&d);
  good_response(resp, sizeof resp, 3600);
  token_script(&d, resp, "0", script, sizeof script);
  setenv(ALLOW, "1", 1);
  setenv("GAUTH_EXEC_MARK", "kept", 1);
  /* Set by the caller, not by the file: the script must not see it. */
  setenv("GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL", "stale@example", 1);
  /* A descriptor opened without O_CLOEXEC must not reach the script. */
  int leak = open("/dev/null", O_RDONLY);
  cr_assert_geq(leak, 3);
  snprintf(cmd, sizeof cmd, " %s  --flag=1\t\"two words\" ", script);
  gauth_credentials *c =
      creds_of(exec_json(cmd, 0, NULL, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 200);
  last_principal(TIP_PATH, who, sizeof who);
  cr_assert_str_eq(who, WIP_PRINCIPAL);
  gauth_free(tok);
  assert_no_zombie();
  cr_assert_eq(runs(&d), 1);
  char *args = dir_read(&d, "args"), *env = dir_read(&d, "env"),
       *fds = dir_read(&d, "fds");
  cr_assert_str_eq(args, "--flag=1\n\"two\nwords\"\n");
  cr_assert_str_eq(env,
                   "GAUTH_EXEC_MARK=kept\n"
                   "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1\n"
                   "GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE=" WIP_AUD
                   "\n"
                   "GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE=0\n"
                   "GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE=" JWT_TYPE "\n");
  char leak_name[16];
  snprintf(leak_name, sizeof leak_name, "\n%d\n", leak);
  cr_assert_null(strstr(fds, leak_name), "fds: %s", fds);
  free(args);
  free(env);
  free(fds);
  close(leak);
  /* Another scope: the token from the run is still fresh, reused. */
  const char *scopes[] = {EMAIL_SCOPE, NULL};
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_free(tok);
  cr_assert_eq(runs(&d), 1);
  cr_assert_eq(counter("/v1/token"), 2);
  gauth_credentials_free(c);
  dir_free(&d);
}

Test(ext, executable_environment_with_impersonation_and_output_file) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char resp[4096], script[256], out[256], *tok = NULL, who[512];
  dir_new(&d);
  good_response(resp, sizeof resp, 3600);
  token_script(&d, resp, "0", script, sizeof script);
  snprintf(out, sizeof out, "%s/cache.json", d.path);
  setenv(ALLOW, "1", 1);
  gauth_credentials *c = creds_of(
      exec_json(
          script, 10000, out,
          "{\"service_account_impersonation_url\":\"" IMP_URL(RUNNER) "\"}"),
      &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 200);
  last_principal(TIP_PATH, who, sizeof who);
  cr_assert_str_eq(who, RUNNER);
  gauth_free(tok);
  char *env = dir_read(&d, "env"), want[1024];
  snprintf(want, sizeof want,
           "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1\n"
           "GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE=" WIP_AUD
           "\n"
           "GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL=" RUNNER
           "\n"
           "GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE=0\n"
           "GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE=%s\n"
           "GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE=" JWT_TYPE "\n",
           out);
  cr_assert_str_eq(env, want);
  free(env);
  gauth_credentials_free(c);
  dir_free(&d);
}

/* output_file: a valid cached response is used without running the
 * command (a new credential, so nothing is in memory); an expired or
 * unsuccessful one makes it run; one that breaks the format is an error. */
Test(ext, executable_output_file_cache) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char resp[4096], script[256], out[256], *tok = NULL;
  dir_new(&d);
  good_response(resp, sizeof resp, 3600);
  token_script(&d, resp, "0", script, sizeof script);
  snprintf(out, sizeof out, "%s/cache.json", d.path);
  setenv(ALLOW, "1", 1);
  for (int i = 0; i < 2; i++) {
    gauth_credentials *c =
        creds_of(exec_json(script, 0, out, NULL), &o, GAUTH_OK, &err);
    cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
                 GAUTH_OK, "%s", err.message);
    cr_assert_eq(use_token(tok), 200);
    gauth_free(tok);
    gauth_credentials_free(c);
    cr_assert_eq(runs(&d), 1, "round %d", i);
  }
  static const char *const rerun[] = {
      "{\"version\":1,\"success\":false,\"code\":\"E\",\"message\":\"m\"}",
      "not JSON", "", NULL /* expired */, NULL /* no expiration_time */};
  for (size_t i = 0; i < sizeof rerun / sizeof *rerun; i++) {
    char cached[4096], p[256];
    if (rerun[i] != NULL)
      snprintf(cached, sizeof cached, "%s", rerun[i]);
    else if (i == 3)
      good_response(cached, sizeof cached, -60);
    else
      snprintf(cached, sizeof cached,
               "{\"version\":1,\"success\":true,\"token_type\":\"" JWT_TYPE
               "\",\"id_token\":\"%s\"}",
               g.subject);
    dir_write(&d, "cache.json", cached, 0600, p, sizeof p);
    gauth_credentials *c =
        creds_of(exec_json(script, 0, out, NULL), &o, GAUTH_OK, &err);
    cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
                 GAUTH_OK, "case %zu: %s", i, err.message);
    gauth_free(tok);
    gauth_credentials_free(c);
    cr_assert_eq(runs(&d), (int)i + 2, "case %zu", i);
  }
  /* A cached response of the wrong token type: an error, no run. */
  char p[256];
  dir_write(&d, "cache.json",
            "{\"version\":1,\"success\":true,\"token_type\":"
            "\"urn:ietf:params:oauth:token-type:saml2\",\"saml_response\":"
            "\"" CANARY "\",\"expiration_time\":4000000000}",
            0600, p, sizeof p);
  gauth_credentials *c =
      creds_of(exec_json(script, 0, out, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_BAD_RESPONSE, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "output_file"), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "subject_token_type"), "%s",
                     err.message);
  cr_assert_null(strstr(err.message, CANARY), "%s", err.message);
  cr_assert_eq(runs(&d), 6);
  gauth_credentials_free(c);
  dir_free(&d);
}

/* Eight threads asking for eight scope sets at once (eight fetches: the
 * cache does not merge them): the command runs once. */
typedef struct exec_thread {
  gauth_credentials *c;
  const char *scope;
  gauth_status st;
} exec_thread;

static void *exec_thread_main(void *arg) {
  exec_thread *t = arg;
  const char *scopes[] = {t->scope, NULL};
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  t->st = gauth_credentials_access_token(t->c, scopes, &tok, NULL, &err);
  gauth_free(tok);
  return NULL;
}

Test(ext, executable_runs_once_for_eight_threads) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char resp[4096], script[256];
  static const char *const scopes[] = {CLOUD,
                                       EMAIL_SCOPE,
                                       "openid",
                                       "https://www.googleapis.com/auth/a",
                                       "https://www.googleapis.com/auth/b",
                                       "https://www.googleapis.com/auth/c",
                                       "https://www.googleapis.com/auth/d",
                                       "https://www.googleapis.com/auth/e"};
  exec_thread t[8];
  pthread_t th[8];
  dir_new(&d);
  good_response(resp, sizeof resp, 3600);
  token_script(&d, resp, "0.5", script, sizeof script);
  setenv(ALLOW, "1", 1);
  gauth_credentials *c =
      creds_of(exec_json(script, 0, NULL, NULL), &o, GAUTH_OK, &err);
  for (int i = 0; i < 8; i++) {
    t[i] = (exec_thread){c, scopes[i], GAUTH_E_INTERNAL};
    cr_assert_eq(pthread_create(&th[i], NULL, exec_thread_main, &t[i]), 0);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(t[i].st, GAUTH_OK, "thread %d: %d", i, t[i].st);
  }
  cr_assert_eq(runs(&d), 1);
  cr_assert_eq(counter("/v1/token"), 8);
  assert_no_zombie();
  gauth_credentials_free(c);
  dir_free(&d);
}

/* The script and its background child are killed with their group at the
 * timeout, and reaped. */
Test(ext, executable_timeout_kills_the_group) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char text[512], script[256], *tok = NULL;
  dir_new(&d);
  snprintf(text, sizeof text,
           "#!/bin/sh\nsleep 100 &\necho $! > %s/bg\necho $$ > %s/fg\n"
           "sleep 100\n",
           d.path, d.path);
  dir_write(&d, "slow.sh", text, 0700, script, sizeof script);
  setenv(ALLOW, "1", 1);
  gauth_credentials *c =
      creds_of(exec_json(script, 5000, NULL, NULL), &o, GAUTH_OK, &err);
  int64_t t0 = tu_now_ms();
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_TIMEOUT, "%s", err.message);
  int64_t took = tu_now_ms() - t0;
  cr_assert(took >= 5000 && took < 8000, "took %lld ms", (long long)took);
  cr_assert_not_null(strstr(err.message, "timeout_millis 5000"), "%s",
                     err.message);
  cr_assert_not_null(strstr(err.message, "credential_source.executable"), "%s",
                     err.message);
  cr_assert_null(tok);
  assert_no_zombie();
  char *bg = dir_read(&d, "bg"), *fg = dir_read(&d, "fg");
  cr_assert_not_null(bg);
  cr_assert_not_null(fg);
  cr_assert(dead((pid_t)atoi(fg)), "the script survived");
  cr_assert(dead((pid_t)atoi(bg)), "the script's background child survived");
  free(bg);
  free(fg);
  cr_assert_eq(counter("/v1/token"), 0);
  gauth_credentials_free(c);
  dir_free(&d);
}

static gauth_status exec_once(const exec_dir *d, const char *body,
                              gauth_error *err) {
  gauth_options o = fast_options();
  char script[256], *tok = NULL;
  dir_write(d, "s.sh", body, 0700, script, sizeof script);
  gauth_credentials *c =
      creds_of(exec_json(script, 0, NULL, NULL), &o, GAUTH_OK, err);
  gauth_status st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  cr_assert_null(tok);
  gauth_credentials_free(c);
  assert_no_zombie();
  cr_assert_null(strstr(err->message, CANARY), "%s", err->message);
  cr_assert_null(strstr(err->message, g.subject), "%s", err->message);
  return st;
}

Test(ext, executable_failures) {
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char text[8192], resp[4096];
  dir_new(&d);
  setenv(ALLOW, "1", 1);
  /* 10 MB of output. */
  cr_assert_eq(exec_once(&d,
                         "#!/bin/sh\nhead -c 10485760 /dev/zero | tr '\\0' "
                         "a\n",
                         &err),
               GAUTH_E_TOO_LARGE, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "output too large"), "%s",
                     err.message);
  /* Exit 1, no output. */
  cr_assert_eq(exec_once(&d, "#!/bin/sh\nexit 1\n", &err), GAUTH_E_BAD_RESPONSE,
               "%s", err.message);
  cr_assert_not_null(strstr(err.message, "exited with status 1"), "%s",
                     err.message);
  /* Exit 3 after printing a valid token: refused, the token not shown. */
  good_response(resp, sizeof resp, 3600);
  snprintf(text, sizeof text, "#!/bin/sh\necho '%s'\nexit 3\n", resp);
  cr_assert_eq(exec_once(&d, text, &err), GAUTH_E_BAD_RESPONSE, "%s",
               err.message);
  cr_assert_not_null(strstr(err.message, "exited with status 3"), "%s",
                     err.message);
  /* Killed by a signal. */
  cr_assert_eq(exec_once(&d, "#!/bin/sh\nkill -9 $$\n", &err),
               GAUTH_E_BAD_RESPONSE, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "killed by signal 9"), "%s",
                     err.message);
  /* An expired token. */
  good_response(resp, sizeof resp, -30);
  snprintf(text, sizeof text, "#!/bin/sh\necho '%s'\n", resp);
  cr_assert_eq(exec_once(&d, text, &err), GAUTH_E_UNAUTHENTICATED, "%s",
               err.message);
  cr_assert_not_null(strstr(err.message, "expired"), "%s", err.message);
  /* success:false, exit 1 (Google's documented failure): code and message
   * quoted. */
  cr_assert_eq(exec_once(&d,
                         "#!/bin/sh\necho '{\"version\":1,\"success\":false,"
                         "\"code\":\"401\",\"message\":\"Caller not "
                         "authorized.\"}'\nexit 1\n",
                         &err),
               GAUTH_E_UNAUTHENTICATED, "%s", err.message);
  cr_assert_str_eq(err.error_code, "401");
  cr_assert_not_null(strstr(err.message,
                            "exited with status 1: the "
                            "executable reported a failure: "
                            "code 401: Caller not authorized."),
                     "%s", err.message);
  /* Not JSON (the canary): the output is not shown. */
  cr_assert_eq(exec_once(&d, "#!/bin/sh\necho '" CANARY "'\n", &err),
               GAUTH_E_BAD_RESPONSE, "%s", err.message);
  /* A program that does not exist. */
  gauth_options o = fast_options();
  char *tok = NULL;
  gauth_credentials *c = creds_of(
      exec_json("/nonexistent/gauth-tok", 0, NULL, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_NOT_FOUND, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "cannot run /nonexistent/gauth-tok"),
                     "%s", err.message);
  gauth_credentials_free(c);
  cr_assert_eq(counter("/v1/token"), 0);
  dir_free(&d);
}

/* Without GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 nothing runs. */
Test(ext, executable_not_allowed) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char resp[4096], script[256], *tok = NULL;
  dir_new(&d);
  good_response(resp, sizeof resp, 3600);
  token_script(&d, resp, "0", script, sizeof script);
  unsetenv(ALLOW);
  gauth_credentials *c =
      creds_of(exec_json(script, 0, NULL, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNSUPPORTED, "%s", err.message);
  cr_assert_not_null(strstr(err.message, ALLOW "=1"), "%s", err.message);
  cr_assert_eq(runs(&d), 0);
  gauth_credentials_free(c);
  dir_free(&d);
}

/* A command that prints nothing, exits 0 and writes its response to the
 * output file: the response is read from there (as Python's library does). */
Test(ext, executable_response_in_output_file_only) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char resp[4096], text[8192], script[256], out[256], *tok = NULL;
  dir_new(&d);
  good_response(resp, sizeof resp, 3600);
  snprintf(out, sizeof out, "%s/cache.json", d.path);
  snprintf(text, sizeof text,
           "#!/bin/sh\necho run >> %s/count\n"
           "printf '%%s' '%s' > \"$GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE\"\n",
           d.path, resp);
  dir_write(&d, "quiet.sh", text, 0700, script, sizeof script);
  setenv(ALLOW, "1", 1);
  gauth_credentials *c =
      creds_of(exec_json(script, 0, out, NULL), &o, GAUTH_OK, &err);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 200);
  gauth_free(tok);
  cr_assert_eq(runs(&d), 1);
  gauth_credentials_free(c);
  dir_free(&d);
}

/* With the caller's stdin and stdout closed (a daemon), the command's
 * output still arrives and the caller's descriptors are left alone. */
Test(ext, executable_with_stdin_and_stdout_closed) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  exec_dir d;
  char resp[4096], script[256], *tok = NULL;
  dir_new(&d);
  good_response(resp, sizeof resp, 3600);
  token_script(&d, resp, "0", script, sizeof script);
  setenv(ALLOW, "1", 1);
  gauth_credentials *c =
      creds_of(exec_json(script, 0, NULL, NULL), &o, GAUTH_OK, &err);
  int saved = fcntl(1, F_DUPFD_CLOEXEC, 3);
  cr_assert_geq(saved, 3);
  close(0);
  close(1);
  gauth_status st = gauth_credentials_access_token(c, NULL, &tok, NULL, &err);
  dup2(saved, 1);
  close(saved);
  cr_assert_eq(st, GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 200);
  gauth_free(tok);
  cr_assert_eq(runs(&d), 1);
  gauth_credentials_free(c);
  dir_free(&d);
}
