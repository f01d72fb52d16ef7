import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoRunningMachineError, clearRunState, readRunState, runStatePath, writeRunState, type RunState } from '../../../src/control/run-state.js';

const state = (pid: number): RunState => ({ pid, startedAt: 'now', control: '/w/control.sock', hv: '/w/hv.sock', qmp: '/w/qmp.sock', console: '/w/c.sock', workdir: '/w', hypervisor: true, media: '/m.iso' });

t.test('the well-known path: XDG_RUNTIME_DIR, else a per-user temp directory', async (t) => {
  t.equal(runStatePath({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/run/user/1000/tsx-hv/run.json');
  t.equal(runStatePath({}, 0), join(tmpdir(), 'tsx-hv-0', 'run.json'));
});

t.test('written, read back, and cleared only by its owner', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'run-state-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'x', 'run.json');
  await writeRunState(state(process.pid), path);
  t.same(await readRunState(path), state(process.pid));
  await clearRunState(process.pid + 1, path);
  t.ok(await readFile(path, 'utf8'), 'another process does not remove it');
  await clearRunState(process.pid, path);
  await t.rejects(readRunState(path), NoRunningMachineError);
  await clearRunState(process.pid, path);
});

t.test('a stale, broken or incomplete file means no running machine', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'run-state-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'run.json');
  const child = spawn('true');
  const pid = child.pid!;
  await new Promise((r) => child.once('exit', r));
  await writeRunState(state(pid), path);
  await t.rejects(readRunState(path), /is gone/);
  await writeFile(path, '{');
  await t.rejects(readRunState(path), /not valid JSON/);
  await clearRunState(1, path);
  await t.rejects(readRunState(path), /does not exist/);
  await writeFile(path, '{"pid":"x"}');
  await t.rejects(readRunState(path), /incomplete/);
  await writeRunState(state(1), path);
  t.equal((await readRunState(path)).pid, 1, 'pid 1 exists (EPERM or alive counts as alive)');
});
