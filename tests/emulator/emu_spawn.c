/* Starts and stops a gauth-emulator of one's own. See emu_spawn.h. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu_spawn.h"

/* argv: the wrapper's words (split on blanks), then the emulator's. NULL
 * when out of memory. */
static char **build_argv(const char *wrapper, const char *bin,
                         const char *key_arg, const char *config_arg,
                         char **wrapper_copy) {
  size_t n = 0, cap;
  char **argv;
  char *save = NULL, *w;
  *wrapper_copy = strdup(wrapper ? wrapper : "");
  if (*wrapper_copy == NULL) return NULL;
  cap = strlen(*wrapper_copy) / 2 + 6;
  argv = calloc(cap, sizeof(*argv));
  if (argv == NULL) return NULL;
  for (w = strtok_r(*wrapper_copy, " \t", &save); w != NULL;
       w = strtok_r(NULL, " \t", &save))
    argv[n++] = w;
  argv[n++] = (char *)bin;
  argv[n++] = "--listen=127.0.0.1:0";
  argv[n++] = (char *)key_arg;
  if (config_arg != NULL) argv[n++] = (char *)config_arg;
  argv[n] = NULL;
  return argv;
}

static int fail(emu_proc *em, char *msg, size_t msglen, const char *text) {
  snprintf(msg, msglen, "%s (emulator stderr: %s)", text, em->stderr_path);
  if (em->pid > 0) {
    kill(em->pid, SIGKILL);
    waitpid(em->pid, NULL, 0);
    em->pid = 0;
  }
  if (em->out_fd >= 0) close(em->out_fd);
  em->out_fd = -1;
  return -1;
}

/* Its stdout ended before the first lines: it is exiting by itself. Waits
 * for it and keeps its status. */
static int exited(emu_proc *em, char *msg, size_t msglen) {
  int st = 0;
  if (em->pid > 0 && waitpid(em->pid, &st, 0) == em->pid) {
    em->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    em->pid = 0;
  }
  return fail(em, msg, msglen, "the emulator exited before its first line");
}

#define RUN_URL_LINE "\nexport GAUTH_EMULATOR_RUN_URL='"

/* Reads the lines the emulator prints at start-up, up to the one of
 * GAUTH_EMULATOR_RUN_URL, in up to 180 s (valgrind is slow to start and to
 * generate RSA keys). */
static int read_first_lines(emu_proc *em, char *line, size_t size, char *msg,
                            size_t msglen) {
  size_t got = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    struct pollfd p = {em->out_fd, POLLIN, 0};
    char *nl;
    ssize_t n;
    int rc = poll(&p, 1, 1000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0 && errno != EINTR) return fail(em, msg, msglen, "poll failed");
    if (rc > 0) {
      n = read(em->out_fd, line + got, size - 1 - got);
      if (n <= 0) return exited(em, msg, msglen);
      got += (size_t)n;
      line[got] = '\0';
      if ((nl = strstr(line, RUN_URL_LINE)) != NULL &&
          strchr(nl + 1, '\n') != NULL)
        return 0;
      if (got == size - 1) return fail(em, msg, msglen, "first lines too long");
    }
    if (t1.tv_sec - t0.tv_sec > 180)
      return fail(em, msg, msglen,
                  "no first line from the emulator within 180 s");
  }
}

/* Writes config (JSON) to the directory's config.json; its --config
 * argument goes to arg. 0, or -1. */
static int write_config(emu_proc *em, const char *config, char *arg, size_t n) {
  FILE *f;
  size_t len = strlen(config);
  snprintf(em->config_file, sizeof(em->config_file), "%s/config.json", em->dir);
  if ((f = fopen(em->config_file, "w")) == NULL) return -1;
  if (fwrite(config, 1, len, f) != len) {
    fclose(f);
    return -1;
  }
  if (fclose(f) != 0) return -1;
  snprintf(arg, n, "--config=%s", em->config_file);
  return 0;
}

int emu_spawn(emu_proc *em, const char *bin, const char *tag, char *msg,
              size_t msglen) {
  return emu_spawn_config(em, bin, tag, NULL, msg, msglen);
}

int emu_spawn_config(emu_proc *em, const char *bin, const char *tag,
                     const char *config, char *msg, size_t msglen) {
  const char *tmp = getenv("TMPDIR");
  char key_arg[700], config_arg[700], line[4096], *wcopy = NULL, *run, *end;
  char **argv;
  int pfd[2];
  memset(em, 0, sizeof(*em));
  em->out_fd = -1;
  em->exit_status = -1;
  snprintf(em->dir, sizeof(em->dir), "%s/%s-XXXXXX",
           tmp && tmp[0] ? tmp : "/tmp", tag);
  if (bin == NULL || bin[0] == '\0')
    return fail(em, msg, msglen, "no emulator binary (GAUTH_EMULATOR_BIN)");
  if (mkdtemp(em->dir) == NULL) return fail(em, msg, msglen, "mkdtemp failed");
  snprintf(em->key_file, sizeof(em->key_file), "%s/key.json", em->dir);
  snprintf(em->stderr_path, sizeof(em->stderr_path), "%s/emulator.stderr",
           em->dir);
  snprintf(key_arg, sizeof(key_arg), "--key-file=%s", em->key_file);
  if (config != NULL &&
      write_config(em, config, config_arg, sizeof(config_arg)) != 0)
    return fail(em, msg, msglen, "cannot write the config file");
  argv = build_argv(getenv("GAUTH_EMULATOR_WRAPPER"), bin, key_arg,
                    config != NULL ? config_arg : NULL, &wcopy);
  if (argv == NULL || pipe(pfd) != 0) {
    free(argv);
    free(wcopy);
    return fail(em, msg, msglen, "out of memory or pipe failed");
  }
  fflush(NULL);
  em->pid = fork();
  if (em->pid == 0) {
    int errfd = open(em->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int nul = open("/dev/null", O_RDONLY);
    if (errfd < 0 || nul < 0) _exit(127);
    dup2(nul, 0);
    dup2(pfd[1], 1);
    dup2(errfd, 2);
    close(pfd[0]);
    close(pfd[1]);
    close(errfd);
    close(nul);
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(pfd[1]);
  em->out_fd = pfd[0];
  free(argv);
  free(wcopy);
  if (em->pid < 0) {
    em->pid = 0;
    return fail(em, msg, msglen, "fork failed");
  }
  if (read_first_lines(em, line, sizeof(line), msg, msglen) != 0) return -1;
  if (strncmp(line, "listening http://127.0.0.1:", 27) != 0)
    return fail(em, msg, msglen, "unexpected first line from the emulator");
  snprintf(em->base, sizeof(em->base), "%.*s", (int)strcspn(line + 10, "\n"),
           line + 10);
  run = strstr(line, RUN_URL_LINE) + sizeof(RUN_URL_LINE) - 1;
  end = strchr(run, '\'');
  if (end == NULL || strncmp(run, "http://127.0.0.1:", 17) != 0)
    return fail(em, msg, msglen,
                "unexpected GAUTH_EMULATOR_RUN_URL line from the emulator");
  snprintf(em->run_base, sizeof(em->run_base), "%.*s", (int)(end - run), run);
  return 0;
}

int emu_spawn_stop(emu_proc *em, char *how, size_t howlen) {
  int status = 0;
  if (em->pid <= 0) {
    snprintf(how, howlen, "not running");
    return -1;
  }
  kill(em->pid, SIGTERM);
  for (int i = 0; i < 3000; i++) { /* 300 s: valgrind's leak check */
    pid_t p = waitpid(em->pid, &status, WNOHANG);
    if (p == em->pid) {
      em->pid = 0;
      close(em->out_fd);
      em->out_fd = -1;
      if (WIFEXITED(status)) {
        snprintf(how, howlen, "exit status %d", WEXITSTATUS(status));
        return WEXITSTATUS(status);
      }
      snprintf(how, howlen, "killed by signal %d", WTERMSIG(status));
      return 128 + WTERMSIG(status);
    }
    if (p < 0 && errno != EINTR) {
      snprintf(how, howlen, "waitpid: %s", strerror(errno));
      return -1;
    }
    {
      struct timespec ts = {0, 100000000L};
      nanosleep(&ts, NULL);
    }
  }
  kill(em->pid, SIGKILL);
  waitpid(em->pid, &status, 0);
  em->pid = 0;
  close(em->out_fd);
  em->out_fd = -1;
  snprintf(how, howlen, "did not exit within 300 s of SIGTERM (killed)");
  return -1;
}

void emu_spawn_cleanup(const emu_proc *em) {
  unlink(em->key_file);
  if (em->config_file[0] != '\0') unlink(em->config_file);
  unlink(em->stderr_path);
  rmdir(em->dir);
}

void emu_spawn_print_stderr_tail(const emu_proc *em) {
  FILE *f = fopen(em->stderr_path, "r");
  static char buf[65536];
  size_t n;
  long size;
  int lines = 0;
  char *p;
  if (f == NULL) return;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0,
        SEEK_SET);
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  p = buf + n;
  while (p > buf && lines <= 20)
    if (*--p == '\n') lines++;
  fprintf(stderr, "--- the emulator's stderr (%s), last lines:\n%s\n",
          em->stderr_path, p);
}
