import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  addProbedFilesystems,
  addSysfsFacts,
  discoverDevices,
  majMinOf,
  parseBlkidExport,
  parseLsblk,
  resolveDeviceArgument,
  walk,
} from '../../../src/media/drives.js';
import { device, loop, tmp } from './helpers.js';

const lsblkModern = JSON.stringify({
  blockdevices: [
    {
      name: 'sdb', kname: 'sdb', path: '/dev/sdb', 'maj:min': '8:16', type: 'disk', size: 16008609792, ro: false, rm: true, hotplug: true,
      tran: 'usb', vendor: 'SanDisk ', model: 'Cruzer Blade', serial: '4C53', fstype: null, label: null, fsused: null, pttype: 'dos',
      mountpoints: [null], 'log-sec': 512,
      children: [
        { name: 'sdb1', kname: 'sdb1', path: '/dev/sdb1', 'maj:min': '8:17', type: 'part', size: 16007561216, ro: false, rm: true, hotplug: true,
          tran: null, fstype: 'vfat', label: 'STICK', fsused: '1048576', mountpoints: ['/media/u/STICK'], 'log-sec': 512 },
      ],
    },
  ],
});

const lsblkOld = JSON.stringify({
  blockdevices: [{ name: 'sda', type: 'disk', size: '1000', ro: '1', rm: '0', hotplug: '0', mountpoint: '/', model: '  ' }],
});

t.test('parses lsblk JSON, new and old formats', async (t) => {
  const [sdb] = parseLsblk(lsblkModern);
  t.equal(sdb!.vendor, 'SanDisk');
  t.equal(sdb!.removable, true);
  t.equal(sdb!.transport, 'usb');
  t.equal(sdb!.size, 16008609792);
  t.same(sdb!.mountpoints, []);
  t.equal(sdb!.children[0]!.fsused, 1048576);
  t.same(sdb!.children[0]!.mountpoints, ['/media/u/STICK']);
  t.same([...walk([sdb!])].map((d) => d.name), ['sdb', 'sdb1']);
  const [sda] = parseLsblk(lsblkOld);
  t.equal(sda!.readOnly, true);
  t.equal(sda!.removable, false);
  t.equal(sda!.path, '/dev/sda');
  t.equal(sda!.kname, 'sda');
  t.equal(sda!.size, 1000);
  t.equal(sda!.model, null);
  t.same(sda!.mountpoints, ['/']);
  t.equal(sda!.logicalBlockSize, 512);
  const [odd] = parseLsblk(JSON.stringify({ blockdevices: [{ size: 'x' }] }));
  t.equal(odd!.name, '?');
  t.equal(odd!.type, 'unknown');
  t.equal(odd!.size, 0);
});

t.test('bad lsblk output is a typed discover error', async (t) => {
  t.throws(() => parseLsblk('not json'), { phase: 'discover', message: /not JSON/ });
  t.throws(() => parseLsblk('{}'), { message: /no "blockdevices" array/ });
});

t.test('sysfs facts override lsblk', async (t) => {
  const sys = tmp(t);
  mkdirSync(join(sys, 'sdz', 'queue'), { recursive: true });
  mkdirSync(join(sys, 'sdz', 'loop'), { recursive: true });
  writeFileSync(join(sys, 'sdz', 'removable'), '0\n');
  writeFileSync(join(sys, 'sdz', 'ro'), '1\n');
  writeFileSync(join(sys, 'sdz', 'queue', 'logical_block_size'), '4096\n');
  writeFileSync(join(sys, 'sdz', 'loop', 'backing_file'), '/srv/x.img\n');
  const d = device({ children: [device({ kname: 'missing' })] });
  await addSysfsFacts([d], sys);
  t.equal(d.removable, false);
  t.equal(d.readOnly, true);
  t.equal(d.logicalBlockSize, 4096);
  t.equal(d.backingFile, '/srv/x.img');
  t.equal(d.children[0]!.backingFile, null);
  t.equal(d.children[0]!.removable, true, 'unchanged without sysfs');
});

t.test('majMinOf decodes Linux dev_t values', async (t) => {
  // glibc's makedev(3): the low 12 bits of major at bits 8-19, the rest from bit 44; the low 8
  // bits of minor at bits 0-7, the rest from bit 20.
  const makedev = (major: bigint, minor: bigint): bigint =>
    ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);
  t.equal(majMinOf(0x810n), '8:16');
  t.equal(majMinOf(makedev(259n, 5n)), '259:5');
  t.equal(majMinOf(makedev(4096n, 300n)), '4096:300');
  t.equal(majMinOf(makedev(0n, 256n)), '0:256');
});

t.test('blkid fills in filesystems when udev has nothing', async (t) => {
  t.same(parseBlkidExport('DEVNAME=/dev/x\nTYPE=ext4\nLABEL=a=b\n\n'), { DEVNAME: '/dev/x', TYPE: 'ext4', LABEL: 'a=b' });
  const dir = tmp(t);
  const dev = await loop(t, dir, 8 * 1024 * 1024, 0);
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'PROBED', dev]);
  const d = device({ path: dev, fstype: null, pttype: null });
  await addProbedFilesystems([d, device({ size: 0 }), device({ fstype: 'vfat' })]);
  t.equal(d.fstype, 'ext4');
  t.equal(d.label, 'PROBED');
  t.equal(d.pttype, null);
});

t.test('discovers real devices and resolves every spelling of a device name', async (t) => {
  const dir = tmp(t);
  const dev = await loop(t, dir, 2 * 1024 * 1024);
  const devices = await discoverDevices();
  const found = await resolveDeviceArgument(dev, devices);
  t.equal(found.path, dev);
  t.equal(found.type, 'loop');
  t.match(found.backingFile, dir);
  t.equal((await resolveDeviceArgument(dev.replace('/dev/', ''), devices)).path, dev);
  await t.rejects(resolveDeviceArgument('/dev/no-such-disk', devices), { code: 'NO_SUCH_DEVICE', message: /no such device/ });
  await t.rejects(resolveDeviceArgument('/etc/hostname', devices), { code: 'NOT_A_BLOCK_DEVICE' });
  await t.rejects(resolveDeviceArgument(dev, []), { code: 'NO_SUCH_DEVICE', message: /not in lsblk's list/ });
});
