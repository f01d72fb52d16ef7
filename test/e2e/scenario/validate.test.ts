// The shipped scenarios are valid as shipped, and a malformed scenario is refused with exit 2
// and a message pointing at its line, through the real CLI process (no machine boots).
import t from 'tap';
import { join } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { packageRoot } from '../../../src/builder/layout.js';

const cli = (...args: string[]) => run(process.execPath, [join(packageRoot(), 'bin', 'tsx-hv.js'), ...args], { allowFailure: true });

t.test('every shipped scenario validates', async (t) => {
  const r = await cli('test', '--validate');
  t.equal(r.exitCode, 0, r.stderr);
  for (const name of ['speed-ladder', 'toggle-stress', 'slow-down', 'sleep-check']) t.match(r.stdout, new RegExp(`valid +\\S+/scenarios/${name}\\.yaml`));
});

t.test('a malformed scenario exits 2 naming file, line, column and field', async (t) => {
  const dir = t.testdir({ 'broken.yaml': 'name: broken\nsteps:\n  - speed: 60\n  - measure: five\n' });
  const r = await cli('test', '--scenario', join(dir, 'broken.yaml'));
  t.equal(r.exitCode, 2);
  t.equal(r.stderr.split('\n')[0], `error: ${join(dir, 'broken.yaml')}:4:14: steps[1].measure: must be number`);
});
