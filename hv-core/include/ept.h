/*
 * ept.h - memory types for the EPT identity map (Intel SDM vol. 3C, 28.3.7 "EPT and Memory
 * Typing"). Unlike AMD nested paging, where the CPU combines the nested entry's type with
 * the MTRRs (APM vol. 2, 15.25.8), an EPT entry's memory type replaces the MTRRs for guest
 * accesses: the guest's own MTRRs are ignored. So each EPT leaf carries the type the MTRRs
 * give its range on this machine (MMIO UC, RAM WB), and the guest's PAT still combines with
 * it (IPAT = 0) as it would with the MTRRs on bare metal (vol. 3A, 11.5.2.2).
 * Pure: the caller reads the MTRR MSRs; unit-tested on the host (tests/hv_vmx_test.c).
 */
#ifndef TSX_HV_EPT_H
#define TSX_HV_EPT_H

#include <stdbool.h>
#include <stdint.h>

#include "npt.h"

/* Memory types (SDM vol. 3A, table 11-8 "Memory Types That Can Be Encoded in MTRRs"), the
 * same encodings as EPT's memory-type field. */
#define MTRR_TYPE_UC 0
#define MTRR_TYPE_WC 1
#define MTRR_TYPE_WT 4
#define MTRR_TYPE_WP 5
#define MTRR_TYPE_WB 6

#define MTRR_MAX_VARIABLE 32
#define MTRR_FIXED_RANGES 88 /* 8 x 64 KiB, 16 x 16 KiB, 64 x 4 KiB: the first MiB */

/* The MTRR MSRs as read (vol. 3A, 11.11.2 "Setting Memory Ranges with MTRRs"). */
struct mtrr_state {
	uint64_t def_type;   /* IA32_MTRR_DEF_TYPE: type[7:0], FE[10], E[11] */
	bool fixed_supported; /* IA32_MTRRCAP.FIX */
	uint8_t fixed[MTRR_FIXED_RANGES]; /* one type per fixed range, in address order */
	unsigned variable_count;          /* IA32_MTRRCAP.VCNT (at most MTRR_MAX_VARIABLE) */
	uint64_t phys_base[MTRR_MAX_VARIABLE], phys_mask[MTRR_MAX_VARIABLE];
	unsigned phys_bits;  /* MAXPHYADDR */
};

/* The memory type of [base, base + size) (size a power of two >= 4 KiB, base aligned to
 * it), or -1 if the MTRRs give parts of it different types (the EPT leaf must be split). */
int mtrr_range_type(const struct mtrr_state *m, uint64_t base, uint64_t size);

/* EPT entries (SDM vol. 3C, 28.3.2, tables 28-1..28-6): read, write, execute in bits 2:0,
 * the leaf's memory type in bits 5:3, PS in bit 7. npt_build's table entries (P|RW|US) and
 * leaves (P|RW|US|PS, type field 0) have exactly that layout, so the identity map is built
 * once (npt.c) and its leaves then get their types here. */
#define EPT_READ (1ull << 0)
#define EPT_WRITE (1ull << 1)
#define EPT_EXECUTE (1ull << 2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXECUTE)
#define EPT_TYPE_SHIFT 3
#define EPT_TYPE_MASK (7ull << EPT_TYPE_SHIFT)
#define EPT_PS (1ull << 7)
#define EPT_ADDRESS 0x000FFFFFFFFFF000ull

/* Gives every leaf of the map [0, limit) under `root` its MTRR type, splitting 1 GiB and
 * 2 MiB leaves whose range is not uniform (the first MiB with fixed MTRRs down to 4 KiB).
 * Returns 0, or -1 when alloc_page fails. */
int ept_apply_memory_types(uint64_t root, uint64_t limit, const struct mtrr_state *m,
			   void *(*alloc_page)(void));

/* Like npt_set_access, for EPT: none (every access exits with an EPT violation), read only,
 * or read/write/execute; the page's memory type is kept, splits keep their parent's type.
 * Returns 0, or -1 if the page is not identity-mapped or an allocation failed. */
int ept_set_access(uint64_t root, uint64_t gpa, enum npt_access access, void *(*alloc_page)(void));

#endif
