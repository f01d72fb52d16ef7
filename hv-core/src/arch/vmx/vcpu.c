/*
 * vcpu.c - the vendor interface (include/vcpu.h) on VT-x: guest state in the current VMCS
 * (Intel SDM vol. 3C, 24.4 "Guest-State Area"), event injection through the VM-entry
 * interruption-information field (24.8.3, 26.6 "Event Injection"), CR0/CR4 writes the
 * guest/host masks send to the hypervisor, and the guest's initial states.
 */
#include "boot.h"
#include "vmx.h"
#include "guest_memory.h"
#include "hvlib.h"
#include "vmx_controls.h"
#include "x86.h"

#define RFLAGS_RESERVED1 (1ull << 1)
#define DR6_BS (1ull << 14)
#define CR0_RESERVED_HIGH 0xFFFFFFFF00000000ull
#define PAT_POWER_ON 0x0007040600070406ull
/* VMCS access rights (24.4.1, table 24-2). */
#define AR_CODE64 0xA09B  /* P, S, type 0xB (execute/read, accessed), L, G */
#define AR_DATA32 0xC093  /* P, S, type 0x3 (read/write, accessed), D/B, G */
#define AR_CODE16 0x009B
#define AR_DATA16 0x0093
#define AR_TSS64_BUSY 0x008B
#define AR_TSS32_BUSY 0x008B
#define AR_LDT 0x0082

uint64_t vmx_vcpu_rip(struct cpu *c)
{
	return vmread(VMCS_GUEST_RIP);
}

void vmx_vcpu_set_rip(struct cpu *c, uint64_t rip)
{
	vmwrite(VMCS_GUEST_RIP, rip);
	/* An emulated instruction ends a MOV SS/STI interrupt shadow as executing it would
	 * (24.4.2: blocking by STI/MOV SS lasts one instruction). */
	uint64_t block = vmread(VMCS_GUEST_INTERRUPTIBILITY);
	if (block & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			block & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	/* RFLAGS.TF: the single-step trap the instruction would have raised (SDM vol. 3B,
	 * 17.3.1.4), as on SVM. */
	if (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_TF)
		vmx_vcpu_inject_single_step(c);
}

/* DR6 is not part of the VMCS: the guest's DR6 is the CPU's own (27.3.1 saves DR7 only). */
void vmx_vcpu_inject_single_step(struct cpu *c)
{
	uint64_t dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	dr6 |= DR6_BS;
	__asm__ volatile("mov %0, %%dr6" : : "r"(dr6));
	vmx_vcpu_inject_exception(c, X86_VECTOR_DB, false, 0);
}

uint64_t vmx_vcpu_rflags(struct cpu *c)
{
	return vmread(VMCS_GUEST_RFLAGS);
}

/* The CPL is SS.DPL (24.4.1: "the value of the DPL field for SS is always equal to the
 * logical processor's current privilege level"). */
unsigned vmx_vcpu_cpl(struct cpu *c)
{
	return (unsigned)(vmread(VMCS_GUEST_AR(SEG_SS)) >> 5) & 3;
}

void vmx_vcpu_get_segment(struct cpu *c, enum x86_segment seg, struct vcpu_segment *out)
{
	unsigned n = seg <= SEG_GS ? (unsigned)seg : SEG_DS;
	uint32_t ar = (uint32_t)vmread(VMCS_GUEST_AR(n));
	out->base = vmread(VMCS_GUEST_BASE(n));
	out->limit = (uint32_t)vmread(VMCS_GUEST_LIMIT(n));
	out->selector = (uint16_t)vmread(VMCS_GUEST_SELECTOR(n));
	out->type = ar & 0xF;
	out->s = ar & (1u << 4);
	out->dpl = (ar >> 5) & 3;
	out->present = (ar & (1u << 7)) && !(ar & VMX_AR_UNUSABLE);
	out->l = ar & (1u << 13);
	out->db = ar & (1u << 14);
	out->g = ar & (1u << 15);
}

unsigned vmx_vcpu_code_bits(struct cpu *c)
{
	if (!(vmread(VMCS_GUEST_CR0) & CR0_PE) || (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_VM))
		return 16;
	uint32_t cs = (uint32_t)vmread(VMCS_GUEST_AR(SEG_CS));
	if ((vmread(VMCS_GUEST_EFER) & EFER_LMA) && (cs & (1u << 13)))
		return 64;
	return cs & (1u << 14) ? 32 : 16;
}

void vmx_vcpu_paging_state(struct cpu *c, struct paging_state *p)
{
	p->cr0 = vmread(VMCS_GUEST_CR0);
	p->cr3 = vmread(VMCS_GUEST_CR3);
	p->cr4 = vmread(VMCS_GUEST_CR4);
	p->efer = vmread(VMCS_GUEST_EFER);
	p->rflags_ac = vmread(VMCS_GUEST_RFLAGS) & RFLAGS_AC;
}

uint64_t vmx_vcpu_efer(struct cpu *c)
{
	return vmread(VMCS_GUEST_EFER);
}

/* The "IA-32e mode guest" entry control must equal EFER.LMA (26.3.1.1); VM exits store LMA
 * into it (27.2), and the hypervisor's own EFER writes keep the two together here. */
void vmx_set_guest_efer(struct cpu *c, uint64_t efer)
{
	struct vmx_cpu *x = cpu_vmx(c);
	x->entry_controls = (uint32_t)vmread(VMCS_ENTRY_CONTROLS);
	if (efer & EFER_LMA)
		x->entry_controls |= ENTRY_IA32E_MODE_GUEST;
	else
		x->entry_controls &= ~ENTRY_IA32E_MODE_GUEST;
	vmwrite(VMCS_ENTRY_CONTROLS, x->entry_controls);
	vmwrite(VMCS_GUEST_EFER, efer);
}

void vmx_vcpu_set_efer(struct cpu *c, uint64_t efer)
{
	vmx_set_guest_efer(c, efer);
}

/* The VM-exit instruction length is defined for exits caused by instructions (27.2.5). */
bool vmx_vcpu_exit_insn_length(struct cpu *c, unsigned *length)
{
	struct vmx_cpu *x = cpu_vmx(c);
	if ((x->exit_reason != EXIT_REASON_RDTSC && x->exit_reason != EXIT_REASON_RDTSCP) ||
	    !x->instruction_length || x->instruction_length > INSN_MAX_LENGTH)
		return false;
	*length = x->instruction_length;
	return true;
}

void vmx_vcpu_skip_instruction(struct cpu *c, unsigned length)
{
	uint64_t rip = vmread(VMCS_GUEST_RIP) + length;
	unsigned bits = vmx_vcpu_code_bits(c);
	if (bits == 32)
		rip = (uint32_t)rip;
	else if (bits == 16)
		rip &= 0xFFFF;
	vmx_vcpu_set_rip(c, rip);
}

/* A hardware exception (type 3). In real mode (CR0.PE = 0, unrestricted guest) the CPU
 * pushes no error code, and VM entry requires "deliver error code" clear then (26.2.1.3). */
void vmx_vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error)
{
	uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector;
	if (has_error && (vmread(VMCS_GUEST_CR0) & CR0_PE)) {
		info |= INTR_INFO_ERROR_VALID;
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, error);
	}
	vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, info);
	c->stats.injected++;
}

bool vmx_vcpu_inject_interrupt(struct cpu *c, uint8_t vector)
{
	if ((vmread(VMCS_ENTRY_INTERRUPTION_INFO) & INTR_INFO_VALID) ||
	    !(vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF) ||
	    (vmread(VMCS_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
		return false;
	vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | vector);
	return true;
}

/* In VMX root operation NMIs and interrupts reach the host IDT directly (no GIF): the
 * halt opens interrupts (exceptions.c records the vector); STI's shadow covers HLT. */
uint32_t vmx_vcpu_host_halt(struct cpu *c)
{
	__atomic_store_n(&c->host_vector, 0, __ATOMIC_SEQ_CST);
	host_sti_hlt();
	return __atomic_exchange_n(&c->host_vector, 0, __ATOMIC_SEQ_CST);
}

uint32_t vmx_vcpu_host_take_interrupt(struct cpu *c)
{
	__atomic_store_n(&c->host_vector, 0, __ATOMIC_SEQ_CST);
	host_sti_nop();
	return __atomic_exchange_n(&c->host_vector, 0, __ATOMIC_SEQ_CST);
}

/* CR2 is not in the VMCS: the guest's CR2 is the CPU's own, which the hypervisor does not
 * use (27.3.1, 26.3.2.1: neither entry nor exit loads it). */
void vmx_vcpu_inject_page_fault(struct cpu *c, uint64_t linear, uint32_t error)
{
	__asm__ volatile("mov %0, %%cr2" : : "r"(linear));
	vmx_vcpu_inject_exception(c, X86_VECTOR_PF, true, error);
}

static void set_segment(unsigned n, uint16_t selector, uint32_t ar, uint32_t limit, uint64_t base)
{
	vmwrite(VMCS_GUEST_SELECTOR(n), selector);
	vmwrite(VMCS_GUEST_AR(n), ar);
	vmwrite(VMCS_GUEST_LIMIT(n), limit);
	vmwrite(VMCS_GUEST_BASE(n), base);
}

/* The guest's CR0/CR4 as it wants them (read shadows) and as VMX needs them (fixed bits;
 * PE and PG stay the guest's with unrestricted guest). */
static void set_cr0(struct vmx_cpu *x, uint64_t cr0)
{
	vmwrite(VMCS_CR0_READ_SHADOW, cr0);
	vmwrite(VMCS_GUEST_CR0, vmx_fixed_bits(cr0, x->cr0_fixed0, x->cr0_fixed1, CR0_PE | CR0_PG));
}

static void set_cr4(struct vmx_cpu *x, uint64_t cr4)
{
	vmwrite(VMCS_CR4_READ_SHADOW, cr4);
	vmwrite(VMCS_GUEST_CR4, vmx_fixed_bits(cr4, x->cr4_fixed0, x->cr4_fixed1, 0));
}

/* With PAE paging outside long mode, EPT makes VM entry load the four PDPTEs from the VMCS
 * (26.3.2.4), so a paging change the hypervisor emulates reads them from guest memory, as
 * MOV to CR0 would (SDM vol. 3A, 4.4.1). */
static void load_pdptes(struct cpu *c)
{
	uint64_t pdpte[4] = { 0, 0, 0, 0 };
	guest_phys_read(c->index, vmread(VMCS_GUEST_CR3) & ~0x1Full, pdpte, sizeof(pdpte));
	for (unsigned i = 0; i < 4; i++)
		vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

/* MOV to CR0 that changes a bit the hypervisor owns (CR0.NE): checked as the CPU checks it
 * (SDM vol. 3A, 2.5 and MOV CR in vol. 2B: #GP for bits 63:32, PG without PE, NW without
 * CD, paging on with EFER.LME and CR4.PAE clear), then EFER.LMA follows PG (vol. 3A, 9.8.5). */
void vmx_write_cr0(struct cpu *c, uint64_t value)
{
	struct vmx_cpu *x = cpu_vmx(c);
	uint64_t old = vmread(VMCS_GUEST_CR0), efer = vmread(VMCS_GUEST_EFER);
	uint64_t cr4 = vmread(VMCS_GUEST_CR4);
	if ((value & CR0_RESERVED_HIGH) || ((value & CR0_PG) && !(value & CR0_PE)) ||
	    ((value & CR0_NW) && !(value & CR0_CD)) ||
	    ((value & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME) && !(cr4 & CR4_PAE))) {
		vmx_vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		return;
	}
	set_cr0(x, value);
	if ((value ^ old) & CR0_PG) {
		if ((value & CR0_PG) && (efer & EFER_LME))
			vmx_set_guest_efer(c, efer | EFER_LMA);
		else if (!(value & CR0_PG))
			vmx_set_guest_efer(c, efer & ~EFER_LMA);
		if ((value & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LME))
			load_pdptes(c);
	}
	vmx_vcpu_skip_instruction(c, cpu_vmx(c)->instruction_length);
}

/* MOV to CR4 that changes CR4.VMXE: VMX is hidden from the guest, so setting it is #GP as on
 * a CPU without VMX; any other owned bit is stored with the fixed bits applied. Under PAE
 * paging (not long mode) a write that changes PAE, PGE, PSE or SMEP reloads the PDPTEs, as the
 * CPU's own MOV to CR4 would (SDM vol. 3A, 4.4.1). */
void vmx_write_cr4(struct cpu *c, uint64_t value)
{
	struct vmx_cpu *x = cpu_vmx(c);
	if ((value & CR4_VMXE) || (value & ~x->cr4_fixed1)) {
		vmx_vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		return;
	}
	uint64_t old = vmread(VMCS_CR4_READ_SHADOW);
	set_cr4(x, value);
	if ((vmread(VMCS_GUEST_CR0) & CR0_PG) && (value & CR4_PAE) &&
	    !(vmread(VMCS_GUEST_EFER) & EFER_LMA) &&
	    ((value ^ old) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)))
		load_pdptes(c);
	vmx_vcpu_skip_instruction(c, x->instruction_length);
}

void vmx_vcpu_set_long_mode_entry(struct cpu *c, const struct vcpu_long_mode_entry *e)
{
	struct vmx_cpu *x = cpu_vmx(c);
	set_segment(SEG_CS, e->code_selector, AR_CODE64, 0xFFFFFFFF, 0);
	set_segment(SEG_DS, e->data_selector, AR_DATA32, 0xFFFFFFFF, 0);
	set_segment(SEG_ES, e->data_selector, AR_DATA32, 0xFFFFFFFF, 0);
	set_segment(SEG_SS, e->data_selector, AR_DATA32, 0xFFFFFFFF, 0);
	set_segment(SEG_FS, e->data_selector, AR_DATA32, 0xFFFFFFFF, 0);
	set_segment(SEG_GS, e->data_selector, AR_DATA32, 0xFFFFFFFF, 0);
	set_segment(VMX_SEG_TR, e->tr_selector, AR_TSS64_BUSY, e->tr_selector ? e->tr_limit : 0x67,
		    e->tr_base);
	set_segment(VMX_SEG_LDTR, 0, VMX_AR_UNUSABLE, 0, 0);
	vmwrite(VMCS_GUEST_GDTR_BASE, e->gdt_base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, e->gdt_limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, e->idt_base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, e->idt_limit);
	set_cr0(x, e->cr0 ? e->cr0 : CR0_PE | CR0_ET | CR0_NE | CR0_PG);
	vmwrite(VMCS_GUEST_CR3, e->cr3);
	set_cr4(x, e->cr4 ? e->cr4 : CR4_PAE);
	vmx_set_guest_efer(c, EFER_LME | EFER_LMA | (e->efer_nxe & EFER_NXE));
	vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED1); /* interrupts off */
	vmwrite(VMCS_GUEST_RIP, e->rip);
	c->regs.rsp = e->rsp;
	c->regs.rsi = e->rsi;
}

/* The state after INIT and a STARTUP IPI with `vector` (SDM vol. 3A, table 9-1 and 8.4.4.2:
 * real mode at CS:IP = vector << 8 : 0), run directly thanks to unrestricted guest. */
void vmx_vcpu_set_startup_state(struct cpu *c, uint8_t vector)
{
	struct vmx_cpu *x = cpu_vmx(c);
	set_segment(SEG_CS, (uint16_t)(vector << 8), AR_CODE16, 0xFFFF, (uint64_t)vector << 12);
	set_segment(SEG_DS, 0, AR_DATA16, 0xFFFF, 0);
	set_segment(SEG_ES, 0, AR_DATA16, 0xFFFF, 0);
	set_segment(SEG_SS, 0, AR_DATA16, 0xFFFF, 0);
	set_segment(SEG_FS, 0, AR_DATA16, 0xFFFF, 0);
	set_segment(SEG_GS, 0, AR_DATA16, 0xFFFF, 0);
	/* TR: table 9-1 gives only "present, R/W"; VM entry takes type 3 or 11 outside IA-32e
	 * mode (26.3.1.2). Type 11 (busy 32-bit TSS), as Bochs's own reset and KVM use: Bochs
	 * refuses to activate long mode with a 16-bit TSS in TR (#GP on the MOV to CR0, seen as
	 * a triple fault in Linux's AP trampoline), and the guest reloads TR before using it. */
	set_segment(VMX_SEG_TR, 0, AR_TSS32_BUSY, 0xFFFF, 0);
	set_segment(VMX_SEG_LDTR, 0, AR_LDT, 0xFFFF, 0);
	vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xFFFF);
	vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xFFFF);
	set_cr0(x, CR0_ET | CR0_CD | CR0_NW);
	__asm__ volatile("mov %0, %%cr2" : : "r"(0ull));
	vmwrite(VMCS_GUEST_CR3, 0);
	set_cr4(x, 0);
	vmx_set_guest_efer(c, 0);
	vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED1);
	vmwrite(VMCS_GUEST_RIP, 0);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	if (x->entry_controls & ENTRY_LOAD_PAT)
		vmwrite(VMCS_GUEST_PAT, PAT_POWER_ON);
	vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_ACTIVITY_STATE, 0);
	vmwrite(VMCS_GUEST_PENDING_DEBUG, 0);
	memset(&c->regs, 0, sizeof(c->regs));
	/* EDX after INIT holds the processor signature (CPUID.1:EAX). */
	c->regs.rdx = cpuid(1, 0).eax;
	c->regs.rsp = 0;
}

/* The firmware ran with caches on: the boot sector gets CR0 = ET, not the INIT value. */
void vmx_vcpu_set_boot_sector_entry(struct cpu *c, uint16_t ip, uint8_t drive)
{
	vmx_vcpu_set_startup_state(c, 0);
	set_cr0(cpu_vmx(c), CR0_ET);
	vmwrite(VMCS_GUEST_RIP, ip);
	c->regs.rsp = ip;
	c->regs.rdx = drive;
}
