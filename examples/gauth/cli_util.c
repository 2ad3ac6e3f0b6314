/* gauth CLI: helpers shared by the subcommands (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libgauth's message, or its text for the code when there is none. */
static const char *error_text(const gauth_error *err) {
  return err->message[0] ? err->message : gauth_strerror(err->code);
}

int cli_fail(const gauth_error *err) {
  fprintf(stderr, "gauth: %s (%s)\n", error_text(err),
          gauth_status_name(err->code));
  return CLI_FAIL;
}

int cli_fail_about(const gauth_error *err, const char *fmt, ...) {
  va_list ap;
  fputs("gauth: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, ": %s (%s)\n", error_text(err), gauth_status_name(err->code));
  return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "gauth: %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'gauth %s --help')\n", cmd);
  return CLI_USAGE;
}

int cli_is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

const char *cli_option_name(const char *arg, char *buf, size_t size) {
  size_t n = strcspn(arg, "=");
  if (n >= size) n = size - 1;
  memcpy(buf, arg, n);
  buf[n] = '\0';
  return buf;
}

int cli_option(int argc, char **argv, int *i, const char *cmd, const char *name,
               const char **value) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
    return 1;
  }
  if (a[n] != '\0') return 0;
  if (*i + 1 >= argc) {
    cli_usage_error(cmd, "%s needs a value (%s=VALUE)", name, name);
    return -1;
  }
  *i += 1;
  *value = argv[*i];
  return 1;
}

int cli_read_file(const char *path, const char *what, char **out, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  const char *shown = f == stdin ? "(standard input)" : path;
  char *buf = NULL;
  size_t used = 0, cap = 0;
  *out = NULL;
  if (len) *len = 0;
  if (f == NULL) {
    fprintf(stderr, "gauth: cannot read %s %s: %s\n", what, shown,
            strerror(errno));
    return CLI_FAIL;
  }
  for (;;) {
    size_t got;
    if (cap - used < 4096) {
      char *grown;
      cap = cap ? cap * 2 : 8192;
      grown = realloc(buf, cap + 1);
      if (grown == NULL) {
        fprintf(stderr, "gauth: out of memory reading %s %s\n", what, shown);
        goto fail;
      }
      buf = grown;
    }
    got = fread(buf + used, 1, cap - used, f);
    used += got;
    if (used > CLI_MAX_INPUT) {
      fprintf(stderr, "gauth: %s %s is larger than %zu bytes\n", what, shown,
              CLI_MAX_INPUT);
      goto fail;
    }
    if (got == 0) break;
  }
  if (ferror(f)) {
    fprintf(stderr, "gauth: cannot read %s %s: %s\n", what, shown,
            strerror(errno));
    goto fail;
  }
  if (f != stdin) fclose(f);
  buf[used] = '\0';
  *out = buf;
  if (len) *len = used;
  return CLI_OK;

fail:
  if (f != stdin) fclose(f);
  if (buf) {
    /* It may have held a key or a token. */
    memset(buf, 0, used);
    free(buf);
  }
  return CLI_FAIL;
}

int cli_read_token(const char *arg, const char *cmd, char **out) {
  size_t len;
  int rc;
  *out = NULL;
  if (arg != NULL && strcmp(arg, "-") != 0) {
    *out = strdup(arg);
    if (*out == NULL) {
      fprintf(stderr, "gauth: out of memory\n");
      return CLI_FAIL;
    }
    return CLI_OK;
  }
  if (arg == NULL && isatty(STDIN_FILENO))
    return cli_usage_error(cmd,
                           "no token: give TOKEN, or '-' and the "
                           "token on standard input");
  rc = cli_read_file("-", "token from", out, &len);
  if (rc != CLI_OK) return rc;
  /* `echo "$TOKEN" | gauth verify -`: the newline is not the token's. */
  if (len > 0 && (*out)[len - 1] == '\n') {
    (*out)[--len] = '\0';
    if (len > 0 && (*out)[len - 1] == '\r') (*out)[--len] = '\0';
  }
  return CLI_OK;
}

void cli_free_secret(char *s) {
  if (s == NULL) return;
  /* volatile: the store must not be dropped as dead before free(). */
  for (volatile char *p = s; *p != '\0'; p++) *p = '\0';
  free(s);
}

void cli_print_json_string(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  putchar('"');
  for (; *p != '\0'; p++) {
    switch (*p) {
      case '"': fputs("\\\"", stdout); break;
      case '\\': fputs("\\\\", stdout); break;
      case '\n': fputs("\\n", stdout); break;
      case '\r': fputs("\\r", stdout); break;
      case '\t': fputs("\\t", stdout); break;
      default:
        if (*p < 0x20)
          printf("\\u%04x", *p);
        else
          putchar(*p);
    }
  }
  putchar('"');
}

int cli_split_list(char *s, const char **list, size_t cap) {
  size_t n = 0;
  char *save = NULL, *item;
  if (s[0] == '\0' || s[0] == ',' || s[strlen(s) - 1] == ',' ||
      strstr(s, ",,") != NULL)
    return -1;
  for (item = strtok_r(s, ",", &save); item != NULL;
       item = strtok_r(NULL, ",", &save)) {
    if (n + 1 >= cap) return -1;
    list[n++] = item;
  }
  list[n] = NULL;
  return (int)n;
}

/* The number of accounts in an impersonation chain; -1 when malformed. */
static int chain_length(const char *chain) {
  const char *list[CLI_MAX_LIST];
  char *copy = strdup(chain);
  int n = copy ? cli_split_list(copy, list, CLI_MAX_LIST) : -1;
  free(copy);
  return n;
}

int cli_creds_option(int argc, char **argv, int *i, const char *cmd,
                     cli_creds_args *a) {
  const char *v = NULL;
  int r;
  if ((r = cli_option(argc, argv, i, cmd, "--credentials", &v)) != 0) {
    if (r > 0) a->file = v;
    return r;
  }
  r = cli_option(argc, argv, i, cmd, "--impersonate-service-account", &v);
  if (r <= 0) return r;
  if (chain_length(v) <= 0) {
    cli_usage_error(cmd,
                    "--impersonate-service-account: expected "
                    "[DELEGATE,...]EMAIL without empty items (at most "
                    "%d)",
                    CLI_MAX_LIST - 1);
    return -1;
  }
  a->impersonate = v;
  return 1;
}

/* Wraps base in the impersonation chain (checked by cli_creds_option). */
static gauth_status impersonate(const char *chain_text, gauth_credentials *base,
                                gauth_credentials **out, gauth_error *err) {
  const char *chain[CLI_MAX_LIST];
  char *copy = strdup(chain_text);
  int n = copy ? cli_split_list(copy, chain, CLI_MAX_LIST) : -1;
  gauth_status st;
  if (n <= 0) {
    free(copy);
    err->code = copy ? GAUTH_E_INVALID_ARG : GAUTH_E_NOMEM;
    snprintf(err->message, sizeof err->message, "%s",
             copy ? "--impersonate-service-account: malformed chain"
                  : "out of memory");
    return err->code;
  }
  {
    const char *target = chain[n - 1];
    chain[n - 1] = NULL;
    st = gauth_credentials_impersonate(out, base, target, n > 1 ? chain : NULL,
                                       NULL, err);
  }
  free(copy);
  return st;
}

gauth_status cli_make_credentials(const cli_creds_args *a,
                                  gauth_credentials **out, gauth_error *err) {
  gauth_credentials *base = NULL;
  gauth_status st;
  *out = NULL;
  st = a->file ? gauth_credentials_from_file(&base, a->file, NULL, err)
               : gauth_credentials_default(&base, NULL, err);
  if (st != GAUTH_OK) return st;
  if (a->impersonate == NULL) {
    *out = base;
    return GAUTH_OK;
  }
  st = impersonate(a->impersonate, base, out, err);
  gauth_credentials_free(base);
  return st;
}
