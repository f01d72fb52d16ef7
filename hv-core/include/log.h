/*
 * log.h - the hypervisor log on its own serial port. Every log line starts with "# " so a
 * program reading the port can tell log lines from control replies ("ok ..."/"err ...").
 */
#ifndef TSX_HV_LOG_H
#define TSX_HV_LOG_H

#include <stdarg.h>

/* One log line: "# tsx-hv: <message>\n". */
void hv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A raw line as given plus "\n" (control replies, panic dumps that carry their own tag). */
void hv_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "# PANIC <message>", then the caller-registered state dump, then the shutdown action. */
__attribute__((noreturn)) void hv_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Dumps extra state on panic (the exit loop registers the guest state dump). */
void hv_set_panic_dump(void (*dump)(void));

#endif
