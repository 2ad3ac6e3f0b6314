/* The claims of a verified token (gauth_claims) and the checks on a payload
 * (gauth__claims_check).
 *
 * The checks are pure: the caller supplies `now`, so that tests drive them
 * with exact boundaries and the verifier re-runs them on every token-cache
 * hit.
 *
 * Messages echo `iss`, `aud`, `hd`, `azp` and `email` values: they are not
 * secrets, and a person fixing a mismatch needs to see them. Each echoed
 * value is cut to ECHO_MAX bytes (on a UTF-8 boundary) with control bytes
 * replaced, so that a hostile token cannot flood or forge log lines. The
 * token itself is never echoed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "jose_internal.h"
#include "json.h"
#include "secret.h"

/* At most this many bytes of one echoed claim value. */
#define ECHO_MAX 100

/* JSON numbers are doubles: 2^53 is the largest range where every integer
 * is exact, and keeping times inside it keeps exp + leeway from overflow. */
#define INT53_MAX ((int64_t)1 << 53)

/* ---- echoing values in messages ------------------------------------------ */

typedef struct echo_buf {
  char s[ECHO_MAX + 8];
} echo_buf;

/* A printable copy of v, at most ECHO_MAX bytes plus "...". */
static const char *echo(echo_buf *b, const char *v) {
  size_t i, n;
  if (v == NULL) v = "";
  gauth__strlcpy_utf8(b->s, v, ECHO_MAX + 1);
  n = strlen(b->s);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)b->s[i];
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') b->s[i] = '?';
  }
  if (n < strlen(v)) memcpy(b->s + n, "...", 4);
  return b->s;
}

/* Appends `"A", "B", ...` (each value echoed) to buf. */
static void append_list(char *buf, size_t size, const char *const *list) {
  size_t i, used = strlen(buf);
  for (i = 0; list[i] != NULL && used + 1 < size; i++) {
    echo_buf e;
    int n = snprintf(buf + used, size - used, "%s\"%s\"", i > 0 ? ", " : "",
                     echo(&e, list[i]));
    if (n < 0) return;
    used += (size_t)n;
    if (used >= size) {
      buf[size - 1] = '\0';
      return;
    }
  }
}

/* ---- reading claims ------------------------------------------------------*/

static const cJSON *member(const cJSON *obj, const char *name) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsNull(item) ? NULL : item;
}

/* floor() for |d| <= 2^53, without libm. */
static int64_t floor53(double d) {
  int64_t i = (int64_t)d; /* truncates toward zero */
  return (double)i > d ? i - 1 : i;
}

/* The claims that gauth__claims_check reads, found in one walk over the
 * payload's members (the first of a name, as cJSON's lookup finds it; the
 * parser refuses duplicates anyway). NULL: absent. JSON null is kept here
 * and read as absent by the readers (member() does the same). */
typedef struct claim_set {
  const cJSON *exp, *nbf, *iat, *iss, *aud, *hd, *azp, *email, *email_verified;
} claim_set;

static const cJSON **claim_slot(claim_set *c, const char *name) {
  switch (name[0]) {
    case 'a':
      if (strcmp(name, "aud") == 0) return &c->aud;
      if (strcmp(name, "azp") == 0) return &c->azp;
      break;
    case 'e':
      if (strcmp(name, "exp") == 0) return &c->exp;
      if (strcmp(name, "email") == 0) return &c->email;
      if (strcmp(name, "email_verified") == 0) return &c->email_verified;
      break;
    case 'h':
      if (strcmp(name, "hd") == 0) return &c->hd;
      break;
    case 'i':
      if (strcmp(name, "iat") == 0) return &c->iat;
      if (strcmp(name, "iss") == 0) return &c->iss;
      break;
    case 'n':
      if (strcmp(name, "nbf") == 0) return &c->nbf;
      break;
    default: break;
  }
  return NULL;
}

static void find_claims(const cJSON *payload, claim_set *c) {
  const cJSON *item;
  memset(c, 0, sizeof(*c));
  for (item = payload->child; item != NULL; item = item->next) {
    const cJSON **slot;
    if (item->string == NULL) continue;
    slot = claim_slot(c, item->string);
    if (slot != NULL && *slot == NULL) *slot = item;
  }
}

static const cJSON *not_null(const cJSON *item) {
  return cJSON_IsNull(item) ? NULL : item;
}

/* A NumericDate claim (RFC 7519 2), the member `item` (NULL: absent) named
 * name: absent gives *present 0. Not a number, not finite, or beyond 2^53
 * is "malformed"; a fraction is floored. */
static gauth_status read_time(const cJSON *item, const char *name, int64_t *out,
                              int *present, gauth_error *err) {
  double d;
  item = not_null(item);
  *out = 0;
  *present = 0;
  if (item == NULL) return GAUTH_OK;
  if (!cJSON_IsNumber(item))
    return gauth__error_set_verify(
        err, GAUTH_REASON_MALFORMED,
        "claim \"%s\" is %s, expected a number (seconds since the epoch)", name,
        gauth__json_type_name(item));
  d = item->valuedouble;
  if (!isfinite(d) || d > (double)INT53_MAX || d < -(double)INT53_MAX)
    return gauth__error_set_verify(
        err, GAUTH_REASON_MALFORMED,
        "claim \"%s\" is out of range for a time (|value| > 2^53)", name);
  *out = floor53(d);
  *present = 1;
  return GAUTH_OK;
}

/* An optional string claim, the member `item` (NULL: absent) named name:
 * absent gives NULL; another type is "malformed". */
static gauth_status read_string(const cJSON *item, const char *name,
                                const char **out, gauth_error *err) {
  item = not_null(item);
  *out = NULL;
  if (item == NULL) return GAUTH_OK;
  if (!cJSON_IsString(item) || item->valuestring == NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "claim \"%s\" is %s, expected a string",
                                   name, gauth__json_type_name(item));
  *out = item->valuestring;
  return GAUTH_OK;
}

static int in_list(const char *v, const char *const *list) {
  size_t i;
  for (i = 0; list[i] != NULL; i++)
    if (strcmp(v, list[i]) == 0) return 1;
  return 0;
}

static int64_t clamp53(int64_t v) {
  if (v > INT53_MAX) return INT53_MAX;
  if (v < -INT53_MAX) return -INT53_MAX;
  return v;
}

/* ---- the checks, one per concern -----------------------------------------*/

static gauth_status check_times(const claim_set *c, const gauth__claim_rules *r,
                                gauth_error *err) {
  int64_t exp, nbf, iat, now, leeway;
  int has_exp, has_nbf, has_iat;
  gauth_status st;

  /* Every time claim is read (and its type checked) before any comparison,
   * so that a malformed claim is reported as such whatever the clock. */
  st = read_time(c->exp, "exp", &exp, &has_exp, err);
  if (st != GAUTH_OK) return st;
  if (!has_exp)
    return gauth__error_set_verify(
        err, GAUTH_REASON_MISSING_CLAIM,
        "token has no \"exp\" claim (an expiry time is required)");
  st = read_time(c->nbf, "nbf", &nbf, &has_nbf, err);
  if (st != GAUTH_OK) return st;
  st = read_time(c->iat, "iat", &iat, &has_iat, err);
  if (st != GAUTH_OK) return st;

  /* Inside 2^53 every sum and difference below fits in int64. */
  now = clamp53(r->now);
  leeway = r->leeway < 0 ? 0 : clamp53(r->leeway);

  /* RFC 7519 4.1.4: valid only before exp (the leeway added); at exp +
   * leeway it has expired, as a cached token stops at exp. */
  if (now >= exp + leeway)
    return gauth__error_set_verify(
        err, GAUTH_REASON_EXPIRED,
        "token expired %lld s ago (exp %lld, now %lld, leeway %lld s)",
        (long long)(now - exp), (long long)exp, (long long)now,
        (long long)leeway);
  if (has_nbf && nbf > now + leeway)
    return gauth__error_set_verify(
        err, GAUTH_REASON_NOT_YET_VALID,
        "token not valid for another %lld s (nbf %lld, now %lld, leeway "
        "%lld s)",
        (long long)(nbf - now), (long long)nbf, (long long)now,
        (long long)leeway);
  if (has_iat && iat > now + leeway)
    return gauth__error_set_verify(
        err, GAUTH_REASON_ISSUED_IN_FUTURE,
        "token issued %lld s in the future (iat %lld, now %lld, leeway "
        "%lld s); check the clocks of issuer and verifier",
        (long long)(iat - now), (long long)iat, (long long)now,
        (long long)leeway);
  if (r->max_lifetime > 0) {
    if (!has_iat)
      return gauth__error_set_verify(
          err, GAUTH_REASON_MISSING_CLAIM,
          "token has no \"iat\" claim, needed to check its lifetime (at "
          "most %lld s)",
          (long long)r->max_lifetime);
    if (exp - iat > r->max_lifetime)
      return gauth__error_set_verify(
          err, GAUTH_REASON_LIFETIME_TOO_LONG,
          "token lifetime %lld s exceeds the maximum %lld s (iat %lld, exp "
          "%lld)",
          (long long)(exp - iat), (long long)r->max_lifetime, (long long)iat,
          (long long)exp);
  }
  return GAUTH_OK;
}

static gauth_status check_issuer(const claim_set *c,
                                 const gauth__claim_rules *r,
                                 gauth_error *err) {
  char expected[GAUTH_ERROR_MESSAGE_SIZE];
  const char *iss;
  echo_buf e;
  gauth_status st;

  if (r->issuers == NULL) return GAUTH_OK;
  st = read_string(c->iss, "iss", &iss, err);
  if (st != GAUTH_OK) return st;
  if (iss != NULL && in_list(iss, r->issuers)) return GAUTH_OK;
  expected[0] = '\0';
  append_list(expected, sizeof(expected), r->issuers);
  if (iss == NULL)
    return gauth__error_set_verify(
        err, GAUTH_REASON_MISSING_CLAIM,
        "token has no \"iss\" claim; expected one of %s", expected);
  return gauth__error_set_verify(
      err, GAUTH_REASON_ISSUER_MISMATCH,
      "issuer mismatch: token is from \"%s\", expected one of %s",
      echo(&e, iss), expected);
}

/* OpenID Connect Core 3.1.3.7, items 4 and 5: a token for several
 * audiences must say which of them it was issued to (azp), and that party
 * must be one of ours; otherwise any of the other audiences could replay it
 * here. Decided stricter than the spec's SHOULD: required. */
static gauth_status check_multi_audience_azp(const claim_set *c,
                                             const gauth__claim_rules *r,
                                             gauth_error *err) {
  const cJSON *aud = not_null(c->aud), *azp = not_null(c->azp);
  if (!cJSON_IsArray(aud) || cJSON_GetArraySize(aud) < 2) return GAUTH_OK;
  if (azp == NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_MISSING_CLAIM,
                                   "token has %d audiences and no \"azp\" "
                                   "claim naming the one it was issued to",
                                   cJSON_GetArraySize(aud));
  if (!cJSON_IsString(azp) || azp->valuestring == NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "claim \"azp\" is %s, expected a string",
                                   gauth__json_type_name(azp));
  if (r->audiences != NULL && !in_list(azp->valuestring, r->audiences))
    return gauth__error_set_verify(err, GAUTH_REASON_CLAIM_MISMATCH,
                                   "token has %d audiences and its \"azp\" "
                                   "is not one of this verifier's audiences",
                                   cJSON_GetArraySize(aud));
  return GAUTH_OK;
}

static gauth_status check_audience(const claim_set *c,
                                   const gauth__claim_rules *r,
                                   gauth_error *err) {
  /* Only a mismatch writes the messages: they are not cleared before. */
  char got[GAUTH_ERROR_MESSAGE_SIZE];
  char expected[GAUTH_ERROR_MESSAGE_SIZE];
  const cJSON *aud, *it;
  const char *one[2] = {NULL, NULL};
  size_t n = 0;

  if (r->audiences == NULL) return GAUTH_OK;
  aud = not_null(c->aud);
  if (aud == NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_MISSING_CLAIM,
                                   "token has no \"aud\" claim");
  got[0] = '\0';
  expected[0] = '\0';
  if (cJSON_IsString(aud) && aud->valuestring != NULL) {
    if (in_list(aud->valuestring, r->audiences)) return GAUTH_OK;
    one[0] = aud->valuestring;
    append_list(got, sizeof(got), one);
  } else if (cJSON_IsArray(aud)) {
    /* Every member is checked for type first: a token is either well-formed
     * or not, whichever member happens to match. */
    cJSON_ArrayForEach(it, aud) {
      if (!cJSON_IsString(it) || it->valuestring == NULL)
        return gauth__error_set_verify(
            err, GAUTH_REASON_MALFORMED,
            "claim \"aud\" holds %s, expected strings",
            gauth__json_type_name(it));
      n++;
    }
    if (n == 0)
      return gauth__error_set_verify(err, GAUTH_REASON_MISSING_CLAIM,
                                     "token's \"aud\" claim is an empty array");
    cJSON_ArrayForEach(it, aud) {
      if (in_list(it->valuestring, r->audiences)) return GAUTH_OK;
    }
    cJSON_ArrayForEach(it, aud) {
      one[0] = it->valuestring;
      size_t gl = strlen(got);
      if (gl > 0 && gl + 2 < sizeof(got)) memcpy(got + gl, ", ", 3);
      append_list(got, sizeof(got), one);
    }
  } else {
    return gauth__error_set_verify(
        err, GAUTH_REASON_MALFORMED,
        "claim \"aud\" is %s, expected a string or an array of strings",
        gauth__json_type_name(aud));
  }
  append_list(expected, sizeof(expected), r->audiences);
  return gauth__error_set_verify(
      err, GAUTH_REASON_AUDIENCE_MISMATCH,
      "audience mismatch: token is for %s, expected one of %s", got, expected);
}

/* A string claim that must equal `want`. */
static gauth_status check_equal(const cJSON *item, const char *name,
                                const char *what, const char *want,
                                gauth_error *err) {
  const char *v;
  echo_buf e1, e2;
  gauth_status st;
  if (want == NULL) return GAUTH_OK;
  st = read_string(item, name, &v, err);
  if (st != GAUTH_OK) return st;
  if (v == NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_MISSING_CLAIM,
                                   "token has no \"%s\" claim (%s); expected "
                                   "\"%s\"",
                                   name, what, echo(&e1, want));
  if (strcmp(v, want) != 0)
    return gauth__error_set_verify(
        err, GAUTH_REASON_CLAIM_MISMATCH,
        "%s mismatch: token has \"%s\": \"%s\", expected \"%s\"", what, name,
        echo(&e1, v), echo(&e2, want));
  return GAUTH_OK;
}

static gauth_status check_email(const claim_set *c, const gauth__claim_rules *r,
                                gauth_error *err) {
  const cJSON *item;
  const char *email;
  gauth_status st;

  if (r->require_email) {
    st = read_string(c->email, "email", &email, err);
    if (st != GAUTH_OK) return st;
    if (email == NULL || email[0] == '\0')
      return gauth__error_set_verify(
          err, GAUTH_REASON_MISSING_CLAIM,
          "token has no \"email\" claim (for a Google ID token, ask for it: "
          "include_email / format=full)");
  }
  if (r->require_email_verified) {
    item = not_null(c->email_verified);
    if (item == NULL)
      return gauth__error_set_verify(err, GAUTH_REASON_MISSING_CLAIM,
                                     "token has no \"email_verified\" claim");
    if (!cJSON_IsBool(item))
      return gauth__error_set_verify(
          err, GAUTH_REASON_MALFORMED,
          "claim \"email_verified\" is %s, expected a boolean",
          gauth__json_type_name(item));
    if (!cJSON_IsTrue(item))
      return gauth__error_set_verify(err, GAUTH_REASON_CLAIM_MISMATCH,
                                     "token's email address is not verified "
                                     "(\"email_verified\": false)");
  }
  return GAUTH_OK;
}

gauth_status gauth__claims_check(const cJSON *payload,
                                 const gauth__claim_rules *rules,
                                 gauth_error *err) {
  claim_set c;
  gauth_status st;
  if (rules == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "claim rules are NULL");
  if (!cJSON_IsObject(payload))
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "token payload is not a JSON object");
  find_claims(payload, &c);
  st = check_times(&c, rules, err);
  if (st == GAUTH_OK) st = check_issuer(&c, rules, err);
  if (st == GAUTH_OK) st = check_audience(&c, rules, err);
  if (st == GAUTH_OK)
    st = check_equal(c.hd, "hd", "hosted domain", rules->hosted_domain, err);
  if (st == GAUTH_OK)
    st = check_equal(c.azp, "azp", "authorized party", rules->authorized_party,
                     err);
  if (st == GAUTH_OK) st = check_multi_audience_azp(&c, rules, err);
  if (st == GAUTH_OK) st = check_email(&c, rules, err);
  return st;
}

/* ---- the claims object ---------------------------------------------------*/

gauth_status gauth__claims_from_jws(gauth__jws *jws, gauth_claims **out,
                                    gauth_error *err) {
  gauth_claims *c;
  if (out == NULL || jws == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth__claims_from_jws: NULL argument");
  *out = NULL;
  if (jws->payload == NULL || jws->header == NULL ||
      jws->payload_json == NULL || jws->header_json == NULL)
    return gauth__error_set_verify(err, GAUTH_REASON_MALFORMED,
                                   "token payload is not a JSON object");
  c = calloc(1, sizeof(*c));
  if (c == NULL) return gauth__error_nomem(err);
  gauth__ref_init(&c->refs);
  /* The kid is a string of the header tree, which the claims now own. */
  c->kid = jws->kid;
  c->alg = jws->alg;
  c->header_json = jws->header_json;
  c->payload_json = jws->payload_json;
  c->header = jws->header;
  c->shared = jws->shared;
  c->payload = jws->payload;
  jws->header_json = NULL;
  jws->payload_json = NULL;
  jws->header = NULL;
  jws->shared = NULL;
  jws->payload = NULL;
  jws->kid = NULL;
  /* What is left (the signature) is of no further use; jws ends empty. */
  gauth__jws_cleanup(jws);
  *out = c;
  return GAUTH_OK;
}

void gauth_claims_up_ref(gauth_claims *claims) {
  if (claims != NULL) gauth__ref_up(&claims->refs);
}

void gauth_claims_free(gauth_claims *claims) {
  if (claims == NULL) return;
  if (!gauth__ref_down(&claims->refs)) return;
  if (claims->shared != NULL) {
    gauth__jws_header_release(claims->shared);
  } else {
    cJSON_Delete(claims->header);
    free(claims->header_json);
  }
  cJSON_Delete(claims->payload);
  /* Claims can be personal data (email, name): wiped, as lib/jws.c does. */
  gauth__secret_strfree(claims->payload_json);
  free(claims);
}

const char *gauth_claims_json(const gauth_claims *claims) {
  return claims == NULL ? NULL : claims->payload_json;
}

const char *gauth_claims_header_json(const gauth_claims *claims) {
  return claims == NULL ? NULL : claims->header_json;
}

gauth_alg gauth_claims_alg(const gauth_claims *claims) {
  return claims == NULL ? GAUTH_ALG_UNKNOWN : claims->alg;
}

const char *gauth_claims_kid(const gauth_claims *claims) {
  return claims == NULL ? NULL : claims->kid;
}

static const char *string_claim(const gauth_claims *claims, const char *name) {
  const cJSON *item;
  if (claims == NULL) return NULL;
  item = member(claims->payload, name);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int64_t time_claim(const gauth_claims *claims, const char *name) {
  int64_t v;
  int present;
  if (claims == NULL) return 0;
  if (read_time(cJSON_GetObjectItemCaseSensitive(claims->payload, name), name,
                &v, &present, NULL) != GAUTH_OK)
    return 0;
  return v;
}

const char *gauth_claims_issuer(const gauth_claims *claims) {
  return string_claim(claims, "iss");
}

const char *gauth_claims_subject(const gauth_claims *claims) {
  return string_claim(claims, "sub");
}

size_t gauth_claims_audience_count(const gauth_claims *claims) {
  const cJSON *aud;
  if (claims == NULL) return 0;
  aud = member(claims->payload, "aud");
  if (cJSON_IsString(aud)) return 1;
  if (cJSON_IsArray(aud)) return (size_t)cJSON_GetArraySize(aud);
  return 0;
}

const char *gauth_claims_audience(const gauth_claims *claims, size_t i) {
  const cJSON *aud, *it;
  if (claims == NULL) return NULL;
  aud = member(claims->payload, "aud");
  if (cJSON_IsString(aud)) return i == 0 ? aud->valuestring : NULL;
  if (!cJSON_IsArray(aud)) return NULL;
  cJSON_ArrayForEach(it, aud) {
    if (i-- == 0) return cJSON_IsString(it) ? it->valuestring : NULL;
  }
  return NULL;
}

int64_t gauth_claims_expires_at(const gauth_claims *claims) {
  return time_claim(claims, "exp");
}

int64_t gauth_claims_issued_at(const gauth_claims *claims) {
  return time_claim(claims, "iat");
}

/* The named claim for a typed getter: NOT_FOUND when absent or null. */
static gauth_status lookup(const gauth_claims *claims, const char *name,
                           const void *out, const cJSON **item,
                           gauth_error *err) {
  if (claims == NULL || name == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "claims getter: NULL argument");
  *item = member(claims->payload, name);
  if (*item == NULL) {
    echo_buf e;
    return gauth__error_set(err, GAUTH_E_NOT_FOUND, "token has no claim \"%s\"",
                            echo(&e, name));
  }
  return GAUTH_OK;
}

static gauth_status wrong_type(const char *name, const cJSON *item,
                               const char *want, gauth_error *err) {
  echo_buf e;
  return gauth__error_set(err, GAUTH_E_MALFORMED,
                          "claim \"%s\" is %s, expected %s", echo(&e, name),
                          gauth__json_type_name(item), want);
}

gauth_status gauth_claims_get_string(const gauth_claims *claims,
                                     const char *name, const char **out,
                                     gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup(claims, name, out, &item, err);
  if (out != NULL) *out = NULL;
  if (st != GAUTH_OK) return st;
  if (!cJSON_IsString(item) || item->valuestring == NULL)
    return wrong_type(name, item, "a string", err);
  *out = item->valuestring;
  return GAUTH_OK;
}

gauth_status gauth_claims_get_int64(const gauth_claims *claims,
                                    const char *name, int64_t *out,
                                    gauth_error *err) {
  const cJSON *item;
  double d;
  gauth_status st = lookup(claims, name, out, &item, err);
  if (out != NULL) *out = 0;
  if (st != GAUTH_OK) return st;
  if (!cJSON_IsNumber(item)) return wrong_type(name, item, "a number", err);
  d = item->valuedouble;
  if (!isfinite(d) || d > (double)INT53_MAX || d < -(double)INT53_MAX ||
      (double)(int64_t)d != d) {
    echo_buf e;
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "claim \"%s\" is not an integer within 2^53",
                            echo(&e, name));
  }
  *out = (int64_t)d;
  return GAUTH_OK;
}

gauth_status gauth_claims_get_bool(const gauth_claims *claims, const char *name,
                                   int *out, gauth_error *err) {
  const cJSON *item;
  gauth_status st = lookup(claims, name, out, &item, err);
  if (out != NULL) *out = 0;
  if (st != GAUTH_OK) return st;
  if (!cJSON_IsBool(item)) return wrong_type(name, item, "a boolean", err);
  *out = cJSON_IsTrue(item) ? 1 : 0;
  return GAUTH_OK;
}

gauth_status gauth_claims_get_json(const gauth_claims *claims, const char *name,
                                   char **out, gauth_error *err) {
  const cJSON *item;
  char *printed, *copy;
  size_t n;
  gauth_status st = lookup(claims, name, out, &item, err);
  if (out != NULL) *out = NULL;
  if (st != GAUTH_OK) return st;
  printed = cJSON_PrintUnformatted(item);
  if (printed == NULL) return gauth__error_nomem(err);
  /* Copied so that the caller frees with gauth_free() whatever allocator
   * cJSON was given. */
  n = strlen(printed);
  copy = malloc(n + 1);
  if (copy != NULL) memcpy(copy, printed, n + 1);
  cJSON_free(printed);
  if (copy == NULL) return gauth__error_nomem(err);
  *out = copy;
  return GAUTH_OK;
}
