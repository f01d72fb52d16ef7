/* power.h - what the machine does when the guest shuts down or the hypervisor panics. */
#ifndef TSX_HV_POWER_H
#define TSX_HV_POWER_H

#include <stddef.h>
#include <stdint.h>

enum shutdown_action { SHUTDOWN_POWEROFF, SHUTDOWN_RESET, SHUTDOWN_HALT };

void power_set_action(enum shutdown_action action);
/* Finds the ACPI sleep control (FADT PM1a_CNT_BLK and \_S5 SLP_TYPa) from a copy of the
 * RSDP; without it poweroff falls back to halting. */
void power_init(const uint8_t *rsdp, size_t rsdp_length);
__attribute__((noreturn)) void power_shutdown_action(void);
const char *power_action_name(enum shutdown_action action);

#endif
