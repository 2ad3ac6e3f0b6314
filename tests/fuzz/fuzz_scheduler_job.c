/* libFuzzer target for Cloud Scheduler jobs (lib/scheduler_job.c): the Job
 * JSON parser (gauth_scheduler_job_from_json), the request headers built
 * from a parsed job (gauth__scheduler_request_headers) and Google's
 * duration strings (gauth__scheduler_duration_parse).
 *
 * Beyond "no crash, no leak" it checks:
 *   - a refused job gives *out NULL, a status with a message (never
 *     GAUTH_OK or GAUTH_E_INTERNAL), and the message shows no 13 bytes of
 *     a header value, of the body, or of the uri's user info, query or
 *     fragment (16 bytes or more: they may hold keys);
 *   - an accepted job passes the retry-config check, has a deadline >= 0,
 *     as many header names and values as its count, and a body of its
 *     length; its request headers are "Name: value" lines without CR or
 * LF;
 *   - an accepted duration is in range and parses the same twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gauth/scheduler.h>

#include "fuzz_check.h"
#include "scheduler_internal.h"
#include "secret.h"

static void again(const uint8_t *data, size_t size, gauth_error *err) {
  gauth_scheduler_job *job = NULL;
  if (gauth_scheduler_job_from_json(&job, (const char *)data, size, err) ==
      GAUTH_OK)
    gauth_scheduler_job_free(job);
}

static int is_headers(const cJSON *c) {
  return c->string != NULL && strcmp(c->string, "headers") == 0 &&
         cJSON_IsObject(c);
}

/* 1 when a string outside every "headers" object holds s: a message may
 * quote that member (a job's state, say), and then shows the text because
 * it is there too, not because a header's value leaked. */
static int held_outside_headers(const cJSON *item, const char *s) {
  const cJSON *c;
  for (c = item != NULL ? item->child : NULL; c != NULL; c = c->next) {
    if (is_headers(c)) continue;
    if (cJSON_IsString(c) && strstr(c->valuestring, s) != NULL) return 1;
    if (held_outside_headers(c, s)) return 1;
  }
  return 0;
}

/* 1 when msg shows a value of a "headers" object anywhere in item (root:
 * the whole input) that no other member holds. */
static int shows_header(const uint8_t *data, size_t size, const cJSON *root,
                        const cJSON *item, const char *msg) {
  const cJSON *c, *h;
  for (c = item != NULL ? item->child : NULL; c != NULL; c = c->next) {
    if (is_headers(c)) {
      cJSON_ArrayForEach(h, c) {
        if (cJSON_IsString(h) && strlen(h->valuestring) >= FUZZ_SECRET_MIN &&
            !held_outside_headers(root, h->valuestring) &&
            fuzz_shows(data, size, msg, h->valuestring, strlen(h->valuestring),
                       again))
          return 1;
      }
    }
    if (shows_header(data, size, root, c, msg)) return 1;
  }
  return 0;
}

/* 1 when msg shows the user info, query or fragment of a "uri" member. */
static int shows_uri_secret(const uint8_t *data, size_t size, const cJSON *item,
                            const char *msg) {
  const cJSON *c;
  for (c = item != NULL ? item->child : NULL; c != NULL; c = c->next) {
    if (c->string != NULL && strcmp(c->string, "uri") == 0 &&
        cJSON_IsString(c)) {
      const char *u = c->valuestring, *q = strpbrk(u, "?#"), *at;
      const char *auth = strstr(u, "://");
      if (q != NULL && strlen(q + 1) >= FUZZ_SECRET_MIN &&
          fuzz_shows(data, size, msg, q + 1, strlen(q + 1), again))
        return 1;
      if (auth != NULL && (at = strchr(auth + 3, '@')) != NULL &&
          (size_t)(at - auth - 3) >= FUZZ_SECRET_MIN &&
          fuzz_shows(data, size, msg, auth + 3, (size_t)(at - auth - 3), again))
        return 1;
    }
    if (shows_uri_secret(data, size, c, msg)) return 1;
  }
  return 0;
}

static void check_job(const uint8_t *data, size_t size) {
  static const char *const body[] = {"body", NULL};
  gauth_scheduler_job *job = (gauth_scheduler_job *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st =
      gauth_scheduler_job_from_json(&job, (const char *)data, size, &err);
  char **headers = NULL;
  size_t n, len = 0;

  if (st != GAUTH_OK) {
    cJSON *j;
    CHECK(job == NULL);
    CHECK(st != GAUTH_E_INTERNAL && err.code == st);
    CHECK(err.message[0] != '\0');
    CHECK(!fuzz_input_shows(data, size, body, NULL, err.message, again));
    j = cJSON_ParseWithLength((const char *)data, size);
    CHECK(!shows_header(data, size, j, j, err.message));
    CHECK(!shows_uri_secret(data, size, j, err.message));
    cJSON_Delete(j);
    return;
  }
  CHECK(job != NULL);
  CHECK(gauth__scheduler_retry_config_check(
            gauth_scheduler_job_retry_config(job), NULL) == GAUTH_OK);
  CHECK(gauth_scheduler_job_attempt_deadline_ms(job) >= 0);
  n = gauth_scheduler_job_header_count(job);
  for (size_t i = 0; i < n; i++) {
    CHECK(gauth_scheduler_job_header_name(job, i) != NULL);
    CHECK(gauth_scheduler_job_header_value(job, i) != NULL);
  }
  if (gauth_scheduler_job_body(job, &len) == NULL) CHECK(len == 0);
  (void)gauth_scheduler_state_name(gauth_scheduler_job_state(job));
  (void)gauth_scheduler_token_name(gauth_scheduler_job_token(job));

  if (gauth_scheduler_job_target(job) == GAUTH_SCHEDULER_TARGET_HTTP &&
      gauth__scheduler_request_headers(job, "ya29.token", 1700000000, &headers,
                                       NULL) == GAUTH_OK) {
    for (char **h = headers; *h != NULL; h++) {
      CHECK(strpbrk(*h, "\r\n") == NULL);
      /* "Name: value", "Name;" (an empty value, in libcurl's words) or
       * "Name:" (the header removed). */
      CHECK(strstr(*h, ": ") != NULL || (*h)[strlen(*h) - 1] == ':' ||
            (*h)[strlen(*h) - 1] == ';');
    }
    gauth__secret_strv_free(headers);
  }
  gauth_scheduler_job_free(job);
}

static void check_duration(const uint8_t *data, size_t size) {
  char buf[48];
  gauth__scheduler_duration d, e;
  if (size >= sizeof buf) return;
  memcpy(buf, data, size);
  buf[size] = '\0';
  if (gauth__scheduler_duration_parse(buf, "d", &d, NULL) == GAUTH_OK) {
    CHECK(d.seconds >= 0 && d.seconds <= GAUTH__SCHEDULER_DURATION_MAX_SECONDS);
    CHECK(d.nanos >= 0 && d.nanos <= 999999999);
    CHECK(gauth__scheduler_duration_parse(buf, NULL, &e, NULL) == GAUTH_OK);
    CHECK(d.seconds == e.seconds && d.nanos == e.nanos);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_job(data, size);
  check_duration(data, size);
  return 0;
}
