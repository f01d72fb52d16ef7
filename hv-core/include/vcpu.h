/*
 * vcpu.h - the one small interface through which generic code (policies, time, control,
 * hypercalls) acts on the guest CPU. Implemented per vendor (src/arch/svm/vcpu.c).
 */
#ifndef TSX_HV_VCPU_H
#define TSX_HV_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "insn_decode.h"
#include "npt.h"
#include "page_walk.h"

#define X86_VECTOR_DB 1
#define X86_VECTOR_NMI 2
#define X86_VECTOR_UD 6
#define X86_VECTOR_SS 12
#define X86_VECTOR_GP 13
#define X86_VECTOR_PF 14

#define RFLAGS_IF (1ull << 9)
#define RFLAGS_DF (1ull << 10)
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_VM (1ull << 17)
#define RFLAGS_AC (1ull << 18)

/* A segment register as generic code needs it (base, limit, and the attribute bits). */
struct vcpu_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type; /* descriptor type[3:0] */
	bool s, present, db, l, g;
	uint8_t dpl;
};

uint64_t vcpu_rip(struct cpu *c);
/* Continues the guest at `rip` after an emulated instruction: ends an interrupt shadow and,
 * with RFLAGS.TF, raises the single-step #DB the instruction would have. */
void vcpu_set_rip(struct cpu *c, uint64_t rip);
/* #DB with DR6.BS: a single-step trap (also after each iteration of a REP string). */
void vcpu_inject_single_step(struct cpu *c);
uint64_t vcpu_rflags(struct cpu *c);
unsigned vcpu_cpl(struct cpu *c);
/* 16, 32 or 64: the size of the code the guest is executing (CS.L with EFER.LMA, CS.D). */
unsigned vcpu_code_bits(struct cpu *c);
void vcpu_get_segment(struct cpu *c, enum x86_segment seg, struct vcpu_segment *out);
/* CR0, CR3, CR4, EFER and RFLAGS.AC for a guest page walk (the rest is filled by the caller). */
void vcpu_paging_state(struct cpu *c, struct paging_state *s);
/* The guest's EFER as the guest sees it, and a write of a value msr_policy has validated. */
uint64_t vcpu_efer(struct cpu *c);
void vcpu_set_efer(struct cpu *c, uint64_t efer);
/* The intercepted instruction's length as the CPU reported it (SVM: the saved next RIP, AMD
 * APM vol. 2, 15.7.1; VMX: the VM-exit instruction length); false where the CPU reports none
 * (QEMU TCG saves no next RIP) and the length must be decoded. */
bool vcpu_exit_insn_length(struct cpu *c, unsigned *length);
/* Moves RIP past the intercepted instruction whose decoded length is `length` (the CPU's
 * own next RIP is used where the CPU saves one). */
void vcpu_skip_instruction(struct cpu *c, unsigned length);
void vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error);
/* An external interrupt the host acknowledged on the guest's behalf (idle.c), delivered
 * through the guest's IDT at the next entry. False if the guest cannot take it now (IF clear,
 * interrupt shadow, another event pending): the caller gives it back to the APIC. */
bool vcpu_inject_interrupt(struct cpu *c, uint8_t vector);
/* Halts the physical CPU with interrupts open until an interrupt, NMI or SMI arrives.
 * Returns 0x100 | vector of the interrupt taken (at most one), or 0 (NMI, SMI). */
uint32_t vcpu_host_halt(struct cpu *c);
/* Opens interrupts for one instruction: takes a pending interrupt, if any (same result). */
uint32_t vcpu_host_take_interrupt(struct cpu *c);
/* #PF at `linear` with the error code (CR2 = linear, SDM vol. 3A, 6.15 "Interrupt 14"). */
void vcpu_inject_page_fault(struct cpu *c, uint64_t linear, uint32_t error);

/* Initial register state for a 64-bit entry (Linux boot protocol, "64-bit Boot Protocol"). */
struct vcpu_long_mode_entry {
	uint64_t rip, rsp, rsi;
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint16_t code_selector, data_selector;
	/* A firmware's own state (UEFI chain boot); zero = the defaults of a fresh 64-bit entry
	 * (no IDT, CR0 = PE|ET|NE|PG, CR4 = PAE, TR a null busy TSS, interrupts off). */
	uint64_t idt_base;
	uint16_t idt_limit;
	uint64_t cr0, cr4;
	uint64_t efer_nxe; /* EFER.NXE to keep, or 0 */
	uint16_t tr_selector;
	uint64_t tr_base;
	uint32_t tr_limit;
};
void vcpu_set_long_mode_entry(struct cpu *c, const struct vcpu_long_mode_entry *e);
/* Nested paging: sets the guest's access to the guest-physical page at gpa on every CPU
 * (npt.h; the APIC page is not accessible: every access exits). Returns 0 or -1. */
int vcpu_npt_set_access(uint64_t gpa, enum npt_access access);
/* A CPU started by a STARTUP IPI: real mode at vector << 12, registers as after INIT. */
void vcpu_set_startup_state(struct cpu *c, uint8_t vector);
/* A boot sector started as the BIOS starts one (chain_boot.h): real mode, caches on (CR0 =
 * ET only), CS:IP = 0:ip, SS:SP = 0:ip, DL = drive, interrupts off. */
void vcpu_set_boot_sector_entry(struct cpu *c, uint16_t ip, uint8_t drive);

#endif
