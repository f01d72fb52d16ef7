/*
 * vtime_concurrency_test.c - the sequence lock under real threads.
 *  1. While a writer publishes many epochs, readers on other threads only ever see a value
 *     that some published state of the clock defines (never a torn mix of two epochs), on
 *     the fast path (reads after the newest start) and the walk-back path (reads before it).
 *  2. Never backwards across CPUs (M1/M2): with a shared counter as the synchronized TSC and
 *     as the clock's time source, a read whose TSC is taken after another read finished never
 *     returns less, while a writer flips between 10000x and 1/1000x.
 */
#include <pthread.h>

#include "unit.h"
#include "vtime.h"

#define STEPS 200000u
#define READERS 2u

static struct vtime_clock shared;
static uint64_t step_real[STEPS], step_p[STEPS], step_q[STEPS];
static uint64_t legit_far[STEPS + 1], legit_near[STEPS + 1];
static int writer_done;
static unsigned readers_started;
static const uint64_t far_v = (uint64_t)1 << 50;

static uint64_t near_v(void)
{
	return step_real[STEPS / 2];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int legit(const uint64_t *set, uint64_t v)
{
	return bsearch(&v, set, STEPS + 1, sizeof(uint64_t), cmp_u64) != NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&readers_started, __ATOMIC_ACQUIRE) < READERS)
		;
	for (unsigned k = 0; k < STEPS; k++)
		vtime_set_speed(&shared, step_real[k], step_p[k], step_q[k]);
	__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *reader(void *arg)
{
	uint64_t *counts = arg; /* [0] bad values, [1] reads */
	unsigned cpu = 0;

	__atomic_fetch_add(&readers_started, 1u, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE)) {
		cpu = (cpu + 1) % 4;
		if (!legit(legit_far, vtime_read(&shared, cpu, far_v)))
			counts[0]++;
		if (!legit(legit_near, vtime_read(&shared, cpu, near_v())))
			counts[0]++;
		counts[1] += 2;
	}
	return NULL;
}

TEST(readers_never_see_a_torn_epoch)
{
	static struct vtime_clock model;
	uint64_t seed = 88172645463325252ull;

	for (unsigned k = 0; k < STEPS; k++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		step_real[k] = 1000 + (uint64_t)k * 1000 + (seed & 511);
		step_p[k] = 1 + (seed >> 9) % 10000;
		step_q[k] = 1 + (seed >> 30) % 1000;
	}
	/* Every state the shared clock passes through, replayed on a private model. */
	vtime_init(&model, 4, 0);
	vtime_arm(&model, 0);
	legit_far[0] = vtime_read(&model, 0, far_v);
	legit_near[0] = vtime_read(&model, 0, near_v());
	for (unsigned k = 0; k < STEPS; k++) {
		vtime_set_speed(&model, step_real[k], step_p[k], step_q[k]);
		legit_far[k + 1] = vtime_read(&model, 0, far_v);
		legit_near[k + 1] = vtime_read(&model, 0, near_v());
	}
	qsort(legit_far, STEPS + 1, sizeof(uint64_t), cmp_u64);
	qsort(legit_near, STEPS + 1, sizeof(uint64_t), cmp_u64);

	vtime_init(&shared, 4, 0);
	vtime_arm(&shared, 0);
	pthread_t w, r[READERS];
	uint64_t counts[READERS][2] = { { 0 } };
	for (unsigned i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, counts[i]);
	pthread_create(&w, NULL, writer, NULL);
	pthread_join(w, NULL);
	for (unsigned i = 0; i < READERS; i++) {
		pthread_join(r[i], NULL);
		printf("# reader %u: %" PRIu64 " reads during %u epochs\n", i, counts[i][1], STEPS);
		CHECK_EQ_U64(counts[i][0], 0);
	}
	CHECK_EQ_U64(vtime_read(&shared, 0, far_v), vtime_read(&model, 0, far_v));
}

#define FLIPS 50000u

/* The synchronized TSC: one counter, sequentially consistent, strictly increasing. */
static uint64_t tsc_counter = 1000;
/* The largest value returned by any read that has finished (and folded itself in). */
static uint64_t max_finished;
static int flips_done;

static uint64_t tsc_now(void)
{
	return __atomic_fetch_add(&tsc_counter, 1, __ATOMIC_SEQ_CST);
}

static void *flipper(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&readers_started, __ATOMIC_ACQUIRE) < READERS)
		;
	for (unsigned k = 0; k < FLIPS; k++) {
		/* real_now read before the writer lock: stale on purpose; the time source fixes it. */
		uint64_t stale = tsc_now();
		if (k & 1)
			vtime_set_speed(&shared, stale, 1, VTIME_SPEED_MIN_DEN);
		else
			vtime_set_speed(&shared, stale, VTIME_SPEED_MAX, 1);
	}
	__atomic_store_n(&flips_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *ordered_reader(void *arg)
{
	uint64_t *counts = arg; /* [0] backwards steps seen, [1] reads */
	unsigned cpu = (unsigned)counts[2];

	__atomic_fetch_add(&readers_started, 1u, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&flips_done, __ATOMIC_ACQUIRE)) {
		uint64_t floor = __atomic_load_n(&max_finished, __ATOMIC_ACQUIRE);
		uint64_t v = tsc_now(); /* taken after every read folded into floor finished */
		uint64_t x = vtime_read(&shared, cpu, v);
		if (x < floor)
			counts[0]++;
		counts[1]++;
		uint64_t seen = __atomic_load_n(&max_finished, __ATOMIC_RELAXED);
		while (seen < x && !__atomic_compare_exchange_n(&max_finished, &seen, x, false,
								__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			;
	}
	return NULL;
}

TEST(never_backwards_across_threads_while_speeds_flip)
{
	pthread_t w, r[READERS];
	uint64_t counts[READERS][3];

	__atomic_store_n(&readers_started, 0u, __ATOMIC_RELEASE);
	vtime_init(&shared, READERS, tsc_now());
	vtime_set_time_source(&shared, tsc_now);
	vtime_arm(&shared, tsc_now());
	for (unsigned i = 0; i < READERS; i++) {
		counts[i][0] = counts[i][1] = 0;
		counts[i][2] = i;
		pthread_create(&r[i], NULL, ordered_reader, counts[i]);
	}
	pthread_create(&w, NULL, flipper, NULL);
	pthread_join(w, NULL);
	for (unsigned i = 0; i < READERS; i++) {
		pthread_join(r[i], NULL);
		printf("# cpu %u: %" PRIu64 " ordered reads during %u speed flips\n", i, counts[i][1], FLIPS);
		CHECK_EQ_U64(counts[i][0], 0);
	}
}

RUN_TESTS(UNIT_CASE(readers_never_see_a_torn_epoch), UNIT_CASE(never_backwards_across_threads_while_speeds_flip))
