/*
 * apic_ipi.c - the guest's inter-processor interrupts (include/apic_page.h). INIT and
 * STARTUP are emulated on the guest CPUs they target (Intel SDM vol. 3A, 10.6.1 "Interrupt
 * Command Register", 8.4.4.2 "Typical AP Initialization Sequence"):
 * - INIT (level assert) parks the target: at its next exit it leaves the guest and waits for
 *   a STARTUP IPI (smp.c). INIT level de-assert only synchronises arbitration IDs on old
 *   CPUs: nothing to do.
 * - STARTUP starts a target that is waiting, in real mode at vector << 12; a target that is
 *   running ignores it, as an AP ignores a SIPI outside wait-for-SIPI.
 * Targets: physical destination = APIC ID (0xFF / 0xFFFFFFFF = broadcast), or a shorthand
 * (self, all, all but self). Logical-destination INIT/STARTUP, which Linux never sends for
 * start-up, is not emulated: logged (rate-limited) and dropped, never sent to the hardware.
 * Everything else (fixed, lowest priority, NMI, SMI, ExtINT) goes to the real APIC unchanged.
 */
#include "apic_page.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "log.h"

static bool targeted(const struct cpu *c, const struct cpu *t, uint32_t low, uint32_t dest, bool x2apic)
{
	switch (low & ICR_SHORTHAND_MASK) {
	case ICR_SHORTHAND_SELF:
		return t == c;
	case ICR_SHORTHAND_ALL:
		return true;
	case ICR_SHORTHAND_OTHERS:
		return t != c;
	default:
		return dest == (x2apic ? 0xFFFFFFFFu : 0xFFu) || t->apic_id == dest;
	}
}

void apic_ipi_guest_icr(struct cpu *c, uint32_t low, uint32_t destination, bool x2apic)
{
	uint32_t mode = low & ICR_DELIVERY_MASK;
	if (mode != ICR_DELIVERY_INIT && mode != ICR_DELIVERY_STARTUP) {
		lapic_send_icr(c, low, destination);
		return;
	}
	if ((low & ICR_DEST_LOGICAL) && (low & ICR_SHORTHAND_MASK) == ICR_SHORTHAND_NONE) {
		hv_log_guest("cpu %u: logical-destination %s IPI to %x dropped (not emulated)", c->index,
			     mode == ICR_DELIVERY_INIT ? "INIT" : "STARTUP", destination);
		return;
	}
	if (mode == ICR_DELIVERY_INIT && (low & ICR_TRIGGER_LEVEL) && !(low & ICR_LEVEL_ASSERT))
		return; /* INIT level de-assert */
	for (unsigned i = 0; i < cpu_count(); i++) {
		struct cpu *t = cpu_at(i);
		if (t->run_state == VCPU_OFFLINE || !targeted(c, t, low, destination, x2apic))
			continue;
		if (mode == ICR_DELIVERY_INIT) {
			__atomic_store_n(&t->pending_sipi, 0, __ATOMIC_SEQ_CST);
			__atomic_store_n(&t->pending_init, 1, __ATOMIC_SEQ_CST);
		} else if (t->run_state == VCPU_WAIT_FOR_SIPI || t->pending_init) {
			uint32_t none = 0;
			__atomic_compare_exchange_n(&t->pending_sipi, &none, 0x100u | (low & ICR_VECTOR_MASK),
						    false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		} else {
			continue;
		}
		/* The target may be halted or running guest code: the kick brings it to the
		 * request now rather than at its next exit. */
		if (t != c)
			lapic_timer_kick(c, t);
	}
}
