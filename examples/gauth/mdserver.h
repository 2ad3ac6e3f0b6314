/* gauth metadata-server: a reply under construction, and the glue between
 * the server (cmd_metadata_server.c) and the shared metadata tree
 * (examples/metadata/mdtree.h) that answers every static path. */
#ifndef GAUTH_CLI_MDSERVER_H
#define GAUTH_CLI_MDSERVER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define MDS_TEXT "application/text"
#define MDS_JSON "application/json"
#define MDS_MAX_HEADERS 4

/* A reply: status, Content-Type, body (owned), ETag, extra headers, and
 * the principal for the log line. `secret`: the body holds a token (it is
 * wiped when freed). */
typedef struct mds_reply {
  int status;
  const char *content_type; /* static */
  char *body;
  char etag[64];
  const char *header_names[MDS_MAX_HEADERS]; /* static */
  char *header_values[MDS_MAX_HEADERS];
  size_t nheaders;
  char principal[256];
  int secret;
} mds_reply;

void mds_reply_init(mds_reply *r);
/* Sets status, content type (static) and a copy of body. */
void mds_reply_set(mds_reply *r, int status, const char *content_type,
                   const char *body);
/* Adds a header (name static, value copied); beyond MDS_MAX_HEADERS,
 * dropped. */
void mds_reply_header(mds_reply *r, const char *name, const char *value);
/* Frees what r holds, wiping a secret body. */
void mds_reply_cleanup(mds_reply *r);

/* The leaves the caller mints. */
typedef enum mds_leaf { MDS_LEAF_TOKEN = 1, MDS_LEAF_IDENTITY = 2 } mds_leaf;

typedef struct mds_dynamic {
  mds_leaf leaf;
  char email[256]; /* the resolved account */
} mds_dynamic;

typedef struct mds_tree mds_tree;

/* A query parameter of the request being answered, or NULL. */
typedef const char *(*mds_query_fn)(void *cls, const char *name);

/* A tree over doc (taken, even on failure), with at most max_waiters
 * concurrent ?wait_for_change requests. NULL when out of memory. */
mds_tree *mds_tree_new(cJSON *doc, unsigned int max_waiters);
/* Replaces the document (taken); wakes the waiters whose path changed. */
void mds_tree_set(mds_tree *t, cJSON *doc);
/* Answers GET computeMetadata/v1/PATH (path without the leading '/', query
 * parameters through query(cls, name)): 0 when *rep is the whole answer,
 * 1 when it is a token or identity leaf of a known account, described in
 * *dyn, for the caller to mint. May block (?wait_for_change=true). */
int mds_tree_answer(mds_tree *t, const char *path, mds_query_fn query,
                    void *cls, mds_reply *rep, mds_dynamic *dyn);
/* Checks an object of attributes as the tree would take it (keys
 * [a-zA-Z0-9-_]+, string values): 0, or -1 with a message naming the
 * member in errbuf. */
int mds_attributes_check(const cJSON *attrs, char *errbuf, size_t errlen);
/* Answers every waiter now and every later one at once. */
void mds_tree_shutdown(mds_tree *t);
void mds_tree_free(mds_tree *t);

#endif /* GAUTH_CLI_MDSERVER_H */
