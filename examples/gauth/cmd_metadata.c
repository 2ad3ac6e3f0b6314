/* gauth metadata: read a metadata server value, or say whether a metadata
 * server is there, through the public API only (gauth/metadata.h). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char metadata_usage[] =
    "usage: gauth metadata PATH [OPTIONS]\n"
    "       gauth metadata --detect [OPTIONS]\n"
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

int cmd_metadata(int argc, char **argv) {
  const char *cmd = "metadata", *path = NULL;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_metadata *md = NULL;
  int want_detect = 0, only_args = 0, rc;

  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    int m;
    if (!only_args && cli_is_help(a)) {
      fputs(metadata_usage, stdout);
      return CLI_OK;
    }
    if (only_args || a[0] != '-') {
      if (path != NULL) return cli_usage_error(cmd, "more than one PATH");
      path = a;
    } else if (strcmp(a, "--") == 0) {
      only_args = 1;
    } else if (strcmp(a, "--detect") == 0) {
      want_detect = 1;
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
  if (want_detect && path != NULL)
    return cli_usage_error(cmd, "give PATH or --detect, not both");
  if (!want_detect && path == NULL)
    return cli_usage_error(cmd,
                           "give a PATH (e.g. project/project-id) or "
                           "--detect");
  if (gauth_metadata_new(&md, &opts, &err) != GAUTH_OK) {
    /* A bad --metadata-host is the command line's fault. */
    if (err.code == GAUTH_E_INVALID_ARG &&
        (opts.metadata_host != NULL || opts.metadata_ip != NULL) &&
        strstr(err.message, "option metadata_") != NULL)
      return cli_usage_error(cmd, "%s", err.message);
    return cli_fail(&err);
  }
  rc = want_detect ? detect(md) : read_path(md, path);
  gauth_metadata_free(md);
  return rc;
}
