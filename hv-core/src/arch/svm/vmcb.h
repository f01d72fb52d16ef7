/*
 * vmcb.h - the Virtual Machine Control Block layout (AMD APM vol. 2, Appendix B "Layout of
 * VMCB": table B-1 control area, table B-2 state save area) and the SVM constants this
 * hypervisor uses. Private to src/arch/svm.
 */
#ifndef TSX_HV_SVM_VMCB_H
#define TSX_HV_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

struct vmcb_segment {
	uint16_t selector;
	uint16_t attrib; /* compressed: type[3:0] S[4] DPL[6:5] P[7] AVL[8] L[9] DB[10] G[11] */
	uint32_t limit;
	uint64_t base;
} __attribute__((packed));

struct vmcb_control {
	uint16_t intercept_cr_read;     /* 0x000 */
	uint16_t intercept_cr_write;    /* 0x002 */
	uint16_t intercept_dr_read;     /* 0x004 */
	uint16_t intercept_dr_write;    /* 0x006 */
	uint32_t intercept_exceptions;  /* 0x008 */
	uint32_t intercept_misc1;       /* 0x00C */
	uint32_t intercept_misc2;       /* 0x010 */
	uint32_t intercept_misc3;       /* 0x014 */
	uint8_t reserved1[0x03C - 0x018];
	uint16_t pause_filter_threshold; /* 0x03C */
	uint16_t pause_filter_count;     /* 0x03E */
	uint64_t iopm_base_pa;          /* 0x040 */
	uint64_t msrpm_base_pa;         /* 0x048 */
	uint64_t tsc_offset;            /* 0x050 */
	uint32_t guest_asid;            /* 0x058 */
	uint8_t tlb_control;            /* 0x05C */
	uint8_t reserved2[3];
	uint64_t vintr;                 /* 0x060 */
	uint64_t interrupt_shadow;      /* 0x068 */
	uint64_t exit_code;             /* 0x070 */
	uint64_t exit_info1;            /* 0x078 */
	uint64_t exit_info2;            /* 0x080 */
	uint64_t exit_int_info;         /* 0x088 */
	uint64_t np_enable;             /* 0x090 */
	uint8_t reserved3[0x0A8 - 0x098];
	uint64_t event_inject;          /* 0x0A8 */
	uint64_t n_cr3;                 /* 0x0B0 */
	uint64_t lbr_virtualization;    /* 0x0B8 */
	uint64_t clean_bits;            /* 0x0C0 */
	uint64_t next_rip;              /* 0x0C8 */
	uint8_t insn_bytes_fetched;     /* 0x0D0 */
	uint8_t insn_bytes[15];         /* 0x0D1 */
	uint8_t reserved4[0x400 - 0x0E0];
} __attribute__((packed));

struct vmcb_save {
	struct vmcb_segment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 */
	uint8_t reserved1[0x4CB - 0x4A0];
	uint8_t cpl;                    /* 0x4CB */
	uint32_t reserved2;
	uint64_t efer;                  /* 0x4D0 */
	uint8_t reserved3[0x548 - 0x4D8];
	uint64_t cr4;                   /* 0x548 */
	uint64_t cr3;                   /* 0x550 */
	uint64_t cr0;                   /* 0x558 */
	uint64_t dr7;                   /* 0x560 */
	uint64_t dr6;                   /* 0x568 */
	uint64_t rflags;                /* 0x570 */
	uint64_t rip;                   /* 0x578 */
	uint8_t reserved4[0x5D8 - 0x580];
	uint64_t rsp;                   /* 0x5D8 */
	uint8_t reserved5[0x5F8 - 0x5E0];
	uint64_t rax;                   /* 0x5F8 */
	uint64_t star;                  /* 0x600 */
	uint64_t lstar;                 /* 0x608 */
	uint64_t cstar;                 /* 0x610 */
	uint64_t sfmask;                /* 0x618 */
	uint64_t kernel_gs_base;        /* 0x620 */
	uint64_t sysenter_cs;           /* 0x628 */
	uint64_t sysenter_esp;          /* 0x630 */
	uint64_t sysenter_eip;          /* 0x638 */
	uint64_t cr2;                   /* 0x640 */
	uint8_t reserved6[0x668 - 0x648];
	uint64_t g_pat;                 /* 0x668 */
	uint8_t reserved7[0x1000 - 0x670];
} __attribute__((packed));

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __attribute__((packed));

_Static_assert(offsetof(struct vmcb, control.iopm_base_pa) == 0x040, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.exit_code) == 0x070, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.event_inject) == 0x0A8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, control.next_rip) == 0x0C8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4CB, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4D0, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5D8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5F8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB layout");
_Static_assert(sizeof(struct vmcb) == 0x1000, "VMCB is one 4 KiB page");

/* Intercept vector 3 (offset 0x00C), table B-1. */
#define SVM_INTERCEPT_INTR (1u << 0)
#define SVM_INTERCEPT_NMI (1u << 1)
#define SVM_INTERCEPT_SMI (1u << 2)
#define SVM_INTERCEPT_RDTSC (1u << 14)
#define SVM_INTERCEPT_CPUID (1u << 18)
#define SVM_INTERCEPT_HLT (1u << 24)
#define SVM_INTERCEPT_INVLPGA (1u << 26)
#define SVM_INTERCEPT_IOIO_PROT (1u << 27)
#define SVM_INTERCEPT_MSR_PROT (1u << 28)
#define SVM_INTERCEPT_SHUTDOWN (1u << 31)
/* Intercept vector 4 (offset 0x010). */
#define SVM_INTERCEPT_VMRUN (1u << 0)
#define SVM_INTERCEPT_VMMCALL (1u << 1)
#define SVM_INTERCEPT_VMLOAD (1u << 2)
#define SVM_INTERCEPT_VMSAVE (1u << 3)
#define SVM_INTERCEPT_STGI (1u << 4)
#define SVM_INTERCEPT_CLGI (1u << 5)
#define SVM_INTERCEPT_SKINIT (1u << 6)
#define SVM_INTERCEPT_RDTSCP (1u << 7)

/* Exit codes, APM vol. 2, Appendix C "SVM Intercept Exit Codes". */
#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_SMI 0x062
#define SVM_EXIT_RDTSC 0x06E
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPGA 0x07A
#define SVM_EXIT_IOIO 0x07B
#define SVM_EXIT_MSR 0x07C
#define SVM_EXIT_SHUTDOWN 0x07F
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_RDTSCP 0x087
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID ((uint64_t)-1)

/* IOIO EXITINFO1, APM vol. 2, 15.10.2 "IN and OUT Behavior". */
#define SVM_IOIO_TYPE_IN (1u << 0)
#define SVM_IOIO_STR (1u << 2)
#define SVM_IOIO_REP (1u << 3)
#define SVM_IOIO_SZ8 (1u << 4)
#define SVM_IOIO_SZ16 (1u << 5)
#define SVM_IOIO_SZ32 (1u << 6)
#define SVM_IOIO_PORT_SHIFT 16

#define TLB_CONTROL_FLUSH_ALL 1 /* TLB_CONTROL: flush every ASID (APM vol. 2, 15.16.1) */

/* INTERRUPT_SHADOW bit 0: the guest is in an interrupt shadow (APM vol. 2, 15.21.5). */
#define SVM_INTERRUPT_SHADOW 1ull

/* EVENTINJ, APM vol. 2, 15.20 "Event Injection". */
#define SVM_EVENT_VALID (1ull << 31)
#define SVM_EVENT_TYPE_NMI (2ull << 8)
#define SVM_EVENT_TYPE_EXCEPTION (3ull << 8)
#define SVM_EVENT_ERROR_VALID (1ull << 11)

#define SVM_MSRPM_SIZE 0x2000
#define SVM_IOPM_SIZE 0x3000

#endif
