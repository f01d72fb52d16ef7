import t from 'tap';
import { Parser } from 'tap-parser';
import { tapPoint, tapReporter } from '../../../../src/scenario/reporters/tap.js';
import { builtinScenario } from '../../../../src/scenario/builtin.js';
import { ladder, summary } from '../fixtures/results.js';

t.test('test points with YAML diagnostics, exactly', async (t) => {
  t.equal(
    tapPoint(2, 'ladder', ladder.steps[1]!),
    `ok 2 - ladder: measure 60x
  ---
  kind: measure
  line: 4
  status: pass
  durationMs: 5000
  requested: 60
  measured: 59.98123456
  errorPct: -0.0312
  r2: 0.9999871
  samples: 412
  backwardsNs: 0
  ...
`,
  );
  t.match(tapPoint(3, 'ladder', ladder.steps[2]!), /^not ok 3 - ladder: measure 1x\n  ---\n[^]*  message: speed 1\.0500x is 5\.00% off 1x \(tolerance 2%\)\n  severity: fail\n  \.\.\.\n$/);
  t.equal(tapPoint(6, 'ladder', ladder.steps[5]!), 'ok 6 - ladder: power off # SKIP not run: step 4 (exec) timed out\n');
  t.match(tapPoint(5, 'ladder', ladder.steps[4]!), /^not ok 5 - ladder: exec \\#1\n/);
});

t.test('the stream is valid TAP 13 that a TAP parser reads back', async (t) => {
  let text = '';
  const r = tapReporter((s) => (text += s));
  const s = builtinScenario({ p: 60, q: 1 });
  r.runStart!([s]);
  for (const step of ladder.steps) r.stepEnd!(s, step);
  await r.runEnd!(summary);
  t.match(text, /^TAP version 13\nok 1 - speed-60: boot/);
  t.match(text, /\n1\.\.6\n# failed \(exit 124\)\n$/);
  const p = new Parser();
  const done = new Promise<{ ok: boolean; count: number; pass: number; fail: number; skip: number }>((res) => p.on('complete', res));
  p.end(text);
  const res = await done;
  t.same({ ok: res.ok, count: res.count, pass: res.pass, fail: res.fail, skip: res.skip }, { ok: false, count: 6, pass: 4, fail: 2, skip: 1 });
});
