/* gauth metadata-server: a GCE metadata server on this machine, backed by
 * real credentials, so that code written for Google Cloud runs unchanged on
 * a laptop, in a container or in CI (docs/metadata-server.md).
 *
 * One credential (a key file, ADC, impersonation, federation) serves every
 * request thread: the library's cache collapses concurrent refreshes into
 * one request. The static paths (project, instance, attributes, directory
 * listings, recursive JSON, ETags, wait_for_change) are answered by the
 * shared metadata tree (examples/metadata/mdtree.h); the token and identity
 * leaves are minted here. Public libgauth API only, plus cJSON and
 * libmicrohttpd. */
#include "cli.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cmd.h"
#include "listen_addr.h"
#include "mdserver.h"

static const char usage[] =
    "usage: gauth metadata-server [--listen=HOST:PORT] [--credentials=FILE]\n"
    "                             [--impersonate-service-account=[DELEGATE,...]EMAIL]\n"
    "                             [--project=ID] [--project-number=N]\n"
    "                             [--attributes=FILE] [OPTIONS]\n"
    "\n"
    "Serves the GCE metadata server's paths on this machine from real\n"
    "credentials: tokens and ID tokens of the credential's service account,\n"
    "its email and scopes, the project, custom attributes, a plausible\n"
    "instance. Clients find it through the lines it prints first:\n"
    "\n"
    "  listening http://127.0.0.1:PORT\n"
    "  export GCE_METADATA_HOST='127.0.0.1:PORT'\n"
    "  export GCE_METADATA_IP='127.0.0.1:PORT'\n"
    "  export GCE_METADATA_ROOT='127.0.0.1:PORT'\n"
    "\n"
    "then one line per request on stderr (never a token). SIGHUP reloads\n"
    "--attributes; SIGINT or SIGTERM stop it.\n"
    "\n"
    "credentials:\n"
    "  --credentials=FILE    a service-account key, authorized_user,\n"
    "                        impersonated_service_account or external_account\n"
    "                        file; default: Application Default Credentials\n"
    "  --impersonate-service-account=[DELEGATE,...]EMAIL\n"
    "                        serve EMAIL's tokens through IAM Credentials\n"
    "  --email=EMAIL         the account's email, for credentials that have\n"
    "                        none (authorized_user, external accounts\n"
    "                        without impersonation)\n"
    "\n"
    "metadata:\n"
    "  --project=ID          project/project-id (default: the credential's\n"
    "                        project, GOOGLE_CLOUD_PROJECT, ...)\n"
    "  --project-number=N    project/numeric-project-id (default: none)\n"
    "  --attributes=FILE     {\"project_attributes\":{...},\n"
    "                         \"instance_attributes\":{...}}, strings only;\n"
    "                        reloaded on SIGHUP\n"
    "  --zone=ZONE           default us-central1-a\n"
    "  --instance-name=NAME  default: this machine's host name\n"
    "  --hostname=NAME       default NAME.c.PROJECT.internal\n"
    "  --instance-id=N       default: a number derived from the name\n"
    "  --universe-domain=D   default googleapis.com\n"
    "\n"
    "serving:\n"
    "  --listen=HOST:PORT    IPv4 or [IPv6] address and port; default\n"
    "                        127.0.0.1:0 (a free port)\n"
    "  --allow-remote        allow a non-loopback --listen address (needs\n"
    "                        --allow-client)\n"
    "  --allow-client=ADDR[/PREFIX]\n"
    "                        accept connections from these addresses only\n"
    "                        (repeatable); default: loopback only\n"
    "  --max-waiters=N       concurrent ?wait_for_change requests (default\n"
    "                        1000)\n"
    "  --help                this text\n"
    "\n"
    "Exit 0 after SIGINT / SIGTERM, 1 when it cannot start (no credentials,\n"
    "address in use), 2 on bad usage.\n";

/* ---- the command line ---------------------------------------------------- */

#define MDS_MAX_ALLOW 32
#define MDS_DEFAULT_WAITERS 1000u
#define MDS_MAX_WAITERS_LIMIT 100000u

typedef struct mds_net {
  int family; /* AF_INET or AF_INET6 */
  unsigned char addr[16];
  unsigned int prefix;
} mds_net;

typedef struct mds_args {
  const char *listen;
  cli_creds_args creds;
  const char *email, *project, *project_number, *attributes;
  const char *zone, *instance_name, *hostname, *instance_id, *universe;
  int allow_remote;
  mds_net allow[MDS_MAX_ALLOW];
  size_t nallow;
  unsigned int max_waiters;
} mds_args;

/* ADDR or ADDR/PREFIX, IPv4 or IPv6 (brackets allowed). 0 on success. */
static int parse_net(const char *s, mds_net *n) {
  char host[INET6_ADDRSTRLEN + 2];
  const char *slash = strchr(s, '/');
  size_t len = slash ? (size_t)(slash - s) : strlen(s);
  unsigned int max;
  memset(n, 0, sizeof(*n));
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
    s++;
    len -= 2;
  }
  if (len == 0 || len >= sizeof(host)) return -1;
  memcpy(host, s, len);
  host[len] = '\0';
  if (inet_pton(AF_INET, host, n->addr) == 1) {
    n->family = AF_INET;
    max = 32;
  } else if (inet_pton(AF_INET6, host, n->addr) == 1) {
    n->family = AF_INET6;
    max = 128;
  } else {
    return -1;
  }
  n->prefix = max;
  if (slash != NULL) {
    char *end;
    unsigned long p;
    if (!isdigit((unsigned char)slash[1])) return -1;
    errno = 0;
    p = strtoul(slash + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p > max) return -1;
    n->prefix = (unsigned int)p;
  }
  return 0;
}

/* 1 when the first `prefix` bits of a and b agree. */
static int prefix_match(const unsigned char *a, const unsigned char *b,
                        unsigned int prefix) {
  unsigned int whole = prefix / 8, rest = prefix % 8;
  if (whole > 16) return 0; /* prefixes are at most 128 bits */
  if (memcmp(a, b, whole) != 0) return 0;
  if (rest == 0 || whole == 16) return 1;
  return ((a[whole] ^ b[whole]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

/* The address of sa as 16 bytes (IPv4-mapped IPv6 addresses as IPv4). */
static int sockaddr_bytes(const struct sockaddr *sa, unsigned char out[16]) {
  memset(out, 0, 16);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    memcpy(out, &in->sin_addr, 4);
    return AF_INET;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 =
        (const struct sockaddr_in6 *)(const void *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      memcpy(out, in6->sin6_addr.s6_addr + 12, 4);
      return AF_INET;
    }
    memcpy(out, in6->sin6_addr.s6_addr, 16);
    return AF_INET6;
  }
  return 0;
}

static int is_loopback(int family, const unsigned char *a) {
  static const unsigned char v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                            0, 0, 0, 0, 0, 0, 0, 1};
  if (family == AF_INET) return a[0] == 127;
  if (family == AF_INET6) return memcmp(a, v6_loop, 16) == 0;
  return 0;
}

static int parse_args(int argc, char **argv, mds_args *a) {
  const char *cmd = "metadata-server";
  memset(a, 0, sizeof(*a));
  a->listen = "127.0.0.1:0";
  a->max_waiters = MDS_DEFAULT_WAITERS;
  for (int i = 2; i < argc; i++) {
    static const struct {
      const char *name;
      size_t off;
    } strs[] = {
        {"--listen", offsetof(mds_args, listen)},
        {"--email", offsetof(mds_args, email)},
        {"--project", offsetof(mds_args, project)},
        {"--project-number", offsetof(mds_args, project_number)},
        {"--attributes", offsetof(mds_args, attributes)},
        {"--zone", offsetof(mds_args, zone)},
        {"--instance-name", offsetof(mds_args, instance_name)},
        {"--hostname", offsetof(mds_args, hostname)},
        {"--instance-id", offsetof(mds_args, instance_id)},
        {"--universe-domain", offsetof(mds_args, universe)},
    };
    const char *v = NULL;
    int r = 0;
    size_t k;
    char name[64];
    if ((r = cli_creds_option(argc, argv, &i, cmd, &a->creds)) != 0) {
      if (r < 0) return CLI_USAGE;
      continue;
    }
    for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
      r = cli_option(argc, argv, &i, cmd, strs[k].name, &v);
      if (r < 0) return CLI_USAGE;
      if (r > 0) {
        if (v[0] == '\0')
          return cli_usage_error(cmd, "%s needs a value", strs[k].name);
        *(const char **)(void *)((char *)a + strs[k].off) = v;
        break;
      }
    }
    if (r > 0) continue;
    if (strcmp(argv[i], "--allow-remote") == 0) {
      a->allow_remote = 1;
    } else if ((r = cli_option(argc, argv, &i, cmd, "--allow-client", &v)) !=
               0) {
      if (r < 0) return CLI_USAGE;
      if (a->nallow == MDS_MAX_ALLOW)
        return cli_usage_error(cmd, "at most %d --allow-client", MDS_MAX_ALLOW);
      if (parse_net(v, &a->allow[a->nallow]) != 0)
        return cli_usage_error(cmd,
                               "--allow-client=%.80s: expected an IPv4 or "
                               "IPv6 address, optionally /PREFIX",
                               v);
      a->nallow++;
    } else if ((r = cli_option(argc, argv, &i, cmd, "--max-waiters", &v)) !=
               0) {
      char *end;
      unsigned long n;
      if (r < 0) return CLI_USAGE;
      errno = 0;
      n = strtoul(v, &end, 10);
      if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 ||
          n < 1 || n > MDS_MAX_WAITERS_LIMIT)
        return cli_usage_error(cmd, "--max-waiters: expected 1..%u",
                               MDS_MAX_WAITERS_LIMIT);
      a->max_waiters = (unsigned int)n;
    } else {
      return cli_usage_error(cmd, "unknown argument %s",
                             cli_option_name(argv[i], name, sizeof(name)));
    }
  }
  if (a->project_number != NULL &&
      strspn(a->project_number, "0123456789") != strlen(a->project_number))
    return cli_usage_error(cmd, "--project-number: expected digits");
  if (a->instance_id != NULL &&
      strspn(a->instance_id, "0123456789") != strlen(a->instance_id))
    return cli_usage_error(cmd, "--instance-id: expected digits");
  return CLI_OK;
}

/* ---- listening ----------------------------------------------------------- */

/* Binds and listens; writes "HOST:PORT" of the bound socket to hostport.
 * Returns the socket, or -1 after a message. */
static int open_listener(const struct sockaddr_storage *want, socklen_t len,
                         const char *arg, char *hostport, size_t size) {
  unsigned int port;
  int fd = ex_listen(want, len, hostport, size, &port);
  if (fd < 0)
    fprintf(stderr, "gauth: metadata-server: cannot listen on %s: %s\n", arg,
            strerror(errno));
  return fd;
}

/* ---- the server ---------------------------------------------------------- */

typedef struct mds {
  const mds_args *args;
  /* Requests between their first call and their reply's end: the stop
   * waits for them (a waiter answered by the shutdown must get its
   * reply out before the daemon closes the connections). */
  pthread_mutex_t inflight_lock;
  pthread_cond_t inflight_done;
  unsigned int inflight;
  gauth_credentials *creds; /* one, shared by every request thread */
  const char *type_name;
  char *email;
  mds_tree *tree;
} mds;

/* A reply body that may hold a token: wiped when libmicrohttpd is done. */
typedef struct secret_body {
  size_t len;
  char data[];
} secret_body;

static void secret_body_free(void *cls) {
  secret_body *b = cls;
  OPENSSL_cleanse(b->data, b->len);
  free(b);
}

/* Google's metadata server names itself on every reply, errors included. */
static void add_metadata_headers(struct MHD_Response *r, const char *ctype,
                                 const char *etag) {
  MHD_add_response_header(r, "Metadata-Flavor", "Google");
  MHD_add_response_header(r, "Server", "Metadata Server for VM");
  MHD_add_response_header(r, "Content-Type", ctype);
  MHD_add_response_header(r, "X-XSS-Protection", "0");
  MHD_add_response_header(r, "X-Frame-Options", "SAMEORIGIN");
  if (etag != NULL && etag[0] != '\0') MHD_add_response_header(r, "ETag", etag);
}

static enum MHD_Result send_reply(struct MHD_Connection *c,
                                  const mds_reply *rep) {
  size_t len = rep->body ? strlen(rep->body) : 0;
  secret_body *b = malloc(sizeof(*b) + len + 1);
  struct MHD_Response *r;
  enum MHD_Result rc;
  if (b == NULL) return MHD_NO;
  b->len = len;
  if (len) memcpy(b->data, rep->body, len);
  b->data[len] = '\0';
  r = MHD_create_response_from_buffer_with_free_callback_cls(
      len, b->data, secret_body_free, b);
  if (r == NULL) {
    secret_body_free(b);
    return MHD_NO;
  }
  add_metadata_headers(r, rep->content_type ? rep->content_type : MDS_TEXT,
                       rep->etag);
  for (size_t i = 0; i < rep->nheaders; i++)
    MHD_add_response_header(r, rep->header_names[i], rep->header_values[i]);
  rc = MHD_queue_response(c, (unsigned int)rep->status, r);
  MHD_destroy_response(r);
  return rc;
}

/* The request's log line: client, method, path (never the query: it may
 * name an audience or scopes, and nothing after '?' is logged), status,
 * principal. Control characters are replaced so a request cannot forge
 * lines. */
static void log_request(struct MHD_Connection *c, const char *method,
                        const char *url, int status, const char *principal) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char addr[INET6_ADDRSTRLEN] = "-", path[300], m[16];
  size_t i;
  if (ci != NULL && ci->client_addr != NULL) {
    unsigned char b[16];
    int fam = sockaddr_bytes(ci->client_addr, b);
    if (fam != 0) inet_ntop(fam, b, addr, sizeof(addr));
  }
  for (i = 0; i < sizeof(path) - 1 && url[i] && url[i] != '?'; i++)
    path[i] = isprint((unsigned char)url[i]) ? url[i] : '?';
  path[i] = '\0';
  for (i = 0; i < sizeof(m) - 1 && method[i]; i++)
    m[i] = isupper((unsigned char)method[i]) ? method[i] : '?';
  m[i] = '\0';
  fprintf(stderr, "gauth metadata-server: %s %s %s %d %s\n", addr, m, path,
          status, principal && principal[0] ? principal : "-");
}

/* ---- token and identity -------------------------------------------------- */

/* A libgauth failure as a reply: what Google's metadata server answers
 * when the token cannot be had, and a message naming why (never a token:
 * the library's messages carry none). */
static void mint_failure(const mds *s, const gauth_error *err, const char *what,
                         mds_reply *rep) {
  char msg[GAUTH_ERROR_MESSAGE_SIZE + 256];
  int status;
  switch (err->code) {
    case GAUTH_E_UNSUPPORTED: status = 404; break;
    case GAUTH_E_NETWORK:
    case GAUTH_E_TIMEOUT:
    case GAUTH_E_UNAVAILABLE:
    case GAUTH_E_RATE_LIMITED:
    case GAUTH_E_TLS: status = 503; break;
    default:
      status = err->http_status >= 400 && err->http_status < 500 ? 400 : 500;
  }
  snprintf(msg, sizeof(msg),
           "gauth metadata-server: cannot get %s from %s: %s (%s)\n", what,
           s->type_name, err->message, gauth_status_name(err->code));
  mds_reply_set(rep, status, MDS_TEXT, msg);
}

/* ?scopes=a,b (Google also takes repeated scopes= and spaces). */
static int split_scopes(const char *q, char *buf, size_t size,
                        const char **list, size_t cap) {
  size_t n = 0;
  if (q == NULL || q[0] == '\0') {
    list[0] = NULL;
    return 0;
  }
  if (strlen(q) >= size) return -1;
  memcpy(buf, q, strlen(q) + 1);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", ", &save); tok != NULL;
       tok = strtok_r(NULL, ", ", &save)) {
    if (n + 1 >= cap) return -1;
    list[n++] = tok;
  }
  list[n] = NULL;
  return (int)n;
}

static void mint_token(mds *s, struct MHD_Connection *c, mds_reply *rep) {
  const char *q =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "scopes");
  char buf[4096];
  const char *scopes[CLI_MAX_LIST];
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL, *body;
  int64_t exp = 0, now = (int64_t)time(NULL), left;
  cJSON *o, *item;
  if (split_scopes(q, buf, sizeof(buf), scopes, CLI_MAX_LIST) < 0) {
    mds_reply_set(rep, 400, MDS_TEXT,
                  "scopes: at most 31 scopes, 4 KiB in all\n");
    return;
  }
  if (gauth_credentials_access_token(s->creds, scopes[0] ? scopes : NULL, &tok,
                                     &exp, &err) != GAUTH_OK) {
    mint_failure(s, &err, "an access token", rep);
    return;
  }
  left = exp > now ? exp - now : 3599;
  o = cJSON_CreateObject();
  item = cJSON_AddStringToObject(o, "access_token", tok);
  cJSON_AddNumberToObject(o, "expires_in", (double)left);
  cJSON_AddStringToObject(o, "token_type", "Bearer");
  body = cJSON_PrintUnformatted(o);
  if (item != NULL && item->valuestring != NULL) /* cJSON's copy */
    OPENSSL_cleanse(item->valuestring, strlen(item->valuestring));
  cJSON_Delete(o);
  gauth_free(tok);
  mds_reply_set(rep, 200, MDS_JSON, body ? body : "{}");
  if (body) {
    OPENSSL_cleanse(body, strlen(body));
    cJSON_free(body);
  }
  rep->secret = 1;
}

static int is_one_of(const char *v, const char *a, const char *b) {
  return strcmp(v, a) == 0 || strcmp(v, b) == 0;
}

static void mint_identity(mds *s, struct MHD_Connection *c, mds_reply *rep) {
  const char *aud =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "audience");
  const char *format =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
  const char *licenses =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "licenses");
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  int full;
  if (aud == NULL || aud[0] == '\0') {
    mds_reply_set(rep, 400, MDS_TEXT, "non-empty audience parameter required");
    return;
  }
  if (format != NULL && !is_one_of(format, "standard", "full")) {
    mds_reply_set(rep, 400, MDS_TEXT,
                  "format parameter must be 'standard' or 'full'");
    return;
  }
  if (licenses != NULL && !is_one_of(licenses, "TRUE", "FALSE") &&
      !is_one_of(licenses, "true", "false")) {
    mds_reply_set(rep, 400, MDS_TEXT,
                  "licenses parameter must be 'TRUE' or 'FALSE'");
    return;
  }
  /* format=full is what adds the email claim on GCE; impersonation asks
   * generateIdToken for it then. Key files' tokens always carry it. */
  full = format != NULL && strcmp(format, "full") == 0;
  if (gauth_credentials_id_token(s->creds, aud,
                                 full ? GAUTH_ID_TOKEN_INCLUDE_EMAIL : 0, &tok,
                                 NULL, &err) != GAUTH_OK) {
    mint_failure(s, &err, "an ID token", rep);
    return;
  }
  mds_reply_set(rep, 200, "text/html; charset=utf-8", tok);
  gauth_free(tok);
  rep->secret = 1;
}

/* ---- requests ------------------------------------------------------------ */

static const char html_404[] =
    "<!DOCTYPE html>\n<html lang=en>\n<title>Error 404 (Not Found)"
    "</title>\n<p><b>404.</b> <ins>That's an error.</ins>\n<p>The "
    "requested URL was not found on this server. "
    "<ins>That's all we know.</ins>\n";

static void forbidden(mds_reply *rep, const char *why) {
  char body[600];
  snprintf(body, sizeof(body),
           "<!DOCTYPE html>\n<html lang=en>\n<title>Error 403 (Forbidden)"
           "</title>\n<p><b>403.</b> <ins>That's an error.</ins>\n<p>Your "
           "client does not have permission to get this URL from this "
           "server. %s <ins>That's all we know.</ins>\n",
           why);
  mds_reply_set(rep, 403, "text/html; charset=UTF-8", body);
}

/* Looks a query parameter up for the tree. */
static const char *query_of(void *cls, const char *name) {
  return MHD_lookup_connection_value(cls, MHD_GET_ARGUMENT_KIND, name);
}

static void route(mds *s, struct MHD_Connection *c, const char *url,
                  mds_reply *rep) {
  static const char root[] = "/computeMetadata/v1";
  mds_dynamic dyn;
  if (strcmp(url, "/") == 0) {
    mds_reply_set(rep, 200, MDS_TEXT, "computeMetadata/\n");
    return;
  }
  if (strcmp(url, "/computeMetadata") == 0 ||
      strcmp(url, "/computeMetadata/") == 0) {
    mds_reply_set(rep, 200, MDS_TEXT, "v1/\n");
    return;
  }
  if (strncmp(url, root, sizeof(root) - 1) != 0 ||
      (url[sizeof(root) - 1] != '\0' && url[sizeof(root) - 1] != '/')) {
    mds_reply_set(rep, 404, "text/html; charset=UTF-8", html_404);
    return;
  }
  url += sizeof(root) - 1;
  if (*url == '/') url++;
  if (!mds_tree_answer(s->tree, url, query_of, c, rep, &dyn)) return;
  /* A token or identity leaf of a known account. */
  snprintf(rep->principal, sizeof(rep->principal), "%s", s->email);
  if (dyn.leaf == MDS_LEAF_TOKEN)
    mint_token(s, c, rep);
  else
    mint_identity(s, c, rep);
}

/* Marks a connection whose request was seen once (headers complete). */
static int seen_marker;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  mds *s = cls;
  mds_reply rep;
  enum MHD_Result rc;
  const char *flavor =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Metadata-Flavor");
  int bodiless = (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
                 MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                             "Content-Length") == NULL &&
                 MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                             "Transfer-Encoding") == NULL;
  (void)version;
  (void)upload;
  /* A plain GET is answered on the second call, so that the connection
   * can be kept alive. Anything with a body is answered on the first,
   * before the body is read: the metadata server takes none, and
   * libmicrohttpd then closes the connection instead of reading it. */
  if (*con_cls == NULL) {
    *con_cls = &seen_marker;
    pthread_mutex_lock(&s->inflight_lock);
    s->inflight++;
    pthread_mutex_unlock(&s->inflight_lock);
    if (bodiless) return MHD_YES;
  }
  if (*upload_size != 0) { /* unreachable: bodies are refused above */
    *upload_size = 0;
    return MHD_YES;
  }
  mds_reply_init(&rep);
  if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For") !=
      NULL) {
    forbidden(&rep, "Request contains an X-Forwarded-For header.");
  } else if (flavor == NULL || strcmp(flavor, "Google") != 0) {
    forbidden(&rep, "Missing Metadata-Flavor:Google header.");
  } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    mds_reply_set(&rep, 405, "text/html; charset=UTF-8",
                  "Method Not Allowed\n");
    mds_reply_header(&rep, "Allow", "GET, HEAD");
  } else if (!bodiless) {
    mds_reply_set(&rep, 400, "text/html; charset=UTF-8",
                  "a metadata request has no body\n");
  } else {
    route(s, c, url, &rep);
  }
  log_request(c, method, url, rep.status, rep.principal);
  rc = send_reply(c, &rep);
  mds_reply_cleanup(&rep);
  return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  mds *s = cls;
  (void)c;
  (void)toe;
  if (*con_cls == NULL) return;
  *con_cls = NULL;
  pthread_mutex_lock(&s->inflight_lock);
  if (--s->inflight == 0) pthread_cond_broadcast(&s->inflight_done);
  pthread_mutex_unlock(&s->inflight_lock);
}

/* Waits up to `ms` for the requests under way to finish. */
static void drain(mds *s, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&s->inflight_lock);
  while (s->inflight > 0 &&
         pthread_cond_timedwait(&s->inflight_done, &s->inflight_lock, &until) ==
             0) {
  }
  pthread_mutex_unlock(&s->inflight_lock);
}

/* Loopback clients only, or those of --allow-client. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr,
                                     socklen_t len) {
  const mds *s = cls;
  unsigned char b[16];
  char text[INET6_ADDRSTRLEN] = "?";
  int fam = sockaddr_bytes(addr, b);
  (void)len;
  if (s->args->nallow == 0) {
    if (is_loopback(fam, b)) return MHD_YES;
  } else {
    for (size_t i = 0; i < s->args->nallow; i++) {
      const mds_net *n = &s->args->allow[i];
      if (n->family == fam && prefix_match(n->addr, b, n->prefix))
        return MHD_YES;
    }
  }
  if (fam != 0) inet_ntop(fam, b, text, sizeof(text));
  fprintf(stderr,
          "gauth metadata-server: %s refused: not %s (connection closed)\n",
          text, s->args->nallow ? "in --allow-client" : "a loopback address");
  return MHD_NO;
}

/* ---- the metadata document ----------------------------------------------- */

/* FNV-1a, for a stable instance id when none is given. */
static uint64_t fnv1a(const char *a, const char *b) {
  uint64_t h = 1469598103934665603ull;
  if (a == NULL) a = "";
  if (b == NULL) b = "";
  for (const char *p = a; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  h = (h ^ '/') * 1099511628211ull;
  for (const char *p = b; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

/* The recursive-JSON document of everything static (Google's spelling of
 * ?recursive=true at computeMetadata/v1/). attrs: the --attributes file's
 * object (or NULL). */
static cJSON *build_document(const mds *s, const char *project,
                             const char *number, const cJSON *attrs) {
  const mds_args *a = s->args;
  cJSON *doc = cJSON_CreateObject(), *inst, *proj, *sas, *acct, *arr, *u;
  char host[256] = "localhost", buf[512], id[32];
  const char *name, *zone = a->zone ? a->zone : "us-central1-a";
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
    snprintf(host, sizeof(host), "localhost");
  host[strcspn(host, ".")] = '\0';
  name = a->instance_name ? a->instance_name : host;

  inst = cJSON_AddObjectToObject(doc, "instance");
  cJSON_AddItemToObject(
      inst, "attributes",
      cJSON_Duplicate(
          cJSON_GetObjectItemCaseSensitive(attrs, "instance_attributes"), 1));
  if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(inst, "attributes"))) {
    cJSON_DeleteItemFromObjectCaseSensitive(inst, "attributes");
    cJSON_AddObjectToObject(inst, "attributes");
  }
  if (a->hostname)
    snprintf(buf, sizeof(buf), "%s", a->hostname);
  else
    snprintf(buf, sizeof(buf), "%s.c.%s.internal", name, project);
  cJSON_AddStringToObject(inst, "hostname", buf);
  if (a->instance_id)
    snprintf(id, sizeof(id), "%s", a->instance_id);
  else
    snprintf(
        id, sizeof(id), "%llu",
        (unsigned long long)(fnv1a(project, name) % 9000000000000000000ull +
                             1000000000000000000ull));
  /* A number too large for a double: raw, as mdtree.h says. */
  cJSON_AddItemToObject(inst, "id", cJSON_CreateRaw(id));
  cJSON_AddStringToObject(inst, "name", name);
  sas = cJSON_AddObjectToObject(inst, "serviceAccounts");
  for (int k = 0; k < 2; k++) {
    acct = cJSON_AddObjectToObject(sas, k == 0 ? "default" : s->email);
    arr = cJSON_AddArrayToObject(acct, "aliases");
    cJSON_AddItemToArray(arr, cJSON_CreateString("default"));
    cJSON_AddStringToObject(acct, "email", s->email);
    arr = cJSON_AddArrayToObject(acct, "scopes");
    cJSON_AddItemToArray(arr, cJSON_CreateString(GAUTH_SCOPE_CLOUD_PLATFORM));
  }
  snprintf(buf, sizeof(buf), "projects/%s/zones/%s", number ? number : project,
           zone);
  cJSON_AddStringToObject(inst, "zone", buf);

  proj = cJSON_AddObjectToObject(doc, "project");
  cJSON_AddItemToObject(
      proj, "attributes",
      cJSON_Duplicate(
          cJSON_GetObjectItemCaseSensitive(attrs, "project_attributes"), 1));
  if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(proj, "attributes"))) {
    cJSON_DeleteItemFromObjectCaseSensitive(proj, "attributes");
    cJSON_AddObjectToObject(proj, "attributes");
  }
  if (number)
    cJSON_AddNumberToObject(proj, "numericProjectId", strtod(number, NULL));
  cJSON_AddStringToObject(proj, "projectId", project);

  u = cJSON_AddObjectToObject(doc, "universe");
  cJSON_AddStringToObject(u, "universeDomain",
                          a->universe ? a->universe : "googleapis.com");
  return doc;
}

/* Reads and checks --attributes: an object with at most the members
 * project_attributes and instance_attributes, each an object of strings.
 * NULL after a message on stderr. */
static cJSON *read_attributes(const char *path) {
  char *text = NULL;
  size_t len = 0;
  cJSON *j, *m;
  char why[256];
  if (cli_read_file(path, "--attributes", &text, &len) != CLI_OK) return NULL;
  j = cJSON_ParseWithLength(text, len);
  free(text);
  if (!cJSON_IsObject(j)) {
    fprintf(stderr,
            "gauth: metadata-server: --attributes %s: not a JSON "
            "object\n",
            path);
    cJSON_Delete(j);
    return NULL;
  }
  cJSON_ArrayForEach(m, j) {
    const cJSON *v;
    if (strcmp(m->string, "project_attributes") != 0 &&
        strcmp(m->string, "instance_attributes") != 0) {
      fprintf(stderr,
              "gauth: metadata-server: --attributes %s: unknown member "
              "\"%.64s\" (expected project_attributes, "
              "instance_attributes)\n",
              path, m->string);
      cJSON_Delete(j);
      return NULL;
    }
    if (!cJSON_IsObject(m)) {
      fprintf(stderr,
              "gauth: metadata-server: --attributes %s: %s is not an "
              "object\n",
              path, m->string);
      cJSON_Delete(j);
      return NULL;
    }
    cJSON_ArrayForEach(v, m) {
      if (!cJSON_IsString(v)) {
        fprintf(stderr,
                "gauth: metadata-server: --attributes %s: %s.%.64s is not a "
                "string\n",
                path, m->string, v->string);
        cJSON_Delete(j);
        return NULL;
      }
    }
    if (mds_attributes_check(m, why, sizeof(why)) != 0) {
      fprintf(stderr, "gauth: metadata-server: --attributes %s: %s: %s\n", path,
              m->string, why);
      cJSON_Delete(j);
      return NULL;
    }
  }
  return j;
}

/* ---- start, serve, stop -------------------------------------------------- */

/* The credential's identity and project; CLI_OK or a failure after a
 * message. */
static int resolve_identity(mds *s, char **project) {
  const mds_args *a = s->args;
  gauth_error err = GAUTH_ERROR_INIT;
  char *email = NULL;
  *project = NULL;
  if (gauth_credentials_email(s->creds, &email, &err) != GAUTH_OK) {
    if (err.code != GAUTH_E_UNSUPPORTED)
      return cli_fail_about(&err, "the credential's email");
    if (a->email == NULL) {
      fprintf(stderr,
              "gauth: metadata-server: this credential (%s) has no "
              "service-account email: give --email=EMAIL (what clients read "
              "at instance/service-accounts/default/email), or "
              "--impersonate-service-account\n",
              s->type_name);
      return CLI_USAGE;
    }
  } else if (a->email != NULL && strcmp(a->email, email) != 0) {
    fprintf(stderr,
            "gauth: metadata-server: --email=%s, but the credential is %s\n",
            a->email, email);
    gauth_free(email);
    return CLI_USAGE;
  }
  s->email = email != NULL      ? strdup(email)
             : a->email != NULL ? strdup(a->email)
                                : NULL;
  gauth_free(email);
  if (s->email == NULL) return CLI_FAIL;
  if (a->project != NULL) {
    *project = strdup(a->project);
  } else {
    char *p = NULL;
    if (gauth_credentials_project_id(s->creds, &p, &err) != GAUTH_OK &&
        a->creds.impersonate != NULL) {
      /* The impersonated account names no project; its source may (a key
       * file's project_id, gcloud's quota project). */
      cli_creds_args base = a->creds;
      gauth_credentials *src = NULL;
      gauth_error e2 = GAUTH_ERROR_INIT;
      base.impersonate = NULL;
      if (cli_make_credentials(&base, &src, &e2) == GAUTH_OK &&
          gauth_credentials_project_id(src, &p, &e2) == GAUTH_OK)
        gauth_error_clear(&err);
      gauth_credentials_free(src);
    }
    if (p == NULL) {
      fprintf(stderr,
              "gauth: metadata-server: no project: %s; give --project=ID\n",
              err.message);
      return CLI_USAGE;
    }
    *project = strdup(p);
    gauth_free(p);
  }
  return *project ? CLI_OK : CLI_FAIL;
}

/* Each waiting client holds a descriptor: a thousand are past the usual
 * soft limit of 1024 open files, so the soft limit goes up to the hard one
 * (libmicrohttpd polls with poll() in this mode, not select(): descriptors
 * above 1023 are fine). */
static void raise_open_files_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static struct MHD_Daemon *start_daemon(mds *s, int fd) {
  raise_open_files_limit();
  return MHD_start_daemon(
      MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
          MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
      0, accept_policy, s, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      /* Headers and URL of one request: metadata requests are small. */
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
      /* Every waiter holds a connection; room for the other requests. */
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(s->args->max_waiters + 256),
      MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024), MHD_OPTION_END);
}

/* SIGHUP: the attributes again; a bad file keeps the current ones. */
static void reload(mds *s, const char *project, const char *number) {
  cJSON *attrs, *doc;
  if (s->args->attributes == NULL) {
    fprintf(stderr,
            "gauth metadata-server: SIGHUP: no --attributes to "
            "reload\n");
    return;
  }
  attrs = read_attributes(s->args->attributes);
  if (attrs == NULL) {
    fprintf(stderr,
            "gauth metadata-server: SIGHUP: keeping the current "
            "attributes\n");
    return;
  }
  doc = build_document(s, project, number, attrs);
  cJSON_Delete(attrs);
  mds_tree_set(s->tree, doc);
  fprintf(stderr, "gauth metadata-server: SIGHUP: reloaded %s\n",
          s->args->attributes);
}

static int serve(mds *s, int fd, const char *hostport, const char *project,
                 const char *number) {
  sigset_t set;
  int sig = 0;
  struct MHD_Daemon *d = start_daemon(s, fd);
  if (d == NULL) {
    fprintf(stderr, "gauth: metadata-server: cannot start the HTTP server\n");
    close(fd);
    return CLI_FAIL;
  }
  printf("listening http://%s\n", hostport);
  printf("export GCE_METADATA_HOST='%s'\n", hostport);
  printf("export GCE_METADATA_IP='%s'\n", hostport);
  printf("export GCE_METADATA_ROOT='%s'\n", hostport);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "gauth: metadata-server: cannot write to stdout\n");
    MHD_stop_daemon(d);
    return CLI_FAIL;
  }
  fprintf(stderr,
          "gauth metadata-server: serving %s (%s, %s), project %s on "
          "http://%s\n",
          s->email, s->type_name, gauth_credentials_origin(s->creds), project,
          hostport);
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  for (;;) {
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload(s, project, number);
      continue;
    }
    if (sig == SIGINT || sig == SIGTERM) break;
  }
  fprintf(stderr, "gauth metadata-server: %s, stopping\n",
          sig == SIGINT ? "SIGINT" : "SIGTERM");
  mds_tree_shutdown(s->tree); /* answers every waiter */
  drain(s, 2000);             /* lets their replies go out */
  MHD_stop_daemon(d);         /* joins the request threads; closes fd */
  return CLI_OK;
}

/* The project number of an upstream metadata server (when the credential
 * is one: ADC on Google Cloud), or NULL. */
static char *metadata_project_number(void) {
  gauth_metadata *md = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *v = NULL, *out = NULL;
  if (gauth_metadata_new(&md, NULL, &err) == GAUTH_OK &&
      gauth_metadata_project_number(md, &v, &err) == GAUTH_OK)
    out = strdup(v);
  gauth_free(v);
  gauth_metadata_free(md);
  return out;
}

/* Refuses to serve itself: metadata-server credentials whose metadata
 * server is this very address would ask themselves for every token. */
static int loops_to_itself(const mds *s, const char *hostport) {
  const char *h = getenv("GCE_METADATA_HOST");
  if (gauth_credentials_get_type(s->creds) != GAUTH_CREDENTIALS_METADATA)
    return 0;
  return h != NULL && strcmp(h, hostport) == 0;
}

int cmd_metadata_server(int argc, char **argv) {
  mds_args a;
  mds s;
  struct sockaddr_storage ss;
  socklen_t sslen;
  unsigned char b[16];
  char hostport[INET6_ADDRSTRLEN + 16], *project = NULL, *number = NULL;
  cJSON *attrs = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  sigset_t set;
  int rc, fd = -1;

  for (int i = 2; i < argc; i++)
    if (cli_is_help(argv[i])) {
      fputs(usage, stdout);
      return CLI_OK;
    }
  rc = parse_args(argc, argv, &a);
  if (rc != CLI_OK) return rc;
  if (ex_parse_listen(a.listen, &ss, &sslen) != 0)
    return cli_usage_error("metadata-server",
                           "--listen=%.80s: expected IPV4:PORT or "
                           "[IPV6]:PORT, e.g. 127.0.0.1:8080 (PORT 0 picks a "
                           "free port)",
                           a.listen);
  if (!is_loopback(sockaddr_bytes((struct sockaddr *)&ss, b), b) &&
      (!a.allow_remote || a.nallow == 0))
    return cli_usage_error(
        "metadata-server",
        "--listen=%.80s is not a loopback address: anyone who reaches it "
        "gets this credential's tokens. Serving it needs --allow-remote "
        "and at least one --allow-client=ADDR[/PREFIX]",
        a.listen);
  if (a.attributes != NULL && (attrs = read_attributes(a.attributes)) == NULL)
    return CLI_USAGE;

  /* The stop and reload signals go to this thread's sigwait: blocked
   * before any thread exists (libmicrohttpd's and libcurl's inherit it). */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  memset(&s, 0, sizeof(s));
  s.args = &a;
  pthread_mutex_init(&s.inflight_lock, NULL);
  pthread_cond_init(&s.inflight_done, NULL);
  if (gauth_global_init(&err) != GAUTH_OK) {
    cJSON_Delete(attrs);
    return cli_fail(&err);
  }
  if (cli_make_credentials(&a.creds, &s.creds, &err) != GAUTH_OK) {
    rc = cli_fail(&err);
    goto done;
  }
  s.type_name =
      gauth_credentials_type_name(gauth_credentials_get_type(s.creds));
  /* Bound first: a metadata credential that names this address must be
   * refused before its first request (which would wait on itself). */
  fd = open_listener(&ss, sslen, a.listen, hostport, sizeof(hostport));
  if (fd < 0) {
    rc = CLI_FAIL;
    goto done;
  }
  if (loops_to_itself(&s, hostport)) {
    fprintf(stderr,
            "gauth: metadata-server: the credential is the metadata server "
            "at GCE_METADATA_HOST=%s, which is this server: give "
            "--credentials=FILE\n",
            hostport);
    rc = CLI_USAGE;
    goto done;
  }
  rc = resolve_identity(&s, &project);
  if (rc != CLI_OK) goto done;
  if (a.project_number == NULL &&
      gauth_credentials_get_type(s.creds) == GAUTH_CREDENTIALS_METADATA)
    number = metadata_project_number();
  s.tree = mds_tree_new(
      build_document(&s, project, a.project_number ? a.project_number : number,
                     attrs),
      a.max_waiters);
  if (s.tree == NULL) {
    fprintf(stderr, "gauth: metadata-server: out of memory\n");
    rc = CLI_FAIL;
    goto done;
  }
  rc = serve(&s, fd, hostport, project,
             a.project_number ? a.project_number : number);
  fd = -1; /* the daemon closed it */
done:
  if (fd >= 0) close(fd);
  mds_tree_free(s.tree);
  cJSON_Delete(attrs);
  free(project);
  free(number);
  free(s.email);
  gauth_credentials_free(s.creds);
  pthread_cond_destroy(&s.inflight_done);
  pthread_mutex_destroy(&s.inflight_lock);
  gauth_global_cleanup();
  return rc;
}
