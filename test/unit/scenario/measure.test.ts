import t from 'tap';
import { fitSpeed, judgeSpeed, machineTimeFromMarks, measureSpeed, sampleClock, worstBackwards, MeasurementError, type PairedSample } from '../../../src/scenario/measure.js';

/** Synthetic samples on guest = offset + speed * host, with optional deterministic jitter (ns). */
function line(speed: number, n: number, opts: { jitterNs?: number; stepMs?: number } = {}): PairedSample[] {
  const out: PairedSample[] = [];
  for (let i = 0; i < n; i++) {
    const host = 1_000_000_000_000n + BigInt(i * (opts.stepMs ?? 10) * 1_000_000);
    const jitter = opts.jitterNs ? Math.round(Math.sin(i * 12.9898) * opts.jitterNs) : 0;
    const mono = 5_000_000_000n + BigInt(Math.round(Number(host - 1_000_000_000_000n) * speed) + jitter);
    out.push({ hostNs: host, rttNs: BigInt(1_000_000 + i), monoNs: mono, realNs: mono + 1n, tsc: mono * 3n });
  }
  return out;
}

t.test('the least-squares slope recovers the speed exactly on a perfect line', async (t) => {
  for (const speed of [1, 60, 0.1, 0.5, 1000]) {
    const f = fitSpeed(line(speed, 200));
    t.ok(Math.abs(f.speed - speed) / speed < 1e-9, `${speed}x -> ${f.speed}`);
    t.ok(f.r2 > 1 - 1e-12);
    t.equal(f.backwardsNs, 0);
    t.equal(f.samples, 200);
    t.ok(Math.abs(f.hostSeconds - 1.99) < 1e-9);
    t.ok(Math.abs(f.guestSeconds - 1.99 * speed) < 1e-6);
  }
});

t.test('jitter lowers R² but not the slope much', async (t) => {
  const f = fitSpeed(line(10, 500, { jitterNs: 50_000_000 }));
  t.ok(Math.abs(f.speed - 10) < 0.05, String(f.speed));
  t.ok(f.r2 < 1 && f.r2 > 0.99, String(f.r2));
  t.equal(f.medianRttMs, 1.00025);
});

t.test('a clock that stands still fits speed 0 perfectly', async (t) => {
  const s = line(1, 5).map((x) => ({ ...x, monoNs: 7n }));
  const f = fitSpeed(s);
  t.equal(f.speed, 0);
  t.equal(f.r2, 1);
});

t.test('backwards steps are found and measured', async (t) => {
  t.equal(worstBackwards([1n, 2n, 3n]), 0n);
  t.equal(worstBackwards([10n, 5n, 20n, 19n]), 5n);
  t.equal(worstBackwards([]), 0n);
  const s = line(1, 10);
  s[5] = { ...s[5]!, monoNs: s[4]!.monoNs - 1234n };
  t.equal(fitSpeed(s).backwardsNs, 1234);
});

t.test('too few or simultaneous samples cannot be fitted', async (t) => {
  t.throws(() => fitSpeed(line(1, 2)), MeasurementError);
  t.throws(() => fitSpeed(line(1, 3, { stepMs: 0 })), /same host instant/);
});

t.test('judging: tolerance, R² and backwards steps each fail with a reason', async (t) => {
  const f = fitSpeed(line(59, 50));
  const ok = judgeSpeed(f, { p: 60, q: 1 }, 2, 0.999);
  t.ok(ok.passed);
  t.ok(Math.abs(ok.errorPct - (-1 / 60) * 100) < 1e-6);
  const off = judgeSpeed(f, { p: 60, q: 1 }, 1, 0.999);
  t.notOk(off.passed);
  t.match(off.problems[0], /speed 59\.0000x is -1\.67% off 60x \(tolerance 1%\)/);
  const bent = judgeSpeed({ ...f, r2: 0.5, backwardsNs: 7 }, { p: 59, q: 1 }, 2, 0.999);
  t.same(bent.problems.length, 2);
  t.match(bent.problems[0], /R² 0\.500000 is below 0\.999/);
  t.match(bent.problems[1], /went backwards by 7 ns/);
});

t.test('sampling pairs each reading with the midpoint of its round trip and keeps going for the duration', async (t) => {
  let guest = 0n;
  const seen: number[] = [];
  const samples = await sampleClock(
    async () => {
      await new Promise((r) => setTimeout(r, 2));
      guest += 1_000_000n;
      return `mono=${guest} real=${guest} tsc=${guest}`;
    },
    { durationMs: 60, intervalMs: 1, onSample: (_s, i) => seen.push(i) },
  );
  t.ok(samples.length >= 3);
  t.same(seen, samples.map((_s, i) => i));
  for (const s of samples) t.ok(s.rttNs > 0n);
  for (let i = 1; i < samples.length; i++) t.ok(samples[i]!.hostNs > samples[i - 1]!.hostNs);
  await t.rejects(sampleClock(async () => 'garbage', { durationMs: 10 }), /mono/);
  const ctl = new AbortController();
  ctl.abort(new Error('stop'));
  await t.rejects(sampleClock(async () => 'mono=1 real=1 tsc=1', { durationMs: 10, signal: ctl.signal }), /stop/);
});

t.test("with the machine's time from MARK lines, the slope is the guest clock against the machine's real TSC", async (t) => {
  // A machine whose TSC runs at 50 MHz; the guest runs at 60x; the hypervisor logs each mark
  // a little after the agent's reply, as over a serial line.
  const hvLog: string[] = ['# tsx-hv: guest starting'];
  let real = 1_000_000_000n;
  let tag = 0n;
  let hzAsked = 0;
  const machineTime = machineTimeFromMarks(hvLog, async () => (hzAsked++, 50_000_000), 2000);
  const samples = await sampleClock(
    async () => {
      real += 5_000_000n; // 0.1 s of machine time between readings
      tag++;
      const mono = (real * 1_000_000_000n * 60n) / 50_000_000n;
      const line = `# tsx-hv: mark ${tag} cpu 0 real ${real} virtual 0`;
      setTimeout(() => hvLog.push(line), 5);
      return `mono=${mono} real=0 tsc=0 mark=${tag}`;
    },
    { durationMs: 400, machineTime },
  );
  t.ok(samples.length >= 3);
  t.equal(hzAsked, 1, 'the rate is asked once');
  t.equal(samples[1]!.hostNs - samples[0]!.hostNs, 100_000_000n, "reference = the machine's time");
  t.equal(Math.round(fitSpeed(samples).speed * 1000) / 1000, 60);
  await t.rejects(machineTime({ monoNs: 1n, realNs: 1n, tsc: 1n }), MeasurementError, 'a reading without mark');
  await t.rejects(machineTimeFromMarks([], async () => 1, 30)({ monoNs: 1n, realNs: 1n, tsc: 1n, mark: 9n }), /no line for mark 9/);
});

t.test('measureSpeed samples, fits and judges in one call', async (t) => {
  let i = 0n;
  const m = await measureSpeed(async () => {
    i++;
    const ns = process.hrtime.bigint() * 3n;
    return `mono=${ns} real=${ns} tsc=${i}`;
  }, { durationMs: 50, expect: { p: 3, q: 1 }, tolerancePct: 5, minR2: 0.5 });
  t.equal(m.requested, 3);
  t.ok(m.passed, m.problems.join());
  t.equal(m.measured, m.speed);
  t.equal(m.raw.length, m.samples);
});
