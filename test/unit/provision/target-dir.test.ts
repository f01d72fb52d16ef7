import t from 'tap';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirTarget } from '../../../src/provision/target-dir.js';

async function fixture(t: Tap.Test): Promise<{ root: string; target: DirTarget }> {
  const root = await mkdtemp(join(tmpdir(), 'provision-dir-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'etc/sub'), { recursive: true });
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await writeFile(join(root, 'usr/lib/os-release'), 'ID=debian\n');
  await symlink('../usr/lib/os-release', join(root, 'etc/os-release'));
  return { root, target: await DirTarget.open(root) };
}

t.test('refuses a path that is not a directory', async (t) => {
  await t.rejects(DirTarget.open('/nonexistent/provision-x'), { code: 'TARGET_NOT_FOUND' });
});

t.test('state and readFile with lstat and follow semantics', async (t) => {
  const { target } = await fixture(t);
  t.same(await target.state('/etc/os-release'), { type: 'link', target: '../usr/lib/os-release', uid: 0, gid: 0 });
  t.equal((await target.readFile('/etc/os-release'))?.toString(), 'ID=debian\n');
  t.equal(await target.readFile('/etc'), null, 'a directory is not a file');
  t.equal(await target.readFile('/missing'), null);
  t.same(await target.state('/missing'), { type: 'absent' });
  t.match(await target.state('/etc'), { type: 'dir', mode: 0o755 });
  t.match(await target.state('/usr/lib/os-release'), { type: 'file', content: Buffer.from('ID=debian\n') });
  t.same(await target.list('/etc'), ['/etc/os-release', '/etc/sub']);
  t.same(await target.list('/nope'), []);
  t.equal(target.spec, `dir:${target.root}`);
  t.equal(target.live, false);
});

t.test('setState reaches every kind of state from every other', async (t) => {
  const { root, target } = await fixture(t);
  await target.setState('/etc/a', { type: 'file', mode: 0o640, uid: 0, gid: 0, content: Buffer.from('x') });
  t.equal((await lstat(join(root, 'etc/a'))).mode & 0o7777, 0o640);
  await target.setState('/etc/a', { type: 'link', target: '/dev/null', uid: 0, gid: 0 });
  t.equal(await readlink(join(root, 'etc/a')), '/dev/null');
  await target.setState('/etc/a', { type: 'dir', mode: 0o700, uid: 0, gid: 0 });
  t.ok((await lstat(join(root, 'etc/a'))).isDirectory());
  await target.setState('/etc/a', { type: 'dir', mode: 0o755, uid: 0, gid: 0 });
  t.equal((await lstat(join(root, 'etc/a'))).mode & 0o7777, 0o755, 'existing dir: mode updated');
  await target.setState('/etc/a', { type: 'link', target: 'x', uid: 0, gid: 0 });
  t.equal(await readlink(join(root, 'etc/a')), 'x', 'empty dir replaced by a link');
  await target.setState('/etc/a', { type: 'dir', mode: 0o755, uid: 0, gid: 0 });
  await target.setState('/etc/a', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('y') });
  t.equal(await readFile(join(root, 'etc/a'), 'utf8'), 'y', 'empty dir replaced by a file');
  await target.setState('/etc/a', { type: 'absent' });
  t.same(await target.state('/etc/a'), { type: 'absent' });
  await target.setState('/etc/sub', { type: 'absent' });
  t.same(await target.state('/etc/sub'), { type: 'absent' }, 'empty directory removed');
  await target.setState('/etc/never', { type: 'absent' });
});

t.test('runs programs in a chroot and systemctl with --root', async (t) => {
  const { target } = await fixture(t);
  t.equal(target.describeCommand(['update-grub'], false), `chroot ${target.root} update-grub`);
  t.equal(target.describeCommand(['mask', 'x.service'], true), `systemctl --root=${target.root} mask x.service`);
  const r = await target.exec(['/bin/true'], { allowFailure: true });
  t.not(r.exitCode, 0, 'the fixture root has no /bin/true to run');
  const s = await target.systemctl(['is-enabled', 'nothing.service'], { allowFailure: true });
  t.not(s.exitCode, 0);
  await target.close();
});
