/*
 * fake_vcpu.c - the test double of fake_vcpu.h: include/vcpu.h, include/arch.h and the guest
 * memory reads of the exit layer on plain structs, and the fake physical CPU behind the
 * instruction wrappers (fake_cpu.h). Segments are flat, memory is not paged: only what the
 * exit handlers under test reach is modelled; anything else aborts the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vcpu.h"
#include "arch.h"
#include "guest_memory.h"
#include "vcpu.h"

struct fake_cpu fake_cpu;

static struct fake_guest *guest(struct cpu *c)
{
	return (struct fake_guest *)c->vmcb;
}

void fake_vcpu_reset(struct cpu *c, struct fake_guest *g)
{
	memset(c, 0, sizeof(*c));
	memset(g, 0, sizeof(*g));
	c->self = c;
	c->vmcb = g;
	c->reexec_rip = ~0ull;
	g->rip = 0x1000;
	g->rflags = 0x2;
	g->code_bits = 64;
	g->cr0 = 0x80000011; /* PG, ET, PE */
	g->efer = 0x500;     /* LME, LMA */
}

void fake_vcpu_set_code(struct fake_guest *g, const uint8_t *bytes, unsigned n)
{
	memcpy(g->code, bytes, n);
	g->code_length = n;
}

/* ---- include/vcpu.h ---- */

uint64_t vcpu_rip(struct cpu *c)
{
	return guest(c)->rip;
}

void vcpu_set_rip(struct cpu *c, uint64_t rip)
{
	guest(c)->rip = rip;
}

void vcpu_inject_single_step(struct cpu *c)
{
	vcpu_inject_exception(c, 1, false, 0);
}

uint64_t vcpu_rflags(struct cpu *c)
{
	return guest(c)->rflags;
}

unsigned vcpu_cpl(struct cpu *c)
{
	return guest(c)->cpl;
}

unsigned vcpu_code_bits(struct cpu *c)
{
	return guest(c)->code_bits;
}

void vcpu_get_segment(struct cpu *c, enum x86_segment seg, struct vcpu_segment *out)
{
	(void)c;
	(void)seg;
	memset(out, 0, sizeof(*out));
	out->limit = 0xFFFFFFFF;
	out->type = 3; /* read/write data, accessed */
	out->s = out->present = out->db = out->g = true;
}

void vcpu_paging_state(struct cpu *c, struct paging_state *p)
{
	memset(p, 0, sizeof(*p));
	p->cr0 = guest(c)->cr0;
	p->efer = guest(c)->efer;
}

uint64_t vcpu_efer(struct cpu *c)
{
	return guest(c)->efer;
}

void vcpu_set_efer(struct cpu *c, uint64_t efer)
{
	guest(c)->efer = efer;
}

bool vcpu_exit_insn_length(struct cpu *c, unsigned *length)
{
	if (!guest(c)->reported_length)
		return false;
	*length = guest(c)->reported_length;
	return true;
}

/* The decoded (or CPU-reported) length as given: the wrap at 16/32-bit code is the vendor
 * code's business, not the exit layer's. */
void vcpu_skip_instruction(struct cpu *c, unsigned length)
{
	guest(c)->rip += length;
}

void vcpu_inject_exception(struct cpu *c, uint8_t vector, bool has_error, uint32_t error)
{
	guest(c)->event = (struct fake_event){ true, vector, has_error, error };
}

void vcpu_inject_page_fault(struct cpu *c, uint64_t linear, uint32_t error)
{
	(void)linear;
	vcpu_inject_exception(c, X86_VECTOR_PF, true, error);
}

/* ---- include/arch.h ---- */

void arch_dump_guest(struct cpu *c)
{
	guest(c)->dumps++;
}

bool arch_msr_is_private(uint32_t msr)
{
	return msr >= FAKE_PRIVATE_MSR_FIRST && msr <= FAKE_PRIVATE_MSR_LAST;
}

/* ---- include/guest_memory.h: the bytes at RIP; no other guest memory ---- */

unsigned guest_fetch_instruction(struct cpu *c, uint8_t bytes[INSN_MAX_LENGTH])
{
	memcpy(bytes, guest(c)->code, guest(c)->code_length);
	return guest(c)->code_length;
}

enum guest_access_status guest_linear_read(struct cpu *c, uint64_t linear, void *buf, size_t n,
					   enum walk_access access, unsigned cpl,
					   struct guest_fault *fault)
{
	(void)c, (void)linear, (void)buf, (void)n, (void)access, (void)cpl, (void)fault;
	fprintf(stderr, "fake_vcpu: guest memory is not modelled\n");
	abort();
}

enum guest_access_status guest_linear_write(struct cpu *c, uint64_t linear, const void *buf,
					    size_t n, unsigned cpl, struct guest_fault *fault)
{
	(void)c, (void)linear, (void)buf, (void)n, (void)cpl, (void)fault;
	fprintf(stderr, "fake_vcpu: guest memory is not modelled\n");
	abort();
}

bool guest_phys_read(unsigned cpu, uint64_t gpa, void *buf, size_t n)
{
	(void)cpu, (void)gpa, (void)buf, (void)n;
	fprintf(stderr, "fake_vcpu: guest memory is not modelled\n");
	abort();
}

bool guest_phys_write(unsigned cpu, uint64_t gpa, const void *buf, size_t n)
{
	(void)cpu, (void)gpa, (void)buf, (void)n;
	fprintf(stderr, "fake_vcpu: guest memory is not modelled\n");
	abort();
}

/* boot=chain's entry (chain_boot.c, linked for its VMMCALL check, which without the stubs
 * installed leaves every hypercall to the ABI) is not modelled. */
void vcpu_set_boot_sector_entry(struct cpu *c, uint16_t ip, uint8_t drive)
{
	(void)c, (void)ip, (void)drive;
	fprintf(stderr, "fake_vcpu: boot sector entry is not modelled\n");
	abort();
}

unsigned guest_phys_bits(void)
{
	return 36;
}

/* ---- the physical CPU (fake_cpu.h) ---- */

void fake_cpu_reset(void)
{
	memset(&fake_cpu, 0, sizeof(fake_cpu));
}

void fake_cpu_set_cpuid(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	for (unsigned i = 0; i < fake_cpu.cpuid_count; i++) {
		if (fake_cpu.cpuid[i].leaf == leaf) {
			fake_cpu.cpuid[i].regs = (struct cpuid_regs){ eax, ebx, ecx, edx };
			return;
		}
	}
	fake_cpu.cpuid[fake_cpu.cpuid_count].leaf = leaf;
	fake_cpu.cpuid[fake_cpu.cpuid_count++].regs = (struct cpuid_regs){ eax, ebx, ecx, edx };
}

void fake_cpu_set_msr(uint32_t msr, uint64_t value)
{
	for (unsigned i = 0; i < fake_cpu.msr_count; i++) {
		if (fake_cpu.msr[i].msr == msr) {
			fake_cpu.msr[i].value = value;
			return;
		}
	}
	fake_cpu.msr[fake_cpu.msr_count].msr = msr;
	fake_cpu.msr[fake_cpu.msr_count++].value = value;
}

bool fake_cpu_msr(uint32_t msr, uint64_t *value)
{
	for (unsigned i = 0; i < fake_cpu.msr_count; i++) {
		if (fake_cpu.msr[i].msr == msr) {
			*value = fake_cpu.msr[i].value;
			return true;
		}
	}
	return false;
}

struct cpuid_regs fake_cpuid(uint32_t leaf, uint32_t subleaf)
{
	(void)subleaf;
	for (unsigned i = 0; i < fake_cpu.cpuid_count; i++)
		if (fake_cpu.cpuid[i].leaf == leaf)
			return fake_cpu.cpuid[i].regs;
	return (struct cpuid_regs){ 0, 0, 0, 0 };
}

uint64_t fake_rdtsc(void)
{
	return fake_cpu.tsc;
}

/* The hypervisor's unguarded RDMSR/WRMSR are only for MSRs it knows exist. */
uint64_t fake_rdmsr(uint32_t msr)
{
	uint64_t value;
	if (!fake_cpu_msr(msr, &value)) {
		fprintf(stderr, "fake_cpu: RDMSR %#x raises #GP in the hypervisor\n", msr);
		abort();
	}
	return value;
}

void fake_wrmsr(uint32_t msr, uint64_t value)
{
	uint64_t old;
	if (!fake_cpu_msr(msr, &old)) {
		fprintf(stderr, "fake_cpu: WRMSR %#x raises #GP in the hypervisor\n", msr);
		abort();
	}
	fake_cpu_set_msr(msr, value);
}

int rdmsr_safe(uint32_t msr, uint64_t *value)
{
	return fake_cpu_msr(msr, value) ? 0 : -1;
}

int wrmsr_safe(uint32_t msr, uint64_t value)
{
	uint64_t old;
	if (!fake_cpu_msr(msr, &old))
		return -1;
	fake_cpu_set_msr(msr, value);
	return 0;
}

static void port_access(uint16_t port, unsigned size, bool out, uint32_t value)
{
	if (fake_cpu.port_count == FAKE_MAX_PORT_ACCESSES) {
		fprintf(stderr, "fake_cpu: more than %d port accesses\n", FAKE_MAX_PORT_ACCESSES);
		abort();
	}
	fake_cpu.ports[fake_cpu.port_count++] = (struct fake_port_access){ port, size, out, value };
}

static uint32_t port_in(uint16_t port, unsigned size)
{
	uint32_t value = size == 4 ? fake_cpu.port_value
			 : size == 2 ? (uint16_t)fake_cpu.port_value
				     : (uint8_t)fake_cpu.port_value;
	port_access(port, size, false, value);
	return value;
}

uint8_t fake_inb(uint16_t port)
{
	return (uint8_t)port_in(port, 1);
}

uint16_t fake_inw(uint16_t port)
{
	return (uint16_t)port_in(port, 2);
}

uint32_t fake_inl(uint16_t port)
{
	return port_in(port, 4);
}

void fake_outb(uint16_t port, uint8_t value)
{
	port_access(port, 1, true, value);
}

void fake_outw(uint16_t port, uint16_t value)
{
	port_access(port, 2, true, value);
}

void fake_outl(uint16_t port, uint32_t value)
{
	port_access(port, 4, true, value);
}
