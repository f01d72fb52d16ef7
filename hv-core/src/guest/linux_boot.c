/*
 * linux_boot.c - bzImage setup header parsing and boot_params construction for the 64-bit
 * boot protocol (Linux Documentation/arch/x86/boot.rst, "64-bit Boot Protocol" and "Details
 * of Header Fields"; zero-page.rst for the layout).
 */
#include "linux_boot.h"
#include "hvlib.h"

int linux_parse_image(const uint8_t *image, size_t size, struct linux_image *out)
{
	memset(out, 0, sizeof(*out));
	if (size < 0x264 + 4)
		return LINUX_ETOOSMALL;
	if (load_le16(image + BP_BOOT_FLAG) != LINUX_BOOT_FLAG || load_le32(image + BP_HEADER) != LINUX_HDRS_MAGIC)
		return LINUX_ENOTBZIMAGE;
	out->version = load_le16(image + BP_VERSION);
	if (out->version < LINUX_MIN_VERSION)
		return LINUX_EOLD;
	if (!(load_le16(image + BP_XLOADFLAGS) & LINUX_XLF_KERNEL_64))
		return LINUX_ENO64;
	unsigned sects = image[BP_SETUP_SECTS] ? image[BP_SETUP_SECTS] : 4;
	out->setup_bytes = (sects + 1) * 512u;
	out->header_end = 0x202u + image[0x201];
	if (out->header_end > BP_E820_TABLE || out->setup_bytes >= size || out->header_end > size)
		return LINUX_ETOOSMALL;
	out->payload_bytes = (uint32_t)(size - out->setup_bytes);
	out->init_size = load_le32(image + BP_INIT_SIZE);
	out->kernel_alignment = load_le32(image + BP_KERNEL_ALIGNMENT);
	out->pref_address = load_le64(image + BP_PREF_ADDRESS);
	out->initrd_addr_max = load_le32(image + BP_INITRD_ADDR_MAX);
	out->cmdline_size = load_le32(image + BP_CMDLINE_SIZE);
	out->relocatable = image[BP_RELOCATABLE_KERNEL];
	if (out->init_size < out->payload_bytes)
		out->init_size = out->payload_bytes;
	return LINUX_OK;
}

const char *linux_strerror(int err)
{
	switch (err) {
	case LINUX_OK:
		return "ok";
	case LINUX_ETOOSMALL:
		return "kernel image is truncated";
	case LINUX_ENOTBZIMAGE:
		return "kernel module is not a bzImage (no boot flag or HdrS magic)";
	case LINUX_EOLD:
		return "kernel boot protocol older than 2.12";
	case LINUX_ENO64:
		return "kernel has no 64-bit entry point";
	case LINUX_ECMDLINE:
		return "guest command line longer than the kernel accepts";
	case LINUX_EE820:
		return "too many e820 entries";
	default:
		return "unknown error";
	}
}

int linux_build_boot_params(uint8_t *bp, const uint8_t *image, const struct linux_image *info,
			    const struct linux_boot_args *args)
{
	if (args->cmdline_len > info->cmdline_size)
		return LINUX_ECMDLINE;
	if (args->e820_count > E820_MAX_ENTRIES)
		return LINUX_EE820;
	memset(bp, 0, BOOT_PARAMS_SIZE);
	/* The setup header is copied verbatim from the image, then the loader's fields are set. */
	memcpy(bp + BP_HDR, image + BP_HDR, info->header_end - BP_HDR);
	bp[BP_TYPE_OF_LOADER] = LINUX_TYPE_OF_LOADER_UNDEFINED;
	bp[BP_LOADFLAGS] = (uint8_t)((bp[BP_LOADFLAGS] | LINUX_LOADED_HIGH) & ~LINUX_CAN_USE_HEAP);
	store_le16(bp + BP_VID_MODE, 0xFFFF); /* "normal" text mode */
	store_le32(bp + BP_CMD_LINE_PTR, (uint32_t)args->cmdline_addr);
	store_le32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(args->cmdline_addr >> 32));
	store_le32(bp + BP_RAMDISK_IMAGE, (uint32_t)args->initrd_addr);
	store_le32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(args->initrd_addr >> 32));
	store_le32(bp + BP_RAMDISK_SIZE, (uint32_t)args->initrd_size);
	store_le32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(args->initrd_size >> 32));
	store_le64(bp + BP_ACPI_RSDP_ADDR, args->rsdp_addr);
	bp[BP_E820_ENTRIES] = (uint8_t)args->e820_count;
	memcpy(bp + BP_E820_TABLE, args->e820, args->e820_count * sizeof(struct e820_entry));
	return LINUX_OK;
}
