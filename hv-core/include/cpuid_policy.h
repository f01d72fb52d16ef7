/*
 * cpuid_policy.h - what CPUID tells the guest (the whole policy is in cpuid_policy.c).
 */
#ifndef TSX_HV_CPUID_POLICY_H
#define TSX_HV_CPUID_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "x86.h"

#define HV_CPUID_BASE 0x40000000u
#define HV_CPUID_MAX 0x40000001u
#define HV_CPUID_SIGNATURE "tsx-hv-vtime" /* EBX:ECX:EDX of leaf 0x40000000 */

/* The guest's view of CPUID(leaf, subleaf): the host's answer filtered by the policy. */
struct cpuid_regs cpuid_policy(uint32_t leaf, uint32_t subleaf);

/* Whether the guest is offered x2APIC (only when the firmware left the APIC in x2APIC mode;
 * decided once, on the first call, which main.c makes on the boot CPU). */
bool cpuid_policy_x2apic_offered(void);
/* The TSC rate CPUID leaves 0x15/0x16 announce, in Hz (0: none). */
uint64_t cpuid_policy_announced_tsc_hz(void);
/* The rate measured against the PIT: if the leaves announce one more than 2% away, the guest
 * sees 0x15 as not enumerated and the measured rate in 0x16 (cpuid_policy.c). Returns the
 * announced rate. */
uint64_t cpuid_policy_set_measured_tsc_hz(uint64_t measured);
/* Whether CPUID offers the TSC-deadline timer (config tsc-deadline=; on by default). */
void cpuid_policy_set_tsc_deadline(bool offered);

#endif
