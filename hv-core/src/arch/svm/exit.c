/*
 * exit.c - the SVM run loop and exit decoding: one switch on the exit code turning the
 * VMCB's exit information into the vendor-neutral handlers (include/exits.h), the exits only
 * SVM has (its own instructions, NMIs and SMIs taken by opening GIF), and a panic with a
 * guest state dump for anything else (AMD APM vol. 2, Appendix C "SVM Intercept Exit Codes").
 */
#include "svm.h"
#include "tsc_scaling.h"
#include "exits.h"
#include "guest_memory.h"
#include "hvlib.h"
#include "idle.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "log.h"
#include "vcpu.h"

/* EXITINFO1 describes the access and EXITINFO2 holds the next RIP (APM vol. 2, 15.10.2). */
static void handle_ioio(struct cpu *c, struct vmcb *v)
{
	uint32_t info = (uint32_t)v->control.exit_info1;
	struct io_exit x = {
		.port = (uint16_t)(info >> SVM_IOIO_PORT_SHIFT),
		.size = info & SVM_IOIO_SZ32 ? 4 : info & SVM_IOIO_SZ16 ? 2 : 1,
		.in = info & SVM_IOIO_TYPE_IN,
		.string = info & SVM_IOIO_STR,
		.rep = info & SVM_IOIO_REP,
		.next_rip = v->control.exit_info2,
	};
	exit_io(c, &x);
}

/* Nested page faults: EXITINFO1 describes the access, EXITINFO2 is the guest-physical
 * address (APM vol. 2, 15.25.6). A fault outside the trapped local-APIC page panics with
 * the fault decoded (nested_paging.c). */
#define NPF_FETCH (1ull << 4)
#define NPF_TABLE_WALK (1ull << 33)
static void handle_npf(struct cpu *c, struct vmcb *v)
{
	uint64_t info = v->control.exit_info1, gpa = v->control.exit_info2;
	unsigned access = (info & NPF_FETCH ? EXIT_NPF_FETCH : 0) |
			  (info & NPF_TABLE_WALK ? EXIT_NPF_TABLE_WALK : 0);
	if (!exit_nested_page_fault(c, gpa, access))
		nested_page_fault(info, gpa);
}

/* VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA: SVM is hidden from the guest, so these
 * raise #UD as on a CPU without SVM enabled (APM vol. 3, each instruction's exceptions). */
static void handle_svm_instruction(struct cpu *c)
{
	exit_count(c, EXIT_KIND_SVM_INSN);
	svm_vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
}

/* An SMI (a guest's SMI IPI, an APM_CNT write, the chipset) arrived while the guest ran. It
 * stays pending across the #VMEXIT; opening GIF for a moment lets the CPU take it here, in
 * host context, where the firmware's SMM handler runs and returns with RSM (AMD APM vol. 2,
 * 15.13.3 "SMI Intercept", 15.17 "Global Interrupt Flag"). Taken in guest context instead,
 * SMM would run with the guest's nested paging (QEMU TCG faults there). Host RFLAGS.IF stays
 * clear, so only an NMI can also arrive in that window: exceptions.c hands it to the guest. */
static void handle_smi(struct cpu *c)
{
	exit_count(c, EXIT_KIND_SMI);
	__asm__ volatile("stgi; clgi" : : : "memory");
}

/* An NMI arrived while the guest ran: the hypervisor's own kick (a speed change or an INIT
 * or STARTUP for this CPU, lapic_timer.c) or the guest's. Opening GIF lets the host take it
 * (exceptions.c tells them apart and queues the guest's for injection). */
static void handle_nmi(struct cpu *c)
{
	exit_count(c, EXIT_KIND_NMI);
	__asm__ volatile("stgi; clgi" : : : "memory");
}

static void dispatch(struct cpu *c, struct vmcb *v)
{
	switch (v->control.exit_code) {
	case SVM_EXIT_CPUID:
		exit_cpuid(c);
		break;
	case SVM_EXIT_RDTSC:
		exit_rdtsc(c, false);
		break;
	case SVM_EXIT_RDTSCP:
		exit_rdtsc(c, true);
		break;
	case SVM_EXIT_MSR:
		exit_msr(c, v->control.exit_info1 == 1); /* EXITINFO1: 0 RDMSR, 1 WRMSR */
		break;
	case SVM_EXIT_IOIO:
		handle_ioio(c, v);
		break;
	case SVM_EXIT_HLT:
		exit_hlt(c);
		break;
	case SVM_EXIT_VMMCALL:
		exit_hypercall(c, INSN_VMMCALL);
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
		exit_shutdown(c);
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

void svm_arch_dump_guest(struct cpu *c)
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
		svm_arch_dump_guest(c);
}

void svm_arch_run(struct cpu *c)
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
		uint64_t code = v->control.exit_code;
		exit_before_entry(c, code == SVM_EXIT_HLT,
				  code == SVM_EXIT_RDTSC || code == SVM_EXIT_RDTSCP);
		/* Last before entering: it publishes the path for speed-change writers. */
		svm_sync_tsc(c);
		svm_world_switch(&c->regs, c->vmcb_pa, c->host_save_pa);
		tsc_scaling_exited(c);
		exit_started(c);
		c->regs.rax = v->save.rax;
		c->regs.rsp = v->save.rsp;
		v->control.tlb_control = 0;
		/* An event whose delivery the exit interrupted is delivered again (APM vol. 2,
		 * 15.7.2 "Intercepts During IDT Interrupt Delivery"). */
		v->control.event_inject = v->control.exit_int_info & SVM_EVENT_VALID
						  ? v->control.exit_int_info
						  : 0;
		dispatch(c, v);
		exit_finished(c);
	}
}
