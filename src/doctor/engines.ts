import { run, type ProgramPath } from '../util/run.js';
import type { CpuReport } from './cpu.js';
import type { ToolStatus } from './tools.js';

export type EngineName = 'qemu-tcg-svm' | 'bochs-vmx' | 'hardware';

export interface EngineReport {
  name: EngineName;
  usable: boolean;
  /** What it is, or why it cannot be used here. */
  reason: string;
  /** Catalog tools it needs. */
  requires: string[];
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
  if (absent.length) return { name: 'qemu-tcg-svm', usable: false, requires, reason: `needs ${absent.join(', ')}` };
  return { name: 'qemu-tcg-svm', usable: true, requires, reason: 'QEMU TCG emulates AMD SVM with nested paging; no hardware virtualisation needed (UEFI boot also needs ovmf)' };
}

function bochs(tools: readonly ToolStatus[], models: readonly string[]): EngineReport {
  const requires = ['bochs', 'bochsbios', 'vgabios'];
  const absent = missing(tools, requires);
  if (absent.length) return { name: 'bochs-vmx', usable: false, requires, reason: `needs ${absent.join(', ')}` };
  const vmxModels = BOCHS_VMX_MODELS.filter((m) => models.includes(m));
  if (vmxModels.length === 0) return { name: 'bochs-vmx', usable: false, requires, reason: `this Bochs has none of the VT-x CPU models ${BOCHS_VMX_MODELS.join(', ')} (built without VMX?)` };
  return { name: 'bochs-vmx', usable: true, requires, reason: `Bochs emulates Intel VT-x (CPU models ${vmxModels.join(', ')})` };
}

function hardware(cpu: Pick<CpuReport, 'vmx' | 'svm' | 'hypervisor'>): EngineReport {
  const requires: string[] = [];
  if (!cpu.vmx && !cpu.svm) {
    const where = cpu.hypervisor ? 'this machine is itself a virtual machine whose CPU shows neither vmx nor svm' : 'the CPU shows neither vmx nor svm (disabled in the firmware?)';
    return { name: 'hardware', usable: false, requires, reason: `${where}; boot tsx-hv media on a bare-metal machine with VT-x or AMD-V instead` };
  }
  if (cpu.hypervisor) return { name: 'hardware', usable: false, requires, reason: `the CPU offers ${cpu.vmx ? 'VMX' : 'SVM'} but this machine runs under a hypervisor: tsx-hv boots on bare metal` };
  return { name: 'hardware', usable: true, requires, reason: `bare metal with ${cpu.vmx ? 'Intel VT-x' : 'AMD-V'}: tsx-hv media can boot this machine` };
}
