/* MMIO instruction decoding (hv-core/src/emulate/mmio_decode.c). */
#include "mmio_decode.h"
#include "unit.h"

static bool same_insn(const struct mmio_insn *a, const struct mmio_insn *b)
{
	return a->op == b->op && a->length == b->length && a->size == b->size &&
	       a->lock == b->lock && a->reg == b->reg && a->high_byte == b->high_byte &&
	       a->has_immediate == b->has_immediate && a->immediate == b->immediate &&
	       a->rex == b->rex && a->segment == b->segment && a->address_bits == b->address_bits;
}

/* Decodes an instruction that must be OK with exactly `length` bytes, and TRUNCATED with
 * every shorter prefix of them (which also shows it reads no byte it was not given). */
static struct mmio_insn decode_exact(const uint8_t *b, unsigned n, unsigned bits, unsigned length)
{
	struct mmio_insn in;
	memset(&in, 0xAA, sizeof(in));
	CHECK_EQ_U64(mmio_decode(b, n, bits, &in), MMIO_OK);
	CHECK_EQ_U64(in.length, length);
	struct mmio_insn again;
	CHECK_EQ_U64(mmio_decode(b, length, bits, &again), MMIO_OK);
	CHECK(same_insn(&in, &again));
	for (unsigned k = 0; k < length; k++) {
		uint8_t *copy = malloc(k ? k : 1); /* exact size: ASan catches an over-read */
		memcpy(copy, b, k);
		CHECK_EQ_U64(mmio_decode(copy, k, bits, &again), MMIO_TRUNCATED);
		free(copy);
	}
	return in;
}

static enum mmio_status decode_status(const uint8_t *b, unsigned n, unsigned bits)
{
	struct mmio_insn in;
	return mmio_decode(b, n, bits, &in);
}

#define DECODE(bits, length, ...)                                                         \
	({                                                                                \
		static const uint8_t bytes_[] = { __VA_ARGS__ };                          \
		decode_exact(bytes_, sizeof(bytes_), bits, length);                       \
	})

TEST(linux_apic_write_through_an_absolute_sib_address)
{
	/* mov %edx, 0xffffffffff5fc300 (native_apic_mem_write with the fixmap address) */
	struct mmio_insn in = DECODE(64, 7, 0x89, 0x14, 0x25, 0x00, 0xc3, 0x5f, 0xff);
	CHECK_EQ_U64(in.op, MMIO_STORE);
	CHECK_EQ_U64(in.size, 4);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RDX);
	CHECK(!in.high_byte);
	CHECK(!in.has_immediate);
	CHECK(!in.lock);
	CHECK(!mmio_lock_faults(&in));
	CHECK_EQ_U64(in.segment, SEG_NONE);
	CHECK_EQ_U64(in.address_bits, 64);
}

TEST(rip_relative_is_disp32_in_64_bit_code_and_absolute_in_32)
{
	struct mmio_insn in = DECODE(64, 6, 0x89, 0x05, 0x10, 0x20, 0x30, 0x40, 0x90);
	CHECK_EQ_U64(in.op, MMIO_STORE);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
	in = DECODE(32, 6, 0x89, 0x0d, 0x00, 0x03, 0xe0, 0xfe);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RCX);
	CHECK_EQ_U64(in.address_bits, 32);
	/* REX.B does not turn r/m 101 into [r13]: still RIP-relative with disp32. */
	in = DECODE(64, 7, 0x41, 0x89, 0x05, 0x00, 0x00, 0x00, 0x00);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
}

TEST(mov_immediate_to_memory)
{
	/* movl $0x0, 0xfee000b0 via RIP-relative disp32: C7 /0 id */
	struct mmio_insn in = DECODE(64, 10, 0xc7, 0x05, 0x00, 0x00, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12);
	CHECK_EQ_U64(in.op, MMIO_STORE);
	CHECK_EQ_U64(in.size, 4);
	CHECK(in.has_immediate);
	CHECK_EQ_U64(in.immediate, 0x12345678);
	/* movl $0x8ff, 0xf0(%rax): disp8 then imm32 */
	in = DECODE(64, 7, 0xc7, 0x40, 0xf0, 0xff, 0x08, 0x00, 0x00);
	CHECK_EQ_U64(in.immediate, 0x8ff);
	/* movl $-1, 0xffffffffff5fc0b0 through SIB absolute */
	in = DECODE(64, 11, 0xc7, 0x04, 0x25, 0xb0, 0xc0, 0x5f, 0xff, 0xff, 0xff, 0xff, 0xff);
	CHECK_EQ_U64(in.immediate, 0xffffffff);
	CHECK_EQ_U64(in.size, 4);
}

TEST(mov_immediate_sizes_and_sign_extension)
{
	struct mmio_insn in = DECODE(64, 7, 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff);
	CHECK_EQ_U64(in.size, 8);
	CHECK_EQ_U64(in.immediate, 0xfffffffffffffffeull);
	in = DECODE(64, 7, 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0x7f);
	CHECK_EQ_U64(in.immediate, 0x7fffffff);
	in = DECODE(64, 5, 0x66, 0xc7, 0x00, 0x34, 0x12);
	CHECK_EQ_U64(in.size, 2);
	CHECK_EQ_U64(in.immediate, 0x1234);
	in = DECODE(64, 3, 0xc6, 0x00, 0x80);
	CHECK_EQ_U64(in.size, 1);
	CHECK_EQ_U64(in.immediate, 0x80);
	/* 16-bit code: C7 takes imm16 unless 66 makes it 32-bit. */
	in = DECODE(16, 4, 0xc7, 0x07, 0x34, 0x12);
	CHECK_EQ_U64(in.size, 2);
	CHECK_EQ_U64(in.immediate, 0x1234);
	in = DECODE(16, 7, 0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12);
	CHECK_EQ_U64(in.size, 4);
	CHECK_EQ_U64(in.immediate, 0x12345678);
}

TEST(xchg_and_the_lock_prefix)
{
	/* xchg %edx, 0xffffffffff5fc300 (the 11AP erratum path) */
	struct mmio_insn in = DECODE(64, 7, 0x87, 0x14, 0x25, 0x00, 0xc3, 0x5f, 0xff);
	CHECK_EQ_U64(in.op, MMIO_XCHG);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RDX);
	CHECK_EQ_U64(in.size, 4);
	in = DECODE(64, 3, 0xf0, 0x87, 0x10);
	CHECK(in.lock);
	CHECK(!mmio_lock_faults(&in));
	in = DECODE(64, 3, 0xf0, 0x89, 0x10);
	CHECK(in.lock);
	CHECK(mmio_lock_faults(&in));
	in = DECODE(64, 3, 0xf0, 0x8b, 0x10);
	CHECK(mmio_lock_faults(&in));
	in = DECODE(64, 4, 0xf0, 0xc6, 0x00, 0x01);
	CHECK(mmio_lock_faults(&in));
	in = DECODE(64, 10, 0xf0, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK(mmio_lock_faults(&in));
	in = DECODE(64, 2, 0x86, 0x08);
	CHECK_EQ_U64(in.op, MMIO_XCHG);
	CHECK_EQ_U64(in.size, 1);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RCX);
}

TEST(loads_with_mov_from_memory)
{
	/* mov 0x330(%rdi), %eax */
	struct mmio_insn in = DECODE(64, 6, 0x8b, 0x87, 0x30, 0x03, 0x00, 0x00);
	CHECK_EQ_U64(in.op, MMIO_LOAD);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
	CHECK_EQ_U64(in.size, 4);
	/* mov 0xffffffffff5fc020, %eax (native_apic_mem_read) */
	in = DECODE(64, 7, 0x8b, 0x04, 0x25, 0x20, 0xc0, 0x5f, 0xff);
	CHECK_EQ_U64(in.op, MMIO_LOAD);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
	/* mov (%rax), %r9 */
	in = DECODE(64, 3, 0x4c, 0x8b, 0x08);
	CHECK_EQ_U64(in.reg, MMIO_GPR_R9);
	CHECK_EQ_U64(in.size, 8);
}

TEST(rex_r_selects_r8_to_r15_and_rex_b_only_changes_the_address)
{
	struct mmio_insn in = DECODE(64, 3, 0x44, 0x89, 0x00); /* mov %r8d, (%rax) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_R8);
	CHECK_EQ_U64(in.rex, 0x44);
	in = DECODE(64, 3, 0x41, 0x89, 0x07); /* mov %eax, (%r15) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
	in = DECODE(64, 4, 0x45, 0x89, 0x3c, 0x24); /* mov %r15d, (%r12): SIB */
	CHECK_EQ_U64(in.reg, MMIO_GPR_R15);
	in = DECODE(64, 4, 0x4c, 0x89, 0x6d, 0x08); /* mov %r13, 0x8(%rbp) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_R13);
	CHECK_EQ_U64(in.size, 8);
	in = DECODE(64, 4, 0x41, 0x89, 0x45, 0x00); /* mov %eax, 0x0(%r13): mod 01 needed */
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
	in = DECODE(64, 8, 0x46, 0x89, 0x24, 0x8d, 0x00, 0x00, 0xe0, 0xfe); /* r12d, (,%r9,4) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_R12);
}

TEST(sib_forms_with_and_without_a_base)
{
	CHECK_EQ_U64(DECODE(64, 3, 0x89, 0x04, 0x24).reg, MMIO_GPR_RAX);       /* (%rsp) */
	CHECK_EQ_U64(DECODE(64, 4, 0x89, 0x5c, 0x24, 0x08).reg, MMIO_GPR_RBX); /* 8(%rsp) */
	DECODE(64, 7, 0x89, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00);              /* 0x100(%rsp) */
	DECODE(64, 7, 0x89, 0x04, 0x8d, 0x00, 0x00, 0xe0, 0xfe);              /* (,%rcx,4) */
	DECODE(64, 3, 0x89, 0x04, 0x88);                                      /* (%rax,%rcx,4) */
	DECODE(64, 4, 0x89, 0x44, 0x25, 0x08);       /* base 101 with mod 01: 8(%rbp) */
	DECODE(64, 7, 0x89, 0x84, 0x25, 0, 0, 0, 0); /* base 101 with mod 10: disp32(%rbp) */
	DECODE(64, 8, 0x41, 0x89, 0x04, 0x25, 0, 0, 0, 0); /* REX.B: still no base */
	DECODE(32, 7, 0x89, 0x14, 0x25, 0x00, 0x03, 0xe0, 0xfe);
}

TEST(disp8_and_disp32_without_sib)
{
	DECODE(64, 2, 0x89, 0x10);
	DECODE(64, 3, 0x89, 0x50, 0x20);                   /* 0x20(%rax) */
	DECODE(64, 6, 0x89, 0x90, 0x00, 0x03, 0x00, 0x00); /* 0x300(%rax) */
	DECODE(64, 3, 0x89, 0x55, 0xf0);                   /* -0x10(%rbp) */
}

TEST(sixteen_bit_addressing)
{
	struct mmio_insn in = DECODE(16, 2, 0x89, 0x07); /* mov %ax, (%bx) */
	CHECK_EQ_U64(in.size, 2);
	CHECK_EQ_U64(in.address_bits, 16);
	DECODE(16, 4, 0x89, 0x06, 0x00, 0x03); /* mod 00 r/m 110: disp16 alone */
	DECODE(16, 3, 0x89, 0x47, 0x08);       /* 8(%bx) */
	DECODE(16, 4, 0x89, 0x87, 0x00, 0x03); /* disp16(%bx) */
	DECODE(16, 2, 0x89, 0x04);             /* (%si): r/m 100 is no SIB in 16-bit */
	DECODE(16, 3, 0x89, 0x46, 0x00);       /* 0(%bp): mod 01 r/m 110 */
	in = DECODE(16, 3, 0x66, 0x89, 0x07);
	CHECK_EQ_U64(in.size, 4);
	/* 67 in 32-bit code selects 16-bit addressing; in 16-bit code 32-bit with SIB. */
	in = DECODE(32, 5, 0x67, 0x89, 0x06, 0x00, 0x03);
	CHECK_EQ_U64(in.address_bits, 16);
	in = DECODE(16, 4, 0x67, 0x89, 0x04, 0x24);
	CHECK_EQ_U64(in.address_bits, 32);
	/* 67 in 64-bit code is 32-bit addressing: the same ModRM rules, disp32 from r/m 101. */
	in = DECODE(64, 7, 0x67, 0x89, 0x05, 0, 0, 0, 0);
	CHECK_EQ_U64(in.address_bits, 32);
}

TEST(byte_registers_ah_to_bh_need_no_rex)
{
	struct mmio_insn in = DECODE(64, 2, 0x88, 0x20); /* mov %ah, (%rax) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
	CHECK(in.high_byte);
	in = DECODE(64, 2, 0x8a, 0x38); /* mov (%rax), %bh */
	CHECK_EQ_U64(in.op, MMIO_LOAD);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RBX);
	CHECK(in.high_byte);
	in = DECODE(64, 3, 0x40, 0x88, 0x20); /* mov %spl, (%rax) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_RSP);
	CHECK(!in.high_byte);
	in = DECODE(64, 3, 0x44, 0x88, 0x20); /* mov %r12b, (%rax) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_R12);
	CHECK(!in.high_byte);
	in = DECODE(64, 2, 0x88, 0x18); /* mov %bl, (%rax) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_RBX);
	CHECK(!in.high_byte);
	in = DECODE(32, 2, 0x88, 0x28); /* mov %ch, (%eax) */
	CHECK_EQ_U64(in.reg, MMIO_GPR_RCX);
	CHECK(in.high_byte);
	in = DECODE(64, 2, 0x89, 0x20); /* mov %esp, (%rax): not a byte form */
	CHECK_EQ_U64(in.reg, MMIO_GPR_RSP);
	CHECK(!in.high_byte);
}

TEST(operand_size_prefixes)
{
	CHECK_EQ_U64(DECODE(64, 3, 0x66, 0x89, 0x10).size, 2);
	CHECK_EQ_U64(DECODE(64, 3, 0x48, 0x89, 0x10).size, 8);
	CHECK_EQ_U64(DECODE(64, 4, 0x66, 0x48, 0x89, 0x10).size, 8); /* REX.W wins over 66 */
	struct mmio_insn in = DECODE(64, 4, 0x48, 0x66, 0x89, 0x10); /* REX not last: ignored */
	CHECK_EQ_U64(in.size, 2);
	CHECK_EQ_U64(in.rex, 0);
	CHECK_EQ_U64(DECODE(64, 3, 0x66, 0x88, 0x10).size, 1);
	CHECK_EQ_U64(DECODE(64, 3, 0x48, 0x88, 0x10).size, 1);
	CHECK_EQ_U64(DECODE(32, 2, 0x89, 0x10).size, 4);
	CHECK_EQ_U64(DECODE(16, 2, 0x89, 0x07).size, 2);
}

TEST(other_prefixes_count_in_the_length)
{
	struct mmio_insn in = DECODE(64, 4, 0x64, 0xf3, 0x89, 0x10); /* fs, XRELEASE */
	CHECK_EQ_U64(in.segment, SEG_FS);
	in = DECODE(64, 5, 0x2e, 0x65, 0xf2, 0x87, 0x10);
	CHECK_EQ_U64(in.segment, SEG_GS);
	CHECK_EQ_U64(in.op, MMIO_XCHG);
}

TEST(moffs_forms)
{
	struct mmio_insn in = DECODE(64, 9, 0xa3, 0x00, 0x03, 0xe0, 0xfe, 0, 0, 0, 0);
	CHECK_EQ_U64(in.op, MMIO_STORE);
	CHECK_EQ_U64(in.size, 4);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
	CHECK(!in.has_immediate);
	in = DECODE(64, 6, 0x67, 0xa3, 0x00, 0x03, 0xe0, 0xfe);
	CHECK_EQ_U64(in.address_bits, 32);
	in = DECODE(64, 10, 0x48, 0xa1, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0);
	CHECK_EQ_U64(in.op, MMIO_LOAD);
	CHECK_EQ_U64(in.size, 8);
	/* REX.B does not make it r8: A1 always names rAX. */
	in = DECODE(64, 10, 0x49, 0xa1, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0);
	CHECK_EQ_U64(in.reg, MMIO_GPR_RAX);
	in = DECODE(32, 5, 0xa1, 0x20, 0x00, 0xe0, 0xfe);
	CHECK_EQ_U64(in.size, 4);
	in = DECODE(32, 4, 0x67, 0xa1, 0x20, 0x00);
	CHECK_EQ_U64(in.address_bits, 16);
	in = DECODE(16, 3, 0xa1, 0x20, 0x00);
	CHECK_EQ_U64(in.size, 2);
	in = DECODE(16, 7, 0x66, 0x67, 0xa3, 0x00, 0x03, 0xe0, 0xfe);
	CHECK_EQ_U64(in.size, 4);
	CHECK_EQ_U64(in.address_bits, 32);
	in = DECODE(64, 9, 0xa2, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK_EQ_U64(in.op, MMIO_STORE);
	CHECK_EQ_U64(in.size, 1);
	CHECK(!in.high_byte);
	in = DECODE(64, 9, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK_EQ_U64(in.op, MMIO_LOAD);
	CHECK_EQ_U64(in.size, 1);
}

TEST(other_instructions_are_unsupported)
{
	static const uint8_t reg_reg[] = { 0x89, 0xc0 };            /* mov %eax, %eax */
	static const uint8_t c7_reg1[] = { 0xc7, 0x08, 0, 0, 0, 0 }; /* C7 /1: #UD */
	static const uint8_t xbegin[] = { 0xc7, 0xf8, 0, 0, 0, 0 };
	static const uint8_t add[] = { 0x01, 0x10 };
	static const uint8_t movnti[] = { 0x0f, 0xc3, 0x10 };
	static const uint8_t movs[] = { 0xa5 };
	static const uint8_t vex[] = { 0xc5, 0xf9, 0x7e, 0x00 };
	static const uint8_t dec_in_32_bit[] = { 0x48, 0x89, 0x10 }; /* 48 is DEC EAX there */
	static const uint8_t xchg_reg[] = { 0x87, 0xd0 };
	CHECK_EQ_U64(decode_status(reg_reg, sizeof(reg_reg), 64), MMIO_UNSUPPORTED);
	CHECK_EQ_U64(decode_status(c7_reg1, sizeof(c7_reg1), 64), MMIO_UNSUPPORTED);
	CHECK_EQ_U64(decode_status(xbegin, sizeof(xbegin), 64), MMIO_UNSUPPORTED);
	CHECK_EQ_U64(decode_status(add, sizeof(add), 64), MMIO_UNSUPPORTED);
	CHECK_EQ_U64(decode_status(movnti, sizeof(movnti), 64), MMIO_UNSUPPORTED);
	CHECK_EQ_U64(decode_status(movs, sizeof(movs), 64), MMIO_UNSUPPORTED);
	CHECK_EQ_U64(decode_status(vex, sizeof(vex), 64), MMIO_UNSUPPORTED);
	CHECK_EQ_U64(decode_status(dec_in_32_bit, sizeof(dec_in_32_bit), 32), MMIO_UNSUPPORTED);
	CHECK_EQ_U64(decode_status(xchg_reg, sizeof(xchg_reg), 64), MMIO_UNSUPPORTED);
}

TEST(fifteen_bytes_is_the_limit)
{
	uint8_t b[24];
	struct mmio_insn in;
	/* 8 prefixes + 89 14 25 disp32 = 15 bytes: legal. */
	memset(b, 0x3e, sizeof(b));
	memcpy(b + 8, (const uint8_t[]){ 0x89, 0x14, 0x25, 0x00, 0xc3, 0x5f, 0xff }, 7);
	CHECK_EQ_U64(mmio_decode(b, 15, 64, &in), MMIO_OK);
	CHECK_EQ_U64(in.length, 15);
	/* 9 prefixes: 16 bytes, #GP, whether or not the last byte is there. */
	memset(b, 0x3e, sizeof(b));
	memcpy(b + 9, (const uint8_t[]){ 0x89, 0x14, 0x25, 0x00, 0xc3, 0x5f, 0xff }, 7);
	CHECK_EQ_U64(mmio_decode(b, 16, 64, &in), MMIO_TOO_LONG);
	CHECK_EQ_U64(mmio_decode(b, 15, 64, &in), MMIO_TOO_LONG);
	CHECK_EQ_U64(mmio_decode(b, 14, 64, &in), MMIO_TRUNCATED);
	/* An immediate past byte 15: 5 prefixes + C7 04 25 disp32 imm32 = 16. */
	memset(b, 0x2e, sizeof(b));
	memcpy(b + 5, (const uint8_t[]){ 0xc7, 0x04, 0x25, 0, 0, 0, 0, 1, 2, 3, 4 }, 11);
	CHECK_EQ_U64(mmio_decode(b, 16, 64, &in), MMIO_TOO_LONG);
	/* Nothing but prefixes. */
	memset(b, 0x66, sizeof(b));
	CHECK_EQ_U64(mmio_decode(b, sizeof(b), 64, &in), MMIO_TOO_LONG);
	CHECK_EQ_U64(mmio_decode(b, 3, 64, &in), MMIO_TRUNCATED);
	CHECK_EQ_U64(mmio_decode(b, 0, 64, &in), MMIO_TRUNCATED);
}

static const uint64_t sample_regs[MMIO_GPR_COUNT] = {
	0x1111111111111111, 0x2222222222222222, 0x0123456789abcdef, 0x4444444444448844,
	0x5555555555555555, 0x6666666666666666, 0x7777777777777777, 0x8888888888888888,
	0x9999999999999999, 0xaaaaaaaaaaaaaaaa, 0xbbbbbbbbbbbbbbbb, 0xcccccccccccccccc,
	0xdddddddddddddddd, 0xfedcba9876543210, 0xeeeeeeeeeeeeeeee, 0xffffffffffffffff,
};

TEST(the_stored_value_is_the_sized_register_or_immediate)
{
	struct mmio_insn in = DECODE(64, 7, 0x89, 0x14, 0x25, 0x00, 0xc3, 0x5f, 0xff);
	CHECK_EQ_U64(mmio_store_value(&in, sample_regs), 0x89abcdef);
	in = DECODE(64, 4, 0x4c, 0x89, 0x6d, 0x08);
	CHECK_EQ_U64(mmio_store_value(&in, sample_regs), 0xfedcba9876543210);
	in = DECODE(64, 4, 0x66, 0x44, 0x89, 0x28); /* mov %r13w, (%rax) */
	CHECK_EQ_U64(mmio_store_value(&in, sample_regs), 0x3210);
	in = DECODE(64, 2, 0x88, 0x3a); /* mov %bh, (%rdx) */
	CHECK_EQ_U64(mmio_store_value(&in, sample_regs), 0x88);
	in = DECODE(64, 2, 0x88, 0x1a); /* mov %bl, (%rdx) */
	CHECK_EQ_U64(mmio_store_value(&in, sample_regs), 0x44);
	in = DECODE(64, 7, 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff);
	CHECK_EQ_U64(mmio_store_value(&in, sample_regs), 0xfffffffffffffffeull);
	in = DECODE(64, 6, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff);
	CHECK_EQ_U64(mmio_store_value(&in, sample_regs), 0xfffffffe);
	in = DECODE(64, 9, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK_EQ_U64(mmio_store_value(&in, sample_regs), 0x11111111);
}

TEST(loads_merge_into_the_register_as_the_cpu_does)
{
	uint64_t regs[MMIO_GPR_COUNT];
	memcpy(regs, sample_regs, sizeof(regs));
	struct mmio_insn in = DECODE(64, 3, 0x8b, 0x04, 0x24); /* mov (%rsp), %eax */
	mmio_apply_load(&in, regs, 0xcafef00d);
	CHECK_EQ_U64(regs[MMIO_GPR_RAX], 0xcafef00d); /* 32-bit: upper half zeroed */
	in = DECODE(64, 4, 0x66, 0x8b, 0x4f, 0x10); /* mov 0x10(%rdi), %cx */
	mmio_apply_load(&in, regs, 0xbeef);
	CHECK_EQ_U64(regs[MMIO_GPR_RCX], 0x222222222222beef);
	in = DECODE(64, 2, 0x8a, 0x10); /* mov (%rax), %dl */
	mmio_apply_load(&in, regs, 0x1ab);
	CHECK_EQ_U64(regs[MMIO_GPR_RDX], 0x0123456789abcdab);
	in = DECODE(64, 2, 0x8a, 0x30); /* mov (%rax), %dh */
	mmio_apply_load(&in, regs, 0x5a);
	CHECK_EQ_U64(regs[MMIO_GPR_RDX], 0x0123456789ab5aab);
	in = DECODE(64, 3, 0x4c, 0x8b, 0x38); /* mov (%rax), %r15 */
	mmio_apply_load(&in, regs, 0x0102030405060708);
	CHECK_EQ_U64(regs[MMIO_GPR_R15], 0x0102030405060708);
	in = DECODE(64, 3, 0x44, 0x8b, 0x30); /* mov (%rax), %r14d */
	mmio_apply_load(&in, regs, 0xffffffff00000001);
	CHECK_EQ_U64(regs[MMIO_GPR_R14], 1);
	in = DECODE(64, 3, 0x89, 0x14, 0x24); /* a store leaves the registers alone */
	mmio_apply_load(&in, regs, 0);
	CHECK_EQ_U64(regs[MMIO_GPR_RDX], 0x0123456789ab5aab);
}

TEST(xchg_writes_the_old_register_and_loads_memory)
{
	uint64_t regs[MMIO_GPR_COUNT];
	memcpy(regs, sample_regs, sizeof(regs));
	struct mmio_insn in = DECODE(64, 7, 0x87, 0x14, 0x25, 0x00, 0xc3, 0x5f, 0xff);
	uint64_t written = mmio_store_value(&in, regs);
	mmio_apply_load(&in, regs, 0x00000300);
	CHECK_EQ_U64(written, 0x89abcdef);
	CHECK_EQ_U64(regs[MMIO_GPR_RDX], 0x300);
	in = DECODE(64, 2, 0x86, 0x20); /* xchg %ah, (%rax) */
	CHECK_EQ_U64(mmio_store_value(&in, regs), 0x11);
	mmio_apply_load(&in, regs, 0x77);
	CHECK_EQ_U64(regs[MMIO_GPR_RAX], 0x1111111111117711);
}

RUN_TESTS(UNIT_CASE(linux_apic_write_through_an_absolute_sib_address),
	  UNIT_CASE(rip_relative_is_disp32_in_64_bit_code_and_absolute_in_32),
	  UNIT_CASE(mov_immediate_to_memory),
	  UNIT_CASE(mov_immediate_sizes_and_sign_extension),
	  UNIT_CASE(xchg_and_the_lock_prefix),
	  UNIT_CASE(loads_with_mov_from_memory),
	  UNIT_CASE(rex_r_selects_r8_to_r15_and_rex_b_only_changes_the_address),
	  UNIT_CASE(sib_forms_with_and_without_a_base),
	  UNIT_CASE(disp8_and_disp32_without_sib),
	  UNIT_CASE(sixteen_bit_addressing),
	  UNIT_CASE(byte_registers_ah_to_bh_need_no_rex),
	  UNIT_CASE(operand_size_prefixes),
	  UNIT_CASE(other_prefixes_count_in_the_length),
	  UNIT_CASE(moffs_forms),
	  UNIT_CASE(other_instructions_are_unsupported),
	  UNIT_CASE(fifteen_bytes_is_the_limit),
	  UNIT_CASE(the_stored_value_is_the_sized_register_or_immediate),
	  UNIT_CASE(loads_merge_into_the_register_as_the_cpu_does),
	  UNIT_CASE(xchg_writes_the_old_register_and_loads_memory))
