/*
 * vmx.c - entering VMX operation and building the VMCS (Intel SDM vol. 3C, 23.6-23.8
 * "Discovering Support for VMX", "Enabling and Entering VMX Operation", "Restrictions on
 * VMX Operation"; chapter 24 "Virtual Machine Control Structures"; appendix A).
 *
 * Controls (the same intercepts as SVM, svm.c): NMI exiting with virtual NMIs (the
 * hypervisor's kick NMIs, exit.c), external interrupts NOT exiting (the guest owns the
 * APIC), HLT exiting, RDTSC exiting once the guest clock is virtualised (RDTSCP then exits
 * as reason 51; "enable RDTSCP" must be set or RDTSCP raises #UD in the guest, 25.3), I/O
 * bitmaps and the MSR bitmap from the io_hooks and msr_policy tables, EPT with unrestricted
 * guest (real-mode AP start-up, 25.6.2 / 26.3.1.1), "enable INVPCID" and "enable
 * XSAVES/XRSTORS" where CPUID offers those instructions to the guest (otherwise they #UD,
 * 25.3). CPUID, GETSEC, INVD, XSETBV, triple fault and the VMX instructions exit
 * unconditionally (25.1.2). CR0.NE and CR4.VMXE are owned by the hypervisor through the
 * guest/host masks (24.6.6): the guest reads its own values from the read shadows.
 */
#include "vmx.h"
#include "tsc_scaling.h"
#include "guest_time.h"
#include "hvlib.h"
#include "idle.h"
#include "io_hooks.h"
#include "log.h"
#include "msr_policy.h"
#include "page_alloc.h"
#include "spinlock.h"
#include "vmx_controls.h"
#include "x86.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID_EXT1_EDX_RDTSCP (1u << 27)
#define CPUID7_EBX_INVPCID (1u << 10)
#define CPUIDD1_EAX_XSAVES (1u << 3)
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)
#define VMX_BASIC_REVISION(b) ((uint32_t)(b) & 0x7FFFFFFFu)
#define VMX_BASIC_REGION_SIZE(b) (((b) >> 32) & 0x1FFF)
#define EPT_CAP_WALK_4 (1ull << 6)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)
#define HOST_CS 0x08
#define HOST_DS 0x10
#define HOST_TR 0x18
#define TSS_OFFSET 0x100  /* the TSS shares the page of the CPU's GDT */
#define TSS_SIZE 104      /* 64-bit TSS (SDM vol. 3A, 8.7 "Task Management in 64-bit Mode") */
#define PAT_POWER_ON 0x0007040600070406ull

extern const char vmx_exit_entry[]; /* vmentry.S: HOST_RIP */
extern const uint64_t boot_gdt[3];

/* Control words, the same on every CPU: computed once (vmx_arch_unsupported_reason). */
static uint32_t pin_controls, proc_controls, proc2_controls, exit_controls, entry_controls;
static bool entry_ia32e_allowed;
static bool tsc_scaling_offered; /* "use TSC offsetting" and "use TSC scaling" may be 1 */
static unsigned preemption_shift; /* IA32_VMX_MISC[4:0], when the preemption timer is on */
static uint8_t *msr_bitmap, *io_bitmaps;
static struct spinlock maps_lock;

void vmwrite(uint32_t field, uint64_t value)
{
	uint8_t failed;
	__asm__ volatile("vmwrite %2, %1; setna %0" : "=qm"(failed) : "r"((uint64_t)field), "rm"(value) : "cc", "memory");
	if (failed)
		hv_panic("VMWRITE of field %x with %lx failed (VM-instruction error %lu)", field, value,
			 vmread(VMCS_INSTRUCTION_ERROR));
}

static const char *control_word(const char *name, uint32_t msr, uint32_t true_msr,
				 uint32_t required, uint32_t optional, uint32_t unhandled,
				 uint32_t *out)
{
	static char why[128];
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	uint32_t bad = 0;
	uint64_t cap = rdmsr(vmx_capability_msr(basic, msr, true_msr));
	switch (vmx_control_value(cap, required, optional, unhandled, out, &bad)) {
	case VMX_CONTROL_OK:
		return NULL;
	case VMX_CONTROL_MISSING:
		hv_snprintf(why, sizeof(why), "VT-x lacks %s controls %x (capability %lx)", name, bad, cap);
		return why;
	default:
		hv_snprintf(why, sizeof(why), "VT-x forces %s controls %x the hypervisor cannot handle",
			    name, bad);
		return why;
	}
}

static uint32_t if_offered(bool offered, uint32_t control)
{
	return offered ? control : 0;
}

const char *vmx_arch_unsupported_reason(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX))
		return "CPU has no VT-x (VMX); Bochs needs a cpu model with VMX (e.g. corei7_skylake_x)";
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
		return "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked without VMX "
		       "outside SMX: enable it in the firmware setup)";
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	if (VMX_BASIC_REGION_SIZE(basic) > PAGE_SIZE)
		return "VT-x: VMCS region larger than a page";
	bool rdtscp = cpuid(0x80000000, 0).eax >= 0x80000001 &&
		      (cpuid(0x80000001, 0).edx & CPUID_EXT1_EDX_RDTSCP);
	bool invpcid = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & CPUID7_EBX_INVPCID);
	bool xsaves = cpuid(0, 0).eax >= 0xD && (cpuid(0xD, 1).eax & CPUIDD1_EAX_XSAVES);
	const char *why;
	/* Bit 0 of the pin controls is external-interrupt exiting. */
	if ((why = control_word("pin-based", MSR_IA32_VMX_PINBASED_CTLS,
				MSR_IA32_VMX_TRUE_PINBASED_CTLS, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS,
				PIN_PREEMPTION_TIMER, 1u << 0, &pin_controls)))
		return why;
	if (pin_controls & PIN_PREEMPTION_TIMER)
		preemption_shift = VMX_MISC_PREEMPTION_SHIFT(rdmsr(MSR_IA32_VMX_MISC));
	if ((why = control_word("processor-based", MSR_IA32_VMX_PROCBASED_CTLS,
				MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
				PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
					PROC_SECONDARY_CONTROLS,
				0,
				PROC_INTERRUPT_WINDOW | PROC_INVLPG_EXITING | PROC_MWAIT_EXITING |
					PROC_RDPMC_EXITING | PROC_CR3_LOAD_EXITING |
					PROC_CR3_STORE_EXITING | PROC_CR8_LOAD_EXITING |
					PROC_CR8_STORE_EXITING | PROC_MOV_DR_EXITING |
					PROC_MONITOR_TRAP_FLAG | PROC_MONITOR_EXITING |
					PROC_PAUSE_EXITING | PROC_NMI_WINDOW,
				&proc_controls)))
		return why;
	/* Secondary controls have no default1 bits: allowed-0 is 0 (A.3.3). */
	if ((why = control_word("secondary processor-based", MSR_IA32_VMX_PROCBASED_CTLS2,
				MSR_IA32_VMX_PROCBASED_CTLS2,
				PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST |
					if_offered(rdtscp, PROC2_ENABLE_RDTSCP) |
					if_offered(invpcid, PROC2_ENABLE_INVPCID) |
					if_offered(xsaves, PROC2_ENABLE_XSAVES),
				0, PROC2_DESCRIPTOR_EXITING | PROC2_WBINVD_EXITING,
				&proc2_controls)))
		return why;
	if ((why = control_word("VM-exit", MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS,
				EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER,
				EXIT_SAVE_PAT | EXIT_LOAD_PAT, EXIT_ACK_INTERRUPT, &exit_controls)))
		return why;
	if ((why = control_word("VM-entry", MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
				ENTRY_LOAD_EFER, ENTRY_LOAD_PAT, ENTRY_IA32E_MODE_GUEST,
				&entry_controls)))
		return why;
	uint32_t unused;
	entry_ia32e_allowed = !control_word("VM-entry", MSR_IA32_VMX_ENTRY_CTLS,
					    MSR_IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_IA32E_MODE_GUEST, 0,
					    0, &unused);
	if (!entry_ia32e_allowed)
		return "VT-x cannot enter a 64-bit guest (\"IA-32e mode guest\" not allowed)";
	uint64_t ept = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (!(ept & EPT_CAP_WALK_4))
		return "VT-x EPT has no 4-level page walk";
	if (!(ept & EPT_CAP_INVEPT) || !(ept & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)))
		return "VT-x EPT has no INVEPT";
	/* The allowed-1 halves (A.3.2, A.3.3): both controls are switched per entry. */
	tsc_scaling_offered =
		(rdmsr(vmx_capability_msr(basic, MSR_IA32_VMX_PROCBASED_CTLS,
					  MSR_IA32_VMX_TRUE_PROCBASED_CTLS)) >> 32 &
		 PROC_USE_TSC_OFFSETTING) &&
		(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 & PROC2_USE_TSC_SCALING);
	hv_log("VT-x: TSC scaling %s", tsc_scaling_offered ? "offered (zero-exit clock)" :
							     "not offered: RDTSC exiting");
	if (pin_controls & PIN_PREEMPTION_TIMER)
		hv_log("VT-x: preemption timer (TSC / 2^%u): the hypervisor takes each CPU back every "
		       "%u ms", preemption_shift, HV_WAKE_PERIOD_MS);
	else
		hv_log("VT-x: no preemption timer: the control port is read at the guest's exits only");
	hv_log("VT-x: VMCS revision %x, controls pin %x proc %x proc2 %x exit %x entry %x",
	       VMX_BASIC_REVISION(basic), pin_controls, proc_controls, proc2_controls,
	       exit_controls, entry_controls);
	return NULL;
}

/* The VMX capability MSRs: VMX is hidden from the guest (CPUID.1:ECX.VMX is clear), so
 * reading them is #GP as on a CPU without VMX (msr_policy.c). */
bool vmx_arch_msr_is_private(uint32_t msr)
{
	return msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST;
}

/* MSR bitmap: read-low (MSRs 0-1FFFh), read-high (C0000000h-C0001FFFh), write-low,
 * write-high, 1 KiB each; MSRs outside both ranges always exit (24.6.9). */
static void msr_bitmap_set(uint32_t msr, bool read, bool write)
{
	uint32_t offset;
	if (msr < 0x2000)
		offset = 0;
	else if (msr >= 0xC0000000 && msr < 0xC0002000)
		offset = 1024, msr -= 0xC0000000;
	else
		return;
	if (read)
		msr_bitmap[offset + msr / 8] |= (uint8_t)(1u << (msr % 8));
	if (write)
		msr_bitmap[2048 + offset + msr / 8] |= (uint8_t)(1u << (msr % 8));
}

/* I/O bitmaps A (ports 0-7FFFh) and B (8000h-FFFFh), contiguous here (24.6.4). */
static void io_bitmap_set(uint16_t port, uint16_t count)
{
	for (uint32_t p = port; p < (uint32_t)port + count && p < 0x10000; p++)
		io_bitmaps[p / 8] |= (uint8_t)(1u << (p % 8));
}

static void build_bitmaps(void)
{
	spin_lock(&maps_lock);
	if (!msr_bitmap) {
		msr_bitmap = page_alloc(1);
		io_bitmaps = page_alloc(2);
		for (unsigned i = 0; i < msr_policy_count(); i++) {
			const struct msr_intercept *m = msr_policy_at(i);
			msr_bitmap_set(m->msr, m->read, m->write);
		}
		for (uint32_t msr = MSR_IA32_VMX_FIRST; msr <= MSR_IA32_VMX_LAST; msr++)
			msr_bitmap_set(msr, true, true);
		for (unsigned i = 0; i < io_hook_count(); i++)
			io_bitmap_set(io_hook_at(i)->base, io_hook_at(i)->count);
	}
	spin_unlock(&maps_lock);
}

/* VMX requires a usable host TR (26.2.3: the host TR selector must not be 0), and the boot
 * GDT has no TSS. Each CPU gets its own GDT (the boot GDT's code and data descriptors, then
 * a 64-bit TSS descriptor at HOST_TR) and TSS in one page. Only the VMX backend loads it:
 * under SVM the CPUs keep the boot GDT and no TR, as before. */
static void load_host_gdt(struct vmx_cpu *x)
{
	uint8_t *page = page_alloc(1);
	x->gdt = page;
	x->tss = page + TSS_OFFSET;
	memcpy(page, boot_gdt, sizeof(boot_gdt));
	uint64_t base = (uint64_t)(uintptr_t)x->tss, limit = TSS_SIZE - 1;
	/* 64-bit available TSS (type 9), present, DPL 0 (SDM vol. 3A, 8.2.3, figure 8-4). */
	uint64_t low = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
		       (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
	memcpy(page + HOST_TR, &low, 8);
	uint64_t high = base >> 32;
	memcpy(page + HOST_TR + 8, &high, 8);
	store_le16(x->tss + 102, TSS_SIZE); /* I/O map base beyond the limit: no I/O bitmap */
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { HOST_TR + 16 - 1, (uint64_t)(uintptr_t)page };
	__asm__ volatile("lgdt %0; ltr %w1" : : "m"(gdtr), "r"(HOST_TR) : "memory");
}

static uint64_t idt_base(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	return idtr.base;
}

/* IA32_FEATURE_CONTROL: locked by the firmware with VMX enabled, or not locked (then it is
 * set and locked here); CR0/CR4 as the fixed-bit MSRs require; VMXON (23.7, 30.3 VMXON). */
static void enter_vmx_operation(struct cpu *c, struct vmx_cpu *x)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
		hv_panic("cpu %u: VT-x disabled by IA32_FEATURE_CONTROL (%lx)", c->index, fc);
	x->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	x->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	x->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	x->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	uint64_t cr0 = vmx_fixed_bits(read_cr0(), x->cr0_fixed0, x->cr0_fixed1, 0);
	uint64_t cr4 = vmx_fixed_bits(read_cr4() | CR4_VMXE, x->cr4_fixed0, x->cr4_fixed1, 0);
	__asm__ volatile("mov %0, %%cr0; mov %1, %%cr4" : : "r"(cr0), "r"(cr4) : "memory");

	uint32_t revision = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC));
	x->vmxon_region = page_alloc(1);
	store_le32(x->vmxon_region, revision);
	uint64_t pa = virt_to_phys(x->vmxon_region);
	uint8_t failed;
	__asm__ volatile("vmxon %1; setna %0" : "=qm"(failed) : "m"(pa) : "cc", "memory");
	if (failed)
		hv_panic("cpu %u: VMXON failed (CR0 %lx CR4 %lx)", c->index, cr0, cr4);

	x->vmcs = page_alloc(1);
	store_le32(x->vmcs, revision);
	x->vmcs_pa = virt_to_phys(x->vmcs);
	__asm__ volatile("vmclear %1; setna %0" : "=qm"(failed) : "m"(x->vmcs_pa) : "cc", "memory");
	if (!failed)
		__asm__ volatile("vmptrld %1; setna %0" : "=qm"(failed) : "m"(x->vmcs_pa) : "cc", "memory");
	if (failed)
		hv_panic("cpu %u: VMCLEAR/VMPTRLD of the VMCS failed", c->index);
}

/* Host state (24.5, checked by 26.2.3): the state the hypervisor runs in after every exit.
 * HOST_RSP is written by vmx_enter before each entry. */
static void write_host_state(struct cpu *c, struct vmx_cpu *x)
{
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SELECTOR, HOST_CS);
	vmwrite(VMCS_HOST_SS_SELECTOR, HOST_DS);
	vmwrite(VMCS_HOST_DS_SELECTOR, HOST_DS);
	vmwrite(VMCS_HOST_ES_SELECTOR, HOST_DS);
	vmwrite(VMCS_HOST_FS_SELECTOR, 0);
	vmwrite(VMCS_HOST_GS_SELECTOR, 0);
	vmwrite(VMCS_HOST_TR_SELECTOR, HOST_TR);
	vmwrite(VMCS_HOST_FS_BASE, 0);
	vmwrite(VMCS_HOST_GS_BASE, (uint64_t)(uintptr_t)c); /* this_cpu() reads %gs:0 */
	vmwrite(VMCS_HOST_TR_BASE, (uint64_t)(uintptr_t)x->tss);
	vmwrite(VMCS_HOST_GDTR_BASE, (uint64_t)(uintptr_t)x->gdt);
	vmwrite(VMCS_HOST_IDTR_BASE, idt_base());
	vmwrite(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	if (exit_controls & EXIT_LOAD_PAT)
		vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
}

void vmx_arch_cpu_init(struct cpu *c, uint64_t npt_root)
{
	struct vmx_cpu *x = page_alloc(1);
	c->vmcb = x;
	build_bitmaps();
	load_host_gdt(x);
	enter_vmx_operation(c, x);
	c->vmcb_pa = x->vmcs_pa;
	write_host_state(c, x);

	x->proc_controls = proc_controls;
	x->entry_controls = entry_controls;
	vmwrite(VMCS_PIN_CONTROLS, pin_controls);
	vmwrite(VMCS_PROC_CONTROLS, proc_controls);
	x->proc2_controls = proc2_controls;
	vmwrite(VMCS_PROC_CONTROLS2, proc2_controls);
	vmwrite(VMCS_EXIT_CONTROLS, exit_controls);
	vmwrite(VMCS_ENTRY_CONTROLS, entry_controls);
	vmwrite(VMCS_EXCEPTION_BITMAP, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	vmwrite(VMCS_MSR_BITMAP, virt_to_phys(msr_bitmap));
	vmwrite(VMCS_IO_BITMAP_A, virt_to_phys(io_bitmaps));
	vmwrite(VMCS_IO_BITMAP_B, virt_to_phys(io_bitmaps + PAGE_SIZE));
	vmwrite(VMCS_EPT_POINTER, vmx_eptp);
	(void)npt_root; /* the EPT pointer (vmx_eptp) is derived from it with the walk length */
	/* CR0 bits VMX fixes to 1 (NE; PE and PG are free with unrestricted guest) and CR4's
	 * (VMXE) belong to the hypervisor: the guest reads its own values from the shadows and
	 * a write that changes them exits (25.3, 27.1.3 "CR access"). */
	vmwrite(VMCS_CR0_GUEST_HOST_MASK, x->cr0_fixed0 & ~(CR0_PE | CR0_PG));
	vmwrite(VMCS_CR4_GUEST_HOST_MASK, x->cr4_fixed0);
	vmwrite(VMCS_LINK_POINTER, ~0ull); /* required without VMCS shadowing (26.3.1.5) */
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	if (entry_controls & ENTRY_LOAD_PAT)
		vmwrite(VMCS_GUEST_PAT, PAT_POWER_ON);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
	vmwrite(VMCS_GUEST_ACTIVITY_STATE, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DEBUG, 0);
	if (c->index == 0)
		hv_log("VT-x: cpu 0 in VMX root operation (VMCS at %lx, host TR %x)", x->vmcs_pa,
		       HOST_TR);
}

bool vmx_tsc_scaling_offered(void)
{
	return tsc_scaling_offered;
}

/* The VMX-preemption timer (25.5.1) counts down from this value in VMX non-root operation and
 * exits at zero (reason 52): the hypervisor gets the CPU back every HV_WAKE_PERIOD_MS of real
 * time even while the guest makes no exit (a busy guest reading a hardware-scaled TSC, or one
 * idling in MWAIT), for the control port, arming and statistics. Reloaded at every entry, so
 * a guest that exits often never sees it ("save VMX-preemption timer value" is off). */
void vmx_arm_preemption_timer(void)
{
	if (!(pin_controls & PIN_PREEMPTION_TIMER))
		return;
	uint64_t ticks = (tsc_hz() / 1000 * HV_WAKE_PERIOD_MS) >> preemption_shift;
	vmwrite(VMCS_PREEMPTION_TIMER_VALUE, ticks > 0xFFFFFFFFull ? 0xFFFFFFFFull : ticks ? ticks : 1);
}

/* The path tsc_scaling_choose picks for this entry, programmed with as few VMWRITEs as the
 * change needs: raw (no exiting, no offsetting), scaled (offsetting + scaling with the
 * epoch's multiplier and offset, 25.3: RDTSC returns ((TSC * multiplier) >> 48) + offset),
 * trapped (RDTSC exiting; RDTSCP exits with it when "enable RDTSCP" is set, 25.1.3). */
void vmx_sync_tsc(struct cpu *c)
{
	struct vmx_cpu *x = cpu_vmx(c);
	enum tsc_path before = (enum tsc_path)c->tsc_programmed;
	uint64_t multiplier = 0, offset = 0;
	/* Without scaling, VMX traps (the offset-only path at 1x is SVM's: here "use TSC offsetting"
	 * alone is not checked for). */
	enum tsc_path path = tsc_scaling_choose(c, tsc_scaling_offered ? TSC_HW_SCALE : TSC_HW_NONE,
						&multiplier, &offset);
	uint32_t proc = x->proc_controls, proc2 = x->proc2_controls;
	switch (path) {
	case TSC_PATH_SCALED:
		proc = (proc & ~PROC_RDTSC_EXITING) | PROC_USE_TSC_OFFSETTING;
		proc2 |= PROC2_USE_TSC_SCALING;
		if (multiplier != x->tsc_multiplier) {
			vmwrite(VMCS_TSC_MULTIPLIER, multiplier);
			x->tsc_multiplier = multiplier;
		}
		if (offset != x->tsc_offset) {
			vmwrite(VMCS_TSC_OFFSET, offset);
			x->tsc_offset = offset;
		}
		break;
	case TSC_PATH_RAW:
		proc &= ~(PROC_RDTSC_EXITING | PROC_USE_TSC_OFFSETTING);
		proc2 &= ~PROC2_USE_TSC_SCALING;
		break;
	default:
		proc |= PROC_RDTSC_EXITING;
		break;
	}
	if (proc != x->proc_controls) {
		x->proc_controls = proc;
		vmwrite(VMCS_PROC_CONTROLS, proc);
	}
	if (proc2 != x->proc2_controls) {
		x->proc2_controls = proc2;
		vmwrite(VMCS_PROC_CONTROLS2, proc2);
	}
	if (path != before && !(c->tsc_paths_logged & (1u << path))) {
		c->tsc_paths_logged |= 1u << path;
		hv_log("cpu %u: TSC %s%s", c->index, tsc_path_name(path),
		       path == TSC_PATH_SCALED ? " by the CPU (no RDTSC exits)" :
		       path == TSC_PATH_TRAPPED ? ": RDTSC/RDTSCP now trapped" : "");
	}
}
