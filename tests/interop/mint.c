/* interop_mint: tokens minted by libgauth (public API only) for other
 * implementations to verify. Prints three lines:
 *   1. an ID token for AUDIENCE from the token endpoint (the key file's
 *      token_uri: the emulator), through a service-account credential;
 *   2. a self-signed JWT access token with a "scope" claim (no network);
 *   3. a self-signed JWT access token with "aud" = JWT_AUDIENCE.
 *
 *   interop_mint KEY_FILE AUDIENCE JWT_AUDIENCE
 *
 * Exit 0, or 1 with libgauth's message on stderr. */
#include <stdio.h>
#include <stdlib.h>

#include <gauth/gauth.h>

static int mint(const char *key, const gauth_credentials_options *copts,
                const char *audience) {
  gauth_credentials *c = NULL;
  gauth_error err = GAUTH_ERROR_INIT;
  char *tok = NULL;
  gauth_status st = gauth_credentials_from_file(&c, key, copts, &err);
  if (st == GAUTH_OK)
    st = audience ? gauth_credentials_id_token(c, audience, 0, &tok, NULL, &err)
                  : gauth_credentials_access_token(c, NULL, &tok, NULL, &err);
  if (st == GAUTH_OK)
    printf("%s\n", tok);
  else
    fprintf(stderr, "interop_mint: %s (%s)\n", err.message,
            gauth_status_name(st));
  gauth_free(tok);
  gauth_credentials_free(c);
  return st == GAUTH_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  gauth_credentials_options self = GAUTH_CREDENTIALS_OPTIONS_INIT;
  int rc;
  if (argc != 4) {
    fprintf(stderr, "usage: interop_mint KEY_FILE AUDIENCE JWT_AUDIENCE\n");
    return 2;
  }
  rc = mint(argv[1], NULL, argv[2]);
  self.self_signed_jwt = GAUTH_SELF_SIGNED_JWT_ALWAYS;
  if (rc == 0) rc = mint(argv[1], &self, NULL);
  self.jwt_audience = argv[3];
  if (rc == 0) rc = mint(argv[1], &self, NULL);
  gauth_global_cleanup();
  return rc;
}
