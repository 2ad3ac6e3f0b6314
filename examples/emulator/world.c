/* gauth-emulator: the world. Project, accounts and their keys, Cloud Run
 * resources, the IAM policy (with propagation delays), the ID-token signing
 * keys, the access-token store, the clock, faults, counters and the request
 * log. One mutex guards all of it; what is fixed after start-up (accounts,
 * project, resources, roles) is read without it. */
#include "emulator.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define EMU_LOG_SIZE 1000    /* request log entries kept */
#define EMU_MAX_COUNTERS 512 /* distinct paths counted */
#define EMU_TOKEN_BUCKETS 1024
#define EMU_TOKEN_KEEP 3600 /* expired tokens remembered this long */
#define EMU_CONFIG_MAX (4 << 20)

/* ---- built-in roles -------------------------------------------------------
 * The real permissions of each role, restricted for roles/viewer and
 * roles/run.admin to the services the emulator models (docs/emulator.md
 * lists them). roles/owner holds every permission. */
static const char *const role_run_invoker[] = {
    "run.routes.invoke", "run.jobs.run", "run.jobs.runWithOverrides", NULL};
static const char *const role_token_creator[] = {
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.getOpenIdToken",
    "iam.serviceAccounts.implicitDelegation",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.signJwt",
    NULL};
static const char *const role_run_admin[] = {"run.configurations.get",
                                             "run.configurations.list",
                                             "run.executions.cancel",
                                             "run.executions.delete",
                                             "run.executions.get",
                                             "run.executions.list",
                                             "run.jobs.create",
                                             "run.jobs.delete",
                                             "run.jobs.get",
                                             "run.jobs.getIamPolicy",
                                             "run.jobs.list",
                                             "run.jobs.run",
                                             "run.jobs.runWithOverrides",
                                             "run.jobs.setIamPolicy",
                                             "run.jobs.update",
                                             "run.locations.list",
                                             "run.operations.delete",
                                             "run.operations.get",
                                             "run.operations.list",
                                             "run.revisions.delete",
                                             "run.revisions.get",
                                             "run.revisions.list",
                                             "run.routes.get",
                                             "run.routes.invoke",
                                             "run.routes.list",
                                             "run.services.create",
                                             "run.services.delete",
                                             "run.services.get",
                                             "run.services.getIamPolicy",
                                             "run.services.list",
                                             "run.services.setIamPolicy",
                                             "run.services.update",
                                             "run.tasks.get",
                                             "run.tasks.list",
                                             "resourcemanager.projects.get",
                                             NULL};
static const char *const role_viewer[] = {"resourcemanager.projects.get",
                                          "iam.serviceAccounts.get",
                                          "iam.serviceAccounts.list",
                                          "iam.roles.get",
                                          "iam.roles.list",
                                          "run.configurations.get",
                                          "run.configurations.list",
                                          "run.executions.get",
                                          "run.executions.list",
                                          "run.jobs.get",
                                          "run.jobs.list",
                                          "run.locations.list",
                                          "run.operations.get",
                                          "run.operations.list",
                                          "run.revisions.get",
                                          "run.revisions.list",
                                          "run.routes.get",
                                          "run.routes.list",
                                          "run.services.get",
                                          "run.services.list",
                                          "run.tasks.get",
                                          "run.tasks.list",
                                          "cloudscheduler.jobs.get",
                                          "cloudscheduler.jobs.list",
                                          "cloudscheduler.locations.get",
                                          "cloudscheduler.locations.list",
                                          NULL};
/* roles/viewer reads IAM policies too (Google's has these). */
static const char *const role_viewer_policies[] = {
    "resourcemanager.projects.getIamPolicy", "iam.serviceAccounts.getIamPolicy",
    "run.jobs.getIamPolicy", "run.services.getIamPolicy", NULL};

/* Cloud Scheduler's roles (the reference lists them with appengine.*,
 * serviceusage.* and resourcemanager.projects.list too; the emulator does
 * not model those). The service agent's role, likewise restricted, holds
 * what an attempt needs: minting the job's tokens. */
static const char *const role_scheduler_admin[] = {
    "cloudscheduler.jobs.create",
    "cloudscheduler.jobs.delete",
    "cloudscheduler.jobs.enable",
    "cloudscheduler.jobs.fullView",
    "cloudscheduler.jobs.get",
    "cloudscheduler.jobs.list",
    "cloudscheduler.jobs.pause",
    "cloudscheduler.jobs.run",
    "cloudscheduler.jobs.update",
    "cloudscheduler.locations.get",
    "cloudscheduler.locations.list",
    "resourcemanager.projects.get",
    NULL};
static const char *const role_scheduler_runner[] = {"cloudscheduler.jobs.run",
                                                    NULL};
static const char *const role_scheduler_viewer[] = {
    "cloudscheduler.jobs.get",      "cloudscheduler.jobs.list",
    "cloudscheduler.locations.get", "cloudscheduler.locations.list",
    "resourcemanager.projects.get", NULL};
static const char *const role_scheduler_agent[] = {
    "iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken",
    NULL};
static const char *const role_sa_user[] = {
    "iam.serviceAccounts.actAs", "iam.serviceAccounts.get",
    "iam.serviceAccounts.list", "resourcemanager.projects.get", NULL};

typedef struct role_rec {
  char *name;
  char **perms; /* NULL-ended */
  int all;      /* roles/owner */
} role_rec;

typedef struct sigkey {
  EVP_PKEY *pkey;
  gauth_key *priv; /* kid set */
  gauth_key *pub;
  char kid[48];
  char *cert_pem;
} sigkey;

typedef struct account_rec {
  emu_account a;
  char *email, *unique_id, *key_id;
  char *pem; /* PKCS#8 of the private key (wiped at free) */
  gauth_key *priv;
  gauth_keyset *keys;
  int disabled; /* IAM's "disabled": no token, no signature (e->mu) */
} account_rec;

typedef struct binding {
  char *resource, *role, *member;
  int64_t from;  /* effective at (emulator clock) */
  int64_t until; /* removed at; 0: not removed */
} binding;

typedef struct tok {
  char *token, *email, *scopes;
  int64_t exp;
  struct tok *next;
} tok;

typedef struct counter {
  char *key;
  unsigned long n;
} counter;

typedef struct logent {
  int64_t t;
  char method[12];
  char path[200];
  int status;
  char principal[128];
} logent;

typedef struct ext_rec {
  emu_external_issuer x;
  char *issuer, *audience, *sa;
  gauth_keyset *keys;
} ext_rec;

struct emu {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stopping;
  char *base_url, *run_base_url, *project_id, *project_number, *region, *zone;
  char *metadata_account, *invoker;
  int64_t offset;
  long keys_max_age;
  account_rec *accounts;
  size_t naccounts;
  emu_user *users;
  size_t nusers;
  char **services, **jobs; /* full names */
  size_t nservices, njobs;
  /* Per service (same index as services[], NULL when the world's services
   * have none): its custom audiences (NULL-ended) and runtime account. */
  char ***service_auds;
  char **service_sa;
  /* Per job (same index as jobs[]): its latest execution's name (NULL:
   * none yet) and creation time. Under the lock. */
  char **job_exec;
  int64_t *job_exec_time;
  int64_t created;   /* when the world was built: createTime of resources */
  int64_t iam_delay; /* iam_propagation_seconds */
  /* Per resource (canonical name): its policy's version, bumped on every
   * change; the getIamPolicy etag encodes it. Under the lock. */
  counter *pol_versions;
  size_t npolver;
  role_rec *roles;
  size_t nroles;
  binding *bindings;
  size_t nbindings, capbindings;
  ext_rec *ext;
  size_t next;
  emu_aws *aws;         /* the config's "aws", or NULL; fixed after start-up */
  sigkey keys[2];       /* [0] current, [1] previous (pkey NULL: none) */
  gauth_keyset *keyset; /* public keys of keys[] */
  emu_iap *iap;         /* IAP's signing key; fixed after start-up */
  tok *tokens[EMU_TOKEN_BUCKETS];
  unsigned long minted;
  counter *req_counts, *exec_counts;
  size_t nreq, nexec;
  logent log[EMU_LOG_SIZE];
  size_t log_next, log_count;
  emu_fault *faults;
  size_t nfaults;
  uint64_t rng;
  /* ---- Cloud Scheduler */
  emu_scheduler *scheduler;
  char *sched_agent;
  /* ---- the metadata server: its document (locked by itself) and what the
   * config says of it */
  mdtree *md;
  int md_cloud_run;      /* "metadata_platform": "cloud_run" */
  size_t md_max_waiters; /* "metadata_max_waiters" */
  cJSON *md_project_attrs, *md_instance_attrs; /* the config's, until built */
};

/* ---- small helpers ------------------------------------------------------- */

static void seterr(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  if (buf == NULL || n == 0) return;
  va_start(ap, fmt);
  vsnprintf(buf, n, fmt, ap);
  va_end(ap);
}

static char *xstrdup(const char *s) {
  char *p;
  if (s == NULL) return NULL;
  p = strdup(s);
  if (p == NULL) {
    fprintf(stderr, "gauth-emulator: out of memory\n");
    abort();
  }
  return p;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL) {
    fprintf(stderr, "gauth-emulator: out of memory\n");
    abort();
  }
  return p;
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
  va_list ap;
  int n;
  char *p;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) abort();
  p = xcalloc((size_t)n + 1, 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

static void secret_free(char *s) {
  if (s == NULL) return;
  OPENSSL_cleanse(s, strlen(s));
  free(s);
}

static void hex(const unsigned char *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* A stable 21-digit numeric id for an email, as Google's unique ids look. */
static char *derive_unique_id(const char *email) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  char id[22];
  EVP_Digest(email, strlen(email), md, &mdlen, EVP_sha256(), NULL);
  id[0] = '1';
  for (int i = 1; i < 21; i++) id[i] = (char)('0' + md[i] % 10);
  id[21] = '\0';
  return xstrdup(id);
}

static void base64url(const unsigned char *in, size_t n, char *out) {
  int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
  for (int i = 0; i < len; i++) {
    if (out[i] == '+')
      out[i] = '-';
    else if (out[i] == '/')
      out[i] = '_';
    else if (out[i] == '=') {
      out[i] = '\0';
      return;
    }
  }
}

/* ---- keys ---------------------------------------------------------------- */

/* A fresh RSA-2048 key: its PKCS#8 PEM, a kid (40 hex digits, the SHA-1 of
 * its SubjectPublicKeyInfo, as Google's kids look) and the private and
 * public gauth_keys with that kid. */
static int rsa_new(EVP_PKEY **pkey_out, char **pem_out, char kid[48],
                   gauth_key **priv_out, gauth_key **pub_out) {
  EVP_PKEY *pk = EVP_RSA_gen(2048);
  BIO *bio = NULL;
  unsigned char *der = NULL, md[20];
  unsigned int mdlen = 0;
  int derlen, ok = 0;
  char *pem = NULL, *jwk = NULL, *sa = NULL;
  const char *mem;
  long memlen;
  cJSON *j = NULL;
  gauth_key *priv = NULL, *pub = NULL;

  if (pk == NULL) return -1;
  derlen = i2d_PUBKEY(pk, &der);
  if (derlen <= 0 ||
      !EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha1(), NULL))
    goto out;
  hex(md, mdlen, kid);
  bio = BIO_new(BIO_s_mem());
  if (bio == NULL ||
      !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL))
    goto out;
  memlen = BIO_get_mem_data(bio, &mem);
  pem = xcalloc((size_t)memlen + 1, 1);
  memcpy(pem, mem, (size_t)memlen);
  /* The public API sets a kid only on a service-account key's import. */
  j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "type", "service_account");
  cJSON_AddStringToObject(j, "private_key", pem);
  cJSON_AddStringToObject(j, "private_key_id", kid);
  sa = cJSON_PrintUnformatted(j);
  if (sa == NULL ||
      gauth_key_from_service_account(&priv, sa, strlen(sa), NULL) != GAUTH_OK ||
      gauth_key_public_jwk(priv, &jwk, NULL) != GAUTH_OK ||
      gauth_key_from_jwk(&pub, jwk, strlen(jwk), NULL) != GAUTH_OK)
    goto out;
  ok = 1;
out:
  OPENSSL_free(der);
  BIO_free(bio);
  if (j != NULL) {
    cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "private_key");
    if (f != NULL && f->valuestring != NULL)
      OPENSSL_cleanse(f->valuestring, strlen(f->valuestring));
    cJSON_Delete(j);
  }
  secret_free(sa);
  gauth_free(jwk);
  if (!ok) {
    EVP_PKEY_free(pk);
    secret_free(pem);
    gauth_key_free(priv);
    gauth_key_free(pub);
    return -1;
  }
  *pkey_out = pk;
  *priv_out = priv;
  *pub_out = pub;
  if (pem_out != NULL)
    *pem_out = pem;
  else
    secret_free(pem);
  return 0;
}

/* A self-signed certificate of the key, for Google's v1 PEM map. */
static char *self_signed_cert(EVP_PKEY *pk, unsigned long serial) {
  X509 *x = X509_new();
  X509_NAME *name;
  BIO *bio = NULL;
  char *out = NULL;
  const char *mem;
  long memlen;
  if (x == NULL) return NULL;
  if (!X509_set_version(x, 2) ||
      !ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial) ||
      X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(x), 14 * 86400L) == NULL ||
      !X509_set_pubkey(x, pk))
    goto out;
  name = X509_get_subject_name(x);
  if (!X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          (const unsigned char *)"securetoken.system.gserviceaccount.com", -1,
          -1, 0) ||
      !X509_set_issuer_name(x, name) || !X509_sign(x, pk, EVP_sha256()))
    goto out;
  bio = BIO_new(BIO_s_mem());
  if (bio == NULL || !PEM_write_bio_X509(bio, x)) goto out;
  memlen = BIO_get_mem_data(bio, &mem);
  out = xcalloc((size_t)memlen + 1, 1);
  memcpy(out, mem, (size_t)memlen);
out:
  BIO_free(bio);
  X509_free(x);
  return out;
}

static void sigkey_clear(sigkey *k) {
  EVP_PKEY_free(k->pkey);
  gauth_key_free(k->priv);
  gauth_key_free(k->pub);
  free(k->cert_pem);
  memset(k, 0, sizeof(*k));
}

static int sigkey_new(sigkey *k) {
  unsigned long serial = 1;
  memset(k, 0, sizeof(*k));
  if (rsa_new(&k->pkey, NULL, k->kid, &k->priv, &k->pub) != 0) return -1;
  /* A random serial: certificates of rotated keys must differ. */
  if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1) serial = 1;
  k->cert_pem = self_signed_cert(k->pkey, (serial >> 2) | 1);
  if (k->cert_pem == NULL) {
    sigkey_clear(k);
    return -1;
  }
  return 0;
}

/* Rebuilds the published key set; under the lock (or before threads). */
static int keyset_rebuild(emu *e) {
  gauth_key *ks[2];
  size_t n = 0;
  gauth_keyset *set = NULL;
  for (int i = 0; i < 2; i++)
    if (e->keys[i].pub != NULL) ks[n++] = e->keys[i].pub;
  if (gauth_keyset_from_keys(&set, ks, n, NULL) != GAUTH_OK) return -1;
  gauth_keyset_free(e->keyset);
  e->keyset = set;
  return 0;
}

/* ---- roles and accounts -------------------------------------------------- */

static void role_add(emu *e, const char *name, const char *const *perms,
                     size_t n, int all) {
  role_rec *r = NULL;
  for (size_t i = 0; i < e->nroles; i++)
    if (strcmp(e->roles[i].name, name) == 0) r = &e->roles[i];
  if (r == NULL) {
    role_rec *nr = realloc(e->roles, (e->nroles + 1) * sizeof(*nr));
    if (nr == NULL) abort();
    e->roles = nr;
    r = &e->roles[e->nroles++];
    r->name = xstrdup(name);
  } else {
    for (size_t i = 0; r->perms && r->perms[i]; i++) free(r->perms[i]);
    free(r->perms);
  }
  r->all = all;
  r->perms = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) r->perms[i] = xstrdup(perms[i]);
}

/* Adds permissions (NULL-ended) to a role of the table. */
static void role_add_more(emu *e, const char *name, const char *const *more) {
  for (size_t i = 0; i < e->nroles; i++) {
    role_rec *r = &e->roles[i];
    size_t n = 0, k = 0;
    char **np;
    if (strcmp(r->name, name) != 0) continue;
    while (r->perms[n] != NULL) n++;
    while (more[k] != NULL) k++;
    np = realloc(r->perms, (n + k + 1) * sizeof(char *));
    if (np == NULL) abort();
    for (size_t j = 0; j < k; j++) np[n + j] = xstrdup(more[j]);
    np[n + k] = NULL;
    r->perms = np;
  }
}

static size_t count_list(const char *const *l) {
  size_t n = 0;
  while (l[n] != NULL) n++;
  return n;
}

static void builtin_roles(emu *e) {
  role_add(e, "roles/run.invoker", role_run_invoker,
           count_list(role_run_invoker), 0);
  role_add(e, "roles/iam.serviceAccountTokenCreator", role_token_creator,
           count_list(role_token_creator), 0);
  role_add(e, "roles/run.admin", role_run_admin, count_list(role_run_admin), 0);
  role_add(e, "roles/viewer", role_viewer, count_list(role_viewer), 0);
  role_add_more(e, "roles/viewer", role_viewer_policies);
  role_add(e, "roles/owner", NULL, 0, 1);
  role_add(e, "roles/cloudscheduler.admin", role_scheduler_admin,
           count_list(role_scheduler_admin), 0);
  role_add(e, "roles/cloudscheduler.jobRunner", role_scheduler_runner,
           count_list(role_scheduler_runner), 0);
  role_add(e, "roles/cloudscheduler.viewer", role_scheduler_viewer,
           count_list(role_scheduler_viewer), 0);
  role_add(e, "roles/cloudscheduler.serviceAgent", role_scheduler_agent,
           count_list(role_scheduler_agent), 0);
  role_add(e, "roles/iam.serviceAccountUser", role_sa_user,
           count_list(role_sa_user), 0);
}

static const role_rec *role_find(const emu *e, const char *name) {
  for (size_t i = 0; i < e->nroles; i++)
    if (strcmp(e->roles[i].name, name) == 0) return &e->roles[i];
  return NULL;
}

/* Adds an account with a fresh Google-held key, plus extra registered
 * public keys (PEM or JWK texts). */
static int account_add(emu *e, const char *email, const char *unique_id,
                       const char *const *extra, size_t nextra, char *errbuf,
                       size_t errlen) {
  account_rec *a;
  EVP_PKEY *pk = NULL;
  gauth_key *pub = NULL;
  gauth_key **all;
  char kid[48];
  size_t n = 0;
  gauth_status st;

  for (size_t i = 0; i < e->naccounts; i++)
    if (strcmp(e->accounts[i].email, email) == 0) {
      seterr(errbuf, errlen, "service account %s is listed twice", email);
      return -1;
    }
  a = &e->accounts[e->naccounts];
  memset(a, 0, sizeof(*a));
  if (rsa_new(&pk, &a->pem, kid, &a->priv, &pub) != 0) {
    seterr(errbuf, errlen, "cannot generate an RSA key for %s", email);
    return -1;
  }
  EVP_PKEY_free(pk);
  all = xcalloc(nextra + 1, sizeof(*all));
  all[n++] = pub;
  for (size_t i = 0; i < nextra; i++) {
    gauth_key *k = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    const char *t = extra[i];
    st = t[strspn(t, " \t\r\n")] == '{'
             ? gauth_key_from_jwk(&k, t, strlen(t), &err)
             : gauth_key_from_pem(&k, t, strlen(t), &err);
    if (st != GAUTH_OK) {
      seterr(errbuf, errlen, "service account %s: public_keys[%zu]: %s", email,
             i, err.message);
      for (size_t j = 0; j < n; j++) gauth_key_free(all[j]);
      free(all);
      secret_free(a->pem);
      gauth_key_free(a->priv);
      memset(a, 0, sizeof(*a));
      return -1;
    }
    all[n++] = k;
  }
  st = gauth_keyset_from_keys(&a->keys, all, n, NULL);
  for (size_t j = 0; j < n; j++) gauth_key_free(all[j]);
  free(all);
  if (st != GAUTH_OK) {
    secret_free(a->pem);
    gauth_key_free(a->priv);
    memset(a, 0, sizeof(*a));
    seterr(errbuf, errlen, "cannot build the key set of %s", email);
    return -1;
  }
  a->email = xstrdup(email);
  a->unique_id = unique_id ? xstrdup(unique_id) : derive_unique_id(email);
  a->key_id = xstrdup(kid);
  a->a.email = a->email;
  a->a.unique_id = a->unique_id;
  a->a.public_keys = a->keys;
  a->a.private_key = a->priv;
  a->a.private_key_id = a->key_id;
  e->naccounts++;
  return 0;
}

static void binding_push(emu *e, const char *resource, const char *role,
                         const char *member, int64_t from) {
  binding *b;
  if (e->nbindings == e->capbindings) {
    size_t cap = e->capbindings ? e->capbindings * 2 : 16;
    binding *nb = realloc(e->bindings, cap * sizeof(*nb));
    if (nb == NULL) abort();
    e->bindings = nb;
    e->capbindings = cap;
  }
  b = &e->bindings[e->nbindings++];
  b->resource = xstrdup(resource);
  b->role = xstrdup(role);
  b->member = xstrdup(member);
  b->from = from;
  b->until = 0;
}

static char *full_name(const emu *e, const char *kind, const char *name) {
  return xasprintf("projects/%s/locations/%s/%s/%s", e->project_id, e->region,
                   kind, name);
}

/* ---- the default world --------------------------------------------------- */

static int default_world(emu *e, char *errbuf, size_t errlen) {
  char *res;
  e->project_id = xstrdup("demo-project");
  e->project_number = xstrdup("123456789012");
  e->region = xstrdup("us-central1");
  e->zone = xstrdup("us-central1-a");
  e->invoker = xstrdup("scheduler@demo-project.iam.gserviceaccount.com");
  e->metadata_account = xstrdup("runner@demo-project.iam.gserviceaccount.com");
  e->accounts = xcalloc(2, sizeof(*e->accounts));
  e->naccounts = 0; /* the list just made */
  if (account_add(e, e->invoker, NULL, NULL, 0, errbuf, errlen) != 0 ||
      account_add(e, e->metadata_account, NULL, NULL, 0, errbuf, errlen) != 0)
    return -1;
  e->services = xcalloc(1, sizeof(char *));
  e->services[e->nservices++] = full_name(e, "services", "collector");
  e->jobs = xcalloc(1, sizeof(char *));
  e->jobs[e->njobs++] = full_name(e, "jobs", "collect");
  binding_push(e, e->services[0], "roles/run.invoker",
               "serviceAccount:scheduler@demo-project.iam.gserviceaccount.com",
               0);
  binding_push(e, e->jobs[0], "roles/run.invoker",
               "serviceAccount:scheduler@demo-project.iam.gserviceaccount.com",
               0);
  res = xasprintf("projects/%s/serviceAccounts/%s", e->project_id, e->invoker);
  binding_push(e, res, "roles/iam.serviceAccountTokenCreator",
               "serviceAccount:runner@demo-project.iam.gserviceaccount.com", 0);
  free(res);
  /* One end user for the refresh-token grant (authorized_user files). */
  e->users = xcalloc(1, sizeof(*e->users));
  e->users[0].email = xstrdup("developer@example.com");
  e->users[0].client_id = xstrdup("emulator-client.apps.googleusercontent.com");
  e->users[0].client_secret = xstrdup("emulator-client-secret");
  e->users[0].refresh_token = xstrdup("1//emulator-refresh-token");
  e->nusers = 1;
  return 0;
}

/* ---- the --config file --------------------------------------------------- */

static const char *cfg_str(const cJSON *o, const char *name, int required,
                           const char *where, char *errbuf, size_t errlen,
                           int *bad) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (v == NULL) {
    if (required) {
      seterr(errbuf, errlen, "%s: \"%s\" is required", where, name);
      *bad = 1;
    }
    return NULL;
  }
  if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
    seterr(errbuf, errlen, "%s: \"%s\" must be a non-empty string", where,
           name);
    *bad = 1;
    return NULL;
  }
  return v->valuestring;
}

/* A JSON array of non-empty strings, as a NULL-ended borrowed list. */
static const char **cfg_strings(const cJSON *v, const char *where, char *errbuf,
                                size_t errlen, size_t *n) {
  const char **l;
  const cJSON *it;
  size_t i = 0;
  if (!cJSON_IsArray(v)) {
    seterr(errbuf, errlen, "%s must be an array of strings", where);
    return NULL;
  }
  l = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
  cJSON_ArrayForEach(it, v) {
    if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
      seterr(errbuf, errlen, "%s[%zu] must be a non-empty string", where, i);
      free(l);
      return NULL;
    }
    l[i++] = it->valuestring;
  }
  *n = i;
  return l;
}

static int cfg_project(emu *e, const cJSON *p, char *errbuf, size_t errlen) {
  int bad = 0;
  const char *id, *num, *region, *zone;
  if (!cJSON_IsObject(p)) {
    seterr(errbuf, errlen, "\"project\" must be an object");
    return -1;
  }
  id = cfg_str(p, "id", 0, "project", errbuf, errlen, &bad);
  num = cfg_str(p, "number", 0, "project", errbuf, errlen, &bad);
  region = cfg_str(p, "region", 0, "project", errbuf, errlen, &bad);
  zone = cfg_str(p, "zone", 0, "project", errbuf, errlen, &bad);
  if (bad) return -1;
  if (num != NULL && strspn(num, "0123456789") != strlen(num)) {
    seterr(errbuf, errlen, "project: \"number\" must be digits");
    return -1;
  }
  if (id) free(e->project_id), e->project_id = xstrdup(id);
  if (num) free(e->project_number), e->project_number = xstrdup(num);
  if (region) free(e->region), e->region = xstrdup(region);
  if (zone) {
    free(e->zone);
    e->zone = xstrdup(zone);
  } else if (region) {
    free(e->zone);
    e->zone = xasprintf("%s-a", region);
  }
  return 0;
}

static void free_accounts(emu *e) {
  for (size_t i = 0; i < e->naccounts; i++) {
    account_rec *a = &e->accounts[i];
    free(a->email);
    free(a->unique_id);
    free(a->key_id);
    secret_free(a->pem);
    gauth_key_free(a->priv);
    gauth_keyset_free(a->keys);
  }
  free(e->accounts);
  e->accounts = NULL;
  e->naccounts = 0;
}

static void free_users(emu *e) {
  for (size_t i = 0; i < e->nusers; i++) {
    free((char *)e->users[i].email);
    free((char *)e->users[i].client_id);
    free((char *)e->users[i].client_secret);
    free((char *)e->users[i].refresh_token);
  }
  free(e->users);
  e->users = NULL;
  e->nusers = 0;
}

/* Empties the policy; the array stays for binding_push. */
static void clear_bindings(emu *e) {
  for (size_t i = 0; i < e->nbindings; i++) {
    free(e->bindings[i].resource);
    free(e->bindings[i].role);
    free(e->bindings[i].member);
  }
  e->nbindings = 0;
}

/* Item i of the config's array `name`: names it "name[i]" in where (for
 * messages) and checks that it is an object. 0, or -1 with a message. */
static int cfg_item(const cJSON *it, const char *name, size_t i, char *where,
                    size_t wlen, char *errbuf, size_t errlen) {
  snprintf(where, wlen, "%s[%zu]", name, i);
  if (!cJSON_IsObject(it)) {
    seterr(errbuf, errlen, "%s must be an object", where);
    return -1;
  }
  return 0;
}

static int cfg_accounts(emu *e, const cJSON *v, char *errbuf, size_t errlen) {
  const cJSON *it;
  size_t i = 0;
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
    seterr(errbuf, errlen, "\"service_accounts\" must be a non-empty array");
    return -1;
  }
  free_accounts(e);
  e->accounts = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(*e->accounts));
  cJSON_ArrayForEach(it, v) {
    char where[64];
    int bad = 0;
    const char *email, *uid;
    const char **keys = NULL;
    size_t nkeys = 0;
    const cJSON *pk, *dis;
    int rc;
    if (cfg_item(it, "service_accounts", i++, where, sizeof(where), errbuf,
                 errlen) != 0)
      return -1;
    email = cfg_str(it, "email", 1, where, errbuf, errlen, &bad);
    uid = cfg_str(it, "unique_id", 0, where, errbuf, errlen, &bad);
    if (bad) return -1;
    if (strchr(email, '@') == NULL) {
      seterr(errbuf, errlen, "%s: \"email\" is not an email", where);
      return -1;
    }
    pk = cJSON_GetObjectItemCaseSensitive(it, "public_keys");
    if (pk != NULL) {
      char w2[96];
      snprintf(w2, sizeof(w2), "%s.public_keys", where);
      keys = cfg_strings(pk, w2, errbuf, errlen, &nkeys);
      if (keys == NULL) return -1;
    }
    dis = cJSON_GetObjectItemCaseSensitive(it, "disabled");
    if (dis != NULL && !cJSON_IsBool(dis)) {
      seterr(errbuf, errlen, "%s: \"disabled\" must be true or false", where);
      free(keys);
      return -1;
    }
    rc = account_add(e, email, uid, keys, nkeys, errbuf, errlen);
    free(keys);
    if (rc != 0) return -1;
    e->accounts[e->naccounts - 1].disabled = cJSON_IsTrue(dis);
  }
  return 0;
}

static int cfg_users(emu *e, const cJSON *v, char *errbuf, size_t errlen) {
  const cJSON *it;
  size_t i = 0;
  if (!cJSON_IsArray(v)) {
    seterr(errbuf, errlen, "\"users\" must be an array");
    return -1;
  }
  free_users(e);
  e->users = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(*e->users));
  cJSON_ArrayForEach(it, v) {
    char where[64];
    int bad = 0;
    const char *f[4];
    static const char *const names[4] = {"email", "client_id", "client_secret",
                                         "refresh_token"};
    if (cfg_item(it, "users", i++, where, sizeof(where), errbuf, errlen) != 0)
      return -1;
    for (int k = 0; k < 4; k++)
      f[k] = cfg_str(it, names[k], 1, where, errbuf, errlen, &bad);
    if (bad) return -1;
    e->users[e->nusers].email = xstrdup(f[0]);
    e->users[e->nusers].client_id = xstrdup(f[1]);
    e->users[e->nusers].client_secret = xstrdup(f[2]);
    e->users[e->nusers].refresh_token = xstrdup(f[3]);
    e->nusers++;
  }
  return 0;
}

static int cfg_resources(emu *e, const cJSON *v, const char *kind, char ***out,
                         size_t *nout, char *errbuf, size_t errlen) {
  size_t n = 0;
  const char **l = cfg_strings(v, kind, errbuf, errlen, &n);
  if (l == NULL) return -1;
  for (size_t i = 0; i < *nout; i++) free((*out)[i]);
  free(*out);
  *out = xcalloc(n, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    if (strchr(l[i], '/') != NULL) {
      seterr(errbuf, errlen, "%s[%zu]: give the short name, not a path", kind,
             i);
      free(l);
      *nout = i;
      return -1;
    }
    (*out)[i] = full_name(e, kind, l[i]);
  }
  *nout = n;
  free(l);
  return 0;
}

static void free_service_extras(emu *e) {
  for (size_t i = 0; i < e->nservices; i++) {
    if (e->service_auds != NULL && e->service_auds[i] != NULL) {
      for (size_t k = 0; e->service_auds[i][k] != NULL; k++)
        free(e->service_auds[i][k]);
      free(e->service_auds[i]);
    }
    if (e->service_sa != NULL) free(e->service_sa[i]);
  }
  free(e->service_auds);
  free(e->service_sa);
  e->service_auds = NULL;
  e->service_sa = NULL;
}

/* One entry of "services" as an object: {"name", "custom_audiences"?,
 * "service_account"?}; fills service i. 0, or -1 with a message. */
static int cfg_service_object(emu *e, const cJSON *it, size_t i, char *errbuf,
                              size_t errlen) {
  char where[64];
  int bad = 0;
  const cJSON *m;
  snprintf(where, sizeof(where), "services[%zu]", i);
  cJSON_ArrayForEach(m, it) {
    if (strcmp(m->string, "name") != 0 &&
        strcmp(m->string, "custom_audiences") != 0 &&
        strcmp(m->string, "service_account") != 0) {
      seterr(errbuf, errlen, "%s: unknown member \"%.100s\"", where, m->string);
      return -1;
    }
  }
  const char *name = cfg_str(it, "name", 1, where, errbuf, errlen, &bad);
  const char *sa =
      cfg_str(it, "service_account", 0, where, errbuf, errlen, &bad);
  if (bad) return -1;
  if (strchr(name, '/') != NULL) {
    seterr(errbuf, errlen, "%s: give the short name, not a path", where);
    return -1;
  }
  m = cJSON_GetObjectItemCaseSensitive(it, "custom_audiences");
  if (m != NULL) {
    char w2[96];
    size_t n = 0;
    const char **l;
    snprintf(w2, sizeof(w2), "%s.custom_audiences", where);
    l = cfg_strings(m, w2, errbuf, errlen, &n);
    if (l == NULL) return -1;
    e->service_auds[i] = xcalloc(n + 1, sizeof(char *));
    for (size_t k = 0; k < n; k++) e->service_auds[i][k] = xstrdup(l[k]);
    free(l);
  }
  e->services[i] = full_name(e, "services", name);
  e->service_sa[i] = xstrdup(sa);
  return 0;
}

/* "services": short names, or objects naming custom audiences and the
 * runtime account as Cloud Run's service resource has them. */
static int cfg_services(emu *e, const cJSON *v, char *errbuf, size_t errlen) {
  const cJSON *it;
  size_t n, i = 0;
  if (!cJSON_IsArray(v)) {
    seterr(errbuf, errlen, "services must be an array of names or objects");
    return -1;
  }
  free_service_extras(e);
  for (size_t k = 0; k < e->nservices; k++) free(e->services[k]);
  free(e->services);
  n = (size_t)cJSON_GetArraySize(v);
  e->services = xcalloc(n, sizeof(char *));
  e->service_auds = xcalloc(n, sizeof(char **));
  e->service_sa = xcalloc(n, sizeof(char *));
  e->nservices = n;
  cJSON_ArrayForEach(it, v) {
    if (cJSON_IsObject(it)) {
      if (cfg_service_object(e, it, i, errbuf, errlen) != 0) return -1;
    } else if (cJSON_IsString(it) && it->valuestring[0] != '\0' &&
               strchr(it->valuestring, '/') == NULL) {
      e->services[i] = full_name(e, "services", it->valuestring);
    } else {
      seterr(errbuf, errlen,
             "services[%zu] must be a short name or an object with "
             "\"name\"",
             i);
      return -1;
    }
    i++;
  }
  return 0;
}

static int cfg_roles(emu *e, const cJSON *v, char *errbuf, size_t errlen) {
  const cJSON *it;
  if (!cJSON_IsObject(v)) {
    seterr(errbuf, errlen, "\"roles\" must be an object");
    return -1;
  }
  cJSON_ArrayForEach(it, v) {
    char where[160];
    size_t n = 0;
    const char **perms;
    snprintf(where, sizeof(where), "roles.%.100s", it->string);
    if (strncmp(it->string, "roles/", 6) != 0 &&
        strncmp(it->string, "projects/", 9) != 0) {
      seterr(errbuf, errlen,
             "%s: a role name starts with roles/ or "
             "projects/P/roles/",
             where);
      return -1;
    }
    perms = cfg_strings(it, where, errbuf, errlen, &n);
    if (perms == NULL) return -1;
    role_add(e, it->string, perms, n, 0);
    free(perms);
  }
  return 0;
}

static int cfg_bindings(emu *e, const cJSON *v, char *errbuf, size_t errlen) {
  const cJSON *it;
  size_t i = 0;
  if (!cJSON_IsArray(v)) {
    seterr(errbuf, errlen, "\"bindings\" must be an array");
    return -1;
  }
  clear_bindings(e);
  cJSON_ArrayForEach(it, v) {
    char where[64];
    int bad = 0;
    const char *res, *role, **members;
    size_t n = 0;
    if (cfg_item(it, "bindings", i++, where, sizeof(where), errbuf, errlen) !=
        0)
      return -1;
    res = cfg_str(it, "resource", 1, where, errbuf, errlen, &bad);
    role = cfg_str(it, "role", 1, where, errbuf, errlen, &bad);
    if (bad) return -1;
    if (role_find(e, role) == NULL) {
      seterr(errbuf, errlen, "%s: unknown role %s (define it in \"roles\")",
             where, role);
      return -1;
    }
    members = cfg_strings(cJSON_GetObjectItemCaseSensitive(it, "members"),
                          "members", errbuf, errlen, &n);
    if (members == NULL) return -1;
    for (size_t k = 0; k < n; k++) {
      if (strncmp(members[k], "serviceAccount:", 15) != 0 &&
          strncmp(members[k], "user:", 5) != 0 &&
          strncmp(members[k], "principal", 9) != 0 &&
          strcmp(members[k], "allUsers") != 0) {
        seterr(errbuf, errlen,
               "%s: member %s: expected serviceAccount:, "
               "user:, principal:// or allUsers",
               where, members[k]);
        free(members);
        return -1;
      }
      binding_push(e, res, role, members[k], 0);
    }
    free(members);
  }
  return 0;
}

static int cfg_issuers(emu *e, const cJSON *v, char *errbuf, size_t errlen) {
  const cJSON *it;
  size_t i = 0;
  if (!cJSON_IsArray(v)) {
    seterr(errbuf, errlen, "\"external_issuers\" must be an array");
    return -1;
  }
  e->ext = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(*e->ext));
  cJSON_ArrayForEach(it, v) {
    char where[64];
    int bad = 0;
    const char *iss, *aud, *sa, *file;
    const cJSON *jwks;
    gauth_keyset *ks = NULL;
    gauth_error err = GAUTH_ERROR_INIT;
    gauth_status st;
    ext_rec *x = &e->ext[e->next];
    if (cfg_item(it, "external_issuers", i++, where, sizeof(where), errbuf,
                 errlen) != 0)
      return -1;
    iss = cfg_str(it, "issuer", 1, where, errbuf, errlen, &bad);
    aud = cfg_str(it, "audience", 1, where, errbuf, errlen, &bad);
    sa = cfg_str(it, "service_account", 0, where, errbuf, errlen, &bad);
    file = cfg_str(it, "jwks_file", 0, where, errbuf, errlen, &bad);
    if (bad) return -1;
    jwks = cJSON_GetObjectItemCaseSensitive(it, "jwks");
    if (jwks != NULL) {
      char *text = cJSON_PrintUnformatted(jwks);
      st = gauth_keyset_parse(&ks, text, strlen(text), &err);
      free(text);
    } else if (file != NULL) {
      st = gauth_keyset_load_file(&ks, file, &err);
    } else {
      seterr(errbuf, errlen, "%s: give \"jwks\" or \"jwks_file\"", where);
      return -1;
    }
    if (st != GAUTH_OK) {
      seterr(errbuf, errlen, "%s: keys: %s", where, err.message);
      return -1;
    }
    x->issuer = xstrdup(iss);
    x->audience = xstrdup(aud);
    x->sa = xstrdup(sa);
    x->keys = ks;
    x->x.issuer = x->issuer;
    x->x.audience = x->audience;
    x->x.service_account = x->sa;
    x->x.keys = ks;
    e->next++;
  }
  return 0;
}

/* The metadata server's members: "project_attributes" and
 * "instance_attributes" (objects of strings, keys as Compute Engine takes
 * them), "metadata_platform" ("gce" or "cloud_run": Cloud Run's metadata
 * server has instance/region and no instance attributes) and
 * "metadata_max_waiters" (concurrent wait_for_change requests). */
static int cfg_metadata(emu *e, const cJSON *root, char *sub, size_t n) {
  static const char *const attrs[] = {"project_attributes",
                                      "instance_attributes"};
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "metadata_platform");
  if (v != NULL) {
    if (cJSON_IsString(v) && strcmp(v->valuestring, "gce") == 0)
      e->md_cloud_run = 0;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "cloud_run") == 0)
      e->md_cloud_run = 1;
    else {
      snprintf(sub, n,
               "\"metadata_platform\" must be \"gce\" or \"cloud_run\"");
      return -1;
    }
  }
  v = cJSON_GetObjectItemCaseSensitive(root, "metadata_max_waiters");
  if (v != NULL) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
        v->valuedouble > EMU_MD_MAX_WAITERS_LIMIT ||
        v->valuedouble != (double)(long)v->valuedouble) {
      snprintf(sub, n,
               "\"metadata_max_waiters\" must be a whole number (0 .. %d)",
               EMU_MD_MAX_WAITERS_LIMIT);
      return -1;
    }
    e->md_max_waiters = (size_t)v->valuedouble;
  }
  for (int i = 0; i < 2; i++) {
    const cJSON *it;
    char why[300];
    v = cJSON_GetObjectItemCaseSensitive(root, attrs[i]);
    if (v == NULL) continue;
    if (i == 1 && e->md_cloud_run) {
      snprintf(sub, n,
               "\"instance_attributes\": Cloud Run's metadata server has no "
               "instance attributes (\"metadata_platform\": \"cloud_run\")");
      return -1;
    }
    if (mdtree_attributes_check(v, why, sizeof(why)) != 0) {
      snprintf(sub, n, "\"%s\": %s", attrs[i], why);
      return -1;
    }
    cJSON_ArrayForEach(it, v) {
      if (!cJSON_IsString(it)) {
        snprintf(sub, n, "\"%s\": \"%.100s\" must be a string", attrs[i],
                 it->string);
        return -1;
      }
    }
    cJSON_Delete(i ? e->md_instance_attrs : e->md_project_attrs);
    if (i)
      e->md_instance_attrs = cJSON_Duplicate(v, 1);
    else
      e->md_project_attrs = cJSON_Duplicate(v, 1);
  }
  return 0;
}

static const emu_account *account_find_locked(const emu *e, const char *email);

static int load_config(emu *e, const char *path, char *errbuf, size_t errlen) {
  FILE *f = fopen(path, "rb");
  char *text;
  size_t len;
  cJSON *root, *v;
  int rc = -1;
  char sub[400];

  if (f == NULL) {
    seterr(errbuf, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  text = xcalloc(EMU_CONFIG_MAX + 1, 1);
  len = fread(text, 1, EMU_CONFIG_MAX + 1, f);
  fclose(f);
  if (len > EMU_CONFIG_MAX) {
    seterr(errbuf, errlen, "%s: over %d bytes", path, EMU_CONFIG_MAX);
    free(text);
    return -1;
  }
  root = cJSON_ParseWithLength(text, len);
  free(text);
  if (!cJSON_IsObject(root)) {
    seterr(errbuf, errlen, "%s: not a JSON object", path);
    cJSON_Delete(root);
    return -1;
  }
  sub[0] = '\0';
  /* Every member present replaces the default world's; unknown members
   * are an error, so that a typo is not silently ignored. */
  cJSON_ArrayForEach(v, root) {
    static const char *const known[] = {"project",
                                        "service_accounts",
                                        "invoker",
                                        "metadata_account",
                                        "users",
                                        "services",
                                        "jobs",
                                        "roles",
                                        "bindings",
                                        "external_issuers",
                                        "aws",
                                        "signing_keys_max_age",
                                        "iam_propagation_seconds",
                                        "project_attributes",
                                        "instance_attributes",
                                        "metadata_platform",
                                        "metadata_max_waiters",
                                        NULL};
    int ok = 0;
    for (int k = 0; known[k]; k++) ok |= strcmp(v->string, known[k]) == 0;
    if (!ok) {
      snprintf(sub, sizeof(sub), "unknown member \"%.100s\"", v->string);
      goto out;
    }
  }
#define STEP(name, call)                              \
  do {                                                \
    v = cJSON_GetObjectItemCaseSensitive(root, name); \
    if (v != NULL && (call) != 0) {                   \
      snprintf(sub, sizeof(sub), "%s", errbuf);       \
      goto out;                                       \
    }                                                 \
  } while (0)
  STEP("project", cfg_project(e, v, errbuf, errlen));
  STEP("service_accounts", cfg_accounts(e, v, errbuf, errlen));
  STEP("users", cfg_users(e, v, errbuf, errlen));
  STEP("services", cfg_services(e, v, errbuf, errlen));
  STEP("jobs",
       cfg_resources(e, v, "jobs", &e->jobs, &e->njobs, errbuf, errlen));
  STEP("roles", cfg_roles(e, v, errbuf, errlen));
  STEP("bindings", cfg_bindings(e, v, errbuf, errlen));
  STEP("external_issuers", cfg_issuers(e, v, errbuf, errlen));
  STEP("aws", (e->aws = emu_aws_from_config(v, errbuf, errlen)) ? 0 : -1);
#undef STEP
  {
    int bad = 0;
    const char *inv =
        cfg_str(root, "invoker", 0, "config", sub, sizeof(sub), &bad);
    const char *md =
        cfg_str(root, "metadata_account", 0, "config", sub, sizeof(sub), &bad);
    if (bad) goto out;
    if (inv) free(e->invoker), e->invoker = xstrdup(inv);
    if (md) free(e->metadata_account), e->metadata_account = xstrdup(md);
  }
  v = cJSON_GetObjectItemCaseSensitive(root, "signing_keys_max_age");
  if (v != NULL) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
        v->valuedouble > 30 * 86400.0) {
      snprintf(sub, sizeof(sub),
               "\"signing_keys_max_age\" must be a "
               "number of seconds (0 .. 2592000)");
      goto out;
    }
    e->keys_max_age = (long)v->valuedouble;
  }
  v = cJSON_GetObjectItemCaseSensitive(root, "iam_propagation_seconds");
  if (v != NULL) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
        v->valuedouble > 30 * 86400.0) {
      snprintf(sub, sizeof(sub),
               "\"iam_propagation_seconds\" must be a "
               "number of seconds (0 .. 2592000)");
      goto out;
    }
    e->iam_delay = (int64_t)v->valuedouble;
  }
  if (cfg_metadata(e, root, sub, sizeof(sub)) != 0) goto out;
  if (account_find_locked(e, e->invoker) == NULL) {
    snprintf(sub, sizeof(sub),
             "invoker %.200s is not in "
             "\"service_accounts\"",
             e->invoker);
    goto out;
  }
  if (account_find_locked(e, e->metadata_account) == NULL) {
    snprintf(sub, sizeof(sub),
             "metadata_account %.200s is not in "
             "\"service_accounts\"",
             e->metadata_account);
    goto out;
  }
  rc = 0;
out:
  if (rc != 0) seterr(errbuf, errlen, "config %s: %s", path, sub);
  cJSON_Delete(root);
  return rc;
}

/* ---- Cloud Scheduler ------------------------------------------------------
 */

/* The project's Cloud Scheduler service agent, in any world (derived from
 * the project number): an account of its own unless the config lists it,
 * and roles/cloudscheduler.serviceAgent on the project (added after a
 * config's "bindings", which replace the policy). */
static int scheduler_agent_add(emu *e, char *errbuf, size_t errlen) {
  char *res, *member;
  e->sched_agent =
      xasprintf("service-%s@gcp-sa-cloudscheduler.iam.gserviceaccount.com",
                e->project_number);
  if (account_find_locked(e, e->sched_agent) == NULL) {
    account_rec *na =
        realloc(e->accounts, (e->naccounts + 1) * sizeof(*e->accounts));
    if (na == NULL) abort();
    e->accounts = na;
    /* Accounts point into their records: fix them after the move. */
    for (size_t i = 0; i < e->naccounts; i++) {
      account_rec *a = &e->accounts[i];
      a->a.email = a->email;
      a->a.unique_id = a->unique_id;
      a->a.public_keys = a->keys;
      a->a.private_key = a->priv;
      a->a.private_key_id = a->key_id;
    }
    if (account_add(e, e->sched_agent, NULL, NULL, 0, errbuf, errlen) != 0)
      return -1;
  }
  res = xasprintf("projects/%s", e->project_id);
  member = xasprintf("serviceAccount:%s", e->sched_agent);
  binding_push(e, res, "roles/cloudscheduler.serviceAgent", member, 0);
  free(res);
  free(member);
  return 0;
}

emu_scheduler *emu_scheduler_of(emu *e) {
  emu_scheduler *s;
  pthread_mutex_lock(&e->mu);
  s = e->scheduler;
  pthread_mutex_unlock(&e->mu);
  return s;
}

void emu_set_scheduler(emu *e, emu_scheduler *s) {
  pthread_mutex_lock(&e->mu);
  e->scheduler = s;
  pthread_mutex_unlock(&e->mu);
}

const char *emu_scheduler_agent(const emu *e) { return e->sched_agent; }

emu_iap *emu_iap_of(emu *e) { return e->iap; }

/* ---- life cycle ---------------------------------------------------------- */

/* The metadata server's document, with the config's attributes. */
static int metadata_build(emu *e, char *errbuf, size_t errlen) {
  const char *scope[] = {"project", "instance"};
  cJSON *attrs[] = {e->md_project_attrs, e->md_instance_attrs};
  char why[300];
  e->md = mdtree_new(e->md_max_waiters);
  if (e->md == NULL || mdtree_set_document(e->md, emu_metadata_document(e))) {
    seterr(errbuf, errlen, "cannot build the metadata document");
    return -1;
  }
  for (int i = 0; i < 2; i++) {
    if (attrs[i] != NULL &&
        mdtree_merge_attributes(e->md, scope[i], attrs[i], NULL, why,
                                sizeof(why)) != 0) {
      seterr(errbuf, errlen, "config: \"%s_attributes\": %s", scope[i], why);
      return -1;
    }
  }
  return 0;
}

mdtree *emu_metadata_tree(emu *e) { return e->md; }
int emu_metadata_cloud_run(const emu *e) { return e->md_cloud_run; }
size_t emu_metadata_max_waiters(const emu *e) { return e->md_max_waiters; }

emu *emu_world_new(const char *base_url, const char *run_base_url,
                   const char *config_path, char *errbuf, size_t errlen) {
  emu *e = xcalloc(1, sizeof(*e));
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cv, NULL);
  e->base_url = xstrdup(base_url);
  e->run_base_url = xstrdup(run_base_url);
  e->keys_max_age = 19800; /* what Google sends, about 5.5 hours */
  e->md_max_waiters = EMU_MD_MAX_WAITERS_DEFAULT;
  if (RAND_bytes((unsigned char *)&e->rng, sizeof(e->rng)) != 1 || e->rng == 0)
    e->rng = (uint64_t)time(NULL) | 1;
  builtin_roles(e);
  if (default_world(e, errbuf, errlen) != 0 ||
      (config_path != NULL &&
       load_config(e, config_path, errbuf, errlen) != 0)) {
    emu_world_free(e);
    return NULL;
  }
  if (scheduler_agent_add(e, errbuf, errlen) != 0) {
    emu_world_free(e);
    return NULL;
  }
  e->created = (int64_t)time(NULL);
  e->job_exec = xcalloc(e->njobs, sizeof(char *));
  e->job_exec_time = xcalloc(e->njobs, sizeof(int64_t));
  if (sigkey_new(&e->keys[0]) != 0 || keyset_rebuild(e) != 0) {
    seterr(errbuf, errlen, "cannot generate the ID-token signing key");
    emu_world_free(e);
    return NULL;
  }
  e->iap = emu_iap_new();
  if (e->iap == NULL) {
    seterr(errbuf, errlen, "cannot generate the IAP signing key");
    emu_world_free(e);
    return NULL;
  }
  if (metadata_build(e, errbuf, errlen) != 0) {
    emu_world_free(e);
    return NULL;
  }
  return e;
}

void emu_world_free(emu *e) {
  if (e == NULL) return;
  mdtree_free(e->md);
  cJSON_Delete(e->md_project_attrs);
  cJSON_Delete(e->md_instance_attrs);
  free_accounts(e);
  free_users(e);
  free_service_extras(e);
  for (size_t i = 0; e->job_exec != NULL && i < e->njobs; i++)
    free(e->job_exec[i]);
  free(e->job_exec);
  free(e->job_exec_time);
  for (size_t i = 0; i < e->npolver; i++) free(e->pol_versions[i].key);
  free(e->pol_versions);
  for (size_t i = 0; i < e->nservices; i++) free(e->services[i]);
  for (size_t i = 0; i < e->njobs; i++) free(e->jobs[i]);
  free(e->services);
  free(e->jobs);
  for (size_t i = 0; i < e->nroles; i++) {
    for (size_t k = 0; e->roles[i].perms && e->roles[i].perms[k]; k++)
      free(e->roles[i].perms[k]);
    free(e->roles[i].perms);
    free(e->roles[i].name);
  }
  free(e->roles);
  clear_bindings(e);
  free(e->bindings);
  for (size_t i = 0; i < e->next; i++) {
    free(e->ext[i].issuer);
    free(e->ext[i].audience);
    free(e->ext[i].sa);
    gauth_keyset_free(e->ext[i].keys);
  }
  free(e->ext);
  emu_aws_free(e->aws);
  sigkey_clear(&e->keys[0]);
  sigkey_clear(&e->keys[1]);
  emu_iap_free(e->iap);
  gauth_keyset_free(e->keyset);
  for (size_t b = 0; b < EMU_TOKEN_BUCKETS; b++) {
    tok *t = e->tokens[b];
    while (t != NULL) {
      tok *next = t->next;
      secret_free(t->token);
      free(t->email);
      free(t->scopes);
      free(t);
      t = next;
    }
  }
  for (size_t i = 0; i < e->nreq; i++) free(e->req_counts[i].key);
  for (size_t i = 0; i < e->nexec; i++) free(e->exec_counts[i].key);
  free(e->req_counts);
  free(e->exec_counts);
  free(e->faults);
  free(e->base_url);
  free(e->run_base_url);
  free(e->project_id);
  free(e->project_number);
  free(e->region);
  free(e->zone);
  free(e->metadata_account);
  free(e->invoker);
  free(e->sched_agent);
  pthread_cond_destroy(&e->cv);
  pthread_mutex_destroy(&e->mu);
  free(e);
}

int emu_write_key_file(emu *e, const char *path, char *errbuf, size_t errlen) {
  const account_rec *a = NULL;
  cJSON *j;
  char *text, *token_uri, *cert_url;
  int fd, rc = 0;
  size_t len, off = 0;

  for (size_t i = 0; i < e->naccounts; i++)
    if (strcmp(e->accounts[i].email, e->invoker) == 0) a = &e->accounts[i];
  if (a == NULL) {
    seterr(errbuf, errlen, "no invoker account");
    return -1;
  }
  token_uri = xasprintf("%s/token", e->base_url);
  cert_url = xasprintf("https://www.googleapis.com/robot/v1/metadata/x509/%s",
                       a->email);
  j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "type", "service_account");
  cJSON_AddStringToObject(j, "project_id", e->project_id);
  cJSON_AddStringToObject(j, "private_key_id", a->key_id);
  cJSON_AddStringToObject(j, "private_key", a->pem);
  cJSON_AddStringToObject(j, "client_email", a->email);
  cJSON_AddStringToObject(j, "client_id", a->unique_id);
  cJSON_AddStringToObject(j, "auth_uri",
                          "https://accounts.google.com/o/oauth2/auth");
  cJSON_AddStringToObject(j, "token_uri", token_uri);
  cJSON_AddStringToObject(j, "auth_provider_x509_cert_url",
                          "https://www.googleapis.com/oauth2/v1/certs");
  cJSON_AddStringToObject(j, "client_x509_cert_url", cert_url);
  cJSON_AddStringToObject(j, "universe_domain", "googleapis.com");
  text = cJSON_Print(j);
  {
    cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "private_key");
    OPENSSL_cleanse(f->valuestring, strlen(f->valuestring));
  }
  cJSON_Delete(j);
  free(token_uri);
  free(cert_url);
  if (text == NULL) {
    seterr(errbuf, errlen, "out of memory");
    return -1;
  }
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  /* An existing file keeps its mode through O_TRUNC: make it 0600. */
  if (fd < 0 || fchmod(fd, 0600) != 0) {
    seterr(errbuf, errlen, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    secret_free(text);
    return -1;
  }
  len = strlen(text);
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      rc = -1;
      break;
    }
    off += (size_t)w;
  }
  if (rc == 0 && write(fd, "\n", 1) != 1) rc = -1;
  if (close(fd) != 0) rc = -1;
  if (rc != 0)
    seterr(errbuf, errlen, "cannot write %s: %s", path, strerror(errno));
  secret_free(text);
  return rc;
}

/* ---- plain reads --------------------------------------------------------- */

const char *emu_base_url(const emu *e) { return e->base_url; }
const char *emu_run_base_url(const emu *e) { return e->run_base_url; }
const char *emu_project_id(const emu *e) { return e->project_id; }
const char *emu_project_number(const emu *e) { return e->project_number; }
const char *emu_region(const emu *e) { return e->region; }
const char *emu_zone(const emu *e) { return e->zone; }
const char *emu_metadata_account(const emu *e) { return e->metadata_account; }
const char *emu_invoker_account(const emu *e) { return e->invoker; }

int64_t emu_now(emu *e) {
  int64_t off;
  pthread_mutex_lock(&e->mu);
  off = e->offset;
  pthread_mutex_unlock(&e->mu);
  return (int64_t)time(NULL) + off;
}

void emu_set_clock_offset(emu *e, int64_t offset) {
  pthread_mutex_lock(&e->mu);
  e->offset = offset;
  pthread_mutex_unlock(&e->mu);
}

int64_t emu_clock_offset(emu *e) {
  int64_t off;
  pthread_mutex_lock(&e->mu);
  off = e->offset;
  pthread_mutex_unlock(&e->mu);
  return off;
}

static const emu_account *account_find_locked(const emu *e, const char *email) {
  for (size_t i = 0; i < e->naccounts; i++)
    if (strcmp(e->accounts[i].email, email) == 0) return &e->accounts[i].a;
  return NULL;
}

int emu_account_disabled(emu *e, const char *email) {
  int d = 0;
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->naccounts; i++)
    if (strcmp(e->accounts[i].email, email) == 0) d = e->accounts[i].disabled;
  pthread_mutex_unlock(&e->mu);
  return d;
}

int emu_account_set_disabled(emu *e, const char *email, int disabled) {
  int rc = -1;
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->naccounts; i++)
    if (strcmp(e->accounts[i].email, email) == 0) {
      e->accounts[i].disabled = disabled != 0;
      rc = 0;
    }
  pthread_mutex_unlock(&e->mu);
  return rc;
}

const emu_account *emu_account_find(emu *e, const char *email) {
  if (email == NULL) return NULL;
  return account_find_locked(e, email);
}

const emu_user *emu_user_find_by_refresh_token(emu *e, const char *token) {
  if (token == NULL) return NULL;
  for (size_t i = 0; i < e->nusers; i++) {
    const char *rt = e->users[i].refresh_token;
    size_t n = strlen(rt);
    if (strlen(token) == n && CRYPTO_memcmp(rt, token, n) == 0)
      return &e->users[i];
  }
  return NULL;
}

emu_aws *emu_aws_of(emu *e) { return e->aws; }

const emu_external_issuer *emu_external_issuer_find(emu *e,
                                                    const char *issuer) {
  if (issuer == NULL) return NULL;
  for (size_t i = 0; i < e->next; i++)
    if (strcmp(e->ext[i].issuer, issuer) == 0) return &e->ext[i].x;
  return NULL;
}

/* A resource name with "projects/-" and "projects/NUMBER" written as
 * "projects/ID", so that every spelling of a resource matches. Free it. */
static char *canon_resource(const emu *e, const char *res) {
  const char *rest;
  size_t n;
  if (strncmp(res, "projects/", 9) != 0) return xstrdup(res);
  rest = res + 9;
  n = strcspn(rest, "/");
  if ((n == 1 && rest[0] == '-') || (n == strlen(e->project_number) &&
                                     strncmp(rest, e->project_number, n) == 0))
    return xasprintf("projects/%s%s", e->project_id, rest + n);
  return xstrdup(res);
}

int emu_run_service_exists(emu *e, const char *name) {
  char *c = canon_resource(e, name);
  int found = 0;
  for (size_t i = 0; i < e->nservices && !found; i++)
    found = strcmp(e->services[i], c) == 0;
  free(c);
  return found;
}

int emu_run_job_exists(emu *e, const char *name) {
  char *c = canon_resource(e, name);
  int found = 0;
  for (size_t i = 0; i < e->njobs && !found; i++)
    found = strcmp(e->jobs[i], c) == 0;
  free(c);
  return found;
}

/* Services live on the Cloud Run front end's origin, apart from the Google
 * APIs, as *.run.app hosts are apart from *.googleapis.com. */
char *emu_service_url(emu *e, const char *short_name) {
  return xasprintf("%s/services/%s", e->run_base_url, short_name);
}

cJSON *emu_services_json(emu *e) {
  cJSON *a = cJSON_CreateArray();
  /* The list is fixed once the world is built: no lock needed. */
  for (size_t i = 0; i < e->nservices; i++) {
    const char *slash = strrchr(e->services[i], '/');
    const char *short_name = slash ? slash + 1 : e->services[i];
    char *served = full_name(e, "services", short_name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", e->services[i]);
    /* The front end serves the services of the world's project and
     * region (routes_run.c); others have no URL here. */
    if (strcmp(served, e->services[i]) == 0) {
      char *url = emu_service_url(e, short_name);
      cJSON_AddStringToObject(o, "url", url);
      free(url);
    }
    free(served);
    cJSON_AddItemToArray(a, o);
  }
  return a;
}

/* ---- signing keys and tokens --------------------------------------------- */

gauth_keyset *emu_signing_keys(emu *e) {
  gauth_keyset *ks;
  pthread_mutex_lock(&e->mu);
  ks = e->keyset;
  gauth_keyset_up_ref(ks);
  pthread_mutex_unlock(&e->mu);
  return ks;
}

char *emu_signing_certs_json(emu *e) {
  cJSON *j = cJSON_CreateObject();
  char *out;
  pthread_mutex_lock(&e->mu);
  for (int i = 0; i < 2; i++)
    if (e->keys[i].cert_pem != NULL)
      cJSON_AddStringToObject(j, e->keys[i].kid, e->keys[i].cert_pem);
  pthread_mutex_unlock(&e->mu);
  out = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return out;
}

long emu_signing_keys_max_age(emu *e) { return e->keys_max_age; }

int emu_rotate_signing_keys(emu *e) {
  sigkey fresh, old;
  /* Key generation takes tens of milliseconds: not under the lock. */
  if (sigkey_new(&fresh) != 0) return -1;
  pthread_mutex_lock(&e->mu);
  old = e->keys[1];
  e->keys[1] = e->keys[0];
  e->keys[0] = fresh;
  if (keyset_rebuild(e) != 0) {
    /* Put things back: the published set must match the signing key. */
    e->keys[0] = e->keys[1];
    e->keys[1] = old;
    pthread_mutex_unlock(&e->mu);
    sigkey_clear(&fresh);
    return -1;
  }
  pthread_mutex_unlock(&e->mu);
  sigkey_clear(&old);
  return 0;
}

void emu_current_kid(emu *e, char *buf, size_t n) {
  pthread_mutex_lock(&e->mu);
  snprintf(buf, n, "%s", e->keys[0].kid);
  pthread_mutex_unlock(&e->mu);
}

char *emu_mint_id_token(emu *e, const char *email, const char *audience,
                        int include_email) {
  const emu_account *a = emu_account_find(e, email);
  char *sub, *claims, *out = NULL;
  cJSON *j;
  gauth_key *key;
  int64_t now = emu_now(e);

  if (email == NULL || audience == NULL) return NULL;
  sub = a != NULL ? xstrdup(a->unique_id) : derive_unique_id(email);
  j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "aud", audience);
  cJSON_AddStringToObject(j, "azp", sub);
  if (include_email) {
    cJSON_AddStringToObject(j, "email", email);
    cJSON_AddTrueToObject(j, "email_verified");
  }
  cJSON_AddNumberToObject(j, "exp", (double)(now + 3600));
  cJSON_AddNumberToObject(j, "iat", (double)now);
  cJSON_AddStringToObject(j, "iss", "https://accounts.google.com");
  cJSON_AddStringToObject(j, "sub", sub);
  claims = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  free(sub);
  pthread_mutex_lock(&e->mu);
  key = e->keys[0].priv;
  gauth_key_up_ref(key);
  pthread_mutex_unlock(&e->mu);
  if (claims != NULL && gauth_jwt_sign(key, GAUTH_ALG_RS256, NULL, claims, &out,
                                       NULL) != GAUTH_OK)
    out = NULL;
  gauth_key_free(key);
  free(claims);
  return out;
}

static size_t token_bucket(const char *t) {
  uint32_t h = 2166136261u;
  for (; *t; t++) h = (h ^ (unsigned char)*t) * 16777619u;
  return h % EMU_TOKEN_BUCKETS;
}

/* Drops tokens long expired; under the lock. */
static void tokens_prune(emu *e, int64_t now) {
  for (size_t b = 0; b < EMU_TOKEN_BUCKETS; b++) {
    tok **pp = &e->tokens[b];
    while (*pp != NULL) {
      tok *t = *pp;
      if (t->exp + EMU_TOKEN_KEEP < now) {
        *pp = t->next;
        secret_free(t->token);
        free(t->email);
        free(t->scopes);
        free(t);
      } else {
        pp = &t->next;
      }
    }
  }
}

char *emu_mint_access_token(emu *e, const char *email, const char *scopes,
                            int64_t lifetime) {
  unsigned char raw[32];
  char b64[64];
  tok *t;
  size_t b;
  int64_t now;

  if (email == NULL) return NULL;
  if (RAND_bytes(raw, sizeof(raw)) != 1) return NULL;
  base64url(raw, sizeof(raw), b64);
  OPENSSL_cleanse(raw, sizeof(raw));
  t = xcalloc(1, sizeof(*t));
  t->token = xasprintf("ya29.emu.%s", b64);
  OPENSSL_cleanse(b64, sizeof(b64));
  t->email = xstrdup(email);
  t->scopes = xstrdup(scopes ? scopes : "");
  b = token_bucket(t->token);
  pthread_mutex_lock(&e->mu);
  now = (int64_t)time(NULL) + e->offset;
  t->exp = now + lifetime;
  if (++e->minted % 256 == 0) tokens_prune(e, now);
  t->next = e->tokens[b];
  e->tokens[b] = t;
  pthread_mutex_unlock(&e->mu);
  return xstrdup(t->token);
}

void emu_bearer_of(emu *e, const emu_request *req, emu_bearer *out) {
  const char *h = emu_req_header(req, "Authorization");
  const char *t;
  size_t len, dots = 0;
  memset(out, 0, sizeof(*out));
  if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) return;
  t = h + 7;
  while (*t == ' ') t++;
  len = strlen(t);
  while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t')) len--;
  if (len == 0) return;
  out->token = t;
  out->kind = EMU_BEARER_UNKNOWN;
  for (size_t i = 0; i < len; i++) dots += t[i] == '.';
  if (dots == 2 && strncmp(t, "eyJ", 3) == 0) {
    out->kind = EMU_BEARER_ID_TOKEN;
    return;
  }
  if (strncmp(t, "ya29.", 5) == 0 && len < 512) {
    char key[512];
    const tok *k;
    memcpy(key, t, len);
    key[len] = '\0';
    pthread_mutex_lock(&e->mu);
    for (k = e->tokens[token_bucket(key)]; k != NULL; k = k->next) {
      if (strlen(k->token) == len && CRYPTO_memcmp(k->token, key, len) == 0) {
        int64_t now = (int64_t)time(NULL) + e->offset;
        out->kind =
            k->exp > now ? EMU_BEARER_ACCESS : EMU_BEARER_ACCESS_EXPIRED;
        snprintf(out->email, sizeof(out->email), "%s", k->email);
        snprintf(out->scopes, sizeof(out->scopes), "%s", k->scopes);
        break;
      }
    }
    pthread_mutex_unlock(&e->mu);
    OPENSSL_cleanse(key, len);
  }
}

int emu_access_token_info(emu *e, const char *token, char *email,
                          size_t email_len, char *scopes, size_t scopes_len,
                          int64_t *exp) {
  size_t len = strlen(token);
  const tok *k;
  int found = 0;
  if (strncmp(token, "ya29.", 5) != 0 || len >= 512) return 0;
  pthread_mutex_lock(&e->mu);
  for (k = e->tokens[token_bucket(token)]; k != NULL; k = k->next) {
    if (strlen(k->token) == len && CRYPTO_memcmp(k->token, token, len) == 0) {
      snprintf(email, email_len, "%s", k->email);
      snprintf(scopes, scopes_len, "%s", k->scopes);
      *exp = k->exp;
      found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&e->mu);
  return found;
}

int emu_scopes_have(const char *scopes, const char *const *any) {
  if (scopes == NULL) return 0;
  for (const char *p = scopes; *p;) {
    size_t n;
    p += strspn(p, " ");
    n = strcspn(p, " ");
    for (size_t i = 0; n > 0 && any[i] != NULL; i++)
      if (strlen(any[i]) == n && strncmp(p, any[i], n) == 0) return 1;
    p += n;
  }
  return 0;
}

/* ---- IAM policy ---------------------------------------------------------- */

static int role_has(const role_rec *r, const char *perm) {
  if (r->all) return 1;
  for (size_t i = 0; r->perms[i] != NULL; i++)
    if (strcmp(r->perms[i], perm) == 0) return 1;
  return 0;
}

/* 1 when a binding on `on` applies to `res` (the same, or under it). */
static int covers(const char *on, const char *res) {
  size_t n = strlen(on);
  return strncmp(on, res, n) == 0 && (res[n] == '\0' || res[n] == '/');
}

int emu_has_permission(emu *e, const char *resource, const char *member,
                       const char *permission) {
  char *res;
  int granted = 0;
  int64_t now;
  if (resource == NULL || member == NULL || permission == NULL) return 0;
  res = canon_resource(e, resource);
  pthread_mutex_lock(&e->mu);
  now = (int64_t)time(NULL) + e->offset;
  for (size_t i = 0; i < e->nbindings && !granted; i++) {
    const binding *b = &e->bindings[i];
    const role_rec *r;
    char *on;
    if (b->from > now || (b->until != 0 && b->until <= now)) continue;
    if (strcmp(b->member, member) != 0 && strcmp(b->member, "allUsers") != 0)
      continue;
    r = role_find(e, b->role);
    if (r == NULL || !role_has(r, permission)) continue;
    on = canon_resource(e, b->resource);
    granted = covers(on, res);
    free(on);
  }
  pthread_mutex_unlock(&e->mu);
  free(res);
  return granted;
}

static void counter_bump(counter **arr, size_t *n, const char *key,
                         unsigned long *out);

/* A change to the policy of resource: its etag changes. Under the lock. */
static void policy_bump_locked(emu *e, const char *resource) {
  unsigned long n;
  char *c = canon_resource(e, resource);
  counter_bump(&e->pol_versions, &e->npolver, c, &n);
  free(c);
}

int emu_policy_add(emu *e, const char *resource, const char *role,
                   const char *member, int64_t delay) {
  if (role_find(e, role) == NULL) return -1;
  pthread_mutex_lock(&e->mu);
  policy_bump_locked(e, resource);
  binding_push(e, resource, role, member,
               (int64_t)time(NULL) + e->offset + (delay > 0 ? delay : 0));
  pthread_mutex_unlock(&e->mu);
  return 0;
}

int emu_policy_remove(emu *e, const char *resource, const char *role,
                      const char *member, int64_t delay) {
  int found = 0;
  int64_t now, at;
  pthread_mutex_lock(&e->mu);
  now = (int64_t)time(NULL) + e->offset;
  at = now + (delay > 0 ? delay : 0);
  for (size_t i = 0; i < e->nbindings; i++) {
    binding *b = &e->bindings[i];
    if (strcmp(b->resource, resource) != 0 || strcmp(b->role, role) != 0 ||
        strcmp(b->member, member) != 0)
      continue;
    if (b->until != 0 && b->until <= now) continue; /* already gone */
    if (b->until == 0 || b->until > at) b->until = at;
    found = 1;
  }
  if (found) policy_bump_locked(e, resource);
  pthread_mutex_unlock(&e->mu);
  return found ? 0 : -1;
}

cJSON *emu_policy_json(emu *e) {
  cJSON *arr = cJSON_CreateArray();
  int64_t now;
  pthread_mutex_lock(&e->mu);
  now = (int64_t)time(NULL) + e->offset;
  for (size_t i = 0; i < e->nbindings; i++) {
    const binding *b = &e->bindings[i];
    cJSON *o = cJSON_CreateObject();
    if (b->until != 0 && b->until <= now) {
      cJSON_Delete(o);
      continue; /* removed and propagated: not shown */
    }
    cJSON_AddStringToObject(o, "resource", b->resource);
    cJSON_AddStringToObject(o, "role", b->role);
    cJSON_AddStringToObject(o, "member", b->member);
    cJSON_AddBoolToObject(o, "effective", b->from <= now);
    if (b->from > now)
      cJSON_AddNumberToObject(o, "effective_in", (double)(b->from - now));
    if (b->until != 0)
      cJSON_AddNumberToObject(o, "removed_in", (double)(b->until - now));
    cJSON_AddItemToArray(arr, o);
  }
  pthread_mutex_unlock(&e->mu);
  return arr;
}

/* ---- counters, request log ----------------------------------------------- */

static void counter_bump(counter **arr, size_t *n, const char *key,
                         unsigned long *out) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*arr)[i].key, key) == 0) {
      *out = ++(*arr)[i].n;
      return;
    }
  if (*n >= EMU_MAX_COUNTERS) key = "(other)";
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*arr)[i].key, key) == 0) {
      *out = ++(*arr)[i].n;
      return;
    }
  {
    counter *na = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (na == NULL) abort();
    *arr = na;
    na[*n].key = xstrdup(key);
    na[*n].n = 1;
    *out = 1;
    (*n)++;
  }
}

unsigned long emu_count_execution(emu *e, const char *job) {
  unsigned long n = 0;
  char *c = canon_resource(e, job);
  pthread_mutex_lock(&e->mu);
  counter_bump(&e->exec_counts, &e->nexec, c, &n);
  pthread_mutex_unlock(&e->mu);
  free(c);
  return n;
}

void emu_record_request(emu *e, const char *method, const char *path,
                        int status, const char *principal) {
  unsigned long n;
  logent *l;
  pthread_mutex_lock(&e->mu);
  counter_bump(&e->req_counts, &e->nreq, path, &n);
  l = &e->log[e->log_next];
  e->log_next = (e->log_next + 1) % EMU_LOG_SIZE;
  if (e->log_count < EMU_LOG_SIZE) e->log_count++;
  l->t = (int64_t)time(NULL) + e->offset;
  snprintf(l->method, sizeof(l->method), "%s", method);
  snprintf(l->path, sizeof(l->path), "%s", path);
  l->status = status;
  snprintf(l->principal, sizeof(l->principal), "%s", principal);
  pthread_mutex_unlock(&e->mu);
}

cJSON *emu_counters_json(emu *e) {
  cJSON *o = cJSON_CreateObject();
  cJSON *req = cJSON_AddObjectToObject(o, "requests");
  cJSON *ex = cJSON_AddObjectToObject(o, "executions");
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->nreq; i++)
    cJSON_AddNumberToObject(req, e->req_counts[i].key,
                            (double)e->req_counts[i].n);
  for (size_t i = 0; i < e->nexec; i++)
    cJSON_AddNumberToObject(ex, e->exec_counts[i].key,
                            (double)e->exec_counts[i].n);
  pthread_mutex_unlock(&e->mu);
  return o;
}

void emu_counters_reset(emu *e) {
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->nreq; i++) free(e->req_counts[i].key);
  for (size_t i = 0; i < e->nexec; i++) free(e->exec_counts[i].key);
  free(e->req_counts);
  free(e->exec_counts);
  e->req_counts = e->exec_counts = NULL;
  e->nreq = e->nexec = 0;
  e->log_count = e->log_next = 0;
  pthread_mutex_unlock(&e->mu);
}

cJSON *emu_request_log_json(emu *e) {
  cJSON *arr = cJSON_CreateArray();
  pthread_mutex_lock(&e->mu);
  for (size_t k = 0; k < e->log_count; k++) {
    size_t i = (e->log_next + EMU_LOG_SIZE - e->log_count + k) % EMU_LOG_SIZE;
    const logent *l = &e->log[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "time", (double)l->t);
    cJSON_AddStringToObject(o, "method", l->method);
    cJSON_AddStringToObject(o, "path", l->path);
    cJSON_AddNumberToObject(o, "status", l->status);
    cJSON_AddStringToObject(o, "principal", l->principal);
    cJSON_AddItemToArray(arr, o);
  }
  pthread_mutex_unlock(&e->mu);
  return arr;
}

/* ---- faults -------------------------------------------------------------- */

const char *emu_fault_kind_name(emu_fault_kind k) {
  switch (k) {
    case EMU_FAULT_STATUS: return "status";
    case EMU_FAULT_DELAY: return "delay";
    case EMU_FAULT_RESET: return "reset";
    case EMU_FAULT_TRUNCATE: return "truncate";
    case EMU_FAULT_INVALID_JSON: return "invalid_json";
    case EMU_FAULT_OVERSIZED: return "oversized";
  }
  return "unknown";
}

void emu_fault_set(emu *e, const emu_fault *f) {
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->nfaults; i++)
    if (strcmp(e->faults[i].route, f->route) == 0) {
      e->faults[i] = *f;
      pthread_mutex_unlock(&e->mu);
      return;
    }
  {
    emu_fault *nf = realloc(e->faults, (e->nfaults + 1) * sizeof(*nf));
    if (nf == NULL) abort();
    e->faults = nf;
    e->faults[e->nfaults++] = *f;
  }
  pthread_mutex_unlock(&e->mu);
}

int emu_fault_clear(emu *e, const char *route) {
  int n = 0;
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->nfaults;) {
    if (route == NULL || strcmp(e->faults[i].route, route) == 0) {
      e->faults[i] = e->faults[--e->nfaults];
      n++;
    } else {
      i++;
    }
  }
  pthread_mutex_unlock(&e->mu);
  return n;
}

/* xorshift64*: fractions need no cryptographic randomness. */
static double rng_unit(emu *e) {
  uint64_t x = e->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  e->rng = x;
  return (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

int emu_fault_take(emu *e, const char *path, emu_fault *out) {
  int hit = 0;
  size_t best = 0, bestlen = 0;
  pthread_mutex_lock(&e->mu);
  /* The longest matching prefix wins, so a fault on one path can sit
   * inside a broader one. */
  for (size_t i = 0; i < e->nfaults; i++) {
    size_t n = strlen(e->faults[i].route);
    if (strncmp(path, e->faults[i].route, n) == 0 && n >= bestlen) {
      best = i;
      bestlen = n;
      hit = 1;
    }
  }
  if (hit) {
    emu_fault *f = &e->faults[best];
    if (f->fraction > 0 && f->fraction < 1 && rng_unit(e) >= f->fraction) {
      hit = 0;
    } else {
      *out = *f;
      if (f->remaining > 0 && --f->remaining == 0)
        e->faults[best] = e->faults[--e->nfaults];
    }
  }
  pthread_mutex_unlock(&e->mu);
  return hit;
}

cJSON *emu_faults_json(emu *e) {
  cJSON *arr = cJSON_CreateArray();
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->nfaults; i++) {
    const emu_fault *f = &e->faults[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "route", f->route);
    cJSON_AddStringToObject(o, "kind", emu_fault_kind_name(f->kind));
    if (f->status) cJSON_AddNumberToObject(o, "status", f->status);
    if (f->body[0]) cJSON_AddStringToObject(o, "body", f->body);
    if (f->retry_after[0])
      cJSON_AddStringToObject(o, "retry_after", f->retry_after);
    if (f->delay_ms) cJSON_AddNumberToObject(o, "delay_ms", f->delay_ms);
    if (f->bytes) cJSON_AddNumberToObject(o, "bytes", (double)f->bytes);
    if (f->remaining > 0)
      cJSON_AddNumberToObject(o, "count", (double)f->remaining);
    if (f->fraction > 0) cJSON_AddNumberToObject(o, "fraction", f->fraction);
    cJSON_AddItemToArray(arr, o);
  }
  pthread_mutex_unlock(&e->mu);
  return arr;
}

/* ---- waiting ------------------------------------------------------------- */

void emu_sleep_ms(emu *e, unsigned int ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&e->mu);
  while (!e->stopping) {
    if (pthread_cond_timedwait(&e->cv, &e->mu, &until) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&e->mu);
}

void emu_wake_all(emu *e) {
  pthread_mutex_lock(&e->mu);
  e->stopping = 1;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  mdtree_shutdown(e->md); /* answers the metadata server's waiters */
}

/* The IAM member for an email: a service account when the world has it,
 * else an end user. */
void emu_member_of(emu *e, const char *email, char *out, size_t n) {
  /* A federated token's principal (STS) is already a member name. */
  if (strncmp(email, "principal://", 12) == 0) {
    snprintf(out, n, "%s", email);
    return;
  }
  snprintf(out, n, "%s:%s",
           emu_account_find(e, email) ? "serviceAccount" : "user", email);
}

/* ---- the resources' reads (routes_resources.c) --------------------------- */

int64_t emu_world_created(const emu *e) { return e->created; }

size_t emu_run_service_count(const emu *e) { return e->nservices; }
const char *emu_run_service_at(const emu *e, size_t i) {
  return i < e->nservices ? e->services[i] : NULL;
}
size_t emu_run_job_count(const emu *e) { return e->njobs; }
const char *emu_run_job_at(const emu *e, size_t i) {
  return i < e->njobs ? e->jobs[i] : NULL;
}

static long service_index(const emu *e, const char *name) {
  char *c = canon_resource(e, name);
  long found = -1;
  for (size_t i = 0; i < e->nservices && found < 0; i++)
    if (strcmp(e->services[i], c) == 0) found = (long)i;
  free(c);
  return found;
}

static long job_index(const emu *e, const char *name) {
  char *c = canon_resource(e, name);
  long found = -1;
  for (size_t i = 0; i < e->njobs && found < 0; i++)
    if (strcmp(e->jobs[i], c) == 0) found = (long)i;
  free(c);
  return found;
}

const char *const *emu_service_custom_audiences(emu *e, const char *name) {
  long i = service_index(e, name);
  if (i < 0 || e->service_auds == NULL) return NULL;
  return (const char *const *)e->service_auds[i];
}

const char *emu_service_account_of(emu *e, const char *name) {
  long i = service_index(e, name);
  if (i >= 0 && e->service_sa != NULL && e->service_sa[i] != NULL)
    return e->service_sa[i];
  return e->metadata_account;
}

char *emu_service_url_alt(emu *e, const char *short_name) {
  char *url = emu_service_url(e, short_name);
  static const char loop[] = "http://127.0.0.1:";
  char *alt;
  if (strncmp(url, loop, sizeof(loop) - 1) != 0) return url;
  alt = xasprintf("http://localhost:%s", url + sizeof(loop) - 1);
  free(url);
  return alt;
}

unsigned long emu_execution_count(emu *e, const char *job) {
  unsigned long n = 0;
  char *c = canon_resource(e, job);
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->nexec; i++)
    if (strcmp(e->exec_counts[i].key, c) == 0) n = e->exec_counts[i].n;
  pthread_mutex_unlock(&e->mu);
  free(c);
  return n;
}

void emu_job_set_latest_execution(emu *e, const char *job,
                                  const char *execution, int64_t created) {
  long i = job_index(e, job);
  if (i < 0) return;
  pthread_mutex_lock(&e->mu);
  free(e->job_exec[i]);
  e->job_exec[i] = xstrdup(execution);
  e->job_exec_time[i] = created;
  pthread_mutex_unlock(&e->mu);
}

int emu_job_latest_execution(emu *e, const char *job, char *name, size_t n,
                             int64_t *created) {
  long i = job_index(e, job);
  int found = 0;
  if (i < 0) return 0;
  pthread_mutex_lock(&e->mu);
  if (e->job_exec[i] != NULL) {
    snprintf(name, n, "%s", e->job_exec[i]);
    *created = e->job_exec_time[i];
    found = 1;
  }
  pthread_mutex_unlock(&e->mu);
  return found;
}

size_t emu_account_count(const emu *e) { return e->naccounts; }
const emu_account *emu_account_at(const emu *e, size_t i) {
  return i < e->naccounts ? &e->accounts[i].a : NULL;
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

cJSON *emu_role_included_permissions(emu *e, const char *role) {
  const role_rec *r = role_find(e, role);
  const char **all;
  size_t n = 0, cap = 0;
  cJSON *arr;
  if (r == NULL) return NULL;
  /* roles/owner holds every permission: list every one the world knows. */
  for (size_t i = 0; i < e->nroles; i++)
    if (r->all || &e->roles[i] == r)
      for (size_t k = 0; e->roles[i].perms[k] != NULL; k++) cap++;
  all = xcalloc(cap + 1, sizeof(char *));
  for (size_t i = 0; i < e->nroles; i++)
    if (r->all || &e->roles[i] == r)
      for (size_t k = 0; e->roles[i].perms[k] != NULL; k++)
        all[n++] = e->roles[i].perms[k];
  qsort(all, n, sizeof(char *), str_cmp);
  arr = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++)
    if (i == 0 || strcmp(all[i], all[i - 1]) != 0)
      cJSON_AddItemToArray(arr, cJSON_CreateString(all[i]));
  free(all);
  return arr;
}

int emu_role_exists(emu *e, const char *role) {
  return role != NULL && role_find(e, role) != NULL;
}

int64_t emu_iam_propagation(emu *e) {
  int64_t d;
  pthread_mutex_lock(&e->mu);
  d = e->iam_delay;
  pthread_mutex_unlock(&e->mu);
  return d;
}

void emu_set_iam_propagation(emu *e, int64_t seconds) {
  pthread_mutex_lock(&e->mu);
  e->iam_delay = seconds > 0 ? seconds : 0;
  pthread_mutex_unlock(&e->mu);
}

/* The etag of a resource's policy: base64 of 8 bytes, two of a hash of
 * the resource's name (an etag of one resource is stale for any other)
 * and six of its policy's version (Google's look like "BwXmZ1k7l3Q=").
 * Under the lock. */
static void policy_etag_locked(const emu *e, const char *canon, char out[16]) {
  unsigned char raw[8], md[32];
  unsigned int mdlen = 0;
  unsigned long v = 0;
  EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL);
  raw[0] = md[0];
  raw[1] = md[1];
  for (size_t i = 0; i < e->npolver; i++)
    if (strcmp(e->pol_versions[i].key, canon) == 0) v = e->pol_versions[i].n;
  for (int i = 0; i < 6; i++)
    raw[7 - i] = (unsigned char)((v >> (8 * i)) & 0xff);
  EVP_EncodeBlock((unsigned char *)out, raw, 8);
}

typedef struct pair {
  const char *role, *member;
} pair;

static int pair_cmp(const void *a, const void *b) {
  const pair *x = a, *y = b;
  int c = strcmp(x->role, y->role);
  return c != 0 ? c : strcmp(x->member, y->member);
}

/* The (role, member) pairs bound on exactly canon and not removed (even if
 * not yet in effect), sorted, without repeats. Borrowed from the bindings;
 * under the lock. free() the array. */
static pair *policy_pairs_locked(const emu *e, const char *canon, size_t *n) {
  pair *p = xcalloc(e->nbindings + 1, sizeof(pair));
  size_t k = 0, out = 0;
  for (size_t i = 0; i < e->nbindings; i++) {
    const binding *b = &e->bindings[i];
    char *on;
    if (b->until != 0) continue;
    on = canon_resource(e, b->resource);
    if (strcmp(on, canon) == 0) {
      p[k].role = b->role;
      p[k].member = b->member;
      k++;
    }
    free(on);
  }
  qsort(p, k, sizeof(pair), pair_cmp);
  for (size_t i = 0; i < k; i++)
    if (out == 0 || pair_cmp(&p[i], &p[out - 1]) != 0) p[out++] = p[i];
  *n = out;
  return p;
}

/* Google's Policy JSON of canon; under the lock. */
static cJSON *policy_json_locked(const emu *e, const char *canon) {
  char etag[16];
  size_t n;
  pair *p = policy_pairs_locked(e, canon, &n);
  cJSON *o = cJSON_CreateObject(), *arr = NULL, *members = NULL;
  cJSON_AddNumberToObject(o, "version", 1);
  policy_etag_locked(e, canon, etag);
  cJSON_AddStringToObject(o, "etag", etag);
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || strcmp(p[i].role, p[i - 1].role) != 0) {
      cJSON *b = cJSON_CreateObject();
      if (arr == NULL) arr = cJSON_AddArrayToObject(o, "bindings");
      cJSON_AddStringToObject(b, "role", p[i].role);
      members = cJSON_AddArrayToObject(b, "members");
      cJSON_AddItemToArray(arr, b);
    }
    cJSON_AddItemToArray(members, cJSON_CreateString(p[i].member));
  }
  free(p);
  return o;
}

cJSON *emu_policy_of(emu *e, const char *resource) {
  char *c = canon_resource(e, resource);
  cJSON *o;
  pthread_mutex_lock(&e->mu);
  o = policy_json_locked(e, c);
  pthread_mutex_unlock(&e->mu);
  free(c);
  return o;
}

/* 1 when the bindings array (of {"role","members":[...]}) holds the pair. */
static int policy_holds(const cJSON *bindings, const char *role,
                        const char *member) {
  const cJSON *b, *m;
  cJSON_ArrayForEach(b, bindings) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "role");
    if (!cJSON_IsString(r) || strcmp(r->valuestring, role) != 0) continue;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(b, "members")) {
      if (cJSON_IsString(m) && strcmp(m->valuestring, member) == 0) return 1;
    }
  }
  return 0;
}

int emu_policy_set(emu *e, const char *resource, const cJSON *bindings,
                   const char *etag, cJSON **out) {
  char *c = canon_resource(e, resource);
  char cur[16];
  const cJSON *b, *m;
  int64_t at;
  pthread_mutex_lock(&e->mu);
  policy_etag_locked(e, c, cur);
  if (etag != NULL && etag[0] != '\0' && strcmp(etag, cur) != 0) {
    pthread_mutex_unlock(&e->mu);
    free(c);
    return -1;
  }
  at = (int64_t)time(NULL) + e->offset + e->iam_delay;
  /* Removals: what is bound now and not in the new policy stops granting
   * once the change has propagated. */
  for (size_t i = 0; i < e->nbindings; i++) {
    binding *x = &e->bindings[i];
    char *on;
    if (x->until != 0) continue;
    on = canon_resource(e, x->resource);
    if (strcmp(on, c) == 0 && !policy_holds(bindings, x->role, x->member))
      x->until = at;
    free(on);
  }
  /* Additions: what the new policy has and the old did not (bindings the
   * loop above just removed are not "had"). */
  cJSON_ArrayForEach(b, bindings) {
    const char *role = cJSON_GetObjectItemCaseSensitive(b, "role")->valuestring;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(b, "members")) {
      int had = 0;
      for (size_t i = 0; i < e->nbindings && !had; i++) {
        const binding *x = &e->bindings[i];
        char *on;
        if (x->until != 0 || strcmp(x->role, role) != 0 ||
            strcmp(x->member, m->valuestring) != 0)
          continue;
        on = canon_resource(e, x->resource);
        had = strcmp(on, c) == 0;
        free(on);
      }
      if (!had) binding_push(e, c, role, m->valuestring, at);
    }
  }
  policy_bump_locked(e, c);
  *out = policy_json_locked(e, c);
  pthread_mutex_unlock(&e->mu);
  free(c);
  return 0;
}
