/*
 * insn_exit.h - shared steps of instruction-intercept handlers, vendor-neutral: decode the
 * instruction at RIP (the CPU may give no length), raise the fault the CPU would for an
 * illegal form, and re-execute when what is at RIP is not what exited.
 */
#ifndef TSX_HV_INSN_EXIT_H
#define TSX_HV_INSN_EXIT_H

#include <stdbool.h>

#include "cpu.h"
#include "insn_decode.h"

/* Decodes the instruction at RIP and checks it is `expected` (or `also`, if not
 * INSN_OTHER). Returns true with *in filled if the handler should emulate it. Otherwise the
 * outcome is already arranged: #GP for more than 15 bytes, #UD for LOCK, or a plain
 * re-execution when the bytes at RIP are no longer the instruction that exited (another
 * CPU or a DMA rewrote them, or the page went away); an instruction that keeps exiting
 * without being explainable panics with a dump. */
bool insn_exit_decode(struct cpu *c, enum insn_op expected, enum insn_op also, struct insn *in);

/* Clears the re-execution count after a handled exit. */
void insn_exit_done(struct cpu *c);

#endif
