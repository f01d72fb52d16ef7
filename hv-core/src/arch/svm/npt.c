/*
 * npt.c - nested page tables (AMD APM vol. 2, 15.25 "Nested Paging"): an identity map of the
 * whole guest-physical address space the guest can address, [0, limit), where the caller
 * derives limit from the CPU's physical address width (CPUID 0x80000008 EAX[7:0]). RAM,
 * the MMIO holes below 4 GiB and every 64-bit BAR the firmware places above RAM (OVMF puts
 * its 64-bit PCI window at the top of the physical address space, e.g. 0xE000000000 with
 * 40 address bits) are therefore mapped; nothing depends on the memory map listing MMIO.
 *
 * The hypervisor's own region is NOT mapped to itself: every 4 KiB page of it maps to one
 * shared scratch page, so a guest that reads or writes hypervisor memory reads and writes
 * only that junk page (docs/hypervisor.md, "Memory").
 *
 * Page sizes: 1 GiB pages where the CPU has them (only the first GiB, which holds the
 * hypervisor, is split), otherwise 2 MiB pages: one page directory (4 KiB) per GiB, 4 MiB of
 * tables for QEMU's default 40-bit (1 TiB) address space.
 *
 * Memory type: every nested entry is write-back (PAT index 0 with PWT = PCD = 0, and the
 * host PAT keeps its power-on WB there). Under nested paging the CPU combines the guest's
 * type (guest page tables + g_PAT) with the host type (nested entry + host PAT + the MTRRs,
 * which the firmware set and the guest may reprogram: the MTRR MSRs are passed through),
 * and the more restrictive type wins (APM vol. 2, 15.25.8 "Combining Memory Types, MTRRs").
 * A WB nested entry is neutral in that combination, so RAM is cacheable and MMIO is
 * uncacheable or write-combining exactly as the MTRRs and the guest's PAT say, as on bare
 * metal.
 *
 * NPT entries use the host's long-mode format; every level needs U/S because nested walks are
 * treated as user accesses (15.25.5).
 */
#include "npt.h"
#include "hvlib.h"

#define NPT_P 0x1ull
#define NPT_RW 0x2ull
#define NPT_US 0x4ull
#define NPT_PS 0x80ull
#define NPT_TABLE (NPT_P | NPT_RW | NPT_US)
#define NPT_LEAF (NPT_P | NPT_RW | NPT_US | NPT_PS)
#define SIZE_2M (2ull << 20)
#define SIZE_1G (1ull << 30)
#define SIZE_512G (512ull << 30)
#define MAX_LIMIT (1ull << 52) /* architectural maximum physical address width */
#define MIN_LIMIT (4ull << 30) /* LAPIC, IOAPIC, HPET and the flash below 4 GiB */

uint64_t npt_pages_needed(uint64_t limit, bool huge_1g)
{
	uint64_t gib = limit / SIZE_1G;
	uint64_t pdpts = (limit + SIZE_512G - 1) / SIZE_512G;
	uint64_t pds = huge_1g ? 1 : gib;
	return 1 /* PML4 */ + pdpts + pds + 1 /* scratch page table */;
}

uint64_t npt_limit_for_pages(uint64_t want, bool huge_1g, uint64_t pages)
{
	uint64_t limit = ALIGN_UP(want < MIN_LIMIT ? MIN_LIMIT : want, SIZE_1G);
	if (limit > MAX_LIMIT)
		limit = MAX_LIMIT;
	if (npt_pages_needed(MIN_LIMIT, huge_1g) > pages)
		return 0;
	if (npt_pages_needed(limit, huge_1g) <= pages)
		return limit;
	uint64_t lo = MIN_LIMIT / SIZE_1G, hi = limit / SIZE_1G; /* lo fits, hi does not */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (npt_pages_needed(mid * SIZE_1G, huge_1g) <= pages)
			lo = mid;
		else
			hi = mid;
	}
	return lo * SIZE_1G;
}

static uint64_t table(void *(*alloc_page)(void), uint64_t **out)
{
	*out = alloc_page();
	return (uint64_t)(uintptr_t)*out | NPT_TABLE;
}

/* The page directory of the first GiB: 2 MiB pages, the hypervisor's 2 MiB blocks pointing at
 * the scratch page table. */
static uint64_t first_gib(const struct npt_layout *l, uint64_t scratch_pt, void *(*alloc_page)(void))
{
	uint64_t *pd;
	uint64_t entry = table(alloc_page, &pd);
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t addr = i * SIZE_2M;
		pd[i] = addr >= l->hv_base && addr < l->hv_end ? scratch_pt : addr | NPT_LEAF;
	}
	return entry;
}

static uint64_t gib_entry(uint64_t gb, bool huge_1g, void *(*alloc_page)(void))
{
	if (huge_1g)
		return gb * SIZE_1G | NPT_LEAF;
	uint64_t *pd;
	uint64_t entry = table(alloc_page, &pd);
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (gb * SIZE_1G + i * SIZE_2M) | NPT_LEAF;
	return entry;
}

uint64_t npt_build(const struct npt_layout *l, void *(*alloc_page)(void))
{
	if (!l->limit || l->limit % SIZE_1G || l->limit > MAX_LIMIT || l->hv_base % SIZE_2M ||
	    l->hv_end % SIZE_2M || l->hv_end > SIZE_1G || l->hv_base > l->hv_end ||
	    l->scratch_pa % 4096)
		return 0;
	uint64_t *pml4, *scratch_pt, *pdpt = 0;
	uint64_t root = table(alloc_page, &pml4) & ~0xFFFull;
	uint64_t scratch = table(alloc_page, &scratch_pt);
	for (unsigned i = 0; i < 512; i++)
		scratch_pt[i] = l->scratch_pa | NPT_TABLE;

	for (uint64_t gb = 0; gb < l->limit / SIZE_1G; gb++) {
		if (gb % 512 == 0)
			pml4[gb / 512] = table(alloc_page, &pdpt);
		pdpt[gb % 512] = gb == 0 ? first_gib(l, scratch, alloc_page)
					 : gib_entry(gb, l->huge_1g, alloc_page);
	}
	return root;
}

/* Replaces a large leaf by a table of 512 leaves of the next size down, same mapping. */
static bool split(uint64_t *entry, uint64_t child_size, void *(*alloc_page)(void))
{
	uint64_t *t = alloc_page();
	if (!t)
		return false;
	uint64_t base = *entry & 0x000FFFFFFFFFF000ull & ~(child_size * 512 - 1);
	uint64_t leaf = child_size == 4096 ? (NPT_P | NPT_RW | NPT_US) : NPT_LEAF;
	for (uint64_t i = 0; i < 512; i++)
		t[i] = (base + i * child_size) | leaf;
	*entry = (uint64_t)(uintptr_t)t | NPT_TABLE;
	return true;
}

int npt_set_access(uint64_t root, uint64_t gpa, enum npt_access access, void *(*alloc_page)(void))
{
	uint64_t *t = (uint64_t *)(uintptr_t)root;
	for (int level = 3; level > 0; level--) {
		uint64_t *e = &t[(gpa >> (12 + 9 * level)) & 511];
		if (!(*e & NPT_P))
			return -1;
		if (*e & NPT_PS) {
			if (level == 3 || !split(e, 1ull << (12 + 9 * (level - 1)), alloc_page))
				return -1;
		}
		t = (uint64_t *)(uintptr_t)(*e & 0x000FFFFFFFFFF000ull);
	}
	uint64_t *pte = &t[(gpa >> 12) & 511];
	if ((*pte & 0x000FFFFFFFFFF000ull) != (gpa & ~0xFFFull))
		return -1; /* not identity-mapped here: the hypervisor's scratch region */
	uint64_t e = *pte & ~(NPT_P | NPT_RW);
	if (access != NPT_ACCESS_NONE)
		e |= NPT_P;
	if (access == NPT_ACCESS_RW)
		e |= NPT_RW;
	*pte = e;
	return 0;
}
