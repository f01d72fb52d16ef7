/*
 * smp.h - every CPU under the hypervisor: the CPUs are found in the ACPI MADT, the boot CPU
 * starts each AP itself (INIT-SIPI-SIPI to a trampoline in a page the guest's memory map
 * marks reserved) before the guest runs, each AP virtualises itself and then waits, in guest
 * terms, as a CPU that has not been started (wait-for-SIPI) until the guest starts it with
 * its own INIT-SIPI-SIPI, which the hypervisor emulates (apic_ipi.c).
 */
#ifndef TSX_HV_SMP_H
#define TSX_HV_SMP_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* The trampoline's page (below 1 MiB, page aligned: SIPI vector page >> 12): SMP_TRAMPOLINE_PAGE,
 * or under UEFI chain boot whichever page the firmware gave (smp_set_trampoline_page). */
#define SMP_TRAMPOLINE_PAGE 0x1A000ull
uint64_t smp_trampoline_page(void);
void smp_set_trampoline_page(uint64_t page);

/* Registers the CPUs the MADT lists (the boot CPU is already cpu 0). Returns how many CPUs
 * there are in all. `rsdp` is the multiboot2 copy of the RSDP. */
unsigned smp_discover(const uint8_t *rsdp, size_t rsdp_len);
/* Starts every AP and waits until each has virtualised itself (or timed out: it is then
 * reported and stays offline). Measures each AP's TSC offset against the boot CPU. */
void smp_start_aps(uint64_t npt_root);
/* This CPU's guest life, forever: run while RUNNING, park while WAIT_FOR_SIPI. */
__attribute__((noreturn)) void vcpu_loop(struct cpu *c);

#endif
