/* libFuzzer target: insn_decode never reads past `available`, never reports a length above
 * 15 or beyond the bytes, and agrees with itself when given more bytes than it needs. */
#include <stdlib.h>
#include <string.h>

#include "insn_decode.h"

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
	struct insn in;
	enum insn_status st = insn_decode(copy, n, bits, &in);
	if (st == INSN_OK) {
		if (in.length == 0 || in.length > INSN_MAX_LENGTH || in.length > n)
			abort();
		struct insn again;
		if (insn_decode(copy, in.length, bits, &again) != INSN_OK || again.length != in.length ||
		    again.op != in.op)
			abort();
	}
	free(copy);
	return 0;
}
