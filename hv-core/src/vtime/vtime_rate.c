/*
 * vtime_rate.c - validating a speed p/q and turning it into the 32.32 fixed-point rate R.
 * Runs on the writer path only; uses 64-bit division and 128-bit products, never 128-bit
 * division (which would need libgcc's __udivti3 in the freestanding build).
 */
#include "vtime_internal.h"

int vtime_speed_check(uint64_t p, uint64_t q)
{
	if (p == 0 || q == 0)
		return VTIME_EINVAL;
	/* 1/1000 <= p/q <= 10000, compared exactly as 128-bit products. */
	if ((unsigned __int128)p * VTIME_SPEED_MIN_DEN < q)
		return VTIME_ERANGE;
	if (p > (unsigned __int128)q * VTIME_SPEED_MAX)
		return VTIME_ERANGE;
	return VTIME_OK;
}

uint64_t vtime_rate_of(uint64_t p, uint64_t q)
{
	uint64_t whole = p / q;
	uint64_t rem = p % q;
	uint64_t frac = 0;

	/* Long division for VTIME_FRAC_BITS + 1 fraction bits (the last one rounds). rem < q
	 * always, and "2 * rem >= q" is tested as "rem >= q - rem" so nothing overflows. */
	for (unsigned i = 0; i <= VTIME_FRAC_BITS; i++) {
		if (rem >= q - rem) {
			rem -= q - rem;
			frac = (frac << 1) | 1u;
		} else {
			rem <<= 1;
			frac <<= 1;
		}
	}
	return (whole << VTIME_FRAC_BITS) + ((frac + 1u) >> 1);
}
