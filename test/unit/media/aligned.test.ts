import t from 'tap';
import { constants, closeSync, openSync, readSync } from 'node:fs';
import { alignedBuffers } from '../../../src/media/aligned.js';
import { loop, tmp } from './helpers.js';

t.test('aligned buffers work for O_DIRECT reads where plain Buffers fail', async (t) => {
  const dev = await loop(t, tmp(t), 1024 * 1024, 0x42);
  const fd = openSync(dev, constants.O_RDONLY | constants.O_DIRECT);
  t.teardown(() => closeSync(fd));
  const [a, b] = alignedBuffers(128 * 1024, 2);
  t.equal(a!.length, 128 * 1024);
  t.equal(readSync(fd, a!, 0, a!.length, 0), 128 * 1024);
  t.equal(readSync(fd, b!, 0, b!.length, 128 * 1024), 128 * 1024);
  t.equal(a![0], 0x42);
  t.throws(() => readSync(fd, Buffer.alloc(4096 + 1).subarray(1), 0, 4096, 0), { code: 'EINVAL' }, 'a misaligned buffer is refused by the kernel');
});

t.test('sizes must be whole 64 KiB pages', async (t) => {
  t.throws(() => alignedBuffers(1000, 1), RangeError);
  t.throws(() => alignedBuffers(0, 1), RangeError);
});
