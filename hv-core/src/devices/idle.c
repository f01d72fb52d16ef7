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
#include "phys_window.h"
#include "x86.h"

#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define APIC_IRR 0x200
#define APIC_IRR_WORDS 8
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define MSR_X2APIC_IRR0 0x820u
#define IDLE_MAX_MS 2

static bool interrupt_requested(struct cpu *c)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	if (!(base & APIC_BASE_EN))
		return false; /* no local APIC: only the time bound wakes the guest */
	if (base & APIC_BASE_EXTD) {
		for (unsigned i = 0; i < APIC_IRR_WORDS; i++)
			if ((uint32_t)rdmsr(MSR_X2APIC_IRR0 + i))
				return true;
		return false;
	}
	volatile const uint32_t *apic = (volatile const uint32_t *)phys_window_map(
		c->index, PHYS_SLOT_APIC, base & APIC_BASE_ADDR_MASK, 1);
	for (unsigned i = 0; i < APIC_IRR_WORDS; i++)
		if (apic[(APIC_IRR + 0x10 * i) / 4])
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
		if (now - start >= limit || interrupt_requested(c))
			return;
		cpu_relax();
	}
}
