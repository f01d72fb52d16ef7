/*
 * apic_page.h - the local-APIC interception layer, vendor-neutral. The guest's local APIC is
 * the real one, except for what must not reach the hardware: INIT and STARTUP IPIs (a real
 * INIT resets a virtualised CPU's hypervisor under QEMU TCG and Bochs, PLATFORM-FACTS.md;
 * on hardware it would leave the guest's AP outside the hypervisor). So:
 * - the xAPIC register page is not accessible in the nested page tables: every guest access
 *   exits, is decoded (mmio_decode.h) and emulated: ICR writes go to apic_ipi_guest_icr, the
 *   timer registers are the virtual timer's (lapic_timer.h), every other register is read or
 *   written on the real APIC;
 * - in x2APIC mode the ICR and timer MSRs are intercepted instead (msr_policy.c).
 */
#ifndef TSX_HV_APIC_PAGE_H
#define TSX_HV_APIC_PAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

/* Traps the APIC page at IA32_APIC_BASE (boot CPU, before the guest runs). */
void apic_page_init(void);
/* The guest moved its APIC (a validated IA32_APIC_BASE write): trap the new page. */
void apic_page_moved(uint64_t new_base);
/* True if gpa lies in the trapped APIC page. */
bool apic_page_contains(uint64_t gpa);
/* A guest access that faulted on the trapped page at guest-physical gpa: emulates the
 * instruction (or raises the fault the CPU would) and advances RIP. */
void apic_page_access(struct cpu *c, uint64_t gpa);

/* A guest write of ICR: `low` is bits 31:0, `destination` the APIC ID field (bits 63:56 in
 * xAPIC mode, 63:32 in x2APIC mode). INIT and STARTUP are emulated for the guest CPUs they
 * name; every other IPI is sent by the real APIC unchanged. */
void apic_ipi_guest_icr(struct cpu *c, uint32_t low, uint32_t destination, bool x2apic);

#endif
