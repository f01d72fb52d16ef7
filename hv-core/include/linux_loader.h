/* linux_loader.h - puts a bzImage + initrd from multiboot modules into guest memory. */
#ifndef TSX_HV_LINUX_LOADER_H
#define TSX_HV_LINUX_LOADER_H

#include "cpu.h"
#include "e820.h"
#include "multiboot.h"

/* The guest's e820 map (built by main from the firmware map). */
struct guest_memory {
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned count;
	uint64_t rsdp_addr; /* guest copy of the RSDP, 0 if none */
};

/* Loads modules[0] (kernel, its string = guest command line) and modules[1] (initrd, if any)
 * and sets the CPU's entry state; panics with the reason on any error. */
void linux_load(struct cpu *c, const struct boot_info *bi, const struct guest_memory *mem);

#endif
