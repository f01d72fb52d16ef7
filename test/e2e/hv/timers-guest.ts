/**
 * Helpers of the timer e2e tests (timers*.test.ts) and bench/idle (issue 13 "The guest's timers
 * run on the virtual timeline, and an idle guest costs nothing"): the guest timer-latency program
 * (timer_latency.c, libc-free like the SMP programs, about 13 kB, shipped base64 through the
 * agent), parsing its lines, and printing them as a table.
 */
import type { Test } from 'tap';
import type { EngineMachine } from '../../../src/engines/machine.js';
import { buildGuestProgram, guestExec, installGuestFile } from './fixtures.js';

export const TIMER_LATENCY = '/tmp/timer_latency';

/** The limit of issue 13 (Linux's timer selftests call more "unreasonable"): 40 ms of guest time. */
export const MAX_OVERSHOOT_NS = 40_000_000;

export async function installTimerLatency(m: EngineMachine): Promise<void> {
  await installGuestFile(m, TIMER_LATENCY, buildGuestProgram('timer_latency.c'));
}

/** One `timer kind=...` line of timer_latency. */
export interface TimerLine {
  kind: string;
  intervalNs: number;
  n: number;
  minNs: number;
  meanNs: number;
  maxNs: number;
  early: number;
  lost: number;
  cpu: number;
  cpuEnd: number;
  error?: number;
  line: string;
}

export function parseTimerLines(out: string): TimerLine[] {
  const rows: TimerLine[] = [];
  for (const line of out.split('\n')) {
    if (!line.startsWith('timer kind=')) continue;
    const f = (name: string): number => Number(new RegExp(`\\b${name}=(-?\\d+)`).exec(line)?.[1] ?? NaN);
    const err = /\berror=(\d+)/.exec(line);
    rows.push({
      kind: /kind=(\S+)/.exec(line)![1]!,
      intervalNs: f('interval_ns'),
      n: f('n'),
      minNs: f('min_ns'),
      meanNs: f('mean_ns'),
      maxNs: f('max_ns'),
      early: f('early'),
      lost: f('lost'),
      cpu: f('cpu'),
      cpuEnd: f('cpu_end'),
      ...(err ? { error: Number(err[1]) } : {}),
      line,
    });
  }
  return rows;
}

const ms = (ns: number): string => (ns / 1e6).toFixed(3);

/** Prints rows as a table (guest milliseconds). `label` is the first column (the speed). */
export function commentTable(t: Test, rows: { label: string; r: TimerLine }[]): void {
  t.comment('speed     kind                       interval   n     min ms     mean ms    max ms     early lost cpu');
  for (const { label, r } of rows) {
    t.comment(
      `${label.padEnd(9)} ${r.kind.padEnd(26)} ${`${ms(r.intervalNs)}`.padEnd(10)} ${String(r.n).padEnd(5)} ${ms(r.minNs).padEnd(10)} ${ms(r.meanNs).padEnd(10)} ${ms(r.maxNs).padEnd(10)} ${String(r.early).padEnd(5)} ${String(r.lost).padEnd(4)} ${r.cpu}${r.cpuEnd !== r.cpu ? `->${r.cpuEnd}` : ''}${r.error ? ` error=${r.error}` : ''}`,
    );
  }
}

/** Runs timer_latency with `args` in the guest; throws unless it exits 0. */
export async function runTimerLatency(m: EngineMachine, args: string, timeoutMs: number): Promise<{ rows: TimerLine[]; hostSeconds: number; out: string }> {
  // A reply cut by kernel messages on the console (at 1000x the guest prints RCU-stall
  // warnings: CI 2026-12-01 got a "malformed exec reply") is not the timers' fault: run again.
  for (let attempt = 1; ; attempt++) {
    const t0 = performance.now();
    let r: { exit: number; out: string };
    try {
      r = await guestExec(m, `${TIMER_LATENCY} ${args} 2>&1`, timeoutMs);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt < 3 && (code === 'AGENT_PROTOCOL' || code === 'AGENT_GARBLED')) continue;
      throw err;
    }
    const hostSeconds = (performance.now() - t0) / 1000;
    if (r.exit !== 0) throw new Error(`timer_latency ${args} exited ${r.exit}: ${r.out}`);
    return { rows: parseTimerLines(r.out), hostSeconds, out: r.out };
  }
}

/** The speed as the control port takes it: 0.1 -> "1/10", 1/1000 -> "1/1000", 60 -> "60". */
export function speedArg(speed: number): string {
  if (speed >= 1) return String(speed);
  return `1/${Math.round(1 / speed)}`;
}

/** Sets the speed through the control port and checks the reply (`ok speed P/Q`). */
export async function setSpeed(m: EngineMachine, speed: number): Promise<void> {
  const arg = speedArg(speed);
  const reply = await m.control(`speed ${arg}`, 10_000);
  const want = arg.includes('/') ? arg : `${arg}/1`;
  if (reply !== `ok speed ${want}`) throw new Error(`speed ${arg}: ${reply}`);
}

/** Kernel messages that mean the guest's watchdogs fired (soft lockup, RCU stall, hung task). */
export const WATCHDOG_MESSAGES = /soft lockup|self-detected stall|rcu: INFO|rcu_sched detected stall|detected stalls on CPUs|hung_task|blocked for more than/;
