/* libFuzzer target for the URL policy (lib/url.c): endpoint overrides
 * (gauth__endpoint_validate), the endpoint rewrite of Google URLs
 * (gauth__url_apply_endpoint), the transport check
 * (gauth__url_check_transport, and its AWS IMDS variant) and the host
 * predicates. The input is "URL\nENDPOINT" (no newline: URL alone, no
 * endpoint), NUL bytes cut each part short.
 *
 * Beyond "no crash, no leak" it checks:
 *   - with no endpoint, apply_endpoint is a byte-exact copy or a refusal;
 *     with one, rewriting the result again gives the same URL (the
 *     rewrite is idempotent);
 *   - a refusal has a known status, a message and a NULL output; a URL
 *     the transport accepts is http or https;
 *   - no message shows 13 bytes of the user info, query or fragment of
 *     the URL or the endpoint, nor (transport check) of the URL's path;
 *   - gauth__echo_setting returns its argument or "(not shown)", the
 *     argument only when it is short, printable and without '@?#'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_check.h"
#include "url.h"

/* The input split into URL and endpoint (NULL: no newline). Free *url. */
static void split(const uint8_t *data, size_t size, char **url,
                  const char **endpoint) {
  char *nl;
  *url = fuzz_strndup(data, size);
  *endpoint = NULL;
  if ((nl = strchr(*url, '\n')) != NULL) {
    *nl = '\0';
    *endpoint = nl + 1;
  }
}

static void again_endpoint(const uint8_t *data, size_t size, gauth_error *err) {
  char *url;
  const char *endpoint;
  split(data, size, &url, &endpoint);
  if (endpoint != NULL)
    (void)gauth__endpoint_validate(endpoint, "GAUTH_ENDPOINT", err);
  free(url);
}

static void again_apply(const uint8_t *data, size_t size, gauth_error *err) {
  char *url, *out = NULL;
  const char *endpoint;
  split(data, size, &url, &endpoint);
  if (gauth__url_apply_endpoint(url, endpoint, NULL, &out, err) == GAUTH_OK)
    free(out);
  free(url);
}

static void again_transport(const uint8_t *data, size_t size, gauth_error *err,
                            int imds) {
  char *url;
  const char *endpoint;
  split(data, size, &url, &endpoint);
  (void)gauth__url_check_transport_imds(url, "metadata.google.internal",
                                        "169.254.169.254:80", imds, err);
  free(url);
}

static void again_transport0(const uint8_t *data, size_t size,
                             gauth_error *err) {
  again_transport(data, size, err, 0);
}

static void again_transport1(const uint8_t *data, size_t size,
                             gauth_error *err) {
  again_transport(data, size, err, 1);
}

/* 1 when msg shows a run of u's user info, query or fragment (and path,
 * when with_path), each of 16 bytes or more. */
static int shows_parts(const uint8_t *data, size_t size, const char *in,
                       const char *msg, const char *u, int with_path,
                       fuzz_again_fn again) {
  const char *auth = u, *end, *at = NULL, *p;
  /* As libcurl reads it: "scheme:" then any slashes, then the
   * authority (without a scheme, from the start). */
  p = u + strspn(u,
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789+-.");
  if (p > u && *p == ':') auth = p + 1 + strspn(p + 1, "/\\");
  end = auth + strcspn(auth, "/?#");
  for (p = auth; p < end; p++)
    if (*p == '@') at = p;
  if (at != NULL && at - auth >= FUZZ_SECRET_MIN &&
      fuzz_shows_at(data, size, msg, auth, (size_t)(at - auth), auth - in,
                    again))
    return 1;
  if (with_path) {
    if (strlen(end) >= FUZZ_SECRET_MIN &&
        fuzz_shows_at(data, size, msg, end, strlen(end), end - in, again))
      return 1;
  } else if ((p = strpbrk(end, "?#")) != NULL) {
    if (strlen(p) >= FUZZ_SECRET_MIN &&
        fuzz_shows_at(data, size, msg, p, strlen(p), p - in, again))
      return 1;
  }
  return 0;
}

static void check_echo(const char *s) {
  const char *e = gauth__echo_setting(s);
  CHECK(e == s || strcmp(e, "(not shown)") == 0);
  if (e == s) {
    CHECK(strlen(s) <= 100 && strpbrk(s, "@?# ") == NULL);
    for (const char *p = s; *p; p++)
      CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = fuzz_strndup(data, size), *nl = strchr(in, '\n');
  const char *url = in, *endpoint = NULL;
  char *out = (char *)"junk", *again = (char *)"junk";
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st;

  if (nl != NULL) {
    *nl = '\0';
    endpoint = nl + 1;
  }
  check_echo(url);
  (void)gauth__host_is_loopback(url);
  (void)gauth__host_is_aws_imds(url);
  (void)gauth__host_is_google(url, endpoint);
  if (endpoint != NULL) (void)gauth__host_matches(url, "443", endpoint);

  if (endpoint != NULL) {
    st = gauth__endpoint_validate(endpoint, "GAUTH_ENDPOINT", &err);
    if (st != GAUTH_OK) {
      CHECK(st == GAUTH_E_INVALID_ARG || st == GAUTH_E_NOMEM);
      CHECK(err.code == st && err.message[0] != '\0');
      CHECK(!shows_parts(data, size, in, err.message, endpoint, 0,
                         again_endpoint));
    }
  }

  err = (gauth_error)GAUTH_ERROR_INIT;
  st = gauth__url_apply_endpoint(url, endpoint, NULL, &out, &err);
  if (st == GAUTH_OK) {
    CHECK(out != NULL);
    if (endpoint == NULL) CHECK(strcmp(out, url) == 0);
    if (endpoint != NULL) {
      gauth_error e2 = GAUTH_ERROR_INIT;
      CHECK(gauth__url_apply_endpoint(out, endpoint, NULL, &again, &e2) ==
            GAUTH_OK);
      CHECK(strcmp(again, out) == 0);
      free(again);
    }
    free(out);
  } else {
    CHECK(out == NULL);
    CHECK(st == GAUTH_E_INVALID_ARG || st == GAUTH_E_NOMEM);
    CHECK(err.code == st && err.message[0] != '\0');
    CHECK(!shows_parts(data, size, in, err.message, url, 0, again_apply));
    if (endpoint != NULL)
      CHECK(
          !shows_parts(data, size, in, err.message, endpoint, 0, again_apply));
  }

  for (int imds = 0; imds <= 1; imds++) {
    err = (gauth_error)GAUTH_ERROR_INIT;
    st = gauth__url_check_transport_imds(url, "metadata.google.internal",
                                         "169.254.169.254:80", imds, &err);
    if (st != GAUTH_OK) {
      CHECK(st == GAUTH_E_INSECURE_URL || st == GAUTH_E_INVALID_ARG ||
            st == GAUTH_E_NOMEM);
      CHECK(err.code == st && err.message[0] != '\0');
      CHECK(!shows_parts(data, size, in, err.message, url, 1,
                         imds ? again_transport1 : again_transport0));
    } else {
      CHECK(strncasecmp(url, "http", 4) == 0);
    }
  }
  free(in);
  return 0;
}
