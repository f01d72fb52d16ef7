/* Guest memory map construction and placement (hv-core/src/guest/e820.c). */
#include "e820.h"
#include "unit.h"

/* QEMU pc, 512 MiB, as GRUB reports it. */
static const struct mem_range qemu_map[] = {
	{ 0x0, 0x9fc00, MEM_AVAILABLE },          { 0x9fc00, 0x400, MEM_RESERVED },
	{ 0xf0000, 0x10000, MEM_RESERVED },       { 0x100000, 0x1fee0000, MEM_AVAILABLE },
	{ 0x1ffe0000, 0x20000, MEM_RESERVED },    { 0xfffc0000, 0x40000, MEM_RESERVED },
	{ 0xfd00000000ull, 0x300000000ull, MEM_RESERVED },
};

TEST(carves_the_hypervisor_out_of_ram)
{
	struct e820_entry out[E820_MAX_ENTRIES];
	const struct mem_range hv[] = { { 0x200000, 0x600000, MEM_RESERVED } };
	int n = e820_build(qemu_map, 7, hv, 1, out, E820_MAX_ENTRIES);
	CHECK_EQ_I64(n, 9);
	CHECK_EQ_U64(out[3].addr, 0x100000);
	CHECK_EQ_U64(out[3].size, 0x100000);
	CHECK_EQ_U64(out[3].type, MEM_AVAILABLE);
	CHECK_EQ_U64(out[4].addr, 0x200000);
	CHECK_EQ_U64(out[4].size, 0x600000);
	CHECK_EQ_U64(out[4].type, MEM_RESERVED);
	CHECK_EQ_U64(out[5].addr, 0x800000);
	CHECK_EQ_U64(out[5].size, 0x1ffe0000 - 0x800000);
	CHECK_EQ_U64(out[5].type, MEM_AVAILABLE);
	CHECK(!e820_is_usable(out, (unsigned)n, 0x1ff000, 0x2000));
	CHECK(e820_is_usable(out, (unsigned)n, 0x800000, 0x1000));
	for (int i = 1; i < n; i++)
		CHECK(out[i - 1].addr + out[i - 1].size <= out[i].addr);
}

TEST(reserves_only_what_the_firmware_describes)
{
	struct e820_entry out[8];
	const struct mem_range in[] = { { 0x0, 0x100000, MEM_AVAILABLE } };
	const struct mem_range hv[] = { { 0x80000, 0x100000, MEM_RESERVED } };
	int n = e820_build(in, 1, hv, 1, out, 8);
	CHECK_EQ_I64(n, 2);
	CHECK_EQ_U64(out[1].addr, 0x80000);
	CHECK_EQ_U64(out[1].size, 0x80000);
	CHECK_EQ_U64(out[1].type, MEM_RESERVED);
}

TEST(resolves_overlaps_to_the_stricter_type_and_merges)
{
	struct e820_entry out[8];
	const struct mem_range in[] = {
		{ 0x0, 0x10000, MEM_AVAILABLE },
		{ 0x10000, 0x10000, MEM_AVAILABLE },
		{ 0x8000, 0x1000, MEM_ACPI_NVS },
		{ 0x30000, 0, MEM_RESERVED },
	};
	int n = e820_build(in, 4, NULL, 0, out, 8);
	CHECK_EQ_I64(n, 3);
	CHECK_EQ_U64(out[0].size, 0x8000);
	CHECK_EQ_U64(out[1].type, MEM_ACPI_NVS);
	CHECK_EQ_U64(out[2].addr, 0x9000);
	CHECK_EQ_U64(out[2].size, 0x20000 - 0x9000);
}

TEST(reports_a_map_that_does_not_fit)
{
	struct e820_entry out[2];
	const struct mem_range hv[] = { { 0x200000, 0x600000, MEM_RESERVED } };
	CHECK_EQ_I64(e820_build(qemu_map, 7, hv, 1, out, 2), -1);
}

TEST(finds_placements_that_avoid_a_range)
{
	struct e820_entry out[E820_MAX_ENTRIES];
	const struct mem_range hv[] = { { 0x200000, 0x600000, MEM_RESERVED } };
	unsigned n = (unsigned)e820_build(qemu_map, 7, hv, 1, out, E820_MAX_ENTRIES);
	uint64_t initrd = e820_find_highest(out, n, 0x200000, 0x1000, 0x80000000ull, 0x1000000, 0x4000000);
	CHECK_EQ_U64(initrd, 0x1ffe0000 - 0x200000);
	uint64_t clipped = e820_find_highest(out, n, 0x200000, 0x1000, 0x1800000, 0x1000000, 0x4000000);
	CHECK_EQ_U64(clipped, 0x1000000 - 0x200000);
	uint64_t kernel = e820_find_lowest(out, n, 0x3000000, 0x200000, 0x1000000, 0, 0);
	CHECK_EQ_U64(kernel, 0x1000000);
	uint64_t avoided = e820_find_lowest(out, n, 0x100000, 0x200000, 0x1000000, 0x1000000, 0x500000);
	CHECK_EQ_U64(avoided, 0x1600000);
	CHECK_EQ_U64(e820_find_lowest(out, n, 0x40000000, 0x200000, 0, 0, 0), 0);
	CHECK_EQ_U64(e820_top(out, n), 0x1ffe0000);
}

RUN_TESTS(UNIT_CASE(carves_the_hypervisor_out_of_ram), UNIT_CASE(reserves_only_what_the_firmware_describes),
	  UNIT_CASE(resolves_overlaps_to_the_stricter_type_and_merges),
	  UNIT_CASE(reports_a_map_that_does_not_fit), UNIT_CASE(finds_placements_that_avoid_a_range))
