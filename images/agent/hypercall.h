/* Guest side of the tsx-hv hypercall ABI (docs/hypercall.md, COMMON contract).
 * RAX = 0x5453584800000000 | function; VMMCALL on AMD, VMCALL on Intel. */
#ifndef TSX_HV_AGENT_HYPERCALL_H
#define TSX_HV_AGENT_HYPERCALL_H
#include <stdint.h>

#define TSXH_MAGIC 0x5453584800000000ULL
#define TSXH_FN_PROBE 0
#define TSXH_FN_STATUS 1
#define TSXH_FN_SET_SPEED 2
#define TSXH_FN_ARM 3

/* Result of a hypercall: rax is 0 on success or a negative error code. */
struct hc_result {
	int64_t rax;
	uint64_t rbx, rcx, rdx;
};

/* 1 when CPUID leaf 0x40000000 carries the "tsx-hv-vtime" signature. Never issues a hypercall. */
int hv_present(void);
/* CPU vendor string from CPUID leaf 0 (13 bytes incl. NUL). */
void cpu_vendor(char out[13]);
/* Issue a hypercall. Callers must check hv_present() first: without the hypervisor, VMMCALL and
 * VMCALL raise #UD (AMD APM vol. 3, VMMCALL; Intel SDM vol. 2B, VMCALL). */
struct hc_result hypercall(uint64_t function, uint64_t rbx, uint64_t rcx);
/* Short name of an error code returned in RAX: "unknown-function", "invalid-argument", ... */
const char *hc_error_name(int64_t rax);

#endif
