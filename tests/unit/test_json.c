/* Unit tests for lib/json.c: strict parsing over cJSON and typed getters. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "constants.h"
#include "json.h"

#define CANARY "SECRETCANARY"

static cJSON *parse_ok(const char *text) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  gauth_status st = gauth__json_parse(text, strlen(text), NULL, &root, &err);
  cr_assert_eq(st, GAUTH_OK, "rejected \"%s\": %s", text, err.message);
  cr_assert_not_null(root);
  return root;
}

static cJSON *parse_obj_ok(const char *text) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  gauth_status st =
      gauth__json_parse_object(text, strlen(text), NULL, &root, &err);
  cr_assert_eq(st, GAUTH_OK, "rejected \"%s\": %s", text, err.message);
  cr_assert_not_null(root);
  return root;
}

/* Parsing len bytes of text must fail with code; the message must contain
 * want (when not NULL) and never CANARY. */
static void reject_n(const char *text, size_t len,
                     const gauth__json_limits *limits, gauth_status code,
                     const char *want) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = (cJSON *)&err; /* must be reset to NULL */
  gauth_status st = gauth__json_parse(text, len, limits, &root, &err);
  cr_assert_eq(st, code, "status %s for \"%.*s\" (%s)", gauth_status_name(st),
               (int)len, text, err.message);
  cr_assert_eq(err.code, code);
  cr_assert_null(root);
  if (want != NULL)
    cr_assert(strstr(err.message, want) != NULL, "message \"%s\" lacks \"%s\"",
              err.message, want);
  cr_assert(strstr(err.message, CANARY) == NULL, "message echoes input: %s",
            err.message);
}

static void reject(const char *text, gauth_status code, const char *want) {
  reject_n(text, strlen(text), NULL, code, want);
}

/* ---- well-formed input --------------------------------------------------- */

Test(json, parses_values_of_every_kind) {
  cJSON *root = parse_ok(
      "{\"s\":\"x\",\"n\":1.5,\"t\":true,\"f\":false,\"z\":null,"
      "\"a\":[1,2],\"o\":{}}");
  cr_assert(cJSON_IsObject(root));
  cr_assert_eq(cJSON_GetArraySize(root), 7);
  cJSON_Delete(root);
  root = parse_ok("[]");
  cr_assert(cJSON_IsArray(root));
  cJSON_Delete(root);
  root = parse_ok("42");
  cr_assert(cJSON_IsNumber(root));
  cJSON_Delete(root);
  root = parse_ok("\"str\"");
  cr_assert_str_eq(root->valuestring, "str");
  cJSON_Delete(root);
  root = parse_ok(" \t\r\n null \t\r\n ");
  cr_assert(cJSON_IsNull(root));
  cJSON_Delete(root);
}

Test(json, input_need_not_be_nul_terminated) {
  static const char text[] = {'{', '"', 'a', '"', ':', '1', '}', 'x'};
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  cr_assert_eq(gauth__json_parse(text, 7, NULL, &root, &err), GAUTH_OK, "%s",
               err.message);
  cJSON_Delete(root);
  /* The same bytes with the 'x' counted are trailing garbage. */
  reject_n(text, 8, NULL, GAUTH_E_MALFORMED, "offset 7");
}

Test(json, utf8_and_escapes_are_decoded) {
  cJSON *root = parse_ok(
      "{\"e\":\"\xe2\x82\xac\",\"g\":\"\xf0\x9f\x98\x80\","
      "\"u\":\"\\u20ac\\ud83d\\ude00\","
      "\"b\":\"\\\\u0000\"}");
  cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "e")->valuestring,
                   "\xe2\x82\xac");
  cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "u")->valuestring,
                   "\xe2\x82\xac\xf0\x9f\x98\x80");
  /* An escaped backslash followed by "u0000" is six ordinary characters. */
  cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "b")->valuestring,
                   "\\u0000");
  cJSON_Delete(root);
}

/* ---- size limit ---------------------------------------------------------- */

Test(json, size_limit_exact_and_one_over) {
  const char *text = "{\"a\":[1,2,3]}"; /* 13 bytes */
  gauth__json_limits lim = {13, 0};
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  cr_assert_eq(gauth__json_parse(text, 13, &lim, &root, &err), GAUTH_OK, "%s",
               err.message);
  cJSON_Delete(root);
  lim.max_bytes = 12;
  reject_n(text, 13, &lim, GAUTH_E_TOO_LARGE, "limit of 12 bytes");
}

Test(json, default_size_limit) {
  size_t n = GAUTH__JSON_DEFAULT_MAX_BYTES + 1;
  char *big = malloc(n);
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  cr_assert_not_null(big);
  /* A string value filling the buffer exactly to the limit. */
  memset(big, 'x', n);
  big[0] = '"';
  big[n - 2] = '"';
  cr_assert_eq(gauth__json_parse(big, n - 1, NULL, &root, &err), GAUTH_OK, "%s",
               err.message);
  cJSON_Delete(root);
  big[n - 2] = 'x';
  big[n - 1] = '"';
  reject_n(big, n, NULL, GAUTH_E_TOO_LARGE, "over the limit");
  free(big);
}

/* The size check comes before anything reads the text. */
Test(json, size_limit_checked_before_reading) {
  static const char tiny[2] = "{";
  gauth__json_limits lim = {100, 0};
  reject_n(tiny, SIZE_MAX, &lim, GAUTH_E_TOO_LARGE, "limit of 100 bytes");
}

/* ---- depth limit --------------------------------------------------------- */

/* n nested arrays (or objects) around a 1. */
static char *nested(unsigned int n, int objects) {
  size_t per = objects ? 5 : 1; /* {"a": or [ */
  char *s = malloc(n * (per + 1) + 2);
  size_t pos = 0;
  unsigned int i;
  cr_assert_not_null(s);
  for (i = 0; i < n; i++) {
    memcpy(s + pos, objects ? "{\"a\":" : "[", per);
    pos += per;
  }
  s[pos++] = '1';
  for (i = 0; i < n; i++) s[pos++] = objects ? '}' : ']';
  s[pos] = '\0';
  return s;
}

static void depth_case(unsigned int n, int objects, unsigned int max_depth,
                       gauth_status want) {
  gauth__json_limits lim = {0, max_depth};
  char *text = nested(n, objects);
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  gauth_status st = gauth__json_parse(text, strlen(text), &lim, &root, &err);
  cr_assert_eq(st, want, "depth %u (%s), limit %u: %s", n,
               objects ? "objects" : "arrays", max_depth, err.message);
  if (want == GAUTH_E_TOO_LARGE)
    cr_assert(strstr(err.message, "nesting") != NULL, "%s", err.message);
  cJSON_Delete(root);
  free(text);
}

Test(json, depth_limit_arrays) {
  depth_case(4, 0, 4, GAUTH_OK);
  depth_case(5, 0, 4, GAUTH_E_TOO_LARGE);
  depth_case(1, 0, 1, GAUTH_OK);
  depth_case(2, 0, 1, GAUTH_E_TOO_LARGE);
}

Test(json, depth_limit_objects) {
  depth_case(4, 1, 4, GAUTH_OK);
  depth_case(5, 1, 4, GAUTH_E_TOO_LARGE);
  depth_case(1, 1, 1, GAUTH_OK);
  depth_case(2, 1, 1, GAUTH_E_TOO_LARGE);
}

Test(json, depth_limit_default) {
  depth_case(GAUTH__JSON_DEFAULT_MAX_DEPTH, 0, 0, GAUTH_OK);
  depth_case(GAUTH__JSON_DEFAULT_MAX_DEPTH + 1, 0, 0, GAUTH_E_TOO_LARGE);
  depth_case(GAUTH__JSON_DEFAULT_MAX_DEPTH, 1, 0, GAUTH_OK);
  depth_case(GAUTH__JSON_DEFAULT_MAX_DEPTH + 1, 1, 0, GAUTH_E_TOO_LARGE);
}

Test(json, depth_counts_containers_not_scalars) {
  gauth__json_limits lim = {0, 2};
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  const char *ok = "{\"a\":[1,\"x\",true,null],\"b\":{\"c\":2},\"d\":[]}";
  const char *deep = "{\"a\":[1],\"b\":{\"c\":[2]}}";
  cr_assert_eq(gauth__json_parse(ok, strlen(ok), &lim, &root, &err), GAUTH_OK,
               "%s", err.message);
  cJSON_Delete(root);
  /* The deepest branch counts, wherever it is. */
  reject_n(deep, strlen(deep), &lim, GAUTH_E_TOO_LARGE, "2 levels");
}

Test(json, very_deep_input_is_refused) {
  /* Deeper than cJSON's own limit (1000): refused one way or the other. */
  gauth__json_limits lim = {0, 5000};
  char *text = nested(1500, 0);
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  cr_assert_neq(gauth__json_parse(text, strlen(text), &lim, &root, &err),
                GAUTH_OK);
  cr_assert_null(root);
  free(text);
  depth_case(1500, 0, 0, GAUTH_E_MALFORMED); /* cJSON stops first */
  depth_case(999, 0, 0, GAUTH_E_TOO_LARGE);
}

/* ---- duplicate member names ---------------------------------------------- */

Test(json, duplicate_names_top_level) {
  reject("{\"a\":1,\"a\":2}", GAUTH_E_MALFORMED, "duplicate");
  reject("{\"a\":1,\"b\":2,\"a\":1}", GAUTH_E_MALFORMED, "duplicate");
  reject("{\"\":1,\"\":2}", GAUTH_E_MALFORMED, "duplicate");
}

Test(json, duplicate_names_nested) {
  reject("{\"x\":{\"b\":1,\"b\":2}}", GAUTH_E_MALFORMED, "depth 2");
  reject("[{\"a\":1},{\"a\":1,\"a\":1}]", GAUTH_E_MALFORMED, "depth 2");
  reject("{\"x\":[[{\"k\":{\"z\":0,\"z\":0}}]]}", GAUTH_E_MALFORMED, "depth 5");
}

Test(json, duplicate_names_via_escapes) {
  reject("{\"a\":1,\"\\u0061\":2}", GAUTH_E_MALFORMED, "duplicate");
  reject("{\"\\u00e9\":1,\"\xc3\xa9\":2}", GAUTH_E_MALFORMED, "duplicate");
  reject("{\"a/b\":1,\"a\\/b\":2}", GAUTH_E_MALFORMED, "duplicate");
}

Test(json, duplicates_in_large_objects) {
  /* More members than the on-stack fast path holds. */
  char text[4096];
  size_t pos = 0;
  int i;
  cJSON *root;
  text[pos++] = '{';
  for (i = 0; i < 200; i++)
    pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "%s\"m%d\":%d",
                            i ? "," : "", i, i);
  text[pos++] = '}';
  text[pos] = '\0';
  root = parse_ok(text);
  cr_assert_eq(cJSON_GetArraySize(root), 200);
  cJSON_Delete(root);
  /* The same with the first name repeated at the end. */
  snprintf(text + pos - 1, sizeof(text) - pos + 1, ",\"m0\":0}");
  reject(text, GAUTH_E_MALFORMED, "duplicate");
}

/* Objects of up to 16 members are checked pair by pair, larger ones by
 * sorting: a duplicate at either end of either, at the boundary. */
Test(json, duplicates_at_the_pairwise_boundary) {
  for (int n = 2; n <= 18; n++) {
    for (int where = 0; where < 3; where++) {
      char text[512];
      size_t pos = 0;
      cJSON *root;
      text[pos++] = '{';
      for (int i = 0; i < n; i++)
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "%s\"m%d\":%d",
                                i ? "," : "", i, i);
      text[pos++] = '}';
      text[pos] = '\0';
      root = parse_ok(text);
      cr_assert_eq(cJSON_GetArraySize(root), n);
      cJSON_Delete(root);
      /* Rename one member to another's name: first to last, last to
       * first, or a middle one to its neighbour. */
      {
        char dup[512];
        int from = where == 0 ? 0 : where == 1 ? n - 1 : n / 2;
        int to = where == 0 ? n - 1 : where == 1 ? 0 : n / 2 - 1 + (n == 2);
        char name[16], with[16];
        char *at;
        if (from == to) continue;
        snprintf(name, sizeof name, "\"m%d\":", from);
        snprintf(with, sizeof with, "\"m%d\":", to);
        at = strstr(text, name);
        cr_assert_not_null(at);
        snprintf(dup, sizeof dup, "%.*s%s%s", (int)(at - text), text, with,
                 at + strlen(name));
        reject(dup, GAUTH_E_MALFORMED, "duplicate");
      }
    }
  }
}

Test(json, similar_names_are_not_duplicates) {
  cJSON *root = parse_ok(
      "{\"exp\":1,\"Exp\":2,\"EXP\":3,\"ex\":4,\"expx\":5,"
      "\"\":6,\" exp\":7}");
  cr_assert_eq(cJSON_GetArraySize(root), 7);
  cJSON_Delete(root);
  /* Same names in different objects are fine. */
  root = parse_ok("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}");
  cJSON_Delete(root);
}

/* The in-place variant for NUL-terminated text (decoded token segments)
 * applies every rule of the copying one, and refuses text whose byte at
 * len is not NUL. */
Test(json, parse_object_nul_in_place) {
  static const char ok[] = "{\"alg\":\"RS256\",\"kid\":\"k1\"}";
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  cr_assert_eq(gauth__json_parse_object_nul(ok, strlen(ok), NULL, &root, &err),
               GAUTH_OK, "%s", err.message);
  cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "kid")->valuestring,
                   "k1");
  cJSON_Delete(root);
  root = (cJSON *)&err;
  cr_assert_eq(gauth__json_parse_object_nul(ok, 5, NULL, &root, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(root);
  {
    static const char *const bad[] = {
        "{\"a\":1,\"a\":2}", "{\"a\":\"x\\u0000\"}",
        "{\"a\":1} x",       "[1]",
        "{\"a\":\"\x01\"}",  "{\"a\":\"\xc3\"}",
        "\xef\xbb\xbf{}",    "{\"a\":}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      root = (cJSON *)&err;
      cr_assert_eq(gauth__json_parse_object_nul(bad[i], strlen(bad[i]), NULL,
                                                &root, &err),
                   GAUTH_E_MALFORMED, "accepted case %zu", i);
      cr_assert_null(root);
    }
  }
}

/* Printable ASCII without a backslash takes the pre-scan's quick path,
 * eight bytes at a time: a byte that needs the full look, at any place of
 * such text (each offset within a word, and the tail), still gets it. */
Test(json, quick_path_misses_no_byte) {
  static const unsigned char bad[] = {0x00, 0x01, 0x1f, 0x80, 0xc3, 0xff};
  char text[64];
  size_t n;
  cJSON *root;
  /* {"s":"xxxx...x"} of 40 bytes, all plain: accepted. */
  n = (size_t)snprintf(text, sizeof text, "{\"s\":\"%s\"}",
                       "abcdefghijklmnopqrstuvwxyz0123456789");
  root = parse_ok(text);
  cJSON_Delete(root);
  for (size_t at = 6; at < n - 2; at++) {
    for (size_t k = 0; k < sizeof bad; k++) {
      char t[64];
      memcpy(t, text, n + 1);
      t[at] = (char)bad[k];
      reject_n(t, n, NULL, GAUTH_E_MALFORMED, NULL);
    }
    {
      /* An escaped NUL starting there (when it fits). */
      char t[64];
      if (at + 6 > n - 2) continue;
      memcpy(t, text, n + 1);
      memcpy(t + at, "\\u0000", 6);
      reject_n(t, n, NULL, GAUTH_E_MALFORMED, "escaped NUL");
    }
  }
}

/* ---- other rejections ---------------------------------------------------- */

Test(json, trailing_garbage) {
  reject("{} x", GAUTH_E_MALFORMED, "offset 3");
  reject("{}{}", GAUTH_E_MALFORMED, "offset 2");
  reject("[1]]", GAUTH_E_MALFORMED, "offset 3");
  reject("1 2", GAUTH_E_MALFORMED, "offset 2");
  reject("{\"a\":1}\n,", GAUTH_E_MALFORMED, "after the value");
}

Test(json, trailing_whitespace_is_fine) {
  cJSON_Delete(parse_ok("{} \t\r\n"));
  cJSON_Delete(parse_ok("\n\n[1]\n"));
}

Test(json, nul_inside_input) {
  reject_n("{\"a\":\0}", 7, NULL, GAUTH_E_MALFORMED, "NUL byte at offset 5");
  reject_n("{\"a\":\"x\0y\"}", 11, NULL, GAUTH_E_MALFORMED, "offset 7");
  reject_n("{}\0", 3, NULL, GAUTH_E_MALFORMED, "NUL byte at offset 2");
  reject_n("\0", 1, NULL, GAUTH_E_MALFORMED, "offset 0");
}

Test(json, escaped_nul_is_refused) {
  /* cJSON would decode this to "a" and drop the rest of the string. */
  reject("{\"aud\":\"a\\u0000b\"}", GAUTH_E_MALFORMED, "offset 9");
  reject("{\"a\\u0000\":1}", GAUTH_E_MALFORMED, "\\u0000");
  reject("[\"\\\\\\u0000\"]", GAUTH_E_MALFORMED, "offset 4");
}

Test(json, raw_control_characters) {
  reject("{\"a\":\"x\x01y\"}", GAUTH_E_MALFORMED,
         "control character in a string at offset 7");
  reject("\x0c{}", GAUTH_E_MALFORMED, "offset 0");
  reject("{\"a\":\x0b 1}", GAUTH_E_MALFORMED, "offset 5");
  reject("[\"\x1f\"]", GAUTH_E_MALFORMED, "offset 2");
  /* Tab, CR and LF separate tokens, but never appear raw in a string. */
  reject("[\"a\tb\"]", GAUTH_E_MALFORMED, "in a string at offset 3");
  reject("{\"a\nb\":1}", GAUTH_E_MALFORMED, "in a string at offset 3");
  reject("[\"\\\"\r\"]", GAUTH_E_MALFORMED, "in a string at offset 4");
  cJSON_Delete(parse_ok("{\n\t\"a\"\r\n:\t[\"\\t\\n\\r\\\"\"]\r\n}"));
}

Test(json, invalid_utf8) {
  reject("\"\xff\"", GAUTH_E_MALFORMED, "invalid UTF-8 at offset 1");
  reject("\"\xc0\xaf\"", GAUTH_E_MALFORMED, "UTF-8");          /* overlong */
  reject("\"\xe0\x80\xaf\"", GAUTH_E_MALFORMED, "UTF-8");      /* overlong */
  reject("\"\xed\xa0\x80\"", GAUTH_E_MALFORMED, "UTF-8");      /* surrogate */
  reject("\"\xf4\x90\x80\x80\"", GAUTH_E_MALFORMED, "UTF-8");  /* > 10FFFF */
  reject("\"\xe2\x82\"", GAUTH_E_MALFORMED, "offset 1");       /* truncated */
  reject("\"ab\x80\"", GAUTH_E_MALFORMED, "offset 3");         /* stray */
  reject_n("\"\xe2\x82", 3, NULL, GAUTH_E_MALFORMED, "UTF-8"); /* cut at end */
}

Test(json, leading_byte_order_mark) {
  reject("\xef\xbb\xbf{}", GAUTH_E_MALFORMED, "byte order mark");
  reject("\xef\xbb\xbf{\"a\":1}", GAUTH_E_MALFORMED, "offset 0");
}

Test(json, empty_input) {
  reject("", GAUTH_E_MALFORMED, "empty");
  reject_n(NULL, 0, NULL, GAUTH_E_MALFORMED, "empty");
  reject(" \n\t ", GAUTH_E_MALFORMED, "syntax error");
}

Test(json, syntax_errors_give_offsets) {
  reject("{\"a\":1,}", GAUTH_E_MALFORMED, "syntax error at offset 7");
  reject("[1,]", GAUTH_E_MALFORMED, "syntax error at offset 3");
  reject("{\"a\" 1}", GAUTH_E_MALFORMED, "syntax error at offset");
  reject("tru", GAUTH_E_MALFORMED, "syntax error");
  reject("[1,2", GAUTH_E_MALFORMED, "syntax error");
  reject("{'a':1}", GAUTH_E_MALFORMED, "syntax error");
  reject("\"\\ud800\"", GAUTH_E_MALFORMED, "syntax error"); /* lone half */
  reject("\"\\x41\"", GAUTH_E_MALFORMED, "syntax error");
  reject("NaN", GAUTH_E_MALFORMED, "syntax error");
}

Test(json, null_arguments) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = NULL;
  cr_assert_eq(gauth__json_parse("{}", 2, NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(err.code, GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_parse(NULL, 2, NULL, &root, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_parse_object("{}", 2, NULL, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_parse_object(NULL, 2, NULL, &root, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_null(root);
  /* err may be NULL. */
  cr_assert_eq(gauth__json_parse("{", 1, NULL, &root, NULL), GAUTH_E_MALFORMED);
  cr_assert_eq(gauth__json_parse("{}", 2, NULL, &root, NULL), GAUTH_OK);
  cJSON_Delete(root);
}

Test(json, parse_object_requires_an_object) {
  gauth_error err = GAUTH_ERROR_INIT;
  cJSON *root = (cJSON *)&err;
  static const struct {
    const char *text, *type;
  } cases[] = {{"[]", "an array"},
               {"1", "a number"},
               {"\"s\"", "a string"},
               {"null", "null"},
               {"true", "a boolean"}};
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(cases); i++) {
    gauth_status st = gauth__json_parse_object(
        cases[i].text, strlen(cases[i].text), NULL, &root, &err);
    cr_assert_eq(st, GAUTH_E_MALFORMED, "%s", cases[i].text);
    cr_assert_null(root);
    cr_assert(strstr(err.message, "expected an object") != NULL, "%s",
              err.message);
    cr_assert(strstr(err.message, cases[i].type) != NULL, "%s", err.message);
  }
  cJSON_Delete(parse_obj_ok("{}"));
  /* Errors of the parse itself come through unchanged. */
  cr_assert_eq(
      gauth__json_parse_object("{\"a\":1,\"a\":1}", 13, NULL, &root, &err),
      GAUTH_E_MALFORMED);
  cr_assert(strstr(err.message, "duplicate") != NULL);
}

Test(json, messages_never_echo_input) {
  reject("{\"" CANARY "\":1,\"" CANARY "\":2}", GAUTH_E_MALFORMED, "duplicate");
  reject("\"" CANARY, GAUTH_E_MALFORMED, "syntax error");
  reject("{\"k\":\"" CANARY "\"} " CANARY, GAUTH_E_MALFORMED, "offset 21");
  reject("{\"k\":\"" CANARY "\x01\"}", GAUTH_E_MALFORMED, "offset 18");
  reject("{\"k\":\"" CANARY "\\u0000\"}", GAUTH_E_MALFORMED, "offset 18");
  reject("{\"k\":\"" CANARY "\xff\"}", GAUTH_E_MALFORMED, "offset 18");
  reject("[" CANARY "]", GAUTH_E_MALFORMED, "offset 1");
  reject_n("{\"" CANARY "\":1}", 18, &(gauth__json_limits){10, 0},
           GAUTH_E_TOO_LARGE, "18 bytes");
  reject_n("[[[\"" CANARY "\"]]]", 20, &(gauth__json_limits){0, 2},
           GAUTH_E_TOO_LARGE, "nesting");
}

/* ---- typed getters ------------------------------------------------------- */

static const char *getter_doc =
    "{\"str\":\"" CANARY
    "\",\"num\":42,\"neg\":-7,\"t\":true,\"f\":false,"
    "\"nil\":null,\"arr\":[1],\"obj\":{\"x\":1},\"flt\":1.5,"
    "\"Exp\":1,\"exp\":2}";

/* The getter failed with MALFORMED, its message is want, and it names the
 * field but does not contain the document's values. */
static void check_msg(gauth_status st, const gauth_error *err,
                      const char *want) {
  cr_assert_eq(st, GAUTH_E_MALFORMED, "status %s", gauth_status_name(st));
  cr_assert_eq(err->code, GAUTH_E_MALFORMED);
  cr_assert_str_eq(err->message, want);
  cr_assert(strstr(err->message, CANARY) == NULL);
}

Test(json, get_string) {
  cJSON *root = parse_obj_ok(getter_doc);
  gauth_error err = GAUTH_ERROR_INIT;
  const char *s = NULL;

  cr_assert_eq(gauth__json_get_string(root, "str", &s, &err), GAUTH_OK);
  cr_assert_str_eq(s, CANARY);
  check_msg(gauth__json_get_string(root, "missing", &s, &err), &err,
            "missing field \"missing\"");
  cr_assert_null(s);
  check_msg(gauth__json_get_string(root, "num", &s, &err), &err,
            "field \"num\" is a number, expected a string");
  check_msg(gauth__json_get_string(root, "nil", &s, &err), &err,
            "field \"nil\" is null, expected a string");
  check_msg(gauth__json_get_string(root, "arr", &s, &err), &err,
            "field \"arr\" is an array, expected a string");
  check_msg(gauth__json_get_string(root, "obj", &s, &err), &err,
            "field \"obj\" is an object, expected a string");
  check_msg(gauth__json_get_string(root, "t", &s, &err), &err,
            "field \"t\" is a boolean, expected a string");
  cJSON_Delete(root);
}

Test(json, get_int64) {
  cJSON *root = parse_obj_ok(getter_doc);
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t v = 99;

  cr_assert_eq(gauth__json_get_int64(root, "num", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 42);
  cr_assert_eq(gauth__json_get_int64(root, "neg", &v, &err), GAUTH_OK);
  cr_assert_eq(v, -7);
  check_msg(gauth__json_get_int64(root, "missing", &v, &err), &err,
            "missing field \"missing\"");
  check_msg(gauth__json_get_int64(root, "str", &v, &err), &err,
            "field \"str\" is a string, expected a number");
  check_msg(gauth__json_get_int64(root, "nil", &v, &err), &err,
            "field \"nil\" is null, expected a number");
  check_msg(gauth__json_get_int64(root, "t", &v, &err), &err,
            "field \"t\" is a boolean, expected a number");
  check_msg(gauth__json_get_int64(root, "flt", &v, &err), &err,
            "field \"flt\" is not an integer");
  cJSON_Delete(root);
}

static gauth_status int64_of(const char *number, int64_t *v, gauth_error *err) {
  char text[128];
  cJSON *root;
  gauth_status st;
  snprintf(text, sizeof(text), "{\"exp\":%s}", number);
  root = parse_obj_ok(text);
  st = gauth__json_get_int64(root, "exp", v, err);
  cJSON_Delete(root);
  return st;
}

Test(json, int64_boundaries) {
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t v = 0;

  cr_assert_eq(int64_of("9007199254740992", &v, &err), GAUTH_OK);
  cr_assert_eq(v, INT64_C(9007199254740992));
  cr_assert_eq(int64_of("-9007199254740992", &v, &err), GAUTH_OK);
  cr_assert_eq(v, -INT64_C(9007199254740992));
  cr_assert_eq(int64_of("9007199254740991", &v, &err), GAUTH_OK);
  cr_assert_eq(v, INT64_C(9007199254740991));
  cr_assert_eq(int64_of("-0", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 0);
  cr_assert_eq(int64_of("0", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 0);
  cr_assert_eq(int64_of("1e3", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 1000);
  cr_assert_eq(int64_of("2.0", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 2);
  cr_assert_eq(int64_of("1700000000", &v, &err), GAUTH_OK);
  cr_assert_eq(v, INT64_C(1700000000));

  check_msg(int64_of("9007199254740994", &v, &err), &err,
            "field \"exp\" is out of range (integers from -2^53 to 2^53 "
            "only)");
  check_msg(int64_of("-9007199254740994", &v, &err), &err,
            "field \"exp\" is out of range (integers from -2^53 to 2^53 "
            "only)");
  check_msg(int64_of("1e300", &v, &err), &err,
            "field \"exp\" is out of range (integers from -2^53 to 2^53 "
            "only)");
  check_msg(int64_of("-1e300", &v, &err), &err,
            "field \"exp\" is out of range (integers from -2^53 to 2^53 "
            "only)");
  /* Overflows a double: cJSON stores infinity. */
  check_msg(int64_of("1e400", &v, &err), &err,
            "field \"exp\" is out of range (integers from -2^53 to 2^53 "
            "only)");
  check_msg(int64_of("9223372036854775807", &v, &err), &err,
            "field \"exp\" is out of range (integers from -2^53 to 2^53 "
            "only)");
  check_msg(int64_of("1.5", &v, &err), &err, "field \"exp\" is not an integer");
  check_msg(int64_of("-0.5", &v, &err), &err,
            "field \"exp\" is not an integer");
  check_msg(int64_of("1e-7", &v, &err), &err,
            "field \"exp\" is not an integer");
  cr_assert_eq(v, 0, "*out is 0 on error");
}

Test(json, get_bool) {
  cJSON *root = parse_obj_ok(getter_doc);
  gauth_error err = GAUTH_ERROR_INIT;
  int b = 7;

  cr_assert_eq(gauth__json_get_bool(root, "t", &b, &err), GAUTH_OK);
  cr_assert_eq(b, 1);
  cr_assert_eq(gauth__json_get_bool(root, "f", &b, &err), GAUTH_OK);
  cr_assert_eq(b, 0);
  check_msg(gauth__json_get_bool(root, "missing", &b, &err), &err,
            "missing field \"missing\"");
  check_msg(gauth__json_get_bool(root, "num", &b, &err), &err,
            "field \"num\" is a number, expected a boolean");
  check_msg(gauth__json_get_bool(root, "nil", &b, &err), &err,
            "field \"nil\" is null, expected a boolean");
  check_msg(gauth__json_get_bool(root, "str", &b, &err), &err,
            "field \"str\" is a string, expected a boolean");
  cJSON_Delete(root);
}

Test(json, get_object_and_array) {
  cJSON *root = parse_obj_ok(getter_doc);
  gauth_error err = GAUTH_ERROR_INIT;
  const cJSON *item = NULL;

  cr_assert_eq(gauth__json_get_object(root, "obj", &item, &err), GAUTH_OK);
  cr_assert(cJSON_IsObject(item));
  cr_assert_eq(gauth__json_get_array(root, "arr", &item, &err), GAUTH_OK);
  cr_assert(cJSON_IsArray(item));
  cr_assert_eq(cJSON_GetArraySize(item), 1);
  check_msg(gauth__json_get_object(root, "missing", &item, &err), &err,
            "missing field \"missing\"");
  cr_assert_null(item);
  check_msg(gauth__json_get_object(root, "arr", &item, &err), &err,
            "field \"arr\" is an array, expected an object");
  check_msg(gauth__json_get_object(root, "nil", &item, &err), &err,
            "field \"nil\" is null, expected an object");
  check_msg(gauth__json_get_array(root, "missing", &item, &err), &err,
            "missing field \"missing\"");
  check_msg(gauth__json_get_array(root, "obj", &item, &err), &err,
            "field \"obj\" is an object, expected an array");
  check_msg(gauth__json_get_array(root, "nil", &item, &err), &err,
            "field \"nil\" is null, expected an array");
  check_msg(gauth__json_get_array(root, "str", &item, &err), &err,
            "field \"str\" is a string, expected an array");
  cJSON_Delete(root);
}

Test(json, optional_getters) {
  cJSON *root = parse_obj_ok(getter_doc);
  gauth_error err = GAUTH_ERROR_INIT;
  const char *s = "x";
  int64_t v = 5;
  int b = 5, present = 5;

  /* Absent. */
  cr_assert_eq(gauth__json_opt_string(root, "missing", &s, &err), GAUTH_OK);
  cr_assert_null(s);
  cr_assert_eq(gauth__json_opt_int64(root, "missing", &v, &present, &err),
               GAUTH_OK);
  cr_assert_eq(present, 0);
  cr_assert_eq(v, 0);
  b = 5;
  present = 5;
  cr_assert_eq(gauth__json_opt_bool(root, "missing", &b, &present, &err),
               GAUTH_OK);
  cr_assert_eq(present, 0);
  cr_assert_eq(b, 0);

  /* JSON null counts as absent. */
  s = "x";
  cr_assert_eq(gauth__json_opt_string(root, "nil", &s, &err), GAUTH_OK);
  cr_assert_null(s);
  present = 5;
  cr_assert_eq(gauth__json_opt_int64(root, "nil", &v, &present, &err),
               GAUTH_OK);
  cr_assert_eq(present, 0);
  present = 5;
  cr_assert_eq(gauth__json_opt_bool(root, "nil", &b, &present, &err), GAUTH_OK);
  cr_assert_eq(present, 0);

  /* Present. */
  cr_assert_eq(gauth__json_opt_string(root, "str", &s, &err), GAUTH_OK);
  cr_assert_str_eq(s, CANARY);
  cr_assert_eq(gauth__json_opt_int64(root, "num", &v, &present, &err),
               GAUTH_OK);
  cr_assert_eq(present, 1);
  cr_assert_eq(v, 42);
  cr_assert_eq(gauth__json_opt_bool(root, "t", &b, &present, &err), GAUTH_OK);
  cr_assert_eq(present, 1);
  cr_assert_eq(b, 1);
  cr_assert_eq(gauth__json_opt_bool(root, "f", &b, &present, &err), GAUTH_OK);
  cr_assert_eq(present, 1);
  cr_assert_eq(b, 0);

  /* Present with the wrong type. */
  check_msg(gauth__json_opt_string(root, "num", &s, &err), &err,
            "field \"num\" is a number, expected a string");
  check_msg(gauth__json_opt_int64(root, "str", &v, &present, &err), &err,
            "field \"str\" is a string, expected a number");
  cr_assert_eq(present, 0);
  check_msg(gauth__json_opt_int64(root, "flt", &v, &present, &err), &err,
            "field \"flt\" is not an integer");
  cr_assert_eq(present, 0);
  check_msg(gauth__json_opt_bool(root, "arr", &b, &present, &err), &err,
            "field \"arr\" is an array, expected a boolean");
  cr_assert_eq(present, 0);
  cJSON_Delete(root);
}

Test(json, lookups_are_case_sensitive) {
  cJSON *root = parse_obj_ok("{\"Exp\":1}");
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t v = 0;
  int present = 1;
  check_msg(gauth__json_get_int64(root, "exp", &v, &err), &err,
            "missing field \"exp\"");
  cr_assert_eq(gauth__json_opt_int64(root, "exp", &v, &present, &err),
               GAUTH_OK);
  cr_assert_eq(present, 0);
  cr_assert_eq(gauth__json_get_int64(root, "Exp", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 1);
  cJSON_Delete(root);

  root = parse_obj_ok(getter_doc);
  cr_assert_eq(gauth__json_get_int64(root, "exp", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 2);
  cr_assert_eq(gauth__json_get_int64(root, "Exp", &v, &err), GAUTH_OK);
  cr_assert_eq(v, 1);
  check_msg(gauth__json_get_int64(root, "EXP", &v, &err), &err,
            "missing field \"EXP\"");
  cJSON_Delete(root);
}

Test(json, getters_on_non_objects) {
  cJSON *root = parse_ok("[{\"a\":1}]");
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t v;
  const char *s;
  /* An array's elements have no names: nothing to find, and an error. */
  check_msg(gauth__json_get_int64(root, "a", &v, &err), &err,
            "cannot read field \"a\": the value holding it is an array, not "
            "an object");
  check_msg(gauth__json_opt_string(root, "a", &s, &err), &err,
            "cannot read field \"a\": the value holding it is an array, not "
            "an object");
  cJSON_Delete(root);
}

Test(json, getter_null_arguments) {
  cJSON *root = parse_obj_ok("{\"a\":1}");
  gauth_error err = GAUTH_ERROR_INIT;
  int64_t v;
  int b, present;
  const char *s;
  const cJSON *item;
  cr_assert_eq(gauth__json_get_string(NULL, "a", &s, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_get_string(root, NULL, &s, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_get_string(root, "a", NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_get_int64(root, "a", NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_get_bool(root, "a", NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_get_object(NULL, "a", &item, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_get_array(root, "a", NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_opt_string(root, "a", NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_opt_int64(root, "a", &v, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_opt_int64(root, "a", NULL, &present, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(gauth__json_opt_bool(root, "a", &b, NULL, &err),
               GAUTH_E_INVALID_ARG);
  cr_assert_eq(err.code, GAUTH_E_INVALID_ARG);
  /* err may be NULL. */
  cr_assert_eq(gauth__json_get_string(root, "a", &s, NULL), GAUTH_E_MALFORMED);
  cJSON_Delete(root);
}

Test(json, type_names) {
  cJSON *root = parse_ok("[\"s\",1,true,false,null,[],{}]");
  static const char *const want[] = {"a string",  "a number", "a boolean",
                                     "a boolean", "null",     "an array",
                                     "an object"};
  size_t i;
  for (i = 0; i < GAUTH__ARRAY_LEN(want); i++)
    cr_assert_str_eq(gauth__json_type_name(cJSON_GetArrayItem(root, (int)i)),
                     want[i]);
  cr_assert_str_eq(gauth__json_type_name(NULL), "nothing");
  cJSON_Delete(root);
}

Test(json, copy_string_required_and_optional) {
  cJSON *o = cJSON_Parse("{\"a\":\"x\",\"e\":\"\",\"n\":null,\"i\":3}");
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = (char *)"junk";
  cr_assert_eq(gauth__json_copy_string(o, "a", GAUTH__JSON_REQUIRED, &v, &err),
               GAUTH_OK);
  cr_assert_str_eq(v, "x");
  free(v);
  cr_assert_eq(gauth__json_copy_string(o, "e", GAUTH__JSON_REQUIRED, &v, &err),
               GAUTH_E_MALFORMED);
  cr_assert_null(v);
  cr_assert_str_eq(err.message, "field \"e\" is empty");
  cr_assert_eq(
      gauth__json_copy_string(o, "missing", GAUTH__JSON_REQUIRED, &v, &err),
      GAUTH_E_MALFORMED);
  cr_assert(strstr(err.message, "missing") != NULL, "%s", err.message);
  cr_assert_eq(gauth__json_copy_string(o, "i", GAUTH__JSON_OPTIONAL, &v, &err),
               GAUTH_E_MALFORMED);
  cr_assert(strstr(err.message, "\"i\"") != NULL, "%s", err.message);
  /* Optional: absent, null and "" are all "not given". */
  cr_assert_eq(
      gauth__json_copy_string(o, "missing", GAUTH__JSON_OPTIONAL, &v, &err),
      GAUTH_OK);
  cr_assert_null(v);
  cr_assert_eq(gauth__json_copy_string(o, "n", GAUTH__JSON_OPTIONAL, &v, &err),
               GAUTH_OK);
  cr_assert_null(v);
  cr_assert_eq(gauth__json_copy_string(o, "e", GAUTH__JSON_OPTIONAL, &v, &err),
               GAUTH_OK);
  cr_assert_null(v);
  /* Non-empty when present: absent and null are "not given", "" is not. */
  cr_assert_eq(
      gauth__json_copy_string(o, "missing", GAUTH__JSON_NONEMPTY, &v, &err),
      GAUTH_OK);
  cr_assert_null(v);
  cr_assert_eq(gauth__json_copy_string(o, "n", GAUTH__JSON_NONEMPTY, &v, &err),
               GAUTH_OK);
  cr_assert_null(v);
  cr_assert_eq(gauth__json_copy_string(o, "e", GAUTH__JSON_NONEMPTY, &v, &err),
               GAUTH_E_MALFORMED);
  cr_assert_str_eq(err.message, "field \"e\" is empty");
  cr_assert_eq(gauth__json_copy_string(o, "a", GAUTH__JSON_NONEMPTY, &v, &err),
               GAUTH_OK);
  cr_assert_str_eq(v, "x");
  free(v);
  cJSON_Delete(o);
}
