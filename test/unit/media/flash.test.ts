import t from 'tap';
import { randomBytes } from 'node:crypto';
import { constants, mkdirSync, readFileSync, rmdirSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { flashImage, listDrives, type FlashEvent, type FlashOptions } from '../../../src/media/flash.js';
import { loop, MiB, tmp } from './helpers.js';

async function stick(t: { teardown(fn: () => unknown): void }, imageSize = 3 * MiB, deviceSize = 4 * MiB) {
  const dir = tmp(t);
  const image = join(dir, 'image.bin');
  const data = randomBytes(imageSize);
  writeFileSync(image, data);
  const dev = await loop(t, dir, deviceSize);
  return { dir, image, data, dev };
}

const yes = async (): Promise<boolean> => true;
const base = (dev: string, image: string, more: Partial<FlashOptions> = {}): FlashOptions => ({
  device: dev,
  image,
  confirm: yes,
  testHooks: { allowLoop: [dev] },
  ...more,
});

t.test('flashes, verifies, and reports eject failure as a warning', async (t) => {
  const { image, data, dev } = await stick(t);
  const events: FlashEvent[] = [];
  const r = await flashImage(base(dev, image, { onEvent: (e) => events.push(e) }));
  t.equal(r.device, dev);
  t.equal(r.verified, true);
  t.equal(r.ejected, false);
  t.match(r.warnings[0], /ejecting it failed/);
  t.equal(r.bytesWritten, 3 * MiB);
  t.ok(r.writeBytesPerSecond > 0);
  t.ok(readFileSync(dev).subarray(0, data.length).equals(data));
  t.same(
    events.filter((e) => e.event === 'phase').map((e) => (e as { phase: string }).phase),
    ['discover', 'confirm', 'open', 'write', 'verify', 'eject'],
  );
  t.ok(events.some((e) => e.event === 'plan'));
  t.ok(events.some((e) => e.event === 'warning'));
});

t.test('--no-verify and --no-eject skip those phases', async (t) => {
  const { image, dev } = await stick(t);
  const r = await flashImage(base(dev, image, { verify: false, eject: false }));
  t.equal(r.verified, false);
  t.equal(r.image.sha256, null);
  t.equal(r.verifySeconds, null);
  t.same(r.warnings, []);
});

t.test('refusals come with a hint', async (t) => {
  const { image, dev } = await stick(t);
  await t.rejects(flashImage({ device: dev, image, confirm: yes }), { code: 'DEVICE_REFUSED', hint: /tsx-hv flash --list/ });
  const big = await stick(t, 1 * MiB, 32 * MiB);
  await execa('parted', ['-s', big.dev, 'mklabel', 'msdos', 'mkpart', 'primary', '1MiB', '100%']);
  await execa('partx', ['-a', big.dev], { reject: false });
  await t.rejects(flashImage(base(`${big.dev}p1`, big.image)), { message: /is a partition/, hint: `name the whole disk instead: ${big.dev}` });
  await execa('mkfs.ext4', ['-q', '-F', `${big.dev}p1`]);
  const mnt = join(big.dir, 'mnt');
  mkdirSync(mnt);
  await execa('mount', [`${big.dev}p1`, mnt]);
  t.teardown(() => execa('umount', [mnt], { reject: false }));
  await t.rejects(flashImage(base(big.dev, big.image)), { message: /mounted outside/, hint: /unmount those filesystems yourself/ });
});

t.test('automounted filesystems are unmounted first', async (t) => {
  const { image, dev } = await stick(t, 1 * MiB, 16 * MiB);
  await execa('mkfs.ext4', ['-q', '-F', dev]);
  const mnt = `/media/tsx-hv-flash-unit-${process.pid}`;
  mkdirSync(mnt, { recursive: true });
  t.teardown(async () => {
    await execa('umount', [mnt], { reject: false });
    rmdirSync(mnt);
  });
  await execa('mount', [dev, mnt]);
  const events: FlashEvent[] = [];
  await flashImage(base(dev, image, { eject: false, onEvent: (e) => events.push(e) }));
  t.ok(events.some((e) => e.event === 'phase' && e.phase === 'unmount'));
  t.not((await execa('findmnt', [mnt], { reject: false })).exitCode, 0);
});

t.test('declining or interrupting before the write leaves the device untouched', async (t) => {
  const { image, dev } = await stick(t);
  await t.rejects(flashImage(base(dev, image, { confirm: async () => false })), { code: 'CANCELLED', phase: 'confirm', message: /nothing was written/ });
  const controller = new AbortController();
  const never = new Promise<boolean>(() => undefined);
  const pending = flashImage(base(dev, image, { confirm: () => never, signal: controller.signal }));
  setTimeout(() => controller.abort(), 50);
  await t.rejects(pending, { code: 'CANCELLED', message: /nothing was written/ });
  await t.rejects(flashImage(base(dev, image, { signal: AbortSignal.abort() })), { code: 'CANCELLED', phase: 'confirm' });
  const late = new AbortController();
  await t.rejects(
    flashImage(base(dev, image, { signal: late.signal, confirm: async () => (late.abort(), true) })),
    { code: 'CANCELLED', phase: 'confirm' },
  );
  const atOpen = new AbortController();
  await t.rejects(
    flashImage(base(dev, image, { signal: atOpen.signal, onEvent: (e) => e.event === 'phase' && e.phase === 'open' && atOpen.abort() })),
    { code: 'CANCELLED', phase: 'open', message: /nothing was written/ },
  );
  t.ok(readFileSync(dev).equals(Buffer.alloc(4 * MiB, 0xa5)), 'untouched');
});

t.test('an interrupt at the very end leaves a complete, unverified image', async (t) => {
  const { image, dev } = await stick(t);
  const controller = new AbortController();
  await t.rejects(
    flashImage(base(dev, image, {
      signal: controller.signal,
      onEvent: (e) => e.event === 'progress' && e.phase === 'write' && e.bytes === e.total && controller.abort(),
    })),
    { code: 'CANCELLED', message: /written completely .* but not verified/ },
  );
});

t.test('a device that is busy or changed after confirmation is not written', async (t) => {
  const { dir, image, dev } = await stick(t);
  const holder = await open(dev, constants.O_RDONLY | constants.O_EXCL);
  await t.rejects(flashImage(base(dev, image)), { phase: 'open', message: /cannot open .* exclusively: EBUSY/ });
  await holder.close();
  const backing = readFileSync(`/sys/class/block/${dev.replace('/dev/', '')}/loop/backing_file`, 'utf8').trim();
  t.match(backing, dir);
  await t.rejects(
    flashImage(base(dev, image, {
      confirm: async () => {
        truncateSync(backing, 8 * MiB);
        await execa('losetup', ['-c', dev]);
        return true;
      },
    })),
    { phase: 'open', message: /changed since it was confirmed/ },
  );
});

t.test('the corruption test hook is caught by the verifier', async (t) => {
  const { image, dev } = await stick(t);
  const events: FlashEvent[] = [];
  await t.rejects(flashImage(base(dev, image, { testHooks: { allowLoop: [dev], corruptOffset: 12345 }, onEvent: (e) => events.push(e) })), {
    code: 'VERIFICATION_FAILED',
    firstDifferenceOffset: 12345,
  });
  t.ok(events.some((e) => e.event === 'warning' && /test hook: byte 12345/.test(e.message)));
  await t.rejects(flashImage(base(dev, image, { testHooks: { allowLoop: [dev], corruptOffset: 3 * MiB } })), { message: /is beyond the image/ });
});

t.test('listDrives assesses every device against the image', async (t) => {
  const { image, dev } = await stick(t);
  const listing = await listDrives({ image, testHooks: { allowLoop: [dev] } });
  t.equal(listing.image!.size, 3 * MiB);
  t.equal(listing.imageNote, null);
  const mine = listing.drives.find((a) => a.device.path === dev);
  t.equal(mine!.verdict, 'eligible');
  const plain = await listDrives();
  t.equal(plain.drives.find((a) => a.device.path === dev)!.verdict, 'refused');
  t.ok(plain.image !== null || /sizes are not checked/.test(plain.imageNote ?? ''));
  await t.rejects(listDrives({ image: '/no/such.iso' }), { code: 'IMAGE_MISSING' });
});
