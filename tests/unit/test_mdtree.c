/* The metadata document and its reads (examples/metadata/mdtree.c): pure,
 * no I/O; waits run on threads of the test with short timeouts. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "mdtree.h"

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

#define RUNNER "runner@demo-project.iam.gserviceaccount.com"

static const char doc_text[] =
    "{\"instance\":{\"attributes\":{\"my_Key-1\":\"v1\",\"startup-script\":"
    "\"echo hi\"},\"hostname\":\"vm.c.demo.internal\",\"id\":"
    "4520031799277581759,\"machineType\":\"projects/1/machineTypes/e2-small\","
    "\"networkInterfaces\":[{\"accessConfigs\":[{\"externalIp\":\"\",\"type\":"
    "\"ONE_TO_ONE_NAT\"}],\"ip\":\"10.128.0.2\",\"mtu\":1460}],"
    "\"serviceAccounts\":{\"default\":{\"aliases\":[\"default\"],\"email\":"
    "\"" RUNNER "\",\"scopes\":[\"s1\",\"s2\"]},\"" RUNNER
    "\":{\"aliases\":[\"default\"],\"email\":\"" RUNNER
    "\",\"scopes\":[\"s1\",\"s2\"]}},\"tags\":[\"web\",\"db\"],\"zone\":"
    "\"projects/1/zones/us-central1-a\"},\"oauth\":{},\"project\":{"
    "\"attributes\":{},\"numericProjectId\":123456789012,\"projectId\":"
    "\"demo-project\"},\"universe\":{\"universeDomain\":\"googleapis.com\"}}";

static mdtree *tree(size_t max_waiters) {
  mdtree *t = mdtree_new(max_waiters);
  cJSON *d = cJSON_Parse(doc_text);
  cJSON *id;
  cr_assert_not_null(t);
  cr_assert_not_null(d);
  /* The instance id does not fit a double: a raw number. */
  id = cJSON_CreateRaw("4520031799277581759");
  cJSON_ReplaceItemInObjectCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(d, "instance"), "id", id);
  cr_assert_eq(mdtree_set_document(t, d), 0);
  return t;
}

/* GET path?query (query: "a=b&c=d" or NULL) into *r. */
/* Called by several threads at once (the waiting tests): the query's copy
 * is the caller's own. */
static mdtree_result get(mdtree *t, const char *path, const char *query,
                         mdtree_reply *r) {
  char qs[512];
  mdtree_query q = {0};
  char *save = NULL, *kv;
  snprintf(qs, sizeof(qs), "%s", query ? query : "");
  for (kv = strtok_r(qs, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(kv, '=');
    const char *v = eq ? eq + 1 : "";
    if (eq) *eq = '\0';
    if (strcmp(kv, "recursive") == 0) q.recursive = v;
    if (strcmp(kv, "alt") == 0) q.alt = v;
    if (strcmp(kv, "wait_for_change") == 0) q.wait_for_change = v;
    if (strcmp(kv, "last_etag") == 0) q.last_etag = v;
    if (strcmp(kv, "timeout_sec") == 0) q.timeout_sec = v;
  }
  return mdtree_get(t, path, &q, r);
}

static void is(mdtree *t, const char *path, const char *query, int status,
               const char *ct, const char *body) {
  mdtree_reply r;
  cr_assert_eq(get(t, path, query, &r), MDTREE_ANSWERED, "%s", path);
  cr_assert_eq(r.status, status, "%s?%s: %d %s", path, query ? query : "",
               r.status, r.body);
  if (ct) cr_assert_str_eq(r.content_type, ct, "%s", path);
  if (body) cr_assert_str_eq(r.body, body, "%s?%s", path, query ? query : "");
  cr_assert_eq(r.body_len, strlen(r.body));
  if (status == 200) cr_assert_eq(strlen(r.etag), 16, "%s: etag", path);
  mdtree_reply_clear(&r);
}

Test(mdtree, listings) {
  mdtree *t = tree(4);
  is(t, "", NULL, 200, "application/text",
     "instance/\noauth/\nproject/\nuniverse/\n");
  is(t, "instance/", NULL, 200, "application/text",
     "attributes/\nhostname\nid\nmachine-type\nnetwork-interfaces/\n"
     "service-accounts/\ntags\nzone\n");
  is(t, "instance", NULL, 200, NULL,
     "attributes/\nhostname\nid\nmachine-type\nnetwork-interfaces/\n"
     "service-accounts/\ntags\nzone\n");
  is(t, "instance/attributes/", NULL, 200, NULL, "my_Key-1\nstartup-script\n");
  is(t, "project/attributes/", NULL, 200, NULL, "");
  is(t, "instance/service-accounts/", NULL, 200, NULL,
     "default/\n" RUNNER "/\n");
  is(t, "instance/service-accounts/default/", NULL, 200, NULL,
     "aliases\nemail\nidentity\nscopes\ntoken\n");
  is(t, "instance/network-interfaces/", NULL, 200, NULL, "0/\n");
  is(t, "instance/network-interfaces/0/", NULL, 200, NULL,
     "access-configs/\nip\nmtu\n");
  is(t, "instance/", "alt=json", 200, "application/json", NULL);
  is(t, "project/", "alt=json", 200, "application/json",
     "[\"attributes/\",\"numeric-project-id\",\"project-id\"]");
  mdtree_free(t);
}

Test(mdtree, leaves_and_kebab_case) {
  mdtree *t = tree(4);
  is(t, "instance/machine-type", NULL, 200, "application/text",
     "projects/1/machineTypes/e2-small");
  is(t, "instance/id", NULL, 200, NULL, "4520031799277581759");
  is(t, "instance/id", "alt=json", 200, "application/json",
     "4520031799277581759");
  is(t, "project/numeric-project-id", NULL, 200, NULL, "123456789012");
  is(t, "project/project-id", "alt=json", 200, "application/json",
     "\"demo-project\"");
  is(t, "universe/universe-domain", NULL, 200, NULL, "googleapis.com");
  is(t, "universe/universe_domain", NULL, 200, NULL, "googleapis.com");
  is(t, "instance/network-interfaces/0/ip", NULL, 200, NULL, "10.128.0.2");
  is(t, "instance/network-interfaces/0/mtu", NULL, 200, NULL, "1460");
  is(t, "instance/network-interfaces/0/access-configs/0/type", NULL, 200, NULL,
     "ONE_TO_ONE_NAT");
  is(t, "instance/service-accounts/default/scopes", NULL, 200, NULL,
     "s1\ns2\n");
  is(t, "instance/service-accounts/" RUNNER "/email", NULL, 200, NULL, RUNNER);
  /* Attribute keys are verbatim. */
  is(t, "instance/attributes/my_Key-1", NULL, 200, NULL, "v1");
  is(t, "instance/attributes/my-key-1", NULL, 404, NULL, NULL);
  /* tags: JSON unless alt=text. */
  is(t, "instance/tags", NULL, 200, "application/json", "[\"web\",\"db\"]");
  is(t, "instance/tags", "alt=text", 200, "application/text", "web\ndb\n");
  /* camelCase in a path, a leaf with a slash, indexes out of range. */
  is(t, "instance/machineType", NULL, 404, NULL, NULL);
  is(t, "instance/zone/", NULL, 404, NULL, NULL);
  is(t, "instance/network-interfaces/1/", NULL, 404, NULL, NULL);
  is(t, "instance/network-interfaces/00/ip", NULL, 404, NULL, NULL);
  is(t, "instance//zone", NULL, 404, NULL, NULL);
  mdtree_free(t);
}

Test(mdtree, recursive_json_and_text) {
  mdtree *t = tree(4);
  mdtree_reply r;
  cJSON *j;
  get(t, "instance/", "recursive=true", &r);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.content_type, "application/json");
  cr_assert_not_null(strstr(r.body, "\"id\":4520031799277581759"), "%s",
                     r.body);
  j = cJSON_Parse(r.body);
  cr_assert_not_null(j);
  cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(j, "machineType"));
  cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(j, "networkInterfaces"));
  cr_assert_null(cJSON_GetObjectItemCaseSensitive(j, "machine-type"));
  cJSON_Delete(j);
  mdtree_reply_clear(&r);
  is(t, "project/", "recursive=True", 200, "application/json",
     "{\"attributes\":{},\"numericProjectId\":123456789012,\"projectId\":"
     "\"demo-project\"}");
  is(t, "instance/network-interfaces/", "recursive=true&alt=text", 200,
     "application/text",
     "0/access-configs/0/external-ip \n0/access-configs/0/type "
     "ONE_TO_ONE_NAT\n0/ip 10.128.0.2\n0/mtu 1460\n");
  is(t, "instance/service-accounts/default/", "recursive=true&alt=text", 200,
     NULL, "aliases default\nemail " RUNNER "\nscopes s1\nscopes s2\n");
  is(t, "instance/attributes/", "recursive=true&alt=text", 200, NULL,
     "my_Key-1 v1\nstartup-script echo hi\n");
  is(t, "instance/attributes/", "recursive=true", 200, NULL,
     "{\"my_Key-1\":\"v1\",\"startup-script\":\"echo hi\"}");
  /* The whole document, sorted. */
  get(t, "", "recursive=true", &r);
  cr_assert_eq(strncmp(r.body, "{\"instance\":{\"attributes\":", 26), 0, "%s",
               r.body);
  cr_assert_not_null(strstr(r.body, "\"oauth\":{},\"project\":"));
  mdtree_reply_clear(&r);
  mdtree_free(t);
}

Test(mdtree, redirects_errors_and_parameters) {
  mdtree *t = tree(4);
  mdtree_reply r;
  get(t, "instance/service-accounts/default", NULL, &r);
  cr_assert_eq(r.status, 301);
  cr_assert_str_eq(r.location, "instance/service-accounts/default/");
  cr_assert_str_eq(r.etag, "");
  mdtree_reply_clear(&r);
  get(t, "instance/attributes", NULL, &r);
  cr_assert_eq(r.status, 301);
  cr_assert_str_eq(r.location, "instance/attributes/");
  mdtree_reply_clear(&r);
  get(t, "nothing/<here>", NULL, &r);
  cr_assert_eq(r.status, 404);
  cr_assert_str_eq(r.content_type, "text/html; charset=UTF-8");
  cr_assert_not_null(
      strstr(r.body, "<code>/computeMetadata/v1/nothing/&lt;here&gt;</code>"),
      "%s", r.body);
  mdtree_reply_clear(&r);
  is(t, "instance/zone", "alt=xml", 400, "text/html; charset=UTF-8", NULL);
  is(t, "instance/zone", "wait_for_change=true&timeout_sec=1.5", 400, NULL,
     NULL);
  is(t, "instance/zone", "wait_for_change=true&timeout_sec=-1", 400, NULL,
     NULL);
  mdtree_free(t);
}

Test(mdtree, dynamic_leaves) {
  mdtree *t = tree(4);
  mdtree_reply r;
  cr_assert_eq(get(t, "instance/service-accounts/default/token", NULL, &r),
               MDTREE_DYNAMIC);
  cr_assert_str_eq(r.account, RUNNER);
  cr_assert_str_eq(r.leaf, "token");
  mdtree_reply_clear(&r);
  cr_assert_eq(get(t, "instance/service-accounts/" RUNNER "/identity",
                   "wait_for_change=true", &r),
               MDTREE_DYNAMIC);
  cr_assert_str_eq(r.account, RUNNER);
  cr_assert_str_eq(r.leaf, "identity");
  mdtree_reply_clear(&r);
  is(t, "instance/service-accounts/other@x.com/token", NULL, 404, NULL, NULL);
  is(t, "instance/service-accounts/default/token/", NULL, 404, NULL, NULL);
  is(t, "instance/token", NULL, 404, NULL, NULL);
  mdtree_free(t);
}

Test(mdtree, attributes_merge) {
  mdtree *t = tree(4);
  char err[256];
  cJSON *now = NULL, *c;
  c = cJSON_Parse("{\"b-key\":\"2\",\"a_key\":\"1\",\"my_Key-1\":null}");
  cr_assert_eq(
      mdtree_merge_attributes(t, "instance", c, &now, err, sizeof(err)), 0,
      "%s", err);
  cJSON_Delete(c);
  cr_assert_eq(cJSON_GetArraySize(now), 3);
  cJSON_Delete(now);
  is(t, "instance/attributes/", NULL, 200, NULL,
     "a_key\nb-key\nstartup-script\n");
  is(t, "instance/attributes/my_Key-1", NULL, 404, NULL, NULL);
  /* Refused as a whole. */
  c = cJSON_Parse("{\"ok\":\"1\",\"bad key\":\"x\"}");
  cr_assert_eq(mdtree_merge_attributes(t, "project", c, NULL, err, sizeof(err)),
               -1);
  cr_assert_not_null(strstr(err, "bad key"), "%s", err);
  cJSON_Delete(c);
  is(t, "project/attributes/ok", NULL, 404, NULL, NULL);
  c = cJSON_Parse("{\"n\":1}");
  cr_assert_eq(mdtree_merge_attributes(t, "project", c, NULL, err, sizeof(err)),
               -1);
  cr_assert_not_null(strstr(err, "must be a string"), "%s", err);
  cJSON_Delete(c);
  c = cJSON_Parse("{\"n\":\"1\"}");
  cr_assert_eq(mdtree_merge_attributes(t, "zone", c, NULL, err, sizeof(err)),
               -1);
  cJSON_Delete(c);
  {
    /* 128-byte key; values over 256 KiB; over 512 KiB in all. */
    char key[130];
    char *big = malloc(300 * 1024);
    memset(key, 'k', 128);
    key[128] = '\0';
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, key, "v");
    cr_assert_eq(
        mdtree_merge_attributes(t, "project", c, NULL, err, sizeof(err)), -1);
    cJSON_Delete(c);
    memset(big, 'x', 300 * 1024 - 1);
    big[300 * 1024 - 1] = '\0';
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "big", big);
    cr_assert_eq(
        mdtree_merge_attributes(t, "project", c, NULL, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "256 KiB"), "%s", err);
    cr_assert_null(strstr(err, "xxxx"), "the value is not echoed");
    cJSON_Delete(c);
    big[200 * 1024] = '\0';
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "b1", big);
    cJSON_AddStringToObject(c, "b2", big);
    cr_assert_eq(
        mdtree_merge_attributes(t, "project", c, NULL, err, sizeof(err)), 0,
        "%s", err);
    cJSON_Delete(c);
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "b3", big);
    cr_assert_eq(
        mdtree_merge_attributes(t, "project", c, NULL, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "512 KiB"), "%s", err);
    cJSON_Delete(c);
    free(big);
  }
  mdtree_free(t);
}

static void etag_of(mdtree *t, const char *path, const char *query,
                    char out[17]) {
  mdtree_reply r;
  get(t, path, query, &r);
  cr_assert_eq(r.status, 200, "%s", path);
  memcpy(out, r.etag, 17);
  mdtree_reply_clear(&r);
}

Test(mdtree, etags) {
  mdtree *t = tree(4);
  char a[17], b[17], c[17], d[17];
  cJSON *ch;
  char err[128];
  etag_of(t, "project/attributes/", "recursive=true", a);
  etag_of(t, "project/attributes/", "recursive=true&alt=text", b);
  cr_assert_str_eq(a, b, "alt does not change the ETag");
  etag_of(t, "instance/zone", NULL, c);
  etag_of(t, "instance/zone", "alt=json", d);
  cr_assert_str_eq(c, d);
  for (int i = 0; i < 16; i++)
    cr_assert(strchr("0123456789abcdef", c[i]) != NULL);
  ch = cJSON_Parse("{\"k\":\"v\"}");
  cr_assert_eq(
      mdtree_merge_attributes(t, "project", ch, NULL, err, sizeof(err)), 0);
  cJSON_Delete(ch);
  etag_of(t, "project/attributes/", "recursive=true", b);
  cr_assert_str_neq(a, b, "the changed path has a new ETag");
  etag_of(t, "instance/zone", NULL, d);
  cr_assert_str_eq(c, d, "an unrelated path keeps its ETag");
  {
    char e[17];
    mdtree_etag("abc", 3, e);
    cr_assert_str_eq(e, "e71fa2190541574b"); /* FNV-1a 64 of "abc" */
  }
  mdtree_free(t);
}

/* ---- waiting ------------------------------------------------------------ */

typedef struct waiter {
  mdtree *t;
  const char *path, *query;
  mdtree_reply r;
  double seconds;
} waiter;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *wait_thread(void *arg) {
  waiter *w = arg;
  double t0 = now_s();
  get(w->t, w->path, w->query, &w->r);
  w->seconds = now_s() - t0;
  return NULL;
}

static void wait_for_waiters(mdtree *t, size_t n) {
  for (int i = 0; i < 500 && mdtree_waiters(t) < n; i++) sleep_ms(10);
  cr_assert_eq(mdtree_waiters(t), n);
}

static void set_attr(mdtree *t, const char *scope, const char *json) {
  char err[128];
  cJSON *c = cJSON_Parse(json);
  cr_assert_eq(mdtree_merge_attributes(t, scope, c, NULL, err, sizeof(err)), 0,
               "%s", err);
  cJSON_Delete(c);
}

Test(mdtree, stale_etag_answers_at_once) {
  mdtree *t = tree(4);
  waiter w = {t, "instance/zone", "wait_for_change=true&last_etag=0", {0}, 0};
  wait_thread(&w);
  cr_assert_eq(w.r.status, 200);
  cr_assert_eq(w.r.waited, 0);
  cr_assert_lt(w.seconds, 0.5);
  mdtree_reply_clear(&w.r);
  mdtree_free(t);
}

Test(mdtree, woken_by_a_change_of_its_path_only) {
  mdtree *t = tree(4);
  char q[128], e[17];
  pthread_t th;
  waiter w = {t, "project/attributes/flag", q, {0}, 0};
  set_attr(t, "project", "{\"flag\":\"old\"}");
  etag_of(t, "project/attributes/flag", NULL, e);
  snprintf(q, sizeof(q), "wait_for_change=true&timeout_sec=20&last_etag=%s", e);
  cr_assert_eq(pthread_create(&th, NULL, wait_thread, &w), 0);
  wait_for_waiters(t, 1);
  set_attr(t, "instance", "{\"other\":\"x\"}"); /* not its path */
  set_attr(t, "project", "{\"unrelated\":\"x\"}");
  sleep_ms(200);
  cr_assert_eq(mdtree_waiters(t), 1, "an unrelated change woke it");
  set_attr(t, "project", "{\"flag\":\"new\"}");
  pthread_join(th, NULL);
  cr_assert_eq(w.r.status, 200);
  cr_assert_str_eq(w.r.body, "new");
  cr_assert_str_neq(w.r.etag, e);
  cr_assert_eq(w.r.waited, 1);
  cr_assert_lt(w.seconds, 10);
  mdtree_reply_clear(&w.r);
  mdtree_free(t);
}

Test(mdtree, without_last_etag_waits_for_the_next_change) {
  mdtree *t = tree(4);
  pthread_t th;
  waiter w = {
      t, "instance/attributes/", "recursive=true&wait_for_change=true", {0}, 0};
  cr_assert_eq(pthread_create(&th, NULL, wait_thread, &w), 0);
  wait_for_waiters(t, 1);
  set_attr(t, "instance", "{\"k\":\"v\"}");
  pthread_join(th, NULL);
  cr_assert_eq(w.r.status, 200);
  cr_assert_not_null(strstr(w.r.body, "\"k\":\"v\""), "%s", w.r.body);
  mdtree_reply_clear(&w.r);
  mdtree_free(t);
}

Test(mdtree, timeout_answers_the_unchanged_value) {
  mdtree *t = tree(4);
  char e[17], q[128];
  waiter w = {t, "instance/zone", q, {0}, 0};
  etag_of(t, "instance/zone", NULL, e);
  snprintf(q, sizeof(q), "wait_for_change=true&timeout_sec=1&last_etag=%s", e);
  wait_thread(&w);
  cr_assert_eq(w.r.status, 200);
  cr_assert_str_eq(w.r.body, "projects/1/zones/us-central1-a");
  cr_assert_str_eq(w.r.etag, e);
  cr_assert_eq(w.r.waited, 1);
  cr_assert_geq(w.seconds, 0.9);
  cr_assert_lt(w.seconds, 5);
  mdtree_reply_clear(&w.r);
  /* The tree's maximum cuts a longer timeout. */
  mdtree_set_max_wait(t, 1);
  snprintf(q, sizeof(q), "wait_for_change=true&timeout_sec=600&last_etag=%s",
           e);
  wait_thread(&w);
  cr_assert_eq(w.r.status, 200);
  cr_assert_lt(w.seconds, 5);
  mdtree_reply_clear(&w.r);
  mdtree_free(t);
}

Test(mdtree, waiter_cap) {
  mdtree *t = tree(2);
  pthread_t th[2];
  waiter w[2] = {{t, "instance/zone", "wait_for_change=true", {0}, 0},
                 {t, "instance/id", "wait_for_change=true", {0}, 0}};
  waiter extra = {t, "instance/name", "wait_for_change=true", {0}, 0};
  for (int i = 0; i < 2; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, wait_thread, &w[i]), 0);
  wait_for_waiters(t, 2);
  wait_thread(&extra);
  cr_assert_eq(extra.r.status, 404, "a path that does not exist: 404 first");
  mdtree_reply_clear(&extra.r);
  extra.path = "instance/hostname";
  wait_thread(&extra);
  cr_assert_eq(extra.r.status, 503);
  cr_assert_gt(extra.r.retry_after, 0);
  cr_assert_not_null(strstr(extra.r.body, "at most 2"), "%s", extra.r.body);
  mdtree_reply_clear(&extra.r);
  /* Without waiting, reads go on. */
  is(t, "instance/hostname", NULL, 200, NULL, "vm.c.demo.internal");
  mdtree_shutdown(t);
  for (int i = 0; i < 2; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(w[i].r.status, 200);
    mdtree_reply_clear(&w[i].r);
  }
  cr_assert_eq(mdtree_waiters(t), 0);
  /* After shutdown a wait answers at once. */
  wait_thread(&extra);
  cr_assert_eq(extra.r.status, 200);
  cr_assert_lt(extra.seconds, 0.5);
  mdtree_reply_clear(&extra.r);
  mdtree_free(t);
}

Test(mdtree, zero_waiters_refuses_every_wait) {
  mdtree *t = tree(0);
  is(t, "instance/zone", "wait_for_change=true", 503, NULL, NULL);
  is(t, "instance/zone", NULL, 200, NULL, NULL);
  mdtree_free(t);
}

static void *free_later(void *arg) {
  sleep_ms(200);
  mdtree_free(arg);
  return NULL;
}

Test(mdtree, free_answers_blocked_waiters) {
  mdtree *t = tree(8);
  pthread_t th[4], f;
  waiter w[4];
  for (int i = 0; i < 4; i++) {
    w[i] =
        (waiter){t, "project/", "recursive=true&wait_for_change=true", {0}, 0};
    cr_assert_eq(pthread_create(&th[i], NULL, wait_thread, &w[i]), 0);
  }
  wait_for_waiters(t, 4);
  cr_assert_eq(pthread_create(&f, NULL, free_later, t), 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(w[i].r.status, 200);
    cr_assert_not_null(strstr(w[i].r.body, "demo-project"));
    mdtree_reply_clear(&w[i].r);
  }
  pthread_join(f, NULL);
}

Test(mdtree, update_and_copy) {
  mdtree *t = tree(4);
  cJSON *c = mdtree_copy(t, "instance/network-interfaces/0");
  cr_assert_not_null(c);
  cr_assert_str_eq(cJSON_GetObjectItem(c, "ip")->valuestring, "10.128.0.2");
  cJSON_Delete(c);
  cr_assert_null(mdtree_copy(t, "instance/nope"));
  c = mdtree_copy(t, NULL);
  cr_assert_not_null(cJSON_GetObjectItem(c, "universe"));
  cJSON_Delete(c);
  cr_assert_eq(mdtree_set_document(t, cJSON_CreateArray()), -1);
  mdtree_free(t);
}
