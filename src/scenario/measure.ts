/**
 * How fast does the guest's time flow? Ask the guest agent for its clocks over and over, pair each
 * answer with the host's monotonic clock at the midpoint of the round trip, and fit a straight
 * line: guest ns = a + speed * host ns. The slope is the speed the guest experienced.
 *
 * Why the midpoint: the guest read its clock somewhere between our send and our receive. The
 * two legs of the trip are not equally long (the reply is longer than the request), which shifts
 * every sample by about the same amount: a constant offset, which moves the intercept and not
 * the slope. The jitter that remains shows up in R squared.
 */
import { parseClock, type ClockSample } from '../engines/agent-protocol.js';
import { TsxHvError } from '../errors.js';
import { DEFAULT_MIN_R2, DEFAULT_TOLERANCE_PCT } from './schema.js';
import { speedValue, type Speed } from '../control/speed.js';

/** A guest clock reading (the engine's parse of `mono=<ns> real=<ns> tsc=<u64>`) paired with host time. */
export interface PairedSample extends ClockSample {
  /** Host ns (process.hrtime.bigint()) at the midpoint of the round trip, or the machine's own
   * time in ns where the engine's clock is not the host's (SampleOptions.machineTime). */
  hostNs: bigint;
  /** Host ns the round trip took. */
  rttNs: bigint;
}

export interface SpeedFit {
  /** Slope of guest CLOCK_MONOTONIC against host time: 1 = real time, 60 = 60x faster. */
  speed: number;
  /** Coefficient of determination of the fit (1 = every sample on the line). */
  r2: number;
  samples: number;
  /** Host seconds between the first and last sample. */
  hostSeconds: number;
  /** Guest seconds between the first and last sample. */
  guestSeconds: number;
  /** The largest amount by which a guest reading was earlier than the one before it (0 = never). */
  backwardsNs: number;
  /** Median round trip, ms. */
  medianRttMs: number;
}

export class MeasurementError extends TsxHvError {
  constructor(message: string) {
    super('MEASUREMENT', message);
    this.name = 'MeasurementError';
  }
}

/** Worst backwards step in a sequence of readings taken one after another (0 if it never went back). */
export function worstBackwards(values: readonly bigint[]): bigint {
  let worst = 0n;
  for (let i = 1; i < values.length; i++) {
    const back = values[i - 1]! - values[i]!;
    if (back > worst) worst = back;
  }
  return worst;
}

/** Least-squares slope of guest CLOCK_MONOTONIC over host time. Needs at least 3 samples spread over time. */
export function fitSpeed(samples: readonly PairedSample[]): SpeedFit {
  if (samples.length < 3) throw new MeasurementError(`only ${samples.length} clock sample(s); at least 3 are needed to fit a speed`);
  const h0 = samples[0]!.hostNs;
  const g0 = samples[0]!.monoNs;
  // Differences from the first sample fit a double exactly for any realistic run (2^53 ns = 104 days).
  const xs = samples.map((s) => Number(s.hostNs - h0) / 1e9);
  const ys = samples.map((s) => Number(s.monoNs - g0) / 1e9);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) throw new MeasurementError('all clock samples were taken at the same host instant; cannot fit a speed');
  const speed = sxy / sxx;
  const residual = syy - speed * sxy;
  const r2 = syy === 0 ? 1 : Math.max(0, 1 - residual / syy);
  const rtts = samples.map((s) => Number(s.rttNs) / 1e6).sort((a, b) => a - b);
  return {
    speed,
    r2,
    samples: n,
    hostSeconds: xs[n - 1]!,
    guestSeconds: ys[n - 1]!,
    backwardsNs: Number(worstBackwards(samples.map((s) => s.monoNs))),
    medianRttMs: rtts[Math.floor(n / 2)]!,
  };
}

export interface SpeedVerdict {
  passed: boolean;
  /** (measured - requested) / requested, in percent. */
  errorPct: number;
  /** Why it failed; empty when it passed. */
  problems: string[];
}

/** Judge a fit against the request: within tolerance, straight enough, never backwards. */
export function judgeSpeed(fit: SpeedFit, requested: Speed, tolerancePct: number, minR2: number): SpeedVerdict {
  const want = speedValue(requested);
  const errorPct = ((fit.speed - want) / want) * 100;
  const problems: string[] = [];
  if (Math.abs(errorPct) > tolerancePct) problems.push(`speed ${fit.speed.toFixed(4)}x is ${errorPct.toFixed(2)}% off ${want}x (tolerance ${tolerancePct}%)`);
  if (fit.r2 < minR2) problems.push(`R² ${fit.r2.toFixed(6)} is below ${minR2}: the guest clock did not flow at a steady rate`);
  if (fit.backwardsNs > 0) problems.push(`the guest clock went backwards by ${fit.backwardsNs} ns`);
  return { passed: problems.length === 0, errorPct, problems };
}

export interface SampleOptions {
  /** Host milliseconds to keep sampling. */
  durationMs: number;
  /** Milliseconds to wait between samples (0: back to back). */
  intervalMs?: number;
  /** Called with each sample as it arrives (live progress). */
  onSample?: (sample: PairedSample, index: number) => void;
  signal?: AbortSignal;
  /**
   * Where the host's clock is not the machine's (Bochs runs its machine slower or faster than
   * real time), the reference time of a sample: the machine's own time in ns at the moment the
   * guest read its clock (the MARK the agent's `clock mark` makes; see machineTimeFromMarks).
   * Without it the reference is the host's clock at the round trip's midpoint.
   */
  machineTime?: (sample: ClockSample) => Promise<bigint>;
}

/**
 * The reference time of the agent's `clock mark` samples: the hypervisor logs `mark TAG cpu N
 * real R virtual V` for each (docs/hypercall.md); R / tscHz is the machine's time. `hvLog` is the
 * machine's hypervisor log as it grows; waits up to `timeoutMs` for the line.
 */
export function machineTimeFromMarks(hvLog: readonly string[], tscHz: () => Promise<number>, timeoutMs = 30_000): (s: ClockSample) => Promise<bigint> {
  let hz: bigint | undefined;
  let searchedTo = 0;
  const reals = new Map<bigint, bigint>();
  return async (s) => {
    if (s.mark === undefined) throw new MeasurementError('the agent made no MARK hypercall (an agent older than `clock mark`, or not under tsx-hv)');
    hz ??= BigInt(Math.round(await tscHz()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (; searchedTo < hvLog.length; searchedTo++) {
        const m = /^# tsx-hv: mark (\d+) cpu \d+ real (\d+) virtual \d+$/.exec(hvLog[searchedTo]!);
        if (m) reals.set(BigInt(m[1]!), BigInt(m[2]!));
      }
      const real = reals.get(s.mark);
      if (real !== undefined) return (real * 1_000_000_000n) / hz;
      if (Date.now() > deadline) throw new MeasurementError(`the hypervisor logged no line for mark ${s.mark} within ${timeoutMs} ms (rate-limited?)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
}

/**
 * Take clock samples for `durationMs` of host time. `readClock` sends one `clock` request to the
 * agent and resolves with its payload.
 */
export async function sampleClock(readClock: () => Promise<string>, opts: SampleOptions): Promise<PairedSample[]> {
  const samples: PairedSample[] = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(opts.durationMs * 1e6));
  for (;;) {
    opts.signal?.throwIfAborted();
    const sent = process.hrtime.bigint();
    const payload = await readClock();
    const received = process.hrtime.bigint();
    const clock = parseClock(payload);
    const hostNs = opts.machineTime ? await opts.machineTime(clock) : (sent + received) / 2n;
    const sample = { ...clock, hostNs, rttNs: received - sent };
    samples.push(sample);
    opts.onSample?.(sample, samples.length - 1);
    if (received >= end) return samples;
    if (opts.intervalMs) await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}

export interface SpeedMeasurement extends SpeedFit, SpeedVerdict {
  requested: number;
  /** The fitted speed (same as `speed`), named for reports. */
  measured: number;
  raw: PairedSample[];
}

export interface MeasureOptions extends SampleOptions {
  /** The speed the guest should be running at. */
  expect: Speed;
  tolerancePct?: number;
  minR2?: number;
}

/** Sample, fit and judge in one go: the library form of a `measure` step. */
export async function measureSpeed(readClock: () => Promise<string>, opts: MeasureOptions): Promise<SpeedMeasurement> {
  const raw = await sampleClock(readClock, opts);
  const fit = fitSpeed(raw);
  const verdict = judgeSpeed(fit, opts.expect, opts.tolerancePct ?? DEFAULT_TOLERANCE_PCT, opts.minR2 ?? DEFAULT_MIN_R2);
  return { ...fit, ...verdict, requested: speedValue(opts.expect), measured: fit.speed, raw };
}
