/* gauth-emulator: the Security Token Service, POST /v1/token: the
 * token-exchange grant of workload identity federation (RFC 8693). A
 * subject token from a trusted external issuer (the config's
 * "external_issuers") becomes a federated access token for the principal
 * principal://iam.googleapis.com/projects/N/locations/global/
 * workloadIdentityPools/POOL/subject/SUB, which may then impersonate a
 * service account through IAM Credentials when the policy lets it. An AWS
 * subject token (aws4_request, a signed GetCallerIdentity request) is
 * checked by sts_aws.c against the config's "aws"; its SUB is the caller's
 * ARN. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "emulator.h"

#define TOKEN_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
#define TT_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define TT_JWT "urn:ietf:params:oauth:token-type:jwt"
#define TT_ID_TOKEN "urn:ietf:params:oauth:token-type:id_token"
#define TT_AWS "urn:ietf:params:aws:token-type:aws4_request"
#define E_TARGET                                                    \
  "The target service indicated by the \"audience\" parameters is " \
  "invalid. This might either be because the pool or provider is "  \
  "disabled or deleted or because it doesn't exist."

static int64_t emu_clock(void *userdata) { return emu_now(userdata); }

/* The pool's principal for a subject: the provider's audience without
 * "//" and "/providers/X", then "/subject/SUB". 0 when the audience is not
 * a workload identity provider's. */
int emu_sts_principal(const char *audience, const char *sub, char *out,
                      size_t n) {
  static const char prefix[] = "//iam.googleapis.com/";
  const char *prov = strstr(audience, "/providers/");
  if (strncmp(audience, prefix, strlen(prefix)) != 0 || prov == NULL) return 0;
  int w = snprintf(out, n, "principal:%.*s/subject/%s", (int)(prov - audience),
                   audience, sub);
  return w > 0 && (size_t)w < n;
}

/* Verifies the subject token with the issuer's keys; the token's aud must
 * be the provider's audience, or its https: form (the default allowed
 * audience of an OIDC provider). Writes the sub. 0 and a reply on
 * failure. */
static int verify_subject(emu *e, const emu_external_issuer *x,
                          const char *token, char *sub, size_t n,
                          emu_response *resp) {
  char https_aud[600];
  snprintf(https_aud, sizeof https_aud, "https:%s", x->audience);
  const char *auds[] = {x->audience, https_aud, NULL};
  const char *issuers[] = {x->issuer, NULL};
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  vo.audiences = auds;
  vo.issuers = issuers;
  /* The verifier takes its own reference; the world keeps the set. */
  vo.keys = (gauth_keyset *)(uintptr_t)x->keys;
  vo.clock = emu_clock;
  vo.clock_userdata = e;
  gauth_verifier *v = NULL;
  gauth_claims *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int ok = gauth_verifier_new(&v, &vo, &err) == GAUTH_OK &&
           gauth_verifier_verify(v, token, 0, &c, &err) == GAUTH_OK;
  const char *s = ok ? gauth_claims_subject(c) : NULL;
  if (ok && s == NULL) {
    ok = 0;
    snprintf(err.reason, sizeof err.reason, "%s", GAUTH_REASON_MISSING_CLAIM);
  }
  if (ok) {
    snprintf(sub, n, "%s", s);
  } else if (strcmp(err.reason, GAUTH_REASON_AUDIENCE_MISMATCH) == 0) {
    emu_reply_oauth_error(resp, 400, "invalid_grant",
                          "The audience in ID Token does not match the "
                          "expected audience.");
  } else if (strcmp(err.reason, GAUTH_REASON_EXPIRED) == 0) {
    emu_reply_oauth_error(resp, 400, "invalid_grant",
                          "The ID Token has expired.");
  } else {
    /* err.message never holds the token (libgauth redacts). */
    char desc[600];
    snprintf(desc, sizeof desc, "Invalid ID Token: %s.",
             err.reason[0] ? err.reason : "rejected");
    emu_reply_oauth_error(resp, 400, "invalid_grant", desc);
  }
  gauth_claims_free(c);
  gauth_verifier_free(v);
  return ok;
}

static void token_exchange(emu *e, const emu_request *req, emu_response *resp) {
  char *grant = emu_req_form(req, "grant_type");
  char *aud = emu_req_form(req, "audience");
  char *scope = emu_req_form(req, "scope");
  char *rtt = emu_req_form(req, "requested_token_type");
  char *stt = emu_req_form(req, "subject_token_type");
  char *st = emu_req_form(req, "subject_token");
  char *claims = NULL;
  cJSON *cj = NULL;
  const emu_external_issuer *x = NULL;
  if (grant == NULL || strcmp(grant, TOKEN_EXCHANGE) != 0) {
    emu_reply_oauth_error(resp, 400, "unsupported_grant_type",
                          "Invalid value for \"grant_type\".");
    goto out;
  }
  if (rtt == NULL || strcmp(rtt, TT_ACCESS) != 0) {
    emu_reply_oauth_error(resp, 400, "invalid_request",
                          "Invalid value for \"requested_token_type\".");
    goto out;
  }
  if (stt == NULL ||
      (strcmp(stt, TT_JWT) != 0 && strcmp(stt, TT_ID_TOKEN) != 0 &&
       strcmp(stt, TT_AWS) != 0)) {
    emu_reply_oauth_error(resp, 400, "invalid_request",
                          "Invalid value for \"subject_token_type\". Only "
                          "OIDC ID tokens (jwt, id_token) and AWS signed "
                          "requests (aws4_request) are supported by the "
                          "emulator.");
    goto out;
  }
  if (st == NULL || st[0] == '\0' || aud == NULL) {
    emu_reply_oauth_missing(
        resp, st == NULL || st[0] == '\0' ? "subject_token" : "audience");
    goto out;
  }
  char principal[600];
  if (strcmp(stt, TT_AWS) == 0) {
    /* An AWS provider of the pool: the config's "aws". */
    const emu_aws *a = emu_aws_of(e);
    if (a == NULL || strcmp(emu_aws_info_of(a)->audience, aud) != 0) {
      emu_reply_oauth_error(resp, 400, "invalid_target", E_TARGET);
      goto out;
    }
    if (!emu_sts_aws_subject(e, aud, st, principal, sizeof principal, resp))
      goto out;
    goto mint;
  }
  if (gauth_jwt_decode_unverified(st, NULL, &claims, NULL) == GAUTH_OK)
    cj = cJSON_Parse(claims);
  const cJSON *iss = cJSON_GetObjectItemCaseSensitive(cj, "iss");
  x = cJSON_IsString(iss) ? emu_external_issuer_find(e, iss->valuestring)
                          : NULL;
  if (x == NULL || strcmp(x->audience, aud) != 0) {
    emu_reply_oauth_error(resp, 400, "invalid_target", E_TARGET);
    goto out;
  }
  char sub[256];
  if (!verify_subject(e, x, st, sub, sizeof sub, resp)) goto out;
  if (!emu_sts_principal(x->audience, sub, principal, sizeof principal)) {
    emu_reply_oauth_error(resp, 400, "invalid_target", E_TARGET);
    goto out;
  }
mint:
  snprintf(resp->principal, sizeof resp->principal, "%.250s", principal);
  const char *scopes = scope && scope[0] ? scope : GAUTH_SCOPE_CLOUD_PLATFORM;
  char *at = emu_mint_access_token(e, principal, scopes, 3600);
  if (at == NULL) {
    emu_reply_oauth_error(resp, 500, "server_error", "Could not mint a token.");
    goto out;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "access_token", at);
  cJSON_AddStringToObject(o, "issued_token_type", TT_ACCESS);
  cJSON_AddStringToObject(o, "token_type", "Bearer");
  cJSON_AddNumberToObject(o, "expires_in", 3599);
  OPENSSL_cleanse(at, strlen(at));
  free(at);
  emu_reply_json(resp, 200, o);
out:
  cJSON_Delete(cj);
  gauth_free(claims);
  if (st != NULL) OPENSSL_cleanse(st, strlen(st));
  free(grant);
  free(aud);
  free(scope);
  free(rtt);
  free(stt);
  free(st);
}

int emu_route_sts(emu *e, const emu_request *req, emu_response *resp) {
  if (strcmp(req->path, "/v1/token") != 0) return 0;
  if (strcmp(req->method, "POST") != 0)
    emu_reply_method_not_allowed(resp);
  else
    token_exchange(e, req, resp);
  return 1;
}
