/* placeholder */
#include "common.h"
