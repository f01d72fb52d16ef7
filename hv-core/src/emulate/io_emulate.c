/*
 * io_emulate.c - IN/OUT/INS/OUTS that touch hooked ports (include/io_emulate.h).
 * Intel SDM vol. 2A/2B: IN, INS, OUT, OUTS, REP; vol. 1, 3.3.7 (address sizes), 3.4.1.1
 * (32-bit results zero-extend in 64-bit mode); vol. 3A, 5.3 (segment limit checks).
 */
#include "io_emulate.h"
#include "guest_memory.h"
#include "hvlib.h"
#include "insn_exit.h"
#include "io_hooks.h"
#include "vcpu.h"
#include "x86.h"

/* REP INS/OUTS iterations per exit; the rest continue when the guest re-executes the
 * instruction, as after an interrupt (SDM vol. 2B, REP: "the instruction is restartable"). */
#define REP_ITERATIONS_PER_EXIT 256u
#define SEG_TYPE_EXPAND_DOWN (1u << 2) /* data segment type bit 2 */
#define SEG_TYPE_WRITABLE (1u << 1)    /* data segment type bit 1 */
#define SEG_TYPE_CODE (1u << 3)
#define SEG_TYPE_READABLE (1u << 1)    /* code segment type bit 1 */
#define CR0_PE (1ull << 0)

static uint32_t real_in(uint16_t port, unsigned size)
{
	return size == 4 ? inl(port) : size == 2 ? inw(port) : inb(port);
}

static void real_out(uint16_t port, unsigned size, uint32_t value)
{
	if (size == 4)
		outl(port, value);
	else if (size == 2)
		outw(port, (uint16_t)value);
	else
		outb(port, (uint8_t)value);
}

static bool inside(const struct io_hook *h, uint16_t port, unsigned size)
{
	return port >= h->base && (uint32_t)port + size <= (uint32_t)h->base + h->count;
}

uint32_t io_port_read(struct cpu *c, uint16_t port, unsigned size, bool string)
{
	const struct io_hook *h = io_hook_find(port);
	if (h && inside(h, port, size))
		return h->in(c, port, size, string);
	bool any_hooked = false;
	for (unsigned i = 0; i < size; i++)
		any_hooked |= io_hook_find((uint16_t)(port + i)) != NULL;
	if (!any_hooked)
		return real_in(port, size);
	/* Part hooked, part not: byte by byte, each byte from its owner. */
	uint32_t value = 0;
	for (unsigned i = 0; i < size; i++) {
		uint16_t p = (uint16_t)(port + i);
		const struct io_hook *b = io_hook_find(p);
		uint32_t byte = b ? b->in(c, p, 1, string) : inb(p);
		value |= (byte & 0xFF) << (8 * i);
	}
	return value;
}

void io_port_write(struct cpu *c, uint16_t port, unsigned size, uint32_t value, bool string)
{
	const struct io_hook *h = io_hook_find(port);
	if (h && inside(h, port, size)) {
		h->out(c, port, size, value, string);
		return;
	}
	bool any_hooked = false;
	for (unsigned i = 0; i < size; i++)
		any_hooked |= io_hook_find((uint16_t)(port + i)) != NULL;
	if (!any_hooked) {
		real_out(port, size, value);
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		uint16_t p = (uint16_t)(port + i);
		const struct io_hook *b = io_hook_find(p);
		uint8_t byte = (uint8_t)(value >> (8 * i));
		if (b)
			b->out(c, p, 1, byte, string);
		else
			outb(p, byte);
	}
}

static uint64_t size_mask(unsigned size)
{
	return size == 4 ? 0xFFFFFFFFull : size == 2 ? 0xFFFFull : 0xFFull;
}

/* IN writes AL/AX/EAX; a 32-bit destination zero-extends into RAX (SDM vol. 1, 3.4.1.1). */
static void in_to_rax(struct cpu *c, unsigned size, uint32_t value)
{
	if (size == 4)
		c->regs.rax = value;
	else
		c->regs.rax = (c->regs.rax & ~size_mask(size)) | (value & size_mask(size));
}

/* Register update in the instruction's address size: 16-bit writes keep bits 63:16; 32-bit
 * writes zero-extend in 64-bit mode. */
static uint64_t addr_reg(uint64_t old, uint64_t value, unsigned address_bits)
{
	if (address_bits == 64)
		return value;
	if (address_bits == 32)
		return (uint32_t)value;
	return (old & ~0xFFFFull) | (value & 0xFFFF);
}

static uint64_t addr_mask(unsigned address_bits)
{
	return address_bits == 64 ? ~0ull : address_bits == 32 ? 0xFFFFFFFFull : 0xFFFFull;
}

static bool canonical(uint64_t la, unsigned bits)
{
	int64_t s = (int64_t)(la << (64 - bits)) >> (64 - bits);
	return (uint64_t)s == la;
}

static void segment_fault(struct cpu *c, enum x86_segment seg)
{
	vcpu_inject_exception(c, seg == SEG_SS ? X86_VECTOR_SS : X86_VECTOR_GP, true, 0);
}

/* The linear address of seg:offset for an access of `size` bytes, or false with #GP/#SS
 * injected (SDM vol. 3A, 5.3 limit checking; 3.3.7.1 canonical addresses). */
static bool linear_address(struct cpu *c, enum x86_segment seg, uint64_t offset, unsigned size,
			   bool write, uint64_t *linear)
{
	struct vcpu_segment s;
	vcpu_get_segment(c, seg, &s);
	unsigned code_bits = vcpu_code_bits(c);
	if (code_bits == 64) {
		uint64_t base = (seg == SEG_FS || seg == SEG_GS) ? s.base : 0;
		struct paging_state p;
		vcpu_paging_state(c, &p);
		unsigned va_bits = (p.cr4 & (1ull << 12)) ? 57 : 48; /* CR4.LA57 */
		uint64_t la = base + offset;
		if (!canonical(la, va_bits) || !canonical(la + size - 1, va_bits)) {
			segment_fault(c, seg);
			return false;
		}
		*linear = la;
		return true;
	}
	struct paging_state p;
	vcpu_paging_state(c, &p);
	bool protected_mode = (p.cr0 & CR0_PE) && !(vcpu_rflags(c) & RFLAGS_VM);
	if (protected_mode && !s.present) {
		segment_fault(c, seg); /* a null or not-present segment (SDM vol. 3A, 5.4.1) */
		return false;
	}
	if (protected_mode && s.s) {
		bool code = s.type & SEG_TYPE_CODE;
		if ((write && (code || !(s.type & SEG_TYPE_WRITABLE))) ||
		    (!write && code && !(s.type & SEG_TYPE_READABLE))) {
			segment_fault(c, seg);
			return false;
		}
	}
	uint64_t last = offset + size - 1;
	bool expand_down = s.s && !(s.type & SEG_TYPE_CODE) && (s.type & SEG_TYPE_EXPAND_DOWN);
	uint64_t upper = s.db ? 0xFFFFFFFFull : 0xFFFFull;
	bool ok = expand_down ? (offset > s.limit && last <= upper) : last <= s.limit;
	if (!ok) {
		segment_fault(c, seg);
		return false;
	}
	*linear = (uint32_t)(s.base + offset);
	return true;
}

static void inject_access_fault(struct cpu *c, enum guest_access_status st, const struct guest_fault *f)
{
	if (st == GUEST_ACCESS_PAGE_FAULT)
		vcpu_inject_page_fault(c, f->linear, f->pf_error);
	else
		vcpu_inject_exception(c, X86_VECTOR_GP, true, 0); /* a walk beyond physical memory */
}

/* INS/OUTS: up to REP_ITERATIONS_PER_EXIT elements, each completed (memory and RSI/RDI/RCX)
 * before the next, so a fault leaves the registers at the faulting element as the CPU does. */
static void string_io(struct cpu *c, const struct io_exit *x)
{
	struct insn in;
	if (!insn_exit_decode(c, x->in ? INSN_INS : INSN_OUTS, INSN_OTHER, &in))
		return;
	insn_exit_done(c);
	unsigned abits = in.address_bits;
	uint64_t mask = addr_mask(abits);
	unsigned cpl = vcpu_cpl(c);
	bool down = vcpu_rflags(c) & RFLAGS_DF;
	/* Single-stepping traps after every iteration of a REP string (SDM vol. 3B, 17.3.1.4). */
	bool single_step = vcpu_rflags(c) & RFLAGS_TF;
	unsigned batch = single_step ? 1 : REP_ITERATIONS_PER_EXIT;
	/* INS always writes ES:rDI; OUTS reads DS:rSI or its override (SDM vol. 2A, INS/OUTS). */
	enum x86_segment seg = x->in ? SEG_ES : (in.segment != SEG_NONE ? in.segment : SEG_DS);
	uint64_t *index = x->in ? &c->regs.rdi : &c->regs.rsi;
	for (unsigned n = 0; n < batch; n++) {
		if (x->rep && (c->regs.rcx & mask) == 0)
			break;
		uint64_t offset = *index & mask, linear;
		if (!linear_address(c, seg, offset, x->size, x->in, &linear))
			return;
		struct guest_fault f;
		enum guest_access_status st;
		uint32_t value = 0;
		if (x->in) {
			/* Check the destination before reading the port, so a fault loses no data. */
			uint8_t probe;
			st = guest_linear_read(c, linear, &probe, 1, WALK_WRITE, cpl, &f);
			/* An element straddling a page: the second page is checked at its first
			 * byte, which is the address a #PF reports (CR2). */
			if (st == GUEST_ACCESS_OK && ((linear & 0xFFF) + x->size > 0x1000))
				st = guest_linear_read(c, (linear | 0xFFF) + 1, &probe, 1, WALK_WRITE, cpl, &f);
			if (st == GUEST_ACCESS_OK) {
				value = io_port_read(c, x->port, x->size, true);
				st = guest_linear_write(c, linear, &value, x->size, cpl, &f);
			}
		} else {
			st = guest_linear_read(c, linear, &value, x->size, WALK_READ, cpl, &f);
			if (st == GUEST_ACCESS_OK)
				io_port_write(c, x->port, x->size, value, true);
		}
		if (st != GUEST_ACCESS_OK) {
			inject_access_fault(c, st, &f);
			return;
		}
		uint64_t step = down ? (uint64_t)-(int64_t)x->size : x->size;
		*index = addr_reg(*index, *index + step, abits);
		if (!x->rep)
			break;
		c->regs.rcx = addr_reg(c->regs.rcx, c->regs.rcx - 1, abits);
	}
	if (!x->rep || (c->regs.rcx & mask) == 0)
		vcpu_set_rip(c, x->next_rip);
	else if (single_step)
		vcpu_inject_single_step(c);
}

void io_emulate(struct cpu *c, const struct io_exit *x)
{
	if (x->string) {
		string_io(c, x);
		return;
	}
	if (x->in)
		in_to_rax(c, x->size, io_port_read(c, x->port, x->size, false));
	else
		io_port_write(c, x->port, x->size, (uint32_t)(c->regs.rax & size_mask(x->size)), false);
	vcpu_set_rip(c, x->next_rip);
}
