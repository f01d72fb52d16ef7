/* Guest side of the tsx-hv hypercall ABI (docs/hypercall.md, COMMON contract).
 * RAX = 0x5453584800000000 | function, issued from user space through the privileged I/O
 * port channel: a 32-bit OUT to port 0xE4 after ioperm(2), which needs root
 * (CAP_SYS_RAWIO). VMMCALL/VMCALL work only in the guest kernel (CPL 0). */
#ifndef TSX_HV_AGENT_HYPERCALL_H
#define TSX_HV_AGENT_HYPERCALL_H
#include <stdint.h>

#define TSXH_MAGIC 0x5453584800000000ULL
#define TSXH_FN_PROBE 0
#define TSXH_FN_STATUS 1
#define TSXH_FN_SET_SPEED 2
#define TSXH_FN_ARM 3
#define TSXH_FN_MARK 4
#define TSXH_IO_PORT 0xE4
#define TSXH_IO_PORT_COUNT 4
/* Agent-side errors (not returned by the hypervisor): ioperm was refused (not root), or the
 * OUT came back unanswered (no tsx-hv behind the port). */
#define TSXH_AGENT_ENOPERM (-100)
#define TSXH_AGENT_ENOANSWER (-101)

/* Result of a hypercall: rax is 0 on success or a negative error code. */
struct hc_result {
	int64_t rax;
	uint64_t rbx, rcx, rdx;
};

/* 1 when CPUID leaf 0x40000000 carries the "tsx-hv-vtime" signature. Never issues a hypercall. */
int hv_present(void);
/* CPU vendor string from CPUID leaf 0 (13 bytes incl. NUL). */
void cpu_vendor(char out[13]);
/* Issue a hypercall through the I/O port. Callers check hv_present() first; on a machine without
 * tsx-hv the OUT goes to an empty port and RAX comes back unchanged (TSXH_AGENT_ENOANSWER). */
struct hc_result hypercall(uint64_t function, uint64_t rbx, uint64_t rcx);
/* Short name of an error code returned in RAX: "unknown-function", "invalid-argument", ... */
const char *hc_error_name(int64_t rax);

#endif
