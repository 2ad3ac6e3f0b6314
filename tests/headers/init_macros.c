/* Every public _INIT macro as user code writes it. Compiled as C11 and as
 * C++17 with -Wall -Wextra -Wpedantic -Werror (tests/headers/CMakeLists.txt):
 * a macro that trips -Wmissing-field-initializers, or any other warning,
 * fails the build. */
#include <gauth/gauth.h>

int gauth_init_macros_check(void);
int gauth_init_macros_check(void) {
  gauth_error err = GAUTH_ERROR_INIT;
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_credentials_options copts = GAUTH_CREDENTIALS_OPTIONS_INIT;
  gauth_verifier_options vopts = GAUTH_VERIFIER_OPTIONS_INIT;
  gauth_iam_wait_options wopts = GAUTH_IAM_WAIT_OPTIONS_INIT;
  gauth_doctor_input din = GAUTH_DOCTOR_INPUT_INIT;
  gauth_receiver_options ropts = GAUTH_RECEIVER_OPTIONS_INIT;
  gauth_request req = GAUTH_REQUEST_INIT;
  static const gauth_endpoint_override eps[] = {
      {"pubsub", "http://127.0.0.1:1"}, {NULL, NULL}};
  opts.endpoints = eps;
  copts.options = &opts;
  vopts.http = &opts;
  ropts.http = &opts;
  return (int)err.code + (int)opts.version + (int)copts.version +
         (int)vopts.version + (int)wopts.version + (int)din.version +
         (int)ropts.version + (int)req.version +
         (GAUTH_VERSION_AT_LEAST(0, 1, 0) ? 0 : 1000);
}
