import t from 'tap';
import { PassThrough } from 'node:stream';
import { ansiPaint, humanReporter, scenarioReport, stepTable, summaryLine } from '../../../../src/scenario/reporters/human.js';
import { builtinScenario } from '../../../../src/scenario/builtin.js';
import { ladder, ok, summary } from '../fixtures/results.js';

t.test('the step table, exactly', async (t) => {
  t.equal(
    stepTable(ladder),
    [
      '#  status   step               requested  measured  error   R²        samples  backwards  time',
      '0  pass     boot (qemu, 512M)                                                             9.0 s',
      '1  pass     measure 60x        60x        59.9812x  -0.03%  0.999987  412      0 ns       5.0 s',
      '2  fail     measure 1x         1x         1.05x     +5.00%  0.990000  300      0 ns       5.0 s',
      '3  info     sleep 3 s          60x                                                        2.5 s',
      '4  timeout  exec #1                                                                       1.0 s',
      '5  skip     power off',
    ].join('\n'),
  );
});

t.test('a scenario report has a verdict, the table and the notes of steps that did not just pass', async (t) => {
  const text = scenarioReport(ladder);
  t.match(text, /^ladder \(scenarios\/ladder\.yaml\): TIMEOUT in 21\.5 s\n/);
  t.match(text, /\n  step 2 fail: speed 1\.0500x is 5\.00% off 1x \(tolerance 2%\)\n  step 3 info: sleep 3 at 60x took 0\.100 s <&> "x"\n  step 4 timeout: step 4 \(exec\) did not finish within 1 s\n  step 4 \(exec #1\) timed out\n$/);
  t.match(scenarioReport(ok), /^ok \(builtin:--speed 2\): PASS in 1\.0 s\n/);
  t.match(scenarioReport(ok, ansiPaint), /\u001b\[32mPASS\u001b\[0m/);
  t.match(scenarioReport(ladder, ansiPaint), /\u001b\[31mTIMEOUT\u001b\[0m/);
  t.equal(ansiPaint('unknown', 'x'), '\u001b[0mx\u001b[0m');
});

t.test('the summary line counts scenarios by outcome', async (t) => {
  t.equal(summaryLine(summary), '2 scenario(s): 1 passed, 0 failed, 1 timeout in 22.5 s (exit 124)\n');
  t.equal(summaryLine({ passed: false, exitCode: 77, durationMs: 0, scenarios: [{ ...ok, status: 'skip' }] }), '1 scenario(s): 0 passed, 0 failed, 1 skipped in 0.0 s (exit 77)\n');
});

t.test('on a terminal a live line shows the running step and is cleared when it ends', async (t) => {
  const live = new PassThrough();
  let liveText = '';
  live.on('data', (d) => (liveText += String(d)));
  const written: string[] = [];
  const r = humanReporter({ write: (s) => written.push(s), live });
  const s = builtinScenario({ p: 60, q: 1 });
  r.scenarioStart!(s);
  r.stepStart!(s, 2, 'measure 1x');
  r.stepProgress!(s, 2, '25 samples');
  r.stepProgress!({ ...s, name: 'other' }, 1, 'ignored');
  r.stepEnd!(s, ladder.steps[1]!);
  r.scenarioEnd!(s, ladder);
  await r.runEnd!(summary);
  t.match(liveText, /^\r\u001b\[K▸ speed-60 2\/9 measure 1x …\r\u001b\[K▸ speed-60 2\/9 measure 1x … 0\.0 s, 25 samples\r\u001b\[K$/);
  t.equal(written.length, 2);
  t.equal(written[0], scenarioReport(ladder));
  t.equal(written[1], summaryLine(summary));
});

t.test('without a terminal nothing live is written, and one scenario gets no summary line', async (t) => {
  const written: string[] = [];
  const r = humanReporter({ write: (s) => written.push(s) });
  const s = builtinScenario({ p: 2, q: 1 });
  r.stepStart!(s, 1, 'x');
  r.stepProgress!(s, 1, 'y');
  r.stepEnd!(s, ok.steps[0]!);
  await r.runEnd!({ ...summary, scenarios: [ok] });
  t.same(written, []);
});
