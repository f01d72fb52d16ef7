/*
 * tsc_scaling.c - chooses how each CPU reads the TSC and keeps hardware-scaled CPUs off
 * stale parameters across speed changes (include/tsc_scaling.h has the design).
 */
#include "tsc_scaling.h"
#include "cpu.h"
#include "guest_time.h"
#include "lapic_timer.h"
#include "log.h"
#include "spinlock.h"
#include "vtime.h"
#include "x86.h"

static bool allowed = true;
/* Odd while a writer changes the timeline: every entry traps then. */
static volatile uint32_t change_seq;
static struct spinlock writer;

void tsc_scaling_configure(bool on)
{
	allowed = on;
}

bool tsc_scaling_allowed(void)
{
	return allowed;
}

static bool on_hardware(const struct cpu *t)
{
	uint32_t path = __atomic_load_n(&t->tsc_path, __ATOMIC_SEQ_CST);
	return path == TSC_PATH_RAW || path == TSC_PATH_SCALED;
}

/* Waits (bounded: 100 ms of real time) until CPU t neither reads the TSC without exits nor has
 * a kick outstanding. A kick that finds t still in the hypervisor, between choosing its path
 * and entering, is taken there and leaves t entering on the old parameters: t is kicked
 * again once that kick is consumed (never while one is outstanding, exceptions.c tells a
 * kick from the guest's NMI by the flag). A CPU in the hypervisor is never waited for, so
 * a writer cannot deadlock with a CPU that waits for the writer. */
static void wait_off_hardware(struct cpu *self, struct cpu *t)
{
	uint64_t start = rdtsc(), limit = tsc_hz() / 10;
	for (;;) {
		bool kick_outstanding = __atomic_load_n(&t->kick, __ATOMIC_SEQ_CST);
		if (!on_hardware(t)) {
			if (!kick_outstanding)
				return;
		} else if (!kick_outstanding) {
			lapic_timer_kick(self, t);
		}
		if (rdtsc() - start > limit) {
			hv_log("tsc scaling: cpu %u did not leave the guest within 100 ms of its kick",
			       t->index);
			return;
		}
		__asm__ volatile("pause");
	}
}

void tsc_scaling_begin(void)
{
	spin_lock(&writer);
	__atomic_add_fetch(&change_seq, 1, __ATOMIC_SEQ_CST);
	struct cpu *self = this_cpu();
	for (unsigned i = 0; i < cpu_count(); i++) {
		struct cpu *t = cpu_at(i);
		if (t != self)
			wait_off_hardware(self, t);
	}
}

void tsc_scaling_end(void)
{
	__atomic_add_fetch(&change_seq, 1, __ATOMIC_SEQ_CST);
	spin_unlock(&writer);
}

bool tsc_scaling_rate_ok(enum tsc_hw hw, uint64_t rate)
{
	return hw == TSC_HW_SCALE || (hw == TSC_HW_OFFSET && rate == VTIME_RATE_ONE);
}

enum tsc_path tsc_scaling_choose(struct cpu *c, enum tsc_hw hw, uint64_t *multiplier,
				 uint64_t *offset)
{
	/* Announce "reading without exits" before looking at the writer's count (a writer
	 * increments it, then looks at this): either the writer sees this CPU on hardware and
	 * kicks it, or this CPU sees the change in progress and traps. */
	enum tsc_path previous = (enum tsc_path)c->tsc_programmed;
	__atomic_store_n(&c->tsc_path, TSC_PATH_SCALED, __ATOMIC_SEQ_CST);
	enum tsc_path path = TSC_PATH_TRAPPED;
	uint64_t rate = 0;
	if (__atomic_load_n(&change_seq, __ATOMIC_SEQ_CST) & 1u)
		path = TSC_PATH_TRAPPED;
	else if (!guest_time_virtualised())
		path = TSC_PATH_RAW;
	else if (allowed && guest_time_linear(c->index, rdtsc(), &rate, offset) &&
		 tsc_scaling_rate_ok(hw, rate))
		path = TSC_PATH_SCALED;
	if (path == TSC_PATH_SCALED) {
		*multiplier = rate << 16;
		/* Never below a floor still in force: the scaled form could then step back. */
		uint64_t now = (uint64_t)(((unsigned __int128)rdtsc() * *multiplier) >> 48) + *offset;
		if (c->tsc_floor_valid && (int64_t)(now - c->tsc_floor) < 0)
			path = TSC_PATH_TRAPPED;
		else
			c->tsc_floor_valid = 0;
	}
	if (path == TSC_PATH_TRAPPED && previous == TSC_PATH_SCALED) {
		/* The last value the guest may have read on the old parameters: the scaled TSC at the
		 * moment it left the guest (tsc_scaling_exited), not now. Taken now, a floor on the
		 * old rate would run ahead of a slower new epoch, which started after the exit, and
		 * stall the guest's clock (under QEMU TCG the hypervisor's handling between the exit
		 * and this entry lasts milliseconds). */
		c->tsc_floor = c->tsc_exit_value;
		c->tsc_floor_valid = 1;
	}
	if (path == TSC_PATH_SCALED) {
		c->tsc_multiplier = *multiplier;
		c->tsc_offset = *offset;
	}
	if (path != previous)
		c->tsc_path_changes++;
	c->tsc_programmed = path;
	__atomic_store_n(&c->tsc_path, path, __ATOMIC_SEQ_CST);
	return path;
}

void tsc_scaling_exited(struct cpu *c)
{
	if (c->tsc_programmed == TSC_PATH_SCALED)
		c->tsc_exit_value =
			(uint64_t)(((unsigned __int128)rdtsc() * c->tsc_multiplier) >> 48) + c->tsc_offset;
	__atomic_store_n(&c->tsc_path, TSC_PATH_HOST, __ATOMIC_SEQ_CST);
}

uint64_t tsc_scaling_guest_read(struct cpu *c, uint64_t real)
{
	uint64_t v = guest_time_read(c->index, real);
	if (c->tsc_floor_valid) {
		if ((int64_t)(v - c->tsc_floor) < 0)
			return c->tsc_floor;
		c->tsc_floor_valid = 0;
	}
	return v;
}

const char *tsc_path_name(enum tsc_path p)
{
	switch (p) {
	case TSC_PATH_TRAPPED: return "trapped";
	case TSC_PATH_RAW: return "raw";
	case TSC_PATH_SCALED: return "scaled";
	default: return "host";
	}
}
