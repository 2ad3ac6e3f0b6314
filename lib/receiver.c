/* The receiver: authenticating incoming requests from Google (see
 * include/gauth/receiver.h). Per request: the credential from the headers,
 * the token through a verifier (Google's or IAP's, with their token cache),
 * the caller against the allow lists, then, for Pub/Sub push, the envelope
 * (lib/receiver_pubsub.c).
 *
 * Everything set by gauth_receiver_new is immutable afterwards; the
 * verifiers are thread-safe: a receiver needs no lock of its own.
 *
 * Cost of a request whose token is in the cache: a header scan, the cache
 * lookup (one compare of the token), a few lookups in the claims' parsed
 * tree and one allocation (the caller, holding a reference to the cached
 * claims). Nothing is parsed again. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "error_internal.h"
#include "receiver_internal.h"
#include "refcount.h"
#include "verifier_internal.h"

#define HDR_SERVERLESS "x-serverless-authorization"
#define HDR_AUTHORIZATION "authorization"
#define HDR_IAP "x-goog-iap-jwt-assertion"
#define HDR_SCHEDULER "x-cloudscheduler"
#define HDR_TASKS_QUEUE "x-cloudtasks-queuename"
/* An auth scheme longer than this is not named in messages. */
#define MAX_SCHEME_NAME 16

struct gauth_receiver {
  gauth__refcount refs;
  gauth_verifier *google; /* NULL without audiences */
  gauth_verifier *iap;    /* NULL without iap_audiences */
  char **audiences;       /* NULL-terminated, or NULL */
  char **iap_audiences;
  char **allowed_emails;
  char **allowed_domains;
  int trust_cloud_run;
  unsigned int cloud_run_port; /* 0: none */
  size_t max_body_bytes;
  char *realm; /* NULL: none */
};

struct gauth_caller {
  gauth_claims *claims; /* a reference (often the token cache's entry) */
  gauth_caller_kind kind;
  int signature_verified;
  const char *audience;    /* in claims */
  gauth__pubsub_push push; /* PUBSUB_PUSH; else all zero */
};

const char *gauth_caller_kind_name(gauth_caller_kind kind) {
  switch (kind) {
    case GAUTH_CALLER_GOOGLE: return "google";
    case GAUTH_CALLER_CLOUD_SCHEDULER: return "cloud_scheduler";
    case GAUTH_CALLER_CLOUD_TASKS: return "cloud_tasks";
    case GAUTH_CALLER_PUBSUB_PUSH: return "pubsub_push";
    case GAUTH_CALLER_IAP: return "iap";
  }
  return "unknown";
}

/* ---- pure parts -----------------------------------------------------------
 */

static int name_eq_ci(const char *a, size_t alen, const char *lname) {
  size_t n = strlen(lname);
  return alen == n && strncasecmp(a, lname, n) == 0;
}

const char *gauth__receiver_header(const gauth_request *req, const char *lname,
                                   size_t *len) {
  size_t i;
  *len = 0;
  if (req->header != NULL) {
    size_t n = 0;
    const char *v = req->header(req->header_userdata, lname, &n);
    if (v != NULL) *len = n;
    // cppcheck-suppress returnDanglingLifetime ; v is the callback's, not &n
    return v;
  }
  if (req->headers == NULL) return NULL;
  for (i = 0; i < req->header_count; i++) {
    const gauth_http_header *h = &req->headers[i];
    if (h->name != NULL && name_eq_ci(h->name, h->name_len, lname)) {
      if (h->value == NULL) return "";
      *len = h->value_len;
      return h->value;
    }
  }
  return NULL;
}

/* RFC 7235 token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
 * *"=". A table: the scan runs over every byte of every request's token
 * (about a kilobyte for a Google ID token), and a byte test per character
 * was half the cost of a request served from the token cache. */
#define T68(c) [(unsigned char)(c)] = 1
static const unsigned char token68[256] = {
    T68('A'), T68('B'), T68('C'), T68('D'), T68('E'), T68('F'), T68('G'),
    T68('H'), T68('I'), T68('J'), T68('K'), T68('L'), T68('M'), T68('N'),
    T68('O'), T68('P'), T68('Q'), T68('R'), T68('S'), T68('T'), T68('U'),
    T68('V'), T68('W'), T68('X'), T68('Y'), T68('Z'), T68('a'), T68('b'),
    T68('c'), T68('d'), T68('e'), T68('f'), T68('g'), T68('h'), T68('i'),
    T68('j'), T68('k'), T68('l'), T68('m'), T68('n'), T68('o'), T68('p'),
    T68('q'), T68('r'), T68('s'), T68('t'), T68('u'), T68('v'), T68('w'),
    T68('x'), T68('y'), T68('z'), T68('0'), T68('1'), T68('2'), T68('3'),
    T68('4'), T68('5'), T68('6'), T68('7'), T68('8'), T68('9'), T68('-'),
    T68('.'), T68('_'), T68('~'), T68('+'), T68('/')};
#undef T68

static int is_token68_char(char c) { return token68[(unsigned char)c]; }

gauth_status gauth__receiver_parse_bearer(const char *value, size_t vlen,
                                          const char *header_name, int scan,
                                          const char **tok, size_t *len,
                                          gauth_error *err) {
  static const char scheme[] = "Bearer";
  const size_t slen = sizeof(scheme) - 1;
  size_t i, end;
  *tok = NULL;
  *len = 0;
  /* A field value has no leading or trailing blanks (RFC 9110 5.5);
   * parsers that keep them are forgiven. */
  while (vlen > 0 && (value[0] == ' ' || value[0] == '\t')) {
    value++;
    vlen--;
  }
  while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
    vlen--;
  if (vlen == 0)
    return gauth__error_set_verify(err, GAUTH_REASON_BAD_AUTH_HEADER,
                                   "the %s header is empty", header_name);
  if (vlen < slen || strncasecmp(value, scheme, slen) != 0 ||
      (vlen > slen && value[slen] != ' ' && value[slen] != '\t')) {
    /* Name the scheme (it is not secret) so that "Basic" shows; but only
     * a word followed by a space: a bare token (no scheme) or "BearerXYZ"
     * must not have its first characters copied into the message. */
    size_t n = 0;
    while (n < vlen && n <= MAX_SCHEME_NAME &&
           ((value[n] >= 'A' && value[n] <= 'Z') ||
            (value[n] >= 'a' && value[n] <= 'z') ||
            (value[n] >= '0' && value[n] <= '9') || value[n] == '-'))
      n++;
    if (n == 0 || n > MAX_SCHEME_NAME || n == vlen ||
        (value[n] != ' ' && value[n] != '\t') ||
        strncasecmp(value, scheme, slen) == 0)
      return gauth__error_set_verify(err, GAUTH_REASON_BAD_AUTH_HEADER,
                                     "the %s header is not \"Bearer\", one "
                                     "space, then a token",
                                     header_name);
    return gauth__error_set_verify(
        err, GAUTH_REASON_BAD_AUTH_HEADER,
        "the %s header has scheme \"%.*s\", not \"Bearer\"", header_name,
        (int)n, value);
  }
  if (vlen == slen)
    return gauth__error_set_verify(err, GAUTH_REASON_BAD_AUTH_HEADER,
                                   "the %s header has scheme \"Bearer\" but "
                                   "no token",
                                   header_name);
  if (value[slen] != ' ' || value[slen + 1] == ' ' || value[slen + 1] == '\t')
    return gauth__error_set_verify(err, GAUTH_REASON_BAD_AUTH_HEADER,
                                   "the %s header must be \"Bearer\", one "
                                   "space, then the token",
                                   header_name);
  i = slen + 1;
  end = vlen;
  if (scan) {
    end = i;
    while (end < vlen && is_token68_char(value[end])) end++;
    while (end < vlen && value[end] == '=') end++;
  }
  if (end != vlen)
    return gauth__error_set_verify(err, GAUTH_REASON_BAD_AUTH_HEADER,
                                   "the %s header's token has a character "
                                   "no token may have at offset %zu",
                                   header_name, end - i);
  *tok = value + i;
  *len = vlen - i;
  return GAUTH_OK;
}

gauth_status gauth__receiver_bearer(const gauth_request *req, int scan,
                                    const char **tok, size_t *len,
                                    gauth_error *err) {
  size_t vlen;
  const char *name = "X-Serverless-Authorization";
  const char *v = gauth__receiver_header(req, HDR_SERVERLESS, &vlen);
  if (v == NULL) {
    name = "Authorization";
    v = gauth__receiver_header(req, HDR_AUTHORIZATION, &vlen);
  }
  if (v == NULL) {
    *tok = NULL;
    *len = 0;
    return gauth__error_set_verify(err, GAUTH_REASON_NO_CREDENTIALS,
                                   "the request has no Authorization header");
  }
  return gauth__receiver_parse_bearer(v, vlen, name, scan, tok, len, err);
}

static int all_digits(const char *s, size_t n) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* A project id (6-30 of [a-z0-9-], starting with a letter), or a legacy
 * domain-scoped one ("example.com:my-project"). Lenient on the lengths:
 * IAP compares the audience exactly, this only catches wrong shapes. */
static int project_id_valid(const char *s) {
  const char *colon = strchr(s, ':');
  size_t i, n;
  if (colon != NULL) {
    if (colon == s) return 0;
    for (i = 0; s + i < colon; i++)
      if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
            s[i] == '.' || s[i] == '-'))
        return 0;
    s = colon + 1;
  }
  n = strlen(s);
  if (n == 0 || n > 63 || s[0] < 'a' || s[0] > 'z') return 0;
  for (i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
          s[i] == '-'))
      return 0;
  return s[n - 1] != '-';
}

int gauth__receiver_iap_audience_valid(const char *aud) {
  const char *p = gauth__skip_prefix(aud, "/projects/"), *slash, *rest;
  if (p == NULL) return 0;
  slash = strchr(p, '/');
  if (slash == NULL || !all_digits(p, (size_t)(slash - p))) return 0;
  if ((rest = gauth__skip_prefix(slash, "/apps/")) != NULL)
    return project_id_valid(rest);
  if ((rest = gauth__skip_prefix(slash, "/global/backendServices/")) != NULL)
    return all_digits(rest, strlen(rest));
  return 0;
}

gauth_caller_kind gauth__receiver_kind(const gauth_request *req,
                                       gauth_receive_mode mode) {
  const char *v;
  size_t n;
  if (mode == GAUTH_RECEIVE_PUBSUB_PUSH) return GAUTH_CALLER_PUBSUB_PUSH;
  if (mode == GAUTH_RECEIVE_IAP) return GAUTH_CALLER_IAP;
  v = gauth__receiver_header(req, HDR_SCHEDULER, &n);
  if (v != NULL && n == 4 && strncasecmp(v, "true", 4) == 0)
    return GAUTH_CALLER_CLOUD_SCHEDULER;
  if (gauth__receiver_header(req, HDR_TASKS_QUEUE, &n) != NULL)
    return GAUTH_CALLER_CLOUD_TASKS;
  return GAUTH_CALLER_GOOGLE;
}

int gauth__receiver_signature_removed(const char *tok, size_t len) {
  static const char sig[] = "." GAUTH__SIGNATURE_REMOVED;
  const size_t n = sizeof(sig) - 1;
  const char *first;
  if (len <= n || memcmp(tok + len - n, sig, n) != 0) return 0;
  /* Exactly three segments: one dot before the signature's. */
  first = memchr(tok, '.', len - n);
  return first != NULL &&
         memchr(first + 1, '.', len - n - (size_t)(first + 1 - tok)) == NULL;
}

/* ---- building --------------------------------------------------------- */

static void receiver_destroy(gauth_receiver *r) {
  if (r == NULL) return;
  gauth_verifier_free(r->google);
  gauth_verifier_free(r->iap);
  gauth__strv_free(r->audiences);
  gauth__strv_free(r->iap_audiences);
  gauth__strv_free(r->allowed_emails);
  gauth__strv_free(r->allowed_domains);
  free(r->realm);
  free(r);
}

static gauth_status make_verifier(gauth_verifier **out,
                                  gauth_verifier_preset preset,
                                  char **audiences,
                                  const gauth_receiver_options *o,
                                  gauth_error *err) {
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  vo.preset = preset;
  vo.audiences = (const char *const *)audiences;
  vo.leeway_seconds = o->leeway_seconds;
  vo.clock = o->clock;
  vo.clock_userdata = o->clock_userdata;
  vo.http = o->http;
  vo.token_cache_entries = o->token_cache_entries < 0
                               ? GAUTH__RECEIVER_DEFAULT_CACHE
                               : (size_t)o->token_cache_entries;
  return gauth_verifier_new(out, &vo, err);
}

/* Cloud Run's port: the option, else $PORT when $K_SERVICE says this is
 * Cloud Run. 0: none. */
static gauth_status cloud_run_port(const gauth_receiver_options *o,
                                   unsigned int *out, gauth_error *err) {
  const char *port;
  char *end;
  unsigned long v;
  *out = 0;
  if (o->cloud_run_port != 0) {
    if (o->cloud_run_port > 65535)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "receiver options: cloud_run_port %u is not a "
                              "port",
                              o->cloud_run_port);
    *out = o->cloud_run_port;
    return GAUTH_OK;
  }
  if (getenv("K_SERVICE") == NULL || (port = getenv("PORT")) == NULL)
    return GAUTH_OK;
  errno = 0;
  v = strtoul(port, &end, 10);
  if (errno != 0 || end == port || *end != '\0' || v == 0 || v > 65535)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "receiver: $PORT \"%.16s\" is not a port", port);
  *out = (unsigned int)v;
  return GAUTH_OK;
}

static gauth_status receiver_setup(gauth_receiver *r,
                                   const gauth_receiver_options *o,
                                   gauth_error *err) {
  gauth_status st;
  size_t i;
  st = gauth__strv_copy(o->audiences, "receiver options", "audience",
                        &r->audiences, err);
  if (st == GAUTH_OK)
    st = gauth__strv_copy(o->iap_audiences, "receiver options", "IAP audience",
                          &r->iap_audiences, err);
  if (st == GAUTH_OK)
    st = gauth__strv_copy(o->allowed_emails, "receiver options",
                          "allowed email", &r->allowed_emails, err);
  if (st == GAUTH_OK)
    st = gauth__strv_copy(o->allowed_domains, "receiver options",
                          "allowed domain", &r->allowed_domains, err);
  if (st != GAUTH_OK) return st;
  if (r->audiences == NULL && r->iap_audiences == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "receiver options: give audiences (ID tokens) or "
                            "iap_audiences (IAP), or both");
  for (i = 0; r->iap_audiences != NULL && r->iap_audiences[i] != NULL; i++)
    if (!gauth__receiver_iap_audience_valid(r->iap_audiences[i]))
      return gauth__error_set(
          err, GAUTH_E_INVALID_ARG,
          "receiver options: IAP audience \"%.200s\" is neither "
          "/projects/NUMBER/apps/PROJECT_ID nor "
          "/projects/NUMBER/global/backendServices/ID",
          r->iap_audiences[i]);
  for (i = 0; r->allowed_emails != NULL && r->allowed_emails[i] != NULL; i++)
    if (strchr(r->allowed_emails[i], '@') == NULL)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "receiver options: allowed email \"%.200s\" "
                              "has no '@'",
                              r->allowed_emails[i]);
  for (i = 0; r->allowed_domains != NULL && r->allowed_domains[i] != NULL; i++)
    if (strchr(r->allowed_domains[i], '@') != NULL)
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "receiver options: allowed domain \"%.200s\" "
                              "holds an '@' (give the part after it)",
                              r->allowed_domains[i]);
  if (o->realm != NULL) {
    r->realm = strdup(o->realm);
    if (r->realm == NULL) return gauth__error_nomem(err);
  }
  r->trust_cloud_run = o->trust_cloud_run != 0;
  r->max_body_bytes = o->max_body_bytes != 0 ? o->max_body_bytes
                                             : GAUTH__RECEIVER_DEFAULT_MAX_BODY;
  st = cloud_run_port(o, &r->cloud_run_port, err);
  if (st == GAUTH_OK && r->audiences != NULL) {
    st = make_verifier(&r->google, GAUTH_VERIFIER_GOOGLE, r->audiences, o, err);
    if (st != GAUTH_OK) gauth__error_prefix(err, "receiver");
  }
  if (st == GAUTH_OK && r->iap_audiences != NULL) {
    st = make_verifier(&r->iap, GAUTH_VERIFIER_IAP, r->iap_audiences, o, err);
    if (st != GAUTH_OK) gauth__error_prefix(err, "receiver (IAP)");
  }
  return st;
}

gauth_status gauth_receiver_new(gauth_receiver **out,
                                const gauth_receiver_options *opts,
                                gauth_error *err) {
  gauth_receiver_options full = GAUTH_RECEIVER_OPTIONS_INIT;
  gauth_receiver *r;
  gauth_status st;
  if (out == NULL || opts == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_receiver_new: out and opts must not be "
                            "NULL");
  *out = NULL;
  st = gauth__abi_read(&full, sizeof(full), opts, &gauth__abi_receiver_options,
                       err);
  if (st != GAUTH_OK) return st;
  r = calloc(1, sizeof(*r));
  if (r == NULL) return gauth__error_nomem(err);
  gauth__ref_init(&r->refs);
  st = receiver_setup(r, &full, err);
  if (st != GAUTH_OK) {
    receiver_destroy(r);
    return st;
  }
  gauth_error_clear(err);
  *out = r;
  return GAUTH_OK;
}

void gauth_receiver_up_ref(gauth_receiver *r) {
  if (r != NULL) gauth__ref_up(&r->refs);
}

void gauth_receiver_free(gauth_receiver *r) {
  if (r == NULL) return;
  if (!gauth__ref_down(&r->refs)) return;
  receiver_destroy(r);
}

gauth_status gauth_receiver_refresh_keys(gauth_receiver *r, gauth_error *err) {
  gauth_status st = GAUTH_OK;
  if (r == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_receiver_refresh_keys: receiver is NULL");
  if (r->google != NULL) st = gauth_verifier_refresh_keys(r->google, err);
  if (st == GAUTH_OK && r->iap != NULL) {
    st = gauth_verifier_refresh_keys(r->iap, err);
    if (st != GAUTH_OK) gauth__error_prefix(err, "IAP keys");
  }
  if (st == GAUTH_OK) gauth_error_clear(err);
  return st;
}

/* ---- verifying ------------------------------------------------------------
 */

/* A rejection: reason and status on e. */
static gauth_status reject(gauth_error *e, int http_status, const char *reason,
                           const char *fmt, ...) GAUTH_PRINTF(4, 5);
static gauth_status reject(gauth_error *e, int http_status, const char *reason,
                           const char *fmt, ...) {
  char msg[GAUTH_ERROR_MESSAGE_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  gauth__error_set_verify(e, reason, "%s", msg);
  e->http_status = http_status;
  return GAUTH_E_VERIFY;
}

/* The HTTP status for an error of the token's verification. */
static int status_for(const gauth_error *e) {
  if (e->code == GAUTH_E_VERIFY)
    return strcmp(e->reason, GAUTH_REASON_KEYS_UNAVAILABLE) == 0 ? 503 : 401;
  if (e->code == GAUTH_E_TOO_LARGE) return 413;
  return 500;
}

static const char *domain_of(const char *email) {
  const char *at = strrchr(email, '@');
  return at == NULL ? NULL : at + 1;
}

/* Local part exact, domain ignoring case (domains are case-insensitive;
 * local parts in principle are not). */
static int email_eq(const char *a, const char *b) {
  const char *da = domain_of(a), *db = domain_of(b);
  if (da == NULL || db == NULL) return 0;
  return da - a == db - b && strncmp(a, b, (size_t)(da - a)) == 0 &&
         strcasecmp(da, db) == 0;
}

static int caller_listed(const gauth_receiver *r, const char *email) {
  const char *dom = domain_of(email);
  size_t i;
  for (i = 0; r->allowed_emails != NULL && r->allowed_emails[i] != NULL; i++)
    if (email_eq(email, r->allowed_emails[i])) return 1;
  for (i = 0; dom != NULL && r->allowed_domains != NULL &&
              r->allowed_domains[i] != NULL;
       i++)
    if (strcasecmp(dom, r->allowed_domains[i]) == 0) return 1;
  return 0;
}

/* The policy on the caller: the allow lists, and a verified email where one
 * is needed. IAP's assertion has no email_verified: IAP signs the identity
 * it authenticated. */
static gauth_status check_caller(const gauth_receiver *r, const gauth_claims *c,
                                 gauth_receive_mode mode, gauth_error *e) {
  const char *email = NULL;
  int lists = r->allowed_emails != NULL || r->allowed_domains != NULL;
  int verified = 0;
  if (!lists && mode != GAUTH_RECEIVE_PUBSUB_PUSH) return GAUTH_OK;
  if (gauth_claims_get_string(c, "email", &email, NULL) != GAUTH_OK ||
      email[0] == '\0')
    return reject(
        e, 403, GAUTH_REASON_CALLER_NOT_ALLOWED,
        "the token has no \"email\" claim, and %s needs the "
        "caller's email%s",
        mode == GAUTH_RECEIVE_PUBSUB_PUSH ? "Pub/Sub push" : "the allow list",
        mode == GAUTH_RECEIVE_IAP ? ""
                                  : " (an ID token minted with includeEmail / "
                                    "format=full carries it)");
  if (mode != GAUTH_RECEIVE_IAP &&
      (gauth_claims_get_bool(c, "email_verified", &verified, NULL) !=
           GAUTH_OK ||
       !verified))
    return reject(e, 403, GAUTH_REASON_EMAIL_NOT_VERIFIED,
                  "the caller's email %.200s is not verified (the token's "
                  "\"email_verified\" is not true)",
                  email);
  if (lists && !caller_listed(r, email))
    return reject(e, 403, GAUTH_REASON_CALLER_NOT_ALLOWED,
                  "caller %.200s is not allowed: not in allowed_emails, "
                  "and its domain not in allowed_domains",
                  email);
  return GAUTH_OK;
}

/* The first of the token's audiences that the list accepts (the verifier
 * checked that there is one). */
static const char *matched_audience(const gauth_claims *c, char **list) {
  size_t i, j, n = gauth_claims_audience_count(c);
  for (i = 0; i < n; i++) {
    const char *a = gauth_claims_audience(c, i);
    for (j = 0; a != NULL && list != NULL && list[j] != NULL; j++)
      if (strcmp(a, list[j]) == 0) return a;
  }
  return NULL;
}

/* A token whose signature Cloud Run's IAM check removed: accepted only
 * under trust_cloud_run, on Cloud Run's port, with every claim check. */
static gauth_status verify_signature_removed(gauth_receiver *r,
                                             const gauth_request *req,
                                             const char *tok, size_t len,
                                             gauth_claims **claims,
                                             gauth_error *e) {
  if (!r->trust_cloud_run)
    return reject(e, 401, GAUTH_REASON_SIGNATURE_REMOVED,
                  "the token's signature is %s: Cloud Run's IAM check "
                  "(\"Require authentication\") verified the token and "
                  "removed its signature, which cannot be verified again; "
                  "to accept such tokens behind Cloud Run, set the "
                  "receiver's trust_cloud_run (such requests are then "
                  "accepted on Cloud Run's port only)",
                  GAUTH__SIGNATURE_REMOVED);
  if (r->cloud_run_port == 0)
    return reject(e, 401, GAUTH_REASON_SIGNATURE_REMOVED,
                  "the token's signature was removed by Cloud Run's IAM "
                  "check; trust_cloud_run is set, but no Cloud Run port is "
                  "known ($K_SERVICE or $PORT unset and cloud_run_port 0)");
  if (req->local_port != r->cloud_run_port)
    return reject(e, 401, GAUTH_REASON_SIGNATURE_REMOVED,
                  "the token's signature was removed, and the request did "
                  "not arrive on Cloud Run's port %u%s: only Cloud Run's "
                  "front end may deliver such tokens",
                  r->cloud_run_port,
                  req->local_port == 0 ? " (its port is unknown)" : "");
  if (gauth__verifier_check_unsigned(r->google, tok, len, claims, e) !=
      GAUTH_OK) {
    e->http_status = status_for(e);
    return e->code;
  }
  return GAUTH_OK;
}

static gauth_status caller_new(gauth_caller **out, gauth_claims *claims,
                               gauth_error *e) {
  gauth_caller *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    gauth_claims_free(claims);
    gauth__error_nomem(e);
    e->http_status = 500;
    return GAUTH_E_NOMEM;
  }
  c->claims = claims;
  *out = c;
  return GAUTH_OK;
}

static gauth_status verify_request(gauth_receiver *r, const gauth_request *req,
                                   gauth_receive_mode mode, gauth_caller **out,
                                   gauth_error *e) {
  gauth_verifier *v = mode == GAUTH_RECEIVE_IAP ? r->iap : r->google;
  gauth_claims *claims = NULL;
  gauth_caller *c;
  const char *tok;
  size_t len;
  int sig_verified = 1;
  gauth_status st;

  if (v == NULL)
    return gauth__error_set(
        e, GAUTH_E_INVALID_ARG, "gauth_receiver_verify: this receiver has %s",
        mode == GAUTH_RECEIVE_IAP ? "no iap_audiences (IAP is not configured)"
                                  : "no audiences (only IAP is configured)");
  /* The size first: it costs nothing and bounds everything after. */
  if (mode == GAUTH_RECEIVE_PUBSUB_PUSH && req->body_len > r->max_body_bytes) {
    reject(e, 413, GAUTH_REASON_BODY_TOO_LARGE,
           "the push body (%zu bytes) is over the limit of %zu bytes",
           req->body_len, r->max_body_bytes);
    e->code = GAUTH_E_TOO_LARGE;
    return GAUTH_E_TOO_LARGE;
  }

  if (mode == GAUTH_RECEIVE_IAP) {
    tok = gauth__receiver_header(req, HDR_IAP, &len);
    if (tok == NULL)
      return reject(e, 401, GAUTH_REASON_NO_CREDENTIALS,
                    "the request has no x-goog-iap-jwt-assertion header (is "
                    "it behind IAP?)");
    if (len == 0)
      return reject(e, 401, GAUTH_REASON_BAD_AUTH_HEADER,
                    "the x-goog-iap-jwt-assertion header is empty");
  } else if (gauth__receiver_bearer(req, 0, &tok, &len, e) != GAUTH_OK) {
    e->http_status = 401;
    return GAUTH_E_VERIFY;
  }

  if (mode != GAUTH_RECEIVE_IAP &&
      gauth__receiver_signature_removed(tok, len)) {
    st = verify_signature_removed(r, req, tok, len, &claims, e);
    sig_verified = 0;
  } else {
    st = gauth_verifier_verify(v, tok, len, &claims, e);
    if (st != GAUTH_OK) e->http_status = status_for(e);
  }
  if (st != GAUTH_OK) {
    /* The characters of the token are checked only now: a token that
     * passed is base64url and dots (the JWS parser is strict), and the
     * scan was half the cost of a request answered from the token cache.
     * A refused one may say that its header is what is wrong. */
    if (mode != GAUTH_RECEIVE_IAP &&
        gauth__receiver_bearer(req, 1, &tok, &len, e) != GAUTH_OK) {
      e->http_status = 401;
      return GAUTH_E_VERIFY;
    }
    return st;
  }

  st = check_caller(r, claims, mode, e);
  if (st != GAUTH_OK) {
    gauth_claims_free(claims);
    return st;
  }
  st = caller_new(&c, claims, e);
  if (st != GAUTH_OK) return st;
  c->signature_verified = sig_verified;
  c->kind = gauth__receiver_kind(req, mode);
  c->audience = matched_audience(
      claims, mode == GAUTH_RECEIVE_IAP ? r->iap_audiences : r->audiences);

  if (mode == GAUTH_RECEIVE_PUBSUB_PUSH) {
    st = gauth__pubsub_push_parse(req->body, req->body_len, r->max_body_bytes,
                                  &c->push, e);
    if (st != GAUTH_OK) {
      e->http_status = st == GAUTH_E_VERIFY      ? 400
                       : st == GAUTH_E_TOO_LARGE ? 413
                                                 : 500;
      gauth_caller_free(c);
      return st;
    }
  }
  *out = c;
  return GAUTH_OK;
}

gauth_status gauth_receiver_verify(gauth_receiver *r, const gauth_request *req,
                                   gauth_receive_mode mode, gauth_caller **out,
                                   gauth_error *err) {
  gauth_request full = GAUTH_REQUEST_INIT;
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st;

  if (out != NULL) *out = NULL;
  if (r == NULL || req == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_receiver_verify: receiver, request and out "
                            "must not be NULL");
  if (mode != GAUTH_RECEIVE_BEARER && mode != GAUTH_RECEIVE_PUBSUB_PUSH &&
      mode != GAUTH_RECEIVE_IAP)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_receiver_verify: unknown mode %d",
                            (int)mode);
  st = gauth__abi_read(&full, sizeof(full), req, &gauth__abi_request, err);
  if (st != GAUTH_OK) return st;
  st = verify_request(r, &full, mode, out, &e);
  if (st == GAUTH_OK) {
    gauth_error_clear(err);
    return GAUTH_OK;
  }
  if (e.http_status == 0) e.http_status = 500;
  gauth__error_copy(err, &e);
  return st;
}

/* ---- the challenge --------------------------------------------------------
 */

/* A bounded writer: never past size, always NUL-terminated, and what it
 * holds is always a prefix of the full text (once a byte does not fit,
 * nothing more is written). */
typedef struct out_buf {
  char *p;
  size_t size, used;
  int full;
} out_buf;

static void put_char(out_buf *o, char ch) {
  if (o->full || o->used + 1 >= o->size) {
    o->full = 1;
    return;
  }
  o->p[o->used++] = ch;
  o->p[o->used] = '\0';
}

static void put(out_buf *o, const char *s) {
  for (; *s != '\0'; s++) put_char(o, *s);
}

/* A quoted-string (RFC 9110 5.6.4) holding only what RFC 6750 allows in
 * its attributes (%x20-21 / %x23-5B / %x5D-7E): '"' and '\' are escaped,
 * control and non-ASCII bytes become '?'. An escape is written whole or
 * not at all, so a cut never ends in a lone backslash. */
static void put_quoted(out_buf *o, const char *s) {
  put_char(o, '"');
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      if (o->used + 2 >= o->size) o->full = 1;
      put_char(o, '\\');
      put_char(o, (char)ch);
    } else {
      put_char(o, ch >= 0x20 && ch < 0x7f ? (char)ch : '?');
    }
  }
  put_char(o, '"');
}

/* A short description of a rejection, from its reason alone (never from
 * the message, which may echo claims). */
static const char *describe(const char *reason) {
  static const struct {
    const char *reason, *text;
  } table[] = {
      {GAUTH_REASON_BAD_AUTH_HEADER,
       "The Authorization header is not a Bearer token"},
      {GAUTH_REASON_SIGNATURE_REMOVED,
       "The token's signature was removed and is not trusted here"},
      {GAUTH_REASON_CALLER_NOT_ALLOWED, "The caller is not allowed"},
      {GAUTH_REASON_EMAIL_NOT_VERIFIED, "The caller's email is not verified"},
      {GAUTH_REASON_EXPIRED, "The token expired"},
      {GAUTH_REASON_NOT_YET_VALID, "The token is not yet valid"},
      {GAUTH_REASON_ISSUED_IN_FUTURE, "The token is issued in the future"},
      {GAUTH_REASON_AUDIENCE_MISMATCH, "The token is for another audience"},
      {GAUTH_REASON_ISSUER_MISMATCH, "The token's issuer is not accepted"},
      {GAUTH_REASON_SIGNATURE_INVALID, "The token's signature is invalid"},
      {GAUTH_REASON_UNKNOWN_KID, "The token's key is unknown"},
      {GAUTH_REASON_ALG_NOT_ALLOWED, "The token's algorithm is not accepted"},
      {GAUTH_REASON_MALFORMED, "The token is malformed"},
      {GAUTH_REASON_TOO_LARGE, "The token is too large"},
      {GAUTH_REASON_LIFETIME_TOO_LONG, "The token's lifetime is too long"},
      {GAUTH_REASON_MISSING_CLAIM, "The token lacks a required claim"},
  };
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(table); i++)
    if (strcmp(reason, table[i].reason) == 0) return table[i].text;
  return "The token is invalid";
}

const char *gauth_receiver_challenge(const gauth_receiver *r,
                                     const gauth_error *err, char *buf,
                                     size_t size) {
  out_buf o;
  const char *realm = r != NULL ? r->realm : NULL;
  if (buf == NULL || size == 0) return NULL;
  buf[0] = '\0';
  if (err == NULL || err->code == GAUTH_OK ||
      (err->http_status != 401 && err->http_status != 403))
    return NULL;
  o.p = buf;
  o.size = size;
  o.used = 0;
  o.full = 0;
  put(&o, "Bearer");
  if (realm != NULL) {
    put(&o, " realm=");
    put_quoted(&o, realm);
  }
  if (strcmp(err->reason, GAUTH_REASON_NO_CREDENTIALS) == 0) return buf;
  put(&o, realm != NULL ? ", error=\"" : " error=\"");
  put(&o, err->http_status == 403 ? "insufficient_scope" : "invalid_token");
  put(&o, "\", error_description=");
  put_quoted(&o, describe(err->reason));
  return buf;
}

/* ---- the caller -----------------------------------------------------------
 */

void gauth_caller_free(gauth_caller *c) {
  if (c == NULL) return;
  gauth__pubsub_push_cleanup(&c->push);
  gauth_claims_free(c->claims);
  free(c);
}

gauth_caller_kind gauth_caller_get_kind(const gauth_caller *c) {
  return c == NULL ? GAUTH_CALLER_GOOGLE : c->kind;
}

const char *gauth_caller_email(const gauth_caller *c) {
  const char *v = NULL;
  if (c == NULL ||
      gauth_claims_get_string(c->claims, "email", &v, NULL) != GAUTH_OK)
    return NULL;
  return v;
}

const char *gauth_caller_subject(const gauth_caller *c) {
  return c == NULL ? NULL : gauth_claims_subject(c->claims);
}

const char *gauth_caller_audience(const gauth_caller *c) {
  return c == NULL ? NULL : c->audience;
}

const char *gauth_caller_issuer(const gauth_caller *c) {
  return c == NULL ? NULL : gauth_claims_issuer(c->claims);
}

int gauth_caller_signature_verified(const gauth_caller *c) {
  return c == NULL ? 0 : c->signature_verified;
}

const gauth_claims *gauth_caller_claims(const gauth_caller *c) {
  return c == NULL ? NULL : c->claims;
}

const unsigned char *gauth_caller_pubsub_data(const gauth_caller *c,
                                              size_t *len) {
  if (len != NULL) *len = c == NULL ? 0 : c->push.data_len;
  return c == NULL ? NULL : c->push.data;
}

const char *gauth_caller_pubsub_message_id(const gauth_caller *c) {
  return c == NULL ? NULL : c->push.message_id;
}

const char *gauth_caller_pubsub_publish_time(const gauth_caller *c) {
  return c == NULL ? NULL : c->push.publish_time;
}

const char *gauth_caller_pubsub_subscription(const gauth_caller *c) {
  return c == NULL ? NULL : c->push.subscription;
}

const char *gauth_caller_pubsub_ordering_key(const gauth_caller *c) {
  return c == NULL ? NULL : c->push.ordering_key;
}

int gauth_caller_pubsub_delivery_attempt(const gauth_caller *c) {
  return c == NULL ? 0 : c->push.delivery_attempt;
}

const char *gauth_caller_pubsub_attribute(const gauth_caller *c,
                                          const char *key) {
  size_t i;
  if (c == NULL || key == NULL) return NULL;
  for (i = 0; i < c->push.attr_count; i++)
    if (strcmp(c->push.attr[i]->string, key) == 0)
      return c->push.attr[i]->valuestring;
  return NULL;
}

size_t gauth_caller_pubsub_attribute_count(const gauth_caller *c) {
  return c == NULL ? 0 : c->push.attr_count;
}

const char *gauth_caller_pubsub_attribute_at(const gauth_caller *c, size_t i,
                                             const char **value) {
  if (value != NULL) *value = NULL;
  if (c == NULL || i >= c->push.attr_count) return NULL;
  if (value != NULL) *value = c->push.attr[i]->valuestring;
  return c->push.attr[i]->string;
}
