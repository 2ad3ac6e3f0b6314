/* The size of every version of every public options struct, and reading a
 * caller's struct by its version (see abi.h). */
#include <string.h>

#include <gauth/credentials.h>
#include <gauth/doctor.h>
#include <gauth/iam.h>
#include <gauth/options.h>
#include <gauth/receiver.h>
#include <gauth/verifier.h>
#include <gauth/version.h>

#include "abi.h"
#include "error_internal.h"

/* When a struct grows: append the field, bump its _VERSION, and append the
 * new sizeof here; the size of the version before is the offset of the
 * first field it did not have. Never reorder, never remove. */
static const size_t options_sizes[] = {
    offsetof(gauth_options, endpoints), /* 1: up to log_level */
    sizeof(gauth_options),              /* 2: endpoints */
};
static const size_t credentials_options_sizes[] = {
    sizeof(gauth_credentials_options),
};
static const size_t verifier_options_sizes[] = {
    sizeof(gauth_verifier_options),
};
static const size_t doctor_input_sizes[] = {
    sizeof(gauth_doctor_input),
};
static const size_t iam_wait_options_sizes[] = {
    sizeof(gauth_iam_wait_options),
};
static const size_t receiver_options_sizes[] = {
    sizeof(gauth_receiver_options),
};
static const size_t request_sizes[] = {
    sizeof(gauth_request),
};

#define LAYOUT(var, type, macro, sizes, current)                             \
  const gauth__abi_layout var = {#type, #macro,                              \
                                 sizeof(sizes) / sizeof((sizes)[0]), sizes}; \
  _Static_assert(sizeof(sizes) / sizeof((sizes)[0]) == (current),            \
                 #type ": one size per version");                            \
  _Static_assert(sizeof(type) >= sizeof(unsigned int), #type)

LAYOUT(gauth__abi_options, gauth_options, GAUTH_OPTIONS_INIT, options_sizes,
       GAUTH_OPTIONS_VERSION);
LAYOUT(gauth__abi_credentials_options, gauth_credentials_options,
       GAUTH_CREDENTIALS_OPTIONS_INIT, credentials_options_sizes,
       GAUTH_CREDENTIALS_OPTIONS_VERSION);
LAYOUT(gauth__abi_verifier_options, gauth_verifier_options,
       GAUTH_VERIFIER_OPTIONS_INIT, verifier_options_sizes,
       GAUTH_VERIFIER_OPTIONS_VERSION);
LAYOUT(gauth__abi_doctor_input, gauth_doctor_input, GAUTH_DOCTOR_INPUT_INIT,
       doctor_input_sizes, GAUTH_DOCTOR_INPUT_VERSION);
LAYOUT(gauth__abi_iam_wait_options, gauth_iam_wait_options,
       GAUTH_IAM_WAIT_OPTIONS_INIT, iam_wait_options_sizes,
       GAUTH_IAM_WAIT_OPTIONS_VERSION);
LAYOUT(gauth__abi_receiver_options, gauth_receiver_options,
       GAUTH_RECEIVER_OPTIONS_INIT, receiver_options_sizes,
       GAUTH_RECEIVER_OPTIONS_VERSION);
LAYOUT(gauth__abi_request, gauth_request, GAUTH_REQUEST_INIT, request_sizes,
       GAUTH_REQUEST_VERSION);

gauth_status gauth__abi_read(void *full, size_t full_size, const void *given,
                             const gauth__abi_layout *layout,
                             gauth_error *err) {
  unsigned int version;
  size_t n;
  /* The version is the first member of every options struct, and the only
   * one read before the caller's size is known. */
  memcpy(&version, given, sizeof(version));
  if (version == 0 || version > layout->versions)
    return gauth__error_set(
        err, GAUTH_E_INVALID_ARG,
        "%s: version %u is not one this libgauth (%s) knows (1 to %u): "
        "initialise it with %s and build against this libgauth's headers",
        layout->name, version, GAUTH_VERSION_STRING, layout->versions,
        layout->init);
  n = layout->sizes[version - 1];
  if (n > full_size) n = full_size; /* not reached: sizes grow */
  memcpy(full, given, n);
  version = layout->versions;
  memcpy(full, &version, sizeof(version));
  return GAUTH_OK;
}
