import t from 'tap';
import { jsonDocument } from '../../../../src/scenario/reporters/json.js';
import { summary } from '../fixtures/results.js';

t.test('the --json document: passed, scenarios and every step without raw samples', async (t) => {
  const doc = jsonDocument(summary);
  t.equal(doc.passed, false);
  t.equal(doc.exitCode, 124);
  t.same(doc.scenarios.map((s) => [s.name, s.status]), [['ladder', 'timeout'], ['ok', 'pass']]);
  t.equal(doc.steps.length, 7);
  t.same(doc.steps[1], { scenario: 'ladder', index: 1, name: 'measure 60x', kind: 'measure', line: 4, status: 'pass', durationMs: 5000, requested: 60, measured: 59.98123456, errorPct: -0.0312, r2: 0.9999871, samples: 412, backwardsNs: 0 });
  t.notOk('steps' in doc.scenarios[0]!);
  t.doesNotThrow(() => JSON.stringify(doc), 'no bigint left');
});
