/*
 * smp_apic CASE...: hostile writes to the xAPIC page (0xFEE00000) through an mmap of /dev/mem,
 * run as root in the guest. The hypervisor write-protects that page in the nested page tables
 * and decodes every write (docs/hypervisor.md, "Every CPU"): MOV forms are emulated, anything
 * else must become #GP for the writer (a signal here), never a hypervisor panic.
 *
 *   icr DEST LOW   ICR high = DEST << 24, then ICR low = LOW, back to back in this process, so
 *                  both halves land in the same CPU's APIC (pin it with taskset)
 *   write64        a 64-bit MOV to ICR high (0x310..0x317)
 *   unaligned      a 32-bit MOV to 0x311
 *   stosb          REP STOSB of 4 zero bytes to 0x310
 *   movdqu         a 16-byte SSE store to 0x310
 *   read           reads the APIC ID and version registers (reads are not trapped)
 *   sleep S        sleeps S seconds (between IPIs, so the host can look at `status`)
 *
 * icr, read and sleep run in this process: a CPU parked by an INIT never answers the TLB
 * shootdown a fork or an exit may need. icr prints `case=icr dest=D low=L cpu=K sent` before
 * the write. The writes that must fault run in a forked child; the parent prints
 *   case=NAME cpu=K result=completed|SIGSEGV|SIGBUS|signal-N|exit-N
 * No libc (guest_harness.h).
 */
#include "guest_harness.h"

#define SYS_nanosleep 35
#define SYS_getcpu 309
#define APIC_BASE 0xFEE00000ul
#define APIC_ID 0x020
#define APIC_LVR 0x030
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define O_SYNC 0x101000

static volatile u8 *apic;

static long current_cpu(void)
{
	unsigned cpu = ~0u;
	sys(SYS_getcpu, &cpu, 0, 0);
	return cpu;
}

static u64 parse(const char *s)
{
	u64 v = 0;
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2, base = 16;
	for (;; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : 99;
		if (d >= base)
			return v;
		v = v * (u64)base + (u64)d;
	}
}

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void sleep_s(long s)
{
	long ts[2] = { s, 0 };
	sys(SYS_nanosleep, ts, 0, 0);
}

/* The writes the hypervisor cannot emulate; returns 0 if the name is not one of them. */
static int fault_case(const char *name)
{
	volatile u8 *icr_high = apic + APIC_ICR_HIGH;
	if (same(name, "write64")) {
		*(volatile u64 *)icr_high = 0;
	} else if (same(name, "unaligned")) {
		*(volatile u32 *)(icr_high + 1) = 0;
	} else if (same(name, "stosb")) {
		void *dst = (void *)icr_high;
		unsigned long count = 4;
		__asm__ volatile("rep stosb" : "+D"(dst), "+c"(count) : "a"(0) : "memory");
	} else if (same(name, "movdqu")) {
		__asm__ volatile("pxor %%xmm0, %%xmm0\n\tmovdqu %%xmm0, (%0)" : : "r"(icr_high) : "xmm0", "memory");
	} else {
		return 0;
	}
	return 1;
}

static void put_outcome(int status)
{
	int sig = status & 0x7f;
	if (sig == 0) {
		put((status >> 8) & 0xff ? "exit-" : "completed");
		if ((status >> 8) & 0xff)
			put_dec((status >> 8) & 0xff);
	} else if (sig == 11) {
		put("SIGSEGV");
	} else if (sig == 7) {
		put("SIGBUS");
	} else {
		put("signal-");
		put_dec(sig);
	}
}

ENTRY(apic_main);
int apic_main(long argc, char **argv)
{
	long fd = sys(SYS_open, "/dev/mem", O_RDWR | O_SYNC, 0);
	if (fd < 0) {
		put("open /dev/mem failed: ");
		put_dec(fd);
		put("\n");
		return 3;
	}
	long at = sys6(SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (long)APIC_BASE);
	if (at < 0 && at > -4096) {
		put("mmap of the APIC page failed: ");
		put_dec(at);
		put("\n");
		return 3;
	}
	apic = (volatile u8 *)at;
	for (long i = 1; i < argc; i++) {
		const char *name = argv[i];
		if (same(name, "read")) {
			put("apic_id=0x");
			put_hex(*(volatile u32 *)(apic + APIC_ID) >> 24);
			put(" version=0x");
			put_hex(*(volatile u32 *)(apic + APIC_LVR));
			put(" cpu=");
			put_dec(current_cpu());
			put("\n");
		} else if (same(name, "sleep") && i + 1 < argc) {
			sleep_s((long)parse(argv[++i]));
		} else if (same(name, "icr") && i + 2 < argc) {
			u32 dest = (u32)parse(argv[i + 1]), low = (u32)parse(argv[i + 2]);
			put("case=icr dest=");
			put(argv[i + 1]);
			put(" low=");
			put(argv[i + 2]);
			put(" cpu=");
			put_dec(current_cpu());
			put(" sent\n");
			*(volatile u32 *)(apic + APIC_ICR_HIGH) = dest << 24;
			*(volatile u32 *)(apic + APIC_ICR_LOW) = low;
			i += 2;
		} else {
			long child = sys(SYS_fork, 0, 0, 0);
			if (child == 0)
				sys_exit(fault_case(name) ? 0 : 2);
			int status = 0;
			sys6(SYS_wait4, child, (long)&status, 0, 0, 0, 0);
			put("case=");
			put(name);
			put(" cpu=");
			put_dec(current_cpu());
			put(" result=");
			put_outcome(status);
			put("\n");
		}
	}
	return 0;
}
