/* Internal: Application Default Credentials (lib/cred_adc.c), the pure
 * parts. */
#ifndef GAUTH_LIB_CRED_ADC_H
#define GAUTH_LIB_CRED_ADC_H

#include "common.h"

/* gcloud's ADC file: CLOUDSDK_CONFIG/application_default_credentials.json
 * when cloudsdk_config is not NULL or empty, else
 * HOME/.config/gcloud/application_default_credentials.json (a trailing '/'
 * of either directory is not doubled). Free *out with free().
 * GAUTH_E_NOT_FOUND when both are NULL or empty. */
gauth_status gauth__adc_gcloud_path(const char *cloudsdk_config,
                                    const char *home, char **out,
                                    gauth_error *err);

#endif /* GAUTH_LIB_CRED_ADC_H */
