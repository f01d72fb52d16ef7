/*
 * msr_policy.h - which guest MSR accesses the hypervisor intercepts and what they return.
 * EFER is handled by the vendor code (it lives in the VMCB/VMCS).
 */
#ifndef TSX_HV_MSR_POLICY_H
#define TSX_HV_MSR_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

struct msr_intercept {
	uint32_t msr;
	bool read, write;
};

unsigned msr_policy_count(void);
const struct msr_intercept *msr_policy_at(unsigned index);

enum msr_result { MSR_DONE, MSR_FAULT /* inject #GP(0) */ };
enum msr_result msr_policy_read(struct cpu *c, uint32_t msr, uint64_t *value);
enum msr_result msr_policy_write(struct cpu *c, uint32_t msr, uint64_t value);

#endif
