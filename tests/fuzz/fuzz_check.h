/* Shared by the fuzz targets: the entry point's prototype and a property
 * check that makes libFuzzer record a failed property as a crash. */
#ifndef GAUTH_FUZZ_CHECK_H
#define GAUTH_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                     \
      abort();                                                            \
    }                                                                     \
  } while (0)

#endif /* GAUTH_FUZZ_CHECK_H */
