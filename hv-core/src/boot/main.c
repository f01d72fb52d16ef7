/*
 * main.c - hv_main: from the multiboot2 hand-over to the guest's first VMRUN.
 * Order matters: the boot information is copied before any guest memory is written; devices
 * register their port hooks before the vendor code (arch.h) builds the permission maps.
 */
#include "boot.h"
#include "config.h"
#include "tsc_scaling.h"
#include "control_port.h"
#include "cpu.h"
#include "guest_memory.h"
#include "guest_time.h"
#include "hv_port.h"
#include "hvlib.h"
#include "hypercall.h"
#include "cpuid_policy.h"
#include "apic_page.h"
#include "arch.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "smp.h"
#include "i8042.h"
#include "linux_loader.h"
#include "chain_boot.h"
#include "efi_chain.h"
#include "log.h"
#include "multiboot.h"
#include "page_alloc.h"
#include "phys_window.h"
#include "power.h"
#include "serial.h"
#include "x86.h"

#define MBI_LIMIT (1u << 20)
#define RSDP_GUEST_PAGE 0x19000ull /* reserved in the guest e820 (linux_loader scaffold end) */

static struct boot_info boot;
static struct guest_memory guest_mem;

static void report_config(const char *word, size_t length, const char *why)
{
	char w[96];
	size_t n = length < sizeof(w) - 1 ? length : sizeof(w) - 1;
	memcpy(w, word, n);
	w[n] = '\0';
	hv_log("command line: ignoring \"%s\": %s", w, why);
}

/* The guest's memory map: the firmware's with the hypervisor's range reserved. A Linux guest
 * also keeps out of the AP trampoline and the page that holds its copy of the RSDP; a
 * chain-booted OS finds the firmware's RSDP itself and instead must not take the KiB of the
 * INT 13h/15h stubs (chain_boot.h). */
static void build_guest_memory(enum boot_mode mode)
{
	struct mem_range reserve[3] = {
		{ (uint64_t)hv_image_start, (uint64_t)hv_heap_end - (uint64_t)hv_image_start, MEM_RESERVED },
		{ smp_trampoline_page(), PAGE_SIZE, MEM_RESERVED },
		{ 0, 0, MEM_RESERVED },
	};
	if (mode == BOOT_CHAIN && efi_chain_active()) {
		/* The firmware's map is what the OS will see (the region is EfiReservedMemoryType
		 * there); this one only bounds nested paging. */
	} else if (mode == BOOT_CHAIN) {
		reserve[1].base = chain_boot_stub_page();
		reserve[1].length = reserve[1].base ? 1024 : 0;
	} else if (boot.rsdp_length) {
		reserve[2].base = RSDP_GUEST_PAGE;
		reserve[2].length = PAGE_SIZE;
	}
	int n = e820_build(boot.mmap, boot.mmap_count, reserve, 3, guest_mem.map, E820_MAX_ENTRIES);
	if (n <= 0)
		hv_panic("cannot build the guest memory map (%u firmware entries)", boot.mmap_count);
	guest_mem.count = (unsigned)n;
	for (unsigned i = 0; i < guest_mem.count; i++)
		hv_log("e820 %016lx-%016lx type %u", guest_mem.map[i].addr,
		       guest_mem.map[i].addr + guest_mem.map[i].size - 1, guest_mem.map[i].type);
	if (mode == BOOT_LINUX && boot.rsdp_length) {
		memset(phys_to_virt(RSDP_GUEST_PAGE), 0, PAGE_SIZE);
		memcpy(phys_to_virt(RSDP_GUEST_PAGE), boot.rsdp, boot.rsdp_length);
		guest_mem.rsdp_addr = RSDP_GUEST_PAGE;
	}
}

/* The boot CPU's initial APIC ID (CPUID.1:EBX[31:24]; SDM vol. 3A, 8.4.3). */
static uint32_t boot_apic_id(void)
{
	return cpuid(1, 0).ebx >> 24;
}

void hv_main(uint32_t magic, uint32_t info)
{
	/* The UEFI entry (efi.c) added the boot CPU already. */
	struct cpu *c = cpu_count() ? cpu_at(0) : cpu_add(boot_apic_id());
	cpu_set_current(c);
	serial_init(SERIAL_DEFAULT_PORT);
	exceptions_init();
	int err = multiboot2_parse(magic, phys_to_virt(info), MBI_LIMIT, &boot);
	struct hv_config cfg;
	config_parse(err ? "" : boot.cmdline, &cfg, report_config);
	if (cfg.serial_port != SERIAL_DEFAULT_PORT)
		serial_init(cfg.serial_port);
	hv_log("tsx-hv starting (hypervisor memory %lx-%lx, log on port %x)",
	       (uint64_t)hv_image_start, (uint64_t)hv_heap_end, serial_base());
	if (err)
		hv_panic("%s", multiboot2_strerror(err));
	if (efi_chain_active()) {
		if (cfg.boot != BOOT_CHAIN)
			hv_panic("tsx-hv-efi.elf is the UEFI chain-boot image and needs boot=chain (the "
				 "stick's Linux entry uses tsx-hv.elf)");
		if (!boot.mmap_count)
			boot.mmap_count = efi_memory_map(boot.mmap, BOOT_MAX_MMAP);
	}
	if (boot.truncated)
		hv_log("boot information: %u entries or strings truncated", boot.truncated);
	power_set_action(cfg.on_shutdown);
	cpuid_policy_set_tsc_deadline(cfg.tsc_deadline);
	tsc_scaling_configure(cfg.tsc_scaling);
	power_init(boot.rsdp, boot.rsdp_length);
	const char *why = arch_unsupported_reason();
	if (why)
		hv_panic("cannot virtualise: %s", why);

	tsc_calibrate();
	uint64_t announced = cpuid_policy_set_measured_tsc_hz(tsc_hz());
	if (announced && cpuid_policy(0x16, 0).eax * 1000000ull != announced &&
	    !cpuid_policy(0x15, 0).ebx)
		hv_log("CPUID 0x15/0x16 announce a %lu kHz TSC, the PIT measured %lu kHz: the guest "
		       "is told %u MHz in leaf 0x16", announced / 1000, tsc_hz() / 1000,
		       cpuid_policy(0x16, 0).eax);
	phys_window_init();
	build_guest_memory(cfg.boot);
	if (cfg.boot == BOOT_CHAIN && cfg.grace_seconds) {
		/* A boot menu or loader would arm it before the OS calibrates its clocks: in chain
		 * mode the installed agent, the control port or a hotkey arms. */
		if (cfg.grace_given)
			hv_log("command line: grace=%u ignored: boot=chain never arms on a timer",
			       cfg.grace_seconds);
		cfg.grace_seconds = 0;
	}
	hv_port_hide();
	hypercall_port_init();
	i8042_hotkeys_init(&cfg.hotkeys);

	c->apic_id = lapic_id(c);
	lapic_timer_calibrate();
	cpuid_policy_x2apic_offered();
	uint64_t scratch = virt_to_phys(page_alloc(1));
	guest_memory_init((uint64_t)hv_image_start, (uint64_t)hv_heap_end, scratch);
	uint64_t npt = arch_nested_paging_build(e820_top(guest_mem.map, guest_mem.count),
						 (uint64_t)hv_image_start, (uint64_t)hv_heap_end, scratch);
	apic_page_init();
	control_port_init();
	guest_time_init(smp_discover(boot.rsdp, boot.rsdp_length), rdtsc(), cfg.grace_seconds);
	arch_cpu_init(c, npt);
	lapic_timer_reset(c);
	if (efi_chain_active())
		efi_adopt_timer(c);
	if (efi_chain_active() && !efi_trampoline_reserved() && cpu_count() > 1)
		hv_panic("UEFI: the AP trampoline's page %lx belongs to the firmware, so %u other CPUs "
			 "cannot be started under the hypervisor", smp_trampoline_page(),
			 cpu_count() - 1);
	smp_start_aps(npt);
	if (efi_chain_active())
		efi_chain_prepare(c);
	else if (cfg.boot == BOOT_CHAIN)
		chain_boot_prepare(c, &boot, guest_mem.map, guest_mem.count, cfg.chain_drive,
				   cfg.drive_swap);
	else
		linux_load(c, &boot, &guest_mem);
	c->run_state = VCPU_RUNNING;
	hv_log("grace %us, on-shutdown %s, heap used %lu KiB", cfg.grace_seconds,
	       power_action_name(cfg.on_shutdown), page_alloc_used() / 1024);
	vcpu_loop(c);
}
