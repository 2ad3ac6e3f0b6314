/* scheduler_invoke: one attempt of a Cloud Scheduler HTTP job, as Cloud
 * Scheduler makes it, with libgauth's public API.
 *
 *   scheduler_invoke --job=FILE                  (a Job's JSON, as gcloud
 *                                                 scheduler jobs describe
 *                                                 --format=json prints it)
 *   scheduler_invoke (--oidc | --oauth) --service-account=EMAIL URL
 *
 * --oidc: an OIDC ID token whose audience is URL (right for Cloud Run
 * services); --oauth: an access token with scope cloud-platform (right for
 * Google APIs such as a Cloud Run job's :run, which answer 401 to an ID
 * token). The token is EMAIL's: Application Default Credentials are used as
 * they are when they are EMAIL's, and impersonate EMAIL otherwise, as Cloud
 * Scheduler's service agent does. Prints the reply body and its status.
 * Exit 0 for a 2xx, 1 otherwise, 2 for bad usage. `gauth invoke` does the
 * same with retries, flags and JSON output. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gauth/gauth.h>

static const char usage[] =
    "usage: scheduler_invoke --job=FILE\n"
    "       scheduler_invoke (--oidc | --oauth) --service-account=EMAIL URL\n";

/* The job: the file's JSON, or one built from the flags. */
static int load_job(int argc, char **argv, gauth_scheduler_job **job,
                    gauth_error *err) {
  const char *file = NULL, *email = NULL, *url = NULL, *kind = NULL;
  char json[4096];
  size_t len;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--job=", 6) == 0)
      file = argv[i] + 6;
    else if (strcmp(argv[i], "--oidc") == 0)
      kind = "oidcToken";
    else if (strcmp(argv[i], "--oauth") == 0)
      kind = "oauthToken";
    else if (strncmp(argv[i], "--service-account=", 18) == 0)
      email = argv[i] + 18;
    else if (argv[i][0] != '-' && url == NULL)
      url = argv[i];
    else
      return 2;
  }
  if (file != NULL) {
    FILE *f = fopen(file, "rb");
    if (f == NULL) return 2;
    len = fread(json, 1, sizeof json - 1, f);
    fclose(f);
  } else if (kind != NULL && email != NULL && url != NULL) {
    /* (A real program builds JSON with a JSON library: the values here
     * are the command line's and are not escaped.) */
    len = (size_t)snprintf(json, sizeof json,
                           "{\"httpTarget\":{\"uri\":\"%s\",\"%s\":"
                           "{\"serviceAccountEmail\":\"%s\"}}}",
                           url, kind, email);
  } else {
    return 2;
  }
  if (len >= sizeof json - 1) return 2;
  return gauth_scheduler_job_from_json(job, json, len, err) == GAUTH_OK ? 0 : 2;
}

int main(int argc, char **argv) {
  gauth_scheduler_job *job = NULL;
  gauth_scheduler_attempt *at = NULL;
  gauth_credentials *creds = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  int rc = load_job(argc, argv, &job, &err);
  if (rc != 0) {
    fprintf(stderr, "scheduler_invoke: %s\n%s", err.message, usage);
    return rc;
  }
  printf("%s %s with an %s token of %s\n", gauth_scheduler_job_http_method(job),
         gauth_scheduler_job_uri(job),
         gauth_scheduler_token_name(gauth_scheduler_job_token(job)),
         gauth_scheduler_job_service_account(job));
  if (gauth_credentials_default(&creds, NULL, &err) == GAUTH_OK &&
      gauth_scheduler_attempt_send(creds, NULL, job, 0, &at, &err) ==
          GAUTH_OK) {
    const gauth_error *e = gauth_scheduler_attempt_error(at);
    if (gauth_scheduler_attempt_impersonated(at))
      printf("minted by impersonating %s\n",
             gauth_scheduler_job_service_account(job));
    if (!gauth_scheduler_attempt_sent(at)) printf("no token: %s\n", e->message);
    printf("reply body: %s\n", gauth_scheduler_attempt_body(at, NULL));
    printf("outcome: %s in %lld ms\n",
           gauth_rpc_code_name(gauth_scheduler_attempt_rpc_code(at)),
           (long long)gauth_scheduler_attempt_latency_ms(at));
    printf("status: %d\n", gauth_scheduler_attempt_http_status(at));
    rc = gauth_scheduler_attempt_succeeded(at) ? 0 : 1;
  } else {
    fprintf(stderr, "scheduler_invoke: %s (%s)\n", err.message,
            gauth_status_name(err.code));
    rc = 1;
  }
  gauth_scheduler_attempt_free(at);
  gauth_credentials_free(creds);
  gauth_scheduler_job_free(job);
  return rc;
}
