/* gauth: the libgauth command-line tool. It uses only the public API.
 *
 * Exit status: 0 success, 1 a failure reported by libgauth, 2 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gauth/gauth.h>

static const char usage[] =
    "usage: gauth COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  version                  print the version of gauth and libgauth\n"
    "  endpoints                print the URL of every Google service, overrides\n"
    "                           (GAUTH_ENDPOINT, GCE_METADATA_HOST) applied\n"
    "  resolve URL              print where a request to URL would go, or why it\n"
    "                           would be refused\n"
    "  help                     this text\n"
    "\n"
    "options (endpoints, resolve):\n"
    "  --endpoint=URL           replace scheme, host and port of Google URLs\n"
    "                           (overrides GAUTH_ENDPOINT)\n"
    "  --universe-domain=DOMAIN default googleapis.com\n"
    "  --metadata-host=HOST[:PORT]  overrides GCE_METADATA_HOST\n";

static int fail(const gauth_error *err) {
  fprintf(stderr, "gauth: %s (%s)\n",
          err->message[0] ? err->message : gauth_strerror(err->code),
          gauth_status_name(err->code));
  return 1;
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
      fprintf(stderr, "gauth: unknown option %s\n%s", a, usage);
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
  int i = parse_options(argc, argv, 2, &opts);
  if (i < 0) return 2;
  if (i != argc) {
    fprintf(stderr, "gauth: endpoints takes no arguments\n");
    return 2;
  }
  for (int s = GAUTH_SERVICE_TOKEN; s <= GAUTH_SERVICE_METADATA; s++) {
    char *url = NULL;
    if (gauth_service_url(&opts, (gauth_service)s, &url, &err) != GAUTH_OK)
      return fail(&err);
    printf("%-16s %s\n", gauth_service_name((gauth_service)s), url);
    gauth_free(url);
  }
  return 0;
}

static int cmd_resolve(int argc, char **argv) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char *url = NULL;
  int i = parse_options(argc, argv, 2, &opts);
  if (i < 0) return 2;
  if (argc - i != 1) {
    fprintf(stderr, "gauth: resolve takes one URL\n");
    return 2;
  }
  if (gauth_resolve_url(&opts, argv[i], &url, &err) != GAUTH_OK)
    return fail(&err);
  printf("%s\n", url);
  gauth_free(url);
  return 0;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "help";
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("gauth %s (libgauth %s)\n", GAUTH_VERSION_STRING, gauth_version());
    return 0;
  }
  if (strcmp(cmd, "endpoints") == 0) return cmd_endpoints(argc, argv);
  if (strcmp(cmd, "resolve") == 0) return cmd_resolve(argc, argv);
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "-h") == 0) {
    fputs(usage, stdout);
    return 0;
  }
  fprintf(stderr, "gauth: unknown command '%s'\n%s", cmd, usage);
  return 2;
}
