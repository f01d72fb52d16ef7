import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKUP_DIR, MANIFEST_PATH, blobPath, newManifest, parseManifest, readManifest, restoredState, sha256, toStored } from '../../../src/provision/manifest.js';
import { DirTarget } from '../../../src/provision/target-dir.js';

t.test('round-trips a manifest and stores files by hash', async (t) => {
  const m = newManifest('dir:/x', new Date('2026-01-01T00:00:00Z'));
  m.entries.push({ path: '/etc/a', before: toStored({ type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('a') }) });
  m.entries.push({ path: '/etc/b', before: toStored({ type: 'absent' }) });
  t.same(parseManifest(JSON.stringify(m), 'm'), m);
  t.same(m.entries[0]!.before, { type: 'file', mode: 0o644, uid: 0, gid: 0, sha256: sha256(Buffer.from('a')) });
  t.equal(m.created, '2026-01-01T00:00:00.000Z');
});

t.test('rejects damaged or foreign manifests', async (t) => {
  t.throws(() => parseManifest('{', 'x:/m'), { code: 'BAD_MANIFEST', message: /x:\/m is not valid JSON/ });
  t.throws(() => parseManifest('{"version":2}', 'x:/m'), { code: 'BAD_MANIFEST', message: /not a tsx-hv provision manifest/ });
  t.throws(() => parseManifest('null', 'x:/m'), { code: 'BAD_MANIFEST' });
});

t.test('reads the manifest from a target and restores file content from its blob', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'provision-manifest-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const target = await DirTarget.open(dir);
  t.equal(await readManifest(target), null);
  const content = Buffer.from('before\n');
  await mkdir(join(dir, BACKUP_DIR), { recursive: true });
  await writeFile(join(dir, blobPath(sha256(content))), content);
  const m = newManifest(target.spec);
  m.entries.push({ path: '/etc/a', before: toStored({ type: 'file', mode: 0o600, uid: 0, gid: 0, content }) });
  await writeFile(join(dir, MANIFEST_PATH), JSON.stringify(m));
  t.same(await readManifest(target), m);
  t.same(await restoredState(target, m.entries[0]!.before), { type: 'file', mode: 0o600, uid: 0, gid: 0, content });
  t.same(await restoredState(target, { type: 'absent' }), { type: 'absent' });
  await writeFile(join(dir, blobPath(sha256(content))), 'tampered');
  await t.rejects(restoredState(target, m.entries[0]!.before), { code: 'BACKUP_MISSING' });
});
