/*
 * lapic_timer.c - the guest's local-APIC timer on the virtual timeline (include/lapic_timer.h).
 *
 * Model (Intel SDM vol. 3A, 10.5.4): the timer counts down from the initial count at the
 * APIC timer rate divided by the divide configuration; one-shot mode fires once at zero,
 * periodic mode reloads, TSC-deadline mode fires when the TSC reaches IA32_TSC_DEADLINE and
 * then clears the MSR. Here the count runs at the same rate against the guest's virtual TSC
 * as the physical APIC runs against the real TSC (the rate measured at boot), so a guest that
 * calibrated its timer at any speed finds it consistent with its clock. A count written at
 * virtual TSC v expires at v + count * divisor * (TSC ticks per APIC tick), rounded up.
 *
 * The physical timer of the same CPU is then programmed in one-shot (or periodic) mode with
 * the guest's vector and mask, for the real TSC at which the virtual clock reaches that
 * expiry (guest_time_to_real, rounded up), with the smallest divisor whose 32-bit count
 * reaches it; a deadline beyond even divide-by-128 is held back (the timer stays stopped)
 * and programmed once it comes within reach, checked before each guest entry and at each
 * idle wake-up. The interrupt itself is delivered by the physical APIC, so IRR, ISR, EOI and
 * priorities are exactly the hardware's.
 *
 * TSC-deadline is offered to the guest on every CPU (cpuid_policy.c) and emulated on the
 * one-shot timer, so the CPU need not have it (QEMU TCG has none); where it has, the physical
 * MSR is not used either: one mechanism, tested everywhere.
 *
 * Periodic mode is programmed as a physical periodic timer with the translated period; each
 * re-programming (speed change, idle) restarts the period, so an expiry may come up to one
 * period late but never early. Linux uses periodic mode only before it switches to one-shot.
 */
#include "lapic_timer.h"
#include "guest_time.h"
#include "lapic.h"
#include "log.h"
#include "x86.h"

#define CALIBRATION_MS 50ull
#define DCR_DIVIDE_BY_1 0xBu
#define DCR_RESET 0x0u /* divide by 2 */
#define MAX_SHIFT 7u   /* divide by 128 */
#define COUNT_MAX 0xFFFFFFFFull
#define ICR_DELIVERY_NMI (4u << ICR_DELIVERY_SHIFT)
#define LAPIC_ISR 0x100

static uint64_t apic_per_tsc; /* physical APIC ticks (divide by 1) per TSC tick, 32.32 */
static uint64_t tsc_per_apic; /* TSC ticks per APIC tick, 32.32 */
static uint64_t apic_hz;
static volatile uint32_t generation = 1;

void lapic_timer_calibrate(void)
{
	struct cpu *c = this_cpu();
	uint32_t saved_lvt = lapic_read(c, LAPIC_LVT_TIMER);
	lapic_write(c, LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(c, LAPIC_TIMER_DIVIDE, DCR_DIVIDE_BY_1);
	lapic_write(c, LAPIC_TIMER_INITIAL, (uint32_t)COUNT_MAX);
	uint64_t t0 = rdtsc();
	uint32_t c0 = lapic_read(c, LAPIC_TIMER_CURRENT);
	uint64_t wait = tsc_hz() / 1000 * CALIBRATION_MS;
	while (rdtsc() - t0 < wait)
		cpu_relax();
	uint64_t t1 = rdtsc();
	uint32_t c1 = lapic_read(c, LAPIC_TIMER_CURRENT);
	lapic_write(c, LAPIC_TIMER_INITIAL, 0);
	lapic_write(c, LAPIC_TIMER_DIVIDE, DCR_RESET);
	lapic_write(c, LAPIC_LVT_TIMER, saved_lvt);
	uint64_t ticks = (uint64_t)(c0 - c1), tsc = t1 - t0;
	if (ticks == 0 || tsc == 0 || ticks >= (1ull << 31) || tsc >= (1ull << 31))
		hv_panic("local APIC timer calibration failed (%lu APIC ticks in %lu TSC ticks)", ticks, tsc);
	apic_per_tsc = (ticks << 32) / tsc;
	tsc_per_apic = (tsc << 32) / ticks;
	apic_hz = (uint64_t)(((unsigned __int128)tsc_hz() * apic_per_tsc) >> 32);
	hv_log("local APIC timer %lu kHz (against the TSC)", apic_hz / 1000);
}

uint64_t lapic_timer_hz(void)
{
	return apic_hz;
}

static uint64_t virtual_now(struct cpu *c)
{
	return guest_time_read(c->index, rdtsc());
}

static uint32_t mode(const struct vtimer *t)
{
	return t->lvt & LVT_TIMER_MODE_MASK;
}

/* The virtual expiry the physical timer must deliver next, or 0. */
static uint64_t active_deadline(const struct vtimer *t)
{
	if (mode(t) == LVT_TIMER_TSC_DEADLINE)
		return t->tsc_deadline;
	return t->deadline;
}

static void stop_physical(struct cpu *c)
{
	lapic_write(c, LAPIC_LVT_TIMER, LVT_MASKED | (c->timer.lvt & LVT_VECTOR_MASK));
	lapic_write(c, LAPIC_TIMER_INITIAL, 0);
	c->timer.real_deadline = 0;
	c->timer.partial = 0;
}

/* Programs the physical one-shot (or periodic, with `period_real` TSC ticks) timer to fire
 * at real TSC `real` with LVT value `lvt`. Returns false if the deadline is out of reach. */
static bool program_physical(struct cpu *c, uint64_t real, uint64_t period_real, uint32_t lvt)
{
	uint64_t now = rdtsc();
	uint64_t delta = period_real ? period_real : (real > now ? real - now : 0);
	uint64_t ticks = lapic_timer_scale_up(delta, apic_per_tsc);
	if (ticks == 0)
		ticks = 1;
	unsigned shift = 0;
	while (shift < MAX_SHIFT && ((ticks + (1ull << shift) - 1) >> shift) > COUNT_MAX)
		shift++;
	uint64_t count = (ticks + (1ull << shift) - 1) >> shift;
	if (count > COUNT_MAX)
		return false;
	lapic_write(c, LAPIC_TIMER_INITIAL, 0);
	lapic_write(c, LAPIC_TIMER_DIVIDE, lapic_timer_divide_encode(shift));
	lapic_write(c, LAPIC_LVT_TIMER, lvt);
	lapic_write(c, LAPIC_TIMER_INITIAL, (uint32_t)count);
	c->timer.programs++;
	c->timer.acked = 0;
	return true;
}

/* A one-shot or TSC-deadline expiry has been delivered: the count reads 0, the MSR 0. */
static void expire(struct vtimer *t)
{
	if (mode(t) == LVT_TIMER_TSC_DEADLINE)
		t->tsc_deadline = 0;
	else if (mode(t) == LVT_TIMER_ONESHOT)
		t->deadline = 0;
}

static bool vector_requested(struct cpu *c, uint8_t vector)
{
	unsigned word = 0x10u * (vector / 32u), bit = 1u << (vector % 32u);
	return (lapic_read(c, LAPIC_IRR + word) | lapic_read(c, LAPIC_ISR + word)) & bit;
}

/* The physical one-shot timer programmed for the guest's expiry has counted down to zero:
 * that expiry is delivered and must not be programmed again (a re-translation would fire it
 * twice). Only the physical count can tell: the real deadline is rounded up, so the TSC alone
 * may pass it a moment early. An emulated APIC may show the count at zero before it requests
 * the interrupt (QEMU raises it from a timer callback that waits for its lock), and any
 * re-programming in that window cancels the request. So the expiry counts as requested only
 * if its vector is in IRR or ISR, or the guest's EOI for it was seen (lapic_timer_eoi: every
 * guest EOI is trapped); otherwise the physical timer is stopped - nothing can be requested
 * after that - and, if IRR still does not hold the vector, the hypervisor requests it itself
 * with a self-IPI. Either way it is delivered exactly once. */
static void sync_expiry(struct cpu *c)
{
	struct vtimer *t = &c->timer;
	if (!t->real_deadline || t->partial || t->hv_wake || mode(t) == LVT_TIMER_PERIODIC)
		return;
	if (lapic_read(c, LAPIC_TIMER_CURRENT) != 0)
		return;
	expire(t);
	uint8_t vector = (uint8_t)(t->lvt & LVT_VECTOR_MASK);
	if (t->acked || vector_requested(c, vector))
		return;
	lapic_write(c, LAPIC_TIMER_INITIAL, 0);
	unsigned word = 0x10u * (vector / 32u), bit = 1u << (vector % 32u);
	if (!(lapic_read(c, LAPIC_IRR + word) & bit)) {
		lapic_send_icr(c, ICR_SHORTHAND_SELF | ICR_DELIVERY_FIXED | vector, 0);
		t->redelivered++;
	}
}

void lapic_timer_eoi(struct cpu *c, void (*write_eoi)(struct cpu *c))
{
	struct vtimer *t = &c->timer;
	uint8_t vector = (uint8_t)(t->lvt & LVT_VECTOR_MASK);
	unsigned word = 0x10u * (vector / 32u), bit = 1u << (vector % 32u);
	/* Only once the count is zero can an EOI of the vector complete this expiry. */
	bool in_service = t->real_deadline && !t->hv_wake && (lapic_read(c, LAPIC_ISR + word) & bit) &&
			  lapic_read(c, LAPIC_TIMER_CURRENT) == 0;
	write_eoi(c);
	if (in_service && !(lapic_read(c, LAPIC_ISR + word) & bit))
		t->acked = 1;
}

/* Translates the guest's timer onto the physical one (this CPU only). */
static void program(struct cpu *c)
{
	struct vtimer *t = &c->timer;
	t->generation = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	t->hv_wake = 0;
	uint64_t v = active_deadline(t);
	uint8_t vector = (uint8_t)(t->lvt & LVT_VECTOR_MASK);
	if (v == 0 || (t->lvt & LVT_MASKED) || vector < 16) {
		/* Nothing to deliver. A masked timer still counts, virtually (current count). */
		stop_physical(c);
		return;
	}
	uint64_t real = guest_time_to_real(c->index, v);
	t->real_deadline = real ? real : 1;
	uint64_t period_real = 0;
	uint32_t lvt = vector;
	if (mode(t) == LVT_TIMER_PERIODIC) {
		uint64_t next = guest_time_to_real(c->index, v + t->period);
		period_real = next > real ? next - real : 1;
		lvt |= LVT_TIMER_PERIODIC;
	}
	t->partial = !program_physical(c, real, period_real, lvt);
	if (t->partial) {
		lapic_write(c, LAPIC_TIMER_INITIAL, 0);
		lapic_write(c, LAPIC_LVT_TIMER, LVT_MASKED | vector);
	}
}

void lapic_timer_reset(struct cpu *c)
{
	struct vtimer *t = &c->timer;
	t->lvt = LVT_MASKED;
	t->initial = 0;
	t->dcr = DCR_RESET;
	t->start = t->deadline = t->period = t->tsc_deadline = 0;
	if (c == this_cpu())
		program(c);
}

static uint64_t count_to_virtual(const struct vtimer *t, uint64_t count);
static void start_count(struct cpu *c);

void lapic_timer_adopt(struct cpu *c, uint32_t lvt, uint32_t dcr, uint32_t initial, uint32_t current,
		       uint64_t tsc_deadline)
{
	struct vtimer *t = &c->timer;
	t->dcr = dcr & 0xBu;
	t->lvt = lvt & (LVT_VECTOR_MASK | LVT_MASKED | LVT_TIMER_MODE_MASK);
	if (mode(t) == LVT_TIMER_MODE_MASK)
		t->lvt &= ~LVT_TIMER_MODE_MASK;
	t->start = t->deadline = t->period = t->tsc_deadline = 0;
	t->initial = 0;
	if (mode(t) == LVT_TIMER_TSC_DEADLINE) {
		/* The real and the virtual TSC are one at the hand-over (1x, no offset yet). */
		t->tsc_deadline = tsc_deadline;
	} else if (initial && (current || mode(t) == LVT_TIMER_PERIODIC)) {
		/* A one-shot count that reached 0 has fired (its interrupt, if any, is in the real
		 * IRR); a periodic one reloads. The next expiry is `current` ticks away. */
		t->initial = initial;
		start_count(c);
		if (current && current < initial) {
			/* As if the count had been written `initial - current` ticks ago. */
			t->deadline = t->start + count_to_virtual(t, current);
			t->start = t->deadline - t->period;
		}
	}
	program(c);
}

/* Virtual TSC ticks for `count` APIC ticks at the guest's divisor. */
static uint64_t count_to_virtual(const struct vtimer *t, uint64_t count)
{
	return lapic_timer_scale_up(count << lapic_timer_divide_shift(t->dcr), tsc_per_apic);
}

static uint32_t current_count(struct cpu *c)
{
	struct vtimer *t = &c->timer;
	if (mode(t) == LVT_TIMER_TSC_DEADLINE || t->initial == 0 || t->deadline == 0)
		return 0;
	uint64_t now = virtual_now(c);
	uint64_t remaining;
	if (mode(t) == LVT_TIMER_PERIODIC && t->period) {
		uint64_t elapsed = now - t->start;
		remaining = t->period - elapsed % t->period;
	} else {
		if ((int64_t)(t->deadline - now) <= 0)
			return 0;
		remaining = t->deadline - now;
	}
	/* APIC ticks left at the guest's divisor, rounded up, never above the initial count. */
	uint64_t ticks = lapic_timer_scale_up(remaining, apic_per_tsc);
	unsigned shift = lapic_timer_divide_shift(t->dcr);
	uint64_t count = (ticks + (1ull << shift) - 1) >> shift;
	return count > t->initial ? t->initial : (uint32_t)count;
}

bool lapic_timer_read(struct cpu *c, unsigned offset, uint32_t *value)
{
	struct vtimer *t = &c->timer;
	switch (offset) {
	case LAPIC_LVT_TIMER: *value = t->lvt; return true;
	case LAPIC_TIMER_INITIAL: *value = t->initial; return true;
	case LAPIC_TIMER_CURRENT: *value = current_count(c); return true;
	case LAPIC_TIMER_DIVIDE: *value = t->dcr; return true;
	default: return false;
	}
}

static void start_count(struct cpu *c)
{
	struct vtimer *t = &c->timer;
	if (t->initial == 0 || mode(t) == LVT_TIMER_TSC_DEADLINE) {
		t->deadline = t->period = 0;
		return;
	}
	t->start = virtual_now(c);
	t->period = count_to_virtual(t, t->initial);
	if (t->period == 0)
		t->period = 1;
	t->deadline = t->start + t->period;
}

bool lapic_timer_write(struct cpu *c, unsigned offset, uint32_t value)
{
	struct vtimer *t = &c->timer;
	sync_expiry(c);
	switch (offset) {
	case LAPIC_LVT_TIMER: {
		/* Bits: vector 7:0, delivery status 12 (read-only), mask 16, mode 18:17 (11b is
		 * reserved: kept as one-shot). A mode change disarms the timer (SDM 10.5.4.1). */
		uint32_t v = value & (LVT_VECTOR_MASK | LVT_MASKED | LVT_TIMER_MODE_MASK);
		if ((v & LVT_TIMER_MODE_MASK) == LVT_TIMER_MODE_MASK)
			v &= ~LVT_TIMER_MODE_MASK;
		if ((v & LVT_TIMER_MODE_MASK) != mode(t)) {
			t->deadline = t->period = t->tsc_deadline = 0;
			t->initial = 0;
		}
		t->lvt = v;
		break;
	}
	case LAPIC_TIMER_INITIAL:
		if (mode(t) == LVT_TIMER_TSC_DEADLINE)
			return true; /* ignored in TSC-deadline mode */
		t->initial = value;
		start_count(c);
		break;
	case LAPIC_TIMER_DIVIDE:
		t->dcr = value & 0xBu;
		break;
	case LAPIC_TIMER_CURRENT:
		return true; /* read-only */
	default:
		return false;
	}
	program(c);
	return true;
}

uint64_t lapic_timer_read_deadline(struct cpu *c)
{
	struct vtimer *t = &c->timer;
	if (mode(t) != LVT_TIMER_TSC_DEADLINE)
		return 0;
	if (t->tsc_deadline && (int64_t)(virtual_now(c) - t->tsc_deadline) >= 0)
		t->tsc_deadline = 0; /* fired: the MSR reads 0 */
	return t->tsc_deadline;
}

void lapic_timer_write_deadline(struct cpu *c, uint64_t value)
{
	struct vtimer *t = &c->timer;
	if (mode(t) != LVT_TIMER_TSC_DEADLINE)
		return; /* no effect outside TSC-deadline mode (SDM 10.5.4.1) */
	sync_expiry(c);
	t->tsc_deadline = value;
	program(c);
}

void lapic_timer_before_entry(struct cpu *c)
{
	struct vtimer *t = &c->timer;
	if (t->generation != __atomic_load_n(&generation, __ATOMIC_ACQUIRE) || t->hv_wake) {
		sync_expiry(c);
		program(c);
		return;
	}
	if (t->partial) {
		/* Within divide-by-128 reach again? (2^32 * 128 APIC ticks, in TSC ticks) */
		uint64_t reach = lapic_timer_scale_up(COUNT_MAX << MAX_SHIFT, tsc_per_apic);
		if (t->real_deadline - rdtsc() < reach || (int64_t)(t->real_deadline - rdtsc()) <= 0)
			program(c);
	}
}

/* At most one kick NMI is ever outstanding per CPU: only the sender that moves the flag from
 * 0 to 1 sends one, and the target's NMI handler clears it (exceptions.c). So every NMI the
 * target takes while the flag is set is a kick, and one taken while it is clear is the
 * guest's. (Sending an NMI per request let a second NMI find the flag already cleared by the
 * first: the hypervisor then injected a spurious NMI into the guest, "Uhhuh. NMI received
 * for unknown reason", and under QEMU TCG such injections into a guest running on 2+ CPUs
 * ended in the hypervisor's own triple fault: docs/hypervisor.md, "Speed changes".) A request
 * made while a kick is outstanding needs no NMI of its own: the target has not yet taken the
 * outstanding one, and takes every request made before it does. */
void lapic_timer_kick(struct cpu *from, struct cpu *t)
{
	if (__atomic_exchange_n(&t->kick, 1, __ATOMIC_SEQ_CST) == 0)
		lapic_send_icr(from, ICR_DELIVERY_NMI, t->apic_id);
}

void lapic_timer_speed_changed(void)
{
	__atomic_add_fetch(&generation, 1, __ATOMIC_SEQ_CST);
	struct cpu *self = this_cpu();
	for (unsigned i = 0; i < cpu_count(); i++) {
		struct cpu *t = cpu_at(i);
		if (t != self && t->run_state == VCPU_RUNNING)
			lapic_timer_kick(self, t);
	}
}

void lapic_timer_arm_for_halt(struct cpu *c, uint64_t wake, bool guest_vectors)
{
	struct vtimer *t = &c->timer;
	sync_expiry(c);
	if (t->generation != __atomic_load_n(&generation, __ATOMIC_ACQUIRE) || t->hv_wake ||
	    (t->partial && t->real_deadline))
		program(c);
	uint8_t vector = (uint8_t)(t->lvt & LVT_VECTOR_MASK);
	bool guest_armed = guest_vectors && t->real_deadline && !t->partial;
	if (guest_armed && mode(t) == LVT_TIMER_PERIODIC)
		return; /* periodic: its own expiries wake the CPU */
	if (guest_armed && (int64_t)(t->real_deadline - wake) <= 0)
		return; /* the guest's expiry comes first */
	(void)vector;
	/* Its own vector, never the guest's: a wake-up must not be mistaken for an expiry. */
	t->wake_vector = (uint8_t)HV_WAKE_VECTOR;
	if (program_physical(c, wake, 0, t->wake_vector))
		t->hv_wake = 1;
}

bool lapic_timer_is_hv_wake(struct cpu *c, uint8_t vector)
{
	struct vtimer *t = &c->timer;
	/* Vector 0xFF is the hypervisor's whenever it arrives: a wake-up can still be pending
	 * from an earlier halt after the timer was re-programmed for the guest. Injected, it
	 * would stay in service forever: Linux takes 0xFF as its spurious vector and never
	 * acknowledges it (arch/x86/kernel/apic/apic.c, handle_spurious_interrupt), and then
	 * nothing of priority class 15 or below reaches that CPU again. (A guest that puts a
	 * real interrupt on vector 0xFF is not supported.) */
	if (vector != HV_WAKE_VECTOR)
		return false;
	t->hv_wakes++;
	return true;
}

void lapic_timer_restore(struct cpu *c)
{
	if (c->timer.hv_wake)
		program(c);
}
