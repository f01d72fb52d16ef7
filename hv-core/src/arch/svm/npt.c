/*
 * npt.c - nested page tables (AMD APM vol. 2, 15.25 "Nested Paging"): an identity map of
 * guest-physical to host-physical memory with 2 MiB pages, covering the first 4 GiB (RAM,
 * MMIO holes, LAPIC/IOAPIC/HPET) and all RAM above. The hypervisor's own region is NOT
 * mapped to itself: every 4 KiB page of it maps to one shared scratch page, so a guest that
 * reads or writes hypervisor memory reads and writes only that junk page (docs/hypervisor.md,
 * "Hypervisor memory"). NPT entries use the host's long-mode format; every level needs U/S
 * because nested walks are treated as user accesses (15.25.5).
 */
#include "svm.h"
#include "hvlib.h"
#include "log.h"
#include "page_alloc.h"

#define NPT_P 0x1ull
#define NPT_RW 0x2ull
#define NPT_US 0x4ull
#define NPT_PS 0x80ull
#define NPT_TABLE (NPT_P | NPT_RW | NPT_US)
#define SIZE_2M (2ull << 20)
#define SIZE_1G (1ull << 30)
#define SIZE_512G (512ull << 30)

uint64_t npt_build(uint64_t top, uint64_t hv_base, uint64_t hv_end, uint64_t scratch_pa)
{
	if (top < (4ull << 30))
		top = 4ull << 30;
	top = ALIGN_UP(top, SIZE_1G);
	if (top > SIZE_512G)
		hv_panic("nested paging covers at most 512 GiB (memory map ends at %lx)", top);
	if (hv_base % SIZE_2M || hv_end % SIZE_2M)
		hv_panic("hypervisor region %lx-%lx is not 2 MiB aligned", hv_base, hv_end);

	uint64_t *pml4 = page_alloc(1);
	uint64_t *pdpt = page_alloc(1);
	uint64_t *scratch_pt = page_alloc(1);
	pml4[0] = virt_to_phys(pdpt) | NPT_TABLE;
	for (unsigned i = 0; i < 512; i++)
		scratch_pt[i] = scratch_pa | NPT_TABLE;

	for (uint64_t gb = 0; gb < top / SIZE_1G; gb++) {
		uint64_t *pd = page_alloc(1);
		pdpt[gb] = virt_to_phys(pd) | NPT_TABLE;
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t addr = gb * SIZE_1G + i * SIZE_2M;
			if (addr >= hv_base && addr < hv_end)
				pd[i] = virt_to_phys(scratch_pt) | NPT_TABLE;
			else
				pd[i] = addr | NPT_TABLE | NPT_PS;
		}
	}
	return virt_to_phys(pml4);
}
