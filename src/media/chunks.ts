import { createHash } from 'node:crypto';

/**
 * The image is written and verified in chunks aligned to offset 0. Each chunk's SHA-256 is
 * kept, so a failed verification names the first chunk that differs (and then the byte) instead
 * of only saying "the hashes differ"; the SHA-256 of the whole image is computed in the same pass.
 */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Bytes held back until the end: the boot head. 64 KiB covers everything firmware looks at
 * before it will boot a stick: the MBR boot code and partition table (LBA 0), the GPT header and
 * entries (LBA 1-33 with 512-byte sectors, up to 17 KiB), and the ISO 9660 volume descriptors
 * that El Torito boot is found through (from 32 KiB: primary descriptor at sector 16, boot record
 * at sector 17 of 2 KiB; ECMA-119 8.1, El Torito 1.0 section 2.0). With these zero, neither
 * BIOS nor UEFI finds anything to boot, whatever the rest of the device holds.
 */
export const HEAD_BYTES = 64 * 1024;

export function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

/** The head actually held back: HEAD_BYTES in whole logical blocks, never past the image's end. */
export function headLength(imageSize: number, blockSize: number): number {
  return Math.min(roundUp(HEAD_BYTES, blockSize), roundUp(imageSize, blockSize));
}

export function chunkCount(imageSize: number, chunkSize = CHUNK_BYTES): number {
  return Math.ceil(imageSize / chunkSize);
}

/** Image bytes in chunk `index` (the last chunk may be short). */
export function chunkLength(imageSize: number, index: number, chunkSize = CHUNK_BYTES): number {
  return Math.min(chunkSize, imageSize - index * chunkSize);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Offset of the first byte where a and b differ, or -1 when the common length is equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
