/*
 * vtime_fuzz.c - libFuzzer target over sequences of vtime API calls. The input is a program:
 * each operation is one opcode byte plus little-endian operands. After every step the target
 * checks the invariants of docs/design/vtime.md and traps on a violation:
 *   - return codes agree with an independent range check of p/q,
 *   - M1/M2: a read whose TSC was taken after another read completed is not smaller
 *     (compared on the timeline, i.e. with each CPU's IA32_TSC_ADJUST removed),
 *   - C1: a speed change leaves the reading at the new epoch start unchanged, and the one
 *     just before it unchanged or clamped forward (older than the kept epochs),
 *   - T1: vtime_to_real never returns a real TSC at which the deadline is not yet reached.
 * Build and run: hv-core/tests/vtime.cmake (target vtime_fuzz, needs clang).
 */
#include <stddef.h>
#include <stdint.h>

#include "vtime.h"

#define CHECK_OR_TRAP(cond)              \
	do {                             \
		if (!(cond))             \
			__builtin_trap(); \
	} while (0)

#define MAX_READS 4096u
#define MAX_ELAPSED ((uint64_t)1 << 48)

struct cursor {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct cursor *c, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes && c->left > 0; i++, c->left--)
		v |= (uint64_t)*c->p++ << (8 * i);
	return v;
}

static bool wrap_ge(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) >= 0;
}

/* Exact range check, written independently of vtime_rate.c. */
static int expected_speed_result(uint64_t p, uint64_t q)
{
	if (p == 0 || q == 0)
		return VTIME_EINVAL;
	unsigned __int128 lo = (unsigned __int128)p * 1000u, hi = (unsigned __int128)q * 10000u;
	return lo >= q && p <= hi ? VTIME_OK : VTIME_ERANGE;
}

static struct vtime_clock clk;
/* Completed reads: when they completed (ticks since start) and the largest timeline value
 * returned by any read completed up to then. */
static uint64_t read_done_at[MAX_READS], read_max[MAX_READS];

/* The time source, when installed: the current real TSC of the program. */
static uint64_t source_now;
static uint64_t source(void)
{
	return source_now;
}

static uint64_t timeline(unsigned cpu, uint64_t raw)
{
	return vtime_read(&clk, cpu, raw) - (uint64_t)vtime_read_tsc_adjust(&clk, cpu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor in = { data, size };
	unsigned cpus = 1 + (unsigned)(take(&in, 1) % VTIME_MAX_CPUS);
	uint64_t start = take(&in, 8);
	int64_t offset[VTIME_MAX_CPUS];
	unsigned reads = 0;
	uint64_t elapsed = 0; /* ticks since start; the real TSC is start + elapsed (wrapping) */

	CHECK_OR_TRAP(vtime_init(&clk, cpus, start) == VTIME_OK);
	for (unsigned k = 0; k < cpus; k++) {
		offset[k] = (int64_t)(int32_t)take(&in, 4);
		CHECK_OR_TRAP(vtime_set_cpu_offset(&clk, k, offset[k]) == VTIME_OK);
	}
	CHECK_OR_TRAP(vtime_set_cpu_offset(&clk, cpus, 0) == VTIME_EINVAL);

	/* Bounded run: at 10000x the timeline then spans < 2^63, so wrapping comparisons hold. */
	while (in.left > 0 && elapsed < MAX_ELAPSED) {
		uint8_t op = (uint8_t)take(&in, 1);
		unsigned cpu = (unsigned)(take(&in, 1) % cpus);
		uint64_t now = start + elapsed;
		source_now = now;
		switch (op % 8) {
		case 0: /* time passes */
			elapsed += take(&in, 5);
			break;
		case 1: { /* speed change, checked for continuity */
			uint64_t p = take(&in, 1 + op / 32), q = take(&in, 1 + (op / 8) % 4);
			struct vtime_state before, after;
			vtime_get_state(&clk, &before);
			uint64_t u = now + before.publish_lead;
			if ((int64_t)(u - before.epoch_u) < 0)
				u = before.epoch_u;
			uint64_t at_u = timeline(0, u - (uint64_t)offset[0]);
			uint64_t before_u = timeline(0, u - 1 - (uint64_t)offset[0]);
			int err = vtime_set_speed(&clk, now, p, q);
			CHECK_OR_TRAP(err == expected_speed_result(p, q));
			vtime_get_state(&clk, &after);
			if (err == VTIME_OK && after.armed) {
				CHECK_OR_TRAP(after.epoch_u == u && after.epoch_g == at_u);
				CHECK_OR_TRAP(after.epoch_count == before.epoch_count + 1);
			} else {
				CHECK_OR_TRAP(after.epoch_count == before.epoch_count);
			}
			CHECK_OR_TRAP(timeline(0, u - (uint64_t)offset[0]) == at_u);
			/* Just before u: unchanged, or (once the epoch it fell in left the ring) clamped
			 * forward, never past the value at u. */
			uint64_t after_u = timeline(0, u - 1 - (uint64_t)offset[0]);
			CHECK_OR_TRAP(wrap_ge(after_u, before_u) && wrap_ge(at_u, after_u));
			break;
		}
		case 2:
			CHECK_OR_TRAP(vtime_arm(&clk, now) == VTIME_OK);
			CHECK_OR_TRAP(vtime_armed(&clk));
			break;
		case 3:
		case 4: { /* a read whose TSC was taken `lag` ticks before it completes (now) */
			uint64_t lag = take(&in, 3);
			if (lag > elapsed)
				lag = elapsed;
			uint64_t tsc_at = elapsed - lag;
			uint64_t value = timeline(cpu, start + tsc_at - (uint64_t)offset[cpu]);
			/* Every read completed at or before tsc_at must not exceed value. */
			unsigned lo = 0, hi = reads;
			while (lo < hi) {
				unsigned mid = (lo + hi) / 2;
				if (read_done_at[mid] <= tsc_at)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo > 0)
				CHECK_OR_TRAP(wrap_ge(value, read_max[lo - 1]));
			if (reads < MAX_READS) {
				uint64_t prev = reads > 0 ? read_max[reads - 1] : value;
				read_done_at[reads] = elapsed;
				read_max[reads] = reads > 0 && wrap_ge(prev, value) ? prev : value;
				reads++;
			}
			break;
		}
		case 5: { /* a timer: never early */
			uint64_t deadline = vtime_read(&clk, cpu, now - (uint64_t)offset[cpu]) + take(&in, 6);
			uint64_t r = vtime_to_real(&clk, cpu, deadline);
			/* At most 2^48 ahead at >= 1/1000x: no saturation, the answer is exact. */
			CHECK_OR_TRAP(wrap_ge(vtime_read(&clk, cpu, r), deadline));
			break;
		}
		case 6: /* guest TSC writes */
			if (op & 0x80) {
				uint64_t value = take(&in, 8);
				CHECK_OR_TRAP(vtime_write_tsc(&clk, cpu, now - (uint64_t)offset[cpu], value) == VTIME_OK);
				CHECK_OR_TRAP(vtime_read(&clk, cpu, now - (uint64_t)offset[cpu]) == value);
			} else {
				int64_t value = (int64_t)take(&in, 8);
				CHECK_OR_TRAP(vtime_write_tsc_adjust(&clk, cpu, value) == VTIME_OK);
				CHECK_OR_TRAP(vtime_read_tsc_adjust(&clk, cpu) == value);
			}
			break;
		default:
			if (op & 0x80)
				vtime_set_time_source(&clk, (op & 0x40) ? source : NULL);
			else
				vtime_set_publish_lead(&clk, take(&in, 3));
			break;
		}
	}
	return 0;
}
