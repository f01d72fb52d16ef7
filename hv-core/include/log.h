/*
 * log.h - the hypervisor log on its own serial port. Every log line starts with "# " so a
 * program reading the port can tell log lines from control replies ("ok ..."/"err ...").
 */
#ifndef TSX_HV_LOG_H
#define TSX_HV_LOG_H

#include <stdarg.h>

/* One log line: "# tsx-hv: <message>\n". */
void hv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A raw line as given plus "\n" (panic dumps that carry their own tag). Cut at 510 bytes. */
void hv_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A log line caused by the guest (hypercalls, hotkeys, odd instructions): rate-limited to
 * a burst of GUEST_LOG_BURST lines and GUEST_LOG_PER_SECOND after it; the lines dropped are
 * counted and announced when logging resumes. */
#define GUEST_LOG_BURST 20u
#define GUEST_LOG_PER_SECOND 5u
void hv_log_guest(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A MARK line (docs/hypercall.md): the host's measurement channel under engines whose time is
 * not the host's, so it has a budget of its own (a host pairing samples back to back makes a
 * few dozen a second; diagnostics must not starve it, nor it them). The MARK hypercall is
 * CPL 0 only, and a burst of MARK_LOG_BURST then MARK_LOG_PER_SECOND lines (about 70 bytes each) use at
 * most 40% of the port at 115200 baud. */
#define MARK_LOG_BURST 64u
#define MARK_LOG_PER_SECOND 64u
void hv_log_mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct log_counts {
	unsigned long guest_lines;      /* guest-caused lines written */
	unsigned long guest_suppressed; /* guest-caused lines dropped by the rate limit */
};
void hv_log_counts(struct log_counts *out);
/* A control reply of any length, written in pieces and never cut: hv_reply() appends,
 * hv_reply_end() ends the line. */
void hv_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hv_reply_end(void);
/* "# PANIC <message>", then the caller-registered state dump, then the shutdown action. */
__attribute__((noreturn)) void hv_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Dumps extra state on panic (the exit loop registers the guest state dump). */
void hv_set_panic_dump(void (*dump)(void));

#endif
