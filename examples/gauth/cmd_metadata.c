/* gauth metadata: read a metadata server value, or say whether a metadata
 * server is there; read custom metadata (attribute); follow an entry as it
 * changes (watch). Through the public API only (gauth/metadata.h). */
#include "cli.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char metadata_usage[] =
    "usage: gauth metadata PATH [OPTIONS]\n"
    "       gauth metadata --detect [OPTIONS]\n"
    "       gauth metadata attribute [--instance|--project] [KEY] [OPTIONS]\n"
    "       gauth metadata watch PATH [--timeout=SEC] [--count=N] [OPTIONS]\n"
    "\n"
    "PATH: prints the metadata server's value at computeMetadata/v1/PATH\n"
    "(\"project/project-id\", \"instance/zone\", \"instance/?recursive=true\";\n"
    "a leading '/' or 'computeMetadata/v1/' is accepted). Exit 0, or 1 when\n"
    "the read fails (no server, no such entry: GAUTH_E_NOT_FOUND).\n"
    "\n"
    "--detect: prints whether a metadata server is there, how that was\n"
    "decided (GAUTH_METADATA_DETECTION, an environment hint, DMI, or one\n"
    "probe of GCE_METADATA_IP limited to 500 ms) and how long it took.\n"
    "Exit 0 when present, 1 when not.\n"
    "\n"
    "attribute KEY: prints custom metadata KEY of this VM (--instance, the\n"
    "default) or of the project (--project), as the server holds it. KEY:\n"
    "1 to 127 of A-Z a-z 0-9 - _. Without KEY: every attribute of the scope\n"
    "as one JSON object of strings ({} when none). Exit 1 when KEY is not\n"
    "set (GAUTH_E_NOT_FOUND).\n"
    "\n"
    "watch PATH: prints PATH's value, then each new value as it changes\n"
    "(long-polls with wait_for_change and the last ETag, --timeout=SEC each,\n"
    "default 60, at most 3600). Each value goes to stdout, followed by a\n"
    "newline when it has none, and its ETag to stderr first, as a line\n"
    "\"etag: ETAG\" (\"etag: -\" when the server sent none). --count=N stops\n"
    "after N values (exit 0); SIGINT or SIGTERM stops the watch at once\n"
    "(exit 130 or 143, as a shell reports those signals).\n"
    "\n"
    "options:\n"
    "  --metadata-host=HOST[:PORT]  the server read (default:\n"
    "                               GCE_METADATA_HOST, else\n"
    "                               metadata.google.internal)\n"
    "  --metadata-ip=IP[:PORT]      the address probed (default:\n"
    "                               GCE_METADATA_IP, else 169.254.169.254)\n"
    "  --help                       this text\n";

static const char *basis_name(gauth_metadata_basis b) {
  switch (b) {
    case GAUTH_METADATA_BY_MODE: return "mode";
    case GAUTH_METADATA_BY_HINT: return "hint";
    case GAUTH_METADATA_BY_PROBE: return "probe";
    case GAUTH_METADATA_BY_MEMORY: return "memory";
  }
  return "?";
}

static int detect(gauth_metadata *md) {
  gauth_metadata_detection d;
  gauth_error err = GAUTH_ERROR_INIT;
  if (gauth_metadata_detect(md, &d, &err) != GAUTH_OK) return cli_fail(&err);
  printf("metadata server: %s\n", d.present ? "present" : "absent");
  printf("decided by: %s: %s\n", basis_name(d.basis), d.detail);
  printf("took: %.3f ms\n", (double)d.elapsed_us / 1000.0);
  return d.present ? CLI_OK : CLI_FAIL;
}

static int read_path(gauth_metadata *md, const char *path) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *value = NULL;
  size_t n;
  if (gauth_metadata_get(md, path, &value, &err) != GAUTH_OK)
    return cli_fail(&err);
  n = strlen(value);
  fputs(value, stdout);
  if (n == 0 || value[n - 1] != '\n') putchar('\n');
  gauth_free(value);
  return CLI_OK;
}

/* ---- attribute ----------------------------------------------------------- */

static int print_value(const char *value) {
  size_t n = strlen(value);
  fputs(value, stdout);
  if (n == 0 || value[n - 1] != '\n') putchar('\n');
  return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static int attribute(gauth_metadata *md, gauth_metadata_scope scope,
                     const char *key) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *value = NULL;
  gauth_status st =
      key != NULL ? gauth_metadata_attribute(md, scope, key, &value, &err)
                  : gauth_metadata_attributes_json(md, scope, &value, &err);
  int rc;
  if (st != GAUTH_OK) return cli_fail(&err);
  rc = print_value(value);
  gauth_free(value);
  return rc;
}

/* ---- watch --------------------------------------------------------------- */

/* Signals are taken by a thread of their own (sigwait), which may call
 * gauth_metadata_watch_cancel: a signal handler may not (it locks). */
typedef struct signal_waiter {
  gauth_metadata_watch *w;
  sigset_t set; /* SIGINT, SIGTERM, and SIGUSR1: the main thread is done */
  int signo;    /* the signal that stopped the watch; read after join */
} signal_waiter;

static void *wait_signal(void *arg) {
  signal_waiter *s = arg;
  int signo = 0;
  if (sigwait(&s->set, &signo) != 0) return NULL;
  if (signo == SIGINT || signo == SIGTERM) {
    s->signo = signo;
    gauth_metadata_watch_cancel(s->w);
  }
  return NULL;
}

/* Parses a number in [lo, hi]; 0 when it is not one. */
static int parse_count(const char *s, unsigned long lo, unsigned long hi,
                       unsigned long *out) {
  char *end = NULL;
  unsigned long v;
  if (s == NULL || s[0] < '0' || s[0] > '9') return 0;
  v = strtoul(s, &end, 10);
  if (*end != '\0' || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static int watch_loop(gauth_metadata_watch *w, unsigned int timeout_s,
                      unsigned long count) {
  unsigned long printed = 0;
  for (;;) {
    gauth_error err = GAUTH_ERROR_INIT;
    char *value = NULL;
    int changed = 0, rc;
    const char *etag;
    if (gauth_metadata_watch_next(w, timeout_s, &value, &changed, &err) !=
        GAUTH_OK)
      return err.code == GAUTH_E_CANCELLED ? CLI_OK : cli_fail(&err);
    if (changed) {
      etag = gauth_metadata_watch_etag(w);
      fprintf(stderr, "etag: %s\n", etag != NULL ? etag : "-");
      rc = print_value(value);
      printed++;
    } else {
      rc = CLI_OK;
    }
    gauth_free(value);
    if (rc != CLI_OK) return rc;
    if (count > 0 && printed >= count) return CLI_OK;
  }
}

static int watch_path(gauth_metadata *md, const char *path,
                      unsigned int timeout_s, unsigned long count) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata_watch *w = NULL;
  signal_waiter sw;
  sigset_t old;
  pthread_t th;
  int rc, have_thread;
  if (gauth_metadata_watch_new(md, path, &w, &err) != GAUTH_OK)
    return cli_fail(&err);
  memset(&sw, 0, sizeof(sw));
  sw.w = w;
  sigemptyset(&sw.set);
  sigaddset(&sw.set, SIGINT);
  sigaddset(&sw.set, SIGTERM);
  sigaddset(&sw.set, SIGUSR1);
  /* Blocked in this thread before the waiter starts, so that it inherits
   * the mask and every such signal goes to its sigwait. */
  pthread_sigmask(SIG_BLOCK, &sw.set, &old);
  have_thread = pthread_create(&th, NULL, wait_signal, &sw) == 0;
  rc = watch_loop(w, timeout_s, count);
  if (have_thread) {
    /* Ends the waiter if no signal did (a pending SIGUSR1 is harmless). */
    pthread_kill(th, SIGUSR1);
    pthread_join(th, NULL);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  gauth_metadata_watch_free(w);
  if (sw.signo == SIGINT) return 128 + SIGINT;
  if (sw.signo == SIGTERM) return 128 + SIGTERM;
  return rc;
}

int cmd_metadata(int argc, char **argv) {
  const char *cmd = "metadata", *path = NULL;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md = NULL;
  gauth_metadata_scope scope = GAUTH_METADATA_INSTANCE;
  int want_detect = 0, only_args = 0, rc, first = 2, scope_given = 0;
  enum { READ, ATTRIBUTE, WATCH } mode = READ;
  const char *timeout_arg = NULL, *count_arg = NULL;
  unsigned long timeout_s = 60, count = 0;

  if (argc > 2 && strcmp(argv[2], "attribute") == 0) {
    mode = ATTRIBUTE;
    cmd = "metadata attribute";
    first = 3;
  } else if (argc > 2 && strcmp(argv[2], "watch") == 0) {
    mode = WATCH;
    cmd = "metadata watch";
    first = 3;
  }
  for (int i = first; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    int m;
    if (!only_args && cli_is_help(a)) {
      fputs(metadata_usage, stdout);
      return CLI_OK;
    }
    if (only_args || a[0] != '-') {
      if (path != NULL)
        return cli_usage_error(cmd, mode == ATTRIBUTE ? "more than one KEY"
                                                      : "more than one PATH");
      path = a;
    } else if (strcmp(a, "--") == 0) {
      only_args = 1;
    } else if (mode == READ && strcmp(a, "--detect") == 0) {
      want_detect = 1;
    } else if (mode == ATTRIBUTE &&
               (strcmp(a, "--instance") == 0 || strcmp(a, "--project") == 0)) {
      gauth_metadata_scope s = strcmp(a, "--project") == 0
                                   ? GAUTH_METADATA_PROJECT
                                   : GAUTH_METADATA_INSTANCE;
      if (scope_given && s != scope)
        return cli_usage_error(cmd, "give --instance or --project, not both");
      scope = s;
      scope_given = 1;
    } else if (mode == WATCH &&
               (m = cli_option(argc, argv, &i, cmd, "--timeout", &val)) != 0) {
      if (m < 0) return CLI_USAGE;
      timeout_arg = val;
    } else if (mode == WATCH &&
               (m = cli_option(argc, argv, &i, cmd, "--count", &val)) != 0) {
      if (m < 0) return CLI_USAGE;
      count_arg = val;
    } else if ((m = cli_option(argc, argv, &i, cmd, "--metadata-host", &val)) !=
               0) {
      if (m < 0) return CLI_USAGE;
      opts.metadata_host = val;
    } else if ((m = cli_option(argc, argv, &i, cmd, "--metadata-ip", &val)) !=
               0) {
      if (m < 0) return CLI_USAGE;
      opts.metadata_ip = val;
    } else {
      char name[64];
      return cli_usage_error(cmd, "unknown option %s",
                             cli_option_name(a, name, sizeof name));
    }
  }
  if (mode == WATCH) {
    if (path == NULL)
      return cli_usage_error(cmd, "give a PATH (e.g. instance/attributes/KEY)");
    if (timeout_arg != NULL &&
        !parse_count(timeout_arg, 1, GAUTH_METADATA_WATCH_MAX_TIMEOUT_SEC,
                     &timeout_s))
      return cli_usage_error(cmd, "--timeout must be 1 to %u seconds",
                             GAUTH_METADATA_WATCH_MAX_TIMEOUT_SEC);
    if (count_arg != NULL && !parse_count(count_arg, 1, ULONG_MAX, &count))
      return cli_usage_error(cmd, "--count must be a number from 1");
  } else if (mode == READ) {
    if (want_detect && path != NULL)
      return cli_usage_error(cmd, "give PATH or --detect, not both");
    if (!want_detect && path == NULL)
      return cli_usage_error(cmd,
                             "give a PATH (e.g. project/project-id) or "
                             "--detect");
  }
  if (gauth_metadata_new(&md, &opts, &err) != GAUTH_OK) {
    /* A bad --metadata-host is the command line's fault. */
    if (err.code == GAUTH_E_INVALID_ARG &&
        (opts.metadata_host != NULL || opts.metadata_ip != NULL) &&
        strstr(err.message, "option metadata_") != NULL)
      return cli_usage_error(cmd, "%s", err.message);
    return cli_fail(&err);
  }
  if (mode == ATTRIBUTE)
    rc = attribute(md, scope, path);
  else if (mode == WATCH)
    rc = watch_path(md, path, (unsigned int)timeout_s, count);
  else
    rc = want_detect ? detect(md) : read_path(md, path);
  gauth_metadata_free(md);
  return rc;
}
