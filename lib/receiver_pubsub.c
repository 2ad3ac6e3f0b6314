/* The Pub/Sub push envelope (lib/receiver_internal.h): the JSON body a push
 * subscription POSTs,
 *
 *   {"message": {"data": BASE64, "attributes": {K: V, ...},
 *                "messageId": ID, "message_id": ID,
 *                "publishTime": RFC3339, "publish_time": RFC3339,
 *                "orderingKey": KEY},
 *    "subscription": "projects/P/subscriptions/S",
 *    "deliveryAttempt": N}
 *
 * Pub/Sub writes both spellings of the id and the time; either is enough
 * here. `data` is absent for a message of attributes only. Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "error_internal.h"
#include "json.h"
#include "receiver_internal.h"

/* Attributes are strings: nothing in an envelope nests deeper. */
#define ENVELOPE_MAX_DEPTH 8

static gauth_status bad(gauth_error *err, const char *what,
                        const char *detail) {
  return gauth__error_set_verify(
      err, GAUTH_REASON_BAD_ENVELOPE, "Pub/Sub push envelope: %s%s%s", what,
      detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

/* A string member under either of two names (the first wins). Absent or
 * null: *out NULL. Another type: an error naming it. */
static gauth_status either_string(const cJSON *obj, const char *a,
                                  const char *b, const char *where,
                                  const char **out, gauth_error *err) {
  const char *names[2] = {a, b};
  size_t i;
  char what[96];
  *out = NULL;
  for (i = 0; i < 2; i++) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, names[i]);
    if (it == NULL || cJSON_IsNull(it)) continue;
    if (!cJSON_IsString(it) || it->valuestring == NULL) {
      snprintf(what, sizeof(what), "%s.%s is %s, expected a string", where,
               names[i], gauth__json_type_name(it));
      return bad(err, what, NULL);
    }
    *out = it->valuestring;
    return GAUTH_OK;
  }
  return GAUTH_OK;
}

/* "projects/P/subscriptions/S", P and S non-empty without '/'. */
static int subscription_valid(const char *s) {
  const char *p = gauth__skip_prefix(s, "projects/"), *slash, *name;
  if (p == NULL || (slash = strchr(p, '/')) == NULL || slash == p) return 0;
  name = gauth__skip_prefix(slash, "/subscriptions/");
  return name != NULL && name[0] != '\0' && strchr(name, '/') == NULL;
}

static gauth_status parse_data(const cJSON *msg, gauth__pubsub_push *out,
                               gauth_error *err) {
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(msg, "data");
  gauth_error e = GAUTH_ERROR_INIT;
  if (data == NULL || cJSON_IsNull(data)) {
    out->data = calloc(1, 1);
    out->data_len = 0;
    return out->data == NULL ? gauth__error_nomem(err) : GAUTH_OK;
  }
  if (!cJSON_IsString(data) || data->valuestring == NULL)
    return bad(err, "message.data is not a string", NULL);
  if (gauth__b64_decode(data->valuestring, strlen(data->valuestring),
                        &out->data, &out->data_len, &e) != GAUTH_OK) {
    if (e.code == GAUTH_E_NOMEM) return gauth__error_nomem(err);
    return bad(err, "message.data is not valid base64", e.message);
  }
  return GAUTH_OK;
}

static gauth_status parse_attributes(const cJSON *msg, gauth__pubsub_push *out,
                                     gauth_error *err) {
  const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(msg, "attributes");
  const cJSON *it;
  size_t n = 0;
  if (attrs == NULL || cJSON_IsNull(attrs)) return GAUTH_OK;
  if (!cJSON_IsObject(attrs))
    return bad(err, "message.attributes is not an object", NULL);
  cJSON_ArrayForEach(it, attrs) {
    if (!cJSON_IsString(it) || it->valuestring == NULL)
      return bad(err, "message.attributes has a value that is not a string",
                 NULL);
    n++;
  }
  if (n == 0) return GAUTH_OK;
  out->attr = calloc(n, sizeof(*out->attr));
  if (out->attr == NULL) return gauth__error_nomem(err);
  cJSON_ArrayForEach(it, attrs) out->attr[out->attr_count++] = it;
  return GAUTH_OK;
}

static gauth_status parse_top(const cJSON *root, gauth__pubsub_push *out,
                              gauth_error *err) {
  const cJSON *sub = cJSON_GetObjectItemCaseSensitive(root, "subscription");
  const cJSON *att = cJSON_GetObjectItemCaseSensitive(root, "deliveryAttempt");
  if (sub == NULL || cJSON_IsNull(sub))
    return bad(err, "subscription is missing", NULL);
  if (!cJSON_IsString(sub) || sub->valuestring == NULL)
    return bad(err, "subscription is not a string", NULL);
  if (!subscription_valid(sub->valuestring))
    return bad(err,
               "subscription is not of the form "
               "projects/PROJECT/subscriptions/NAME",
               NULL);
  out->subscription = sub->valuestring;
  if (att != NULL && !cJSON_IsNull(att)) {
    double d = cJSON_IsNumber(att) ? att->valuedouble : -1;
    if (!cJSON_IsNumber(att) || d < 0 || d > 2147483647.0 ||
        (double)(int)d != d)
      return bad(err, "deliveryAttempt is not a non-negative integer", NULL);
    out->delivery_attempt = (int)d;
  }
  return GAUTH_OK;
}

gauth_status gauth__pubsub_push_parse(const char *body, size_t len,
                                      size_t max_bytes, gauth__pubsub_push *out,
                                      gauth_error *err) {
  gauth__json_limits limits = {0, ENVELOPE_MAX_DEPTH};
  gauth_error e = GAUTH_ERROR_INIT;
  const cJSON *msg;
  gauth_status st;

  memset(out, 0, sizeof(*out));
  if (max_bytes != 0 && len > max_bytes) {
    gauth__error_set_verify(err, GAUTH_REASON_BODY_TOO_LARGE,
                            "Pub/Sub push body (%zu bytes) is over the "
                            "limit of %zu bytes",
                            len, max_bytes);
    if (err != NULL) err->code = GAUTH_E_TOO_LARGE;
    return GAUTH_E_TOO_LARGE;
  }
  if (body == NULL || len == 0) return bad(err, "the body is empty", NULL);
  limits.max_bytes = len;
  if (gauth__json_parse_object(body, len, &limits, &out->root, &e) !=
      GAUTH_OK) {
    if (e.code == GAUTH_E_NOMEM) return gauth__error_nomem(err);
    return bad(err, "the body is not a JSON object", e.message);
  }
  msg = cJSON_GetObjectItemCaseSensitive(out->root, "message");
  if (msg == NULL || cJSON_IsNull(msg))
    st = bad(err, "message is missing", NULL);
  else if (!cJSON_IsObject(msg))
    st = bad(err, "message is not an object", NULL);
  else
    st = either_string(msg, "messageId", "message_id", "message",
                       &out->message_id, err);
  if (st == GAUTH_OK && (out->message_id == NULL || out->message_id[0] == '\0'))
    st = bad(err, "message.messageId is missing", NULL);
  if (st == GAUTH_OK)
    st = either_string(msg, "publishTime", "publish_time", "message",
                       &out->publish_time, err);
  if (st == GAUTH_OK)
    st = either_string(msg, "orderingKey", "ordering_key", "message",
                       &out->ordering_key, err);
  if (st == GAUTH_OK) st = parse_top(out->root, out, err);
  if (st == GAUTH_OK) st = parse_attributes(msg, out, err);
  if (st == GAUTH_OK) st = parse_data(msg, out, err);
  if (st != GAUTH_OK) gauth__pubsub_push_cleanup(out);
  return st;
}

void gauth__pubsub_push_cleanup(gauth__pubsub_push *p) {
  if (p == NULL) return;
  cJSON_Delete(p->root);
  free(p->data);
  free(p->attr);
  memset(p, 0, sizeof(*p));
}
