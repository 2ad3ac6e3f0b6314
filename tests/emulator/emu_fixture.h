/* Tests against a running gauth-emulator: the fixture's URL, and a small
 * libcurl client that returns status, headers and body as they came. */
#ifndef GAUTH_EMU_FIXTURE_H
#define GAUTH_EMU_FIXTURE_H

#include <stddef.h>

#include <gauth/gauth.h>

/* The base URL ("http://127.0.0.1:PORT") of the CTest fixture's emulator,
 * read from the file named by GAUTH_EMULATOR_URL_FILE. Aborts when it is
 * missing (the fixture did not start). Static storage. */
const char *emu_fixture_url(void);

/* The base URL ("http://127.0.0.1:RUNPORT") of the same emulator's Cloud
 * Run front end, where its services are (RUNBASE/services/NAME): run_url
 * beside the URL file. Aborts when it is missing. Static storage. */
const char *emu_fixture_run_url(void);

typedef struct emu_reply {
  long status;   /* 0: no HTTP reply */
  int curl_code; /* CURLcode of the transfer (0: complete) */
  char *body;    /* NUL-terminated */
  size_t len;
  char headers[8192]; /* "Name: value\r\n" lines as received */
} emu_reply;

/* One request to base + path (path may hold a query). headers:
 * "Name: value" strings, NULL-ended (may be NULL). body NULL: none. Fills
 * *out (emu_reply_free it); returns out->curl_code. */
int emu_http(const char *base, const char *method, const char *path,
             const char *const *headers, const char *body, emu_reply *out);
void emu_reply_free(emu_reply *r);

/* A reply header's value (case-insensitive name), copied into buf, or
 * NULL. */
const char *emu_reply_header_get(const emu_reply *r, const char *name,
                                 char *buf, size_t n);

/* Calls the control API: POST (JSON body) or GET when body is NULL.
 * Returns the HTTP status; the reply body goes to *out when not NULL
 * (free()). */
long emu_control(const char *base, const char *path, const char *body,
                 char **out);

/* The invoker's key file the fixture wrote: key.json beside the URL file.
 * Aborts when GAUTH_EMULATOR_URL_FILE is unset. Static storage. */
const char *emu_fixture_key_file(void);

/* The emulator's request count for one path (GET /emulator/v1/counters):
 * 0 when the path was never asked, -1 when the counters cannot be read. */
long emu_counter(const char *base, const char *path);

/* The principal the emulator logged for the last request on path, copied
 * into buf ("" when none). Returns 0, or -1 when the log cannot be read. */
int emu_last_principal(const char *base, const char *path, char *buf, size_t n);

/* The status of a POST of body (JSON) to base + path with "Authorization:
 * Bearer token" (0: no reply). */
long emu_bearer_post(const char *base, const char *path, const char *token,
                     const char *body);

/* Verifies an ID token as Google's (the emulator at base serves the keys)
 * for audience aud: GAUTH_OK with *out (gauth_claims_free), or the
 * verifier's error. */
gauth_status emu_verify_id_token(const char *base, const char *token,
                                 const char *aud, gauth_claims **out,
                                 gauth_error *err);

#endif /* GAUTH_EMU_FIXTURE_H */
