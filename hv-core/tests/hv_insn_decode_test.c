/* Instruction decoding of the intercepted instructions (hv-core/src/emulate/insn_decode.c). */
#include "insn_decode.h"
#include "unit.h"

static struct insn decode_ok(const uint8_t *b, unsigned n, unsigned bits)
{
	struct insn in;
	memset(&in, 0xAA, sizeof(in));
	enum insn_status st = insn_decode(b, n, bits, &in);
	CHECK_EQ_U64(st, INSN_OK);
	return in;
}

TEST(plain_rdtsc_and_rdtscp)
{
	const uint8_t rdtsc[] = { 0x0F, 0x31, 0x90 };
	struct insn in = decode_ok(rdtsc, sizeof(rdtsc), 64);
	CHECK_EQ_U64(in.op, INSN_RDTSC);
	CHECK_EQ_U64(in.length, 2);
	CHECK(!in.lock);
	const uint8_t rdtscp[] = { 0x0F, 0x01, 0xF9 };
	in = decode_ok(rdtscp, sizeof(rdtscp), 64);
	CHECK_EQ_U64(in.op, INSN_RDTSCP);
	CHECK_EQ_U64(in.length, 3);
}

TEST(prefixes_count_in_the_length)
{
	const uint8_t b[] = { 0x66, 0xF3, 0x2E, 0x65, 0x48, 0x0F, 0x31 };
	struct insn in = decode_ok(b, sizeof(b), 64);
	CHECK_EQ_U64(in.op, INSN_RDTSC);
	CHECK_EQ_U64(in.length, 7);
	CHECK(in.rep);
	CHECK(in.operand_size_prefix);
	CHECK_EQ_U64(in.segment, SEG_GS);
	CHECK_EQ_U64(in.rex, 0x48);
}

TEST(rex_before_a_legacy_prefix_is_ignored_but_counted)
{
	const uint8_t b[] = { 0x48, 0x66, 0x0F, 0x01, 0xF9 };
	struct insn in = decode_ok(b, sizeof(b), 64);
	CHECK_EQ_U64(in.op, INSN_RDTSCP);
	CHECK_EQ_U64(in.length, 5);
	CHECK_EQ_U64(in.rex, 0);
}

TEST(forty_to_4f_are_not_prefixes_outside_64_bit_code)
{
	const uint8_t b[] = { 0x48, 0x0F, 0x31 };
	struct insn in = decode_ok(b, sizeof(b), 32);
	CHECK_EQ_U64(in.op, INSN_OTHER); /* DEC EAX */
	CHECK_EQ_U64(in.length, 1);
}

TEST(lock_is_decoded_and_faults)
{
	const uint8_t b[] = { 0xF0, 0x0F, 0x31 };
	struct insn in = decode_ok(b, sizeof(b), 64);
	CHECK_EQ_U64(in.op, INSN_RDTSC);
	CHECK(in.lock);
	CHECK(insn_lock_faults(&in));
	const uint8_t c[] = { 0x0F, 0xA2 };
	in = decode_ok(c, sizeof(c), 64);
	CHECK(!insn_lock_faults(&in));
}

TEST(fifteen_bytes_is_the_limit)
{
	uint8_t b[20];
	memset(b, 0x66, sizeof(b));
	/* 13 prefixes + 0F 31 = 15 bytes: legal. */
	b[13] = 0x0F;
	b[14] = 0x31;
	struct insn in = decode_ok(b, 15, 64);
	CHECK_EQ_U64(in.length, 15);
	/* 14 prefixes + 0F 31 = 16 bytes: #GP. */
	memset(b, 0x66, sizeof(b));
	b[14] = 0x0F;
	b[15] = 0x31;
	CHECK_EQ_U64(insn_decode(b, 16, 64, &in), INSN_TOO_LONG);
	/* 13 prefixes + 0F 01 F9 = 16 bytes. */
	memset(b, 0x3E, sizeof(b));
	b[13] = 0x0F;
	b[14] = 0x01;
	b[15] = 0xF9;
	CHECK_EQ_U64(insn_decode(b, 16, 64, &in), INSN_TOO_LONG);
	memset(b, 0x66, sizeof(b));
	CHECK_EQ_U64(insn_decode(b, 20, 64, &in), INSN_TOO_LONG);
}

TEST(truncated_bytes_are_reported)
{
	const uint8_t b[] = { 0x66, 0x0F, 0x01 };
	struct insn in;
	CHECK_EQ_U64(insn_decode(b, 1, 64, &in), INSN_TRUNCATED);
	CHECK_EQ_U64(insn_decode(b, 2, 64, &in), INSN_TRUNCATED);
	CHECK_EQ_U64(insn_decode(b, 3, 64, &in), INSN_TRUNCATED);
	CHECK_EQ_U64(insn_decode(b, 0, 64, &in), INSN_TRUNCATED);
}

TEST(io_instructions_and_address_size)
{
	const uint8_t out_imm[] = { 0xE7, 0xE4 };
	struct insn in = decode_ok(out_imm, 2, 64);
	CHECK_EQ_U64(in.op, INSN_OUT);
	CHECK_EQ_U64(in.length, 2);
	const uint8_t rep_outs[] = { 0xF3, 0x67, 0x64, 0x6E };
	in = decode_ok(rep_outs, 4, 64);
	CHECK_EQ_U64(in.op, INSN_OUTS);
	CHECK_EQ_U64(in.address_bits, 32);
	CHECK_EQ_U64(in.segment, SEG_FS);
	CHECK(in.rep);
	in = decode_ok(rep_outs, 4, 16);
	CHECK_EQ_U64(in.address_bits, 32);
	const uint8_t ins[] = { 0x6D };
	CHECK_EQ_U64(decode_ok(ins, 1, 32).address_bits, 32);
	CHECK_EQ_U64(decode_ok(ins, 1, 16).address_bits, 16);
	CHECK_EQ_U64(decode_ok(ins, 1, 64).address_bits, 64);
	const uint8_t in_dx[] = { 0x66, 0xED };
	in = decode_ok(in_dx, 2, 64);
	CHECK_EQ_U64(in.op, INSN_IN);
	CHECK_EQ_U64(in.length, 2);
}

TEST(other_intercepted_instructions)
{
	const uint8_t cpuid[] = { 0x66, 0x0F, 0xA2 }, hlt[] = { 0xF4 }, vmmcall[] = { 0x0F, 0x01, 0xD9 },
		      vmcall[] = { 0x0F, 0x01, 0xC1 }, rdmsr[] = { 0x0F, 0x32 }, wrmsr[] = { 0x0F, 0x30 },
		      other[] = { 0x0F, 0x01, 0xD0 };
	CHECK_EQ_U64(decode_ok(cpuid, 3, 64).op, INSN_CPUID);
	CHECK_EQ_U64(decode_ok(cpuid, 3, 64).length, 3);
	CHECK_EQ_U64(decode_ok(hlt, 1, 16).op, INSN_HLT);
	CHECK_EQ_U64(decode_ok(vmmcall, 3, 64).op, INSN_VMMCALL);
	CHECK_EQ_U64(decode_ok(vmcall, 3, 64).op, INSN_VMCALL);
	CHECK_EQ_U64(decode_ok(rdmsr, 2, 64).op, INSN_RDMSR);
	CHECK_EQ_U64(decode_ok(wrmsr, 2, 64).op, INSN_WRMSR);
	CHECK_EQ_U64(decode_ok(other, 3, 64).op, INSN_OTHER);
}

RUN_TESTS(UNIT_CASE(plain_rdtsc_and_rdtscp), UNIT_CASE(prefixes_count_in_the_length),
	  UNIT_CASE(rex_before_a_legacy_prefix_is_ignored_but_counted),
	  UNIT_CASE(forty_to_4f_are_not_prefixes_outside_64_bit_code), UNIT_CASE(lock_is_decoded_and_faults),
	  UNIT_CASE(fifteen_bytes_is_the_limit), UNIT_CASE(truncated_bytes_are_reported),
	  UNIT_CASE(io_instructions_and_address_size), UNIT_CASE(other_intercepted_instructions))
