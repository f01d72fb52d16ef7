import t from 'tap';
import { join } from 'node:path';
import { loadScenarios, prepareScenarioMedia, shippedScenarioDir, shippedScenarioFiles } from '../../../src/scenario/suite.js';
import { ScenarioError } from '../../../src/scenario/load.js';
import { builtinScenario } from '../../../src/scenario/builtin.js';

t.test('the shipped scenarios are found and all valid', async (t) => {
  const files = await shippedScenarioFiles();
  t.same(files.map((f) => f.slice(shippedScenarioDir().length + 1)), ['sleep-check.yaml', 'slow-down.yaml', 'speed-ladder.yaml', 'toggle-stress.yaml']);
  const s = await loadScenarios(files);
  t.same(s.map((x) => x.name), ['sleep-check', 'slow-down', 'speed-ladder', 'toggle-stress']);
});

t.test('problems of several files are reported together', async (t) => {
  const dir = t.testdir({ 'a.yaml': 'steps:\n  - nope: 1\n', 'b.yaml': 'steps: 3\n', 'c.yaml': 'steps:\n  - poweroff: true\n', 'x.yml': '', 'skip.txt': '' });
  const err = await loadScenarios(['a.yaml', 'b.yaml', 'c.yaml'].map((f) => join(dir, f))).catch((e: unknown) => e);
  t.type(err, ScenarioError);
  t.equal((err as ScenarioError).problems.length, 2);
  t.match((err as ScenarioError).message, /a\.yaml:2:5: steps\[0\]: a step needs one action[^]*\n.*b\.yaml:1:8: steps: must be array/);
  t.same((await shippedScenarioFiles(dir)).map((f) => f.slice(dir.length + 1)), ['a.yaml', 'b.yaml', 'c.yaml', 'x.yml']);
  await t.rejects(loadScenarios([join(dir, 'missing.yaml')]), /cannot read scenario/);
});

t.test('scenarios that name their media need no build', async (t) => {
  const a = builtinScenario({ p: 2, q: 1 }, { machine: { media: '/given.iso' } });
  await prepareScenarioMedia([a]);
  t.equal(a.machine.media, '/given.iso');
});
