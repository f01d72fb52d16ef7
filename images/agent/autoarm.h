/* Auto-arming: tell the hypervisor once that the guest kernel has finished calibrating its clocks
 * at 1x, so requested speeds may take effect (docs/guest-image.md, "Auto-arm").
 *
 * Criterion: /sys/devices/system/clocksource/clocksource0/current_clocksource reads "tsc".
 * Linux 6.1 first runs on the "tsc-early" clocksource and registers "tsc" only at the end of
 * tsc_refine_calibration_work() (arch/x86/kernel/tsc.c), i.e. after the refined calibration
 * against HPET/ACPI PM ("tsc: Refined TSC clocksource calibration") or right away when the
 * frequency is known from CPUID/MSR. The LAPIC timer is calibrated before user space starts.
 * Fallback: if the clocksource never becomes "tsc" (TSC unusable), arm after AUTOARM_TIMEOUT_S,
 * since there is then no TSC calibration left to protect. */
#ifndef TSX_HV_AGENT_AUTOARM_H
#define TSX_HV_AGENT_AUTOARM_H
#include <stddef.h>

#define AUTOARM_TIMEOUT_S 30
#define CLOCKSOURCE_PATH "/sys/devices/system/clocksource/clocksource0/current_clocksource"

struct autoarm {
	int done;
	double started; /* CLOCK_MONOTONIC seconds when the agent started */
};

void autoarm_init(struct autoarm *a);
/* Checks the criterion; when it acts (arms, or decides not to), returns 1 and writes a log line
 * (without newline) to msg. Returns 0 while still waiting or after it is done. */
int autoarm_poll(struct autoarm *a, char *msg, size_t n);
/* Reads the current clocksource name into out ("unknown" if unreadable). */
void read_clocksource(char *out, size_t n);

#endif
