/* Pure helpers shared by the credential sources: OAuth token replies,
 * RFC 3339 times, a JWT's expiry, scope lists. No I/O. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "credentials_internal.h"
#include "error_internal.h"
#include "json.h"
#include "secret.h"

/* Tokens longer than this are not tokens (Google's are under 4 KiB; the
 * documented reserve for access tokens is 2 KiB). */
#define TOKEN_MAX_BYTES ((size_t)16 * 1024)

void gauth__token_cleanup(gauth__token *t) {
  if (t == NULL) return;
  gauth__secret_strfree(t->value);
  t->value = NULL;
  t->expires_at = 0;
}

gauth_status gauth__token_text_check(const char *v, const char *member,
                                     gauth_error *err) {
  size_t i, n = strlen(v);
  if (n == 0)
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE, "\"%s\" is empty",
                            member);
  if (n > TOKEN_MAX_BYTES)
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "\"%s\" is %zu bytes long (over %zu)", member, n,
                            TOKEN_MAX_BYTES);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c <= 0x20 || c >= 0x7f)
      return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                              "\"%s\" holds a character that cannot go into "
                              "an HTTP header",
                              member);
  }
  return GAUTH_OK;
}

/* gauth__token_text_check, the message starting "token reply: ". */
static gauth_status check_token_text(const char *v, const char *member,
                                     gauth_error *err) {
  gauth_status st = gauth__token_text_check(v, member, err);
  if (st != GAUTH_OK) gauth__error_prefix(err, "token reply");
  return st;
}

static gauth_status parse_access(const cJSON *obj, int64_t now,
                                 gauth__token *out, char **id_token,
                                 gauth_error *err) {
  const char *tok = NULL, *type = NULL, *idt = NULL;
  int64_t expires_in = 0;
  int have_exp = 0;
  gauth_status st;
  if ((st = gauth__json_get_string(obj, "access_token", &tok, err)) ||
      (st = check_token_text(tok, "access_token", err)) ||
      (st = gauth__json_opt_string(obj, "token_type", &type, err)) ||
      (st = gauth__json_opt_int64(obj, "expires_in", &expires_in, &have_exp,
                                  err)))
    goto fail;
  if (type != NULL && strcasecmp(type, "Bearer") != 0) {
    st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                          "token reply: token_type is \"%.32s\", expected "
                          "Bearer",
                          type);
    goto fail;
  }
  if (have_exp && (expires_in <= 0 || expires_in > 366 * 86400)) {
    st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                          "token reply: expires_in %lld is out of range",
                          (long long)expires_in);
    goto fail;
  }
  if (id_token != NULL) {
    if ((st = gauth__json_opt_string(obj, "id_token", &idt, err)) != GAUTH_OK)
      goto fail;
    if (idt != NULL && (st = check_token_text(idt, "id_token", err))) goto fail;
  }
  out->value = gauth__strdup(tok);
  out->expires_at = have_exp ? now + expires_in : 0;
  if (out->value == NULL) return gauth__error_nomem(err);
  if (idt != NULL) {
    *id_token = gauth__strdup(idt);
    if (*id_token == NULL) {
      gauth__token_cleanup(out);
      return gauth__error_nomem(err);
    }
  }
  return GAUTH_OK;
fail:
  if (st == GAUTH_E_MALFORMED) {
    /* A member missing or mistyped: the server's reply is at fault. */
    if (err != NULL) err->code = GAUTH_E_BAD_RESPONSE;
    return GAUTH_E_BAD_RESPONSE;
  }
  return st;
}

static gauth_status parse_id(const cJSON *obj, gauth__token *out,
                             gauth_error *err) {
  const char *tok = NULL;
  int64_t exp = 0;
  gauth_status st;
  if ((st = gauth__json_get_string(obj, "id_token", &tok, err)) != GAUTH_OK) {
    if (st == GAUTH_E_MALFORMED) {
      if (err) err->code = GAUTH_E_BAD_RESPONSE;
      st = GAUTH_E_BAD_RESPONSE;
    }
    return st;
  }
  if ((st = check_token_text(tok, "id_token", err)) != GAUTH_OK) return st;
  if (gauth__jwt_expiry(tok, &exp, err) != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "token reply: id_token is not a JWT with an exp "
                            "claim");
  out->value = gauth__strdup(tok);
  out->expires_at = exp;
  return out->value ? GAUTH_OK : gauth__error_nomem(err);
}

gauth_status gauth__token_response_parse(const char *body, size_t len,
                                         gauth__token_kind kind, int64_t now,
                                         gauth__token *out, char **id_token,
                                         gauth_error *err) {
  cJSON *obj = NULL;
  gauth_status st;
  out->value = NULL;
  out->expires_at = 0;
  if (id_token != NULL) *id_token = NULL;
  st = gauth__json_parse_object(body, len, NULL, &obj, err);
  if (st != GAUTH_OK) {
    if (st == GAUTH_E_NOMEM) return st;
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "token reply is not a JSON object (%zu bytes)",
                            len);
  }
  st = kind == GAUTH__TOKEN_ID ? parse_id(obj, out, err)
                               : parse_access(obj, now, out, id_token, err);
  gauth__secret_json_delete(obj);
  return st;
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (; n > 0; n--, (*p)++) {
    if (**p < '0' || **p > '9') return 0;
    v = v * 10 + (**p - '0');
  }
  *out = v;
  return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

gauth_status gauth__rfc3339_parse(const char *s, int64_t *out,
                                  gauth_error *err) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const char *p = s;
  int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
  int64_t t;
  *out = 0;
  if (s == NULL || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
      *p++ != '-' || !digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
    goto bad;
  p++;
  if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
      !digits(&p, 2, &sec))
    goto bad;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9') goto bad;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p++ == '-' ? -1 : 1;
    if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om)) goto bad;
  } else {
    goto bad;
  }
  if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
      mi > 59 || sec > 60 || oh > 23 || om > 59)
    goto bad;
  if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    goto bad;
  t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
  t -= sign * (oh * 3600 + om * 60);
  *out = t;
  return GAUTH_OK;
bad:
  return gauth__error_set(err, GAUTH_E_MALFORMED,
                          "\"%.40s\" is not an RFC 3339 time", s ? s : "");
}

gauth_status gauth__jwt_expiry(const char *jwt, int64_t *exp,
                               gauth_error *err) {
  char *payload = NULL;
  cJSON *obj = NULL;
  gauth_status st;
  *exp = 0;
  st = gauth_jwt_decode_unverified(jwt, NULL, &payload, err);
  if (st != GAUTH_OK) return st;
  st = gauth__json_parse_object(payload, strlen(payload), NULL, &obj, err);
  if (st == GAUTH_OK) st = gauth__json_get_int64(obj, "exp", exp, err);
  if (st == GAUTH_OK && *exp <= 0)
    st = gauth__error_set(err, GAUTH_E_MALFORMED, "JWT exp %lld is not a time",
                          (long long)*exp);
  gauth__secret_json_delete(obj); /* the claims of a bearer token */
  gauth_free(payload);
  return st;
}

char *gauth__scopes_join(const char *const *scopes, size_t n, char sep) {
  size_t i, len = 1;
  char *s, *p;
  for (i = 0; i < n; i++) len += strlen(scopes[i]) + 1;
  s = p = malloc(len);
  if (s == NULL) return NULL;
  for (i = 0; i < n; i++) {
    size_t k = strlen(scopes[i]);
    if (i > 0) *p++ = sep;
    memcpy(p, scopes[i], k);
    p += k;
  }
  *p = '\0';
  return s;
}
