/* Internal: the wall clock, in seconds since the epoch, as every object
 * with a clock option reads it: the injected gauth_clock_fn when the
 * options give one (tests drive time with it), else the system's.
 *
 * Two system clocks, one answer to "what time is it":
 *   - gauth__clock_now: CLOCK_REALTIME, exact to the call (credentials:
 *     token expiry and the cache's slow path);
 *   - gauth__clock_now_coarse: CLOCK_REALTIME_COARSE where the system has
 *     it, the time of the last tick (a few ms behind, several times
 *     cheaper). time() reads that same clock on Linux; the verifier, its
 *     key source and the credential cache's lock-free path use it.
 * With an injected clock both return what it says.
 *
 * Deadlines and waits use the monotonic clock instead: gauth__mono_ms and
 * gauth__sleep_ms (retry.h).
 *
 * Inline: the credential cache's lock-free path reads the coarse clock on
 * every cached token, and a call into another file would cost it more than
 * the clock does. */
#ifndef GAUTH_LIB_CLOCK_H
#define GAUTH_LIB_CLOCK_H

#include <time.h>

#include "common.h"

static inline int64_t gauth__clock_now(gauth_clock_fn clock, void *userdata) {
  struct timespec ts;
  if (clock != NULL) return clock(userdata);
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec;
}

static inline int64_t gauth__clock_now_coarse(gauth_clock_fn clock,
                                              void *userdata) {
#ifdef CLOCK_REALTIME_COARSE
  struct timespec ts;
  if (clock == NULL && clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0)
    return (int64_t)ts.tv_sec;
#endif
  return gauth__clock_now(clock, userdata);
}

#endif /* GAUTH_LIB_CLOCK_H */
