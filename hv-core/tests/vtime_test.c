/* vtime_test.c - host unit tests of the virtual-time core (docs/design/vtime.md). */
#include "unit.h"
#include "vtime.h"

static struct vtime_clock clk;

TEST(starts_at_real_time_1x)
{
	CHECK_EQ_I64(vtime_init(&clk, 2, 1000), VTIME_OK);
	CHECK_EQ_U64(vtime_read(&clk, 0, 1000), 1000);
	CHECK_EQ_U64(vtime_read(&clk, 1, 123456), 123456);
	CHECK(!vtime_armed(&clk));
}

TEST(speed_is_held_until_armed)
{
	vtime_init(&clk, 1, 0);
	CHECK_EQ_I64(vtime_set_speed(&clk, 100, 10, 1), VTIME_OK);
	CHECK_EQ_U64(vtime_read(&clk, 0, 200), 200);
	CHECK_EQ_I64(vtime_arm(&clk, 300), VTIME_OK);
	CHECK_EQ_U64(vtime_read(&clk, 0, 300), 300);
	CHECK_EQ_U64(vtime_read(&clk, 0, 310), 400);
}

RUN_TESTS(UNIT_CASE(starts_at_real_time_1x), UNIT_CASE(speed_is_held_until_armed))
