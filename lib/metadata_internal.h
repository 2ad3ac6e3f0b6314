/* Internal: the metadata client (lib/metadata.c) for the other lib/ files
 * (ADC, the metadata credential source) and its pure parts, which the unit
 * tests reach without I/O. */
#ifndef GAUTH_LIB_METADATA_INTERNAL_H
#define GAUTH_LIB_METADATA_INTERNAL_H

#include "common.h"
#include "config.h"
#include "http.h"

/* A metadata client under an already resolved config (copied), as
 * gauth_metadata_new. Makes no request. */
gauth_status gauth__metadata_new_from_config(gauth_metadata **out,
                                             const gauth__config *cfg,
                                             gauth_error *err);

/* GET http://HOST/computeMetadata/v1/PATH through the transport h (HOST:
 * its config's metadata_host), as gauth_metadata_get: path validated and
 * normalised, "Metadata-Flavor: Google" sent and required in the reply
 * (error replies included), redirects not followed, retries per h's
 * policy. On GAUTH_OK *body holds the reply (NUL-terminated, *len bytes);
 * it may be a token: free with gauth__secret_free(*body, *len + 1). Error
 * messages name the path without its query. */
gauth_status gauth__metadata_http_get(gauth__http *h, const char *path,
                                      char **body, size_t *len,
                                      gauth_error *err);

/* Limits of one gauth__metadata_http_get_ex request (0 / NULL: the
 * config's). */
typedef struct gauth__metadata_get_opts {
  unsigned int timeout_ms;    /* per attempt */
  unsigned int deadline_ms;   /* all attempts and waits */
  gauth__http_cancel *cancel; /* aborts the request when fired */
} gauth__metadata_get_opts;

/* gauth__metadata_http_get under opts o (may be NULL), also giving the
 * reply's ETag header when etag is not NULL (*etag NULL when the reply has
 * none; free()). */
gauth_status gauth__metadata_http_get_ex(gauth__http *h, const char *path,
                                         const gauth__metadata_get_opts *o,
                                         char **body, size_t *len, char **etag,
                                         gauth_error *err);

/* The transport of md (borrowed). */
gauth__http *gauth__metadata_http(gauth_metadata *md);

/* For tests: how long an absent answer is remembered (default
 * GAUTH__METADATA_NEGATIVE_TTL_MS; 0: not at all). */
void gauth__metadata_set_negative_ttl_ms(gauth_metadata *md, unsigned int ms);

/* ---- pure helpers ------------------------------------------------------ */

/* Percent-encodes s as a query value: every byte but the RFC 3986
 * unreserved characters (A-Z a-z 0-9 - . _ ~), ':' and '/' becomes %XX
 * (upper-case hex). Free with free(); NULL when out of memory. */
char *gauth__metadata_query_escape(const char *s);

/* Validates a gauth_metadata_get path and writes to *rel where the part
 * under computeMetadata/v1/ starts (a pointer into path): leading '/'s and
 * one "computeMetadata/v1/" prefix are skipped. GAUTH_E_INVALID_ARG for
 * NULL, a control character or space anywhere, a '#', or ".." or an
 * encoded dot ("%2e") before the query. */
gauth_status gauth__metadata_path_normalize(const char *path, const char **rel,
                                            gauth_error *err);

/* The identity reply (body, len bytes, NUL-terminated; trailing
 * whitespace is cut in place): a JWT with an exp claim, which gives
 * out->expires_at. GAUTH_E_BAD_RESPONSE (never showing the reply),
 * GAUTH_E_NOMEM. Free out->value with gauth__token_cleanup. */
struct gauth__token;
gauth_status gauth__metadata_id_token_parse(char *body, size_t len,
                                            struct gauth__token *out,
                                            gauth_error *err);

/* Residency hints (no network). Each returns 1 and describes the hint in
 * detail (size n) when it finds one, 0 otherwise. */
/* K_SERVICE, CLOUD_RUN_JOB or FUNCTION_TARGET set (and not empty). */
int gauth__metadata_env_hint(char *detail, size_t n);
/* DIR/product_name or DIR/bios_vendor containing "Google"; dir NULL: the
 * default (/sys/class/dmi/id). Missing or unreadable files are no hint. */
int gauth__metadata_dmi_hint(const char *dir, char *detail, size_t n);

/* Custom metadata keys as Google's Compute API accepts them: 1 to
 * GAUTH__METADATA_KEY_MAX bytes of [A-Za-z0-9_-]. GAUTH_E_INVALID_ARG
 * otherwise, naming the first bad byte's offset (never echoing more than
 * 64 bytes of the key). */
gauth_status gauth__metadata_key_check(const char *key, gauth_error *err);

/* "project/attributes/" or "instance/attributes/" for a scope; NULL for
 * any other value. */
const char *gauth__metadata_scope_dir(int scope);

/* Checks that text is a JSON object whose members are all strings (what
 * attributes/?recursive=true&alt=json returns). GAUTH_E_BAD_RESPONSE
 * otherwise, naming the first member that is not a string. */
gauth_status gauth__metadata_attributes_check(const char *text, size_t len,
                                              gauth_error *err);

/* ---- the watch (lib/metadata_watch.c): pure parts ---------------------- */

/* The path of a watch's reads: path as given, with recursive=true and
 * alt=json added to a directory's query (a path whose part before '?'
 * ends with '/') unless it has them; with wait_for_change non-zero, also
 * "wait_for_change=true", "last_etag=ETAG" (when etag is not NULL or
 * empty; percent-encoded) and "timeout_sec=N". GAUTH_E_INVALID_ARG when
 * the path already has wait_for_change, last_etag or timeout_sec (the
 * watch sets them). *out: free(). */
gauth_status gauth__metadata_watch_path(const char *path, int wait_for_change,
                                        const char *etag,
                                        unsigned int timeout_sec, char **out,
                                        gauth_error *err);

/* The limits of one long-poll of timeout_sec seconds: the per-attempt
 * timeout covers the server's hold plus GAUTH__METADATA_WATCH_MARGIN_MS;
 * the deadline covers that plus the retry policy's own deadline
 * (retry_deadline_ms) for 5xx and resets. */
void gauth__metadata_watch_limits(unsigned int timeout_sec,
                                  unsigned int retry_deadline_ms,
                                  unsigned int *timeout_ms,
                                  unsigned int *deadline_ms);

#endif /* GAUTH_LIB_METADATA_INTERNAL_H */
