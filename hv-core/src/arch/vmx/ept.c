/*
 * ept.c - memory types and access changes for the EPT identity map (include/ept.h). Pure:
 * the caller reads the MTRRs and supplies the page allocator.
 *
 * MTRR precedence (Intel SDM vol. 3A, 11.11.4.1 "MTRR Precedences"): MTRRs disabled (E = 0):
 * UC everywhere. In the first MiB with fixed ranges enabled (FE = 1): the fixed range's type.
 * Otherwise the variable ranges that match: none, the default type; one, or several of one
 * type, that type; any UC, UC; only WT and WB, WT; any other overlap is undefined and taken
 * as UC here.
 */
#include "ept.h"

#define DEF_TYPE_E (1ull << 11)
#define DEF_TYPE_FE (1ull << 10)
#define PHYS_MASK_VALID (1ull << 11)
#define ONE_MIB (1ull << 20)
#define SIZE_4K 4096ull
#define SIZE_2M (2ull << 20)
#define SIZE_1G (1ull << 30)

/* The fixed range holding `addr` (< 1 MiB): 64 KiB ranges below 512 KiB, 16 KiB ranges up to
 * 768 KiB, 4 KiB ranges up to 1 MiB (11.11.2.2, table 11-9). */
static unsigned fixed_index(uint64_t addr)
{
	if (addr < 0x80000)
		return (unsigned)(addr >> 16);
	if (addr < 0xC0000)
		return 8 + (unsigned)((addr - 0x80000) >> 14);
	return 24 + (unsigned)((addr - 0xC0000) >> 12);
}

static int combine(int a, int b)
{
	if (a < 0)
		return b;
	if (a == b)
		return a;
	if (a == MTRR_TYPE_UC || b == MTRR_TYPE_UC)
		return MTRR_TYPE_UC;
	if ((a == MTRR_TYPE_WT && b == MTRR_TYPE_WB) || (a == MTRR_TYPE_WB && b == MTRR_TYPE_WT))
		return MTRR_TYPE_WT;
	return MTRR_TYPE_UC;
}

int mtrr_range_type(const struct mtrr_state *m, uint64_t base, uint64_t size)
{
	if (!(m->def_type & DEF_TYPE_E))
		return MTRR_TYPE_UC;
	if (base < ONE_MIB && m->fixed_supported && (m->def_type & DEF_TYPE_FE)) {
		if (base + size > ONE_MIB)
			return -1;
		int type = m->fixed[fixed_index(base)];
		for (uint64_t a = base; a < base + size; a += SIZE_4K)
			if (m->fixed[fixed_index(a)] != type)
				return -1;
		return type;
	}
	uint64_t address_mask = (m->phys_bits >= 64 ? ~0ull : (1ull << m->phys_bits) - 1) & ~0xFFFull;
	int type = -1;
	for (unsigned i = 0; i < m->variable_count && i < MTRR_MAX_VARIABLE; i++) {
		if (!(m->phys_mask[i] & PHYS_MASK_VALID))
			continue;
		uint64_t mask = m->phys_mask[i] & address_mask;
		uint64_t above = mask & ~(size - 1);
		/* An address in the range matches when its masked bits equal the base's: the bits
		 * above the range's size are the same for all of it; a mask bit inside it means
		 * only part of the range matches. */
		if ((base & above) != (m->phys_base[i] & above))
			continue;
		if (mask & (size - 1))
			return -1;
		type = combine(type, (int)(m->phys_base[i] & 0xFF));
	}
	return type < 0 ? (int)(m->def_type & 0xFF) : type;
}

static uint64_t *table_of(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & EPT_ADDRESS);
}

static void set_type(uint64_t *entry, int type)
{
	*entry = (*entry & ~EPT_TYPE_MASK) | ((uint64_t)type << EPT_TYPE_SHIFT);
}

/* Replaces the leaf by a table of 512 leaves of child_size, same mapping, access and type. */
static bool split(uint64_t *entry, uint64_t child_size, void *(*alloc_page)(void))
{
	uint64_t *t = alloc_page();
	if (!t)
		return false;
	uint64_t base = *entry & EPT_ADDRESS & ~(child_size * 512 - 1);
	uint64_t bits = *entry & (EPT_RWX | EPT_TYPE_MASK);
	if (child_size != SIZE_4K)
		bits |= EPT_PS;
	for (uint64_t i = 0; i < 512; i++)
		t[i] = (base + i * child_size) | bits;
	*entry = (uint64_t)(uintptr_t)t | EPT_RWX;
	return true;
}

/* One table level: `t` maps [base, base + 512 * size). Leaves get their range's type (for
 * the hypervisor's scratch entries: the type of the guest-physical range they stand for). */
static int apply(uint64_t *t, uint64_t base, uint64_t size, uint64_t limit,
		 const struct mtrr_state *m, void *(*alloc_page)(void))
{
	for (uint64_t i = 0; i < 512 && base + i * size < limit; i++) {
		uint64_t *e = &t[i];
		uint64_t at = base + i * size;
		if (!(*e & EPT_RWX))
			continue;
		bool leaf = size == SIZE_4K || (*e & EPT_PS);
		if (leaf) {
			int type = mtrr_range_type(m, at, size);
			if (type >= 0) {
				set_type(e, type);
				continue;
			}
			if (!split(e, size / 512, alloc_page))
				return -1;
		}
		if (apply(table_of(*e), at, size / 512, limit, m, alloc_page))
			return -1;
	}
	return 0;
}

int ept_apply_memory_types(uint64_t root, uint64_t limit, const struct mtrr_state *m,
			   void *(*alloc_page)(void))
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)root;
	for (uint64_t i = 0; i < 512 && i * (SIZE_1G * 512) < limit; i++)
		if ((pml4[i] & EPT_RWX) &&
		    apply(table_of(pml4[i]), i * SIZE_1G * 512, SIZE_1G, limit, m, alloc_page))
			return -1;
	return 0;
}

int ept_set_access(uint64_t root, uint64_t gpa, enum npt_access access, void *(*alloc_page)(void))
{
	uint64_t *t = (uint64_t *)(uintptr_t)root;
	for (int level = 3; level > 0; level--) {
		uint64_t *e = &t[(gpa >> (12 + 9 * level)) & 511];
		if (!(*e & EPT_RWX))
			return -1;
		if (*e & EPT_PS) {
			if (level == 3 || !split(e, 1ull << (12 + 9 * (level - 1)), alloc_page))
				return -1;
		}
		t = table_of(*e);
	}
	uint64_t *pte = &t[(gpa >> 12) & 511];
	if ((*pte & EPT_ADDRESS) != (gpa & ~0xFFFull))
		return -1; /* not identity-mapped here: the hypervisor's scratch region */
	uint64_t e = *pte & ~EPT_RWX;
	if (access == NPT_ACCESS_READ)
		e |= EPT_READ | EPT_EXECUTE;
	else if (access == NPT_ACCESS_RW)
		e |= EPT_RWX;
	*pte = e;
	return 0;
}
