/* mdtree: the metadata document and Google's way of reading it. See
 * mdtree.h for the rules; this file follows them in four parts: paths
 * (kebab-case segments to camelCase keys), rendering (listings, JSON,
 * text), ETags, and waiting (one mutex, one condition variable that every
 * change broadcasts; each waiter checks its own path's ETag). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "mdtree.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MD_PREFIX "/computeMetadata/v1/"
#define CT_TEXT "application/text"
#define CT_JSON "application/json"
#define CT_HTML "text/html; charset=UTF-8"

#define ATTR_KEY_MAX 127              /* "less than 128 bytes" */
#define ATTR_VALUE_MAX (256u * 1024u) /* 256 KiB a value */
#define ATTR_TOTAL_MAX (512u * 1024u) /* "less than 512 KB" in all */
#define RETRY_AFTER_SECONDS 1

struct mdtree {
  pthread_mutex_t mu;
  pthread_cond_t changed; /* broadcast on every change (CLOCK_MONOTONIC) */
  pthread_cond_t left;    /* a waiter left while stopping */
  cJSON *doc;
  size_t max_waiters, waiters;
  unsigned int max_wait;
  unsigned long generation; /* bumped by every change */
  int stopping;
};

/* ---- small helpers --------------------------------------------------- */

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) {
    fprintf(stderr, "mdtree: out of memory\n");
    abort();
  }
  return p;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

/* A growing string. */
typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (np == NULL) {
      fprintf(stderr, "mdtree: out of memory\n");
      abort();
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static char *buf_take(buf *b, size_t *len) {
  if (b->p == NULL) buf_add(b, "", 0);
  if (len) *len = b->len;
  return b->p;
}

static int truthy(const char *v) {
  return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* ---- ETags -------------------------------------------------------------- */

void mdtree_etag(const char *data, size_t len, char out[17]) {
  /* FNV-1a, 64 bits: stable across runs and machines, and 16 hex digits
   * as Google's metadata ETags are. Not a security property: an ETag only
   * tells a watcher whether what it saw changed. */
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)data[i];
    h *= 0x100000001b3ull;
  }
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- sorting ------------------------------------------------------------ */

static int cmp_items(const void *a, const void *b) {
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
  return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* Sorts every object below o by key (Google lists and prints them so). */
static void sort_tree(cJSON *o) {
  cJSON *c;
  size_t n = 0, i;
  cJSON **v;
  if (!cJSON_IsObject(o) && !cJSON_IsArray(o)) return;
  for (c = o->child; c; c = c->next) {
    sort_tree(c);
    n++;
  }
  if (!cJSON_IsObject(o) || n < 2) return;
  v = xmalloc(n * sizeof(*v));
  for (i = 0, c = o->child; c; c = c->next) v[i++] = c;
  qsort(v, n, sizeof(*v), cmp_items);
  for (i = 0; i < n; i++) {
    v[i]->prev = i ? v[i - 1] : v[n - 1]; /* cJSON: child->prev is last */
    v[i]->next = i + 1 < n ? v[i + 1] : NULL;
  }
  o->child = v[0];
  free(v);
}

/* ---- paths -------------------------------------------------------------- */

/* Keys below these are names, used verbatim as path segments. */
static int names_below(const char *key) {
  return key != NULL && (strcmp(key, "attributes") == 0 ||
                         strcmp(key, "serviceAccounts") == 0 ||
                         strcmp(key, "guestAttributes") == 0 ||
                         strcmp(key, "partnerAttributes") == 0);
}

/* The kebab-case path segment of a camelCase key. */
static void kebab(const char *key, char *out, size_t n) {
  size_t o = 0;
  for (const char *k = key; *k && o + 2 < n; k++) {
    if (*k >= 'A' && *k <= 'Z') {
      out[o++] = '-';
      out[o++] = (char)(*k - 'A' + 'a');
    } else {
      out[o++] = *k;
    }
  }
  out[o] = '\0';
}

/* 1 when seg names key: verbatim below a map of names; else the kebab-case
 * form ("_" taken for "-": universe/universe_domain is accepted too). */
static int seg_matches(const char *key, const char *seg, size_t seglen,
                       int verbatim) {
  char k[512];
  if (verbatim) return strlen(key) == seglen && memcmp(key, seg, seglen) == 0;
  kebab(key, k, sizeof(k));
  for (size_t i = 0; i < seglen; i++) {
    char c = seg[i] == '_' ? '-' : seg[i];
    if (k[i] == '\0' || c != k[i]) return 0;
  }
  return k[seglen] == '\0';
}

static int is_scalar(const cJSON *v) {
  return !cJSON_IsObject(v) && !cJSON_IsArray(v);
}

/* A directory: an object, or an array holding objects or arrays. An array
 * of scalars (tags, scopes) is a leaf. */
static int is_dir(const cJSON *v) {
  if (cJSON_IsObject(v)) return 1;
  if (!cJSON_IsArray(v)) return 0;
  for (const cJSON *c = v->child; c; c = c->next)
    if (!is_scalar(c)) return 1;
  return 0;
}

/* Where a path leads. */
typedef struct walk {
  cJSON *node;       /* NULL: nothing there */
  int verbatim;      /* node's keys are names */
  int account;       /* node is an account of instance.serviceAccounts */
  const char *email; /* account: its "email" */
  char dynamic[16];  /* "token" / "identity" below an account, else "" */
} walk;

/* Follows path (segments separated by "/", no trailing slash) from the
 * root. 0 when found (w->node, or w->dynamic), -1 otherwise. */
static int walk_path(cJSON *doc, const char *path, size_t len, walk *w) {
  cJSON *node = doc;
  int verbatim = 0, account = 0;
  const char *p = path, *end = path + len;
  memset(w, 0, sizeof(*w));
  while (p < end) {
    const char *slash = memchr(p, '/', (size_t)(end - p));
    size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
    cJSON *next = NULL;
    int next_verbatim = 0;
    // cppcheck-suppress knownConditionTrueFalse ; memchr finds a slash at p
    if (n == 0) return -1; /* "a//b" */
    if (account && slash == NULL &&
        ((n == 5 && memcmp(p, "token", 5) == 0) ||
         (n == 8 && memcmp(p, "identity", 8) == 0))) {
      const cJSON *e = cJSON_GetObjectItemCaseSensitive(node, "email");
      w->email = cJSON_IsString(e) ? e->valuestring : NULL;
      if (w->email == NULL) return -1;
      memcpy(w->dynamic, p, n);
      w->dynamic[n] = '\0';
      return 0;
    }
    if (cJSON_IsObject(node)) {
      for (cJSON *c = node->child; c; c = c->next)
        if (c->string && seg_matches(c->string, p, n, verbatim)) {
          next = c;
          break;
        }
      if (next != NULL) next_verbatim = !verbatim && names_below(next->string);
      account = verbatim && next != NULL && node->string != NULL &&
                strcmp(node->string, "serviceAccounts") == 0 &&
                cJSON_IsObject(next);
    } else if (cJSON_IsArray(node) && is_dir(node)) {
      size_t idx = 0, i;
      for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || i > 6) return -1;
        idx = idx * 10 + (size_t)(p[i] - '0');
      }
      if (n > 1 && p[0] == '0') return -1;
      next = cJSON_GetArrayItem(node, (int)idx);
      account = 0;
    } else {
      return -1;
    }
    if (next == NULL) return -1;
    node = next;
    verbatim = next_verbatim;
    p = slash ? slash + 1 : end;
  }
  w->node = node;
  w->verbatim = verbatim;
  w->account = account;
  return 0;
}

/* ---- rendering ---------------------------------------------------------- */

/* A scalar as text: a string as it is, a number as JSON writes it. */
static void scalar_text(const cJSON *v, buf *b) {
  if (cJSON_IsString(v) || cJSON_IsRaw(v)) {
    buf_str(b, v->valuestring ? v->valuestring : "");
  } else if (cJSON_IsNull(v)) {
    /* nothing */
  } else {
    char *s = cJSON_PrintUnformatted(v);
    if (s != NULL) buf_str(b, s);
    free(s);
  }
}

/* The entry name of a child: verbatim or kebab-case. */
static void entry_name(const cJSON *c, int verbatim, char *out, size_t n) {
  if (verbatim)
    snprintf(out, n, "%s", c->string);
  else
    kebab(c->string, out, n);
}

/* A directory's listing: one entry a line, "/" after a directory. An
 * account's adds its dynamic leaves. */
static void listing(const walk *w, buf *b) {
  const cJSON *node = w->node;
  char name[512];
  if (cJSON_IsArray(node)) {
    int i = 0;
    for (const cJSON *c = node->child; c; c = c->next, i++) {
      snprintf(name, sizeof(name), "%d%s\n", i, is_dir(c) ? "/" : "");
      buf_str(b, name);
    }
    return;
  }
  {
    /* Entries sorted: the tree's (sorted) plus, for an account, identity
     * and token, merged in order. */
    static const char *const extra[] = {"identity", "token"};
    size_t x = 0, nextra = w->account ? 2 : 0;
    for (const cJSON *c = node->child; c; c = c->next) {
      entry_name(c, w->verbatim, name, sizeof(name) - 2);
      while (x < nextra && strcmp(extra[x], name) < 0) {
        buf_str(b, extra[x++]);
        buf_str(b, "\n");
      }
      if (x < nextra && strcmp(extra[x], name) == 0) x++;
      buf_str(b, name);
      buf_str(b, is_dir(c) ? "/\n" : "\n");
    }
    while (x < nextra) {
      buf_str(b, extra[x++]);
      buf_str(b, "\n");
    }
  }
}

/* ?recursive=true&alt=text: "path value" lines. */
static void text_lines(const cJSON *v, int verbatim, const char *prefix,
                       buf *b) {
  char name[512];
  if (cJSON_IsObject(v)) {
    for (const cJSON *c = v->child; c; c = c->next) {
      buf p = {0};
      entry_name(c, verbatim, name, sizeof(name));
      if (prefix[0]) {
        buf_str(&p, prefix);
        buf_str(&p, "/");
      }
      buf_str(&p, name);
      text_lines(c, !verbatim && names_below(c->string), p.p, b);
      free(p.p);
    }
  } else if (cJSON_IsArray(v)) {
    int i = 0, dir = is_dir(v);
    for (const cJSON *c = v->child; c; c = c->next, i++) {
      if (dir) {
        char p[600];
        snprintf(p, sizeof(p), "%s%s%d", prefix, prefix[0] ? "/" : "", i);
        text_lines(c, 0, p, b);
      } else {
        text_lines(c, 0, prefix, b);
      }
    }
  } else {
    buf_str(b, prefix);
    if (prefix[0]) buf_str(b, " ");
    scalar_text(v, b);
    buf_str(b, "\n");
  }
}

static char *json_of(const cJSON *v, size_t *len) {
  char *s = cJSON_PrintUnformatted(v);
  if (s == NULL) {
    fprintf(stderr, "mdtree: out of memory\n");
    abort();
  }
  *len = strlen(s);
  return s;
}

/* ---- replies ------------------------------------------------------------ */

void mdtree_reply_clear(mdtree_reply *r) {
  if (r == NULL) return;
  free(r->body);
  free(r->location);
  free(r->account);
  memset(r, 0, sizeof(*r));
}

static void reply_set(mdtree_reply *r, int status, const char *ct, char *body,
                      size_t len) {
  free(r->body);
  r->status = status;
  r->content_type = ct;
  r->body = body;
  r->body_len = len;
}

/* Appends s with &, <, > and " escaped (a path shown in an HTML page). */
static void html_escaped(buf *b, const char *s, size_t max) {
  for (size_t i = 0; i < max && s[i]; i++) {
    switch (s[i]) {
      case '&': buf_str(b, "&amp;"); break;
      case '<': buf_str(b, "&lt;"); break;
      case '>': buf_str(b, "&gt;"); break;
      case '"': buf_str(b, "&quot;"); break;
      default: buf_add(b, &s[i], 1);
    }
  }
}

static void reply_not_found(mdtree_reply *r, const char *path) {
  buf b = {0};
  size_t len;
  buf_str(&b,
          "<!DOCTYPE html>\n<html lang=en>\n<title>Error 404 (Not Found)"
          "</title>\n<p><b>404.</b> <ins>That's an error.</ins>\n<p>The "
          "requested URL <code>" MD_PREFIX);
  html_escaped(&b, path, 300);
  buf_str(&b,
          "</code> was not found on this server. <ins>That's all we "
          "know.</ins>\n");
  char *body = buf_take(&b, &len);
  reply_set(r, 404, CT_HTML, body, len);
  r->etag[0] = '\0';
}

static void reply_bad_request(mdtree_reply *r, const char *why) {
  buf b = {0};
  size_t len;
  buf_str(&b,
          "<!DOCTYPE html>\n<html lang=en>\n<title>Error 400 (Bad Request)"
          "</title>\n<p><b>400.</b> <ins>That's an error.</ins>\n<p>Your "
          "client has issued a malformed or illegal request. ");
  html_escaped(&b, why, 200);
  buf_str(&b, " <ins>That's all we know.</ins>\n");
  char *body = buf_take(&b, &len);
  reply_set(r, 400, CT_HTML, body, len);
  r->etag[0] = '\0';
}

/* The answer of a path that exists. */
static void render(const walk *w, int recursive, const char *alt,
                   mdtree_reply *r) {
  const cJSON *v = w->node;
  size_t len;
  char *body;
  if (is_dir(v)) {
    if (recursive) {
      char *json = json_of(v, &len);
      mdtree_etag(json, len, r->etag);
      if (alt != NULL && strcmp(alt, "text") == 0) {
        buf b = {0};
        text_lines(v, w->verbatim, "", &b);
        free(json);
        body = buf_take(&b, &len);
        reply_set(r, 200, CT_TEXT, body, len);
      } else {
        reply_set(r, 200, CT_JSON, json, len);
      }
      return;
    }
    {
      buf b = {0};
      listing(w, &b);
      body = buf_take(&b, &len);
      mdtree_etag(body, len, r->etag);
    }
    if (alt != NULL && strcmp(alt, "json") == 0) {
      /* The listing as a JSON array of its entries. */
      cJSON *a = cJSON_CreateArray();
      char *line = body, *nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        cJSON_AddItemToArray(a, cJSON_CreateString(line));
        line = nl + 1;
      }
      free(body);
      body = json_of(a, &len);
      cJSON_Delete(a);
      reply_set(r, 200, CT_JSON, body, len);
    } else {
      reply_set(r, 200, CT_TEXT, body, len);
    }
    return;
  }
  /* A leaf. */
  {
    char *json = json_of(v, &len);
    int as_json;
    mdtree_etag(json, len, r->etag);
    /* instance/tags answers JSON unless asked for text, as on GCE. */
    as_json = alt != NULL
                  ? strcmp(alt, "json") == 0
                  : (v->string != NULL && strcmp(v->string, "tags") == 0 &&
                     cJSON_IsArray(v));
    if (as_json) {
      reply_set(r, 200, CT_JSON, json, len);
      return;
    }
    free(json);
    {
      buf b = {0};
      if (cJSON_IsArray(v)) {
        for (const cJSON *c = v->child; c; c = c->next) {
          scalar_text(c, &b);
          buf_str(&b, "\n");
        }
      } else {
        scalar_text(v, &b);
      }
      body = buf_take(&b, &len);
      reply_set(r, 200, CT_TEXT, body, len);
    }
  }
}

/* Directories answered without their trailing slash (no 301). */
static int answered_without_slash(const char *path, size_t len) {
  static const char *const dirs[] = {"instance", "project", "universe", "oauth",
                                     "instance/service-accounts"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
    if (strlen(dirs[i]) == len && memcmp(dirs[i], path, len) == 0) return 1;
  return 0;
}

/* Answers path under the lock, without waiting. */
static mdtree_result answer_locked(mdtree *t, const char *path, int recursive,
                                   const char *alt, mdtree_reply *r) {
  size_t len = strlen(path);
  int slash = len > 0 && path[len - 1] == '/';
  walk w;
  if (walk_path(t->doc, path, slash ? len - 1 : len, &w) != 0) {
    reply_not_found(r, path);
    return MDTREE_ANSWERED;
  }
  if (w.dynamic[0]) {
    if (slash) {
      reply_not_found(r, path);
      return MDTREE_ANSWERED;
    }
    free(r->account);
    r->account = xstrdup(w.email);
    snprintf(r->leaf, sizeof(r->leaf), "%s", w.dynamic);
    return MDTREE_DYNAMIC;
  }
  if (is_dir(w.node)) {
    if (!slash && len > 0 && !answered_without_slash(path, len)) {
      buf b = {0};
      size_t n;
      buf_str(&b, path);
      buf_str(&b, "/");
      free(r->location);
      r->location = buf_take(&b, &n);
      reply_set(r, 301, CT_HTML, xstrdup(""), 0);
      r->etag[0] = '\0';
      return MDTREE_ANSWERED;
    }
  } else if (slash) {
    reply_not_found(r, path);
    return MDTREE_ANSWERED;
  }
  render(&w, recursive, alt, r);
  return MDTREE_ANSWERED;
}

/* ---- the tree ----------------------------------------------------------- */

static cJSON *empty_document(void) {
  cJSON *d = cJSON_CreateObject();
  cJSON_AddObjectToObject(d, "instance");
  cJSON_AddObjectToObject(d, "oauth");
  cJSON_AddObjectToObject(d, "project");
  cJSON_AddObjectToObject(d, "universe");
  return d;
}

mdtree *mdtree_new(size_t max_waiters) {
  mdtree *t = calloc(1, sizeof(*t));
  pthread_condattr_t ca;
  if (t == NULL) return NULL;
  pthread_mutex_init(&t->mu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->changed, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&t->left, NULL);
  t->doc = empty_document();
  t->max_waiters = max_waiters;
  t->max_wait = MDTREE_MAX_WAIT_DEFAULT;
  return t;
}

void mdtree_shutdown(mdtree *t) {
  if (t == NULL) return;
  pthread_mutex_lock(&t->mu);
  t->stopping = 1;
  pthread_cond_broadcast(&t->changed);
  pthread_mutex_unlock(&t->mu);
}

void mdtree_free(mdtree *t) {
  if (t == NULL) return;
  pthread_mutex_lock(&t->mu);
  t->stopping = 1;
  pthread_cond_broadcast(&t->changed);
  while (t->waiters > 0) pthread_cond_wait(&t->left, &t->mu);
  pthread_mutex_unlock(&t->mu);
  cJSON_Delete(t->doc);
  pthread_cond_destroy(&t->changed);
  pthread_cond_destroy(&t->left);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

void mdtree_set_max_wait(mdtree *t, unsigned int seconds) {
  pthread_mutex_lock(&t->mu);
  t->max_wait = seconds ? seconds : 1;
  pthread_mutex_unlock(&t->mu);
}

/* After a change, under the lock. */
static void changed_locked(mdtree *t) {
  sort_tree(t->doc);
  t->generation++;
  pthread_cond_broadcast(&t->changed);
}

int mdtree_set_document(mdtree *t, cJSON *doc) {
  if (!cJSON_IsObject(doc)) {
    cJSON_Delete(doc);
    return -1;
  }
  pthread_mutex_lock(&t->mu);
  cJSON_Delete(t->doc);
  t->doc = doc;
  changed_locked(t);
  pthread_mutex_unlock(&t->mu);
  return 0;
}

void mdtree_update(mdtree *t, void (*fn)(cJSON *doc, void *arg), void *arg) {
  pthread_mutex_lock(&t->mu);
  fn(t->doc, arg);
  changed_locked(t);
  pthread_mutex_unlock(&t->mu);
}

cJSON *mdtree_copy(mdtree *t, const char *path) {
  cJSON *out = NULL;
  size_t len = path ? strlen(path) : 0;
  walk w;
  if (len > 0 && path[len - 1] == '/') len--;
  pthread_mutex_lock(&t->mu);
  if (walk_path(t->doc, path ? path : "", len, &w) == 0 && w.node != NULL)
    out = cJSON_Duplicate(w.node, 1);
  pthread_mutex_unlock(&t->mu);
  return out;
}

size_t mdtree_waiters(mdtree *t) {
  size_t n;
  pthread_mutex_lock(&t->mu);
  n = t->waiters;
  pthread_mutex_unlock(&t->mu);
  return n;
}

/* ---- attributes --------------------------------------------------------- */

static int key_ok(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > ATTR_KEY_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = k[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

int mdtree_attributes_check(const cJSON *changes, char *errbuf, size_t errlen) {
  const cJSON *c;
  if (!cJSON_IsObject(changes)) {
    snprintf(errbuf, errlen, "attributes must be a JSON object");
    return -1;
  }
  cJSON_ArrayForEach(c, changes) {
    if (c->string == NULL || !key_ok(c->string)) {
      snprintf(errbuf, errlen,
               "attribute key \"%.60s%s\" must match [a-zA-Z0-9-_]+ and be "
               "under 128 bytes",
               c->string ? c->string : "",
               c->string && strlen(c->string) > 60 ? "..." : "");
      return -1;
    }
    if (!cJSON_IsString(c) && !cJSON_IsNull(c)) {
      snprintf(errbuf, errlen,
               "attribute \"%s\" must be a string (or null to delete it)",
               c->string);
      return -1;
    }
    if (cJSON_IsString(c) && strlen(c->valuestring) > ATTR_VALUE_MAX) {
      snprintf(errbuf, errlen,
               "attribute \"%s\": value over 256 KiB (262144 bytes)",
               c->string);
      return -1;
    }
  }
  return 0;
}

int mdtree_merge_attributes(mdtree *t, const char *scope, const cJSON *changes,
                            cJSON **now, char *errbuf, size_t errlen) {
  cJSON *s, *attrs, *merged;
  const cJSON *c;
  size_t total = 0;
  if (now) *now = NULL;
  if (scope == NULL ||
      (strcmp(scope, "project") != 0 && strcmp(scope, "instance") != 0)) {
    snprintf(errbuf, errlen, "scope must be \"project\" or \"instance\"");
    return -1;
  }
  if (mdtree_attributes_check(changes, errbuf, errlen) != 0) return -1;
  pthread_mutex_lock(&t->mu);
  s = cJSON_GetObjectItemCaseSensitive(t->doc, scope);
  if (s == NULL) s = cJSON_AddObjectToObject(t->doc, scope);
  attrs = cJSON_GetObjectItemCaseSensitive(s, "attributes");
  /* Build the result aside: nothing changes unless all of it fits. */
  merged =
      cJSON_IsObject(attrs) ? cJSON_Duplicate(attrs, 1) : cJSON_CreateObject();
  cJSON_ArrayForEach(c, changes) {
    cJSON_DeleteItemFromObjectCaseSensitive(merged, c->string);
    if (cJSON_IsString(c))
      cJSON_AddItemToObject(merged, c->string,
                            cJSON_CreateString(c->valuestring));
  }
  cJSON_ArrayForEach(c, merged) {
    total +=
        strlen(c->string) + (cJSON_IsString(c) ? strlen(c->valuestring) : 0);
  }
  if (total >= ATTR_TOTAL_MAX) {
    pthread_mutex_unlock(&t->mu);
    cJSON_Delete(merged);
    snprintf(errbuf, errlen,
             "%s attributes would total %zu bytes: keys and values must stay "
             "under 512 KiB",
             scope, total);
    return -1;
  }
  if (attrs != NULL)
    cJSON_ReplaceItemInObjectCaseSensitive(s, "attributes", merged);
  else
    cJSON_AddItemToObject(s, "attributes", merged);
  changed_locked(t);
  if (now) *now = cJSON_Duplicate(merged, 1);
  pthread_mutex_unlock(&t->mu);
  return 0;
}

/* ---- reads and waits ---------------------------------------------------- */

/* timeout_sec: whole seconds, 0 .. 10^9. -1 when not. */
static long parse_seconds(const char *s) {
  long v = 0;
  size_t n = strlen(s);
  if (n == 0 || n > 9) return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static void deadline_after(struct timespec *ts, long seconds) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += seconds;
}

static void reply_busy(mdtree_reply *r, size_t max) {
  char body[400];
  int n = snprintf(body, sizeof(body),
                   "<!DOCTYPE html>\n<html lang=en>\n<title>Error 503 "
                   "(Service Unavailable)</title>\n<p><b>503.</b> "
                   "<ins>That's an error.</ins>\n<p>Too many concurrent "
                   "wait_for_change requests (at most %zu); retry later. "
                   "<ins>That's all we know.</ins>\n",
                   max);
  reply_set(r, 503, CT_HTML, xstrdup(body), (size_t)n);
  r->etag[0] = '\0';
  r->retry_after = RETRY_AFTER_SECONDS;
}

mdtree_result mdtree_get(mdtree *t, const char *path, const mdtree_query *q,
                         mdtree_reply *out) {
  static const mdtree_query none = {NULL, NULL, NULL, NULL, NULL};
  mdtree_result res;
  int recursive, wait;
  long timeout = -1;
  const char *alt, *base;
  char seen[17];
  struct timespec deadline;
  unsigned long gen;

  memset(out, 0, sizeof(*out));
  if (q == NULL) q = &none;
  if (path == NULL) path = "";
  recursive = truthy(q->recursive);
  wait = truthy(q->wait_for_change);
  alt = q->alt;
  if (alt != NULL && strcmp(alt, "json") != 0 && strcmp(alt, "text") != 0) {
    reply_bad_request(out, "The alt parameter must be json or text.");
    return MDTREE_ANSWERED;
  }
  if (wait && q->timeout_sec != NULL &&
      (timeout = parse_seconds(q->timeout_sec)) < 0) {
    reply_bad_request(out,
                      "The timeout_sec parameter must be a whole number "
                      "of seconds.");
    return MDTREE_ANSWERED;
  }

  pthread_mutex_lock(&t->mu);
  res = answer_locked(t, path, recursive, alt, out);
  if (!wait || res != MDTREE_ANSWERED || out->status != 200 || t->stopping ||
      (q->last_etag != NULL && strcmp(q->last_etag, out->etag) != 0)) {
    pthread_mutex_unlock(&t->mu);
    return res;
  }
  if (t->waiters >= t->max_waiters) {
    size_t max = t->max_waiters;
    pthread_mutex_unlock(&t->mu);
    reply_busy(out, max);
    return MDTREE_ANSWERED;
  }
  t->waiters++;
  out->waited = 1;
  /* Without last_etag: until the next change of what the path holds. */
  base = q->last_etag != NULL ? q->last_etag : out->etag;
  snprintf(seen, sizeof(seen), "%s", base);
  if (timeout < 0 || timeout > (long)t->max_wait) timeout = (long)t->max_wait;
  deadline_after(&deadline, timeout);
  gen = t->generation;
  for (;;) {
    int rc = pthread_cond_timedwait(&t->changed, &t->mu, &deadline);
    if (t->stopping) break;
    if (t->generation != gen) {
      gen = t->generation;
      mdtree_reply_clear(out);
      out->waited = 1;
      res = answer_locked(t, path, recursive, alt, out);
      if (res != MDTREE_ANSWERED || out->status != 200 ||
          strcmp(out->etag, seen) != 0)
        break;
    }
    if (rc == ETIMEDOUT) break;
  }
  t->waiters--;
  if (t->stopping && t->waiters == 0) pthread_cond_broadcast(&t->left);
  pthread_mutex_unlock(&t->mu);
  return res;
}
