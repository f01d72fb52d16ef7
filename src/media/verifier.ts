import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { alignedBuffers } from './aligned.js';
import { CHUNK_BYTES, chunkCount, chunkLength, firstDifference, roundUp, sha256 } from './chunks.js';
import { FlashCancelledError, FlashError, VerificationFailedError, describeCause } from './errors.js';
import { readFully } from './read.js';

export interface VerifyRequest {
  devicePath: string;
  imagePath: string;
  imageSize: number;
  blockSize: number;
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export interface VerifyOutcome {
  /** SHA-256 of the image, equal to that of the device's first imageSize bytes. */
  sha256: string;
  verifyMs: number;
}

/**
 * Read the device back with O_DIRECT, so the data comes from the device and not from this
 * machine's page cache, and compare it with the image chunk by chunk by SHA-256. The next chunk
 * of both is read while the current one is hashed. On the first chunk that differs, the exact
 * byte is named. The device is opened without O_EXCL: the writer's exclusive descriptor stays
 * open until verification ends, so nothing can mount the device in between (a second exclusive
 * open from this process would fail with EBUSY).
 */
export async function verifyDevice(req: VerifyRequest): Promise<VerifyOutcome> {
  const chunkSize = req.chunkSize ?? CHUNK_BYTES;
  const started = performance.now();
  let dev: FileHandle;
  try {
    dev = await open(req.devicePath, constants.O_RDONLY | constants.O_DIRECT);
  } catch (err) {
    throw new FlashError('verify', `cannot open ${req.devicePath} for reading with O_DIRECT: ${describeCause(err)}`, { cause: err });
  }
  let image: FileHandle | undefined;
  try {
    image = await open(req.imagePath, 'r').catch((err: unknown) => {
      throw new FlashError('verify', `cannot open the image ${req.imagePath}: ${describeCause(err)}`, { cause: err });
    });
    const deviceBuffers = alignedBuffers(chunkSize, 2);
    const imageBuffers = [Buffer.allocUnsafeSlow(chunkSize), Buffer.allocUnsafeSlow(chunkSize)];
    const imageHash = createHash('sha256');
    const chunks = chunkCount(req.imageSize, chunkSize);
    const img = image;
    const load = async (index: number): Promise<{ device: Buffer; image: Buffer }> => {
      const len = chunkLength(req.imageSize, index, chunkSize);
      const device = deviceBuffers[index % 2]!;
      const expected = imageBuffers[index % 2]!;
      await Promise.all([
        readFully(dev, device, roundUp(len, req.blockSize), index * chunkSize, { phase: 'verify', what: req.devicePath, whenShort: ', before the end of the image' }),
        readFully(img, expected, len, index * chunkSize, { phase: 'verify', what: `the image ${req.imagePath}`, whenShort: ', before the end of the image' }),
      ]);
      return { device: device.subarray(0, len), image: expected.subarray(0, len) };
    };
    let pending: Promise<{ device: Buffer; image: Buffer }> | undefined = load(0);
    for (let index = 0; index < chunks; index++) {
      const current = await pending!;
      if (req.signal?.aborted) throw new FlashCancelledError('verify', `the image was written completely to ${req.devicePath} but not verified`);
      pending = index + 1 < chunks ? load(index + 1) : undefined;
      // Catch a failed read-ahead here; it is rethrown when awaited in the next iteration.
      pending?.catch(() => undefined);
      imageHash.update(current.image);
      if (sha256(current.device) !== sha256(current.image)) {
        await pending?.catch(() => undefined);
        throw mismatch(req, index * chunkSize, current.device, current.image);
      }
      req.onProgress?.(index * chunkSize + current.image.length, req.imageSize);
    }
    return { sha256: imageHash.digest('hex'), verifyMs: performance.now() - started };
  } finally {
    await image?.close();
    await dev.close();
  }
}

function mismatch(req: VerifyRequest, start: number, device: Buffer, image: Buffer): VerificationFailedError {
  const where = firstDifference(image, device);
  const hex = (b: number | undefined): string => `0x${(b ?? 0).toString(16).padStart(2, '0')}`;
  return new VerificationFailedError(
    `${req.devicePath} reads back differently from the image: first difference at byte ${start + where} ` +
      `(device ${hex(device[where])}, image ${hex(image[where])}); the SHA-256 of the chunk at byte ${start} differs`,
    start + where,
  );
}
