/* cpu.c - the per-CPU state array and exit-kind names (for status). */
#include "cpu.h"

static struct cpu cpus[HV_MAX_CPUS];

/* One CPU in this slice; with SMP this becomes a lookup by APIC ID (or GS base). */
struct cpu *this_cpu(void)
{
	return &cpus[0];
}

const char *exit_kind_name(enum exit_kind kind)
{
	static const char *const names[EXIT_KIND_COUNT] = {
		[EXIT_KIND_CPUID] = "cpuid",         [EXIT_KIND_RDTSC] = "rdtsc",
		[EXIT_KIND_RDTSCP] = "rdtscp",       [EXIT_KIND_RDMSR] = "rdmsr",
		[EXIT_KIND_WRMSR] = "wrmsr",         [EXIT_KIND_IO] = "io",
		[EXIT_KIND_HLT] = "hlt",             [EXIT_KIND_HYPERCALL] = "hypercall",
		[EXIT_KIND_SVM_INSN] = "svm_insn",   [EXIT_KIND_SHUTDOWN] = "shutdown",
	};
	return (unsigned)kind < EXIT_KIND_COUNT ? names[kind] : "unknown";
}
