/*
 * guest_memory.h - guest memory as the guest sees it, for the hypervisor's own accesses on
 * the guest's behalf (instruction fetch, string I/O, page walks).
 *
 * Guest-physical addresses are host-physical (nested paging is an identity map) except the
 * hypervisor's region, which nested paging maps to one scratch page: accesses there reach
 * the scratch page here too, so no guest page table or string instruction can make the
 * hypervisor read or write its own memory. Guest-linear accesses walk the guest's page
 * tables (page_walk.h) in whatever paging mode the guest is in and report the fault the CPU
 * would raise; the caller injects it.
 */
#ifndef TSX_HV_GUEST_MEMORY_H
#define TSX_HV_GUEST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "insn_decode.h"
#include "page_walk.h"

void guest_memory_init(uint64_t hv_base, uint64_t hv_end, uint64_t scratch_pa);
unsigned guest_phys_bits(void);

bool guest_phys_read(unsigned cpu, uint64_t gpa, void *buf, size_t n);
bool guest_phys_write(unsigned cpu, uint64_t gpa, const void *buf, size_t n);

/* The outcome of a guest-linear access. */
enum guest_access_status {
	GUEST_ACCESS_OK,
	GUEST_ACCESS_PAGE_FAULT,  /* *fault_linear and *pf_error say which #PF to raise */
	GUEST_ACCESS_BUS_ERROR,   /* a page table lies outside the physical address space */
};

struct guest_fault {
	uint64_t linear;
	uint32_t pf_error;
};

/* Reads or writes n bytes at a guest-linear address with the guest's current paging state
 * and the given privilege level; stops at the first faulting page. */
enum guest_access_status guest_linear_read(struct cpu *c, uint64_t linear, void *buf, size_t n,
					   enum walk_access access, unsigned cpl,
					   struct guest_fault *fault);
enum guest_access_status guest_linear_write(struct cpu *c, uint64_t linear, const void *buf,
					    size_t n, unsigned cpl, struct guest_fault *fault);

/* Fetches up to 15 bytes at CS:RIP as the CPU fetched them; returns how many could be read
 * (fewer if a later page is not mapped any more). */
unsigned guest_fetch_instruction(struct cpu *c, uint8_t bytes[INSN_MAX_LENGTH]);

/* Fetches and decodes the instruction at CS:RIP. */
enum insn_status guest_decode_instruction(struct cpu *c, struct insn *in);

#endif
