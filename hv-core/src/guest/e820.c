/*
 * e820.c - guest memory map construction and placement searches.
 *
 * e820_build cuts the address space at every range boundary, types each elementary interval
 * (reserved if a hypervisor range covers it and the firmware described it, otherwise the most
 * restrictive firmware type covering it) and merges neighbours of equal type. O(n^2) on at
 * most a few hundred boundaries, run once at boot.
 */
#include "e820.h"
#include "hvlib.h"

#define MAX_POINTS (2u * (BOOT_MAX_MMAP + 8u))

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static uint64_t range_end(const struct mem_range *r)
{
	uint64_t end = r->base + r->length;
	return end < r->base ? UINT64_MAX : end; /* saturate a range that wraps */
}

static void sort_points(uint64_t *p, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint64_t v = p[i];
		unsigned j = i;
		while (j && p[j - 1] > v) {
			p[j] = p[j - 1];
			j--;
		}
		p[j] = v;
	}
}

/* Type priority: AVAILABLE is the weakest; among the others the higher number wins. */
static bool stronger(uint32_t a, uint32_t b)
{
	if (b == 0)
		return true;
	if (a == MEM_AVAILABLE)
		return false;
	if (b == MEM_AVAILABLE)
		return true;
	return a > b;
}

int e820_build(const struct mem_range *in, unsigned n, const struct mem_range *reserve,
	       unsigned nres, struct e820_entry *out, unsigned max)
{
	uint64_t points[MAX_POINTS];
	unsigned np = 0;
	for (unsigned i = 0; i < n && np + 2 <= MAX_POINTS; i++) {
		if (!in[i].length)
			continue;
		points[np++] = in[i].base;
		points[np++] = range_end(&in[i]);
	}
	for (unsigned i = 0; i < nres && np + 2 <= MAX_POINTS; i++) {
		if (!reserve[i].length)
			continue;
		points[np++] = reserve[i].base;
		points[np++] = range_end(&reserve[i]);
	}
	sort_points(points, np);

	int count = 0;
	for (unsigned i = 0; i + 1 < np; i++) {
		uint64_t lo = points[i], hi = points[i + 1];
		if (lo == hi)
			continue;
		uint32_t type = 0;
		for (unsigned k = 0; k < n; k++)
			if (in[k].length && in[k].base <= lo && range_end(&in[k]) >= hi &&
			    stronger(in[k].type, type))
				type = in[k].type;
		if (!type)
			continue;
		for (unsigned k = 0; k < nres; k++)
			if (reserve[k].length && reserve[k].base <= lo && range_end(&reserve[k]) >= hi)
				type = MEM_RESERVED;
		if (count && out[count - 1].type == type &&
		    out[count - 1].addr + out[count - 1].size == lo) {
			out[count - 1].size += hi - lo;
			continue;
		}
		if ((unsigned)count == max)
			return -1;
		out[count].addr = lo;
		out[count].size = hi - lo;
		out[count].type = type;
		count++;
	}
	return count;
}

bool e820_is_usable(const struct e820_entry *map, unsigned n, uint64_t base, uint64_t size)
{
	if (base + size < base)
		return false;
	/* The map is merged, so a usable range lies within one AVAILABLE entry. */
	for (unsigned i = 0; i < n; i++)
		if (map[i].type == MEM_AVAILABLE && map[i].addr <= base &&
		    base + size <= map[i].addr + map[i].size)
			return true;
	return false;
}

uint64_t e820_find_highest(const struct e820_entry *map, unsigned n, uint64_t size,
			   uint64_t align, uint64_t limit, uint64_t avoid_base, uint64_t avoid_size)
{
	uint64_t best = 0;
	for (unsigned i = 0; i < n; i++) {
		if (map[i].type != MEM_AVAILABLE || map[i].size < size)
			continue;
		uint64_t end = map[i].addr + map[i].size;
		if (end > limit)
			end = limit;
		if (end < map[i].addr + size)
			continue;
		uint64_t a = ALIGN_DOWN(end - size, align);
		if (overlaps(a, size, avoid_base, avoid_size)) {
			if (avoid_base < size)
				continue;
			a = ALIGN_DOWN(avoid_base - size, align);
		}
		if (a >= map[i].addr && a > best)
			best = a;
	}
	return best;
}

uint64_t e820_find_lowest(const struct e820_entry *map, unsigned n, uint64_t size,
			  uint64_t align, uint64_t min, uint64_t avoid_base, uint64_t avoid_size)
{
	uint64_t best = 0;
	for (unsigned i = 0; i < n; i++) {
		if (map[i].type != MEM_AVAILABLE)
			continue;
		uint64_t start = map[i].addr > min ? map[i].addr : min;
		uint64_t a = ALIGN_UP(start, align);
		if (overlaps(a, size, avoid_base, avoid_size))
			a = ALIGN_UP(avoid_base + avoid_size, align);
		if (a < map[i].addr || a + size > map[i].addr + map[i].size || a + size < a)
			continue;
		if (!best || a < best)
			best = a;
	}
	return best;
}

uint64_t e820_top(const struct e820_entry *map, unsigned n)
{
	uint64_t top = 0;
	for (unsigned i = 0; i < n; i++)
		if (map[i].type != MEM_RESERVED && map[i].addr + map[i].size > top)
			top = map[i].addr + map[i].size;
	return top;
}
