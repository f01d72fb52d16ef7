/*
 * cpu.h - per-CPU hypervisor state: one struct per physical CPU, reached only through
 * this_cpu(). This slice runs one guest CPU; the struct already holds everything that is
 * per CPU so that SMP adds instances, not fields.
 */
#ifndef TSX_HV_CPU_H
#define TSX_HV_CPU_H

#include <stdint.h>

#define HV_MAX_CPUS 1u

/* Guest general-purpose registers the world switch saves (RAX and RSP live in the VMCB on
 * SVM; they are mirrored here around every exit so generic code sees one register file). */
struct guest_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rsp;
};

/* Exit kinds counted for `status`, vendor-neutral. */
enum exit_kind {
	EXIT_KIND_CPUID,
	EXIT_KIND_RDTSC,
	EXIT_KIND_RDTSCP,
	EXIT_KIND_RDMSR,
	EXIT_KIND_WRMSR,
	EXIT_KIND_IO,
	EXIT_KIND_HLT,
	EXIT_KIND_HYPERCALL,
	EXIT_KIND_SVM_INSN,
	EXIT_KIND_SHUTDOWN,
	EXIT_KIND_COUNT
};

struct exit_stats {
	uint64_t count[EXIT_KIND_COUNT];
	uint64_t total;
	uint64_t timed_exits;       /* exits other than HLT (whose time is mostly idle) */
	uint64_t host_cycles;       /* their TSC cycles in the hypervisor, VMEXIT to VMRUN */
	uint64_t rdtsc_host_cycles; /* the part spent on RDTSC/RDTSCP exits */
	/* One-second windows for the rates reported by status. */
	uint64_t window_start_tsc, window_rdtsc, window_exits, window_timed, window_cycles;
	uint64_t last_rdtsc_per_s, last_exits_per_s, last_ns_per_exit;
	uint64_t reexecutions; /* exits whose instruction was re-executed (insn_exit.c) */
	uint64_t injected;     /* faults injected for guest instructions (#UD, #GP, #PF) */
};

struct cpu {
	unsigned index;
	struct guest_regs regs;
	void *vmcb;             /* vendor control block (VMCB) */
	uint64_t vmcb_pa;
	uint64_t hsave_pa;
	uint64_t exit_tsc;      /* real TSC when the current exit started */
	uint64_t reexec_rip;    /* RIP of the instruction being re-executed, and how often */
	unsigned reexec_count;
	struct exit_stats stats;
};

struct cpu *this_cpu(void);
const char *exit_kind_name(enum exit_kind kind);

#endif
