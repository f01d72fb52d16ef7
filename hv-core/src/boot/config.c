/* config.c - parses the hypervisor command line into struct hv_config (config.h). */
#include "config.h"
#include "hvlib.h"
#include "serial.h"

static bool key_is(const char *w, size_t klen, const char *key)
{
	return klen == strlen(key) && !memcmp(w, key, klen);
}

/* Unsigned number, decimal or 0x-hex; false on anything else or overflow past `max`. */
static bool parse_number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	unsigned base = 10;
	size_t i = 0;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == n)
		return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		unsigned d;
		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned)(s[i] - 'A' + 10);
		else
			return false;
		v = v * base + d;
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

static void parse_word(const char *w, size_t n, struct hv_config *out, config_report_fn report)
{
	size_t k = 0;
	while (k < n && w[k] != '=')
		k++;
	if (k == n && w[0] == '/')
		return; /* a loader that passes the image path as the first word */
	if (k == n) {
		report(w, n, "not key=value");
		return;
	}
	const char *v = w + k + 1;
	size_t vn = n - k - 1;
	uint64_t num;
	if (key_is(w, k, "serial")) {
		if (parse_number(v, vn, 0xFFF8, &num) && num)
			out->serial_port = (uint16_t)num;
		else
			report(w, n, "expected an I/O port such as 0x2f8");
	} else if (key_is(w, k, "grace")) {
		if (parse_number(v, vn, CONFIG_MAX_GRACE_SECONDS, &num)) {
			out->grace_seconds = (unsigned)num;
			out->grace_given = true;
		} else
			report(w, n, "expected seconds (0..86400)");
	} else if (key_is(w, k, "on-shutdown")) {
		if (key_is(v, vn, "poweroff"))
			out->on_shutdown = SHUTDOWN_POWEROFF;
		else if (key_is(v, vn, "reset"))
			out->on_shutdown = SHUTDOWN_RESET;
		else if (key_is(v, vn, "halt"))
			out->on_shutdown = SHUTDOWN_HALT;
		else
			report(w, n, "expected poweroff, reset or halt");
	} else if (key_is(w, k, "tsc-deadline")) {
		if (key_is(v, vn, "on"))
			out->tsc_deadline = true;
		else if (key_is(v, vn, "off"))
			out->tsc_deadline = false;
		else
			report(w, n, "expected on or off");
	} else if (key_is(w, k, "tsc-scaling")) {
		if (key_is(v, vn, "on"))
			out->tsc_scaling = true;
		else if (key_is(v, vn, "off"))
			out->tsc_scaling = false;
		else
			report(w, n, "expected on or off");
	} else if (key_is(w, k, "boot")) {
		if (key_is(v, vn, "linux"))
			out->boot = BOOT_LINUX;
		else if (key_is(v, vn, "chain"))
			out->boot = BOOT_CHAIN;
		else
			report(w, n, "expected linux or chain");
	} else if (key_is(w, k, "chain-drive")) {
		if (parse_number(v, vn, 0xFF, &num) && num >= 0x80)
			out->chain_drive = (uint8_t)num;
		else
			report(w, n, "expected a BIOS hard disk number, 0x80 to 0xff");
	} else if (key_is(w, k, "drive-swap")) {
		if (key_is(v, vn, "on"))
			out->drive_swap = true;
		else if (key_is(v, vn, "off"))
			out->drive_swap = false;
		else
			report(w, n, "expected on or off");
	} else if (key_is(w, k, "hotkeys")) {
		const char *why = "";
		if (hotkeys_parse(&out->hotkeys, v, vn, &why))
			report(w, n, why);
	} else {
		report(w, n, "unknown key");
	}
}

void config_parse(const char *cmdline, struct hv_config *out, config_report_fn report)
{
	out->serial_port = SERIAL_DEFAULT_PORT;
	out->grace_seconds = CONFIG_DEFAULT_GRACE_SECONDS;
	out->grace_given = false;
	out->boot = BOOT_LINUX;
	out->chain_drive = 0x80;
	out->drive_swap = true;
	out->on_shutdown = SHUTDOWN_POWEROFF;
	out->tsc_deadline = true;
	out->tsc_scaling = true;
	hotkeys_defaults(&out->hotkeys);
	size_t i = 0, n = strlen(cmdline);
	while (i < n) {
		while (i < n && cmdline[i] == ' ')
			i++;
		size_t start = i;
		while (i < n && cmdline[i] != ' ')
			i++;
		if (i > start)
			parse_word(cmdline + start, i - start, out, report);
	}
}
