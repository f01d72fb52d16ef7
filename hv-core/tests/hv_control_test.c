/* Control protocol parser (hv-core/src/control/control_protocol.c). */
#include "control_protocol.h"
#include "unit.h"

static struct control_request parse(const char *line)
{
	struct control_request r;
	control_parse_line(line, strlen(line), &r);
	return r;
}

/* Feeds a byte string; returns how many replies were due, the last one in *last. */
static int feed(struct control_reader *rd, const char *bytes, size_t n, struct control_request *last)
{
	int replies = 0;
	for (size_t i = 0; i < n; i++)
		if (control_reader_feed(rd, (uint8_t)bytes[i], last))
			replies++;
	return replies;
}

TEST(parses_integer_and_fractional_speeds)
{
	struct control_request r = parse("speed 60");
	CHECK(r.command == CONTROL_SPEED);
	CHECK_EQ_U64(r.p, 60);
	CHECK_EQ_U64(r.q, 1);
	r = parse("  speed\t1/2  ");
	CHECK(r.command == CONTROL_SPEED);
	CHECK_EQ_U64(r.p, 1);
	CHECK_EQ_U64(r.q, 2);
	r = parse("speed 10000");
	CHECK(r.command == CONTROL_SPEED);
	r = parse("speed 1/1000");
	CHECK(r.command == CONTROL_SPEED);
}

TEST(rejects_speeds_out_of_range)
{
	const char *bad[] = { "speed 0", "speed 10001", "speed 1/1001", "speed 0/5", "speed 5/0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct control_request r = parse(bad[i]);
		CHECK(r.command == CONTROL_ERROR);
		CHECK_STREQ(r.code, CONTROL_E_RANGE);
	}
}

TEST(rejects_malformed_speed_arguments)
{
	const char *bad[] = { "speed",       "speed x",    "speed 1/",     "speed /2",  "speed 1/2/3",
			      "speed -1",    "speed 1.5",  "speed 1 2",    "speed 1e3", "speed 1234567890",
			      "speed 2/1234567890" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct control_request r = parse(bad[i]);
		CHECK(r.command == CONTROL_ERROR);
		CHECK_STREQ(r.code, CONTROL_E_USAGE);
	}
}

TEST(parses_simple_commands_and_rejects_arguments)
{
	CHECK(parse("status").command == CONTROL_STATUS);
	CHECK(parse("arm").command == CONTROL_ARM);
	CHECK(parse("help").command == CONTROL_HELP);
	CHECK(parse("tsc-scaling on").command == CONTROL_TSC_SCALING);
	CHECK_EQ_U64(parse("tsc-scaling on").p, 1);
	CHECK_EQ_U64(parse("tsc-scaling off").p, 0);
	CHECK(parse("tsc-scaling").command == CONTROL_ERROR);
	CHECK(parse("tsc-scaling maybe").command == CONTROL_ERROR);
	CHECK(parse("tsc-scaling on off").command == CONTROL_ERROR);
	struct control_request r = parse("status now");
	CHECK(r.command == CONTROL_ERROR);
	CHECK_STREQ(r.code, CONTROL_E_USAGE);
	r = parse("STATUS");
	CHECK(r.command == CONTROL_ERROR);
	CHECK_STREQ(r.code, CONTROL_E_UNKNOWN);
	r = parse("reboot");
	CHECK_STREQ(r.code, CONTROL_E_UNKNOWN);
}

TEST(reader_answers_each_line_once_and_ignores_empty_lines)
{
	struct control_reader rd;
	struct control_request last;
	control_reader_init(&rd);
	CHECK_EQ_I64(feed(&rd, "\n\r\n\r\r", 5, &last), 0);
	CHECK_EQ_I64(feed(&rd, "speed 10\r\n", 10, &last), 1);
	CHECK(last.command == CONTROL_SPEED);
	CHECK_EQ_I64(feed(&rd, "status\nhelp\n", 12, &last), 2);
	CHECK(last.command == CONTROL_HELP);
	CHECK_EQ_I64(feed(&rd, "arm", 3, &last), 0);
	CHECK_EQ_I64(feed(&rd, "\n", 1, &last), 1);
	CHECK(last.command == CONTROL_ARM);
}

TEST(reader_reports_binary_bytes)
{
	struct control_reader rd;
	struct control_request last;
	control_reader_init(&rd);
	const char noise[] = { 's', 't', (char)0xFF, 0, 'x', '\n' };
	CHECK_EQ_I64(feed(&rd, noise, sizeof(noise), &last), 1);
	CHECK(last.command == CONTROL_ERROR);
	CHECK_STREQ(last.code, CONTROL_E_BINARY);
	const char only_nul[] = { 0, '\n' };
	CHECK_EQ_I64(feed(&rd, only_nul, sizeof(only_nul), &last), 1);
	CHECK_STREQ(last.code, CONTROL_E_BINARY);
	CHECK_EQ_I64(feed(&rd, "status\n", 7, &last), 1);
	CHECK(last.command == CONTROL_STATUS);
}

TEST(reader_reports_an_overlong_line_once)
{
	struct control_reader rd;
	struct control_request last;
	char line[400];
	memset(line, 'a', sizeof(line));
	control_reader_init(&rd);
	CHECK_EQ_I64(feed(&rd, line, CONTROL_LINE_MAX, &last), 0);
	CHECK_EQ_I64(feed(&rd, line, sizeof(line), &last), 1);
	CHECK(last.command == CONTROL_ERROR);
	CHECK_STREQ(last.code, CONTROL_E_TOOLONG);
	CHECK_EQ_I64(feed(&rd, "\n", 1, &last), 0);
	CHECK_EQ_I64(feed(&rd, "speed 2\n", 8, &last), 1);
	CHECK(last.command == CONTROL_SPEED);
	CHECK_EQ_U64(last.p, 2);
}

RUN_TESTS(UNIT_CASE(parses_integer_and_fractional_speeds), UNIT_CASE(rejects_speeds_out_of_range),
	  UNIT_CASE(rejects_malformed_speed_arguments),
	  UNIT_CASE(parses_simple_commands_and_rejects_arguments),
	  UNIT_CASE(reader_answers_each_line_once_and_ignores_empty_lines),
	  UNIT_CASE(reader_reports_binary_bytes), UNIT_CASE(reader_reports_an_overlong_line_once))
