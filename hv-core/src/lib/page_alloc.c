/* page_alloc.c - bump allocator over [hv_heap_start, hv_heap_end) (linker.ld). */
#include "page_alloc.h"
#include "boot.h"
#include "hvlib.h"
#include "log.h"
#include "spinlock.h"

static uint64_t next;
static struct spinlock lock;

void *page_alloc(unsigned count)
{
	spin_lock(&lock);
	if (!next)
		next = (uint64_t)hv_heap_start;
	uint64_t size = (uint64_t)count * PAGE_SIZE;
	if (next + size > (uint64_t)hv_heap_end) {
		spin_unlock(&lock);
		hv_panic("page allocator exhausted (%u pages requested)", count);
	}
	void *p = phys_to_virt(next);
	next += size;
	spin_unlock(&lock);
	memset(p, 0, size);
	return p;
}

uint64_t page_alloc_used(void)
{
	return next ? next - (uint64_t)hv_heap_start : 0;
}

uint64_t page_alloc_available(void)
{
	return (uint64_t)hv_heap_end - (next ? next : (uint64_t)hv_heap_start);
}
