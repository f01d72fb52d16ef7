/*
 * control_protocol.h - the host <-> hypervisor control protocol parser (pure C; unit-tested
 * and fuzzed on the host). Lines of printable ASCII end with LF (CR LF accepted). Commands:
 *   speed N | speed P/Q | status | arm | help
 * Replies are one line: "ok ..." or "err CODE message" (docs/control-protocol.md).
 */
#ifndef TSX_HV_CONTROL_PROTOCOL_H
#define TSX_HV_CONTROL_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_LINE_MAX 120u /* bytes per command line, without the line end */

enum control_command {
	CONTROL_SPEED,
	CONTROL_STATUS,
	CONTROL_ARM,
	CONTROL_HELP,
	CONTROL_TSC_SCALING, /* tsc-scaling on|off: hardware TSC scaling allowed or every read trapped */
	CONTROL_ERROR,
};

/* Error codes on the wire ("err CODE message"). */
#define CONTROL_E_TOOLONG "TOOLONG"   /* line longer than CONTROL_LINE_MAX */
#define CONTROL_E_BINARY "BINARY"     /* a byte that is not printable ASCII or tab */
#define CONTROL_E_UNKNOWN "UNKNOWN"   /* no such command */
#define CONTROL_E_USAGE "USAGE"       /* wrong arguments for a known command */
#define CONTROL_E_RANGE "RANGE"       /* speed outside 1/1000 .. 10000 */

struct control_request {
	enum control_command command;
	uint64_t p, q;       /* CONTROL_SPEED: speed p/q; CONTROL_TSC_SCALING: p = 1 on, 0 off */
	const char *code;    /* CONTROL_ERROR: one of CONTROL_E_* */
	const char *message; /* CONTROL_ERROR: human-readable, static */
};

struct control_reader {
	char line[CONTROL_LINE_MAX + 1];
	size_t length;
	bool overflowed; /* TOOLONG already reported; discarding until the line ends */
	bool binary;
	bool last_was_cr;
};

void control_reader_init(struct control_reader *r);
/* Feeds one received byte. Returns true when a reply is due, with *out filled: at the end of
 * a non-empty line, or at the moment a line becomes too long (the rest of that line is then
 * discarded silently). Empty lines are ignored. */
bool control_reader_feed(struct control_reader *r, uint8_t byte, struct control_request *out);
/* Parses one complete line (no line end, any bytes). */
void control_parse_line(const char *line, size_t length, struct control_request *out);

#endif
