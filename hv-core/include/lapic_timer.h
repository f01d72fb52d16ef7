/*
 * lapic_timer.h - the guest's local-APIC timer on the virtual timeline.
 *
 * The guest programs its timer (LVT timer, initial count, divide configuration, and the
 * TSC-deadline MSR) against its own clock; the hypervisor keeps those registers per CPU and
 * programs the physical timer of the same CPU so that it fires at the real moment when the
 * guest's virtual TSC reaches the deadline (vtime_to_real, rounded up: never early). Current
 * count reads are computed from the virtual clock. Every speed change re-translates the armed
 * timer of every CPU (an NMI kick reaches the ones running guest code or halted).
 *
 * Ownership of the physical timer: it is the guest's, translated, while the guest runs. While
 * a guest CPU idles in HLT, the hypervisor may shorten it to its own wake-up (the control
 * port poll); that interrupt is taken by the host and never reaches the guest (idle.c).
 * Intel SDM vol. 3A, 10.5.4 "APIC Timer"; AMD APM vol. 2, 16.4.1 "APIC Timer Operation".
 */
#ifndef TSX_HV_LAPIC_TIMER_H
#define TSX_HV_LAPIC_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3E0

#define LVT_VECTOR_MASK 0xFFu
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_MODE_SHIFT 17
#define LVT_TIMER_MODE_MASK (3u << LVT_TIMER_MODE_SHIFT)
#define LVT_TIMER_ONESHOT (0u << LVT_TIMER_MODE_SHIFT)
#define LVT_TIMER_PERIODIC (1u << LVT_TIMER_MODE_SHIFT)
#define LVT_TIMER_TSC_DEADLINE (2u << LVT_TIMER_MODE_SHIFT)

/* The vector of the hypervisor's own wake-up while a CPU idles (the highest: it is always the
 * first one taken, idle.c). */
#define HV_WAKE_VECTOR 0xFFu

/* Pure helpers (host-tested): the divide configuration register's divisor as a shift
 * (SDM vol. 3A, figure 10-10: 1011b = 1, 0000b = 2 ... 1010b = 128), its encoding back, and
 * the 32.32 fixed-point conversions, rounded up. */
unsigned lapic_timer_divide_shift(uint32_t dcr);
uint32_t lapic_timer_divide_encode(unsigned shift);
uint64_t lapic_timer_scale_up(uint64_t ticks, uint64_t fixed_32_32);

/* Measures the physical timer's rate against the TSC (boot CPU, before the guest starts). */
void lapic_timer_calibrate(void);
/* APIC timer ticks (divide by 1) per second, as measured. */
uint64_t lapic_timer_hz(void);
/* The timer's registers as after INIT or reset: masked, stopped, divide by 2. */
void lapic_timer_reset(struct cpu *c);

/* UEFI chain boot: the firmware's timer ran on the physical APIC before the hypervisor took the
 * CPU (and the calibration reprogrammed it): the virtual timer takes over its registers, the
 * count `current` still to run and, in TSC-deadline mode, IA32_TSC_DEADLINE, so the firmware's
 * next tick comes as it would have. */
void lapic_timer_adopt(struct cpu *c, uint32_t lvt, uint32_t dcr, uint32_t initial, uint32_t current,
		       uint64_t tsc_deadline);

/* The guest's access to a timer register of its local APIC (xAPIC offset): true if the
 * register is one of the timer's (its value is virtual), false for any other register. */
bool lapic_timer_read(struct cpu *c, unsigned offset, uint32_t *value);
bool lapic_timer_write(struct cpu *c, unsigned offset, uint32_t value);
/* IA32_TSC_DEADLINE (MSR 0x6E0), in the guest's TSC. */
uint64_t lapic_timer_read_deadline(struct cpu *c);
void lapic_timer_write_deadline(struct cpu *c, uint64_t value);

/* The guest's EOI (trapped): `write_eoi` performs it on the real APIC; an EOI that completes
 * the timer's vector tells sync_expiry the expiry was delivered. */
void lapic_timer_eoi(struct cpu *c, void (*write_eoi)(struct cpu *c));

/* Before every guest entry: re-translates the timer if the speed changed since it was
 * programmed, or a far deadline has come within the physical counter's reach. */
void lapic_timer_before_entry(struct cpu *c);
/* The clock's speed (or a CPU's TSC mapping) changed: every CPU re-translates. */
void lapic_timer_speed_changed(void);
/* Sends the hypervisor's NMI kick to CPU t (it leaves guest mode or its halt). */
void lapic_timer_kick(struct cpu *from, struct cpu *t);

/* Idle: programs the physical timer for min(the guest's deadline, real TSC `wake`) and
 * remembers whether the hypervisor's wake-up is the earlier; `guest_vectors` is false when
 * no guest interrupt may be taken (HLT with interrupts off, a parked CPU). */
void lapic_timer_arm_for_halt(struct cpu *c, uint64_t wake, bool guest_vectors);
/* True if the interrupt with this vector, taken by the host while halted, was the
 * hypervisor's own wake-up and not an expiry the guest is due. */
bool lapic_timer_is_hv_wake(struct cpu *c, uint8_t vector);
/* After a halt: the physical timer goes back to the guest's own deadline. */
void lapic_timer_restore(struct cpu *c);

#endif
