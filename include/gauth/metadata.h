/* libgauth: the metadata server (GCE, Cloud Run, GKE, Cloud Functions):
 * detection and plain reads.
 *
 * The server is reached at http://HOST/computeMetadata/v1/..., HOST being
 * gauth_options.metadata_host, else GCE_METADATA_HOST, else
 * metadata.google.internal. Every request carries "Metadata-Flavor: Google"
 * and every reply must carry it too: a reply without it came from something
 * else (a captive portal, a proxy) and is refused with GAUTH_E_BAD_RESPONSE.
 * Redirects are not followed. 5xx, 429 and resets are retried per the
 * options' retry policy, within its deadline.
 *
 * DETECTION decides whether a metadata server is there, in this order:
 *   1. the mode: gauth_options.metadata_detection, else
 *      GAUTH_METADATA_DETECTION (auto | none | assume-present), else auto;
 *   2. residency hints: K_SERVICE, CLOUD_RUN_JOB or FUNCTION_TARGET set,
 *      or Linux DMI (/sys/class/dmi/id/product_name or bios_vendor) naming
 *      Google: present, without a request;
 *   3. one probe of http://IP/ (IP from gauth_options.metadata_ip, else
 *      GCE_METADATA_IP, else 169.254.169.254; a port may be given), never
 *      retried, with a 500 ms limit: present when a reply carries
 *      Metadata-Flavor: Google.
 * Worst case off Google Cloud: a refused connection answers at once
 * (well under 50 ms); an address that swallows packets costs the 500 ms
 * limit. A present answer is remembered by the gauth_metadata object; an
 * absent one for 10 seconds only, so that a server still starting (GKE
 * pods) is found by a later call.
 *
 * THREAD SAFETY: a gauth_metadata may be used by any number of threads at
 * once. */
#ifndef GAUTH_METADATA_H
#define GAUTH_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include <gauth/error.h>
#include <gauth/export.h>
#include <gauth/options.h>

GAUTH_BEGIN_DECLS

typedef struct gauth_metadata gauth_metadata;

/* A metadata client under opts (copied; NULL: defaults). Makes no request.
 * Errors: GAUTH_E_INVALID_ARG for bad options or environment values,
 * GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_new(
    gauth_metadata **out, const gauth_options *opts, gauth_error *err);
GAUTH_API void gauth_metadata_free(gauth_metadata *md);

/* How detection reached its answer. */
typedef enum gauth_metadata_basis {
  GAUTH_METADATA_BY_MODE = 1,  /* mode none or assume-present */
  GAUTH_METADATA_BY_HINT = 2,  /* environment variable or DMI */
  GAUTH_METADATA_BY_PROBE = 3, /* the probe's outcome */
  GAUTH_METADATA_BY_MEMORY = 4 /* an earlier answer of this object */
} gauth_metadata_basis;

typedef struct gauth_metadata_detection {
  int present; /* 1: a metadata server is there */
  gauth_metadata_basis basis;
  /* In words: "GAUTH_METADATA_DETECTION=none", "K_SERVICE is set",
   * "DMI product_name is \"Google Compute Engine\"", "probe of
   * 127.0.0.1:8080: reply with Metadata-Flavor: Google", "probe of
   * 169.254.169.254: connection refused", "probe of ...: no reply within
   * 500 ms", "probe of ...: reply without Metadata-Flavor: Google". */
  char detail[256];
  int64_t elapsed_us; /* time this call took */
} gauth_metadata_detection;

/* Detects the metadata server (see DETECTION). An absent server is not an
 * error: *out says so with GAUTH_OK. Errors only for GAUTH_E_INVALID_ARG
 * (a bad GAUTH_METADATA_DETECTION value) and GAUTH_E_NOMEM. */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_detect(
    gauth_metadata *md, gauth_metadata_detection *out, gauth_error *err);

/* GET computeMetadata/v1/PATH ("project/project-id",
 * "instance/service-accounts/default/email"; a leading '/' and the
 * "computeMetadata/v1/" prefix are accepted too; a query may follow).
 * Writes the body to *value (free with gauth_free()). Does not detect
 * first. Errors: GAUTH_E_NOT_FOUND (404), GAUTH_E_BAD_RESPONSE (no
 * Metadata-Flavor: Google in the reply), GAUTH_E_NETWORK, GAUTH_E_TIMEOUT,
 * GAUTH_E_UNAVAILABLE, GAUTH_E_INVALID_ARG (a path with "..", a fragment or
 * control characters). */
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_get(gauth_metadata *md,
                                                          const char *path,
                                                          char **value,
                                                          gauth_error *err);

/* Convenience reads: the project id, the numeric project id, the zone
 * (last path segment only: "us-central1-a"), the universe domain
 * ("googleapis.com" when the server has no such entry) and the default
 * service account's email. Free *value with gauth_free(). */
GAUTH_API GAUTH_NODISCARD gauth_status
gauth_metadata_project_id(gauth_metadata *md, char **value, gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_project_number(
    gauth_metadata *md, char **value, gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_zone(gauth_metadata *md,
                                                           char **value,
                                                           gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_universe_domain(
    gauth_metadata *md, char **value, gauth_error *err);
GAUTH_API GAUTH_NODISCARD gauth_status gauth_metadata_email(gauth_metadata *md,
                                                            char **value,
                                                            gauth_error *err);

GAUTH_END_DECLS

#endif /* GAUTH_METADATA_H */
