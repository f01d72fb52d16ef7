/*
 * vtime_test.c - host unit tests of the virtual-time core: the model, the invariants listed in
 * docs/design/vtime.md (C1 continuity, M1/M2 monotonicity, T1 timers never early, S1 slope),
 * range checks, per-CPU adjustments and wrap-around.
 */
#include "unit.h"
#include "vtime.h"

static struct vtime_clock clk;

#define ONE VTIME_RATE_ONE

static void armed_at(uint64_t start, uint64_t p, uint64_t q)
{
	vtime_init(&clk, 4, start);
	vtime_set_speed(&clk, start, p, q);
	vtime_arm(&clk, start);
}

TEST(init_rejects_bad_cpu_counts)
{
	CHECK_EQ_I64(vtime_init(&clk, 0, 0), VTIME_EINVAL);
	CHECK_EQ_I64(vtime_init(&clk, VTIME_MAX_CPUS + 1, 0), VTIME_EINVAL);
	CHECK_EQ_I64(vtime_init(&clk, VTIME_MAX_CPUS, 0), VTIME_OK);
	CHECK_EQ_I64(vtime_init(&clk, 1, 0), VTIME_OK);
}

TEST(starts_at_real_time_1x)
{
	struct vtime_state s;

	CHECK_EQ_I64(vtime_init(&clk, 2, 1000), VTIME_OK);
	CHECK_EQ_U64(vtime_read(&clk, 0, 1000), 1000);
	CHECK_EQ_U64(vtime_read(&clk, 1, 123456), 123456);
	CHECK(!vtime_armed(&clk));
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.p, 1);
	CHECK_EQ_U64(s.q, 1);
	CHECK_EQ_U64(s.rate, ONE);
	CHECK_EQ_U64(s.epoch_count, 1);
	CHECK_EQ_U64(s.epoch_u, 1000);
	CHECK_EQ_U64(s.epoch_g, 1000);
	CHECK_EQ_U64(s.cpus, 2);
	CHECK(!s.armed);
}

TEST(speed_is_held_until_armed)
{
	struct vtime_state s;

	vtime_init(&clk, 1, 0);
	CHECK_EQ_I64(vtime_set_speed(&clk, 100, 10, 1), VTIME_OK);
	CHECK_EQ_U64(vtime_read(&clk, 0, 200), 200);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.p, 1);
	CHECK_EQ_U64(s.pending_p, 10);
	CHECK_EQ_U64(s.epoch_count, 1);
	CHECK_EQ_I64(vtime_arm(&clk, 300), VTIME_OK);
	CHECK(vtime_armed(&clk));
	CHECK_EQ_U64(vtime_read(&clk, 0, 300), 300);
	CHECK_EQ_U64(vtime_read(&clk, 0, 310), 400);
	/* Arming again is a no-op. */
	CHECK_EQ_I64(vtime_arm(&clk, 400), VTIME_OK);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.epoch_count, 2);
	CHECK_EQ_U64(s.p, 10);
	CHECK(s.armed);
}

TEST(arming_without_a_request_keeps_the_epoch)
{
	struct vtime_state s;

	vtime_init(&clk, 1, 50);
	vtime_arm(&clk, 60);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.epoch_count, 1);
	CHECK(s.armed);
	/* After arming, requests apply at once. */
	vtime_set_speed(&clk, 100, 3, 1);
	CHECK_EQ_U64(vtime_read(&clk, 0, 110), 130);
}

TEST(speed_range_is_checked_never_clamped)
{
	struct vtime_state s;

	vtime_init(&clk, 1, 0);
	vtime_arm(&clk, 0);
	CHECK_EQ_I64(vtime_set_speed(&clk, 1, 1, VTIME_SPEED_MIN_DEN), VTIME_OK);
	CHECK_EQ_I64(vtime_set_speed(&clk, 2, 1, VTIME_SPEED_MIN_DEN + 1), VTIME_ERANGE);
	CHECK_EQ_I64(vtime_set_speed(&clk, 3, VTIME_SPEED_MAX, 1), VTIME_OK);
	CHECK_EQ_I64(vtime_set_speed(&clk, 4, VTIME_SPEED_MAX + 1, 1), VTIME_ERANGE);
	CHECK_EQ_I64(vtime_set_speed(&clk, 5, 2 * VTIME_SPEED_MAX + 1, 2), VTIME_ERANGE);
	CHECK_EQ_I64(vtime_set_speed(&clk, 6, 0, 1), VTIME_EINVAL);
	CHECK_EQ_I64(vtime_set_speed(&clk, 7, 1, 0), VTIME_EINVAL);
	CHECK_EQ_I64(vtime_set_speed(&clk, 8, UINT64_MAX, 1), VTIME_ERANGE);
	CHECK_EQ_I64(vtime_set_speed(&clk, 9, 1, UINT64_MAX), VTIME_ERANGE);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.p, VTIME_SPEED_MAX);
	CHECK_EQ_U64(s.epoch_count, 3);
	CHECK_EQ_I64(vtime_set_speed(&clk, 10, UINT64_MAX, UINT64_MAX), VTIME_OK);
	/* Exact comparisons at the edges, with 64-bit terms: floor(M / 10000) makes M / it > 10000. */
	CHECK_EQ_I64(vtime_set_speed(&clk, 11, UINT64_MAX, UINT64_MAX / 10000), VTIME_ERANGE);
	CHECK_EQ_I64(vtime_set_speed(&clk, 12, UINT64_MAX, UINT64_MAX / 10000 + 1), VTIME_OK);
	CHECK_EQ_I64(vtime_set_speed(&clk, 13, UINT64_MAX / 1000 + 1, UINT64_MAX), VTIME_OK);
	CHECK_EQ_I64(vtime_set_speed(&clk, 14, UINT64_MAX / 1000, UINT64_MAX), VTIME_ERANGE);
}

static uint64_t rate_for(uint64_t p, uint64_t q)
{
	struct vtime_state s;

	vtime_init(&clk, 1, 0);
	vtime_arm(&clk, 0);
	vtime_set_speed(&clk, 0, p, q);
	vtime_get_state(&clk, &s);
	return s.rate;
}

TEST(rate_is_the_nearest_32_32_fixed_point_value)
{
	CHECK_EQ_U64(rate_for(1, 1), ONE);
	CHECK_EQ_U64(rate_for(10, 1), 10 * ONE);
	CHECK_EQ_U64(rate_for(60, 6), 10 * ONE);
	CHECK_EQ_U64(rate_for(VTIME_SPEED_MAX, 1), VTIME_SPEED_MAX * ONE);
	CHECK_EQ_U64(rate_for(1, 2), ONE / 2);
	CHECK_EQ_U64(rate_for(1, 3), 1431655765u);      /* 2^32/3 = 1431655765.33 */
	CHECK_EQ_U64(rate_for(2, 3), 2863311531u);      /* 2863311530.67 rounds up */
	CHECK_EQ_U64(rate_for(1, 1000), 4294967u);      /* 4294967.296 */
	CHECK_EQ_U64(rate_for(7, 5), 6012954214u);      /* 6012954214.4 */
	CHECK_EQ_U64(rate_for(UINT64_MAX, UINT64_MAX), ONE);
	CHECK_EQ_U64(rate_for(UINT64_MAX - 1, UINT64_MAX), ONE); /* 1 - 2^-64 */
}

TEST(speed_change_is_continuous)
{
	static const uint64_t speeds[][2] = { { 10, 1 }, { 1, 10 }, { 7, 3 }, { 1, 1000 }, { 10000, 1 }, { 3, 7 } };
	uint64_t now = 1000;

	armed_at(now, 1, 1);
	for (unsigned i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
		now += 12345 + i * 999;
		uint64_t before = vtime_read(&clk, 0, now);
		uint64_t before_prev = vtime_read(&clk, 0, now - 1);
		CHECK_EQ_I64(vtime_set_speed(&clk, now, speeds[i][0], speeds[i][1]), VTIME_OK);
		CHECK_EQ_U64(vtime_read(&clk, 0, now), before);           /* C1: no jump at u' */
		CHECK_EQ_U64(vtime_read(&clk, 0, now - 1), before_prev);  /* the past is unchanged */
	}
}

TEST(reads_before_the_newest_epoch_use_the_previous_one)
{
	armed_at(0, 10, 1);
	vtime_set_speed(&clk, 1000, 1, 10); /* g = 10000 at u = 1000 */
	CHECK_EQ_U64(vtime_read(&clk, 0, 999), 9990);
	CHECK_EQ_U64(vtime_read(&clk, 0, 1000), 10000);
	CHECK_EQ_U64(vtime_read(&clk, 0, 1100), 10010);
	/* A slow-down right after: a reader holding v = 1050 still gets the 10x value. */
	vtime_set_speed(&clk, 1100, 1, 1000);
	CHECK_EQ_U64(vtime_read(&clk, 0, 999), 9990);
	CHECK_EQ_U64(vtime_read(&clk, 0, 1050), 10005);
}

TEST(reads_older_than_the_kept_epochs_clamp_to_the_oldest_start)
{
	struct vtime_state s;
	uint64_t now = 1000;

	armed_at(0, 2, 1);
	for (unsigned i = 0; i < 3 * VTIME_RING; i++) {
		now += 100;
		vtime_set_speed(&clk, now, 2 + (i & 1), 1);
	}
	vtime_get_state(&clk, &s);
	/* Oldest kept epoch: newest - (VTIME_RING - 2), which started (VTIME_RING - 2) * 100 earlier. */
	uint64_t oldest_u = now - (VTIME_RING - 2) * 100;
	uint64_t oldest_g = vtime_read(&clk, 0, oldest_u);
	CHECK_EQ_U64(vtime_read(&clk, 0, oldest_u - 1), oldest_g);
	CHECK_EQ_U64(vtime_read(&clk, 0, 5), oldest_g);
	CHECK(vtime_read(&clk, 0, oldest_u + 1) > oldest_g);
	CHECK(s.epoch_g > oldest_g);
}

TEST(epoch_starts_never_go_backwards)
{
	struct vtime_state s;

	armed_at(1000, 1, 1);
	vtime_set_speed(&clk, 5000, 2, 1);
	/* A writer whose real_now is behind the newest start (another CPU's skew, a stale
	 * value) starts its epoch at the newest start instead of rewriting the past. */
	vtime_set_speed(&clk, 4000, 4, 1);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.epoch_u, 5000);
	CHECK_EQ_U64(s.epoch_g, 5000);
	CHECK_EQ_U64(vtime_read(&clk, 0, 4500), 4500);
	CHECK_EQ_U64(vtime_read(&clk, 0, 5010), 5040);
}

TEST(publish_lead_starts_epochs_in_the_future)
{
	struct vtime_state s;

	armed_at(0, 1, 1);
	vtime_set_publish_lead(&clk, 500);
	vtime_set_speed(&clk, 1000, 10, 1);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.epoch_u, 1500);
	CHECK_EQ_U64(s.epoch_g, 1500);
	CHECK_EQ_U64(s.publish_lead, 500);
	CHECK_EQ_U64(vtime_read(&clk, 0, 1200), 1200); /* still 1x: M2 */
	CHECK_EQ_U64(vtime_read(&clk, 0, 1510), 1600);
}

static uint64_t source_value;
static uint64_t test_source(void)
{
	return source_value;
}

TEST(a_time_source_read_inside_the_publication_sets_the_epoch_start)
{
	struct vtime_state s;

	armed_at(0, 1, 1);
	vtime_set_time_source(&clk, test_source);
	vtime_set_publish_lead(&clk, 10);
	source_value = 2000; /* the writer's real_now (1000) went stale before it published */
	vtime_set_speed(&clk, 1000, 2, 1);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.epoch_u, 2010);
	CHECK_EQ_U64(s.epoch_g, 2010);
	source_value = 100; /* never earlier than real_now */
	vtime_set_speed(&clk, 3000, 3, 1);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.epoch_u, 3010);
	vtime_set_time_source(&clk, NULL);
	vtime_set_speed(&clk, 4000, 1, 1);
	vtime_get_state(&clk, &s);
	CHECK_EQ_U64(s.epoch_u, 4010);
}

TEST(wraps_around_64_bits)
{
	uint64_t start = UINT64_MAX - 999;

	armed_at(start, 10, 1);
	CHECK_EQ_U64(vtime_read(&clk, 0, start + 100), start + 1000); /* == UINT64_MAX - 999 + 1000 = 0 */
	CHECK_EQ_U64(vtime_read(&clk, 0, start + 2000), start + 20000);
	vtime_set_speed(&clk, start + 2000, 1, 2); /* epoch start after the wrap */
	CHECK_EQ_U64(vtime_read(&clk, 0, start + 1999), start + 19990);
	CHECK_EQ_U64(vtime_read(&clk, 0, start + 4000), start + 21000);
	CHECK_EQ_U64(vtime_to_real(&clk, 0, start + 21000), start + 4000);
	CHECK_EQ_U64(vtime_to_real(&clk, 0, start + 19990), start + 1999);
}

TEST(products_use_128_bits)
{
	uint64_t d = (uint64_t)1 << 40;

	armed_at(0, VTIME_SPEED_MAX, 1);
	CHECK_EQ_U64(vtime_read(&clk, 0, d), d * VTIME_SPEED_MAX);
	/* 2^62 ticks at 10000x: the fake value wraps modulo 2^64 like a real TSC would. */
	CHECK_EQ_U64(vtime_read(&clk, 0, (uint64_t)1 << 62), (uint64_t)((unsigned __int128)((uint64_t)1 << 62) * VTIME_SPEED_MAX));
	armed_at(0, 1, 3);
	CHECK_EQ_U64(vtime_read(&clk, 0, (uint64_t)3 << 60), (uint64_t)((((unsigned __int128)3 << 60) * 1431655765u) >> 32));
}

TEST(long_run_slope_is_within_one_ppm)
{
	static const uint64_t speeds[][2] = { { 1, 3 }, { 2, 3 }, { 1, 1000 }, { 999, 1000 }, { 10000, 3 }, { 7, 1 }, { 13, 17 } };
	uint64_t span = (uint64_t)1 << 40;

	for (unsigned i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
		armed_at(0, speeds[i][0], speeds[i][1]);
		unsigned __int128 got = vtime_read(&clk, 0, span);
		unsigned __int128 want = (unsigned __int128)span * speeds[i][0] / speeds[i][1];
		unsigned __int128 diff = got > want ? got - want : want - got;
		CHECK(diff * 1000000 <= want);
	}
}

/* T1: at to_real(D) the clock has reached D; one tick earlier it has not. */
static void check_timer(unsigned cpu, uint64_t deadline)
{
	uint64_t r = vtime_to_real(&clk, cpu, deadline);
	CHECK((int64_t)(vtime_read(&clk, cpu, r) - deadline) >= 0);
	CHECK((int64_t)(vtime_read(&clk, cpu, r - 1) - deadline) < 0);
}

TEST(timers_never_fire_early_and_are_not_late_by_a_tick)
{
	static const uint64_t speeds[][2] = { { 1, 1 }, { 1, 3 }, { 1, 1000 }, { 10000, 1 }, { 7, 3 }, { 3, 7 } };

	for (unsigned i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
		armed_at(1000, speeds[i][0], speeds[i][1]);
		for (uint64_t d = 1001; d < 1000 + 5000; d += 7)
			check_timer(0, d);
		check_timer(1, 1000 + ((uint64_t)1 << 40));
	}
}

TEST(timers_translate_through_older_epochs)
{
	armed_at(0, 10, 1);
	vtime_set_speed(&clk, 1000, 1, 4);   /* g = 10000 */
	vtime_set_speed(&clk, 4000, 2, 1);   /* g = 10750 */
	CHECK_EQ_U64(vtime_to_real(&clk, 0, 5005), 501);
	CHECK_EQ_U64(vtime_to_real(&clk, 0, 10000), 1000);
	CHECK_EQ_U64(vtime_to_real(&clk, 0, 10001), 1004);
	CHECK_EQ_U64(vtime_to_real(&clk, 0, 10750), 4000);
	CHECK_EQ_U64(vtime_to_real(&clk, 0, 10752), 4001);
	check_timer(0, 5005);
	check_timer(0, 10500);
	/* Rates are rounded: 1/3 is a hair below 1/3, so a third tick needs 4 real ticks. */
	vtime_set_speed(&clk, 5000, 1, 3);   /* g = 12750 */
	CHECK_EQ_U64(vtime_to_real(&clk, 0, 12751), 5004);
	check_timer(0, 12751);
	check_timer(0, 12749);
	/* Before every kept epoch: the oldest start, where the clock is already past it. */
	CHECK_EQ_U64(vtime_to_real(&clk, 0, 0), 0);
}

TEST(far_deadlines_saturate_instead_of_wrapping)
{
	armed_at(0, 1, 1000);
	uint64_t far = (uint64_t)1 << 62; /* needs 2^62 * 1000 real ticks */
	CHECK_EQ_U64(vtime_to_real(&clk, 0, far), (uint64_t)INT64_MAX);
	CHECK((int64_t)(vtime_read(&clk, 0, (uint64_t)INT64_MAX) - far) < 0); /* late, not early */
	uint64_t near = (uint64_t)1 << 52;
	check_timer(0, near);
}

TEST(round_trips_are_bounded)
{
	static const uint64_t speeds[][2] = { { 1, 1 }, { 1, 1000 }, { 10000, 1 }, { 5, 7 } };

	for (unsigned i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++) {
		armed_at(0, speeds[i][0], speeds[i][1]);
		for (uint64_t r = 100; r < 1000000; r = r * 3 + 1) {
			uint64_t back = vtime_to_real(&clk, 0, vtime_to_virtual(&clk, 0, r));
			/* Back at or before r, by less than one virtual tick's worth of real ticks. */
			CHECK(back <= r);
			CHECK(r - back <= speeds[i][1] / speeds[i][0] + 1);
		}
	}
}

TEST(cpu_offsets_map_cores_onto_one_timeline)
{
	armed_at(1000, 2, 1);
	CHECK_EQ_I64(vtime_set_cpu_offset(&clk, 1, -300), VTIME_OK);
	CHECK_EQ_I64(vtime_set_cpu_offset(&clk, 4, 0), VTIME_EINVAL);
	CHECK_EQ_U64(vtime_reference(&clk, 1, 1400), 1100);
	CHECK_EQ_U64(vtime_read(&clk, 1, 1400), vtime_read(&clk, 0, 1100));
	CHECK_EQ_U64(vtime_to_real(&clk, 1, 1200), 1400);
	check_timer(1, 1777);
}

TEST(guest_tsc_writes_adjust_one_cpu)
{
	armed_at(0, 10, 1);
	CHECK_EQ_I64(vtime_write_tsc(&clk, 2, 100, 5), VTIME_OK);
	CHECK_EQ_U64(vtime_read(&clk, 2, 100), 5);
	CHECK_EQ_U64(vtime_read(&clk, 2, 110), 105);
	CHECK_EQ_U64(vtime_read(&clk, 0, 110), 1100);
	CHECK_EQ_I64(vtime_read_tsc_adjust(&clk, 2), -995);
	/* IA32_TSC_ADJUST: the TSC moves by the difference. */
	CHECK_EQ_I64(vtime_write_tsc_adjust(&clk, 2, 5), VTIME_OK);
	CHECK_EQ_U64(vtime_read(&clk, 2, 110), 1105);
	CHECK_EQ_I64(vtime_read_tsc_adjust(&clk, 2), 5);
	check_timer(2, 2000);
	CHECK_EQ_I64(vtime_write_tsc(&clk, 9, 0, 0), VTIME_EINVAL);
	CHECK_EQ_I64(vtime_write_tsc_adjust(&clk, 4, 0), VTIME_EINVAL);
	CHECK_EQ_I64(vtime_read_tsc_adjust(&clk, 4), 0);
}

TEST(cpu_index_is_masked_on_the_read_path)
{
	armed_at(0, 1, 1);
	vtime_write_tsc_adjust(&clk, 1, 7);
	CHECK_EQ_U64(vtime_read(&clk, 1 + VTIME_MAX_CPUS, 100), 107);
}

/* What hardware TSC scaling would compute with vtime_linear's parameters: the 128-bit
 * product shifted by 48 with multiplier rate << 16 (Intel SDM vol. 3C, 25.3). */
static uint64_t scaled(uint64_t raw, uint64_t rate, uint64_t offset)
{
	return (uint64_t)(((unsigned __int128)raw * (rate << 16)) >> 48) + offset;
}

TEST(linear_form_matches_reads_within_one_tick)
{
	static const uint64_t speeds[][2] = { { 1, 1 }, { 60, 1 }, { 1, 2 }, { 1, 10 },
					      { 1, 1000 }, { 10000, 1 }, { 7, 3 } };
	uint64_t rate, offset;
	for (unsigned i = 0; i < sizeof speeds / sizeof speeds[0]; i++) {
		armed_at(123456789, 1, 1);
		vtime_set_cpu_offset(&clk, 1, -777);
		vtime_write_tsc_adjust(&clk, 1, 4242);
		vtime_set_speed(&clk, 987654321, speeds[i][0], speeds[i][1]);
		/* Before the newest start (in CPU 1's raw TSC) the previous epoch applies. */
		CHECK(!vtime_linear(&clk, 1, 987654321 + 777 - 1, &rate, &offset));
		CHECK(vtime_linear(&clk, 1, 987654321 + 777, &rate, &offset));
		uint64_t raw = 987654321 + 777, prev = 0;
		for (unsigned k = 0; k < 200000; k++, raw += 1 + (k * 7919u) % 100003u) {
			uint64_t want = vtime_read(&clk, 1, raw), got = scaled(raw, rate, offset);
			if (got - want > 1) {
				UNIT_FAIL("speed %" PRIu64 "/%" PRIu64 " raw %" PRIu64 ": %" PRIu64
					  " vs %" PRIu64, speeds[i][0], speeds[i][1], raw, got, want);
				break;
			}
			CHECK(got >= prev);
			prev = got;
		}
	}
	/* A publication in progress gives no parameters. */
	clk.seq |= 1u;
	CHECK(!vtime_linear(&clk, 0, ~0ull >> 2, &rate, &offset));
	clk.seq &= ~1ull;
}

RUN_TESTS(UNIT_CASE(init_rejects_bad_cpu_counts), UNIT_CASE(starts_at_real_time_1x),
	  UNIT_CASE(speed_is_held_until_armed), UNIT_CASE(arming_without_a_request_keeps_the_epoch),
	  UNIT_CASE(speed_range_is_checked_never_clamped),
	  UNIT_CASE(rate_is_the_nearest_32_32_fixed_point_value), UNIT_CASE(speed_change_is_continuous),
	  UNIT_CASE(reads_before_the_newest_epoch_use_the_previous_one),
	  UNIT_CASE(reads_older_than_the_kept_epochs_clamp_to_the_oldest_start),
	  UNIT_CASE(epoch_starts_never_go_backwards), UNIT_CASE(publish_lead_starts_epochs_in_the_future),
	  UNIT_CASE(a_time_source_read_inside_the_publication_sets_the_epoch_start),
	  UNIT_CASE(wraps_around_64_bits), UNIT_CASE(products_use_128_bits),
	  UNIT_CASE(long_run_slope_is_within_one_ppm),
	  UNIT_CASE(timers_never_fire_early_and_are_not_late_by_a_tick),
	  UNIT_CASE(timers_translate_through_older_epochs), UNIT_CASE(far_deadlines_saturate_instead_of_wrapping),
	  UNIT_CASE(round_trips_are_bounded), UNIT_CASE(cpu_offsets_map_cores_onto_one_timeline),
	  UNIT_CASE(guest_tsc_writes_adjust_one_cpu), UNIT_CASE(cpu_index_is_masked_on_the_read_path),
	  UNIT_CASE(linear_form_matches_reads_within_one_tick))
