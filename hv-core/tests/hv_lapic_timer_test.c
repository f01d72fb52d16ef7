/* Host tests for lapic_timer_math.c: divide register encoding and rounded-up scaling. */
#include "unit.h"
#include "lapic_timer.h"

TEST(divide_register)
{
	/* SDM vol. 3A, figure 10-10: bits 3,1,0. */
	static const struct { uint32_t dcr; unsigned shift; } table[] = {
		{ 0x0, 1 }, { 0x1, 2 }, { 0x2, 3 }, { 0x3, 4 },
		{ 0x8, 5 }, { 0x9, 6 }, { 0xA, 7 }, { 0xB, 0 },
	};
	for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++) {
		CHECK_EQ_U64(lapic_timer_divide_shift(table[i].dcr), table[i].shift);
		CHECK_EQ_U64(lapic_timer_divide_encode(table[i].shift), table[i].dcr);
		/* bit 2 and bits above 3 are reserved: ignored */
		CHECK_EQ_U64(lapic_timer_divide_shift(table[i].dcr | 0x4 | 0xF0), table[i].shift);
	}
	CHECK_EQ_U64(lapic_timer_divide_encode(8), 0xB);
}

TEST(scaling_rounds_up)
{
	uint64_t one = 1ull << 32;
	CHECK_EQ_U64(lapic_timer_scale_up(0, one), 0);
	CHECK_EQ_U64(lapic_timer_scale_up(12345, one), 12345);
	/* 2.5 TSC ticks per APIC tick: 3 APIC ticks = 7.5 -> 8 (rounded up, never early) */
	CHECK_EQ_U64(lapic_timer_scale_up(3, one * 5 / 2), 8);
	CHECK_EQ_U64(lapic_timer_scale_up(4, one * 5 / 2), 10);
	/* 0.4 APIC ticks per TSC tick (1 GHz APIC, 2.5 GHz TSC) */
	uint64_t f = (uint64_t)((2ull << 32) / 5);
	CHECK_EQ_U64(lapic_timer_scale_up(2500000000ull, f + 1), 1000000001ull); /* 1e9 + 0.58 */
	CHECK_EQ_U64(lapic_timer_scale_up(2500000000ull, f), 1000000000ull);     /* 1e9 - 0.58 */
	/* saturation instead of wrap-around */
	CHECK_EQ_U64(lapic_timer_scale_up(~0ull, ~0ull), (uint64_t)INT64_MAX);
	/* a full 32-bit count at divide-by-128 and 120 TSC ticks per APIC tick fits */
	CHECK_EQ_U64(lapic_timer_scale_up(0xFFFFFFFFull << 7, one * 120), (0xFFFFFFFFull << 7) * 120);
}

RUN_TESTS(UNIT_CASE(divide_register), UNIT_CASE(scaling_rounds_up))
