/**
 * Run scenarios: boot a machine, carry out each step under its own time limit, record what was
 * measured, and always tear the machine down. A hung guest fails its scenario (status timeout,
 * exit 124); it never hangs the runner: every step races a timer, and on expiry the machine is
 * killed so whatever the step was waiting on settles.
 */
import { MissingToolError, TimeoutError, TsxHvError } from '../errors.js';
import { judgeSleep, type Machine } from './machine.js';
import { exitCodeFor, type Reporter, type RunSummary, type ScenarioResult, type StepResult, type StepStatus } from './result.js';
import type { MachineSpec, Scenario, Step } from './schema.js';
import { formatSpeed, sameSpeed, speedValue } from '../control/speed.js';
import { ENGINE_TIMING } from '../engines/machine.js';

export type BootFunction = (spec: MachineSpec, signal: AbortSignal) => Promise<Machine>;

export interface ScenarioRunOptions {
  /** Starts the machine and resolves once its agent is ready. */
  boot: BootFunction;
  reporter?: Reporter;
  /** Keep raw clock samples in the step results (for NDJSON); default true. */
  keepRaw?: boolean;
}

/**
 * Host seconds a step may take when the scenario does not say, under QEMU; `scale` stretches
 * them for slower engines (ENGINE_TIMING: Bochs 4).
 */
export function defaultTimeoutS(step: Step, speed: number, scale = 1): number {
  return unscaledTimeoutS(step, speed) * scale;
}

function unscaledTimeoutS(step: Step, speed: number): number {
  switch (step.kind) {
    case 'measure':
      return step.durationS + 60;
    case 'sleep':
      // Generous either way: a sleep may scale with the speed (S/N) or not (S), and at a slow
      // speed a scaled sleep takes S/N > S.
      return step.seconds * Math.max(1, 1 / speed) * 2 + 60;
    case 'hotkey':
      return step.times * (step.gapS + 5) + 60;
    case 'wait':
    case 'exec':
      return 120;
    default:
      return 60;
  }
}

type StepOutcome = Omit<StepResult, 'index' | 'name' | 'kind' | 'line' | 'durationMs'>;

/** Race `work` against a limit; on expiry abort it and reject with TimeoutError. */
export async function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, what: string): Promise<T> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TimeoutError(`${what} did not finish within ${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s`);
      ctl.abort(err);
      reject(err);
    }, ms);
  });
  const running = work(ctl.signal);
  // If the timer wins, the work's eventual rejection must not become an unhandled rejection.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function runStep(machine: Machine, step: Step, progress: (text: string) => void, keepRaw: boolean): Promise<StepOutcome> {
  switch (step.kind) {
    case 'wait': {
      const line = await machine.waitFor(step.regex ? new RegExp(step.pattern) : step.pattern, { timeoutMs: (step.timeoutS ?? 120) * 1000, on: step.on });
      return { status: 'pass', message: line.trim().slice(0, 200) };
    }
    case 'arm':
      return { status: 'pass', message: (await machine.arm(step.via)).trim() };
    case 'speed': {
      const st = await machine.speed(step.speed, { via: step.via });
      return { status: 'pass', requested: speedValue(step.speed), details: { via: step.via, hvSpeed: formatSpeed(st.speed), armed: st.armed } };
    }
    case 'hotkey': {
      const st = await machine.hotkey(step.keys, { times: step.times, gapMs: step.gapS * 1000, expect: step.expect });
      const hist = machine.clockHistory;
      const problems: string[] = [];
      if (step.expect && !sameSpeed(step.expect, st.speed)) problems.push(`expected ${formatSpeed(step.expect)}`);
      if (hist.backwardsNs > 0) problems.push(`the guest clock went backwards by ${hist.backwardsNs} ns since boot`);
      return {
        status: problems.length ? 'fail' : 'pass',
        message: [`${step.times} press(es), a clock read after each; now ${formatSpeed(st.speed)}`, ...problems].join('; '),
        backwardsNs: hist.backwardsNs,
        details: { hvSpeed: formatSpeed(st.speed), armed: st.armed },
      };
    }
    case 'measure': {
      const m = await machine.measure({
        durationMs: step.durationS * 1000,
        expect: step.expect,
        tolerancePct: step.tolerancePct,
        minR2: step.minR2,
        onSample: (_s, i) => {
          if (i % 25 === 24) progress(`${i + 1} samples`);
        },
      });
      return {
        status: m.passed ? 'pass' : 'fail',
        message: m.passed ? undefined : m.problems.join('; '),
        requested: m.requested,
        measured: m.measured,
        errorPct: m.errorPct,
        r2: m.r2,
        samples: m.samples,
        backwardsNs: m.backwardsNs,
        details: { hostSeconds: m.hostSeconds, guestSeconds: m.guestSeconds, medianRttMs: m.medianRttMs, tolerancePct: step.tolerancePct },
        raw: keepRaw ? m.raw : undefined,
      };
    }
    case 'exec': {
      const r = await machine.exec(step.command, { timeoutMs: (step.timeoutS ?? 120) * 1000 });
      const problems: string[] = [];
      if (r.exitCode !== step.exit) problems.push(`exit code ${r.exitCode}, expected ${step.exit}`);
      if (step.output !== undefined && !new RegExp(step.output, 'm').test(r.output)) problems.push(`output does not match /${step.output}/`);
      return {
        status: problems.length ? 'fail' : 'pass',
        message: problems.length ? `${problems.join('; ')}: ${r.output.trim().slice(0, 300)}` : r.output.trim().split('\n')[0]?.slice(0, 120),
        details: { exitCode: r.exitCode, output: r.output },
      };
    }
    case 'sleep': {
      const c = await machine.sleepCheck(step.seconds);
      const verdict = judgeSleep(c, step.expect, step.tolerancePct);
      return { status: verdict.status, message: verdict.message, requested: c.speed, details: { ...c, expect: step.expect, sleepSpeed: c.seconds / Math.max(c.hostSeconds, 1e-3) } };
    }
    case 'monotonic': {
      for (let i = 0; i < 20; i++) await machine.clock();
      const h = machine.clockHistory;
      return {
        status: h.backwardsNs === 0 ? 'pass' : 'fail',
        message: h.backwardsNs === 0 ? `${h.reads} clock reads since boot, none went backwards` : `the guest clock went backwards by ${h.backwardsNs} ns (${h.reads} reads)`,
        samples: h.reads,
        backwardsNs: h.backwardsNs,
      };
    }
    case 'poweroff':
      await machine.powerOff();
      return { status: 'pass' };
  }
}

function failureStatus(err: unknown): StepStatus {
  return err instanceof TimeoutError ? 'timeout' : 'error';
}

/** Run one scenario to completion. Never throws for a guest problem: it ends up in the result. */
export async function runScenario(scenario: Scenario, opts: ScenarioRunOptions): Promise<ScenarioResult> {
  const reporter = opts.reporter ?? {};
  const started = Date.now();
  const deadline = scenario.timeoutS === undefined ? Infinity : started + scenario.timeoutS * 1000;
  const steps: StepResult[] = [];
  let machine: Machine | undefined;
  let stopped: { status: 'timeout' | 'error' | 'skip'; message: string } | undefined;
  reporter.scenarioStart?.(scenario);

  const limit = (seconds: number): number => Math.max(1, Math.min(seconds * 1000, deadline - Date.now()));
  const finish = (index: number, step: { name: string; kind: StepResult['kind']; line: number }, t0: number, outcome: StepOutcome): StepResult => {
    const result: StepResult = { index, name: step.name, kind: step.kind, line: step.line, durationMs: Date.now() - t0, ...outcome };
    steps.push(result);
    reporter.stepEnd?.(scenario, result);
    return result;
  };

  // Step 0: boot, with the machine's own limit.
  const cpus = scenario.machine.cpus > 1 ? `, ${scenario.machine.cpus} CPUs` : '';
  const bootStep = { name: scenario.machine.target ? `connect (${scenario.machine.target})` : `boot (${scenario.machine.engine}, ${scenario.machine.memory}${cpus})`, kind: 'boot' as const, line: 0 };
  reporter.stepStart?.(scenario, 0, bootStep.name);
  let t0 = Date.now();
  try {
    machine = await withTimeout(
      async (signal) => {
        const m = await opts.boot(scenario.machine, signal);
        if (signal.aborted) {
          await m.kill();
          throw signal.reason;
        }
        return m;
      },
      limit(scenario.machine.bootTimeoutS),
      'boot to the agent ready line',
    );
    const info = machine.info;
    const seen = info.hypervisor === undefined ? '' : `guest sees ${info.hypervisor ?? 'no hypervisor'}`;
    const message = [seen, info.clocksource ? `clocksource ${info.clocksource}` : '', info.bootMs === undefined ? '' : `ready after ${(info.bootMs / 1000).toFixed(1)} s`].filter(Boolean).join(', ');
    finish(0, bootStep, t0, { status: 'pass', message: message || undefined, details: { ...info } });
  } catch (err) {
    const skip = err instanceof MissingToolError;
    const message = errorMessage(err);
    finish(0, bootStep, t0, { status: skip ? 'skip' : failureStatus(err), message });
    stopped = { status: skip ? 'skip' : failureStatus(err) === 'timeout' ? 'timeout' : 'error', message };
  }

  for (const [i, step] of scenario.steps.entries()) {
    const index = i + 1;
    if (stopped || !machine) {
      finish(index, step, Date.now(), { status: 'skip', message: 'not run: ' + (stopped?.message ?? 'no machine') });
      continue;
    }
    reporter.stepStart?.(scenario, index, step.name);
    t0 = Date.now();
    const m = machine;
    const timeoutS = step.timeoutS ?? defaultTimeoutS(step, speedValue(m.requested), ENGINE_TIMING[scenario.machine.engine].scale);
    try {
      const outcome = await withTimeout(() => runStep(m, step, (text) => reporter.stepProgress?.(scenario, index, text), opts.keepRaw ?? true), limit(timeoutS), `step ${index} (${step.name})`);
      finish(index, step, t0, outcome);
      if (step.kind === 'poweroff') machine = undefined;
    } catch (err) {
      const status = failureStatus(err);
      const message = errorMessage(err);
      finish(index, step, t0, { status, message });
      stopped = { status: status === 'timeout' ? 'timeout' : 'error', message: `step ${index} (${step.name}) ${status === 'timeout' ? 'timed out' : 'failed'}` };
      // Kill at once: whatever the step was waiting on settles, and nothing keeps running.
      await m.kill();
      machine = undefined;
    }
  }
  if (machine) await machine.kill();

  const status = stopped?.status ?? (steps.some((s) => s.status === 'fail') ? 'fail' : 'pass');
  const result: ScenarioResult = {
    name: scenario.name,
    source: scenario.source,
    status,
    passed: status === 'pass',
    durationMs: Date.now() - started,
    steps,
    message: stopped?.message,
  };
  reporter.scenarioEnd?.(scenario, result);
  return result;
}

function errorMessage(err: unknown): string {
  if (err instanceof TsxHvError) return err.message + (err.hint ? ` (${err.hint})` : '');
  return err instanceof Error ? err.message : String(err);
}

/** Run several scenarios, at most `jobs` at a time (each boots its own machine). */
export async function runScenarios(scenarios: readonly Scenario[], opts: ScenarioRunOptions & { jobs?: number }): Promise<RunSummary> {
  const started = Date.now();
  opts.reporter?.runStart?.(scenarios);
  const results: ScenarioResult[] = new Array(scenarios.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < scenarios.length) {
      const i = next++;
      results[i] = await runScenario(scenarios[i]!, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs ?? 1, scenarios.length)) }, worker));
  const exitCode = exitCodeFor(results);
  const summary: RunSummary = { passed: exitCode === 0, exitCode, durationMs: Date.now() - started, scenarios: results };
  await opts.reporter?.runEnd?.(summary);
  return summary;
}
