/*
 * idle.c - guest HLT. The hypervisor intercepts HLT so that it gets the CPU back while the
 * guest idles: a NO_HZ Linux guest may otherwise sleep for seconds without an exit, and the
 * control port would go unanswered. It spins (the host never takes interrupts) until the
 * local APIC has an interrupt requested (IRR, Intel SDM vol. 3A, 10.8.4; xAPIC MMIO at
 * IA32_APIC_BASE + 0x200..0x270) or 2 ms have passed, polling the control port; the guest
 * then resumes after its HLT with the interrupt still pending, which it takes at once.
 * The 2 ms bound covers interrupts that bypass the IRR (PIC ExtINT in early boot).
 */
#include "idle.h"
#include "control_port.h"
#include "guest_time.h"
#include "x86.h"

#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define APIC_IRR 0x200
#define APIC_IRR_WORDS 8
#define IDLE_MAX_MS 2

static bool interrupt_requested(void)
{
	volatile const uint32_t *apic =
		(volatile const uint32_t *)(uintptr_t)(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK);
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
		if (now - start >= limit || interrupt_requested())
			return;
		cpu_relax();
	}
}
