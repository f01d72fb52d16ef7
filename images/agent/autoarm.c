#include "autoarm.h"
#include "hvcmds.h"
#include "hypercall.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void read_clocksource(char *out, size_t n)
{
	FILE *f = fopen(CLOCKSOURCE_PATH, "r");
	if (!f || !fgets(out, (int)n, f)) snprintf(out, n, "unknown");
	if (f) fclose(f);
	out[strcspn(out, "\n")] = 0;
}

void autoarm_init(struct autoarm *a)
{
	a->done = 0;
	a->started = monotonic_s();
}

int autoarm_poll(struct autoarm *a, char *msg, size_t n)
{
	if (a->done) return 0;
	if (!hv_present()) {
		a->done = 1;
		snprintf(msg, n, "tsx-hv-agent: auto-arm: no tsx-hv hypervisor, nothing to arm");
		return 1;
	}
	char source[64];
	read_clocksource(source, sizeof source);
	double waited = monotonic_s() - a->started;
	int calibrated = strcmp(source, "tsc") == 0;
	if (!calibrated && waited < AUTOARM_TIMEOUT_S) return 0;
	a->done = 1;
	char result[160];
	int rc = hv_cmd_arm(result, sizeof result);
	snprintf(msg, n, "tsx-hv-agent: auto-arm: %s (clocksource %s, %.1f s after agent start%s): %s",
		 rc == 0 ? "armed" : "failed", source, waited, calibrated ? "" : ", timed out", result);
	return 1;
}
