/*
 * mmio_decode.h - decoding of the memory-access instructions a guest uses on a device page
 * the hypervisor write-protects (the xAPIC registers at 0xFEE00000), so that the access
 * behind a nested page fault can be emulated: which way data moves, how many bytes, which
 * register or immediate, and the instruction's length to advance RIP by.
 *
 * Linux writes APIC registers with MOV r/m, reg (89, typically an absolute disp32 through a
 * SIB byte, 89 14 25 00 c3 5f ff, or RIP-relative), MOV r/m, imm32 (C7 /0), XCHG r/m, reg
 * (87, on CPUs with the 11AP erratum), and reads them with MOV reg, r/m (8B). Also decoded:
 * the byte forms (88 8A C6 86) and MOV between rAX and a moffs (A0-A3).
 *
 * The memory address is not computed: the nested page fault gives the guest-physical
 * address. Prefixes, ModRM, SIB, displacement (including 16-bit addressing) and immediates
 * are decoded only as far as the length and operands need.
 * Pure: no hardware access, host unit-tested and fuzzed (hv-core/tests).
 * Intel SDM vol. 2A, 2.1 "Instruction format", 2.2.1 "REX prefixes"; vol. 2B, MOV, XCHG.
 */
#ifndef TSX_HV_MMIO_DECODE_H
#define TSX_HV_MMIO_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "insn_decode.h" /* INSN_MAX_LENGTH, enum x86_segment */

/* General-purpose registers in the encoding order of ModRM.reg extended by REX.R (SDM
 * vol. 2A, 3.1.1.1, Table 3-1): the index into the register file the helpers below take. */
enum mmio_gpr {
	MMIO_GPR_RAX, MMIO_GPR_RCX, MMIO_GPR_RDX, MMIO_GPR_RBX,
	MMIO_GPR_RSP, MMIO_GPR_RBP, MMIO_GPR_RSI, MMIO_GPR_RDI,
	MMIO_GPR_R8,  MMIO_GPR_R9,  MMIO_GPR_R10, MMIO_GPR_R11,
	MMIO_GPR_R12, MMIO_GPR_R13, MMIO_GPR_R14, MMIO_GPR_R15,
	MMIO_GPR_COUNT
};

enum mmio_op {
	MMIO_STORE, /* 88 89 C6 C7 A2 A3: write the register or the immediate */
	MMIO_LOAD,  /* 8A 8B A0 A1: read into the register */
	MMIO_XCHG,  /* 86 87: read into the register, write its old value */
};

enum mmio_status {
	MMIO_OK,
	MMIO_TRUNCATED,   /* the bytes end before the instruction does */
	MMIO_TOO_LONG,    /* longer than 15 bytes: #GP(0) */
	MMIO_UNSUPPORTED, /* another instruction, a register (mod = 11) operand, or C6/C7 with
			     ModRM.reg other than 0 (#UD) */
};

struct mmio_insn {
	enum mmio_op op;
	unsigned length; /* bytes, 1 to INSN_MAX_LENGTH */
	unsigned size;   /* bytes accessed: 1, 2, 4 or 8 */
	bool lock;       /* a LOCK prefix is present: see mmio_lock_faults */
	/* The register operand (not for C6/C7): an enum mmio_gpr. With high_byte, the operand is
	 * bits 15:8 of that register: AH, CH, DH or BH, which byte forms name by the reg field
	 * values 4-7 when there is no REX prefix (SDM vol. 2A, 2.2.1.2 and Table 3-1). */
	uint8_t reg;
	bool high_byte;
	bool has_immediate;     /* C6, C7: the stored value is `immediate` */
	uint64_t immediate;     /* already sized: imm8, imm16, imm32, or imm32 sign-extended */
	uint8_t rex;            /* the REX prefix in effect, or 0 */
	uint8_t segment;        /* enum x86_segment: the last segment override, or SEG_NONE */
	unsigned address_bits;  /* 16, 32 or 64 */
};

/* Decodes the instruction at bytes[0..available) for a CPU executing code of `code_bits`
 * (16, 32 or 64: CS.D / CS.L with EFER.LMA). Never reads past `available` or past byte 15. */
enum mmio_status mmio_decode(const uint8_t *bytes, unsigned available, unsigned code_bits,
			     struct mmio_insn *out);

/* LOCK is legal only on XCHG (which locks anyway); on MOV it is #UD (SDM vol. 2A, 2.1.1).
 * Returns true if the decoded instruction raises #UD for it. */
bool mmio_lock_faults(const struct mmio_insn *in);

/* The value a store writes, and the value an XCHG writes (read it before mmio_apply_load):
 * the register operand or the immediate, truncated to in->size bytes. */
uint64_t mmio_store_value(const struct mmio_insn *in, const uint64_t regs[MMIO_GPR_COUNT]);

/* Puts what a load (or an XCHG) read, `value`, into the register operand as the CPU does
 * (SDM vol. 1, 3.4.1.1): a 4-byte result zero-extends into all 64 bits; 1- and 2-byte results
 * (and AH-BH) leave the other bits alone. Does nothing for MMIO_STORE. */
void mmio_apply_load(const struct mmio_insn *in, uint64_t regs[MMIO_GPR_COUNT], uint64_t value);

#endif
