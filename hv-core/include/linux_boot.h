/*
 * linux_boot.h - the Linux x86 boot protocol (Documentation/arch/x86/boot.rst, zero-page.rst):
 * reading a bzImage's setup header and building the boot_params ("zero page") for the 64-bit
 * entry point. Pure: unit-tested on the host.
 */
#ifndef TSX_HV_LINUX_BOOT_H
#define TSX_HV_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "e820.h"

#define BOOT_PARAMS_SIZE 4096u

/* Offsets in boot_params (zero-page.rst) and in the setup header (boot.rst). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE 0x0C4
#define BP_EXT_CMD_LINE_PTR 0x0C8
#define BP_E820_ENTRIES 0x1E8
#define BP_SENTINEL 0x1EF
#define BP_HDR 0x1F1
#define BP_SETUP_SECTS 0x1F1
#define BP_VID_MODE 0x1FA
#define BP_BOOT_FLAG 0x1FE
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_CODE32_START 0x214
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21C
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22C
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE_KERNEL 0x234
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2D0

#define LINUX_BOOT_FLAG 0xAA55
#define LINUX_HDRS_MAGIC 0x53726448u /* "HdrS" */
#define LINUX_MIN_VERSION 0x020C      /* 2.12: xloadflags, 64-bit entry */
#define LINUX_LOADED_HIGH 0x01
#define LINUX_CAN_USE_HEAP 0x80
#define LINUX_XLF_KERNEL_64 0x01
#define LINUX_STARTUP_64_OFFSET 0x200 /* 64-bit entry = load address + 0x200 */
#define LINUX_TYPE_OF_LOADER_UNDEFINED 0xFF

struct linux_image {
	uint32_t setup_bytes;     /* (setup_sects + 1) * 512: the real-mode part */
	uint32_t payload_bytes;   /* protected-mode kernel that goes to the load address */
	uint32_t header_end;      /* 0x202 + byte at 0x201: end of the setup header */
	uint16_t version;
	uint32_t init_size;       /* memory the kernel needs from its load address on */
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;    /* max command line length without the NUL */
	uint8_t relocatable;
};

enum linux_err {
	LINUX_OK = 0,
	LINUX_ETOOSMALL = -1,  /* shorter than its own setup header says */
	LINUX_ENOTBZIMAGE = -2, /* no 0xAA55 boot flag or "HdrS" magic */
	LINUX_EOLD = -3,       /* boot protocol older than 2.12 */
	LINUX_ENO64 = -4,      /* no 64-bit entry point (XLF_KERNEL_64) */
	LINUX_ECMDLINE = -5,   /* command line longer than the kernel accepts */
	LINUX_EE820 = -6,      /* more than 128 e820 entries */
};

int linux_parse_image(const uint8_t *image, size_t size, struct linux_image *out);
const char *linux_strerror(int err);

struct linux_boot_args {
	uint64_t cmdline_addr;
	size_t cmdline_len; /* without the NUL */
	uint64_t initrd_addr;
	uint64_t initrd_size;
	uint64_t rsdp_addr; /* 0 = let the kernel search */
	const struct e820_entry *e820;
	unsigned e820_count;
};

/* Fills the 4096-byte boot_params `bp` for `image` (as parsed into `info`). */
int linux_build_boot_params(uint8_t *bp, const uint8_t *image, const struct linux_image *info,
			    const struct linux_boot_args *args);

#endif
