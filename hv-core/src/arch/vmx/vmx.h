/*
 * vmx.h - Intel VT-x backend internals (src/arch/vmx only): VMCS field encodings (Intel SDM
 * vol. 3C, appendix B "Field Encoding in VMCS"), control bits (24.6-24.8), exit reasons
 * (appendix C), the per-CPU VMX state and VMREAD/VMWRITE. The rest of the hypervisor sees
 * arch.h, vcpu.h and exits.h.
 */
#ifndef TSX_HV_VMX_H
#define TSX_HV_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "cpu.h"
#include "vcpu.h"

/* VMX MSRs (SDM vol. 4, table 2-2; vol. 3C, appendix A). */
#define MSR_IA32_FEATURE_CONTROL 0x3Au
#define MSR_IA32_VMX_BASIC 0x480u
#define MSR_IA32_VMX_PINBASED_CTLS 0x481u
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482u
#define MSR_IA32_VMX_EXIT_CTLS 0x483u
#define MSR_IA32_VMX_ENTRY_CTLS 0x484u
#define MSR_IA32_VMX_MISC 0x485u
/* IA32_VMX_MISC[4:0]: the VMX-preemption timer counts down by 1 each time TSC bit X changes
 * (SDM vol. 3C, A.6, 25.5.1). */
#define VMX_MISC_PREEMPTION_SHIFT(misc) ((unsigned)((misc) & 0x1F))
#define MSR_IA32_VMX_CR0_FIXED0 0x486u
#define MSR_IA32_VMX_CR0_FIXED1 0x487u
#define MSR_IA32_VMX_CR4_FIXED0 0x488u
#define MSR_IA32_VMX_CR4_FIXED1 0x489u
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48Bu
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48Cu
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48Du
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48Eu
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48Fu
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490u
#define MSR_IA32_VMX_VMFUNC 0x491u
#define MSR_IA32_VMX_FIRST MSR_IA32_VMX_BASIC
#define MSR_IA32_VMX_LAST 0x493u /* through IA32_VMX_PROCBASED_CTLS3 */
#define MSR_IA32_PAT 0x277u
#define MSR_IA32_DEBUGCTL 0x1D9u

/* 16-bit fields: guest selectors ES..TR at 0x800 + 2 * n, host selectors. */
#define VMCS_GUEST_ES_SELECTOR 0x0800u
#define VMCS_GUEST_LDTR_SELECTOR 0x080Cu
#define VMCS_GUEST_TR_SELECTOR 0x080Eu
#define VMCS_HOST_ES_SELECTOR 0x0C00u
#define VMCS_HOST_CS_SELECTOR 0x0C02u
#define VMCS_HOST_SS_SELECTOR 0x0C04u
#define VMCS_HOST_DS_SELECTOR 0x0C06u
#define VMCS_HOST_FS_SELECTOR 0x0C08u
#define VMCS_HOST_GS_SELECTOR 0x0C0Au
#define VMCS_HOST_TR_SELECTOR 0x0C0Cu
/* 64-bit fields. */
#define VMCS_IO_BITMAP_A 0x2000u
#define VMCS_IO_BITMAP_B 0x2002u
#define VMCS_MSR_BITMAP 0x2004u
#define VMCS_TSC_OFFSET 0x2010u
#define VMCS_TSC_MULTIPLIER 0x2032u
#define VMCS_EPT_POINTER 0x201Au
#define VMCS_GUEST_PHYSICAL_ADDRESS 0x2400u
#define VMCS_LINK_POINTER 0x2800u
#define VMCS_GUEST_DEBUGCTL 0x2802u
#define VMCS_GUEST_PAT 0x2804u
#define VMCS_GUEST_EFER 0x2806u
#define VMCS_GUEST_PDPTE0 0x280Au
#define VMCS_HOST_PAT 0x2C00u
#define VMCS_HOST_EFER 0x2C02u
/* 32-bit fields. */
#define VMCS_PIN_CONTROLS 0x4000u
#define VMCS_PROC_CONTROLS 0x4002u
#define VMCS_EXCEPTION_BITMAP 0x4004u
#define VMCS_CR3_TARGET_COUNT 0x400Au
#define VMCS_EXIT_CONTROLS 0x400Cu
#define VMCS_EXIT_MSR_STORE_COUNT 0x400Eu
#define VMCS_EXIT_MSR_LOAD_COUNT 0x4010u
#define VMCS_ENTRY_CONTROLS 0x4012u
#define VMCS_ENTRY_MSR_LOAD_COUNT 0x4014u
#define VMCS_ENTRY_INTERRUPTION_INFO 0x4016u
#define VMCS_ENTRY_EXCEPTION_ERROR 0x4018u
#define VMCS_ENTRY_INSTRUCTION_LENGTH 0x401Au
#define VMCS_PROC_CONTROLS2 0x401Eu
#define VMCS_INSTRUCTION_ERROR 0x4400u
#define VMCS_EXIT_REASON 0x4402u
#define VMCS_EXIT_INTERRUPTION_INFO 0x4404u
#define VMCS_EXIT_INTERRUPTION_ERROR 0x4406u
#define VMCS_IDT_VECTORING_INFO 0x4408u
#define VMCS_IDT_VECTORING_ERROR 0x440Au
#define VMCS_EXIT_INSTRUCTION_LENGTH 0x440Cu
#define VMCS_GUEST_ES_LIMIT 0x4800u
#define VMCS_GUEST_LDTR_LIMIT 0x480Cu
#define VMCS_GUEST_TR_LIMIT 0x480Eu
#define VMCS_PREEMPTION_TIMER_VALUE 0x482Eu
#define VMCS_GUEST_GDTR_LIMIT 0x4810u
#define VMCS_GUEST_IDTR_LIMIT 0x4812u
#define VMCS_GUEST_ES_AR 0x4814u
#define VMCS_GUEST_LDTR_AR 0x4820u
#define VMCS_GUEST_TR_AR 0x4822u
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824u
#define VMCS_GUEST_ACTIVITY_STATE 0x4826u
#define VMCS_GUEST_SYSENTER_CS 0x482Au
#define VMCS_HOST_SYSENTER_CS 0x4C00u
/* Natural-width fields. */
#define VMCS_CR0_GUEST_HOST_MASK 0x6000u
#define VMCS_CR4_GUEST_HOST_MASK 0x6002u
#define VMCS_CR0_READ_SHADOW 0x6004u
#define VMCS_CR4_READ_SHADOW 0x6006u
#define VMCS_EXIT_QUALIFICATION 0x6400u
#define VMCS_GUEST_LINEAR_ADDRESS 0x640Au
#define VMCS_GUEST_CR0 0x6800u
#define VMCS_GUEST_CR3 0x6802u
#define VMCS_GUEST_CR4 0x6804u
#define VMCS_GUEST_ES_BASE 0x6806u
#define VMCS_GUEST_LDTR_BASE 0x6812u
#define VMCS_GUEST_TR_BASE 0x6814u
#define VMCS_GUEST_GDTR_BASE 0x6816u
#define VMCS_GUEST_IDTR_BASE 0x6818u
#define VMCS_GUEST_DR7 0x681Au
#define VMCS_GUEST_RSP 0x681Cu
#define VMCS_GUEST_RIP 0x681Eu
#define VMCS_GUEST_RFLAGS 0x6820u
#define VMCS_GUEST_PENDING_DEBUG 0x6822u
#define VMCS_GUEST_SYSENTER_ESP 0x6824u
#define VMCS_GUEST_SYSENTER_EIP 0x6826u
#define VMCS_HOST_CR0 0x6C00u
#define VMCS_HOST_CR3 0x6C02u
#define VMCS_HOST_CR4 0x6C04u
#define VMCS_HOST_FS_BASE 0x6C06u
#define VMCS_HOST_GS_BASE 0x6C08u
#define VMCS_HOST_TR_BASE 0x6C0Au
#define VMCS_HOST_GDTR_BASE 0x6C0Cu
#define VMCS_HOST_IDTR_BASE 0x6C0Eu
#define VMCS_HOST_SYSENTER_ESP 0x6C10u
#define VMCS_HOST_SYSENTER_EIP 0x6C12u
#define VMCS_HOST_RSP 0x6C14u
#define VMCS_HOST_RIP 0x6C16u

/* The guest segment fields of segment n (ES, CS, SS, DS, FS, GS, LDTR, TR order). */
#define VMCS_GUEST_SELECTOR(n) (VMCS_GUEST_ES_SELECTOR + 2u * (n))
#define VMCS_GUEST_LIMIT(n) (VMCS_GUEST_ES_LIMIT + 2u * (n))
#define VMCS_GUEST_AR(n) (VMCS_GUEST_ES_AR + 2u * (n))
#define VMCS_GUEST_BASE(n) (VMCS_GUEST_ES_BASE + 2u * (n))
#define VMX_SEG_LDTR 6u
#define VMX_SEG_TR 7u

/* Pin-based controls (24.6.1, table 24-5). */
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)
/* Primary processor-based controls (24.6.2, table 24-6). */
#define PROC_INTERRUPT_WINDOW (1u << 2)
#define PROC_USE_TSC_OFFSETTING (1u << 3)
#define PROC_HLT_EXITING (1u << 7)
#define PROC_INVLPG_EXITING (1u << 9)
#define PROC_MWAIT_EXITING (1u << 10)
#define PROC_RDPMC_EXITING (1u << 11)
#define PROC_RDTSC_EXITING (1u << 12)
#define PROC_CR3_LOAD_EXITING (1u << 15)
#define PROC_CR3_STORE_EXITING (1u << 16)
#define PROC_CR8_LOAD_EXITING (1u << 19)
#define PROC_CR8_STORE_EXITING (1u << 20)
#define PROC_NMI_WINDOW (1u << 22)
#define PROC_MOV_DR_EXITING (1u << 23)
#define PROC_UNCONDITIONAL_IO (1u << 24)
#define PROC_USE_IO_BITMAPS (1u << 25)
#define PROC_MONITOR_TRAP_FLAG (1u << 27)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR_EXITING (1u << 29)
#define PROC_PAUSE_EXITING (1u << 30)
#define PROC_SECONDARY_CONTROLS (1u << 31)
/* Secondary processor-based controls (24.6.2, table 24-7). */
#define PROC2_ENABLE_EPT (1u << 1)
#define PROC2_DESCRIPTOR_EXITING (1u << 2)
#define PROC2_ENABLE_RDTSCP (1u << 3)
#define PROC2_WBINVD_EXITING (1u << 6)
#define PROC2_UNRESTRICTED_GUEST (1u << 7)
#define PROC2_ENABLE_INVPCID (1u << 12)
#define PROC2_ENABLE_XSAVES (1u << 20)
#define PROC2_USE_TSC_SCALING (1u << 25)
/* VM-exit controls (24.7.1, table 24-13). */
#define EXIT_HOST_ADDRESS_SPACE_SIZE (1u << 9)
#define EXIT_ACK_INTERRUPT (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
/* VM-entry controls (24.8.1, table 24-15). */
#define ENTRY_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* Exit reasons (appendix C, table C-1). Bit 31 of the exit reason: VM-entry failure. */
#define EXIT_REASON_EXCEPTION_NMI 0
#define EXIT_REASON_EXTERNAL_INTERRUPT 1
#define EXIT_REASON_TRIPLE_FAULT 2
#define EXIT_REASON_INIT 3
#define EXIT_REASON_SIPI 4
#define EXIT_REASON_INTERRUPT_WINDOW 7
#define EXIT_REASON_NMI_WINDOW 8
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_GETSEC 11
#define EXIT_REASON_HLT 12
#define EXIT_REASON_INVD 13
#define EXIT_REASON_RDTSC 16
#define EXIT_REASON_VMCALL 18
#define EXIT_REASON_VMCLEAR 19
#define EXIT_REASON_VMLAUNCH 20
#define EXIT_REASON_VMPTRLD 21
#define EXIT_REASON_VMPTRST 22
#define EXIT_REASON_VMREAD 23
#define EXIT_REASON_VMRESUME 24
#define EXIT_REASON_VMWRITE 25
#define EXIT_REASON_VMXOFF 26
#define EXIT_REASON_VMXON 27
#define EXIT_REASON_CR_ACCESS 28
#define EXIT_REASON_IO 30
#define EXIT_REASON_RDMSR 31
#define EXIT_REASON_WRMSR 32
#define EXIT_REASON_ENTRY_INVALID_GUEST 33
#define EXIT_REASON_ENTRY_MSR_LOADING 34
#define EXIT_REASON_ENTRY_MACHINE_CHECK 41
#define EXIT_REASON_EPT_VIOLATION 48
#define EXIT_REASON_EPT_MISCONFIG 49
#define EXIT_REASON_INVEPT 50
#define EXIT_REASON_RDTSCP 51
#define EXIT_REASON_PREEMPTION_TIMER 52
#define EXIT_REASON_INVVPID 53
#define EXIT_REASON_XSETBV 55
#define EXIT_REASON_VMFUNC 59
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* Interruption information (VM-entry 24.8.3, VM-exit 24.9.2, IDT vectoring 24.9.3). */
#define INTR_INFO_VALID (1u << 31)
#define INTR_INFO_ERROR_VALID (1u << 11)
#define INTR_INFO_NMI_UNBLOCKED_BY_IRET (1u << 12)
#define INTR_TYPE_EXTERNAL (0u << 8)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SW_INTERRUPT (4u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION (5u << 8)
#define INTR_TYPE_SW_EXCEPTION (6u << 8)
#define INTR_TYPE_MASK (7u << 8)

/* Guest interruptibility state (24.4.2, table 24-3). */
#define INTERRUPTIBILITY_STI (1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)
#define INTERRUPTIBILITY_NMI (1u << 3)

/* Segment access rights in the VMCS (24.4.1, table 24-2): the descriptor's attribute bits
 * 8-15 and 20-23 at bits 0-7 and 12-15, and bit 16 "unusable". */
#define VMX_AR_UNUSABLE (1u << 16)

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)
#define CR4_SMEP (1ull << 20)
#define CR4_VMXE (1ull << 13)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* Per-CPU VMX state (struct cpu's vendor block, c->vmcb). */
struct vmx_cpu {
	void *vmxon_region;
	void *vmcs;
	uint64_t vmcs_pa;
	bool launched;         /* VMLAUNCH done: later entries are VMRESUME (26.1) */
	uint32_t exit_reason;  /* of the exit being handled */
	uint64_t qualification;
	uint32_t instruction_length;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint32_t entry_controls;
	uint32_t proc_controls;
	uint32_t proc2_controls;
	uint64_t tsc_multiplier, tsc_offset; /* as written to the VMCS */
	uint8_t *gdt;          /* the CPU's own host GDT with its TSS (vmx.c) */
	uint8_t *tss;
};

static inline struct vmx_cpu *cpu_vmx(struct cpu *c)
{
	return (struct vmx_cpu *)c->vmcb;
}

static inline uint64_t vmread(uint32_t field)
{
	uint64_t v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((uint64_t)field) : "cc");
	return v;
}

/* VMWRITE; a failure (unsupported field, value invalid for it) is a hypervisor bug. */
void vmwrite(uint32_t field, uint64_t value);

/* Incremented whenever the EPT changes: each CPU invalidates before its next entry. */
extern volatile uint32_t ept_generation;
extern uint64_t vmx_eptp;
/* INVEPT of every EPT-derived mapping (28.3.3.4 "Guidelines for Use of the INVEPT
 * Instruction"). */
void vmx_invept(void);
/* An EPT violation not on the APIC page: panics with it decoded. */
__attribute__((noreturn)) void vmx_ept_fault(uint64_t qualification, uint64_t gpa);

/* VMLAUNCH (launched = 0) or VMRESUME with the guest's GPRs from regs (RSP and RIP are in
 * the VMCS); returns 0 after a VM exit with the guest's GPRs stored back, or 1 if the
 * instruction failed (VMfailInvalid/VMfailValid, 30.2) (vmentry.S). */
int vmx_enter(struct guest_regs *regs, int launched);
/* Chooses how the guest reads the TSC at this entry (tsc_scaling.h: raw, hardware-scaled,
 * or RDTSC exiting) and programs the controls, multiplier and offset. Call last before
 * entering; vmx_tsc_exited after the exit. */
void vmx_sync_tsc(struct cpu *c);
/* Loads the VMX-preemption timer for the next entry, where the CPU has one (vmx.c). */
void vmx_arm_preemption_timer(void);
/* The CPU offers "use TSC offsetting" and "use TSC scaling" (25.3, A.3.2, A.3.3). */
bool vmx_tsc_scaling_offered(void);
/* Guest CR0/CR4 writes that the guest/host masks send to the hypervisor (vcpu.c). */
void vmx_write_cr0(struct cpu *c, uint64_t value);
void vmx_write_cr4(struct cpu *c, uint64_t value);
/* EFER.LMA and the "IA-32e mode guest" entry control, which must agree (26.3.1.1). */
void vmx_set_guest_efer(struct cpu *c, uint64_t efer);

/* The arch.h and vcpu.h functions on VMX, reached through vmx_arch_ops (ops.c). */
const char *vmx_arch_unsupported_reason(void);
uint64_t vmx_arch_nested_paging_build(uint64_t ram_top, uint64_t hv_base, uint64_t hv_end,
				      uint64_t scratch_pa);
void vmx_arch_cpu_init(struct cpu *c, uint64_t npt_root);
void vmx_arch_run(struct cpu *c);
void vmx_arch_dump_guest(struct cpu *c);
bool vmx_arch_msr_is_private(uint32_t msr);
uint64_t vmx_vcpu_rip(struct cpu *c);
void vmx_vcpu_set_rip(struct cpu *c, uint64_t rip);
void vmx_vcpu_inject_single_step(struct cpu *c);
uint64_t vmx_vcpu_rflags(struct cpu *c);
unsigned vmx_vcpu_cpl(struct cpu *c);
unsigned vmx_vcpu_code_bits(struct cpu *c);
void vmx_vcpu_get_segment(struct cpu *c, enum x86_segment seg, struct vcpu_segment *out);
void vmx_vcpu_paging_state(struct cpu *c, struct paging_state *s);
uint64_t vmx_vcpu_efer(struct cpu *c);
void vmx_vcpu_set_efer(struct cpu *c, uint64_t efer);
bool vmx_vcpu_exit_insn_length(struct cpu *c, unsigned *length);
void vmx_vcpu_skip_instruction(struct cpu *c, unsigned length);
void vmx_vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error);
bool vmx_vcpu_inject_interrupt(struct cpu *c, uint8_t vector);
uint32_t vmx_vcpu_host_halt(struct cpu *c);
uint32_t vmx_vcpu_host_take_interrupt(struct cpu *c);
void vmx_vcpu_inject_page_fault(struct cpu *c, uint64_t linear, uint32_t error);
void vmx_vcpu_set_long_mode_entry(struct cpu *c, const struct vcpu_long_mode_entry *e);
int vmx_vcpu_npt_set_access(uint64_t gpa, enum npt_access access);
void vmx_vcpu_set_startup_state(struct cpu *c, uint8_t vector);
void vmx_vcpu_set_boot_sector_entry(struct cpu *c, uint16_t ip, uint8_t drive);

#endif
