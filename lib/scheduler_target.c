/* The URLs of Cloud Scheduler targets. libcurl's URL parser reads every
 * URL here, as lib/url.c does, so that the host judged is the host a
 * request would go to (https://run.googleapis.com@evil.example/ goes to
 * evil.example). */
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "error_internal.h"
#include "scheduler_internal.h"

/* What a URL is made of, from curl_url_get (curl_free each). */
typedef struct parsed_url {
  CURLU *h;
  char *scheme;
  char *host; /* IPv6 literals in brackets */
  char *port; /* the effective port: explicit, else the scheme's */
  char *path; /* "/" at least */
} parsed_url;

static void parsed_url_free(parsed_url *u) {
  curl_free(u->scheme);
  curl_free(u->host);
  curl_free(u->port);
  curl_free(u->path);
  curl_url_cleanup(u->h);
  memset(u, 0, sizeof(*u));
}

/* Parses an http(s) URL with a host. GAUTH_E_NOMEM, or GAUTH_E_INVALID_ARG
 * with *why saying what is wrong (static text); *u then holds nothing. */
static gauth_status parse_url(const char *url, parsed_url *u,
                              const char **why) {
  CURLUcode rc;
  memset(u, 0, sizeof(*u));
  *why = NULL;
  if ((u->h = curl_url()) == NULL) return GAUTH_E_NOMEM;
  /* As lib/url.c: any scheme parses (to be refused by name), the path is
   * kept byte for byte, nothing is repaired. */
  rc = curl_url_set(u->h, CURLUPART_URL, url,
                    CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS);
  if (rc == CURLUE_OK) rc = curl_url_get(u->h, CURLUPART_SCHEME, &u->scheme, 0);
  if (rc == CURLUE_OK) {
    rc = curl_url_get(u->h, CURLUPART_HOST, &u->host, 0);
    if (rc == CURLUE_NO_HOST) *why = "it has no host";
  }
  if (rc == CURLUE_OK)
    rc = curl_url_get(u->h, CURLUPART_PORT, &u->port, CURLU_DEFAULT_PORT);
  if (rc == CURLUE_OK) rc = curl_url_get(u->h, CURLUPART_PATH, &u->path, 0);
  if (rc == CURLUE_OK && strcasecmp(u->scheme, "http") != 0 &&
      strcasecmp(u->scheme, "https") != 0)
    *why = "the scheme is not http or https";
  if (rc == CURLUE_OK && *why == NULL) return GAUTH_OK;
  if (*why == NULL) *why = curl_url_strerror(rc);
  parsed_url_free(u);
  return rc == CURLUE_OUT_OF_MEMORY ? GAUTH_E_NOMEM : GAUTH_E_INVALID_ARG;
}

gauth_status gauth__scheduler_uri_check(const char *uri, const char *what,
                                        gauth_error *err) {
  parsed_url u;
  const char *why;
  gauth_status st = parse_url(uri, &u, &why);
  if (st == GAUTH_E_NOMEM) return gauth__error_nomem(err);
  if (st != GAUTH_OK)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "%s is not an http or https URL with a host (%s)",
                            what, why);
  parsed_url_free(&u);
  return GAUTH_OK;
}
