import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputHash, listFiles } from '../../../src/builder/hash.js';

t.test('a tree hash changes with content and names, not with excluded entries', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hash-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'sub'));
  await mkdir(join(dir, 'skip'));
  await writeFile(join(dir, 'b'), 'B');
  await writeFile(join(dir, 'sub', 'a'), 'A');
  t.same((await listFiles(dir)).map((p) => p.slice(dir.length + 1)), ['b', 'sub/a']);
  const h = async () => (await new InputHash().tree('t', dir, ['skip'])).digest();
  const first = await h();
  await writeFile(join(dir, 'skip', 'noise'), 'x');
  t.equal(await h(), first, 'excluded directory ignored');
  await writeFile(join(dir, 'sub', 'a'), 'A2');
  t.not(await h(), first, 'content change');
  t.not(new InputHash().text('a', 'bc').digest(), new InputHash().text('ab', 'c').digest(), 'labels are delimited');
});
