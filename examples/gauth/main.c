/* gauth: the libgauth command-line tool. It uses only the public API.
 *
 * Exit status: 0 success, 1 a failure reported by libgauth (a rejected
 * token among them), 2 bad usage. docs/cli.md describes every subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gauth/gauth.h>

#include "cli.h"
#include "cmd.h"

static const char usage[] =
    "usage: gauth COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  verify [TOKEN|-]         verify a JWT (Google ID token, IAP, any OIDC\n"
    "                           issuer, your own keys); print its claims\n"
    "  decode [TOKEN|-]         print a JWT's header and payload, unverified\n"
    "  sign-jwt                 sign a JWT with a private key (for testing)\n"
    "  print-access-token       print an OAuth access token (Google APIs)\n"
    "  print-identity-token     print an OIDC ID token for an audience (a Cloud\n"
    "                           Run service URL, ...)\n"
    "  metadata [PATH|--detect] read a metadata server value, or say whether a\n"
    "                           metadata server is there; metadata attribute\n"
    "                           KEY reads custom metadata, metadata watch PATH\n"
    "                           prints each change\n"
    "  metadata-server          serve the metadata server's paths on this\n"
    "                           machine from real credentials\n"
    "  test-permissions RESOURCE PERMISSION...\n"
    "                           which of the permissions the caller holds on\n"
    "                           the resource (exit 0 all, 1 some missing)\n"
    "  wait-permissions RESOURCE PERMISSION...\n"
    "                           wait until they are all granted (IAM\n"
    "                           propagation)\n"
    "  invoke --job=NAME|FILE | URL\n"
    "                           do what Cloud Scheduler does for an HTTP job:\n"
    "                           mint its token, send, retry per its policy\n"
    "                           (exit 0 a 2xx, 1 the attempts failed)\n"
    "  doctor --job=NAME|FILE | URL [--token=FILE|-]\n"
    "                           why a call to a Cloud Run job, service or\n"
    "                           Google API fails, and the fix (exit 0 ok,\n"
    "                           1 a cause found, 3 unknown)\n"
    "  version                  print the version of gauth and libgauth\n"
    "  endpoints                print the URL of every Google service, overrides\n"
    "                           (GAUTH_ENDPOINT, GCE_METADATA_HOST) applied\n"
    "  resolve URL              print where a request to URL would go, or why it\n"
    "                           would be refused\n"
    "  help                     this text\n"
    "\n"
    "'gauth COMMAND --help' describes each command. Exit status: 0 success,\n"
    "1 failure (a rejected token among them), 2 bad usage; test-permissions,\n"
    "wait-permissions and doctor have their own (see their --help).\n"
    "\n"
    "options (endpoints, resolve):\n"
    "  --endpoint=URL           replace scheme, host and port of Google URLs\n"
    "                           (overrides GAUTH_ENDPOINT)\n"
    "  --universe-domain=DOMAIN default googleapis.com\n"
    "  --metadata-host=HOST[:PORT]  overrides GCE_METADATA_HOST\n";

static const char endpoints_usage[] =
    "usage: gauth endpoints [--endpoint=URL] [--universe-domain=DOMAIN]\n"
    "                       [--metadata-host=HOST[:PORT]]\n"
    "\n"
    "Prints the URL of every Google service, overrides (options, then\n"
    "GAUTH_ENDPOINT, GCE_METADATA_HOST) applied. Opens no connection.\n";

static const char resolve_usage[] =
    "usage: gauth resolve [--endpoint=URL] [--universe-domain=DOMAIN]\n"
    "                     [--metadata-host=HOST[:PORT]] URL\n"
    "\n"
    "Prints where a request to URL would go, or why it would be refused\n"
    "(exit 1). Opens no connection.\n";

static const char version_usage[] =
    "usage: gauth version\n"
    "\n"
    "Prints the version of gauth and of the libgauth it runs with.\n";

/* 1 when any argument from argv[2] on asks for help. */
static int wants_help(int argc, char **argv) {
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) return 0;
    if (cli_is_help(argv[i])) return 1;
  }
  return 0;
}

/* Parses --name=value options into opts; returns the index of the first
 * non-option argument, or -1 after printing a usage error. */
static int parse_options(int argc, char **argv, int first,
                         gauth_options *opts) {
  int i;
  for (i = first; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--endpoint=", 11) == 0) {
      opts->endpoint = a + 11;
    } else if (strncmp(a, "--universe-domain=", 18) == 0) {
      opts->universe_domain = a + 18;
    } else if (strncmp(a, "--metadata-host=", 16) == 0) {
      opts->metadata_host = a + 16;
    } else if (strcmp(a, "--") == 0) {
      return i + 1;
    } else if (strncmp(a, "--", 2) == 0) {
      char name[64];
      fprintf(stderr, "gauth: unknown option %s\n%s",
              cli_option_name(a, name, sizeof name), usage);
      return -1;
    } else {
      break;
    }
  }
  return i;
}

static int cmd_endpoints(int argc, char **argv) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  int i;
  if (wants_help(argc, argv)) {
    fputs(endpoints_usage, stdout);
    return 0;
  }
  i = parse_options(argc, argv, 2, &opts);
  if (i < 0) return 2;
  if (i != argc) {
    fprintf(stderr, "gauth: endpoints takes no arguments\n");
    return 2;
  }
  for (int s = GAUTH_SERVICE_TOKEN; s <= GAUTH_SERVICE_CLOUDSCHEDULER; s++) {
    char *url = NULL;
    if (gauth_service_url(&opts, (gauth_service)s, &url, &err) != GAUTH_OK)
      return cli_fail(&err);
    printf("%-16s %s\n", gauth_service_name((gauth_service)s), url);
    gauth_free(url);
  }
  return 0;
}

static int cmd_resolve(int argc, char **argv) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char *url = NULL;
  int i;
  if (wants_help(argc, argv)) {
    fputs(resolve_usage, stdout);
    return 0;
  }
  i = parse_options(argc, argv, 2, &opts);
  if (i < 0) return 2;
  if (argc - i != 1) {
    fprintf(stderr, "gauth: resolve takes one URL\n");
    return 2;
  }
  if (gauth_resolve_url(&opts, argv[i], &url, &err) != GAUTH_OK)
    return cli_fail(&err);
  printf("%s\n", url);
  gauth_free(url);
  return 0;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "help";
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    if (wants_help(argc, argv)) {
      fputs(version_usage, stdout);
      return 0;
    }
    printf("gauth %s (libgauth %s)\n", GAUTH_VERSION_STRING, gauth_version());
    return 0;
  }
  if (strcmp(cmd, "endpoints") == 0) return cmd_endpoints(argc, argv);
  if (strcmp(cmd, "resolve") == 0) return cmd_resolve(argc, argv);
  if (strcmp(cmd, "verify") == 0) return cmd_verify(argc, argv);
  if (strcmp(cmd, "decode") == 0) return cmd_decode(argc, argv);
  if (strcmp(cmd, "sign-jwt") == 0) return cmd_sign_jwt(argc, argv);
  if (strcmp(cmd, "print-access-token") == 0)
    return cmd_print_access_token(argc, argv);
  if (strcmp(cmd, "print-identity-token") == 0)
    return cmd_print_identity_token(argc, argv);
  if (strcmp(cmd, "metadata") == 0) return cmd_metadata(argc, argv);
  if (strcmp(cmd, "metadata-server") == 0)
    return cmd_metadata_server(argc, argv);
  if (strcmp(cmd, "test-permissions") == 0)
    return cmd_test_permissions(argc, argv);
  if (strcmp(cmd, "wait-permissions") == 0)
    return cmd_wait_permissions(argc, argv);
  if (strcmp(cmd, "invoke") == 0) return cmd_invoke(argc, argv);
  if (strcmp(cmd, "doctor") == 0) return cmd_doctor(argc, argv);
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "-h") == 0) {
    fputs(usage, stdout);
    return 0;
  }
  /* Echo only what looks like a command name: a misplaced token must not
   * land in a terminal's scrollback or a log. */
  if (strlen(cmd) <= 32 &&
      strspn(cmd, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(cmd))
    fprintf(stderr, "gauth: unknown command '%s'\n%s", cmd, usage);
  else
    fprintf(stderr, "gauth: unknown command\n%s", usage);
  return 2;
}
