/*
 * Host tests for the vendor-neutral exit layer (hv-core/src/core/exits.c) with the real
 * decoder, CPUID and MSR policies, hypercall ABI and I/O emulation behind it, on a test
 * double of the CPU (fake_vcpu.c, fake_cpu.h). Each test is one intercepted instruction:
 * the guest's registers, RIP, injected event and exit counts after the handler are checked.
 * The time, APIC and idle modules the handlers call are recorded stubs below.
 */
#include <setjmp.h>
#include <stdarg.h>

#include "unit.h"
#include "fake_vcpu.h"
#include "apic_page.h"
#include "control_port.h"
#include "cpuid_policy.h"
#include "exits.h"
#include "guest_time.h"
#include "hypercall.h"
#include "idle.h"
#include "io_hooks.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "log.h"
#include "power.h"
#include "tsc_scaling.h"
#include "vtime.h"
#include "vcpu.h"

/* ---- recorded stubs of the modules the exit layer calls ---- */

static struct {
	uint64_t guest_tsc;         /* what guest_time_read answers */
	uint64_t read_real;         /* the real TSC the last guest_time_read got */
	unsigned notes;             /* guest_time_note_read calls */
	int written_cpu;            /* guest_time_write_tsc: the CPU, -1 for no call */
	uint64_t written_real, written_value;
	unsigned idle_waits, polls, apic_accesses;
	uint64_t apic_gpa;
	char log[256];              /* the last hv_log / hv_log_guest / hv_log_mark line */
	jmp_buf *shutdown;          /* power_shutdown_action returns here */
} rec;

static void reset(struct cpu *c, struct fake_guest *g)
{
	memset(&rec, 0, sizeof(rec));
	rec.written_cpu = -1;
	fake_cpu_reset();
	fake_vcpu_reset(c, g);
}

uint64_t guest_time_read(unsigned cpu, uint64_t real)
{
	(void)cpu;
	rec.read_real = real;
	return rec.guest_tsc;
}

void guest_time_note_read(struct cpu *c, uint64_t real)
{
	(void)c, (void)real;
	rec.notes++;
}

int guest_time_write_tsc(unsigned cpu, uint64_t real, uint64_t value)
{
	rec.written_cpu = (int)cpu;
	rec.written_real = real;
	rec.written_value = value;
	return 0;
}

int guest_time_write_tsc_adjust(unsigned cpu, int64_t value)
{
	(void)cpu, (void)value;
	return 0;
}

int64_t guest_time_read_tsc_adjust(unsigned cpu)
{
	(void)cpu;
	return 0;
}

void guest_time_state(struct vtime_state *out)
{
	memset(out, 0, sizeof(*out));
}

int guest_time_set_speed(uint64_t p, uint64_t q, const char *who, enum time_requester from)
{
	(void)p, (void)q, (void)who, (void)from;
	return 0;
}

int guest_time_arm(const char *who, enum time_requester from)
{
	(void)who, (void)from;
	return 0;
}

/* tsc_scaling.c's writer side (never reached here: no speed change runs) needs these. */
bool guest_time_virtualised(void)
{
	return true;
}

/* The newest epoch as tsc_scaling_choose sees it (linear_ok false: a change in progress). */
static struct {
	bool ok;
	uint64_t rate, offset;
} fake_linear;

bool guest_time_linear(unsigned cpu, uint64_t real, uint64_t *rate, uint64_t *offset)
{
	(void)cpu, (void)real;
	if (fake_linear.ok) {
		*rate = fake_linear.rate;
		*offset = fake_linear.offset;
	}
	return fake_linear.ok;
}

void lapic_timer_kick(struct cpu *from, struct cpu *t)
{
	(void)from, (void)t;
}

struct cpu *cpu_at(unsigned index)
{
	(void)index;
	return NULL;
}

unsigned cpu_count(void)
{
	return 0;
}

uint64_t tsc_hz(void)
{
	return 1000000000;
}

bool lapic_x2apic_mode(void)
{
	return false;
}

bool lapic_timer_read(struct cpu *c, unsigned offset, uint32_t *value)
{
	(void)c, (void)offset, (void)value;
	return false;
}

bool lapic_timer_write(struct cpu *c, unsigned offset, uint32_t value)
{
	(void)c, (void)offset, (void)value;
	return false;
}

uint64_t lapic_timer_read_deadline(struct cpu *c)
{
	(void)c;
	return 0;
}

void lapic_timer_write_deadline(struct cpu *c, uint64_t value)
{
	(void)c, (void)value;
}

void lapic_timer_eoi(struct cpu *c, void (*write_eoi)(struct cpu *c))
{
	(void)c, (void)write_eoi;
}

#define APIC_PAGE 0xFEE00000ull

void apic_page_moved(uint64_t new_base)
{
	(void)new_base;
}

bool apic_page_contains(uint64_t gpa)
{
	return gpa >= APIC_PAGE && gpa < APIC_PAGE + 0x1000;
}

void apic_page_access(struct cpu *c, uint64_t gpa)
{
	(void)c;
	rec.apic_accesses++;
	rec.apic_gpa = gpa;
}

void apic_ipi_guest_icr(struct cpu *c, uint32_t low, uint32_t destination, bool x2apic)
{
	(void)c, (void)low, (void)destination, (void)x2apic;
}

void idle_wait(struct cpu *c)
{
	(void)c;
	rec.idle_waits++;
}

unsigned hv_poll_if_due(struct cpu *c, uint64_t real_now)
{
	(void)c, (void)real_now;
	rec.polls++;
	return 0;
}

static void record_log(const char *fmt, va_list ap)
{
	vsnprintf(rec.log, sizeof(rec.log), fmt, ap);
}

void hv_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record_log(fmt, ap);
	va_end(ap);
}

void hv_log_guest(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record_log(fmt, ap);
	va_end(ap);
}

void hv_log_mark(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record_log(fmt, ap);
	va_end(ap);
}

void hv_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "hv_panic: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

void power_shutdown_action(void)
{
	if (!rec.shutdown)
		abort();
	longjmp(*rec.shutdown, 1);
}

/* ---- helpers ---- */

static void set_code(struct fake_guest *g, const char *hex_bytes, unsigned n)
{
	fake_vcpu_set_code(g, (const uint8_t *)hex_bytes, n);
}

static void check_no_event(const struct fake_guest *g)
{
	CHECK(!g->event.valid);
}

static void check_event(const struct fake_guest *g, uint8_t vector, bool has_error)
{
	CHECK(g->event.valid);
	CHECK_EQ_U64(g->event.vector, vector);
	CHECK_EQ_U64(g->event.has_error, has_error);
	CHECK_EQ_U64(g->event.error, 0);
}

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID_EXT1_ECX_SVM (1u << 2)
#define MSR_PLATFORM_INFO 0xCEu /* any MSR the hypervisor passes through */

/* ---- tests ---- */

TEST(cpuid_passes_through_with_the_policy_applied)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	fake_cpu_set_cpuid(1, 0x000806EC, 0x01100800, 0x7FFAFBBF & ~CPUID1_ECX_TSC_DEADLINE, 0xBFEBFBFF);
	set_code(&g, "\x0F\xA2", 2);
	c.regs.rax = 0xFFFFFFFF00000001ull; /* leaf 1: only EAX counts */
	c.regs.rcx = 0;
	exit_cpuid(&c);
	CHECK_EQ_U64(c.regs.rax, 0x000806EC);
	CHECK_EQ_U64(c.regs.rbx, 0x01100800);
	CHECK_EQ_U64(c.regs.rdx, 0xBFEBFBFF);
	/* hypervisor bit and TSC-deadline offered; x2APIC hidden (the APIC is in xAPIC mode),
	 * VMX hidden (no nested virtualisation) */
	CHECK_EQ_U64(c.regs.rcx, (0x7FFAFBBF & ~CPUID1_ECX_X2APIC & ~CPUID1_ECX_VMX) | CPUID1_ECX_HYPERVISOR |
					 CPUID1_ECX_TSC_DEADLINE);
	CHECK_EQ_U64(g.rip, 0x1002);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_CPUID], 1);
	check_no_event(&g);
}

static uint32_t guest_cpuid_eax_ebx(struct cpu *c, struct fake_guest *g, uint32_t leaf, uint32_t *ebx)
{
	g->rip = 0x1000;
	c->regs.rax = leaf;
	c->regs.rcx = 0;
	exit_cpuid(c);
	*ebx = (uint32_t)c->regs.rbx;
	return (uint32_t)c->regs.rax;
}

/* Bochs's skylake model announces 3.5 GHz (crystal 25 MHz x 140) for a TSC that counts
 * instructions: the guest is told the measured rate instead; agreeing leaves pass. */
TEST(cpuid_tsc_frequency_leaves_follow_the_measured_rate)
{
	struct cpu c;
	struct fake_guest g;
	uint32_t ebx;
	reset(&c, &g);
	set_code(&g, "\x0F\xA2", 2);
	fake_cpu_set_cpuid(0, 0x16, 0, 0, 0);
	fake_cpu_set_cpuid(0x15, 1, 140, 25000000, 0);
	fake_cpu_set_cpuid(0x16, 3500, 3500, 100, 0);
	CHECK_EQ_U64(cpuid_policy_set_measured_tsc_hz(50000000), 3500000000ull);
	CHECK_EQ_U64(guest_cpuid_eax_ebx(&c, &g, 0x15, &ebx), 0);
	CHECK_EQ_U64(ebx, 0);
	CHECK_EQ_U64(c.regs.rcx, 0);
	CHECK_EQ_U64(guest_cpuid_eax_ebx(&c, &g, 0x16, &ebx), 50);
	CHECK_EQ_U64(ebx, 3500); /* the maximum frequency stays */
	/* Within 2%: unchanged. */
	CHECK_EQ_U64(cpuid_policy_set_measured_tsc_hz(3490000000ull), 3500000000ull);
	CHECK_EQ_U64(guest_cpuid_eax_ebx(&c, &g, 0x15, &ebx), 1);
	CHECK_EQ_U64(ebx, 140);
	CHECK_EQ_U64(guest_cpuid_eax_ebx(&c, &g, 0x16, &ebx), 3500);
	/* No leaf 0x15: nothing announced, nothing changed. */
	fake_cpu_set_cpuid(0, 0xD, 0, 0, 0);
	CHECK_EQ_U64(cpuid_policy_set_measured_tsc_hz(50000000), 0);
	cpuid_policy_set_measured_tsc_hz(0);
}

TEST(cpuid_hides_svm_and_answers_the_hypervisor_leaves)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	fake_cpu_set_cpuid(0x80000001, 0, 0, 0x121 | CPUID_EXT1_ECX_SVM, 0x2C100800);
	fake_cpu_set_cpuid(0x8000000A, 1, 0x8000, 0, 0x1BFFF);
	/* an operand-size prefix makes it 3 bytes long */
	set_code(&g, "\x66\x0F\xA2", 3);
	c.regs.rax = 0x80000001;
	exit_cpuid(&c);
	CHECK_EQ_U64(c.regs.rcx, 0x121);
	CHECK_EQ_U64(c.regs.rdx, 0x2C100800);
	CHECK_EQ_U64(g.rip, 0x1003);

	c.regs.rax = 0x8000000A;
	exit_cpuid(&c);
	CHECK_EQ_U64(c.regs.rax | c.regs.rbx | c.regs.rcx | c.regs.rdx, 0);

	c.regs.rax = HV_CPUID_BASE;
	exit_cpuid(&c);
	CHECK_EQ_U64(c.regs.rax, HV_CPUID_MAX);
	char signature[13];
	memcpy(signature, &c.regs.rbx, 4);
	memcpy(signature + 4, &c.regs.rcx, 4);
	memcpy(signature + 8, &c.regs.rdx, 4);
	signature[12] = '\0';
	CHECK_STREQ(signature, HV_CPUID_SIGNATURE);
	CHECK_EQ_U64(g.rip, 0x1009);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_CPUID], 3);
}

TEST(cpuid_with_lock_prefix_raises_ud)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	set_code(&g, "\xF0\x0F\xA2", 3);
	c.regs.rax = 1;
	exit_cpuid(&c);
	check_event(&g, X86_VECTOR_UD, false);
	CHECK_EQ_U64(g.rip, 0x1000);
	CHECK_EQ_U64(c.regs.rax, 1);
}

TEST(rdtsc_returns_the_virtual_tsc_in_edx_eax)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	c.index = 0;
	fake_cpu.tsc = 5000;
	rec.guest_tsc = 0x123456789ABCDEF0ull;
	set_code(&g, "\x0F\x31", 2);
	c.regs.rax = c.regs.rdx = 0xFFFFFFFFFFFFFFFFull;
	c.regs.rcx = 0x77;
	exit_rdtsc(&c, false);
	CHECK_EQ_U64(c.regs.rax, 0x9ABCDEF0); /* the upper halves are cleared */
	CHECK_EQ_U64(c.regs.rdx, 0x12345678);
	CHECK_EQ_U64(c.regs.rcx, 0x77);
	CHECK_EQ_U64(rec.read_real, 5000);
	CHECK_EQ_U64(rec.notes, 1);
	CHECK_EQ_U64(g.rip, 0x1002);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_RDTSC], 1);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_RDTSCP], 0);
	check_no_event(&g);
}

/* After the CPU read the TSC through hardware scaling (up to one tick ahead of vtime), a
 * trapped read never returns less than the last value the guest may have seen. */
TEST(rdtsc_after_scaling_never_goes_below_the_floor)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	c.tsc_floor = 1001;
	c.tsc_floor_valid = 1;
	rec.guest_tsc = 1000;
	set_code(&g, "\x0F\x31", 2);
	exit_rdtsc(&c, false);
	CHECK_EQ_U64(c.regs.rax, 1001);
	CHECK_EQ_U64(c.tsc_floor_valid, 1);
	rec.guest_tsc = 1002; /* vtime caught up: the floor is dropped */
	g.rip = 0x1000;
	exit_rdtsc(&c, false);
	CHECK_EQ_U64(c.regs.rax, 1002);
	CHECK_EQ_U64(c.tsc_floor_valid, 0);
}

/* The path each kind of hardware takes: offset-only hardware (SVM) runs without exits only
 * while the epoch runs at exactly 1x, with multiplier 1 and vtime's offset; scaling hardware
 * at any rate; neither traps; tsc-scaling off traps everywhere. */
TEST(offset_only_hardware_reads_without_exits_only_at_1x)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	uint64_t m = 0, o = 0;
	fake_linear.ok = true;
	fake_linear.rate = VTIME_RATE_ONE;
	fake_linear.offset = 0xFFFFFFFFFFFF0000ull; /* negative: the guest's clock is behind */
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_OFFSET, &m, &o), TSC_PATH_SCALED);
	CHECK_EQ_U64(m, 1ull << 48);
	CHECK_EQ_U64(o, 0xFFFFFFFFFFFF0000ull);
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_NONE, &m, &o), TSC_PATH_TRAPPED);
	/* Leaving the offset path for trapping keeps the last readable value as a floor. */
	CHECK_EQ_U64(c.tsc_floor_valid, 1);
	fake_linear.rate = VTIME_RATE_ONE + 1; /* a hair above 1x is not 1x */
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_OFFSET, &m, &o), TSC_PATH_TRAPPED);
	fake_linear.rate = 60 * VTIME_RATE_ONE;
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_OFFSET, &m, &o), TSC_PATH_TRAPPED);
	/* A floor still in force above the scaled form keeps the CPU trapped (no step back)... */
	fake_linear.offset = 0;
	c.tsc_floor = 1ull << 62;
	c.tsc_floor_valid = 1;
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_SCALE, &m, &o), TSC_PATH_TRAPPED);
	/* ...and one the scaled form has passed is dropped. */
	c.tsc_floor = 0;
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_SCALE, &m, &o), TSC_PATH_SCALED);
	CHECK_EQ_U64(c.tsc_floor_valid, 0);
	CHECK_EQ_U64(m, 60ull << 48);
	/* The floor on leaving the scaled path is the value at the exit, not at the next entry. */
	fake_cpu.tsc = 1000;
	tsc_scaling_exited(&c);
	CHECK_EQ_U64(c.tsc_exit_value, 60000);
	fake_cpu.tsc = 5000;
	fake_linear.ok = false;
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_SCALE, &m, &o), TSC_PATH_TRAPPED);
	CHECK_EQ_U64(c.tsc_floor, 60000);
	CHECK_EQ_U64(c.tsc_floor_valid, 1);
	fake_linear.ok = true;
	c.tsc_floor_valid = 0;
	fake_linear.rate = VTIME_RATE_ONE;
	tsc_scaling_configure(false);
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_OFFSET, &m, &o), TSC_PATH_TRAPPED);
	tsc_scaling_configure(true);
	fake_linear.ok = false; /* a speed change in progress: trap */
	CHECK_EQ_U64(tsc_scaling_choose(&c, TSC_HW_OFFSET, &m, &o), TSC_PATH_TRAPPED);
}

/* QEMU TCG reports RDTSCP as an RDTSC exit with no length: the bytes decide. */
TEST(rdtscp_reported_as_rdtsc_is_decoded)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	fake_cpu_set_msr(MSR_TSC_AUX, 0xAAAAAAAA00000003ull);
	rec.guest_tsc = 0x0000000200000001ull;
	set_code(&g, "\x48\x0F\x01\xF9", 4); /* REX.W RDTSCP */
	exit_rdtsc(&c, false);
	CHECK_EQ_U64(c.regs.rax, 1);
	CHECK_EQ_U64(c.regs.rdx, 2);
	CHECK_EQ_U64(c.regs.rcx, 3); /* TSC_AUX, 32 bits */
	CHECK_EQ_U64(g.rip, 0x1004);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_RDTSCP], 1);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_RDTSC], 0);
}

/* Hardware with NRIP save reports RDTSCP and its length: the bytes at RIP are not read. */
TEST(rdtscp_uses_the_length_the_cpu_reports)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	fake_cpu_set_msr(MSR_TSC_AUX, 9);
	rec.guest_tsc = 42;
	g.reported_length = 3;
	g.code_length = 0; /* unreadable: a decode would re-execute */
	exit_rdtsc(&c, true);
	CHECK_EQ_U64(c.regs.rax, 42);
	CHECK_EQ_U64(c.regs.rcx, 9);
	CHECK_EQ_U64(g.rip, 0x1003);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_RDTSCP], 1);
	CHECK_EQ_U64(c.stats.reexecutions, 0);
}

TEST(rdtsc_with_unreadable_bytes_is_re_executed)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	rec.guest_tsc = 42;
	c.regs.rax = 7;
	exit_rdtsc(&c, false);
	CHECK_EQ_U64(c.regs.rax, 7);
	CHECK_EQ_U64(g.rip, 0x1000);
	CHECK_EQ_U64(c.stats.reexecutions, 1);
	CHECK_EQ_U64(rec.notes, 0);
	check_no_event(&g);
}

TEST(rdmsr_of_an_msr_the_cpu_lacks_injects_gp)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	set_code(&g, "\x0F\x32", 2);
	c.regs.rcx = 0x12345;
	c.regs.rax = 0x1111;
	c.regs.rdx = 0x2222;
	exit_msr(&c, false);
	check_event(&g, X86_VECTOR_GP, true);
	CHECK_EQ_U64(g.rip, 0x1000);
	CHECK_EQ_U64(c.regs.rax, 0x1111);
	CHECK_EQ_U64(c.regs.rdx, 0x2222);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_RDMSR], 1);
}

/* The vendor's own MSRs exist on the CPU but are hidden from the guest. */
TEST(msr_of_the_virtualisation_extension_injects_gp)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	fake_cpu_set_msr(FAKE_PRIVATE_MSR, 0x10);
	set_code(&g, "\x0F\x32", 2);
	c.regs.rcx = FAKE_PRIVATE_MSR;
	exit_msr(&c, false);
	check_event(&g, X86_VECTOR_GP, true);
	CHECK_EQ_U64(g.rip, 0x1000);

	g.event.valid = false;
	set_code(&g, "\x0F\x30", 2);
	c.regs.rax = 0;
	c.regs.rdx = 0;
	exit_msr(&c, true);
	check_event(&g, X86_VECTOR_GP, true);
	CHECK_EQ_U64(g.rip, 0x1000);
	uint64_t value = 0;
	CHECK(fake_cpu_msr(FAKE_PRIVATE_MSR, &value));
	CHECK_EQ_U64(value, 0x10);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_RDMSR], 1);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_WRMSR], 1);
}

TEST(rdmsr_of_another_msr_reads_the_cpu)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	fake_cpu_set_msr(MSR_PLATFORM_INFO, 0x000000AB00000C01ull);
	set_code(&g, "\x0F\x32", 2);
	c.regs.rcx = 0xFFFFFFFF00000000ull | MSR_PLATFORM_INFO; /* only ECX names the MSR */
	c.regs.rax = c.regs.rdx = ~0ull;
	exit_msr(&c, false);
	check_no_event(&g);
	CHECK_EQ_U64(c.regs.rax, 0xC01);
	CHECK_EQ_U64(c.regs.rdx, 0xAB);
	CHECK_EQ_U64(g.rip, 0x1002);
}

TEST(wrmsr_ia32_tsc_goes_to_vtime)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	c.index = 0;
	fake_cpu.tsc = 777;
	set_code(&g, "\x0F\x30", 2);
	c.regs.rcx = MSR_IA32_TSC;
	c.regs.rax = 0xDEADBEEF00000002ull; /* only EAX and EDX count */
	c.regs.rdx = 0xDEADBEEF00000001ull;
	exit_msr(&c, true);
	check_no_event(&g);
	CHECK_EQ_I64(rec.written_cpu, 0);
	CHECK_EQ_U64(rec.written_real, 777);
	CHECK_EQ_U64(rec.written_value, 0x0000000100000002ull);
	CHECK_EQ_U64(g.rip, 0x1002);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_WRMSR], 1);
	CHECK_EQ_U64(fake_cpu.msr_count, 0); /* nothing written to the CPU */
}

TEST(rdmsr_ia32_tsc_reads_vtime)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	rec.guest_tsc = 0x0000000500000006ull;
	set_code(&g, "\x0F\x32", 2);
	c.regs.rcx = MSR_IA32_TSC;
	exit_msr(&c, false);
	CHECK_EQ_U64(c.regs.rax, 6);
	CHECK_EQ_U64(c.regs.rdx, 5);
	CHECK_EQ_U64(g.rip, 0x1002);
}

TEST(hypercall_at_cpl3_injects_ud)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	g.cpl = 3;
	set_code(&g, FAKE_HYPERCALL, 3);
	c.regs.rax = HYPERCALL_MAGIC | HYPERCALL_PROBE;
	exit_hypercall(&c, FAKE_HYPERCALL_INSN);
	check_event(&g, X86_VECTOR_UD, false);
	CHECK_EQ_U64(g.rip, 0x1000);
	CHECK_EQ_U64(c.regs.rax, HYPERCALL_MAGIC | HYPERCALL_PROBE);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_HYPERCALL], 1);
}

TEST(hypercall_instruction_at_cpl0_is_a_hypercall)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	set_code(&g, FAKE_HYPERCALL, 3);
	c.regs.rax = HYPERCALL_MAGIC | HYPERCALL_PROBE;
	exit_hypercall(&c, FAKE_HYPERCALL_INSN);
	check_no_event(&g);
	CHECK_EQ_U64(c.regs.rax, HYPERCALL_OK);
	CHECK_EQ_U64(c.regs.rbx, HYPERCALL_ABI_VERSION);
	CHECK_EQ_U64(g.rip, 0x1003);

	/* without the magic: #UD, as on a CPU without a hypervisor */
	c.regs.rax = 1;
	exit_hypercall(&c, FAKE_HYPERCALL_INSN);
	check_event(&g, X86_VECTOR_UD, false);
	CHECK_EQ_U64(g.rip, 0x1003);
	CHECK_EQ_U64(c.regs.rax, 1);
}

/* MARK pairs the guest's moment with the real TSC on the hypervisor's port only: the guest
 * gets OK and nothing else. */
TEST(mark_hypercall_logs_real_and_virtual_tsc)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	c.index = 1;
	fake_cpu.tsc = 123456;
	rec.guest_tsc = 7408320;
	set_code(&g, FAKE_HYPERCALL, 3);
	c.regs.rax = HYPERCALL_MAGIC | HYPERCALL_MARK;
	c.regs.rbx = 42;
	c.regs.rcx = c.regs.rdx = 0x5555;
	exit_hypercall(&c, FAKE_HYPERCALL_INSN);
	check_no_event(&g);
	CHECK_EQ_U64(c.regs.rax, HYPERCALL_OK);
	CHECK_EQ_U64(c.regs.rbx, 42);
	CHECK_EQ_U64(c.regs.rcx, 0x5555);
	CHECK(strcmp(rec.log, "mark 42 cpu 1 real 123456 virtual 7408320") == 0);
}

/* The instruction the vendor names is the one expected at RIP: the other vendor's hypercall
 * bytes under this vendor's exit (the code changed under the exit) are not the intercepted
 * instruction and are re-executed. */
TEST(hypercall_checks_the_vendors_instruction)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	set_code(&g, FAKE_OTHER_HYPERCALL, 3);
	c.regs.rax = HYPERCALL_MAGIC | HYPERCALL_PROBE;
	exit_hypercall(&c, FAKE_HYPERCALL_INSN);
	check_no_event(&g);
	CHECK_EQ_U64(g.rip, 0x1000);
	CHECK_EQ_U64(c.stats.reexecutions, 1);
	exit_hypercall(&c, FAKE_OTHER_HYPERCALL_INSN);
	CHECK_EQ_U64(c.regs.rax, HYPERCALL_OK);
	CHECK_EQ_U64(g.rip, 0x1003);
}

TEST(io_to_an_unhooked_port_reaches_the_port)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	c.regs.rax = 0x1122334455667788ull;
	struct io_exit out = { .port = 0x80, .size = 2, .in = false, .next_rip = 0x1002 };
	exit_io(&c, &out);
	CHECK_EQ_U64(fake_cpu.port_count, 1);
	CHECK_EQ_U64(fake_cpu.ports[0].port, 0x80);
	CHECK_EQ_U64(fake_cpu.ports[0].size, 2);
	CHECK(fake_cpu.ports[0].out);
	CHECK_EQ_U64(fake_cpu.ports[0].value, 0x7788);
	CHECK_EQ_U64(g.rip, 0x1002);

	/* 8-bit IN keeps the rest of RAX, 32-bit IN zero-extends */
	fake_cpu.port_value = 0xA1B2C3D4;
	struct io_exit in8 = { .port = 0x71, .size = 1, .in = true, .next_rip = 0x1004 };
	exit_io(&c, &in8);
	CHECK_EQ_U64(c.regs.rax, 0x11223344556677D4ull);
	CHECK_EQ_U64(g.rip, 0x1004);
	struct io_exit in32 = { .port = 0xCFC, .size = 4, .in = true, .next_rip = 0x1005 };
	exit_io(&c, &in32);
	CHECK_EQ_U64(c.regs.rax, 0xA1B2C3D4);
	CHECK_EQ_U64(g.rip, 0x1005);
	CHECK_EQ_U64(fake_cpu.port_count, 3);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_IO], 3);
	check_no_event(&g);
}

static uint32_t hooked_out_value;
static unsigned hooked_outs;

static uint32_t test_hook_in(struct cpu *c, uint16_t port, unsigned size, bool string)
{
	(void)c, (void)port, (void)size, (void)string;
	return 0x5A;
}

static void test_hook_out(struct cpu *c, uint16_t port, unsigned size, uint32_t value, bool string)
{
	(void)c, (void)port, (void)size, (void)string;
	hooked_outs++;
	hooked_out_value = value;
}

/* A word access straddling a hooked and an unhooked port is split byte by byte. */
TEST(io_to_a_hooked_port_goes_to_its_hook)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	static bool registered;
	if (!registered) {
		struct io_hook hook = { 0x60, 1, test_hook_in, test_hook_out };
		io_hook_register(&hook);
		registered = true;
	}
	hooked_outs = 0;
	c.regs.rax = 0xBEEF;
	struct io_exit out = { .port = 0x60, .size = 2, .in = false, .next_rip = 0x1002 };
	exit_io(&c, &out);
	CHECK_EQ_U64(hooked_outs, 1);
	CHECK_EQ_U64(hooked_out_value, 0xEF);
	CHECK_EQ_U64(fake_cpu.port_count, 1);
	CHECK_EQ_U64(fake_cpu.ports[0].port, 0x61);
	CHECK_EQ_U64(fake_cpu.ports[0].value, 0xBE);
	fake_cpu.port_value = 0x33;
	struct io_exit in = { .port = 0x60, .size = 2, .in = true, .next_rip = 0x1004 };
	exit_io(&c, &in);
	CHECK_EQ_U64(c.regs.rax, 0x335A);
	CHECK_EQ_U64(g.rip, 0x1004);
}

TEST(hlt_advances_rip_then_idles)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	set_code(&g, "\xF4", 1);
	exit_hlt(&c);
	CHECK_EQ_U64(g.rip, 0x1001);
	CHECK_EQ_U64(rec.idle_waits, 1);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_HLT], 1);
}

TEST(nested_page_fault_on_the_apic_page_is_emulated)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	CHECK(exit_nested_page_fault(&c, APIC_PAGE + 0x300, 0));
	CHECK_EQ_U64(rec.apic_accesses, 1);
	CHECK_EQ_U64(rec.apic_gpa, APIC_PAGE + 0x300);
	check_no_event(&g);

	/* code or page tables in the APIC page: #GP */
	CHECK(exit_nested_page_fault(&c, APIC_PAGE, EXIT_NPF_FETCH));
	check_event(&g, X86_VECTOR_GP, true);
	CHECK_STREQ(rec.log, "cpu 0: page tables or code in the local APIC page: #GP");
	CHECK_EQ_U64(rec.apic_accesses, 1);

	/* anywhere else: the vendor code panics */
	CHECK(!exit_nested_page_fault(&c, 0x100000, 0));
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_APIC], 3);
}

TEST(shutdown_logs_dumps_and_acts)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	jmp_buf back;
	rec.shutdown = &back;
	if (!setjmp(back)) {
		exit_shutdown(&c);
		UNIT_FAIL("%s", "exit_shutdown returned");
	}
	CHECK_STREQ(rec.log, "guest shutdown (triple fault)");
	CHECK_EQ_U64(g.dumps, 1);
	CHECK_EQ_U64(c.stats.count[EXIT_KIND_SHUTDOWN], 1);
}

TEST(exit_statistics_time_handling_but_not_idle)
{
	struct cpu c;
	struct fake_guest g;
	reset(&c, &g);
	fake_cpu.tsc = 100;
	exit_before_entry(&c, false, false); /* the first entry: no exit to time */
	CHECK_EQ_U64(c.stats.timed_exits, 0);
	exit_started(&c);
	CHECK_EQ_U64(c.exit_tsc, 100);
	CHECK_EQ_U64(c.stats.total, 1);
	exit_finished(&c);
	CHECK_EQ_U64(rec.polls, 1);
	fake_cpu.tsc = 130;
	exit_before_entry(&c, false, true);
	CHECK_EQ_U64(c.stats.timed_exits, 1);
	CHECK_EQ_U64(c.stats.host_cycles, 30);
	CHECK_EQ_U64(c.stats.rdtsc_host_cycles, 30);
	fake_cpu.tsc = 1000;
	exit_before_entry(&c, true, false); /* HLT: idle time is not handling time */
	CHECK_EQ_U64(c.stats.timed_exits, 1);
	CHECK_EQ_U64(c.stats.host_cycles, 30);
}

RUN_TESTS(UNIT_CASE(cpuid_passes_through_with_the_policy_applied),
	  UNIT_CASE(rdtsc_after_scaling_never_goes_below_the_floor),
	  UNIT_CASE(offset_only_hardware_reads_without_exits_only_at_1x), UNIT_CASE(mark_hypercall_logs_real_and_virtual_tsc),
	  UNIT_CASE(cpuid_tsc_frequency_leaves_follow_the_measured_rate),
	  UNIT_CASE(cpuid_hides_svm_and_answers_the_hypervisor_leaves),
	  UNIT_CASE(cpuid_with_lock_prefix_raises_ud),
	  UNIT_CASE(rdtsc_returns_the_virtual_tsc_in_edx_eax),
	  UNIT_CASE(rdtscp_reported_as_rdtsc_is_decoded),
	  UNIT_CASE(rdtscp_uses_the_length_the_cpu_reports),
	  UNIT_CASE(rdtsc_with_unreadable_bytes_is_re_executed),
	  UNIT_CASE(rdmsr_of_an_msr_the_cpu_lacks_injects_gp),
	  UNIT_CASE(msr_of_the_virtualisation_extension_injects_gp),
	  UNIT_CASE(rdmsr_of_another_msr_reads_the_cpu),
	  UNIT_CASE(wrmsr_ia32_tsc_goes_to_vtime),
	  UNIT_CASE(rdmsr_ia32_tsc_reads_vtime),
	  UNIT_CASE(hypercall_at_cpl3_injects_ud),
	  UNIT_CASE(hypercall_instruction_at_cpl0_is_a_hypercall),
	  UNIT_CASE(hypercall_checks_the_vendors_instruction),
	  UNIT_CASE(io_to_an_unhooked_port_reaches_the_port),
	  UNIT_CASE(io_to_a_hooked_port_goes_to_its_hook),
	  UNIT_CASE(hlt_advances_rip_then_idles),
	  UNIT_CASE(nested_page_fault_on_the_apic_page_is_emulated),
	  UNIT_CASE(shutdown_logs_dumps_and_acts),
	  UNIT_CASE(exit_statistics_time_handling_but_not_idle))
