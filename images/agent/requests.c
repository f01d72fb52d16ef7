#include "requests.h"
#include "base64.h"
#include "exec.h"
#include "hvcmds.h"
#include "hypercall.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ID_MAX 32

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static char *format_reply(const char *id, int ok, const char *payload)
{
	size_t n = strlen(id) + strlen(payload) + 16;
	char *r = malloc(n);
	if (*payload) snprintf(r, n, "@%s %s %s\n", id, ok ? "ok" : "err", payload);
	else snprintf(r, n, "@%s %s\n", id, ok ? "ok" : "err");
	return r;
}

static char *reply_exec(const char *id, const char *arg)
{
	unsigned char *command = malloc(strlen(arg) + 4);
	long n = b64_decode(arg, command);
	if (n <= 0 || memchr(command, 0, (size_t)n)) {
		free(command);
		return format_reply(id, 0, "usage: exec <base64 of a shell command>");
	}
	command[n] = 0;
	char *output;
	size_t len, dropped;
	int code = exec_command((char *)command, &output, &len, &dropped);
	free(command);
	if (code < 0) return format_reply(id, 0, "exec-failed");
	/* len= lets the host tell a complete reply from one that kernel messages on the same
	 * console cut short (src/engines/agent-protocol.ts, parseExec); dropped= counts the
	 * output beyond the cap. */
	char *payload = malloc(4 * ((len + 2) / 3) + 64);
	int head = sprintf(payload, "exit=%d len=%zu dropped=%zu out=", code, len, dropped);
	b64_encode((unsigned char *)output, len, payload + head);
	free(output);
	char *r = format_reply(id, 1, payload);
	free(payload);
	return r;
}

static int valid_id(const char *id, size_t len)
{
	if (len == 0 || len > ID_MAX) return 0;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/*
 * `sleep <ms>`: the agent itself sleeps that many milliseconds of CLOCK_MONOTONIC (one absolute
 * clock_nanosleep, restarted after a signal) and replies `slept=<ns> late=<ns>`: how much the
 * guest's monotonic clock advanced, and how far past the deadline the sleep ended. No process is
 * started, so the host can time a guest sleep without the cost of a fork and exec, which at high
 * speeds under an emulator takes seconds of host time on an installed system.
 */
#define SLEEP_MAX_MS (24ull * 3600 * 1000)
static char *reply_sleep(const char *id, const char *arg)
{
	char payload[96];
	char *end = NULL;
	errno = 0;
	unsigned long long ms = strtoull(arg, &end, 10);
	if (errno || end == arg || *end != 0 || *arg == '-' || ms > SLEEP_MAX_MS) {
		snprintf(payload, sizeof payload, "bad-argument (milliseconds, 0 to %llu)", SLEEP_MAX_MS);
		return format_reply(id, 0, payload);
	}
	int64_t start = (int64_t)now_ns(CLOCK_MONOTONIC);
	int64_t deadline = start + (int64_t)ms * 1000000;
	struct timespec ts = { .tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000 };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	int64_t stop = (int64_t)now_ns(CLOCK_MONOTONIC);
	snprintf(payload, sizeof payload, "slept=%lld late=%lld", (long long)(stop - start), (long long)(stop - deadline));
	return format_reply(id, 1, payload);
}

enum request_action handle_request(const char *line, char **reply)
{
	*reply = NULL;
	if (line[0] != '@') return REQUEST_NONE;
	size_t idlen = strcspn(line + 1, " ");
	if (!valid_id(line + 1, idlen)) return REQUEST_NONE;
	char id[ID_MAX + 1];
	memcpy(id, line + 1, idlen);
	id[idlen] = 0;
	const char *rest = line + 1 + idlen;
	while (*rest == ' ') rest++;
	size_t cmdlen = strcspn(rest, " ");
	const char *arg = rest + cmdlen;
	while (*arg == ' ') arg++;
	char cmd[16] = "";
	if (cmdlen < sizeof cmd) {
		memcpy(cmd, rest, cmdlen);
		cmd[cmdlen] = 0;
	}
	char payload[160];
	if (strcmp(cmd, "clock") == 0) {
		/* `clock mark`: under tsx-hv the readings are followed at once by a MARK hypercall: the
		 * hypervisor logs the machine's real TSC for this tag on its own port, so the host can
		 * pair the guest clock with the machine's time where host time is not the machine's
		 * (Bochs). Only on request: the hypervisor rate-limits guest-caused log lines, and a
		 * host sampling the clock many times a second must not use up that budget. */
		static int under_hv = -1;
		static uint64_t mark_seq;
		if (under_hv < 0)
			under_hv = hv_present();
		unsigned long long mono = (unsigned long long)now_ns(CLOCK_MONOTONIC);
		unsigned long long real = (unsigned long long)now_ns(CLOCK_REALTIME);
		unsigned long long tsc = (unsigned long long)rdtsc();
		int n = snprintf(payload, sizeof payload, "mono=%llu real=%llu tsc=%llu", mono, real, tsc);
		if (under_hv && strcmp(arg, "mark") == 0) {
			uint64_t tag = ++mark_seq;
			if (hypercall(TSXH_FN_MARK, tag, 0).rax == 0 && n > 0 && (size_t)n < sizeof payload)
				snprintf(payload + n, sizeof payload - (size_t)n, " mark=%llu",
					 (unsigned long long)tag);
		}
		*reply = format_reply(id, 1, payload);
	} else if (strcmp(cmd, "exec") == 0) {
		*reply = reply_exec(id, arg);
	} else if (strcmp(cmd, "sleep") == 0) {
		*reply = reply_sleep(id, arg);
	} else if (strcmp(cmd, "speed") == 0) {
		int rc = hv_cmd_speed(arg, payload, sizeof payload);
		*reply = format_reply(id, rc == 0, payload);
	} else if (strcmp(cmd, "status") == 0) {
		int rc = hv_cmd_status(payload, sizeof payload);
		*reply = format_reply(id, rc == 0, payload);
	} else if (strcmp(cmd, "arm") == 0) {
		int rc = hv_cmd_arm(payload, sizeof payload);
		*reply = format_reply(id, rc == 0, payload);
	} else if (strcmp(cmd, "poweroff") == 0) {
		*reply = format_reply(id, 1, "");
		return REQUEST_POWEROFF;
	} else {
		snprintf(payload, sizeof payload, "unknown-command (clock exec sleep speed status arm poweroff)");
		*reply = format_reply(id, 0, payload);
	}
	return REQUEST_REPLIED;
}
