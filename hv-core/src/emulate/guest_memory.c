/*
 * guest_memory.c - the hypervisor's accesses to guest memory (include/guest_memory.h).
 */
#include "guest_memory.h"
#include "hvlib.h"
#include "page_alloc.h"
#include "phys_window.h"
#include "vcpu.h"
#include "x86.h"

#define CPUID_EXT_PAGE1GB (1u << 26) /* CPUID 0x80000001 EDX */
#define DEFAULT_PHYS_BITS 36u

static uint64_t hidden_base, hidden_end, scratch;
static unsigned phys_bits = DEFAULT_PHYS_BITS;
static bool page_1g;

void guest_memory_init(uint64_t hv_base, uint64_t hv_end, uint64_t scratch_pa)
{
	hidden_base = hv_base;
	hidden_end = hv_end;
	scratch = scratch_pa;
	/* MAXPHYADDR: CPUID 0x80000008 EAX[7:0] (AMD APM vol. 3, E.4.7; SDM vol. 2A CPUID). */
	if (cpuid(0x80000000, 0).eax >= 0x80000008) {
		unsigned bits = cpuid(0x80000008, 0).eax & 0xFF;
		if (bits)
			phys_bits = bits;
	}
	page_1g = cpuid(0x80000001, 0).edx & CPUID_EXT_PAGE1GB;
}

unsigned guest_phys_bits(void)
{
	return phys_bits;
}

/* The host-physical page backing a guest-physical page, as nested paging maps it. */
static bool backing(uint64_t gpa, uint64_t *hpa)
{
	if (phys_bits < 64 && gpa >> phys_bits)
		return false;
	if (gpa >= hidden_base && gpa < hidden_end)
		*hpa = scratch | (gpa & (PAGE_SIZE - 1));
	else
		*hpa = gpa;
	return true;
}

static bool phys_copy(unsigned cpu, uint64_t gpa, void *buf, const void *src, size_t n)
{
	while (n) {
		uint64_t hpa;
		if (!backing(gpa, &hpa))
			return false;
		size_t chunk = PAGE_SIZE - (gpa & (PAGE_SIZE - 1));
		if (chunk > n)
			chunk = n;
		volatile uint8_t *p = phys_window_map(cpu, PHYS_SLOT_GUEST, hpa, 0);
		for (size_t i = 0; i < chunk; i++) {
			if (src)
				p[i] = ((const uint8_t *)src)[i];
			else
				((uint8_t *)buf)[i] = p[i];
		}
		gpa += chunk;
		n -= chunk;
		if (buf)
			buf = (uint8_t *)buf + chunk;
		if (src)
			src = (const uint8_t *)src + chunk;
	}
	return true;
}

bool guest_phys_read(unsigned cpu, uint64_t gpa, void *buf, size_t n)
{
	return phys_copy(cpu, gpa, buf, NULL, n);
}

bool guest_phys_write(unsigned cpu, uint64_t gpa, const void *buf, size_t n)
{
	return phys_copy(cpu, gpa, NULL, buf, n);
}

/* Page-walk callbacks: entries are naturally aligned, so one never crosses a page. */
static bool walk_read(void *ctx, uint64_t pa, unsigned size, uint64_t *value)
{
	struct cpu *c = ctx;
	uint64_t v = 0;
	if (!guest_phys_read(c->index, pa, &v, size))
		return false;
	*value = v;
	return true;
}

static bool walk_set_bits(void *ctx, uint64_t pa, unsigned size, uint64_t bits)
{
	struct cpu *c = ctx;
	uint64_t hpa;
	if (!backing(pa, &hpa))
		return false;
	volatile void *p = phys_window_map(c->index, PHYS_SLOT_GUEST, hpa, 0);
	/* Atomic like the CPU's own A/D update: other CPUs may write the same entry. */
	if (size == 8) {
		if ((*(volatile uint64_t *)p & bits) != bits)
			__atomic_fetch_or((uint64_t *)(uintptr_t)p, bits, __ATOMIC_SEQ_CST);
	} else {
		if ((*(volatile uint32_t *)p & (uint32_t)bits) != (uint32_t)bits)
			__atomic_fetch_or((uint32_t *)(uintptr_t)p, (uint32_t)bits, __ATOMIC_SEQ_CST);
	}
	return true;
}

static void paging_state(struct cpu *c, struct paging_state *s)
{
	vcpu_paging_state(c, s);
	s->phys_bits = phys_bits;
	s->page_1g = page_1g;
}

static enum guest_access_status linear_copy(struct cpu *c, uint64_t linear, void *buf,
					    const void *src, size_t n, enum walk_access access,
					    unsigned cpl, struct guest_fault *fault)
{
	struct paging_state s;
	paging_state(c, &s);
	struct walk_memory m = { walk_read, walk_set_bits, c };
	while (n) {
		struct walk_result r = page_walk(&s, &m, linear, access, cpl);
		if (r.bus_error)
			return GUEST_ACCESS_BUS_ERROR;
		if (!r.ok) {
			if (fault) {
				fault->linear = linear;
				fault->pf_error = r.pf_error;
			}
			return GUEST_ACCESS_PAGE_FAULT;
		}
		uint64_t in_page = PAGE_SIZE - (r.phys & (PAGE_SIZE - 1));
		size_t chunk = n < in_page ? n : (size_t)in_page;
		bool ok = src ? guest_phys_write(c->index, r.phys, src, chunk)
			      : guest_phys_read(c->index, r.phys, buf, chunk);
		if (!ok)
			return GUEST_ACCESS_BUS_ERROR;
		linear += chunk;
		n -= chunk;
		if (buf)
			buf = (uint8_t *)buf + chunk;
		if (src)
			src = (const uint8_t *)src + chunk;
	}
	return GUEST_ACCESS_OK;
}

enum guest_access_status guest_linear_read(struct cpu *c, uint64_t linear, void *buf, size_t n,
					   enum walk_access access, unsigned cpl,
					   struct guest_fault *fault)
{
	return linear_copy(c, linear, buf, NULL, n, access, cpl, fault);
}

enum guest_access_status guest_linear_write(struct cpu *c, uint64_t linear, const void *buf,
					    size_t n, unsigned cpl, struct guest_fault *fault)
{
	return linear_copy(c, linear, NULL, buf, n, WALK_WRITE, cpl, fault);
}

unsigned guest_fetch_instruction(struct cpu *c, uint8_t bytes[INSN_MAX_LENGTH])
{
	struct vcpu_segment cs;
	vcpu_get_segment(c, SEG_CS, &cs);
	unsigned bits = vcpu_code_bits(c);
	uint64_t rip = vcpu_rip(c);
	unsigned cpl = vcpu_cpl(c);
	unsigned got = 0;
	/* The instruction may straddle a page, and the second page may have gone since the
	 * CPU fetched it: read page by page and keep what could be read. Outside 64-bit code
	 * the linear address wraps at 4 GiB (and the offset at 64 KiB in 16-bit code, where
	 * bytes are read one at a time). */
	while (got < INSN_MAX_LENGTH) {
		uint64_t offset = rip + got;
		if (bits == 16)
			offset &= 0xFFFF;
		uint64_t linear = bits == 64 ? offset : (uint32_t)(cs.base + offset);
		unsigned chunk = INSN_MAX_LENGTH - got;
		unsigned to_page_end = PAGE_SIZE - (unsigned)(linear & (PAGE_SIZE - 1));
		if (chunk > to_page_end)
			chunk = to_page_end;
		if (bits != 64 && chunk > 1)
			chunk = 1;
		if (guest_linear_read(c, linear, &bytes[got], chunk, WALK_FETCH, cpl, NULL) != GUEST_ACCESS_OK)
			break;
		got += chunk;
	}
	return got;
}

enum insn_status guest_decode_instruction(struct cpu *c, struct insn *in)
{
	uint8_t bytes[INSN_MAX_LENGTH];
	unsigned n = guest_fetch_instruction(c, bytes);
	return insn_decode(bytes, n, vcpu_code_bits(c), in);
}
