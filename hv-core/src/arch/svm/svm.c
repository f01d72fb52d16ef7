/*
 * svm.c - enabling SVM and building the VMCB (AMD APM vol. 2, 15.4 "Enabling SVM", 15.5
 * "VMRUN", 15.10 "I/O intercepts", 15.11 "MSR intercepts").
 *
 * Intercepts: VMRUN (required by VMRUN's consistency checks), SMI and NMI (taken in host
 * context, exit.c: an NMI is the hypervisor's kick or re-injected), CPUID, RDTSC + RDTSCP once the
 * guest clock differs from the real TSC (QEMU TCG reports RDTSCP as RDTSC; real hardware uses
 * 0x87), HLT (idle: the control port is polled
 * while the guest waits), SHUTDOWN, VMMCALL (hypercalls), the other SVM instructions (SVM is
 * hidden from the guest: #UD), I/O ports hooked by devices, the MSRs msr_policy owns, and
 * SVM's own MSRs (hidden from the guest: #GP, svm_arch_msr_is_private).
 */
#include "svm.h"
#include "guest_time.h"
#include "hvlib.h"
#include "io_hooks.h"
#include "log.h"
#include "msr_policy.h"
#include "page_alloc.h"
#include "spinlock.h"
#include "vcpu.h"
#include "x86.h"
#include "tsc_scaling.h"

#define CPUID_EXT_SVM (1u << 2)     /* CPUID 0x80000001 ECX */
#define CPUID_SVM_NPT (1u << 0)     /* CPUID 0x8000000A EDX */
#define VM_CR_SVMDIS (1ull << 4)
#define GUEST_ASID 1
#define PAT_POWER_ON 0x0007040600070406ull

/* SVM's MSRs: hidden from the guest (svm_arch_msr_is_private), so always intercepted. */
static const uint32_t private_msrs[] = { MSR_TSC_RATIO, MSR_VM_CR, MSR_VM_HSAVE_PA };

static uint8_t *msrpm;
static uint8_t *iopm;
static struct spinlock maps_lock;

const char *svm_arch_unsupported_reason(void)
{
	if (cpuid(0x80000000, 0).eax < 0x8000000A)
		return "CPU has no extended leaf 0x8000000A";
	if (!(cpuid(0x80000001, 0).ecx & CPUID_EXT_SVM))
		return "CPU has no SVM (AMD-V); QEMU needs -cpu ...,+svm";
	if (!(cpuid(0x8000000A, 0).edx & CPUID_SVM_NPT))
		return "CPU has no nested paging; QEMU needs -cpu ...,+npt";
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS)
		return "SVM is disabled by the firmware (VM_CR.SVMDIS)";
	return NULL;
}

/* MSR permission map: 2 bits per MSR (read, write) in three 2 KiB ranges (APM vol. 2,
 * 15.11 "MSR Intercepts"). MSRs outside the ranges always exit. */
static void msrpm_set(uint32_t msr, bool read, bool write)
{
	uint32_t base;
	if (msr < 0x2000)
		base = 0;
	else if (msr >= 0xC0000000 && msr < 0xC0002000)
		base = 0x800 * 8, msr -= 0xC0000000;
	else if (msr >= 0xC0010000 && msr < 0xC0012000)
		base = 0x1000 * 8, msr -= 0xC0010000;
	else
		return;
	uint32_t bit = base + msr * 2;
	if (read)
		msrpm[bit / 8] |= (uint8_t)(1u << (bit % 8));
	if (write)
		msrpm[(bit + 1) / 8] |= (uint8_t)(1u << ((bit + 1) % 8));
}

bool svm_arch_msr_is_private(uint32_t msr)
{
	for (unsigned i = 0; i < ARRAY_SIZE(private_msrs); i++)
		if (msr == private_msrs[i])
			return true;
	return false;
}

static void iopm_set(uint16_t port, uint16_t count)
{
	for (uint32_t p = port; p < (uint32_t)port + count; p++)
		iopm[p / 8] |= (uint8_t)(1u << (p % 8));
}

void svm_arch_cpu_init(struct cpu *c, uint64_t npt_root)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	c->hsave_pa = virt_to_phys(page_alloc(1));
	wrmsr(MSR_VM_HSAVE_PA, c->hsave_pa);
	void *host_save = page_alloc(1);
	c->host_save_va = (uint64_t)(uintptr_t)host_save;
	c->host_save_pa = virt_to_phys(host_save);

	spin_lock(&maps_lock);
	if (!msrpm) {
		msrpm = page_alloc(SVM_MSRPM_SIZE / PAGE_SIZE);
		iopm = page_alloc(SVM_IOPM_SIZE / PAGE_SIZE);
		for (unsigned i = 0; i < msr_policy_count(); i++) {
			const struct msr_intercept *m = msr_policy_at(i);
			msrpm_set(m->msr, m->read, m->write);
		}
		for (unsigned i = 0; i < ARRAY_SIZE(private_msrs); i++)
			msrpm_set(private_msrs[i], true, true);
		for (unsigned i = 0; i < io_hook_count(); i++)
			iopm_set(io_hook_at(i)->base, io_hook_at(i)->count);
	}
	spin_unlock(&maps_lock);

	struct vmcb *v = page_alloc(1);
	c->vmcb = v;
	c->vmcb_pa = virt_to_phys(v);
	/* RDTSC/RDTSCP start untrapped: see svm_sync_tsc. */
	v->control.intercept_misc1 = SVM_INTERCEPT_CPUID | SVM_INTERCEPT_HLT | SVM_INTERCEPT_SMI | SVM_INTERCEPT_NMI |
				     SVM_INTERCEPT_INVLPGA | SVM_INTERCEPT_IOIO_PROT |
				     SVM_INTERCEPT_MSR_PROT | SVM_INTERCEPT_SHUTDOWN;
	v->control.intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL |
				     SVM_INTERCEPT_VMLOAD | SVM_INTERCEPT_VMSAVE |
				     SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI | SVM_INTERCEPT_SKINIT;
	v->control.iopm_base_pa = virt_to_phys(iopm);
	v->control.msrpm_base_pa = virt_to_phys(msrpm);
	v->control.guest_asid = GUEST_ASID;
	v->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
	v->control.np_enable = 1;
	v->control.n_cr3 = npt_root;
	v->save.g_pat = PAT_POWER_ON;
	v->save.dr6 = 0xFFFF0FF0;
	v->save.dr7 = 0x400;
}


/* The path tsc_scaling_choose picks for this entry (tsc_scaling.h). SVM offsets the TSC
 * (VMCB TSC_OFFSET: RDTSC/RDTSCP return TSC + offset in guest mode, APM vol. 2, 15.30.5) but
 * is not given a ratio here, so:
 *   raw      before the clock is virtualised (not armed, no guest write of IA32_TSC or
 *            TSC_ADJUST): no exits, no offset; boot pays nothing for its clock reads;
 *   scaled   armed at exactly 1x: the offset alone makes the real TSC vtime's value, no exits
 *            (an installed OS's agent arms during boot: the rest of the boot reads its clock
 *            at full speed);
 *   trapped  any other speed: RDTSC/RDTSCP exit and vtime answers.
 * Under QEMU TCG each exit costs far more than on hardware (a full TLB flush per world switch:
 * docs/hypervisor.md), which is what this saves. */
void svm_sync_tsc(struct cpu *c)
{
	struct vmcb *v = cpu_vmcb(c);
	enum tsc_path before = (enum tsc_path)c->tsc_programmed;
	uint64_t multiplier = 0, offset = 0;
	enum tsc_path path = tsc_scaling_choose(c, TSC_HW_OFFSET, &multiplier, &offset);
	if (path == TSC_PATH_TRAPPED) {
		v->control.intercept_misc1 |= SVM_INTERCEPT_RDTSC;
		v->control.intercept_misc2 |= SVM_INTERCEPT_RDTSCP;
	} else {
		v->control.intercept_misc1 &= ~SVM_INTERCEPT_RDTSC;
		v->control.intercept_misc2 &= ~SVM_INTERCEPT_RDTSCP;
		v->control.tsc_offset = path == TSC_PATH_SCALED ? offset : 0;
	}
	if (path != before && !(c->tsc_paths_logged & (1u << path))) {
		c->tsc_paths_logged |= 1u << path;
		hv_log("cpu %u: TSC %s%s", c->index, tsc_path_name(path),
		       path == TSC_PATH_SCALED ? " at 1x by the offset alone (no RDTSC exits)" :
		       path == TSC_PATH_TRAPPED ? ": RDTSC/RDTSCP now trapped" : "");
	}
}
