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
 * - Leaves 0x15 (TSC/crystal ratio) and 0x16 (base frequency): when they announce a TSC rate
 *   more than 2% away from the one the hypervisor measured against the PIT, the guest would
 *   run its clock at the wrong rate from the first tick (Linux trusts 0x15 outright: "known
 *   frequency", no later refinement). Then 0x15 reads as not enumerated and 0x16 gives the
 *   measured rate in MHz, so Linux starts from it and refines it against the HPET or ACPI PM
 *   timer. Seen on emulators (Bochs announces 3.5 GHz for a TSC that counts instructions);
 *   on hardware the leaves agree with the PIT and pass unchanged.
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
static uint32_t tsc_mhz_override; /* 0: leaves 0x15/0x16 pass unchanged */

#define CPUID_TSC_CRYSTAL 0x15u
#define CPUID_FREQUENCY 0x16u

/* The TSC rate leaves 0x15/0x16 announce, in Hz (0: not announced). Intel SDM vol. 2A,
 * CPUID leaf 15H: TSC = ECX * EBX / EAX; without ECX, 16H's base frequency stands in for it
 * as Linux's native_calibrate_tsc does. */
uint64_t cpuid_policy_announced_tsc_hz(void)
{
	uint32_t max = cpuid(0, 0).eax;
	if (max < CPUID_TSC_CRYSTAL)
		return 0;
	struct cpuid_regs r = cpuid(CPUID_TSC_CRYSTAL, 0);
	if (r.eax && r.ebx && r.ecx)
		return (uint64_t)r.ecx * r.ebx / r.eax;
	if (max >= CPUID_FREQUENCY && cpuid(CPUID_FREQUENCY, 0).eax)
		return (uint64_t)cpuid(CPUID_FREQUENCY, 0).eax * 1000000u;
	return 0;
}

uint64_t cpuid_policy_set_measured_tsc_hz(uint64_t measured)
{
	uint64_t announced = cpuid_policy_announced_tsc_hz();
	tsc_mhz_override = 0;
	if (!announced || !measured)
		return 0;
	uint64_t diff = announced > measured ? announced - measured : measured - announced;
	if (diff * 50 > measured) {
		uint64_t mhz = (measured + 500000) / 1000000;
		tsc_mhz_override = (uint32_t)(mhz ? mhz : 1);
	}
	return announced;
}

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
	} else if (leaf == CPUID_TSC_CRYSTAL && tsc_mhz_override) {
		r.eax = r.ebx = r.ecx = 0;
	} else if (leaf == CPUID_FREQUENCY && tsc_mhz_override) {
		r.eax = tsc_mhz_override;
		if (r.ebx < tsc_mhz_override)
			r.ebx = tsc_mhz_override;
	} else if (leaf == 0x80000001u) {
		r.ecx &= ~CPUID_EXT1_ECX_SVM;
	}
	return r;
}
