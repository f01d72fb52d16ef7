/*
 * multiboot.h - parsing the multiboot2 boot information GRUB hands over (Multiboot2
 * specification 1.0, 3.6 "Boot information format"). Pure: it only reads the buffer it is
 * given (bounded by the structure's own total_size and by the caller's limit), so it is
 * unit-tested on the host with hand-built structures.
 */
#ifndef TSX_HV_MULTIBOOT_H
#define TSX_HV_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC 0x36D76289u

#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MODULE 3
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15
#define MB2_TAG_EFI64 12          /* EFI 64-bit system table pointer */
#define MB2_TAG_EFI64_IMAGE 20    /* EFI 64-bit image handle (boot services kept) */

/* Memory map entry types (same numbering as the BIOS e820 types). */
#define MEM_AVAILABLE 1u
#define MEM_RESERVED 2u
#define MEM_ACPI_RECLAIMABLE 3u
#define MEM_ACPI_NVS 4u
#define MEM_BAD 5u

#define BOOT_MAX_MMAP 128u
#define BOOT_MAX_MODULES 4u
#define BOOT_CMDLINE_MAX 512u
#define BOOT_MODULE_STRING_MAX 2048u
#define BOOT_RSDP_MAX 36u

struct mem_range {
	uint64_t base, length;
	uint32_t type;
};

struct boot_module {
	uint64_t start, end; /* physical [start, end) */
	char string[BOOT_MODULE_STRING_MAX];
};

struct boot_info {
	char cmdline[BOOT_CMDLINE_MAX];
	struct mem_range mmap[BOOT_MAX_MMAP];
	unsigned mmap_count;
	struct boot_module modules[BOOT_MAX_MODULES];
	unsigned module_count;
	uint8_t rsdp[BOOT_RSDP_MAX]; /* copy of the ACPI RSDP, rsdp_length bytes (0 = none) */
	unsigned rsdp_length;
	unsigned truncated; /* entries/strings dropped because they did not fit */
	uint64_t efi_system_table; /* tag 12, 0 = none */
	uint64_t efi_image_handle; /* tag 20, 0 = none (the loader ended boot services) */
};

enum mb2_err {
	MB2_OK = 0,
	MB2_EMAGIC = -1,     /* the loader's magic is not the multiboot2 one */
	MB2_ETRUNCATED = -2, /* total_size smaller than the header, or beyond `limit` */
	MB2_EBADTAG = -3,    /* a tag's size is too small or runs past total_size */
	MB2_ENOEND = -4,     /* no end tag */
};

/* Parses `info` (at most `limit` bytes are read) into `out`. */
int multiboot2_parse(uint32_t magic, const void *info, size_t limit, struct boot_info *out);
const char *multiboot2_strerror(int err);

#endif
