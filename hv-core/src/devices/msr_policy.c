/*
 * msr_policy.c - intercepted MSRs.
 *
 * - IA32_TSC (0x10) and IA32_TSC_ADJUST (0x3B): read and written through vtime, so RDMSR
 *   agrees with RDTSC and writes move only this CPU's view (Intel SDM vol. 3B, 17.17.3).
 * - IA32_TSC_DEADLINE (0x6E0): the guest's virtual deadline (lapic_timer.c); where CPUID
 *   does not offer the timer (tsc-deadline=off) accesses get #GP as on a CPU without it
 *   (SDM vol. 3A, 10.5.4.1).
 * - x2APIC EOI (0x80B): performed, noting whether it completed the timer's vector
 *   (lapic_timer_eoi); #GP for a non-zero value or in xAPIC mode.
 * - x2APIC timer registers (0x832 LVT timer, 0x838 initial count, 0x839 current count,
 *   0x83E divide configuration): the virtual timer in x2APIC mode; in xAPIC mode the MSRs do
 *   not exist: #GP; the current count is read-only: a write is #GP (SDM 10.12.1.2).
 * - EFER (0xC0000080): reads hide SVME; writes are checked as the CPU checks them (#GP for
 *   a bit the guest's CPUID does not offer, SVME included since SVM is hidden, and for a
 *   change of LME while paging is on; LMA is read-only and keeps its value), then stored in
 *   the guest state (AMD APM vol. 2, 3.1.7 "Extended Feature Enable Register"; Intel SDM
 *   vol. 4, IA32_EFER; vol. 3A, 9.8.5 "Initializing IA-32e Mode").
 * - IA32_APIC_BASE (0x1B): writes with reserved bits set (bits 7:0 and 9, address bits at
 *   or above MAXPHYADDR, and the x2APIC enable bit 10 while CPUID hides x2APIC) and invalid
 *   mode transitions get #GP (SDM vol. 3A, 10.4.4 and 10.12.5 "State Changes From xAPIC
 *   Mode to x2APIC Mode"); valid ones go to the CPU. The hypervisor reads the APIC's base
 *   from the MSR whenever it needs it, so a moved APIC is followed (idle.c).
 * - x2APIC ICR (0x830): INIT and STARTUP IPIs are emulated (apic_page.h), others sent; in
 *   xAPIC mode the MSR does not exist: #GP (SDM vol. 3A, 10.12.1.2).
 * - The virtualisation extension's own MSRs (arch_msr_is_private; on SVM VM_HSAVE_PA, VM_CR,
 *   TSC_RATIO, intercepted by the vendor code): the extension is hidden from the guest; #GP.
 * - Anything else that exits (QEMU exits for every MSR outside the bitmap ranges) is passed
 *   through to the CPU, and a #GP there is reflected to the guest.
 */
#include "msr_policy.h"
#include "apic_page.h"
#include "arch.h"
#include "guest_memory.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "guest_time.h"
#include "tsc_scaling.h"
#include "cpuid_policy.h"
#include "vcpu.h"
#include "x86.h"

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_FFXSR (1ull << 14)
#define EFER_TCE (1ull << 15)
#define CPUID_EXT_EDX_SYSCALL (1u << 11)
#define CPUID_EXT_EDX_NX (1u << 20)
#define CPUID_EXT_EDX_FFXSR (1u << 25)
#define CPUID_EXT_EDX_LM (1u << 29)
#define CPUID_EXT_ECX_TCE (1u << 17)
#define CR0_PG (1ull << 31)
#define APIC_BASE_RESERVED_LOW 0x2FFull /* bits 7:0 and 9 */
#define MSR_X2APIC_ICR 0x830u
#define MSR_X2APIC_EOI 0x80Bu
#define MSR_X2APIC_LVT_TIMER 0x832u
#define MSR_X2APIC_TIMER_INITIAL 0x838u
#define MSR_X2APIC_TIMER_CURRENT 0x839u
#define MSR_X2APIC_TIMER_DIVIDE 0x83Eu
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

static const struct msr_intercept intercepts[] = {
	{ MSR_IA32_TSC, true, true },
	{ MSR_IA32_TSC_ADJUST, true, true },
	{ MSR_IA32_TSC_DEADLINE, true, true },
	{ MSR_EFER, true, true },
	{ MSR_IA32_APIC_BASE, false, true },
	{ MSR_X2APIC_ICR, false, true },
	{ MSR_X2APIC_EOI, false, true },
	{ MSR_X2APIC_LVT_TIMER, true, true },
	{ MSR_X2APIC_TIMER_INITIAL, true, true },
	{ MSR_X2APIC_TIMER_CURRENT, true, true },
	{ MSR_X2APIC_TIMER_DIVIDE, true, true },
};

unsigned msr_policy_count(void)
{
	return sizeof(intercepts) / sizeof(intercepts[0]);
}

const struct msr_intercept *msr_policy_at(unsigned index)
{
	return index < msr_policy_count() ? &intercepts[index] : 0;
}

static bool tsc_deadline_offered(void)
{
	return cpuid_policy(1, 0).ecx & CPUID1_ECX_TSC_DEADLINE;
}

static bool x2apic_timer_msr(uint32_t msr)
{
	return msr == MSR_X2APIC_LVT_TIMER || msr == MSR_X2APIC_TIMER_INITIAL ||
	       msr == MSR_X2APIC_TIMER_CURRENT || msr == MSR_X2APIC_TIMER_DIVIDE;
}

/* x2APIC register MSR -> xAPIC offset (SDM vol. 3A, 10.12.1.2). */
static unsigned x2apic_offset(uint32_t msr)
{
	return (msr - 0x800u) << 4;
}

/* The EFER bits the guest may set: those its CPUID offers (SVME is not among them). */
static uint64_t efer_writable(void)
{
	struct cpuid_regs e = cpuid(0x80000001, 0);
	uint64_t bits = 0;
	if (e.edx & CPUID_EXT_EDX_SYSCALL)
		bits |= EFER_SCE;
	if (e.edx & CPUID_EXT_EDX_LM)
		bits |= EFER_LME | EFER_LMA;
	if (e.edx & CPUID_EXT_EDX_NX)
		bits |= EFER_NXE;
	if (e.edx & CPUID_EXT_EDX_FFXSR)
		bits |= EFER_FFXSR;
	if (e.ecx & CPUID_EXT_ECX_TCE)
		bits |= EFER_TCE;
	return bits;
}

static enum msr_result write_efer(struct cpu *c, uint64_t value)
{
	uint64_t old = vcpu_efer(c);
	if (value & ~efer_writable())
		return MSR_FAULT;
	struct paging_state p;
	vcpu_paging_state(c, &p);
	if ((p.cr0 & CR0_PG) && ((value ^ old) & EFER_LME))
		return MSR_FAULT;
	vcpu_set_efer(c, (value & ~EFER_LMA) | (old & EFER_LMA));
	return MSR_DONE;
}

static enum msr_result write_apic_base(uint64_t value)
{
	unsigned bits = guest_phys_bits();
	uint64_t reserved = APIC_BASE_RESERVED_LOW;
	if (!cpuid_policy_x2apic_offered())
		reserved |= APIC_BASE_EXTD;
	if (bits < 64)
		reserved |= ~0ull << bits;
	if (value & reserved)
		return MSR_FAULT;
	/* Mode transitions: x2APIC -> xAPIC directly, and disabled -> x2APIC, are invalid
	 * (SDM vol. 3A, 10.12.5, figure 10-27). */
	uint64_t old = rdmsr(MSR_IA32_APIC_BASE);
	bool old_x2 = (old & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
	bool new_x2 = (value & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
	if ((value & APIC_BASE_EXTD) && !(value & APIC_BASE_EN))
		return MSR_FAULT;
	if (old_x2 && !new_x2 && (value & APIC_BASE_EN))
		return MSR_FAULT;
	if (!(old & APIC_BASE_EN) && new_x2)
		return MSR_FAULT;
	if (wrmsr_safe(MSR_IA32_APIC_BASE, value))
		return MSR_FAULT;
	apic_page_moved(value & APIC_BASE_ADDR_MASK);
	return MSR_DONE;
}

static enum msr_result write_x2apic_icr(struct cpu *c, uint64_t value)
{
	if (!lapic_x2apic_mode())
		return MSR_FAULT;
	apic_ipi_guest_icr(c, (uint32_t)value, (uint32_t)(value >> 32), true);
	return MSR_DONE;
}

static void x2apic_eoi(struct cpu *c)
{
	(void)c;
	wrmsr(MSR_X2APIC_EOI, 0);
}

enum msr_result msr_policy_read(struct cpu *c, uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case MSR_IA32_TSC:
		*value = tsc_scaling_guest_read(c, rdtsc());
		return MSR_DONE;
	case MSR_IA32_TSC_ADJUST:
		*value = (uint64_t)guest_time_read_tsc_adjust(c->index);
		return MSR_DONE;
	case MSR_EFER:
		*value = vcpu_efer(c);
		return MSR_DONE;
	case MSR_IA32_TSC_DEADLINE:
		if (!tsc_deadline_offered())
			return MSR_FAULT;
		*value = lapic_timer_read_deadline(c);
		return MSR_DONE;
	case MSR_X2APIC_LVT_TIMER:
	case MSR_X2APIC_TIMER_INITIAL:
	case MSR_X2APIC_TIMER_CURRENT:
	case MSR_X2APIC_TIMER_DIVIDE: {
		uint32_t v = 0;
		if (!lapic_x2apic_mode())
			return MSR_FAULT;
		lapic_timer_read(c, x2apic_offset(msr), &v);
		*value = v;
		return MSR_DONE;
	}
	default:
		if (arch_msr_is_private(msr))
			return MSR_FAULT;
		return rdmsr_safe(msr, value) ? MSR_FAULT : MSR_DONE;
	}
}

enum msr_result msr_policy_write(struct cpu *c, uint32_t msr, uint64_t value)
{
	switch (msr) {
	case MSR_IA32_TSC:
		guest_time_write_tsc(c->index, rdtsc(), value);
		return MSR_DONE;
	case MSR_IA32_TSC_ADJUST:
		guest_time_write_tsc_adjust(c->index, (int64_t)value);
		return MSR_DONE;
	case MSR_EFER:
		return write_efer(c, value);
	case MSR_IA32_APIC_BASE:
		return write_apic_base(value);
	case MSR_X2APIC_ICR:
		return write_x2apic_icr(c, value);
	case MSR_IA32_TSC_DEADLINE:
		if (!tsc_deadline_offered())
			return MSR_FAULT;
		lapic_timer_write_deadline(c, value);
		return MSR_DONE;
	case MSR_X2APIC_EOI:
		/* A non-zero value is #GP in x2APIC mode (SDM 10.12.1.2); the MSR does not exist in
		 * xAPIC mode. */
		if (!lapic_x2apic_mode() || value != 0)
			return MSR_FAULT;
		lapic_timer_eoi(c, x2apic_eoi);
		return MSR_DONE;
	default:
		if (x2apic_timer_msr(msr)) {
			/* Reserved bits 63:32 and the read-only current count: #GP. */
			if (!lapic_x2apic_mode() || (value >> 32) || msr == MSR_X2APIC_TIMER_CURRENT)
				return MSR_FAULT;
			lapic_timer_write(c, x2apic_offset(msr), (uint32_t)value);
			return MSR_DONE;
		}
		if (arch_msr_is_private(msr))
			return MSR_FAULT;
		return wrmsr_safe(msr, value) ? MSR_FAULT : MSR_DONE;
	}
}
