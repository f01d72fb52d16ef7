import { readFile } from 'node:fs/promises';
import { cpuProbe, type CpuProbe } from '../native.js';
import { run } from '../util/run.js';
import { findTool } from './locate.js';

/** What doctor reports about the host CPU. */
export interface CpuReport {
  /** Where the CPUID facts came from: the native addon's CPUID probe, or Linux's /proc/cpuinfo. */
  source: 'native-addon' | 'proc-cpuinfo';
  /** Why the addon was not used (null when it was). */
  addonUnavailable: string | null;
  /** CPUID vendor string: GenuineIntel, AuthenticAMD, ... */
  vendor: string | null;
  model: string | null;
  logicalCpus: number;
  /** Intel VT-x (CPUID.1:ECX[5]). */
  vmx: boolean;
  /** AMD-V (CPUID.80000001h:ECX[2]). */
  svm: boolean;
  /** Running under a hypervisor (CPUID.1:ECX[31]). */
  hypervisor: boolean;
  /** Which one, when the kernel said so ("Hypervisor detected: KVM"). */
  hypervisorVendor: string | null;
  /** CPUID.40000000h signature (e.g. "KVMKVMKVM"); only known through the addon. */
  hypervisorSignature: string | null;
  constantTsc: boolean;
  nonstopTsc: boolean;
  /** Invariant TSC (CPUID.80000007h:EDX[8]); Linux shows it as constant_tsc + nonstop_tsc. */
  invariantTsc: boolean;
  tscDeadline: boolean;
  rdtscp: boolean;
  tscHz: number | null;
  /**
   * cpuid-15h / cpuid-40000010h: announced by the CPU or hypervisor (through the addon);
   * kernel-log: the kernel's calibration; cpuinfo-mhz: "cpu MHz" of CPU 0 (an approximation).
   */
  tscHzSource: 'cpuid-15h' | 'cpuid-40000010h' | 'kernel-log' | 'cpuinfo-mhz' | null;
  /** The kernel's current clocksource (tsc, hpet, kvm-clock, ...). */
  clocksource: string | null;
}

/** Parse /proc/cpuinfo (x86 format: one "key : value" block per logical CPU). */
export type CpuinfoFacts = Omit<CpuReport, 'addonUnavailable' | 'hypervisorVendor' | 'hypervisorSignature' | 'tscHz' | 'tscHzSource' | 'clocksource'> & {
  mhz: number | null;
};

export function parseCpuinfo(text: string): CpuinfoFacts {
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  const first = fields(blocks[0] ?? '');
  const flags = new Set((first.get('flags') ?? '').split(/\s+/).filter(Boolean));
  const mhz = Number.parseFloat(first.get('cpu MHz') ?? '');
  return {
    source: 'proc-cpuinfo',
    vendor: first.get('vendor_id') ?? null,
    model: first.get('model name') ?? null,
    logicalCpus: blocks.length,
    vmx: flags.has('vmx'),
    svm: flags.has('svm'),
    hypervisor: flags.has('hypervisor'),
    constantTsc: flags.has('constant_tsc'),
    nonstopTsc: flags.has('nonstop_tsc'),
    invariantTsc: flags.has('constant_tsc') && flags.has('nonstop_tsc'),
    tscDeadline: flags.has('tsc_deadline_timer'),
    rdtscp: flags.has('rdtscp'),
    mhz: Number.isFinite(mhz) ? mhz : null,
  };
}

/**
 * The kernel's TSC frequency and hypervisor from its log: the refined calibration when present
 * ("tsc: Refined TSC clocksource calibration: 2445.404 MHz"), else the early one
 * ("tsc: Detected 2445.404 MHz processor").
 */
export function parseKernelLog(text: string): { tscHz: number | null; hypervisorVendor: string | null } {
  const refined = /tsc: Refined TSC clocksource calibration: ([\d.]+) MHz/.exec(text);
  const detected = /tsc: Detected ([\d.]+) MHz/.exec(text);
  const mhz = refined?.[1] ?? detected?.[1];
  const hv = /Hypervisor detected: (.+)$/m.exec(text);
  return { tscHz: mhz ? Math.round(Number.parseFloat(mhz) * 1e6) : null, hypervisorVendor: hv?.[1]?.trim() ?? null };
}

/**
 * Combine the sources into one report. CPUID facts come from the addon's probe when it loaded
 * (`probe` not null), else from /proc/cpuinfo; the TSC frequency from CPUID leaves when the CPU
 * announces it, else the kernel's calibration, else "cpu MHz".
 */
export function combineCpuFacts(
  cpuinfo: CpuinfoFacts,
  kernel: { tscHz: number | null; hypervisorVendor: string | null },
  clocksource: string | null,
  probe: CpuProbe | null,
  addonUnavailable: string | null,
): CpuReport {
  const { mhz, ...linux } = cpuinfo;
  const base = { ...linux, addonUnavailable, hypervisorVendor: kernel.hypervisorVendor, clocksource };
  const fallbackHz = kernel.tscHz ?? (mhz === null ? null : Math.round(mhz * 1e6));
  const fallbackSource = kernel.tscHz !== null ? 'kernel-log' : fallbackHz !== null ? 'cpuinfo-mhz' : null;
  if (probe === null) return { ...base, hypervisorSignature: null, tscHz: fallbackHz, tscHzSource: fallbackSource };
  const leaf15 = probe.tscLeaf15?.tscHz ?? null;
  const leaf40 = probe.hypervisorTscKhz === null ? null : probe.hypervisorTscKhz * 1000;
  return {
    ...base,
    source: 'native-addon',
    vendor: probe.vendor,
    model: probe.brand,
    vmx: probe.vmx,
    svm: probe.svm,
    hypervisor: probe.hypervisor,
    hypervisorSignature: probe.hypervisorSignature,
    invariantTsc: probe.invariantTsc,
    tscDeadline: probe.tscDeadline,
    rdtscp: probe.rdtscp,
    tscHz: leaf15 ?? leaf40 ?? fallbackHz,
    tscHzSource: leaf15 !== null ? 'cpuid-15h' : leaf40 !== null ? 'cpuid-40000010h' : fallbackSource,
  };
}

/**
 * Probe the host CPU: the addon's CPUID probe when the addon loads, /proc/cpuinfo otherwise;
 * the kernel log (dmesg; may be restricted for non-root users) and sysfs for the rest.
 */
export async function probeCpu(root = '/'): Promise<CpuReport> {
  const cpuinfo = parseCpuinfo(await readFile(`${root}proc/cpuinfo`, 'utf8'));
  const kernel = parseKernelLog(await kernelLog());
  const clocksource = await readFile(`${root}sys/devices/system/clocksource/clocksource0/current_clocksource`, 'utf8').then(
    (s) => s.trim() || null,
    () => null,
  );
  let probe: CpuProbe | null = null;
  let addonUnavailable: string | null = null;
  try {
    probe = cpuProbe();
  } catch (err) {
    addonUnavailable = (err as Error).message;
  }
  return combineCpuFacts(cpuinfo, kernel, clocksource, probe, addonUnavailable);
}

async function kernelLog(): Promise<string> {
  const dmesg = await findTool('dmesg');
  if (dmesg === null) return '';
  const r = await run(dmesg, [], { allowFailure: true, timeout: 10_000 });
  return r.exitCode === 0 ? r.stdout : '';
}

function fields(block: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of block.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) map.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return map;
}
