/* Signs one request with libgauth's SigV4 signer (lib/aws_sigv4.c) for
 * interop_aws_sigv4.mjs, which signs the same request with npm aws4 and
 * compares. Usage:
 *
 *   aws_sigv4_sign METHOD URL REGION SERVICE EPOCH KEY_ID SECRET SESSION BODY
 *                  [NAME:VALUE...]
 *
 * SESSION and BODY: "-" for none. Prints the Authorization value, the
 * x-amz-date value and the canonical request, each followed by a line
 * "--". Exit 1 (message on stderr) when signing fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_sigv4.h"

int main(int argc, char **argv) {
  gauth__sigv4_header h[16];
  gauth__sigv4_request r;
  gauth__sigv4_result o;
  gauth_error err = GAUTH_ERROR_INIT;
  size_t n = 0;
  if (argc < 10 || argc - 10 > 16) {
    fprintf(stderr,
            "usage: %s METHOD URL REGION SERVICE EPOCH KEY_ID SECRET "
            "SESSION BODY [NAME:VALUE...]\n",
            argv[0]);
    return 2;
  }
  for (int i = 10; i < argc; i++) {
    char *colon = strchr(argv[i], ':');
    if (colon == NULL) return 2;
    *colon = '\0';
    h[n].name = argv[i];
    h[n++].value = colon + 1;
  }
  memset(&r, 0, sizeof r);
  r.method = argv[1];
  r.url = argv[2];
  r.region = argv[3];
  r.service = argv[4];
  r.time = strtoll(argv[5], NULL, 10);
  r.access_key_id = argv[6];
  r.secret_access_key = argv[7];
  r.session_token = strcmp(argv[8], "-") == 0 ? NULL : argv[8];
  r.body = strcmp(argv[9], "-") == 0 ? NULL : argv[9];
  r.body_len = r.body ? strlen(r.body) : 0;
  r.headers = h;
  r.header_count = n;
  if (gauth__sigv4_sign(&r, &o, &err) != GAUTH_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  printf("%s\n--\n%s\n--\n%s\n--\n", o.authorization, o.amz_date,
         o.canonical_request);
  gauth__sigv4_result_cleanup(&o);
  return 0;
}
