/*
 * control_protocol.c - line assembly and command parsing for the control port. Pure and
 * bounded: every input byte sequence produces either nothing (empty lines), or exactly one
 * request per line, and never reads or writes outside the reader's buffer.
 */
#include "control_protocol.h"
#include "hvlib.h"
#include "vtime.h"

#define MAX_DIGITS 9 /* < 10^9: products with the speed bounds cannot overflow */
#define SPEED_USAGE "usage: speed N | speed P/Q (e.g. speed 60, speed 1/2)"
#define BINARY_MESSAGE "line contains bytes that are not printable ASCII"

void control_reader_init(struct control_reader *r)
{
	memset(r, 0, sizeof(*r));
}

static void error(struct control_request *out, const char *code, const char *message)
{
	out->command = CONTROL_ERROR;
	out->code = code;
	out->message = message;
	out->p = out->q = 0;
}

bool control_reader_feed(struct control_reader *r, uint8_t byte, struct control_request *out)
{
	bool after_cr = r->last_was_cr;
	r->last_was_cr = byte == '\r';
	if (byte == '\n' && after_cr)
		return false; /* the LF of a CR LF: the CR already ended the line */
	if (byte == '\r' || byte == '\n') {
		bool reply = !r->overflowed && (r->length || r->binary);
		if (reply && r->binary)
			error(out, CONTROL_E_BINARY, BINARY_MESSAGE);
		else if (reply)
			control_parse_line(r->line, r->length, out);
		r->length = 0;
		r->overflowed = r->binary = false;
		return reply;
	}
	if (r->overflowed)
		return false;
	if (r->length == CONTROL_LINE_MAX) {
		r->overflowed = true;
		r->length = 0;
		r->binary = false;
		error(out, CONTROL_E_TOOLONG, "line longer than 120 bytes");
		return true;
	}
	if ((byte < 0x20 && byte != '\t') || byte > 0x7E)
		r->binary = true;
	r->line[r->length++] = (char)byte;
	return false;
}

struct cursor {
	const char *s;
	size_t n, i;
};

static void skip_blanks(struct cursor *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
		c->i++;
}

/* Next blank-separated word; returns its length (0 at the end). */
static size_t word(struct cursor *c, const char **start)
{
	skip_blanks(c);
	*start = c->s + c->i;
	size_t begin = c->i;
	while (c->i < c->n && c->s[c->i] != ' ' && c->s[c->i] != '\t')
		c->i++;
	return c->i - begin;
}

static bool is(const char *w, size_t n, const char *literal)
{
	return n == strlen(literal) && !memcmp(w, literal, n);
}

/* Decimal without sign, 1..MAX_DIGITS digits; *end = characters consumed. */
static bool number(const char *s, size_t n, uint64_t *value, size_t *end)
{
	size_t i = 0;
	uint64_t v = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (i == MAX_DIGITS)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	*value = v;
	*end = i;
	return i > 0;
}

static void parse_speed(const char *w, size_t n, struct control_request *out)
{
	uint64_t p, q = 1;
	size_t used, used_q = 0;
	bool ok = number(w, n, &p, &used);
	if (ok && used < n)
		ok = w[used] == '/' && number(w + used + 1, n - used - 1, &q, &used_q) &&
		     used + 1 + used_q == n;
	if (!ok) {
		error(out, CONTROL_E_USAGE, SPEED_USAGE);
		return;
	}
	if (p == 0 || q == 0 || p > (uint64_t)VTIME_SPEED_MAX * q ||
	    p * VTIME_SPEED_MIN_DEN < q) {
		error(out, CONTROL_E_RANGE, "speed must be between 1/1000 and 10000");
		return;
	}
	out->command = CONTROL_SPEED;
	out->p = p;
	out->q = q;
}

static bool printable(const char *line, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		unsigned char b = (unsigned char)line[i];
		if ((b < 0x20 && b != '\t') || b > 0x7E)
			return false;
	}
	return true;
}

void control_parse_line(const char *line, size_t length, struct control_request *out)
{
	struct cursor c = { line, length, 0 };
	const char *cmd, *arg, *extra;
	memset(out, 0, sizeof(*out));
	if (!printable(line, length)) {
		error(out, CONTROL_E_BINARY, BINARY_MESSAGE);
		return;
	}
	size_t cmd_n = word(&c, &cmd);
	size_t arg_n = word(&c, &arg);
	size_t extra_n = word(&c, &extra);
	if (is(cmd, cmd_n, "speed")) {
		if (!arg_n || extra_n)
			error(out, CONTROL_E_USAGE, SPEED_USAGE);
		else
			parse_speed(arg, arg_n, out);
		return;
	}
	if (is(cmd, cmd_n, "tsc-scaling")) {
		if (extra_n || !(is(arg, arg_n, "on") || is(arg, arg_n, "off")))
			error(out, CONTROL_E_USAGE, "usage: tsc-scaling on|off");
		else {
			out->command = CONTROL_TSC_SCALING;
			out->p = is(arg, arg_n, "on");
		}
		return;
	}
	if (is(cmd, cmd_n, "status"))
		out->command = CONTROL_STATUS;
	else if (is(cmd, cmd_n, "arm"))
		out->command = CONTROL_ARM;
	else if (is(cmd, cmd_n, "help"))
		out->command = CONTROL_HELP;
	else
		error(out, CONTROL_E_UNKNOWN, "unknown command (try: help)");
	if (out->command != CONTROL_ERROR && arg_n)
		error(out, CONTROL_E_USAGE, "this command takes no arguments");
}
