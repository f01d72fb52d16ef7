/*
 * nested_paging.c - sizes and builds the nested page tables for this CPU (npt.c has the pure
 * layout) and explains nested page faults.
 *
 * The map covers the CPU's whole physical address space, 2^MAXPHYADDR bytes with MAXPHYADDR
 * from CPUID 0x80000008 EAX[7:0] (AMD APM vol. 3, E.4.7; 36 bits if the leaf is absent), so
 * every MMIO range the firmware may assign (64-bit BARs above RAM included) is reachable
 * without appearing in the memory map. If the tables for that do not fit in the hypervisor's
 * heap (2 MiB pages on a CPU without 1 GiB pages and with a very wide address space) the map
 * is cut at what fits, which is logged; it always covers RAM and the first 4 GiB.
 *
 * Nothing below the limit is unmapped, so a nested page fault means the guest touched an
 * address beyond the map (or the tables are broken): it is never survivable without
 * emulating the instruction, and the hypervisor panics with the fault decoded and a dump.
 */
#include "npt.h"
#include "svm.h"
#include "hvlib.h"
#include "log.h"
#include "page_alloc.h"
#include "spinlock.h"
#include "vcpu.h"
#include "x86.h"

#define CPUID_EXT_PAGE1GB (1u << 26) /* CPUID 0x80000001 EDX */
#define DEFAULT_PHYS_BITS 36u
#define RESERVE_PAGES 32u /* for the VMCB, host save area, MSR and I/O permission maps */

/* EXITINFO1 of a nested page fault (APM vol. 2, 15.25.6). */
#define NPF_PRESENT (1ull << 0)
#define NPF_WRITE (1ull << 1)
#define NPF_FETCH (1ull << 4)
#define NPF_TABLE_WALK (1ull << 33)

static uint64_t mapped_limit;
static uint64_t root_pa;
static struct spinlock npt_lock;
volatile uint32_t npt_generation; /* bumped on every change: CPUs flush before their next VMRUN */

static void *one_page(void)
{
	return page_alloc(1);
}

static unsigned phys_bits(void)
{
	if (cpuid(0x80000000, 0).eax < 0x80000008)
		return DEFAULT_PHYS_BITS;
	unsigned bits = cpuid(0x80000008, 0).eax & 0xFF;
	return bits ? bits : DEFAULT_PHYS_BITS;
}

uint64_t svm_arch_nested_paging_build(uint64_t ram_top, uint64_t hv_base, uint64_t hv_end, uint64_t scratch_pa)
{
	unsigned bits = phys_bits();
	bool huge = cpuid(0x80000001, 0).edx & CPUID_EXT_PAGE1GB;
	uint64_t want = bits >= 52 ? 1ull << 52 : 1ull << bits;
	if (want < ram_top)
		want = ram_top;
	uint64_t pages = page_alloc_available() / PAGE_SIZE;
	pages = pages > RESERVE_PAGES ? pages - RESERVE_PAGES : 0;
	uint64_t limit = npt_limit_for_pages(want, huge, pages);
	if (limit < ram_top)
		hv_panic("nested paging: tables for memory up to %lx do not fit in %lu free pages", ram_top, pages);
	if (limit < want)
		hv_log("nested paging: the tables for the %u-bit address space need %lu pages, %lu are free: "
		       "mapping only 0-%lx", bits, npt_pages_needed(ALIGN_UP(want, 1ull << 30), huge), pages, limit - 1);
	struct npt_layout l = { limit, huge, hv_base, hv_end, scratch_pa };
	uint64_t root = npt_build(&l, one_page);
	if (!root)
		hv_panic("nested paging: invalid layout (limit %lx, hypervisor %lx-%lx)", limit, hv_base, hv_end);
	mapped_limit = limit;
	root_pa = root;
	hv_log("nested paging: identity map 0-%lx (%u physical address bits), %s pages, %lu KiB of tables",
	       limit - 1, bits, huge ? "1 GiB" : "2 MiB", npt_pages_needed(limit, huge) * PAGE_SIZE / 1024);
	return root;
}

void nested_page_fault(uint64_t info, uint64_t gpa)
{
	hv_panic("nested page fault at guest-physical %lx: %s, %s%s (exitinfo1 %lx; nested paging maps 0-%lx)",
		 gpa, info & NPF_PRESENT ? "protection violation" : "not mapped",
		 info & NPF_FETCH ? "instruction fetch" : info & NPF_WRITE ? "write" : "read",
		 info & NPF_TABLE_WALK ? " by the guest's page table walk" : "", info, mapped_limit - 1);
}

int svm_vcpu_npt_set_access(uint64_t gpa, enum npt_access access)
{
	spin_lock(&npt_lock);
	int err = root_pa ? npt_set_access(root_pa, gpa, access, one_page) : -1;
	if (!err)
		__atomic_fetch_add(&npt_generation, 1, __ATOMIC_SEQ_CST);
	spin_unlock(&npt_lock);
	return err;
}
