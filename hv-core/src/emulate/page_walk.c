/*
 * page_walk.c - guest page tables walked as the CPU walks them (include/page_walk.h).
 */
#include "page_walk.h"

#define CR0_PG (1ull << 31)
#define CR0_WP (1ull << 16)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define PDE32_PSE36_SHIFT 13 /* bits 20:13 of a 4 MiB PDE hold physical address bits 39:32 */

struct walk {
	const struct paging_state *s;
	const struct walk_memory *m;
	uint64_t linear;
	enum walk_access access;
	unsigned cpl;
	bool user_ok, write_ok, exec_ok; /* accumulated over the levels */
};

static struct walk_result fault(const struct walk *w, bool present, bool reserved)
{
	struct walk_result r = { 0 };
	uint32_t e = 0;
	if (present)
		e |= PF_ERR_PRESENT;
	if (reserved)
		e |= PF_ERR_RESERVED | PF_ERR_PRESENT;
	if (w->access == WALK_WRITE)
		e |= PF_ERR_WRITE;
	if (w->cpl == 3)
		e |= PF_ERR_USER;
	/* I/D is reported for fetches when NX or SMEP could have caused it (SDM 4.7). */
	if (w->access == WALK_FETCH && (w->s->efer & EFER_NXE || w->s->cr4 & CR4_SMEP))
		e |= PF_ERR_FETCH;
	r.pf_error = e;
	return r;
}

static struct walk_result bus_error(void)
{
	struct walk_result r = { 0 };
	r.bus_error = true;
	return r;
}

/* Access rights of the whole walk against the access (SDM vol. 3A, 4.6.1). */
static bool allowed(const struct walk *w)
{
	const struct paging_state *s = w->s;
	bool user_access = w->cpl == 3;
	if (user_access) {
		if (!w->user_ok)
			return false;
		if (w->access == WALK_WRITE && !w->write_ok)
			return false;
	} else {
		if (w->access == WALK_WRITE && !w->write_ok && (s->cr0 & CR0_WP))
			return false;
		if (w->user_ok && w->access == WALK_FETCH && (s->cr4 & CR4_SMEP))
			return false;
		if (w->user_ok && w->access != WALK_FETCH && (s->cr4 & CR4_SMAP) && !s->rflags_ac)
			return false;
	}
	if (w->access == WALK_FETCH && !w->exec_ok)
		return false;
	return true;
}

static uint64_t reserved_address_bits(const struct paging_state *s)
{
	unsigned bits = s->phys_bits ? s->phys_bits : 36;
	return bits >= 52 ? 0 : PTE_ADDR_MASK & ~((1ull << bits) - 1);
}

/* Finishes a walk at a leaf: rights, accessed/dirty, the physical address. The
 * entries[] are the physical addresses and sizes of the entries seen, for A/D updates. */
static struct walk_result finish(struct walk *w, uint64_t frame, uint64_t page_size,
				 const uint64_t *entry_pa, unsigned levels, unsigned entry_size)
{
	if (!allowed(w))
		return fault(w, true, false);
	for (unsigned i = 0; i < levels; i++) {
		uint64_t bits = PTE_A;
		if (i == levels - 1 && w->access == WALK_WRITE)
			bits |= PTE_D;
		if (!w->m->set_bits(w->m->ctx, entry_pa[i], entry_size, bits))
			return bus_error();
	}
	struct walk_result r = { 0 };
	r.ok = true;
	r.phys = frame + (w->linear & (page_size - 1));
	r.page_end = (w->linear & ~(page_size - 1)) + page_size;
	return r;
}

static void accumulate(struct walk *w, uint64_t e)
{
	w->user_ok = w->user_ok && (e & PTE_US);
	w->write_ok = w->write_ok && (e & PTE_RW);
	if ((w->s->efer & EFER_NXE) && (e & PTE_NX))
		w->exec_ok = false;
}

static struct walk_result walk_legacy32(struct walk *w)
{
	const struct paging_state *s = w->s;
	uint32_t la = (uint32_t)w->linear;
	uint64_t pde_pa = (s->cr3 & 0xFFFFF000ull) + ((la >> 22) & 0x3FF) * 4;
	uint64_t pde;
	if (!w->m->read(w->m->ctx, pde_pa, 4, &pde))
		return bus_error();
	if (!(pde & PTE_P))
		return fault(w, false, false);
	accumulate(w, pde);
	if ((pde & PTE_PS) && (s->cr4 & CR4_PSE)) {
		uint64_t high = ((pde >> PDE32_PSE36_SHIFT) & 0xFF) << 32;
		uint64_t entries[1] = { pde_pa };
		return finish(w, (pde & 0xFFC00000ull) | high, 1ull << 22, entries, 1, 4);
	}
	uint64_t pte_pa = (pde & 0xFFFFF000ull) + ((la >> 12) & 0x3FF) * 4;
	uint64_t pte;
	if (!w->m->read(w->m->ctx, pte_pa, 4, &pte))
		return bus_error();
	if (!(pte & PTE_P))
		return fault(w, false, false);
	accumulate(w, pte);
	uint64_t entries[2] = { pde_pa, pte_pa };
	return finish(w, pte & 0xFFFFF000ull, 1ull << 12, entries, 2, 4);
}

/* PAE and long-mode paging: 64-bit entries, 9 index bits per level. `top` is the level
 * of the first table (4 = PML5, 3 = PML4, 2 = the PAE PDPT, with 2 index bits). */
static struct walk_result walk_64bit_entries(struct walk *w, int top)
{
	const struct paging_state *s = w->s;
	uint64_t rsvd_addr = reserved_address_bits(s);
	uint64_t nx_rsvd = (s->efer & EFER_NXE) ? 0 : PTE_NX;
	uint64_t entries[5];
	unsigned count = 0;
	uint64_t table;
	bool pae_legacy = top == 2;
	if (pae_legacy)
		table = s->cr3 & 0xFFFFFFE0ull;
	else
		table = s->cr3 & PTE_ADDR_MASK;
	for (int level = top; level >= 0; level--) {
		uint64_t index = (w->linear >> (12 + 9 * level)) & 0x1FF;
		if (pae_legacy && level == 2)
			index &= 3;
		uint64_t e_pa = table + index * 8;
		uint64_t e;
		if (!w->m->read(w->m->ctx, e_pa, 8, &e))
			return bus_error();
		if (!(e & PTE_P))
			return fault(w, false, false);
		uint64_t reserved = rsvd_addr | nx_rsvd;
		if (pae_legacy && level == 2) {
			/* PAE PDPTEs have no R/W, U/S, NX or PS (SDM 4.4.1): bits 2:1, 8:5 and 63
			 * are reserved, and they do not take part in the access rights. */
			if (e & (0x1E6ull | PTE_NX | rsvd_addr))
				return fault(w, true, true);
			table = e & PTE_ADDR_MASK;
			continue;
		}
		bool large = (e & PTE_PS) && level > 0;
		if (large && (level >= 3 || (level == 2 && !s->page_1g)))
			return fault(w, true, true); /* PS is reserved in PML4E/PML5E (and PDPTE without 1 GiB pages) */
		uint64_t page = 1ull << (12 + 9 * level);
		if (large)
			reserved |= (page - 1) & PTE_ADDR_MASK & ~0x1000ull; /* frame low bits; bit 12 is PAT */
		if (e & reserved)
			return fault(w, true, true);
		accumulate(w, e);
		entries[count++] = e_pa;
		if (large || level == 0) {
			uint64_t frame = e & PTE_ADDR_MASK & ~(page - 1);
			return finish(w, frame, page, entries, count, 8);
		}
		table = e & PTE_ADDR_MASK;
	}
	return fault(w, false, false); /* not reached: level 0 always finishes */
}

struct walk_result page_walk(const struct paging_state *s, const struct walk_memory *m,
			     uint64_t linear, enum walk_access access, unsigned cpl)
{
	struct walk w = { s, m, linear, access, cpl, true, true, true };
	if (!(s->cr0 & CR0_PG)) {
		struct walk_result r = { 0 };
		r.ok = true;
		r.phys = (s->efer & EFER_LMA) ? linear : (uint32_t)linear;
		r.page_end = (linear & ~0xFFFull) + 0x1000;
		return r;
	}
	if (!(s->cr4 & CR4_PAE))
		return walk_legacy32(&w);
	if (!(s->efer & EFER_LMA))
		return walk_64bit_entries(&w, 2);
	return walk_64bit_entries(&w, (s->cr4 & CR4_LA57) ? 4 : 3);
}
