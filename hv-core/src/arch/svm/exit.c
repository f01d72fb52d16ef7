/*
 * exit.c - the SVM run loop and exit dispatch: one switch on the exit code, one static
 * handler per exit, and a panic with a guest state dump for anything else (AMD APM vol. 2,
 * Appendix C "SVM Intercept Exit Codes"). Instruction lengths are decoded here because QEMU
 * TCG saves no next_rip (PLATFORM-FACTS.md).
 */
#include "svm.h"
#include "control_port.h"
#include "cpuid_policy.h"
#include "guest_time.h"
#include "hvlib.h"
#include "hypercall.h"
#include "idle.h"
#include "log.h"
#include "msr_policy.h"
#include "power.h"
#include "vcpu.h"
#include "x86.h"

#define LEN_CPUID 2   /* 0F A2 */
#define LEN_RDTSC 2   /* 0F 31 */
#define LEN_RDTSCP 3  /* 0F 01 F9 */
#define LEN_MSR 2     /* 0F 32 / 0F 30 */
#define LEN_HLT 1     /* F4 */
#define LEN_VMMCALL 3 /* 0F 01 D9 */
#define EFER_SVME_BIT EFER_SVME

static void count(struct cpu *c, enum exit_kind k)
{
	c->stats.count[k]++;
}

static void set_edx_eax(struct cpu *c, uint64_t v)
{
	c->regs.rax = (uint32_t)v;
	c->regs.rdx = v >> 32;
}

static void handle_cpuid(struct cpu *c)
{
	count(c, EXIT_KIND_CPUID);
	struct cpuid_regs r = cpuid_policy((uint32_t)c->regs.rax, (uint32_t)c->regs.rcx);
	c->regs.rax = r.eax;
	c->regs.rbx = r.ebx;
	c->regs.rcx = r.ecx;
	c->regs.rdx = r.edx;
	vcpu_skip_instruction(c, LEN_CPUID);
}

/* RDTSC and RDTSCP. QEMU TCG reports both as exit 0x6E with RIP at the instruction, so the
 * bytes at RIP decide; hardware reports RDTSCP as 0x87. TSC_AUX is not virtualised: the
 * guest's WRMSR to it goes to the CPU, so the CPU's value is the guest's. */
static void handle_rdtsc(struct cpu *c, bool reported_rdtscp)
{
	uint64_t real = rdtsc();
	uint8_t insn[3];
	bool rdtscp = reported_rdtscp;
	if (!reported_rdtscp) {
		if (vcpu_read_virtual(c, vcpu_rip(c), insn, 2))
			hv_panic("RDTSC exit: cannot read the instruction at RIP %lx", vcpu_rip(c));
		if (insn[0] == 0x0F && insn[1] == 0x01)
			rdtscp = true;
		else if (insn[0] != 0x0F || insn[1] != 0x31)
			hv_panic("RDTSC exit at RIP %lx: bytes %x %x are neither RDTSC nor RDTSCP",
				 vcpu_rip(c), insn[0], insn[1]);
	}
	set_edx_eax(c, guest_time_read(c->index, real));
	if (rdtscp) {
		count(c, EXIT_KIND_RDTSCP);
		c->regs.rcx = (uint32_t)rdmsr(MSR_TSC_AUX);
		vcpu_skip_instruction(c, LEN_RDTSCP);
	} else {
		count(c, EXIT_KIND_RDTSC);
		vcpu_skip_instruction(c, LEN_RDTSC);
	}
}

static void handle_msr(struct cpu *c, struct vmcb *v)
{
	uint32_t msr = (uint32_t)c->regs.rcx;
	bool write = v->control.exit_info1 == 1;
	enum msr_result res;
	if (write) {
		count(c, EXIT_KIND_WRMSR);
		uint64_t value = ((c->regs.rdx & 0xFFFFFFFF) << 32) | (c->regs.rax & 0xFFFFFFFF);
		if (msr == MSR_EFER) {
			/* VMRUN requires guest EFER.SVME = 1; the guest cannot see SVM (CPUID) and
			 * its writes keep the bit set. */
			v->save.efer = value | EFER_SVME_BIT;
			res = MSR_DONE;
		} else {
			res = msr_policy_write(c, msr, value);
		}
	} else {
		count(c, EXIT_KIND_RDMSR);
		uint64_t value = 0;
		res = msr_policy_read(c, msr, &value);
		if (res == MSR_DONE)
			set_edx_eax(c, value);
	}
	if (res == MSR_FAULT)
		vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
	else
		vcpu_skip_instruction(c, LEN_MSR);
}

static void handle_ioio(struct cpu *c, struct vmcb *v)
{
	count(c, EXIT_KIND_IO);
	uint32_t info = (uint32_t)v->control.exit_info1;
	uint16_t port = (uint16_t)(info >> SVM_IOIO_PORT_SHIFT);
	unsigned size = info & SVM_IOIO_SZ32 ? 4 : info & SVM_IOIO_SZ16 ? 2 : 1;
	const struct io_hook *h = io_hook_find(port);
	if (!h)
		hv_panic("I/O exit for unhooked port %x (exitinfo1 %x)", port, info);
	if (info & SVM_IOIO_STR) {
		/* String I/O to a hooked port is not emulated: the guest gets #GP. Linux does not
		 * use INS/OUTS on the UART or the i8042 data port. */
		hv_log("string I/O to hooked port %x refused (#GP)", port);
		vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		return;
	}
	uint32_t mask = size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
	if (info & SVM_IOIO_TYPE_IN) {
		uint32_t value = h->in(port, size) & mask;
		c->regs.rax = (c->regs.rax & ~(uint64_t)mask) | value;
	} else {
		h->out(port, size, (uint32_t)c->regs.rax & mask);
	}
	/* EXITINFO2 holds the RIP of the next instruction (APM vol. 2, 15.10.2). */
	v->save.rip = v->control.exit_info2;
}

static void handle_hlt(struct cpu *c)
{
	count(c, EXIT_KIND_HLT);
	vcpu_skip_instruction(c, LEN_HLT);
	idle_wait(c);
}

static void handle_vmmcall(struct cpu *c)
{
	count(c, EXIT_KIND_HYPERCALL);
	struct hypercall_regs r = { c->regs.rax, c->regs.rbx, c->regs.rcx, c->regs.rdx };
	if (!hypercall_handle(&r)) {
		vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
		return;
	}
	c->regs.rax = r.rax;
	c->regs.rbx = r.rbx;
	c->regs.rcx = r.rcx;
	c->regs.rdx = r.rdx;
	vcpu_skip_instruction(c, LEN_VMMCALL);
}

/* VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA: SVM is hidden from the guest, so these
 * raise #UD as on a CPU without SVM enabled (APM vol. 3, each instruction's exceptions). */
static void handle_svm_instruction(struct cpu *c)
{
	count(c, EXIT_KIND_SVM_INSN);
	vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
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
	case SVM_EXIT_NPF:
		nested_page_fault(v->control.exit_info1, v->control.exit_info2);
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
	uint8_t code[16];
	if (!vcpu_read_virtual(c, v->save.rip, code, sizeof(code)))
		hv_line("# PANIC code at rip: %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x "
			"%02x %02x %02x %02x %02x %02x",
			code[0], code[1], code[2], code[3], code[4], code[5], code[6], code[7],
			code[8], code[9], code[10], code[11], code[12], code[13], code[14], code[15]);
}

static struct cpu *dump_cpu;
static void dump_current_guest(void)
{
	if (dump_cpu)
		svm_dump_guest(dump_cpu);
}

void svm_run(struct cpu *c)
{
	struct vmcb *v = cpu_vmcb(c);
	dump_cpu = c;
	hv_set_panic_dump(dump_current_guest);
	hv_log("guest starting");
	for (;;) {
		v->save.rax = c->regs.rax;
		v->save.rsp = c->regs.rsp;
		svm_sync_tsc_intercepts(c);
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
		svm_world_switch(&c->regs, c->vmcb_pa);
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
