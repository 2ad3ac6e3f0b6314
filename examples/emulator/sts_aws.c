/* gauth-emulator: STS's check of an AWS subject token (subject_token_type
 * urn:ietf:params:aws:token-type:aws4_request), as Google's STS does it
 * with AWS's help: the token is the URL-encoded JSON of a signed
 * GetCallerIdentity request, {"url", "method", "headers": [{"key",
 * "value"}]}. Google checks its shape (POST to https://sts.REGION.
 * amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15, a signed
 * x-goog-cloud-target-resource equal to the STS audience); AWS then checks
 * the date (15 minutes), the credential scope, the key (and its session
 * token) and the SigV4 signature (aws_sigv4.c), and names the caller's
 * ARN: the federated principal's subject. AWS's refusals come back as
 * Google relays them: 400 invalid_grant "Received invalid AWS response of
 * type CODE with error message: MESSAGE". */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "emulator.h"

#define AWS_MAX_HEADERS 32
#define AWS_SKEW 900 /* AWS: a signature is good 15 minutes either way */
/* SHA-256 of the empty body: GetCallerIdentity's parameters are in the
 * URL. */
#define EMPTY_SHA256 \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct aws_request {
  cJSON *json;
  const char *url, *method;
  emu_sigv4_header h[AWS_MAX_HEADERS];
  size_t nh;
} aws_request;

static void grant_error(emu_response *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void grant_error(emu_response *r, const char *fmt, ...) {
  char d[800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d, sizeof d, fmt, ap);
  va_end(ap);
  emu_reply_oauth_error(r, 400, "invalid_grant", d);
}

/* What AWS answered, relayed. */
static void aws_refused(emu_response *r, const char *code, const char *msg) {
  grant_error(r,
              "Received invalid AWS response of type %s with error "
              "message: %s",
              code, msg);
}

static int hexv(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* %XX decoding (the token is URL-encoded; '+' stays '+'). malloc'd. */
static char *percent_decode(const char *s) {
  size_t n = strlen(s), w = 0;
  char *out = malloc(n + 1);
  if (out == NULL) abort();
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < n && (hi = hexv(s[i + 1])) >= 0 &&
        (lo = hexv(s[i + 2])) >= 0) {
      out[w++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      out[w++] = s[i];
    }
  }
  out[w] = '\0';
  return out;
}

static const char *header_of(const aws_request *q, const char *name) {
  for (size_t i = 0; i < q->nh; i++)
    if (strcasecmp(q->h[i].name, name) == 0) return q->h[i].value;
  return NULL;
}

/* The token's JSON: 0, or -1 with the reply. */
static int parse_request(const char *token, aws_request *q,
                         emu_response *resp) {
  char *text = percent_decode(token);
  q->json = cJSON_Parse(text);
  OPENSSL_cleanse(text, strlen(text));
  free(text);
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(q->json, "url");
  const cJSON *method = cJSON_GetObjectItemCaseSensitive(q->json, "method");
  const cJSON *headers = cJSON_GetObjectItemCaseSensitive(q->json, "headers");
  const cJSON *it;
  if (!cJSON_IsString(url) || !cJSON_IsString(method) ||
      !cJSON_IsArray(headers)) {
    grant_error(resp,
                "The subject token is not a valid AWS request: it must be "
                "URL-encoded JSON with \"url\", \"method\" and "
                "\"headers\".");
    return -1;
  }
  q->url = url->valuestring;
  q->method = method->valuestring;
  cJSON_ArrayForEach(it, headers) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
    if (!cJSON_IsString(k) || !cJSON_IsString(v) || k->valuestring[0] == 0 ||
        q->nh == AWS_MAX_HEADERS) {
      grant_error(resp,
                  "The subject token is not a valid AWS request: each of "
                  "\"headers\" must be {\"key\", \"value\"} (at most %d).",
                  AWS_MAX_HEADERS);
      return -1;
    }
    q->h[q->nh].name = k->valuestring;
    q->h[q->nh].value = v->valuestring;
    q->nh++;
  }
  return 0;
}

/* Google's checks of the request's shape: POST to the regional STS's
 * GetCallerIdentity, the Host header its host, a signed x-goog-cloud-
 * target-resource equal to the audience. Sets *query (into q->url). */
static int check_shape(const emu_aws_info *in, const char *audience,
                       const aws_request *q, const char **query,
                       emu_response *resp) {
  char host[128], expect[200];
  snprintf(host, sizeof host, "sts.%s.amazonaws.com", in->region);
  snprintf(expect, sizeof expect, "https://%s", host);
  size_t el = strlen(expect);
  const char *u = q->url;
  if (strcmp(q->method, "POST") != 0) {
    grant_error(resp,
                "The AWS request in the subject token must use the POST "
                "method, not \"%.20s\".",
                q->method);
    return -1;
  }
  if (strncmp(u, expect, el) != 0 ||
      (u[el] != '?' && !(u[el] == '/' && u[el + 1] == '?'))) {
    grant_error(resp,
                "The AWS request url in the subject token must be the "
                "GetCallerIdentity endpoint of the STS in %s: %s?Action="
                "GetCallerIdentity&Version=2011-06-15.",
                in->region, expect);
    return -1;
  }
  *query = strchr(u + el, '?') + 1;
  /* Exactly Action=GetCallerIdentity and Version=2011-06-15. */
  const char *qs = *query;
  int action = 0, version = 0, other = 0;
  while (*qs) {
    size_t n = strcspn(qs, "&");
    if (n == 24 && strncmp(qs, "Action=GetCallerIdentity", n) == 0)
      action++;
    else if (n == 18 && strncmp(qs, "Version=2011-06-15", n) == 0)
      version++;
    else
      other++;
    qs += n;
    if (*qs == '&') qs++;
  }
  if (action != 1 || version != 1 || other != 0) {
    grant_error(resp,
                "The AWS request in the subject token must be "
                "GetCallerIdentity (Action=GetCallerIdentity&Version="
                "2011-06-15).");
    return -1;
  }
  const char *h = header_of(q, "host");
  if (h == NULL || strcasecmp(h, host) != 0) {
    grant_error(resp,
                "The AWS request's host header must be %s, the host of its "
                "url.",
                host);
    return -1;
  }
  const char *t = header_of(q, "x-goog-cloud-target-resource");
  if (t == NULL) {
    grant_error(resp,
                "The AWS request in the subject token is missing the "
                "x-goog-cloud-target-resource header.");
    return -1;
  }
  if (strcmp(t, audience) != 0) {
    grant_error(resp,
                "The x-goog-cloud-target-resource header of the AWS request "
                "does not match the audience of the token exchange.");
    return -1;
  }
  return 0;
}

/* "YYYYMMDDTHHMMSSZ" as Unix seconds; -1 when malformed. */
static int64_t amz_date_time(const char *s) {
  static const int w[6] = {4, 2, 2, 2, 2, 2};
  int v[6];
  const char *p = s;
  if (s == NULL || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return -1;
  for (int i = 0; i < 6; i++) {
    v[i] = 0;
    if (i == 3) p++; /* the 'T' */
    for (int k = 0; k < w[i]; k++, p++) {
      if (*p < '0' || *p > '9') return -1;
      v[i] = v[i] * 10 + (*p - '0');
    }
  }
  if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
      v[4] > 59 || v[5] > 60)
    return -1;
  /* Days from the civil date (Howard Hinnant's algorithm). */
  int64_t y = v[0] - (v[1] <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (v[1] + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + v[2] - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
}

static void amz_format(int64_t t, char out[20]) {
  int64_t days = t / 86400, secs = t % 86400;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2);
  snprintf(out, 20, "%04d%02d%02dT%02d%02d%02dZ", (int)y, (int)m, (int)d,
           (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* 1 when name is in the ';'-separated list (any case). */
static int signed_has(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    size_t k = strcspn(p, ";");
    if (k == n && strncasecmp(p, name, n) == 0) return 1;
    p += k;
    if (*p == ';') p++;
  }
  return 0;
}

/* AWS's checks of the date, the scope and which headers are signed. */
static int check_scope(emu *e, const emu_aws_info *in, const aws_request *q,
                       const emu_sigv4_auth *au, emu_response *resp) {
  char why[300], now_s[20], edge[20];
  const char *date = header_of(q, "x-amz-date");
  int64_t t = amz_date_time(date), now = emu_now(e);
  if (t < 0) {
    aws_refused(resp, "IncompleteSignature",
                "Authorization header requires existence of either a "
                "'X-Amz-Date' or a 'Date' header.");
    return -1;
  }
  amz_format(now, now_s);
  if (t < now - AWS_SKEW) {
    amz_format(now - AWS_SKEW, edge);
    snprintf(why, sizeof why,
             "Signature expired: %s is now earlier than %s (%s - 15 min.)",
             date, edge, now_s);
    aws_refused(resp, "SignatureDoesNotMatch", why);
    return -1;
  }
  if (t > now + AWS_SKEW) {
    amz_format(now + AWS_SKEW, edge);
    snprintf(why, sizeof why,
             "Signature not yet current: %s is still later than %s (%s + 15 "
             "min.)",
             date, edge, now_s);
    aws_refused(resp, "SignatureDoesNotMatch", why);
    return -1;
  }
  if (strncmp(au->date, date, 8) != 0 || strlen(au->date) != 8) {
    snprintf(why, sizeof why,
             "Date in Credential scope does not match YYYYMMDD from "
             "ISO-8601 version of date from HTTP: '%.8s' != '%.8s', from "
             "'%s'.",
             au->date, date, date);
    aws_refused(resp, "SignatureDoesNotMatch", why);
    return -1;
  }
  if (strcmp(au->region, in->region) != 0) {
    snprintf(why, sizeof why,
             "Credential should be scoped to a valid region, not '%.60s'. ",
             au->region);
    aws_refused(resp, "SignatureDoesNotMatch", why);
    return -1;
  }
  if (strcmp(au->service, "sts") != 0) {
    snprintf(why, sizeof why,
             "Credential should be scoped to correct service: 'sts'. ");
    aws_refused(resp, "SignatureDoesNotMatch", why);
    return -1;
  }
  if (strcmp(au->terminator, "aws4_request") != 0) {
    snprintf(why, sizeof why,
             "Credential should be scoped with a valid terminator: "
             "'aws4_request', not '%.30s'. ",
             au->terminator);
    aws_refused(resp, "SignatureDoesNotMatch", why);
    return -1;
  }
  if (!signed_has(au->signed_headers, "host")) {
    aws_refused(resp, "SignatureDoesNotMatch",
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                "Authorization.");
    return -1;
  }
  /* Google's: the target resource must be signed, or the token could be
   * replayed at another pool. */
  if (!signed_has(au->signed_headers, "x-goog-cloud-target-resource")) {
    grant_error(resp,
                "The x-goog-cloud-target-resource header of the AWS request "
                "must be signed.");
    return -1;
  }
  return 0;
}

/* The key: known, its session token when temporary, not expired. */
static int check_key(emu *e, const aws_request *q, const emu_aws_creds *k,
                     emu_response *resp) {
  const char *st = header_of(q, "x-amz-security-token");
  size_t n = st ? strlen(st) : 0;
  if (k->temporary) {
    if (st == NULL || n != strlen(k->session_token) ||
        CRYPTO_memcmp(st, k->session_token, n) != 0) {
      aws_refused(resp, "InvalidClientTokenId",
                  "The security token included in the request is invalid.");
      return -1;
    }
    if (k->expires != 0 && emu_now(e) >= k->expires) {
      aws_refused(resp, "ExpiredToken",
                  "The security token included in the request is expired");
      return -1;
    }
  } else if (st != NULL) {
    aws_refused(resp, "InvalidClientTokenId",
                "The security token included in the request is invalid.");
    return -1;
  }
  return 0;
}

int emu_sts_aws_subject(emu *e, const char *audience, const char *subject_token,
                        char *principal, size_t n, emu_response *resp) {
  emu_aws *a = emu_aws_of(e);
  aws_request q;
  emu_sigv4_auth au;
  emu_aws_creds k;
  const char *query = NULL;
  char why[300], sig[65];
  int ok = 0;
  memset(&q, 0, sizeof q);
  memset(&k, 0, sizeof k);
  if (a == NULL) { /* the caller checks; no AWS side, no provider */
    emu_reply_oauth_error(resp, 400, "invalid_target",
                          "The target service indicated by the \"audience\" "
                          "parameters is invalid.");
    return 0;
  }
  const emu_aws_info *in = emu_aws_info_of(a);
  if (parse_request(subject_token, &q, resp) != 0 ||
      check_shape(in, audience, &q, &query, resp) != 0)
    goto out;
  if (emu_sigv4_parse_auth(header_of(&q, "authorization"), &au, why,
                           sizeof why) != 0) {
    aws_refused(resp, "IncompleteSignature", why);
    goto out;
  }
  if (check_scope(e, in, &q, &au, resp) != 0) goto out;
  if (!emu_aws_key_find(a, au.access_key_id, &k)) {
    aws_refused(resp, "InvalidClientTokenId",
                "The security token included in the request is invalid.");
    goto out;
  }
  if (check_key(e, &q, &k, resp) != 0) goto out;
  /* The Authorization header itself is not signed. */
  emu_sigv4_header hs[AWS_MAX_HEADERS];
  size_t nhs = 0;
  for (size_t i = 0; i < q.nh; i++)
    if (strcasecmp(q.h[i].name, "authorization") != 0) hs[nhs++] = q.h[i];
  if (emu_sigv4_signature("POST", "/", query, hs, nhs, au.signed_headers,
                          EMPTY_SHA256, header_of(&q, "x-amz-date"), au.date,
                          au.region, au.service, k.secret_access_key, sig, why,
                          sizeof why) != 0) {
    aws_refused(resp, "SignatureDoesNotMatch", why);
    goto out;
  }
  if (strlen(au.signature) != 64 || CRYPTO_memcmp(sig, au.signature, 64) != 0) {
    aws_refused(resp, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the "
                "signature you provided. Check your AWS Secret Access Key "
                "and signing method. Consult the service documentation for "
                "details.");
    goto out;
  }
  if (!emu_sts_principal(in->audience, k.arn, principal, n)) {
    emu_reply_oauth_error(resp, 400, "invalid_target",
                          "The target service indicated by the \"audience\" "
                          "parameters is invalid.");
    goto out;
  }
  ok = 1;
out:
  OPENSSL_cleanse(&k, sizeof k);
  OPENSSL_cleanse(sig, sizeof sig);
  cJSON_Delete(q.json);
  return ok;
}
