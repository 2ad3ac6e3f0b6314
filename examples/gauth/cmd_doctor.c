/* gauth doctor: why a call to a Cloud Run job, service or Google API fails
 * (or would fail), with the fix: gauth_doctor_diagnose (gauth/doctor.h) on
 * a job read from the Cloud Scheduler API, a Job JSON file or flags (built
 * by cli_job.c, as gauth invoke builds its job), or on a URL and a token a
 * user already has. Prints the root cause first, its fix, the evidence and
 * the other causes; or the diagnosis as JSON.
 *
 * Never prints a token: the library's diagnosis holds none, and the output
 * is still searched for the supplied token (and its signature) and any
 * occurrence replaced by [redacted] before it is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gauth/doctor.h>
#include <gauth/gauth.h>

#include "cli.h"
#include "cmd.h"

#define CMD "doctor"
/* Exit status: a cause was found (CLI_FAIL), or the evidence names none. */
#define DOCTOR_UNKNOWN 3

static const char usage[] =
    "usage: gauth doctor --job=projects/P/locations/L/jobs/J|FILE [OPTIONS]\n"
    "       gauth doctor URL [--oidc[=AUDIENCE] | --oauth[=SCOPES]]\n"
    "                        [--service-account=EMAIL] [--method=M] "
    "[OPTIONS]\n"
    "       gauth doctor URL --token=FILE|- [OPTIONS]\n"
    "\n"
    "Says why a call to a Cloud Run job, service or Google API fails (or\n"
    "would fail) and how to fix it, reading the job, the target and IAM the\n"
    "way Google decides: the root cause first (the cause whose fix is needed\n"
    "first), its fix, the checks that showed it, then the other causes.\n"
    "Changes nothing: it reads Google's APIs (and mints tokens to test\n"
    "permissions) and sends nothing to the target unless --send is given.\n"
    "Runs as the caller (Application Default Credentials, or\n"
    "--credentials).\n"
    "\n"
    "  --job=NAME|FILE          a job read from the Cloud Scheduler API\n"
    "                           (projects/..., with its last attempt's\n"
    "                           status), or a Job JSON file\n"
    "  URL                      the URL that is called\n"
    "  --oidc[=AUDIENCE]        the call carries an OIDC ID token\n"
    "  --oauth[=SCOPES]         the call carries an OAuth access token\n"
    "  --service-account=EMAIL  whose token (default: the credentials' own;\n"
    "                           a person's credentials: their own token)\n"
    "  --method=M, --header=NAME:VALUE, --data=TEXT, --data-file=F\n"
    "                           the request, as gauth invoke takes them\n"
    "\n"
    "OPTIONS:\n"
    "  --token=FILE|-           check this token (read from FILE, or standard\n"
    "                           input for -) instead of minting one: the\n"
    "                           token alone, 'Bearer TOKEN' or a whole\n"
    "                           'Authorization: Bearer TOKEN' line. Also with\n"
    "                           --job; not with --oidc or --oauth. Never\n"
    "                           printed.\n"
    "  --send                   make one attempt, as gauth invoke would, and\n"
    "                           read the reply (status, WWW-Authenticate,\n"
    "                           Google's error, Date)\n"
    "  --format=text|json       json: one object (root_cause, summary, fix,\n"
    "                           causes, checks)\n"
    "  --verbose                also the skipped checks, every cause's fix\n"
    "                           and, on standard error, the time taken\n"
    "  --credentials=FILE       the caller (default: Application Default\n"
    "                           Credentials)\n"
    "  --impersonate-service-account=[DELEGATE,...]EMAIL  act as EMAIL first\n"
    "\n"
    "Exit status: 0 nothing wrong found (ok), 1 a cause was found, 2 bad\n"
    "usage (bad flags, an unreadable job or token file), 3 unknown: the\n"
    "evidence names no cause, or the diagnosis could not be made (no\n"
    "credentials, the job could not be read).\n";

typedef struct doctor_args {
  cli_job_args job;
  const char *token_file;
  int send, json, verbose;
} doctor_args;

/* ---- the command line ---------------------------------------------------- */

static int parse_args(int argc, char **argv, doctor_args *a) {
  memset(a, 0, sizeof(*a));
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    char name[64];
    int r;
    if (strcmp(s, "--send") == 0) {
      a->send = 1;
      continue;
    }
    if (strcmp(s, "--verbose") == 0 || strcmp(s, "-v") == 0) {
      a->verbose = 1;
      continue;
    }
    if (strcmp(s, "--format=json") == 0 || strcmp(s, "--format=text") == 0) {
      a->json = s[9] == 'j';
      continue;
    }
    if (strncmp(s, "--format", 8) == 0 && (s[8] == '=' || s[8] == '\0'))
      return cli_usage_error(CMD, "--format takes text or json");
    r = cli_option(argc, argv, &i, CMD, "--token", &a->token_file);
    if (r == 0) r = cli_job_option(argc, argv, &i, CMD, &a->job);
    if (r < 0) return CLI_USAGE;
    if (r > 0) continue;
    if (strncmp(s, "-", 1) == 0 || a->job.url != NULL)
      return cli_usage_error(CMD, "unexpected argument %s",
                             s[0] == '-' ? cli_option_name(s, name, sizeof name)
                                         : "(a second URL)");
    a->job.url = s;
  }
  if (a->token_file != NULL && (a->job.oidc || a->job.oauth))
    return cli_usage_error(CMD,
                           "--token is the token that was sent; --oidc and "
                           "--oauth say which one to mint: give one or the "
                           "other");
  return cli_job_check(&a->job, CMD);
}

/* 1 when the flags describe an ad hoc job (not only a URL). */
static int adhoc_job(const cli_job_args *a) {
  return a->oidc || a->oauth || a->service_account != NULL ||
         a->method != NULL || a->nheaders > 0 || a->data != NULL ||
         a->data_file != NULL;
}

/* ---- the token ----------------------------------------------------------- */

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
         c == '\v';
}

/* 1 when s starts with word (ASCII, any case). */
static int starts_with_word(const char *s, const char *word) {
  size_t i;
  for (i = 0; word[i] != '\0'; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (c != word[i]) return 0;
  }
  return 1;
}

static char *skip_space(char *p) {
  while (is_space(*p)) p++;
  return p;
}

/* The token in text, in place: surrounding white space trimmed, then an
 * "Authorization:" header name and a "Bearer" scheme (any case) dropped
 * ("Bearer" alone is no token).
 * NULL when there is no token or more than one word is left; messages
 * never show the text. */
static char *token_in(char *text, const char **why) {
  char *p = skip_space(text), *end;
  end = p + strlen(p);
  while (end > p && is_space(end[-1])) *--end = '\0';
  if (starts_with_word(p, "authorization:")) p = skip_space(p + 14);
  if (starts_with_word(p, "bearer") && (is_space(p[6]) || p[6] == '\0'))
    p = skip_space(p + 6);
  if (*p == '\0') {
    *why = "holds no token";
    return NULL;
  }
  for (const char *q = p; *q != '\0'; q++)
    if (is_space(*q) || (unsigned char)*q < 0x20 || *q == 0x7f) {
      *why =
          "holds more than a token: give the token alone, 'Bearer TOKEN' or "
          "an 'Authorization: Bearer TOKEN' line";
      return NULL;
    }
  return p;
}

/* Reads --token's FILE (or standard input for "-") into *buf (free with
 * cli_free_secret()); *token points into it. CLI_OK or CLI_USAGE. */
static int read_token(const char *path, char **buf, const char **token) {
  size_t len = 0;
  const char *why = NULL;
  *buf = NULL;
  if (strcmp(path, "-") == 0 && isatty(STDIN_FILENO))
    return cli_usage_error(CMD,
                           "--token=- reads the token from standard input, "
                           "which is a terminal: pipe it, or give a file");
  if (cli_read_file(path, "--token", buf, &len) != CLI_OK) return CLI_USAGE;
  if (strlen(*buf) != len) {
    cli_free_secret(*buf);
    *buf = NULL;
    return cli_usage_error(CMD, "--token %s holds a NUL byte: not a token",
                           strcmp(path, "-") == 0 ? "(standard input)" : path);
  }
  *token = token_in(*buf, &why);
  if (*token == NULL) {
    cli_free_secret(*buf);
    *buf = NULL;
    return cli_usage_error(CMD, "--token %s %s",
                           strcmp(path, "-") == 0 ? "(standard input)" : path,
                           why);
  }
  return CLI_OK;
}

/* ---- output -------------------------------------------------------------- */

/* Writes n bytes of s to f with every occurrence of secret (when it is at
 * least min bytes long) replaced by [redacted]. */
static void write_redacted(FILE *f, const char *s, size_t n, const char *secret,
                           size_t min) {
  size_t k = secret != NULL ? strlen(secret) : 0;
  while (n > 0) {
    const char *hit = NULL;
    if (k >= min && k > 0) {
      for (const char *p = s; (size_t)(p - s) + k <= n; p++)
        if (memcmp(p, secret, k) == 0) {
          hit = p;
          break;
        }
    }
    if (hit == NULL) {
      fwrite(s, 1, n, f);
      return;
    }
    fwrite(s, 1, (size_t)(hit - s), f);
    fputs("[redacted]", f);
    n -= (size_t)(hit - s) + k;
    s = hit + k;
  }
}

/* Writes text (len bytes) to standard output without the token: the whole
 * token, then its last dot-separated segment (a JWT's signature, an access
 * token's body) when that is long enough to be the secret part. */
static void write_out(const char *text, size_t len, const char *token) {
  char *once = NULL;
  size_t once_len = 0;
  FILE *m;
  const char *dot;
  if (token == NULL) {
    fwrite(text, 1, len, stdout);
    return;
  }
  m = open_memstream(&once, &once_len);
  if (m == NULL) return; /* out of memory: print nothing rather than risk */
  write_redacted(m, text, len, token, 1);
  fclose(m);
  dot = strrchr(token, '.');
  write_redacted(stdout, once, once_len, dot != NULL ? dot + 1 : NULL, 16);
  free(once);
}

static void print_text(FILE *f, const gauth_diagnosis *d, int verbose) {
  gauth_doctor_cause root = gauth_diagnosis_root_cause(d);
  size_t n = gauth_diagnosis_cause_count(d), i, j, root_i = n;
  int also = 0;
  fprintf(f, "ROOT CAUSE: %s: %s\n", gauth_doctor_cause_code(root),
          gauth_diagnosis_summary(d));
  for (i = 0; i < n && root_i == n; i++)
    if (gauth_diagnosis_cause(d, i) == root) root_i = i;
  if (root_i < n && gauth_diagnosis_fix_count(d, root_i) > 0) {
    fputs("FIX:\n", f);
    for (j = 0; j < gauth_diagnosis_fix_count(d, root_i); j++)
      fprintf(f, "  %s\n", gauth_diagnosis_fix(d, root_i, j));
  }
  if (gauth_diagnosis_check_count(d) > 0) fputs("EVIDENCE:\n", f);
  for (i = 0; i < gauth_diagnosis_check_count(d); i++) {
    gauth_doctor_check_result r = gauth_diagnosis_check_result(d, i);
    if (r == GAUTH_DOCTOR_CHECK_SKIPPED && !verbose) continue;
    fprintf(f, "  [%s] %s: %s\n", gauth_doctor_check_result_name(r),
            gauth_diagnosis_check_name(d, i),
            gauth_diagnosis_check_detail(d, i));
  }
  for (i = 0; i < n; i++) {
    if (i == root_i) continue;
    if (!also++) fputs("ALSO FOUND:\n", f);
    fprintf(f, "  %s: %s\n",
            gauth_doctor_cause_code(gauth_diagnosis_cause(d, i)),
            gauth_diagnosis_cause_summary(d, i));
    for (j = 0; verbose && j < gauth_diagnosis_fix_count(d, i); j++)
      fprintf(f, "    fix: %s\n", gauth_diagnosis_fix(d, i, j));
  }
}

/* Prints the diagnosis (text or JSON) without the token; CLI_FAIL when out
 * of memory. */
static int print_diagnosis(const gauth_diagnosis *d, const doctor_args *a,
                           const char *token) {
  char *text = NULL;
  size_t len = 0;
  if (a->json) {
    char *json = gauth_diagnosis_to_json(d);
    if (json == NULL) return CLI_FAIL;
    write_out(json, strlen(json), token);
    fputc('\n', stdout);
    gauth_free(json);
    return CLI_OK;
  }
  FILE *m = open_memstream(&text, &len);
  if (m == NULL) return CLI_FAIL;
  print_text(m, d, a->verbose);
  fclose(m);
  write_out(text, len, token);
  free(text);
  return CLI_OK;
}

static int exit_status(gauth_doctor_cause root) {
  if (root == GAUTH_DOCTOR_OK) return CLI_OK;
  if (root == GAUTH_DOCTOR_UNKNOWN) return DOCTOR_UNKNOWN;
  return CLI_FAIL;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* When no diagnosis could be made because the job or the credentials
 * could not be read (failure: why): the root cause is unknown, said in the
 * diagnosis's own shape, so that a script reading standard output (JSON
 * above all) always gets one. The message is on standard error too. */
static void print_not_diagnosed(const doctor_args *a, const char *what,
                                const gauth_error *failure) {
  char summary[GAUTH_ERROR_MESSAGE_SIZE + 128];
  snprintf(summary, sizeof summary, "No diagnosis could be made: %s: %s (%s).",
           strcmp(what, "job") == 0    ? "the job could not be read"
           : strcmp(what, "mint") == 0 ? "the caller's own token could not "
                                         "be minted"
                                       : "the caller's credentials could not "
                                         "be read",
           failure->message, gauth_status_name(failure->code));
  if (a->json) {
    fputs("{\"root_cause\":\"unknown\",\"summary\":", stdout);
    cli_print_json_string(summary);
    printf(
        ",\"fix\":[],\"causes\":[],\"checks\":[{\"name\":\"%s\","
        "\"result\":\"unknown\",\"detail\":",
        what);
    cli_print_json_string(failure->message);
    fputs("}]}\n", stdout);
    return;
  }
  printf("ROOT CAUSE: unknown: %s\nEVIDENCE:\n  [unknown] %s: %s\n", summary,
         what, failure->message);
}

/* --job=projects/P/locations/L/jobs/J answered NOT_FOUND to a caller who
 * may read jobs: the evidence shows the named job does not exist, the
 * cause the issue calls target_not_found (a wrong project, location or
 * job). Said in the diagnosis's shape; returns the exit status. */
static int print_job_not_found(const doctor_args *a,
                               const gauth_error *failure) {
  char project[256] = "", location[256] = "", line[700];
  const char *name = a->job.job;
  char summary[GAUTH_ERROR_MESSAGE_SIZE + 512];
  if (sscanf(name, "projects/%255[^/]/locations/%255[^/]/jobs/", project,
             location) != 2) {
    project[0] = '\0';
    location[0] = '\0';
  }
  snprintf(summary, sizeof summary,
           "The Cloud Scheduler job %s does not exist: the Cloud Scheduler "
           "API answers NOT_FOUND (a wrong project, location or job name).",
           name);
  snprintf(line, sizeof line,
           "list the jobs there: gcloud scheduler jobs list --project=%s "
           "--location=%s",
           project[0] ? project : "PROJECT",
           location[0] ? location : "LOCATION");
  if (a->json) {
    fputs("{\"root_cause\":\"target_not_found\",\"summary\":", stdout);
    cli_print_json_string(summary);
    fputs(",\"fix\":[", stdout);
    cli_print_json_string(line);
    fputs("],\"causes\":[{\"code\":\"target_not_found\",\"summary\":", stdout);
    cli_print_json_string(summary);
    fputs(",\"fix\":[", stdout);
    cli_print_json_string(line);
    fputs(
        "]}],\"checks\":[{\"name\":\"job\",\"result\":\"fail\","
        "\"detail\":",
        stdout);
    cli_print_json_string(failure->message);
    fputs("}]}\n", stdout);
  } else {
    printf(
        "ROOT CAUSE: target_not_found: %s\nFIX:\n  %s\nEVIDENCE:\n"
        "  [fail] job: %s\n",
        summary, line, failure->message);
  }
  return CLI_FAIL;
}

/* ---- the run ------------------------------------------------------------- */

/* A failure before any diagnosis (credentials, reading the job): the
 * evidence names no cause, so never exit 1 ("a cause was found"). */
static int not_diagnosed(int rc) {
  return rc == CLI_USAGE ? CLI_USAGE : DOCTOR_UNKNOWN;
}

/* 1 when the flags ask for the caller's own token (--oidc or --oauth, no
 * --service-account) and the caller is not a service account (a person's
 * credentials): then no Job can name the account, and the call is
 * described instead by the URL and the token the caller would send. */
static int callers_own_token(const cli_job_args *a, gauth_credentials *caller) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *email = NULL;
  gauth_status st;
  if (!(a->oidc || a->oauth) || a->service_account != NULL) return 0;
  st = gauth_credentials_email(caller, &email, &err);
  gauth_free(email);
  return st == GAUTH_E_UNSUPPORTED;
}

/* Mints the caller's own token of the kind --oidc / --oauth ask for into
 * *out (free with cli_free_secret()). CLI_OK, or DOCTOR_UNKNOWN after a
 * message. */
static int mint_own_token(const cli_job_args *a, gauth_credentials *caller,
                          char **out, gauth_error *failure) {
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, *copy = NULL;
  const char *list[CLI_MAX_LIST];
  gauth_status st;
  *out = NULL;
  if (a->oidc) {
    st = gauth_credentials_id_token(caller, a->audience ? a->audience : a->url,
                                    0, &tok, NULL, &err);
  } else {
    const char *const *scopes = NULL;
    if (a->scopes != NULL) {
      copy = strdup(a->scopes);
      if (copy == NULL || cli_split_list(copy, list, CLI_MAX_LIST) < 0) {
        free(copy);
        return cli_usage_error(CMD, "--oauth takes comma-separated scopes");
      }
      scopes = list;
    }
    st = gauth_credentials_access_token(caller, scopes, &tok, NULL, &err);
    free(copy);
  }
  if (st != GAUTH_OK) {
    *failure = err;
    cli_fail_about(&err,
                   "the caller's own %s (the credentials are not a service "
                   "account; give --service-account=EMAIL)",
                   a->oidc ? "ID token" : "access token");
    return DOCTOR_UNKNOWN;
  }
  *out = strdup(tok);
  cli_free_secret(tok);
  return *out != NULL ? CLI_OK : CLI_FAIL;
}

static int diagnose(const doctor_args *a, const char *token) {
  gauth_doctor_input in = GAUTH_DOCTOR_INPUT_INIT;
  gauth_credentials *caller = NULL;
  gauth_scheduler_job *job = NULL;
  gauth_diagnosis *d = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_error failure = GAUTH_ERROR_INIT;
  const char *stage = "caller"; /* the check a failure is reported as */
  char *own = NULL;
  double start = mono_s();
  int rc = CLI_OK;
  /* The job file and flags first: a bad one is a usage error whatever the
   * credentials. The caller is needed first only to know whether it can
   * be the ad hoc job's account. */
  if (a->job.job == NULL && (a->job.oidc || a->job.oauth) &&
      a->job.service_account == NULL) {
    rc = cli_job_caller(&a->job, &caller, &failure);
    if (rc != CLI_OK) goto done;
  }
  if (caller != NULL && callers_own_token(&a->job, caller)) {
    stage = "mint";
    rc = mint_own_token(&a->job, caller, &own, &failure);
    if (rc != CLI_OK) goto done;
    in.url = a->job.url;
    token = own;
  } else if (a->job.job != NULL || adhoc_job(&a->job)) {
    stage = a->job.job != NULL ? "job" : "caller";
    rc = cli_job_build(CMD, &a->job, &caller, &job, &failure);
    if (rc != CLI_OK) goto done;
    in.job = job;
  } else {
    in.url = a->job.url;
  }
  stage = "caller";
  rc = cli_job_caller(&a->job, &caller, &failure);
  if (rc != CLI_OK) goto done;
  in.token = token;
  in.send = a->send;
  if (gauth_doctor_diagnose(caller, NULL, &in, &d, &err) != GAUTH_OK) {
    cli_fail(&err);
    rc = err.code == GAUTH_E_INVALID_ARG ? CLI_USAGE : CLI_FAIL;
    goto done;
  }
  rc = print_diagnosis(d, a, token);
  if (rc == CLI_OK) rc = exit_status(gauth_diagnosis_root_cause(d));
  if (a->verbose)
    fprintf(stderr, "gauth: doctor: diagnosed in %.2f s\n", mono_s() - start);
  gauth_diagnosis_free(d);
  gauth_scheduler_job_free(job);
  gauth_credentials_free(caller);
  cli_free_secret(own);
  return rc;
done:
  if (rc != CLI_USAGE && failure.code != GAUTH_OK) {
    if (strcmp(stage, "job") == 0 && failure.code == GAUTH_E_NOT_FOUND) {
      gauth_scheduler_job_free(job);
      gauth_credentials_free(caller);
      cli_free_secret(own);
      return print_job_not_found(a, &failure);
    }
    print_not_diagnosed(a, stage, &failure);
  }
  gauth_scheduler_job_free(job);
  gauth_credentials_free(caller);
  cli_free_secret(own);
  return not_diagnosed(rc);
}

int cmd_doctor(int argc, char **argv) {
  doctor_args a;
  gauth_error err = GAUTH_ERROR_INIT;
  char *buf = NULL;
  const char *token = NULL;
  int rc;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (cli_is_help(argv[i])) {
      fputs(usage, stdout);
      return CLI_OK;
    }
  }
  rc = parse_args(argc, argv, &a);
  if (rc != CLI_OK) return rc;
  if (a.token_file != NULL) {
    rc = read_token(a.token_file, &buf, &token);
    if (rc != CLI_OK) return rc;
  }
  if (gauth_global_init(&err) != GAUTH_OK) {
    cli_free_secret(buf);
    cli_fail(&err);
    return DOCTOR_UNKNOWN;
  }
  fflush(stdout);
  rc = diagnose(&a, token);
  cli_free_secret(buf);
  gauth_global_cleanup();
  return rc;
}
