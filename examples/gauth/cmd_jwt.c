/* gauth verify, gauth decode, gauth sign-jwt: JWTs from the command line,
 * through the public API only (gauth/verifier.h, gauth/jose.h).
 *
 * Tokens and keys never appear in a message: errors name the option, the
 * file or libgauth's reason, not the value. */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

/* Most --audience / --issuer values one command line may give. */
#define MAX_LIST 32

static const char verify_usage[] =
    "usage: gauth verify [TOKEN|-] --audience=AUD... [OPTIONS]\n"
    "\n"
    "Verifies a JWT (signature, then claims). Valid: exit 0 and the claims\n"
    "as JSON on stdout. Rejected: exit 1 and\n"
    "'gauth: token rejected: REASON: message' on stderr. Bad usage: exit 2.\n"
    "Without TOKEN, or with '-', the token is read from standard input (one\n"
    "trailing newline is dropped); prefer that to putting a token in argv.\n"
    "\n"
    "options:\n"
    "  --audience=AUD        accepted aud value; repeat for more (required)\n"
    "  --issuer=WHO          google (the default): Google ID tokens;\n"
    "                        iap: IAP assertions (ES256, 10 min lifetime);\n"
    "                        ISSUER: that exact iss; keys from --jwks, or\n"
    "                        else from ISSUER's OpenID discovery document.\n"
    "                        Repeat ISSUER (with --jwks) for more.\n"
    "  --jwks=FILE|URL       keys: a JWKS, Google's PEM certificate map, one\n"
    "                        JWK, or a PEM public key / certificate file; or\n"
    "                        an http(s) URL of a JWKS or certificate map.\n"
    "                        Default: the issuer's (Google's, IAP's, OIDC's)\n"
    "  --alg=ALG[,ALG...]    allowed algorithms (RS256, ES256, PS256, ...);\n"
    "                        default: the preset's (google RS256, iap ES256,\n"
    "                        others RS256,ES256)\n"
    "  --leeway=SECONDS      clock skew allowed on exp / nbf / iat (30)\n"
    "  --now=UNIX_SECONDS    verify as if the time were this\n"
    "  --help                this text\n"
    "\n"
    "GAUTH_ENDPOINT=http://127.0.0.1:PORT sends the requests for Google's\n"
    "key URLs to a local server instead.\n";

static const char decode_usage[] =
    "usage: gauth decode [TOKEN|-]\n"
    "\n"
    "Prints a JWT's header and payload as {\"header\":...,\"payload\":...}\n"
    "WITHOUT verifying anything (a warning on stderr says so). For looking\n"
    "at a token only: never trust what it prints. Without TOKEN, or with\n"
    "'-', the token is read from standard input. Exit 0, 1 when the token\n"
    "cannot be decoded, 2 on bad usage.\n";

static const char sign_usage[] =
    "usage: gauth sign-jwt --key=FILE --claims=JSON|@FILE [OPTIONS]\n"
    "\n"
    "Signs a JWT and prints the compact token on stdout. Meant for testing\n"
    "receivers: the claims are signed as given (no iat / exp is added).\n"
    "\n"
    "options:\n"
    "  --key=FILE            a private key: PEM (PKCS#8, PKCS#1, SEC1), a\n"
    "                        private JWK, or a service-account JSON key file\n"
    "  --claims=JSON         the claims, a JSON object; @FILE reads them from\n"
    "                        FILE, @- from standard input\n"
    "  --kid=KID             the header's kid (default: the key's: a JWK's\n"
    "                        kid, a service account's private_key_id; PEM\n"
    "                        keys have none)\n"
    "  --alg=ALG             RS256 (RSA keys) or ES256 (P-256 keys); default:\n"
    "                        the key's\n"
    "  --help                this text\n"
    "\n"
    "Exit 0, 1 when the key or claims are refused, 2 on bad usage.\n";

/* ---- helpers --------------------------------------------------------- */

static int64_t fixed_clock(void *userdata) {
  return *(const int64_t *)userdata;
}

/* Parses a decimal integer in [min, max]; 0 on success. */
static int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out) {
  char *end;
  long long v;
  if (*s == '\0' || *s == ' ' || *s == '+') return -1;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return -1;
  *out = (int64_t)v;
  return 0;
}

/* "RS256,ES256" -> a GAUTH_ALG_BIT mask; 0 after a usage message. */
static unsigned int parse_algs(const char *list, const char *cmd) {
  unsigned int mask = 0;
  const char *p = list;
  for (;;) {
    char name[32];
    size_t n = strcspn(p, ",");
    gauth_alg alg = GAUTH_ALG_UNKNOWN;
    if (n > 0 && n < sizeof name) {
      memcpy(name, p, n);
      name[n] = '\0';
      alg = gauth_alg_from_name(name);
    }
    if (alg == GAUTH_ALG_UNKNOWN) {
      cli_usage_error(cmd,
                      "--alg: unknown algorithm '%.*s' (expected "
                      "RS256, ES256, PS256, RS384, RS512, ES384, EdDSA)",
                      (int)(n < 32 ? n : 32), p);
      return 0;
    }
    mask |= GAUTH_ALG_BIT(alg);
    if (p[n] == '\0') break;
    p += n + 1;
  }
  return mask;
}

static int is_url(const char *s) {
  return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int unknown_option(const char *cmd, const char *arg) {
  char name[64];
  return cli_usage_error(cmd, "unknown option %s",
                         cli_option_name(arg, name, sizeof name));
}

/* ---- verify ---------------------------------------------------------- */

/* verify's command line. The lists are NULL-terminated (zeroed past n). */
typedef struct verify_args {
  const char *audiences[MAX_LIST + 1];
  const char *issuers[MAX_LIST + 1]; /* issuer URLs */
  size_t n_aud, n_iss;
  const char *preset_name; /* "google" or "iap", or NULL */
  const char *jwks;        /* a file or a URL, or NULL */
  const char *token_arg;   /* TOKEN, "-" or NULL */
  unsigned int algs;       /* GAUTH_ALG_BIT mask; 0: the preset's */
  int64_t leeway;          /* seconds; -1: the default */
  int64_t now;             /* --now, when have_now */
  int have_now;
  int help; /* --help was given, and printed */
} verify_args;

/* --issuer: a preset name (google, iap) or an issuer URL. */
static int add_issuer(const char *cmd, const char *val, verify_args *a) {
  if (strcmp(val, "google") == 0 || strcmp(val, "iap") == 0) {
    if (a->preset_name != NULL && strcmp(a->preset_name, val) != 0)
      return cli_usage_error(cmd,
                             "--issuer=google and --issuer=iap "
                             "cannot be combined");
    a->preset_name = val;
    return CLI_OK;
  }
  if (*val == '\0') return cli_usage_error(cmd, "--issuer is empty");
  if (a->n_iss == MAX_LIST)
    return cli_usage_error(cmd, "more than %d --issuer", MAX_LIST);
  a->issuers[a->n_iss++] = val;
  return CLI_OK;
}

/* The option at argv[*i] (see cli_option): CLI_OK when taken, CLI_USAGE
 * after a usage message. */
static int verify_option(int argc, char **argv, int *i, const char *cmd,
                         verify_args *a) {
  const char *val = NULL;
  int m;
  if ((m = cli_option(argc, argv, i, cmd, "--audience", &val)) != 0) {
    if (m < 0) return CLI_USAGE;
    if (*val == '\0') return cli_usage_error(cmd, "--audience is empty");
    if (a->n_aud == MAX_LIST)
      return cli_usage_error(cmd, "more than %d --audience", MAX_LIST);
    a->audiences[a->n_aud++] = val;
  } else if ((m = cli_option(argc, argv, i, cmd, "--issuer", &val)) != 0) {
    if (m < 0) return CLI_USAGE;
    return add_issuer(cmd, val, a);
  } else if ((m = cli_option(argc, argv, i, cmd, "--jwks", &val)) != 0) {
    if (m < 0) return CLI_USAGE;
    if (*val == '\0') return cli_usage_error(cmd, "--jwks is empty");
    a->jwks = val;
  } else if ((m = cli_option(argc, argv, i, cmd, "--alg", &val)) != 0) {
    if (m < 0) return CLI_USAGE;
    if ((a->algs = parse_algs(val, cmd)) == 0) return CLI_USAGE;
  } else if ((m = cli_option(argc, argv, i, cmd, "--leeway", &val)) != 0) {
    if (m < 0) return CLI_USAGE;
    if (parse_int64(val, 0, INT32_MAX, &a->leeway) != 0)
      return cli_usage_error(cmd, "--leeway: expected seconds, 0 or more");
  } else if ((m = cli_option(argc, argv, i, cmd, "--now", &val)) != 0) {
    if (m < 0) return CLI_USAGE;
    /* 2^53: the largest time a JSON number holds exactly. */
    if (parse_int64(val, 0, INT64_C(9007199254740992), &a->now) != 0)
      return cli_usage_error(cmd, "--now: expected Unix seconds");
    a->have_now = 1;
  } else {
    return unknown_option(cmd, argv[*i]);
  }
  return CLI_OK;
}

/* Parses the command line and checks that its options go together. --help
 * prints the usage and sets a->help. CLI_OK or CLI_USAGE. */
static int parse_verify_args(int argc, char **argv, const char *cmd,
                             verify_args *a) {
  int only_args = 0, rc;
  memset(a, 0, sizeof(*a));
  a->leeway = -1;
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (!only_args && cli_is_help(arg)) {
      fputs(verify_usage, stdout);
      a->help = 1;
      return CLI_OK;
    }
    if (only_args || arg[0] != '-' || strcmp(arg, "-") == 0) {
      if (a->token_arg != NULL)
        return cli_usage_error(cmd, "more than one TOKEN given");
      a->token_arg = arg;
    } else if (strcmp(arg, "--") == 0) {
      only_args = 1;
    } else if ((rc = verify_option(argc, argv, &i, cmd, a)) != CLI_OK) {
      return rc;
    }
  }
  if (a->n_aud == 0)
    return cli_usage_error(cmd,
                           "--audience is required (the aud your "
                           "service expects, e.g. its URL)");
  if (a->preset_name != NULL && a->n_iss > 0)
    return cli_usage_error(cmd,
                           "--issuer=%s cannot be combined with an "
                           "issuer URL",
                           a->preset_name);
  if (a->n_iss > 1 && a->jwks == NULL)
    return cli_usage_error(cmd,
                           "OpenID discovery takes one --issuer; give "
                           "--jwks to accept several");
  return CLI_OK;
}

/* The verifier's options for the command line (borrowed from a): the
 * preset the issuers call for, the algorithms, the leeway, the clock. */
static void verifier_options(verify_args *a, gauth_verifier_options *vo) {
  vo->audiences = a->audiences;
  if (a->n_iss > 0 && a->jwks != NULL) {
    vo->preset = GAUTH_VERIFIER_CUSTOM;
    vo->issuers = a->issuers;
  } else if (a->n_iss > 0) {
    vo->preset = GAUTH_VERIFIER_OIDC;
    vo->oidc_issuer = a->issuers[0];
  } else if (a->preset_name != NULL && strcmp(a->preset_name, "iap") == 0) {
    vo->preset = GAUTH_VERIFIER_IAP;
  } else {
    vo->preset = GAUTH_VERIFIER_GOOGLE;
  }
  vo->algorithms = a->algs;
  vo->leeway_seconds = (long)a->leeway;
  if (a->have_now) {
    vo->clock = fixed_clock;
    vo->clock_userdata = &a->now;
  }
}

/* Where the keys come from: a --jwks URL the verifier fetches, or a --jwks
 * file loaded here into *keys (the caller frees it); without --jwks, the
 * preset's own. CLI_OK or CLI_FAIL (after a message). */
static int key_source(const char *jwks, gauth_verifier_options *vo,
                      gauth_keyset **keys) {
  gauth_error err = GAUTH_ERROR_INIT;
  if (jwks == NULL) return CLI_OK;
  if (is_url(jwks)) {
    vo->jwks_url = jwks;
    return CLI_OK;
  }
  if (gauth_keyset_load_file(keys, jwks, &err) != GAUTH_OK)
    return cli_fail_about(&err, "--jwks %s", jwks);
  vo->keys = *keys;
  return CLI_OK;
}

/* A failed verification: "gauth: token rejected: REASON: message" for a
 * rejected token, else libgauth's failure. CLI_FAIL. */
static int print_rejection(const gauth_error *err) {
  if (err->code != GAUTH_E_VERIFY) return cli_fail(err);
  fprintf(stderr, "gauth: token rejected: %s: %s\n",
          err->reason[0] ? err->reason : "unknown", err->message);
  return CLI_FAIL;
}

/* Verifies token; prints its claims as JSON, or why it was rejected. */
static int verify_and_print(const char *cmd, const gauth_verifier_options *vo,
                            const char *token) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_verifier *v = NULL;
  gauth_claims *claims = NULL;
  int rc;
  if (gauth_verifier_new(&v, vo, &err) != GAUTH_OK) {
    /* What libgauth refuses here is the command line's options. */
    rc = err.code == GAUTH_E_INVALID_ARG
             ? cli_usage_error(cmd, "%s", err.message)
             : cli_fail(&err);
  } else if (gauth_verifier_verify(v, token, 0, &claims, &err) != GAUTH_OK) {
    rc = print_rejection(&err);
  } else {
    printf("%s\n", gauth_claims_json(claims));
    rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
  }
  gauth_claims_free(claims);
  gauth_verifier_free(v);
  return rc;
}

int cmd_verify(int argc, char **argv) {
  const char *cmd = "verify";
  verify_args a;
  gauth_verifier_options vo = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_keyset *keys = NULL;
  char *token = NULL;
  int rc;

  rc = parse_verify_args(argc, argv, cmd, &a);
  if (rc != CLI_OK || a.help) return rc;
  verifier_options(&a, &vo);
  /* The token first: a usage error about it beats a file error. */
  rc = cli_read_token(a.token_arg, cmd, &token);
  if (rc != CLI_OK) return rc;
  rc = key_source(a.jwks, &vo, &keys);
  if (rc == CLI_OK) rc = verify_and_print(cmd, &vo, token);
  gauth_keyset_free(keys);
  cli_free_secret(token);
  return rc;
}

/* ---- decode ---------------------------------------------------------- */

/* Prints decoded JSON text as a JSON value: as it is when it looks like an
 * object (libgauth checked it), else as a string. */
static void print_part(const char *json) {
  const char *p = json;
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  if (*p == '{')
    fputs(json, stdout);
  else
    cli_print_json_string(json);
}

int cmd_decode(int argc, char **argv) {
  const char *cmd = "decode";
  const char *token_arg = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *token = NULL, *header = NULL, *payload = NULL;
  int only_args = 0, rc;

  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!only_args && cli_is_help(a)) {
      fputs(decode_usage, stdout);
      return CLI_OK;
    }
    if (!only_args && strcmp(a, "--") == 0) {
      only_args = 1;
    } else if (!only_args && a[0] == '-' && strcmp(a, "-") != 0) {
      return unknown_option(cmd, a);
    } else if (token_arg != NULL) {
      return cli_usage_error(cmd, "more than one TOKEN given");
    } else {
      token_arg = a;
    }
  }
  rc = cli_read_token(token_arg, cmd, &token);
  if (rc != CLI_OK) return rc;
  if (gauth_jwt_decode_unverified(token, &header, &payload, &err) != GAUTH_OK) {
    rc = cli_fail_about(&err, "cannot decode token");
    goto done;
  }
  fputs("{\"header\":", stdout);
  print_part(header);
  fputs(",\"payload\":", stdout);
  print_part(payload);
  fputs("}\n", stdout);
  /* After the output, so that a terminal shows it last. */
  rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
  fprintf(stderr,
          "gauth: warning: decoded only: the signature and the "
          "claims were NOT verified\n");

done:
  gauth_free(header);
  gauth_free(payload);
  cli_free_secret(token);
  return rc;
}

/* ---- sign-jwt -------------------------------------------------------- */

int cmd_sign_jwt(int argc, char **argv) {
  const char *cmd = "sign-jwt";
  const char *key_path = NULL, *claims_arg = NULL, *kid = NULL;
  gauth_alg alg = GAUTH_ALG_UNKNOWN;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_key *key = NULL;
  char *claims_file = NULL, *token = NULL;
  const char *claims;
  int rc = CLI_FAIL;

  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    int m;
    if (cli_is_help(a)) {
      fputs(sign_usage, stdout);
      return CLI_OK;
    }
    if ((m = cli_option(argc, argv, &i, cmd, "--key", &val)) != 0) {
      if (m < 0) return CLI_USAGE;
      key_path = val;
    } else if ((m = cli_option(argc, argv, &i, cmd, "--claims", &val)) != 0) {
      if (m < 0) return CLI_USAGE;
      claims_arg = val;
    } else if ((m = cli_option(argc, argv, &i, cmd, "--kid", &val)) != 0) {
      if (m < 0) return CLI_USAGE;
      kid = val;
    } else if ((m = cli_option(argc, argv, &i, cmd, "--alg", &val)) != 0) {
      if (m < 0) return CLI_USAGE;
      alg = gauth_alg_from_name(val);
      if (alg == GAUTH_ALG_UNKNOWN)
        return cli_usage_error(cmd,
                               "--alg: unknown algorithm (expected "
                               "RS256 or ES256)");
    } else if (a[0] == '-') {
      return unknown_option(cmd, a);
    } else {
      return cli_usage_error(cmd,
                             "unexpected argument (sign-jwt takes "
                             "only options)");
    }
  }
  if (key_path == NULL || *key_path == '\0')
    return cli_usage_error(cmd, "--key=FILE is required");
  if (claims_arg == NULL)
    return cli_usage_error(cmd,
                           "--claims=JSON or --claims=@FILE is "
                           "required");

  if (claims_arg[0] == '@') {
    if (cli_read_file(claims_arg + 1, "claims file", &claims_file, NULL) !=
        CLI_OK)
      goto done;
    claims = claims_file;
  } else {
    claims = claims_arg;
  }

  if (gauth_key_load_file(&key, key_path, &err) != GAUTH_OK) {
    cli_fail_about(&err, "--key %s", key_path);
    goto done;
  }
  if (!gauth_key_is_private(key)) {
    fprintf(stderr,
            "gauth: --key %s holds a public key; signing needs "
            "the private key\n",
            key_path);
    goto done;
  }
  if (gauth_jwt_sign(key, alg, kid, claims, &token, &err) != GAUTH_OK) {
    rc = cli_fail(&err);
    goto done;
  }
  printf("%s\n", token);
  rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;

done:
  gauth_free(token);
  gauth_key_free(key);
  free(claims_file);
  return rc;
}
