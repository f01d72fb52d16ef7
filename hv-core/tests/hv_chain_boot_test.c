/* boot=chain's INT 15h memory-map answers and INT 13h drive swap (hv-core/src/guest/chain_map.c). */
#include <string.h>

#include "chain_boot.h"
#include "unit.h"

/* QEMU pc, 512 MiB, as GRUB reports it, with the hypervisor [2 MiB, 8 MiB) and the stubs' KiB
 * below the BIOS's 639 KiB carved out, as main.c builds it for boot=chain. */
static int chain_map(struct e820_entry *out)
{
	static const struct mem_range fw[] = {
		{ 0x0, 0x9fc00, MEM_AVAILABLE },       { 0x9fc00, 0x400, MEM_RESERVED },
		{ 0xf0000, 0x10000, MEM_RESERVED },    { 0x100000, 0x1fee0000, MEM_AVAILABLE },
		{ 0x1ffe0000, 0x20000, MEM_RESERVED }, { 0xfffc0000, 0x40000, MEM_RESERVED },
	};
	const struct mem_range reserve[] = { { 0x200000, 0x600000, MEM_RESERVED },
					     { 0x9f800, 0x400, MEM_RESERVED } };
	return e820_build(fw, 6, reserve, 2, out, E820_MAX_ENTRIES);
}

TEST(e820_walks_the_map_with_the_hypervisor_reserved)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = chain_map(map);
	CHECK(n > 4);
	uint32_t index = 0;
	int seen = 0;
	bool hv_reserved = false, stub_reserved = false;
	do {
		struct chain_e820_reply r = chain_e820(map, (unsigned)n, index, 20, 0x534D4150);
		CHECK(r.ok);
		CHECK_EQ_U64(r.bytes, 20);
		uint64_t addr, size;
		uint32_t type;
		memcpy(&addr, r.entry, 8);
		memcpy(&size, r.entry + 8, 8);
		memcpy(&type, r.entry + 16, 4);
		if (addr <= 0x200000 && addr + size >= 0x800000)
			hv_reserved = type == MEM_RESERVED;
		if (addr <= 0x9f800 && addr + size >= 0x9fc00)
			stub_reserved = type == MEM_RESERVED;
		CHECK(!(type == MEM_AVAILABLE && addr < 0x800000 && addr + size > 0x200000));
		index = r.next;
		seen++;
	} while (index && seen < 100);
	CHECK_EQ_I64(seen, n);
	CHECK(hv_reserved);
	CHECK(stub_reserved);
}

TEST(e820_refuses_bad_requests_and_fills_acpi3_attributes)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = chain_map(map);
	CHECK(!chain_e820(map, (unsigned)n, 0, 20, 0x12345678).ok);   /* EDX is not 'SMAP' */
	CHECK(!chain_e820(map, (unsigned)n, 0, 19, 0x534D4150).ok);   /* buffer too small */
	CHECK(!chain_e820(map, (unsigned)n, (uint32_t)n, 20, 0x534D4150).ok); /* past the end */
	CHECK(!chain_e820(map, (unsigned)n, 0xFFFFFFFFu, 20, 0x534D4150).ok);
	struct chain_e820_reply r = chain_e820(map, (unsigned)n, 0, 24, 0x534D4150);
	CHECK(r.ok);
	CHECK_EQ_U64(r.bytes, 24);
	uint32_t attributes;
	memcpy(&attributes, r.entry + 20, 4);
	CHECK_EQ_U64(attributes, 1);
	CHECK_EQ_U64(chain_e820(map, (unsigned)n, (uint32_t)n - 1, 20, 0x534D4150).next, 0);
}

TEST(e801_counts_only_memory_without_a_gap)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = chain_map(map);
	uint32_t kib, blocks;
	chain_e801(map, (unsigned)n, &kib, &blocks);
	CHECK_EQ_U64(kib, 1024); /* 1 MiB up to the hypervisor at 2 MiB */
	CHECK_EQ_U64(blocks, (0x1ffe0000 - 0x1000000) >> 16);
	struct e820_entry none[1] = { { 0, 0x9fc00, MEM_AVAILABLE } };
	chain_e801(none, 1, &kib, &blocks);
	CHECK_EQ_U64(kib, 0);
	CHECK_EQ_U64(blocks, 0);
	struct e820_entry big[1] = { { 0x100000, 0x400000000ull, MEM_AVAILABLE } };
	chain_e801(big, 1, &kib, &blocks);
	CHECK_EQ_U64(kib, 15 * 1024);
	CHECK_EQ_U64(blocks, 0xFFFF);
}

TEST(int13_swaps_only_the_two_drives)
{
	CHECK_EQ_U64(chain_swap_drive(0x80, 0x81, true), 0x81);
	CHECK_EQ_U64(chain_swap_drive(0x81, 0x81, true), 0x80);
	CHECK_EQ_U64(chain_swap_drive(0x82, 0x81, true), 0x82);
	CHECK_EQ_U64(chain_swap_drive(0x00, 0x81, true), 0x00);
	CHECK_EQ_U64(chain_swap_drive(0x80, 0x81, false), 0x80);
	CHECK_EQ_U64(chain_swap_drive(0x80, 0x80, true), 0x80);
}

RUN_TESTS(UNIT_CASE(e820_walks_the_map_with_the_hypervisor_reserved),
	  UNIT_CASE(e820_refuses_bad_requests_and_fills_acpi3_attributes),
	  UNIT_CASE(e801_counts_only_memory_without_a_gap), UNIT_CASE(int13_swaps_only_the_two_drives))
