/* aws_scheduler: a scheduler on AWS (an EventBridge rule's Lambda, a cron on
 * EC2) runs a Cloud Run job with AWS credentials only, by workload identity
 * federation: no Google key file anywhere.
 *
 *   aws_scheduler [--credentials=FILE] URL
 *   aws_scheduler [--credentials=FILE] --project=P --region=L --job=J
 *
 * URL is the job's :run endpoint of the Cloud Run Admin API,
 * https://run.googleapis.com/v2/projects/P/locations/L/jobs/J:run (what
 * --project/--region/--job build). FILE is an external_account file with an
 * AWS credential source (environment_id aws1), as `gcloud iam
 * workload-identity-pools create-cred-config ... --aws` writes it; without
 * --credentials, Application Default Credentials read the file that
 * GOOGLE_APPLICATION_CREDENTIALS names. libgauth then does what Google's
 * libraries do: the AWS credentials from AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else from the instance
 * metadata service (IMDSv2), sign a GetCallerIdentity request with them,
 * exchange it at Google's STS for a federated token, and impersonate the
 * file's service account when it names one. The access token then POSTs
 * :run (with libcurl, as any HTTP client would), which starts an execution
 * of the job.
 *
 * Prints what it did, the HTTP status and the execution's name; never a
 * token or an AWS secret. Exit 0 when the job started, 1 when it did not
 * (the reason on stderr), 2 for bad usage. GAUTH_ENDPOINT points every
 * Google URL at another base URL (gauth-emulator), as for every libgauth
 * program; nothing here knows about the emulator. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <gauth/gauth.h>

static const char usage[] =
    "usage: aws_scheduler [--credentials=FILE] URL\n"
    "       aws_scheduler [--credentials=FILE] --project=P --region=L "
    "--job=J\n"
    "URL: https://run.googleapis.com/v2/projects/P/locations/L/jobs/J:run\n"
    "FILE: an external_account file (default: Application Default "
    "Credentials)\n";

/* The reply body, kept up to 64 KiB (a run's Operation is under 1 KiB). */
typedef struct reply {
  char data[65536];
  size_t len;
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *userdata) {
  reply *r = userdata;
  size_t take = size * n;
  if (take > sizeof r->data - 1 - r->len) take = sizeof r->data - 1 - r->len;
  memcpy(r->data + r->len, p, take);
  r->len += take;
  r->data[r->len] = '\0';
  return size * n;
}

/* POST {} to url with the access token; the status, or 0 when no reply
 * came (the reason in errbuf). */
static long post_run(const char *url, const char *token, reply *r,
                     char errbuf[CURL_ERROR_SIZE]) {
  CURL *curl = curl_easy_init();
  struct curl_slist *headers = NULL;
  long status = 0;
  errbuf[0] = '\0';
  if (curl == NULL || (headers = curl_slist_append(
                           NULL, "Content-Type: application/json")) == NULL) {
    snprintf(errbuf, CURL_ERROR_SIZE, "out of memory");
    curl_easy_cleanup(curl);
    return 0;
  }
  curl_easy_setopt(curl, CURLOPT_URL, url);
  /* Authorization: Bearer TOKEN, to this URL only: no redirect is
   * followed. */
  curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
  curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, token);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{}");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(curl) == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  // cppcheck-suppress knownConditionTrueFalse ; curl fills CURLOPT_ERRORBUFFER
  else if (errbuf[0] == '\0')
    snprintf(errbuf, CURL_ERROR_SIZE, "the request failed");
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

/* A string member of a JSON object, or NULL. */
static const char *str_of(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What the reply says: a 2xx's Operation names the execution it started
 * (metadata.name); an error is Google's {"error":{"code","status",
 * "message"}}. */
static void print_reply(long status, const reply *r) {
  cJSON *j = cJSON_ParseWithLength(r->data, r->len);
  const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  if (status >= 200 && status < 300) {
    const char *exec = str_of(md, "name");
    printf("execution: %s\n", exec ? exec : "(not named in the reply)");
    if (str_of(j, "name") != NULL) printf("operation: %s\n", str_of(j, "name"));
  } else if (cJSON_IsObject(e)) {
    fprintf(stderr, "aws_scheduler: the job did not run: %s: %s\n",
            str_of(e, "status") ? str_of(e, "status") : "error",
            str_of(e, "message") ? str_of(e, "message") : "(no message)");
  } else {
    fprintf(stderr,
            "aws_scheduler: the job did not run: HTTP %ld, a reply that is "
            "not Google's error shape\n",
            status);
  }
  cJSON_Delete(j);
}

int main(int argc, char **argv) {
  const char *file = NULL, *url = NULL, *project = NULL, *region = NULL,
             *job = NULL;
  char built[1024], errbuf[CURL_ERROR_SIZE];
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_credentials *creds = NULL;
  char *token = NULL, *target = NULL, *email = NULL;
  long status;
  int rc = 1;
  static reply r;

  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--credentials=", 14) == 0)
      file = argv[i] + 14;
    else if (strncmp(argv[i], "--project=", 10) == 0)
      project = argv[i] + 10;
    else if (strncmp(argv[i], "--region=", 9) == 0)
      region = argv[i] + 9;
    else if (strncmp(argv[i], "--job=", 6) == 0)
      job = argv[i] + 6;
    else if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (argv[i][0] != '-' && url == NULL)
      url = argv[i];
    else {
      fprintf(stderr, "aws_scheduler: unexpected argument %s\n%s", argv[i],
              usage);
      return 2;
    }
  }
  if (url != NULL && (project || region || job))
    url = NULL;
  else if (url == NULL && project && region && job &&
           (size_t)snprintf(built, sizeof built,
                            "https://run.googleapis.com/v2/projects/%s/"
                            "locations/%s/jobs/%s:run",
                            project, region, job) < sizeof built)
    url = built;
  if (url == NULL) {
    fprintf(stderr,
            "aws_scheduler: give the job's :run URL, or --project, --region "
            "and --job\n%s",
            usage);
    return 2;
  }
  if (gauth_global_init(&err) != GAUTH_OK) {
    fprintf(stderr, "aws_scheduler: %s\n", err.message);
    return 1;
  }

  /* 1. Google credentials from the external_account file. */
  if ((file ? gauth_credentials_from_file(&creds, file, NULL, &err)
            : gauth_credentials_default(&creds, NULL, &err)) != GAUTH_OK) {
    fprintf(stderr, "aws_scheduler: no credentials: %s (%s)\n", err.message,
            gauth_status_name(err.code));
    goto out;
  }
  printf("credentials: %s, from %s\n",
         gauth_credentials_type_name(gauth_credentials_get_type(creds)),
         gauth_credentials_origin(creds));

  /* 2. An access token (cloud-platform): AWS credentials, a signed
   * GetCallerIdentity, Google's STS, then impersonation if configured. */
  if (gauth_credentials_access_token(creds, NULL, &token, NULL, &err) !=
      GAUTH_OK) {
    fprintf(stderr, "aws_scheduler: no access token: %s (%s)\n", err.message,
            gauth_status_name(err.code));
    goto out;
  }
  /* Whose token: the service account the file impersonates, or (without
   * service_account_impersonation_url) the federated principal's own. */
  if (gauth_credentials_email(creds, &email, NULL) == GAUTH_OK)
    printf(
        "access token: for %s%s\n", email,
        gauth_credentials_get_type(creds) == GAUTH_CREDENTIALS_EXTERNAL_ACCOUNT
            ? " (by impersonation)"
            : "");
  else
    printf("access token: the federated principal's own\n");

  /* 3. POST :run. The URL goes where libgauth sends Google's URLs
   * (GAUTH_ENDPOINT when set); plain http only to loopback. */
  if (gauth_resolve_url(NULL, url, &target, &err) != GAUTH_OK) {
    fprintf(stderr, "aws_scheduler: %s: %s\n", url, err.message);
    goto out;
  }
  printf("POST %s\n", url);
  if (strcmp(target, url) != 0) printf("  (sent to %s)\n", target);
  status = post_run(target, token, &r, errbuf);
  if (status == 0) {
    fprintf(stderr, "aws_scheduler: POST %s: no reply: %s\n", target, errbuf);
    goto out;
  }
  printf("status: %ld\n", status);
  print_reply(status, &r);
  rc = status >= 200 && status < 300 ? 0 : 1;

out:
  gauth_free(email);
  gauth_free(token);
  gauth_free(target);
  gauth_credentials_free(creds);
  gauth_global_cleanup();
  return rc;
}
