/*
 * chain_boot.c - boot=chain (include/chain_boot.h): the disk's boot sector started in real
 * mode, with INT 15h memory-map functions and (optionally) INT 13h drive numbers answered by
 * the hypervisor through two small real-mode stubs.
 *
 * Facts used: the BIOS data area word at 0x413 is the conventional memory size in KiB, which
 * real-mode loaders take as the top of usable low memory (IBM PC BIOS; Ralf Brown's interrupt
 * list, INT 12h). INT 15h E820 ("ACPI specification", "System Address Map Interfaces": EAX =
 * E820h, EDX = 'SMAP', EBX = continuation, ECX = buffer size >= 20, ES:DI = buffer; returns
 * EAX = 'SMAP', ECX = bytes, EBX = next or 0, CF clear; 24-byte entries carry the ACPI 3.0
 * extended attributes, bit 0 = enabled). E801h: AX/CX = KiB between 1 and 16 MiB, BX/DX = 64
 * KiB blocks above 16 MiB; 88h: AX = KiB above 1 MiB. A real-mode interrupt pushes FLAGS, CS,
 * IP (SDM vol. 3A, 20.1.4), so the caller's FLAGS, which IRET restores, are at SS:SP+4.
 */
#include "chain_boot.h"
#include "guest_memory.h"
#include "hvlib.h"
#include "log.h"
#include "page_alloc.h"
#include "page_walk.h"
#include "vcpu.h"
#include "x86.h"

#define BDA_BASE_MEMORY_KIB 0x413u
#define IVT_INT13 (0x13u * 4)
#define IVT_INT15 (0x15u * 4)
#define SMAP 0x534D4150u
#define RFLAGS_CF 1u
#define CR0_PE 1u

/* Stub offsets (the byte layout is written by install_stubs). */
#define STUB_INT15 0x00u      /* vmmcall */
#define STUB_INT15_CHAIN 0x03u /* jmp far cs:[orig15] */
#define STUB_INT15_IRET 0x08u
#define STUB_ORIG15 0x0Cu
#define STUB_INT13 0x10u      /* vmmcall: DL mapped */
#define STUB_INT13_CALL 0x13u /* pushf; call far cs:[orig13] */
#define STUB_INT13_POST 0x19u /* vmmcall: DL restored */
#define STUB_INT13_RET 0x1Cu  /* retf 2 */
#define STUB_ORIG13 0x20u
#define VMMCALL_LENGTH 3u

static uint64_t stub_pa;
static const struct e820_entry *guest_map;
static unsigned guest_map_count;
static uint8_t target_drive;
static bool swapping;
/* The INT 13h call in progress on each CPU: the caller's DL and AH (restored after it). */
static struct {
	uint8_t dl, ah;
	bool active;
} int13[HV_MAX_CPUS];

/* The BIOS data area and the interrupt vector table sit in the first page, which compilers
 * treat as a null pointer's: they are read and written as guest memory (on the boot CPU). */
static uint32_t low_read(uint64_t pa, size_t n)
{
	uint32_t v = 0;
	if (!guest_phys_read(0, pa, &v, n))
		hv_panic("boot=chain: cannot read guest-physical %lx", pa);
	return v;
}

static void low_write(uint64_t pa, uint32_t v, size_t n)
{
	if (!guest_phys_write(0, pa, &v, n))
		hv_panic("boot=chain: cannot write guest-physical %lx", pa);
}

uint64_t chain_boot_stub_page(void)
{
	uint16_t kib = (uint16_t)low_read(BDA_BASE_MEMORY_KIB, 2);
	/* Conventional memory is at most 640 KiB; below 64 KiB nothing could boot from it. */
	if (kib < 64 || kib > 640)
		return 0;
	return (uint64_t)(kib - 1) * 1024;
}

static void put_far_pointer(uint8_t *at, uint32_t vector)
{
	memcpy(at, &vector, 4); /* offset, then segment, as in the IVT */
}

static void install_stubs(uint64_t pa, bool hook13)
{
	uint8_t *s = phys_to_virt(pa);
	static const uint8_t int15[] = { 0x0F, 0x01, 0xD9,                   /* vmmcall */
					 0x2E, 0xFF, 0x2E, STUB_ORIG15, 0x00, /* jmp far cs:[orig15] */
					 0xCF };                              /* iret */
	static const uint8_t int13[] = { 0x0F, 0x01, 0xD9,                   /* vmmcall */
					 0x9C,                                /* pushf */
					 0x2E, 0xFF, 0x1E, STUB_ORIG13, 0x00, /* call far cs:[orig13] */
					 0x0F, 0x01, 0xD9,                    /* vmmcall */
					 0xCA, 0x02, 0x00 };                  /* retf 2 */
	_Static_assert(sizeof(int15) == STUB_INT15_IRET + 1, "INT 15h stub layout");
	_Static_assert(sizeof(int13) == STUB_INT13_RET + 3 - STUB_INT13, "INT 13h stub layout");
	memset(s, 0x90, 1024);
	memcpy(s + STUB_INT15, int15, sizeof(int15));
	memcpy(s + STUB_INT13, int13, sizeof(int13));
	uint32_t here = (uint32_t)(pa >> 4) << 16; /* segment:0 */
	put_far_pointer(s + STUB_ORIG15, low_read(IVT_INT15, 4));
	low_write(IVT_INT15, here | STUB_INT15, 4);
	if (hook13) {
		put_far_pointer(s + STUB_ORIG13, low_read(IVT_INT13, 4));
		low_write(IVT_INT13, here | STUB_INT13, 4);
	}
}

void chain_boot_prepare(struct cpu *c, const struct boot_info *bi, const struct e820_entry *map,
			unsigned count, uint8_t drive, bool swap)
{
	const struct boot_module *mbr = 0;
	for (unsigned i = 0; i < bi->module_count; i++)
		if (strlen(bi->modules[i].string) == sizeof(CHAIN_MODULE_NAME) - 1 &&
		    !memcmp(bi->modules[i].string, CHAIN_MODULE_NAME, sizeof(CHAIN_MODULE_NAME) - 1))
			mbr = &bi->modules[i];
	if (!mbr)
		hv_panic("boot=chain: no \"%s\" module (the stick's GRUB loads the disk's first sector "
			 "with `module2 (hdN)+1 %s`)", CHAIN_MODULE_NAME, CHAIN_MODULE_NAME);
	const uint8_t *sector = phys_to_virt(mbr->start);
	if (mbr->end - mbr->start < 512 || sector[510] != 0x55 || sector[511] != 0xAA)
		hv_panic("boot=chain: drive %x has no boot sector (%lu bytes, signature %02x%02x, "
			 "wanted 55aa)", drive, mbr->end - mbr->start,
			 mbr->end - mbr->start >= 512 ? sector[510] : 0,
			 mbr->end - mbr->start >= 512 ? sector[511] : 0);
	stub_pa = chain_boot_stub_page();
	if (!stub_pa)
		hv_panic("boot=chain: the BIOS data area reports %u KiB of conventional memory",
			 low_read(BDA_BASE_MEMORY_KIB, 2));
	guest_map = map;
	guest_map_count = count;
	target_drive = drive;
	swapping = swap && drive != 0x80;
	low_write(BDA_BASE_MEMORY_KIB, (uint32_t)(stub_pa / 1024), 2);
	install_stubs(stub_pa, swapping);
	memcpy(phys_to_virt(CHAIN_BOOT_SECTOR), sector, 512);
	uint8_t dl = swapping ? 0x80 : drive;
	vcpu_set_boot_sector_entry(c, CHAIN_BOOT_SECTOR, dl);
	hv_log("chain boot: drive %x's boot sector at 0:7c00, DL=%x%s; INT 15h memory map and%s "
	       "INT 13h hooks at %lx", drive, dl, swapping ? " (drives 0x80 and the disk swapped)" : "",
	       swapping ? "" : " no", stub_pa);
}

/* The caller's FLAGS image on the real-mode stack (IP, CS, FLAGS from SS:SP). */
static bool set_caller_carry(struct cpu *c, bool carry)
{
	struct vcpu_segment ss;
	vcpu_get_segment(c, SEG_SS, &ss);
	uint64_t at = ss.base + (uint16_t)(c->regs.rsp + 4);
	uint16_t flags;
	if (!guest_phys_read(c->index, at, &flags, 2))
		return false;
	flags = carry ? (uint16_t)(flags | RFLAGS_CF) : (uint16_t)(flags & ~RFLAGS_CF);
	return guest_phys_write(c->index, at, &flags, 2);
}

static void set_low16(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & ~0xFFFFull) | (v & 0xFFFF);
}

/* INT 15h: the memory-map functions, answered from the guest's map; false = the firmware's. */
static bool int15(struct cpu *c)
{
	uint32_t eax = (uint32_t)c->regs.rax;
	if (eax == 0xE820) {
		struct chain_e820_reply r = chain_e820(guest_map, guest_map_count,
						       (uint32_t)c->regs.rbx, (uint32_t)c->regs.rcx,
						       (uint32_t)c->regs.rdx);
		if (r.ok) {
			struct vcpu_segment es;
			vcpu_get_segment(c, SEG_ES, &es);
			r.ok = guest_phys_write(c->index, es.base + (uint16_t)c->regs.rdi, r.entry,
						r.bytes);
		}
		if (r.ok) {
			c->regs.rax = SMAP;
			c->regs.rbx = r.next;
			c->regs.rcx = r.bytes;
		} else {
			c->regs.rax = (c->regs.rax & ~0xFF00ull) | 0x8600; /* AH = 86h: unsupported */
		}
		set_caller_carry(c, !r.ok);
		return true;
	}
	if ((eax & 0xFFFF) == 0xE801 || (eax & 0xFF00) == 0x8800) {
		uint32_t kib, blocks;
		chain_e801(guest_map, guest_map_count, &kib, &blocks);
		set_low16(&c->regs.rax, kib);
		if ((eax & 0xFFFF) == 0xE801) {
			set_low16(&c->regs.rcx, kib);
			set_low16(&c->regs.rbx, blocks);
			set_low16(&c->regs.rdx, blocks);
		}
		set_caller_carry(c, false);
		return true;
	}
	return false;
}

bool chain_boot_vmmcall(struct cpu *c)
{
	if (!stub_pa)
		return false;
	struct paging_state ps;
	vcpu_paging_state(c, &ps);
	if (ps.cr0 & CR0_PE)
		return false; /* the stubs run in real mode only */
	struct vcpu_segment cs;
	vcpu_get_segment(c, SEG_CS, &cs);
	uint64_t ip = (uint16_t)vcpu_rip(c);
	if (cs.base != stub_pa)
		return false;
	unsigned me = c->index;
	switch (ip) {
	case STUB_INT15:
		vcpu_set_rip(c, int15(c) ? STUB_INT15_IRET : STUB_INT15_CHAIN);
		return true;
	case STUB_INT13: {
		uint8_t dl = (uint8_t)c->regs.rdx;
		int13[me].dl = dl;
		int13[me].ah = (uint8_t)(c->regs.rax >> 8);
		int13[me].active = true;
		c->regs.rdx = (c->regs.rdx & ~0xFFull) | chain_swap_drive(dl, target_drive, swapping);
		vcpu_set_rip(c, STUB_INT13_CALL);
		return true;
	}
	case STUB_INT13_POST:
		/* AH=08h returns the drive count in DL and AH=15h a size in CX:DX: those stay. */
		if (int13[me].active && int13[me].ah != 0x08 && int13[me].ah != 0x15)
			c->regs.rdx = (c->regs.rdx & ~0xFFull) | int13[me].dl;
		int13[me].active = false;
		vcpu_set_rip(c, STUB_INT13_RET);
		return true;
	default:
		return false;
	}
}
