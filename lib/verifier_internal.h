/* Internal: what lib/verifier.c offers other lib/ files beyond the public
 * verifier API. */
#ifndef GAUTH_LIB_VERIFIER_INTERNAL_H
#define GAUTH_LIB_VERIFIER_INTERNAL_H

#include "common.h"

/* Checks a compact token with v's rules WITHOUT its signature: structure
 * (as gauth_verifier_verify parses it), the header's alg among v's
 * algorithms, then every claim check of v (issuer, audience, times with
 * the leeway, and the rest) on v's clock. No key is fetched and the token
 * cache is not used. For tokens whose signature someone trusted has already
 * checked and removed (Cloud Run's SIGNATURE_REMOVED_BY_GOOGLE). On success
 * *out holds the claims (gauth_claims_free). Errors as
 * gauth_verifier_verify's. */
gauth_status gauth__verifier_check_unsigned(gauth_verifier *v,
                                            const char *token, size_t len,
                                            gauth_claims **out,
                                            gauth_error *err);

#endif /* GAUTH_LIB_VERIFIER_INTERNAL_H */
