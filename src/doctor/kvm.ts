import { constants } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import type { CpuReport } from './cpu.js';

/** What the host's /dev/kvm looks like. */
export interface KvmFacts {
  device: string;
  present: boolean;
  /** This user can open it read-write. */
  accessible: boolean;
  /** Loaded KVM modules (kvm, kvm_intel, kvm_amd, kvm_pvm, ...), from /sys/module. */
  modules: string[];
  /** The vendor module's `nested` parameter; null when no vendor module is loaded. */
  nested: boolean | null;
}

export interface KvmReport extends KvmFacts {
  /** A guest of this KVM could itself run a hypervisor (such as tsx-hv). */
  canRunNestedHypervisor: boolean;
  /** Why (not), in words. */
  reason: string;
}

const VENDOR_MODULES = { vmx: 'kvm_intel', svm: 'kvm_amd' } as const;

/**
 * Decide whether /dev/kvm can run a nested hypervisor. It can only when the host CPU itself offers
 * VMX or SVM, the matching vendor module (kvm_intel / kvm_amd) serves /dev/kvm, and that module
 * was loaded with nested=1 (Linux Documentation/virt/kvm/x86/running-nested-guests.rst).
 */
export function judgeKvm(facts: KvmFacts, cpu: Pick<CpuReport, 'vmx' | 'svm'>): KvmReport {
  const problems: string[] = [];
  if (!facts.present) problems.push(`there is no ${facts.device} (KVM is not loaded here, or the device is not passed into this container)`);
  else if (!facts.accessible) problems.push(`${facts.device} exists but this user cannot open it (join the kvm group, or run as root)`);
  if (!cpu.vmx && !cpu.svm) problems.push('the CPU offers neither VMX nor SVM (no vmx/svm flag in /proc/cpuinfo), so KVM has no virtualisation extensions to pass on to a guest');
  const vendorModule = cpu.vmx ? VENDOR_MODULES.vmx : cpu.svm ? VENDOR_MODULES.svm : null;
  if (facts.modules.includes('kvm_pvm') && (vendorModule === null || !facts.modules.includes(vendorModule))) {
    problems.push('/dev/kvm is served by kvm_pvm, a paravirtual (PVM) backend that runs only PVM-enabled guest kernels: not an ordinary kernel, not a hypervisor');
  }
  if (facts.present && vendorModule !== null) {
    if (!facts.modules.includes(vendorModule)) problems.push(`${vendorModule} is not loaded`);
    else if (facts.nested !== true) problems.push(`${vendorModule} was loaded without nested virtualisation (reload it with \`modprobe ${vendorModule} nested=1\`)`);
  }
  if (problems.length > 0) return { ...facts, canRunNestedHypervisor: false, reason: problems.join('; ') };
  return { ...facts, canRunNestedHypervisor: true, reason: `${vendorModule} with nested=1: a KVM guest can run a hypervisor` };
}

/** Read the real /dev/kvm and /sys/module of this machine (`root` lets a test point elsewhere). */
export async function probeKvm(cpu: Pick<CpuReport, 'vmx' | 'svm'>, root = '/'): Promise<KvmReport> {
  const device = `${root}dev/kvm`;
  const present = await access(device, constants.F_OK).then(() => true, () => false);
  const accessible = present && (await access(device, constants.R_OK | constants.W_OK).then(() => true, () => false));
  const modules = (await readdir(`${root}sys/module`).catch(() => [] as string[])).filter((m) => /^kvm(_\w+)?$/.test(m)).sort();
  let nested: boolean | null = null;
  for (const vendor of Object.values(VENDOR_MODULES)) {
    const value = await readFile(`${root}sys/module/${vendor}/parameters/nested`, 'utf8').catch(() => null);
    if (value !== null) nested = /^(1|Y)/i.test(value.trim());
  }
  return judgeKvm({ device: '/dev/kvm', present, accessible, modules, nested }, cpu);
}
