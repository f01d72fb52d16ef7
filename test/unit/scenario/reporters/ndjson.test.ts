import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ndjsonFileReporter, ndjsonReporter } from '../../../../src/scenario/reporters/ndjson.js';
import { builtinScenario } from '../../../../src/scenario/builtin.js';
import { ladder, summary } from '../fixtures/results.js';

function drive(r: ReturnType<typeof ndjsonReporter>): Promise<void> | void {
  const s = builtinScenario({ p: 60, q: 1 });
  r.runStart!([s]);
  r.stepEnd!(s, ladder.steps[1]!);
  r.scenarioEnd!(s, ladder);
  return r.runEnd!(summary);
}

t.test('one event per line; raw samples keep 64-bit values as decimal strings', async (t) => {
  const lines: string[] = [];
  await drive(ndjsonReporter((l) => lines.push(l)));
  t.equal(lines.length, 4);
  for (const l of lines) t.ok(l.endsWith('\n') && !l.slice(0, -1).includes('\n'));
  const [start, step, end, run] = lines.map((l) => JSON.parse(l));
  t.match(start, { event: 'run-start', scenarios: [{ name: 'speed-60', source: 'builtin:--speed 60', steps: 9 }] });
  t.match(step, { event: 'step', scenario: 'speed-60', index: 1, measured: 59.98123456, raw: [{ hostNs: '1', rttNs: '2', monoNs: '3', realNs: '4', tsc: '18446744073709551615' }] });
  t.same(end, { event: 'scenario-end', name: 'ladder', status: 'timeout', passed: false, durationMs: 21500, message: 'step 4 (exec #1) timed out' });
  t.same(run, { event: 'run-end', passed: false, exitCode: 124, durationMs: 22500 });
});

t.test('the file reporter has the whole file written when runEnd resolves', async (t) => {
  const file = join(t.testdir({}), 's.ndjson');
  await drive(ndjsonFileReporter(file));
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  t.equal(lines.length, 4);
  t.equal(JSON.parse(lines[3]!).event, 'run-end');
});
