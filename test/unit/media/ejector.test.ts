import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ejectDevice, unmountAll } from '../../../src/media/ejector.js';
import { loop, tmp } from './helpers.js';

t.test('unmounts every given mount point, deepest first', async (t) => {
  const dir = tmp(t);
  const a = await loop(t, dir, 8 * 1024 * 1024, 0);
  const b = await loop(t, dir, 8 * 1024 * 1024, 0);
  await execa('mkfs.ext4', ['-q', '-F', a]);
  await execa('mkfs.ext4', ['-q', '-F', b]);
  const outer = join(dir, 'outer');
  mkdirSync(outer);
  await execa('mount', [a, outer]);
  const inner = join(outer, 'inner');
  mkdirSync(inner);
  await execa('mount', [b, inner]);
  t.teardown(() => execa('umount', ['-R', outer], { reject: false }));
  await unmountAll([outer, inner]);
  t.not((await execa('findmnt', [outer], { reject: false })).exitCode, 0);
});

t.test('an unmount failure is an unmount-phase error', async (t) => {
  const dir = tmp(t);
  await t.rejects(unmountAll([dir]), { phase: 'unmount', message: new RegExp(`cannot unmount ${dir}`) });
});

t.test('an eject failure is a warning, not an error', async (t) => {
  const dev = await loop(t, tmp(t), 1024 * 1024);
  const r = await ejectDevice(dev);
  t.equal(r.ejected, false);
  t.match(r.warning, /was written, but ejecting it failed/);
});
