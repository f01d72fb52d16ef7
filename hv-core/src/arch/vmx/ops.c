/* ops.c - the VMX backend's entry in the vendor table (src/arch/arch_ops.h). */
#include "vmx.h"
#include "../arch_ops.h"

const struct arch_ops vmx_arch_ops = {
	.name = "VMX",
	.unsupported_reason = vmx_arch_unsupported_reason,
	.nested_paging_build = vmx_arch_nested_paging_build,
	.cpu_init = vmx_arch_cpu_init,
	.run = vmx_arch_run,
	.dump_guest = vmx_arch_dump_guest,
	.msr_is_private = vmx_arch_msr_is_private,
	.rip = vmx_vcpu_rip,
	.set_rip = vmx_vcpu_set_rip,
	.inject_single_step = vmx_vcpu_inject_single_step,
	.rflags = vmx_vcpu_rflags,
	.cpl = vmx_vcpu_cpl,
	.code_bits = vmx_vcpu_code_bits,
	.get_segment = vmx_vcpu_get_segment,
	.paging_state = vmx_vcpu_paging_state,
	.efer = vmx_vcpu_efer,
	.set_efer = vmx_vcpu_set_efer,
	.exit_insn_length = vmx_vcpu_exit_insn_length,
	.skip_instruction = vmx_vcpu_skip_instruction,
	.inject_exception = vmx_vcpu_inject_exception,
	.inject_interrupt = vmx_vcpu_inject_interrupt,
	.host_halt = vmx_vcpu_host_halt,
	.host_take_interrupt = vmx_vcpu_host_take_interrupt,
	.inject_page_fault = vmx_vcpu_inject_page_fault,
	.set_long_mode_entry = vmx_vcpu_set_long_mode_entry,
	.npt_set_access = vmx_vcpu_npt_set_access,
	.set_startup_state = vmx_vcpu_set_startup_state,
	.set_boot_sector_entry = vmx_vcpu_set_boot_sector_entry,
};
