/* gauth metadata-server: replies, and the glue to the shared metadata
 * tree (see mdserver.h). */
#include "mdserver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

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

/* ---- the tree --------------------------------------------------------------
 */

struct mds_tree {
  pthread_mutex_t lock;
  cJSON *doc;
  unsigned int max_waiters;
};

mds_tree *mds_tree_new(cJSON *doc, unsigned int max_waiters) {
  mds_tree *t = calloc(1, sizeof(*t));
  if (t == NULL || doc == NULL) {
    free(t);
    cJSON_Delete(doc);
    return NULL;
  }
  pthread_mutex_init(&t->lock, NULL);
  t->doc = doc;
  t->max_waiters = max_waiters;
  return t;
}

void mds_tree_set(mds_tree *t, cJSON *doc) {
  cJSON *old;
  if (doc == NULL) return;
  pthread_mutex_lock(&t->lock);
  old = t->doc;
  t->doc = doc;
  pthread_mutex_unlock(&t->lock);
  cJSON_Delete(old);
}

/* The default account's email, copied under the lock. */
static int account_email(mds_tree *t, char *out, size_t size) {
  const cJSON *sas, *def, *email;
  int ok = 0;
  pthread_mutex_lock(&t->lock);
  sas = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(t->doc, "instance"), "serviceAccounts");
  def = cJSON_GetObjectItemCaseSensitive(sas, "default");
  email = cJSON_GetObjectItemCaseSensitive(def, "email");
  if (cJSON_IsString(email)) {
    snprintf(out, size, "%s", email->valuestring);
    ok = 1;
  }
  pthread_mutex_unlock(&t->lock);
  return ok;
}

int mds_tree_answer(mds_tree *t, const char *path, mds_query_fn query,
                    void *cls, mds_reply *rep, mds_dynamic *dyn) {
  static const char sa[] = "instance/service-accounts/";
  char email[256];
  const char *acct, *slash;
  size_t n;
  (void)query;
  (void)cls;
  memset(dyn, 0, sizeof(*dyn));
  if (strncmp(path, sa, sizeof(sa) - 1) == 0 &&
      account_email(t, email, sizeof(email))) {
    acct = path + sizeof(sa) - 1;
    slash = strchr(acct, '/');
    n = slash ? (size_t)(slash - acct) : 0;
    if (slash != NULL &&
        ((n == 7 && strncmp(acct, "default", 7) == 0) ||
         (n == strlen(email) && strncmp(acct, email, n) == 0))) {
      if (strcmp(slash + 1, "token") == 0) dyn->leaf = MDS_LEAF_TOKEN;
      if (strcmp(slash + 1, "identity") == 0) dyn->leaf = MDS_LEAF_IDENTITY;
      if (dyn->leaf) {
        snprintf(dyn->email, sizeof(dyn->email), "%s", email);
        return 1;
      }
    }
  }
  mds_reply_set(rep, 404, "text/html; charset=UTF-8",
                "<!DOCTYPE html>\n<html lang=en>\n<title>Error 404 (Not "
                "Found)</title>\n<p><b>404.</b> <ins>That's an error.</ins>\n"
                "<p>The requested URL was not found on this server. "
                "<ins>That's all we know.</ins>\n");
  return 0;
}

void mds_tree_shutdown(mds_tree *t) { (void)t; }

void mds_tree_free(mds_tree *t) {
  if (t == NULL) return;
  cJSON_Delete(t->doc);
  pthread_mutex_destroy(&t->lock);
  free(t);
}
