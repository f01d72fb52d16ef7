/*
 * arch_ops.h - the table through which arch.h and vcpu.h reach the vendor backend (private to
 * src/arch). arch.c picks one table at boot from CPUID (AMD: SVM, Intel: VMX) and every
 * arch_* / vcpu_* call is one indirect call through it, in the manner of BitVisor's
 * `vmctl_func`. Each entry has the contract of the function of the same name in arch.h or
 * vcpu.h.
 */
#ifndef TSX_HV_ARCH_OPS_H
#define TSX_HV_ARCH_OPS_H

#include "arch.h"
#include "vcpu.h"

struct arch_ops {
	const char *name; /* "SVM" or "VMX", for the boot log */
	const char *(*unsupported_reason)(void);
	uint64_t (*nested_paging_build)(uint64_t ram_top, uint64_t hv_base, uint64_t hv_end,
					uint64_t scratch_pa);
	void (*cpu_init)(struct cpu *c, uint64_t npt_root);
	void (*run)(struct cpu *c);
	void (*dump_guest)(struct cpu *c);
	bool (*msr_is_private)(uint32_t msr);

	uint64_t (*rip)(struct cpu *c);
	void (*set_rip)(struct cpu *c, uint64_t rip);
	void (*inject_single_step)(struct cpu *c);
	uint64_t (*rflags)(struct cpu *c);
	unsigned (*cpl)(struct cpu *c);
	unsigned (*code_bits)(struct cpu *c);
	void (*get_segment)(struct cpu *c, enum x86_segment seg, struct vcpu_segment *out);
	void (*paging_state)(struct cpu *c, struct paging_state *s);
	uint64_t (*efer)(struct cpu *c);
	void (*set_efer)(struct cpu *c, uint64_t efer);
	bool (*exit_insn_length)(struct cpu *c, unsigned *length);
	void (*skip_instruction)(struct cpu *c, unsigned length);
	void (*inject_exception)(struct cpu *c, uint8_t vector, bool has_error, uint32_t error);
	bool (*inject_interrupt)(struct cpu *c, uint8_t vector);
	uint32_t (*host_halt)(struct cpu *c);
	uint32_t (*host_take_interrupt)(struct cpu *c);
	void (*inject_page_fault)(struct cpu *c, uint64_t linear, uint32_t error);
	void (*set_long_mode_entry)(struct cpu *c, const struct vcpu_long_mode_entry *e);
	int (*npt_set_access)(uint64_t gpa, enum npt_access access);
	void (*set_startup_state)(struct cpu *c, uint8_t vector);
	void (*set_boot_sector_entry)(struct cpu *c, uint16_t ip, uint8_t drive);
};

extern const struct arch_ops svm_arch_ops;
extern const struct arch_ops vmx_arch_ops;

#endif
