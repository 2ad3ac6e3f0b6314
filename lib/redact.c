/* Secret redaction. (Being written: for now a plain copy.) */
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "redact.h"

char *gauth__redact(const char *text, const char *const *known) {
  (void)known;
  return strdup(text ? text : "");
}

void gauth__redact_buf(char *buf, size_t size, const char *const *known) {
  char *r = gauth__redact(buf, known);
  if (r == NULL) {
    gauth__strlcpy_utf8(buf, GAUTH__REDACTED, size);
    return;
  }
  gauth__strlcpy_utf8(buf, r, size);
  free(r);
}
