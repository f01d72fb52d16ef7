/*
 * vtime_timer.c - timer translation from the virtual timeline back to real TSC values,
 * rounded up so that a timer programmed at the result never fires early in virtual time.
 */
#include "vtime_internal.h"

#define VTIME_FAR ((uint64_t)INT64_MAX)

/* Smallest d with ((d * rate) >> 32) >= k, i.e. ceil(k * 2^32 / rate), saturated at 2^63-1.
 * rate < 2^46 (10000x) so the remainder shifted by 16 fits 64 bits: the 96-bit dividend is
 * consumed in three 64-bit divisions instead of a 128-bit one (no libgcc in hv-core). */
static uint64_t ticks_to_reach(uint64_t k, uint64_t rate)
{
	_Static_assert((unsigned __int128)VTIME_SPEED_MAX * VTIME_RATE_ONE < ((unsigned __int128)1 << 47),
		       "remainder << 16 must fit 64 bits");
	uint64_t quot = k / rate;
	uint64_t rem = k % rate;

	if (quot >= ((uint64_t)1 << (63 - VTIME_FRAC_BITS)))
		return VTIME_FAR;
	for (unsigned i = 0; i < VTIME_FRAC_BITS / 16u; i++) {
		quot = (quot << 16) | ((rem << 16) / rate);
		rem = (rem << 16) % rate;
	}
	if (rem != 0)
		quot++;
	return quot > VTIME_FAR ? VTIME_FAR : quot;
}

/* Reference real TSC at which the timeline first reaches fake value f (seqlock-consistent). */
static uint64_t reference_reaching(const struct vtime_clock *c, uint64_t f)
{
	uint64_t s, real;

	do {
		s = vtime_seq_stable(c);
		uint64_t newest = s >> 1;
		uint64_t back = newest < VTIME_HISTORY ? newest : VTIME_HISTORY;
		const struct vtime_epoch *e = vtime_epoch_at(c, newest);
		uint64_t k = 0;

		real = vtime_load(&e->u);
		/* Newest first: epoch n covers fake values after g_n; an older epoch j covers
		 * (g_j, g_j+1], and g_j+1 = fake_j(u_j+1) so the answer stays before u_j+1. */
		for (;;) {
			uint64_t g = vtime_load(&e->g);
			if (vtime_before(g, f)) {
				real = vtime_load(&e->u) + ticks_to_reach(f - g, vtime_load(&e->rate));
				break;
			}
			real = vtime_load(&e->u);
			if (k == back)
				break;
			k++;
			e = vtime_epoch_at(c, newest - k);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (vtime_load(&c->seq) != s);
	return real;
}

uint64_t vtime_to_real(const struct vtime_clock *c, unsigned cpu, uint64_t virtual_deadline)
{
	const struct vtime_cpu *pc = &c->cpu[cpu & VTIME_CPU_MASK];
	uint64_t f = virtual_deadline - (uint64_t)vtime_load(&pc->adjust);

	return reference_reaching(c, f) - (uint64_t)vtime_load(&pc->offset);
}
