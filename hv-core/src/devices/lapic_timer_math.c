/*
 * lapic_timer_math.c - the pure arithmetic of the virtual local-APIC timer (lapic_timer.h),
 * tested on the host: the divide configuration register's encoding (Intel SDM vol. 3A,
 * figure 10-10 "Divide Configuration Register") and 32.32 fixed-point scaling, rounded up so
 * that a converted deadline is never early.
 */
#include "lapic_timer.h"

#define MAX_SHIFT 7u
#define DCR_DIVIDE_BY_1 0xBu

unsigned lapic_timer_divide_shift(uint32_t dcr)
{
	unsigned v = (dcr & 3u) | ((dcr >> 1) & 4u);
	return (v + 1u) & 7u; /* 111b: divide by 1 */
}

uint32_t lapic_timer_divide_encode(unsigned shift)
{
	if (shift == 0 || shift > MAX_SHIFT)
		return DCR_DIVIDE_BY_1;
	unsigned v = shift - 1u;
	return (v & 3u) | ((v & 4u) << 1);
}

/* ceil(ticks * f / 2^32), saturated at 2^63 - 1. */
uint64_t lapic_timer_scale_up(uint64_t ticks, uint64_t fixed_32_32)
{
	unsigned __int128 p = (unsigned __int128)ticks * fixed_32_32;
	p += 0xFFFFFFFFull;
	p >>= 32;
	return p > (unsigned __int128)INT64_MAX ? (uint64_t)INT64_MAX : (uint64_t)p;
}

