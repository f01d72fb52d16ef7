/*
 * insn_exit.c - decoding the intercepted instruction at RIP (include/insn_exit.h).
 */
#include "insn_exit.h"
#include "guest_memory.h"
#include "log.h"
#include "vcpu.h"

/* Re-executions of one RIP in a row before the hypervisor gives up: the CPU exited for an
 * instruction that is not there, every time (a broken page walk, not a guest race). */
#define MAX_REEXECUTIONS 100000u

static void reexecute(struct cpu *c, const char *why, const uint8_t *bytes, unsigned n)
{
	uint64_t rip = vcpu_rip(c);
	if (c->reexec_rip == rip) {
		if (++c->reexec_count >= MAX_REEXECUTIONS)
			hv_panic("exit at RIP %lx: %s %u times in a row (%u bytes: %x %x %x)", rip, why,
				 c->reexec_count, n, n > 0 ? bytes[0] : 0, n > 1 ? bytes[1] : 0,
				 n > 2 ? bytes[2] : 0);
	} else {
		c->reexec_rip = rip;
		c->reexec_count = 1;
		c->stats.reexecutions++;
	}
}

bool insn_exit_decode(struct cpu *c, enum insn_op expected, enum insn_op also, struct insn *in)
{
	uint8_t bytes[INSN_MAX_LENGTH];
	unsigned n = guest_fetch_instruction(c, bytes);
	switch (insn_decode(bytes, n, vcpu_code_bits(c), in)) {
	case INSN_TOO_LONG:
		/* SDM vol. 2A, 2.3.11: an instruction longer than 15 bytes raises #GP(0). */
		vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		return false;
	case INSN_TRUNCATED:
		reexecute(c, "instruction bytes unreadable", bytes, n);
		return false;
	case INSN_OK:
		break;
	}
	if (in->op != expected && (also == INSN_OTHER || in->op != also)) {
		reexecute(c, "bytes at RIP are not the intercepted instruction", bytes, n);
		return false;
	}
	if (insn_lock_faults(in)) {
		vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
		return false;
	}
	return true;
}

void insn_exit_done(struct cpu *c)
{
	c->reexec_rip = ~0ull;
	c->reexec_count = 0;
}
