import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASELINE_SKU, CHAIN_SKU, renderGrubConfig } from '../../../src/builder/grub.js';
import { packageRoot } from '../../../src/builder/layout.js';
import { UsageError } from '../../../src/errors.js';
import { runProgram as run } from '../../../src/util/run.js';

const values = { hvArgs: 'serial=0x2f8 grace=5', guestCmdline: 'console=ttyS0,115200 tsc=reliable', timeout: 1 };

t.test('the shipped template renders the contract layout and passes grub-script-check', async (t) => {
  const template = await readFile(join(packageRoot(), 'images', 'media', 'grub.cfg.in'), 'utf8');
  const cfg = renderGrubConfig(template, values);
  t.notMatch(cfg, /@[A-Z_]+@/, 'no placeholder left');
  t.match(cfg, /multiboot2 \/boot\/tsx-hv\.elf serial=0x2f8 grace=5\n/);
  t.match(cfg, /module2 \/boot\/vmlinuz console=ttyS0,115200 tsc=reliable\n/);
  t.match(cfg, /module2 \/boot\/initrd\.img initrd\n/);
  t.match(cfg, /linux \/boot\/vmlinuz console=ttyS0,115200 tsc=reliable\n\s*initrd \/boot\/initrd\.img/);
  t.match(cfg, /set default=tsx-hv\n/);
  t.match(cfg, /set timeout=1\n/);
  t.match(cfg, /serial --unit=0 --speed=115200/);
  t.ok(cfg.includes(`"${BASELINE_SKU}"`), 'baseline selected by the SMBIOS system SKU');
  t.ok(cfg.indexOf('--id tsx-hv') < cfg.indexOf('--id baseline'), 'hypervisor entry first');
  t.ok(cfg.includes(`"${CHAIN_SKU}"`), 'chain entry selected by the SMBIOS system SKU');
  t.match(cfg, /if \[ "\$grub_platform" = "pc" \]; then\n\tmenuentry "[^"]+" --id chain \{/, 'the chain entry exists only for BIOS GRUB');
  t.match(cfg, /multiboot2 \/boot\/tsx-hv\.elf serial=0x2f8 grace=5 boot=chain chain-drive=0x8\$\{tsxhv_disk\}\n\s*module2 \(hd\$\{tsxhv_disk\}\)\+1 tsx-hv-mbr\n/, 'the chain entry loads the next disk\'s first sector');
  t.ok(cfg.indexOf('--id baseline') < cfg.indexOf('--id chain'), 'baseline stays the second entry');
  // UEFI: the same id, the EFI image (boot services kept), no disk and no module: the firmware's
  // boot manager boots the next boot option once the entry returns.
  const efi = /if \[ "\$grub_platform" = "efi" \]; then\n\tmenuentry "[^"]+" --id chain \{\n([^}]*)\}\nfi/.exec(cfg);
  t.ok(efi, 'a chain entry for UEFI GRUB with the same id');
  t.equal(efi?.[1]?.trim(), 'multiboot2 /boot/tsx-hv-efi.elf serial=0x2f8 grace=5 boot=chain', 'it starts tsx-hv-efi.elf with the hypervisor arguments and boot=chain, nothing else');
  t.equal(cfg.match(/--id chain/g)?.length, 2, 'one chain entry per platform');
  const dir = await mkdtemp(join(tmpdir(), 'grub-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'grub.cfg'), cfg);
  const check = await run('grub-script-check', [join(dir, 'grub.cfg')], { allowFailure: true });
  t.equal(check.exitCode, 0, check.stderr || check.stdout);
});

t.test('unknown and unused placeholders are template errors', async (t) => {
  t.throws(() => renderGrubConfig('@HV_ARGS@ @GUEST_CMDLINE@ @TIMEOUT@ @BASELINE_SKU@ @CHAIN_SKU@ @NOPE@', values), UsageError);
  t.throws(() => renderGrubConfig('@HV_ARGS@ @TIMEOUT@ @BASELINE_SKU@ @CHAIN_SKU@', values), /does not use @GUEST_CMDLINE@/);
});

t.test('the timeout must be whole seconds in range', async (t) => {
  const tpl = '@HV_ARGS@ @GUEST_CMDLINE@ @TIMEOUT@ @BASELINE_SKU@ @CHAIN_SKU@';
  t.equal(renderGrubConfig(tpl, { ...values, timeout: 0 }), `${values.hvArgs} ${values.guestCmdline} 0 ${BASELINE_SKU} ${CHAIN_SKU}`);
  for (const timeout of [-1, 1.5, 601, Number.NaN]) t.throws(() => renderGrubConfig(tpl, { ...values, timeout }), UsageError, String(timeout));
});
