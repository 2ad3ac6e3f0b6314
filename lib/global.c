/* Process-wide state: the one reference count behind gauth_global_init(),
 * which owns libcurl's global initialisation. */
#include <pthread.h>
#include <stdlib.h>
#ifdef GAUTH_HAVE_MALLOC_USABLE_SIZE
#include <malloc.h>
#endif
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "error_internal.h"
#include "jose_internal.h"

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long global_refs;

const char *gauth_version(void) { return GAUTH_VERSION_STRING; }

gauth_status gauth_global_init(gauth_error *err) {
  gauth_status st = GAUTH_OK;
  pthread_mutex_lock(&global_lock);
  if (global_refs == 0) {
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      st = gauth__error_set(err, GAUTH_E_INTERNAL,
                            "libcurl global initialisation failed: %s",
                            curl_easy_strerror(rc));
    }
  }
  if (st == GAUTH_OK) {
    global_refs++;
    gauth_error_clear(err);
  }
  pthread_mutex_unlock(&global_lock);
  return st;
}

void gauth_global_cleanup(void) {
  int last = 0;
  pthread_mutex_lock(&global_lock);
  if (global_refs > 0 && --global_refs == 0) {
    curl_global_cleanup();
    last = 1;
  }
  pthread_mutex_unlock(&global_lock);
  /* Other threads free theirs when they exit; a program's main thread
   * usually never does (exit() runs no thread-local destructors), so its
   * verification contexts go here. */
  if (last) gauth__jws_thread_cleanup();
}

/* Every buffer libgauth hands out comes from malloc(). Where the C library
 * can tell an allocation's size (glibc, musl: malloc_usable_size; ASan and
 * valgrind report the size asked for), the whole buffer is wiped, whatever
 * bytes it holds: binary signatures and payloads may contain NULs, and
 * strlen() would stop at the first. Elsewhere the rule in global.h holds:
 * each buffer ends with a NUL one byte past its length, and what comes
 * before the first NUL is wiped. */
void gauth_free(void *ptr) {
  if (ptr == NULL) return;
#ifdef GAUTH_HAVE_MALLOC_USABLE_SIZE
  OPENSSL_cleanse(ptr, malloc_usable_size(ptr));
#else
  OPENSSL_cleanse(ptr, strlen((const char *)ptr));
#endif
  free(ptr);
}
