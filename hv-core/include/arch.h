/*
 * arch.h - what the boot code asks of the virtualisation extension (AMD SVM today,
 * src/arch/svm; Intel VT-x later, src/arch/vmx): whether it can run, the nested page tables,
 * a CPU's control block, the world-switch loop, the guest state dump and the extension's
 * own MSRs. Guest registers, RIP and event injection are in vcpu.h; the exit handlers the
 * vendor code calls are in exits.h. Nothing outside src/arch includes a vendor header.
 */
#ifndef TSX_HV_ARCH_H
#define TSX_HV_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

/* NULL if this CPU can run the hypervisor, or why it cannot (for the boot panic). */
const char *arch_unsupported_reason(void);
/* Nested page tables identity-mapping the CPU's physical address space (at least
 * [0, ram_top)) except the hypervisor's region, which maps to the scratch page; returns the
 * nested root the CPUs are started with (arch_cpu_init). */
uint64_t arch_nested_paging_build(uint64_t ram_top, uint64_t hv_base, uint64_t hv_end,
				  uint64_t scratch_pa);
/* Turns on virtualisation on this CPU and builds its control block with the hypervisor's
 * intercepts and the nested paging root; the I/O hooks and MSR policy are registered. */
void arch_cpu_init(struct cpu *c, uint64_t npt_root);
/* Runs the guest on this CPU, handling exits, until a guest INIT parks it. */
void arch_run(struct cpu *c);
/* "# PANIC ..." lines with the guest's registers, control state and code at RIP. */
void arch_dump_guest(struct cpu *c);
/* The virtualisation extension's own MSRs (SVM: VM_CR, VM_HSAVE_PA, TSC_RATIO), which the
 * vendor code intercepts: the extension is hidden from the guest, so an access is #GP
 * (msr_policy.c), as on a CPU without it. */
bool arch_msr_is_private(uint32_t msr);

#endif
