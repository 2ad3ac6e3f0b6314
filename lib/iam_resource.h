/* Internal: where testIamPermissions for a resource goes. One table
 * (lib/iam_resource.c) maps full resource names to a service, an API
 * version and a method; the service's base URL comes from the resolved
 * config (per-service option, endpoint override, universe domain). Pure: no
 * I/O. */
#ifndef GAUTH_LIB_IAM_RESOURCE_H
#define GAUTH_LIB_IAM_RESOURCE_H

#include "common.h"
#include "config.h"

typedef enum gauth__iam_method {
  GAUTH__IAM_POST = 0, /* POST url, JSON body {"permissions":[...]} */
  GAUTH__IAM_GET = 1   /* GET url?permissions=a&permissions=b */
} gauth__iam_method;

typedef struct gauth__iam_target {
  gauth__iam_method method;
  char *url;       /* overrides applied; no query */
  const char *api; /* "Cloud Run v2", ...; static, for messages */
} gauth__iam_target;

/* Resolves `resource` (a full resource name, or an https:// URL, or an
 * http:// URL to a loopback host, ending in ":testIamPermissions", used as
 * given but for the endpoint override) under cfg. GAUTH_E_INVALID_ARG for
 * anything else, the message saying what is wrong and listing the forms
 * understood; GAUTH_E_NOMEM. On failure *out holds nothing to free. */
gauth_status gauth__iam_target_resolve(const gauth__config *cfg,
                                       const char *resource,
                                       gauth__iam_target *out,
                                       gauth_error *err);

void gauth__iam_target_cleanup(gauth__iam_target *t);

/* url + "?permissions=P1&permissions=P2..." (percent-encoded). Free with
 * free(). */
gauth_status gauth__iam_query_url(const char *url, const char *const *perms,
                                  size_t n, char **out, gauth_error *err);

/* The forms understood, as one line of text for messages: "projects/P,
 * folders/F, ..., or an https://...:testIamPermissions URL" (cut to size). */
void gauth__iam_resource_forms(char *buf, size_t size);

#endif /* GAUTH_LIB_IAM_RESOURCE_H */
