/* libFuzzer target for what the receiver reads from a request
 * (lib/receiver_pubsub.c, lib/receiver.c): the Pub/Sub push envelope
 * (gauth__pubsub_push_parse), the Bearer credential of an Authorization
 * header (gauth__receiver_parse_bearer, and gauth__receiver_bearer over a
 * request holding the input as both headers) and IAP audiences.
 *
 * Beyond "no crash, no leak" it checks:
 *   - an accepted envelope has a non-empty message id, a subscription
 *     projects/P/subscriptions/S, data that is NUL-terminated and
 *     re-encodes (standard base64) to message.data exactly, and one
 *     attribute pointer per string attribute; a refused one GAUTH_E_VERIFY
 *     (or TOO_LARGE / NOMEM) with reason bad_envelope (body_too_large) and
 *     a message showing no 13 bytes of message.data or of an attribute's
 *     value (16 bytes or more);
 *   - an accepted Bearer credential is a part of the header value made of
 *     token68 characters (with scan), never empty; a refusal shows no 13
 *     bytes of what follows the scheme. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "fuzz_check.h"
#include "receiver_internal.h"

static void again_envelope(const uint8_t *data, size_t size, gauth_error *err) {
  gauth__pubsub_push p;
  if (gauth__pubsub_push_parse((const char *)data, size, 1 << 20, &p, err) ==
      GAUTH_OK)
    gauth__pubsub_push_cleanup(&p);
}

static void again_bearer0(const uint8_t *data, size_t size, gauth_error *err) {
  const char *tok;
  size_t len;
  (void)gauth__receiver_parse_bearer((const char *)data, size, "Authorization",
                                     0, &tok, &len, err);
}

static void again_bearer1(const uint8_t *data, size_t size, gauth_error *err) {
  const char *tok;
  size_t len;
  (void)gauth__receiver_parse_bearer((const char *)data, size, "Authorization",
                                     1, &tok, &len, err);
}

static void check_envelope(const uint8_t *data, size_t size) {
  static const char *const data_only[] = {"data", NULL};
  gauth__pubsub_push p;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st =
      gauth__pubsub_push_parse((const char *)data, size, 1 << 20, &p, &err);
  if (st == GAUTH_OK) {
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(p.root, "message");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "data");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(msg, "attributes");
    CHECK(p.data != NULL && p.data[p.data_len] == '\0');
    CHECK(p.message_id != NULL && p.message_id[0] != '\0');
    CHECK(p.subscription != NULL &&
          strncmp(p.subscription, "projects/", 9) == 0 &&
          strstr(p.subscription, "/subscriptions/") != NULL);
    CHECK(p.delivery_attempt >= 0);
    if (cJSON_IsString(d)) {
      char *again = NULL;
      CHECK(gauth__b64_encode(p.data, p.data_len, &again, NULL) == GAUTH_OK);
      CHECK(strcmp(again, d->valuestring) == 0);
      free(again);
    } else {
      CHECK(p.data_len == 0);
    }
    CHECK(p.attr_count ==
          (size_t)(cJSON_IsObject(attrs) ? cJSON_GetArraySize(attrs) : 0));
    for (size_t i = 0; i < p.attr_count; i++)
      CHECK(cJSON_IsString(p.attr[i]) && p.attr[i]->string != NULL);
    gauth__pubsub_push_cleanup(&p);
    return;
  }
  CHECK(p.root == NULL && p.data == NULL && p.attr == NULL);
  CHECK(st == GAUTH_E_VERIFY || st == GAUTH_E_TOO_LARGE || st == GAUTH_E_NOMEM);
  CHECK(err.code == st && err.message[0] != '\0');
  if (st == GAUTH_E_VERIFY)
    CHECK(strcmp(err.reason, GAUTH_REASON_BAD_ENVELOPE) == 0);
  CHECK(!fuzz_input_shows(data, size, data_only, NULL, err.message,
                          again_envelope));
  {
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "message"), "attributes");
    CHECK(!fuzz_json_shows(data, size, a, NULL, NULL, err.message,
                           again_envelope));
    cJSON_Delete(j);
  }
}

static int token68(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || strchr("-._~+/=", c) != NULL;
}

static void check_bearer(const uint8_t *data, size_t size) {
  const char *v = (const char *)data, *tok = NULL, *sp;
  size_t len = 0;
  gauth_error err = GAUTH_ERROR_INIT;
  for (int scan = 0; scan <= 1; scan++) {
    gauth_status st = gauth__receiver_parse_bearer(v, size, "Authorization",
                                                   scan, &tok, &len, &err);
    if (st == GAUTH_OK) {
      CHECK(tok != NULL && len > 0);
      CHECK(tok >= v && tok + len <= v + size);
      if (scan)
        for (size_t i = 0; i < len; i++) CHECK(token68(tok[i]));
    } else {
      CHECK(tok == NULL && len == 0);
      CHECK(st == GAUTH_E_VERIFY && err.message[0] != '\0');
      /* The scheme may be named (it is no secret), what follows not. */
      sp = v;
      while (sp < v + size && (*sp == ' ' || *sp == '\t')) sp++;
      while (sp < v + size && *sp != ' ' && *sp != '\t') sp++;
      CHECK(!fuzz_shows_at(data, size, err.message, sp, size - (size_t)(sp - v),
                           sp - v, scan ? again_bearer1 : again_bearer0));
    }
  }
  {
    gauth_http_header h[2] = {
        {"Authorization", 13, v, size},
        {"X-Serverless-Authorization", 26, v, size},
    };
    gauth_request req = GAUTH_REQUEST_INIT;
    req.headers = h;
    req.header_count = 1 + (size & 1);
    if (gauth__receiver_bearer(&req, 1, &tok, &len, NULL) == GAUTH_OK)
      CHECK(tok >= v && tok + len <= v + size);
    (void)gauth__receiver_signature_removed(v, size);
    (void)gauth__receiver_kind(&req, (gauth_receive_mode)(size % 3));
  }
}

static void check_audience(const uint8_t *data, size_t size) {
  char *s;
  if (size > 256) return;
  s = fuzz_strndup(data, size);
  (void)gauth__receiver_iap_audience_valid(s);
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_envelope(data, size);
  check_bearer(data, size);
  check_audience(data, size);
  return 0;
}
