/* gauth-emulator: EC2's instance metadata service (IMDS) at /latest/...,
 * the AWS side of workload identity federation from an EC2 instance, served
 * when the config has an "aws" member.
 *
 * As EC2 answers: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-
 * seconds (1 .. 21600) gives an IMDSv2 session token (400 without a valid
 * TTL, 403 with X-Forwarded-For); a GET with X-aws-ec2-metadata-token needs
 * a valid, unexpired one (401 otherwise); a GET without is IMDSv1, served
 * unless "imdsv2_required" (then 401). Leaves are text/plain; errors are
 * EC2's small XHTML pages. The instance role's credentials are temporary
 * ("ASIA..." keys with a session token) and expire on the emulator's clock. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "emulator.h"

#define IMDS_MD "/latest/meta-data/"
#define IMDS_TEXT "text/plain"
#define IMDS_TTL_MAX 21600

static const char *const reasons[][2] = {
    {"400", "Bad Request"},        {"401", "Unauthorized"},
    {"403", "Forbidden"},          {"404", "Not Found"},
    {"405", "Method Not Allowed"}, {"500", "Internal Server Error"}};

static void imds_reply(emu_response *r, int status, const char *ct,
                       const char *text) {
  emu_reply_text(r, status, ct, text);
  emu_reply_header(r, "Server", "EC2ws");
}

/* EC2's error page: "<title>401 - Unauthorized</title>". */
static void imds_error(emu_response *r, int status) {
  char code[8], page[800];
  const char *reason = "Error";
  snprintf(code, sizeof code, "%d", status);
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
    if (strcmp(reasons[i][0], code) == 0) reason = reasons[i][1];
  snprintf(page, sizeof page,
           "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
           "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
           "\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
           "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" "
           "lang=\"en\">\n <head>\n  <title>%d - %s</title>\n </head>\n "
           "<body>\n  <h1>%d - %s</h1>\n </body>\n</html>\n",
           status, reason, status, reason);
  imds_reply(r, status, "text/html", page);
}

static void iso8601(int64_t t, char *out, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (gmtime_r(&tt, &tm) == NULL) memset(&tm, 0, sizeof tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The TTL header: decimal digits, 1 .. 21600; else -1. */
static long ttl_of(const char *v) {
  long t = 0;
  if (v == NULL || v[0] == '\0' || strlen(v) > 6) return -1;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    t = t * 10 + (*p - '0');
  }
  return t >= 1 && t <= IMDS_TTL_MAX ? t : -1;
}

static void token_put(emu *e, emu_aws *a, const emu_request *req,
                      emu_response *resp) {
  if (emu_req_header(req, "X-Forwarded-For") != NULL) {
    /* EC2 refuses token requests that went through a proxy. */
    imds_error(resp, 403);
    return;
  }
  long ttl =
      ttl_of(emu_req_header(req, "X-aws-ec2-metadata-token-ttl-seconds"));
  if (ttl < 0) {
    imds_error(resp, 400);
    return;
  }
  char *tok = emu_aws_imds_token_new(a, emu_now(e), ttl);
  if (tok == NULL) {
    imds_error(resp, 500);
    return;
  }
  char ttl_text[24];
  snprintf(ttl_text, sizeof ttl_text, "%ld", ttl);
  imds_reply(resp, 200, IMDS_TEXT, tok);
  emu_reply_header(resp, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl_text);
  OPENSSL_cleanse(tok, strlen(tok));
  free(tok);
}

/* The role's credentials, as EC2 gives them. */
static void role_credentials(emu *e, emu_aws *a, emu_response *resp) {
  emu_aws_creds c;
  char updated[32], expires[32];
  if (emu_aws_role_credentials(a, emu_now(e), &c) != 0) {
    imds_error(resp, 500);
    return;
  }
  iso8601(c.issued, updated, sizeof updated);
  iso8601(c.expires, expires, sizeof expires);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "Code", "Success");
  cJSON_AddStringToObject(o, "LastUpdated", updated);
  cJSON_AddStringToObject(o, "Type", "AWS-HMAC");
  cJSON_AddStringToObject(o, "AccessKeyId", c.access_key_id);
  cJSON_AddStringToObject(o, "SecretAccessKey", c.secret_access_key);
  cJSON_AddStringToObject(o, "Token", c.session_token);
  cJSON_AddStringToObject(o, "Expiration", expires);
  char *text = cJSON_Print(o);
  imds_reply(resp, 200, IMDS_TEXT, text);
  snprintf(resp->principal, sizeof resp->principal, "%.250s", c.arn);
  OPENSSL_cleanse(text, strlen(text));
  free(text);
  cJSON_Delete(o);
  OPENSSL_cleanse(&c, sizeof c);
}

static void json_leaf(emu_response *resp, cJSON *o) {
  char *text = cJSON_Print(o);
  imds_reply(resp, 200, IMDS_TEXT, text);
  free(text);
  cJSON_Delete(o);
}

static void meta_data(emu *e, emu_aws *a, const char *rest,
                      emu_response *resp) {
  const emu_aws_info *in = emu_aws_info_of(a);
  char buf[512];
  size_t rn = strlen(in->role_name);
  if (rest[0] == '\0') {
    imds_reply(resp, 200, IMDS_TEXT,
               "iam/\ninstance-id\nplacement/\nservices/");
  } else if (strcmp(rest, "instance-id") == 0) {
    imds_reply(resp, 200, IMDS_TEXT, in->instance_id);
  } else if (strcmp(rest, "placement/") == 0 ||
             strcmp(rest, "placement") == 0) {
    imds_reply(resp, 200, IMDS_TEXT, "availability-zone\nregion");
  } else if (strcmp(rest, "placement/availability-zone") == 0) {
    snprintf(buf, sizeof buf, "%sa", in->region);
    imds_reply(resp, 200, IMDS_TEXT, buf);
  } else if (strcmp(rest, "placement/region") == 0) {
    imds_reply(resp, 200, IMDS_TEXT, in->region);
  } else if (strcmp(rest, "iam/") == 0 || strcmp(rest, "iam") == 0) {
    imds_reply(resp, 200, IMDS_TEXT, "info\nsecurity-credentials/");
  } else if (strcmp(rest, "iam/info") == 0) {
    char updated[32];
    cJSON *o = cJSON_CreateObject();
    iso8601(emu_world_created(e), updated, sizeof updated);
    cJSON_AddStringToObject(o, "Code", "Success");
    cJSON_AddStringToObject(o, "LastUpdated", updated);
    snprintf(buf, sizeof buf, "arn:aws:iam::%s:instance-profile/%s",
             in->account_id, in->role_name);
    cJSON_AddStringToObject(o, "InstanceProfileArn", buf);
    cJSON_AddStringToObject(o, "InstanceProfileId", "AIPAEMULATOR000000001");
    json_leaf(resp, o);
  } else if (strcmp(rest, "iam/security-credentials/") == 0 ||
             strcmp(rest, "iam/security-credentials") == 0) {
    imds_reply(resp, 200, IMDS_TEXT, in->role_name);
  } else if (strncmp(rest, "iam/security-credentials/", 25) == 0 &&
             strncmp(rest + 25, in->role_name, rn) == 0 &&
             (rest[25 + rn] == '\0' ||
              (rest[25 + rn] == '/' && rest[26 + rn] == '\0'))) {
    role_credentials(e, a, resp);
  } else {
    imds_error(resp, 404);
  }
}

/* /latest/dynamic/instance-identity/document: what SDKs read the region
 * and account from. */
static void identity_document(emu *e, emu_aws *a, emu_response *resp) {
  const emu_aws_info *in = emu_aws_info_of(a);
  char az[80], when[32];
  snprintf(az, sizeof az, "%sa", in->region);
  iso8601(emu_world_created(e), when, sizeof when);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "accountId", in->account_id);
  cJSON_AddStringToObject(o, "architecture", "x86_64");
  cJSON_AddStringToObject(o, "availabilityZone", az);
  cJSON_AddStringToObject(o, "imageId", "ami-0emulator0000000");
  cJSON_AddStringToObject(o, "instanceId", in->instance_id);
  cJSON_AddStringToObject(o, "instanceType", "t3.micro");
  cJSON_AddStringToObject(o, "pendingTime", when);
  cJSON_AddStringToObject(o, "privateIp", "172.31.0.10");
  cJSON_AddStringToObject(o, "region", in->region);
  cJSON_AddStringToObject(o, "version", "2017-09-30");
  json_leaf(resp, o);
}

/* IMDSv2: a token, when given, must be valid; none is IMDSv1, refused
 * when the instance requires v2. 1 when the request may go on. */
static int token_ok(emu *e, emu_aws *a, const emu_request *req,
                    emu_response *resp) {
  const char *t = emu_req_header(req, "X-aws-ec2-metadata-token");
  if (t == NULL ? emu_aws_info_of(a)->imdsv2_required
                : !emu_aws_imds_token_valid(a, t, emu_now(e))) {
    imds_error(resp, 401);
    return 0;
  }
  return 1;
}

int emu_route_aws_imds(emu *e, const emu_request *req, emu_response *resp) {
  const char *path = req->path;
  emu_aws *a = emu_aws_of(e);
  if (a == NULL ||
      (strcmp(path, "/latest") != 0 && strncmp(path, "/latest/", 8) != 0))
    return 0;
  if (strcmp(path, "/latest/api/token") == 0) {
    if (strcmp(req->method, "PUT") == 0) {
      token_put(e, a, req, resp);
    } else {
      imds_error(resp, 405);
      emu_reply_header(resp, "Allow", "OPTIONS, PUT");
    }
    return 1;
  }
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    imds_error(resp, 405);
    emu_reply_header(resp, "Allow", "GET, HEAD");
    return 1;
  }
  if (!token_ok(e, a, req, resp)) return 1;
  if (strcmp(path, "/latest") == 0 || strcmp(path, "/latest/") == 0)
    imds_reply(resp, 200, IMDS_TEXT, "dynamic\nmeta-data");
  else if (strncmp(path, IMDS_MD, sizeof IMDS_MD - 1) == 0)
    meta_data(e, a, path + sizeof IMDS_MD - 1, resp);
  else if (strcmp(path, "/latest/meta-data") == 0)
    meta_data(e, a, "", resp);
  else if (strcmp(path, "/latest/dynamic/instance-identity/document") == 0)
    identity_document(e, a, resp);
  else
    imds_error(resp, 404);
  return 1;
}
