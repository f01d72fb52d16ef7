/*
 * smp.c - finding and starting the APs, measuring their TSC offsets, and each guest CPU's
 * run/park loop (include/smp.h). Intel SDM vol. 3A, 8.4.4 "MP Initialization Example"
 * (INIT, 10 ms, STARTUP, 200 us, STARTUP), 10.6.1 (ICR); ACPI 6.5, 5.2.12 (MADT).
 */
#include "smp.h"
#include "arch.h"
#include "idle.h"
#include "lapic_timer.h"
#include "boot.h"
#include "control_port.h"
#include "guest_time.h"
#include "hvlib.h"
#include "lapic.h"
#include "log.h"
#include "madt.h"
#include "page_alloc.h"
#include "vcpu.h"
#include "x86.h"

#define AP_STACK_PAGES 4
#define AP_CHECKIN_TIMEOUT_MS 500
#define TSC_SYNC_ROUNDS 32
#define TRAMPOLINE_MAX 4096

extern const char ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_params[];
extern char boot_gdt_ptr[];

struct trampoline_params {
	uint64_t cr3, stack, cpu, entry;
};

static volatile uint32_t checked_in;
static volatile uint64_t sync_ping, sync_pong, sync_ap_tsc;
static uint64_t npt;

static uint64_t now_ms_to_tsc(unsigned ms)
{
	return tsc_hz() / 1000 * ms;
}

static void delay_us(unsigned us)
{
	uint64_t end = rdtsc() + tsc_hz() / 1000000 * us;
	while (rdtsc() < end)
		cpu_relax();
}

/* Tables below 4 GiB are in the boot identity map; anything else is not mapped contiguously
 * (firmware places ACPI tables low). */
static const void *map_low(uint64_t phys, size_t len, void *ctx)
{
	(void)ctx;
	if (phys + len < phys || phys + len > (4ull << 30))
		return NULL;
	return phys_to_virt(phys);
}

unsigned smp_discover(const uint8_t *rsdp, size_t rsdp_len)
{
	static struct madt_cpus found;
	int err = rsdp_len ? madt_find_cpus(rsdp, rsdp_len, map_low, NULL, &found) : MADT_EBADRSDP;
	if (err) {
		hv_log("smp: %s: running on the boot CPU only", madt_strerror(err));
		return cpu_count();
	}
	uint32_t bsp = this_cpu()->apic_id;
	for (unsigned i = 0; i < found.count; i++) {
		if (found.apic_id[i] == bsp)
			continue;
		if (!cpu_add(found.apic_id[i])) {
			hv_log("smp: more than %u CPUs: APIC ID %u and later stay outside the hypervisor",
			       HV_MAX_CPUS, found.apic_id[i]);
			break;
		}
	}
	if (found.truncated)
		hv_log("smp: the MADT lists more than %u processors", MADT_MAX_CPUS);
	hv_log("smp: %u CPUs in the MADT (boot CPU APIC ID %u)", cpu_count(), bsp);
	return cpu_count();
}

/* Round trips between the boot CPU and an AP (both in the hypervisor, interrupts off): the AP
 * reads its TSC between the boot CPU's two readings t0 and t2, so its offset is
 * (t0 + t2) / 2 - t1 to within half the round trip; the shortest round trip wins. An offset
 * within that uncertainty is taken as 0 (synchronised TSCs, as on every CPU with an invariant
 * TSC started from one reset). */
#define SYNC_DONE (~0ull)

static int64_t measure_tsc_offset(void)
{
	uint64_t best_rtt = ~0ull;
	int64_t best = 0;
	for (uint64_t r = 1; r <= TSC_SYNC_ROUNDS; r++) {
		uint64_t t0 = rdtsc();
		__atomic_store_n(&sync_ping, r, __ATOMIC_SEQ_CST);
		uint64_t deadline = t0 + now_ms_to_tsc(100);
		while (__atomic_load_n(&sync_pong, __ATOMIC_SEQ_CST) != r) {
			if (rdtsc() > deadline) {
				__atomic_store_n(&sync_ping, SYNC_DONE, __ATOMIC_SEQ_CST);
				hv_log("smp: TSC offset measurement timed out: offset 0");
				return 0;
			}
		}
		uint64_t t2 = rdtsc();
		uint64_t t1 = sync_ap_tsc;
		if (t2 - t0 < best_rtt) {
			best_rtt = t2 - t0;
			best = (int64_t)(t0 + (t2 - t0) / 2 - t1);
		}
	}
	__atomic_store_n(&sync_ping, SYNC_DONE, __ATOMIC_SEQ_CST);
	int64_t uncertainty = (int64_t)(best_rtt / 2);
	return best > uncertainty || best < -uncertainty ? best : 0;
}

static void answer_tsc_sync(void)
{
	uint64_t seen = 0;
	for (;;) {
		uint64_t r = __atomic_load_n(&sync_ping, __ATOMIC_SEQ_CST);
		if (r == SYNC_DONE)
			return;
		if (r != seen) {
			sync_ap_tsc = rdtsc();
			__atomic_store_n(&sync_pong, r, __ATOMIC_SEQ_CST);
			seen = r;
		}
		cpu_relax();
	}
}

__attribute__((noreturn)) void ap_entry(struct cpu *c);
__attribute__((noreturn)) void ap_entry(struct cpu *c)
{
	__asm__ volatile("lgdt (%0)" : : "r"(boot_gdt_ptr) : "memory");
	cpu_set_current(c);
	exceptions_load();
	c->apic_id = lapic_id(c);
	__atomic_store_n(&checked_in, c->index, __ATOMIC_SEQ_CST);
	answer_tsc_sync();
	arch_cpu_init(c, npt);
	lapic_timer_reset(c);
	c->run_state = VCPU_WAIT_FOR_SIPI;
	vcpu_loop(c);
}

static uint64_t trampoline_page = SMP_TRAMPOLINE_PAGE;

uint64_t smp_trampoline_page(void)
{
	return trampoline_page;
}

void smp_set_trampoline_page(uint64_t page)
{
	if (page >= (1u << 20) || page % 4096)
		hv_panic("AP trampoline page %lx: a STARTUP vector names a page below 1 MiB", page);
	trampoline_page = page;
}

static bool start_ap(struct cpu *bsp, struct cpu *ap)
{
	uint8_t *page = phys_to_virt(trampoline_page);
	size_t size = (size_t)(ap_trampoline_end - ap_trampoline_start);
	memcpy(page, ap_trampoline_start, size);
	struct trampoline_params *p =
		(struct trampoline_params *)(page + (ap_trampoline_params - ap_trampoline_start));
	uint8_t *stack = page_alloc(AP_STACK_PAGES);
	ap->stack_top = stack + AP_STACK_PAGES * PAGE_SIZE;
	p->cr3 = read_cr3();
	p->stack = (uint64_t)(uintptr_t)ap->stack_top;
	p->cpu = (uint64_t)(uintptr_t)ap;
	p->entry = (uint64_t)(uintptr_t)ap_entry;
	__atomic_store_n(&checked_in, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sync_ping, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sync_pong, 0, __ATOMIC_SEQ_CST);
	uint32_t vector = (uint32_t)(trampoline_page >> 12);
	lapic_send_icr(bsp, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL, ap->apic_id);
	delay_us(10000);
	lapic_send_icr(bsp, ICR_DELIVERY_INIT | ICR_TRIGGER_LEVEL, ap->apic_id);
	for (int i = 0; i < 2; i++) {
		lapic_send_icr(bsp, ICR_DELIVERY_STARTUP | vector, ap->apic_id);
		delay_us(200);
	}
	uint64_t deadline = rdtsc() + now_ms_to_tsc(AP_CHECKIN_TIMEOUT_MS);
	while (__atomic_load_n(&checked_in, __ATOMIC_SEQ_CST) != ap->index)
		if (rdtsc() > deadline)
			return false;
	return true;
}

void smp_start_aps(uint64_t npt_root)
{
	_Static_assert(SMP_TRAMPOLINE_PAGE < (1u << 20) && SMP_TRAMPOLINE_PAGE % 4096 == 0,
		       "a STARTUP vector names a page below 1 MiB");
	if ((size_t)(ap_trampoline_end - ap_trampoline_start) > TRAMPOLINE_MAX)
		hv_panic("AP trampoline larger than a page");
	npt = npt_root;
	struct cpu *bsp = this_cpu();
	unsigned started = 0;
	for (unsigned i = 1; i < cpu_count(); i++) {
		struct cpu *ap = cpu_at(i);
		if (!start_ap(bsp, ap)) {
			hv_log("smp: CPU %u (APIC ID %u) did not start: it stays offline", i, ap->apic_id);
			continue;
		}
		int64_t offset = measure_tsc_offset();
		guest_time_set_cpu_offset(i, offset);
		/* Wait until it is parked, so APs start one at a time (one trampoline). */
		uint64_t deadline = rdtsc() + now_ms_to_tsc(AP_CHECKIN_TIMEOUT_MS);
		while (ap->run_state != VCPU_WAIT_FOR_SIPI && rdtsc() < deadline)
			cpu_relax();
		hv_log("smp: CPU %u (APIC ID %u) under the hypervisor, TSC offset %ld", i, ap->apic_id,
		       (long)offset);
		started++;
	}
	if (cpu_count() > 1)
		hv_log("smp: %u of %u APs started", started, cpu_count() - 1);
}

/* The guest's STARTUP IPI found this CPU waiting: it starts in real mode at vector << 12. */
static void wait_for_sipi(struct cpu *c)
{
	for (;;) {
		uint32_t sipi = __atomic_exchange_n(&c->pending_sipi, 0, __ATOMIC_SEQ_CST);
		if (sipi) {
			c->pending_init = 0;
			vcpu_set_startup_state(c, (uint8_t)sipi);

			c->run_state = VCPU_RUNNING;
			return;
		}
		c->pending_init = 0; /* INIT while waiting: still waiting */
		c->nmi_for_guest = 0; /* an NMI does not wake a CPU waiting for SIPI */
		idle_park(c);
	}
}

void vcpu_loop(struct cpu *c)
{
	for (;;) {
		if (c->run_state == VCPU_RUNNING)
			arch_run(c); /* returns when a guest INIT parks this CPU */
		else
			wait_for_sipi(c);
	}
}
