/*
 * hypercall.c - the hypercall ABI (docs/hypercall.md). Every input is untrusted: unknown
 * functions and bad arguments return an error code and change nothing; nothing here blocks.
 * Who may call is decided before this code runs (include/hypercall.h): the CPU's own I/O
 * permission check for the port, CPL 0 for VMMCALL/VMCALL.
 */
#include "hypercall.h"
#include "guest_time.h"
#include "io_hooks.h"
#include "log.h"
#include "x86.h"

bool hypercall_handle(struct hypercall_regs *r)
{
	if ((r->rax & HYPERCALL_MAGIC_MASK) != HYPERCALL_MAGIC)
		return false;
	uint32_t function = (uint32_t)r->rax;
	struct vtime_state s;
	switch (function) {
	case HYPERCALL_PROBE:
		r->rax = HYPERCALL_OK;
		r->rbx = HYPERCALL_ABI_VERSION;
		return true;
	case HYPERCALL_STATUS:
		guest_time_state(&s);
		r->rax = HYPERCALL_OK;
		r->rbx = s.armed ? s.p : s.pending_p;
		r->rcx = s.armed ? s.q : s.pending_q;
		r->rdx = s.armed ? HYPERCALL_STATUS_ARMED : 0;
		return true;
	case HYPERCALL_SET_SPEED:
		r->rax = guest_time_set_speed(r->rbx, r->rcx, "hypercall", FROM_GUEST) ? (uint64_t)HYPERCALL_EINVAL
									   : HYPERCALL_OK;
		return true;
	case HYPERCALL_MARK: {
		uint64_t real = rdtsc();
		hv_log_mark("mark %lu cpu %u real %lu virtual %lu", r->rbx, r->cpu, real,
			    guest_time_read(r->cpu, real));
		r->rax = HYPERCALL_OK;
		return true;
	}
	case HYPERCALL_ARM:
		r->rax = guest_time_arm("hypercall", FROM_GUEST) ? (uint64_t)HYPERCALL_EINVAL : HYPERCALL_OK;
		return true;
	default:
		r->rax = (uint64_t)HYPERCALL_EUNKNOWN;
		return true;
	}
}

/* The port channel: a 32-bit OUT whose RAX carries the magic is a hypercall with the
 * guest's registers; anything else at these ports is an empty ISA port (reads all ones,
 * writes ignored), also what the same code sees on a machine without tsx-hv. */
static void port_out(struct cpu *c, uint16_t port, unsigned size, uint32_t value, bool string)
{
	(void)value;
	if (port != HYPERCALL_IO_PORT || size != 4 || string)
		return;
	struct hypercall_regs r = { c->index, c->regs.rax, c->regs.rbx, c->regs.rcx, c->regs.rdx };
	if (!hypercall_handle(&r))
		return;
	c->stats.count[EXIT_KIND_HYPERCALL]++;
	c->regs.rax = r.rax;
	c->regs.rbx = r.rbx;
	c->regs.rcx = r.rcx;
	c->regs.rdx = r.rdx;
}

static uint32_t port_in(struct cpu *c, uint16_t port, unsigned size, bool string)
{
	(void)c;
	(void)port;
	(void)size;
	(void)string;
	return 0xFFFFFFFFu;
}

void hypercall_port_init(void)
{
	struct io_hook hook = { HYPERCALL_IO_PORT, HYPERCALL_IO_PORT_COUNT, port_in, port_out };
	io_hook_register(&hook);
}
