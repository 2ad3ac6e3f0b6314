/* The metadata server client: detection (mode, residency hints, one quick
 * probe) and plain reads, with Metadata-Flavor checked both ways.
 *
 * Locking. The transport and the config are immutable after
 * gauth_metadata_new. `mu` guards the remembered detection answer and is
 * held during a probe, so that threads detecting at once cause one probe
 * and share its answer. Times are CLOCK_MONOTONIC. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "constants.h"
#include "error_internal.h"
#include "http.h"
#include "json.h"
#include "log_internal.h"
#include "metadata_internal.h"
#include "secret.h"

#define FLAVOR_HEADER "Metadata-Flavor: Google"

struct gauth_metadata {
  gauth__http *http;
  pthread_mutex_t mu;
  int memo; /* 0 none, 1 present, -1 absent */
  char memo_detail[sizeof(((gauth_metadata_detection *)0)->detail)];
  int64_t memo_at_us;
  unsigned int negative_ttl_ms;
};

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- pure helpers ------------------------------------------------------- */

static int keep_in_query(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == ':' || c == '/';
}

char *gauth__metadata_query_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0, i;
  const unsigned char *p = (const unsigned char *)s;
  char *out, *o;
  if (s == NULL) return NULL;
  for (i = 0; p[i] != '\0'; i++) n += keep_in_query(p[i]) ? 1 : 3;
  out = malloc(n + 1);
  if (out == NULL) return NULL;
  for (o = out, i = 0; p[i] != '\0'; i++) {
    if (keep_in_query(p[i])) {
      *o++ = (char)p[i];
    } else {
      *o++ = '%';
      *o++ = hex[p[i] >> 4];
      *o++ = hex[p[i] & 0xf];
    }
  }
  *o = '\0';
  return out;
}

static int has_encoded_dot(const char *s, size_t n) {
  size_t i;
  for (i = 0; i + 2 < n; i++)
    if (s[i] == '%' && s[i + 1] == '2' && (s[i + 2] == 'e' || s[i + 2] == 'E'))
      return 1;
  return 0;
}

gauth_status gauth__metadata_path_normalize(const char *path, const char **rel,
                                            gauth_error *err) {
  const char *p, *c;
  size_t plen, prefix = sizeof(GAUTH__METADATA_PATH_PREFIX) - 1;
  if (path == NULL || rel == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "metadata path is NULL");
  for (c = path; *c != '\0'; c++) {
    unsigned char ch = (unsigned char)*c;
    if (ch < 0x20 || ch == 0x7f || ch == ' ')
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "metadata path has a control character or "
                              "space at offset %zu (percent-encode it)",
                              (size_t)(c - path));
  }
  if (strchr(path, '#') != NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata path \"%.100s\" has a fragment ('#')",
                            path);
  plen = strcspn(path, "?");
  if (strstr(path, "..") != NULL && (size_t)(strstr(path, "..") - path) < plen)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata path \"%.100s\" contains \"..\"", path);
  if (has_encoded_dot(path, plen))
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata path \"%.100s\" contains an encoded "
                            "dot (%%2e)",
                            path);
  p = path;
  while (*p == '/') p++;
  if (strncmp(p, GAUTH__METADATA_PATH_PREFIX, prefix) == 0) {
    p += prefix;
  } else if (strncmp(p, GAUTH__METADATA_PATH_PREFIX, prefix - 1) == 0 &&
             (p[prefix - 1] == '\0' || p[prefix - 1] == '?')) {
    p += prefix - 1; /* "computeMetadata/v1" or "computeMetadata/v1?..." */
  }
  *rel = p;
  return GAUTH_OK;
}

gauth_status gauth__metadata_key_check(const char *key, gauth_error *err) {
  size_t i, n;
  if (key == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata attribute key is NULL");
  n = strlen(key);
  if (n == 0)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata attribute key is empty");
  if (n > GAUTH__METADATA_KEY_MAX)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata attribute key is %zu bytes long: "
                            "Google allows at most %u",
                            n, GAUTH__METADATA_KEY_MAX);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)key[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                              "metadata attribute key has a byte 0x%02x at "
                              "offset %zu: Google allows only letters, "
                              "digits, '-' and '_'",
                              c, i);
  }
  return GAUTH_OK;
}

const char *gauth__metadata_scope_dir(int scope) {
  switch (scope) {
    case GAUTH_METADATA_PROJECT: return "project/attributes/";
    case GAUTH_METADATA_INSTANCE: return "instance/attributes/";
    default: return NULL;
  }
}

gauth_status gauth__metadata_attributes_check(const char *text, size_t len,
                                              gauth_error *err) {
  gauth__json_limits lim = {0, 0};
  cJSON *root = NULL;
  const cJSON *it;
  gauth_status st;
  lim.max_bytes = len > 0 ? len : 1;
  st = gauth__json_parse_object(text, len, &lim, &root, err);
  if (st != GAUTH_OK) {
    gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                     "metadata attributes: the reply is not a JSON object");
    return GAUTH_E_BAD_RESPONSE;
  }
  cJSON_ArrayForEach(it, root) {
    if (!cJSON_IsString(it)) {
      st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "metadata attributes: member \"%.64s\" is %s, "
                            "expected a string",
                            it->string != NULL ? it->string : "",
                            gauth__json_type_name(it));
      break;
    }
  }
  cJSON_Delete(root);
  return st;
}

int gauth__metadata_env_hint(char *detail, size_t n) {
  static const char *const vars[] = {"K_SERVICE", "CLOUD_RUN_JOB",
                                     "FUNCTION_TARGET"};
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(vars); i++) {
    const char *v = getenv(vars[i]);
    if (v != NULL && v[0] != '\0') {
      snprintf(detail, n, "%s is set", vars[i]);
      return 1;
    }
  }
  return 0;
}

/* Reads at most GAUTH__METADATA_DMI_MAX_BYTES of dir/name into buf
 * (trailing whitespace dropped, non-printable bytes as '?'); 0 on failure. */
static int read_dmi(const char *dir, const char *name, char *buf, size_t size) {
  char path[512];
  ssize_t got;
  size_t len, i;
  int fd;
  if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
    return 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  do {
    got = read(fd, buf, size - 1);
  } while (got < 0 && errno == EINTR);
  close(fd);
  if (got <= 0) return 0;
  len = (size_t)got;
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' ||
                     buf[len - 1] == '\r' || buf[len - 1] == '\t'))
    len--;
  buf[len] = '\0';
  for (i = 0; i < len; i++)
    if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
      buf[i] = '?';
  return 1;
}

int gauth__metadata_dmi_hint(const char *dir, char *detail, size_t n) {
  static const char *const files[] = {"product_name", "bios_vendor"};
  char buf[GAUTH__METADATA_DMI_MAX_BYTES + 1];
  size_t i;
  if (dir == NULL) dir = GAUTH__METADATA_DMI_DIR;
  for (i = 0; i < GAUTH__ARRAY_LEN(files); i++) {
    if (read_dmi(dir, files[i], buf, sizeof(buf)) &&
        strstr(buf, "Google") != NULL) {
      snprintf(detail, n, "DMI %s is \"%.100s\"", files[i], buf);
      return 1;
    }
  }
  return 0;
}

/* ---- requests ------------------------------------------------------------ */

static int flavor_ok(const gauth__http_response *resp) {
  const char *v = gauth__http_response_header(resp, "Metadata-Flavor");
  return v != NULL && strcmp(v, "Google") == 0;
}

/* The outcome of a metadata GET, st being the transport's: a reply without
 * the flavor is refused whatever its status; a 404 says so plainly. */
static gauth_status judge_reply(const char *host, const char *rel,
                                const gauth__http_response *resp,
                                gauth_status st, gauth_error *e) {
  int n = (int)strcspn(rel, "?"); /* messages name the path, no query */
  if (resp->status != 0 && !flavor_ok(resp))
    return gauth__error_set_http(
        e, GAUTH_E_BAD_RESPONSE, (int)resp->status, NULL,
        "reply from http://%s/" GAUTH__METADATA_PATH_PREFIX
        "%.*s (HTTP %ld) "
        "without Metadata-Flavor: Google: something other than the metadata "
        "server answered",
        host, n, rel, resp->status);
  if (st == GAUTH_E_NOT_FOUND)
    return gauth__error_set_http(e, GAUTH_E_NOT_FOUND, 404, NULL,
                                 "GET http://%s/" GAUTH__METADATA_PATH_PREFIX
                                 "%.*s: HTTP 404: the "
                                 "metadata server has no such entry",
                                 host, n, rel);
  return st;
}

gauth_status gauth__metadata_http_get_ex(gauth__http *h, const char *path,
                                         const gauth__metadata_get_opts *o,
                                         char **body, size_t *len, char **etag,
                                         gauth_error *err) {
  static const char *const headers[] = {FLAVOR_HEADER, NULL};
  const char *host, *rel, *tag;
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error e = GAUTH_ERROR_INIT;
  char *url;
  size_t ulen;
  gauth_status st;

  if (body != NULL) *body = NULL;
  if (len != NULL) *len = 0;
  if (etag != NULL) *etag = NULL;
  if (h == NULL || body == NULL || len == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata GET: NULL argument");
  st = gauth__metadata_path_normalize(path, &rel, err);
  if (st != GAUTH_OK) return st;
  host = gauth__http_config(h)->metadata_host;
  ulen = strlen(host) + strlen(rel) + 32;
  url = malloc(ulen);
  if (url == NULL) return gauth__error_nomem(err);
  snprintf(url, ulen, "http://%s/" GAUTH__METADATA_PATH_PREFIX "%s", host, rel);
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  req.headers = headers; /* max_redirects 0: none followed */
  req.no_proxy = 1;
  if (o != NULL) {
    req.timeout_ms = o->timeout_ms;
    req.deadline_ms = o->deadline_ms;
    req.cancel = o->cancel;
  }
  st = judge_reply(host, rel, &resp, gauth__http_do(h, &req, &resp, &e), &e);
  if (st == GAUTH_OK && etag != NULL &&
      (tag = gauth__http_response_header(&resp, "ETag")) != NULL &&
      (*etag = gauth__strdup(tag)) == NULL)
    st = gauth__error_nomem(&e);
  if (st == GAUTH_OK) {
    *body = resp.body;
    *len = resp.body_len;
    resp.body = NULL;
  } else {
    gauth__error_copy(err, &e);
  }
  gauth__http_response_cleanup(&resp);
  free(url);
  return st;
}

gauth_status gauth__metadata_http_get(gauth__http *h, const char *path,
                                      char **body, size_t *len,
                                      gauth_error *err) {
  return gauth__metadata_http_get_ex(h, path, NULL, body, len, NULL, err);
}

/* ---- the object ---------------------------------------------------------- */

gauth_status gauth__metadata_new_from_config(gauth_metadata **out,
                                             const gauth__config *cfg,
                                             gauth_error *err) {
  gauth_metadata *md;
  gauth_status st;
  if (out == NULL || cfg == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_new: out is NULL");
  *out = NULL;
  md = calloc(1, sizeof(*md));
  if (md == NULL) return gauth__error_nomem(err);
  st = gauth__http_new(&md->http, cfg, err);
  if (st != GAUTH_OK) {
    free(md);
    return st;
  }
  pthread_mutex_init(&md->mu, NULL);
  md->negative_ttl_ms = GAUTH__METADATA_NEGATIVE_TTL_MS;
  *out = md;
  return GAUTH_OK;
}

gauth_status gauth_metadata_new(gauth_metadata **out, const gauth_options *opts,
                                gauth_error *err) {
  gauth__config cfg;
  gauth_status st;
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_new: out is NULL");
  *out = NULL;
  st = gauth__config_init(&cfg, opts, err);
  if (st != GAUTH_OK) return st;
  st = gauth__metadata_new_from_config(out, &cfg, err);
  gauth__config_cleanup(&cfg);
  return st;
}

void gauth_metadata_free(gauth_metadata *md) {
  if (md == NULL) return;
  gauth__http_free(md->http);
  pthread_mutex_destroy(&md->mu);
  free(md);
}

gauth__http *gauth__metadata_http(gauth_metadata *md) {
  return md == NULL ? NULL : md->http;
}

void gauth__metadata_set_negative_ttl_ms(gauth_metadata *md, unsigned int ms) {
  if (md == NULL) return;
  pthread_mutex_lock(&md->mu);
  md->negative_ttl_ms = ms;
  pthread_mutex_unlock(&md->mu);
}

/* ---- detection ----------------------------------------------------------- */

/* One GET http://IP/, never retried, within what is left of the probe
 * limit since t0_us (the start of the detection), less the transport's
 * wake-up slack, so that the whole detection ends within the limit. Fills
 * *present and detail; fails only when out of memory. */
static gauth_status probe(gauth_metadata *md, int64_t t0_us, int *present,
                          char *detail, size_t n, gauth_error *err) {
  static const char *const headers[] = {FLAVOR_HEADER, NULL};
  const char *ip = gauth__http_config(md->http)->metadata_ip;
  gauth__http_request req;
  gauth__http_response resp;
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st;
  char url[300], msg[GAUTH_ERROR_MESSAGE_SIZE];
  const char *reason;
  size_t skip;

  *present = 0;
  snprintf(url, sizeof(url), "http://%s/", ip);
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = url;
  req.headers = headers;
  req.no_retry = 1;
  req.no_proxy = 1;
  {
    int64_t left_ms = (int64_t)GAUTH__METADATA_PROBE_TIMEOUT_MS -
                      GAUTH__METADATA_PROBE_SLACK_MS -
                      (mono_us() - t0_us) / 1000;
    req.timeout_ms = left_ms < 1 ? 1u : (unsigned int)left_ms;
    req.connect_timeout_ms = req.timeout_ms;
  }
  req.accept_any_status = 1;
  st = gauth__http_do(md->http, &req, &resp, &e);
  if (st == GAUTH_OK) {
    *present = flavor_ok(&resp);
    if (*present)
      snprintf(detail, n, "probe of %s: reply with Metadata-Flavor: Google",
               ip);
    else
      snprintf(detail, n,
               "probe of %s: reply without Metadata-Flavor: "
               "Google (HTTP %ld)",
               ip, resp.status);
  } else if (st == GAUTH_E_NOMEM) {
    gauth__error_copy(err, &e);
  } else if (st == GAUTH_E_TIMEOUT) {
    snprintf(detail, n, "probe of %s: no reply within %u ms", ip,
             GAUTH__METADATA_PROBE_TIMEOUT_MS);
  } else {
    /* The transport's message without its "GET http://IP/: " prefix. */
    reason = gauth__skip_prefix(e.message, "GET ");
    reason = gauth__skip_prefix(reason, url);
    reason = gauth__skip_prefix(reason, ": ");
    skip = reason != NULL ? (size_t)(reason - e.message) : 0;
    /* The precision is all that is left of e.message: it cuts nothing, and
     * tells gcc's truncation check so. */
    snprintf(msg, sizeof(msg), "probe of %s: %.*s", ip,
             (int)(sizeof(e.message) - 1 - skip), e.message + skip);
    gauth__strlcpy_utf8(detail, msg, n);
  }
  gauth__http_response_cleanup(&resp);
  return st == GAUTH_E_NOMEM ? st : GAUTH_OK;
}

/* The remembered answer, or a new probe (mu held). */
static gauth_status detect_locked(gauth_metadata *md, int64_t t0_us,
                                  gauth_metadata_detection *out,
                                  gauth_error *err) {
  int64_t now = mono_us();
  int present;
  gauth_status st;
  if (md->memo == 1 ||
      (md->memo == -1 &&
       now - md->memo_at_us < (int64_t)md->negative_ttl_ms * 1000)) {
    char buf[sizeof(md->memo_detail) + 64];
    out->present = md->memo == 1;
    out->basis = GAUTH_METADATA_BY_MEMORY;
    snprintf(buf, sizeof(buf), "remembered from %lld ms ago: %s",
             (long long)((now - md->memo_at_us) / 1000), md->memo_detail);
    gauth__strlcpy_utf8(out->detail, buf, sizeof(out->detail));
    return GAUTH_OK;
  }
  st = probe(md, t0_us, &present, out->detail, sizeof(out->detail), err);
  if (st != GAUTH_OK) return st;
  out->present = present;
  out->basis = GAUTH_METADATA_BY_PROBE;
  md->memo = present ? 1 : -1;
  md->memo_at_us = mono_us();
  memcpy(md->memo_detail, out->detail, sizeof(md->memo_detail));
  return GAUTH_OK;
}

static void by_mode(const gauth__config *cfg, gauth_metadata_detection *out) {
  const char *from = cfg->metadata_detection_from;
  int present = cfg->metadata_detection == GAUTH_METADATA_DETECT_ASSUME_PRESENT;
  out->present = present;
  out->basis = GAUTH_METADATA_BY_MODE;
  snprintf(out->detail, sizeof(out->detail), "%s=%s",
           from != NULL ? from : "mode", present ? "assume-present" : "none");
}

gauth_status gauth_metadata_detect(gauth_metadata *md,
                                   gauth_metadata_detection *out,
                                   gauth_error *err) {
  const gauth__config *cfg;
  int64_t t0 = mono_us();
  gauth_status st = GAUTH_OK;
  if (out != NULL) memset(out, 0, sizeof(*out));
  if (md == NULL || out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_detect: NULL argument");
  cfg = gauth__http_config(md->http);
  if (cfg->metadata_detection == GAUTH_METADATA_DETECT_NONE ||
      cfg->metadata_detection == GAUTH_METADATA_DETECT_ASSUME_PRESENT) {
    by_mode(cfg, out);
  } else if (gauth__metadata_env_hint(out->detail, sizeof(out->detail)) ||
             gauth__metadata_dmi_hint(cfg->dmi_dir, out->detail,
                                      sizeof(out->detail))) {
    out->present = 1;
    out->basis = GAUTH_METADATA_BY_HINT;
  } else {
    pthread_mutex_lock(&md->mu);
    st = detect_locked(md, t0, out, err);
    pthread_mutex_unlock(&md->mu);
  }
  out->elapsed_us = mono_us() - t0;
  if (st == GAUTH_OK)
    gauth__log(&cfg->logger, GAUTH_LOG_DEBUG,
               "metadata server %s: %s (%lld us)",
               out->present ? "present" : "absent", out->detail,
               (long long)out->elapsed_us);
  return st;
}

/* ---- reads --------------------------------------------------------------- */

gauth_status gauth_metadata_get(gauth_metadata *md, const char *path,
                                char **value, gauth_error *err) {
  size_t len;
  if (value != NULL) *value = NULL;
  if (md == NULL || value == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_get: NULL argument");
  return gauth__metadata_http_get(md->http, path, value, &len, err);
}

/* Drops trailing whitespace from a reply of len bytes; returns the new
 * length. */
static size_t trim_reply(char *v, size_t len) {
  while (len > 0 && (v[len - 1] == '\n' || v[len - 1] == '\r' ||
                     v[len - 1] == ' ' || v[len - 1] == '\t'))
    v[--len] = '\0';
  return len;
}

/* A leaf value, trimmed; an empty or binary one is GAUTH_E_BAD_RESPONSE
 * unless allow_empty (then *value is NULL with GAUTH_OK). */
static gauth_status fetch_leaf(gauth_metadata *md, const char *path,
                               int allow_empty, char **value,
                               gauth_error *err) {
  gauth_status st;
  size_t len;
  char *v;
  if (value != NULL) *value = NULL;
  if (md == NULL || value == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "metadata read: NULL argument");
  st = gauth__metadata_http_get(md->http, path, &v, &len, err);
  if (st != GAUTH_OK) return st;
  len = trim_reply(v, len);
  if (len == 0 && allow_empty) {
    free(v);
    return GAUTH_OK;
  }
  if (len == 0 || strlen(v) != len) {
    free(v);
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "metadata server: %s: the reply is %s", path,
                            len == 0 ? "empty" : "not text (a NUL byte)");
  }
  *value = v;
  return GAUTH_OK;
}

static gauth_status read_leaf(gauth_metadata *md, const char *path,
                              char **value, gauth_error *err) {
  return fetch_leaf(md, path, 0, value, err);
}

gauth_status gauth_metadata_project_id(gauth_metadata *md, char **value,
                                       gauth_error *err) {
  return read_leaf(md, "project/project-id", value, err);
}

gauth_status gauth_metadata_project_number(gauth_metadata *md, char **value,
                                           gauth_error *err) {
  return read_leaf(md, "project/numeric-project-id", value, err);
}

gauth_status gauth_metadata_zone(gauth_metadata *md, char **value,
                                 gauth_error *err) {
  gauth_status st = read_leaf(md, "instance/zone", value, err);
  const char *slash;
  if (st != GAUTH_OK) return st;
  /* "projects/123456789012/zones/us-central1-a" -> "us-central1-a" */
  slash = strrchr(*value, '/');
  if (slash != NULL) {
    if (slash[1] == '\0') {
      free(*value);
      *value = NULL;
      return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                              "metadata server: instance/zone ends with '/'");
    }
    memmove(*value, slash + 1, strlen(slash + 1) + 1);
  }
  return GAUTH_OK;
}

gauth_status gauth_metadata_universe_domain(gauth_metadata *md, char **value,
                                            gauth_error *err) {
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st = fetch_leaf(md, "universe/universe-domain", 1, value, &e);
  /* No entry (a server older than universe domains), or an empty one:
   * the default. */
  if (st == GAUTH_E_NOT_FOUND || (st == GAUTH_OK && *value == NULL)) {
    return gauth__strdup_out(GAUTH__DEFAULT_UNIVERSE_DOMAIN, value, err);
  }
  if (st != GAUTH_OK) gauth__error_copy(err, &e);
  return st;
}

gauth_status gauth_metadata_email(gauth_metadata *md, char **value,
                                  gauth_error *err) {
  return read_leaf(md, "instance/service-accounts/default/email", value, err);
}

/* ---- custom metadata ----------------------------------------------------- */

gauth_status gauth_metadata_attribute(gauth_metadata *md,
                                      gauth_metadata_scope scope,
                                      const char *key, char **value,
                                      gauth_error *err) {
  const char *dir = gauth__metadata_scope_dir((int)scope);
  char path[sizeof("instance/attributes/") + GAUTH__METADATA_KEY_MAX + 1];
  gauth_status st;
  size_t len;
  if (value != NULL) *value = NULL;
  if (md == NULL || value == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_attribute: NULL argument");
  if (dir == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_attribute: scope %d is neither "
                            "GAUTH_METADATA_PROJECT nor "
                            "GAUTH_METADATA_INSTANCE",
                            (int)scope);
  st = gauth__metadata_key_check(key, err);
  if (st != GAUTH_OK) return st;
  snprintf(path, sizeof(path), "%s%s", dir, key);
  return gauth__metadata_http_get(md->http, path, value, &len, err);
}

gauth_status gauth_metadata_attributes_json(gauth_metadata *md,
                                            gauth_metadata_scope scope,
                                            char **json, gauth_error *err) {
  const char *dir = gauth__metadata_scope_dir((int)scope);
  char path[64];
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st;
  size_t len;
  char *body;
  if (json != NULL) *json = NULL;
  if (md == NULL || json == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_attributes_json: NULL argument");
  if (dir == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_metadata_attributes_json: scope %d is "
                            "neither GAUTH_METADATA_PROJECT nor "
                            "GAUTH_METADATA_INSTANCE",
                            (int)scope);
  snprintf(path, sizeof(path), "%s?recursive=true&alt=json", dir);
  st = gauth__metadata_http_get(md->http, path, &body, &len, &e);
  /* No such directory (Cloud Run has no instance attributes): none. */
  if (st == GAUTH_E_NOT_FOUND) return gauth__strdup_out("{}", json, err);
  if (st != GAUTH_OK) {
    gauth__error_copy(err, &e);
    return st;
  }
  len = trim_reply(body, len);
  if (len == 0) {
    /* An empty directory may come back as an empty body. */
    free(body);
    return gauth__strdup_out("{}", json, err);
  }
  st = gauth__metadata_attributes_check(body, len, err);
  if (st != GAUTH_OK) {
    free(body);
    return st;
  }
  *json = body;
  return GAUTH_OK;
}
