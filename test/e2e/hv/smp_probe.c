/*
 * smp_probe: run pinned to one CPU (taskset -c K), it reads the hypervisor's CPUID leaf
 * 0x40000000 and reports the signature together with the CPU it ran on:
 *   cpu=K sig=tsx-hv-vtime max_leaf=0x4000000N
 * getcpu(2) before and after the CPUID: a migration in between shows as exit 2 instead of a
 * wrong attribution. No libc (guest_harness.h).
 */
#include "guest_harness.h"

#define SYS_getcpu 309

static unsigned current_cpu(void)
{
	unsigned cpu = ~0u;
	sys(SYS_getcpu, &cpu, 0, 0);
	return cpu;
}

ENTRY(probe_main);
int probe_main(long argc, char **argv)
{
	(void)argc;
	(void)argv;
	unsigned before = current_cpu();
	u32 regs[4];
	__asm__ volatile("cpuid" : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3]) : "a"(0x40000000u), "c"(0));
	char sig[13];
	memcpy(sig, &regs[1], 4);
	memcpy(sig + 4, &regs[2], 4);
	memcpy(sig + 8, &regs[3], 4);
	sig[12] = 0;
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '?';
	unsigned after = current_cpu();
	put("cpu=");
	put_dec(after);
	put(" sig=");
	put(sig);
	put(" max_leaf=0x");
	put_hex(regs[0]);
	put("\n");
	return before == after ? 0 : 2;
}
