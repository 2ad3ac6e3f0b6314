/* gauth-emulator: the GCE metadata server, GET / and /computeMetadata/v1/...
 * As on GCE: the request must carry Metadata-Flavor: Google and no
 * X-Forwarded-For (403 otherwise), every reply carries Metadata-Flavor:
 * Google, leaves are application/text, directories list their entries, and
 * ?recursive=true gives a directory as JSON. The instance's default account
 * is emu_metadata_account (runner@...). */
#include "emulator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD_ROOT "/computeMetadata/v1/"
#define MD_TEXT "application/text"
#define MD_JSON "application/json"
#define MD_INSTANCE_ID "4520031799277581759"

static void md_text(emu_response *r, int status, const char *ct,
                    const char *text) {
  emu_reply_text(r, status, ct, text);
  emu_reply_header(r, "Metadata-Flavor", "Google");
  emu_reply_header(r, "Server", "Metadata Server for VM");
}

static void md_json(emu_response *r, cJSON *o) {
  emu_reply_json(r, 200, o);
  r->content_type = MD_JSON;
  emu_reply_header(r, "Metadata-Flavor", "Google");
  emu_reply_header(r, "Server", "Metadata Server for VM");
}

static void md_not_found(emu_response *r, const char *path) {
  char body[600];
  snprintf(body, sizeof(body),
           "<!DOCTYPE html>\n<html lang=en>\n<title>Error 404 (Not Found)"
           "</title>\n<p><b>404.</b> <ins>That's an error.</ins>\n<p>The "
           "requested URL <code>%.300s</code> was not found on this server. "
           "<ins>That's all we know.</ins>\n",
           path);
  md_text(r, 404, "text/html; charset=UTF-8", body);
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

/* ?recursive=true, as GCE spells it (true, True, 1 are not all accepted
 * there either; we take "true" in any case). */
static int recursive(const emu_request *req) {
  const char *v = emu_req_query(req, "recursive");
  return v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 ||
                       strcmp(v, "TRUE") == 0);
}

static char *zone_name(emu *e) {
  size_t n = strlen(emu_project_number(e)) + strlen(emu_zone(e)) + 32;
  char *z = malloc(n);
  if (z == NULL) abort();
  snprintf(z, n, "projects/%s/zones/%s", emu_project_number(e), emu_zone(e));
  return z;
}

static cJSON *account_json(emu *e, const char *email, int is_default) {
  cJSON *o = cJSON_CreateObject(), *aliases, *scopes;
  aliases = cJSON_AddArrayToObject(o, "aliases");
  if (is_default) cJSON_AddItemToArray(aliases, cJSON_CreateString("default"));
  cJSON_AddStringToObject(o, "email", email);
  scopes = cJSON_AddArrayToObject(o, "scopes");
  cJSON_AddItemToArray(scopes, cJSON_CreateString(GAUTH_SCOPE_CLOUD_PLATFORM));
  (void)e;
  return o;
}

static cJSON *instance_json(emu *e) {
  cJSON *o = cJSON_CreateObject(), *sas;
  char *zone = zone_name(e);
  cJSON_AddStringToObject(o, "hostname", "emulator-vm.c.internal");
  cJSON_AddStringToObject(o, "id", MD_INSTANCE_ID);
  cJSON_AddStringToObject(o, "machineType", "e2-small");
  cJSON_AddStringToObject(o, "name", "emulator-vm");
  sas = cJSON_AddObjectToObject(o, "serviceAccounts");
  cJSON_AddItemToObject(sas, "default",
                        account_json(e, emu_metadata_account(e), 1));
  cJSON_AddItemToObject(sas, emu_metadata_account(e),
                        account_json(e, emu_metadata_account(e), 1));
  cJSON_AddStringToObject(o, "zone", zone);
  free(zone);
  return o;
}

static cJSON *project_json(emu *e) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "numericProjectId",
                          strtod(emu_project_number(e), NULL));
  cJSON_AddStringToObject(o, "projectId", emu_project_id(e));
  return o;
}

/* service-accounts/ACCOUNT/LEAF: ACCOUNT is "default" or the email. */
static void service_account(emu *e, const emu_request *req, const char *rest,
                            emu_response *resp) {
  const char *email = emu_metadata_account(e);
  size_t n = strcspn(rest, "/");
  const char *leaf = rest[n] == '/' ? rest + n + 1 : NULL;

  if (!((n == 7 && strncmp(rest, "default", 7) == 0) ||
        (n == strlen(email) && strncmp(rest, email, n) == 0))) {
    md_not_found(resp, req->path);
    return;
  }
  if (leaf == NULL) {
    /* ".../default" without a slash: GCE redirects to the directory. */
    char loc[512];
    snprintf(loc, sizeof(loc), "%s/", req->path);
    md_text(resp, 301, "text/html; charset=UTF-8", "");
    emu_reply_header(resp, "Location", loc);
    return;
  }
  if (leaf[0] == '\0') {
    if (recursive(req))
      md_json(resp, account_json(e, email, 1));
    else
      md_text(resp, 200, MD_TEXT, "aliases\nemail\nidentity\nscopes\ntoken\n");
  } else if (strcmp(leaf, "email") == 0) {
    md_text(resp, 200, MD_TEXT, email);
  } else if (strcmp(leaf, "aliases") == 0) {
    md_text(resp, 200, MD_TEXT, "default");
  } else if (strcmp(leaf, "scopes") == 0) {
    md_text(resp, 200, MD_TEXT, GAUTH_SCOPE_CLOUD_PLATFORM "\n");
  } else if ((strcmp(leaf, "token") == 0 || strcmp(leaf, "identity") == 0) &&
             emu_account_disabled(e, email)) {
    /* The metadata server passes on the token endpoint's refusal. */
    md_text(resp, 400, "application/json",
            "{\"error\":\"invalid_grant\",\"error_description\":"
            "\"Robot is disabled.\"}");
  } else if (strcmp(leaf, "token") == 0) {
    const char *q = emu_req_query(req, "scopes");
    char *scopes = strdup(q != NULL && q[0] ? q : GAUTH_SCOPE_CLOUD_PLATFORM);
    char *tok;
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
    md_json(resp, o);
    snprintf(resp->principal, sizeof(resp->principal), "%s", email);
  } else if (strcmp(leaf, "identity") == 0) {
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
  } else {
    md_not_found(resp, req->path);
  }
}

static void instance(emu *e, const emu_request *req, const char *rest,
                     emu_response *resp) {
  if (rest[0] == '\0') {
    if (recursive(req))
      md_json(resp, instance_json(e));
    else
      md_text(resp, 200, MD_TEXT,
              "hostname\nid\nmachine-type\nname\nservice-accounts/\nzone\n");
  } else if (strcmp(rest, "zone") == 0) {
    char *z = zone_name(e);
    md_text(resp, 200, MD_TEXT, z);
    free(z);
  } else if (strcmp(rest, "id") == 0) {
    md_text(resp, 200, MD_TEXT, MD_INSTANCE_ID);
  } else if (strcmp(rest, "name") == 0) {
    md_text(resp, 200, MD_TEXT, "emulator-vm");
  } else if (strcmp(rest, "hostname") == 0) {
    md_text(resp, 200, MD_TEXT, "emulator-vm.c.internal");
  } else if (strcmp(rest, "machine-type") == 0) {
    char buf[256];
    snprintf(buf, sizeof(buf), "projects/%s/machineTypes/e2-small",
             emu_project_number(e));
    md_text(resp, 200, MD_TEXT, buf);
  } else if (strcmp(rest, "service-accounts/") == 0 ||
             strcmp(rest, "service-accounts") == 0) {
    if (recursive(req)) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddItemToObject(o, "default",
                            account_json(e, emu_metadata_account(e), 1));
      cJSON_AddItemToObject(o, emu_metadata_account(e),
                            account_json(e, emu_metadata_account(e), 1));
      md_json(resp, o);
    } else {
      char buf[400];
      snprintf(buf, sizeof(buf), "default/\n%s/\n", emu_metadata_account(e));
      md_text(resp, 200, MD_TEXT, buf);
    }
  } else if (strncmp(rest, "service-accounts/", 17) == 0) {
    service_account(e, req, rest + 17, resp);
  } else {
    md_not_found(resp, req->path);
  }
}

int emu_route_metadata(emu *e, const emu_request *req, emu_response *resp) {
  const char *path = req->path, *rest, *flavor;

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
    return 1;
  }
  if (strcmp(path, "/computeMetadata/") == 0) {
    md_text(resp, 200, MD_TEXT, "v1/\n");
    return 1;
  }
  if (strncmp(path, MD_ROOT, sizeof(MD_ROOT) - 1) != 0) {
    if (strcmp(path, "/computeMetadata/v1") == 0)
      md_text(resp, 200, MD_TEXT, "instance/\noauth/\nproject/\nuniverse/\n");
    else
      md_not_found(resp, path);
    return 1;
  }
  rest = path + sizeof(MD_ROOT) - 1;
  if (rest[0] == '\0') {
    if (recursive(req)) {
      cJSON *o = cJSON_CreateObject(), *u;
      cJSON_AddItemToObject(o, "instance", instance_json(e));
      cJSON_AddItemToObject(o, "project", project_json(e));
      u = cJSON_AddObjectToObject(o, "universe");
      cJSON_AddStringToObject(u, "universeDomain", "googleapis.com");
      md_json(resp, o);
    } else {
      md_text(resp, 200, MD_TEXT, "instance/\noauth/\nproject/\nuniverse/\n");
    }
  } else if (strcmp(rest, "instance") == 0) {
    /* gcp-metadata's isAvailable() asks for "instance" without a slash. */
    instance(e, req, "", resp);
  } else if (strncmp(rest, "instance/", 9) == 0) {
    instance(e, req, rest + 9, resp);
  } else if (strcmp(rest, "project") == 0 || strcmp(rest, "project/") == 0) {
    if (recursive(req))
      md_json(resp, project_json(e));
    else
      md_text(resp, 200, MD_TEXT, "numeric-project-id\nproject-id\n");
  } else if (strcmp(rest, "project/project-id") == 0) {
    md_text(resp, 200, MD_TEXT, emu_project_id(e));
  } else if (strcmp(rest, "project/numeric-project-id") == 0) {
    md_text(resp, 200, MD_TEXT, emu_project_number(e));
  } else if (strcmp(rest, "universe") == 0 || strcmp(rest, "universe/") == 0) {
    md_text(resp, 200, MD_TEXT, "universe-domain\n");
  } else if (strcmp(rest, "universe/universe-domain") == 0 ||
             strcmp(rest, "universe/universe_domain") == 0) {
    md_text(resp, 200, MD_TEXT, "googleapis.com");
  } else {
    md_not_found(resp, path);
  }
  return 1;
}
