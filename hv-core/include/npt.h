/*
 * npt.h - the nested page tables' identity map (AMD APM vol. 2, 15.25 "Nested Paging").
 * Pure: the caller supplies the page allocator, so the layout is unit-tested on the host.
 */
#ifndef TSX_HV_NPT_H
#define TSX_HV_NPT_H

#include <stdbool.h>
#include <stdint.h>

struct npt_layout {
	uint64_t limit;      /* map guest-physical [0, limit); a multiple of 1 GiB */
	bool huge_1g;        /* the CPU has 1 GiB pages (CPUID 0x80000001 EDX[26]) */
	uint64_t hv_base;    /* the hypervisor's region, 2 MiB aligned, below 4 GiB: never */
	uint64_t hv_end;     /* mapped to itself, every 4 KiB page maps to scratch_pa */
	uint64_t scratch_pa; /* the one 4 KiB junk page the guest sees there */
};

/* The highest limit (a multiple of 1 GiB, at most `want` rounded up) whose tables fit in
 * `pages` 4 KiB pages; 0 if not even 4 GiB fit. */
uint64_t npt_limit_for_pages(uint64_t want, bool huge_1g, uint64_t pages);

/* Number of table pages npt_build allocates for this layout. */
uint64_t npt_pages_needed(uint64_t limit, bool huge_1g);

/* Builds the tables: every guest-physical address below `limit` maps to itself (write-back
 * in the nested entry, see npt.c) except the hypervisor's region. alloc_page returns a zeroed,
 * 4 KiB aligned page whose address is its physical address. Returns the nested CR3, or 0 if
 * the layout is invalid (limit not a multiple of 1 GiB or beyond 2^52, hypervisor region not
 * 2 MiB aligned or not inside the first GiB, scratch page unaligned). */
uint64_t npt_build(const struct npt_layout *l, void *(*alloc_page)(void));

/* What the guest may do with a page: nothing (every access exits with a nested page fault:
 * how the guest's local-APIC page is trapped), read only (writes exit), or read and write. */
enum npt_access { NPT_ACCESS_NONE, NPT_ACCESS_READ, NPT_ACCESS_RW };

/* Sets the guest's access to the 4 KiB page holding `gpa`, splitting 1 GiB / 2 MiB pages on
 * the way with pages from alloc_page. Returns 0, or -1 if the page is not identity-mapped
 * (the hypervisor's region) or not mapped at all. The caller flushes the TLBs of every CPU
 * that may hold the old entry. */
int npt_set_access(uint64_t root, uint64_t gpa, enum npt_access access, void *(*alloc_page)(void));

static inline int npt_set_writable(uint64_t root, uint64_t gpa, bool writable, void *(*alloc_page)(void))
{
	return npt_set_access(root, gpa, writable ? NPT_ACCESS_RW : NPT_ACCESS_READ, alloc_page);
}

#endif
