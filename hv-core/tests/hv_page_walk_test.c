/* The guest page walk (hv-core/src/emulate/page_walk.c) in every paging mode, with page
 * tables anywhere in a sparse guest-physical space (far above 4 GiB too). */
#include "page_walk.h"
#include "unit.h"

#define MAX_PAGES 64
#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define NX (1ull << 63)
#define CR0_PG (1ull << 31)
#define CR0_WP (1ull << 16)
#define CR0_PE 1ull
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

struct sparse {
	uint64_t pa[MAX_PAGES];
	uint8_t data[MAX_PAGES][4096];
	unsigned count;
};

static uint8_t *page_of(struct sparse *m, uint64_t pa, int create)
{
	for (unsigned i = 0; i < m->count; i++)
		if (m->pa[i] == (pa & ~0xFFFull))
			return m->data[i];
	if (!create || m->count == MAX_PAGES)
		return NULL;
	m->pa[m->count] = pa & ~0xFFFull;
	memset(m->data[m->count], 0, 4096);
	return m->data[m->count++];
}

static bool mem_read(void *ctx, uint64_t pa, unsigned size, uint64_t *value)
{
	uint8_t *p = page_of(ctx, pa, 0);
	if (!p)
		return false;
	uint64_t v = 0;
	memcpy(&v, p + (pa & 0xFFF), size);
	*value = v;
	return true;
}

static bool mem_set_bits(void *ctx, uint64_t pa, unsigned size, uint64_t bits)
{
	uint64_t v;
	if (!mem_read(ctx, pa, size, &v))
		return false;
	v |= bits;
	memcpy(page_of(ctx, pa, 0) + (pa & 0xFFF), &v, size);
	return true;
}

static struct sparse mem;
static struct walk_memory wm = { mem_read, mem_set_bits, &mem };

static void put(uint64_t pa, unsigned size, uint64_t value)
{
	memcpy(page_of(&mem, pa, 1) + (pa & 0xFFF), &value, size);
}

static uint64_t get(uint64_t pa, unsigned size)
{
	uint64_t v = 0;
	mem_read(&mem, pa, size, &v);
	return v;
}

static void reset(void)
{
	mem.count = 0;
}

/* Builds a long-mode walk for `la` (4- or 5-level) with the tables at the given addresses
 * and the leaf flags; returns the paging state. */
static struct paging_state long_mode(uint64_t la, bool five, const uint64_t *tables, uint64_t frame,
				     uint64_t leaf_flags)
{
	reset();
	int levels = five ? 5 : 4;
	for (int i = 0; i < levels; i++) {
		int level = levels - 1 - i;
		uint64_t index = (la >> (12 + 9 * level)) & 0x1FF;
		uint64_t next = i + 1 < levels ? tables[i + 1] : frame;
		uint64_t flags = i + 1 < levels ? (P | RW | US) : leaf_flags;
		put(tables[i] + index * 8, 8, next | flags);
	}
	struct paging_state s = { 0 };
	s.cr0 = CR0_PE | CR0_PG | CR0_WP;
	s.cr3 = tables[0];
	s.cr4 = CR4_PAE | (five ? CR4_LA57 : 0);
	s.efer = EFER_LME | EFER_LMA | EFER_NXE;
	s.phys_bits = 46;
	return s;
}

TEST(paging_off_is_identity)
{
	struct paging_state s = { 0 };
	struct walk_result r = page_walk(&s, &wm, 0x12345678ull, WALK_READ, 0);
	CHECK(r.ok);
	CHECK_EQ_U64(r.phys, 0x12345678ull);
	r = page_walk(&s, &wm, 0x1FFFFFFFFull, WALK_FETCH, 0);
	CHECK_EQ_U64(r.phys, 0xFFFFFFFFull); /* 32-bit linear addresses outside long mode */
}

TEST(four_level_tables_above_4g)
{
	const uint64_t t[] = { 0x123456000ull, 0x2000000000ull, 0x7FFF0000000ull, 0x10000001000ull };
	uint64_t la = 0xFFFF888012345ABCull;
	struct paging_state s = long_mode(la, false, t, 0x3FFFFFFF000ull, P | RW | US);
	struct walk_result r = page_walk(&s, &wm, la, WALK_WRITE, 3);
	CHECK(r.ok);
	CHECK_EQ_U64(r.phys, 0x3FFFFFFFABCull);
	CHECK_EQ_U64(r.page_end, (la & ~0xFFFull) + 0x1000);
	uint64_t leaf = t[3] + ((la >> 12) & 0x1FF) * 8;
	CHECK_EQ_U64(get(leaf, 8) & (A | D), A | D);
	CHECK_EQ_U64(get(t[0] + ((la >> 39) & 0x1FF) * 8, 8) & A, A);
}

TEST(five_level_walk_uses_the_pml5)
{
	const uint64_t t[] = { 0x5000ull, 0x6000ull, 0x7000ull, 0x8000ull, 0x9000ull };
	uint64_t la = 0xFF12345678901000ull; /* a 57-bit canonical address */
	struct paging_state s = long_mode(la, true, t, 0xABC000ull, P | RW);
	struct walk_result r = page_walk(&s, &wm, la + 0x10, WALK_READ, 0);
	CHECK(r.ok);
	CHECK_EQ_U64(r.phys, 0xABC010ull);
	/* The same tables walked as 4-level start at the wrong table and fault. */
	s.cr4 &= ~CR4_LA57;
	r = page_walk(&s, &wm, la, WALK_READ, 0);
	CHECK(!r.ok);
}

TEST(user_supervisor_write_and_nx_rights)
{
	const uint64_t t[] = { 0x1000ull, 0x2000ull, 0x3000ull, 0x4000ull };
	uint64_t la = 0x400000ull;
	struct paging_state s = long_mode(la, false, t, 0x9000ull, P); /* supervisor, read-only */
	struct walk_result r = page_walk(&s, &wm, la, WALK_READ, 3);
	CHECK(!r.ok);
	CHECK_EQ_U64(r.pf_error, PF_ERR_PRESENT | PF_ERR_USER);
	r = page_walk(&s, &wm, la, WALK_WRITE, 0);
	CHECK_EQ_U64(r.pf_error, PF_ERR_PRESENT | PF_ERR_WRITE); /* CR0.WP */
	s.cr0 &= ~CR0_WP;
	CHECK(page_walk(&s, &wm, la, WALK_WRITE, 0).ok);
	s = long_mode(la, false, t, 0x9000ull, P | RW | US | NX);
	r = page_walk(&s, &wm, la, WALK_FETCH, 3);
	CHECK_EQ_U64(r.pf_error, PF_ERR_PRESENT | PF_ERR_USER | PF_ERR_FETCH);
	CHECK(page_walk(&s, &wm, la, WALK_WRITE, 3).ok);
	/* SMAP: a supervisor data access to a user page faults unless RFLAGS.AC. */
	s.cr4 |= CR4_SMAP;
	CHECK(!page_walk(&s, &wm, la, WALK_READ, 0).ok);
	s.rflags_ac = true;
	CHECK(page_walk(&s, &wm, la, WALK_READ, 0).ok);
	s = long_mode(la, false, t, 0x9000ull, P | US);
	s.cr4 |= CR4_SMEP;
	CHECK(!page_walk(&s, &wm, la, WALK_FETCH, 0).ok);
}

TEST(not_present_and_reserved_bits)
{
	const uint64_t t[] = { 0x1000ull, 0x2000ull, 0x3000ull, 0x4000ull };
	uint64_t la = 0x7FFFF000ull;
	struct paging_state s = long_mode(la, false, t, 0x9000ull, RW | US);
	struct walk_result r = page_walk(&s, &wm, la, WALK_WRITE, 3);
	CHECK(!r.ok && !r.bus_error);
	CHECK_EQ_U64(r.pf_error, PF_ERR_WRITE | PF_ERR_USER);
	s = long_mode(la, false, t, 1ull << 50, P | RW | US); /* frame above MAXPHYADDR (46) */
	r = page_walk(&s, &wm, la, WALK_READ, 0);
	CHECK_EQ_U64(r.pf_error, PF_ERR_PRESENT | PF_ERR_RESERVED);
	s = long_mode(la, false, t, 0x9000ull, P | RW | US | NX);
	s.efer &= ~EFER_NXE; /* NX is reserved without EFER.NXE */
	r = page_walk(&s, &wm, la, WALK_READ, 0);
	CHECK_EQ_U64(r.pf_error, PF_ERR_PRESENT | PF_ERR_RESERVED);
	/* A table outside guest memory is a bus error, not a #PF. */
	s = long_mode(la, false, t, 0x9000ull, P);
	s.cr3 = 0x77777000ull;
	CHECK(page_walk(&s, &wm, la, WALK_READ, 0).bus_error);
}

TEST(large_pages)
{
	reset();
	uint64_t la = 0x40201234ull;
	put(0x1000 + ((la >> 39) & 0x1FF) * 8, 8, 0x2000 | P | RW);
	put(0x2000 + ((la >> 30) & 0x1FF) * 8, 8, 0x3000 | P | RW);
	put(0x3000 + ((la >> 21) & 0x1FF) * 8, 8, 0x12600000ull | P | RW | PS); /* 2 MiB */
	struct paging_state s = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000, .cr4 = CR4_PAE,
				  .efer = EFER_LME | EFER_LMA, .phys_bits = 40 };
	struct walk_result r = page_walk(&s, &wm, la, WALK_READ, 0);
	CHECK(r.ok);
	CHECK_EQ_U64(r.phys, 0x12600000ull + (la & 0x1FFFFF));
	/* 1 GiB page only where the CPU has them. */
	put(0x2000 + ((la >> 30) & 0x1FF) * 8, 8, 0x80000000ull | P | RW | PS);
	CHECK_EQ_U64(page_walk(&s, &wm, la, WALK_READ, 0).pf_error, PF_ERR_PRESENT | PF_ERR_RESERVED);
	s.page_1g = true;
	r = page_walk(&s, &wm, la, WALK_READ, 0);
	CHECK(r.ok);
	CHECK_EQ_U64(r.phys, 0x80000000ull + (la & 0x3FFFFFFF));
}

TEST(pae_and_32_bit_paging)
{
	reset();
	/* PAE: CR3 -> 4 PDPTEs (32-byte aligned) -> PD -> PT. */
	uint64_t la = 0xC0123456ull;
	put(0x1020 + 3 * 8, 8, 0x2000 | P);
	put(0x2000 + ((la >> 21) & 0x1FF) * 8, 8, 0x3000 | P | RW | US);
	put(0x3000 + ((la >> 12) & 0x1FF) * 8, 8, 0x1ABCD000ull | P | RW | US);
	struct paging_state s = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1020, .cr4 = CR4_PAE, .phys_bits = 36 };
	struct walk_result r = page_walk(&s, &wm, la, WALK_READ, 3);
	CHECK(r.ok);
	CHECK_EQ_U64(r.phys, 0x1ABCD456ull);
	/* 32-bit paging with a 4 KiB page and a 4 MiB PSE-36 page. */
	reset();
	put(0x5000 + (la >> 22) * 4, 4, 0x6000 | P | RW | US);
	put(0x6000 + ((la >> 12) & 0x3FF) * 4, 4, 0x77000 | P | RW | US);
	s = (struct paging_state){ .cr0 = CR0_PE | CR0_PG, .cr3 = 0x5000, .phys_bits = 36 };
	r = page_walk(&s, &wm, la, WALK_WRITE, 3);
	CHECK(r.ok);
	CHECK_EQ_U64(r.phys, 0x77456ull);
	CHECK_EQ_U64(get(0x6000 + ((la >> 12) & 0x3FF) * 4, 4) & (A | D), A | D);
	put(0x5000 + (la >> 22) * 4, 4, 0xC0000000ull | (0x5ull << 13) | P | RW | PS);
	s.cr4 = CR4_PSE;
	r = page_walk(&s, &wm, la, WALK_READ, 0);
	CHECK(r.ok);
	CHECK_EQ_U64(r.phys, 0x5C0000000ull + (la & 0x3FFFFF));
}

RUN_TESTS(UNIT_CASE(paging_off_is_identity), UNIT_CASE(four_level_tables_above_4g),
	  UNIT_CASE(five_level_walk_uses_the_pml5), UNIT_CASE(user_supervisor_write_and_nx_rights),
	  UNIT_CASE(not_present_and_reserved_bits), UNIT_CASE(large_pages), UNIT_CASE(pae_and_32_bit_paging))
