import t from 'tap';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { elfLinkage } from '../../../src/util/elf.js';
import { runProgram as run } from '../../../src/util/run.js';

const hello = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n';

async function compile(flags: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'found-elf-'));
  await writeFile(join(dir, 'hello.c'), hello);
  const out = join(dir, `hello${flags.join('')}`);
  await run('gcc', [...flags, '-o', out, join(dir, 'hello.c')]);
  return out;
}

t.test('a program linked with gcc -static is static', async (t) => {
  t.equal(await elfLinkage(await compile(['-static'])), 'static');
});

t.test('a static-PIE program (no PT_INTERP) is static', async (t) => {
  t.equal(await elfLinkage(await compile(['-static-pie'])), 'static');
});

t.test('an ordinary dynamically linked program is dynamic', async (t) => {
  t.equal(await elfLinkage(await compile([])), 'dynamic');
  t.equal(await elfLinkage('/bin/sh'), 'dynamic');
});

t.test('the busybox the initramfs uses is static', async (t) => {
  t.equal(await elfLinkage('/bin/busybox'), 'static');
});

t.test('a script, a short file and a 32-bit ELF are not 64-bit ELF programs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'found-elf-'));
  await writeFile(join(dir, 'script'), '#!/bin/sh\n' + 'echo padding to more than sixty-four bytes of text\n'.repeat(3));
  await writeFile(join(dir, 'short'), Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  const elf32 = Buffer.from(await readFile('/bin/sh'));
  elf32[4] = 1; // EI_CLASS = ELFCLASS32
  await writeFile(join(dir, 'elf32'), elf32);
  t.equal(await elfLinkage(join(dir, 'script')), 'not-elf');
  t.equal(await elfLinkage(join(dir, 'short')), 'not-elf');
  t.equal(await elfLinkage(join(dir, 'elf32')), 'not-elf');
});

t.test('a file that does not exist is an error, not a verdict', async (t) => {
  await t.rejects(elfLinkage('/nonexistent/program'), { code: 'ENOENT' });
});
