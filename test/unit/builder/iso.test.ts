import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEDIA_PATHS, makeIso } from '../../../src/builder/iso.js';
import { runProgram as run } from '../../../src/util/run.js';

t.test('grub-mkrescue makes a hybrid BIOS+UEFI ISO with the contract layout', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iso-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const f of ['elf', 'efi-elf', 'vmlinuz', 'initrd']) await writeFile(join(dir, f), `${f} bytes`);
  const iso = join(dir, 'out', 'm.iso');
  await makeIso({ hvElf: join(dir, 'elf'), hvEfiElf: join(dir, 'efi-elf'), vmlinuz: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd'), grubCfg: 'set timeout=0\n' }, iso);
  const head = await readFile(iso);
  t.equal(head.readUInt16LE(510), 0xaa55, 'MBR boot signature: can be written to a USB stick');
  const listing = (await run('xorriso', ['-indev', iso, '-find', '/', '-type', 'f'], { allowFailure: true })).stdout;
  for (const p of Object.values(MEDIA_PATHS)) t.match(listing, `/${p}`, p);
  t.match(listing, /efi\.img/, 'EFI system partition image for UEFI');
  t.match(listing, /i386-pc/, 'BIOS GRUB modules');
  const out = join(dir, 'grub.cfg');
  await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', `/${MEDIA_PATHS.grubCfg}`, out]);
  t.equal(await readFile(out, 'utf8'), 'set timeout=0\n');
});
