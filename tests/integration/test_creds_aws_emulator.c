/* External accounts from AWS against gauth-emulator (its "aws" config: an
 * EC2 instance metadata service on its base URL and STS's check of signed
 * GetCallerIdentity requests, with a SigV4 implementation of its own):
 * the environment's long-term key, an assumed role's key with its session
 * token, the instance's role through IMDSv2 (required by the emulator, so a
 * missing session header fails), impersonation of a service account by the
 * federated principal, and a wrong secret refused by STS with AWS's
 * reason, the secret never in the message. Each test runs an emulator of
 * its own. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gauth/gauth.h>

#include "emu_fixture.h"

#define P "demo-project"
#define SCHEDULER "scheduler@" P ".iam.gserviceaccount.com"
#define ACCOUNT "210987654321"
#define ROLE "scheduler-role"
#define AKID "AKIAEMULATORLIB00001"
#define SECRET "CANARY-libSecret/LongTerm+000000000000000"
#define SESSION "CANARY-libSession-token-0001"
#define AUDIENCE                                                 \
  "//iam.googleapis.com/projects/123456789012/locations/global/" \
  "workloadIdentityPools/aws-pool/providers/aws"
#define PRINCIPAL_POOL                                                     \
  "principal://iam.googleapis.com/projects/123456789012/locations/global/" \
  "workloadIdentityPools/aws-pool/subject/"
#define INSTANCE_ARN \
  "arn:aws:sts::" ACCOUNT ":assumed-role/" ROLE "/i-0123456789abcdef0"
#define IMP_URL                                                                    \
  "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" SCHEDULER \
  ":generateAccessToken"

static char g_base[128];
static pid_t g_pid;

/* An emulator whose aws member has `extra` appended. */
static void start(const char *extra) {
  char config[2048], path[] = "/tmp/emu-awslib-XXXXXX", arg[64], l[256];
  int fd = mkstemp(path), fds[2];
  const char *bin = getenv("GAUTH_EMULATOR_BIN");
  snprintf(config, sizeof config,
           "{\"aws\":{\"account_id\":\"" ACCOUNT "\",\"role_name\":\"" ROLE
           "\",\"access_key_id\":\"" AKID "\",\"secret_access_key\":\"" SECRET
           "\",\"region\":\"us-east-2\",\"audience\":\"" AUDIENCE
           "\",\"service_account\":\"" SCHEDULER
           "\"%s},"
           "\"bindings\":[{\"resource\":\"projects/" P
           "/serviceAccounts/" SCHEDULER
           "\",\"role\":\"roles/iam.serviceAccountTokenCreator\","
           "\"members\":[\"" PRINCIPAL_POOL INSTANCE_ARN "\"]}]}",
           extra);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, config, strlen(config)), (ssize_t)strlen(config));
  close(fd);
  cr_assert_not_null(bin, "GAUTH_EMULATOR_BIN is unset");
  snprintf(arg, sizeof arg, "--config=%s", path);
  cr_assert_eq(pipe(fds), 0);
  g_pid = fork();
  cr_assert_geq(g_pid, 0);
  if (g_pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    if (freopen("/dev/null", "w", stderr) == NULL) _exit(126);
    execl(bin, bin, "--listen=127.0.0.1:0", arg, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *out = fdopen(fds[0], "r");
  cr_assert_not_null(fgets(l, sizeof l, out), "the emulator did not start");
  fclose(out);
  unlink(path);
  l[strcspn(l, "\n")] = '\0';
  cr_assert_eq(strncmp(l, "listening ", 10), 0, "%s", l);
  snprintf(g_base, sizeof g_base, "%.100s", l + 10);
}

static void stop(void) {
  int st = 0;
  if (g_pid <= 0) return;
  kill(g_pid, SIGTERM);
  waitpid(g_pid, &st, 0);
  g_pid = 0;
}

static void clear_env(void) {
  unsetenv("AWS_REGION");
  unsetenv("AWS_DEFAULT_REGION");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
}

/* Credentials for the emulator's pool; impersonating SCHEDULER when asked. */
static gauth_credentials *aws_creds(int impersonate) {
  char json[2048];
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(json, sizeof json,
           "{\"type\":\"external_account\",\"audience\":\"" AUDIENCE
           "\",\"subject_token_type\":\"urn:ietf:params:aws:token-type:"
           "aws4_request\",\"token_url\":\"https://sts.googleapis.com/v1/"
           "token\",%s\"credential_source\":{\"environment_id\":\"aws1\","
           "\"region_url\":\"%s/latest/meta-data/placement/"
           "availability-zone\",\"url\":\"%s/latest/meta-data/iam/"
           "security-credentials\",\"imdsv2_session_token_url\":\"%s/latest/"
           "api/token\",\"regional_cred_verification_url\":\"https://"
           "sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version="
           "2011-06-15\"}}",
           impersonate ? "\"service_account_impersonation_url\":\"" IMP_URL
                         "\","
                       : "",
           g_base, g_base, g_base);
  o.endpoint = g_base;
  o.retry.max_attempts = 1;
  o.timeout_ms = 5000;
  co.options = &o;
  cr_assert_eq(gauth_credentials_from_json(&c, json, strlen(json), &co, &err),
               GAUTH_OK, "%s", err.message);
  return c;
}

static void get_token(gauth_credentials *c) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_not_null(tok);
  cr_assert_gt(strlen(tok), 10);
  gauth_free(tok);
}

Test(aws_emulator, imdsv2_role_then_impersonation, .timeout = 60) {
  gauth_credentials *c;
  start(",\"imdsv2_required\":true");
  clear_env();
  c = aws_creds(0);
  get_token(c); /* the federated token itself */
  gauth_credentials_free(c);
  c = aws_creds(1);
  get_token(c); /* SCHEDULER's, through the instance role's principal */
  gauth_credentials_free(c);
  cr_assert_geq(emu_counter(g_base, "/latest/api/token"), 2);
  stop();
}

Test(aws_emulator, environment_long_term_key, .timeout = 60) {
  gauth_credentials *c;
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  start("");
  clear_env();
  setenv("AWS_DEFAULT_REGION", "us-east-2", 1);
  setenv("AWS_ACCESS_KEY_ID", AKID, 1);
  setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
  c = aws_creds(0);
  get_token(c);
  gauth_credentials_free(c);
  /* The IAM user is not bound on SCHEDULER: impersonation is denied. */
  c = aws_creds(1);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_PERMISSION_DENIED, "%s", err.message);
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  gauth_credentials_free(c);
  cr_assert_eq(emu_counter(g_base, "/latest/api/token"), 0);
  stop();
}

Test(aws_emulator, environment_session_token, .timeout = 60) {
  gauth_credentials *c;
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  start(",\"session_token\":\"" SESSION "\"");
  clear_env();
  setenv("AWS_REGION", "us-east-2", 1);
  setenv("AWS_ACCESS_KEY_ID", AKID, 1);
  setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
  setenv("AWS_SESSION_TOKEN", SESSION, 1);
  c = aws_creds(0);
  get_token(c);
  gauth_credentials_free(c);
  /* An assumed role's key without its session token is refused. */
  unsetenv("AWS_SESSION_TOKEN");
  c = aws_creds(0);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNAUTHENTICATED, "%s", err.message);
  cr_assert_not_null(strstr(err.message, "invalid_grant"), "%s", err.message);
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  gauth_credentials_free(c);
  stop();
}

Test(aws_emulator, wrong_secret_refused_by_sts, .timeout = 60) {
  gauth_credentials *c;
  char *tok = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  start("");
  clear_env();
  setenv("AWS_REGION", "us-east-2", 1);
  setenv("AWS_ACCESS_KEY_ID", AKID, 1);
  setenv("AWS_SECRET_ACCESS_KEY", "CANARY-not-the-secret", 1);
  c = aws_creds(0);
  cr_assert_eq(gauth_credentials_access_token(c, NULL, &tok, NULL, &err),
               GAUTH_E_UNAUTHENTICATED, "%s", err.message);
  cr_assert_null(tok);
  cr_assert_not_null(strstr(err.message, "invalid_grant"), "%s", err.message);
  cr_assert_not_null(strstr(err.message, "SignatureDoesNotMatch"), "%s",
                     err.message);
  cr_assert_null(strstr(err.message, "CANARY"), "%s", err.message);
  gauth_credentials_free(c);
  stop();
}
