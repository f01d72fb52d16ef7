/*
 * vtime_internal.h - helpers shared by the vtime sources: relaxed/acquire accessors (GCC
 * __atomic builtins, available freestanding), the fixed-point product and the writer lock.
 */
#ifndef TSX_HV_VTIME_INTERNAL_H
#define TSX_HV_VTIME_INTERNAL_H

#include "vtime.h"

#define VTIME_RING_MASK (VTIME_RING - 1u)
#define VTIME_CPU_MASK (VTIME_MAX_CPUS - 1u)
/* Older epochs a reader may walk back to. The slot after the newest one is the one the next
 * writer fills (aliasing newest - (VTIME_RING - 1)), so it is never read. */
#define VTIME_HISTORY (VTIME_RING - 2u)

_Static_assert((VTIME_RING & VTIME_RING_MASK) == 0, "VTIME_RING must be a power of two");
_Static_assert((VTIME_MAX_CPUS & VTIME_CPU_MASK) == 0, "VTIME_MAX_CPUS must be a power of two");
_Static_assert(VTIME_RING >= 4, "the ring needs history beyond the slot being written");

#define vtime_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define vtime_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* ((d * rate) >> 32) mod 2^64: the 128-bit product keeps every bit before the shift. */
static inline uint64_t vtime_scale(uint64_t d, uint64_t rate)
{
	return (uint64_t)(((unsigned __int128)d * rate) >> VTIME_FRAC_BITS);
}

/* True when a is before b on the 64-bit wrapping TSC line (less than 2^63 apart). */
static inline bool vtime_before(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) < 0;
}

static inline const struct vtime_epoch *vtime_epoch_at(const struct vtime_clock *c, uint64_t n)
{
	return &c->ring[n & VTIME_RING_MASK];
}

/* The sequence count once no publication is in progress (waits, vtime_read.c). */
uint64_t vtime_seq_stable(const struct vtime_clock *c);

/* Fake TSC of reference real TSC v, for a reader that saw sequence value s and found v before
 * the newest epoch's start: walks back through the kept epochs (vtime_read.c). */
uint64_t vtime_fake_before(const struct vtime_clock *c, uint64_t s, uint64_t v);

/* 32.32 fixed-point rate nearest to p/q, after vtime_speed_check() accepted p/q. */
uint64_t vtime_rate_of(uint64_t p, uint64_t q);
int vtime_speed_check(uint64_t p, uint64_t q);

#endif
