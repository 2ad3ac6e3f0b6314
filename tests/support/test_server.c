/* placeholder */
#include "test_server.h"
