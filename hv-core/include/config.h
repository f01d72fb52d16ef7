/*
 * config.h - the hypervisor command line (multiboot2 cmdline): space-separated key=value.
 *   serial=0x2f8          hypervisor port (I/O base, hex or decimal)
 *   grace=SECONDS         arm automatically this long after the guest starts (0 = never)
 *   hotkeys=SPEC|off      see hotkeys.h
 *   on-shutdown=poweroff|reset|halt
 *   tsc-deadline=on|off   offer the (emulated) TSC-deadline timer in CPUID (on)
 *   tsc-scaling=on|off    read the TSC through hardware scaling where the CPU has it (on);
 *                         off traps every RDTSC/RDTSCP (tsc_scaling.h)
 * Unknown keys and bad values are reported and ignored (defaults stay). Pure.
 */
#ifndef TSX_HV_CONFIG_H
#define TSX_HV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotkeys.h"
#include "power.h"

#define CONFIG_DEFAULT_GRACE_SECONDS 30u
#define CONFIG_MAX_GRACE_SECONDS 86400u

struct hv_config {
	uint16_t serial_port;
	unsigned grace_seconds;
	enum shutdown_action on_shutdown;
	struct hotkeys hotkeys;
	bool tsc_deadline;
	bool tsc_scaling;
};

typedef void (*config_report_fn)(const char *word, size_t length, const char *why);

void config_parse(const char *cmdline, struct hv_config *out, config_report_fn report);

#endif
