import t from 'tap';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataTool, ProgramTool } from '../../../src/doctor/catalog.js';
import { findFirstProgram, findTool, locateData, locateTool } from '../../../src/doctor/locate.js';
import { MissingToolError } from '../../../src/errors.js';

t.test('locateTool returns the path of a catalog program', async (t) => {
  t.match(await locateTool('xorriso'), /\/xorriso$/);
  t.match(await locateTool('grub-mkrescue'), /\/grub2?-mkrescue$/);
});

t.test('a program is found under any of its catalog names (grub2-mkrescue on Fedora)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'locate-'));
  await symlink((await locateTool('grub-mkrescue'))!, join(dir, 'grub2-mkrescue'));
  // Only the alternative name exists in this PATH (the sbin directories have no grub-mkrescue).
  t.equal(await findTool('grub-mkrescue', { searchPath: dir }), join(dir, 'grub2-mkrescue'));
});

t.test('sbin directories are searched even when PATH leaves them out', async (t) => {
  t.match(await findTool('losetup', { searchPath: '/nonexistent' }), /^\/(usr\/)?sbin\/losetup$/);
});

t.test('findTool says null for a program that is not installed', async (t) => {
  t.equal(await findTool('cpio', { searchPath: '/nonexistent' }), null);
  t.equal(await findFirstProgram(['tsx-hv-no-such-program']), null);
});

t.test('locateTool throws MissingToolError naming the package when the program is absent', async (t) => {
  const err = await locateTool('cpio', { searchPath: '/nonexistent', family: 'fedora' }).catch((e) => e);
  t.type(err, MissingToolError);
  t.equal(err.exitCode, 77);
  t.match(err.hint, /install the package cpio/);
  const unpackaged = await locateTool('bochs', { searchPath: '/nonexistent', family: 'arch' }).catch((e) => e);
  t.match(unpackaged.hint, /^install bochs /);
  const hinted = await locateTool('cpio', { searchPath: '/nonexistent', hint: 'custom' }).catch((e) => e);
  t.equal(hinted.hint, 'custom');
});

t.test('names that are not catalog programs are a programming error, not a missing tool', async (t) => {
  await t.rejects(locateTool('grub-pc-bin' as ProgramTool), TypeError);
  await t.rejects(findTool('no-such-tool' as ProgramTool), { name: 'TypeError', message: /"no-such-tool" is not a program in the doctor catalog/ });
});

t.test('locateData returns the first existing file of a catalog data package', async (t) => {
  t.equal(await locateData('bochsbios'), '/usr/share/bochs/BIOS-bochs-latest');
  t.match(await locateData('vgabios'), /VGABIOS-lgpl-latest$|vgabios\.bin$/);
  await t.rejects(locateData('cpio' as DataTool), /"cpio" is not a data package in the doctor catalog/);
});
