/* libgauth: Google OIDC / IAM authentication for C.
 *
 * The umbrella header: include this one, or the per-concern headers it pulls
 * in. Each header states its ownership and thread-safety rules. */
#ifndef GAUTH_GAUTH_H
#define GAUTH_GAUTH_H

#include <gauth/export.h>
#include <gauth/version.h>
#include <gauth/error.h>
#include <gauth/global.h>
#include <gauth/log.h>
#include <gauth/options.h>
#include <gauth/jose.h>
#include <gauth/verifier.h>
#include <gauth/credentials.h>
#include <gauth/metadata.h>
#include <gauth/iam.h>
#include <gauth/scheduler.h>
#include <gauth/doctor.h>
#include <gauth/receiver.h>

#endif /* GAUTH_GAUTH_H */
