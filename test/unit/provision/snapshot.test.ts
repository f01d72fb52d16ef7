import t from 'tap';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sameState, snapshotTree } from '../../../src/provision/snapshot.js';
import { DirTarget } from '../../../src/provision/target-dir.js';
import type { FileState } from '../../../src/provision/types.js';

t.test('sameState compares type, owner, mode, link target and bytes', async (t) => {
  const file = (content: string, mode = 0o644, uid = 0): FileState => ({ type: 'file', mode, uid, gid: 0, content: Buffer.from(content) });
  t.ok(sameState({ type: 'absent' }, { type: 'absent' }));
  t.ok(sameState(file('a'), file('a')));
  t.notOk(sameState(file('a'), file('b')));
  t.notOk(sameState(file('a'), file('a', 0o600)));
  t.notOk(sameState(file('a'), file('a', 0o644, 1000)));
  t.notOk(sameState(file('a'), { type: 'absent' }));
  t.ok(sameState({ type: 'link', target: '/x', uid: 0, gid: 0 }, { type: 'link', target: '/x', uid: 0, gid: 0 }));
  t.notOk(sameState({ type: 'link', target: '/x', uid: 0, gid: 0 }, { type: 'link', target: '/y', uid: 0, gid: 0 }));
  t.ok(sameState({ type: 'dir', mode: 0o755, uid: 0, gid: 0 }, { type: 'dir', mode: 0o755, uid: 0, gid: 0 }));
  t.notOk(sameState({ type: 'dir', mode: 0o755, uid: 0, gid: 0 }, { type: 'dir', mode: 0o700, uid: 0, gid: 0 }));
});

t.test('snapshotTree records a directory and everything below it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'provision-snap-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'etc/systemd/system/x.wants'), { recursive: true });
  await symlink('/dev/null', join(root, 'etc/systemd/system/a.service'));
  await writeFile(join(root, 'etc/systemd/system/x.wants/b.conf'), 'b');
  const snap = await snapshotTree(await DirTarget.open(root), '/etc/systemd/system');
  t.same([...snap.keys()], ['/etc/systemd/system', '/etc/systemd/system/a.service', '/etc/systemd/system/x.wants', '/etc/systemd/system/x.wants/b.conf']);
  t.same(snap.get('/etc/systemd/system/a.service'), { type: 'link', target: '/dev/null', uid: 0, gid: 0 });
  const missing = await snapshotTree(await DirTarget.open(root), '/nope');
  t.same([...missing], [['/nope', { type: 'absent' }]]);
});
