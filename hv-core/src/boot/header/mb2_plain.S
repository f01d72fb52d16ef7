/*
 * The multiboot2 header of tsx-hv.elf (Multiboot2 specification 1.0, 3.1 "OS image format"):
 * no tags, so every loader (BIOS GRUB, UEFI GRUB) ends its firmware's boot services and starts
 * hv_entry32 in flat 32-bit protected mode (entry.S).
 */
#define MB2_MAGIC 0xE85250D6
#define MB2_ARCH_I386 0

	.section .multiboot, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* end tag */
	.word 0
	.word 0
	.long 8
mb2_header_end:
