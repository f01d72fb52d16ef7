// Property-based tests of the vtime core through the Node addon (docs/design/vtime.md lists the
// invariants). Random speed schedules, random per-CPU skews and random interleavings of reads
// on several CPUs, some of them holding a real TSC taken a while before the read completes.
import t from 'tap';
import fc from 'fast-check';
import { VirtualClock } from '../../../src/native.js';

const ONE = 1n << 32n;
const RUNS = Number(process.env.VTIME_PROPERTY_RUNS ?? 300);

type Speed = [bigint, bigint];

/** Speeds p/q in 1/1000 .. 10000, weighted towards the edges and simple ratios. */
const speed: fc.Arbitrary<Speed> = fc
  .oneof(
    fc.tuple(fc.bigInt({ min: 1n, max: 10000n }), fc.bigInt({ min: 1n, max: 1000n })),
    fc.tuple(fc.bigInt({ min: 1n, max: 10000n }), fc.constant(1n)),
    fc.tuple(fc.constant(1n), fc.bigInt({ min: 1n, max: 1000n })),
    fc.tuple(fc.bigInt({ min: 1n, max: 1n << 40n }), fc.bigInt({ min: 1n, max: 1n << 40n })),
  )
  .filter(([p, q]) => p * 1000n >= q && p <= q * 10000n);

const WRAP = 1n << 64n;
/** a >= b on the wrapping 64-bit TSC line (they are less than 2^63 apart). */
function atOrAfter(a: bigint, b: bigint): boolean {
  return (((a - b) % WRAP) + WRAP) % WRAP < 1n << 63n;
}

/** The model, computed exactly with BigInt: R = round(p * 2^32 / q). */
function rateOf([p, q]: Speed): bigint {
  return (2n * p * ONE + q) / (2n * q);
}

type Event =
  | { kind: 'advance'; ticks: bigint }
  | { kind: 'speed'; speed: Speed }
  | { kind: 'read'; cpu: number; lag: bigint };

const event = (cpus: number): fc.Arbitrary<Event> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ticks: fc.bigInt({ min: 0n, max: 1n << 24n }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('speed' as const), speed }) },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('read' as const),
        cpu: fc.integer({ min: 0, max: cpus - 1 }),
        lag: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1n << 20n })),
      }),
    },
  );

const scenario = fc
  .integer({ min: 1, max: 8 })
  .chain((cpus) =>
    fc.record({
      cpus: fc.constant(cpus),
      start: fc.bigInt({ min: 0n, max: 1n << 60n }),
      offsets: fc.array(fc.bigInt({ min: -(1n << 30n), max: 1n << 30n }), { minLength: cpus, maxLength: cpus }),
      lead: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1n << 16n })),
      armAfter: fc.integer({ min: 0, max: 20 }),
      events: fc.array(event(cpus), { minLength: 1, maxLength: 120 }),
    }),
  );

interface Done {
  completedAt: bigint;
  tscAt: bigint;
  value: bigint;
}

t.test('never backwards across CPUs: a read that starts after another ends is not smaller', async (t) => {
  fc.assert(
    fc.property(scenario, ({ cpus, start, offsets, lead, armAfter, events }) => {
      const c = new VirtualClock({ cpus, realTsc: start });
      // CPU k's raw TSC is reference - offset_k: the clock maps every core onto one timeline.
      offsets.forEach((o, k) => c.setCpuOffset(k, o));
      c.setPublishLead(lead);
      let now = start + (1n << 31n);
      const done: Done[] = [];
      events.forEach((e, i) => {
        if (i === armAfter) c.arm(now);
        if (e.kind === 'advance') now += e.ticks;
        else if (e.kind === 'speed') c.setSpeed(now, e.speed[0], e.speed[1]);
        else {
          // The reader took its TSC `lag` ticks ago and completes now, after every writer
          // before it in the schedule (a writer's real_now is taken when it publishes).
          const tscAt = now - e.lag;
          const value = c.read(e.cpu, tscAt - offsets[e.cpu]!);
          for (const d of done) {
            if (tscAt >= d.completedAt && value < d.value) {
              throw new Error(`backwards: ${d.value} then ${value} (tsc ${d.tscAt} -> ${tscAt}, cpu ${e.cpu})`);
            }
          }
          done.push({ completedAt: now, tscAt, value });
        }
      });
    }),
    { numRuns: RUNS },
  );
});

t.test('continuity: a speed change moves no reading by more than one tick', async (t) => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 1n << 62n }),
      fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 1n << 32n }), speed), { minLength: 1, maxLength: 30 }),
      fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1n << 20n })),
      (start, changes, lead) => {
        const c = new VirtualClock({ cpus: 1, realTsc: start });
        c.arm(start);
        c.setPublishLead(lead);
        let now = start;
        for (const [gap, [p, q]] of changes) {
          now += gap;
          // Where the new epoch will start: now + lead (epoch starts never go backwards).
          const u = now + lead > c.state().epochU ? now + lead : c.state().epochU;
          const before = [c.toVirtual(u - 1n), c.toVirtual(u)];
          c.setSpeed(now, p, q);
          const s = c.state();
          if (s.epochU !== u || s.epochG !== before[1]) return false;
          const after = [c.toVirtual(u - 1n), c.toVirtual(u)];
          // The past is untouched; at the switch the value moves by at most one tick (0 here).
          if (after[0] !== before[0]) return false;
          const jump = after[1]! - before[1]!;
          if (jump > 1n || jump < -1n) return false;
        }
        return true;
      },
    ),
    { numRuns: RUNS },
  );
});

t.test('the addon computes exactly the model g + ((v - u) * R) >> 32, modulo 2^64', async (t) => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      speed,
      fc.bigInt({ min: 0n, max: 1n << 62n }),
      (start, sp, d) => {
        const c = new VirtualClock({ cpus: 1, realTsc: start });
        c.setSpeed(start, sp[0], sp[1]);
        c.arm(start);
        const v = (start + d) % (1n << 64n);
        const want = (start + ((d * rateOf(sp)) >> 32n)) % (1n << 64n);
        return c.read(0, v) === want && c.state().rate === rateOf(sp);
      },
    ),
    { numRuns: RUNS },
  );
});

t.test('long-run slope equals the requested speed within 1 ppm', async (t) => {
  fc.assert(
    fc.property(speed, fc.bigInt({ min: 1n << 36n, max: 1n << 44n }), ([p, q], span) => {
      const c = new VirtualClock({ cpus: 1 });
      c.setSpeed(0n, p, q);
      c.arm(0n);
      const got = c.read(0, span);
      const want = (span * p) / q;
      const diff = got > want ? got - want : want - got;
      return diff * 1_000_000n <= want + 1_000_000n;
    }),
    { numRuns: RUNS },
  );
});

t.test('timers never fire early, and not one real tick late', async (t) => {
  fc.assert(
    fc.property(scenario, fc.array(fc.bigInt({ min: 0n, max: 1n << 36n }), { minLength: 1, maxLength: 20 }),
      ({ cpus, start, offsets, lead, events }, ahead) => {
        const c = new VirtualClock({ cpus, realTsc: start });
        offsets.forEach((o, k) => c.setCpuOffset(k, o));
        c.setPublishLead(lead);
        c.arm(start);
        let now = start + (1n << 31n);
        for (const e of events) {
          if (e.kind === 'advance') now += e.ticks;
          else if (e.kind === 'speed') c.setSpeed(now, e.speed[0], e.speed[1]);
        }
        const newestG = c.state().epochG;
        for (let k = 0; k < cpus; k++) {
          const nowVirtual = c.read(k, now - offsets[k]!);
          for (const a of ahead) {
            for (const deadline of [(nowVirtual + a) % WRAP, (nowVirtual - a + WRAP) % WRAP]) {
              const r = c.toReal(deadline, k);
              if (!atOrAfter(c.read(k, r), deadline)) return false;
              // Tight wherever the deadline lies in a kept epoch (here: the newest).
              if (!atOrAfter(newestG, deadline) && atOrAfter(c.read(k, (r - 1n + WRAP) % WRAP), deadline)) return false;
            }
          }
        }
        return true;
      }),
    { numRuns: RUNS },
  );
});

t.test('round trips are bounded by one tick of the other timeline', async (t) => {
  fc.assert(
    fc.property(speed, fc.bigInt({ min: 0n, max: 1n << 60n }), fc.bigInt({ min: 0n, max: 1n << 40n }),
      ([p, q], start, d) => {
        const c = new VirtualClock({ cpus: 1, realTsc: start });
        c.setSpeed(start, p, q);
        c.arm(start);
        const realTick = (q + p - 1n) / p + 1n; // real ticks per virtual tick, rounded up, + rounding of R
        const virtualTick = (p + q - 1n) / q + 1n;
        const r = start + d;
        const back = c.toReal(c.toVirtual(r));
        if (back > r || r - back > realTick) return false;
        const deadline = c.toVirtual(r) + d % 1000n;
        const fwd = c.toVirtual(c.toReal(deadline));
        return fwd >= deadline && fwd - deadline <= virtualTick;
      }),
    { numRuns: RUNS },
  );
});
