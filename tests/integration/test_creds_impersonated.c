/* Impersonation over real HTTP against the emulator: the fixture's
 * scheduler key (the source) impersonates the runner account once the
 * test grants it roles/iam.serviceAccountTokenCreator through the control
 * API. What the emulator minted is checked where it is used: the access
 * token's principal in the request log of a testIamPermissions call, the ID
 * token through gauth_verifier against the emulator's certs, signBlob and
 * signJwt against the runner's published public keys. Delegation chains run
 * on an emulator of their own with four accounts. Faults on IAM
 * Credentials, missing bindings, and the impersonated_service_account file
 * end to end. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "test_util.h"

#define SCHEDULER "scheduler@demo-project.iam.gserviceaccount.com"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"
#define CLOUD "https://www.googleapis.com/auth/cloud-platform"
#define EMAIL_SCOPE "https://www.googleapis.com/auth/userinfo.email"
#define IAM_PATH(email, action) \
  "/v1/projects/-/serviceAccounts/" email ":" action
#define TIP_PATH "/v1/projects/demo-project:testIamPermissions"
#define TOKEN_CREATOR "roles/iam.serviceAccountTokenCreator"

/* The emulator the test talks to: the fixture's, or one of its own. */
static const char *g_base;

static const char *base(void) {
  return g_base != NULL ? g_base : emu_fixture_url();
}

/* ---- emulator helpers ---------------------------------------------------- */

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = malloc(65536);
  size_t n;
  cr_assert_not_null(f, "cannot open %s", path);
  n = fread(buf, 1, 65535, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void control(const char *path, const char *body) {
  char *out = NULL;
  long st = emu_control(base(), path, body, &out);
  cr_assert_eq(st, 200, "%s: %ld %s", path, st, out ? out : "");
  free(out);
}

static void fault(const char *json) { control("/emulator/v1/faults", json); }

static void clear_faults(void) {
  emu_reply r;
  if (emu_http(base(), "DELETE", "/emulator/v1/faults", NULL, NULL, &r) == 0)
    emu_reply_free(&r);
}

/* Grants (add 1) or revokes (add 0) TokenCreator on `on` to `who`. */
static void token_creator(const char *who, const char *on, int add) {
  char body[1024];
  snprintf(body, sizeof body,
           "{\"resource\":\"projects/demo-project/serviceAccounts/%s\","
           "\"role\":\"" TOKEN_CREATOR "\",\"member\":\"serviceAccount:%s\"}",
           on, who);
  if (add) {
    control("/emulator/v1/policy:add", body);
  } else {
    char *out = NULL;
    emu_control(base(), "/emulator/v1/policy:remove", body, &out);
    free(out);
  }
}

static int counter(const char *path) {
  long v = emu_counter(base(), path);
  cr_assert_geq(v, 0, "the emulator's counters cannot be read");
  return (int)v;
}

/* The principal of the last logged request on path ("" if none). */
static void last_principal(const char *path, char *buf, size_t n) {
  cr_assert_eq(emu_last_principal(base(), path, buf, n), 0,
               "the emulator's request log cannot be read");
}

static int64_t emu_now(void) {
  char *out = NULL;
  cJSON *j;
  int64_t now;
  cr_assert_eq(emu_control(base(), "/emulator/v1/clock", NULL, &out), 200);
  j = cJSON_Parse(out);
  now = (int64_t)cJSON_GetObjectItemCaseSensitive(j, "now")->valuedouble;
  cJSON_Delete(j);
  free(out);
  return now;
}

/* testIamPermissions on the project with token: the status; the log then
 * shows whose token it was. */
static long use_token(const char *token) {
  return emu_bearer_post(base(), TIP_PATH, token,
                         "{\"permissions\":[\"run.jobs.run\"]}");
}

/* An emulator of its own, with a config; writes its invoker's key. */
typedef struct own_emu {
  pid_t pid;
  char base[128];
  char dir[64];
  char key[128];
} own_emu;

static void own_start(own_emu *o, const char *config) {
  char cfg[160], arg_cfg[200], arg_key[200], line[256];
  int fds[2], fd;
  snprintf(o->dir, sizeof o->dir, "/tmp/gauth-imp-XXXXXX");
  cr_assert_not_null(mkdtemp(o->dir));
  snprintf(cfg, sizeof cfg, "%s/config.json", o->dir);
  snprintf(o->key, sizeof o->key, "%s/key.json", o->dir);
  fd = open(cfg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, config, strlen(config)), (ssize_t)strlen(config));
  close(fd);
  snprintf(arg_cfg, sizeof arg_cfg, "--config=%s", cfg);
  snprintf(arg_key, sizeof arg_key, "--key-file=%s", o->key);
  const char *bin = getenv("GAUTH_EMULATOR_BIN");
  cr_assert_not_null(bin);
  cr_assert_eq(pipe(fds), 0);
  o->pid = fork();
  cr_assert_geq(o->pid, 0);
  if (o->pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    if (freopen("/dev/null", "w", stderr) == NULL) _exit(126);
    execl(bin, bin, "--listen=127.0.0.1:0", arg_cfg, arg_key, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *out = fdopen(fds[0], "r");
  cr_assert_not_null(fgets(line, sizeof line, out),
                     "the emulator did not start");
  fclose(out);
  unlink(cfg);
  line[strcspn(line, "\n")] = '\0';
  cr_assert_eq(strncmp(line, "listening ", 10), 0, "%s", line);
  snprintf(o->base, sizeof o->base, "%.100s", line + 10);
  g_base = o->base;
}

static void own_stop(own_emu *o) {
  int st = 0;
  kill(o->pid, SIGTERM);
  cr_expect_eq(waitpid(o->pid, &st, 0), o->pid);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  unlink(o->key);
  rmdir(o->dir);
  g_base = NULL;
}

/* ---- credentials --------------------------------------------------------- */

static gauth_options fast_options(void) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  o.endpoint = base();
  o.retry.max_attempts = 3;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 40;
  o.retry.deadline_ms = 10000;
  o.timeout_ms = 5000;
  return o;
}

static gauth_credentials *source_from(const char *key_path,
                                      const gauth_options *o) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  co.options = o;
  cr_assert_eq(gauth_credentials_from_file(&c, key_path, &co, &err), GAUTH_OK,
               "%s", err.message);
  return c;
}

/* The fixture's scheduler key impersonating target through delegates. */
static gauth_credentials *impersonate(const char *target,
                                      const char *const *delegates,
                                      const gauth_options *o,
                                      gauth_credentials_options *co) {
  gauth_credentials_options def = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *src = source_from(emu_fixture_key_file(), o), *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  if (co == NULL) co = &def;
  co->options = o;
  cr_assert_eq(
      gauth_credentials_impersonate(&c, src, target, delegates, co, &err),
      GAUTH_OK, "%s", err.message);
  gauth_credentials_free(src);
  return c;
}

static gauth_claims *verify_id(const char *token, const char *aud) {
  gauth_claims *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(emu_verify_id_token(base(), token, aud, &c, &err), GAUTH_OK,
               "%s", err.message);
  return c;
}

/* The public keys the emulator publishes for an account. */
static gauth_keyset *account_keys(const char *email) {
  char path[512];
  emu_reply r;
  gauth_keyset *ks = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(path, sizeof path, "/service_accounts/v1/metadata/jwk/%s", email);
  cr_assert_eq(emu_http(base(), "GET", path, NULL, NULL, &r), 0);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_assert_eq(gauth_keyset_parse(&ks, r.body, r.len, &err), GAUTH_OK, "%s",
               err.message);
  emu_reply_free(&r);
  return ks;
}

static const gauth_key *key_by_kid(const gauth_keyset *ks, const char *kid) {
  for (size_t i = 0; i < gauth_keyset_count(ks); i++) {
    const gauth_key *k = gauth_keyset_get(ks, i);
    if (gauth_key_kid(k) != NULL && strcmp(gauth_key_kid(k), kid) == 0)
      return k;
  }
  return NULL;
}

/* ---- fixture tests ------------------------------------------------------- */

static void setup(void) {
  g_base = NULL;
  control("/emulator/v1/counters:reset", "{}");
  clear_faults();
  token_creator(SCHEDULER, RUNNER, 1);
}

static void teardown(void) {
  clear_faults();
  token_creator(SCHEDULER, RUNNER, 0);
}

TestSuite(imp, .init = setup, .fini = teardown, .timeout = 60);

Test(imp, access_token_acts_as_the_target) {
  gauth_options o = fast_options();
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  co.token_lifetime_seconds = 1200;
  gauth_credentials *c = impersonate(RUNNER, NULL, &o, &co);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, who[256];
  int64_t exp = 0, now = emu_now();
  cr_assert_str_eq(gauth_credentials_origin(c), "impersonation of " RUNNER);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  /* expireTime = the emulator's now + the lifetime asked for. */
  cr_assert(exp >= now + 1200 && exp <= now + 1202, "exp %lld now %lld",
            (long long)exp, (long long)now);
  cr_assert_eq(counter("/token"), 1);
  cr_assert_eq(counter(IAM_PATH(RUNNER, "generateAccessToken")), 1);
  last_principal(IAM_PATH(RUNNER, "generateAccessToken"), who, sizeof who);
  cr_assert_str_eq(who, SCHEDULER);
  cr_assert_eq(use_token(tok), 200);
  last_principal(TIP_PATH, who, sizeof who);
  cr_assert_str_eq(who, RUNNER);
  gauth_free(tok);

  /* Cached: no new request. */
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK);
  gauth_free(tok);
  cr_assert_eq(counter(IAM_PATH(RUNNER, "generateAccessToken")), 1);

  /* The scopes asked for are the token's: without cloud-platform,
   * testIamPermissions refuses it (and the source's token is reused). */
  const char *scopes[] = {EMAIL_SCOPE, NULL};
  cr_assert_eq(gauth_credentials_access_token(c, scopes, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 403);
  gauth_free(tok);
  cr_assert_eq(counter(IAM_PATH(RUNNER, "generateAccessToken")), 2);
  cr_assert_eq(counter("/token"), 1);

  char *email = NULL, *project = NULL;
  cr_assert_eq(gauth_credentials_email(c, &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, RUNNER);
  gauth_free(email);
  cr_assert_eq(gauth_credentials_project_id(c, &project, &err),
               GAUTH_E_NOT_FOUND);
  gauth_credentials_free(c);
}

Test(imp, target_as_resource_name_and_quota_project) {
  gauth_options o = fast_options();
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  co.quota_project = "billing-project";
  gauth_credentials *c =
      impersonate("projects/-/serviceAccounts/" RUNNER, NULL, &o, &co);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  cr_assert_str_eq(gauth_credentials_quota_project(c), "billing-project");
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(use_token(tok), 200);
  gauth_free(tok);
  gauth_credentials_free(c);
}

static void check_id_token(gauth_credentials *c, unsigned int flags,
                           const char *aud) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  const char *email = NULL;
  int64_t exp = 0;
  cr_assert_eq(gauth_credentials_id_token(c, aud, flags, &tok, &exp, &err),
               GAUTH_OK, "%s", err.message);
  gauth_claims *cl = verify_id(tok, aud);
  cr_assert_eq(gauth_claims_audience_count(cl), 1);
  cr_assert_str_eq(gauth_claims_audience(cl, 0), aud);
  cr_assert_eq(gauth_claims_expires_at(cl), exp);
  gauth_status st = gauth_claims_get_string(cl, "email", &email, &err);
  if (flags & GAUTH_ID_TOKEN_INCLUDE_EMAIL) {
    cr_assert_eq(st, GAUTH_OK, "%s", err.message);
    cr_assert_str_eq(email, RUNNER);
  } else {
    cr_assert_eq(st, GAUTH_E_NOT_FOUND, "email claim present without the flag");
  }
  gauth_claims_free(cl);
  gauth_free(tok);
}

Test(imp, id_token_verifies_with_and_without_email) {
  gauth_options o = fast_options();
  gauth_credentials *c = impersonate(RUNNER, NULL, &o, NULL);
  check_id_token(c, GAUTH_ID_TOKEN_INCLUDE_EMAIL, "https://svc.example/a");
  check_id_token(c, 0, "https://svc.example/b");
  cr_assert_eq(counter(IAM_PATH(RUNNER, "generateIdToken")), 2);
  char who[256];
  last_principal(IAM_PATH(RUNNER, "generateIdToken"), who, sizeof who);
  cr_assert_str_eq(who, SCHEDULER);
  gauth_credentials_free(c);
}

Test(imp, sign_blob_verifies_with_the_targets_key) {
  gauth_options o = fast_options();
  gauth_credentials *c = impersonate(RUNNER, NULL, &o, NULL);
  gauth_error err = GAUTH_ERROR_INIT;
  unsigned char *sig = NULL;
  size_t n = 0;
  char *kid = NULL;
  const char data[] = "bytes to sign \x01\xff";
  cr_assert_eq(gauth_credentials_sign_blob(c, data, sizeof data - 1, &sig, &n,
                                           &kid, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_eq(n, 256); /* RSA 2048 */
  gauth_keyset *runner = account_keys(RUNNER);
  const gauth_key *k = key_by_kid(runner, kid);
  cr_assert_not_null(k, "no runner key with kid %s", kid);
  cr_assert_eq(
      gauth_key_verify(k, GAUTH_ALG_RS256, data, sizeof data - 1, sig, n, &err),
      GAUTH_OK, "%s", err.message);
  /* Not the source's key, not other bytes. */
  cr_assert_neq(gauth_key_verify(k, GAUTH_ALG_RS256, "other", 5, sig, n, NULL),
                GAUTH_OK);
  gauth_keyset *sched = account_keys(SCHEDULER);
  cr_assert_null(key_by_kid(sched, kid));
  cr_assert_eq(counter(IAM_PATH(RUNNER, "signBlob")), 1);
  gauth_keyset_free(sched);
  gauth_keyset_free(runner);
  gauth_free(sig);
  gauth_free(kid);
  gauth_credentials_free(c);
}

Test(imp, sign_jwt_verifies_with_the_targets_key) {
  gauth_options o = fast_options();
  gauth_credentials *c = impersonate(RUNNER, NULL, &o, NULL);
  gauth_error err = GAUTH_ERROR_INIT;
  char *jwt = NULL;
  const char *claims = "{\"iss\":\"" RUNNER
                       "\",\"sub\":\"job\","
                       "\"aud\":\"https://x.example/\",\"n\":42}";
  cr_assert_eq(gauth_credentials_sign_jwt(c, claims, &jwt, &err), GAUTH_OK,
               "%s", err.message);
  gauth_keyset *runner = account_keys(RUNNER);
  char *payload = NULL, *header = NULL;
  cr_assert_eq(gauth_jws_verify(jwt, 0, runner, GAUTH_ALG_BIT(GAUTH_ALG_RS256),
                                &payload, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cJSON *got = cJSON_Parse(payload), *want = cJSON_Parse(claims);
  cr_assert(cJSON_Compare(got, want, 1), "claims %s", payload);
  cJSON_Delete(got);
  cJSON_Delete(want);
  /* The header names the runner key that signed. */
  cr_assert_eq(gauth_jwt_decode_unverified(jwt, &header, NULL, &err), GAUTH_OK);
  cJSON *h = cJSON_Parse(header);
  const cJSON *kid = cJSON_GetObjectItemCaseSensitive(h, "kid");
  cr_assert(cJSON_IsString(kid), "%s", header);
  cr_assert_not_null(key_by_kid(runner, kid->valuestring), "%s", header);
  cJSON_Delete(h);
  gauth_free(header);
  gauth_free(payload);
  gauth_keyset_free(runner);
  gauth_free(jwt);
  gauth_credentials_free(c);
}

Test(imp, missing_binding_names_permission_and_principal) {
  gauth_options o = fast_options();
  gauth_credentials *c = impersonate(RUNNER, NULL, &o, NULL);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, *jwt = NULL;
  unsigned char *sig = NULL;
  size_t n;
  token_creator(SCHEDULER, RUNNER, 0);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_PERMISSION_DENIED, "%s", err.message);
  cr_assert_null(tok);
  cr_assert_eq(err.http_status, 403);
  cr_assert_str_eq(err.error_code, "PERMISSION_DENIED");
  cr_assert_not_null(
      strstr(err.message, "generateAccessToken on " RUNNER ": " SCHEDULER
                          " lacks permission "
                          "iam.serviceAccounts.getAccessToken on " RUNNER),
      "%s", err.message);
  cr_assert_not_null(strstr(err.message,
                            "Google: HTTP 403 PERMISSION_DENIED: "
                            "Permission 'iam.serviceAccounts."
                            "getAccessToken' denied"),
                     "%s", err.message);
  cr_assert_eq(counter(IAM_PATH(RUNNER, "generateAccessToken")), 1);

  cr_assert_eq(
      gauth_credentials_id_token(c, "https://a.example/", 0, &tok, NULL, &err),
      GAUTH_E_PERMISSION_DENIED);
  cr_assert_not_null(
      strstr(err.message, SCHEDULER " lacks permission "
                                    "iam.serviceAccounts.getOpenIdToken"),
      "%s", err.message);
  cr_assert_eq(gauth_credentials_sign_blob(c, "x", 1, &sig, &n, NULL, &err),
               GAUTH_E_PERMISSION_DENIED);
  cr_assert_not_null(
      strstr(err.message, SCHEDULER " lacks permission "
                                    "iam.serviceAccounts.signBlob"),
      "%s", err.message);
  cr_assert_eq(gauth_credentials_sign_jwt(c, "{}", &jwt, &err),
               GAUTH_E_PERMISSION_DENIED);
  cr_assert_not_null(strstr(err.message, "signJwt on " RUNNER ": " SCHEDULER
                                         " lacks permission "
                                         "iam.serviceAccounts.signJwt"),
                     "%s", err.message);
  gauth_credentials_free(c);
}

Test(imp, unknown_target_is_not_found) {
  gauth_options o = fast_options();
  gauth_credentials *c =
      impersonate("ghost@demo-project.iam.gserviceaccount.com", NULL, &o, NULL);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_NOT_FOUND, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "generateAccessToken on ghost@"), "%s",
                     err.message);
  gauth_credentials_free(c);
}

/* The source's token never shows in a message or a log line. */
Test(imp, source_token_never_logged) {
  gauth_options o = fast_options();
  tu_log log;
  tu_log_init(&log);
  o.log_fn = tu_log_capture;
  o.log_userdata = &log;
  o.log_level = GAUTH_LOG_DEBUG;
  gauth_credentials *src = source_from(emu_fixture_key_file(), &o), *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *src_tok = NULL, *tok = NULL;
  cr_assert_eq(gauth_credentials_access_token(src, NULL, &src_tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  co.options = &o;
  cr_assert_eq(gauth_credentials_impersonate(&c, src, RUNNER, NULL, &co, &err),
               GAUTH_OK);
  fault(
      "{\"route\":\"/v1/projects/-/serviceAccounts/\",\"kind\":\"status\","
      "\"status\":503}");
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNAVAILABLE);
  cr_assert_gt(log.lines, 2);
  cr_assert_null(strstr(log.text, src_tok), "%s", log.text);
  cr_assert_null(strstr(err.message, src_tok), "%s", err.message);
  cr_assert_null(strstr(log.text, "ya29."), "%s", log.text);
  gauth_free(src_tok);
  gauth_credentials_free(c);
  gauth_credentials_free(src);
  tu_log_cleanup(&log);
}

/* ---- faults on IAM Credentials ------------------------------------------- */

#define IAM_ROUTE "\"route\":\"/v1/projects/-/serviceAccounts/\""

static gauth_status fetch(gauth_options *o, gauth_error *err) {
  gauth_credentials *c = impersonate(RUNNER, NULL, o, NULL);
  char *tok = NULL;
  gauth_status st = gauth_credentials_access_token(c, NULL, &tok, NULL, err);
  cr_assert_eq(st == GAUTH_OK, tok != NULL);
  if (tok != NULL) cr_assert_eq(use_token(tok), 200);
  gauth_free(tok);
  gauth_credentials_free(c);
  return st;
}

#define AT_PATH IAM_PATH(RUNNER, "generateAccessToken")

Test(imp_faults, unavailable_once_then_success, .init = setup,
     .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{" IAM_ROUTE ",\"kind\":\"status\",\"status\":503,\"count\":1}");
  cr_assert_eq(fetch(&o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(counter(AT_PATH), 2);
  cr_assert_eq(counter("/token"), 1);
}

Test(imp_faults, rate_limited_honours_retry_after, .init = setup,
     .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{" IAM_ROUTE
        ",\"kind\":\"status\",\"status\":429,"
        "\"retry_after\":1,\"count\":1}");
  int64_t t0 = tu_now_ms();
  cr_assert_eq(fetch(&o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_geq(tu_now_ms() - t0, 900);
  cr_assert_eq(counter(AT_PATH), 2);
}

Test(imp_faults, unavailable_always_gives_up, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{" IAM_ROUTE ",\"kind\":\"status\",\"status\":503}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_UNAVAILABLE);
  cr_assert_eq(err.http_status, 503);
  cr_assert_not_null(strstr(err.message, "generateAccessToken on " RUNNER),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, "3 attempts"), "%s", err.message);
  cr_assert_eq(counter(AT_PATH), 3);
}

Test(imp_faults, reset, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{" IAM_ROUTE ",\"kind\":\"reset\"}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_NETWORK, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "generateAccessToken on " RUNNER),
                     "%s", err.message);
  cr_assert_not_null(strstr(err.message, "3 attempts"), "%s", err.message);
  /* libcurl itself resends, once, a request whose reused keep-alive
   * connection closes without a reply (the source's /token connection):
   * the emulator may see one more than the 3 attempts. */
  int seen = counter(AT_PATH);
  cr_assert(seen == 3 || seen == 4, "emulator saw %d", seen);
  clear_faults();
  fault("{" IAM_ROUTE ",\"kind\":\"reset\",\"count\":1}");
  cr_assert_eq(fetch(&o, &err), GAUTH_OK, "%s", err.message);
}

Test(imp_faults, truncated, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{" IAM_ROUTE ",\"kind\":\"truncate\"}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_NETWORK, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "cut short"), "%s", err.message);
  cr_assert_null(strstr(err.message, "ya29"), "%s", err.message);
  cr_assert_eq(counter(AT_PATH), 3);
}

Test(imp_faults, invalid_json, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{" IAM_ROUTE ",\"kind\":\"invalid_json\"}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "generateAccessToken reply"), "%s",
                     err.message);
  cr_assert_null(strstr(err.message, "ya29"), "%s", err.message);
  cr_assert_eq(counter(AT_PATH), 1);
}

Test(imp_faults, wrong_shape, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{" IAM_ROUTE
        ",\"kind\":\"invalid_json\",\"body\":"
        "\"{\\\"accessToken\\\":\\\"ya29.x\\\",\\\"expireTime\\\":"
        "\\\"soon\\\"}\"}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_BAD_RESPONSE);
  cr_assert_not_null(strstr(err.message, "\"expireTime\""), "%s", err.message);
}

Test(imp_faults, oversized, .init = setup, .fini = teardown) {
  gauth_options o = fast_options();
  gauth_error err = GAUTH_ERROR_INIT;
  fault("{" IAM_ROUTE ",\"kind\":\"oversized\"}");
  cr_assert_eq(fetch(&o, &err), GAUTH_E_TOO_LARGE, "%s", err.message);
  cr_assert_eq(counter(AT_PATH), 1);
}

/* ---- the impersonated_service_account file ------------------------------- */

static char *imp_file_text(const char *target, const char *delegates) {
  cJSON *f = cJSON_CreateObject();
  char *key = read_text(emu_fixture_key_file()), url[512];
  snprintf(url, sizeof url,
           "https://iamcredentials.googleapis.com/v1/projects/-/"
           "serviceAccounts/%s:generateAccessToken",
           target);
  cJSON_AddStringToObject(f, "type", "impersonated_service_account");
  cJSON_AddStringToObject(f, "service_account_impersonation_url", url);
  cJSON_AddItemToObject(f, "delegates", cJSON_Parse(delegates));
  cJSON_AddItemToObject(f, "source_credentials", cJSON_Parse(key));
  cJSON_AddStringToObject(f, "quota_project_id", "file-billing");
  char *text = cJSON_PrintUnformatted(f);
  cJSON_Delete(f);
  free(key);
  return text;
}

Test(imp, file_end_to_end) {
  gauth_options o = fast_options();
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *text = imp_file_text(RUNNER, "[]"), *path = tu_write_temp(text);
  char *tok = NULL, who[256];
  co.options = &o;
  cr_assert_eq(gauth_credentials_from_file(&c, path, &co, &err), GAUTH_OK, "%s",
               err.message);
  cr_assert_eq(gauth_credentials_get_type(c), GAUTH_CREDENTIALS_IMPERSONATED);
  char origin[1100];
  snprintf(origin, sizeof origin, "impersonation of " RUNNER " (from file %s)",
           path);
  cr_assert_str_eq(gauth_credentials_origin(c), origin);
  cr_assert_str_eq(gauth_credentials_quota_project(c), "file-billing");
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  last_principal(AT_PATH, who, sizeof who);
  cr_assert_str_eq(who, SCHEDULER);
  cr_assert_eq(use_token(tok), 200);
  last_principal(TIP_PATH, who, sizeof who);
  cr_assert_str_eq(who, RUNNER);
  gauth_free(tok);
  check_id_token(c, GAUTH_ID_TOKEN_INCLUDE_EMAIL, "https://file.example/");
  cr_assert_eq(counter("/token"), 1);
  cr_assert_eq(counter(AT_PATH), 1);
  gauth_credentials_free(c);
  unlink(path);
  free(path);
  free(text);
}

/* ---- delegation chains: caller -> hop1 -> hop2 -> target ----------------- */

#define ACCT(n) n "@demo-project.iam.gserviceaccount.com"
#define CALLER ACCT("caller")
#define HOP1 ACCT("hop1")
#define HOP2 ACCT("hop2")
#define TARGET ACCT("target")

static const char CHAIN_WORLD[] =
    "{\"service_accounts\":[{\"email\":\"" CALLER "\"},{\"email\":\"" HOP1
    "\"},{\"email\":\"" HOP2 "\"},{\"email\":\"" TARGET
    "\"}],"
    "\"invoker\":\"" CALLER "\",\"metadata_account\":\"" TARGET
    "\","
    "\"services\":[],\"jobs\":[],\"bindings\":[]}";

static own_emu g_chain;

static void chain_setup(void) {
  own_start(&g_chain, CHAIN_WORLD);
  token_creator(CALLER, HOP1, 1);
  token_creator(HOP1, HOP2, 1);
  token_creator(HOP2, TARGET, 1);
}

static void chain_teardown(void) { own_stop(&g_chain); }

TestSuite(chain, .init = chain_setup, .fini = chain_teardown, .timeout = 60);

static gauth_credentials *chain_creds(const gauth_options *o) {
  const char *delegates[] = {HOP1, "projects/-/serviceAccounts/" HOP2, NULL};
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *src = source_from(g_chain.key, o), *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  co.options = o;
  cr_assert_eq(
      gauth_credentials_impersonate(&c, src, TARGET, delegates, &co, &err),
      GAUTH_OK, "%s", err.message);
  gauth_credentials_free(src);
  return c;
}

Test(chain, tokens_through_two_delegates) {
  gauth_options o = fast_options();
  gauth_credentials *c = chain_creds(&o);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, who[256];
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  last_principal(IAM_PATH(TARGET, "generateAccessToken"), who, sizeof who);
  cr_assert_str_eq(who, CALLER);
  cr_assert_eq(use_token(tok), 200);
  last_principal(TIP_PATH, who, sizeof who);
  cr_assert_str_eq(who, TARGET);
  gauth_free(tok);

  cr_assert_eq(gauth_credentials_id_token(c, "https://chain.example/",
                                          GAUTH_ID_TOKEN_INCLUDE_EMAIL, &tok,
                                          NULL, &err),
               GAUTH_OK, "%s", err.message);
  gauth_claims *cl = verify_id(tok, "https://chain.example/");
  const char *email = NULL;
  cr_assert_eq(gauth_claims_get_string(cl, "email", &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, TARGET);
  gauth_claims_free(cl);
  gauth_free(tok);

  unsigned char *sig = NULL;
  size_t n = 0;
  char *kid = NULL;
  cr_assert_eq(gauth_credentials_sign_blob(c, "abc", 3, &sig, &n, &kid, &err),
               GAUTH_OK, "%s", err.message);
  gauth_keyset *ks = account_keys(TARGET);
  cr_assert_not_null(key_by_kid(ks, kid));
  cr_assert_eq(gauth_key_verify(key_by_kid(ks, kid), GAUTH_ALG_RS256, "abc", 3,
                                sig, n, &err),
               GAUTH_OK, "%s", err.message);
  gauth_keyset_free(ks);
  gauth_free(sig);
  gauth_free(kid);
  /* One request each: the chain is IAM's to walk. */
  cr_assert_eq(counter(IAM_PATH(TARGET, "generateAccessToken")), 1);
  cr_assert_eq(counter(IAM_PATH(TARGET, "generateIdToken")), 1);
  cr_assert_eq(counter(IAM_PATH(TARGET, "signBlob")), 1);
  gauth_credentials_free(c);
}

/* A broken hop: the error names it, after one probe per delegate at most. */
static void broken_hop(const char *from, const char *to, const char *want,
                       int probes_hop1, int probes_hop2) {
  gauth_options o = fast_options();
  gauth_credentials *c = chain_creds(&o);
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  token_creator(from, to, 0);
  control("/emulator/v1/counters:reset", "{}");
  cr_assert_eq(gauth_credentials_id_token(c, "https://chain.example/", 0, &tok,
                                          NULL, &err),
               GAUTH_E_PERMISSION_DENIED, "%s", err.message);
  cr_assert_null(tok);
  cr_assert_not_null(strstr(err.message, want), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "generateIdToken on " TARGET), "%s",
                     err.message);
  cr_assert_not_null(strstr(err.message, "Google: HTTP 403"), "%s",
                     err.message);
  cr_assert_eq(counter(IAM_PATH(TARGET, "generateIdToken")), 1);
  cr_assert_eq(counter(IAM_PATH(HOP1, "generateAccessToken")), probes_hop1);
  cr_assert_eq(counter(IAM_PATH(HOP2, "generateAccessToken")), probes_hop2);
  gauth_credentials_free(c);
}

Test(chain, first_hop_missing) {
  broken_hop(CALLER, HOP1,
             CALLER
             " lacks permission iam.serviceAccounts.getAccessToken on " HOP1
             " (delegation hop 1 of 3)",
             1, 0);
}

Test(chain, middle_hop_missing) {
  broken_hop(HOP1, HOP2,
             HOP1
             " lacks permission iam.serviceAccounts.getAccessToken on " HOP2
             " (delegation hop 2 of 3)",
             1, 1);
}

Test(chain, last_hop_missing) {
  broken_hop(HOP2, TARGET,
             HOP2
             " lacks permission iam.serviceAccounts.getOpenIdToken on " TARGET
             " (delegation hop 3 of 3)",
             1, 1);
}
