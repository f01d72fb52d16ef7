import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { alignedBuffers } from './aligned.js';
import { CHUNK_BYTES, chunkCount, chunkLength, firstDifference, roundUp, sha256 } from './chunks.js';
import { FlashCancelledError, FlashError, VerificationFailedError, describeCause } from './errors.js';

export interface VerifyRequest {
  devicePath: string;
  imagePath: string;
  imageSize: number;
  blockSize: number;
  /** What was written: the per-chunk SHA-256 list from writeImage. */
  expectedChunkSha256: readonly string[];
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export interface VerifyOutcome {
  sha256: string;
  verifyMs: number;
}

async function readChunk(fh: FileHandle, buf: Buffer, length: number, position: number, what: string): Promise<void> {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(buf, done, length - done, position + done));
    } catch (err) {
      throw new FlashError('verify', `reading ${what} at offset ${position + done} failed: ${describeCause(err)}`, { cause: err });
    }
    if (n === 0) throw new FlashError('verify', `${what} ended at ${position + done} bytes, before the end of the image`);
    done += n;
  }
}

/**
 * Read the device back with O_DIRECT, so the data comes from the device and not from the page
 * cache of this machine, and compare each chunk's SHA-256 with what was written. On the first
 * chunk that differs, the image chunk is read again to name the exact byte offset.
 * The device is opened without O_EXCL: the writer's exclusive descriptor stays open until the
 * verification ends, so nothing can mount the device in between, and a second exclusive open
 * from this process would fail with EBUSY.
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
  const buffers = alignedBuffers(chunkSize, 2);
  const whole = createHash('sha256');
  const chunks = chunkCount(req.imageSize, chunkSize);
  try {
    const load = async (index: number): Promise<Buffer> => {
      const buf = buffers[index % 2]!;
      const padded = roundUp(chunkLength(req.imageSize, index, chunkSize), req.blockSize);
      await readChunk(dev, buf, padded, index * chunkSize, req.devicePath);
      return buf;
    };
    let pending: Promise<Buffer> | undefined = load(0);
    for (let index = 0; index < chunks; index++) {
      const buf: Buffer = await pending!;
      if (req.signal?.aborted) {
        throw new FlashCancelledError('verify', `the image was written completely to ${req.devicePath} but not verified`);
      }
      pending = index + 1 < chunks ? load(index + 1) : undefined;
      const data = buf.subarray(0, chunkLength(req.imageSize, index, chunkSize));
      whole.update(data);
      if (sha256(data) !== req.expectedChunkSha256[index]) {
        await pending?.catch(() => undefined);
        throw await mismatch(req, index, chunkSize, data);
      }
      req.onProgress?.(index * chunkSize + data.length, req.imageSize);
    }
    return { sha256: whole.digest('hex'), verifyMs: performance.now() - started };
  } finally {
    await dev.close();
  }
}

async function mismatch(req: VerifyRequest, index: number, chunkSize: number, deviceData: Buffer): Promise<VerificationFailedError> {
  const image = await open(req.imagePath, 'r');
  try {
    const expected = Buffer.alloc(deviceData.length);
    await readChunk(image, expected, expected.length, index * chunkSize, `the image ${req.imagePath}`);
    const start = index * chunkSize;
    const where = firstDifference(expected, deviceData);
    if (where < 0) {
      return new VerificationFailedError(
        `the chunk of ${req.devicePath} at byte ${start} differs from what was written, but equals the image file now: the image changed during the flash`,
        start,
      );
    }
    const hex = (b: number | undefined): string => `0x${(b ?? 0).toString(16).padStart(2, '0')}`;
    return new VerificationFailedError(
      `${req.devicePath} reads back differently from the image: first difference at byte ${start + where} ` +
        `(device ${hex(deviceData[where])}, image ${hex(expected[where])}); the SHA-256 of the chunk at byte ${start} differs`,
      start + where,
    );
  } finally {
    await image.close();
  }
}
