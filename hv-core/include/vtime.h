/*
 * vtime.h - the virtual-time core: turns a real TSC value into the virtual TSC a guest sees.
 *
 * One virtual timeline for the whole machine:
 *
 *     fake(v) = g + ((v - u) * R) >> 32        R = speed in 32.32 fixed point
 *
 * where v is the *reference* real TSC (a CPU's raw TSC plus its per-CPU offset) and (u, g, R)
 * is an epoch. The guest TSC of CPU k is fake(real_k + offset_k) + adjust_k, where adjust_k
 * is the CPU's IA32_TSC_ADJUST value (guest writes to IA32_TSC and IA32_TSC_ADJUST both move
 * it, Intel SDM vol. 3B, 17.17.3).
 *
 * Pure C, freestanding: only the compiler's own headers, no allocation, no division and no
 * lock on the read path, no floating point. The caller owns the memory of struct vtime_clock
 * (static allocation is the intended use). Design, invariants and proofs:
 * docs/design/vtime.md.
 *
 * Concurrency: readers (vtime_read, vtime_to_virtual, vtime_to_real, vtime_get_state) never
 * take a lock; they retry if a writer published meanwhile and wait out a publication in
 * progress (a few dozen instructions). Writers (vtime_set_speed, vtime_arm,
 * vtime_set_publish_lead, vtime_set_time_source) serialise among themselves with an internal
 * spin lock. vtime_write_tsc / vtime_write_tsc_adjust / vtime_set_cpu_offset change per-CPU
 * state and must be called on (or on behalf of) that CPU only, with no concurrent vtime_read
 * for the same CPU; vtime_init must complete before any other call.
 *
 * Monotonic across CPUs (docs/design/vtime.md, M2) needs the real TSC a reader passes to have
 * been read before the call (RDTSCP, or RDTSC followed by LFENCE), and a writer's epoch start
 * not to precede any real TSC a reader finished with under the old epoch: install a time
 * source (vtime_set_time_source: the clock then reads the time itself inside the publication)
 * or a publish lead longer than a writer's real_now-to-publication delay.
 *
 * Time arguments named real_now are reference real TSC values (vtime_reference() converts a
 * CPU's raw TSC). Arguments named real_tsc are a CPU's raw TSC; the function adds the offset.
 */
#ifndef TSX_HV_VTIME_H
#define TSX_HV_VTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VTIME_MAX_CPUS 64u
/* Epochs kept for readers whose real TSC predates the newest epoch (power of two, >= 4;
 * host tests also build with 4, the most exposed size). */
#ifndef VTIME_RING
#define VTIME_RING 8u
#endif
#define VTIME_FRAC_BITS 32u
#define VTIME_RATE_ONE ((uint64_t)1 << VTIME_FRAC_BITS)

/* Accepted speeds p/q: VTIME_SPEED_MIN_DEN^-1 .. VTIME_SPEED_MAX inclusive (1/1000x .. 10000x). */
#define VTIME_SPEED_MIN_DEN 1000u
#define VTIME_SPEED_MAX 10000u

enum vtime_err {
	VTIME_OK = 0,
	VTIME_EINVAL = -1, /* bad CPU index or count, zero numerator or denominator */
	VTIME_ERANGE = -2, /* speed outside 1/1000 .. 10000 */
};

/* One segment of the timeline: from reference real TSC u on, fake(v) = g + ((v-u)*rate)>>32. */
struct vtime_epoch {
	uint64_t u;
	uint64_t g;
	uint64_t rate;
	uint64_t p, q; /* the speed as requested, for status reports */
};

struct vtime_cpu {
	int64_t offset; /* reference = raw real TSC + offset */
	int64_t adjust; /* guest IA32_TSC_ADJUST: added to the timeline for this CPU */
};

struct vtime_clock {
	/* 2 * (epochs published) when stable, odd while a writer publishes (sequence lock). */
	uint64_t seq;
	struct vtime_epoch ring[VTIME_RING]; /* epoch n lives in ring[n % VTIME_RING] */
	struct vtime_cpu cpu[VTIME_MAX_CPUS];
	/* Pending speed and armed flag change under this second sequence count (odd while a
	 * writer changes them), so vtime_get_state reports a consistent pair. */
	uint64_t config_seq;
	uint64_t pending_p, pending_q; /* speed requested before arming (1/1 when none) */
	uint64_t publish_lead;         /* new epochs start this many ticks after real_now */
	uint64_t (*time_source)(void); /* reference real TSC, read inside publications (or NULL) */
	uint32_t cpus;
	uint32_t writer_lock;
	bool armed;
};

struct vtime_state {
	uint64_t p, q;                 /* speed in effect now (1/1 until armed) */
	uint64_t pending_p, pending_q; /* speed that arming will apply */
	uint64_t rate;                 /* R of the newest epoch, 32.32 fixed point */
	uint64_t epoch_count;          /* epochs published since vtime_init (>= 1) */
	bool armed;
	uint64_t epoch_u, epoch_g;     /* start of the newest epoch: reference real TSC, fake TSC */
	uint64_t publish_lead;
	unsigned cpus;
};

/* Starts the timeline at 1x with fake(real_now) = real_now, unarmed, all offsets zero. */
int vtime_init(struct vtime_clock *c, unsigned cpus, uint64_t real_now);

/* Speed p/q. Before arming it is only remembered (the clock stays 1x); after arming a new
 * epoch starts at max(t + publish_lead, newest epoch start), t = real_now or, with a time
 * source, the later of real_now and the source's reading. VTIME_EINVAL if p or q is zero,
 * VTIME_ERANGE if p/q is outside 1/1000 .. 10000; nothing changes on error. */
int vtime_set_speed(struct vtime_clock *c, uint64_t real_now, uint64_t p, uint64_t q);

/* Arms the clock: the pending speed takes effect (new epoch as in vtime_set_speed). Arming
 * an armed clock is a no-op returning VTIME_OK. */
int vtime_arm(struct vtime_clock *c, uint64_t real_now);
bool vtime_armed(const struct vtime_clock *c);

/* Delay (reference ticks) between a writer's real_now and the start of the epoch it
 * publishes. Without a time source it must exceed the longest time between a writer reading
 * real_now and its publication, so that no reader that finished with the old epoch holds a
 * real TSC the new epoch would cover (docs/design/vtime.md, invariant M2). Default 0. */
void vtime_set_publish_lead(struct vtime_clock *c, uint64_t ticks);

/* A function returning the current reference real TSC, called by writers after they have
 * announced a publication (sequence count odd, full fence): the epoch then starts at
 * max(real_now, now()) + publish_lead, so no reader can have finished with the old epoch at a
 * later real TSC (invariant M2, exact). In hv-core: MFENCE; LFENCE; RDTSC plus the calling
 * CPU's offset (Intel SDM vol. 2B, RDTSC: "MFENCE; LFENCE" orders it after earlier stores).
 * NULL removes it. */
void vtime_set_time_source(struct vtime_clock *c, uint64_t (*now)(void));

/* The RDTSC path: virtual TSC of `cpu` at its raw real TSC `real_tsc`. `cpu` must be below
 * the count given to vtime_init (it is masked to VTIME_MAX_CPUS, never out of bounds). */
uint64_t vtime_read(const struct vtime_clock *c, unsigned cpu, uint64_t real_tsc);

/* Same as vtime_read: virtual TSC at a raw real TSC of `cpu`. */
uint64_t vtime_to_virtual(const struct vtime_clock *c, unsigned cpu, uint64_t real_tsc);

/* Smallest raw real TSC of `cpu` at which vtime_read(cpu, .) >= virtual_deadline under the
 * epochs published now: a timer armed there never fires early in virtual time. Deadlines
 * already reached give a real TSC at or before the newest epoch start; deadlines more than
 * 2^63 real ticks ahead give the newest epoch start + 2^63 - 1. Timers must be re-translated
 * after a speed change. */
uint64_t vtime_to_real(const struct vtime_clock *c, unsigned cpu, uint64_t virtual_deadline);

/* Reference real TSC for a raw TSC of `cpu` (raw + offset). */
uint64_t vtime_reference(const struct vtime_clock *c, unsigned cpu, uint64_t real_tsc);

/* The newest epoch as one linear map of `cpu`'s raw TSC, the form hardware TSC scaling
 * computes (VMX "use TSC scaling": ((raw * multiplier) >> 48) + offset, Intel SDM vol. 3C,
 * 25.3 "Changes to Instruction Behavior in VMX Non-Root Operation"): for every raw TSC from
 * the epoch's start on, ((raw * *rate) >> 32) + *offset is vtime_read()'s value or one more
 * (the product's fraction at the start is not carried; docs/design/vtime.md). False, with
 * nothing written, while a writer publishes or when raw real_tsc precedes the newest epoch's
 * start (a publication with a lead: the previous epoch still applies). */
bool vtime_linear(const struct vtime_clock *c, unsigned cpu, uint64_t real_tsc, uint64_t *rate,
		  uint64_t *offset);

/* Per-CPU real-TSC skew: reference = raw + real_offset. VTIME_EINVAL for a bad cpu. */
int vtime_set_cpu_offset(struct vtime_clock *c, unsigned cpu, int64_t real_offset);

/* Guest WRMSR IA32_TSC on `cpu` at raw real TSC real_tsc: from then on the CPU reads `value`
 * at real_tsc; IA32_TSC_ADJUST moves by the same amount (Intel SDM vol. 3B, 17.17.3). */
int vtime_write_tsc(struct vtime_clock *c, unsigned cpu, uint64_t real_tsc, uint64_t value);

/* Guest WRMSR IA32_TSC_ADJUST: the CPU's TSC moves by (value - old adjust). */
int vtime_write_tsc_adjust(struct vtime_clock *c, unsigned cpu, int64_t value);

/* Guest RDMSR IA32_TSC_ADJUST (0 for a bad cpu). */
int64_t vtime_read_tsc_adjust(const struct vtime_clock *c, unsigned cpu);

void vtime_get_state(const struct vtime_clock *c, struct vtime_state *out);

#endif
