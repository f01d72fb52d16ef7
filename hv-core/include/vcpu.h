/*
 * vcpu.h - the one small interface through which generic code (policies, time, control,
 * hypercalls) acts on the guest CPU. Implemented per vendor (src/arch/svm/vcpu.c).
 */
#ifndef TSX_HV_VCPU_H
#define TSX_HV_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

#define X86_VECTOR_UD 6
#define X86_VECTOR_GP 13

uint64_t vcpu_rip(struct cpu *c);
/* Moves RIP past the intercepted instruction of `length` bytes. */
void vcpu_skip_instruction(struct cpu *c, unsigned length);
void vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error);
/* Reads guest memory at a guest-virtual address of the current guest context (walks the
 * guest's page tables). Returns 0, or -1 if a page is not present. */
int vcpu_read_virtual(struct cpu *c, uint64_t va, void *buf, size_t n);

/* Initial register state for a 64-bit entry (Linux boot protocol, "64-bit Boot Protocol"). */
struct vcpu_long_mode_entry {
	uint64_t rip, rsp, rsi;
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint16_t code_selector, data_selector;
};
void vcpu_set_long_mode_entry(struct cpu *c, const struct vcpu_long_mode_entry *e);

/* I/O port intercepts: generic devices hook ports; the vendor code routes exits to them. */
struct io_hook {
	uint16_t base, count;
	uint32_t (*in)(uint16_t port, unsigned size);
	void (*out)(uint16_t port, unsigned size, uint32_t value);
};
void io_hook_register(const struct io_hook *hook);
const struct io_hook *io_hook_find(uint16_t port);
unsigned io_hook_count(void);
const struct io_hook *io_hook_at(unsigned index);

#endif
