import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { verifyDevice } from '../../../src/media/verifier.js';
import { loop, MiB, tmp } from './helpers.js';

async function written(t: { teardown(fn: () => unknown): void }, imageSize: number, deviceSize: number) {
  const dir = tmp(t);
  const image = join(dir, 'image.bin');
  const data = randomBytes(imageSize);
  writeFileSync(image, data);
  const dev = await loop(t, dir, deviceSize);
  await execa('dd', [`if=${image}`, `of=${dev}`, 'bs=1M', `count=${Math.min(imageSize, deviceSize)}`, 'iflag=count_bytes', 'conv=fsync', 'status=none']);
  return { image, data, dev };
}

t.test('a correct device verifies and yields the SHA-256 of the image', async (t) => {
  const size = 3 * MiB + 7;
  const { image, data, dev } = await written(t, size, 4 * MiB);
  const seen: number[] = [];
  const r = await verifyDevice({ devicePath: dev, imagePath: image, imageSize: size, blockSize: 512, chunkSize: MiB, onProgress: (b) => seen.push(b) });
  t.equal(r.sha256, createHash('sha256').update(data).digest('hex'));
  t.same(seen, [MiB, 2 * MiB, 3 * MiB, size]);
});

t.test('a wrong byte is found and named', async (t) => {
  const size = 3 * MiB;
  const { image, data, dev } = await written(t, size, 4 * MiB);
  const bad = Buffer.from(data);
  bad[2 * MiB + 10] = bad[2 * MiB + 10]! ^ 0xff;
  writeFileSync(image, bad);
  await t.rejects(verifyDevice({ devicePath: dev, imagePath: image, imageSize: size, blockSize: 512, chunkSize: MiB }), {
    code: 'VERIFICATION_FAILED',
    exitCode: 4,
    firstDifferenceOffset: 2 * MiB + 10,
    message: new RegExp(`first difference at byte ${2 * MiB + 10} \\(device 0x${data[2 * MiB + 10]!.toString(16).padStart(2, '0')}, image 0x`),
  });
});

t.test('cancelling stops verification and says the image is written', async (t) => {
  const { image, dev } = await written(t, 2 * MiB, 2 * MiB);
  await t.rejects(verifyDevice({ devicePath: dev, imagePath: image, imageSize: 2 * MiB, blockSize: 512, signal: AbortSignal.abort() }), {
    code: 'CANCELLED',
    message: /written completely to .* but not verified/,
  });
});

t.test('read failures name the verify phase', async (t) => {
  const { image, dev } = await written(t, 2 * MiB, 1 * MiB);
  await t.rejects(verifyDevice({ devicePath: dev, imagePath: image, imageSize: 2 * MiB, blockSize: 512, chunkSize: MiB }), {
    phase: 'verify',
    message: new RegExp(`${dev} ended at 1048576 bytes, before the end of the image`),
  });
  await t.rejects(verifyDevice({ devicePath: '/dev/no-such', imagePath: image, imageSize: 1, blockSize: 512 }), { phase: 'verify', message: /cannot open \/dev\/no-such/ });
  await t.rejects(verifyDevice({ devicePath: dev, imagePath: '/no/such/image', imageSize: 1, blockSize: 512 }), { phase: 'verify', message: /cannot open the image/ });
  await t.rejects(verifyDevice({ devicePath: dev, imagePath: tmp(t), imageSize: 512, blockSize: 512 }), { phase: 'verify', message: /reading the image .* failed: EISDIR/ });
});
