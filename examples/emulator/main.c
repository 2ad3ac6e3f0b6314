/* gauth-emulator: Google's auth plane on loopback (docs/emulator.md).
 *
 *   gauth-emulator [--listen=127.0.0.1:PORT] [--listen-run=HOST:PORT]
 *                  [--config=FILE] [--key-file=PATH] [--unsafe-listen-any]
 *
 * Two front ends over one world: the Google APIs on --listen, the Cloud Run
 * services on --listen-run (their own origin, as *.run.app is not
 * *.googleapis.com). The first line on stdout is "listening
 * http://HOST:PORT" (the Google APIs), then shell lines to eval. Both
 * sockets are bound, the key file written and those lines flushed before
 * either server accepts its first request, so that whoever reads the first
 * line can connect at once. Exit status: 0 after SIGINT / SIGTERM, 1 a
 * failure at start-up, 2 bad usage or an invalid config. */
#include "emulator.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage[] =
    "usage: gauth-emulator [--listen=127.0.0.1:PORT] [--listen-run=HOST:PORT]\n"
    "                      [--config=FILE] [--key-file=PATH]\n"
    "                      [--unsafe-listen-any]\n"
    "\n"
    "Serves Google's auth plane (metadata server, OAuth token endpoint, key\n"
    "sets, IAM Credentials, STS, testIamPermissions, Cloud Run) on loopback,\n"
    "and the Cloud Run services on a second address of their own.\n"
    "PORT 0 (the default) picks a free port. The first line on stdout is\n"
    "'listening http://HOST:PORT', followed by export lines for eval\n"
    "(GAUTH_EMULATOR_RUN_URL: the services' base URL).\n"
    "Stops cleanly on SIGINT / SIGTERM. See docs/emulator.md.\n"
    "\n"
    "  --listen=HOST:PORT    IPv4 address to listen on (default 127.0.0.1:0)\n"
    "  --listen-run=HOST:PORT\n"
    "                        IPv4 address of the Cloud Run services, at\n"
    "                        /services/NAME (default: --listen's host, port 0)\n"
    "  --config=FILE         a JSON world instead of the default one\n"
    "  --key-file=PATH       write the invoker's service-account key there\n"
    "  --unsafe-listen-any   allow a non-loopback address (the emulator\n"
    "                        hands out tokens to anyone who asks)\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "gauth-emulator: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'gauth-emulator --help')\n");
  return 2;
}

/* Parses HOST:PORT (IPv4 dotted quad or "localhost"). 0 on success. */
static int parse_listen(const char *s, struct sockaddr_in *sa, char *host,
                        size_t hostlen) {
  const char *colon = strrchr(s, ':');
  char *end;
  long port;
  size_t n;
  if (colon == NULL || colon == s) return -1;
  n = (size_t)(colon - s);
  if (n >= hostlen) return -1;
  memcpy(host, s, n);
  host[n] = '\0';
  errno = 0;
  port = strtol(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 ||
      port > 65535)
    return -1;
  memset(sa, 0, sizeof(*sa));
  sa->sin_family = AF_INET;
  sa->sin_port = htons((unsigned short)port);
  if (strcmp(host, "localhost") == 0) {
    snprintf(host, hostlen, "127.0.0.1");
  }
  if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
  return 0;
}

/* Checks a --listen / --listen-run value: 0, or a usage error's status. */
static int check_listen(const char *option, const char *arg,
                        struct sockaddr_in *sa, char *host, size_t hostlen,
                        int unsafe) {
  if (parse_listen(arg, sa, host, hostlen) != 0)
    return usage_error(
        "%s=%s: expected IPV4:PORT, e.g. "
        "127.0.0.1:8080 (PORT 0 picks a free port)",
        option, arg);
  if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127 && !unsafe)
    return usage_error(
        "refusing to listen on %s: not a loopback address "
        "(anyone who reaches it gets tokens; add "
        "--unsafe-listen-any if you mean it)",
        host);
  return 0;
}

/* A listening socket on *sa (port 0: a free one, written back to *sa), or
 * -1 with a message on stderr. */
static int open_listener(const char *option, const char *arg,
                         struct sockaddr_in *sa) {
  int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t salen = sizeof(*sa);
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, (struct sockaddr *)sa, sizeof(*sa)) != 0 ||
      listen(fd, 128) != 0 ||
      getsockname(fd, (struct sockaddr *)sa, &salen) != 0) {
    fprintf(stderr, "gauth-emulator: cannot listen on %s (%s): %s\n", arg,
            option, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

/* Shell single quotes: ' becomes '\''. */
static void print_quoted(const char *name, const char *value) {
  printf("export %s='", name);
  for (const char *p = value; *p; p++) {
    if (*p == '\'')
      fputs("'\\''", stdout);
    else
      putchar(*p);
  }
  fputs("'\n", stdout);
}

/* Serves until SIGINT / SIGTERM; the exit status. */
static int serve(emu *e, int fd, int run_fd, const char *base) {
  sigset_t set;
  int sig = 0;
  emu_server *srv = NULL, *run_srv = NULL;
  emu_scheduler *sched;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  /* Cloud Scheduler's runner first: request handlers use it. */
  sched = emu_scheduler_start(e);
  srv = sched ? emu_server_start(e, fd, EMU_FRONT_API) : NULL;
  run_srv = srv ? emu_server_start(e, run_fd, EMU_FRONT_RUN) : NULL;
  if (run_srv == NULL) {
    fprintf(stderr, "gauth-emulator: cannot start the HTTP server\n");
    emu_server_stop(srv); /* closes fd too, when it started */
    if (srv == NULL) close(fd);
    close(run_fd);
    emu_scheduler_stop(sched);
    return 1;
  }
  fprintf(stderr,
          "gauth-emulator: serving %s, Cloud Run services on %s "
          "(project %s)\n",
          base, emu_run_base_url(e), emu_project_id(e));
  while (sigwait(&set, &sig) != 0 || (sig != SIGINT && sig != SIGTERM)) {
  }
  fprintf(stderr, "gauth-emulator: %s, stopping\n",
          sig == SIGINT ? "SIGINT" : "SIGTERM");
  emu_server_stop(run_srv); /* closes the listening sockets too */
  emu_server_stop(srv);
  emu_scheduler_stop(sched); /* no handler uses it any more */
  return 0;
}

int main(int argc, char **argv) {
  const char *listen_arg = "127.0.0.1:0", *run_arg = NULL, *config = NULL,
             *key_file = NULL;
  int unsafe = 0, fd, run_fd, rc;
  struct sockaddr_in sa, run_sa;
  char host[64], run_host[64], base[128], run_base[128], hostport[96],
      run_default[96], err[1024];
  sigset_t set;
  emu *e;
  gauth_error gerr = GAUTH_ERROR_INIT;

  /* The emulator keeps time in UTC. cron.c evaluates schedules in a job's
   * zone by switching TZ under a lock; with TZ present from the start each
   * switch replaces the variable in place, which glibc makes safe for the
   * threads that read the environment meanwhile (libcurl's proxy lookup),
   * where adding or removing it is not. */
  if (setenv("TZ", "UTC", 1) != 0) {
    fprintf(stderr, "gauth-emulator: cannot set TZ\n");
    return 1;
  }

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strncmp(a, "--listen=", 9) == 0) {
      listen_arg = a + 9;
    } else if (strncmp(a, "--listen-run=", 13) == 0) {
      run_arg = a + 13;
    } else if (strncmp(a, "--config=", 9) == 0) {
      config = a + 9;
    } else if (strncmp(a, "--key-file=", 11) == 0) {
      key_file = a + 11;
    } else if (strcmp(a, "--unsafe-listen-any") == 0) {
      unsafe = 1;
    } else {
      return usage_error("unknown argument %s", a);
    }
  }
  if ((config && !config[0]) || (key_file && !key_file[0]))
    return usage_error("--config and --key-file need a value");
  if ((rc = check_listen("--listen", listen_arg, &sa, host, sizeof(host),
                         unsafe)) != 0)
    return rc;
  if (run_arg == NULL) {
    snprintf(run_default, sizeof(run_default), "%s:0", host);
    run_arg = run_default;
  }
  if ((rc = check_listen("--listen-run", run_arg, &run_sa, run_host,
                         sizeof(run_host), unsafe)) != 0)
    return rc;

  /* Block the stop signals before any thread exists: libmicrohttpd's
   * threads inherit the mask, and this thread takes them with sigwait. */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (gauth_global_init(&gerr) != GAUTH_OK) {
    fprintf(stderr, "gauth-emulator: %s\n", gerr.message);
    return 1;
  }
  fd = open_listener("--listen", listen_arg, &sa);
  run_fd = fd < 0 ? -1 : open_listener("--listen-run", run_arg, &run_sa);
  if (run_fd < 0) {
    if (fd >= 0) close(fd);
    gauth_global_cleanup();
    return 1;
  }
  snprintf(hostport, sizeof(hostport), "%s:%u", host,
           (unsigned)ntohs(sa.sin_port));
  snprintf(base, sizeof(base), "http://%s", hostport);
  snprintf(run_base, sizeof(run_base), "http://%s:%u", run_host,
           (unsigned)ntohs(run_sa.sin_port));

  e = emu_world_new(base, run_base, config, err, sizeof(err));
  rc = e == NULL ? 2 : 0;
  if (e == NULL) {
    fprintf(stderr, "gauth-emulator: %s\n", err);
  } else if (key_file != NULL &&
             emu_write_key_file(e, key_file, err, sizeof(err)) != 0) {
    fprintf(stderr, "gauth-emulator: --key-file: %s\n", err);
    rc = 1;
  }
  if (rc == 0) {
    /* The order is documented (docs/emulator.md): the key file's line,
     * when there is one, comes last. */
    printf("listening %s\n", base);
    print_quoted("GAUTH_ENDPOINT", base);
    print_quoted("GCE_METADATA_HOST", hostport);
    print_quoted("GCE_METADATA_IP", hostport);
    print_quoted("GAUTH_EMULATOR_RUN_URL", run_base);
    if (key_file != NULL)
      print_quoted("GOOGLE_APPLICATION_CREDENTIALS", key_file);
    if (fflush(stdout) != 0) {
      fprintf(stderr, "gauth-emulator: cannot write to stdout\n");
      rc = 1;
    }
  }
  if (rc != 0) {
    emu_world_free(e);
    close(fd);
    close(run_fd);
    gauth_global_cleanup();
    return rc;
  }
  rc = serve(e, fd, run_fd, base);
  emu_world_free(e);
  gauth_global_cleanup();
  return rc;
}
