/*
 * spinlock.h - the hypervisor's one lock: a test-and-test-and-set spin lock for state shared
 * between CPUs (log, control port, page allocator, hotkeys). The hypervisor never takes
 * interrupts, so a holder is never preempted; critical sections are short.
 */
#ifndef TSX_HV_SPINLOCK_H
#define TSX_HV_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;
};

static inline bool spin_trylock(struct spinlock *l)
{
	return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_lock(struct spinlock *l)
{
	while (!spin_trylock(l))
		while (l->locked)
			__asm__ volatile("pause");
}

/* Spins at most `spins` times; false if the lock stayed taken (a panic path that must not
 * wait forever on a CPU that died holding the lock). */
static inline bool spin_lock_bounded(struct spinlock *l, unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++) {
		if (spin_trylock(l))
			return true;
		__asm__ volatile("pause");
	}
	return false;
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
