/* page_alloc.h - zeroed 4 KiB pages from the hypervisor's reserved heap (never freed). */
#ifndef TSX_HV_PAGE_ALLOC_H
#define TSX_HV_PAGE_ALLOC_H

#include <stdint.h>

#define PAGE_SIZE 4096u

/* `count` contiguous zeroed pages, identity mapped (virtual == physical); panics when the
 * heap is exhausted. */
void *page_alloc(unsigned count);
uint64_t page_alloc_used(void);
/* Bytes still free in the heap. */
uint64_t page_alloc_available(void);

static inline uint64_t virt_to_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}
static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

#endif
