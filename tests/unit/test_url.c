/* lib/url.c: loopback and Google host tests, the endpoint rewrite, endpoint
 * validation and the transport's URL check. Pure: nothing connects. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "error_internal.h"
#include "url.h"

/* ---- gauth__host_is_loopback ------------------------------------------ */

static const struct {
  const char *host;
  int loopback;
} loopback_cases[] = {
    {"127.0.0.1", 1},
    {"127.255.255.254", 1},
    {"127.0.0.0", 1},
    {"127.1", 0}, /* not a dotted quad */
    {"0x7f.0.0.1", 0},
    {"127.0.0.1.", 0},
    {"::1", 1},
    {"[::1]", 1},
    {"0:0:0:0:0:0:0:1", 1},
    {"[0:0:0:0:0:0:0:1]", 1},
    {"::ffff:127.0.0.1", 1},
    {"[::ffff:127.3.2.1]", 1},
    {"::ffff:128.0.0.1", 0},
    {"::2", 0},
    {"::", 0},
    {"[::1", 0},
    {"localhost", 1},
    {"LOCALHOST.", 1},
    {"LocalHost", 1},
    {"localhost..", 0},
    {"localhost.example", 0},
    {"my.localhost", 0},
    {"128.0.0.1", 0},
    {"10.0.0.1", 0},
    {"169.254.169.254", 0},
    {"0.0.0.0", 0},
    {"", 0},
};

Test(url, host_is_loopback_table) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(loopback_cases); i++) {
    cr_expect_eq(gauth__host_is_loopback(loopback_cases[i].host),
                 loopback_cases[i].loopback, "host \"%s\": expected %d",
                 loopback_cases[i].host, loopback_cases[i].loopback);
  }
  cr_expect_eq(gauth__host_is_loopback(NULL), 0);
}

/* ---- gauth__host_is_google -------------------------------------------- */

static const struct {
  const char *host;
  const char *universe;
  int google;
} google_cases[] = {
    {"oauth2.googleapis.com", NULL, 1},
    {"www.googleapis.com", NULL, 1},
    {"europe-west1-run.googleapis.com", NULL, 1},
    {"OAUTH2.GoogleAPIs.COM", NULL, 1},
    {"oauth2.googleapis.com.", NULL, 1},
    {"a.b.googleapis.com", NULL, 1},
    {"accounts.google.com", NULL, 1},
    {"ACCOUNTS.GOOGLE.COM.", NULL, 1},
    {"www.gstatic.com", NULL, 1},
    {"googleapis.com", NULL, 0},
    {"googleapis.com.", NULL, 0},
    {".googleapis.com", NULL, 0},
    {"googleapis.com.evil.example", NULL, 0},
    {"oauth2.googleapis.com.evil.example", NULL, 0},
    {"evilgoogleapis.com", NULL, 0},
    {"gstatic.com", NULL, 0},
    {"evil.gstatic.com", NULL, 0},
    {"x.google.com", NULL, 0},
    {"google.com", NULL, 0},
    {"accounts.google.com.evil", NULL, 0},
    {"127.0.0.1", NULL, 0},
    {"", NULL, 0},
    {".", NULL, 0},
    /* A custom universe adds its subdomains; googleapis.com stays. */
    {"oauth2.example-universe.test", "example-universe.test", 1},
    {"OAUTH2.EXAMPLE-UNIVERSE.TEST.", "example-universe.test", 1},
    {"oauth2.example-universe.test", "example-universe.test.", 1},
    {"example-universe.test", "example-universe.test", 0},
    {"evilexample-universe.test", "example-universe.test", 0},
    {"oauth2.example-universe.test.evil", "example-universe.test", 0},
    {"oauth2.googleapis.com", "example-universe.test", 1},
    {"oauth2.example-universe.test", NULL, 0},
    {"oauth2.example-universe.test", "", 0},
};

Test(url, host_is_google_table) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(google_cases); i++) {
    cr_expect_eq(
        gauth__host_is_google(google_cases[i].host, google_cases[i].universe),
        google_cases[i].google, "host \"%s\" universe %s: expected %d",
        google_cases[i].host,
        google_cases[i].universe ? google_cases[i].universe : "NULL",
        google_cases[i].google);
  }
  cr_expect_eq(gauth__host_is_google(NULL, NULL), 0);
}

/* ---- gauth__host_matches ---------------------------------------------- */

static const struct {
  const char *host, *port, *hostport;
  int match;
} match_cases[] = {
    {"metadata.google.internal", "80", "metadata.google.internal", 1},
    {"metadata.google.internal", NULL, "metadata.google.internal", 1},
    {"METADATA.google.internal", "80", "metadata.google.internal.", 1},
    {"metadata.google.internal", "80", "metadata.google.internal:80", 1},
    {"metadata.google.internal", "8080", "metadata.google.internal:80", 0},
    {"metadata.google.internal", NULL, "metadata.google.internal:80", 0},
    {"127.0.0.1", "9", "127.0.0.1:9", 1},
    {"127.0.0.1", "09", "127.0.0.1:9", 1},
    {"127.0.0.1", "10", "127.0.0.1:9", 0},
    {"169.254.169.254", "80", "169.254.169.254", 1},
    {"169.254.169.25", "80", "169.254.169.254", 0},
    {"[::1]", "8080", "[::1]:8080", 1},
    {"[::1]", "8080", "[0:0::1]", 1},
    {"[::1]", "8081", "[::1]:8080", 0},
    {"[::2]", "8080", "[::1]:8080", 0},
    {"evil.example", "80", "metadata.google.internal", 0},
    {"metadata.google.internal.evil", "80", "metadata.google.internal", 0},
    {"metadata.google.internal", "80", "", 0},
    {"metadata.google.internal", "80", "metadata.google.internal:", 0},
    {"metadata.google.internal", "80", "metadata.google.internal:x", 0},
};

Test(url, host_matches_table) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(match_cases); i++) {
    cr_expect_eq(gauth__host_matches(match_cases[i].host, match_cases[i].port,
                                     match_cases[i].hostport),
                 match_cases[i].match, "%s port %s vs \"%s\": expected %d",
                 match_cases[i].host,
                 match_cases[i].port ? match_cases[i].port : "NULL",
                 match_cases[i].hostport, match_cases[i].match);
  }
  cr_expect_eq(gauth__host_matches(NULL, "80", "x"), 0);
  cr_expect_eq(gauth__host_matches("x", "80", NULL), 0);
}

/* ---- gauth__endpoint_validate ----------------------------------------- */

static const struct {
  const char *endpoint;
  int ok;
} endpoint_cases[] = {
    {"http://127.0.0.1:8080", 1},
    {"http://127.0.0.1:8080/", 1},
    {"https://private.example", 1},
    {"HTTPS://private.example:443", 1},
    {"http://[::1]:9", 1},
    {"http://localhost", 1},
    {"http://127.0.0.1:8080/v1", 0},
    {"http://127.0.0.1:8080/.", 0},
    {"http://127.0.0.1:8080?x=1", 0},
    {"http://127.0.0.1:8080/?x=1", 0},
    {"http://127.0.0.1:8080#frag", 0},
    {"http://user:pw@127.0.0.1:8080", 0},
    {"ftp://127.0.0.1", 0},
    {"file:///etc/passwd", 0},
    {"127.0.0.1:8080", 0},
    {"not a url", 0},
    {"http://", 0},
    {"http://127.0.0.1:99999", 0},
    {"", 0},
};

Test(url, endpoint_validate_table) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(endpoint_cases); i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_status st = gauth__endpoint_validate(endpoint_cases[i].endpoint,
                                               "TEST_SETTING", &err);
    if (endpoint_cases[i].ok) {
      cr_expect_eq(st, GAUTH_OK, "\"%s\" refused: %s",
                   endpoint_cases[i].endpoint, err.message);
    } else {
      cr_expect_eq(st, GAUTH_E_INVALID_ARG, "\"%s\" accepted (%d)",
                   endpoint_cases[i].endpoint, (int)st);
      cr_expect_eq(err.code, GAUTH_E_INVALID_ARG);
      cr_expect(strstr(err.message, "TEST_SETTING") != NULL,
                "message does not name the setting: %s", err.message);
    }
  }
  cr_expect_eq(gauth__endpoint_validate(NULL, "X", NULL), GAUTH_E_INVALID_ARG);
}

Test(url, endpoint_validate_hides_password) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__endpoint_validate("http://u:SECRETCANARY@127.0.0.1:1",
                                        "GAUTH_ENDPOINT", &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "SECRETCANARY") == NULL, "%s", err.message);
  cr_expect(strstr(err.message, "user info") != NULL, "%s", err.message);
  cr_assert_eq(gauth__endpoint_validate("http://127.0.0.1:1/?t=SECRETCANARY",
                                        "GAUTH_ENDPOINT", &err),
               GAUTH_E_INVALID_ARG);
  cr_expect(strstr(err.message, "SECRETCANARY") == NULL, "%s", err.message);
}

/* ---- gauth__url_apply_endpoint ---------------------------------------- */

static const struct {
  const char *url, *endpoint, *universe, *want;
} rewrite_cases[] = {
    {"https://oauth2.googleapis.com/token", "http://127.0.0.1:8080", NULL,
     "http://127.0.0.1:8080/token"},
    {"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
     "a@b.iam.gserviceaccount.com:generateAccessToken",
     "http://127.0.0.1:8080", NULL,
     "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/"
     "a@b.iam.gserviceaccount.com:generateAccessToken"},
    {"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
     "a%40b.iam.gserviceaccount.com:signJwt",
     "http://127.0.0.1:8080", NULL,
     "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/"
     "a%40b.iam.gserviceaccount.com:signJwt"},
    {"https://www.googleapis.com/oauth2/v3/certs?audience=https%3A%2F%2Fx"
     "&a=b+c&e=%20",
     "http://127.0.0.1:8080/", NULL,
     "http://127.0.0.1:8080/oauth2/v3/certs?audience=https%3A%2F%2Fx"
     "&a=b+c&e=%20"},
    /* The path is kept as is: no dot folding, no re-encoding. */
    {"https://run.googleapis.com/v2/a/../b/%7Efoo/~bar", "http://127.0.0.1:1",
     NULL, "http://127.0.0.1:1/v2/a/../b/%7Efoo/~bar"},
    /* The endpoint's port replaces, or removes, the original's. */
    {"https://oauth2.googleapis.com:443/token", "http://127.0.0.1:8080", NULL,
     "http://127.0.0.1:8080/token"},
    {"https://oauth2.googleapis.com:8443/token", "https://private.example",
     NULL, "https://private.example/token"},
    {"https://oauth2.googleapis.com/token", "https://private.example:444", NULL,
     "https://private.example:444/token"},
    {"https://oauth2.googleapis.com/token", "http://[::1]:9", NULL,
     "http://[::1]:9/token"},
    /* Case and trailing dot on the Google host. */
    {"https://OAuth2.GOOGLEAPIS.com./token", "http://127.0.0.1:8080", NULL,
     "http://127.0.0.1:8080/token"},
    {"https://accounts.google.com/o/oauth2/auth", "http://127.0.0.1:2", NULL,
     "http://127.0.0.1:2/o/oauth2/auth"},
    {"https://www.gstatic.com/iap/verify/public_key-jwk", "http://127.0.0.1:2",
     NULL, "http://127.0.0.1:2/iap/verify/public_key-jwk"},
    /* A base URL without a path stays one. */
    {"https://sts.googleapis.com", "http://127.0.0.1:2", NULL,
     "http://127.0.0.1:2"},
    {"https://sts.googleapis.com?x=1", "http://127.0.0.1:2", NULL,
     "http://127.0.0.1:2?x=1"},
    {"https://sts.googleapis.com/", "http://127.0.0.1:2", NULL,
     "http://127.0.0.1:2/"},
    /* A custom universe. */
    {"https://oauth2.example-universe.test/token", "http://127.0.0.1:3",
     "example-universe.test", "http://127.0.0.1:3/token"},
    {"https://oauth2.example-universe.test/token", "http://127.0.0.1:3", NULL,
     "https://oauth2.example-universe.test/token"},
    /* Other hosts: unchanged, byte for byte. */
    {"https://example.com/x?y=%2F", "http://127.0.0.1:8080", NULL,
     "https://example.com/x?y=%2F"},
    {"https://googleapis.com.evil.example/token", "http://127.0.0.1:8080", NULL,
     "https://googleapis.com.evil.example/token"},
    {"https://evilgoogleapis.com/token", "http://127.0.0.1:8080", NULL,
     "https://evilgoogleapis.com/token"},
    {"http://127.0.0.1:5000/token", "http://127.0.0.1:8080", NULL,
     "http://127.0.0.1:5000/token"},
    {"HTTPS://Example.COM:8443/a/../b", "http://127.0.0.1:8080", NULL,
     "HTTPS://Example.COM:8443/a/../b"},
    /* No endpoint: a copy. */
    {"https://oauth2.googleapis.com/token", NULL, NULL,
     "https://oauth2.googleapis.com/token"},
};

Test(url, apply_endpoint_table) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(rewrite_cases); i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    char *out = (char *)"unset";
    gauth_status st = gauth__url_apply_endpoint(
        rewrite_cases[i].url, rewrite_cases[i].endpoint,
        rewrite_cases[i].universe, &out, &err);
    cr_expect_eq(st, GAUTH_OK, "%s: %s", rewrite_cases[i].url, err.message);
    if (st != GAUTH_OK) continue;
    cr_expect_str_eq(
        out, rewrite_cases[i].want, "%s with %s", rewrite_cases[i].url,
        rewrite_cases[i].endpoint ? rewrite_cases[i].endpoint : "NULL");
    free(out);
  }
}

Test(url, apply_endpoint_errors) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *out = (char *)"unset";
  cr_expect_eq(gauth__url_apply_endpoint("not a url", "http://127.0.0.1:1",
                                         NULL, &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(out);
  cr_expect_eq(gauth__url_apply_endpoint(NULL, NULL, NULL, &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_eq(gauth__url_apply_endpoint("https://x", NULL, NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  /* A bad endpoint is reported, not ignored. */
  cr_expect_eq(gauth__url_apply_endpoint("https://oauth2.googleapis.com/t",
                                         "ftp://127.0.0.1", NULL, &out, &err),
               GAUTH_E_INVALID_ARG);
  cr_expect_null(out);
  /* ... but only matters when the URL would be rewritten. */
  cr_expect_eq(gauth__url_apply_endpoint("https://example.com/t",
                                         "ftp://127.0.0.1", NULL, &out, &err),
               GAUTH_OK);
  free(out);
}

/* ---- gauth__url_check_transport --------------------------------------- */

static const struct {
  const char *url;
  const char *mhost, *mip;
  gauth_status want;
} transport_cases[] = {
    {"https://oauth2.googleapis.com/token", NULL, NULL, GAUTH_OK},
    {"https://example.com:8443/x?y=1", NULL, NULL, GAUTH_OK},
    {"HTTPS://example.com", NULL, NULL, GAUTH_OK},
    {"https://10.0.0.1/", NULL, NULL, GAUTH_OK},
    {"http://127.0.0.1:8080/token", NULL, NULL, GAUTH_OK},
    {"http://127.9.9.9/", NULL, NULL, GAUTH_OK},
    {"http://[::1]:8080/token", NULL, NULL, GAUTH_OK},
    {"http://localhost:1/", NULL, NULL, GAUTH_OK},
    {"HTTP://LOCALHOST./", NULL, NULL, GAUTH_OK},
    /* The metadata server, with and without a port in the setting. */
    {"http://metadata.google.internal/computeMetadata/v1/",
     "metadata.google.internal", "169.254.169.254", GAUTH_OK},
    {"http://metadata.google.internal:8080/computeMetadata/v1/",
     "metadata.google.internal", "169.254.169.254", GAUTH_OK},
    {"http://metadata.google.internal/computeMetadata/v1/",
     "metadata.google.internal:80", NULL, GAUTH_OK},
    {"http://metadata.google.internal:80/", "metadata.google.internal:80", NULL,
     GAUTH_OK},
    {"http://metadata.google.internal:8080/", "metadata.google.internal:80",
     NULL, GAUTH_E_INSECURE_URL},
    {"http://169.254.169.254/computeMetadata/v1/", "metadata.google.internal",
     "169.254.169.254", GAUTH_OK},
    {"http://169.254.169.254:81/", NULL, "169.254.169.254:80",
     GAUTH_E_INSECURE_URL},
    {"http://10.1.2.3:8080/", "10.1.2.3:8080", NULL, GAUTH_OK},
    {"http://10.1.2.3:8081/", "10.1.2.3:8080", NULL, GAUTH_E_INSECURE_URL},
    {"http://metadata.google.internal.evil.example/",
     "metadata.google.internal", "169.254.169.254", GAUTH_E_INSECURE_URL},
    /* Plain http to a remote host. */
    {"http://oauth2.googleapis.com/token", "metadata.google.internal",
     "169.254.169.254", GAUTH_E_INSECURE_URL},
    {"http://example.com/", NULL, NULL, GAUTH_E_INSECURE_URL},
    {"http://128.0.0.1/", NULL, NULL, GAUTH_E_INSECURE_URL},
    {"http://localhost.example/", NULL, NULL, GAUTH_E_INSECURE_URL},
    /* Other schemes. */
    {"ftp://127.0.0.1/x", NULL, NULL, GAUTH_E_INSECURE_URL},
    {"file:///etc/passwd", NULL, NULL, GAUTH_E_INSECURE_URL},
    {"gopher://127.0.0.1/", NULL, NULL, GAUTH_E_INSECURE_URL},
    {"ws://127.0.0.1/", NULL, NULL, GAUTH_E_INSECURE_URL},
    /* User info. */
    {"https://user:pw@example.com/", NULL, NULL, GAUTH_E_INSECURE_URL},
    {"http://user@127.0.0.1:1/", NULL, NULL, GAUTH_E_INSECURE_URL},
    /* Garbage. */
    {"not a url", NULL, NULL, GAUTH_E_INVALID_ARG},
    {"", NULL, NULL, GAUTH_E_INVALID_ARG},
    {"https://", NULL, NULL, GAUTH_E_INVALID_ARG},
    {"127.0.0.1:8080/token", NULL, NULL, GAUTH_E_INVALID_ARG},
    {"https://exa mple.com/", NULL, NULL, GAUTH_E_INVALID_ARG},
    {"https://example.com:99999/", NULL, NULL, GAUTH_E_INVALID_ARG},
};

Test(url, check_transport_table) {
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(transport_cases); i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_status st = gauth__url_check_transport(transport_cases[i].url,
                                                 transport_cases[i].mhost,
                                                 transport_cases[i].mip, &err);
    cr_expect_eq(st, transport_cases[i].want,
                 "\"%s\" (metadata %s / %s): got %s, want %s: %s",
                 transport_cases[i].url,
                 transport_cases[i].mhost ? transport_cases[i].mhost : "NULL",
                 transport_cases[i].mip ? transport_cases[i].mip : "NULL",
                 gauth_status_name(st),
                 gauth_status_name(transport_cases[i].want), err.message);
    if (st != GAUTH_OK) {
      cr_expect_eq(err.code, st);
      cr_expect(err.message[0] != '\0');
    }
  }
  cr_expect_eq(gauth__url_check_transport(NULL, NULL, NULL, NULL),
               GAUTH_E_INVALID_ARG);
}

Test(url, check_transport_messages_say_why) {
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(
      gauth__url_check_transport("http://example.com:8080/x", NULL, NULL, &err),
      GAUTH_E_INSECURE_URL);
  cr_expect(strstr(err.message, "http://example.com:8080") != NULL, "%s",
            err.message);
  cr_expect(strstr(err.message, "https") != NULL, "%s", err.message);
  cr_assert_eq(
      gauth__url_check_transport("ftp://example.com/x", NULL, NULL, &err),
      GAUTH_E_INSECURE_URL);
  cr_expect(strstr(err.message, "ftp://example.com") != NULL, "%s",
            err.message);
  cr_expect(strstr(err.message, "only http and https") != NULL, "%s",
            err.message);
}

/* AWS's instance metadata addresses: plain http to them only for the AWS
 * source's requests, never for others (the metadata settings aside). */
Test(url, aws_imds_hosts) {
  static const struct {
    const char *host;
    int want;
  } hosts[] = {{"169.254.169.254", 1},
               {"[fd00:ec2::254]", 1},
               {"fd00:ec2::254", 1},
               {"[fd00:0ec2:0:0:0:0:0:254]", 1},
               {"[fd00:ec2::255]", 0},
               {"169.254.169.253", 0},
               {"169.254.169.2540", 0},
               {"[fd00:ec2::254", 0},
               {"127.0.0.1", 0},
               {"", 0},
               {"metadata.google.internal", 0}};
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(hosts); i++)
    cr_expect_eq(gauth__host_is_aws_imds(hosts[i].host), hosts[i].want, "%s",
                 hosts[i].host);
  cr_expect_eq(gauth__host_is_aws_imds(NULL), 0);
}

Test(url, check_transport_aws_imds) {
  static const char *const imds[] = {
      "http://[fd00:ec2::254]/latest/meta-data/iam/security-credentials",
      "http://[fd00:ec2::254]:8080/latest/api/token",
      "http://169.254.169.254/latest/meta-data/placement/availability-zone"};
  gauth_error err = GAUTH_ERROR_INIT;
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(imds); i++) {
    cr_expect_eq(gauth__url_check_transport_imds(imds[i], NULL, NULL, 1, &err),
                 GAUTH_OK, "%s: %s", imds[i], err.message);
    /* Without the flag (any other request), and with a Google metadata
     * setting that is not the AWS address, plain http there is refused. */
    cr_expect_eq(gauth__url_check_transport_imds(imds[i], "127.0.0.1:8080",
                                                 "127.0.0.1:8080", 0, &err),
                 GAUTH_E_INSECURE_URL, "%s", imds[i]);
  }
  /* The flag allows nothing else. */
  cr_expect_eq(gauth__url_check_transport_imds("http://[fd00:ec2::253]/", NULL,
                                               NULL, 1, &err),
               GAUTH_E_INSECURE_URL);
  cr_expect_eq(gauth__url_check_transport_imds("http://example.com/", NULL,
                                               NULL, 1, &err),
               GAUTH_E_INSECURE_URL);
  cr_expect_eq(gauth__url_check_transport_imds(
                   "http://user:pw@[fd00:ec2::254]/", NULL, NULL, 1, &err),
               GAUTH_E_INSECURE_URL);
}

/* Messages name scheme and host, never the query (it may hold a token), the
 * path, or a password. */
Test(url, messages_never_contain_secrets) {
  static const char *const urls[] = {
      "http://example.com/x?access_token=SECRETCANARY",
      "http://example.com/SECRETCANARY",
      "ftp://example.com/x?access_token=SECRETCANARY",
      "https://user:SECRETCANARY@example.com/x",
      "http://user:SECRETCANARY@127.0.0.1/x",
      "not a url?access_token=SECRETCANARY",
      "https://exa mple.com/?access_token=SECRETCANARY",
      "SECRETCANARY",
  };
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(urls); i++) {
    gauth_error err = GAUTH_ERROR_INIT;
    char *out = NULL;
    cr_expect_neq(
        gauth__url_check_transport(urls[i], "metadata.internal", NULL, &err),
        GAUTH_OK, "%s", urls[i]);
    cr_expect(strstr(err.message, "SECRETCANARY") == NULL, "%s -> %s", urls[i],
              err.message);
    cr_expect(strstr(err.message, "access_token") == NULL, "%s -> %s", urls[i],
              err.message);
    gauth_error_clear(&err);
    if (gauth__url_apply_endpoint(urls[i], "http://127.0.0.1:1", NULL, &out,
                                  &err) == GAUTH_OK) {
      free(out);
    } else {
      cr_expect(strstr(err.message, "SECRETCANARY") == NULL, "%s -> %s",
                urls[i], err.message);
    }
  }
}
