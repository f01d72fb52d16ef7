import type { FileHandle } from 'node:fs/promises';
import { describeCause, FlashError, type FlashPhase } from './errors.js';

/**
 * Read exactly `length` bytes at `position`, or fail with a FlashError of `phase` that names
 * `what` was being read; `whenShort` says what an early end of the file means for that phase.
 */
export async function readFully(
  fh: FileHandle,
  buf: Buffer,
  length: number,
  position: number,
  err: { phase: FlashPhase; what: string; whenShort: string },
): Promise<void> {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(buf, done, length - done, position + done));
    } catch (cause) {
      throw new FlashError(err.phase, `reading ${err.what} at offset ${position + done} failed: ${describeCause(cause)}`, { cause });
    }
    if (n === 0) throw new FlashError(err.phase, `${err.what} ended at ${position + done} bytes${err.whenShort}`);
    done += n;
  }
}
