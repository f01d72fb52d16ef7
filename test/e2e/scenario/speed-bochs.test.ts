// The main job on the Intel path (issue 14's "done when"): `tsx-hv --json test --engine bochs
// --speed 60` boots the same media in Bochs 2.7 on an Intel CPU with VT-x, under the VMX backend
// and its zero-exit clock, measures 1x, 60x and 1x against the machine's own time (the agent's
// `clock mark` and the hypervisor's MARK lines: Bochs's time is not the host's), runs the sleep
// check and exits 0. The CLI runs as a real process; the figures are printed as TAP comments.
import t from 'tap';
import { join } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { packageRoot } from '../../../src/builder/layout.js';
import type { JsonDocument } from '../../../src/scenario/reporters/json.js';
import { standardMedia } from '../hv/fixtures.js';

t.test('tsx-hv test --engine bochs --speed 60 --json measures every step within 0.5%', async (t) => {
  const media = await standardMedia();
  const r = await run(process.execPath, [join(packageRoot(), 'bin', 'tsx-hv.js'), '--json', 'test', '--engine', 'bochs', '--speed', '60', '--media', media], {
    allowFailure: true,
    timeout: 20 * 60_000,
  });
  if (r.exitCode === 77) return t.skip(`a required tool is missing: ${r.stderr.trim()}`);
  const doc = JSON.parse(r.stdout) as JsonDocument;
  for (const s of doc.steps) {
    const figures = s.measured === undefined ? '' : ` requested ${s.requested}x measured ${s.measured.toFixed(5)}x error ${s.errorPct!.toFixed(4)}% r2 ${s.r2!.toFixed(6)} samples ${s.samples} backwards ${s.backwardsNs} ns`;
    t.comment(`${s.index} ${s.status} ${s.name} (${(s.durationMs / 1000).toFixed(1)} s)${figures}${s.message ? ` — ${s.message}` : ''}`);
  }
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(doc.passed, true);
  t.match(doc.steps[0]!.name, /bochs/);
  const measures = doc.steps.filter((s) => s.kind === 'measure');
  t.same(measures.map((s) => s.requested), [1, 60, 1]);
  for (const s of measures) {
    t.ok(Math.abs(s.errorPct!) < 0.5, `${s.name}: error ${s.errorPct}% under 0.5%`);
    t.equal(s.backwardsNs, 0, `${s.name}: the clock never went backwards`);
    t.ok(s.samples! >= 20, `${s.name}: ${s.samples} samples (MARK lines are not rate-limited away)`);
  }
  t.equal(doc.steps.find((s) => s.kind === 'sleep')!.status, 'pass', 'the sleep check passes');
  t.equal(doc.steps.at(-1)!.kind, 'poweroff');
  t.equal(doc.steps.at(-1)!.status, 'pass');
});
