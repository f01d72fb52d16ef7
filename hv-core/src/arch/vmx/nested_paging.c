/*
 * nested_paging.c - the EPT identity map (Intel SDM vol. 3C, 28.3 "The Extended Page Table
 * Mechanism"): the same layout as SVM's nested page tables (npt.c: the whole physical
 * address space, the hypervisor's region on a scratch page), whose entries have EPT's bit
 * layout, then a memory type per leaf from this machine's MTRRs (ept.c), because EPT
 * replaces the MTRRs for guest accesses (28.3.7). Changes (the trapped APIC page) are
 * followed by INVEPT on every CPU before its next entry.
 */
#include "vmx.h"
#include "ept.h"
#include "hvlib.h"
#include "log.h"
#include "page_alloc.h"
#include "spinlock.h"
#include "x86.h"

#define DEFAULT_PHYS_BITS 36u
#define RESERVE_PAGES 64u /* per-CPU VMCS, VMXON region, GDT/TSS, bitmaps, EPT splits */
#define EPT_CAP_UC (1ull << 8)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_1G (1ull << 17)
#define EPT_CAP_INVEPT_ALL (1ull << 26)
#define EPTP_WALK_4 (3ull << 3) /* page-walk length - 1 (24.6.11) */
#define MSR_MTRRCAP 0xFEu
#define MSR_MTRR_DEF_TYPE 0x2FFu
#define MSR_MTRR_PHYSBASE0 0x200u
#define MSR_MTRR_FIX64K_00000 0x250u
#define MSR_MTRR_FIX16K_80000 0x258u
#define MSR_MTRR_FIX4K_C0000 0x268u
#define MTRRCAP_FIX (1ull << 8)
#define CPUID1_EDX_MTRR (1u << 12)
#define INVEPT_SINGLE 1
#define INVEPT_ALL 2

/* EPT violation exit qualification (27.2.1, table 27-7). */
#define EPT_QUAL_READ (1ull << 0)
#define EPT_QUAL_WRITE (1ull << 1)
#define EPT_QUAL_FETCH (1ull << 2)
#define EPT_QUAL_PRESENT (7ull << 3)
#define EPT_QUAL_LINEAR_VALID (1ull << 7)
#define EPT_QUAL_TRANSLATED (1ull << 8)

volatile uint32_t ept_generation;
uint64_t vmx_eptp;
static uint64_t ept_root, mapped_limit;
static struct spinlock ept_lock;

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

/* The fixed-range MSRs hold eight one-byte types each (SDM vol. 3A, 11.11.2.2). */
static void read_fixed(uint8_t *out, uint32_t msr)
{
	uint64_t v = rdmsr(msr);
	for (unsigned i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static void read_mtrrs(struct mtrr_state *m)
{
	memset(m, 0, sizeof(*m));
	m->phys_bits = phys_bits();
	if (!(cpuid(1, 0).edx & CPUID1_EDX_MTRR))
		return; /* E = 0: everything UC */
	uint64_t cap = rdmsr(MSR_MTRRCAP);
	m->def_type = rdmsr(MSR_MTRR_DEF_TYPE);
	m->fixed_supported = cap & MTRRCAP_FIX;
	m->variable_count = (unsigned)(cap & 0xFF);
	if (m->variable_count > MTRR_MAX_VARIABLE)
		m->variable_count = MTRR_MAX_VARIABLE;
	for (unsigned i = 0; i < m->variable_count; i++) {
		m->phys_base[i] = rdmsr(MSR_MTRR_PHYSBASE0 + 2 * i);
		m->phys_mask[i] = rdmsr(MSR_MTRR_PHYSBASE0 + 2 * i + 1);
	}
	if (m->fixed_supported) {
		read_fixed(m->fixed, MSR_MTRR_FIX64K_00000);
		read_fixed(m->fixed + 8, MSR_MTRR_FIX16K_80000);
		read_fixed(m->fixed + 16, MSR_MTRR_FIX16K_80000 + 1);
		for (unsigned i = 0; i < 8; i++)
			read_fixed(m->fixed + 24 + 8 * i, MSR_MTRR_FIX4K_C0000 + i);
	}
}

uint64_t vmx_arch_nested_paging_build(uint64_t ram_top, uint64_t hv_base, uint64_t hv_end,
				      uint64_t scratch_pa)
{
	uint64_t cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	unsigned bits = phys_bits();
	bool huge = cap & EPT_CAP_1G;
	uint64_t want = bits >= 52 ? 1ull << 52 : 1ull << bits;
	if (want < ram_top)
		want = ram_top;
	uint64_t pages = page_alloc_available() / PAGE_SIZE;
	pages = pages > RESERVE_PAGES ? pages - RESERVE_PAGES : 0;
	uint64_t limit = npt_limit_for_pages(want, huge, pages);
	if (limit < ram_top)
		hv_panic("EPT: tables for memory up to %lx do not fit in %lu free pages", ram_top, pages);
	if (limit < want)
		hv_log("EPT: the %u-bit address space does not fit: mapping only 0-%lx", bits, limit - 1);
	struct npt_layout l = { limit, huge, hv_base, hv_end, scratch_pa };
	uint64_t root = npt_build(&l, one_page);
	if (!root)
		hv_panic("EPT: invalid layout (limit %lx, hypervisor %lx-%lx)", limit, hv_base, hv_end);
	struct mtrr_state m;
	read_mtrrs(&m);
	uint64_t before = page_alloc_used();
	if (ept_apply_memory_types(root, limit, &m, one_page))
		hv_panic("EPT: no memory to split pages for the MTRR types");
	ept_root = root;
	mapped_limit = limit;
	/* The EPT paging structures are WB where EPT allows it (24.6.11, A.10). */
	vmx_eptp = root | EPTP_WALK_4 | (cap & EPT_CAP_WB ? MTRR_TYPE_WB : MTRR_TYPE_UC);
	hv_log("EPT: identity map 0-%lx (%u physical address bits), %s pages; MTRRs %s (default "
	       "type %lu, %u variable), %lu KiB of splits for memory types",
	       limit - 1, bits, huge ? "1 GiB" : "2 MiB", m.def_type & (1u << 11) ? "on" : "off",
	       m.def_type & 0xFF, m.variable_count, (page_alloc_used() - before) / 1024);
	return root;
}

void vmx_invept(void)
{
	struct {
		uint64_t eptp, reserved;
	} desc = { vmx_eptp, 0 };
	uint64_t type = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) & EPT_CAP_INVEPT_ALL ? INVEPT_ALL : INVEPT_SINGLE;
	__asm__ volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

int vmx_vcpu_npt_set_access(uint64_t gpa, enum npt_access access)
{
	spin_lock(&ept_lock);
	int err = ept_root ? ept_set_access(ept_root, gpa, access, one_page) : -1;
	if (!err)
		__atomic_fetch_add(&ept_generation, 1, __ATOMIC_SEQ_CST);
	spin_unlock(&ept_lock);
	return err;
}

void vmx_ept_fault(uint64_t q, uint64_t gpa)
{
	hv_panic("EPT violation at guest-physical %lx: %s, %s%s (qualification %lx; EPT maps 0-%lx)",
		 gpa, q & EPT_QUAL_PRESENT ? "protection violation" : "not mapped",
		 q & EPT_QUAL_FETCH ? "instruction fetch" : q & EPT_QUAL_WRITE ? "write" : "read",
		 (q & EPT_QUAL_LINEAR_VALID) && !(q & EPT_QUAL_TRANSLATED)
			 ? " by the guest's page table walk" : "",
		 q, mapped_limit - 1);
}
