/*
 * hypercall.h - the guest -> hypervisor ABI (docs/hypercall.md). RAX = HYPERCALL_MAGIC |
 * function, arguments in RBX, RCX; results in RAX (0 or a negative error), RBX, RCX, RDX.
 * Two ways in, both privileged by the CPU itself:
 * - a 32-bit OUT to HYPERCALL_IO_PORT: the CPU refuses it (#GP) to code without I/O
 *   permission (CPL > IOPL and no TSS I/O bitmap grant, SDM vol. 1, 19.5), before any VM
 *   exit (SDM vol. 3C, 26.1.1; AMD APM vol. 2, 15.10.1), so in Linux only the kernel and
 *   root (ioperm/iopl, CAP_SYS_RAWIO) reach it;
 * - VMMCALL (AMD) / VMCALL (Intel) at CPL 0. At CPL > 0 the hypervisor raises #UD, as a CPU
 *   with no hypervisor does.
 */
#ifndef TSX_HV_HYPERCALL_H
#define TSX_HV_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

#define HYPERCALL_ABI_VERSION 2u
/* Ports HYPERCALL_IO_PORT..+3 belong to the hypervisor; only a 32-bit OUT to the first one
 * with the magic in RAX is a hypercall, every other access finds an empty port. Below
 * 0x400 so that ioperm(2) can grant it to one process. */
#define HYPERCALL_IO_PORT 0x00E4u
#define HYPERCALL_IO_PORT_COUNT 4u
#define HYPERCALL_MAGIC 0x5453584800000000ull /* "TSXH" in the high 32 bits */
#define HYPERCALL_MAGIC_MASK 0xFFFFFFFF00000000ull

#define HYPERCALL_PROBE 0u
#define HYPERCALL_STATUS 1u
#define HYPERCALL_SET_SPEED 2u
#define HYPERCALL_ARM 3u
/* RBX = a tag: the hypervisor writes "mark TAG cpu N real R virtual V" on its own port (the
 * guest's log rate limit applies), pairing a moment of the guest with the machine's real TSC
 * without telling the guest the real TSC (the guest agent's `clock`, docs/hypercall.md). */
#define HYPERCALL_MARK 4u

#define HYPERCALL_OK 0
#define HYPERCALL_EUNKNOWN (-1) /* unknown function */
#define HYPERCALL_EINVAL (-2)   /* invalid argument (zero or out-of-range speed) */
#define HYPERCALL_EPERM (-3)    /* not permitted (reserved; no function returns it yet) */

#define HYPERCALL_STATUS_ARMED (1ull << 0)

struct hypercall_regs {
	unsigned cpu; /* the calling CPU */
	uint64_t rax, rbx, rcx, rdx;
};

/* Handles one hypercall. Returns false if RAX does not carry the magic (the caller injects
 * #UD, as a CPU without a hypervisor would). */
bool hypercall_handle(struct hypercall_regs *r);

/* Hooks HYPERCALL_IO_PORT (call before the vendor code builds its I/O permission map). */
void hypercall_port_init(void);

#endif
