/* lib/http.c over TLS: a libmicrohttpd HTTPS server on 127.0.0.1 with a
 * self-signed certificate made at run time. Peer verification is always
 * on: trusted only through ca_bundle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "http.h"
#include "test_server.h"
#include "test_util.h"

static const ts_response OK_REPLY = {TS_REPLY, 200, "secure", 0,
                                     {NULL},   0,   0,        0};

typedef struct tls_fixture {
  ts_server *server;
  char *cert;
  char *key;
  char *cert_file;
} tls_fixture;

static void fixture_start(tls_fixture *f) {
  if (!ts_tls_supported())
    cr_skip_test(
        "libmicrohttpd was built without TLS support: "
        "HTTPS tests skipped");
  tu_make_cert(&f->cert, &f->key);
  f->cert_file = tu_write_temp(f->cert);
  f->server = ts_start_tls(f->cert, f->key);
  ts_route(f->server, "/ok", &OK_REPLY, 1);
}

static void fixture_stop(tls_fixture *f) {
  ts_stop(f->server);
  unlink(f->cert_file);
  free(f->cert_file);
  free(f->cert);
  free(f->key);
}

static gauth__http *http_with_ca(const char *ca_bundle) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth__config cfg;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth__http *h = NULL;
  o.ca_bundle = ca_bundle;
  o.connect_timeout_ms = 2000;
  o.timeout_ms = 3000;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 20;
  cr_assert_eq(gauth__config_init(&cfg, &o, &err), GAUTH_OK, "%s", err.message);
  cfg.rng_seed = 7;
  cr_assert_eq(gauth__http_new(&h, &cfg, &err), GAUTH_OK, "%s", err.message);
  gauth__config_cleanup(&cfg);
  return h;
}

Test(http_tls, untrusted_certificate_refused_and_not_retried) {
  tls_fixture f;
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  fixture_start(&f);
  /* The system's CAs do not include a certificate made a moment ago. */
  h = http_with_ca(NULL);
  cr_assert_eq(gauth__http_get(h, ts_url(f.server, "/ok", url, sizeof(url)),
                               NULL, NULL, &resp, &err),
               GAUTH_E_TLS, "%s", err.message);
  cr_assert_eq(err.code, GAUTH_E_TLS);
  cr_assert_eq(resp.attempts, 1);
  cr_assert_eq(ts_connections(f.server), 1, "not retried");
  cr_assert_eq(ts_count(f.server, NULL), 0, "no request got through");
  cr_assert(strstr(err.message, "GET https://127.0.0.1:") == err.message, "%s",
            err.message);
  cr_assert(strstr(err.message, "TLS") != NULL, "%s", err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  fixture_stop(&f);
}

Test(http_tls, trusted_through_ca_bundle) {
  tls_fixture f;
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  int i;
  fixture_start(&f);
  h = http_with_ca(f.cert_file);
  for (i = 0; i < 2; i++) {
    cr_assert_eq(gauth__http_get(h, ts_url(f.server, "/ok", url, sizeof(url)),
                                 NULL, NULL, &resp, &err),
                 GAUTH_OK, "%s", err.message);
    cr_assert_eq(resp.status, 200);
    cr_assert_str_eq(resp.body, "secure");
    gauth__http_response_cleanup(&resp);
  }
  cr_assert_eq(ts_count(f.server, "/ok"), 2);
  cr_assert_eq(ts_connections(f.server), 1, "TLS connection reused");
  gauth__http_free(h);
  fixture_stop(&f);
}

Test(http_tls, localhost_name_matches_san) {
  tls_fixture f;
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  fixture_start(&f);
  h = http_with_ca(f.cert_file);
  snprintf(url, sizeof(url), "https://localhost:%u/ok",
           (unsigned)ts_port(f.server));
  /* localhost may resolve to ::1 first, where nothing listens; curl then
   * tries 127.0.0.1. Either way the name is checked against the SAN. */
  cr_assert_eq(gauth__http_get(h, url, NULL, NULL, &resp, &err), GAUTH_OK, "%s",
               err.message);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  fixture_stop(&f);
}

Test(http_tls, missing_ca_bundle_file) {
  tls_fixture f;
  gauth__http *h;
  gauth__http_response resp;
  gauth_error err = GAUTH_ERROR_INIT;
  char url[256];
  fixture_start(&f);
  h = http_with_ca("/nonexistent/gauth-ca.pem");
  cr_assert_eq(gauth__http_get(h, ts_url(f.server, "/ok", url, sizeof(url)),
                               NULL, NULL, &resp, &err),
               GAUTH_E_TLS, "%s", err.message);
  cr_assert_eq(resp.attempts, 1);
  gauth__http_response_cleanup(&resp);
  gauth__http_free(h);
  fixture_stop(&f);
}
