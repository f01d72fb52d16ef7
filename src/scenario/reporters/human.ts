/**
 * The human report: while a step runs, one live status line on the terminal (rewritten in place,
 * only when that stream is a TTY); when a scenario ends, a table of its steps and the notes of
 * every step that did not simply pass.
 */
import { table } from '../../util/render.js';
import type { Reporter, RunSummary, ScenarioResult, StepResult, StepStatus } from '../result.js';
import type { Scenario } from '../schema.js';
import { fmtPct, fmtR2, fmtSeconds, fmtSpeed } from './format.js';

export interface HumanReporterOptions {
  /** Where tables go. */
  write: (text: string) => void;
  /** The terminal for the live line; omit when it is not a TTY. */
  live?: NodeJS.WritableStream;
  /** Colour a status word (identity when colour is off). */
  paint?: (status: StepStatus | 'summary-pass' | 'summary-fail', text: string) => string;
}

const ANSI: Record<string, string> = { pass: '32', 'summary-pass': '32', fail: '31', 'summary-fail': '31', timeout: '31', error: '31', info: '36', skip: '33' };

/** Paint with ANSI colours (for a TTY). */
export function ansiPaint(status: string, text: string): string {
  return `\u001b[${ANSI[status] ?? '0'}m${text}\u001b[0m`;
}

export function stepTable(result: ScenarioResult, paint: HumanReporterOptions['paint'] = (_s, t) => t): string {
  const rows = [['#', 'status', 'step', 'requested', 'measured', 'error', 'R²', 'samples', 'backwards', 'time']];
  for (const s of result.steps) {
    rows.push([
      String(s.index),
      paint(s.status, s.status),
      s.name,
      fmtSpeed(s.requested),
      fmtSpeed(s.measured),
      fmtPct(s.errorPct),
      fmtR2(s.r2),
      s.samples === undefined ? '' : String(s.samples),
      s.backwardsNs === undefined ? '' : `${s.backwardsNs} ns`,
      s.status === 'skip' ? '' : fmtSeconds(s.durationMs),
    ]);
  }
  return table(rows);
}

export function scenarioReport(result: ScenarioResult, paint: HumanReporterOptions['paint'] = (_s, t) => t): string {
  const verdict = result.passed ? paint('summary-pass', 'PASS') : paint('summary-fail', result.status.toUpperCase());
  const lines = [`${result.name} (${result.source}): ${verdict} in ${fmtSeconds(result.durationMs)}`, indent(stepTable(result, paint))];
  // Sleep checks always: their figures are in the message, not in the table's speed columns.
  const notes = result.steps.filter((s: StepResult) => s.message && s.status !== 'skip' && (s.status !== 'pass' || s.kind === 'sleep'));
  for (const s of notes) lines.push(`  step ${s.index} ${s.status}: ${s.message}`);
  if (result.message && result.status !== 'pass') lines.push(`  ${result.message}`);
  return lines.join('\n') + '\n';
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}

export function summaryLine(summary: RunSummary): string {
  const count = (st: string): number => summary.scenarios.filter((s) => s.status === st).length;
  const parts = [`${count('pass')} passed`, `${count('fail')} failed`];
  for (const st of ['timeout', 'error', 'skip']) if (count(st)) parts.push(`${count(st)} ${st === 'skip' ? 'skipped' : st}`);
  return `${summary.scenarios.length} scenario(s): ${parts.join(', ')} in ${fmtSeconds(summary.durationMs)} (exit ${summary.exitCode})\n`;
}

export function humanReporter(opts: HumanReporterOptions): Reporter {
  const paint = opts.paint ?? ((_s, t) => t);
  const stepsOf = new Map<Scenario, number>();
  let liveShown = false;
  const live = (text: string): void => {
    if (!opts.live) return;
    const width = (opts.live as NodeJS.WriteStream).columns ?? 100;
    opts.live.write(`\r\u001b[K${text.slice(0, width - 1)}`);
    liveShown = true;
  };
  const clearLive = (): void => {
    if (opts.live && liveShown) opts.live.write('\r\u001b[K');
    liveShown = false;
  };
  const running = new Map<string, { started: number; label: string }>();
  return {
    scenarioStart: (s) => stepsOf.set(s, s.steps.length),
    stepStart: (s, index, name) => {
      const label = `${s.name} ${index}/${stepsOf.get(s) ?? s.steps.length} ${name}`;
      running.set(s.name, { started: Date.now(), label });
      live(`▸ ${label} …`);
    },
    stepProgress: (s, _index, text) => {
      const r = running.get(s.name);
      if (r) live(`▸ ${r.label} … ${fmtSeconds(Date.now() - r.started)}, ${text}`);
    },
    stepEnd: (s) => {
      running.delete(s.name);
      clearLive();
    },
    scenarioEnd: (_s, result) => {
      clearLive();
      opts.write(scenarioReport(result, paint));
    },
    runEnd: (summary) => {
      clearLive();
      if (summary.scenarios.length > 1) opts.write(summaryLine(summary));
    },
  };
}
