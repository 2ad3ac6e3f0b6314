/* mdtree: a GCE metadata server's document and its reads, shared by
 * gauth-emulator and `gauth metadata-server` so that both answer
 * /computeMetadata/v1/... the same way. Pure C: cJSON and pthreads, no HTTP
 * server, no libgauth internals.
 *
 * THE DOCUMENT. One cJSON tree in Google's ?recursive=true form, the one
 * `GET /computeMetadata/v1/?recursive=true` returns on a VM:
 *
 *   {"instance": {"attributes": {...}, "hostname": "...", "id": 4520...,
 *                 "machineType": "...", "networkInterfaces": [{...}],
 *                 "serviceAccounts": {"default": {"aliases": ["default"],
 *                 "email": "...", "scopes": [...]}, "EMAIL": {...}},
 *                 "tags": [...], "zone": "...", ...},
 *    "oauth": {}, "project": {"attributes": {...}, "numericProjectId": N,
 *    "projectId": "..."}, "universe": {"universeDomain": "googleapis.com"}}
 *
 * Keys are camelCase; a path segment is the key in kebab-case
 * (machineType <-> machine-type, networkInterfaces/0/ip <->
 * network-interfaces/0/ip), except below "attributes", "serviceAccounts",
 * "guestAttributes" and "partnerAttributes", whose keys are names (attribute
 * keys, account emails) and are used verbatim. Arrays are indexed by number
 * ("network-interfaces/0/"). A number too large for a double (the instance
 * id) is stored as a cJSON raw item (cJSON_CreateRaw("4520031799277581759"))
 * and is printed as it is. Objects are kept sorted by key, as Google lists
 * them.
 *
 * READS (mdtree_get): for the path after /computeMetadata/v1/ and the query
 * parameters, the status, content type, body and ETag Google's metadata
 * server gives:
 *   - a directory ("instance/", "" for the root) lists its entries one a
 *     line, each ending with "\n", subdirectories with a trailing "/"
 *     (application/text); ?recursive=true gives it as JSON
 *     (application/json), and with &alt=text as "path value" lines (arrays of
 *     objects indexed, "disks/0/index 0"; an array of strings one line per
 *     element, "tags a\ntags b\n"); alt=json without recursive gives the
 *     listing as a JSON array of strings;
 *   - a directory asked without its slash is 301 to the slash (location
 *     set), except the top-level ones and "instance/service-accounts", which
 *     are answered as the directory (gcp-metadata asks for "instance");
 *   - a leaf is text (application/text): a string as it is, a number as
 *     JSON writes it, an array of strings one element a line each ending
 *     with "\n"; alt=json gives the JSON value (application/json).
 *     "instance/tags" is JSON unless alt=text, as on GCE;
 *   - an unknown path is 404 with Google's HTML page; a bad parameter
 *     (alt other than json / text, timeout_sec not a whole number of
 *     seconds) is 400 with Google's HTML page.
 *
 * ETAGS. Every answer of the tree carries an ETag: 16 lowercase hex digits,
 * a 64-bit FNV-1a hash of what the path holds (a leaf's or subtree's JSON,
 * or a directory's listing when not recursive), the same for alt=text and
 * alt=json. A change elsewhere in the tree leaves the ETag of a path alone.
 *
 * WAITING. wait_for_change=true blocks the calling thread until the path's
 * ETag differs from last_etag (at once when it differs already), or,
 * without last_etag, until the path's ETag changes after the call; or until
 * timeout_sec (whole seconds; at most the tree's maximum wait, 3600 s by
 * default, which also bounds a wait without timeout_sec) has passed: then
 * the answer is the current value, status 200, with its (unchanged) ETag.
 * At most max_waiters threads wait at once: one more is answered at once
 * with 503 (and retry_after), as GCE's metadata server answers 503 to a
 * watcher it cannot serve (clients retry on 503). Every change made through
 * the setters below wakes the waiters, each of which answers when its own
 * path's ETag moved. mdtree_shutdown() answers every waiter at once.
 *
 * DYNAMIC LEAVES. instance/service-accounts/ACCOUNT/token and .../identity
 * are not in the tree: for an account of the tree (a key of
 * instance.serviceAccounts, "default" or an email), mdtree_get returns
 * MDTREE_DYNAMIC with the account's "email" and the leaf, and the caller
 * mints the token (and may give its reply an ETag with mdtree_etag()). An
 * account directory's listing names "identity" and "token" beside the
 * tree's "aliases", "email" and "scopes".
 *
 * THREAD SAFETY: every function may be called from any thread at any time
 * between mdtree_new() and mdtree_free(); one mutex guards the document.
 * mdtree_free() must not race with a call that starts after it (stop the
 * server's listener first); calls already blocked in a wait are answered
 * and return before mdtree_free() frees anything.
 *
 * OWNERSHIP: mdtree_set_document() takes the document; mdtree_copy()
 * returns a copy the caller frees (cJSON_Delete); mdtree_get() fills a
 * reply the caller clears with mdtree_reply_clear(). */
#ifndef GAUTH_MDTREE_H
#define GAUTH_MDTREE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mdtree mdtree;

/* The default and the largest wait of wait_for_change, seconds. */
#define MDTREE_MAX_WAIT_DEFAULT 3600

/* A new tree with the document {"instance": {}, "oauth": {}, "project":
 * {}, "universe": {}} and room for max_waiters concurrent
 * wait_for_change waiters (0: none may wait; each is answered 503). NULL
 * when out of memory. */
mdtree *mdtree_new(size_t max_waiters);

/* Answers every waiter (as at the end of their wait: the current value),
 * waits until they have left, and frees the tree. NULL: no-op. */
void mdtree_free(mdtree *t);

/* Answers every waiter at once and makes later waits answer at once
 * (without waiting): call before stopping the threads that serve the
 * tree. Reads keep working. Idempotent. */
void mdtree_shutdown(mdtree *t);

/* The longest a wait_for_change request waits, seconds (1 ..; default
 * MDTREE_MAX_WAIT_DEFAULT): a larger timeout_sec is cut to it, and a wait
 * without timeout_sec ends there. */
void mdtree_set_max_wait(mdtree *t, unsigned int seconds);

/* Replaces the whole document (takes ownership of doc, a JSON object; it is
 * sorted here) and wakes the waiters whose path changed. doc NULL or not an
 * object: -1 (doc is freed), else 0. */
int mdtree_set_document(mdtree *t, cJSON *doc);

/* Changes the document in place: fn(doc, arg) runs under the tree's lock
 * (it must not call mdtree functions), then the document is sorted again
 * and the waiters are woken. */
void mdtree_update(mdtree *t, void (*fn)(cJSON *doc, void *arg), void *arg);

/* A copy of the value at a metadata path ("" or NULL: the whole document;
 * "project/attributes"; a trailing "/" is ignored), or NULL when there is
 * none. Free with cJSON_Delete(). */
cJSON *mdtree_copy(mdtree *t, const char *path);

/* Checks a change of attributes without applying it: an object whose
 * members are strings (set) or null (delete); keys match [a-zA-Z0-9-_]+ and
 * are under 128 bytes; a value is at most 256 KiB. 0, or -1 with a message
 * naming the member at fault in errbuf (never the value). */
int mdtree_attributes_check(const cJSON *changes, char *errbuf, size_t errlen);

/* Merges changes (see mdtree_attributes_check) into the attributes of
 * scope "project" or "instance" (instance.attributes, created when
 * absent): a string sets the key, null deletes it. Refused as a whole
 * (-1, errbuf) when a change is invalid, the scope unknown, or the
 * attributes would total 512 KiB or more (keys and values, as Compute
 * Engine counts them). On success returns 0, wakes the waiters whose path
 * changed, and, when now is not NULL, sets *now to a copy of the scope's
 * attributes after the change (cJSON_Delete). */
int mdtree_merge_attributes(mdtree *t, const char *scope, const cJSON *changes,
                            cJSON **now, char *errbuf, size_t errlen);

/* The query parameters of a read, as they came (decoded; NULL: absent). */
typedef struct mdtree_query {
  const char *recursive;       /* "true" (any case) or "1": recursive */
  const char *alt;             /* "json" or "text" */
  const char *wait_for_change; /* "true" (any case) or "1": wait */
  const char *last_etag;
  const char *timeout_sec; /* whole seconds, 0 .. */
} mdtree_query;

/* What mdtree_get answers. */
typedef enum mdtree_result {
  MDTREE_ANSWERED = 0, /* the reply is complete: send it */
  MDTREE_DYNAMIC = 1   /* a token or identity leaf: the caller mints it for
                          reply.account ("token" / "identity" in
                          reply.leaf); status and body are unset */
} mdtree_result;

typedef struct mdtree_reply {
  int status;               /* 200, 301, 400, 404, 503 */
  const char *content_type; /* static string */
  char *body;               /* malloc'd, NUL-terminated ("" when none) */
  size_t body_len;
  char etag[17];   /* 16 hex digits; "" for 301, 400, 404 and 503 */
  char *location;  /* 301: the path with its trailing slash (no
                      leading "/computeMetadata/v1/"); else NULL */
  int retry_after; /* 503: seconds to wait before retrying; else 0 */
  char *account;   /* MDTREE_DYNAMIC: the account's email; else NULL */
  char leaf[16];   /* MDTREE_DYNAMIC: "token" or "identity" */
  int waited;      /* 1 when the call waited for a change */
} mdtree_reply;

/* Answers GET /computeMetadata/v1/PATH?QUERY (path: what follows
 * "/computeMetadata/v1/", percent-decoded, without the query; q may be
 * NULL). May block (wait_for_change). Fills *out (cleared first; clear it
 * with mdtree_reply_clear) and returns what the caller does next. */
mdtree_result mdtree_get(mdtree *t, const char *path, const mdtree_query *q,
                         mdtree_reply *out);

/* Frees what a reply holds and zeroes it. NULL: no-op. */
void mdtree_reply_clear(mdtree_reply *r);

/* How many threads wait for a change now. */
size_t mdtree_waiters(mdtree *t);

/* The ETag of data (16 lowercase hex digits + NUL): what mdtree_get
 * computes, for replies the caller builds (tokens). */
void mdtree_etag(const char *data, size_t len, char out[17]);

#ifdef __cplusplus
}
#endif

#endif /* GAUTH_MDTREE_H */
