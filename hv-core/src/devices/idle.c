/*
 * idle.c - guest HLT: the physical CPU really halts while the guest idles.
 *
 * The hypervisor intercepts HLT so that it keeps the CPU while the guest waits: a NO_HZ
 * Linux guest may otherwise sleep for seconds without an exit and the control port would go
 * unanswered. On a guest HLT the hypervisor halts the CPU itself with interrupts open
 * (vcpu_host_halt), after programming the physical local-APIC timer for the earlier of the
 * guest's own timer expiry (translated to real time, lapic_timer.c) and its own wake-up
 * (IDLE_POLL_MS, for the control port, arming and statistics). What wakes it:
 * - the hypervisor's wake-up: acknowledged (EOI) here, never seen by the guest;
 * - any interrupt for the guest (its timer, a device, an IPI): the CPU acknowledged it as it
 *   would have in the guest (IRR to ISR), so it is injected through the guest's IDT at the
 *   next entry and the guest's own EOI completes it (vcpu_inject_interrupt);
 * - an NMI: the hypervisor's kick (a speed change, an INIT or STARTUP for this CPU), or the
 *   guest's, injected;
 * - an SMI, handled by the firmware in host context.
 * A HLT with interrupts off (RFLAGS.IF = 0: a CPU Linux took offline) must not take the
 * guest's interrupts: the task priority is raised to 0xE0 for the halt, so only class 15 -
 * the wake-up vector - gets through; a guest class-15 interrupt taken there is given back to
 * the APIC and the CPU then waits polling instead. Parked CPUs (wait-for-SIPI) wait the same
 * way. A software-disabled APIC (SVR bit 8 clear: after INIT, and while the guest sets it
 * up) delivers nothing, so it is enabled for the halt and disabled again after it; a wake-up
 * requested after the halt ended is taken and acknowledged before the guest runs (vector
 * 0xFF is the highest, so it is the one taken), never left pending for the guest. With the
 * APIC disabled globally (IA32_APIC_BASE) there is no timer: the CPU waits polling. Intel SDM vol. 3A, 10.8.3.1 "Task and Processor Priorities", 6.8.1 "Masking Maskable
 * Hardware Interrupts"; AMD APM vol. 2, 15.17 "Global Interrupt Flag".
 */
#include "idle.h"
#include "control_port.h"
#include "guest_time.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "log.h"
#include "vcpu.h"
#include "x86.h"

#define IDLE_POLL_MS HV_WAKE_PERIOD_MS
#define SPIN_MS 1
#define INPUT_ACTIVE_MS 50
#define LAPIC_TPR 0x080
#define LAPIC_PPR 0x0A0
#define LAPIC_SVR 0x0F0
#define SVR_APIC_ENABLED (1u << 8)
#define LAPIC_ISR 0x100
#define LAPIC_TMR 0x180
#define TPR_CLASS_15_ONLY 0xE0u

static bool vector_bit(struct cpu *c, unsigned base, uint8_t vector)
{
	return lapic_read(c, base + 0x10 * (vector / 32)) & (1u << (vector % 32));
}

/* Gives an interrupt the host acknowledged back to the APIC: EOI (if it is in service: a
 * spurious vector is not) and, for an edge-triggered one, a self-IPI that requests it again;
 * a level-triggered one is requested again by its source after the EOI (SDM vol. 3A,
 * 10.8.5 "Signaling Interrupt Servicing Completion"). */
void idle_give_back(struct cpu *c, uint8_t vector)
{
	bool in_service = vector_bit(c, LAPIC_ISR, vector);
	bool level = vector_bit(c, LAPIC_TMR, vector);
	if (in_service)
		lapic_write(c, LAPIC_EOI, 0);
	if (!level)
		lapic_send_icr(c, ICR_SHORTHAND_SELF | ICR_DELIVERY_FIXED | vector, 0);
}

/* The hypervisor's own wake-up (vector 0xFF) fired after the halt ended: take it now, before
 * the guest can. An interrupt the host already took for the guest is in service and may block
 * it (same priority class): that one goes back to the APIC first (it stays requested and the
 * guest takes it as usual), then 0xFF, the highest vector, is the one taken. */
static void drain_wake(struct cpu *c)
{
	for (unsigned tries = 0; tries < 4 && vector_bit(c, LAPIC_IRR, HV_WAKE_VECTOR); tries++) {
		if (lapic_read(c, LAPIC_TPR) >= 0xF0)
			return;
		if (c->inject_vector) {
			idle_give_back(c, (uint8_t)c->inject_vector);
			c->inject_vector = 0;
		}
		uint32_t taken = vcpu_host_take_interrupt(c);
		if (taken == (0x100u | HV_WAKE_VECTOR))
			lapic_eoi_vector(c, HV_WAKE_VECTOR);
		else if (taken)
			idle_give_back(c, (uint8_t)taken);
	}
}

static bool wake_for_hv(struct cpu *c)
{
	return __atomic_load_n(&c->pending_init, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&c->pending_sipi, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&c->nmi_for_guest, __ATOMIC_SEQ_CST);
}

static void spin_for(struct cpu *c, uint64_t ticks)
{
	uint64_t start = rdtsc();
	while (rdtsc() - start < ticks && !wake_for_hv(c)) {
		hv_poll_if_due(c, rdtsc());
		cpu_relax();
	}
}

/* One wait. `guest_vectors`: the guest takes interrupts (HLT with IF = 1). Returns when the
 * guest has something to do: an interrupt to inject (c->inject_vector), an NMI, an INIT or
 * STARTUP request for this CPU. */
static void wait(struct cpu *c, bool guest_vectors)
{
	uint64_t period = tsc_hz() / 1000 * IDLE_POLL_MS;
	uint32_t saved_tpr = 0;
	bool spinning = !(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EN);
	uint32_t saved_svr = spinning ? SVR_APIC_ENABLED : lapic_read(c, LAPIC_SVR);
	if (!(saved_svr & SVR_APIC_ENABLED))
		lapic_write(c, LAPIC_SVR, saved_svr | SVR_APIC_ENABLED);
	if (!guest_vectors && !spinning) {
		saved_tpr = lapic_read(c, LAPIC_TPR);
		lapic_write(c, LAPIC_TPR, TPR_CLASS_15_ONLY);
	}
	uint64_t input_until = 0;
	for (;;) {
		/* While control-port bytes arrive, poll every millisecond instead of halting: the
		 * UART holds only 16 bytes, so a 20 ms wake-up would cap input at 800 bytes/s. */
		if (hv_poll_if_due(c, rdtsc()))
			input_until = rdtsc() + tsc_hz() / 1000 * INPUT_ACTIVE_MS;
		if (wake_for_hv(c))
			break;
		if ((int64_t)(input_until - rdtsc()) > 0) {
			spin_for(c, tsc_hz() / 1000 * SPIN_MS);
			continue;
		}
		if (spinning) {
			spin_for(c, tsc_hz() / 1000 * SPIN_MS);
			continue;
		}
		lapic_timer_arm_for_halt(c, rdtsc() + period, guest_vectors);
		c->halt_ppr = lapic_read(c, LAPIC_PPR);
		if (c->halt_ppr >= 0xF0u) {
			/* Class 15 is blocked by an interrupt in service: not even the wake-up could
			 * end a halt. Poll instead (and say so once: a guest that halts in that state
			 * waits for nothing but an NMI, or the hypervisor leaked an in-service bit). */
			if (!c->ppr_warned) {
				c->ppr_warned = 1;
				hv_log("cpu %u: idle with PPR %x (ISR class 15 in service): polling", c->index,
				       c->halt_ppr);
			}
			spin_for(c, tsc_hz() / 1000 * SPIN_MS);
			continue;
		}
		c->halts++;
		c->halt_svr = lapic_read(c, LAPIC_SVR);
		c->halt_lvt = lapic_read(c, 0x320) | (guest_vectors ? 0x80000000u : 0);
		c->in_halt = 1;
		uint32_t taken = vcpu_host_halt(c);
		c->in_halt = 0;
		if (!taken)
			continue; /* NMI or SMI: a kick is seen by the checks above */
		c->halt_wakes++;
		uint8_t vector = (uint8_t)taken;
		if (lapic_timer_is_hv_wake(c, vector)) {
			lapic_eoi_vector(c, vector);
			continue;
		}
		if (guest_vectors) {
			c->inject_vector = taken;
			break;
		}
		if (vector < 32) {
			/* A PIC interrupt on the BIOS's vectors (ExtINT: no APIC ISR bit, nothing to
			 * give back): held for the guest until it takes interrupts again. */
			if (!c->inject_vector)
				c->inject_vector = taken;
			continue;
		}
		idle_give_back(c, vector);
		spinning = true;
	}
	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EN) {
		lapic_timer_restore(c);
		drain_wake(c);
		if (!guest_vectors)
			lapic_write(c, LAPIC_TPR, saved_tpr);
		if (!(saved_svr & SVR_APIC_ENABLED))
			lapic_write(c, LAPIC_SVR, saved_svr);
	}
}

void idle_wait(struct cpu *c)
{
	wait(c, vcpu_rflags(c) & RFLAGS_IF);
}

void idle_park(struct cpu *c)
{
	wait(c, false);
}

void idle_deliver(struct cpu *c)
{
	uint32_t pending = c->inject_vector;
	if (!pending)
		return;
	c->inject_vector = 0;
	if (vcpu_inject_interrupt(c, (uint8_t)pending))
		c->interrupts_injected++;
	else
		idle_give_back(c, (uint8_t)pending);
}
