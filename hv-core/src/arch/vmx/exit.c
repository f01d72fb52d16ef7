/*
 * exit.c - the VT-x run loop and exit decoding: one switch on the basic exit reason turning
 * the VMCS exit information into the vendor-neutral handlers (include/exits.h), the exits
 * only VMX has (NMIs and the NMI window, CR accesses the masks send here, XSETBV, INVD,
 * GETSEC, the VMX instructions) and a panic with a guest state dump for anything else
 * (Intel SDM vol. 3C, appendix C "VMX Basic Exit Reasons", 27.2 "Recording VM-Exit
 * Information").
 */
#include "vmx.h"
#include "exits.h"
#include "guest_memory.h"
#include "hvlib.h"
#include "idle.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "log.h"
#include "tsc_scaling.h"
#include "vcpu.h"
#include "x86.h"

/* Exit qualifications (27.2.1): I/O instructions (table 27-5), CR accesses (table 27-3),
 * EPT violations (table 27-7). */
#define IO_QUAL_IN (1ull << 3)
#define IO_QUAL_STRING (1ull << 4)
#define IO_QUAL_REP (1ull << 5)
#define CR_QUAL_NUMBER(q) ((unsigned)(q) & 0xF)
#define CR_QUAL_TYPE(q) ((unsigned)((q) >> 4) & 3)
#define CR_QUAL_GPR(q) ((unsigned)((q) >> 8) & 0xF)
#define CR_ACCESS_MOV_TO_CR 0
#define EPT_QUAL_FETCH (1ull << 2)
#define EPT_QUAL_LINEAR_VALID (1ull << 7)
#define EPT_QUAL_TRANSLATED (1ull << 8)
#define EPT_QUAL_NMI_UNBLOCKED (1ull << 12)
#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)
#define XCR0_AVX512 (7ull << 5)

static const char *reason_name(uint32_t reason)
{
	switch (reason) {
	case EXIT_REASON_EXCEPTION_NMI: return "exception or NMI";
	case EXIT_REASON_EXTERNAL_INTERRUPT: return "external interrupt";
	case EXIT_REASON_TRIPLE_FAULT: return "triple fault";
	case EXIT_REASON_INIT: return "INIT";
	case EXIT_REASON_NMI_WINDOW: return "NMI window";
	case EXIT_REASON_PREEMPTION_TIMER: return "preemption timer";
	case EXIT_REASON_CPUID: return "CPUID";
	case EXIT_REASON_HLT: return "HLT";
	case EXIT_REASON_RDTSC: return "RDTSC";
	case EXIT_REASON_VMCALL: return "VMCALL";
	case EXIT_REASON_CR_ACCESS: return "CR access";
	case EXIT_REASON_IO: return "I/O";
	case EXIT_REASON_RDMSR: return "RDMSR";
	case EXIT_REASON_WRMSR: return "WRMSR";
	case EXIT_REASON_ENTRY_INVALID_GUEST: return "VM entry: invalid guest state";
	case EXIT_REASON_EPT_VIOLATION: return "EPT violation";
	case EXIT_REASON_EPT_MISCONFIG: return "EPT misconfiguration";
	case EXIT_REASON_RDTSCP: return "RDTSCP";
	case EXIT_REASON_XSETBV: return "XSETBV";
	default: return "other";
	}
}

/* The GPR a CR-access qualification names (table 27-3: 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP,
 * 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15). */
static uint64_t gpr(struct cpu *c, unsigned n)
{
	struct guest_regs *r = &c->regs;
	const uint64_t v[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				 r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
	return v[n & 15];
}

/* I/O instruction: size, direction, string, REP and port in the qualification; the
 * instruction length gives the next RIP (27.2.1, 27.2.5). */
static void handle_io(struct cpu *c, struct vmx_cpu *x)
{
	uint64_t q = x->qualification;
	struct io_exit io = {
		.port = (uint16_t)(q >> 16),
		.size = (unsigned)(q & 7) + 1,
		.in = q & IO_QUAL_IN,
		.string = q & IO_QUAL_STRING,
		.rep = q & IO_QUAL_REP,
		.next_rip = vmread(VMCS_GUEST_RIP) + x->instruction_length,
	};
	exit_io(c, &io);
}

/* MOV to CR0/CR4 changing a bit the guest/host masks give the hypervisor (CR0.NE, CR4.VMXE:
 * vmx.c). Nothing else exits: CR3 and CR8 exiting are off, and LMSW/CLTS touch no owned
 * bit. */
static void handle_cr_access(struct cpu *c, struct vmx_cpu *x)
{
	uint64_t q = x->qualification;
	if (CR_QUAL_TYPE(q) != CR_ACCESS_MOV_TO_CR || (CR_QUAL_NUMBER(q) != 0 && CR_QUAL_NUMBER(q) != 4))
		hv_panic("unexpected CR access (qualification %lx)", q);
	uint64_t value = gpr(c, CR_QUAL_GPR(q));
	if (CR_QUAL_NUMBER(q) == 0)
		vmx_write_cr0(c, value);
	else
		vmx_write_cr4(c, value);
}

/* XSETBV exits unconditionally (25.1.2). CPL > 0 and CR4.OSXSAVE = 0 fault before the exit
 * (25.1.1); the rest is checked as the CPU checks it (SDM vol. 2C, XSETBV: #GP for ECX != 0,
 * x87 clear, an unsupported bit, AVX without SSE, AVX-512 state partial or without AVX),
 * then the value is loaded: XCR0 is not switched, the hypervisor uses no extended state. */
static void handle_xsetbv(struct cpu *c, struct vmx_cpu *x)
{
	uint64_t value = ((c->regs.rdx & 0xFFFFFFFF) << 32) | (c->regs.rax & 0xFFFFFFFF);
	struct cpuid_regs d = cpuid(0xD, 0);
	uint64_t supported = ((uint64_t)d.edx << 32) | d.eax;
	uint64_t avx512 = value & XCR0_AVX512;
	if ((uint32_t)c->regs.rcx != 0 || !(value & XCR0_X87) || (value & ~supported) ||
	    ((value & XCR0_AVX) && !(value & XCR0_SSE)) ||
	    (avx512 && (avx512 != XCR0_AVX512 || !(value & XCR0_AVX)))) {
		vmx_vcpu_inject_exception(c, X86_VECTOR_GP, true, 0);
		return;
	}
	/* The host runs with CR4.OSXSAVE clear, so that CPUID.1:ECX.OSXSAVE, which the CPUID
	 * policy passes through from the host, reads as under SVM; it is set only around the
	 * XSETBV (#UD without it). */
	uint64_t cr4 = read_cr4();
	__asm__ volatile("mov %0, %%cr4; xsetbv; mov %4, %%cr4"
			 : : "r"(cr4 | CR4_OSXSAVE), "c"(0), "a"((uint32_t)value),
			   "d"((uint32_t)(value >> 32)), "r"(cr4) : "memory");
	vmx_vcpu_skip_instruction(c, x->instruction_length);
}

/* An NMI arrived while the guest ran ("NMI exiting"): the hypervisor's own kick or the
 * guest's. It was not delivered (25.2); INT 2 runs the host's NMI handler (exceptions.c),
 * which tells them apart and queues the guest's for injection, as SVM's open-GIF does. */
static void handle_exception_or_nmi(struct cpu *c)
{
	uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTERRUPTION_INFO);
	if ((info & INTR_INFO_VALID) && (info & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
		exit_count(c, EXIT_KIND_NMI);
		__asm__ volatile("int $2" : : : "memory");
		return;
	}
	hv_panic("unexpected exception exit (interruption information %x)", info);
}

/* The guest's NMI handler ended (virtual-NMI blocking is gone): the loop injects the NMI
 * that was waiting. */
static void handle_nmi_window(struct cpu *c, struct vmx_cpu *x)
{
	exit_count(c, EXIT_KIND_NMI);
	x->proc_controls &= ~PROC_NMI_WINDOW;
	vmwrite(VMCS_PROC_CONTROLS, x->proc_controls);
}

/* EPT violation: the trapped APIC page is emulated. An IRET that faulted on the way
 * unblocked NMIs; the blocking is restored for its re-execution (27.2.3). */
static void handle_ept_violation(struct cpu *c, struct vmx_cpu *x)
{
	uint64_t q = x->qualification, gpa = vmread(VMCS_GUEST_PHYSICAL_ADDRESS);
	if ((q & EPT_QUAL_NMI_UNBLOCKED) && !(vmread(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			vmread(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
	unsigned access = (q & EPT_QUAL_FETCH ? EXIT_NPF_FETCH : 0) |
			  ((q & EPT_QUAL_LINEAR_VALID) && !(q & EPT_QUAL_TRANSLATED)
				   ? EXIT_NPF_TABLE_WALK : 0);
	if (!exit_nested_page_fault(c, gpa, access))
		vmx_ept_fault(q, gpa);
}

/* VMX is hidden from the guest (CPUID.1:ECX.VMX clear, CR4.VMXE refused): its instructions
 * raise #UD as outside VMX operation (SDM vol. 3C, 30.3, each instruction's exceptions).
 * GETSEC exits only with CR4.SMXE set and raises #UD without SMX. */
static void handle_vmx_instruction(struct cpu *c)
{
	exit_count(c, EXIT_KIND_SVM_INSN);
	vmx_vcpu_inject_exception(c, X86_VECTOR_UD, false, 0);
}

static void dispatch(struct cpu *c, struct vmx_cpu *x)
{
	switch (x->exit_reason) {
	case EXIT_REASON_CPUID:
		exit_cpuid(c);
		break;
	case EXIT_REASON_RDTSC:
		exit_rdtsc(c, false);
		break;
	case EXIT_REASON_RDTSCP:
		exit_rdtsc(c, true);
		break;
	case EXIT_REASON_RDMSR:
		exit_msr(c, false);
		break;
	case EXIT_REASON_WRMSR:
		exit_msr(c, true);
		break;
	case EXIT_REASON_IO:
		handle_io(c, x);
		break;
	case EXIT_REASON_HLT:
		exit_hlt(c);
		break;
	case EXIT_REASON_VMCALL:
		exit_hypercall(c, INSN_VMCALL);
		break;
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_GETSEC:
		handle_vmx_instruction(c);
		break;
	case EXIT_REASON_INVD:
		/* INVD would drop dirty lines the hypervisor may own: write them back instead. */
		__asm__ volatile("wbinvd" : : : "memory");
		vmx_vcpu_skip_instruction(c, x->instruction_length);
		break;
	case EXIT_REASON_XSETBV:
		handle_xsetbv(c, x);
		break;
	case EXIT_REASON_CR_ACCESS:
		handle_cr_access(c, x);
		break;
	case EXIT_REASON_TRIPLE_FAULT:
		exit_shutdown(c);
		break;
	case EXIT_REASON_EXCEPTION_NMI:
		handle_exception_or_nmi(c);
		break;
	case EXIT_REASON_NMI_WINDOW:
		handle_nmi_window(c, x);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		handle_ept_violation(c, x);
		break;
	case EXIT_REASON_PREEMPTION_TIMER:
		/* The hypervisor's own wake-up (vmx_arm_preemption_timer): exit_finished polls. */
		exit_count(c, EXIT_KIND_TIMER);
		break;
	default:
		hv_panic("unexpected VM exit %u (%s), qualification %lx", x->exit_reason,
			 reason_name(x->exit_reason), x->qualification);
	}
}

static void dump_segment(const char *name, unsigned n)
{
	hv_line("# PANIC %s sel=%04lx ar=%05lx limit=%08lx base=%016lx", name,
		vmread(VMCS_GUEST_SELECTOR(n)), vmread(VMCS_GUEST_AR(n)), vmread(VMCS_GUEST_LIMIT(n)),
		vmread(VMCS_GUEST_BASE(n)));
}

void vmx_arch_dump_guest(struct cpu *c)
{
	struct vmx_cpu *x = cpu_vmx(c);
	struct guest_regs *r = &c->regs;
	hv_line("# PANIC guest cpu %u exit reason %u (%s)%s qualification=%lx intinfo=%lx "
		"idtinfo=%lx entryinfo=%lx", c->index, x->exit_reason & 0xFFFF,
		reason_name(x->exit_reason & 0xFFFF),
		x->exit_reason & EXIT_REASON_ENTRY_FAILURE ? " (VM-entry failure)" : "",
		x->qualification, vmread(VMCS_EXIT_INTERRUPTION_INFO),
		vmread(VMCS_IDT_VECTORING_INFO), vmread(VMCS_ENTRY_INTERRUPTION_INFO));
	hv_line("# PANIC rip=%016lx rsp=%016lx rflags=%016lx cpl=%u interruptibility=%lx "
		"activity=%lx", vmread(VMCS_GUEST_RIP), vmread(VMCS_GUEST_RSP),
		vmread(VMCS_GUEST_RFLAGS), vmx_vcpu_cpl(c), vmread(VMCS_GUEST_INTERRUPTIBILITY),
		vmread(VMCS_GUEST_ACTIVITY_STATE));
	hv_line("# PANIC rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx", r->rax, r->rbx, r->rcx,
		r->rdx);
	hv_line("# PANIC rsi=%016lx rdi=%016lx rbp=%016lx r8=%016lx", r->rsi, r->rdi, r->rbp,
		r->r8);
	hv_line("# PANIC r9=%016lx r10=%016lx r11=%016lx r12=%016lx", r->r9, r->r10, r->r11,
		r->r12);
	hv_line("# PANIC r13=%016lx r14=%016lx r15=%016lx", r->r13, r->r14, r->r15);
	hv_line("# PANIC cr0=%016lx (shadow %lx) cr3=%016lx cr4=%016lx (shadow %lx) efer=%016lx "
		"entry=%lx", vmread(VMCS_GUEST_CR0), vmread(VMCS_CR0_READ_SHADOW),
		vmread(VMCS_GUEST_CR3), vmread(VMCS_GUEST_CR4), vmread(VMCS_CR4_READ_SHADOW),
		vmread(VMCS_GUEST_EFER), vmread(VMCS_ENTRY_CONTROLS));
	static const char *const names[8] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };
	for (unsigned n = 0; n < 8; n++)
		dump_segment(names[n], n);
	hv_line("# PANIC gdtr base=%016lx limit=%04lx idtr base=%016lx limit=%04lx",
		vmread(VMCS_GUEST_GDTR_BASE), vmread(VMCS_GUEST_GDTR_LIMIT),
		vmread(VMCS_GUEST_IDTR_BASE), vmread(VMCS_GUEST_IDTR_LIMIT));
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
		vmx_arch_dump_guest(c);
}

/* The guest's NMI (taken by the host, exceptions.c) is injected when the guest can take
 * one: no virtual-NMI blocking (set by the injection, cleared by the guest's IRET: "virtual
 * NMIs", 24.6.1, 26.6.1.2), no STI/MOV SS shadow, no other event. Otherwise NMI-window
 * exiting reports when it can (25.2). */
static void inject_pending_nmi(struct cpu *c, struct vmx_cpu *x)
{
	if (!__atomic_load_n(&c->nmi_for_guest, __ATOMIC_SEQ_CST))
		return;
	uint32_t block = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
	if ((vmread(VMCS_ENTRY_INTERRUPTION_INFO) & INTR_INFO_VALID) ||
	    (block & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI))) {
		if (!(x->proc_controls & PROC_NMI_WINDOW)) {
			x->proc_controls |= PROC_NMI_WINDOW;
			vmwrite(VMCS_PROC_CONTROLS, x->proc_controls);
		}
		return;
	}
	if (__atomic_exchange_n(&c->nmi_for_guest, 0, __ATOMIC_SEQ_CST))
		vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | X86_VECTOR_NMI);
}

/* An event whose delivery the exit interrupted is delivered again (27.2.4 "Information for
 * VM Exits During Event Delivery", 26.6.1.1): software events with their length. */
static void reinject_interrupted_event(struct vmx_cpu *x)
{
	uint32_t idt = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);
	if (!(idt & INTR_INFO_VALID)) {
		vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
		return;
	}
	uint32_t type = idt & INTR_TYPE_MASK;
	if (idt & INTR_INFO_ERROR_VALID)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, vmread(VMCS_IDT_VECTORING_ERROR));
	if (type == INTR_TYPE_SW_INTERRUPT || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION)
		vmwrite(VMCS_ENTRY_INSTRUCTION_LENGTH, x->instruction_length);
	vmwrite(VMCS_ENTRY_INTERRUPTION_INFO,
		idt & (INTR_INFO_VALID | INTR_TYPE_MASK | INTR_INFO_ERROR_VALID | 0xFF));
}

/* The first exit of each reason on each CPU is logged (bring-up evidence, bounded). */
static void note_first_exit(struct cpu *c, struct vmx_cpu *x)
{
	static uint64_t seen[HV_MAX_CPUS];
	uint32_t r = x->exit_reason;
	if (r < 64 && !(seen[c->index] & (1ull << r))) {
		seen[c->index] |= 1ull << r;
		hv_log("VT-x: cpu %u first exit %u (%s) at rip %lx", c->index, r, reason_name(r),
		       vmread(VMCS_GUEST_RIP));
	}
}

void vmx_arch_run(struct cpu *c)
{
	struct vmx_cpu *x = cpu_vmx(c);
	hv_set_panic_dump(dump_current_guest);
	if (c->index == 0)
		hv_log("guest starting");
	for (;;) {
		/* A guest INIT for this CPU parks it (as svm/exit.c). */
		if (__atomic_load_n(&c->pending_init, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&c->run_state, VCPU_WAIT_FOR_SIPI, __ATOMIC_SEQ_CST);
			__atomic_store_n(&c->pending_init, 0, __ATOMIC_SEQ_CST);
			lapic_reset_after_init(c);
			lapic_timer_reset(c);
			c->inject_vector = 0;
			vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
			x->proc_controls &= ~PROC_NMI_WINDOW;
			vmwrite(VMCS_PROC_CONTROLS, x->proc_controls);
			return;
		}
		vmwrite(VMCS_GUEST_RSP, c->regs.rsp);
		lapic_timer_before_entry(c);
		inject_pending_nmi(c, x);
		idle_deliver(c);
		uint32_t generation = __atomic_load_n(&ept_generation, __ATOMIC_SEQ_CST);
		if (c->npt_generation_seen != generation) {
			c->npt_generation_seen = generation;
			vmx_invept();
		}
		exit_before_entry(c, x->exit_reason == EXIT_REASON_HLT,
				  x->exit_reason == EXIT_REASON_RDTSC ||
					  x->exit_reason == EXIT_REASON_RDTSCP);
		vmx_sync_tsc(c);
		vmx_arm_preemption_timer();
		if (vmx_enter(&c->regs, x->launched))
			hv_panic("cpu %u: %s failed, VM-instruction error %lu", c->index,
				 x->launched ? "VMRESUME" : "VMLAUNCH", vmread(VMCS_INSTRUCTION_ERROR));
		if (!x->launched && c->index == 0)
			hv_log("VT-x: cpu 0 VMLAUNCH done, guest ran until its first exit");
		tsc_scaling_exited(c);
		x->launched = true;
		exit_started(c);
		uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
		x->exit_reason = reason & 0xFFFF;
		x->qualification = vmread(VMCS_EXIT_QUALIFICATION);
		x->instruction_length = (uint32_t)vmread(VMCS_EXIT_INSTRUCTION_LENGTH);
		c->regs.rsp = vmread(VMCS_GUEST_RSP);
		if (reason & EXIT_REASON_ENTRY_FAILURE) {
			x->exit_reason = reason;
			hv_panic("cpu %u: VM entry failed, exit reason %u (%s), qualification %lx",
				 c->index, reason & 0xFFFF, reason_name(reason & 0xFFFF),
				 x->qualification);
		}
		note_first_exit(c, x);
		reinject_interrupted_event(x);
		dispatch(c, x);
		exit_finished(c);
	}
}
