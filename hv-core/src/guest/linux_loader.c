/*
 * linux_loader.c - starts a Linux kernel by the 64-bit boot protocol (Linux
 * Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): the protected-mode kernel is
 * placed at its preferred (or an aligned relocatable) address with init_size bytes free,
 * the initrd as high as allowed, boot_params and the command line in low memory, and the
 * CPU enters startup_64 (load address + 0x200) in long mode with an identity map covering
 * all of those, a GDT with __BOOT_CS = 0x10 and __BOOT_DS = 0x18, interrupts off and
 * RSI = boot_params.
 *
 * Guest low-memory scaffold (usable RAM that the kernel reserves itself, it keeps the first
 * 1 MiB): 0x10000 PML4, 0x11000 PDPT, 0x12000-0x15FFF four page directories (4 GiB in
 * 2 MiB pages), 0x16000 GDT, 0x17000 boot_params, 0x18000 command line; stack below 0x10000.
 */
#include "linux_loader.h"
#include "hvlib.h"
#include "linux_boot.h"
#include "log.h"
#include "page_alloc.h"
#include "vcpu.h"

#define SCAFFOLD_BASE 0x10000ull
#define GUEST_PML4 0x10000ull
#define GUEST_PDPT 0x11000ull
#define GUEST_PD 0x12000ull
#define GUEST_GDT 0x16000ull
#define GUEST_BOOT_PARAMS 0x17000ull
#define GUEST_CMDLINE 0x18000ull
#define SCAFFOLD_END ((uint64_t)0x19000)
#define GUEST_STACK_TOP SCAFFOLD_BASE
#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define SIZE_2M (2ull << 20)
#define KERNEL_MIN_ADDR 0x1000000ull /* 16 MiB, LOAD_PHYSICAL_ADDR of distribution kernels */
#define LOW_4G (4ull << 30)

static void build_identity_map(void)
{
	uint64_t *pml4 = phys_to_virt(GUEST_PML4);
	uint64_t *pdpt = phys_to_virt(GUEST_PDPT);
	uint64_t *pd = phys_to_virt(GUEST_PD);
	memset(pml4, 0, SCAFFOLD_END - SCAFFOLD_BASE);
	pml4[0] = GUEST_PDPT | PTE_P | PTE_RW;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (GUEST_PD + i * PAGE_SIZE) | PTE_P | PTE_RW;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = (uint64_t)i * SIZE_2M | PTE_P | PTE_RW | PTE_PS;
	uint64_t *gdt = phys_to_virt(GUEST_GDT);
	gdt[BOOT_CS / 8] = 0x00AF9A000000FFFFull; /* 64-bit code, DPL 0 */
	gdt[BOOT_DS / 8] = 0x00CF92000000FFFFull; /* data, DPL 0 */
}

static bool overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

void linux_load(struct cpu *c, const struct boot_info *bi, const struct guest_memory *mem)
{
	if (bi->module_count < 1)
		hv_panic("no guest kernel: the first multiboot2 module must be a bzImage");
	const struct boot_module *km = &bi->modules[0];
	const uint8_t *image = phys_to_virt(km->start);
	uint64_t image_size = km->end - km->start;
	struct linux_image info;
	int err = linux_parse_image(image, image_size, &info);
	if (err)
		hv_panic("guest kernel: %s", linux_strerror(err));
	/* Keep the setup header: moving the payload may overwrite the module's first bytes. */
	static uint8_t header[BP_E820_TABLE];
	memcpy(header, image, sizeof(header));
	if (!e820_is_usable(mem->map, mem->count, 0x1000, SCAFFOLD_END - 0x1000))
		hv_panic("guest low memory 0x1000-0x%lx is not usable RAM", SCAFFOLD_END);

	uint64_t align = info.kernel_alignment ? info.kernel_alignment : SIZE_2M;
	uint64_t kernel = info.pref_address;
	if (!e820_is_usable(mem->map, mem->count, kernel, info.init_size)) {
		if (!info.relocatable)
			hv_panic("guest kernel needs %x bytes at %lx, which is not free RAM",
				 info.init_size, kernel);
		kernel = e820_find_lowest(mem->map, mem->count, info.init_size, align,
					  KERNEL_MIN_ADDR, 0, 0);
		if (!kernel)
			hv_panic("no room for the guest kernel (%x bytes)", info.init_size);
	}

	uint64_t initrd = 0, initrd_size = 0;
	if (bi->module_count >= 2) {
		const struct boot_module *im = &bi->modules[1];
		initrd_size = im->end - im->start;
		uint64_t limit = (uint64_t)info.initrd_addr_max + 1;
		if (limit > LOW_4G)
			limit = LOW_4G;
		initrd = e820_find_highest(mem->map, mem->count, initrd_size, PAGE_SIZE, limit,
					   kernel, info.init_size);
		if (!initrd)
			hv_panic("no room for the initrd (%lx bytes)", initrd_size);
		if (overlap(initrd, initrd_size, km->start, image_size))
			hv_panic("initrd destination %lx overlaps the kernel module", initrd);
		memmove(phys_to_virt(initrd), phys_to_virt(im->start), initrd_size);
	}
	memmove(phys_to_virt(kernel), image + info.setup_bytes, info.payload_bytes);

	build_identity_map();
	size_t cmdline_len = strlen(km->string);
	struct linux_boot_args args = {
		.cmdline_addr = GUEST_CMDLINE,
		.cmdline_len = cmdline_len,
		.initrd_addr = initrd,
		.initrd_size = initrd_size,
		.rsdp_addr = mem->rsdp_addr,
		.e820 = mem->map,
		.e820_count = mem->count,
	};
	err = linux_build_boot_params(phys_to_virt(GUEST_BOOT_PARAMS), header, &info, &args);
	if (err)
		hv_panic("guest boot parameters: %s", linux_strerror(err));
	memcpy(phys_to_virt(GUEST_CMDLINE), km->string, cmdline_len + 1);

	hv_log("linux: kernel %lx (+%x, protocol %x.%02x), initrd %lx (+%lx), cmdline \"%s\"",
	       kernel, info.init_size, info.version >> 8, info.version & 0xFF, initrd, initrd_size,
	       km->string);
	struct vcpu_long_mode_entry entry = {
		.rip = kernel + LINUX_STARTUP_64_OFFSET,
		.rsp = GUEST_STACK_TOP,
		.rsi = GUEST_BOOT_PARAMS,
		.cr3 = GUEST_PML4,
		.gdt_base = GUEST_GDT,
		.gdt_limit = BOOT_DS + 7,
		.code_selector = BOOT_CS,
		.data_selector = BOOT_DS,
	};
	vcpu_set_long_mode_entry(c, &entry);
}
