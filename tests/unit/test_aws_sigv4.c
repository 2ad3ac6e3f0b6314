/* AWS Signature Version 4 (lib/aws_sigv4.c): the canonical request, the
 * string to sign and the signature for fixed inputs. The expected hashes
 * and signatures were computed for these inputs with Python's hashlib and
 * hmac, a separate implementation of the same steps; the canonical
 * requests are written out by hand from AWS's description. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aws_sigv4.h"

#define AUD                                                                 \
  "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/" \
  "p/providers/aws"
#define SECRET "test-secret/key+0"
#define STS_URL \
  "https://sts.eu-west-3.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"

static gauth__sigv4_request sts_request(const gauth__sigv4_header *h) {
  gauth__sigv4_request r = {0};
  r.method = "POST";
  r.url = STS_URL;
  r.region = "eu-west-3";
  r.service = "sts";
  r.headers = h;
  r.header_count = 1;
  r.time = 1704164645; /* 2024-01-02T03:04:05Z */
  r.access_key_id = "AKIDTEST";
  r.secret_access_key = SECRET;
  r.session_token = "SESSION/TOKEN+1";
  return r;
}

Test(sigv4, sts_request_with_session_token) {
  gauth__sigv4_header h[] = {{"X-Goog-Cloud-Target-Resource", AUD}};
  gauth__sigv4_request r = sts_request(h);
  gauth__sigv4_result o;
  gauth_error err = GAUTH_ERROR_INIT;
  cr_assert_eq(gauth__sigv4_sign(&r, &o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(o.amz_date, "20240102T030405Z");
  cr_assert_str_eq(o.host, "sts.eu-west-3.amazonaws.com");
  cr_assert_str_eq(o.canonical_request,
                   "POST\n/\nAction=GetCallerIdentity&Version=2011-06-15\n"
                   "host:sts.eu-west-3.amazonaws.com\n"
                   "x-amz-date:20240102T030405Z\n"
                   "x-amz-security-token:SESSION/TOKEN+1\n"
                   "x-goog-cloud-target-resource:" AUD
                   "\n\n"
                   "host;x-amz-date;x-amz-security-token;"
                   "x-goog-cloud-target-resource\n"
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                   "7852b855");
  cr_assert_str_eq(o.string_to_sign,
                   "AWS4-HMAC-SHA256\n20240102T030405Z\n"
                   "20240102/eu-west-3/sts/aws4_request\n"
                   "349ee1bfae1b941c7f2d978c082f02cfeb3db71ec31a5416460bd7e3"
                   "0d6108ae");
  cr_assert_str_eq(
      o.authorization,
      "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240102/eu-west-3/sts/"
      "aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token;"
      "x-goog-cloud-target-resource, Signature=e22a9c95ed72f81cc3dc55c4c691e"
      "2148ef7bc9092c97a080e982b70fd86919f");
  gauth__sigv4_result_cleanup(&o);
}

Test(sigv4, another_secret_another_signature) {
  gauth__sigv4_header h[] = {{"x-goog-cloud-target-resource", AUD}};
  gauth__sigv4_request r = sts_request(h);
  gauth__sigv4_result o;
  r.secret_access_key = "test-secret/key+1";
  cr_assert_eq(gauth__sigv4_sign(&r, &o, NULL), GAUTH_OK);
  cr_assert_null(strstr(o.authorization, "e22a9c95ed72f81c"));
  gauth__sigv4_result_cleanup(&o);
}

Test(sigv4, query_is_decoded_encoded_and_sorted) {
  gauth__sigv4_request r = sts_request(NULL);
  gauth__sigv4_result o;
  gauth_error err = GAUTH_ERROR_INIT;
  r.header_count = 0;
  r.session_token = NULL;
  r.method = "GET";
  r.url =
      "https://example.amazonaws.com:8443/a%20b/c?z=1&b=x+y&b=%2a&a=&"
      "k=%E2%82%AC!";
  cr_assert_eq(gauth__sigv4_sign(&r, &o, &err), GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(o.host, "example.amazonaws.com:8443");
  cr_assert_str_eq(o.canonical_request,
                   "GET\n/a%2520b/c\na=&b=%2A&b=x%20y&k=%E2%82%AC%21&z=1\n"
                   "host:example.amazonaws.com:8443\n"
                   "x-amz-date:20240102T030405Z\n\n"
                   "host;x-amz-date\n"
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                   "7852b855");
  gauth__sigv4_result_cleanup(&o);
}

Test(sigv4, header_values_trimmed_and_collapsed) {
  gauth__sigv4_header h[] = {{"My-Header", "  a   b\tc  "}};
  gauth__sigv4_request r = sts_request(h);
  gauth__sigv4_result o;
  r.session_token = NULL;
  cr_assert_eq(gauth__sigv4_sign(&r, &o, NULL), GAUTH_OK);
  cr_assert_not_null(strstr(o.canonical_request, "\nmy-header:a b c\n"));
  cr_assert_str_eq(o.signed_headers, "host;my-header;x-amz-date");
  gauth__sigv4_result_cleanup(&o);
}

Test(sigv4, bad_input_refused_without_secrets) {
  gauth__sigv4_header bad_name[] = {{"Bad Name", "v"}};
  gauth__sigv4_header reserved[] = {{"Host", "evil"}};
  gauth__sigv4_header newline[] = {{"x", "a\nb"}};
  gauth__sigv4_header twice[] = {{"x-a", "1"}, {"X-A", "2"}};
  const gauth__sigv4_header *cases[] = {bad_name, reserved, newline, twice};
  size_t counts[] = {1, 1, 1, 2};
  for (size_t i = 0; i < 4; i++) {
    gauth__sigv4_request r = sts_request(cases[i]);
    gauth__sigv4_result o;
    gauth_error err = GAUTH_ERROR_INIT;
    r.header_count = counts[i];
    cr_assert_eq(gauth__sigv4_sign(&r, &o, &err), GAUTH_E_INVALID_ARG,
                 "case %zu", i);
    cr_assert_null(strstr(err.message, SECRET), "%s", err.message);
    cr_assert_null(strstr(err.message, "SESSION"), "%s", err.message);
    cr_assert_null(o.authorization);
  }
  {
    gauth__sigv4_request r = sts_request(NULL);
    gauth__sigv4_result o;
    gauth_error err = GAUTH_ERROR_INIT;
    r.header_count = 0;
    r.url = "not a url";
    cr_assert_eq(gauth__sigv4_sign(&r, &o, &err), GAUTH_E_INVALID_ARG);
    r.url = STS_URL;
    r.region = "us/east";
    cr_assert_eq(gauth__sigv4_sign(&r, &o, &err), GAUTH_E_INVALID_ARG);
    r.region = "us-east-1";
    r.time = -1;
    cr_assert_eq(gauth__sigv4_sign(&r, &o, &err), GAUTH_E_INVALID_ARG);
    r.time = 0;
    r.secret_access_key = NULL;
    cr_assert_eq(gauth__sigv4_sign(&r, &o, &err), GAUTH_E_INVALID_ARG);
  }
}

Test(sigv4, uri_encode) {
  char *s = gauth__sigv4_uri_encode("a/b c~-_.*", 10, 0);
  cr_assert_str_eq(s, "a%2Fb%20c~-_.%2A");
  free(s);
  s = gauth__sigv4_uri_encode("a/b", 3, 1);
  cr_assert_str_eq(s, "a/b");
  free(s);
}
