/* A program that uses an installed libgauth, as a user's would: built by
 * tests/scripts/check-install.sh through pkg-config (shared and static) and
 * through find_package(gauth). */
#include <stdio.h>
#include <string.h>

#include <gauth/gauth.h>

int main(void) {
  gauth_options opts = GAUTH_OPTIONS_INIT;
  gauth_error err = GAUTH_ERROR_INIT;
  char *url = NULL;
  int ok;
  if (strcmp(gauth_version(), GAUTH_VERSION_STRING) != 0) {
    fprintf(stderr, "consumer: header %s, library %s\n", GAUTH_VERSION_STRING,
            gauth_version());
    return 1;
  }
  if (gauth_global_init(&err) != GAUTH_OK) {
    fprintf(stderr, "consumer: %s\n", err.message);
    return 1;
  }
  opts.endpoint = "http://127.0.0.1:8080";
  if (gauth_service_url(&opts, GAUTH_SERVICE_TOKEN, &url, &err) != GAUTH_OK) {
    fprintf(stderr, "consumer: %s\n", err.message);
    gauth_global_cleanup();
    return 1;
  }
  ok = strcmp(url, "http://127.0.0.1:8080/token") == 0;
  printf("consumer: libgauth %s, token endpoint %s\n", gauth_version(), url);
  gauth_free(url);
  gauth_global_cleanup();
  return ok ? 0 : 1;
}
