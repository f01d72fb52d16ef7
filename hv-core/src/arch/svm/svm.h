/* svm.h - AMD SVM backend internals (src/arch/svm only); the rest of the hypervisor sees
 * arch.h, vcpu.h and exits.h. */
#ifndef TSX_HV_SVM_H
#define TSX_HV_SVM_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "cpu.h"
#include "vmcb.h"

/* SVM's own MSRs (AMD APM vol. 2, 15.30 "SVM-Related MSRs") and EFER.SVME (3.1.7). */
#define MSR_TSC_RATIO 0xC0000104u
#define MSR_VM_CR 0xC0010114u
#define MSR_VM_HSAVE_PA 0xC0010117u
#define EFER_SVME (1ull << 12)

static inline struct vmcb *cpu_vmcb(struct cpu *c)
{
	return (struct vmcb *)c->vmcb;
}

/* Incremented whenever the nested page tables change (arch_run flushes the TLB then). */
extern volatile uint32_t npt_generation;
/* A nested page fault: panics with the fault decoded (and the guest dump). */
__attribute__((noreturn)) void nested_page_fault(uint64_t exitinfo1, uint64_t gpa);
void svm_world_switch(struct guest_regs *regs, uint64_t vmcb_pa, uint64_t host_save_pa);
/* Turns on the RDTSC/RDTSCP intercepts once the guest clock is virtualised. */
void svm_sync_tsc_intercepts(struct cpu *c);

#endif
