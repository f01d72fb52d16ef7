/*
 * multiboot.c - multiboot2 boot information -> struct boot_info (Multiboot2 spec 1.0, 3.6).
 * Tags are 8-byte aligned; each starts with u32 type, u32 size (size excludes the padding).
 */
#include "multiboot.h"
#include "hvlib.h"

/* Copies a NUL-terminated string of at most `avail` bytes into dst (capacity cap). */
static void copy_string(char *dst, size_t cap, const uint8_t *src, size_t avail, unsigned *trunc)
{
	size_t n = 0;
	while (n < avail && src[n])
		n++;
	if (n >= cap) {
		n = cap - 1;
		(*trunc)++;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void parse_mmap(const uint8_t *tag, uint32_t size, struct boot_info *out)
{
	if (size < 16)
		return;
	uint32_t entry_size = load_le32(tag + 8);
	if (entry_size < 24)
		return;
	for (uint32_t off = 16; off + entry_size <= size; off += entry_size) {
		if (out->mmap_count == BOOT_MAX_MMAP) {
			out->truncated++;
			return;
		}
		struct mem_range *r = &out->mmap[out->mmap_count++];
		r->base = load_le64(tag + off);
		r->length = load_le64(tag + off + 8);
		r->type = load_le32(tag + off + 16);
	}
}

static void parse_module(const uint8_t *tag, uint32_t size, struct boot_info *out)
{
	if (size < 16)
		return;
	if (out->module_count == BOOT_MAX_MODULES) {
		out->truncated++;
		return;
	}
	struct boot_module *m = &out->modules[out->module_count++];
	m->start = load_le32(tag + 8);
	m->end = load_le32(tag + 12);
	copy_string(m->string, sizeof(m->string), tag + 16, size - 16, &out->truncated);
}

static void parse_acpi(const uint8_t *tag, uint32_t size, struct boot_info *out, bool is_new)
{
	uint32_t n = size - 8;
	if (n > BOOT_RSDP_MAX)
		n = BOOT_RSDP_MAX;
	/* Prefer the ACPI 2.0+ RSDP (tag 15) over the 1.0 one (tag 14). */
	if (!is_new && out->rsdp_length)
		return;
	memcpy(out->rsdp, tag + 8, n);
	out->rsdp_length = n;
}

int multiboot2_parse(uint32_t magic, const void *info, size_t limit, struct boot_info *out)
{
	const uint8_t *base = info;
	memset(out, 0, sizeof(*out));
	if (magic != MB2_BOOTLOADER_MAGIC)
		return MB2_EMAGIC;
	if (limit < 8)
		return MB2_ETRUNCATED;
	uint32_t total = load_le32(base);
	if (total < 8 || total > limit)
		return MB2_ETRUNCATED;
	for (uint32_t off = 8; off + 8 <= total;) {
		const uint8_t *tag = base + off;
		uint32_t type = load_le32(tag), size = load_le32(tag + 4);
		if (size < 8 || size > total - off)
			return MB2_EBADTAG;
		switch (type) {
		case MB2_TAG_END:
			return MB2_OK;
		case MB2_TAG_CMDLINE:
			copy_string(out->cmdline, sizeof(out->cmdline), tag + 8, size - 8,
				    &out->truncated);
			break;
		case MB2_TAG_MODULE:
			parse_module(tag, size, out);
			break;
		case MB2_TAG_MMAP:
			parse_mmap(tag, size, out);
			break;
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			parse_acpi(tag, size, out, type == MB2_TAG_ACPI_NEW);
			break;
		case MB2_TAG_EFI64:
			if (size >= 16)
				out->efi_system_table = load_le64(tag + 8);
			break;
		case MB2_TAG_EFI64_IMAGE:
			if (size >= 16)
				out->efi_image_handle = load_le64(tag + 8);
			break;
		default:
			break;
		}
		off += (size + 7u) & ~7u;
	}
	return MB2_ENOEND;
}

const char *multiboot2_strerror(int err)
{
	switch (err) {
	case MB2_OK:
		return "ok";
	case MB2_EMAGIC:
		return "not started by a multiboot2 loader (bad magic)";
	case MB2_ETRUNCATED:
		return "boot information truncated";
	case MB2_EBADTAG:
		return "malformed boot information tag";
	case MB2_ENOEND:
		return "boot information has no end tag";
	default:
		return "unknown error";
	}
}
