import t from 'tap';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from '../../../src/builder/build.js';
import { UsageError } from '../../../src/errors.js';

// A real build into a scratch directory: hv-core (cmake), the addon (cmake-js), the agent, the
// initramfs and the ISO. The kernel is a stand-in file: booting is the e2e tests' job.
t.test('builds everything, then a second build does nothing, then only what changed', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'build-test-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const kernel = join(out, 'bzImage');
  await writeFile(kernel, 'not really a kernel');
  const lines: string[] = [];
  const first = await build({ out, kernel, append: 'quiet', hvArgs: 'grace=5', log: (l) => lines.push(l) });
  t.same(first.steps.map((s) => s.step), ['agent', 'kernel', 'initrd', 'hv-core', 'addon', 'media']);
  for (const s of first.steps.filter((s) => s.step !== 'addon')) t.equal(s.status, 'built', s.step);
  t.equal(first.guestCmdline, 'console=ttyS0,115200 tsc=reliable loglevel=4 quiet');
  t.equal(first.hvArgs, 'serial=0x2f8 grace=5');
  t.equal(first.outputs.iso, join(out, 'media', 'tsx-hv.iso'));
  t.ok(lines.some((l) => l.includes('media')));

  const second = await build({ out, kernel, append: 'quiet', hvArgs: 'grace=5' });
  t.same(second.steps.map((s) => s.status), ['up-to-date', 'up-to-date', 'up-to-date', 'up-to-date', 'up-to-date', 'up-to-date']);

  const third = await build({ out, kernel, append: 'quiet loglevel=7', hvArgs: 'grace=5' });
  t.same(
    third.steps.map((s) => [s.step, s.status]),
    [['agent', 'up-to-date'], ['kernel', 'up-to-date'], ['initrd', 'up-to-date'], ['hv-core', 'up-to-date'], ['addon', 'up-to-date'], ['media', 'built']],
    'a new command line only remakes the media',
  );

  await writeFile(kernel, 'another kernel');
  await utimes(kernel, new Date(0), new Date(0));
  const fourth = await build({ out, kernel, append: 'quiet loglevel=7', hvArgs: 'grace=5' });
  t.same(fourth.steps.filter((s) => s.status === 'built').map((s) => s.step), ['kernel', 'media'], 'content, not mtime, decides');
});

t.test('--initrd replaces the built initramfs', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'build-test-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const kernel = join(out, 'k');
  const initrd = join(out, 'i');
  await writeFile(kernel, 'k');
  await writeFile(initrd, 'i');
  const r = await build({ out, kernel, initrd });
  t.equal(r.steps.find((s) => s.step === 'initrd')?.detail, initrd);
});

t.test('bad input is a usage error before anything is built', async (t) => {
  await t.rejects(build({ kernel: '/nonexistent/bzImage' }), UsageError);
  await t.rejects(build({ initrd: '/nonexistent/initrd' }), /--initrd \/nonexistent\/initrd: no such file/);
  await t.rejects(build({ append: 'a"b' }), UsageError);
  await t.rejects(build({ hvArgs: 'x;y' }), UsageError);
});

t.test('an abort stops the build at the running step, keeps finished steps and releases the lock', async (t) => {
  const { InterruptedError } = await import('../../../src/errors.js');
  const { existsSync } = await import('node:fs');
  const out = t.testdir({ bzImage: 'not really a kernel', 'initrd.img': 'not really an initramfs' });
  const opts = { out, kernel: join(out, 'bzImage'), initrd: join(out, 'initrd.img') };
  /** A build that is interrupted as soon as step `at` starts; resolves with its error and log. */
  const interruptedAt = async (at: string): Promise<{ err: InstanceType<typeof InterruptedError>; lines: string[] }> => {
    const controller = new AbortController();
    const lines: string[] = [];
    const log = (line: string): void => {
      lines.push(line);
      if (line === `building ${at} ...`) controller.abort(new InterruptedError('interrupted by SIGINT'));
    };
    return { err: await build({ ...opts, signal: controller.signal, log }).catch((e) => e), lines };
  };
  const first = await interruptedAt('kernel');
  t.type(first.err, InterruptedError);
  t.equal(first.err.exitCode, 130);
  t.equal(first.err.message, 'interrupted by SIGINT; the build stopped at step kernel (finished: agent) and released its lock');
  t.notOk(existsSync(join(out, '.build.lock')), 'the lock is released');
  t.ok(existsSync(join(out, 'guest', 'tsx-hv-agent')), 'the finished step\'s output is there');
  t.notOk(existsSync(join(out, 'guest', 'vmlinuz')), 'the interrupted step made nothing');
  const second = await interruptedAt('initrd');
  t.equal(second.err.message, 'interrupted by SIGINT; the build stopped at step initrd (finished: agent, kernel) and released its lock');
  t.same(second.lines, ['building kernel ...', 'building initrd ...'], 'the finished agent is not built again; the interrupted kernel is');
});
