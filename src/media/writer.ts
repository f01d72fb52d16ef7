import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { alignedBuffers } from './aligned.js';
import { CHUNK_BYTES, chunkCount, chunkLength, headLength, roundUp } from './chunks.js';
import { FlashCancelledError, FlashError, describeCause } from './errors.js';
import { formatBytes } from './policy.js';
import { readFully } from './read.js';

export interface WriteRequest {
  /** The device, opened O_WRONLY | O_EXCL | O_DIRECT. */
  device: FileHandle;
  devicePath: string;
  imagePath: string;
  imageSize: number;
  /** The device's logical block size: O_DIRECT lengths and offsets are whole blocks. */
  blockSize: number;
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Test hook (TSX_HV_FLASH_TEST_THROTTLE_BPS): never write faster than this. */
  throttleBytesPerSecond?: number;
}

export interface WriteOutcome {
  /** Bytes written to the device: the image padded to whole blocks. */
  bytesWritten: number;
  writeMs: number;
  syncMs: number;
}

async function writeFully(req: WriteRequest, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    let n: number;
    try {
      ({ bytesWritten: n } = await req.device.write(buf, done, buf.length - done, position + done));
    } catch (err) {
      throw new FlashError('write', `writing ${req.devicePath} at offset ${position + done} failed: ${describeCause(err)}`, { cause: err });
    }
    if (n === 0) throw new FlashError('write', `${req.devicePath} accepted no bytes at offset ${position + done}: ${describeCause({ code: 'ENOSPC' })}`);
    done += n;
  }
}

async function sync(req: WriteRequest): Promise<void> {
  try {
    await req.device.sync();
  } catch (err) {
    throw new FlashError('sync', `flushing ${req.devicePath} failed: ${describeCause(err)}`, { cause: err });
  }
}

/**
 * Write the image so that the device never holds a bootable half-image:
 *   1. zero the boot head (HEAD_BYTES) and flush — an old bootable image on the stick stops
 *      being bootable before anything else changes;
 *   2. write everything after the head, chunk by chunk (reading the next chunk of the image
 *      while the current one is written), then flush;
 *   3. write the real head and flush.
 * The flushes are ordering barriers: the drive may reorder writes in its cache, but not across
 * a flush. Nothing is hashed here: the write does the same work as `dd oflag=direct`, and the
 * verifier hashes the image and the read-back side by side. Cancelling (the signal) stops
 * between chunks, flushes, and reports that the head is
 * still zero.
 */
export async function writeImage(req: WriteRequest): Promise<WriteOutcome> {
  const chunkSize = req.chunkSize ?? CHUNK_BYTES;
  const total = roundUp(req.imageSize, req.blockSize);
  const head = headLength(req.imageSize, req.blockSize);
  const [bufA, bufB, headBuf] = [...alignedBuffers(chunkSize, 2), alignedBuffers(roundUp(head, 65536), 1)[0]!];
  const buffers = [bufA!, bufB!];
  const headData = headBuf.subarray(0, head);
  const chunks = chunkCount(req.imageSize, chunkSize);

  let image: FileHandle;
  try {
    image = await open(req.imagePath, 'r');
  } catch (err) {
    throw new FlashError('open', `cannot open the image ${req.imagePath}: ${describeCause(err)}`, { cause: err });
  }
  const started = performance.now();
  let syncMs = 0;
  const timedSync = async (): Promise<void> => {
    const t = performance.now();
    await sync(req);
    syncMs += performance.now() - t;
  };
  try {
    const load = async (index: number): Promise<Buffer> => {
      const buf = buffers[index % 2]!;
      const len = chunkLength(req.imageSize, index, chunkSize);
      await readFully(image, buf, len, index * chunkSize, { phase: 'write', what: `the image ${req.imagePath}`, whenShort: '; it changed while being written' });
      const padded = roundUp(len, req.blockSize);
      buf.fill(0, len, padded);
      return buf.subarray(0, padded);
    };

    let current = await load(0);
    headData.fill(0);
    await writeFully(req, headData, 0);
    await timedSync();
    current.copy(headData, 0, 0, head);

    let done = head;
    for (let index = 0; index < chunks; index++) {
      if (req.signal?.aborted) {
        await timedSync();
        throw new FlashCancelledError(
          'write',
          `stopped after ${formatBytes(done - head)} of ${formatBytes(total)}; the first ${formatBytes(head)} of ${req.devicePath} ` +
            '(boot sectors, partition tables, ISO 9660 descriptors) are zero, so it will not boot a half-written image; run `tsx-hv flash` again to finish',
        );
      }
      const body = index === 0 ? current.subarray(head) : current;
      const next = index + 1 < chunks ? load(index + 1) : undefined;
      await Promise.all([writeFully(req, body, index * chunkSize + (index === 0 ? head : 0)), next]);
      done += body.length;
      req.onProgress?.(done - head, total);
      if (req.throttleBytesPerSecond) {
        const due = ((done - head) / req.throttleBytesPerSecond) * 1000 - (performance.now() - started);
        if (due > 0) await sleep(due);
      }
      if (next) current = await next;
    }
    await timedSync();
    await writeFully(req, headData, 0);
    await timedSync();
    req.onProgress?.(total, total);
    return { bytesWritten: total, writeMs: performance.now() - started, syncMs };
  } finally {
    await image.close();
  }
}
