/* gauth-emulator as a process: its first lines, the key file, signals,
 * refused addresses and invalid configs. Each test starts its own. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gauth/gauth.h>

#include "emu_fixture.h"

typedef struct proc {
  pid_t pid;
  FILE *out; /* its stdout */
  char errfile[256];
} proc;

static const char *emulator_bin(void) {
  const char *b = getenv("GAUTH_EMULATOR_BIN");
  cr_assert_not_null(b, "GAUTH_EMULATOR_BIN is not set");
  return b;
}

/* Starts the emulator with args (NULL-ended); stderr goes to a file. */
static void start(proc *p, const char *const *args) {
  int fds[2];
  const char *argv[16];
  size_t n = 0;
  argv[n++] = emulator_bin();
  for (size_t i = 0; args[i] != NULL && n < 15; i++) argv[n++] = args[i];
  argv[n] = NULL;
  snprintf(p->errfile, sizeof(p->errfile), "/tmp/emu-startup-%d.err",
           (int)getpid());
  cr_assert_eq(pipe(fds), 0);
  p->pid = fork();
  cr_assert_geq(p->pid, 0);
  if (p->pid == 0) {
    FILE *e = freopen(p->errfile, "w", stderr);
    (void)e;
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(fds[1]);
  p->out = fdopen(fds[0], "r");
  cr_assert_not_null(p->out);
}

/* Waits for the exit status (-1: killed by a signal). */
static int finish(proc *p) {
  int st = 0;
  cr_assert_eq(waitpid(p->pid, &st, 0), p->pid);
  fclose(p->out);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "r");
  static char buf[16384];
  size_t n;
  if (f == NULL) return NULL;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void line(proc *p, char *buf, size_t n) {
  cr_assert_not_null(fgets(buf, (int)n, p->out), "no line on stdout");
  buf[strcspn(buf, "\n")] = '\0';
}

Test(startup, lines_key_file_and_sigterm, .timeout = 60) {
  char dir[] = "/tmp/emu-keyXXXXXX";
  char key[300], arg[320], l[512], base[128], want[512], run[128];
  const char *hostport;
  struct stat stt;
  proc p;
  cJSON *j;
  gauth_key *k = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  emu_reply r;
  static const char *const flavor[] = {"Metadata-Flavor: Google", NULL};

  cr_assert_not_null(mkdtemp(dir));
  snprintf(key, sizeof(key), "%s/key.json", dir);
  snprintf(arg, sizeof(arg), "--key-file=%s", key);
  {
    const char *args[] = {"--listen=127.0.0.1:0", arg, NULL};
    start(&p, args);
  }
  line(&p, l, sizeof(l));
  cr_assert(strncmp(l, "listening http://127.0.0.1:", 27) == 0, "%s", l);
  snprintf(base, sizeof(base), "%.100s", l + 10);
  hostport = base + 7;
  cr_assert_neq(atoi(hostport + 10), 0, "port 0 was not replaced: %s", l);
  line(&p, l, sizeof(l));
  snprintf(want, sizeof(want), "export GAUTH_ENDPOINT='%s'", base);
  cr_assert_str_eq(l, want);
  line(&p, l, sizeof(l));
  snprintf(want, sizeof(want), "export GCE_METADATA_HOST='%s'", hostport);
  cr_assert_str_eq(l, want);
  line(&p, l, sizeof(l));
  snprintf(want, sizeof(want), "export GCE_METADATA_IP='%s'", hostport);
  cr_assert_str_eq(l, want);
  /* The Cloud Run services' origin: the same host, a port of its own. */
  line(&p, l, sizeof(l));
  cr_assert(
      strncmp(l, "export GAUTH_EMULATOR_RUN_URL='http://127.0.0.1:", 48) == 0 &&
          l[strlen(l) - 1] == '\'',
      "%s", l);
  snprintf(run, sizeof(run), "%.*s", (int)(strlen(l) - 32), l + 31);
  cr_assert_neq(atoi(run + 17), 0, "port 0 was not replaced: %s", l);
  cr_assert_neq(atoi(run + 17), atoi(hostport + 10), "%s", run);
  line(&p, l, sizeof(l));
  snprintf(want, sizeof(want), "export GOOGLE_APPLICATION_CREDENTIALS='%s'",
           key);
  cr_assert_str_eq(l, want);

  /* The key file exists, mode 0600, before anything else happens. */
  cr_assert_eq(stat(key, &stt), 0);
  cr_assert_eq(stt.st_mode & 0777, 0600, "mode %o", stt.st_mode & 0777);
  j = cJSON_Parse(read_file(key));
  cr_assert_not_null(j);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring,
                   "service_account");
  cr_assert_str_eq(cJSON_GetObjectItem(j, "project_id")->valuestring,
                   "demo-project");
  cr_assert_str_eq(cJSON_GetObjectItem(j, "client_email")->valuestring,
                   "scheduler@demo-project.iam.gserviceaccount.com");
  snprintf(want, sizeof(want), "%s/token", base);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "token_uri")->valuestring, want);
  cr_assert_str_eq(cJSON_GetObjectItem(j, "universe_domain")->valuestring,
                   "googleapis.com");
  cr_assert_not_null(cJSON_GetObjectItem(j, "auth_uri"));
  cr_assert_not_null(cJSON_GetObjectItem(j, "client_id"));
  cr_assert(strncmp(cJSON_GetObjectItem(j, "private_key")->valuestring,
                    "-----BEGIN PRIVATE KEY-----\n", 28) == 0,
            "not PKCS#8");
  cr_assert_eq(strlen(cJSON_GetObjectItem(j, "private_key_id")->valuestring),
               40);
  cr_assert_eq(gauth_key_load_file(&k, key, &err), GAUTH_OK, "%s", err.message);
  cr_assert(gauth_key_is_private(k));
  cr_assert_eq(gauth_key_get_type(k), GAUTH_KEY_RSA);
  cr_assert_eq(gauth_key_bits(k), 2048);
  cr_assert_str_eq(gauth_key_kid(k),
                   cJSON_GetObjectItem(j, "private_key_id")->valuestring);
  gauth_key_free(k);
  cJSON_Delete(j);

  /* It serves at once, and logs the request without its query. */
  emu_http(base, "GET",
           "/computeMetadata/v1/instance/service-accounts/default/"
           "token?scopes=secret-scope-canary",
           flavor, NULL, &r);
  cr_assert_eq(r.status, 200);
  emu_reply_free(&r);
  /* ... and so does the Cloud Run front end: the service wants a token. */
  emu_http(run, "GET", "/services/collector", NULL, NULL, &r);
  cr_assert_eq(r.status, 401, "%ld %s", r.status, r.body);
  emu_reply_free(&r);

  cr_assert_eq(kill(p.pid, SIGTERM), 0);
  cr_assert_eq(finish(&p), 0, "exit status after SIGTERM");
  {
    const char *log = read_file(p.errfile);
    cr_assert_not_null(strstr(log,
                              "GET /computeMetadata/v1/instance/"
                              "service-accounts/default/token 200 "
                              "runner@demo-project.iam.gserviceaccount"
                              ".com\n"),
                       "%s", log);
    cr_assert_null(strstr(log, "canary"), "the query was logged");
    cr_assert_null(strstr(log, "ya29."), "a token was logged");
  }
  unlink(p.errfile);
  unlink(key);
  rmdir(dir);
}

Test(startup, sigint_exits_zero, .timeout = 60) {
  proc p;
  char l[256];
  const char *args[] = {NULL};
  start(&p, args);
  line(&p, l, sizeof(l));
  cr_assert(strncmp(l, "listening http://127.0.0.1:", 27) == 0);
  cr_assert_eq(kill(p.pid, SIGINT), 0);
  cr_assert_eq(finish(&p), 0);
  unlink(p.errfile);
}

static void refused(const char *listen, const char *expect) {
  proc p;
  char l[256];
  const char *args[] = {listen, NULL};
  const char *log;
  start(&p, args);
  cr_assert_null(fgets(l, sizeof(l), p.out), "it printed: %s", l);
  cr_assert_eq(finish(&p), 2, "%s", listen);
  log = read_file(p.errfile);
  cr_assert_not_null(strstr(log, expect), "%s", log);
  unlink(p.errfile);
}

Test(startup, refuses_non_loopback) {
  refused("--listen=0.0.0.0:0", "not a loopback address");
  refused("--listen=10.1.2.3:0", "not a loopback address");
  refused("--listen=127.0.0.1", "expected IPV4:PORT");
  refused("--listen=127.0.0.1:99999", "expected IPV4:PORT");
  refused("--bogus", "unknown argument");
  refused("--listen-run=0.0.0.0:0", "not a loopback address");
  refused("--listen-run=10.1.2.3:0", "not a loopback address");
  refused("--listen-run=127.0.0.1", "--listen-run=127.0.0.1: expected");
  refused("--listen-run=127.0.0.1:-1", "expected IPV4:PORT");
}

/* --listen-run=HOST:PORT puts the services there; the API base answers no
 * /services/ path. */
Test(startup, listen_run, .timeout = 60) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  char arg[64], l[256], want[200], base[128], run[128];
  emu_reply r;
  proc p;
  /* A free port: bound and closed here, then given to the emulator. */
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  port = ntohs(sa.sin_port);
  close(fd);
  snprintf(arg, sizeof(arg), "--listen-run=localhost:%d", port);
  {
    const char *args[] = {arg, NULL};
    start(&p, args);
  }
  line(&p, l, sizeof(l));
  snprintf(base, sizeof(base), "%.100s", l + 10);
  for (int i = 0; i < 4; i++) line(&p, l, sizeof(l));
  snprintf(run, sizeof(run), "http://127.0.0.1:%d", port);
  snprintf(want, sizeof(want), "export GAUTH_EMULATOR_RUN_URL='%s'", run);
  cr_assert_str_eq(l, want);
  emu_http(run, "GET", "/services/collector", NULL, NULL, &r);
  cr_expect_eq(r.status, 401, "%ld %s", r.status, r.body);
  emu_reply_free(&r);
  emu_http(base, "GET", "/services/collector", NULL, NULL, &r);
  cr_expect_eq(r.status, 404, "%ld %s", r.status, r.body);
  cr_expect_not_null(strstr(r.body, "\"NOT_FOUND\""), "%s", r.body);
  emu_reply_free(&r);
  cr_assert_eq(kill(p.pid, SIGTERM), 0);
  cr_assert_eq(finish(&p), 0);
  unlink(p.errfile);
}

/* Both front ends on one port cannot be: exit 1, nothing printed. */
Test(startup, listen_run_port_taken, .timeout = 60) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  char arg[64], l[256];
  const char *log;
  proc p;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(fd, 1), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  snprintf(arg, sizeof(arg), "--listen-run=127.0.0.1:%d", ntohs(sa.sin_port));
  {
    const char *args[] = {arg, NULL};
    start(&p, args);
  }
  cr_assert_null(fgets(l, sizeof(l), p.out), "it printed: %s", l);
  cr_assert_eq(finish(&p), 1);
  log = read_file(p.errfile);
  cr_assert_not_null(strstr(log, "cannot listen on 127.0.0.1:"), "%s", log);
  cr_assert_not_null(strstr(log, "(--listen-run)"), "%s", log);
  close(fd);
  unlink(p.errfile);
}

static void bad_config(const char *text, const char *expect) {
  char path[] = "/tmp/emu-configXXXXXX";
  char arg[64];
  int fd = mkstemp(path);
  const char *log;
  proc p;
  char l[256];
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  snprintf(arg, sizeof(arg), "--config=%s", path);
  {
    const char *args[] = {arg, NULL};
    start(&p, args);
  }
  cr_assert_null(fgets(l, sizeof(l), p.out), "it printed: %s", l);
  cr_assert_eq(finish(&p), 2, "config %s", text);
  log = read_file(p.errfile);
  cr_assert_not_null(strstr(log, expect), "want \"%s\" in: %s", expect, log);
  unlink(p.errfile);
  unlink(path);
}

Test(startup, invalid_config_exit_2, .timeout = 60) {
  bad_config("{not json", "not a JSON object");
  bad_config("{\"projekt\":{}}", "unknown member \"projekt\"");
  bad_config("{\"project\":{\"number\":\"12x\"}}", "\"number\" must be digits");
  bad_config(
      "{\"bindings\":[{\"resource\":\"projects/p\",\"role\":"
      "\"roles/nope\",\"members\":[\"user:a@b\"]}]}",
      "unknown role roles/nope");
  bad_config("{\"service_accounts\":[{\"email\":\"a@b.c\"}]}",
             "invoker scheduler@demo-project.iam.gserviceaccount.com is not");
}

Test(startup, config_world, .timeout = 60) {
  static const char cfg[] =
      "{\"project\":{\"id\":\"other\",\"number\":\"42\",\"region\":"
      "\"europe-west1\"},"
      "\"service_accounts\":[{\"email\":\"inv@other.iam.gserviceaccount.com\"},"
      "{\"email\":\"md@other.iam.gserviceaccount.com\"}],"
      "\"invoker\":\"inv@other.iam.gserviceaccount.com\","
      "\"metadata_account\":\"md@other.iam.gserviceaccount.com\","
      "\"roles\":{\"roles/custom.caller\":[\"run.jobs.run\"]},"
      "\"jobs\":[\"nightly\"],"
      "\"bindings\":[{\"resource\":\"projects/other\",\"role\":"
      "\"roles/custom.caller\",\"members\":"
      "[\"serviceAccount:inv@other.iam.gserviceaccount.com\"]}]}";
  static const char *const flavor[] = {"Metadata-Flavor: Google", NULL};
  char path[] = "/tmp/emu-configXXXXXX", arg[64], l[256], base[128];
  char *out = NULL;
  int fd = mkstemp(path);
  proc p;
  emu_reply r;
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, cfg, sizeof(cfg) - 1), (ssize_t)sizeof(cfg) - 1);
  close(fd);
  snprintf(arg, sizeof(arg), "--config=%s", path);
  {
    const char *args[] = {arg, NULL};
    start(&p, args);
  }
  line(&p, l, sizeof(l));
  snprintf(base, sizeof(base), "%.100s", l + 10);
  emu_http(base, "GET", "/computeMetadata/v1/project/project-id", flavor, NULL,
           &r);
  cr_assert_str_eq(r.body, "other");
  emu_reply_free(&r);
  emu_http(base, "GET", "/computeMetadata/v1/instance/zone", flavor, NULL, &r);
  cr_assert_str_eq(r.body, "projects/42/zones/europe-west1-a");
  emu_reply_free(&r);
  emu_http(base, "GET",
           "/computeMetadata/v1/instance/service-accounts/default/email",
           flavor, NULL, &r);
  cr_assert_str_eq(r.body, "md@other.iam.gserviceaccount.com");
  emu_reply_free(&r);
  /* A project binding covers a job under it, by number too. */
  cr_assert_eq(emu_control(base, "/emulator/v1/permissions:check",
                           "{\"resource\":\"projects/42/locations/"
                           "europe-west1/jobs/nightly\",\"member\":"
                           "\"serviceAccount:inv@other.iam.gserviceaccount"
                           ".com\",\"permission\":\"run.jobs.run\"}",
                           &out),
               200);
  cr_assert_not_null(strstr(out, "\"granted\":true"), "%s", out);
  free(out);
  kill(p.pid, SIGTERM);
  cr_assert_eq(finish(&p), 0);
  unlink(p.errfile);
  unlink(path);
}
