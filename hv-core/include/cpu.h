/*
 * cpu.h - per-CPU hypervisor state: one struct per physical CPU, reached through this_cpu()
 * (the GS base points at it: struct cpu begins with a pointer to itself, so this_cpu() is
 * one `mov %gs:0`). The world switch restores the host's GS base after every exit
 * (vmrun.S). Other CPUs' structs are reached by index (cpu_at) only for cross-CPU requests.
 */
#ifndef TSX_HV_CPU_H
#define TSX_HV_CPU_H

#include <stdint.h>

#define HV_MAX_CPUS 64u

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
	EXIT_KIND_APIC, /* trapped local-APIC accesses (page writes, x2APIC ICR) */
	EXIT_KIND_SMI,
	EXIT_KIND_NMI,
	EXIT_KIND_TIMER, /* the hypervisor's own wake-up while the guest ran (VMX-preemption timer) */
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
	uint64_t window_apic, last_apic_per_s;
	uint64_t reexecutions; /* exits whose instruction was re-executed (insn_exit.c) */
	uint64_t injected;     /* faults injected for guest instructions (#UD, #GP, #PF) */
	/* Speed-change propagation: the epoch count this CPU last read the clock under, and the
	 * real time from the newest change to this CPU's first read under it. */
	uint64_t epochs_seen;
	uint64_t switch_seen_cycles;
};

/* The guest's local-APIC timer as the guest programmed it, on the virtual timeline
 * (lapic_timer.c). Virtual times are this CPU's guest TSC values; 0 means none. */
struct vtimer {
	uint32_t lvt, initial, dcr; /* the guest's LVT timer, initial count, divide registers */
	uint64_t start;             /* virtual TSC when the count was (re)started */
	uint64_t deadline;          /* virtual TSC of the next expiry (one-shot, periodic) */
	uint64_t period;            /* virtual TSC ticks of one count-down (periodic) */
	uint64_t tsc_deadline;      /* the guest's IA32_TSC_DEADLINE (TSC-deadline mode) */
	uint64_t real_deadline;     /* real TSC the physical timer was programmed for; 0 none */
	uint32_t generation;        /* the speed generation the programming was computed under */
	uint8_t partial;            /* the real deadline is beyond the physical counter's reach */
	uint8_t hv_wake;            /* the physical timer carries the hypervisor's own wake-up */
	uint8_t wake_vector;        /* ... with this vector */
	uint8_t acked;              /* the guest's EOI for the timer's vector since programming */
	uint64_t programs, hv_wakes, redelivered; /* statistics for status */
};

/* The guest CPU's run state (Intel SDM vol. 3A, 8.4 "Multiple-Processor (MP)
 * Initialization": an AP waits for a startup IPI after INIT). */
enum vcpu_run_state {
	VCPU_OFFLINE,       /* not started by the hypervisor (not in the MADT, or failed) */
	VCPU_WAIT_FOR_SIPI, /* parked in the hypervisor until the guest sends a startup IPI */
	VCPU_RUNNING,
};

struct cpu {
	struct cpu *self; /* at offset 0: this_cpu() reads %gs:0 */
	unsigned index;
	uint32_t apic_id;
	volatile uint32_t run_state;    /* enum vcpu_run_state */
	volatile uint32_t pending_init; /* a guest INIT for this CPU awaits its next exit */
	volatile uint32_t pending_sipi; /* 0x100 | vector: a guest startup IPI for this CPU */
	volatile uint32_t nmi_for_guest; /* the host took an NMI: inject it at the next VMRUN */
	volatile uint32_t kick;          /* an NMI sent by the hypervisor itself (lapic_timer.c) */
	volatile uint32_t tsc_path;      /* enum tsc_path while in guest mode (tsc_scaling.c) */
	uint32_t tsc_programmed;         /* the path of the latest entry (status) */
	uint32_t tsc_floor_valid;
	uint32_t tsc_paths_logged;       /* bit per enum tsc_path: first use logged */
	uint64_t tsc_path_changes;       /* entries on another path than the one before */        /* trapped reads must not go below tsc_floor */
	uint64_t tsc_multiplier, tsc_offset; /* programmed for TSC_PATH_SCALED */
	uint64_t tsc_floor;
	uint64_t tsc_exit_value; /* the scaled TSC at the last exit from TSC_PATH_SCALED */
	volatile uint32_t host_vector;   /* 0x100 | vector: an interrupt the host took while idle */
	uint32_t inject_vector;          /* 0x100 | vector: to inject at the next VMRUN */
	uint32_t guest_icr_high;        /* the guest's last ICR high word (xAPIC destination) */
	uint32_t npt_generation_seen;   /* nested-paging changes this CPU's TLB has seen */
	uint64_t host_save_va;          /* page for the host's VMSAVE state (vmrun.S) */
	uint64_t host_save_pa;
	void *stack_top;
	struct guest_regs regs;
	void *vmcb;             /* vendor control block (VMCB) */
	uint64_t vmcb_pa;
	uint64_t hsave_pa;
	uint64_t exit_tsc;      /* real TSC when the current exit started */
	uint64_t reexec_rip;    /* RIP of the instruction being re-executed, and how often */
	unsigned reexec_count;
	struct exit_stats stats;
	struct vtimer timer;
	volatile uint32_t in_halt; /* in the idle halt right now (status) */
	uint32_t halt_ppr, halt_svr, halt_lvt; /* APIC state at the last halt (status) */
	uint32_t ppr_warned;
	uint64_t halts, halt_wakes; /* real HLTs of this CPU while the guest idled, and wake-ups */
	uint64_t interrupts_injected; /* interrupts taken while halted and injected */
};

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}
_Static_assert(__builtin_offsetof(struct cpu, self) == 0, "this_cpu() reads %gs:0");

/* The struct of CPU `index` (0 = the boot CPU); NULL beyond cpu_count(). */
struct cpu *cpu_at(unsigned index);
unsigned cpu_count(void);
/* Claims the next struct for a CPU with this APIC ID (boot CPU first); NULL when full. */
struct cpu *cpu_add(uint32_t apic_id);
/* Points this CPU's GS base at c. */
void cpu_set_current(struct cpu *c);
/* The CPU whose APIC ID this is, or NULL. */
struct cpu *cpu_by_apic_id(uint32_t apic_id);
const char *exit_kind_name(enum exit_kind kind);

#endif
