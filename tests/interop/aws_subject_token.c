/* Asks libgauth for an access token from an AWS external account, through
 * the public API only, at a fixed time, for interop_aws_subject_token.mjs:
 * the script plays Google's STS at TOKEN_URL (a loopback address), keeps
 * the subject token libgauth sends, and compares it with the one npm
 * google-auth-library's AwsClient makes from the same inputs. Usage:
 *
 *   aws_subject_token TOKEN_URL EPOCH AUDIENCE
 *
 * The AWS region and credentials come from the environment (AWS_REGION,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), as they
 * would on AWS. Prints "ok" when STS answered with a token; exit 1 with
 * libgauth's message (which never holds a secret) otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <gauth/gauth.h>

#define AWS_TYPE "urn:ietf:params:aws:token-type:aws4_request"
#define VERIFY \
  "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"

static int64_t fixed_clock(void *userdata) {
  return *(const int64_t *)userdata;
}

int main(int argc, char **argv) {
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *c = NULL;
  char *tok = NULL, *text;
  cJSON *j, *src;
  int64_t now;
  int rc = 1;

  if (argc != 4) {
    fprintf(stderr, "usage: %s TOKEN_URL EPOCH AUDIENCE\n", argv[0]);
    return 2;
  }
  now = strtoll(argv[2], NULL, 10);
  j = cJSON_CreateObject();
  if (j == NULL) return 1;
  cJSON_AddStringToObject(j, "type", "external_account");
  cJSON_AddStringToObject(j, "audience", argv[3]);
  cJSON_AddStringToObject(j, "subject_token_type", AWS_TYPE);
  cJSON_AddStringToObject(j, "token_url", argv[1]);
  src = cJSON_AddObjectToObject(j, "credential_source");
  cJSON_AddStringToObject(src, "environment_id", "aws1");
  cJSON_AddStringToObject(src, "regional_cred_verification_url", VERIFY);
  text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (text == NULL) return 1;
  o.retry.max_attempts = 1;
  o.timeout_ms = 10000;
  co.options = &o;
  co.clock = fixed_clock;
  co.clock_userdata = &now;
  if (gauth_credentials_from_json(&c, text, strlen(text), &co, &err) ==
          GAUTH_OK &&
      gauth_credentials_access_token(c, NULL, &tok, NULL, &err) == GAUTH_OK) {
    printf("ok\n");
    rc = 0;
  } else {
    fprintf(stderr, "aws_subject_token: %s\n", err.message);
  }
  gauth_free(tok);
  gauth_credentials_free(c);
  free(text);
  return rc;
}
