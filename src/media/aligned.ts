/**
 * Page-aligned memory for O_DIRECT I/O without a native addon.
 *
 * O_DIRECT on a block device needs the user buffer aligned to the queue's DMA alignment
 * (queue/dma_alignment, usually 511) and lengths and offsets in whole logical blocks. Node's
 * Buffers come from malloc and are not aligned: an O_DIRECT pread into Buffer.alloc(4 MiB) fails
 * with EINVAL here (measured on Linux 6.x, docs/flash.md). The backing store of a
 * WebAssembly.Memory is reserved page-aligned by V8 (it is mapped with the page allocator, at
 * 64 KiB Wasm-page granularity), and Buffer.from(memory.buffer) wraps that store without a
 * copy. The alignment is an implementation property, not a promise, so the writer and verifier
 * do not trust it blindly: every O_DIRECT call reports EINVAL as a clear error naming
 * alignment, and the e2e tests exercise the real path on every run.
 */
const WASM_PAGE = 64 * 1024;

/** `count` buffers of `size` bytes each (size a multiple of 64 KiB), all page-aligned. */
export function alignedBuffers(size: number, count: number): Buffer[] {
  if (!Number.isInteger(size) || size <= 0 || size % WASM_PAGE !== 0) {
    throw new RangeError(`aligned buffer size must be a positive multiple of ${WASM_PAGE}, got ${size}`);
  }
  const memory = new WebAssembly.Memory({ initial: (size / WASM_PAGE) * count });
  const all = Buffer.from(memory.buffer);
  return Array.from({ length: count }, (_, i) => all.subarray(i * size, (i + 1) * size));
}
