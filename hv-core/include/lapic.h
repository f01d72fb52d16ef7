/*
 * lapic.h - the hypervisor's own access to the local APIC of the CPU it runs on, in xAPIC
 * (MMIO at IA32_APIC_BASE) or x2APIC (MSRs 0x800..) mode, whichever the CPU is in: starting
 * the APs, forwarding the guest's ordinary IPIs, reading the IRR while idle.
 * Intel SDM vol. 3A, chapter 10 "Advanced Programmable Interrupt Controller (APIC)".
 */
#ifndef TSX_HV_LAPIC_H
#define TSX_HV_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

/* xAPIC register offsets (SDM vol. 3A, table 10-1). */
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0B0
#define LAPIC_IRR 0x200
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310

/* ICR fields (SDM vol. 3A, 10.6.1). */
#define ICR_VECTOR_MASK 0xFFu
#define ICR_DELIVERY_SHIFT 8
#define ICR_DELIVERY_MASK (7u << ICR_DELIVERY_SHIFT)
#define ICR_DELIVERY_FIXED (0u << ICR_DELIVERY_SHIFT)
#define ICR_DELIVERY_INIT (5u << ICR_DELIVERY_SHIFT)
#define ICR_DELIVERY_STARTUP (6u << ICR_DELIVERY_SHIFT)
#define ICR_DEST_LOGICAL (1u << 11)
#define ICR_SEND_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_SHORTHAND_MASK (3u << ICR_SHORTHAND_SHIFT)
#define ICR_SHORTHAND_NONE (0u << ICR_SHORTHAND_SHIFT)
#define ICR_SHORTHAND_SELF (1u << ICR_SHORTHAND_SHIFT)
#define ICR_SHORTHAND_ALL (2u << ICR_SHORTHAND_SHIFT)
#define ICR_SHORTHAND_OTHERS (3u << ICR_SHORTHAND_SHIFT)

#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull

bool lapic_x2apic_mode(void);
uint32_t lapic_read(struct cpu *c, unsigned offset);
void lapic_write(struct cpu *c, unsigned offset, uint32_t value);
/* This CPU's APIC ID (8 bits in xAPIC mode, 32 in x2APIC mode). */
uint32_t lapic_id(struct cpu *c);
/* What an INIT does to the local APIC, applied by the hypervisor when it emulates one (the
 * real APIC never sees the INIT): LVTs masked, timer stopped, TPR 0, in-service interrupts
 * ended, APIC software-disabled (SDM vol. 3A, 10.4.7.3 "Local APIC State After an INIT
 * Reset"). Requested (IRR) interrupts cannot be withdrawn by software and stay pending. */
void lapic_reset_after_init(struct cpu *c);
/* EOI for `vector`, the highest vector in service (the hypervisor's wake-up): also where the
 * APIC ignores an EOI for its SVR's spurious vector (Bochs 2.7, lapic.c). */
void lapic_eoi_vector(struct cpu *c, uint8_t vector);
/* Sends an IPI: `low` is ICR bits 31:0, `destination` the APIC ID (or logical destination).
 * Waits (bounded) for the xAPIC's send-pending bit first, as the SDM requires. */
void lapic_send_icr(struct cpu *c, uint32_t low, uint32_t destination);

#endif
