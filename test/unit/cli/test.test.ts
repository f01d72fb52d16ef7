import t from 'tap';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.js';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(['node', 'tsx-hv', ...args], { stdout: out.stream, stderr: err.stream });
  return { code, out: out.text(), err: err.text() };
}

t.test('--list names every shipped scenario with its description', async (t) => {
  const r = await cli('test', '--list');
  t.equal(r.code, 0);
  for (const name of ['speed-ladder', 'toggle-stress', 'slow-down', 'sleep-check']) t.match(r.out, new RegExp(`^${name} +\\S+scenarios/${name}\\.yaml\\n +\\S`, 'm'));
  const j = await cli('--json', 'test', '--list');
  t.same(JSON.parse(j.out).map((s: { name: string }) => s.name), ['sleep-check', 'slow-down', 'speed-ladder', 'toggle-stress']);
});

t.test('--validate checks the shipped scenarios, or the given ones', async (t) => {
  const r = await cli('test', '--validate');
  t.equal(r.code, 0);
  t.equal(r.out.split('\n').filter((l) => l.startsWith('valid')).length, 4);
  const dir = t.testdir({ 'bad.yaml': 'steps:\n  - measure: 5\n    tolerence: 2\n', 'good.yaml': 'steps:\n  - poweroff: true\n' });
  const bad = await cli('test', '--validate', '--scenario', join(dir, 'good.yaml'), join(dir, 'bad.yaml'));
  t.equal(bad.code, 2);
  t.match(bad.err, /^error: \S+bad\.yaml:3:5: steps\[0\]\.tolerence: unknown field/);
  t.match(bad.err, /hint: the scenario format is described in docs\/scenarios\.md/);
  const good = await cli('--json', 'test', '--validate', '--scenario', join(dir, 'good.yaml'));
  t.same(JSON.parse(good.out), { valid: true, scenarios: [{ name: 'good', file: join(dir, 'good.yaml'), steps: 1 }] });
  const run = await cli('test', '--scenario', join(dir, 'bad.yaml'));
  t.equal(run.code, 2, 'an invalid scenario is refused before anything boots');
});

t.test('usage errors exit 2', async (t) => {
  t.match(await cli('--json', 'test', '--tap'), { code: 2, err: /--tap and --json both want stdout/ });
  t.match(await cli('test', '-j', '0', '--media', 'x'), { code: 2, err: /-j must be a positive whole number, not "0"/ });
  t.match(await cli('test', '--speed', 'fast', '--media', 'x'), { code: 2, err: /^error: speed "fast" is not a speed: use a whole number \(60\), a fraction P\/Q \(1\/10\) or a decimal with at most 6 digits after the point \(0.5\)\nhint: e.g. 60, 1\/10 or 0.5/ });
  t.match(await cli('test', '--tolerance', '-1', '--media', 'x'), { code: 2, err: /--tolerance must be a positive number/ });
  t.match(await cli('test', '--cpus', '0', '--media', 'x'), { code: 2, err: /--cpus must be a positive whole number, not "0"/ });
  t.match(await cli('test', '--cpus', '1.5', '--media', 'x'), { code: 2, err: /--cpus must be a positive whole number, not "1.5"/ });
  t.match(await cli('test', '--cpus', '65', '--media', 'x'), { code: 2, err: /--cpus must be at most 64, not 65/ });
});

t.test('without an emulator every scenario is skipped with exit 77, in every output format', async (t) => {
  const dir = t.testdir({ 'media.iso': 'not really', 'one.yaml': 'steps:\n  - measure: 1\n' });
  const bin = join(dir, 'bin');
  await import('node:fs/promises').then((fs) => fs.mkdir(bin));
  await symlink('/usr/bin/setpriv', join(bin, 'setpriv'));
  const path = process.env.PATH;
  process.env.PATH = bin;
  t.teardown(() => void (process.env.PATH = path));
  const media = join(dir, 'media.iso');

  const human = await cli('test', '--speed', '10', '--media', media, '--scenario', join(dir, 'one.yaml'), '-j', '2');
  t.equal(human.code, 77);
  t.match(human.out, /speed-10 \(builtin:--speed 10\): SKIP/);
  t.match(human.out, /qemu-system-x86_64 is not installed/);
  t.match(human.out, /2 scenario\(s\): 0 passed, 0 failed, 2 skipped/);

  const junit = join(dir, 'r.xml');
  const samples = join(dir, 's.ndjson');
  const json = await cli('--json', 'test', '--media', media, '--junit', junit, '--samples', samples);
  t.equal(json.code, 77);
  const doc = JSON.parse(json.out);
  t.equal(doc.passed, false);
  t.equal(doc.exitCode, 77);
  t.same(doc.scenarios.map((s: { name: string }) => s.name), ['speed-60'], 'no --speed and no --scenario: the built-in at 60x');
  t.equal(doc.steps[0].status, 'skip');
  t.match(await readFile(junit, 'utf8'), /<skipped message="qemu-system-x86_64 is not installed/);
  t.match((await readFile(samples, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l).event), ['run-start', 'step', 'step', 'step', 'step', 'step', 'step', 'step', 'step', 'step', 'step', 'scenario-end', 'run-end']);

  const tap = await cli('test', '--media', media, '--tap', '--speed', '1/2');
  t.equal(tap.code, 77);
  t.match(tap.out, /^TAP version 13\nok 1 - speed-1-2: boot \(qemu, 512M\) # SKIP qemu-system-x86_64 is not installed/);

  const smp = await cli('test', '--media', media, '--tap', '--speed', '60', '--cpus', '4');
  t.equal(smp.code, 77);
  t.match(smp.out, /^TAP version 13\nok 1 - speed-60: boot \(qemu, 512M, 4 CPUs\) # SKIP/, '--cpus sets the built-in scenario\'s machine');
});
