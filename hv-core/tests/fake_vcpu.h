/*
 * fake_vcpu.h - a test double for the CPU, for host tests of the vendor-neutral exit layer
 * (hv_exits_test.c): the guest CPU's state as the vendor interface (include/vcpu.h,
 * include/arch.h) shows it, kept in plain structs, and the physical CPU behind the
 * instruction wrappers (fake_cpu.h): its CPUID leaves, MSRs, TSC and I/O ports.
 */
#ifndef TSX_HV_TESTS_FAKE_VCPU_H
#define TSX_HV_TESTS_FAKE_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "insn_decode.h"
#include "x86.h"

/* An event injected into the guest (the last one wins, as in a VMCB's EVENTINJ). */
struct fake_event {
	bool valid;
	uint8_t vector;
	bool has_error;
	uint32_t error;
};

/* The guest CPU: what a VMCB or VMCS holds for the vcpu.h functions. c->vmcb points here. */
struct fake_guest {
	uint64_t rip, rflags, efer, cr0;
	unsigned cpl, code_bits;
	/* The instruction length the CPU reports with the exit (SVM NRIP save); 0 for none,
	 * as under QEMU TCG. */
	unsigned reported_length;
	uint8_t code[INSN_MAX_LENGTH]; /* the readable bytes at RIP */
	unsigned code_length;
	struct fake_event event;
	unsigned dumps; /* arch_dump_guest calls */
};

/* A fresh struct cpu in 64-bit code at CPL 0 (RIP 0x1000), attached to a fresh guest. */
void fake_vcpu_reset(struct cpu *c, struct fake_guest *g);
/* The bytes the guest has at RIP. */
void fake_vcpu_set_code(struct fake_guest *g, const uint8_t *bytes, unsigned n);

/*
 * The vendor this build of the double plays: exits.cmake builds the same tests twice,
 * hv_exits_test_svm and hv_exits_test_vmx (-DFAKE_VENDOR_VMX), so every generic handler is
 * checked under both vendors' rules. What differs is what the vendor code tells the exit layer:
 * - FAKE_PRIVATE_MSR: one of the vendor's own MSRs (arch_msr_is_private), present on the fake
 *   CPU, so that only the policy can refuse it: VM_CR (APM vol. 2, 15.30.1) for SVM,
 *   IA32_VMX_BASIC (SDM vol. 3D, A.1) for VT-x.
 * - the hypercall instruction: VMMCALL (0F 01 D9) under SVM, VMCALL (0F 01 C1) under VT-x; the
 *   other vendor's is FAKE_OTHER_HYPERCALL.
 */
#ifdef FAKE_VENDOR_VMX
#define FAKE_VENDOR "vmx"
#define FAKE_PRIVATE_MSR 0x480u
#define FAKE_PRIVATE_MSR_FIRST 0x480u
#define FAKE_PRIVATE_MSR_LAST 0x491u
#define FAKE_HYPERCALL "\x0F\x01\xC1"
#define FAKE_HYPERCALL_INSN INSN_VMCALL
#define FAKE_OTHER_HYPERCALL "\x0F\x01\xD9"
#define FAKE_OTHER_HYPERCALL_INSN INSN_VMMCALL
#else
#define FAKE_VENDOR "svm"
#define FAKE_PRIVATE_MSR 0xC0010114u
#define FAKE_PRIVATE_MSR_FIRST 0xC0010114u
#define FAKE_PRIVATE_MSR_LAST 0xC0010117u
#define FAKE_HYPERCALL "\x0F\x01\xD9"
#define FAKE_HYPERCALL_INSN INSN_VMMCALL
#define FAKE_OTHER_HYPERCALL "\x0F\x01\xC1"
#define FAKE_OTHER_HYPERCALL_INSN INSN_VMCALL
#endif

/* One IN or OUT the fake CPU executed on a real port. */
struct fake_port_access {
	uint16_t port;
	unsigned size;
	bool out;
	uint32_t value;
};
#define FAKE_MAX_PORT_ACCESSES 8

struct fake_cpu {
	uint64_t tsc; /* what RDTSC returns */
	struct {
		uint32_t leaf;
		struct cpuid_regs regs;
	} cpuid[8];
	unsigned cpuid_count;
	struct {
		uint32_t msr;
		uint64_t value;
	} msr[8];
	unsigned msr_count;
	uint32_t port_value; /* what every IN from a real port reads (cut to its size) */
	struct fake_port_access ports[FAKE_MAX_PORT_ACCESSES];
	unsigned port_count;
};
extern struct fake_cpu fake_cpu;

/* Empties the fake CPU: no CPUID leaves (all zeros), no MSRs (#GP), TSC 0. */
void fake_cpu_reset(void);
void fake_cpu_set_cpuid(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx);
void fake_cpu_set_msr(uint32_t msr, uint64_t value);
/* The MSR's value on the fake CPU; false if it has none. */
bool fake_cpu_msr(uint32_t msr, uint64_t *value);

#endif
