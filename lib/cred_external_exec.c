/* External accounts whose subject token comes from an executable
 * (credential_source.executable, Google's "pluggable auth").
 *
 * The command is split on whitespace (no shell, no quoting: what
 * google-auth-library-python's str.split() and Go's strings.Fields do) and
 * run with posix_spawnp in a process group of its own, stdin and stderr on
 * /dev/null, stdout read through a close-on-exec pipe up to
 * GAUTH__EXEC_OUTPUT_MAX bytes. A timeout or too much output kills the
 * whole group (SIGKILL) before the child is reaped, so that the group id
 * is still ours and a grandchild (`sleep 100 &` in a script) dies with it.
 * Running is refused unless GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1,
 * checked on every subject token, as Google's libraries do.
 *
 * One mutex per credential: one run at a time, and a thread that waited
 * reuses the token the run before it got while that token is fresh. */
/* pipe2; posix_spawn_file_actions_addclosefrom_np (glibc 2.34) */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cred_external.h"
#include "error_internal.h"
#include "json.h"
#include "secret.h"
#include "url.h"

extern char **environ;

#define TIMEOUT_DEFAULT_MS 30000
#define TIMEOUT_MIN_MS 5000
#define TIMEOUT_MAX_MS 120000
/* A token kept in memory is reused while it has this long to live, so
 * that STS does not get one that expires on the way. */
#define REUSE_MARGIN_S 30
#define ALLOW_VAR "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"

#define TYPE_JWT "urn:ietf:params:oauth:token-type:jwt"
#define TYPE_ID_TOKEN "urn:ietf:params:oauth:token-type:id_token"
#define TYPE_SAML2 "urn:ietf:params:oauth:token-type:saml2"

struct gauth__external_exec {
  char *command; /* as the file gives it, for messages */
  char **argv;   /* command split on whitespace, NULL-terminated */
  unsigned int timeout_ms;
  char *output_file; /* NULL: none */
  pthread_mutex_t lock;
  char *token;        /* the last good token (a secret); NULL: none */
  int64_t expires_at; /* its expiration_time */
};

/* ---- the file ------------------------------------------------------------ */

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/* command split on runs of whitespace; quotes are ordinary characters. */
static gauth_status split_command(const char *cmd, char ***out,
                                  gauth_error *err) {
  size_t n = 0, i = 0;
  const char *p;
  for (p = cmd; *p;) {
    while (is_space(*p)) p++;
    if (*p == '\0') break;
    n++;
    while (*p && !is_space(*p)) p++;
  }
  if (n == 0)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field \"command\" holds no program");
  if ((*out = calloc(n + 1, sizeof **out)) == NULL)
    return gauth__error_nomem(err);
  for (p = cmd; i < n;) {
    const char *b;
    while (is_space(*p)) p++;
    b = p;
    while (*p && !is_space(*p)) p++;
    if (((*out)[i++] = strndup(b, (size_t)(p - b))) == NULL)
      return gauth__error_nomem(err);
  }
  return GAUTH_OK;
}

static gauth_status parse_timeout(const cJSON *ex, unsigned int *out,
                                  gauth_error *err) {
  int64_t ms = 0;
  int present = 0;
  gauth_status st =
      gauth__json_opt_int64(ex, "timeout_millis", &ms, &present, err);
  if (st != GAUTH_OK) return st;
  /* 0 or absent: the default, as Python's `if not timeout` and Go do. */
  if (!present || ms == 0) ms = TIMEOUT_DEFAULT_MS;
  if (ms < TIMEOUT_MIN_MS || ms > TIMEOUT_MAX_MS)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "field \"timeout_millis\" must be %d to %d "
                            "(5 to 120 seconds)",
                            TIMEOUT_MIN_MS, TIMEOUT_MAX_MS);
  *out = (unsigned int)ms;
  return GAUTH_OK;
}

gauth_status gauth__external_exec_parse(const cJSON *src,
                                        gauth__external_exec **out,
                                        gauth_error *err) {
  const cJSON *ex = NULL;
  gauth__external_exec *e;
  gauth_status st;
  *out = NULL;
  if (cJSON_GetObjectItemCaseSensitive(src, "file") != NULL ||
      cJSON_GetObjectItemCaseSensitive(src, "url") != NULL)
    return gauth__error_set(err, GAUTH_E_MALFORMED,
                            "give one of \"file\", \"url\" and "
                            "\"executable\", not several");
  if ((e = calloc(1, sizeof *e)) == NULL) return gauth__error_nomem(err);
  if (pthread_mutex_init(&e->lock, NULL) != 0) {
    free(e);
    return gauth__error_nomem(err);
  }
  st = gauth__json_get_object(src, "executable", &ex, err);
  if (st == GAUTH_OK)
    st = gauth__json_copy_string(ex, "command", GAUTH__JSON_REQUIRED,
                                 &e->command, err);
  if (st == GAUTH_OK) st = split_command(e->command, &e->argv, err);
  if (st == GAUTH_OK) st = parse_timeout(ex, &e->timeout_ms, err);
  if (st == GAUTH_OK)
    st = gauth__json_copy_string(ex, "output_file", GAUTH__JSON_NONEMPTY,
                                 &e->output_file, err);
  if (st != GAUTH_OK) {
    if (ex != NULL) gauth__error_prefix(err, "executable");
    gauth__external_exec_free(e);
    return st;
  }
  *out = e;
  return GAUTH_OK;
}

void gauth__external_exec_free(gauth__external_exec *e) {
  if (e == NULL) return;
  free(e->command);
  gauth__strv_free(e->argv);
  free(e->output_file);
  gauth__secret_strfree(e->token);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

const char *const *gauth__external_exec_settings(const gauth__external_exec *e,
                                                 unsigned int *timeout_ms,
                                                 const char **output_file) {
  *timeout_ms = e->timeout_ms;
  *output_file = e->output_file;
  return (const char *const *)e->argv;
}

/* ---- the response (pure) ------------------------------------------------- */

static gauth_status bad(gauth_error *err, gauth_status st) {
  if (st == GAUTH_E_NOMEM) return st;
  if (err != NULL) err->code = GAUTH_E_BAD_RESPONSE;
  return GAUTH_E_BAD_RESPONSE;
}

/* {"success":false,"code","message"}: both strings required. */
static gauth_status failure(const cJSON *root, gauth_error *err) {
  const char *code = NULL, *msg = NULL;
  gauth_status st = gauth__json_get_string(root, "code", &code, err);
  if (st == GAUTH_OK) st = gauth__json_get_string(root, "message", &msg, err);
  if (st == GAUTH_OK && (code[0] == '\0' || msg[0] == '\0'))
    st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE, "field \"%s\" is empty",
                          code[0] ? "message" : "code");
  if (st != GAUTH_OK) {
    gauth__error_prefix(err,
                        "an unsuccessful response needs \"code\" and "
                        "\"message\"");
    return bad(err, st);
  }
  return gauth__error_set_http(err, GAUTH_E_UNAUTHENTICATED, 0, code,
                               "the executable reported a failure: code "
                               "%.64s: %.200s",
                               code, msg);
}

/* The member holding the token for token_type, checked against the
 * file's subject_token_type. */
static gauth_status token_member(const char *type, const char *expected,
                                 const char **member, gauth_error *err) {
  if (strcmp(type, TYPE_JWT) == 0 || strcmp(type, TYPE_ID_TOKEN) == 0)
    *member = "id_token";
  else if (strcmp(type, TYPE_SAML2) == 0)
    *member = "saml_response";
  else
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "field \"token_type\" is %s, expected " TYPE_JWT
                            ", " TYPE_ID_TOKEN " or " TYPE_SAML2,
                            gauth__echo_setting(type));
  if (expected != NULL && strcmp(type, expected) != 0)
    return gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                            "field \"token_type\" is %s, but the file's "
                            "subject_token_type is %s",
                            type, gauth__echo_setting(expected));
  return GAUTH_OK;
}

/* The checks of gauth__exec_response_parse on a parsed tree. */
static gauth_status validate(const cJSON *root, int64_t now,
                             const char *expected_type, int need_expiry,
                             char **token, int64_t *expires_at,
                             gauth_error *err) {
  int64_t version = 0, exp = 0;
  int ok = 0, has_exp = 0;
  const char *type = NULL, *member = NULL, *tok = NULL;
  gauth_status st = gauth__json_get_int64(root, "version", &version, err);
  if (st == GAUTH_OK && version != 1)
    st = gauth__error_set(
        err, GAUTH_E_BAD_RESPONSE,
        "field \"version\" is %" PRId64 ", libgauth reads version 1", version);
  if (st == GAUTH_OK) st = gauth__json_get_bool(root, "success", &ok, err);
  if (st != GAUTH_OK) return bad(err, st);
  if (!ok) return failure(root, err);
  st = gauth__json_opt_int64(root, "expiration_time", &exp, &has_exp, err);
  if (st == GAUTH_OK && !has_exp && need_expiry)
    st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE,
                          "missing field \"expiration_time\" (required when "
                          "the file names an output_file)");
  if (st == GAUTH_OK)
    st = gauth__json_get_string(root, "token_type", &type, err);
  if (st == GAUTH_OK) st = token_member(type, expected_type, &member, err);
  if (st == GAUTH_OK) st = gauth__json_get_string(root, member, &tok, err);
  if (st == GAUTH_OK && tok[0] == '\0')
    st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE, "field \"%s\" is empty",
                          member);
  if (st != GAUTH_OK) return bad(err, st);
  if (has_exp && exp < now)
    return gauth__error_set(err, GAUTH_E_UNAUTHENTICATED,
                            "the executable's token expired at %" PRId64
                            " (%" PRId64 " s ago)",
                            exp, now - exp);
  if ((*token = strdup(tok)) == NULL) return gauth__error_nomem(err);
  *expires_at = has_exp ? exp : 0;
  return GAUTH_OK;
}

gauth_status gauth__exec_response_parse(const char *json, size_t len,
                                        int64_t now, const char *expected_type,
                                        int need_expiry, char **token,
                                        int64_t *expires_at, gauth_error *err) {
  cJSON *root = NULL;
  gauth_status st;
  *token = NULL;
  *expires_at = 0;
  st = gauth__json_parse_object(json, len, NULL, &root, err);
  if (st != GAUTH_OK) {
    st = bad(err, st);
  } else {
    st =
        validate(root, now, expected_type, need_expiry, token, expires_at, err);
  }
  gauth__secret_json_delete(root);
  return st;
}

/* ---- running the command ------------------------------------------------- */

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The caller's environment, without any GOOGLE_EXTERNAL_ACCOUNT_ variable
 * the library sets, plus those (the strings in *mine, to free). */
typedef struct child_env {
  char **envp;
  char *mine[6];
} child_env;

static int env_ours(const char *entry) {
  static const char *const names[] = {
      "GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE=",
      "GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE=",
      "GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE=",
      "GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL=",
      "GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE="};
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(names); i++)
    if (gauth__skip_prefix(entry, names[i]) != NULL) return 1;
  return 0;
}

static void env_cleanup(child_env *ce) {
  for (size_t i = 0; i < GAUTH__ARRAY_LEN(ce->mine); i++) free(ce->mine[i]);
  free(ce->envp);
}

static gauth_status env_build(const gauth__external_exec *e,
                              const gauth__external_config *x, child_env *ce,
                              gauth_error *err) {
  size_t n = 0, k = 0, m = 0;
  memset(ce, 0, sizeof *ce);
  while (environ != NULL && environ[n] != NULL) n++;
  if ((ce->envp = calloc(n + GAUTH__ARRAY_LEN(ce->mine), sizeof(char *))) ==
      NULL)
    return gauth__error_nomem(err);
  for (size_t i = 0; i < n; i++)
    if (!env_ours(environ[i])) ce->envp[k++] = environ[i];
  ce->mine[m++] =
      gauth__strf("GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE=%s", x->audience);
  ce->mine[m++] = gauth__strf("GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE=%s",
                              x->subject_token_type);
  ce->mine[m++] = gauth__strdup("GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE=0");
  if (x->impersonation_email != NULL)
    ce->mine[m++] = gauth__strf("GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL=%s",
                                x->impersonation_email);
  if (e->output_file != NULL)
    ce->mine[m++] =
        gauth__strf("GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE=%s", e->output_file);
  for (size_t i = 0; i < m; i++) {
    if (ce->mine[i] == NULL) return gauth__error_nomem(err);
    ce->envp[k++] = ce->mine[i];
  }
  return GAUTH_OK;
}

/* What a run gave: stdout (a secret: wiped) and how the child ended. */
typedef struct run_result {
  char *out;
  size_t len;
  int status; /* waitpid's; -1: unknown (SIGCHLD ignored by the caller) */
} run_result;

static void reap(pid_t pid, int *status) {
  int st = 0;
  pid_t r;
  while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
  }
  *status = r == pid ? st : -1;
}

/* Kills the child's whole group, then reaps the child. */
static void kill_and_reap(pid_t pid, int *status) {
  kill(-pid, SIGKILL);
  reap(pid, status);
}

static gauth_status spawn(const gauth__external_exec *e, char **envp,
                          int out_fd, pid_t *pid, gauth_error *err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, dfl;
  int rc;
  sigemptyset(&none);
  sigemptyset(&dfl);
  sigaddset(&dfl, SIGPIPE);
  sigaddset(&dfl, SIGCHLD);
  sigaddset(&dfl, SIGINT);
  sigaddset(&dfl, SIGQUIT);
  sigaddset(&dfl, SIGTERM);
  sigaddset(&dfl, SIGHUP);
  if (posix_spawn_file_actions_init(&fa) != 0) return gauth__error_nomem(err);
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return gauth__error_nomem(err);
  }
  rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  if (rc == 0)
    rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  /* Descriptors another thread opened without O_CLOEXEC stay ours. */
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  if (rc == 0)
    rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                             POSIX_SPAWN_SETSIGMASK |
                                             POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &dfl);
  if (rc == 0) rc = posix_spawnp(pid, e->argv[0], &fa, &attr, e->argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return gauth__error_set(err, rc == ENOENT ? GAUTH_E_NOT_FOUND : GAUTH_E_IO,
                            "cannot run %s: %s",
                            gauth__echo_setting(e->argv[0]), strerror(rc));
  return GAUTH_OK;
}

/* Reads the child's stdout until EOF, the deadline or too much output. */
static gauth_status read_output(int fd, int64_t deadline, run_result *r,
                                gauth_error *err) {
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int64_t left = deadline - mono_ms();
    ssize_t n;
    int pr;
    if (left <= 0) return GAUTH_E_TIMEOUT;
    pr = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0)
      return gauth__error_set(err, GAUTH_E_IO, "poll: %s", strerror(errno));
    if (pr == 0) continue;
    n = read(fd, r->out + r->len, GAUTH__EXEC_OUTPUT_MAX + 1 - r->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0)
      return gauth__error_set(err, GAUTH_E_IO, "reading its output: %s",
                              strerror(errno));
    if (n == 0) return GAUTH_OK;
    r->len += (size_t)n;
    if (r->len > GAUTH__EXEC_OUTPUT_MAX) return GAUTH_E_TOO_LARGE;
  }
}

/* After EOF: waits for the child until the deadline. */
static gauth_status wait_child(pid_t pid, int64_t deadline, int *status) {
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      *status = st;
      return GAUTH_OK;
    }
    if (r < 0 && errno != EINTR) { /* ECHILD: SIGCHLD ignored, reaped */
      *status = -1;
      return GAUTH_OK;
    }
    if (mono_ms() >= deadline) return GAUTH_E_TIMEOUT;
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
  }
}

/* A close-on-exec pipe whose ends are both above 2. With the caller's
 * stdin or stdout closed pipe2 returns 0 or 1, and the write end must
 * then survive the spawn's own redirections (dup2(1, 1) keeps
 * FD_CLOEXEC in POSIX; glibc clears it, other C libraries need not). */
static int pipe_above_stdio(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  for (int i = 0; i < 2; i++) {
    if (fds[i] > 2) continue;
    int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
      close(fds[0]);
      close(fds[1]);
      return -1;
    }
    close(fds[i]);
    fds[i] = fd;
  }
  return 0;
}

static gauth_status run_command(const gauth__external_exec *e,
                                const gauth__external_config *x, run_result *r,
                                gauth_error *err) {
  child_env ce;
  int fds[2];
  pid_t pid = 0;
  int64_t deadline = mono_ms() + e->timeout_ms;
  gauth_status st;
  memset(r, 0, sizeof *r);
  if ((r->out = malloc(GAUTH__EXEC_OUTPUT_MAX + 1)) == NULL)
    return gauth__error_nomem(err);
  st = env_build(e, x, &ce, err);
  if (st == GAUTH_OK && pipe_above_stdio(fds) != 0)
    st = gauth__error_set(err, GAUTH_E_IO, "pipe: %s", strerror(errno));
  else if (st == GAUTH_OK) {
    st = spawn(e, ce.envp, fds[1], &pid, err);
    close(fds[1]);
    if (st == GAUTH_OK) {
      st = read_output(fds[0], deadline, r, err);
      if (st == GAUTH_OK) st = wait_child(pid, deadline, &r->status);
      if (st != GAUTH_OK) kill_and_reap(pid, &r->status);
    }
    close(fds[0]);
  }
  env_cleanup(&ce);
  if (st == GAUTH_E_TIMEOUT)
    return gauth__error_set(err, st,
                            "no response within timeout_millis %u; the "
                            "command's process group was killed",
                            e->timeout_ms);
  if (st == GAUTH_E_TOO_LARGE)
    return gauth__error_set(err, st,
                            "output too large (over %zu bytes); the "
                            "command's process group was killed",
                            GAUTH__EXEC_OUTPUT_MAX);
  return st;
}

static void run_result_cleanup(run_result *r) {
  gauth__secret_free(r->out, GAUTH__EXEC_OUTPUT_MAX + 1);
  memset(r, 0, sizeof *r);
}

/* ---- the subject token --------------------------------------------------- */

/* The output file's response when it is a good one: GAUTH_OK with *token;
 * GAUTH_E_NOT_FOUND when the command is to run (no file, not JSON,
 * unsuccessful, expired, or no expiration_time: as Python's library
 * does); an error for a response that breaks the format. */
static gauth_status read_output_file(const gauth__external_exec *e,
                                     const gauth__external_config *x,
                                     int64_t now, char **token,
                                     int64_t *expires_at, gauth_error *err) {
  char *buf = NULL;
  size_t len = 0;
  cJSON *root = NULL;
  gauth_error tmp = GAUTH_ERROR_INIT;
  gauth_status st = gauth__secret_read_file(
      e->output_file, GAUTH__EXEC_OUTPUT_MAX, &buf, &len, &tmp);
  if (st == GAUTH_OK)
    st = gauth__json_parse_object(buf, len, NULL, &root, &tmp) == GAUTH_OK
             ? validate(root, now, x->subject_token_type, 0, token, expires_at,
                        &tmp)
             : GAUTH_E_NOT_FOUND;
  if (buf != NULL) gauth__secret_free(buf, len + 1);
  gauth__secret_json_delete(root);
  if (st == GAUTH_OK && *expires_at == 0) {
    gauth__secret_strfree(*token);
    *token = NULL;
    st = GAUTH_E_NOT_FOUND;
  }
  if (st == GAUTH_OK || st == GAUTH_E_NOMEM || st == GAUTH_E_BAD_RESPONSE) {
    gauth__error_copy(err, &tmp);
    if (st == GAUTH_E_BAD_RESPONSE)
      gauth__error_prefix(err, "output_file %s",
                          gauth__echo_setting(e->output_file));
    return st;
  }
  return GAUTH_E_NOT_FOUND;
}

/* The response in a run's output (or, when stdout is empty and the file
 * names an output_file, in that file, as Python's library reads it). */
static gauth_status run_response(const gauth__external_exec *e,
                                 const gauth__external_config *x, int64_t now,
                                 char **token, int64_t *expires_at,
                                 gauth_error *err) {
  run_result r;
  gauth_status st = run_command(e, x, &r, err);
  int exited_ok;
  if (st != GAUTH_OK) {
    run_result_cleanup(&r);
    return st;
  }
  exited_ok =
      r.status == -1 || (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  if (r.len == 0 && e->output_file != NULL && exited_ok) {
    run_result_cleanup(&r);
    if (gauth__secret_read_file(e->output_file, GAUTH__EXEC_OUTPUT_MAX, &r.out,
                                &r.len, err) != GAUTH_OK) {
      gauth__error_prefix(err, "empty output, and output_file");
      return err != NULL ? err->code : GAUTH_E_IO;
    }
    st = gauth__exec_response_parse(r.out, r.len, now, x->subject_token_type, 1,
                                    token, expires_at, err);
    gauth__secret_free(r.out, r.len + 1);
    return st;
  }
  st = gauth__exec_response_parse(r.out, r.len, now, x->subject_token_type,
                                  e->output_file != NULL, token, expires_at,
                                  err);
  if (!exited_ok) {
    /* A failure response explains itself; any other output is not shown
     * (it may hold a token). */
    if (st == GAUTH_OK) {
      gauth__secret_strfree(*token);
      *token = NULL;
    }
    if (st != GAUTH_E_UNAUTHENTICATED || err == NULL ||
        err->error_code[0] == '\0')
      st = gauth__error_set(err, GAUTH_E_BAD_RESPONSE, "%s",
                            "its output is not shown");
    if (WIFEXITED(r.status))
      gauth__error_prefix(err, "exited with status %d%s", WEXITSTATUS(r.status),
                          WEXITSTATUS(r.status) == 127
                              ? " (127: the program could not be run?)"
                              : "");
    else
      gauth__error_prefix(err, "killed by signal %d", WTERMSIG(r.status));
  } else if (st != GAUTH_OK && st != GAUTH_E_NOMEM &&
             st != GAUTH_E_UNAUTHENTICATED) {
    gauth__error_prefix(err, "response");
  }
  run_result_cleanup(&r);
  return st;
}

static gauth_status allowed(gauth_error *err) {
  const char *v = getenv(ALLOW_VAR);
  if (v != NULL && strcmp(v, "1") == 0) return GAUTH_OK;
  return gauth__error_set(err, GAUTH_E_UNSUPPORTED,
                          "executables need to be explicitly allowed: set "
                          "the environment variable " ALLOW_VAR
                          "=1 to let libgauth run the command");
}

/* A fresh token, from memory, the output file or a run (e->lock held). */
static gauth_status token_locked(gauth__external_exec *e,
                                 const gauth__external_config *x, int64_t now,
                                 char **token, gauth_error *err) {
  char *tok = NULL;
  int64_t exp = 0;
  gauth_status st = GAUTH_E_NOT_FOUND;
  if (e->token != NULL && e->expires_at - REUSE_MARGIN_S >= now)
    return gauth__strdup_out(e->token, token, err);
  if (e->output_file != NULL) st = read_output_file(e, x, now, &tok, &exp, err);
  if (st == GAUTH_E_NOT_FOUND) st = run_response(e, x, now, &tok, &exp, err);
  if (st != GAUTH_OK) return st;
  assert(tok != NULL); /* each GAUTH_OK above sets it */
  if ((*token = strdup(tok)) == NULL) {
    gauth__secret_strfree(tok);
    return gauth__error_nomem(err);
  }
  gauth__secret_strfree(e->token);
  e->token = exp != 0 ? tok : NULL;
  e->expires_at = exp;
  if (exp == 0) gauth__secret_strfree(tok);
  return GAUTH_OK;
}

gauth_status gauth__external_exec_subject_token(gauth_credentials *c,
                                                const gauth__external_config *x,
                                                char **token,
                                                gauth_error *err) {
  gauth__external_exec *e = x->exec;
  gauth_status st;
  *token = NULL;
  st = allowed(err);
  if (st == GAUTH_OK) {
    pthread_mutex_lock(&e->lock);
    st = token_locked(e, x, gauth__credentials_now(c), token, err);
    pthread_mutex_unlock(&e->lock);
  }
  if (st != GAUTH_OK && st != GAUTH_E_NOMEM)
    gauth__error_prefix(err, "credential_source.executable (%s)",
                        gauth__echo_setting(e->argv[0]));
  return st;
}
