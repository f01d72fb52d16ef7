/**
 * Time acceleration measured end to end: the guest's CLOCK_MONOTONIC is sampled through the
 * agent against the host's monotonic clock for at least 5 s of host time per step, and the
 * least-squares slope must be within 2% of the requested speed. Steps switch through the
 * control port (1x -> 10x -> 60x -> 1x, 0.5x) and the default hotkeys (QMP send-key,
 * Ctrl+Alt+F12: 1x -> 10x -> 1x). Then 200 random switches: no clock read ever goes back.
 *
 * The guest reads its clock somewhere inside each request's round trip, so round-trip jitter
 * becomes guest-time noise multiplied by the speed (10 ms of jitter is 0.6 s of guest time at
 * 60x). On a loaded host the fit therefore uses the samples whose round trip was at most the
 * median (the better half); the never-backwards check uses every sample.
 */
import t from 'tap';
import { fitSpeed, judgeSpeed, sampleClock, worstBackwards, type PairedSample } from '../../../src/scenario/measure.js';
import { parseClock } from '../../../src/engines/agent-protocol.js';
import type { EngineMachine } from '../../../src/engines/machine.js';
import { bootToAgent, hvStatus, panics } from './fixtures.js';

const STEP_MS = 8_000;

/** Samples for STEP_MS of host time, fits the better half by round trip, judges within 2%. */
async function measure(read: () => Promise<string>, p: number, q: number) {
  const raw = await sampleClock(read, { durationMs: STEP_MS, intervalMs: 50 });
  const rtts = raw.map((s) => s.rttNs).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const median = rtts[Math.floor(rtts.length / 2)]!;
  const best: PairedSample[] = raw.filter((s) => s.rttNs <= median);
  const fit = fitSpeed(best);
  const verdict = judgeSpeed(fit, { p, q }, 2, 0.999);
  return { ...fit, ...verdict, requested: p / q, allSamples: raw.length, backwardsAll: worstBackwards(raw.map((s) => s.monoNs)) };
}

async function waitForLog(m: EngineMachine, re: RegExp, timeoutMs: number, after = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = m.hvLog.slice(after).find((l) => re.test(l));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`hypervisor log has no ${String(re)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// One boot serves both tests: the measured steps, then the random switches.
const { m } = await bootToAgent(t);

t.test('speed switching through the control port and the hotkeys, measured', async (t) => {
  await waitForLog(m, /^# tsx-hv: armed by /, 120_000);
  const read = (): Promise<string> => m.agent('clock', 20_000);
  type Step = { name: string; p: number; q: number; apply: () => Promise<void> };
  const control = (line: string, p: number, q: number): Step => ({
    name: `control "${line}"`,
    p,
    q,
    apply: async () => {
      t.equal(await m.control(line, 10_000), `ok speed ${p}/${q}`, `reply to ${line}`);
    },
  });
  const hotkey = (p: number): Step => ({
    name: `hotkey ctrl+alt+f12 -> ${p}x`,
    p,
    q: 1,
    apply: async () => {
      const mark = m.hvLog.length;
      await m.sendKeys(['ctrl', 'alt', 'f12']);
      await waitForLog(m, new RegExp(`^# tsx-hv: speed ${p}/1 \\(hotkey\\)`), 20_000, mark);
    },
  });
  const steps: Step[] = [
    control('speed 1', 1, 1),
    control('speed 10', 10, 1),
    control('speed 60', 60, 1),
    control('speed 1', 1, 1),
    hotkey(10),
    hotkey(1),
    control('speed 1/2', 1, 2),
  ];
  for (const step of steps) {
    await step.apply();
    const r = await measure(read, step.p, step.q);
    t.comment(`${step.name}: measured ${r.speed.toFixed(4)}x for ${r.requested}x (${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(3)}%), R2 ${r.r2.toFixed(6)}, ${r.samples} of ${r.allSamples} samples over ${r.hostSeconds.toFixed(2)} s, median RTT ${r.medianRttMs.toFixed(1)} ms`);
    t.ok(r.hostSeconds >= 5, `${step.name}: at least 5 s of host time`);
    t.ok(r.passed, `${step.name}: ${r.problems.join('; ') || 'within 2%'}`);
    t.equal(r.backwardsAll, 0n, `${step.name}: no sample went backwards`);
  }
  const s = await hvStatus(m);
  t.equal(s.speed, '1/2');
  t.ok(s.armed);
  t.ok(s.epochs >= steps.length, `epochs ${s.epochs}`);
  t.ok(s.exits.rdtsc + s.exits.rdtscp > 0, 'RDTSC exits counted');
  t.type(s.rdtsc_exits_per_s, 'number');
  t.ok(s.host_ns_per_rdtsc_exit > 0, 'host time per RDTSC exit reported');
  t.comment(`status: ${s.rdtsc_exits_per_s} RDTSC exits/s, ${(s.host_ns_per_rdtsc_exit / 1000).toFixed(2)} us host time per RDTSC exit, ${(s.host_ns_per_exit / 1000).toFixed(2)} us per exit overall, exits ${JSON.stringify(s.exits)}`);
  t.same(panics(m), []);
});

t.test('200 random switches never move the guest clock backwards', async (t) => {
  const speeds = ['1', '2', '10', '60', '100', '1/2', '1/10', '3/2', '7/3', '25/2'];
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
  let lastMono = -1n;
  let lastTsc = -1n;
  let backwards = 0;
  for (let i = 0; i < 200; i++) {
    const speed = speeds[next() % speeds.length]!;
    const reply = await m.control(`speed ${speed}`, 10_000);
    if (!reply.startsWith('ok speed ')) t.fail(`switch ${i}: ${reply}`);
    const c = parseClock(await m.agent('clock', 20_000));
    if (c.monoNs < lastMono || c.tsc < lastTsc) backwards++;
    lastMono = c.monoNs;
    lastTsc = c.tsc;
  }
  t.equal(backwards, 0, 'CLOCK_MONOTONIC and RDTSC never went backwards');
  t.equal(await m.control('speed 1', 10_000), 'ok speed 1/1');
  t.match(await m.agent('clock', 20_000), /mono=\d+/, 'guest responsive afterwards');
  t.same(panics(m), []);
});
