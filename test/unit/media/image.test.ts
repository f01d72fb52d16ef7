import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { defaultImagePath, inspectImage } from '../../../src/media/image.js';
import { loop, tmp } from './helpers.js';

t.test('a regular image file: size and where it lives', async (t) => {
  const dir = tmp(t);
  const file = join(dir, 'a.iso');
  writeFileSync(file, Buffer.alloc(12345, 1));
  const info = await inspectImage(file);
  t.equal(info.size, 12345);
  t.equal(info.path, file);
  t.match(info.fsMajMin, /^\d+:\d+$/);
  t.equal(info.deviceMajMin, null);
});

t.test('a block device as the image', async (t) => {
  const dev = await loop(t, tmp(t), 1024 * 1024);
  const info = await inspectImage(dev);
  t.equal(info.size, 1024 * 1024);
  t.match(info.deviceMajMin, /^7:\d+$/);
});

t.test('missing, empty and odd images are clear errors', async (t) => {
  const dir = tmp(t);
  await t.rejects(inspectImage(join(dir, 'nope.iso')), { code: 'IMAGE_MISSING', hint: /pass --image/ });
  writeFileSync(join(dir, 'empty.iso'), '');
  await t.rejects(inspectImage(join(dir, 'empty.iso')), { code: 'IMAGE_INVALID', message: /is empty/ });
  await t.rejects(inspectImage(dir), { code: 'IMAGE_INVALID', message: /neither a regular file nor a block device/ });
});

t.test('the default image is the build output, and a missing one says to run tsx-hv build', async (t) => {
  t.match(defaultImagePath(), /build\/media\/tsx-hv\.iso$/);
  if (existsSync(defaultImagePath())) {
    t.equal((await inspectImage(undefined)).path, defaultImagePath());
  } else {
    await t.rejects(inspectImage(undefined), { code: 'IMAGE_MISSING', hint: /run `tsx-hv build`/ });
  }
});
