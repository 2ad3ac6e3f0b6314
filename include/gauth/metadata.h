/* libgauth: the metadata server (GCE, Cloud Run, GKE, Cloud Functions):
 * detection and plain reads.
 *
 * The server is reached at http://HOST/computeMetadata/v1/..., HOST being
 * gauth_options.metadata_host, else GCE_METADATA_HOST, else
 * metadata.google.internal. Every request carries "Metadata-Flavor: Google"
 * and every reply must carry it too: a reply without it came from something
 * else (a captive portal, a proxy) and is refused with GAUTH_E_BAD_RESPONSE.
 * Redirects are not followed. 5xx, 429 and resets are retried per the
 * options' retry policy, within its deadline.
 *
 * DETECTION decides whether a metadata server is there, in this order:
 *   1. the mode: gauth_options.metadata_detection, else
 *      GAUTH_METADATA_DETECTION (auto | none | assume-present), else auto;
 *   2. residency hints: K_SERVICE, CLOUD_RUN_JOB or FUNCTION_TARGET set,
 *      or Linux DMI (/sys/class/dmi/id/product_name or bios_vendor) naming
 *      Google: present, without a request;
 *   3. one probe of http://IP/ (IP from gauth_options.metadata_ip, else
 *      GCE_METADATA_IP, else 169.254.169.254; a port may be given), never
 *      retried, with a 500 ms limit: present when a reply carries
 *      Metadata-Flavor: Google.
 * Worst case off Google Cloud: a refused connection answers at once
 * (well under 50 ms); an address that swallows packets costs the 500 ms
 * limit. A present answer is remembered by the gauth_metadata object; an
 * absent one for 10 seconds only, so that a server still starting (GKE
 * pods) is found by a later call.
 *
 * CUSTOM METADATA (attributes) is read with gauth_metadata_attribute and
 * gauth_metadata_attributes_json, and any entry is watched for changes
 * with a gauth_metadata_watch (WATCHING, below).
 *
 * THREAD SAFETY: a gauth_metadata may be used by any number of threads at
 * once. A gauth_metadata_watch is used by one thread at a time, except
 * gauth_metadata_watch_cancel, which any thread may call at any time. */
#ifndef GAUTH_METADATA_H
#define GAUTH_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/error.h>
#include <gauth/export.h>
#include <gauth/options.h>

GAUTH_BEGIN_DECLS

typedef struct gauth_metadata gauth_metadata;

/* A metadata client under opts (copied; NULL: defaults). Makes no request.
 * Errors: GAUTH_E_INVALID_ARG for bad options or environment values,
 * GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_new(
    gauth_metadata **out, const gauth_options *opts, gauth_error *err);
GAUTH_API void gauth_metadata_free(gauth_metadata *md);

/* How detection reached its answer. */
typedef enum gauth_metadata_basis {
  GAUTH_METADATA_BY_MODE = 1,  /* mode none or assume-present */
  GAUTH_METADATA_BY_HINT = 2,  /* environment variable or DMI */
  GAUTH_METADATA_BY_PROBE = 3, /* the probe's outcome */
  GAUTH_METADATA_BY_MEMORY = 4 /* an earlier answer of this object */
} gauth_metadata_basis;

typedef struct gauth_metadata_detection {
  int present; /* 1: a metadata server is there */
  gauth_metadata_basis basis;
  /* In words: "GAUTH_METADATA_DETECTION=none", "K_SERVICE is set",
   * "DMI product_name is \"Google Compute Engine\"", "probe of
   * 127.0.0.1:8080: reply with Metadata-Flavor: Google", "probe of
   * 169.254.169.254: connection refused", "probe of ...: no reply within
   * 500 ms", "probe of ...: reply without Metadata-Flavor: Google". */
  char detail[256];
  int64_t elapsed_us; /* time this call took */
} gauth_metadata_detection;

/* Detects the metadata server (see DETECTION). An absent server is not an
 * error: *out says so with GAUTH_OK. Errors only for GAUTH_E_INVALID_ARG
 * (a bad GAUTH_METADATA_DETECTION value) and GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_detect(
    gauth_metadata *md, gauth_metadata_detection *out, gauth_error *err);

/* GET computeMetadata/v1/PATH ("project/project-id",
 * "instance/service-accounts/default/email"; a leading '/' and the
 * "computeMetadata/v1/" prefix are accepted too; a query may follow).
 * Writes the body to *value (free with gauth_free()). Does not detect
 * first. Errors: GAUTH_E_NOT_FOUND (404), GAUTH_E_BAD_RESPONSE (no
 * Metadata-Flavor: Google in the reply), GAUTH_E_NETWORK, GAUTH_E_TIMEOUT,
 * GAUTH_E_UNAVAILABLE, GAUTH_E_INVALID_ARG (a path with "..", a fragment or
 * control characters). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_get(gauth_metadata *md,
                                                          const char *path,
                                                          char **value,
                                                          gauth_error *err);

/* Convenience reads: the project id, the numeric project id, the zone
 * (last path segment only: "us-central1-a"), the universe domain
 * ("googleapis.com" when the server has no such entry) and the default
 * service account's email. Free *value with gauth_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_metadata_project_id(gauth_metadata *md, char **value, gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_project_number(
    gauth_metadata *md, char **value, gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_zone(gauth_metadata *md,
                                                           char **value,
                                                           gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_universe_domain(
    gauth_metadata *md, char **value, gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_email(gauth_metadata *md,
                                                            char **value,
                                                            gauth_error *err);

/* Where custom metadata lives. */
typedef enum gauth_metadata_scope {
  GAUTH_METADATA_PROJECT = 1, /* project/attributes/: the project's */
  GAUTH_METADATA_INSTANCE = 2 /* instance/attributes/: this VM's own */
} gauth_metadata_scope;

/* The value of custom metadata KEY of the scope, exactly as the server
 * holds it (not trimmed; may be empty), to *value (free with gauth_free()).
 * KEY must be what Google's Compute API accepts: 1 to 127 bytes of
 * [A-Za-z0-9_-]. Errors: GAUTH_E_NOT_FOUND when the key is not set,
 * GAUTH_E_INVALID_ARG for a NULL argument, an unknown scope or a key Google
 * would refuse (no request is made), and those of gauth_metadata_get. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_metadata_attribute(gauth_metadata *md, gauth_metadata_scope scope,
                         const char *key, char **value, gauth_error *err);

/* Every attribute of the scope as a JSON object of strings
 * ({"key":"value",...}; "{}" when there are none, also when the server has
 * no such directory: Cloud Run has no instance attributes), to *json (free
 * with gauth_free()). One request: attributes/?recursive=true&alt=json.
 * Errors: GAUTH_E_BAD_RESPONSE when the reply is not such an object, and
 * those of gauth_metadata_get. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_metadata_attributes_json(gauth_metadata *md, gauth_metadata_scope scope,
                               char **json, gauth_error *err);

/* WATCHING. A watch follows one entry through the server's long-poll
 * (?wait_for_change=true&last_etag=ETAG&timeout_sec=N): the server holds
 * the request until the entry's ETag differs from the one given, or until
 * N seconds have passed, and then answers with the current value.
 *
 *   gauth_metadata_watch *w;
 *   if (gauth_metadata_watch_new(md, "instance/attributes/mode", &w,
 *                                &err) != GAUTH_OK) ...
 *   for (;;) {
 *     char *v; int changed;
 *     if (gauth_metadata_watch_next(w, 60, &v, &changed, &err) != GAUTH_OK)
 *       break;                 (GAUTH_E_CANCELLED after a cancel)
 *     if (changed) reconfigure(v);
 *     gauth_free(v);
 *   }
 *   gauth_metadata_watch_free(w);
 *
 * THREAD SAFETY: one thread at a time calls gauth_metadata_watch_next (and
 * _etag, _free); gauth_metadata_watch_cancel may be called from any thread
 * at any time until gauth_metadata_watch_free starts. The thread that got
 * GAUTH_E_CANCELLED from gauth_metadata_watch_next may free the watch at
 * once, even while the cancelling thread is still returning from
 * gauth_metadata_watch_cancel; in any other case, free only when no cancel
 * can still begin (join the thread that would call it). The gauth_metadata
 * must outlive its watches. */
typedef struct gauth_metadata_watch gauth_metadata_watch;

/* The longest timeout_sec gauth_metadata_watch_next takes: an hour. A
 * longer wait is made of several calls; and a connection that died
 * without a word (a NAT that forgot it) is given up within the hour. */
#define GAUTH_METADATA_WATCH_MAX_TIMEOUT_SEC 3600u

/* A watch of PATH, as gauth_metadata_get takes it; a path ending in '/'
 * (before any query) is a directory, read recursively as JSON
 * (recursive=true&alt=json are added unless given). The path must not set
 * wait_for_change, last_etag or timeout_sec itself. Makes no request.
 * Errors: GAUTH_E_INVALID_ARG (a NULL argument, a bad path),
 * GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_metadata_watch_new(gauth_metadata *md, const char *path,
                         gauth_metadata_watch **out, gauth_error *err);

/* The first call reads the current value at once (a plain read, not a
 * long-poll) and returns it with *changed = 1. Each later call long-polls
 * with the ETag of the value last returned, until the value changes
 * (*changed = 1, *value the new value) or timeout_sec passes (*changed =
 * 0, *value the unchanged value); a change made between two calls is seen
 * at once by the next one. timeout_sec: 1 to
 * GAUTH_METADATA_WATCH_MAX_TIMEOUT_SEC (also checked on the first call).
 * Each long-poll attempt may take timeout_sec plus 10 s before it is
 * counted a timeout; 5xx, 429 and resets are retried per the options'
 * retry policy, whose deadline counts from there. A server that ignores
 * wait_for_change (an unchanged reply before the timeout) is asked again
 * at most once a second until timeout_sec has passed, never spun against.
 * *value: free with gauth_free(). Errors: GAUTH_E_CANCELLED (after
 * gauth_metadata_watch_cancel: at once, and for every later call),
 * GAUTH_E_NOT_FOUND (the entry does not exist, or was deleted: the watch
 * then starts over, and its next call is a first call again), and those of
 * gauth_metadata_get; after any other error the watch keeps its ETag, and
 * the next call goes on from the value last returned. */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_metadata_watch_next(gauth_metadata_watch *w, unsigned int timeout_sec,
                          char **value, int *changed, gauth_error *err);

/* The ETag of the value last returned by gauth_metadata_watch_next
 * (borrowed, valid until the next call), or NULL before the first value or
 * when the server sent none. */
GAUTH_API const char *gauth_metadata_watch_etag(const gauth_metadata_watch *w);

/* From any thread: a gauth_metadata_watch_next blocked on w returns
 * GAUTH_E_CANCELLED promptly (its connection is shut down: within
 * milliseconds; at most about a second while a name is being resolved),
 * and so does every later call. Idempotent. NULL is a no-op. */
GAUTH_API void gauth_metadata_watch_cancel(gauth_metadata_watch *w);

/* Frees w (see THREAD SAFETY above). NULL is a no-op. */
GAUTH_API void gauth_metadata_watch_free(gauth_metadata_watch *w);

GAUTH_END_DECLS

#endif /* GAUTH_METADATA_H */
