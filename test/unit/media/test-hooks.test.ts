import t from 'tap';
import { corruptDeviceByte, testHooksFromEnv } from '../../../src/media/test-hooks.js';
import { readFileSync } from 'node:fs';
import { loop, tmp } from './helpers.js';

t.test('test switches are read from the environment and checked', async (t) => {
  t.same(testHooksFromEnv({}), { allowLoop: [], corruptOffset: undefined, throttleBytesPerSecond: undefined });
  t.same(testHooksFromEnv({ TSX_HV_FLASH_ALLOW_LOOP: '/dev/loop1, /dev/loop2', TSX_HV_FLASH_TEST_CORRUPT_OFFSET: '7', TSX_HV_FLASH_TEST_THROTTLE_BPS: '100' }), {
    allowLoop: ['/dev/loop1', '/dev/loop2'],
    corruptOffset: 7,
    throttleBytesPerSecond: 100,
  });
  t.throws(() => testHooksFromEnv({ TSX_HV_FLASH_ALLOW_LOOP: '/dev/sda' }), /not a \/dev\/loopN path/);
  t.throws(() => testHooksFromEnv({ TSX_HV_FLASH_TEST_CORRUPT_OFFSET: '-1' }), /must be a non-negative integer/);
  t.equal(testHooksFromEnv({ TSX_HV_FLASH_TEST_THROTTLE_BPS: '0' }).throttleBytesPerSecond, undefined);
});

t.test('the corruption hook inverts exactly one byte on the device', async (t) => {
  const dir = tmp(t);
  const dev = await loop(t, dir, 1024 * 1024, 0x11);
  await corruptDeviceByte(dev, 5000, 512);
  const back = readFileSync(dev);
  t.equal(back[5000], 0xee);
  back[5000] = 0x11;
  t.ok(back.equals(Buffer.alloc(1024 * 1024, 0x11)), 'nothing else changed');
});
