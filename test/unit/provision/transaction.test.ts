import t from 'tap';
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_PATH, readManifest } from '../../../src/provision/manifest.js';
import { DirTarget } from '../../../src/provision/target-dir.js';
import { Transaction, removeStateDir, revertManifest } from '../../../src/provision/transaction.js';
import type { Operation } from '../../../src/provision/types.js';
import { InterruptedError } from '../../../src/errors.js';

const UNIT = '[Unit]\nDescription=test\n[Service]\nExecStart=/bin/busybox true\n[Install]\nWantedBy=multi-user.target\n';

/** A tiny real root: busybox for chroot commands, a vendor unit for systemctl --root. */
async function fixture(t: Tap.Test): Promise<{ root: string; target: DirTarget }> {
  const root = await mkdtemp(join(tmpdir(), 'provision-tx-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin/busybox'));
  await mkdir(join(root, 'usr/lib/systemd/system'), { recursive: true });
  await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
  await writeFile(join(root, 'usr/lib/systemd/system/demo.service'), UNIT);
  await writeFile(join(root, 'etc/config'), 'old\n', { mode: 0o640 });
  return { root, target: await DirTarget.open(root) };
}

async function hash(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const st = await lstat(p);
      h.update(`${p}:${st.mode}:`);
      if (st.isSymbolicLink()) h.update(await readlink(p));
      else if (st.isFile()) h.update(await readFile(p));
      else if (st.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return h.digest('hex');
}

const write = (path: string, content: string, mode = 0o644): Operation => ({ op: 'write', action: 'cmdline', why: 'test', path, content: Buffer.from(content), mode });
const enable: Operation = { op: 'command', action: 'ntp', why: 'enable', systemctl: true, argv: ['enable', 'demo.service'], touchesTrees: ['/etc/systemd/system'] };
const fail = (extra: Partial<Extract<Operation, { op: 'command' }>> = {}): Operation => ({ op: 'command', action: 'cmdline', why: 'fails', argv: ['/bin/busybox', 'sh', '-c', 'echo partial > /etc/config; echo broken >&2; exit 3'], touches: ['/etc/config'], ...extra });

t.test('applies writes and commands with backups; revert is byte-identical', async (t) => {
  const { root, target } = await fixture(t);
  const pristine = await hash(root);
  const tx = await Transaction.begin(target);
  await tx.apply([write('/etc/config', 'new\n', 0o640), write('/etc/deep/new/file', 'created\n'), enable]);
  t.ok(tx.changed);
  t.same(tx.changes.map((c) => c.status), ['changed', 'changed', 'changed']);
  t.match(tx.changes[0]!.diff, /-old\n\+new/);
  t.equal(await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/demo.service')), '/usr/lib/systemd/system/demo.service');
  const manifest = (await readManifest(target))!;
  t.same(manifest.entries.map((e) => [e.path, e.before.type]), [
    ['/etc/config', 'file'],
    ['/etc/deep', 'absent'],
    ['/etc/deep/new', 'absent'],
    ['/etc/deep/new/file', 'absent'],
    ['/etc/systemd/system/multi-user.target.wants', 'absent'],
    ['/etc/systemd/system/multi-user.target.wants/demo.service', 'absent'],
  ]);
  t.same(manifest.stateDirs, ['/var', '/var/lib', '/var/lib/tsx-hv', '/var/lib/tsx-hv/provision', '/var/lib/tsx-hv/provision/backup']);

  const again = await Transaction.begin(target);
  await again.apply([write('/etc/config', 'new\n', 0o640), write('/etc/deep/new/file', 'created\n'), enable]);
  t.notOk(again.changed, 'second run changes nothing');
  t.same(again.changes.map((c) => c.status), ['unchanged', 'unchanged', 'unchanged']);

  const third = await Transaction.begin(target);
  await third.apply([write('/etc/config', 'newer\n', 0o640)]);
  t.equal((await readManifest(target))!.entries.length, 6, 'the oldest state of /etc/config is kept');

  const changes = await revertManifest(target, (await readManifest(target))!);
  t.equal(changes.filter((c) => c.status === 'changed').length, 6);
  await removeStateDir(target, (await readManifest(target))!);
  t.equal(await hash(root), pristine);
});

t.test('revert leaves alone what is already as before', async (t) => {
  const { target } = await fixture(t);
  const tx = await Transaction.begin(target);
  await tx.apply([write('/etc/config', 'new\n', 0o640)]);
  await target.setState('/etc/config', { type: 'file', mode: 0o640, uid: 0, gid: 0, content: Buffer.from('old\n') });
  const changes = await revertManifest(target, (await readManifest(target))!);
  t.same(changes.map((c) => c.status), ['unchanged']);
  const missing = (await readManifest(target))!;
  await rm(join(target.root, 'var/lib/tsx-hv/provision/backup'), { recursive: true });
  await t.rejects(revertManifest(target, missing), { code: 'BACKUP_MISSING' });
});

t.test('a failing command with a fallback: its partial changes undone, the fallback applied', async (t) => {
  const { root, target } = await fixture(t);
  const tx = await Transaction.begin(target);
  await tx.apply([fail({ fallback: { why: 'used the fallback', operations: [write('/etc/fallback', 'f\n')] } })]);
  t.equal(await readFile(join(root, 'etc/config'), 'utf8'), 'old\n', 'partial write of the failed command undone');
  t.equal(tx.changes[0]!.status, 'fallback');
  t.match(tx.changes[0]!.detail, /failed \(broken\); used the fallback/);
  t.equal(await readFile(join(root, 'etc/fallback'), 'utf8'), 'f\n');
});

t.test('a best-effort command failure is reported and its effects recorded', async (t) => {
  const { root, target } = await fixture(t);
  const pristine = await hash(root);
  const tx = await Transaction.begin(target);
  await tx.apply([fail({ bestEffort: 'it does not matter' }), { op: 'command', action: 'ntp', why: 'no-op', argv: ['/bin/busybox', 'true'] }]);
  t.same(tx.changes.map((c) => c.status), ['failed', 'unchanged']);
  t.match(tx.changes[0]!.detail, /failed \(broken\); it does not matter/);
  await revertManifest(target, (await readManifest(target))!);
  await removeStateDir(target, (await readManifest(target))!);
  t.equal(await hash(root), pristine, 'the partial change was recorded and reverted');
});

t.test('a failure rolls back this run only, keeping an earlier run and its manifest', async (t) => {
  const { root, target } = await fixture(t);
  const pristine = await hash(root);
  const tx = await Transaction.begin(target);
  await t.rejects(tx.apply([write('/etc/config', 'new\n'), enable, fail()]), { code: 'PROVISION_STEP_FAILED', message: /exit 3\): broken/ });
  await tx.rollback();
  t.equal(await hash(root), pristine, 'first run rolled back completely, state dir included');

  const first = await Transaction.begin(target);
  await first.apply([write('/etc/config', 'new\n')]);
  const afterFirst = await hash(root);
  const manifestText = await readFile(join(root, MANIFEST_PATH), 'utf8');
  const second = await Transaction.begin(target);
  await t.rejects(second.apply([write('/etc/other', 'o\n'), { op: 'command', action: 'ntp', why: 'stop', systemctl: true, argv: ['is-enabled', 'demo.service'], stopsUnit: 'demo.service' }, write('/etc/config', 'newer\n'), fail()]));
  await second.rollback();
  t.equal(await readFile(join(root, MANIFEST_PATH), 'utf8'), manifestText, 'manifest of the first run restored');
  t.equal(await hash(root), afterFirst, 'back to the state after the first run');
  t.notOk(existsSync(join(root, 'etc/other')));
});

t.test('an abort stops before the next operation: rollback restores the start of the run', async (t) => {
  const { root, target } = await fixture(t);
  const pristine = await hash(root);
  const controller = new AbortController();
  const applied: number[] = [];
  const tx = await Transaction.begin(target, {
    signal: controller.signal,
    afterOperation: async (n) => {
      applied.push(n);
      if (n === 2) controller.abort(new InterruptedError('interrupted by SIGINT'));
    },
  });
  const err = await tx.apply([write('/etc/config', 'new\n', 0o640), write('/etc/deep/new/file', 'created\n'), enable]).catch((e) => e);
  t.type(err, InterruptedError);
  t.equal(err.message, 'interrupted by SIGINT');
  t.same(applied, [1, 2], 'the third operation never started');
  t.notOk(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/demo.service')));
  await tx.rollback();
  t.equal(await hash(root), pristine);
});

t.test('a command stopped mid-run by the abort has its partial changes undone too', async (t) => {
  const { root, target } = await fixture(t);
  const pristine = await hash(root);
  const controller = new AbortController();
  const slow: Operation = { op: 'command', action: 'cmdline', why: 'slow', argv: ['/bin/busybox', 'sh', '-c', 'echo partial > /etc/config; exec /bin/busybox sleep 30'], touches: ['/etc/config'] };
  const tx = await Transaction.begin(target, { signal: controller.signal });
  const started = Date.now();
  const pending = tx.apply([write('/etc/other', 'x\n'), slow]).catch((e) => e);
  // Wait until the command has written, then interrupt it.
  while ((await readFile(join(root, 'etc/config'), 'utf8')) !== 'partial\n') await new Promise((r) => setTimeout(r, 20));
  controller.abort(new InterruptedError('interrupted by SIGTERM'));
  const err = await pending;
  t.type(err, InterruptedError);
  t.ok(Date.now() - started < 20_000, 'the command was stopped, not waited for');
  t.equal(await readFile(join(root, 'etc/config'), 'utf8'), 'old\n', 'the half-run command\'s change is undone at once');
  await tx.rollback();
  t.equal(await hash(root), pristine);
});
