/* Nested page table layout (hv-core/src/arch/svm/npt.c): walked the way the CPU walks it. */
#include <stdlib.h>
#include <string.h>

#include "npt.h"
#include "unit.h"

#define GIB (1ull << 30)
#define HV_BASE 0x200000ull
#define HV_END 0x800000ull
#define SCRATCH 0x5FF000ull

static void *pages[4200];
static unsigned npages;

static void *alloc_page(void)
{
	void *p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	pages[npages++] = p;
	return p;
}

static void free_pages(void)
{
	while (npages)
		free(pages[--npages]);
}

/* Translates gpa like a nested walk; returns ~0 if not present, and checks U/S and RW on
 * every level. */
static uint64_t walk(uint64_t root, uint64_t gpa)
{
	const uint64_t *t = (const uint64_t *)(uintptr_t)root;
	for (int level = 3; level >= 0; level--) {
		uint64_t e = t[(gpa >> (12 + 9 * level)) & 511];
		if (!(e & 1))
			return ~0ull;
		CHECK((e & 6) == 6);
		CHECK(!(e & 0x18)); /* PWT, PCD clear: write-back */
		uint64_t frame = e & 0x000FFFFFFFFFF000ull;
		if (level == 0)
			return frame | (gpa & 0xFFF);
		if (level < 3 && (e & 0x80)) {
			uint64_t size = 1ull << (12 + 9 * level);
			return (frame & ~(size - 1)) | (gpa & (size - 1));
		}
		t = (const uint64_t *)(uintptr_t)frame;
	}
	return ~0ull;
}

static void check_map(bool huge)
{
	struct npt_layout l = { 1024 * GIB, huge, HV_BASE, HV_END, SCRATCH };
	uint64_t root = npt_build(&l, alloc_page);
	CHECK(root != 0);
	CHECK_EQ_U64(npages, npt_pages_needed(l.limit, huge));
	const uint64_t identity[] = { 0, 0x1FFFFF, 0x800000, 0x9FC00, 0xFEE00380, 0xFED00000, 0xFFFFFFFF,
				      0x100000000ull, 0xE000000010ull, 0xFD00000000ull, 1024 * GIB - 1 };
	for (unsigned i = 0; i < sizeof(identity) / sizeof(identity[0]); i++)
		CHECK_EQ_U64(walk(root, identity[i]), identity[i]);
	for (uint64_t a = HV_BASE; a < HV_END; a += 0x1000)
		CHECK_EQ_U64(walk(root, a + 0x123), SCRATCH + 0x123);
	CHECK_EQ_U64(walk(root, 1024 * GIB), ~0ull);
	CHECK_EQ_U64(walk(root, 0xFFFFFFFFFFull + 1), ~0ull);
	free_pages();
}

TEST(maps_the_whole_address_space_with_2m_pages)
{
	check_map(false);
	CHECK_EQ_U64(npt_pages_needed(1024 * GIB, false), 1 + 2 + 1024 + 1);
}

TEST(maps_the_whole_address_space_with_1g_pages)
{
	check_map(true);
	CHECK_EQ_U64(npt_pages_needed(1024 * GIB, true), 1 + 2 + 1 + 1);
}

TEST(cuts_the_map_at_what_fits)
{
	CHECK_EQ_U64(npt_limit_for_pages(1024 * GIB, false, 5000), 1024 * GIB);
	CHECK_EQ_U64(npt_limit_for_pages(1024 * GIB, false, 1000), 996 * GIB); /* 1+2+996+1 */
	CHECK_EQ_U64(npt_limit_for_pages(1ull << 48, true, 600), 1ull << 48);
	CHECK_EQ_U64(npt_limit_for_pages(1, false, 100), 4 * GIB);
	CHECK_EQ_U64(npt_limit_for_pages(4 * GIB, false, 6), 0);
	CHECK_EQ_U64(npt_limit_for_pages(1ull << 60, true, 1ull << 20), 1ull << 52);
}

TEST(rejects_invalid_layouts)
{
	const struct npt_layout bad[] = {
		{ 0, false, HV_BASE, HV_END, SCRATCH },
		{ 5 * GIB + 4096, false, HV_BASE, HV_END, SCRATCH },
		{ 4 * GIB, false, HV_BASE + 4096, HV_END, SCRATCH },
		{ 4 * GIB, false, HV_BASE, 2 * GIB, SCRATCH },
		{ 4 * GIB, false, HV_BASE, HV_END, SCRATCH + 8 },
		{ 1ull << 53, true, HV_BASE, HV_END, SCRATCH },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_U64(npt_build(&bad[i], alloc_page), 0);
	CHECK_EQ_U64(npages, 0);
}

/* The leaf entry mapping gpa and its size, or 0. */
static uint64_t leaf(uint64_t root, uint64_t gpa, uint64_t *size)
{
	const uint64_t *t = (const uint64_t *)(uintptr_t)root;
	for (int level = 3; level >= 0; level--) {
		uint64_t e = t[(gpa >> (12 + 9 * level)) & 511];
		if (!(e & 1))
			return 0;
		if (level == 0 || (e & 0x80)) {
			*size = 1ull << (12 + 9 * level);
			return e;
		}
		t = (const uint64_t *)(uintptr_t)(e & 0x000FFFFFFFFFF000ull);
	}
	return 0;
}

static void check_protect(bool huge)
{
	struct npt_layout l = { 64 * GIB, huge, HV_BASE, HV_END, SCRATCH };
	uint64_t root = npt_build(&l, alloc_page);
	unsigned before = npages;
	CHECK_EQ_U64(npt_set_writable(root, 0xFEE00380ull, false, alloc_page), 0);
	CHECK_EQ_U64(npages - before, huge ? 2 : 1); /* 1 GiB -> 2 MiB -> 4 KiB tables */
	uint64_t size, e = leaf(root, 0xFEE00000ull, &size);
	CHECK_EQ_U64(size, 4096);
	CHECK_EQ_U64(e & 0x000FFFFFFFFFF000ull, 0xFEE00000ull);
	CHECK_EQ_U64(e & 7, 5); /* present, user, read-only */
	e = leaf(root, 0xFEE01000ull, &size);
	CHECK_EQ_U64(e & 0x000FFFFFFFFFF000ull, 0xFEE01000ull);
	CHECK_EQ_U64(e & 7, 7);
	e = leaf(root, 0xFEDFF000ull, &size);
	CHECK_EQ_U64(e & 7, 7);
	CHECK_EQ_U64(walk(root, 0xFED00123ull), 0xFED00123ull);
	CHECK_EQ_U64(walk(root, 0xC0000000ull + 0x12345), 0xC0000000ull + 0x12345);
	/* Moving it back, and a page above 4 GiB. */
	CHECK_EQ_U64(npt_set_writable(root, 0xFEE00000ull, true, alloc_page), 0);
	CHECK_EQ_U64(leaf(root, 0xFEE00000ull, &size) & 7, 7);
	CHECK_EQ_U64(npt_set_writable(root, 0x3F0000000ull, false, alloc_page), 0);
	CHECK_EQ_U64(leaf(root, 0x3F0000000ull, &size) & 7, 5);
	/* The hypervisor's region and unmapped addresses are refused. */
	CHECK_EQ_U64(npt_set_writable(root, HV_BASE, false, alloc_page), (uint64_t)-1);
	CHECK_EQ_U64(npt_set_writable(root, 65 * GIB, false, alloc_page), (uint64_t)-1);
	free_pages();
}

TEST(write_protects_one_4k_page)
{
	check_protect(false);
	check_protect(true);
}

RUN_TESTS(UNIT_CASE(maps_the_whole_address_space_with_2m_pages), UNIT_CASE(maps_the_whole_address_space_with_1g_pages),
	  UNIT_CASE(cuts_the_map_at_what_fits), UNIT_CASE(rejects_invalid_layouts), UNIT_CASE(write_protects_one_4k_page))
