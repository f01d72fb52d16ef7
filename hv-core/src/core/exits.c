/*
 * exits.c - the exit handlers every vendor shares (include/exits.h): one small function per
 * intercepted instruction or event, acting on the guest only through vcpu.h and c->regs.
 * Instruction lengths are decoded here, because QEMU TCG reports none (PLATFORM-FACTS.md);
 * where the CPU does report one (SVM NRIP save, VMX exit instruction length) it is used.
 */
#include "chain_boot.h"
#include "exits.h"
#include "apic_page.h"
#include "arch.h"
#include "control_port.h"
#include "cpuid_policy.h"
#include "guest_time.h"
#include "hypercall.h"
#include "idle.h"
#include "insn_exit.h"
#include "log.h"
#include "msr_policy.h"
#include "power.h"
#include "tsc_scaling.h"
#include "vcpu.h"
#include "x86.h"

void exit_count(struct cpu *c, enum exit_kind k)
{
	c->stats.count[k]++;
}

static void set_edx_eax(struct cpu *c, uint64_t v)
{
	c->regs.rax = (uint32_t)v;
	c->regs.rdx = v >> 32;
}

/* Every intercepted instruction may carry prefixes (66 0F A2 is a CPUID too), so its
 * length is decoded, never assumed; the decoder also raises #UD for LOCK (insn_exit.c). */
static void complete(struct cpu *c, const struct insn *in)
{
	vcpu_skip_instruction(c, in->length);
	insn_exit_done(c);
}

void exit_cpuid(struct cpu *c)
{
	exit_count(c, EXIT_KIND_CPUID);
	struct insn in;
	if (!insn_exit_decode(c, INSN_CPUID, INSN_OTHER, &in))
		return;
	struct cpuid_regs r = cpuid_policy((uint32_t)c->regs.rax, (uint32_t)c->regs.rcx);
	c->regs.rax = r.eax;
	c->regs.rbx = r.ebx;
	c->regs.rcx = r.ecx;
	c->regs.rdx = r.edx;
	complete(c, &in);
}

/* RDTSC and RDTSCP. QEMU TCG reports both as SVM exit 0x6E with RIP at the instruction and
 * no next RIP, so the decoded bytes at RIP decide which it was and how long it is (any legal
 * prefixes, possibly straddling a page); hardware reports RDTSCP as its own exit and gives
 * the length. TSC_AUX is not virtualised: the guest's WRMSR to it goes to the CPU. */
void exit_rdtsc(struct cpu *c, bool reported_rdtscp)
{
	uint64_t real = rdtsc();
	struct insn in = { .op = reported_rdtscp ? INSN_RDTSCP : INSN_RDTSC };
	if (!vcpu_exit_insn_length(c, &in.length) &&
	    !insn_exit_decode(c, INSN_RDTSC, INSN_RDTSCP, &in))
		return;
	set_edx_eax(c, tsc_scaling_guest_read(c, real));
	guest_time_note_read(c, real);
	if (in.op == INSN_RDTSCP) {
		exit_count(c, EXIT_KIND_RDTSCP);
		c->regs.rcx = (uint32_t)rdmsr(MSR_TSC_AUX);
	} else {
		exit_count(c, EXIT_KIND_RDTSC);
	}
	complete(c, &in);
}

void exit_msr(struct cpu *c, bool write)
{
	uint32_t msr = (uint32_t)c->regs.rcx;
	struct insn in;
	exit_count(c, write ? EXIT_KIND_WRMSR : EXIT_KIND_RDMSR);
	if (!insn_exit_decode(c, write ? INSN_WRMSR : INSN_RDMSR, INSN_OTHER, &in))
		return;
	enum msr_result res;
	if (write) {
		uint64_t value = ((c->regs.rdx & 0xFFFFFFFF) << 32) | (c->regs.rax & 0xFFFFFFFF);
		res = msr_policy_write(c, msr, value);
	} else {
		uint64_t value = 0;
		res = msr_policy_read(c, msr, &value);
		if (res == MSR_DONE)
			set_edx_eax(c, value);
	}
	if (res == MSR_FAULT) {
		vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		insn_exit_done(c);
	} else {
		complete(c, &in);
	}
}

/* The vendor's exit information says which port, how wide, which direction and the next
 * RIP; io_emulate does the rest. */
void exit_io(struct cpu *c, const struct io_exit *x)
{
	exit_count(c, EXIT_KIND_IO);
	io_emulate(c, x);
}

void exit_hlt(struct cpu *c)
{
	exit_count(c, EXIT_KIND_HLT);
	struct insn in;
	if (!insn_exit_decode(c, INSN_HLT, INSN_OTHER, &in))
		return;
	complete(c, &in);
	idle_wait(c);
}

/* VMMCALL/VMCALL is the hypercall instruction for the guest kernel only: at CPL > 0 it
 * raises #UD as on a CPU without a hypervisor (APM vol. 3, VMMCALL: #UD when SVM is not
 * enabled; SDM vol. 2B, VMCALL: #UD outside VMX operation), so a user process can neither
 * steer nor detect tsx-hv through it (docs/hypercall.md). */
void exit_hypercall(struct cpu *c, enum insn_op instruction)
{
	exit_count(c, EXIT_KIND_HYPERCALL);
	if (chain_boot_vmmcall(c))
		return; /* a chain-boot stub's INT 13h/15h hook (real mode only) */
	if (vcpu_cpl(c) != 0) {
		vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
		return;
	}
	struct insn in;
	if (!insn_exit_decode(c, instruction, INSN_OTHER, &in))
		return;
	struct hypercall_regs r = { c->index, c->regs.rax, c->regs.rbx, c->regs.rcx, c->regs.rdx };
	if (!hypercall_handle(&r)) {
		vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
		insn_exit_done(c);
		return;
	}
	c->regs.rax = r.rax;
	c->regs.rbx = r.rbx;
	c->regs.rcx = r.rcx;
	c->regs.rdx = r.rdx;
	complete(c, &in);
}

/* A guest access to the trapped local-APIC page is emulated; nothing else is ever unmapped
 * or read-only, so any other fault is a hypervisor bug the vendor code panics on. */
bool exit_nested_page_fault(struct cpu *c, uint64_t gpa, unsigned access)
{
	exit_count(c, EXIT_KIND_APIC);
	if (!apic_page_contains(gpa))
		return false;
	if (access & (EXIT_NPF_TABLE_WALK | EXIT_NPF_FETCH)) {
		/* The guest's own page tables or code live in the APIC page: nonsense only a
		 * hostile guest builds. */
		hv_log_guest("cpu %u: page tables or code in the local APIC page: #GP", c->index);
		vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		return true;
	}
	apic_page_access(c, gpa);
	return true;
}

void exit_shutdown(struct cpu *c)
{
	exit_count(c, EXIT_KIND_SHUTDOWN);
	hv_log("guest shutdown (triple fault)");
	arch_dump_guest(c);
	power_shutdown_action();
}

/* Host time per exit counts handling only: HLT exits spend most of theirs idle. */
void exit_before_entry(struct cpu *c, bool left_hlt, bool left_tsc_read)
{
	uint64_t entry = rdtsc();
	if (c->exit_tsc && !left_hlt) {
		uint64_t spent = entry - c->exit_tsc;
		c->stats.host_cycles += spent;
		c->stats.timed_exits++;
		if (left_tsc_read)
			c->stats.rdtsc_host_cycles += spent;
	}
}

void exit_started(struct cpu *c)
{
	c->exit_tsc = rdtsc();
	c->stats.total++;
}

void exit_finished(struct cpu *c)
{
	hv_poll_if_due(c, c->exit_tsc);
}
