import t from 'tap';
import { mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNewc } from '../../../src/builder/cpio.js';
import { runProgram as run } from '../../../src/util/run.js';

t.test('GNU cpio reads the archive back: files, modes, directories, symlinks, device nodes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cpio-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const archive = writeNewc([
    { kind: 'dir', path: 'bin' },
    { kind: 'file', path: '/bin/hello', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { kind: 'file', path: 'odd', data: Buffer.from('abcde') },
    { kind: 'symlink', path: 'bin/sh', target: 'hello' },
    { kind: 'chardev', path: 'console', major: 5, minor: 1 },
  ]);
  t.equal(archive.length % 4, 0, 'padded to 4 bytes');
  await writeFile(join(dir, 'a.cpio'), archive);
  const list = await run('cpio', ['-t', '-v', '-F', join(dir, 'a.cpio')]);
  t.match(list.stdout, /drwxr-xr-x .* bin\n/);
  t.match(list.stdout, /-rwxr-xr-x .* bin\/hello\n/);
  t.match(list.stdout, /lrwxrwxrwx .* bin\/sh -> hello\n/);
  t.match(list.stdout, /crw------- .* 5,\s+1 .* console/);
  const out = join(dir, 'x');
  await run('cpio', ['-i', '-d', '--no-absolute-filenames', '-F', join(dir, 'a.cpio'), '--', 'bin/*', 'odd'], { cwd: await mkdtempIn(out) });
  t.equal(await readFile(join(out, 'bin', 'hello'), 'utf8'), '#!/bin/sh\necho hi\n');
  t.equal(await readFile(join(out, 'odd'), 'utf8'), 'abcde');
  t.equal(await readlink(join(out, 'bin', 'sh')), 'hello');
  t.equal((await stat(join(out, 'bin', 'hello'))).mode & 0o777, 0o755);
});

async function mkdtempIn(path: string): Promise<string> {
  await import('node:fs/promises').then((fs) => fs.mkdir(path, { recursive: true }));
  return path;
}

t.test('the same entries give the same bytes (reproducible: no mtimes, no owners)', async (t) => {
  const e = [{ kind: 'file' as const, path: 'a', data: Buffer.from('x') }];
  t.same(writeNewc(e), writeNewc(e));
  t.match(writeNewc(e).toString('latin1'), /TRAILER!!!/);
});

t.test('refuses paths that escape or are empty', async (t) => {
  for (const path of ['', '/', '../etc/passwd', 'a/../b', 'a//b', './a']) {
    t.throws(() => writeNewc([{ kind: 'dir', path }]), RangeError, JSON.stringify(path));
  }
});

t.test('refuses a field that does not fit in 32 bits', async (t) => {
  t.throws(() => writeNewc([{ kind: 'chardev', path: 'c', major: 2 ** 32, minor: 0 }]), RangeError);
});
