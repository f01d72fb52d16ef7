import t from 'tap';
import { spawn } from 'node:child_process';
import { track, trackedCount, untrack } from '../../../src/engines/reaper.js';

t.test('tracked processes are killed when Node exits; handlers come and go with them', async (t) => {
  const before = process.listenerCount('exit');
  const beforeTerm = process.listenerCount('SIGTERM');
  const child = spawn('sleep', ['30']);
  const gone = new Promise<string | null>((r) => child.once('exit', (_c, s) => r(s)));
  track(child);
  t.equal(trackedCount(), 1);
  t.equal(process.listenerCount('exit'), before + 1);
  t.equal(process.listenerCount('SIGTERM'), beforeTerm + 1);
  // Run the handler the reaper installed (emitting 'exit' would end the test runner too).
  const onExit = process.listeners('exit').at(-1) as (code: number) => void;
  onExit(0);
  t.equal(await gone, 'SIGKILL');
  t.equal(trackedCount(), 0);
  untrack(child);
  t.equal(trackedCount(), 0);
});

t.test('untracking the last process removes the handlers', async (t) => {
  const before = process.listenerCount('exit');
  const beforeInt = process.listenerCount('SIGINT');
  const child = spawn('sleep', ['30']);
  track(child);
  untrack(child);
  t.equal(process.listenerCount('exit'), before);
  t.equal(process.listenerCount('SIGINT'), beforeInt);
  child.kill('SIGKILL');
});

t.test('a signal kills the tracked processes first, then is handled by whoever else listens', async (t) => {
  const child = spawn('sleep', ['30']);
  const gone = new Promise<string | null>((r) => child.once('exit', (_c, s) => r(s)));
  let seen = false;
  const other = () => (seen = true);
  process.on('SIGHUP', other);
  track(child);
  process.emit('SIGHUP', 'SIGHUP');
  t.equal(await gone, 'SIGKILL');
  t.ok(seen);
  process.off('SIGHUP', other);
});
