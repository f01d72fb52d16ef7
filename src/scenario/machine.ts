/**
 * The scripting face of a running guest: `boot()` gives a Machine whose methods are the scenario
 * steps (waitFor, arm, speed, hotkey, measure, exec, sleepCheck, powerOff). It is built on the
 * engine's EngineMachine (src/engines/machine.ts), of which it uses only the members in
 * `EngineLike`: the console, the hypervisor port, the agent channel, QMP keys and power.
 */
import { TsxHvError } from '../errors.js';
import { AgentError, execRequest, parseClock, parseExec, type ClockSample, type ExecResult } from '../engines/agent-protocol.js';
import { machineTimeFromMarks, measureSpeed, worstBackwards, type PairedSample, type SpeedMeasurement } from './measure.js';
import { formatSpeed, parseSpeed, sameSpeed, speedArgument, speedValue, type Speed } from '../control/speed.js';
import type { HotkeyName, SleepExpectation, Via } from './schema.js';

/** What a Machine needs from an engine (a subset of EngineMachine). */
export interface EngineLike {
  /** Resolve with the first console line matching `pattern` (already-seen lines count). */
  waitFor(pattern: string | RegExp, timeoutMs: number): Promise<string>;
  /** Send one line on the hypervisor port; resolve with the `ok ...`/`err ...` reply. */
  control(line: string, timeoutMs: number): Promise<string>;
  /** Send an agent request; resolve with the payload of `@id ok <payload>`, reject on `err`. */
  agent(command: string, timeoutMs: number): Promise<string>;
  /** Press and release a key combination (QMP send-key, QEMU key names). */
  sendKeys(keys: readonly string[]): Promise<unknown>;
  /** Lines the hypervisor has logged so far on its port. */
  readonly hvLog: readonly string[];
  /** Which engine runs the machine: where it is not QEMU (whose machine time is host time), speed
   * samples are paired with the machine's own time (the agent's `clock mark`). */
  readonly engine?: string;
  /** How many times QEMU's limits the engine needs (EngineTiming.scale; default 1). */
  readonly timing?: { readonly scale: number };
  powerOff(timeoutMs?: number): Promise<unknown>;
  kill(): Promise<unknown>;
}

/** The hypervisor's default hotkeys (COMMON contract; docs/hotkeys.md of hv-core). */
export const HOTKEYS: Record<HotkeyName, string[]> = {
  toggle: ['ctrl', 'alt', 'f12'],
  faster: ['ctrl', 'alt', 'f11'],
  slower: ['ctrl', 'alt', 'f10'],
};

export class GuestError extends TsxHvError {
  constructor(message: string) {
    super('GUEST', message);
    this.name = 'GuestError';
  }
}

export interface HvStatus {
  speed: Speed;
  armed: boolean;
}

export interface SleepCheck {
  /** Guest seconds asked for (`sleep S`). */
  seconds: number;
  /** The speed the guest was asked to run at. */
  speed: number;
  /** Host seconds the sleep took, minus the cost of an empty sleep's round trip. */
  hostSeconds: number;
  /** Host seconds an empty sleep's round trip took (subtracted above). */
  overheadSeconds: number;
  /** What the guest's CLOCK_MONOTONIC advanced across the sleep. */
  guestSeconds: number;
  /** Host seconds if sleeps scaled with the speed: S / N. */
  scaledSeconds: number;
  /** Which of the two models the host duration is closer to. */
  behaved: 'scaled' | 'unchanged';
  /** What "host seconds" were timed in: the host's clock, or the machine's own (engines other than QEMU). Default host. */
  timeBase?: 'host' | 'machine';
  /** Who slept: the agent itself (`sleep <ms>` request) or `sleep S` run through exec (older agents). */
  how?: 'agent' | 'exec';
}

/** One agent request or control command under QEMU; slower engines get EngineTiming.scale times this. */
const REQUEST_TIMEOUT_MS = 20_000;

/** Parse the agent's `status` payload: `speed=P/Q armed=0|1`. */
export function parseHvStatus(payload: string): HvStatus {
  const m = /(?:^|\s)speed=(\d+)\/(\d+)\s+armed=([01])(?:\s|$)/.exec(payload);
  if (!m || m[2] === '0' || m[1] === '0') throw new GuestError(`agent status reply "${payload.slice(0, 120)}" is not speed=P/Q armed=0|1`);
  return { speed: parseSpeed(`${m[1]}/${m[2]}`), armed: m[3] === '1' };
}

/**
 * The keys that take the default hotkeys from speed `from` to `to`: the toggle for 1x <-> 10x,
 * otherwise N+1 / N-1 presses. Hotkeys only know whole speeds of at least 1.
 */
export function hotkeyPlan(from: Speed, to: Speed): HotkeyName[] {
  const a = speedValue(from);
  const b = speedValue(to);
  if (!Number.isInteger(a) || a < 1 || !Number.isInteger(b) || b < 1) {
    throw new GuestError(`hotkeys cannot go from ${formatSpeed(from)} to ${formatSpeed(to)}: they only step between whole speeds of 1x and more`);
  }
  if ((a === 1 && b === 10) || (a === 10 && b === 1)) return ['toggle'];
  return Array<HotkeyName>(Math.abs(b - a)).fill(b > a ? 'faster' : 'slower');
}

/** What is known about a booted machine (filled by boot()). */
export interface BootInfo {
  media?: string;
  /** Booted from its own disk (an installed OS with systemd), not from the tsx-hv media. */
  installed?: boolean;
  /** Emulator start to the agent's ready line, ms. */
  bootMs?: number;
  /** The CPUID hypervisor signature the guest saw (null: none). */
  hypervisor?: string | null;
  clocksource?: string;
}

/**
 * The speed a default hotkey leads to from `from` (hv-core/src/devices/hotkeys.c): the toggle
 * goes 1x -> 10x and anything else -> 1x; faster is floor(N) + 1; slower is ceil(N) - 1, never
 * below 1x.
 */
export function hotkeyNext(from: Speed, key: HotkeyName): Speed {
  const floor = Math.floor(from.p / from.q);
  const ceil = Math.ceil(from.p / from.q);
  if (key === 'toggle') return { p: from.p === from.q ? 10 : 1, q: 1 };
  if (key === 'faster') return { p: floor + 1, q: 1 };
  return { p: ceil > 2 ? ceil - 1 : 1, q: 1 };
}

const PRESS_SETTLE_MS = 3000;
/** Clean shutdown budget of an installed system (systemd), split over the engine's steps. */
export const INSTALLED_POWEROFF_MS = 90_000;

export class Machine<E extends EngineLike = EngineLike> {
  /** The speed last asked for (1x at boot). */
  requested: Speed = { p: 1, q: 1 };
  private machineClock: ((s: ClockSample) => Promise<bigint>) | undefined;
  private lastMono: bigint | undefined;
  private worstBack = 0n;
  private reads = 0;
  /** EngineTiming.scale of the engine: how many times QEMU's limits it gets. */
  private readonly scale: number;
  private readonly requestMs: number;

  constructor(
    readonly engine: E,
    readonly info: BootInfo = {},
  ) {
    this.scale = engine.timing?.scale ?? 1;
    this.requestMs = REQUEST_TIMEOUT_MS * this.scale;
  }

  /** Every clock read taken through this Machine: how many, and the worst backwards step between consecutive reads. */
  get clockHistory(): { reads: number; backwardsNs: number } {
    return { reads: this.reads, backwardsNs: Number(this.worstBack) };
  }

  async waitFor(pattern: string | RegExp, opts: { timeoutMs?: number; on?: 'console' | 'hypervisor' } = {}): Promise<string> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    if (opts.on !== 'hypervisor') return this.engine.waitFor(pattern, timeoutMs);
    const matches = (line: string): boolean => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.engine.hvLog.find(matches);
      if (hit !== undefined) return hit;
      if (Date.now() >= deadline) throw new GuestError(`the hypervisor did not log ${String(pattern)} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** One clock read from the agent, paired with host time at the round trip's midpoint. */
  async clock(): Promise<PairedSample> {
    const sent = process.hrtime.bigint();
    const payload = await this.engine.agent('clock', this.requestMs);
    const received = process.hrtime.bigint();
    const sample = { ...parseClock(payload), hostNs: (sent + received) / 2n, rttNs: received - sent };
    this.record([sample]);
    return sample;
  }

  private record(samples: readonly PairedSample[]): void {
    const monos = samples.map((s) => s.monoNs);
    const back = worstBackwards(this.lastMono === undefined ? monos : [this.lastMono, ...monos]);
    if (back > this.worstBack) this.worstBack = back;
    this.reads += samples.length;
    if (monos.length) this.lastMono = monos[monos.length - 1];
  }

  /** Speed and arming as the hypervisor reports them to the guest (STATUS hypercall through the agent). */
  async status(): Promise<HvStatus> {
    return parseHvStatus(await this.engine.agent('status', this.requestMs));
  }

  /** The real TSC rate the hypervisor measured (control port `status`, `tsc_hz`). */
  async tscHz(): Promise<number> {
    const reply = await this.controlOk('status');
    const hz = (JSON.parse(reply.replace(/^ok /, '')) as { tsc_hz?: unknown }).tsc_hz;
    if (typeof hz !== 'number' || !(hz > 0)) throw new GuestError(`the hypervisor's status has no tsc_hz: ${reply.slice(0, 120)}`);
    return hz;
  }

  /** Let speed changes take effect (until armed the hypervisor holds the guest at 1x). */
  async arm(via: 'control' | 'hypercall' = 'control'): Promise<string> {
    if (via === 'hypercall') return this.engine.agent('arm', this.requestMs);
    return this.controlOk('arm');
  }

  /** Ask for a speed through the hypervisor port, the default hotkeys, or the agent's hypercall. */
  async speed(value: number | string | Speed, opts: { via?: Via; timeoutMs?: number } = {}): Promise<HvStatus> {
    const target = parseSpeed(value);
    const via = opts.via ?? 'control';
    if (via === 'control') await this.controlOk(`speed ${speedArgument(target)}`);
    else if (via === 'hypercall') await this.engine.agent(`speed ${speedArgument(target)}`, this.requestMs);
    else {
      const plan = hotkeyPlan((await this.status()).speed, target);
      for (const key of plan) await this.engine.sendKeys(HOTKEYS[key]);
    }
    this.requested = target;
    const status = await this.settle(target, opts.timeoutMs ?? this.requestMs);
    // Before arming the hypervisor holds requests and the guest stays at 1x: nothing to compare.
    if (status.armed && !sameSpeed(status.speed, target)) throw new GuestError(`asked for ${formatSpeed(target)} (${via}), the hypervisor reports ${formatSpeed(status.speed)}`);
    return status;
  }

  /**
   * Press a hotkey `times` times, reading the guest clock after every press (so a backwards step
   * during a switch is caught). With `expect`, give the hypervisor up to `settleMs` to report
   * that speed; either way resolve with the speed it reports (the caller judges).
   */
  async hotkey(keys: HotkeyName | string[], opts: { times?: number; gapMs?: number; expect?: Speed; settleMs?: number } = {}): Promise<HvStatus> {
    const combo = Array.isArray(keys) ? keys : HOTKEYS[keys];
    let current = (await this.status()).speed;
    for (let i = 0; i < (opts.times ?? 1); i++) {
      await this.engine.sendKeys(combo);
      // QMP queues key events and returns at once: wait until this press has taken effect, or
      // presses pile up and land after the step is over.
      current = (await this.settle(Array.isArray(keys) ? current : hotkeyNext(current, keys), PRESS_SETTLE_MS * this.scale, Array.isArray(keys))).speed;
      await this.clock();
      if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
    }
    const status = opts.expect ? await this.settle(opts.expect, opts.settleMs ?? 5000 * this.scale) : await this.status();
    this.requested = status.speed;
    return status;
  }

  /**
   * Key presses reach the hypervisor asynchronously: poll STATUS until it shows `target` (or,
   * with `untilChanged`, anything else) or `timeoutMs` passes.
   */
  private async settle(target: Speed, timeoutMs: number, untilChanged = false): Promise<HvStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status();
      if (sameSpeed(status.speed, target) !== untilChanged || Date.now() >= deadline) return status;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Measure the guest's clock speed over `durationMs` of host time (default 5 s) against `expect` (default: the requested speed). */
  async measure(opts: { durationMs?: number; expect?: Speed; tolerancePct?: number; minR2?: number; onSample?: (s: PairedSample, i: number) => void } = {}): Promise<SpeedMeasurement> {
    // Bochs's machine time is not the host's: pair each sample with the machine's real TSC.
    const marks = this.usesMachineTime();
    const m = await measureSpeed(() => this.engine.agent(marks ? 'clock mark' : 'clock', this.requestMs), {
      ...(marks ? { machineTime: this.machineTime() } : {}),
      durationMs: opts.durationMs ?? 5000,
      expect: opts.expect ?? this.requested,
      tolerancePct: opts.tolerancePct,
      minR2: opts.minR2,
      onSample: opts.onSample,
    });
    this.record(m.raw);
    return m;
  }

  /** Run a shell command in the guest (through the agent); returns its exit code and combined output. */
  async exec(command: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return parseExec(await this.engine.agent(execRequest(command), opts.timeoutMs ?? 3 * this.requestMs));
  }

  /**
   * Run `sleep S` in the guest and time it from the host. Whether a sleep shrinks with the speed
   * depends on how the guest's timers reach it (docs/scenarios.md, "The sleep check"), so this
   * measures which model the guest followed, S/N (scaled) or S (unchanged), rather than assuming.
   */
  async sleepCheck(seconds: number, opts: { timeoutMs?: number } = {}): Promise<SleepCheck> {
    const timeoutMs = opts.timeoutMs ?? seconds * 20_000 + 60_000;
    // The agent sleeps itself (`sleep <ms>`: one clock_nanosleep, no process started) where it
    // can; an older agent answers unknown-command and the guest runs `sleep S` through exec.
    // Starting a process at high speeds under an emulator costs seconds of host time on an
    // installed system (every fork and exec spends most of its CPU on the guest's own tick), far
    // more than the 2 s the check times, and it varies too much to be subtracted.
    let agentSleep = true;
    const sleepFor = async (s: number): Promise<string | null> => {
      if (agentSleep) {
        try {
          return await this.engine.agent(`sleep ${Math.round(s * 1000)}`, s === 0 ? this.requestMs : timeoutMs);
        } catch (err) {
          if (!(err instanceof AgentError) || !/unknown-command/.test(err.message)) throw err;
          agentSleep = false;
        }
      }
      const r = await this.exec(`sleep ${s}`, { timeoutMs: s === 0 ? undefined : timeoutMs });
      if (r.exitCode !== 0) throw new GuestError(`sleep ${s} exited with ${r.exitCode}: ${r.output.trim()}`);
      return null;
    };
    // The fixed cost of the round trip: the fastest of three empty sleeps (the minimum is the
    // least disturbed by host load).
    let overhead = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = await this.referenceNow();
      await sleepFor(0);
      overhead = Math.min(overhead, Number((await this.referenceNow()) - t0) / 1e9);
    }
    const before = await this.clock();
    const t1 = await this.referenceNow();
    const slept = await sleepFor(seconds);
    const t2 = await this.referenceNow();
    const after = await this.clock();
    const n = speedValue(this.requested);
    const hostSeconds = Math.max(0, Number(t2 - t1) / 1e9 - overhead);
    const scaledSeconds = seconds / n;
    const closer = Math.abs(Math.log(Math.max(hostSeconds, 1e-3) / scaledSeconds)) <= Math.abs(Math.log(Math.max(hostSeconds, 1e-3) / seconds));
    const sleptNs = slept === null ? null : /\bslept=(\d+)/.exec(slept)?.[1];
    return {
      seconds,
      speed: n,
      hostSeconds,
      overheadSeconds: overhead,
      // The agent's own measurement of its sleep when it slept itself; else the clock samples around the exec.
      guestSeconds: sleptNs ? Number(sleptNs) / 1e9 : Number(after.monoNs - before.monoNs) / 1e9,
      scaledSeconds,
      behaved: closer ? 'scaled' : 'unchanged',
      timeBase: this.usesMachineTime() ? 'machine' : 'host',
      how: slept === null ? 'exec' : 'agent',
    };
  }

  async powerOff(): Promise<void> {
    // An installed system shuts down through systemd (the agent asks it to): give it the time a
    // whole OS needs to stop its units and unmount, before the engine's harder ways.
    await this.engine.powerOff(this.info.installed ? INSTALLED_POWEROFF_MS : undefined);
  }

  async kill(): Promise<void> {
    await this.engine.kill();
  }

  /** Bochs keeps its own time: durations are measured in it. QEMU and a real machine (ssh) run in real time. */
  private usesMachineTime(): boolean {
    return this.engine.engine === 'bochs';
  }

  private machineTime(): (s: ClockSample) => Promise<bigint> {
    this.machineClock ??= machineTimeFromMarks(this.engine.hvLog, () => this.tscHz());
    return this.machineClock;
  }

  /** Now, in the time durations are measured in: the host's, or the machine's own (a marked agent clock reading). */
  private async referenceNow(): Promise<bigint> {
    if (!this.usesMachineTime()) return process.hrtime.bigint();
    return this.machineTime()(parseClock(await this.engine.agent('clock mark', this.requestMs)));
  }

  private async controlOk(line: string): Promise<string> {
    const reply = await this.engine.control(line, this.requestMs);
    if (!/^ok\b/.test(reply)) throw new GuestError(`hypervisor refused "${line}": ${reply}`);
    return reply;
  }
}

/** Judge a sleep check against an expectation; `report` never fails (informational). */
export function judgeSleep(c: SleepCheck, expect: SleepExpectation, tolerancePct: number): { status: 'pass' | 'fail' | 'info'; message: string } {
  const facts =
    `sleep ${c.seconds} at ${c.speed}x took ${c.hostSeconds.toFixed(3)} s of ${c.timeBase ?? 'host'} time ` +
    `(scaled would be ${c.scaledSeconds.toFixed(3)} s; sleeps ran at ${(c.seconds / Math.max(c.hostSeconds, 1e-3)).toFixed(2)}x); ` +
    `the guest clock advanced ${c.guestSeconds.toFixed(3)} s`;
  if (expect === 'report') {
    const note =
      c.speed === 1
        ? ''
        : c.behaved === 'unchanged'
          ? ' — sleeps did not shrink: guest timers fired in real time (known limitation)'
          : ' — sleeps shrank with the speed';
    return { status: 'info', message: facts + note };
  }
  const want = expect === 'scaled' ? c.scaledSeconds : c.seconds;
  const errorPct = ((c.hostSeconds - want) / want) * 100;
  const ok = Math.abs(errorPct) <= tolerancePct;
  return { status: ok ? 'pass' : 'fail', message: `${facts}; expected ${expect} (${want.toFixed(3)} s ±${tolerancePct}%), off by ${errorPct.toFixed(1)}%` };
}
