/*
 * msr_policy.c - intercepted MSRs.
 *
 * - IA32_TSC (0x10) and IA32_TSC_ADJUST (0x3B): read and written through vtime, so RDMSR
 *   agrees with RDTSC and writes move only this CPU's view (Intel SDM vol. 3B, 17.17.3).
 * - IA32_TSC_DEADLINE (0x6E0): CPUID hides the timer; accesses get #GP as on a CPU without
 *   it (SDM vol. 3A, 10.5.4.1).
 * - VM_HSAVE_PA, VM_CR, TSC_RATIO: SVM is hidden from the guest; #GP.
 * - Anything else that exits (QEMU exits for every MSR outside the bitmap ranges) is passed
 *   through to the CPU, and a #GP there is reflected to the guest.
 */
#include "msr_policy.h"
#include "guest_time.h"
#include "x86.h"

static const struct msr_intercept intercepts[] = {
	{ MSR_IA32_TSC, true, true },
	{ MSR_IA32_TSC_ADJUST, true, true },
	{ MSR_IA32_TSC_DEADLINE, true, true },
	{ MSR_EFER, false, true },
	{ MSR_TSC_RATIO, true, true },
	{ MSR_VM_CR, true, true },
	{ MSR_VM_HSAVE_PA, true, true },
};

unsigned msr_policy_count(void)
{
	return sizeof(intercepts) / sizeof(intercepts[0]);
}

const struct msr_intercept *msr_policy_at(unsigned index)
{
	return index < msr_policy_count() ? &intercepts[index] : 0;
}

static bool svm_private(uint32_t msr)
{
	return msr == MSR_TSC_RATIO || msr == MSR_VM_CR || msr == MSR_VM_HSAVE_PA ||
	       msr == MSR_IA32_TSC_DEADLINE;
}

enum msr_result msr_policy_read(struct cpu *c, uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case MSR_IA32_TSC:
		*value = guest_time_read(c->index, rdtsc());
		return MSR_DONE;
	case MSR_IA32_TSC_ADJUST:
		*value = (uint64_t)guest_time_read_tsc_adjust(c->index);
		return MSR_DONE;
	default:
		if (svm_private(msr))
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
	default:
		if (svm_private(msr))
			return MSR_FAULT;
		return wrmsr_safe(msr, value) ? MSR_FAULT : MSR_DONE;
	}
}
