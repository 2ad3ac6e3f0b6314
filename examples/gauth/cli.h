/* gauth CLI: helpers shared by the subcommands. Public libgauth API only.
 *
 * Exit status of every subcommand: CLI_OK (0) on success, CLI_FAIL (1) when
 * libgauth or the system reports a failure (a rejected token among them),
 * CLI_USAGE (2) when the command line is wrong. test-permissions and
 * wait-permissions have a table of their own (cmd_iam.c). */
#ifndef GAUTH_CLI_H
#define GAUTH_CLI_H

#include <stddef.h>

#include <gauth/gauth.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Largest file or standard input the CLI reads: keys, key sets, claims and
 * tokens are all far smaller, and a cap keeps `gauth verify - < /dev/zero`
 * from eating memory. */
#define CLI_MAX_INPUT ((size_t)4 * 1024 * 1024)

/* Prints "gauth: MESSAGE (GAUTH_E_NAME)" for a libgauth failure; returns
 * CLI_FAIL. */
int cli_fail(const gauth_error *err);

/* The same about something the command line named: "gauth: WHAT: MESSAGE
 * (GAUTH_E_NAME)", WHAT printf-like ("--key %s", path). Returns CLI_FAIL. */
int cli_fail_about(const gauth_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "gauth: CMD: MESSAGE" and a hint to CMD --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Matches argv[*i] against option `name` ("--audience"). Accepts
 * "--audience=VALUE" and "--audience VALUE" (consuming the next argument).
 * Returns 1 and sets *value on a match, 0 when argv[*i] is another option,
 * -1 (after a usage message) when the value is missing. */
int cli_option(int argc, char **argv, int *i, const char *cmd, const char *name,
               const char **value);

/* 1 when argv[i] is exactly "--help" or "-h". */
int cli_is_help(const char *arg);

/* The name of an option for messages: "--foo=bar" -> "--foo", written into
 * buf (never the value: it may be a token). */
const char *cli_option_name(const char *arg, char *buf, size_t size);

/* Reads a whole file ("-": standard input) into a NUL-terminated buffer
 * (free()). On failure prints "gauth: cannot read WHAT PATH: reason" and
 * returns CLI_FAIL; else CLI_OK. */
int cli_read_file(const char *path, const char *what, char **out, size_t *len);

/* The token argument of verify / decode: NULL or "-" reads standard input
 * (refused when it is a terminal), stripping one trailing newline ("\n" or
 * "\r\n"). Anything else is the token itself (copied). Returns CLI_OK,
 * CLI_FAIL or CLI_USAGE; the caller frees *out with cli_free_secret(). */
int cli_read_token(const char *arg, const char *cmd, char **out);

/* Wipes and frees a NUL-terminated buffer that may hold a secret. */
void cli_free_secret(char *s);

/* Writes s as a JSON string literal (quoted, escaped) to stdout. */
void cli_print_json_string(const char *s);

/* ---- credentials from the command line ---------------------------------- */

/* Most items of a comma-separated list on the command line. */
#define CLI_MAX_LIST 32

/* Splits a comma-separated list in place into list (NULL-terminated, cap
 * entries with the NULL). Returns the count, or -1 when an item is empty or
 * there are too many. */
int cli_split_list(char *s, const char **list, size_t cap);

/* --credentials=FILE (else Application Default Credentials) and
 * --impersonate-service-account=[DELEGATE,...]EMAIL. Borrowed from argv. */
typedef struct cli_creds_args {
  const char *file;
  const char *impersonate;
} cli_creds_args;

/* Matches argv[*i] against the two options above (see cli_option). Returns 1
 * when consumed, 0 when argv[*i] is something else, -1 after a usage
 * message (a missing value, a malformed impersonation chain). */
int cli_creds_option(int argc, char **argv, int *i, const char *cmd,
                     cli_creds_args *a);

/* The credentials a asks for: the file or ADC, then the impersonation
 * chain (the last account is the target, the ones before the delegates).
 * No request is made. On failure err says why. */
gauth_status cli_make_credentials(const cli_creds_args *a,
                                  gauth_credentials **out, gauth_error *err);

/* ---- a Cloud Scheduler job from the command line (cli_job.c) ------------- */

/* Most --header options. */
#define CLI_JOB_MAX_HEADERS 64

/* The job options of gauth invoke and gauth doctor: --job=NAME|FILE, or a
 * URL and --oidc[=AUDIENCE] | --oauth[=SCOPES], --service-account=EMAIL,
 * --method=M, --header=NAME:VALUE..., --data=TEXT | --data-file=F; the
 * timing flags (--attempt-deadline, --retry-count, --min-backoff,
 * --max-backoff, --max-doublings, --max-retry-duration) that also override
 * a --job's; and the credentials. Borrowed from argv; zero it first. */
typedef struct cli_job_args {
  const char *job;
  const char *url;
  int oidc, oauth;
  const char *audience, *scopes;
  const char *service_account, *method;
  const char *headers[CLI_JOB_MAX_HEADERS];
  size_t nheaders;
  const char *data, *data_file;
  const char *attempt_deadline, *min_backoff, *max_backoff;
  const char *max_retry_duration, *retry_count, *max_doublings;
  cli_creds_args creds;
} cli_job_args;

/* Matches argv[*i] against the options above (not the URL). Returns 1 when
 * consumed, 0 when argv[*i] is something else, -1 after a usage message. */
int cli_job_option(int argc, char **argv, int *i, const char *cmd,
                   cli_job_args *a);

/* After parsing: either --job or a URL, --oidc or --oauth, --data or
 * --data-file, no ad hoc flag with --job. CLI_OK or CLI_USAGE (after a
 * message naming cmd). */
int cli_job_check(const cli_job_args *a, const char *cmd);

/* The credentials a->creds asks for into *caller, unless it is already
 * set. CLI_OK, or CLI_FAIL after a message (and, when failure is not
 * NULL, the error in *failure). */
int cli_job_caller(const cli_job_args *a, gauth_credentials **caller,
                   gauth_error *failure);

/* The job (free with gauth_scheduler_job_free()): read through the Cloud
 * Scheduler API as *caller (created as needed, then the caller frees it),
 * from a file, or built from the flags; the timing flags applied; parsed
 * by gauth_scheduler_job_from_json; an HTTP target. A job read from the
 * API or a file keeps its state and its last attempt's status. Returns
 * CLI_OK; CLI_USAGE for a bad job, file or flag; CLI_FAIL when the API or
 * the credentials fail (after a message, naming cmd where it is the CLI's
 * own; and, when failure is not NULL, that error in *failure). */
int cli_job_build(const char *cmd, const cli_job_args *a,
                  gauth_credentials **caller, gauth_scheduler_job **out,
                  gauth_error *failure);

#endif /* GAUTH_CLI_H */
