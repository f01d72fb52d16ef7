/* libFuzzer target: mmio_decode never reads past `available`, never reports a length above
 * 15 or beyond the bytes, agrees with itself when given exactly the bytes it used, reports
 * TRUNCATED with one byte fewer, gives operands the helpers can use, and reads the prefixes
 * as insn_decode does (the same rules, written twice). */
#include <stdlib.h>
#include <string.h>

#include "insn_decode.h"
#include "mmio_decode.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static int same_insn(const struct mmio_insn *a, const struct mmio_insn *b)
{
	return a->op == b->op && a->length == b->length && a->size == b->size &&
	       a->lock == b->lock && a->reg == b->reg && a->high_byte == b->high_byte &&
	       a->has_immediate == b->has_immediate && a->immediate == b->immediate &&
	       a->rex == b->rex && a->segment == b->segment && a->address_bits == b->address_bits;
}

static void check_operands(const struct mmio_insn *in, unsigned bits)
{
	check(in->size == 1 || in->size == 2 || in->size == 4 || in->size == 8);
	check(in->reg < MMIO_GPR_COUNT);
	check(!in->high_byte || (in->reg < 4 && in->size == 1 && in->rex == 0));
	check(!in->has_immediate || in->op == MMIO_STORE);
	check(in->size == 8 || in->immediate >> (8 * in->size) == 0);
	check(in->address_bits == 16 || in->address_bits == 32 || in->address_bits == 64);
	check(bits == 64 || in->rex == 0);
	uint64_t regs[MMIO_GPR_COUNT];
	for (unsigned i = 0; i < MMIO_GPR_COUNT; i++)
		regs[i] = 0x0101010101010101ull * (i + 1);
	uint64_t value = mmio_store_value(in, regs);
	check(in->size == 8 || value >> (8 * in->size) == 0);
	mmio_apply_load(in, regs, ~0ull);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned bits = data[0] % 3 == 0 ? 16 : data[0] % 3 == 1 ? 32 : 64;
	data++;
	size--;
	unsigned n = size > 20 ? 20 : (unsigned)size;
	unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan catches over-reads */
	memcpy(copy, data, n);
	struct mmio_insn in;
	if (mmio_decode(copy, n, bits, &in) == MMIO_OK) {
		check(in.length >= 1 && in.length <= INSN_MAX_LENGTH && in.length <= n);
		check_operands(&in, bits);
		struct mmio_insn again;
		check(mmio_decode(copy, in.length, bits, &again) == MMIO_OK && same_insn(&in, &again));
		check(mmio_decode(copy, in.length - 1, bits, &again) == MMIO_TRUNCATED);
		struct insn prefixes;
		check(insn_decode(copy, n, bits, &prefixes) == INSN_OK);
		check(prefixes.op == INSN_OTHER && prefixes.lock == in.lock &&
		      prefixes.segment == in.segment && prefixes.rex == in.rex &&
		      prefixes.address_bits == in.address_bits);
	}
	free(copy);
	return 0;
}
