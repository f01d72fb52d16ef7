/*
 * phys_window.h - the hypervisor's view of physical memory beyond its boot identity map.
 * The boot page tables map the first 4 GiB; guest page tables, guest code and a relocated
 * local APIC may lie anywhere in the physical address space (a 64 GiB guest puts most of
 * them above 4 GiB). Each CPU owns a few 4 KiB window slots in a page table above the
 * identity map; mapping a page into a slot is one PTE write and one INVLPG.
 */
#ifndef TSX_HV_PHYS_WINDOW_H
#define TSX_HV_PHYS_WINDOW_H

#include <stdint.h>

enum phys_window_slot {
	PHYS_SLOT_GUEST,  /* guest memory accesses (page walks, instruction fetch, string I/O) */
	PHYS_SLOT_APIC,   /* the local APIC's registers (idle loop) */
	PHYS_SLOT_COUNT
};

/* Builds the window's page table (once, on the boot CPU). */
void phys_window_init(void);
/* Maps the 4 KiB page holding `pa` into this CPU's slot and returns a pointer to `pa`;
 * valid until the slot is mapped again. `uncached` maps it UC (device registers). */
volatile void *phys_window_map(unsigned cpu, enum phys_window_slot slot, uint64_t pa, int uncached);

#endif
