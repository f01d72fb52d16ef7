/* `tsx-hv-agent cpus`: is every CPU of this machine under the hypervisor?
 *
 * The hypervisor answers CPUID leaf 0x40000000 on every CPU it runs; a CPU that it never took
 * over (an AP started outside it) answers with the hardware's, or another hypervisor's,
 * leaf. So the check runs CPUID once on each online CPU, pinned there with
 * sched_setaffinity(2): a thread runs only on the CPUs of its affinity mask, and the call
 * migrates it before returning. Offline CPUs run no code of the OS; they are listed and
 * counted, not judged (bringing one online later starts it through INIT-SIPI, which the
 * hypervisor intercepts like any other AP start). */
#define _GNU_SOURCE
#include "cpus.h"
#include "hypercall.h"
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CPUS 4096

/* 1 online, 0 offline, -1 unknown. cpu0 often has no "online" file (it cannot be offlined). */
static int cpu_online(int cpu)
{
	char path[96], c = '1';
	snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/online", cpu);
	FILE *f = fopen(path, "r");
	if (!f) return 1;
	if (fread(&c, 1, 1, f) != 1) c = '?';
	fclose(f);
	return c == '1' ? 1 : c == '0' ? 0 : -1;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int cpus_check(void)
{
	static int ids[MAX_CPUS];
	int n = 0;
	DIR *d = opendir("/sys/devices/system/cpu");
	if (!d) {
		perror("tsx-hv-agent: /sys/devices/system/cpu");
		return 1;
	}
	for (struct dirent *e; (e = readdir(d)) && n < MAX_CPUS;) {
		char *end;
		if (strncmp(e->d_name, "cpu", 3) != 0 || !e->d_name[3]) continue;
		long id = strtol(e->d_name + 3, &end, 10);
		if (*end || id < 0 || id >= MAX_CPUS) continue;
		ids[n++] = (int)id;
	}
	closedir(d);
	qsort(ids, n, sizeof ids[0], cmp_int);

	int under = 0, outside = 0, offline = 0, errors = 0;
	for (int i = 0; i < n; i++) {
		int on = cpu_online(ids[i]);
		if (on == 0) {
			printf("cpu%d offline\n", ids[i]);
			offline++;
			continue;
		}
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(ids[i], &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0) {
			printf("cpu%d error cannot-run-here\n", ids[i]);
			errors++;
			continue;
		}
		if (hv_present()) {
			printf("cpu%d tsx-hv-vtime\n", ids[i]);
			under++;
		} else {
			printf("cpu%d outside\n", ids[i]);
			outside++;
		}
	}
	printf("cpus=%d under=%d outside=%d offline=%d errors=%d\n", n, under, outside, offline, errors);
	if (n == 0 || errors) return 1;
	return outside ? 3 : 0;
}
