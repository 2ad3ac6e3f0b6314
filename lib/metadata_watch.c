/* Watching a metadata entry: a plain read first, then long-polls with
 * wait_for_change and the last ETag, as Google's clients do (the Go
 * client's Subscribe: a plain GET for the value and its ETag, then
 * ?wait_for_change=true&last_etag=ETAG in a loop; a 404 means the entry
 * was deleted).
 *
 * A watch holds the value and ETag last returned and a cancel object of
 * the transport, which every request of the watch carries: cancelling
 * shuts down the long-poll's connection and wakes a wait between
 * attempts (lib/http.h).
 *
 * Pacing. A server that ignores wait_for_change answers at once with the
 * same ETag. An unchanged reply that came back sooner than
 * GAUTH__METADATA_WATCH_MIN_INTERVAL_MS after its request was sent delays
 * the watch's next long-poll until that interval has passed, within a call
 * and across calls: at most one request a second reaches such a server. A
 * server that holds the request (the real one, the emulator) answers an
 * unchanged long-poll only after timeout_sec >= 1 s, and is never delayed;
 * a change is always returned as soon as it comes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constants.h"
#include "error_internal.h"
#include "http.h"
#include "metadata_internal.h"
#include "retry.h"
#include "secret.h"

struct gauth_metadata_watch {
  gauth_metadata *md;         /* borrowed: outlives the watch */
  char *path;                 /* as given */
  gauth__http_cancel *cancel; /* fired by gauth_metadata_watch_cancel */
  int started;                /* a value (and maybe an ETag) is held */
  char *value;                /* the value last returned */
  size_t value_len;
  char *etag;          /* its ETag; NULL when the server sent none */
  int64_t paced_until; /* no long-poll before this (CLOCK_MONOTONIC ms) */
};

/* ---- pure parts ---------------------------------------------------------- */

/* 1 when query (after '?', '&'-separated) has a parameter called name. */
static int query_has(const char *query, const char *name) {
  size_t n = strlen(name);
  const char *p = query;
  while (p != NULL && *p != '\0') {
    if (strncmp(p, name, n) == 0 &&
        (p[n] == '=' || p[n] == '&' || p[n] == '\0'))
      return 1;
    p = strchr(p, '&');
    if (p != NULL) p++;
  }
  return 0;
}

/* Appends "SEP name=value" to buf (size cap, used *len). */
static void add_param(char *buf, size_t cap, size_t *len, int *first,
                      const char *name, const char *value) {
  int n = snprintf(buf + *len, cap - *len, "%s%s=%s", *first ? "?" : "&", name,
                   value);
  if (n > 0) *len += (size_t)n;
  *first = 0;
}

gauth_status gauth__metadata_watch_path(const char *path, int wait_for_change,
                                        const char *etag,
                                        unsigned int timeout_sec, char **out,
                                        gauth_error *err) {
  static const char *const reserved[] = {"wait_for_change", "last_etag",
                                         "timeout_sec"};
  const char *q;
  char *escaped = NULL, num[16];
  size_t plen, cap, len, i;
  int first, dir;
  char *buf;

  if (out != NULL) *out = NULL;
  if (path == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata watch: NULL argument");
  q = strchr(path, '?');
  plen = q != NULL ? (size_t)(q - path) : strlen(path);
  for (i = 0; q != NULL && i < GAUTH__ARRAY_LEN(reserved); i++)
    if (query_has(q + 1, reserved[i]))
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "metadata watch path \"%.100s\" sets %s: the "
                              "watch sets it",
                              path, reserved[i]);
  dir = plen > 0 && path[plen - 1] == '/';
  if (wait_for_change && etag != NULL && etag[0] != '\0') {
    escaped = gauth__metadata_query_escape(etag);
    if (escaped == NULL) return gauth__error_nomem(err);
  }
  cap = strlen(path) + (escaped != NULL ? strlen(escaped) : 0) + 128;
  buf = malloc(cap);
  if (buf == NULL) {
    free(escaped);
    return gauth__error_nomem(err);
  }
  memcpy(buf, path, strlen(path) + 1);
  len = strlen(path);
  /* "a/?" has a query, empty: parameters follow with '&'. */
  first = q == NULL;
  if (q != NULL && q[1] == '\0') {
    first = 1;
    len--;
    buf[len] = '\0';
  }
  if (dir && (q == NULL || !query_has(q + 1, "recursive")))
    add_param(buf, cap, &len, &first, "recursive", "true");
  if (dir && (q == NULL || !query_has(q + 1, "alt")))
    add_param(buf, cap, &len, &first, "alt", "json");
  if (wait_for_change) {
    add_param(buf, cap, &len, &first, "wait_for_change", "true");
    if (escaped != NULL)
      add_param(buf, cap, &len, &first, "last_etag", escaped);
    snprintf(num, sizeof(num), "%u", timeout_sec);
    add_param(buf, cap, &len, &first, "timeout_sec", num);
  }
  free(escaped);
  *out = buf;
  return GAUTH_OK;
}

void gauth__metadata_watch_limits(unsigned int timeout_sec,
                                  unsigned int retry_deadline_ms,
                                  unsigned int *timeout_ms,
                                  unsigned int *deadline_ms) {
  unsigned int s = timeout_sec < GAUTH__METADATA_WATCH_MAX_TIMEOUT_S
                       ? timeout_sec
                       : GAUTH__METADATA_WATCH_MAX_TIMEOUT_S;
  unsigned int t = s * 1000u + GAUTH__METADATA_WATCH_MARGIN_MS;
  if (timeout_ms != NULL) *timeout_ms = t;
  if (deadline_ms != NULL) *deadline_ms = t + retry_deadline_ms;
}

/* ---- the object ---------------------------------------------------------- */

gauth_status gauth_metadata_watch_new(gauth_metadata *md, const char *path,
                                      gauth_metadata_watch **out,
                                      gauth_error *err) {
  gauth_metadata_watch *w;
  const char *rel;
  char *probe = NULL;
  gauth_status st;
  if (out != NULL) *out = NULL;
  if (md == NULL || path == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_watch_new: NULL argument");
  /* Every check a read of the path would make, now. */
  st = gauth__metadata_path_normalize(path, &rel, err);
  if (st != GAUTH_OK) return st;
  st = gauth__metadata_watch_path(rel, 1, "x", 1, &probe, err);
  free(probe);
  if (st != GAUTH_OK) return st;
  w = calloc(1, sizeof(*w));
  if (w == NULL) return gauth__error_nomem(err);
  w->md = md;
  w->path = gauth__strdup(rel);
  if (w->path == NULL) {
    free(w);
    return gauth__error_nomem(err);
  }
  st = gauth__http_cancel_new(&w->cancel, err);
  if (st != GAUTH_OK) {
    free(w->path);
    free(w);
    return st;
  }
  *out = w;
  return GAUTH_OK;
}

/* Forgets the value and ETag: the next call is a first call. */
static void watch_reset(gauth_metadata_watch *w) {
  if (w->value != NULL) gauth__secret_free(w->value, w->value_len + 1);
  free(w->etag);
  w->value = NULL;
  w->value_len = 0;
  w->etag = NULL;
  w->started = 0;
}

void gauth_metadata_watch_free(gauth_metadata_watch *w) {
  if (w == NULL) return;
  watch_reset(w);
  gauth__http_cancel_free(w->cancel);
  free(w->path);
  free(w);
}

void gauth_metadata_watch_cancel(gauth_metadata_watch *w) {
  if (w == NULL) return;
  gauth__http_cancel_fire(w->cancel);
}

const char *gauth_metadata_watch_etag(const gauth_metadata_watch *w) {
  return w == NULL || !w->started ? NULL : w->etag;
}

static gauth_status cancelled(gauth_error *err) {
  return gauth__error_set(err, GAUTH_E_CANCELLED, "metadata watch: cancelled");
}

/* A copy of the held value for the caller (gauth_free()). */
static gauth_status copy_value(const gauth_metadata_watch *w, char **value,
                               gauth_error *err) {
  char *v = malloc(w->value_len + 1);
  if (v == NULL) return gauth__error_nomem(err);
  memcpy(v, w->value, w->value_len + 1);
  *value = v;
  return GAUTH_OK;
}

/* Takes body and etag as the held value (their ownership passes). */
static void hold(gauth_metadata_watch *w, char *body, size_t len, char *etag) {
  watch_reset(w);
  w->value = body;
  w->value_len = len;
  w->etag = etag;
  w->started = 1;
}

/* 1 when a reply (body, etag) is another value than the one held: its
 * ETag differs; without ETags on either side, its bytes differ. */
static int is_change(const gauth_metadata_watch *w, const char *body,
                     size_t len, const char *etag) {
  if (etag != NULL && w->etag != NULL) return strcmp(etag, w->etag) != 0;
  if ((etag == NULL) != (w->etag == NULL)) return 1;
  return len != w->value_len || memcmp(body, w->value, len) != 0;
}

/* The first call: a plain read. */
static gauth_status first_read(gauth_metadata_watch *w, char **value,
                               int *changed, gauth_error *err) {
  gauth__metadata_get_opts o = {0, 0, w->cancel};
  char *path = NULL, *body = NULL, *etag = NULL;
  size_t len = 0;
  gauth_status st = gauth__metadata_watch_path(w->path, 0, NULL, 0, &path, err);
  if (st != GAUTH_OK) return st;
  st = gauth__metadata_http_get_ex(gauth__metadata_http(w->md), path, &o, &body,
                                   &len, &etag, err);
  free(path);
  if (st != GAUTH_OK) return st;
  hold(w, body, len, etag);
  *changed = 1;
  return copy_value(w, value, err);
}

/* One long-poll of timeout_sec seconds: *body, *len and *etag on GAUTH_OK. */
static gauth_status long_poll(gauth_metadata_watch *w, unsigned int timeout_sec,
                              char **body, size_t *len, char **etag,
                              gauth_error *err) {
  gauth__http *h = gauth__metadata_http(w->md);
  gauth__metadata_get_opts o = {0, 0, w->cancel};
  char *path = NULL;
  gauth_status st =
      gauth__metadata_watch_path(w->path, 1, w->etag, timeout_sec, &path, err);
  if (st != GAUTH_OK) return st;
  gauth__metadata_watch_limits(timeout_sec,
                               gauth__http_config(h)->retry.deadline_ms,
                               &o.timeout_ms, &o.deadline_ms);
  st = gauth__metadata_http_get_ex(h, path, &o, body, len, etag, err);
  free(path);
  return st;
}

gauth_status gauth_metadata_watch_next(gauth_metadata_watch *w,
                                       unsigned int timeout_sec, char **value,
                                       int *changed, gauth_error *err) {
  int64_t end_at;
  if (value != NULL) *value = NULL;
  if (changed != NULL) *changed = 0;
  if (w == NULL || value == NULL || changed == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_watch_next: NULL argument");
  if (timeout_sec < 1 || timeout_sec > GAUTH__METADATA_WATCH_MAX_TIMEOUT_S)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_watch_next: timeout_sec %u is "
                            "out of range (1 to %u)",
                            timeout_sec, GAUTH__METADATA_WATCH_MAX_TIMEOUT_S);
  if (gauth__http_cancel_fired(w->cancel)) return cancelled(err);
  if (!w->started) return first_read(w, value, changed, err);

  end_at = gauth__mono_ms() + (int64_t)timeout_sec * 1000;
  for (;;) {
    char *body = NULL, *etag = NULL;
    size_t len = 0;
    int64_t now = gauth__mono_ms(), sent;
    unsigned int secs;
    gauth_status st;

    if (w->paced_until > now) {
      int64_t until = w->paced_until < end_at ? w->paced_until : end_at;
      if (gauth__http_cancel_sleep(w->cancel, until - now))
        return cancelled(err);
      now = gauth__mono_ms();
    }
    if (now >= end_at) break; /* paced past the timeout: unchanged */
    secs = (unsigned int)((end_at - now + 999) / 1000);
    sent = now;
    st = long_poll(w, secs, &body, &len, &etag, err);
    if (st == GAUTH_E_NOT_FOUND) watch_reset(w); /* deleted */
    if (st != GAUTH_OK) return st;
    if (is_change(w, body, len, etag)) {
      hold(w, body, len, etag);
      *changed = 1;
      return copy_value(w, value, err);
    }
    gauth__secret_free(body, len + 1);
    free(etag);
    now = gauth__mono_ms();
    if (now - sent < (int64_t)GAUTH__METADATA_WATCH_MIN_INTERVAL_MS)
      w->paced_until = sent + GAUTH__METADATA_WATCH_MIN_INTERVAL_MS;
    /* Held until (about) the timeout: a long-poll cannot ask for less than
     * a second, so what is left under one is not waited for. */
    if (end_at - now < 1000) break;
  }
  return copy_value(w, value, err);
}
