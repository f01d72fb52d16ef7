#include "hvcmds.h"
#include "hypercall.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_speed(const char *s, uint64_t *p, uint64_t *q)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+') return -1;
	const char *slash = strchr(s, '/');
	const char *dot = strchr(s, '.');
	if (slash) {
		unsigned long long a = strtoull(s, &end, 10);
		if (end != slash) return -1;
		if (slash[1] == '-' || slash[1] == '+' || !slash[1]) return -1;
		unsigned long long b = strtoull(slash + 1, &end, 10);
		if (*end || a == 0 || b == 0) return -1;
		*p = a;
		*q = b;
		return 0;
	}
	if (dot) {
		/* "0.25" -> 25/100 -> 1/4 (the ABI takes p/q; keep the numbers small). */
		unsigned long long whole = dot == s ? 0 : strtoull(s, &end, 10);
		if (dot != s && end != dot) return -1;
		size_t digits = strlen(dot + 1);
		if (digits == 0 || digits > 6 || strspn(dot + 1, "0123456789") != digits) return -1;
		unsigned long long frac = strtoull(dot + 1, NULL, 10), scale = 1;
		for (size_t i = 0; i < digits; i++) scale *= 10;
		if (whole * scale + frac == 0) return -1;
		unsigned long long a = whole * scale + frac, b = scale;
		while (b) {
			unsigned long long t = a % b;
			a = b;
			b = t;
		}
		*p = (whole * scale + frac) / a;
		*q = scale / a;
		return 0;
	}
	unsigned long long a = strtoull(s, &end, 10);
	if (*end || a == 0) return -1;
	*p = a;
	*q = 1;
	return 0;
}

static int no_hypervisor(char *out, size_t n)
{
	snprintf(out, n, "no-hypervisor");
	return -1;
}

static int failed(const struct hc_result *r, char *out, size_t n)
{
	snprintf(out, n, "%s rax=%lld", hc_error_name(r->rax), (long long)r->rax);
	return -1;
}

int hv_cmd_status(char *out, size_t n)
{
	if (!hv_present()) return no_hypervisor(out, n);
	struct hc_result r = hypercall(TSXH_FN_STATUS, 0, 0);
	if (r.rax != 0) return failed(&r, out, n);
	snprintf(out, n, "speed=%llu/%llu armed=%llu", (unsigned long long)r.rbx,
		 (unsigned long long)r.rcx, (unsigned long long)(r.rdx & 1));
	return 0;
}

int hv_cmd_speed(const char *arg, char *out, size_t n)
{
	uint64_t p, q;
	if (parse_speed(arg, &p, &q) != 0) {
		snprintf(out, n, "usage: speed N|P/Q|D.DDD (positive)");
		return -1;
	}
	if (!hv_present()) return no_hypervisor(out, n);
	struct hc_result r = hypercall(TSXH_FN_SET_SPEED, p, q);
	if (r.rax != 0) return failed(&r, out, n);
	return hv_cmd_status(out, n);
}

int hv_cmd_arm(char *out, size_t n)
{
	if (!hv_present()) return no_hypervisor(out, n);
	struct hc_result r = hypercall(TSXH_FN_ARM, 0, 0);
	if (r.rax != 0) return failed(&r, out, n);
	return hv_cmd_status(out, n);
}
