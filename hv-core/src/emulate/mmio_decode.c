/*
 * mmio_decode.c - length and operands of the MOV/XCHG forms that access a device page (see
 * include/mmio_decode.h). Prefixes are scanned by insn_scan_prefixes (insn_decode.c), the
 * one place that knows their rules.
 */
#include "mmio_decode.h"

/* SDM vol. 2A, 2.2.1.2, Table 2-4 "REX Prefix Fields". */
#define REX_W 0x08
#define REX_R 0x04

/* ModRM and SIB (SDM vol. 2A, 2.1.5, Tables 2-1 to 2-3). */
#define MODRM_MOD(m) ((unsigned)(m) >> 6)
#define MODRM_REG(m) (((unsigned)(m) >> 3) & 7u)
#define MODRM_RM(m) ((unsigned)(m) & 7u)
#define SIB_BASE(s) ((unsigned)(s) & 7u)
#define MOD_NO_DISP 0      /* [base] (but see RM_DISP32, SIB_BASE_NONE, RM16_DISP16) */
#define MOD_DISP8 1        /* [base + disp8] */
#define MOD_DISP_FULL 2    /* [base + disp16/disp32] */
#define MOD_REGISTER 3     /* a register operand: no memory access */
#define RM_SIB 4           /* 32/64-bit addressing: a SIB byte follows */
#define RM_DISP32 5        /* with mod 00: disp32 alone, RIP-relative in 64-bit mode (2.2.1.6) */
#define SIB_BASE_NONE 5    /* with mod 00: no base register, disp32 (Table 2-3, note 1) */
#define RM16_DISP16 6      /* 16-bit addressing with mod 00: disp16 alone (Table 2-1) */
#define BYTE_REG_HIGH_FIRST 4 /* without REX, byte reg fields 4-7 are AH CH DH BH */

/* SDM vol. 2B, MOV and XCHG. */
#define OPCODE_XCHG_RM8_R8 0x86
#define OPCODE_XCHG_RM_R 0x87
#define OPCODE_MOV_RM8_R8 0x88
#define OPCODE_MOV_RM_R 0x89
#define OPCODE_MOV_R8_RM8 0x8A
#define OPCODE_MOV_R_RM 0x8B
#define OPCODE_MOV_AL_MOFFS8 0xA0
#define OPCODE_MOV_RAX_MOFFS 0xA1
#define OPCODE_MOV_MOFFS8_AL 0xA2
#define OPCODE_MOV_MOFFS_RAX 0xA3
#define OPCODE_MOV_RM8_IMM8 0xC6
#define OPCODE_MOV_RM_IMM 0xC7
#define MOV_IMM_MODRM_REG 0 /* C6 /0, C7 /0: other reg values are #UD, XABORT or XBEGIN */

enum operand_kind {
	OPERAND_REGISTER,  /* ModRM: the memory operand in r/m, the register in reg */
	OPERAND_IMMEDIATE, /* ModRM: the memory operand in r/m, an immediate after it */
	OPERAND_MOFFS,     /* no ModRM: an address-sized offset, and rAX */
};

struct form {
	enum mmio_op op;
	bool byte;
	enum operand_kind operand;
};

static bool opcode_form(uint8_t opcode, struct form *f)
{
	switch (opcode) {
	case OPCODE_XCHG_RM8_R8: *f = (struct form){ MMIO_XCHG, true, OPERAND_REGISTER }; return true;
	case OPCODE_XCHG_RM_R: *f = (struct form){ MMIO_XCHG, false, OPERAND_REGISTER }; return true;
	case OPCODE_MOV_RM8_R8: *f = (struct form){ MMIO_STORE, true, OPERAND_REGISTER }; return true;
	case OPCODE_MOV_RM_R: *f = (struct form){ MMIO_STORE, false, OPERAND_REGISTER }; return true;
	case OPCODE_MOV_R8_RM8: *f = (struct form){ MMIO_LOAD, true, OPERAND_REGISTER }; return true;
	case OPCODE_MOV_R_RM: *f = (struct form){ MMIO_LOAD, false, OPERAND_REGISTER }; return true;
	case OPCODE_MOV_AL_MOFFS8: *f = (struct form){ MMIO_LOAD, true, OPERAND_MOFFS }; return true;
	case OPCODE_MOV_RAX_MOFFS: *f = (struct form){ MMIO_LOAD, false, OPERAND_MOFFS }; return true;
	case OPCODE_MOV_MOFFS8_AL: *f = (struct form){ MMIO_STORE, true, OPERAND_MOFFS }; return true;
	case OPCODE_MOV_MOFFS_RAX: *f = (struct form){ MMIO_STORE, false, OPERAND_MOFFS }; return true;
	case OPCODE_MOV_RM8_IMM8: *f = (struct form){ MMIO_STORE, true, OPERAND_IMMEDIATE }; return true;
	case OPCODE_MOV_RM_IMM: *f = (struct form){ MMIO_STORE, false, OPERAND_IMMEDIATE }; return true;
	default: return false;
	}
}

/* The instruction bytes read so far. A byte at index 15 or beyond is #GP whether or not it is
 * available, so that check comes first (as in insn_decode). */
struct cursor {
	const uint8_t *bytes;
	unsigned available, pos;
};

static enum mmio_status next_byte(struct cursor *c, uint8_t *b)
{
	if (c->pos >= INSN_MAX_LENGTH)
		return MMIO_TOO_LONG;
	if (c->pos >= c->available)
		return MMIO_TRUNCATED;
	*b = c->bytes[c->pos++];
	return MMIO_OK;
}

/* The next n (at most 8) bytes as a little-endian number. */
static enum mmio_status next_le(struct cursor *c, unsigned n, uint64_t *value)
{
	*value = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t b;
		enum mmio_status st = next_byte(c, &b);
		if (st != MMIO_OK)
			return st;
		*value |= (uint64_t)b << (8 * i);
	}
	return MMIO_OK;
}

/* Steps over the SIB byte and displacement of a memory operand (mod != 11). */
static enum mmio_status skip_memory_operand(struct cursor *c, uint8_t modrm, unsigned address_bits)
{
	unsigned mod = MODRM_MOD(modrm), displacement;
	if (address_bits == 16) {
		bool disp16 = mod == MOD_DISP_FULL || (mod == MOD_NO_DISP && MODRM_RM(modrm) == RM16_DISP16);
		displacement = mod == MOD_DISP8 ? 1 : disp16 ? 2 : 0;
	} else {
		/* REX.B does not change these special cases: r/m 101 with mod 00 is RIP-relative
		 * and base 101 with mod 00 has no base, even when REX.B would make them R13. */
		bool disp32 = mod == MOD_DISP_FULL;
		if (MODRM_RM(modrm) == RM_SIB) {
			uint8_t sib;
			enum mmio_status st = next_byte(c, &sib);
			if (st != MMIO_OK)
				return st;
			disp32 = disp32 || (mod == MOD_NO_DISP && SIB_BASE(sib) == SIB_BASE_NONE);
		} else {
			disp32 = disp32 || (mod == MOD_NO_DISP && MODRM_RM(modrm) == RM_DISP32);
		}
		displacement = mod == MOD_DISP8 ? 1 : disp32 ? 4 : 0;
	}
	uint64_t ignored;
	return next_le(c, displacement, &ignored);
}

/* SDM vol. 1, 3.6 "Operand-size and address-size attributes"; 3.6.1 for 64-bit mode, where
 * REX.W wins over 66. */
static unsigned operand_size(unsigned code_bits, bool prefix, uint8_t rex)
{
	if (rex & REX_W)
		return 8;
	return prefix != (code_bits == 16) ? 2 : 4;
}

static void set_register_operand(struct mmio_insn *in, unsigned reg_field)
{
	if (in->size == 1 && !in->rex && reg_field >= BYTE_REG_HIGH_FIRST) {
		in->reg = (uint8_t)(reg_field - BYTE_REG_HIGH_FIRST);
		in->high_byte = true;
		return;
	}
	in->reg = (uint8_t)(reg_field | (in->rex & REX_R ? 8u : 0u));
}

/* C6 ib, C7 iw / id: the immediate is never 8 bytes; REX.W sign-extends imm32. */
static enum mmio_status read_immediate(struct cursor *c, struct mmio_insn *in)
{
	uint64_t imm;
	enum mmio_status st = next_le(c, in->size == 8 ? 4 : in->size, &imm);
	if (st != MMIO_OK)
		return st;
	in->immediate = in->size == 8 ? (uint64_t)(int64_t)(int32_t)(uint32_t)imm : imm;
	in->has_immediate = true;
	return MMIO_OK;
}

enum mmio_status mmio_decode(const uint8_t *bytes, unsigned available, unsigned code_bits,
			     struct mmio_insn *out)
{
	struct insn_prefixes p;
	switch (insn_scan_prefixes(bytes, available, code_bits, &p)) {
	case INSN_TOO_LONG:
		return MMIO_TOO_LONG;
	case INSN_TRUNCATED:
		return MMIO_TRUNCATED;
	case INSN_OK:
		break;
	}
	/* F2/F3 are XACQUIRE/XRELEASE hints or nothing on these opcodes: length only. */
	struct mmio_insn in = { .segment = p.segment, .lock = p.lock, .rex = p.rex };
	struct cursor c = { bytes, available, p.count + 1 };
	uint8_t opcode = bytes[p.count];
	enum mmio_status st;
	struct form form;
	if (!opcode_form(opcode, &form))
		return MMIO_UNSUPPORTED;
	in.op = form.op;
	in.address_bits = insn_address_bits(code_bits, p.address_size);
	in.size = form.byte ? 1 : operand_size(code_bits, p.operand_size, in.rex);
	if (form.operand == OPERAND_MOFFS) {
		uint64_t moffs; /* the address: the nested page fault already gives it */
		st = next_le(&c, in.address_bits / 8, &moffs);
		in.reg = MMIO_GPR_RAX;
	} else {
		uint8_t modrm;
		st = next_byte(&c, &modrm);
		if (st != MMIO_OK)
			return st;
		if (MODRM_MOD(modrm) == MOD_REGISTER)
			return MMIO_UNSUPPORTED;
		if (form.operand == OPERAND_IMMEDIATE && MODRM_REG(modrm) != MOV_IMM_MODRM_REG)
			return MMIO_UNSUPPORTED;
		st = skip_memory_operand(&c, modrm, in.address_bits);
		if (st == MMIO_OK && form.operand == OPERAND_IMMEDIATE)
			st = read_immediate(&c, &in);
		else if (st == MMIO_OK)
			set_register_operand(&in, MODRM_REG(modrm));
	}
	if (st != MMIO_OK)
		return st;
	in.length = c.pos;
	*out = in;
	return MMIO_OK;
}

bool mmio_lock_faults(const struct mmio_insn *in)
{
	return in->lock && in->op != MMIO_XCHG;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

uint64_t mmio_store_value(const struct mmio_insn *in, const uint64_t regs[MMIO_GPR_COUNT])
{
	uint64_t value = in->has_immediate ? in->immediate
			 : in->high_byte   ? regs[in->reg] >> 8
					   : regs[in->reg];
	return value & size_mask(in->size);
}

void mmio_apply_load(const struct mmio_insn *in, uint64_t regs[MMIO_GPR_COUNT], uint64_t value)
{
	if (in->op == MMIO_STORE)
		return;
	uint64_t *reg = &regs[in->reg];
	if (in->high_byte)
		*reg = (*reg & ~0xFF00ull) | ((value & 0xFF) << 8);
	else if (in->size == 4)
		*reg = (uint32_t)value;
	else
		*reg = (*reg & ~size_mask(in->size)) | (value & size_mask(in->size));
}
