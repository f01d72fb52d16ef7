/*
 * vcpu.c - the vendor interface (include/vcpu.h) on SVM: RIP, event injection, guest
 * register entry state and guest-virtual memory reads through the guest's own page tables.
 */
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
#define RFLAGS_RESERVED1 (1ull << 1)
#define PTE_P 0x1ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000FFFFFFFFFF000ull
/* VMCB segment attributes (compressed format, APM vol. 2, 15.5.1). */
#define SEG_CODE64 0x029B /* P, S, type 0xB (execute/read, accessed), L */
#define SEG_DATA32 0x0C93 /* P, S, type 0x3 (read/write, accessed), DB, G */
#define SEG_TSS64_BUSY 0x008B
#define SEG_LDT 0x0082

static int nrip_save = -1;

uint64_t vcpu_rip(struct cpu *c)
{
	return cpu_vmcb(c)->save.rip;
}

void vcpu_skip_instruction(struct cpu *c, unsigned length)
{
	struct vmcb *v = cpu_vmcb(c);
	if (nrip_save < 0)
		nrip_save = (cpuid(0x8000000A, 0).edx & CPUID_SVM_NRIPS) != 0;
	/* QEMU TCG does not save next_rip (PLATFORM-FACTS.md): use the decoded length there. */
	if (nrip_save && v->control.next_rip)
		v->save.rip = v->control.next_rip;
	else
		v->save.rip += length;
}

void vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error)
{
	uint64_t e = SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION | vector;
	if (has_error)
		e |= SVM_EVENT_ERROR_VALID | ((uint64_t)error << 32);
	cpu_vmcb(c)->control.event_inject = e;
}

/* Guest-virtual -> guest-physical (= host-physical: nested paging is an identity map).
 * Long mode 4-level paging and paging-off are what a Linux guest uses; other modes fail. */
static int translate(struct vmcb *v, uint64_t va, uint64_t *pa)
{
	if (!(v->save.cr0 & CR0_PG)) {
		*pa = va;
		return 0;
	}
	if (!(v->save.efer & EFER_LMA))
		return -1;
	uint64_t table = v->save.cr3 & PTE_ADDR;
	for (int level = 3; level >= 0; level--) {
		uint64_t index = (va >> (12 + 9 * level)) & 0x1FF;
		if (table >= (4ull << 30))
			return -1;
		uint64_t e = ((const uint64_t *)phys_to_virt(table))[index];
		if (!(e & PTE_P))
			return -1;
		if (level > 0 && level < 3 && (e & PTE_PS)) {
			uint64_t page = 1ull << (12 + 9 * level);
			*pa = (e & PTE_ADDR & ~(page - 1)) | (va & (page - 1));
			return 0;
		}
		table = e & PTE_ADDR;
	}
	*pa = table | (va & 0xFFF);
	return 0;
}

int vcpu_read_virtual(struct cpu *c, uint64_t va, void *buf, size_t n)
{
	struct vmcb *v = cpu_vmcb(c);
	uint8_t *out = buf;
	for (size_t i = 0; i < n; i++) {
		uint64_t pa;
		if (translate(v, va + i, &pa) || pa >= (4ull << 30))
			return -1;
		out[i] = *(const uint8_t *)phys_to_virt(pa);
	}
	return 0;
}

static void set_segment(struct vmcb_segment *s, uint16_t sel, uint16_t attrib, uint32_t limit)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = limit;
	s->base = 0;
}

void vcpu_set_long_mode_entry(struct cpu *c, const struct vcpu_long_mode_entry *e)
{
	struct vmcb_save *s = &cpu_vmcb(c)->save;
	set_segment(&s->cs, e->code_selector, SEG_CODE64, 0xFFFFFFFF);
	set_segment(&s->ds, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->es, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->ss, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->fs, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->gs, e->data_selector, SEG_DATA32, 0xFFFFFFFF);
	set_segment(&s->tr, 0, SEG_TSS64_BUSY, 0x67);
	set_segment(&s->ldtr, 0, SEG_LDT, 0);
	s->gdtr.base = e->gdt_base;
	s->gdtr.limit = e->gdt_limit;
	s->idtr.base = 0;
	s->idtr.limit = 0;
	s->cpl = 0;
	s->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	s->cr3 = e->cr3;
	s->cr4 = CR4_PAE;
	s->efer = EFER_LME | EFER_LMA | EFER_SVME; /* VMRUN requires guest EFER.SVME = 1 */
	s->rflags = RFLAGS_RESERVED1;              /* interrupts off */
	s->rip = e->rip;
	c->regs.rsp = e->rsp;
	c->regs.rsi = e->rsi;
}
