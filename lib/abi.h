/* Internal: reading the caller's versioned options structs.
 *
 * A program compiled against an older header passes a struct of that
 * version's size; the library must read no byte past it. Each public
 * options struct starts with `unsigned int version` and records here the
 * size each version had. gauth__abi_read() overlays the caller's fields on a
 * struct the library has set to its _INIT value, so a field newer than the
 * caller's version takes its default. docs/abi.md says how a struct grows. */
#ifndef GAUTH_LIB_ABI_H
#define GAUTH_LIB_ABI_H

#include <stddef.h>

#include "common.h"

typedef struct gauth__abi_layout {
  const char *name;      /* "gauth_options" */
  const char *init;      /* "GAUTH_OPTIONS_INIT" */
  unsigned int versions; /* the current version: sizes[0 .. versions-1] */
  const size_t *sizes;   /* sizes[v - 1]: the struct's size in version v */
} gauth__abi_layout;

/* The layouts of the public options structs. */
extern const gauth__abi_layout gauth__abi_options;
extern const gauth__abi_layout gauth__abi_credentials_options;
extern const gauth__abi_layout gauth__abi_verifier_options;
extern const gauth__abi_layout gauth__abi_iam_wait_options;
extern const gauth__abi_layout gauth__abi_doctor_input;
extern const gauth__abi_layout gauth__abi_receiver_options;
extern const gauth__abi_layout gauth__abi_request;

/* Copies into `full` (the library's current struct, already set to its
 * _INIT value; full_size = sizeof it) the fields of `given` that its
 * version has, and sets full's version to the current one. GAUTH_E_INVALID_ARG
 * for version 0 or a version newer than this library knows, naming the
 * struct and the macro to use; `full` is then unchanged. */
gauth_status gauth__abi_read(void *full, size_t full_size, const void *given,
                             const gauth__abi_layout *layout, gauth_error *err);

#endif /* GAUTH_LIB_ABI_H */
