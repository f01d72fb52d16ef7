/* VT-x pure logic (hv-core/src/arch/vmx/vmx_controls.c, ept.c): control words from the
 * capability MSRs' allowed-0/allowed-1 halves, CR fixed bits, MTRR memory types for EPT
 * leaves, and EPT access changes that keep the type. */
#include <stdlib.h>
#include <string.h>

#include "ept.h"
#include "unit.h"
#include "vmx_controls.h"

#define GIB (1ull << 30)
#define MIB (1ull << 20)

static void *pages[8192];
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

static uint64_t cap(uint32_t allowed0, uint32_t allowed1)
{
	return ((uint64_t)allowed1 << 32) | allowed0;
}

TEST(control_word_keeps_forced_ones_and_drops_unavailable_optional_bits)
{
	uint32_t v = 0, bad = 0;
	/* bits 1, 2 forced to 1; bits 0-7 and 12 may be 1 */
	CHECK_EQ_U64(vmx_control_value(cap(0x06, 0x10FF), 0x80, 0x1000 | 0x100, 0, &v, &bad),
		     VMX_CONTROL_OK);
	CHECK_EQ_U64(v, 0x06 | 0x80 | 0x1000); /* 0x100 is optional and not allowed: dropped */
}

TEST(control_word_refuses_a_required_bit_the_cpu_does_not_allow)
{
	uint32_t v = 0xDEAD, bad = 0;
	CHECK_EQ_U64(vmx_control_value(cap(0, 0x0F), 0x30, 0, 0, &v, &bad), VMX_CONTROL_MISSING);
	CHECK_EQ_U64(bad, 0x30);
	CHECK_EQ_U64(v, 0xDEAD); /* not written on failure */
}

TEST(control_word_refuses_a_forced_bit_without_a_handler)
{
	uint32_t v = 0, bad = 0;
	/* CR3-load exiting (bit 15) forced to 1, as the non-TRUE processor-based MSR does */
	CHECK_EQ_U64(vmx_control_value(cap(1u << 15, ~0u), 0, 0, 1u << 15, &v, &bad),
		     VMX_CONTROL_FORCED);
	CHECK_EQ_U64(bad, 1u << 15);
}

TEST(true_capability_msr_is_used_only_when_basic_bit_55_is_set)
{
	CHECK_EQ_U64(vmx_capability_msr(1ull << 55, 0x482, 0x48E), 0x48E);
	CHECK_EQ_U64(vmx_capability_msr(0x00DA040000000004ull & ~(1ull << 55), 0x482, 0x48E), 0x482);
}

TEST(cr_fixed_bits_force_ones_and_zeros_but_leave_free_bits)
{
	/* CR0 FIXED0 = PG|NE|PE, FIXED1 = all 32 bits */
	uint64_t f0 = 0x80000021, f1 = 0xFFFFFFFF;
	CHECK_EQ_U64(vmx_fixed_bits(0x10, f0, f1, 0), 0x80000031);
	CHECK_EQ_U64(vmx_fixed_bits(0x10, f0, f1, 0x80000001), 0x30); /* unrestricted guest */
	CHECK_EQ_U64(vmx_fixed_bits(1ull << 40, f0, f1, 0x80000001), 0x20); /* fixed1 clears */
}

/* A PC-like MTRR set-up: default WB, fixed ranges with VGA UC and ROM WP, variable UC for
 * 3 GiB-4 GiB (the PCI hole). */
static void pc_mtrrs(struct mtrr_state *m)
{
	memset(m, 0, sizeof(*m));
	m->def_type = (1u << 11) | (1u << 10) | MTRR_TYPE_WB;
	m->fixed_supported = true;
	memset(m->fixed, MTRR_TYPE_WB, sizeof(m->fixed));
	for (unsigned i = 16; i < 24; i++)
		m->fixed[i] = MTRR_TYPE_UC; /* A0000-BFFFF: 16 KiB ranges 8..15 of the 16K MSRs */
	for (unsigned i = 24; i < 88; i++)
		m->fixed[i] = MTRR_TYPE_WP; /* C0000-FFFFF */
	m->phys_bits = 40;
	m->variable_count = 8;
	m->phys_base[0] = 0xC0000000ull | MTRR_TYPE_UC;
	m->phys_mask[0] = (0xFFC0000000ull) | (1u << 11);
}

TEST(mtrr_types_of_ranges)
{
	struct mtrr_state m;
	pc_mtrrs(&m);
	CHECK_EQ_I64(mtrr_range_type(&m, 0, 4096), MTRR_TYPE_WB);
	CHECK_EQ_I64(mtrr_range_type(&m, 0xA0000, 4096), MTRR_TYPE_UC);
	CHECK_EQ_I64(mtrr_range_type(&m, 0xF0000, 4096), MTRR_TYPE_WP);
	CHECK_EQ_I64(mtrr_range_type(&m, 0, 2 * MIB), -1);        /* crosses the fixed MiB */
	CHECK_EQ_I64(mtrr_range_type(&m, 0x80000, 0x20000), MTRR_TYPE_WB);
	CHECK_EQ_I64(mtrr_range_type(&m, 0x80000, 0x80000), -1);   /* WB, UC and WP */
	CHECK_EQ_I64(mtrr_range_type(&m, GIB, GIB), MTRR_TYPE_WB);
	CHECK_EQ_I64(mtrr_range_type(&m, 3 * GIB, GIB), MTRR_TYPE_UC);
	CHECK_EQ_I64(mtrr_range_type(&m, 3 * GIB + 2 * MIB, 2 * MIB), MTRR_TYPE_UC);
	CHECK_EQ_I64(mtrr_range_type(&m, 2 * GIB, 2 * GIB), -1); /* half UC */
	CHECK_EQ_I64(mtrr_range_type(&m, 8 * GIB, GIB), MTRR_TYPE_WB);
}

TEST(mtrr_overlaps_follow_the_precedence_rules)
{
	struct mtrr_state m;
	pc_mtrrs(&m);
	m.def_type = (1u << 11) | MTRR_TYPE_UC; /* fixed ranges off, default UC */
	m.phys_base[0] = 0 | MTRR_TYPE_WB;
	m.phys_mask[0] = 0xFF80000000ull | (1u << 11); /* 0-2 GiB WB */
	m.phys_base[1] = 0x40000000ull | MTRR_TYPE_WT;
	m.phys_mask[1] = 0xFFC0000000ull | (1u << 11); /* 1-2 GiB WT over WB: WT */
	m.phys_base[2] = 0x60000000ull | MTRR_TYPE_UC;
	m.phys_mask[2] = 0xFFF0000000ull | (1u << 11); /* 1.5-1.75 GiB UC wins */
	m.phys_base[3] = 0x100000000ull | MTRR_TYPE_WC;
	m.phys_mask[3] = 0xFFC0000000ull;              /* not valid: ignored */
	CHECK_EQ_I64(mtrr_range_type(&m, 0, 4096), MTRR_TYPE_WB); /* FE clear: no fixed */
	CHECK_EQ_I64(mtrr_range_type(&m, GIB, 2 * MIB), MTRR_TYPE_WT);
	CHECK_EQ_I64(mtrr_range_type(&m, 0x60000000ull, 2 * MIB), MTRR_TYPE_UC);
	CHECK_EQ_I64(mtrr_range_type(&m, 4 * GIB, GIB), MTRR_TYPE_UC); /* default */
	m.def_type &= ~(1ull << 11);
	CHECK_EQ_I64(mtrr_range_type(&m, 0, GIB), MTRR_TYPE_UC); /* MTRRs disabled */
}

/* The EPT leaf for gpa: its entry, found as the CPU walks; 0 if not present. */
static uint64_t leaf(uint64_t root, uint64_t gpa, unsigned *level_out)
{
	const uint64_t *t = (const uint64_t *)(uintptr_t)root;
	for (int level = 3; level >= 0; level--) {
		uint64_t e = t[(gpa >> (12 + 9 * level)) & 511];
		if (!(e & EPT_RWX) || level == 0 || (e & EPT_PS)) {
			*level_out = (unsigned)level;
			return e;
		}
		t = (const uint64_t *)(uintptr_t)(e & EPT_ADDRESS);
	}
	return 0;
}

static unsigned type_of(uint64_t e)
{
	return (unsigned)((e & EPT_TYPE_MASK) >> EPT_TYPE_SHIFT);
}

TEST(ept_leaves_get_mtrr_types_and_split_where_mixed)
{
	struct mtrr_state m;
	pc_mtrrs(&m);
	struct npt_layout l = { 8 * GIB, true, 0x200000, 0x800000, 0x5FF000 };
	uint64_t root = npt_build(&l, alloc_page);
	CHECK(root != 0);
	CHECK_EQ_I64(ept_apply_memory_types(root, l.limit, &m, alloc_page), 0);
	unsigned level = 9;
	uint64_t e = leaf(root, 0xB8000, &level);
	CHECK_EQ_U64(level, 0); /* the first MiB is split to 4 KiB pages */
	CHECK_EQ_U64(type_of(e), MTRR_TYPE_UC);
	CHECK_EQ_U64(e & EPT_ADDRESS, 0xB8000);
	e = leaf(root, 0xE0000, &level);
	CHECK_EQ_U64(type_of(e), MTRR_TYPE_WP);
	e = leaf(root, 0x1000000, &level);
	CHECK_EQ_U64(level, 1); /* 2 MiB pages in the first GiB stay 2 MiB */
	CHECK_EQ_U64(type_of(e), MTRR_TYPE_WB);
	e = leaf(root, 0xFEE00000ull, &level);
	CHECK_EQ_U64(level, 2); /* 1 GiB page of the PCI hole */
	CHECK_EQ_U64(type_of(e), MTRR_TYPE_UC);
	e = leaf(root, 5 * GIB, &level);
	CHECK_EQ_U64(type_of(e), MTRR_TYPE_WB);
	CHECK_EQ_U64(e & EPT_RWX, EPT_RWX);
	free_pages();
}

TEST(ept_access_change_keeps_the_type_and_never_leaves_execute_only)
{
	struct mtrr_state m;
	pc_mtrrs(&m);
	struct npt_layout l = { 4 * GIB, true, 0x200000, 0x800000, 0x5FF000 };
	uint64_t root = npt_build(&l, alloc_page);
	CHECK_EQ_I64(ept_apply_memory_types(root, l.limit, &m, alloc_page), 0);
	CHECK_EQ_I64(ept_set_access(root, 0xFEE00000ull, NPT_ACCESS_NONE, alloc_page), 0);
	unsigned level = 9;
	uint64_t e = leaf(root, 0xFEE00000ull, &level);
	CHECK_EQ_U64(level, 0);
	CHECK_EQ_U64(e & EPT_RWX, 0); /* no access at all: not execute-only (a misconfiguration) */
	CHECK_EQ_U64(type_of(e), MTRR_TYPE_UC);
	e = leaf(root, 0xFEE01000ull, &level);
	CHECK_EQ_U64(e & EPT_RWX, EPT_RWX); /* the neighbours keep their access and type */
	CHECK_EQ_U64(type_of(e), MTRR_TYPE_UC);
	CHECK_EQ_I64(ept_set_access(root, 0xFEE00000ull, NPT_ACCESS_READ, alloc_page), 0);
	e = leaf(root, 0xFEE00000ull, &level);
	CHECK_EQ_U64(e & EPT_RWX, EPT_READ | EPT_EXECUTE);
	CHECK_EQ_I64(ept_set_access(root, 0x300000, NPT_ACCESS_NONE, alloc_page), -1); /* scratch */
	free_pages();
}

RUN_TESTS(UNIT_CASE(control_word_keeps_forced_ones_and_drops_unavailable_optional_bits),
	  UNIT_CASE(control_word_refuses_a_required_bit_the_cpu_does_not_allow),
	  UNIT_CASE(control_word_refuses_a_forced_bit_without_a_handler),
	  UNIT_CASE(true_capability_msr_is_used_only_when_basic_bit_55_is_set),
	  UNIT_CASE(cr_fixed_bits_force_ones_and_zeros_but_leave_free_bits),
	  UNIT_CASE(mtrr_types_of_ranges), UNIT_CASE(mtrr_overlaps_follow_the_precedence_rules),
	  UNIT_CASE(ept_leaves_get_mtrr_types_and_split_where_mixed),
	  UNIT_CASE(ept_access_change_keeps_the_type_and_never_leaves_execute_only))
