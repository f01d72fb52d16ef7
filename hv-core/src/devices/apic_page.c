/*
 * apic_page.c - the trapped xAPIC page (include/apic_page.h). The page is not accessible to
 * the guest in the nested page tables: every access exits with a nested page fault; the
 * instruction is decoded (there is no decode assist under QEMU TCG) and emulated against the
 * real APIC through the hypervisor's own mapping, so the guest sees exactly the effect its
 * access has on bare metal - except for INIT and STARTUP IPIs, which apic_ipi.c emulates,
 * and the timer registers (LVT timer, initial and current count, divide configuration),
 * which are the guest's virtual timer (lapic_timer.c).
 */
#include "apic_page.h"
#include "guest_memory.h"
#include "insn_exit.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "log.h"
#include "mmio_decode.h"
#include "phys_window.h"
#include "vcpu.h"
#include "x86.h"

static volatile uint64_t trapped_page = ~0ull;

void apic_page_init(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;
	if (vcpu_npt_set_access(base, NPT_ACCESS_NONE))
		hv_panic("cannot trap the local APIC page at %lx", base);
	trapped_page = base;
	hv_log("local APIC page %lx: guest accesses trapped (IPI and timer emulation)", base);
}

void apic_page_moved(uint64_t new_base)
{
	uint64_t old = trapped_page;
	new_base &= APIC_BASE_ADDR_MASK;
	if (new_base == old)
		return;
	/* Another CPU's APIC may still live at the old page; Linux moves none. The newest
	 * base is the one trapped. */
	if (old != ~0ull)
		vcpu_npt_set_access(old, NPT_ACCESS_RW);
	if (vcpu_npt_set_access(new_base, NPT_ACCESS_NONE) == 0)
		trapped_page = new_base;
	else
		trapped_page = ~0ull;
	hv_log_guest("local APIC moved to %lx", new_base);
}

bool apic_page_contains(uint64_t gpa)
{
	return (gpa & APIC_BASE_ADDR_MASK) == trapped_page;
}

/* The register file in ModRM encoding order (mmio_decode.h) and back. */
static void regs_to_array(const struct guest_regs *r, uint64_t a[MMIO_GPR_COUNT])
{
	a[MMIO_GPR_RAX] = r->rax; a[MMIO_GPR_RCX] = r->rcx; a[MMIO_GPR_RDX] = r->rdx;
	a[MMIO_GPR_RBX] = r->rbx; a[MMIO_GPR_RSP] = r->rsp; a[MMIO_GPR_RBP] = r->rbp;
	a[MMIO_GPR_RSI] = r->rsi; a[MMIO_GPR_RDI] = r->rdi; a[MMIO_GPR_R8] = r->r8;
	a[MMIO_GPR_R9] = r->r9; a[MMIO_GPR_R10] = r->r10; a[MMIO_GPR_R11] = r->r11;
	a[MMIO_GPR_R12] = r->r12; a[MMIO_GPR_R13] = r->r13; a[MMIO_GPR_R14] = r->r14;
	a[MMIO_GPR_R15] = r->r15;
}

static void array_to_regs(const uint64_t a[MMIO_GPR_COUNT], struct guest_regs *r)
{
	r->rax = a[MMIO_GPR_RAX]; r->rcx = a[MMIO_GPR_RCX]; r->rdx = a[MMIO_GPR_RDX];
	r->rbx = a[MMIO_GPR_RBX]; r->rsp = a[MMIO_GPR_RSP]; r->rbp = a[MMIO_GPR_RBP];
	r->rsi = a[MMIO_GPR_RSI]; r->rdi = a[MMIO_GPR_RDI]; r->r8 = a[MMIO_GPR_R8];
	r->r9 = a[MMIO_GPR_R9]; r->r10 = a[MMIO_GPR_R10]; r->r11 = a[MMIO_GPR_R11];
	r->r12 = a[MMIO_GPR_R12]; r->r13 = a[MMIO_GPR_R13]; r->r14 = a[MMIO_GPR_R14];
	r->r15 = a[MMIO_GPR_R15];
}

/* Raw access to the real APIC page at the guest's address, any size (registers are 32 bits
 * at 16-byte strides; other sizes behave as the hardware makes them). */
static uint64_t real_read(struct cpu *c, uint64_t gpa, unsigned size)
{
	volatile uint8_t *p = phys_window_map(c->index, PHYS_SLOT_APIC, gpa, 1);
	switch (size) {
	case 1: return *p;
	case 2: return *(volatile uint16_t *)p;
	case 4: return *(volatile uint32_t *)p;
	default: return *(volatile uint64_t *)p;
	}
}

static void real_write(struct cpu *c, uint64_t gpa, unsigned size, uint64_t value)
{
	volatile uint8_t *p = phys_window_map(c->index, PHYS_SLOT_APIC, gpa, 1);
	switch (size) {
	case 1: *p = (uint8_t)value; break;
	case 2: *(volatile uint16_t *)p = (uint16_t)value; break;
	case 4: *(volatile uint32_t *)p = (uint32_t)value; break;
	default: *(volatile uint64_t *)p = value; break;
	}
}

/* The timer's registers are 32 bits at 16-byte-aligned offsets; in x2APIC mode the page is
 * not the APIC's any more and goes to the hardware as it is. */
static bool timer_register(uint64_t gpa, unsigned size)
{
	return size == 4 && (gpa & 0xF) == 0 && !lapic_x2apic_mode();
}

static uint64_t register_read(struct cpu *c, uint64_t gpa, unsigned size)
{
	uint32_t value;
	if (timer_register(gpa, size) && lapic_timer_read(c, (unsigned)(gpa & 0xFFF), &value))
		return value;
	return real_read(c, gpa, size);
}

static void xapic_eoi(struct cpu *c)
{
	lapic_write(c, LAPIC_EOI, 0);
}

static void register_write(struct cpu *c, uint64_t gpa, unsigned size, uint64_t value)
{
	unsigned offset = (unsigned)(gpa & 0xFFF);
	if (timer_register(gpa, size) && lapic_timer_write(c, offset, (uint32_t)value))
		return;
	if (timer_register(gpa, size) && offset == LAPIC_EOI) {
		lapic_timer_eoi(c, xapic_eoi); /* the value written is ignored (SDM 10.8.5) */
		return;
	}
	if (offset == LAPIC_ICR_HIGH && size == 4) {
		c->guest_icr_high = (uint32_t)value;
		real_write(c, gpa, size, value);
	} else if (offset == LAPIC_ICR_LOW && size == 4) {
		apic_ipi_guest_icr(c, (uint32_t)value, c->guest_icr_high >> 24, false);
	} else {
		real_write(c, gpa, size, value);
	}
}

void apic_page_access(struct cpu *c, uint64_t gpa)
{
	uint8_t bytes[INSN_MAX_LENGTH];
	unsigned n = guest_fetch_instruction(c, bytes);
	struct mmio_insn in;
	switch (mmio_decode(bytes, n, vcpu_code_bits(c), &in)) {
	case MMIO_OK:
		break;
	case MMIO_TOO_LONG:
		vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		return;
	case MMIO_TRUNCATED:
		return; /* the code changed under us: re-execute */
	case MMIO_UNSUPPORTED:
		/* An access to the APIC by an instruction other than MOV/XCHG (string, SSE/AVX,
		 * arithmetic on memory ...): no real kernel does this; it gets #GP rather than an
		 * unchecked access behind the hypervisor's back. */
		hv_log_guest("cpu %u: unsupported access to the local APIC page at %lx (rip %lx): #GP",
			     c->index, gpa, vcpu_rip(c));
		vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		return;
	}
	if (mmio_lock_faults(&in)) {
		vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
		return;
	}
	uint64_t regs[MMIO_GPR_COUNT];
	regs_to_array(&c->regs, regs);
	switch (in.op) {
	case MMIO_STORE:
		register_write(c, gpa, in.size, mmio_store_value(&in, regs));
		break;
	case MMIO_LOAD:
		mmio_apply_load(&in, regs, register_read(c, gpa, in.size));
		break;
	case MMIO_XCHG: {
		uint64_t old = register_read(c, gpa, in.size);
		register_write(c, gpa, in.size, mmio_store_value(&in, regs));
		mmio_apply_load(&in, regs, old);
		break;
	}
	}
	array_to_regs(regs, &c->regs);
	vcpu_skip_instruction(c, in.length);
	insn_exit_done(c);
}
