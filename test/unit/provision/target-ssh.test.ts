import t from 'tap';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshTarget } from '../../../src/provision/target-ssh.js';
import { snapshotTree } from '../../../src/provision/snapshot.js';
import { startLocalSshd, type LocalSshd } from './local-sshd.js';

let sshd: LocalSshd;
let target: SshTarget;
t.before(async () => {
  sshd = await startLocalSshd();
  target = await SshTarget.open(sshd.spec, { user: 'root', host: '127.0.0.1', port: Number(sshd.spec.split(':').at(-1)), ...sshd.ssh });
});
t.teardown(async () => {
  await target.close();
  await sshd.stop();
});

t.test('file operations over ssh: state, readFile, setState, list, trees', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'provision-ssh-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub/f'), "odd 'name' content\n\u0000binary", { mode: 0o640 });
  await symlink('/dev/null', join(dir, 'masked'));

  t.match(await target.state(join(dir, 'sub/f')), { type: 'file', mode: 0o640, uid: 0, content: await readFile(join(dir, 'sub/f')) });
  t.same(await target.state(join(dir, 'masked')), { type: 'link', target: '/dev/null', uid: 0, gid: 0 });
  t.match(await target.state(join(dir, 'sub')), { type: 'dir', mode: 0o755 });
  t.same(await target.state(join(dir, 'none')), { type: 'absent' });
  await t.rejects(target.state('/dev/null'), { code: 'UNSUPPORTED_FILE' });
  t.same(await target.readFile(join(dir, 'sub/f')), await readFile(join(dir, 'sub/f')));
  t.equal(await target.readFile(join(dir, 'sub')), null);
  t.same(await target.list(dir), [join(dir, 'masked'), join(dir, 'sub'), join(dir, 'sub/f')]);
  t.same(await target.list(join(dir, 'none')), []);

  const tree = await snapshotTree(target, dir);
  t.same([...tree.keys()], [dir, join(dir, 'masked'), join(dir, 'sub'), join(dir, 'sub/f')]);
  t.same(tree.get(join(dir, 'sub/f')), await target.state(join(dir, 'sub/f')), 'one-round-trip tree agrees with state()');
  t.same(await target.trees([join(dir, 'none')]), new Map([[join(dir, 'none'), { type: 'absent' }]]));

  const p = join(dir, "new file's");
  await target.setState(p, { type: 'file', mode: 0o600, uid: 0, gid: 0, content: Buffer.from('x\n') });
  t.equal(await readFile(p, 'utf8'), 'x\n');
  t.equal((await lstat(p)).mode & 0o777, 0o600);
  await target.setState(p, { type: 'link', target: '../x', uid: 0, gid: 0 });
  t.equal(await readlink(p), '../x');
  await target.setState(p, { type: 'dir', mode: 0o700, uid: 0, gid: 0 });
  t.ok((await lstat(p)).isDirectory());
  await target.setState(p, { type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('y') });
  t.equal(await readFile(p, 'utf8'), 'y', 'an empty directory is replaced by a file');
  await target.setState(p, { type: 'absent' });
  t.same(await target.state(p), { type: 'absent' });
  await target.setState(join(dir, 'sub/f'), { type: 'absent' });
  await target.setState(join(dir, 'sub'), { type: 'absent' });
  t.same(await target.state(join(dir, 'sub')), { type: 'absent' });
});

t.test('commands and systemctl over ssh', async (t) => {
  t.equal((await target.exec(['printf', '%s', "a b 'c'"])).stdout, "a b 'c'", 'arguments survive the remote shell');
  t.equal((await target.exec(['false'], { allowFailure: true })).exitCode, 1);
  t.equal(target.describeCommand(['mask', 'x.service'], true), `${sshd.spec}: systemctl mask x.service`);
  t.equal(target.describeCommand(['update-grub'], false), `${sshd.spec}: update-grub`);
  t.equal(target.live, true);
  const r = await target.systemctl(['is-enabled', 'tsx-hv-no-such.service'], { allowFailure: true });
  t.not(r.exitCode, 0);
  await t.rejects(target.systemctl(['is-enabled', 'tsx-hv-no-such.service']), { code: 'TOOL_FAILED' });
});

t.test('a host that refuses the key is a clear error', async (t) => {
  const port = Number(sshd.spec.split(':').at(-1));
  await t.rejects(SshTarget.open(`ssh://nobody@127.0.0.1:${port}`, { user: 'nobody', host: '127.0.0.1', port, ...sshd.ssh }), { code: 'SSH_FAILED', message: /cannot run commands on ssh:\/\/nobody@127\.0\.0\.1/ });
});
