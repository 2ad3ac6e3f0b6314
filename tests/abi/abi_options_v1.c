/* A program built against an earlier 0.x options.h, as one built before
 * gauth_options grew: `#include <gauth/options.h>` finds a frozen copy of
 * that header (tests/abi/v1-COMMIT/gauth/options.h, taken from git at
 * COMMIT), the rest of the headers are today's, and it links today's
 * shared library.
 *
 * Its version-1 struct is placed so that it ends exactly where a page the
 * process may not read begins: a library that reads one byte past the
 * caller's struct (a field the caller's version does not have) crashes this
 * program. Each call must also honour the fields the struct does have.
 *
 * Built once per frozen header; GAUTH_ABI_HAS_PUBSUB_FIELD says the header
 * had the two fields (pubsub_endpoint, storage_endpoint) that version 1
 * carried for a while without a version bump: a library cannot know they
 * are there, so it must ignore them. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gauth/options.h> /* the frozen copy: see the include path */
#include <gauth/credentials.h>
#include <gauth/global.h>
#include <gauth/iam.h>
#include <gauth/verifier.h>

static int failures;

#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      failures++;                                                          \
      fprintf(stderr, "abi_options_v1: FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                                        \
      fputc('\n', stderr);                                                 \
    }                                                                      \
  } while (0)

/* A gauth_options of the frozen layout whose last byte is the last readable
 * byte before a PROT_NONE page. */
static gauth_options *guarded_options(void) {
  long page = sysconf(_SC_PAGESIZE);
  unsigned char *mem;
  gauth_options init = GAUTH_OPTIONS_INIT, *opts;
  mem = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED || mprotect(mem + page, (size_t)page, PROT_NONE) != 0) {
    perror("abi_options_v1: mmap");
    return NULL;
  }
  opts = (gauth_options *)(mem + page - sizeof(gauth_options));
  memcpy(opts, &init, sizeof(init));
  return opts;
}

static void expect_url(const gauth_options *opts, gauth_service s,
                       const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *url = NULL;
  gauth_status st = gauth_service_url(opts, s, &url, &err);
  CHECK(st == GAUTH_OK, "gauth_service_url(%s): %s", gauth_service_name(s),
        err.message);
  CHECK(url != NULL && strcmp(url, want) == 0, "%s: got %s, want %s",
        gauth_service_name(s), url ? url : "(null)", want);
  gauth_free(url);
}

int main(void) {
  static const char user_json[] =
      "{\"type\":\"authorized_user\",\"client_id\":\"id.apps.example\","
      "\"client_secret\":\"s\",\"refresh_token\":\"r\"}";
  static const char *const audiences[] = {"https://svc.example", NULL};
  gauth_options *opts = guarded_options();
  gauth_error err = GAUTH_ERROR_INIT;
  char *s = NULL;
  if (opts == NULL) return 1;
  CHECK(opts->version == 1, "the frozen header's version is %u", opts->version);

  opts->endpoint = "http://127.0.0.1:9";
  opts->token_uri = "http://127.0.0.1:5/tok";
  opts->run_endpoint = "http://127.0.0.1:6/run";
  opts->timeout_ms = 1234;
#ifdef GAUTH_ABI_HAS_PUBSUB_FIELD
  /* Not a version-1 field as far as the library can tell: ignored. */
  opts->pubsub_endpoint = "http://127.0.0.1:7/ignored";
#endif

  /* Options alone. */
  expect_url(opts, GAUTH_SERVICE_TOKEN, "http://127.0.0.1:5/tok");
  expect_url(opts, GAUTH_SERVICE_RUN, "http://127.0.0.1:6/run");
  expect_url(opts, GAUTH_SERVICE_IAM, "http://127.0.0.1:9");
#ifdef GAUTH_ABI_HAS_PUBSUB_FIELD
  expect_url(opts, GAUTH_SERVICE_PUBSUB, "http://127.0.0.1:9");
#endif
  CHECK(gauth_resolve_url(opts, "https://sts.googleapis.com/v1/token", &s,
                          &err) == GAUTH_OK,
        "gauth_resolve_url: %s", err.message);
  CHECK(s != NULL && strcmp(s, "http://127.0.0.1:9/v1/token") == 0,
        "resolve: %s", s ? s : "(null)");
  gauth_free(s);
  s = NULL;
  CHECK(gauth_iam_endpoint(opts, "projects/p/topics/topic1", &s, &err) ==
            GAUTH_OK,
        "gauth_iam_endpoint: %s", err.message);
  CHECK(s != NULL && strcmp(s,
                            "POST http://127.0.0.1:9/v1/projects/p/topics/"
                            "topic1:testIamPermissions") == 0,
        "iam endpoint: %s", s ? s : "(null)");
  gauth_free(s);

  /* Options inside the other options structs. */
  {
    gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
    gauth_credentials *c = NULL;
    co.options = opts;
    CHECK(gauth_credentials_from_json(&c, user_json, strlen(user_json), &co,
                                      &err) == GAUTH_OK,
          "gauth_credentials_from_json: %s", err.message);
    gauth_credentials_free(c);
  }
  {
    gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
    gauth_verifier *v = NULL;
    vo.preset = GAUTH_VERIFIER_GOOGLE;
    vo.audiences = audiences;
    vo.http = opts;
    CHECK(gauth_verifier_new(&v, &vo, &err) == GAUTH_OK,
          "gauth_verifier_new: %s", err.message);
    gauth_verifier_free(v);
  }

  /* A version this library does not know is refused by name. */
  opts->version = 99;
  s = NULL;
  CHECK(gauth_service_url(opts, GAUTH_SERVICE_TOKEN, &s, &err) ==
                GAUTH_E_INVALID_ARG &&
            s == NULL,
        "version 99 accepted");
  CHECK(strstr(err.message, "GAUTH_OPTIONS_INIT") != NULL, "%s", err.message);

  printf("abi_options_v1: sizeof(gauth_options) = %zu in this header; %s\n",
         sizeof(gauth_options), failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
