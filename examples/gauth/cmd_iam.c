/* gauth test-permissions, gauth wait-permissions: which permissions the
 * caller holds on a resource right now (testIamPermissions), and waiting
 * for a fresh grant to take effect, through the public API only
 * (gauth/iam.h).
 *
 * These two commands have an exit status of their own, so that a script
 * can tell "missing" from "the resource cannot be seen" from "the check
 * could not be made" (see IAM_* below and docs/cli.md). */
#include "cli.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

enum {
  IAM_GRANTED = 0, /* every permission granted */
  IAM_MISSING = 1, /* some missing (wait-permissions: at the deadline) */
  IAM_USAGE = 2,   /* bad usage, a malformed permission or resource */
  IAM_REFUSED = 3, /* 403 / 404 on the call: the resource does not exist
                      or cannot be seen */
  IAM_FAIL = 4     /* anything else: credentials, network, 401, ... */
};

#define EXIT_TABLE                                                            \
  "exit status:\n"                                                            \
  "  0  every permission is granted\n"                                        \
  "  1  some are missing%s\n"                                                 \
  "  2  bad usage: a malformed PERMISSION or RESOURCE (no request is made)\n" \
  "  3  the call was refused (HTTP 403 / 404): the resource does not exist\n" \
  "     or this principal cannot see it; not a missing permission\n"          \
  "  4  any other failure: no credentials, network, HTTP 401, ... (the\n"     \
  "     reason on stderr)\n"

#define RESOURCE_FORMS                                                      \
  "RESOURCE is a full resource name:\n"                                     \
  "  projects/P, folders/F, organizations/O\n"                              \
  "  projects/P/locations/L/jobs/J, projects/P/locations/L/services/S\n"    \
  "  projects/P/serviceAccounts/EMAIL\n"                                    \
  "  projects/P/topics/T, projects/P/subscriptions/S\n"                     \
  "  projects/_/buckets/B\n"                                                \
  "  or an https://...:testIamPermissions URL, used as given.\n"            \
  "PERMISSION is an exact name, service.resource.verb (run.jobs.run), no\n" \
  "wildcards; at most 100.\n"

#define CREDS_OPTIONS                                                  \
  "  --credentials=FILE    a credentials file; default: Application\n" \
  "                        Default Credentials\n"                      \
  "  --impersonate-service-account=[DELEGATE,...]EMAIL\n"              \
  "                        ask as EMAIL (see print-access-token --help)\n"

static const char test_usage[] =
    "usage: gauth test-permissions RESOURCE PERMISSION... [--format=text|json]\n"
    "                              [--credentials=FILE]\n"
    "                              [--impersonate-service-account=[DELEGATE,...]EMAIL]\n"
    "\n"
    "Asks Google (testIamPermissions) which of the PERMISSIONs the caller\n"
    "holds on RESOURCE right now. Prints one line per permission, in the\n"
    "order given: 'PERMISSION granted', 'PERMISSION missing', or\n"
    "'PERMISSION unknown' when the call itself was refused.\n"
    "\n" RESOURCE_FORMS
    "\n"
    "options:\n"
    "  --format=json         one JSON object: resource, url, access (ok,\n"
    "                        not_found, denied), permissions (name: granted,\n"
    "                        missing or unknown), all_granted\n" CREDS_OPTIONS
    "  --help                this text\n"
    "\n";

static const char wait_usage[] =
    "usage: gauth wait-permissions RESOURCE PERMISSION... [--timeout=DURATION]\n"
    "                              [--credentials=FILE]\n"
    "                              [--impersonate-service-account=[DELEGATE,...]EMAIL]\n"
    "\n"
    "Checks, then checks again with exponential backoff (first wait 2 s,\n"
    "at most 30 s, jittered) until the caller holds every PERMISSION on\n"
    "RESOURCE: what to run after granting a role, while IAM propagates.\n"
    "Progress goes to stderr: a live line when it is a terminal, otherwise\n"
    "one line per check. Then, on stdout:\n"
    "  all N permissions granted after 5.2 s (3 checks)\n"
    "or, at the deadline:\n"
    "  M of N permissions still missing after 600.0 s (14 checks): NAME, ...\n"
    "\n" RESOURCE_FORMS
    "\n"
    "options:\n"
    "  --timeout=DURATION    give up after this long: 90s, 5m, 1h or plain\n"
    "                        seconds (default 10m)\n" CREDS_OPTIONS
    "  --help                this text\n"
    "\n";

/* The command line of either command. */
typedef struct iam_args {
  const char *resource;
  const char **perms; /* NULL-terminated; the strings are argv's */
  size_t count;
  cli_creds_args creds;
  int json;                /* test-permissions --format=json */
  unsigned int timeout_ms; /* wait-permissions --timeout */
} iam_args;

static int show_help(int argc, char **argv, const char *usage, int wait) {
  for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (cli_is_help(argv[i])) {
      fputs(usage, stdout);
      printf(EXIT_TABLE, wait ? " at the deadline (they are listed)" : "");
      return 1;
    }
  return 0;
}

/* ---- arguments --------------------------------------------------------- */

/* DURATION: digits, then optionally s, m or h. 0 on success, else a
 * message for the usage error. */
static const char *parse_duration(const char *s, unsigned int *ms) {
  unsigned long long v = 0, unit = 1000;
  const char *p = s;
  static const char bad[] =
      "--timeout: expected a duration such as 90s, 5m, 1h or plain seconds";
  if (*p < '0' || *p > '9') return bad;
  for (; *p >= '0' && *p <= '9'; p++) {
    v = v * 10 + (unsigned long long)(*p - '0');
    if (v > UINT_MAX) return "--timeout: too long (at most 4294967 s)";
  }
  if (*p == 's' || *p == 'm' || *p == 'h') {
    unit = *p == 's' ? 1000 : *p == 'm' ? 60000 : 3600000;
    p++;
  }
  if (*p != '\0') return bad;
  if (v == 0) return "--timeout: must be more than 0";
  if (v > UINT_MAX / unit) return "--timeout: too long (at most 4294967 s)";
  *ms = (unsigned int)(v * unit);
  return NULL;
}

/* One option at argv[*i]: 1 taken, -1 usage error printed, 0 unknown. */
static int parse_option(int argc, char **argv, int *i, const char *cmd,
                        int wait, iam_args *a) {
  const char *v = NULL, *bad;
  int r;
  if ((r = cli_creds_option(argc, argv, i, cmd, &a->creds)) != 0) return r;
  if (!wait && (r = cli_option(argc, argv, i, cmd, "--format", &v)) != 0) {
    if (r < 0) return -1;
    if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0) {
      cli_usage_error(cmd, "--format: expected text or json");
      return -1;
    }
    a->json = strcmp(v, "json") == 0;
    return 1;
  }
  if (wait && (r = cli_option(argc, argv, i, cmd, "--timeout", &v)) != 0) {
    if (r < 0) return -1;
    if ((bad = parse_duration(v, &a->timeout_ms)) != NULL) {
      cli_usage_error(cmd, "%s", bad);
      return -1;
    }
    return 1;
  }
  return 0;
}

/* Checks RESOURCE and every PERMISSION without a request. */
static int check_names(const char *cmd, const iam_args *a) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *endpoint = NULL;
  if (a->count > GAUTH_IAM_MAX_PERMISSIONS)
    return cli_usage_error(cmd,
                           "at most %d permissions per call (Google's "
                           "limit), %zu given",
                           GAUTH_IAM_MAX_PERMISSIONS, a->count);
  if (gauth_iam_endpoint(NULL, a->resource, &endpoint, &err) != GAUTH_OK)
    return cli_usage_error(cmd, "%s", err.message);
  gauth_free(endpoint);
  for (size_t i = 0; i < a->count; i++)
    if (gauth_iam_permission_check(a->perms[i], &err) != GAUTH_OK)
      return cli_usage_error(cmd, "%s", err.message);
  return IAM_GRANTED;
}

/* Options anywhere; the first other argument is RESOURCE, the rest the
 * PERMISSIONs; "--" ends the options. a->perms is freed by the caller. */
static int parse_args(int argc, char **argv, const char *cmd, int wait,
                      iam_args *a) {
  int options = 1;
  memset(a, 0, sizeof(*a));
  a->perms = calloc((size_t)argc, sizeof(*a->perms));
  if (a->perms == NULL) {
    fprintf(stderr, "gauth: out of memory\n");
    return IAM_FAIL;
  }
  for (int i = 2; i < argc; i++) {
    char name[64];
    int r = 0;
    if (options && strcmp(argv[i], "--") == 0) {
      options = 0;
      continue;
    }
    if (options && argv[i][0] == '-' &&
        (r = parse_option(argc, argv, &i, cmd, wait, a)) == 0)
      return cli_usage_error(cmd, "unknown argument %s",
                             cli_option_name(argv[i], name, sizeof(name)));
    if (r < 0) return IAM_USAGE;
    if (r > 0) continue;
    if (a->resource == NULL)
      a->resource = argv[i];
    else
      a->perms[a->count++] = argv[i];
  }
  if (a->resource == NULL || a->count == 0)
    return cli_usage_error(cmd,
                           "expected RESOURCE and at least one PERMISSION");
  return check_names(cmd, a);
}

/* ---- results ----------------------------------------------------------- */

static const char *state_name(gauth_iam_permission_state s) {
  switch (s) {
    case GAUTH_IAM_GRANTED: return "granted";
    case GAUTH_IAM_MISSING: return "missing";
    case GAUTH_IAM_UNKNOWN: return "unknown";
  }
  return "unknown";
}

static const char *access_name(gauth_iam_access a) {
  switch (a) {
    case GAUTH_IAM_ACCESS_OK: return "ok";
    case GAUTH_IAM_ACCESS_NOT_FOUND: return "not_found";
    case GAUTH_IAM_ACCESS_DENIED: return "denied";
  }
  return "denied";
}

/* A libgauth failure: its message on stderr. Names were checked before
 * any request, so whatever fails now is not the command line's fault. */
static int fail(const gauth_error *err) {
  cli_fail(err);
  return IAM_FAIL;
}

/* Says on stderr that the call was refused: not a missing permission. */
static int refused(const char *cmd, const gauth_iam_result *r) {
  const char *detail = gauth_iam_result_detail(r);
  fprintf(stderr,
          "gauth: %s: testIamPermissions on %s was refused (HTTP %d%s%s)\n"
          "gauth: %s: %s: this is not a missing permission\n",
          cmd, gauth_iam_result_resource(r), gauth_iam_result_http_status(r),
          detail[0] ? ": " : "", detail, cmd,
          gauth_iam_result_access(r) == GAUTH_IAM_ACCESS_NOT_FOUND
              ? "the resource does not exist, or this principal cannot see it"
              : "this principal may not see the resource, or it does not "
                "exist");
  return IAM_REFUSED;
}

static int flush_stdout(int rc) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "gauth: cannot write to standard output\n");
    return IAM_FAIL;
  }
  return rc;
}

/* 1 when permission i was asked before (JSON keys are printed once). */
static int seen_before(const gauth_iam_result *r, size_t i) {
  for (size_t j = 0; j < i; j++)
    if (strcmp(gauth_iam_result_permission(r, j),
               gauth_iam_result_permission(r, i)) == 0)
      return 1;
  return 0;
}

static void print_json(const gauth_iam_result *r) {
  const char *sep = "";
  fputs("{\"resource\":", stdout);
  cli_print_json_string(gauth_iam_result_resource(r));
  fputs(",\"url\":", stdout);
  cli_print_json_string(gauth_iam_result_url(r));
  printf(",\"access\":\"%s\",\"permissions\":{",
         access_name(gauth_iam_result_access(r)));
  for (size_t i = 0; i < gauth_iam_result_count(r); i++) {
    if (seen_before(r, i)) continue;
    fputs(sep, stdout);
    cli_print_json_string(gauth_iam_result_permission(r, i));
    printf(":\"%s\"", state_name(gauth_iam_result_state(r, i)));
    sep = ",";
  }
  printf("},\"all_granted\":%s}\n",
         gauth_iam_result_all_granted(r) ? "true" : "false");
}

static int report(const char *cmd, const gauth_iam_result *r, int json) {
  int rc = gauth_iam_result_all_granted(r) ? IAM_GRANTED : IAM_MISSING;
  if (json) {
    print_json(r);
  } else {
    for (size_t i = 0; i < gauth_iam_result_count(r); i++)
      printf("%s %s\n", gauth_iam_result_permission(r, i),
             state_name(gauth_iam_result_state(r, i)));
  }
  if (gauth_iam_result_access(r) != GAUTH_IAM_ACCESS_OK) rc = refused(cmd, r);
  return flush_stdout(rc);
}

/* test-permissions: one check, reported. */
static int test_once(const char *cmd, gauth_credentials *creds,
                     const iam_args *a, gauth_iam_result **r,
                     gauth_error *err) {
  if (gauth_iam_test_permissions(creds, a->resource, a->perms, r, err) !=
      GAUTH_OK)
    return fail(err);
  return report(cmd, *r, a->json);
}

/* ---- wait-permissions: progress ---------------------------------------- */

/* What the progress display knows; a ticker thread redraws the terminal
 * line every second from it, the callback updates it after each check. */
typedef struct progress {
  int tty; /* stderr is a terminal */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int stop;                 /* the ticker is to end */
  int drawn;                /* a live line is on the terminal */
  struct timespec start;    /* the wait began */
  struct timespec reported; /* the last check was reported */
  unsigned int checks;      /* attempt of the last report */
  int64_t next_wait_ms;     /* after the last report */
  char what[512];           /* the last check's outcome, one line */
} progress;

static int64_t ms_since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
         (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* printf into buf at *len, never past size. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) {
  va_list ap;
  int n;
  if (*len + 1 >= size) return;
  va_start(ap, fmt);
  n = vsnprintf(buf + *len, size - *len, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  *len += (size_t)n;
  if (*len >= size) *len = size - 1;
}

/* One check's outcome: "2 missing: a, b", "all granted", "refused (HTTP
 * 404)", "failed: message (GAUTH_E_NAME)". */
static void describe(const gauth_iam_progress *p, char *buf, size_t size) {
  const gauth_iam_result *r = p->result;
  size_t len = 0;
  buf[0] = '\0';
  if (p->status != GAUTH_OK || r == NULL) {
    append(buf, size, &len, "failed: %s (%s)",
           p->error && p->error->message[0] ? p->error->message
                                            : gauth_strerror(p->status),
           gauth_status_name(p->status));
  } else if (gauth_iam_result_access(r) != GAUTH_IAM_ACCESS_OK) {
    append(buf, size, &len, "refused (HTTP %d)",
           gauth_iam_result_http_status(r));
  } else if (gauth_iam_result_all_granted(r)) {
    append(buf, size, &len, "all granted");
  } else {
    const char *sep = ": ";
    append(buf, size, &len, "%zu missing", gauth_iam_result_missing_count(r));
    for (size_t i = 0; i < gauth_iam_result_count(r); i++) {
      if (gauth_iam_result_state(r, i) != GAUTH_IAM_MISSING) continue;
      append(buf, size, &len, "%s%s", sep, gauth_iam_result_permission(r, i));
      sep = ", ";
    }
  }
}

static int terminal_columns(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
    return ws.ws_col;
  return 80;
}

/* The length of s cut to at most n bytes, not inside a UTF-8 sequence. */
static size_t cut(const char *s, size_t n) {
  size_t len = strlen(s);
  if (len <= n) return len;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return n;
}

/* Rewrites the live line (lock held). It must fit the terminal's width, or
 * the \r would not return to its start: the middle (the missing names)
 * is shortened first, so that the countdown stays in view. */
static void draw(progress *pg) {
  char head[64], tail[64] = "";
  size_t width = (size_t)terminal_columns() - 1, room, n;
  int64_t left = pg->next_wait_ms - ms_since(&pg->reported);
  const char *mid = pg->checks ? pg->what : "first check";
  snprintf(head, sizeof head, "waiting %lld s, ",
           (long long)(ms_since(&pg->start) / 1000));
  if (pg->checks) {
    size_t h = strlen(head);
    snprintf(head + h, sizeof head - h, "check %u: ", pg->checks);
  }
  if (pg->checks && pg->next_wait_ms > 0)
    snprintf(tail, sizeof tail, "; next check in %lld s",
             (long long)((left > 0 ? left : 0) + 999) / 1000);
  room = strlen(head) + strlen(tail) + 3 < width
             ? width - strlen(head) - strlen(tail)
             : 0;
  fputs("\r\033[K", stderr);
  if (room == 0) { /* a very narrow terminal: the start of the line */
    fprintf(stderr, "%.*s", (int)cut(head, width), head);
  } else if (cut(mid, room) < strlen(mid)) {
    n = cut(mid, room - 3);
    fprintf(stderr, "%s%.*s...%s", head, (int)n, mid, tail);
  } else {
    fprintf(stderr, "%s%s%s", head, mid, tail);
  }
  fflush(stderr);
  pg->drawn = 1;
}

static void *ticker(void *arg) {
  progress *pg = arg;
  pthread_mutex_lock(&pg->lock);
  while (!pg->stop) {
    struct timespec until;
    draw(pg);
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    while (!pg->stop &&
           pthread_cond_timedwait(&pg->wake, &pg->lock, &until) == 0) {
    }
  }
  if (pg->drawn) fputs("\r\033[K", stderr);
  fflush(stderr);
  pthread_mutex_unlock(&pg->lock);
  return NULL;
}

static int on_check(const gauth_iam_progress *p, void *userdata) {
  progress *pg = userdata;
  pthread_mutex_lock(&pg->lock);
  pg->checks = p->attempt;
  pg->next_wait_ms = p->next_wait_ms;
  clock_gettime(CLOCK_MONOTONIC, &pg->reported);
  describe(p, pg->what, sizeof pg->what);
  if (pg->tty) {
    draw(pg);
  } else {
    fprintf(stderr, "gauth: wait-permissions: check %u at %.1f s: %s",
            p->attempt, (double)p->elapsed_ms / 1000.0, pg->what);
    if (p->next_wait_ms > 0)
      fprintf(stderr, "; next check in %.1f s",
              (double)p->next_wait_ms / 1000.0);
    fputc('\n', stderr);
  }
  pthread_mutex_unlock(&pg->lock);
  return 0;
}

/* ---- wait-permissions -------------------------------------------------- */

/* Waits with the live display (a ticker thread) on a terminal. */
static gauth_status wait_with_progress(gauth_credentials *creds,
                                       const iam_args *a, progress *pg,
                                       gauth_iam_result **r, int64_t *elapsed,
                                       gauth_error *err) {
  gauth_iam_wait_options o = GAUTH_IAM_WAIT_OPTIONS_INIT;
  pthread_condattr_t ca;
  pthread_t thread;
  int ticking;
  gauth_status st;
  o.timeout_ms = a->timeout_ms;
  o.progress = on_check;
  o.userdata = pg;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&pg->wake, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&pg->lock, NULL);
  clock_gettime(CLOCK_MONOTONIC, &pg->start);
  pg->reported = pg->start;
  ticking = pg->tty && pthread_create(&thread, NULL, ticker, pg) == 0;
  st = gauth_iam_wait_permissions(creds, a->resource, a->perms, &o, r, elapsed,
                                  err);
  if (ticking) {
    pthread_mutex_lock(&pg->lock);
    pg->stop = 1;
    pthread_cond_signal(&pg->wake);
    pthread_mutex_unlock(&pg->lock);
    pthread_join(thread, NULL);
  } else if (pg->drawn) {
    fputs("\r\033[K", stderr);
  }
  pthread_cond_destroy(&pg->wake);
  pthread_mutex_destroy(&pg->lock);
  return st;
}

static const char *plural(size_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

/* The outcome of the wait on stdout (and stderr), and its exit status. */
static int wait_outcome(gauth_status st, const gauth_iam_result *r,
                        size_t asked, int64_t elapsed, unsigned int checks,
                        const gauth_error *err) {
  size_t n = r ? gauth_iam_result_count(r) : asked, missing;
  double secs = (double)elapsed / 1000.0;
  if (r != NULL && gauth_iam_result_access(r) != GAUTH_IAM_ACCESS_OK)
    return refused("wait-permissions", r);
  if (st == GAUTH_OK) {
    /* "granted after": the first check that saw them all; propagation
     * took at most that long (and more than the check before). */
    printf("%s%zu %s granted after %.1f s (%u %s)\n", n > 1 ? "all " : "", n,
           plural(n, "permission", "permissions"), secs, checks,
           plural(checks, "check", "checks"));
    return flush_stdout(IAM_GRANTED);
  }
  if (st != GAUTH_E_TIMEOUT || r == NULL) return fail(err);
  missing = gauth_iam_result_missing_count(r);
  printf("%zu of %zu %s still missing after %.1f s (%u %s): ", missing, n,
         plural(n, "permission", "permissions"), secs, checks,
         plural(checks, "check", "checks"));
  for (size_t i = 0, k = 0; i < n; i++)
    if (gauth_iam_result_state(r, i) == GAUTH_IAM_MISSING)
      printf("%s%s", k++ ? ", " : "", gauth_iam_result_permission(r, i));
  putchar('\n');
  cli_fail(err);
  return flush_stdout(IAM_MISSING);
}

/* wait-permissions: checks until granted or the deadline, with progress on
 * stderr; the outcome. */
static int wait_until_granted(gauth_credentials *creds, const iam_args *a,
                              gauth_iam_result **r, gauth_error *err) {
  progress pg;
  int64_t elapsed = 0;
  gauth_status st;
  memset(&pg, 0, sizeof pg);
  pg.tty = isatty(STDERR_FILENO);
  st = wait_with_progress(creds, a, &pg, r, &elapsed, err);
  return wait_outcome(st, *r, a->count, elapsed, pg.checks, err);
}

/* ---- the commands ------------------------------------------------------ */

/* Either command: --help, the command line (names checked before any
 * request), the credentials, then one check or the wait. */
static int iam_command(int argc, char **argv, int wait) {
  const char *cmd = wait ? "wait-permissions" : "test-permissions";
  iam_args a;
  gauth_credentials *creds = NULL;
  gauth_iam_result *r = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int rc;
  if (show_help(argc, argv, wait ? wait_usage : test_usage, wait))
    return IAM_GRANTED;
  rc = parse_args(argc, argv, cmd, wait, &a);
  if (rc == IAM_GRANTED &&
      cli_make_credentials(&a.creds, &creds, &err) != GAUTH_OK)
    rc = fail(&err);
  if (rc == IAM_GRANTED)
    rc = wait ? wait_until_granted(creds, &a, &r, &err)
              : test_once(cmd, creds, &a, &r, &err);
  gauth_iam_result_free(r);
  gauth_credentials_free(creds);
  free(a.perms);
  return rc;
}

int cmd_test_permissions(int argc, char **argv) {
  return iam_command(argc, argv, 0);
}

int cmd_wait_permissions(int argc, char **argv) {
  return iam_command(argc, argv, 1);
}
