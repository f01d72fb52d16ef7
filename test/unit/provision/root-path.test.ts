import t from 'tap';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInRoot } from '../../../src/provision/root-path.js';

t.test('follows links in parent components inside the root, never out of it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'provision-rootpath-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await mkdir(join(root, 'run'), { recursive: true });
  await mkdir(join(root, 'var'), { recursive: true });
  await mkdir(join(root, 'etc'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  await symlink('/run', join(root, 'var/run'));
  await symlink('../usr/lib/os-release', join(root, 'etc/os-release'));
  await symlink('../../../../../../etc', join(root, 'usr/escape'));
  await symlink('loop', join(root, 'loop'));

  t.equal(await resolveInRoot(root, '/lib/systemd/system/x.service'), join(root, 'usr/lib/systemd/system/x.service'));
  t.equal(await resolveInRoot(root, '/var/run/sshd.pid'), join(root, 'run/sshd.pid'), 'absolute link stays in the root');
  t.equal(await resolveInRoot(root, '/etc/os-release'), join(root, 'etc/os-release'), 'last component not followed by default');
  t.equal(await resolveInRoot(root, '/etc/os-release', true), join(root, 'usr/lib/os-release'));
  t.equal(await resolveInRoot(root, '/usr/escape/passwd'), join(root, 'etc/passwd'), '.. cannot climb above the root');
  t.equal(await resolveInRoot(root, '/./etc/../etc/hosts'), join(root, 'etc/hosts'));
  await t.rejects(resolveInRoot(root, '/loop/x'), { message: /too many levels of symbolic links/ });
  await t.rejects(resolveInRoot(root, 'relative'), { name: 'UsageError' });
});
