/* cpu.c - the per-CPU state array and exit-kind names (for status). */
#include "cpu.h"
#include "x86.h"

static struct cpu cpus[HV_MAX_CPUS];
static unsigned count;

struct cpu *cpu_at(unsigned index)
{
	return index < count ? &cpus[index] : 0;
}

unsigned cpu_count(void)
{
	return count;
}

/* Called by the boot CPU only, before any AP runs. */
struct cpu *cpu_add(uint32_t apic_id)
{
	if (count == HV_MAX_CPUS)
		return 0;
	struct cpu *c = &cpus[count];
	c->self = c;
	c->index = count++;
	c->apic_id = apic_id;
	c->reexec_rip = ~0ull;
	return c;
}

void cpu_set_current(struct cpu *c)
{
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)c);
}

struct cpu *cpu_by_apic_id(uint32_t apic_id)
{
	for (unsigned i = 0; i < count; i++)
		if (cpus[i].apic_id == apic_id)
			return &cpus[i];
	return 0;
}

const char *exit_kind_name(enum exit_kind kind)
{
	static const char *const names[EXIT_KIND_COUNT] = {
		[EXIT_KIND_CPUID] = "cpuid",         [EXIT_KIND_RDTSC] = "rdtsc",
		[EXIT_KIND_RDTSCP] = "rdtscp",       [EXIT_KIND_RDMSR] = "rdmsr",
		[EXIT_KIND_WRMSR] = "wrmsr",         [EXIT_KIND_IO] = "io",
		[EXIT_KIND_HLT] = "hlt",             [EXIT_KIND_HYPERCALL] = "hypercall",
		[EXIT_KIND_SVM_INSN] = "svm_insn",   [EXIT_KIND_SHUTDOWN] = "shutdown",
		[EXIT_KIND_APIC] = "apic",           [EXIT_KIND_SMI] = "smi",             [EXIT_KIND_NMI] = "nmi",
		[EXIT_KIND_TIMER] = "timer",
	};
	return (unsigned)kind < EXIT_KIND_COUNT ? names[kind] : "unknown";
}
