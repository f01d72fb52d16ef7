import { BOCHS_CPU_MODELS } from '../engines/bochs-config.js';
import type { EngineName as MachineEngine } from '../engines/machine.js';
import { run, type ProgramPath } from '../util/run.js';
import type { CpuReport } from './cpu.js';
import type { ToolStatus } from './tools.js';

export type EngineName = 'qemu-tcg-svm' | 'bochs-vmx' | 'hardware';

export interface EngineReport {
  name: EngineName;
  /** The `--engine` value that runs machines here (null: boot real hardware from the media). */
  engine: MachineEngine | null;
  usable: boolean;
  /** What it is, or why it cannot be used here. */
  reason: string;
  /** Catalog tools it needs. */
  requires: string[];
  /** The emulator's version, where known (QEMU). */
  version?: string | null;
  /** What this version of the engine cannot do for tsx-hv (QEMU before 9.2: real-mode nested paging). */
  limits?: string[];
}

/**
 * Bochs 2.7 CPU models that emulate VT-x with EPT, unrestricted guest and TSC scaling: what the
 * VMX backend needs (../shared/design/PLATFORM-FACTS.md, checked against Bochs' cpudb).
 */
export const BOCHS_VMX_MODELS = ['corei7_skylake_x', 'corei3_cnl', 'corei7_icelake_u', 'tigerlake'] as const;

/** The CPU models this Bochs build knows (`bochs --help cpu`). */
export async function bochsCpuModels(bochsPath: ProgramPath): Promise<string[]> {
  const r = await run(bochsPath, ['--help', 'cpu'], { allowFailure: true, timeout: 10_000 });
  const text = `${r.stdout}\n${r.stderr}`;
  const start = text.indexOf('Supported CPU models:');
  if (start < 0) return [];
  const models: string[] = [];
  for (const line of text.slice(start).split('\n').slice(1)) {
    const name = line.trim();
    if (name === '' && models.length === 0) continue;
    if (!/^[a-z0-9_]+$/.test(name)) break;
    models.push(name);
  }
  return models;
}

/** Which engines can run here, from the probed tools, the CPU and Bochs' model list. */
export function judgeEngines(tools: readonly ToolStatus[], cpu: Pick<CpuReport, 'vmx' | 'svm' | 'hypervisor'>, bochsModels: readonly string[]): EngineReport[] {
  return [qemu(tools), bochs(tools, bochsModels), hardware(cpu)];
}

function missing(tools: readonly ToolStatus[], names: readonly string[]): string[] {
  return names.filter((n) => !tools.find((t) => t.name === n)?.found);
}

function qemu(tools: readonly ToolStatus[]): EngineReport {
  const requires = ['qemu-system-x86_64'];
  const absent = missing(tools, requires);
  const engine = 'qemu';
  if (absent.length) return { name: 'qemu-tcg-svm', engine, usable: false, requires, reason: `needs ${absent.join(', ')}` };
  const version = tools.find((t) => t.name === 'qemu-system-x86_64')?.version ?? null;
  const limits = qemuLimits(version);
  return {
    name: 'qemu-tcg-svm',
    engine,
    usable: true,
    requires,
    version,
    limits,
    reason: `QEMU${version ? ` ${version}` : ''} TCG emulates AMD SVM with nested paging; no hardware virtualisation needed (UEFI boot also needs ovmf); machines of 2+ CPUs run single-threaded (multi-threaded TCG races on vCPU 0's state and kills the hypervisor: docs/engines.md)${limits.length ? `; cannot: ${limits.join('; ')}` : ''}`,
  };
}

/** Whether a dotted version is at least major.minor. */
function atLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  return Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
}

/**
 * What this QEMU cannot do for tsx-hv (PLATFORM-FACTS.md, "QEMU 10.0 from bookworm-backports"):
 * before 9.2 TCG ignores nested paging while the guest's paging is off, so a guest in real mode
 * (a chain-booted OS's boot sector and loader, the Linux AP trampoline) is not kept out of the
 * hypervisor's memory and its MMIO is not trapped; before 9.2 there is no x2APIC under TCG either.
 * An unknown version is reported as unknown, not guessed.
 */
export function qemuLimits(version: string | null): string[] {
  if (version === null) return ['(version unknown: nested paging in real mode and x2APIC need QEMU 9.2+)'];
  if (atLeast(version, 9, 2)) return [];
  return ['nested paging while the guest runs in real mode (a chain-booted OS is not kept out of the hypervisor\'s memory until it enables paging; QEMU 9.2+, e.g. 10.0 from Debian bookworm-backports)', 'x2APIC'];
}

/**
 * Bochs runs the VMX backend when it has the VT-x model tsx-hv boots (BOCHS_CPU_MODELS.intel);
 * `--cpu amd` also needs its SVM model.
 */
function bochs(tools: readonly ToolStatus[], models: readonly string[]): EngineReport {
  const requires = ['bochs', 'bochsbios', 'vgabios'];
  const absent = missing(tools, requires);
  const engine = 'bochs';
  if (absent.length) return { name: 'bochs-vmx', engine, usable: false, requires, reason: `needs ${absent.join(', ')}` };
  const version = tools.find((t) => t.name === 'bochs')?.version;
  const bochsName = version ? `Bochs ${version}` : 'Bochs';
  const vmxModels = BOCHS_VMX_MODELS.filter((m) => models.includes(m));
  if (!models.includes(BOCHS_CPU_MODELS.intel)) {
    const others = vmxModels.length ? ` (it has ${vmxModels.join(', ')}, which tsx-hv does not use)` : ' (built without VMX?)';
    return { name: 'bochs-vmx', engine, usable: false, requires, reason: `${bochsName} lacks the VT-x CPU model ${BOCHS_CPU_MODELS.intel}${others}` };
  }
  const amd = models.includes(BOCHS_CPU_MODELS.amd) ? `and AMD SVM (${BOCHS_CPU_MODELS.amd}, --cpu amd)` : `(no ${BOCHS_CPU_MODELS.amd} model: no --cpu amd)`;
  return { name: 'bochs-vmx', engine, usable: true, requires, reason: `${bochsName} emulates Intel VT-x (${BOCHS_CPU_MODELS.intel}) ${amd}: --engine bochs` };
}

function hardware(cpu: Pick<CpuReport, 'vmx' | 'svm' | 'hypervisor'>): Omit<EngineReport, 'engine'> & { engine: null } {
  const requires: string[] = [];
  if (!cpu.vmx && !cpu.svm) {
    const where = cpu.hypervisor ? 'this machine is itself a virtual machine whose CPU shows neither vmx nor svm' : 'the CPU shows neither vmx nor svm (disabled in the firmware?)';
    return { name: 'hardware', engine: null, usable: false, requires, reason: `${where}; boot tsx-hv media on a bare-metal machine with VT-x or AMD-V instead` };
  }
  if (cpu.hypervisor) return { name: 'hardware', engine: null, usable: false, requires, reason: `the CPU offers ${cpu.vmx ? 'VMX' : 'SVM'} but this machine runs under a hypervisor: tsx-hv boots on bare metal` };
  return { name: 'hardware', engine: null, usable: true, requires, reason: `bare metal with ${cpu.vmx ? 'Intel VT-x' : 'AMD-V'}: tsx-hv media can boot this machine` };
}
