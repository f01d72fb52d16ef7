/*
 * io_emulate.h - the outcome of a guest IN/OUT/INS/OUTS that touches at least one hooked
 * port (the I/O permission map makes the CPU exit when any byte of the access is hooked):
 * hooked bytes go to their hook, the others to the real port, RAX is merged as the CPU
 * would (a 32-bit IN zeroes RAX[63:32], 8/16-bit INs keep the rest), and string forms move
 * memory through the guest's own segments and page tables, raising #GP/#SS/#PF where the
 * CPU would. Vendor-neutral: the vendor code fills struct io_exit from its exit data.
 */
#ifndef TSX_HV_IO_EMULATE_H
#define TSX_HV_IO_EMULATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

struct io_exit {
	uint16_t port;
	unsigned size;     /* 1, 2 or 4 */
	bool in;
	bool string;
	bool rep;
	uint64_t next_rip; /* RIP after the instruction (the CPU reports it for I/O exits) */
};

void io_emulate(struct cpu *c, const struct io_exit *x);

/* One port access through the hooks (pass-through for unhooked bytes); used by io_emulate
 * and exposed for tests of whole-range behaviour. */
uint32_t io_port_read(struct cpu *c, uint16_t port, unsigned size, bool string);
void io_port_write(struct cpu *c, uint16_t port, unsigned size, uint32_t value, bool string);

#endif
