/**
 * What a scenario run produces, and the events reporters receive while it runs.
 */
import { ExitCode } from '../errors.js';
import type { PairedSample } from './measure.js';
import type { Scenario, StepKind } from './schema.js';

/**
 * - pass / fail: the step's check held or did not.
 * - info: the step measured something it does not judge (a sleep check with `expect: report`).
 * - timeout: the step ran past its limit (the guest hung); the scenario stops.
 * - error: the step could not be carried out (the agent refused, QEMU died); the scenario stops.
 * - skip: not run, because an earlier step stopped the scenario or the engine is missing.
 */
export type StepStatus = 'pass' | 'fail' | 'info' | 'timeout' | 'error' | 'skip';

export interface StepResult {
  /** 0 is the implicit boot step; the file's steps are 1..n. */
  index: number;
  name: string;
  kind: StepKind | 'boot';
  /** Line of the step in its scenario file (0 for built-in and implicit steps). */
  line: number;
  status: StepStatus;
  durationMs: number;
  message?: string;
  /** Measuring steps: the speed asked for, the fitted speed, their difference in percent, the fit's R², sample count, worst backwards step. */
  requested?: number;
  measured?: number;
  errorPct?: number;
  r2?: number;
  samples?: number;
  backwardsNs?: number;
  /** Anything else the step found out (sleep check figures, exec output, hypervisor status). */
  details?: Record<string, unknown>;
  /** Raw clock samples (only in NDJSON/--samples output). */
  raw?: PairedSample[];
}

export type ScenarioStatus = 'pass' | 'fail' | 'timeout' | 'error' | 'skip';

export interface ScenarioResult {
  name: string;
  source: string;
  status: ScenarioStatus;
  passed: boolean;
  durationMs: number;
  steps: StepResult[];
  /** Why the scenario was skipped or stopped, when it was. */
  message?: string;
}

export interface RunSummary {
  passed: boolean;
  exitCode: number;
  durationMs: number;
  scenarios: ScenarioResult[];
}

/** Receives a run's progress; every method is optional. Scenarios may run in parallel (-j). */
export interface Reporter {
  runStart?(scenarios: readonly Scenario[]): void;
  scenarioStart?(scenario: Scenario): void;
  stepStart?(scenario: Scenario, index: number, name: string): void;
  /** Live progress of a running step, e.g. "317 samples, 59.98x so far". */
  stepProgress?(scenario: Scenario, index: number, text: string): void;
  stepEnd?(scenario: Scenario, result: StepResult): void;
  scenarioEnd?(scenario: Scenario, result: ScenarioResult): void;
  runEnd?(summary: RunSummary): void | Promise<void>;
}

/** Send every event to several reporters. */
export function fanOut(reporters: Reporter[]): Reporter {
  return {
    runStart: (s) => reporters.forEach((r) => r.runStart?.(s)),
    scenarioStart: (s) => reporters.forEach((r) => r.scenarioStart?.(s)),
    stepStart: (s, i, n) => reporters.forEach((r) => r.stepStart?.(s, i, n)),
    stepProgress: (s, i, t) => reporters.forEach((r) => r.stepProgress?.(s, i, t)),
    stepEnd: (s, res) => reporters.forEach((r) => r.stepEnd?.(s, res)),
    scenarioEnd: (s, res) => reporters.forEach((r) => r.scenarioEnd?.(s, res)),
    runEnd: async (sum) => {
      for (const r of reporters) await r.runEnd?.(sum);
    },
  };
}

/** The process exit code for a set of results: a timeout wins, then a failure, then a skip (77). */
export function exitCodeFor(results: readonly ScenarioResult[]): number {
  if (results.some((r) => r.status === 'timeout')) return ExitCode.timeout;
  if (results.some((r) => r.status === 'fail' || r.status === 'error')) return ExitCode.error;
  if (results.some((r) => r.status === 'skip')) return ExitCode.missingTool;
  return ExitCode.ok;
}

/** The step fields that go into --json, JUnit and TAP (everything but the raw samples). */
export function publicStep(r: StepResult): Omit<StepResult, 'raw'> {
  const { raw: _raw, ...rest } = r;
  return rest;
}
