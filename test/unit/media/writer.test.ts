import t from 'tap';
import { randomBytes } from 'node:crypto';
import { constants, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { writeImage } from '../../../src/media/writer.js';
import { loop, MiB, tmp } from './helpers.js';

async function setup(t: { teardown(fn: () => unknown): void }, imageSize: number, deviceSize: number) {
  const dir = tmp(t);
  const image = join(dir, 'image.bin');
  const data = randomBytes(imageSize);
  writeFileSync(image, data);
  const dev = await loop(t, dir, deviceSize);
  const device = await open(dev, constants.O_WRONLY | constants.O_EXCL | constants.O_DIRECT);
  t.teardown(() => device.close().catch(() => undefined));
  return { image, data, dev, device };
}

t.test('writes the image, padded to whole blocks, and reports progress', async (t) => {
  const size = 5 * MiB + 100;
  const { image, data, dev, device } = await setup(t, size, 8 * MiB);
  const progress: number[] = [];
  const r = await writeImage({ device, devicePath: dev, imagePath: image, imageSize: size, blockSize: 512, chunkSize: 1 * MiB, onProgress: (b) => progress.push(b) });
  t.equal(r.bytesWritten, 5 * MiB + 512);
  t.ok(r.writeMs > 0 && r.syncMs >= 0);
  const back = readFileSync(dev);
  t.ok(back.subarray(0, size).equals(data), 'byte for byte');
  t.ok(back.subarray(size, 5 * MiB + 512).equals(Buffer.alloc(412)), 'zero padding');
  t.equal(back[5 * MiB + 512], 0xa5, 'nothing past the image');
  t.equal(progress.at(-1), 5 * MiB + 512);
  t.ok(progress.length >= 6);
});

t.test('an image smaller than the boot head is written as one head', async (t) => {
  const { image, data, dev, device } = await setup(t, 1000, 1 * MiB);
  await writeImage({ device, devicePath: dev, imagePath: image, imageSize: 1000, blockSize: 512 });
  t.ok(readFileSync(dev).subarray(0, 1000).equals(data));
});

t.test('a cancelled write stops between chunks with the head zeroed', async (t) => {
  const { image, data, dev, device } = await setup(t, 4 * MiB, 4 * MiB);
  const controller = new AbortController();
  await t.rejects(
    writeImage({
      device, devicePath: dev, imagePath: image, imageSize: 4 * MiB, blockSize: 512, chunkSize: 1 * MiB, signal: controller.signal,
      throttleBytesPerSecond: 20 * MiB,
      onProgress: (bytes) => bytes > 0 && controller.abort(),
    }),
    { code: 'CANCELLED', phase: 'write', message: /stopped after 960\.0 KiB of 4\.0 MiB; the first 64\.0 KiB of .* are zero/ },
  );
  const back = readFileSync(dev);
  t.ok(back.subarray(0, 65536).equals(Buffer.alloc(65536)), 'head zero');
  t.ok(back.subarray(65536, MiB).equals(data.subarray(65536, MiB)), 'first chunk body written');
  t.equal(back[2 * MiB], 0xa5, 'later chunks not written');
});

t.test('failures name the phase and the cause', async (t) => {
  const { image, dev } = await setup(t, 1 * MiB, 1 * MiB);
  const readOnly = await open(dev, constants.O_RDONLY | constants.O_DIRECT);
  t.teardown(() => readOnly.close());
  await t.rejects(writeImage({ device: readOnly, devicePath: dev, imagePath: image, imageSize: MiB, blockSize: 512 }), { phase: 'write', message: /writing .* at offset 0 failed: EBADF/ });
  const { image: img2, dev: dev2, device: d2 } = await setup(t, 1 * MiB, 4 * MiB);
  await t.rejects(writeImage({ device: d2, devicePath: dev2, imagePath: img2, imageSize: 2 * MiB, blockSize: 512 }), { phase: 'write', message: /ended at 1048576 bytes; it changed while being written/ });
  await t.rejects(writeImage({ device: d2, devicePath: dev2, imagePath: join(tmp(t), 'gone'), imageSize: MiB, blockSize: 512 }), { phase: 'open', message: /cannot open the image/ });
  const dirAsImage = tmp(t);
  await t.rejects(writeImage({ device: d2, devicePath: dev2, imagePath: dirAsImage, imageSize: MiB, blockSize: 512 }), { phase: 'write', message: /reading the image .* failed: EISDIR/ });
  const small = await setup(t, 2 * MiB, 1 * MiB);
  await t.rejects(writeImage({ device: small.device, devicePath: small.dev, imagePath: small.image, imageSize: 2 * MiB, blockSize: 512, chunkSize: MiB }), { phase: 'write', message: /ENOSPC|accepted no bytes/ });
});
