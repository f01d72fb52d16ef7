/* svm.h - AMD SVM backend internals (src/arch/svm only); the rest of the hypervisor sees
 * arch.h, vcpu.h and exits.h. */
#ifndef TSX_HV_SVM_H
#define TSX_HV_SVM_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "cpu.h"
#include "vcpu.h"
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

/* Incremented whenever the nested page tables change (svm_arch_run flushes the TLB then). */
extern volatile uint32_t npt_generation;
/* A nested page fault: panics with the fault decoded (and the guest dump). */
__attribute__((noreturn)) void nested_page_fault(uint64_t exitinfo1, uint64_t gpa);
void svm_world_switch(struct guest_regs *regs, uint64_t vmcb_pa, uint64_t host_save_pa);
/* Turns on the RDTSC/RDTSCP intercepts once the guest clock is virtualised. */
void svm_sync_tsc(struct cpu *c);

/* The arch.h and vcpu.h functions on SVM, reached through svm_arch_ops (ops.c). */
const char *svm_arch_unsupported_reason(void);
uint64_t svm_arch_nested_paging_build(uint64_t ram_top, uint64_t hv_base, uint64_t hv_end,
				      uint64_t scratch_pa);
void svm_arch_cpu_init(struct cpu *c, uint64_t npt_root);
void svm_arch_run(struct cpu *c);
void svm_arch_dump_guest(struct cpu *c);
bool svm_arch_msr_is_private(uint32_t msr);
uint64_t svm_vcpu_rip(struct cpu *c);
void svm_vcpu_set_rip(struct cpu *c, uint64_t rip);
void svm_vcpu_inject_single_step(struct cpu *c);
uint64_t svm_vcpu_rflags(struct cpu *c);
unsigned svm_vcpu_cpl(struct cpu *c);
unsigned svm_vcpu_code_bits(struct cpu *c);
void svm_vcpu_get_segment(struct cpu *c, enum x86_segment seg, struct vcpu_segment *out);
void svm_vcpu_paging_state(struct cpu *c, struct paging_state *s);
uint64_t svm_vcpu_efer(struct cpu *c);
void svm_vcpu_set_efer(struct cpu *c, uint64_t efer);
bool svm_vcpu_exit_insn_length(struct cpu *c, unsigned *length);
void svm_vcpu_skip_instruction(struct cpu *c, unsigned length);
void svm_vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error);
bool svm_vcpu_inject_interrupt(struct cpu *c, uint8_t vector);
uint32_t svm_vcpu_host_halt(struct cpu *c);
uint32_t svm_vcpu_host_take_interrupt(struct cpu *c);
void svm_vcpu_inject_page_fault(struct cpu *c, uint64_t linear, uint32_t error);
void svm_vcpu_set_long_mode_entry(struct cpu *c, const struct vcpu_long_mode_entry *e);
int svm_vcpu_npt_set_access(uint64_t gpa, enum npt_access access);
void svm_vcpu_set_startup_state(struct cpu *c, uint8_t vector);
void svm_vcpu_set_boot_sector_entry(struct cpu *c, uint16_t ip, uint8_t drive);

#endif
