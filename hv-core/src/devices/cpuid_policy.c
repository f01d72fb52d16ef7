/*
 * cpuid_policy.c - the guest's CPUID, in one place.
 *
 * - Leaf 1 ECX[24] TSC-deadline: offered (unless tsc-deadline=off), on every CPU, because the
 *   hypervisor emulates it on the virtual timeline (lapic_timer.c) whether the CPU has it or
 *   not; Linux prefers it to the one-shot count. ECX[21] x2APIC: hidden unless the firmware
 *   handed over the APIC already in x2APIC mode (machines with APIC IDs above 254): the
 *   x2APIC ICR is intercepted (msr_policy.c), so IPIs are emulated either way.
 *   ECX[31] "hypervisor present": set.
 * - Leaf 1 ECX[5] VMX: hidden, for the same reason as SVM (AMD CPUs report it clear anyway).
 * - Leaf 0x80000001 ECX[2] SVM and leaf 0x8000000A: hidden (no nested virtualisation; the
 *   guest must not touch EFER.SVME/VM_HSAVE_PA). EDX[27] RDTSCP stays visible: it is
 *   intercepted and answered from the virtual clock with ECX = TSC_AUX.
 * - Leaves 0x40000000..0x400000FF: the tsx-hv range. 0x40000000 returns the maximum leaf and
 *   "tsx-hv-vtime"; 0x40000001 returns the hypercall ABI version in EAX.
 * Intel SDM vol. 2A, CPUID; AMD APM vol. 3, Appendix E.
 */
#include "cpuid_policy.h"
#include "hvlib.h"
#include "hypercall.h"
#include "lapic.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID_EXT1_ECX_SVM (1u << 2)
#define CPUID_SVM_FEATURES 0x8000000Au
#define HV_CPUID_LAST 0x400000FFu

static uint32_t sig_word(unsigned i)
{
	uint32_t w;
	memcpy(&w, HV_CPUID_SIGNATURE + 4 * i, 4);
	return w;
}

static bool tsc_deadline_offered = true;

void cpuid_policy_set_tsc_deadline(bool offered)
{
	tsc_deadline_offered = offered;
}

bool cpuid_policy_x2apic_offered(void)
{
	static int in_x2apic_at_boot = -1;
	if (in_x2apic_at_boot < 0)
		in_x2apic_at_boot = lapic_x2apic_mode();
	return in_x2apic_at_boot;
}

struct cpuid_regs cpuid_policy(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r = { 0, 0, 0, 0 };
	if (leaf >= HV_CPUID_BASE && leaf <= HV_CPUID_LAST) {
		if (leaf == HV_CPUID_BASE) {
			r.eax = HV_CPUID_MAX;
			r.ebx = sig_word(0);
			r.ecx = sig_word(1);
			r.edx = sig_word(2);
		} else if (leaf == HV_CPUID_MAX) {
			r.eax = HYPERCALL_ABI_VERSION;
		}
		return r;
	}
	if (leaf == CPUID_SVM_FEATURES)
		return r;
	r = cpuid(leaf, subleaf);
	if (leaf == 1) {
		r.ecx &= ~CPUID1_ECX_TSC_DEADLINE;
		if (tsc_deadline_offered)
			r.ecx |= CPUID1_ECX_TSC_DEADLINE;
		if (!cpuid_policy_x2apic_offered())
			r.ecx &= ~CPUID1_ECX_X2APIC;
		r.ecx &= ~CPUID1_ECX_VMX;
		r.ecx |= CPUID1_ECX_HYPERVISOR;
	} else if (leaf == 0x80000001u) {
		r.ecx &= ~CPUID_EXT1_ECX_SVM;
	}
	return r;
}
