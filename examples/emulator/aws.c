/* gauth-emulator: AWS's side of workload identity federation, the world
 * part: the config's "aws" member, the access keys AWS would know (the
 * long-term key of the config and the instance role's temporary keys the
 * metadata service hands out) and the instance metadata service's IMDSv2
 * session tokens. Its own lock: the routes (routes_aws_imds.c, sts_aws.c)
 * call it without the world's. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "emulator.h"

/* The temporary keys and IMDSv2 tokens kept at once: the oldest goes when
 * a new one comes and the list is full (an emulator, not a key store). */
#define AWS_MAX_TEMP_KEYS 64
#define AWS_MAX_IMDS_TOKENS 256
/* The metadata service hands out new role credentials this long before the
 * current ones expire (EC2 refreshes them well ahead of the expiry). */
#define AWS_REFRESH_AHEAD 300

typedef struct imds_token {
  char token[64];
  int64_t exp;
} imds_token;

struct emu_aws {
  pthread_mutex_t mu;
  emu_aws_info info;
  char *account_id, *role_name, *region, *audience, *sa, *instance_id,
      *user_name;
  emu_aws_creds longterm;                /* the config's key */
  emu_aws_creds temp[AWS_MAX_TEMP_KEYS]; /* [0] newest; issued 0: empty */
  size_t ntemp;
  imds_token tokens[AWS_MAX_IMDS_TOKENS];
  size_t ntokens;
};

static void aws_err(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void aws_err(char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  if (buf == NULL || n == 0) return;
  va_start(ap, fmt);
  vsnprintf(buf, n, fmt, ap);
  va_end(ap);
}

static char *dup_or_die(const char *s) {
  char *p;
  if (s == NULL) return NULL;
  p = strdup(s);
  if (p == NULL) abort();
  return p;
}

/* A config string member: required or optional, non-empty, at most max
 * bytes. NULL (and *bad) when wrong; NULL when absent and optional. */
static const char *member_str(const cJSON *o, const char *name, int required,
                              size_t max, char *errbuf, size_t errlen,
                              int *bad) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (*bad) return NULL;
  if (v == NULL) {
    if (required) {
      aws_err(errbuf, errlen, "\"aws\": \"%s\" is required", name);
      *bad = 1;
    }
    return NULL;
  }
  if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
      strlen(v->valuestring) > max) {
    aws_err(errbuf, errlen,
            "\"aws\": \"%s\" must be a non-empty string of at most %zu "
            "bytes",
            name, max);
    *bad = 1;
    return NULL;
  }
  return v->valuestring;
}

/* Random characters of an alphabet (A-Z0-9 for key ids, base64 for
 * secrets and tokens), as AWS's look. */
static int random_chars(char *out, size_t n, const char *alphabet) {
  unsigned char raw[512];
  size_t k = strlen(alphabet);
  if (n > sizeof raw || RAND_bytes(raw, (int)n) != 1) return -1;
  for (size_t i = 0; i < n; i++) out[i] = alphabet[raw[i] % k];
  out[n] = '\0';
  OPENSSL_cleanse(raw, sizeof raw);
  return 0;
}

static const char UPPER_DIGITS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int is_account_id(const char *s) {
  if (strlen(s) != 12) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static int cfg_numbers(emu_aws *a, const cJSON *v, char *errbuf,
                       size_t errlen) {
  const cJSON *lt =
      cJSON_GetObjectItemCaseSensitive(v, "credentials_lifetime_seconds");
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(v, "imdsv2_required");
  a->info.lifetime = 3600;
  if (lt != NULL) {
    /* EC2's role credentials last hours; at least the refresh margin and
     * a little, so that a fresh set is never already due. */
    if (!cJSON_IsNumber(lt) || lt->valuedouble < 900 ||
        lt->valuedouble > 43200) {
      aws_err(errbuf, errlen,
              "\"aws\": \"credentials_lifetime_seconds\" must be a number "
              "of seconds (900 .. 43200)");
      return -1;
    }
    a->info.lifetime = (int64_t)lt->valuedouble;
  }
  if (req != NULL && !cJSON_IsBool(req)) {
    aws_err(errbuf, errlen, "\"aws\": \"imdsv2_required\" must be a boolean");
    return -1;
  }
  a->info.imdsv2_required = cJSON_IsTrue(req);
  return 0;
}

emu_aws *emu_aws_from_config(const cJSON *v, char *errbuf, size_t errlen) {
  static const char *const known[] = {"account_id",
                                      "role_name",
                                      "access_key_id",
                                      "secret_access_key",
                                      "session_token",
                                      "user_name",
                                      "instance_id",
                                      "region",
                                      "credentials_lifetime_seconds",
                                      "audience",
                                      "service_account",
                                      "imdsv2_required",
                                      NULL};
  const cJSON *m;
  int bad = 0;
  if (!cJSON_IsObject(v)) {
    aws_err(errbuf, errlen, "\"aws\" must be an object");
    return NULL;
  }
  cJSON_ArrayForEach(m, v) {
    int ok = 0;
    for (int k = 0; known[k]; k++) ok |= strcmp(m->string, known[k]) == 0;
    if (!ok) {
      aws_err(errbuf, errlen, "\"aws\": unknown member \"%.100s\"", m->string);
      return NULL;
    }
  }
  const char *acct = member_str(v, "account_id", 1, 12, errbuf, errlen, &bad);
  const char *role = member_str(v, "role_name", 1, 64, errbuf, errlen, &bad);
  const char *akid =
      member_str(v, "access_key_id", 1, 128, errbuf, errlen, &bad);
  const char *secret =
      member_str(v, "secret_access_key", 1, 128, errbuf, errlen, &bad);
  const char *stok =
      member_str(v, "session_token", 0, 1500, errbuf, errlen, &bad);
  const char *user = member_str(v, "user_name", 0, 64, errbuf, errlen, &bad);
  const char *iid = member_str(v, "instance_id", 0, 64, errbuf, errlen, &bad);
  const char *region = member_str(v, "region", 1, 64, errbuf, errlen, &bad);
  const char *aud = member_str(v, "audience", 1, 500, errbuf, errlen, &bad);
  const char *sa =
      member_str(v, "service_account", 0, 200, errbuf, errlen, &bad);
  if (bad) return NULL;
  if (!is_account_id(acct)) {
    aws_err(errbuf, errlen, "\"aws\": \"account_id\" must be 12 digits");
    return NULL;
  }
  if (strncmp(aud, "//iam.googleapis.com/", 21) != 0 ||
      strstr(aud, "/workloadIdentityPools/") == NULL ||
      strstr(aud, "/providers/") == NULL) {
    aws_err(errbuf, errlen,
            "\"aws\": \"audience\" must be a workload identity provider's "
            "(//iam.googleapis.com/projects/N/locations/global/"
            "workloadIdentityPools/POOL/providers/PROVIDER)");
    return NULL;
  }
  emu_aws *a = calloc(1, sizeof *a);
  if (a == NULL) abort();
  if (cfg_numbers(a, v, errbuf, errlen) != 0) {
    free(a);
    return NULL;
  }
  pthread_mutex_init(&a->mu, NULL);
  a->account_id = dup_or_die(acct);
  a->role_name = dup_or_die(role);
  a->region = dup_or_die(region);
  a->audience = dup_or_die(aud);
  a->sa = dup_or_die(sa);
  a->instance_id = dup_or_die(iid ? iid : "i-0123456789abcdef0");
  a->user_name = dup_or_die(user ? user : "emulator-user");
  a->info.account_id = a->account_id;
  a->info.role_name = a->role_name;
  a->info.region = a->region;
  a->info.audience = a->audience;
  a->info.service_account = a->sa;
  a->info.instance_id = a->instance_id;
  a->info.user_name = a->user_name;

  emu_aws_creds *c = &a->longterm;
  snprintf(c->access_key_id, sizeof c->access_key_id, "%s", akid);
  snprintf(c->secret_access_key, sizeof c->secret_access_key, "%s", secret);
  if (stok != NULL) {
    /* A key with a session token is an assumed role's (the environment
     * of a process that assumed it): its session is the user name. */
    snprintf(c->session_token, sizeof c->session_token, "%s", stok);
    c->temporary = 1;
    snprintf(c->arn, sizeof c->arn, "arn:aws:sts::%s:assumed-role/%s/%s",
             a->account_id, a->role_name, a->user_name);
  } else {
    snprintf(c->arn, sizeof c->arn, "arn:aws:iam::%s:user/%s", a->account_id,
             a->user_name);
  }
  c->issued = 1; /* present; never expires (expires 0) */
  return a;
}

void emu_aws_free(emu_aws *a) {
  if (a == NULL) return;
  OPENSSL_cleanse(&a->longterm, sizeof a->longterm);
  OPENSSL_cleanse(a->temp, sizeof a->temp);
  OPENSSL_cleanse(a->tokens, sizeof a->tokens);
  free(a->account_id);
  free(a->role_name);
  free(a->region);
  free(a->audience);
  free(a->sa);
  free(a->instance_id);
  free(a->user_name);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

const emu_aws_info *emu_aws_info_of(const emu_aws *a) { return &a->info; }

/* ---- IMDSv2 session tokens ---------------------------------------------- */

char *emu_aws_imds_token_new(emu_aws *a, int64_t now, int64_t ttl) {
  imds_token t;
  /* 56 base64 characters, as long as EC2's. */
  if (random_chars(t.token, 56, B64) != 0) return NULL;
  t.exp = now + ttl;
  char *out = dup_or_die(t.token);
  pthread_mutex_lock(&a->mu);
  size_t keep = a->ntokens;
  /* Expired ones go first; when still full, the oldest. */
  size_t w = 0;
  for (size_t i = 0; i < keep; i++)
    if (a->tokens[i].exp > now) a->tokens[w++] = a->tokens[i];
  a->ntokens = w;
  if (a->ntokens == AWS_MAX_IMDS_TOKENS) {
    memmove(a->tokens, a->tokens + 1,
            (AWS_MAX_IMDS_TOKENS - 1) * sizeof a->tokens[0]);
    a->ntokens--;
  }
  a->tokens[a->ntokens++] = t;
  pthread_mutex_unlock(&a->mu);
  OPENSSL_cleanse(&t, sizeof t);
  return out;
}

int emu_aws_imds_token_valid(emu_aws *a, const char *token, int64_t now) {
  size_t n = strlen(token);
  int ok = 0;
  pthread_mutex_lock(&a->mu);
  for (size_t i = 0; i < a->ntokens && !ok; i++)
    ok = strlen(a->tokens[i].token) == n &&
         CRYPTO_memcmp(a->tokens[i].token, token, n) == 0 &&
         a->tokens[i].exp > now;
  pthread_mutex_unlock(&a->mu);
  return ok;
}

/* ---- access keys --------------------------------------------------------- */

static int temp_new(emu_aws *a, int64_t now, emu_aws_creds *c) {
  memset(c, 0, sizeof *c);
  memcpy(c->access_key_id, "ASIA", 4);
  if (random_chars(c->access_key_id + 4, 16, UPPER_DIGITS) != 0 ||
      random_chars(c->secret_access_key, 40, B64) != 0)
    return -1;
  /* EC2's session tokens start "IQoJb3JpZ2luX2Vj" (base64 of a protobuf
   * naming the origin); the rest is random here. */
  memcpy(c->session_token, "IQoJb3JpZ2luX2Vj", 16);
  if (random_chars(c->session_token + 16, 300, B64) != 0) return -1;
  c->temporary = 1;
  c->issued = now;
  c->expires = now + a->info.lifetime;
  snprintf(c->arn, sizeof c->arn, "arn:aws:sts::%s:assumed-role/%s/%s",
           a->account_id, a->role_name, a->instance_id);
  return 0;
}

int emu_aws_role_credentials(emu_aws *a, int64_t now, emu_aws_creds *out) {
  int rc = 0;
  pthread_mutex_lock(&a->mu);
  /* A moved clock may go back before the newest set: issue a new one then
   * too, so that LastUpdated is never in the future. */
  if (a->ntemp == 0 || now >= a->temp[0].expires - AWS_REFRESH_AHEAD ||
      now < a->temp[0].issued) {
    emu_aws_creds c;
    if (temp_new(a, now, &c) != 0) {
      rc = -1;
    } else {
      if (a->ntemp == AWS_MAX_TEMP_KEYS) a->ntemp--;
      memmove(a->temp + 1, a->temp, a->ntemp * sizeof a->temp[0]);
      a->temp[0] = c;
      a->ntemp++;
    }
    OPENSSL_cleanse(&c, sizeof c);
  }
  if (rc == 0) *out = a->temp[0];
  pthread_mutex_unlock(&a->mu);
  return rc;
}

int emu_aws_key_find(emu_aws *a, const char *access_key_id,
                     emu_aws_creds *out) {
  int found = 0;
  pthread_mutex_lock(&a->mu);
  if (strcmp(a->longterm.access_key_id, access_key_id) == 0) {
    *out = a->longterm;
    found = 1;
  }
  for (size_t i = 0; i < a->ntemp && !found; i++)
    if (strcmp(a->temp[i].access_key_id, access_key_id) == 0) {
      *out = a->temp[i];
      found = 1;
    }
  pthread_mutex_unlock(&a->mu);
  return found;
}
