/*
 * fake_cpu.h - the instructions the hypervisor executes on the CPU (include/x86.h: CPUID,
 * RDTSC, RDMSR/WRMSR, IN/OUT), redirected to a fake CPU for host tests of code that uses
 * them (hv_exits_test.c). Force-included (-include) before every source of such a test, so
 * the real x86.h is read first (constants, struct cpuid_regs) and every later call to a
 * wrapper names the fake instead; the fake's state is in fake_vcpu.c.
 */
#ifndef TSX_HV_TESTS_FAKE_CPU_H
#define TSX_HV_TESTS_FAKE_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "x86.h"

#define cpuid fake_cpuid
#define rdtsc fake_rdtsc
#define rdmsr fake_rdmsr
#define wrmsr fake_wrmsr
#define inb fake_inb
#define inw fake_inw
#define inl fake_inl
#define outb fake_outb
#define outw fake_outw
#define outl fake_outl

struct cpuid_regs fake_cpuid(uint32_t leaf, uint32_t subleaf);
uint64_t fake_rdtsc(void);
uint64_t fake_rdmsr(uint32_t msr);
void fake_wrmsr(uint32_t msr, uint64_t value);
uint8_t fake_inb(uint16_t port);
uint16_t fake_inw(uint16_t port);
uint32_t fake_inl(uint16_t port);
void fake_outb(uint16_t port, uint8_t value);
void fake_outw(uint16_t port, uint16_t value);
void fake_outl(uint16_t port, uint32_t value);

#endif
