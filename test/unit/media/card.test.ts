import t from 'tap';
import { driveCard, renderCard } from '../../../src/media/card.js';
import { assess } from '../../../src/media/policy.js';
import type { ImageInfo } from '../../../src/media/image.js';
import { device, MiB } from './helpers.js';

const image: ImageInfo = { path: '/srv/tsx-hv.iso', size: 30 * MiB, fsMajMin: '254:0', fsSource: null, deviceMajMin: null };

t.test('the card lists the device, its partitions and what will be lost', async (t) => {
  const p1 = device({ name: 'sdz1', path: '/dev/sdz1', type: 'part', size: 512 * MiB, fstype: 'vfat', label: 'PHOTOS', fsused: 100 * MiB, mountpoints: ['/media/a/PHOTOS'] });
  const p2 = device({ name: 'sdz2', path: '/dev/sdz2', type: 'part', size: 256 * MiB, fstype: null });
  const card = driveCard(assess(device({ pttype: 'dos', children: [p1, p2] })), image);
  t.equal(card.partitions.length, 2);
  t.match(card.loss, 'everything on /dev/sdz (1.0 GiB), including vfat "PHOTOS" on /dev/sdz1 (100.0 MiB used)');
  const text = renderCard(card);
  t.match(text, 'Vendor      Acme');
  t.match(text, 'Partitions  2 (dos)');
  t.match(text, '/dev/sdz1  512.0 MiB  vfat "PHOTOS"  mounted at /media/a/PHOTOS');
  t.match(text, '/dev/sdz2  256.0 MiB  no filesystem');
  t.match(text, 'Unmounts    /media/a/PHOTOS');
  t.match(text, 'Image       /srv/tsx-hv.iso (30.0 MiB)');
});

t.test('a blank device still says everything on it is overwritten', async (t) => {
  const card = driveCard(assess(device({ vendor: null, model: null, serial: null, transport: null })), image);
  t.match(card.loss, 'no filesystem was recognised on it, but any data there is overwritten');
  const text = renderCard(card);
  t.match(text, 'Partitions  none');
  t.match(text, 'Serial      -');
  t.notMatch(text, 'Unmounts');
  const whole = driveCard(assess(device({ fstype: 'ext4', label: null, fsused: null, children: [device({ type: 'part', pttype: null })] })), image);
  t.match(whole.loss, 'including ext4 on /dev/sdz');
  t.match(renderCard(whole), 'Partitions  1 (no table type)');
});
