/**
 * The scenario file format: JSON Schemas (validated with ajv) and the normalised TypeScript
 * types the runner executes. The reference for users is docs/scenarios.md.
 *
 * A step is a mapping with exactly one action key (`measure: 5`, `speed: 60`, ...) plus that
 * action's options and the common `name` and `timeout`. The loader finds the action key first and
 * then validates the step against that action's schema alone, so an error says
 * "steps[3].tolerance: must be number" instead of a wall of oneOf alternatives.
 */
import type { Speed } from '../control/speed.js';
import { MAX_IPS, MIN_IPS } from '../engines/bochs-config.js';
import { CPU_VENDORS, ENGINE_TIMING, ENGINES, type CpuVendor, type EngineName } from '../engines/machine.js';

export const STEP_KINDS = ['wait', 'arm', 'speed', 'hotkey', 'measure', 'exec', 'sleep', 'monotonic', 'poweroff'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export type Via = 'control' | 'hotkey' | 'hypercall';
export type HotkeyName = 'toggle' | 'faster' | 'slower';
export type SleepExpectation = 'scaled' | 'unchanged' | 'report';

interface StepCommon {
  /** Display name; defaults to a description of the action. */
  name: string;
  /** Host seconds before the step counts as hung (exit 124); default by kind (runner.ts). */
  timeoutS?: number;
  /** 1-based line of the step in its file, for messages; 0 for built-in scenarios. */
  line: number;
}

export type Step = StepCommon &
  (
    | { kind: 'wait'; pattern: string; regex: boolean; on: 'console' | 'hypervisor' }
    | { kind: 'arm'; via: 'control' | 'hypercall' }
    | { kind: 'speed'; speed: Speed; via: Via }
    | { kind: 'hotkey'; keys: HotkeyName | string[]; times: number; gapS: number; expect?: Speed }
    | { kind: 'measure'; durationS: number; expect?: Speed; tolerancePct: number; minR2: number }
    | { kind: 'exec'; command: string; exit: number; output?: string }
    | { kind: 'sleep'; seconds: number; expect: SleepExpectation; tolerancePct: number }
    | { kind: 'monotonic' }
    | { kind: 'poweroff' }
  );

export interface MachineSpec {
  engine: EngineName;
  /** Bochs only: the CPU vendor (intel: VT-x, the default; amd: SVM). */
  cpuVendor?: CpuVendor;
  /** Bochs only: emulated instructions per second (the guest's TSC rate). */
  ips?: number;
  cpus: number;
  memory: string;
  /** Boot media; when absent the standard build output, rebuilt if stale. */
  media?: string;
  /**
   * A machine that is already running under tsx-hv, reached over ssh (ssh://[user@]host[:port]):
   * nothing is booted or powered off; its agent measures and changes the speed.
   */
  target?: string;
  /** ssh private key and extra ssh -o options for `target`. */
  identity?: string;
  sshOptions?: string[];
  /** The machine's own disks (raw or .qcow2), attached writable after the media (QEMU). */
  disks?: string[];
  /**
   * 'disk': no media; the machine boots its first disk (e.g. provisioned with --hypervisor).
   * 'chain': the media's chain entry starts the first disk's OS under the hypervisor (BIOS or UEFI).
   */
  boot?: 'media' | 'disk' | 'chain';
  /** The machine's firmware (QEMU): SeaBIOS (default) or OVMF. */
  firmware?: 'bios' | 'uefi';
  /** Hypervisor command line (space-separated key=value), baked into the media that is built. */
  hypervisor?: string;
  /** Guest kernel command line additions for the media that is built. */
  append?: string;
  kernel?: string;
  initrd?: string;
  /** Host seconds from power-on to the agent's ready line. */
  bootTimeoutS: number;
}

export interface Scenario {
  name: string;
  description?: string;
  /** Where it came from: a file path, or `builtin:<name>`. */
  source: string;
  machine: MachineSpec;
  steps: Step[];
  /** Host seconds for the whole scenario, boot included; every step has its own limit too. */
  timeoutS?: number;
}

export const DEFAULT_TOLERANCE_PCT = 2;
/**
 * R² says how steadily the guest clock flowed during a measurement. Under QEMU TCG on a loaded
 * host, round trips of 10-40 ms with jitter give R² around 0.999 at 60x over 4 s (measured), so
 * the default only catches a clock that stalls or jumps, not round-trip noise.
 */
export const DEFAULT_MIN_R2 = 0.99;
export const DEFAULT_MEASURE_S = 5;
export const DEFAULT_SLEEP_TOLERANCE_PCT = 15;
/**
 * Boot to agent ready takes 30-100 s under QEMU TCG with RDTSC trapping on a loaded 2-core host
 * (measured): 300 s. Every engine's limit is in ENGINE_TIMING (src/engines/machine.ts).
 */
export const DEFAULT_BOOT_TIMEOUT_S = ENGINE_TIMING.qemu.readyMs / 1000;

/** A machine's boot limit when the scenario gives none. */
export function defaultBootTimeoutS(engine: EngineName): number {
  return ENGINE_TIMING[engine].readyMs / 1000;
}
export const DEFAULT_HOTKEY_GAP_S = 0.05;
/** The hypervisor runs every CPU the MADT lists; QEMU's -smp limit in qemu-args.ts is the same. */
export const MAX_CPUS = 64;

/** Only the type here: the value is checked by parseSpeed (src/control/speed.ts), the one speed parser. */
const speedSchema = {
  anyOf: [{ type: 'number' }, { type: 'string' }],
  description: 'a speed: a number (60, 0.5) or a fraction "P/Q" ("1/10")',
};
const seconds = { type: 'number', exclusiveMinimum: 0, maximum: 86400 };
const percent = { type: 'number', exclusiveMinimum: 0, maximum: 1000 };

const common = { name: { type: 'string', minLength: 1 }, timeout: seconds };

function step(action: Record<string, unknown>, options: Record<string, unknown> = {}): Record<string, unknown> {
  const [key] = Object.keys(action);
  return {
    type: 'object',
    required: [key],
    additionalProperties: false,
    properties: { ...action, ...options, ...common },
  };
}

/** One schema per action; the loader picks the one whose key the step carries. */
export const stepSchemas: Record<StepKind, Record<string, unknown>> = {
  wait: step({ wait: { type: 'string', minLength: 1 } }, { regex: { type: 'boolean' }, on: { enum: ['console', 'hypervisor'] } }),
  arm: step({ arm: { enum: ['control', 'hypercall'] } }),
  speed: step({ speed: speedSchema }, { via: { enum: ['control', 'hotkey', 'hypercall'] } }),
  hotkey: step(
    {
      hotkey: {
        anyOf: [
          { enum: ['toggle', 'faster', 'slower'] },
          { type: 'array', minItems: 1, maxItems: 8, items: { type: 'string', pattern: '^[a-z0-9_]+$' } },
        ],
        description: 'toggle, faster, slower, or a list of QEMU key names (["ctrl", "alt", "f12"])',
      },
    },
    { times: { type: 'integer', minimum: 1, maximum: 100000 }, gap: { type: 'number', minimum: 0, maximum: 60 }, expect: speedSchema },
  ),
  measure: step({ measure: seconds }, { expect: speedSchema, tolerance: percent, minR2: { type: 'number', minimum: 0, maximum: 1 } }),
  exec: step({ exec: { type: 'string', minLength: 1 } }, { exit: { type: 'integer', minimum: 0, maximum: 255 }, output: { type: 'string' } }),
  sleep: step({ sleep: seconds }, { expect: { enum: ['scaled', 'unchanged', 'report'] }, tolerance: percent }),
  monotonic: step({ monotonic: { const: true } }),
  poweroff: step({ poweroff: { const: true } }),
};

/** Everything but the steps' contents, which are validated one by one with stepSchemas. */
export const scenarioSchema = {
  type: 'object',
  required: ['steps'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
    description: { type: 'string' },
    timeout: seconds,
    machine: {
      type: 'object',
      additionalProperties: false,
      properties: {
        engine: { enum: [...ENGINES] },
        cpu: { enum: [...CPU_VENDORS] },
        ips: { type: 'integer', minimum: MIN_IPS, maximum: MAX_IPS },
        cpus: { type: 'integer', minimum: 1, maximum: MAX_CPUS },
        memory: { type: 'string', pattern: '^[1-9][0-9]*[MG]$' },
        media: { type: 'string', minLength: 1 },
        target: { type: 'string', pattern: '^ssh://' },
        identity: { type: 'string', minLength: 1 },
        sshOptions: { type: 'array', items: { type: 'string', minLength: 1 } },
        disks: { type: 'array', minItems: 1, maxItems: 3, items: { type: 'string', minLength: 1 } },
        boot: { enum: ['media', 'disk', 'chain'] },
        firmware: { enum: ['bios', 'uefi'] },
        hypervisor: { type: 'string' },
        append: { type: 'string' },
        kernel: { type: 'string', minLength: 1 },
        initrd: { type: 'string', minLength: 1 },
        bootTimeout: seconds,
      },
    },
    steps: { type: 'array', minItems: 1, items: { type: 'object' } },
  },
} as const;
