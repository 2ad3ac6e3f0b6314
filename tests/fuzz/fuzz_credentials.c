/* libFuzzer target for what credentials read from files and servers: the
 * credentials file constructors (lib/cred_file.c and every source's
 * parser; no network: constructors make no request), OAuth token replies
 * (lib/cred_token_response.c) and RFC 3339 times.
 *
 * Beyond "no crash, no leak" it checks:
 *   - a refused file gives *out NULL, a known status and a message, and
 *     the message never shows PEM armour nor the value (8 bytes or more)
 *     of any "private_key", "refresh_token" or "client_secret" member of
 *     the input, at any depth;
 *   - an accepted file gives a credential of a known type with an origin;
 *   - a parsed token reply holds a non-empty printable token, and an
 *     access reply with expires_in gives now + expires_in;
 *   - a refused reply gives GAUTH_E_BAD_RESPONSE (or NOMEM / TOO_LARGE)
 *     and no token;
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

/* 1 when msg holds the value of a secret member anywhere in item. */
static int shows_secret(const cJSON *root, const cJSON *item, const char *msg) {
  static const char *const names[] = {"private_key", "refresh_token",
                                      "client_secret"};
  const cJSON *child;
  for (child = item ? item->child : NULL; child; child = child->next) {
    if (cJSON_IsString(child) && child->string != NULL &&
        strlen(child->valuestring) >= 8) {
      for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(child->string, names[i]) == 0 &&
            strstr(msg, child->valuestring) != NULL &&
            !in_a_type(root, child->valuestring))
          return 1;
    }
    if (shows_secret(root, child, msg)) return 1;
  }
  return 0;
}

static void check_file(const uint8_t *data, size_t size) {
  gauth_credentials *c = (gauth_credentials *)1;
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_options o = GAUTH_OPTIONS_INIT;
  gauth_credentials_options co = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_status st;
  o.endpoint = "http://127.0.0.1:9";
  o.metadata_host = "127.0.0.1:9";
  o.metadata_ip = "127.0.0.1:9";
  co.options = &o;
  st = gauth_credentials_from_json(&c, (const char *)data, size, &co, &err);
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
    CHECK(!shows_secret(j, j, err.message));
    cJSON_Delete(j);
  }
}

static int printable_token(const char *s) {
  if (s == NULL || *s == '\0') return 0;
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
  return 1;
}

static void check_reply(const uint8_t *data, size_t size,
                        gauth__token_kind kind) {
  gauth__token t = {(char *)"junk", 7};
  char *idt = (char *)"junk";
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_status st = gauth__token_response_parse(
      (const char *)data, size, kind, 1000, &t,
      kind == GAUTH__TOKEN_ACCESS ? &idt : NULL, &err);
  if (st == GAUTH_OK) {
    CHECK(printable_token(t.value));
    CHECK(t.expires_at == 0 ||
          t.expires_at > (kind == GAUTH__TOKEN_ID ? 0 : 1000));
    if (kind == GAUTH__TOKEN_ACCESS) {
      CHECK(idt == NULL || printable_token(idt));
      free(idt);
    }
    gauth__token_cleanup(&t);
    return;
  }
  CHECK(t.value == NULL);
  CHECK(st == GAUTH_E_BAD_RESPONSE || st == GAUTH_E_NOMEM ||
        st == GAUTH_E_TOO_LARGE);
  /* Messages name members, never the token's value. */
  {
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        j, kind == GAUTH__TOKEN_ID ? "id_token" : "access_token");
    CHECK(!(cJSON_IsString(v) && strlen(v->valuestring) >= 8 &&
            strstr(err.message, v->valuestring) != NULL));
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
  check_reply(data, size, GAUTH__TOKEN_ACCESS);
  check_reply(data, size, GAUTH__TOKEN_ID);
  check_time(data, size);
  return 0;
}
