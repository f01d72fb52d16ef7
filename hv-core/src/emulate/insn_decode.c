/*
 * insn_decode.c - prefix and opcode decoding of the intercepted instructions (see
 * include/insn_decode.h). Legacy prefixes may come in any order and number; in 64-bit mode a
 * REX byte (40-4F) counts only when it immediately precedes the opcode, and one followed by
 * a legacy prefix is ignored but still part of the instruction (SDM vol. 2A, 2.2.1). In
 * 16- and 32-bit code 40-4F are INC/DEC, not prefixes.
 */
#include "insn_decode.h"

#define PREFIX_LOCK 0xF0
#define PREFIX_REPNE 0xF2
#define PREFIX_REP 0xF3
#define PREFIX_OPERAND_SIZE 0x66
#define PREFIX_ADDRESS_SIZE 0x67
#define OPCODE_ESCAPE 0x0F

static int segment_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: return SEG_ES;
	case 0x2E: return SEG_CS;
	case 0x36: return SEG_SS;
	case 0x3E: return SEG_DS;
	case 0x64: return SEG_FS;
	case 0x65: return SEG_GS;
	default: return -1;
	}
}

/* Two-byte opcodes 0F xx; the 0F 01 group is selected by its ModRM byte (mod = 11). */
static enum insn_op two_byte(uint8_t op, uint8_t modrm, bool *needs_modrm)
{
	*needs_modrm = false;
	switch (op) {
	case 0x31: return INSN_RDTSC;
	case 0xA2: return INSN_CPUID;
	case 0x32: return INSN_RDMSR;
	case 0x30: return INSN_WRMSR;
	case 0x01:
		*needs_modrm = true;
		switch (modrm) {
		case 0xF9: return INSN_RDTSCP;
		case 0xD9: return INSN_VMMCALL;
		case 0xC1: return INSN_VMCALL;
		default: return INSN_OTHER;
		}
	default: return INSN_OTHER;
	}
}

/* One-byte opcodes; *extra is the number of immediate bytes that follow. */
static enum insn_op one_byte(uint8_t op, unsigned *extra)
{
	*extra = 0;
	switch (op) {
	case 0xF4: return INSN_HLT;
	case 0xE4: case 0xE5: *extra = 1; return INSN_IN;
	case 0xE6: case 0xE7: *extra = 1; return INSN_OUT;
	case 0xEC: case 0xED: return INSN_IN;
	case 0xEE: case 0xEF: return INSN_OUT;
	case 0x6C: case 0x6D: return INSN_INS;
	case 0x6E: case 0x6F: return INSN_OUTS;
	default: return INSN_OTHER;
	}
}

unsigned insn_address_bits(unsigned code_bits, bool prefix)
{
	if (code_bits == 64)
		return prefix ? 32 : 64;
	if (code_bits == 32)
		return prefix ? 16 : 32;
	return prefix ? 32 : 16;
}

enum insn_status insn_scan_prefixes(const uint8_t *bytes, unsigned available, unsigned code_bits,
				    struct insn_prefixes *out)
{
	struct insn_prefixes p = { .segment = SEG_NONE };
	for (unsigned i = 0;; i++) {
		if (i >= INSN_MAX_LENGTH)
			return INSN_TOO_LONG;
		if (i >= available)
			return INSN_TRUNCATED;
		uint8_t b = bytes[i];
		int seg = segment_prefix(b);
		if (seg >= 0) {
			p.segment = (uint8_t)seg;
		} else if (b == PREFIX_LOCK) {
			p.lock = true;
		} else if (b == PREFIX_REP) {
			p.rep = true;
		} else if (b == PREFIX_REPNE) {
			p.repne = true;
		} else if (b == PREFIX_OPERAND_SIZE) {
			p.operand_size = true;
		} else if (b == PREFIX_ADDRESS_SIZE) {
			p.address_size = true;
		} else if (code_bits == 64 && (b & 0xF0) == 0x40) {
			p.rex = b;
			continue; /* a REX byte stays in effect only if the opcode follows */
		} else {
			p.count = i;
			*out = p;
			return INSN_OK;
		}
		p.rex = 0;
	}
}

enum insn_status insn_decode(const uint8_t *bytes, unsigned available, unsigned code_bits,
			     struct insn *out)
{
	struct insn_prefixes p;
	enum insn_status st = insn_scan_prefixes(bytes, available, code_bits, &p);
	if (st != INSN_OK)
		return st;
	struct insn in = { .op = INSN_OTHER, .segment = p.segment, .lock = p.lock, .rep = p.rep,
			   .repne = p.repne, .operand_size_prefix = p.operand_size,
			   .address_size_prefix = p.address_size, .rex = p.rex };
	unsigned i = p.count, length;
	if (bytes[i] == OPCODE_ESCAPE) {
		if (i + 1 >= INSN_MAX_LENGTH)
			return INSN_TOO_LONG;
		if (i + 1 >= available)
			return INSN_TRUNCATED;
		bool needs_modrm;
		uint8_t modrm = i + 2 < available ? bytes[i + 2] : 0;
		in.op = two_byte(bytes[i + 1], modrm, &needs_modrm);
		length = i + 2 + (needs_modrm ? 1 : 0);
		if (needs_modrm && i + 2 >= available)
			return length > INSN_MAX_LENGTH ? INSN_TOO_LONG : INSN_TRUNCATED;
	} else {
		unsigned extra;
		in.op = one_byte(bytes[i], &extra);
		length = i + 1 + extra;
	}
	if (length > INSN_MAX_LENGTH)
		return INSN_TOO_LONG;
	if (length > available)
		return INSN_TRUNCATED;
	in.length = length;
	in.address_bits = insn_address_bits(code_bits, in.address_size_prefix);
	*out = in;
	return INSN_OK;
}

bool insn_lock_faults(const struct insn *in)
{
	return in->lock;
}
