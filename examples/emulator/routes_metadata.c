/* gauth-emulator: the GCE metadata server, GET / and /computeMetadata/v1/...
 * As on GCE: the request must carry Metadata-Flavor: Google and no
 * X-Forwarded-For (403 otherwise), every reply carries Metadata-Flavor:
 * Google and an ETag. What /computeMetadata/v1/... holds, and how it is
 * read (listings, ?recursive=true, alt=, wait_for_change), is the shared
 * metadata document (examples/metadata/mdtree.h), built here from the world;
 * this file adds the HTTP side and mints the token and identity leaves.
 * The instance's default account is emu_metadata_account (runner@...). */
#include "emulator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define MD_ROOT "/computeMetadata/v1/"
#define MD_TEXT "application/text"
#define MD_INSTANCE_ID "4520031799277581759"
/* A Cloud Run instance's id: a long hex string (not a secret). */
#define MD_RUN_INSTANCE_ID                                           \
  "00f46b9a8c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f" \
  "9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"

/* Sets the reply and the headers every metadata reply carries: an ETag of
 * its own when etag is NULL or "" (errors, tokens). */
static void md_reply(emu_response *r, int status, const char *ct,
                     const char *body, size_t len, const char *etag) {
  char own[17];
  /* Bodies are text without NUL bytes (cJSON strings cannot hold one). */
  emu_reply_text(r, status, ct, body);
  emu_reply_header(r, "Metadata-Flavor", "Google");
  emu_reply_header(r, "Server", "Metadata Server for VM");
  if (etag == NULL || etag[0] == '\0') {
    mdtree_etag(body, len, own);
    etag = own;
  }
  emu_reply_header(r, "ETag", etag);
}

static void md_text(emu_response *r, int status, const char *ct,
                    const char *text) {
  md_reply(r, status, ct, text, strlen(text), NULL);
}

static void md_forbidden(emu_response *r, const char *path, const char *why) {
  char body[700];
  snprintf(body, sizeof(body),
           "<!DOCTYPE html>\n<html lang=en>\n<title>Error 403 (Forbidden)"
           "</title>\n<p><b>403.</b> <ins>That's an error.</ins>\n<p>Your "
           "client does not have permission to get URL <code>%.300s</code> "
           "from this server. %s <ins>That's all we know.</ins>\n",
           path, why);
  md_text(r, 403, "text/html; charset=UTF-8", body);
}

/* ---- the document -------------------------------------------------------- */

static void add_raw(cJSON *o, const char *name, const char *raw) {
  cJSON_AddItemToObject(o, name, cJSON_CreateRaw(raw));
}

static cJSON *account_json(const char *email) {
  cJSON *o = cJSON_CreateObject(), *a;
  a = cJSON_AddArrayToObject(o, "aliases");
  cJSON_AddItemToArray(a, cJSON_CreateString("default"));
  cJSON_AddStringToObject(o, "email", email);
  a = cJSON_AddArrayToObject(o, "scopes");
  cJSON_AddItemToArray(a, cJSON_CreateString(GAUTH_SCOPE_CLOUD_PLATFORM));
  return o;
}

static void add_accounts(emu *e, cJSON *instance) {
  cJSON *sas = cJSON_AddObjectToObject(instance, "serviceAccounts");
  cJSON_AddItemToObject(sas, "default", account_json(emu_metadata_account(e)));
  cJSON_AddItemToObject(sas, emu_metadata_account(e),
                        account_json(emu_metadata_account(e)));
}

/* What a VM's instance/ holds (the fields of a real e2-small VM, derived
 * from the world; its one network interface has a loopback address, as
 * the emulated VM is this machine). */
static cJSON *gce_instance(emu *e) {
  const char *num = emu_project_number(e);
  char buf[512];
  cJSON *o = cJSON_CreateObject(), *a, *x;
  cJSON_AddObjectToObject(o, "attributes");
  cJSON_AddStringToObject(o, "cpuPlatform", "Intel Broadwell");
  cJSON_AddStringToObject(o, "description", "");
  a = cJSON_AddArrayToObject(o, "disks");
  x = cJSON_CreateObject();
  cJSON_AddStringToObject(x, "deviceName", "emulator-vm");
  cJSON_AddNumberToObject(x, "index", 0);
  cJSON_AddStringToObject(x, "interface", "SCSI");
  cJSON_AddStringToObject(x, "mode", "READ_WRITE");
  cJSON_AddStringToObject(x, "type", "PERSISTENT-BALANCED");
  cJSON_AddItemToArray(a, x);
  cJSON_AddObjectToObject(o, "guestAttributes");
  snprintf(buf, sizeof(buf), "emulator-vm.%s.c.%s.internal", emu_zone(e),
           emu_project_id(e));
  cJSON_AddStringToObject(o, "hostname", buf);
  add_raw(o, "id", MD_INSTANCE_ID);
  cJSON_AddStringToObject(
      o, "image", "projects/debian-cloud/global/images/debian-12-bookworm");
  snprintf(buf, sizeof(buf), "projects/%s/machineTypes/e2-small", num);
  cJSON_AddStringToObject(o, "machineType", buf);
  cJSON_AddStringToObject(o, "maintenanceEvent", "NONE");
  cJSON_AddStringToObject(o, "name", "emulator-vm");
  a = cJSON_AddArrayToObject(o, "networkInterfaces");
  x = cJSON_CreateObject();
  cJSON_AddArrayToObject(x, "accessConfigs");
  cJSON_AddItemToObject(x, "dnsServers", cJSON_CreateArray());
  cJSON_AddItemToArray(cJSON_GetObjectItem(x, "dnsServers"),
                       cJSON_CreateString("169.254.169.254"));
  cJSON_AddArrayToObject(x, "forwardedIps");
  cJSON_AddStringToObject(x, "gateway", "127.0.0.1");
  cJSON_AddStringToObject(x, "ip", "127.0.0.1");
  cJSON_AddArrayToObject(x, "ipAliases");
  cJSON_AddStringToObject(x, "mac", "42:01:7f:00:00:01");
  cJSON_AddNumberToObject(x, "mtu", 1460);
  snprintf(buf, sizeof(buf), "projects/%s/networks/default", num);
  cJSON_AddStringToObject(x, "network", buf);
  cJSON_AddStringToObject(x, "subnetmask", "255.0.0.0");
  cJSON_AddArrayToObject(x, "targetInstanceIps");
  cJSON_AddItemToArray(a, x);
  cJSON_AddObjectToObject(o, "partnerAttributes");
  cJSON_AddStringToObject(o, "preempted", "FALSE");
  cJSON_AddNumberToObject(o, "remainingCpuTime", -1);
  x = cJSON_AddObjectToObject(o, "scheduling");
  cJSON_AddStringToObject(x, "automaticRestart", "TRUE");
  cJSON_AddStringToObject(x, "onHostMaintenance", "MIGRATE");
  cJSON_AddStringToObject(x, "preemptible", "FALSE");
  add_accounts(e, o);
  cJSON_AddArrayToObject(o, "tags");
  x = cJSON_AddObjectToObject(o, "virtualClock");
  cJSON_AddStringToObject(x, "driftToken", "0");
  snprintf(buf, sizeof(buf), "projects/%s/zones/%s", num, emu_zone(e));
  cJSON_AddStringToObject(o, "zone", buf);
  return o;
}

/* What a Cloud Run instance's instance/ holds: its id, region and zone, and
 * its service account; no attributes, no VM fields. */
static cJSON *run_instance(emu *e) {
  char buf[512];
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", MD_RUN_INSTANCE_ID);
  snprintf(buf, sizeof(buf), "projects/%s/regions/%s", emu_project_number(e),
           emu_region(e));
  cJSON_AddStringToObject(o, "region", buf);
  add_accounts(e, o);
  snprintf(buf, sizeof(buf), "projects/%s/zones/%s-1", emu_project_number(e),
           emu_region(e));
  cJSON_AddStringToObject(o, "zone", buf);
  return o;
}

cJSON *emu_metadata_document(emu *e) {
  cJSON *d = cJSON_CreateObject(), *p, *u;
  cJSON_AddItemToObject(
      d, "instance",
      emu_metadata_cloud_run(e) ? run_instance(e) : gce_instance(e));
  cJSON_AddObjectToObject(d, "oauth");
  p = cJSON_AddObjectToObject(d, "project");
  cJSON_AddObjectToObject(p, "attributes");
  /* A project number has at most 12 digits today: a double holds it. */
  add_raw(p, "numericProjectId", emu_project_number(e));
  cJSON_AddStringToObject(p, "projectId", emu_project_id(e));
  u = cJSON_AddObjectToObject(d, "universe");
  cJSON_AddStringToObject(u, "universeDomain", "googleapis.com");
  return d;
}

/* ---- token and identity ------------------------------------------------- */

static void mint(emu *e, const emu_request *req, const char *email,
                 const char *leaf, emu_response *resp) {
  if (emu_account_disabled(e, email)) {
    /* The metadata server passes on the token endpoint's refusal. */
    md_text(resp, 400, "application/json",
            "{\"error\":\"invalid_grant\",\"error_description\":"
            "\"Robot is disabled.\"}");
  } else if (strcmp(leaf, "token") == 0) {
    const char *q = emu_req_query(req, "scopes");
    char *scopes = strdup(q != NULL && q[0] ? q : GAUTH_SCOPE_CLOUD_PLATFORM);
    char *tok, *text;
    cJSON *o;
    if (scopes == NULL) abort();
    for (char *p = scopes; *p; p++)
      if (*p == ',') *p = ' ';
    tok = emu_mint_access_token(e, email, scopes, 3600);
    free(scopes);
    if (tok == NULL) {
      md_text(resp, 500, MD_TEXT, "token minting failed");
      return;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "access_token", tok);
    cJSON_AddNumberToObject(o, "expires_in", 3599);
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    free(tok);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text == NULL) abort();
    md_text(resp, 200, "application/json", text);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    snprintf(resp->principal, sizeof(resp->principal), "%s", email);
  } else {
    const char *aud = emu_req_query(req, "audience");
    const char *format = emu_req_query(req, "format");
    char *tok;
    if (aud == NULL || aud[0] == '\0') {
      md_text(resp, 400, MD_TEXT, "non-empty audience parameter required");
      return;
    }
    if (format != NULL && strcmp(format, "full") != 0 &&
        strcmp(format, "standard") != 0) {
      md_text(resp, 400, MD_TEXT,
              "format parameter must be 'standard' or 'full'");
      return;
    }
    tok = emu_mint_id_token(e, email, aud,
                            format != NULL && strcmp(format, "full") == 0);
    if (tok == NULL) {
      md_text(resp, 500, MD_TEXT, "token minting failed");
      return;
    }
    md_text(resp, 200, "text/html; charset=utf-8", tok);
    gauth_free(tok);
    snprintf(resp->principal, sizeof(resp->principal), "%s", email);
  }
}

/* ---- the route ---------------------------------------------------------- */

static void from_tree(emu *e, const emu_request *req, const char *rest,
                      emu_response *resp) {
  mdtree_query q;
  mdtree_reply r;
  q.recursive = emu_req_query(req, "recursive");
  q.alt = emu_req_query(req, "alt");
  q.wait_for_change = emu_req_query(req, "wait_for_change");
  q.last_etag = emu_req_query(req, "last_etag");
  q.timeout_sec = emu_req_query(req, "timeout_sec");
  if (mdtree_get(emu_metadata_tree(e), rest, &q, &r) == MDTREE_DYNAMIC) {
    mint(e, req, r.account, r.leaf, resp);
    mdtree_reply_clear(&r);
    return;
  }
  md_reply(resp, r.status, r.content_type, r.body, r.body_len, r.etag);
  if (r.status == 301) {
    char loc[1200];
    snprintf(loc, sizeof(loc), MD_ROOT "%.1000s", r.location);
    emu_reply_header(resp, "Location", loc);
  }
  if (r.retry_after > 0) {
    char ra[16];
    snprintf(ra, sizeof(ra), "%d", r.retry_after);
    emu_reply_header(resp, "Retry-After", ra);
  }
  mdtree_reply_clear(&r);
}

int emu_route_metadata(emu *e, const emu_request *req, emu_response *resp) {
  const char *path = req->path, *flavor;

  if (strcmp(path, "/") != 0 && strncmp(path, "/computeMetadata/", 17) != 0 &&
      strcmp(path, "/computeMetadata") != 0)
    return 0;
  flavor = emu_req_header(req, "Metadata-Flavor");
  if (emu_req_header(req, "X-Forwarded-For") != NULL) {
    md_forbidden(resp, path, "Request contains an X-Forwarded-For header.");
    return 1;
  }
  if (flavor == NULL || strcmp(flavor, "Google") != 0) {
    md_forbidden(resp, path, "Missing Metadata-Flavor:Google header.");
    return 1;
  }
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    md_text(resp, 405, "text/html; charset=UTF-8", "Method Not Allowed");
    emu_reply_header(resp, "Allow", "GET, HEAD");
    return 1;
  }
  if (strcmp(path, "/") == 0) {
    md_text(resp, 200, MD_TEXT, "computeMetadata/\n");
  } else if (strcmp(path, "/computeMetadata/") == 0 ||
             strcmp(path, "/computeMetadata") == 0) {
    md_text(resp, 200, MD_TEXT, "v1/\n");
  } else if (strcmp(path, "/computeMetadata/v1") == 0) {
    from_tree(e, req, "", resp);
  } else if (strncmp(path, MD_ROOT, sizeof(MD_ROOT) - 1) == 0) {
    from_tree(e, req, path + sizeof(MD_ROOT) - 1, resp);
  } else {
    /* /computeMetadata/v2/...: the tree's 404 names the path as asked. */
    char body[600];
    snprintf(body, sizeof(body),
             "<!DOCTYPE html>\n<html lang=en>\n<title>Error 404 (Not Found)"
             "</title>\n<p><b>404.</b> <ins>That's an error.</ins>\n<p>The "
             "requested URL <code>%.300s</code> was not found on this server. "
             "<ins>That's all we know.</ins>\n",
             path);
    md_text(resp, 404, "text/html; charset=UTF-8", body);
  }
  return 1;
}

/* ---- control API: /emulator/v1/metadata --------------------------------- */

static void control_bad(emu_response *resp, const char *why) {
  emu_reply_google_error(resp, 400, "INVALID_ARGUMENT", "%s", why);
}

/* The attributes after applying changes to what the tree has (a dry run),
 * to refuse the whole request before changing anything. */
static int would_fit(emu *e, const char *scope, const cJSON *changes, char *why,
                     size_t n) {
  char path[64];
  cJSON *cur, *c;
  size_t total = 0;
  snprintf(path, sizeof(path), "%s/attributes", scope);
  cur = mdtree_copy(emu_metadata_tree(e), path);
  if (cur == NULL) cur = cJSON_CreateObject();
  cJSON_ArrayForEach(c, changes) {
    cJSON_DeleteItemFromObjectCaseSensitive(cur, c->string);
    if (cJSON_IsString(c))
      cJSON_AddItemToObject(cur, c->string, cJSON_CreateString(c->valuestring));
  }
  cJSON_ArrayForEach(c, cur) {
    total +=
        strlen(c->string) + (cJSON_IsString(c) ? strlen(c->valuestring) : 0);
  }
  cJSON_Delete(cur);
  if (total >= 512u * 1024u) {
    snprintf(why, n,
             "%s_attributes: the attributes would total %zu bytes: keys and "
             "values must stay under 512 KiB",
             scope, total);
    return 0;
  }
  return 1;
}

void emu_metadata_control(emu *e, const cJSON *body, emu_response *resp) {
  static const char *const scopes[] = {"project", "instance"};
  const cJSON *ch[2] = {NULL, NULL}, *m;
  char why[400], detail[300], name[64];
  cJSON *o;
  int run = emu_metadata_cloud_run(e);
  if (body != NULL) {
    cJSON_ArrayForEach(m, body) {
      if (strcmp(m->string, "project_attributes") != 0 &&
          strcmp(m->string, "instance_attributes") != 0) {
        snprintf(why, sizeof(why),
                 "unknown member \"%.100s\" (give \"project_attributes\" "
                 "and/or \"instance_attributes\")",
                 m->string);
        control_bad(resp, why);
        return;
      }
    }
    for (int i = 0; i < 2; i++) {
      snprintf(name, sizeof(name), "%s_attributes", scopes[i]);
      ch[i] = cJSON_GetObjectItemCaseSensitive(body, name);
      if (ch[i] == NULL) continue;
      if (i == 1 && run) {
        control_bad(resp,
                    "instance_attributes: Cloud Run's metadata server has no "
                    "instance attributes");
        return;
      }
      if (mdtree_attributes_check(ch[i], detail, sizeof(detail)) != 0) {
        snprintf(why, sizeof(why), "%s: %s", name, detail);
        control_bad(resp, why);
        return;
      }
      if (!would_fit(e, scopes[i], ch[i], why, sizeof(why))) {
        control_bad(resp, why);
        return;
      }
    }
    for (int i = 0; i < 2; i++) {
      if (ch[i] != NULL &&
          mdtree_merge_attributes(emu_metadata_tree(e), scopes[i], ch[i], NULL,
                                  why, sizeof(why)) != 0) {
        control_bad(resp, why);
        return;
      }
    }
  }
  o = cJSON_CreateObject();
  for (int i = 0; i < 2; i++) {
    char path[64];
    cJSON *a;
    if (i == 1 && run) continue;
    snprintf(path, sizeof(path), "%s/attributes", scopes[i]);
    snprintf(name, sizeof(name), "%s_attributes", scopes[i]);
    a = mdtree_copy(emu_metadata_tree(e), path);
    cJSON_AddItemToObject(o, name, a ? a : cJSON_CreateObject());
  }
  cJSON_AddStringToObject(o, "platform", run ? "cloud_run" : "gce");
  cJSON_AddNumberToObject(o, "waiters",
                          (double)mdtree_waiters(emu_metadata_tree(e)));
  cJSON_AddNumberToObject(o, "max_waiters",
                          (double)emu_metadata_max_waiters(e));
  emu_reply_json(resp, 200, o);
}
