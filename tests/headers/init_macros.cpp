/* The C file compiled as C++17 (tests/headers/CMakeLists.txt). */
#include "init_macros.c"
