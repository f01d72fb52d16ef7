/*
 * control_port.h - the hypervisor side of the control protocol (docs/control-protocol.md):
 * polls the hypervisor UART, runs complete commands, writes one reply line per command.
 * Polling also drives the hypervisor's periodic work (grace period, rate windows).
 */
#ifndef TSX_HV_CONTROL_PORT_H
#define TSX_HV_CONTROL_PORT_H

#include <stdint.h>

#include "cpu.h"

/* Real-TSC interval between polls from the exit path (1 ms). */
void control_port_init(void);
/* Polls if the interval has passed since the last poll; cheap otherwise. */
unsigned hv_poll_if_due(struct cpu *c, uint64_t real_now); /* bytes read */
unsigned hv_poll(struct cpu *c, uint64_t real_now);

#endif
