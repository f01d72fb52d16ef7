/*
 * vmx_controls.h - the pure arithmetic of VT-x set-up, unit-tested on the host
 * (tests/hv_vmx_test.c): VMX control words from the capability MSRs and the CR0/CR4 values
 * the fixed-bit MSRs allow. No hardware access: the caller reads the MSRs.
 */
#ifndef TSX_HV_VMX_CONTROLS_H
#define TSX_HV_VMX_CONTROLS_H

#include <stdbool.h>
#include <stdint.h>

/* IA32_VMX_BASIC bit 55: the TRUE_* capability MSRs exist and may allow default1 controls
 * to be 0 (Intel SDM vol. 3C, A.1 "Basic VMX Information", A.2 "Reserved Controls and
 * Default Settings"). */
#define VMX_BASIC_TRUE_CTLS (1ull << 55)

/* The capability MSR to read for a control word: the TRUE_ one when IA32_VMX_BASIC says it
 * exists (A.3.1, A.3.2, A.4, A.5). */
static inline uint32_t vmx_capability_msr(uint64_t basic, uint32_t msr, uint32_t true_msr)
{
	return basic & VMX_BASIC_TRUE_CTLS ? true_msr : msr;
}

enum vmx_control_result {
	VMX_CONTROL_OK,
	VMX_CONTROL_MISSING,  /* a required control may not be 1 on this CPU */
	VMX_CONTROL_FORCED,   /* a control the hypervisor cannot handle may not be 0 */
};

/* A control word from its capability MSR: bits 31:0 are the allowed-0 settings (a 1 there
 * means the control must be 1), bits 63:32 the allowed-1 settings (a 0 there means it must
 * be 0) (SDM vol. 3C, A.3-A.5). The result has every `required` bit, the `optional` bits the
 * CPU allows, and every bit the CPU forces to 1. `unhandled` are bits that must stay 0 (the
 * hypervisor has no handler for the exits they cause). *value is written only on success;
 * *bad gets the offending bits otherwise. */
enum vmx_control_result vmx_control_value(uint64_t capability, uint32_t required,
					  uint32_t optional, uint32_t unhandled, uint32_t *value,
					  uint32_t *bad);

/* CR0/CR4 under VMX: bits set in FIXED0 must be 1, bits clear in FIXED1 must be 0 (SDM vol.
 * 3C, A.7, A.8). `free` are bits exempt from FIXED0 (CR0.PE and CR0.PG with "unrestricted
 * guest", 26.3.1.1). */
static inline uint64_t vmx_fixed_bits(uint64_t value, uint64_t fixed0, uint64_t fixed1,
				      uint64_t free)
{
	return (value | (fixed0 & ~free)) & fixed1;
}

#endif
