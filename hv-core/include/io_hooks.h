/*
 * io_hooks.h - the table of hooked I/O ports (src/devices/io_hooks.c), vendor-neutral.
 * Devices hook ports at boot; the vendor code builds its I/O permission map from the table
 * (every other port passes through without an exit) and routes I/O exits to io_emulate
 * (io_emulate.h), which calls the hooks.
 */
#ifndef TSX_HV_IO_HOOKS_H
#define TSX_HV_IO_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

/* `size` is 1, 2 or 4 and the access lies inside [base, base + count); `string` is set for
 * INS/OUTS, whose data is memory, not RAX. */
struct io_hook {
	uint16_t base, count;
	uint32_t (*in)(struct cpu *c, uint16_t port, unsigned size, bool string);
	void (*out)(struct cpu *c, uint16_t port, unsigned size, uint32_t value, bool string);
};
/* Called before the first arch_cpu_init: the permission map is built once, from the table. */
void io_hook_register(const struct io_hook *hook);
const struct io_hook *io_hook_find(uint16_t port);
unsigned io_hook_count(void);
const struct io_hook *io_hook_at(unsigned index);

#endif
