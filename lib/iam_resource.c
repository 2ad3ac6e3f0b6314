/* Not written yet. */
#include "common.h"
extern int gauth__iam_resource_placeholder;
