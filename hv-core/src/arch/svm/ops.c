/* ops.c - the SVM backend's entry in the vendor table (src/arch/arch_ops.h). */
#include "svm.h"
#include "../arch_ops.h"

const struct arch_ops svm_arch_ops = {
	.name = "SVM",
	.unsupported_reason = svm_arch_unsupported_reason,
	.nested_paging_build = svm_arch_nested_paging_build,
	.cpu_init = svm_arch_cpu_init,
	.run = svm_arch_run,
	.dump_guest = svm_arch_dump_guest,
	.msr_is_private = svm_arch_msr_is_private,
	.rip = svm_vcpu_rip,
	.set_rip = svm_vcpu_set_rip,
	.inject_single_step = svm_vcpu_inject_single_step,
	.rflags = svm_vcpu_rflags,
	.cpl = svm_vcpu_cpl,
	.code_bits = svm_vcpu_code_bits,
	.get_segment = svm_vcpu_get_segment,
	.paging_state = svm_vcpu_paging_state,
	.efer = svm_vcpu_efer,
	.set_efer = svm_vcpu_set_efer,
	.exit_insn_length = svm_vcpu_exit_insn_length,
	.skip_instruction = svm_vcpu_skip_instruction,
	.inject_exception = svm_vcpu_inject_exception,
	.inject_interrupt = svm_vcpu_inject_interrupt,
	.host_halt = svm_vcpu_host_halt,
	.host_take_interrupt = svm_vcpu_host_take_interrupt,
	.inject_page_fault = svm_vcpu_inject_page_fault,
	.set_long_mode_entry = svm_vcpu_set_long_mode_entry,
	.npt_set_access = svm_vcpu_npt_set_access,
	.set_startup_state = svm_vcpu_set_startup_state,
	.set_boot_sector_entry = svm_vcpu_set_boot_sector_entry,
};
