import t from 'tap';
import { assess, assessAll, formatBytes, isAutomount, requiredBytes } from '../../../src/media/policy.js';
import type { ImageInfo } from '../../../src/media/image.js';
import { device, MiB } from './helpers.js';

const image = (over: Partial<ImageInfo> = {}): ImageInfo => ({ path: '/srv/tsx-hv.iso', size: 100 * MiB, fsMajMin: '254:0', fsSource: '/dev/vda', deviceMajMin: null, ...over });
const codes = (a: ReturnType<typeof assess>): string[] => a.refusals.map((r) => r.code);

t.test('a removable USB stick is eligible and says why', async (t) => {
  const a = assess(device(), { image: image() });
  t.equal(a.verdict, 'eligible');
  t.equal(a.reason, 'eligible: removable medium');
  t.equal(assess(device({ removable: false }), {}).reason, 'eligible: USB drive');
  t.equal(assess(device({ removable: false, transport: 'sata' }), {}).reason, 'eligible: hot-pluggable drive');
});

t.test('a fixed disk is refused unless --allow-non-removable', async (t) => {
  const fixed = device({ removable: false, hotplug: false, transport: 'nvme' });
  const a = assess(fixed, {});
  t.same(codes(a), ['non-removable']);
  t.match(a.reason, /not removable and not on USB \(nvme\); pass --allow-non-removable/);
  const b = assess(fixed, { allowNonRemovable: true });
  t.equal(b.verdict, 'eligible');
  t.equal(b.reason, 'eligible: non-removable disk allowed by --allow-non-removable');
  t.match(assess(device({ removable: false, hotplug: false, transport: null }), {}).reason, /\(no transport\)/);
});

t.test('the system disk is refused, whatever else is allowed', async (t) => {
  for (const mp of ['/', '/boot', '/boot/efi']) {
    const part = device({ name: 'sda1', kname: 'sda1', path: '/dev/sda1', type: 'part', mountpoints: [mp] });
    const a = assess(device({ path: '/dev/sda', children: [part] }), { allowNonRemovable: true });
    t.equal(a.verdict, 'refused');
    t.equal(a.refusals[0]!.code, 'system');
    t.match(a.reason, `it is a system disk: /dev/sda1 is mounted at ${mp}`);
  }
});

t.test('a root on LVM still marks the disk under it as the system disk', async (t) => {
  const lv = device({ name: 'vg-root', kname: 'dm-0', path: '/dev/mapper/vg-root', type: 'lvm', mountpoints: ['/'] });
  const part = device({ name: 'sda2', kname: 'sda2', path: '/dev/sda2', type: 'part', children: [lv] });
  const a = assess(device({ path: '/dev/sda', children: [part] }), {});
  t.same(codes(a), ['system', 'holders']);
});

t.test('swap, holders and filesystems mounted outside /media are refused', async (t) => {
  const swap = device({ type: 'part', path: '/dev/sdz1', mountpoints: ['[SWAP]'] });
  t.same(codes(assess(device({ children: [swap] }), {})), ['swap']);
  const raid = device({ type: 'raid1', path: '/dev/md0', kname: 'md0' });
  const member = device({ type: 'part', path: '/dev/sdz1', children: [raid] });
  t.same(codes(assess(device({ children: [member] }), {})), ['holders']);
  const data = device({ type: 'part', path: '/dev/sdz1', mountpoints: ['/srv/data'] });
  const a = assess(device({ children: [data] }), {});
  t.same(codes(a), ['mounted']);
  t.match(a.reason, /mounted outside \/media and \/run\/media, in use by the system: \/dev\/sdz1 at \/srv\/data/);
});

t.test('automounted filesystems are unmounted, not refused', async (t) => {
  const p1 = device({ type: 'part', path: '/dev/sdz1', mountpoints: ['/media/alice/STICK'] });
  const p2 = device({ type: 'part', path: '/dev/sdz2', mountpoints: ['/run/media/bob/DATA'] });
  const a = assess(device({ children: [p1, p2] }), {});
  t.equal(a.verdict, 'eligible');
  t.same(a.unmount, ['/media/alice/STICK', '/run/media/bob/DATA']);
  t.equal(isAutomount('/media/'), false);
  t.equal(isAutomount('/mnt/x'), false);
});

t.test('partitions, loop, optical, virtual and empty devices are refused', async (t) => {
  t.match(assess(device({ type: 'part', path: '/dev/sdz1' }), {}).reason, '/dev/sdz1 is a partition, not a whole disk');
  t.match(assess(device({ type: 'loop', path: '/dev/loop0' }), {}).reason, '/dev/loop0 is a loop device');
  t.match(assess(device({ type: 'rom', path: '/dev/sr0' }), {}).reason, '/dev/sr0 is an optical drive');
  t.match(assess(device({ type: 'crypt', path: '/dev/dm-1' }), {}).reason, 'is a crypt device, not a disk');
  t.match(assess(device({ kname: 'zram0', path: '/dev/zram0' }), {}).reason, 'is a virtual zram device');
  t.match(assess(device({ kname: 'ram0', path: '/dev/ram0' }), {}).reason, 'is a virtual ram device');
  t.same(codes(assess(device({ size: 0 }), {})), ['no-medium']);
});

t.test('the loop test switch makes only the named loop devices eligible', async (t) => {
  const loop0 = device({ type: 'loop', path: '/dev/loop0', removable: false, hotplug: false, transport: null });
  const a = assess(loop0, { allowLoop: ['/dev/loop0'] });
  t.equal(a.verdict, 'eligible');
  t.equal(a.reason, 'eligible: a loop device allowed by TSX_HV_FLASH_ALLOW_LOOP (test switch)');
  t.same(codes(assess(loop0, { allowLoop: ['/dev/loop1'] })), ['virtual', 'non-removable']);
  t.same(codes(assess({ ...loop0, readOnly: true }, { allowLoop: ['/dev/loop0'] })), ['read-only']);
});

t.test('read-only and too-small devices are refused', async (t) => {
  t.same(codes(assess(device({ readOnly: true }), {})), ['read-only']);
  const small = assess(device({ size: 99 * MiB }), { image: image() });
  t.same(codes(small), ['too-small']);
  t.match(small.reason, 'holds 99.0 MiB, the image needs 100.0 MiB');
  t.equal(assess(device({ size: 100 * MiB }), { image: image() }).verdict, 'eligible');
  t.same(codes(assess(device({ size: 4096, logicalBlockSize: 4096 }), { image: image({ size: 4097 }) })), ['too-small']);
});

t.test('a device holding the image is refused', async (t) => {
  const part = device({ type: 'part', path: '/dev/sdz1', majMin: '8:241', mountpoints: ['/media/a/STICK'] });
  t.match(assess(device({ children: [part] }), { image: image({ fsMajMin: '8:241' }) }).reason, 'it holds the image file itself (/srv/tsx-hv.iso is on /dev/sdz1)');
  t.same(codes(assess(device({ children: [part] }), { image: image({ fsMajMin: '0:42', fsSource: '/dev/sdz1' }) })), ['holds-image']);
  t.match(assess(device(), { image: image({ deviceMajMin: '8:240' }) }).reason, 'it is the image itself');
  const backed = device({ type: 'loop', path: '/dev/loop3', backingFile: '/srv/tsx-hv.iso (deleted)' });
  t.match(assess(backed, { image: image(), allowLoop: ['/dev/loop3'] }).reason, 'backed by the image file itself');
});

t.test('assessAll covers every node and helpers format sizes', async (t) => {
  const part = device({ type: 'part', path: '/dev/sdz1' });
  const all = assessAll([device({ children: [part] })], {});
  t.same(all.map((a) => [a.device.path, a.verdict]), [['/dev/sdz', 'eligible'], ['/dev/sdz1', 'refused']]);
  t.equal(assess(device()).verdict, 'eligible');
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(1536), '1.5 KiB');
  t.equal(formatBytes(3 * 1024 ** 4), '3.0 TiB');
  t.equal(requiredBytes(1, 4096), 4096);
});
