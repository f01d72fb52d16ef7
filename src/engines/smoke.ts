import { rm } from 'node:fs/promises';
import { execRequest, parseExec, type AgentReady } from './agent-protocol.js';
import { ENGINE_TIMING, type EngineMachine, type MachineOptions, type PowerOffMethod } from './machine.js';
import { startMachine } from './start.js';

export interface HvLogSummary {
  lines: number;
  guestStarting: boolean;
  panic: boolean;
  /** The last few log lines. */
  tail: string[];
}

export interface SmokeResult {
  ok: boolean;
  /** What failed, in order (empty when ok). */
  problems: string[];
  hypervisor: boolean;
  /** Emulator start -> agent ready line, in ms. */
  bootMs?: number;
  ready?: AgentReady;
  clocksource?: string;
  hvLog: HvLogSummary;
  powerOff?: PowerOffMethod;
  /** The emulator's logs: kept (and named here) only when the smoke test failed or keepLogs. */
  logs?: { console: string; hv: string; engine: string; emulator?: string };
}

export function summariseHvLog(lines: readonly string[], tail = 8): HvLogSummary {
  return {
    lines: lines.length,
    guestStarting: lines.some((l) => l.startsWith('# tsx-hv: guest starting')),
    panic: lines.some((l) => l.startsWith('# PANIC')),
    tail: lines.slice(-tail),
  };
}

const CLOCKSOURCE = '/sys/devices/system/clocksource/clocksource0/current_clocksource';

/**
 * The guest's clocksource once the boot-time switch is over: Linux runs on `tsc-early` until the
 * refined TSC calibration (about a second of guest time after boot, much later on a loaded host)
 * registers `tsc` (docs/guest-image.md, "Auto-arm").
 */
export async function settledClocksource(machine: EngineMachine, withinMs: number): Promise<string> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const r = parseExec(await machine.agent(execRequest(`cat ${CLOCKSOURCE}`), 15_000 * machine.timing.scale));
    const name = r.exitCode === 0 ? r.output.trim() : '';
    if (name !== 'tsc-early' || Date.now() > deadline) return name;
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** How long smoke waits for the agent under QEMU; slower engines get EngineTiming.scale times this. */
export const SMOKE_TIMEOUT_MS = 120_000;

/**
 * Boots the media headless, waits for the agent's ready line, asks the guest for its clocksource,
 * collects the hypervisor's log, and powers off. `ok` only when every step happened and the guest
 * saw the hypervisor exactly when one was expected.
 */
export async function smoke(opts: MachineOptions & { timeoutMs?: number; keepLogs?: boolean } = {}): Promise<SmokeResult> {
  const hypervisor = opts.hypervisor ?? true;
  const timeoutMs = opts.timeoutMs ?? SMOKE_TIMEOUT_MS * ENGINE_TIMING[opts.engine ?? 'qemu'].scale;
  const machine = await startMachine({ ...opts, hypervisor, cleanup: false });
  const problems: string[] = [];
  const result: SmokeResult = {
    ok: false,
    problems,
    hypervisor,
    hvLog: summariseHvLog([]),
    logs: { console: machine.paths.consoleLog, hv: machine.paths.hvLog, engine: machine.paths.engineLog, ...(machine.paths.emulatorLog ? { emulator: machine.paths.emulatorLog } : {}) },
  };
  try {
    const { ready, bootMs } = await machine.waitForReady(timeoutMs);
    result.ready = ready;
    result.bootMs = Math.round(bootMs);
    if (hypervisor && ready.hypervisor !== 'tsx-hv-vtime') problems.push(`the guest does not see the tsx-hv CPUID signature (agent reports ${JSON.stringify(ready.hypervisor)})`);
    if (!hypervisor && ready.hypervisor !== null) problems.push(`the baseline guest unexpectedly sees a hypervisor (${ready.hypervisor})`);
    result.clocksource = await settledClocksource(machine, Math.max(10_000, timeoutMs - bootMs));
    if (result.clocksource === '') problems.push('could not read the guest clocksource');
  } catch (err) {
    problems.push((err as Error).message);
  } finally {
    const off = await machine.powerOff();
    result.powerOff = off.method;
    if (off.method === 'kill') problems.push('the machine did not power off cleanly and was killed');
    result.hvLog = summariseHvLog(machine.hvLog);
  }
  if (hypervisor && !result.hvLog.guestStarting) problems.push('the hypervisor log has no "# tsx-hv: guest starting" line');
  if (result.hvLog.panic) problems.push('the hypervisor panicked (see its log)');
  result.ok = problems.length === 0;
  if (result.ok && !opts.keepLogs) {
    delete result.logs;
    await rm(machine.paths.workdir, { recursive: true, force: true });
  }
  return result;
}
