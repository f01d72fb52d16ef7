/*
 * guest_time.c - owns the machine's vtime_clock and the calibration guard.
 *
 * The guest boots at 1x so that Linux calibrates its TSC (and the LAPIC timer against it)
 * at the true rate; speed requests before arming are held by vtime and applied when the
 * clock is armed: by the guest agent's ARM hypercall after calibration, by `arm` on the
 * control port, or `grace=` seconds after the guest started (0 = never).
 */
#include "guest_time.h"
#include "cpu.h"
#include "lapic_timer.h"
#include "log.h"
#include "tsc_scaling.h"
#include "x86.h"

static struct vtime_clock clock;
static volatile uint64_t last_change_tsc; /* reference real TSC of the newest speed change */
static uint64_t grace_deadline; /* real TSC; 0 = no automatic arming */
static bool tsc_written;

/* The reference real TSC of the calling CPU, read after every earlier store (MFENCE; LFENCE;
 * RDTSC, SDM vol. 2B, RDTSC): vtime reads it inside a publication, so a new epoch never
 * starts before a real TSC another CPU already used with the old one (vtime.h, invariant
 * M2). With it, a speed change on one CPU can never make another CPU's clock step back. */
static uint64_t reference_now(void)
{
	__asm__ volatile("mfence; lfence" : : : "memory");
	return vtime_reference(&clock, this_cpu()->index, rdtsc());
}

void guest_time_init(unsigned cpus, uint64_t real_now, unsigned grace_seconds)
{
	vtime_init(&clock, cpus, real_now);
	vtime_set_publish_lead(&clock, 0);
	vtime_set_time_source(&clock, reference_now);
	grace_deadline = grace_seconds ? real_now + (uint64_t)grace_seconds * tsc_hz() : 0;
}

uint64_t guest_time_read(unsigned cpu, uint64_t real)
{
	return vtime_read(&clock, cpu, real);
}

bool guest_time_linear(unsigned cpu, uint64_t real, uint64_t *rate, uint64_t *offset)
{
	return vtime_linear(&clock, cpu, real, rate, offset);
}

uint64_t guest_time_to_real(unsigned cpu, uint64_t virtual_deadline)
{
	return vtime_to_real(&clock, cpu, virtual_deadline);
}

static const char *speed_error(int err)
{
	return err == VTIME_ERANGE ? "out of range" : "invalid";
}

int guest_time_set_speed(uint64_t p, uint64_t q, const char *who, enum time_requester from)
{
	void (*log)(const char *, ...) = from == FROM_GUEST ? hv_log_guest : hv_log;
	tsc_scaling_begin();
	uint64_t now = reference_now();
	int err = vtime_set_speed(&clock, now, p, q);
	tsc_scaling_end();
	if (!err) {
		last_change_tsc = now;
		lapic_timer_speed_changed();
	}
	if (err)
		log("speed %lu/%lu from %s refused: %s", p, q, who, speed_error(err));
	else if (vtime_armed(&clock))
		log("speed %lu/%lu (%s)", p, q, who);
	else
		log("speed %lu/%lu pending until armed (%s)", p, q, who);
	return err;
}

/* Switching between scaling and trapping is a change of how CPUs read the timeline: every
 * CPU reading it without exits leaves the guest first (tsc_scaling.h). */
void guest_time_set_tsc_scaling(bool allowed)
{
	tsc_scaling_begin();
	tsc_scaling_configure(allowed);
	tsc_scaling_end();
	hv_log("tsc-scaling %s (control port)", allowed ? "on" : "off");
}

int guest_time_arm(const char *who, enum time_requester from)
{
	if (vtime_armed(&clock))
		return VTIME_OK;
	tsc_scaling_begin();
	uint64_t now = reference_now();
	int err = vtime_arm(&clock, now);
	tsc_scaling_end();
	last_change_tsc = now;
	lapic_timer_speed_changed();
	struct vtime_state s;
	vtime_get_state(&clock, &s);
	(from == FROM_GUEST ? hv_log_guest : hv_log)("armed by %s, speed %lu/%lu", who, s.p, s.q);
	return err;
}

void guest_time_poll(uint64_t real_now)
{
	if (grace_deadline && real_now >= grace_deadline) {
		grace_deadline = 0;
		guest_time_arm("grace period", FROM_HOST);
	}
}

void guest_time_state(struct vtime_state *out)
{
	vtime_get_state(&clock, out);
}

void guest_time_requested(uint64_t *p, uint64_t *q)
{
	struct vtime_state s;
	vtime_get_state(&clock, &s);
	*p = s.armed ? s.p : s.pending_p;
	*q = s.armed ? s.q : s.pending_q;
}

bool guest_time_virtualised(void)
{
	return tsc_written || vtime_armed(&clock);
}

int guest_time_set_cpu_offset(unsigned cpu, int64_t offset)
{
	return vtime_set_cpu_offset(&clock, cpu, offset);
}

int guest_time_write_tsc(unsigned cpu, uint64_t real, uint64_t value)
{
	tsc_written = true;
	int err = vtime_write_tsc(&clock, cpu, real, value);
	lapic_timer_speed_changed();
	return err;
}

int guest_time_write_tsc_adjust(unsigned cpu, int64_t value)
{
	tsc_written = true;
	int err = vtime_write_tsc_adjust(&clock, cpu, value);
	lapic_timer_speed_changed();
	return err;
}

int64_t guest_time_read_tsc_adjust(unsigned cpu)
{
	return vtime_read_tsc_adjust(&clock, cpu);
}

void guest_time_note_read(struct cpu *c, uint64_t real)
{
	uint64_t epochs = __atomic_load_n(&clock.seq, __ATOMIC_ACQUIRE) / 2;
	if (epochs == c->stats.epochs_seen)
		return;
	c->stats.epochs_seen = epochs;
	uint64_t ref = vtime_reference(&clock, c->index, real), change = last_change_tsc;
	c->stats.switch_seen_cycles = ref > change ? ref - change : 0;
}
