/*
 * page_walk.h - the guest's linear -> guest-physical translation, done the way the CPU does
 * it for every paging mode a guest can be in: paging off (real mode, unpaged protected
 * mode), 32-bit paging (4 KiB and 4 MiB pages, PSE-36), PAE, 4-level and 5-level (LA57)
 * long-mode paging. Permission checks (U/S, R/W with CR0.WP, NX, SMEP, SMAP), reserved bits
 * and accessed/dirty updates follow Intel SDM vol. 3A, chapter 4 "Paging" (4.6 access
 * rights, 4.7 page-fault exceptions, 4.8 accessed and dirty flags) and AMD APM vol. 2, 5.
 * Pure: guest-physical memory is reached through callbacks, so the walk is host-tested.
 */
#ifndef TSX_HV_PAGE_WALK_H
#define TSX_HV_PAGE_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Page-fault error code bits (SDM vol. 3A, 4.7). */
#define PF_ERR_PRESENT (1u << 0)
#define PF_ERR_WRITE (1u << 1)
#define PF_ERR_USER (1u << 2)
#define PF_ERR_RESERVED (1u << 3)
#define PF_ERR_FETCH (1u << 4)

struct paging_state {
	uint64_t cr0, cr3, cr4, efer;
	bool rflags_ac;      /* RFLAGS.AC (SMAP applies to implicit-supervisor and CPL<3 data) */
	unsigned phys_bits;  /* MAXPHYADDR: entry address bits above it are reserved */
	bool page_1g;        /* 1 GiB pages supported (otherwise PS in a PDPTE is reserved) */
};

enum walk_access { WALK_READ, WALK_WRITE, WALK_FETCH };

struct walk_result {
	uint64_t phys;      /* guest-physical address of the byte (when ok) */
	uint64_t page_end;  /* first linear address past the page that maps it */
	uint32_t pf_error;  /* the #PF error code (when !ok and !bus_error) */
	bool ok;
	bool bus_error;     /* a paging structure could not be read (outside guest memory) */
};

/* Guest-physical memory for the walk: read a 4- or 8-byte entry, and atomically OR bits
 * into one (accessed/dirty). Return false if the address is not readable. */
struct walk_memory {
	bool (*read)(void *ctx, uint64_t pa, unsigned size, uint64_t *value);
	bool (*set_bits)(void *ctx, uint64_t pa, unsigned size, uint64_t bits);
	void *ctx;
};

/* Translates `linear` for an access at `cpl`. Sets accessed bits on the walk, and the dirty
 * bit on a write, as the CPU would. */
struct walk_result page_walk(const struct paging_state *s, const struct walk_memory *m,
			     uint64_t linear, enum walk_access access, unsigned cpl);

#endif
