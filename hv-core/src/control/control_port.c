/*
 * control_port.c - runs control commands arriving on the hypervisor UART and writes the
 * replies (docs/control-protocol.md). Polled from the exit path every millisecond of real
 * time and continuously while the guest idles in HLT, so a command is answered within a
 * few milliseconds whether the guest is busy or idle.
 */
#include "control_port.h"
#include "lapic_timer.h"
#include "control_protocol.h"
#include "guest_time.h"
#include "hvlib.h"
#include "log.h"
#include "serial.h"
#include "spinlock.h"
#include "x86.h"
#include "tsc_scaling.h"

#define POLL_INTERVAL_MS 1
#define MAX_BYTES_PER_POLL 256

static struct control_reader reader;
static uint64_t poll_interval;
static volatile uint64_t last_poll;
static struct spinlock poll_lock;

void control_port_init(void)
{
	control_reader_init(&reader);
	poll_interval = tsc_hz() / 1000 * POLL_INTERVAL_MS;
}

static uint64_t cycles_to_ns(uint64_t cycles)
{
	uint64_t hz = tsc_hz();
	return hz ? cycles / (hz / 1000000) * 1000 + (cycles % (hz / 1000000)) * 1000 / (hz / 1000000)
		  : 0;
}

/* Closes a one-second window of the exit counters (rates reported by status). */
static void update_rates(struct cpu *c, uint64_t now)
{
	struct exit_stats *s = &c->stats;
	if (!s->window_start_tsc) {
		s->window_start_tsc = now;
		return;
	}
	uint64_t elapsed = now - s->window_start_tsc;
	if (elapsed < tsc_hz())
		return;
	uint64_t rdtsc_total = s->count[EXIT_KIND_RDTSC] + s->count[EXIT_KIND_RDTSCP];
	uint64_t exits = s->total - s->window_exits, timed = s->timed_exits - s->window_timed;
	s->last_rdtsc_per_s = (rdtsc_total - s->window_rdtsc) * tsc_hz() / elapsed;
	s->last_exits_per_s = exits * tsc_hz() / elapsed;
	s->last_ns_per_exit = timed ? cycles_to_ns((s->host_cycles - s->window_cycles) / timed) : 0;
	s->last_apic_per_s = (s->count[EXIT_KIND_APIC] - s->window_apic) * tsc_hz() / elapsed;
	s->window_apic = s->count[EXIT_KIND_APIC];
	s->window_start_tsc = now;
	s->window_rdtsc = rdtsc_total;
	s->window_exits = s->total;
	s->window_timed = s->timed_exits;
	s->window_cycles = s->host_cycles;
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case VCPU_RUNNING: return "running";
	case VCPU_WAIT_FOR_SIPI: return "wait-for-sipi";
	default: return "offline";
	}
}

/* The guest's timer mode, as its LVT timer register says (lapic_timer.h). */
static const char *timer_mode(const struct vtimer *t)
{
	if (t->lvt & LVT_MASKED)
		return "masked";
	switch (t->lvt & LVT_TIMER_MODE_MASK) {
	case LVT_TIMER_PERIODIC: return "periodic";
	case LVT_TIMER_TSC_DEADLINE: return "tsc-deadline";
	default: return "one-shot";
	}
}

static void add_stats(struct exit_stats *sum, const struct exit_stats *s)
{
	for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
		sum->count[k] += s->count[k];
	sum->total += s->total;
	sum->timed_exits += s->timed_exits;
	sum->host_cycles += s->host_cycles;
	sum->rdtsc_host_cycles += s->rdtsc_host_cycles;
	sum->last_rdtsc_per_s += s->last_rdtsc_per_s;
	sum->last_exits_per_s += s->last_exits_per_s;
	sum->injected += s->injected;
	sum->reexecutions += s->reexecutions;
}

/* One JSON line, written in pieces (hv_reply) so that it arrives whole whatever the
 * counters hold: the log's line limit does not apply to replies. Totals are over every CPU;
 * "cpus" has each CPU's own counts (another CPU's counters are read while it runs: each
 * value is current, the set is not a snapshot). */
static void reply_status(struct cpu *c)
{
	struct vtime_state st;
	uint64_t real = rdtsc();
	guest_time_state(&st);
	uint64_t virt = guest_time_read(c->index, real);
	struct exit_stats sum = { 0 };
	for (unsigned i = 0; i < cpu_count(); i++)
		add_stats(&sum, &cpu_at(i)->stats);
	struct exit_stats *s = &sum;
	uint64_t rdtsc_exits = s->count[EXIT_KIND_RDTSC] + s->count[EXIT_KIND_RDTSCP];
	struct log_counts lc;
	hv_log_counts(&lc);
	hv_reply("ok {\"speed\":\"%lu/%lu\",\"p\":%lu,\"q\":%lu,\"pending\":\"%lu/%lu\",", st.p, st.q,
		 st.p, st.q, st.pending_p, st.pending_q);
	hv_reply("\"armed\":%s,\"epochs\":%lu,\"tsc_hz\":%lu,\"real_tsc\":%lu,\"virtual_tsc\":%lu,",
		 st.armed ? "true" : "false", st.epoch_count, tsc_hz(), real, virt);
	hv_reply("\"exits\":{");
	for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
		hv_reply("%s\"%s\":%lu", k ? "," : "", exit_kind_name(k), s->count[k]);
	hv_reply("},\"exits_total\":%lu,\"exits_per_s\":%lu,\"rdtsc_exits_per_s\":%lu,", s->total,
		 s->last_exits_per_s, s->last_rdtsc_per_s);
	hv_reply("\"host_ns_per_exit\":%lu,\"host_ns_per_exit_window\":%lu,\"host_ns_per_rdtsc_exit\":%lu,",
		 s->timed_exits ? cycles_to_ns(s->host_cycles / s->timed_exits) : 0,
		 c->stats.last_ns_per_exit,
		 rdtsc_exits ? cycles_to_ns(s->rdtsc_host_cycles / rdtsc_exits) : 0);
	hv_reply("\"faults_injected\":%lu,\"reexecutions\":%lu,\"apic_timer_hz\":%lu,", s->injected,
		 s->reexecutions, lapic_timer_hz());
	hv_reply("\"tsc_scaling\":\"%s\",", tsc_scaling_allowed() ? "on" : "off");
	hv_reply("\"log\":{\"guest_lines\":%lu,\"guest_suppressed\":%lu},", lc.guest_lines,
		 lc.guest_suppressed);
	hv_reply("\"cpus\":[");
	for (unsigned i = 0; i < cpu_count(); i++) {
		const struct cpu *t = cpu_at(i);
		const struct exit_stats *ts = &t->stats;
		hv_reply("%s{\"cpu\":%u,\"apic_id\":%u,\"state\":\"%s\",\"exits_total\":%lu,"
			 "\"exits_per_s\":%lu,\"rdtsc\":%lu,\"rdtscp\":%lu,\"hlt\":%lu,\"apic\":%lu,"
			 "\"apic_per_s\":%lu,\"switch_seen_us\":%lu,",
			 i ? "," : "", i, t->apic_id, state_name(t->run_state), ts->total,
			 ts->last_exits_per_s, ts->count[EXIT_KIND_RDTSC], ts->count[EXIT_KIND_RDTSCP],
			 ts->count[EXIT_KIND_HLT], ts->count[EXIT_KIND_APIC], ts->last_apic_per_s,
			 cycles_to_ns(ts->switch_seen_cycles) / 1000);
		hv_reply("\"tsc\":\"%s\",\"tsc_path_changes\":%lu,", tsc_path_name((enum tsc_path)t->tsc_programmed),
			 t->tsc_path_changes);
		hv_reply("\"timer\":\"%s\",\"timer_programs\":%lu,\"halts\":%lu,\"halt_wakes\":%lu,"
			 "\"hv_wakes\":%lu,\"interrupts_injected\":%lu,",
			 timer_mode(&t->timer), t->timer.programs, t->halts, t->halt_wakes,
			 t->timer.hv_wakes, t->interrupts_injected);
		/* The timer's state, for diagnosis: the guest's next virtual expiry and how far the
		 * physical deadline is from now (negative: past), in microseconds. */
		int64_t left = t->timer.real_deadline ? (int64_t)(t->timer.real_deadline - real) : 0;
		hv_reply("\"timer_armed\":%s,\"timer_real_left_us\":%ld,\"timer_hv_wake\":%u,"
			 "\"timer_partial\":%u,\"timer_redelivered\":%lu,\"halted\":%u,\"halt_apic\":\"ppr %x svr %x lvt %x\"}",
			 (t->timer.tsc_deadline || t->timer.deadline) ? "true" : "false",
			 left / (int64_t)(tsc_hz() / 1000000 ? tsc_hz() / 1000000 : 1), t->timer.hv_wake,
			 t->timer.partial, t->timer.redelivered, t->in_halt, t->halt_ppr, t->halt_svr, t->halt_lvt);
	}
	hv_reply("]}");
	hv_reply_end();
}

static void execute(struct cpu *c, const struct control_request *r)
{
	int err;
	switch (r->command) {
	case CONTROL_SPEED:
		err = guest_time_set_speed(r->p, r->q, "control port", FROM_HOST);
		if (err)
			hv_reply("err RANGE speed must be between 1/1000 and 10000");
		else
			hv_reply("ok speed %lu/%lu", r->p, r->q);
		break;
	case CONTROL_STATUS:
		reply_status(c);
		return;
	case CONTROL_ARM:
		guest_time_arm("control port", FROM_HOST);
		hv_reply("ok armed");
		break;
	case CONTROL_TSC_SCALING:
		guest_time_set_tsc_scaling(r->p != 0);
		hv_reply("ok tsc-scaling %s", r->p ? "on" : "off");
		break;
	case CONTROL_HELP:
		hv_reply("ok commands: speed N | speed P/Q (1/1000..10000) | status | arm | "
			 "tsc-scaling on|off | help");
		break;
	case CONTROL_ERROR:
		hv_reply("err %s %s", r->code, r->message);
		break;
	}
	hv_reply_end();
}

/* Any CPU may poll: the one that takes the lock reads the port; the others go on at once,
 * so the port is answered whichever CPUs are busy, halted or parked. */
unsigned hv_poll(struct cpu *c, uint64_t now)
{
	update_rates(c, now);
	if (!spin_trylock(&poll_lock))
		return 0;
	last_poll = now;
	struct control_request req;
	uint8_t byte;
	unsigned i = 0;
	for (; i < MAX_BYTES_PER_POLL && serial_read(&byte); i++)
		if (control_reader_feed(&reader, byte, &req))
			execute(c, &req);
	guest_time_poll(now);
	spin_unlock(&poll_lock);
	return i;
}

unsigned hv_poll_if_due(struct cpu *c, uint64_t now)
{
	if (now - last_poll >= poll_interval)
		return hv_poll(c, now);
	if (now - c->stats.window_start_tsc >= tsc_hz())
		update_rates(c, now);
	return 0;
}
