/* gauth print-access-token, gauth print-identity-token: tokens from
 * Application Default Credentials (or a credentials file), optionally
 * through service-account impersonation, through the public API only
 * (gauth/credentials.h).
 *
 * The token goes to stdout and nowhere else; messages name the source of
 * the credentials, never a token or key. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char access_usage[] =
    "usage: gauth print-access-token [--scopes=S,...] [--credentials=FILE]\n"
    "                                [--impersonate-service-account=[DELEGATE,...]EMAIL]\n"
    "\n"
    "Prints an OAuth 2.0 access token (for Google APIs such as the Cloud Run\n"
    "Admin API's jobs/...:run) on stdout.\n"
    "\n"
    "options:\n"
    "  --scopes=S,...        OAuth scopes; default\n"
    "                        " GAUTH_SCOPE_CLOUD_PLATFORM
    "\n"
    "  --credentials=FILE    a credentials file (service-account key,\n"
    "                        authorized_user, impersonated_service_account,\n"
    "                        external_account); default: Application Default\n"
    "                        Credentials (GOOGLE_APPLICATION_CREDENTIALS, the\n"
    "                        gcloud file, the metadata server)\n"
    "  --impersonate-service-account=[DELEGATE,...]EMAIL\n"
    "                        act as EMAIL through IAM Credentials; as in gcloud,\n"
    "                        a comma-separated chain ends with the target and\n"
    "                        lists the delegates before it, in order\n"
    "  --help                this text\n"
    "\n"
    "Exit 0, 1 when no token could be had (the reason on stderr), 2 on bad\n"
    "usage. GAUTH_ENDPOINT and GCE_METADATA_HOST are honoured.\n";

static const char identity_usage[] =
    "usage: gauth print-identity-token --audiences=AUD [--include-email]\n"
    "                                  [--credentials=FILE]\n"
    "                                  [--impersonate-service-account=[DELEGATE,...]EMAIL]\n"
    "\n"
    "Prints an OpenID Connect ID token whose aud is AUD on stdout: what a\n"
    "Cloud Run service (AUD = its URL), IAP-free HTTP endpoints and Pub/Sub\n"
    "push receivers accept. Google APIs (*.googleapis.com, including the\n"
    "Cloud Run Admin API's :run) refuse ID tokens: use print-access-token.\n"
    "\n"
    "options:\n"
    "  --audiences=AUD       the token's audience (required)\n"
    "  --include-email       impersonation: add the email claim (tokens from\n"
    "                        keys and the metadata server always carry it)\n"
    "  --credentials=FILE    as for print-access-token\n"
    "  --impersonate-service-account=[DELEGATE,...]EMAIL\n"
    "                        as for print-access-token\n"
    "  --help                this text\n"
    "\n"
    "Exit 0, 1 when no token could be had (the reason on stderr), 2 on bad\n"
    "usage. GAUTH_ENDPOINT and GCE_METADATA_HOST are honoured.\n";

typedef struct token_args {
  const char *scopes[CLI_MAX_LIST]; /* --scopes, split; NULL-terminated */
  char *scopes_copy;                /* what scopes point into (free()) */
  const char *audience;
  cli_creds_args creds;
  int include_email;
} token_args;

/* The command line of either command; --scopes split into a->scopes. */
static int parse_args(int argc, char **argv, const char *cmd, int identity,
                      token_args *a) {
  const char *scopes = NULL;
  memset(a, 0, sizeof(*a));
  for (int i = 2; i < argc; i++) {
    const char *v = NULL;
    int r;
    char name[64];
    if ((r = cli_creds_option(argc, argv, &i, cmd, &a->creds)) != 0) {
      if (r < 0) return CLI_USAGE;
    } else if (!identity &&
               (r = cli_option(argc, argv, &i, cmd, "--scopes", &v)) != 0) {
      if (r < 0) return CLI_USAGE;
      scopes = v;
    } else if (identity &&
               (r = cli_option(argc, argv, &i, cmd, "--audiences", &v)) != 0) {
      if (r < 0) return CLI_USAGE;
      a->audience = v;
    } else if (identity && strcmp(argv[i], "--include-email") == 0) {
      a->include_email = 1;
    } else {
      return cli_usage_error(cmd, "unknown argument %s",
                             cli_option_name(argv[i], name, sizeof(name)));
    }
  }
  if (identity && (a->audience == NULL || a->audience[0] == '\0'))
    return cli_usage_error(cmd, "--audiences=AUD is required");
  if (scopes != NULL) {
    a->scopes_copy = strdup(scopes);
    if (a->scopes_copy == NULL ||
        cli_split_list(a->scopes_copy, a->scopes, CLI_MAX_LIST) <= 0)
      return cli_usage_error(cmd,
                             "--scopes: expected S[,S...] without empty "
                             "items (at most %d)",
                             CLI_MAX_LIST - 1);
  }
  return CLI_OK;
}

static int print_token(char *token) {
  int ok = printf("%s\n", token) > 0 && fflush(stdout) == 0;
  gauth_free(token);
  if (!ok) {
    fprintf(stderr, "gauth: cannot write the token to standard output\n");
    return CLI_FAIL;
  }
  return CLI_OK;
}

/* Either command: --help, the command line, the credentials, then the
 * token on stdout. */
static int print_token_command(int argc, char **argv, int identity) {
  const char *cmd = identity ? "print-identity-token" : "print-access-token";
  token_args a;
  gauth_credentials *creds = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st;
  char *token = NULL;
  int rc;
  for (int i = 2; i < argc; i++)
    if (cli_is_help(argv[i])) {
      fputs(identity ? identity_usage : access_usage, stdout);
      return CLI_OK;
    }
  rc = parse_args(argc, argv, cmd, identity, &a);
  if (rc == CLI_OK && cli_make_credentials(&a.creds, &creds, &err) != GAUTH_OK)
    rc = cli_fail(&err);
  if (rc == CLI_OK) {
    if (identity)
      st = gauth_credentials_id_token(
          creds, a.audience, a.include_email ? GAUTH_ID_TOKEN_INCLUDE_EMAIL : 0,
          &token, NULL, &err);
    else
      st = gauth_credentials_access_token(creds, a.scopes[0] ? a.scopes : NULL,
                                          &token, NULL, &err);
    rc = st != GAUTH_OK ? cli_fail(&err) : print_token(token);
  }
  gauth_credentials_free(creds);
  free(a.scopes_copy);
  return rc;
}

int cmd_print_access_token(int argc, char **argv) {
  return print_token_command(argc, argv, 0);
}

int cmd_print_identity_token(int argc, char **argv) {
  return print_token_command(argc, argv, 1);
}
