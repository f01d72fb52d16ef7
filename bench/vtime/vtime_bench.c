/*
 * vtime_bench.c - drives vtime_read for bench/vtime/run.mjs.
 *   vtime_bench fast N   N reads after the newest epoch start (the RDTSC fast path)
 *   vtime_bench slow N   N reads just before it (the previous-epoch walk-back)
 *   vtime_bench time N   N fast-path reads timed with CLOCK_MONOTONIC; prints ns per read
 * The vtime sources are compiled separately with the hypervisor's freestanding flags, so the
 * calls below reach exactly the code hv-core runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vtime.h"

static struct vtime_clock clk;

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: vtime_bench fast|slow|time N\n");
		return 2;
	}
	uint64_t n = strtoull(argv[2], NULL, 10);
	uint64_t start = 1000000, switch_at = 2000000000;
	uint64_t sum = 0;

	vtime_init(&clk, 4, start);
	vtime_arm(&clk, start);
	vtime_set_speed(&clk, start + 1000, 10, 1);
	vtime_set_speed(&clk, switch_at, 7, 3);

	if (strcmp(argv[1], "slow") == 0) {
		for (uint64_t i = 0; i < n; i++)
			sum += vtime_read(&clk, (unsigned)(i & 3), switch_at - 1 - (i & 1023));
	} else if (strcmp(argv[1], "fast") == 0) {
		for (uint64_t i = 0; i < n; i++)
			sum += vtime_read(&clk, (unsigned)(i & 3), switch_at + i * 37);
	} else if (strcmp(argv[1], "time") == 0) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (uint64_t i = 0; i < n; i++)
			sum += vtime_read(&clk, (unsigned)(i & 3), switch_at + i * 37);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
		printf("ns_per_read %.3f\n", ns / (double)n);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("checksum %" PRIu64 "\n", sum);
	return 0;
}
