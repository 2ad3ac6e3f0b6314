/* Tests against a running gauth-emulator (see emu_fixture.h). */
#include "emu_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

const char *emu_fixture_url(void) {
  static char url[256];
  const char *file = getenv("GAUTH_EMULATOR_URL_FILE");
  FILE *f;
  size_t n;
  if (url[0]) return url;
  if (file == NULL || (f = fopen(file, "r")) == NULL) {
    fprintf(stderr,
            "emu_fixture_url: no URL file (GAUTH_EMULATOR_URL_FILE="
            "%s): did the emulator fixture start?\n",
            file ? file : "unset");
    abort();
  }
  n = fread(url, 1, sizeof(url) - 1, f);
  fclose(f);
  url[n] = '\0';
  while (n > 0 && (url[n - 1] == '\n' || url[n - 1] == '\r')) url[--n] = '\0';
  if (strncmp(url, "http://127.0.0.1:", 17) != 0) {
    fprintf(stderr, "emu_fixture_url: unexpected URL %s\n", url);
    abort();
  }
  return url;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  emu_reply *r = ud;
  size_t n = size * nmemb;
  char *nb = realloc(r->body, r->len + n + 1);
  if (nb == NULL) return 0;
  memcpy(nb + r->len, p, n);
  r->body = nb;
  r->len += n;
  r->body[r->len] = '\0';
  return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  emu_reply *r = ud;
  size_t n = size * nmemb, have = strlen(r->headers);
  if (have + n < sizeof(r->headers)) {
    memcpy(r->headers + have, p, n);
    r->headers[have + n] = '\0';
  }
  return n;
}

int emu_http(const char *base, const char *method, const char *path,
             const char *const *headers, const char *body, emu_reply *out) {
  CURL *c = curl_easy_init();
  struct curl_slist *hl = NULL;
  char url[4096];
  memset(out, 0, sizeof(*out));
  out->body = calloc(1, 1);
  if (c == NULL || out->body == NULL) abort();
  snprintf(url, sizeof(url), "%s%s", base, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
    hl = curl_slist_append(hl, headers[i]);
  if (body != NULL) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  if (hl != NULL) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  out->curl_code = (int)curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  curl_slist_free_all(hl);
  curl_easy_cleanup(c);
  return out->curl_code;
}

void emu_reply_free(emu_reply *r) {
  free(r->body);
  r->body = NULL;
}

const char *emu_reply_header_get(const emu_reply *r, const char *name,
                                 char *buf, size_t n) {
  size_t nl = strlen(name);
  for (const char *p = r->headers; *p;) {
    const char *eol = strstr(p, "\r\n");
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      size_t vl;
      while (*v == ' ') v++;
      vl = len - (size_t)(v - p);
      if (vl >= n) vl = n - 1;
      memcpy(buf, v, vl);
      buf[vl] = '\0';
      return buf;
    }
    p += len;
    if (*p) p += 2;
  }
  return NULL;
}

long emu_control(const char *base, const char *path, const char *body,
                 char **out) {
  emu_reply r;
  static const char *const json[] = {"Content-Type: application/json", NULL};
  long status;
  emu_http(base, body ? "POST" : "GET", path, body ? json : NULL, body, &r);
  status = r.status;
  if (out != NULL) {
    *out = r.body;
    r.body = NULL;
  }
  emu_reply_free(&r);
  return status;
}

const char *emu_fixture_run_url(void) {
  static char url[256];
  char path[1024];
  const char *url_file = getenv("GAUTH_EMULATOR_URL_FILE");
  const char *slash;
  FILE *f;
  size_t n;
  if (url[0]) return url;
  if (url_file == NULL) {
    fprintf(stderr, "emu_fixture_run_url: GAUTH_EMULATOR_URL_FILE unset\n");
    abort();
  }
  slash = strrchr(url_file, '/');
  snprintf(path, sizeof path, "%.*s/run_url",
           slash ? (int)(slash - url_file) : 1, slash ? url_file : ".");
  if ((f = fopen(path, "r")) == NULL) {
    fprintf(stderr,
            "emu_fixture_run_url: no %s: did the emulator fixture start?\n",
            path);
    abort();
  }
  n = fread(url, 1, sizeof(url) - 1, f);
  fclose(f);
  url[n] = '\0';
  while (n > 0 && (url[n - 1] == '\n' || url[n - 1] == '\r')) url[--n] = '\0';
  if (strncmp(url, "http://127.0.0.1:", 17) != 0 ||
      strcmp(url, emu_fixture_url()) == 0) {
    fprintf(stderr, "emu_fixture_run_url: unexpected URL %s\n", url);
    abort();
  }
  return url;
}

const char *emu_fixture_key_file(void) {
  static char path[1024];
  const char *url_file = getenv("GAUTH_EMULATOR_URL_FILE");
  const char *slash;
  if (url_file == NULL) {
    fprintf(stderr, "emu_fixture_key_file: GAUTH_EMULATOR_URL_FILE unset\n");
    abort();
  }
  slash = strrchr(url_file, '/');
  snprintf(path, sizeof path, "%.*s/key.json",
           slash ? (int)(slash - url_file) : 1, slash ? url_file : ".");
  return path;
}

long emu_counter(const char *base, const char *path) {
  char *out = NULL;
  cJSON *j, *reqs, *n;
  long v = -1;
  if (emu_control(base, "/emulator/v1/counters", NULL, &out) != 200) {
    free(out);
    return -1;
  }
  j = cJSON_Parse(out);
  reqs = cJSON_GetObjectItemCaseSensitive(j, "requests");
  if (cJSON_IsObject(reqs)) {
    n = cJSON_GetObjectItemCaseSensitive(reqs, path);
    v = cJSON_IsNumber(n) ? (long)n->valuedouble : 0;
  }
  cJSON_Delete(j);
  free(out);
  return v;
}

int emu_last_principal(const char *base, const char *path, char *buf,
                       size_t n) {
  char *out = NULL;
  cJSON *j, *it;
  int rc;
  buf[0] = '\0';
  if (emu_control(base, "/emulator/v1/requests", NULL, &out) != 200) {
    free(out);
    return -1;
  }
  j = cJSON_Parse(out);
  rc = j != NULL ? 0 : -1;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "requests")) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path");
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(it, "principal");
    if (cJSON_IsString(p) && strcmp(p->valuestring, path) == 0 &&
        cJSON_IsString(who))
      snprintf(buf, n, "%s", who->valuestring);
  }
  cJSON_Delete(j);
  free(out);
  return rc;
}

long emu_bearer_post(const char *base, const char *path, const char *token,
                     const char *body) {
  size_t n = strlen(token) + sizeof("Authorization: Bearer ");
  char *auth = malloc(n);
  const char *h[] = {NULL, "Content-Type: application/json", NULL};
  emu_reply r;
  long st;
  if (auth == NULL) return 0;
  snprintf(auth, n, "Authorization: Bearer %s", token);
  h[0] = auth;
  emu_http(base, "POST", path, h, body, &r);
  st = r.status;
  emu_reply_free(&r);
  free(auth);
  return st;
}

gauth_status emu_verify_id_token(const char *base, const char *token,
                                 const char *aud, gauth_claims **out,
                                 gauth_error *err) {
  gauth_options ho = GAUTH_OPTIONS_INIT;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  const char *auds[] = {aud, NULL};
  gauth_verifier *v = NULL;
  gauth_status st;
  ho.endpoint = base;
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = auds;
  vo.http = &ho;
  *out = NULL;
  st = gauth_verifier_new(&v, &vo, err);
  if (st == GAUTH_OK) st = gauth_verifier_verify(v, token, 0, out, err);
  gauth_verifier_free(v);
  return st;
}
