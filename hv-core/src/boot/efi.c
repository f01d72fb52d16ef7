/*
 * efi.c - the firmware phase of a UEFI chain boot (include/efi_chain.h). Runs as a firmware
 * application: on the firmware's page tables, GDT, IDT and stack, with its services.
 *
 * Facts used (UEFI Specification 2.10): memory services must be called at TPL_NOTIFY or below,
 * and raising the TPL to TPL_NOTIFY holds off every event notification (7.1, table 7-3), so no
 * allocation can happen between our FreePages and AllocatePages; EfiReservedMemoryType is never
 * used by an OS (7.2, table 7-6; Linux maps it E820_TYPE_RESERVED); gBS->Exit on the running
 * image returns control to the caller of its StartImage (7.4), which for a boot option is the
 * boot manager, which then tries the next option in BootOrder (3.1.1 "Boot Manager").
 *
 * Freeing the pages we execute from is the delicate step: a firmware may fill freed memory
 * (EDK2 debug builds write 0xAF: DEBUG_CLEAR_MEMORY) or change its page attributes. So the
 * image is first copied to a firmware buffer, and the free, the allocation, the copy back and
 * the switch to the hypervisor's own page tables run from a small position-independent routine
 * (efi_reserve_routine, efi_entry.S) placed in a page of its own outside the region.
 */
#include "efi.h"
#include "efi_chain.h"
#include "boot.h"
#include "config.h"
#include "hvlib.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "log.h"
#include "multiboot.h"
#include "page_alloc.h"
#include "serial.h"
#include "smp.h"
#include "x86.h"

#define MAX_PIECES 8
#define MAP_BUFFER 65536
#define STUB_HANDLE 0x0Bu
#define STUB_STATUS 0x15u
#define STUB_EXIT 0x25u

struct efi_fw_state efi_fw;

/* Filled by hv_efi_main on the firmware's stack, read by efi_reserve_routine (offsets in
 * efi_entry.S: keep in step). */
struct efi_reserve_args {
	uint64_t boot_services;     /* 0 */
	uint64_t base, pages;       /* 8, 16: the whole region */
	uint64_t save, save_length; /* 24, 32: the image and bss, copied back after the swap */
	uint64_t cr3, gdt_pointer;  /* 40, 48: the hypervisor's page tables and GDT */
	uint64_t stack, resume;     /* 56, 64: where the hypervisor goes on */
	uint64_t free_status;       /* 72: the first failing FreePages, or 0 */
	uint64_t alloc_status;      /* 80 */
	uint64_t address;           /* 88: AllocatePages in/out */
	uint64_t piece_count;       /* 96 */
	uint64_t piece[MAX_PIECES][2]; /* 104: base, pages of each loader-owned piece */
};
_Static_assert(__builtin_offsetof(struct efi_reserve_args, piece) == 104, "efi_entry.S offsets");

extern char efi_reserve_routine[], efi_reserve_routine_end[], efi_resume[];
extern char boot_pml4[], boot_gdt_ptr[], boot_stack_top[];

static struct boot_info efi_boot;
static struct efi_boot_services *bs;
static void *con_out;
static uint64_t image_handle;
static bool trampoline_ok;
static uint64_t stub_page;
static struct mem_range fw_map[BOOT_MAX_MMAP];
static unsigned fw_map_count;
static uint8_t map_buffer[MAP_BUFFER] __attribute__((aligned(16)));
/* The firmware's local-APIC timer at entry (UEFI firmware ticks on it: OVMF's LocalApicTimerDxe,
 * or 8254TimerDxe on the PIT, which the hypervisor leaves alone). */
static struct {
	uint32_t lvt, dcr, initial, current;
	uint64_t tsc_deadline;
} fw_timer;

#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3E0
#define MSR_TSC_DEADLINE 0x6E0u

/* Read before anything reprograms the timer, on the firmware's identity map. */
static uint32_t fw_apic_read(unsigned offset)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	if (base & APIC_BASE_EXTD)
		return (uint32_t)rdmsr(0x800u + (offset >> 4));
	return *(volatile uint32_t *)(uintptr_t)((base & APIC_BASE_ADDR_MASK) + offset);
}

static void save_fw_timer(void)
{
	fw_timer.lvt = fw_apic_read(APIC_LVT_TIMER);
	fw_timer.dcr = fw_apic_read(APIC_TIMER_DIVIDE);
	fw_timer.initial = fw_apic_read(APIC_TIMER_INITIAL);
	fw_timer.current = fw_apic_read(APIC_TIMER_CURRENT);
	if ((fw_timer.lvt & LVT_TIMER_MODE_MASK) == LVT_TIMER_TSC_DEADLINE &&
	    (cpuid(1, 0).ecx & (1u << 24)))
		fw_timer.tsc_deadline = rdmsr(MSR_TSC_DEADLINE);
}

void efi_adopt_timer(struct cpu *c)
{
	hv_log("UEFI: the firmware's APIC timer: LVT %x, divide %x, initial count %u, current %u%s",
	       fw_timer.lvt, fw_timer.dcr, fw_timer.initial, fw_timer.current,
	       (fw_timer.lvt & LVT_MASKED) ? " (masked: the firmware ticks on another timer)" : "");
	lapic_timer_adopt(c, fw_timer.lvt, fw_timer.dcr, fw_timer.initial, fw_timer.current,
			  fw_timer.tsc_deadline);
}

bool efi_chain_active(void)
{
	return efi_fw.entered != 0;
}

bool efi_trampoline_reserved(void)
{
	return trampoline_ok;
}

unsigned efi_memory_map(struct mem_range *out, unsigned max)
{
	unsigned n = fw_map_count < max ? fw_map_count : max;
	memcpy(out, fw_map, n * sizeof(*out));
	return n;
}

/* The firmware's console (EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL.OutputString, 12.4), ASCII only. */
static void console(const char *text)
{
	if (!con_out)
		return;
	efi_status (EFIAPI *output)(void *self, const uint16_t *s) =
		*(efi_status (EFIAPI **)(void *, const uint16_t *))((uint8_t *)con_out + 8);
	uint16_t line[160];
	size_t n = 0;
	for (; *text && n + 3 < sizeof(line) / 2; text++)
		line[n++] = (uint8_t)*text;
	line[n++] = '\r';
	line[n++] = '\n';
	line[n] = 0;
	output(con_out, line);
}

/* Nothing can be taken or changed yet: the machine stays the firmware's. Said on the
 * hypervisor's port and the firmware's console, then the hypervisor stops (a chain boot the
 * user asked to be accelerated must not go on at real speed unnoticed). */
__attribute__((noreturn)) static void refuse(const char *why)
{
	char text[200] = "tsx-hv: UEFI chain boot stopped: ";
	size_t at = strlen(text), n = strlen(why);
	if (at + n >= sizeof(text))
		n = sizeof(text) - at - 1;
	memcpy(text + at, why, n);
	text[at + n] = 0;
	console(text);
	hv_panic("UEFI chain boot: %s", why);
}

static void report_config(const char *word, size_t length, const char *why)
{
	(void)word;
	(void)length;
	(void)why; /* hv_main parses the command line again and reports it */
}

static uint32_t e820_type(uint32_t efi)
{
	switch (efi) {
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
	case EFI_BOOT_SERVICES_CODE:
	case EFI_BOOT_SERVICES_DATA:
	case EFI_CONVENTIONAL_MEMORY:
		return MEM_AVAILABLE;
	case EFI_ACPI_RECLAIM_MEMORY:
		return MEM_ACPI_RECLAIMABLE;
	case EFI_ACPI_MEMORY_NVS:
		return MEM_ACPI_NVS;
	case EFI_UNUSABLE_MEMORY:
		return MEM_BAD;
	default:
		return MEM_RESERVED;
	}
}

/* GetMemoryMap into map_buffer; returns the descriptor count and stride. */
static unsigned read_memory_map(uint64_t *stride)
{
	uint64_t size = sizeof(map_buffer), key, desc_size;
	uint32_t version;
	efi_status st = bs->get_memory_map(&size, map_buffer, &key, &desc_size, &version);
	if (st != EFI_SUCCESS || desc_size < sizeof(struct efi_memory_descriptor))
		refuse("GetMemoryMap failed (or the map is larger than 64 KiB)");
	*stride = desc_size;
	return (unsigned)(size / desc_size);
}

static const struct efi_memory_descriptor *descriptor(unsigned i, uint64_t stride)
{
	return (const struct efi_memory_descriptor *)(map_buffer + i * stride);
}

/* The hypervisor's guest-visible stub: the firmware, now the guest, ends the stick's boot
 * option with gBS->Exit(GRUB's image, EFI_ABORTED) on its own stack, with its interrupts on. */
static void write_stub(uint8_t *s)
{
	static const uint8_t code[] = {
		0xFB,                         /* sti */
		0x48, 0x83, 0xE4, 0xF0,       /* and rsp, -16 */
		0x48, 0x83, 0xEC, 0x20,       /* sub rsp, 32 (the callee's shadow space) */
		0x48, 0xB9, 0, 0, 0, 0, 0, 0, 0, 0, /* mov rcx, image handle */
		0x48, 0xBA, 0, 0, 0, 0, 0, 0, 0, 0, /* mov rdx, status */
		0x45, 0x31, 0xC0,             /* xor r8d, r8d */
		0x45, 0x31, 0xC9,             /* xor r9d, r9d */
		0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, /* mov rax, gBS->Exit */
		0xFF, 0xD0,                   /* call rax: does not return */
		0xF4,                         /* 1: hlt */
		0xEB, 0xFD,                   /* jmp 1b */
	};
	if (code[STUB_HANDLE - 2] != 0x48 || code[STUB_STATUS - 2] != 0x48 ||
	    code[STUB_EXIT - 2] != 0x48)
		refuse("stub layout");
	memset(s, 0xCC, PAGE_SIZE);
	memcpy(s, code, sizeof(code));
	uint64_t status = EFI_ABORTED, exit_fn = (uint64_t)(uintptr_t)bs->exit;
	memcpy(s + STUB_HANDLE, &image_handle, 8);
	memcpy(s + STUB_STATUS, &status, 8);
	memcpy(s + STUB_EXIT, &exit_fn, 8);
}

static uint64_t allocate_below_4g(int memory_type, unsigned pages, const char *what)
{
	uint64_t at = 0xFFFFFFFFull;
	if (bs->allocate_pages(EFI_ALLOCATE_MAX_ADDRESS, memory_type, pages, &at) != EFI_SUCCESS) {
		char why[96] = "cannot allocate ";
		memcpy(why + strlen(why), what, strlen(what) + 1);
		refuse(why);
	}
	return at;
}

static bool under_tsx_hv(void)
{
	struct cpuid_regs r = cpuid(0x40000000, 0);
	char sig[13];
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	return !memcmp(sig, "tsx-hv-vtime", 12);
}

void hv_efi_main(uint32_t magic, uint64_t mbi)
{
	/* hv_log reads this CPU's struct through GS; hv_main finds it again (cpu_at(0)). */
	save_fw_timer();
	struct cpu *c = cpu_add(cpuid(1, 0).ebx >> 24);
	cpu_set_current(c);
	serial_init(SERIAL_DEFAULT_PORT);
	int err = mbi < (1ull << 32) ? multiboot2_parse(magic, phys_to_virt(mbi), 1u << 20, &efi_boot)
				     : MB2_ETRUNCATED;
	struct hv_config cfg;
	config_parse(err ? "" : efi_boot.cmdline, &cfg, report_config);
	if (cfg.serial_port != SERIAL_DEFAULT_PORT)
		serial_init(cfg.serial_port);
	if (err)
		hv_panic("UEFI entry: %s (boot information at %lx)", multiboot2_strerror(err), mbi);
	if (!efi_boot.efi_system_table || !efi_boot.efi_image_handle)
		hv_panic("UEFI entry without the EFI system table or image handle (tags 12 and 20): "
			 "tsx-hv-efi.elf needs a multiboot2 loader that keeps boot services (UEFI GRUB)");
	struct efi_system_table *st = phys_to_virt(efi_boot.efi_system_table);
	bs = st->boot_services;
	con_out = st->con_out;
	image_handle = efi_boot.efi_image_handle;
	if (under_tsx_hv()) {
		/* The stick's chain entry reached again, now as the guest (the boot manager came back
		 * to the stick): pass, so the boot manager goes on to the installed OS. */
		console("tsx-hv: already running under tsx-hv; handing this boot option back");
		hv_log("UEFI entry under tsx-hv already: handing the boot option back to the firmware");
		bs->exit((efi_handle)image_handle, EFI_ALREADY_STARTED, 0, 0);
		refuse("gBS->Exit returned");
	}
	char vendor[64];
	unsigned vn = 0;
	for (const uint16_t *v = st->firmware_vendor; v && *v && vn + 1 < sizeof(vendor); v++)
		vendor[vn++] = *v < 0x80 ? (char)*v : '?';
	vendor[vn] = 0;
	hv_log("tsx-hv starting under UEFI (%s, revision %x; boot services kept; CR3 %lx, CS %x, "
	       "RSP %lx)", vendor, st->firmware_revision, efi_fw.cr3, efi_fw.cs, efi_fw.rsp);
	if (efi_fw.cr4 & (1ull << 12))
		refuse("the firmware runs 5-level paging (CR4.LA57), which is not supported");

	uint64_t base = (uint64_t)hv_image_start, end = (uint64_t)hv_heap_end;
	/* On the firmware's stack: the routine reads it after the region was freed. */
	struct efi_reserve_args args;
	memset(&args, 0, sizeof(args));
	uint64_t stride;
	unsigned n = read_memory_map(&stride);
	fw_map_count = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct efi_memory_descriptor *d = descriptor(i, stride);
		uint64_t lo = d->physical_start, hi = lo + d->number_of_pages * PAGE_SIZE;
		if (fw_map_count < BOOT_MAX_MMAP) {
			struct mem_range *m = &fw_map[fw_map_count];
			uint32_t t = e820_type(d->type);
			if (fw_map_count && m[-1].type == t && m[-1].base + m[-1].length == lo)
				m[-1].length += hi - lo;
			else
				*m = (struct mem_range){ lo, hi - lo, t }, fw_map_count++;
		}
		if (hi <= base || lo >= end)
			continue;
		uint64_t plo = lo < base ? base : lo, phi = hi > end ? end : hi;
		if (d->type == EFI_LOADER_DATA || d->type == EFI_LOADER_CODE) {
			if (args.piece_count == MAX_PIECES)
				refuse("the hypervisor's range is split into too many firmware allocations");
			args.piece[args.piece_count][0] = plo;
			args.piece[args.piece_count][1] = (phi - plo) / PAGE_SIZE;
			args.piece_count++;
		} else if (d->type != EFI_CONVENTIONAL_MEMORY) {
			hv_log("UEFI memory map: %lx-%lx type %u inside the hypervisor's range %lx-%lx", lo,
			       hi - 1, d->type, base, end - 1);
			/* The whole map, for choosing another base (HV_LINK_BASE in CMakeLists.txt). */
			for (unsigned j = 0; j < n; j++) {
				const struct efi_memory_descriptor *e = descriptor(j, stride);
				if (e->type != EFI_CONVENTIONAL_MEMORY)
					hv_log("UEFI memory map: %lx-%lx type %u", e->physical_start,
					       e->physical_start + e->number_of_pages * PAGE_SIZE - 1,
					       e->type);
			}
			refuse("the firmware uses part of the hypervisor's memory range");
		}
	}
	/* The AP trampoline's page: boot services memory, the OS's after ExitBootServices. */
	uint64_t tramp = SMP_TRAMPOLINE_PAGE;
	trampoline_ok = bs->allocate_pages(EFI_ALLOCATE_ADDRESS, EFI_BOOT_SERVICES_DATA, 1, &tramp) ==
			EFI_SUCCESS;
	if (!trampoline_ok) {
		/* Any page below the EBDA will do: the trampoline finds its own address from CS. */
		tramp = 0x9EFFF;
		trampoline_ok = bs->allocate_pages(EFI_ALLOCATE_MAX_ADDRESS, EFI_BOOT_SERVICES_DATA, 1,
						   &tramp) == EFI_SUCCESS;
	}
	if (trampoline_ok)
		smp_set_trampoline_page(tramp);
	else
		hv_log("UEFI: no page below 640 KiB is free for the AP trampoline: other CPUs cannot "
		       "be started");
	stub_page = allocate_below_4g(EFI_LOADER_CODE, 1, "the guest's stub page");
	write_stub(phys_to_virt(stub_page));
	uint64_t routine = allocate_below_4g(EFI_LOADER_CODE, 1, "a page for the reserve routine");
	size_t routine_size = (size_t)(efi_reserve_routine_end - efi_reserve_routine);
	if (routine_size > PAGE_SIZE)
		refuse("reserve routine larger than a page");
	memcpy(phys_to_virt(routine), efi_reserve_routine, routine_size);
	uint64_t save_length = (uint64_t)hv_heap_start - base;
	uint64_t save = allocate_below_4g(EFI_BOOT_SERVICES_DATA,
					  (unsigned)((save_length + PAGE_SIZE - 1) / PAGE_SIZE),
					  "a buffer for the hypervisor's image");
	hv_log("UEFI: reserving %lx-%lx (%lu loader piece(s)); stub %lx, image copy %lx (%lu KiB)",
	       base, end - 1, args.piece_count, stub_page, save, save_length / 1024);
	args.boot_services = (uint64_t)(uintptr_t)bs;
	args.base = base;
	args.pages = (end - base) / PAGE_SIZE;
	args.save_length = save_length;
	args.save = save;
	args.cr3 = (uint64_t)(uintptr_t)boot_pml4;
	args.gdt_pointer = (uint64_t)(uintptr_t)boot_gdt_ptr;
	args.stack = (uint64_t)(uintptr_t)boot_stack_top;
	args.resume = (uint64_t)(uintptr_t)efi_resume;
	/* The identity map the routine switches to (as entry.S builds it): 4 GiB of 2 MiB pages. */
	uint64_t *pml4 = (uint64_t *)boot_pml4;
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	memset(pml4, 0, 6 * PAGE_SIZE);
	pml4[0] = (uint64_t)(uintptr_t)pdpt | 3;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (uint64_t)(uintptr_t)(pd + 512 * i) | 3;
	for (unsigned i = 0; i < 2048; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;
	/* Everything the hypervisor holds is now in the image: copy it out last. */
	memcpy(phys_to_virt(save), hv_image_start, save_length);
	((void (*)(struct efi_reserve_args *))phys_to_virt(routine))(&args);
	__builtin_unreachable();
}

/* Back from efi_reserve_routine on the hypervisor's own page tables, GDT and stack. */
void hv_efi_resume(uint64_t free_status, uint64_t alloc_status)
{
	if (free_status || alloc_status)
		hv_panic("UEFI: the hypervisor's range could not be made EfiReservedMemoryType "
			 "(FreePages status %lx, AllocatePages status %lx): an OS would use it as RAM",
			 free_status, alloc_status);
	hv_log("UEFI: %lx-%lx is EfiReservedMemoryType; the firmware continues as the guest",
	       (uint64_t)hv_image_start, (uint64_t)hv_heap_end - 1);
	hv_main((uint32_t)efi_fw.magic, (uint32_t)efi_fw.mbi);
}

uint64_t efi_stub_page(void)
{
	return stub_page;
}
