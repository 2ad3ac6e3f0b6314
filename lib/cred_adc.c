/* Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, then
 * gcloud's application_default_credentials.json, then the metadata server
 * when detected. What was passed over, and why, is collected for the
 * GAUTH_E_NO_CREDENTIALS message. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cred_adc.h"
#include "constants.h"
#include "credentials_internal.h"
#include "error_internal.h"
#include "log_internal.h"

/* Paths in messages are cut to this many bytes. */
#define PATH_MAX_SHOWN 150

gauth_status gauth__adc_gcloud_path(const char *cloudsdk_config,
                                    const char *home, char **out,
                                    gauth_error *err) {
  const char *dir = cloudsdk_config, *sub = "";
  size_t dlen, n;

  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG, "out is NULL");
  *out = NULL;
  if (dir == NULL || dir[0] == '\0') {
    dir = home;
    sub = GAUTH__GCLOUD_CONFIG_DIR "/";
  }
  if (dir == NULL || dir[0] == '\0')
    return gauth__error_set(err, GAUTH_E_NOT_FOUND,
                            "neither " GAUTH__ENV_CLOUDSDK_CONFIG
                            " nor HOME is set");
  dlen = strlen(dir);
  while (dlen > 1 && dir[dlen - 1] == '/') dlen--;
  n = dlen + 1 + strlen(sub) + sizeof(GAUTH__ADC_FILE_NAME);
  *out = malloc(n);
  if (*out == NULL) return gauth__error_nomem(err);
  snprintf(*out, n, "%.*s%s%s" GAUTH__ADC_FILE_NAME, (int)dlen, dir,
           dir[dlen - 1] == '/' ? "" : "/", sub);
  return GAUTH_OK;
}

/* ---- what was tried ------------------------------------------------------ */

typedef struct tried {
  char text[GAUTH_ERROR_MESSAGE_SIZE];
  size_t len;
} tried;

static void tried_add(tried *t, const char *fmt, ...) GAUTH_PRINTF(2, 3);
static void tried_add(tried *t, const char *fmt, ...) {
  va_list ap;
  int n;
  if (t->len + 3 >= sizeof(t->text)) return;
  if (t->len > 0) {
    memcpy(t->text + t->len, "; ", 3);
    t->len += 2;
  }
  va_start(ap, fmt);
  n = vsnprintf(t->text + t->len, sizeof(t->text) - t->len, fmt, ap);
  va_end(ap);
  if (n > 0) t->len += (size_t)n;
  if (t->len >= sizeof(t->text)) t->len = sizeof(t->text) - 1;
}

static const char *env_nonempty(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* $HOME, else the password database's home directory (into buf). */
static const char *home_dir(char *buf, size_t n) {
  const char *h = env_nonempty("HOME");
  struct passwd pw, *res = NULL;
  if (h != NULL) return h;
  if (getpwuid_r(getuid(), &pw, buf, n, &res) == 0 && res != NULL &&
      res->pw_dir != NULL && res->pw_dir[0] != '\0')
    return res->pw_dir;
  return NULL;
}

/* A credentials file found by ADC: its errors are final; origin "WHAT
 * PATH" or "WHAT=PATH". */
static gauth_status from_found_file(gauth_credentials **out, const char *path,
                                    const char *what, const char *sep,
                                    const gauth_credentials_options *copts,
                                    gauth_error *err) {
  char *origin;
  size_t n;
  gauth_status st = gauth_credentials_from_file(out, path, copts, err);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "%s", what);
    return st;
  }
  n = strlen(what) + strlen(sep) + strlen(path) + 1;
  origin = malloc(n);
  if (origin == NULL) {
    st = gauth__error_nomem(err);
  } else {
    snprintf(origin, n, "%s%s%s", what, sep, path);
    st = gauth__credentials_set_origin(*out, origin, err);
    free(origin);
  }
  if (st != GAUTH_OK) {
    gauth_credentials_free(*out);
    *out = NULL;
  }
  return st;
}

/* Step 2. *found: 1 when the file exists (then its outcome is final). */
static gauth_status try_gcloud(gauth_credentials **out,
                               const gauth_credentials_options *copts, tried *t,
                               int *found, gauth_error *err) {
  char pwbuf[4096], *path = NULL;
  const char *home = home_dir(pwbuf, sizeof(pwbuf));
  struct stat sb;
  gauth_error e = GAUTH_ERROR_INIT;
  gauth_status st;

  *found = 0;
  st = gauth__adc_gcloud_path(getenv(GAUTH__ENV_CLOUDSDK_CONFIG), home, &path,
                              &e);
  if (st == GAUTH_E_NOT_FOUND) {
    tried_add(t, "gcloud ADC file: %s", e.message);
    return GAUTH_OK;
  }
  if (st != GAUTH_OK) {
    gauth__error_copy(err, &e);
    return st;
  }
  if (stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
    tried_add(t, "%.*s: no such file", PATH_MAX_SHOWN, path);
    free(path);
    return GAUTH_OK;
  }
  *found = 1;
  st = from_found_file(out, path, "gcloud ADC file", " ", copts, err);
  free(path);
  return st;
}

/* Step 3. *found: 1 when the metadata server was detected. */
static gauth_status try_metadata(gauth_credentials **out,
                                 const gauth_credentials_options *copts,
                                 tried *t, int *found, gauth_error *err) {
  gauth_metadata *md = NULL;
  gauth_metadata_detection det;
  gauth_status st;

  *found = 0;
  memset(&det, 0, sizeof(det));
  st = gauth_metadata_new(&md, copts != NULL ? copts->options : NULL, err);
  if (st == GAUTH_OK) st = gauth_metadata_detect(md, &det, err);
  gauth_metadata_free(md);
  if (st != GAUTH_OK) {
    gauth__error_prefix(err, "metadata server detection");
    return st;
  }
  if (!det.present) {
    tried_add(t, "metadata server: %s%s", det.detail,
              det.basis == GAUTH_METADATA_BY_MODE
                  ? ""
                  : " (GAUTH_METADATA_DETECTION=none to skip)");
    return GAUTH_OK;
  }
  *found = 1;
  return gauth_credentials_from_metadata(out, copts, err);
}

/* One debug line saying what ADC chose; returns st. */
static gauth_status found_log(const gauth__logger *lg,
                              const gauth_credentials *c, gauth_status st) {
  if (st == GAUTH_OK && c != NULL)
    gauth__log(lg, GAUTH_LOG_DEBUG, "ADC: %s credentials from %s",
               gauth_credentials_type_name(gauth_credentials_get_type(c)),
               gauth_credentials_origin(c));
  return st;
}

gauth_status gauth_credentials_default(gauth_credentials **out,
                                       const gauth_credentials_options *copts,
                                       gauth_error *err) {
  const char *gac;
  gauth__logger lg;
  tried t = {{0}, 0};
  int found = 0;
  gauth_status st;

  gauth_error_clear(err);
  if (out == NULL)
    return gauth__error_set(err, GAUTH_E_INVALID_ARG,
                            "gauth_credentials_default: out is NULL");
  *out = NULL;
  gauth__logger_init(&lg, copts != NULL ? copts->options : NULL);
  gac = env_nonempty(GAUTH__ENV_APPLICATION_CREDENTIALS);
  if (gac != NULL) {
    st = from_found_file(out, gac, GAUTH__ENV_APPLICATION_CREDENTIALS, "=",
                         copts, err);
    return found_log(&lg, *out, st);
  }
  tried_add(&t, GAUTH__ENV_APPLICATION_CREDENTIALS " not set");
  st = try_gcloud(out, copts, &t, &found, err);
  if (st != GAUTH_OK || found) return found_log(&lg, *out, st);
  st = try_metadata(out, copts, &t, &found, err);
  if (st != GAUTH_OK || found) return found_log(&lg, *out, st);
  gauth__log(&lg, GAUTH_LOG_DEBUG, "ADC: nothing found: %s", t.text);
  return gauth__error_set(
      err, GAUTH_E_NO_CREDENTIALS,
      "no credentials found: %s. Run `gcloud auth "
      "application-default login`, or set " GAUTH__ENV_APPLICATION_CREDENTIALS
      " to a credentials file",
      t.text);
}
