/*
 * log.c - log lines and panics on the hypervisor port (format: docs/hypervisor.md). Every
 * CPU writes here: the port is owned by one CPU at a time (a lock the owner may take again,
 * so a reply and the log lines its command causes on the same CPU do not deadlock), so lines
 * never interleave. A panicking CPU waits for the port only a bounded time.
 */
#include "log.h"
#include "cpu.h"
#include "hvlib.h"
#include "power.h"
#include "guest_time.h"
#include "serial.h"
#include "spinlock.h"
#include "x86.h"

#define LINE_MAX 512
#define REPLY_PIECE_MAX 256
#define PANIC_LOCK_SPINS 100000000ul
#define NO_OWNER 0xFFFFFFFFu

static void (*panic_dump)(void);
static volatile uint32_t panicking;
static struct spinlock port_lock;
static volatile uint32_t port_owner = NO_OWNER;
static unsigned port_depth;
static bool reply_open;

static void port_take(void)
{
	uint32_t me = this_cpu()->index;
	if (port_owner == me) {
		port_depth++;
		return;
	}
	if (panicking)
		spin_lock_bounded(&port_lock, PANIC_LOCK_SPINS);
	else
		spin_lock(&port_lock);
	port_owner = me;
	port_depth = 1;
}

static void port_release(void)
{
	if (--port_depth)
		return;
	port_owner = NO_OWNER;
	spin_unlock(&port_lock);
}

static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char line[LINE_MAX];
	size_t p = strlen(prefix);
	memcpy(line, prefix, p);
	int n = hv_vsnprintf(line + p, sizeof(line) - p - 1, fmt, ap);
	size_t len = p + ((size_t)n < sizeof(line) - p - 1 ? (size_t)n : sizeof(line) - p - 2);
	line[len++] = '\n';
	port_take();
	serial_write(line, (unsigned)len);
	port_release();
}

void hv_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("# tsx-hv: ", fmt, ap);
	va_end(ap);
}

void hv_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

static struct log_counts counts;
static unsigned long suppressed_since;

/* A token bucket refilled from the TSC: `burst` lines at once, then `per_second`. */
struct line_budget {
	unsigned burst, per_second, tokens;
	uint64_t tokens_at_tsc;
};
static struct line_budget guest_budget = { GUEST_LOG_BURST, GUEST_LOG_PER_SECOND,
					   GUEST_LOG_BURST, 0 };
static struct line_budget mark_budget = { MARK_LOG_BURST, MARK_LOG_PER_SECOND, MARK_LOG_BURST,
					  0 };

static bool line_allowed(struct line_budget *b)
{
	uint64_t hz = tsc_hz(), now = rdtsc();
	if (hz) {
		uint64_t interval = hz / b->per_second;
		if (!b->tokens_at_tsc)
			b->tokens_at_tsc = now;
		while (now - b->tokens_at_tsc >= interval && b->tokens < b->burst) {
			b->tokens++;
			b->tokens_at_tsc += interval;
		}
		if (b->tokens == b->burst)
			b->tokens_at_tsc = now;
	}
	if (!b->tokens)
		return false;
	b->tokens--;
	return true;
}

static void log_limited(struct line_budget *b, const char *fmt, va_list ap)
{
	port_take(); /* also guards the budgets */
	if (!line_allowed(b)) {
		counts.guest_suppressed++;
		suppressed_since++;
		port_release();
		return;
	}
	if (suppressed_since) {
		char note[96];
		hv_snprintf(note, sizeof(note), "%lu guest-caused log lines suppressed (rate limit)",
			    suppressed_since);
		suppressed_since = 0;
		hv_log("%s", note);
	}
	counts.guest_lines++;
	emit("# tsx-hv: ", fmt, ap);
	port_release();
}

void hv_log_guest(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_limited(&guest_budget, fmt, ap);
	va_end(ap);
}

void hv_log_mark(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_limited(&mark_budget, fmt, ap);
	va_end(ap);
}

void hv_log_counts(struct log_counts *out)
{
	*out = counts;
}

void hv_reply(const char *fmt, ...)
{
	char piece[REPLY_PIECE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(piece, sizeof(piece), fmt, ap);
	va_end(ap);
	if (!reply_open) {
		port_take(); /* held until hv_reply_end: a reply is one uninterrupted line */
		reply_open = true;
	}
	if (n < (int)sizeof(piece)) {
		serial_write(piece, (unsigned)n);
		return;
	}
	/* Longer than a piece: format again into a buffer big enough (one retry, bounded by
	 * LINE_MAX * 8; replies are built from short pieces, this is the safety net). */
	char big[LINE_MAX * 8];
	va_start(ap, fmt);
	n = hv_vsnprintf(big, sizeof(big), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(big))
		hv_panic("control reply piece of %d bytes exceeds %u", n, (unsigned)sizeof(big));
	serial_write(big, (unsigned)n);
}

void hv_reply_end(void)
{
	if (!reply_open)
		port_take();
	serial_write("\n", 1);
	reply_open = false;
	port_release();
}

void hv_set_panic_dump(void (*dump)(void))
{
	panic_dump = dump;
}

void hv_panic(const char *fmt, ...)
{
	bool first = __atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST) == 0;
	va_list ap;
	va_start(ap, fmt);
	emit("# PANIC ", fmt, ap);
	va_end(ap);
	if (first && panic_dump)
		panic_dump();
	power_shutdown_action();
}
