/*
 * arch.c - run-time vendor selection: arch.h and vcpu.h are implemented here as one indirect
 * call into the backend arch_unsupported_reason() chose from CPUID at boot (AMD: SVM,
 * src/arch/svm; Intel: VT-x, src/arch/vmx). Both backends are linked into every image; the
 * choice is made once, before any other arch or vcpu call, and never changes.
 */
#include "arch_ops.h"
#include "hvlib.h"
#include "x86.h"

#define CPUID1_ECX_VMX (1u << 5)

static const struct arch_ops *ops;

/* CPUID 0 EBX, EDX, ECX spell the vendor (SDM vol. 2A, CPUID leaf 0; APM vol. 3, E.3.1).
 * AMD (and Hygon, its licensee) implement SVM, Intel VT-x. A CPU of another vendor gets VMX
 * if it reports it (CPUID.1:ECX.VMX, SDM vol. 3C, 23.6 "Discovering Support for VMX") and
 * SVM's own explanation of what is missing otherwise. */
static const struct arch_ops *select_backend(void)
{
	struct cpuid_regs v = cpuid(0, 0);
	char vendor[12];
	memcpy(vendor, &v.ebx, 4);
	memcpy(vendor + 4, &v.edx, 4);
	memcpy(vendor + 8, &v.ecx, 4);
	if (!memcmp(vendor, "AuthenticAMD", 12) || !memcmp(vendor, "HygonGenuine", 12))
		return &svm_arch_ops;
	if (!memcmp(vendor, "GenuineIntel", 12) || (cpuid(1, 0).ecx & CPUID1_ECX_VMX))
		return &vmx_arch_ops;
	return &svm_arch_ops;
}

const char *arch_unsupported_reason(void)
{
	if (!ops)
		ops = select_backend();
	return ops->unsupported_reason();
}

uint64_t arch_nested_paging_build(uint64_t ram_top, uint64_t hv_base, uint64_t hv_end,
				  uint64_t scratch_pa)
{
	return ops->nested_paging_build(ram_top, hv_base, hv_end, scratch_pa);
}

void arch_cpu_init(struct cpu *c, uint64_t npt_root) { ops->cpu_init(c, npt_root); }
void arch_run(struct cpu *c) { ops->run(c); }

void arch_dump_guest(struct cpu *c)
{
	if (ops)
		ops->dump_guest(c);
}

bool arch_msr_is_private(uint32_t msr) { return ops->msr_is_private(msr); }

uint64_t vcpu_rip(struct cpu *c) { return ops->rip(c); }
void vcpu_set_rip(struct cpu *c, uint64_t rip) { ops->set_rip(c, rip); }
void vcpu_inject_single_step(struct cpu *c) { ops->inject_single_step(c); }
uint64_t vcpu_rflags(struct cpu *c) { return ops->rflags(c); }
unsigned vcpu_cpl(struct cpu *c) { return ops->cpl(c); }
unsigned vcpu_code_bits(struct cpu *c) { return ops->code_bits(c); }

void vcpu_get_segment(struct cpu *c, enum x86_segment seg, struct vcpu_segment *out)
{
	ops->get_segment(c, seg, out);
}

void vcpu_paging_state(struct cpu *c, struct paging_state *s) { ops->paging_state(c, s); }
uint64_t vcpu_efer(struct cpu *c) { return ops->efer(c); }
void vcpu_set_efer(struct cpu *c, uint64_t efer) { ops->set_efer(c, efer); }

bool vcpu_exit_insn_length(struct cpu *c, unsigned *length)
{
	return ops->exit_insn_length(c, length);
}

void vcpu_skip_instruction(struct cpu *c, unsigned length) { ops->skip_instruction(c, length); }

void vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error)
{
	ops->inject_exception(c, vector, has_error, error);
}

bool vcpu_inject_interrupt(struct cpu *c, uint8_t vector) { return ops->inject_interrupt(c, vector); }
uint32_t vcpu_host_halt(struct cpu *c) { return ops->host_halt(c); }
uint32_t vcpu_host_take_interrupt(struct cpu *c) { return ops->host_take_interrupt(c); }

void vcpu_inject_page_fault(struct cpu *c, uint64_t linear, uint32_t error)
{
	ops->inject_page_fault(c, linear, error);
}

void vcpu_set_long_mode_entry(struct cpu *c, const struct vcpu_long_mode_entry *e)
{
	ops->set_long_mode_entry(c, e);
}

int vcpu_npt_set_access(uint64_t gpa, enum npt_access access)
{
	return ops->npt_set_access(gpa, access);
}

void vcpu_set_startup_state(struct cpu *c, uint8_t vector) { ops->set_startup_state(c, vector); }
void vcpu_set_boot_sector_entry(struct cpu *c, uint16_t ip, uint8_t drive) { ops->set_boot_sector_entry(c, ip, drive); }
