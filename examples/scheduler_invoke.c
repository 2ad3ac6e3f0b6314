/* scheduler_invoke: what Cloud Scheduler does for an HTTP target, in one
 * short program over libgauth's public API and libcurl.
 *
 *   scheduler_invoke --oidc  --service-account=EMAIL [--audience=AUD] URL
 *   scheduler_invoke --oauth --service-account=EMAIL [--scope=SCOPE] URL
 *       [--method=POST] [--body=TEXT] [--credentials=FILE]
 *
 * --oidc mints an OpenID Connect ID token whose audience is AUD (default:
 * URL), as Cloud Scheduler's oidcToken does: right for Cloud Run services
 * and other HTTP endpoints that check an ID token. --oauth mints an OAuth
 * access token for SCOPE (default cloud-platform), as oauthToken does:
 * right for Google APIs such as the Cloud Run Admin API's jobs/J:run, which
 * answer 401 to an ID token.
 *
 * The token belongs to EMAIL: the program's credentials (ADC, or
 * --credentials) are used directly when they are EMAIL's, and impersonate
 * EMAIL otherwise (Cloud Scheduler's service agent does the same).
 *
 * Then it sends the request (POST with an empty body by default, like a
 * Scheduler job without a body) with "Authorization: Bearer TOKEN" and
 * prints what each step did, the reply's status and its body. Exit 0 for a
 * 2xx reply, 1 for any other reply or failure, 2 for bad usage. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gauth/gauth.h>

#define MAX_BODY_PRINT 2000

typedef struct args {
  int oidc, oauth;
  const char *email, *audience, *scope, *method, *body, *credentials, *url;
} args;

static const char usage[] =
    "usage: scheduler_invoke (--oidc [--audience=AUD] | --oauth [--scope=S])\n"
    "                        --service-account=EMAIL [--method=M] [--body=TEXT]\n"
    "                        [--credentials=FILE] URL\n";

static int parse(int argc, char **argv, args *a) {
  memset(a, 0, sizeof(*a));
  a->method = "POST";
  a->body = "";
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
#define OPT(name, field)                         \
  if (strncmp(s, name "=", sizeof(name)) == 0) { \
    a->field = s + sizeof(name);                 \
    continue;                                    \
  }
    if (strcmp(s, "--oidc") == 0) {
      a->oidc = 1;
      continue;
    }
    if (strcmp(s, "--oauth") == 0) {
      a->oauth = 1;
      continue;
    }
    OPT("--service-account", email)
    OPT("--audience", audience)
    OPT("--scope", scope)
    OPT("--method", method)
    OPT("--body", body)
    OPT("--credentials", credentials)
#undef OPT
    if (s[0] == '-' || a->url != NULL) {
      fprintf(stderr, "scheduler_invoke: unexpected argument\n%s", usage);
      return 2;
    }
    a->url = s;
  }
  if (a->oidc == a->oauth || a->email == NULL || a->url == NULL) {
    fprintf(stderr, "%s", usage);
    return 2;
  }
  return 0;
}

/* The credentials whose tokens belong to `email`. */
static gauth_status credentials_for(const args *a, gauth_credentials **out,
                                    gauth_error *err) {
  gauth_credentials *base = NULL;
  char *own = NULL;
  gauth_status st =
      a->credentials
          ? gauth_credentials_from_file(&base, a->credentials, NULL, err)
          : gauth_credentials_default(&base, NULL, err);
  if (st != GAUTH_OK) return st;
  printf("credentials: %s (%s)\n", gauth_credentials_origin(base),
         gauth_credentials_type_name(gauth_credentials_get_type(base)));
  if (gauth_credentials_email(base, &own, NULL) == GAUTH_OK &&
      strcmp(own, a->email) == 0) {
    gauth_free(own);
    *out = base;
    return GAUTH_OK;
  }
  gauth_free(own);
  printf("impersonating %s through IAM Credentials\n", a->email);
  st = gauth_credentials_impersonate(out, base, a->email, NULL, NULL, err);
  gauth_credentials_free(base);
  return st;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  FILE *f = ud;
  size_t len = size * n;
  static size_t printed;
  if (printed < MAX_BODY_PRINT) {
    size_t k = len < MAX_BODY_PRINT - printed ? len : MAX_BODY_PRINT - printed;
    fwrite(p, 1, k, f);
    printed += k;
  }
  return len;
}

/* Sends the request; returns the HTTP status (0: no reply). */
static long call(const args *a, const char *token) {
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  char *auth;
  long status = 0;
  CURLcode rc;
  size_t n = strlen(token) + sizeof("Authorization: Bearer ");
  if (c == NULL || (auth = malloc(n)) == NULL) return 0;
  snprintf(auth, n, "Authorization: Bearer %s", token);
  h = curl_slist_append(h, auth);
  h = curl_slist_append(h, "User-Agent: Google-Cloud-Scheduler");
  h = curl_slist_append(h, "Content-Type: application/octet-stream");
  curl_easy_setopt(c, CURLOPT_URL, a->url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, a->method);
  if (strcmp(a->method, "GET") != 0) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, a->body);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 180L); /* attemptDeadline: 3 min */
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, stdout);
  printf("%s %s\nreply body: ", a->method, a->url);
  fflush(stdout);
  rc = curl_easy_perform(c);
  printf("\n");
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  } else {
    printf("request failed: %s\n", curl_easy_strerror(rc));
  }
  curl_slist_free_all(h);
  gauth_free(auth); /* wipes, then free() */
  curl_easy_cleanup(c);
  return status;
}

int main(int argc, char **argv) {
  args a;
  gauth_credentials *creds = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st;
  char *token = NULL;
  long status;
  int rc = parse(argc, argv, &a);
  if (rc != 0) return rc;
  if (gauth_global_init(&err) != GAUTH_OK) {
    fprintf(stderr, "scheduler_invoke: %s\n", err.message);
    return 1;
  }
  st = credentials_for(&a, &creds, &err);
  if (st == GAUTH_OK && a.oidc) {
    const char *aud = a.audience ? a.audience : a.url;
    printf("minting an OIDC ID token for %s, audience %s\n", a.email, aud);
    st = gauth_credentials_id_token(creds, aud, 0, &token, NULL, &err);
  } else if (st == GAUTH_OK) {
    const char *scopes[] = {a.scope ? a.scope : GAUTH_SCOPE_CLOUD_PLATFORM,
                            NULL};
    printf("minting an OAuth access token for %s, scope %s\n", a.email,
           scopes[0]);
    st = gauth_credentials_access_token(creds, scopes, &token, NULL, &err);
  }
  if (st != GAUTH_OK) {
    fprintf(stderr, "scheduler_invoke: %s (%s)\n", err.message,
            gauth_status_name(st));
    gauth_credentials_free(creds);
    gauth_global_cleanup();
    return 1;
  }
  status = call(&a, token);
  printf("status: %ld\n", status);
  gauth_free(token);
  gauth_credentials_free(creds);
  gauth_global_cleanup();
  return status >= 200 && status < 300 ? 0 : 1;
}
