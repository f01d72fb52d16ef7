/* idle.h - what the hypervisor does while a guest CPU waits (idle.c). */
#ifndef TSX_HV_IDLE_H
#define TSX_HV_IDLE_H

#include <stdint.h>

#include "cpu.h"

/* How often the hypervisor takes a CPU back for its own work (control port, grace arming,
 * statistics): while the CPU idles, and, where the vendor has a timer of its own for it (the
 * VMX-preemption timer), while the guest runs without exits. */
#define HV_WAKE_PERIOD_MS 20

/* A guest HLT: the CPU halts until the guest has something to do (an interrupt to take, an
 * NMI, an INIT for this CPU), answering the control port meanwhile. */
void idle_wait(struct cpu *c);
/* A CPU in wait-for-SIPI: halts until a STARTUP or INIT request (or an NMI) arrives. */
void idle_park(struct cpu *c);
/* Before a guest entry: injects the interrupt the host took on the guest's behalf, or gives
 * it back to the APIC if the guest cannot take it now. */
void idle_deliver(struct cpu *c);
/* Gives an interrupt the host acknowledged back to the local APIC (EOI + self-IPI). */
void idle_give_back(struct cpu *c, uint8_t vector);

#endif
