/* The emulator's metadata server, over HTTP, against the fixture. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

#include "emu_fixture.h"
#include "emu_spawn.h"

#define MD "/computeMetadata/v1/"
#define RUNNER "runner@demo-project.iam.gserviceaccount.com"

static const char *const flavor[] = {"Metadata-Flavor: Google", NULL};

/* GET path with the flavor header; checks status and the reply's flavor. */
static void get_ok(const char *path, long status, emu_reply *r) {
  char h[64];
  emu_http(emu_fixture_url(), "GET", path, flavor, NULL, r);
  cr_assert_eq(r->status, status, "%s: %ld %s", path, r->status, r->body);
  cr_assert_not_null(emu_reply_header_get(r, "Metadata-Flavor", h, sizeof(h)),
                     "%s: no Metadata-Flavor in the reply", path);
  cr_assert_str_eq(h, "Google");
}

static void text_is(const char *path, const char *want) {
  emu_reply r;
  char ct[64];
  get_ok(path, 200, &r);
  cr_assert_str_eq(r.body, want, "%s", path);
  cr_assert_str_eq(emu_reply_header_get(&r, "Content-Type", ct, sizeof(ct)),
                   "application/text");
  emu_reply_free(&r);
}

Test(metadata, plain_values) {
  text_is(MD "project/project-id", "demo-project");
  text_is(MD "project/numeric-project-id", "123456789012");
  text_is(MD "instance/zone", "projects/123456789012/zones/us-central1-a");
  text_is(MD "universe/universe-domain", "googleapis.com");
  text_is(MD "instance/service-accounts/default/email", RUNNER);
  text_is(MD "instance/service-accounts/" RUNNER "/email", RUNNER);
}

Test(metadata, directories) {
  emu_reply r;
  cJSON *j;
  get_ok("/", 200, &r);
  cr_assert_not_null(strstr(r.body, "computeMetadata/"));
  emu_reply_free(&r);
  get_ok(MD "instance", 200, &r); /* gcp-metadata's isAvailable() */
  cr_assert_not_null(strstr(r.body, "service-accounts/"));
  emu_reply_free(&r);
  get_ok(MD "instance/", 200, &r);
  cr_assert_not_null(strstr(r.body, "zone"));
  emu_reply_free(&r);
  get_ok(MD "instance/service-accounts/default/?recursive=true", 200, &r);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "email")->valuestring, RUNNER);
  cr_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "scopes")));
  cJSON_Delete(j);
  emu_reply_free(&r);
  get_ok(MD "instance/?recursive=true", 200, &r);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "zone")->valuestring,
                   "projects/123456789012/zones/us-central1-a");
  cr_assert_not_null(cJSON_GetObjectItem(
      cJSON_GetObjectItem(j, "serviceAccounts"), "default"));
  cJSON_Delete(j);
  emu_reply_free(&r);
  get_ok(MD "instance/nothing-here", 404, &r);
  emu_reply_free(&r);
  get_ok(MD "instance/service-accounts/someone@else.com/email", 404, &r);
  emu_reply_free(&r);
}

Test(metadata, flavor_required_both_ways) {
  static const char *const wrong[] = {"Metadata-Flavor: google", NULL};
  static const char *const xff[] = {"Metadata-Flavor: Google",
                                    "X-Forwarded-For: 10.0.0.1", NULL};
  const char *const *cases[] = {NULL, wrong, xff};
  const char *paths[] = {"/", MD "project/project-id",
                         MD "instance/service-accounts/default/token"};
  for (size_t c = 0; c < 3; c++) {
    for (size_t p = 0; p < 3; p++) {
      emu_reply r;
      char h[64];
      emu_http(emu_fixture_url(), "GET", paths[p], cases[c], NULL, &r);
      cr_assert_eq(r.status, 403, "case %zu %s: %ld", c, paths[p], r.status);
      cr_assert_null(strstr(r.body, "ya29."));
      cr_assert_not_null(
          emu_reply_header_get(&r, "Metadata-Flavor", h, sizeof(h)));
      cr_assert_not_null(strstr(r.body, c == 2 ? "X-Forwarded-For"
                                               : "Missing Metadata-Flavor"),
                         "%s", r.body);
      emu_reply_free(&r);
    }
  }
  {
    emu_reply r;
    emu_http(emu_fixture_url(), "POST", MD "project/project-id", flavor, "x",
             &r);
    cr_assert_eq(r.status, 405);
    emu_reply_free(&r);
  }
}

Test(metadata, access_token_shape) {
  emu_reply r;
  cJSON *j;
  const cJSON *t;
  get_ok(MD
         "instance/service-accounts/default/token?scopes=https://www."
         "googleapis.com/auth/cloud-platform,https://www.googleapis.com/"
         "auth/userinfo.email",
         200, &r);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  t = cJSON_GetObjectItem(j, "access_token");
  cr_assert(cJSON_IsString(t));
  cr_assert(strncmp(t->valuestring, "ya29.", 5) == 0);
  cr_assert_gt(strlen(t->valuestring), 40);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "token_type")->valuestring, "Bearer");
  cr_assert_gt(cJSON_GetObjectItem(j, "expires_in")->valuedouble, 3000);
  cr_assert_leq(cJSON_GetObjectItem(j, "expires_in")->valuedouble, 3600);
  cJSON_Delete(j);
  emu_reply_free(&r);
}

static char *identity(const char *aud, const char *format) {
  char path[512];
  emu_reply r;
  char *tok;
  snprintf(path, sizeof(path),
           MD "instance/service-accounts/default/identity?audience=%s%s%s", aud,
           format ? "&format=" : "", format ? format : "");
  get_ok(path, 200, &r);
  tok = r.body;
  return tok;
}

Test(metadata, identity_token_shape) {
  char *tok = identity("https%3A%2F%2Fexample.test%2Fx", "full");
  char *payload = NULL;
  cJSON *j;
  int64_t now = (int64_t)time(NULL);
  cr_assert_eq(gauth_jwt_decode_unverified(tok, NULL, &payload, NULL),
               GAUTH_OK);
  j = cJSON_Parse(payload);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "aud")->valuestring,
                   "https://example.test/x");
  cr_assert_str_eq(cJSON_GetObjectItem(j, "iss")->valuestring,
                   "https://accounts.google.com");
  cr_assert_str_eq(cJSON_GetObjectItem(j, "email")->valuestring, RUNNER);
  cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "email_verified")));
  cr_assert_str_eq(cJSON_GetObjectItem(j, "sub")->valuestring,
                   cJSON_GetObjectItem(j, "azp")->valuestring);
  cr_assert_eq((int64_t)cJSON_GetObjectItem(j, "exp")->valuedouble -
                   (int64_t)cJSON_GetObjectItem(j, "iat")->valuedouble,
               3600);
  cr_assert_leq(llabs((long long)(cJSON_GetObjectItem(j, "iat")->valuedouble -
                                  (double)now)),
                30);
  cJSON_Delete(j);
  gauth_free(payload);
  free(tok);

  /* format=standard (and no format): no email. */
  tok = identity("aud-2", NULL);
  cr_assert_eq(gauth_jwt_decode_unverified(tok, NULL, &payload, NULL),
               GAUTH_OK);
  cr_assert_null(strstr(payload, "\"email\""), "%s", payload);
  gauth_free(payload);
  free(tok);
  {
    emu_reply r;
    get_ok(MD "instance/service-accounts/default/identity", 400, &r);
    cr_assert_str_eq(r.body, "non-empty audience parameter required");
    emu_reply_free(&r);
  }
}

/* The identity token verifies with libgauth's Google verifier, keys fetched
 * from the emulator's /oauth2/v3/certs. */
Test(metadata, identity_token_verifies) {
  const char *aud[] = {"https://verify.example/", NULL};
  char *tok;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_options http = GAUTH_OPTIONS_INIT;
  gauth_verifier *v = NULL;
  gauth_claims *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  const char *email = NULL;
  emu_reply certs;

  emu_http(emu_fixture_url(), "GET", "/oauth2/v3/certs", NULL, NULL, &certs);
  if (certs.status == 404) {
    emu_reply_free(&certs);
    cr_skip_test("/oauth2/v3/certs is not served yet");
  }
  emu_reply_free(&certs);
  tok = identity("https%3A%2F%2Fverify.example%2F", "full");
  http.endpoint = emu_fixture_url();
  vo.preset = GAUTH_VERIFIER_GOOGLE;
  vo.audiences = aud;
  vo.require_email_verified = 1;
  vo.http = &http;
  cr_assert_eq(gauth_verifier_new(&v, &vo, &err), GAUTH_OK, "%s", err.message);
  cr_assert_eq(gauth_verifier_verify(v, tok, 0, &c, &err), GAUTH_OK, "%s (%s)",
               err.message, err.reason);
  cr_assert_eq(gauth_claims_get_string(c, "email", &email, &err), GAUTH_OK);
  cr_assert_str_eq(email, RUNNER);
  gauth_claims_free(c);
  gauth_verifier_free(v);
  free(tok);
}

/* ---- helpers: ETags, control API ---------------------------------------- */

/* The ETag of a reply (16 hex digits), asserted present. */
static void etag_of(const emu_reply *r, char out[64]) {
  cr_assert_not_null(emu_reply_header_get(r, "ETag", out, 64),
                     "no ETag in the reply (%ld)", r->status);
  cr_assert_eq(strlen(out), 16, "ETag %s", out);
  for (int i = 0; i < 16; i++)
    cr_assert_not_null(strchr("0123456789abcdef", out[i]), "ETag %s", out);
}

/* POST /emulator/v1/metadata with body at base; the reply's status. */
static long set_attrs(const char *base, const char *body, char **out) {
  return emu_control(base, "/emulator/v1/metadata", body, out);
}

static void text_at(const char *base, const char *path, long status,
                    const char *want) {
  emu_reply r;
  emu_http(base, "GET", path, flavor, NULL, &r);
  cr_assert_eq(r.status, status, "%s: %ld %s", path, r.status, r.body);
  if (want) cr_assert_str_eq(r.body, want, "%s", path);
  emu_reply_free(&r);
}

/* ---- the paths of a VM -------------------------------------------------- */

Test(metadata, vm_fields_and_formats) {
  const char *b = emu_fixture_url();
  emu_reply r;
  char h[600];
  cJSON *j;
  get_ok(MD "instance/", 200, &r);
  for (const char *const *e =
           (const char *const[]){
               "attributes/\n", "cpu-platform\n", "hostname\n", "id\n",
               "image\n", "machine-type\n", "name\n", "network-interfaces/\n",
               "scheduling/\n", "service-accounts/\n", "tags\n", "zone\n",
               NULL};
       *e; e++)
    cr_assert_not_null(strstr(r.body, *e), "%s missing in %s", *e, r.body);
  emu_reply_free(&r);
  text_is(MD "instance/machine-type",
          "projects/123456789012/machineTypes/e2-small");
  text_is(MD "instance/name", "emulator-vm");
  text_is(MD "instance/id", "4520031799277581759");
  text_is(MD "instance/hostname",
          "emulator-vm.us-central1-a.c.demo-project.internal");
  text_is(MD "instance/network-interfaces/", "0/\n");
  text_is(MD "instance/network-interfaces/0/ip", "127.0.0.1");
  text_is(MD "instance/network-interfaces/0/network",
          "projects/123456789012/networks/default");
  text_is(MD "instance/scheduling/on-host-maintenance", "MIGRATE");
  text_is(MD "instance/service-accounts/default/",
          "aliases\nemail\nidentity\n"
          "scopes\ntoken\n");
  text_is(MD "instance/service-accounts/default/scopes",
          GAUTH_SCOPE_CLOUD_PLATFORM "\n");
  text_is(MD "instance/tags?alt=text", "");
  text_is(MD "project/", "attributes/\nnumeric-project-id\nproject-id\n");
  /* alt=json of a leaf; recursive JSON in camelCase; recursive text. */
  get_ok(MD "project/project-id?alt=json", 200, &r);
  cr_assert_str_eq(r.body, "\"demo-project\"");
  cr_assert_str_eq(emu_reply_header_get(&r, "Content-Type", h, sizeof(h)),
                   "application/json");
  emu_reply_free(&r);
  get_ok(MD "instance/tags", 200, &r);
  cr_assert_str_eq(r.body, "[]");
  emu_reply_free(&r);
  get_ok(MD "?recursive=true", 200, &r);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j, "%s", r.body);
  {
    const cJSON *in = cJSON_GetObjectItem(j, "instance");
    const cJSON *ni =
        cJSON_GetArrayItem(cJSON_GetObjectItem(in, "networkInterfaces"), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(in, "machineType")->valuestring,
                     "projects/123456789012/machineTypes/e2-small");
    cr_assert_str_eq(cJSON_GetObjectItem(ni, "ip")->valuestring, "127.0.0.1");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "project"),
                                     "numericProjectId")
                     ->valuedouble,
                 123456789012.0);
  }
  cr_assert_not_null(strstr(r.body, "\"id\":4520031799277581759"));
  cJSON_Delete(j);
  emu_reply_free(&r);
  get_ok(MD "instance/service-accounts/default/?recursive=true&alt=text", 200,
         &r);
  cr_assert_str_eq(r.body, "aliases default\nemail " RUNNER
                           "\nscopes " GAUTH_SCOPE_CLOUD_PLATFORM "\n");
  emu_reply_free(&r);
  /* A directory without its slash: 301 to it. */
  emu_http(b, "GET", MD "instance/scheduling", flavor, NULL, &r);
  cr_assert_eq(r.status, 301);
  cr_assert_str_eq(emu_reply_header_get(&r, "Location", h, sizeof(h)),
                   MD "instance/scheduling/");
  emu_reply_free(&r);
  emu_http(b, "GET", MD "instance/service-accounts/default", flavor, NULL, &r);
  cr_assert_eq(r.status, 301);
  emu_reply_free(&r);
  /* Bad parameters. */
  text_at(b, MD "instance/zone?alt=yaml", 400, NULL);
  text_at(b, MD "instance/zone?wait_for_change=true&timeout_sec=x", 400, NULL);
  text_at(b, MD "instance/machineType", 404, NULL);
}

Test(metadata, etag_on_every_reply) {
  const char *b = emu_fixture_url();
  const char *paths[] = {"/",
                         MD,
                         MD "instance/zone",
                         MD "instance/?recursive=true",
                         MD "instance/nothing",
                         MD "instance/attributes",
                         MD "instance/service-accounts/default/token",
                         MD
                         "instance/service-accounts/default/identity?"
                         "audience=x",
                         MD "instance/zone?alt=bad"};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    emu_reply r;
    char e1[64], e2[64];
    emu_http(b, "GET", paths[i], flavor, NULL, &r);
    cr_assert_neq(r.status, 0, "%s", paths[i]);
    etag_of(&r, e1);
    emu_reply_free(&r);
    if (strstr(paths[i], "token") || strstr(paths[i], "identity")) continue;
    emu_http(b, "GET", paths[i], flavor, NULL, &r);
    etag_of(&r, e2);
    cr_assert_str_eq(e1, e2, "%s: the ETag is stable", paths[i]);
    emu_reply_free(&r);
  }
  {
    emu_reply r;
    char e[64];
    emu_http(b, "GET", MD "project/project-id", NULL, NULL, &r);
    cr_assert_eq(r.status, 403);
    etag_of(&r, e);
    emu_reply_free(&r);
  }
}

Test(metadata, attributes_through_the_control_api) {
  const char *b = emu_fixture_url();
  char *out = NULL, e1[64], e2[64], ez1[64], ez2[64];
  emu_reply r;
  cJSON *j;
  cr_assert_eq(set_attrs(b,
                         "{\"project_attributes\":{\"env\":\"test\","
                         "\"ssh-keys\":\"me:ssh-ed25519 AAAA\"},"
                         "\"instance_attributes\":{\"role_1\":\"web\"}}",
                         &out),
               200, "%s", out);
  j = cJSON_Parse(out);
  cr_assert_str_eq(
      cJSON_GetObjectItem(cJSON_GetObjectItem(j, "project_attributes"), "env")
          ->valuestring,
      "test");
  cr_assert_str_eq(cJSON_GetObjectItem(
                       cJSON_GetObjectItem(j, "instance_attributes"), "role_1")
                       ->valuestring,
                   "web");
  cJSON_Delete(j);
  free(out);
  text_is(MD "project/attributes/env", "test");
  text_is(MD "project/attributes/ssh-keys", "me:ssh-ed25519 AAAA");
  text_is(MD "instance/attributes/role_1", "web");
  text_is(MD "project/attributes/", "env\nssh-keys\n");
  get_ok(MD "project/attributes/?recursive=true", 200, &r);
  cr_assert_str_eq(r.body,
                   "{\"env\":\"test\",\"ssh-keys\":\"me:ssh-ed25519 AAAA\"}");
  etag_of(&r, e1);
  emu_reply_free(&r);
  get_ok(MD "instance/zone", 200, &r);
  etag_of(&r, ez1);
  emu_reply_free(&r);
  /* null deletes; a change moves the ETag of its path only. */
  cr_assert_eq(set_attrs(b, "{\"project_attributes\":{\"env\":null}}", NULL),
               200);
  text_at(b, MD "project/attributes/env", 404, NULL);
  get_ok(MD "project/attributes/?recursive=true", 200, &r);
  etag_of(&r, e2);
  emu_reply_free(&r);
  cr_assert_str_neq(e1, e2);
  get_ok(MD "instance/zone", 200, &r);
  etag_of(&r, ez2);
  emu_reply_free(&r);
  cr_assert_str_eq(ez1, ez2);
  /* Refused as a whole, naming the member. */
  cr_assert_eq(set_attrs(b,
                         "{\"project_attributes\":{\"ok\":\"1\",\"bad key\":"
                         "\"2\"}}",
                         &out),
               400);
  cr_assert_not_null(strstr(out, "bad key"), "%s", out);
  free(out);
  text_at(b, MD "project/attributes/ok", 404, NULL);
  cr_assert_eq(set_attrs(b, "{\"project_attributes\":{\"n\":1}}", NULL), 400);
  cr_assert_eq(set_attrs(b, "{\"labels\":{}}", NULL), 400);
  cr_assert_eq(set_attrs(b, "[1]", NULL), 400);
  cr_assert_eq(set_attrs(b,
                         "{\"project_attributes\":{\"ssh-keys\":null},"
                         "\"instance_attributes\":{\"role_1\":null}}",
                         NULL),
               200);
  text_is(MD "project/attributes/", "");
}

/* ---- wait_for_change ---------------------------------------------------- */

typedef struct waiting {
  const char *base;
  char path[512];
  emu_reply r;
  double seconds;
} waiting;

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *wait_get(void *arg) {
  waiting *w = arg;
  double t0 = mono_now();
  emu_http(w->base, "GET", w->path, flavor, NULL, &w->r);
  w->seconds = mono_now() - t0;
  return NULL;
}

/* The emulator's count of waiting requests. */
static long waiters_at(const char *base) {
  char *out = NULL;
  long n = -1;
  cJSON *j;
  if (emu_control(base, "/emulator/v1/metadata", NULL, &out) == 200 &&
      (j = cJSON_Parse(out)) != NULL) {
    n = (long)cJSON_GetObjectItem(j, "waiters")->valuedouble;
    cJSON_Delete(j);
  }
  free(out);
  return n;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void await_waiters(const char *base, long n, double seconds) {
  double t0 = mono_now();
  long got;
  while ((got = waiters_at(base)) != n && mono_now() - t0 < seconds)
    sleep_ms(20);
  cr_assert_eq(got, n, "%ld waiters, expected %ld", got, n);
}

Test(metadata, wait_for_change) {
  const char *b = emu_fixture_url();
  char e[64];
  emu_reply r;
  waiting w;
  pthread_t th;
  cr_assert_eq(set_attrs(b, "{\"project_attributes\":{\"w\":\"one\"}}", NULL),
               200);
  get_ok(MD "project/attributes/w", 200, &r);
  etag_of(&r, e);
  emu_reply_free(&r);
  /* A stale ETag: at once, the current value. */
  memset(&w, 0, sizeof(w));
  w.base = b;
  snprintf(w.path, sizeof(w.path),
           MD "project/attributes/w?wait_for_change=true&last_etag=0");
  wait_get(&w);
  cr_assert_eq(w.r.status, 200);
  cr_assert_str_eq(w.r.body, "one");
  cr_assert_lt(w.seconds, 2.0);
  emu_reply_free(&w.r);
  /* The current ETag: waits; a change through the control API answers. */
  snprintf(w.path, sizeof(w.path),
           MD
           "project/attributes/w?wait_for_change=true&timeout_sec=30&"
           "last_etag=%s",
           e);
  cr_assert_eq(pthread_create(&th, NULL, wait_get, &w), 0);
  await_waiters(b, 1, 10);
  sleep_ms(300);
  cr_assert_eq(set_attrs(b, "{\"project_attributes\":{\"w\":\"two\"}}", NULL),
               200);
  pthread_join(th, NULL);
  cr_assert_eq(w.r.status, 200);
  cr_assert_str_eq(w.r.body, "two");
  cr_assert_geq(w.seconds, 0.3);
  cr_assert_lt(w.seconds, 10);
  {
    char e2[64];
    etag_of(&w.r, e2);
    cr_assert_str_neq(e, e2);
    snprintf(e, sizeof(e), "%s", e2);
  }
  emu_reply_free(&w.r);
  /* Nothing changes: timeout_sec ends the wait with the unchanged value. */
  snprintf(w.path, sizeof(w.path),
           MD
           "project/attributes/w?wait_for_change=true&timeout_sec=1&"
           "last_etag=%s",
           e);
  wait_get(&w);
  cr_assert_eq(w.r.status, 200);
  cr_assert_str_eq(w.r.body, "two");
  cr_assert_geq(w.seconds, 0.9);
  cr_assert_lt(w.seconds, 5);
  {
    char e3[64];
    etag_of(&w.r, e3);
    cr_assert_str_eq(e, e3);
  }
  emu_reply_free(&w.r);
  cr_assert_eq(set_attrs(b, "{\"project_attributes\":{\"w\":null}}", NULL),
               200);
}

/* ---- an emulator of the test's own ------------------------------------- */

static emu_proc g_em;

/* Starts gauth-emulator with config text (NULL: none): -1 when it started,
 * else the exit status it refused the config with. */
static int start_with(const char *config) {
  char msg[1024];
  if (emu_spawn_config(&g_em, getenv("GAUTH_EMULATOR_BIN"), "emu-metadata",
                       config, msg, sizeof msg) == 0)
    return -1;
  emu_spawn_cleanup(&g_em);
  cr_assert_geq(g_em.exit_status, 0, "%s", msg);
  return g_em.exit_status;
}

/* SIGTERM; asserts a clean exit (0). */
static void stop_own(void) {
  char how[128];
  int rc;
  if (g_em.pid <= 0) return;
  rc = emu_spawn_stop(&g_em, how, sizeof how);
  emu_spawn_cleanup(&g_em);
  cr_assert_eq(rc, 0, "the emulator did not exit cleanly (%s)", how);
}

/* Under valgrind an emulator takes minutes to start here: generous
 * timeouts. */
Test(metadata_config, attributes, .timeout = 600) {
  cr_assert_eq(start_with("{\"project_attributes\":{\"team\":\"a\"},"
                          "\"instance_attributes\":{\"startup-script\":"
                          "\"echo hi\"}}"),
               -1);
  text_at(g_em.base, MD "project/attributes/team", 200, "a");
  text_at(g_em.base, MD "instance/attributes/startup-script", 200, "echo hi");
  stop_own();
}

Test(metadata_config, cloud_run, .timeout = 600) {
  emu_reply r;
  char *out = NULL;
  cr_assert_eq(start_with("{\"metadata_platform\":\"cloud_run\","
                          "\"project_attributes\":{\"team\":\"a\"}}"),
               -1);
  text_at(g_em.base, MD "instance/region", 200,
          "projects/123456789012/regions/us-central1");
  text_at(g_em.base, MD "instance/zone", 200,
          "projects/123456789012/zones/us-central1-1");
  text_at(g_em.base, MD "instance/", 200,
          "id\nregion\nservice-accounts/\nzone\n");
  text_at(g_em.base, MD "instance/attributes/", 404, NULL);
  text_at(g_em.base, MD "instance/machine-type", 404, NULL);
  text_at(g_em.base, MD "instance/service-accounts/default/email", 200, RUNNER);
  text_at(g_em.base, MD "project/project-id", 200, "demo-project");
  emu_http(g_em.base, "GET", MD "instance/service-accounts/default/token",
           flavor, NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert_not_null(strstr(r.body, "\"access_token\":\"ya29."));
  emu_reply_free(&r);
  cr_assert_eq(
      set_attrs(g_em.base, "{\"instance_attributes\":{\"k\":\"v\"}}", &out),
      400);
  cr_assert_not_null(strstr(out, "Cloud Run"), "%s", out);
  free(out);
  stop_own();
}

Test(metadata_config, bad_configs, .timeout = 600) {
  /* Exit 2, naming nothing secret. */
  cr_assert_eq(start_with("{\"metadata_platform\":\"cloud_run\","
                          "\"instance_attributes\":{\"k\":\"v\"}}"),
               2);
  cr_assert_eq(start_with("{\"project_attributes\":{\"k\":1}}"), 2);
  cr_assert_eq(start_with("{\"project_attributes\":{\"a b\":\"1\"}}"), 2);
  cr_assert_eq(start_with("{\"metadata_platform\":\"aws\"}"), 2);
  cr_assert_eq(start_with("{\"metadata_max_waiters\":-1}"), 2);
}

Test(metadata_config, waiter_cap, .timeout = 600) {
  waiting w[2];
  pthread_t th[2];
  emu_reply r;
  char h[32];
  cr_assert_eq(start_with("{\"metadata_max_waiters\":2}"), -1);
  for (int i = 0; i < 2; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].base = g_em.base;
    snprintf(w[i].path, sizeof(w[i].path),
             MD "instance/zone?wait_for_change=true&timeout_sec=20");
    cr_assert_eq(pthread_create(&th[i], NULL, wait_get, &w[i]), 0);
  }
  await_waiters(g_em.base, 2, 20);
  emu_http(g_em.base, "GET", MD "instance/zone?wait_for_change=true", flavor,
           NULL, &r);
  cr_assert_eq(r.status, 503, "%ld %s", r.status, r.body);
  cr_assert_not_null(emu_reply_header_get(&r, "Retry-After", h, sizeof(h)));
  cr_assert_not_null(strstr(r.body, "at most 2"), "%s", r.body);
  emu_reply_free(&r);
  /* Other requests are answered meanwhile. */
  emu_http(g_em.base, "GET", MD "instance/service-accounts/default/token",
           flavor, NULL, &r);
  cr_assert_eq(r.status, 200);
  emu_reply_free(&r);
  cr_assert_eq(
      set_attrs(g_em.base, "{\"project_attributes\":{\"k\":\"v\"}}", NULL),
      200);
  /* Stopping answers the waiters: no thread stays blocked. */
  stop_own();
  for (int i = 0; i < 2; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(w[i].r.status, 200, "%ld", w[i].r.status);
    cr_assert_lt(w[i].seconds, 15);
    emu_reply_free(&w[i].r);
  }
}

/* ---- a thousand waiters -------------------------------------------------- */

/* A /proc/PID/status value in KiB ("VmRSS", "VmHWM"). */
static long proc_kib(pid_t pid, const char *field) {
  char path[64], line[256];
  long v = -1;
  size_t n = strlen(field);
  FILE *f;
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  f = fopen(path, "r");
  cr_assert_not_null(f, "%s", path);
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, field, n) == 0 && line[n] == ':')
      v = strtol(line + n + 1, NULL, 10);
  fclose(f);
  cr_assert_geq(v, 0, "%s of %d", field, (int)pid);
  return v;
}

/* A connected socket with the request sent. */
static int send_get(int port, const char *path) {
  struct sockaddr_in sa;
  char req[700];
  int fd = socket(AF_INET, SOCK_STREAM, 0), n;
  struct timeval tv = {30, 0};
  cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
               "connect: %s", strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  n = snprintf(req, sizeof(req),
               "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata-Flavor: "
               "Google\r\nConnection: close\r\n\r\n",
               path);
  cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
  return fd;
}

/* Reads a reply to its end (the server closes); returns it (free()). */
static char *read_all(int fd) {
  size_t len = 0, cap = 1024;
  char *b = malloc(cap);
  ssize_t n;
  cr_assert_not_null(b);
  while ((n = recv(fd, b + len, cap - len - 1, 0)) > 0) {
    len += (size_t)n;
    if (cap - len < 256) {
      cap *= 2;
      b = realloc(b, cap);
      cr_assert_not_null(b);
    }
  }
  b[len] = '\0';
  return b;
}

/* GAUTH_MD_WAITERS (default 1000) concurrent wait_for_change requests, on
 * raw sockets, all woken by one change through the control API and all
 * answered with the new value, while a token request and the control API
 * are still answered; the emulator's memory grows by a bounded amount per
 * waiter. With the emulator under valgrind (GAUTH_EMULATOR_WRAPPER), set
 * GAUTH_MD_WAITERS=50 or so: the memory bound is then not checked. */
Test(metadata_load, thousand_waiters_one_change, .timeout = 180) {
  const char *env = getenv("GAUTH_MD_WAITERS");
  long n = env ? strtol(env, NULL, 10) : 1000;
  int port, *fds;
  long rss0, rss1, hwm;
  char path[512], e[64], *out = NULL;
  emu_reply r;
  double t0;
  struct rlimit rl;
  cr_assert(n > 0 && n <= 1000, "GAUTH_MD_WAITERS: 1 .. 1000");
  /* n sockets here: raise the soft limit of open files to the hard one. */
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  cr_assert_eq(start_with(NULL), -1);
  port = atoi(strrchr(g_em.base, ':') + 1);
  cr_assert_eq(
      set_attrs(g_em.base, "{\"project_attributes\":{\"mode\":\"a\"}}", NULL),
      200);
  emu_http(g_em.base, "GET", MD "project/attributes/mode", flavor, NULL, &r);
  cr_assert_eq(r.status, 200);
  etag_of(&r, e);
  emu_reply_free(&r);
  rss0 = proc_kib(g_em.pid, "VmRSS");

  snprintf(path, sizeof(path),
           MD
           "project/attributes/mode?wait_for_change=true&timeout_sec=120&"
           "last_etag=%s",
           e);
  fds = calloc((size_t)n, sizeof(int));
  cr_assert_not_null(fds);
  t0 = mono_now();
  for (long i = 0; i < n; i++) fds[i] = send_get(port, path);
  await_waiters(g_em.base, n, 60);
  fprintf(stderr, "metadata_load: %ld waiters in %.2f s\n", n, mono_now() - t0);

  /* While they wait: a token, the control API, a plain read. */
  t0 = mono_now();
  emu_http(g_em.base, "GET", MD "instance/service-accounts/default/token",
           flavor, NULL, &r);
  cr_assert_eq(r.status, 200, "token while %ld wait: %ld", n, r.status);
  emu_reply_free(&r);
  cr_assert_eq(emu_control(g_em.base, "/emulator/v1/status", NULL, NULL), 200);
  text_at(g_em.base, MD "project/attributes/mode", 200, "a");
  cr_assert_lt(mono_now() - t0, 5.0, "requests stalled behind the waiters");
  rss1 = proc_kib(g_em.pid, "VmRSS");

  /* One change wakes them all. */
  t0 = mono_now();
  cr_assert_eq(
      set_attrs(g_em.base, "{\"project_attributes\":{\"mode\":\"b\"}}", &out),
      200, "%s", out);
  free(out);
  for (long i = 0; i < n; i++) {
    char *reply = read_all(fds[i]);
    close(fds[i]);
    cr_assert_eq(strncmp(reply, "HTTP/1.1 200", 12), 0, "waiter %ld: %.200s", i,
                 reply);
    cr_assert_not_null(strstr(reply, "\r\nETag: "), "waiter %ld", i);
    cr_assert_eq(strcmp(reply + strlen(reply) - 4, "\r\n\r\nb") == 0 ||
                     strcmp(reply + strlen(reply) - 1, "b") == 0,
                 1, "waiter %ld: %.300s", i, reply);
    free(reply);
  }
  free(fds);
  fprintf(stderr, "metadata_load: %ld answered in %.2f s\n", n,
          mono_now() - t0);
  cr_assert_lt(mono_now() - t0, 30.0);
  await_waiters(g_em.base, 0, 10);
  hwm = proc_kib(g_em.pid, "VmHWM");
  fprintf(stderr,
          "metadata_load: RSS %ld KiB before, %ld KiB with %ld waiters; "
          "peak %ld KiB (%.1f KiB a waiter)\n",
          rss0, rss1, n, hwm, (double)(hwm - rss0) / (double)n);
  if (getenv("GAUTH_EMULATOR_WRAPPER") != NULL &&
      getenv("GAUTH_EMULATOR_WRAPPER")[0] != '\0') {
    /* Under valgrind the process measured is valgrind's. */
    stop_own();
    return;
  }
  /* Bounded memory: a waiter costs a connection thread's touched stack and
   * libmicrohttpd's connection pool, not more than 128 KiB (measured: 33
   * KiB on x86-64 glibc), plus 32 MiB of slack for the allocator. */
  cr_assert_lt(hwm - rss0, n * 128 + 32 * 1024,
               "peak %ld KiB over %ld KiB before, for %ld waiters", hwm, rss0,
               n);
  stop_own();
}
