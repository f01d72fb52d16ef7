/*
 * insn_decode.h - decoding of the few instructions the hypervisor intercepts, with every
 * legacy and REX prefix, so that it can advance RIP by the real length where the CPU gives
 * no next RIP (QEMU TCG saves none, PLATFORM-FACTS.md) and raise the fault the CPU would
 * (LOCK on a non-memory instruction is #UD; more than 15 bytes is #GP).
 * Pure: no hardware access, host unit-tested and fuzzed (hv-core/tests).
 * Intel SDM vol. 2A, 2.1 "Instruction format", 2.2.1 "REX prefixes"; AMD APM vol. 3, 1.2.
 */
#ifndef TSX_HV_INSN_DECODE_H
#define TSX_HV_INSN_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#define INSN_MAX_LENGTH 15

enum insn_op {
	INSN_OTHER,   /* an instruction this decoder does not know */
	INSN_RDTSC,   /* 0F 31 */
	INSN_RDTSCP,  /* 0F 01 F9 */
	INSN_CPUID,   /* 0F A2 */
	INSN_RDMSR,   /* 0F 32 */
	INSN_WRMSR,   /* 0F 30 */
	INSN_HLT,     /* F4 */
	INSN_VMMCALL, /* 0F 01 D9 */
	INSN_VMCALL,  /* 0F 01 C1 */
	INSN_IN,      /* E4 E5 EC ED */
	INSN_OUT,     /* E6 E7 EE EF */
	INSN_INS,     /* 6C 6D */
	INSN_OUTS,    /* 6E 6F */
};

/* Segment registers in the encoding order of the SDM (Sreg field). */
enum x86_segment { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 0xFF };

enum insn_status {
	INSN_OK,
	INSN_TRUNCATED, /* the bytes end before the instruction does */
	INSN_TOO_LONG,  /* longer than 15 bytes: #GP(0) */
};

/* The legacy and REX prefixes before an opcode (any order and number; a REX byte counts
 * only right before the opcode, SDM vol. 2A, 2.2.1). */
struct insn_prefixes {
	unsigned count; /* prefix bytes: the opcode is bytes[count] */
	bool lock, rep, repne, operand_size, address_size;
	uint8_t segment; /* enum x86_segment: the last segment-override prefix, or SEG_NONE */
	uint8_t rex;     /* the REX prefix in effect, or 0 */
};

/* Scans the prefixes; INSN_OK guarantees the opcode byte bytes[count] is available and
 * within 15 bytes. Shared by every decoder of guest instructions (insn_decode, mmio_decode). */
enum insn_status insn_scan_prefixes(const uint8_t *bytes, unsigned available, unsigned code_bits,
				    struct insn_prefixes *out);
/* The effective address size (16, 32 or 64) for code of `code_bits` with or without 67. */
unsigned insn_address_bits(unsigned code_bits, bool address_size_prefix);

struct insn {
	enum insn_op op;
	unsigned length;
	bool lock, rep, repne, operand_size_prefix, address_size_prefix;
	uint8_t segment; /* enum x86_segment: the last segment-override prefix, or SEG_NONE */
	uint8_t rex;     /* the REX prefix in effect (immediately before the opcode), or 0 */
	unsigned address_bits; /* effective address size: 16, 32 or 64 */
};

/* Decodes the instruction at bytes[0..available) for a CPU executing code of `code_bits`
 * (16, 32 or 64: CS.D / CS.L with EFER.LMA). */
enum insn_status insn_decode(const uint8_t *bytes, unsigned available, unsigned code_bits,
			     struct insn *out);

/* The fault a CPU raises for this decoded instruction before executing it: LOCK on any of
 * the instructions above is #UD (SDM vol. 2A, 2.1.1 "LOCK prefix"). Returns true if so. */
bool insn_lock_faults(const struct insn *in);

#endif
