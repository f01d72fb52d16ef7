/*
 * hypercall.c - the hypercall ABI (docs/hypercall.md). Every input is untrusted: unknown
 * functions and bad arguments return an error code and change nothing; nothing here blocks.
 * VMMCALL exits at every privilege level, so the guest agent calls it from user space; the
 * guest OS decides who may run the agent (root in the test guest).
 */
#include "hypercall.h"
#include "guest_time.h"

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
		r->rax = guest_time_set_speed(r->rbx, r->rcx, "hypercall") ? (uint64_t)HYPERCALL_EINVAL
									   : HYPERCALL_OK;
		return true;
	case HYPERCALL_ARM:
		r->rax = guest_time_arm("hypercall") ? (uint64_t)HYPERCALL_EINVAL : HYPERCALL_OK;
		return true;
	default:
		r->rax = (uint64_t)HYPERCALL_EUNKNOWN;
		return true;
	}
}
