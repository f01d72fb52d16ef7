/*
 * idle.c - guest HLT. The hypervisor intercepts HLT so that it gets the CPU back while the
 * guest idles: a NO_HZ Linux guest may otherwise sleep for seconds without an exit, and the
 * control port would go unanswered. It spins (the host never takes interrupts) until the
 * local APIC has an interrupt requested (IRR, Intel SDM vol. 3A, 10.8.4; xAPIC MMIO at
 * IA32_APIC_BASE + 0x200..0x270) or 2 ms have passed, polling the control port; the guest
 * then resumes after its HLT with the interrupt still pending, which it takes at once.
 * The 2 ms bound covers interrupts that bypass the IRR (PIC ExtINT in early boot).
 * The guest owns IA32_APIC_BASE: it may move the APIC anywhere in the physical address
 * space (msr_policy.c checks the value), switch it off, or (where x2APIC is offered) to
 * x2APIC mode, where the IRR is MSRs 0x820.. (SDM vol. 3A, 10.12.1.2); the MSR is read on
 * every check and the page is reached through this CPU's physical window.
 */
#include "idle.h"
#include "control_port.h"
#include "guest_time.h"
#include "lapic.h"
#include "x86.h"

#define APIC_IRR_WORDS 8
#define IDLE_MAX_MS 2

static bool interrupt_requested(struct cpu *c)
{
	if (!(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EN))
		return false; /* no local APIC: only the time bound wakes the guest */
	for (unsigned i = 0; i < APIC_IRR_WORDS; i++)
		if (lapic_read(c, LAPIC_IRR + 0x10 * i))
			return true;
	return false;
}

void idle_wait(struct cpu *c)
{
	uint64_t start = rdtsc();
	uint64_t limit = tsc_hz() / 1000 * IDLE_MAX_MS;
	for (;;) {
		uint64_t now = rdtsc();
		hv_poll_if_due(c, now);
		/* A guest INIT for this CPU (CPU offline/online) is taken at the next exit. */
		if (now - start >= limit || c->pending_init || interrupt_requested(c))
			return;
		cpu_relax();
	}
}
