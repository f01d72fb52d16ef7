import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsxHvError, UsageError } from './errors.js';
import { NODE, run } from './util/run.js';

/**
 * The tsx-hv Node addon (native/, built by scripts/build-addon.mjs): the vtime core from
 * hv-core/src/vtime behind `VirtualClock`, and `cpuProbe()`. It is loaded lazily, on first
 * use, so every other command works on a machine where it could not be built.
 */

/** What CPUID says about virtualisation and the TSC (Intel SDM vol. 2A / AMD APM vol. 3). */
export interface CpuProbe {
  vendor: string;
  brand: string;
  maxLeaf: number;
  maxExtendedLeaf: number;
  family: number;
  model: number;
  stepping: number;
  tsc: boolean;
  /** CPUID.1:ECX.VMX[5] (Intel VT-x). */
  vmx: boolean;
  /** CPUID.80000001h:ECX.SVM[2] (AMD-V). */
  svm: boolean;
  svmFeatures: { revision: number; nestedPaging: boolean; nripSave: boolean; tscRateMsr: boolean } | null;
  /** CPUID.1:ECX[31]: running under a hypervisor. */
  hypervisor: boolean;
  /** CPUID.40000000h EBX:ECX:EDX, e.g. "KVMKVMKVM", "tsx-hv-vtime". */
  hypervisorSignature: string | null;
  hypervisorMaxLeaf: number | null;
  /** CPUID.40000010h:EAX (VMware/KVM timing leaf) when offered. */
  hypervisorTscKhz: number | null;
  /** CPUID.80000007h:EDX[8]. */
  invariantTsc: boolean;
  /** CPUID.1:ECX[24]. */
  tscDeadline: boolean;
  /** CPUID.7.0:EBX[1]. */
  tscAdjust: boolean;
  /** CPUID.80000001h:EDX[27]. */
  rdtscp: boolean;
  /** Leaf 15h: TSC/crystal ratio; tscHz when all three fields are enumerated. */
  tscLeaf15: { denominator: number; numerator: number; crystalHz: number; tscHz: number | null } | null;
  /** Leaf 16h: processor base / max / bus frequency in MHz. */
  frequencyLeaf16: { baseMhz: number; maxMhz: number; busMhz: number } | null;
}

export interface VirtualClockState {
  /** Speed in effect now (1/1 until armed). */
  p: bigint;
  q: bigint;
  /** Speed that arming applies (the last accepted request). */
  pendingP: bigint;
  pendingQ: bigint;
  /** Rate of the newest epoch, 32.32 fixed point. */
  rate: bigint;
  epochCount: bigint;
  armed: boolean;
  /** Start of the newest epoch: reference real TSC and virtual TSC. */
  epochU: bigint;
  epochG: bigint;
  publishLead: bigint;
  cpus: number;
}

export interface VirtualClockOptions {
  /** CPUs sharing the timeline, 1 .. 64. */
  cpus: number;
  /** Real TSC at which the timeline starts (virtual = real there). Default 0n. */
  realTsc?: bigint;
}

type SpeedTerm = number | bigint;

interface RawClock {
  setSpeed(realTsc: bigint, p: SpeedTerm, q?: SpeedTerm): void;
  arm(realTsc: bigint): void;
  armed(): boolean;
  read(cpu: number, realTsc: bigint): bigint;
  toReal(virtualDeadline: bigint, cpu?: number): bigint;
  toVirtual(realTsc: bigint, cpu?: number): bigint;
  setCpuOffset(cpu: number, offset: bigint): void;
  writeTsc(cpu: number, realTsc: bigint, value: bigint): void;
  writeTscAdjust(cpu: number, value: bigint): void;
  readTscAdjust(cpu: number): bigint;
  setPublishLead(ticks: bigint): void;
  state(): VirtualClockState;
}

/** The addon module as loaded. */
export interface NativeAddon {
  VirtualClock: new (opts: VirtualClockOptions) => RawClock;
  cpuProbe(): CpuProbe;
  maxCpus: number;
}

/** The addon was not built or does not load on this machine. */
export class NativeAddonError extends TsxHvError {
  readonly path: string;
  constructor(path: string, detail: string, cause?: unknown) {
    super('NATIVE_ADDON', `the tsx-hv native addon is not available (${path}): ${detail}`, {
      hint: 'run `tsx-hv build` (or `npm run build:addon`); it needs cmake and a C/C++ compiler (Debian: apt-get install cmake g++)',
      cause,
    });
    this.name = 'NativeAddonError';
    this.path = path;
  }
}

/** A VirtualClock call was given a bad argument; `reason` is ETYPE, EINVAL or ERANGE. */
export class VtimeError extends UsageError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message, reason === 'ERANGE' ? 'speeds must be between 1/1000 and 10000' : undefined);
    this.name = 'VtimeError';
    this.reason = reason;
  }
}

/** The package root: one level above this file, both as src/native.ts and dist/native.js. */
function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

/** Where the addon is loaded from: $TSX_HV_NATIVE, or build/native/Release/tsx_hv_native.node. */
export function nativeAddonPath(): string {
  return process.env.TSX_HV_NATIVE ?? join(packageRoot(), 'build', 'native', 'Release', 'tsx_hv_native.node');
}

let loaded: { path: string; addon: NativeAddon } | undefined;

/** Loads the addon once (per path); throws NativeAddonError saying how to build it. */
export function loadNative(): NativeAddon {
  const path = nativeAddonPath();
  if (loaded?.path === path) return loaded.addon;
  if (!existsSync(path)) throw new NativeAddonError(path, 'it has not been built');
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new NativeAddonError(path, `it does not load: ${(err as Error).message}`, err);
  }
  loaded = { path, addon };
  return addon;
}

/** True when the addon can be loaded (for `tsx-hv doctor`). */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

/** Builds the addon (scripts/build-addon.mjs --strict); returns the addon's path. */
export async function buildNative(opts: { verbose?: boolean } = {}): Promise<string> {
  await run(NODE, [join(packageRoot(), 'scripts', 'build-addon.mjs'), '--strict'], {
    cwd: packageRoot(),
    stdout: opts.verbose ? 'inherit' : 'pipe',
    stderr: opts.verbose ? 'inherit' : 'pipe',
    hint: 'install cmake and a C/C++ compiler (Debian: apt-get install cmake g++)',
  });
  return nativeAddonPath();
}

/** CPUID facts about this machine, through the addon. */
export function cpuProbe(): CpuProbe {
  return loadNative().cpuProbe();
}

function vtimeCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    if (typeof e.code === 'string' && /^E(TYPE|INVAL|RANGE)$/.test(e.code)) {
      throw new VtimeError(e.code, String(e.message));
    }
    throw err;
  }
}

/**
 * The vtime core (docs/design/vtime.md): one virtual timeline, speeds p/q from 1/1000 to
 * 10000, held at 1x until armed. TSC values are bigint; bad arguments throw VtimeError.
 */
export class VirtualClock {
  readonly #raw: RawClock;

  constructor(opts: VirtualClockOptions) {
    const { VirtualClock: Raw } = loadNative();
    this.#raw = vtimeCall(() => new Raw(opts));
  }

  /** Requests speed p/q at reference real TSC realTsc (kept until armed). */
  setSpeed(realTsc: bigint, p: SpeedTerm, q: SpeedTerm = 1): void {
    vtimeCall(() => this.#raw.setSpeed(realTsc, p, q));
  }

  /** Arms the clock: the requested speed takes effect at realTsc. */
  arm(realTsc: bigint): void {
    vtimeCall(() => this.#raw.arm(realTsc));
  }

  armed(): boolean {
    return this.#raw.armed();
  }

  /** Virtual TSC of `cpu` at its raw real TSC (the RDTSC path). */
  read(cpu: number, realTsc: bigint): bigint {
    return vtimeCall(() => this.#raw.read(cpu, realTsc));
  }

  /** Earliest raw real TSC of `cpu` at which the virtual TSC reaches the deadline. */
  toReal(virtualDeadline: bigint, cpu = 0): bigint {
    return vtimeCall(() => this.#raw.toReal(virtualDeadline, cpu));
  }

  toVirtual(realTsc: bigint, cpu = 0): bigint {
    return vtimeCall(() => this.#raw.toVirtual(realTsc, cpu));
  }

  /** Per-CPU real-TSC skew: reference TSC = raw TSC of cpu + offset. */
  setCpuOffset(cpu: number, offset: bigint): void {
    vtimeCall(() => this.#raw.setCpuOffset(cpu, offset));
  }

  /** Guest WRMSR IA32_TSC on `cpu` at raw real TSC realTsc. */
  writeTsc(cpu: number, realTsc: bigint, value: bigint): void {
    vtimeCall(() => this.#raw.writeTsc(cpu, realTsc, value));
  }

  /** Guest WRMSR IA32_TSC_ADJUST on `cpu`. */
  writeTscAdjust(cpu: number, value: bigint): void {
    vtimeCall(() => this.#raw.writeTscAdjust(cpu, value));
  }

  readTscAdjust(cpu: number): bigint {
    return vtimeCall(() => this.#raw.readTscAdjust(cpu));
  }

  /** Ticks between a writer's real TSC and the start of the epoch it publishes. */
  setPublishLead(ticks: bigint): void {
    vtimeCall(() => this.#raw.setPublishLead(ticks));
  }

  state(): VirtualClockState {
    return this.#raw.state();
  }
}
