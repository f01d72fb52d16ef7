/*
 * efi_chain.h - UEFI chain boot (tsx-hv-efi.elf; docs/hypervisor.md, "Chain boot under UEFI").
 *
 * UEFI GRUB starts the image at hv_entry_efi64 (efi_entry.S) in 64-bit mode on the firmware's
 * page tables, GDT, IDT and stack, with boot services still running. The entry records that
 * state, and efi.c, still as a firmware application, takes the hypervisor's memory from the
 * firmware (EfiReservedMemoryType, so no OS ever uses it), a page for the AP trampoline and a
 * page for the guest's first instructions. Then the hypervisor takes the CPU (its own page
 * tables, GDT, IDT and stack) and the firmware continues as the guest, in the very state it
 * was in, at a stub that returns the stick's boot option to the firmware's boot manager
 * (gBS->Exit on GRUB's image): the boot manager goes on to the next boot option, the installed
 * OS, exactly as if the stick had not been bootable.
 */
#ifndef TSX_HV_EFI_CHAIN_H
#define TSX_HV_EFI_CHAIN_H

#define EFI_FW_RSP 0
#define EFI_FW_RFLAGS 8
#define EFI_FW_CR0 16
#define EFI_FW_CR3 24
#define EFI_FW_CR4 32
#define EFI_FW_EFER 40
#define EFI_FW_MBI 48
#define EFI_FW_MAGIC 56
#define EFI_FW_CS 64
#define EFI_FW_GDTR 80
#define EFI_FW_IDTR 96
#define EFI_FW_ENTERED 112

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "multiboot.h"

/* What the firmware's CPU state was at the hand-over (written by efi_entry.S). */
struct efi_fw_state {
	uint64_t rsp, rflags, cr0, cr3, cr4, efer, mbi, magic;
	uint16_t cs, ds, es, ss, fs, gs, tr, pad;
	uint8_t gdtr[16]; /* SGDT: 2-byte limit, 8-byte base */
	uint8_t idtr[16];
	uint64_t entered; /* 1 once hv_entry_efi64 ran */
};
_Static_assert(offsetof(struct efi_fw_state, cs) == EFI_FW_CS &&
		       offsetof(struct efi_fw_state, gdtr) == EFI_FW_GDTR &&
		       offsetof(struct efi_fw_state, idtr) == EFI_FW_IDTR &&
		       offsetof(struct efi_fw_state, entered) == EFI_FW_ENTERED,
	       "efi_entry.S offsets");

extern struct efi_fw_state efi_fw;

/* The firmware phase (efi.c), called by efi_entry.S on the firmware's stack. Returns when the
 * firmware's memory is taken; never returns if it cannot be (hands the machine back). */
void hv_efi_main(uint32_t magic, uint64_t mbi);
/* Where efi_reserve_routine lands, on the hypervisor's own tables: goes on to hv_main. */
void hv_efi_resume(uint64_t free_status, uint64_t alloc_status);

/* True when this boot came through hv_entry_efi64 (boot services kept). */
bool efi_chain_active(void);
/* The AP trampoline page is the hypervisor's (allocated from the firmware). */
bool efi_trampoline_reserved(void);
/* The firmware's memory map at the hand-over, in multiboot/e820 terms. */
unsigned efi_memory_map(struct mem_range *out, unsigned max);
/* The stub's page (guest memory, allocated from the firmware by efi.c). */
uint64_t efi_stub_page(void);
/* The boot CPU's virtual APIC timer takes over the firmware's (lapic_timer_adopt). */
void efi_adopt_timer(struct cpu *c);
/* The boot CPU's guest state: the firmware's own, resuming at the hand-back stub. */
void efi_chain_prepare(struct cpu *c);

#endif /* __ASSEMBLER__ */
#endif
