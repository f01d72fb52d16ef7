/*
 * vtime_read.c - the RDTSC path: reference real TSC -> fake TSC under the newest epoch,
 * lock-free (sequence lock: readers wait out a publication and retry if one completed), no division.
 */
#include "vtime_internal.h"

uint64_t vtime_fake_before(const struct vtime_clock *c, uint64_t s, uint64_t v)
{
	uint64_t newest = s >> 1;
	uint64_t back = newest < VTIME_HISTORY ? newest : VTIME_HISTORY;
	const struct vtime_epoch *e = vtime_epoch_at(c, newest);

	for (uint64_t k = 1; k <= back; k++) {
		e = vtime_epoch_at(c, newest - k);
		uint64_t u = vtime_load(&e->u);
		if (!vtime_before(v, u))
			return vtime_load(&e->g) + vtime_scale(v - u, vtime_load(&e->rate));
	}
	/* Older than every kept epoch: the oldest start is the earliest value still defined.
	 * It is >= the true fake(v), and later reads can only be >= it (docs/design/vtime.md). */
	return vtime_load(&e->g);
}

/* Sequence count with no publication in progress (even): waits one out. A reader must not
 * finish with epoch n once a writer has started publishing n + 1, whose start the writer
 * may only pick after this point (invariant M2). */
uint64_t vtime_seq_stable(const struct vtime_clock *c)
{
	uint64_t s;

	while (((s = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE)) & 1u) != 0) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	return s;
}

/* Fake TSC of reference real TSC v under the epochs published now: the general case, with
 * the sequence-lock retry and the walk-back. */
static uint64_t fake_at(const struct vtime_clock *c, uint64_t v)
{
	uint64_t s, fake;

	do {
		s = vtime_seq_stable(c);
		const struct vtime_epoch *e = vtime_epoch_at(c, s >> 1);
		uint64_t d = v - vtime_load(&e->u);
		if ((int64_t)d >= 0)
			fake = vtime_load(&e->g) + vtime_scale(d, vtime_load(&e->rate));
		else
			fake = vtime_fake_before(c, s, v);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (vtime_load(&c->seq) != s);
	return fake;
}

static __attribute__((noinline, cold)) uint64_t read_slow(const struct vtime_clock *c,
							   const struct vtime_cpu *pc, uint64_t v)
{
	return fake_at(c, v) + (uint64_t)vtime_load(&pc->adjust);
}

/* The fast path is straight-line: the newest epoch, one product, one sequence re-check. A read
 * before the newest start, during a publication or overtaken by a writer leaves through
 * read_slow (a tail call), so the fast path saves no registers and has no loop. */
uint64_t vtime_read(const struct vtime_clock *c, unsigned cpu, uint64_t real_tsc)
{
	const struct vtime_cpu *pc = &c->cpu[cpu & VTIME_CPU_MASK];
	uint64_t v = real_tsc + (uint64_t)vtime_load(&pc->offset);
	uint64_t s = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
	const struct vtime_epoch *e = vtime_epoch_at(c, s >> 1);
	uint64_t d = v - vtime_load(&e->u);

	if (__builtin_expect(((int64_t)d < 0) | (s & 1u), 0))
		return read_slow(c, pc, v);
	uint64_t fake = vtime_load(&e->g) + vtime_scale(d, vtime_load(&e->rate));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__builtin_expect(vtime_load(&c->seq) != s, 0))
		return read_slow(c, pc, v);
	return fake + (uint64_t)vtime_load(&pc->adjust);
}

uint64_t vtime_to_virtual(const struct vtime_clock *c, unsigned cpu, uint64_t real_tsc)
{
	return vtime_read(c, cpu, real_tsc);
}

uint64_t vtime_reference(const struct vtime_clock *c, unsigned cpu, uint64_t real_tsc)
{
	return real_tsc + (uint64_t)vtime_load(&c->cpu[cpu & VTIME_CPU_MASK].offset);
}

bool vtime_linear(const struct vtime_clock *c, unsigned cpu, uint64_t real_tsc, uint64_t *rate,
		  uint64_t *offset)
{
	const struct vtime_cpu *pc = &c->cpu[cpu & VTIME_CPU_MASK];
	uint64_t s = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
	if (s & 1u)
		return false;
	const struct vtime_epoch *e = vtime_epoch_at(c, s >> 1);
	uint64_t u = vtime_load(&e->u), g = vtime_load(&e->g), r = vtime_load(&e->rate);
	uint64_t o = (uint64_t)vtime_load(&pc->offset), adj = (uint64_t)vtime_load(&pc->adjust);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (vtime_load(&c->seq) != s || vtime_before(real_tsc + o, u))
		return false;
	/* fake(raw) = g + ((raw + o - u) * r >> 32) + adj; with raw_u = u - o the epoch's start
	 * in this CPU's raw TSC, (raw * r >> 32) - (raw_u * r >> 32) is (raw - raw_u) * r >> 32
	 * or one more. */
	*rate = r;
	*offset = g + adj - vtime_scale(u - o, r);
	return true;
}
