// README, .ci/run and scripts/setup agree: CI runs exactly the README's test command.
import t from 'tap';
import { readFileSync, statSync } from 'node:fs';

const readme = readFileSync('README.md', 'utf8');
const blocks = [...readme.matchAll(/```\w*\n([^]*?)```/g)].map((m) => m[1]!.trim());

t.test('the README gives exactly two commands: the main job, then the tests', async (t) => {
  t.equal(blocks.length, 2);
  t.equal(blocks[0], 'scripts/setup && npx tsx-hv test --speed 60');
  t.equal(blocks[1], 'scripts/setup && npm test');
});

t.test('.ci/run runs the README test command literally, under set -euo pipefail', async (t) => {
  const ci = readFileSync('.ci/run', 'utf8');
  t.match(ci, /^#!\/usr\/bin\/env bash\n/);
  t.match(ci, /\nset -euo pipefail\n/);
  t.ok(ci.split('\n').includes(blocks[1]!), 'a line of .ci/run is the README command');
});

t.test('the scripts are executable', async (t) => {
  for (const file of ['.ci/run', 'scripts/setup', 'bin/tsx-hv.js']) t.ok(statSync(file).mode & 0o100, file);
});

t.test('setup installs .ci/apt-packages.txt non-interactively, then runs npm ci', async (t) => {
  const setup = readFileSync('scripts/setup', 'utf8');
  t.match(setup, /apt-get -o DPkg::Lock::Timeout=300 update/);
  t.match(setup, /DEBIAN_FRONTEND=noninteractive apt-get .* install -y --no-install-recommends/);
  t.match(setup, /\.ci\/apt-packages\.txt/);
  t.match(setup, /\nnpm ci\n$/);
});

t.test('every docs link in the README points at a file', async (t) => {
  for (const [, target] of readme.matchAll(/\]\(([^)#]+)\)/g)) t.ok(statSync(target!).isFile(), target);
});
