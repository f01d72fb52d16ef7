/* svm.h - AMD SVM backend internals (src/arch/svm only). */
#ifndef TSX_HV_SVM_H
#define TSX_HV_SVM_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "vmcb.h"

static inline struct vmcb *cpu_vmcb(struct cpu *c)
{
	return (struct vmcb *)c->vmcb;
}

/* Checks CPUID for SVM + nested paging; returns NULL or the reason it cannot run. */
const char *svm_unsupported_reason(void);
/* EFER.SVME, host save area, VMCB with this hypervisor's intercepts, nested paging rooted at
 * npt_root. */
void svm_cpu_init(struct cpu *c, uint64_t npt_root);
/* Nested page tables identity-mapping the CPU's physical address space (at least [0, ram_top))
 * except the hypervisor's region, which maps to the scratch page; returns the nested CR3. */
uint64_t nested_paging_build(uint64_t ram_top, uint64_t hv_base, uint64_t hv_end, uint64_t scratch_pa);
/* Incremented whenever the nested page tables change (svm_run flushes the TLB then). */
extern volatile uint32_t npt_generation;
/* A nested page fault: panics with the fault decoded (and the guest dump). */
__attribute__((noreturn)) void nested_page_fault(uint64_t exitinfo1, uint64_t gpa);
void svm_world_switch(struct guest_regs *regs, uint64_t vmcb_pa, uint64_t host_save_pa);
/* Runs the guest on this CPU, handling exits, until a guest INIT parks it. */
void svm_run(struct cpu *c);
void svm_dump_guest(struct cpu *c);
/* The intercepted instruction's length from the CPU's saved next RIP (NRIP save, APM vol. 2,
 * 15.7.1); false where the CPU saves none (QEMU TCG) and the length must be decoded. */
bool svm_next_rip_length(struct cpu *c, unsigned *length);
/* Turns on the RDTSC/RDTSCP intercepts once the guest clock is virtualised. */
void svm_sync_tsc_intercepts(struct cpu *c);

#endif
