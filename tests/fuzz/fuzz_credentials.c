/* libFuzzer target for what credentials read from files and servers: the
 * credentials file constructors (lib/cred_file.c and every source's
 * parser; no network: constructors make no request) for every type:
 * service_account, authorized_user, impersonated_service_account,
 * external_account with a file, url, executable or aws1 source (and the
 * refused ones: certificate sources, external_account_authorized_user),
 * and RFC 3339 times. Token replies: fuzz_token_reply.
 *
 * Beyond "no crash, no leak" it checks:
 *   - a refused file gives *out NULL, a known status and a message, and
 *     the message never shows PEM armour nor the value (8 bytes or more)
 *     of any "private_key", "refresh_token" or "client_secret" member of
 *     the input, at any depth, nor 13 bytes of one of 16 bytes or more
 *     (fuzz_shows);
 *   - an accepted file gives a credential of a known type with an origin;
 *   - an accepted RFC 3339 time is unchanged by a second parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credentials_internal.h"
#include "fuzz_check.h"

#include <cjson/cJSON.h>

/* 1 when some "type" member anywhere in item contains s (an unknown type
 * is named in the message: it is no secret, whatever it contains). */
static int in_a_type(const cJSON *item, const char *s) {
  const cJSON *child;
  for (child = item ? item->child : NULL; child; child = child->next) {
    if (cJSON_IsString(child) && child->string != NULL &&
        strcmp(child->string, "type") == 0 &&
        strstr(child->valuestring, s) != NULL)
      return 1;
    if (in_a_type(child, s)) return 1;
  }
  return 0;
}

static const char *const secret_names[] = {"private_key", "refresh_token",
                                           "client_secret"};

static int is_secret_name(const char *name) {
  for (size_t i = 0; i < sizeof secret_names / sizeof secret_names[0]; i++)
    if (name != NULL && strcmp(name, secret_names[i]) == 0) return 1;
  return 0;
}

/* 1 when a member that is not a secret holds s in its value: a message may
 * quote that member (a URL, a path, a field's name), and then shows the
 * text because it is there too, not because the secret leaked. */
static int in_a_non_secret(const cJSON *item, const char *s) {
  const cJSON *child;
  for (child = item ? item->child : NULL; child; child = child->next) {
    if (cJSON_IsString(child) && !is_secret_name(child->string) &&
        strstr(child->valuestring, s) != NULL)
      return 1;
    if (in_a_non_secret(child, s)) return 1;
  }
  return 0;
}

static gauth_status from_json(const uint8_t *data, size_t size,
                              gauth_credentials **c, gauth_error *err) {
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  o.endpoint = "http://127.0.0.1:9";
  o.metadata_host = "127.0.0.1:9";
  o.metadata_ip = "127.0.0.1:9";
  co.options = &o;
  return gauth_credentials_from_json(c, (const char *)data, size, &co, err);
}

static void again(const uint8_t *data, size_t size, gauth_error *err) {
  gauth_credentials *c = NULL;
  if (from_json(data, size, &c, err) == GAUTH_OK) gauth_credentials_free(c);
}

/* 1 when msg holds s (a secret's value) because the input does: with the
 * value's letters and digits shifted where it is in the input, the new
 * message holds the shifted value more often. A message's own words that
 * happen to hold the value (a fuzzer copies the library's strings, such as
 * the list of known types, into its inputs) do not follow. A value that
 * cannot be found as written (escaped) counts as shown. */
static int follows(const uint8_t *data, size_t size, const char *msg,
                   const char *s) {
  size_t n = strlen(s);
  long at = fuzz_value_at(data, size, (const unsigned char *)s, n);
  return at < 0 || fuzz_follows_input(data, size, (size_t)at, n, msg, again);
}

/* 1 when msg holds the value of a secret member anywhere in item, a value
 * no other member holds, and holds it because of the input (follows). */
static int shows_secret(const uint8_t *data, size_t size, const cJSON *root,
                        const cJSON *item, const char *msg) {
  const cJSON *child;
  for (child = item ? item->child : NULL; child; child = child->next) {
    if (cJSON_IsString(child) && child->string != NULL &&
        strlen(child->valuestring) >= 8) {
      if (is_secret_name(child->string) &&
          strstr(msg, child->valuestring) != NULL &&
          !in_a_non_secret(root, child->valuestring) &&
          follows(data, size, msg, child->valuestring))
        return 1;
    }
    if (shows_secret(data, size, root, child, msg)) return 1;
  }
  return 0;
}

/* 1 when msg shows 13 bytes of a secret member's value (16 bytes or more)
 * anywhere in item that no "type" member holds. */
static int shows_secret_run(const uint8_t *data, size_t size, const cJSON *root,
                            const cJSON *item, const char *const *secrets,
                            const char *msg) {
  const cJSON *c;
  for (c = item ? item->child : NULL; c; c = c->next) {
    if (cJSON_IsString(c) && fuzz_name_in(c->string, secrets) &&
        strlen(c->valuestring) >= FUZZ_SECRET_MIN &&
        !in_a_type(root, c->valuestring) &&
        fuzz_shows(data, size, msg, c->valuestring, strlen(c->valuestring),
                   again))
      return 1;
    if (shows_secret_run(data, size, root, c, secrets, msg)) return 1;
  }
  return 0;
}

static void check_file(const uint8_t *data, size_t size) {
  static const char *const secrets[] = {"private_key", "refresh_token",
                                        "client_secret", NULL};
  gauth_credentials *c = (gauth_credentials *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = from_json(data, size, &c, &err);
  if (st == GAUTH_OK) {
    gauth_credentials_type t = gauth_credentials_get_type(c);
    CHECK(c != NULL);
    CHECK(t >= GAUTH_CREDENTIALS_SERVICE_ACCOUNT &&
          t <= GAUTH_CREDENTIALS_METADATA);
    CHECK(gauth_credentials_origin(c) != NULL);
    gauth_credentials_free(c);
    return;
  }
  CHECK(c == NULL);
  CHECK(err.code == st);
  CHECK(err.message[0] != '\0');
  CHECK(st == GAUTH_E_MALFORMED || st == GAUTH_E_UNSUPPORTED ||
        st == GAUTH_E_TOO_LARGE || st == GAUTH_E_INVALID_ARG ||
        st == GAUTH_E_NOMEM || st == GAUTH_E_CRYPTO);
  CHECK(strstr(err.message, "-----BEGIN") == NULL);
  {
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    CHECK(!shows_secret(data, size, j, j, err.message));
    cJSON_Delete(j);
  }
  /* Nor 13 bytes of one (16 bytes or more), unless a "type" holds it: an
   * unknown type is named. */
  {
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    CHECK(!shows_secret_run(data, size, j, j, secrets, err.message));
    cJSON_Delete(j);
  }
}

static void check_time(const uint8_t *data, size_t size) {
  char buf[64];
  int64_t t1 = 0, t2 = 0;
  if (size >= sizeof buf) return;
  memcpy(buf, data, size);
  buf[size] = '\0';
  if (gauth__rfc3339_parse(buf, &t1, NULL) == GAUTH_OK) {
    CHECK(gauth__rfc3339_parse(buf, &t2, NULL) == GAUTH_OK && t1 == t2);
  } else {
    CHECK(t1 == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_file(data, size);
  check_time(data, size);
  return 0;
}
