/*
 * exceptions.c - host IDT: every CPU exception in the hypervisor is a panic with the
 * faulting state, except the #GP of rdmsr_safe/wrmsr_safe, which resumes at its fixup.
 */
#include "boot.h"
#include "cpu.h"
#include "hvlib.h"
#include "log.h"

#define X86_VECTOR_NMI 2
#define X86_VECTOR_GP 13
#define RFLAGS_IF_BIT (1ull << 9)
#define IDT_GATE_INTERRUPT64 0x8E /* present, DPL 0, 64-bit interrupt gate */

struct exception_frame {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct exception_frame) == 22 * 8, "frame matches exceptions.S");

struct idt_gate {
	uint16_t offset_low, selector;
	uint8_t ist, type;
	uint16_t offset_mid;
	uint32_t offset_high, reserved;
} __attribute__((packed));

extern const uint64_t exception_vectors[256];
extern const char rdmsr_safe_insn[], rdmsr_safe_fixup[], wrmsr_safe_insn[], wrmsr_safe_fixup[];
extern const char host_irq_resume_hlt[], host_irq_resume_nop[];

static struct idt_gate idt[256] __attribute__((aligned(16)));

void hv_exception(struct exception_frame *f);
void hv_exception(struct exception_frame *f)
{
	if (f->vector == X86_VECTOR_GP && f->rip == (uint64_t)rdmsr_safe_insn) {
		f->rip = (uint64_t)rdmsr_safe_fixup;
		return;
	}
	if (f->vector == X86_VECTOR_GP && f->rip == (uint64_t)wrmsr_safe_insn) {
		f->rip = (uint64_t)wrmsr_safe_fixup;
		return;
	}
	/* An NMI in host context (GIF is open only for an SMI or NMI exit and in the idle halt)
	 * is either the hypervisor's own kick (lapic_timer.c) or the guest's: that one is
	 * injected at the next VMRUN. */
	if (f->vector == X86_VECTOR_NMI) {
		struct cpu *c = this_cpu();
		if (!__atomic_exchange_n(&c->kick, 0, __ATOMIC_SEQ_CST))
			__atomic_store_n(&c->nmi_for_guest, 1, __ATOMIC_SEQ_CST);
		return;
	}
	/* An interrupt: only the idle halt opens interrupts (idle.c). The vector is recorded for
	 * it and the handler returns with RFLAGS.IF clear, so exactly one is taken per halt.
	 * Below 32 it is an interrupt only when it arrived in one of the windows (a PIC still
	 * on the BIOS's vectors 8-15: exceptions.S); elsewhere it is an exception. */
	bool in_window = f->rip == (uint64_t)host_irq_resume_hlt || f->rip == (uint64_t)host_irq_resume_nop;
	if ((f->vector >= 32 && f->vector < 256) || in_window) {
		__atomic_store_n(&this_cpu()->host_vector, 0x100u | (uint32_t)f->vector, __ATOMIC_SEQ_CST);
		f->rflags &= ~RFLAGS_IF_BIT;
		return;
	}
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	hv_panic("hypervisor exception %lu error=%lx rip=%lx rsp=%lx cr2=%lx rax=%lx rbx=%lx "
		 "rcx=%lx rdx=%lx rsi=%lx rdi=%lx",
		 f->vector, f->error, f->rip, f->rsp, cr2, f->rax, f->rbx, f->rcx, f->rdx, f->rsi,
		 f->rdi);
}

void exceptions_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t a = exception_vectors[i];
		idt[i] = (struct idt_gate){
			.offset_low = (uint16_t)a,
			.selector = BOOT_CS,
			.type = IDT_GATE_INTERRUPT64,
			.offset_mid = (uint16_t)(a >> 16),
			.offset_high = (uint32_t)(a >> 32),
		};
	}
	exceptions_load();
}

void exceptions_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
