#include <gauth/gauth.h>
#include <stdio.h>
int main(void) { puts(gauth_version()); return 0; }
