/* gauth metadata-server: replies, and the glue to the shared metadata
 * tree (see mdserver.h). */
#include "mdserver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mdtree.h"

static char *dup_or_die(const char *s) {
  char *d = strdup(s);
  if (d == NULL) {
    fprintf(stderr, "gauth metadata-server: out of memory\n");
    abort();
  }
  return d;
}

void mds_reply_init(mds_reply *r) {
  memset(r, 0, sizeof(*r));
  r->status = 500;
}

static void body_free(mds_reply *r) {
  if (r->body != NULL && r->secret) OPENSSL_cleanse(r->body, strlen(r->body));
  free(r->body);
  r->body = NULL;
}

void mds_reply_set(mds_reply *r, int status, const char *content_type,
                   const char *body) {
  body_free(r);
  r->secret = 0;
  r->status = status;
  r->content_type = content_type;
  r->body = dup_or_die(body ? body : "");
}

void mds_reply_header(mds_reply *r, const char *name, const char *value) {
  if (r->nheaders >= MDS_MAX_HEADERS) return;
  r->header_names[r->nheaders] = name;
  r->header_values[r->nheaders] = dup_or_die(value);
  r->nheaders++;
}

void mds_reply_cleanup(mds_reply *r) {
  body_free(r);
  for (size_t i = 0; i < r->nheaders; i++) free(r->header_values[i]);
  memset(r, 0, sizeof(*r));
}

/* ---- the tree ------------------------------------------------------------ */

struct mds_tree {
  mdtree *t;
};

mds_tree *mds_tree_new(cJSON *doc, unsigned int max_waiters) {
  mds_tree *t = calloc(1, sizeof(*t));
  if (t == NULL || doc == NULL || (t->t = mdtree_new(max_waiters)) == NULL) {
    cJSON_Delete(doc);
    free(t);
    return NULL;
  }
  if (mdtree_set_document(t->t, doc) != 0) { /* it freed doc */
    mdtree_free(t->t);
    free(t);
    return NULL;
  }
  return t;
}

void mds_tree_set(mds_tree *t, cJSON *doc) {
  (void)mdtree_set_document(t->t, doc);
}

int mds_tree_answer(mds_tree *t, const char *path, mds_query_fn query,
                    void *cls, mds_reply *rep, mds_dynamic *dyn) {
  mdtree_query q;
  mdtree_reply r;
  mdtree_result res;
  memset(dyn, 0, sizeof(*dyn));
  q.recursive = query(cls, "recursive");
  q.alt = query(cls, "alt");
  q.wait_for_change = query(cls, "wait_for_change");
  q.last_etag = query(cls, "last_etag");
  q.timeout_sec = query(cls, "timeout_sec");
  memset(&r, 0, sizeof(r));
  res = mdtree_get(t->t, path, &q, &r);
  if (res == MDTREE_DYNAMIC) {
    dyn->leaf =
        strcmp(r.leaf, "token") == 0 ? MDS_LEAF_TOKEN : MDS_LEAF_IDENTITY;
    snprintf(dyn->email, sizeof(dyn->email), "%s", r.account ? r.account : "");
    mdtree_reply_clear(&r);
    return 1;
  }
  mds_reply_set(rep, r.status, r.content_type, r.body);
  snprintf(rep->etag, sizeof(rep->etag), "%s", r.etag);
  if (r.location != NULL) {
    size_t n = strlen(r.location) + 32;
    char *loc = malloc(n);
    if (loc != NULL) {
      snprintf(loc, n, "/computeMetadata/v1/%s", r.location);
      mds_reply_header(rep, "Location", loc);
      free(loc);
    }
  }
  if (r.retry_after > 0) {
    char ra[32];
    snprintf(ra, sizeof(ra), "%d", r.retry_after);
    mds_reply_header(rep, "Retry-After", ra);
  }
  mdtree_reply_clear(&r);
  return 0;
}

int mds_attributes_check(const cJSON *attrs, char *errbuf, size_t errlen) {
  return mdtree_attributes_check(attrs, errbuf, errlen);
}

void mds_tree_shutdown(mds_tree *t) { mdtree_shutdown(t->t); }

void mds_tree_free(mds_tree *t) {
  if (t == NULL) return;
  mdtree_free(t->t);
  free(t);
}
