import t from 'tap';
import { mkdir, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { withBuildLock } from '../../../src/builder/lock.js';

t.test('two builds on one output directory never overlap', async (t) => {
  const out = t.testdir();
  const events: string[] = [];
  const job = (name: string) =>
    withBuildLock(out, async () => {
      events.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, 50));
      events.push(`${name}:end`);
    }, 5);
  await Promise.all([job('a'), job('b')]);
  t.same(events.length, 4);
  t.equal(events[0]!.split(':')[0], events[1]!.split(':')[0], 'the first holder finishes before the second starts');
  await t.rejects(stat(join(out, '.build.lock')), 'the lock is released');
});

t.test('a failing build releases the lock and keeps its error', async (t) => {
  const out = t.testdir();
  await t.rejects(withBuildLock(out, async () => { throw new Error('cmake failed'); }), /cmake failed/);
  t.equal(await withBuildLock(out, async () => 'next build runs'), 'next build runs');
});

t.test('a lock left by a dead process is taken over', async (t) => {
  const out = t.testdir();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  await mkdir(join(out, '.build.lock'));
  await writeFile(join(out, '.build.lock', 'pid'), dead);
  t.equal(await withBuildLock(out, async () => 'ran', 5), 'ran');
});

t.test('a lock with a garbage owner is stale', async (t) => {
  const out = t.testdir();
  await mkdir(join(out, '.build.lock'));
  await writeFile(join(out, '.build.lock', 'pid'), 'not-a-pid');
  t.equal(await withBuildLock(out, async () => 'ran', 5), 'ran');
});

t.test('a lock held by a live process waits for it', async (t) => {
  const out = t.testdir();
  await mkdir(join(out, '.build.lock'));
  await writeFile(join(out, '.build.lock', 'pid'), String(process.pid));
  let ran = false;
  const waiting = withBuildLock(out, async () => { ran = true; }, 5);
  await new Promise((r) => setTimeout(r, 60));
  t.equal(ran, false, 'still waiting while the owner lives');
  const { rm } = await import('node:fs/promises');
  await rm(join(out, '.build.lock'), { recursive: true });
  await waiting;
  t.equal(ran, true);
});

t.test('a lock directory whose owner has not written its pid yet is not stolen', async (t) => {
  const out = t.testdir();
  await mkdir(join(out, '.build.lock'));
  let ran = false;
  const waiting = withBuildLock(out, async () => { ran = true; }, 5);
  await new Promise((r) => setTimeout(r, 40));
  t.equal(ran, false);
  await writeFile(join(out, '.build.lock', 'pid'), '999999999');
  await waiting;
  t.equal(ran, true, 'taken over once the recorded owner is known to be gone');
});

t.test('an abort while waiting for the lock stops the wait without taking the lock', async (t) => {
  const out = t.testdir();
  const { InterruptedError } = await import('../../../src/errors.js');
  let release!: () => void;
  const holder = withBuildLock(out, () => new Promise<void>((r) => (release = r)), 5);
  await new Promise((r) => setTimeout(r, 50));
  const controller = new AbortController();
  const waiting = withBuildLock(out, async () => 'ran', 5, controller.signal).catch((e) => e);
  await new Promise((r) => setTimeout(r, 50));
  controller.abort(new InterruptedError('interrupted by SIGINT'));
  const err = await waiting;
  t.type(err, InterruptedError);
  release();
  await holder;
  await t.rejects(stat(join(out, '.build.lock')), 'the holder released the lock; the aborted waiter never took it');
});
