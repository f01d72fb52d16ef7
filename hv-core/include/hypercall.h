/*
 * hypercall.h - the guest -> hypervisor ABI (docs/hypercall.md). VMMCALL (AMD) / VMCALL
 * (Intel) with RAX = HYPERCALL_MAGIC | function. Arguments in RBX, RCX; results in RAX (0 or
 * a negative error), RBX, RCX, RDX.
 */
#ifndef TSX_HV_HYPERCALL_H
#define TSX_HV_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

#define HYPERCALL_ABI_VERSION 1u
#define HYPERCALL_MAGIC 0x5453584800000000ull /* "TSXH" in the high 32 bits */
#define HYPERCALL_MAGIC_MASK 0xFFFFFFFF00000000ull

#define HYPERCALL_PROBE 0u
#define HYPERCALL_STATUS 1u
#define HYPERCALL_SET_SPEED 2u
#define HYPERCALL_ARM 3u

#define HYPERCALL_OK 0
#define HYPERCALL_EUNKNOWN (-1) /* unknown function */
#define HYPERCALL_EINVAL (-2)   /* invalid argument (zero or out-of-range speed) */
#define HYPERCALL_EPERM (-3)    /* not permitted (reserved; no function returns it yet) */

#define HYPERCALL_STATUS_ARMED (1ull << 0)

struct hypercall_regs {
	uint64_t rax, rbx, rcx, rdx;
};

/* Handles one hypercall. Returns false if RAX does not carry the magic (the caller injects
 * #UD, as a CPU without a hypervisor would). */
bool hypercall_handle(struct hypercall_regs *r);

#endif
