/*
 * lapic.c - the hypervisor's own local-APIC access (include/lapic.h). The mode and the base
 * address are read from IA32_APIC_BASE on every access, because the guest owns that MSR and
 * may move or reconfigure the APIC (msr_policy.c validates what it writes). The xAPIC page is
 * reached through this CPU's physical window, mapped uncached, wherever it lies.
 */
#include "lapic.h"
#include "phys_window.h"
#include "x86.h"

#define MSR_X2APIC_BASE 0x800u /* x2APIC register = 0x800 + (xAPIC offset >> 4), SDM 10.12.1.2 */
#define MSR_X2APIC_ICR 0x830u
#define SEND_PENDING_SPINS 1000000u
#define LAPIC_TPR 0x080
#define LAPIC_SVR 0x0F0
#define LAPIC_ISR 0x100
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INITIAL 0x380
#define LVT_MASKED (1u << 16)
#define SVR_RESET 0xFFu /* spurious vector 0xFF, APIC software-disabled */
#define SVR_OTHER_VECTOR 0xEFu

bool lapic_x2apic_mode(void)
{
	return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD;
}

static volatile uint32_t *xapic_reg(struct cpu *c, unsigned offset)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;
	volatile uint8_t *page = phys_window_map(c->index, PHYS_SLOT_APIC, base, 1);
	return (volatile uint32_t *)(page + offset);
}

uint32_t lapic_read(struct cpu *c, unsigned offset)
{
	if (lapic_x2apic_mode())
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + (offset >> 4));
	return *xapic_reg(c, offset);
}

void lapic_write(struct cpu *c, unsigned offset, uint32_t value)
{
	if (lapic_x2apic_mode())
		wrmsr(MSR_X2APIC_BASE + (offset >> 4), value);
	else
		*xapic_reg(c, offset) = value;
}

uint32_t lapic_id(struct cpu *c)
{
	if (lapic_x2apic_mode())
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + (LAPIC_ID >> 4));
	return *xapic_reg(c, LAPIC_ID) >> 24;
}

void lapic_send_icr(struct cpu *c, uint32_t low, uint32_t destination)
{
	if (lapic_x2apic_mode()) {
		/* One 64-bit write, destination in bits 63:32 (SDM 10.12.9). */
		wrmsr(MSR_X2APIC_ICR, ((uint64_t)destination << 32) | low);
		return;
	}
	for (unsigned i = 0; i < SEND_PENDING_SPINS && (*xapic_reg(c, LAPIC_ICR_LOW) & ICR_SEND_PENDING); i++)
		cpu_relax();
	*xapic_reg(c, LAPIC_ICR_HIGH) = destination << 24;
	*xapic_reg(c, LAPIC_ICR_LOW) = low;
}

/* Bochs 2.7's local APIC ignores an EOI while the highest vector in service equals the SVR's
 * spurious vector (bx_local_apic_c::receive_EOI), and the hypervisor's wake-up vector 0xFF is
 * also the SVR's vector after reset and under Linux (SPURIOUS_APIC_VECTOR): there the bit would
 * stay in service, PPR would stay 0xF0 and no interrupt of any class would be taken again. So
 * when the bit survives the EOI, the SVR names another vector (0xEF: bits 3:0 may be hardwired
 * to 1) for one more EOI. On other CPUs and emulators the first EOI clears it and only the ISR
 * read is added. Interrupts are off (host context), so no spurious vector is delivered meanwhile. */
void lapic_eoi_vector(struct cpu *c, uint8_t vector)
{
	lapic_write(c, LAPIC_EOI, 0);
	unsigned isr = LAPIC_ISR + 0x10 * (vector / 32);
	if (!(lapic_read(c, isr) & (1u << (vector % 32))))
		return;
	uint32_t svr = lapic_read(c, LAPIC_SVR);
	if ((svr & 0xFFu) != vector)
		return;
	lapic_write(c, LAPIC_SVR, (svr & ~0xFFu) | SVR_OTHER_VECTOR);
	lapic_write(c, LAPIC_EOI, 0);
	lapic_write(c, LAPIC_SVR, svr);
}

void lapic_reset_after_init(struct cpu *c)
{
	/* LVT registers 0x320 (timer) .. 0x370 (error), one every 16 bytes; CMCI (0x2F0) is
	 * left alone where it exists. */
	for (unsigned reg = LAPIC_LVT_TIMER; reg <= LAPIC_LVT_ERROR; reg += 0x10)
		lapic_write(c, reg, LVT_MASKED);
	lapic_write(c, LAPIC_TIMER_INITIAL, 0);
	lapic_write(c, LAPIC_TPR, 0);
	for (unsigned i = 0; i < 256; i++) {
		bool in_service = false;
		for (unsigned w = 0; w < 8 && !in_service; w++)
			in_service = lapic_read(c, LAPIC_ISR + 0x10 * w) != 0;
		if (!in_service)
			break;
		lapic_write(c, LAPIC_EOI, 0);
	}
	lapic_write(c, LAPIC_SVR, SVR_RESET);
}
