import t from 'tap';
import { spawnSync } from 'node:child_process';
import { processAlive } from '../../../src/util/process.js';

t.test('this process is alive', async (t) => {
  t.equal(processAlive(process.pid), true);
});

t.test('a process that has exited is not alive', async (t) => {
  const child = spawnSync(process.execPath, ['-e', '0']);
  t.equal(child.status, 0);
  t.equal(processAlive(child.pid!), false);
});

t.test('a process of another user is alive (EPERM is not "gone")', async (t) => {
  // pid 1 (init) exists on every Linux machine; unprivileged users get EPERM for it.
  t.equal(processAlive(1), true);
});

t.test('a corrupt pid is no process: not 0 (our group), not negative (everyone), not fractional', async (t) => {
  for (const pid of [0, -1, 1.5, Number.NaN]) t.equal(processAlive(pid), false, String(pid));
});
