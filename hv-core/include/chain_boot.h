/*
 * chain_boot.h - boot=chain: the machine's own OS starts underneath the hypervisor, from its
 * disk's boot sector, in real mode, as the BIOS would have started it (docs/hypervisor.md,
 * "Chain boot").
 *
 * GRUB on the stick loads the disk's first sector as a multiboot2 module ("tsx-hv-mbr"); the
 * hypervisor copies it to 0:7C00 and starts the boot CPU's guest there with DL = the drive.
 * Before that it takes one KiB from the top of conventional memory (the BIOS data area's
 * base-memory size at 0x413, which every real-mode loader honours) for two stubs and points
 * two real-mode interrupt vectors at them:
 *   INT 15h: E820, E801 and 88h are answered by the hypervisor from the firmware's map with
 *            its own range (and the stubs' KiB) reserved, so no OS takes them as RAM; every
 *            other function goes to the firmware's handler.
 *   INT 13h: only with the drive swap: the OS sees its disk as 0x80 and 0x80 as that disk
 *            (GRUB's drivemap does the same for a boot sector that insists on 0x80).
 * Each stub starts with VMMCALL, which the hypervisor recognises by where it is (real mode,
 * the stub's address) before any hypercall handling; anything else about VMMCALL is unchanged.
 * Bochs, QEMU and hardware all run these stubs as the guest's own code.
 */
#ifndef TSX_HV_CHAIN_BOOT_H
#define TSX_HV_CHAIN_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "e820.h"
#include "multiboot.h"

#define CHAIN_BOOT_SECTOR 0x7C00u
#define CHAIN_MODULE_NAME "tsx-hv-mbr"

/* Where the stubs go: the KiB below the firmware's top of conventional memory (BDA 0x413).
 * Returns its physical address, or 0 when conventional memory looks wrong (then the hypervisor
 * panics: an OS could not be booted honestly). Called before the guest memory map is built so
 * that the map can reserve it. */
uint64_t chain_boot_stub_page(void);

/* Installs the stubs and vectors, copies the boot-sector module to 0:7C00 and sets the boot
 * CPU's guest to start it (real mode, CS:IP = 0:7C00, DL = the drive the OS is to see).
 * `map` is the guest's memory map (firmware map, hypervisor range reserved): INT 15h answers
 * from it. Panics with the reason if there is no valid boot sector module. */
void chain_boot_prepare(struct cpu *c, const struct boot_info *bi, const struct e820_entry *map,
			unsigned count, uint8_t drive, bool swap);

/* A VMMCALL exit: true if it was one of the stubs (handled, RIP moved on), false otherwise. */
bool chain_boot_vmmcall(struct cpu *c);

/* Pure parts, host-tested (tests/hv_chain_boot_test.c). */
struct chain_e820_reply {
	bool ok;             /* CF clear */
	uint32_t next;       /* EBX: continuation, 0 after the last entry */
	uint32_t bytes;      /* ECX: 20, or 24 with the ACPI 3.0 attributes */
	uint8_t entry[24];
};
struct chain_e820_reply chain_e820(const struct e820_entry *map, unsigned count, uint32_t index,
				   uint32_t buffer_size, uint32_t signature);
/* E801: KiB usable from 1 MiB up to 16 MiB without a gap (AX = CX), 64 KiB blocks usable from
 * 16 MiB without a gap (BX = DX). 88h reports the first figure. */
void chain_e801(const struct e820_entry *map, unsigned count, uint32_t *kib_1m_16m,
		uint32_t *blocks_above_16m);
/* The drive the firmware is asked for when the OS asks for `dl`. */
uint8_t chain_swap_drive(uint8_t dl, uint8_t target, bool swap);

#endif
