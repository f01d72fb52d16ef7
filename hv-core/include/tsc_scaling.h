/*
 * tsc_scaling.h - the zero-exit clock: where the CPU scales the TSC in hardware (VMX "use
 * TSC scaling" with TSC offsetting), the guest reads vtime's timeline with no exit at all.
 * For the newest epoch (u, g, R) and a CPU with reference offset o and adjust a, multiplier
 * R << 16 (48 fraction bits) and offset g + a - ((u - o) * R >> 32) give the guest
 * ((raw * R) >> 32) + offset, vtime's own value or one more (vtime_linear).
 *
 * A CPU reads the TSC in one of three ways, chosen before every VM entry:
 *   raw     the clock is not virtualised yet: the real TSC, no exits
 *   scaled  multiplier and offset from the newest epoch, no exits. A CPU that can only offset
 *           the TSC (SVM: QEMU TCG and most AMD parts have no TSC ratio MSR in use here) takes
 *           this path while the newest epoch runs at exactly 1x: the multiplier is then 1 and
 *           the offset alone (VMCB TSC_OFFSET, APM vol. 2, 15.30.5) gives vtime's value exactly.
 *           So an armed guest at 1x - an installed OS whose agent armed it during boot - reads
 *           its clock without exits until the first speed change.
 *   trapped RDTSC/RDTSCP exit and read vtime (SVM at any speed but 1x; VMX while a writer
 *           changes the timeline, when the newest epoch has not started yet, or with
 *           tsc-scaling=off)
 *
 * A speed change never lets a CPU run on stale parameters past the new epoch's start: the
 * writer (tsc_scaling_begin) first makes every CPU that reads the TSC without exits leave
 * guest mode (the hypervisor's NMI kick) and waits until each has taken the kick; while the
 * change is in progress every entry is trapped, so vtime answers; after the publication
 * (tsc_scaling_end) each CPU goes back to scaling with the new epoch at its next entry.
 * Leaving scaling for trapping, a CPU keeps the last value the guest could have read as a
 * floor for its trapped reads (the linear form is up to one tick ahead), so no read steps back.
 */
#ifndef TSX_HV_TSC_SCALING_H
#define TSX_HV_TSC_SCALING_H

#include <stdbool.h>
#include <stdint.h>

struct cpu;

enum tsc_path {
	TSC_PATH_HOST = 0, /* not in guest mode */
	TSC_PATH_TRAPPED,
	TSC_PATH_RAW,
	TSC_PATH_SCALED,
};

/* tsc-scaling=off on the hypervisor command line: always trap (measurements, fallback). */
void tsc_scaling_configure(bool allowed);
bool tsc_scaling_allowed(void);

/* Writers of the timeline (guest_time.c) bracket every vtime publication with these. */
void tsc_scaling_begin(void);
void tsc_scaling_end(void);

/* What the CPU's virtualisation can do to the guest's TSC without exits. */
enum tsc_hw {
	TSC_HW_NONE = 0,   /* trap whenever the clock is virtualised */
	TSC_HW_OFFSET, /* add an offset only: the scaled path at exactly 1x */
	TSC_HW_SCALE,      /* multiply and offset: the scaled path at any speed */
};

/* The path CPU c takes for its next entry and, for TSC_PATH_SCALED, the multiplier (48
 * fraction bits; 1 << 48 under TSC_HW_OFFSET) and offset to program. Publishes the path for
 * writers before deciding (call it last before entering). */
enum tsc_path tsc_scaling_choose(struct cpu *c, enum tsc_hw hw, uint64_t *multiplier,
				 uint64_t *offset);
/* Whether the epoch rate `rate` (vtime's 32 fraction bits) can run without exits on `hw`. */
bool tsc_scaling_rate_ok(enum tsc_hw hw, uint64_t rate);
/* Back in the hypervisor after an exit: the CPU no longer reads the TSC without exits. */
void tsc_scaling_exited(struct cpu *c);

/* The guest TSC for an intercepted read on CPU c at raw real TSC `real`: vtime's value, never
 * below what the guest may have read on this CPU while it was scaled. */
uint64_t tsc_scaling_guest_read(struct cpu *c, uint64_t real);

const char *tsc_path_name(enum tsc_path p);

#endif
