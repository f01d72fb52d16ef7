/*
 * vcpu.c - the vendor interface (include/vcpu.h) on SVM: RIP, event injection, guest
 * register entry state, segments and paging state for the generic emulation (src/emulate).
 */
#include "boot.h"
#include "svm.h"
#include "hvlib.h"
#include "page_alloc.h"
#include "vcpu.h"
#include "x86.h"

#define CPUID_SVM_NRIPS (1u << 3) /* CPUID 0x8000000A EDX: next_rip is saved */
#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define RFLAGS_RESERVED1 (1ull << 1)
#define DR6_BS (1ull << 14)
/* VMCB segment attributes (compressed format, APM vol. 2, 15.5.1). */
#define SEG_CODE64 0x029B /* P, S, type 0xB (execute/read, accessed), L */
#define SEG_DATA32 0x0C93 /* P, S, type 0x3 (read/write, accessed), DB, G */
#define SEG_TSS64_BUSY 0x008B
#define SEG_LDT 0x0082
#define CR0_NW_CD_RESET ((1ull << 29) | (1ull << 30)) /* CD and NW are set after INIT */

static int nrip_save = -1;

uint64_t svm_vcpu_rip(struct cpu *c)
{
	return cpu_vmcb(c)->save.rip;
}

void svm_vcpu_set_rip(struct cpu *c, uint64_t rip)
{
	struct vmcb *v = cpu_vmcb(c);
	v->save.rip = rip;
	/* An emulated instruction ends a MOV SS/STI interrupt shadow as executing it would
	 * (APM vol. 2, 15.21.5 "Interrupt Shadows"). */
	v->control.interrupt_shadow &= ~SVM_INTERRUPT_SHADOW;
	/* With RFLAGS.TF set, the completed instruction ends in a single-step trap: #DB with
	 * DR6.BS, RIP after the instruction (SDM vol. 3B, 17.3.1.4 "Single-Step Exception
	 * Condition"); the CPU would have raised it had it executed the instruction itself. */
	if (v->save.rflags & RFLAGS_TF)
		svm_vcpu_inject_single_step(c);
}

void svm_vcpu_inject_single_step(struct cpu *c)
{
	cpu_vmcb(c)->save.dr6 |= DR6_BS;
	svm_vcpu_inject_exception(c, X86_VECTOR_DB, false, 0);
}

uint64_t svm_vcpu_rflags(struct cpu *c)
{
	return cpu_vmcb(c)->save.rflags;
}

/* The VMCB's CPL field is the guest's CPL (APM vol. 2, 15.5.1: SS.DPL in protected mode,
 * 0 in real mode, 3 in virtual-8086 mode). */
unsigned svm_vcpu_cpl(struct cpu *c)
{
	return cpu_vmcb(c)->save.cpl & 3;
}

static const struct vmcb_segment *segment(struct vmcb_save *s, enum x86_segment seg)
{
	switch (seg) {
	case SEG_ES: return &s->es;
	case SEG_CS: return &s->cs;
	case SEG_SS: return &s->ss;
	case SEG_FS: return &s->fs;
	case SEG_GS: return &s->gs;
	default: return &s->ds;
	}
}

/* VMCB segment attributes are the descriptor's attribute bits compressed into 12 bits:
 * type[3:0] S[4] DPL[6:5] P[7] AVL[8] L[9] DB[10] G[11] (APM vol. 2, 15.5.1). */
void svm_vcpu_get_segment(struct cpu *c, enum x86_segment seg, struct vcpu_segment *out)
{
	const struct vmcb_segment *v = segment(&cpu_vmcb(c)->save, seg);
	out->base = v->base;
	out->limit = v->limit;
	out->selector = v->selector;
	out->type = v->attrib & 0xF;
	out->s = v->attrib & (1u << 4);
	out->dpl = (v->attrib >> 5) & 3;
	out->present = v->attrib & (1u << 7);
	out->l = v->attrib & (1u << 9);
	out->db = v->attrib & (1u << 10);
	out->g = v->attrib & (1u << 11);
}

unsigned svm_vcpu_code_bits(struct cpu *c)
{
	struct vmcb_save *s = &cpu_vmcb(c)->save;
	if (!(s->cr0 & CR0_PE) || (s->rflags & RFLAGS_VM))
		return 16;
	if ((s->efer & EFER_LMA) && (s->cs.attrib & (1u << 9)))
		return 64;
	return s->cs.attrib & (1u << 10) ? 32 : 16;
}

void svm_vcpu_paging_state(struct cpu *c, struct paging_state *p)
{
	struct vmcb_save *s = &cpu_vmcb(c)->save;
	p->cr0 = s->cr0;
	p->cr3 = s->cr3;
	p->cr4 = s->cr4;
	p->efer = s->efer;
	p->rflags_ac = s->rflags & RFLAGS_AC;
}

/* VMRUN requires EFER.SVME = 1 in the guest state (APM vol. 2, 15.5.1), but SVM is hidden
 * from the guest: the guest reads EFER without SVME and its writes keep it set. */
uint64_t svm_vcpu_efer(struct cpu *c)
{
	return cpu_vmcb(c)->save.efer & ~EFER_SVME;
}

void svm_vcpu_set_efer(struct cpu *c, uint64_t efer)
{
	cpu_vmcb(c)->save.efer = efer | EFER_SVME;
}

static bool has_next_rip(struct vmcb *v)
{
	if (nrip_save < 0)
		nrip_save = (cpuid(0x8000000A, 0).edx & CPUID_SVM_NRIPS) != 0;
	return nrip_save && v->control.next_rip;
}

bool svm_vcpu_exit_insn_length(struct cpu *c, unsigned *length)
{
	struct vmcb *v = cpu_vmcb(c);
	if (!has_next_rip(v) || v->control.next_rip <= v->save.rip ||
	    v->control.next_rip - v->save.rip > INSN_MAX_LENGTH)
		return false;
	*length = (unsigned)(v->control.next_rip - v->save.rip);
	return true;
}

void svm_vcpu_skip_instruction(struct cpu *c, unsigned length)
{
	struct vmcb *v = cpu_vmcb(c);
	/* QEMU TCG does not save next_rip (PLATFORM-FACTS.md): use the decoded length there. */
	if (has_next_rip(v))
		v->save.rip = v->control.next_rip;
	else
		v->save.rip += length;
	/* Outside 64-bit code RIP wraps at the operand size (EIP, or IP in 16-bit code). */
	unsigned bits = svm_vcpu_code_bits(c);
	if (bits == 32)
		v->save.rip = (uint32_t)v->save.rip;
	else if (bits == 16)
		v->save.rip &= 0xFFFF;
	svm_vcpu_set_rip(c, v->save.rip);
}

void svm_vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error)
{
	uint64_t e = SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION | vector;
	if (has_error)
		e |= SVM_EVENT_ERROR_VALID | ((uint64_t)error << 32);
	cpu_vmcb(c)->control.event_inject = e;
	c->stats.injected++;
}

bool svm_vcpu_inject_interrupt(struct cpu *c, uint8_t vector)
{
	struct vmcb *v = cpu_vmcb(c);
	if ((v->control.event_inject & SVM_EVENT_VALID) || !(v->save.rflags & RFLAGS_IF) ||
	    (v->control.interrupt_shadow & SVM_INTERRUPT_SHADOW))
		return false;
	/* Type 0: external interrupt (APM vol. 2, 15.20 "Event Injection"). */
	v->control.event_inject = SVM_EVENT_VALID | vector;
	return true;
}

/* GIF opens for the halt only: NMIs, SMIs and (with STI) interrupts are taken by the host's
 * IDT (exceptions.c), which records an interrupt's vector and returns with IF clear. STI's
 * one-instruction shadow covers HLT, so a wake-up requested before the halt is not lost. */
uint32_t svm_vcpu_host_halt(struct cpu *c)
{
	__atomic_store_n(&c->host_vector, 0, __ATOMIC_SEQ_CST);
	__asm__ volatile("stgi" : : : "memory");
	host_sti_hlt();
	__asm__ volatile("clgi" : : : "memory");
	return __atomic_exchange_n(&c->host_vector, 0, __ATOMIC_SEQ_CST);
}

uint32_t svm_vcpu_host_take_interrupt(struct cpu *c)
{
	__atomic_store_n(&c->host_vector, 0, __ATOMIC_SEQ_CST);
	__asm__ volatile("stgi" : : : "memory");
	host_sti_nop();
	__asm__ volatile("clgi" : : : "memory");
	return __atomic_exchange_n(&c->host_vector, 0, __ATOMIC_SEQ_CST);
}

/* EVENTINJ does not load CR2: the hypervisor sets it (APM vol. 2, 15.20). */
void svm_vcpu_inject_page_fault(struct cpu *c, uint64_t linear, uint32_t error)
{
	cpu_vmcb(c)->save.cr2 = linear;
	svm_vcpu_inject_exception(c, X86_VECTOR_PF, true, error);
}

static void set_segment(struct vmcb_segment *s, uint16_t sel, uint16_t attrib, uint32_t limit)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = limit;
	s->base = 0;
}

void svm_vcpu_set_long_mode_entry(struct cpu *c, const struct vcpu_long_mode_entry *e)
{
	struct vmcb_save *s = &cpu_vmcb(c)->save;
	set_segment(&s->cs, e->code_selector, SEG_CODE64, 0xFFFFFFFF);
	set_segment(&s->ds, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->es, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->ss, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->fs, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->gs, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->tr, e->tr_selector, SEG_TSS64_BUSY, e->tr_selector ? e->tr_limit : 0x67);
	s->tr.base = e->tr_base;
	set_segment(&s->ldtr, 0, SEG_LDT, 0);
	s->gdtr.base = e->gdt_base;
	s->gdtr.limit = e->gdt_limit;
	s->idtr.base = e->idt_base;
	s->idtr.limit = e->idt_limit;
	s->cpl = 0;
	s->cr0 = e->cr0 ? e->cr0 : CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	s->cr3 = e->cr3;
	s->cr4 = e->cr4 ? e->cr4 : CR4_PAE;
	/* VMRUN requires guest EFER.SVME = 1 */
	s->efer = EFER_LME | EFER_LMA | EFER_SVME | (e->efer_nxe & EFER_NXE);
	s->rflags = RFLAGS_RESERVED1;              /* interrupts off */
	s->rip = e->rip;
	c->regs.rsp = e->rsp;
	c->regs.rsi = e->rsi;
}

/* The state after INIT and a STARTUP IPI with `vector` (Intel SDM vol. 3A, table 9-1
 * "IA-32 and Intel 64 Processor States Following Power-up, Reset, or INIT", and 8.4.4.2: the
 * AP starts in real mode at CS:IP = vector << 8 : 0). SVM runs a real-mode guest directly
 * under nested paging (AMD APM vol. 2, 15.19 "Paged Real Mode"). */
void svm_vcpu_set_startup_state(struct cpu *c, uint8_t vector)
{
	struct vmcb *v = cpu_vmcb(c);
	struct vmcb_save *s = &v->save;
	const uint16_t data16 = 0x0093, code16 = 0x009B;
	set_segment(&s->cs, (uint16_t)(vector << 8), code16, 0xFFFF);
	s->cs.base = (uint64_t)vector << 12;
	set_segment(&s->ds, 0, data16, 0xFFFF);
	set_segment(&s->es, 0, data16, 0xFFFF);
	set_segment(&s->ss, 0, data16, 0xFFFF);
	set_segment(&s->fs, 0, data16, 0xFFFF);
	set_segment(&s->gs, 0, data16, 0xFFFF);
	set_segment(&s->tr, 0, SEG_TSS64_BUSY, 0xFFFF);
	set_segment(&s->ldtr, 0, SEG_LDT, 0xFFFF);
	s->gdtr.base = 0;
	s->gdtr.limit = 0xFFFF;
	s->idtr.base = 0;
	s->idtr.limit = 0xFFFF;
	s->cpl = 0;
	s->cr0 = CR0_ET | CR0_NW_CD_RESET;
	s->cr2 = 0;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = EFER_SVME; /* VMRUN requires it; the guest reads EFER without it */
	s->rflags = RFLAGS_RESERVED1;
	s->rip = 0;
	s->dr6 = 0xFFFF0FF0;
	s->dr7 = 0x400;
	s->g_pat = 0x0007040600070406ull;
	v->control.event_inject = 0;
	v->control.interrupt_shadow = 0;
	v->control.tlb_control = 1; /* flush: a new address space */
	memset(&c->regs, 0, sizeof(c->regs));
	/* EDX after INIT holds the processor signature (CPUID.1:EAX). */
	c->regs.rdx = cpuid(1, 0).eax;
	c->regs.rsp = 0;
}

/* The firmware ran with caches on: the boot sector gets CR0 = ET, not the INIT value. */
void svm_vcpu_set_boot_sector_entry(struct cpu *c, uint16_t ip, uint8_t drive)
{
	svm_vcpu_set_startup_state(c, 0);
	struct vmcb_save *s = &cpu_vmcb(c)->save;
	s->cr0 = CR0_ET;
	s->rip = ip;
	c->regs.rsp = ip;
	c->regs.rdx = drive;
}
