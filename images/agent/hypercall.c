/* CPUID-based hypervisor detection and the VMMCALL/VMCALL instruction itself. */
#include "hypercall.h"
#include <string.h>
#include <sys/io.h>

/* CPUID leaf 0x40000000: the hypervisor vendor leaf (EBX:ECX:EDX = 12-byte signature). */
#define CPUID_HV_LEAF 0x40000000u
static const char HV_SIGNATURE[] = "tsx-hv-vtime";

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

void cpu_vendor(char out[13])
{
	uint32_t a, b, c, d;
	cpuid(0, &a, &b, &c, &d);
	/* Intel SDM vol. 2A, CPUID leaf 0: vendor is EBX, EDX, ECX in that order. */
	memcpy(out, &b, 4);
	memcpy(out + 4, &d, 4);
	memcpy(out + 8, &c, 4);
	out[12] = 0;
}

int hv_present(void)
{
	uint32_t a, b, c, d;
	char sig[12];
	cpuid(CPUID_HV_LEAF, &a, &b, &c, &d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	return memcmp(sig, HV_SIGNATURE, 12) == 0 && a >= CPUID_HV_LEAF;
}

/* ioperm(2) opens just the hypervisor's ports to this process (root or CAP_SYS_RAWIO); the
 * CPU then lets the OUT through at CPL 3 (Intel SDM vol. 1, 19.5.2 "I/O permission bit
 * map"), every other process still gets #GP. The permission is inherited across fork and
 * execve and survives a change of user, so it is open only for the one OUT: the commands the
 * agent runs (`exec`, `shell`) must never inherit it. */
static int port_open(void)
{
	return ioperm(TSXH_IO_PORT, TSXH_IO_PORT_COUNT, 1) == 0;
}

static void port_close(void)
{
	ioperm(TSXH_IO_PORT, TSXH_IO_PORT_COUNT, 0);
}

struct hc_result hypercall(uint64_t function, uint64_t rbx, uint64_t rcx)
{
	uint64_t request = TSXH_MAGIC | function;
	uint64_t rax = request, rdx = 0;
	struct hc_result r = { TSXH_AGENT_ENOPERM, 0, 0, 0 };
	if (!port_open())
		return r;
	__asm__ volatile("outl %%eax, $0xe4" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx) : : "memory");
	port_close();
	if (rax == request) {
		r.rax = TSXH_AGENT_ENOANSWER;
		return r;
	}
	r.rax = (int64_t)rax;
	r.rbx = rbx;
	r.rcx = rcx;
	r.rdx = rdx;
	return r;
}

const char *hc_error_name(int64_t rax)
{
	switch (rax) {
	case -1: return "unknown-function";
	case -2: return "invalid-argument";
	case -3: return "not-permitted";
	case TSXH_AGENT_ENOPERM: return "needs-root";
	case TSXH_AGENT_ENOANSWER: return "no-answer";
	default: return "hypercall-failed";
	}
}
