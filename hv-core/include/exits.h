/*
 * exits.h - the exit handlers, written once for every vendor (src/core/exits.c). The vendor
 * code (src/arch/svm/exit.c; a VT-x backend likewise) turns its exit code and exit
 * information into one of these calls and keeps only what is its own: the world switch,
 * event re-injection, and the exits that exist only there (SVM's GIF handling of NMIs and
 * SMIs). The handlers act on the guest through vcpu.h and c->regs, which the vendor code
 * keeps as the one register file (RAX and RSP are mirrored there around every exit).
 * Every handler gives the guest the instruction's result or the fault the CPU would raise;
 * none of them panics on anything a guest can cause.
 */
#ifndef TSX_HV_EXITS_H
#define TSX_HV_EXITS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "insn_decode.h"
#include "io_emulate.h"

/* One more exit of this kind in the statistics status reports. */
void exit_count(struct cpu *c, enum exit_kind kind);

/* CPUID: the guest's view (cpuid_policy.c) of leaf EAX, subleaf ECX. */
void exit_cpuid(struct cpu *c);
/* RDTSC or RDTSCP: EDX:EAX from vtime (and ECX = TSC_AUX for RDTSCP). `reported_rdtscp` is
 * what the exit said; without a CPU-reported length the bytes at RIP decide. */
void exit_rdtsc(struct cpu *c, bool reported_rdtscp);
/* RDMSR or WRMSR of MSR ECX through msr_policy.c; a refused access is #GP(0). */
void exit_msr(struct cpu *c, bool write);
/* IN/OUT/INS/OUTS touching a hooked port, described by the vendor's exit information. */
void exit_io(struct cpu *c, const struct io_exit *x);
/* HLT: idles until the guest has something to do (idle.c). */
void exit_hlt(struct cpu *c);
/* The vendor's hypercall instruction (INSN_VMMCALL on AMD, INSN_VMCALL on Intel): handled
 * at CPL 0 (hypercall.c), #UD elsewhere and without the magic. */
void exit_hypercall(struct cpu *c, enum insn_op instruction);

/* How the guest touched the page of a nested page fault (AMD NPF EXITINFO1, Intel EPT
 * violation exit qualification): an instruction fetch, or the CPU's walk of the guest's
 * own page tables. */
#define EXIT_NPF_FETCH (1u << 0)
#define EXIT_NPF_TABLE_WALK (1u << 1)
/* A nested page fault at gpa: the trapped local-APIC page is emulated (apic_page.c).
 * Returns false for any other address: nothing else is ever unmapped, so the vendor code
 * panics with the fault decoded. */
bool exit_nested_page_fault(struct cpu *c, uint64_t gpa, unsigned access);
/* Guest triple fault: logged with the guest state, then the on-shutdown action. */
__attribute__((noreturn)) void exit_shutdown(struct cpu *c);

/* Run-loop bookkeeping around the world switch. exit_before_entry is called last before
 * entering the guest, with what the exit being left was (HLT exits spend their time idle and
 * are not timed; RDTSC/RDTSCP exits are timed separately as well); exit_started first after
 * the exit; exit_finished after its handler (the control port is polled there). */
void exit_before_entry(struct cpu *c, bool left_hlt, bool left_tsc_read);
void exit_started(struct cpu *c);
void exit_finished(struct cpu *c);

#endif
