/*
 * The multiboot2 header of tsx-hv-efi.elf, the UEFI chain-boot image (docs/hypervisor.md,
 * "Chain boot under UEFI"). Multiboot2 specification 1.0, 3.1.10 "EFI boot services tag"
 * (type 7: the loader must not call ExitBootServices) and 3.1.12 "EFI amd64 entry address tag"
 * (type 9: the loader jumps to entry_addr in 64-bit mode with the firmware's page tables,
 * RAX = the loader magic, RBX = the boot information, RSP on the firmware's stack; 3.2 "EFI
 * amd64 machine state with boot services enabled"). Tags are 8-byte aligned.
 */
#define MB2_MAGIC 0xE85250D6
#define MB2_ARCH_I386 0
#define MB2_TAG_EFI_BS 7
#define MB2_TAG_ENTRY_EFI64 9

	.section .multiboot, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* keep boot services */
	.word MB2_TAG_EFI_BS
	.word 0
	.long 8
	/* 64-bit EFI entry */
	.word MB2_TAG_ENTRY_EFI64
	.word 0
	.long 12
	.long hv_entry_efi64
	.balign 8
	/* end tag */
	.word 0
	.word 0
	.long 8
mb2_header_end:
