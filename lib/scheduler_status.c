/* The google.rpc.Code a Cloud Scheduler attempt's outcome is recorded as,
 * and the codes' names. Pure functions. */
#include <stddef.h>

#include <gauth/scheduler.h>

/* google/rpc/code.proto, in the order of its values. */
static const char *const rpc_code_names[] = {
    "OK",                  /* 0 */
    "CANCELLED",           /* 1 */
    "UNKNOWN",             /* 2 */
    "INVALID_ARGUMENT",    /* 3 */
    "DEADLINE_EXCEEDED",   /* 4 */
    "NOT_FOUND",           /* 5 */
    "ALREADY_EXISTS",      /* 6 */
    "PERMISSION_DENIED",   /* 7 */
    "RESOURCE_EXHAUSTED",  /* 8 */
    "FAILED_PRECONDITION", /* 9 */
    "ABORTED",             /* 10 */
    "OUT_OF_RANGE",        /* 11 */
    "UNIMPLEMENTED",       /* 12 */
    "INTERNAL",            /* 13 */
    "UNAVAILABLE",         /* 14 */
    "DATA_LOSS",           /* 15 */
    "UNAUTHENTICATED",     /* 16 */
};

const char *gauth_rpc_code_name(int code) {
  if (code < 0 ||
      (size_t)code >= sizeof(rpc_code_names) / sizeof(rpc_code_names[0]))
    return "unknown";
  return rpc_code_names[code];
}

int gauth_scheduler_rpc_code_for_http(int http_status) {
  if (http_status >= 200 && http_status <= 299) return 0; /* OK */
  switch (http_status) {
    case 400: return 3;  /* INVALID_ARGUMENT */
    case 401: return 16; /* UNAUTHENTICATED */
    case 403: return 7;  /* PERMISSION_DENIED */
    case 404: return 5;  /* NOT_FOUND */
    case 409: return 10; /* ABORTED */
    case 429: return 8;  /* RESOURCE_EXHAUSTED */
    case 499: return 1;  /* CANCELLED */
    case 500: return 13; /* INTERNAL */
    case 501: return 12; /* UNIMPLEMENTED */
    case 502: return 14; /* UNAVAILABLE */
    case 503: return 14; /* UNAVAILABLE */
    case 504: return 4;  /* DEADLINE_EXCEEDED */
    default: return 2;   /* UNKNOWN */
  }
}
