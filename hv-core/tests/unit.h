/*
 * unit.h - the host C test runner shared by every hv-core unit test (vtime, control parser,
 * boot_params, e820, multiboot2 ...). Each test binary is one file of TEST() functions and a
 * main() that is RUN_TESTS(...). Output is TAP-like; the exit status is the number of failures.
 */
#ifndef TSX_HV_TESTS_UNIT_H
#define TSX_HV_TESTS_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int unit_failures;
extern const char *unit_current;

#define UNIT_FAIL(fmt, ...)                                                              \
	do {                                                                             \
		fprintf(stderr, "  FAIL %s (%s:%d): " fmt "\n", unit_current, __FILE__, \
			__LINE__, __VA_ARGS__);                                          \
		unit_failures++;                                                         \
	} while (0)

#define CHECK(cond)                                                  \
	do {                                                         \
		if (!(cond))                                         \
			UNIT_FAIL("%s", "CHECK(" #cond ") is false"); \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                             \
	do {                                                                           \
		uint64_t unit_a_ = (uint64_t)(a), unit_b_ = (uint64_t)(b);            \
		if (unit_a_ != unit_b_)                                                \
			UNIT_FAIL("%s == %s: 0x%" PRIx64 " != 0x%" PRIx64, #a, #b,     \
				  unit_a_, unit_b_);                                   \
	} while (0)

#define CHECK_EQ_I64(a, b)                                                          \
	do {                                                                        \
		int64_t unit_a_ = (int64_t)(a), unit_b_ = (int64_t)(b);            \
		if (unit_a_ != unit_b_)                                             \
			UNIT_FAIL("%s == %s: %" PRId64 " != %" PRId64, #a, #b,      \
				  unit_a_, unit_b_);                                \
	} while (0)

#define CHECK_STREQ(a, b)                                                           \
	do {                                                                        \
		const char *unit_a_ = (a), *unit_b_ = (b);                          \
		if (strcmp(unit_a_, unit_b_) != 0)                                  \
			UNIT_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, unit_a_,    \
				  unit_b_);                                         \
	} while (0)

#define TEST(name) static void name(void)

typedef void (*unit_fn)(void);
struct unit_case {
	const char *name;
	unit_fn fn;
};

#define UNIT_CASE(fn) { #fn, fn }

/* RUN_TESTS(UNIT_CASE(a), UNIT_CASE(b)) expands to main(). */
#define RUN_TESTS(...)                                                              \
	int unit_failures;                                                          \
	const char *unit_current;                                                   \
	int main(void)                                                              \
	{                                                                           \
		static const struct unit_case cases[] = { __VA_ARGS__ };            \
		size_t n = sizeof(cases) / sizeof(cases[0]);                        \
		printf("1..%zu\n", n);                                              \
		for (size_t i = 0; i < n; i++) {                                    \
			int before = unit_failures;                                 \
			unit_current = cases[i].name;                               \
			cases[i].fn();                                              \
			printf("%s %zu - %s\n",                                     \
			       unit_failures == before ? "ok" : "not ok", i + 1,    \
			       cases[i].name);                                      \
		}                                                                   \
		return unit_failures > 255 ? 255 : unit_failures;                   \
	}

#endif
