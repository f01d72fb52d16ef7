/*
 * config.h - the hypervisor command line (multiboot2 cmdline): space-separated key=value.
 *   serial=0x2f8          hypervisor port (I/O base, hex or decimal)
 *   grace=SECONDS         arm automatically this long after the guest starts (0 = never)
 *   hotkeys=SPEC|off      see hotkeys.h
 *   on-shutdown=poweroff|reset|halt
 *   tsc-deadline=on|off   offer the (emulated) TSC-deadline timer in CPUID (on)
 *   tsc-scaling=on|off    read the TSC through hardware scaling where the CPU has it (on);
 *                         off traps every RDTSC/RDTSCP (tsc_scaling.h)
 *   boot=linux|chain      linux (default): start the kernel and initrd modules; chain: start
 *                         the boot sector module in real mode, as the BIOS would (chain_boot.h)
 *   chain-drive=0x80..0xff  the BIOS drive whose boot sector that is (0x80)
 *   drive-swap=on|off     chain mode: the OS sees chain-drive as 0x80 and 0x80 as chain-drive
 *                         through INT 13h, as GRUB's drivemap does (on; only when chain-drive
 *                         is not 0x80 already)
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

enum boot_mode { BOOT_LINUX, BOOT_CHAIN };

struct hv_config {
	uint16_t serial_port;
	unsigned grace_seconds;
	bool grace_given; /* grace= was on the command line */
	enum boot_mode boot;
	uint8_t chain_drive;
	bool drive_swap;
	enum shutdown_action on_shutdown;
	struct hotkeys hotkeys;
	bool tsc_deadline;
	bool tsc_scaling;
};

typedef void (*config_report_fn)(const char *word, size_t length, const char *why);

void config_parse(const char *cmdline, struct hv_config *out, config_report_fn report);

#endif
