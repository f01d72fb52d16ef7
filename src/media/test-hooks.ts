import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { alignedBuffers } from './aligned.js';

/**
 * Switches for the test suite only (docs/flash.md, "Test switches"). They are environment
 * variables so no user sees them in --help, and each one does one narrow thing:
 * - TSX_HV_FLASH_ALLOW_LOOP=/dev/loopN[,/dev/loopM]: these loop devices are eligible as if they
 *   were removable disks. Every other rule (mounted, read-only, too small, holds the image,
 *   partition) still applies to them.
 * - TSX_HV_FLASH_TEST_CORRUPT_OFFSET=N: after the write is synced and before verification, the
 *   tool flips byte N on the device (read the block, invert the byte, write it back with
 *   O_DIRECT, flush). The device then really holds a wrong byte, which the verifier must find.
 * - TSX_HV_FLASH_TEST_THROTTLE_BPS=N: never write faster than N bytes/s, so a test can interrupt
 *   a write reliably.
 */
export interface TestHooks {
  allowLoop: string[];
  corruptOffset?: number;
  throttleBytesPerSecond?: number;
}

function nonNegativeInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function testHooksFromEnv(env: NodeJS.ProcessEnv): TestHooks {
  const allowLoop = (env.TSX_HV_FLASH_ALLOW_LOOP ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const p of allowLoop) {
    if (!/^\/dev\/loop\d+$/.test(p)) throw new UsageError(`TSX_HV_FLASH_ALLOW_LOOP names ${JSON.stringify(p)}, which is not a /dev/loopN path`);
  }
  return {
    allowLoop,
    corruptOffset: nonNegativeInteger('TSX_HV_FLASH_TEST_CORRUPT_OFFSET', env.TSX_HV_FLASH_TEST_CORRUPT_OFFSET),
    throttleBytesPerSecond: nonNegativeInteger('TSX_HV_FLASH_TEST_THROTTLE_BPS', env.TSX_HV_FLASH_TEST_THROTTLE_BPS) || undefined,
  };
}

/** The corruption hook: invert one byte on the device itself. */
export async function corruptDeviceByte(devicePath: string, offset: number, blockSize: number): Promise<void> {
  const [buf] = alignedBuffers(64 * 1024, 1);
  const block = buf!.subarray(0, blockSize);
  const start = Math.floor(offset / blockSize) * blockSize;
  const fh = await open(devicePath, constants.O_RDWR | constants.O_DIRECT);
  try {
    await fh.read(block, 0, blockSize, start);
    block[offset - start] = block[offset - start]! ^ 0xff;
    await fh.write(block, 0, blockSize, start);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
