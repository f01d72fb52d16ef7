/*
 * phys_window.c - 4 KiB window slots onto any physical page (include/phys_window.h).
 * The window is 2 MiB at virtual 4 GiB: boot PDPT entry 4 -> one page directory -> one page
 * table of 512 slots (entry.S identity-maps only PDPT entries 0..3). Intel SDM vol. 3A,
 * 4.5 (4-level paging), 4.10.4.1 (INVLPG invalidates the slot's stale translation).
 */
#include "phys_window.h"
#include "cpu.h"
#include "log.h"
#include "page_alloc.h"
#include "x86.h"

#define WINDOW_BASE (4ull << 30)
#define WINDOW_PDPT_INDEX 4
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_ADDR 0x000FFFFFFFFFF000ull
#define SLOTS 512u

static uint64_t *window_pt;

void phys_window_init(void)
{
	uint64_t *pml4 = phys_to_virt(read_cr3() & PTE_ADDR);
	uint64_t *pdpt = phys_to_virt(pml4[0] & PTE_ADDR);
	uint64_t *pd = page_alloc(1);
	window_pt = page_alloc(1);
	pd[0] = virt_to_phys(window_pt) | PTE_P | PTE_RW;
	pdpt[WINDOW_PDPT_INDEX] = virt_to_phys(pd) | PTE_P | PTE_RW;
	_Static_assert(HV_MAX_CPUS * PHYS_SLOT_COUNT <= SLOTS, "window slots for every CPU");
}

volatile void *phys_window_map(unsigned cpu, enum phys_window_slot slot, uint64_t pa, int uncached)
{
	unsigned index = cpu * PHYS_SLOT_COUNT + slot;
	if (!window_pt || index >= SLOTS)
		hv_panic("physical window slot %u used before phys_window_init", index);
	uint64_t entry = (pa & PTE_ADDR) | PTE_P | PTE_RW | (uncached ? PTE_PCD | PTE_PWT : 0);
	uint64_t va = WINDOW_BASE + (uint64_t)index * PAGE_SIZE;
	if (window_pt[index] != entry) {
		window_pt[index] = entry;
		__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
	}
	return (volatile void *)(uintptr_t)(va + (pa & (PAGE_SIZE - 1)));
}
