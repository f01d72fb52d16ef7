/**
 * The scenario behind `tsx-hv test --speed N`: boot, arm, measure 1x, switch to N, measure, run
 * the sleep check while at N, back to 1x, measure, check the clock never went backwards, power
 * off. The sleep check runs at N (not after returning to 1x) because only there does it say
 * anything. The hypervisor runs the guest's timers on the virtual timeline, so a sleep of S
 * guest seconds takes S/N of host time: the step asserts that (`expect: scaled`, ±15%). It
 * sleeps 2N guest seconds (2 to 120), so that a scaled sleep lasts about 2 s of host time, well
 * above the noise of an exec round trip (0.1-0.4 s under TCG on a loaded host); above 60x the
 * 120 s cap makes the sleep too short for that, and the step only reports (`expect: report`).
 */
import {
  DEFAULT_MEASURE_S,
  DEFAULT_MIN_R2,
  DEFAULT_SLEEP_TOLERANCE_PCT,
  DEFAULT_TOLERANCE_PCT,
  type MachineSpec,
  type Scenario,
  type SleepExpectation,
  type Step,
  defaultBootTimeoutS,
} from './schema.js';
import { formatSpeed, parseSpeed, speedArgument, speedValue, type Speed } from '../control/speed.js';

export interface BuiltinOptions {
  tolerancePct?: number;
  /** Host seconds per measuring step. */
  measureS?: number;
  /** Guest seconds of the sleep check. */
  sleepS?: number;
  /** What the sleep check asserts (default: scaled up to 60x, report above). */
  sleepExpect?: SleepExpectation;
  machine?: Partial<MachineSpec>;
}

export function builtinScenario(requested: number | string | Speed, opts: BuiltinOptions = {}): Scenario {
  const speed = parseSpeed(requested);
  // A running machine reached over ssh has no control port here: its agent's hypercalls arm it
  // and change its speed.
  const via = opts.machine?.target ? ('hypercall' as const) : ('control' as const);
  const one: Speed = { p: 1, q: 1 };
  const measure = (expect: Speed): Step => ({
    kind: 'measure',
    name: `measure ${formatSpeed(expect)}`,
    line: 0,
    durationS: opts.measureS ?? DEFAULT_MEASURE_S,
    expect,
    tolerancePct: opts.tolerancePct ?? DEFAULT_TOLERANCE_PCT,
    minR2: DEFAULT_MIN_R2,
  });
  const sleepS = opts.sleepS ?? Math.min(120, Math.max(2, Math.round(2 * speedValue(speed))));
  const expectSleep = opts.sleepExpect ?? (speedValue(speed) <= 60 ? 'scaled' : 'report');
  const asserted = expectSleep !== 'report';
  const sleepStep: Step = {
    kind: 'sleep',
    name: `sleep ${sleepS} s at ${formatSpeed(speed)} (${asserted ? `${expectSleep} ±${DEFAULT_SLEEP_TOLERANCE_PCT}%` : 'informational'})`,
    line: 0,
    seconds: sleepS,
    expect: expectSleep,
    tolerancePct: DEFAULT_SLEEP_TOLERANCE_PCT,
  };
  return {
    name: `speed-${speedArgument(speed).replace('/', '-')}`,
    description: `built-in: 1x, ${formatSpeed(speed)}, back to 1x, with a sleep check at ${formatSpeed(speed)}`,
    source: `builtin:--speed ${speedArgument(speed)}`,
    machine: { engine: 'qemu', cpus: 1, memory: '512M', bootTimeoutS: defaultBootTimeoutS(opts.machine?.engine ?? 'qemu'), ...opts.machine },
    steps: [
      { kind: 'arm', name: `arm (${via})`, line: 0, via },
      measure(one),
      { kind: 'speed', name: `speed ${formatSpeed(speed)} (${via})`, line: 0, speed, via },
      measure(speed),
      sleepStep,
      { kind: 'speed', name: `speed 1x (${via})`, line: 0, speed: one, via },
      measure(one),
      { kind: 'monotonic', name: 'clock never went backwards', line: 0 },
      { kind: 'poweroff', name: 'power off', line: 0 },
    ],
  };
}
