/* idle.h - what the hypervisor does while the guest waits in HLT. */
#ifndef TSX_HV_IDLE_H
#define TSX_HV_IDLE_H

#include "cpu.h"

/* Waits until an interrupt is pending for the guest (local APIC IRR), or 2 ms have passed,
 * polling the control port meanwhile; then the guest resumes after its HLT. */
void idle_wait(struct cpu *c);

#endif
