import t from 'tap';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, SBIN_DIRS } from '../../../src/util/which.js';

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'found-which-'));
}

t.test('finds a program in PATH', async (t) => {
  t.match(await findExecutable('sh'), /\/sh$/);
});

t.test('returns null for a program that is nowhere', async (t) => {
  t.equal(await findExecutable('tsx-hv-no-such-program'), null);
});

t.test('searches the given PATH in order, then the sbin directories', async (t) => {
  const a = await scratch();
  const b = await scratch();
  for (const dir of [a, b]) {
    await writeFile(join(dir, 'tool'), '#!/bin/sh\n');
    await chmod(join(dir, 'tool'), 0o755);
  }
  t.equal(await findExecutable('tool', { searchPath: `${a}:${b}` }), join(a, 'tool'));
  t.equal(await findExecutable('tool', { searchPath: `${b}:${a}` }), join(b, 'tool'));
  t.equal(await findExecutable('tool', { searchPath: '/nonexistent', extraDirs: [b] }), join(b, 'tool'));
  t.ok(SBIN_DIRS.includes('/usr/sbin'));
});

t.test('skips files without execute permission and directories', async (t) => {
  const dir = await scratch();
  await writeFile(join(dir, 'plain'), 'data');
  await chmod(join(dir, 'plain'), 0o644);
  await mkdir(join(dir, 'adir'));
  t.equal(await findExecutable('plain', { searchPath: dir, extraDirs: [] }), null);
  t.equal(await findExecutable('adir', { searchPath: dir, extraDirs: [] }), null);
});

t.test('a name with a slash is checked as a path', async (t) => {
  t.equal(await findExecutable('/bin/sh'), '/bin/sh');
  t.equal(await findExecutable('/nonexistent/sh'), null);
});

t.test('an empty PATH finds nothing outside the extra directories', async (t) => {
  const saved = process.env.PATH;
  delete process.env.PATH;
  t.teardown(() => {
    process.env.PATH = saved;
  });
  t.equal(await findExecutable('sh', { extraDirs: [] }), null);
});
