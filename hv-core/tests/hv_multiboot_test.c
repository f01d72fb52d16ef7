/* multiboot2 boot information parsing (hv-core/src/boot/multiboot.c). */
#include "multiboot.h"
#include "unit.h"

struct builder {
	uint8_t buf[4096] __attribute__((aligned(8)));
	uint32_t len;
};

static void put32(struct builder *b, uint32_t v)
{
	memcpy(b->buf + b->len, &v, 4);
	b->len += 4;
}
static void put64(struct builder *b, uint64_t v)
{
	memcpy(b->buf + b->len, &v, 8);
	b->len += 8;
}
static void pad(struct builder *b)
{
	while (b->len % 8)
		b->buf[b->len++] = 0;
}
static void start(struct builder *b)
{
	memset(b, 0, sizeof(*b));
	put32(b, 0); /* total_size, patched by finish */
	put32(b, 0);
}
static void string_tag(struct builder *b, uint32_t type, const char *s, uint32_t mod_start, uint32_t mod_end)
{
	uint32_t head = type == MB2_TAG_MODULE ? 16 : 8;
	put32(b, type);
	put32(b, head + (uint32_t)strlen(s) + 1);
	if (type == MB2_TAG_MODULE) {
		put32(b, mod_start);
		put32(b, mod_end);
	}
	memcpy(b->buf + b->len, s, strlen(s) + 1);
	b->len += (uint32_t)strlen(s) + 1;
	pad(b);
}
static void mmap_tag(struct builder *b, unsigned n, const uint64_t (*e)[3])
{
	put32(b, MB2_TAG_MMAP);
	put32(b, 16 + 24 * n);
	put32(b, 24);
	put32(b, 0);
	for (unsigned i = 0; i < n; i++) {
		put64(b, e[i][0]);
		put64(b, e[i][1]);
		put32(b, (uint32_t)e[i][2]);
		put32(b, 0);
	}
}
static void finish(struct builder *b)
{
	put32(b, MB2_TAG_END);
	put32(b, 8);
	memcpy(b->buf, &b->len, 4);
}

TEST(parses_cmdline_modules_mmap_and_rsdp)
{
	struct builder b;
	static struct boot_info bi;
	start(&b);
	string_tag(&b, MB2_TAG_CMDLINE, "serial=0x2f8 grace=5", 0, 0);
	string_tag(&b, MB2_TAG_MODULE, "console=ttyS0 tsc=reliable", 0x1000000, 0x1800000);
	string_tag(&b, MB2_TAG_MODULE, "initrd", 0x2000000, 0x2100000);
	const uint64_t map[2][3] = { { 0, 0x9fc00, 1 }, { 0x100000, 0x1ff00000, 1 } };
	mmap_tag(&b, 2, map);
	put32(&b, MB2_TAG_ACPI_OLD);
	put32(&b, 8 + 20);
	memcpy(b.buf + b.len, "RSD PTR \x01\x02\x03\x04\x05\x06\x07\x00\x00\x00\x00\x00", 20);
	b.len += 20;
	pad(&b);
	finish(&b);
	CHECK_EQ_I64(multiboot2_parse(MB2_BOOTLOADER_MAGIC, b.buf, sizeof(b.buf), &bi), MB2_OK);
	CHECK_STREQ(bi.cmdline, "serial=0x2f8 grace=5");
	CHECK_EQ_U64(bi.module_count, 2);
	CHECK_EQ_U64(bi.modules[0].start, 0x1000000);
	CHECK_EQ_U64(bi.modules[0].end, 0x1800000);
	CHECK_STREQ(bi.modules[0].string, "console=ttyS0 tsc=reliable");
	CHECK_STREQ(bi.modules[1].string, "initrd");
	CHECK_EQ_U64(bi.mmap_count, 2);
	CHECK_EQ_U64(bi.mmap[1].base, 0x100000);
	CHECK_EQ_U64(bi.mmap[1].length, 0x1ff00000);
	CHECK_EQ_U64(bi.mmap[1].type, MEM_AVAILABLE);
	CHECK_EQ_U64(bi.rsdp_length, 20);
	CHECK(!memcmp(bi.rsdp, "RSD PTR ", 8));
	CHECK_EQ_U64(bi.truncated, 0);
}

TEST(rejects_wrong_magic_and_truncation)
{
	struct builder b;
	static struct boot_info bi;
	start(&b);
	finish(&b);
	CHECK_EQ_I64(multiboot2_parse(0x2BADB002, b.buf, sizeof(b.buf), &bi), MB2_EMAGIC);
	CHECK_EQ_I64(multiboot2_parse(MB2_BOOTLOADER_MAGIC, b.buf, 12, &bi), MB2_ETRUNCATED);
	CHECK_EQ_I64(multiboot2_parse(MB2_BOOTLOADER_MAGIC, b.buf, 4, &bi), MB2_ETRUNCATED);
}

TEST(rejects_a_tag_running_past_the_end)
{
	struct builder b;
	static struct boot_info bi;
	start(&b);
	put32(&b, MB2_TAG_CMDLINE);
	put32(&b, 4000);
	finish(&b);
	CHECK_EQ_I64(multiboot2_parse(MB2_BOOTLOADER_MAGIC, b.buf, sizeof(b.buf), &bi), MB2_EBADTAG);
	start(&b);
	put32(&b, MB2_TAG_CMDLINE);
	put32(&b, 4);
	finish(&b);
	CHECK_EQ_I64(multiboot2_parse(MB2_BOOTLOADER_MAGIC, b.buf, sizeof(b.buf), &bi), MB2_EBADTAG);
}

TEST(requires_an_end_tag)
{
	struct builder b;
	static struct boot_info bi;
	start(&b);
	string_tag(&b, MB2_TAG_CMDLINE, "x", 0, 0);
	memcpy(b.buf, &b.len, 4);
	CHECK_EQ_I64(multiboot2_parse(MB2_BOOTLOADER_MAGIC, b.buf, sizeof(b.buf), &bi), MB2_ENOEND);
}

TEST(truncates_overlong_strings_and_extra_modules)
{
	struct builder b;
	static struct boot_info bi;
	char longline[BOOT_CMDLINE_MAX + 50];
	memset(longline, 'k', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	start(&b);
	string_tag(&b, MB2_TAG_CMDLINE, longline, 0, 0);
	for (unsigned i = 0; i < BOOT_MAX_MODULES + 1; i++)
		string_tag(&b, MB2_TAG_MODULE, "m", i * 0x1000, i * 0x1000 + 1);
	finish(&b);
	CHECK_EQ_I64(multiboot2_parse(MB2_BOOTLOADER_MAGIC, b.buf, sizeof(b.buf), &bi), MB2_OK);
	CHECK_EQ_U64(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
	CHECK_EQ_U64(bi.module_count, BOOT_MAX_MODULES);
	CHECK_EQ_U64(bi.truncated, 2);
}

TEST(prefers_the_acpi2_rsdp)
{
	struct builder b;
	static struct boot_info bi;
	start(&b);
	put32(&b, MB2_TAG_ACPI_NEW);
	put32(&b, 8 + 36);
	memset(b.buf + b.len, 0x22, 36);
	b.len += 36;
	pad(&b);
	put32(&b, MB2_TAG_ACPI_OLD);
	put32(&b, 8 + 20);
	memset(b.buf + b.len, 0x11, 20);
	b.len += 20;
	pad(&b);
	finish(&b);
	CHECK_EQ_I64(multiboot2_parse(MB2_BOOTLOADER_MAGIC, b.buf, sizeof(b.buf), &bi), MB2_OK);
	CHECK_EQ_U64(bi.rsdp_length, 36);
	CHECK_EQ_U64(bi.rsdp[0], 0x22);
}

RUN_TESTS(UNIT_CASE(parses_cmdline_modules_mmap_and_rsdp), UNIT_CASE(rejects_wrong_magic_and_truncation),
	  UNIT_CASE(rejects_a_tag_running_past_the_end), UNIT_CASE(requires_an_end_tag),
	  UNIT_CASE(truncates_overlong_strings_and_extra_modules), UNIT_CASE(prefers_the_acpi2_rsdp))
