/*
 * chain_map.c - the pure parts of boot=chain (chain_boot.h): INT 15h E820/E801 answers from
 * the guest's memory map and the INT 13h drive swap. Host-tested (tests/hv_chain_boot_test.c).
 * E820: ACPI specification, "System Address Map Interfaces"; E801h/88h: Ralf Brown's
 * interrupt list, INT 15h.
 */
#include "chain_boot.h"
#include "hvlib.h"

#define SMAP 0x534D4150u

struct chain_e820_reply chain_e820(const struct e820_entry *map, unsigned count, uint32_t index,
				   uint32_t buffer_size, uint32_t signature)
{
	struct chain_e820_reply r = { 0 };
	if (signature != SMAP || buffer_size < 20 || index >= count)
		return r;
	const struct e820_entry *e = &map[index];
	memcpy(r.entry, &e->addr, 8);
	memcpy(r.entry + 8, &e->size, 8);
	memcpy(r.entry + 16, &e->type, 4);
	r.bytes = 20;
	if (buffer_size >= 24) {
		uint32_t attributes = 1; /* enabled */
		memcpy(r.entry + 20, &attributes, 4);
		r.bytes = 24;
	}
	r.next = index + 1 < count ? index + 1 : 0;
	r.ok = true;
	return r;
}

/* End of the usable run that contains `at`, or `at` itself when `at` is not usable. */
static uint64_t usable_run_end(const struct e820_entry *map, unsigned count, uint64_t at)
{
	uint64_t end = at;
	bool moved = true;
	while (moved) {
		moved = false;
		for (unsigned i = 0; i < count; i++) {
			if (map[i].type == MEM_AVAILABLE && map[i].addr <= end &&
			    map[i].addr + map[i].size > end) {
				end = map[i].addr + map[i].size;
				moved = true;
			}
		}
	}
	return end;
}

void chain_e801(const struct e820_entry *map, unsigned count, uint32_t *kib_1m_16m,
		uint32_t *blocks_above_16m)
{
	const uint64_t mib1 = 1ull << 20, mib16 = 16ull << 20;
	uint64_t low_end = usable_run_end(map, count, mib1);
	if (low_end > mib16)
		low_end = mib16;
	*kib_1m_16m = (uint32_t)((low_end - mib1) >> 10);
	uint64_t blocks = (usable_run_end(map, count, mib16) - mib16) >> 16;
	*blocks_above_16m = blocks > 0xFFFF ? 0xFFFF : (uint32_t)blocks;
}

uint8_t chain_swap_drive(uint8_t dl, uint8_t target, bool swap)
{
	if (!swap || target == 0x80)
		return dl;
	if (dl == 0x80)
		return target;
	if (dl == target)
		return 0x80;
	return dl;
}

