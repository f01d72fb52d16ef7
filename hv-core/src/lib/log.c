/* log.c - log lines and panics on the hypervisor port (format: docs/hypervisor.md). */
#include "log.h"
#include "hvlib.h"
#include "power.h"
#include "serial.h"

#define LINE_MAX 512

static void (*panic_dump)(void);
static bool panicking;

static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char line[LINE_MAX];
	size_t p = strlen(prefix);
	memcpy(line, prefix, p);
	int n = hv_vsnprintf(line + p, sizeof(line) - p - 1, fmt, ap);
	size_t len = p + ((size_t)n < sizeof(line) - p - 1 ? (size_t)n : sizeof(line) - p - 2);
	line[len++] = '\n';
	serial_write(line, (unsigned)len);
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

void hv_set_panic_dump(void (*dump)(void))
{
	panic_dump = dump;
}

void hv_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("# PANIC ", fmt, ap);
	va_end(ap);
	if (!panicking) {
		panicking = true;
		if (panic_dump)
			panic_dump();
	}
	power_shutdown_action();
}
