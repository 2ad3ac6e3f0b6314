/* Internal: the reference count of every shared object (gauth_credentials,
 * gauth_verifier, gauth_key, gauth_keyset, gauth_claims): the one count
 * behind each _up_ref / _free pair.
 *
 * Memory orders, as in libc++'s shared_ptr and Linux's refcount_t:
 *   - up: relaxed. Only a holder of a reference takes another, so the
 *     object cannot go away meanwhile; the increment has nothing to order,
 *     it only has to be atomic.
 *   - down: acq_rel. Release: this thread's writes to the object (and its
 *     reads of it) happen before the count drops, so they are done when
 *     another thread destroys it. Acquire: the thread that takes the count
 *     to zero sees every other holder's writes before it destroys the
 *     object. (A release decrement plus an acquire fence on the last one
 *     would do as well; acq_rel on each says the same in one place.)
 * gauth__ref_down returns 1 when the count reached zero: the caller then
 * destroys the object, which no one else can reach any more. */
#ifndef GAUTH_LIB_REFCOUNT_H
#define GAUTH_LIB_REFCOUNT_H

#include <stdatomic.h>

typedef atomic_uint gauth__refcount;

/* A new object's count: one reference, its creator's. Not atomic: the
 * object is not shared yet. */
static inline void gauth__ref_init(gauth__refcount *r) { atomic_init(r, 1u); }

static inline void gauth__ref_up(gauth__refcount *r) {
  atomic_fetch_add_explicit(r, 1u, memory_order_relaxed);
}

static inline int gauth__ref_down(gauth__refcount *r) {
  return atomic_fetch_sub_explicit(r, 1u, memory_order_acq_rel) == 1u;
}

#endif /* GAUTH_LIB_REFCOUNT_H */
