// The product's main job, end to end: `tsx-hv --json test --speed 60` boots the Debian guest under
// the hypervisor in QEMU TCG, measures 1x, 60x and 1x again, runs the sleep check, and exits 0.
// The CLI runs as a real process (bin/tsx-hv.js over dist/, which `npm test` compiles first).
// The measured figures are printed as TAP comments.
import t from 'tap';
import { join } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { packageRoot } from '../../../src/builder/layout.js';
import type { JsonDocument } from '../../../src/scenario/reporters/json.js';
import { standardMedia } from '../hv/fixtures.js';

t.test('tsx-hv test --speed 60 --json measures every step within 2%', async (t) => {
  const media = await standardMedia();
  const samples = join(t.testdir({}), 'samples.ndjson');
  const r = await run(process.execPath, [join(packageRoot(), 'bin', 'tsx-hv.js'), '--json', 'test', '--speed', '60', '--media', media, '--samples', samples], {
    allowFailure: true,
    timeout: 15 * 60_000,
  });
  if (r.exitCode === 77) return t.skip(`a required tool is missing: ${r.stderr.trim()}`);
  const doc = JSON.parse(r.stdout) as JsonDocument;
  for (const s of doc.steps) {
    const figures = s.measured === undefined ? '' : ` requested ${s.requested}x measured ${s.measured.toFixed(4)}x error ${s.errorPct!.toFixed(3)}% r2 ${s.r2!.toFixed(6)} samples ${s.samples} backwards ${s.backwardsNs} ns`;
    t.comment(`${s.index} ${s.status} ${s.name} (${(s.durationMs / 1000).toFixed(1)} s)${figures}${s.message ? ` — ${s.message}` : ''}`);
  }
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(doc.passed, true);
  t.match(doc.steps[0]!.message, /guest sees tsx-hv-vtime, clocksource tsc/);
  const measures = doc.steps.filter((s) => s.kind === 'measure');
  t.same(measures.map((s) => s.requested), [1, 60, 1]);
  for (const s of measures) {
    t.ok(Math.abs(s.errorPct!) < 2, `${s.name}: error ${s.errorPct}% under 2%`);
    t.equal(s.backwardsNs, 0, `${s.name}: the clock never went backwards`);
    t.ok(s.r2! >= 0.99, `${s.name}: R² ${s.r2}`);
    t.ok(s.samples! >= 20, `${s.name}: ${s.samples} samples`);
  }
  const sleep = doc.steps.find((s) => s.kind === 'sleep')!;
  t.equal(sleep.status, 'pass', 'the sleep check is asserted: a sleep scales with the speed (timers on the virtual timeline)');
  t.match(sleep.message, /^sleep 120 at 60x took \d+\.\d+ s of host time \(scaled would be 2\.000 s; sleeps ran at \d+\.\d+x\)/);
  t.equal(doc.steps.at(-1)!.kind, 'poweroff');
  t.equal(doc.steps.at(-1)!.status, 'pass');
  const events = (await import('node:fs/promises').then((fs) => fs.readFile(samples, 'utf8'))).trimEnd().split('\n').map((l) => JSON.parse(l) as { event: string; kind?: string; raw?: unknown[]; samples?: number });
  const rawMeasures = events.filter((e) => e.event === 'step' && e.kind === 'measure');
  t.equal(rawMeasures.length, 3);
  for (const e of rawMeasures) t.equal(e.raw!.length, e.samples, 'every raw sample is kept');
});
