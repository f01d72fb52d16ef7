/*
 * e820.h - the guest's physical memory map: the firmware map (multiboot2 mmap) with the
 * hypervisor's own ranges carved out as reserved, and helpers to place the kernel and the
 * initrd in usable guest memory. Pure: unit-tested on the host.
 */
#ifndef TSX_HV_E820_H
#define TSX_HV_E820_H

#include <stdbool.h>
#include <stdint.h>

#include "multiboot.h"

/* Linux's struct boot_e820_entry (arch/x86/include/uapi/asm/setup_data.h). */
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "boot_params e820 entry is 20 bytes");

#define E820_MAX_ENTRIES 128u /* E820_MAX_ENTRIES_ZEROPAGE */

/* Builds a sorted, non-overlapping, merged map from `in` (overlaps resolved in favour of the
 * most restrictive type: anything beats AVAILABLE, higher type numbers beat lower ones) with
 * every byte of `reserve` that the input describes turned into MEM_RESERVED. Zero-length
 * input ranges are ignored. Returns the number of entries, or -1 if more than `max` are
 * needed. */
int e820_build(const struct mem_range *in, unsigned n, const struct mem_range *reserve,
	       unsigned nres, struct e820_entry *out, unsigned max);

/* True if [base, base+size) lies entirely within AVAILABLE entries of the map. */
bool e820_is_usable(const struct e820_entry *map, unsigned n, uint64_t base, uint64_t size);

/* Highest `align`-aligned address a with [a, a+size) usable, a+size <= limit, and not
 * overlapping [avoid_base, avoid_base+avoid_size). Returns 0 if there is none. */
uint64_t e820_find_highest(const struct e820_entry *map, unsigned n, uint64_t size,
			   uint64_t align, uint64_t limit, uint64_t avoid_base, uint64_t avoid_size);

/* Lowest `align`-aligned address a >= min with [a, a+size) usable and not overlapping the
 * avoided range. Returns 0 if there is none. */
uint64_t e820_find_lowest(const struct e820_entry *map, unsigned n, uint64_t size,
			  uint64_t align, uint64_t min, uint64_t avoid_base, uint64_t avoid_size);

/* End of the highest non-reserved entry (RAM, ACPI, bad memory): the least nested paging must
 * map (it maps the CPU's whole physical address space when the tables fit, see npt.c). */
uint64_t e820_top(const struct e820_entry *map, unsigned n);

#endif
