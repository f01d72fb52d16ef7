/*
 * vtime.c - the writer side of the virtual-time core: starting the timeline, speed changes,
 * arming, per-CPU offsets and the guest's IA32_TSC / IA32_TSC_ADJUST writes, status.
 */
#include "vtime_internal.h"

static void writer_lock(struct vtime_clock *c)
{
	while (__atomic_exchange_n(&c->writer_lock, 1u, __ATOMIC_ACQUIRE) != 0u) {
		while (vtime_load(&c->writer_lock) != 0u) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
	}
}

static void writer_unlock(struct vtime_clock *c)
{
	__atomic_store_n(&c->writer_lock, 0u, __ATOMIC_RELEASE);
}

int vtime_init(struct vtime_clock *c, unsigned cpus, uint64_t real_now)
{
	if (cpus == 0 || cpus > VTIME_MAX_CPUS)
		return VTIME_EINVAL;
	for (unsigned i = 0; i < VTIME_RING; i++)
		c->ring[i] = (struct vtime_epoch){ 0, 0, 0, 0, 0 };
	for (unsigned i = 0; i < VTIME_MAX_CPUS; i++)
		c->cpu[i] = (struct vtime_cpu){ 0, 0 };
	c->ring[0] = (struct vtime_epoch){
		.u = real_now, .g = real_now, .rate = VTIME_RATE_ONE, .p = 1, .q = 1,
	};
	c->seq = 0;
	c->config_seq = 0;
	c->pending_p = 1;
	c->pending_q = 1;
	c->publish_lead = 0;
	c->time_source = NULL;
	c->cpus = cpus;
	c->writer_lock = 0;
	c->armed = false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return VTIME_OK;
}

/* Publishes epoch n + 1 with the writer lock held. The sequence count goes odd first (readers
 * from then on wait), then the time source, if any, is read: a reader that finished with
 * epoch n took its real TSC before that (invariant M2). The epoch starts at
 * u' = max(real_now + lead, u_n), so epoch starts never go backwards (E1), with
 * g' = fake_n(u'): no jump (C1). */
static void publish(struct vtime_clock *c, uint64_t real_now, uint64_t p, uint64_t q)
{
	uint64_t s = c->seq;
	uint64_t n = s >> 1;
	const struct vtime_epoch *old = vtime_epoch_at(c, n);
	struct vtime_epoch *slot = &c->ring[(n + 1) & VTIME_RING_MASK];
	uint64_t rate = vtime_rate_of(p, q);

	__atomic_store_n(&c->seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (c->time_source != NULL) {
		uint64_t now = c->time_source();
		if (vtime_before(real_now, now))
			real_now = now;
	}
	uint64_t u = real_now + c->publish_lead;
	if (vtime_before(u, old->u))
		u = old->u;
	struct vtime_epoch next = {
		.u = u,
		.g = old->g + vtime_scale(u - old->u, old->rate),
		.rate = rate,
		.p = p,
		.q = q,
	};

	vtime_store(&slot->u, next.u);
	vtime_store(&slot->g, next.g);
	vtime_store(&slot->rate, next.rate);
	vtime_store(&slot->p, next.p);
	vtime_store(&slot->q, next.q);
	__atomic_store_n(&c->seq, s + 2, __ATOMIC_RELEASE);
}

static void config_begin(struct vtime_clock *c)
{
	__atomic_store_n(&c->config_seq, c->config_seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void config_end(struct vtime_clock *c)
{
	__atomic_store_n(&c->config_seq, c->config_seq + 1, __ATOMIC_RELEASE);
}

int vtime_set_speed(struct vtime_clock *c, uint64_t real_now, uint64_t p, uint64_t q)
{
	int err = vtime_speed_check(p, q);

	if (err != VTIME_OK)
		return err;
	writer_lock(c);
	config_begin(c);
	vtime_store(&c->pending_p, p);
	vtime_store(&c->pending_q, q);
	config_end(c);
	if (c->armed)
		publish(c, real_now, p, q);
	writer_unlock(c);
	return VTIME_OK;
}

int vtime_arm(struct vtime_clock *c, uint64_t real_now)
{
	writer_lock(c);
	if (!c->armed) {
		config_begin(c);
		vtime_store(&c->armed, true);
		config_end(c);
		const struct vtime_epoch *e = vtime_epoch_at(c, c->seq >> 1);
		if (c->pending_p != e->p || c->pending_q != e->q)
			publish(c, real_now, c->pending_p, c->pending_q);
	}
	writer_unlock(c);
	return VTIME_OK;
}

void vtime_set_time_source(struct vtime_clock *c, uint64_t (*now)(void))
{
	writer_lock(c);
	c->time_source = now;
	writer_unlock(c);
}

bool vtime_armed(const struct vtime_clock *c)
{
	return __atomic_load_n(&c->armed, __ATOMIC_ACQUIRE);
}

void vtime_set_publish_lead(struct vtime_clock *c, uint64_t ticks)
{
	writer_lock(c);
	config_begin(c);
	vtime_store(&c->publish_lead, ticks);
	config_end(c);
	writer_unlock(c);
}

int vtime_set_cpu_offset(struct vtime_clock *c, unsigned cpu, int64_t real_offset)
{
	if (cpu >= c->cpus)
		return VTIME_EINVAL;
	vtime_store(&c->cpu[cpu].offset, real_offset);
	return VTIME_OK;
}

int vtime_write_tsc(struct vtime_clock *c, unsigned cpu, uint64_t real_tsc, uint64_t value)
{
	if (cpu >= c->cpus)
		return VTIME_EINVAL;
	uint64_t now = vtime_read(c, cpu, real_tsc);
	int64_t adjust = vtime_load(&c->cpu[cpu].adjust);
	vtime_store(&c->cpu[cpu].adjust, (int64_t)((uint64_t)adjust + (value - now)));
	return VTIME_OK;
}

int vtime_write_tsc_adjust(struct vtime_clock *c, unsigned cpu, int64_t value)
{
	if (cpu >= c->cpus)
		return VTIME_EINVAL;
	vtime_store(&c->cpu[cpu].adjust, value);
	return VTIME_OK;
}

int64_t vtime_read_tsc_adjust(const struct vtime_clock *c, unsigned cpu)
{
	if (cpu >= c->cpus)
		return 0;
	return vtime_load(&c->cpu[cpu].adjust);
}

void vtime_get_state(const struct vtime_clock *c, struct vtime_state *out)
{
	uint64_t s, cs;

	do {
		s = vtime_seq_stable(c);
		cs = __atomic_load_n(&c->config_seq, __ATOMIC_ACQUIRE);
		const struct vtime_epoch *e = vtime_epoch_at(c, s >> 1);
		out->p = vtime_load(&e->p);
		out->q = vtime_load(&e->q);
		out->rate = vtime_load(&e->rate);
		out->epoch_u = vtime_load(&e->u);
		out->epoch_g = vtime_load(&e->g);
		out->epoch_count = (s >> 1) + 1;
		out->pending_p = vtime_load(&c->pending_p);
		out->pending_q = vtime_load(&c->pending_q);
		out->armed = vtime_load(&c->armed);
		out->publish_lead = vtime_load(&c->publish_lead);
		out->cpus = c->cpus;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((cs & 1u) != 0 || vtime_load(&c->config_seq) != cs || vtime_load(&c->seq) != s);
}
