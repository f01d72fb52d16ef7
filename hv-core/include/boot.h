/* boot.h - what the boot code (src/boot) gives the rest of the hypervisor. */
#ifndef TSX_HV_BOOT_H
#define TSX_HV_BOOT_H

#include <stdint.h>

#define BOOT_CS 0x08 /* host 64-bit code selector of boot_gdt (entry.S) */

/* The hypervisor's physical region [HV_BASE, HV_END) from linker.ld. */
extern char hv_image_start[], hv_image_end[], hv_heap_start[], hv_heap_end[];

/* Builds the host IDT and loads it on the boot CPU; exceptions_load loads it on an AP. */
void exceptions_init(void);
void exceptions_load(void);
/* The host's interrupt windows (exceptions.S): STI; HLT; CLI and STI; NOP; CLI. An interrupt
 * taken in one is recorded for idle.c (exceptions.c), whatever its vector. */
void host_sti_hlt(void);
void host_sti_nop(void);
void hv_main(uint32_t magic, uint32_t info);

#endif
