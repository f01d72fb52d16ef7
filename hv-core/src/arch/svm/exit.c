/*
 * exit.c - the SVM run loop and exit dispatch: one switch on the exit code, one static
 * handler per exit, and a panic with a guest state dump for anything else (AMD APM vol. 2,
 * Appendix C "SVM Intercept Exit Codes"). Instruction lengths are decoded here because QEMU
 * TCG saves no next_rip (PLATFORM-FACTS.md).
 */
#include "svm.h"
#include "apic_page.h"
#include "control_port.h"
#include "guest_memory.h"
#include "cpuid_policy.h"
#include "guest_time.h"
#include "hvlib.h"
#include "hypercall.h"
#include "idle.h"
#include "insn_exit.h"
#include "io_emulate.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "log.h"
#include "msr_policy.h"
#include "power.h"
#include "vcpu.h"
#include "x86.h"

static void count(struct cpu *c, enum exit_kind k)
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

static void handle_cpuid(struct cpu *c)
{
	count(c, EXIT_KIND_CPUID);
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

/* RDTSC and RDTSCP. QEMU TCG reports both as exit 0x6E with RIP at the instruction and no
 * next RIP, so the decoded bytes at RIP decide which it was and how long it is (any legal
 * prefixes, possibly straddling a page); hardware reports RDTSCP as 0x87 and saves the next
 * RIP. TSC_AUX is not virtualised: the guest's WRMSR to it goes to the CPU. */
static void handle_rdtsc(struct cpu *c, bool reported_rdtscp)
{
	uint64_t real = rdtsc();
	struct insn in = { .op = reported_rdtscp ? INSN_RDTSCP : INSN_RDTSC };
	if (!svm_next_rip_length(c, &in.length) &&
	    !insn_exit_decode(c, INSN_RDTSC, INSN_RDTSCP, &in))
		return;
	set_edx_eax(c, guest_time_read(c->index, real));
	guest_time_note_read(c, real);
	if (in.op == INSN_RDTSCP) {
		count(c, EXIT_KIND_RDTSCP);
		c->regs.rcx = (uint32_t)rdmsr(MSR_TSC_AUX);
	} else {
		count(c, EXIT_KIND_RDTSC);
	}
	complete(c, &in);
}

static void handle_msr(struct cpu *c, struct vmcb *v)
{
	uint32_t msr = (uint32_t)c->regs.rcx;
	bool write = v->control.exit_info1 == 1;
	struct insn in;
	count(c, write ? EXIT_KIND_WRMSR : EXIT_KIND_RDMSR);
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

/* EXITINFO1 describes the access and EXITINFO2 holds the next RIP (APM vol. 2, 15.10.2);
 * io_emulate does the rest, vendor-neutral. */
static void handle_ioio(struct cpu *c, struct vmcb *v)
{
	count(c, EXIT_KIND_IO);
	uint32_t info = (uint32_t)v->control.exit_info1;
	struct io_exit x = {
		.port = (uint16_t)(info >> SVM_IOIO_PORT_SHIFT),
		.size = info & SVM_IOIO_SZ32 ? 4 : info & SVM_IOIO_SZ16 ? 2 : 1,
		.in = info & SVM_IOIO_TYPE_IN,
		.string = info & SVM_IOIO_STR,
		.rep = info & SVM_IOIO_REP,
		.next_rip = v->control.exit_info2,
	};
	io_emulate(c, &x);
}

static void handle_hlt(struct cpu *c)
{
	count(c, EXIT_KIND_HLT);
	struct insn in;
	if (!insn_exit_decode(c, INSN_HLT, INSN_OTHER, &in))
		return;
	complete(c, &in);
	idle_wait(c);
}

/* VMMCALL is the hypercall instruction for the guest kernel only: at CPL > 0 it raises #UD
 * as on a CPU without a hypervisor (APM vol. 3, VMMCALL: #UD when SVM is not enabled), so a
 * user process can neither steer nor detect tsx-hv through it (docs/hypercall.md). */
static void handle_vmmcall(struct cpu *c)
{
	count(c, EXIT_KIND_HYPERCALL);
	if (vcpu_cpl(c) != 0) {
		vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
		return;
	}
	struct insn in;
	if (!insn_exit_decode(c, INSN_VMMCALL, INSN_OTHER, &in))
		return;
	struct hypercall_regs r = { c->regs.rax, c->regs.rbx, c->regs.rcx, c->regs.rdx };
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

/* Nested page faults: a guest access to the trapped local-APIC page is emulated; nothing
 * else is ever unmapped or read-only, so any other fault is a hypervisor bug and panics
 * (nested_paging.c). EXITINFO1 bits: APM vol. 2, 15.25.6. */
#define NPF_FETCH (1ull << 4)
#define NPF_TABLE_WALK (1ull << 33)
static void handle_npf(struct cpu *c, struct vmcb *v)
{
	uint64_t info = v->control.exit_info1, gpa = v->control.exit_info2;
	count(c, EXIT_KIND_APIC);
	if (apic_page_contains(gpa)) {
		if (info & (NPF_TABLE_WALK | NPF_FETCH)) {
			/* The guest's own page tables or code live in the APIC page: nonsense only a
			 * hostile guest builds. */
			hv_log_guest("cpu %u: page tables or code in the local APIC page: #GP", c->index);
			vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
			return;
		}
		apic_page_access(c, gpa);
		return;
	}
	nested_page_fault(info, gpa);
}

/* VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA: SVM is hidden from the guest, so these
 * raise #UD as on a CPU without SVM enabled (APM vol. 3, each instruction's exceptions). */
static void handle_svm_instruction(struct cpu *c)
{
	count(c, EXIT_KIND_SVM_INSN);
	vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
}

/* An SMI (a guest's SMI IPI, an APM_CNT write, the chipset) arrived while the guest ran. It
 * stays pending across the #VMEXIT; opening GIF for a moment lets the CPU take it here, in
 * host context, where the firmware's SMM handler runs and returns with RSM (AMD APM vol. 2,
 * 15.13.3 "SMI Intercept", 15.17 "Global Interrupt Flag"). Taken in guest context instead,
 * SMM would run with the guest's nested paging (QEMU TCG faults there). Host RFLAGS.IF stays
 * clear, so only an NMI can also arrive in that window: exceptions.c hands it to the guest. */
static void handle_smi(struct cpu *c)
{
	count(c, EXIT_KIND_SMI);
	__asm__ volatile("stgi; clgi" : : : "memory");
}

/* An NMI arrived while the guest ran: the hypervisor's own kick (a speed change or an INIT
 * or STARTUP for this CPU, lapic_timer.c) or the guest's. Opening GIF lets the host take it
 * (exceptions.c tells them apart and queues the guest's for injection). */
static void handle_nmi(struct cpu *c)
{
	count(c, EXIT_KIND_NMI);
	__asm__ volatile("stgi; clgi" : : : "memory");
}

static void handle_shutdown(struct cpu *c)
{
	count(c, EXIT_KIND_SHUTDOWN);
	hv_log("guest shutdown (triple fault)");
	svm_dump_guest(c);
	power_shutdown_action();
}

static void dispatch(struct cpu *c, struct vmcb *v)
{
	switch (v->control.exit_code) {
	case SVM_EXIT_CPUID:
		handle_cpuid(c);
		break;
	case SVM_EXIT_RDTSC:
		handle_rdtsc(c, false);
		break;
	case SVM_EXIT_RDTSCP:
		handle_rdtsc(c, true);
		break;
	case SVM_EXIT_MSR:
		handle_msr(c, v);
		break;
	case SVM_EXIT_IOIO:
		handle_ioio(c, v);
		break;
	case SVM_EXIT_HLT:
		handle_hlt(c);
		break;
	case SVM_EXIT_VMMCALL:
		handle_vmmcall(c);
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		handle_svm_instruction(c);
		break;
	case SVM_EXIT_SHUTDOWN:
		handle_shutdown(c);
		break;
	case SVM_EXIT_SMI:
		handle_smi(c);
		break;
	case SVM_EXIT_NMI:
		handle_nmi(c);
		break;
	case SVM_EXIT_NPF:
		handle_npf(c, v);
		break;
	default:
		hv_panic("unexpected exit code %lx (exitinfo1 %lx exitinfo2 %lx)",
			 v->control.exit_code, v->control.exit_info1, v->control.exit_info2);
	}
}

static void dump_segment(const char *name, const struct vmcb_segment *s)
{
	hv_line("# PANIC %s sel=%04x attr=%04x limit=%08x base=%016lx", name, s->selector,
		s->attrib, s->limit, s->base);
}

void svm_dump_guest(struct cpu *c)
{
	struct vmcb *v = cpu_vmcb(c);
	struct guest_regs *r = &c->regs;
	hv_line("# PANIC guest cpu %u exit=%lx info1=%lx info2=%lx intinfo=%lx", c->index,
		v->control.exit_code, v->control.exit_info1, v->control.exit_info2,
		v->control.exit_int_info);
	hv_line("# PANIC rip=%016lx rsp=%016lx rflags=%016lx cpl=%u", v->save.rip, v->save.rsp,
		v->save.rflags, v->save.cpl);
	hv_line("# PANIC rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx", v->save.rax, r->rbx,
		r->rcx, r->rdx);
	hv_line("# PANIC rsi=%016lx rdi=%016lx rbp=%016lx r8=%016lx", r->rsi, r->rdi, r->rbp,
		r->r8);
	hv_line("# PANIC r9=%016lx r10=%016lx r11=%016lx r12=%016lx", r->r9, r->r10, r->r11,
		r->r12);
	hv_line("# PANIC r13=%016lx r14=%016lx r15=%016lx", r->r13, r->r14, r->r15);
	hv_line("# PANIC cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx efer=%016lx", v->save.cr0,
		v->save.cr2, v->save.cr3, v->save.cr4, v->save.efer);
	dump_segment("cs", &v->save.cs);
	dump_segment("ss", &v->save.ss);
	dump_segment("ds", &v->save.ds);
	dump_segment("gdtr", &v->save.gdtr);
	dump_segment("idtr", &v->save.idtr);
	uint8_t code[INSN_MAX_LENGTH];
	unsigned n = guest_fetch_instruction(c, code);
	char hex[3 * INSN_MAX_LENGTH + 1];
	for (unsigned i = 0; i < n; i++)
		hv_snprintf(hex + 3 * i, 4, "%02x ", code[i]);
	hex[3 * n] = '\0';
	hv_line("# PANIC code at rip (%u bytes readable): %s", n, hex);
}

static void dump_current_guest(void)
{
	struct cpu *c = this_cpu();
	if (c && c->vmcb)
		svm_dump_guest(c);
}

void svm_run(struct cpu *c)
{
	struct vmcb *v = cpu_vmcb(c);
	hv_set_panic_dump(dump_current_guest);
	if (c->index == 0)
		hv_log("guest starting");
	for (;;) {
		/* A guest INIT for this CPU: it goes back to waiting for a STARTUP IPI. The state
		 * changes before the request is consumed, so a sender always sees one of the two
		 * and never drops the STARTUP that follows (apic_ipi.c). */
		if (__atomic_load_n(&c->pending_init, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&c->run_state, VCPU_WAIT_FOR_SIPI, __ATOMIC_SEQ_CST);
			__atomic_store_n(&c->pending_init, 0, __ATOMIC_SEQ_CST);
			lapic_reset_after_init(c);
			lapic_timer_reset(c);
			c->inject_vector = 0;
			return;
		}
		v->save.rax = c->regs.rax;
		v->save.rsp = c->regs.rsp;
		svm_sync_tsc_intercepts(c);
		lapic_timer_before_entry(c);
		/* An NMI the host took (exceptions.c) belongs to the guest; then an interrupt the
		 * host acknowledged for it while idle (idle.c). */
		if (!(v->control.event_inject & SVM_EVENT_VALID) &&
		    __atomic_exchange_n(&c->nmi_for_guest, 0, __ATOMIC_SEQ_CST))
			v->control.event_inject = SVM_EVENT_VALID | SVM_EVENT_TYPE_NMI | X86_VECTOR_NMI;
		idle_deliver(c);
		uint32_t generation = __atomic_load_n(&npt_generation, __ATOMIC_SEQ_CST);
		if (c->npt_generation_seen != generation) {
			c->npt_generation_seen = generation;
			v->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
		}
		uint64_t entry = rdtsc();
		uint64_t code = v->control.exit_code;
		/* Host time per exit counts handling only: HLT exits spend most of theirs idle. */
		if (c->exit_tsc && code != SVM_EXIT_HLT) {
			uint64_t spent = entry - c->exit_tsc;
			c->stats.host_cycles += spent;
			c->stats.timed_exits++;
			if (code == SVM_EXIT_RDTSC || code == SVM_EXIT_RDTSCP)
				c->stats.rdtsc_host_cycles += spent;
		}
		svm_world_switch(&c->regs, c->vmcb_pa, c->host_save_pa);
		c->exit_tsc = rdtsc();
		c->stats.total++;
		c->regs.rax = v->save.rax;
		c->regs.rsp = v->save.rsp;
		v->control.tlb_control = 0;
		/* An event whose delivery the exit interrupted is delivered again (APM vol. 2,
		 * 15.7.2 "Intercepts During IDT Interrupt Delivery"). */
		v->control.event_inject = v->control.exit_int_info & SVM_EVENT_VALID
						  ? v->control.exit_int_info
						  : 0;
		dispatch(c, v);
		hv_poll_if_due(c, c->exit_tsc);
	}
}
