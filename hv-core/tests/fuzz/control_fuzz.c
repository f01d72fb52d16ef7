/*
 * libFuzzer target for the control protocol: arbitrary byte streams through the line reader.
 * Checks, besides memory safety (ASan/UBSan), the protocol's promises: at most one reply per
 * line end plus one per overflow, every error has a known code, every accepted speed is in
 * range, and the reader's buffer length never exceeds the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control_protocol.h"
#include "vtime.h"

static int known_code(const char *code)
{
	static const char *const codes[] = { CONTROL_E_TOOLONG, CONTROL_E_BINARY, CONTROL_E_UNKNOWN,
					     CONTROL_E_USAGE, CONTROL_E_RANGE };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (code && !strcmp(code, codes[i]))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_reader rd;
	struct control_request req;
	size_t line_ends = 0, replies = 0, overflows = 0;
	control_reader_init(&rd);
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n' || data[i] == '\r')
			line_ends++;
		if (control_reader_feed(&rd, data[i], &req)) {
			replies++;
			if (req.command == CONTROL_ERROR) {
				if (!known_code(req.code) || !req.message)
					abort();
				if (!strcmp(req.code, CONTROL_E_TOOLONG))
					overflows++;
			} else if (req.command == CONTROL_SPEED) {
				if (!req.p || !req.q || req.p > (uint64_t)VTIME_SPEED_MAX * req.q ||
				    req.p * VTIME_SPEED_MIN_DEN < req.q)
					abort();
			} else if (req.command == CONTROL_TSC_SCALING) {
				if (req.p > 1)
					abort();
			} else if (req.command != CONTROL_STATUS && req.command != CONTROL_ARM &&
				   req.command != CONTROL_HELP) {
				abort();
			}
		}
		if (rd.length > CONTROL_LINE_MAX)
			abort();
	}
	if (replies > line_ends + overflows)
		abort();
	control_parse_line((const char *)data, size, &req);
	return 0;
}
