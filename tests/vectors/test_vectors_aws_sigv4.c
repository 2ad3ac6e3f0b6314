/* AWS's Signature Version 4 test suite (aws-sig-v4-test-suite in
 * ../shared/vectors, when present: one folder per case holding NAME.req,
 * the raw request, and NAME.authz, the Authorization value AWS expects),
 * through libgauth's signer (lib/aws_sigv4.c). The suite's credentials,
 * region and service are fixed by its README: AKIDEXAMPLE,
 * wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service. Without
 * the folder the test skips, saying so.
 *
 * libgauth signs URLs as they go on the wire (already percent-encoded)
 * and refuses a header given twice or one continued over lines; cases that
 * need otherwise (literal spaces or UTF-8 in the path, path normalization,
 * duplicate or multi-line headers) count as policy when they differ. */
#define _GNU_SOURCE /* timegm */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <criterion/criterion.h>

#include "aws_sigv4.h"
#include "vectors_util.h"

#define SUITE "aws-sig-v4-test-suite"

static vec_tally tally = {.name = "aws-sig-v4-test-suite"};
static size_t suite_len;

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Runs one NAME.req against NAME.authz. */
static void run_case(const char *req_path) {
  char authz_path[4096], *req, *want, *line, *save = NULL, *body;
  char method[16], target[2048], url[2300], host[256] = "";
  gauth__sigv4_header h[32];
  size_t n = 0;
  int lenient, twice = 0, multiline = 0;
  struct tm tm;
  gauth__sigv4_request r;
  gauth__sigv4_result o;
  gauth_error err = GAUTH_ERROR_INIT;
  snprintf(authz_path, sizeof authz_path, "%.*s.authz",
           (int)(strlen(req_path) - 4), req_path);
  if ((want = slurp(authz_path)) == NULL) return;
  req = slurp(req_path);
  cr_assert_not_null(req, "cannot read %s", req_path);
  tally.cases++;
  memset(&r, 0, sizeof r);
  memset(&tm, 0, sizeof tm);
  body = strstr(req, "\n\n");
  if (body != NULL) *body = '\0', body += 2;
  line = strtok_r(req, "\n", &save);
  cr_assert_eq(sscanf(line, "%15s %2047[^\n]", method, target), 2, "%s",
               req_path);
  *strrchr(target, ' ') = '\0'; /* " HTTP/1.1" */
  while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
    char *colon = strchr(line, ':');
    if (line[0] == ' ' || line[0] == '\t' || colon == NULL) {
      multiline = 1;
      continue;
    }
    *colon = '\0';
    if (strcasecmp(line, "Host") == 0) {
      snprintf(host, sizeof host, "%s", colon + 1);
    } else if (strcasecmp(line, "X-Amz-Date") == 0) {
      strptime(colon + 1, "%Y%m%dT%H%M%SZ", &tm);
    } else if (strcasecmp(line, "X-Amz-Security-Token") == 0) {
      r.session_token = colon + 1;
    } else if (n < 32) {
      for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, line) == 0) twice = 1;
      h[n].name = line;
      h[n++].value = colon + 1;
    }
  }
  snprintf(url, sizeof url, "https://%s%s", host, target);
  lenient = twice || multiline || strpbrk(target, " ") != NULL ||
            strstr(req_path, "normalize-path") != NULL ||
            strstr(req_path, "utf8") != NULL;
  r.method = method;
  r.url = url;
  r.region = "us-east-1";
  r.service = "service";
  r.headers = h;
  r.header_count = n;
  r.body = body;
  r.body_len = body ? strlen(body) : 0;
  r.time = (int64_t)timegm(&tm);
  r.access_key_id = "AKIDEXAMPLE";
  r.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  want[strcspn(want, "\r\n")] = '\0';
  if (gauth__sigv4_sign(&r, &o, &err) == GAUTH_OK &&
      strcmp(o.authorization, want) == 0) {
    tally.valid_ok++;
  } else if (lenient) {
    tally.policy++;
    vec_note(&tally,
             "a path with spaces, UTF-8 or dot segments, or a "
             "duplicate or multi-line header (see the file comment)");
  } else {
    tally.unexpected++;
    fprintf(stderr, "FAIL %s: %s\n", req_path + suite_len,
            err.message[0] ? err.message : "another Authorization value");
  }
  gauth__sigv4_result_cleanup(&o);
  free(req);
  free(want);
}

static int visit(const char *path, const struct stat *st, int type,
                 struct FTW *ftw) {
  size_t n = strlen(path);
  (void)st, (void)ftw;
  if (type == FTW_F && n > 4 && strcmp(path + n - 4, ".req") == 0)
    run_case(path);
  return 0;
}

Test(vectors, aws_sigv4_suite) {
  char *dir = vec_path(SUITE);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr,
            "SKIPPED: %s is absent: AWS's SigV4 test suite was NOT "
            "run\n",
            dir);
    free(dir);
    cr_skip_test("%s is absent: AWS's SigV4 test suite was NOT run", SUITE);
  }
  suite_len = strlen(dir);
  cr_assert_eq(nftw(dir, visit, 16, FTW_PHYS), 0);
  free(dir);
  cr_assert_gt(tally.cases, 0, "no case in the suite");
  vec_report(&tally);
}
