/*
 * guest_time.h - the guest's clock: the one vtime timeline plus arming (calibration guard:
 * 1x until armed by hypercall, control command or the boot grace period) and the real TSC
 * frequency the hypervisor measured. All TSC answers to the guest come from here (vtime).
 */
#ifndef TSX_HV_GUEST_TIME_H
#define TSX_HV_GUEST_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "vtime.h"

/* Real TSC ticks per second, measured against the PIT at boot. */
uint64_t tsc_hz(void);
void tsc_calibrate(void);

void guest_time_init(unsigned cpus, uint64_t real_now, unsigned grace_seconds);
/* The guest's TSC on `cpu` at raw real TSC `real` (the RDTSC path: no lock, no division). */
uint64_t guest_time_read(unsigned cpu, uint64_t real);
/* The smallest raw real TSC of `cpu` at which its guest TSC reaches `virtual_deadline`
 * under the current speed (vtime_to_real): timers programmed there never fire early. */
uint64_t guest_time_to_real(unsigned cpu, uint64_t virtual_deadline);
/* Who asked: the host (control port, grace period) is logged always; the guest (hypercalls,
 * keys) through the rate-limited guest log. */
enum time_requester { FROM_HOST, FROM_GUEST };
/* Returns a vtime_err (VTIME_OK, VTIME_EINVAL, VTIME_ERANGE); logs the change with `who`. */
int guest_time_set_speed(uint64_t p, uint64_t q, const char *who, enum time_requester from);
int guest_time_arm(const char *who, enum time_requester from);
/* Arms the clock once the grace period has passed. */
void guest_time_poll(uint64_t real_now);
void guest_time_state(struct vtime_state *out);
/* True once the guest's TSC may differ from the real TSC (armed, or TSC MSRs written). */
bool guest_time_virtualised(void);
/* tsc-scaling on|off at run time (control port). */
void guest_time_set_tsc_scaling(bool allowed);
/* The newest epoch as hardware TSC scaling parameters for `cpu` at raw TSC `real`
 * (vtime_linear; tsc_scaling.h). */
bool guest_time_linear(unsigned cpu, uint64_t real, uint64_t *rate, uint64_t *offset);
/* The speed a user asked for: the current one when armed, the pending one before. */
void guest_time_requested(uint64_t *p, uint64_t *q);
/* Called on every guest clock read: the first read under a new epoch records how long after
 * the speed change it came (status: per-CPU "switch_seen_us"). */
void guest_time_note_read(struct cpu *c, uint64_t real);
/* The real-TSC skew of `cpu` against the boot CPU, measured when it started (smp.c). */
int guest_time_set_cpu_offset(unsigned cpu, int64_t offset);
int guest_time_write_tsc(unsigned cpu, uint64_t real, uint64_t value);
int guest_time_write_tsc_adjust(unsigned cpu, int64_t value);
int64_t guest_time_read_tsc_adjust(unsigned cpu);

#endif
