import t from 'tap';
import { matchDevice, parseBlkidExport, parseFstab } from '../../../src/provision/fstab.js';

t.test('parses fstab lines, comments, defaults and octal escapes', async (t) => {
  const entries = parseFstab('# /etc/fstab\nUUID=abc / ext4 errors=remount-ro 0 1\n\nLABEL=boot /boot ext2\n/dev/sda3 /mnt/my\\040disk xfs defaults,noatime 0 2  # data\nbroken\n');
  t.same(entries, [
    { spec: 'UUID=abc', mountPoint: '/', type: 'ext4', options: ['errors=remount-ro'] },
    { spec: 'LABEL=boot', mountPoint: '/boot', type: 'ext2', options: ['defaults'] },
    { spec: '/dev/sda3', mountPoint: '/mnt/my disk', type: 'xfs', options: ['defaults', 'noatime'] },
  ]);
});

t.test('matches UUID, PARTUUID, LABEL, PARTLABEL and plain device specs', async (t) => {
  const devices = [
    { device: '/dev/loop0p1', uuid: 'AAAA-BBBB', partuuid: '1234-01', type: 'vfat' },
    { device: '/dev/loop0p2', uuid: 'c0ffee', label: 'boot', partlabel: 'xboot', type: 'ext4' },
  ];
  t.equal(matchDevice('UUID=aaaa-bbbb', devices)?.device, '/dev/loop0p1', 'UUIDs compare case-insensitively');
  t.equal(matchDevice('PARTUUID="1234-01"', devices)?.device, '/dev/loop0p1');
  t.equal(matchDevice('LABEL=boot', devices)?.device, '/dev/loop0p2');
  t.equal(matchDevice('PARTLABEL=xboot', devices)?.device, '/dev/loop0p2');
  t.equal(matchDevice('/dev/loop0p2', devices)?.device, '/dev/loop0p2');
  t.equal(matchDevice('UUID=none', devices), undefined);
});

t.test('parses blkid -o export output', async (t) => {
  t.same(parseBlkidExport('/dev/loop0p1', 'DEVNAME=/dev/loop0p1\nLABEL=root\nUUID=u-1\nBLOCK_SIZE=4096\nTYPE=ext4\nPARTUUID=p-1\n'), {
    device: '/dev/loop0p1', uuid: 'u-1', partuuid: 'p-1', label: 'root', partlabel: undefined, type: 'ext4',
  });
  t.same(parseBlkidExport('/dev/x', ''), { device: '/dev/x', uuid: undefined, partuuid: undefined, label: undefined, partlabel: undefined, type: undefined });
});
