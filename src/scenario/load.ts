/**
 * Read a scenario file: YAML -> schema validation -> a normalised Scenario. Every problem is
 * reported as `file:line:col: field: problem` (positions from the yaml package's LineCounter),
 * all of them at once, as a ScenarioError (exit code 2).
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, isMap, isScalar, parseDocument, type Document, type Node } from 'yaml';
import { UsageError } from '../errors.js';
import {
  DEFAULT_HOTKEY_GAP_S,
  DEFAULT_MEASURE_S,
  DEFAULT_MIN_R2,
  DEFAULT_SLEEP_TOLERANCE_PCT,
  DEFAULT_TOLERANCE_PCT,
  STEP_KINDS,
  defaultBootTimeoutS,
  scenarioSchema,
  stepSchemas,
  type MachineSpec,
  type Scenario,
  type Step,
  type StepKind,
} from './schema.js';
import { formatSpeed, parseSpeed, speedValue, type Speed } from '../control/speed.js';
import type { CpuVendor, EngineName } from '../engines/machine.js';

export interface ScenarioProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted path of the offending field, e.g. `steps[2].tolerance`; empty for the document. */
  field: string;
  message: string;
}

export class ScenarioError extends UsageError {
  readonly problems: ScenarioProblem[];
  constructor(problems: ScenarioProblem[]) {
    super(problems.map(formatProblem).join('\n'), 'the scenario format is described in docs/scenarios.md');
    this.name = 'ScenarioError';
    this.problems = problems;
  }
}

export function formatProblem(p: ScenarioProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.field ? p.field + ': ' : ''}${p.message}`;
}

type Path = (string | number)[];

const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
const validateTop = ajv.compile(scenarioSchema);
const validateStep = Object.fromEntries(STEP_KINDS.map((k) => [k, ajv.compile(stepSchemas[k])])) as Record<StepKind, ValidateFunction>;

/** Read and validate a scenario file. */
export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read scenario ${file}: ${code === 'ENOENT' ? 'no such file' : String((err as Error).message)}`);
  }
  return parseScenario(text, file);
}

/** Validate scenario text; `file` names it in messages, and relative machine paths resolve against its directory. */
export function parseScenario(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: ScenarioProblem[] = [];
  const at = (offset: number, field: string, message: string): void => {
    const { line, col } = lineCounter.linePos(offset);
    problems.push({ file, line, col, field, message });
  };
  for (const e of doc.errors) at(e.pos[0], '', e.message.split('\n')[0]!);
  if (problems.length) throw new ScenarioError(problems);

  const value: unknown = doc.toJS();
  if (!validateTop(value)) for (const e of validateTop.errors!) reportAjvError(doc, e, [], at);
  else machineChecks(doc, (value as RawScenario).machine ?? {}, at);
  const top = value as RawScenario;
  const steps = typeof top === 'object' && top !== null && Array.isArray(top.steps) ? top.steps : [];
  steps.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
    const path: Path = ['steps', i];
    const kinds = Object.keys(raw).filter((k): k is StepKind => (STEP_KINDS as readonly string[]).includes(k));
    if (kinds.length === 0) {
      at(nodeOffset(doc, path), fieldName(path), `a step needs one action: ${STEP_KINDS.join(', ')}`);
      return;
    }
    if (kinds.length > 1) {
      at(keyOffset(doc, path, kinds[1]!), fieldName(path), `one action per step, found ${kinds.join(' and ')}; split it into two steps`);
      return;
    }
    const check = validateStep[kinds[0]!];
    if (!check(raw)) for (const e of check.errors!) reportAjvError(doc, e, path, at);
    else semanticChecks(doc, kinds[0]!, raw, path, at);
  });
  if (problems.length) throw new ScenarioError(problems.sort((a, b) => a.line - b.line || a.col - b.col));

  const baseDir = dirname(resolve(file));
  return {
    name: top.name ?? basename(file, extname(file)),
    description: top.description,
    source: file,
    machine: machineSpec(top.machine ?? {}, baseDir),
    steps: top.steps.map((raw, i) => normaliseStep(raw, lineCounter.linePos(nodeOffset(doc, ['steps', i])).line)),
    timeoutS: top.timeout,
  };
}

/** A Step without its name (Omit distributed over the union). */
type StepBody = Step extends infer S ? (S extends Step ? Omit<S, 'name'> : never) : never;

interface RawScenario {
  name?: string;
  description?: string;
  timeout?: number;
  machine?: Record<string, unknown>;
  steps: Record<string, unknown>[];
}

/** A speed field's value, or null after reporting parseSpeed's message (the same as everywhere else) at it. */
function speedAt(doc: Document, raw: Record<string, unknown>, path: Path, key: string, at: (o: number, f: string, m: string) => void): Speed | null {
  try {
    return parseSpeed(raw[key] as number | string);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    at(nodeOffset(doc, [...path, key]), fieldName([...path, key]), err.message);
    return null;
  }
}

function semanticChecks(doc: Document, kind: StepKind, raw: Record<string, unknown>, path: Path, at: (o: number, f: string, m: string) => void): void {
  if (raw.expect !== undefined && kind !== 'sleep') speedAt(doc, raw, path, 'expect', at);
  if (kind !== 'speed') return;
  const speed = speedAt(doc, raw, path, 'speed', at);
  if (speed && raw.via === 'hotkey' && !Number.isInteger(speedValue(speed))) {
    at(nodeOffset(doc, [...path, 'speed']), fieldName([...path, 'speed']), 'hotkeys only reach whole speeds (1, 2, ... N); use via: control or hypercall');
  }
}

/** What the schema cannot say: `cpu: intel` and `ips` need Bochs (QEMU TCG emulates AMD SVM only). */
function machineChecks(doc: Document, raw: Record<string, unknown>, at: (o: number, f: string, m: string) => void): void {
  if (raw.target !== undefined) {
    for (const f of ['engine', 'media', 'disks', 'boot', 'firmware', 'kernel', 'initrd', 'hypervisor', 'append', 'cpus', 'memory', 'cpu', 'ips'])
      if (raw[f] !== undefined) at(nodeOffset(doc, ['machine', f]), `machine.${f}`, 'a running machine (target:) is not booted: it has no ' + f);
    return;
  }
  if (raw.boot === 'disk' && raw.disks === undefined) at(nodeOffset(doc, ['machine', 'boot']), 'machine.boot', 'boot: disk needs machine.disks (the disk to boot)');
  if (raw.boot === 'chain' && raw.disks === undefined) at(nodeOffset(doc, ['machine', 'boot']), 'machine.boot', 'boot: chain needs machine.disks (the installed OS to start)');
  if (raw.boot === 'disk' && raw.media !== undefined) at(nodeOffset(doc, ['machine', 'media']), 'machine.media', 'a machine that boots its disk (boot: disk) has no media');
  if (raw.firmware === 'uefi' && (raw.engine ?? 'qemu') !== 'qemu') at(nodeOffset(doc, ['machine', 'firmware']), 'machine.firmware', 'UEFI firmware needs engine: qemu (Bochs boots its BIOS)');
  if (raw.disks !== undefined && (raw.engine ?? 'qemu') !== 'qemu') at(nodeOffset(doc, ['machine', 'disks']), 'machine.disks', 'disk images need engine: qemu');
  if ((raw.engine ?? 'qemu') !== 'qemu') return;
  if (raw.cpu === 'intel') at(nodeOffset(doc, ['machine', 'cpu']), 'machine.cpu', 'QEMU TCG emulates AMD SVM only; intel (VT-x) needs engine: bochs');
  if (raw.ips !== undefined) at(nodeOffset(doc, ['machine', 'ips']), 'machine.ips', 'sets the instruction rate of Bochs; needs engine: bochs');
}

function machineSpec(raw: Record<string, unknown>, baseDir: string): MachineSpec {
  const path = (v: unknown): string | undefined => (typeof v === 'string' ? resolve(baseDir, v) : undefined);
  const engine = (raw.engine as EngineName | undefined) ?? 'qemu';
  return {
    engine,
    ...(raw.cpu === undefined ? {} : { cpuVendor: raw.cpu as CpuVendor }),
    ...(raw.ips === undefined ? {} : { ips: raw.ips as number }),
    cpus: (raw.cpus as number | undefined) ?? 1,
    memory: (raw.memory as string | undefined) ?? '512M',
    media: path(raw.media),
    ...(raw.target === undefined ? {} : { target: raw.target as string }),
    ...(raw.identity === undefined ? {} : { identity: path(raw.identity) }),
    ...(raw.sshOptions === undefined ? {} : { sshOptions: raw.sshOptions as string[] }),
    ...(Array.isArray(raw.disks) ? { disks: (raw.disks as string[]).map((d) => resolve(baseDir, d)) } : {}),
    ...(raw.boot === undefined ? {} : { boot: raw.boot as 'media' | 'disk' | 'chain' }),
    ...(raw.firmware === undefined ? {} : { firmware: raw.firmware as 'bios' | 'uefi' }),
    hypervisor: raw.hypervisor as string | undefined,
    append: raw.append as string | undefined,
    kernel: path(raw.kernel),
    initrd: path(raw.initrd),
    bootTimeoutS: (raw.bootTimeout as number | undefined) ?? defaultBootTimeoutS(engine),
  };
}

/** Turn a validated raw step into the runner's form (defaults filled in). */
export function normaliseStep(raw: Record<string, unknown>, line: number): Step {
  const kind = Object.keys(raw).find((k): k is StepKind => (STEP_KINDS as readonly string[]).includes(k))!;
  const base = { timeoutS: raw.timeout as number | undefined, line };
  const named = (s: StepBody, name: string): Step => ({ ...s, name: (raw.name as string | undefined) ?? name }) as Step;
  const expect = raw.expect === undefined || kind === 'sleep' ? undefined : parseSpeed(raw.expect as number | string);
  switch (kind) {
    case 'wait':
      return named({ ...base, kind, pattern: raw.wait as string, regex: raw.regex === true, on: (raw.on as 'console' | 'hypervisor' | undefined) ?? 'console' }, `wait for "${raw.wait as string}"`);
    case 'arm':
      return named({ ...base, kind, via: raw.arm as 'control' | 'hypercall' }, `arm (${raw.arm as string})`);
    case 'speed': {
      const via = (raw.via as 'control' | 'hotkey' | 'hypercall' | undefined) ?? 'control';
      const speed = parseSpeed(raw.speed as number | string);
      return named({ ...base, kind, speed, via }, `speed ${formatSpeed(speed)} (${via})`);
    }
    case 'hotkey': {
      const keys = raw.hotkey as 'toggle' | 'faster' | 'slower' | string[];
      const times = (raw.times as number | undefined) ?? 1;
      const label = Array.isArray(keys) ? keys.join('+') : keys;
      return named({ ...base, kind, keys, times, gapS: (raw.gap as number | undefined) ?? DEFAULT_HOTKEY_GAP_S, expect }, `hotkey ${label}${times > 1 ? ` x${times}` : ''}`);
    }
    case 'measure':
      return named(
        { ...base, kind, durationS: (raw.measure as number | undefined) ?? DEFAULT_MEASURE_S, expect, tolerancePct: (raw.tolerance as number | undefined) ?? DEFAULT_TOLERANCE_PCT, minR2: (raw.minR2 as number | undefined) ?? DEFAULT_MIN_R2 },
        expect ? `measure ${formatSpeed(expect)}` : `measure ${(raw.measure as number | undefined) ?? DEFAULT_MEASURE_S} s`,
      );
    case 'exec':
      return named({ ...base, kind, command: raw.exec as string, exit: (raw.exit as number | undefined) ?? 0, output: raw.output as string | undefined }, `exec ${raw.exec as string}`);
    case 'sleep':
      return named(
        { ...base, kind, seconds: raw.sleep as number, expect: (raw.expect as 'scaled' | 'unchanged' | 'report' | undefined) ?? 'report', tolerancePct: (raw.tolerance as number | undefined) ?? DEFAULT_SLEEP_TOLERANCE_PCT },
        `sleep ${raw.sleep as number} s`,
      );
    case 'monotonic':
      return named({ ...base, kind }, 'clock never went backwards');
    case 'poweroff':
      return named({ ...base, kind }, 'power off');
  }
}

function reportAjvError(doc: Document, e: ErrorObject, prefix: Path, at: (offset: number, field: string, message: string) => void): void {
  // anyOf reports each alternative's failure and then itself; the summary (with the schema's
  // description) is the useful one, so skip the alternatives.
  const path = [...prefix, ...pointerPath(e.instancePath)];
  if (e.keyword !== 'anyOf' && /\/anyOf\/\d+\//.test(e.schemaPath)) return;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const hint = prefix.length === 2 && path.length === 2 ? ` (a step has one action and its options)` : '';
      at(keyOffset(doc, path, key), fieldName([...path, key]), `unknown field${hint}`);
      return;
    }
    case 'required': {
      const key = (e.params as { missingProperty: string }).missingProperty;
      at(nodeOffset(doc, path), fieldName([...path, key]), 'is required');
      return;
    }
    case 'enum':
      at(nodeOffset(doc, path), fieldName(path), `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`);
      return;
    case 'anyOf':
      at(nodeOffset(doc, path), fieldName(path), `must be ${(e.parentSchema as { description?: string } | undefined)?.description ?? 'one of the allowed forms'}`);
      return;
    default:
      at(nodeOffset(doc, path), fieldName(path), e.message ?? 'is invalid');
  }
}

function pointerPath(pointer: string): Path {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function fieldName(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function nodeOffset(doc: Document, path: Path): number {
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as Node | null | undefined;
    if (node && node.range) return node.range[0];
  }
  return 0;
}

function keyOffset(doc: Document, path: Path, key: string): number {
  const map = (path.length === 0 ? doc.contents : doc.getIn(path, true)) as Node | null;
  if (isMap(map)) {
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
  }
  return nodeOffset(doc, path);
}
