/* bzImage header parsing and boot_params construction (hv-core/src/guest/linux_boot.c). */
#include "linux_boot.h"
#include "unit.h"

static uint8_t image[64 * 1024];

static void w16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void w32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void w64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A synthetic bzImage with the fields of a Debian 6.1 kernel (protocol 2.15). */
static void make_image(void)
{
	memset(image, 0, sizeof(image));
	image[BP_SETUP_SECTS] = 31;
	w16(image + BP_BOOT_FLAG, LINUX_BOOT_FLAG);
	image[BP_JUMP] = 0xEB;
	image[0x201] = 0x6A; /* header ends at 0x26C */
	w32(image + BP_HEADER, LINUX_HDRS_MAGIC);
	w16(image + BP_VERSION, 0x020F);
	image[BP_LOADFLAGS] = LINUX_LOADED_HIGH | LINUX_CAN_USE_HEAP;
	w32(image + BP_CODE32_START, 0x100000);
	w32(image + BP_INITRD_ADDR_MAX, 0x7FFFFFFF);
	w32(image + BP_KERNEL_ALIGNMENT, 0x200000);
	image[BP_RELOCATABLE_KERNEL] = 1;
	w16(image + BP_XLOADFLAGS, 0x7F);
	w32(image + BP_CMDLINE_SIZE, 2047);
	w64(image + BP_PREF_ADDRESS, 0x1000000);
	w32(image + BP_INIT_SIZE, 0x3F98000);
	image[0x26B] = 0x5A; /* last header byte */
	image[0x26C] = 0xA5; /* first byte after the header */
}

TEST(parses_a_distribution_kernel_header)
{
	struct linux_image info;
	make_image();
	CHECK_EQ_I64(linux_parse_image(image, sizeof(image), &info), LINUX_OK);
	CHECK_EQ_U64(info.setup_bytes, 32 * 512);
	CHECK_EQ_U64(info.payload_bytes, sizeof(image) - 32 * 512);
	CHECK_EQ_U64(info.header_end, 0x26C);
	CHECK_EQ_U64(info.version, 0x020F);
	CHECK_EQ_U64(info.pref_address, 0x1000000);
	CHECK_EQ_U64(info.init_size, 0x3F98000);
	CHECK_EQ_U64(info.kernel_alignment, 0x200000);
	CHECK_EQ_U64(info.cmdline_size, 2047);
	CHECK_EQ_U64(info.relocatable, 1);
}

TEST(rejects_what_it_cannot_boot)
{
	struct linux_image info;
	make_image();
	CHECK_EQ_I64(linux_parse_image(image, 0x200, &info), LINUX_ETOOSMALL);
	image[BP_BOOT_FLAG] = 0;
	CHECK_EQ_I64(linux_parse_image(image, sizeof(image), &info), LINUX_ENOTBZIMAGE);
	make_image();
	w32(image + BP_HEADER, 0x12345678);
	CHECK_EQ_I64(linux_parse_image(image, sizeof(image), &info), LINUX_ENOTBZIMAGE);
	make_image();
	w16(image + BP_VERSION, 0x020B);
	CHECK_EQ_I64(linux_parse_image(image, sizeof(image), &info), LINUX_EOLD);
	make_image();
	w16(image + BP_XLOADFLAGS, 0);
	CHECK_EQ_I64(linux_parse_image(image, sizeof(image), &info), LINUX_ENO64);
	make_image();
	image[BP_SETUP_SECTS] = 200; /* setup larger than the file */
	CHECK_EQ_I64(linux_parse_image(image, 0x8000, &info), LINUX_ETOOSMALL);
}

TEST(builds_boot_params)
{
	static uint8_t bp[BOOT_PARAMS_SIZE];
	struct linux_image info;
	const struct e820_entry map[2] = { { 0, 0x9fc00, 1 }, { 0x100000, 0x1ff00000, 1 } };
	make_image();
	CHECK_EQ_I64(linux_parse_image(image, sizeof(image), &info), LINUX_OK);
	memset(bp, 0xEE, sizeof(bp));
	struct linux_boot_args args = { .cmdline_addr = 0x18000, .cmdline_len = 30,
					.initrd_addr = 0x11fdfb000ull, .initrd_size = 0x1e4600,
					.rsdp_addr = 0x19000, .e820 = map, .e820_count = 2 };
	CHECK_EQ_I64(linux_build_boot_params(bp, image, &info, &args), LINUX_OK);
	CHECK_EQ_U64(bp[BP_SENTINEL], 0);
	CHECK_EQ_U64(bp[BP_TYPE_OF_LOADER], LINUX_TYPE_OF_LOADER_UNDEFINED);
	CHECK_EQ_U64(bp[BP_LOADFLAGS], LINUX_LOADED_HIGH);
	CHECK_EQ_U64(bp[0x26B], 0x5A);
	CHECK_EQ_U64(bp[0x26C], 0);
	uint32_t v32;
	uint64_t v64;
	memcpy(&v32, bp + BP_CMD_LINE_PTR, 4);
	CHECK_EQ_U64(v32, 0x18000);
	memcpy(&v32, bp + BP_RAMDISK_IMAGE, 4);
	CHECK_EQ_U64(v32, 0x1fdfb000);
	memcpy(&v32, bp + BP_EXT_RAMDISK_IMAGE, 4);
	CHECK_EQ_U64(v32, 1);
	memcpy(&v32, bp + BP_RAMDISK_SIZE, 4);
	CHECK_EQ_U64(v32, 0x1e4600);
	memcpy(&v64, bp + BP_ACPI_RSDP_ADDR, 8);
	CHECK_EQ_U64(v64, 0x19000);
	CHECK_EQ_U64(bp[BP_E820_ENTRIES], 2);
	struct e820_entry e;
	memcpy(&e, bp + BP_E820_TABLE + sizeof(e), sizeof(e));
	CHECK_EQ_U64(e.addr, 0x100000);
	CHECK_EQ_U64(e.size, 0x1ff00000);
	CHECK_EQ_U64(e.type, 1);
	memcpy(&v32, bp + BP_HEADER, 4);
	CHECK_EQ_U64(v32, LINUX_HDRS_MAGIC);
}

TEST(refuses_an_overlong_cmdline_and_too_many_e820_entries)
{
	static uint8_t bp[BOOT_PARAMS_SIZE];
	struct linux_image info;
	make_image();
	linux_parse_image(image, sizeof(image), &info);
	struct linux_boot_args args = { .cmdline_len = 2048 };
	CHECK_EQ_I64(linux_build_boot_params(bp, image, &info, &args), LINUX_ECMDLINE);
	args.cmdline_len = 10;
	args.e820_count = E820_MAX_ENTRIES + 1;
	CHECK_EQ_I64(linux_build_boot_params(bp, image, &info, &args), LINUX_EE820);
}

RUN_TESTS(UNIT_CASE(parses_a_distribution_kernel_header), UNIT_CASE(rejects_what_it_cannot_boot),
	  UNIT_CASE(builds_boot_params), UNIT_CASE(refuses_an_overlong_cmdline_and_too_many_e820_entries))
